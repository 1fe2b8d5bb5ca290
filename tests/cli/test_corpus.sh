#!/bin/sh
# Conformance: dfuinfo on every real-world file of tests/fixtures/corpus
# gives the verdict its README promises, with the key facts of each file.
. "$(dirname "$0")/lib.sh"
require jq jq

# jqe EXPR: jq -e on the last stdout; fails the case when EXPR is not true.
jqe() {
	jq -e "$1" "$OUT" >/dev/null 2>&1 || fail "jq -e '$1' is not true"
}

# crc_of FILE [SKIP]: dwCRC of FILE computed here, independently of the
# library: ~crc32 of every byte before dwCRC, after skipping SKIP bytes.
crc_of() {
	python3 -c 'import sys, zlib
d = open(sys.argv[1], "rb").read()[int(sys.argv[2]):-4]
print("0x%08x" % (0xffffffff & ~zlib.crc32(d)))' "$1" "${2:-0}"
}

VRBRAIN=$CORPUS/fwupd_dev_VRBRAIN.dfu
FULL=$CORPUS/flipper_zero_f7_full.dfu
RAM=$CORPUS/flipper_zero_f7_updater_ram.dfu
KIIBOHD=$CORPUS/kiibohd_ktype_plain_suffix.dfu.bin
HACKRF=$CORPUS/hackrf_one_usb_lpc_prefix.dfu
VLX=$CORPUS/vlxfirm_NOT_usb_dfu.dfu

case_begin "corpus: every file in the corpus has a verdict in this test"
for f in "$CORPUS"/*; do
	case $f in
	*/README.md|"$VRBRAIN"|"$FULL"|"$RAM"|"$KIIBOHD"|"$HACKRF"|"$VLX") ;;
	*.elf|*.hex) ;;	# inputs of elf2dfu and hex2dfu; see the case below
	*) fail "no verdict tested for $f" ;;
	esac
	case $f in
	*/README.md) ;;
	*) grep -qF "| $(basename "$f") |" "$CORPUS/README.md" ||
		fail "$(basename "$f") is not in the corpus README" ;;
	esac
done
case_end

