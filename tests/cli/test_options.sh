#!/bin/sh
# CLI tests of the options bin2dfu, elf2dfu and hex2dfu share (frontend/cli.c:
# -d, -r, --pad, -o, -t, -h, -V, unknown options and missing arguments): the
# same mistake gives the same message and exit status in all three, with
# only the program name changed, and the same good values give the same
# DfuSe file.  The messages of each tool alone are in test_<tool>.sh.
. "$(dirname "$0")/lib.sh"

ELF2DFU=$BUILD/bin/elf2dfu
HEX2DFU=$BUILD/bin/hex2dfu
CHECK="python3 $ROOT/tests/cli/image_check.py"
ELF=$FIXTURES/elf/two_regions.elf

begin() {
	case_begin "$1"
	cd "$TMP" || exit 1
}

# inputs: a.bin, fw.hex (the same 16 bytes at 0x08000000) in the case's
# directory, for the "rest of a valid command line" of each tool.
inputs() {
	printf '0123456789abcdef' >a.bin
	python3 -c '
import sys
b = bytes([16, 0, 0, 0]) + b"0123456789abcdef"
ext = bytes([2, 0, 0, 4, 0x08, 0x00])
with open("fw.hex", "w") as f:
    for r in (ext, b, bytes([0, 0, 0, 1])):
        f.write(":%s%02X\n" % (r.hex().upper(), -sum(r) & 0xff))
'
}

# same STATUS MESSAGE OPTION...: each tool, given OPTION... and otherwise
# a valid command line, exits STATUS with "tool: MESSAGE" as the first
# line of stderr, nothing on stdout, and no output file.
same() {
	_status=$1
	_msg=$2
	shift 2
	for _t in bin2dfu elf2dfu hex2dfu; do
		case $_t in
		bin2dfu) run "$BIN2DFU" "$@" -a 0x08000000:a.bin -o out.dfu ;;
		elf2dfu) run "$ELF2DFU" "$@" -o out.dfu "$ELF" ;;
		hex2dfu) run "$HEX2DFU" "$@" -o out.dfu fw.hex ;;
		esac
		expect_status "$_status"
		expect_stdout_empty
		_first=$(head -n 1 "$ERR")
		[ "$_first" = "$_t: $_msg" ] ||
		    fail "$_t $*: \"$_first\", expected \"$_t: $_msg\""
		expect_no_file out.dfu
	done
}

begin "a bad -d gives the same message in every tool"
inputs
for v in 0483 10000:df11 0483:xyz :df11 0483: 0x:1 ''; do
	same 2 "-d $v: expected vid:pid, two hexadecimal numbers up to ffff" \
	    -d "$v"
done
same 2 "-d 0483: expected vid:pid, two hexadecimal numbers up to ffff" \
    --device 0483
same 2 "-d 0483: expected vid:pid, two hexadecimal numbers up to ffff" \
    --device=0483
case_end

begin "a bad -r gives the same message in every tool"
inputs
for v in 10000 g 0x '' -1; do
	same 2 "-r $v: bcdDevice is not a hexadecimal number up to ffff" \
	    -r "$v"
done
same 2 "-r 1ffff: bcdDevice is not a hexadecimal number up to ffff" \
    --release 1ffff
case_end

begin "a bad --pad gives the same message in every tool"
inputs
for v in 0 eight 4294967296 0x 010x -8 ''; do
	same 2 "--pad $v: not a number from 1 to 4294967295" --pad "$v"
done
same 2 "--pad 0: not a number from 1 to 4294967295" --pad=0
case_end

begin "a bad -t gives the same message in every tool"
inputs
for v in 256 x x:flash :flash -1 0x100 ''; do
	same 2 "-t $v: alternate setting is not a number from 0 to 255" -t "$v"
done
same 2 "-t 1:: empty target name" -t 1:
same 2 "-t 3:: empty target name" --target 3:
name=$(printf '%0255d' 0 | tr 0 N)
same 2 "-t 7: target name is 255 bytes, longer than 254" -t "7:$name"
case_end

begin "a number with a leading zero is a usage error in every tool"
inputs
lz="has a leading zero, which could mean octal, decimal or hexadecimal"
same 2 "--pad 08: 08 $lz: write 0x08 for hexadecimal or 8 for decimal" \
    --pad 08
