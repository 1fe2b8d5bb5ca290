#!/bin/sh
# shellcheck disable=SC2046 # set -- $(...) splits on purpose
# bench/flash.sh - dfuflash on the device model (dfuflash --sim): modelled
# time against the physical floor of issue 15, and `dfuflash --all` on 1,
# 4 and 8 modelled devices (issue 17).  Called by bench/run.sh.
#
# Usage: bench/flash.sh BUILD_DIR GROUPS WORKDIR
#   GROUPS   comma-separated: flash (floor rows), multi (--all rows)
#   WORKDIR  a directory to create and work in
#
# Prints rows of bench/run.sh's table on stdout, and its notes on stderr.
# The figures are the model's (dfuflash/model.c), so they are the same on
# every machine and every run.
set -eu

[ $# -eq 3 ] && [ -x "$1/bin/dfuflash" ] ||
    { echo "usage: bench/flash.sh BUILD_DIR GROUPS WORKDIR" >&2; exit 2; }
B=$(cd "$1" && pwd)
DFUFLASH=$B/bin/dfuflash
GROUPS_=$2
mkdir -p "$3"
cd "$3"

python3 -c 'import random
r = random.Random(1)
d = bytearray(r.getrandbits(8) for _ in range(1 << 20))
open("full.bin", "wb").write(d)
open("fw0.bin", "wb").write(d[:12 << 10])
open("fw1.bin", "wb").write(d[128 << 10:(128 + 200) << 10])
d[0x50000] ^= 0xff   # one byte in the 128 KiB sector at 0x08040000
open("one.bin", "wb").write(d)'
# A pyboard build: 12 KiB at 0x08000000 and 200 KiB at 0x08020000, the
# filesystem between them (README.md, "dfuflash").
"$B/bin/bin2dfu" -a 0x08000000:fw0.bin -a 0x08020000:fw1.bin -o pyboard.dfu

# sim ARGS...: run dfuflash --progress=json, print "requests time_us" of
# each device's session, one line per device (the sim event gives whole
# milliseconds, modelled_ms: enough for times of seconds).
sim() {
	"$DFUFLASH" --progress=json "$@" |
	    python3 -c 'import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if e.get("event") == "sim":
        print(e["requests"], e["modelled_ms"] * 1000)'
}

: >runs.txt
case ",$GROUPS_," in
*,flash,*)
	echo "full $(sim --sim f405 -D full.bin -s 0x08000000)" >>runs.txt
	echo "pyboard $(sim --sim f405 pyboard.dfu)" >>runs.txt
	rm -f flash.img
	sim --sim f405:flash.img -D full.bin -s 0x08000000 >/dev/null
	echo "one $(sim --skip-unchanged --sim f405:flash.img -D one.bin -s 0x08000000)" >>runs.txt
	;;
esac
case ",$GROUPS_," in
*,multi,*)
	for n in 1 4 8; do
		t0=$(date +%s%N)
		sim --all --sim "f405*$n" -D full.bin -s 0x08000000 >all.txt
		t1=$(date +%s%N)
		echo "all$n $n $(((t1 - t0) / 1000)) $(awk '{ print $2 }' all.txt | sort -n | tail -n 1)" >>runs.txt
		seq=0
		t0=$(date +%s%N)
		for _ in $(seq 1 "$n"); do
			set -- $(sim --sim f405 -D full.bin -s 0x08000000)
			seq=$((seq + $2))
		done
		t1=$(date +%s%N)
		echo "seq$n $n $(((t1 - t0) / 1000)) $seq" >>runs.txt
	done
	;;
esac

python3 - <<'EOF'
import sys

runs = {}
for line in open("runs.txt"):
    w = line.split()
    runs[w[0]] = [int(x) for x in w[1:]]

# The f405 model (dfuflash/model.c, README.md's profile table): sectors
# 4 x 16 KiB (250 ms erase), 64 KiB (550 ms), 7 x 128 KiB (1 s), 16 us to
# program a 32-bit word; every control transfer costs 1 ms plus its data
# at 832,000 bytes/s, the full-speed control maximum.
SECTORS = []
a = 0x08000000
for size, us in [(16 << 10, 250000)] * 4 + [(64 << 10, 550000)] + \
        [(128 << 10, 1000000)] * 7:
    SECTORS.append((a, size, us))
    a += size
BLOCK = 2048

def xfer(n):
    return 1000 + n * 1000000 // 832000

def erase_us(ranges):
    return sum(us for (a, size, us) in SECTORS
               if any(s < a + size and a < e for (s, e) in ranges))

def write_us(ranges):
    """Per block of 2048 bytes one DNLOAD and two GETSTATUS, and the
    programming of its words."""
    t = 0
    for s, e in ranges:
        for off in range(s, e, BLOCK):
            n = min(BLOCK, e - off)
            t += xfer(n) + 2 * xfer(6) + (n + 3) // 4 * 16
    return t

def read_us(ranges):
    return sum(xfer(min(BLOCK, e - off))
               for s, e in ranges for off in range(s, e, BLOCK))

