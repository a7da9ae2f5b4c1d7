#!/usr/bin/env bash
# User TCP over a TAP device to a kernel peer (A), as a ratio to kernel TCP over
# a veth pair (B) measured in the same run (issue 12: target at least 0.5), in
# each direction.  Run by bench/run.sh; by hand: BUILD=build bench/tap_tcp.sh
#
#   A  netns $NS_T:  kernel iperf3 client, jtbk$$ 198.18.14.1  <--tap-->
#                    jet host --link tap:jtbk$$ --ip 198.18.14.2 --services iperf3
#   B  netns $NS_VA veth 198.18.15.1 ------------------ veth 198.18.15.2  netns $NS_VB
#                   (kernel iperf3 client)                 (kernel iperf3 -s)
#
# Both paths have MTU 1500.  On A our TCP sends TSO segments of up to 64 KiB that
# the tap link hands to the kernel with GSO metadata, and the kernel sends us
# GRO-merged frames of up to 64 KiB.  Each repetition runs `iperf3 -c -t
# BENCH_TAP_SECONDS -J` forward (the kernel client sends: user TCP receives on A)
# and with -R (user TCP sends on A) over A and over B, in the order A B, then B A in
# the next repetition, so that neither always runs first (docs/bench.md); the
# ratio of each pair is A Gb/s / B Gb/s, per direction, and the figures are the
# medians of the ratios.  The CPU time of jet host during the A runs gives its
# cost in CPU ns per byte.
#
# Env:    BUILD (build), BENCH_REPS (5), BENCH_TAP_SECONDS (2), BENCH_TIMEOUT (120),
#         BENCH_JET (the jet binary to measure, default $BUILD/jet)
# Output: progress on stderr, one JSON object on stdout; when it cannot run
#         (not root, no iperf3, ...) {"skipped": REASON}, exit 0.
# Exit:   0, or 1 when a step failed (its stderr is printed).
BENCH_NAME=tap_tcp
. "$(dirname "$0")/lib.sh"

REPS=${BENCH_REPS:-5}
SECS=${BENCH_TAP_SECONDS:-2}
TIMEOUT=${BENCH_TIMEOUT:-120}
TARGET=0.5

bench_needs ip iperf3 jq
[ -c /dev/net/tun ] || skip "no /dev/net/tun"

NS_T=jt-btcp-$$-t NS_VA=jt-btcp-$$-va NS_VB=jt-btcp-$$-vb
TAP=jtbk$$
tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	for p in "$NS_T" "$NS_VA" "$NS_VB"; do ip netns del "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
step() { # WHAT CMD...: runs CMD, prints its stderr and fails if it fails
	local what=$1
	shift
	if ! timeout --kill-after=5 "$TIMEOUT" "$@" >"$tmp/out" 2>"$tmp/err"; then
		echo "bench: tap_tcp: $what failed: $*" >&2
		sed 's/^/  | /' "$tmp/err" "$tmp/out" | tail -n 20 >&2
		exit 1
	fi
}

for n in "$NS_T" "$NS_VA" "$NS_VB"; do
	step "ip netns add" ip netns add "$n"
	ip -n "$n" link set lo up
done
MTU=1500
step "veth" ip link add "jtbv$$" netns "$NS_VA" mtu "$MTU" type veth peer name "jtbw$$" netns "$NS_VB" mtu "$MTU"
step "veth address" ip -n "$NS_VA" addr add 198.18.15.1/24 dev "jtbv$$"
step "veth address" ip -n "$NS_VB" addr add 198.18.15.2/24 dev "jtbw$$"
ip -n "$NS_VA" link set "jtbv$$" up
ip -n "$NS_VB" link set "jtbw$$" up

ip netns exec "$NS_T" "$JET" host --link "tap:$TAP" --ip 198.18.14.2/24 --services iperf3 \
	>"$tmp/host.out" 2>"$tmp/host.err" &
pids+=($!)
HOST=$!
for _ in $(seq 100); do
	grep -q services "$tmp/host.out" && break
	sleep 0.05
done
if ! grep -q services "$tmp/host.out"; then
	echo "bench: tap_tcp: jet host did not start" >&2
	cat "$tmp/host.err" >&2
	exit 1
