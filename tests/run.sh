#!/bin/sh
# Run the whole test suite: every cmocka unit test binary, then every CLI
# test script.  Usage: tests/run.sh BUILD_DIR.  Exit status 77 from a test
# means "skipped"; it is reported, never counted as a pass.  A CLI case
# skipped inside a passing script (an optional tool missing) is listed
# under it, with its reason.
set -u
B=${1:?usage: tests/run.sh BUILD_DIR}
B=$(cd "$B" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
pass=0 fail=0 skip=0 failed=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_one() {
	name=$1
	shift
	"$@" >"$log" 2>&1
	rc=$?
	case $rc in
	0) pass=$((pass + 1)); echo "PASS $name"
	   sed -n -e 's/^skip - /    skipped: /p' -e 's/^# finding: /    finding: /p' "$log" ;;
	77) skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$log")" ;;
	*) fail=$((fail + 1)); failed="$failed $name"
	   echo "FAIL $name (exit $rc)"; sed 's/^/    /' "$log" ;;
	esac
}

for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	run_one "unit/$(basename "$t")" "$t"
done
for t in "$top"/tests/cli/test_*.sh; do
	[ -f "$t" ] || continue
	run_one "cli/$(basename "$t" .sh)" env BUILD="$B" sh "$t"
done

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] || { echo "failed:$failed"; exit 1; }
