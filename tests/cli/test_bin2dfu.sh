#!/bin/sh
# CLI tests of bin2dfu: every option, every message a user can meet, and
# the bytes written (decoded with tests/cli/image_check.py, independently of
# libdfufile).
. "$(dirname "$0")/lib.sh"

VERSION=$(sed -n 's/^#define DFUFILE_VERSION_STRING "\(.*\)"$/\1/p' \
    "$ROOT/common/dfufile.h")

# The tests' DfuSe / plain DFU decoder (tests/cli/image_check.py, written
# from UM0391 and DFU 1.1 appendix B):
#   dfuse FILE [DIR]  print every header field, one line per record; with
#                     DIR, also write element t.e's data to DIR/tTeE.bin
#   plain FILE [OUT]  print the payload size and the suffix; with OUT,
#                     write the payload there
DECODER=$ROOT/tests/cli/image_check.py

# begin NAME: start a case and work in its fresh directory.
begin() {
	case_begin "$1"
	cd "$TMP" || exit 1
}

# decode MODE FILE [OUT]: run the decoder; its output becomes $OUT.
decode() {
	run python3 "$DECODER" "$@"
	[ "$STATUS" -eq 0 ] || { fail "decoder failed on $2"; _show; }
}

# mkfill FILE SRC N: SRC followed by N bytes of 0xff.
mkfill() {
	python3 -c 'import sys; sys.stdout.buffer.write(
	    open(sys.argv[1], "rb").read() + b"\xff" * int(sys.argv[2]))' \
	    "$2" "$3" >"$1"
}

# expect_fail STATUS LINE: failed run with one exact stderr line, nothing
# on stdout.
expect_fail() {
	expect_status "$1"
	expect_stderr_line "$2"
	expect_stdout_empty
}

USAGE1='usage: bin2dfu [--raw-container] [--pad n] [-d vid:pid] [-r bcddevice]'
USAGE2='               [--sync] -o output [-t alt[:name]] -a address:file ...'
USAGE3='       bin2dfu --plain [--raw-container] [-d vid:pid] [-r bcddevice]'
USAGE4='               [--sync] -o output file'
USAGE5='       bin2dfu -h | -V'

# ---- help, version, usage errors -----------------------------------------

begin "-h prints the usage, then the options, on stdout and exits 0"
run "$BIN2DFU" -h
expect_status 0
expect_stderr_empty
printf '%s\n' "$USAGE1" "$USAGE2" "$USAGE3" "$USAGE4" "$USAGE5" >usage.txt
expect_stdout_usage usage.txt
run "$BIN2DFU" --help
expect_status 0
expect_stdout_usage usage.txt
case_end

begin "the usage equals the SYNOPSIS of bin2dfu(1)"
expect_usage_synopsis "$BIN2DFU" bin2dfu.1
case_end

begin "-V and --version print the library version"
run "$BIN2DFU" -V
expect_status 0
expect_stderr_empty
expect_stdout_line "bin2dfu $VERSION"
[ "$(wc -l <"$OUT")" -eq 1 ] || fail "more than one line"
run "$BIN2DFU" --version
expect_stdout_line "bin2dfu $VERSION"
case_end

begin "an unknown option is a usage error"
mkbin a.bin 16 1
run "$BIN2DFU" -x -a 0:a.bin -o out.dfu
expect_fail 2 "bin2dfu: unknown option: -x"
expect_stderr_line "$USAGE1"
run "$BIN2DFU" --bogus -a 0:a.bin -o out.dfu
expect_fail 2 "bin2dfu: unknown option: --bogus"
expect_stderr_line "$USAGE3"
run "$BIN2DFU" --bogus=1 -a 0:a.bin -o out.dfu
expect_fail 2 "bin2dfu: unknown option: --bogus"
run "$BIN2DFU" --force=yes -a 0:a.bin -o out.dfu
expect_fail 2 "bin2dfu: option takes no argument: --force"
expect_stderr_line "$USAGE1"
run "$BIN2DFU" --p 8 -o out.dfu a.bin
expect_fail 2 "bin2dfu: ambiguous option: --p (--pad, --plain)"
expect_dir_only . a.bin
case_end

begin "an option without its argument is a usage error"
mkbin a.bin 16 2
run "$BIN2DFU" -o out.dfu -a
expect_fail 2 "bin2dfu: option needs an argument: -a"
expect_stderr_line "$USAGE1"
run "$BIN2DFU" -a 0:a.bin -o out.dfu --pad
expect_fail 2 "bin2dfu: option needs an argument: --pad"
run "$BIN2DFU" -o out.dfu --element
expect_fail 2 "bin2dfu: option needs an argument: --element"
expect_dir_only . a.bin
case_end

begin "a missing -o is a usage error"
mkbin a.bin 16 3
run "$BIN2DFU" -a 0x08000000:a.bin
expect_fail 2 "bin2dfu: missing -o output"
expect_stderr_line "$USAGE1"
expect_dir_only . a.bin
case_end

begin "no input is a usage error"
run "$BIN2DFU" -o out.dfu
expect_fail 2 "bin2dfu: no input: give -a address:file"
expect_stderr_line "$USAGE1"
run "$BIN2DFU" -d 0483:df11 -t 0 -o out.dfu
expect_status 2
expect_dir_only .
case_end

begin "a file operand without --plain is a usage error"
mkbin a.bin 16 4
run "$BIN2DFU" -o out.dfu a.bin
expect_fail 2 "bin2dfu: a.bin: unexpected argument; give -a address:file, or --plain"
expect_dir_only . a.bin
case_end

