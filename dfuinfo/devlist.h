/*
 * devlist.h - dfuinfo -L FILE: the memory layouts of a device, read from
 * the device list that `dfuflash -l --json` saved.
 */
#ifndef DFUINFO_DEVLIST_H
#define DFUINFO_DEVLIST_H

#include <stddef.h>

#include "fit.h"

/*
 * Append to *layouts a layout for every alternate setting of the one
 * device listed in path whose name is a layout string ('@' first).
 * Alternate settings already in *layouts are an error.  0, or -1 with
 * a message (without the file name) in err.
 */
int devlist_read_layouts(const char *path, struct fit_layout **layouts,
			 size_t *nlayouts, char *err, size_t errlen);

#endif /* DFUINFO_DEVLIST_H */
