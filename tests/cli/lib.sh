# lib.sh - helpers for the CLI tests; sourced by tests/cli/test_*.sh.
#
# A test script is a list of cases:
#
#   . "$(dirname "$0")/lib.sh"
#   case_begin "dfuinfo: a bad CRC is an error"
#   run "$DFUINFO" "$FIXTURES/invalid/crc-off-by-one-bit.dfu"
#   expect_status 1
#   expect_stderr_line "dfuinfo: ...: error: ..."
#   case_end
#   ...
#   finish
#
# `run` runs a command with its stdout, stderr and exit status captured;
# the expect_* helpers check them and record a failure with the case name.
# `skip_case MSG` marks the current case skipped (say why); `require TOOL
# PACKAGE` fails the script when a required test dependency is missing.  `finish` exits
# 1 if any case failed, 77 if every case was skipped, 0 otherwise.
# SAN_FLAGS (set by make check SANITIZE=1) are the sanitizer flags that a
# program compiled against the library in a test must be linked with.
# Variables: ROOT (repository), BUILD (build directory), BIN2DFU, DFUINFO,
# FIXTURES (tests/fixtures), CORPUS (tests/fixtures/corpus), TMP (a fresh
# directory per case, removed at exit), OUT/ERR/STATUS of the last run.

set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
: "${BUILD:=$ROOT/build}"
: "${SAN_FLAGS:=}"
BIN2DFU=$BUILD/bin/bin2dfu
DFUINFO=$BUILD/bin/dfuinfo
FIXTURES=$ROOT/tests/fixtures
CORPUS=$FIXTURES/corpus
_tmproot=$(mktemp -d)
trap 'rm -rf "$_tmproot"' EXIT
_cases=0 _failed=0 _skipped=0 _case="" _case_failed=0 _case_skipped=0
OUT=$_tmproot/stdout
ERR=$_tmproot/stderr
STATUS=0

case_begin() {
	_case=$1
	_case_failed=0
	_case_skipped=0
	_cases=$((_cases + 1))
	TMP=$_tmproot/case$_cases
	mkdir -p "$TMP"
}

# A case that failed is a failure even if it was also skipped.
case_end() {
	if [ "$_case_failed" -eq 1 ]; then
		_failed=$((_failed + 1))
		echo "not ok - $_case"
	elif [ "$_case_skipped" -eq 0 ]; then
		echo "ok - $_case"
	fi
}

skip_case() {
	_case_skipped=1
	_skipped=$((_skipped + 1))
	echo "skip - $_case: $1"
}

fail() {
	_case_failed=1
	echo "  $_case: $*"
}

# run CMD ARGS...: run with stdin from /dev/null unless redirected by the caller.
run() {
	"$@" >"$OUT" 2>"$ERR"
	STATUS=$?
}

# run_vm_limited KIB CMD [ARG...]: run CMD with its address space limited
# to KIB (ulimit -v), to show that it does not load what it refuses.
# AddressSanitizer reserves terabytes of address space at start, so in a
# SANITIZE=1 build the limit is left out: the behaviour is still checked
# there, the memory bound by the unsanitized run.
run_vm_limited() {
	_kib=$1
	shift
	if [ -n "$SAN_FLAGS" ]; then
		run "$@"
	else
		run sh -c 'ulimit -v "$0" && exec "$@"' "$_kib" "$@"
	fi
}

# run_stdin FILE CMD ARGS...: same, with FILE on stdin.
run_stdin() {
	_in=$1
	shift
	"$@" <"$_in" >"$OUT" 2>"$ERR"
	STATUS=$?
}

_show() {
	echo "    --- stdout:"; sed 's/^/    /' "$OUT" | head -n 40
	echo "    --- stderr:"; sed 's/^/    /' "$ERR" | head -n 40
}

expect_status() {
	[ "$STATUS" -eq "$1" ] || { fail "exit status $STATUS, expected $1"; _show; }
}

