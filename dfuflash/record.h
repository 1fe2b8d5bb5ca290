/*
 * record.h - dfuflash --log DIR: one JSON record per board flashed, so
 * that a production line keeps what went into which board (the format
 * is schemas/dfuflash-record.schema.json).
 */
#ifndef DFUFLASH_RECORD_H
#define DFUFLASH_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "events.h"

/* What one board's flash was; strings are borrowed (NULL: none). */
struct dfl_record {
	const char *path, *serial;	/* serial NULL: the device has none */
	uint16_t vendor_id, product_id;
	const char *file;		/* the input as given */
	const char *sha256;		/* of the input file, 64 hex digits */
	int exit_status;		/* what dfuflash exits with for it */
	const char *phase;		/* the last phase it reached */
	const char *error;		/* NULL when it was flashed */
	uint64_t bytes_erased, bytes_written;
	uint64_t started_us;		/* UTC, microseconds since 1970 */
	uint64_t duration_us;		/* wall time of the flash */
	int64_t modelled_us;		/* --sim: modelled time; -1 on USB */
	/* The same board's result event (events.h), for the failure's
	 * address, DFU state and status and the device's iString; NULL:
	 * none of these. */
	const struct dfl_outcome *outcome;
};

/*
 * The SHA-256 of everything fd holds, read with pread() from offset 0,
 * as 64 lower-case hex digits and a NUL in hex.  0, or -1 with errno.
 */
int dfl_sha256_fd(int fd, char hex[65]);

/*
 * Can records be written to dir (an existing, writable directory)?
 * 0, or -1 with the reason ("not a directory", strerror) in msg.
 */
int dfl_record_dir_ok(const char *dir, char *msg, size_t msglen);

/*
 * Write r to dir as SERIAL-TIMESTAMP.json (PATH-... for a device without
 * a serial; characters other than letters, digits, '.', '_' and '-' as
 * '_'), through a temporary file renamed into place.  0 with the file's
 * name in name, or -1 after printing why.
 */
int dfl_record_write(const char *dir, const struct dfl_record *r,
		     char *name, size_t namelen);

#endif /* DFUFLASH_RECORD_H */
