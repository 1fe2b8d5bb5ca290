#!/bin/sh
# CLI tests of hex2dfu: Intel HEX and S-records in, DfuSe out; every
# message a user can meet; the elements compared with what srecord
# (srec_info, srec_cat) reads from the same input, and with elf2dfu on the
# ELF the corpus HEX was made from.
. "$(dirname "$0")/lib.sh"

HEX2DFU=$BUILD/bin/hex2dfu
ELF2DFU=$BUILD/bin/elf2dfu
CHECK="python3 $ROOT/tests/cli/image_check.py"
SHARED=$CORPUS
TEENSY_HEX=$SHARED/teensy41_imxrt1062_crlf.hex
TEENSY_ELF=$SHARED/teensy41_imxrt1062_multi_lma.elf
VERSION=$(sed -n 's/^#define DFUFILE_VERSION_STRING "\(.*\)"$/\1/p' \
    "$ROOT/common/dfufile.h")

begin() {
	case_begin "$1"
	cd "$TMP" || exit 1
}

expect_fail() {
	expect_status "$1"
	expect_stderr_line "$2"
	expect_stdout_empty
}

elements() {
	run $CHECK elements "$@"
	[ "$STATUS" -eq 0 ] || { fail "decoder failed on $1"; _show; }
}

valid() {
	run "$DFUINFO" "$1"
	expect_status 0
	expect_stdout_contains "verdict: valid"
}

# srec_check INPUT FORMAT DFU: the elements are what srecord reads.
srec_check() {
	run $CHECK srec "$1" "$2" "$3"
	expect_status 0
	expect_stdout_contains "all equal"
	[ "$STATUS" -eq 0 ] || _show
}

# ihex FILE LINE...: write the records given as "LLAAAATTDD..." (without
# the colon and checksum), each with its checksum, LF line ends.
ihex() {
	_f=$1
	shift
	python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    for r in sys.argv[2:]:
        b = bytes.fromhex(r)
        f.write(":%s%02X\n" % (r.upper(), -sum(b) & 0xff))
' "$_f" "$@"
}

# srec FILE TYPE:BODY...: S-records with their count and checksum.
srec() {
	_f=$1
	shift
	python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    for a in sys.argv[2:]:
        t, body = a.split(":")
        b = bytes.fromhex(body)
        n = len(b) + 1
        f.write("S%s%02X%s%02X\n" % (t, n, body.upper(), ~(n + sum(b)) & 0xff))
' "$_f" "$@"
}

USAGE1='usage: hex2dfu [--gap-fill byte] [--max-gap n] [--pad n] [-d vid:pid]'
USAGE2='               [-r bcddevice] [--split-at address]'
USAGE3='               [-t alt[:name] [--range range ...]] [--sync]'
USAGE4='               -o output file'
USAGE5='       hex2dfu -h | -V'

# ---- help, version, usage errors -----------------------------------------

begin "-h prints the usage, then the options, on stdout and exits 0"
run "$HEX2DFU" -h
expect_status 0
expect_stderr_empty
printf '%s\n' "$USAGE1" "$USAGE2" "$USAGE3" "$USAGE4" "$USAGE5" >usage.txt
expect_stdout_usage usage.txt
case_end

begin "the usage equals the SYNOPSIS of hex2dfu(1)"
expect_usage_synopsis "$HEX2DFU" hex2dfu.1
case_end

begin "-V prints the library version"
run "$HEX2DFU" --version
expect_status 0
expect_stdout_line "hex2dfu $VERSION"
case_end

