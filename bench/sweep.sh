#!/usr/bin/env bash
# The sweeps behind make bench's plots (docs/bench.md, "Results, tables and plots").
# Run by bench/run.sh; by hand: BUILD=build bench/sweep.sh size|loss
#
#   size  throughput against message size, 64 B .. 1 MiB (BENCH_SWEEP_SIZES):
#           rbs     jet perf --proto rbs -l S       (private LAN, MTU 9000)
#           tcp     jet perf --proto tcp -l S       (private LAN, MTU 65536, copying)
#           kernel  bench/tcp_ref -l S              (kernel TCP over 127.0.0.1)
#         and against frame size, up to 65536 B:
#           raw     jet perf --proto raw --frame S  (raw frames, private LAN)
#           ring    bench/ring_ref --frame S        (the bare shared-memory ring)
#   loss  throughput under frame loss, 0 0.1 1 5 % (BENCH_LOSS_PCT), 128 KiB
#         messages, every path with MTU BENCH_LOSS_MTU (9000):
#           rbs     jet perf --proto rbs --loss P   (private LAN)
#           tcp     jet perf --proto tcp --loss P   (private LAN)
#           kernel  iperf3 between two network namespaces whose TAP interfaces
#                   are stations of a LAN created with --loss P (jet lan tap,
#                   as bench/lan_tap.sh does); as root only, else missing
#                   with the reason in "kernel_missing"
#
# At every point (size, or loss) the protocols run one after the other, the
# order rotated by one each repetition so that none always runs first; each
# point's figure is the median over BENCH_SWEEP_REPS repetitions, with min
# and max.  Every run is bounded (BENCH_SWEEP_TIMEOUT s); a run that fails is
# kept in "runs" with its error and counted in its point's "failed", and the
# sweep goes on.
#
# Env:    BUILD (build), BENCH_JET ($BUILD/jet), BENCH_SWEEP_REPS (BENCH_REPS, 5),
#         BENCH_SWEEP_SECONDS (0.5, size runs), BENCH_SWEEP_SIZES
#         ("64 256 1024 4096 16384 65536 262144 1048576"), BENCH_LOSS_PCT
#         ("0 0.1 1 5"), BENCH_LOSS_SECONDS (1, a whole number: iperf3's -t),
#         BENCH_LOSS_MTU (9000), BENCH_SWEEP_TIMEOUT (30)
# Output: progress on stderr, one JSON object on stdout (last line).
# Exit:   0; 1 when a run failed (the JSON is still printed) or a program is
#         missing; 2 on bad settings.
set -euo pipefail
export LC_ALL=C

BUILD=${BUILD:-build}
JET=${BENCH_JET:-$BUILD/jet}
RING=$BUILD/bench/ring_ref
TCPREF=$BUILD/bench/tcp_ref
REPS=${BENCH_SWEEP_REPS:-${BENCH_REPS:-5}}
SECS=${BENCH_SWEEP_SECONDS:-0.5}
read -r -a SIZES <<<"${BENCH_SWEEP_SIZES:-64 256 1024 4096 16384 65536 262144 1048576}"
read -r -a LOSSES <<<"${BENCH_LOSS_PCT:-0 0.1 1 5}"
LOSS_SECS=${BENCH_LOSS_SECONDS:-1}
LOSS_MTU=${BENCH_LOSS_MTU:-9000}
LOSS_MSG=131072
FRAME_MAX=65536 # raw frames and the ring: a LAN frame is at most this
TIMEOUT=${BENCH_SWEEP_TIMEOUT:-30}
NET=198.18.61 # the kernel-across-the-LAN path of the loss sweep

