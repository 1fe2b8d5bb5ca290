#!/bin/sh
# CLI tests of dfuflash against its device model (--sim): usage, the
# real-world corpus, the pyboard filesystem, --plan, --skip-unchanged,
# uploads, faults and their messages, and the state file.  Flash contents
# are checked here with python3, independently of the engine.
. "$(dirname "$0")/lib.sh"
require jq jq

DFUFLASH=$BUILD/bin/dfuflash
VRBRAIN=$CORPUS/fwupd_dev_VRBRAIN.dfu
FULL=$CORPUS/flipper_zero_f7_full.dfu
RAM=$CORPUS/flipper_zero_f7_updater_ram.dfu
KIIBOHD=$CORPUS/kiibohd_ktype_plain_suffix.dfu.bin
HACKRF=$CORPUS/hackrf_one_usb_lpc_prefix.dfu
VLX=$CORPUS/vlxfirm_NOT_usb_dfu.dfu
MIB=1048576

begin() {
	case_begin "$1"
	cd "$TMP" || exit 1
}

# holds STATE BASE DFU: every element of the DfuSe file DFU is in STATE
# (a flash image starting at BASE), decoded by tests/cli/image_check.py.
holds() {
	python3 "$ROOT/tests/cli/image_check.py" holds "$@" ||
	    fail "$3 is not in $1"
}

# same_range A B OFFSET LEN: bytes OFFSET..+LEN of two files are equal.
same_range() {
	python3 -c 'import sys
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
o, n = int(sys.argv[3], 0), int(sys.argv[4], 0)
sys.exit(0 if a[o:o + n] == b[o:o + n] else 1)' "$@" ||
	    fail "$1 and $2 differ in $3+$4"
}

USAGE=$(cat <<'EOF'
usage: dfuflash [-qw] [--all] [--ignore-id] [--mass-erase] [--no-leave]
                [--watch [--watch-count n]] [--log dir]
                [--plan] [--preserve range ...] [--preserve-uncovered]
                [--progress[=bar|json|none]] [--skip-unchanged]
                [--start address] [--verify] [device] [-a alt] file
       dfuflash [options] [device] [-a alt] [--raw-container] -D file
                -s address
       dfuflash [-qRw] [device] [-a alt] [--format bin|dfu] -U file
                -s address:length
       dfuflash [-qw] [device] --unprotect
       dfuflash [-qw] [device] -e
       dfuflash -l [-w] [--json] [-d vid:pid[,vid:pid]] [-p path]
                [-S serial] [--wait-timeout seconds] [--sim profile[*n]]
       dfuflash -h | -V
device: [-d vid:pid[,vid:pid]] [-p path] [-S serial]
        [--transfer-size n] [--wait-timeout seconds]
        | --sim profile[*n][:state] [--sim-fault [n:]spec]
          [--sim-plug n:ms[-ms]] [--sim-trace file]
EOF
)

# ---- usage -------------------------------------------------------------------

begin "-h prints the usage, then the options, on stdout and exits 0"
run "$DFUFLASH" -h
expect_status 0
expect_stderr_empty
printf '%s\n' "$USAGE" >usage.txt
expect_stdout_usage usage.txt
case_end

begin "the usage equals the SYNOPSIS of dfuflash(1)"
expect_usage_synopsis "$DFUFLASH" dfuflash.1
case_end

begin "usage errors exit 2 with a message and the usage"
mkbin a.bin 100 1
for args in \
    "--sim f405|dfuflash: nothing to do: give a file, -D, -U, -e or --unprotect" \
    "-l a.dfu|dfuflash: -l lists the USB devices (or those of --sim) and takes only --json, -d, -S, -p, -w and --wait-timeout" \
    "-l -a 0|dfuflash: -l lists the USB devices (or those of --sim) and takes only --json, -d, -S, -p, -w and --wait-timeout" \
    "--json a.dfu|dfuflash: --json is for -l" \
    "-d 0483 a.dfu|dfuflash: -d 0483: expected vid:pid or vid:pid,dfu_vid:dfu_pid in hexadecimal" \
    "-d 0483:df11, a.dfu|dfuflash: -d 0483:df11,: expected vid:pid or vid:pid,dfu_vid:dfu_pid in hexadecimal" \
    "-p 1-0 a.dfu|dfuflash: -p 1-0: expected a port path such as 1-2 or 1-2.3 (bus-port.port..., as -l shows)" \
    "--transfer-size 0 a.dfu|dfuflash: --transfer-size 0: not a number from 1 to 65535" \
    "--wait-timeout 1x a.dfu|dfuflash: --wait-timeout 1x: not a number of seconds from 0 to 3600" \
    "--sim f405 -w a.dfu|dfuflash: -w, --wait-timeout and --transfer-size are for a USB device; --sim has its own" \
    "--sim-fault stall:1 a.dfu|dfuflash: --sim-fault and --sim-trace are for --sim" \
    "--sim f405 -a Nope -D a.bin -s 0x08000000|dfuflash: -a Nope: no alternate setting has that number or name; the device has alt 0 \"@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg\", alt 1 \"@Option Bytes  /0x1FFFC000/01*016 e\", alt 2 \"@OTP Memory /0x1FFF7800/01*512 e,01*016 e\", alt 3 \"@Device Feature/0xFFFF0000/01*004 g\"" \
    "--sim f405 -a 7 -D a.bin -s 0x08000000|dfuflash: -a 7: the device has no alternate setting 7; it has alt 0 \"@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg\", alt 1 \"@Option Bytes  /0x1FFFC000/01*016 e\", alt 2 \"@OTP Memory /0x1FFF7800/01*512 e,01*016 e\", alt 3 \"@Device Feature/0xFFFF0000/01*004 g\"" \
    "--sim f999 a.dfu|dfuflash: --sim f999: unknown profile f999 (f405 f107 l476 h743 gd32vf103 f722 dfu11 dfu11-reset)" \
    "--sim f405: a.dfu|dfuflash: --sim f405:: empty state file name" \
    "--sim f405 a.dfu b.dfu|dfuflash: b.dfu: more than one file" \
    "--sim f405 -D a.bin a.dfu|dfuflash: give only one of a file, -D, -U, -e and --unprotect" \
    "--sim f405 -s 0x08000000 a.dfu|dfuflash: -s is for -D and -U; a .dfu file has its addresses" \
    "--sim f405 -U out.bin|dfuflash: -U needs -s address:length" \
    "--sim f405 -U out.bin -s 0x08000000:0|dfuflash: -s 0x08000000:0: length is not a number from 1 to 4294967295" \
    "--sim f405 -D a.bin -s 0x8000000x|dfuflash: -s 0x8000000x: address is not a 32-bit number" \
    "--sim f405 -D a.bin -s 0x08000000:16|dfuflash: -s: a length is for -U only" \
    "--sim f405 --format dfu a.dfu|dfuflash: --format is for -U only" \
    "--sim f405 --format hex -U o -s 0:1|dfuflash: --format hex: expected bin or dfu" \
    "--sim f405 --verify -U o -s 0:1|dfuflash: -U takes no download options" \
    "--sim f405 --plan --mass-erase a.dfu|dfuflash: --plan and --mass-erase do not go together" \
    "--sim f405 --start 0x08000000 --no-leave a.dfu|dfuflash: --start is where the device goes when it leaves; --no-leave keeps it in DFU mode" \
    "--sim f405 --mass-erase --skip-unchanged a.dfu|dfuflash: --mass-erase erases everything: --skip-unchanged cannot skip anything" \
    "--sim f405 --progress=xml a.dfu|dfuflash: --progress=xml: expected bar, json or none" \
    "--sim f405 --start 0x1g a.dfu|dfuflash: --start 0x1g: not a 32-bit number" \
    "--sim f405 -a 256 -D a.bin -s 0|dfuflash: -a 256: alternate setting is not a number from 0 to 255" \
    "--sim f405 --sim-fault stall:0 a.dfu|dfuflash: --sim-fault stall:0: expected stall:N, disconnect:N, KIND:N=STATUS, KIND:N=busy, write:N=corrupt, erase:N=skip, erase:N=stuck, stuck-from:ADDRESS (DfuSe), zero-poll, leave-gone, leave-gone=stall, leave-gone=io, runtime, runtime-in-dfu, read-protect (DfuSe) or manifest-gone (DFU 1.1)" \
    "--sim f405 --sim-fault write:1=errNOPE a.dfu|dfuflash: --sim-fault write:1=errNOPE: unknown status errNOPE (errWRITE, errERASE, errVERIFY, ...)" \
    "--sim f405 -D a.bin|dfuflash: -D: a DfuSe device needs -s address" \
    "--sim f405 --bogus a.dfu|dfuflash: unknown option: --bogus" \
    "--all --sim f405 -U o -s 0:1|dfuflash: --all flashes every matching device; -U is for one device" \
    "--all --sim f405 --unprotect|dfuflash: --all flashes every matching device; --unprotect is for one device" \
    "--all --sim f405 --plan a.dfu|dfuflash: --all flashes every matching device; --plan shows one device's plan: pick it with -S or -p" \
    "--all --sim f405 --sim-trace t a.dfu|dfuflash: --all flashes every matching device; --sim-trace traces one: pick it with -S or -p" \
    "-l --all|dfuflash: -l lists the USB devices (or those of --sim) and takes only --json, -d, -S, -p, -w and --wait-timeout" \
    "--sim f405*0 a.dfu|dfuflash: --sim f405*0: expected profile*n with n a number of devices from 1 to 64" \
    "--sim f405*65:st a.dfu|dfuflash: --sim f405*65:st: expected profile*n with n a number of devices from 1 to 64" \
    "--sim f405*:st a.dfu|dfuflash: --sim f405*:st: expected profile*n with n a number of devices from 1 to 64" \
    "--sim f405*2x a.dfu|dfuflash: --sim f405*2x: expected profile*n with n a number of devices from 1 to 64" \
    "--sim f405*2: a.dfu|dfuflash: --sim f405*2:: empty state file name" \
    "--sim f405*2 -w a.dfu|dfuflash: -w, --wait-timeout and --transfer-size are for a USB device; --sim has its own" \
    "--sim f405*2 --sim-fault 3:stall:1 a.dfu|dfuflash: --sim-fault 3:stall:1: expected n:spec with n a device of --sim f405*2, 1 to 2" \
    "--sim f405*2 --sim-fault 0:stall:1 a.dfu|dfuflash: --sim-fault 0:stall:1: expected n:spec with n a device of --sim f405*2, 1 to 2" \
    "--sim f405 --sim-fault 2:stall:1 a.dfu|dfuflash: --sim-fault 2:stall:1: expected n:spec with n a device of --sim f405, 1 to 1" \
    "--sim f405*2 --sim-fault 1:stall:0 a.dfu|dfuflash: --sim-fault stall:0: expected stall:N, disconnect:N, KIND:N=STATUS, KIND:N=busy, write:N=corrupt, erase:N=skip, erase:N=stuck, stuck-from:ADDRESS (DfuSe), zero-poll, leave-gone, leave-gone=stall, leave-gone=io, runtime, runtime-in-dfu, read-protect (DfuSe) or manifest-gone (DFU 1.1)" \
    "--sim f999*2 a.dfu|dfuflash: --sim f999*2: unknown profile f999 (f405 f107 l476 h743 gd32vf103 f722 dfu11 dfu11-reset)" \
    "--sim|dfuflash: option needs an argument: --sim" \
    "--watch --all --sim f405 a.dfu|dfuflash: --watch flashes each device as it is plugged in; --all flashes those present: give one" \
    "--watch-count 2 --sim f405 a.dfu|dfuflash: --watch-count is for --watch" \
    "--watch --watch-count 0 --sim f405 a.dfu|dfuflash: --watch-count 0: not a number of boards from 1 to 4294967295" \
    "--log d --sim f405 a.dfu|dfuflash: --log writes a record per board of --all or --watch" \
    "--log= --all --sim f405 a.dfu|dfuflash: --log: empty directory name" \
    "--all --sim-plug 1:0 --sim f405 a.dfu|dfuflash: --sim-plug is for --sim with --watch" \
    "--watch --sim-plug 3:0 --sim f405*2 a.dfu|dfuflash: --sim-plug 3:...: expected n a device of --sim f405*2, 1 to 2" \
    "--watch --sim-plug 1:500-100 --sim f405 a.dfu|dfuflash: --sim-plug 1:500-100: expected n:in or n:in-out, device n plugged in at in and pulled out at out milliseconds into --watch (out after in)" \
    "--watch --sim-plug 1 --sim f405 a.dfu|dfuflash: --sim-plug 1: expected n:in or n:in-out, device n plugged in at in and pulled out at out milliseconds into --watch (out after in)" \
    "--watch --sim f405 -U o -s 0:1|dfuflash: --watch flashes every matching device; -U is for one device" \
    "-l --sim f405 -w|dfuflash: -w and --wait-timeout wait for a USB device; --sim has its own" \
    "-l --sim f405 --sim-trace t|dfuflash: -l lists the USB devices (or those of --sim) and takes only --json, -d, -S, -p, -w and --wait-timeout" \
    "-l --watch|dfuflash: -l lists the USB devices (or those of --sim) and takes only --json, -d, -S, -p, -w and --wait-timeout"; do
	# shellcheck disable=SC2086
	run "$DFUFLASH" ${args%%|*}
	expect_status 2
	expect_stderr_line "${args#*|}"
	expect_stdout_empty
done
case_end

begin "-V prints the version"
run "$DFUFLASH" -V
expect_status 0
expect_stdout_line "dfuflash $(sed -n 's/^#define DFUFILE_VERSION_STRING "\(.*\)"$/\1/p' "$ROOT/common/dfufile.h")"
case_end

# ---- the corpus ------------------------------------------------------------------

begin "corpus: the Flipper Zero image flashes and verifies on f405"
run "$DFUFLASH" --verify --sim f405:flash.img "$FULL"
expect_status 0
expect_stderr_empty
# 0x08000000-0x080bbd93: 4 x 16K, 64K and 5 x 128K sectors.
expect_stdout_line "1-1 DFU000000001: $FULL: erased 10 pages (786432 bytes, 17004 of them outside the image), skipped 0 unchanged, wrote 769432 bytes, verified"
# Its first words are a vector table: SP 0x20030000, reset 0x08000xxx odd.
expect_stdout_line "1-1 DFU000000001: $FULL: device left DFU mode to run the application at 0x08000000"
holds flash.img 0x08000000 "$FULL"
case_end

begin "corpus: VRBRAIN is for 0483:0000, refused without --ignore-id, then flashed"
run "$DFUFLASH" --sim f405:flash.img "$VRBRAIN"
expect_status 1
expect_stderr_line "dfuflash: $VRBRAIN: the file is for device 0483:0000, this is 0483:df11 (--ignore-id flashes it anyway)"
expect_no_file flash.img.ff
run "$DFUFLASH" --ignore-id --verify --sim f405:flash.img "$VRBRAIN"
expect_status 0
expect_stderr_line "dfuflash: warning: the file is for device 0483:0000, flashing 0483:df11 anyway"
# 0x08000000-0x080168d7: 4 x 16K and the 64K sector; the 3-byte gap is
# written as 0xff so that the run stays one.
expect_stdout_line "1-1 DFU000000001: $VRBRAIN: erased 5 pages (131072 bytes, 38699 of them outside the image), skipped 0 unchanged, wrote 92376 bytes, verified"
holds flash.img 0x08000000 "$VRBRAIN"
# The 3-byte gap between the two elements is 0xff (erased).
python3 -c 'import sys; d = open("flash.img", "rb").read(); sys.exit(d[0x166d1:0x166d4] != b"\xff" * 3)' ||
    fail "gap not erased"
