/*
 * test_elf.c - the ELF loader on files built here, byte by byte, from the
 * System V ABI tables: ELF32 and ELF64, little and big endian; load
 * addresses from PT_LOAD p_paddr; the traps (.bss/NOBITS, a PROGBITS
 * section without SHF_ALLOC, a PT_LOAD with p_filesz 0, a PT_LOAD that
 * maps the ELF header); -j/-R filters; every header inconsistency the
 * loader reports, with its exact message; fd-backed elements.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>

#include "image_test.h"

#define SHT_PROGBITS 1
#define SHT_NOBITS 8
#define SHF_WRITE 1
#define SHF_ALLOC 2
#define SHF_EXEC 4
#define PT_LOAD 1

struct tsec {
	const char *name;
	uint32_t type;
	uint64_t flags, addr, size;
	uint8_t fillbyte;	/* contents: size bytes of fillbyte + index */
	uint64_t offset;	/* set by layout() */
};

struct tseg {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

struct telf {
	int is64, be;
	struct tsec sec[8];
	unsigned nsec;
	struct tseg seg[8];
	unsigned nseg;
	int no_sections;	/* write no section header table */
	uint8_t *buf;
	size_t len;
	/* where the tables went, for tests that break them */
	uint64_t phoff, shoff, strtab_off;
};

static void
put(struct telf *t, uint64_t off, uint64_t v, unsigned width)
{
	for (unsigned i = 0; i < width; i++) {
		unsigned shift = 8 * (t->be ? width - 1 - i : i);

		t->buf[off + i] = (uint8_t)(v >> shift);
	}
}

/* Section contents start at 0x1000, each 16-byte aligned. */
static void
layout(struct telf *t)
{
	uint64_t off = 0x1000;

	for (unsigned i = 0; i < t->nsec; i++) {
		t->sec[i].offset = off;
		if (t->sec[i].type != SHT_NOBITS)
			off += (t->sec[i].size + 15) & ~(uint64_t)15;
	}
}

static uint8_t
content(const struct tsec *s, uint64_t i)
{
	return (uint8_t)(s->fillbyte + i * 7);
}

/*
 * Serialise: ELF header, program headers right after it, section data,
 * the name table, then the section headers (index 0 null, then sec[],
 * then .shstrtab).
 */
static void
build(struct telf *t)
{
	unsigned w = t->is64 ? 8 : 4, ehsize = t->is64 ? 64 : 52;
	unsigned phent = t->is64 ? 56 : 32, shent = t->is64 ? 64 : 40;
	uint64_t end = 0x1000, stroff, names[9], strsize = 1;
	char strtab[512] = "";

	for (unsigned i = 0; i < t->nsec; i++) {
		uint64_t e = t->sec[i].offset + (t->sec[i].type == SHT_NOBITS ?
						   0 : t->sec[i].size);
		if (e > end)
			end = e;
		names[i] = strsize;
		strcpy(strtab + strsize, t->sec[i].name);
		strsize += strlen(t->sec[i].name) + 1;
	}
	names[t->nsec] = strsize;
	strcpy(strtab + strsize, ".shstrtab");
	strsize += 10;
	stroff = end;
	t->strtab_off = stroff;
	t->shoff = (stroff + strsize + 7) & ~(uint64_t)7;
	t->phoff = ehsize;
	t->len = t->no_sections ? end : t->shoff + (t->nsec + 2) * shent;
	t->buf = calloc(1, t->len);
	assert_non_null(t->buf);

	memcpy(t->buf, "\177ELF", 4);
	t->buf[4] = t->is64 ? 2 : 1;
	t->buf[5] = t->be ? 2 : 1;
	t->buf[6] = 1;
	put(t, 16, 2, 2);		/* e_type ET_EXEC */
	put(t, 18, 40, 2);		/* e_machine EM_ARM (any will do) */
	put(t, 20, 1, 4);		/* e_version */
	put(t, 24, 0x08000101, w);	/* e_entry */
	put(t, 24 + w, t->nseg ? t->phoff : 0, w);
	put(t, 24 + 2 * w, t->no_sections ? 0 : t->shoff, w);
	put(t, 28 + 3 * w, ehsize, 2);
	put(t, 30 + 3 * w, phent, 2);
	put(t, 32 + 3 * w, t->nseg, 2);
	put(t, 34 + 3 * w, shent, 2);
	put(t, 36 + 3 * w, t->no_sections ? 0 : t->nsec + 2, 2);
	put(t, 38 + 3 * w, t->no_sections ? 0 : t->nsec + 1, 2);

	for (unsigned i = 0; i < t->nseg; i++) {
		uint64_t p = t->phoff + i * phent;
		const struct tseg *s = &t->seg[i];

		put(t, p, s->type, 4);
		if (t->is64) {
			put(t, p + 4, 7, 4);
			put(t, p + 8, s->offset, 8);
			put(t, p + 16, s->vaddr, 8);
			put(t, p + 24, s->paddr, 8);
			put(t, p + 32, s->filesz, 8);
			put(t, p + 40, s->memsz, 8);
		} else {
			put(t, p + 4, s->offset, 4);
			put(t, p + 8, s->vaddr, 4);
			put(t, p + 12, s->paddr, 4);
			put(t, p + 16, s->filesz, 4);
			put(t, p + 20, s->memsz, 4);
			put(t, p + 24, 7, 4);
		}
	}
	for (unsigned i = 0; i < t->nsec; i++)
		if (t->sec[i].type != SHT_NOBITS)
			for (uint64_t k = 0; k < t->sec[i].size; k++)
				t->buf[t->sec[i].offset + k] =
				    content(&t->sec[i], k);
	if (t->no_sections)
		return;
	memcpy(t->buf + stroff, strtab, strsize);
	for (unsigned i = 0; i <= t->nsec; i++) {
		uint64_t p = t->shoff + (i + 1) * shent;
		struct tsec str = { ".shstrtab", 3, 0, 0, strsize, 0, stroff };
		const struct tsec *s = i < t->nsec ? &t->sec[i] : &str;

		put(t, p, names[i], 4);
		put(t, p + 4, s->type, 4);
		put(t, p + 8, s->flags, w);
		put(t, p + 8 + w, s->addr, w);
		put(t, p + 8 + 2 * w, s->offset, w);
		put(t, p + 8 + 3 * w, s->size, w);
	}
}

/* A Cortex-M style firmware: .isr_vector, .text, .data stored after it. */
static void
cortex_m(struct telf *t, int is64, int be)
{
	memset(t, 0, sizeof(*t));
	t->is64 = is64;
	t->be = be;
	t->sec[0] = (struct tsec){ ".isr_vector", SHT_PROGBITS, SHF_ALLOC,
				   0x08000000, 0x40, 0x10, 0 };
	t->sec[1] = (struct tsec){ ".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXEC,
				   0x08000040, 0x100, 0x20, 0 };
	t->sec[2] = (struct tsec){ ".data", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE,
				   0x20000000, 0x30, 0x30, 0 };
	t->sec[3] = (struct tsec){ ".bss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE,
				   0x20000030, 0x200, 0x40, 0 };
	t->sec[4] = (struct tsec){ ".comment", SHT_PROGBITS, 0, 0, 0x20, 0x50,
				   0 };
	t->nsec = 5;
	layout(t);
	/* flash: vectors and text; RAM: data stored at the end of text. */
	t->seg[0] = (struct tseg){ PT_LOAD, t->sec[0].offset, 0x08000000,
				   0x08000000, 0x140, 0x140 };
	t->seg[1] = (struct tseg){ PT_LOAD, t->sec[2].offset, 0x20000000,
				   0x08000140, 0x30, 0x30 };
	t->seg[2] = (struct tseg){ PT_LOAD, t->sec[3].offset, 0x20000030,
				   0x20000030, 0, 0x200 };
	t->nseg = 3;
}

/* The bytes of section i as the builder wrote them. */
static uint8_t *
sec_bytes(const struct telf *t, unsigned i)
{
	uint8_t *b = malloc(t->sec[i].size);

	assert_non_null(b);
	for (uint64_t k = 0; k < t->sec[i].size; k++)
		b[k] = content(&t->sec[i], k);
	return b;
}

static void
expect_section_at(struct dfu_image *img, const struct telf *t, unsigned i,
		  uint32_t lma)
{
	uint8_t *b = sec_bytes(t, i);

	it_bytes(img, lma, b, t->sec[i].size);
	free(b);
}

static int
load(struct dfu_image *img, struct telf *t, const struct dfu_elf_filter *f,
     int *fdp)
{
	int fd = it_fd(t->buf, t->len), rc = dfu_image_load_elf(img, fd, f);

	if (fdp != NULL)
		*fdp = fd;
	else
		close(fd);
	return rc;
}

static void
check_cortex_m(int is64, int be)
{
	struct dfu_image *img = dfu_image_new();
	struct telf t;
	const char *origin;
	uint32_t entry;
	int fd;

	cortex_m(&t, is64, be);
	build(&t);
	it_ok(img, load(img, &t, NULL, &fd));
	/* .isr_vector, .text and .data (at its LMA) touch: one range. */
	assert_int_equal(dfu_image_range_count(img), 1);
	it_range(img, 0, 0x08000000, 0x170);
	assert_int_equal(dfu_image_piece_count(img), 3);
	assert_int_equal(dfu_image_piece(img, 2, NULL, NULL, &origin), 0);
	assert_string_equal(origin, "section .data");
	expect_section_at(img, &t, 0, 0x08000000);
	expect_section_at(img, &t, 1, 0x08000040);
	expect_section_at(img, &t, 2, 0x08000140);
	assert_int_equal(dfu_image_entry(img, &entry), 1);
	assert_int_equal(entry, 0x08000101);
	close(fd);
	free(t.buf);
	dfu_image_free(img);
}

static void
test_elf32_le(void **state)
{
	(void)state;
	check_cortex_m(0, 0);
}

static void
test_elf32_be(void **state)
{
	(void)state;
	check_cortex_m(0, 1);
}

static void
test_elf64_le(void **state)
{
	(void)state;
	check_cortex_m(1, 0);
}

static void
test_elf64_be(void **state)
{
	(void)state;
	check_cortex_m(1, 1);
}

/*
 * Code that runs at 0 (ITCM) but is stored in flash, and a PT_LOAD that
 * maps the ELF header and program headers (teensy41 in the corpus): the
 * header bytes are in no section and must not appear.
 */
static void
test_itcm_and_header_segment(void **state)
{
	struct dfu_image *img = dfu_image_new();
	struct telf t;
	int fd;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.sec[0] = (struct tsec){ ".text.headers", SHT_PROGBITS, SHF_ALLOC,
				  0x60000000, 0x20, 1, 0 };
	t.sec[1] = (struct tsec){ ".text.itcm", SHT_PROGBITS,
				  SHF_ALLOC | SHF_EXEC, 0, 0x80, 2, 0 };
	t.nsec = 2;
	layout(&t);
	t.seg[0] = (struct tseg){ PT_LOAD, 0, 0x20000000, 0x20000000,
				  52 + 3 * 32, 0x1000 };
	t.seg[1] = (struct tseg){ PT_LOAD, t.sec[0].offset, 0x60000000,
				  0x60000000, 0x20, 0x20 };
	t.seg[2] = (struct tseg){ PT_LOAD, t.sec[1].offset, 0, 0x60000020,
				  0x80, 0x80 };
	t.nseg = 3;
	build(&t);
	it_ok(img, load(img, &t, NULL, &fd));
	assert_int_equal(dfu_image_range_count(img), 1);
	it_range(img, 0, 0x60000000, 0xa0);
	expect_section_at(img, &t, 1, 0x60000020);
	close(fd);

	/* The same file without section headers: segments, header cut. */
	dfu_image_free(img);
	img = dfu_image_new();
	free(t.buf);
	t.no_sections = 1;
	build(&t);
	it_ok(img, load(img, &t, NULL, &fd));
	assert_int_equal(dfu_image_range_count(img), 1);
	it_range(img, 0, 0x60000000, 0xa0);
	expect_section_at(img, &t, 0, 0x60000000);
	close(fd);
	free(t.buf);
	dfu_image_free(img);
}

/* Segment mode: a PT_LOAD that maps the header and code keeps the code. */
static void
test_segments_trim_header(void **state)
{
	struct dfu_image *img = dfu_image_new();
	struct telf t;
	uint8_t *b;
	int fd;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.sec[0] = (struct tsec){ ".text", SHT_PROGBITS, SHF_ALLOC, 0x1000,
				  0x40, 9, 0 };
	t.nsec = 1;
	layout(&t);
	/* One segment from offset 0: header (52 + 2 * 32), zeros, .text. */
	t.seg[0] = (struct tseg){ PT_LOAD, 0, 0, 0x10000000, 0x1040, 0x1040 };
	t.seg[1] = (struct tseg){ PT_LOAD, 0x1040, 0x2000, 0x2000, 0, 0x100 };
	t.nseg = 2;
	t.no_sections = 1;
	build(&t);
	it_ok(img, load(img, &t, NULL, &fd));
	assert_int_equal(dfu_image_range_count(img), 1);
	it_range(img, 0, 0x10000000 + 116, 0x1040 - 116);
	b = sec_bytes(&t, 0);
	it_bytes(img, 0x10001000, b, 0x40);
	free(b);
	close(fd);
	free(t.buf);
	dfu_image_free(img);
}

static void
test_filters(void **state)
{
	struct dfu_image *img;
	struct telf t;
	const char *only[] = { ".data", ".missing" };
	const char *remove[] = { ".text", ".eeprom" };
	struct dfu_elf_filter f = { only, 2, NULL, 0 };
	struct dfu_elf_filter r = { NULL, 0, remove, 2 };
	struct dfu_elf_filter all = { only, 1, only, 1 };

	(void)state;
	cortex_m(&t, 0, 0);
	build(&t);
	img = dfu_image_new();
	it_ok(img, load(img, &t, &f, NULL));
	assert_int_equal(dfu_image_range_count(img), 1);
	it_range(img, 0, 0x08000140, 0x30);
	dfu_image_free(img);

	img = dfu_image_new();
	it_ok(img, load(img, &t, &r, NULL));
	assert_int_equal(dfu_image_range_count(img), 2);
	it_range(img, 0, 0x08000000, 0x40);
	it_range(img, 1, 0x08000140, 0x30);
	dfu_image_free(img);

	img = dfu_image_new();
	it_fails(img, load(img, &t, &all, NULL), DFU_ERR_FORMAT,
		 "nothing to load: no allocated section with contents is "
		 "selected");
	assert_int_equal(dfu_image_range_count(img), 0);
	dfu_image_free(img);
	free(t.buf);

	/* No section headers: no filter. */
	t.no_sections = 1;
	build(&t);
	img = dfu_image_new();
	it_fails(img, load(img, &t, &r, NULL), DFU_ERR_INVALID,
		 "no section headers: sections cannot be selected or removed");
	dfu_image_free(img);
	free(t.buf);
}

/* The corpus traps: only NOBITS, non-ALLOC, or filesz-0 content. */
static void
test_nothing_loadable(void **state)
{
	struct dfu_image *img = dfu_image_new();
	struct telf t;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.sec[0] = (struct tsec){ ".bss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE,
				  0x20000000, 0x100, 0, 0 };
	t.sec[1] = (struct tsec){ "._user_heap_stack", SHT_PROGBITS, SHF_WRITE,
				  0x20000100, 0x400, 3, 0 };
	t.sec[2] = (struct tsec){ ".noinit", SHT_NOBITS, SHF_ALLOC | SHF_WRITE,
				  0x20000500, 0x10, 0, 0 };
	t.sec[3] = (struct tsec){ ".empty", SHT_PROGBITS, SHF_ALLOC,
				  0x08000000, 0, 0, 0 };
	t.nsec = 4;
	layout(&t);
	t.seg[0] = (struct tseg){ PT_LOAD, t.sec[1].offset, 0x20000000,
				  0x20000000, 0, 0x600 };
	t.nseg = 1;
	build(&t);
	it_fails(img, load(img, &t, NULL, NULL), DFU_ERR_FORMAT,
		 "nothing to load: no allocated section with contents");
	free(t.buf);
	t.no_sections = 1;
	build(&t);
	it_fails(img, load(img, &t, NULL, NULL), DFU_ERR_FORMAT,
		 "nothing to load: no PT_LOAD segment with contents");
	free(t.buf);
	dfu_image_free(img);
}

static void
test_overlap(void **state)
{
	struct dfu_image *img = dfu_image_new();
	struct telf t;

	(void)state;
	cortex_m(&t, 0, 0);
	/* .data stored over the end of .text. */
	t.seg[1].paddr = 0x08000130;
	build(&t);
	it_fails(img, load(img, &t, NULL, NULL), DFU_ERR_RANGE,
		 "section .data at 0x08000130-0x0800015f overlaps section "
		 ".text at 0x08000040-0x0800013f");
	assert_int_equal(dfu_image_range_count(img), 0);
	free(t.buf);
	dfu_image_free(img);
}

/* No PT_LOAD holds a section: it goes to its own address (objcopy). */
static void
test_no_segment(void **state)
{
	struct dfu_image *img = dfu_image_new();
	struct telf t;

	(void)state;
	cortex_m(&t, 0, 0);
	t.nseg = 0;
	build(&t);
	it_ok(img, load(img, &t, NULL, NULL));
	assert_int_equal(dfu_image_range_count(img), 2);
	it_range(img, 0, 0x08000000, 0x140);
	it_range(img, 1, 0x20000000, 0x30);
	free(t.buf);
	dfu_image_free(img);
}

static void
test_top_of_address_space(void **state)
{
	struct dfu_image *img = dfu_image_new();
	struct telf t;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.is64 = 1;
	t.sec[0] = (struct tsec){ ".top", SHT_PROGBITS, SHF_ALLOC,
				  0xfffffff0, 0x10, 5, 0 };
	t.nsec = 1;
	layout(&t);
	build(&t);
	it_ok(img, load(img, &t, NULL, NULL));
	it_range(img, 0, 0xfffffff0, 0x10);
	free(t.buf);
	t.sec[0].size = 0x11;
	build(&t);
	it_fails(img, load(img, &t, NULL, NULL), DFU_ERR_FORMAT,
		 "section .top: load range 0xfffffff0-0x100000000 passes "
		 "4 GiB, beyond a DfuSe address");
	free(t.buf);
	t.sec[0].addr = 0x100000000;
	t.sec[0].size = 0x10;
	build(&t);
	it_fails(img, load(img, &t, NULL, NULL), DFU_ERR_FORMAT,
		 "section .top: load range 0x100000000-0x10000000f passes "
		 "4 GiB, beyond a DfuSe address");
	free(t.buf);
	dfu_image_free(img);
}

/* Each broken header gives its own message. */
static void
test_broken_headers(void **state)
{
	struct dfu_image *img = dfu_image_new();
	struct telf t;
	uint8_t *orig;
	int fd;

	(void)state;
	/*
	 * The file is 0x12e0 = 4832 bytes: section contents from 0x1000 to
	 * 0x1190, 0x31 bytes of names, 7 section headers of 40 bytes at
	 * 0x11c8.
	 */
	cortex_m(&t, 0, 0);
	build(&t);
	assert_int_equal(t.len, 4832);
	orig = malloc(t.len);
	assert_non_null(orig);
	memcpy(orig, t.buf, t.len);

	fd = it_fd(t.buf, 10);
	it_fails(img, dfu_image_load_elf(img, fd, NULL), DFU_ERR_FORMAT,
		 "truncated ELF header: 10 bytes");
	close(fd);
	fd = it_fd(t.buf, 40);
	it_fails(img, dfu_image_load_elf(img, fd, NULL), DFU_ERR_FORMAT,
		 "truncated ELF header: 40 bytes, ELF32 needs 52");
	close(fd);
	fd = it_fd_str(":00000001FF\n\n\n\n\n\n\n\n\n");
	it_fails(img, dfu_image_load_elf(img, fd, NULL), DFU_ERR_FORMAT,
		 "not an ELF file");
	close(fd);

	t.buf[4] = 3;
	it_fails(img, load(img, &t, NULL, NULL), DFU_ERR_FORMAT,
		 "ELF header: EI_CLASS 3 is neither ELF32 (1) nor ELF64 (2)");
	memcpy(t.buf, orig, t.len);
	t.buf[5] = 0;
	it_fails(img, load(img, &t, NULL, NULL), DFU_ERR_FORMAT,
		 "ELF header: EI_DATA 0 is neither little (1) nor big endian "
		 "(2)");
	memcpy(t.buf, orig, t.len);
	put(&t, 16, 1, 2);	/* e_type ET_REL */
	it_fails(img, load(img, &t, NULL, NULL), DFU_ERR_FORMAT,
		 "a relocatable object (ET_REL), not a linked program: its "
		 "sections have no addresses yet");
	memcpy(t.buf, orig, t.len);
	t.buf[6] = 2;
	it_fails(img, load(img, &t, NULL, NULL), DFU_ERR_FORMAT,
		 "ELF header: EI_VERSION 2, expected 1");

	/* Program header table past the end (e_phoff at 28). */
	memcpy(t.buf, orig, t.len);
	put(&t, 28, t.len - 32, 4);
	it_fails(img, load(img, &t, NULL, NULL), DFU_ERR_FORMAT,
		 "program header table at offset 0x12c0 (3 entries of 32 "
		 "bytes) runs past the end of the file (4832 bytes)");
	memcpy(t.buf, orig, t.len);
	put(&t, 42, 16, 2);	/* e_phentsize */
	it_fails(img, load(img, &t, NULL, NULL), DFU_ERR_FORMAT,
		 "program header table: entries of 16 bytes, smaller than "
		 "the 32 of an ELF32 entry");
	/* Section header table past the end (e_shoff at 32). */
	memcpy(t.buf, orig, t.len);
	put(&t, 32, t.len - 40, 4);
	it_fails(img, load(img, &t, NULL, NULL), DFU_ERR_FORMAT,
		 "section header table at offset 0x12b8 (7 entries of 40 "
		 "bytes) runs past the end of the file (4832 bytes)");
	memcpy(t.buf, orig, t.len);
	put(&t, 50, 9, 2);	/* e_shstrndx */
	it_fails(img, load(img, &t, NULL, NULL), DFU_ERR_FORMAT,
		 "e_shstrndx 9: no such section (7 sections)");
	/* The name table's sh_offset (section 6, field at +16). */
	memcpy(t.buf, orig, t.len);
	put(&t, t.shoff + 6 * 40 + 16, t.len, 4);
	it_fails(img, load(img, &t, NULL, NULL), DFU_ERR_FORMAT,
		 "section name table at offset 0x12e0, size 0x31, runs past "
		 "the end of the file (4832 bytes)");
	/* A section name past the table (section 2, sh_name at +0). */
	memcpy(t.buf, orig, t.len);
	put(&t, t.shoff + 2 * 40, 0x1000, 4);
	it_fails(img, load(img, &t, NULL, NULL), DFU_ERR_FORMAT,
		 "section 2: name at 0x1000 is past the end of the section "
		 "name table (0x31 bytes)");
	/* .text contents past the end (section 2, sh_size at +20). */
	memcpy(t.buf, orig, t.len);
	put(&t, t.shoff + 2 * 40 + 20, 0x10000, 4);
	it_fails(img, load(img, &t, NULL, NULL), DFU_ERR_FORMAT,
		 "section .text: contents at offset 0x1040, size 0x10000, run "
		 "past the end of the file (4832 bytes)");
	/* A PT_LOAD past the end, and one with filesz > memsz. */
	memcpy(t.buf, orig, t.len);
	put(&t, 52 + 32 + 16, 0x100000, 4);
	it_fails(img, load(img, &t, NULL, NULL), DFU_ERR_FORMAT,
		 "segment 1 (PT_LOAD): contents at offset 0x1140, size "
		 "0x100000, run past the end of the file (4832 bytes)");
	memcpy(t.buf, orig, t.len);
	put(&t, 52 + 32 + 20, 0x10, 4);
	it_fails(img, load(img, &t, NULL, NULL), DFU_ERR_FORMAT,
		 "segment 1 (PT_LOAD): p_filesz 0x30 is larger than p_memsz "
		 "0x10");
	assert_int_equal(dfu_image_range_count(img), 0);
	/* The original loads. */
	memcpy(t.buf, orig, t.len);
	it_ok(img, load(img, &t, NULL, NULL));
	free(orig);
	free(t.buf);
	dfu_image_free(img);
}

/* Extended numbering: e_shnum 0 and e_shstrndx 0xffff, counts in section 0. */
static void
test_extended_numbering(void **state)
{
	struct dfu_image *img = dfu_image_new();
	struct telf t;

	(void)state;
	cortex_m(&t, 1, 0);
	build(&t);
	put(&t, 60, 0, 2);			/* e_shnum */
	put(&t, 62, 0xffff, 2);			/* e_shstrndx */
	put(&t, t.shoff + 32, t.nsec + 2, 8);	/* sh_size of section 0 */
	put(&t, t.shoff + 40, t.nsec + 1, 4);	/* sh_link of section 0 */
	it_ok(img, load(img, &t, NULL, NULL));
	it_range(img, 0, 0x08000000, 0x170);
	free(t.buf);
	dfu_image_free(img);
}

/*
 * An element that is one run of the file is read from it when the DfuSe
 * file is written (streaming): a change to the ELF after the conversion
 * shows in the output.  Elements that join pieces from different places
 * are copies.
 */
static void
test_streaming(void **state)
{
	struct dfu_image *img = dfu_image_new();
	struct dfu_file *f = dfu_file_new(), *r = dfu_file_new();
	struct telf t;
	uint8_t got[0x140];
	int fd, out = it_fd("", 0);
	unsigned n;

	(void)state;
	cortex_m(&t, 0, 0);
	t.seg[1].paddr = 0x08000150;	/* .data 16 bytes after .text */
	build(&t);
	it_ok(img, load(img, &t, NULL, &fd));
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_DFUSE), 0);
	assert_int_equal(dfu_file_add_target(f, 0, NULL), 0);
	/* Vectors and text: one run of the file. */
	it_ok(img, dfu_image_add_elements(img, f, 0, 0, UINT32_MAX, 0, 0, &n));
	assert_int_equal(n, 2);
	/* All, the gap filled: an element assembled in memory. */
	assert_int_equal(dfu_file_add_target(f, 1, NULL), 1);
	it_ok(img, dfu_image_add_elements(img, f, 1, 0, UINT32_MAX, 16, 0, &n));
	assert_int_equal(n, 1);
	assert_int_equal(pwrite(fd, "\xee", 1, t.sec[0].offset), 1);
	assert_int_equal(dfu_file_write_fd(f, out), 0);
	assert_int_equal(dfu_file_read_fd(r, out, 0), 0);
	assert_int_equal(dfu_file_element_read(r, 0, 0, 0, got, 0x140), 0);
	assert_int_equal(got[0], 0xee);
	assert_int_equal(dfu_file_element(r, 1, 0)->size, 0x180);
	assert_int_equal(dfu_file_element_read(r, 1, 0, 0, got, 1), 0);
	assert_int_equal(got[0], content(&t.sec[0], 0));
	dfu_file_free(r);
	dfu_file_free(f);
	close(out);
	close(fd);
	free(t.buf);
	dfu_image_free(img);
}