# ---- the DfuSe file written ----------------------------------------------

begin "defaults: one element, alt 0 unnamed target, 0483:df11, bcdDevice ffff"
mkbin a.bin 1000 5
run "$BIN2DFU" -a 0x08000000:a.bin -o out.dfu
expect_status 0
expect_stdout_empty
expect_stderr_empty
expect_dir_only . a.bin out.dfu
[ "$(wc -c <out.dfu)" -eq $((11 + 274 + 8 + 1000 + 16)) ] ||
    fail "size $(wc -c <out.dfu)"
decode dfuse out.dfu .
expect_stdout_line "prefix sig=DfuSe bVersion=1 DFUImageSize=size-16 bTargets=1"
expect_stdout_line "target 0 offset=11 sig=Target alt=0 named=0 name= namepad=zero dwTargetSize=1008 dwNbElements=1"
expect_stdout_line "element 0.0 offset=285 address=0x08000000 size=1000"
expect_stdout_line "end offset=1293 leftover=0"
expect_stdout_line "suffix bcdDevice=0xffff idProduct=0xdf11 idVendor=0x0483 bcdDFU=0x011a sig=UFD bLength=16 crc=ok"
expect_stdout_lacks "error"
expect_same_bytes t0e0.bin a.bin
# The suffix bytes themselves, in file order.
[ "$(tail -c 16 out.dfu | head -c 12 | od -An -tx1 | tr -d ' \n')" = \
    ffff11df83041a0155464410 ] || fail "suffix bytes: $(tail -c 16 out.dfu | od -An -tx1)"
case_end

begin "-d and -r set idVendor, idProduct and bcdDevice"
mkbin a.bin 64 6
run "$BIN2DFU" -d 1209:70B1 -r 0102 -a 0:a.bin -o out.dfu
expect_status 0
expect_stderr_empty
decode dfuse out.dfu
expect_stdout_line "suffix bcdDevice=0x0102 idProduct=0x70b1 idVendor=0x1209 bcdDFU=0x011a sig=UFD bLength=16 crc=ok"
run "$BIN2DFU" --device 0x1d50:0x6017 --release 0x0000 -a 0:a.bin -o out.dfu
expect_status 0
decode dfuse out.dfu
expect_stdout_line "suffix bcdDevice=0x0000 idProduct=0x6017 idVendor=0x1d50 bcdDFU=0x011a sig=UFD bLength=16 crc=ok"
case_end

begin "several targets: alt, name and element addresses at their offsets"
mkbin a.bin 100 7
mkbin b.bin 33 8
mkbin c.bin 16 9
mkbin d.bin 7 10
run "$BIN2DFU" -a 0x08000000:a.bin -a 0x08004000:b.bin \
    -t "1:Option Bytes" -a 0x1fffc000:c.bin -t 3 -a 0:d.bin -o out.dfu
expect_status 0
expect_stderr_empty
# offsets: target 1 = 11 + 274 + (8 + 100) + (8 + 33) = 434;
# target 2 = 434 + 274 + 8 + 16 = 732; end = 732 + 274 + 8 + 7 = 1021.
decode dfuse out.dfu .
expect_stdout_line "prefix sig=DfuSe bVersion=1 DFUImageSize=size-16 bTargets=3"
expect_stdout_line "target 0 offset=11 sig=Target alt=0 named=0 name= namepad=zero dwTargetSize=149 dwNbElements=2"
expect_stdout_line "element 0.0 offset=285 address=0x08000000 size=100"
expect_stdout_line "element 0.1 offset=393 address=0x08004000 size=33"
expect_stdout_line "target 1 offset=434 sig=Target alt=1 named=1 name=Option Bytes namepad=zero dwTargetSize=24 dwNbElements=1"
expect_stdout_line "element 1.0 offset=708 address=0x1fffc000 size=16"
expect_stdout_line "target 2 offset=732 sig=Target alt=3 named=0 name= namepad=zero dwTargetSize=15 dwNbElements=1"
expect_stdout_line "element 2.0 offset=1006 address=0x00000000 size=7"
expect_stdout_line "end offset=1021 leftover=0"
expect_stdout_line "suffix bcdDevice=0xffff idProduct=0xdf11 idVendor=0x0483 bcdDFU=0x011a sig=UFD bLength=16 crc=ok"
expect_stdout_lacks "error"
expect_same_bytes t0e0.bin a.bin
expect_same_bytes t0e1.bin b.bin
expect_same_bytes t1e0.bin c.bin
expect_same_bytes t2e0.bin d.bin
# The same fields read at fixed offsets, not by walking the file.
run python3 -c '
import struct, sys
d = open("out.dfu", "rb").read()
assert d[434:440] == b"Target", d[434:440]
assert d[440] == 1
assert struct.unpack_from("<I", d, 441)[0] == 1
assert d[445:445 + 255] == b"Option Bytes".ljust(255, b"\0")
assert struct.unpack_from("<II", d, 708) == (0x1fffc000, 16)
assert d[732 + 6] == 3 and struct.unpack_from("<I", d, 739)[0] == 0
assert d[743:743 + 255] == bytes(255)
assert struct.unpack_from("<I", d, 6)[0] == len(d) - 16
'
expect_status 0
case_end

begin "elements keep the order of the -a options"
mkbin a.bin 16 11
mkbin b.bin 16 12
run "$BIN2DFU" -a 0x100:b.bin -a 0:a.bin -o out.dfu
expect_status 0
decode dfuse out.dfu
expect_stdout_line "element 0.0 offset=285 address=0x00000100 size=16"
expect_stdout_line "element 0.1 offset=309 address=0x00000000 size=16"
case_end

