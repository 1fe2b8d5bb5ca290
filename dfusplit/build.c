/*
 * build.c - the modes that write one DFU file from others: extract and
 * edit (one input), merge (several), and the plain-file suffix
 * operations.
 *
 * Extract, edit and merge first make a plan: the targets and elements of
 * the output, each element pointing at its bytes in an input.  The edits
 * change the plan; then libdfufile writes it, streaming element data from
 * the inputs.  Only the union of two overlapping elements in a merge is
 * held in memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dfusplit.h"

#define CHUNK (256u << 10)

struct plan_element {
	uint32_t address;
	uint32_t size;
	size_t in;		/* input index */
	unsigned t, e;		/* target and element there */
	uint8_t *mem;		/* the union of a merge, or NULL */
};

struct plan_target {
	uint8_t alt;
	uint8_t orig_alt;	/* before --set-alt */
	int named;
	char name[DFUSE_TARGET_NAME_SIZE + 1];
	size_t in;		/* where the target first came from */
	unsigned t;
	int merged;		/* elements from more than one input */
	struct plan_element *els;
	size_t nels;
};

struct plan {
	struct plan_target *tgs;
	size_t ntgs;
	struct dfu_suffix suffix;
};

static void
plan_free(struct plan *p)
{
	size_t i, j;

	for (i = 0; i < p->ntgs; i++) {
		for (j = 0; j < p->tgs[i].nels; j++)
			free(p->tgs[i].els[j].mem);
		free(p->tgs[i].els);
	}
	free(p->tgs);
	memset(p, 0, sizeof(*p));
}

/* "a.dfu target 0 element 1 (0x08000000-0x080003ff)" */
static const char *
describe(const struct input *inputs, const struct plan_element *el)
{
	static char buf[2][512];
	static int k;

	k ^= 1;
	if (el->mem != NULL)
		snprintf(buf[k], sizeof(buf[k]), "merged bytes 0x%08" PRIx32
		    "-0x%08" PRIx64, el->address,
		    (uint64_t)el->address + el->size - 1);
	else
		snprintf(buf[k], sizeof(buf[k]), "%s target %u element %u "
		    "(0x%08" PRIx32 "-0x%08" PRIx64 ")", inputs[el->in].name,
		    el->t, el->e, el->address,
		    (uint64_t)el->address + el->size - (el->size > 0));
	return buf[k];
}

static int
element_bytes(const struct input *inputs, const struct plan_element *el,
    uint64_t off, uint8_t *buf, size_t n)
{
	if (el->mem != NULL) {
		memcpy(buf, el->mem + off, n);
		return 0;
	}
	if (dfu_file_element_read(inputs[el->in].f, el->t, el->e, off, buf,
	    n) != 0) {
		cli_error(inputs[el->in].name, "%s",
		    dfu_file_errmsg(inputs[el->in].f));
		return -1;
	}
	return 0;
}

static struct plan_target *
plan_add_target(struct plan *p, const struct input *in, size_t index,
    unsigned t)
{
	const struct dfuse_target *src = dfu_file_target(in->f, t);
	struct plan_target *pt;

	p->tgs = cli_grow(p->tgs, p->ntgs, sizeof(*p->tgs));
	pt = &p->tgs[p->ntgs++];
	memset(pt, 0, sizeof(*pt));
	pt->alt = pt->orig_alt = src->bAlternateSetting;
	pt->named = src->bTargetNamed != 0;
	if (pt->named)
		snprintf(pt->name, sizeof(pt->name), "%s", src->szTargetName);
	pt->in = index;
	pt->t = t;
	return pt;
}

static void
plan_add_element(struct plan_target *pt, const struct plan_element *el)
{
	pt->els = cli_grow(pt->els, pt->nels, sizeof(*pt->els));
	pt->els[pt->nels++] = *el;
}

/* Every element of target t of input `index`, as they are. */
static void
plan_copy_elements(struct plan_target *pt, const struct input *in,
    size_t index, unsigned t)
{
	unsigned e;

	for (e = 0; e < dfu_file_element_count(in->f, t); e++) {
		const struct dfu_element *src = dfu_file_element(in->f, t, e);
		struct plan_element el = {
			.address = src->address, .size = src->size,
			.in = index, .t = t, .e = e,
		};

		plan_add_element(pt, &el);
	}
}

