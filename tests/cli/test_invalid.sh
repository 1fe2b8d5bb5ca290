#!/bin/sh
# Known-bad fixtures (tests/fixtures/invalid): every file listed in the
# README fails with exit status 1 and the exact message its row promises,
# and no tool that writes leaves an output or a temporary file behind.
# The README tables are the list of cases, so they cannot drift from this
# script; every file of the directory must have a row and every row a file.
. "$(dirname "$0")/lib.sh"

ELF2DFU=$BUILD/bin/elf2dfu
HEX2DFU=$BUILD/bin/hex2dfu
DFUSPLIT=$BUILD/bin/dfusplit
INVALID=$FIXTURES/invalid
README=$INVALID/README.md
TAB=$(printf '\t')

# ls of the fixture directory, to catch a file written into it.
listing() {
	ls -A "$INVALID"
}

case_begin "invalid: the README lists every fixture, and every listed file exists"
ROWS=$TMP/rows	# kept until exit, as every case's TMP
# The table rows as "file<TAB>defect<TAB>tool<TAB>message": lines of the
# form "| file | defect | tool | `message` |", header and rule excluded.
# A row with another number of cells (a '|' in a message) is kept with an
# empty tool, so that the case for it fails rather than vanishes.
awk -F'|' -v OFS='\t' '
	/^\|/ {
		for (i = 2; i < NF; i++)
			gsub(/^ +| +$/, "", $i)
		if ($2 == "file" || $2 ~ /^-+$/)
			next
		if (NF != 6) {
			print $2, "", "", ""
			next
		}
		m = $5
		if (m ~ /^`.*`$/)
			m = substr(m, 2, length(m) - 2)
		else
			m = "(message not in backquotes) " m
		print $2, $3, $4, m
	}' "$README" >"$ROWS"

cut -f1 "$ROWS" | sort >"$TMP/listed"
listing | grep -vxF -e README.md -e make-fixtures.py | sort >"$TMP/present"
[ -s "$TMP/listed" ] || fail "no rows found in $README"
dups=$(uniq -d "$TMP/listed")
[ -z "$dups" ] || fail "listed twice: $(echo $dups)"
missing=$(comm -23 "$TMP/listed" "$TMP/present")
[ -z "$missing" ] || fail "listed but not in the directory: $(echo $missing)"
unlisted=$(comm -13 "$TMP/listed" "$TMP/present")
[ -z "$unlisted" ] || fail "in the directory but not listed: $(echo $unlisted)"
n=$(wc -l <"$TMP/listed")
[ "$n" -ge 100 ] || fail "only $n fixtures, issue 7 asks for at least 100"
case_end

case_begin "invalid: each file is checked by the tool for its format"
while IFS=$TAB read -r file defect tool msg <&3; do
	case $file:$tool in
	*.dfu:dfuinfo | *.elf:elf2dfu | *.hex:hex2dfu | *.srec:hex2dfu) ;;
	*) fail "$file: tool '$tool' does not match the file's format" ;;
	esac
	[ -n "$defect" ] || fail "$file: no defect given"
done 3<"$ROWS"
case_end

case_begin "invalid: make-fixtures.py writes the committed files and lists the README rows"
if have python3; then
	python3 "$INVALID/make-fixtures.py" "$TMP/gen" >"$OUT" 2>"$ERR" ||
	    { fail "make-fixtures.py failed"; _show; }
	for f in "$TMP"/gen/*; do
		cmp -s "$f" "$INVALID/${f##*/}" || fail "${f##*/}: the " \
		    "committed file differs from what make-fixtures.py writes"
	done
	[ "$(ls "$TMP/gen" | sort)" = "$(listing | grep -vxF -e README.md \
	    -e make-fixtures.py | sort)" ] ||
	    fail "make-fixtures.py writes other files than the directory holds"
	python3 "$INVALID/make-fixtures.py" --list | sort >"$TMP/list"
	cut -f1-3 "$ROWS" | sort >"$TMP/columns"
	cmp -s "$TMP/list" "$TMP/columns" || {
		fail "README file, defect and tool columns differ from make-fixtures.py --list"
		diff "$TMP/list" "$TMP/columns" | head -n 20 | sed 's/^/    /'
	}
else
	skip_case "python3 not installed"
fi
case_end

cd "$INVALID" || exit 1
before=$(listing)

# first_error: the first "error:" line of a dfuinfo report, unindented.
first_error() {
	sed -n 's/^  \(error: .*\)$/\1/p' "$OUT" | head -n 1
}

# expect_first_stderr LINE: the first line on stderr is LINE.
expect_first_stderr() {
	_l=$(head -n 1 "$ERR")
	[ "$_l" = "$1" ] || { fail "first stderr line: $_l"; fail "expected:         $1"; }
}

# expect_empty_dir DIR
expect_empty_dir() {
	[ -d "$1" ] || { fail "directory $1 is gone"; return; }
	expect_dir_only "$1"
}

check_dfu() {
	run "$DFUINFO" "$1"
	expect_status 1
	expect_stderr_empty
	_l=$(first_error)
	[ "$_l" = "$2" ] || { fail "first error: $_l"; fail "expected:    $2"; _show; }

	mkdir "$TMP/split"
	run "$DFUSPLIT" -o "$TMP/split" "$1"
	expect_status 1
	expect_stdout_empty
	expect_first_stderr "dfusplit: $1: $2"
	expect_empty_dir "$TMP/split"

	run "$DFUSPLIT" -o "$TMP/newdir" "$1"
	expect_status 1
	expect_no_file "$TMP/newdir"

	mkdir "$TMP/edit"
	run "$DFUSPLIT" --set-vid 1 -o "$TMP/edit/out.dfu" "$1"
	expect_status 1
	expect_stdout_empty
	expect_first_stderr "dfusplit: $1: $2"
	expect_empty_dir "$TMP/edit"
}

# check_conv TOOL FILE MESSAGE
check_conv() {
	mkdir "$TMP/out"
	run "$1" -o "$TMP/out/fw.dfu" "$2"
	expect_status 1
	expect_stdout_empty
	expect_first_stderr "$3"
	expect_empty_dir "$TMP/out"

	mkdir "$TMP/keep"
	printf 'previous output\n' >"$TMP/keep/fw.dfu"
	run "$1" -o "$TMP/keep/fw.dfu" "$2"
	expect_status 1
	expect_first_stderr "$3"
	expect_dir_only "$TMP/keep" fw.dfu
	[ "$(cat "$TMP/keep/fw.dfu")" = "previous output" ] ||
	    fail "the existing output was changed"
}

while IFS=$TAB read -r file defect tool msg <&3; do
	case_begin "invalid: $file ($tool)"
	if [ ! -f "$file" ]; then
		fail "no such fixture"
	else
		case $tool in
		dfuinfo) check_dfu "$file" "$msg" ;;
		elf2dfu) check_conv "$ELF2DFU" "$file" "$msg" ;;
		hex2dfu) check_conv "$HEX2DFU" "$file" "$msg" ;;
		*) fail "unknown tool '$tool' (a '|' in the row?)" ;;
		esac
	fi
	case_end
done 3<"$ROWS"

case_begin "invalid: no run left a file in the fixture directory"
[ "$(listing)" = "$before" ] ||
    fail "the directory changed: $(echo $(listing))"
case_end

finish