begin "a file name may contain colons; only the first one separates"
mkdir d
mkbin d/a:b.bin 20 13
run "$BIN2DFU" -a 0x08000000:d/a:b.bin -o out.dfu
expect_status 0
expect_stderr_empty
decode dfuse out.dfu .
expect_stdout_line "element 0.0 offset=285 address=0x08000000 size=20"
expect_same_bytes t0e0.bin d/a:b.bin
case_end

begin "a target name of 254 bytes is written NUL-terminated"
mkbin a.bin 8 14
name=$(printf '%0254d' 0 | tr 0 N)
run "$BIN2DFU" -t "2:$name" -a 0:a.bin -o out.dfu
expect_status 0
expect_stderr_empty
decode dfuse out.dfu
expect_stdout_line "target 0 offset=11 sig=Target alt=2 named=1 name=$name namepad=zero dwTargetSize=16 dwNbElements=1"
case_end

begin "255 targets are accepted"
mkbin a.bin 1 15
set --
i=0
while [ $i -lt 255 ]; do
	set -- "$@" -t $i -a 0:a.bin
	i=$((i + 1))
done
run "$BIN2DFU" "$@" -o out.dfu
expect_status 0
expect_stderr_empty
decode dfuse out.dfu
expect_stdout_line "prefix sig=DfuSe bVersion=1 DFUImageSize=size-16 bTargets=255"
expect_stdout_line "target 254 offset=$((11 + 254 * 283)) sig=Target alt=254 named=0 name= namepad=zero dwTargetSize=9 dwNbElements=1"
case_end

begin "--pad rounds element sizes up with 0xff"
mkbin a.bin 13 16
mkbin b.bin 8 17
mkbin c.bin 1 18
run "$BIN2DFU" --pad 8 -a 0x08000000:a.bin -a 0x08000010:b.bin \
    -t 1 -a 0x1fffc000:c.bin -o out.dfu
expect_status 0
expect_stderr_empty
decode dfuse out.dfu .
expect_stdout_line "target 0 offset=11 sig=Target alt=0 named=0 name= namepad=zero dwTargetSize=40 dwNbElements=2"
expect_stdout_line "element 0.0 offset=285 address=0x08000000 size=16"
expect_stdout_line "element 0.1 offset=309 address=0x08000010 size=8"
expect_stdout_line "element 1.0 offset=599 address=0x1fffc000 size=8"
expect_stdout_line "prefix sig=DfuSe bVersion=1 DFUImageSize=size-16 bTargets=2"
expect_stdout_line "suffix bcdDevice=0xffff idProduct=0xdf11 idVendor=0x0483 bcdDFU=0x011a sig=UFD bLength=16 crc=ok"
expect_stdout_lacks "error"
mkfill a.want a.bin 3
mkfill c.want c.bin 7
expect_same_bytes t0e0.bin a.want
expect_same_bytes t0e1.bin b.bin
expect_same_bytes t1e0.bin c.want
run "$BIN2DFU" --pad 32 -a 0:a.bin -o out32.dfu
expect_status 0
decode dfuse out32.dfu
expect_stdout_line "element 0.0 offset=285 address=0x00000000 size=32"
case_end

begin "--pad 1 changes nothing"
mkbin a.bin 13 19
run "$BIN2DFU" --pad 1 -a 0:a.bin -o pad.dfu
expect_status 0
run "$BIN2DFU" -a 0:a.bin -o nopad.dfu
expect_same_bytes pad.dfu nopad.dfu
case_end

begin "--pad 0 or not a number is a usage error"
mkbin a.bin 13 20
run "$BIN2DFU" --pad 0 -a 0:a.bin -o out.dfu
expect_fail 2 "bin2dfu: --pad 0: not a number from 1 to 4294967295"
run "$BIN2DFU" --pad eight -a 0:a.bin -o out.dfu
expect_fail 2 "bin2dfu: --pad eight: not a number from 1 to 4294967295"
expect_dir_only . a.bin
case_end

begin "padding that makes elements overlap is refused"
mkbin a.bin 13 21
mkbin b.bin 4 22
run "$BIN2DFU" -a 0:a.bin -a 0xe:b.bin -o ok.dfu
expect_status 0
run "$BIN2DFU" --pad 8 -a 0:a.bin -a 0xe:b.bin -o out.dfu
expect_fail 1 "bin2dfu: b.bin: 0x0000000e-0x00000015 overlaps a.bin at 0x00000000-0x0000000f (sizes padded by --pad)"
expect_dir_only . a.bin b.bin ok.dfu
case_end

# ---- --plain ---------------------------------------------------------------

begin "--plain writes the payload and a suffix that matches any device"
mkbin a.bin 777 23
run "$BIN2DFU" --plain -o out.dfu a.bin
expect_status 0
expect_stdout_empty
expect_stderr_empty
expect_dir_only . a.bin out.dfu
[ "$(wc -c <out.dfu)" -eq $((777 + 16)) ] || fail "size $(wc -c <out.dfu)"
decode plain out.dfu payload.bin
expect_stdout_line "payload size=777"
expect_stdout_line "suffix bcdDevice=0xffff idProduct=0xffff idVendor=0xffff bcdDFU=0x0100 sig=UFD bLength=16 crc=ok"
expect_same_bytes payload.bin a.bin
# The exact suffix, built here from its definition.
python3 -c '
import struct, sys, zlib
d = open("a.bin", "rb").read() + struct.pack("<4H3sB", 0xffff, 0xffff, 0xffff,
    0x0100, b"UFD", 16)