expect_stdout_empty() {
	[ ! -s "$OUT" ] || { fail "stdout not empty"; _show; }
}

expect_stderr_empty() {
	[ ! -s "$ERR" ] || { fail "stderr not empty"; _show; }
}

# A whole line of stdout / stderr equals the argument exactly.
expect_stdout_line() {
	grep -qxF -- "$1" "$OUT" || { fail "no stdout line: $1"; _show; }
}

expect_stderr_line() {
	grep -qxF -- "$1" "$ERR" || { fail "no stderr line: $1"; _show; }
}

# stdout / stderr contains the fixed string somewhere.
expect_stdout_contains() {
	grep -qF -- "$1" "$OUT" || { fail "stdout lacks: $1"; _show; }
}

expect_stderr_contains() {
	grep -qF -- "$1" "$ERR" || { fail "stderr lacks: $1"; _show; }
}

expect_stdout_lacks() {
	! grep -qF -- "$1" "$OUT" || { fail "stdout has: $1"; _show; }
}

# stdout equals the content of a file exactly.
expect_stdout_file() {
	cmp -s "$OUT" "$1" || { fail "stdout differs from $1"; diff "$1" "$OUT" | head -n 20 | sed 's/^/    /'; }
}

# expect_json_valid NAME [FILE]: FILE (default: the last run's stdout) is
# one JSON document valid against schemas/NAME.schema.json;
# expect_json_lines_valid NAME [FILE]: every line of FILE is one.
expect_json_valid() {
	_json_valid "$1" "${2:-$OUT}"
}

expect_json_lines_valid() {
	_json_valid "$1" "${2:-$OUT}" --lines
}

_json_valid() {
	/usr/bin/python3 "$ROOT/tests/json_valid.py" ${3:-} "$1" "$2" \
	    >"$_tmproot/json_valid" 2>&1 || {
		fail "$2 is not a valid $1 document:"
		head -n 10 "$_tmproot/json_valid" | sed 's/^/    /'
	}
}

expect_file_exists() {
	[ -e "$1" ] || fail "missing file: $1"
}

expect_no_file() {
	[ ! -e "$1" ] || fail "file should not exist: $1"
}

expect_same_bytes() {
	cmp -s "$1" "$2" || fail "files differ: $1 $2"
}

# Nothing but the named files in a directory (catches left-over temporaries).
expect_dir_only() {
	_dir=$1
	shift
	_want=$(printf '%s\n' "$@" | sort)
	_have=$(ls -A "$_dir" | sort)
	[ "$_want" = "$_have" ] || fail "directory $_dir holds: $(echo $_have), expected: $(echo $_want)"
}

# fixed_bytes FILE SIZE SEED: SIZE bytes that look random but are the same
# on every run (a linear congruential generator), so a failure repeats.
fixed_bytes() {
	python3 -c '
import sys
name, size, x = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = bytearray()
for _ in range(size):
    x = (x * 1103515245 + 12345) & 0x7fffffff
    out.append(x >> 16 & 0xff)
open(name, "wb").write(out)
' "$1" "$2" "$3"
}

# expect_stdout_usage FILE: the usage part of the help on stdout (the
# lines before the first empty one, see cli_help()) equals FILE.
expect_stdout_usage() {
	sed '/^$/,$d' "$OUT" >"$_tmproot/usage"
	cmp -s "$_tmproot/usage" "$1" ||
	    { fail "usage differs from $1"; diff "$1" "$_tmproot/usage" | head -n 20 | sed 's/^/    /'; }
}

