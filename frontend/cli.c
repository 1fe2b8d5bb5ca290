/*
 * frontend/cli.c - the front end the command-line tools share (see cli.h).
 */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *progname = "dfu";
static void (*error_hook)(const char *msg);

void
cli_init(const char *argv0)
{
	const char *slash;

	/* Past a file size limit (ulimit -f), a write to any file the tool
	 * makes (an output, the temporary file of a HEX file's decoded
	 * bytes) fails with EFBIG and is reported, rather than SIGXFSZ
	 * ending the program without a word. */
	signal(SIGXFSZ, SIG_IGN);
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
	char msg[2048];
	int n = 0;
	va_list ap;

	fflush(stdout);
	if (file != NULL)
		n = snprintf(msg, sizeof(msg), "%s: ", file);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", progname, msg);
	if (error_hook != NULL)
		error_hook(msg);
}

void
cli_error_hook(void (*fn)(const char *msg))
{
	error_hook = fn;
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
	else if (s[0] == '0' && s[1] != '\0')
		return parse_unsigned(s, 10, UINT64_MAX, &v) == 0 ?
		    CLI_NUM_AMBIGUOUS : -1;
	else
		rc = parse_unsigned(s, 10, UINT32_MAX, &v);
	if (rc == 0)
		*out = (uint32_t)v;
	return rc;
}

void
cli_number_ambiguous(const char *opt, const char *arg, const char *s,
    size_t n)
{
	size_t z = 0;

	while (z + 1 < n && s[z] == '0')
		z++;
	cli_usage_error("%s %s: %.*s has a leading zero, which could mean "
	    "octal, decimal or hexadecimal: write 0x%.*s for hexadecimal or "
	    "%.*s for decimal", opt, arg, (int)n, s, (int)n, s, (int)(n - z),
	    s + z);
}

int
cli_arg_u32(const char *opt, const char *arg, const char *s, size_t n,
    uint32_t *out)
{
	int rc = cli_parse_u32_prefix(s, n, out);

	if (rc == CLI_NUM_AMBIGUOUS)
		cli_number_ambiguous(opt, arg, s, n);
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
 * Named temporary outputs that exist right now, so that a signal that ends
 * the program (SIGINT, SIGTERM, SIGHUP) removes them first, and then the
 * directory a split created (cli_output_own_dir()): an interrupted run
 * leaves nothing.  An unnamed (O_TMPFILE) output needs no entry: the
 * kernel frees it with the last descriptor, even after SIGKILL.  The list
 * is changed with those signals blocked; the handler only calls unlink()
 * and rmdir(), which are async-signal-safe.  Entries are removed in about
 * the order they were added (a split commits its files in order), so a
 * removed entry becomes NULL and the live part starts at live_head: a
 * removal costs O(1) in that order, not a scan of thousands.
 */
static char **live_tmp;
static size_t live_head, live_n, live_cap;
static const char *live_dir;
static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP };

/* Remove the temporary outputs; async-signal-safe. */
static void
remove_live(void)
{
	size_t i;

	for (i = live_head; i < live_n; i++)
		if (live_tmp[i] != NULL)
			unlink(live_tmp[i]);
	if (live_dir != NULL)
		rmdir(live_dir);
}