bad() { echo "bench: sweep: $*" >&2; exit 2; }
posint() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
posnum() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]] && ! [[ $1 =~ ^0+(\.0+)?$ ]]; }
posint "$REPS" || bad "BENCH_SWEEP_REPS (or BENCH_REPS) must be a positive integer"
posint "$TIMEOUT" || bad "BENCH_SWEEP_TIMEOUT must be a positive integer"
posint "$LOSS_SECS" || bad "BENCH_LOSS_SECONDS must be a positive integer (iperf3 -t)"
posint "$LOSS_MTU" || bad "BENCH_LOSS_MTU must be a positive integer"
posnum "$SECS" || bad "BENCH_SWEEP_SECONDS must be a positive number"
for s in "${SIZES[@]}"; do posint "$s" || bad "BENCH_SWEEP_SIZES: not a size: $s"; done
for l in "${LOSSES[@]}"; do
	[[ $l =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v l="$l" 'BEGIN { exit !(l < 100) }' ||
		bad "BENCH_LOSS_PCT: not a percentage below 100: $l"
done
[ ${#SIZES[@]} -gt 0 ] && [ ${#LOSSES[@]} -gt 0 ] || bad "empty BENCH_SWEEP_SIZES or BENCH_LOSS_PCT"
WHAT=${1:-}
case $WHAT in size | loss) ;; *) bad "usage: bench/sweep.sh size|loss" ;; esac
for p in "$JET" "$RING" "$TCPREF"; do
	[ -x "$p" ] || { echo "bench: sweep: $p not found: build first (make)" >&2; exit 1; }
done

tmp=$(mktemp -d)
pids=()
cleanup_net() { :; }
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	cleanup_net
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
: >"$tmp/runs"
nfail=0

# run PROTO X REP CMD...: runs CMD under the timeout; appends {proto, x, rep,
# result} (the last JSON object CMD printed) or {proto, x, rep, error} to
# $tmp/runs.  KIND=iperf3 converts iperf3 -J's report to the keys jet perf uses.
KIND=perf
run() {
	local proto=$1 x=$2 rep=$3 rc=0 out err
	shift 3
	timeout --kill-after=5 "$TIMEOUT" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$KIND" = iperf3 ]; then
		out=$(jq -c 'select(.end.sum_received.bytes != null) | .end as $e
			| {proto: "tcp", link: "tap", bytes: $e.sum_received.bytes,
			   seconds: $e.sum_received.seconds,
			   gbps: ($e.sum_received.bits_per_second / 1e9),
			   retransmits: $e.sum_sent.retransmits,
			   cpu_utilization_percent: $e.cpu_utilization_percent}' "$tmp/out" 2>/dev/null || true)
	else
		out=$(grep '^{' "$tmp/out" | tail -n 1 || true)
		jq -e 'type == "object" and (.gbps | type) == "number"' >/dev/null 2>&1 <<<"$out" || out=""
	fi
	if [ $rc -eq 0 ] && [ -n "$out" ]; then
		jq -c --arg p "$proto" --argjson x "$x" --argjson rep "$rep" \
			'{proto: $p, x: $x, rep: $rep, result: .}' <<<"$out" >>"$tmp/runs"
		return 0
	fi
	err="exit $rc"
	[ $rc -eq 124 ] && err="timed out after ${TIMEOUT}s"
	[ $rc -ne 0 ] || err="printed no result"
	err="$err: $(tail -n 3 "$tmp/err" | tr '\n' ' ')"
	echo >&2
	echo "bench: sweep: $proto at $x failed ($err): $*" >&2
	jq -nc --arg p "$proto" --argjson x "$x" --argjson rep "$rep" --arg e "$err" --arg cmd "$*" \
		'{proto: $p, x: $x, rep: $rep, error: $e, cmd: $cmd}' >>"$tmp/runs"
	nfail=$((nfail + 1))
}

# rotate REP NAME...: prints the names rotated left by REP - 1.
rotate() {
	local r=$1 n i
	shift
	n=$#
	local a=("$@")
	for ((i = 0; i < n; i++)); do printf '%s ' "${a[$(((i + r - 1) % n))]}"; done
}

# summary: the runs as points {proto, x, gbps, cpu_ns_per_byte, retransmits
# (median/min/max), ok, failed}, plus the runs themselves.
SUMMARY='
	def median: sort | if length == 0 then null
		elif length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def stats: map(select(. != null)) | {median: median, min: min, max: max};
	def cpb: .cpu_ns_per_byte // (if (.bytes // 0) > 0 and (.sender_cpu_s != null or .receiver_cpu_s != null)
		then ((.sender_cpu_s // 0) + (.receiver_cpu_s // 0)) * 1e9 / .bytes else null end);
	. as $runs
	| [group_by([.proto, .x])[] | {proto: .[0].proto, x: .[0].x,
		gbps: (map(.result.gbps) | stats),
		cpu_ns_per_byte: (map(.result | select(. != null) | cpb) | stats),
		retransmits: (map(.result.retransmits) | stats),
		ok: (map(select(.result != null)) | length),
		failed: (map(select(.error != null)) | length)}] as $points
	| {points: $points, runs: $runs}'

if [ "$WHAT" = size ]; then
	echo "bench: sweep: throughput at ${SIZES[*]} B, $REPS repetitions of ${SECS}s: rbs tcp kernel, raw ring up to $FRAME_MAX B" >&2
	for ((rep = 1; rep <= REPS; rep++)); do
		printf 'bench: sweep size %d/%d:' "$rep" "$REPS" >&2
		for s in "${SIZES[@]}"; do
			for p in $(rotate "$rep" rbs tcp kernel raw ring); do
				case $p in
				rbs) run rbs "$s" "$rep" "$JET" perf --proto rbs -l "$s" -t "$SECS" --json ;;
				tcp) run tcp "$s" "$rep" "$JET" perf --proto tcp -l "$s" -t "$SECS" --json ;;
				kernel) run kernel "$s" "$rep" "$TCPREF" -l "$s" -t "$SECS" --json ;;
				raw) if ((s >= 64 && s <= FRAME_MAX)); then
					run raw "$s" "$rep" "$JET" perf --proto raw --frame "$s" -t "$SECS" --json
				fi ;;
				ring) if ((s >= 64 && s <= FRAME_MAX)); then
					run ring "$s" "$rep" "$RING" --frame "$s" -t "$SECS" --json
				fi ;;
				esac
			done
			printf ' %s' "$s" >&2
		done
		echo >&2
	done
	jq -sc --argjson reps "$REPS" --argjson secs "$SECS" --argjson fmax "$FRAME_MAX" \
		--argjson sizes "$(printf '%s\n' "${SIZES[@]}" | jq -sc .)" "$SUMMARY"' + {
		reps: $reps, seconds: $secs, sizes: $sizes, frame_max: $fmax,
		protocols: {
			rbs: "RBS: jet perf --proto rbs -l SIZE (private LAN, MTU 9000)",
			tcp: "user TCP: jet perf --proto tcp -l SIZE (private LAN, MTU 65536, copying)",
			kernel: "kernel TCP over loopback: bench/tcp_ref -l SIZE",
			raw: "raw frames: jet perf --proto raw --frame SIZE (private LAN)",
			ring: "bare ring: bench/ring_ref --frame SIZE"},
		x: "message size in bytes (raw and ring: frame size)"}' "$tmp/runs"
	[ $nfail -eq 0 ] || exit 1
	exit 0