begin "usage errors: options of elf2dfu only, missing -o, no input"
ihex fw.hex 0100000011 00000001
run "$HEX2DFU" -j .text -o out.dfu fw.hex
expect_fail 2 "hex2dfu: unknown option: -j"
expect_stderr_line "$USAGE1"
run "$HEX2DFU" --only-section .text -o out.dfu fw.hex
expect_fail 2 "hex2dfu: unknown option: --only-section"
run "$HEX2DFU" --remove-section=.text -o out.dfu fw.hex
expect_fail 2 "hex2dfu: unknown option: --remove-section"
run "$HEX2DFU" -o out.dfu fw.hex --only-section
expect_fail 2 "hex2dfu: unknown option: --only-section"
run "$HEX2DFU" --re 0102 -o out.dfu fw.hex
expect_status 0
rm -f out.dfu
run "$HEX2DFU" fw.hex
expect_fail 2 "hex2dfu: missing -o output"
run "$HEX2DFU" -o out.dfu
expect_fail 2 "hex2dfu: no input: give a file"
run "$HEX2DFU" --split-at 0x10 --split-at 0x20 -t 1 -t 2 -o out.dfu fw.hex
expect_fail 2 "hex2dfu: --split-at cuts the addresses into 3 parts, but 2 targets are given with -t"
run "$HEX2DFU" --split-at 010 -o out.dfu fw.hex
expect_fail 2 "hex2dfu: --split-at 010: 010 has a leading zero, which could mean octal, decimal or hexadecimal: write 0x010 for hexadecimal or 10 for decimal"
run "$HEX2DFU" -t 0 --range 00+0x10 -o out.dfu fw.hex
expect_fail 2 "hex2dfu: --range 00+0x10: 00 has a leading zero, which could mean octal, decimal or hexadecimal: write 0x00 for hexadecimal or 0 for decimal"
expect_dir_only . fw.hex
case_end

# ---- the corpus HEX ------------------------------------------------------

begin "teensy41 HEX (CRLF, types 04 and 05): one element, as the ELF gives"
run "$HEX2DFU" -o hex.dfu "$TEENSY_HEX"
expect_status 0
expect_stderr_empty
elements hex.dfu
expect_stdout_line "element 0.0 0x60000000 169984"
valid hex.dfu
# The HEX is objcopy -O ihex -R .eeprom of the ELF.
run "$ELF2DFU" -R .eeprom -o elf.dfu "$TEENSY_ELF"
expect_status 0
expect_same_bytes hex.dfu elf.dfu
# LF line ends give the same.
tr -d '\r' <"$TEENSY_HEX" >lf.hex
run "$HEX2DFU" -o lf.dfu lf.hex
expect_status 0
expect_same_bytes lf.dfu hex.dfu
case_end

begin "teensy41 HEX equals srec_cat"
if ! have srec_cat || ! have srec_info; then
	skip_case "srecord not installed (Debian package srecord)"
else
	run "$HEX2DFU" -o out.dfu "$TEENSY_HEX"
	srec_check "$TEENSY_HEX" -intel out.dfu
fi
case_end

begin "records in any order give the same file"
# Every data record with its own type 04 record, pairs shuffled.
python3 -c '
import random, sys
base, pairs, tail = 0, [], []
for line in open(sys.argv[1]):
    line = line.strip()
    b = bytes.fromhex(line[1:])
    if b[3] == 4:
        base = b[4] << 8 | b[5]
    elif b[3] == 0:
        ext = bytes([2, 0, 0, 4, base >> 8, base & 0xff])
        ext += bytes([-sum(ext) & 0xff])
        pairs.append(":" + ext.hex().upper() + "\n" + line + "\n")
    else:
        tail.append(line + "\n")
random.seed(3)
random.shuffle(pairs)
sys.stdout.write("".join(pairs) + "".join(tail))
' "$TEENSY_HEX" >shuffled.hex
run "$HEX2DFU" -o sorted.dfu "$TEENSY_HEX"
run "$HEX2DFU" -o shuffled.dfu shuffled.hex
expect_status 0
expect_same_bytes shuffled.dfu sorted.dfu
[ "$(head -c 200 shuffled.hex)" != "$(head -c 200 "$TEENSY_HEX")" ] ||
    fail "not shuffled"
case_end

begin "S-records of the same data, with and without termination, are the same"
if ! have srec_cat; then
	skip_case "srecord not installed (Debian package srecord)"
else
	srec_cat "$TEENSY_HEX" -intel -o fw.s37 -motorola
	grep -v '^S[789]' fw.s37 | grep -v '^S[56]' >noterm.s37
	run "$HEX2DFU" -o hex.dfu "$TEENSY_HEX"
	run "$HEX2DFU" -o s37.dfu fw.s37
	expect_status 0
	expect_stderr_empty
	expect_same_bytes s37.dfu hex.dfu
	run "$HEX2DFU" -o noterm.dfu noterm.s37
	expect_status 0
	expect_same_bytes noterm.dfu hex.dfu
	srec_check fw.s37 -motorola s37.dfu
