#!/bin/sh
# End to end: the real dfuflash, through the real libusb, against the
# device model on emulated USB (tests/usbhost, umockdev).  Listing (text
# and JSON), programming with leave, --verify, --skip-unchanged, -U, a
# plain DFU 1.1 device, a run-time device that detaches and comes back
# with another PID, two devices and -S/-p, permission denied, a stall, an
# error status, a lost device, no device, wTransferSize 0, -a by name,
# --transfer-size, --all (many devices at once, one failing).  Flash
# contents are checked here with python3, from the state files usbhost
# saves, independently of dfuflash.
. "$(dirname "$0")/lib.sh"
require jq jq

DFUFLASH=$BUILD/bin/dfuflash
MIB=1048576
F405_FLASH="@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg"

require_usbhost

begin() {
	case_begin "$1"
	cd "$TMP" || exit 1
}

# host ARGS...: usbhost --stats stats.json ARGS (usbhost ran above, so a
# skip now would be a failure of the case).
host() {
	rm -f stats.json
	run "$USBHOST" --stats stats.json "$@"
}

# stat_of N KEY: field KEY of device N (from 0) in stats.json.
stat_of() {
	python3 -c 'import json, sys
print(json.dumps(json.load(open("stats.json"))[int(sys.argv[1])][sys.argv[2]]))' "$1" "$2"
}

# expect_stat N KEY VALUE: field KEY of device N (from 0) in stats.json.
expect_stat() {
	_v=$(stat_of "$1" "$2") || { fail "no stats"; return; }
	[ "$_v" = "$3" ] || fail "stats: device $1 $2 is $_v, expected $3"
}

# expect_flash STATE OLD BASE PAGES DFU: every element of the DfuSe file
# DFU is in STATE (flash from BASE); the other bytes of the pages PAGES
# (python list of (offset, size)) are 0xff; all bytes outside those pages
# are as in OLD.  Decoded by tests/cli/image_check.py.
expect_flash() {
	python3 "$ROOT/tests/cli/image_check.py" flash "$@" ||
	    fail "$1 is not $2 with $5 programmed"
}

# plaindfu OUT PAYLOAD VID PID: a plain DFU 1.1 file (DFU 1.1 appendix B:
# suffix with bcdDFU 0x0100, CRC-32 without the final XOR).
plaindfu() {
	python3 -c 'import struct, sys, zlib
p = open(sys.argv[2], "rb").read()
d = p + struct.pack("<HHHH3sB", 0xffff, int(sys.argv[4], 16), int(sys.argv[3], 16), 0x0100, b"UFD", 16)
open(sys.argv[1], "wb").write(d + struct.pack("<I", ~zlib.crc32(d) & 0xffffffff))' "$@"
}

# The firmware: 40000 bytes at 0x08004000, in sectors 1 to 3 of the
# STM32F405 (16 KiB each); sector 0 and sector 4 (64 KiB) hold data that
# must survive.
fixture() {
	mkbin app.bin 40000 1
	"$BUILD/bin/bin2dfu" -a 0x08004000:app.bin -o app.dfu ||
	    fail "bin2dfu failed"
	mkstate flash.img $MIB 0 16384 2 0x10000 65536 3
	cp flash.img old.img
}
PAGES="[(0x4000, 0x4000), (0x8000, 0x4000), (0xc000, 0x4000)]"

# ---- listing -------------------------------------------------------------

begin "-l lists a device with its alt settings and their memory layout"
host --device f405 --device dfu11,serial=PLAIN -- "$DFUFLASH" -l
expect_status 0
expect_stdout_line '1-1 0483:df11 serial "DFU000000001" bcdDevice 2200, DFU mode, DFU 1.1a (DfuSe), transfer size 2048, detach timeout 255 ms, attributes 0x0b: can-download can-upload will-detach'
expect_stdout_line "  alt 0 \"$F405_FLASH\""
expect_stdout_line "    0x08000000-0x0800ffff 4 x 16384 bytes, readable, erasable, writable"
expect_stdout_line "    0x08020000-0x080fffff 7 x 131072 bytes, readable, erasable, writable"
expect_stdout_line '  alt 1 "@Option Bytes  /0x1FFFC000/01*016 e"'
expect_stdout_line "    0x1fffc000-0x1fffc00f 1 x 16 bytes, readable, writable"
expect_stdout_contains '1-2 1209:0001 serial "PLAIN" '
expect_stdout_contains ", DFU mode, DFU 1.10, transfer size 1024, "
case_end

begin "-l --json: the contract's document, checked with jq"
host --device f405 --device f405,runtime=5740,serial=RT --device f405,access=denied -- "$DFUFLASH" -l --json
expect_status 0
expect_json_valid device-list
cp "$OUT" out.json
# Every key there, null where the device says nothing (issue 16).
jq -e '[.devices[] | keys] | unique | length == 1' out.json >/dev/null ||
    fail "the devices have different keys"
jq -e '.devices[2] | .serial == null and .serial_utf16 == null and .descriptor_error == null and .quirks == []' out.json >/dev/null ||
    fail "no access: $(jq -c '.devices[2]' out.json)"
run jq -c '.devices | length, .[0].path, .[0].vendor_id, .[0].product_id, .[0].serial, .[0].device_version, .[0].mode, .[0].dfu_version, .[0].transfer_size, .[0].detach_timeout_ms, .[0].attributes, .[0].access, (.[0].alts | length), .[0].alts[0].name, .[0].alts[0].layout.name, .[0].alts[0].layout.regions[0], .[0].alts[1].layout.regions[0].erasable, .[1].mode, .[1].product_id, .[1].serial, .[1].alts[0].layout, .[2].access, .[2].serial, .[2].alts[0].name' out.json
expect_status 0
cat >want.txt <<EOF
3
"1-1"
1155
57105
"DFU000000001"
8704
"dfu"
282
2048
255
{"can_download":true,"can_upload":true,"manifestation_tolerant":false,"will_detach":true}
true
4
"$F405_FLASH"
"Internal Flash"
{"address":134217728,"pages":4,"page_size":16384,"readable":true,"erasable":true,"writable":true}
false
"runtime"
22336
"RT"
null
false
null
null
EOF
expect_stdout_file want.txt
case_end