sys.stdout.buffer.write(d + struct.pack("<I", ~zlib.crc32(d) & 0xffffffff))
' >want.dfu
expect_same_bytes out.dfu want.dfu
case_end

begin "--plain with -d and -r"
mkbin a.bin 50 24
run "$BIN2DFU" --plain -d 1c11:b007 -r 0102 -o out.dfu a.bin
expect_status 0
expect_stderr_empty
decode plain out.dfu
expect_stdout_line "suffix bcdDevice=0x0102 idProduct=0xb007 idVendor=0x1c11 bcdDFU=0x0100 sig=UFD bLength=16 crc=ok"
case_end

begin "--plain refuses -a, -t and --pad"
mkbin a.bin 50 25
run "$BIN2DFU" --plain -a 0:a.bin -o out.dfu a.bin
expect_fail 2 "bin2dfu: -a cannot be used with --plain"
expect_stderr_line "$USAGE3"
run "$BIN2DFU" -t 1 --plain -o out.dfu a.bin
expect_fail 2 "bin2dfu: -t cannot be used with --plain"
run "$BIN2DFU" --plain --pad 8 -o out.dfu a.bin
expect_fail 2 "bin2dfu: --pad cannot be used with --plain"
expect_dir_only . a.bin
case_end

begin "--plain needs exactly one file"
mkbin a.bin 50 26
run "$BIN2DFU" --plain -o out.dfu
expect_fail 2 "bin2dfu: no input: --plain needs a file"
run "$BIN2DFU" --plain -o out.dfu a.bin a.bin
expect_fail 2 "bin2dfu: a.bin: --plain takes exactly one file"
expect_dir_only . a.bin
case_end

begin "--plain refuses an input that already has a suffix, unless --force"
mkbin a.bin 50 27
run "$BIN2DFU" --plain -o p.dfu a.bin
expect_status 0
run "$BIN2DFU" --plain -o out.dfu p.dfu
expect_fail 1 "bin2dfu: p.dfu: already has a DFU suffix; --raw-container adds it as data"
expect_dir_only . a.bin p.dfu
run "$BIN2DFU" --plain --force -o out.dfu p.dfu
expect_status 0
decode plain out.dfu payload.bin
expect_same_bytes payload.bin p.dfu
case_end

# ---- inputs and outputs ------------------------------------------------------

begin "output is deterministic"
mkbin a.bin 3000 28
mkbin b.bin 17 29
run "$BIN2DFU" --pad 8 -a 0x08000000:a.bin -t "1:x" -a 0x1fffc000:b.bin \
    -o one.dfu
expect_status 0
touch -d '2001-01-01' a.bin b.bin
run "$BIN2DFU" --pad 8 -a 0x08000000:a.bin -t "1:x" -a 0x1fffc000:b.bin \
    -o two.dfu
expect_status 0
expect_same_bytes one.dfu two.dfu
case_end

begin "-o - writes to stdout"
mkbin a.bin 500 30
run "$BIN2DFU" -a 0x08000000:a.bin -o file.dfu
run "$BIN2DFU" -a 0x08000000:a.bin -o -
expect_status 0
expect_stderr_empty
expect_stdout_file file.dfu
expect_dir_only . a.bin file.dfu
case_end

begin "- reads stdin, from a file or from a pipe"
mkbin a.bin 5000 31
mkbin b.bin 10 32
run "$BIN2DFU" -a 0x08000000:a.bin -a 0x08010000:b.bin -o file.dfu
run_stdin a.bin "$BIN2DFU" -a 0x08000000:- -a 0x08010000:b.bin -o in.dfu
expect_status 0
expect_stderr_empty
expect_same_bytes in.dfu file.dfu
run sh -c 'cat a.bin | "$0" -a 0x08000000:- -a 0x08010000:b.bin -o pipe.dfu' \
    "$BIN2DFU"
expect_status 0
expect_stderr_empty
expect_same_bytes pipe.dfu file.dfu
run sh -c 'cat a.bin | "$0" --plain -o plain.dfu -' "$BIN2DFU"
expect_status 0
decode plain plain.dfu payload.bin
expect_same_bytes payload.bin a.bin
case_end

begin "stdin can be an input only once"
mkbin a.bin 10 33
run_stdin a.bin "$BIN2DFU" -a 0:- -a 0x100:- -o out.dfu
expect_fail 2 "bin2dfu: -a 0x100:-: standard input can be read only once"
expect_dir_only . a.bin
case_end

begin "an empty input is refused"
: >empty.bin
mkbin a.bin 10 34
run "$BIN2DFU" -a 0:a.bin -a 0x100:empty.bin -o out.dfu
expect_fail 1 "bin2dfu: empty.bin: empty file"
run_stdin empty.bin "$BIN2DFU" -a 0:- -o out.dfu
expect_fail 1 "bin2dfu: (stdin): empty file"
run "$BIN2DFU" --plain -o out.dfu empty.bin
expect_fail 1 "bin2dfu: empty.bin: empty file"
expect_dir_only . a.bin empty.bin
case_end

begin "an unreadable input is refused"
mkbin a.bin 10 35
mkdir adir
run "$BIN2DFU" -a 0:a.bin -a 0x100:missing.bin -o out.dfu
expect_fail 1 "bin2dfu: missing.bin: No such file or directory"
run "$BIN2DFU" -a 0:adir -o out.dfu
expect_fail 1 "bin2dfu: adir: is a directory"
expect_dir_only . a.bin adir
case_end

