# The linker enforces the contract: libdfufile.so exports exactly the
# functions its installed headers declare (and nothing else), so a program
# cannot come to depend on a private function of the library.  Both lists
# are computed: the headers are those `make install` installs, parsed
# after the preprocessor; the symbols are nm -D --defined-only of the
# installed shared library.
. "$(dirname "$0")/lib.sh"

MAKE=${MAKE:-make}
D=$_tmproot/dest

# declared_functions HEADER...: the names of the functions the headers
# declare, one a line, sorted.  Only what the headers themselves say
# counts (the lines the preprocessor marks as theirs, not the system
# headers they include); attributes such as the export macro's are
# dropped; a typedef (a function pointer type) and a struct, union or
# enum body declare no function.
declared_functions() {
	_incdir=$(dirname "$1")
	for _h in "$@"; do
		printf '#include "%s"\n' "$(basename "$_h")"
	done | cc -E -I"$_incdir" - | awk -v dir="$_incdir/" '
	/^# [0-9]+ "/ {
		file = $3
		gsub(/"/, "", file)
		mine = index(file, dir) == 1
		next
	}
	mine { text = text " " $0 }
	END {
		# Drop __attribute__((...)), parentheses balanced.
		while ((i = index(text, "__attribute__")) > 0) {
			j = i + length("__attribute__")
			depth = 0
			for (; j <= length(text); j++) {
				c = substr(text, j, 1)
				if (c == "(") depth++
				else if (c == ")") { depth--; if (depth == 0) break }
			}
			text = substr(text, 1, i - 1) substr(text, j + 1)
		}
		# Statements at brace depth 0, cut at ";".
		depth = 0; stmt = ""; body = 0
		for (k = 1; k <= length(text); k++) {
			c = substr(text, k, 1)
			if (c == "{") { depth++; body = 1; continue }
			if (c == "}") { depth--; continue }
			if (depth > 0) continue
			if (c != ";") { stmt = stmt c; continue }
			if (!body && stmt !~ /^[ \t]*typedef[ \t]/ &&
			    match(stmt, /[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/)) {
				name = substr(stmt, RSTART, RLENGTH)
				sub(/[ \t]*\($/, "", name)
				print name
			}
			stmt = ""; body = 0
		}
	}' | sort -u
}

case_begin "libdfufile.so exports exactly the functions of the installed headers"
if ! have nm; then
	skip_case "nm not installed (Debian package binutils)"
else
	run $MAKE -s -C "$ROOT" B="$BUILD" install DESTDIR="$D" PREFIX=/usr
	expect_status 0
	declared_functions "$D"/usr/include/*.h >"$TMP/declared"
	nm -D --defined-only "$D/usr/lib/libdfufile.so" |
	    awk '{ print $NF }' | sort -u >"$TMP/exported"
	# Neither list may be empty: an empty pair would compare equal.
	grep -qx dfu_file_new "$TMP/declared" ||
	    fail "dfu_file_new not found in the installed headers"
	grep -qx dfu_file_new "$TMP/exported" ||
	    fail "dfu_file_new not exported by libdfufile.so"
	comm -13 "$TMP/declared" "$TMP/exported" >"$TMP/extra"
	comm -23 "$TMP/declared" "$TMP/exported" >"$TMP/missing"
	if [ -s "$TMP/extra" ]; then
		fail "exported by libdfufile.so but declared in no installed header" \
		    "(give it internal linkage or a private name, or declare it" \
		    "with DFUFILE_API in an installed header):"
		sed 's/^/    + /' "$TMP/extra"
	fi
	if [ -s "$TMP/missing" ]; then
		fail "declared in an installed header but not exported by" \
		    "libdfufile.so (declare it with DFUFILE_API):"
		sed 's/^/    - /' "$TMP/missing"
	fi
fi
case_end

finish
