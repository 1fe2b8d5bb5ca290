#!/bin/sh
# CLI tests of dfusplit: split, join, extract, merge, edit, the suffix
# operations, round trips over the corpus, and every message a user can
# meet.  Inputs are made with bin2dfu; outputs are checked with dfuinfo's
# JSON, jq and byte comparisons.
. "$(dirname "$0")/lib.sh"
require jq jq

DFUSPLIT=$BUILD/bin/dfusplit

# Three element files with fixed contents and three DfuSe files:
#   A.dfu  alt 0 "Internal Flash": a.bin at 0x08000000
#   B.dfu  alt 1 "Option Bytes":   ob.bin at 0x1fffc000
#   C.dfu  alt 0 "Internal Flash": b.bin at 0x08004000
#   AB.dfu both targets of A and B, 0483:df11, bcdDevice 0x2200
make_inputs() {
	fixed_bytes a.bin 1000 1 &&
	fixed_bytes b.bin 300 2 &&
	fixed_bytes ob.bin 16 3 &&
	"$BIN2DFU" -t "0:Internal Flash" -a 0x08000000:a.bin -o A.dfu &&
	"$BIN2DFU" -t "1:Option Bytes" -a 0x1fffc000:ob.bin -o B.dfu &&
	"$BIN2DFU" -t "0:Internal Flash" -a 0x08004000:b.bin -o C.dfu &&
	"$BIN2DFU" -r 2200 -t "0:Internal Flash" -a 0x08000000:a.bin \
	    -a 0x08004000:b.bin -t "1:Option Bytes" -a 0x1fffc000:ob.bin \
	    -o AB.dfu || fail "bin2dfu failed"
}

# jqf FILE FILTER: run jq on dfuinfo's JSON of FILE.
jqf() {
	"$DFUINFO" --json "$1" | jq -r ".files[0] | $2"
}

# The suffix IDs and every element (target alt, address, size, SHA-256) of
# a DfuSe file, one line each, for comparing two files' content.
content() {
	(
	jqf "$1" '"ids \(.suffix.vendor_id) \(.suffix.product_id) \(.suffix.device_version)"'
	d=$(mktemp -d)
	"$DFUSPLIT" -o "$d" "$1" >/dev/null 2>&1
	jq -r '.targets[] | .alt as $a | .name as $n | .elements[] |
	    "\($a) \($n) \(.address) \(.size) \(.sha256)"' "$d"/*.manifest.json
	rm -rf "$d"
	)
}

# ---- split -----------------------------------------------------------------

case_begin "split: one file per element and a manifest"
cd "$TMP" && make_inputs
run "$DFUSPLIT" -o parts AB.dfu
expect_status 0
expect_stdout_empty
expect_stderr_empty
expect_dir_only parts AB.manifest.json AB.t0-08000000.bin AB.t0-08004000.bin \
    AB.t1-1fffc000.bin
expect_same_bytes parts/AB.t0-08000000.bin a.bin
expect_same_bytes parts/AB.t0-08004000.bin b.bin
expect_same_bytes parts/AB.t1-1fffc000.bin ob.bin
m=parts/AB.manifest.json
expect_json_valid dfusplit-manifest "$m"
[ "$(jq -r '.schema, .format, .source' "$m" | tr '\n' ' ')" = \
    "dfutools/dfusplit-manifest/2 dfuse AB.dfu " ] || fail "manifest header: $(cat "$m")"
# Numbers are JSON numbers (issue 16), the members of a plain file null.
jqe() { jq -e "$1" "$m" >/dev/null || fail "jq -e '$1' is not true: $(cat "$m")"; }
jqe '.suffix == {"vendor_id": 1155, "product_id": 57105, "device_version": 8704, "dfu_version": 282, "extension": null}'
jqe '.vendor_prefix == null and .payload == null'
jqe '[.targets[] | .name_hex] == [null, null]'
[ "$(jq -r '.targets[] | "\(.alt) \(.name) \(.elements | length)"' "$m" | tr '\n' '|')" = \
    "0 Internal Flash 2|1 Option Bytes 1|" ] || fail "manifest targets: $(cat "$m")"
[ "$(jq -r '.targets[0].elements[1] | "\(.address) \(.size) \(.file) \(.format)"' "$m")" = \
    "134234112 300 AB.t0-08004000.bin bin" ] || fail "manifest element: $(cat "$m")"
[ "$(jq -r '.targets[1].elements[0].sha256' "$m")" = \
    "$(sha256sum ob.bin | cut -d' ' -f1)" ] || fail "sha256 differs from sha256sum"
case_end

case_begin "split: the current directory by default, .dfu dropped from the name"
cd "$TMP" && make_inputs && mkdir w && cp A.dfu w/fw.DFU
cd w
run "$DFUSPLIT" fw.DFU
expect_status 0
expect_dir_only . fw.DFU fw.manifest.json fw.t0-08000000.bin
cd "$TMP"
case_end

case_begin "split + join: a canonical file comes back byte for byte"
cd "$TMP" && make_inputs
"$DFUSPLIT" -o parts AB.dfu || fail "split failed"
run "$DFUSPLIT" --join parts/AB.manifest.json -o re.dfu
expect_status 0
expect_stderr_empty
expect_same_bytes re.dfu AB.dfu
case_end

case_begin "join: a manifest of version 1 (no \"schema\") still joins"
# tests/fixtures/manifest-v1: written by the dfusplit before issue 16,
# with string numbers, idVendor... and a name in name_hex only.
cd "$TMP" && cp -R "$FIXTURES/manifest-v1" v1
jq -e 'has("schema") | not' v1/fw.manifest.json >/dev/null ||
    fail "the fixture is not of version 1"
run "$DFUSPLIT" --join v1/fw.manifest.json -o re.dfu
expect_status 0
expect_stderr_empty
expect_same_bytes re.dfu v1/fw.dfu
# Split again, it is version 2, and joins to the same bytes.
run "$DFUSPLIT" -o v2 re.dfu
expect_status 0
expect_json_valid dfusplit-manifest v2/re.manifest.json
jq -e '.targets[1] | .name == "caf\ufffd" and .name_hex == "636166e9"' \
    v2/re.manifest.json >/dev/null || fail "v2: $(cat v2/re.manifest.json)"
run "$DFUSPLIT" --join v2/re.manifest.json -o re2.dfu
expect_status 0
expect_same_bytes re2.dfu v1/fw.dfu
# A plain file's manifest of version 1, with bcdDFU left out.
mkdir pv1 && printf 'payload' >pv1/p.bin
printf '{"dfusplit": 1, "format": "plain", "suffix": {"idVendor": "0x1209", "idProduct": 2, "bcdDevice": "0xffff"}, "payload": {"file": "p.bin"}}\n' >pv1/m.json
run "$DFUSPLIT" --join pv1/m.json -o p.dfu
expect_status 0
[ "$(jqf p.dfu '"\(.suffix.vendor_id) \(.suffix.product_id) \(.suffix.dfu_version) \(.payload_size)"')" = \
    "4617 2 256 7" ] || fail "plain v1: $(jqf p.dfu .suffix)"
case_end

case_begin "split: --format hex and srec join back to the same file"
cd "$TMP" && make_inputs
for fmt in hex srec; do
	run "$DFUSPLIT" --format $fmt -o $fmt AB.dfu
	expect_status 0
	expect_file_exists $fmt/AB.t1-1fffc000.$fmt
	[ "$(jq -r '.targets[0].elements[0].format' $fmt/AB.manifest.json)" = $fmt ] ||
	    fail "$fmt: format not in the manifest"
	run "$DFUSPLIT" --join $fmt/AB.manifest.json -o re-$fmt.dfu
	expect_status 0
	expect_same_bytes re-$fmt.dfu AB.dfu
