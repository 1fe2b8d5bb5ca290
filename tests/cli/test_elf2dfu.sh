#!/bin/sh
# CLI tests of elf2dfu: every option, every message a user can meet, and
# the bytes written, compared with what arm-none-eabi-objcopy -O binary
# gives for each section (tests/cli/image_check.py, which decodes the
# DfuSe file without libdfufile).  The ELF inputs are the corpus files
# and the fixtures of tests/fixtures/elf (see its README).
. "$(dirname "$0")/lib.sh"

ELF2DFU=$BUILD/bin/elf2dfu
CHECK="python3 $ROOT/tests/cli/image_check.py"
FIX=$FIXTURES/elf
SHARED=$CORPUS
TEENSY=$SHARED/teensy41_imxrt1062_multi_lma.elf
FLIPPER=$SHARED/flipper_zero_f7_updater_ram.elf
FLIPPER_DFU=$SHARED/flipper_zero_f7_updater_ram.dfu
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

# elements DFU [DIR]: decoded elements become $OUT.
elements() {
	run $CHECK elements "$@"
	[ "$STATUS" -eq 0 ] || { fail "decoder failed on $1"; _show; }
}

# valid DFU: dfuinfo says the file is valid.
valid() {
	run "$DFUINFO" "$1"
	expect_status 0
	expect_stdout_contains "verdict: valid"
}

# objcopy_case NAME ELF [OPTIONS...]: convert and compare with objcopy.
objcopy_case() {
	begin "$1"
	_elf=$2
	shift 2
	if ! have arm-none-eabi-objcopy || ! have arm-none-eabi-objdump; then
		skip_case "arm-none-eabi-objcopy not installed (Debian package binutils-arm-none-eabi)"
	else
		run "$ELF2DFU" "$@" -o out.dfu "$_elf"
		expect_status 0
		expect_stderr_empty
		run $CHECK objcopy "$_elf" out.dfu
		expect_status 0
		expect_stdout_contains "all equal"
		[ "$STATUS" -eq 0 ] || _show
		valid out.dfu
	fi
	case_end
}

USAGE1='usage: elf2dfu [--gap-fill byte] [--max-gap n] [--pad n] [-d vid:pid]'
USAGE2='               [-j section] [-R section] [-r bcddevice]'
USAGE3='               [--split-at address] [-t alt[:name] [--range range ...]]'
USAGE4='               [--sync] -o output file'
USAGE5='       elf2dfu -h | -V'

# ---- help, version, usage errors -----------------------------------------

begin "-h prints the usage, then the options, on stdout and exits 0"
run "$ELF2DFU" -h
expect_status 0
expect_stderr_empty
printf '%s\n' "$USAGE1" "$USAGE2" "$USAGE3" "$USAGE4" "$USAGE5" >usage.txt
expect_stdout_usage usage.txt
run "$ELF2DFU" --help
expect_status 0
expect_stdout_usage usage.txt
case_end

begin "the usage equals the SYNOPSIS of elf2dfu(1)"
expect_usage_synopsis "$ELF2DFU" elf2dfu.1
case_end

begin "-V and --version print the library version"
run "$ELF2DFU" -V
expect_status 0
expect_stderr_empty
expect_stdout_line "elf2dfu $VERSION"
run "$ELF2DFU" --version
expect_stdout_line "elf2dfu $VERSION"
case_end

begin "unknown options and missing arguments are usage errors"
run "$ELF2DFU" -x -o out.dfu "$FIX/lma.elf"
expect_fail 2 "elf2dfu: unknown option: -x"
expect_stderr_line "$USAGE1"
run "$ELF2DFU" -a 0:x -o out.dfu "$FIX/lma.elf"
expect_fail 2 "elf2dfu: unknown option: -a"
run "$ELF2DFU" --bogus -o out.dfu "$FIX/lma.elf"
expect_fail 2 "elf2dfu: unknown option: --bogus"
run "$ELF2DFU" -o out.dfu "$FIX/lma.elf" -j
expect_fail 2 "elf2dfu: option needs an argument: -j"
run "$ELF2DFU" -o out.dfu "$FIX/lma.elf" --max-gap
expect_fail 2 "elf2dfu: option needs an argument: --max-gap"
run "$ELF2DFU" -o out.dfu "$FIX/lma.elf" --only-section
expect_fail 2 "elf2dfu: option needs an argument: --only-section"
run "$ELF2DFU" --gap-fill=1 --max-gap=4 --help=x -o out.dfu "$FIX/lma.elf"
expect_fail 2 "elf2dfu: option takes no argument: --help"
expect_dir_only .
case_end