case_end

begin "corpus: the Flipper updater runs from SRAM, outside the f405 flash"
run "$DFUFLASH" --sim f405 "$RAM"
expect_status 1
expect_stderr_line "dfuflash: $RAM: alt 0 (Internal Flash): 0x20000000-0x2001a3dc: 0x20000000 is outside the device's memory \"@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg\""
expect_stdout_empty
case_end

begin "corpus: the plain kiibohd file goes to a plain DFU 1.1 device"
run "$DFUFLASH" --sim f405 "$KIIBOHD"
expect_status 1
expect_stderr_line "dfuflash: $KIIBOHD: the file is for device 1c11:b007, this is 0483:df11 (--ignore-id flashes it anyway)"
run "$DFUFLASH" --ignore-id --sim f405 "$KIIBOHD"
expect_status 1
expect_stderr_line "dfuflash: $KIIBOHD: a plain DFU image has no address, and this is a DfuSe device; give one with -D file -s address"
run "$DFUFLASH" --ignore-id --verify --sim dfu11:fw.img "$KIIBOHD"
expect_status 0
expect_stdout_line "1-1 DFU000000001: $KIIBOHD: erased 0 pages, skipped 0 unchanged, wrote 60200 bytes, verified"
head -c 60200 "$KIIBOHD" >payload.bin
head -c 60200 fw.img >got.bin
expect_same_bytes payload.bin got.bin
case_end

# DFU 1.1 appendix B strips only the suffix; the TI Stellaris and NXP LPC
# boot ROMs read the prefix in front of the payload (dfu-prefix(1)), so it
# is sent, as dfu-util sends it.
begin "a plain file's vendor prefix (NXP LPC, TI Stellaris) is sent with the payload"
mkdfu lpc.dfu 'plain=bytes(range(256)) * 4' 'prefix=b"\xda\xff" + (2).to_bytes(2, "little") + b"\x00" * 8 + b"\xff" * 4' vid=0xffff pid=0xffff
mkdfu lm.dfu 'plain=bytes(range(200))' 'prefix=b"\x01\x00" + (8).to_bytes(2, "little") + (200).to_bytes(4, "little")' vid=0xffff pid=0xffff
for f in lpc.dfu lm.dfu; do
	n=$(($(wc -c <"$f") - 16))
	run "$DFUINFO" "$f"
	expect_stdout_contains "(vendor-prefix)"
	run "$DFUFLASH" --verify --sim "dfu11:$f.img" "$f"
	expect_status 0
	expect_stdout_line "1-1 DFU000000001: $f: erased 0 pages, skipped 0 unchanged, wrote $n bytes, verified"
	head -c "$n" "$f" >want.bin
	head -c "$n" "$f.img" >got.bin
	expect_same_bytes want.bin got.bin
done
case_end

begin "corpus: files that are not valid DFU files are refused before the device"
run "$DFUFLASH" --sim f405:flash.img "$VLX"
expect_status 1
# Nothing was sent, so no state file was written either.
expect_no_file flash.img
expect_stderr_line "dfuflash: $VLX: not a DFU file: neither a DfuSe prefix nor a DFU suffix, nor ELF, Intel HEX or S-records (for a raw binary use -D file -s address)"
expect_stdout_empty
run "$DFUFLASH" --ignore-id --sim dfu11 "$HACKRF"
expect_status 1
expect_stderr_contains "dfuflash: $HACKRF: offset 0x89d4 (dwCRC): stored 0x1fb74f59, computed 0xf26caa4d"
case_end

# ---- the pyboard --------------------------------------------------------------------

# An old firmware in sector 0 (12 KiB) and from 0x08020000, the user's files
# in 0x08004000-0x0801ffff.
pyboard() {
	mkstate flash.img $MIB 0 0x3000 1 0x4000 0x1c000 2 0x20000 0x30000 3
	mkbin fw0.bin 12288 10
	mkbin fw1.bin 204800 11
	"$BUILD/bin/bin2dfu" -a 0x08000000:fw0.bin -a 0x08020000:fw1.bin \
	    -o fw.dfu || fail "bin2dfu failed"
	cp flash.img before.img
}

begin "pyboard: the filesystem between the two parts is untouched"
pyboard
run "$DFUFLASH" --verify --sim f405:flash.img fw.dfu
expect_status 0
expect_stdout_line "1-1 DFU000000001: fw.dfu: erased 3 pages (278528 bytes, 61440 of them outside the image), skipped 0 unchanged, wrote 217088 bytes, verified"
holds flash.img 0x08000000 fw.dfu
same_range before.img flash.img 0x4000 0x1c000
case_end

# The plan sends nothing: the partly covered sectors (16K at 0x08000000,
# 128K at 0x08040000) are erased without being read.
begin "pyboard: --plan lists the pages and ranges and changes nothing"
pyboard
run "$DFUFLASH" --plan --sim f405:flash.img fw.dfu
expect_status 0
cat >want.txt <<'EOF'
page   alt 0 0x08000000-0x08003fff   16384 bytes  erase
page   alt 0 0x08020000-0x0803ffff  131072 bytes  erase
page   alt 0 0x08040000-0x0805ffff  131072 bytes  erase
write  alt 0 0x08000000-0x08002fff   12288 bytes
write  alt 0 0x08020000-0x08051fff  204800 bytes
leave  alt 0 to run 0x08000000, the start of flash (no vector table in the image)
1-1 DFU000000001: plan: erase 3 pages (278528 bytes, 61440 of them outside the image), keep 0 bytes, skip 0 unchanged, write 217088 bytes in 2 ranges
1-1 DFU000000001: sim f405: 0 control transfers, 0 pages erased (0 bytes), 0 bytes programmed, 0 bytes read, 0.000 s modelled
EOF
expect_stdout_file want.txt
expect_same_bytes before.img flash.img
case_end

# all_ff IMG OFFSET LEN: those bytes of the flash image are erased.
all_ff() {
	python3 -c 'import sys
d, o, n = open(sys.argv[1], "rb").read(), int(sys.argv[2], 0), int(sys.argv[3], 0)
sys.exit(0 if d[o:o + n] == b"\xff" * n else 1)' "$@" ||
	    fail "$1: $2+$3 is not erased"
}

# some_data IMG OFFSET LEN: not all of those bytes are 0xff.
some_data() {
	python3 -c 'import sys
d, o, n = open(sys.argv[1], "rb").read(), int(sys.argv[2], 0), int(sys.argv[3], 0)
sys.exit(0 if d[o:o + n] != b"\xff" * n else 1)' "$@" ||
	    fail "$1: $2+$3 holds no data"
}

# The release story: build 1 is flashed (12 KiB + 200 KiB), then build 2,
# whose first part is 2 KiB smaller.  flashed.img is the device after
# build 1, with the old tail 0x08002800-0x08002fff.
release() {
	pyboard
	"$DFUFLASH" -q --sim f405:flash.img fw.dfu || fail "build 1"
	cp flash.img flashed.img
	head -c 10240 fw0.bin >fw0s.bin
	"$BUILD/bin/bin2dfu" -a 0x08000000:fw0s.bin -a 0x08020000:fw1.bin \
	    -o small.dfu || fail "bin2dfu failed"
}

begin "pyboard: a build whose first part is 2 KiB smaller flashes with no option"
release
some_data flashed.img 0x2800 0x800
run "$DFUFLASH" --sim f405:flash.img small.dfu
expect_status 0
expect_stderr_empty
# 16K - 10K in sector 0, 2 x 128K - 200K in sectors 5 and 6.
expect_stdout_line "1-1 DFU000000001: small.dfu: erased 3 pages (278528 bytes, 63488 of them outside the image), skipped 0 unchanged, wrote 215040 bytes"
# Nothing is read to decide the erase.
expect_stdout_contains " 0 bytes read, "
holds flash.img 0x08000000 small.dfu
same_range before.img flash.img 0x4000 0x1c000
all_ff flash.img 0x2800 0x1800
case_end

begin "pyboard: --preserve keeps a range inside a page the image touches"
release
run "$DFUFLASH" --plan --sim f405:flash.img --preserve 0x08002c00+256 small.dfu
expect_status 0
cat >want.txt <<'EOF'
page   alt 0 0x08000000-0x08003fff   16384 bytes  erase
page   alt 0 0x08020000-0x0803ffff  131072 bytes  erase
page   alt 0 0x08040000-0x0805ffff  131072 bytes  erase
keep   alt 0 0x08002c00-0x08002cff     256 bytes
write  alt 0 0x08000000-0x080027ff   10240 bytes
write  alt 0 0x08002c00-0x08002cff     256 bytes
write  alt 0 0x08020000-0x08051fff  204800 bytes
leave  alt 0 to run 0x08000000, the start of flash (no vector table in the image)
1-1 DFU000000001: plan: erase 3 pages (278528 bytes, 63488 of them outside the image), keep 256 bytes, skip 0 unchanged, write 215296 bytes in 3 ranges
1-1 DFU000000001: sim f405: 8 control transfers, 0 pages erased (0 bytes), 0 bytes programmed, 256 bytes read, 0.008 s modelled
EOF
expect_stdout_file want.txt
expect_same_bytes flashed.img flash.img
run "$DFUFLASH" --sim f405:flash.img --preserve 0x08002c00-0x08002cff small.dfu
expect_status 0
expect_stdout_line "1-1 DFU000000001: small.dfu: erased 3 pages (278528 bytes, 63488 of them outside the image, 256 of those preserved), skipped 0 unchanged, wrote 215296 bytes"
# Read before the erase and read back after writing: 256 bytes each.
expect_stdout_contains " 512 bytes read, "
holds flash.img 0x08000000 small.dfu
same_range flashed.img flash.img 0x2c00 0x100
same_range before.img flash.img 0x4000 0x1c000
all_ff flash.img 0x2800 0x400
all_ff flash.img 0x2d00 0x1300
cp flashed.img flash.img
run "$DFUFLASH" --progress=json --sim f405:flash.img --preserve 0x08002c00+256 small.dfu
expect_status 0
expect_json_lines_valid dfuflash-event
jq -s -e 'map(select(.event == "done")) | .[0] | .bytes_erased == 278528 and .bytes_erased_outside == 63488 and .bytes_preserved == 256 and .leave_address == 134217728 and .leave_reason == "flash"' "$OUT" >/dev/null ||
    fail "done event"
jq -s -e 'map(select(.phase == "preserve")) | length > 0' "$OUT" >/dev/null ||
    fail "no preserve phase"
case_end

begin "pyboard: --preserve-uncovered keeps every byte the image does not cover"
release
run "$DFUFLASH" --sim f405:flash.img --preserve-uncovered small.dfu
expect_status 0
# 0x08002800-0x08003fff and 0x08052000-0x0805ffff: 63488 bytes read
# before the erase, and again after writing.
expect_stdout_line "1-1 DFU000000001: small.dfu: erased 3 pages (278528 bytes, 63488 of them outside the image, 63488 of those preserved), skipped 0 unchanged, wrote 217088 bytes"
expect_stdout_contains " 126976 bytes read, "
holds flash.img 0x08000000 small.dfu
same_range flashed.img flash.img 0x2800 0x1800
same_range flashed.img flash.img 0x52000 0xe000
same_range before.img flash.img 0x4000 0x1c000
case_end

begin "--preserve: bytes that cannot be read are refused before any erase"
release
run "$DFUFLASH" --sim f405:flash.img --sim-fault read-protect --preserve 0x08002c00+256 small.dfu
expect_status 4
expect_stderr_line "dfuflash: small.dfu: preserve at 0x08002c00: device stalled UPLOAD; state dfuERROR, status errVENDOR (vendor-specific error); the bytes to preserve cannot be read, and nothing was erased"
expect_stdout_contains " 0 pages erased (0 bytes), 0 bytes programmed, "
expect_same_bytes flashed.img flash.img
case_end

begin "--preserve: usage errors"
release
for args in \
    "--preserve 0x08002000 small.dfu|dfuflash: --preserve 0x08002000: expected first-last or first+size" \
    "--preserve 0x08002000+0 small.dfu|dfuflash: --preserve 0x08002000+0: size is 0 or runs past the 32-bit address space" \
    "--preserve 0xffffff00+0x101 small.dfu|dfuflash: --preserve 0xffffff00+0x101: size is 0 or runs past the 32-bit address space" \
    "--preserve 0x08002000-0x08001000 small.dfu|dfuflash: --preserve 0x08002000-0x08001000: the range ends before it starts" \
    "--preserve 0x080027f0+0x20 small.dfu|dfuflash: --preserve 0x080027f0-0x0800280f: the image writes 0x08000000-0x080027ff (alt 0), which overlaps it" \
    "--preserve-uncovered --mass-erase small.dfu|dfuflash: --mass-erase erases everything: --preserve-uncovered cannot keep anything" \
    "--preserve 0x08002c00+1 --mass-erase small.dfu|dfuflash: --mass-erase erases everything: --preserve cannot keep anything" \
    "--preserve 0x08002c00+1 -U o.bin -s 0x08000000:16|dfuflash: -U takes no download options" \
    "--force small.dfu|dfuflash: --force is gone: --ignore-id flashes a file made for another VID:PID, and the pages the image covers in part are erased without a check (--preserve range and --preserve-uncovered keep bytes in them)"; do
	# shellcheck disable=SC2086
	run "$DFUFLASH" --sim f405:flash.img ${args%%|*}
	expect_status 2
	expect_stderr_line "${args#*|}"
	expect_same_bytes flashed.img flash.img
done
# A range in no page that is erased: nothing to keep, and a warning.
run "$DFUFLASH" -q --sim f405:flash.img --preserve 0x08004000+16 small.dfu
expect_status 0
expect_stderr_line "dfuflash: warning: --preserve 0x08004000-0x0800400f: no page that is erased holds these bytes; they stay as they are"
same_range before.img flash.img 0x4000 0x1c000
case_end

# ---- --skip-unchanged -------------------------------------------------------------------

begin "--skip-unchanged: the same image again erases and writes nothing"
pyboard
run "$DFUFLASH" -q --sim f405:flash.img fw.dfu
expect_status 0
expect_stdout_empty
run "$DFUFLASH" --skip-unchanged --sim f405:flash.img fw.dfu
expect_status 0
expect_stdout_line "1-1 DFU000000001: fw.dfu: erased 0 pages, skipped 3 unchanged, wrote 0 bytes"
expect_stdout_contains "sim f405: "
expect_stdout_contains " 0 pages erased (0 bytes), 0 bytes programmed, 278528 bytes read"
case_end

begin "--skip-unchanged: one changed page costs one page erase"
pyboard
run "$DFUFLASH" -q --sim f405:flash.img fw.dfu
python3 -c 'd = bytearray(open("fw1.bin", "rb").read()); d[150000] ^= 0xff; open("fw1.bin", "wb").write(d)'
"$BUILD/bin/bin2dfu" -a 0x08000000:fw0.bin -a 0x08020000:fw1.bin -o fw2.dfu
run "$DFUFLASH" --skip-unchanged --verify --sim f405:flash.img fw2.dfu
expect_status 0
expect_stdout_line "1-1 DFU000000001: fw2.dfu: erased 1 page (131072 bytes, 57344 of them outside the image), skipped 2 unchanged, wrote 73728 bytes, verified"
holds flash.img 0x08000000 fw2.dfu
same_range before.img flash.img 0x4000 0x1c000
case_end

