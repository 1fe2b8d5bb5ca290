#!/bin/bash
# bench/run.sh - time bin2dfu and `dfuinfo -q` against the I/O limit (cp,
# cat) and against dfu-util (dfu-suffix -a/-c, dfuse-pack).
#
# Usage: bench/run.sh [-s SIZES] BUILD_DIR
#   -s SIZES  comma-separated image sizes, suffix K, M or G (powers of 1024);
#             default 1M,64M,1G
#
# Prints a markdown table (median time, ratios, peak RSS) on stdout and
# progress on stderr.  This is a benchmark, not a test: it exits 0 whether
# or not the targets are met, and non-zero only if it could not run.
# See bench/README.md for how to read the numbers.
set -u

usage() {
	echo "usage: bench/run.sh [-s SIZES] BUILD_DIR" >&2
	echo "  -s SIZES  comma-separated sizes with suffix K, M or G (default 1M,64M,1G)" >&2
	exit 2
}

die() {
	echo "bench: $*" >&2
	exit 1
}

progress() {
	echo "bench: $*" >&2
}

SIZES=1M,64M,1G
while getopts s:h opt; do
	case $opt in
	s) SIZES=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
[ -d "$1" ] || die "$1: no such build directory"
B=$(cd "$1" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)

# Targets from the issue.
TARGET_BUILD_RATIO=1.5	# bin2dfu median / cp median, at most
TARGET_CHECK_SPEEDUP=5	# dfu-suffix -c median / dfuinfo -q median, at least
TARGET_RSS_KIB=32768	# peak RSS of bin2dfu and dfuinfo at 1 GiB, below
# dfuse-pack (python) reads the whole image several times over; a single
# run longer than this is not repeated and that size is skipped for it.
PACK_TIMEOUT=${PACK_TIMEOUT:-300}
# Time budget in seconds for the timed repetitions of dfuse-pack per size.
PACK_BUDGET=${PACK_BUDGET:-60}

for t in hyperfine jq /usr/bin/time; do
	command -v "$t" >/dev/null 2>&1 || die "$t is required"
done
# The tools are in BUILD_DIR/bin (older trees: BUILD_DIR itself).
for T in "$B/bin" "$B"; do
	[ -f "$T/bin2dfu" ] && [ -x "$T/bin2dfu" ] && break
done
for t in bin2dfu dfuinfo; do
	if [ ! -f "$T/$t" ] || [ ! -x "$T/$t" ]; then
		die "$B/bin/$t not built (run make tools)"
	fi
done

# ---- sizes -------------------------------------------------------------

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
	n=$(to_bytes "$s") || die "bad size: $s"
	[ "$n" -gt 0 ] || die "bad size: $s"
	size_labels+=("$(echo "$s" | tr 'kmg' 'KMG')")
	size_bytes+=("$n")
done
[ ${#size_bytes[@]} -gt 0 ] || usage

# ---- work directory ------------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/dfubench.XXXXXX") || die "cannot create a work directory"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$work/json"

avail_kib() {
	df -Pk "$work" | awk 'NR == 2 { print $4 }'
}
mem_avail_kib() {
	awk '/^MemAvailable:/ { print $2 }' /proc/meminfo
}
mib() { # KiB -> "12.3 MiB"
	awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'
}
gib() { # bytes -> "1.0 GiB"
	awk -v b="$1" 'BEGIN { printf "%.1f GiB", b / 1073741824 }'
}
fmt_time() { # seconds -> "1.23 ms" / "12.3 s", three significant digits
	awk -v t="$1" 'BEGIN {
		if (t < 0.001) { v = t * 1e6; u = "µs" }
		else if (t < 1) { v = t * 1e3; u = "ms" }
		else { v = t; u = "s" }
		if (v < 10) f = "%.2f %s"; else if (v < 100) f = "%.1f %s"; else f = "%.0f %s"
		printf f, v, u }'
}
ratio() { # a / b -> "1.23"
	awk -v a="$1" -v b="$2" 'BEGIN { r = a / b
		if (r < 0.1) printf "%.3f", r; else if (r < 100) printf "%.2f", r; else printf "%.0f", r }'
}

