#!/bin/sh
# Output safety for every tool that writes a file: a full disk (a file
# size limit), an unwritable directory, an output that names an input
# (standard output included), and a run ended by SIGINT, SIGTERM, SIGHUP
# or SIGKILL in the middle of a large write.  In each case: exit status,
# no output and no temporary file, an existing output left as it was,
# inputs untouched.  Outputs that are not plain files: a device or FIFO
# is written directly and kept, a symbolic link is refused; names of 255
# bytes; --in-place keeps mode, owner and symbolic links.  dfusplit's
# split: all files or none, a planted link or device refused, and its
# syncs.  Also: a hostile size field in a small file costs no memory
# (ulimit -v).
. "$(dirname "$0")/lib.sh"

DFUSPLIT=$BUILD/bin/dfusplit
ELF2DFU=$BUILD/bin/elf2dfu
HEX2DFU=$BUILD/bin/hex2dfu

# Inputs of about 200 KiB for each tool, and a previous output "old.dfu".
make_inputs() {
	head -c 200000 /dev/zero | tr '\0' '\132' >in.bin
	"$BIN2DFU" -a 0x08000000:in.bin -o in.dfu &&
	python3 -c '
data = open("in.bin", "rb").read()
out = []
for off in range(0, len(data), 16):
    addr = 0x08000000 + off
    if off % 0x10000 == 0:
        up = addr >> 16
        rec = bytes([2, 0, 0, 4, up >> 8, up & 0xff])
        out.append(":" + rec.hex().upper() + "%02X" % (-sum(rec) & 0xff))
    chunk = data[off:off + 16]
    rec = bytes([len(chunk), (addr >> 8) & 0xff, addr & 0xff, 0]) + chunk
    out.append(":" + rec.hex().upper() + "%02X" % (-sum(rec) & 0xff))
out.append(":00000001FF")
open("in.hex", "w").write("\n".join(out) + "\n")
# An ELF32 (ARM, little endian) with one PT_LOAD of the same bytes.
import struct
eh = b"\x7fELF\x01\x01\x01" + bytes(9) + struct.pack("<HHIIIIIHHHHHH",
    2, 40, 1, 0x08000000, 52, 0, 0, 52, 32, 1, 0, 0, 0)
ph = struct.pack("<IIIIIIII", 1, 84, 0x08000000, 0x08000000, len(data),
    len(data), 5, 4)
open("in.elf", "wb").write(eh + ph + data)
' && "$BIN2DFU" --plain -o in.sfx in.bin &&
	printf 'previous output\n' >old.dfu || fail "making inputs failed"
}

# The commands that write, each as: name, then the command with OUT where
# the output goes.
COMMANDS='bin2dfu|$BIN2DFU -a 0x08000000:in.bin -o OUT
bin2dfu --plain|$BIN2DFU --plain -o OUT in.bin
dfusplit edit|$DFUSPLIT --set-vid 1209 -o OUT in.dfu
dfusplit merge|$DFUSPLIT --merge -o OUT in.dfu
dfusplit add-suffix|$DFUSPLIT --add-suffix -o OUT in.bin
dfusplit strip-suffix|$DFUSPLIT --strip-suffix -o OUT in.sfx
elf2dfu|$ELF2DFU -o OUT in.elf
hex2dfu|$HEX2DFU -o OUT in.hex'

# for_each_command FUNCTION [ARG]: call FUNCTION NAME COMMAND-WITH-OUT
# [ARG] per line, in this shell (not a pipeline's subshell, where a
# failure would be lost).
for_each_command() {
	while IFS='|' read -r name cmd; do
		"$1" "$name" "$cmd" ${2:+"$2"}
	done <<EOF
$COMMANDS
EOF
}

# The directory holds only the inputs and old.dfu, which is unchanged.
expect_untouched() {
	expect_dir_only . in.bin in.dfu in.elf in.hex in.sfx old.dfu
	[ "$(cat old.dfu)" = "previous output" ] || fail "$1: old.dfu was changed"
}

