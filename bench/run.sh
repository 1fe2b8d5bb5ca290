#!/bin/bash
# bench/run.sh - time every tool against the baseline that issue 15 names
# for it (cp, cat, srec_cat, the physical floor of the device, dfu-util),
# with peak memory, and print one markdown table with a met / not met
# column per target.
#
# Usage: bench/run.sh [-s SIZES] [-t SEL] BUILD_DIR
#   -s SIZES   comma-separated image sizes, suffix K, M or G (powers of
#              1024); default 1M,64M,512M
#   -t SEL  comma-separated subset of: bin2dfu elf2dfu hex2dfu dfuinfo
#              dfusplit flash usb multi (default: all)
#
# The report (markdown) goes to stdout, progress to stderr.  A benchmark,
# not a test: it exits 0 whether or not the targets are met, non-zero only
# if it could not run.  bench/README.md says what is run and why.
set -u

usage() {
	echo "usage: bench/run.sh [-s SIZES] [-t SEL] BUILD_DIR" >&2
	echo "  -s SIZES   sizes with suffix K, M or G (default 1M,64M,512M)" >&2
	echo "  -t SEL  subset of $ALL_GROUPS (default: all)" >&2
	exit 2
}
die() {
	echo "bench: $*" >&2
	exit 1
}
bad_usage() {
	echo "bench: $*" >&2
	exit 2
}
progress() {
	echo "bench: $*" >&2
}

ALL_GROUPS="bin2dfu,elf2dfu,hex2dfu,dfuinfo,dfusplit,flash,usb,multi"
SIZES=1M,64M,512M
SEL=$ALL_GROUPS
while getopts s:t:h opt; do
	case $opt in
	s) SIZES=$OPTARG ;;
	t) SEL=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
[ -d "$1" ] || die "$1: no such build directory"
B=$(cd "$1" && pwd)
T=$B/bin
top=$(cd "$(dirname "$0")/.." && pwd)

declare -A WANT
IFS=, read -r -a _g <<<"$SEL"
for g in "${_g[@]}"; do
	case ",$ALL_GROUPS," in
	*",$g,"*) WANT[$g]=1 ;;
	*) bad_usage "unknown group: $g (groups: $ALL_GROUPS)" ;;
	esac
done
want() { [ -n "${WANT[$1]-}" ]; }
file_groups() {
	want bin2dfu || want elf2dfu || want hex2dfu || want dfuinfo ||
	    want dfusplit
}

# ---- sizes -----------------------------------------------------------------

to_bytes() {
	case $1 in
	*[!0-9KMGkmg]* | [!0-9]* | "") return 1 ;;
	*[Kk]) echo $((${1%?} * 1024)) ;;
	*[Mm]) echo $((${1%?} * 1024 * 1024)) ;;
	*[Gg]) echo $((${1%?} * 1024 * 1024 * 1024)) ;;
	*) echo "$1" ;;
	esac
}
size_labels=()
size_bytes=()
IFS=, read -r -a _sizes <<<"$SIZES"
for s in "${_sizes[@]}"; do
	n=$(to_bytes "$s") || bad_usage "bad size: $s"
	# Four elements of n/4 bytes each for dfusplit, 16-byte HEX records.
	[ "$n" -ge 1024 ] && [ $((n % 64)) -eq 0 ] ||
	    bad_usage "bad size: $s (at least 1K, a multiple of 64 bytes)"
	size_labels+=("$(echo "$s" | tr 'kmg' 'KMG')")
	size_bytes+=("$n")