/* A read of ELF bytes that fails is DFU_ERR_IO with its errno. */
static void
test_read_error(void **state)
{
	struct dfu_image *img = dfu_image_new();
	struct dfu_file *f = dfu_file_new();
	struct telf t;
	uint8_t b[4];
	int fd;

	(void)state;
	cortex_m(&t, 0, 0);
	t.seg[1].paddr = 0x08000150;	/* .data apart: a copied element */
	build(&t);
	it_ok(img, load(img, &t, NULL, &fd));
	close(fd);
	it_fails(img, dfu_image_read(img, 0x08000000, b, 4), DFU_ERR_IO,
		 "section .isr_vector: read at offset 0x1000: Bad file "
		 "descriptor");
	assert_int_equal(dfu_image_errno(img), EBADF);
	assert_int_equal(dfu_file_init(f, DFU_FORMAT_DFUSE), 0);
	assert_int_equal(dfu_file_add_target(f, 0, NULL), 0);
	it_fails(img, dfu_image_add_elements(img, f, 0, 0, UINT32_MAX, 16, 0,
					     NULL), DFU_ERR_IO,
		 "section .isr_vector: read at offset 0x1000: Bad file "
		 "descriptor");
	it_ok(img, dfu_image_read(img, 0, b, 0));
	assert_int_equal(dfu_image_errno(img), 0);
	dfu_file_free(f);
	free(t.buf);
	dfu_image_free(img);
}

