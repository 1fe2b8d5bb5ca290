/*
 * replay.c - run a fuzz target over files without libFuzzer, so that the
 * fuzz corpora are regression tests on any compiler.
 *
 *   replay [FILE|DIR]...
 *
 * Each file (a directory: each regular file in it, sorted) is read whole
 * and passed to LLVMFuzzerTestOneInput() in a buffer of exactly its size.
 * Without arguments, the directories compiled in as FUZZ_DIRS (a
 * colon-separated list; a '?' in front marks one that may be missing)
 * are used.  A failed property aborts, so the exit
 * status says whether every input passed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static unsigned long inputs;

static int
run_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;
	long size;

	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 ||
	    (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	buf = malloc(size > 0 ? (size_t)size : 1);
	if (buf == NULL || fread(buf, 1, (size_t)size, fp) != (size_t)size) {
		fprintf(stderr, "replay: %s: cannot read\n", path);
		free(buf);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	/* An exact-size copy: the target sees no slack after the data. */
	LLVMFuzzerTestOneInput(buf, (size_t)size);
	free(buf);
	inputs++;
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
run_path(const char *path)
{
	struct stat st;
	struct dirent *d;
	char **names = NULL, *p;
	size_t n = 0, i;
	DIR *dir;
	int rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	if ((dir = opendir(path)) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		if (names == NULL || asprintf(&names[n], "%s/%s", path,
		    d->d_name) < 0)
			abort();
		n++;
	}
	closedir(dir);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		p = names[i];
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
		    run_file(p) != 0)
			rc = -1;
		free(p);
	}
	free(names);
	return rc;
}

int
main(int argc, char *argv[])
{
	int i, rc = 0;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if (run_path(argv[i]) != 0)
				rc = 1;
	} else {
#ifdef FUZZ_DIRS
		char *dirs = strdup(FUZZ_DIRS), *save = NULL, *dir;

		struct stat st;

		for (dir = strtok_r(dirs, ":", &save); dir != NULL;
		    dir = strtok_r(NULL, ":", &save)) {
			if (dir[0] == '?' && stat(++dir, &st) != 0) {
				printf("replay: %s: not there, skipped\n", dir);
				continue;
			}
			if (run_path(dir) != 0)
				rc = 1;
		}
		free(dirs);
#else
		fprintf(stderr, "usage: replay FILE|DIR ...\n");
		return 2;
#endif
	}
	printf("replay: %lu inputs%s\n", inputs, rc ? ", some unreadable" : "");
	return rc;
}