begin "malformed -a arguments are usage errors"
mkbin x 10 36
run "$BIN2DFU" -a 0xZZ:x -o out.dfu
expect_fail 2 "bin2dfu: -a 0xZZ:x: address is not a 32-bit number"
run "$BIN2DFU" -a 0x100000000:x -o out.dfu
expect_fail 2 "bin2dfu: -a 0x100000000:x: address is not a 32-bit number"
run "$BIN2DFU" -a 4294967296:x -o out.dfu
expect_fail 2 "bin2dfu: -a 4294967296:x: address is not a 32-bit number"
run "$BIN2DFU" -a 0x:x -o out.dfu
expect_fail 2 "bin2dfu: -a 0x:x: address is not a 32-bit number"
run "$BIN2DFU" -a :x -o out.dfu
expect_fail 2 "bin2dfu: -a :x: missing address before ':'"
run "$BIN2DFU" -a 0x08000000 -o out.dfu
expect_fail 2 "bin2dfu: -a 0x08000000: expected address:file"
run "$BIN2DFU" -a 0x08000000: -o out.dfu
expect_fail 2 "bin2dfu: -a 0x08000000:: missing file after ':'"
expect_dir_only . x
case_end

begin "an address with a leading zero is a usage error, never guessed"
mkbin x 10 37
run "$BIN2DFU" -a 08000000:x -o out.dfu
expect_fail 2 "bin2dfu: -a 08000000:x: 08000000 has a leading zero, which could mean octal, decimal or hexadecimal: write 0x08000000 for hexadecimal or 8000000 for decimal"
run "$BIN2DFU" -a 00:x -o out.dfu
expect_fail 2 "bin2dfu: -a 00:x: 00 has a leading zero, which could mean octal, decimal or hexadecimal: write 0x00 for hexadecimal or 0 for decimal"
run "$BIN2DFU" -t 01 -a 0x08000000:x -o out.dfu
expect_fail 2 "bin2dfu: -t 01: 01 has a leading zero, which could mean octal, decimal or hexadecimal: write 0x01 for hexadecimal or 1 for decimal"
run "$BIN2DFU" --pad 08 -a 0x08000000:x -o out.dfu
expect_fail 2 "bin2dfu: --pad 08: 08 has a leading zero, which could mean octal, decimal or hexadecimal: write 0x08 for hexadecimal or 8 for decimal"
expect_dir_only . x
run "$BIN2DFU" -a 0:x -o zero.dfu
expect_status 0
expect_stderr_empty
run "$BIN2DFU" -a 0x08000000:x -o hex.dfu
expect_status 0
decode dfuse hex.dfu
expect_stdout_line "element 0.0 offset=285 address=0x08000000 size=10"
run "$BIN2DFU" -a 4294967295:x -o max.dfu
expect_status 1
expect_stderr_line "bin2dfu: x: 0xffffffff-0x100000008 runs past the end of the 32-bit address space"
case_end

begin "overlapping elements are refused, naming both inputs and ranges"
mkbin a.bin 1024 38
mkbin b.bin 256 39
run "$BIN2DFU" -a 0x08000000:a.bin -a 0x08000200:b.bin -o out.dfu
expect_fail 1 "bin2dfu: b.bin: 0x08000200-0x080002ff overlaps a.bin at 0x08000000-0x080003ff"
run "$BIN2DFU" -a 0x08000200:b.bin -a 0x08000000:a.bin -o out.dfu
expect_fail 1 "bin2dfu: a.bin: 0x08000000-0x080003ff overlaps b.bin at 0x08000200-0x080002ff"
run "$BIN2DFU" -a 0x08000000:a.bin -a 0x08000000:b.bin -o out.dfu
expect_fail 1 "bin2dfu: b.bin: 0x08000000-0x080000ff overlaps a.bin at 0x08000000-0x080003ff"
# Two targets for one alt go to one memory: the same rule across them.
run "$BIN2DFU" -t 0 -a 0x08000000:a.bin -t 1 -a 0x20000000:a.bin -t 0 -a 0x08000200:b.bin -o out.dfu
expect_fail 1 "bin2dfu: b.bin: 0x08000200-0x080002ff overlaps a.bin at 0x08000000-0x080003ff"
expect_dir_only . a.bin b.bin
run "$BIN2DFU" -t 0 -a 0x08000000:a.bin -t 0 -a 0x08000400:b.bin -o out.dfu
expect_status 0
expect_stderr_empty
case_end

begin "adjacent elements, and the same range in two targets, are fine"
mkbin a.bin 1024 40
mkbin b.bin 256 41
run "$BIN2DFU" -a 0x08000000:a.bin -a 0x08000400:b.bin -o adj.dfu
expect_status 0
expect_stderr_empty
run "$BIN2DFU" -a 0x08000000:a.bin -t 1 -a 0x08000000:b.bin -o two.dfu
expect_status 0
expect_stderr_empty
case_end

begin "an element past the 32-bit address space is refused"
mkbin a.bin 256 42
run "$BIN2DFU" -a 0xffffff80:a.bin -o out.dfu
expect_fail 1 "bin2dfu: a.bin: 0xffffff80-0x10000007f runs past the end of the 32-bit address space"
expect_dir_only . a.bin
run "$BIN2DFU" -a 0xffffff00:a.bin -o out.dfu
expect_status 0
decode dfuse out.dfu
expect_stdout_line "element 0.0 offset=285 address=0xffffff00 size=256"
run "$BIN2DFU" --pad 512 -a 0xffffff00:a.bin -o pad.dfu
expect_fail 1 "bin2dfu: a.bin: 0xffffff00-0x1000000ff runs past the end of the 32-bit address space"
case_end