done
[ ${#size_bytes[@]} -gt 0 ] || usage

# ---- what the run needs (after the options: a bad option is a usage
# error on any machine) ----------------------------------------------------

for t in hyperfine jq /usr/bin/time python3; do
	command -v "$t" >/dev/null 2>&1 || die "$t is required"
done
for t in bin2dfu elf2dfu hex2dfu dfuinfo dfusplit dfuflash; do
	[ -x "$T/$t" ] || die "$T/$t not built (run make tools)"
done
if want elf2dfu; then
	for t in arm-none-eabi-objcopy arm-none-eabi-ld; do
		command -v "$t" >/dev/null 2>&1 ||
		    die "$t is required for elf2dfu (or leave elf2dfu out of -t)"
	done
fi
if want hex2dfu; then
	for t in objcopy srec_cat; do
		command -v "$t" >/dev/null 2>&1 ||
		    die "$t is required for hex2dfu (or leave hex2dfu out of -t)"
	done
fi

# The peak-memory targets are stated at 512 MiB: their rows are for the
# size of that many bytes, when it is run.
TARGET_SIZE=$((512 << 20))
target_label=""
for i in "${!size_bytes[@]}"; do
	[ "${size_bytes[$i]}" -eq "$TARGET_SIZE" ] && target_label=${size_labels[$i]}
done

# ---- work directory --------------------------------------------------------
# Outputs go to a disk file system, as a user's would: /var/tmp, not /tmp,
# which is often tmpfs (BENCH_TMPDIR chooses another).

wbase=${BENCH_TMPDIR:-/var/tmp}
work=$(mktemp -d "$wbase/dfubench.XXXXXX") || die "cannot create a work directory in $wbase"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fstype=$(df -PT "$work" | awk 'NR == 2 { print $2 }')
fsdev=$(df -PT "$work" | awk 'NR == 2 { print $1 }')
[ "$fstype" = tmpfs ] &&
    progress "warning: $wbase is tmpfs, the outputs do not reach a disk (set BENCH_TMPDIR)"
mkdir "$work/json"
# The dfusplit rows' SHA-256 floor (bench/sha256.c), with the nettle that
# dfusplit links.
if want dfusplit && ! cc -O2 -o "$work/sha256" "$top/bench/sha256.c" \
    $(pkg-config --cflags --libs nettle) 2>"$work/cc.log"; then
	progress "bench/sha256.c did not build: $(tail -n 1 "$work/cc.log")"
fi
ROWS=$work/rows.md	# the table's rows, in order
NOTES=$work/notes.md	# details under the table
: >"$ROWS"
: >"$NOTES"

# ---- formatting --------------------------------------------------------------

mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
fmt_time() { # seconds -> "1.23 ms" / "12.3 s", three significant digits
	awk -v t="$1" 'BEGIN {
		if (t < 0.001) { v = t * 1e6; u = "us" }
		else if (t < 1) { v = t * 1e3; u = "ms" }
		else { v = t; u = "s" }
		if (v < 10) f = "%.2f %s"; else if (v < 100) f = "%.1f %s"; else f = "%.0f %s"
		printf f, v, u }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# verdict RATIO MAX: "met" when RATIO <= MAX (both as printed: the table
# is the judge, so a printed 1.30x against <= 1.3x is met).
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r + 0 <= t + 0 ? "met" : "not met") }'; }
# row MEASURE SIZE MEASURED BASELINE RATIO TARGET RESULT
row() {
	local IFS='|'
	echo "| $1 | $2 | $3 | $4 | $5 | $6 | $7 |" >>"$ROWS"
}
bt='`'

