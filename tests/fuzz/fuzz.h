/*
 * fuzz.h - what the fuzz targets share: the libFuzzer entry point and a
 * property check that aborts (so libFuzzer, and the replay, report it).
 */
#ifndef DFU_FUZZ_H
#define DFU_FUZZ_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                          \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: property failed: %s\n",       \
			    __FILE__, __LINE__, #cond);                       \
			abort();                                              \
		}                                                             \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* How many descriptors this process has open (to find one left open). */
static inline unsigned
fuzz_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	CHECK(d != NULL);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

#endif /* DFU_FUZZ_H */
