/*
 * manifest.c - --join: read the JSON manifest that split wrote (or that a
 * user edited) and build the DFU file it describes.
 *
 * Both versions of the manifest read (dfusplit.h, MANIFEST_SCHEMA):
 * version 2, which split writes, and version 1 of earlier releases, whose
 * suffix fields are idVendor, idProduct, bcdDevice and bcdDFU.  Numbers
 * may be JSON numbers or strings ("0x0483") in both, for a hand-edited
 * manifest's sake.
 *
 * The manifest is checked whole before anything is written: every field's
 * type and range, every element file's size and SHA-256 against the
 * manifest.  Messages name the manifest and the field, as a path
 * ("targets[0].elements[1].address"), or the element file.
 *
 * Element files are untrusted names, as bsdtar treats the names in an
 * archive: by default each is a path relative to the manifest's
 * directory that stays inside it (no absolute path, no "..", no symbolic
 * link that leads out), and it must be a regular file.  The type is
 * checked on an O_PATH descriptor, which opens nothing, so that a FIFO
 * cannot block and a device node (a watchdog) is never opened; the file
 * is then reopened through that descriptor.  -P (--absolute-paths) lifts
 * the directory rule, not the others.
 *
 * One element file is open at a time (a file of thousands of elements
 * must join under any descriptor limit).  A binary element file is
 * checked (type, place, size) when the manifest is read, then opened
 * again while the output is written, and read once: its bytes go into the
 * output (a temporary file) and to SHA-256 on a second thread (hash.c).
 * The output is put into place only if every digest matches the
 * manifest, so the bytes checked are the bytes written.  A hex or
 * S-record element is decoded when the manifest is read, hashed and kept
 * in one unlinked scratch file until the output is written.
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
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli.h"
#include "dfuimage.h"
#include "dfusplit.h"

#define CHUNK (256u << 10)

/* An element file that was read: -o may not name it. */
struct file_id {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct join {
	const char *manifest;	/* as given, for messages */
	int version;		/* of the manifest: 1 or 2 */
	char *dir;		/* element files are relative to it: "" or
				 * ending in '/' (for messages) */
	int dirfd;		/* the manifest's directory */
	int any_path;		/* -P */
	struct dfu_file *f;
	int scratch;		/* the element bytes, one after the other */
	uint64_t scratch_size;
	struct file_id *ids;
	size_t nids;
	/* Binary element files, read while the output is written. */
	struct stream_src *srcs, **last;	/* a list, in order */
	uint64_t stream_total;	/* their bytes */
	struct hasher *h;
};

/* A binary element file that the writer reads through stream_read(). */
struct stream_src {
	struct stream_src *next;
	struct join *j;
	char field[128];	/* "...file", for messages */
	char *file;		/* as the manifest names it */
	const char *path;	/* for messages */
	dev_t dev;
	ino_t ino;
	uint64_t size;
	int fd;			/* open while it is read */
	uint64_t got;		/* bytes read */
	int failed;		/* its message is out */
	char expect[2 * SHA256_DIGEST_SIZE + 1];	/* "" if none */
	struct hash_result res;
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

/* Two hexadecimal digits, already checked. */
static uint8_t
hex_byte(const char *s)
{
	unsigned v = 0;

	for (int k = 0; k < 2; k++)
		v = v << 4 | (unsigned)(s[k] <= '9' ? s[k] - '0' :
		    (s[k] | 0x20) - 'a' + 10);
	return (uint8_t)v;
}

/*
 * suffix.extension: the bytes that extend the suffix (bLength above 16),
 * as hexadecimal digits; split writes it for such a file.
 */
static int
read_extension(struct join *j, json_t *jx)
{
	uint8_t ext[DFU_SUFFIX_EXTENSION_MAX];
	const char *hex;
	size_t len, i;

	if (jx == NULL || json_is_null(jx))
		return 0;
	hex = json_is_string(jx) ? json_string_value(jx) : "";
	len = json_is_string(jx) ? json_string_length(jx) : 0;
	if (len == 0 || len % 2 != 0 || strspn(hex, "0123456789abcdefABCDEF")
	    != len)
		return bad(j, "suffix.extension", "expected an even number of "
		    "hexadecimal digits, or null");
	if (len / 2 > sizeof(ext))
		return bad(j, "suffix.extension", "%zu bytes; bLength leaves "
		    "room for at most %d", len / 2, DFU_SUFFIX_EXTENSION_MAX);
	for (i = 0; i < len / 2; i++)
		ext[i] = hex_byte(hex + 2 * i);
	if (dfu_file_set_suffix_extension(j->f, ext, len / 2) != 0)
		return bad(j, "suffix.extension", "%s", dfu_file_errmsg(j->f));
	return 0;
}

static int
read_suffix(struct join *j, json_t *m, struct dfu_suffix *s)
{
	json_t *js = json_object_get(m, "suffix");
	uint32_t v[4];
	static const char *const keys[2][4] = {
		{ "idVendor", "idProduct", "bcdDevice", "bcdDFU" },
		{ "vendor_id", "product_id", "device_version", "dfu_version" },
	};
	const char *const *k = keys[j->version >= 2];
	char field[64];
	size_t i;
	int rc;

	if (!json_is_object(js))
		return bad(j, "suffix", "missing, or not an object");
	for (i = 0; i < 4; i++) {
		snprintf(field, sizeof(field), "suffix.%s", k[i]);
		/* The DFU version may be left out (or null): the format's
		 * usual value. */
		rc = get_number(j, js, k[i], field, 0xffff, i < 3, &v[i]);
		if (rc < 0)
			return -1;
		if (rc > 0)
			v[i] = s->bcdDFU;
	}
	s->idVendor = (uint16_t)v[0];
	s->idProduct = (uint16_t)v[1];
	s->bcdDevice = (uint16_t)v[2];
	s->bcdDFU = (uint16_t)v[3];
	return read_extension(j, json_object_get(js, "extension"));
}

/* The element file's path as messages show it: relative ones with the
 * manifest's directory in front. */
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

/*
 * Without openat2() (Linux before 5.6): walk the path one component at a
 * time and refuse every symbolic link, since where it leads cannot be
 * checked without a race.  Returns an O_PATH descriptor or -1 (errno).
 */
static int
walk_beneath(int dirfd, const char *file)
{
	char *copy = xstrdup(file), *comp, *save = NULL;
	struct stat st;
	int fd = dup(dirfd), next;

	for (comp = strtok_r(copy, "/", &save); comp != NULL && fd >= 0;
	    comp = strtok_r(NULL, "/", &save)) {
		next = openat(fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
			close(fd);
			fd = -1;
			errno = EXDEV;
		}
	}
	free(copy);
	return fd;
}

/*
 * Open an element file by the rules above; -1 after the message.  On
 * success *st is the file's status.
 */
static int
open_element(struct join *j, const char *field, const char *file,
    const char *path, struct stat *st)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	const char *p, *kind;
	char proc[64];
	int pfd, fd;