static void
on_fatal_signal(int sig)
{
	remove_live();
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * The input read with DFU_READ_MAP right now, for the SIGBUS that the
 * kernel raises if another process truncates it under the mapping: the
 * handler says which file, removes the temporary outputs, and exits with
 * CLI_EXIT_FAIL.  Only write(), unlink(), rmdir() and _exit() run in it.
 */
static const char *volatile mapped_name;

static void
write_str(const char *s)
{
	ssize_t r;

	for (size_t n = strlen(s); n > 0; n -= (size_t)r, s += r)
		if ((r = write(STDERR_FILENO, s, n)) <= 0)
			return;
}

static void
on_sigbus(int sig)
{
	const char *name = mapped_name;

	if (name == NULL) {
		/* Not a mapped input: the default action, a core dump. */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	write_str(progname);
	write_str(": ");
	write_str(name);
	write_str(": ");
	write_str("the file shrank while it was read (truncated by another "
	    "program?)\n");
	remove_live();
	_exit(CLI_EXIT_FAIL);
}

void
cli_map_guard(const char *name)
{
	static int installed;
	struct sigaction sa;

	mapped_name = name;
	if (installed || name == NULL)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	installed = 1;
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

static void
install_handlers(void)
{
	static int installed;
	struct sigaction sa;
	size_t i;

	if (installed)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++) {
		struct sigaction prev;

		/* A signal the caller ignores stays ignored. */
		if (sigaction(fatal_signals[i], NULL, &prev) == 0 &&
		    prev.sa_handler != SIG_IGN)
			sigaction(fatal_signals[i], &sa, NULL);
	}
	installed = 1;
}

static int
live_add(char *tmp)
{
	sigset_t old;
	char **v;

	install_handlers();
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
	for (i = live_head; i < live_n; i++)
		if (live_tmp[i] == tmp) {
			live_tmp[i] = NULL;
			break;
		}
	while (live_head < live_n && live_tmp[live_head] == NULL)
		live_head++;
	while (live_n > live_head && live_tmp[live_n - 1] == NULL)
		live_n--;
	if (live_n == live_head) {
		free(live_tmp);
		live_tmp = NULL;
		live_head = live_n = live_cap = 0;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

void
cli_output_own_dir(const char *dir)
{
	sigset_t old;

	install_handlers();
	block_fatal(&old);
	live_dir = dir;
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* The directory part of path, "." if none. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL ? strdup(".") : slash == path ?
	    strdup("/") : strndup(path, (size_t)(slash - path));

	return dir;
}

/*
 * A new name for a temporary file next to path, ".NAME.XXXXXX" with NAME
 * cut so that the whole stays within NAME_MAX: any name that path may
 * have, its temporary name can have too.  The X are left for mkostemp()
 * or random_name().
 */
static char *
temp_template(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash != NULL ? slash + 1 : path;
	size_t dirlen = slash != NULL ? (size_t)(slash - path) + 1 : 0;
	size_t baselen = strlen(base);
	char *t;

	if (baselen > NAME_MAX - 8)
		baselen = NAME_MAX - 8;
	if (asprintf(&t, "%.*s.%.*s.XXXXXX", (int)dirlen, path, (int)baselen,
	    base) < 0)
		return NULL;
	return t;
}

/* Fill the trailing XXXXXX of t with random letters and digits. */
static void
random_name(char *t)
{
	static const char set[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	static unsigned long n;
	unsigned long v;
	size_t len = strlen(t), i;

	v = (unsigned long)getpid() * 2654435761u ^ (unsigned long)time(NULL) ^
	    (unsigned long)(uintptr_t)&n ^ ++n * 40503u;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v ^= (unsigned long)clock();
	for (i = len - 6; i < len; i++) {
		t[i] = set[v % (sizeof(set) - 1)];
		v /= sizeof(set) - 1;
	}
}

/* Whether an O_TMPFILE file can be linked into place: through its
 * /proc/self/fd link (AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH). */
static int
can_link_unnamed(void)
{
	static int known, ok;

	if (!known) {
		ok = access("/proc/self/fd", X_OK) == 0;
		known = 1;
	}
	return ok;
}

/* The message for a symbolic link where an output goes. */
static void
refuse_symlink(const char *path)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);

	if (n > 0)
		target[n] = '\0';
	cli_error(path, "is a symbolic link%s%s: refusing to write through "
	    "it or replace it%s", n > 0 ? " to " : "", n > 0 ? target : "",
	    n > 0 && (strncmp(target, "/proc/self/fd/", 14) == 0 ||
	    strncmp(target, "/dev/fd/", 8) == 0) ?
	    " (- is standard output)" : "");
}

int
cli_output_open_flags(struct cli_output *o, const char *path,
    unsigned flags)
{
	struct stat st, fst;
	char *dir;

	memset(o, 0, sizeof(*o));
	o->path = path;
	o->fd = -1;
	o->sync = (flags & CLI_OUTPUT_SYNC) != 0;
	if (strcmp(path, "-") == 0) {
		o->fd = STDOUT_FILENO;
		return 0;
	}
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode)) {
			refuse_symlink(path);
			return -1;
		}
		if (S_ISDIR(st.st_mode)) {
			cli_error(path, "is a directory");
			return -1;
		}
		if (!S_ISREG(st.st_mode) && (flags & CLI_OUTPUT_REGULAR)) {
			cli_error(path, "exists and is not a regular file: "
			    "refusing to replace it");
			return -1;
		}
		/* A device or FIFO (/dev/null, a named pipe, a terminal) is
		 * written directly, as cp and objcopy do: renaming a file
		 * over it would replace the node. */
		if (!S_ISREG(st.st_mode)) {
			o->fd = open(path, O_WRONLY | O_NOFOLLOW | O_NOCTTY |
			    O_CLOEXEC);
			if (o->fd < 0) {
				cli_error(path, "%s", strerror(errno));
				return -1;
			}
			if (fstat(o->fd, &fst) != 0 || fst.st_dev != st.st_dev ||
			    fst.st_ino != st.st_ino || S_ISREG(fst.st_mode)) {
				cli_error(path, "changed while it was opened");
				close(o->fd);
				o->fd = -1;
				return -1;
			}
			o->direct = 1;
			return 0;
		}
	}
	install_handlers();
	if (!(flags & CLI_OUTPUT_NAMED) && can_link_unnamed()) {
		if ((dir = dir_of(path)) == NULL) {
			cli_error(path, "out of memory");
			return -1;
		}
		/* Mode 0666 less the umask, as for a new file. */
		o->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
		free(dir);
		if (o->fd >= 0) {
			o->unnamed = 1;
			return 0;
		}
		/* EOPNOTSUPP: the filesystem has no O_TMPFILE; EISDIR or
		 * EINVAL: the kernel has none.  Then a named file. */
		if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
			cli_error(path, "cannot create output: %s",
			    strerror(errno));
			return -1;
		}
	}
	if ((o->tmp = temp_template(path)) == NULL) {
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

int
cli_output_open(struct cli_output *o, const char *path)
{
	return cli_output_open_flags(o, path, 0);
}

unsigned
cli_outputs_reserve(size_t n)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)n + 64;	/* the inputs, stdio, libraries */

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return CLI_OUTPUT_NAMED;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
			return CLI_OUTPUT_NAMED;
		rl.rlim_cur = need;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			return CLI_OUTPUT_NAMED;
	}
	return 0;
}