# ---- leave, raw binaries, uploads ---------------------------------------------------------

begin "-D and -s: a raw binary; --no-leave and --start"
mkbin app.bin 5000 7
run "$DFUFLASH" --no-leave --sim l476:l4.img -D app.bin -s 0x08000800
expect_status 0
expect_stdout_line "1-1 DFU000000001: app.bin: erased 3 pages (6144 bytes, 1144 of them outside the image), skipped 0 unchanged, wrote 5000 bytes"
expect_stdout_line "1-1 DFU000000001: app.bin: device stays in DFU mode"
run "$DFUFLASH" --start 0x08000800 --sim l476:l4.img -D app.bin -s 0x08000800
expect_status 0
expect_stdout_line "1-1 DFU000000001: app.bin: device left DFU mode to run 0x08000800 (--start)"
python3 -c 'import sys; d = open("l4.img", "rb").read(); sys.exit(d[0x800:0x800 + 5000] != open("app.bin", "rb").read())' ||
    fail "app.bin not at 0x08000800"
case_end

begin "leave: to the application's vector table, never to data or option bytes"
# Data at 0x08060000: the device starts its flash, not the data.
mkbin data.bin 4096 9
run "$DFUFLASH" --sim f405 --sim-trace trace.txt -D data.bin -s 0x08060000
expect_status 0
expect_stdout_line "1-1 DFU000000001: data.bin: device left DFU mode to run 0x08000000, the start of flash (no vector table in the image)"
[ "$(tail -n 1 trace.txt)" = "GETSTATUS -> OK dfuMANIFEST (left to 0x08000000)" ] ||
    fail "left to: $(tail -n 1 trace.txt)"
# Option bytes only (alt 1): the plan leaves from alt 0, at its flash;
# the device resets once they are written and is not sent to leave.
printf '\252\0\377\377\377\377\377\377\377\377\377\377\377\377\377\377' >ob.bin
"$BUILD/bin/bin2dfu" -t 1 -a 0x1fffc000:ob.bin -o ob.dfu || fail "bin2dfu failed"
run "$DFUFLASH" --plan --sim f405 ob.dfu
expect_stdout_line "leave  alt 0 to run 0x08000000, the start of flash (no vector table in the image)"
run "$DFUFLASH" --sim f405 --sim-trace trace.txt ob.dfu
expect_status 0
expect_stdout_line "1-1 DFU000000001: ob.dfu: device reset to load its option bytes (alt 1), as it does once they are written; it was not sent to leave DFU mode"
[ "$(grep '^SET_INTERFACE' trace.txt | tr '\n' ' ')" = "SET_INTERFACE 1 " ] ||
    fail "alt settings: $(grep '^SET_INTERFACE' trace.txt | tr '\n' ' ')"
[ "$(tail -n 1 trace.txt)" = "GETSTATUS -> gone" ] ||
    fail "last request: $(tail -n 1 trace.txt)"
# An application at 0x08004000 (SP 0x20020000, reset 0x08004101) after
# data at 0x08000000: the application.
python3 -c 'import struct, sys; sys.stdout.buffer.write(struct.pack("<II", 0x20020000, 0x08004101) + bytes(range(256)) * 8)' >app.bin
"$BUILD/bin/bin2dfu" -a 0x08000000:data.bin -a 0x08004000:app.bin -o both.dfu || fail "bin2dfu failed"
run "$DFUFLASH" --sim f405 --sim-trace trace.txt both.dfu
expect_status 0
expect_stdout_line "1-1 DFU000000001: both.dfu: device left DFU mode to run the application at 0x08004000"
[ "$(tail -n 1 trace.txt)" = "GETSTATUS -> OK dfuMANIFEST (left to 0x08004000)" ] ||
    fail "left to: $(tail -n 1 trace.txt)"
run "$DFUFLASH" --plan --sim f405 both.dfu
expect_stdout_line "leave  alt 0 to run the application at 0x08004000"
# An even reset vector (not Thumb) is no vector table.
python3 -c 'import struct, sys; sys.stdout.buffer.write(struct.pack("<II", 0x20020000, 0x08004100))' >bad.bin
run "$DFUFLASH" --sim f405 -D bad.bin -s 0x08004000
expect_stdout_line "1-1 DFU000000001: bad.bin: device left DFU mode to run 0x08000000, the start of flash (no vector table in the image)"
case_end

# Every profile the model lists (so that one added later is covered without
# a change here): a file with the option bytes (where the part has them)
# before the flash, flashed with default options, gives exactly the
# flash image: the option bytes go last whatever the file order, and the
# reset that loads them ends the session with success.
begin "every profile: flash and option bytes give an exact flash image, with default options"
run "$DFUFLASH" --sim '?' x.dfu
profiles=$(sed -n 's/^dfuflash: --sim ?: unknown profile ? (\(.*\))$/\1/p' "$ERR")
[ -n "$profiles" ] || fail "no profile list: $(cat "$ERR")"
printf 'x' >x.bin
n=0 n_ob=0
for p in $profiles; do
	n=$((n + 1))
	# Its alternate settings, as the device describes them.
	run "$DFUFLASH" --sim "$p" -a 255 -D x.bin
	if ! python3 - "$ERR" >"$p.kind" <<'EOF_PY'; then
import random, re, sys
text = open(sys.argv[1]).read()
alts = re.findall(r'alt (\d+) "([^"]*)"', text)
assert alts, text
r = random.Random(13)
fw = bytes(r.getrandbits(8) for _ in range(5000))
open("fw.bin", "wb").write(fw)
name0 = dict(alts)["0"]
if not name0.startswith("@"):
    print("plain 0")
    sys.exit(0)
base = int(re.match(r"@[^/]*/(0x[0-9A-Fa-f]+)/", name0).group(1), 16)
ob = ""
for alt, name in alts:
    if re.match(r"@ *option byte", name, re.I):
        m = re.match(r"@[^/]*/(0x[0-9A-Fa-f]+)/(\d+)\*(\d+) ?([KM]?)", name)
        size = int(m.group(2)) * int(m.group(3)) * {"": 1, "K": 1024, "M": 1 << 20}[m.group(4)]
        open("ob.bin", "wb").write(bytes([0xaa]) + bytes(r.getrandbits(8) for _ in range(size - 1)))
        ob = "%s 0x%x" % (alt, int(m.group(1), 16))
print("dfuse 0x%x %s" % (base, ob))
EOF_PY
		fail "$p: cannot read its alternate settings: $(cat "$ERR")"
		continue
	fi
	read -r kind base ob_alt ob_addr <"$p.kind"
	if [ "$kind" = plain ]; then
		mkdfu "$p.dfu" 'plain=open("fw.bin", "rb").read()' vid=0xffff pid=0xffff
	elif [ -n "${ob_alt:-}" ]; then
		n_ob=$((n_ob + 1))
		mkdfu "$p.dfu" "targets=[dict(alt=$ob_alt, name=b'Option Bytes', elements=[($ob_addr, open('ob.bin', 'rb').read())]), dict(alt=0, name=b'Internal Flash', elements=[($base, open('fw.bin', 'rb').read())])]" vid=0xffff pid=0xffff
	else
		mkdfu "$p.dfu" "targets=[dict(alt=0, name=b'Internal Flash', elements=[($base, open('fw.bin', 'rb').read())])]" vid=0xffff pid=0xffff
	fi
	run "$DFUFLASH" --sim "$p:$p.img" "$p.dfu"
	expect_status 0
	# Nothing on stderr but the quirks the device needs (gd32vf103).
	if grep -v '^dfuflash: warning: alt [0-9]*: quirk: ' "$ERR" | grep -q .; then
		fail "$p: stderr: $(cat "$ERR")"
	fi
	if [ -n "${ob_alt:-}" ] && [ "$p" = gd32vf103 ]; then
		# No source says the GD32 ROM resets after its option bytes
		# (model.c): it goes on, and leaves without answering.
		expect_stdout_contains "$p.dfu: device left DFU mode"
	elif [ -n "${ob_alt:-}" ]; then
		expect_stdout_line "1-1 DFU000000001: $p.dfu: device reset to load its option bytes (alt $ob_alt), as it does once they are written; it was not sent to leave DFU mode"
	else
		expect_stdout_contains "$p.dfu: device left DFU mode"
	fi
	# The image at the start of the flash (the state file starts where
	# alt 0's memory does), 0xff (erased) everywhere else.
	python3 -c 'import sys
img, fw = open(sys.argv[1], "rb").read(), open("fw.bin", "rb").read()
sys.exit(img != fw + b"\xff" * (len(img) - len(fw)))' "$p.img" ||
	    fail "$p: the flash is not exactly the image"
	ob_alt=
done
# Five profiles today, three with option bytes; more may come.
[ "$n" -ge 5 ] && [ "$n_ob" -ge 3 ] ||
    fail "$n profiles, $n_ob with option bytes: expected at least 5 and 3"
case_end

begin "a device that resets before answering the leave request has left"
mkbin app.bin 5000 7
run "$DFUFLASH" --sim f405 --sim-fault leave-gone -D app.bin -s 0x08000000
expect_status 0
expect_stderr_empty
expect_stdout_line "1-1 DFU000000001: app.bin: device left DFU mode to run 0x08000000, the start of flash (no vector table in the image) (it reset before answering)"
case_end

begin "a leave request that fails as the device resets: it has left; a stall from a device still there is an error"
mkbin app.bin 3000 7
for f in leave-gone=stall leave-gone=io; do
	run "$DFUFLASH" --sim f405 --sim-fault "$f" -D app.bin -s 0x08000000
	expect_status 0
	expect_stderr_empty
	expect_stdout_line "1-1 DFU000000001: app.bin: device left DFU mode to run 0x08000000, the start of flash (no vector table in the image) (its leave request failed as it reset)"
done
# Request 18 is the leave DNLOAD; the device answers afterwards.
run "$DFUFLASH" --sim f405 --sim-fault stall:18 -D app.bin -s 0x08000000
expect_status 4
expect_stderr_line "dfuflash: app.bin: leave at 0x08000000: device stalled DNLOAD; state dfuERROR, status errSTALLEDPKT (device stalled an unexpected request)"
case_end

begin "a plain device that leaves the bus during manifestation has manifested"
mkbin fw.bin 5000 3
run "$DFUFLASH" --sim dfu11 --sim-fault manifest-gone --progress=json -D fw.bin
expect_status 0
expect_json_lines_valid dfuflash-event
jq -s -e '(map(select(.event == "done"))[0] | .left == true and .verified == false)' "$OUT" >/dev/null ||
    fail "done event: $(grep done "$OUT")"
run "$DFUFLASH" --verify --sim dfu11 --sim-fault manifest-gone -D fw.bin
expect_status 0
expect_stderr_line "dfuflash: warning: not verified: the device left the bus during manifestation, before it could be read back"
expect_stdout_line "1-1 DFU000000001: fw.bin: device left DFU mode (it reset before answering)"
run "$DFUFLASH" --sim dfu11-reset --sim-fault leave-gone=stall -D fw.bin
expect_status 0
expect_stdout_line "1-1 DFU000000001: fw.bin: device left DFU mode (its leave request failed as it reset)"
case_end

begin "option bytes: --progress=json says the device reset; what the reset would cut short is refused"
mkbin app.bin 3000 5
printf '\252\125\377\377' >ob.bin
"$BUILD/bin/bin2dfu" -t "1:Option Bytes" -a 0x1fffc000:ob.bin \
    -t "0:Internal Flash" -a 0x08000000:app.bin -o ob.dfu || fail "bin2dfu failed"
run "$DFUFLASH" --sim f405 --progress=json ob.dfu
expect_status 0
expect_json_lines_valid dfuflash-event
jq -s -e '(map(select(.event == "done"))[0] | .options_reset == true and .left == false and .leave_reason == null)' "$OUT" >/dev/null ||
    fail "done event: $(grep done "$OUT")"
# --plan: the flash first although the file has it second, then the reset.
run "$DFUFLASH" --plan --sim f405 ob.dfu
expect_status 0
[ "$(grep -E '^(write|reset)' "$OUT" | cut -c1-12 | tr '\n' ' ')" = "write  alt 0 write  alt 1 reset  alt 1 " ] ||
    fail "plan: $(cat "$OUT")"
expect_stdout_line "reset  alt 1: the device resets once its option bytes are written, last; it is then not sent to leave"
# Option bytes alone with --verify: nothing could be read back.
"$BUILD/bin/bin2dfu" -t "1:Option Bytes" -a 0x1fffc000:ob.bin -o only.dfu || fail "bin2dfu failed"
run "$DFUFLASH" --verify --sim f405 only.dfu
expect_status 0
expect_stdout_line "1-1 DFU000000001: only.dfu: erased 0 pages, skipped 0 unchanged, wrote 4 bytes, not verified (the device reset)"
"$BUILD/bin/bin2dfu" -t "1:Option Bytes" -a 0x1fffc000:ob.bin \
    -a 0x1fffc008:ob.bin -o ob2.dfu || fail "bin2dfu failed"
run "$DFUFLASH" --sim f405 ob2.dfu
expect_status 1
expect_stderr_line "dfuflash: ob2.dfu: alt 1 (Option Bytes): the device resets as soon as its option bytes are written, so they must be one range of at most 2048 bytes (wTransferSize); the image gives 2 ranges from 0x1fffc000 to 0x1fffc00b"
expect_stdout_empty
case_end

begin "-U reads back, as a raw binary or as a DfuSe file"
mkbin app.bin 5000 7
run "$DFUFLASH" -q --sim f405:flash.img -D app.bin -s 0x08000000
run "$DFUFLASH" --sim f405:flash.img -U back.bin -s 0x08000000:5000
expect_status 0
expect_stdout_line "1-1 DFU000000001: back.bin: 5000 bytes read from alt 0 at 0x08000000"
expect_same_bytes app.bin back.bin
run "$DFUFLASH" -q --sim f405:flash.img -U back.dfu --format dfu -s 0x08000000:5000
expect_status 0
run "$DFUINFO" back.dfu
expect_status 0
expect_stdout_contains "idVendor 0x0483  idProduct 0xdf11  bcdDevice 0x2200  bcdDFU 0x011a"
expect_stdout_contains "element 0:  0x08000000-0x08001387  5000 bytes"
run "$DFUFLASH" -q --sim f405 -a 1 -U ob.bin -s 0x1fffc000:16
expect_status 0
python3 -c 'import sys; sys.exit(open("ob.bin", "rb").read(1) != b"\xaa")' || fail "RDP byte"
# -a by a unique part of the alt's name, as by its number.
run "$DFUFLASH" -q --sim f405 -a Option -U ob2.bin -s 0x1fffc000:16
expect_status 0
expect_same_bytes ob.bin ob2.bin
# A part that two names share is a usage error listing both.
run "$DFUFLASH" -q --sim f405 -a /0x1FFF -U ob3.bin -s 0x1fffc000:16
expect_status 2
expect_stderr_line "dfuflash: -a /0x1FFF: 2 alternate settings match, give more of the name or the number: alt 1 \"@Option Bytes  /0x1FFFC000/01*016 e\", alt 2 \"@OTP Memory /0x1FFF7800/01*512 e,01*016 e\""
expect_no_file ob3.bin
case_end

