#!/bin/sh
# bench/flash-usb.sh - the same 1 MiB image as bench/flash.sh programmed
# into an emulated f405 through the real libusb (tests/usbhost), by
# Debian's dfu-util 0.11 and by dfuflash: control transfers and modelled
# device time from usbhost --stats, and the wall-clock time, median of 3
# runs each.
#
# Usage: bench/flash-usb.sh BUILD_DIR
#
# The control transfers count every URB on the emulated bus, standard
# requests (descriptors, strings) included.  The modelled time is the
# model's clock: its own costs (1 ms per transfer plus data at full
# speed, erase and programming times of the part) plus the real time
# that passed between requests, so it moves a little from run to run;
# hence the median.  Each run starts from erased flash and checks that
# the state holds the image afterwards.  The dfuflash row is measured
# only when `dfuflash -l` sees the emulated device.  A benchmark, not a
# test: it exits 0 whatever the figures, non-zero only if it could not
# run.
set -eu

[ $# -eq 1 ] || { echo "usage: bench/flash-usb.sh BUILD_DIR" >&2; exit 2; }
B=$(cd "$1" && pwd)
USBHOST=$B/tests/usbhost
DFUFLASH=$B/bin/dfuflash
if [ ! -x "$USBHOST" ]; then
	echo "bench/flash-usb.sh: $USBHOST not built (needs libumockdev-dev); skipped" >&2
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

# The image of bench/flash.sh.
python3 -c 'import random
r = random.Random(1)
d = bytearray(r.getrandbits(8) for _ in range(1 << 20))
open("full.bin", "wb").write(d)'

# measure NAME COMMAND...: three runs on a fresh device; appends
# "NAME transfers time_us wall_s" per run to runs.txt, or fails.
measure() {
	name=$1
	shift
	for i in 1 2 3; do
		rm -f flash.img stats.json
		t0=$(date +%s.%N)
		if ! "$USBHOST" --stats stats.json --device f405,state=flash.img \
		    -- "$@" >"run.log" 2>&1; then
			echo "bench/flash-usb.sh: $name failed:" >&2
			tail -n 5 run.log >&2
			return 1
		fi
		t1=$(date +%s.%N)
		cmp -s flash.img full.bin ||
		    { echo "bench/flash-usb.sh: $name: flash differs from the image" >&2; return 1; }
		python3 -c 'import json, sys
s = json.load(open("stats.json"))[0]
print(sys.argv[1], s["control_transfers"], s["time_us"],
      "%.3f" % (float(sys.argv[3]) - float(sys.argv[2])))' "$name" "$t0" "$t1" >>runs.txt
	done
}

: >runs.txt
measure dfu-util dfu-util -a 0 -s 0x08000000:leave -D full.bin
dfuflash_note=""
if [ -x "$DFUFLASH" ] &&
    "$USBHOST" --device f405 -- "$DFUFLASH" -l 2>/dev/null | grep -q '^1-1 0483:df11'; then
	measure dfuflash "$DFUFLASH" -q -a 0 -D full.bin -s 0x08000000
else
	dfuflash_note="dfuflash: not measured, \`dfuflash -l\` does not see the emulated device in this build."
fi

python3 - <<'EOF'
import statistics
runs = {}
for line in open("runs.txt"):
    name, n, us, wall = line.split()
    runs.setdefault(name, []).append((int(n), int(us), float(wall)))
print("| f405, 1 MiB image over emulated USB, median of 3 | control transfers | modelled device time | wall-clock time |")
print("|---|---:|---:|---:|")
labels = {"dfu-util": "dfu-util 0.11 `-a 0 -s 0x08000000:leave -D`",
          "dfuflash": "dfuflash `-a 0 -D -s 0x08000000` (leaves)"}
for name in ("dfu-util", "dfuflash"):
    if name not in runs:
        continue
    r = runs[name]
    print("| %s | %d | %.3f s | %.2f s |" % (labels[name],
          statistics.median(x[0] for x in r),
          statistics.median(x[1] for x in r) / 1e6,
          statistics.median(x[2] for x in r)))
print()
print("runs (transfers, modelled us, wall s): " + "; ".join(
    "%s %s" % (k, ", ".join("%d/%d/%.2f" % x for x in v))
    for k, v in runs.items()))
EOF
[ -z "$dfuflash_note" ] || echo "$dfuflash_note"
