/*
 * fuzz_split - libFuzzer target for dfusplit's split (the default mode):
 * the input is the DFU file, split into a directory that does not exist
 * yet, in the element file format that the input's size modulo 3 picks
 * (bin, Intel HEX, S-records).
 * Properties checked, not only "no crash" (messages go to stderr):
 *   - split ends with 0 or 1, never anything else, and leaves no
 *     descriptor open;
 *   - on 1 the directory it created is gone: nothing it made stays;
 *   - on 0 the directory holds exactly the manifest and the files it
 *     names, each name once, no hidden (temporary) file; element file
 *     names are unique even where elements share an address;
 *   - on 0 --join of that manifest gives a file with the input's format,
 *     suffix IDs, targets (alt, name) and elements (address, size, bytes),
 *     or the same payload for a plain file.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dfusplit.h"
#include "fuzz.h"

static char dir[] = "/tmp/fuzz_split.XXXXXX";

static void
setup(void)
{
	static int done;

	if (done)
		return;
	CHECK(mkdtemp(dir) != NULL);
	cli_init("dfusplit");
	done = 1;
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;
	long n;

	CHECK(fp != NULL && fseek(fp, 0, SEEK_END) == 0);
	n = ftell(fp);
	CHECK(n >= 0 && fseek(fp, 0, SEEK_SET) == 0);
	buf = malloc(n > 0 ? (size_t)n : 1);
	CHECK(buf != NULL && fread(buf, 1, (size_t)n, fp) == (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* Every name in out/ is the manifest or a file it names, once each. */
static void
check_dir(const char *out, const char *mpath)
{
	json_t *m = json_load_file(mpath, 0, NULL), *t, *e, *f;
	size_t i, j, named = 0, found = 0;
	DIR *d;
	struct dirent *de;
	char *names = NULL;
	size_t nlen = 0;

	CHECK(m != NULL);
	/* The names the manifest gives, "\n"-separated; a DfuSe file's
	 * manifest has "payload": null. */
	if (json_is_object(t = json_object_get(m, "payload"))) {
		f = json_object_get(t, "file");
		CHECK(json_is_string(f));
		CHECK(asprintf(&names, "\n%s\n", json_string_value(f)) > 0);
		named = 1;
	} else {
		names = strdup("\n");
		json_array_foreach(json_object_get(m, "targets"), i, t)
			json_array_foreach(json_object_get(t, "elements"), j, e) {
				char *more;

				f = json_object_get(e, "file");
				CHECK(json_is_string(f));
				CHECK(strchr(json_string_value(f), '/') == NULL);
				CHECK(asprintf(&more, "%s%s\n", names,
				    json_string_value(f)) > 0);
				free(names);
				names = more;
				named++;
			}
	}
	nlen = strlen(names);
	d = opendir(out);
	CHECK(d != NULL);
	while ((de = readdir(d)) != NULL) {
		char key[300];

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		CHECK(de->d_name[0] != '.');
		if (strcmp(de->d_name, "in.manifest.json") == 0)
			continue;
		snprintf(key, sizeof(key), "\n%s\n", de->d_name);
		CHECK(memmem(names, nlen, key, strlen(key)) != NULL);
		found++;
	}
	closedir(d);
	/* Each named file exists, and no name is given twice. */
	CHECK(found == named);
	free(names);
	json_decref(m);
}

