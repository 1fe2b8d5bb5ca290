/*
 * dfuse.c - walking an ST DfuSe image (UM0391) and checking every
 * declared size against the bytes that are there.
 *
 * Layout (little-endian):
 *   prefix, 11 bytes:  "DfuSe" bVersion(1) DFUImageSize(4) bTargets(1)
 *   target, 274 bytes: "Target" bAlternateSetting(1) bTargetNamed(4)
 *                      szTargetName(255) dwTargetSize(4) dwNbElements(4)
 *   element:           dwElementAddress(4) dwElementSize(4) data
 * The walk follows the elements, as dfu-util does, and reports every
 * declared size that disagrees with them.
 */
#include <stdlib.h>
#include <string.h>

#include "dfufile_private.h"

/* Offsets inside a target prefix. */
#define T_ALT 6
#define T_NAMED 7
#define T_NAME 11
#define T_SIZE 266
#define T_NELEMS 270

static int
check_prefix(struct dfu_file *f, uint64_t end)
{
	uint8_t p[DFUSE_PREFIX_SIZE];
	uint64_t size = f->in.size;
	int rc;

	if (end < DFUSE_PREFIX_SIZE)
		return dfui_diag_add(f, DFU_ERROR, "truncated", 0, "DfuSe prefix",
		    "the DfuSe prefix needs 11 bytes, the image has %llu",
		    (unsigned long long)end);
	if ((rc = dfui_input_read(f, 0, p, sizeof(p))) != 0)
		return rc;
	memcpy(f->dfuse.szSignature, p, 5);
	f->dfuse.bVersion = p[5];
	f->dfuse.DFUImageSize = dfui_le32(p + 6);
	f->dfuse.bTargets = p[10];
	f->has_dfuse_prefix = 1;

	if (f->dfuse.bVersion != 1 &&
	    (rc = dfui_diag_add(f, DFU_ERROR, "dfuse-version", 5, "bVersion",
	    "bVersion is %u; UM0391 defines only version 1",
	    f->dfuse.bVersion)) != 0)
		return rc;
	if (!f->has_suffix) {
		/* no-suffix is already reported; only a size that fits
		 * neither reading of the damaged suffix is news. */
		if (f->dfuse.DFUImageSize != size &&
		    f->dfuse.DFUImageSize != end - DFU_SUFFIX_SIZE)
			rc = dfui_diag_add(f, DFU_ERROR, "image-size", 6,
			    "DFUImageSize", "DFUImageSize is %u, but the file "
			    "is %llu bytes%s", f->dfuse.DFUImageSize,
			    (unsigned long long)size,
			    f->dfuse.DFUImageSize > size ? ": it looks cut "
			    "short" : "");
	} else if (f->dfuse.DFUImageSize == end)
		rc = dfui_diag_add(f, DFU_NOTE, "image-size-excludes-suffix", 6,
		    "DFUImageSize", "DFUImageSize %u is the file size without "
		    "the suffix, as dfu.py, elf2dfuse, hex2dfu and fwupd write "
		    "it (fwupd and mboot require this form)",
		    f->dfuse.DFUImageSize);
	else if (f->dfuse.DFUImageSize == size)
		rc = dfui_diag_add(f, DFU_NOTE, "image-size-includes-suffix", 6,
		    "DFUImageSize", "DFUImageSize %u is the file size with the "
		    "suffix, as dfuse-pack 0.10 and later write it (fwupd and "
		    "mboot refuse this form)", f->dfuse.DFUImageSize);
	else
		rc = dfui_diag_add(f, DFU_ERROR, "image-size", 6, "DFUImageSize",
		    "DFUImageSize is %u, but the image is %llu bytes (%llu "
		    "with the suffix)%s", f->dfuse.DFUImageSize,
		    (unsigned long long)end, (unsigned long long)size,
		    f->dfuse.DFUImageSize > size ? ": more than the file "
		    "holds" : "");
	if (rc != 0)
		return rc;
	if (f->dfuse.bTargets == 0)
		return dfui_diag_add(f, DFU_ERROR, "no-targets", 10, "bTargets",
		    "bTargets is 0: the file holds no image");
	return 0;
}