begin "a missing -o, no input or two inputs are usage errors"
run "$ELF2DFU" "$FIX/lma.elf"
expect_fail 2 "elf2dfu: missing -o output"
expect_stderr_line "$USAGE5"
run "$ELF2DFU" -o out.dfu
expect_fail 2 "elf2dfu: no input: give a file"
run "$ELF2DFU" -o out.dfu "$FIX/lma.elf" "$FIX/top.elf"
expect_fail 2 "elf2dfu: $FIX/top.elf: unexpected argument; give one input file"
expect_dir_only .
case_end

begin "bad option values are usage errors"
E=$FIX/lma.elf
run "$ELF2DFU" -d 0483 -o out.dfu "$E"
expect_fail 2 "elf2dfu: -d 0483: expected vid:pid, two hexadecimal numbers up to ffff"
run "$ELF2DFU" -r 10000 -o out.dfu "$E"
expect_fail 2 "elf2dfu: -r 10000: bcdDevice is not a hexadecimal number up to ffff"
run "$ELF2DFU" --pad 0 -o out.dfu "$E"
expect_fail 2 "elf2dfu: --pad 0: not a number from 1 to 4294967295"
run "$ELF2DFU" --gap-fill 256 --max-gap 8 -o out.dfu "$E"
expect_fail 2 "elf2dfu: --gap-fill 256: not a byte value from 0 to 255"
run "$ELF2DFU" --max-gap 0 -o out.dfu "$E"
expect_fail 2 "elf2dfu: --max-gap 0: not a number from 1 to 4294967295"
run "$ELF2DFU" --gap-fill 0 -o out.dfu "$E"
expect_fail 2 "elf2dfu: --gap-fill needs --max-gap: say how large a gap may be filled"
run "$ELF2DFU" --split-at 0 -o out.dfu "$E"
expect_fail 2 "elf2dfu: --split-at 0: not an address from 1 to 0xffffffff"
run "$ELF2DFU" --split-at 0x100 --split-at 256 -o out.dfu "$E"
expect_fail 2 "elf2dfu: --split-at 0x00000100: given twice"
run "$ELF2DFU" --split-at 0x100 -t 0 -o out.dfu "$E"
expect_fail 2 "elf2dfu: --split-at cuts the addresses into 2 parts, but 1 target is given with -t"
run "$ELF2DFU" -t 256 -o out.dfu "$E"
expect_fail 2 "elf2dfu: -t 256: alternate setting is not a number from 0 to 255"
run "$ELF2DFU" -t 1: -o out.dfu "$E"
expect_fail 2 "elf2dfu: -t 1:: empty target name"
name=$(printf '%0255d' 0 | tr 0 N)
run "$ELF2DFU" -t "1:$name" -o out.dfu "$E"
expect_fail 2 "elf2dfu: -t 1: target name is 255 bytes, longer than 254"
expect_dir_only .
case_end

begin "bad --range values are usage errors"
E=$FIX/lma.elf
run "$ELF2DFU" --range 0-1 -o out.dfu "$E"
expect_fail 2 "elf2dfu: --range 0-1: give -t before the ranges of its target"
run "$ELF2DFU" -t 0 --range 0x100 -o out.dfu "$E"
expect_fail 2 "elf2dfu: --range 0x100: expected first-last or first+size, 32-bit numbers"
run "$ELF2DFU" -t 0 --range 0x100-0x1000000000 -o out.dfu "$E"
expect_fail 2 "elf2dfu: --range 0x100-0x1000000000: expected first-last or first+size, 32-bit numbers"
run "$ELF2DFU" -t 0 --range 0x200-0x100 -o out.dfu "$E"
expect_fail 2 "elf2dfu: --range 0x200-0x100: the last address is below the first"
run "$ELF2DFU" -t 0 --range 0x200+0 -o out.dfu "$E"
expect_fail 2 "elf2dfu: --range 0x200+0: empty range"
run "$ELF2DFU" -t 0 --range 0xffffff00+0x101 -o out.dfu "$E"
expect_fail 2 "elf2dfu: --range 0xffffff00+0x101: runs past the end of the 32-bit address space"
run "$ELF2DFU" -t 0 --range 0x100-0x1ff -t 1 --range 0x1ff+1 -o out.dfu "$E"
expect_fail 2 "elf2dfu: --range 0x1ff+1 overlaps --range 0x100-0x1ff"
run "$ELF2DFU" -t 0 -t 1 -t 2 --range 0+1 -o out.dfu "$E"
expect_fail 2 "elf2dfu: -t 0 and -t 1 have no --range: only one target can take the addresses no --range names"
run "$ELF2DFU" --split-at 0x100 -t 0 --range 0+1 -t 1 -o out.dfu "$E"
expect_fail 2 "elf2dfu: --range cannot be used with --split-at"
expect_dir_only .
case_end