size_limit() {
	name=$1
	eval "set -- $(echo "$2" | sed 's/OUT/old.dfu/')"
	# A 32 KiB file size limit: the output cannot be written whole.
	# SIGXFSZ is set to its default action (ending the program) first,
	# as a tool must not rely on the caller ignoring it.
	run python3 -c '
import os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
resource.setrlimit(resource.RLIMIT_FSIZE, (32768, 32768))
os.execvp(sys.argv[1], sys.argv[1:])' "$@"
	expect_status 1
	expect_stderr_contains "File too large"
	expect_untouched "$name"
}
case_begin "a full disk (ulimit -f): an error, no partial output, the old one kept"
cd "$TMP" && make_inputs
for_each_command size_limit
case_end

unwritable() {
	dir=$3
	eval "set -- $(echo "$2" | sed "s|OUT|$dir/out.dfu|")"
	run "$@"
	expect_status 1
	expect_stderr_contains "$dir/out.dfu: cannot create output: "
}
case_begin "an unwritable directory"
cd "$TMP" && make_inputs
if [ "$(id -u)" = 0 ]; then
	# root writes anywhere a mode allows; sysfs refuses new files even to
	# root.
	dir=/sys
else
	mkdir ro && chmod 555 ro && dir=ro
fi
for_each_command unwritable "$dir"
[ "$dir" != ro ] || rmdir ro
expect_untouched unwritable
case_end

same_as_input() {
	in=$(echo "$2" | tr ' ' '\n' | grep -o 'in\.[a-z]*$' | tail -n 1)
	cp "$in" keep
	eval "set -- $(echo "$2" | sed "s|OUT|$in|")"
	run "$@"
	expect_status 1
	expect_stderr_contains "$in"
	expect_same_bytes "$in" keep
	rm keep
}
case_begin "an output that names an input is refused, the input kept"
cd "$TMP" && make_inputs
for_each_command same_as_input
expect_untouched same-as-input
case_end

# interrupt SIGNAL NAME COMMAND: start the command on a 1 GiB input, wait
# until it writes its temporary output (unnamed, or .old.dfu.XXXXXX where
# the filesystem has no O_TMPFILE) and 1 MiB has gone into it, stop it
# there, send SIGNAL, let it go on.  It must die by that signal and leave
# nothing behind, even after SIGKILL, which no program can catch.
INTERRUPT='
import os, signal, subprocess, sys, time
sig = getattr(signal, sys.argv[1])
def writing(pid):
    d = "/proc/%d/fd" % pid
    try:
        fds = [os.readlink(d + "/" + n) for n in os.listdir(d)]
        with open("/proc/%d/io" % pid) as f:
            io = dict(l.split(": ") for l in f.read().splitlines())
    except OSError:
        return False
    here = os.getcwd() + "/"
    return int(io["wchar"]) >= 1 << 20 and any(t.startswith(here) and
        (t.endswith(" (deleted)") or
         os.path.basename(t).startswith(".old.dfu.")) for t in fds)
# As from a terminal: a test started in the background or under nohup
# inherits these signals ignored, and a tool rightly keeps them so.
def defaults():
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)
p = subprocess.Popen(sys.argv[2:], preexec_fn=defaults)
deadline = time.time() + 30
while time.time() < deadline and p.poll() is None:
    if writing(p.pid):
        break
    time.sleep(0.002)
if p.poll() is not None:
    print("finished before it could be interrupted, status", p.returncode)
    sys.exit(3)
p.send_signal(signal.SIGSTOP)
p.send_signal(sig)
p.send_signal(signal.SIGCONT)
rc = p.wait()
print("status", rc)
sys.exit(0 if rc == -sig else 4)
'
case_begin "SIGINT, SIGTERM, SIGHUP and SIGKILL during a large write leave no file behind"
cd "$TMP"
truncate -s 1G big.bin
printf 'previous output\n' >old.dfu
for s in SIGINT SIGTERM SIGHUP SIGKILL; do
	run python3 -c "$INTERRUPT" $s "$BIN2DFU" -a 0x08000000:big.bin -o old.dfu
	expect_status 0
	expect_dir_only . big.bin old.dfu
	[ "$(cat old.dfu)" = "previous output" ] || fail "$s: old.dfu changed"
done
"$BIN2DFU" -a 0x08000000:big.bin -o big.dfu || fail "bin2dfu big.dfu"
for s in SIGTERM SIGKILL; do
	run python3 -c "$INTERRUPT" $s "$DFUSPLIT" --set-vid 1209 -o old.dfu big.dfu
	expect_status 0
	expect_dir_only . big.bin big.dfu old.dfu
	[ "$(cat old.dfu)" = "previous output" ] || fail "dfusplit $s: old.dfu changed"
