#!/bin/sh
# CLI tests of what every tool says about its options: --help names every
# option of the tool's getopt table, and every option it names exists;
# an unknown option, a missing argument and a bad value get the same form
# of message in every tool (frontend/cli.c: cli_option_error()).
. "$(dirname "$0")/lib.sh"

TOOLS="bin2dfu elf2dfu hex2dfu dfuinfo dfusplit dfuflash"

begin() {
	case_begin "$1"
	cd "$TMP" || exit 1
}

# longopts TOOL: the long options of TOOL's getopt table, one a line,
# read from the sources (the tool's own table, and the shared ones of
# frontend/cli.h and frontend/cli.c it includes).
longopts() {
	{
		sed -n 's/.*{[[:space:]]*"\([a-z-]*\)",[[:space:]]*[a-z_]*_argument,.*/\1/p' \
		    "$ROOT/$1"/*.c
		if grep -q CLI_OPTS_LONGOPTS "$ROOT/$1"/*.c ||
		    grep -q cli_conv_parse "$ROOT/$1"/*.c; then
			sed -n '/^#define CLI_OPTS_LONGOPTS/,/^$/s/.*{ "\([a-z-]*\)",.*/\1/p' \
			    "$ROOT/frontend/cli.h"
		fi
		if grep -q cli_conv_parse "$ROOT/$1"/*.c; then
			sed -n '/^#define CONV_LONGOPTS/,/^$/s/.*{ "\([a-z-]*\)",.*/\1/p' \
			    "$ROOT/frontend/cli.c"
		fi
		if grep -q CLI_CONV_SECTIONS "$ROOT/$1"/*.c; then
			sed -n '/^static const struct option conv_section_longopts/,/^};/s/.*{ "\([a-z-]*\)",.*/\1/p' \
			    "$ROOT/frontend/cli.c"
		fi
	} | sort -u
}

# helpopts TOOL: the options the option lines of TOOL --help name (the
# lines after the usage that start with a dash), "--name" or "-x".
helpopts() {
	"$BUILD/bin/$1" --help | sed '1,/^$/d' | grep '^  -' |
	    sed 's/^  //; s/  .*//' | tr ',' '\n' |
	    sed 's/^ *//; s/[ =[].*//' | grep '^-' | sort -u
}

begin "--help names every long option of each tool's getopt table"
for t in $TOOLS; do
	longopts "$t" >"$t.table"
	[ "$(wc -l <"$t.table")" -ge 5 ] || fail "$t: no getopt table found"
	helpopts "$t" | sed -n 's/^--//p' >"$t.help"
	# dfuflash --force is gone: it only says what replaced it.
	[ "$t" = dfuflash ] && sed -i '/^force$/d' "$t.table"
	missing=$(comm -23 "$t.table" "$t.help" | tr '\n' ' ')
	[ -z "$missing" ] || fail "$t --help lacks: $missing"
done
case_end

begin "every option --help names exists"
for t in $TOOLS; do
	[ "$(helpopts "$t" | wc -l)" -ge 5 ] || fail "$t: no options in --help"
	for opt in $(helpopts "$t"); do
		run "$BUILD/bin/$t" "$opt"
		grep -q "^$t: unknown option: " "$ERR" &&
		    fail "$t --help names $opt, which $t does not know"
	done
done
case_end

begin "--help: the usage lines, an empty line, then options in 80 columns"
for t in $TOOLS; do
	run "$BUILD/bin/$t" --help
	expect_status 0
	expect_stderr_empty
	head -n 1 "$OUT" | grep -q "^usage: $t " || fail "$t: no usage first"
	grep -qx '' "$OUT" || fail "$t: no empty line after the usage"
	long=$(awk 'length($0) > 79' "$OUT")
	[ -z "$long" ] || fail "$t: lines over 79 columns: $long"
	# Every option line has a description after the option column.
	bare=$(sed '1,/^$/d' "$OUT" | grep '^  -' | grep -v '^  [^ ].*[^ ]  *[^ ]' || true)
	[ -z "$bare" ] || fail "$t: option lines without a description: $bare"
	# -h is --help.
	cp "$OUT" help.txt
	run "$BUILD/bin/$t" -h
	expect_stdout_file help.txt
done
case_end

# error TOOL WANT ARGS...: TOOL ARGS exits 2 with nothing on stdout and
# WANT as the first line of stderr.
error() {
	_t=$1 _want=$2
	shift 2
	run "$BUILD/bin/$_t" "$@"
	expect_status 2
	expect_stdout_empty
	[ "$(head -n 1 "$ERR")" = "$_want" ] ||
	    fail "$_t $*: first line '$(head -n 1 "$ERR")', expected '$_want'"
}

begin "an unknown option: the same message, then the usage, in every tool"
for t in $TOOLS; do
	error "$t" "$t: unknown option: --bogus" --bogus x
	sed -n 2p "$ERR" | grep -q "^usage: $t " || fail "$t --bogus: no usage"
	error "$t" "$t: unknown option: -Z" -Z x
	error "$t" "$t: option takes no argument: --version" --version=1
	# Nothing from glibc's getopt (opterr is off everywhere).
	! grep -q "unrecognized option\|invalid option" "$ERR" ||
	    fail "$t: getopt's own message"
done
case_end

begin "a missing argument: the same message, then the usage, in every tool"
for t in $TOOLS; do
	case $t in
	dfuinfo) o=-L lo=--layout ;;
	dfuflash) o=-d lo=--device ;;
	*) o=-o lo=--output ;;
	esac
	error "$t" "$t: option needs an argument: $o" "$o"
	sed -n 2p "$ERR" | grep -q "^usage: $t " || fail "$t $o: no usage"
	error "$t" "$t: option needs an argument: $lo" "$lo"
done
case_end

begin "a bad value: 'tool: option value: what is expected' in every tool"
for t in $TOOLS; do
	case $t in
	dfuinfo)
		error "$t" "$t: -L 256=@x: expected [alt=]layout, alt from 0 to 255" -L 256=@x x ;;
	dfuflash)
		error "$t" "$t: -d zz: expected vid:pid or vid:pid,dfu_vid:dfu_pid in hexadecimal" -d zz x ;;
	*)
		error "$t" "$t: -d zz: expected vid:pid, two hexadecimal numbers up to ffff" -d zz x ;;
	esac
done
case_end

finish