/* The joined file holds what the input held. */
static void
check_same(const uint8_t *data, size_t size, const char *joined)
{
	struct dfu_file *a = dfu_file_new(), *b = dfu_file_new();
	const struct dfu_suffix *sa, *sb;
	uint8_t *buf, *x, *y;
	size_t len;
	unsigned t, e;

	CHECK(a != NULL && b != NULL);
	CHECK(dfu_file_read_mem(a, data, size, DFU_READ_IGNORE_CRC) == 0);
	buf = slurp(joined, &len);
	CHECK(dfu_file_read_mem(b, buf, len, 0) == 0);
	CHECK(dfu_file_format(a) == dfu_file_format(b));
	sa = dfu_file_suffix(a);
	sb = dfu_file_suffix(b);
	CHECK(sa->idVendor == sb->idVendor && sa->idProduct == sb->idProduct &&
	    sa->bcdDevice == sb->bcdDevice);
	if (dfu_file_format(a) == DFU_FORMAT_DFUSE) {
		CHECK(dfu_file_target_count(a) == dfu_file_target_count(b));
		for (t = 0; t < dfu_file_target_count(a); t++) {
			const struct dfuse_target *ta = dfu_file_target(a, t);
			const struct dfuse_target *tb = dfu_file_target(b, t);

			CHECK(ta->bAlternateSetting == tb->bAlternateSetting);
			CHECK(!ta->bTargetNamed == !tb->bTargetNamed);
			CHECK(!ta->bTargetNamed ||
			    strcmp(ta->szTargetName, tb->szTargetName) == 0);
			CHECK(dfu_file_element_count(a, t) ==
			    dfu_file_element_count(b, t));
			for (e = 0; e < dfu_file_element_count(a, t); e++) {
				const struct dfu_element *ea =
				    dfu_file_element(a, t, e);
				const struct dfu_element *eb =
				    dfu_file_element(b, t, e);

				CHECK(ea->address == eb->address);
				CHECK(ea->size == eb->size);
				x = malloc(ea->size + 1);
				y = malloc(ea->size + 1);
				CHECK(x != NULL && y != NULL);
				CHECK(dfu_file_element_read(a, t, e, 0, x,
				    ea->size) == 0);
				CHECK(dfu_file_element_read(b, t, e, 0, y,
				    ea->size) == 0);
				CHECK(memcmp(x, y, ea->size) == 0);
				free(x);
				free(y);
			}
		}
	} else {
		uint64_t n = dfu_file_payload_size(a);

		CHECK(n == dfu_file_payload_size(b));
		x = malloc(n + 1);
		y = malloc(n + 1);
		CHECK(x != NULL && y != NULL);
		CHECK(dfu_file_payload_read(a, 0, x, n) == 0);
		CHECK(dfu_file_payload_read(b, 0, y, n) == 0);
		CHECK(memcmp(x, y, n) == 0);
		free(x);
		free(y);
	}
	free(buf);
	dfu_file_free(a);
	dfu_file_free(b);
}

static void
remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char p[512];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		CHECK(unlink(p) == 0);
	}
	closedir(d);
	CHECK(rmdir(path) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum elem_format formats[] = {
		ELEM_BIN, ELEM_IHEX, ELEM_SREC
	};
	char in[256], out[256], mpath[300], joined[300];
	char *files[1];
	struct options o;
	struct stat st;
	unsigned fds;
	FILE *fp, *err = stderr;
	int rc;

	setup();
	snprintf(in, sizeof(in), "%s/in.dfu", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(mpath, sizeof(mpath), "%s/in.manifest.json", out);
	snprintf(joined, sizeof(joined), "%s/joined.dfu", dir);
	fp = fopen(in, "wb");
	CHECK(fp != NULL && fwrite(data, 1, size, fp) == size &&
	    fclose(fp) == 0);
	memset(&o, 0, sizeof(o));
	o.mode = MODE_SPLIT;
	o.output = out;
	o.format = formats[size % 3];
	o.ignore_crc = 1;
	files[0] = in;
	o.files = files;
	o.nfiles = 1;
	fds = fuzz_open_fds();
	/* The messages are not what is tested: keep the fuzzer's log short. */
	stderr = fopen("/dev/null", "w");
	rc = run_split(&o);
	fclose(stderr);
	stderr = err;
	CHECK(rc == CLI_EXIT_OK || rc == CLI_EXIT_FAIL);
	CHECK(fuzz_open_fds() == fds);
	if (rc != CLI_EXIT_OK) {
		CHECK(stat(out, &st) != 0);
		return 0;
	}
	check_dir(out, mpath);
	memset(&o, 0, sizeof(o));
	o.mode = MODE_JOIN;
	o.manifest = mpath;
	o.output = joined;
	stderr = fopen("/dev/null", "w");
	rc = run_join(&o);
	fclose(stderr);
	stderr = err;
	CHECK(rc == CLI_EXIT_OK);
	check_same(data, size, joined);
	CHECK(unlink(joined) == 0);
	remove_tree(out);
	return 0;
}
