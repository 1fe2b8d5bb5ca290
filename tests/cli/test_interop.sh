#!/bin/sh
# Interoperability: files written by bin2dfu are accepted by the tools of
# other projects (dfu-util's dfu-suffix and dfuse-pack, fwupd's fwupdtool),
# which show the IDs, alternate settings, names and addresses we set.
. "$(dirname "$0")/lib.sh"

begin() {
	case_begin "$1"
	cd "$TMP" || exit 1
}

# need TOOL PACKAGE: skip the case when TOOL is missing; 0 if present.
need() {
	have "$1" && return 0
	skip_case "$1 not installed (Debian package $2)"
	return 1
}

# Three files: DfuSe with one target, DfuSe with two targets, plain.
build_files() {
	# Fixed contents (lib.sh): the same bytes on every run.
	fixed_bytes a.bin 1000 1 &&
	fixed_bytes b.bin 300 2 &&
	fixed_bytes ob.bin 16 3 &&
	"$BIN2DFU" -d 1209:70b1 -r 0102 -a 0x08000000:a.bin -o single.dfu &&
	"$BIN2DFU" -d 1209:70b1 -r 0102 -a 0x08000000:a.bin \
	    -a 0x08004000:b.bin -t "1:Option Bytes" -a 0x1fffc000:ob.bin \
	    -o multi.dfu &&
	"$BIN2DFU" --plain -d 1c11:b007 -r 0203 -o plain.dfu a.bin ||
	    fail "bin2dfu failed"
}

# fwupd_xml FILE: check fwupdtool's XML on $OUT against python assertions.
# fwupdtool previews element data inside <data> as raw text that need not
# be valid XML; the preview is dropped before parsing.
FWUPD_XML_LOAD='
import re, sys, xml.etree.ElementTree as ET
text = sys.stdin.buffer.read().decode("utf-8", "replace")
text = re.sub(r"(<data\b[^>]*[^/]>).*?(</data>)", r"\1\2", text, flags=re.S)
root = ET.fromstring(text)
'
fwupd_xml() {
	python3 -c "$FWUPD_XML_LOAD" <"$OUT" 2>/dev/null ||
	    { fail "fwupdtool printed no XML"; _show; return; }
	python3 -c "$FWUPD_XML_LOAD
$1
" <"$OUT" || { fail "fwupdtool XML does not match"; _show; }
}

# dfu-suffix -c prints the suffix with tabs: "Vendor ID:\t0x1209".
expect_suffix_line() {
	expect_stdout_line "$(printf '%s\t%s' "$1" "$2")"
}

begin "dfu-suffix -c accepts a single-target DfuSe file and shows its IDs"
if need dfu-suffix dfu-util; then
	build_files
	run dfu-suffix -c single.dfu
	expect_status 0
	expect_suffix_line "Vendor ID:" 0x1209
	expect_suffix_line "Product ID:" 0x70B1
	expect_suffix_line "BCD device:" 0x0102
	expect_suffix_line "BCD DFU:" 0x011A
fi
case_end

begin "dfu-suffix -c accepts a multi-target DfuSe file"
if need dfu-suffix dfu-util; then
	build_files
	run dfu-suffix -c multi.dfu
	expect_status 0
	expect_suffix_line "Vendor ID:" 0x1209
	expect_suffix_line "Product ID:" 0x70B1
	expect_suffix_line "BCD DFU:" 0x011A
fi
case_end

begin "dfu-suffix -c accepts a --plain file and shows its IDs"
if need dfu-suffix dfu-util; then
	build_files
	run dfu-suffix -c plain.dfu
	expect_status 0
	expect_suffix_line "Vendor ID:" 0x1C11
	expect_suffix_line "Product ID:" 0xB007
	expect_suffix_line "BCD device:" 0x0203
	expect_suffix_line "BCD DFU:" 0x0100
fi
case_end