fi
case_end

# ---- layouts -------------------------------------------------------------

begin "flash and option bytes far apart: two elements, or two targets"
# 0x08000000: 4 bytes; 0x1FFFC000: 2 bytes (extended linear address 1FFF).
ihex two.hex 020000040800 0400000001020304 020000041FFF 02C00000AA55 00000001
run "$HEX2DFU" -o out.dfu two.hex
expect_status 0
elements out.dfu
expect_stdout_line "element 0.0 0x08000000 4"
expect_stdout_line "element 0.1 0x1fffc000 2"
run "$HEX2DFU" --gap-fill 0 --max-gap 0x10000000 -o big.dfu two.hex
expect_status 0
elements big.dfu
expect_stdout_line "element 0.1 0x1fffc000 2"
run "$HEX2DFU" -t "0:Internal Flash" -t "1:Option Bytes" --range 0x1fffc000-0x1fffc00f \
    -o t.dfu two.hex
expect_status 0
elements t.dfu
expect_stdout_line "target 1 alt=1 name=Option Bytes"
expect_stdout_line "element 1.0 0x1fffc000 2"
valid t.dfu
case_end

begin "--max-gap: a result too large is refused before any gap is filled"
# 4 bytes at 0 and 4 at 0xfffffff0: one element of 4 GiB - 12 bytes,
# more than DFUImageSize holds with the headers.  Refused from the ranges
# alone, under a 256 MiB limit on the address space (filling the gap
# took 8.39 GB before).
ihex far.hex 020000040000 0400000001020304 02000004FFFF 04FFF00001020304 00000001
run_vm_limited 262144 "$HEX2DFU" --max-gap 0xffffffff -o out.dfu far.hex
expect_status 1
expect_stderr_line "hex2dfu: far.hex: with its gaps filled, the DfuSe image would be 4294967577 bytes, more than the 4 GiB - 1 that DFUImageSize can hold"
expect_no_file out.dfu
case_end

begin "repeated records: memory grows with the data, not with the records"
# 500000 identical 16-byte records, in HEX and in S-records, under a
# 32 MiB limit on the address space (each record took ~140 bytes).
python3 -c '
rec = bytes([16, 0, 0, 0]) + bytes(range(16))
line = ":" + (rec + bytes([(-sum(rec)) & 0xff])).hex().upper() + "\n"
open("same.hex", "w").write(":020000040800F2\n" + line * 500000 + ":00000001FF\n")
r = bytes([21, 0x08, 0, 0, 0]) + bytes(range(16))
sl = "S3" + (r + bytes([~sum(r) & 0xff])).hex().upper() + "\n"
open("same.srec", "w").write(sl * 500000 + "S70508000000F2\n")'
for f in same.hex same.srec; do
	run_vm_limited 32768 "$HEX2DFU" -o out.dfu $f
	expect_status 0
	expect_stderr_empty
	elements out.dfu
	expect_stdout_line "element 0.0 0x08000000 16"
done
rm -f same.hex same.srec
case_end