begin "an input of 4 GiB or more is refused"
if truncate -s 4294967296 huge.bin 2>/dev/null; then
	run "$BIN2DFU" -a 0:huge.bin -o out.dfu
	expect_fail 1 "bin2dfu: huge.bin: 4294967296 bytes, larger than an element can hold (4 GiB - 1)"
	expect_dir_only . huge.bin
else
	skip_case "cannot make a sparse 4 GiB file here"
fi
rm -f huge.bin
case_end

begin "more than 255 targets is a usage error"
mkbin a.bin 1 43
set -- -a 0:a.bin
i=1
while [ $i -le 255 ]; do
	set -- "$@" -t $i -a 0:a.bin
	i=$((i + 1))
done
run "$BIN2DFU" "$@" -o out.dfu
expect_fail 2 "bin2dfu: -t 255: more than 255 targets"
expect_dir_only . a.bin
case_end

begin "a target name over 254 bytes is a usage error"
mkbin a.bin 1 44
name=$(printf '%0255d' 0 | tr 0 N)
run "$BIN2DFU" -t "1:$name" -a 0:a.bin -o out.dfu
expect_fail 2 "bin2dfu: -t 1: target name is 255 bytes, longer than 254"
run "$BIN2DFU" -t "1:" -a 0:a.bin -o out.dfu
expect_fail 2 "bin2dfu: -t 1:: empty target name"
expect_dir_only . a.bin
case_end

begin "an alternate setting outside 0..255 is a usage error"
mkbin a.bin 1 45
run "$BIN2DFU" -t 256 -a 0:a.bin -o out.dfu
expect_fail 2 "bin2dfu: -t 256: alternate setting is not a number from 0 to 255"
run "$BIN2DFU" -t x:flash -a 0:a.bin -o out.dfu
expect_fail 2 "bin2dfu: -t x:flash: alternate setting is not a number from 0 to 255"
run "$BIN2DFU" -t :flash -a 0:a.bin -o out.dfu
expect_fail 2 "bin2dfu: -t :flash: alternate setting is not a number from 0 to 255"
run "$BIN2DFU" -t 0x1 -a 0:a.bin -o out.dfu
expect_status 0
decode dfuse out.dfu
expect_stdout_line "target 0 offset=11 sig=Target alt=1 named=0 name= namepad=zero dwTargetSize=9 dwNbElements=1"
case_end

begin "a target without elements is a usage error"
mkbin a.bin 1 46
run "$BIN2DFU" -t 1 -a 0:a.bin -t 2 -o out.dfu
expect_fail 2 "bin2dfu: -t 2: empty target: no -a follows it"
run "$BIN2DFU" -t 1:flash -t 2 -a 0:a.bin -o out.dfu
expect_fail 2 "bin2dfu: -t 1:flash: empty target: no -a follows it"
expect_dir_only . a.bin
case_end

begin "a bad -d or -r is a usage error"
mkbin a.bin 1 47
run "$BIN2DFU" -d 0483 -a 0:a.bin -o out.dfu
expect_fail 2 "bin2dfu: -d 0483: expected vid:pid, two hexadecimal numbers up to ffff"
run "$BIN2DFU" -d 10000:df11 -a 0:a.bin -o out.dfu
expect_fail 2 "bin2dfu: -d 10000:df11: expected vid:pid, two hexadecimal numbers up to ffff"
run "$BIN2DFU" -d 0483:xyz -a 0:a.bin -o out.dfu
expect_fail 2 "bin2dfu: -d 0483:xyz: expected vid:pid, two hexadecimal numbers up to ffff"
run "$BIN2DFU" -r 10000 -a 0:a.bin -o out.dfu
expect_fail 2 "bin2dfu: -r 10000: bcdDevice is not a hexadecimal number up to ffff"
run "$BIN2DFU" --plain -r g -o out.dfu a.bin
expect_fail 2 "bin2dfu: -r g: bcdDevice is not a hexadecimal number up to ffff"
expect_dir_only . a.bin
case_end

begin "an input with a DFU suffix is refused unless --force"
mkbin a.bin 100 48
python3 -c '
import struct, sys, zlib
d = open("a.bin", "rb").read() + struct.pack("<4H3sB", 0x0200, 0x1234, 0x5678,
    0x0110, b"UFD", 16)
sys.stdout.buffer.write(d + struct.pack("<I", ~zlib.crc32(d) & 0xffffffff))
' >suffixed.bin
run "$BIN2DFU" -a 0x08000000:suffixed.bin -o out.dfu
expect_fail 1 "bin2dfu: suffixed.bin: already has a DFU suffix; --raw-container adds it as data"
expect_dir_only . a.bin suffixed.bin
run "$BIN2DFU" --force -a 0x08000000:suffixed.bin -o out.dfu
expect_status 0
expect_stderr_empty
decode dfuse out.dfu .
expect_same_bytes t0e0.bin suffixed.bin
case_end

begin "a UFD signature with a wrong CRC is only data"
mkbin a.bin 100 49
python3 -c '
import struct, sys, zlib
d = open("a.bin", "rb").read() + struct.pack("<4H3sB", 0x0200, 0x1234, 0x5678,
    0x0110, b"UFD", 16)
sys.stdout.buffer.write(d + struct.pack("<I", zlib.crc32(d)))
' >ufd.bin
run "$BIN2DFU" -a 0x08000000:ufd.bin -o out.dfu
expect_status 0
expect_stderr_empty
case_end