# ---- the commands ----------------------------------------------------------
# Every command runs in $work; hyperfine runs them without a shell (-N), so
# the strings are split into words the way a shell would (quotes work).

q() { printf "'%s'" "$1"; }

LABELS_BUILD=(bin2dfu cp ddsync sfxa pack)
LABELS_CHECK=(dfuinfo cat sfxc)
declare -A NAME CMD PREP OUT
bt='`' # command names are markdown code spans
NAME[bin2dfu]="${bt}bin2dfu -a 0x08000000:img.bin -o out.dfu${bt}"
CMD[bin2dfu]="$(q "$T/bin2dfu") -a 0x08000000:img.bin -o out.dfu"
NAME[cp]="${bt}cp img.bin copy.bin${bt}"
CMD[cp]="cp img.bin copy.bin"
OUT[cp]=copy.bin
# bin2dfu syncs its output to disk before renaming it into place; cp does
# not, so a copy that syncs (dd conv=fsync) is measured as well.
NAME[ddsync]="${bt}dd if=img.bin of=sync.bin bs=1M conv=fsync${bt}"
CMD[ddsync]="dd if=img.bin of=sync.bin bs=1M conv=fsync status=none"
OUT[ddsync]=sync.bin
NAME[sfxa]="${bt}dfu-suffix -a s.bin${bt} (excl. copy)"
CMD[sfxa]="dfu-suffix -a s.bin"
PREP[sfxa]="sh -c 'cp img.bin s.bin && sync'"
OUT[sfxa]=s.bin
NAME[pack]="${bt}dfuse-pack -b 0x08000000:img.bin pack.dfu${bt}"
CMD[pack]="dfuse-pack -b 0x08000000:img.bin pack.dfu"
OUT[pack]=pack.dfu
NAME[dfuinfo]="${bt}dfuinfo -q out.dfu${bt}"
CMD[dfuinfo]="$(q "$T/dfuinfo") -q out.dfu"
NAME[cat]="${bt}cat out.dfu > /dev/null${bt}"
CMD[cat]="cat out.dfu"
NAME[sfxc]="${bt}dfu-suffix -c out.dfu${bt}"
CMD[sfxc]="dfu-suffix -c out.dfu"
# Writes go to disk in the background; start each timed build run with no
# dirty pages left over from the previous one (the sync is not timed).
for l in bin2dfu cp ddsync pack; do PREP[$l]=sync; done
for l in "${LABELS_CHECK[@]}"; do PREP[$l]=""; done
for l in bin2dfu dfuinfo cat sfxc; do OUT[$l]=""; done

command -v dfu-suffix >/dev/null 2>&1 || missing_suffix=1
command -v dfuse-pack >/dev/null 2>&1 || missing_pack=1

# ---- header --------------------------------------------------------------

first_line() { "$@" 2>&1 | sed -n '/./{p;q}'; }
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
[ -n "$cpu" ] || cpu=$(uname -m)
memtotal=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
rev=$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)
pkgver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "?"; }
libver=$(sed -n 's/^#define DFUFILE_VERSION_STRING "\(.*\)"$/\1/p' "$top/common/dfufile.h" 2>/dev/null)

start=$(date +%s)
echo "## DFU tools benchmark"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- machine: $(nproc) CPUs, $cpu, $(mib "$memtotal") RAM, Linux $(uname -r)"
echo "- load average at start: $(cut -d ' ' -f 1-3 /proc/loadavg)"
echo "- work directory: $(df -P "$work" | awk 'NR == 2 { print $1 }') (${TMPDIR:-/tmp})"
echo "- $(first_line "$T/bin2dfu" -V), $(first_line "$T/dfuinfo" -V) (libdfufile.h ${libver:-?}, tree $rev), in $T"
echo "- cp, cat: GNU coreutils $(pkgver coreutils)"
if [ -z "${missing_suffix-}" ]; then
	echo "- $(first_line dfu-suffix --version) (dfu-util package $(pkgver dfu-util))"
else
	echo "- dfu-suffix: not installed"
fi
if [ -z "${missing_pack-}" ]; then
	echo "- dfuse-pack: $(command -v dfuse-pack), $(first_line python3 --version)"
else
	echo "- dfuse-pack: not installed"