begin "--mass-erase and --unprotect warn about what they erase"
pyboard
run "$DFUFLASH" --mass-erase --sim f405:flash.img fw.dfu
expect_status 0
expect_stderr_line "dfuflash: warning: --mass-erase erases all of the device's flash, not only the pages the image covers"
expect_stdout_line "1-1 DFU000000001: fw.dfu: mass erase, erased 0 pages, skipped 0 unchanged, wrote 217088 bytes"
python3 -c 'import sys; d = open("flash.img", "rb").read(); sys.exit(d[0x4000:0x20000] != b"\xff" * 0x1c000)' ||
    fail "filesystem not erased by --mass-erase"
run "$DFUFLASH" --sim f405:flash.img --unprotect
expect_status 0
expect_stderr_line "dfuflash: warning: --unprotect removes read protection: the device erases all of its flash and resets"
python3 -c 'import sys; d = open("flash.img", "rb").read(); sys.exit(d != b"\xff" * len(d))' ||
    fail "flash not erased by --unprotect"
case_end

# ---- faults -------------------------------------------------------------------------------

begin "faults: the message names phase, address, state and status; a rerun succeeds"
# Seed 3 puts 0xfb at 0x800: bit 0 is set, so write:2=corrupt changes it.
mkbin app.bin 20000 3
python3 -c 'import sys; sys.exit(open("app.bin", "rb").read()[0x800] != 0xfb)' ||
    fail "app.bin is not the expected image"
