/*
 * list.h - dfuflash -l: the DFU devices found, as text or as one JSON
 * document (the format is in man/dfuflash.1, LIST FORMAT).
 */
#ifndef DFUFLASH_LIST_H
#define DFUFLASH_LIST_H

#include <stdio.h>

#include "usb.h"

/* Print every device of the last scan of u; 0, or -1 on a write error. */
int dfl_list_print(FILE *f, const struct dfl_usb *u, int json);

#endif /* DFUFLASH_LIST_H */
