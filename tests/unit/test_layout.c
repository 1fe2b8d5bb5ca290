/*
 * test_layout.c - dfu_layout_parse(): the DfuSe memory layout string of
 * ST UM0424, with the strings real STM32 ROM bootloaders send and every
 * way a string can be malformed (error code, message and offset).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dfulayout.h"

static struct dfu_layout *
parse_ok(const char *s)
{
	struct dfu_layout *l = dfu_layout_new();

	assert_non_null(l);
	if (dfu_layout_parse(l, s) != 0)
		fail_msg("\"%s\": %s", s, dfu_layout_errmsg(l));
	assert_string_equal(dfu_layout_errmsg(l), "");
	return l;
}

static void
check_region(const struct dfu_layout *l, unsigned i, uint32_t start,
    uint32_t page_size, uint32_t count, char type, unsigned access)
{
	const struct dfu_layout_region *r = dfu_layout_region(l, i);

	assert_non_null(r);
	assert_int_equal(r->start, start);
	assert_int_equal(r->page_size, page_size);
	assert_int_equal(r->count, count);
	assert_int_equal(r->end, (uint64_t)start + (uint64_t)page_size * count);
	assert_int_equal(r->type, type);
	assert_int_equal(r->access, access);
}

#define RWE (DFU_LAYOUT_READABLE | DFU_LAYOUT_ERASABLE | DFU_LAYOUT_WRITABLE)
#define RW (DFU_LAYOUT_READABLE | DFU_LAYOUT_WRITABLE)

/* STM32F405/F407 (and the pyboard): 4 x 16K, 64K, 7 x 128K. */
static void
test_f405_flash(void **state)
{
	struct dfu_layout *l =
	    parse_ok("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg");

	(void)state;
	assert_string_equal(dfu_layout_name(l), "Internal Flash");
	assert_int_equal(dfu_layout_region_count(l), 3);
	check_region(l, 0, 0x08000000, 16384, 4, 'g', RWE);
	check_region(l, 1, 0x08010000, 65536, 1, 'g', RWE);
	check_region(l, 2, 0x08020000, 131072, 7, 'g', RWE);
	assert_null(dfu_layout_region(l, 3));
	assert_int_equal(dfu_layout_region(l, 2)->end, 0x08100000);
	dfu_layout_free(l);
}

/* A space as the multiplier means bytes; 'e' is readable and writable. */
static void
test_space_multiplier(void **state)
{
	struct dfu_layout *l = parse_ok("@Option Bytes  /0x1FFFC000/01*016 e");

	(void)state;
	assert_string_equal(dfu_layout_name(l), "Option Bytes");
	assert_int_equal(dfu_layout_region_count(l), 1);
	check_region(l, 0, 0x1fffc000, 16, 1, 'e', RW);
	dfu_layout_free(l);
}

static void
test_otp_and_feature(void **state)
{
	struct dfu_layout *l = parse_ok("@OTP Memory /0x1FFF7800/01*512 e,01*016 e");

	(void)state;
	assert_string_equal(dfu_layout_name(l), "OTP Memory");
	check_region(l, 0, 0x1fff7800, 512, 1, 'e', RW);
	check_region(l, 1, 0x1fff7a00, 16, 1, 'e', RW);
	dfu_layout_free(l);
	/* No space between the name and '/'. */
	l = parse_ok("@Device Feature/0xFFFF0000/01*004 g");
	assert_string_equal(dfu_layout_name(l), "Device Feature");
	check_region(l, 0, 0xffff0000, 4, 1, 'g', RWE);
	dfu_layout_free(l);
}

static void
test_f107_and_l476(void **state)
{
	struct dfu_layout *l = parse_ok("@Internal Flash /0x08000000/128*002Kg");

	(void)state;
	check_region(l, 0, 0x08000000, 2048, 128, 'g', RWE);
	dfu_layout_free(l);
	l = parse_ok("@Internal Flash  /0x08000000/512*0002Kg");
	check_region(l, 0, 0x08000000, 2048, 512, 'g', RWE);
	dfu_layout_free(l);
}