begin "-l: a layout the parser read past UM0424 shows its note, in text and JSON"
# The STM32F722 ROM's OTP string "01*528e" has no multiplier (fwupd#2062):
# read as 528 bytes, and the listing says so, as dfuinfo -L does.
host --device f722 -- "$DFUFLASH" -l
expect_status 0
expect_stdout_line "    note: offset 30: page size 528 has no multiplier before type 'e': read as bytes (no-multiplier)"
[ "$(grep -c 'note:' "$OUT")" -eq 1 ] || fail "notes on other alts"
host --device f722 -- "$DFUFLASH" -l --json
expect_status 0
expect_json_valid device-list
cp "$OUT" out.json
run jq -c '[.devices[0].alts[] | .layout.notes]' out.json
expect_stdout_line '[[],[],[{"code":"no-multiplier","offset":30,"message":"page size 528 has no multiplier before type '"'e'"': read as bytes"}],[]]'
case_end

begin "-l --json escapes the strings a device sends"
host --device 'f405,serial=A"B/C' -- "$DFUFLASH" -l --json
expect_status 0
expect_json_valid device-list
cp "$OUT" out.json
run jq -r '.devices[0].serial' out.json
expect_status 0
expect_stdout_line 'A"B/C'
case_end

begin "-l -S, -p, -d list only what they select; dfuinfo -L reads the saved list"
host --device f405 --device dfu11,serial=PLAIN -- sh -c '
	"$1" -l -S PLAIN >s.txt && "$1" -l -p 1-1 >p.txt &&
	"$1" -l -d 1209:0001 >d.txt && "$1" -l --json -S DFU000000001 >f405.json &&
	"$1" -l -S nobody' sh "$DFUFLASH"
expect_status 0
expect_stderr_line "dfuflash: no DFU device found that matches -d, -S and -p"
grep -q '^1-2 1209:0001 serial "PLAIN"' s.txt && ! grep -q '^1-1' s.txt ||
    fail "-l -S PLAIN: $(cat s.txt)"
grep -q '^1-1 0483:df11' p.txt && ! grep -q '^1-2' p.txt ||
    fail "-l -p 1-1: $(cat p.txt)"
grep -q '^1-2 1209:0001' d.txt && ! grep -q '^1-1' d.txt ||
    fail "-l -d 1209:0001: $(cat d.txt)"
expect_json_valid device-list f405.json
# The saved list of the f405 checks a file offline: alt 0 and alt 1.
"$BUILD/bin/bin2dfu" -a 0x08000000:"$ROOT/examples/blinky-f411.bin" -o fw.dfu ||
    fail "bin2dfu failed"
run "$BUILD/bin/dfuinfo" -L f405.json fw.dfu
expect_status 0
expect_stdout_contains '    layout:     "Internal Flash" (alt 0): fits; erases '
"$BUILD/bin/bin2dfu" -a 0x08000000:"$ROOT/examples/blinky-f411.bin" \
    -a 0x08100000:"$ROOT/examples/blinky-f411.bin" -o big.dfu ||
    fail "bin2dfu failed"
run "$BUILD/bin/dfuinfo" -L f405.json big.dfu
expect_status 1
expect_stdout_contains '0x08100000 is outside every region of "Internal Flash" (layout-outside)'
case_end

begin "-l with no device: \"devices\": [] and exit 0; text mode says so on stderr"
# A testbed with no device at all: the preload sees an empty /sys.
mkdir -p empty/sys/bus/usb/devices empty/dev/bus/usb
run env LD_PRELOAD=libumockdev-preload.so.0 UMOCKDEV_DIR="$TMP/empty" \
    ASAN_OPTIONS=verify_asan_link_order=0 "$DFUFLASH" -l --json
expect_status 0
expect_json_valid device-list
jq -e '. == {"schema": "dfutools/device-list/1", "devices": []}' "$OUT" \
    >/dev/null || fail "not an empty list: $(cat "$OUT")"
run env LD_PRELOAD=libumockdev-preload.so.0 UMOCKDEV_DIR="$TMP/empty" \
    ASAN_OPTIONS=verify_asan_link_order=0 "$DFUFLASH" -l
expect_status 0
expect_stdout_empty
expect_stderr_line "dfuflash: no DFU device found"
case_end

# ---- programming ----------------------------------------------------------

begin "the file alone programs the one device attached and it leaves; other bytes are untouched"
fixture
host --device f405,state=flash.img -- "$DFUFLASH" app.dfu
expect_status 0
expect_stdout_line "1-1 DFU000000001: app.dfu: erased 3 pages (49152 bytes, 9152 of them outside the image), skipped 0 unchanged, wrote 40000 bytes"
# Random bytes at 0x08004000 are no vector table: the start of flash.
expect_stdout_line "1-1 DFU000000001: app.dfu: device left DFU mode to run 0x08000000, the start of flash (no vector table in the image)"
expect_flash flash.img old.img 0x08000000 "$PAGES" app.dfu
expect_stat 0 left true
expect_stat 0 left_address 134217728
expect_stat 0 pages_erased 3
expect_stat 0 bytes_written 40000
case_end

begin "--preserve-uncovered reads and restores the rest of a partly covered page over USB"
fixture
# Data after the image's end (0x0800dc40) in its last page.
python3 -c 'd = bytearray(open("flash.img", "rb").read())
d[0xdc40:0x10000] = bytes((i * 7 + 1) & 0xff for i in range(0x10000 - 0xdc40))
open("flash.img", "wb").write(d)'
cp flash.img old.img
host --device f405,state=flash.img -- "$DFUFLASH" --preserve-uncovered app.dfu
expect_status 0
expect_stdout_contains "app.dfu: erased 3 pages (49152 bytes, 9152 of them outside the image, 9152 of those preserved), "
python3 -c 'import sys
a, b = open("old.img", "rb").read(), open("flash.img", "rb").read()
sys.exit(a[0xdc40:0x10000] != b[0xdc40:0x10000] or a[:0x4000] != b[:0x4000] or a[0x10000:] != b[0x10000:])' ||
    fail "bytes outside the image changed"
