/*
 * file.c - the dfu_file handle: life cycle, accessors, building.
 */
#include <stdlib.h>
#include <string.h>

#include "dfufile_private.h"

struct dfu_file *
dfu_file_new(void)
{
	struct dfu_file *f = calloc(1, sizeof(*f));

	if (f != NULL)
		f->in.fd = -1;
	return f;
}

static void
source_free(struct dfui_source *src)
{
	if (src->kind == DFUI_SRC_MEM)
		free(src->mem);
	memset(src, 0, sizeof(*src));
}

void
dfui_file_reset(struct dfu_file *f)
{
	unsigned t, e;

	for (t = 0; t < f->ntargets; t++) {
		for (e = 0; e < f->targets[t].nelems; e++) {
			source_free(&f->targets[t].elems[e].src);
			free(f->targets[t].elems[e].fills);
		}
		free(f->targets[t].elems);
	}
	free(f->targets);
	source_free(&f->payload);
	dfui_diag_clear(f);
	memset(f, 0, sizeof(*f));
	f->in.fd = -1;
}

void
dfu_file_free(struct dfu_file *f)
{
	if (f == NULL)
		return;
	dfui_file_reset(f);
	free(f);
}

struct dfui_target *
dfui_target_append(struct dfu_file *f)
{
	struct dfui_target *t;

	if (f->ntargets >= DFUSE_MAX_TARGETS)
		return NULL;
	/* At most 255 targets: grow one at a time, the array stays small. */
	t = realloc(f->targets, (f->ntargets + 1) * sizeof(*t));
	if (t == NULL)
		return NULL;
	f->targets = t;
	t = &f->targets[f->ntargets++];
	memset(t, 0, sizeof(*t));
	return t;
}

struct dfui_element *
dfui_element_append(struct dfu_file *f, struct dfui_target *t)
{
	struct dfui_element *e;

	if (f->nelements >= DFU_MAX_ELEMENTS)
		return NULL;
	if (t->nelems == t->cap) {
		unsigned cap = t->cap ? t->cap * 2 : 4;

		e = realloc(t->elems, cap * sizeof(*e));
		if (e == NULL)
			return NULL;
		t->elems = e;
		t->cap = cap;
	}
	e = &t->elems[t->nelems++];
	memset(e, 0, sizeof(*e));
	f->nelements++;
	return e;
}

enum dfu_format
dfu_file_format(const struct dfu_file *f)
{
	return f->format;
}

uint64_t
dfu_file_size(const struct dfu_file *f)
{
	return f->has_input ? f->in.size : 0;
}

const struct dfu_suffix *
dfu_file_suffix(const struct dfu_file *f)
{
	return f->has_suffix ? &f->suffix : NULL;
}

uint32_t
dfu_file_crc(const struct dfu_file *f)
{
	return f->crc;
}

const struct dfuse_prefix *
dfu_file_dfuse_prefix(const struct dfu_file *f)
{
	return f->has_dfuse_prefix ? &f->dfuse : NULL;
}

const struct dfu_vendor_prefix *
dfu_file_vendor_prefix(const struct dfu_file *f)
{
	return f->has_vendor_prefix ? &f->vendor : NULL;
}

unsigned
dfu_file_target_count(const struct dfu_file *f)
{
	return f->ntargets;
}

const struct dfuse_target *
dfu_file_target(const struct dfu_file *f, unsigned target)
{
	return target < f->ntargets ? &f->targets[target].pub : NULL;
}

unsigned
dfu_file_element_count(const struct dfu_file *f, unsigned target)
{
	return target < f->ntargets ? f->targets[target].nelems : 0;
}

static struct dfui_element *
elem_at(const struct dfu_file *f, unsigned target, unsigned element)
{
	if (target >= f->ntargets || element >= f->targets[target].nelems)
		return NULL;
	return &f->targets[target].elems[element];
}

const struct dfu_element *
dfu_file_element(const struct dfu_file *f, unsigned target, unsigned element)
{
	struct dfui_element *e = elem_at(f, target, element);

	return e != NULL ? &e->pub : NULL;
}

