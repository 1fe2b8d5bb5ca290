/*
 * dfusplit.h - what the parts of dfusplit share: the options, the inputs
 * as read, and the plan of the file to write.
 */
#ifndef DFUSPLIT_H
#define DFUSPLIT_H

#include <stdint.h>
#include <stdio.h>

#include "dfufile.h"

/* Formats of the element files that split writes and join reads. */
enum elem_format {
	ELEM_BIN = 0,
	ELEM_IHEX,
	ELEM_SREC,
};

/* One --set-name, --set-alt or --set-address. */
struct edit_name {
	const char *arg;
	uint8_t alt;
	const char *name;	/* "" removes the name */
};

struct edit_alt {
	const char *arg;
	uint8_t from, to;
};

struct edit_address {
	const char *arg;
	int has_alt;		/* ALT/ given */
	uint8_t alt;
	uint32_t from, to;
};

struct options {
	enum {
		MODE_SPLIT = 0,
		MODE_JOIN,
		MODE_MERGE,
		MODE_EDIT,	/* extract and edit: one input, one output */
		MODE_STRIP,
		MODE_ADD,
	} mode;
	const char *output;	/* -o: a file, or split's directory */
	int in_place;
	int force;
	int ignore_crc;
	enum elem_format format;
	const char *manifest;	/* --join */
	int any_path;		/* -P: element files anywhere */

	/* Extract. */
	const char **alts_arg;	/* -t, as given */
	uint8_t *alts;
	size_t nalts;
	const char **names;	/* -n */
	size_t nnames;

	/* Edit. */
	int set_vid, set_pid, set_bcd;
	uint16_t vid, pid, bcd;
	struct edit_name *set_names;
	size_t nset_names;
	struct edit_alt *set_alts;
	size_t nset_alts;
	struct edit_address *set_addresses;
	size_t nset_addresses;

	/* --add-suffix: -d and -r. */
	int ids_given;

	char **files;
	int nfiles;
};

/* A .dfu file as read, kept open while the output is written. */
struct input {
	const char *path;	/* as given */
	const char *name;	/* for messages */
	int fd;
	struct dfu_file *f;
};

/* dfusplit.c */
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);
/* Open and read a DFU file, refusing a damaged one; -1 after the message. */
int input_open(struct input *in, const char *path, int ignore_crc);
/*
 * The same, but the CRC is left for input_check_crc() once the caller
 * has passed every byte of the file, in order, to dfu_file_crc_feed()
 * (split reads the file once).  -1 after the message.
 */
int input_open_deferred(struct input *in, const char *path, int ignore_crc);
int input_check_crc(struct input *in, int ignore_crc);
void input_close(struct input *in);
/*
 * Open the one output of a mode: path ("-": stdout), refused when it is
 * one of the inputs, standard output included; or with WRITE_IN_PLACE
 * the file inputs[0] is (path, through any symbolic link: the file it
 * points to is replaced and the link kept), with that file's mode and,
 * where permitted, owner.  WRITE_HINT: the refusal suggests --in-place.
 * *resolved is the in-place path to free() after the commit.  -1 after
 * the message.
 */
#define WRITE_IN_PLACE 0x1u
#define WRITE_HINT 0x2u
struct cli_output;
int output_open(struct cli_output *out, char **resolved, const char *path,
		const struct input *inputs, size_t ninputs, unsigned flags);
/* -1 after the message if output ("-": stdout) is the file at path, an
 * input that is not kept open (the manifest); 0 if not. */
int refuse_output_over(const char *output, const char *path,
		       const char *name);
/* The flags for o's one output. */
unsigned write_flags(const struct options *o);
/* Write f atomically through output_open().  Returns an exit status. */
int write_dfu(struct dfu_file *f, const char *path,
	      const struct input *inputs, size_t ninputs, unsigned flags);
/* The same, with check(arg, failed) after the write, before the commit:
 * the output is placed only if it returns 0.  When the write failed,
 * check() returning -1 means that it printed why. */
int write_dfu_checked(struct dfu_file *f, const char *path,
		      const struct input *inputs, size_t ninputs,
		      unsigned flags, int (*check)(void *arg, int failed),
		      void *arg);

/*
 * hash.c: SHA-256 of the files a mode copies, on a second thread (inline
 * when the job is small).  The producer takes a buffer with
 * hasher_buffer() (it waits while all are in use), fills it, passes runs
 * of it with hasher_data() and each file's end with hasher_end(), then
 * gives it back with hasher_release().  Results are valid after
 * hasher_wait(); hasher_mismatch() says early that a file's digest was
 * not res->expect, so that the producer can stop.
 */
#include <nettle/sha2.h>
#define HASH_CHUNK (256u << 10)
struct hash_result {
	const char *expect;	/* hex digits to compare with, or NULL */
	char hex[2 * SHA256_DIGEST_SIZE + 1];
	int done, mismatch;
};
struct hasher;
struct hasher *hasher_new(uint64_t total);	/* total: bytes to hash */
uint8_t *hasher_buffer(struct hasher *h);	/* HASH_CHUNK bytes */
void hasher_data(struct hasher *h, const uint8_t *p, size_t len);
void hasher_end(struct hasher *h, struct hash_result *res);
void hasher_release(struct hasher *h, const uint8_t *buf);
int hasher_mismatch(struct hasher *h);
void hasher_wait(struct hasher *h);
void hasher_free(struct hasher *h);	/* drops what is queued */
/* The digest of ctx in lower-case hex (ctx starts afresh), for a file
 * hashed on the caller's thread. */
void sha256_hex(struct sha256_ctx *ctx, char out[2 * SHA256_DIGEST_SIZE + 1]);

/* split.c */
int run_split(const struct options *o);

/* build.c: extract, edit, merge, suffix operations */
int run_edit(const struct options *o);
int run_merge(const struct options *o);
int run_strip(const struct options *o);
int run_add(const struct options *o);

/*
 * The manifest that split writes (split.c) and --join reads (manifest.c):
 * schemas/dfusplit-manifest.schema.json.  Version 2 named the suffix's
 * fields vendor_id ... and made every number a JSON number; --join still
 * reads version 1, which has "dfusplit": 1 and no "schema".
 */
#define MANIFEST_SCHEMA "dfutools/dfusplit-manifest/2"

/* manifest.c */
int run_join(const struct options *o);

/*
 * records.c: element files in Intel HEX (16 data bytes per record, type
 * 04 before the first record and at every 64 KiB boundary, type 01 at the
 * end) or Motorola S-records (S0 header, S3 with 32-bit addresses, S5 or
 * S6 count, S7 end).  Errors are those of stdio: check ferror(fp).
 */
struct records {
	FILE *fp;
	enum elem_format format;
	uint32_t upper;		/* IHEX: the last type 04 value */
	int have_upper;
	unsigned long count;	/* SREC: data records written */
};
void records_begin(struct records *r, FILE *fp, enum elem_format format,
		   const char *header);
void records_data(struct records *r, uint32_t address, const uint8_t *data,
		  size_t len);
void records_end(struct records *r);
const char *elem_format_name(enum elem_format format);
const char *elem_format_ext(enum elem_format format);

#endif /* DFUSPLIT_H */
