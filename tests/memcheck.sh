#!/bin/sh
# Run the CLI tests with every tool under valgrind's memcheck, then report
# any error or leak it found.  Usage: tests/memcheck.sh BUILD_DIR [TEST...]
# (TEST: names such as test_dfusplit; default: every tests/cli/test_*.sh).
#
# The tools in BUILD_DIR/bin are replaced, in a copy of the build
# directory, by scripts that run them under valgrind with one log per
# process.  The tests' own verdicts are printed but do not decide the exit
# status (valgrind makes tools slow, and timing-based cases may differ):
# the status is 1 when a log shows a memory error or a leak, 0 otherwise.
set -u
B=${1:?usage: tests/memcheck.sh BUILD_DIR [TEST...]}
shift
B=$(cd "$B" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
command -v valgrind >/dev/null 2>&1 || {
	echo "memcheck: valgrind is not installed (Debian package valgrind)"
	exit 77
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/build" "$work/build/bin" "$work/logs"
for f in "$B"/*; do
	[ "$(basename "$f")" = bin ] || ln -s "$f" "$work/build/"
done
for tool in "$B"/bin/*; do
	name=$(basename "$tool")
	cat >"$work/build/bin/$name" <<EOF
#!/bin/sh
exec valgrind -q --error-exitcode=99 --leak-check=full \\
    --suppressions="$top/tests/memcheck.supp" \\
    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \\
    --log-file="$work/logs/$name.%p.log" "$tool" "\$@"
EOF
	chmod +x "$work/build/bin/$name"
done

if [ $# -eq 0 ]; then
	set -- $(cd "$top/tests/cli" && ls test_*.sh | sed 's/\.sh$//')
fi
for t in "$@"; do
	printf '%s: ' "$t"
	BUILD="$work/build" sh "$top/tests/cli/$t.sh" >"$work/$t.out" 2>&1
	echo "exit $? ($(grep -c '^ok' "$work/$t.out") ok, $(grep -c '^not ok' "$work/$t.out") not ok)"
	grep '^not ok' "$work/$t.out" | sed 's/^/    /'
done

# With -q a log is empty unless memcheck reports something ("==PID=="
# lines).  A log with only valgrind's own "--PID--" lines is a run where
# valgrind itself could not work (a test's ulimit -v leaves it too little
# memory): counted apart, not as a finding.
runs=$(ls "$work/logs" | wc -l)
bad=0 novg=0
for log in "$work"/logs/*.log; do
	[ -s "$log" ] || continue
	if ! grep -q '^==[0-9]*==' "$log"; then
		novg=$((novg + 1))
		continue
	fi
	bad=$((bad + 1))
	echo "--- $(basename "$log")"
	grep '^==[0-9]*==' "$log" | head -n 40
done
echo "memcheck: $runs tool runs, $bad with errors or leaks, $novg where valgrind could not run"
[ "$bad" -eq 0 ]