def pages(ranges):
    return [(a, a + size) for (a, size, us) in SECTORS
            if any(s < a + size and a < e for (s, e) in ranges)]

def row(*cells):
    print("| " + " | ".join(cells) + " |")

def verdict(r, t):
    return "met" if float("%.2f" % r) <= t else "not met"

def s(us):
    return "%.3f s" % (us / 1e6)

FLASH = 0x08000000
full = [(FLASH, FLASH + (1 << 20))]
pyb = [(FLASH, FLASH + (12 << 10)),
       (FLASH + (128 << 10), FLASH + ((128 + 200) << 10))]
if "full" in runs:
    for key, ranges, what, target in [
            ("full", full, "1 MiB on f405", 1.02),
            ("pyboard", pyb, "pyboard-like (12 KiB + 200 KiB) on f405", None)]:
        req, us = runs[key]
        floor = erase_us(ranges) + write_us(ranges)
        r = us / floor
        row("`dfuflash` model, %s, vs the physical floor" % what, "-",
            "%s, %d transfers" % (s(us), req),
            "floor %s" % s(floor), "%.3fx" % r,
            "<= %.2fx" % target if target else "",
            verdict(r, target) if target else "(no target)")
    # Why the full download is over: DFU 1.1 (6.1.2) has the host wait
    # bwPollTimeout, whole milliseconds, before the next GETSTATUS; the
    # model answers 9 ms for a block's 8.192 ms of programming.
    blocks = (1 << 20) // BLOCK
    prog = BLOCK // 4 * 16
    lost = blocks * (-(-prog // 1000) * 1000 - prog)
    floor = erase_us(full) + write_us(full)
    sys.stderr.write(
        "- dfuflash model, 1 MiB: %s over the floor, of which %s is "
        "bwPollTimeout's whole milliseconds (%d blocks x %d us: the model "
        "answers %d ms for %d us of programming, and DFU 1.1 section 6.1.2 "
        "has the host wait that long); against a floor that counts the "
        "device's own bwPollTimeout (%s) the ratio is %.3fx.\n" % (
            s(runs["full"][1] - floor), s(lost), blocks,
            -(-prog // 1000) * 1000 - prog, -(-prog // 1000), prog,
            s(floor + lost), runs["full"][1] / (floor + lost)))
    req, us = runs["one"]
    changed = [(FLASH + 0x40000, FLASH + 0x60000)]
    floor = read_us(pages(full)) + erase_us(changed) + write_us(changed)
    r = us / floor
    row("`dfuflash --skip-unchanged` model, 1 MiB, one 128 KiB sector "
        "changed, vs its own floor", "-",
        "%s, %d transfers" % (s(us), req), "floor %s" % s(floor),
        "%.3fx" % r, "within 5%", verdict(r, 1.05))
    sys.stderr.write(
        "- dfuflash model floors: erase of the sectors touched + 16 us per "
        "word + per 2048-byte block one DNLOAD and two GETSTATUS (1 ms each "
        "plus data at 832,000 bytes/s); --skip-unchanged's: the UPLOAD of "
        "every page the image covers + erase and write of the changed "
        "sector.  Full 1 MiB: %s of erase, %s of programming.\n" % (
            s(erase_us(full)), s((1 << 20) // 4 * 16)))

if "all1" in runs:
    one = runs["all1"][2]
    for n in (1, 4, 8):
        _, wall, us = runs["all%d" % n]
        _, swall, sus = runs["seq%d" % n]
        r = us / one
        row("`dfuflash --all` model, %d f405 x 1 MiB, vs one device" % n, "-",
            "%s modelled (%.0f ms host)" % (s(us), wall / 1000),
            "one device %s" % s(one), "%.2fx" % r,
            "<= 1.2x" if n == 8 else "",
            verdict(r, 1.2) if n == 8 else "(no target)")
        if n > 1:
            row("`dfuflash --all` model, %d f405 x 1 MiB, vs %d sequential "
                "runs" % (n, n), "-", s(us), "%d runs %s" % (n, s(sus)),
                "%.2fx" % (us / sus), "", "(no target)")
    # What a shared bus would add: the model gives each device its own
    # clock, so N devices never wait for each other.
    req = runs["full"][0] if "full" in runs else 1582
    data = (1 << 20) * 1000000 // 832000
    sys.stderr.write(
        "- `--all` on the model: every modelled device has its own clock and "
        "its own bus, so the model's --all time is the slowest device's, and "
        "its sequential time the sum.  On one shared full-speed bus the data "
        "stages share 832,000 bytes/s (13 64-byte control packets per 1 ms "
        "frame): 8 devices x 1 MiB need at least %.1f s of bus time, under "
        "one device's modelled %s, so a host that keeps "
        "every device busy is limited by the devices, not the bus (the "
        "model does not check this; it charges 1 ms per transfer per "
        "device).\n" % (8 * data / 1e6, s(one)))
EOF