done
case_end

case_begin "a 4 GiB size field in a small file is refused within 64 MiB of memory"
if [ -n "$SAN_FLAGS" ]; then
	skip_case "AddressSanitizer reserves more address space than ulimit -v allows"
else
	n=0
	for f in "$FIXTURES"/invalid/dfuse-*size*.dfu; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		run sh -c 'ulimit -v 65536 && exec "$@"' sh "$DFUINFO" "$f"
		expect_status 1
		expect_stdout_contains "error:"
		grep -qi "memory" "$ERR" && fail "$f: out of memory"
	done
	[ $n -ge 5 ] || fail "only $n size fixtures"
fi
case_end

# ---- hostile outputs (issue 14) ---------------------------------------------

redirected() {
	in=$(echo "$2" | tr ' ' '\n' | grep -o 'in\.[a-z]*$' | tail -n 1)
	cp "$in" keep
	eval "set -- $(echo "$cmd" | sed "s|OUT|-|")"
	run sh -c 'f=$1; shift; exec "$@" >>"$f"' sh "$in" "$@"
	expect_status 1
	expect_stderr_contains "(stdout): "
	expect_stderr_contains "$in"
	expect_same_bytes "$in" keep
	rm keep
}
case_begin "-o - with standard output appended to an input is refused, the input kept"
cd "$TMP" && make_inputs
for_each_command redirected
expect_untouched redirected
case_end

# A link to /proc/self/fd/1 is what /dev/stdout is; a link to a file.
symlinked() {
	tool=$1 cmd=$2
	eval "set -- $(echo "$cmd" | sed 's|OUT|so|')"
	run sh -c 'exec "$@" >out.dfu' sh "$@"
	expect_status 1
	expect_stderr_line "$(basename "$1"): so: is a symbolic link to /proc/self/fd/1: refusing to write through it or replace it (- is standard output)"
	[ -L so ] || fail "$tool: so is no longer a symbolic link"
	[ ! -s out.dfu ] || fail "$tool: out.dfu written"
	eval "set -- $(echo "$cmd" | sed 's|OUT|victim.link|')"
	run "$@"
	expect_status 1
	expect_stderr_contains "victim.link: is a symbolic link to victim: refusing"
	[ -L victim.link ] || fail "$tool: victim.link replaced"
	[ "$(cat victim)" = precious ] || fail "$tool: written through the link"
}
case_begin "an output that is a symbolic link is refused: not replaced, not written through"
cd "$TMP" && make_inputs
ln -s /proc/self/fd/1 so
echo precious >victim && ln -s victim victim.link
for_each_command symlinked
case_end

device() {
	tool=$1 cmd=$2
	eval "set -- $(echo "$cmd" | sed 's|OUT|null|')"
	run "$@"
	expect_status 0
	[ -c null ] || fail "$tool: the device node was replaced"
	eval "set -- $(echo "$cmd" | sed 's|OUT|fifo|')"
	timeout 20 cat fifo >got &
	reader=$!
	run "$@"
	expect_status 0
	wait $reader
	[ -p fifo ] || fail "$tool: the FIFO was replaced"
	[ -s got ] || fail "$tool: nothing came through the FIFO"
	rm got
}
case_begin "an output that is a device or a FIFO is written directly, its node kept"
if [ "$(id -u)" != 0 ]; then
	skip_case "mknod of a device needs root"
else
	cd "$TMP" && make_inputs
	mknod null c 1 3 && mkfifo fifo || fail "mknod, mkfifo"
	if ! (: >null) 2>/dev/null; then
		skip_case "$TMP is on a filesystem mounted nodev"
	else
		for_each_command device
	fi
fi
case_end

long_name() {
	tool=$1 cmd=$2
	long=$(printf '%0251d.dfu' 0)
	eval "set -- $(echo "$cmd" | sed "s|OUT|$long|")"
	run "$@"
	expect_status 0
	[ -s "$long" ] || fail "$tool: no 255-byte output"
	rm -f "$long"
	expect_untouched "$tool"
}
case_begin "an output name of 255 bytes (NAME_MAX) works"
cd "$TMP" && make_inputs
for_each_command long_name
case_end

