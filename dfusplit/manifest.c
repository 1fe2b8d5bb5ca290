/*
 * manifest.c - --join: read the JSON manifest that split wrote (or that a
 * user edited) and build the DFU file it describes.
 *
 * The manifest is checked whole before anything is written: every field's
 * type and range, every element file's size and SHA-256 against the
 * manifest.  Messages name the manifest and the field, as a path
 * ("targets[0].elements[1].address"), or the element file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <nettle/sha2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dfuimage.h"
#include "dfusplit.h"

#define CHUNK (256u << 10)

struct join {
	const char *manifest;	/* as given, for messages */
	char *dir;		/* element files are relative to it: "" or
				 * ending in '/' */
	struct dfu_file *f;
	struct input *files;	/* element files, open until written */
	size_t nfiles;
};

/* "manifest: field: message" */
static int __attribute__((format(printf, 3, 4)))
bad(const struct join *j, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cli_error(j->manifest, "%s: %s", field, msg);
	return -1;
}

/* A number up to max, as a JSON integer or a "0x..." / decimal string. */
static int
get_number(const struct join *j, json_t *obj, const char *key,
    const char *field, uint32_t max, int required, uint32_t *out)
{
	json_t *v = json_object_get(obj, key);
	uint32_t n;
	int rc = -1;

	if (v == NULL || json_is_null(v)) {
		if (required)
			return bad(j, field, "missing");
		return 1;
	}
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 0 || (uint64_t)i > max)
			return bad(j, field, "%" JSON_INTEGER_FORMAT " is out "
			    "of range (0 to 0x%" PRIx32 ")", i, max);
		*out = (uint32_t)i;
		return 0;
	}
	if (json_is_string(v) && (rc = cli_parse_u32(json_string_value(v),
	    &n)) == CLI_NUM_AMBIGUOUS)
		return bad(j, field, "%s has a leading zero, which could mean "
		    "octal, decimal or hexadecimal: write 0x%s for hexadecimal",
		    json_string_value(v), json_string_value(v));
	if (!json_is_string(v) || rc != 0)
		return bad(j, field, "expected a number, such as 0x0483 or "
		    "1155");
	if (n > max)
		return bad(j, field, "%s is out of range (0 to 0x%" PRIx32 ")",
		    json_string_value(v), max);
	*out = n;
	return 0;
}

/* "targets[t].key" */
static const char *
tfield(char *buf, size_t size, size_t t, const char *key)
{
	snprintf(buf, size, "targets[%zu]%s%s", t, key[0] ? "." : "", key);
	return buf;
}

static int
read_suffix(struct join *j, json_t *m, struct dfu_suffix *s)
{
	json_t *js = json_object_get(m, "suffix");
	uint32_t v[4];
	static const char *const keys[] = {
		"idVendor", "idProduct", "bcdDevice", "bcdDFU",
	};
	char field[64];
	size_t i;

	if (!json_is_object(js))
		return bad(j, "suffix", "missing, or not an object");
	for (i = 0; i < 4; i++) {
		snprintf(field, sizeof(field), "suffix.%s", keys[i]);
		if (get_number(j, js, keys[i], field, 0xffff, i < 3, &v[i]) < 0)
			return -1;
	}
	s->idVendor = (uint16_t)v[0];
	s->idProduct = (uint16_t)v[1];
	s->bcdDevice = (uint16_t)v[2];
	/* bcdDFU may be left out: the format's usual value. */
	if (get_number(j, js, "bcdDFU", "suffix.bcdDFU", 0xffff, 0, &v[3]) == 0)
		s->bcdDFU = (uint16_t)v[3];
	return 0;
}

/* The element file's path: relative ones are relative to the manifest. */
static char *
element_path(const struct join *j, const char *file)
{
	char *p;

	if (file[0] == '/' || j->dir == NULL)
		return xstrdup(file);
	if (asprintf(&p, "%s%s", j->dir, file) < 0) {
		cli_error(NULL, "out of memory");
		exit(CLI_EXIT_FAIL);
	}
	return p;
}