# Read twice: before the erase and back after writing.
expect_stat 0 bytes_read 18304
case_end

begin "--verify reads everything back through USB, and finds a corrupted block"
fixture
host --device f405,state=flash.img -- "$DFUFLASH" --verify app.dfu
expect_status 0
expect_stdout_line "1-1 DFU000000001: app.dfu: erased 3 pages (49152 bytes, 9152 of them outside the image), skipped 0 unchanged, wrote 40000 bytes, verified"
[ "$(python3 -c 'import json; print(json.load(open("stats.json"))[0]["bytes_read"])')" -ge 40000 ] ||
    fail "fewer than 40000 bytes read back"
expect_flash flash.img old.img 0x08000000 "$PAGES" app.dfu
# The model clears bit 0 of the first byte of the 4th block, 0x09 at
# 0x08005800 in app.bin, and reports it good.
cp old.img flash.img
host --device f405,state=flash.img,fault=write:4=corrupt -- "$DFUFLASH" --verify app.dfu
expect_status 5
expect_stderr_line "dfuflash: app.dfu: verify at 0x08005800: device holds 0x08, the image 0x09"
expect_stat 0 left false
case_end

begin "--skip-unchanged: a second run erases and writes nothing"
fixture
host --device f405,state=flash.img -- "$DFUFLASH" app.dfu
expect_status 0
host --device f405,state=flash.img -- "$DFUFLASH" --skip-unchanged app.dfu
expect_status 0
expect_stdout_line "1-1 DFU000000001: app.dfu: erased 0 pages, skipped 3 unchanged, wrote 0 bytes"
expect_stat 0 pages_erased 0
expect_stat 0 bytes_written 0
expect_stat 0 left true
expect_flash flash.img old.img 0x08000000 "$PAGES" app.dfu
case_end

begin "-U reads what the device holds; -a by a part of the alt's name"
mkstate flash.img $MIB 0 $MIB 9
host --device f405,state=flash.img -- "$DFUFLASH" -U up.bin -s 0x08010000:70000
expect_status 0
expect_stdout_line "1-1 DFU000000001: up.bin: 70000 bytes read from alt 0 at 0x08010000"
python3 -c 'import sys
sys.exit(open("up.bin", "rb").read() != open("flash.img", "rb").read()[0x10000:0x10000 + 70000])' ||
    fail "up.bin differs from the flash at 0x08010000"
host --device f405 -- "$DFUFLASH" -a Option -U ob.bin -s 0x1fffc000:16
expect_status 0
expect_stdout_line "1-1 DFU000000001: ob.bin: 16 bytes read from alt 1 at 0x1fffc000"
python3 -c 'import sys; sys.exit(open("ob.bin", "rb").read(1) != b"\xaa")' || fail "RDP byte"
host --device f405 -- "$DFUFLASH" -a Nope -U ob.bin -s 0x1fffc000:16
expect_status 2
expect_stderr_contains "dfuflash: -a Nope: no alternate setting has that number or name; the device has alt 0 "
case_end

begin "a plain DFU 1.1 device: the payload from offset 0, then a reset"
mkbin fw.bin 5000 4
plaindfu fw.dfu fw.bin 1209 0001
host --device dfu11,state=fw.img -- "$DFUFLASH" --verify fw.dfu
expect_status 0
expect_stdout_line "1-1 DFU000000001: fw.dfu: erased 0 pages, skipped 0 unchanged, wrote 5000 bytes, verified"
expect_stat 0 left true
python3 -c 'import sys
s = open("fw.img", "rb").read()
sys.exit(s[:5000] != open("fw.bin", "rb").read() or len(s) != 131072)' ||
    fail "fw.img does not start with fw.bin"
case_end

begin "--transfer-size: a warning on a plain device; refused on DfuSe, whose blocks it places"
mkbin fw.bin 5000 4
plaindfu fw.dfu fw.bin 1209 0001
host --device dfu11,state=fw.img -- "$DFUFLASH" --transfer-size 512 fw.dfu
expect_status 0
expect_stderr_line "dfuflash: warning: --transfer-size 512 overrides the device's wTransferSize 1024"
expect_stat 0 bytes_written 5000
# 10 blocks of 512 bytes, each a DNLOAD and a GETSTATUS, where 1024 takes 5.
[ "$(python3 -c 'import json; print(json.load(open("stats.json"))[0]["requests"])')" -ge 20 ] ||
    fail "fewer requests than 512-byte blocks need"
# Above the 4096 bytes libusb sends in one control transfer: reduced.
host --device dfu11,transfer-size=4096,state=fw.img -- "$DFUFLASH" --transfer-size 8192 --verify fw.dfu
expect_status 0
expect_stderr_line "dfuflash: warning: --transfer-size 8192 overrides the device's wTransferSize 4096"
expect_stderr_line "dfuflash: warning: transfer size 8192 is more than libusb sends in one control transfer; using 4096"
expect_stdout_line "1-1 DFU000000001: fw.dfu: erased 0 pages, skipped 0 unchanged, wrote 5000 bytes, verified"
fixture
host --device f405,state=flash.img -- "$DFUFLASH" --transfer-size 1024 app.dfu
expect_status 1
expect_stderr_line "dfuflash: --transfer-size 1024: a DfuSe device places block n at the address pointer + (n - 2) x its own wTransferSize (2048), so another size would write to the wrong addresses"
expect_stat 0 requests 0
cmp -s flash.img old.img || fail "flash changed"
case_end

begin "a run-time device detaches, comes back as 0483:df11 and is programmed"
fixture
host --device f405,runtime=5740,state=flash.img -- "$DFUFLASH" -d 0483:5740,0483:df11 app.dfu
expect_status 0
expect_stdout_line "1-1 DFU000000001: app.dfu: device left DFU mode to run 0x08000000, the start of flash (no vector table in the image)"
expect_stat 0 reenumerated 1
expect_stat 0 left true
expect_flash flash.img old.img 0x08000000 "$PAGES" app.dfu
case_end

