#!/usr/bin/env bash
# User TCP over xdp: on a veth pair (A), as a ratio to kernel TCP over the same
# veth pair (B) measured in the same run (issue 13: target at least 1.0 with the
# kernel's segmentation offloads off; reported with them on).  By hand:
# BUILD=build bench/xdp_tcp.sh
#
#   netns $NS_A  vA 198.18.45.101 (kernel) ======== vB 198.18.45.102 (kernel)  netns $NS_B
#      A: jet perf --proto tcp -s, xdp:vA 198.18.45.1 <-- jet perf -c, xdp:vB 198.18.45.2
#      B: iperf3 -s on 198.18.45.101                   <-- iperf3 -c
#
# MTU 1500.  Offloads "off": ethtool -K tso off gso off gro off on both veths (the
# kernel sends and receives 1500-byte segments, as our TCP does over xdp:, which
# has no TSO); "on": the defaults (the kernel moves 64 KiB GSO segments across
# the veth).  Each repetition runs, per setting, A then B or B then A (alternating
# by repetition, so that neither always runs first, docs/bench.md), each for
# BENCH_XDP_SECONDS; the jet server is started for its run only (an XDP program
# on vA would slow the kernel's run).  The figures are the medians of the per-pair
# ratios A Gb/s / B Gb/s.  Bounded: about REPS x (4 x SECONDS + 2) s (30 s by default).
#
# Env:    BUILD (build), BENCH_XDP_REPS (3), BENCH_XDP_SECONDS (2), BENCH_TIMEOUT (60),
#         BENCH_JET (the jet binary, default $BUILD/jet); JET_XDP_MODE=skb measures
#         the link in generic mode (docs/link-xdp.md)
# Output: progress on stderr, one JSON object on stdout; when it cannot run
#         (not root, no iperf3 or ethtool, ...) {"skipped": REASON}, exit 0.
# Exit:   0, or 1 when a step failed (its stderr is printed).
BENCH_NAME=xdp_tcp
. "$(dirname "$0")/lib.sh"

REPS=${BENCH_XDP_REPS:-3}
SECS=${BENCH_XDP_SECONDS:-2}
TIMEOUT=${BENCH_TIMEOUT:-60}
TARGET=1.0

bench_needs ip iperf3 jq ethtool

NS_A=jt-bxdp-$$-a NS_B=jt-bxdp-$$-b
tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	for p in "$NS_A" "$NS_B"; do ip netns del "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
step() { # WHAT CMD...: runs CMD, prints its stderr and fails if it fails
	local what=$1
	shift
	if ! timeout --kill-after=5 "$TIMEOUT" "$@" >"$tmp/out" 2>"$tmp/err"; then
		echo "bench: xdp_tcp: $what failed: $*" >&2
		sed 's/^/  | /' "$tmp/err" "$tmp/out" | tail -n 20 >&2
		exit 1
	fi
}

for n in "$NS_A" "$NS_B"; do
	step "ip netns add" ip netns add "$n"
	ip -n "$n" link set lo up
	ip netns exec "$n" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6'
done
step "veth" ip link add vA netns "$NS_A" mtu 1500 type veth peer name vB netns "$NS_B" mtu 1500
step "address" ip -n "$NS_A" addr add 198.18.45.101/24 dev vA
step "address" ip -n "$NS_B" addr add 198.18.45.102/24 dev vB
ip -n "$NS_A" link set vA up
ip -n "$NS_B" link set vB up
ip netns exec "$NS_A" iperf3 -s -B 198.18.45.101 >/dev/null 2>&1 &
pids+=($!)
sleep 0.3

offloads() { # on|off
	ip netns exec "$NS_A" ethtool -K vA tso "$1" gso "$1" gro "$1" >/dev/null 2>&1 || true
	ip netns exec "$NS_B" ethtool -K vB tso "$1" gso "$1" gro "$1" >/dev/null 2>&1 || true
}

# run SIDE OFFLOADS REP: one run; appends {side, offloads, rep, gbps, bytes}.
run() {
	if [ "$1" = xdp ]; then
		ip netns exec "$NS_A" "$JET" perf --proto tcp -s --link xdp:vA --ip 198.18.45.1/24 \
			>"$tmp/srv.out" 2>"$tmp/srv.err" &
		local srv=$!
		for _ in $(seq 100); do
			grep -q listening "$tmp/srv.out" && break
			sleep 0.02
		done
		step "jet perf over xdp: ($2)" ip netns exec "$NS_B" "$JET" perf --proto tcp -c \
			--to 198.18.45.1 --link xdp:vB --ip 198.18.45.2/24 -t "$SECS" --json
		kill -TERM "$srv"
		wait "$srv" || { echo "bench: xdp_tcp: jet server exited $?" >&2; cat "$tmp/srv.err" >&2; exit 1; }
		grep '^{' "$tmp/out" | tail -n 1 | jq -c --arg off "$2" --argjson rep "$3" \
			'{side: "xdp", offloads: $off, rep: $rep, gbps: .gbps, bytes: .bytes,
			  retransmits: .retransmits}' >>"$tmp/runs"
	else
		step "iperf3 over veth ($2)" ip netns exec "$NS_B" iperf3 -c 198.18.45.101 -t "$SECS" -J \
			--connect-timeout 5000
		jq -c --arg off "$2" --argjson rep "$3" \
			'{side: "kernel", offloads: $off, rep: $rep,
			  gbps: (.end.sum_received.bits_per_second / 1e9), bytes: .end.sum_received.bytes,
			  retransmits: .end.sum_sent.retransmits}' "$tmp/out" >>"$tmp/runs"
	fi
}

: >"$tmp/runs"
echo "bench: xdp_tcp: $REPS repetitions of ${SECS} s, user TCP over xdp: and kernel TCP over veth, offloads off and on, alternating" >&2
for ((rep = 1; rep <= REPS; rep++)); do
	order=(xdp kernel)
	((rep % 2)) || order=(kernel xdp)
	for off in off on; do
		offloads "$off"
		for side in "${order[@]}"; do run "$side" "$off" "$rep"; done
	done
	printf 'bench: xdp_tcp %d/%d\n' "$rep" "$REPS" >&2
done

jq -s -c --argjson target "$TARGET" --argjson secs "$SECS" '
	def median: sort | if length == 0 then null
		elif length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def stats: map(select(. != null)) | {median: median, min: min, max: max};
	def pairs($o): map(select(.offloads == $o)) | group_by(.rep) | map({rep: .[0].rep,
		xdp: (map(select(.side == "xdp"))[0]), kernel: (map(select(.side == "kernel"))[0])}
		| . + {ratio: (if .kernel.gbps > 0 then .xdp.gbps / .kernel.gbps else null end)});
	def summary: {xdp_gbps: (map(.xdp.gbps) | stats), kernel_gbps: (map(.kernel.gbps) | stats),
		ratio: (map(.ratio) | stats), xdp_retransmits: (map(.xdp.retransmits) | add), pairs: .};
	(pairs("off") | summary) as $off | (pairs("on") | summary) as $on
	| {seconds: $secs, mtu: 1500, target: $target, offloads_off: $off, offloads_on: $on,
	   met: ($off.ratio.median != null and $off.ratio.median >= $target)}' "$tmp/runs"