fi
echo "- $(first_line hyperfine --version), GNU time $(pkgver time)"
echo

# ---- running ----------------------------------------------------------------

declare -A STATUS   # label.size -> "" (ok) or why there is no figure
declare -A RSS      # label.size -> KiB
declare -A MEDIAN   # label.size -> seconds
declare -A NSAMP MIN MAX
declare -A SIZE_SKIP # size -> why it was not run

# Peak RSS and smoke test: one run under GNU time, before any timing.  A
# command that fails here is not timed.  Sets SMOKE_SECS.
rss_run() { # label size
	local l=$1 s=$2 rc
	local to=(timeout "$PACK_TIMEOUT")
	[ "$l" = pack ] || to=()
	[ -n "${PREP[$l]}" ] && (cd "$work" && eval "${PREP[$l]}")
	(cd "$work" && eval "set -- ${CMD[$l]}" &&
		"${to[@]}" /usr/bin/time -f '%e %M' -o "$work/rss" "$@" >/dev/null 2>"$work/err")
	rc=$?
	if [ ${#to[@]} -gt 0 ] && [ $rc -eq 124 ]; then
		STATUS[$l.$s]="skipped: one run took more than $PACK_TIMEOUT s"
		return 1
	fi
	if [ $rc -ne 0 ]; then
		STATUS[$l.$s]="failed: exit $rc: $(grep -v '^Command exited' "$work/err" | tail -n 1)"
		return 1
	fi
	read -r SMOKE_SECS RSS["$l.$s"] < <(tail -n 1 "$work/rss")
	return 0
}

# One hyperfine invocation; the samples land in json/LABEL.SIZE.ROUND.json.
hf_run() { # label size round runs warmup
	local l=$1 s=$2 r=$3 n=$4 w=$5
	local args=(-N --style none --runs "$n" --warmup "$w" -n "$l"
		--export-json "$work/json/$l.$s.$r.json")
	[ -n "${PREP[$l]}" ] && args+=(--prepare "${PREP[$l]}")
	if ! (cd "$work" && hyperfine "${args[@]}" "${CMD[$l]}") >"$work/hf.log" 2>&1; then
		STATUS[$l.$s]="failed in round $r: $(grep -v '^$' "$work/hf.log" | tail -n 1)"
		rm -f "$work/json/$l.$s".*.json
	fi
}

collect() { # label size
	local l=$1 s=$2 files
	files=("$work/json/$l.$s".*.json)
	[ -e "${files[0]}" ] || return 0
	read -r MEDIAN["$l.$s"] NSAMP["$l.$s"] MIN["$l.$s"] MAX["$l.$s"] < <(jq -rs '
		[.[].results[].times[]] | sort | length as $n
		| (if $n % 2 == 1 then .[($n - 1) / 2]
		   else (.[$n / 2 - 1] + .[$n / 2]) / 2 end) as $med
		| "\($med) \($n) \(.[0]) \(.[-1])"' "${files[@]}")
}

# Rotate the command order each round so that no command always runs
# right after the same neighbour.
rotated() { # round labels...
	local r=$1
	shift
	local a=("$@") n=$# i
	for ((i = 0; i < n; i++)); do printf '%s\n' "${a[$(((i + r) % n))]}"; done
}

plan=()
for i in "${!size_bytes[@]}"; do
	s=${size_labels[$i]}
	n=${size_bytes[$i]}
	progress "size $s: preparing"

	# The image, out.dfu, bin2dfu's temporary output and one peer's output.
	need=$((n * 4 / 1024 + 32768))
	if [ "$(avail_kib)" -lt "$need" ]; then
		SIZE_SKIP[$s]="skipped: needs $(mib "$need") free in ${TMPDIR:-/tmp}, $(mib "$(avail_kib)") available"
		progress "size $s ${SIZE_SKIP[$s]}"
		continue
	fi

	# ROUNDS hyperfine calls per command, interleaved with the other
	# commands; per call RUNS[label] timed runs after WARM warmup runs.
	# The slow dfu-util peers get fewer runs at the larger sizes.
	if [ "$n" -le $((8 << 20)) ]; then
		rounds=5 warm=2 r_ours=10 r_peer=10 r_sfxc=10
	elif [ "$n" -le $((256 << 20)) ]; then
		rounds=5 warm=1 r_ours=6 r_peer=3 r_sfxc=6
	else
		rounds=5 warm=0 r_ours=3 r_peer=1 r_sfxc=2
	fi
	declare -A RUNS=([bin2dfu]=$r_ours [cp]=$r_ours [ddsync]=$r_ours
		[dfuinfo]=$r_ours [cat]=$r_ours
		[sfxa]=$r_peer [pack]=$r_peer [sfxc]=$r_sfxc)
	for l in "${LABELS_BUILD[@]}" "${LABELS_CHECK[@]}"; do STATUS[$l.$s]=""; done
	if [ -n "${missing_suffix-}" ]; then
		STATUS[sfxa.$s]="skipped: dfu-suffix not installed"
		STATUS[sfxc.$s]=${STATUS[sfxa.$s]}
	fi
	[ -n "${missing_pack-}" ] && STATUS[pack.$s]="skipped: dfuse-pack not installed"
	# dfuse-pack peaks at about 4x the image size.
	if [ -z "${STATUS[pack.$s]}" ] && [ "$(mem_avail_kib)" -lt $((n * 5 / 1024)) ]; then
		STATUS[pack.$s]="skipped: needs about $(gib $((n * 5))) of free RAM, $(mib "$(mem_avail_kib)") available"
	fi

	head -c "$n" /dev/urandom >"$work/img.bin" || die "cannot write $work/img.bin"
	cat "$work/img.bin" >/dev/null	# warm the page cache
	sync

	# Peak RSS and smoke test, which also creates out.dfu for the check group.
	prounds=$rounds
	for l in "${LABELS_BUILD[@]}" "${LABELS_CHECK[@]}"; do
		[ -z "${STATUS[$l.$s]}" ] || continue
		progress "size $s: peak RSS of $l"
		if rss_run "$l" "$s" && [ "$l" = pack ]; then
			SMOKE_PACK=$SMOKE_SECS
			prounds=$(awk -v t="$SMOKE_SECS" -v b="$PACK_BUDGET" -v r="$rounds" -v n="${RUNS[pack]}" \
				'BEGIN { k = int(b / ((t > 0.001 ? t : 0.001) * n)); print (k < 1 ? 1 : (k > r ? r : k)) }')
		fi
		[ -n "${OUT[$l]}" ] && rm -f "$work/${OUT[$l]}"
	done
	if [ -n "${STATUS[bin2dfu.$s]}" ]; then
		for l in "${LABELS_CHECK[@]}"; do
			[ -n "${STATUS[$l.$s]}" ] || STATUS[$l.$s]="skipped: no out.dfu (bin2dfu failed)"
		done
	fi
	if [ -n "${STATUS[pack.$s]}" ]; then
		pplan="dfuse-pack ${STATUS[pack.$s]}"
	elif [ "$prounds" -lt "$rounds" ]; then
		pplan="dfuse-pack only in $prounds rounds (one run took $SMOKE_PACK s)"
	else
		pplan=""
	fi
	plan+=("$s: $rounds rounds; runs per round: $r_ours bin2dfu, cp, dd, dfuinfo, cat; $r_peer dfu-suffix -a, dfuse-pack; $r_sfxc dfu-suffix -c; $warm warmup per round${pplan:+; $pplan}")

	for ((r = 0; r < rounds; r++)); do
		progress "size $s: build round $((r + 1))/$rounds"
		while read -r l; do
			[ -z "${STATUS[$l.$s]}" ] || continue
			[ "$l" = pack ] && [ "$r" -ge "$prounds" ] && continue
			hf_run "$l" "$s" "$r" "${RUNS[$l]}" "$warm"
			[ -n "${OUT[$l]}" ] && rm -f "$work/${OUT[$l]}"
		done < <(rotated "$r" "${LABELS_BUILD[@]}")
	done
	sync
	for ((r = 0; r < rounds; r++)); do
		progress "size $s: check round $((r + 1))/$rounds"
		while read -r l; do
			[ -z "${STATUS[$l.$s]}" ] || continue
			hf_run "$l" "$s" "$r" "${RUNS[$l]}" "$warm"
		done < <(rotated "$r" "${LABELS_CHECK[@]}")
	done
	for l in "${LABELS_BUILD[@]}" "${LABELS_CHECK[@]}"; do collect "$l" "$s"; done
	rm -f "$work"/*.bin "$work"/*.dfu "$work"/.*.dfu* 2>/dev/null
done

# ---- report -----------------------------------------------------------------

have() { [ -z "${STATUS[$1]-}" ] && [ -n "${MEDIAN[$1]-}" ]; }
cell_time() { if have "$1"; then fmt_time "${MEDIAN[$1]}"; else echo "${STATUS[$1]:-no figure}"; fi; }
cell_rss() { if [ -n "${RSS[$1]-}" ]; then mib "${RSS[$1]}"; else echo "—"; fi; }
cell_ratio() { # key base-key
	if have "$1" && have "$2"; then echo "$(ratio "${MEDIAN[$1]}" "${MEDIAN[$2]}")x"; else echo "—"; fi
}
peer_ratio() { # key peer-key peer-name
	if have "$1" && have "$2"; then echo "$(ratio "${MEDIAN[$1]}" "${MEDIAN[$2]}")x $3"; fi
}
join() { local IFS=';'; local out="$*"; echo "${out//;/; }"; }

echo "| size | command | median | ratio to cp/cat | ratio to peers | peak RSS |"
echo "|---|---|---|---|---|---|"
for s in "${size_labels[@]}"; do
	if [ -n "${SIZE_SKIP[$s]-}" ]; then
		echo "| $s | all | ${SIZE_SKIP[$s]} | — | — | — |"
		continue
	fi
	for l in "${LABELS_BUILD[@]}"; do
		peer="—"
		if [ "$l" = bin2dfu ]; then
			p=()
			x=$(peer_ratio "$l.$s" "ddsync.$s" "dd conv=fsync") && [ -n "$x" ] && p+=("$x")
			x=$(peer_ratio "$l.$s" "sfxa.$s" "dfu-suffix -a") && [ -n "$x" ] && p+=("$x")
			x=$(peer_ratio "$l.$s" "pack.$s" "dfuse-pack") && [ -n "$x" ] && p+=("$x")
			[ ${#p[@]} -gt 0 ] && peer=$(join "${p[@]}")
		fi
		echo "| $s | ${NAME[$l]} | $(cell_time "$l.$s") | $(cell_ratio "$l.$s" "cp.$s") | $peer | $(cell_rss "$l.$s") |"
	done
	for l in "${LABELS_CHECK[@]}"; do
		peer="—"
		if [ "$l" = dfuinfo ]; then
			x=$(peer_ratio "$l.$s" "sfxc.$s" "dfu-suffix -c") && [ -n "$x" ] && peer=$x
		fi
		echo "| $s | ${NAME[$l]} | $(cell_time "$l.$s") | $(cell_ratio "$l.$s" "cat.$s") | $peer | $(cell_rss "$l.$s") |"
	done
done
echo
echo "Ratios are this command's median time divided by the other's: below 1 is faster."
echo "Build commands are ratioed to cp, check commands to cat."
echo "dfu-suffix -a modifies its file, so each run gets a fresh copy (cp img.bin s.bin,"
echo "as hyperfine --prepare); that copy is not included in its time."
echo "Every build run starts after an untimed sync.  Peak RSS is from one extra run under"
echo "GNU time (%M)."
echo

echo "Samples (all rounds pooled) and spread:"
echo
for p in "${plan[@]}"; do echo "- $p"; done
echo
echo "| size | command | samples | min | median | max |"
echo "|---|---|---|---|---|---|"
for s in "${size_labels[@]}"; do
	for l in "${LABELS_BUILD[@]}" "${LABELS_CHECK[@]}"; do
		have "$l.$s" || continue
		echo "| $s | ${NAME[$l]} | ${NSAMP[$l.$s]} | $(fmt_time "${MIN[$l.$s]}") | $(fmt_time "${MEDIAN[$l.$s]}") | $(fmt_time "${MAX[$l.$s]}") |"
	done
done
echo

# Verdicts.
v1="" v1ok=1 v1n=0
v4="" v4ok=1 v4n=0
v2="" v2ok=1 v2n=0
for s in "${size_labels[@]}"; do
	if have "bin2dfu.$s" && have "cp.$s"; then
		x=$(ratio "${MEDIAN[bin2dfu.$s]}" "${MEDIAN[cp.$s]}")
		v1="$v1${v1:+, }$s ${x}x"
		v1n=$((v1n + 1))
		awk -v x="${MEDIAN[bin2dfu.$s]}" -v c="${MEDIAN[cp.$s]}" -v t="$TARGET_BUILD_RATIO" \
			'BEGIN { exit !(x <= t * c) }' || { v1ok=0; v1="$v1 (over)"; }
	fi
	if have "bin2dfu.$s" && have "ddsync.$s"; then
		x=$(ratio "${MEDIAN[bin2dfu.$s]}" "${MEDIAN[ddsync.$s]}")
		v4="$v4${v4:+, }$s ${x}x"
		v4n=$((v4n + 1))
		awk -v x="${MEDIAN[bin2dfu.$s]}" -v c="${MEDIAN[ddsync.$s]}" -v t="$TARGET_BUILD_RATIO" \
			'BEGIN { exit !(x <= t * c) }' || { v4ok=0; v4="$v4 (over)"; }
	fi
	if have "dfuinfo.$s" && have "sfxc.$s"; then
		x=$(ratio "${MEDIAN[sfxc.$s]}" "${MEDIAN[dfuinfo.$s]}")
		v2="$v2${v2:+, }$s ${x}x"
		v2n=$((v2n + 1))
		awk -v d="${MEDIAN[dfuinfo.$s]}" -v c="${MEDIAN[sfxc.$s]}" -v t="$TARGET_CHECK_SPEEDUP" \
			'BEGIN { exit !(c >= t * d) }' || { v2ok=0; v2="$v2 (under)"; }
	fi
done
verdict() { # count ok
	if [ "$1" -eq 0 ]; then echo "not measured"; elif [ "$2" -eq 1 ]; then echo "met"; else echo "NOT MET"; fi
}
echo "Targets:"
echo
why() { # label: why there is no figure at the first size
	local s=${size_labels[0]}
	echo "${SIZE_SKIP[$s]:-${STATUS[$1.$s]-}}"
}
[ "$v1n" -gt 0 ] || v1=$(why bin2dfu)
if [ "$v2n" -gt 0 ]; then v2="speed-up $v2"; else v2=$(why dfuinfo); fi
echo "- bin2dfu within ${TARGET_BUILD_RATIO}x of cp: $(verdict $v1n $v1ok)${v1:+ ($v1)}"
echo "- bin2dfu (which syncs its output) within ${TARGET_BUILD_RATIO}x of a copy that syncs (dd conv=fsync): $(verdict $v4n $v4ok)${v4:+ ($v4)}"
echo "- dfuinfo -q at least ${TARGET_CHECK_SPEEDUP}x faster than dfu-suffix -c: $(verdict $v2n $v2ok)${v2:+ ($v2)}"
v3="" v3ok=1 v3n=0
for i in "${!size_bytes[@]}"; do
	[ "${size_bytes[$i]}" -eq $((1 << 30)) ] || continue
	s=${size_labels[$i]}
	for l in bin2dfu dfuinfo; do
		if [ -n "${RSS[$l.$s]-}" ]; then
			v3="$v3${v3:+, }$l $(mib "${RSS[$l.$s]}")"
			v3n=$((v3n + 1))
			[ "${RSS[$l.$s]}" -lt "$TARGET_RSS_KIB" ] || { v3ok=0; v3="$v3 (over)"; }
		fi
	done
done
[ "$v3n" -eq 2 ] || v3ok=0
if [ "$v3n" -eq 0 ]; then
	echo "- peak RSS under $((TARGET_RSS_KIB / 1024)) MiB at 1 GiB: not measured (no 1G run)"
else
	echo "- peak RSS under $((TARGET_RSS_KIB / 1024)) MiB at 1 GiB: $(verdict $v3n $v3ok) ($v3)"
fi
echo
echo "Whole run: $(($(date +%s) - start)) s; load average at the end: $(cut -d ' ' -f 1-3 /proc/loadavg)."