static int
check_span(struct dfu_file *f, uint64_t size, uint64_t off, size_t len)
{
	if (off > size || len > size - off)
		return dfui_fail(f, DFU_ERR_INVALID,
		    "read of %zu bytes at %llu passes the end (%llu bytes)",
		    len, (unsigned long long)off, (unsigned long long)size);
	return 0;
}

int
dfui_element_read(struct dfu_file *f, const struct dfui_element *e,
    uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;
	uint64_t n;
	unsigned i;
	int rc;

	if ((rc = check_span(f, e->pub.size, off, len)) != 0)
		return rc;
	if (off < e->src.size) {
		n = e->src.size - off;
		if (n > len)
			n = len;
		if ((rc = dfui_source_read(f, &e->src, off, p, (size_t)n)) != 0)
			return rc;
		p += n;
		off += n;
		len -= (size_t)n;
	}
	/* The rest is padding: the runs follow each other in order. */
	for (i = 0; i < e->nfills && len > 0; i++) {
		if (off < e->fills[i].end) {
			n = e->fills[i].end - off;
			if (n > len)
				n = len;
			memset(p, e->fills[i].byte, (size_t)n);
			p += n;
			off += n;
			len -= (size_t)n;
		}
	}
	/* Only an element cut short by the end of its file gets here. */
	if (len > 0)
		return dfui_fail(f, DFU_ERR_FORMAT, "element at 0x%08x is "
		    "truncated: its bytes from offset %llu are missing from the "
		    "file", e->pub.address, (unsigned long long)off);
	return 0;
}

int
dfu_file_element_read(struct dfu_file *f, unsigned target, unsigned element,
    uint64_t off, void *buf, size_t len)
{
	struct dfui_element *e = elem_at(f, target, element);

	dfui_clear_error(f);
	if (e == NULL)
		return dfui_fail(f, DFU_ERR_INVALID, "no element %u in target %u",
		    element, target);
	return dfui_element_read(f, e, off, buf, len);
}

uint64_t
dfu_file_payload_size(const struct dfu_file *f)
{
	return f->format == DFU_FORMAT_PLAIN ? f->payload.size : 0;
}

int
dfu_file_payload_read(struct dfu_file *f, uint64_t off, void *buf, size_t len)
{
	int rc;

	dfui_clear_error(f);
	if (f->format != DFU_FORMAT_PLAIN)
		return dfui_fail(f, DFU_ERR_INVALID, "not a plain DFU file");
	if ((rc = check_span(f, f->payload.size, off, len)) != 0)
		return rc;
	return dfui_source_read(f, &f->payload, off, buf, len);
}

int
dfu_file_vendor_prefix_read(struct dfu_file *f, void *buf, size_t len)
{
	struct dfui_source src;

	dfui_clear_error(f);
	if (f->format != DFU_FORMAT_PLAIN || !f->has_vendor_prefix)
		return dfui_fail(f, DFU_ERR_INVALID, "no vendor prefix");
	if (len != f->vendor.size)
		return dfui_fail(f, DFU_ERR_INVALID, "the vendor prefix is %u "
		    "bytes, not %zu", f->vendor.size, len);
	/* The prefix is what the input holds just before the payload. */
	src = f->payload;
	src.offset -= f->vendor.size;
	src.size = f->vendor.size;
	return dfui_source_read(f, &src, 0, buf, len);
}

/* ---- building ---- */

int
dfu_file_init(struct dfu_file *f, enum dfu_format format)
{
	if (format != DFU_FORMAT_PLAIN && format != DFU_FORMAT_DFUSE) {
		dfui_clear_error(f);
		return dfui_fail(f, DFU_ERR_INVALID, "unknown format %d",
		    (int)format);
	}
	dfui_file_reset(f);
	f->format = format;
	f->has_suffix = 1;
	f->suffix.bcdDevice = DFU_ID_ANY;
	f->suffix.idProduct = DFU_ID_ANY;
	f->suffix.idVendor = DFU_ID_ANY;
	f->suffix.bcdDFU =
	    format == DFU_FORMAT_DFUSE ? DFU_BCD_DFUSE : DFU_BCD_DFU_1_0;
	memcpy(f->suffix.ucDfuSignature, "UFD", 3);
	f->suffix.bLength = DFU_SUFFIX_SIZE;
	return 0;
}