/* The name field: NUL-terminated, maybe junk after the NUL. */
static int
check_name(struct dfu_file *f, struct dfui_target *t, unsigned index,
    const uint8_t *p, uint64_t pos)
{
	const uint8_t *name = p + T_NAME;
	const uint8_t *nul = memchr(name, 0, DFUSE_TARGET_NAME_SIZE);
	size_t len, junk = 0, i;
	int rc;

	len = nul != NULL ? (size_t)(nul - name) : DFUSE_TARGET_NAME_SIZE;
	memcpy(t->pub.szTargetName, name, len);
	t->pub.szTargetName[len] = '\0';
	if (nul == NULL)
		return dfui_diag_add(f, DFU_ERROR, "target-name-unterminated",
		    pos + T_NAME, "szTargetName", "target %u: szTargetName "
		    "has no terminating NUL in its 255 bytes", index);
	for (i = len + 1; i < DFUSE_TARGET_NAME_SIZE; i++)
		junk += name[i] != 0;
	if (junk > 0 && (rc = dfui_diag_add(f, DFU_NOTE, "target-name-junk",
	    pos + T_NAME + len + 1, "szTargetName", "target %u: %zu non-zero "
	    "bytes after the NUL that ends the name (ignored)", index,
	    junk)) != 0)
		return rc;
	if (t->pub.bTargetNamed > 1)
		return dfui_diag_add(f, DFU_NOTE, "target-named", pos + T_NAMED,
		    "bTargetNamed", "target %u: bTargetNamed is %u, expected "
		    "0 or 1 (taken as named)", index, t->pub.bTargetNamed);
	if (t->pub.bTargetNamed == 0 && len > 0)
		return dfui_diag_add(f, DFU_NOTE, "target-named", pos + T_NAMED,
		    "bTargetNamed", "target %u: bTargetNamed is 0 but "
		    "szTargetName holds a %zu-byte name", index, len);
	return 0;
}

static int
elem_cmp(const void *a, const void *b)
{
	const struct dfui_element *const *x = a, *const *y = b;

	if ((*x)->pub.address != (*y)->pub.address)
		return (*x)->pub.address < (*y)->pub.address ? -1 : 1;
	return *x < *y ? -1 : *x > *y;
}

/* Elements of one target must not overlap (empty ones cannot). */
static int
check_overlaps(struct dfu_file *f, struct dfui_target *t, unsigned index)
{
	struct dfui_element **v, *last = NULL;
	uint64_t last_end = 0;
	unsigned i;
	int rc = 0;

	if (t->nelems < 2)
		return 0;
	/* An array of pointers (.clang-tidy: sizeof-expression).
	 * NOLINTNEXTLINE(bugprone-sizeof-expression) */
	v = malloc(t->nelems * sizeof(*v));
	if (v == NULL)
		return dfui_fail(f, DFU_ERR_NOMEM, "out of memory");
	for (i = 0; i < t->nelems; i++)
		v[i] = &t->elems[i];
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): as above */
	qsort(v, t->nelems, sizeof(*v), elem_cmp);
	for (i = 0; i < t->nelems && rc == 0; i++) {
		struct dfui_element *e = v[i];
		uint64_t e_end = (uint64_t)e->pub.address + e->pub.size;

		if (e->pub.size == 0)
			continue;
		if (last != NULL && e->pub.address < last_end) {
			/* Report it at the element that comes later in the file. */
			struct dfui_element *a = last < e ? last : e;
			struct dfui_element *b = last < e ? e : last;

			rc = dfui_diag_add(f, DFU_ERROR, "element-overlap",
			    b->pub.offset - DFUSE_ELEMENT_HEADER_SIZE,
			    "dwElementAddress", "target %u: element %u "
			    "(0x%08x-0x%08llx) overlaps element %u "
			    "(0x%08x-0x%08llx)", index,
			    (unsigned)(b - t->elems), b->pub.address,
			    (unsigned long long)((uint64_t)b->pub.address +
			    b->pub.size - 1), (unsigned)(a - t->elems),
			    a->pub.address,
			    (unsigned long long)((uint64_t)a->pub.address +
			    a->pub.size - 1));
		}
		if (last == NULL || e_end > last_end) {
			last = e;
			last_end = e_end;
		}
	}
	free(v);
	return rc;
}

/* 1 if a target prefix's "Target" signature starts at pos. */
static int
next_is_target(struct dfu_file *f, uint64_t pos, uint64_t end)
{
	uint8_t sig[6];

	return end - pos >= sizeof(sig) &&
	    dfui_input_read(f, pos, sig, sizeof(sig)) == 0 &&
	    memcmp(sig, "Target", sizeof(sig)) == 0;
}

/*
 * Walk one target's elements.  Sets *stop when the structure can no
 * longer be followed; *pos is where the next target starts.
 */
