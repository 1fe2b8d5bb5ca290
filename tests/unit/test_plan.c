/*
 * test_plan.c - the planner of dfuplan.h: conflicts between segments of
 * one alternate setting, writable memory, the pages that are erased.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dfu_test_build.h"
#include "dfuplan.h"

#define F405 "@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg"

static struct dfu_layout *
layout(const char *s)
{
	struct dfu_layout *l = dfu_layout_new();

	assert_non_null(l);
	if (dfu_layout_parse(l, s) != 0)
		fail_msg("\"%s\": %s", s, dfu_layout_errmsg(l));
	return l;
}

static void
add(struct dfu_plan *p, unsigned alt, uint32_t address, uint32_t size,
    const void *data, const char *source)
{
	struct dfu_plan_segment s;

	memset(&s, 0, sizeof(s));
	s.alt = alt;
	s.address = address;
	s.size = size;
	s.data = data;
	s.source = source;
	assert_int_equal(dfu_plan_add(p, &s), 0);
}

static void
check_finding(const struct dfu_plan *p, size_t i, enum dfu_severity sev,
    const char *code, size_t seg, size_t other, uint32_t address,
    const char *field, const char *message)
{
	const struct dfu_plan_finding *f = dfu_plan_finding(p, i);

	assert_non_null(f);
	assert_int_equal(f->severity, sev);
	assert_string_equal(f->code, code);
	assert_int_equal(f->segment, seg);
	assert_int_equal(f->other, other);
	assert_int_equal(f->address, address);
	assert_string_equal(f->field, field);
	assert_string_equal(f->message, message);
}

static void
test_conflict(void **state)
{
	struct dfu_plan *p = dfu_plan_new();
	uint8_t a[0x2000], b[0x100];

	(void)state;
	memset(a, 0x11, sizeof(a));
	memset(b, 0x11, sizeof(b));
	a[0x1080] = 0x12;
	b[0x80] = 0x34;
	add(p, 0, 0x08000000, sizeof(a), a, "target 0 element 1");
	add(p, 1, 0x08001000, sizeof(b), b, "target 1 element 0");
	add(p, 0, 0x08001000, sizeof(b), b, "target 2 element 0");
	assert_int_equal(dfu_plan_run(p, 0), DFU_ERR_RANGE);
	assert_int_equal(dfu_plan_finding_count(p), 1);
	assert_int_equal(dfu_plan_error_count(p), 1);
	check_finding(p, 0, DFU_ERROR, "alt-conflict", 2, 0, 0x08001080,
	    "alt 0", "target 0 element 1 and target 2 element 0 write "
	    "different bytes at 0x08001080 (0x12 and 0x34)");
	assert_string_equal(dfu_plan_errmsg(p), "alt 0: target 0 element 1 "
	    "and target 2 element 0 write different bytes at 0x08001080 "
	    "(0x12 and 0x34)");
	/* Alts in the order of their first segment, segments by address. */
	assert_int_equal(dfu_plan_alt_count(p), 2);
	assert_int_equal(dfu_plan_alt(p, 0)->alt, 0);
	assert_int_equal(dfu_plan_alt(p, 0)->nsegments, 2);
	assert_int_equal(dfu_plan_alt(p, 0)->segments[0], 0);
	assert_int_equal(dfu_plan_alt(p, 0)->segments[1], 2);
	assert_int_equal(dfu_plan_alt(p, 1)->alt, 1);
	assert_null(dfu_plan_alt(p, 2));
	dfu_plan_free(p);
}

static void
test_identical_overlap_is_a_note(void **state)
{
	struct dfu_plan *p = dfu_plan_new();
	uint8_t a[100], b[10], c[10];

	(void)state;
	for (unsigned i = 0; i < sizeof(a); i++)
		a[i] = (uint8_t)i;
	memcpy(b, a + 10, sizeof(b));
	memcpy(c, a + 50, sizeof(c));
	add(p, 0, 0x1000, sizeof(a), a, NULL);
	add(p, 0, 0x100a, sizeof(b), b, "b");
	add(p, 0, 0x1032, sizeof(c), c, "c");
	assert_int_equal(dfu_plan_run(p, 0), 0);
	assert_string_equal(dfu_plan_errmsg(p), "");
	assert_int_equal(dfu_plan_finding_count(p), 2);
	assert_int_equal(dfu_plan_error_count(p), 0);
	check_finding(p, 0, DFU_NOTE, "alt-overlap", 1, 0, 0x100a, "alt 0",
	    "0x00001000-0x00001063 and b write the same bytes at "
	    "0x0000100a-0x00001013");
	check_finding(p, 1, DFU_NOTE, "alt-overlap", 2, 0, 0x1032, "alt 0",
	    "0x00001000-0x00001063 and c write the same bytes at "
	    "0x00001032-0x0000103b");
	/* A third segment that differs from the first where the second
	 * agrees with it is still caught. */
	c[5] = 0xee;
	assert_int_equal(dfu_plan_run(p, 0), DFU_ERR_RANGE);
	check_finding(p, 1, DFU_ERROR, "alt-conflict", 2, 0, 0x1037, "alt 0",
	    "0x00001000-0x00001063 and c write different bytes at "
	    "0x00001037 (0x37 and 0xee)");
	dfu_plan_free(p);
}