# ---- timing ----------------------------------------------------------------
# compare KEY RUNS WARMUP OUTPUTS CMD_A CMD_B: hyperfine twice, A then B and
# B then A, RUNS timed runs of each per call; before every run (hyperfine's
# --prepare, not timed) both commands' OUTPUTS are removed and the dirty
# pages written back, so every run writes a new file to a clean disk.  Sets
# MED[KEY.a], MED[KEY.b] (median of the pooled samples) and N[KEY.a/b].
declare -A MED N SPREAD
compare() {
	local key=$1 runs=$2 warm=$3 outs=$4 a=$5 b=$6 i prep
	prep="sh -c 'rm -rf $outs; sync'"
	for i in 0 1; do
		local args=(-N --style none --runs "$runs" --warmup "$warm"
			--prepare "$prep" --export-json "$work/json/$key.$i.json")
		if [ $i -eq 0 ]; then
			args+=(-n a -n b "$a" "$b")
		else
			args+=(-n b -n a "$b" "$a")
		fi
		if ! (cd "$work" && hyperfine "${args[@]}") >"$work/hf.log" 2>&1; then
			progress "$key failed: $(grep -v '^$' "$work/hf.log" | tail -n 3)"
			return 1
		fi
	done
	# shellcheck disable=SC2086 # OUTPUTS is a list of names
	(cd "$work" && rm -rf $outs)
	local c
	for c in a b; do
		read -r MED["$key.$c"] N["$key.$c"] SPREAD["$key.$c"] < <(jq -rs --arg c "$c" '
			[.[].results[] | select(.command == $c) | .times[]] | sort
			| length as $n
			| (if $n % 2 == 1 then .[($n - 1) / 2]
			   else (.[$n / 2 - 1] + .[$n / 2]) / 2 end) as $med
			| "\($med) \($n) \(.[0]),\(.[-1])"' "$work/json/$key".*.json)
	done
}

# time_row KEY MEASURE SIZE NAME_A NAME_B MAX: a row for compare's result.
time_row() {
	local key=$1 m=$2 s=$3 na=$4 nb=$5 max=$6 r v
	if [ -z "${MED[$key.a]-}" ]; then
		row "$m" "$s" "failed (see stderr)" "" "" "${max:+<= ${max}x}" "not measured"
		return
	fi
	r=$(ratio "${MED[$key.a]}" "${MED[$key.b]}")
	if [ -n "$max" ]; then v=$(verdict "$r" "$max"); else v="(no target)"; fi
	row "$m" "$s" "$na $(fmt_time "${MED[$key.a]}")" \
	    "$nb $(fmt_time "${MED[$key.b]}")" "${r}x" "${max:+<= ${max}x}" "$v"
	local sa sb
	IFS=, read -r -a sa <<<"${SPREAD[$key.a]}"
	IFS=, read -r -a sb <<<"${SPREAD[$key.b]}"
	echo "- $m, $s: $na median of ${N[$key.a]} runs (min $(fmt_time "${sa[0]}"), max $(fmt_time "${sa[1]}")); $nb median of ${N[$key.b]} (min $(fmt_time "${sb[0]}"), max $(fmt_time "${sb[1]}"))" >>"$NOTES"
}

# ---- peak memory -------------------------------------------------------------
# rss KEY OUTPUTS CMD...: one run under GNU time (%M, KiB) after removing
# OUTPUTS; RSS[KEY] is its peak resident set.
declare -A RSS
rss() {
	local key=$1 outs=$2
	shift 2
	# shellcheck disable=SC2086 # OUTPUTS is a list of names
	(cd "$work" && rm -rf $outs &&
	    /usr/bin/time -f '%M' -o "$work/rss" "$@" >/dev/null 2>"$work/err") ||
	    { progress "$key failed: $(tail -n 2 "$work/err")"; return 1; }
	RSS[$key]=$(tail -n 1 "$work/rss")
	# shellcheck disable=SC2086
	(cd "$work" && rm -rf $outs)
}

# ---- header ----------------------------------------------------------------

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
rev=$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)
commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
start=$(date +%s)
echo "## Benchmark"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); tree: $rev (commit $commit)"
echo "- machine: $(nproc) cores, ${cpu:-$(uname -m)}, $(mib "$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)") RAM, Linux $(uname -r)"
echo "- outputs on $fsdev ($fstype), $wbase; load average at start: $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "- groups: ${SEL}; sizes: ${SIZES}"
echo "- $(hyperfine --version), $(srec_cat -version 2>/dev/null | head -n 1 || echo srec_cat missing), $(dfu-util -V 2>/dev/null | head -n 1 || echo dfu-util missing)"
echo

# ---- file tools --------------------------------------------------------------

# Runs per hyperfine call (two calls per comparison): enough samples for
# a median at small sizes, a 10-15 minute run in all.
runs_for() { # bytes -> "runs warmup hex_runs"
	if [ "$1" -le $((8 << 20)) ]; then echo "10 2 5"
	elif [ "$1" -le $((128 << 20)) ]; then echo "3 1 2"
	else echo "2 0 1"
	fi
}

RSS_TOOLS=()	# keys of RSS, in the order of the memory table
declare -A RSS_NAME
rss_tool() { # key name outputs cmd...
	local k=$1 n=$2
	shift 2
	[ -n "${RSS_NAME[$k]-}" ] || RSS_TOOLS+=("$k")
	RSS_NAME[$k]=$n
	rss "$k.$s" "$@"
}