static int
check_building(struct dfu_file *f, enum dfu_format want)
{
	dfui_clear_error(f);
	if (f->format == DFU_FORMAT_UNKNOWN)
		return dfui_fail(f, DFU_ERR_INVALID,
		    "call dfu_file_init() or read a file before building");
	if (want != DFU_FORMAT_UNKNOWN && f->format != want)
		return dfui_fail(f, DFU_ERR_INVALID, "only for %s files",
		    want == DFU_FORMAT_DFUSE ? "DfuSe" : "plain DFU");
	return 0;
}

int
dfu_file_set_ids(struct dfu_file *f, uint16_t idVendor, uint16_t idProduct,
    uint16_t bcdDevice)
{
	dfui_clear_error(f);
	if (f->format == DFU_FORMAT_UNKNOWN || !f->has_suffix)
		return dfui_fail(f, DFU_ERR_INVALID, "the file has no suffix");
	f->suffix.idVendor = idVendor;
	f->suffix.idProduct = idProduct;
	f->suffix.bcdDevice = bcdDevice;
	return 0;
}

int
dfu_file_set_bcd_dfu(struct dfu_file *f, uint16_t bcdDFU)
{
	dfui_clear_error(f);
	if (f->format == DFU_FORMAT_UNKNOWN || !f->has_suffix)
		return dfui_fail(f, DFU_ERR_INVALID, "the file has no suffix");
	f->suffix.bcdDFU = bcdDFU;
	return 0;
}

int
dfu_file_set_suffix_extension(struct dfu_file *f, const void *data,
    size_t size)
{
	dfui_clear_error(f);
	if (f->format == DFU_FORMAT_UNKNOWN || !f->has_suffix)
		return dfui_fail(f, DFU_ERR_INVALID, "the file has no suffix");
	if (size > sizeof(f->suffix_ext))
		return dfui_fail(f, DFU_ERR_RANGE, "a suffix extension of %zu "
		    "bytes: bLength holds at most %zu", size,
		    sizeof(f->suffix_ext));
	if (size > 0)
		memcpy(f->suffix_ext, data, size);
	f->suffix_ext_size = size;
	f->suffix.bLength = (uint8_t)(DFU_SUFFIX_SIZE + size);
	return 0;
}

int
dfu_file_add_target(struct dfu_file *f, uint8_t alt, const char *name)
{
	struct dfui_target *t;
	int rc;

	if ((rc = check_building(f, DFU_FORMAT_DFUSE)) != 0)
		return rc;
	if (name != NULL && strlen(name) > DFUSE_TARGET_NAME_SIZE - 1)
		return dfui_fail(f, DFU_ERR_INVALID,
		    "target name is %zu bytes, more than %d",
		    strlen(name), DFUSE_TARGET_NAME_SIZE - 1);
	if (f->ntargets >= DFUSE_MAX_TARGETS)
		return dfui_fail(f, DFU_ERR_RANGE,
		    "a DfuSe file holds at most %d targets", DFUSE_MAX_TARGETS);
	t = dfui_target_append(f);
	if (t == NULL)
		return dfui_fail(f, DFU_ERR_NOMEM, "out of memory");
	t->pub.bAlternateSetting = alt;
	t->named = name != NULL;
	t->pub.bTargetNamed = name != NULL;
	if (name != NULL)
		memcpy(t->pub.szTargetName, name, strlen(name));
	return (int)(f->ntargets - 1);
}

/*
 * DFU_ERR_RANGE unless [address, address+size) fits and overlaps nothing
 * in target t other than its element `skip`, nor anything in another
 * target of the same alternate setting: the device receives those into one
 * memory, and two elements for one address would be a conflict that
 * dfuinfo and dfuflash refuse (dfuplan.h).
 */
