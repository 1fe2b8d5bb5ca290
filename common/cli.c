/*
 * cli.c - helpers shared by the command-line tools (see cli.h).
 */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *progname = "dfu";

void
cli_init(const char *argv0)
{
	const char *slash;

	if (argv0 == NULL || *argv0 == '\0')
		return;
	slash = strrchr(argv0, '/');
	progname = slash != NULL ? slash + 1 : argv0;
}

const char *
cli_progname(void)
{
	return progname;
}

void
cli_error(const char *file, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (file != NULL)
		fprintf(stderr, "%s: %s: ", progname, file);
	else
		fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int
digit_value(char c, unsigned base)
{
	unsigned v;

	if (c >= '0' && c <= '9')
		v = (unsigned)(c - '0');
	else if (c >= 'a' && c <= 'f')
		v = (unsigned)(c - 'a') + 10;
	else if (c >= 'A' && c <= 'F')
		v = (unsigned)(c - 'A') + 10;
	else
		return -1;
	return v < base ? (int)v : -1;
}

static int
parse_unsigned(const char *s, unsigned base, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	int d;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		d = digit_value(*s, base);
		if (d < 0)
			return -1;
		v = v * base + (unsigned)d;
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

int
cli_parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;
	int rc;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		rc = parse_unsigned(s + 2, 16, UINT32_MAX, &v);
	else
		rc = parse_unsigned(s, 10, UINT32_MAX, &v);
	if (rc == 0)
		*out = (uint32_t)v;
	return rc;
}

int
cli_parse_hex16(const char *s, uint16_t *out)
{
	uint64_t v;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (parse_unsigned(s, 16, UINT16_MAX, &v) != 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

int
cli_parse_ids(const char *s, uint16_t *vid, uint16_t *pid)
{
	char buf[32];
	const char *colon = strchr(s, ':');
	size_t n;

	if (colon == NULL)
		return -1;
	n = (size_t)(colon - s);
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (cli_parse_hex16(buf, vid) != 0)
		return -1;
	return cli_parse_hex16(colon + 1, pid);
}

const char *
cli_input_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "(stdin)" : path;
}

/* Copy a non-seekable input into an unlinked temporary file. */
static int
spool(int in, const char *name)
{
	const char *dir = getenv("TMPDIR");
	char buf[1 << 16];
	ssize_t n, w;
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	fd = open(dir, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
	if (fd < 0) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/dfuXXXXXX", dir);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd < 0) {
			cli_error(name, "cannot create a temporary file in %s: %s",
			    dir, strerror(errno));
			return -1;
		}
		unlink(path);
	}
	for (;;) {
		n = read(in, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			cli_error(name, "read: %s", strerror(errno));
			close(fd);
			return -1;
		}
		for (ssize_t done = 0; done < n; done += w) {
			w = write(fd, buf + done, (size_t)(n - done));
			if (w < 0) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				cli_error(name, "cannot copy to a temporary file: %s",
				    strerror(errno));
				close(fd);
				return -1;
			}
		}
	}
	return fd;
}

int
cli_open_input(const char *path)
{
	struct stat st;
	int fd;

	if (strcmp(path, "-") == 0) {
		if (lseek(STDIN_FILENO, 0, SEEK_END) >= 0 &&
		    fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode))
			return dup(STDIN_FILENO);
		return spool(STDIN_FILENO, "(stdin)");
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_error(path, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		cli_error(path, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		cli_error(path, "is a directory");
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) && lseek(fd, 0, SEEK_END) < 0) {
		/* A FIFO or character device: copy it like a piped stdin. */
		int spooled = spool(fd, path);

		close(fd);
		return spooled;
	}
	return fd;
}

int
cli_output_open(struct cli_output *o, const char *path)
{
	const char *slash;
	size_t dirlen;

	o->path = path;
	o->tmp = NULL;
	o->fd = -1;
	if (strcmp(path, "-") == 0) {
		o->fd = STDOUT_FILENO;
		return 0;
	}
	slash = strrchr(path, '/');
	dirlen = slash != NULL ? (size_t)(slash - path) + 1 : 0;
	if (asprintf(&o->tmp, "%.*s.%s.XXXXXX", (int)dirlen, path,
	    slash != NULL ? slash + 1 : path) < 0) {
		o->tmp = NULL;
		cli_error(path, "out of memory");
		return -1;
	}
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0) {
		cli_error(path, "cannot create output: %s", strerror(errno));
		free(o->tmp);
		o->tmp = NULL;
		return -1;
	}
	/* mkostemp creates 0600; give the output the usual umask mode. */
	{
		mode_t mask = umask(0);

		umask(mask);
		fchmod(o->fd, 0666 & ~mask);
	}
	return 0;
}

int
cli_output_commit(struct cli_output *o)
{
	if (o->tmp == NULL) {
		o->fd = -1;
		return 0;
	}
	if (close(o->fd) != 0) {
		cli_error(o->path, "write: %s", strerror(errno));
		o->fd = -1;
		cli_output_abort(o);
		return -1;
	}
	o->fd = -1;
	if (rename(o->tmp, o->path) != 0) {
		cli_error(o->path, "cannot rename %s into place: %s", o->tmp,
		    strerror(errno));
		cli_output_abort(o);
		return -1;
	}
	free(o->tmp);
	o->tmp = NULL;
	return 0;
}

void
cli_output_abort(struct cli_output *o)
{
	if (o->tmp == NULL)
		return;
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	unlink(o->tmp);
	free(o->tmp);
	o->tmp = NULL;
}

int
cli_same_file(const char *path, int fd)
{
	struct stat a, b;

	if (stat(path, &a) != 0 || fstat(fd, &b) != 0)
		return 0;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}
