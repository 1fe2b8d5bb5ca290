#!/bin/sh
# The JSON validator the other tests use (tests/json_valid.py): it must
# reject what does not match, or every expect_json_valid would pass.
. "$(dirname "$0")/lib.sh"
require /usr/bin/python3 python3
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || {
	echo "python3-jsonschema not installed (Debian package python3-jsonschema): the tests need it"
	exit 1
}
JSON_SCHEMAS=$FIXTURES/schemas
export JSON_SCHEMAS

case_begin "a valid document and a valid JSON-lines stream pass"
printf '{"schema":"dfutools/example/1","n":3}\n' >"$TMP/one"
printf '{"schema":"dfutools/example/1","n":3}\n{"schema":"dfutools/example/1","n":null}\n' >"$TMP/lines"
run /usr/bin/python3 "$ROOT/tests/json_valid.py" example "$TMP/one"
expect_status 0
run /usr/bin/python3 "$ROOT/tests/json_valid.py" --lines example "$TMP/lines"
expect_status 0
case_end

case_begin "a wrong type, a missing schema key and a line that is not JSON fail, each named"
printf '{"schema":"dfutools/example/1","n":"3"}\n' >"$TMP/type"
run /usr/bin/python3 "$ROOT/tests/json_valid.py" example "$TMP/type"
expect_status 1
expect_stdout_contains "/n: '3' is not of type"
printf '{"schema":"dfutools/example/1","n":3}\n{"n":3}\n{\n' >"$TMP/lines"
run /usr/bin/python3 "$ROOT/tests/json_valid.py" --lines example "$TMP/lines"
expect_status 1
expect_stdout_contains "$TMP/lines:2: \"schema\" is not dfutools/example/N"
expect_stdout_contains "$TMP/lines:3: not JSON"
case_end

case_begin "an unknown schema and an empty stream are errors, not passes"
run /usr/bin/python3 "$ROOT/tests/json_valid.py" nosuch "$TMP/one"
expect_status 2
: >"$TMP/empty"
run /usr/bin/python3 "$ROOT/tests/json_valid.py" --lines example "$TMP/empty"
expect_status 1
case_end

case_begin "expect_json_valid records a failure for an invalid document"
(
	_failed=0
	case_begin inner
	printf '{"schema":"dfutools/example/1"}\n' >"$TMP/bad"
	expect_json_valid example "$TMP/bad" >/dev/null
	[ "$_case_failed" -eq 1 ]
) || fail "expect_json_valid passed an invalid document"
case_end

finish