if file_groups; then
for i in "${!size_bytes[@]}"; do
	s=${size_labels[$i]}
	n=${size_bytes[$i]}
	read -r runs warm hruns < <(runs_for "$n")
	need=$((n * 14 / 1024 + 65536))
	avail=$(df -Pk "$work" | awk 'NR == 2 { print $4 }')
	if [ "$avail" -lt "$need" ]; then
		progress "size $s skipped: needs $(mib "$need") free in $wbase, $(mib "$avail") there"
		echo "- size $s skipped: needs $(mib "$need") free in $wbase, $(mib "$avail") there" >>"$NOTES"
		continue
	fi
	progress "size $s: making the inputs"
	(
		cd "$work" || exit 1
		head -c "$n" /dev/urandom >img.bin
		"$T/bin2dfu" -a 0x08000000:img.bin -o one.dfu
		q=$((n / 4))
		head -c "$q" img.bin >q.bin
		"$T/bin2dfu" -t 0 -a 0x08000000:q.bin -a 0x20000000:q.bin \
		    -t 1 -a 0x08000000:q.bin -a 0x20000000:q.bin -o four.dfu
		"$T/dfusplit" -o parts four.dfu
		if want elf2dfu; then
			arm-none-eabi-objcopy -I binary -O elf32-littlearm -B arm \
			    --rename-section .data=.text,alloc,load,readonly,code,contents \
			    img.bin img.o &&
			arm-none-eabi-ld -Ttext=0x08000000 -e 0x08000000 img.o -o img.elf &&
			rm img.o
		fi
		if want hex2dfu; then
			objcopy -I binary -O ihex --change-addresses 0x08000000 img.bin img.hex &&
			objcopy -I binary -O srec --srec-forceS3 \
			    --change-addresses 0x08000000 img.bin img.srec
		fi
	) || die "size $s: cannot make the inputs in $work"
	cache() { (cd "$work" && cat "$@" >/dev/null); }

	if want bin2dfu; then
		progress "size $s: bin2dfu"
		cache img.bin
		compare "bin2dfu.$s" "$runs" "$warm" "out.dfu copy.bin" \
		    "$T/bin2dfu -a 0x08000000:img.bin -o out.dfu" "cp img.bin copy.bin" &&
		time_row "bin2dfu.$s" "${bt}bin2dfu${bt} vs ${bt}cp${bt} (new file)" "$s" bin2dfu cp 1.3
		rss_tool bin2dfu "${bt}bin2dfu -a${bt}" out.dfu "$T/bin2dfu" -a 0x08000000:img.bin -o out.dfu
	fi
	if want elf2dfu; then
		progress "size $s: elf2dfu"
		cache img.elf
		compare "elf2dfu.$s" "$runs" "$warm" "out.dfu copy.elf" \
		    "$T/elf2dfu -o out.dfu img.elf" "cp img.elf copy.elf" &&
		time_row "elf2dfu.$s" "${bt}elf2dfu${bt} vs ${bt}cp${bt} of the ELF" "$s" elf2dfu cp 1.3
		rss_tool elf2dfu "${bt}elf2dfu${bt}" out.dfu "$T/elf2dfu" -o out.dfu img.elf
	fi
	if want hex2dfu; then
		progress "size $s: hex2dfu"
		for f in hex srec; do
			if [ $f = hex ]; then fmt=-intel; else fmt=-motorola; fi
			cache img.$f
			compare "hex2dfu-$f.$s" "$hruns" 0 "out.dfu srec.bin" \
			    "$T/hex2dfu -o out.dfu img.$f" \
			    "srec_cat img.$f $fmt -offset -0x08000000 -o srec.bin -binary" &&
			time_row "hex2dfu-$f.$s" "${bt}hex2dfu${bt} ${f^^} vs ${bt}srec_cat $fmt -o -binary${bt}" "$s" hex2dfu srec_cat 0.5
			rss_tool "hex2dfu-$f" "${bt}hex2dfu${bt} ${f^^}" out.dfu "$T/hex2dfu" -o out.dfu img.$f
		done
	fi
	if want dfuinfo; then
		progress "size $s: dfuinfo"
		cache one.dfu
		for v in "-q" "" "--json"; do
			k=dfuinfo${v:-text}
			compare "$k.$s" "$runs" "$warm" "" "$T/dfuinfo $v one.dfu" "cat one.dfu" &&
			if [ "$v" = -q ]; then
				time_row "$k.$s" "${bt}dfuinfo -q${bt} vs ${bt}cat > /dev/null${bt}" "$s" dfuinfo cat 1.5
			else
				time_row "$k.$s" "${bt}dfuinfo${v:+ $v}${bt} vs ${bt}cat > /dev/null${bt}" "$s" dfuinfo cat ""
			fi
			# shellcheck disable=SC2086
			rss_tool "$k" "${bt}dfuinfo${v:+ $v}${bt}" "" "$T/dfuinfo" $v one.dfu
		done
	fi
	if want dfusplit; then
		progress "size $s: dfusplit"
		(cd "$work" && cat four.dfu parts/* >/dev/null)
		compare "split.$s" "$runs" "$warm" "sdir copy.dfu" \
		    "$T/dfusplit -o sdir four.dfu" \
		    "cp four.dfu copy.dfu" &&
		time_row "split.$s" "${bt}dfusplit${bt} (4 elements, 2 targets) vs ${bt}cp${bt}" "$s" dfusplit cp 1.5
		# What the manifest's digests cost by themselves: SHA-256 of
		# the same bytes (nettle, one thread) against the same cp.
		if [ -x "$work/sha256" ]; then
			compare "sha.$s" "$runs" "$warm" "copy.dfu" \
			    "$work/sha256 four.dfu" \
			    "cp four.dfu copy.dfu" &&
			time_row "sha.$s" "SHA-256 of the same bytes alone (nettle, one thread) vs ${bt}cp${bt}" "$s" sha256 cp ""
		fi
		compare "join.$s" "$runs" "$warm" "out.dfu copy.dfu" \
		    "$T/dfusplit --join parts/four.manifest.json -o out.dfu" \
		    "cp four.dfu copy.dfu" &&
		time_row "join.$s" "${bt}dfusplit --join${bt} (4 elements, 2 targets) vs ${bt}cp${bt}" "$s" "dfusplit --join" cp 1.5
		rss_tool split "${bt}dfusplit${bt} (split)" sdir "$T/dfusplit" -o sdir four.dfu
		rss_tool join "${bt}dfusplit --join${bt}" out.dfu "$T/dfusplit" --join parts/four.manifest.json -o out.dfu
	fi
	rm -rf "${work:?}"/*.bin "$work"/*.dfu "$work"/img.* "$work"/parts "$work"/sdir
	sync
done
fi

# Peak memory: the targets at 512 MiB, one row per tool.
for k in "${RSS_TOOLS[@]}"; do
	[ -n "$target_label" ] && [ -n "${RSS[$k.$target_label]-}" ] || continue
	case $k in
	hex2dfu-*) max=65536 ;;
	*) max=16384 ;;
	esac
	if [ "${RSS[$k.$target_label]}" -le "$max" ]; then v=met; else v="not met"; fi
	row "peak memory, ${RSS_NAME[$k]}" "$target_label" "$(mib "${RSS[$k.$target_label]}")" "" "" \
	    "<= $((max / 1024)) MiB" "$v"
done

# ---- dfuflash ----------------------------------------------------------------

if want flash || want multi; then
	progress "dfuflash on the device model"
	fgroups=""
	want flash && fgroups=flash
	want multi && fgroups=$fgroups${fgroups:+,}multi
	"$top/bench/flash.sh" "$B" "$fgroups" "$work/flash" >>"$ROWS" 2>>"$NOTES" ||
	    die "bench/flash.sh failed"
fi
if want usb || want multi; then
	progress "dfuflash and dfu-util over emulated USB"
	ugroups=""
	want usb && ugroups=usb
	want multi && ugroups=$ugroups${ugroups:+,}multi
	"$top/bench/flash-usb.sh" "$B" "$ugroups" "$work/usb" >>"$ROWS" 2>>"$NOTES" ||
	    die "bench/flash-usb.sh failed"
fi

# ---- report ----------------------------------------------------------------

echo "| measure | size | measured | baseline | ratio | target | result |"
echo "|---|---|---|---|---|---|---|"
cat "$ROWS"
echo
if [ ${#RSS_TOOLS[@]} -gt 0 ]; then
	echo "Peak memory (GNU time %M, one run each):"
	echo
	printf '| tool |'
	for s in "${size_labels[@]}"; do printf ' %s |' "$s"; done
	printf '\n|---|'
	for s in "${size_labels[@]}"; do printf -- '---|'; done
	echo
	for k in "${RSS_TOOLS[@]}"; do
		printf '| %s |' "${RSS_NAME[$k]}"
		for s in "${size_labels[@]}"; do
			if [ -n "${RSS[$k.$s]-}" ]; then printf ' %s |' "$(mib "${RSS[$k.$s]}")"; else printf ' - |'; fi
		done
		echo
	done
	echo
fi
if [ -s "$NOTES" ]; then
	echo "Details:"
	echo
	cat "$NOTES"
	echo
fi
echo "Whole run: $(($(date +%s) - start)) s; load average at the end: $(cut -d ' ' -f 1-3 /proc/loadavg)."