# gen FORMAT KIB STRIDE FILE: KIB KiB of data at 0x08000000 in 16-byte
# records (bytes 0-15), one every STRIDE bytes (16: all touching), as
# Intel HEX (hex) or S3 records (srec).  HEX repeats the text of one
# 64 KiB segment after each type 04 record, so it is written fast.
gen() {
	python3 -c '
import sys
fmt, kib, stride, name = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
data, dsum, nrec = bytes(range(16)).hex().upper(), sum(range(16)), kib * 64
with open(name, "w") as f:
    if fmt == "hex":
        seg = "".join(":10%04X00%s%02X\n" % (o, data,
            -(16 + (o >> 8) + (o & 255) + dsum) & 255)
            for o in range(0, 0x10000, stride))
        for s in range(nrec * stride // 0x10000):
            e = 0x0800 + s
            f.write(":02000004%04X%02X\n" % (e, -(6 + (e >> 8) + (e & 255)) & 255))
            f.write(seg)
        f.write(":00000001FF\n")
    else:
        for i in range(nrec):
            a = 0x08000000 + i * stride
            c = ~(21 + (a >> 24) + (a >> 16 & 255) + (a >> 8 & 255) + (a & 255) + dsum) & 255
            f.write("S315%08X%s%02X\n" % (a, data, c))
        f.write("S70508000000F2\n")
' "$@"
}

# element_is DFU SIZE STRIDE: the file has one element at 0x08000000 of
# SIZE bytes: bytes 0-15 every STRIDE bytes, 0xff between.
element_is() {
	run python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
size, stride = int(sys.argv[2]), int(sys.argv[3])
# DfuSe prefix (11); target prefix (274), dwNbElements at its end;
# dwElementAddress, dwElementSize, then the bytes (UM0391, 2.3.2-2.3.3).
assert int.from_bytes(d[281:285], "little") == 1, "elements"
assert int.from_bytes(d[285:289], "little") == 0x08000000, "address"
assert int.from_bytes(d[289:293], "little") == size, "size"
unit = bytes(range(16)) + b"\xff" * (stride - 16)
want = (unit * (size // stride + 1))[:size]
assert d[293:293 + size] == want, "bytes"
print("ok")' "$@"
	expect_status 0
	expect_stdout_line ok
}

begin "memory does not grow with the data: 32 MiB of HEX under a 16 MiB limit"
# The decoded bytes go to a temporary file, touching records are one
# piece, so memory stays the same at any size (it took ~9 bytes per byte
# of data, 290 MiB here, and hex2dfu 16 MiB of address space to start).
# FORMAT, KiB of data, its bytes.
for f in "hex 32768 33554432" "srec 8192 8388608"; do
	set -- $f
	gen "$1" "$2" 16 "big.$1"
	run_vm_limited 16384 "$HEX2DFU" -o out.dfu "big.$1"
	expect_status 0
	expect_stderr_empty
	element_is out.dfu "$3" 16
	rm -f "big.$1" out.dfu
done
case_end

begin "records that all stand apart: memory per record bounded, 512 Ki records under 64 MiB"
# The worst case for the image: no record touches the one before, so each
# is a piece and a range of its own (48 bytes of piece, 16 of range; it
# took ~200 bytes before, 98 MiB of address space was not enough).
# --max-gap joins them into one element, assembled in a temporary file.
gen hex 8192 32 apart.hex
gen srec 8192 32 apart.srec
for f in apart.hex apart.srec; do
	run_vm_limited 65536 "$HEX2DFU" --max-gap 16 -o out.dfu $f
	expect_status 0
	expect_stderr_empty
	element_is out.dfu 16777200 32
done
rm -f apart.hex apart.srec out.dfu
case_end

begin "TMPDIR that cannot hold the decoded bytes is an error that names it"
ihex fw.hex 0400000001020304 00000001
run env TMPDIR="$TMP/none" "$HEX2DFU" -o out.dfu fw.hex
expect_fail 1 "hex2dfu: fw.hex: temporary file in $TMP/none for the decoded bytes: No such file or directory"
expect_no_file out.dfu
run env TMPDIR="$TMP" "$HEX2DFU" -o out.dfu fw.hex
expect_status 0
expect_dir_only . fw.hex out.dfu
case_end

begin "flash and option bytes far apart equal srec_cat"
ihex two.hex 020000040800 0400000001020304 020000041FFF 02C00000AA55 00000001
if have srec_cat && have srec_info; then
	run "$HEX2DFU" -o out.dfu two.hex
	expect_status 0
	srec_check two.hex -intel out.dfu
else
	skip_case "srecord not installed (Debian package srecord)"
fi
case_end

begin "a record across 0xffff: wraps in a segment (02), not after 04, as srec_cat"
ihex seg.hex 020000021000 02FFFF00AABB 00000001
ihex lin.hex 020000040800 02FFFF00AABB 00000001
run "$HEX2DFU" -o seg.dfu seg.hex
expect_status 0
elements seg.dfu
expect_stdout_line "element 0.0 0x00010000 1"
expect_stdout_line "element 0.1 0x0001ffff 1"
run "$HEX2DFU" -o lin.dfu lin.hex
expect_status 0
elements lin.dfu
expect_stdout_line "element 0.0 0x0800ffff 2"
case_end

begin "the records across 0xffff equal srec_cat"
if have srec_cat && have srec_info; then
	ihex seg.hex 020000021000 02FFFF00AABB 00000001
	ihex lin.hex 020000040800 02FFFF00AABB 00000001
	run "$HEX2DFU" -o seg.dfu seg.hex
	run "$HEX2DFU" -o lin.dfu lin.hex
	srec_check seg.hex -intel seg.dfu
	srec_check lin.hex -intel lin.dfu
else
	skip_case "srecord not installed (Debian package srecord)"
fi
case_end

begin "segment addresses (type 02), gaps filled on request"
# Segment 0x1000: base 0x10000; 4 bytes at 0x10000 and 2 at 0x10008.
ihex seg.hex 020000021000 0400000001020304 020008000506 0400000300001000 00000001
run "$HEX2DFU" -o out.dfu seg.hex
expect_status 0
elements out.dfu
expect_stdout_line "element 0.0 0x00010000 4"
expect_stdout_line "element 0.1 0x00010008 2"
mkdir x
run "$HEX2DFU" --gap-fill 0x5a --max-gap 4 -o out.dfu seg.hex
elements out.dfu x
expect_stdout_line "element 0.0 0x00010000 10"
[ "$(od -v -An -tx1 x/t0e0.bin | tr -d ' \n')" = 010203045a5a5a5a0506 ] ||
    fail "filled element: $(od -v -An -tx1 x/t0e0.bin)"
run "$HEX2DFU" --gap-fill 0x5a --max-gap 3 -o out.dfu seg.hex
elements out.dfu
expect_stdout_line "element 0.1 0x00010008 2"
case_end

begin "the top of the address space, and data past 4 GiB with its line"
ihex top.hex 02000004FFFF 02FFFE00A1B2 00000001
run "$HEX2DFU" -o out.dfu top.hex
expect_status 0
elements out.dfu
expect_stdout_line "element 0.0 0xfffffffe 2"
ihex past.hex 02000004FFFF 02FFFF00A1B2 00000001
run "$HEX2DFU" -o out.dfu past.hex
expect_fail 1 "hex2dfu: past.hex: line 2: 2 bytes at 0xffffffff run past 4 GiB"
srec past.s37 3:FFFFFFF0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1
run "$HEX2DFU" -o out.dfu past.s37
expect_fail 1 "hex2dfu: past.s37: line 1: 17 bytes at 0xfffffff0 run past 4 GiB"
case_end

begin "the same bytes twice are fine; different bytes at one address are not"
ihex dup.hex 0400000001020304 0400020003040506 00000001
run "$HEX2DFU" -o out.dfu dup.hex
expect_status 0
elements out.dfu
expect_stdout_line "element 0.0 0x00000000 6"
ihex clash.hex 0400000001020304 0400020003FF0506 00000001
run "$HEX2DFU" -o out.dfu clash.hex
expect_fail 1 "hex2dfu: clash.hex: line 2: 0x00000003 holds 0xff, but line 1 put 0x04 there"
case_end

# ---- bad records ---------------------------------------------------------

begin "Intel HEX errors name the line"
printf ':0400000001020304F2\r\n:0400040005060708DF\r\n:00000001FF\r\n' >sum.hex
run "$HEX2DFU" -o out.dfu sum.hex
expect_fail 1 "hex2dfu: sum.hex: line 2: checksum 0xdf, expected 0xde"
printf ':0400000001020304F2\n0400040005060708DE\n' >colon.hex
run "$HEX2DFU" -o out.dfu colon.hex
expect_fail 1 "hex2dfu: colon.hex: line 2: does not start with ':'"
printf ':04000000010203X4F2\n' >digit.hex
run "$HEX2DFU" -o out.dfu digit.hex
expect_fail 1 "hex2dfu: digit.hex: line 1, column 16: 'X' is not a hexadecimal digit"
printf ':0400000001020304F\n' >odd.hex
run "$HEX2DFU" -o out.dfu odd.hex
expect_fail 1 "hex2dfu: odd.hex: line 1: odd number of hexadecimal digits"
printf ':000000\n' >short.hex
run "$HEX2DFU" -o out.dfu short.hex
expect_fail 1 "hex2dfu: short.hex: line 1: 3 bytes, shorter than any record (5)"
printf ':0500000001020304F1\n' >count.hex
run "$HEX2DFU" -o out.dfu count.hex
expect_fail 1 "hex2dfu: count.hex: line 1: byte count 0x05 says 5 data bytes, the record holds 4"
ihex type.hex 00000006
run "$HEX2DFU" -o out.dfu type.hex
expect_fail 1 "hex2dfu: type.hex: line 1: unknown record type 06"
ihex ext.hex 03000004080000 00000001
run "$HEX2DFU" -o out.dfu ext.hex
expect_fail 1 "hex2dfu: ext.hex: line 1: type 04 record with 3 data bytes, expected 2"
ihex start.hex 020000031234 00000001
run "$HEX2DFU" -o out.dfu start.hex
expect_fail 1 "hex2dfu: start.hex: line 1: type 03 record with 2 data bytes, expected 4"
ihex eofdata.hex 010000010A
run "$HEX2DFU" -o out.dfu eofdata.hex
expect_fail 1 "hex2dfu: eofdata.hex: line 1: end of file record (type 01) with 1 data bytes, expected 0"
ihex after.hex 0100000011 00000001 0100010022
run "$HEX2DFU" -o out.dfu after.hex
expect_fail 1 "hex2dfu: after.hex: line 3: record after the end of file record of line 2"
ihex noeof.hex 0100000011 0100010022
run "$HEX2DFU" -o out.dfu noeof.hex
expect_fail 1 "hex2dfu: noeof.hex: line 2: the file ends without an end of file record (type 01): truncated?"
printf ':00000001FF\0\n' >nul.hex
run "$HEX2DFU" -o out.dfu nul.hex
expect_fail 1 "hex2dfu: nul.hex: line 1: a NUL byte: not a text file"
{ printf ':'; printf '0%.0s' $(seq 700); echo; } >long.hex
run "$HEX2DFU" -o out.dfu long.hex
expect_fail 1 "hex2dfu: long.hex: line 1: more than 600 characters, longer than any record"
{ printf ':'; printf '0%.0s' $(seq 522); echo; } >long2.hex
run "$HEX2DFU" -o out.dfu long2.hex
expect_fail 1 "hex2dfu: long2.hex: line 1: 522 hexadecimal digits, more than any record holds (520)"
printf '\n\n' >blank.hex
run "$HEX2DFU" -o out.dfu blank.hex
expect_fail 1 "hex2dfu: blank.hex: neither Intel HEX nor S-records"
printf '\n:\n' >colononly.hex
run "$HEX2DFU" -o out.dfu colononly.hex
expect_fail 1 "hex2dfu: colononly.hex: line 2: 0 bytes, shorter than any record (5)"
expect_no_file out.dfu
case_end

begin "S-record errors name the line"
srec ok.s37 0:0000 1:000001020304 5:0001 9:0000
run "$HEX2DFU" -o ok.dfu ok.s37
expect_status 0
printf 'S107000001020304EF\n' >sum.s37
run "$HEX2DFU" -o out.dfu sum.s37
expect_fail 1 "hex2dfu: sum.s37: line 1: checksum 0xef, expected 0xee"
srec count.s37 1:000001020304 5:0002
run "$HEX2DFU" -o out.dfu count.s37
expect_fail 1 "hex2dfu: count.s37: line 2: S5 says 2 data records, 1 precede it"
srec after.s37 1:000001020304 9:0000 1:00040506
run "$HEX2DFU" -o out.dfu after.s37
expect_fail 1 "hex2dfu: after.s37: line 3: record after the termination record of line 2"
srec s4.s37 1:000001 4:0000
run "$HEX2DFU" -o out.dfu s4.s37
expect_fail 1 "hex2dfu: s4.s37: line 2: record type S4 is reserved"
srec s9data.s37 1:000001 9:0000AA
run "$HEX2DFU" -o out.dfu s9data.s37
expect_fail 1 "hex2dfu: s9data.s37: line 2: termination record S9 with 1 data bytes, expected 0"
printf 'S107000001020304EE\nX\n' >junk.s37
run "$HEX2DFU" -o out.dfu junk.s37
expect_fail 1 "hex2dfu: junk.s37: line 2: does not start with S0 to S9"
printf 'S108000001020304EE\n' >len.s37
run "$HEX2DFU" -o out.dfu len.s37
expect_fail 1 "hex2dfu: len.s37: line 1: byte count 0x08 says 8 bytes follow it, the record holds 7"
printf 'S30300FC\n' >short.s37
run "$HEX2DFU" -o out.dfu short.s37
expect_fail 1 "hex2dfu: short.s37: line 1: 3 bytes, too short for an S3 record"
printf 'S1070000010G0304EE\n' >digit.s37
run "$HEX2DFU" -o out.dfu digit.s37
expect_fail 1 "hex2dfu: digit.s37: line 1, column 12: 'G' is not a hexadecimal digit"
printf 'S107000001020304E\n' >odd.s37
run "$HEX2DFU" -o out.dfu odd.s37
expect_fail 1 "hex2dfu: odd.s37: line 1: odd number of hexadecimal digits"
{ printf 'S3'; printf '0%.0s' $(seq 514); echo; } >long.s37
run "$HEX2DFU" -o out.dfu long.s37
expect_fail 1 "hex2dfu: long.s37: line 1: 514 hexadecimal digits, more than any record holds (512)"
srec clash.s37 1:000001020304 1:000209
run "$HEX2DFU" -o out.dfu clash.s37
expect_fail 1 "hex2dfu: clash.s37: line 2: 0x00000002 holds 0x09, but line 1 put 0x03 there"
expect_no_file out.dfu
case_end

begin "inputs that are not HEX are refused"
printf 'hello\n' >text.txt
: >empty.hex
mkdir adir
printf '\177ELF\1\1\1' >fw.elf
run "$HEX2DFU" -o out.dfu fw.elf
expect_fail 1 "hex2dfu: fw.elf: an ELF file, not Intel HEX or S-records; use elf2dfu"
run "$HEX2DFU" -o out.dfu text.txt
expect_fail 1 "hex2dfu: text.txt: neither Intel HEX nor S-records"
run "$HEX2DFU" -o out.dfu empty.hex
expect_fail 1 "hex2dfu: empty.hex: empty file"
run "$HEX2DFU" -o out.dfu missing.hex
expect_fail 1 "hex2dfu: missing.hex: No such file or directory"
run "$HEX2DFU" -o out.dfu adir
expect_fail 1 "hex2dfu: adir: is a directory"
expect_dir_only . adir empty.hex fw.elf text.txt
case_end

# ---- input and output ----------------------------------------------------

begin "stdin (a pipe), stdout, --pad, -d and -r"
ihex fw.hex 020000040800 0500000001020304AA 00000001
run "$HEX2DFU" --pad 8 -d 1209:70b1 -r 0102 -o file.dfu fw.hex
expect_status 0
mkdir x
elements file.dfu x
expect_stdout_line "element 0.0 0x08000000 8"
[ "$(od -v -An -tx1 x/t0e0.bin | tr -d ' \n')" = 01020304aaffffff ] ||
    fail "padded element: $(od -v -An -tx1 x/t0e0.bin)"
valid file.dfu
expect_stdout_contains "idVendor 0x1209  idProduct 0x70b1  bcdDevice 0x0102"
run sh -c 'cat fw.hex | "$0" --pad 8 -d 1209:70b1 -r 0102 -o - - >piped.dfu' "$HEX2DFU"
expect_status 0
expect_same_bytes piped.dfu file.dfu
case_end

begin "at most 255 targets, from -t or from --split-at"
# 255 bytes at 0..254, cut after every byte: 255 targets of one byte.
python3 -c '
import sys
d = bytes(range(255))
for a in range(0, 255, 16):
    r = bytes([min(16, 255 - a), 0, a, 0]) + d[a:a + 16]
    sys.stdout.write(":%s%02X\n" % (r.hex().upper(), -sum(r) & 0xff))
sys.stdout.write(":00000001FF\n")
' >bytes.hex
set --
i=1
while [ $i -le 254 ]; do
	set -- "$@" --split-at $i
	i=$((i + 1))
done
run "$HEX2DFU" "$@" -o out.dfu bytes.hex
expect_status 0
elements out.dfu
expect_stdout_line "target 254 alt=254 name="
expect_stdout_line "element 254.0 0x000000fe 1"
run "$HEX2DFU" "$@" --split-at 255 -o out2.dfu bytes.hex
expect_fail 2 "hex2dfu: --split-at cuts the addresses into 256 parts, more than 255 targets"
set --
i=0
while [ $i -le 255 ]; do
	set -- "$@" -t $i
	i=$((i + 1))
done
run "$HEX2DFU" "$@" -o out2.dfu bytes.hex
expect_fail 2 "hex2dfu: -t 255: more than 255 targets"
expect_no_file out2.dfu
case_end

begin "--pad that makes elements overlap is refused"
ihex pad.hex 03000000010203 02000500AABB 00000001
run "$HEX2DFU" --pad 4 -o out.dfu pad.hex
expect_status 0
elements out.dfu
expect_stdout_line "element 0.0 0x00000000 4"
expect_stdout_line "element 0.1 0x00000005 4"
run "$HEX2DFU" --pad 8 -o bad.dfu pad.hex
expect_fail 1 "hex2dfu: pad.hex: padding element 0 of target 0 to 8 bytes: 0x00000000-0x00000007 overlaps element 1 (0x00000005-0x00000006) of target 0"
expect_no_file bad.dfu
case_end

begin "a device or FIFO as output is written to, not replaced"
ihex fw.hex 0400000001020304 00000001
run "$HEX2DFU" -o want.dfu fw.hex
if [ -w /dev/full ]; then
	run "$HEX2DFU" -o /dev/full fw.hex
	expect_fail 1 "hex2dfu: /dev/full: write: No space left on device"
fi
mkfifo fifo
timeout 20 cat fifo >got.dfu &
run timeout 20 "$HEX2DFU" -o fifo fw.hex
wait
expect_status 0
[ -p fifo ] || fail "fifo was replaced"
expect_same_bytes got.dfu want.dfu
expect_dir_only . fifo fw.hex got.dfu want.dfu
case_end

begin "writing over the input is refused; failures leave the old output"
ihex fw.hex 0100000011 00000001
cp fw.hex fw.orig
run "$HEX2DFU" -o fw.hex fw.hex
expect_fail 1 "hex2dfu: fw.hex: output is also the input fw.hex; refusing to overwrite it"
expect_same_bytes fw.hex fw.orig
echo old >out.dfu
cp out.dfu old.dfu
ihex bad.hex 0100000011
run "$HEX2DFU" -o out.dfu bad.hex
expect_status 1
expect_same_bytes out.dfu old.dfu
expect_dir_only . bad.hex fw.hex fw.orig old.dfu out.dfu
case_end

begin "65536 separate ranges become 65536 elements in a CPU-time bound"
# Each new element was checked against every element before it (common/
# file.c, check_range): 65536 ranges in address order took 1.7 s of CPU;
# an element above all the others is now checked in O(1), about 0.04 s
# for the whole run.  One second of CPU cannot flake and the quadratic
# check cannot meet it; an AddressSanitizer build is not held to it.
python3 -c '
import sys
def rec(t, a, d):
    b = [len(d), (a >> 8) & 0xff, a & 0xff, t] + list(d)
    return ":" + "".join("%02X" % x for x in b + [-sum(b) & 0xff])
out, hi = [], None
for i in range(65536):
    a = 0x08000000 + 32 * i
    if a >> 16 != hi:
        hi = a >> 16
        out.append(rec(4, 0, bytes([hi >> 8, hi & 0xff])))
    out.append(rec(0, a & 0xffff, bytes([i & 0xff]) * 16))
open(sys.argv[1], "w").write("\n".join(out + [":00000001FF"]) + "\n")
' sep.hex
if [ -n "$SAN_FLAGS" ]; then
	run "$HEX2DFU" -o sep.dfu sep.hex
else
	run sh -c 'ulimit -t 1 && exec "$0" -o sep.dfu sep.hex' "$HEX2DFU"
fi
expect_status 0
run "$DFUINFO" sep.dfu
expect_status 0
[ "$(grep -c '^    element ' "$OUT")" -eq 65536 ] || fail "not 65536 elements"
expect_stdout_contains "element 65535:  0x081fffe0-0x081fffef  16 bytes"
case_end

finish