static int
need_dfuse(const struct input *in, const char *what)
{
	if (dfu_file_format(in->f) == DFU_FORMAT_DFUSE)
		return 0;
	cli_error(in->name, "a plain DFU file has no targets: %s is for "
	    "DfuSe files", what);
	return -1;
}

/* -t and -n: keep the targets that match any of them. */
static int
plan_extract(const struct options *o, const struct input *in,
    struct plan *p)
{
	unsigned t, n = dfu_file_target_count(in->f);
	size_t i;
	int keep, rc = 0;

	for (i = 0; i < o->nalts; i++) {
		for (t = 0; t < n; t++)
			if (dfu_file_target(in->f, t)->bAlternateSetting ==
			    o->alts[i])
				break;
		if (t == n) {
			cli_error(in->name, "-t %s: no target has alternate "
			    "setting %u", o->alts_arg[i], o->alts[i]);
			rc = -1;
		}
	}
	for (i = 0; i < o->nnames; i++) {
		for (t = 0; t < n; t++)
			if (dfu_file_target(in->f, t)->bTargetNamed &&
			    strcmp(dfu_file_target(in->f, t)->szTargetName,
			    o->names[i]) == 0)
				break;
		if (t == n) {
			cli_error(in->name, "-n %s: no target has that name",
			    o->names[i]);
			rc = -1;
		}
	}
	if (rc != 0)
		return rc;
	for (t = 0; t < n; t++) {
		const struct dfuse_target *tg = dfu_file_target(in->f, t);

		keep = o->nalts == 0 && o->nnames == 0;
		for (i = 0; i < o->nalts && !keep; i++)
			keep = tg->bAlternateSetting == o->alts[i];
		for (i = 0; i < o->nnames && !keep; i++)
			keep = tg->bTargetNamed &&
			    strcmp(tg->szTargetName, o->names[i]) == 0;
		if (keep)
			plan_copy_elements(plan_add_target(p, in, 0, t), in, 0,
			    t);
	}
	return 0;
}

/* --set-name, --set-alt, --set-address, --set-vid/pid/bcddevice. */
static int
plan_edit(const struct options *o, const struct input *inputs,
    struct plan *p)
{
	size_t i, j, k, hits;
	const char *where = inputs[0].name;

	for (i = 0; i < o->nset_names; i++) {
		const struct edit_name *en = &o->set_names[i];

		for (j = 0, hits = 0; j < p->ntgs; j++) {
			if (p->tgs[j].orig_alt != en->alt)
				continue;
			hits++;
			p->tgs[j].named = en->name[0] != '\0';
			snprintf(p->tgs[j].name, sizeof(p->tgs[j].name), "%s",
			    en->name);
		}
		if (hits == 0) {
			cli_error(where, "--set-name %s: no target has "
			    "alternate setting %u", en->arg, en->alt);
			return -1;
		}
	}
	/* All --set-alt at once, from the alt settings as read, so that
	 * --set-alt 0:1 --set-alt 1:0 swaps two targets. */
	for (i = 0; i < o->nset_alts; i++) {
		const struct edit_alt *ea = &o->set_alts[i];

		for (j = 0, hits = 0; j < p->ntgs; j++)
			if (p->tgs[j].orig_alt == ea->from) {
				p->tgs[j].alt = ea->to;
				hits++;
			}
		if (hits == 0) {
			cli_error(where, "--set-alt %s: no target has "
			    "alternate setting %u", ea->arg, ea->from);
			return -1;
		}
	}
	for (j = 0; j < p->ntgs && o->nset_alts > 0 && !o->force; j++)
		for (k = j + 1; k < p->ntgs; k++)
			if (p->tgs[j].alt == p->tgs[k].alt &&
			    p->tgs[j].orig_alt != p->tgs[k].orig_alt) {
				cli_error(where, "--set-alt: two targets would "
				    "have alternate setting %u (--force "
				    "allows it)", p->tgs[j].alt);
				return -1;
			}
	for (i = 0; i < o->nset_addresses; i++) {
		const struct edit_address *ea = &o->set_addresses[i];
		struct plan_element *found = NULL;

		for (j = 0, hits = 0; j < p->ntgs; j++) {
			if (ea->has_alt && p->tgs[j].orig_alt != ea->alt)
				continue;
			for (k = 0; k < p->tgs[j].nels; k++)
				if (p->tgs[j].els[k].address == ea->from &&
				    p->tgs[j].els[k].size > 0) {
					found = &p->tgs[j].els[k];
					hits++;
				}
		}
		if (hits == 0) {
			cli_error(where, "--set-address %s: no element starts "
			    "at 0x%08" PRIx32 "%s", ea->arg, ea->from,
			    ea->has_alt ? " in that alternate setting" : "");
			return -1;
		}
		if (hits > 1) {
			cli_error(where, "--set-address %s: %zu elements start "
			    "at 0x%08" PRIx32 "; say which with alt/%s",
			    ea->arg, hits, ea->from, ea->arg);
			return -1;
		}
		found->address = ea->to;
	}
	if (o->set_vid)
		p->suffix.idVendor = o->vid;
	if (o->set_pid)
		p->suffix.idProduct = o->pid;
	if (o->set_bcd)
		p->suffix.bcdDevice = o->bcd;
	return 0;
}

