/*
 * fuzz.h - what the fuzz targets share: the libFuzzer entry point and a
 * property check that aborts (so libFuzzer, and the replay, report it).
 */
#ifndef DFU_FUZZ_H
#define DFU_FUZZ_H

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

#endif /* DFU_FUZZ_H */