/* SHA-256 of the bytes of fd, or of buf when buf is not NULL. */
static int
hash_data(int fd, const uint8_t *buf, uint64_t size, const char *path,
    char out[2 * SHA256_DIGEST_SIZE + 1])
{
	struct sha256_ctx ctx;
	uint8_t d[SHA256_DIGEST_SIZE];
	uint8_t *chunk = NULL;
	uint64_t off = 0;
	ssize_t k;
	size_t i;

	sha256_init(&ctx);
	if (buf != NULL) {
		sha256_update(&ctx, (size_t)size, buf);
	} else {
		chunk = xcalloc(1, CHUNK);
		while (off < size) {
			k = pread(fd, chunk, size - off < CHUNK ?
			    (size_t)(size - off) : CHUNK, (off_t)off);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				cli_error(path, "read: %s", k < 0 ?
				    strerror(errno) : "the file shrank");
				free(chunk);
				return -1;
			}
			sha256_update(&ctx, (size_t)k, chunk);
			off += (uint64_t)k;
		}
		free(chunk);
	}
	sha256_digest(&ctx, sizeof(d), d);
	for (i = 0; i < sizeof(d); i++)
		sprintf(out + 2 * i, "%02x", d[i]);
	return 0;
}

/*
 * An element file in Intel HEX or S-records: exactly one run of bytes,
 * starting at the element's address.  Returns the bytes (malloc'd).
 */
static uint8_t *
load_records(const struct join *j, const char *field, const char *path,
    int fd, enum elem_format format, uint32_t address, uint64_t *size)
{
	struct dfu_image *img = dfu_image_new();
	uint8_t *buf = NULL;
	uint32_t first;
	int rc;

	if (img == NULL) {
		cli_error(NULL, "out of memory");
		return NULL;
	}
	rc = format == ELEM_IHEX ? dfu_image_load_ihex(img, fd) :
	    dfu_image_load_srec(img, fd);
	if (rc != 0) {
		cli_error(path, "%s", dfu_image_errmsg(img));
		goto out;
	}
	/* An empty element is written as records with no data (split
	 * does so); its size is checked against the manifest's. */
	if (dfu_image_range_count(img) == 0) {
		*size = 0;
		buf = malloc(1);
		if (buf == NULL)
			cli_error(path, "out of memory");
		goto out;
	}
	if (dfu_image_range_count(img) != 1) {
		bad(j, field, "%s holds %zu separate ranges; an element is one",
		    path, dfu_image_range_count(img));
		goto out;
	}
	dfu_image_range(img, 0, &first, size);
	if (first != address) {
		bad(j, field, "%s starts at 0x%08" PRIx32 ", the manifest says "
		    "0x%08" PRIx32, path, first, address);
		goto out;
	}
	if (*size > UINT32_MAX) {
		bad(j, field, "%s holds more than 4 GiB", path);
		goto out;
	}
	buf = malloc(*size ? (size_t)*size : 1);
	if (buf == NULL) {
		cli_error(path, "out of memory");
		goto out;
	}
	if (dfu_image_read(img, address, buf, (size_t)*size) != 0) {
		cli_error(path, "%s", dfu_image_errmsg(img));
		free(buf);
		buf = NULL;
	}
out:
	dfu_image_free(img);
	return buf;
}

/*
 * One element (target index t) or the payload of a plain file (t < 0):
 * open its file, check its size and SHA-256, add it to the output.
 */