	if (!j->any_path) {
		if (file[0] == '/')
			return bad(j, field, "%s is an absolute path: element "
			    "files are relative to the manifest's directory "
			    "(-P allows any path)", file);
		for (p = file; p != NULL; p = strchr(p, '/')) {
			p += *p == '/';
			if (strncmp(p, "..", 2) == 0 &&
			    (p[2] == '/' || p[2] == '\0'))
				return bad(j, field, "%s contains \"..\": "
				    "element files are inside the manifest's "
				    "directory (-P allows any path)", file);
		}
		pfd = (int)syscall(SYS_openat2, j->dirfd, file, &how,
		    sizeof(how));
		if (pfd < 0 && errno == ENOSYS)
			pfd = walk_beneath(j->dirfd, file);
	} else {
		pfd = openat(j->dirfd, file, O_PATH | O_CLOEXEC);
	}
	if (pfd < 0 && errno == EXDEV)
		return bad(j, field, "%s leads out of the manifest's "
		    "directory through a symbolic link (-P allows any path)",
		    file);
	if (pfd < 0) {
		cli_error(path, "%s", strerror(errno));
		return -1;
	}
	if (fstat(pfd, st) != 0) {
		cli_error(path, "%s", strerror(errno));
		close(pfd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		kind = S_ISDIR(st->st_mode) ? "a directory" :
		    S_ISFIFO(st->st_mode) ? "a FIFO" :
		    S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) ?
		    "a device" : S_ISSOCK(st->st_mode) ? "a socket" :
		    "not a regular file";
		cli_error(path, "%s%s: element files are regular files, and "
		    "it was not opened", kind[0] == 'n' ? "" : "is ", kind);
		close(pfd);
		return -1;
	}
	/* The same inode, opened for reading at last; O_NONBLOCK in case it
	 * were not what fstat() saw. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* No /proc: open by name again, then make sure it is the
		 * file that was checked. */
		struct stat again;