# FAULT|EXIT STATUS|MESSAGE: 4, the device failed; 5, verify found a
# difference.
for spec in \
    "write:3=errWRITE|4|write at 0x08001000: device reports errWRITE (device is unable to write memory), state dfuERROR" \
    "erase:2=errERASE|4|erase at 0x08004000: device reports errERASE (memory erase function failed), state dfuERROR" \
    "stall:3|4|erase at 0x08000000: device stalled DNLOAD; state dfuERROR, status errSTALLEDPKT (device stalled an unexpected request)" \
    "write:1=busy|4|write at 0x08000000: device still busy (dfuDNBUSY) after 10000 ms" \
    "write:2=corrupt|5|verify at 0x08000800: device holds 0xfa, the image 0xfb"; do
	rm -f flash.img
	rest=${spec#*|}
	run "$DFUFLASH" --verify --sim f405:flash.img --sim-fault "${spec%%|*}" -D app.bin -s 0x08000000
	expect_status "${rest%%|*}"
	expect_stderr_line "dfuflash: app.bin: ${rest#*|}"
	expect_stderr_line "dfuflash: the device stays in DFU mode; run again to retry"
	expect_stdout_lacks "device left"
	run "$DFUFLASH" --verify --sim f405:flash.img -D app.bin -s 0x08000000
	expect_status 0
	expect_stdout_line "1-1 DFU000000001: app.bin: device left DFU mode to run 0x08000000, the start of flash (no vector table in the image)"
done
case_end

begin "faults: erase:N=stuck, a page erase left in dfuDNBUSY (STM32H743 rev V): cleared, read back, the session goes on"
mkbin app.bin 20000 3
rm -f flash.img
run "$DFUFLASH" --verify --sim f405:flash.img --sim-fault erase:2=stuck -D app.bin -s 0x08000000
expect_status 0
expect_stderr_line "dfuflash: warning: erase at 0x08004000: device stayed in dfuDNBUSY for 10000 ms; cleared it with CLRSTATUS, reading the page back to check the erase"
expect_stdout_contains ", verified"
# Nothing erased under the stuck state: the read-back says so, nothing is written.
rm -f flash.img
run "$DFUFLASH" --sim f405:flash.img -D app.bin -s 0x08000000
run "$DFUFLASH" --sim f405:flash.img --sim-fault erase:2=stuck --sim-fault erase:2=skip -D app.bin -s 0x08000000
expect_status 4
expect_stderr_contains "dfuflash: app.bin: erase at 0x08004000: device stayed in dfuDNBUSY and did not erase the page: 0x08004000 holds 0x"
case_end

begin "faults: erase:N=skip, a sector left unerased with every write reported good (dual-bank F76x): only --verify finds it"
mkbin old.bin 20000 3
mkbin app.bin 20000 4
rm -f flash.img
run "$DFUFLASH" --sim f405:flash.img -D old.bin -s 0x08000000
expect_status 0
cp flash.img before.img
# Sector 1 (0x08004000) keeps old.bin's bytes; the new ones are ANDed in.
want=$(python3 -c '
o = open("old.bin", "rb").read(); n = open("app.bin", "rb").read()
i = next(i for i in range(0x4000, len(n)) if o[i] & n[i] != n[i])
print("verify at 0x%08x: device holds 0x%02x, the image 0x%02x" % (0x08000000 + i, o[i] & n[i], n[i]))')
run "$DFUFLASH" --sim f405:flash.img --sim-fault erase:2=skip -D app.bin -s 0x08000000
expect_status 0
expect_stdout_line "1-1 DFU000000001: app.bin: device left DFU mode to run 0x08000000, the start of flash (no vector table in the image)"
python3 -c 'import sys; sys.exit(open("flash.img", "rb").read()[:20000] == open("app.bin", "rb").read())' ||
    fail "the skipped erase left the image intact: the fault does nothing"
cp before.img flash.img
run "$DFUFLASH" --verify --sim f405:flash.img --sim-fault erase:2=skip -D app.bin -s 0x08000000
expect_status 5
expect_stderr_line "dfuflash: app.bin: $want"
expect_stdout_lacks "device left"
case_end

begin "faults: a device that disconnects mid-download"
mkbin app.bin 20000 5
run "$DFUFLASH" --sim f405:flash.img --sim-fault disconnect:15 -D app.bin -s 0x08000000
expect_status 4
expect_stderr_line "dfuflash: app.bin: write at 0x08000800: device disconnected during DNLOAD"
run "$DFUFLASH" --skip-unchanged --verify --sim f405:flash.img -D app.bin -s 0x08000000
expect_status 0
expect_stdout_line "1-1 DFU000000001: app.bin: erased 2 pages (32768 bytes, 12768 of them outside the image), skipped 0 unchanged, wrote 20000 bytes, verified"
case_end

begin "a device in run-time mode is detached into DFU mode first"
mkbin app.bin 3000 5
run "$DFUFLASH" --sim f405 --sim-fault runtime --sim-trace trace.txt -D app.bin -s 0x08000000
expect_status 0
expect_stdout_line "1-1 DFU000000001: app.bin: device left DFU mode to run 0x08000000, the start of flash (no vector table in the image)"
[ "$(head -n 3 trace.txt | tr '\n' ' ')" = "GETSTATUS -> OK appIDLE 0ms DETACH re-enumerate -> DFU mode " ] ||
    fail "trace starts with: $(head -n 3 trace.txt | tr '\n' ' ')"
case_end

begin "a run-time interface that reports a DFU-mode state is flashed as it is"
# NXP's LPC43xx ROM bootloader (HackRF, Airspy) enumerates with run-time
# descriptors in dfuIDLE and stalls DETACH: it is flashed without one.
mkbin fw.bin 3000 5
run "$DFUFLASH" --sim dfu11 --sim-fault runtime-in-dfu --sim-trace trace.txt -D fw.bin
expect_status 0
expect_stderr_line "dfuflash: warning: the device describes itself as in run-time mode but reports dfuIDLE, a state of DFU mode: used as it is, without DETACH"
! grep -q DETACH trace.txt || fail "DETACH sent: $(tr '\n' ' ' <trace.txt)"
expect_stdout_line "1-1 DFU000000001: fw.bin: erased 0 pages, skipped 0 unchanged, wrote 3000 bytes"
case_end

begin "--sim-trace writes every request; --progress=json one object per event"
mkbin app.bin 3000 5
run "$DFUFLASH" --sim f405 --sim-trace trace.txt -D app.bin -s 0x08000000
expect_status 0
[ "$(grep -c '^DNLOAD 0 41' trace.txt)" = 1 ] || fail "not one erase in the trace"
[ "$(tail -n 1 trace.txt)" = "GETSTATUS -> OK dfuMANIFEST (left to 0x08000000)" ] ||
    fail "trace does not end with the leave: $(tail -n 1 trace.txt)"
run "$DFUFLASH" --progress=json --sim f405 -D app.bin -s 0x08000000
expect_status 0
jq -s -e 'map(select(.phase)) | (map(.phase) | unique) == ["erase", "leave", "write"]' "$OUT" >/dev/null ||
    fail "phases in the JSON progress"
jq -s -e 'map(select(.phase == "write")) | last | .done == 3000 and .total == 3000' "$OUT" >/dev/null ||
    fail "last write event"
jq -s -e '(.[-3].event == "done") and (.[-3].left == true) and (.[-2].event == "sim") and (.[-1].event == "result") and .[-1].status == 0' "$OUT" >/dev/null ||
    fail "final events"
expect_json_lines_valid dfuflash-event
case_end

# ---- --progress=json: results a program can act on ------------------------------------

# result_is JQ: the last line of the last run's stdout is a result event
# for which JQ holds, and every line is a valid event.
result_is() {
	expect_json_lines_valid dfuflash-event
	jq -s -e "(.[-1] | .event == \"result\") and (.[-1] | $1)" "$OUT" \
	    >/dev/null || fail "result event: $(tail -n 1 "$OUT")"
}

begin "--progress=json: a result event ends every run, and its status is the exit status"
mkbin app.bin 3000 5
run "$DFUFLASH" --progress=json --sim f405 -D app.bin -s 0x08000000
expect_status 0
result_is '.status == 0 and .status_name == "ok" and .phase == null and
    .message == null and .path == "1-1" and .serial == "DFU000000001" and
    .bytes_written == 3000 and .modelled_ms > 0'
jq -s -e 'all(.[]; .path == "1-1" and .serial == "DFU000000001")' "$OUT" \
    >/dev/null || fail "an event without its device"
# 1: the file is refused; nothing was sent, so no sim event either.
printf 'not a dfu file' >bad.dfu
run "$DFUFLASH" --progress=json --sim f405 bad.dfu
expect_status 1
result_is '.status_name == "rejected" and .phase == "input" and
    (.message | startswith("bad.dfu: not a DFU file"))'
jq -s -e 'map(select(.event == "sim")) == []' "$OUT" >/dev/null ||
    fail "a sim event after a file error"
# 1: the plan is refused (the Flipper updater runs from SRAM).
run "$DFUFLASH" --progress=json --sim f405 "$RAM"
expect_status 1
result_is '.status_name == "rejected" and .phase == "plan" and
    .address == null and (.message | test("outside the device.s memory"))'
# 2: a usage error once the command line is read has a result too.
run "$DFUFLASH" --progress=json --sim f405 -D app.bin
expect_status 2
result_is '.status_name == "usage" and
    .message == "-D: a DfuSe device needs -s address"'
run "$DFUFLASH" --progress=json --sim nope -D app.bin
expect_status 2
result_is '.status_name == "usage" and .path == null and .serial == null'
# 3: no device; or it is gone before anything changed (retry).
run "$DFUFLASH" --progress=json --sim 'f405*2' -S NOPE -D app.bin -s 0x08000000
expect_status 3
result_is '.status_name == "no_device" and .phase == "select" and
    .path == null and (.message | startswith("no DFU device matches"))'
run "$DFUFLASH" --progress=json --sim f405 --sim-fault disconnect:1 -D app.bin -s 0x08000000
expect_status 3
result_is '.status_name == "no_device" and .phase == "setup"'
# 4: the device failed once the erase had begun: it stays in DFU mode.
run "$DFUFLASH" --progress=json --sim f405 --sim-fault disconnect:3 -D app.bin -s 0x08000000
expect_status 4
result_is '.status_name == "device_failed" and .phase == "erase" and
    .address == 134217728'
run "$DFUFLASH" --progress=json --sim f405 --sim-fault write:2=errWRITE -D app.bin -s 0x08000000
expect_status 4
result_is '.status == 4 and .phase == "write" and .address == 134219776 and
    .dfu_state == "dfuERROR" and .dfu_status == "errWRITE" and
    .device_message == null and .bytes_written == 2048 and
    (.message | startswith("app.bin: write at 0x08000800: device reports errWRITE"))'
# The plain DFU profiles describe the error in their iString.
run "$DFUFLASH" --progress=json --sim dfu11 --sim-fault write:1=errWRITE -D app.bin
expect_status 4
result_is '.phase == "write" and .address == 0 and
    .dfu_status == "errWRITE" and
    .device_message == "write failed at offset 0x0: errWRITE"'
# 5: reading back found a difference.
mkbin app.bin 20000 3
run "$DFUFLASH" --progress=json --verify --sim f405 --sim-fault write:2=corrupt -D app.bin -s 0x08000000
expect_status 5
result_is '.status_name == "verify_failed" and .phase == "verify" and
    (.message | endswith("verify at 0x08000800: device holds 0xfa, the image 0xfb"))'
case_end

begin "--progress=json: text that is not UTF-8 becomes U+FFFD"
printf 'not a dfu file' >"$(printf 'bad\377.dfu')"
run "$DFUFLASH" --progress=json --sim f405 "$(printf 'bad\377.dfu')"
expect_status 1
result_is '(.message | startswith("bad\ufffd.dfu: not a DFU file"))'
case_end

begin "--plan --progress=json: the plan as one event"
pyboard
run "$DFUFLASH" --plan --progress=json --sim f405:flash.img fw.dfu
expect_status 0
result_is '.status == 0'
jq -s -e 'map(select(.event == "plan")) | length == 1 and (.[0] |
    .pages == [
      {"alt": 0, "address": 134217728, "size": 16384, "action": "erase"},
      {"alt": 0, "address": 134348800, "size": 131072, "action": "erase"},
      {"alt": 0, "address": 134479872, "size": 131072, "action": "erase"}] and
    .writes == [{"alt": 0, "address": 134217728, "size": 12288},
      {"alt": 0, "address": 134348800, "size": 204800}] and
    .preserved == [] and .pages_erased == 3 and .bytes_erased == 278528 and
    .bytes_erased_outside == 61440 and .bytes_written == 217088 and
    .leave_alt == 0 and .leave_address == 134217728 and
    .leave_reason == "flash" and .options_reset == false)' "$OUT" \
    >/dev/null || fail "plan event: $(grep '"plan"' "$OUT")"
expect_stdout_lacks '"event":"progress"'
case_end

begin "each target of a file goes to its own alt setting: flash and option bytes"
mkbin app.bin 3000 5
printf '\125\252\022\064\126\170\232\274' >ob.bin
"$BUILD/bin/bin2dfu" -t "0:Internal Flash" -a 0x08000000:app.bin \
    -t "1:Option Bytes" -a 0x1fffc000:ob.bin -o two.dfu || fail "bin2dfu failed"
run "$DFUFLASH" --verify --sim f405 --sim-trace trace.txt two.dfu
expect_status 0
expect_stdout_line "1-1 DFU000000001: two.dfu: erased 1 page (16384 bytes, 13384 of them outside the image), skipped 0 unchanged, wrote 3008 bytes, verified but for the option bytes (the device reset)"
# alt 0, then alt 1 (option bytes: written, never erased), after which
# the device resets: no alt 0 again to leave.
[ "$(grep '^SET_INTERFACE' trace.txt | tr '\n' ' ')" = "SET_INTERFACE 0 SET_INTERFACE 1 " ] ||
    fail "alt settings: $(grep '^SET_INTERFACE' trace.txt | tr '\n' ' ')"
[ "$(grep -c '^DNLOAD 0 41' trace.txt)" = 1 ] || fail "option bytes were erased"
grep -qx 'DNLOAD 0 21 00 c0 ff 1f' trace.txt || fail "no address pointer at 0x1fffc000"
case_end

begin "--progress=bar draws one bar per phase on standard error, with its rate"
mkbin app.bin 5000 5
run "$DFUFLASH" --progress=bar --sim f405 -D app.bin -s 0x08000000
expect_status 0
# The rate is in modelled time.  Write: set address (3 transfers of about
# 1 ms) and blocks of 2048, 2048 and 904 bytes, each a DNLOAD, two
# GETSTATUS and the 9, 9 and 4 ms the device asks for: 40070 us for 5000
# bytes, 121.9 KiB/s.  Erase: 2 transfers and 250 ms for 16 KiB (the f405
# answers the second GETSTATUS when the erase is done: 63.5 KiB/s).
tr '\r' '\n' <"$ERR" | grep -q '^write   \[=========================\] 100% 0x08001000 5000/5000 bytes 121.9 KiB/s *$' ||
    fail "no complete write bar"
tr '\r' '\n' <"$ERR" | grep -q '^erase   \[=========================\] 100% 0x08000000 16384/16384 bytes 63.5 KiB/s *$' ||
    fail "no complete erase bar"
tr '\r' '\n' <"$ERR" | grep -q '^leave   \[=========================\] 100% 0x08000000$' ||
    fail "no complete leave bar"
[ "$(grep -c . "$ERR")" -eq 3 ] || fail "expected 3 bar lines (erase, write, leave)"
run "$DFUFLASH" --sim f405 -D app.bin -s 0x08000000
expect_stderr_empty
case_end

begin "an image larger than the device's writable memory is not even loaded"
head -c 2000000 /dev/zero >big.bin
"$BUILD/bin/bin2dfu" -a 0x20000000:big.bin -o big.dfu || fail "bin2dfu failed"
# 1 MiB of flash, 16 option bytes, 528 of OTP, 4 of device feature.
run "$DFUFLASH" --sim f405 big.dfu
expect_status 1
expect_stderr_line "dfuflash: big.dfu: 2000000 bytes of data, more than the 1049124 bytes of writable memory the device describes"
run "$DFUFLASH" --sim f405 -D big.bin -s 0x08000000
expect_status 1
expect_stderr_line "dfuflash: big.bin: 2000000 bytes of data, more than the 1049124 bytes of writable memory the device describes"
case_end

begin "a plain DFU file too large for the device is refused from its size, not loaded"
# 512 MiB of payload (sparse) in a plain DFU file, under a 256 MiB
# address-space limit: refused by its size, as a DfuSe file is, before
# the 512 MiB would be allocated.
truncate -s 512M huge.dfu
python3 -c '
import struct, zlib
c, z = 0, bytes(1 << 24)
for _ in range(32):
    c = zlib.crc32(z, c)
s = struct.pack("<4H3sB", 0xffff, 0xffff, 0xffff, 0x0100, b"UFD", 16)
with open("huge.dfu", "ab") as f:
    f.write(s + struct.pack("<I", ~zlib.crc32(s, c) & 0xffffffff))'
run_vm_limited 262144 "$DFUFLASH" --sim f405 huge.dfu
expect_status 1
expect_stderr_line "dfuflash: huge.dfu: 536870912 bytes of data, more than the 1049124 bytes of writable memory the device describes"
rm -f huge.dfu
case_end

begin "-D holds the file's bytes once: 200 MiB load under a 300 MiB limit"
# A plain DFU device describes no memory size, so the file is loaded; its
# bytes are read straight into the image rather than into a buffer that
# is then copied (twice the memory).  The model's 128 KiB device stalls
# the download past its end: that message shows the image was loaded.
truncate -s 200M d200.bin
run_vm_limited 307200 "$DFUFLASH" --sim dfu11 -D d200.bin
expect_status 4
expect_stderr_contains "dfuflash: d200.bin: write at offset 0x00020000: device stalled DNLOAD"
rm -f d200.bin
case_end

# ---- the state file -------------------------------------------------------------------------

begin "--sim state: a directory or a FIFO is refused as such, a FIFO without blocking"
mkbin app.bin 100 5
mkdir state.d
mkfifo state.fifo
run "$DFUFLASH" --sim f405:state.d -D app.bin -s 0x08000000
expect_status 1
expect_stderr_line "dfuflash: state.d: is a directory: the f405 flash state is a regular file of exactly 1048576 bytes"
run timeout 20 "$DFUFLASH" --sim f405:state.fifo -D app.bin -s 0x08000000
expect_status 1
expect_stderr_line "dfuflash: state.fifo: not a regular file: the f405 flash state is a regular file of exactly 1048576 bytes"
case_end

begin "--sim state: a file of the wrong size is refused"
mkbin app.bin 100 5
head -c 1000 /dev/zero >small.img
run "$DFUFLASH" --sim f405:small.img -D app.bin -s 0x08000000
expect_status 1
expect_stderr_line "dfuflash: small.img: 1000 bytes; the f405 flash state is a file of exactly 1048576 bytes"
[ "$(wc -c <small.img)" -eq 1000 ] || fail "small.img was changed"
expect_dir_only . app.bin small.img
case_end

begin "a file on standard input"
mkbin app.bin 3000 5
"$BUILD/bin/bin2dfu" -a 0x08000000:app.bin -o app.dfu
run_stdin app.dfu "$DFUFLASH" -q --sim f405:flash.img -
expect_status 0
holds flash.img 0x08000000 app.dfu
case_end

# ---- what every input is, and never clobbering one (issue 11) ----------------

begin "numbers with a leading zero are usage errors, never guessed"
mkbin a.bin 100 1
lz="has a leading zero, which could mean octal, decimal or hexadecimal"
for args in \
    "-D a.bin -s 08000000|-s 08000000: 08000000 $lz: write 0x08000000 for hexadecimal or 8000000 for decimal" \
    "-U o.bin -s 0x08000000:0100|-s 0x08000000:0100: 0100 $lz: write 0x0100 for hexadecimal or 100 for decimal" \
    "-a 01 -D a.bin -s 0x08000000|-a 01: 01 $lz: write 0x01 for hexadecimal or 1 for decimal" \
    "--start 08000000 a.dfu|--start 08000000: 08000000 $lz: write 0x08000000 for hexadecimal or 8000000 for decimal"; do
	# shellcheck disable=SC2086
	run "$DFUFLASH" --sim f405:st.img ${args%%|*}
	expect_status 2
	expect_stderr_line "dfuflash: ${args#*|}"
	expect_stdout_empty
done
run "$DFUFLASH" --transfer-size 0100 a.dfu
expect_status 2
expect_stderr_line "dfuflash: --transfer-size 0100: 0100 $lz: write 0x0100 for hexadecimal or 100 for decimal"
run "$DFUFLASH" --wait-timeout 05 a.dfu
expect_status 2
expect_stderr_line "dfuflash: --wait-timeout 05: 05 $lz: write 0x05 for hexadecimal or 5 for decimal"
expect_no_file st.img
run "$DFUFLASH" --sim f405:st.img -a 0 -D a.bin -s 0x08000000
expect_status 0
case_end

# mkimages: fw.hex and fw.srec (the same bytes: 300 at 0x08000000, a gap,
# 40 at 0x08004100, the second range in the next 16 KiB sector), written
# here from the Intel HEX specification and the S-record format.
mkimages() {
	python3 -c '
import random
r = random.Random(5)
parts = [(0x08000000, bytes(r.getrandbits(8) for _ in range(300))),
         (0x08004100, bytes(r.getrandbits(8) for _ in range(40)))]
def ihex(b): return ":%s%02X\n" % (b.hex().upper(), -sum(b) & 0xff)
def srec(t, b):
    b = bytes([len(b) + 1]) + b
    return "S%d%s%02X\n" % (t, b.hex().upper(), ~sum(b) & 0xff)
h = [ihex(bytes([2, 0, 0, 4, 0x08, 0x00]))]
sr = [srec(0, b"\0\0fw")]
for a, d in parts:
    for o in range(0, len(d), 16):
        c, x = d[o:o + 16], a + o
        h.append(ihex(bytes([len(c), (x >> 8) & 0xff, x & 0xff, 0]) + c))
        sr.append(srec(3, x.to_bytes(4, "big") + c))
h.append(ihex(bytes([0, 0, 0, 1])))
sr.append(srec(7, (0x08000000).to_bytes(4, "big")))
open("fw.hex", "w").write("".join(h))
open("fw.srec", "w").write("".join(sr))
'
}

begin "-D refuses a DfuSe, DFU, ELF, HEX or S-record file before any device"
mkbin a.bin 100 1
mkimages
cp "$FIXTURES/elf/lma.elf" fw.elf
"$BUILD/bin/bin2dfu" -a 0x08000000:a.bin -o fw.dfu || fail "bin2dfu failed"
"$BUILD/bin/bin2dfu" --plain -o plain.dfu a.bin || fail "bin2dfu failed"
for f in "fw.dfu|a DfuSe file" "plain.dfu|a DFU file (payload and DFU suffix)" \
    "fw.elf|an ELF file" "fw.hex|an Intel HEX file" \
    "fw.srec|an S-record file"; do
	run "$DFUFLASH" --sim f405:st.img -D "${f%%|*}" -s 0x08000000
	expect_status 1
	expect_stderr_line "dfuflash: ${f%%|*}: ${f#*|}, not raw data: flash it with 'dfuflash ${f%%|*}' (--raw-container writes it as data)"
	expect_stdout_empty
	expect_no_file st.img
	# On USB the file is refused before any device is looked for.
	run "$DFUFLASH" -D "${f%%|*}" -s 0x08000000
	expect_status 1
	expect_stderr_line "dfuflash: ${f%%|*}: ${f#*|}, not raw data: flash it with 'dfuflash ${f%%|*}' (--raw-container writes it as data)"
	expect_stdout_empty
done
run_stdin fw.dfu "$DFUFLASH" --sim f405 -D - -s 0x08000000
expect_status 1
expect_stderr_line "dfuflash: (stdin): a DfuSe file, not raw data: flash it with 'dfuflash -' (--raw-container writes it as data)"
run "$DFUFLASH" --raw-container fw.dfu
expect_status 2
expect_stderr_line "dfuflash: --raw-container is for -D: it writes a DfuSe, DFU, ELF, HEX or S-record file as raw data"
case_end

begin "--raw-container writes a container as data; data that only looks like one needs none"
mkbin a.bin 100 1
"$BUILD/bin/bin2dfu" -a 0x08000000:a.bin -o fw.dfu || fail "bin2dfu failed"
run "$DFUFLASH" --raw-container --sim f405:st.img -D fw.dfu -s 0x08000000
expect_status 0
expect_stderr_empty
same_range st.img fw.dfu 0 "$(wc -c <fw.dfu)"
# ':' or "S1" then binary data, and a UFD signature whose CRC is wrong.
python3 -c '
import zlib, struct
open("colon.bin", "wb").write(b":10000000" + bytes(range(100)))
open("s1.bin", "wb").write(b"S113" + bytes(range(100)))
d = bytes(range(64)) + struct.pack("<4H3sB", 0, 0, 0, 0x100, b"UFD", 16)
open("ufd.bin", "wb").write(d + struct.pack("<I", zlib.crc32(d)))
'
for f in colon.bin s1.bin ufd.bin; do
	run "$DFUFLASH" --sim f405:$f.img -D $f -s 0x08000000
	expect_status 0
	expect_stderr_empty
	same_range $f.img $f 0 "$(wc -c <$f)"
done
case_end

begin "an ELF file flashed directly leaves the state its elf2dfu output leaves"
cp "$FIXTURES/elf/lma.elf" fw.elf
"$BUILD/bin/elf2dfu" -o fw.dfu fw.elf || fail "elf2dfu failed"
mkstate direct.img $MIB 0x40000 0x1000 7
cp direct.img converted.img
run "$DFUFLASH" --verify --sim f405:direct.img fw.elf
expect_status 0
expect_stderr_empty
expect_stdout_line "1-1 DFU000000001: fw.elf: erased 1 page (16384 bytes, 16291 of them outside the image), skipped 0 unchanged, wrote 96 bytes, verified"
run "$DFUFLASH" --verify --sim f405:converted.img fw.dfu
expect_status 0
expect_same_bytes direct.img converted.img
holds direct.img 0x08000000 fw.dfu
case_end

begin "Intel HEX and S-records flashed directly leave the state their hex2dfu output leaves"
mkimages
for f in fw.hex fw.srec; do
	"$BUILD/bin/hex2dfu" -o $f.dfu $f || fail "hex2dfu $f failed"
	mkstate direct.img $MIB 0x40000 0x1000 7
	cp direct.img converted.img
	run "$DFUFLASH" --sim f405:direct.img $f
	expect_status 0
	expect_stderr_empty
	expect_stdout_line "1-1 DFU000000001: $f: erased 2 pages (32768 bytes, 32428 of them outside the image), skipped 0 unchanged, wrote 344 bytes"
	run "$DFUFLASH" --sim f405:converted.img $f.dfu
	expect_status 0
	expect_same_bytes direct.img converted.img
	holds direct.img 0x08000000 $f.dfu
done
mkstate stdin.img $MIB 0x40000 0x1000 7
run_stdin fw.hex "$DFUFLASH" --sim f405:stdin.img -
expect_status 0
expect_same_bytes stdin.img direct.img
case_end

begin "a HEX file past the file size limit: the write error, not SIGXFSZ"
# The decoded bytes of a HEX file go to a temporary file; past ulimit -f
# its write must fail with EFBIG and be reported (frontend/cli.c ignores
# SIGXFSZ in every tool), not end dfuflash with a signal and no word.
python3 -c '
import random
r = random.Random(9)
d = bytes(r.getrandbits(8) for _ in range(256 * 1024))
def ihex(b): return ":%s%02X\n" % (b.hex().upper(), -sum(b) & 0xff)
h = [ihex(bytes([2, 0, 0, 4, 0x08, 0x00]))]
for o in range(0, len(d), 16):
    if o and o % 65536 == 0:
        h.append(ihex(bytes([2, 0, 0, 4, 0x08, o >> 16])))
    h.append(ihex(bytes([16, (o >> 8) & 0xff, o & 0xff, 0]) + d[o:o + 16]))
h.append(ihex(bytes([0, 0, 0, 1])))
open("big.hex", "w").write("".join(h))
'
run sh -c 'ulimit -f 64 && exec "$0" "$@"' "$DFUFLASH" --sim f405 big.hex
expect_status 1
expect_stderr_line "dfuflash: big.hex: temporary file for the decoded bytes: write: File too large"
expect_stdout_empty
case_end

begin "an ELF, HEX or S-record file goes through the plan checks of its .dfu"
"$BUILD/bin/elf2dfu" -o two.dfu "$FIXTURES/elf/two_regions.elf" ||
    fail "elf2dfu failed"
run "$DFUFLASH" --sim f405:st.img two.dfu
expect_status 1
sed 's/two\.dfu/FILE/' "$ERR" >want.txt
cp "$FIXTURES/elf/two_regions.elf" two.elf
run "$DFUFLASH" --sim f405:st.img two.elf
expect_status 1
sed 's/two\.elf/FILE/' "$ERR" >got.txt
expect_same_bytes got.txt want.txt
expect_stderr_contains "0x1fffc000 is outside the device's memory"
expect_no_file st.img
case_end

begin "-a names the alternate setting of an ELF, HEX or S-record file, not of a .dfu"
python3 -c '
def ihex(b): return ":%s%02X\n" % (b.hex().upper(), -sum(b) & 0xff)
d = bytes([0xaa, 0x55] * 8)
open("ob.hex", "w").write(ihex(bytes([2, 0, 0, 4, 0x1f, 0xff])) +
    ihex(bytes([16, 0xc0, 0, 0]) + d) + ihex(bytes([0, 0, 0, 1])))
'
"$BUILD/bin/hex2dfu" -t 1 -o ob.dfu ob.hex || fail "hex2dfu failed"
run "$DFUFLASH" --plan --sim f405 ob.dfu
expect_status 0
cp "$OUT" want.txt
run "$DFUFLASH" --plan --sim f405 -a 1 ob.hex
expect_status 0
expect_stdout_file want.txt
expect_stdout_contains "write  alt 1 0x1fffc000-0x1fffc00f      16 bytes"
run "$DFUFLASH" --plan --sim f405 -a Option ob.hex
expect_status 0
expect_stdout_file want.txt
run "$DFUFLASH" --plan --sim f405 ob.hex
expect_status 1
expect_stderr_contains "0x1fffc000 is outside the device's memory"
run "$DFUFLASH" --sim f405 -a 1 ob.dfu
expect_status 2
expect_stderr_line "dfuflash: -a is for -D, -U and ELF, HEX or S-record files; a .dfu file names its alternate settings"
case_end

begin "the input, -U output, --sim-trace file and state file must be four files"
mkbin a.bin 100 1
"$BUILD/bin/bin2dfu" -a 0x08000000:a.bin -o fw.dfu || fail "bin2dfu failed"
cp fw.dfu fw.orig
mkstate st.img $MIB 0x40000 0x1000 3
cp st.img st.orig
ln -s fw.dfu fw.link
ln st.img st.hard
for args in \
    "--sim f405 --sim-trace fw.dfu fw.dfu|fw.dfu: the --sim-trace file is also the input" \
    "--sim f405 --sim-trace fw.link fw.dfu|fw.link: the --sim-trace file is also the input fw.dfu" \
    "--sim f405:st.img -U st.img -s 0x08000000:16|st.img: the --sim state file is also the -U output" \
    "--sim f405:st.img -U st.hard -s 0x08000000:16|st.img: the --sim state file is also the -U output st.hard" \
    "--sim f405:st.img --sim-trace st.img fw.dfu|st.img: the --sim state file is also the --sim-trace file" \
    "--sim f405:fw.dfu fw.dfu|fw.dfu: the --sim state file is also the input" \
    "--sim f405:st.img -D st.hard -s 0x08000000|st.img: the --sim state file is also the -D input st.hard" \
    "--sim f405 --sim-trace - -U - -s 0x08000000:16|(stdout): the --sim-trace file is also the -U output"; do
	# shellcheck disable=SC2086
	run "$DFUFLASH" ${args%%|*}
	expect_status 2
	expect_stderr_line "dfuflash: ${args#*|}: give each its own file"
	expect_stdout_empty
done
# Standard input that is the state file.
run_stdin st.img "$DFUFLASH" --sim f405:st.img -D - -s 0x08000000
expect_status 2
expect_stderr_line "dfuflash: st.img: the --sim state file is also the -D input (stdin): give each its own file"
expect_same_bytes fw.dfu fw.orig
expect_same_bytes st.img st.orig
expect_no_file o.bin
# Four files: fine.
run "$DFUFLASH" --sim f405:st.img --sim-trace trace.txt fw.dfu
expect_status 0
expect_same_bytes fw.dfu fw.orig
expect_file_exists trace.txt
case_end

begin "a write error on standard output is an error"
if [ -w /dev/full ]; then
	mkbin a.bin 100 1
	"$BUILD/bin/bin2dfu" -a 0x08000000:a.bin -o fw.dfu || fail "bin2dfu failed"
	for args in "--plan" "--progress=json" "--sim-trace -" ""; do
		# shellcheck disable=SC2086
		"$DFUFLASH" --sim f405 $args fw.dfu >/dev/full 2>"$ERR"
		STATUS=$?
		expect_status 1
		expect_stderr_line "dfuflash: stdout: No space left on device"
	done
	"$DFUFLASH" -q --sim f405 fw.dfu >/dev/full 2>"$ERR"
	STATUS=$?
	expect_status 0
	expect_stderr_empty
else
	skip_case "no /dev/full"
fi
case_end

# Two targets of alt 0 that put different bytes at 0x08000018 (A and B):
# dfuinfo's verdict and dfuflash agree, and nothing reaches the device.
begin "a file whose targets of one alt disagree is refused before anything is sent"
printf 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' >a.bin
printf 'AAAAAAAAB' >b.bin
printf 'AAAAAAAA' >c.bin
# bin2dfu refuses to write such a file (the library's builder), so it is
# made as another tool could have made it.
mkdfu conflict.dfu 'targets=[dict(alt=0, elements=[(0x08000000, b"A" * 32)]), dict(alt=0, elements=[(0x08000010, b"AAAAAAAAB")])]'
run "$DFUINFO" -q conflict.dfu
expect_status 1
run "$DFUFLASH" --sim f405:flash.img conflict.dfu
expect_status 1
expect_stderr_line "dfuflash: conflict.dfu: alt 0: target 0 element 0 and target 1 element 0 write different bytes at 0x08000018 (0x41 and 0x42)"
expect_stdout_empty
[ ! -e flash.img ] || fail "the state file was created"
run "$DFUFLASH" --sim f405 --sim-trace trace.txt conflict.dfu
expect_status 1
[ -e trace.txt ] && [ ! -s trace.txt ] || fail "a request was sent"
run "$DFUFLASH" --plan --sim f405 conflict.dfu
expect_status 1
expect_stdout_empty
# The same bytes twice: a note for dfuinfo, flashed by dfuflash.
mkdfu same.dfu 'targets=[dict(alt=0, elements=[(0x08000000, b"A" * 32)]), dict(alt=0, elements=[(0x08000010, b"AAAAAAAA")])]'
run "$DFUINFO" same.dfu
expect_status 0
expect_stdout_contains "(alt-overlap)"
run "$DFUFLASH" --sim f405:flash.img same.dfu
expect_status 0
holds flash.img 0x08000000 same.dfu
# A state file that exists keeps its bytes.
cp flash.img before.img
run "$DFUFLASH" --sim f405:flash.img conflict.dfu
expect_status 1
cmp -s flash.img before.img || fail "the state file changed"
case_end

# dfuinfo -L with the layouts of the model's f405 predicts dfuflash's plan:
# the same files accepted and refused, and where accepted the same pages
# erased, the same bytes erased, the same bytes of them outside the image
# (dfuflash's "plan:" line, after the device tag, against the sums of
# dfuinfo -j's layouts).
# The device ID is not the planner's business: --ignore-id.
F405_LAYOUTS="0=@Internal Flash  /0x08000000/04*016Kg,01*064Kg,07*128Kg
1=@Option Bytes  /0x1FFFC000/01*016 e
2=@OTP Memory /0x1FFF7800/01*512 e,01*016 e
3=@Device Feature/0xFFFF0000/01*004 g"
# agree FILE: fail the case if the two disagree on FILE; count it in
# n_accepted or n_refused.
n_accepted=0 n_refused=0
agree() {
	_f=$1
	set --
	while IFS= read -r _l; do
		set -- "$@" -L "$_l"
	done <<EOF_LAYOUTS
$F405_LAYOUTS
EOF_LAYOUTS
	"$DFUINFO" -j "$@" "$_f" >info.json 2>/dev/null
	_info=$?
	expect_json_valid dfuinfo-report info.json
	"$DFUFLASH" --plan --ignore-id --sim f405 "$_f" >plan.txt 2>/dev/null
	_flash=$?
	if [ "$_info" != "$_flash" ]; then
		fail "$_f: dfuinfo -L exits $_info, dfuflash --plan $_flash"
		return
	fi
	if [ "$_flash" != 0 ]; then
		n_refused=$((n_refused + 1))
		return
	fi
	n_accepted=$((n_accepted + 1))
	_want=$(sed -n 's/^1-1 DFU000000001: plan: erase \([0-9]*\) pages\{0,1\} (\([0-9]*\) bytes, \([0-9]*\) of them outside the image).*/\1 pages, \2 bytes, \3 outside/p' plan.txt)
	[ "$(grep -c '^page .* bytes  erase$' plan.txt)" = "${_want%% *}" ] ||
	    fail "$_f: dfuflash --plan lists other pages than its summary"
	_got=$(python3 -c 'import json, sys
f = json.load(open(sys.argv[1]))["files"][0]
ls = [t.get("layout") or {} for t in f["targets"]]
print("%d pages, %d bytes, %d outside" % tuple(sum(l.get(k) or 0 for l in ls)
    for k in ("pages_erased", "bytes_erased", "bytes_outside")))' info.json)
	[ "$_got" = "$_want" ] ||
	    fail "$_f: dfuinfo -L erases $_got, dfuflash --plan ${_want:-nothing}"
}

begin "dfuinfo -L and dfuflash --plan agree on what an f405 accepts and erases"
printf 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' >a.bin
printf 'AAAAAAAAB' >b.bin
printf 'AAAAAAAA' >c.bin
fixed_bytes big.bin 70000 11
mk() { out=$1; shift; "$BIN2DFU" -d 0483:df11 -o "$out" "$@" || fail "bin2dfu $out"; }
mkdfu conflict.dfu 'targets=[dict(alt=0, elements=[(0x08000000, b"A" * 32)]), dict(alt=0, elements=[(0x08000010, b"AAAAAAAAB")])]'
mkdfu same.dfu 'targets=[dict(alt=0, elements=[(0x08000000, b"A" * 32)]), dict(alt=0, elements=[(0x08000010, b"AAAAAAAA")])]'
mk shared.dfu -t 0 -a 0x08000000:big.bin -t 0 -a 0x08013000:c.bin -a 0x08020000:c.bin
mk ob.dfu -t 0 -a 0x08004000:big.bin -t 1 -a 0x1fffc000:c.bin -t 2 -a 0x1fff7800:a.bin
mk past.dfu -t 1 -a 0x1fffc00c:c.bin
mk noalt.dfu -t 5 -a 0x08000000:c.bin
for f in conflict.dfu same.dfu shared.dfu ob.dfu past.dfu noalt.dfu; do
	agree "$f"
done
[ "$n_accepted" = 3 ] && [ "$n_refused" = 3 ] ||
    fail "accepted $n_accepted and refused $n_refused of 6, expected 3 and 3"
case_end

# ---- profiles of parts with quirks -------------------------------------

begin "--sim gd32vf103: a reflash with default options is exact; the quirk is said"
mkbin a.bin 9000 51
mkbin b.bin 9000 52
rm -f g.img
run "$DFUFLASH" --sim gd32vf103:g.img -D a.bin -s 0x08000000
expect_status 0
run "$DFUFLASH" --sim gd32vf103:g.img -D b.bin -s 0x08000000
expect_status 0
expect_stdout_line "1-1 3CBJ: b.bin: erased 9 pages (9216 bytes, 216 of them outside the image), skipped 0 unchanged, wrote 9000 bytes"
expect_stderr_line "dfuflash: warning: alt 0: quirk: GD32VF103 ROM (28e9:0189) reports alt 0 as \"@Internal Flash  /0x08000000/512*002Kg\"; its flash is 128 pages of 1 KiB (serial \"3CBJ\", size letter 'B'): read as \"@Internal Flash  /0x08000000/128*001Kg\""
same_range g.img b.bin 0 9000
case_end

begin "--sim gd32vf103: the plan erases 1 KiB pages; an image past 128 KiB is refused before the device"
mkbin a.bin 3000 53
run "$DFUFLASH" --sim gd32vf103 --plan -D a.bin -s 0x08000400
expect_status 0
expect_stdout_line "page   alt 0 0x08000400-0x080007ff    1024 bytes  erase"
expect_stdout_line "page   alt 0 0x08000c00-0x08000fff    1024 bytes  erase"
run "$DFUFLASH" --sim gd32vf103 -D a.bin -s 0x0801fc00
expect_status 1
expect_stderr_contains "is outside the device's memory"
case_end

begin "--sim h743: an odd-sized file is written in whole 32-byte flash words"
mkbin c.bin 1000 54
run "$DFUFLASH" --sim h743 --verify --no-leave -D c.bin -s 0x08000008
expect_status 0
expect_stdout_line "1-1 DFU000000001: c.bin: erased 1 page (131072 bytes, 130072 of them outside the image), skipped 0 unchanged, wrote 1024 bytes, verified"
case_end

begin "--sim h743: a bank-2 erase left in dfuDNBUSY (rev V) is cleared, read back and written, with default options"
mkbin c.bin 4096 55
run "$DFUFLASH" --sim h743 -D c.bin -s 0x08100000
expect_status 0
expect_stderr_contains "erase at 0x08100000: device stayed in dfuDNBUSY for 10000 ms; cleared it with CLRSTATUS, reading the page back to check the erase"
expect_stdout_contains "c.bin: erased 1 page (131072 bytes, 126976 of them outside the image), skipped 0 unchanged, wrote 4096 bytes"
case_end

# ---- many devices at once (--all) ----------------------------------------------

# fleet_dfu: fw.bin, 100000 bytes, as fw.dfu at the start of the f405's
# flash (5 pages: 4 x 16K and the 64K one).
fleet_dfu() {
	mkbin fw.bin 100000 17
	"$BUILD/bin/bin2dfu" -o fw.dfu -a 0x08000000:fw.bin ||
	    fail "bin2dfu failed"
}

begin "--all --sim f405*4:st flashes four devices, four exact images in st.1 ... st.4"
fleet_dfu
run "$DFUFLASH" --all --sim 'f405*4:st' fw.dfu
expect_status 0
for k in 1 2 3 4; do
	holds "st.$k" 0x08000000 fw.dfu
	expect_stdout_line "1-$k DFU00000000$k: fw.dfu: erased 5 pages (131072 bytes, 31072 of them outside the image), skipped 0 unchanged, wrote 100000 bytes"
	expect_stdout_line "1-$k DFU00000000$k: sim f405: 172 control transfers, 5 pages erased (131072 bytes), 100000 bytes programmed, 0 bytes read, 2.276 s modelled"
	# On a pipe: a line per device and phase.
	expect_stderr_line "1-$k DFU00000000$k: write"
	# The table: path, serial, result, bytes, wall seconds (not
	# checked: not timed), modelled seconds.
	awk -v k="$k" '$1 == "1-" k && $2 == "DFU00000000" k && $3 == "ok" &&
	    $4 == 100000 && $6 == "2.276" && NF == 6 { f = 1 } END { exit !f }' \
	    "$OUT" || fail "no summary row for device $k"
done
expect_stdout_line "path     serial           result      bytes  seconds modelled"
expect_stdout_line "4 of 4 devices flashed, 0 failed"
case_end

begin "--all: a fault on device 2 fails it alone; the others are as without it; exit 4"
fleet_dfu
run "$DFUFLASH" --all --sim 'f405*3:ok' fw.dfu
expect_status 0
grep '^1-[13] .*sim f405' "$OUT" >ok.sim
run "$DFUFLASH" --all --sim 'f405*3:st' --sim-fault 2:erase:1=errERASE fw.dfu
expect_status 4
# Devices 1 and 3: the same flash, requests and modelled time as in the
# run without the fault.
expect_same_bytes st.1 ok.1
expect_same_bytes st.3 ok.3
grep '^1-[13] .*sim f405' "$OUT" >got.sim
expect_same_bytes got.sim ok.sim
# Device 2 stopped at its first erase: nothing written, still in DFU mode.
mkstate erased.img $MIB
expect_same_bytes st.2 erased.img
expect_stdout_line "1-2 DFU000000002: sim f405: 6 control transfers, 0 pages erased (0 bytes), 0 bytes programmed, 0 bytes read, 0.106 s modelled"
expect_stderr_line "dfuflash: 1-2 DFU000000002: fw.dfu: erase at 0x08000000: device reports errERASE (memory erase function failed), state dfuERROR"
expect_stdout_lacks "1-2 DFU000000002: fw.dfu: erased"
awk '$1 == "1-2" && $3 == "failed" && $4 == 0 &&
    /  erase at 0x08000000: device reports errERASE/ { f = 1 }
    END { exit !f }' "$OUT" || fail "no failed row for device 2"
expect_stdout_line "2 of 3 devices flashed, 1 failed"
case_end

begin "--all --progress=json: every event names its device; a result per device and a summary"
fleet_dfu
run "$DFUFLASH" --all --progress=json --sim 'f405*3' --sim-fault 3:write:2=errWRITE fw.dfu
expect_status 4
expect_json_lines_valid dfuflash-event
jq -e -s 'length > 10 and all(.[]; .event == "summary" or
    ((.path | test("^1-[123]$")) and .serial == "DFU00000000" +
    (.path | ltrimstr("1-"))))' "$OUT" >/dev/null ||
    fail "an event without its device's path and serial"
jq -e -s '[.[] | select(.event == "result")] | length == 3 and
    (map(select(.status == 0)) | map(.path) == ["1-1", "1-2"]) and
    (.[2] | .status == 4 and .status_name == "device_failed" and
    .path == "1-3" and .phase == "write" and .address == 134219776 and
    .dfu_state == "dfuERROR" and .dfu_status == "errWRITE" and
    (.message | test("errWRITE")) and .bytes_written == 2048 and
    .modelled_ms > 0)' "$OUT" >/dev/null || fail "wrong result events"
jq -e -s '.[-1] == {"schema": "dfutools/dfuflash-event/1",
    "event": "summary", "path": null, "serial": null, "devices": 3,
    "ok": 2, "failed": 1, "status": 4, "status_name": "device_failed"}' \
    "$OUT" >/dev/null || fail "wrong summary event"
