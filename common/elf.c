/*
 * elf.c - load the bytes of an ELF file at their load addresses.
 *
 * Field offsets and values are those of the System V ABI, chapter 4
 * ("Object Files": ELF header, sections, program header) and its
 * extended numbering (e_shnum, e_shstrndx and e_phnum in section 0).
 * Every offset and size read from the file is checked against the file
 * size before it is used.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_private.h"

#define EI_NIDENT 16
#define EI_CLASS 4
#define EI_DATA 5
#define EI_VERSION 6
#define ELFCLASS32 1
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ELFDATA2MSB 2
#define EV_CURRENT 1

#define ET_REL 1
#define PT_LOAD 1
#define SHT_NULL 0
#define SHT_NOBITS 8
#define SHF_ALLOC 0x2
#define SHN_UNDEF 0
#define SHN_XINDEX 0xffff
#define PN_XNUM 0xffff

#define ADDRESS_SPACE (UINT64_C(1) << 32)

struct elf_phdr {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

struct elf_shdr {
	uint32_t name, type;
	uint64_t flags, addr, offset, size;
	uint32_t link, info;
};

struct elf {
	struct dfu_image *img;
	int fd;
	uint64_t fsize;
	int is64, be;
	uint64_t entry, phoff, shoff;
	unsigned ehsize, phentsize, shentsize;
	uint64_t phnum, shnum;
	unsigned shstrndx;
	struct elf_phdr *ph;
	struct elf_shdr *sh;
	char *strtab;	/* section names; NULL if there are none */
	uint64_t strsize;
};

static uint64_t
get(const struct elf *e, const uint8_t *p, unsigned width)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < width; i++) {
		unsigned k = e->be ? i : width - 1 - i;

		v = v << 8 | (uint64_t)p[k];
	}
	return v;
}

/* Width of an address-sized field: 4 in ELF32, 8 in ELF64. */
#define AW(e) ((e)->is64 ? 8u : 4u)

/* 1 if [off, off + size) is inside the file. */
static int
in_file(const struct elf *e, uint64_t off, uint64_t size)
{
	return off <= e->fsize && size <= e->fsize - off;
}

static int
read_at(struct elf *e, void *buf, size_t len, uint64_t off, const char *what)
{
	if (dfui_img_pread(e->fd, buf, len, off) != 0)
		return dfui_img_fail_errno(e->img, errno, "%s: read at offset "
		    "0x%llx", what, (unsigned long long)off);
	return 0;
}

static int
read_header(struct elf *e)
{
	uint8_t h[64];
	unsigned need;
	int err;

	if (e->fsize < EI_NIDENT)
		return dfui_img_fail(e->img, DFU_ERR_FORMAT, "truncated ELF header: "
		    "%llu bytes", (unsigned long long)e->fsize);
	if ((err = read_at(e, h, EI_NIDENT, 0, "ELF header")) != 0)
		return err;
	if (memcmp(h, "\177ELF", 4) != 0)
		return dfui_img_fail(e->img, DFU_ERR_FORMAT, "not an ELF file");
	if (h[EI_CLASS] != ELFCLASS32 && h[EI_CLASS] != ELFCLASS64)
		return dfui_img_fail(e->img, DFU_ERR_FORMAT, "ELF header: EI_CLASS "
		    "%u is neither ELF32 (1) nor ELF64 (2)", h[EI_CLASS]);
	if (h[EI_DATA] != ELFDATA2LSB && h[EI_DATA] != ELFDATA2MSB)
		return dfui_img_fail(e->img, DFU_ERR_FORMAT, "ELF header: EI_DATA "
		    "%u is neither little (1) nor big endian (2)", h[EI_DATA]);
	if (h[EI_VERSION] != EV_CURRENT)
		return dfui_img_fail(e->img, DFU_ERR_FORMAT, "ELF header: "
		    "EI_VERSION %u, expected 1", h[EI_VERSION]);
	e->is64 = h[EI_CLASS] == ELFCLASS64;
	e->be = h[EI_DATA] == ELFDATA2MSB;
	need = e->is64 ? 64 : 52;
	if (e->fsize < need)
		return dfui_img_fail(e->img, DFU_ERR_FORMAT, "truncated ELF header: "
		    "%llu bytes, ELF%d needs %u", (unsigned long long)e->fsize,
		    e->is64 ? 64 : 32, need);
	if ((err = read_at(e, h, need, 0, "ELF header")) != 0)
		return err;
	/* Sections of an object file all start at 0: nothing is placed yet. */
	if (get(e, h + 16, 2) == ET_REL)
		return dfui_img_fail(e->img, DFU_ERR_FORMAT, "a relocatable object "
		    "(ET_REL), not a linked program: its sections have no "
		    "addresses yet");
	/* e_entry follows e_type, e_machine (2 bytes each), e_version (4). */
	e->entry = get(e, h + 24, AW(e));
	e->phoff = get(e, h + 24 + AW(e), AW(e));
	e->shoff = get(e, h + 24 + 2 * AW(e), AW(e));
	/* then e_flags (4), e_ehsize, e_phentsize, e_phnum, e_shentsize,
	   e_shnum, e_shstrndx (2 each) */
	{
		const uint8_t *q = h + 28 + 3 * AW(e);

		e->ehsize = (unsigned)get(e, q, 2);
		e->phentsize = (unsigned)get(e, q + 2, 2);
		e->phnum = get(e, q + 4, 2);
		e->shentsize = (unsigned)get(e, q + 6, 2);
		e->shnum = get(e, q + 8, 2);
		e->shstrndx = (unsigned)get(e, q + 10, 2);
	}
	return 0;
}