# Where the filesystem has no O_TMPFILE: a preloaded open() that refuses
# it as vfat does (EOPNOTSUPP), so that the named temporary files are
# tested too.
NOTMPFILE='
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#define WRAP(name) \
int name(const char *p, int fl, ...) \
{ \
	static int (*real)(const char *, int, ...); \
	va_list ap; \
	mode_t m; \
	if (real == NULL) \
		real = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, #name); \
	va_start(ap, fl); \
	m = va_arg(ap, mode_t); \
	va_end(ap); \
	if ((fl & O_TMPFILE) == O_TMPFILE) { \
		errno = EOPNOTSUPP; \
		return -1; \
	} \
	return real(p, fl, m); \
}
WRAP(open)
WRAP(open64)
'
no_tmpfile() {
	tool=$1 cmd=$2
	long=$(printf '%0251d.dfu' 0)
	eval "set -- $(echo "$cmd" | sed "s|OUT|$long|")"
	run env LD_PRELOAD="$PRE/notmpfile.so" strace -f -e trace=openat \
	    -o "$PRE/trace" "$@"
	expect_status 0
	grep -q "\.0000*\.[A-Za-z0-9]\{6\}\", .*O_CREAT" "$PRE/trace" ||
	    fail "$tool: no named temporary file"
	[ -s "$long" ] || fail "$tool: no 255-byte output"
	rm -f "$long" "$PRE/trace"
	expect_untouched "$tool"
}
case_begin "without O_TMPFILE: a named temporary file, cut to fit a 255-byte name"
cd "$TMP" && make_inputs
if preload_ok strace; then
	build_preload notmpfile "$NOTMPFILE" -ldl
	for_each_command no_tmpfile
fi
case_end

case_begin "--in-place keeps the mode, the owner and a symbolic link"
cd "$TMP" && make_inputs
"$BIN2DFU" --plain -o plain.dfu in.bin && cp in.dfu keep.dfu || fail "inputs"
chmod 600 in.dfu plain.dfu in.bin
owner=$(id -u):$(id -g)
if [ "$(id -u)" = 0 ]; then
	owner=65534:65534
	chown $owner in.dfu plain.dfu in.bin
fi
ln -s in.dfu link.dfu
for cmd in "--set-vid 1209 --in-place link.dfu" \
    "--set-vid 1209 --in-place in.dfu" "--strip-suffix --in-place plain.dfu" \
    "--add-suffix --in-place in.bin"; do
	f=${cmd##* }
	run "$DFUSPLIT" $cmd
	expect_status 0
	[ "$(stat -L -c %a "$f")" = 600 ] || fail "$cmd: mode $(stat -L -c %a "$f")"
	[ "$(stat -L -c %u:%g "$f")" = "$owner" ] ||
	    fail "$cmd: owner $(stat -L -c %u:%g "$f")"
done
[ -L link.dfu ] || fail "link.dfu replaced"
[ "$("$DFUINFO" --json in.dfu | jq -r '.files[0].suffix.vendor_id')" = 4617 ] ||
    fail "the file behind link.dfu not edited"
case_end

# A DfuSe file of N empty elements (at 4-byte steps) in one target.
mkempty() {
	python3 -c '
import struct, sys, zlib
n = int(sys.argv[2])
els = b"".join(struct.pack("<II", 0x08000000 + 4 * i, 0) for i in range(n))
tgt = (b"Target" + bytes(5) + bytes(255) +
       struct.pack("<II", len(els), n) + els)
body = b"DfuSe\x01" + struct.pack("<I", 11 + len(tgt) + 16) + b"\x01" + tgt
data = body + struct.pack("<HHHH", 0xffff, 0xdf11, 0x0483, 0x011a) + b"UFD\x10"
crc = zlib.crc32(data) ^ 0xffffffff
open(sys.argv[1], "wb").write(data + struct.pack("<I", crc))
' "$1" "$2" || fail "making $1"
}

case_begin "split: a manifest name taken by a directory: no file placed"
cd "$TMP" && make_inputs
mkdir -p p/in.manifest.json
echo old >p/in.t0-08000000.bin
run "$DFUSPLIT" -o p in.dfu
expect_status 1
expect_stderr_line "dfusplit: p/in.manifest.json: is a directory"
expect_dir_only p in.manifest.json in.t0-08000000.bin
[ "$(cat p/in.t0-08000000.bin)" = old ] || fail "old element file changed"
case_end

# The manifest, placed last, fails (a preloaded linkat() and renameat2()
# refuse its name): the element placed before it is taken back, the old
# file it replaced comes back.
NOMANIFEST='
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
static int
refused(const char *p)
{
	size_t n = strlen(p);
	return n > 14 && strcmp(p + n - 14, ".manifest.json") == 0;
}
int
linkat(int od, const char *o, int nd, const char *n, int fl)
{
	if (refused(n)) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_linkat, od, o, nd, n, fl);
}
int
renameat2(int od, const char *o, int nd, const char *n, unsigned fl)
{
	if (refused(n)) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_renameat2, od, o, nd, n, fl);
}
'
case_begin "split: a file that cannot be placed takes back those placed before it"
cd "$TMP" && make_inputs
if preload_ok; then
	build_preload nomanifest "$NOMANIFEST"
	"$BIN2DFU" -a 0x08000000:in.bin -a 0x08100000:in.bin -o two.dfu ||
	    fail "bin2dfu two.dfu"
	mkdir p && echo old >p/two.t0-08000000.bin
	run env LD_PRELOAD="$PRE/nomanifest.so" "$DFUSPLIT" -o p two.dfu
	expect_status 1
	expect_stderr_line "dfusplit: p/two.manifest.json: cannot link the output into place: Input/output error"
	expect_dir_only p two.t0-08000000.bin
	[ "$(cat p/two.t0-08000000.bin)" = old ] || fail "old element file not restored"