/* B, K and M; every type letter and its access bits. */
static void
test_multipliers_and_types(void **state)
{
	struct dfu_layout *l =
	    parse_ok("@m/0x0/1*1Ba,1*1Kb,1*1Mc,1*2Bd,1*3Be,1*4Bf,1*5Bg");

	(void)state;
	assert_string_equal(dfu_layout_name(l), "m");
	check_region(l, 0, 0x0, 1, 1, 'a', DFU_LAYOUT_READABLE);
	check_region(l, 1, 0x1, 1024, 1, 'b', DFU_LAYOUT_ERASABLE);
	check_region(l, 2, 0x401, 1048576, 1, 'c',
	    DFU_LAYOUT_READABLE | DFU_LAYOUT_ERASABLE);
	check_region(l, 3, 0x100401, 2, 1, 'd', DFU_LAYOUT_WRITABLE);
	check_region(l, 4, 0x100403, 3, 1, 'e', RW);
	check_region(l, 5, 0x100406, 4, 1, 'f',
	    DFU_LAYOUT_ERASABLE | DFU_LAYOUT_WRITABLE);
	check_region(l, 6, 0x10040a, 5, 1, 'g', RWE);
	assert_string_equal(dfu_layout_access_name(DFU_LAYOUT_READABLE),
	    "readable");
	assert_string_equal(dfu_layout_access_name(RW), "readable, writable");
	assert_string_equal(dfu_layout_access_name(RWE),
	    "readable, erasable, writable");
	dfu_layout_free(l);
}

/* Several "/0xADDR/..." groups in one string, hexadecimal in any case. */
static void
test_several_groups(void **state)
{
	struct dfu_layout *l =
	    parse_ok("@Flash/0x08000000/2*1Ka/0X20000000/1*4Kg,2*1Kg/0xaBcD0000/1*1 a");

	(void)state;
	assert_int_equal(dfu_layout_region_count(l), 4);
	check_region(l, 0, 0x08000000, 1024, 2, 'a', DFU_LAYOUT_READABLE);
	check_region(l, 1, 0x20000000, 4096, 1, 'g', RWE);
	check_region(l, 2, 0x20001000, 1024, 2, 'g', RWE);
	check_region(l, 3, 0xabcd0000, 1, 1, 'a', DFU_LAYOUT_READABLE);
	dfu_layout_free(l);
}

static void
test_empty_name_and_spaces(void **state)
{
	struct dfu_layout *l = parse_ok("@/0x10/1*1Kg");

	(void)state;
	assert_string_equal(dfu_layout_name(l), "");
	dfu_layout_free(l);
	l = parse_ok("@   /0x10/1*1Kg");
	assert_string_equal(dfu_layout_name(l), "");
	dfu_layout_free(l);
	l = parse_ok("@ a b /0x10/1*1Kg");
	assert_string_equal(dfu_layout_name(l), " a b");
	dfu_layout_free(l);
}

/* A region may end exactly at 4 GiB. */
static void
test_up_to_4g(void **state)
{
	struct dfu_layout *l = parse_ok("@top/0xFFFF0000/16*4Kg");

	(void)state;
	assert_int_equal(dfu_layout_region(l, 0)->end, UINT64_C(1) << 32);
	dfu_layout_free(l);
	l = parse_ok("@all/0x0/4096*1Mg");
	assert_int_equal(dfu_layout_region(l, 0)->end, UINT64_C(1) << 32);
	dfu_layout_free(l);
}

static void
test_find(void **state)
{
	struct dfu_layout *l =
	    parse_ok("@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg");
	const struct dfu_layout_region *r;
	uint32_t page = 0;

	(void)state;
	assert_null(dfu_layout_find(l, 0x07ffffff, &page));
	r = dfu_layout_find(l, 0x08000000, &page);
	assert_ptr_equal(r, dfu_layout_region(l, 0));
	assert_int_equal(page, 0x08000000);
	r = dfu_layout_find(l, 0x08007fff, &page);
	assert_ptr_equal(r, dfu_layout_region(l, 0));
	assert_int_equal(page, 0x08004000);
	r = dfu_layout_find(l, 0x0801ffff, &page);
	assert_ptr_equal(r, dfu_layout_region(l, 1));
	assert_int_equal(page, 0x08010000);
	r = dfu_layout_find(l, 0x080fffff, &page);
	assert_ptr_equal(r, dfu_layout_region(l, 2));
	assert_int_equal(page, 0x080e0000);
	assert_null(dfu_layout_find(l, 0x08100000, NULL));
	assert_non_null(dfu_layout_find(l, 0x08050000, NULL));
	dfu_layout_free(l);
}