done
# The HEX is checked independently of our loader: checksums, type 04
# records, the bytes at their addresses.
python3 - hex/AB.t0-08004000.hex b.bin 0x08004000 <<'EOF' || fail "Intel HEX decode"
import sys
data, base, upper, end = {}, int(sys.argv[3], 16), 0, False
for line in open(sys.argv[1]):
    rec = bytes.fromhex(line.strip()[1:])
    assert sum(rec) & 0xff == 0, "checksum"
    n, off, typ = rec[0], rec[1] << 8 | rec[2], rec[3]
    if typ == 4: upper = rec[4] << 8 | rec[5]
    elif typ == 0:
        for i in range(n): data[(upper << 16) + off + i] = rec[4 + i]
    elif typ == 1: end = True
want = open(sys.argv[2], "rb").read()
assert end and sorted(data) == list(range(base, base + len(want)))
assert bytes(data[a] for a in sorted(data)) == want
EOF
python3 - srec/AB.t1-1fffc000.srec ob.bin <<'EOF' || fail "S-record decode"
import sys
lines = open(sys.argv[1]).read().split()
assert lines[0].startswith("S0") and lines[-1].startswith("S7")
got = b""
for l in lines:
    rec = bytes.fromhex(l[2:])
    assert rec[0] == len(rec) - 1 and (sum(rec) & 0xff) == 0xff, l
    if l[1] == "3":
        assert int.from_bytes(rec[1:5], "big") == 0x1fffc000 + len(got)
        got += rec[5:-1]
assert got == open(sys.argv[2], "rb").read()
assert any(l.startswith("S5") and int(l[4:8], 16) == 1 for l in lines)
EOF
case_end

case_begin "split from stdin, join from a manifest on stdin"
cd "$TMP" && make_inputs && mkdir p
run_stdin AB.dfu sh -c 'cd p && exec "$0" -' "$DFUSPLIT"
expect_status 0
expect_dir_only p stdin.manifest.json stdin.t0-08000000.bin \
    stdin.t0-08004000.bin stdin.t1-1fffc000.bin
[ "$(jq -r .source p/stdin.manifest.json)" = "(stdin)" ] || fail "source"
run_stdin p/stdin.manifest.json sh -c 'cd p && exec "$0" --join - -o ../re.dfu' "$DFUSPLIT"
expect_status 0
expect_same_bytes re.dfu AB.dfu
case_end

case_begin "an extended suffix is not kept, with a warning"
cd "$TMP" && make_inputs
python3 -c '
import struct, zlib
d = open("A.dfu", "rb").read()[:-16] + b"EXTR"
d += struct.pack("<4H3sB", 0xffff, 0xdf11, 0x0483, 0x011a, b"UFD", 20)
open("ext.dfu", "wb").write(d + struct.pack("<I", ~zlib.crc32(d) & 0xffffffff))'
run "$DFUSPLIT" --set-vid 1209 -o e.dfu ext.dfu
expect_status 0
expect_stderr_line "dfusplit: ext.dfu: warning: the 4 bytes that extend its suffix (bLength 20) are not kept"
[ "$(stat -c %s e.dfu)" = "$(stat -c %s A.dfu)" ] || fail "size"
case_end

case_begin "split: an HEX element across a 64 KiB boundary"
cd "$TMP"
head -c 100 /dev/zero | tr '\0' '\125' >x.bin
"$BIN2DFU" -a 0x0800ffd0:x.bin -o x.dfu || fail "bin2dfu"
run "$DFUSPLIT" --format hex -o h x.dfu
expect_status 0
grep -q '^:020000040801F1$' h/x.t0-0800ffd0.hex || fail "no type 04 for 0x0801"
"$DFUSPLIT" --join h/x.manifest.json -o re.dfu && expect_same_bytes re.dfu x.dfu
case_end

case_begin "split: two elements at one address get the element index"
cd "$TMP"
: >empty.bin
printf 'abcd' >d.bin
"$BIN2DFU" -a 0x08000000:d.bin --force -a 0x08000000:empty.bin -o z.dfu 2>/dev/null ||
    python3 -c '
import struct, zlib
img = b"DfuSe\x01" + b"\0\0\0\0" + b"\x01"
t = b"Target\x00" + struct.pack("<I", 0) + bytes(255) + struct.pack("<II", 8 + 4 + 8, 2)
els = struct.pack("<II", 0x08000000, 4) + b"abcd" + struct.pack("<II", 0x08000000, 0)
body = img + t + els
body = body[:6] + struct.pack("<I", len(body)) + body[10:]
sfx = struct.pack("<4H3sB", 0xffff, 0xdf11, 0x0483, 0x011a, b"UFD", 16)
d = body + sfx
open("z.dfu", "wb").write(d + struct.pack("<I", ~zlib.crc32(d) & 0xffffffff))
'
run "$DFUSPLIT" -o p z.dfu
expect_status 0
expect_dir_only p z.manifest.json z.t0-08000000.bin z.t0-08000000-e1.bin
"$DFUSPLIT" --join p/z.manifest.json -o re.dfu && expect_same_bytes re.dfu z.dfu
case_end

case_begin "split: a plain file gives its payload; join gives the file back"
cd "$TMP" && make_inputs
"$BIN2DFU" --plain -d 1c11:b007 -r 0203 -o p.dfu a.bin || fail "bin2dfu"
run "$DFUSPLIT" -o parts p.dfu
expect_status 0
expect_dir_only parts p.manifest.json p.payload.bin
expect_same_bytes parts/p.payload.bin a.bin
expect_json_valid dfusplit-manifest parts/p.manifest.json
[ "$(jq -c '[.format, .suffix.vendor_id, .payload.file, .targets, .vendor_prefix]' parts/p.manifest.json)" = \
    '["plain",7185,"p.payload.bin",[],null]' ] || fail "manifest: $(cat parts/p.manifest.json)"
run "$DFUSPLIT" --join parts/p.manifest.json -o re.dfu
expect_status 0
expect_same_bytes re.dfu p.dfu
run "$DFUSPLIT" --format hex -o h p.dfu
expect_status 1
expect_stderr_line "dfusplit: p.dfu: a plain DFU payload has no address, so it cannot be written as hex: use --format bin"
expect_no_file h/p.manifest.json
case_end

case_begin "split: a damaged file is refused with dfuinfo's messages, nothing written"
cd "$TMP" && make_inputs
python3 -c '
d = bytearray(open("A.dfu", "rb").read()); d[300] ^= 1
open("bad.dfu", "wb").write(d)'
run "$DFUSPLIT" -o parts bad.dfu
expect_status 1
"$DFUINFO" bad.dfu | sed -n 's/^  error: /dfusplit: bad.dfu: error: /p' >want
while IFS= read -r line; do expect_stderr_line "$line"; done <want
[ -s want ] || fail "dfuinfo found no error"
expect_stderr_line "dfusplit: bad.dfu: the only error is the CRC: --ignore-crc reads the file anyway"
expect_stderr_line "dfusplit: bad.dfu: not a valid DFU file: nothing written"
expect_no_file parts
case_end

case_begin "split --ignore-crc: rescues the elements of a file whose only fault is its CRC"
cd "$TMP" && make_inputs
python3 -c '
d = bytearray(open("A.dfu", "rb").read()); d[300] ^= 1
open("bad.dfu", "wb").write(d)'
run "$DFUSPLIT" --ignore-crc -o parts bad.dfu
expect_status 0
expect_stderr_contains "dfusplit: bad.dfu: warning: CRC mismatch ignored"
cmp -s parts/bad.t0-08000000.bin a.bin && fail "the changed byte did not come through"
[ "$(cmp parts/bad.t0-08000000.bin a.bin | sed 's/.*byte \([0-9]*\),.*/\1/')" = 8 ] ||
    fail "element bytes differ elsewhere than the flipped byte"
