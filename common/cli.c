/*
 * cli.c - helpers shared by the command-line tools (see cli.h).
 */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
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

/*
 * Temporary outputs that exist right now, so that a signal that ends the
 * program (SIGINT, SIGTERM, SIGHUP) removes them first: an interrupted
 * run leaves no partial file.  The list is changed with those signals
 * blocked; the handler only calls unlink(), which is async-signal-safe.
 */
static char **live_tmp;
static size_t live_n, live_cap;
static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP };

static void
on_fatal_signal(int sig)
{
	size_t i;

	for (i = 0; i < live_n; i++)
		unlink(live_tmp[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
block_fatal(sigset_t *old)
{
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
		sigaddset(&set, fatal_signals[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

static int
live_add(char *tmp)
{
	static int installed;
	struct sigaction sa;
	sigset_t old;
	char **v;
	size_t i;

	if (!installed) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_fatal_signal;
		sigemptyset(&sa.sa_mask);
		for (i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]);
		    i++) {
			struct sigaction prev;

			/* A signal the caller ignores stays ignored. */
			if (sigaction(fatal_signals[i], NULL, &prev) == 0 &&
			    prev.sa_handler != SIG_IGN)
				sigaction(fatal_signals[i], &sa, NULL);
		}
		/* Past a file size limit (ulimit -f), write() must fail with
		 * EFBIG rather than SIGXFSZ ending the program. */
		signal(SIGXFSZ, SIG_IGN);
		installed = 1;
	}
	block_fatal(&old);
	if (live_n == live_cap) {
		v = realloc(live_tmp, (live_cap ? 2 * live_cap : 8) *
		    sizeof(*v));
		if (v == NULL) {
			sigprocmask(SIG_SETMASK, &old, NULL);
			return -1;
		}
		live_tmp = v;
		live_cap = live_cap ? 2 * live_cap : 8;
	}
	live_tmp[live_n++] = tmp;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}

static void
live_remove(const char *tmp)
{
	sigset_t old;
	size_t i;

	block_fatal(&old);
	for (i = 0; i < live_n; i++)
		if (live_tmp[i] == tmp) {
			live_tmp[i] = live_tmp[--live_n];
			break;
		}
	if (live_n == 0) {
		free(live_tmp);
		live_tmp = NULL;
		live_cap = 0;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int
cli_output_open(struct cli_output *o, const char *path)
{
	const char *slash;
	struct stat st;
	size_t dirlen;

	o->path = path;
	o->tmp = NULL;
	o->fd = -1;
	o->direct = 0;
	if (strcmp(path, "-") == 0) {
		o->fd = STDOUT_FILENO;
		return 0;
	}
	/* A device or FIFO (/dev/null, a named pipe) is written directly:
	 * renaming a file over it would replace the node. */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISDIR(st.st_mode)) {
		o->fd = open(path, O_WRONLY | O_CLOEXEC);
		if (o->fd < 0) {
			cli_error(path, "%s", strerror(errno));
			return -1;
		}
		o->direct = 1;
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
	if (live_add(o->tmp) != 0) {
		cli_error(path, "out of memory");
		free(o->tmp);
		o->tmp = NULL;
		return -1;
	}
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0) {
		cli_error(path, "cannot create output: %s", strerror(errno));
		live_remove(o->tmp);
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

/* After a rename, make the new directory entry durable too. */
static void
sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL ? strdup(".") : slash == path ?
	    strdup("/") : strndup(path, (size_t)(slash - path));
	int fd;

	if (dir == NULL)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

int
cli_output_commit(struct cli_output *o)
{
	if (o->tmp == NULL) {
		if (o->direct && o->fd >= 0 && close(o->fd) != 0) {
			cli_error(o->path, "write: %s", strerror(errno));
			o->fd = -1;
			return -1;
		}
		o->fd = -1;
		return 0;
	}
	/* The data reaches the disk before the name does, so that after a
	 * crash the output is either the old file or the whole new one. */
	if (o->fd >= 0 && (fsync(o->fd) != 0 || close(o->fd) != 0)) {
		cli_error(o->path, "write: %s", strerror(errno));
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
	live_remove(o->tmp);
	free(o->tmp);
	o->tmp = NULL;
	sync_dir(o->path);
	return 0;
}

void
cli_output_abort(struct cli_output *o)
{
	if (o->direct && o->fd >= 0)
		close(o->fd);
	o->direct = 0;
	if (o->tmp == NULL) {
		o->fd = -1;
		return;
	}
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	unlink(o->tmp);
	live_remove(o->tmp);
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

/* ---- Converters: elf2dfu, hex2dfu ----------------------------------------- */

#include <getopt.h>

#include "dfufile.h"

#define CONV_TARGET_NAME_MAX (DFUSE_TARGET_NAME_SIZE - 1)
#define CONV_PAD_FILL 0xff	/* erased flash reads 0xff */

enum {
	CONV_OPT_GAP_FILL = 256,
	CONV_OPT_MAX_GAP,
	CONV_OPT_PAD,
	CONV_OPT_RANGE,
	CONV_OPT_SPLIT_AT,
};

static const struct option conv_longopts[] = {
	{ "device",		required_argument,	NULL,	'd' },
	{ "gap-fill",		required_argument,	NULL,	CONV_OPT_GAP_FILL },
	{ "help",		no_argument,		NULL,	'h' },
	{ "max-gap",		required_argument,	NULL,	CONV_OPT_MAX_GAP },
	{ "only-section",	required_argument,	NULL,	'j' },
	{ "output",		required_argument,	NULL,	'o' },
	{ "pad",		required_argument,	NULL,	CONV_OPT_PAD },
	{ "range",		required_argument,	NULL,	CONV_OPT_RANGE },
	{ "release",		required_argument,	NULL,	'r' },
	{ "remove-section",	required_argument,	NULL,	'R' },
	{ "split-at",		required_argument,	NULL,	CONV_OPT_SPLIT_AT },
	{ "target",		required_argument,	NULL,	't' },
	{ "version",		no_argument,		NULL,	'V' },
	{ NULL,			0,			NULL,	0 }
};

static const char *conv_usage_text;

static void __attribute__((noreturn))
conv_usage(void)
{
	fputs(conv_usage_text, stderr);
	exit(CLI_EXIT_USAGE);
}

static void __attribute__((noreturn))
conv_bad(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(CLI_EXIT_USAGE);
}

static void *
conv_grow(void *p, size_t n, size_t size)
{
	void *q;

	if (n % 16 != 0)
		return p;
	if ((q = reallocarray(p, n + 16, size)) == NULL) {
		cli_error(NULL, "out of memory");
		exit(CLI_EXIT_FAIL);
	}
	return q;
}

/* cli_parse_u32() of the first n bytes of s. */
static int
conv_parse_u32_prefix(const char *s, size_t n, uint32_t *out)
{
	char buf[32];

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return cli_parse_u32(buf, out);
}

/* -t ALT[:NAME], with bin2dfu's messages. */
static void
conv_target(struct cli_conv *c, const char *arg)
{
	const char *colon = strchr(arg, ':');
	const char *name = colon != NULL ? colon + 1 : NULL;
	size_t altlen = colon != NULL ? (size_t)(colon - arg) : strlen(arg);
	struct cli_conv_target *t;
	uint32_t alt;

	if (conv_parse_u32_prefix(arg, altlen, &alt) != 0 || alt > 255)
		conv_bad("-t %s: alternate setting is not a number from 0 to "
		    "255", arg);
	if (name != NULL && *name == '\0')
		conv_bad("-t %s: empty target name", arg);
	if (name != NULL && strlen(name) > CONV_TARGET_NAME_MAX)
		conv_bad("-t %.*s: target name is %zu bytes, longer than %d",
		    (int)altlen, arg, strlen(name), CONV_TARGET_NAME_MAX);
	if (c->ntargets == DFUSE_MAX_TARGETS)
		conv_bad("-t %s: more than %d targets", arg,
		    DFUSE_MAX_TARGETS);
	c->targets = conv_grow(c->targets, c->ntargets, sizeof(*c->targets));
	t = &c->targets[c->ntargets++];
	memset(t, 0, sizeof(*t));
	t->arg = arg;
	t->alt = (uint8_t)alt;
	t->name = name;
}

/* --range FIRST-LAST or FIRST+SIZE, for the last -t. */
static void
conv_range(struct cli_conv *c, const char *arg)
{
	const char *sep = strpbrk(arg, "-+");
	struct cli_conv_target *t;
	struct cli_range r;
	uint32_t first, second;

	if (c->ntargets == 0)
		conv_bad("--range %s: give -t before the ranges of its target",
		    arg);
	if (sep == NULL || conv_parse_u32_prefix(arg, (size_t)(sep - arg),
	    &first) != 0 || cli_parse_u32(sep + 1, &second) != 0)
		conv_bad("--range %s: expected first-last or first+size, "
		    "32-bit numbers", arg);
	if (*sep == '-' && second < first)
		conv_bad("--range %s: the last address is below the first", arg);
	if (*sep == '+' && second == 0)
		conv_bad("--range %s: empty range", arg);
	if (*sep == '+' && (uint64_t)first + second > (UINT64_C(1) << 32))
		conv_bad("--range %s: runs past the end of the 32-bit address "
		    "space", arg);
	r.first = first;
	r.last = *sep == '-' ? second : (uint32_t)(first + (second - 1));
	r.arg = arg;
	t = &c->targets[c->ntargets - 1];
	t->ranges = conv_grow(t->ranges, t->nranges, sizeof(*t->ranges));
	t->ranges[t->nranges++] = r;
}

static int
conv_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* What the options left to check once all are read. */
static void
conv_check(struct cli_conv *c, int argc, char *argv[])
{
	size_t i, j, k, l, rest = 0;
	const char *rest_arg = NULL;

	if (argc == 0) {
		cli_error(NULL, "no input: give a file");
		conv_usage();
	}
	if (argc > 1) {
		cli_error(NULL, "%s: unexpected argument; give one input file",
		    argv[1]);
		conv_usage();
	}
	c->input = argv[0];
	if (c->output == NULL) {
		cli_error(NULL, "missing -o output");
		conv_usage();
	}
	if (c->nsplits > 0) {
		for (i = 0; i < c->ntargets; i++)
			if (c->targets[i].nranges > 0)
				conv_bad("--range cannot be used with "
				    "--split-at");
		qsort(c->splits, c->nsplits, sizeof(*c->splits), conv_cmp_u32);
		for (i = 1; i < c->nsplits; i++)
			if (c->splits[i] == c->splits[i - 1])
				conv_bad("--split-at 0x%08x: given twice",
				    c->splits[i]);
		if (c->ntargets > 0 && c->ntargets != c->nsplits + 1)
			conv_bad("--split-at cuts the addresses into %zu parts, "
			    "but %zu targets are given with -t",
			    c->nsplits + 1, c->ntargets);
		if (c->ntargets == 0 && c->nsplits + 1 > DFUSE_MAX_TARGETS)
			conv_bad("--split-at cuts the addresses into %zu parts, "
			    "more than %d targets", c->nsplits + 1,
			    DFUSE_MAX_TARGETS);
		if (c->ntargets == 0)
			for (i = 0; i <= c->nsplits; i++) {
				c->targets = conv_grow(c->targets,
				    c->ntargets, sizeof(*c->targets));
				memset(&c->targets[c->ntargets], 0,
				    sizeof(*c->targets));
				c->targets[c->ntargets++].alt = (uint8_t)i;
			}
		return;
	}
	if (c->ntargets == 0) {
		c->targets = conv_grow(c->targets, 0, sizeof(*c->targets));
		memset(c->targets, 0, sizeof(*c->targets));
		c->ntargets = 1;
		return;
	}
	for (i = 0; i < c->ntargets; i++) {
		if (c->targets[i].nranges > 0)
			continue;
		if (rest++ > 0)
			conv_bad("-t %s and -t %s have no --range: only one "
			    "target can take the addresses no --range names",
			    rest_arg, c->targets[i].arg);
		rest_arg = c->targets[i].arg;
	}
	for (i = 0; i < c->ntargets; i++)
		for (j = 0; j < c->targets[i].nranges; j++)
			for (k = i; k < c->ntargets; k++)
				for (l = k == i ? j + 1 : 0;
				    l < c->targets[k].nranges; l++) {
					const struct cli_range *a =
					    &c->targets[i].ranges[j];
					const struct cli_range *b =
					    &c->targets[k].ranges[l];

					if (a->first <= b->last &&
					    b->first <= a->last)
						conv_bad("--range %s overlaps "
						    "--range %s", b->arg,
						    a->arg);
				}
}

void
cli_conv_parse(struct cli_conv *c, const char *tool, const char *usage,
    unsigned flags, int argc, char *argv[])
{
	const char *shortopts = flags & CLI_CONV_SECTIONS ?
	    ":d:hj:o:R:r:t:V" : ":d:ho:r:t:V";
	uint32_t v;
	int ch;

	memset(c, 0, sizeof(*c));
	c->tool = tool;
	c->vid = 0x0483;	/* STMicroelectronics */
	c->pid = 0xdf11;	/* STM32 ROM bootloader in DFU mode */
	c->bcd_device = DFU_ID_ANY;
	c->pad = 1;
	c->gap_fill = -1;
	conv_usage_text = usage;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, conv_longopts,
	    NULL)) != -1) {
		/* Short -j and -R are not in shortopts without the flag. */
		if ((ch == 'j' || ch == 'R') && !(flags & CLI_CONV_SECTIONS)) {
			cli_error(NULL, "unknown option: --%s", ch == 'j' ?
			    "only-section" : "remove-section");
			conv_usage();
		}
		switch (ch) {
		case 'd':
			if (cli_parse_ids(optarg, &c->vid, &c->pid) != 0)
				conv_bad("-d %s: expected vid:pid, two "
				    "hexadecimal numbers up to ffff", optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			exit(CLI_EXIT_OK);
		case 'j':
			c->only = conv_grow(c->only, c->nonly,
			    sizeof(*c->only));
			c->only[c->nonly++] = optarg;
			break;
		case 'o':
			c->output = optarg;
			break;
		case 'R':
			c->remove = conv_grow(c->remove, c->nremove,
			    sizeof(*c->remove));
			c->remove[c->nremove++] = optarg;
			break;
		case 'r':
			if (cli_parse_hex16(optarg, &c->bcd_device) != 0)
				conv_bad("-r %s: bcdDevice is not a "
				    "hexadecimal number up to ffff", optarg);
			break;
		case 't':
			conv_target(c, optarg);
			break;
		case 'V':
			printf("%s %s\n", tool, DFUFILE_VERSION_STRING);
			exit(CLI_EXIT_OK);
		case CONV_OPT_GAP_FILL:
			if (cli_parse_u32(optarg, &v) != 0 || v > 255)
				conv_bad("--gap-fill %s: not a byte value from "
				    "0 to 255", optarg);
			c->gap_fill = (int)v;
			break;
		case CONV_OPT_MAX_GAP:
			if (cli_parse_u32(optarg, &c->max_gap) != 0 ||
			    c->max_gap == 0)
				conv_bad("--max-gap %s: not a number from 1 to "
				    "4294967295", optarg);
			break;
		case CONV_OPT_PAD:
			if (cli_parse_u32(optarg, &c->pad) != 0 || c->pad == 0)
				conv_bad("--pad %s: not a number from 1 to "
				    "4294967295", optarg);
			break;
		case CONV_OPT_RANGE:
			conv_range(c, optarg);
			break;
		case CONV_OPT_SPLIT_AT:
			if (cli_parse_u32(optarg, &v) != 0 || v == 0)
				conv_bad("--split-at %s: not an address from 1 "
				    "to 0xffffffff", optarg);
			c->splits = conv_grow(c->splits, c->nsplits,
			    sizeof(*c->splits));
			c->splits[c->nsplits++] = v;
			break;
		case ':':
			if (optopt > 0 && optopt < 256)
				cli_error(NULL, "option needs an argument: -%c",
				    optopt);
			else
				cli_error(NULL, "option needs an argument: %s",
				    argv[optind - 1]);
			conv_usage();
		default:
			if (optopt > 0 && optopt < 256)
				cli_error(NULL, "unknown option: -%c", optopt);
			else
				cli_error(NULL, "unknown option: %s",
				    argv[optind - 1]);
			conv_usage();
		}
	}
	if (c->gap_fill >= 0 && c->max_gap == 0)
		conv_bad("--gap-fill needs --max-gap: say how large a gap may "
		    "be filled");
	if (c->gap_fill < 0)
		c->gap_fill = CONV_PAD_FILL;
	conv_check(c, argc - optind, argv + optind);
}

void
cli_conv_free(struct cli_conv *c)
{
	for (size_t i = 0; i < c->ntargets; i++)
		free(c->targets[i].ranges);
	free(c->targets);
	free(c->splits);
	free(c->only);
	free(c->remove);
	memset(c, 0, sizeof(*c));
}

void
cli_image_error(const struct dfu_image *img, const char *file, int err)
{
	const char *msg = dfu_image_errmsg(img);

	cli_error(file, "%s", *msg != '\0' ? msg : dfu_strerror(err));
}

int
cli_conv_open(const struct cli_conv *c, enum dfu_image_format *format)
{
	const char *name = cli_input_name(c->input);
	uint8_t buf[512];
	ssize_t n;
	int fd;

	if ((fd = cli_open_input(c->input)) < 0)
		return -1;
	do
		n = pread(fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		cli_error(name, "read: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (n == 0) {
		cli_error(name, "empty file");
		close(fd);
		return -1;
	}
	*format = dfu_image_detect(buf, (size_t)n);
	return fd;
}

/* An address interval that goes to one target. */
struct conv_iv {
	uint32_t first, last;
	size_t target;
};

static int
conv_cmp_iv(const void *a, const void *b)
{
	const struct conv_iv *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first;
}

/* Every interval, sorted; the target without --range gets the rest. */
static struct conv_iv *
conv_intervals(const struct cli_conv *c, size_t *n, int *has_rest)
{
	struct conv_iv *v = NULL, *r;
	size_t nv = 0, i, j, nr, rest = SIZE_MAX;
	uint64_t next;

	*has_rest = 0;
	if (c->nsplits > 0) {
		for (i = 0; i <= c->nsplits; i++) {
			v = conv_grow(v, nv, sizeof(*v));
			v[nv].first = i == 0 ? 0 : c->splits[i - 1];
			v[nv].last = i == c->nsplits ? UINT32_MAX :
			    c->splits[i] - 1;
			v[nv++].target = i;
		}
		*has_rest = 1;
		*n = nv;
		return v;
	}
	for (i = 0; i < c->ntargets; i++) {
		if (c->targets[i].nranges == 0)
			rest = i;
		for (j = 0; j < c->targets[i].nranges; j++) {
			v = conv_grow(v, nv, sizeof(*v));
			v[nv].first = c->targets[i].ranges[j].first;
			v[nv].last = c->targets[i].ranges[j].last;
			v[nv++].target = i;
		}
	}
	if (nv > 0)
		qsort(v, nv, sizeof(*v), conv_cmp_iv);
	if (rest != SIZE_MAX) {
		/* The complement of the ranges (which do not overlap). */
		nr = nv;
		r = v;
		v = NULL;
		nv = 0;
		next = 0;
		for (i = 0; i <= nr; i++) {
			uint64_t end = i < nr ? r[i].first : UINT64_C(1) << 32;

			if (end > next) {
				v = conv_grow(v, nv, sizeof(*v));
				v[nv].first = (uint32_t)next;
				v[nv].last = (uint32_t)(end - 1);
				v[nv++].target = rest;
			}
			if (i < nr) {
				v = conv_grow(v, nv, sizeof(*v));
				v[nv++] = r[i];
				next = (uint64_t)r[i].last + 1;
			}
		}
		free(r);
		*has_rest = 1;
	}
	*n = nv;
	return v;
}

/* Name of a target in messages. */
static void
conv_target_label(const struct cli_conv *c, size_t t, char *buf, size_t len)
{
	if (c->targets[t].arg != NULL)
		snprintf(buf, len, "-t %s", c->targets[t].arg);
	else
		snprintf(buf, len, "target alt %u", c->targets[t].alt);
}

static void
conv_file_error(const struct dfu_file *f, const char *name, int err)
{
	const char *msg = dfu_file_errmsg(f);
	const char *sys = "";
	int e = dfu_file_errno(f);

	if (*msg == '\0')
		msg = dfu_strerror(err);
	if (err == DFU_ERR_IO && e != 0 && strstr(msg, strerror(e)) == NULL)
		sys = strerror(e);
	cli_error(name, "%s%s%s", msg, *sys != '\0' ? ": " : "", sys);
}

/* Targets and elements of f from the image. */
static int
conv_describe(const struct cli_conv *c, struct dfu_image *img,
    struct dfu_file *f)
{
	const char *name = cli_input_name(c->input);
	struct conv_iv *v;
	size_t nv, i, t;
	int has_rest, err, idx, rc = -1;
	char label[300];

	if ((err = dfu_file_init(f, DFU_FORMAT_DFUSE)) != 0 ||
	    (err = dfu_file_set_ids(f, c->vid, c->pid, c->bcd_device)) != 0) {
		conv_file_error(f, NULL, err);
		return -1;
	}
	v = conv_intervals(c, &nv, &has_rest);
	/* Without a target for the rest, every byte must be in a --range. */
	for (i = 0; !has_rest && i < dfu_image_range_count(img); i++) {
		uint32_t a;
		uint64_t size, cur, e;

		dfu_image_range(img, i, &a, &size);
		cur = a;
		e = a + size;
		for (size_t k = 0; k < nv && cur < e; k++) {
			if ((uint64_t)v[k].last < cur)
				continue;
			if (v[k].first > cur)
				break;
			cur = (uint64_t)v[k].last + 1;
		}
		if (cur < e) {
			uint64_t ue = e;

			for (size_t k = 0; k < nv; k++)
				if (v[k].first > cur && v[k].first < ue)
					ue = v[k].first;
			cli_error(name, "0x%08llx-0x%08llx is in no target's "
			    "--range", (unsigned long long)cur,
			    (unsigned long long)(ue - 1));
			goto out;
		}
	}
	for (t = 0; t < c->ntargets; t++) {
		const struct cli_conv_target *tg = &c->targets[t];
		unsigned total = 0, n;

		if ((idx = dfu_file_add_target(f, tg->alt, tg->name)) < 0) {
			conv_file_error(f, NULL, idx);
			goto out;
		}
		for (i = 0; i < nv; i++) {
			if (v[i].target != t)
				continue;
			err = dfu_image_add_elements(img, f, (unsigned)idx,
			    v[i].first, v[i].last, c->max_gap,
			    (uint8_t)c->gap_fill, &n);
			if (err != 0) {
				cli_image_error(img, name, err);
				goto out;
			}
			total += n;
		}
		if (total == 0) {
			conv_target_label(c, t, label, sizeof(label));
			if (c->nsplits > 0)
				cli_error(name, "%s: no data in "
				    "0x%08x-0x%08x", label, v[t].first,
				    v[t].last);
			else
				cli_error(name, "%s: no data in its address "
				    "ranges", label);
			goto out;
		}
	}
	if (c->pad > 1 &&
	    (err = dfu_file_pad_elements(f, c->pad, CONV_PAD_FILL)) != 0) {
		conv_file_error(f, name, err);
		goto out;
	}
	rc = 0;
out:
	free(v);
	return rc;
}

int
cli_conv_write(const struct cli_conv *c, struct dfu_image *img, int in_fd)
{
	const char *oname = strcmp(c->output, "-") == 0 ? "(stdout)" :
	    c->output;
	struct cli_output out;
	struct dfu_file *f;
	struct stat a, b;
	int err, rc = CLI_EXIT_FAIL;

	if (strcmp(c->output, "-") == 0 ?
	    fstat(STDOUT_FILENO, &a) == 0 && fstat(in_fd, &b) == 0 &&
	    S_ISREG(a.st_mode) && a.st_dev == b.st_dev && a.st_ino == b.st_ino :
	    cli_same_file(c->output, in_fd)) {
		cli_error(oname, "output is also the input %s; refusing to "
		    "overwrite it", cli_input_name(c->input));
		return CLI_EXIT_FAIL;
	}
	if ((f = dfu_file_new()) == NULL) {
		cli_error(NULL, "out of memory");
		return CLI_EXIT_FAIL;
	}
	if (conv_describe(c, img, f) == 0 &&
	    cli_output_open(&out, c->output) == 0) {
		if ((err = dfu_file_write_fd(f, out.fd)) != 0) {
			conv_file_error(f, oname, err);
			cli_output_abort(&out);
		} else if (cli_output_commit(&out) == 0)
			rc = CLI_EXIT_OK;
	}
	dfu_file_free(f);
	return rc;
}