begin "dfu-suffix -D strips a --plain file back to its input"
if need dfu-suffix dfu-util; then
	build_files
	cp plain.dfu strip.bin
	run dfu-suffix -D strip.bin
	expect_status 0
	expect_same_bytes strip.bin a.bin
fi
case_end

begin "dfuse-pack parses a multi-target file with no PARSE ERROR"
if need dfuse-pack dfu-util; then
	build_files
	run dfuse-pack multi.dfu
	expect_status 0
	expect_stdout_lacks "PARSE ERROR"
	expect_stdout_contains "targets: 2"
	expect_stdout_contains "alt setting: 1, name: \"b'Option Bytes'\""
	expect_stdout_line "  0, address: 0x08000000, size: 1000"
	expect_stdout_line "  1, address: 0x08004000, size: 300"
	expect_stdout_line "  0, address: 0x1fffc000, size: 16"
	expect_stdout_contains "usb: 1209:70b1, device: 0x0102, dfu: 0x011a"
fi
case_end

begin "fwupdtool parses a single-target DfuSe file"
if need fwupdtool fwupd; then
	build_files
	run fwupdtool firmware-parse single.dfu dfuse
	expect_status 0
	expect_stdout_contains '<vendor>0x1209</vendor>'
	expect_stdout_contains '<product>0x70b1</product>'
	expect_stdout_contains '<release>0x102</release>'
	fwupd_xml '
imgs = root.findall("firmware")
assert len(imgs) == 1, len(imgs)
assert imgs[0].find("id") is None
assert [c.findtext("addr") for c in imgs[0].iter("chunk")] == ["0x8000000"]
assert imgs[0].find("chunks/chunk/data").get("size") == "0x3e8"
'
fi
case_end

begin "fwupdtool parses a multi-target DfuSe file with its names and alts"
if need fwupdtool fwupd; then
	build_files
	run fwupdtool firmware-parse multi.dfu dfuse
	expect_status 0
	expect_stdout_contains '<vendor>0x1209</vendor>'
	expect_stdout_contains '<product>0x70b1</product>'
	fwupd_xml '
imgs = root.findall("firmware")
assert len(imgs) == 2, len(imgs)
assert imgs[0].find("id") is None and imgs[0].findtext("idx", "0x0") == "0x0"
assert [c.findtext("addr") for c in imgs[0].iter("chunk")] == [
    "0x8000000", "0x8004000"]
assert imgs[1].findtext("id") == "Option Bytes"
assert imgs[1].findtext("idx") == "0x1"
assert [c.findtext("addr") for c in imgs[1].iter("chunk")] == ["0x1fffc000"]
'
fi
case_end

begin "fwupdtool parses a --plain file"
if need fwupdtool fwupd; then
	build_files
	run fwupdtool firmware-parse plain.dfu dfu
	expect_status 0
	expect_stdout_contains '<firmware gtype="FuDfuFirmware">'
	expect_stdout_contains '<vendor>0x1c11</vendor>'
	expect_stdout_contains '<product>0xb007</product>'
	expect_stdout_contains '<release>0x203</release>'
	expect_stdout_contains '<dfu_version>0x100</dfu_version>'
	expect_stdout_contains '<data type="GBytes" size="0x3e8"'
fi
case_end

# Control: the check above can fail.  The same file with DFUImageSize
# counting the suffix (what dfuse-pack >= 0.10 writes) is refused by fwupd.
begin "fwupdtool refuses DFUImageSize that counts the suffix (control)"
if need fwupdtool fwupd; then
	build_files
	python3 -c '
import struct, zlib
d = bytearray(open("single.dfu", "rb").read())
struct.pack_into("<I", d, 6, len(d))
struct.pack_into("<I", d, len(d) - 4, ~zlib.crc32(bytes(d[:-4])) & 0xffffffff)
open("includes.dfu", "wb").write(d)
'
	run fwupdtool firmware-parse includes.dfu dfuse
	[ "$STATUS" -ne 0 ] || fail "fwupdtool accepted DFUImageSize = file size"
	expect_stderr_contains "invalid DfuSe image size"
fi
case_end

finish