/* A read function that counts what it is asked for. */
struct reader {
	const uint8_t *data;
	uint64_t bytes;
	int fail;
};

static int
read_counted(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct reader *r = ctx;

	if (r->fail)
		return DFU_ERR_IO;
	memcpy(buf, r->data + off, len);
	r->bytes += len;
	return 0;
}

static void
test_only_overlapping_bytes_are_read(void **state)
{
	static uint8_t big[1 << 20], small[16];
	struct dfu_plan *p = dfu_plan_new();
	struct reader r1 = { big, 0, 0 }, r2 = { small, 0, 0 };
	struct dfu_plan_segment s;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.address = 0x08000000;
	s.size = sizeof(big);
	s.read = read_counted;
	s.ctx = &r1;
	s.source = "big";
	assert_int_equal(dfu_plan_add(p, &s), 0);
	s.address = 0x08000000 + sizeof(big) - 8;
	s.size = sizeof(small);
	s.ctx = &r2;
	s.source = "small";
	assert_int_equal(dfu_plan_add(p, &s), 0);
	assert_int_equal(dfu_plan_run(p, 0), 0);
	assert_int_equal(r1.bytes, 8);
	assert_int_equal(r2.bytes, 8);
	check_finding(p, 0, DFU_NOTE, "alt-overlap", 1, 0, 0x080ffff8,
	    "alt 0", "big and small write the same bytes at "
	    "0x080ffff8-0x080fffff");
	r2.fail = 1;
	assert_int_equal(dfu_plan_run(p, 0), DFU_ERR_IO);
	assert_string_equal(dfu_plan_errmsg(p), "small: read of 8 bytes at "
	    "offset 0 failed: input/output error");
	dfu_plan_free(p);
}

static void
test_layout_findings(void **state)
{
	struct dfu_layout *f = layout(F405);
	struct dfu_layout *otp = layout("@OTP /0x1FFF7800/01*512 a");
	struct dfu_plan *p = dfu_plan_new();
	static uint8_t d[64];

	(void)state;
	add(p, 0, 0x080ffff0, 32, d, "target 0 element 0");
	add(p, 1, 0x1fff7800, 4, d, "target 1 element 0");
	add(p, 2, 0x20000000, 4, d, "target 2 element 0");
	add(p, 0, 0x08000000, 16, d, "target 0 element 1");
	assert_int_equal(dfu_plan_set_layout(p, 0, f), 0);
	assert_int_equal(dfu_plan_set_layout(p, 1, otp), 0);
	/* Without DFU_PLAN_LAYOUTS an alt without a layout is not checked. */
	assert_int_equal(dfu_plan_run(p, 0), DFU_ERR_RANGE);
	assert_int_equal(dfu_plan_finding_count(p), 2);
	check_finding(p, 0, DFU_ERROR, "layout-outside", 0, 0, 0x08100000,
	    "target 0 element 0", "0x08100000 is outside every region of "
	    "\"Internal Flash\"");
	check_finding(p, 1, DFU_ERROR, "layout-not-writable", 1, 1,
	    0x1fff7800, "target 1 element 0", "0x1fff7800 is in a region of "
	    "\"OTP\" that is not writable (readable)");
	assert_string_equal(dfu_plan_errmsg(p), "target 0 element 0: "
	    "0x08100000 is outside every region of \"Internal Flash\"");
	assert_false(dfu_plan_alt(p, 0)->fits);
	assert_int_equal(dfu_plan_alt(p, 0)->nextents, 0);
	assert_ptr_equal(dfu_plan_alt(p, 0)->layout, f);
	assert_null(dfu_plan_alt(p, 2)->layout);
	assert_false(dfu_plan_alt(p, 2)->fits);
	assert_int_equal(dfu_plan_run(p, DFU_PLAN_LAYOUTS), DFU_ERR_RANGE);
	assert_int_equal(dfu_plan_finding_count(p), 3);
	check_finding(p, 2, DFU_ERROR, "layout-missing", 2, 2, 0x20000000,
	    "target 2 element 0", "alt 2 has no memory layout");
	/* Removing a layout, and bad arguments. */
	assert_int_equal(dfu_plan_set_layout(p, 1, NULL), 0);
	assert_int_equal(dfu_plan_run(p, 0), DFU_ERR_RANGE);
	assert_int_equal(dfu_plan_finding_count(p), 1);
	assert_int_equal(dfu_plan_set_layout(p, 256, f), DFU_ERR_INVALID);
	{
		struct dfu_plan_segment s = { 0 };

		s.size = 1;
		assert_int_equal(dfu_plan_add(p, &s), DFU_ERR_INVALID);
		assert_string_equal(dfu_plan_errmsg(p), "a segment needs its "
		    "data or a read function");
		s.data = d;
		s.address = 0xffffffff;
		s.size = 2;
		assert_int_equal(dfu_plan_add(p, &s), DFU_ERR_INVALID);
		assert_string_equal(dfu_plan_errmsg(p), "0xffffffff + 2 bytes "
		    "passes 4 GiB");
	}
	dfu_plan_free(p);
	dfu_layout_free(f);
	dfu_layout_free(otp);
}

