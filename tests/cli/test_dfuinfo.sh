#!/bin/sh
# CLI tests of dfuinfo: options, usage errors, I/O failures, stdin, the text
# and JSON reports, and every error and note kind through the command line.
# Inputs are built in $TMP by mkdfu (python3 below).
. "$(dirname "$0")/lib.sh"
require jq jq

VERSION=$(sed -n 's/^#define DFUFILE_VERSION_STRING "\(.*\)"$/\1/p' "$ROOT/common/dfufile.h")
USAGE="usage: dfuinfo [-hjqV] [-L [alt=]layout | devices.json] file ..."

# jqe EXPR: jq -e on the last stdout; fails the case when EXPR is not true.
jqe() {
	jq -e "$1" "$OUT" >/dev/null 2>&1 || fail "jq -e '$1' is not true"
}

if ! have python3; then
	case_begin "dfuinfo: python3 is needed to build test inputs"
	skip_case "python3 not installed"
	finish
fi

# ---- options and usage --------------------------------------------------

case_begin "dfuinfo -h prints the usage on stdout and exits 0"
run "$DFUINFO" -h
expect_status 0
expect_stdout_line "$USAGE"
expect_stderr_empty
[ "$(sed '/^$/,$d' "$OUT" | wc -l)" -eq 1 ] || fail "usage is not one line"
case_end

case_begin "dfuinfo --help is -h, even with files after it"
run "$DFUINFO" --help "$TMP/missing.dfu"
expect_status 0
expect_stdout_line "$USAGE"
expect_stderr_empty
case_end

case_begin "dfuinfo usage equals the SYNOPSIS of dfuinfo(1)"
if have mandoc; then
	bs=$(printf '\b')
	syn=$(mandoc -T ascii "$ROOT/man/dfuinfo.1" | sed "s/.$bs//g" |
	    sed -n '/^SYNOPSIS/{n;p;}' | sed 's/^ *//')
	[ "usage: $syn" = "$USAGE" ] || fail "man SYNOPSIS '$syn' differs from usage"
	run "$DFUINFO" -h
	expect_stdout_line "usage: $syn"
else
	skip_case "mandoc not installed"
fi
case_end

case_begin "dfuinfo -V and --version print the library version"
run "$DFUINFO" -V
expect_status 0
expect_stdout_line "dfuinfo $VERSION"
expect_stderr_empty
run "$DFUINFO" --version
expect_status 0
expect_stdout_line "dfuinfo $VERSION"
case_end

case_begin "dfuinfo without a file is a usage error"
run "$DFUINFO"
expect_status 2
expect_stdout_empty
expect_stderr_line "dfuinfo: no input file"
expect_stderr_line "$USAGE"
run "$DFUINFO" -j -q
expect_status 2
expect_stderr_line "dfuinfo: no input file"
case_end

case_begin "dfuinfo: an unknown short option is a usage error"
mkdfu "$TMP/a.dfu"
run "$DFUINFO" -z "$TMP/a.dfu"
expect_status 2
expect_stdout_empty
expect_stderr_line "dfuinfo: unknown option: -z"
expect_stderr_line "$USAGE"
case_end

case_begin "dfuinfo: an unknown long option is a usage error"
mkdfu "$TMP/a.dfu"
run "$DFUINFO" --bogus "$TMP/a.dfu"
expect_status 2
expect_stdout_empty
expect_stderr_line "dfuinfo: unknown option: --bogus"
expect_stderr_line "$USAGE"
case_end

case_begin "dfuinfo: --json takes no argument"
mkdfu "$TMP/a.dfu"
run "$DFUINFO" --json=yes "$TMP/a.dfu"
expect_status 2
expect_stdout_empty
expect_stderr_line "dfuinfo: option takes no argument: --json"
expect_stderr_line "$USAGE"
case_end

# ---- inputs that cannot be read -----------------------------------------

case_begin "dfuinfo: a missing file is reported on stderr, exit 1"
run "$DFUINFO" "$TMP/missing.dfu"
expect_status 1
expect_stdout_empty
expect_stderr_line "dfuinfo: $TMP/missing.dfu: No such file or directory"
case_end

case_begin "dfuinfo: a directory is reported on stderr, exit 1"
run "$DFUINFO" "$TMP"
expect_status 1
expect_stdout_empty
expect_stderr_line "dfuinfo: $TMP: is a directory"
case_end

case_begin "dfuinfo: an unreadable file is reported on stderr, exit 1"
mkdfu "$TMP/a.dfu"
chmod 000 "$TMP/a.dfu"
if [ "$(id -u)" -ne 0 ]; then
	run "$DFUINFO" "$TMP/a.dfu"
elif have setpriv; then
	# root reads anything; drop to nobody (who cannot even reach $TMP).
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$DFUINFO" "$TMP/a.dfu"
else
	skip_case "running as root without setpriv"
fi
if [ "$_case_skipped" -eq 0 ]; then
	expect_status 1
	expect_stdout_empty
	expect_stderr_line "dfuinfo: $TMP/a.dfu: Permission denied"
fi
case_end

case_begin "dfuinfo: a write error on stdout is reported, exit 1"
mkdfu "$TMP/a.dfu"
if [ -w /dev/full ]; then
	"$DFUINFO" "$TMP/a.dfu" >/dev/full 2>"$ERR"
	STATUS=$?
	expect_status 1
	expect_stderr_line "dfuinfo: stdout: No space left on device"
else
	skip_case "no /dev/full"
fi
case_end

# ---- stdin --------------------------------------------------------------

case_begin "dfuinfo - reads a pipe"
mkdfu "$TMP/a.dfu"
run sh -c 'cat "$1" | "$2" -' sh "$TMP/a.dfu" "$DFUINFO"
expect_status 0
expect_stderr_empty
expect_stdout_line "(stdin): DfuSe, 1 target, 1 element, $(wc -c <"$TMP/a.dfu") bytes"
expect_stdout_line "    element 0:  0x08000000-0x0800000f  16 bytes  at 0x125"
case_end

case_begin "dfuinfo - reads a redirected file"
mkdfu "$TMP/a.dfu"
run_stdin "$TMP/a.dfu" "$DFUINFO" -
expect_status 0
expect_stderr_empty
expect_stdout_line "(stdin): DfuSe, 1 target, 1 element, $(wc -c <"$TMP/a.dfu") bytes"
expect_stdout_line "  verdict: valid"
case_end

case_begin "dfuinfo - reads a bad file from a pipe and says so"
printf 'not a dfu file at all, just text\n' >"$TMP/t.txt"
run sh -c 'cat "$1" | "$2" -' sh "$TMP/t.txt" "$DFUINFO"
expect_status 1
expect_stdout_line "(stdin): unknown format, 33 bytes"
expect_stdout_contains "(not-dfu)"
expect_stdout_line "  verdict: invalid (1 error)"
case_end

# ---- text report --------------------------------------------------------

case_begin "dfuinfo: text report of a plain DFU 1.1 file (golden)"
mkdfu "$TMP/p.dfu" 'plain=b"\x01\x02\x03\x04" * 256' bcd=0x0110 vid=0x1209 pid=0x0001 dev=0x0102
crc=$(python3 -c 'import sys,zlib; d=open(sys.argv[1],"rb").read(); print("0x%08x" % (0xffffffff & ~zlib.crc32(d[:-4])))' "$TMP/p.dfu")
cat >"$TMP/want" <<EOF
$TMP/p.dfu: plain DFU, 1040 bytes
  suffix:    idVendor 0x1209  idProduct 0x0001  bcdDevice 0x0102  bcdDFU 0x0110  bLength 16
  crc:       stored $crc  computed $crc  ok
  payload:   1024 bytes
  verdict: valid
EOF
run "$DFUINFO" "$TMP/p.dfu"
expect_status 0
expect_stderr_empty
expect_stdout_file "$TMP/want"
case_end

case_begin "dfuinfo: text report of a DfuSe file (golden)"
mkdfu "$TMP/d.dfu" 'targets=[dict(alt=0, name=b"Internal Flash", elements=[(0x08000000, b"\xaa" * 1024), (0x08004000, b"\xbb" * 100)]), dict(alt=1, name=b"", elements=[(0x1fff7800, b"\x00" * 16)])]' vid=0x0483 pid=0xdf11 dev=0x2200
crc=$(python3 -c 'import sys,zlib; d=open(sys.argv[1],"rb").read(); print("0x%08x" % (0xffffffff & ~zlib.crc32(d[:-4])))' "$TMP/d.dfu")
# 11 + 274 + 8 + 1024 + 8 + 100 + 274 + 8 + 16 + 16 = 1739
cat >"$TMP/want" <<EOF
$TMP/d.dfu: DfuSe, 2 targets, 3 elements, 1739 bytes
  suffix:    idVendor 0x0483  idProduct 0xdf11  bcdDevice 0x2200  bcdDFU 0x011a  bLength 16
  crc:       stored $crc  computed $crc  ok
  prefix:    bVersion 1  DFUImageSize 1723 (file size - 16)  bTargets 2
  target 0:  alt 0  "Internal Flash"  1140 bytes  2 elements  at 0xb
    element 0:  0x08000000-0x080003ff  1024 bytes  at 0x125
    element 1:  0x08004000-0x08004063  100 bytes  at 0x52d
  target 1:  alt 1  unnamed  24 bytes  1 element  at 0x591
    element 0:  0x1fff7800-0x1fff780f  16 bytes  at 0x6ab
  verdict: valid
