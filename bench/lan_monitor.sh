#!/usr/bin/env bash
# What a LAN monitor (`jet dump lan:NAME`, JET_LINK_MONITOR) costs the
# stations: jet perf --proto rbs between two stations of one LAN, without a
# monitor (A) and with one attached and reading (B: bench/lan_monitor, which
# takes every frame and neither prints nor writes), A/B interleaved REPS
# times, T seconds each.
#
#     jet perf -c (station 0) ==== lan:NAME ====> jet perf -s (station 1)
#                                    ||
#                          (B) lan_monitor NAME: every frame copied to it
#
# Then the stations' own cost per frame in one process (lan_monitor --pair:
# 64-byte and 9000-byte native frames, without and with a monitor, least and
# median of 16 runs of 100,000 frames).
# Prints one JSON object: {"bench":"lan_monitor", "reps", "seconds",
# "gbps_none", "gbps_monitor" (medians), "ratio" (monitor / none),
# "monitor_frames", "monitor_dropped" (summed over the B runs: what the
# monitor took and what it lost for falling behind), "pair_ns":
# {"frame64"|"frame9000": {"none"|"monitor": {"ns_min", "ns_median"}}}}.
# On a machine of 2 cores, B runs three busy processes on two: the ratio
# then measures the monitor's share of the CPU as much as the copy.
# Environment: BUILD (default build), REPS (5), T (2), MTU (9000).
BENCH_NAME=lan_monitor
set -euo pipefail
export LC_ALL=C
BUILD=${BUILD:-build}
JET=${BENCH_JET:-$BUILD/jet}
MON=$BUILD/bench/lan_monitor
REPS=${REPS:-5}
T=${T:-2}
MTU=${MTU:-9000}
[ -x "$JET" ] && [ -x "$MON" ] || { echo "bench: build first (make)" >&2; exit 1; }
LAN=bmon-$$
"$JET" lan create "$LAN" --mtu "$MTU" >/dev/null
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	"$JET" lan destroy "$LAN" --force >/dev/null 2>&1 || true
}
trap cleanup EXIT

# one run: prints the client's gbps
run() {
	local srv out
	"$JET" perf --proto rbs -s -1 --link "lan:$LAN" --station 1 >/dev/null 2>&1 &
	srv=$!
	pids+=("$srv")
	sleep 0.2
	out=$("$JET" perf --proto rbs -c --to 1 --link "lan:$LAN" --station 0 -t "$T" --json)
	wait "$srv" || true
	jq -r .gbps <<<"$out"
}

none=() mon=() frames=0 dropped=0
for ((i = 0; i < REPS; i++)); do
	none+=("$(run)")
	"$MON" "$LAN" $((T + 30)) >"/tmp/lan_monitor.$$.json" &
	m=$!
	pids+=("$m")
	sleep 0.1
	mon+=("$(run)")
	kill -TERM "$m"
	wait "$m" || true
	frames=$((frames + $(jq -r .frames "/tmp/lan_monitor.$$.json")))
	dropped=$((dropped + $(jq -r .dropped "/tmp/lan_monitor.$$.json")))
	rm -f "/tmp/lan_monitor.$$.json"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# the stations' own cost, in one process (no CPU shared with a monitor)
pair() { "$MON" --pair "$1" 16 ${2:+--monitor} | jq -c '{ns_min, ns_median}'; }
p64=$(pair 40) p64m=$(pair 40 m) p9k=$(pair 8972) p9km=$(pair 8972 m)
mn=$(median "${none[@]}")
mm=$(median "${mon[@]}")
echo "none: ${none[*]}; monitor: ${mon[*]}" >&2
jq -nc --argjson r "$REPS" --argjson t "$T" --argjson a "$mn" --argjson b "$mm" \
	--argjson f "$frames" --argjson d "$dropped" --argjson p1 "$p64" --argjson p2 "$p64m" \
	--argjson p3 "$p9k" --argjson p4 "$p9km" \
	'{bench:"lan_monitor", reps:$r, seconds:$t, gbps_none:$a, gbps_monitor:$b,
	  ratio:(if $a > 0 then ($b / $a * 1000 | round) / 1000 else null end),
	  monitor_frames:$f, monitor_dropped:$d,
	  pair_ns:{frame64:{none:$p1, monitor:$p2}, frame9000:{none:$p3, monitor:$p4}}}'