same 2 "--pad 010: 010 $lz: write 0x010 for hexadecimal or 10 for decimal" \
    --pad=010
same 2 "-t 01:flash: 01 $lz: write 0x01 for hexadecimal or 1 for decimal" \
    -t 01:flash
same 2 "-t 00: 00 $lz: write 0x00 for hexadecimal or 0 for decimal" -t 00
case_end

begin "more than 255 targets gives the same message in every tool"
inputs
set --
i=0
while [ $i -le 255 ]; do
	set -- "$@" -t $i
	i=$((i + 1))
done
same 2 "-t 255: more than 255 targets" "$@"
case_end

begin "the first bad option is the one named, in every tool"
inputs
same 2 "-r zz: bcdDevice is not a hexadecimal number up to ffff" \
    -d 1209:70b1 -r zz --pad 0
same 2 "--pad 0: not a number from 1 to 4294967295" --pad 0 -r zz
case_end

begin "unknown options and missing arguments: same message, then the usage"
inputs
for t in bin2dfu elf2dfu hex2dfu; do
	eval "tool=\$$(echo "$t" | tr a-z A-Z)"
	for args in "-x" "--bogus" "--bogus=1" "--pad" "-d" "--device" "-o" \
	    "--target" "--help=1" "--version=yes"; do
		# shellcheck disable=SC2086
		run "$tool" -o out.dfu $args
		expect_status 2
		expect_stdout_empty
		expect_stderr_contains "usage: $t "
		head -n 1 "$ERR" | sed "s/^$t: //" >"$t.msg"
		echo "$args" >>"$t.msg"
		cat "$t.msg" >>"all.$t"
	done
done
cmp -s all.bin2dfu all.elf2dfu || fail "bin2dfu and elf2dfu differ: $(diff all.bin2dfu all.elf2dfu | tr '\n' ' ')"
cmp -s all.bin2dfu all.hex2dfu || fail "bin2dfu and hex2dfu differ: $(diff all.bin2dfu all.hex2dfu | tr '\n' ' ')"
# And what they are: the option as written, without its value.
printf '%s\n' "unknown option: -x" -x "unknown option: --bogus" --bogus \
    "unknown option: --bogus" --bogus=1 \
    "option needs an argument: --pad" --pad \
    "option needs an argument: -d" -d \
    "option needs an argument: --device" --device \
    "option needs an argument: -o" -o \
    "option needs an argument: --target" --target \
    "option takes no argument: --help" --help=1 \
    "option takes no argument: --version" --version=yes >want
cmp -s want all.bin2dfu || fail "messages: $(cat all.bin2dfu | tr '\n' '|')"
expect_dir_only . a.bin fw.hex all.bin2dfu all.elf2dfu all.hex2dfu \
    bin2dfu.msg elf2dfu.msg hex2dfu.msg want
case_end

begin "an abbreviation of two long options is named ambiguous"
inputs
run "$BIN2DFU" --p 8 -a 0:a.bin -o out.dfu
expect_status 2
expect_stderr_line "bin2dfu: ambiguous option: --p (--pad, --plain)"
run "$ELF2DFU" --r 1 -o out.dfu "$ELF"
expect_status 2
expect_stderr_line "elf2dfu: ambiguous option: --r (--release, --range, --remove-section)"
run "$HEX2DFU" --r 1 -o out.dfu fw.hex
expect_status 2
expect_stderr_line "hex2dfu: ambiguous option: --r (--release, --range)"
# A unique abbreviation is the option.
run "$BIN2DFU" --vers
expect_status 0
expect_stdout_contains "bin2dfu "
case_end

begin "a missing or empty -o gives the same message in every tool"
inputs
same 2 "-o: empty file name" -o ''
run "$BIN2DFU" -a 0x08000000:a.bin
expect_status 2
expect_stderr_line "bin2dfu: missing -o output"
run "$ELF2DFU" "$ELF"
expect_status 2
expect_stderr_line "elf2dfu: missing -o output"
run "$HEX2DFU" fw.hex
expect_status 2
expect_stderr_line "hex2dfu: missing -o output"
case_end

