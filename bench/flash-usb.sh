#!/bin/sh
# shellcheck disable=SC2046,SC2154 # set -- $(...) splits on purpose; eval assigns
# bench/flash-usb.sh - dfuflash against Debian's dfu-util 0.11 on emulated
# f405s (tests/usbhost: the device model behind the real libusb): control
# transfers for several images, and the wall-clock time of `dfuflash
# --all` on 1, 4 and 8 devices against N dfu-util processes started in
# parallel (issue 17).  Called by bench/run.sh.
#
# Usage: bench/flash-usb.sh BUILD_DIR GROUPS WORKDIR
#   GROUPS   comma-separated: usb (control transfers), multi (--all)
#   WORKDIR  a directory to create and work in
#
# Prints rows of bench/run.sh's table on stdout, its notes on stderr.
# Every run starts from erased devices and checks that each device then
# holds the image.  The control transfers count every URB on the emulated
# bus, standard requests (descriptors, strings) included.
set -eu

[ $# -eq 3 ] || { echo "usage: bench/flash-usb.sh BUILD_DIR GROUPS WORKDIR" >&2; exit 2; }
B=$(cd "$1" && pwd)
GROUPS_=$2
USBHOST=$B/tests/usbhost
DFUFLASH=$B/bin/dfuflash
row() {
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$@"
}
if [ ! -x "$USBHOST" ]; then
	row "over emulated USB" - "not measured: $USBHOST not built (needs libumockdev-dev)" "" "" "" "not measured"
	exit 0
fi
if ! command -v dfu-util >/dev/null 2>&1; then
	row "over emulated USB" - "not measured: dfu-util not installed" "" "" "" "not measured"
	exit 0
fi
mkdir -p "$3"
cd "$3"

python3 -c 'import random
r = random.Random(1)
d = bytes(r.getrandbits(8) for _ in range(1 << 20))
open("full.bin", "wb").write(d)
open("small.bin", "wb").write(d[:4096])
open("partial.bin", "wb").write(d[:20000])
open("a64k.bin", "wb").write(d[:64 << 10])
open("otp.bin", "wb").write(d[-512:])'
"$B/bin/bin2dfu" -t 0 -a 0x08000000:a64k.bin -t 2 -a 0x1FFF7800:otp.bin -o two.dfu

# Starts N dfu-util processes, one per device (-p 1-K), and waits for all.
cat >par.sh <<'EOF'
n=$1
shift
pids=""
for k in $(seq 1 "$n"); do
	dfu-util -p "1-$k" "$@" >"dfu-util.$k.log" 2>&1 &
	pids="$pids $!"
done
rc=0
for p in $pids; do wait "$p" || rc=$?; done
exit $rc
EOF

# run N IMAGE COMMAND...: COMMAND under usbhost with N erased f405s;
# prints "control_transfers wall_ms cpu_s" (transfers summed over the
# devices; cpu_s the user + system time of usbhost and the command).
# IMAGE, when not "-", is what every device's flash must then begin with.
run() {
	n=$1 img=$2
	shift 2
	devs=""
	rm -f st.* stats.json
	for k in $(seq 1 "$n"); do devs="$devs --device f405,state=st.$k"; done
	t0=$(date +%s%N)
	# shellcheck disable=SC2086
	if ! /usr/bin/time -f '%U %S' -o cpu.txt \
	    "$USBHOST" --stats stats.json $devs -- "$@" >run.log 2>&1; then
		echo "bench/flash-usb.sh: $*: failed:" >&2
		tail -n 5 run.log dfu-util.*.log >&2 2>/dev/null
		return 1
	fi
	t1=$(date +%s%N)
	if [ "$img" != - ]; then
		for k in $(seq 1 "$n"); do
			cmp -s -n "$(wc -c <"$img")" "st.$k" "$img" || {
				echo "bench/flash-usb.sh: $*: device $k does not hold $img" >&2
				return 1
			}
		done
	fi
	echo "$(jq '[.[].control_transfers] | add' stats.json) $(((t1 - t0) / 1000000))" \
	    "$(awk 'END { print $1 + $2 }' cpu.txt)"
}

case ",$GROUPS_," in
*,usb,*)
	for im in full small partial two; do
		case $im in
		full) what="1 MiB at 0x08000000" ;;
		small) what="4 KiB at 0x08000000" ;;
		partial) what="20000 bytes at 0x08000100 (pages and last block partly covered)" ;;
		two) what="two targets (64 KiB flash, alt 0; 512 bytes OTP, alt 2)" ;;
		esac
		case $im in
		full | small)
			set -- $(run 1 $im.bin dfu-util -a 0 -s 0x08000000:leave -D $im.bin)
			du=$1
			set -- $(run 1 $im.bin "$DFUFLASH" -q -a 0 -D $im.bin -s 0x08000000)
			df=$1
			;;
		partial)
			set -- $(run 1 - dfu-util -a 0 -s 0x08000100:leave -D partial.bin)
			du=$1
			set -- $(run 1 - "$DFUFLASH" -q -a 0 -D partial.bin -s 0x08000100)
			df=$1
			;;
		two)
			set -- $(run 1 a64k.bin sh -c 'dfu-util -a 0 -s 0x08000000 -D a64k.bin &&
			    dfu-util -a 2 -s 0x1FFF7800:leave -D otp.bin')
			du=$1
			set -- $(run 1 a64k.bin "$DFUFLASH" -q two.dfu)
			df=$1
			;;
		esac
		r=$(awk -v a="$df" -v b="$du" 'BEGIN { printf "%.3f", a / b }')
		v=$(awk -v r="$r" 'BEGIN { print (r + 0 <= 0.51 ? "met" : "not met") }')
		row "\`dfuflash\` over emulated USB, control transfers, $what" - \
		    "$df" "dfu-util $du" "${r}x" "<= 0.51x" "$v"
	done
	echo "- control transfers over emulated USB: dfu-util 0.11 \`-a ALT -s ADDRESS:leave -D FILE\` (the two-target image: one dfu-util per alternate setting, the second one leaving), dfuflash \`-a ALT -D FILE -s ADDRESS\` or the .dfu file; one run each, every URB on the bus counted." >&2
	;;
esac

case ",$GROUPS_," in
*,multi,*)
	for n in 1 4 8; do
		set -- $(run "$n" full.bin "$DFUFLASH" --all -q -a 0 -D full.bin -s 0x08000000)
		eval "df_n$n=$1 df_ms$n=$2 df_cpu$n=$3"
		set -- $(run "$n" full.bin sh par.sh "$n" -a 0 -s 0x08000000:leave -D full.bin)
		eval "du_n$n=$1 du_ms$n=$2 du_cpu$n=$3"
	done
	one=$df_ms1
	for n in 1 4 8; do
		eval "ms=\$df_ms$n dums=\$du_ms$n dfn=\$df_n$n dun=\$du_n$n"
		eval "cpu=\$df_cpu$n ducpu=\$du_cpu$n"
		r=$(awk -v a="$ms" -v b="$one" 'BEGIN { printf "%.2f", a / b }')
		if [ "$n" -eq 8 ]; then
			t="<= 1.2x"
			v=$(awk -v r="$r" 'BEGIN { print (r + 0 <= 1.2 ? "met" : "not met") }')
		else
			t="" v="(no target)"
		fi
		row "\`dfuflash --all\` over emulated USB, $n f405 x 1 MiB, wall time vs one device" - \
		    "$(awk -v m="$ms" 'BEGIN { printf "%.2f s", m / 1000 }') (host CPU $cpu s)" \
		    "one device $(awk -v m="$one" 'BEGIN { printf "%.2f s", m / 1000 }')" \
		    "${r}x" "$t" "$v"
		row "\`dfuflash --all\` over emulated USB, $n f405 x 1 MiB, vs $n dfu-util in parallel" - \
		    "$(awk -v m="$ms" 'BEGIN { printf "%.2f s", m / 1000 }'), $dfn transfers" \
		    "dfu-util $(awk -v m="$dums" 'BEGIN { printf "%.2f s", m / 1000 }'), $dun transfers (host CPU $ducpu s)" \
		    "$(awk -v a="$ms" -v b="$dums" 'BEGIN { printf "%.2fx", a / b }')" "" "(no target)"
		if [ "$n" -gt 1 ]; then
			row "\`dfuflash --all\` over emulated USB, $n f405 x 1 MiB, vs $n sequential runs" - \
			    "$(awk -v m="$ms" 'BEGIN { printf "%.2f s", m / 1000 }')" \
			    "$n x one run: $(awk -v m="$one" -v n="$n" 'BEGIN { printf "%.2f s", n * m / 1000 }')" \
			    "$(awk -v a="$ms" -v b="$one" -v n="$n" 'BEGIN { printf "%.2fx", a / (n * b) }')" "" "(no target)"
		fi
	done
	echo "- \`--all\` over emulated USB: wall-clock time of one usbhost session (device start-up included) with N erased f405s; dfu-util: N processes \`dfu-util -p 1-K -a 0 -s 0x08000000:leave -D\` started together. The sequential baseline is N times the measured one-device run, not N runs. usbhost answers the ioctls of all devices in one thread (tests/usbhost/README.md, Limits); erase waits are real time and overlap." >&2
	;;
esac