begin "numbers with a leading zero are usage errors, never guessed"
E=$FIX/lma.elf
lz="has a leading zero, which could mean octal, decimal or hexadecimal"
run "$ELF2DFU" -t 0 --range 08000000-0x08000fff -o out.dfu "$E"
expect_fail 2 "elf2dfu: --range 08000000-0x08000fff: 08000000 $lz: write 0x08000000 for hexadecimal or 8000000 for decimal"
run "$ELF2DFU" -t 0 --range 0x08000000+01000 -o out.dfu "$E"
expect_fail 2 "elf2dfu: --range 0x08000000+01000: 01000 $lz: write 0x01000 for hexadecimal or 1000 for decimal"
run "$ELF2DFU" --split-at 08004000 -o out.dfu "$E"
expect_fail 2 "elf2dfu: --split-at 08004000: 08004000 $lz: write 0x08004000 for hexadecimal or 8004000 for decimal"
run "$ELF2DFU" --max-gap 0100 -o out.dfu "$E"
expect_fail 2 "elf2dfu: --max-gap 0100: 0100 $lz: write 0x0100 for hexadecimal or 100 for decimal"
run "$ELF2DFU" --gap-fill 00 --max-gap 8 -o out.dfu "$E"
expect_fail 2 "elf2dfu: --gap-fill 00: 00 $lz: write 0x00 for hexadecimal or 0 for decimal"
expect_dir_only .
run "$ELF2DFU" --gap-fill 0 --max-gap 8 -t 0 --range 0+0x100000000 -o out.dfu "$E"
expect_fail 2 "elf2dfu: --range 0+0x100000000: expected first-last or first+size, 32-bit numbers"
case_end

# ---- conversions ---------------------------------------------------------

begin "LMA != VMA: .data and .ramfunc stored after .text; no .bss or .noinit"
run "$ELF2DFU" -o out.dfu "$FIX/lma.elf"
expect_status 0
expect_stdout_empty
expect_stderr_empty
elements out.dfu .
expect_stdout_line "target 0 alt=0 name="
# .isr_vector 0x10 + .text 0x39 + .data 4 + .ramfunc 0x10 = 0x5d bytes;
# .bss (0x100) and .noinit (0x40) would make it larger.
expect_stdout_line "element 0.0 0x08000000 93"
[ "$(wc -l <"$OUT")" -eq 2 ] || fail "more than one element"
valid out.dfu
expect_stdout_contains "idVendor 0x0483  idProduct 0xdf11  bcdDevice 0xffff"
case_end

begin "big-endian ELF gives the same layout"
run "$ELF2DFU" -o out.dfu "$FIX/lma-be.elf"
expect_status 0
elements out.dfu
expect_stdout_line "element 0.0 0x08000000 93"
case_end

objcopy_case "lma.elf equals objcopy -O binary per section" "$FIX/lma.elf"
objcopy_case "lma-be.elf equals objcopy -O binary per section" "$FIX/lma-be.elf"
objcopy_case "two_regions.elf equals objcopy -O binary per section" "$FIX/two_regions.elf"
objcopy_case "top.elf equals objcopy -O binary per section" "$FIX/top.elf"
objcopy_case "teensy41 (corpus) equals objcopy -O binary per section" "$TEENSY"
objcopy_case "flipper updater (corpus) equals objcopy -O binary per section" "$FLIPPER"

begin "fixtures rebuilt with arm-none-eabi-gcc convert as objcopy says"
if ! have arm-none-eabi-gcc; then
	skip_case "arm-none-eabi-gcc not installed (Debian package gcc-arm-none-eabi); the committed fixtures are used instead"
elif ! have arm-none-eabi-objcopy || ! have arm-none-eabi-objdump; then
	skip_case "arm-none-eabi-objcopy not installed (Debian package binutils-arm-none-eabi)"
