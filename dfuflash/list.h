/*
 * list.h - dfuflash -l: the DFU devices found, as text or as one JSON
 * document (the format is in man/dfuflash.1, LIST FORMAT).
 */
#ifndef DFUFLASH_LIST_H
#define DFUFLASH_LIST_H

#include <stdio.h>

#include "select.h"
#include "usb.h"

/* The JSON list's schema (schemas/device-list.schema.json). */
#define DFL_LIST_SCHEMA "dfutools/device-list/1"

/*
 * Print the devices of the last scan of u that m matches (-d, -S, -p; an
 * empty match is every device), their number in *shown; 0, or -1 on a
 * write error or when out of memory.
 */
int dfl_list_print(FILE *f, const struct dfl_usb *u,
		   const struct dfl_match *m, int json, size_t *shown);

/*
 * The same for the n devices of in (the modelled devices of --sim, made
 * to look as a scan would find them).
 */
int dfl_list_print_infos(FILE *f, const struct dfl_usb_info *in, size_t n,
			 const struct dfl_match *m, int json, size_t *shown);

#endif /* DFUFLASH_LIST_H */