static int
addr_cmp(const void *a, const void *b)
{
	const struct plan_element *x = a, *y = b;

	if (x->address != y->address)
		return x->address < y->address ? -1 : 1;
	return 0;
}

/* The plan as a DfuSe file, written to o->output or in place. */
static int
plan_write(const struct options *o, struct input *inputs, size_t ninputs,
    struct plan *p)
{
	struct dfu_file *f = dfu_file_new();
	size_t i, j;
	int t, rc = CLI_EXIT_FAIL;
	const char *path = o->in_place ? inputs[0].path : o->output;

	if (f == NULL || dfu_file_init(f, DFU_FORMAT_DFUSE) != 0)
		goto out;
	dfu_file_set_ids(f, p->suffix.idVendor, p->suffix.idProduct,
	    p->suffix.bcdDevice);
	dfu_file_set_bcd_dfu(f, p->suffix.bcdDFU);
	if (p->ntgs == 0) {
		cli_error(path, "no target left to write");
		goto out;
	}
	for (i = 0; i < p->ntgs; i++) {
		struct plan_target *pt = &p->tgs[i];

		if (pt->merged)
			qsort(pt->els, pt->nels, sizeof(*pt->els), addr_cmp);
		t = dfu_file_add_target(f, pt->alt, pt->named ? pt->name :
		    NULL);
		if (t < 0) {
			cli_error(path, "%s", dfu_file_errmsg(f));
			goto out;
		}
		for (j = 0; j < pt->nels; j++) {
			const struct plan_element *el = &pt->els[j];
			const struct dfu_element *src;
			int r;

			if (el->mem != NULL) {
				r = dfu_file_add_element_mem(f, (unsigned)t,
				    el->address, el->mem, el->size);
			} else {
				src = dfu_file_element(inputs[el->in].f, el->t,
				    el->e);
				r = dfu_file_add_element_fd(f, (unsigned)t,
				    el->address, inputs[el->in].fd,
				    src->offset, el->size);
			}
			if (r < 0) {
				cli_error(path, "%s: %s", describe(inputs, el),
				    dfu_file_errmsg(f));
				goto out;
			}
		}
	}
	rc = write_dfu(f, path, inputs, ninputs, write_flags(o));
out:
	dfu_file_free(f);
	return rc;
}

/* A plain file with new suffix fields; the payload (vendor prefix
 * included) is copied as it is. */
static int
edit_plain(const struct options *o, struct input *in)
{
	const struct dfu_vendor_prefix *vp = dfu_file_vendor_prefix(in->f);
	const struct dfu_suffix *s = dfu_file_suffix(in->f);
	uint64_t prefix = vp != NULL ? vp->size : 0;
	struct dfu_file *f = dfu_file_new();
	int rc = CLI_EXIT_FAIL;

	if (o->nalts > 0 || o->nnames > 0 || o->nset_names > 0 ||
	    o->nset_alts > 0 || o->nset_addresses > 0) {
		cli_error(in->name, "a plain DFU file has no targets or "
		    "addresses: only --set-vid, --set-pid and "
		    "--set-bcddevice apply");
		goto out;
	}
	if (f == NULL || dfu_file_init(f, DFU_FORMAT_PLAIN) != 0 ||
	    dfu_file_set_payload_fd(f, in->fd, 0, prefix +
	    dfu_file_payload_size(in->f)) != 0)
		goto out;
	dfu_file_set_bcd_dfu(f, s->bcdDFU);
	dfu_file_set_ids(f, o->set_vid ? o->vid : s->idVendor,
	    o->set_pid ? o->pid : s->idProduct,
	    o->set_bcd ? o->bcd : s->bcdDevice);
	rc = write_dfu(f, o->in_place ? in->path : o->output, in, 1,
	    write_flags(o));
out:
	dfu_file_free(f);
	return rc;
}