fi
case_end

case_begin "split: a failed split removes the directory it created"
cd "$TMP" && make_inputs
run "$DFUSPLIT" --format hex -o new in.sfx
expect_status 1
expect_no_file new
run "$DFUSPLIT" -o new/sub in.dfu
expect_status 1
expect_no_file new
case_end

case_begin "split: a planted symbolic link or device at an element name is refused"
cd "$TMP" && make_inputs
mkdir parts && echo precious >victim
ln -s ../victim parts/in.t0-08000000.bin
run "$DFUSPLIT" -o parts in.dfu
expect_status 1
expect_stderr_contains "parts/in.t0-08000000.bin: is a symbolic link to ../victim: refusing"
expect_dir_only parts in.t0-08000000.bin
[ -L parts/in.t0-08000000.bin ] || fail "link replaced"
[ "$(cat victim)" = precious ] || fail "written through the link"
if [ "$(id -u)" = 0 ]; then
	rm parts/in.t0-08000000.bin
	mknod parts/dev c 1 3 && ln -s dev parts/in.t0-08000000.bin &&
	    mknod parts/in.manifest.json c 1 3 || fail "mknod"
	run "$DFUSPLIT" -o parts in.dfu
	expect_status 1
	expect_stderr_contains "is a symbolic link to dev: refusing"
	rm parts/in.t0-08000000.bin
	run "$DFUSPLIT" -o parts in.dfu
	expect_status 1
	expect_stderr_line "dfusplit: parts/in.manifest.json: exists and is not a regular file: refusing to replace it"
	expect_dir_only parts dev in.manifest.json
	[ -c parts/in.manifest.json ] || fail "device node replaced"
fi
case_end

case_begin "join: -o or standard output naming the manifest is refused, the manifest kept"
cd "$TMP" && make_inputs
"$DFUSPLIT" -o p in.dfu && cp p/in.manifest.json keep || fail "split"
run "$DFUSPLIT" --join p/in.manifest.json -o p/in.manifest.json
expect_status 1
expect_stderr_line "dfusplit: p/in.manifest.json: is the input p/in.manifest.json: refusing to write over it"
run sh -c 'exec "$1" --join p/in.manifest.json -o - >>p/in.manifest.json' sh "$DFUSPLIT"
expect_status 1
expect_stderr_line "dfusplit: (stdout): is the input p/in.manifest.json: refusing to write over it"
expect_same_bytes p/in.manifest.json keep
case_end

# Found by fuzz_split: an empty element written as records holds no range,
# which --join refused.
case_begin "split: empty elements as Intel HEX and S-records join back"
cd "$TMP"
mkempty e.dfu 3
for fmt in bin hex srec; do
	run "$DFUSPLIT" --format $fmt -o $fmt e.dfu
	expect_status 0
	run "$DFUSPLIT" --join $fmt/e.manifest.json -o $fmt.dfu
	expect_status 0
	expect_same_bytes bin.dfu $fmt.dfu
done
case_end