begin "a run-time device without bitWillDetach is reset after DETACH; one with it is not"
mkbin fw.bin 5000 4
plaindfu fw.dfu fw.bin 1209 0001
host --trace trace.txt --device dfu11,runtime=4321,state=fw.img -- "$DFUFLASH" fw.dfu
expect_status 0
expect_stat 0 reenumerated 1
python3 -c 'import sys
s = open("fw.img", "rb").read()
sys.exit(s[:5000] != open("fw.bin", "rb").read())' || fail "fw.img does not start with fw.bin"
# DETACH (21 00) then RESET, by the run-time device (dev 2).
grep -q "dev 2: 21 00 " trace.txt || fail "no DETACH in the trace"
grep -q "dev 2: RESET" trace.txt || fail "no USB reset after DETACH"
fixture
host --trace trace.txt --device f405,runtime=5740,state=flash.img -- "$DFUFLASH" app.dfu
expect_status 0
grep -q "dev 2: 21 00 " trace.txt || fail "no DETACH in the trace"
! grep -q "dev 2: RESET" trace.txt || fail "a device that detaches itself was reset"
case_end

begin "a run-time interface that reports bInterfaceProtocol 0 is found, detached and programmed"
mkbin fw.bin 5000 4
plaindfu fw.dfu fw.bin 1209 0001
host --device dfu11,runtime=4321,runtime-protocol=0 -- "$DFUFLASH" -l
expect_status 0
expect_stdout_contains "1-1 1209:4321 serial \"DFU000000001\" bcdDevice 0100, run-time mode, DFU 1.10"
rm -f fw.img
host --trace trace.txt --device dfu11,runtime=4321,runtime-protocol=0,state=fw.img -- "$DFUFLASH" fw.dfu
expect_status 0
expect_stat 0 reenumerated 1
grep -q "dev 2: 21 00 " trace.txt || fail "no DETACH in the trace"
python3 -c 'import sys
s = open("fw.img", "rb").read()
sys.exit(s[:5000] != open("fw.bin", "rb").read())' || fail "fw.img does not start with fw.bin"
case_end

begin "the NXP LPC ROM (1fc9:000c) reports bInterfaceProtocol 1 in DFU mode: no DETACH, programmed as it is"
mkbin fw.bin 5000 4
plaindfu fw.dfu fw.bin 1fc9 000c
host --device dfu11,id=1fc9:000c,protocol=1 -- "$DFUFLASH" -l
expect_status 0
expect_stdout_contains "1-1 1fc9:000c serial \"DFU000000001\" bcdDevice 0100, DFU mode, DFU 1.10"
rm -f fw.img
host --trace trace.txt --device dfu11,id=1fc9:000c,protocol=1,state=fw.img -- "$DFUFLASH" fw.dfu
expect_status 0
expect_stat 0 reenumerated 0
! grep -q ": 21 00 " trace.txt || fail "DETACH sent to a device in DFU mode"
python3 -c 'import sys
s = open("fw.img", "rb").read()
sys.exit(s[:5000] != open("fw.bin", "rb").read())' || fail "fw.img does not start with fw.bin"
# Another product of the same vendor reporting 1 is in run-time mode.
host --device dfu11,id=1fc9:000d,protocol=1 -- "$DFUFLASH" -l
expect_status 0
expect_stdout_contains "1-1 1fc9:000d serial \"DFU000000001\" bcdDevice 0100, run-time mode"
case_end

begin "a DfuSe device in DFU mode reporting bInterfaceProtocol 0 is programmed without DETACH"
fixture
host --trace trace.txt --device f405,protocol=0,state=flash.img -- "$DFUFLASH" app.dfu
expect_status 0
expect_stat 0 reenumerated 0
! grep -q ": 21 00 " trace.txt || fail "DETACH sent to a device in DFU mode"
expect_flash flash.img old.img 0x08000000 "$PAGES" app.dfu
case_end

begin "a run-time device that does not come back in DFU mode in time: says where it looked"
fixture
# --wait-timeout 0: one look right after DETACH, before usbhost brings the
# device back (about 100 ms later).
host --device f405,runtime=5740,state=flash.img -- "$DFUFLASH" --wait-timeout 0 app.dfu
expect_status 3
expect_stderr_line "dfuflash: 1-1: the device detached and did not come back in DFU mode within 0 ms (at the same port or with serial \"DFU000000001\"); give it longer with --wait-timeout"
expect_stat 0 bytes_written 0
cmp -s flash.img old.img || fail "flash changed"
case_end

begin "each target of a .dfu file goes to its own alt setting, with no -a"
mkbin app.bin 3000 5
printf '\125\252\022\064\126\170\232\274' >ob.bin
"$BUILD/bin/bin2dfu" -t "0:Internal Flash" -a 0x08000000:app.bin \
    -t "1:Option Bytes" -a 0x1fffc000:ob.bin -o two.dfu || fail "bin2dfu failed"
# One session of the emulated device: program; the device resets once the
# option bytes are written and comes back in DFU mode (BOOT0 high, in the
# model; 50 ms later in usbhost), to read them back from alt 1.
host --trace trace.txt --device f405,state=flash.img -- sh -c \
    '"$1" --verify two.dfu && sleep 0.5 && "$1" -q -a 1 -U back.bin -s 0x1fffc000:8' sh "$DFUFLASH"
expect_status 0
expect_stdout_line "1-1 DFU000000001: two.dfu: erased 1 page (16384 bytes, 13384 of them outside the image), skipped 0 unchanged, wrote 3008 bytes, verified but for the option bytes (the device reset)"
expect_stdout_line "1-1 DFU000000001: two.dfu: device reset to load its option bytes (alt 1), as it does once they are written; it was not sent to leave DFU mode"
expect_same_bytes ob.bin back.bin
expect_stat 0 resets 1
expect_stat 0 reenumerated 1
python3 -c 'import sys
sys.exit(open("flash.img", "rb").read()[:3000] != open("app.bin", "rb").read())' ||
    fail "flash.img does not start with app.bin"
grep -q "SETINTERFACE 1" trace.txt || fail "alt 1 was never selected"
case_end

