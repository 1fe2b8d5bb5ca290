#!/bin/sh
# The Makefile itself: reading it has no side effects (make help and
# make -n in a clean copy of the tree create nothing), the flags an object
# was built with still decide whether it is up to date, and make help
# names every target, every variable a user may set and every Debian
# package that .ci/run and the README's Quick start install.
. "$(dirname "$0")/lib.sh"

# mk ARGS...: make in the clean copy, free of the calling make's flags and
# variables (make check runs this script from make).
mk() {
	run env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u B -u SANITIZE \
	    -u CFLAGS -u HARDEN make -C "$TREE" --no-print-directory "$@"
}

# A copy of the files git tracks (with their uncommitted changes): no
# build directory, nothing ignored.
TREE=$_tmproot/tree
mkdir -p "$TREE"
if ! have git || ! git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
	TREE=
elif ! (cd "$ROOT" && git ls-files -z | tar --null --ignore-failed-read \
    -T - -cf - 2>/dev/null) | tar -xf - -C "$TREE"; then
	echo "cannot copy the tracked files of $ROOT"
	exit 1
fi

case_begin "make help, make -n and make -q in a clean copy create and change nothing"
if [ -z "$TREE" ]; then
	skip_case "not a git checkout (or git not installed): no list of tracked files"
else
	(cd "$TREE" && find . | sort) >"$TMP/before"
	touch "$TMP/marker"
	for args in help -n "-n all" "-n check" "-n tests" "-n lint" \
	    "-n install DESTDIR=$TMP/d" "-n uninstall DESTDIR=$TMP/d" \
	    "-n clean" "-n fuzz-dfufile" "-n bench" "-n memcheck" \
	    "-n all SANITIZE=1" "-n all B=other" "-q all"; do
		# shellcheck disable=SC2086 # one word per argument
		mk $args
		case $args in
		-q*) [ "$STATUS" -eq 1 ] || fail "make $args: exit $STATUS, expected 1 (not up to date)" ;;
		*) [ "$STATUS" -eq 0 ] || { fail "make $args: exit $STATUS"; _show; } ;;
		esac
	done
	(cd "$TREE" && find . | sort) >"$TMP/after"
	cmp -s "$TMP/before" "$TMP/after" ||
	    fail "created: $(comm -13 "$TMP/before" "$TMP/after" | tr '\n' ' ')"
	changed=$(find "$TREE" -newer "$TMP/marker" | tr '\n' ' ')
	[ -z "$changed" ] || fail "changed: $changed"
fi
case_end

case_begin "the flags an object was built with decide whether it is up to date"
if [ -z "$TREE" ]; then
	skip_case "not a git checkout (or git not installed): no list of tracked files"
else
	mk B=flags flags/common/crc.o
	expect_status 0
	expect_stdout_contains "-O2 -g"
	cp "$TREE/flags/.flags" "$TMP/flags"
	mk -q B=flags flags/common/crc.o
	[ "$STATUS" -eq 0 ] || fail "same flags: make -q exit $STATUS, expected 0"
	mk -q B=flags flags/common/crc.o CFLAGS=-O1
	[ "$STATUS" -eq 1 ] || fail "CFLAGS=-O1: make -q exit $STATUS, expected 1"
	mk -q B=flags flags/common/crc.o HARDEN=0
	[ "$STATUS" -eq 1 ] || fail "HARDEN=0: make -q exit $STATUS, expected 1"
	cmp -s "$TMP/flags" "$TREE/flags/.flags" || fail "make -q rewrote .flags"
	mk B=flags flags/common/crc.o "CFLAGS=-O1 -DQ='x'"
	expect_status 0
	expect_stdout_contains "-O1 -DQ='x' "
	grep -qF -- "-O1 -DQ='x' " "$TREE/flags/.flags" || fail ".flags: $(cat "$TREE/flags/.flags")"
	mk -q B=flags flags/common/crc.o "CFLAGS=-O1 -DQ='x'"
	[ "$STATUS" -eq 0 ] || fail "after the rebuild: make -q exit $STATUS, expected 0"
fi
case_end

# help_section TITLE: the lines of make help from TITLE to the next
# unindented line.
help_section() {
	env -u MAKEFLAGS -u MAKELEVEL make -s -C "$ROOT" --no-print-directory help |
	    sed -n "/^$1/,/^[^ ]/p" | sed '1d;/^[^ ]/d'
}

case_begin "make help names every target of the Makefile"
help_section Targets >"$TMP/targets"
[ -s "$TMP/targets" ] || fail "no Targets section"
for t in $(sed -n 's/^\.PHONY: *//p' "$ROOT/Makefile") fuzz-NAME; do
	[ "$t" = FORCE ] && continue
	grep -q "^  $t " "$TMP/targets" || fail "target $t is not listed"
done
for f in "$ROOT"/tests/fuzz/fuzz_*.c; do
	n=${f##*/fuzz_}
	grep -q "^  fuzz-NAME .* ${n%.c}\( \|$\)" "$TMP/targets" ||
	    fail "fuzz-${n%.c} is not listed"
done
case_end

case_begin "make help names every variable a user may set"
help_section Variables >"$TMP/vars"
[ -s "$TMP/vars" ] || fail "no Variables section"
# Variables with a default (VAR ?=) and variables tested (ifeq ($(VAR),...).
for v in $(sed -n 's/^\([A-Z_][A-Z_]*\) ?=.*/\1/p; s/^ifeq (\$(\([A-Z_][A-Z_]*\)),.*/\1/p' \
    "$ROOT/Makefile" | sort -u) CC CPPFLAGS LDFLAGS EXTRA_CFLAGS; do
	grep -qw -- "$v" "$TMP/vars" || fail "variable $v is not listed"
done
case_end

case_begin "make help names every Debian package of .ci/run and the README's Quick start"
help_section Dependencies >"$TMP/deps"
[ -s "$TMP/deps" ] || fail "no Dependencies section"
# The packages of every apt-get install (continued lines joined).
pkgs=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$ROOT/.ci/run" "$ROOT/README.md" |
    grep -o 'apt-get install [^&]*' | tr ' \t' '\n\n' | grep -v '^-' |
    grep -v '^apt-get$\|^install$\|^$' | sort -u)
[ -n "$pkgs" ] || fail "no apt-get install in .ci/run or README.md"
for p in $pkgs; do
	grep -qw -- "$p" "$TMP/deps" || fail "package $p is not listed"
done
case_end

finish