static int
walk_elements(struct dfu_file *f, struct dfui_target *t, unsigned index,
    uint64_t *pos, uint64_t end, int *stop)
{
	uint64_t epos = *pos + DFUSE_TARGET_PREFIX_SIZE;
	uint64_t target_end = epos + t->pub.dwTargetSize;
	uint32_t n = t->pub.dwNbElements, i;
	int past_reported = 0, rc;
	uint8_t h[DFUSE_ELEMENT_HEADER_SIZE];

	if ((uint64_t)n * DFUSE_ELEMENT_HEADER_SIZE > end - epos) {
		*stop = 1;
		return dfui_diag_add(f, DFU_ERROR, "element-count",
		    *pos + T_NELEMS, "dwNbElements", "target %u: dwNbElements "
		    "%u needs at least %llu bytes of element headers, only "
		    "%llu remain", index, n,
		    (unsigned long long)n * DFUSE_ELEMENT_HEADER_SIZE,
		    (unsigned long long)(end - epos));
	}
	if (n > DFU_MAX_ELEMENTS - f->nelements) {
		*stop = 1;
		return dfui_diag_add(f, DFU_ERROR, "too-many-elements",
		    *pos + T_NELEMS, "dwNbElements", "target %u: dwNbElements "
		    "%u brings the file past %d elements, the limit of this "
		    "reader", index, n, DFU_MAX_ELEMENTS);
	}
	for (i = 0; i < n; i++) {
		struct dfui_element *e;
		uint32_t addr, size;
		uint64_t data = epos + DFUSE_ELEMENT_HEADER_SIZE;

		/* Elements that exactly fill dwTargetSize, more to come, and
		 * the image ends or the next target starts right there:
		 * dwNbElements is the field that is wrong (reading on would
		 * take the next target's prefix for an element). */
		if (i > 0 && epos == target_end && (end - epos <
		    DFUSE_ELEMENT_HEADER_SIZE || next_is_target(f, epos, end))) {
			rc = dfui_diag_add(f, DFU_ERROR, "element-count",
			    *pos + T_NELEMS, "dwNbElements", "target %u: "
			    "dwNbElements %u, but dwTargetSize %u ends after "
			    "%u element%s", index, n, t->pub.dwTargetSize, i,
			    i == 1 ? "" : "s");
			if (rc != 0)
				return rc;
			*pos = epos;
			return check_overlaps(f, t, index);
		}
		if (end - epos < DFUSE_ELEMENT_HEADER_SIZE) {
			*stop = 1;
			return dfui_diag_add(f, DFU_ERROR, "truncated", epos,
			    "dwElementAddress", "target %u, element %u: the "
			    "8-byte element header runs past the end of the "
			    "image (%llu bytes remain)", index, i,
			    (unsigned long long)(end - epos));
		}
		if ((rc = dfui_input_read(f, epos, h, sizeof(h))) != 0)
			return rc;
		addr = dfui_le32(h);
		size = dfui_le32(h + 4);
		if (size > end - data) {
			/* Keep what the header says, so that the element
			 * can be shown; its missing bytes cannot be read. */
			*stop = 1;
			rc = dfui_diag_add(f, DFU_ERROR, "truncated", epos + 4,
			    "dwElementSize", "target %u, element %u: "
			    "dwElementSize %u runs past the end of the image "
			    "(%llu bytes remain)", index, i, size,
			    (unsigned long long)(end - data));
			if (rc != 0)
				return rc;
			if ((e = dfui_element_append(f, t)) == NULL)
				return dfui_fail(f, DFU_ERR_NOMEM, "out of memory");
			e->pub.address = addr;
			e->pub.size = size;
			e->pub.offset = data;
			e->src.kind = DFUI_SRC_INPUT;
			e->src.offset = data;
			e->src.size = end - data;
			dfui_target_note_range(t, addr, size);
			return 0;
		}
		if (!past_reported && data + size > target_end) {
			past_reported = 1;
			rc = dfui_diag_add(f, DFU_ERROR, "element-past-target",
			    epos + 4, "dwElementSize", "target %u, element %u "
			    "ends at offset 0x%llx, past the end of its target "
			    "at 0x%llx (dwTargetSize %u)", index, i,
			    (unsigned long long)data + size,
			    (unsigned long long)target_end,
			    t->pub.dwTargetSize);
			if (rc != 0)
				return rc;
		}
		if ((uint64_t)addr + size > UINT64_C(0x100000000) &&
		    (rc = dfui_diag_add(f, DFU_ERROR, "address-overflow",
		    epos + 4, "dwElementSize", "target %u, element %u: "
		    "0x%08x + %u bytes passes the 4 GiB address space", index,
		    i, addr, size)) != 0)
			return rc;
		if (size == 0 && (rc = dfui_diag_add(f, DFU_NOTE,
		    "empty-element", epos + 4, "dwElementSize", "target %u, "
		    "element %u at 0x%08x is empty", index, i, addr)) != 0)
			return rc;
		e = dfui_element_append(f, t);
		if (e == NULL)
			return dfui_fail(f, DFU_ERR_NOMEM, "out of memory");
		e->pub.address = addr;
		e->pub.size = size;
		e->pub.offset = data;
		e->src.kind = DFUI_SRC_INPUT;
		e->src.offset = data;
		e->src.size = size;
		dfui_target_note_range(t, addr, size);
		epos = data + size;
	}
	if (epos < target_end && (rc = dfui_diag_add(f, DFU_ERROR,
	    "target-size", *pos + T_SIZE, "dwTargetSize", "target %u: "
	    "dwTargetSize %u, but its %u element%s take%s %llu bytes", index,
	    t->pub.dwTargetSize, n, n == 1 ? "" : "s", n == 1 ? "s" : "",
	    (unsigned long long)(epos - *pos - DFUSE_TARGET_PREFIX_SIZE))) != 0)
		return rc;
	*pos = epos;
	return check_overlaps(f, t, index);
}