		how.flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
		fd = j->any_path ? openat(j->dirfd, file, (int)how.flags) :
		    (int)syscall(SYS_openat2, j->dirfd, file, &how,
		    sizeof(how));
		if (fd >= 0 && (fstat(fd, &again) != 0 ||
		    again.st_dev != st->st_dev || again.st_ino != st->st_ino)) {
			close(fd);
			fd = -1;
			errno = ESTALE;
		}
	}
	if (fd < 0)
		cli_error(path, "%s", strerror(errno));
	close(pfd);
	return fd;
}

/* An unlinked temporary file for the element bytes, in $TMPDIR. */
static int
scratch_open(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	fd = open(dir, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(path, sizeof(path), "%s/dfusplitXXXXXX", dir);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			unlink(path);
	}
	if (fd < 0)
		cli_error(dir, "cannot create a temporary file: %s",
		    strerror(errno));
	return fd;
}

static int
scratch_write(struct join *j, const uint8_t *buf, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = pwrite(j->scratch, buf, n, (off_t)j->scratch_size);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			cli_error(NULL, "temporary file: write: %s",
			    strerror(errno));
			return -1;
		}
		buf += w;
		n -= (size_t)w;
		j->scratch_size += (uint64_t)w;
	}
	return 0;
}

/*
 * Copy fd from its start to its end (buf NULL) or buf's size bytes into
 * the scratch file, hashing them.  *size: the bytes copied.
 */
static int
copy_in(struct join *j, int fd, const uint8_t *buf, uint64_t *size,
    const char *path, char digest[2 * SHA256_DIGEST_SIZE + 1])
{
	struct sha256_ctx ctx;
	uint8_t *chunk;
	ssize_t k;
	int rc = 0;

	sha256_init(&ctx);
	if (buf != NULL) {
		sha256_update(&ctx, (size_t)*size, buf);
		sha256_hex(&ctx, digest);
		return scratch_write(j, buf, (size_t)*size);
	}
	chunk = xcalloc(1, CHUNK);
	*size = 0;
	for (;;) {
		k = read(fd, chunk, CHUNK);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			cli_error(path, "read: %s", strerror(errno));
			rc = -1;
		}
		if (k <= 0)
			break;
		sha256_update(&ctx, (size_t)k, chunk);
		*size += (uint64_t)k;
		if (*size > UINT32_MAX || scratch_write(j, chunk,
		    (size_t)k) != 0) {
			rc = *size > UINT32_MAX ? 1 : -1;
			break;
		}
	}
	free(chunk);
	sha256_hex(&ctx, digest);
	return rc;
}

/*
 * The writer's read of a binary element file: bytes [off, off + len), in
 * order.  The file is opened at its first byte (and must be the file
 * checked before), closed after its last, and must end there.  Every
 * byte also goes to the hasher.  A digest that already failed stops the
 * write early.
 */