# expect_usage_synopsis TOOL PAGE: the usage TOOL -h prints (its help up
# to the first empty line) equals the SYNOPSIS of man/PAGE, white space
# aside (skips the case without mandoc).
expect_usage_synopsis() {
	if ! have mandoc; then
		skip_case "mandoc not installed (Debian package mandoc)"
		return
	fi
	run "$1" -h
	sed '/^$/,$d; s/^usage://' "$OUT" | tr '\t\n' '  ' | tr -s ' ' |
	    sed 's/^ //; s/ $//' >"$TMP/usage.txt"
	# mandoc -T ascii marks bold and underline with backspaces; dropping
	# each character before a backspace is what col -b did, without
	# needing bsdextrautils.
	mandoc -T ascii "$ROOT/man/$2" | sed 's/.\x08//g' |
	    sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' |
	    tr '\t\n' '  ' | tr -s ' ' | sed 's/^ //; s/ $//' >"$TMP/synopsis.txt"
	[ -s "$TMP/synopsis.txt" ] || fail "no SYNOPSIS in man/$2"
	cmp -s "$TMP/usage.txt" "$TMP/synopsis.txt" ||
	    fail "usage: $(cat "$TMP/usage.txt") / SYNOPSIS: $(cat "$TMP/synopsis.txt")"
}

# mkdfu OUT [KEY=PYTHON-EXPR ...]: write a DFU file built from a description.
#   targets=[dict(alt=, name=, named=, size=, nb=, elements=[(addr, data[, declared size]), ...])]
#           (size and nb override dwTargetSize and dwNbElements; name is raw
#           bytes, padded with NUL to 255)
#   plain=BYTES     a plain DFU file with this payload instead of DfuSe
#   prefix=BYTES    bytes before everything (vendor prefix), CRC covers them
#   leftover=BYTES  bytes between the last target and the suffix
#   version= image_size= btargets= signature=   DfuSe prefix fields
#   vid= pid= dev= bcd= blength= ufd= crc=       suffix fields (crc: stored value)
#   extra=BYTES     suffix extension bytes (before bcdDevice), for bLength > 16
#   image_size_mode="excl"|"incl"   DFUImageSize = file size - 16 / file size
mkdfu() {
	python3 - "$@" <<'EOF'
import struct, sys, zlib
out = sys.argv[1]
c = dict(targets=[dict(alt=0, name=b"Internal Flash", elements=[(0x08000000, bytes(range(16)))])],
         plain=None, prefix=b"", leftover=b"", version=1, image_size=None,
         image_size_mode="excl", btargets=None, signature=b"DfuSe",
         vid=0x0483, pid=0xdf11, dev=0x0200, bcd=None, blength=16, ufd=b"UFD",
         crc=None, extra=b"")
for a in sys.argv[2:]:
    k, v = a.split("=", 1)
    if k not in c:
        sys.exit("mkdfu: unknown key " + k)
    c[k] = eval(v)
if c["plain"] is not None:
    body = c["prefix"] + c["plain"]
    bcd = 0x0100 if c["bcd"] is None else c["bcd"]
else:
    tb = b""
    for t in c["targets"]:
        eb = b""
        for e in t["elements"]:
            size = e[2] if len(e) > 2 else len(e[1])
            eb += struct.pack("<II", e[0], size) + e[1]
        name = t.get("name", b"")
        named = t.get("named", 1 if name else 0)
        tb += b"Target" + struct.pack("<BI", t.get("alt", 0), named)
        tb += name.ljust(255, b"\0")[:255]
        tb += struct.pack("<II", t.get("size", len(eb)), t.get("nb", len(t["elements"])))
        tb += eb
    tb += c["leftover"]
    total = 11 + len(tb) + len(c["extra"]) + 16
    isz = c["image_size"]
    if isz is None:
        isz = total - 16 if c["image_size_mode"] == "excl" else total
    nt = len(c["targets"]) if c["btargets"] is None else c["btargets"]
    body = c["prefix"] + c["signature"] + struct.pack("<BIB", c["version"], isz, nt) + tb
    bcd = 0x011a if c["bcd"] is None else c["bcd"]
body += c["extra"] + struct.pack("<HHHH", c["dev"], c["pid"], c["vid"], bcd) + c["ufd"] + bytes([c["blength"]])
crc = 0xffffffff & ~zlib.crc32(body) if c["crc"] is None else c["crc"]
open(out, "wb").write(body + struct.pack("<I", crc))
EOF
}

