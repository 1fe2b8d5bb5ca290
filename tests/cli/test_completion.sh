#!/bin/sh
# The bash completion (completions/dfutools): sourced alone in bash (no
# bash-completion), its function fills COMPREPLY for COMP_WORDS and
# COMP_CWORD as bash would set them: options from each tool's --help,
# option values, --sim profiles, and input files by extension.
. "$(dirname "$0")/lib.sh"

begin() {
	case_begin "$1"
	cd "$TMP" || exit 1
	touch fw.bin fw.dfu fw.elf fw.hex fw.S19 notes.txt
	mkdir -p sub
}

# comp TOOL WORD...: the completions for the command line TOOL WORD...,
# the cursor at the end of the last word, sorted, one a line, on stdout.
comp() {
	_tool=$BUILD/bin/$1
	shift
	run bash -c '. "$0"/completions/dfutools || exit 1
		complete -p dfuflash >/dev/null || exit 1
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMPREPLY=()
		_dfutools
		printf "%s\n" "${COMPREPLY[@]}" | sort' "$ROOT" "$_tool" "$@"
	expect_status 0
	expect_stderr_empty
}

# want LINE...: stdout is exactly these lines (sorted).
want() {
	printf '%s\n' "$@" | sort >want.txt
	cmp -s want.txt "$OUT" ||
	    fail "completions: $(tr '\n' ' ' <"$OUT"), expected: $(tr '\n' ' ' <want.txt)"
}

if ! have bash; then
	case_begin "bash completion"
	skip_case "bash not installed"
	case_end
	finish
fi

begin "options come from each tool's --help"
comp bin2dfu --p
want --pad --plain
comp dfuflash --sim
want --sim --sim-fault --sim-plug --sim-trace
comp dfuflash -
grep -qx -- --detach "$OUT" || fail "no --detach"
grep -qx -- -e "$OUT" || fail "no -e"
grep -qx -- --mass-erase "$OUT" || fail "no --mass-erase"
# Every long option --help names, for every tool.
for t in bin2dfu elf2dfu hex2dfu dfuinfo dfusplit dfuflash; do
	comp "$t" --
	"$BUILD/bin/$t" --help | sed '1,/^$/d' | grep -o -- '--[a-z-]*' |
	    sort -u >"$t.want"
	grep -- '^--' "$OUT" | sort -u >"$t.got"
	cmp -s "$t.want" "$t.got" ||
	    fail "$t: $(diff "$t.want" "$t.got" | grep '^[<>]' | tr '\n' ' ')"
done
case_end

begin "--sim completes the profiles that dfuflash --sim help lists"
comp dfuflash --sim ""
"$BUILD/bin/dfuflash" --sim help | cut -f 1 | sort >profiles.txt
[ "$(wc -l <profiles.txt)" -ge 3 ] || fail "dfuflash --sim help lists $(wc -l <profiles.txt) profiles"
expect_stdout_file profiles.txt
comp dfuflash --sim dfu1
want dfu11 dfu11-reset
# After "profile:", the state file.
comp dfuflash --sim f405 : ""
grep -qx notes.txt "$OUT" || fail "no state file offered"
case_end

begin "--sim help: the profiles, name, tab, description, exit 0"
run "$BUILD/bin/dfuflash" --sim help
expect_status 0
expect_stderr_empty
expect_stdout_contains "$(printf 'f405\tSTM32F405 ROM bootloader')"
case_end

begin "input files by extension, and directories"
comp dfuinfo ""
want fw.dfu sub/
comp dfusplit f
want fw.dfu
comp elf2dfu ""
want fw.elf sub/
comp hex2dfu ""
want fw.S19 fw.hex sub/
comp dfuflash ""
want fw.S19 fw.dfu fw.elf fw.hex sub/
comp dfuflash -D ""
want fw.bin sub/
# bin2dfu -a address:file: bash splits the word at ':'.
comp bin2dfu -a 0x08000000 : ""
want fw.bin sub/
comp bin2dfu -a 0x08000000 : f
want fw.bin
# -o: any file.
comp bin2dfu -o n
want notes.txt
case_end

begin "option values: words, or nothing for a number"
comp dfuflash --progress = ""
want bar json none
comp dfuflash --format ""
want bin dfu
comp dfusplit --format s
want srec
comp dfuflash -s ""
want
comp bin2dfu --pad ""
want
# An option without a value is followed by files again.
comp dfuinfo -q ""
want fw.dfu sub/
case_end

finish