static int
stream_read(void *arg, uint64_t off, void *buf, size_t len)
{
	struct stream_src *s = arg;
	struct stat st;
	uint8_t *p = buf, *hb, extra;
	size_t done = 0, n;
	ssize_t k;

	if (s->failed || hasher_mismatch(s->j->h))
		return -1;
	if (off != s->got) {
		cli_error(s->path, "read out of order");
		goto fail;
	}
	if (off == 0) {
		s->fd = open_element(s->j, s->field, s->file, s->path, &st);
		if (s->fd < 0)
			goto fail;
		if (st.st_dev != s->dev || st.st_ino != s->ino) {
			cli_error(s->path, "was replaced while it was read");
			goto fail;
		}
	}
	while (done < len) {
		k = read(s->fd, p + done, len - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			cli_error(s->path, "read: %s", strerror(errno));
			goto fail;
		}
		if (k == 0) {
			cli_error(s->path, "changed while it was read (%"
			    PRIu64 " bytes, then %" PRIu64 ")", s->size,
			    s->got + done);
			goto fail;
		}
		done += (size_t)k;
	}
	for (n = 0; n < len; n += HASH_CHUNK) {
		hb = hasher_buffer(s->j->h);
		memcpy(hb, p + n, len - n < HASH_CHUNK ? len - n : HASH_CHUNK);
		hasher_data(s->j->h, hb, len - n < HASH_CHUNK ? len - n :
		    HASH_CHUNK);
		hasher_release(s->j->h, hb);
	}
	s->got += len;
	if (s->got < s->size)
		return 0;
	/* The last byte: the file must end here. */
	while ((k = read(s->fd, &extra, 1)) < 0 && errno == EINTR)
		;
	if (k < 0) {
		cli_error(s->path, "read: %s", strerror(errno));
		goto fail;
	}
	if (k > 0) {
		cli_error(s->path, "changed while it was read (%" PRIu64
		    " bytes, then more)", s->size);
		goto fail;
	}
	close(s->fd);
	s->fd = -1;
	hasher_end(s->j->h, &s->res);
	return 0;
fail:
	s->failed = 1;
	return -1;
}

/* After the write (failed: it did not complete): every digest against
 * the manifest.  -1 after the messages when one failed. */
static int
stream_check(void *arg, int failed)
{
	struct join *j = arg;
	struct stream_src *s;
	int rc = 0;

	hasher_wait(j->h);
	for (s = j->srcs; s != NULL && rc == 0; s = s->next) {
		if (s->failed) {
			rc = -1;
		} else if (s->res.done && s->res.mismatch) {
			char field[160];

			snprintf(field, sizeof(field), "%.*ssha256",
			    (int)(strlen(s->field) - 4), s->field);
			bad(j, field, "%s has changed since it was split (its "
			    "SHA-256 is %s); to use it as it is now, remove "
			    "the sha256 field", s->path, s->res.hex);
			rc = -1;
		} else if (!failed && s->got != s->size) {
			cli_error(s->path, "was not read whole");
			rc = -1;
		}
	}
	return rc;
}

/* A binary element file of size bytes (st), checked when the output is
 * written. */
static int
stream_add(struct join *j, const char *prefix, const char *file,
    const char *path, const struct stat *st, json_t *jsha, int t,
    uint32_t address)
{
	struct stream_src *s = xcalloc(1, sizeof(*s));
	int rc;

	if (j->last == NULL)
		j->last = &j->srcs;
	*j->last = s;
	j->last = &s->next;
	s->j = j;
	snprintf(s->field, sizeof(s->field), "%sfile", prefix);
	s->file = xstrdup(file);
	s->path = path;
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = (uint64_t)st->st_size;
	s->fd = -1;
	if (jsha != NULL)
		snprintf(s->expect, sizeof(s->expect), "%s",
		    json_string_value(jsha));
	s->res.expect = jsha != NULL ? s->expect : NULL;
	j->stream_total += s->size;
	if (t < 0)
		rc = dfu_file_set_payload_cb(j->f, stream_read, s, s->size);
	else
		rc = dfu_file_add_element_cb(j->f, (unsigned)t, address,
		    stream_read, s, (uint32_t)s->size);
	if (rc < 0) {
		char field[128];

		snprintf(field, sizeof(field), "%saddress", prefix);
		return bad(j, t < 0 ? "payload" : field, "%s",
		    dfu_file_errmsg(j->f));
	}
	return 0;
}

