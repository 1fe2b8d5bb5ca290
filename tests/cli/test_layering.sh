# The files of libdfufile call each other in layers, never in a circle
# (the layers are described in common/dfufile_private.h): the graph "file A
# calls a function defined in file B", read from the symbols of the
# members of libdfufile.a, must have a topological order.
. "$(dirname "$0")/lib.sh"

# edges ARCHIVE: "DEFINER USER SYMBOL" for every function or object one
# member of the archive defines and another one uses.
edges() {
	nm -A "$1" | awk '
	{
		n = split($1, a, ":")
		obj = a[n - 1]
		if (NF == 3 && $2 ~ /^[TDBRCVW]$/)
			def[$3] = obj
		else if ($2 == "U")
			use[obj " " $NF] = 1
	}
	END {
		for (k in use) {
			split(k, b, " ")
			if ((b[2] in def) && def[b[2]] != b[1])
				print def[b[2]], b[1], b[2]
		}
	}' | sort -u
}

case_begin "no two files of the library depend on each other, directly or not"
if ! have nm || ! have tsort; then
	skip_case "nm or tsort not installed (Debian packages binutils, coreutils)"
else
	edges "$BUILD/libdfufile.a" >"$TMP/edges"
	# Not vacuous: the reader calls the DfuSe walk.
	grep -q '^dfuse\.o read\.o ' "$TMP/edges" ||
	    fail "no edge dfuse.o -> read.o: the symbols were not read"
	cut -d ' ' -f 1,2 "$TMP/edges" | tsort >"$TMP/order" 2>"$TMP/loop"
	if [ -s "$TMP/loop" ]; then
		fail "the library's files call each other in a circle:"
		sed 's/^/    /' "$TMP/loop"
		echo "    calls between them (file defining, file calling, function):"
		sed -n 's/^tsort: \([^ ]*\.o\)$/\1/p' "$TMP/loop" | sort -u >"$TMP/inloop"
		awk 'NR == FNR { in_loop[$1] = 1; next }
		    ($1 in in_loop) && ($2 in in_loop)' "$TMP/inloop" "$TMP/edges" |
		    sed 's/^/    /'
	fi
fi
case_end

finish