EOF
run "$DFUINFO" "$TMP/d.dfu"
expect_status 0
expect_stderr_empty
cmp -s "$OUT" "$TMP/want" || { fail "report differs"; diff "$TMP/want" "$OUT" | sed 's/^/    /'; }
case_end

case_begin "dfuinfo: several files give one block each, blank line between, exit 1 if any is bad"
mkdfu "$TMP/good.dfu"
mkdfu "$TMP/bad.dfu" crc=0x12345678
run "$DFUINFO" "$TMP/good.dfu" "$TMP/bad.dfu" "$TMP/good.dfu"
expect_status 1
expect_stderr_empty
[ "$(grep -c '^  verdict: ' "$OUT")" -eq 3 ] || fail "expected 3 verdict lines"
[ "$(grep -c '^$' "$OUT")" -eq 2 ] || fail "expected 2 blank lines"
expect_stdout_line "  verdict: invalid (1 error)"
expect_stdout_line "  verdict: valid"
# the blank line comes right after the first block's verdict
grep -B 1 '^$' "$OUT" | head -n 1 | grep -qx '  verdict: valid' ||
	fail "blank line is not between blocks"
case_end

case_begin "dfuinfo: all valid files give exit 0"
mkdfu "$TMP/a.dfu"
mkdfu "$TMP/b.dfu" 'plain=b"x" * 100'
run "$DFUINFO" "$TMP/a.dfu" "$TMP/b.dfu"
expect_status 0
expect_stderr_empty
expect_stdout_line "$TMP/b.dfu: plain DFU, 116 bytes"
case_end

case_begin "dfuinfo: a missing file among good ones: the others are shown, exit 1"
mkdfu "$TMP/a.dfu"
run "$DFUINFO" "$TMP/a.dfu" "$TMP/missing.dfu" "$TMP/a.dfu"
expect_status 1
expect_stderr_line "dfuinfo: $TMP/missing.dfu: No such file or directory"
[ "$(grep -c '^  verdict: valid' "$OUT")" -eq 2 ] || fail "expected 2 reports"
[ "$(grep -c '^$' "$OUT")" -eq 1 ] || fail "expected 1 blank line"
# no blank line for a file that had no block
run "$DFUINFO" "$TMP/missing.dfu" "$TMP/a.dfu"
expect_status 1
[ "$(head -n 1 "$OUT")" = "$TMP/a.dfu: DfuSe, 1 target, 1 element, $(wc -c <"$TMP/a.dfu") bytes" ] ||
	{ fail "stdout does not start with the report"; _show; }
case_end

case_begin "dfuinfo: target names print non-printable bytes as \\xNN"
mkdfu "$TMP/n.dfu" 'targets=[dict(alt=0, name=b"a\"b\\c\x01\n\x7f\xc3\xa9\xff", elements=[(0x08000000, b"1234")])]'
run "$DFUINFO" "$TMP/n.dfu"
expect_status 0
expect_stdout_contains '  target 0:  alt 0  "a\"b\\c\x01\x0a\x7f\xc3\xa9\xff"  12 bytes  1 element  at 0xb'
[ "$(wc -l <"$OUT")" -eq 7 ] || fail "a newline in a name broke the layout"
case_end

# ---- -q -------------------------------------------------------------------

case_begin "dfuinfo -q: valid file, no output, exit 0"
mkdfu "$TMP/a.dfu"
run "$DFUINFO" -q "$TMP/a.dfu"
expect_status 0
expect_stdout_empty
expect_stderr_empty
case_end

case_begin "dfuinfo -q: invalid file, its errors (not its notes) on stderr, exit 1"
mkdfu "$TMP/a.dfu" crc=0
run "$DFUINFO" --quiet "$TMP/a.dfu"
expect_status 1
expect_stdout_empty
[ "$(wc -l <"$ERR")" -eq 1 ] || fail "expected one line on stderr: $(cat "$ERR")"
expect_stderr_contains "a.dfu: 0x00000141 dwCRC: stored 0x00000000, computed 0x"
expect_stderr_contains "(crc-mismatch)"
case_end

case_begin "dfuinfo -q: missing file and directory, each said on stderr, exit 1"
mkdfu "$TMP/a.dfu"
run "$DFUINFO" -q "$TMP/a.dfu" "$TMP/missing.dfu" "$TMP"
expect_status 1
expect_stdout_empty
expect_stderr_contains "missing.dfu: "
[ "$(wc -l <"$ERR")" -eq 2 ] || fail "expected two lines on stderr: $(cat "$ERR")"
case_end

case_begin "dfuinfo -q wins over --json"
mkdfu "$TMP/a.dfu"
run "$DFUINFO" -q --json "$TMP/a.dfu"
expect_status 0
expect_stdout_empty
expect_stderr_empty
case_end

# ---- JSON -----------------------------------------------------------------

case_begin "dfuinfo --json: DfuSe fields, targets and elements"
mkdfu "$TMP/d.dfu" 'targets=[dict(alt=0, name=b"Internal Flash", elements=[(0x08000000, b"\xaa" * 1024), (0x08004000, b"\xbb" * 100)]), dict(alt=1, name=b"", elements=[(0x1fff7800, b"\x00" * 16)])]' vid=0x0483 pid=0xdf11 dev=0x2200
crc=$(python3 -c 'import sys,zlib; d=open(sys.argv[1],"rb").read(); print(0xffffffff & ~zlib.crc32(d[:-4]))' "$TMP/d.dfu")
run "$DFUINFO" --json "$TMP/d.dfu"
expect_status 0
expect_stderr_empty
expect_json_valid dfuinfo-report
jqe '.schema == "dfutools/dfuinfo-report/1"'
jqe ".dfuinfo_version == \"$VERSION\""
jqe '.files | length == 1'
jqe ".files[0].path == \"$TMP/d.dfu\""
jqe '.files[0].valid == true and .files[0].format == "dfuse" and .files[0].size == 1739'
jqe '.files[0].vendor_prefix == null and .files[0].payload_size == null'
jqe '.files[0].suffix == {"vendor_id": 1155, "product_id": 57105, "device_version": 8704, "dfu_version": 282, "length": 16, "wildcards": []}'
jqe '.files[0].crc == {"stored": '"$crc"', "computed": '"$crc"', "match": true}'
jqe '.files[0].dfuse_prefix == {"version": 1, "image_size": 1723, "image_size_convention": "without_suffix", "targets": 2}'
jqe '.files[0].targets | length == 2'
jqe '.files[0].targets[0] | .index == 0 and .alt == 0 and .named == 1 and .name == "Internal Flash" and .offset == 11 and .size == 1140 and .declared_elements == 2 and .name_hex == null'
jqe '[.files[0].targets[0].elements[] | .address] == [134217728, 134234112]'
jqe '.files[0].targets[0].elements[1] == {"index": 1, "address": 134234112, "size": 100, "end": 134234211, "offset": 1325}'
# An unnamed target's name is null, not "" (issue 16).
jqe '.files[0].targets[1] | .alt == 1 and .named == 0 and .name == null and .offset == 1425 and .size == 24'
jqe '.files[0].targets[1].elements[0] | .address == 536836096 and .end == 536836111 and .offset == 1707'
# DFUImageSize without the suffix is a fact of dfuse_prefix, not a note.
jqe '.files[0].errors == 0 and .files[0].notes == 0 and .files[0].diagnostics == []'
jqe '.files[0].error == null and .files[0].targets[0].layout == null'
case_end