# mkbin FILE SIZE SEED: SIZE reproducible pseudo-random bytes.
mkbin() {
	python3 -c 'import random, sys
r = random.Random(int(sys.argv[3]))
open(sys.argv[1], "wb").write(bytes(r.getrandbits(8) for _ in range(int(sys.argv[2]))))' "$@"
}

# mkstate FILE SIZE [OFFSET LEN SEED]...: a flash image of SIZE bytes of
# 0xff with reproducible pseudo-random bytes at the offsets given.
mkstate() {
	python3 -c 'import random, sys
a = sys.argv
d = bytearray(b"\xff" * int(a[2]))
for i in range(3, len(a), 3):
    o, n, r = int(a[i], 0), int(a[i + 1], 0), random.Random(int(a[i + 2]))
    d[o:o + n] = bytes(r.getrandbits(8) for _ in range(n))
open(a[1], "wb").write(d)' "$@"
}

# require_usbhost: USBHOST is the emulated-USB test host (tests/usbhost);
# exit 77 (the whole script skipped, with the reason) when it was not
# built or umockdev's preload library cannot be used.  umockdev's
# testbeds go in this script's own directory: nothing else that clears
# $TMPDIR/umockdev.* can pull them away mid-test.
require_usbhost() {
	USBHOST=$BUILD/tests/usbhost
	if [ ! -x "$USBHOST" ]; then
		echo "skipped: $USBHOST not built (needs umockdev-1.0, Debian package libumockdev-dev)"
		exit 77
	fi
	TMPDIR=$_tmproot
	export TMPDIR
	"$USBHOST" --device f405 -- true 2>"$_tmproot/pre"
	case $? in
	0) ;;
	77) echo "skipped: $(tail -n 1 "$_tmproot/pre")"; exit 77 ;;
	*) echo "usbhost cannot run:"; cat "$_tmproot/pre"; exit 1 ;;
	esac
}

# preload_ok [TOOL...]: 0 when an LD_PRELOAD library can be built and used
# here (cc, and each TOOL, installed; not an AddressSanitizer build, which
# must be preloaded before any other library); otherwise the case is
# skipped, saying why, and 1.
preload_ok() {
	for _t in cc "$@"; do
		have "$_t" || { skip_case "needs $_t"; return 1; }
	done
	[ -z "$SAN_FLAGS" ] && return 0
	skip_case "an AddressSanitizer build must be preloaded first"
	return 1
}

# build_preload NAME SOURCE [LIB...]: compile the C text SOURCE into the
# LD_PRELOAD library $PRE/NAME.so (PRE is $TMP-preload), or record a
# failure.  The caller checks preload_ok first.
build_preload() {
	_pname=$1
	_psrc=$2
	shift 2
	PRE=$TMP-preload
	mkdir -p "$PRE" && printf '%s' "$_psrc" >"$PRE/$_pname.c" &&
	    cc -shared -fPIC -o "$PRE/$_pname.so" "$PRE/$_pname.c" "$@" ||
	    fail "cc $_pname.so"
}

have() {
	command -v "$1" >/dev/null 2>&1
}

# require TOOL PACKAGE: TOOL is a test dependency that the README's Quick
# start and .ci/run install (Debian package PACKAGE).  Without it the
# script fails (exit 1) and says so: the cases that need it must not pass
# by dropping their checks.  An optional tool is checked with `have` and
# its cases skipped with skip_case instead.
require() {
	have "$1" && return 0
	echo "$1 not installed (Debian package $2): the tests need it"
	exit 1
}

finish() {
	if [ "$_failed" -gt 0 ]; then
		echo "$_failed of $_cases cases failed"
		exit 1
	fi
	if [ "$_skipped" -eq "$_cases" ]; then
		echo "all $_cases cases skipped"
		exit 77
	fi
	exit 0
}