static void
warn_extended_suffix(const struct input *in)
{
	const struct dfu_suffix *s = dfu_file_suffix(in->f);

	if (s != NULL && s->bLength > DFU_SUFFIX_SIZE)
		cli_error(in->name, "warning: the %u bytes that extend its "
		    "suffix (bLength %u) are not kept", s->bLength -
		    DFU_SUFFIX_SIZE, s->bLength);
}

int
run_edit(const struct options *o)
{
	struct input in;
	struct plan p = { 0 };
	int rc = CLI_EXIT_FAIL;

	if (input_open(&in, o->files[0], o->ignore_crc) != 0)
		goto out;
	warn_extended_suffix(&in);
	if (dfu_file_format(in.f) == DFU_FORMAT_PLAIN) {
		rc = edit_plain(o, &in);
		goto out;
	}
	p.suffix = *dfu_file_suffix(in.f);
	if (plan_extract(o, &in, &p) != 0 || plan_edit(o, &in, &p) != 0)
		goto out;
	rc = plan_write(o, &in, 1, &p);
out:
	plan_free(&p);
	input_close(&in);
	return rc;
}

/*
 * Compare the bytes of a and b where they overlap.  0 if equal, 1 if not
 * (after the message), -1 on a read error.
 */
static int
compare_overlap(const struct input *inputs, const struct plan_element *a,
    const struct plan_element *b)
{
	uint64_t lo = a->address > b->address ? a->address : b->address;
	uint64_t hi_a = (uint64_t)a->address + a->size;
	uint64_t hi_b = (uint64_t)b->address + b->size;
	uint64_t hi = hi_a < hi_b ? hi_a : hi_b, pos;
	uint8_t *x = xcalloc(1, CHUNK), *y = xcalloc(1, CHUNK);
	size_t n, i;
	int rc = 0;

	for (pos = lo; pos < hi && rc == 0; pos += n) {
		n = hi - pos < CHUNK ? (size_t)(hi - pos) : CHUNK;
		if (element_bytes(inputs, a, pos - a->address, x, n) != 0 ||
		    element_bytes(inputs, b, pos - b->address, y, n) != 0) {
			rc = -1;
			break;
		}
		if (memcmp(x, y, n) == 0)
			continue;
		for (i = 0; x[i] == y[i]; i++)
			;
		cli_error(NULL, "%s and %s overlap with different bytes: at "
		    "0x%08" PRIx64 ", 0x%02x against 0x%02x",
		    describe(inputs, a), describe(inputs, b), pos + i, x[i],
		    y[i]);
		rc = 1;
	}
	free(x);
	free(y);
	return rc;
}

/* The union of two overlapping elements with equal bytes, in memory. */
static int
unite(const struct input *inputs, struct plan_element *cur,
    const struct plan_element *old)
{
	uint64_t lo = cur->address < old->address ? cur->address :
	    old->address;
	uint64_t hi_c = (uint64_t)cur->address + cur->size;
	uint64_t hi_o = (uint64_t)old->address + old->size;
	uint64_t hi = hi_c > hi_o ? hi_c : hi_o;
	uint8_t *mem = malloc((size_t)(hi - lo));

	if (mem == NULL) {
		cli_error(NULL, "out of memory");
		return -1;
	}
	if (element_bytes(inputs, old, 0, mem + (old->address - lo),
	    old->size) != 0 || element_bytes(inputs, cur, 0,
	    mem + (cur->address - lo), cur->size) != 0) {
		free(mem);
		return -1;
	}
	free(cur->mem);
	cur->mem = mem;
	cur->address = (uint32_t)lo;
	cur->size = (uint32_t)(hi - lo);
	return 0;
}

/* Drop element k of a target; the last one takes its place. */
static void
remove_element(struct plan_target *pt, size_t k)
{
	free(pt->els[k].mem);
	pt->nels--;
	if (k != pt->nels)
		pt->els[k] = pt->els[pt->nels];
	pt->els[pt->nels].mem = NULL;
}

static int
contains(const struct plan_element *a, const struct plan_element *b)
{
	return a->address <= b->address && (uint64_t)a->address + a->size >=
	    (uint64_t)b->address + b->size;
}