/* A new parse replaces the old content; a failed parse leaves nothing. */
static void
test_reparse(void **state)
{
	struct dfu_layout *l = parse_ok("@a/0x0/1*1Kg,1*2Kg");

	(void)state;
	assert_int_equal(dfu_layout_parse(l, "@b/0x100/1*1Ka"), 0);
	assert_string_equal(dfu_layout_name(l), "b");
	assert_int_equal(dfu_layout_region_count(l), 1);
	assert_int_not_equal(dfu_layout_parse(l, "@c/0x100/1*1Kz"), 0);
	assert_int_equal(dfu_layout_region_count(l), 0);
	assert_string_equal(dfu_layout_name(l), "");
	assert_int_equal(dfu_layout_parse(l, "@d/0x0/1*1Kg"), 0);
	assert_string_equal(dfu_layout_errmsg(l), "");
	assert_int_equal(dfu_layout_error_offset(l), 0);
	dfu_layout_free(l);
}

struct bad {
	const char *s;
	int err;
	size_t offset;
	const char *message;
};

static const struct bad bad_strings[] = {
	{ "", DFU_ERR_FORMAT, 0,
	  "offset 0: a layout starts with '@', found the end of the string" },
	{ "Internal Flash/0x0/1*1Kg", DFU_ERR_FORMAT, 0,
	  "offset 0: a layout starts with '@', found 'I'" },
	{ "@Internal Flash", DFU_ERR_FORMAT, 15,
	  "offset 15: expected '/' and a start address after the name, "
	  "found the end of the string" },
	{ "@x/", DFU_ERR_FORMAT, 3,
	  "offset 3: expected a start address beginning with 0x, found the "
	  "end of the string" },
	{ "@x/08000000/1*1Kg", DFU_ERR_FORMAT, 3,
	  "offset 3: expected a start address beginning with 0x, found '0'" },
	{ "@x/0x/1*1Kg", DFU_ERR_FORMAT, 5,
	  "offset 5: expected hexadecimal digits after 0x, found '/'" },
	{ "@x/0x0800g000/1*1Kg", DFU_ERR_FORMAT, 9,
	  "offset 9: expected '/' after the start address, found 'g'" },
	{ "@x/0x100000000/1*1Kg", DFU_ERR_RANGE, 5,
	  "offset 5: start address does not fit in 32 bits" },
	{ "@x/0x08000000", DFU_ERR_FORMAT, 13,
	  "offset 13: expected '/' after the start address, found the end "
	  "of the string" },
	{ "@x/0x08000000/", DFU_ERR_FORMAT, 14,
	  "offset 14: expected the page count (decimal digits), found the "
	  "end of the string" },
	{ "@x/0x0/*1Kg", DFU_ERR_FORMAT, 7,
	  "offset 7: expected the page count (decimal digits), found '*'" },
	{ "@x/0x0/0*1Kg", DFU_ERR_FORMAT, 7, "offset 7: page count is 0" },
	{ "@x/0x0/4 16Kg", DFU_ERR_FORMAT, 8,
	  "offset 8: expected '*' after the page count, found a space" },
	{ "@x/0x0/4x16Kg", DFU_ERR_FORMAT, 8,
	  "offset 8: expected '*' after the page count, found 'x'" },
	{ "@x/0x0/4*Kg", DFU_ERR_FORMAT, 9,
	  "offset 9: expected the page size (decimal digits), found 'K'" },
	{ "@x/0x0/4*0Kg", DFU_ERR_FORMAT, 9, "offset 9: page size is 0" },
	{ "@x/0x0/4*16kg", DFU_ERR_FORMAT, 11,
	  "offset 11: expected a multiplier (B, K, M or space) after the page "
	  "size, found 'k'" },
	{ "@x/0x0/4*16h", DFU_ERR_FORMAT, 11,
	  "offset 11: expected a multiplier (B, K, M or space) after the page "
	  "size, found 'h'" },
	{ "@x/0x0/4*16", DFU_ERR_FORMAT, 11,
	  "offset 11: expected a multiplier (B, K, M or space) after the page "
	  "size, found the end of the string" },
	{ "@x/0x0/4*16K", DFU_ERR_FORMAT, 12,
	  "offset 12: expected a type letter from 'a' to 'g', found the end "
	  "of the string" },
	{ "@x/0x0/4*16Kh", DFU_ERR_FORMAT, 12,
	  "offset 12: expected a type letter from 'a' to 'g', found 'h'" },
	{ "@x/0x0/4*16KG", DFU_ERR_FORMAT, 12,
	  "offset 12: expected a type letter from 'a' to 'g', found 'G'" },
	{ "@x/0x0/4*16K\tg", DFU_ERR_FORMAT, 12,
	  "offset 12: expected a type letter from 'a' to 'g', found 0x09" },
	{ "@x/0x0/4*16Kg,", DFU_ERR_FORMAT, 14,
	  "offset 14: expected the page count (decimal digits), found the "
	  "end of the string" },
	{ "@x/0x0/4*16Kg;1*1Kg", DFU_ERR_FORMAT, 13,
	  "offset 13: expected ',', '/' or the end of the string after a type "
	  "letter, found ';'" },
	{ "@x/0x0/4*16Kg ", DFU_ERR_FORMAT, 13,
	  "offset 13: expected ',', '/' or the end of the string after a type "
	  "letter, found a space" },
	{ "@x/0x0/4*16Kg/", DFU_ERR_FORMAT, 14,
	  "offset 14: expected a start address beginning with 0x, found the "
	  "end of the string" },
	{ "@x/0x0/4294967296*1Bg", DFU_ERR_RANGE, 7,
	  "offset 7: page count does not fit in 32 bits" },
	{ "@x/0x0/1*4096Mg", DFU_ERR_RANGE, 9,
	  "offset 9: page size 4096M does not fit in 32 bits" },
	{ "@x/0xFFFFF000/2*4Kg", DFU_ERR_RANGE, 14,
	  "offset 14: 2 pages of 4096 bytes from 0xfffff000 pass the end of "
	  "the 32-bit address space" },
	{ "@x/0xFFFFF000/1*4Kg,1*1Bg", DFU_ERR_RANGE, 20,
	  "offset 20: 1 page of 1 byte from 0x100000000 passes the end of the "
	  "32-bit address space" },
	{ "@x/0x08000000/4*16Kg/0x08008000/1*1Kg", DFU_ERR_RANGE, 32,
	  "offset 32: 0x08008000-0x080083ff overlaps region 0 at "
	  "0x08000000-0x0800ffff" },
};

