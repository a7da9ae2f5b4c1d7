#!/usr/bin/env bash
# Compares the headline benchmark figures of two builds, interleaved in one
# run on the same machine: bench/run.sh runs ROUNDS times for each build,
# alternating A B, B A, A B, ... so that neither always runs first, and the
# table gives each headline figure's median over the rounds for A and for B
# and B's change against A.  Each figure is itself a ratio to a reference
# measured beside it in the same bench/run.sh (see that script), which is
# what makes two builds comparable on this machine at all.
#
#   bench/compare.sh BUILD_A BUILD_B [ROUNDS]     (ROUNDS default 3)
#
# Env: BENCH_REPS (default 3 here), BENCH_SECONDS and the rest as bench/run.sh;
#      COMPARE_REPORT_ONLY=1 prints the table again from the results kept.
# Output: the table on stdout; every round's results.json kept in
# $BUILD_B/bench/compare/.  "worse" is the change in the bad direction, in %.
set -euo pipefail
export LC_ALL=C
A=${1:?usage: bench/compare.sh BUILD_A BUILD_B [ROUNDS]}
B=${2:?usage: bench/compare.sh BUILD_A BUILD_B [ROUNDS]}
ROUNDS=${3:-3}
export BENCH_REPS=${BENCH_REPS:-3}
cd "$(dirname "$0")/.."
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "compare: ROUNDS must be a positive integer" >&2; exit 2; }
out=$B/bench/compare
mkdir -p "$out"
[ "${COMPARE_REPORT_ONLY:-0}" = 1 ] || rm -f "$out"/*.json

# The headline figures: name # jq expression giving the figure's values in
# one results.json (every A/B pair's ratio where bench/run.sh keeps the pairs,
# else its median) # which way is better.  The table pools the values of all
# rounds and gives their median: 3 rounds of BENCH_REPS 3 pairs is 9 pairs.
FIGS=(
	"lan_raw_9000_ratio#[.throughput[] | select(.frame == 9000) | .pairs[].ratio]#higher"
	"pingpong_64_p50_ratio#[.pingpong.pairs[].ratio_p50]#lower"
	"rbs_tcp_bulk_ratio#[.rbs_vs_tcp.throughput.pairs[].ratio]#higher"
	"rbs_tcp_rtt_p50_ratio#[.rbs_vs_tcp.pingpong.pairs[].ratio_p50]#lower"
	"utcp_kernel_128k_ratio#[.tcp_vs_kernel.throughput[]? | select(.msg == 131072) | .pairs[].ratio]#higher"
	"utcp_kernel_1k_ratio#[.tcp_vs_kernel.throughput[]? | select(.msg == 1024) | .pairs[].ratio]#higher"
	"utcp_kernel_rtt_p50_ratio#[.tcp_vs_kernel.pingpong.pairs[]?.ratio_p50]#lower"
	"demux_65536_ratio#[.other[] | select(.name == \"bench_chan\") | .output.demux.ratio.median]#lower"
	"placement_ratio#[.other[] | select(.name == \"bench_chan\") | .output.placement.ratio.median]#higher"
)

for ((r = 1; r <= ROUNDS; r++)); do
	[ "${COMPARE_REPORT_ONLY:-0}" = 1 ] && break # the table again from the kept results
	if ((r % 2)); then order=("A:$A" "B:$B"); else order=("B:$B" "A:$A"); fi
	for ab in "${order[@]}"; do
		tag=${ab%%:*} dir=${ab#*:}
		echo "compare: round $r/$ROUNDS, $tag = $dir" >&2
		BUILD=$dir bench/run.sh >"$out/$tag.$r.txt" 2>&1 || { echo "compare: bench/run.sh failed for $dir (see $out/$tag.$r.txt)" >&2; exit 1; }
		cp "$dir/bench/results.json" "$out/$tag.$r.json"
	done
done

median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "null"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
printf '%-26s %10s %10s %8s   %s\n' figure "A median" "B median" "worse %" "values A | B"
for f in "${FIGS[@]}"; do
	IFS='#' read -r name expr dir <<<"$f"
	va=$(for ((r = 1; r <= ROUNDS; r++)); do jq -r "$expr | map(select(. != null))[]" "$out/A.$r.json"; done)
	vb=$(for ((r = 1; r <= ROUNDS; r++)); do jq -r "$expr | map(select(. != null))[]" "$out/B.$r.json"; done)
	ma=$(median <<<"$va")
	mb=$(median <<<"$vb")
	worse=$(awk -v a="$ma" -v b="$mb" -v d="$dir" 'BEGIN {
		if (a == "null" || b == "null" || a == 0) { print "-"; exit }
		w = (d == "higher") ? (a - b) / a * 100 : (b - a) / a * 100
		printf "%.1f", w }')
	short() { awk '{printf "%s%.3g", (NR > 1 ? " " : ""), $1}'; }
	g() { [ "$1" = null ] && echo - || printf '%.4g' "$1"; } # a figure a build lacks: -
	printf '%-26s %10s %10s %8s   %s | %s\n' "$name" "$(g "$ma")" "$(g "$mb")" "$worse" "$(short <<<"$va")" "$(short <<<"$vb")"
done
