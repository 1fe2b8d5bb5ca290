/*
 * split.c - one file per element (or the payload of a plain file) and a
 * JSON manifest that --join turns back into the same DFU file.
 *
 * Every output goes to a temporary file first; only when all of them are
 * written are they renamed into place, so a failure leaves none of them.
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

#define CHUNK (256u << 10)

/* The outputs of one run, renamed into place together at the end. */
struct outputs {
	struct cli_output *v;
	size_t n;
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

/* Rename every temporary file into place (each was synced when it was
 * closed). */
static int
outputs_commit(struct outputs *outs)
{
	size_t i;

	for (i = 0; i < outs->n; i++) {
		if (cli_output_commit(&outs->v[i]) != 0) {
			outputs_abort(outs);
			return -1;
		}
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

	if (cli_same_file(path, in->fd)) {
		cli_error(path, "is the input %s: refusing to write over it",
		    in->name);
		free(path);
		return NULL;
	}
	outs->v = cli_grow(outs->v, outs->n, sizeof(*outs->v));
	o = &outs->v[outs->n];
	if (cli_output_open(o, path) != 0) {
		free(path);
		return NULL;
	}
	outs->n++;
	fp = fdopen(o->fd, "w");
	if (fp == NULL) {
		cli_error(path, "%s", strerror(errno));
		return NULL;
	}
	return fp;
}

/* Close an output's FILE; its descriptor goes with it. */
static int
output_close(struct outputs *outs, FILE *fp)
{
	struct cli_output *o = &outs->v[outs->n - 1];
	int bad = fflush(fp) != 0 || ferror(fp) ||
	    (!o->direct && fsync(fileno(fp)) != 0);

	o->fd = -1;
	if (fclose(fp) != 0 || bad) {
		cli_error(o->path, "write: %s", strerror(errno ? errno : EIO));
		return -1;
	}
	return 0;
}

static void
hex_digest(struct sha256_ctx *ctx, char out[2 * SHA256_DIGEST_SIZE + 1])
{
	uint8_t d[SHA256_DIGEST_SIZE];
	size_t i;

	sha256_digest(ctx, sizeof(d), d);
	for (i = 0; i < sizeof(d); i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/*
 * Stream bytes [0, size) of an element (target >= 0) or of the plain
 * file's content before its suffix (target < 0) into fp, in the chosen
 * format, and hash them.
 */
static int
copy_out(const struct input *in, int target, unsigned element,
    uint32_t address, uint64_t size, enum elem_format format, FILE *fp,
    const char *path, char digest[2 * SHA256_DIGEST_SIZE + 1])
{
	const struct dfu_vendor_prefix *vp = dfu_file_vendor_prefix(in->f);
	uint64_t prefix = target < 0 && vp != NULL ? vp->size : 0;
	struct sha256_ctx ctx;
	struct records r;
	uint64_t off = 0;
	uint8_t *buf = xcalloc(1, CHUNK);
	size_t n;
	ssize_t k;
	int rc = 0;

	sha256_init(&ctx);
	if (format != ELEM_BIN)
		records_begin(&r, fp, format, path);
	while (off < size && rc == 0) {
		n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
		if (off < prefix) {
			/* A vendor prefix is kept with the payload. */
			if (n > prefix - off)
				n = (size_t)(prefix - off);
			k = pread(in->fd, buf, n, (off_t)off);
			if (k != (ssize_t)n) {
				cli_error(in->name, "read: %s", k < 0 ?
				    strerror(errno) : "file shrank");
				rc = -1;
				break;
			}
		} else if (target < 0) {
			rc = dfu_file_payload_read(in->f, off - prefix, buf, n);
		} else {
			rc = dfu_file_element_read(in->f, (unsigned)target,
			    element, off, buf, n);
		}
		if (rc != 0) {
			cli_error(in->name, "%s", dfu_file_errmsg(in->f));
			break;
		}
		sha256_update(&ctx, n, buf);
		if (format == ELEM_BIN)
			fwrite(buf, 1, n, fp);
		else
			records_data(&r, (uint32_t)(address + off), buf, n);
		off += n;
	}
	if (rc == 0 && format != ELEM_BIN)
		records_end(&r);
	free(buf);
	hex_digest(&ctx, digest);
	return rc;
}

/* The length of the UTF-8 sequence at s (RFC 3629, section 4), or 0 if
 * none starts there. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07u;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3fu);
	}
	/* Overlong forms, surrogates, beyond U+10FFFF. */
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	return n;
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
		base[len - 4] = '\0';
	for (i = 0; base[i] != '\0'; i += k)
		if ((k = utf8_len((unsigned char *)base + i)) == 0) {
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

static int
make_dir(const char *dir)
{
	struct stat st;

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

static char *
hex_string(uint32_t v, int width)
{
	static char buf[16];

	snprintf(buf, sizeof(buf), "0x%0*" PRIx32, width, v);
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

/* One element file and its entry in the manifest. */
static int
split_one(const struct options *o, const struct input *in,
    struct outputs *outs, const char *dir, const char *file, int target,
    unsigned element, uint32_t address, uint64_t size, json_t *entry)
{
	char digest[2 * SHA256_DIGEST_SIZE + 1];
	FILE *fp = output_new(outs, join_path(dir, file), in);
	int rc;

	if (fp == NULL)
		return -1;
	rc = copy_out(in, target, element, address, size, o->format, fp,
	    file, digest);
	if (output_close(outs, fp) != 0)
		rc = -1;
	put(entry, "file", json_string(file));
	put(entry, "format", json_string(elem_format_name(o->format)));
	put(entry, "size", json_integer((json_int_t)size));
	put(entry, "sha256", json_string(digest));
	return rc;
}

static json_t *
suffix_json(const struct dfu_suffix *s)
{
	json_t *j = json_object();

	if (j == NULL)
		return NULL;
	put(j, "idVendor", json_string(hex_string(s->idVendor, 4)));
	put(j, "idProduct", json_string(hex_string(s->idProduct, 4)));
	put(j, "bcdDevice", json_string(hex_string(s->bcdDevice, 4)));
	put(j, "bcdDFU", json_string(hex_string(s->bcdDFU, 4)));
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

static int
split_dfuse(const struct options *o, const struct input *in,
    struct outputs *outs, const char *dir, const char *base, json_t *m)
{
	json_t *targets = json_array();
	unsigned t, e, i;

	put(m, "targets", targets);
	for (t = 0; t < dfu_file_target_count(in->f); t++) {
		const struct dfuse_target *tg = dfu_file_target(in->f, t);
		json_t *jt = json_object(), *els = json_array();
		json_t *name = tg->bTargetNamed ?
		    json_string(tg->szTargetName) : json_null();

		append(targets, jt);
		put(jt, "alt", json_integer(tg->bAlternateSetting));
		/* A name that is not UTF-8, which a JSON string cannot
		 * hold, is kept as its bytes in hexadecimal. */
		if (name == NULL) {
			put(jt, "name", json_null());
			put(jt, "name_hex", json_string(hex_bytes(
			    (const uint8_t *)tg->szTargetName,
			    strlen(tg->szTargetName))));
		} else {
			put(jt, "name", name);
		}
		put(jt, "elements", els);
		for (e = 0; e < dfu_file_element_count(in->f, t); e++) {
			const struct dfu_element *el =
			    dfu_file_element(in->f, t, e);
			json_t *je = json_object();
			char *file;

			append(els, je);
			put(je, "address", json_string(hex_string(el->address,
			    8)));
			/* Two elements at one address (empty ones can be)
			 * get the element's index too. */
			for (i = 0; i < e; i++)
				if (dfu_file_element(in->f, t, i)->address ==
				    el->address)
					break;
			if ((i < e ? asprintf(&file, "%s.t%u-%08" PRIx32
			    "-e%u.%s", base, t, el->address, e,
			    elem_format_ext(o->format)) :
			    asprintf(&file, "%s.t%u-%08" PRIx32 ".%s", base, t,
			    el->address, elem_format_ext(o->format))) < 0) {
				cli_error(NULL, "out of memory");
				exit(CLI_EXIT_FAIL);
			}
			if (split_one(o, in, outs, dir, file, (int)t, e,
			    el->address, el->size, je) != 0) {
				free(file);
				return -1;
			}
			free(file);
		}
	}
	return 0;
}

static int
split_plain(const struct options *o, const struct input *in,
    struct outputs *outs, const char *dir, const char *base, json_t *m)
{
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
	rc = split_one(o, in, outs, dir, file, -1, 0, 0,
	    prefix + dfu_file_payload_size(in->f), p);
	free(file);
	return rc;
}

int
run_split(const struct options *o)
{
	const char *dir = o->output != NULL ? o->output : ".";
	struct outputs outs = { NULL, 0 };
	const struct dfu_suffix *s;
	struct input in;
	json_t *m = NULL, *src;
	char *base = NULL, *mfile = NULL, *mpath = NULL, *text = NULL;
	FILE *fp;
	int rc = CLI_EXIT_FAIL;

	if (input_open(&in, o->files[0], o->ignore_crc) != 0)
		goto out;
	if (make_dir(dir) != 0)
		goto out;
	base = base_name(o->files[0]);
	m = json_object();
	if (m == NULL)
		goto out;
	s = dfu_file_suffix(in.f);
	put(m, "dfusplit", json_integer(1));
	/* A file name that is not UTF-8 is left out. */
	if ((src = json_string(in.name)) != NULL)
		put(m, "source", src);
	put(m, "format", json_string(dfu_file_format(in.f) ==
	    DFU_FORMAT_DFUSE ? "dfuse" : "plain"));
	put(m, "suffix", suffix_json(s));
	if (s->bLength > DFU_SUFFIX_SIZE && suffix_extension(&in,
	    json_object_get(m, "suffix")) != 0)
		goto out;
	if (dfu_file_format(in.f) == DFU_FORMAT_DFUSE ?
	    split_dfuse(o, &in, &outs, dir, base, m) != 0 :
	    split_plain(o, &in, &outs, dir, base, m) != 0)
		goto out;
	if (asprintf(&mfile, "%s.manifest.json", base) < 0)
		goto out;
	mpath = join_path(dir, mfile);
	text = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text == NULL)
		goto out;
	fp = output_new(&outs, mpath, &in);
	mpath = NULL;
	if (fp == NULL)
		goto out;
	fprintf(fp, "%s\n", text);
	if (output_close(&outs, fp) != 0)
		goto out;
	if (outputs_commit(&outs) == 0)
		rc = CLI_EXIT_OK;
out:
	outputs_abort(&outs);
	free(outs.v);
	free(text);
	free(mfile);
	free(base);
	json_decref(m);
	input_close(&in);
	return rc;
}
