/*
 * split.c - one file per element (or the payload of a plain file) and a
 * JSON manifest that --join turns back into the same DFU file.
 *
 * Every output goes to a temporary file first (unnamed where the
 * filesystem allows it); only when all of them are written are they put
 * into place, all or none (cli_outputs_commit()), so a failure leaves
 * none of them, and neither does a signal.  An existing name is replaced
 * only if it is a regular file: never a directory, a device or a symbolic
 * link (a planted link is not written through).
 *
 * The input is read once, from its first byte to its last: the CRC of
 * the suffix is computed on the way (the read of the headers defers it,
 * DFU_READ_DEFER_CRC) and the element bytes go to their files and, on a
 * second thread, to SHA-256 (hash.c).  A CRC that does not match is
 * known only at the end, when nothing is in place yet: the outputs are
 * dropped as for any other failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dfusplit.h"
#include "json_text.h"
#include "utf8.h"

/* The outputs of one run, put into place together at the end. */
struct outputs {
	struct cli_output *v;
	size_t n;
	unsigned flags;		/* for cli_output_open_flags() */
};

static void
outputs_abort(struct outputs *outs)
{
	size_t i;

	for (i = 0; i < outs->n; i++) {
		cli_output_abort(&outs->v[i]);
		free((char *)outs->v[i].path);
		outs->v[i].path = NULL;
	}
	outs->n = 0;
}

/* Put every output into place, or none. */
static int
outputs_commit(struct outputs *outs)
{
	size_t i;

	if (cli_outputs_commit(outs->v, outs->n) != 0) {
		outputs_abort(outs);
		return -1;
	}
	for (i = 0; i < outs->n; i++) {
		free((char *)outs->v[i].path);
		outs->v[i].path = NULL;
	}
	outs->n = 0;
	return 0;
}

/* A new temporary output for path, which it takes (malloc'd); its FILE
 * is returned open. */