int
cli_output_like(struct cli_output *o, const struct stat *st)
{
	mode_t mode = st->st_mode & 07777;

	if (o->fd < 0 || o->direct || o->fd == STDOUT_FILENO)
		return 0;
	/* The owner first: chown() clears the set-ID bits.  Only root may
	 * give a file away; without it the set-ID bits are not kept. */
	if (fchown(o->fd, st->st_uid, st->st_gid) != 0)
		mode &= ~(mode_t)(S_ISUID | S_ISGID);
	if (fchmod(o->fd, mode) != 0) {
		cli_error(o->path, "cannot keep mode %04o: %s", (unsigned)mode,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
cli_output_finish(struct cli_output *o)
{
	int fd = o->fd;

	/* An unnamed file lives as long as its descriptor. */
	if (fd < 0 || o->unnamed || fd == STDOUT_FILENO)
		return 0;
	o->fd = -1;
	if (close(fd) != 0) {
		cli_error(o->path, "write: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* --sync: every output of the program is synced (cli_output_sync()). */
static int sync_all;

void
cli_output_sync(int on)
{
	sync_all = on;
}

/* Whether the set is synced: --sync, or an output that replaces its
 * input (CLI_OUTPUT_SYNC, for --in-place). */
static int
want_sync(const struct cli_output *v, size_t n)
{
	size_t i;

	if (sync_all)
		return 1;
	for (i = 0; i < n; i++)
		if (v[i].sync)
			return 1;
	return 0;
}

unsigned
cli_output_write_flags(const struct cli_output *o)
{
	return !o->direct && want_sync(o, 1) ? DFU_WRITE_WRITEBACK : 0;
}

/* After renames, make the new directory entries durable too: each
 * directory once. */
static void
sync_dirs(const struct cli_output *v, size_t n)
{
	char *dir, *last = NULL;
	size_t i;
	int fd;

	for (i = 0; i < n; i++) {
		if (v[i].direct || strcmp(v[i].path, "-") == 0)
			continue;
		if ((dir = dir_of(v[i].path)) == NULL)
			break;
		if (last != NULL && strcmp(dir, last) == 0) {
			free(dir);
			continue;
		}
		free(last);
		last = dir;
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	free(last);
}

/* States of an output in cli_outputs_commit(). */
enum {
	PLACE_NONE = 0,
	PLACE_CREATED,		/* path is new: undo unlinks it */
	PLACE_EXCHANGED,	/* tmp holds the old file: undo swaps back */
	PLACE_REPLACED,		/* the old file is gone: no undo */
};

static void
free_tmp(struct cli_output *o)
{
	if (o->tmp != NULL) {
		live_remove(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
	}
}

/* Give an unnamed output a temporary name next to its path. */
static int
name_unnamed(struct cli_output *o, char *proc)
{
	int tries;

	if ((o->tmp = temp_template(o->path)) == NULL || live_add(o->tmp)) {
		free(o->tmp);
		o->tmp = NULL;
		errno = ENOMEM;
		return -1;
	}
	for (tries = 0; tries < 100; tries++) {
		random_name(o->tmp);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, o->tmp,
		    AT_SYMLINK_FOLLOW) == 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	free_tmp(o);
	return -1;
}

/* Put one output into place; its state says how to undo it.  The last
 * output of a set needs no undo. */
static int
place(struct cli_output *o, int last)
{
	char proc[64];
	struct stat st;

	if (o->unnamed) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", o->fd);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, o->path,
		    AT_SYMLINK_FOLLOW) == 0) {
			o->state = PLACE_CREATED;
			return 0;
		}
		if (errno != EEXIST || name_unnamed(o, proc) != 0) {
			cli_error(o->path, "cannot link the output into place: "
			    "%s", strerror(errno));
			return -1;
		}
	} else if (renameat2(AT_FDCWD, o->tmp, AT_FDCWD, o->path,
	    RENAME_NOREPLACE) == 0) {
		free_tmp(o);
		o->state = PLACE_CREATED;
		return 0;
	} else if (errno != EEXIST && errno != EINVAL) {
		cli_error(o->path, "cannot rename %s into place: %s", o->tmp,
		    strerror(errno));
		return -1;
	}
	/* An existing file: swapped with the new one, so that a later
	 * failure can swap it back.  Only a regular file is replaced. */
	if (lstat(o->path, &st) != 0) {
		/* No RENAME_NOREPLACE (EINVAL) and no file there. */
		if (errno == ENOENT && rename(o->tmp, o->path) == 0) {
			free_tmp(o);
			o->state = PLACE_CREATED;
			return 0;
		}
		cli_error(o->path, "cannot rename %s into place: %s", o->tmp,
		    strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		if (S_ISLNK(st.st_mode))
			refuse_symlink(o->path);
		else
			cli_error(o->path, "%s: refusing to replace it",
			    S_ISDIR(st.st_mode) ? "is a directory" :
			    "exists and is not a regular file");
		return -1;
	}
	if (!last && renameat2(AT_FDCWD, o->tmp, AT_FDCWD, o->path,
	    RENAME_EXCHANGE) == 0) {
		o->state = PLACE_EXCHANGED;
		return 0;
	}
	/* The last output, or a filesystem without RENAME_EXCHANGE: a
	 * plain rename.  ext4 (auto_da_alloc) and btrfs take a rename()
	 * over an existing file as a replacement and start writing the
	 * new data before the rename is committed; RENAME_EXCHANGE gets
	 * neither (README.md, "Durability"). */
	if ((last || errno == EINVAL) && rename(o->tmp, o->path) == 0) {
		free_tmp(o);
		o->state = PLACE_REPLACED;
		return 0;
	}
	cli_error(o->path, "cannot rename %s into place: %s", o->tmp,
	    strerror(errno));
	return -1;
}

static void
unplace(struct cli_output *o)
{
	if (o->state == PLACE_CREATED)
		unlink(o->path);
	else if (o->state == PLACE_EXCHANGED)
		renameat2(AT_FDCWD, o->tmp, AT_FDCWD, o->path,
		    RENAME_EXCHANGE);
	o->state = PLACE_NONE;
}

/* With --sync or --in-place, the data of every output reaches the disk
 * before any name does, so that after a crash an output is the old file
 * or the whole new one whatever the filesystem: one fsync() for a single
 * file, one syncfs() for a set.  Without, no sync at all: see README.md,
 * "Durability", for what each filesystem then keeps after a crash. */
static int
sync_data(struct cli_output *v, size_t n)
{
	size_t i;
	int fd = -1, rc = 0;

	for (i = 0; i < n && fd < 0; i++)
		if (!v[i].direct && v[i].fd >= 0 && v[i].fd != STDOUT_FILENO)
			fd = v[i].fd;
	if (n == 1 && fd >= 0)
		rc = fsync(fd);
	else if (fd >= 0)
		rc = syncfs(fd);
	else {
		for (i = 0; i < n; i++)
			if (v[i].tmp != NULL) {
				char *dir = dir_of(v[i].path);

				fd = dir != NULL ? open(dir, O_RDONLY |
				    O_DIRECTORY | O_CLOEXEC) : -1;
				free(dir);
				if (fd >= 0) {
					rc = syncfs(fd);
					close(fd);
				}
				break;
			}
	}
	return rc;
}

int
cli_outputs_commit(struct cli_output *v, size_t n)
{
	sigset_t old;
	size_t i, j;
	int bad = 0, sync = want_sync(v, n);

	/* No signal may stop the set half placed: one that comes now
	 * ends the program after the last rename (or the undo). */
	block_fatal(&old);
	if (sync && sync_data(v, n) != 0) {
		cli_error(v[0].path, "write: %s", strerror(errno));
		bad = 1;
	}
	for (i = 0; i < n && !bad; i++) {
		if (v[i].direct) {
			if (close(v[i].fd) != 0) {
				cli_error(v[i].path, "write: %s",
				    strerror(errno));
				bad = 1;
			}
			v[i].fd = -1;
			v[i].direct = 0;
		} else if (!v[i].unnamed && cli_output_finish(&v[i]) != 0) {
			bad = 1;
		}
	}
	for (i = 0; i < n && !bad; i++) {
		/* Standard output and a device need no name. */
		if ((v[i].tmp != NULL || v[i].unnamed) &&
		    place(&v[i], i + 1 == n) != 0) {
			for (j = i; j-- > 0;)
				unplace(&v[j]);
			bad = 1;
		}
	}
	for (i = 0; i < n; i++) {
		if (bad)
			cli_output_abort(&v[i]);
		/* The old file, now under the temporary name. */
		if (v[i].state == PLACE_EXCHANGED && v[i].tmp != NULL)
			unlink(v[i].tmp);
		free_tmp(&v[i]);
		if (v[i].unnamed && v[i].fd >= 0)
			close(v[i].fd);
		if (v[i].fd != STDOUT_FILENO)
			v[i].fd = -1;
		v[i].unnamed = 0;
		v[i].state = PLACE_NONE;
	}
	if (!bad && sync)
		sync_dirs(v, n);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return bad ? -1 : 0;
}

int
cli_output_commit(struct cli_output *o)
{
	int rc;

	if (strcmp(o->path, "-") == 0) {
		o->fd = -1;
		return 0;
	}
	rc = cli_outputs_commit(o, 1);
	o->fd = -1;
	return rc;
}

void
cli_output_abort(struct cli_output *o)
{
	if (o->fd >= 0 && o->fd != STDOUT_FILENO)
		close(o->fd);
	o->fd = -1;
	o->direct = 0;
	o->unnamed = 0;
	if (o->tmp != NULL)
		unlink(o->tmp);
	free_tmp(o);
}

int
cli_same_file(const char *path, int fd)
{
	struct stat a, b;

	if (stat(path, &a) != 0 || fstat(fd, &b) != 0)
		return 0;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* ---- Options and DfuSe building: bin2dfu, elf2dfu, hex2dfu ---------------- */

#define TARGET_NAME_MAX (DFUSE_TARGET_NAME_SIZE - 1)

void
cli_usage_error(const char *fmt, ...)
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

void
cli_opts_usage(const struct cli_opts *o)
{
	cli_help(stderr, o->usage, 0);
	exit(CLI_EXIT_USAGE);
}

void *
cli_grow(void *p, size_t n, size_t size)
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

int
cli_parse_u32_prefix(const char *s, size_t n, uint32_t *out)
{
	char buf[32];

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return cli_parse_u32(buf, out);
}

void
cli_opts_init(struct cli_opts *o, const char *tool, const char *usage,
    const struct option *longopts)
{
	memset(o, 0, sizeof(*o));
	o->tool = tool;
	o->usage = usage;
	o->longopts = longopts;
	o->vid = 0x0483;	/* STMicroelectronics */
	o->pid = 0xdf11;	/* STM32 ROM bootloader in DFU mode */
	o->bcd_device = DFU_ID_ANY;
	o->pad = 1;
}

void
cli_opts_free(struct cli_opts *o)
{
	free(o->targets);
	o->targets = NULL;
	o->ntargets = 0;
}

size_t
cli_opts_add_target(struct cli_opts *o, const char *arg, uint8_t alt,
    const char *name)
{
	struct cli_target *t;

	if (o->ntargets == DFUSE_MAX_TARGETS)
		cli_usage_error("-t %s: more than %d targets", arg,
		    DFUSE_MAX_TARGETS);
	o->targets = cli_grow(o->targets, o->ntargets, sizeof(*o->targets));
	t = &o->targets[o->ntargets];
	t->arg = arg;
	t->alt = alt;
	t->name = name;
	return o->ntargets++;
}

/* -t ALT[:NAME] */
static void
opts_target(struct cli_opts *o, const char *arg)
{
	const char *colon = strchr(arg, ':');
	const char *name = colon != NULL ? colon + 1 : NULL;
	size_t altlen = colon != NULL ? (size_t)(colon - arg) : strlen(arg);
	uint32_t alt;

	if (cli_arg_u32("-t", arg, arg, altlen, &alt) != 0 || alt > 255)
		cli_usage_error("-t %s: alternate setting is not a number from "
		    "0 to 255", arg);
	if (name != NULL && *name == '\0')
		cli_usage_error("-t %s: empty target name", arg);
	if (name != NULL && strlen(name) > TARGET_NAME_MAX)
		cli_usage_error("-t %.*s: target name is %zu bytes, longer "
		    "than %d", (int)altlen, arg, strlen(name), TARGET_NAME_MAX);
	cli_opts_add_target(o, arg, (uint8_t)alt, name);
}

/*
 * The long option of argv element el ("--name" or "--name=value") if it
 * is the one whose code is val; NULL if el is not a long option.
 */
static const struct option *
opts_long(const struct option *longopts, const char *el, int val)
{
	size_t n;

	if (strncmp(el, "--", 2) != 0)
		return NULL;
	el += 2;
	n = strcspn(el, "=");
	for (const struct option *lo = longopts; lo->name != NULL; lo++)
		if (lo->val == val && strncmp(lo->name, el, n) == 0)
			return lo;
	return NULL;
}

/*
 * If the long option el abbreviates more than one, print "ambiguous
 * option: --p (--pad, --plain)" and return 1.
 */
static int
opts_ambiguous(const struct option *longopts, const char *el)
{
	const char *name = el + 2;
	size_t n = strcspn(name, "="), len = 0, matches = 0;
	char list[256];

	list[0] = '\0';
	for (const struct option *lo = longopts; lo->name != NULL; lo++) {
		if (n == 0 || strncmp(lo->name, name, n) != 0)
			continue;
		if (len < sizeof(list))
			len += (size_t)snprintf(list + len, sizeof(list) - len,
			    "%s--%s", matches > 0 ? ", " : "", lo->name);
		matches++;
	}
	if (matches < 2)
		return 0;
	cli_error(NULL, "ambiguous option: --%.*s (%s)", (int)n, name, list);
	return 1;
}

void
cli_help(FILE *fp, const char *help, int full)
{
	const char *end = full ? NULL : strstr(help, "\n\n");

	fflush(stdout);
	fwrite(help, 1, end != NULL ? (size_t)(end - help) + 1 : strlen(help),
	    fp);
}

/*
 * getopt_long() refused an option.  Name it as the user wrote it: "-x",
 * or "--name" without any "=value" ('--device' with no argument is not
 * "-d", '--help=x' is not "-h").  For a long option getopt_long() has
 * already stepped optind past its element; for a short one optopt is the
 * character and the element may hold others.
 */
void
cli_option_error(const struct option *longopts, const char *help, int ch,
    char *argv[])
{
	const char *el = optind > 0 ? argv[optind - 1] : "";
	const char *what = ch == ':' ? "option needs an argument" :
	    "unknown option";
	int longopt;

	if (ch == ':')
		longopt = strncmp(el, "--", 2) == 0;
	else if (optopt == 0)
		longopt = 1;	/* unknown or ambiguous long option */
	else {
		/* A long option given an argument it does not take. */
		longopt = strchr(el, '=') != NULL &&
		    opts_long(longopts, el, optopt) != NULL;
		if (longopt)
			what = "option takes no argument";
	}
	if (!longopt)
		cli_error(NULL, "%s: -%c", what, optopt);
	else if (ch == ':' || optopt != 0 || strncmp(el, "--", 2) != 0 ||
	    !opts_ambiguous(longopts, el))
		cli_error(NULL, "%s: %.*s", what, (int)strcspn(el, "="), el);
	cli_help(stderr, help, 0);
	exit(CLI_EXIT_USAGE);
}

void
cli_opts_option(struct cli_opts *o, int ch, char *argv[])
{
	switch (ch) {
	case 'd':
		if (cli_parse_ids(optarg, &o->vid, &o->pid) != 0)
			cli_usage_error("-d %s: expected vid:pid, two hexadecimal "
			    "numbers up to ffff", optarg);
		o->ids_set = 1;
		break;
	case 'h':
		cli_help(stdout, o->usage, 1);
		exit(CLI_EXIT_OK);
	case 'o':
		if (*optarg == '\0')
			cli_usage_error("-o: empty file name");
		o->output = optarg;
		break;
	case 'r':
		if (cli_parse_hex16(optarg, &o->bcd_device) != 0)
			cli_usage_error("-r %s: bcdDevice is not a hexadecimal "
			    "number up to ffff", optarg);
		break;
	case 't':
		opts_target(o, optarg);
		break;
	case 'V':
		printf("%s %s\n", o->tool, DFUFILE_VERSION_STRING);
		exit(CLI_EXIT_OK);
	case CLI_OPT_PAD:
		if (cli_arg_u32("--pad", optarg, optarg, strlen(optarg),
		    &o->pad) != 0 || o->pad == 0)
			cli_usage_error("--pad %s: not a number from 1 to "
			    "4294967295", optarg);
		break;
	case CLI_OPT_SYNC:
		cli_output_sync(1);
		break;
	default:
		cli_option_error(o->longopts, o->usage, ch, argv);
	}
}

void
cli_opts_check(const struct cli_opts *o)
{
	if (o->output == NULL) {
		cli_error(NULL, "missing -o output");
		cli_opts_usage(o);
	}
}

const char *
cli_output_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "(stdout)" : path;
}

void
cli_file_error(const struct dfu_file *f, const char *file, int err)
{
	const char *msg = dfu_file_errmsg(f);
	const char *sys = "";
	int e = dfu_file_errno(f);

	if (*msg == '\0')
		msg = dfu_strerror(err);
	if (err == DFU_ERR_IO && e != 0 && strstr(msg, strerror(e)) == NULL)
		sys = strerror(e);
	cli_error(file, "%s%s%s", msg, *sys != '\0' ? ": " : "", sys);
}

int
cli_build_dfuse(const struct cli_opts *o, struct dfu_file *f,
    int (*add)(void *ctx, struct dfu_file *f, size_t t, unsigned index),
    void *ctx, const char *pad_file)
{
	int err, idx;

	if ((err = dfu_file_init(f, DFU_FORMAT_DFUSE)) != 0 ||
	    (err = dfu_file_set_ids(f, o->vid, o->pid, o->bcd_device)) != 0) {
		cli_file_error(f, NULL, err);
		return -1;
	}
	for (size_t t = 0; t < o->ntargets; t++) {
		const struct cli_target *tg = &o->targets[t];

		if ((idx = dfu_file_add_target(f, tg->alt, tg->name)) < 0) {
			cli_file_error(f, NULL, idx);
			return -1;
		}
		if (add(ctx, f, t, (unsigned)idx) != 0)
			return -1;
	}
	if (o->pad > 1 &&
	    (err = dfu_file_pad_elements(f, o->pad, CLI_PAD_FILL)) != 0) {
		cli_file_error(f, pad_file, err);
		return -1;
	}
	return 0;
}

int
cli_output_is_input(const char *output, int in_fd, const char *in_path)
{
	struct stat a, b;

	if (strcmp(output, "-") == 0) {
		if (fstat(STDOUT_FILENO, &a) != 0 || fstat(in_fd, &b) != 0 ||
		    !S_ISREG(a.st_mode) || a.st_dev != b.st_dev ||
		    a.st_ino != b.st_ino)
			return 0;
	} else if (!cli_same_file(output, in_fd))
		return 0;
	cli_error(cli_output_name(output), "output is also the input %s; "
	    "refusing to overwrite it", cli_input_name(in_path));
	return 1;
}

int
cli_write_dfu(struct dfu_file *f, const char *output)
{
	struct cli_output out;
	int err;

	if (cli_output_open(&out, output) != 0)
		return CLI_EXIT_FAIL;
	if ((err = dfu_file_write_fd_flags(f, out.fd,
	    cli_output_write_flags(&out))) != 0) {
		cli_file_error(f, cli_output_name(output), err);
		cli_output_abort(&out);
		return CLI_EXIT_FAIL;
	}
	return cli_output_commit(&out) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* ---- Converters: elf2dfu, hex2dfu ----------------------------------------- */

enum {
	CONV_OPT_GAP_FILL = CLI_OPT_TOOL,
	CONV_OPT_MAX_GAP,
	CONV_OPT_RANGE,
	CONV_OPT_SPLIT_AT,
};

#define CONV_LONGOPTS \
	CLI_OPTS_LONGOPTS, \
	{ "gap-fill",	required_argument,	NULL,	CONV_OPT_GAP_FILL }, \
	{ "max-gap",	required_argument,	NULL,	CONV_OPT_MAX_GAP }, \
	{ "range",	required_argument,	NULL,	CONV_OPT_RANGE }, \
	{ "split-at",	required_argument,	NULL,	CONV_OPT_SPLIT_AT }

static const struct option conv_longopts[] = {
	CONV_LONGOPTS,
	{ NULL,		0,			NULL,	0 }
};

/* With CLI_CONV_SECTIONS. */
static const struct option conv_section_longopts[] = {
	CONV_LONGOPTS,
	{ "only-section",	required_argument,	NULL,	'j' },
	{ "remove-section",	required_argument,	NULL,	'R' },
	{ NULL,			0,			NULL,	0 }
};

/* --range FIRST-LAST or FIRST+SIZE, for the last -t. */
static void
conv_range(struct cli_conv *c, const char *arg)
{
	const char *sep = strpbrk(arg, "-+");
	struct cli_range r;
	uint32_t first, second;

	if (c->opts.ntargets == 0)
		cli_usage_error("--range %s: give -t before the ranges of its "
		    "target", arg);
	if (sep == NULL || cli_arg_u32("--range", arg, arg, (size_t)(sep - arg),
	    &first) != 0 || cli_arg_u32("--range", arg, sep + 1,
	    strlen(sep + 1), &second) != 0)
		cli_usage_error("--range %s: expected first-last or first+size, "
		    "32-bit numbers", arg);
	if (*sep == '-' && second < first)
		cli_usage_error("--range %s: the last address is below the "
		    "first", arg);
	if (*sep == '+' && second == 0)
		cli_usage_error("--range %s: empty range", arg);
	if (*sep == '+' && (uint64_t)first + second > (UINT64_C(1) << 32))
		cli_usage_error("--range %s: runs past the end of the 32-bit "
		    "address space", arg);
	r.first = first;
	r.last = *sep == '-' ? second : (uint32_t)(first + (second - 1));
	r.arg = arg;
	r.target = c->opts.ntargets - 1;
	c->ranges = cli_grow(c->ranges, c->nranges, sizeof(*c->ranges));
	c->ranges[c->nranges++] = r;
}

static int
conv_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Number of --range options of target t. */
static size_t
conv_nranges(const struct cli_conv *c, size_t t)
{
	size_t i, n = 0;

	for (i = 0; i < c->nranges; i++)
		n += c->ranges[i].target == t;
	return n;
}

/* What the options left to check once all are read. */
static void
conv_check(struct cli_conv *c, int argc, char *argv[])
{
	struct cli_opts *o = &c->opts;
	const char *rest_arg = NULL;
	size_t i, rest = 0;

	if (argc == 0) {
		cli_error(NULL, "no input: give a file");
		cli_opts_usage(o);
	}
	if (argc > 1) {
		cli_error(NULL, "%s: unexpected argument; give one input file",
		    argv[1]);
		cli_opts_usage(o);
	}
	c->input = argv[0];
	cli_opts_check(o);
	if (c->nsplits > 0) {
		if (c->nranges > 0)
			cli_usage_error("--range cannot be used with "
			    "--split-at");
		qsort(c->splits, c->nsplits, sizeof(*c->splits), conv_cmp_u32);
		for (i = 1; i < c->nsplits; i++)
			if (c->splits[i] == c->splits[i - 1])
				cli_usage_error("--split-at 0x%08x: given twice",
				    c->splits[i]);
		if (o->ntargets > 0 && o->ntargets != c->nsplits + 1)
			cli_usage_error("--split-at cuts the addresses into %zu "
			    "parts, but %zu target%s given with -t",
			    c->nsplits + 1, o->ntargets, o->ntargets == 1 ?
			    " is" : "s are");
		if (o->ntargets == 0 && c->nsplits + 1 > DFUSE_MAX_TARGETS)
			cli_usage_error("--split-at cuts the addresses into %zu "
			    "parts, more than %d targets", c->nsplits + 1,
			    DFUSE_MAX_TARGETS);
		if (o->ntargets == 0)
			for (i = 0; i <= c->nsplits; i++)
				cli_opts_add_target(o, NULL, (uint8_t)i, NULL);
		return;
	}
	if (o->ntargets == 0) {
		cli_opts_add_target(o, NULL, 0, NULL);
		return;
	}
	for (i = 0; i < o->ntargets; i++) {
		if (conv_nranges(c, i) > 0)
			continue;
		if (rest++ > 0)
			cli_usage_error("-t %s and -t %s have no --range: only "
			    "one target can take the addresses no --range "
			    "names", rest_arg, o->targets[i].arg);
		rest_arg = o->targets[i].arg;
	}
}

/*
 * The conversion the options describe, as libdfufile takes it (dfuconv.h),
 * targets and ranges labelled as the command line gave them; what the
 * library finds wrong with it is a usage error.
 */
static void
conv_describe(struct cli_conv *c)
{
	const struct cli_opts *o = &c->opts;
	char label[300];
	size_t i;
	int err = 0;

	if ((c->conv = dfu_conv_new()) == NULL) {
		cli_error(NULL, "out of memory");
		exit(CLI_EXIT_FAIL);
	}
	if ((err = dfu_conv_set_ids(c->conv, o->vid, o->pid,
	    o->bcd_device)) != 0 ||
	    (err = dfu_conv_set_gap(c->conv, c->max_gap,
	    (uint8_t)c->gap_fill)) != 0 ||
	    (err = dfu_conv_set_pad(c->conv, o->pad, CLI_PAD_FILL)) != 0)
		goto fail;
	for (i = 0; i < o->ntargets; i++) {
		const struct cli_target *tg = &o->targets[i];

		if (tg->arg != NULL)
			snprintf(label, sizeof(label), "-t %s", tg->arg);
		if ((err = dfu_conv_add_target(c->conv, tg->alt, tg->name,
		    tg->arg != NULL ? label : NULL)) < 0)
			goto fail;
	}
	for (i = 0; i < c->nranges; i++) {
		snprintf(label, sizeof(label), "--range %s", c->ranges[i].arg);
		if ((err = dfu_conv_add_range(c->conv,
		    (unsigned)c->ranges[i].target, c->ranges[i].first,
		    c->ranges[i].last, label)) != 0)
			goto fail;
	}
	for (i = 0; i < c->nsplits; i++)
		if ((err = dfu_conv_add_split(c->conv, c->splits[i])) != 0)
			goto fail;
	if ((err = dfu_conv_check(c->conv)) == 0)
		return;
fail:
	if (err == DFU_ERR_INVALID)
		cli_usage_error("%s", dfu_conv_errmsg(c->conv));
	cli_conv_error(c->conv, NULL, err);
	exit(CLI_EXIT_FAIL);
}

void
cli_conv_parse(struct cli_conv *c, const char *tool, const char *usage,
    unsigned flags, int argc, char *argv[])
{
	int sections = (flags & CLI_CONV_SECTIONS) != 0;
	const char *shortopts = sections ? ":" CLI_OPTS_SHORTOPTS "j:R:" :
	    ":" CLI_OPTS_SHORTOPTS;
	const struct option *longopts = sections ? conv_section_longopts :
	    conv_longopts;
	uint32_t v;
	int ch;

	memset(c, 0, sizeof(*c));
	cli_opts_init(&c->opts, tool, usage, longopts);
	c->gap_fill = -1;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			c->only = cli_grow(c->only, c->nonly, sizeof(*c->only));
			c->only[c->nonly++] = optarg;
			break;
		case 'R':
			c->remove = cli_grow(c->remove, c->nremove,
			    sizeof(*c->remove));
			c->remove[c->nremove++] = optarg;
			break;
		case CONV_OPT_GAP_FILL:
			if (cli_arg_u32("--gap-fill", optarg, optarg,
			    strlen(optarg), &v) != 0 || v > 255)
				cli_usage_error("--gap-fill %s: not a byte value "
				    "from 0 to 255", optarg);
			c->gap_fill = (int)v;
			break;
		case CONV_OPT_MAX_GAP:
			if (cli_arg_u32("--max-gap", optarg, optarg,
			    strlen(optarg), &c->max_gap) != 0 ||
			    c->max_gap == 0)
				cli_usage_error("--max-gap %s: not a number from "
				    "1 to 4294967295", optarg);
			break;
		case CONV_OPT_RANGE:
			conv_range(c, optarg);
			break;
		case CONV_OPT_SPLIT_AT:
			if (cli_arg_u32("--split-at", optarg, optarg,
			    strlen(optarg), &v) != 0 || v == 0)
				cli_usage_error("--split-at %s: not an address "
				    "from 1 to 0xffffffff", optarg);
			c->splits = cli_grow(c->splits, c->nsplits,
			    sizeof(*c->splits));
			c->splits[c->nsplits++] = v;
			break;
		default:
			cli_opts_option(&c->opts, ch, argv);
		}
	}
	if (c->gap_fill >= 0 && c->max_gap == 0)
		cli_usage_error("--gap-fill needs --max-gap: say how large a gap "
		    "may be filled");
	if (c->gap_fill < 0)
		c->gap_fill = CLI_PAD_FILL;
	conv_check(c, argc - optind, argv + optind);
	conv_describe(c);
}

void
cli_conv_free(struct cli_conv *c)
{
	cli_opts_free(&c->opts);
	dfu_conv_free(c->conv);
	free(c->ranges);
	free(c->splits);
	free(c->only);
	free(c->remove);
	memset(c, 0, sizeof(*c));
}

/* The byte of two hexadecimal digits at p, or -1. */
static int
hex_byte(const char *p)
{
	int h = digit_value(p[0], 16), l = h < 0 ? -1 : digit_value(p[1], 16);

	return l < 0 ? -1 : h * 16 + l;
}

enum dfu_image_format
cli_image_sniff(const void *buf, size_t len)
{
	enum dfu_image_format format = dfu_image_detect(buf, len);
	const char *p = buf, *end = p + len;
	unsigned sum = 0;
	int count, b;

	if (format != DFU_IMAGE_IHEX && format != DFU_IMAGE_SREC)
		return format;
	while (p < end && (*p == ' ' || (*p >= '\t' && *p <= '\r')))
		p++;
	p += format == DFU_IMAGE_IHEX ? 1 : 2;	/* ':' or "Sn" */
	if (end - p < 2 || (count = hex_byte(p)) < 0)
		return DFU_IMAGE_UNKNOWN;
	/* HEX: count, address (2), type, data, checksum: all sum to 0.
	 * S-records: count (of the bytes after it), then the bytes, the
	 * last the one's complement of the sum of all but itself. */
	if (format == DFU_IMAGE_IHEX)
		count += 5;
	else
		count += 1;
	if (end - p < 2 * (ptrdiff_t)count)
		return DFU_IMAGE_UNKNOWN;
	for (int i = 0; i < count; i++) {
		if ((b = hex_byte(p + 2 * i)) < 0)
			return DFU_IMAGE_UNKNOWN;
		sum += (unsigned)b;
	}
	p += 2 * count;
	if (p < end && *p != '\n' && *p != '\r')
		return DFU_IMAGE_UNKNOWN;
	if (format == DFU_IMAGE_IHEX)
		return (sum & 0xff) == 0 ? format : DFU_IMAGE_UNKNOWN;
	return (sum & 0xff) == 0xff ? format : DFU_IMAGE_UNKNOWN;
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

void
cli_conv_error(const struct dfu_conv *conv, const char *file, int err)
{
	const char *msg = dfu_conv_errmsg(conv);
	const char *sys = "";
	int e = dfu_conv_errno(conv);

	if (*msg == '\0')
		msg = dfu_strerror(err);
	if (err == DFU_ERR_IO && e != 0 && strstr(msg, strerror(e)) == NULL)
		sys = strerror(e);
	cli_error(file, "%s%s%s", msg, *sys != '\0' ? ": " : "", sys);
}

/* The DfuSe file of cli_conv_write(), built into f; -1 after printing
 * the error. */
static int
conv_build(const struct cli_conv *c, struct dfu_image *img,
    struct dfu_file *f)
{
	const char *name = cli_input_name(c->input);
	uint32_t first, last;
	int err;

	if ((err = dfu_conv_build(c->conv, img, f)) == 0)
		return 0;
	if (dfu_conv_uncovered(c->conv, &first, &last))
		cli_error(name, "0x%08x-0x%08x is in no target's --range",
		    first, last);
	else
		cli_conv_error(c->conv, name, err);
	return -1;
}

int
cli_conv_write(const struct cli_conv *c, struct dfu_image *img, int in_fd)
{
	struct dfu_file *f;
	int rc = CLI_EXIT_FAIL;

	if (cli_output_is_input(c->opts.output, in_fd, c->input))
		return CLI_EXIT_FAIL;
	if ((f = dfu_file_new()) == NULL) {
		cli_error(NULL, "out of memory");
		return CLI_EXIT_FAIL;
	}
	if (conv_build(c, img, f) == 0)
		rc = cli_write_dfu(f, c->opts.output);
	dfu_file_free(f);
	return rc;
}