# SIGTERM when the first file of a 3,001-element split appears: the set is
# placed with the signal held, so all 3,002 files are there, or none.
case_begin "split: SIGTERM while the files are placed: all of them or none"
cd "$TMP"
mkempty e.dfu 3001
mkdir p
run python3 -c '
import os, signal, subprocess, sys, time
def defaults():
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
p = subprocess.Popen(sys.argv[1:], preexec_fn=defaults)
deadline = time.time() + 60
while time.time() < deadline and p.poll() is None:
    if any(not n.startswith(".") for n in os.listdir("p")):
        p.send_signal(signal.SIGTERM)
        break
rc = p.wait()
names = os.listdir("p")
print("status", rc, "files", len(names))
hidden = [n for n in names if n.startswith(".")]
sys.exit(0 if len(names) in (0, 3002) and not hidden else 1)
' "$DFUSPLIT" -o p e.dfu
expect_status 0
case_end

# 65,536 empty elements took 31-41 s: 131,074 fsync() calls (each file
# and the directory after each rename) and a quadratic search for
# repeated addresses.  One syncfs() and one fsync() of the directory now.
case_begin "split: the data of many files is synced once, not file by file"
if ! have strace; then
	skip_case "strace not installed"
else
	cd "$TMP"
	mkempty e.dfu 1000
	# LeakSanitizer cannot run under ptrace.
	run env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	    strace -f -c -e trace=fsync,fdatasync,syncfs -o count \
	    "$DFUSPLIT" -o p e.dfu
	expect_status 0
	[ "$(ls p | wc -l)" = 1001 ] || fail "$(ls p | wc -l) files"
	n=$(awk '$NF ~ /^(fsync|fdatasync|syncfs)$/ { n += $4 } END { print n + 0 }' count)
	[ "$n" -le 2 ] || fail "$n sync calls for 1001 files"
fi
case_end

