#!/bin/sh
# bench/flash.sh - control transfers and modelled device time of dfuflash
# for a 1 MiB image on the f405 model: a full download, a download with
# one changed sector and --skip-unchanged, and an unchanged image with
# --skip-unchanged, next to the theoretical minimum.
#
# Usage: bench/flash.sh BUILD_DIR
#
# The numbers come from the device model (dfuflash/model.c), so they
# are deterministic: the same on every machine and every run.  Prints a
# markdown table on stdout.  A benchmark, not a test: it exits 0 whether
# or not the targets are met, non-zero only if it could not run.
set -eu

[ $# -eq 1 ] && [ -x "$1/bin/dfuflash" ] ||
    { echo "usage: bench/flash.sh BUILD_DIR (with bin/dfuflash built)" >&2; exit 2; }
DFUFLASH=$(cd "$1" && pwd)/bin/dfuflash
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

python3 -c 'import random
r = random.Random(1)
d = bytearray(r.getrandbits(8) for _ in range(1 << 20))
open("full.bin", "wb").write(d)
d[0x50000] ^= 0xff   # one byte in the 128 KiB sector at 0x08040000
open("one.bin", "wb").write(d)'

# sim KEY ARGS...: run dfuflash, print "requests time_us" of its session.
sim() {
	"$DFUFLASH" --progress=json "$@" -s 0x08000000 |
	    python3 -c 'import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if e.get("event") == "sim":
        print(e["requests"], e["time_us"])'
}

set -- $(sim --sim f405:flash.img -D full.bin)
full_req=$1 full_us=$2
set -- $(sim --skip-unchanged --sim f405:flash.img -D one.bin)
one_req=$1 one_us=$2
set -- $(sim --skip-unchanged --sim f405:flash.img -D one.bin)
same_req=$1 same_us=$2

# The minimum, from the model's own figures (model.c cites them): the
# erase time of the pages touched, 16 us per 32-bit word, and per 2048-byte
# block one DNLOAD and two GETSTATUS, each a 1 ms frame plus its data at
# 832,000 bytes/s.  dfu-util 0.11 sends SET_ADDRESS and its two GETSTATUS
# before every block (src/dfuse.c): 6 transfers per block; its erases are
# counted as ours (3 per page).  That count is read from its source, not
# measured.
python3 - "$full_req" "$full_us" "$one_req" "$one_us" "$same_req" "$same_us" <<'EOF'
import sys
a = [int(x) for x in sys.argv[1:]]
full_req, full_us, one_req, one_us, same_req, same_us = a
block = 2048
def xfer_us(n):
    return 1000 + n * 1000000 // 832000
def minimum(nbytes, erase_us, pages):
    blocks = (nbytes + block - 1) // block
    us = erase_us + nbytes // 4 * 16
    us += blocks * (xfer_us(block) + 2 * xfer_us(6))
    return 3 * blocks, us
erase_all = 4 * 250000 + 550000 + 7 * 1000000
min_full = minimum(1 << 20, erase_all, 12)
min_one = minimum(128 << 10, 1000000, 1)
dfu_util_full = 6 * 512 + 3 * 12
print("| f405, 1 MiB image | control transfers | modelled time | theoretical minimum (transfers, time) | time / minimum |")
print("|---|---:|---:|---:|---:|")
print("| full download | %d | %.3f s | %d, %.3f s | %.1f%% |" % (
    full_req, full_us / 1e6, min_full[0], min_full[1] / 1e6,
    100.0 * full_us / min_full[1]))
print("| one sector changed, --skip-unchanged | %d | %.3f s | %d, %.3f s (without the reads) | %.1f%% |" % (
    one_req, one_us / 1e6, min_one[0], min_one[1] / 1e6,
    100.0 * one_us / min_one[1]))
print("| unchanged, --skip-unchanged | %d | %.3f s | - | - |" % (
    same_req, same_us / 1e6))
print()
print("dfu-util 0.11, full download, counted from its source: about %d "
      "control transfers; dfuflash sends %.1f%% of that." % (
      dfu_util_full, 100.0 * full_req / dfu_util_full))
EOF