static FILE *
output_new(struct outputs *outs, char *path, const struct input *in)
{
	struct cli_output *o;
	FILE *fp;
	int fd;

	if (cli_same_file(path, in->fd)) {
		cli_error(path, "is the input %s: refusing to write over it",
		    in->name);
		free(path);
		return NULL;
	}
	outs->v = cli_grow(outs->v, outs->n, sizeof(*outs->v));
	o = &outs->v[outs->n];
	if (cli_output_open_flags(o, path, outs->flags) != 0) {
		free(path);
		return NULL;
	}
	outs->n++;
	/* A copy of the descriptor: an unnamed file must stay open until
	 * it is linked into place. */
	fd = dup(o->fd);
	fp = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (fp == NULL) {
		cli_error(path, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return fp;
}

/* Close an output's FILE (the data is synced at the commit, for all
 * outputs at once). */
static int
output_close(struct outputs *outs, FILE *fp)
{
	struct cli_output *o = &outs->v[outs->n - 1];
	int bad = fflush(fp) != 0 || ferror(fp);

	if (fclose(fp) != 0 || bad) {
		cli_error(o->path, "write: %s", strerror(errno ? errno : EIO));
		return -1;
	}
	return cli_output_finish(o);
}

/*
 * The input, read once in order: each byte is fed to the CRC, and the
 * element bytes to their file and to the hasher.  buf is the hasher's
 * buffer that holds [buf_off, buf_off + buf_len) of the input.
 */
struct stream {
	struct input *in;
	struct hasher *h;
	uint64_t pos, size;
	uint8_t *buf;
	uint64_t buf_off;
	size_t buf_len;
};

/* The next chunk of the input into a new buffer. */
static int
stream_fill(struct stream *st)
{
	size_t n = st->size - st->pos < HASH_CHUNK ?
	    (size_t)(st->size - st->pos) : HASH_CHUNK, got = 0;
	ssize_t k;

	if (st->buf != NULL)
		hasher_release(st->h, st->buf);
	st->buf = hasher_buffer(st->h);
	while (got < n) {
		k = pread(st->in->fd, st->buf + got, n - got,
		    (off_t)(st->pos + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			cli_error(st->in->name, "read: %s", k < 0 ?
			    strerror(errno) : "file shrank");
			return -1;
		}
		got += (size_t)k;
	}
	dfu_file_crc_feed(st->in->f, st->buf, n);
	st->buf_off = st->pos;
	st->buf_len = n;
	return 0;
}

/*
 * Move through the input up to offset end; with fp, the bytes go to it
 * in the chosen format (r, address of the first byte at start) and to
 * the hasher.
 */
static int
stream_to(struct stream *st, uint64_t end, FILE *fp, struct records *r,
    enum elem_format format, uint64_t start, uint32_t address)
{
	const uint8_t *p;
	size_t n;

	while (st->pos < end) {
		if ((st->buf == NULL || st->pos == st->buf_off + st->buf_len) &&
		    stream_fill(st) != 0)
			return -1;
		p = st->buf + (st->pos - st->buf_off);
		n = st->buf_off + st->buf_len - st->pos;
		if (n > end - st->pos)
			n = (size_t)(end - st->pos);
		if (fp != NULL) {
			if (format == ELEM_BIN)
				fwrite(p, 1, n, fp);
			else
				records_data(r, (uint32_t)(address +
				    (st->pos - start)), p, n);
			hasher_data(st->h, p, n);
		}
		st->pos += n;
	}
	return 0;
}

/* The file bytes [start, start + size) are an element (or a plain
 * file's payload, vendor prefix included): into fp, and hashed. */
static int
copy_out(struct stream *st, uint64_t start, uint32_t address,
    uint64_t size, enum elem_format format, FILE *fp, const char *path,
    struct hash_result *res)
{
	struct records r;

	/* The reader walks the elements in file order; anything else would
	 * be a bug, not a file to copy. */
	if (start < st->pos) {
		cli_error(st->in->name, "element at offset %" PRIu64 " is "
		    "before offset %" PRIu64 ", already read", start, st->pos);
		return -1;
	}
	/* The headers before it: only the CRC reads them. */
	if (stream_to(st, start, NULL, NULL, format, 0, 0) != 0)
		return -1;
	if (format != ELEM_BIN)
		records_begin(&r, fp, format, path);
	if (stream_to(st, start + size, fp, &r, format, start, address) != 0)
		return -1;
	if (format != ELEM_BIN)
		records_end(&r);
	hasher_end(st->h, res);
	return 0;
}

/*
 * The input's file name without its directory and a ".dfu" ending.  The
 * element files are named after it and the manifest, JSON, holds only
 * UTF-8: a byte that is not part of UTF-8 becomes '_'.
 */
static char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *base;
	size_t len, i, k;

	if (strcmp(path, "-") == 0)
		return xstrdup("stdin");
	base = xstrdup(slash != NULL ? slash + 1 : path);
	len = strlen(base);
	if (len > 4 && strcasecmp(base + len - 4, ".dfu") == 0)
		base[len -= 4] = '\0';
	for (i = 0; base[i] != '\0'; i += k)
		if ((k = utf8_seq(base + i, len - i)) == 0) {
			base[i] = '_';
			k = 1;
		}
	return base;
}

static char *
join_path(const char *dir, const char *file)
{
	char *p;

	if (asprintf(&p, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" :
	    "/", file) < 0) {
		cli_error(NULL, "out of memory");
		exit(CLI_EXIT_FAIL);
	}
	return p;
}

/* The output directory; *created if this run made it (then a failure
 * or a signal removes it again). */
static int
make_dir(const char *dir, int *created)
{
	struct stat st;

	*created = 0;
	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		cli_error(dir, "exists and is not a directory");
		return -1;
	}
	if (mkdir(dir, 0777) != 0) {
		cli_error(dir, "cannot create directory: %s", strerror(errno));
		return -1;
	}
	cli_output_own_dir(dir);
	*created = 1;
	return 0;
}

/* bytes as hexadecimal digits, in a static buffer (at most 255 bytes) */
static const char *
hex_bytes(const uint8_t *b, size_t n)
{
	static char buf[2 * 255 + 1];
	size_t i;

	for (i = 0; i < n && i < 255; i++)
		snprintf(buf + 2 * i, 3, "%02x", b[i]);
	buf[2 * i] = '\0';
	return buf;
}

/* Set key to a new JSON value; out of memory ends the program. */
static void
put(json_t *obj, const char *key, json_t *value)
{
	if (value == NULL || json_object_set_new(obj, key, value) != 0) {
		cli_error(NULL, "out of memory");
		exit(CLI_EXIT_FAIL);
	}
}

static void
append(json_t *array, json_t *value)
{
	if (value == NULL || json_array_append_new(array, value) != 0) {
		cli_error(NULL, "out of memory");
		exit(CLI_EXIT_FAIL);
	}
}

/* What a split writes: its outputs, the input as it is read, and the
 * digests that are filled into the manifest's entries at the end. */
struct run {
	const struct options *o;
	struct input *in;
	struct outputs outs;
	struct stream st;
	struct digest {
		struct hash_result res;
		json_t *entry;
	} *digests;
	size_t ndigests;
};

/* One element file and its entry in the manifest (its "sha256" filled
 * in once the hasher is done). */
static int
split_one(struct run *r, const char *dir, const char *file, uint64_t start,
    uint32_t address, uint64_t size, json_t *entry)
{
	FILE *fp = output_new(&r->outs, join_path(dir, file), r->in);
	int rc;

	if (fp == NULL)
		return -1;
	rc = copy_out(&r->st, start, address, size, r->o->format, fp, file,
	    &r->digests[r->ndigests].res);
	if (output_close(&r->outs, fp) != 0)
		rc = -1;
	put(entry, "file", json_string(file));
	put(entry, "format", json_string(elem_format_name(r->o->format)));
	put(entry, "size", json_integer((json_int_t)size));
	put(entry, "sha256", json_null());
	r->digests[r->ndigests++].entry = entry;
	return rc;
}

static json_t *
suffix_json(const struct dfu_suffix *s)
{
	json_t *j = json_object();

	if (j == NULL)
		return NULL;
	put(j, "vendor_id", json_integer(s->idVendor));
	put(j, "product_id", json_integer(s->idProduct));
	put(j, "device_version", json_integer(s->bcdDevice));
	put(j, "dfu_version", json_integer(s->bcdDFU));
	put(j, "extension", json_null());
	return j;
}

/*
 * The bytes that extend the suffix (bLength above 16: fwupd keeps its
 * metadata table there), kept in the manifest so that join restores them.
 */
static int
suffix_extension(const struct input *in, json_t *js)
{
	const struct dfu_suffix *s = dfu_file_suffix(in->f);
	size_t n = (size_t)s->bLength - DFU_SUFFIX_SIZE;
	uint8_t ext[255];
	ssize_t k;

	k = pread(in->fd, ext, n, (off_t)(dfu_file_size(in->f) - s->bLength));
	if (k != (ssize_t)n) {
		cli_error(in->name, "read: %s", k < 0 ? strerror(errno) :
		    "file shrank");
		return -1;
	}
	put(js, "extension", json_string(hex_bytes(ext, n)));
	return 0;
}

struct by_address {
	uint32_t address;
	unsigned e;
};

static int
by_address_cmp(const void *a, const void *b)
{
	const struct by_address *x = a, *y = b;

	if (x->address != y->address)
		return x->address < y->address ? -1 : 1;
	return x->e < y->e ? -1 : x->e > y->e;
}

/*
 * For each element of target t, 1 if an earlier element has its address
 * (empty elements can share one): its file name then carries its index
 * too.  Sorted once, so that a target of 65,536 elements costs no 2^31
 * comparisons.  The caller frees the array.
 */
static uint8_t *
repeated_addresses(const struct dfu_file *f, unsigned t)
{
	unsigned n = dfu_file_element_count(f, t), e;
	struct by_address *v = xcalloc(n, sizeof(*v));
	uint8_t *rep = xcalloc(n, 1);

	for (e = 0; e < n; e++) {
		v[e].address = dfu_file_element(f, t, e)->address;
		v[e].e = e;
	}
	qsort(v, n, sizeof(*v), by_address_cmp);
	for (e = 1; e < n; e++)
		if (v[e].address == v[e - 1].address)
			rep[v[e].e] = 1;
	free(v);
	return rep;
}

/* "BASE.tT-AAAAAAAA.EXT", or "BASE.tT-AAAAAAAA-eE.EXT" for a repeated
 * address. */
static char *
element_file_name(const char *base, unsigned t, uint32_t address,
    unsigned e, int repeated, enum elem_format format)
{
	char *file;

	if ((repeated ? asprintf(&file, "%s.t%u-%08" PRIx32 "-e%u.%s", base,
	    t, address, e, elem_format_ext(format)) :
	    asprintf(&file, "%s.t%u-%08" PRIx32 ".%s", base, t, address,
	    elem_format_ext(format))) < 0) {
		cli_error(NULL, "out of memory");
		exit(CLI_EXIT_FAIL);
	}
	return file;
}

static int
split_dfuse(struct run *r, const char *dir, const char *base, json_t *m)
{
	const struct options *o = r->o;
	const struct input *in = r->in;
	json_t *targets = json_array();
	uint8_t *rep;
	unsigned t, e;

	put(m, "targets", targets);
	for (t = 0; t < dfu_file_target_count(in->f); t++) {
		const struct dfuse_target *tg = dfu_file_target(in->f, t);
		json_t *jt = json_object(), *els = json_array();
		size_t len = strlen(tg->szTargetName);
		int utf8 = utf8_valid(tg->szTargetName, len);

		append(targets, jt);
		put(jt, "alt", json_integer(tg->bAlternateSetting));
		/* A name that is not UTF-8 reads with U+FFFD for each bad
		 * byte (schemas/README.md); its bytes are kept in
		 * hexadecimal, and --join uses those. */
		put(jt, "name", tg->bTargetNamed ?
		    json_text(tg->szTargetName) : json_null());
		put(jt, "name_hex", tg->bTargetNamed && !utf8 ?
		    json_string(hex_bytes((const uint8_t *)tg->szTargetName,
		    len)) : json_null());
		put(jt, "elements", els);
		rep = repeated_addresses(in->f, t);
		for (e = 0; e < dfu_file_element_count(in->f, t); e++) {
			const struct dfu_element *el =
			    dfu_file_element(in->f, t, e);
			json_t *je = json_object();
			char *file;

			append(els, je);
			put(je, "address", json_integer(el->address));
			file = element_file_name(base, t, el->address, e,
			    rep[e], o->format);
			if (split_one(r, dir, file, el->offset, el->address,
			    el->size, je) != 0) {
				free(file);
				free(rep);
				return -1;
			}
			free(file);
		}
		free(rep);
	}
	return 0;
}

static int
split_plain(struct run *r, const char *dir, const char *base, json_t *m)
{
	const struct options *o = r->o;
	const struct input *in = r->in;
	const struct dfu_vendor_prefix *vp = dfu_file_vendor_prefix(in->f);
	uint64_t prefix = vp != NULL ? vp->size : 0;
	json_t *p;
	char *file;
	int rc;

	if (o->format != ELEM_BIN) {
		cli_error(in->name, "a plain DFU payload has no address, so "
		    "it cannot be written as %s: use --format bin",
		    elem_format_name(o->format));
		return -1;
	}
	p = json_object();
	if (vp != NULL)
		put(m, "vendor_prefix", json_string(vp->kind ==
		    DFU_VENDOR_PREFIX_STELLARIS ? "stellaris" : "lpc"));
	put(m, "payload", p);
	if (asprintf(&file, "%s.payload.bin", base) < 0) {
		cli_error(NULL, "out of memory");
		exit(CLI_EXIT_FAIL);
	}
	rc = split_one(r, dir, file, 0, 0, prefix +
	    dfu_file_payload_size(in->f), p);
	free(file);
	return rc;
}

/* The rest of the input for the CRC, then every digest into its
 * manifest entry. */
static int
split_finish(struct run *r)
{
	size_t i;

	if (stream_to(&r->st, r->st.size, NULL, NULL, ELEM_BIN, 0, 0) != 0)
		return -1;
	hasher_wait(r->st.h);
	for (i = 0; i < r->ndigests; i++)
		put(r->digests[i].entry, "sha256",
		    json_string(r->digests[i].res.hex));
	return input_check_crc(r->in, r->o->ignore_crc);
}

int
run_split(const struct options *o)
{
	const char *dir = o->output != NULL ? o->output : ".";
	struct input in;
	struct run r = { .o = o, .in = &in };
	const struct dfu_suffix *s;
	json_t *m = NULL;
	char *base = NULL, *mfile = NULL, *mpath = NULL, *text = NULL;
	size_t n = 2;
	unsigned t;
	FILE *fp;
	int rc = CLI_EXIT_FAIL, created = 0;

	if (input_open_deferred(&in, o->files[0], o->ignore_crc) != 0)
		goto out;
	if (make_dir(dir, &created) != 0)
		goto out;
	/* The files, the manifest included: each unnamed one keeps a
	 * descriptor open until all are put into place. */
	if (dfu_file_format(in.f) == DFU_FORMAT_DFUSE)
		for (t = 0, n = 1; t < dfu_file_target_count(in.f); t++)
			n += dfu_file_element_count(in.f, t);
	r.outs.flags = CLI_OUTPUT_REGULAR | cli_outputs_reserve(n);
	r.digests = xcalloc(n, sizeof(*r.digests));
	r.st.in = &in;
	r.st.size = dfu_file_size(in.f);
	r.st.h = hasher_new(r.st.size);
	base = base_name(o->files[0]);
	m = json_object();
	if (m == NULL)
		goto out;
	s = dfu_file_suffix(in.f);
	/* Every key of schemas/dfusplit-manifest.schema.json, in its
	 * order; those a format has no use for are null or []. */
	put(m, "schema", json_string(MANIFEST_SCHEMA));
	put(m, "source", json_text(in.name));
	put(m, "format", json_string(dfu_file_format(in.f) ==
	    DFU_FORMAT_DFUSE ? "dfuse" : "plain"));
	put(m, "suffix", suffix_json(s));
	put(m, "vendor_prefix", json_null());
	put(m, "targets", json_array());
	put(m, "payload", json_null());
	if (s->bLength > DFU_SUFFIX_SIZE && suffix_extension(&in,
	    json_object_get(m, "suffix")) != 0)
		goto out;
	if (dfu_file_format(in.f) == DFU_FORMAT_DFUSE ?
	    split_dfuse(&r, dir, base, m) != 0 :
	    split_plain(&r, dir, base, m) != 0)
		goto out;
	if (split_finish(&r) != 0)
		goto out;
	if (asprintf(&mfile, "%s.manifest.json", base) < 0)
		goto out;
	mpath = join_path(dir, mfile);
	text = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text == NULL)
		goto out;
	fp = output_new(&r.outs, mpath, &in);
	mpath = NULL;
	if (fp == NULL)
		goto out;
	fprintf(fp, "%s\n", text);
	if (output_close(&r.outs, fp) != 0)
		goto out;
	if (outputs_commit(&r.outs) == 0)
		rc = CLI_EXIT_OK;
out:
	outputs_abort(&r.outs);
	if (created) {
		if (rc != CLI_EXIT_OK)
			rmdir(dir);
		cli_output_own_dir(NULL);
	}
	hasher_free(r.st.h);
	free(r.digests);
	free(r.outs.v);
	free(text);
	free(mfile);
	free(base);
	json_decref(m);
	input_close(&in);
	return rc;
}
