#!/usr/bin/env bash
# Kernel TCP across the emulated LAN through two `jet lan tap` stations (A),
# as a ratio to kernel TCP over a veth pair (B) measured in the same run
# (issue 11: target at least 0.5), and the ping round trip of each path.
# Run by bench/run.sh; by hand: BUILD=build bench/lan_tap.sh
#
#   A  netns $NS_A  tap 198.18.7.1  =LAN (--mtu 65536)=  tap 198.18.7.2  netns $NS_B
#        (two `jet lan tap` processes in this namespace forward the frames)
#   B  netns $NS_VA veth 198.18.9.1 ------------------- veth 198.18.9.2  netns $NS_VB
#
# Both paths have the same MTU (65521, a TAP's largest; the LAN carries the
# kernel's 64 KiB TSO segments whole).  Each repetition runs
# `iperf3 -c -t BENCH_TAP_SECONDS -J` over A and over B, in the order A B,
# then B A in the next repetition, so that neither always runs first
# (docs/bench.md); the ratio of each pair is A Gb/s / B Gb/s and the figure
# is the median of the ratios.  Each repetition also sends 20 pings over
# each path (-i 0.01, after one to resolve ARP); the RTT figures are the
# medians of all of them.  The CPU time of the two tap processes during the
# A runs gives their cost in CPU ns per byte.
#
# Env:    BUILD (build), BENCH_REPS (5), BENCH_TAP_SECONDS (2), BENCH_TIMEOUT (120),
#         BENCH_JET (the jet binary to measure, default $BUILD/jet: e.g. an older
#         build kept aside, run alternately with the new one to compare them)
# Output: progress on stderr, one JSON object on stdout; when it cannot run
#         (not root, no iperf3, ...) {"skipped": REASON}, exit 0.
# Exit:   0, or 1 when a step failed (its stderr is printed).
BENCH_NAME=lan_tap
. "$(dirname "$0")/lib.sh"

REPS=${BENCH_REPS:-5}
SECS=${BENCH_TAP_SECONDS:-2}
TIMEOUT=${BENCH_TIMEOUT:-120}
TARGET=0.5
PINGS=20

bench_needs ip iperf3 ping jq
[ -c /dev/net/tun ] || skip "no /dev/net/tun"

NS_A=jt-bench-$$-a NS_B=jt-bench-$$-b NS_VA=jt-bench-$$-va NS_VB=jt-bench-$$-vb
LAN=jt-bench-$$
tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	for p in "$NS_A" "$NS_B" "$NS_VA" "$NS_VB"; do ip netns del "$p" 2>/dev/null || true; done
	"$JET" lan destroy --force "$LAN" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
step() { # WHAT CMD...: runs CMD, prints its stderr and fails if it fails
	local what=$1
	shift
	if ! timeout --kill-after=5 "$TIMEOUT" "$@" >"$tmp/out" 2>"$tmp/err"; then
		echo "bench: lan_tap: $what failed: $*" >&2
		sed 's/^/  | /' "$tmp/err" >&2
		exit 1
	fi
}

for n in "$NS_A" "$NS_B" "$NS_VA" "$NS_VB"; do
	step "ip netns add" ip netns add "$n"
	ip -n "$n" link set lo up
done
MTU=65521
step "veth" ip link add "jtbv$$" netns "$NS_VA" mtu "$MTU" type veth peer name "jtbw$$" netns "$NS_VB" mtu "$MTU"
step "veth address" ip -n "$NS_VA" addr add 198.18.9.1/24 dev "jtbv$$"
step "veth address" ip -n "$NS_VB" addr add 198.18.9.2/24 dev "jtbw$$"
ip -n "$NS_VA" link set "jtbv$$" up
ip -n "$NS_VB" link set "jtbw$$" up

step "jet lan create" "$JET" lan create "$LAN" --mtu 65536
"$JET" lan tap "$LAN" --ifname "jtbt$$" --station 0 --ip 198.18.7.1/24 --netns "$NS_A" \
	>"$tmp/ta.out" 2>"$tmp/ta.err" &
pids+=($!)
TAP_A=$!
"$JET" lan tap "$LAN" --ifname "jtbu$$" --station 1 --ip 198.18.7.2/24 --netns "$NS_B" \
	>"$tmp/tb.out" 2>"$tmp/tb.err" &
pids+=($!)
TAP_B=$!
for _ in $(seq 100); do
	grep -q station "$tmp/ta.out" && grep -q station "$tmp/tb.out" && break
	sleep 0.05
done
if ! grep -q station "$tmp/ta.out" || ! grep -q station "$tmp/tb.out"; then
	echo "bench: lan_tap: jet lan tap did not start" >&2
	cat "$tmp/ta.err" "$tmp/tb.err" >&2
	exit 1