static void
stream_free(struct join *j)
{
	struct stream_src *s, *next;

	hasher_free(j->h);
	for (s = j->srcs; s != NULL; s = next) {
		next = s->next;
		if (s->fd >= 0)
			close(s->fd);
		free(s->file);
		free(s);
	}
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
	uint64_t size = 0, offset;
	uint32_t want = 0;
	struct stat st = { 0 };
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

	snprintf(field, sizeof(field), "%sfile", prefix);
	path = element_path(j, json_string_value(jfile));
	fd = open_element(j, field, json_string_value(jfile), path, &st);
	if (fd < 0) {
		free(path);
		return -1;
	}
	j->ids = cli_grow(j->ids, j->nids, sizeof(*j->ids));
	j->ids[j->nids].dev = st.st_dev;
	j->ids[j->nids].ino = st.st_ino;
	j->ids[j->nids++].path = path;
	if (format == ELEM_BIN) {
		size = (uint64_t)st.st_size;
	} else {
		mem = load_records(j, field, path, fd, format, address, &size);
		if (mem == NULL)
			goto out;
	}
	if (mem == NULL && size > 0 && size <= UINT32_MAX &&
	    (has_size != 0 || size == want)) {
		rc = stream_add(j, prefix, json_string_value(jfile), path, &st,
		    jsha, t, address);
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
	offset = j->scratch_size;
	switch (copy_in(j, fd, mem, &size, path, digest)) {
	case 0:
		break;
	case 1:
		cli_error(path, "more than 4 GiB - 1 bytes: it grew while it "
		    "was read");
		goto out;
	default:
		goto out;
	}
	if (size != (uint64_t)st.st_size && mem == NULL) {
		cli_error(path, "changed while it was read (%" PRIu64 " bytes, "
		    "then %" PRIu64 ")", (uint64_t)st.st_size, size);
		goto out;
	}
	if (jsha != NULL && strcasecmp(digest, json_string_value(jsha)) != 0) {
		snprintf(field, sizeof(field), "%ssha256", prefix);
		bad(j, field, "%s has changed since it was split (its SHA-256 "
		    "is %s); to use it as it is now, remove the sha256 field",
		    path, digest);
		goto out;
	}
	if (t < 0)
		rc = dfu_file_set_payload_fd(j->f, j->scratch, offset, size);
	else
		rc = dfu_file_add_element_fd(j->f, (unsigned)t, address,
		    j->scratch, offset, (uint32_t)size);
	if (rc < 0) {
		snprintf(field, sizeof(field), "%saddress", prefix);
		bad(j, t < 0 ? "payload" : field, "%s",
		    dfu_file_errmsg(j->f));
		rc = -1;
	} else {
		rc = 0;
	}
out:
	close(fd);
	free(mem);
	return rc;
}

/* targets[t].name_hex: a name that is not UTF-8, as split writes it. */
static int
read_name_hex(const struct join *j, json_t *jx, const char *field,
    char name[DFUSE_TARGET_NAME_SIZE])
{
	const char *hex = json_is_string(jx) ? json_string_value(jx) : "";
	size_t len = json_is_string(jx) ? json_string_length(jx) : 0, i;
	uint8_t byte;

	if (len == 0 || len % 2 != 0 || strspn(hex, "0123456789abcdefABCDEF")
	    != len)
		return bad(j, field, "expected an even number of hexadecimal "
		    "digits");
	if (len / 2 > DFUSE_TARGET_NAME_SIZE - 1)
		return bad(j, field, "%zu bytes, more than %d", len / 2,
		    DFUSE_TARGET_NAME_SIZE - 1);
	for (i = 0; i < len / 2; i++) {
		byte = hex_byte(hex + 2 * i);
		if (byte == 0)
			return bad(j, field, "a NUL byte at %zu: a name ends "
			    "at its first NUL", i);
		name[i] = (char)byte;
	}
	name[i] = '\0';
	return 0;
}

static int
read_targets(struct join *j, json_t *m)
{
	json_t *jts = json_object_get(m, "targets"), *jt, *jes, *je, *jn, *jx;
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
		char hexname[DFUSE_TARGET_NAME_SIZE];
		const char *name = NULL;

		if (!json_is_object(jt))
			return bad(j, tfield(field, sizeof(field), t, ""), "not an object");
		if (get_number(j, jt, "alt", tfield(field, sizeof(field), t, "alt"), 255, 1, &alt) != 0)
			return -1;
		jn = json_object_get(jt, "name");
		/* name_hex, when there is one, holds the bytes; name then
		 * only reads as them (version 2) or is null (version 1). */
		jx = json_object_get(jt, "name_hex");
		if (jx != NULL && !json_is_null(jx) && j->version >= 2) {
			if (read_name_hex(j, jx, tfield(field, sizeof(field),
			    t, "name_hex"), hexname) != 0)
				return -1;
			name = hexname;
		} else if (jx != NULL && !json_is_null(jx)) {
			if (jn != NULL && !json_is_null(jn))
				return bad(j, tfield(field, sizeof(field), t,
				    "name_hex"), "a target has \"name\" or "
				    "\"name_hex\", not both");
			if (read_name_hex(j, jx, tfield(field, sizeof(field),
			    t, "name_hex"), hexname) != 0)
				return -1;
			name = hexname;
		} else if (jn != NULL && !json_is_null(jn)) {
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

/*
 * Version 2 names its schema, "dfutools/dfusplit-manifest/2"; version 1
 * has "dfusplit": 1 instead.  A later version is refused by its number.
 */
static int
manifest_version(struct join *j, json_t *m)
{
	static const char name[] = "dfutools/dfusplit-manifest/";
	json_t *js = json_object_get(m, "schema");
	json_t *jv = json_object_get(m, "dfusplit");
	const char *s;
	uint32_t version = 0;

	if (js == NULL) {
		if (get_number(j, m, "dfusplit", "dfusplit", UINT32_MAX, 1,
		    &version) != 0)
			return -1;
		if (version != 1 || !json_is_integer(jv))
			return bad(j, "dfusplit", "manifest version %s; this "
			    "dfusplit reads versions 1 and 2 (\"schema\": "
			    "\"%s2\")", json_is_integer(jv) ? "is newer" :
			    "unknown", name);
		j->version = 1;
		return 0;
	}
	s = json_is_string(js) ? json_string_value(js) : "";
	if (strncmp(s, name, sizeof(name) - 1) != 0 ||
	    cli_parse_u32(s + sizeof(name) - 1, &version) != 0 ||
	    version == 0)
		return bad(j, "schema", "expected \"%s2\": not a manifest "
		    "of dfusplit", name);
	if (version != 2)
		return bad(j, "schema", "manifest version %" PRIu32 "; this "
		    "dfusplit reads versions 1 and 2", version);
	j->version = 2;
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
	struct stat st;
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
	j.any_path = o->any_path;
	j.scratch = -1;
	j.dirfd = open(j.dir != NULL ? j.dir : ".", O_PATH | O_DIRECTORY |
	    O_CLOEXEC);
	if (j.dirfd < 0) {
		cli_error(j.dir != NULL ? j.dir : ".", "%s", strerror(errno));
		goto out;
	}
	if (!json_is_object(m)) {
		bad(&j, "(top)", "not a JSON object");
		goto out;
	}
	if (manifest_version(&j, m) != 0)
		goto out;
	jfmt = json_object_get(m, "format");
	if (!json_is_string(jfmt) ||
	    (strcmp(json_string_value(jfmt), "dfuse") != 0 &&
	    strcmp(json_string_value(jfmt), "plain") != 0)) {
		bad(&j, "format", "expected \"dfuse\" or \"plain\"");
		goto out;
	}
	plain = strcmp(json_string_value(jfmt), "plain") == 0;
	if ((j.scratch = scratch_open()) < 0)
		goto out;
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
	if (strcmp(o->output, "-") != 0 && stat(o->output, &st) == 0)
		for (i = 0; i < j.nids; i++)
			if (st.st_dev == j.ids[i].dev &&
			    st.st_ino == j.ids[i].ino) {
				cli_error(o->output, "is the element file %s: "
				    "refusing to write over it",
				    j.ids[i].path);
				goto out;
			}
	j.h = hasher_new(j.stream_total);
	rc = write_dfu_checked(j.f, o->output, NULL, 0, 0, stream_check, &j);
out:
	stream_free(&j);
	for (i = 0; i < j.nids; i++)
		free(j.ids[i].path);
	free(j.ids);
	if (j.scratch >= 0)
		close(j.scratch);
	if (j.dirfd >= 0)
		close(j.dirfd);
	free(j.dir);
	dfu_file_free(j.f);
	json_decref(m);
	return rc;
}