static void
test_malformed(void **state)
{
	struct dfu_layout *l = dfu_layout_new();

	(void)state;
	for (size_t i = 0; i < sizeof(bad_strings) / sizeof(bad_strings[0]);
	    i++) {
		const struct bad *b = &bad_strings[i];
		int err = dfu_layout_parse(l, b->s);

		if (err != b->err || strcmp(dfu_layout_errmsg(l),
		    b->message) != 0 || dfu_layout_error_offset(l) != b->offset)
			fail_msg("\"%s\": got %d \"%s\" at %zu, expected %d "
			    "\"%s\" at %zu", b->s, err, dfu_layout_errmsg(l),
			    dfu_layout_error_offset(l), b->err, b->message,
			    b->offset);
		assert_int_equal(dfu_layout_region_count(l), 0);
	}
	dfu_layout_free(l);
}

static void
test_null(void **state)
{
	struct dfu_layout *l = dfu_layout_new();

	(void)state;
	assert_int_equal(dfu_layout_parse(NULL, "@x/0x0/1*1Kg"),
	    DFU_ERR_INVALID);
	assert_int_equal(dfu_layout_parse(l, NULL), DFU_ERR_INVALID);
	assert_string_equal(dfu_layout_errmsg(l), "no layout string");
	assert_string_equal(dfu_layout_errmsg(NULL), "");
	dfu_layout_free(l);
	dfu_layout_free(NULL);
}

/*
 * No multiplier between size and type letter: bytes, with a note.  The
 * STM32F72x ROM's OTP alt (fwupd/fwupd#2062).  A strict string has no
 * note, and a failed parse leaves none behind.
 */