/* Add el to a target that already has elements from other inputs. */
static int
merge_element(const struct input *inputs, struct plan_target *pt,
    struct plan_element el)
{
	size_t k = 0;

	while (k < pt->nels) {
		struct plan_element *old = &pt->els[k];

		if (el.size == 0 || old->size == 0 ||
		    (uint64_t)el.address >= (uint64_t)old->address +
		    old->size || (uint64_t)old->address >= (uint64_t)el.address +
		    el.size) {
			k++;
			continue;
		}
		if (compare_overlap(inputs, old, &el) != 0) {
			free(el.mem);
			return -1;
		}
		/* Equal bytes: one element holds both. */
		if (contains(old, &el)) {
			free(el.mem);
			return 0;
		}
		if (!contains(&el, old) && unite(inputs, &el, old) != 0) {
			free(el.mem);
			return -1;
		}
		remove_element(pt, k);
		k = 0;	/* the grown element may reach others: look again */
	}
	plan_add_element(pt, &el);
	return 0;
}

static int
same_ids(const struct dfu_suffix *a, const struct dfu_suffix *b)
{
	return a->idVendor == b->idVendor && a->idProduct == b->idProduct &&
	    a->bcdDevice == b->bcdDevice;
}

int
run_merge(const struct options *o)
{
	size_t n = (size_t)o->nfiles, i, j;
	struct input *inputs = xcalloc(n, sizeof(*inputs));
	struct plan p = { 0 };
	int rc = CLI_EXIT_FAIL;
	unsigned t, e;

	for (i = 0; i < n; i++)
		inputs[i].fd = -1;
	for (i = 0; i < n; i++) {
		if (input_open(&inputs[i], o->files[i], o->ignore_crc) != 0 ||
		    need_dfuse(&inputs[i], "--merge") != 0)
			goto out;
		warn_extended_suffix(&inputs[i]);
		if (i > 0 && !o->force &&
		    !same_ids(dfu_file_suffix(inputs[0].f),
		    dfu_file_suffix(inputs[i].f))) {
			const struct dfu_suffix *a = dfu_file_suffix(inputs[0].f);
			const struct dfu_suffix *b = dfu_file_suffix(inputs[i].f);

			cli_error(NULL, "%s is for %04x:%04x bcdDevice %04x, %s "
			    "for %04x:%04x bcdDevice %04x (--force takes the "
			    "first file's)", inputs[0].name, a->idVendor,
			    a->idProduct, a->bcdDevice, inputs[i].name,
			    b->idVendor, b->idProduct, b->bcdDevice);
			goto out;
		}
	}
	p.suffix = *dfu_file_suffix(inputs[0].f);
	/* Targets in the order they first appear; one per alt setting. */
	for (i = 0; i < n; i++) {
		for (t = 0; t < dfu_file_target_count(inputs[i].f); t++) {
			const struct dfuse_target *tg =
			    dfu_file_target(inputs[i].f, t);
			struct plan_target *pt = NULL;

			for (j = 0; j < p.ntgs; j++)
				if (p.tgs[j].alt == tg->bAlternateSetting)
					pt = &p.tgs[j];
			if (pt == NULL || pt->in == i) {
				/* New, or a second target with this alt in
				 * the same file: kept as it is. */
				pt = plan_add_target(&p, &inputs[i], i, t);
				plan_copy_elements(pt, &inputs[i], i, t);
				continue;
			}
			if (tg->bTargetNamed && pt->named &&
			    strcmp(tg->szTargetName, pt->name) != 0 &&
			    !o->force) {
				cli_error(NULL, "alternate setting %u is named "
				    "\"%s\" in %s and \"%s\" in %s (--force "
				    "keeps the first name)", pt->alt, pt->name,
				    inputs[pt->in].name, tg->szTargetName,
				    inputs[i].name);
				goto out;
			}
			if (tg->bTargetNamed && !pt->named) {
				pt->named = 1;
				snprintf(pt->name, sizeof(pt->name), "%s",
				    tg->szTargetName);
			}
			pt->merged = 1;
			for (e = 0; e < dfu_file_element_count(inputs[i].f, t);
			    e++) {
				const struct dfu_element *src =
				    dfu_file_element(inputs[i].f, t, e);
				struct plan_element el = {
					.address = src->address,
					.size = src->size, .in = i, .t = t,
					.e = e,
				};

				if (merge_element(inputs, pt, el) != 0)
					goto out;
			}
		}
	}
	if (plan_edit(o, inputs, &p) != 0)
		goto out;
	rc = plan_write(o, inputs, n, &p);
out:
	plan_free(&p);
	for (i = 0; i < n; i++)
		input_close(&inputs[i]);
	free(inputs);
	return rc;
}

