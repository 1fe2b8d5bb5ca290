/*
 * image_test.h - helpers for the unit tests of the memory image and its
 * loaders: inputs built in memory are handed to the loaders through an
 * unlinked temporary file, and failures are checked by code and by the
 * exact message.
 */
#ifndef IMAGE_TEST_H
#define IMAGE_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dfuimage.h"

/* A descriptor of an unlinked file holding len bytes of buf, at offset 0. */
static inline int
it_fd(const void *buf, size_t len)
{
	char path[] = "/tmp/test_image.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static inline int
it_fd_str(const char *s)
{
	return it_fd(s, strlen(s));
}

/* The call failed with this code and exactly this message. */
#define it_fails(img, call, code, msg)                                        \
	do {                                                                  \
		int rc_ = (call);                                             \
		if (rc_ != (code) || strcmp(dfu_image_errmsg(img), (msg)) != 0) \
			fail_msg("%s: got %d \"%s\", want %d \"%s\"", #call,  \
				 rc_, dfu_image_errmsg(img), (code), (msg));  \
	} while (0)

#define it_ok(img, call)                                                      \
	do {                                                                  \
		int rc_ = (call);                                             \
		if (rc_ != 0)                                                 \
			fail_msg("%s: got %d \"%s\"", #call, rc_,             \
				 dfu_image_errmsg(img));                      \
	} while (0)

/* Range i of the image is [addr, addr + size). */
static inline void
it_range(const struct dfu_image *img, size_t i, uint32_t addr, uint64_t size)
{
	uint32_t a;
	uint64_t s;

	assert_int_equal(dfu_image_range(img, i, &a, &s), 0);
	if (a != addr || s != size)
		fail_msg("range %zu: 0x%08x+0x%llx, want 0x%08x+0x%llx", i, a,
			 (unsigned long long)s, addr, (unsigned long long)size);
}

/* The image holds exactly len bytes of want at addr. */
static inline void
it_bytes(struct dfu_image *img, uint32_t addr, const void *want, size_t len)
{
	uint8_t *got = malloc(len ? len : 1);

	assert_non_null(got);
	it_ok(img, dfu_image_read(img, addr, got, len));
	assert_memory_equal(got, want, len);
	free(got);
}

#endif /* IMAGE_TEST_H */