case_begin "dfuinfo --json: plain file, one document for several files, missing file"
mkdfu "$TMP/p.dfu" 'plain=b"z" * 300' bcd=0x0110 vid=0x1209 pid=0x0001
mkdfu "$TMP/bad.dfu" crc=7
run "$DFUINFO" -j "$TMP/p.dfu" "$TMP/missing.dfu" "$TMP/bad.dfu" "$TMP"
expect_status 1
expect_stderr_line "dfuinfo: $TMP/missing.dfu: No such file or directory"
expect_stderr_line "dfuinfo: $TMP: is a directory"
expect_json_valid dfuinfo-report
jqe '.files | length == 4'
jqe '.files[0] | .valid == true and .format == "plain" and .payload_size == 300 and .targets == [] and .dfuse_prefix == null and .suffix.dfu_version == 272'
# A file that could not be read has every member, null or empty.
nulls='"format": null, "size": null, "vendor_prefix": null, "suffix": null, "crc": null, "dfuse_prefix": null, "targets": [], "payload_size": null, "diagnostics": [], "errors": null, "notes": null'
jqe ".files[1] == {\"path\": \"$TMP/missing.dfu\", \"valid\": false, \"error\": \"No such file or directory\", $nulls}"
jqe ".files[3] == {\"path\": \"$TMP\", \"valid\": false, \"error\": \"is a directory\", $nulls}"
jqe '.files[2] | .valid == false and .errors == 1 and .crc.stored == 7 and .crc.match == false'
jqe '.files[2].diagnostics[] | select(.severity == "error") | .code == "crc-mismatch" and .field == "dwCRC"'
jqe '.files[2].diagnostics[] | select(.code == "crc-mismatch") | .offset == '"$(($(wc -c <"$TMP/bad.dfu") - 4))"
case_end

case_begin "dfuinfo --json: stdin is named (stdin)"
mkdfu "$TMP/a.dfu"
run_stdin "$TMP/a.dfu" "$DFUINFO" -j -
expect_status 0
expect_json_valid dfuinfo-report
jqe '.files[0].path == "(stdin)" and .files[0].valid'
case_end

case_begin "dfuinfo --json: hostile target name and path are escaped"
# quote, backslash, control bytes, DEL, valid UTF-8 (e-acute, euro
# sign, U+1F600), then invalid UTF-8: a lone 0xff, an overlong '/'
# (c0 af), a truncated euro sign (e2 82), an encoded surrogate (ed a0
# 80), overlong 3- and 4-byte forms (e0 80 af, f0 8f bf bf) and a code
# point past U+10FFFF (f4 90 80 80).
mkdfu "$TMP/q\"\\.dfu" 'targets=[dict(alt=0, name=b"q\"b\\s\x01\n\x1f\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xff\xc0\xaf\xe2\x82Z\xed\xa0\x80\xe0\x80\xaf\xf4\x90\x80\x80\xf0\x8f\xbf\xbf", elements=[(0x08000000, b"1234")])]'
run "$DFUINFO" -j "$TMP/q\"\\.dfu"
expect_status 0
expect_json_valid dfuinfo-report
# Each byte that is not part of valid UTF-8 reads as U+FFFD
# (schemas/README.md); name_hex keeps the bytes.
jqe '.files[0].targets[0].name == "q\"b\\s\u0001\n\u001f\u007fé€😀\ufffd\ufffd\ufffd\ufffd\ufffdZ\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"'
jqe '.files[0].targets[0].name_hex == "7122625c73010a1f7fc3a9e282acf09f9880ffc0afe2825aeda080e080aff4908080f08fbfbf"'
jqe ".files[0].path == \"$TMP/q\\\"\\\\.dfu\""
# The whole document is valid UTF-8.
python3 -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8")' "$OUT" ||
	fail "output is not UTF-8"
case_end

case_begin "dfuinfo --json: an empty element has end null"
mkdfu "$TMP/e.dfu" 'targets=[dict(alt=0, name=b"x", elements=[(0x08000000, b"")])]'
run "$DFUINFO" -j "$TMP/e.dfu"
expect_status 0
jqe '.files[0].targets[0].elements[0] | .size == 0 and .end == null and .address == 134217728'
run "$DFUINFO" "$TMP/e.dfu"
expect_stdout_line "    element 0:  0x08000000 (empty)  0 bytes  at 0x125"
case_end

# ---- memory --------------------------------------------------------------

case_begin "dfuinfo: a 1 GiB file is checked in bounded memory (< 32 MiB)"
# A sparse file: one 1 GiB element of zeros, with its true CRC.
python3 - "$TMP/big.dfu" <<'EOF'
import struct, sys, zlib
n = 1 << 30
tgt = b"Target" + struct.pack("<BI", 0, 1) + b"big".ljust(255, b"\0") + struct.pack("<II", 8 + n, 1)
head = b"DfuSe" + struct.pack("<BIB", 1, 11 + len(tgt) + 8 + n, 1) + tgt + struct.pack("<II", 0x08000000, n)
suf = struct.pack("<HHHH", 0x0200, 0xdf11, 0x0483, 0x011a) + b"UFD" + bytes([16])
crc, z = zlib.crc32(head), bytes(1 << 20)
for _ in range(n >> 20):
    crc = zlib.crc32(z, crc)
crc = zlib.crc32(suf, crc)
with open(sys.argv[1], "wb") as f:
    f.write(head)
    f.seek(n, 1)
    f.write(suf + struct.pack("<I", 0xffffffff & ~crc))
EOF
for opt in "" -j; do
	kib=$(python3 -c 'import resource, subprocess, sys
rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if rc == 0 else -1)' "$DFUINFO" $opt "$TMP/big.dfu")
	[ "$kib" -ge 0 ] || fail "dfuinfo $opt did not accept the 1 GiB file"
	[ "$kib" -lt 32768 ] || fail "dfuinfo $opt peak RSS $kib KiB, limit 32768"
done
run "$DFUINFO" "$TMP/big.dfu"
expect_status 0
expect_stdout_line "    element 0:  0x08000000-0x47ffffff  1073741824 bytes  at 0x125"
case_end