fi
step "tap address" ip -n "$NS_T" addr add 198.18.14.1/24 dev "$TAP"
ip -n "$NS_T" link set "$TAP" mtu "$MTU"
ip netns exec "$NS_VB" iperf3 -s >/dev/null 2>&1 &
pids+=($!)
sleep 0.3

host_ticks() { sed 's/.*) //' "/proc/$HOST/stat" | awk '{ print $12 + $13 }'; }
HZ=$(getconf CLK_TCK)

# iperf SIDE DIR NS IP REP: one run; appends {side, dir, rep, gbps, bytes, retransmits, [cpu_s]}.
# DIR fwd: the client (the kernel) sends; rev (-R): the server side sends.
iperf() {
	local t0 t1 r=()
	[ "$2" = rev ] && r=(-R)
	t0=$(host_ticks)
	step "iperf3 $2 over $1" ip netns exec "$3" iperf3 -c "$4" -t "$SECS" -J --connect-timeout 5000 "${r[@]}"
	t1=$(host_ticks)
	jq -c --arg side "$1" --arg dir "$2" --argjson rep "$5" --argjson cpu "$((t1 - t0))" \
		--argjson hz "$HZ" \
		'{side: $side, dir: $dir, rep: $rep, gbps: (.end.sum_received.bits_per_second / 1e9),
		  bytes: .end.sum_received.bytes, retransmits: .end.sum_sent.retransmits}
		 + (if $side == "tap" then {host_cpu_s: ($cpu / $hz)} else {} end)' "$tmp/out" >>"$tmp/runs"
}

: >"$tmp/runs"
echo "bench: tap_tcp: $REPS repetitions of iperf3 -t $SECS and -R, user TCP over tap and kernel over veth, alternating" >&2
for ((rep = 1; rep <= REPS; rep++)); do
	order=(tap veth)
	((rep % 2)) || order=(veth tap)
	for side in "${order[@]}"; do
		for dir in fwd rev; do
			if [ "$side" = tap ]; then
				iperf tap "$dir" "$NS_T" 198.18.14.2 "$rep"
			else
				iperf veth "$dir" "$NS_VA" 198.18.15.2 "$rep"
			fi
		done
	done
	printf 'bench: tap_tcp %d/%d\n' "$rep" "$REPS" >&2
done

kill -TERM "$HOST"
wait "$HOST" || { echo "bench: tap_tcp: jet host exited $?" >&2; cat "$tmp/host.err" >&2; exit 1; }

jq -s -c --argjson target "$TARGET" --argjson secs "$SECS" --argjson mtu "$MTU" '
	def median: sort | if length == 0 then null
		elif length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def stats: map(select(. != null)) | {median: median, min: min, max: max};
	def pairs($d): map(select(.dir == $d)) | group_by(.rep) | map({rep: .[0].rep,
		tap: (map(select(.side == "tap"))[0]), veth: (map(select(.side == "veth"))[0])}
		| . + {ratio: (if .veth.gbps > 0 then .tap.gbps / .veth.gbps else null end),
		       host_cpu_ns_per_byte: (if .tap.bytes > 0 then .tap.host_cpu_s * 1e9 / .tap.bytes
		                              else null end)});
	def summary: {tap_gbps: (map(.tap.gbps) | stats), veth_gbps: (map(.veth.gbps) | stats),
		ratio: (map(.ratio) | stats), host_cpu_ns_per_byte: (map(.host_cpu_ns_per_byte) | stats),
		tap_retransmits: (map(.tap.retransmits) | add), pairs: .};
	(pairs("fwd") | summary) as $f | (pairs("rev") | summary) as $r
	| {seconds: $secs, mtu: $mtu,
	   to_user: $f,   # iperf3 forward: the kernel sends, user TCP receives
	   from_user: $r, # iperf3 -R: user TCP sends (TSO) to the kernel
	   target: {ratio_at_least: $target}}
	| . + {pass: (.to_user.ratio.median != null and .from_user.ratio.median != null and
	              .to_user.ratio.median >= $target and .from_user.ratio.median >= $target)}' "$tmp/runs"