case_end

case_begin "split: a file with another error is refused even with --ignore-crc"
cd "$TMP" && make_inputs
head -c 600 A.dfu >cut.dfu
run "$DFUSPLIT" --ignore-crc -o parts cut.dfu
expect_status 1
expect_stderr_contains "(truncated)"
expect_stderr_line "dfusplit: cut.dfu: not a valid DFU file: nothing written"
case_end

case_begin "split: -o naming a file, not a directory"
cd "$TMP" && make_inputs && : >afile
run "$DFUSPLIT" -o afile A.dfu
expect_status 1
expect_stderr_line "dfusplit: afile: exists and is not a directory"
case_end

case_begin "split: an unreadable input"
cd "$TMP"
run "$DFUSPLIT" -o parts missing.dfu
expect_status 1
expect_stderr_line "dfusplit: missing.dfu: No such file or directory"
expect_no_file parts
case_end

case_begin "split: the corpus survives split + join with its elements and suffix"
cd "$TMP"
n=0
for f in "$CORPUS"/*.dfu "$CORPUS"/*.bin; do
	[ -f "$f" ] || continue
	"$DFUINFO" -q "$f" || continue
	n=$((n + 1))
	b=$(basename "$f")
	rm -rf parts && mkdir parts
	"$DFUSPLIT" -o parts "$f" || { fail "$b: split failed"; continue; }
	"$DFUSPLIT" --join parts/*.manifest.json -o "re-$b" ||
	    { fail "$b: join failed"; continue; }
	"$DFUINFO" -q "re-$b" || fail "$b: the joined file is not valid"
	if [ "$(jqf "$f" .format)" = dfuse ]; then
		[ "$(content "$f")" = "$(content "re-$b")" ] ||
		    fail "$b: elements or suffix changed"
	else
		cmp -s "$f" "re-$b" || fail "$b: plain file changed"
	fi
done
[ $n -ge 3 ] || fail "only $n valid corpus files"
case_end

case_begin "a corpus file survives split + join + merge + edit with its bytes"
cd "$TMP" && make_inputs
f=$CORPUS/flipper_zero_f7_updater_ram.dfu
"$DFUSPLIT" -o p1 "$f" &&
"$DFUSPLIT" --join p1/*.manifest.json -o j.dfu &&
"$DFUSPLIT" --merge --force -o m.dfu j.dfu B.dfu &&
"$DFUSPLIT" --set-vid 1209 --set-name "1:OB" -o e.dfu m.dfu &&
"$DFUSPLIT" -o p2 e.dfu || fail "a step failed"
"$DFUINFO" -q e.dfu || fail "result invalid"
for el in p1/*.bin; do
	expect_same_bytes "$el" "p2/e.${el#p1/*.}"
done
expect_same_bytes p2/e.t1-1fffc000.bin ob.bin
[ "$(jqf e.dfu .suffix.vendor_id)" = 4617 ] || fail "vid"
[ "$(jqf e.dfu .targets[1].name)" = OB ] || fail "name"
case_end

# ---- join errors -------------------------------------------------------------

# A split of AB.dfu in parts/, ready for editing its manifest.
split_ab() {
	make_inputs && "$DFUSPLIT" -o parts AB.dfu || fail "split failed"
	M=parts/AB.manifest.json
	expect_json_valid dfusplit-manifest "$M"
}

# edit_manifest JQ-FILTER: rewrite the manifest through jq.
edit_manifest() {
	jq "$1" "$M" >"$M.new" && mv "$M.new" "$M" || fail "jq $1"
}

case_begin "join: an element file changed after the split"
cd "$TMP" && split_ab
printf 'X' | dd of=parts/AB.t0-08004000.bin bs=1 seek=10 conv=notrunc 2>/dev/null
run "$DFUSPLIT" --join "$M" -o re.dfu
expect_status 1
sum=$(sha256sum parts/AB.t0-08004000.bin | cut -d' ' -f1)
expect_stderr_line "dfusplit: parts/AB.manifest.json: targets[0].elements[1].sha256: parts/AB.t0-08004000.bin has changed since it was split (its SHA-256 is $sum); to use it as it is now, remove the sha256 field"
expect_no_file re.dfu
edit_manifest 'del(.targets[0].elements[1].sha256)'
run "$DFUSPLIT" --join "$M" -o re.dfu
expect_status 0
[ "$(dd if=re.dfu bs=1 skip=$((0x515 + 10)) count=1 2>/dev/null)" = X ] ||
    fail "the new byte is not in the joined file"
"$DFUINFO" -q re.dfu || fail "joined file invalid"
case_end

case_begin "join: an element file of another size"
cd "$TMP" && split_ab
printf 'more' >>parts/AB.t1-1fffc000.bin
edit_manifest 'del(.targets[1].elements[0].sha256)'
run "$DFUSPLIT" --join "$M" -o re.dfu
expect_status 1
expect_stderr_line "dfusplit: parts/AB.manifest.json: targets[1].elements[0].size: parts/AB.t1-1fffc000.bin has 20 bytes, the manifest says 16"
edit_manifest 'del(.targets[1].elements[0].size)'
run "$DFUSPLIT" --join "$M" -o re.dfu
expect_status 0
[ "$(jqf re.dfu '.targets[1].elements[0].size')" = 20 ] || fail "size not taken from the file"
case_end

case_begin "join: a missing element file"
cd "$TMP" && split_ab
rm parts/AB.t0-08000000.bin
run "$DFUSPLIT" --join "$M" -o re.dfu
expect_status 1
expect_stderr_line "dfusplit: parts/AB.t0-08000000.bin: No such file or directory"
expect_no_file re.dfu
case_end

case_begin "join: malformed JSON names the line and column"
cd "$TMP" && split_ab
printf '{\n  "dfusplit": 1,\n  "format": }\n' >"$M"
run "$DFUSPLIT" --join "$M" -o re.dfu
expect_status 1
expect_stderr_contains "dfusplit: parts/AB.manifest.json: line 3, column "
run "$DFUSPLIT" --join parts/none.json -o re.dfu
expect_status 1
expect_stderr_contains "dfusplit: parts/none.json: unable to open"
case_end

case_begin "join: each bad field is named by its path"
cd "$TMP" && split_ab
cp "$M" orig.json
check_field() {
	cp orig.json "$M"
	edit_manifest "$1"
	run "$DFUSPLIT" --join "$M" -o re.dfu
	expect_status 1
	expect_stderr_line "dfusplit: parts/AB.manifest.json: $2"
	expect_no_file re.dfu
}
check_field '.targets[0].elements[0].address = "0xZZ"' \
    'targets[0].elements[0].address: expected a number, such as 0x0483 or 1155'
check_field '.targets[0].elements[0].address = "08000000"' \
    'targets[0].elements[0].address: 08000000 has a leading zero, which could mean octal, decimal or hexadecimal: write 0x08000000 for hexadecimal'
check_field '.targets[0].elements[0].address = 4294967296' \
    'targets[0].elements[0].address: 4294967296 is out of range (0 to 0xffffffff)'
check_field 'del(.targets[0].elements[0].address)' \
    'targets[0].elements[0].address: missing'
check_field '.targets[1].alt = 256' \
    'targets[1].alt: 256 is out of range (0 to 0xff)'
check_field '.suffix.vendor_id = "0x10000"' \
    'suffix.vendor_id: 0x10000 is out of range (0 to 0xffff)'
check_field '.suffix.vendor_id = 65536' \
    'suffix.vendor_id: 65536 is out of range (0 to 0xffff)'
check_field 'del(.suffix.product_id)' 'suffix.product_id: missing'
check_field 'del(.suffix)' 'suffix: missing, or not an object'
check_field '.format = "zip"' 'format: expected "dfuse" or "plain"'
check_field '.schema = "dfutools/dfusplit-manifest/3"' \
    'schema: manifest version 3; this dfusplit reads versions 1 and 2'
check_field '.schema = "dfutools/dfuinfo-report/1"' \
    'schema: expected "dfutools/dfusplit-manifest/2": not a manifest of dfusplit'
check_field 'del(.schema) | .dfusplit = 2' \
    'dfusplit: manifest version is newer; this dfusplit reads versions 1 and 2 ("schema": "dfutools/dfusplit-manifest/2")'
check_field 'del(.schema)' 'dfusplit: missing'
check_field '.targets = []' 'targets: missing, or not a non-empty array'
check_field '.targets[0].name = 7' 'targets[0].name: expected a string without NUL, or null'
check_field '.targets[0].elements[0].format = "elf"' \
    'targets[0].elements[0].format: expected "bin", "hex" or "srec"'
check_field '.targets[0].elements[0].sha256 = "abc"' \
    'targets[0].elements[0].sha256: expected 64 hexadecimal digits'
check_field '.targets[0].elements[1].address = "0x08000010"' \
    'targets[0].elements[1].address: 0x08000010-0x0800013b overlaps element 0 (0x08000000-0x080003e7) of target 0'
case_end

case_begin "join: -o naming an element file is refused"
cd "$TMP" && split_ab
cp parts/AB.t0-08000000.bin keep.bin
run "$DFUSPLIT" --join "$M" -o parts/AB.t0-08000000.bin
expect_status 1
expect_stderr_line "dfusplit: parts/AB.t0-08000000.bin: is the element file parts/AB.t0-08000000.bin: refusing to write over it"
expect_same_bytes parts/AB.t0-08000000.bin keep.bin
case_end

# join_file NAME [OPTIONS]: join $M with element 0 of target 1 (16 bytes)
# taken from NAME, without its SHA-256.
join_file() {
	_f=$1
	shift
	edit_manifest "del(.targets[1].elements[0].sha256) |
	    .targets[1].elements[0].file = \"$_f\""
	run timeout 20 "$DFUSPLIT" --join "$M" "$@" -o re.dfu
}

case_begin "join: element files stay inside the manifest's directory, -P lifts it"
cd "$TMP" && split_ab
cp ob.bin outside.bin
ln -s ../outside.bin parts/out.bin
ln -s AB.t1-1fffc000.bin parts/in.bin
mkdir parts/sub && cp ob.bin parts/sub/ob.bin
for f in "$TMP/outside.bin:$TMP/outside.bin is an absolute path: element files are relative to the manifest's directory (-P allows any path)" \
    "../outside.bin:../outside.bin contains \"..\": element files are inside the manifest's directory (-P allows any path)" \
    "sub/../../outside.bin:sub/../../outside.bin contains \"..\": element files are inside the manifest's directory (-P allows any path)" \
    "out.bin:out.bin leads out of the manifest's directory through a symbolic link (-P allows any path)"; do
	join_file "${f%%:*}"
	expect_status 1
	expect_stderr_line "dfusplit: parts/AB.manifest.json: targets[1].elements[0].file: ${f#*:}"
	expect_no_file re.dfu
	join_file "${f%%:*}" -P
	expect_status 0
	expect_same_bytes re.dfu AB.dfu
	rm -f re.dfu
done
for f in in.bin sub/ob.bin ./sub//ob.bin; do
	join_file "$f"
	expect_status 0
	expect_same_bytes re.dfu AB.dfu
	rm -f re.dfu
done
run "$DFUSPLIT" -P -o x.dfu AB.dfu
expect_status 2
expect_stderr_line "dfusplit: -P: -P is for --join"
case_end

case_begin "join: a FIFO, a device or a directory is refused without being opened"
cd "$TMP" && split_ab
mkfifo parts/fifo
mkdir parts/dir
join_file fifo
expect_status 1
expect_stderr_line "dfusplit: parts/fifo: is a FIFO: element files are regular files, and it was not opened"
expect_no_file re.dfu
join_file dir
expect_status 1
expect_stderr_line "dfusplit: parts/dir: is a directory: element files are regular files, and it was not opened"
# /dev/tty cannot be opened without a controlling terminal (ENXIO; setsid
# makes sure there is none): the message shows that it was not opened.
ln -s /dev/tty parts/tty
join_file tty -P
expect_status 1
expect_stderr_line "dfusplit: parts/tty: is a device: element files are regular files, and it was not opened"
run setsid "$DFUSPLIT" -P --join "$M" -o re.dfu
expect_status 1
expect_stderr_line "dfusplit: parts/tty: is a device: element files are regular files, and it was not opened"
join_file /dev/null -P
expect_status 1
expect_stderr_line "dfusplit: /dev/null: is a device: element files are regular files, and it was not opened"
case_end

case_begin "join: one element file open at a time (3001 elements under ulimit -n 64)"
cd "$TMP"
python3 -c '
import struct, zlib
n = 3001
els = b"".join(struct.pack("<II", 0x08000000 + 16 * i, 16) + bytes([i & 255]) * 16
    for i in range(n))
body = b"DfuSe\x01\0\0\0\0\x01" + b"Target\x00" + struct.pack("<I", 0) + \
    bytes(255) + struct.pack("<II", len(els), n) + els
body = body[:6] + struct.pack("<I", len(body)) + body[10:]
d = body + struct.pack("<4H3sB", 0xffff, 0xdf11, 0x0483, 0x011a, b"UFD", 16)
open("many.dfu", "wb").write(d + struct.pack("<I", ~zlib.crc32(d) & 0xffffffff))'
run sh -c 'ulimit -n 64 && "$0" -o p many.dfu && "$0" --join p/many.manifest.json -o re.dfu' "$DFUSPLIT"
expect_status 0
expect_stderr_empty
expect_same_bytes re.dfu many.dfu
case_end

case_begin "split + join: an extended suffix (bLength 29, 62, 71) is kept"
cd "$TMP" && make_inputs
"$BIN2DFU" --plain -o P.dfu a.bin || fail "bin2dfu"
for f in A P; do
	for len in 29 62 71; do
		python3 -c '
import struct, sys, zlib
src, n = sys.argv[1], int(sys.argv[2])
d = open(src, "rb").read()[:-16] + bytes(range(1, n - 16 + 1))
d += struct.pack("<4H3sB", 0xffff, 0xdf11, 0x0483, 0x011a, b"UFD", n)
open("ext.dfu", "wb").write(d + struct.pack("<I", ~zlib.crc32(d) & 0xffffffff))' $f.dfu $len
		rm -rf p re.dfu
		run "$DFUSPLIT" -o p ext.dfu
		expect_status 0
		[ "$(jq -r .suffix.extension p/ext.manifest.json)" = \
		    "$(python3 -c 'import sys; print(bytes(range(1, int(sys.argv[1]) - 15)).hex())' $len)" ] ||
		    fail "$f $len: extension $(jq -c .suffix p/ext.manifest.json)"
		run "$DFUSPLIT" --join p/ext.manifest.json -o re.dfu
		expect_status 0
		expect_stderr_empty
		expect_same_bytes re.dfu ext.dfu
	done
done
M=p/ext.manifest.json
for v in '"0g"' '"012"' '7' "\"$(printf '%0480d' 0)\""; do
	edit_manifest ".suffix.extension = $v"
	run "$DFUSPLIT" --join "$M" -o re2.dfu
	expect_status 1
	case $v in
	\"000*) expect_stderr_line "dfusplit: p/ext.manifest.json: suffix.extension: 240 bytes; bLength leaves room for at most 239" ;;
	*) expect_stderr_line "dfusplit: p/ext.manifest.json: suffix.extension: expected an even number of hexadecimal digits, or null" ;;
	esac
done
case_end

case_begin "split + join: a target name and a file name that are not UTF-8"
cd "$TMP" && make_inputs
python3 -c '
import struct, zlib
els = struct.pack("<II", 0x08000000, 4) + b"abcd"
name = b"caf\xe9 \xff"
body = b"DfuSe\x01\0\0\0\0\x01" + b"Target\x00" + struct.pack("<I", 1) + \
    name + bytes(255 - len(name)) + struct.pack("<II", len(els), 1) + els
body = body[:6] + struct.pack("<I", len(body)) + body[10:]
d = body + struct.pack("<4H3sB", 0xffff, 0xdf11, 0x0483, 0x011a, b"UFD", 16)
open(b"n\xe9.dfu", "wb").write(d + struct.pack("<I", ~zlib.crc32(d) & 0xffffffff))'
run "$DFUSPLIT" -o p "$(printf 'n\351.dfu')"
expect_status 0
expect_stderr_empty
expect_dir_only p n_.manifest.json n_.t0-08000000.bin
expect_json_valid dfusplit-manifest p/n_.manifest.json
# The name reads with U+FFFD for each bad byte; name_hex keeps the bytes.
jq -e '.targets[0] | [.name, .name_hex] == ["caf\ufffd \ufffd", "636166e920ff"]' \
    p/n_.manifest.json >/dev/null || fail "name: $(jq -c .targets p/n_.manifest.json)"
[ "$(jq -r .source p/n_.manifest.json)" = "$(printf 'n\357\277\275.dfu')" ] ||
    fail "source: $(jq .source p/n_.manifest.json)"
run "$DFUSPLIT" --join p/n_.manifest.json -o re.dfu
expect_status 0
expect_same_bytes re.dfu "$(printf 'n\351.dfu')"
M=p/n_.manifest.json
# name_hex wins: the name only shows it.
edit_manifest '.targets[0].name = "x"'
run "$DFUSPLIT" --join "$M" -o re2.dfu
expect_status 0
expect_same_bytes re2.dfu "$(printf 'n\351.dfu')"
rm re2.dfu
# In version 1 a target has one or the other.
edit_manifest 'del(.schema) | {dfusplit: 1} + . | .suffix |= {idVendor:
    .vendor_id, idProduct: .product_id, bcdDevice: .device_version}'
run "$DFUSPLIT" --join "$M" -o re2.dfu
expect_status 1
expect_stderr_line "dfusplit: p/n_.manifest.json: targets[0].name_hex: a target has \"name\" or \"name_hex\", not both"
edit_manifest '.targets[0].name = null | .targets[0].name_hex = "4100"'
run "$DFUSPLIT" --join "$M" -o re2.dfu
expect_status 1
expect_stderr_line "dfusplit: p/n_.manifest.json: targets[0].name_hex: a NUL byte at 1: a name ends at its first NUL"
edit_manifest '.targets[0].name_hex = "4"'
run "$DFUSPLIT" --join "$M" -o re2.dfu
expect_status 1
expect_stderr_line "dfusplit: p/n_.manifest.json: targets[0].name_hex: expected an even number of hexadecimal digits"
case_end

# ---- one read of every byte, SHA-256 on a second thread (issue 15) --------

# big_inputs: big.dfu, 16 MiB in four elements of 4 MiB (e0.bin .. e3.bin)
# in two targets; past 4 MiB the digests are computed on the second
# thread.
big_inputs() {
	python3 -c '
import random, sys
for i in range(4):
    open("e%d.bin" % i, "wb").write(random.Random(i).randbytes(4 << 20))' &&
	"$BIN2DFU" -t 0 -a 0x08000000:e0.bin -a 0x08400000:e1.bin \
	    -t 1 -a 0x20000000:e2.bin -a 0x20400000:e3.bin -o big.dfu ||
	    fail "bin2dfu big.dfu"
}

# flip_byte FILE OFFSET: change one byte in place.
flip_byte() {
	python3 -c '
import sys
f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2])); b = f.read(1)
f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 1]))' "$1" "$2"
}

# The element files of big.dfu, as split names them.
BIG_FILES="big.t0-08000000.bin big.t0-08400000.bin big.t1-20000000.bin big.t1-20400000.bin"

case_begin "split + join of 16 MiB (hashed on the second thread): the same bytes, sha256sum's digests"
cd "$TMP" && big_inputs
run "$DFUSPLIT" -o p big.dfu
expect_status 0
expect_stderr_empty
expect_dir_only p big.manifest.json $BIG_FILES
i=0
for f in $BIG_FILES; do
	expect_same_bytes p/$f e$i.bin
	[ "$(jq -r ".targets[$((i / 2))].elements[$((i % 2))].sha256" p/big.manifest.json)" = \
	    "$(sha256sum e$i.bin | cut -d' ' -f1)" ] || fail "digest of $f"
	i=$((i + 1))
done
run "$DFUSPLIT" --join p/big.manifest.json -o re.dfu
expect_status 0
expect_stderr_empty
expect_same_bytes re.dfu big.dfu
case_end

# Bytes that the process read (read, pread64), from strace's log.
bytes_read() {
	sed -n 's/.*\<\(read\|pread64\)(.* = \([0-9][0-9]*\)$/\2/p' "$1" |
	    awk '{ n += $1 } END { print n + 0 }'
}

case_begin "split and join read each byte of their input once"
cd "$TMP" && big_inputs
if ! have strace; then
	skip_case "needs strace"
elif [ -n "$SAN_FLAGS" ]; then
	skip_case "LeakSanitizer does not work under strace"
else
	size=$(wc -c <big.dfu)
	run strace -f -e trace=read,pread64 -o trace "$DFUSPLIT" -o p big.dfu
	expect_status 0
	n=$(bytes_read trace)
	# The input once, and a little more (libraries, /proc).
	[ "$n" -ge "$size" ] && [ "$n" -lt $((size + (1 << 20))) ] ||
	    fail "split read $n bytes of a $size-byte input"
	run strace -f -e trace=read,pread64 -o trace "$DFUSPLIT" --join \
	    p/big.manifest.json -o re.dfu
	expect_status 0
	n=$(bytes_read trace)
	[ "$n" -ge $((16 << 20)) ] && [ "$n" -lt $(((16 << 20) + (1 << 20))) ] ||
	    fail "join read $n bytes of 16 MiB of element files"
	expect_same_bytes re.dfu big.dfu
fi
case_end

case_begin "split: a CRC that fails at the end of 16 MiB: nothing placed, the old files kept"
cd "$TMP" && big_inputs
flip_byte big.dfu $((8 << 20))
mkdir p && echo old >p/big.t0-08000000.bin
run "$DFUSPLIT" -o p big.dfu
expect_status 1
expect_stderr_contains "dfusplit: big.dfu: error: "
expect_stderr_contains "the file is damaged or was changed after its suffix was written (crc-mismatch)"
expect_stderr_line "dfusplit: big.dfu: the only error is the CRC: --ignore-crc reads the file anyway"
expect_stderr_line "dfusplit: big.dfu: not a valid DFU file: nothing written"
expect_dir_only p big.t0-08000000.bin
[ "$(cat p/big.t0-08000000.bin)" = old ] || fail "old element file changed"
run "$DFUSPLIT" --ignore-crc -o q big.dfu
expect_status 0
expect_stderr_contains "dfusplit: big.dfu: warning: CRC mismatch ignored"
expect_dir_only q big.manifest.json $BIG_FILES
case_end

case_begin "join: an element file changed in its middle (16 MiB): the write stops, nothing placed"
cd "$TMP" && big_inputs
"$DFUSPLIT" -o p big.dfu || fail "split"
flip_byte p/big.t0-08400000.bin $((2 << 20))
echo old >re.dfu
run "$DFUSPLIT" --join p/big.manifest.json -o re.dfu
expect_status 1
sum=$(sha256sum p/big.t0-08400000.bin | cut -d' ' -f1)
expect_stderr_line "dfusplit: p/big.manifest.json: targets[0].elements[1].sha256: p/big.t0-08400000.bin has changed since it was split (its SHA-256 is $sum); to use it as it is now, remove the sha256 field"
[ "$(cat re.dfu)" = old ] || fail "the old output changed"
expect_dir_only . big.dfu e0.bin e1.bin e2.bin e3.bin p re.dfu
case_end

# A library that makes read() and pread() fail with EIO in the seventh
# MiB of any regular file (where big.dfu holds no header): a disk that
# fails in the middle of an input.
FAILREAD='
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#define AT (6L << 20)
static int
bad(int fd, off_t off)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    off >= AT && off < AT + (1L << 20);
}
ssize_t
read(int fd, void *buf, size_t n)
{
	static ssize_t (*real)(int, void *, size_t);

	if (real == NULL)
		real = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
	if (bad(fd, lseek(fd, 0, SEEK_CUR))) {
		errno = EIO;
		return -1;
	}
	return real(fd, buf, n);
}
ssize_t
pread64(int fd, void *buf, size_t n, off_t off)
{
	static ssize_t (*real)(int, void *, size_t, off_t);

	if (real == NULL)
		real = (ssize_t (*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT,
		    "pread64");
	if (bad(fd, off)) {
		errno = EIO;
		return -1;
	}
	return real(fd, buf, n, off);
}
'
case_begin "split and join: a read that fails in the middle of an input: nothing placed, the input named"
cd "$TMP" && big_inputs
if preload_ok; then
	build_preload failread "$FAILREAD"
	mkdir p && echo old >p/big.t0-08000000.bin
	run env LD_PRELOAD="$PRE/failread.so" "$DFUSPLIT" -o p big.dfu
	expect_status 1
	expect_stderr_line "dfusplit: big.dfu: read: Input/output error"
	expect_dir_only p big.t0-08000000.bin
	[ "$(cat p/big.t0-08000000.bin)" = old ] || fail "old element file changed"
	# One element file of 8 MiB: the failure comes 6 MiB into it.
	cat e0.bin e1.bin >e01.bin
	"$BIN2DFU" -t 0 -a 0x08000000:e01.bin -t 1 -a 0x20000000:e2.bin \
	    -o two.dfu || fail "bin2dfu two.dfu"
	"$DFUSPLIT" -o q two.dfu || fail "split two.dfu"
	echo old >re.dfu
	run env LD_PRELOAD="$PRE/failread.so" "$DFUSPLIT" --join \
	    q/two.manifest.json -o re.dfu
	expect_status 1
	expect_stderr_line "dfusplit: q/two.t0-08000000.bin: read: Input/output error"
	[ "$(cat re.dfu)" = old ] || fail "the old output changed"
	expect_dir_only . big.dfu e0.bin e1.bin e2.bin e3.bin e01.bin p q re.dfu \
	    two.dfu
fi
case_end

# ---- extract -------------------------------------------------------------------

case_begin "extract: -t and -n keep the matching targets"
cd "$TMP" && make_inputs
run "$DFUSPLIT" -t 1 -o ob.dfu AB.dfu
expect_status 0
[ "$(jqf ob.dfu '[.targets[] | "\(.alt) \(.name)"] | join("|")')" = \
    "1 Option Bytes" ] || fail "-t 1: $(jqf ob.dfu .targets)"
[ "$(jqf ob.dfu '.suffix.device_version')" = 8704 ] || fail "suffix not kept"
run "$DFUSPLIT" -n "Internal Flash" -o if.dfu AB.dfu
expect_status 0
[ "$(jqf if.dfu '[.targets[] | .alt] | join(",")')" = 0 ] || fail "-n"
[ "$(content if.dfu | grep -c 'Internal Flash')" = 2 ] || fail "-n: elements"
run "$DFUSPLIT" -t 1 -n "Internal Flash" -o both.dfu AB.dfu
expect_status 0
expect_same_bytes both.dfu AB.dfu
case_end

case_begin "extract: a target that is not there"
cd "$TMP" && make_inputs
run "$DFUSPLIT" -t 5 -n Nope -o x.dfu AB.dfu
expect_status 1
expect_stderr_line "dfusplit: AB.dfu: -t 5: no target has alternate setting 5"
expect_stderr_line "dfusplit: AB.dfu: -n Nope: no target has that name"
expect_no_file x.dfu
case_end

# ---- merge -------------------------------------------------------------------

case_begin "merge: targets combined by alt setting, in order of appearance"
cd "$TMP" && make_inputs
run "$DFUSPLIT" --merge -o M.dfu C.dfu B.dfu A.dfu
expect_status 0
expect_stderr_empty
[ "$(jqf M.dfu '[.targets[] | "\(.alt):\([.elements[] | .address] | join(","))"] | join(" ")')" = \
    "0:134217728,134234112 1:536854528" ] || fail "$(jqf M.dfu .targets)"
"$DFUINFO" -q M.dfu || fail "merged file invalid"
"$DFUSPLIT" -o parts M.dfu || fail "split"
expect_same_bytes parts/M.t0-08000000.bin a.bin
expect_same_bytes parts/M.t0-08004000.bin b.bin
expect_same_bytes parts/M.t1-1fffc000.bin ob.bin
case_end

case_begin "merge: fwupdtool reads the merged file: three chunks, the option bytes named"
cd "$TMP" && make_inputs
if have fwupdtool; then
	"$DFUSPLIT" --merge -o M.dfu C.dfu B.dfu A.dfu || fail "merge"
	fwupdtool firmware-parse M.dfu dfuse >fw.xml 2>/dev/null ||
	    fail "fwupdtool refused the merged file"
	grep -q '<id>Option Bytes</id>' fw.xml || fail "fwupdtool: no Option Bytes"
	[ "$(grep -c '<addr>' fw.xml)" = 3 ] || fail "fwupdtool: not 3 chunks"
else
	skip_case "fwupdtool not installed (Debian package fwupd)"
fi
case_end

case_begin "merge: elements with the same bytes where they overlap become one"
cd "$TMP" && make_inputs
head -c 600 a.bin >a1.bin
tail -c 700 a.bin >a2.bin
"$BIN2DFU" -a 0x08000000:a1.bin -o P1.dfu &&
"$BIN2DFU" -a 0x0800012c:a2.bin -o P2.dfu || fail "bin2dfu"
run "$DFUSPLIT" --merge -o M.dfu P1.dfu P2.dfu A.dfu
expect_status 0
[ "$(jqf M.dfu '[.targets[0].elements[] | "\(.address) \(.size)"] | join(",")')" = \
    "134217728 1000" ] || fail "$(jqf M.dfu .targets)"
"$DFUSPLIT" -o parts M.dfu && expect_same_bytes parts/M.t0-08000000.bin a.bin
run "$DFUSPLIT" --merge -o same.dfu A.dfu A.dfu
expect_status 0
[ "$(jqf same.dfu '.targets[0].elements | length')" = 1 ] || fail "A + A"
case_end

case_begin "merge: overlapping elements with different bytes name both sources"
cd "$TMP" && make_inputs
"$BIN2DFU" -a 0x08000100:b.bin -o D.dfu || fail "bin2dfu"
run "$DFUSPLIT" --merge -o M.dfu A.dfu D.dfu
expect_status 1
byte_a=$(od -An -tx1 -j 256 -N1 a.bin | tr -d ' ')
byte_b=$(od -An -tx1 -j 0 -N1 b.bin | tr -d ' ')
expect_stderr_line "dfusplit: A.dfu target 0 element 0 (0x08000000-0x080003e7) and D.dfu target 0 element 0 (0x08000100-0x0800022b) overlap with different bytes: at 0x08000100, 0x$byte_a against 0x$byte_b"
expect_no_file M.dfu
case_end

case_begin "merge: different device IDs or names need --force"
cd "$TMP" && make_inputs
"$BIN2DFU" -d 1209:0001 -t "1:Option Bytes" -a 0x1fffc000:ob.bin -o E.dfu &&
"$BIN2DFU" -t "0:Flash" -a 0x08004000:b.bin -o F.dfu || fail "bin2dfu"
run "$DFUSPLIT" --merge -o M.dfu A.dfu E.dfu
expect_status 1
expect_stderr_line "dfusplit: A.dfu is for 0483:df11 bcdDevice ffff, E.dfu for 1209:0001 bcdDevice ffff (--force takes the first file's)"
run "$DFUSPLIT" --merge --force -o M.dfu A.dfu E.dfu
expect_status 0
[ "$(jqf M.dfu '.suffix.vendor_id')" = 1155 ] || fail "not the first file's suffix"
run "$DFUSPLIT" --merge -o N.dfu A.dfu F.dfu
expect_status 1
expect_stderr_line "dfusplit: alternate setting 0 is named \"Internal Flash\" in A.dfu and \"Flash\" in F.dfu (--force keeps the first name)"
run "$DFUSPLIT" --merge --force -o N.dfu A.dfu F.dfu
expect_status 0
[ "$(jqf N.dfu '.targets[0].name')" = "Internal Flash" ] || fail "name"
case_end

case_begin "merge: -o naming an input is refused, with no --in-place hint (merge takes none)"
cd "$TMP" && make_inputs && cp A.dfu keep.dfu
run "$DFUSPLIT" --merge -o A.dfu A.dfu B.dfu
expect_status 1
expect_stderr_line "dfusplit: A.dfu: is the input A.dfu: refusing to write over it"
expect_same_bytes A.dfu keep.dfu
case_end

case_begin "merge: a plain file cannot be merged"
cd "$TMP" && make_inputs
"$BIN2DFU" --plain -o p.dfu a.bin || fail "bin2dfu"
run "$DFUSPLIT" --merge -o M.dfu A.dfu p.dfu
expect_status 1
expect_stderr_line "dfusplit: p.dfu: a plain DFU file has no targets: --merge is for DfuSe files"
expect_no_file M.dfu
case_end

# ---- edit --------------------------------------------------------------------

case_begin "edit: suffix IDs, names, alt settings and addresses"
cd "$TMP" && make_inputs
run "$DFUSPLIT" --set-vid 1209 --set-pid 70b1 --set-bcddevice 0102 \
    --set-name "0:App" --set-name 1: --set-alt 0:1 --set-alt 1:0 \
    --set-address 0x08004000:0x08008000 -o E.dfu AB.dfu
expect_status 0
"$DFUINFO" -q E.dfu || fail "edited file invalid"
[ "$(jqf E.dfu '"\(.suffix.vendor_id) \(.suffix.product_id) \(.suffix.device_version)"')" = \
    "4617 28849 258" ] || fail "suffix: $(jqf E.dfu .suffix)"
[ "$(jqf E.dfu '[.targets[] | "\(.alt) \(.named) \(.name)"] | join("|")')" = \
    "1 1 App|0 0 null" ] || fail "targets: $(jqf E.dfu .targets)"
[ "$(jqf E.dfu '[.targets[0].elements[] | .address] | join(",")')" = \
    "134217728,134250496" ] || fail "addresses: $(jqf E.dfu .targets)"
"$DFUSPLIT" -o parts E.dfu && expect_same_bytes parts/E.t0-08008000.bin b.bin
case_end

case_begin "edit: element and alt errors"
cd "$TMP" && make_inputs
"$BIN2DFU" -t 0 -a 0x100:a.bin -t 1 -a 0x100:b.bin -o two.dfu || fail "bin2dfu"
run "$DFUSPLIT" --set-address 0x100:0x200 -o x.dfu two.dfu
expect_status 1
expect_stderr_line "dfusplit: two.dfu: --set-address 0x100:0x200: 2 elements start at 0x00000100; say which with alt/0x100:0x200"
run "$DFUSPLIT" --set-address 1/0x100:0x200 -o x.dfu two.dfu
expect_status 0
run "$DFUSPLIT" --set-address 0x300:0x200 -o y.dfu two.dfu
expect_status 1
expect_stderr_line "dfusplit: two.dfu: --set-address 0x300:0x200: no element starts at 0x00000300"
run "$DFUSPLIT" --set-address 0x08004000:0x08000200 -o y.dfu AB.dfu
expect_status 1
expect_stderr_line "dfusplit: y.dfu: AB.dfu target 0 element 1 (0x08000200-0x0800032b): 0x08000200-0x0800032b overlaps element 0 (0x08000000-0x080003e7) of target 0"
run "$DFUSPLIT" --set-alt 0:1 -o y.dfu AB.dfu
expect_status 1
expect_stderr_line "dfusplit: AB.dfu: --set-alt: two targets would have alternate setting 1 (--force allows it)"
run "$DFUSPLIT" --set-alt 0:1 --force -o y.dfu AB.dfu
expect_status 0
run "$DFUSPLIT" --set-alt 7:1 -o z.dfu AB.dfu
expect_status 1
expect_stderr_line "dfusplit: AB.dfu: --set-alt 7:1: no target has alternate setting 7"
run "$DFUSPLIT" --set-name 7:x -o z.dfu AB.dfu
expect_status 1
expect_stderr_line "dfusplit: AB.dfu: --set-name 7:x: no target has alternate setting 7"
expect_no_file z.dfu
case_end

case_begin "edit: --in-place replaces the file by rename, -o over the input is refused"
cd "$TMP" && make_inputs && mkdir d && cp AB.dfu d/
run "$DFUSPLIT" --set-vid 1209 -o d/AB.dfu d/AB.dfu
expect_status 1
expect_stderr_line "dfusplit: d/AB.dfu: is the input d/AB.dfu: refusing to write over it (use --in-place)"
expect_same_bytes d/AB.dfu AB.dfu
ino=$(stat -c %i d/AB.dfu)
run "$DFUSPLIT" --set-vid 1209 --in-place d/AB.dfu
expect_status 0
expect_dir_only d AB.dfu
[ "$(jqf d/AB.dfu .suffix.vendor_id)" = 4617 ] || fail "vid not set"
[ "$(stat -c %i d/AB.dfu)" != "$ino" ] || fail "written in place, not renamed"
[ "$(content d/AB.dfu | tail -n +2)" = "$(content AB.dfu | tail -n +2)" ] ||
    fail "elements changed"
case_end

case_begin "edit: a plain file takes new IDs; its payload stays, prefix included"
cd "$TMP"
cp "$CORPUS"/kiibohd_ktype_plain_suffix.dfu.bin k.dfu 2>/dev/null ||
    "$BIN2DFU" --plain -o k.dfu "$ROOT/examples/blinky-f411.bin"
run "$DFUSPLIT" --set-vid 1209 --set-pid 0002 -o k2.dfu k.dfu
expect_status 0
"$DFUINFO" -q k2.dfu || fail "invalid"
cmp -s k.dfu k2.dfu && fail "nothing changed"
[ "$(head -c -16 k.dfu | sha256sum)" = "$(head -c -16 k2.dfu | sha256sum)" ] ||
    fail "payload changed"
[ "$(jqf k2.dfu '"\(.suffix.vendor_id) \(.suffix.product_id) \(.suffix.dfu_version)"')" = \
    "4617 2 $(jqf k.dfu .suffix.dfu_version)" ] || fail "suffix: $(jqf k2.dfu .suffix)"
run "$DFUSPLIT" -t 0 -o k3.dfu k.dfu
expect_status 1
expect_stderr_line "dfusplit: k.dfu: a plain DFU file has no targets or addresses: only --set-vid, --set-pid and --set-bcddevice apply"
expect_no_file k3.dfu
case_end

# ---- suffix operations -------------------------------------------------------

case_begin "strip and add: a plain file and its payload, both ways"
cd "$TMP" && make_inputs
run "$DFUSPLIT" --add-suffix -d 1c11:b007 -r 0203 -o p.dfu a.bin
expect_status 0
"$BIN2DFU" --plain -d 1c11:b007 -r 0203 -o want.dfu a.bin
expect_same_bytes p.dfu want.dfu
run "$DFUSPLIT" --strip-suffix -o back.bin p.dfu
expect_status 0
expect_same_bytes back.bin a.bin
cp p.dfu q.dfu
run "$DFUSPLIT" --strip-suffix --in-place q.dfu
expect_status 0
expect_same_bytes q.dfu a.bin
case_end

case_begin "strip: a file without a suffix is an error, not a truncation"
cd "$TMP" && make_inputs && cp a.bin keep.bin
run "$DFUSPLIT" --strip-suffix --in-place a.bin
expect_status 1
expect_stderr_contains "dfusplit: a.bin: error: 0x00000000 file: neither a DfuSe prefix nor a DFU suffix"
expect_same_bytes a.bin keep.bin
run "$DFUSPLIT" --strip-suffix -o x.bin AB.dfu
expect_status 1
expect_stderr_line "dfusplit: AB.dfu: a DfuSe file needs its suffix; split it to get its elements"
expect_no_file x.bin
case_end

case_begin "add: a file that has a suffix needs --force; an empty file is refused"
cd "$TMP" && make_inputs
"$BIN2DFU" --plain -o p.dfu a.bin
run "$DFUSPLIT" --add-suffix -o pp.dfu p.dfu
expect_status 1
expect_stderr_line "dfusplit: p.dfu: already ends with a DFU suffix (ffff:ffff bcdDevice ffff); --force adds another"
expect_no_file pp.dfu
run "$DFUSPLIT" --add-suffix --force -o pp.dfu p.dfu
expect_status 0
[ "$(stat -c %s pp.dfu)" = $(( $(stat -c %s p.dfu) + 16 )) ] || fail "size"
: >empty.bin
run "$DFUSPLIT" --add-suffix -o e.dfu empty.bin
expect_status 1
expect_stderr_line "dfusplit: empty.bin: empty file: nothing to add a suffix to"
case_end

case_begin "add: a DfuSe image without its suffix gets bcdDFU 0x011a"
cd "$TMP" && make_inputs
head -c -16 A.dfu >nosuffix.dfu
run "$DFUSPLIT" --add-suffix -d 0483:df11 -o A2.dfu nosuffix.dfu
expect_status 0
expect_same_bytes A2.dfu A.dfu
case_end

# ---- usage -------------------------------------------------------------------

case_begin "usage errors exit 2"
cd "$TMP" && make_inputs
check_usage() {
	want=$1
	shift
	run "$DFUSPLIT" "$@"
	expect_status 2
	expect_stderr_line "$want"
}
check_usage "dfusplit: --merge cannot be used with --join" --join m.json --merge -o x A.dfu
check_usage "dfusplit: missing -o output" --join m.json
check_usage "dfusplit: -: standard input can be read only once" --merge -o x - A.dfu -
check_usage "dfusplit: missing -o output (or --in-place)" --set-vid 1 A.dfu
check_usage "dfusplit: --in-place: -o and --in-place exclude each other" --set-vid 1 --in-place -o x A.dfu
check_usage "dfusplit: --in-place: --in-place needs a mode that changes one file" --in-place A.dfu
check_usage "dfusplit: --format: --format is for splitting" --format hex -t 0 -o x A.dfu
check_usage "dfusplit: --format zip: expected bin, hex or srec" --format zip A.dfu
check_usage "dfusplit: -d/-r: -d and -r are for --add-suffix; use --set-vid, --set-pid, --set-bcddevice" -d 1:2 -o x A.dfu
check_usage "dfusplit: -t 300: alternate setting is not a number from 0 to 255" -t 300 -o x A.dfu
check_usage "dfusplit: --set-vid 12345: not a hexadecimal number up to ffff" --set-vid 12345 -o x A.dfu
check_usage "dfusplit: --set-name 0: expected alt:name" --set-name 0 -o x A.dfu
check_usage "dfusplit: --set-alt 1: expected old:new" --set-alt 1 -o x A.dfu
check_usage "dfusplit: --set-address 0x1: expected [alt/]old:new" --set-address 0x1 -o x A.dfu
check_usage "dfusplit: --set-address x:0x2: addresses are not 32-bit numbers" --set-address x:0x2 -o x A.dfu
check_usage "dfusplit: --set-address 08000000:0x2: 08000000 has a leading zero, which could mean octal, decimal or hexadecimal: write 0x08000000 for hexadecimal or 8000000 for decimal" --set-address 08000000:0x2 -o x A.dfu
check_usage "dfusplit: --set-address 0x1:010: 010 has a leading zero, which could mean octal, decimal or hexadecimal: write 0x010 for hexadecimal or 10 for decimal" --set-address 0x1:010 -o x A.dfu
check_usage "dfusplit: --set-address 01/0x1:0x2: 01 has a leading zero, which could mean octal, decimal or hexadecimal: write 0x01 for hexadecimal or 1 for decimal" --set-address 01/0x1:0x2 -o x A.dfu
check_usage "dfusplit: B.dfu: unexpected argument: one input file only, except with --merge" -t 0 -o x A.dfu B.dfu
check_usage "dfusplit: no input file" -o x
check_usage "dfusplit: -o -: split writes files into a directory, not to standard output" -o - A.dfu
check_usage "dfusplit: --merge: -t and -n cannot be used with --merge; extract from the merged file" --merge -t 0 -o x A.dfu B.dfu
check_usage "dfusplit: unknown option: --bogus" --bogus A.dfu
check_usage "dfusplit: option needs an argument: -o" A.dfu -o
expect_no_file x
case_end

case_begin "the usage equals the SYNOPSIS of dfusplit(1)"
expect_usage_synopsis "$DFUSPLIT" dfusplit.1
case_end

case_begin "-h and -V"
run "$DFUSPLIT" -h
expect_status 0
expect_stdout_contains "usage: dfusplit"
run "$DFUSPLIT" -V
expect_status 0
expect_stdout_line "dfusplit $(sed -n 's/^#define DFUFILE_VERSION_STRING "\(.*\)"$/\1/p' "$ROOT/common/dfufile.h")"
case_end

finish