/* Copy bytes [0, size) of fd to the output. */
static int
copy_bytes(int fd, const char *name, uint64_t size, int out,
    const char *outname)
{
	uint8_t *buf = xcalloc(1, CHUNK);
	uint64_t off = 0;
	ssize_t k, w;
	size_t n, done;
	int rc = 0;

	while (off < size && rc == 0) {
		n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
		k = pread(fd, buf, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			cli_error(name, "read: %s", k < 0 ? strerror(errno) :
			    "the file shrank");
			rc = -1;
			break;
		}
		for (done = 0; done < (size_t)k; done += (size_t)w) {
			w = write(out, buf + done, (size_t)k - done);
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w < 0) {
				cli_error(outname, "write: %s",
				    strerror(errno));
				rc = -1;
				break;
			}
		}
		off += (uint64_t)k;
	}
	free(buf);
	return rc;
}

int
run_strip(const struct options *o)
{
	const char *path = o->in_place ? o->files[0] : o->output;
	const struct dfu_suffix *s;
	struct cli_output out;
	struct input in;
	char *resolved = NULL;
	int rc = CLI_EXIT_FAIL;

	if (input_open(&in, o->files[0], o->ignore_crc) != 0)
		goto out;
	if (dfu_file_format(in.f) == DFU_FORMAT_DFUSE) {
		cli_error(in.name, "a DfuSe file needs its suffix; split it "
		    "to get its elements");
		goto out;
	}
	s = dfu_file_suffix(in.f);
	if (output_open(&out, &resolved, path, &in, 1, write_flags(o)) != 0)
		goto out;
	if (copy_bytes(in.fd, in.name, dfu_file_size(in.f) - s->bLength,
	    out.fd, path) != 0) {
		cli_output_abort(&out);
		goto out;
	}
	if (cli_output_commit(&out) == 0)
		rc = CLI_EXIT_OK;
out:
	free(resolved);
	input_close(&in);
	return rc;
}

int
run_add(const struct options *o)
{
	const char *path = o->in_place ? o->files[0] : o->output;
	uint8_t tail[DFU_SUFFIX_SIZE], head[5];
	struct dfu_suffix s;
	struct dfu_file *f = NULL;
	struct input in = { .path = o->files[0], .fd = -1 };
	off_t size;
	int rc = CLI_EXIT_FAIL;

	in.name = cli_input_name(in.path);
	in.fd = cli_open_input(in.path);
	if (in.fd < 0)
		goto out;
	size = lseek(in.fd, 0, SEEK_END);
	if (size <= 0) {
		cli_error(in.name, size == 0 ? "empty file: nothing to add "
		    "a suffix to" : "cannot seek");
		goto out;
	}
	/* dfu-suffix -a would add a second suffix; only --force does. */
	if (size >= DFU_SUFFIX_SIZE && pread(in.fd, tail, sizeof(tail),
	    size - DFU_SUFFIX_SIZE) == DFU_SUFFIX_SIZE &&
	    dfu_suffix_decode(&s, tail) == 0 && !o->force) {
		cli_error(in.name, "already ends with a DFU suffix (%04x:%04x "
		    "bcdDevice %04x); --force adds another", s.idVendor,
		    s.idProduct, s.bcdDevice);
		goto out;
	}
	f = dfu_file_new();
	if (f == NULL || dfu_file_init(f, DFU_FORMAT_PLAIN) != 0 ||
	    dfu_file_set_payload_fd(f, in.fd, 0, (uint64_t)size) != 0 ||
	    dfu_file_set_ids(f, o->vid, o->pid, o->bcd) != 0)
		goto out;
	/* A DfuSe image that lost its suffix gets the DfuSe bcdDFU. */
	if (pread(in.fd, head, sizeof(head), 0) == (ssize_t)sizeof(head) &&
	    memcmp(head, "DfuSe", 5) == 0)
		dfu_file_set_bcd_dfu(f, DFU_BCD_DFUSE);
	rc = write_dfu(f, path, &in, 1, write_flags(o));
out:
	dfu_file_free(f);
	if (in.fd >= 0)
		close(in.fd);
	return rc;
}
