#!/bin/sh
# bench/run.sh, quickly: a small run prints the table with its met / not
# met column, the dfuflash rows carry the model's floor, and bad options
# are usage errors.  It times nothing that is asserted: only the table's
# shape and the modelled (deterministic) figures are checked.
. "$(dirname "$0")/lib.sh"

BENCH=$ROOT/bench/run.sh
HEADER='| measure | size | measured | baseline | ratio | target | result |'

case_begin "bench: -s 64K -t bin2dfu prints one bin2dfu row with a verdict, and its peak memory"
if ! have hyperfine || ! have jq || [ ! -x /usr/bin/time ]; then
	skip_case "hyperfine, jq or GNU time (/usr/bin/time) not installed"
else
	BENCH_TMPDIR=$TMP run "$BENCH" -s 64K -t bin2dfu "$BUILD"
	expect_status 0
	expect_stdout_line "$HEADER"
	grep -Eq '^\| `bin2dfu` vs `cp` \(new file\) \| 64K \| bin2dfu [0-9.]+ [mu]?s \| cp [0-9.]+ [mu]?s \| [0-9.]+x \| <= 1\.3x \| (met|not met) \|$' "$OUT" ||
	    { fail "no bin2dfu row with a verdict"; _show; }
	grep -Eq '^\| `bin2dfu -a` \| [0-9.]+ MiB \|$' "$OUT" ||
	    { fail "no peak memory of bin2dfu"; _show; }
	# Nothing left behind in the work directory's parent.
	[ -z "$(ls "$TMP")" ] || fail "left behind in BENCH_TMPDIR: $(ls "$TMP")"
fi
case_end

case_begin "bench: -t flash rows: the model against the floor that issue 15 defines"
if ! have hyperfine || ! have jq || [ ! -x /usr/bin/time ]; then
	skip_case "hyperfine, jq or GNU time (/usr/bin/time) not installed"
else
	BENCH_TMPDIR=$TMP run "$BENCH" -t flash "$BUILD"
	expect_status 0
	expect_stdout_line "$HEADER"
	# f405, 1 MiB: 8.55 s of erase, 4.194 s of programming, 512 blocks of
	# one DNLOAD and two GETSTATUS (3.461 + 2 x 1.007 ms) = 15.548 s.
	grep -Eq '^\| `dfuflash` model, 1 MiB on f405, vs the physical floor \| - \| [0-9.]+ s, [0-9]+ transfers \| floor 15\.548 s \| [0-9.]+x \| <= 1\.02x \| (met|not met) \|$' "$OUT" ||
	    { fail "no full-download row with the 15.548 s floor"; _show; }
	# The same reads, plus one 128 KiB sector: 512 UPLOADs (1.772 s),
	# 1 s of erase, 64 blocks written (0.875 s).
	grep -Eq '^\| `dfuflash --skip-unchanged` model, .* \| floor 3\.647 s \| [0-9.]+x \| within 5% \| (met|not met) \|$' "$OUT" ||
	    { fail "no --skip-unchanged row with the 3.647 s floor"; _show; }
fi
case_end

case_begin "bench: an unknown group and a bad size are usage errors"
run "$BENCH" -t bin2dfu,nosuch "$BUILD"
expect_status 2
expect_stderr_line "bench: unknown group: nosuch (groups: bin2dfu,elf2dfu,hex2dfu,dfuinfo,dfusplit,flash,usb,multi)"
run "$BENCH" -s 100 "$BUILD"
expect_status 2
expect_stderr_line "bench: bad size: 100 (at least 1K, a multiple of 64 bytes)"
case_end

finish
