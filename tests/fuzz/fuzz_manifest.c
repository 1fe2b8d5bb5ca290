/*
 * fuzz_manifest - libFuzzer target for dfusplit's manifest reader
 * (--join): the input is the manifest.
 *
 * The manifest is written to a scratch directory that also holds element
 * files it can name: a.bin (16 bytes), b.bin (4 bytes), c.hex (Intel HEX,
 * 4 bytes at 0x08000000) and d.srec (S-records, 2 bytes at 0x1fffc000);
 * and names the path rules must refuse or allow: in.bin (a symbolic link
 * to a.bin), sub/e.bin, out.bin (a symbolic link to a file outside the
 * directory), fifo, dir.  The file outside, beside the directory, holds
 * a marker that no output may contain.
 * Properties checked, not only "no crash" (messages go to stderr):
 *   - join ends with 0 or 1, never anything else;
 *   - on 0 the output is a DFU file that libdfufile reads without errors,
 *     without the bytes of the file outside the directory (reached
 *     through out.bin, "..", or its absolute path); on 1 no output and no
 *     temporary file is left;
 *   - no descriptor is left open (one element file at a time); a FIFO
 *     never blocks (the run would hang).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dfusplit.h"
#include "fuzz.h"

static char dir[] = "/tmp/fuzz_manifest.XXXXXX";
static char outside[64];
static const char marker[] = "OUTSIDE-MARKER-0123456789";

static void
put_file(const char *name, const char *text, size_t len)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	CHECK(fp != NULL && fwrite(text, 1, len, fp) == len);
	CHECK(fclose(fp) == 0);
}

static void
setup(void)
{
	static int done;

	if (done)
		return;
	CHECK(mkdtemp(dir) != NULL);
	put_file("a.bin", "0123456789abcdef", 16);
	put_file("b.bin", "wxyz", 4);
	put_file("c.hex", ":020000040800F2\n:0400000001020304F2\n:00000001FF\n",
	    48);
	put_file("d.srec", "S3071FFFC000AABBB5\nS70500000000FA\n", 34);
	/* dir is /tmp/fuzz_manifest.XXXXXX: the file outside is
	 * /tmp/fuzz_manifest.XXXXXX.out, named "../fuzz_manifest.XXXXXX.out"
	 * from inside. */
	snprintf(outside, sizeof(outside), "%s.out", dir);
	{
		FILE *fp = fopen(outside, "wb");
		char link[256], target[256];

		CHECK(fp != NULL && fputs(marker, fp) >= 0 && fclose(fp) == 0);
		snprintf(link, sizeof(link), "%s/out.bin", dir);
		snprintf(target, sizeof(target), "../%s", strrchr(outside,
		    '/') + 1);
		CHECK(symlink(target, link) == 0);
		snprintf(link, sizeof(link), "%s/in.bin", dir);
		CHECK(symlink("a.bin", link) == 0);
		snprintf(link, sizeof(link), "%s/fifo", dir);
		CHECK(mkfifo(link, 0600) == 0);
		snprintf(link, sizeof(link), "%s/dir", dir);
		CHECK(mkdir(link, 0700) == 0);
		snprintf(link, sizeof(link), "%s/sub", dir);
		CHECK(mkdir(link, 0700) == 0);
	}
	put_file("sub/e.bin", "sub-directory", 13);
	cli_init("dfusplit");
	done = 1;
}

/* Every name in the scratch directory that is not an element file. */
static unsigned
leftovers(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	CHECK(d != NULL);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0))
			n += strcmp(e->d_name, "a.bin") != 0 &&
			    strcmp(e->d_name, "b.bin") != 0 &&
			    strcmp(e->d_name, "c.hex") != 0 &&
			    strcmp(e->d_name, "d.srec") != 0 &&
			    strcmp(e->d_name, "in.bin") != 0 &&
			    strcmp(e->d_name, "out.bin") != 0 &&
			    strcmp(e->d_name, "fifo") != 0 &&
			    strcmp(e->d_name, "dir") != 0 &&
			    strcmp(e->d_name, "sub") != 0 &&
			    strcmp(e->d_name, "m.json") != 0;
	closedir(d);
	return n;
}

/* 1 if an element or the payload of f holds the marker of the file
 * outside the directory (a target name may: the fuzzer writes it; and
 * an element may be the manifest itself, which is the fuzzer's input). */
static int
outside_bytes(struct dfu_file *f)
{
	uint8_t *b;
	uint64_t n;
	int found = 0;

	if (dfu_file_format(f) == DFU_FORMAT_PLAIN) {
		n = dfu_file_payload_size(f);
		CHECK((b = malloc(n ? (size_t)n : 1)) != NULL);
		CHECK(dfu_file_payload_read(f, 0, b, (size_t)n) == 0);
		found = memmem(b, (size_t)n, marker, sizeof(marker) - 1) !=
		    NULL;
		free(b);
		return found;
	}
	for (unsigned t = 0; t < dfu_file_target_count(f); t++)
		for (unsigned e = 0; e < dfu_file_element_count(f, t); e++) {
			n = dfu_file_element(f, t, e)->size;
			CHECK((b = malloc(n ? (size_t)n : 1)) != NULL);
			CHECK(dfu_file_element_read(f, t, e, 0, b,
			    (size_t)n) == 0);
			found |= memmem(b, (size_t)n, marker,
			    sizeof(marker) - 1) != NULL;
			free(b);
		}
	return found;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct options o;
	char manifest[256], out[256];
	struct dfu_file *f;
	FILE *err = stderr;
	unsigned fds;
	int rc;

	setup();
	put_file("m.json", (const char *)data, size);
	snprintf(manifest, sizeof(manifest), "%s/m.json", dir);
	snprintf(out, sizeof(out), "%s/out.dfu", dir);
	memset(&o, 0, sizeof(o));
	o.mode = MODE_JOIN;
	o.manifest = manifest;
	o.output = out;
	/* The messages are not what is tested: keep the fuzzer's log short. */
	stderr = fopen("/dev/null", "w");
	fds = fuzz_open_fds();
	rc = run_join(&o);
	CHECK(fuzz_open_fds() == fds);
	fclose(stderr);
	stderr = err;
	CHECK(rc == CLI_EXIT_OK || rc == CLI_EXIT_FAIL);
	if (rc == CLI_EXIT_OK) {
		f = dfu_file_new();
		CHECK(f != NULL);
		CHECK(access(out, F_OK) == 0);
		{
			FILE *fp = fopen(out, "rb");
			uint8_t *buf;
			long len;

			CHECK(fp != NULL && fseek(fp, 0, SEEK_END) == 0);
			len = ftell(fp);
			CHECK(len > 0 && fseek(fp, 0, SEEK_SET) == 0);
			buf = malloc((size_t)len);
			CHECK(buf != NULL &&
			    fread(buf, 1, (size_t)len, fp) == (size_t)len);
			fclose(fp);
			CHECK(dfu_file_read_mem(f, buf, (size_t)len, 0) == 0);
			/*
			 * The manifest is a file inside the directory that
			 * may name itself as an element: when the input
			 * holds the marker, the bytes prove nothing.
			 */
			if (memmem(data, size, marker, sizeof(marker) - 1) ==
			    NULL)
				CHECK(!outside_bytes(f));
			free(buf);
		}
		dfu_file_free(f);
		CHECK(unlink(out) == 0);
	}
	CHECK(leftovers() == 0);
	return 0;
}