/* The ELF loader needs pread(); the HEX loader reads a pipe. */
static void
test_pipes(void **state)
{
	struct dfu_image *img = dfu_image_new();
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "\177ELF", 4), 4);
	it_fails(img, dfu_image_load_elf(img, p[0], NULL), DFU_ERR_INVALID,
		 "an ELF file must be seekable");
	close(p[0]);
	close(p[1]);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], ":0100000011EE\n:00000001FF\n", 26), 26);
	close(p[1]);
	it_ok(img, dfu_image_load_ihex(img, p[0]));
	it_bytes(img, 0, "\x11", 1);
	close(p[0]);
	assert_int_equal(dfu_image_load_elf(img, -1, NULL), DFU_ERR_INVALID);
	assert_int_equal(dfu_image_load_elf(NULL, 0, NULL), DFU_ERR_INVALID);
	assert_int_equal(dfu_image_load_ihex(img, -1), DFU_ERR_INVALID);
	assert_int_equal(dfu_image_load_srec(NULL, 0), DFU_ERR_INVALID);
	dfu_image_free(img);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf32_le),
		cmocka_unit_test(test_elf32_be),
		cmocka_unit_test(test_elf64_le),
		cmocka_unit_test(test_elf64_be),
		cmocka_unit_test(test_itcm_and_header_segment),
		cmocka_unit_test(test_segments_trim_header),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_nothing_loadable),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_no_segment),
		cmocka_unit_test(test_top_of_address_space),
		cmocka_unit_test(test_broken_headers),
		cmocka_unit_test(test_extended_numbering),
		cmocka_unit_test(test_streaming),
		cmocka_unit_test(test_read_error),
		cmocka_unit_test(test_pipes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