static void
check_extent(const struct dfu_plan_alt *a, size_t i, uint32_t start,
    uint64_t end, uint32_t page_size, unsigned access)
{
	assert_true(i < a->nextents);
	assert_int_equal(a->extents[i].start, start);
	assert_int_equal(a->extents[i].end, end);
	assert_int_equal(a->extents[i].page_size, page_size);
	assert_int_equal(a->extents[i].access, access);
}

static void
test_pages_across_regions(void **state)
{
	/* 16 KiB, 64 KiB and 128 KiB sectors, then 1 KiB writable pages
	 * that are not erasable. */
	struct dfu_layout *l = layout("@Flash /0x08000000/04*016Kg,01*064Kg,"
	    "07*128Kg/0x1FFFC000/04*001Ke");
	struct dfu_plan *p = dfu_plan_new();
	static uint8_t d[0x20000];
	const struct dfu_plan_alt *a;

	(void)state;
	/* 20000 bytes over two 16 KiB pages; 100 bytes in the 64 KiB page;
	 * two elements sharing one 128 KiB page, one that runs from the
	 * last 16 KiB page into the 64 KiB one; 2 KiB of OTP-like pages. */
	add(p, 0, 0x08000000, 20000, d, NULL);
	add(p, 0, 0x08010000, 100, d, NULL);
	add(p, 0, 0x08020000, 16, d, NULL);
	add(p, 0, 0x08020100, 16, d, NULL);
	add(p, 0, 0x0800fff0, 0x20, d, NULL);
	add(p, 0, 0x1fffc000, 0x800, d, NULL);
	assert_int_equal(dfu_plan_set_layout(p, 0, l), 0);
	assert_int_equal(dfu_plan_run(p, DFU_PLAN_LAYOUTS), 0);
	a = dfu_plan_alt(p, 0);
	assert_true(a->fits);
	assert_int_equal(a->nextents, 5);
	check_extent(a, 0, 0x08000000, 0x08008000, 0x4000, 7);
	check_extent(a, 1, 0x0800c000, 0x08010000, 0x4000, 7);
	check_extent(a, 2, 0x08010000, 0x08020000, 0x10000, 7);
	check_extent(a, 3, 0x08020000, 0x08040000, 0x20000, 7);
	check_extent(a, 4, 0x1fffc000, 0x1fffc800, 0x400, 5);
	/* 3 x 16 KiB + 64 KiB + 128 KiB; the OTP pages are not erased. */
	assert_int_equal(a->pages_erased, 5);
	assert_int_equal(a->bytes_erased, 3 * 0x4000 + 0x10000 + 0x20000);
	/* The last two of 0x0800fff0's 0x20 bytes overlap 0x08010000's. */
	assert_int_equal(a->bytes_outside, a->bytes_erased -
	    (20000 + 100 + 16 + 16 + 0x20 - 0x10));
	assert_int_equal(dfu_plan_finding_count(p), 1);
	assert_string_equal(dfu_plan_finding(p, 0)->code, "alt-overlap");
	dfu_plan_free(p);
	dfu_layout_free(l);
}