fi
ip netns exec "$NS_B" iperf3 -s >/dev/null 2>&1 &
pids+=($!)
ip netns exec "$NS_VB" iperf3 -s >/dev/null 2>&1 &
pids+=($!)
sleep 0.3

# CPU ticks (user + system) of the two tap processes.
tap_ticks() { cat "/proc/$TAP_A/stat" "/proc/$TAP_B/stat" | sed 's/.*) //' | awk '{ t += $12 + $13 } END { print t }'; }
HZ=$(getconf CLK_TCK)

# iperf SIDE NS IP REP: one run; appends {side, rep, gbps, retransmits, [cpu_s]}.
iperf() {
	local t0 t1
	t0=$(tap_ticks)
	step "iperf3 over $1" ip netns exec "$2" iperf3 -c "$3" -t "$SECS" -J --connect-timeout 5000
	t1=$(tap_ticks)
	jq -c --arg side "$1" --argjson rep "$4" --argjson cpu "$(((t1 - t0)))" --argjson hz "$HZ" \
		'{side: $side, rep: $rep, gbps: (.end.sum_received.bits_per_second / 1e9),
		  bytes: .end.sum_received.bytes, retransmits: .end.sum_sent.retransmits}
		 + (if $side == "tap" then {tap_cpu_s: ($cpu / $hz)} else {} end)' "$tmp/out" >>"$tmp/runs"
}
# pings SIDE NS IP: PINGS round trips in microseconds, one per line, into $tmp/rtt.SIDE
pings() {
	ip netns exec "$2" ping -c 1 -W 2 "$3" >/dev/null 2>&1 || true # ARP
	step "ping over $1" ip netns exec "$2" ping -c "$PINGS" -i 0.01 -W 2 "$3"
	grep -o 'time=[0-9.]*' "$tmp/out" | cut -d= -f2 | awk '{ print $1 * 1000 }' >>"$tmp/rtt.$1"
}

: >"$tmp/runs"
: >"$tmp/rtt.tap"
: >"$tmp/rtt.veth"
echo "bench: lan_tap: $REPS repetitions of iperf3 -t $SECS, tap path and veth, alternating" >&2
for ((rep = 1; rep <= REPS; rep++)); do
	order=(tap veth)
	((rep % 2)) || order=(veth tap)
	for side in "${order[@]}"; do
		if [ "$side" = tap ]; then
			iperf tap "$NS_A" 198.18.7.2 "$rep"
			pings tap "$NS_A" 198.18.7.2
		else
			iperf veth "$NS_VA" 198.18.9.2 "$rep"
			pings veth "$NS_VA" 198.18.9.2
		fi
	done
	printf 'bench: lan_tap %d/%d\n' "$rep" "$REPS" >&2
done

kill -TERM "$TAP_A" "$TAP_B"
wait "$TAP_A" "$TAP_B" || { echo "bench: lan_tap: jet lan tap exited $?" >&2; cat "$tmp/ta.err" "$tmp/tb.err" >&2; exit 1; }
stop_a=$(grep '^stopped:' "$tmp/ta.out" || true)
stop_b=$(grep '^stopped:' "$tmp/tb.out" || true)

jq -s -c --slurpfile rt <(jq -s . "$tmp/rtt.tap") --slurpfile rv <(jq -s . "$tmp/rtt.veth") \
	--argjson target "$TARGET" --argjson secs "$SECS" --argjson mtu "$MTU" --argjson pings "$PINGS" \
	--arg stop_a "$stop_a" --arg stop_b "$stop_b" '
	def median: sort | if length == 0 then null
		elif length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def stats: map(select(. != null)) | {median: median, min: min, max: max};
	(group_by(.rep) | map({rep: .[0].rep,
		tap: (map(select(.side == "tap"))[0]), veth: (map(select(.side == "veth"))[0])}
		| . + {ratio: (if .veth.gbps > 0 then .tap.gbps / .veth.gbps else null end),
		       tap_cpu_ns_per_byte: (if .tap.bytes > 0 then .tap.tap_cpu_s * 1e9 / .tap.bytes
		                             else null end)})) as $p
	| {seconds: $secs, mtu: $mtu, lan_mtu: 65536,
	   tap_gbps: ($p | map(.tap.gbps) | stats),
	   veth_gbps: ($p | map(.veth.gbps) | stats),
	   ratio: ($p | map(.ratio) | stats),
	   tap_cpu_ns_per_byte: ($p | map(.tap_cpu_ns_per_byte) | stats),
	   rtt_us: {pings_per_rep: $pings, tap: ($rt[0] | median), veth: ($rv[0] | median),
	            ratio: (if ($rv[0] | median) > 0 then ($rt[0] | median) / ($rv[0] | median) else null end)},
	   target: {ratio_at_least: $target},
	   taps: [$stop_a, $stop_b],
	   pairs: $p}
	| . + {pass: (.ratio.median != null and .ratio.median >= $target)}' "$tmp/runs"