jq -e -s '[.[] | select(.phase == "write" and .path == "1-1")] | length > 1' \
    "$OUT" >/dev/null || fail "no write progress for device 1"
case_end

begin "--all on a terminal: a bar per device, redrawn in place; errors above the bars"
if have script; then
	fleet_dfu
	# script(1) gives dfuflash a terminal; its output is the terminal's.
	run script -qec "'$DFUFLASH' --all --sim 'f405*2' --sim-fault 2:write:3=errWRITE fw.dfu" /dev/null
	expect_status 4
	tr -d '\r' <"$OUT" >tty.txt
	esc=$(printf '\033')
	# Both bars drawn, then each line rewritten two lines up (ECMA-48 CUU).
	grep -q "^${esc}\\[K1-2    DFU000000002 waiting\$" tty.txt ||
	    fail "no bar for device 2"
	grep -q "${esc}\\[2A${esc}\\[K1-1    DFU000000001 write   \\[=*  *\\] " tty.txt ||
	    fail "device 1's bar not redrawn in place"
	grep -q "${esc}\\[K1-1    DFU000000001 done: wrote 100000 bytes" tty.txt ||
	    fail "device 1's bar does not end done"
	grep -q "${esc}\\[K1-2    DFU000000002 failed: write at 0x08001000: device reports errWRITE" tty.txt ||
	    fail "device 2's bar does not end failed"
	grep -q "${esc}\\[2A${esc}\\[Kdfuflash: 1-2 DFU000000002: fw.dfu: write at 0x08001000: device reports errWRITE (device is unable to write memory), state dfuERROR\$" tty.txt ||
	    fail "the error is not above the bars"
	grep -qx "1 of 2 devices flashed, 1 failed" tty.txt ||
	    fail "no summary"