# Durability (README.md, "Durability"): by default no output is synced,
# as cp does not; --sync, and --in-place even without it, sync the data
# before the output is linked or renamed into place and the directory
# after, so that a crash leaves the old file or the whole new one.
# sync_trace NAME COMMAND...: run under strace; $SYNCS is then "P B A":
# P 1 if NAME was linked or renamed into place, B the sync calls before
# the first such call (the data), A those after the last (the directory).
sync_trace() {
	name=$1
	shift
	rm -f trace
	run env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	    strace -f -o trace -e trace=fsync,fdatasync,syncfs,rename,renameat,renameat2,link,linkat \
	    "$@"
	expect_status 0
	SYNCS=$(awk -v name="$name" '
	/(fsync|fdatasync|syncfs)\(/ { s[++ns] = NR }
	/(rename|renameat|renameat2|link|linkat)\(/ && index($0, name) {
		if (!first) first = NR
		last = NR
	}
	END {
		for (i = 1; i <= ns; i++) {
			if (first && s[i] < first) b++
			if (first && s[i] > last) a++
		}
		printf "%d %d %d\n", (first > 0), b, a
	}' trace)
}

no_sync() {
	tool=$1 cmd=$2
	for out in new.dfu old.dfu; do
		eval "set -- $(echo "$cmd" | sed "s/OUT/$out/")"
		sync_trace "$out" "$@"
		[ "$SYNCS" = "1 0 0" ] ||
		    fail "$tool -o $out: placed, syncs before, after: $SYNCS"
		# A single output replaces the old file with a plain rename,
		# which ext4 and btrfs take as a replacement (not so
		# RENAME_EXCHANGE).
		! grep -q RENAME_EXCHANGE trace ||
		    fail "$tool -o $out: replaced by RENAME_EXCHANGE"
		rm -f new.dfu
		printf 'previous output\n' >old.dfu
	done
}
case_begin "by default no output is synced (no fsync, fdatasync or syncfs)"
if ! have strace; then
	skip_case "strace not installed"
else
	cd "$TMP" && make_inputs
	for_each_command no_sync
	mkempty e.dfu 3
	sync_trace p/ "$DFUSPLIT" -o p e.dfu
	[ "$SYNCS" = "1 0 0" ] || fail "dfusplit split: $SYNCS"
	rm -rf p e.dfu trace
fi
case_end

with_sync() {
	tool=$1 cmd=$2
	for out in new.dfu old.dfu; do
		eval "set -- $(echo "$cmd" | sed "s/OUT/$out/")"
		prog=$1
		shift
		# One fsync of the file before, one of the directory after.
		sync_trace "$out" "$prog" --sync "$@"
		[ "$SYNCS" = "1 1 1" ] ||
		    fail "$tool --sync -o $out: placed, syncs before, after: $SYNCS"
		rm -f new.dfu
		printf 'previous output\n' >old.dfu
	done
}
case_begin "--sync: the data is synced before the rename, the directory after"
if ! have strace; then
	skip_case "strace not installed"
else
	cd "$TMP" && make_inputs
	for_each_command with_sync
	# A split: one syncfs() for every file, the directory after.
	mkempty e.dfu 3
	sync_trace p/ "$DFUSPLIT" --sync -o p e.dfu
	[ "$SYNCS" = "1 1 1" ] || fail "dfusplit --sync split: $SYNCS"
	rm -rf p e.dfu trace
fi
case_end

# --sync with a large output: the write-back starts every 8 MiB as the
# file is written (sync_file_range, common/write.c), so that the fsync
# that follows has little left to do; --in-place, synced without --sync,
# gets it too; without either nothing asks for it.
# wb_trace COMMAND...: run under strace; WB is then the number of
# sync_file_range calls, and 0 too if one came after the first fsync.
wb_trace() {
	run env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	    strace -f -o trace -e trace=sync_file_range,fsync "$@"
	expect_status 0
	WB=$(awk '/sync_file_range\(/ { n++; if (synced) late = 1 }
	    /fsync\(/ { synced = 1 }
	    END { print late ? 0 : n + 0 }' trace)
}
case_begin "--sync and --in-place start the write-back while writing; nothing else does"
if ! have strace; then
	skip_case "strace not installed"
else
	cd "$TMP"
	head -c $((40 * 1048576)) /dev/zero >big.bin
	# 40 MiB: four or five calls, each before the file's fsync.
	wb_trace "$BIN2DFU" --sync -a 0x08000000:big.bin -o big.dfu
	[ "$WB" -ge 4 ] || fail "bin2dfu --sync: $WB sync_file_range calls before the fsync"
	wb_trace "$DFUSPLIT" --set-vid 1209 --in-place big.dfu
	[ "$WB" -ge 4 ] || fail "dfusplit --in-place: $WB sync_file_range calls before the fsync"
	rm -f big.dfu
	wb_trace "$BIN2DFU" -a 0x08000000:big.bin -o big.dfu
	! grep -q 'sync_file_range(\|fsync(' trace ||
	    fail "write-back or sync without --sync"
	rm -f big.bin big.dfu trace
fi
case_end

case_begin "--in-place is synced without --sync: the input survives a crash"
if ! have strace; then
	skip_case "strace not installed"
else
	cd "$TMP" && make_inputs
	"$BIN2DFU" --plain -o plain.dfu in.bin || fail "inputs"
	for cmd in "--set-vid 1209 --in-place in.dfu" \
	    "--strip-suffix --in-place plain.dfu" \
	    "--add-suffix --in-place in.bin"; do
		eval "set -- $cmd"
		sync_trace "${cmd##* }" "$DFUSPLIT" "$@"
		[ "$SYNCS" = "1 1 1" ] ||
		    fail "dfusplit $cmd: placed, syncs before, after: $SYNCS"
	done
	rm -f trace
fi
case_end

# Without --sync a power cut can leave a new output empty or cut short at
# a page boundary, its data not yet written back (README.md,
# "Durability"): dfuinfo and dfuflash must refuse every such file, before
# touching a device.
case_begin "an output cut short by a crash is refused by dfuinfo and dfuflash"
cd "$TMP" && make_inputs
"$BIN2DFU" --plain -o plain.dfu in.bin || fail "inputs"
for f in in.dfu plain.dfu; do
	size=$(wc -c <"$f")
	for n in 0 1 15 16 4096 65536 196608 $((size - 1)); do
		head -c "$n" "$f" >cut.dfu
		run "$DFUINFO" -q cut.dfu
		expect_status 1
		# Refused before the model gets a request: no state
		# file, nothing on stdout (not even the sim summary).
		run "$BUILD/bin/dfuflash" --sim f405:st cut.dfu
		expect_status 1
		expect_stdout_empty
		expect_no_file st
	done
done
rm -f cut.dfu
case_end

finish