begin "a device that resets in its leave request, or leaves the bus while manifesting, has left"
mkbin app.bin 3000 5
for f in leave-gone=stall leave-gone=io; do
	host --device "f405,fault=$f" -- "$DFUFLASH" -D app.bin -s 0x08000000
	expect_status 0
	expect_stderr_empty
	expect_stdout_line "1-1 DFU000000001: app.bin: device left DFU mode to run 0x08000000, the start of flash (no vector table in the image) (its leave request failed as it reset)"
	expect_stat 0 left true
done
host --device dfu11,fault=manifest-gone,state=d11.img -- "$DFUFLASH" -D app.bin
expect_status 0
expect_stderr_empty
expect_stdout_line "1-1 DFU000000001: app.bin: device left DFU mode (it reset before answering)"
python3 -c 'import sys
sys.exit(open("d11.img", "rb").read()[:3000] != open("app.bin", "rb").read())' ||
    fail "d11.img does not start with app.bin"
case_end

# ---- selection ------------------------------------------------------------

begin "two devices: an error listing both, nothing programmed; -S or -p picks one, named on each summary line"
fixture
cp flash.img b.img
host --device f405,state=flash.img --device f405,serial=SECOND,state=b.img -- "$DFUFLASH" app.dfu
expect_status 1
expect_stderr_line "dfuflash: 2 DFU devices match; pick one with -S SERIAL or -p PATH, or flash them all with --all:"
expect_stderr_line "  1-1 0483:df11 serial DFU000000001 DFU mode"
expect_stderr_line "  1-2 0483:df11 serial SECOND DFU mode"
expect_stat 0 requests 0
expect_stat 1 requests 0
host --device f405,state=flash.img --device f405,serial=SECOND,state=b.img -- "$DFUFLASH" -S SECOND app.dfu
expect_status 0
expect_stdout_line "1-2 SECOND: app.dfu: erased 3 pages (49152 bytes, 9152 of them outside the image), skipped 0 unchanged, wrote 40000 bytes"
expect_stdout_line "1-2 SECOND: app.dfu: device left DFU mode to run 0x08000000, the start of flash (no vector table in the image)"
expect_stat 0 requests 0
expect_stat 1 bytes_written 40000
expect_flash b.img old.img 0x08000000 "$PAGES" app.dfu
cmp -s flash.img old.img || fail "the device not chosen by -S changed"
cp old.img b.img
host --device f405,state=flash.img --device f405,serial=SECOND,state=b.img -- "$DFUFLASH" -p 1-1 app.dfu
expect_status 0
expect_stdout_line "1-1 DFU000000001: app.dfu: erased 3 pages (49152 bytes, 9152 of them outside the image), skipped 0 unchanged, wrote 40000 bytes"
expect_stdout_line "1-1 DFU000000001: app.dfu: device left DFU mode to run 0x08000000, the start of flash (no vector table in the image)"
expect_stat 0 bytes_written 40000
expect_stat 1 requests 0
cmp -s b.img old.img || fail "the device not chosen by -p changed"
host --device f405 --device f405 -- "$DFUFLASH" -S NOPE app.dfu
expect_status 3
expect_stderr_line "dfuflash: no DFU device matches -S NOPE; 2 found:"
case_end

begin "no device: a message that says what to do"
mkdir -p empty/sys/bus/usb/devices empty/dev/bus/usb
"$BUILD/bin/bin2dfu" -a 0x08000000:"$ROOT/README.md" -o a.dfu >/dev/null
run env LD_PRELOAD=libumockdev-preload.so.0 UMOCKDEV_DIR="$TMP/empty" \
    ASAN_OPTIONS=verify_asan_link_order=0 "$DFUFLASH" a.dfu
expect_status 3
expect_stderr_line "dfuflash: no DFU device found"
expect_stderr_line "dfuflash: plug in the device in DFU mode (on STM32: BOOT0 high, then reset), or wait for it with -w; dfuflash -l lists what is found"
# -w waits the --wait-timeout first.
t0=$(date +%s)
run env LD_PRELOAD=libumockdev-preload.so.0 UMOCKDEV_DIR="$TMP/empty" \
    ASAN_OPTIONS=verify_asan_link_order=0 "$DFUFLASH" -w --wait-timeout 2 a.dfu
t1=$(date +%s)
expect_status 3
expect_stderr_line "dfuflash: no DFU device found"
[ $((t1 - t0)) -ge 1 ] || fail "-w --wait-timeout 2 returned after $((t1 - t0)) s"
case_end

begin "permission denied: says so, names the udev rules, programs nothing"
fixture
host --device f405,access=denied,state=flash.img -- "$DFUFLASH" app.dfu
expect_status 3
expect_stderr_line "dfuflash: 1-1 (0483:df11): permission denied opening the USB device (LIBUSB_ERROR_ACCESS): this user may not write to it"
expect_stderr_contains "install the udev rules file 70-dfuflash.rules"
expect_stderr_contains "or run dfuflash as root"
expect_stat 0 requests 0
cmp -s flash.img old.img || fail "flash changed"
case_end

# ---- device timing (issue 13) ---------------------------------------------
# model.h, "Busy": the f405 holds the GETSTATUS after an erase until the
# erase is done (8 s for a mass erase: more than a 5 s USB timeout), the
# l476 stalls the GETSTATUS that comes before its page erase ends.
# test_usb_dfuutil.sh runs dfu-util 0.11 on the same.

begin "--mass-erase on the f405: the GETSTATUS held for the 8 s erase is waited for"
mkbin img.bin 3000 51
mkbin old.img $MIB 52
cp old.img flash.img
host --device f405,state=flash.img -- "$DFUFLASH" --mass-erase -D img.bin -s 0x08000000
expect_status 0
expect_stdout_line "1-1 DFU000000001: img.bin: mass erase, erased 0 pages, skipped 0 unchanged, wrote 3000 bytes"
python3 -c 'import sys
s, i = open("flash.img", "rb").read(), open("img.bin", "rb").read()
sys.exit(s[:3000] != i or s[3000:] != b"\xff" * (len(s) - 3000))' ||
    fail "flash is not the image on erased flash"
expect_stat 0 mass_erases 1
expect_stat 0 held 1
expect_stat 0 discarded 0
[ "$(stat_of 0 time_us)" -ge 8000000 ] || fail "time_us $(stat_of 0 time_us)"
case_end