static int
read_never(void *ctx, uint64_t off, void *buf, size_t len)
{
	(void)ctx, (void)off, (void)buf, (void)len;
	fail_msg("a segment that overlaps nothing was read");
	return DFU_ERR_IO;
}

static void
test_huge_element_without_per_page_work(void **state)
{
	/* 4 GiB of 1-byte pages (and a region of 4 KiB pages above). */
	struct dfu_layout *l = layout("@All /0x00000000/4293918720*1Bg/0xFFF00000/"
	    "256*4Kg");
	struct dfu_plan *p = dfu_plan_new();
	struct dfu_plan_segment s;
	const struct dfu_plan_alt *a;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.address = 0;
	s.size = 0xffffffff;
	s.read = read_never;
	assert_int_equal(dfu_plan_add(p, &s), 0);
	assert_int_equal(dfu_plan_set_layout(p, 0, l), 0);
	assert_int_equal(dfu_plan_run(p, DFU_PLAN_LAYOUTS), 0);
	a = dfu_plan_alt(p, 0);
	assert_int_equal(a->nextents, 2);
	check_extent(a, 0, 0, 0xfff00000, 1, 7);
	check_extent(a, 1, 0xfff00000, UINT64_C(0x100000000), 0x1000, 7);
	assert_int_equal(a->pages_erased, 0xfff00000u + 256);
	assert_int_equal(a->bytes_erased, UINT64_C(0x100000000));
	assert_int_equal(a->bytes_outside, 1);
	dfu_plan_free(p);
	dfu_layout_free(l);
}

/*
 * A file as another tool may write it: a second target for alt 0 whose
 * element disagrees with the first target's (libdfufile's builder refuses
 * to make one, so the bytes are put together by dfu_test_build.h).
 */
static void
test_file_elements(void **state)
{
	struct dfu_file *f = dfu_file_new();
	struct dfu_plan *p = dfu_plan_new();
	struct tb b;
	size_t at;

	(void)state;
	tb_init(&b);
	tb_dfuse_prefix(&b, 1, 0, 3);
	tb_target(&b, 0, 1, "flash", 8 + 32, 1);
	at = tb_element(&b, 0x08000000, 32, 32);
	memset(b.p + at + 8, 0x12, 32);
	tb_target(&b, 1, 1, "other", 8 + 16, 1);
	at = tb_element(&b, 0x08000000, 16, 16);
	memset(b.p + at + 8, 0x12, 15);
	b.p[at + 8 + 15] = 0x34;
	tb_target(&b, 0, 1, "again", 8 + 16, 1);
	at = tb_element(&b, 0x08000010, 16, 16);
	memset(b.p + at + 8, 0x12, 15);
	b.p[at + 8 + 15] = 0x34;
	tb_set_u32(&b, TB_OFF_IMAGE_SIZE, (uint32_t)b.len);
	tb_suffix_std(&b, 0x011a);
	assert_int_equal(dfu_file_read_mem(f, b.p, b.len, 0), 0);
	assert_int_equal(dfu_plan_add_file(p, f), 0);
	assert_int_equal(dfu_plan_segment_count(p), 3);
	assert_string_equal(dfu_plan_segment(p, 2)->source,
	    "target 2 element 0");
	assert_int_equal(dfu_plan_run(p, 0), DFU_ERR_RANGE);
	assert_int_equal(dfu_plan_finding_count(p), 1);
	check_finding(p, 0, DFU_ERROR, "alt-conflict", 2, 0, 0x0800001f,
	    "alt 0", "target 0 element 0 and target 2 element 0 write "
	    "different bytes at 0x0800001f (0x12 and 0x34)");
	dfu_plan_free(p);
	dfu_file_free(f);
	tb_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conflict),
		cmocka_unit_test(test_identical_overlap_is_a_note),
		cmocka_unit_test(test_only_overlapping_bytes_are_read),
		cmocka_unit_test(test_layout_findings),
		cmocka_unit_test(test_pages_across_regions),
		cmocka_unit_test(test_huge_element_without_per_page_work),
		cmocka_unit_test(test_file_elements),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