static void
decode_shdr(const struct elf *e, const uint8_t *p, struct elf_shdr *s)
{
	unsigned w = AW(e);

	s->name = (uint32_t)get(e, p, 4);
	s->type = (uint32_t)get(e, p + 4, 4);
	s->flags = get(e, p + 8, w);
	s->addr = get(e, p + 8 + w, w);
	s->offset = get(e, p + 8 + 2 * w, w);
	s->size = get(e, p + 8 + 3 * w, w);
	s->link = (uint32_t)get(e, p + 8 + 4 * w, 4);
	s->info = (uint32_t)get(e, p + 12 + 4 * w, 4);
}

static void
decode_phdr(const struct elf *e, const uint8_t *p, struct elf_phdr *ph)
{
	ph->type = (uint32_t)get(e, p, 4);
	if (e->is64) {		/* p_flags comes second in ELF64 */
		ph->offset = get(e, p + 8, 8);
		ph->vaddr = get(e, p + 16, 8);
		ph->paddr = get(e, p + 24, 8);
		ph->filesz = get(e, p + 32, 8);
		ph->memsz = get(e, p + 40, 8);
	} else {
		ph->offset = get(e, p + 4, 4);
		ph->vaddr = get(e, p + 8, 4);
		ph->paddr = get(e, p + 12, 4);
		ph->filesz = get(e, p + 16, 4);
		ph->memsz = get(e, p + 20, 4);
	}
}

/* Read a table of n entries of entsize bytes at off into a malloc'd copy. */
static int
read_table(struct elf *e, uint64_t off, uint64_t n, unsigned entsize,
    unsigned minsize, const char *what, uint8_t **out)
{
	if (entsize < minsize)
		return dfui_img_fail(e->img, DFU_ERR_FORMAT, "%s: entries of %u "
		    "bytes, smaller than the %u of an ELF%d entry", what,
		    entsize, minsize, e->is64 ? 64 : 32);
	if (!in_file(e, off, 0) || n > (e->fsize - off) / entsize)
		return dfui_img_fail(e->img, DFU_ERR_FORMAT, "%s at offset 0x%llx "
		    "(%llu entries of %u bytes) runs past the end of the file "
		    "(%llu bytes)", what, (unsigned long long)off,
		    (unsigned long long)n, entsize,
		    (unsigned long long)e->fsize);
	if ((*out = malloc(n * entsize)) == NULL)
		return dfui_img_fail(e->img, DFU_ERR_NOMEM, "out of memory");
	if (read_at(e, *out, n * entsize, off, what) != 0) {
		free(*out);
		*out = NULL;
		return DFU_ERR_IO;
	}
	return 0;
}

