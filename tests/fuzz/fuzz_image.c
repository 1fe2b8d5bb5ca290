/*
 * fuzz_image - libFuzzer target for the ELF, Intel HEX and S-record
 * loaders (dfuimage.h) and the conversion of an image to DfuSe elements.
 *
 * The input goes to a memory file of exactly its size (the loaders read
 * through a descriptor) and is loaded by the loader its first bytes pick,
 * then by the two others too, so that each loader sees every input.
 * Properties checked, not only "no crash":
 *   - a failed load leaves a message;
 *   - the ranges of a loaded image are in address order, do not touch or
 *     overlap, stay below 4 GiB, and their sizes add up to the pieces';
 *   - every byte of every range can be read, and reading one byte past a
 *     range fails;
 *   - the whole image converted to one DfuSe target, written and read
 *     back, is a valid file whose elements hold exactly the image's bytes
 *     at their addresses.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dfuimage.h"
#include "fuzz.h"

/* Keep the fuzzer's memory small: images larger than this are only
 * checked for their ranges. */
#define MAX_IMAGE (1u << 20)

static int
memfile(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", 0);

	CHECK(fd >= 0);
	CHECK(write(fd, data, size) == (ssize_t)size);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

/* The image written as one DfuSe target and read back. */
static void
check_conversion(struct dfu_image *img, uint64_t total)
{
	struct dfu_file *f = dfu_file_new(), *g = dfu_file_new();
	uint8_t *want, *got, *out;
	unsigned n, e, i;
	off_t len;
	int fd;

	CHECK(f != NULL && g != NULL);
	CHECK(dfu_file_init(f, DFU_FORMAT_DFUSE) == 0);
	CHECK(dfu_file_add_target(f, 0, NULL) == 0);
	if (dfu_image_add_elements(img, f, 0, 0, UINT32_MAX, 0, 0xff, &n) != 0) {
		/* Only a DfuSe limit may refuse it: too many elements. */
		CHECK(dfu_image_range_count(img) > 0);
		goto out;
	}
	CHECK(n == dfu_image_range_count(img));
	fd = memfd_create("out", 0);
	CHECK(fd >= 0);
	CHECK(dfu_file_write_fd(f, fd) == 0);
	len = lseek(fd, 0, SEEK_END);
	out = malloc((size_t)len);
	CHECK(out != NULL && pread(fd, out, (size_t)len, 0) == len);
	close(fd);
	CHECK(dfu_file_read_mem(g, out, (size_t)len, 0) == 0);
	CHECK(dfu_file_element_count(g, 0) == n);
	for (e = 0, i = 0; e < n; e++, i++) {
		const struct dfu_element *el = dfu_file_element(g, 0, e);
		uint32_t address;
		uint64_t size;

		CHECK(dfu_image_range(img, i, &address, &size) == 0);
		CHECK(el->address == address && el->size == size);
		want = malloc(size ? (size_t)size : 1);
		got = malloc(size ? (size_t)size : 1);
		CHECK(want != NULL && got != NULL);
		CHECK(dfu_image_read(img, address, want, (size_t)size) == 0);
		CHECK(dfu_file_element_read(g, 0, e, 0, got, (size_t)size) == 0);
		CHECK(memcmp(want, got, (size_t)size) == 0);
		free(want);
		free(got);
	}
	free(out);
	(void)total;
out:
	dfu_file_free(f);
	dfu_file_free(g);
}

static void
check_image(struct dfu_image *img)
{
	size_t i, n = dfu_image_range_count(img);
	uint64_t total = 0, pieces = 0, prev_end = 0;
	uint8_t byte;

	for (i = 0; i < n; i++) {
		uint32_t address;
		uint64_t size;

		CHECK(dfu_image_range(img, i, &address, &size) == 0);
		CHECK(size > 0);
		CHECK((uint64_t)address + size <= UINT64_C(0x100000000));
		/* Ranges are maximal: a gap separates two of them. */
		CHECK(i == 0 || address > prev_end);
		prev_end = (uint64_t)address + size;
		total += size;
		CHECK(dfu_image_read(img, address, &byte, 1) == 0);
		CHECK(dfu_image_read(img, (uint32_t)(prev_end - 1), &byte,
		    1) == 0);
		if (prev_end < UINT64_C(0x100000000))
			CHECK(dfu_image_read(img, (uint32_t)prev_end, &byte,
			    1) != 0);
	}
	CHECK(dfu_image_range(img, n, NULL, NULL) != 0);
	for (i = 0; i < dfu_image_piece_count(img); i++) {
		uint32_t address, size;
		const char *origin;

		CHECK(dfu_image_piece(img, i, &address, &size, &origin) == 0);
		CHECK(origin != NULL);
		pieces += size;
	}
	CHECK(pieces == total);
	if (total > 0 && total <= MAX_IMAGE)
		check_conversion(img, total);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum dfu_image_format formats[] = {
		DFU_IMAGE_ELF, DFU_IMAGE_IHEX, DFU_IMAGE_SREC,
	};
	size_t k;

	(void)dfu_image_format_name(dfu_image_detect(data, size));
	for (k = 0; k < sizeof(formats) / sizeof(formats[0]); k++) {
		struct dfu_image *img = dfu_image_new();
		int fd = memfile(data, size), rc;

		CHECK(img != NULL);
		switch (formats[k]) {
		case DFU_IMAGE_ELF:
			rc = dfu_image_load_elf(img, fd, NULL);
			break;
		case DFU_IMAGE_IHEX:
			rc = dfu_image_load_ihex(img, fd);
			break;
		default:
			rc = dfu_image_load_srec(img, fd);
			break;
		}
		if (rc != 0)
			CHECK(dfu_image_errmsg(img)[0] != '\0');
		else
			check_image(img);
		dfu_image_free(img);
		close(fd);
	}
	return 0;
}