else
	skip_case "script(1) not installed"
fi
case_end

begin "--all -q: the summary only; -S picks among --sim devices"
fleet_dfu
run "$DFUFLASH" --all -q -S DFU000000002 --sim 'f405*3:st' fw.dfu
expect_status 0
expect_stderr_empty
expect_no_file st.1
expect_no_file st.3
holds st.2 0x08000000 fw.dfu
[ "$(wc -l <"$OUT")" -eq 3 ] || { fail "not a header, a row and a count"; _show; }
expect_stdout_line "1 of 1 device flashed, 0 failed"
case_end

begin "--all with -S and -p repeated: the devices listed, and only those"
fleet_dfu
run "$DFUFLASH" --all -S DFU000000001 -S DFU000000004 -S NOPE --sim 'f405*4:st' fw.dfu
expect_status 0
holds st.1 0x08000000 fw.dfu
holds st.4 0x08000000 fw.dfu
expect_no_file st.2
expect_no_file st.3
expect_stdout_line "2 of 2 devices flashed, 0 failed"
rm -f st.*
# -S and -p both: a device must be in each list.
run "$DFUFLASH" --all -p 1-2 -p 1-3 -S DFU000000003 -S DFU000000001 --sim 'f405*4:st' fw.dfu
expect_status 0
holds st.3 0x08000000 fw.dfu
expect_no_file st.1
expect_no_file st.2
expect_stdout_line "1 of 1 device flashed, 0 failed"
# At most 64 of each.
# shellcheck disable=SC2046
run "$DFUFLASH" --all $(seq -f '-S S%g' 65) --sim 'f405*4:st' fw.dfu
expect_status 2
expect_stderr_line "dfuflash: -S S65: more than 64 -S"
# shellcheck disable=SC2046
run "$DFUFLASH" --all $(seq -f '-p 1-%g' 65) --sim 'f405*4:st' fw.dfu
expect_status 2
expect_stderr_line "dfuflash: -p 1-65: more than 64 -p"
# Without --all, two that match are an error.
run "$DFUFLASH" -p 1-2 -p 1-3 --sim 'f405*4:st' fw.dfu
expect_status 1
expect_stderr_line "dfuflash: 2 DFU devices match; pick one with -S SERIAL or -p PATH, or flash them all with --all:"
run "$DFUFLASH" -p 1-7 -S X --sim 'f405*4:st' fw.dfu
expect_status 3
expect_stderr_line "dfuflash: no DFU device matches -S X -p 1-7; 4 found:"
case_end

begin "--sim f405*N without --all: several devices match, -p or -S picks one"
fleet_dfu
run "$DFUFLASH" --sim 'f405*3:st' fw.dfu
expect_status 1
expect_stdout_empty
expect_stderr_line "dfuflash: 3 DFU devices match; pick one with -S SERIAL or -p PATH, or flash them all with --all:"
expect_stderr_line "  1-3 0483:df11 serial DFU000000003 DFU mode"
expect_no_file st.1
run "$DFUFLASH" --sim 'f405*3:st' -p 1-9 fw.dfu
expect_status 3
expect_stderr_line "dfuflash: no DFU device matches -p 1-9; 3 found:"
run "$DFUFLASH" --sim 'f405*3:st' -p 1-3 fw.dfu
expect_status 0
expect_stdout_line "1-3 DFU000000003: fw.dfu: erased 5 pages (131072 bytes, 31072 of them outside the image), skipped 0 unchanged, wrote 100000 bytes"
holds st.3 0x08000000 fw.dfu
expect_no_file st.1
expect_no_file st.2
case_end

# Issue 16: the logs of boards flashed one run each can be told apart.
begin "--sim f405*2, one run per device (-S): every summary line starts with its path and serial"
fleet_dfu
for k in 1 2; do
	run "$DFUFLASH" --sim 'f405*2:st' -S DFU00000000$k fw.dfu
	expect_status 0
	expect_stdout_line "1-$k DFU00000000$k: fw.dfu: erased 5 pages (131072 bytes, 31072 of them outside the image), skipped 0 unchanged, wrote 100000 bytes"
	expect_stdout_line "1-$k DFU00000000$k: sim f405: 172 control transfers, 5 pages erased (131072 bytes), 100000 bytes programmed, 0 bytes read, 2.276 s modelled"
	[ "$(wc -l <"$OUT")" -eq 3 ] || fail "device $k: not 3 summary lines"
	! grep -v "^1-$k DFU00000000$k: " "$OUT" ||
	    fail "device $k: a summary line without its device"
	sed "s/^1-$k DFU00000000$k: //" "$OUT" >untagged.$k
	holds st.$k 0x08000000 fw.dfu
done
# The same lines but for the device: the tag is what tells them apart.
expect_same_bytes untagged.1 untagged.2
case_end

begin "--all: a usage error found on the devices (-D without -s on DfuSe) exits 2, nothing sent"
mkbin a.bin 100 1
run "$DFUFLASH" --all --sim 'f405*2:st' -D a.bin
expect_status 2
expect_stderr_line "dfuflash: -D: a DfuSe device needs -s address"
expect_no_file st.1
expect_stdout_line "0 of 2 devices flashed, 2 failed"
run "$DFUFLASH" --all --progress=json --sim 'f405*2:st' -D a.bin
expect_status 2
expect_json_lines_valid dfuflash-event
jq -e -s 'length == 3 and (.[0:2] | map(.path) == ["1-1", "1-2"] and
    all(.[]; .event == "result" and .status == 2 and .phase == "input" and
    .message == "-D: a DfuSe device needs -s address")) and
    (.[2] | .event == "summary" and .status == 2 and .failed == 2)' \
    "$OUT" >/dev/null || fail "result and summary events: $(cat "$OUT")"
case_end

begin "--all: no --sim device matches -S: an error, exit 3"
fleet_dfu
run "$DFUFLASH" --all --sim 'f405*2' -S NOPE fw.dfu
expect_status 3
expect_stdout_empty
expect_stderr_line "dfuflash: no DFU device matches -S NOPE; 2 found:"
# With --progress=json, no device: one result event, no summary.
run "$DFUFLASH" --all --progress=json --sim 'f405*2' -S NOPE fw.dfu
expect_status 3
expect_json_lines_valid dfuflash-event
jq -e -s 'length == 1 and (.[0] | .event == "result" and
    .status_name == "no_device" and .path == null)' "$OUT" >/dev/null ||
    fail "result event: $(cat "$OUT")"
case_end

# ---- --sim rehearses the real command line ----------------------------------

begin "--sim: -d, -S and -p select the modelled device as on USB; one that matches none is the USB error (exit 3)"
fleet_dfu
run "$DFUFLASH" --sim 'f405:st' -d 0483:df11 -S DFU000000001 -p 1-1 fw.dfu
expect_status 0
holds st 0x08000000 fw.dfu
rm -f st
run "$DFUFLASH" --sim 'f405:st' -d 0483:df12 fw.dfu
expect_status 3
expect_stderr_line "dfuflash: no DFU device matches -d; 1 found:"
expect_stderr_line "  1-1 0483:df11 serial DFU000000001 DFU mode"
expect_no_file st
run "$DFUFLASH" --sim 'f405*2:st' -S DFU000000009 fw.dfu
expect_status 3
expect_stderr_line "dfuflash: no DFU device matches -S DFU000000009; 2 found:"
expect_stderr_line "  1-2 0483:df11 serial DFU000000002 DFU mode"
case_end

begin "--sim -l [--json]: the modelled devices, listed as USB devices are; dfuinfo -L checks a file against the list"
fleet_dfu
run "$DFUFLASH" --sim f405 -l
expect_status 0
expect_stdout_line '1-1 0483:df11 serial "DFU000000001" bcdDevice 2200, DFU mode, DFU 1.1a (DfuSe), transfer size 2048, detach timeout 255 ms, attributes 0x0b: can-download can-upload will-detach'
expect_stdout_line '    0x08020000-0x080fffff 7 x 131072 bytes, readable, erasable, writable'
run "$DFUFLASH" --sim 'f405*3' -l --json -p 1-2 -p 1-3 -S DFU000000002
expect_status 0
expect_json_valid device-list
jq -e '.devices | length == 1 and .[0].path == "1-2" and
    .[0].serial == "DFU000000002" and .[0].vendor_id == 1155 and
    .[0].product_id == 57105' "$OUT" >/dev/null || fail "not device 2 alone"
run "$DFUFLASH" --sim f405 -l -S NOPE
expect_status 0
expect_stdout_empty
expect_stderr_line "dfuflash: no DFU device found that matches -d, -S and -p"
# The list dfuinfo -L reads, without a device.
"$DFUFLASH" --sim f405 -l --json >dev.json || fail "-l --json failed"
expect_json_valid device-list dev.json
run "$BUILD/bin/dfuinfo" -L dev.json fw.dfu
expect_status 0
expect_stdout_contains 'layout:     "Internal Flash" (alt 0): fits; erases 5 pages'
# Another profile's list, another layout: the l476's 2 KiB pages.
"$DFUFLASH" --sim l476 -l --json >l476.json || fail "-l --json failed"
run "$BUILD/bin/dfuinfo" -L l476.json fw.dfu
expect_status 0
expect_stdout_contains 'layout:     "Internal Flash" (alt 0): fits; erases 49 pages, 100352 bytes'
case_end

# ---- a station that keeps going (--watch) and its records (--log) -----------

# sha256 FILE: its SHA-256 in hex.
sha256() {
	sha256sum "$1" | cut -d' ' -f1
}

# records DIR: the number of records in DIR.
records() {
	find "$1" -name '*.json' | wc -l
}

# wait_records DIR N: until DIR holds N records (at most 60 s: a bound
# for a stuck run, not a timing that is asserted).
wait_records() {
	_i=0
	while [ "$(records "$1")" -lt "$2" ] && [ "$_i" -lt 600 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ "$(records "$1")" -ge "$2" ] || fail "$1: fewer than $2 records"
}