static int
read_sections(struct elf *e)
{
	uint8_t *raw = NULL, first[64];
	struct elf_shdr s0;
	int err;

	if (e->shoff == 0)
		return 0;
	/* Extended numbering: the real counts are in section 0. */
	if (e->shnum == 0 || e->shstrndx == SHN_XINDEX ||
	    e->phnum == PN_XNUM) {
		if (e->shentsize < (e->is64 ? 64u : 40u) ||
		    !in_file(e, e->shoff, e->shentsize))
			return dfui_img_fail(e->img, DFU_ERR_FORMAT, "section "
			    "header 0 at offset 0x%llx runs past the end of "
			    "the file (%llu bytes)",
			    (unsigned long long)e->shoff,
			    (unsigned long long)e->fsize);
		if ((err = read_at(e, first, e->is64 ? 64 : 40, e->shoff,
		    "section header 0")) != 0)
			return err;
		decode_shdr(e, first, &s0);
		if (e->shnum == 0)
			e->shnum = s0.size;
		if (e->shstrndx == SHN_XINDEX)
			e->shstrndx = s0.link;
		if (e->phnum == PN_XNUM)
			e->phnum = s0.info;
	}
	if (e->shnum == 0)
		return 0;
	if ((err = read_table(e, e->shoff, e->shnum, e->shentsize,
	    e->is64 ? 64 : 40, "section header table", &raw)) != 0)
		return err;
	if ((e->sh = calloc(e->shnum, sizeof(*e->sh))) == NULL) {
		free(raw);
		return dfui_img_fail(e->img, DFU_ERR_NOMEM, "out of memory");
	}
	for (uint64_t i = 0; i < e->shnum; i++)
		decode_shdr(e, raw + i * e->shentsize, &e->sh[i]);
	free(raw);

	if (e->shstrndx == SHN_UNDEF)
		return 0;
	if (e->shstrndx >= e->shnum)
		return dfui_img_fail(e->img, DFU_ERR_FORMAT, "e_shstrndx %u: no such "
		    "section (%llu sections)", e->shstrndx,
		    (unsigned long long)e->shnum);
	{
		const struct elf_shdr *t = &e->sh[e->shstrndx];

		if (t->type == SHT_NOBITS || !in_file(e, t->offset, t->size))
			return dfui_img_fail(e->img, DFU_ERR_FORMAT, "section name "
			    "table at offset 0x%llx, size 0x%llx, runs past "
			    "the end of the file (%llu bytes)",
			    (unsigned long long)t->offset,
			    (unsigned long long)t->size,
			    (unsigned long long)e->fsize);
		if ((e->strtab = malloc(t->size + 1)) == NULL)
			return dfui_img_fail(e->img, DFU_ERR_NOMEM, "out of memory");
		if ((err = read_at(e, e->strtab, t->size, t->offset,
		    "section name table")) != 0)
			return err;
		e->strtab[t->size] = '\0';
		e->strsize = t->size;
	}
	return 0;
}

static int
read_segments(struct elf *e)
{
	uint8_t *raw = NULL;
	int err;

	if (e->phoff == 0 || e->phnum == 0)
		return 0;
	if ((err = read_table(e, e->phoff, e->phnum, e->phentsize,
	    e->is64 ? 56 : 32, "program header table", &raw)) != 0)
		return err;
	if ((e->ph = calloc(e->phnum, sizeof(*e->ph))) == NULL) {
		free(raw);
		return dfui_img_fail(e->img, DFU_ERR_NOMEM, "out of memory");
	}
	for (uint64_t i = 0; i < e->phnum; i++)
		decode_phdr(e, raw + i * e->phentsize, &e->ph[i]);
	free(raw);
	for (uint64_t i = 0; i < e->phnum; i++) {
		const struct elf_phdr *p = &e->ph[i];

		if (p->type != PT_LOAD || p->filesz == 0)
			continue;
		if (!in_file(e, p->offset, p->filesz))
			return dfui_img_fail(e->img, DFU_ERR_FORMAT, "segment %llu "
			    "(PT_LOAD): contents at offset 0x%llx, size "
			    "0x%llx, run past the end of the file (%llu bytes)",
			    (unsigned long long)i,
			    (unsigned long long)p->offset,
			    (unsigned long long)p->filesz,
			    (unsigned long long)e->fsize);
		if (p->filesz > p->memsz)
			return dfui_img_fail(e->img, DFU_ERR_FORMAT, "segment %llu "
			    "(PT_LOAD): p_filesz 0x%llx is larger than "
			    "p_memsz 0x%llx", (unsigned long long)i,
			    (unsigned long long)p->filesz,
			    (unsigned long long)p->memsz);
	}
	return 0;
}