begin "a DfuSe input is refused unless --force"
mkbin a.bin 100 50
run "$BIN2DFU" -a 0x08000000:a.bin -o in.dfu
{ printf 'DfuSe'; cat a.bin; } >nosuffix.dfu
run "$BIN2DFU" -a 0x08000000:in.dfu -o out.dfu
expect_fail 1 "bin2dfu: in.dfu: is already a DfuSe file; --raw-container adds it as data"
run "$BIN2DFU" -a 0x08000000:nosuffix.dfu -o out.dfu
expect_fail 1 "bin2dfu: nosuffix.dfu: is already a DfuSe file; --raw-container adds it as data"
run "$BIN2DFU" --plain -o out.dfu in.dfu
expect_fail 1 "bin2dfu: in.dfu: is already a DfuSe file; --raw-container adds it as data"
expect_dir_only . a.bin in.dfu nosuffix.dfu
run "$BIN2DFU" --force -a 0x08000000:in.dfu -o out.dfu
expect_status 0
expect_stderr_empty
decode dfuse out.dfu .
expect_same_bytes t0e0.bin in.dfu
case_end

begin "ELF, Intel HEX and S-record inputs are refused unless --raw-container"
cp "$FIXTURES/elf/lma.elf" fw.elf
mkbin a.bin 16 51
python3 -c '
def rec(b): return ":%s%02X\n" % (b.hex().upper(), -sum(b) & 0xff)
def srec(b): return "S1%s%02X\n" % (b.hex().upper(), ~sum(b) & 0xff)
d = bytes(range(16))
open("fw.hex", "w").write(rec(bytes([16, 0, 0, 0]) + d) + rec(bytes([0, 0, 0, 1])))
open("fw.srec", "w").write(srec(bytes([19, 0, 0]) + d) + "S9030000FC\n")
# Binary data that starts with a colon or with S1, but no whole record.
open("colon.bin", "wb").write(b":10000000" + bytes(range(100)))
open("s1.bin", "wb").write(b"S113" + bytes(range(100)))
'
run "$BIN2DFU" -a 0x08000000:fw.elf -o out.dfu
expect_fail 1 "bin2dfu: fw.elf: an ELF file, not raw data: convert it with 'elf2dfu -o out.dfu fw.elf'; --raw-container adds it as data"
run "$BIN2DFU" -a 0x08000000:a.bin -a 0x08010000:fw.hex -o out.dfu
expect_fail 1 "bin2dfu: fw.hex: an Intel HEX file, not raw data: convert it with 'hex2dfu -o out.dfu fw.hex'; --raw-container adds it as data"
run "$BIN2DFU" --plain -o - fw.srec
expect_fail 1 "bin2dfu: fw.srec: an S-record file, not raw data: convert it with 'hex2dfu -o - fw.srec'; --raw-container adds it as data"
run_stdin fw.elf "$BIN2DFU" -a 0:- -o out.dfu
expect_fail 1 "bin2dfu: (stdin): an ELF file, not raw data: convert it with 'elf2dfu -o out.dfu -'; --raw-container adds it as data"
expect_dir_only . a.bin fw.elf fw.hex fw.srec colon.bin s1.bin
for f in fw.elf fw.hex fw.srec; do
	run "$BIN2DFU" --raw-container -a 0x08000000:$f -o out.dfu
	expect_status 0
	expect_stderr_empty
	decode dfuse out.dfu .
	expect_same_bytes t0e0.bin $f
done
run "$BIN2DFU" --force -a 0x08000000:fw.hex -o out.dfu
expect_status 0
for f in colon.bin s1.bin; do
	run "$BIN2DFU" -a 0x08000000:$f -o out.dfu
	expect_status 0
	expect_stderr_empty
done
case_end

begin "writing over an input is refused and the input is left alone"
mkbin a.bin 100 52
mkbin b.bin 100 53
cp a.bin a.orig
ln b.bin b.link
run "$BIN2DFU" -a 0:a.bin -o a.bin
expect_fail 1 "bin2dfu: a.bin: output is also the input a.bin; refusing to overwrite it"
expect_same_bytes a.bin a.orig
run "$BIN2DFU" -a 0:a.bin -a 0x100:b.bin -o ./b.link
expect_fail 1 "bin2dfu: ./b.link: output is also the input b.bin; refusing to overwrite it"
expect_same_bytes b.bin b.link
run "$BIN2DFU" --plain -o "$TMP/a.bin" a.bin
expect_fail 1 "bin2dfu: $TMP/a.bin: output is also the input a.bin; refusing to overwrite it"
expect_same_bytes a.bin a.orig
run_stdin a.bin "$BIN2DFU" -a 0:- -o a.bin
expect_fail 1 "bin2dfu: a.bin: output is also the input (stdin); refusing to overwrite it"
expect_same_bytes a.bin a.orig
run sh -c '"$0" -a 0:a.bin -o - >>a.bin' "$BIN2DFU"
expect_status 1
expect_stderr_line "bin2dfu: (stdout): output is also the input a.bin; refusing to overwrite it"
expect_same_bytes a.bin a.orig
expect_dir_only . a.bin a.orig b.bin b.link
case_end

begin "an existing output is replaced on success, by a rename"
mkbin a.bin 100 54
echo old >out.dfu
ln out.dfu old.link
run "$BIN2DFU" -a 0:a.bin -o out.dfu
expect_status 0
decode dfuse out.dfu
expect_stdout_line "element 0.0 offset=285 address=0x00000000 size=100"
# The old inode was not written to: out.dfu is a new file.
[ "$(cat old.link)" = old ] || fail "old output was modified in place"
expect_dir_only . a.bin old.link out.dfu
case_end

