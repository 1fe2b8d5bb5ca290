/*
 * jsonout.h - dfuinfo: one JSON document written by jansson, its long
 * arrays an item at a time.
 *
 * A jansson tree of the report of a file with 65,536 elements (the
 * library's limit) takes about 48 MiB (measured: 65,536 objects of five
 * members), where dfuinfo reads a 1 GiB file in a few MiB.  So the
 * report is dumped in pieces: jansson dumps an object whose long arrays
 * ("files", each target's "elements") are left empty, and where such an
 * array appears a callback fills it, dumping its items one by one.
 * jansson writes every value; only the brackets, commas and indentation
 * around those items are written here.  The document reads as one
 * json_dumpf(JSON_INDENT(2) | JSON_PRESERVE_ORDER) of the whole tree.
 *
 * Its names start with jo_ (JSON output).
 */
#ifndef DFUINFO_JSONOUT_H
#define DFUINFO_JSONOUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* An array being filled: where its items go. */
struct jo_array {
	FILE *fp;
	int indent;   /* of its items */
	size_t count; /* items written */
};

/*
 * Fill the nth empty array named key (counted from 0 in the dump's
 * order) with jo_item() or jo_begin() and jo_dump(); 0 or -1.
 */
typedef int (*jo_fill_fn)(void *ctx, size_t nth, struct jo_array *a);

/*
 * Dump obj to fp as if it started at column indent, each empty array
 * named key (NULL: none) filled by fill.  0, or -1 when out of memory
 * or when fill fails; write errors are left on fp.
 */
int jo_dump(FILE *fp, const json_t *obj, int indent, const char *key,
	    jo_fill_fn fill, void *ctx);

/* Start the next item of a: the separator and the indentation. */
void jo_begin(struct jo_array *a);

/* Dump item as the next item of a, and drop the reference to it. */
int jo_item(struct jo_array *a, json_t *item);

#endif /* DFUINFO_JSONOUT_H */