# A file of 40 MiB plus an odd tail is summed in windows on several threads
# (common/read.c); a byte changed in any one window must show.
case_begin "dfuinfo: the CRC of a large file is summed in windows: a changed byte in any window is found"
head -c $((40 * 1048576 + 4093)) /dev/urandom >"$TMP/w.bin"
"$BIN2DFU" -a 0x08000000:"$TMP/w.bin" -o "$TMP/w.dfu" || fail "bin2dfu"
run "$DFUINFO" -j "$TMP/w.dfu"
expect_status 0
# dwCRC is the complement of zlib's CRC-32 of all but the last 4 bytes.
want=$(python3 -c 'import sys, zlib
d = open(sys.argv[1], "rb").read()
print(~zlib.crc32(d[:-4]) & 0xffffffff)' "$TMP/w.dfu")
jqe ".files[0].crc.computed == $want and .files[0].crc.match"
for off in 300 $((4 * 1048576 + 17)) $((23 * 1048576)) $((40 * 1048576 + 4000)); do
	cp "$TMP/w.dfu" "$TMP/w1.dfu"
	python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(-1, 1); f.write(bytes([b[0] ^ 1]))' "$TMP/w1.dfu" "$off"
	run "$DFUINFO" -q "$TMP/w1.dfu"
	expect_status 1
	run "$DFUINFO" -j "$TMP/w1.dfu"
	jqe '.files[0].crc.match == false and ([.files[0].diagnostics[] | select(.code == "crc-mismatch")] | length == 1)'
done
case_end

TRUNCATE='#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
static int done;
static void
shrink(int fd)
{
	char path[64];
	int w;

	if (done)
		return;
	done = 1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	w = open(path, O_WRONLY);
	if (w >= 0) {
		(void)ftruncate(w, atoll(getenv("SHRINK_TO")));
		close(w);
	}
}
/* SHRINK_ON=mmap: the first mapping of a file is cut short under it. */
void *
mmap(void *a, size_t n, int prot, int flags, int fd, off_t off)
{
	static void *(*real)(void *, size_t, int, int, int, off_t);
	void *m;

	if (real == NULL)
		real = (void *(*)(void *, size_t, int, int, int, off_t))dlsym(
		    RTLD_NEXT, "mmap");
	/* SHRINK_ON=nomap: a file system that cannot map files. */
	if (fd >= 0 && (flags & MAP_SHARED) &&
	    strcmp(getenv("SHRINK_ON"), "nomap") == 0) {
		errno = ENODEV;
		return MAP_FAILED;
	}
	m = real(a, n, prot, flags, fd, off);
	if (fd >= 0 && m != MAP_FAILED && (flags & MAP_SHARED) &&
	    strcmp(getenv("SHRINK_ON"), "mmap") == 0)
		shrink(fd);
	return m;
}
void *
mmap64(void *a, size_t n, int prot, int flags, int fd, off_t off)
{
	return mmap(a, n, prot, flags, fd, off);
}
/* SHRINK_ON=pread: the file shrinks after its suffix has been read. */
ssize_t
pread64(int fd, void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, void *, size_t, off_t);
	ssize_t r;

	if (real == NULL)
		real = (ssize_t (*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT,
		    "pread64");
	r = real(fd, buf, n, off);
	if (off > 0 && strcmp(getenv("SHRINK_ON"), "pread") == 0)
		shrink(fd);
	return r;
}
'
case_begin "dfuinfo: a file truncated while it is read: a message naming it, exit 1; one that cannot be mapped is read"
if preload_ok; then
	build_preload truncate "$TRUNCATE"
	head -c $((40 * 1048576 + 4093)) /dev/urandom >"$TMP/w.bin"
	"$BIN2DFU" -a 0x08000000:"$TMP/w.bin" -o "$TMP/w.dfu" || fail "bin2dfu"
	# Found shorter before a window is mapped: the library's I/O error.
	cp "$TMP/w.dfu" "$TMP/t.dfu"
	run env LD_PRELOAD="$PRE/truncate.so" SHRINK_ON=pread \
	    SHRINK_TO=$((20 * 1048576)) "$DFUINFO" "$TMP/t.dfu"
	expect_status 1
	expect_stderr_line "dfuinfo: $TMP/t.dfu: the input shrank while it was read (offset 20971520)"
	expect_stdout_empty
	# Truncated under a mapping: SIGBUS, caught and said (frontend/cli.c).
	cp "$TMP/w.dfu" "$TMP/t.dfu"
	run env LD_PRELOAD="$PRE/truncate.so" SHRINK_ON=mmap SHRINK_TO=0 \
	    "$DFUINFO" "$TMP/t.dfu"
	expect_status 1
	expect_stderr_line "dfuinfo: $TMP/t.dfu: the file shrank while it was read (truncated by another program?)"
	expect_stdout_empty
	# --json: the same message, and no partial report on stdout.
	cp "$TMP/w.dfu" "$TMP/t.dfu"
	run env LD_PRELOAD="$PRE/truncate.so" SHRINK_ON=mmap SHRINK_TO=0 \
	    "$DFUINFO" -j "$TMP/t.dfu"
	expect_status 1
	expect_stderr_line "dfuinfo: $TMP/t.dfu: the file shrank while it was read (truncated by another program?)"
	# A file system without mmap: each window is copied out instead.
	cp "$TMP/w.dfu" "$TMP/t.dfu"
	run env LD_PRELOAD="$PRE/truncate.so" SHRINK_ON=nomap SHRINK_TO=0 \
	    "$DFUINFO" -j "$TMP/t.dfu"
	expect_status 0
	want=$(python3 -c 'import sys, zlib
print(~zlib.crc32(open(sys.argv[1], "rb").read()[:-4]) & 0xffffffff)' "$TMP/t.dfu")
	jqe ".files[0].crc.computed == $want and .files[0].crc.match"
fi
case_end

case_begin "dfuinfo --json: 65536 elements cost no more memory than the text report"
# The JSON elements of this file as one jansson tree took 48 MiB; they are
# dumped one at a time (dfuinfo/jsonout.h), so -j peaks within 4 MiB of
# the text report, which holds the file's element list only.
F=$TMP/many.dfu
mkdfu "$F" 'targets=[dict(alt=0, name=b"x", elements=[(0x08000000 + 4 * i, b"") for i in range(65536)])]'
for opt in "" -j; do
	kib=$(python3 -c 'import resource, subprocess, sys
rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if rc == 0 else -1)' "$DFUINFO" $opt "$F")
	[ "$kib" -ge 0 ] || fail "dfuinfo $opt did not accept the file"
	eval "kib${opt#-}=\$kib"
done
# AddressSanitizer keeps freed memory in quarantine: in a SANITIZE=1
# build the bound is left to the unsanitized run (as run_vm_limited does).
[ -n "$SAN_FLAGS" ] || [ "$kibj" -lt $((kib + 4096)) ] ||
	fail "dfuinfo -j peak RSS $kibj KiB, the text report $kib KiB"
run "$DFUINFO" -j "$F"
expect_status 0
expect_json_valid dfuinfo-report
jqe '.files[0].targets[0].elements | length == 65536'
jqe '.files[0].targets[0].elements[65535] == {"index": 65535, "address": 134479868, "size": 0, "end": null, "offset": 524573}'
rm -f "$F"
case_end

# ---- every error kind through the CLI -------------------------------------

# expect_diag SEVERITY CODE [OFFSET FIELD]: the text report has the line,
# and the JSON report has the diagnostic.  Runs both itself on $F.
expect_diag() {
	run "$DFUINFO" "$F"
	if [ "$1" = error ]; then
		expect_status 1
		expect_stdout_contains "  verdict: invalid"
	else
		expect_status 0
		expect_stdout_contains "  verdict: valid"
	fi
	expect_stderr_empty
	if [ $# -ge 4 ]; then
		_pat=$(printf '  %s: 0x%08x %s: ' "$1" "$3" "$4")
		grep -F -- "$_pat" "$OUT" | grep -qF -- "($2)" ||
			{ fail "no line '$_pat... ($2)'"; _show; }
	else
		grep -E -- "^  $1: 0x[0-9a-f]{8} " "$OUT" | grep -qF -- "($2)" ||
			{ fail "no $1 line with ($2)"; _show; }
	fi
	run "$DFUINFO" -j "$F"
	expect_json_valid dfuinfo-report
	if [ $# -ge 4 ]; then
		jqe "[.files[0].diagnostics[] | select(.severity == \"$1\" and .code == \"$2\" and .offset == $3 and .field == \"$4\")] | length >= 1"
	else
		jqe "[.files[0].diagnostics[] | select(.severity == \"$1\" and .code == \"$2\")] | length >= 1"
	fi
	if [ "$1" = error ]; then
		jqe '.files[0].valid == false and .files[0].errors >= 1'
	fi
}

F=
case_begin "error crc-mismatch: stored dwCRC differs"
F=$TMP/f.dfu; mkdfu "$F" crc=0xdeadbeef
expect_diag error crc-mismatch $(($(wc -c <"$F") - 4)) dwCRC
run "$DFUINFO" "$F"
expect_stdout_line "  crc:       stored 0xdeadbeef  computed $(python3 -c 'import sys,zlib; d=open(sys.argv[1],"rb").read(); print("0x%08x" % (0xffffffff & ~zlib.crc32(d[:-4])))' "$F")  mismatch"
case_end

case_begin "error crc-mismatch in a plain file"
F=$TMP/f.dfu; mkdfu "$F" 'plain=b"abc" * 10' crc=1
expect_diag error crc-mismatch 42 dwCRC
case_end

case_begin "error not-dfu: neither DfuSe prefix nor suffix"
F=$TMP/f.bin; python3 -c 'import sys; open(sys.argv[1], "wb").write(bytes(range(256)) * 4)' "$F"
expect_diag error not-dfu
run "$DFUINFO" "$F"
expect_stdout_line "$F: unknown format, 1024 bytes"
expect_stdout_lacks "suffix:"
run "$DFUINFO" -j "$F"
jqe '.files[0] | .format == "unknown" and .suffix == null and .crc == null and .targets == []'
case_end

case_begin "error too-short: fewer bytes than a suffix"
F=$TMP/f.bin; printf 'UFD' >"$F"
expect_diag error too-short
case_end

case_begin "error too-short: an empty file"
F=$TMP/f.bin; : >"$F"
expect_diag error too-short
run "$DFUINFO" "$F"
expect_stdout_line "$F: unknown format, 0 bytes"
case_end

case_begin "error no-suffix: DfuSe file without UFD"
F=$TMP/f.dfu; mkdfu "$F" 'ufd=b"XYZ"'
expect_diag error no-suffix
case_end

case_begin "error suffix-length: bLength below 16"
F=$TMP/f.dfu; mkdfu "$F" blength=8
expect_diag error suffix-length $(($(wc -c <"$F") - 5)) bLength
case_end

case_begin "error suffix-length: bLength beyond the file"
F=$TMP/f.dfu; mkdfu "$F" 'plain=b"ab"' blength=200
expect_diag error suffix-length 13 bLength
case_end

case_begin "error dfuse-version: bVersion 2"
F=$TMP/f.dfu; mkdfu "$F" version=2
expect_diag error dfuse-version 5 bVersion
case_end

case_begin "error image-size: DFUImageSize is neither size nor size - 16"
F=$TMP/f.dfu; mkdfu "$F" image_size=12345
expect_diag error image-size 6 DFUImageSize
run "$DFUINFO" "$F"
expect_stdout_line "  prefix:    bVersion 1  DFUImageSize 12345  bTargets 1"
case_end

case_begin "error no-targets: bTargets 0"
F=$TMP/f.dfu; mkdfu "$F" 'targets=[]'
expect_diag error no-targets 10 bTargets
case_end

case_begin "error truncated: element data runs past the image"
F=$TMP/f.dfu; mkdfu "$F" 'targets=[dict(alt=0, name=b"x", size=8 + 4096, elements=[(0x08000000, b"\x11" * 64, 4096)])]'
expect_diag error truncated
run "$DFUINFO" "$F"
# the headers read before the error are still shown
expect_stdout_contains '  target 0:  alt 0  "x"  4104 bytes  1 element'
case_end

case_begin "error truncated: bTargets larger than the targets present"
F=$TMP/f.dfu; mkdfu "$F" btargets=3
expect_diag error truncated
case_end

case_begin "error target-signature: target prefix without \"Target\""
F=$TMP/f.dfu; mkdfu "$F"
python3 -c 'import sys,zlib,struct; p=sys.argv[1]; d=bytearray(open(p,"rb").read()); d[11:17]=b"Tar\0\0\0"; d[-4:]=struct.pack("<I", 0xffffffff & ~zlib.crc32(bytes(d[:-4]))); open(p,"wb").write(d)' "$F"
expect_diag error target-signature 11
case_end

case_begin "error target-name-unterminated: 255 bytes without NUL"
F=$TMP/f.dfu; mkdfu "$F" 'targets=[dict(alt=0, name=b"N" * 255, elements=[(0x08000000, b"1234")])]'
expect_diag error target-name-unterminated 22 szTargetName
case_end

case_begin "error element-count: dwNbElements cannot fit"
F=$TMP/f.dfu; mkdfu "$F" 'targets=[dict(alt=0, name=b"x", nb=0x10000000, elements=[(0x08000000, b"1234")])]'
expect_diag error element-count 281 dwNbElements
run "$DFUINFO" "$F"
expect_stdout_contains "268435456 elements (0 read)"
case_end

case_begin "error too-many-elements: more than 65536 elements"
F=$TMP/f.dfu; mkdfu "$F" 'targets=[dict(alt=0, name=b"x", elements=[(0x08000000 + 4 * i, b"abcd") for i in range(65537)])]'
expect_diag error too-many-elements
case_end

case_begin "error element-past-target: element ends past dwTargetSize"
F=$TMP/f.dfu; mkdfu "$F" 'targets=[dict(alt=0, name=b"x", size=8 + 16, elements=[(0x08000000, b"\x11" * 16), (0x08000100, b"\x22" * 16)])]' leftover='b""'
expect_diag error element-past-target
case_end

case_begin "error target-size: dwTargetSize larger than its elements"
F=$TMP/f.dfu; mkdfu "$F" 'targets=[dict(alt=0, name=b"x", size=8 + 16 + 8, elements=[(0x08000000, b"\x11" * 16)])]' 'leftover=b"\0" * 8'
expect_diag error target-size
case_end

case_begin "error address-overflow: element passes 4 GiB"
F=$TMP/f.dfu; mkdfu "$F" 'targets=[dict(alt=0, name=b"x", elements=[(0xfffffff0, b"\x11" * 32)])]'
expect_diag error address-overflow
run "$DFUINFO" "$F"
expect_stdout_contains "    element 0:  0xfffffff0-0x10000000f  32 bytes"
case_end

case_begin "error element-overlap: two elements of one target overlap"
F=$TMP/f.dfu; mkdfu "$F" 'targets=[dict(alt=0, name=b"x", elements=[(0x08000000, b"\x11" * 32), (0x08000010, b"\x22" * 32)])]'
expect_diag error element-overlap
case_end

case_begin "error leftover: bytes between the last target and the suffix"
F=$TMP/f.dfu; mkdfu "$F" 'leftover=b"junk"'
expect_diag error leftover
case_end

# ---- every note kind through the CLI --------------------------------------

case_begin "fact: DFUImageSize without the suffix is shown, not a note"
F=$TMP/f.dfu; mkdfu "$F"
run "$DFUINFO" "$F"
expect_status 0
expect_stdout_contains "DFUImageSize $(($(wc -c <"$F") - 16)) (file size - 16)"
expect_stdout_lacks "image-size-excludes-suffix"
expect_stdout_line "  verdict: valid"
run "$DFUINFO" -j "$F"
expect_json_valid dfuinfo-report
jqe '.files[0].dfuse_prefix.image_size_convention == "without_suffix"'
jqe '.files[0].diagnostics == [] and .files[0].notes == 0'
# With an extended suffix the convention counts bLength, not 16.
mkdfu "$F" blength=20 'extra=b"EXT!"' image_size=309
run "$DFUINFO" -j "$F"
expect_status 0
jqe '.files[0].dfuse_prefix | .image_size == 309 and .image_size_convention == "without_suffix"'
jqe '[.files[0].diagnostics[] | .code] == ["extended-suffix"]'
case_end

case_begin "note image-size-includes-suffix"
F=$TMP/f.dfu; mkdfu "$F" image_size_mode='"incl"'
expect_diag note image-size-includes-suffix 6 DFUImageSize
run "$DFUINFO" "$F"
expect_stdout_contains "DFUImageSize $(wc -c <"$F") (file size)  bTargets 1"
run "$DFUINFO" -j "$F"
jqe '.files[0].dfuse_prefix.image_size_convention == "with_suffix"'
case_end

case_begin "note target-name-junk: bytes after the NUL of szTargetName"
F=$TMP/f.dfu; mkdfu "$F" 'targets=[dict(alt=0, name=b"Flash\0leftover text", elements=[(0x08000000, b"1234")])]'
expect_diag note target-name-junk
run "$DFUINFO" "$F"
expect_stdout_contains '  target 0:  alt 0  "Flash"  12 bytes'
case_end

case_begin "note target-named: bTargetNamed 2"
F=$TMP/f.dfu; mkdfu "$F" 'targets=[dict(alt=0, name=b"x", named=2, elements=[(0x08000000, b"1234")])]'
expect_diag note target-named 18 bTargetNamed
run "$DFUINFO" -j "$F"
jqe '.files[0].targets[0].named == 2'
case_end

case_begin "note target-named: bTargetNamed 0 with a name"
F=$TMP/f.dfu; mkdfu "$F" 'targets=[dict(alt=0, name=b"x", named=0, elements=[(0x08000000, b"1234")])]'
expect_diag note target-named 18 bTargetNamed
case_end

case_begin "fact: an ID of 0xffff is shown as a wildcard, not a note"
F=$TMP/f.dfu; mkdfu "$F" vid=0xffff
run "$DFUINFO" "$F"
expect_status 0
expect_stdout_contains "  suffix:    idVendor 0xffff (wildcard)  idProduct 0xdf11  bcdDevice 0x0200  bcdDFU"
expect_stdout_lacks "wildcard-id"
expect_stdout_line "  verdict: valid"
run "$DFUINFO" -j "$F"
expect_json_valid dfuinfo-report
jqe '.files[0].suffix | .vendor_id == 65535 and .wildcards == ["vendor_id"]'
jqe '.files[0].notes == 0'
mkdfu "$F" 'plain=b"x" * 8' dev=0xffff
run "$DFUINFO" "$F"
expect_stdout_contains "  bcdDevice 0xffff (wildcard)  bcdDFU"
run "$DFUINFO" -j "$F"
jqe '.files[0].suffix.wildcards == ["device_version"] and .files[0].diagnostics == []'
case_end

case_begin "no noise: a file bin2dfu writes with its defaults is valid, no notes"
# issue 16: the DfuSe file has a wildcard bcdDevice and DFUImageSize
# without the suffix; the plain file three wildcard IDs.  Facts, not
# findings.
printf 'abc' >"$TMP/x.bin"
"$BIN2DFU" -o "$TMP/d.dfu" -a "0x08000000:$TMP/x.bin" || fail "bin2dfu failed"
"$BIN2DFU" --plain -o "$TMP/p.dfu" "$TMP/x.bin" || fail "bin2dfu --plain failed"
for f in d p; do
	run "$DFUINFO" "$TMP/$f.dfu"
	expect_status 0
	expect_stdout_line "  verdict: valid"
	expect_stdout_lacks "note:"
	run "$DFUINFO" -j "$TMP/$f.dfu"
	expect_json_valid dfuinfo-report
	jqe '.files[0] | .valid and .errors == 0 and .notes == 0 and .diagnostics == []'
done
jqe '.files[0].suffix.wildcards == ["vendor_id", "product_id", "device_version"]'
case_end

case_begin "note empty-element"
F=$TMP/f.dfu; mkdfu "$F" 'targets=[dict(alt=0, name=b"x", elements=[(0x08000000, b""), (0x08000000, b"1234")])]'
expect_diag note empty-element
case_end

case_begin "note duplicate-alt"
F=$TMP/f.dfu; mkdfu "$F" 'targets=[dict(alt=3, name=b"a", elements=[(0x08000000, b"1234")]), dict(alt=3, name=b"b", elements=[(0x20000000, b"5678")])]'
expect_diag note duplicate-alt
case_end

# Two targets of one alt: target 0's element data is at 0x125 (293),
# target 1's prefix at 0x145 and its element data at 0x25f (607).
case_begin "error alt-conflict: two targets of one alt write different bytes to one address"
F=$TMP/f.dfu; mkdfu "$F" 'targets=[dict(alt=0, name=b"a", elements=[(0x08000000, b"\x11" * 32)]), dict(alt=0, name=b"b", elements=[(0x08000010, b"\x11" * 4 + b"\x34" + b"\x11" * 11)])]'
expect_diag error alt-conflict 607 "alt 0"
run "$DFUINFO" "$F"
expect_status 1
expect_stdout_line '  error: 0x0000025f alt 0: target 0 element 0 and target 1 element 0 write different bytes at 0x08000014 (0x11 and 0x34) (alt-conflict)'
expect_stdout_line "  verdict: invalid (1 error, 1 note)"
run "$DFUINFO" -j "$F"
expect_status 1
jqe '[.files[0].diagnostics[] | select(.code == "alt-conflict")] == [{"severity": "error", "code": "alt-conflict", "offset": 607, "field": "alt 0", "message": "target 0 element 0 and target 1 element 0 write different bytes at 0x08000014 (0x11 and 0x34)"}]'
jqe '.files[0].valid == false and .files[0].errors == 1'
run "$DFUINFO" -q "$F"
expect_status 1
expect_stdout_empty
# -q: the error on stderr, its note left out.
[ "$(wc -l <"$ERR")" -eq 1 ] || fail "expected one line on stderr: $(cat "$ERR")"
expect_stderr_contains ": 0x0000025f alt 0: target 0 element 0 and target 1 element 0 write different bytes at 0x08000014 (0x11 and 0x34) (alt-conflict)"
# Different alts are different memories: no conflict.
mkdfu "$F" 'targets=[dict(alt=0, name=b"a", elements=[(0x08000000, b"\x11" * 32)]), dict(alt=1, name=b"b", elements=[(0x08000010, b"\x34" * 16)])]'
run "$DFUINFO" "$F"
expect_status 0
expect_stdout_lacks "alt-conflict"
case_end

case_begin "note alt-overlap: two targets of one alt write the same bytes to one address"
F=$TMP/f.dfu; mkdfu "$F" 'targets=[dict(alt=0, name=b"a", elements=[(0x08000000, b"\x11" * 32)]), dict(alt=0, name=b"b", elements=[(0x08000010, b"\x11" * 16)])]'
expect_diag note alt-overlap 607 "alt 0"
run "$DFUINFO" "$F"
expect_status 0
expect_stdout_line '  note: 0x0000025f alt 0: target 0 element 0 and target 1 element 0 write the same bytes at 0x08000010-0x0800001f (alt-overlap)'
expect_stdout_line "  verdict: valid (2 notes)"
case_end

case_begin "dfuinfo: overlapping elements of one target are one element-overlap error"
F=$TMP/f.dfu; mkdfu "$F" 'targets=[dict(alt=0, name=b"x", elements=[(0x08000000, b"\x11" * 32), (0x08000010, b"\x22" * 32)])]'
run "$DFUINFO" "$F"
expect_status 1
expect_stdout_lacks "alt-conflict"
expect_stdout_line "  verdict: invalid (1 error)"
case_end

case_begin "note bcddfu-mismatch: DfuSe file with bcdDFU 0x0110"
F=$TMP/f.dfu; mkdfu "$F" bcd=0x0110
expect_diag note bcddfu-mismatch
case_end

case_begin "note bcddfu-mismatch: plain file with bcdDFU 0x011a"
F=$TMP/f.dfu; mkdfu "$F" 'plain=b"x" * 8' bcd=0x011a
expect_diag note bcddfu-mismatch 14 bcdDFU
case_end

case_begin "note bcddfu-unknown: bcdDFU 0x0200"
F=$TMP/f.dfu; mkdfu "$F" 'plain=b"x" * 8' bcd=0x0200
expect_diag note bcddfu-unknown 14 bcdDFU
case_end

case_begin "note extended-suffix: bLength 20"
F=$TMP/f.dfu; mkdfu "$F" 'plain=b"x" * 8' blength=20 'extra=b"EXT!"'
expect_diag note extended-suffix
run "$DFUINFO" "$F"
expect_stdout_contains "bLength 20"
expect_stdout_line "  payload:   8 bytes"
case_end

case_begin "note vendor-prefix: TI Stellaris"
# 8 bytes: 0x01 0x00, address / 1024 (u16), payload length (u32)
F=$TMP/f.dfu; mkdfu "$F" 'plain=b"\x5a" * 1000' 'prefix=b"\x01\x00" + (0x2000 // 1024).to_bytes(2, "little") + (1000).to_bytes(4, "little")' vid=0x1cbe pid=0x00ff
expect_diag note vendor-prefix
run "$DFUINFO" "$F"
expect_stdout_line "$F: plain DFU with TI Stellaris prefix, 1024 bytes"
expect_stdout_line "  vendor:    TI Stellaris prefix, 8 bytes  address 0x00002000  length 1000"
expect_stdout_line "  payload:   1000 bytes"
run "$DFUINFO" -j "$F"
jqe '.files[0].vendor_prefix == {"kind": "stellaris", "size": 8, "address": 8192, "length": 1000}'
jqe '.files[0].payload_size == 1000'
case_end

case_begin "dfuinfo: a Stellaris-like header whose length disagrees is payload (dfuinfo(1))"
F=$TMP/f.dfu; mkdfu "$F" 'plain=b"\x5a" * 1000' 'prefix=b"\x01\x00" + (0x2000 // 1024).to_bytes(2, "little") + (999).to_bytes(4, "little")'
run "$DFUINFO" "$F"
expect_status 0
expect_stdout_line "$F: plain DFU, 1024 bytes"
expect_stdout_lacks "  vendor:"
expect_stdout_line "  payload:   1008 bytes"
case_end

case_begin "note vendor-prefix-length: LPC block count disagrees with the payload"
F=$TMP/f.dfu; mkdfu "$F" 'plain=b"\xa5" * 1000' 'prefix=b"\xda\xff" + (7).to_bytes(2, "little") + b"\xff" * 12' vid=0x1fc9 pid=0x000c
expect_diag note vendor-prefix-length
run "$DFUINFO" "$F"
expect_stdout_line "  vendor:    NXP LPC prefix, 16 bytes  length 7 blocks"
expect_stdout_contains "(vendor-prefix)"
case_end

case_begin "note vendor-prefix: NXP LPC (CRC over the whole file)"
# same header as the HackRF file: 0xffda, blocks of 512 (u16), 12 x 0xff
F=$TMP/f.dfu; mkdfu "$F" 'plain=b"\xa5" * 1000' 'prefix=b"\xda\xff" + (2).to_bytes(2, "little") + b"\xff" * 12' vid=0x1fc9 pid=0x000c
expect_diag note vendor-prefix
run "$DFUINFO" "$F"
expect_stdout_line "$F: plain DFU with NXP LPC prefix, 1032 bytes"
expect_stdout_line "  vendor:    NXP LPC prefix, 16 bytes  length 2 blocks"
case_end

# ---- -L: does the file fit a device's memory? -------------------------------
F405='@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg'
OPTB='@Option Bytes  /0x1FFFC000/01*016 e'

case_begin "dfuinfo -L: pages erased, bytes erased beyond the image"
# 20000 bytes at the start (two 16 KiB pages) and 100 bytes in the 64 KiB page
mkdfu "$TMP/a.dfu" 'targets=[dict(alt=0, name=b"", elements=[(0x08000000, b"\x11" * 20000), (0x08010000, b"\x22" * 100)])]'
run "$DFUINFO" -L "$F405" "$TMP/a.dfu"
expect_status 0
expect_stdout_line '    layout:     "Internal Flash" (alt 0): fits; erases 3 pages, 98304 bytes, 78204 of them not in the image'
expect_stdout_line "  verdict: valid"
case_end

case_begin "dfuinfo -L: a million sectors are checked in a CPU-time bound"
# 1,000,000 one-KiB sectors in a saved device list, and the same in
# 100,000 groups in descending order (no region follows the one before).
# Comparing every pair took 15 s for 200,000 sectors and 281 s for a
# million; sorting takes well under a second, so 20 s of CPU is a bound
# that cannot flake and that the quadratic check cannot meet.
mkdfu "$TMP/a.dfu" 'targets=[dict(alt=0, name=b"", elements=[(0x08000000, b"\x11" * 16)])]'
python3 -c '
import json, sys
n = 1000000
flat = "@Flash /0x08000000/" + ",".join(["1*1Kg"] * n)
down = "@Flash " + "".join("/0x%08x/1*1Kg" % (0x08000000 + 0x400 * (100000 - i)) for i in range(100001))
for name, s in (("flat", flat), ("down", down), ("over", down + "/0x08000400/1*1Kg")):
    json.dump({"devices": [{"alts": [{"alt": 0, "name": s}]}]}, open(sys.argv[1] + "/" + name + ".json", "w"))
' "$TMP"
for f in flat down; do
	run sh -c 'ulimit -t 20 && exec "$0" -L "$1" "$2"' "$DFUINFO" "$TMP/$f.json" "$TMP/a.dfu"
	expect_status 0
	expect_stdout_contains '"Flash" (alt 0): fits; erases 1 page'
done
run sh -c 'ulimit -t 20 && exec "$0" -L "$1" "$2"' "$DFUINFO" "$TMP/over.json" "$TMP/a.dfu"
expect_status 2
expect_stderr_line "dfuinfo: $TMP/over.json: alt 0: layout offset 1700036: 0x08000400-0x080007ff overlaps region 99999 at 0x08000400-0x080007ff"
rm -f "$TMP/flat.json" "$TMP/down.json" "$TMP/over.json"
case_end

case_begin "dfuinfo -L '' and standard input twice are usage errors"
mkdfu "$TMP/a.dfu" 'targets=[dict(alt=0, name=b"", elements=[(0x08000000, b"\x11" * 16)])]'
run "$DFUINFO" -L '' "$TMP/a.dfu"
expect_status 2
expect_stderr_line "dfuinfo: -L '': expected [alt=]layout, or the file that dfuflash -l --json writes"
run_stdin "$TMP/a.dfu" "$DFUINFO" - "$TMP/a.dfu" -
expect_status 2
expect_stdout_empty
expect_stderr_line "dfuinfo: -: standard input can be read only once"
case_end

case_begin "dfuinfo -L: elements sharing a page count it once"
mkdfu "$TMP/a.dfu" 'targets=[dict(alt=0, name=b"", elements=[(0x08000000, b"\x11" * 16), (0x08000100, b"\x22" * 16), (0x08003ff0, b"\x33" * 32)])]'
run "$DFUINFO" -L "0=$F405" "$TMP/a.dfu"
expect_status 0
expect_stdout_line '    layout:     "Internal Flash" (alt 0): fits; erases 2 pages, 32768 bytes, 32704 of them not in the image'
case_end

case_begin "dfuinfo -L: an element past the layout is an error naming the first address outside"
mkdfu "$TMP/a.dfu" 'targets=[dict(alt=0, name=b"", elements=[(0x080ffff0, b"\x11" * 32)])]'
run "$DFUINFO" -L "$F405" "$TMP/a.dfu"
expect_status 1
expect_stdout_line '    layout:     "Internal Flash" (alt 0): does not fit'
expect_stdout_line '  error: 0x00000125 target 0 element 0: 0x08100000 is outside every region of "Internal Flash" (layout-outside)'
expect_stdout_line "  verdict: invalid (1 error)"
# -q: the layout check's error on stderr, one line.
run "$DFUINFO" -q -L "$F405" "$TMP/a.dfu"
expect_status 1
expect_stdout_empty
[ "$(wc -l <"$ERR")" -eq 1 ] || fail "expected one line on stderr: $(cat "$ERR")"
expect_stderr_contains 'a.dfu: 0x00000125 target 0 element 0: 0x08100000 is outside every region of "Internal Flash" (layout-outside)'
case_end

case_begin "dfuinfo -L: memory that is not writable is an error"
mkdfu "$TMP/a.dfu" 'targets=[dict(alt=0, name=b"", elements=[(0x1fff7800, b"\x11" * 4)])]'
run "$DFUINFO" -L '@OTP /0x1FFF7800/01*512 a' "$TMP/a.dfu"
expect_status 1
expect_stdout_contains '0x1fff7800 is in a region of "OTP" that is not writable (readable) (layout-not-writable)'
case_end

case_begin "dfuinfo -L: a layout the parser read past UM0424 shows its note (STM32F72x OTP, fwupd#2062)"
mkdfu "$TMP/a.dfu" 'targets=[dict(alt=2, name=b"", elements=[(0x1ff07800, b"\x11" * 16)])]'
run "$DFUINFO" -L '2=@OTP Memory /0x1FF07800/01*528e' "$TMP/a.dfu"
expect_status 0
expect_stdout_line '    layout:     "OTP Memory" (alt 2): fits; erases 0 pages, 0 bytes'
expect_stdout_line "  note: 0x00000000 alt 2 layout, offset 30: page size 528 has no multiplier before type 'e': read as bytes (no-multiplier)"
run "$DFUINFO" -j -L '2=@OTP Memory /0x1FF07800/01*528e' "$TMP/a.dfu"
expect_status 0
jqe '[.files[0].diagnostics[] | select(.code == "no-multiplier") | .severity] == ["note"]'
case_end

case_begin "dfuinfo -L: each target is checked against the layout of its alt"
mkdfu "$TMP/a.dfu" 'targets=[dict(alt=0, name=b"", elements=[(0x08000000, b"\x11" * 16)]), dict(alt=1, name=b"", elements=[(0x1fffc000, b"\xaa" * 16)])]'
run "$DFUINFO" -L "$F405" -L "1=$OPTB" "$TMP/a.dfu"
expect_status 0
expect_stdout_line '    layout:     "Internal Flash" (alt 0): fits; erases 1 page, 16384 bytes, 16368 of them not in the image'
# the option bytes region is writable but not erasable ('e'): nothing to erase
expect_stdout_line '    layout:     "Option Bytes" (alt 1): fits; erases 0 pages, 0 bytes'
run "$DFUINFO" -L "$F405" "$TMP/a.dfu"
expect_status 1
expect_stdout_line '  error: 0x0000024f target 1 element 0: alt 1 has no memory layout: give one with -L 1=LAYOUT (layout-missing)'
case_end

case_begin "dfuinfo -L: the pages of an alt are counted once, under its first target"
mkdfu "$TMP/a.dfu" 'targets=[dict(alt=0, name=b"", elements=[(0x08000000, b"\x11" * 16)]), dict(alt=0, name=b"", elements=[(0x08000100, b"\x22" * 16)])]'
run "$DFUINFO" -L "$F405" "$TMP/a.dfu"
expect_status 0
expect_stdout_line '    layout:     "Internal Flash" (alt 0): fits; erases 1 page, 16384 bytes, 16352 of them not in the image'
expect_stdout_line '    layout:     "Internal Flash" (alt 0): fits; counted with target 0'
run "$DFUINFO" -j -L "$F405" "$TMP/a.dfu"
expect_json_valid dfuinfo-report
jqe '.files[0].targets[0].layout == {"name": "Internal Flash", "fits": true, "counted_with_target": null, "pages_erased": 1, "bytes_erased": 16384, "bytes_outside": 16352}'
jqe '.files[0].targets[1].layout == {"name": "Internal Flash", "fits": true, "counted_with_target": 0, "pages_erased": null, "bytes_erased": null, "bytes_outside": null}'
# A second target of the alt that does not fit: the first has no figures.
mkdfu "$TMP/a.dfu" 'targets=[dict(alt=0, name=b"", elements=[(0x08000000, b"\x11" * 16)]), dict(alt=0, name=b"", elements=[(0x20000000, b"\x22" * 16)])]'
run "$DFUINFO" -L "$F405" "$TMP/a.dfu"
expect_status 1
expect_stdout_line '    layout:     "Internal Flash" (alt 0): fits; another target of alt 0 does not'
expect_stdout_line '    layout:     "Internal Flash" (alt 0): does not fit'
expect_stdout_line '  error: 0x0000024f target 1 element 0: 0x20000000 is outside every region of "Internal Flash" (layout-outside)'
case_end

case_begin "dfuinfo -L --json: layout of each target, errors in the diagnostics"
mkdfu "$TMP/a.dfu" 'targets=[dict(alt=0, name=b"", elements=[(0x08000000, b"\x11" * 20000), (0x08010000, b"\x22" * 100)])]'
run "$DFUINFO" -j -L "$F405" "$TMP/a.dfu"
expect_status 0
jqe '.files[0].targets[0].layout == {"name": "Internal Flash", "fits": true, "counted_with_target": null, "pages_erased": 3, "bytes_erased": 98304, "bytes_outside": 78204}'
run "$DFUINFO" -j "$TMP/a.dfu"
jqe '.files[0].targets[0].layout == null'
run "$DFUINFO" -j -L '@Small /0x08000000/01*016Kg' "$TMP/a.dfu"
expect_json_valid dfuinfo-report
expect_status 1
jqe '.files[0].valid == false and .files[0].errors == 2'
jqe '.files[0].targets[0].layout == {"name": "Small", "fits": false, "counted_with_target": null, "pages_erased": null, "bytes_erased": null, "bytes_outside": null}'
jqe '[.files[0].diagnostics[] | select(.severity == "error") | [.code, .field]] == [["layout-outside", "target 0 element 0"], ["layout-outside", "target 0 element 1"]]'
case_end

case_begin "dfuinfo -L: a plain file is an error, as dfuflash refuses it for a DfuSe device"
mkdfu "$TMP/p.dfu" 'plain=b"\x5a" * 100'
run "$DFUINFO" -L "$F405" "$TMP/p.dfu"
expect_status 1
expect_stdout_line '  error: 0x00000000 a plain DFU file has no addresses: dfuflash refuses it for a DfuSe device, whose memory -L describes (layout-plain)'
run "$DFUINFO" "$TMP/p.dfu"
expect_status 0
case_end

case_begin "dfuinfo -L: bad layouts and alts are usage errors"
mkdfu "$TMP/a.dfu"
run "$DFUINFO" -L '@Flash/0x08000000/04*016Kx' "$TMP/a.dfu"
expect_status 2
expect_stderr_line "dfuinfo: -L @Flash/0x08000000/04*016Kx: layout offset 25: expected a type letter from 'a' to 'g', found 'x'"
expect_stdout_empty
run "$DFUINFO" -L "256=$F405" "$TMP/a.dfu"
expect_status 2
expect_stderr_line "dfuinfo: -L 256=$F405: expected [alt=]layout, alt from 0 to 255"
run "$DFUINFO" -L "$F405" -L "0=$F405" "$TMP/a.dfu"
expect_status 2
expect_stderr_line "dfuinfo: -L 0=$F405: a second layout for alt 0"
run "$DFUINFO" -L
expect_status 2
case_end

# devlist FILE NDEVICES [old]: a device list as dfuflash -l --json writes
# it (schemas/device-list.schema.json), with NDEVICES copies of an
# STM32F405 ROM bootloader; "old": in the form of the release before
# issue 16, compact, without "schema", with vid, pid, bcdDevice.
devlist() {
	python3 - "$@" <<'EOF'
import json, sys
names = ["@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg",
         "@Option Bytes  /0x1FFFC000/01*016 e", "no layout here"]
if sys.argv[3:] == ["old"]:
    alts = [dict(alt=a, name=n, quirk=None, layout_string=n, layout=None)
            for a, n in zip([0, 1, 4], names)]
    dev = dict(path="1-1", vid=0x0483, pid=0xdf11, serial="3276",
               serial_utf16=None, bcdDevice=0x2200, mode="dfu", alts=alts)
    doc = dict(devices=[dev] * int(sys.argv[2]))
    open(sys.argv[1], "w").write(json.dumps(doc, separators=(",", ":")))
else:
    alts = [dict(alt=a, name=n, quirk=None, layout_string=n, layout=None)
            for a, n in zip([0, 1, 4], names)]
    dev = dict(path="1-1", vendor_id=0x0483, product_id=0xdf11,
               serial="3276", serial_utf16=None, device_version=0x2200,
               mode="dfu", dfu_version=0x011a, transfer_size=2048,
               detach_timeout_ms=255, attributes=dict(can_download=True,
               can_upload=True, manifestation_tolerant=False,
               will_detach=True), descriptor_error=None, access=True,
               quirks=[], alts=alts)
    doc = {"schema": "dfutools/device-list/1",
           "devices": [dev] * int(sys.argv[2])}
    json.dump(doc, open(sys.argv[1], "w"), indent=2)
EOF
}

case_begin "dfuinfo -L FILE: the layouts of a device list from dfuflash -l --json, new form and old"
mkdfu "$TMP/a.dfu" 'targets=[dict(alt=0, name=b"", elements=[(0x08000000, b"\x11" * 16)]), dict(alt=1, name=b"", elements=[(0x1fffc000, b"\xaa" * 16)])]'
devlist "$TMP/old.json" 1 old
devlist "$TMP/dev.json" 1
expect_json_valid device-list "$TMP/dev.json"
for f in dev old; do
	run "$DFUINFO" -L "$TMP/$f.json" "$TMP/a.dfu"
	expect_status 0
	expect_stdout_line '    layout:     "Internal Flash" (alt 0): fits; erases 1 page, 16384 bytes, 16368 of them not in the image'
	expect_stdout_line '    layout:     "Option Bytes" (alt 1): fits; erases 0 pages, 0 bytes'
done
# Another document, or a later version of the list, is not read as one.
sed 's|dfutools/device-list/1|dfutools/device-list/2|' "$TMP/dev.json" >"$TMP/v2.json"
run "$DFUINFO" -L "$TMP/v2.json" "$TMP/a.dfu"
expect_status 2
expect_stderr_line "dfuinfo: $TMP/v2.json: not a device list of dfuflash -l --json: \"schema\" is not \"dfutools/device-list/1\""
printf '[]' >"$TMP/array.json"
run "$DFUINFO" -L "$TMP/array.json" "$TMP/a.dfu"
expect_status 2
expect_stderr_line "dfuinfo: $TMP/array.json: not a device list of dfuflash -l --json: not a JSON object"
run "$DFUINFO" -L "$TMP/dev.json" -L "1=$OPTB" "$TMP/a.dfu"
expect_status 2
expect_stderr_line "dfuinfo: -L 1=$OPTB: a second layout for alt 1"
case_end

case_begin "dfuinfo -L: an alternate setting with a leading zero is a usage error"
mkdfu "$TMP/a.dfu"
run "$DFUINFO" -L "01=$OPTB" "$TMP/a.dfu"
expect_status 2
expect_stderr_line "dfuinfo: -L 01=$OPTB: 01 has a leading zero, which could mean octal, decimal or hexadecimal: write 0x01 for hexadecimal or 1 for decimal"
expect_stdout_empty
case_end

case_begin "dfuinfo -L FILE: a list that is not of one DfuSe device is a usage error"
mkdfu "$TMP/a.dfu"
devlist "$TMP/two.json" 2
run "$DFUINFO" -L "$TMP/two.json" "$TMP/a.dfu"
expect_status 2
expect_stderr_line "dfuinfo: $TMP/two.json: 2 devices in the list: -L needs the list of one (dfuflash -l --json -S SERIAL)"
printf '{"devices":[{"alts":[{"alt":0,"name":"Firmware"}]}]}' >"$TMP/plain.json"
run "$DFUINFO" -L "$TMP/plain.json" "$TMP/a.dfu"
expect_status 2
expect_stderr_line "dfuinfo: $TMP/plain.json: the device names no alternate setting with a memory layout (it is not a DfuSe device)"
printf '{"devices":[{"alts":[{"alt":0,"name":"@F /0x08000000/1*1Kq"}]}]}' >"$TMP/bad.json"
run "$DFUINFO" -L "$TMP/bad.json" "$TMP/a.dfu"
expect_status 2
expect_stderr_line "dfuinfo: $TMP/bad.json: alt 0: layout offset 19: expected a type letter from 'a' to 'g', found 'q'"
printf '{"devices":\n[' >"$TMP/cut.json"
run "$DFUINFO" -L "$TMP/cut.json" "$TMP/a.dfu"
expect_status 2
expect_stderr_contains "dfuinfo: $TMP/cut.json: line 2, column"
printf '{"devices":[{"alts":[{"alt":256,"name":"@x"}]}]}' >"$TMP/alt.json"
run "$DFUINFO" -L "$TMP/alt.json" "$TMP/a.dfu"
expect_status 2
expect_stderr_line "dfuinfo: $TMP/alt.json: not a device list of dfuflash -l --json: alts[0] has no \"alt\" from 0 to 255"
run "$DFUINFO" -L "$TMP/none.json" "$TMP/a.dfu"
expect_status 2
expect_stderr_line "dfuinfo: $TMP/none.json: No such file or directory"
printf '{"list":[]}' >"$TMP/nodev.json"
run "$DFUINFO" --layout "$TMP/nodev.json" "$TMP/a.dfu"
expect_status 2
expect_stderr_line "dfuinfo: $TMP/nodev.json: not a device list of dfuflash -l --json: no \"devices\" array"
printf '{"devices":[{"path":"1-1"}]}' >"$TMP/noalts.json"
run "$DFUINFO" -L "$TMP/noalts.json" "$TMP/a.dfu"
expect_status 2
expect_stderr_line "dfuinfo: $TMP/noalts.json: not a device list of dfuflash -l --json: the device has no \"alts\" array"
case_end

finish