static int
check_range(struct dfu_file *f, const struct dfui_target *t,
    uint32_t address, uint64_t size, unsigned skip)
{
	if ((uint64_t)address + size > UINT64_C(0x100000000))
		return dfui_fail(f, DFU_ERR_RANGE,
		    "0x%08x + 0x%llx bytes passes the 4 GiB address space",
		    address, (unsigned long long)size);
	if (size == 0)
		return 0;
	for (unsigned ti = 0; ti < f->ntargets; ti++) {
		const struct dfui_target *ot = &f->targets[ti];

		if (ot != t && ot->pub.bAlternateSetting !=
		    t->pub.bAlternateSetting)
			continue;
		/* Elements added in address order (hex2dfu's ranges, a
		 * join) are checked in O(1) each, not against them all. */
		if (address >= ot->end)
			continue;
		for (unsigned i = 0; i < ot->nelems; i++) {
			const struct dfu_element *o = &ot->elems[i].pub;

			if ((ot == t && i == skip) || o->size == 0)
				continue;
			if (address < (uint64_t)o->address + o->size &&
			    o->address < (uint64_t)address + size)
				return dfui_fail(f, DFU_ERR_RANGE,
				    "0x%08x-0x%08llx overlaps element %u "
				    "(0x%08x-0x%08llx) of target %u%s",
				    address,
				    (unsigned long long)(address + size - 1),
				    i, o->address,
				    (unsigned long long)((uint64_t)o->address +
				    o->size - 1), ti, ot == t ? "" :
				    ", which is for the same alternate setting");
		}
	}
	return 0;
}

static int
add_element(struct dfu_file *f, unsigned target, uint32_t address,
    const struct dfui_source *src)
{
	struct dfui_target *t;
	struct dfui_element *e;
	int rc;

	if ((rc = check_building(f, DFU_FORMAT_DFUSE)) != 0)
		return rc;
	if (target >= f->ntargets)
		return dfui_fail(f, DFU_ERR_INVALID, "no target %u", target);
	t = &f->targets[target];
	if ((rc = check_range(f, t, address, src->size, UINT32_MAX)) != 0)
		return rc;
	if (f->nelements >= DFU_MAX_ELEMENTS)
		return dfui_fail(f, DFU_ERR_RANGE,
		    "more than %d elements in one file", DFU_MAX_ELEMENTS);
	e = dfui_element_append(f, t);
	if (e == NULL)
		return dfui_fail(f, DFU_ERR_NOMEM, "out of memory");
	e->pub.address = address;
	e->pub.size = (uint32_t)src->size;
	e->src = *src;
	dfui_target_note_range(t, address, src->size);
	return (int)(t->nelems - 1);
}

