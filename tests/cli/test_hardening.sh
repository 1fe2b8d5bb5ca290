#!/bin/sh
# The default build is hardened: every tool is a position-independent
# executable with read-only relocations bound at start, calls the
# stack-protector and the _FORTIFY_SOURCE checked libc functions, and so
# does the shared library (less PIE).  make check passes HARDEN; a build
# made with HARDEN=0 skips these cases.
. "$(dirname "$0")/lib.sh"

# hardened FILE KIND: KIND is exe or lib.
hardened() {
	run readelf -h -d -l --dyn-syms -W "$1"
	expect_status 0
	if [ "$2" = exe ]; then
		grep -q 'Type:.*DYN' "$OUT" || fail "$1: not position-independent"
		grep -q 'FLAGS_1.*PIE' "$OUT" || fail "$1: no PIE flag"
	fi
	grep -q 'GNU_RELRO' "$OUT" || fail "$1: no RELRO segment"
	grep -Eq 'BIND_NOW|FLAGS_1.*NOW' "$OUT" || fail "$1: relocations not bound at start (-z now)"
	grep -q '__stack_chk_fail' "$OUT" || fail "$1: no stack protector"
	if [ -z "$SAN_FLAGS" ]; then
		grep -Eq '__[a-z]+_chk' "$OUT" || fail "$1: no _FORTIFY_SOURCE checked call"
	fi
}

case_begin "every tool and the shared library are built hardened"
if [ "${HARDEN:-1}" != 1 ]; then
	skip_case "built with HARDEN=$HARDEN"
elif ! have readelf; then
	skip_case "readelf not installed (Debian package binutils)"
else
	n=0
	for t in "$BUILD"/bin/*; do
		hardened "$t" exe
		n=$((n + 1))
	done
	[ $n -ge 6 ] || fail "only $n tools in $BUILD/bin"
	hardened "$BUILD"/libdfufile.so.*.*.* lib
fi
case_end

finish