static int
add_data(struct join *j, json_t *je, const char *prefix, int t,
    uint32_t address)
{
	char field[128], digest[2 * SHA256_DIGEST_SIZE + 1], *path;
	json_t *jfile = json_object_get(je, "file");
	json_t *jfmt = json_object_get(je, "format");
	json_t *jsha = json_object_get(je, "sha256");
	enum elem_format format = ELEM_BIN;
	uint8_t *mem = NULL;
	uint64_t size = 0;
	uint32_t want = 0;
	struct stat st;
	int fd, has_size, rc = -1;

	snprintf(field, sizeof(field), "%sfile", prefix);
	if (!json_is_string(jfile) || json_string_value(jfile)[0] == '\0')
		return bad(j, field, "missing, or not a file name");
	snprintf(field, sizeof(field), "%sformat", prefix);
	if (jfmt != NULL && !json_is_null(jfmt)) {
		const char *s = json_is_string(jfmt) ? json_string_value(jfmt) :
		    "";

		if (strcmp(s, "bin") == 0)
			format = ELEM_BIN;
		else if (strcmp(s, "hex") == 0)
			format = ELEM_IHEX;
		else if (strcmp(s, "srec") == 0)
			format = ELEM_SREC;
		else
			return bad(j, field, "expected \"bin\", \"hex\" or "
			    "\"srec\"");
	}
	if (t < 0 && format != ELEM_BIN)
		return bad(j, field, "a plain file's payload has no address: "
		    "it must be \"bin\"");
	snprintf(field, sizeof(field), "%ssize", prefix);
	has_size = get_number(j, je, "size", field, UINT32_MAX, 0, &want);
	if (has_size < 0)
		return -1;
	snprintf(field, sizeof(field), "%ssha256", prefix);
	if (jsha != NULL && (!json_is_string(jsha) ||
	    strlen(json_string_value(jsha)) != 2 * SHA256_DIGEST_SIZE ||
	    strspn(json_string_value(jsha), "0123456789abcdefABCDEF") !=
	    2 * SHA256_DIGEST_SIZE))
		return bad(j, field, "expected 64 hexadecimal digits");

	path = element_path(j, json_string_value(jfile));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_error(path, "%s", strerror(errno));
		free(path);
		return -1;
	}
	/* Kept as an input, so that -o cannot name it. */
	j->files = cli_grow(j->files, j->nfiles, sizeof(*j->files));
	memset(&j->files[j->nfiles], 0, sizeof(*j->files));
	j->files[j->nfiles].fd = fd;
	j->files[j->nfiles].path = j->files[j->nfiles].name = path;
	j->nfiles++;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		cli_error(path, "not a regular file");
		goto out;
	}
	if (format == ELEM_BIN) {
		size = (uint64_t)st.st_size;
	} else {
		snprintf(field, sizeof(field), "%sfile", prefix);
		mem = load_records(j, field, path, fd, format, address, &size);
		if (mem == NULL)
			goto out;
	}
	snprintf(field, sizeof(field), "%ssize", prefix);
	if (t >= 0 && size > UINT32_MAX) {
		cli_error(path, "%" PRIu64 " bytes: an element holds at most "
		    "4 GiB - 1", size);
		goto out;
	}
	if (has_size == 0 && size != want) {
		bad(j, field, "%s has %" PRIu64 " bytes, the manifest says %"
		    PRIu32, path, size, want);
		goto out;
	}
	if (jsha != NULL) {
		if (hash_data(fd, mem, size, path, digest) != 0)
			goto out;
		if (strcasecmp(digest, json_string_value(jsha)) != 0) {
			snprintf(field, sizeof(field), "%ssha256", prefix);
			bad(j, field, "%s has changed since it was split (its "
			    "SHA-256 is %s); to use it as it is now, remove "
			    "the sha256 field", path, digest);
			goto out;
		}
	}
	if (t < 0)
		rc = dfu_file_set_payload_fd(j->f, fd, 0, size);
	else if (mem != NULL)
		rc = dfu_file_add_element_mem(j->f, (unsigned)t, address, mem,
		    (uint32_t)size);
	else
		rc = dfu_file_add_element_fd(j->f, (unsigned)t, address, fd, 0,
		    (uint32_t)size);
	if (rc < 0) {
		snprintf(field, sizeof(field), "%saddress", prefix);
		bad(j, t < 0 ? "payload" : field, "%s",
		    dfu_file_errmsg(j->f));
		rc = -1;
	} else {
		rc = 0;
	}
out:
	free(mem);
	return rc;
}

static int
read_targets(struct join *j, json_t *m)
{
	json_t *jts = json_object_get(m, "targets"), *jt, *jes, *je, *jn;
	char field[128], prefix[96];
	size_t t, e;
	uint32_t alt = 0, address = 0;
	int ti;

	if (!json_is_array(jts) || json_array_size(jts) == 0)
		return bad(j, "targets", "missing, or not a non-empty array");
	if (json_array_size(jts) > DFUSE_MAX_TARGETS)
		return bad(j, "targets", "%zu targets; a DfuSe file holds at "
		    "most %d", json_array_size(jts), DFUSE_MAX_TARGETS);
	json_array_foreach(jts, t, jt) {
		const char *name = NULL;

		if (!json_is_object(jt))
			return bad(j, tfield(field, sizeof(field), t, ""), "not an object");
		if (get_number(j, jt, "alt", tfield(field, sizeof(field), t, "alt"), 255, 1, &alt) != 0)
			return -1;
		jn = json_object_get(jt, "name");
		if (jn != NULL && !json_is_null(jn)) {
			if (!json_is_string(jn) ||
			    strlen(json_string_value(jn)) != json_string_length(jn))
				return bad(j, tfield(field, sizeof(field), t, "name"), "expected a "
				    "string without NUL, or null");
			name = json_string_value(jn);
			if (strlen(name) > DFUSE_TARGET_NAME_SIZE - 1)
				return bad(j, tfield(field, sizeof(field), t, "name"), "%zu bytes, "
				    "more than %d", strlen(name),
				    DFUSE_TARGET_NAME_SIZE - 1);
		}
		ti = dfu_file_add_target(j->f, (uint8_t)alt, name);
		if (ti < 0)
			return bad(j, "targets", "%s", dfu_file_errmsg(j->f));
		jes = json_object_get(jt, "elements");
		if (!json_is_array(jes))
			return bad(j, tfield(field, sizeof(field), t, "elements"), "missing, or "
			    "not an array");
		json_array_foreach(jes, e, je) {
			snprintf(prefix, sizeof(prefix),
			    "targets[%zu].elements[%zu].", t, e);
			if (!json_is_object(je))
				return bad(j, prefix, "not an object");
			snprintf(field, sizeof(field), "%saddress", prefix);
			if (get_number(j, je, "address", field, UINT32_MAX, 1,
			    &address) != 0)
				return -1;
			if (add_data(j, je, prefix, ti, address) != 0)
				return -1;
		}
	}
	return 0;
}