int
dfui_dfuse_parse(struct dfu_file *f, uint64_t end)
{
	uint8_t p[DFUSE_TARGET_PREFIX_SIZE];
	uint64_t pos = DFUSE_PREFIX_SIZE;
	unsigned i, j;
	int stop = 0, rc;

	if ((rc = check_prefix(f, end)) != 0 || !f->has_dfuse_prefix)
		return rc;
	/* Without a suffix, a DFUImageSize that leaves 16 bytes at the end
	 * says where the damaged suffix is: walk the image before it rather
	 * than report those bytes as leftover. */
	if (!f->has_suffix && end >= DFUSE_PREFIX_SIZE + DFU_SUFFIX_SIZE &&
	    f->dfuse.DFUImageSize == end - DFU_SUFFIX_SIZE)
		end -= DFU_SUFFIX_SIZE;
	for (i = 0; i < f->dfuse.bTargets && !stop; i++) {
		struct dfui_target *t;

		if (end - pos < DFUSE_TARGET_PREFIX_SIZE)
			return dfui_diag_add(f, DFU_ERROR, "truncated", pos,
			    "szSignature", "target %u of %u (bTargets): the 274-byte "
			    "target prefix runs past the end of the image "
			    "(%llu bytes remain)", i, f->dfuse.bTargets,
			    (unsigned long long)(end - pos));
		if ((rc = dfui_input_read(f, pos, p, sizeof(p))) != 0)
			return rc;
		if (memcmp(p, "Target", 6) != 0)
			return dfui_diag_add(f, DFU_ERROR, "target-signature", pos,
			    "szSignature", "target %u of %u: no \"Target\" "
			    "signature", i, f->dfuse.bTargets);
		t = dfui_target_append(f);
		if (t == NULL)
			return dfui_fail(f, DFU_ERR_NOMEM, "out of memory");
		t->pub.offset = pos;
		t->pub.bAlternateSetting = p[T_ALT];
		t->pub.bTargetNamed = dfui_le32(p + T_NAMED);
		t->pub.dwTargetSize = dfui_le32(p + T_SIZE);
		t->pub.dwNbElements = dfui_le32(p + T_NELEMS);
		t->named = t->pub.bTargetNamed != 0;
		if ((rc = check_name(f, t, i, p, pos)) != 0)
			return rc;
		for (j = 0; j < i; j++)
			if (f->targets[j].pub.bAlternateSetting ==
			    t->pub.bAlternateSetting)
				break;
		if (j < i && (rc = dfui_diag_add(f, DFU_NOTE, "duplicate-alt",
		    pos + T_ALT, "bAlternateSetting", "target %u has the same "
		    "bAlternateSetting %u as target %u", i,
		    t->pub.bAlternateSetting, j)) != 0)
			return rc;
		if ((rc = walk_elements(f, t, i, &pos, end, &stop)) != 0)
			return rc;
	}
	if (!stop && pos < end)
		return dfui_diag_add(f, DFU_ERROR, "leftover", pos, "DfuSe image",
		    "%llu bytes between the last target (bTargets %u) and "
		    "the suffix", (unsigned long long)(end - pos),
		    f->dfuse.bTargets);
	return 0;
}