/* Name of section i, in the image's pool. */
static int
section_name(struct elf *e, uint64_t i, const char **out)
{
	const struct elf_shdr *s = &e->sh[i];
	const char *name;

	if (e->strtab == NULL)
		*out = dfui_img_strf(e->img, "section %llu", (unsigned long long)i);
	else if (s->name >= e->strsize)
		return dfui_img_fail(e->img, DFU_ERR_FORMAT, "section %llu: name at "
		    "0x%x is past the end of the section name table (0x%llx "
		    "bytes)", (unsigned long long)i, s->name,
		    (unsigned long long)e->strsize);
	else if (memchr(e->strtab + s->name, '\0', e->strsize - s->name) ==
	    NULL)
		return dfui_img_fail(e->img, DFU_ERR_FORMAT, "section %llu: name at "
		    "0x%x has no NUL before the end of the section name table "
		    "(0x%llx bytes)", (unsigned long long)i, s->name,
		    (unsigned long long)e->strsize);
	else {
		name = e->strtab + s->name;
		*out = dfui_img_strf(e->img, "%s", *name != '\0' ? name :
		    "(unnamed)");
	}
	if (*out == NULL)
		return dfui_img_fail(e->img, DFU_ERR_NOMEM, "out of memory");
	return 0;
}

static int
listed(const char *name, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, v[i]) == 0)
			return 1;
	return 0;
}

/*
 * Load address of a section: the PT_LOAD whose file bytes and memory
 * range hold it, as objcopy assigns LMAs; its own address otherwise.
 */
static uint64_t
section_lma(const struct elf *e, const struct elf_shdr *s)
{
	for (uint64_t i = 0; i < e->phnum && e->ph != NULL; i++) {
		const struct elf_phdr *p = &e->ph[i];

		if (p->type != PT_LOAD || p->filesz == 0)
			continue;
		if (s->offset < p->offset ||
		    s->offset - p->offset > p->filesz ||
		    s->size > p->filesz - (s->offset - p->offset))
			continue;
		if (s->addr < p->vaddr || s->addr - p->vaddr > p->memsz ||
		    s->size > p->memsz - (s->addr - p->vaddr))
			continue;
		if (s->addr - p->vaddr != s->offset - p->offset)
			continue;
		return p->paddr + (s->addr - p->vaddr);
	}
	return s->addr;
}

static int
add_piece(struct elf *e, struct dfui_img_batch *b, const char *origin,
    uint64_t lma, uint64_t off, uint64_t size)
{
	struct dfui_img_piece p = { 0 };

	if (lma >= ADDRESS_SPACE || size > ADDRESS_SPACE - lma)
		return dfui_img_fail(e->img, DFU_ERR_FORMAT, "%s: load range "
		    "0x%llx-0x%llx passes 4 GiB, beyond a DfuSe address",
		    origin, (unsigned long long)lma,
		    (unsigned long long)(lma + size - 1));
	p.addr = (uint32_t)lma;
	p.size = (uint32_t)size;
	p.fd = e->fd;
	p.off = off;
	p.origin = origin;
	return dfui_img_batch_add(e->img, b, &p);
}

static int
load_sections(struct elf *e, const struct dfu_elf_filter *flt,
    struct dfui_img_batch *b)
{
	int err;

	for (uint64_t i = 0; i < e->shnum; i++) {
		const struct elf_shdr *s = &e->sh[i];
		const char *name, *origin;

		if (!(s->flags & SHF_ALLOC) || s->type == SHT_NOBITS ||
		    s->type == SHT_NULL || s->size == 0)
			continue;
		/* The section name table is never loaded, even with
		 * SHF_ALLOC: objcopy -O binary leaves it out (fwupd's test
		 * ELF has one at address 0, over its .text). */
		if (e->strtab != NULL && i == e->shstrndx)
			continue;
		if ((err = section_name(e, i, &name)) != 0)
			return err;
		/*
		 * name is set: section_name() returned 0.  The analyzer does
		 * not inline the variadic dfui_img_fail() and so misses that it
		 * never returns 0 (.clang-tidy).
		 * NOLINTBEGIN(clang-analyzer-core.CallAndMessage)
		 */
		if (flt != NULL && flt->nonly > 0 &&
		    !listed(name, flt->only, flt->nonly))
			continue;
		if (flt != NULL && listed(name, flt->remove, flt->nremove))
			continue;
		if (!in_file(e, s->offset, s->size))
			return dfui_img_fail(e->img, DFU_ERR_FORMAT, "section %s: "
			    "contents at offset 0x%llx, size 0x%llx, run past "
			    "the end of the file (%llu bytes)", name,
			    (unsigned long long)s->offset,
			    (unsigned long long)s->size,
			    (unsigned long long)e->fsize);
		if ((origin = dfui_img_strf(e->img, "section %s", name)) == NULL)
			return dfui_img_fail(e->img, DFU_ERR_NOMEM, "out of memory");
		/* NOLINTEND(clang-analyzer-core.CallAndMessage) */
		if ((err = add_piece(e, b, origin, section_lma(e, s),
		    s->offset, s->size)) != 0)
			return err;
	}
	return 0;
}