fi

# --- loss ----------------------------------------------------------------
# The kernel's series: two namespaces, a LAN with the loss, two `jet lan tap`
# stations and iperf3; set up per loss value (a LAN's faults are fixed when it
# is created).  kernel_missing says why it cannot run.
kernel_missing=""
if [ "$(id -u)" -ne 0 ]; then
	kernel_missing="needs root (TAP devices, network namespaces)"
elif ! command -v iperf3 >/dev/null || ! command -v ip >/dev/null; then
	kernel_missing="needs iperf3 and ip"
elif [ ! -c /dev/net/tun ]; then
	kernel_missing="no /dev/net/tun"
fi
NS_A=jt-bsweep-$$-a NS_B=jt-bsweep-$$-b LAN=jt-bsweep-$$ TAPA=jtsa$$ TAPB=jtsb$$
tap_pids=()
ns_made=0
cleanup_net() {
	local p
	for p in "${tap_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${tap_pids[@]}"; do wait "$p" 2>/dev/null || true; done
	tap_pids=()
	"$JET" lan destroy --force "$LAN" >/dev/null 2>&1 || true
	if ((ns_made)); then
		ip netns del "$NS_A" 2>/dev/null || true
		ip netns del "$NS_B" 2>/dev/null || true
	fi
}
# lan_up P: the LAN with loss probability P and its two taps; 0 or kernel_missing set.
lan_up() {
	local i
	"$JET" lan create "$LAN" --mtu "$LOSS_MTU" ${1:+--loss "$1"} >/dev/null 2>"$tmp/err" ||
		{ kernel_missing="jet lan create failed: $(tail -n 1 "$tmp/err")"; return 0; }
	"$JET" lan tap "$LAN" --ifname "$TAPA" --station 0 --ip "$NET.1/24" --netns "$NS_A" \
		>"$tmp/ta.out" 2>"$tmp/ta.err" &
	tap_pids+=($!)
	"$JET" lan tap "$LAN" --ifname "$TAPB" --station 1 --ip "$NET.2/24" --netns "$NS_B" \
		>"$tmp/tb.out" 2>"$tmp/tb.err" &
	tap_pids+=($!)
	for i in $(seq 100); do
		grep -qs station "$tmp/ta.out" && grep -qs station "$tmp/tb.out" && return 0
		sleep 0.05
	done
	kernel_missing="jet lan tap did not start: $(cat "$tmp/ta.err" "$tmp/tb.err" | tail -n 2 | tr '\n' ' ')"
}
lan_down() {
	local p
	for p in "${tap_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${tap_pids[@]}"; do wait "$p" 2>/dev/null || true; done
	tap_pids=()
	"$JET" lan destroy --force "$LAN" >/dev/null 2>&1 || true
}
if [ -z "$kernel_missing" ]; then
	ns_made=1
	if ip netns add "$NS_A" 2>/dev/null && ip netns add "$NS_B" 2>/dev/null; then
		ip -n "$NS_A" link set lo up
		ip -n "$NS_B" link set lo up
		ip netns exec "$NS_B" iperf3 -s >/dev/null 2>&1 &
		pids+=($!)
	else
		kernel_missing="cannot create network namespaces"
	fi