begin "--all --log: one valid record per board, with the image's SHA-256"
fleet_dfu
mkdir logs
run "$DFUFLASH" --all --log logs --sim 'f405*2:st' --sim-fault 2:write:2=errWRITE fw.dfu
expect_status 4
[ "$(records logs)" -eq 2 ] || fail "not two records"
for r in logs/*.json; do
	expect_json_valid dfuflash-record "$r"
done
jq -e --arg h "$(sha256 fw.dfu)" '.path == "1-1" and .serial == "DFU000000001" and
    .vendor_id == 1155 and .product_id == 57105 and .file == "fw.dfu" and
    .sha256 == $h and .result == "ok" and .exit_status == 0 and
    .error == null and .bytes_erased == 131072 and .bytes_written == 100000 and
    .modelled_ms == 2276' logs/DFU000000001-*.json >/dev/null ||
    fail "wrong record for device 1"
# Device 2: where it failed, and what the device said.
jq -e '.result == "failed" and .exit_status == 4 and
    .status_name == "device_failed" and .error.phase == "write" and
    (.error.message | test("^write at 0x08000800: device reports errWRITE")) and
    .error.address == 134219776 and .error.dfu_state == "dfuERROR" and
    .error.dfu_status == "errWRITE" and .error.device_message == null and
    .bytes_written == 2048' logs/DFU000000002-*.json >/dev/null ||
    fail "wrong record for device 2"
case_end

begin "--log: a directory that is not there, or not a directory, is an error before any board is flashed"
fleet_dfu
run "$DFUFLASH" --all --log nope --sim 'f405*2:st' fw.dfu
expect_status 1
expect_stderr_line "dfuflash: nope: No such file or directory (--log)"
expect_stdout_empty
expect_no_file st.1
: >afile
run "$DFUFLASH" --watch --log afile --sim 'f405*2:st' fw.dfu
expect_status 1
expect_stderr_line "dfuflash: afile: not a directory (--log)"
expect_no_file st.1
if [ "$(id -u)" -ne 0 ]; then
	mkdir ro
	chmod 555 ro
	run "$DFUFLASH" --all --log ro --sim 'f405*2:st' fw.dfu
	expect_status 1
	expect_stderr_line "dfuflash: ro: cannot write records in it: Permission denied (--log)"
	expect_no_file st.1
	chmod 755 ro
fi
case_end

begin "--watch --watch-count: late boards and a board plugged in again are each flashed once per plug"
fleet_dfu
mkdir logs
# Device 3 arrives 300 ms in; device 2 is pulled out at 400 ms and
# plugged in again at 800 ms: four flashes in all.
run "$DFUFLASH" --watch --watch-count 4 --log logs --sim 'f405*3:st' \
    --sim-plug 3:300 --sim-plug 2:0-400 --sim-plug 2:800 fw.dfu
expect_status 0
expect_stdout_line "4 of 4 boards flashed, 0 failed"
expect_stderr_line "dfuflash: watching for DFU devices; stop with ^C"
for k in 1 2 3; do
	holds "st.$k" 0x08000000 fw.dfu
done
[ "$(find logs -name 'DFU000000001-*.json' | wc -l)" -eq 1 ] &&
    [ "$(find logs -name 'DFU000000002-*.json' | wc -l)" -eq 2 ] &&
    [ "$(find logs -name 'DFU000000003-*.json' | wc -l)" -eq 1 ] ||
    { fail "not one record for devices 1 and 3 and two for 2"; ls logs; }
for r in logs/*.json; do
	expect_json_valid dfuflash-record "$r"
	jq -e '.result == "ok"' "$r" >/dev/null || fail "$r: not ok"
done
# The late board was flashed after the first ones began.
first=$(jq -r .started logs/DFU000000001-*.json)
late=$(jq -r .started logs/DFU000000003-*.json)
[ "$late" \> "$first" ] || fail "device 3 ($late) not after device 1 ($first)"
case_end

# watch_bg ARGS...: dfuflash --watch in the background, its pid in $bg.
watch_bg() {
	"$DFUFLASH" "$@" >"$OUT" 2>"$ERR" &
	bg=$!
}

# watch_stop SIGNAL: send it, wait, the exit status in $STATUS.
watch_stop() {
	kill -s "$1" "$bg"
	wait "$bg"
	STATUS=$?
}

begin "--watch: a flashed board that stays (its application, or DFU mode with --no-leave) is not flashed again; SIGINT ends the watch"
fleet_dfu
for leave in "" --no-leave; do
	rm -rf logs st.*
	mkdir logs
	# shellcheck disable=SC2086
	watch_bg --watch --log logs --sim 'f405*2:st' $leave fw.dfu
	wait_records logs 2
	# Ten scans more with both boards still there.
	sleep 2
	watch_stop INT
	expect_status 0
	[ "$(records logs)" -eq 2 ] || fail "${leave:-leave}: a board flashed twice"
	expect_stdout_line "2 of 2 boards flashed, 0 failed"
	expect_stderr_line "dfuflash: SIGINT: finishing the boards in progress"
	holds st.1 0x08000000 fw.dfu
	holds st.2 0x08000000 fw.dfu
done
expect_stdout_line "1-1 DFU000000001: fw.dfu: device stays in DFU mode"
case_end

begin "--watch: SIGTERM with no board yet: none flashed, exit 0; a fault on one board leaves the others as without it, exit 4 (device failed)"
fleet_dfu
# Device 1 arrives an hour in: not before the signal.
watch_bg --watch --sim 'f405:st' --sim-plug 1:3600000 fw.dfu
sleep 1
watch_stop TERM
expect_status 0
expect_stdout_line "0 of 0 boards flashed, 0 failed"
expect_stderr_line "dfuflash: SIGTERM: finishing the boards in progress"
expect_no_file st
run "$DFUFLASH" --watch --watch-count 3 --sim 'f405*3:ok' fw.dfu
expect_status 0
mkdir logs
run "$DFUFLASH" --watch --watch-count 3 --log logs --sim 'f405*3:st' \
    --sim-fault 2:erase:1=errERASE --sim-plug 2:200 fw.dfu
expect_status 4
expect_stdout_line "2 of 3 boards flashed, 1 failed"
expect_same_bytes st.1 ok.1
expect_same_bytes st.3 ok.3
mkstate erased.img $MIB
expect_same_bytes st.2 erased.img
expect_stderr_line "dfuflash: 1-2 DFU000000002: fw.dfu: erase at 0x08000000: device reports errERASE (memory erase function failed), state dfuERROR"
jq -e '.result == "failed" and .error.phase == "erase" and
    .error.dfu_status == "errERASE" and
    (.error.message | test("^erase at 0x08000000: device reports errERASE"))' \
    logs/DFU000000002-*.json >/dev/null ||
    fail "wrong record for device 2"
case_end

begin "--watch --progress=json: a result event per board as it ends, and the summary"
fleet_dfu
run "$DFUFLASH" --watch --watch-count 2 --progress=json --sim 'f405*2' fw.dfu
expect_status 0
expect_json_lines_valid dfuflash-event
jq -e -s '[.[] | select(.event == "result")] | length == 2 and
    all(.[]; .status_name == "ok")' "$OUT" >/dev/null || fail "not two results"
jq -e -s '.[-1] | .event == "summary" and .devices == 2 and .ok == 2 and
    .failed == 0 and .status == 0' "$OUT" >/dev/null ||
    fail "wrong summary event"
case_end

# The same on every DFU file of tests/fixtures: the real-world corpus
# (test_corpus.sh's, a copy of ../shared/corpus) and every known-bad file.
begin "dfuinfo -L and dfuflash --plan agree on every DFU file of tests/fixtures"
n_accepted=0 n_refused=0
for f in "$CORPUS"/*.dfu "$CORPUS"/*.dfu.bin "$FIXTURES"/invalid/*.dfu; do
	if [ -e "$f" ]; then
		agree "$f"
	else
		fail "$f: no such fixture"
	fi
done
# A comparison that accepted nothing would prove nothing: the corpus has
# DfuSe files for an STM32 (fwupd's VRBRAIN, the Flipper Zero's image).
[ "$n_accepted" -ge 2 ] && [ "$n_refused" -ge 1 ] ||
    fail "accepted $n_accepted and refused $n_refused files"
case_end

# ---- dfu-util's habits ------------------------------------------------------

begin "-s address:leave sends the device to that address, as dfu-util does"
mkbin data.bin 4096 9
# Without :leave, data with no vector table leaves to the start of flash.
run "$DFUFLASH" --sim f405 -D data.bin -s 0x08060000:leave
expect_status 0
expect_stdout_line "1-1 DFU000000001: data.bin: device left DFU mode to run 0x08060000 (--start)"
run "$DFUFLASH" --sim f405 -D data.bin -s 0x08060000:leave --no-leave
expect_status 2
expect_stderr_line "dfuflash: -s 0x08060000:leave is where the device goes when it leaves; --no-leave keeps it in DFU mode"
# dfu-util -D fw.dfu -s :leave: a .dfu file has its addresses, and
# dfuflash leaves anyway.
"$BUILD/bin/bin2dfu" -a 0x08060000:data.bin -o data.dfu || fail "bin2dfu failed"
run "$DFUFLASH" --sim f405 -s :leave data.dfu
expect_status 0
expect_stdout_line "1-1 DFU000000001: data.dfu: device left DFU mode to run 0x08000000, the start of flash (no vector table in the image)"
case_end

begin "-s address:mass-erase needs :force, as in dfu-util, and is --mass-erase"
pyboard
mkbin app.bin 5000 7
run "$DFUFLASH" --sim f405:flash.img -D app.bin -s 0x08000000:mass-erase
expect_status 2
expect_stderr_line "dfuflash: -s 0x08000000:mass-erase: mass-erase erases the whole flash: add :force to mean it, as dfu-util asks (or --mass-erase)"
run "$DFUFLASH" --sim f405:flash.img -D app.bin -s 0x08000000:force
expect_status 2
expect_stderr_line "dfuflash: -s 0x08000000:force: force only confirms mass-erase; dfuflash never writes outside the device's memory map"
run "$DFUFLASH" --sim f405:flash.img -D app.bin -s 0x08000000:lea
expect_status 2
expect_stderr_line "dfuflash: -s 0x08000000:lea: unknown word 'lea': expected a length, leave or mass-erase:force"
run "$DFUFLASH" --sim f405:flash.img -s 0x08000000:unprotect:force
expect_status 2
expect_stderr_line "dfuflash: -s 0x08000000:unprotect:force: dfuflash removes the read protection with --unprotect"
run "$DFUFLASH" --sim f405:flash.img -D app.bin -s 0x08000000:mass-erase:force
expect_status 0
expect_stderr_line "dfuflash: warning: --mass-erase erases all of the device's flash, not only the pages the image covers"
expect_stdout_line "1-1 DFU000000001: app.bin: mass erase, erased 0 pages, skipped 0 unchanged, wrote 5000 bytes"
python3 -c 'import sys; d = open("flash.img", "rb").read(); sys.exit(d[0x4000:0x20000] != b"\xff" * 0x1c000)' ||
    fail "filesystem not erased by :mass-erase:force"
case_end

begin "-a address:file, bin2dfu's syntax, gets a hint naming bin2dfu"
mkbin fw.bin 100 1
run "$DFUFLASH" --sim f405 -a 0x08000000:fw.bin
expect_status 2
expect_stdout_empty
expect_stderr_line "dfuflash: -a 0x08000000:fw.bin: -a is the alternate setting here; write fw.bin at 0x08000000 with dfuflash -D fw.bin -s 0x08000000, or make a .dfu file with bin2dfu -o fw.dfu -a 0x08000000:fw.bin"
# A name with a colon stays a name (resolved on the device).
run "$DFUFLASH" --sim f405 -a 'Internal:x' -D fw.bin -s 0x08000000
! grep -q bin2dfu "$ERR" || fail "a name with a colon got the hint"
case_end

begin "-e detaches a run-time device into DFU mode, and only that"
run "$DFUFLASH" --sim f405 --sim-fault runtime --sim-trace trace.txt -e
expect_status 0
expect_stdout_line "1-1 DFU000000001: device detached: it is in DFU mode now"
[ "$(tr '\n' ' ' <trace.txt)" = "GETSTATUS -> OK appIDLE 0ms DETACH re-enumerate -> DFU mode " ] ||
    fail "trace: $(tr '\n' ' ' <trace.txt)"
# Without bitWillDetach the device gets a USB reset after DETACH.
run "$DFUFLASH" --sim dfu11 --sim-fault runtime --sim-trace trace.txt -e
expect_status 0
expect_stdout_line "1-1 DFU000000001: device detached: it is in DFU mode now"
[ "$(head -n 3 trace.txt | tr '\n' ' ')" = "GETSTATUS -> OK appIDLE 0ms DETACH USB reset (to DFU mode) " ] ||
    fail "trace: $(tr '\n' ' ' <trace.txt)"
# Run-time descriptors on a device in DFU mode (NXP LPC43xx ROM): its
# state is asked, and nothing else is sent.
run "$DFUFLASH" --sim dfu11 --sim-fault runtime-in-dfu --sim-trace trace.txt -e
expect_status 0
expect_stdout_line "1-1 DFU000000001: the device is in DFU mode already; nothing sent"
[ "$(tr '\n' ' ' <trace.txt)" = "GETSTATUS -> OK dfuIDLE 0ms " ] ||
    fail "trace: $(tr '\n' ' ' <trace.txt)"
run "$DFUFLASH" --sim f405 --sim-trace trace.txt -e
expect_status 0
expect_stdout_line "1-1 DFU000000001: the device is in DFU mode already; nothing sent"
[ ! -s trace.txt ] || fail "requests sent: $(tr '\n' ' ' <trace.txt)"
run "$DFUFLASH" --sim f405 -e a.dfu
expect_status 2
expect_stderr_line "dfuflash: give only one of a file, -D, -U, -e and --unprotect"
run "$DFUFLASH" --sim f405 -e --verify
expect_status 2
expect_stderr_line "dfuflash: -e takes no download options"
case_end

begin "-R: a USB reset after -U; a download leaves DFU mode anyway"
run "$DFUFLASH" --sim f405 --sim-trace trace.txt -U o.bin -s 0x08000000:16 -R
expect_status 0
expect_stdout_line "1-1 DFU000000001: device reset"
[ "$(tail -n 1 trace.txt)" = "USB reset" ] || fail "last: $(tail -n 1 trace.txt)"
run "$DFUFLASH" --sim f405 --sim-trace trace.txt -U o2.bin -s 0x08000000:16
expect_status 0
! grep -q "USB reset" trace.txt || fail "reset without -R"
mkbin app.bin 3000 5
run "$DFUFLASH" --sim f405 -R -D app.bin -s 0x08000000
expect_status 0
expect_stdout_line "1-1 DFU000000001: app.bin: device left DFU mode to run 0x08000000, the start of flash (no vector table in the image)"
run "$DFUFLASH" --sim f405 -R --no-leave -D app.bin -s 0x08000000
expect_status 2
expect_stderr_line "dfuflash: -R resets the device after the download, which leaves DFU mode; --no-leave keeps it in DFU mode"
run "$DFUFLASH" --sim f405 -R -e
expect_status 2
expect_stderr_line "dfuflash: -R: -e leaves the device in DFU mode, which a reset would end"
case_end

begin "a count of one is singular: 1 page, 1 byte, 1 range"
mkbin app.bin 3000 5
run "$DFUFLASH" --sim f405 --plan -D app.bin -s 0x08000000
expect_status 0
expect_stdout_line "1-1 DFU000000001: plan: erase 1 page (16384 bytes, 13384 of them outside the image), keep 0 bytes, skip 0 unchanged, write 3000 bytes in 1 range"
run "$DFUFLASH" --sim f405 -D app.bin -s 0x08000000
expect_stdout_line "1-1 DFU000000001: app.bin: erased 1 page (16384 bytes, 13384 of them outside the image), skipped 0 unchanged, wrote 3000 bytes"
run "$DFUFLASH" --sim f405 -U one.bin -s 0x08000000:1
expect_status 0
expect_stdout_line "1-1 DFU000000001: one.bin: 1 byte read from alt 0 at 0x08000000"
case_end

finish