int
run_join(const struct options *o)
{
	struct join j = { .manifest = o->manifest };
	struct dfu_suffix s = { 0 };
	json_error_t err;
	json_t *m, *jv, *jfmt;
	const char *slash = strrchr(o->manifest, '/');
	uint32_t version = 0;
	int plain, rc = CLI_EXIT_FAIL;
	size_t i;

	if (strcmp(o->manifest, "-") == 0) {
		m = json_loadf(stdin, JSON_REJECT_DUPLICATES, &err);
		j.manifest = "(stdin)";
	} else {
		m = json_load_file(o->manifest, JSON_REJECT_DUPLICATES, &err);
	}
	if (m == NULL) {
		if (err.line > 0)
			cli_error(j.manifest, "line %d, column %d: %s",
			    err.line, err.column, err.text);
		else
			cli_error(j.manifest, "%s", err.text);
		return CLI_EXIT_FAIL;
	}
	if (strcmp(o->manifest, "-") != 0 &&
	    refuse_output_over(o->output, o->manifest, j.manifest) != 0)
		goto out;
	if (slash != NULL && strcmp(o->manifest, "-") != 0)
		j.dir = strndup(o->manifest, (size_t)(slash - o->manifest + 1));
	if (!json_is_object(m)) {
		bad(&j, "(top)", "not a JSON object");
		goto out;
	}
	jv = json_object_get(m, "dfusplit");
	if (get_number(&j, m, "dfusplit", "dfusplit", UINT32_MAX, 1,
	    &version) != 0)
		goto out;
	if (version != 1 || !json_is_integer(jv)) {
		bad(&j, "dfusplit", "manifest version %s; this dfusplit reads "
		    "version 1", json_is_integer(jv) ? "is newer" : "unknown");
		goto out;
	}
	jfmt = json_object_get(m, "format");
	if (!json_is_string(jfmt) ||
	    (strcmp(json_string_value(jfmt), "dfuse") != 0 &&
	    strcmp(json_string_value(jfmt), "plain") != 0)) {
		bad(&j, "format", "expected \"dfuse\" or \"plain\"");
		goto out;
	}
	plain = strcmp(json_string_value(jfmt), "plain") == 0;
	j.f = dfu_file_new();
	if (j.f == NULL ||
	    dfu_file_init(j.f, plain ? DFU_FORMAT_PLAIN : DFU_FORMAT_DFUSE))
		goto out;
	s.bcdDFU = plain ? DFU_BCD_DFU_1_0 : DFU_BCD_DFUSE;
	if (read_suffix(&j, m, &s) != 0)
		goto out;
	dfu_file_set_ids(j.f, s.idVendor, s.idProduct, s.bcdDevice);
	dfu_file_set_bcd_dfu(j.f, s.bcdDFU);
	if (plain) {
		jv = json_object_get(m, "payload");
		if (!json_is_object(jv)) {
			bad(&j, "payload", "missing, or not an object");
			goto out;
		}
		if (add_data(&j, jv, "payload.", -1, 0) != 0)
			goto out;
	} else if (read_targets(&j, m) != 0) {
		goto out;
	}
	rc = write_dfu(j.f, o->output, j.files, j.nfiles, 0);
out:
	for (i = 0; i < j.nfiles; i++) {
		close(j.files[i].fd);
		free((char *)j.files[i].path);
	}
	free(j.files);
	free(j.dir);
	dfu_file_free(j.f);
	json_decref(m);
	return rc;
}