begin "the l476 stalls GETSTATUS during each page erase and stays busy: still busy, retried"
mkbin img.bin 8192 53
host --device l476 -- "$DFUFLASH" --verify -D img.bin -s 0x08000000
expect_status 0
expect_stdout_contains "img.bin: erased 4 pages (8192 bytes, 0 of them outside the image), "
expect_stat 0 pages_erased 4
[ "$(stat_of 0 stalls)" -ge 4 ] || fail "stalls $(stat_of 0 stalls)"
case_end

begin "a page erase stuck in dfuDNBUSY (erase:1=stuck, STM32H743 rev V): two CLRSTATUS, the page read back, written"
mkbin img.bin 3000 54
rm -f flash.img
host --device f405,state=flash.img,fault=erase:1=stuck -- "$DFUFLASH" --verify -D img.bin -s 0x08000000
expect_status 0
expect_stderr_line "dfuflash: warning: erase at 0x08000000: device stayed in dfuDNBUSY for 10000 ms; cleared it with CLRSTATUS, reading the page back to check the erase"
expect_stdout_contains ", wrote 3000 bytes, verified"
expect_stat 0 pages_erased 1
# The page (16 KiB) read back, then the image.
expect_stat 0 bytes_read $((16384 + 3000))
case_end

# ---- real devices' quirks (dfuflash/quirks.c) ---------------------------

GD32_WRONG="@Internal Flash  /0x08000000/512*002Kg"
GD32_RIGHT="@Internal Flash  /0x08000000/128*001Kg"
# "3CBJ" read as UTF-16LE: U+4333 U+4A42.
GD32_UTF16=$(printf '\344\214\263\344\251\202')

begin "-l: the GD32VF103's UTF-8 serial and its corrected layout, each said as a quirk"
host --device gd32vf103 -- "$DFUFLASH" -l
expect_status 0
expect_stdout_line '1-1 28e9:0189 serial "3CBJ" bcdDevice 1000, DFU mode, DFU 1.1a (DfuSe), transfer size 2048, detach timeout 255 ms, attributes 0x0b: can-download can-upload will-detach'
expect_stdout_line "  quirk: serial sent as UTF-8, not UTF-16 (USB 2.0 9.6.7): \"3CBJ\", which read as UTF-16 is \"$GD32_UTF16\"; -S takes either"
expect_stdout_line "  alt 0 \"$GD32_WRONG\""
expect_stdout_line "    quirk: GD32VF103 ROM (28e9:0189) reports alt 0 as \"$GD32_WRONG\"; its flash is 128 pages of 1 KiB (serial \"3CBJ\", size letter 'B'): read as \"$GD32_RIGHT\""
expect_stdout_line "    0x08000000-0x0801ffff 128 x 1024 bytes, readable, erasable, writable"
case_end

begin "-l --json: serial_utf16, quirks and the corrected layout"
host --device gd32vf103 --device h743 -- "$DFUFLASH" -l --json
expect_status 0
expect_json_valid device-list
cp "$OUT" out.json
run jq -c '.devices[0].serial, .devices[0].serial_utf16, (.devices[0].quirks | length), .devices[0].alts[0].name, .devices[0].alts[0].layout.regions[0].page_size, .devices[0].alts[0].layout.regions[0].pages, (.devices[0].alts[1].quirk), .devices[1].serial_utf16, .devices[1].quirks[0]' out.json
expect_status 0
cat >want.txt <<WANT
"3CBJ"
"$GD32_UTF16"
1
"$GD32_WRONG"
1024
128
null
null
"STM32H7 ROM (0483:df11, 128 KiB sectors from 0x08000000): writes are whole 32-byte flash words"
WANT
expect_stdout_file want.txt
case_end

begin "dfuinfo -L reads the GD32VF103's corrected layout from the saved list"
host --device gd32vf103 -- "$DFUFLASH" -l --json
expect_status 0
expect_json_valid device-list
cp "$OUT" gd32.json
mkbin big.bin 140000 36
"$BUILD/bin/bin2dfu" -a 0x08000000:big.bin -o big.dfu || fail "bin2dfu failed"
run "$BUILD/bin/dfuinfo" -L gd32.json big.dfu
expect_status 1
expect_stdout_contains 'is outside every region of "Internal Flash" (layout-outside)'
case_end

begin "-S: the GD32VF103 as dfuflash -l and dfu-util print its serial, or as UTF-16 reads it"
host --device f405 --device gd32vf103 -- sh -c '
	"$1" -l -S 3CBJ >a.txt && "$1" -l -S "$2" >b.txt' sh "$DFUFLASH" "$GD32_UTF16"
expect_status 0
grep -q '^1-2 28e9:0189 serial "3CBJ"' a.txt || fail "-S 3CBJ: $(cat a.txt)"
grep -q '^1-2 28e9:0189 serial "3CBJ"' b.txt || fail "-S as UTF-16: $(cat b.txt)"
grep -q '0483:df11' a.txt b.txt && fail "-S also listed the f405"
mkbin fw.bin 3000 31
host --device f405 --device gd32vf103,state=g.img -- "$DFUFLASH" -S 3CBJ -D fw.bin -s 0x08000000
expect_status 0
expect_stat 1 bytes_written 3000
expect_stat 0 requests 0
case_end

begin "GD32VF103: a reflash with default options is exact (1 KiB pages erased, not 2 KiB steps)"
mkbin a.bin 9000 32
mkbin b.bin 9000 33
rm -f g.img
host --device gd32vf103,state=g.img -- "$DFUFLASH" -D a.bin -s 0x08000000
expect_status 0
host --device gd32vf103,state=g.img -- "$DFUFLASH" -D b.bin -s 0x08000000
expect_status 0
expect_stdout_line "1-1 3CBJ: b.bin: erased 9 pages (9216 bytes, 216 of them outside the image), skipped 0 unchanged, wrote 9000 bytes"
expect_stdout_line "1-1 3CBJ: b.bin: device left DFU mode to run 0x08000000, the start of flash (no vector table in the image) (it reset before answering)"
expect_stderr_contains "alt 0: quirk: GD32VF103 ROM (28e9:0189) reports alt 0"
expect_stat 0 pages_erased 9
python3 -c 'import sys
s = open("g.img", "rb").read(); b = open("b.bin", "rb").read()
sys.exit(0 if s[:len(b)] == b and s[len(b):] == b"\xff" * (len(s) - len(b)) else 1)' ||
    fail "g.img does not hold b.bin exactly"