begin "writing over the input gives the same message in every tool"
inputs
cp "$ELF" fw.elf
cp a.bin a.orig
run "$BIN2DFU" -a 0:a.bin -o a.bin
expect_status 1
expect_stderr_line "bin2dfu: a.bin: output is also the input a.bin; refusing to overwrite it"
run "$ELF2DFU" -o fw.elf fw.elf
expect_status 1
expect_stderr_line "elf2dfu: fw.elf: output is also the input fw.elf; refusing to overwrite it"
run "$HEX2DFU" -o fw.hex fw.hex
expect_status 1
expect_stderr_line "hex2dfu: fw.hex: output is also the input fw.hex; refusing to overwrite it"
expect_same_bytes a.bin a.orig
expect_same_bytes fw.elf "$ELF"
case_end

begin "-h and -V behave the same in every tool"
for t in bin2dfu elf2dfu hex2dfu; do
	eval "tool=\$$(echo "$t" | tr a-z A-Z)"
	run "$tool" -V
	expect_status 0
	expect_stderr_empty
	expect_stdout_line "$t $(sed -n 's/^#define DFUFILE_VERSION_STRING "\(.*\)"$/\1/p' "$ROOT/common/dfufile.h")"
	run "$tool" -h
	expect_status 0
	expect_stderr_empty
	expect_stdout_contains "usage: $t "
	expect_stdout_contains "[--pad n] [-d vid:pid]"
	# -h wins over a bad value only if it comes first.
	run "$tool" -h -d bad
	expect_status 0
	run "$tool" -d bad -h
	expect_status 2
done
case_end

begin "the same -d, -r, --pad and -t give the same DfuSe file in every tool"
# The elements of the ELF, unpadded, become the inputs of bin2dfu
# and the records of a HEX file.
run "$ELF2DFU" -o raw.dfu "$ELF"
expect_status 0
mkdir e
run $CHECK elements raw.dfu e
expect_status 0
grep '^element' "$OUT" >elements.txt
[ "$(wc -l <elements.txt)" -eq 2 ] || fail "expected two elements: $(cat elements.txt)"
set --
while read -r _ te addr _; do
	set -- "$@" -a "$addr:e/t0e${te#0.}.bin"
done <elements.txt
python3 -c '
import sys
out = open("fw.hex", "w")
for line in open("elements.txt"):
    _, te, addr, size = line.split()
    addr = int(addr, 16)
    data = open("e/t0e%s.bin" % te.split(".")[1], "rb").read()
    for off in range(0, len(data), 16):
        a = addr + off
        if off == 0 or a & 0xffff < 16:
            r = bytes([2, 0, 0, 4, a >> 24, (a >> 16) & 0xff])
            out.write(":%s%02X\n" % (r.hex().upper(), -sum(r) & 0xff))
        chunk = data[off:off + 16]
        r = bytes([len(chunk), (a >> 8) & 0xff, a & 0xff, 0]) + chunk
        out.write(":%s%02X\n" % (r.hex().upper(), -sum(r) & 0xff))
out.write(":00000001FF\n")
'
common="-d 1209:70b1 -r 0102 --pad 64 -t 5:Internal Flash"
run "$BIN2DFU" -d 1209:70b1 -r 0102 --pad 64 -t "5:Internal Flash" \
    "$@" -o bin.dfu
expect_status 0
expect_stderr_empty
run "$ELF2DFU" -d 1209:70b1 -r 0102 --pad 64 -t "5:Internal Flash" \
    -o elf.dfu "$ELF"
expect_status 0
expect_stderr_empty
run "$HEX2DFU" -d 1209:70b1 -r 0102 --pad 64 -t "5:Internal Flash" \
    -o hex.dfu fw.hex
expect_status 0
expect_stderr_empty
expect_same_bytes bin.dfu elf.dfu
expect_same_bytes bin.dfu hex.dfu
run $CHECK elements bin.dfu
expect_stdout_line "target 0 alt=5 name=Internal Flash"
grep '^element' "$OUT" | while read -r _ _ _ size; do
	[ $((size % 64)) -eq 0 ] || echo "unpadded $size"
done >unpadded.txt
[ ! -s unpadded.txt ] || fail "$(cat unpadded.txt) ($common)"
run "$DFUINFO" bin.dfu
expect_status 0
expect_stdout_contains "idVendor 0x1209  idProduct 0x70b1  bcdDevice 0x0102"
case_end

finish