else
	cp "$FIX"/fw.c "$FIX"/*.ld "$FIX"/make-fixtures.sh .
	run sh ./make-fixtures.sh
	expect_status 0
	for e in lma.elf lma-be.elf two_regions.elf top.elf; do
		run "$ELF2DFU" -o "$e.dfu" "$e"
		expect_status 0
		run $CHECK objcopy "$e" "$e.dfu"
		expect_status 0
		expect_stdout_contains "all equal"
		# .bss and .noinit are there, and not in the output.
		run arm-none-eabi-objdump -h "$e"
		expect_stdout_contains ".bss"
	done
	run arm-none-eabi-objdump -h lma.elf
	expect_stdout_contains ".noinit"
fi
case_end

begin "an ELF64 from the host compiler (x86-64): sections as objcopy says, header PT_LOAD left out"
if [ "$(uname -m)" != x86_64 ] || ! have cc || ! have objcopy || ! have objdump; then
	skip_case "needs an x86-64 host with cc and binutils (Debian package build-essential)"
else
	cat >x.c <<-'EOC'
	int counter = 5;
	const char msg[] = "hello";
	int zero[16];
	void _start(void) { zero[0] = counter + msg[0]; for (;;); }
	EOC
	run cc -O1 -static -nostdlib -ffreestanding -fno-pie -no-pie \
	    -Wl,--build-id=none -o x64.elf x.c
	expect_status 0
	run "$ELF2DFU" -o x64.dfu x64.elf
	expect_status 0
	run env OBJCOPY=objcopy OBJDUMP=objdump $CHECK objcopy x64.elf x64.dfu
	expect_status 0
	expect_stdout_contains "all equal"
	# The first PT_LOAD maps the ELF header at 0x400000: not emitted.
	elements x64.dfu
	expect_stdout_lacks "0x00400000"
	valid x64.dfu
fi
case_end

begin "two flash regions far apart are two elements, not one blob"
run "$ELF2DFU" -o out.dfu "$FIX/two_regions.elf"
expect_status 0
elements out.dfu
expect_stdout_line "element 0.0 0x08000000 84"
expect_stdout_line "element 0.1 0x1fffc000 16"
# Even with gap filling, 384 MiB is more than --max-gap.
run "$ELF2DFU" --gap-fill 0xff --max-gap 0x100000 -o out.dfu "$FIX/two_regions.elf"
expect_status 0
elements out.dfu
expect_stdout_line "element 0.1 0x1fffc000 16"
case_end

begin "the top of the 32-bit address space"
run "$ELF2DFU" -o out.dfu "$FIX/top.elf"
expect_status 0
elements out.dfu
expect_stdout_line "element 0.0 0xfffffc00 84"
expect_stdout_line "element 0.1 0xfffffffc 4"
case_end

begin "teensy41: the PT_LOAD that maps the ELF header is not emitted"
run "$ELF2DFU" -o out.dfu "$TEENSY"
expect_status 0
elements out.dfu
# The header PT_LOAD is at 0x20000000; ITCM code (VMA 0) and .data
# (VMA 0x20000000) are in flash: one element, 0x60000000-0x600297ff.
expect_stdout_line "element 0.0 0x60000000 169984"
[ "$(grep -c '^element' "$OUT")" -eq 1 ] || fail "more than one element"
case_end

begin "flipper: no ._user_heap_stack, no filesz-0 PT_LOAD; gaps filled give the shipped .dfu"
run "$ELF2DFU" -o out.dfu "$FLIPPER"
expect_status 0
elements out.dfu
expect_stdout_line "element 0.0 0x20000000 316"
expect_stdout_line "element 0.1 0x20000140 90484"
expect_stdout_line "element 0.2 0x200162b8 16677"
# Its .dfu was made with the 4-byte alignment gaps filled with 0.
run "$ELF2DFU" --gap-fill 0 --max-gap 4 -o filled.dfu "$FLIPPER"
expect_status 0
mkdir a b
elements filled.dfu a
expect_stdout_line "element 0.0 0x20000000 107485"
elements "$FLIPPER_DFU" b
expect_stdout_line "element 0.0 0x20000000 107485"
expect_same_bytes a/t0e0.bin b/t0e0.bin
# A gap of 4 is more than --max-gap 3.
run "$ELF2DFU" --gap-fill 0 --max-gap 3 -o out.dfu "$FLIPPER"
elements out.dfu
expect_stdout_line "element 0.2 0x200162b8 16677"
case_end

begin "-j and -R keep and drop sections, as objcopy"
run "$ELF2DFU" -j .isr_vector -j .text -o out.dfu "$FIX/lma.elf"
expect_status 0
elements out.dfu
expect_stdout_line "element 0.0 0x08000000 73"
run "$ELF2DFU" --only-section .data -o out.dfu "$FIX/lma.elf"
expect_status 0
elements out.dfu
expect_stdout_line "element 0.0 0x08000049 4"
run "$ELF2DFU" -R .data -R .eeprom --remove-section .ramfunc -o out.dfu "$FIX/lma.elf"
expect_status 0
expect_stderr_empty
elements out.dfu
expect_stdout_line "element 0.0 0x08000000 73"
run "$ELF2DFU" -j .bss -o none.dfu "$FIX/lma.elf"
expect_fail 1 "elf2dfu: $FIX/lma.elf: nothing to load: no allocated section with contents is selected"
expect_no_file none.dfu
case_end

begin "--gap-fill and --max-gap fill a gap between sections"
run "$ELF2DFU" -j .text -j .option_bytes -t 0 --range 0x08000000-0x0800ffff \
    -t 1 -o out.dfu "$FIX/two_regions.elf"
expect_status 0
elements out.dfu
expect_stdout_line "element 0.0 0x08000010 64"
# .isr_vector (16 bytes), then .text: removing .text leaves a gap of 64
# between .isr_vector and .data.
run "$ELF2DFU" -R .text -o out.dfu "$FIX/two_regions.elf"
elements out.dfu
expect_stdout_line "element 0.0 0x08000000 16"
expect_stdout_line "element 0.1 0x08000050 4"
run "$ELF2DFU" -R .text --gap-fill 0xa5 --max-gap 64 -o out.dfu "$FIX/two_regions.elf"
expect_status 0
mkdir x
elements out.dfu x
expect_stdout_line "element 0.0 0x08000000 84"
expect_stdout_line "element 0.1 0x1fffc000 16"
[ "$(od -v -An -tx1 -j16 -N64 x/t0e0.bin | tr -d ' \n')" = \
    "$(printf 'a5%.0s' $(seq 64))" ] || fail "gap bytes: $(od -v -An -tx1 -j16 -N64 x/t0e0.bin)"
run "$ELF2DFU" -R .text --max-gap 63 -o out.dfu "$FIX/two_regions.elf"
elements out.dfu
expect_stdout_line "element 0.1 0x08000050 4"
run "$ELF2DFU" -R .text --max-gap 64 -o out.dfu "$FIX/two_regions.elf"
elements out.dfu x
expect_stdout_line "element 0.0 0x08000000 84"
[ "$(od -An -tx1 -j16 -N1 x/t0e0.bin | tr -d ' ')" = ff ] || fail "default fill is not 0xff"
case_end

begin "-t and --range: option bytes into their own target"
run "$ELF2DFU" -t "0:Internal Flash" -t "1:Option Bytes" --range 0x1fffc000+16 \
    -d 0483:df11 -r 0200 -o out.dfu "$FIX/two_regions.elf"
expect_status 0
expect_stderr_empty
elements out.dfu
expect_stdout_line "target 0 alt=0 name=Internal Flash"
expect_stdout_line "element 0.0 0x08000000 84"
expect_stdout_line "target 1 alt=1 name=Option Bytes"
expect_stdout_line "element 1.0 0x1fffc000 16"
valid out.dfu
expect_stdout_contains "bcdDevice 0x0200"
# Every target with a range, the rest going nowhere: an error.
run "$ELF2DFU" -t 0 --range 0x08000000-0x0807ffff -o out2.dfu "$FIX/two_regions.elf"
expect_fail 1 "elf2dfu: $FIX/two_regions.elf: 0x1fffc000-0x1fffc00f is in no target's --range"
expect_no_file out2.dfu
# A range cuts an element.
run "$ELF2DFU" -t 0 --range 0x08000000-0x0800000f -t 3 --range 0x08000010-0x1fffffff \
    -o out.dfu "$FIX/two_regions.elf"
expect_status 0
elements out.dfu
expect_stdout_line "element 0.0 0x08000000 16"
expect_stdout_line "target 1 alt=3 name="
expect_stdout_line "element 1.0 0x08000010 68"
expect_stdout_line "element 1.1 0x1fffc000 16"
case_end

begin "--split-at: one target per part of the address space"
run "$ELF2DFU" --split-at 0x10000000 -o out.dfu "$FIX/two_regions.elf"
expect_status 0
elements out.dfu
expect_stdout_line "target 0 alt=0 name="
expect_stdout_line "element 0.0 0x08000000 84"
expect_stdout_line "target 1 alt=1 name="
expect_stdout_line "element 1.0 0x1fffc000 16"
run "$ELF2DFU" --split-at 0x10000000 -t 4:low -t 5:high -o out.dfu "$FIX/two_regions.elf"
expect_status 0
elements out.dfu
expect_stdout_line "target 0 alt=4 name=low"
expect_stdout_line "target 1 alt=5 name=high"
run "$ELF2DFU" --split-at 0x08000020 -o out.dfu "$FIX/two_regions.elf"
elements out.dfu
expect_stdout_line "element 0.0 0x08000000 32"
expect_stdout_line "element 1.0 0x08000020 52"
case_end

begin "a target that gets no data is an error"
run "$ELF2DFU" -t 0 -t 1 --range 0x30000000+16 -o out.dfu "$FIX/two_regions.elf"
expect_fail 1 "elf2dfu: $FIX/two_regions.elf: -t 1: no data in its address ranges"
run "$ELF2DFU" --split-at 0x1000 -o out.dfu "$FIX/two_regions.elf"
expect_fail 1 "elf2dfu: $FIX/two_regions.elf: target alt 0: no data in 0x00000000-0x00000fff"
run "$ELF2DFU" --split-at 0x1000 -t 0:x -t 1 -o out.dfu "$FIX/two_regions.elf"
expect_fail 1 "elf2dfu: $FIX/two_regions.elf: -t 0:x: no data in 0x00000000-0x00000fff"
expect_no_file out.dfu
case_end

begin "--pad pads every element with 0xff"
run "$ELF2DFU" --pad 8 -o out.dfu "$FIX/two_regions.elf"
expect_status 0
mkdir x
elements out.dfu x
expect_stdout_line "element 0.0 0x08000000 88"
expect_stdout_line "element 0.1 0x1fffc000 16"
[ "$(od -v -An -tx1 -j84 x/t0e0.bin | tr -d ' \n')" = ffffffff ] || fail "padding"
case_end

begin "-o - writes to stdout; - reads stdin, even a pipe"
run "$ELF2DFU" -o file.dfu "$FIX/lma.elf"
run "$ELF2DFU" -o - "$FIX/lma.elf"
expect_status 0
expect_stderr_empty
expect_stdout_file file.dfu
run sh -c 'cat "$1" | "$0" -o piped.dfu -' "$ELF2DFU" "$FIX/lma.elf"
expect_status 0
expect_same_bytes piped.dfu file.dfu
run_stdin "$FIX/lma.elf" "$ELF2DFU" -o stdin.dfu -
expect_status 0
expect_same_bytes stdin.dfu file.dfu
case_end

# ---- bad inputs ----------------------------------------------------------

begin "inputs that are not ELF are refused, with a hint for HEX"
printf ':00000001FF\n' >fw.hex
printf 'S9030000FC\n' >fw.s19
printf 'hello\n' >text.txt
: >empty.elf
mkdir adir
run "$ELF2DFU" -o out.dfu fw.hex
expect_fail 1 "elf2dfu: fw.hex: not an ELF file but Intel HEX; use hex2dfu"
run "$ELF2DFU" -o out.dfu fw.s19
expect_fail 1 "elf2dfu: fw.s19: not an ELF file but S-records; use hex2dfu"
run "$ELF2DFU" -o out.dfu text.txt
expect_fail 1 "elf2dfu: text.txt: not an ELF file"
run "$ELF2DFU" -o out.dfu empty.elf
expect_fail 1 "elf2dfu: empty.elf: empty file"
run_stdin empty.elf "$ELF2DFU" -o out.dfu -
expect_fail 1 "elf2dfu: (stdin): empty file"
run "$ELF2DFU" -o out.dfu missing.elf
expect_fail 1 "elf2dfu: missing.elf: No such file or directory"
run "$ELF2DFU" -o out.dfu adir
expect_fail 1 "elf2dfu: adir: is a directory"
expect_dir_only . adir empty.elf fw.hex fw.s19 text.txt
case_end

begin "truncated and inconsistent ELF files are refused"
head -c 40 "$FIX/lma.elf" >short.elf
head -c 8300 "$FIX/lma.elf" >cut.elf
run "$ELF2DFU" -o out.dfu short.elf
expect_fail 1 "elf2dfu: short.elf: truncated ELF header: 40 bytes, ELF32 needs 52"
run "$ELF2DFU" -o out.dfu cut.elf
expect_fail 1 "elf2dfu: cut.elf: section header table at offset 0x2280 (10 entries of 40 bytes) runs past the end of the file (8300 bytes)"
# .text's sh_size (section 2, at e_shoff + 2 * 40 + 20) made huge.
python3 -c '
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
shoff = struct.unpack_from("<I", d, 32)[0]
struct.pack_into("<I", d, shoff + 2 * 40 + 20, 0x100000)
open("big.elf", "wb").write(d)
' "$FIX/lma.elf"
run "$ELF2DFU" -o out.dfu big.elf
expect_fail 1 "elf2dfu: big.elf: section .text: contents at offset 0x1010, size 0x100000, run past the end of the file (9232 bytes)"
expect_dir_only . big.elf cut.elf short.elf
case_end

begin "an allocated section name table is not loaded, as objcopy does"
# fwupd's test ELF: .text (12 bytes) at 0 and a .shstrtab with SHF_ALLOC,
# also at 0.  objcopy -O binary writes the 12 bytes of .text only.
python3 -c '
import struct
text = bytes(range(0xa0, 0xac))
names = b"\0.text\0.shstrtab\0"
shoff = 52 + len(text) + len(names) + 3 & ~3
eh = b"\x7fELF\x01\x01\x01" + bytes(9) + struct.pack("<HHIIIIIHHHHHH",
    2, 40, 1, 0, 0, shoff, 0x5000000, 52, 32, 0, 40, 3, 2)
sh = bytes(40) + struct.pack("<10I", 1, 1, 6, 0, 52, len(text), 0, 0, 4, 0)
sh += struct.pack("<10I", 7, 3, 2, 0, 52 + len(text), len(names), 0, 0, 1, 0)
d = eh + text + names
open("shstrtab-alloc.elf", "wb").write(d + bytes(shoff - len(d)) + sh)'
run "$ELF2DFU" -o out.dfu shstrtab-alloc.elf
expect_status 0
expect_stderr_empty
elements out.dfu
expect_stdout_line "element 0.0 0x00000000 12"
if have arm-none-eabi-objcopy; then
	arm-none-eabi-objcopy -O binary shstrtab-alloc.elf want.bin
	[ "$(wc -c <want.bin)" -eq 12 ] || fail "objcopy wrote $(wc -c <want.bin) bytes"
	run $CHECK objcopy shstrtab-alloc.elf out.dfu
	expect_status 0
fi
case_end

begin "an object file (not linked) is refused"
# e_type (offset 16) set to ET_REL.
python3 -c '
import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[16:18] = b"\x01\x00"
open("fw.o", "wb").write(d)
' "$FIX/lma.elf"
run "$ELF2DFU" -o out.dfu fw.o
expect_fail 1 "elf2dfu: fw.o: a relocatable object (ET_REL), not a linked program: its sections have no addresses yet"
expect_no_file out.dfu
case_end

begin "overlapping load ranges are refused"
# Store .data (second PT_LOAD, p_paddr at e_phoff + 32 + 12) over .text.
python3 -c '
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
phoff = struct.unpack_from("<I", d, 28)[0]
struct.pack_into("<I", d, phoff + 32 + 12, 0x08000040)
open("overlap.elf", "wb").write(d)
' "$FIX/two_regions.elf"
run "$ELF2DFU" -o out.dfu overlap.elf
expect_fail 1 "elf2dfu: overlap.elf: section .data at 0x08000040-0x08000043 overlaps section .text at 0x08000010-0x0800004f"
expect_no_file out.dfu
case_end

begin "an ELF without section headers: PT_LOAD segments, header bytes left out"
# e_shoff, e_shnum, e_shstrndx zeroed: only the program headers remain.
python3 -c '
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
struct.pack_into("<I", d, 32, 0)
struct.pack_into("<HHH", d, 46, 40, 0, 0)
open("noshdr.elf", "wb").write(d)
' "$FIX/lma.elf"
run "$ELF2DFU" -o out.dfu noshdr.elf
expect_status 0
elements out.dfu
expect_stdout_line "element 0.0 0x08000000 93"
run "$ELF2DFU" -o - "$FIX/lma.elf"
cp "$OUT" want.dfu
expect_same_bytes out.dfu want.dfu
run "$ELF2DFU" -j .text -o out2.dfu noshdr.elf
expect_fail 1 "elf2dfu: noshdr.elf: no section headers: sections cannot be selected or removed"
case_end

begin "teensy41 without section headers: the same file, the header PT_LOAD left out"
python3 -c '
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
struct.pack_into("<I", d, 32, 0)
struct.pack_into("<HHH", d, 46, 40, 0, 0)
open("noshdr.elf", "wb").write(d)
' "$TEENSY"
run "$ELF2DFU" -o segments.dfu noshdr.elf
expect_status 0
elements segments.dfu
expect_stdout_line "element 0.0 0x60000000 169984"
run "$ELF2DFU" -o sections.dfu "$TEENSY"
expect_same_bytes segments.dfu sections.dfu
case_end

begin "a 128 MiB section is streamed: memory stays small"
# ELF32 LE: header, one PT_LOAD, a sparse 128 MiB .text at 0x1000, names,
# three section headers (null, .text, .shstrtab).
if [ -x /usr/bin/time ] && python3 -c '
import struct, sys
size, off = 128 << 20, 0x1000
names = b"\0.text\0.shstrtab\0"
stroff = off + size
shoff = stroff + len(names) + 3 & ~3
eh = b"\x7fELF\x01\x01\x01" + bytes(9) + struct.pack("<HHIIIIIHHHHHH",
    2, 40, 1, 0x08000000, 52, shoff, 0, 52, 32, 1, 40, 3, 2)
ph = struct.pack("<8I", 1, off, 0x08000000, 0x08000000, size, size, 5, 4)
sh = bytes(40) + struct.pack("<10I", 1, 1, 6, 0x08000000, off, size, 0, 0, 4, 0)
sh += struct.pack("<10I", 7, 3, 0, 0, stroff, len(names), 0, 0, 1, 0)
with open("big.elf", "wb") as f:
    f.write(eh + ph)
    f.seek(off + size - 1)
    f.write(b"\xa5")
    f.write(names)
    f.seek(shoff)
    f.write(sh)
' 2>/dev/null; then
	run /usr/bin/time -f '%M' -o rss.txt "$ELF2DFU" -o big.dfu big.elf
	expect_status 0
	[ "$(wc -c <big.dfu)" -eq $((134217728 + 11 + 274 + 8 + 16)) ] ||
	    fail "size $(wc -c <big.dfu)"
	[ "$(tail -c 17 big.dfu | head -c 1 | od -An -tx1 | tr -d ' ')" = a5 ] ||
	    fail "last data byte"
	rss=$(tail -n 1 rss.txt)
	[ "$rss" -lt 32768 ] || fail "peak RSS ${rss} KiB for a 128 MiB section"
else
	skip_case "no /usr/bin/time (Debian package time) or no sparse files"
fi
rm -f big.elf big.dfu
case_end

begin "the example of dfuimage(3) compiles and does what it says"
if have cc; then
	{
		printf '#include <err.h>\n#include <fcntl.h>\n#include <unistd.h>\n'
		printf '#include "dfuimage.h"\nint main(void) {\n'
		sed -n '/^\.Sh EXAMPLES/,/^\.Sh/p' "$ROOT/man/dfuimage.3" |
		    sed -n '/^\.Bd -literal/,/^\.Ed/p' | sed '1d;$d' |
		    sed 's/\\e/\\/g'
		printf 'return 0;\n}\n'
	} >example.c
	cp "$FIX/two_regions.elf" fw.elf
	run cc -std=c11 -D_DEFAULT_SOURCE -Wall -Werror ${SAN_FLAGS:-} -I"$ROOT/common" \
	    -o example example.c "$BUILD/libdfufile.a" -ldeflate -pthread
	expect_status 0
	run ./example
	expect_status 0
	elements fw.dfu
	expect_stdout_line "target 0 alt=0 name=Internal Flash"
	expect_stdout_line "element 0.0 0x08000000 84"
	expect_stdout_line "target 1 alt=1 name=Option Bytes"
	expect_stdout_line "element 1.0 0x1fffc000 16"
else
	skip_case "no C compiler"
fi
case_end

begin "the example of dfu_conv_new(3) compiles and makes what elf2dfu makes"
if have cc; then
	{
		printf '#include <err.h>\n#include <fcntl.h>\n#include <unistd.h>\n'
		printf '#include "dfuconv.h"\nint main(void) {\n'
		sed -n '/^\.Sh EXAMPLES/,/^\.Sh/p' "$ROOT/man/dfu_conv_new.3" |
		    sed -n '/^\.Bd -literal/,/^\.Ed/p' | sed '1d;$d' |
		    sed 's/\\e/\\/g'
		printf 'return 0;\n}\n'
	} >example.c
	cp "$FIX/two_regions.elf" fw.elf
	run cc -std=c11 -D_DEFAULT_SOURCE -Wall -Werror ${SAN_FLAGS:-} -I"$ROOT/common" \
	    -o example example.c "$BUILD/libdfufile.a" -ldeflate -pthread
	expect_status 0
	run ./example
	expect_status 0
	run "$ELF2DFU" -t "0:Internal Flash" -t "1:Option Bytes" \
	    --split-at 0x10000000 -o ref.dfu fw.elf
	expect_status 0
	expect_same_bytes fw.dfu ref.dfu
	elements fw.dfu
	expect_stdout_line "element 0.0 0x08000000 84"
	expect_stdout_line "element 1.0 0x1fffc000 16"
else
	skip_case "no C compiler"
fi
case_end

# ---- output --------------------------------------------------------------

begin "writing over the input is refused and the input is left alone"
cp "$FIX/lma.elf" fw.elf
cp fw.elf fw.orig
run "$ELF2DFU" -o fw.elf fw.elf
expect_fail 1 "elf2dfu: fw.elf: output is also the input fw.elf; refusing to overwrite it"
expect_same_bytes fw.elf fw.orig
run_stdin fw.elf "$ELF2DFU" -o fw.elf -
expect_fail 1 "elf2dfu: fw.elf: output is also the input (stdin); refusing to overwrite it"
expect_same_bytes fw.elf fw.orig
run sh -c '"$0" -o - fw.elf >>fw.elf' "$ELF2DFU"
expect_status 1
expect_stderr_line "elf2dfu: (stdout): output is also the input fw.elf; refusing to overwrite it"
expect_same_bytes fw.elf fw.orig
expect_dir_only . fw.elf fw.orig
case_end

begin "on failure an existing output is left unchanged, no temporary file"
echo old >out.dfu
cp out.dfu out.orig
run "$ELF2DFU" -j .nothing -o out.dfu "$FIX/lma.elf"
expect_status 1
expect_same_bytes out.dfu out.orig
run "$ELF2DFU" -o nodir/out.dfu "$FIX/lma.elf"
expect_fail 1 "elf2dfu: nodir/out.dfu: cannot create output: No such file or directory"
run sh -c 'trap "" XFSZ; ulimit -f 8 && exec "$0" "$@"' "$ELF2DFU" \
    -o out.dfu "$FLIPPER"
expect_status 1
expect_stderr_contains "elf2dfu: out.dfu: "
expect_same_bytes out.dfu out.orig
expect_dir_only . out.dfu out.orig
case_end

finish