fi

protos=(rbs tcp)
[ -n "$kernel_missing" ] || protos+=(kernel)
echo "bench: sweep: throughput under loss ${LOSSES[*]} %, MTU $LOSS_MTU, $REPS repetitions of ${LOSS_SECS}s: ${protos[*]}" >&2
[ -z "$kernel_missing" ] || echo "bench: sweep: kernel TCP across the LAN missing: $kernel_missing" >&2
for l in "${LOSSES[@]}"; do
	p=$(awk -v l="$l" 'BEGIN { if (l > 0) printf "%.6g", l / 100 }')
	kern=0
	if [ -z "$kernel_missing" ]; then
		lan_up "$p"
		if [ -z "$kernel_missing" ]; then
			kern=1
			sleep 0.2 # the iperf3 server listens on an address the tap just got
		else
			echo "bench: sweep: kernel TCP across the LAN missing from ${l}% on: $kernel_missing" >&2
		fi
	fi
	printf 'bench: sweep loss %s%%:' "$l" >&2
	for ((rep = 1; rep <= REPS; rep++)); do
		order=(rbs tcp)
		((kern)) && order+=(kernel)
		for pr in $(rotate "$rep" "${order[@]}"); do
			case $pr in
			rbs) run rbs "$l" "$rep" "$JET" perf --proto rbs --mtu "$LOSS_MTU" ${p:+--loss "$p"} \
				-l "$LOSS_MSG" -t "$LOSS_SECS" --json ;;
			tcp) run tcp "$l" "$rep" "$JET" perf --proto tcp --mtu "$LOSS_MTU" ${p:+--loss "$p"} \
				-l "$LOSS_MSG" -t "$LOSS_SECS" --json ;;
			kernel) KIND=iperf3 run kernel "$l" "$rep" ip netns exec "$NS_A" iperf3 -c "$NET.2" \
				-t "$LOSS_SECS" -l "$LOSS_MSG" -J --connect-timeout 5000 ;;
			esac
		done
		printf ' %d' "$rep" >&2
	done
	echo >&2
	((kern)) && lan_down
done

jq -sc --argjson reps "$REPS" --argjson secs "$LOSS_SECS" --argjson mtu "$LOSS_MTU" \
	--argjson msg "$LOSS_MSG" --arg missing "$kernel_missing" \
	--argjson losses "$(printf '%s\n' "${LOSSES[@]}" | jq -sc .)" "$SUMMARY"' + {
	reps: $reps, seconds: $secs, loss_pct: $losses, mtu: $mtu, msg: $msg,
	protocols: {
		rbs: "RBS: jet perf --proto rbs --loss P (private LAN)",
		tcp: "user TCP: jet perf --proto tcp --loss P (private LAN, copying)",
		kernel: "kernel TCP across the LAN: iperf3 through two jet lan tap stations of a LAN created with --loss P"},
	kernel_missing: (if $missing == "" then null else $missing end),
	x: "frame loss probability in percent"}' "$tmp/runs"
[ $nfail -eq 0 ] || exit 1