int
dfu_file_add_element_mem(struct dfu_file *f, unsigned target,
    uint32_t address, const void *data, uint32_t size)
{
	struct dfui_source src = { .kind = DFUI_SRC_MEM, .size = size };
	int rc;

	if (size > 0 && data == NULL) {
		dfui_clear_error(f);
		return dfui_fail(f, DFU_ERR_INVALID, "data is NULL");
	}
	if (size > 0) {
		src.mem = malloc(size);
		if (src.mem == NULL) {
			dfui_clear_error(f);
			return dfui_fail(f, DFU_ERR_NOMEM, "out of memory");
		}
		memcpy(src.mem, data, size);
	}
	rc = add_element(f, target, address, &src);
	if (rc < 0)
		free(src.mem);
	/* On rc >= 0 the element owns src.mem.  The analyzer thinks a
	 * failed add_element() may return 0, as it does not inline the
	 * variadic dfui_fail() (.clang-tidy).
	 * NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
	return rc;
}

int
dfu_file_add_element_fd(struct dfu_file *f, unsigned target,
    uint32_t address, int fd, uint64_t offset, uint32_t size)
{
	struct dfui_source src = {
		.kind = DFUI_SRC_FD, .fd = fd, .offset = offset, .size = size,
	};

	if (fd < 0 && size > 0) {
		dfui_clear_error(f);
		return dfui_fail(f, DFU_ERR_INVALID, "bad file descriptor");
	}
	return add_element(f, target, address, &src);
}

int
dfu_file_add_element_cb(struct dfu_file *f, unsigned target,
    uint32_t address, dfu_read_fn read, void *arg, uint32_t size)
{
	struct dfui_source src = {
		.kind = DFUI_SRC_CB, .read = read, .arg = arg, .size = size,
	};

	if (read == NULL && size > 0) {
		dfui_clear_error(f);
		return dfui_fail(f, DFU_ERR_INVALID, "no read function");
	}
	return add_element(f, target, address, &src);
}

int
dfu_file_pad_elements(struct dfu_file *f, uint32_t multiple, uint8_t fill)
{
	unsigned t, e;
	int rc;

	if ((rc = check_building(f, DFU_FORMAT_DFUSE)) != 0)
		return rc;
	if (multiple <= 1)
		return 0;
	/* Check every new size first, so that a failure changes nothing. */
	for (t = 0; t < f->ntargets; t++) {
		struct dfui_target *tg = &f->targets[t];

		for (e = 0; e < tg->nelems; e++) {
			struct dfu_element *el = &tg->elems[e].pub;
			uint64_t sz = ((uint64_t)el->size + multiple - 1) /
			    multiple * multiple;

			if ((rc = check_range(f, tg, el->address, sz, e)) != 0) {
				char why[sizeof(f->errmsg)];

				memcpy(why, f->errmsg, sizeof(why));
				return dfui_fail(f, rc,
				    "padding element %u of target %u to %llu bytes: %s",
				    e, t, (unsigned long long)sz, why);
			}
		}
	}
	/* Then make room for one more padding run in each element. */
	for (t = 0; t < f->ntargets; t++)
		for (e = 0; e < f->targets[t].nelems; e++) {
			struct dfui_element *el = &f->targets[t].elems[e];
			struct dfui_fill *runs;

			if (el->pub.size % multiple == 0)
				continue;
			runs = realloc(el->fills,
			    (el->nfills + 1) * sizeof(*runs));
			if (runs == NULL)
				return dfui_fail(f, DFU_ERR_NOMEM, "out of memory");
			el->fills = runs;
		}
	for (t = 0; t < f->ntargets; t++)
		for (e = 0; e < f->targets[t].nelems; e++) {
			struct dfui_element *el = &f->targets[t].elems[e];

			if (el->pub.size % multiple == 0)
				continue;
			el->pub.size = (uint32_t)(((uint64_t)el->pub.size +
			    multiple - 1) / multiple * multiple);
			el->fills[el->nfills].end = el->pub.size;
			el->fills[el->nfills].byte = fill;
			el->nfills++;
			dfui_target_note_range(&f->targets[t],
			    el->pub.address, el->pub.size);
		}
	return 0;
}

static int
set_payload(struct dfu_file *f, const struct dfui_source *src)
{
	int rc;

	if ((rc = check_building(f, DFU_FORMAT_PLAIN)) != 0)
		return rc;
	source_free(&f->payload);
	f->payload = *src;
	return 0;
}

int
dfu_file_set_payload_mem(struct dfu_file *f, const void *data, size_t size)
{
	struct dfui_source src = { .kind = DFUI_SRC_MEM, .size = size };
	int rc;

	dfui_clear_error(f);
	if (size > 0 && data == NULL)
		return dfui_fail(f, DFU_ERR_INVALID, "data is NULL");
	if (size > 0) {
		src.mem = malloc(size);
		if (src.mem == NULL)
			return dfui_fail(f, DFU_ERR_NOMEM, "out of memory");
		memcpy(src.mem, data, size);
	}
	rc = set_payload(f, &src);
	if (rc != 0)
		free(src.mem);
	return rc;
}

int
dfu_file_set_payload_fd(struct dfu_file *f, int fd, uint64_t offset,
    uint64_t size)
{
	struct dfui_source src = {
		.kind = DFUI_SRC_FD, .fd = fd, .offset = offset, .size = size,
	};

	dfui_clear_error(f);
	if (fd < 0 && size > 0)
		return dfui_fail(f, DFU_ERR_INVALID, "bad file descriptor");
	return set_payload(f, &src);
}

int
dfu_file_set_payload_cb(struct dfu_file *f, dfu_read_fn read, void *arg,
    uint64_t size)
{
	struct dfui_source src = {
		.kind = DFUI_SRC_CB, .read = read, .arg = arg, .size = size,
	};

	dfui_clear_error(f);
	if (read == NULL && size > 0)
		return dfui_fail(f, DFU_ERR_INVALID, "no read function");
	return set_payload(f, &src);
}
