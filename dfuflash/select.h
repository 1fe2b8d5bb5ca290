/*
 * select.h - which DFU device and which alternate setting the command line
 * means: -d, -S, -p and -a, as pure functions (no libusb, no I/O), so that
 * the matching rules are unit-tested on their own.
 */
#ifndef DFUFLASH_SELECT_H
#define DFUFLASH_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "transport.h"

/* The most -S and -p each: a factory hub's devices (dfuflash --all). */
#define DFL_MATCH_MAX 64

/*
 * What -d, -S and -p ask for; a member unset matches every device.  -S
 * and -p are repeatable: a device matches when its serial is one of
 * serials and its path one of paths.
 */
struct dfl_match {
	int ids_set;		/* -d VID:PID: a run-time mode device */
	uint16_t vid, pid;
	int dfu_ids_set;	/* -d ...,DFU_VID:DFU_PID: a DFU-mode device */
	uint16_t dfu_vid, dfu_pid;
	/* -S: the iSerialNumber string, exactly, as dfuflash -l prints it
	 * (or, for a device whose serial is not UTF-16, as read in
	 * UTF-16). */
	const char *serials[DFL_MATCH_MAX];
	size_t nserials;
	const char *paths[DFL_MATCH_MAX];	/* -p: "BUS-PORT[.PORT]..." */
	size_t npaths;
};

/* One device as enumeration saw it. */
struct dfl_candidate {
	const char *path;
	uint16_t vid, pid;
	const char *serial;	/* NULL when it could not be read */
	int runtime;		/* bInterfaceProtocol 1 */
	/* The serial as UTF-16LE when it was read otherwise (a device of
	 * the quirk table that sends UTF-8), or NULL; -S matches either. */
	const char *serial_utf16;
};

/*
 * -d VID:PID[,DFU_VID:DFU_PID], hexadecimal with or without "0x".
 * VID:PID alone matches a device in either mode, as dfu-util's -d does;
 * with the second pair, VID:PID matches the run-time mode and
 * DFU_VID:DFU_PID the DFU mode.  0 or -1 (malformed).
 */
int dfl_match_parse_ids(struct dfl_match *m, const char *arg);

/* -p: 1 to 255 as the bus, '-', then ports 1 to 255 separated by '.', at
 * most 7 of them (USB 2.0 allows 5 tiers of hubs).  0 or -1. */
int dfl_path_valid(const char *path);

/* "1-2.3" from a bus and its port numbers (libusb_get_port_numbers());
 * a root hub, with no port, is "1-0".  The length, or -1 if it does not
 * fit in len. */
int dfl_path_format(char *buf, size_t len, uint8_t bus, const uint8_t *ports,
		    int nports);

/* 1 if c is what m asks for. */
int dfl_match(const struct dfl_match *m, const struct dfl_candidate *c);

/*
 * -a: the alternate setting ARG means among alts, in this order: a number
 * (0 to 255; decimal, or hexadecimal with "0x") that is one of alts, a
 * whole iInterface string, a substring of exactly one name.  Returns 0
 * with *alt set; -1 when nothing matches, -2 when the substring is in
 * several names; msg then says which and lists the alternate settings
 * ("alt 0 \"@Internal Flash...\", alt 1 \"@Option Bytes...\"").
 */
int dfl_alt_resolve(const struct dfl_alt *alts, unsigned nalts,
		    const char *arg, uint8_t *alt, char *msg, size_t msglen);

#endif /* DFUFLASH_SELECT_H */