static void
test_no_multiplier(void **state)
{
	struct dfu_layout *l = parse_ok("@OTP Memory /0x1FF07800/01*528e");
	const struct dfu_layout_note *n;

	(void)state;
	check_region(l, 0, 0x1ff07800, 528, 1, 'e', 5);
	assert_int_equal(dfu_layout_note_count(l), 1);
	n = dfu_layout_note(l, 0);
	assert_non_null(n);
	assert_string_equal(n->code, "no-multiplier");
	assert_int_equal(n->offset, 30);
	assert_string_equal(n->message,
	    "page size 528 has no multiplier before type 'e': read as bytes");
	assert_null(dfu_layout_note(l, 1));

	/* Two in one string, then a mix with a multiplier. */
	assert_int_equal(dfu_layout_parse(l, "@x/0x0/2*16g,1*4a/0x100/1*1Kg"), 0);
	assert_int_equal(dfu_layout_note_count(l), 2);
	assert_int_equal(dfu_layout_note(l, 0)->offset, 11);
	assert_int_equal(dfu_layout_note(l, 1)->offset, 16);
	check_region(l, 0, 0, 16, 2, 'g', 7);
	check_region(l, 1, 32, 4, 1, 'a', 1);
	check_region(l, 2, 0x100, 1024, 1, 'g', 7);

	assert_int_equal(dfu_layout_parse(l, "@x/0x0/1*1Kg"), 0);
	assert_int_equal(dfu_layout_note_count(l), 0);
	assert_null(dfu_layout_note(l, 0));

	assert_int_equal(dfu_layout_parse(l, "@x/0x0/1*16g,1*1Kh"), DFU_ERR_FORMAT);
	assert_int_equal(dfu_layout_note_count(l), 0);
	dfu_layout_free(l);
}

/* "START COUNT*SIZE TYPE; ..." of the fixture table against region i. */
static void
check_expected_regions(const struct dfu_layout *l, const char *want,
    const char *row)
{
	unsigned i = 0;
	const char *p = want;

	while (*p != '\0') {
		unsigned long start, count, size;
		char type;
		int used = 0;
		const struct dfu_layout_region *r;

		if (sscanf(p, "%lx %lu*%lu %c%n", &start, &count, &size, &type,
		    &used) != 4)
			fail_msg("%s: bad expected regions \"%s\"", row, want);
		p += used;
		if (*p == ';')
			p++;
		while (*p == ' ')
			p++;
		r = dfu_layout_region(l, i);
		if (r == NULL || r->start != start || r->count != count ||
		    r->page_size != size || r->type != type ||
		    r->access != (unsigned)(type - 'a' + 1))
			fail_msg("%s: region %u differs from \"%s\"", row, i,
			    want);
		i++;
	}
	if (dfu_layout_region_count(l) != i)
		fail_msg("%s: %u regions, expected %u", row,
		    dfu_layout_region_count(l), i);
}

static void
check_expected_notes(const struct dfu_layout *l, const char *want,
    const char *row)
{
	char got[256] = "";
	size_t n = 0;

	for (unsigned i = 0; i < dfu_layout_note_count(l); i++) {
		const struct dfu_layout_note *note = dfu_layout_note(l, i);

		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s@%zu",
		    i ? "; " : "", note->code, note->offset);
	}
	if (n == 0)
		strcpy(got, "-");
	if (strcmp(got, want) != 0)
		fail_msg("%s: notes \"%s\", expected \"%s\"", row, got, want);
}

/*
 * Every string of tests/fixtures/layouts.tsv (real devices, each with
 * its source) parses to the expected name, regions and notes.
 */
static void
test_fixture_table(void **state)
{
	const char *path = getenv("LAYOUTS_TSV");
	struct dfu_layout *l = dfu_layout_new();
	char line[1024];
	unsigned rows = 0;
	FILE *f;

	(void)state;
	if (path == NULL)
		path = "tests/fixtures/layouts.tsv";
	assert_non_null(l);
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("%s: cannot open (run from the top of the tree, or set "
		    "LAYOUTS_TSV)", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *col[6], *p = line;
		int c;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\n")] = '\0';
		for (c = 0; c < 6 && p != NULL; c++) {
			col[c] = p;
			p = strchr(p, '\t');
			if (p != NULL)
				*p++ = '\0';
		}
		if (c != 6 || p != NULL)
			fail_msg("%s: a row without 6 columns: %s", path, col[0]);
		if (dfu_layout_parse(l, col[1]) != 0)
			fail_msg("%s \"%s\": %s", col[0], col[1],
			    dfu_layout_errmsg(l));
		if (strcmp(dfu_layout_name(l), col[2]) != 0)
			fail_msg("%s \"%s\": name \"%s\"", col[0], col[1],
			    dfu_layout_name(l));
		check_expected_regions(l, col[3], col[1]);
		check_expected_notes(l, col[4], col[1]);
		rows++;
	}
	fclose(f);
	assert_true(rows >= 17);
	dfu_layout_free(l);
}