case_end

begin "STM32H743: 100 bytes are written as 128, whole 32-byte flash words (the part refuses less)"
mkbin c.bin 100 34
host --device h743 -- "$DFUFLASH" --verify --no-leave -D c.bin -s 0x08000010
expect_status 0
expect_stdout_line "1-1 DFU000000001: c.bin: erased 1 page (131072 bytes, 130972 of them outside the image), skipped 0 unchanged, wrote 128 bytes, verified"
expect_stat 0 bytes_written 128
case_end

begin "a session asks for the strings' language once (issue 15: requests every session pays)"
# The listing reads string descriptor 0 and the strings; opening the
# device for the download used to ask for descriptor 0 again.
mkbin k.bin 4096 36
host --trace trace.txt --device f405 -- "$DFUFLASH" -a 0 -D k.bin -s 0x08000000
expect_status 0
[ "$(grep -c ': 80 06 0300 0000 ' trace.txt)" -eq 1 ] ||
    fail "string descriptor 0 read $(grep -c ': 80 06 0300 0000 ' trace.txt) times"
expect_stat 0 control_transfers 24
case_end

begin "STM32F722: the OTP string without multiplier is read as bytes, with a note"
mkbin o.bin 528 35
host --device f722 -- "$DFUFLASH" -a 2 -D o.bin -s 0x1FF07800 --no-leave --verify
expect_status 0
expect_stderr_contains 'alt 2: memory layout "@OTP Memory /0x1FF07800/01*528e": offset 30:'
expect_stat 0 bytes_written 528
case_end

# ---- faults ---------------------------------------------------------------

begin "--all: four devices at once, one run-time; an erase fault on one fails it alone; exit 4"
fixture
for k in 1 2 3 4; do cp old.img "s$k.img"; done
host --device f405,state=s1.img --device f405,state=s2.img \
    --device f405,state=s3.img,fault=erase:1=errERASE \
    --device f405,runtime,state=s4.img -- "$DFUFLASH" --all app.dfu
expect_status 4
for k in 1 2 4; do
	expect_flash "s$k.img" old.img 0x08000000 "$PAGES" app.dfu
	expect_stat $((k - 1)) left true
	expect_stdout_line "1-$k DFU00000000$k: app.dfu: erased 3 pages (49152 bytes, 9152 of them outside the image), skipped 0 unchanged, wrote 40000 bytes"
	awk -v k="$k" '$1 == "1-" k && $2 == "DFU00000000" k && $3 == "ok" &&
	    $4 == 40000 && NF == 5 { f = 1 } END { exit !f }' "$OUT" ||
	    fail "no summary row for device $k"
done
# The run-time device was detached and came back on its own.
expect_stat 3 reenumerated 1
# Device 3 stays in DFU mode, its flash as it was.
expect_same_bytes s3.img old.img
expect_stat 2 left false
expect_stat 2 bytes_written 0
expect_stderr_line "dfuflash: 1-3 DFU000000003: app.dfu: erase at 0x08004000: device reports errERASE (memory erase function failed), state dfuERROR"
awk '$1 == "1-3" && $3 == "failed" && /  erase at 0x08004000: device reports errERASE/ { f = 1 }
    END { exit !f }' "$OUT" || fail "no failed row for device 3"
expect_stdout_line "3 of 4 devices flashed, 1 failed"
# -p repeated: those two only.
fixture
for k in 1 2 3; do cp old.img "s$k.img"; done
host --device f405,state=s1.img --device f405,state=s2.img \
    --device f405,state=s3.img -- "$DFUFLASH" --all -q -p 1-1 -p 1-3 app.dfu
expect_status 0
expect_flash s1.img old.img 0x08000000 "$PAGES" app.dfu
expect_flash s3.img old.img 0x08000000 "$PAGES" app.dfu
expect_same_bytes s2.img old.img
expect_stat 1 requests 0
expect_stdout_line "2 of 2 devices flashed, 0 failed"
case_end

begin "--all flashes the devices there when it starts; with -w it waits for the first"
fixture
cp old.img late.img
host --device f405,state=flash.img --device f405,state=late.img,plug-after=800 \
    -- "$DFUFLASH" --all --progress=json app.dfu
expect_status 0
expect_flash flash.img old.img 0x08000000 "$PAGES" app.dfu
expect_same_bytes late.img old.img
expect_json_lines_valid dfuflash-event
jq -e -s '[.[] | select(.event == "result")] | length == 1 and
    .[0].path == "1-1" and .[0].serial == "DFU000000001" and
    .[0].status == 0 and .[0].bytes_written == 40000 and
    .[0].modelled_ms == null' "$OUT" >/dev/null ||
    { fail "wrong result events"; _show; }
host --device f405,state=late.img,plug-after=800 -- "$DFUFLASH" --all -w app.dfu
expect_status 0
expect_flash late.img old.img 0x08000000 "$PAGES" app.dfu
expect_stdout_line "1 of 1 device flashed, 0 failed"
host --device f405,plug-after=800 -- "$DFUFLASH" --all app.dfu
expect_status 3
expect_stderr_line "dfuflash: no DFU device found"
expect_stdout_empty
case_end

begin "--watch over libusb: boards flashed as they come, one late, one failing, a run-time one left alone; a record each"
fixture
for k in 1 2 3 4; do cp old.img "s$k.img"; done
mkdir logs
# Polling, not libusb hotplug (dfuflash(1), FACTORY USE): device 3 is
# plugged in 800 ms in; the run-time device 4 is an application and is
# never detached.  Each flashed board leaves the bus as it starts its
# application; none is flashed twice.
host --device f405,state=s1.img --device f405,state=s2.img,fault=erase:1=errERASE \
    --device f405,state=s3.img,plug-after=800 \
    --device f405,runtime,state=s4.img \
    -- "$DFUFLASH" --watch --watch-count 3 --log logs app.dfu