/* Without section headers: the PT_LOAD segments, less the ELF headers. */
static int
load_segments(struct elf *e, struct dfui_img_batch *b)
{
	uint64_t hdr_end = e->is64 ? 64 : 52;
	int err;

	if (e->ehsize > hdr_end)
		hdr_end = e->ehsize;
	if (e->phoff != 0 && e->phoff + e->phnum * e->phentsize > hdr_end)
		hdr_end = e->phoff + e->phnum * e->phentsize;
	for (uint64_t i = 0; i < e->phnum && e->ph != NULL; i++) {
		const struct elf_phdr *p = &e->ph[i];
		uint64_t skip = 0;
		const char *origin;

		if (p->type != PT_LOAD || p->filesz == 0)
			continue;
		if (p->offset < hdr_end)
			skip = hdr_end - p->offset;
		if (skip >= p->filesz)
			continue;
		if ((origin = dfui_img_strf(e->img, "segment %llu",
		    (unsigned long long)i)) == NULL)
			return dfui_img_fail(e->img, DFU_ERR_NOMEM, "out of memory");
		if ((err = add_piece(e, b, origin, p->paddr + skip,
		    p->offset + skip, p->filesz - skip)) != 0)
			return err;
	}
	return 0;
}

int
dfu_image_load_elf(struct dfu_image *img, int fd,
    const struct dfu_elf_filter *filter)
{
	struct elf e = { 0 };
	struct dfui_img_batch b = { 0 };
	struct stat st;
	off_t end;
	int err;

	if (img == NULL || fd < 0)
		return DFU_ERR_INVALID;
	dfui_img_clear_error(img);
	e.img = img;
	e.fd = fd;
	if (fstat(fd, &st) != 0)
		return dfui_img_fail_errno(img, errno, "fstat");
	if (S_ISREG(st.st_mode))
		e.fsize = (uint64_t)st.st_size;
	else if ((end = lseek(fd, 0, SEEK_END)) >= 0)
		e.fsize = (uint64_t)end;
	else
		return dfui_img_fail(img, DFU_ERR_INVALID, "an ELF file must be "
		    "seekable");
	if ((err = read_header(&e)) != 0 || (err = read_sections(&e)) != 0 ||
	    (err = read_segments(&e)) != 0)
		goto out;
	if (e.sh != NULL)
		err = load_sections(&e, filter, &b);
	else if (filter != NULL && (filter->nonly > 0 || filter->nremove > 0))
		err = dfui_img_fail(img, DFU_ERR_INVALID, "no section headers: "
		    "sections cannot be selected or removed");
	else
		err = load_segments(&e, &b);
	if (err != 0)
		goto out;
	if (b.n == 0) {
		err = dfui_img_fail(img, DFU_ERR_FORMAT, "nothing to load: %s",
		    e.sh == NULL ? "no PT_LOAD segment with contents" :
		    filter != NULL && (filter->nonly > 0 ||
		    filter->nremove > 0) ? "no allocated section with "
		    "contents is selected" : "no allocated section with "
		    "contents");
		goto out;
	}
	if ((err = dfui_img_commit(img, &b)) != 0)
		goto out;
	if (e.entry < ADDRESS_SPACE)
		dfui_img_set_entry(img, (uint32_t)e.entry);
out:
	dfui_img_batch_free(&b);
	free(e.ph);
	free(e.sh);
	free(e.strtab);
	return err;
}