/*
 * Overlaps, against a reference that compares each region with every
 * earlier one (what the parser did before it sorted): random layouts of
 * a few groups of 1 KiB pages at addresses that often collide, some with
 * a syntax error at the end, give the same error, message and offset.
 */
static void
test_overlap_reference(void **state)
{
	struct dfu_layout *l = dfu_layout_new();
	uint32_t start[64], end[64];
	size_t at[64], len;
	char s[2048], want[256];
	unsigned seed = 12345, n, g, k, i, j, pages;

	(void)state;
	for (unsigned round = 0; round < 20000; round++) {
		len = (size_t)snprintf(s, sizeof(s), "@M ");
		n = 0;
		want[0] = '\0';
		for (g = 0; g < 1 + round % 6; g++) {
			seed = seed * 1103515245u + 12345u;
			start[n] = (seed >> 16) % 24 * 0x400;
			len += (size_t)snprintf(s + len, sizeof(s) - len,
			    "/0x%x/", start[n]);
			for (k = 0; k < 1 + (seed >> 8) % 3; k++) {
				if (k > 0) {
					start[n] = end[n - 1];
					s[len++] = ',';
				}
				at[n] = len;
				pages = 1 + (seed >> 4) % 3;
				len += (size_t)snprintf(s + len,
				    sizeof(s) - len, "%u*1Kg", pages);
				end[n] = start[n] + 0x400 * pages;
				n++;
			}
		}
		if (round % 5 == 0)
			len += (size_t)snprintf(s + len, sizeof(s) - len, "!");
		for (j = 1; j < n && want[0] == '\0'; j++)
			for (i = 0; i < j; i++)
				if (start[j] < end[i] && start[i] < end[j]) {
					snprintf(want, sizeof(want),
					    "offset %zu: 0x%08x-0x%08x "
					    "overlaps region %u at "
					    "0x%08x-0x%08x", at[j],
					    start[j], end[j] - 1, i,
					    start[i], end[i] - 1);
					break;
				}
		if (want[0] != '\0') {
			assert_int_equal(dfu_layout_parse(l, s), DFU_ERR_RANGE);
			assert_string_equal(dfu_layout_errmsg(l), want);
		} else {
			assert_int_equal(dfu_layout_parse(l, s), round % 5 ?
			    0 : DFU_ERR_FORMAT);
		}
	}
	dfu_layout_free(l);
}

/*
 * Many regions in descending order (no shortcut applies) whose last one
 * overlaps the first: found and named as the reference would.  Its
 * complexity is checked by tests/cli/test_dfuinfo.sh under a CPU limit.
 */
static void
test_many_regions(void **state)
{
	const unsigned n = 100000;
	size_t len = 3;
	char *s = malloc((size_t)n * 24 + 64);
	struct dfu_layout *l = dfu_layout_new();

	(void)state;
	assert_non_null(s);
	memcpy(s, "@M ", 3);
	for (unsigned i = 0; i < n; i++)
		len += (size_t)sprintf(s + len, "/0x%x/1*1Ka",
		    0xf0000000u - 0x400u * i);
	sprintf(s + len, "/0xf0000000/1*1Kg");
	assert_int_equal(dfu_layout_parse(l, s), DFU_ERR_RANGE);
	assert_int_equal(dfu_layout_error_offset(l), len + 12);
	assert_non_null(strstr(dfu_layout_errmsg(l), ": 0xf0000000-0xf00003ff "
	    "overlaps region 0 at 0xf0000000-0xf00003ff"));
	sprintf(s + len, "/0xe0000000/1*1Kg");
	assert_int_equal(dfu_layout_parse(l, s), 0);
	assert_int_equal(dfu_layout_region_count(l), n + 1);
	dfu_layout_free(l);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_f405_flash),
		cmocka_unit_test(test_space_multiplier),
		cmocka_unit_test(test_otp_and_feature),
		cmocka_unit_test(test_f107_and_l476),
		cmocka_unit_test(test_multipliers_and_types),
		cmocka_unit_test(test_several_groups),
		cmocka_unit_test(test_empty_name_and_spaces),
		cmocka_unit_test(test_up_to_4g),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_reparse),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_no_multiplier),
		cmocka_unit_test(test_fixture_table),
		cmocka_unit_test(test_overlap_reference),
		cmocka_unit_test(test_many_regions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
