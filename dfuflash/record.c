/*
 * record.c - the per-board records of dfuflash --log DIR (record.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "record.h"

int
dfl_sha256_fd(int fd, char hex[65])
{
	struct sha256_ctx ctx;
	uint8_t buf[65536], d[SHA256_DIGEST_SIZE];
	off_t off = 0;
	ssize_t n;

	sha256_init(&ctx);
	for (;;) {
		n = pread(fd, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		sha256_update(&ctx, (size_t)n, buf);
		off += n;
	}
	sha256_digest(&ctx, sizeof(d), d);
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return 0;
}

int
dfl_record_dir_ok(const char *dir, char *msg, size_t msglen)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		snprintf(msg, msglen, "%s", strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(msg, msglen, "not a directory");
		return -1;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		snprintf(msg, msglen, "cannot write records in it: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* "2026-12-04T19:30:00.123Z" (ISO 8601, UTC, milliseconds); with
 * compact, "20261204T193000.123Z" for a file name. */
static void
utc_text(char *buf, size_t len, uint64_t us, int compact)
{
	time_t t = (time_t)(us / 1000000u);
	struct tm tm;
	char s[32];

	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), compact ? "%Y%m%dT%H%M%S" : "%Y-%m-%dT%H:%M:%S",
	    &tm);
	snprintf(buf, len, "%s.%03uZ", s, (unsigned)(us / 1000u % 1000u));
}

/* A serial number or port path as part of a file name. */
static void
file_part(char *out, size_t len, const char *s)
{
	size_t n = 0;

	for (; *s != '\0' && n + 1 < len; s++, n++) {
		unsigned char c = (unsigned char)*s;

		out[n] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-' ? (char)c : '_';
	}
	out[n] = '\0';
	/* Never a hidden file, nor "." or "..". */
	if (out[0] == '.')
		out[0] = '_';
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* Milliseconds, rounded down: the convention's durations. */
static json_t *
ms(uint64_t us)
{
	return json_integer((json_int_t)(us / 1000u));
}

static json_t *
record_json(const struct dfl_record *r)
{
	char started[40];
	json_t *o = json_object(), *err = json_null();

	utc_text(started, sizeof(started), r->started_us, 0);
	if (r->error != NULL) {
		static const char *const from_result[] = { "address",
			"dfu_state", "dfu_status", "device_message" };
		json_t *res = r->outcome != NULL ?
		    dfl_outcome_json(r->outcome) : NULL;

		err = json_object();
		json_object_set_new(err, "phase", str_or_null(r->phase));
		json_object_set_new(err, "message", json_string(r->error));
		/* What the result event says of where and how it failed. */
		for (size_t i = 0; i < 4; i++) {
			json_t *v = res != NULL ? json_object_get(res,
			    from_result[i]) : NULL;

			json_object_set_new(err, from_result[i], v != NULL ?
			    json_incref(v) : json_null());
		}
		json_decref(res);
	}
	json_object_set_new(o, "schema",
	    json_string("dfutools/dfuflash-record/1"));
	json_object_set_new(o, "path", json_string(r->path));
	json_object_set_new(o, "serial", str_or_null(r->serial));
	json_object_set_new(o, "vendor_id", json_integer(r->vendor_id));
	json_object_set_new(o, "product_id", json_integer(r->product_id));
	json_object_set_new(o, "file", json_string(r->file));
	json_object_set_new(o, "sha256", json_string(r->sha256));
	json_object_set_new(o, "result", json_string(r->exit_status == 0 ?
	    "ok" : "failed"));
	json_object_set_new(o, "exit_status", json_integer(r->exit_status));
	json_object_set_new(o, "status_name",
	    json_string(dfl_exit_name(r->exit_status)));
	json_object_set_new(o, "error", err);
	json_object_set_new(o, "bytes_erased",
	    json_integer((json_int_t)r->bytes_erased));
	json_object_set_new(o, "bytes_written",
	    json_integer((json_int_t)r->bytes_written));
	json_object_set_new(o, "started", json_string(started));
	json_object_set_new(o, "duration_ms", ms(r->duration_us));
	json_object_set_new(o, "modelled_ms", r->modelled_us >= 0 ?
	    ms((uint64_t)r->modelled_us) : json_null());
	return o;
}

int
dfl_record_write(const char *dir, const struct dfl_record *r, char *name,
    size_t namelen)
{
	struct cli_output out;
	char who[160], when[40];
	json_t *o;
	char *text;
	size_t len;
	int rc = -1;

	file_part(who, sizeof(who), r->serial != NULL ? r->serial : r->path);
	utc_text(when, sizeof(when), r->started_us, 1);
	/* A board flashed twice in one millisecond (it cannot be, but a
	 * clock can step back) gets -2, -3 ...: a record is never
	 * replaced. */
	for (unsigned k = 1; k < 1000; k++) {
		if (k == 1)
			snprintf(name, namelen, "%s/%s-%s.json", dir, who,
			    when);
		else
			snprintf(name, namelen, "%s/%s-%s-%u.json", dir, who,
			    when, k);
		if (access(name, F_OK) != 0 && errno == ENOENT)
			break;
	}
	if ((o = record_json(r)) == NULL ||
	    (text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) ==
	    NULL) {
		json_decref(o);
		cli_error(name, "out of memory");
		return -1;
	}
	json_decref(o);
	len = strlen(text);
	if (cli_output_open_flags(&out, name, CLI_OUTPUT_REGULAR) != 0)
		goto done;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(out.fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cli_error(name, "write: %s", strerror(errno));
			cli_output_abort(&out);
			goto done;
		}
		off += (size_t)n;
	}
	if (write(out.fd, "\n", 1) != 1) {
		cli_error(name, "write: %s", strerror(errno));
		cli_output_abort(&out);
		goto done;
	}
	rc = cli_output_commit(&out);
done:
	free(text);
	return rc;
}