begin "on failure an existing output is left unchanged"
mkbin a.bin 100 55
mkbin b.bin 100 56
echo old >out.dfu
cp out.dfu out.orig
run "$BIN2DFU" -a 0:a.bin -a 0x10:b.bin -o out.dfu
expect_status 1
expect_same_bytes out.dfu out.orig
run "$BIN2DFU" -a 0:a.bin -a 0x100:missing.bin -o out.dfu
expect_status 1
expect_same_bytes out.dfu out.orig
expect_dir_only . a.bin b.bin out.dfu out.orig
case_end

begin "a failed write leaves no output, no temporary file, the old output"
mkbin big.bin 65536 57
echo old >out.dfu
cp out.dfu out.orig
# Limit file size to 8 blocks and ignore SIGXFSZ, so write() fails (EFBIG).
run sh -c 'trap "" XFSZ; ulimit -f 8 && exec "$0" "$@"' "$BIN2DFU" \
    -a 0:big.bin -o out.dfu
expect_status 1
expect_stdout_empty
expect_stderr_contains "bin2dfu: out.dfu: "
expect_stderr_contains "File too large"
expect_same_bytes out.dfu out.orig
run sh -c 'trap "" XFSZ; ulimit -f 8 && exec "$0" "$@"' "$BIN2DFU" \
    -a 0:big.bin -o new.dfu
expect_status 1
expect_dir_only . big.bin out.dfu out.orig
case_end

begin "a write error on stdout is reported"
if [ -w /dev/full ]; then
	mkbin a.bin 100 58
	run sh -c '"$0" -a 0:a.bin -o - >/dev/full' "$BIN2DFU"
	expect_status 1
	expect_stderr_contains "bin2dfu: (stdout): "
	expect_stderr_contains "No space left on device"
else
	skip_case "no /dev/full"
fi
case_end

begin "an output directory that does not exist is an error"
mkbin a.bin 100 59
run "$BIN2DFU" -a 0:a.bin -o nodir/out.dfu
expect_fail 1 "bin2dfu: nodir/out.dfu: cannot create output: No such file or directory"
expect_dir_only . a.bin
case_end

begin "a FIFO as output is written to, not replaced"
mkbin a.bin 3000 60
run "$BIN2DFU" -a 0:a.bin -o want.dfu
mkfifo fifo
timeout 20 cat fifo >got.dfu &
run timeout 20 "$BIN2DFU" -a 0:a.bin -o fifo
wait
expect_status 0
expect_stderr_empty
[ -p fifo ] || fail "fifo was replaced"
expect_same_bytes got.dfu want.dfu
expect_dir_only . a.bin fifo got.dfu want.dfu
case_end

begin "round trip: random images in, the same bytes out"
set --
i=0
for size in 1 2 3 255 256 4097 65536 100003; do
	mkbin in$i.bin $size $((100 + i))
	i=$((i + 1))
done
run "$BIN2DFU" -d 0483:df11 \
    -a 0x08000000:in0.bin -a 0x08000010:in1.bin -a 0x08000020:in2.bin \
    -a 0x08001000:in3.bin -a 0x08002000:in4.bin \
    -t "1:Second" -a 0x20000000:in5.bin -a 0x20010000:in6.bin \
    -t 2 -a 0x90000000:in7.bin -o out.dfu
expect_status 0
expect_stderr_empty
mkdir x
decode dfuse out.dfu x
expect_stdout_lacks "error"
expect_stdout_line "end offset=$(($(wc -c <out.dfu) - 16)) leftover=0"
expect_stdout_line "suffix bcdDevice=0xffff idProduct=0xdf11 idVendor=0x0483 bcdDFU=0x011a sig=UFD bLength=16 crc=ok"
expect_same_bytes x/t0e0.bin in0.bin
expect_same_bytes x/t0e1.bin in1.bin
expect_same_bytes x/t0e2.bin in2.bin
expect_same_bytes x/t0e3.bin in3.bin
expect_same_bytes x/t0e4.bin in4.bin
expect_same_bytes x/t1e0.bin in5.bin
expect_same_bytes x/t1e1.bin in6.bin
expect_same_bytes x/t2e0.bin in7.bin
[ "$(ls x | wc -l)" -eq 8 ] || fail "extracted $(ls x | wc -l) elements"
case_end

begin "memory stays small for a large input"
if truncate -s 128M big.bin 2>/dev/null && [ -x /usr/bin/time ]; then
	run /usr/bin/time -f '%M' -o rss.txt "$BIN2DFU" -a 0x08000000:big.bin \
	    -o out.dfu
	expect_status 0
	[ "$(wc -c <out.dfu)" -eq $((134217728 + 11 + 274 + 8 + 16)) ] ||
	    fail "size $(wc -c <out.dfu)"
	rss=$(tail -n 1 rss.txt)
	[ "$rss" -lt 32768 ] || fail "peak RSS ${rss} KiB for a 128 MiB input"
	rm -f out.dfu
else
	skip_case "no sparse files or no /usr/bin/time (Debian package time)"
fi
rm -f big.bin
case_end

begin "examples/blinky-f411.bin is what examples/README.md says"
cmd=$(sed -n '/^python3 -c /p' "$ROOT/examples/README.md")
[ -n "$cmd" ] || fail "no python3 command in examples/README.md"
mkdir examples
sh -c "$cmd"
expect_same_bytes examples/blinky-f411.bin "$ROOT/examples/blinky-f411.bin"
run "$BIN2DFU" -a "0x08000000:$ROOT/examples/blinky-f411.bin" -o blinky.dfu
expect_status 0
decode dfuse blinky.dfu
expect_stdout_line "element 0.0 offset=285 address=0x08000000 size=4096"
case_end

finish