expect_status 4
expect_flash s1.img old.img 0x08000000 "$PAGES" app.dfu
expect_flash s3.img old.img 0x08000000 "$PAGES" app.dfu
# Device 2 failed alone: in DFU mode, its flash as it was.
expect_same_bytes s2.img old.img
expect_stat 1 left false
expect_stderr_line "dfuflash: 1-2 DFU000000002: app.dfu: erase at 0x08004000: device reports errERASE (memory erase function failed), state dfuERROR"
# The run-time device: not a request.
expect_same_bytes s4.img old.img
expect_stat 3 requests 0
expect_stat 3 reenumerated 0
expect_stdout_line "2 of 3 boards flashed, 1 failed"
[ "$(find logs -name '*.json' | wc -l)" -eq 3 ] || { fail "not three records"; ls logs; }
for r in logs/*.json; do
	expect_json_valid dfuflash-record "$r"
done
jq -e '.path == "1-3" and .vendor_id == 1155 and .product_id == 57105 and
    .result == "ok" and .bytes_written == 40000 and .modelled_ms == null' \
    logs/DFU000000003-*.json >/dev/null || fail "wrong record for device 3"
jq -e '.result == "failed" and .status_name == "device_failed" and
    .error.phase == "erase" and .error.dfu_status == "errERASE"' \
    logs/DFU000000002-*.json >/dev/null || fail "wrong record for device 2"
case_end

begin "--all --log: a serial number that is not a safe file name is made one; the record keeps it as it is"
fixture
mkdir logs
host --device 'f405,serial=../x y' -- "$DFUFLASH" --all -q --log logs app.dfu
expect_status 0
[ "$(find logs -name '*.json' | wc -l)" -eq 1 ] || fail "not one record"
set -- logs/_._x_y-*.json
[ -f "$1" ] || { fail "no record logs/_._x_y-*.json"; ls -R; }
jq -e '.serial == "../x y" and .path == "1-1"' "$1" >/dev/null ||
    fail "wrong serial in the record"
case_end

begin "-w waits for a device that is plugged in later, then programs it"
fixture
host --device f405,state=flash.img,plug-after=800 -- "$DFUFLASH" -w --wait-timeout 10 app.dfu
expect_status 0
expect_stderr_empty
expect_flash flash.img old.img 0x08000000 "$PAGES" app.dfu
expect_stat 0 left true
# Without -w the device is not there yet.
host --device f405,plug-after=800 -- "$DFUFLASH" app.dfu
expect_status 3
expect_stderr_line "dfuflash: no DFU device found"
# -l -w waits too, for a device that -S selects.
host --device f405 --device f405,serial=LATE,plug-after=800 -- "$DFUFLASH" -l -w -S LATE
expect_status 0
expect_stdout_contains '1-2 0483:df11 serial "LATE"'
case_end

begin "a stall mid-download: the message, the device stays in DFU mode, a retry succeeds"
fixture
host --device f405,state=flash.img,fault=stall:20 -- "$DFUFLASH" app.dfu
expect_status 4
expect_stderr_contains "device stalled"
expect_stderr_line "dfuflash: the device stays in DFU mode; run again to retry"
expect_stat 0 left false
host --device f405,state=flash.img -- "$DFUFLASH" app.dfu
expect_status 0
expect_flash flash.img old.img 0x08000000 "$PAGES" app.dfu
case_end

begin "an error status mid-download: the status by name, what to do"
fixture
host --device f405,state=flash.img,fault=write:3=errWRITE -- "$DFUFLASH" app.dfu
expect_status 4
expect_stderr_line "dfuflash: app.dfu: write at 0x08005000: device reports errWRITE (device is unable to write memory), state dfuERROR"
expect_stderr_line "dfuflash: the device stays in DFU mode; run again to retry"
expect_stat 0 left false
case_end

begin "an error status with the device's own string (iString), read through USB"
mkbin small.bin 3000 21
host --device dfu11,fault=write:2=errWRITE -- "$DFUFLASH" -D small.bin
expect_status 4
expect_stderr_line 'dfuflash: small.bin: write at offset 0x00000400: device reports errWRITE (device is unable to write memory), state dfuERROR; the device says "write failed at offset 0x400: errWRITE"'
host --device dfu11,fault=write:2=errWRITE -- "$DFUFLASH" --progress=json -D small.bin
expect_status 4
expect_json_lines_valid dfuflash-event
jq -e -s '.[-1] | .event == "result" and .status_name == "device_failed" and
    .path == "1-1" and .serial != null and .phase == "write" and
    .address == 1024 and .dfu_state == "dfuERROR" and
    .dfu_status == "errWRITE" and
    .device_message == "write failed at offset 0x400: errWRITE"' "$OUT" \
    >/dev/null || fail "result event: $(tail -n 1 "$OUT")"
case_end

begin "a device lost mid-download: says so and what to do"
fixture
host --device f405,state=flash.img,fault=disconnect:30 -- "$DFUFLASH" app.dfu
expect_status 4
expect_stderr_contains "device disconnected during"
expect_stderr_line "dfuflash: the device disconnected: check the cable and that nothing resets the board, put it back in DFU mode and run again"
host --device f405 -- "$DFUFLASH" --progress=json -S NOPE app.dfu
expect_status 3
expect_json_lines_valid dfuflash-event
jq -e -s 'length == 1 and (.[0] | .event == "result" and
    .status_name == "no_device" and .phase == "select" and .path == null)' \
    "$OUT" >/dev/null || fail "result event: $(cat "$OUT")"
case_end

begin "wTransferSize 0: a clear error, nothing sent"
fixture
host --device f405,transfer-size=0,state=flash.img -- "$DFUFLASH" app.dfu
expect_status 1
expect_stderr_contains "wTransferSize 0"
expect_stat 0 requests 0
mkbin fw.bin 100 4
plaindfu fw.dfu fw.bin 1209 0001
host --device dfu11,transfer-size=0 -- "$DFUFLASH" fw.dfu
expect_status 1
expect_stderr_line "dfuflash: 1-1 (1209:0001): the DFU functional descriptor says wTransferSize 0, so no data can be sent or read; give the size the device takes with --transfer-size"
case_end

finish