case_begin "corpus: the ELF and HEX files are not DFU files"
n=0
for f in "$CORPUS"/*.elf "$CORPUS"/*.hex; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	run "$DFUINFO" "$f"
	expect_status 1
	expect_stdout_contains "(not-dfu)"
done
[ $n -eq 3 ] || fail "$n ELF and HEX files, expected 3"
case_end

case_begin "corpus: fwupd VRBRAIN is a valid DfuSe file with one note"
run "$DFUINFO" "$VRBRAIN"
expect_status 0
expect_stderr_empty
expect_stdout_line "$VRBRAIN: DfuSe, 1 target, 2 elements, 92690 bytes"
expect_stdout_line "  suffix:    idVendor 0x0483  idProduct 0x0000  bcdDevice 0x0000  bcdDFU 0x011a  bLength 16"
expect_stdout_line "  crc:       stored 0x4f229ff7  computed $(crc_of "$VRBRAIN")  ok"
expect_stdout_line "  prefix:    bVersion 1  DFUImageSize 92674 (file size - 16)  bTargets 1"
expect_stdout_line '  target 0:  alt 0  "ST..."  92389 bytes  2 elements  at 0xb'
# odd-sized first element, 3-byte gap before the second
expect_stdout_line "    element 0:  0x08000000-0x080166d0  91857 bytes  at 0x125"
expect_stdout_line "    element 1:  0x080166d4-0x080168d7  516 bytes  at 0x167fe"
grep -qE '^  note: 0x0000001c szTargetName: .*249.* \(target-name-junk\)$' "$OUT" ||
	fail "no target-name-junk note (249 bytes after the NUL at 0x1b)"
expect_stdout_lacks "  error: "
expect_stdout_line "  verdict: valid (1 note)"
case_end

case_begin "corpus: fwupd VRBRAIN in JSON"
run "$DFUINFO" -j "$VRBRAIN"
expect_status 0
expect_json_valid dfuinfo-report
jqe '.files[0] | .valid and .format == "dfuse" and .size == 92690 and .errors == 0 and .notes == 1'
jqe '.files[0].suffix | .vendor_id == 1155 and .product_id == 0 and .device_version == 0 and .dfu_version == 282 and .wildcards == []'
jqe '.files[0].crc == {"stored": 1327669239, "computed": 1327669239, "match": true}'
jqe '.files[0].dfuse_prefix == {"version": 1, "image_size": 92674, "image_size_convention": "without_suffix", "targets": 1}'
jqe '.files[0].targets[0] | .alt == 0 and .name == "ST..." and .size == 92389 and .declared_elements == 2'
jqe '[.files[0].targets[0].elements[] | [.address, .size, .end, .offset]] == [[134217728, 91857, 134309584, 293], [134309588, 516, 134310103, 92158]]'
jqe '[.files[0].diagnostics[] | [.severity, .code, .offset, .field]] == [["note", "target-name-junk", 28, "szTargetName"]]'
case_end

case_begin "corpus: Flipper Zero full image is valid, wildcard bcdDevice"
run "$DFUINFO" "$FULL"
expect_status 0
expect_stderr_empty
expect_stdout_line "$FULL: DfuSe, 1 target, 1 element, 769737 bytes"
expect_stdout_line "  suffix:    idVendor 0x0483  idProduct 0xdf11  bcdDevice 0xffff (wildcard)  bcdDFU 0x011a  bLength 16"
expect_stdout_line "  crc:       stored 0xb46912a1  computed $(crc_of "$FULL")  ok"
expect_stdout_line '  target 0:  alt 0  "Flipper Zero F7"  769436 bytes  1 element  at 0xb'
expect_stdout_line "    element 0:  0x08000000-0x080bbd93  769428 bytes  at 0x125"
# The wildcard and DFUImageSize without the suffix are facts, not notes.
expect_stdout_lacks "note:"
expect_stdout_line "  verdict: valid"
run "$DFUINFO" -j "$FULL"
expect_json_valid dfuinfo-report
jqe '.files[0].diagnostics == [] and .files[0].notes == 0'
jqe '.files[0].suffix | .device_version == 65535 and .wildcards == ["device_version"]'
jqe '.files[0].valid and .files[0].dfuse_prefix.image_size_convention == "without_suffix"'
case_end

case_begin "corpus: Flipper Zero updater is valid, one odd-sized element in SRAM"
run "$DFUINFO" "$RAM"
expect_status 0
expect_stderr_empty
expect_stdout_line "$RAM: DfuSe, 1 target, 1 element, 107794 bytes"
expect_stdout_line "  crc:       stored 0xb15d3d61  computed $(crc_of "$RAM")  ok"
expect_stdout_line "    element 0:  0x20000000-0x2001a3dc  107485 bytes  at 0x125"
expect_stdout_contains "bcdDevice 0xffff (wildcard)"
expect_stdout_lacks "  error: "
expect_stdout_line "  verdict: valid"
run "$DFUINFO" -j "$RAM"
expect_json_valid dfuinfo-report
jqe '.files[0].targets[0].elements == [{"index": 0, "address": 536870912, "size": 107485, "end": 536978396, "offset": 293}]'
case_end

case_begin "corpus: kiibohd is a valid plain DFU 1.0 file"
run "$DFUINFO" "$KIIBOHD"
expect_status 0
expect_stderr_empty
expect_stdout_line "$KIIBOHD: plain DFU, 60216 bytes"
expect_stdout_line "  suffix:    idVendor 0x1c11  idProduct 0xb007  bcdDevice 0xffff (wildcard)  bcdDFU 0x0100  bLength 16"
expect_stdout_line "  crc:       stored 0xb9d8b067  computed $(crc_of "$KIIBOHD")  ok"
expect_stdout_line "  payload:   60200 bytes"
expect_stdout_lacks "  target "
expect_stdout_lacks "  prefix:"
expect_stdout_lacks "  vendor:"
expect_stdout_line "  verdict: valid"
run "$DFUINFO" -j "$KIIBOHD"
expect_json_valid dfuinfo-report
jqe '.files[0] | .valid and .format == "plain" and .payload_size == 60200 and .dfuse_prefix == null and .vendor_prefix == null and .targets == []'
jqe '.files[0].suffix | .vendor_id == 7185 and .product_id == 45063 and .dfu_version == 256 and .wildcards == ["device_version"]'
jqe '.files[0].diagnostics == []'
case_end

# Team decision (dfuinfo(1), "Vendor prefixes and the CRC"): dwCRC covers
# every byte before it, prefix included, as DFU 1.1, dfu-suffix -c, fwupd
# and dfu-util read it; this file's CRC skips the prefix, so it is invalid.
case_begin "corpus: HackRF LPC prefix, CRC over the payload only, is invalid"
run "$DFUINFO" "$HACKRF"
expect_status 1
expect_stderr_empty
expect_stdout_line "$HACKRF: plain DFU with NXP LPC prefix, 35288 bytes"
expect_stdout_line "  vendor:    NXP LPC prefix, 16 bytes  length 69 blocks"
expect_stdout_line "  suffix:    idVendor 0x1fc9  idProduct 0x000c  bcdDevice 0x0000  bcdDFU 0x0100  bLength 16"
# stored = CRC of the bytes after the prefix; computed = CRC of them all
[ "$(crc_of "$HACKRF" 16)" = 0x1fb74f59 ] || fail "fixture changed: stored CRC is not the CRC after the prefix"
expect_stdout_line "  crc:       stored 0x1fb74f59  computed $(crc_of "$HACKRF")  mismatch"
expect_stdout_line "  payload:   35256 bytes"
grep -qE '^  note: 0x00000000 prefix: .* \(vendor-prefix\)$' "$OUT" ||
	fail "no vendor-prefix note"
grep -E '^  error: 0x000089d4 dwCRC: .* \(crc-mismatch\)$' "$OUT" |
	grep -qF 'matches the bytes after the 16-byte NXP LPC prefix' ||
	fail "the crc-mismatch error does not explain that the CRC skips the prefix"
expect_stdout_line "  verdict: invalid (1 error, 1 note)"
run "$DFUINFO" -j "$HACKRF"
expect_json_valid dfuinfo-report
expect_status 1
jqe '.files[0] | .valid == false and .format == "plain" and .errors == 1 and .notes == 1 and .payload_size == 35256'
jqe '.files[0].vendor_prefix == {"kind": "lpc", "size": 16, "address": 0, "length": 69}'
jqe '.files[0].crc.stored == 532107097 and .files[0].crc.match == false'
jqe '[.files[0].diagnostics[] | [.severity, .code, .offset, .field]] == [["note", "vendor-prefix", 0, "prefix"], ["error", "crc-mismatch", 35284, "dwCRC"]]'
case_end

case_begin "corpus: vlxfirm is not a DFU file"
run "$DFUINFO" "$VLX"
expect_status 1
expect_stderr_empty
expect_stdout_line "$VLX: unknown format, 287264 bytes"
expect_stdout_lacks "  suffix:"
expect_stdout_lacks "  crc:"
grep -qE '^  error: 0x00000000 .*\(not-dfu\)$' "$OUT" || fail "no not-dfu error"
expect_stdout_line "  verdict: invalid (1 error)"
run "$DFUINFO" -j "$VLX"
expect_json_valid dfuinfo-report
jqe '.files[0] | .valid == false and .format == "unknown" and .suffix == null and .crc == null and .errors == 1'
jqe '[.files[0].diagnostics[] | .code] == ["not-dfu"]'
case_end

case_begin "corpus: the whole corpus at once: six reports, exit 1, -q says only why"
run "$DFUINFO" "$VRBRAIN" "$FULL" "$RAM" "$KIIBOHD" "$HACKRF" "$VLX"
expect_status 1
expect_stderr_empty
[ "$(grep -c '^  verdict: valid' "$OUT")" -eq 4 ] || fail "expected 4 valid files"
[ "$(grep -c '^  verdict: invalid' "$OUT")" -eq 2 ] || fail "expected 2 invalid files"
run "$DFUINFO" -q "$VRBRAIN" "$FULL" "$RAM" "$KIIBOHD"
expect_status 0
expect_stdout_empty
expect_stderr_empty
run "$DFUINFO" -q "$VRBRAIN" "$HACKRF"
expect_status 1
expect_stdout_empty
[ "$(wc -l <"$ERR")" -eq 1 ] || fail "expected one line on stderr: $(cat "$ERR")"
expect_stderr_contains "hackrf_one_usb_lpc_prefix.dfu: 0x000089d4 dwCRC: stored 0x1fb74f59, computed 0xf26caa4d over the whole file"
run "$DFUINFO" -j "$VRBRAIN" "$FULL" "$RAM" "$KIIBOHD" "$HACKRF" "$VLX"
expect_status 1
expect_json_valid dfuinfo-report
jqe '[.files[] | .valid] == [true, true, true, true, false, false]'
jqe '[.files[] | .format] == ["dfuse", "dfuse", "dfuse", "plain", "plain", "unknown"]'
case_end

case_begin "corpus: a corpus file through a pipe gives the same report"
run "$DFUINFO" "$VRBRAIN"
sed "1s|^$VRBRAIN:|(stdin):|" "$OUT" >"$TMP/want"
run sh -c 'cat "$1" | "$2" -' sh "$VRBRAIN" "$DFUINFO"
expect_status 0
expect_stdout_file "$TMP/want"
case_end

finish
