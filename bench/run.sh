#!/usr/bin/env bash
# Benchmarks, run by `make bench`.  Builds nothing: it runs $BUILD/jet and
# $BUILD/bench/* as they are.
#
# Every LAN measurement (A = `jet perf`) is paired with the bare
# shared-memory ring (B = bench/ring_ref) run right beside it, and what is
# reported is the median over BENCH_REPS repetitions of the per-pair ratio
# A/B.  This 2-vCPU machine changes speed by up to 4x every few seconds; the
# ratio of two neighbouring runs moves far less (docs/bench.md).  Within a
# repetition the tests go A B, A B, ...; the next repetition goes B A, B A, ...
# so that neither side always runs first.
#
#   1. throughput at 1500, 9000, 65536-byte frames: ratio of Gb/s
#   2. 64-byte ping-pong: ratio of p50 and of p99 round-trip times
#   3. RBS vs kernel TCP: `jet perf --proto rbs` (A) against bench/tcp_ref
#      (B, kernel TCP over loopback), in the same alternating pairs: ratio of
#      Gb/s at 128 KiB messages, ratio of 1-byte ping-pong p50 and p99 (both
#      sides busy-poll), and CPU ns per byte of each
#   3b. user TCP vs kernel TCP: `jet perf --proto tcp` (A, the library's TCP
#      between two stations of a private LAN, MTU 65536) against bench/tcp_ref
#      (B), same pairs: Gb/s at 128 KiB messages (sent by reference and read
#      in place, --zerocopy, as the RBS row does; BENCH_TCP_ZEROCOPY=0 copies)
#      and at 1 KiB messages (copied: jet_tcp_send/recv against send/recv,
#      small writes to be coalesced), CPU ns per byte of each, and 1-byte
#      ping-pong p50/p99 (both sides busy-poll, no Nagle).  BENCH_TCP=0 skips it.
#   4. kernel TCP across the LAN through two `jet lan tap` stations against
#      kernel TCP over a veth pair (bench/lan_tap.sh, as root: its own
#      interleaved pairs, median ratio of Gb/s, ping RTT of each path)
#   5. user TCP over a TAP device to a kernel peer (jet host's iperf3 server,
#      the kernel's iperf3 client, forward and -R) against kernel TCP over a
#      veth pair (bench/tap_tcp.sh, as root: interleaved pairs, median ratio of
#      Gb/s in each direction)
#   5b. raw frame rate of the real links packet:, xdp:, udp: on a veth pair
#      against a plain AF_PACKET sender/receiver (bench/links.sh, as root:
#      interleaved, median ratio of Mpps at 64 and 1500-byte frames)
#   5c. user TCP over xdp: on a veth pair against kernel TCP over the same veth,
#      segmentation offloads off and on (bench/xdp_tcp.sh, as root)
#   5d. the sweeps behind the plots (bench/sweep.sh): throughput against
#      message size for RBS, user TCP, kernel TCP over loopback, raw frames and
#      the bare ring; throughput under 0, 0.1, 1, 5 % frame loss for RBS, user
#      TCP and kernel TCP across the LAN (TAP stations, as root); each point
#      interleaves the protocols, BENCH_SWEEP_REPS times.  BENCH_SWEEP=0 skips.
#   6. every $BUILD/bench/bench_* program, once, with --json; bench_chan's
#      results (channel layer: placement, demultiplexing, priority latency)
#      get a section of their own
#
# Env:    BUILD (build), BENCH_REPS (5), BENCH_SECONDS (1),
#         BENCH_PINGPONG_N (100000), BENCH_RBS_PINGPONG_N (20000),
#         BENCH_TIMEOUT (120 s per program run), BENCH_TCP (1),
#         BENCH_TCP_ZEROCOPY (1), BENCH_SWEEP (1; the sweeps' own knobs are in
#         bench/sweep.sh), BENCH_RESULTS (bench/results)
# Output: tables on stdout, progress on stderr, raw results and medians in
#         $BUILD/bench/results.json; in BENCH_RESULTS: the same results.json
#         (with the machine's description), results.md (every table, in
#         Markdown, machine first) and the plots throughput_size.png,
#         rtt_cdf.png, throughput_loss.png (bench/report.sh, bench/plot.sh)
# Exit:   0 when every program ran (a missed target is reported, it is not a
#         failure: benchmarks are not tests), 1 when a program failed or is
#         missing, 2 on bad settings.
set -euo pipefail
export LC_ALL=C

BUILD=${BUILD:-build}
REPS=${BENCH_REPS:-5}
SECS=${BENCH_SECONDS:-1}
PP_N=${BENCH_PINGPONG_N:-100000}
TIMEOUT=${BENCH_TIMEOUT:-120}
JET=$BUILD/jet
REF=$BUILD/bench/ring_ref
TCP=$BUILD/bench/tcp_ref
RBS_PP_N=${BENCH_RBS_PINGPONG_N:-20000}
OUT=$BUILD/bench/results.json
SIZES=(1500 9000 65536)
PP_FRAME=64
TARGET_FRAME=9000   # throughput target applies at this frame size
TARGET_TPUT=0.7     # median jet/ref Gb/s ratio at least this
TARGET_RTT=2.0      # median jet/ref p50 RTT ratio at most this
RBS_MSG=131072      # RBS vs TCP message size (jet perf --proto rbs's default)
RBS_PP_MSG=1        # RBS vs TCP ping-pong message size
TARGET_RBS_TPUT=2.0 # median RBS/TCP Gb/s ratio at least this (issue 4)
TARGET_RBS_RTT=0.25 # median RBS/TCP p50 RTT ratio at most this (issue 4)
TCP_ON=${BENCH_TCP:-1}
TCP_ZC=${BENCH_TCP_ZEROCOPY:-1}
TCP_MSG=131072           # user TCP vs kernel TCP, large messages
TCP_SMALL_MSG=1024       # and small ones
TARGET_TCP_TPUT=3.0      # median user/kernel TCP Gb/s ratio at 128 KiB at least this (issue 12)
TARGET_TCP_SMALL_TPUT=2.0 # the same at 1 KiB (issue 12)
TARGET_TCP_RTT=0.2       # median user/kernel TCP 1-byte p50 RTT ratio at most this (issue 12)
SWEEP_ON=${BENCH_SWEEP:-1}
RESULTS=${BENCH_RESULTS:-$(dirname "$0")/results}
HERE=$(dirname "$0")

die() { echo "bench: $*" >&2; exit 1; }
posint() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
posint "$REPS" || { echo "bench: BENCH_REPS must be a positive integer" >&2; exit 2; }
posint "$PP_N" || { echo "bench: BENCH_PINGPONG_N must be a positive integer" >&2; exit 2; }
posint "$RBS_PP_N" || { echo "bench: BENCH_RBS_PINGPONG_N must be a positive integer" >&2; exit 2; }
posint "$TIMEOUT" || { echo "bench: BENCH_TIMEOUT must be a positive integer" >&2; exit 2; }
if [[ ! $SECS =~ ^[0-9]+(\.[0-9]+)?$ ]] || [[ $SECS =~ ^0+(\.0+)?$ ]]; then
	echo "bench: BENCH_SECONDS must be a positive number" >&2
	exit 2
fi
[ -x "$JET" ] || die "$JET not found: build first (make)"
[ -x "$REF" ] || die "$REF not found: build first (make)"
[ -x "$TCP" ] || die "$TCP not found: build first (make)"
case $SWEEP_ON in 0 | 1) ;; *) echo "bench: BENCH_SWEEP must be 0 or 1" >&2; exit 2 ;; esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
raw=$tmp/raw.jsonl     # one line per LAN/reference run
extra=$tmp/extra.jsonl # one line per bench_* program
: >"$raw"
: >"$extra"

# How busy the machine was besides us.  Summed over all CPUs, in clock ticks:
# cpu_ticks prints "busy steal total" from /proc/stat; own_ticks the CPU time
# of this script's finished children (cutime + cstime, fields 16 and 17).
cpu_ticks() { awk '$1 == "cpu" { print $2+$3+$4+$7+$8, $9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat; }
own_ticks() { sed 's/.*) //' "/proc/$$/stat" | awk '{ print $14 + $15 }'; }

# run_one LABEL CMD...: runs CMD under the timeout and leaves the last line of
# its stdout that starts with '{' in $out.  On failure prints CMD's stderr and
# ends the script: LAN numbers without their partner are worthless.
run_one() {
	local label=$1 rc=0
	shift
	out=$(timeout --kill-after=5 "$TIMEOUT" "$@" 2>"$tmp/stderr") || rc=$?
	if [ $rc -ne 0 ]; then
		local why="exit $rc"
		[ $rc -eq 124 ] && why="timed out after ${TIMEOUT}s"
		echo >&2
		echo "bench: $label failed ($why): $*" >&2
		sed 's/^/  | /' "$tmp/stderr" >&2
		exit 1
	fi
	out=$(printf '%s\n' "$out" | grep '^{' | tail -n 1 || true)
	if [ -z "$out" ] || ! jq -e 'type == "object"' >/dev/null 2>&1 <<<"$out"; then
		echo >&2
		echo "bench: $label printed no JSON object: $*" >&2
		sed 's/^/  | /' "$tmp/stderr" >&2
		exit 1
	fi
}

# record TEST FRAME REP SIDE FIELD: checks that $out has the number FIELD
# (a jq path) and appends it to the raw results.
record() {
	jq -e "($5 | type) == \"number\"" >/dev/null 2>&1 <<<"$out" ||
		{ echo >&2; die "$4 run of $1 at $2 B printed no number $5: $out"; }
	jq -c --arg test "$1" --argjson frame "$2" --argjson rep "$3" --arg side "$4" \
		'{test: $test, frame: $frame, rep: $rep, side: $side, result: .}' <<<"$out" >>"$raw"
}

# pair TEST FRAME REP FIELD: runs the arrays A (jet, named A_NAME in
# messages) and B (the reference, B_NAME), in the order the repetition number
# picks.  Recorded as sides "jet" and "ref".
A_NAME="jet perf"
B_NAME=ring_ref
pair() {
	local side order=(jet ref)
	(($3 % 2)) || order=(ref jet)
	for side in "${order[@]}"; do
		if [ "$side" = jet ]; then
			run_one "$A_NAME ($1, $2 B)" "${A[@]}"
		else
			run_one "$B_NAME ($1, $2 B)" "${B[@]}"
		fi
		record "$1" "$2" "$3" "$side" "$4"
	done
}

read -r busy0 steal0 total0 < <(cpu_ticks)
own0=$(own_ticks)
echo "bench: $REPS repetitions; throughput ${SECS}s per run at ${SIZES[*]} B; ping-pong $PP_N round trips;" \
	"RBS vs TCP at $RBS_MSG B, ping-pong $RBS_PP_N round trips" >&2
for ((rep = 1; rep <= REPS; rep++)); do
	printf 'bench: repetition %d/%d:' "$rep" "$REPS" >&2
	for f in "${SIZES[@]}"; do
		A=("$JET" perf --proto raw --frame "$f" -t "$SECS" --json)
		B=("$REF" --frame "$f" -t "$SECS" --json)
		pair throughput "$f" "$rep" .gbps
		printf ' %s' "$f" >&2
	done
	A=("$JET" perf --proto raw --pingpong --frame "$PP_FRAME" -n "$PP_N" --json)
	B=("$REF" --pingpong --frame "$PP_FRAME" -n "$PP_N" --json)
	pair pingpong "$PP_FRAME" "$rep" .rtt_us.p50
	printf ' ping-pong' >&2

	# RBS vs kernel TCP over loopback: same message size on both sides.
	A_NAME="jet perf --proto rbs" B_NAME=tcp_ref
	A=("$JET" perf --proto rbs -l "$RBS_MSG" -t "$SECS" --json)
	B=("$TCP" -l "$RBS_MSG" -t "$SECS" --json)
	pair rbs_throughput "$RBS_MSG" "$rep" .gbps
	A=("$JET" perf --proto rbs --pingpong -l "$RBS_PP_MSG" -n "$RBS_PP_N" --json)
	B=("$TCP" --pingpong -l "$RBS_PP_MSG" -n "$RBS_PP_N" --json)
	pair rbs_pingpong "$RBS_PP_MSG" "$rep" .rtt_us.p50
	A_NAME="jet perf" B_NAME=ring_ref
	printf ' rbs-vs-tcp' >&2

	# User TCP (the library's, over the LAN) vs kernel TCP over loopback.
	if [ "$TCP_ON" = 1 ]; then
		A_NAME="jet perf --proto tcp" B_NAME=tcp_ref
		zc=()
		[ "$TCP_ZC" = 1 ] && zc=(--zerocopy)
		A=("$JET" perf --proto tcp "${zc[@]}" -l "$TCP_MSG" -t "$SECS" --json)
		B=("$TCP" -l "$TCP_MSG" -t "$SECS" --json)
		pair utcp_throughput "$TCP_MSG" "$rep" .gbps
		A=("$JET" perf --proto tcp -l "$TCP_SMALL_MSG" -t "$SECS" --json)
		B=("$TCP" -l "$TCP_SMALL_MSG" -t "$SECS" --json)
		pair utcp_throughput "$TCP_SMALL_MSG" "$rep" .gbps
		A=("$JET" perf --proto tcp --pingpong -l 1 -n "$RBS_PP_N" --json)
		B=("$TCP" --pingpong -l 1 -n "$RBS_PP_N" --json)
		pair utcp_pingpong 1 "$rep" .rtt_us.p50
		A_NAME="jet perf" B_NAME=ring_ref
		printf ' tcp-vs-kernel' >&2
	fi
	echo >&2
done

read -r busy1 steal1 total1 < <(cpu_ticks)
own1=$(own_ticks)
# Percent of all CPU time during the LAN runs that went to other processes
# (or to the hypervisor, for steal).
ticks=$((total1 - total0 > 0 ? total1 - total0 : 1))
other_pct=$(((busy1 - busy0 - (own1 - own0)) * 100 / ticks))
((other_pct >= 0)) || other_pct=0
steal_pct=$(((steal1 - steal0) * 100 / ticks))

# The benches with a script of their own (each does its own interleaved A/B
# rounds and prints one JSON object last; as root, else {"skipped": ...}).
# sub_bench NAME LIMIT [SCRIPT ARG...]: runs bench/NAME.sh (or bench/SCRIPT.sh
# ARG...) under a time limit, its JSON into $tmp/NAME.json; a failure is
# reported and makes the exit code 1, like a bench_* program's (a JSON object
# it printed all the same is kept, marked "failed").
failed=()
sub_bench() {
	local name=$1 limit=$2 rc=0 script=$1 args=() label
	shift 2
	[ $# -eq 0 ] || { script=$1; shift; args=("$@"); }
	label="$script.sh${args[*]:+ ${args[*]}}"
	echo "bench: $label" >&2
	BUILD=$BUILD BENCH_REPS=$REPS BENCH_TIMEOUT=$TIMEOUT timeout --kill-after=5 "$limit" \
		"$(dirname "$0")/$script.sh" "${args[@]}" >"$tmp/$name.out" 2>"$tmp/stderr" || rc=$?
	if [ $rc -ne 0 ] || ! tail -n 1 "$tmp/$name.out" | jq -e 'type == "object"' >/dev/null 2>&1; then
		echo "bench: $label failed (exit $rc)" >&2
		sed 's/^/  | /' "$tmp/stderr" >&2
		failed+=("$label")
		# what it printed before failing (the sweeps print their runs, failed ones included)
		if tail -n 1 "$tmp/$name.out" | jq -e 'type == "object"' >/dev/null 2>&1; then
			tail -n 1 "$tmp/$name.out" | jq -c --argjson rc "$rc" '. + {failed: true, exit: $rc}' >"$tmp/$name.json"
		else
			jq -nc --argjson rc "$rc" '{failed: true, exit: $rc}' >"$tmp/$name.json"
		fi
	else
		tail -n 1 "$tmp/$name.out" >"$tmp/$name.json"
	fi
}
# kernel TCP across the LAN through two `jet lan tap` stations / kernel TCP over veth
sub_bench lan_tap 600
# user TCP over a TAP device to a kernel peer / kernel TCP over veth
sub_bench tap_tcp 600
# raw frame rate of the real links (packet:, xdp:, udp:) on veth / plain AF_PACKET
# (a link that cannot run is a row "missing" with its reason)
sub_bench links 120
# user TCP over xdp: on veth / kernel TCP over the same veth, offloads off and on
sub_bench xdp_tcp 120
# what capturing costs: jet perf --proto rbs on a LAN with jet dump -w (full frames and
# --snaplen 128) or capture:FILE/ wrappers / without (bench/capture.sh)
sub_bench capture 300
# the sweeps behind the plots: throughput against message size, and under loss
if [ "$SWEEP_ON" = 1 ]; then
	sub_bench sweep_size 900 sweep size
	sub_bench sweep_loss 600 sweep loss
else
	echo '{"skipped": "BENCH_SWEEP=0"}' >"$tmp/sweep_size.json"
	echo '{"skipped": "BENCH_SWEEP=0"}' >"$tmp/sweep_loss.json"
fi
"$HERE/machine.sh" >"$tmp/machine.json" 2>/dev/null || echo '{}' >"$tmp/machine.json"

# Other benchmarks: each bench_* program once, with --json.  Their output is
# kept as JSON when it parses (one document, or several that become an
# array), as text otherwise.  A failure is reported and makes the exit code 1,
# but the rest still runs and the results are still written.
shopt -s nullglob
for prog in "$BUILD"/bench/bench_*; do
	if [ ! -f "$prog" ] || [ ! -x "$prog" ]; then continue; fi
	name=$(basename "$prog")
	echo "bench: $name" >&2
	rc=0
	timeout --kill-after=5 "$TIMEOUT" "$prog" --json >"$tmp/out" 2>"$tmp/stderr" || rc=$?
	if [ $rc -ne 0 ]; then
		echo "bench: $name failed (exit $rc)" >&2
		sed 's/^/  | /' "$tmp/stderr" >&2
		failed+=("$name")
		jq -nc --arg name "$name" --argjson rc "$rc" --rawfile err "$tmp/stderr" \
			'{name: $name, exit: $rc, stderr: $err}' >>"$extra"
	elif jq -s -e 'length > 0' >/dev/null 2>&1 <"$tmp/out"; then
		jq -sc --arg name "$name" '{name: $name, output: (if length == 1 then .[0] else . end)}' \
			<"$tmp/out" >>"$extra"
	else
		jq -nc --arg name "$name" --rawfile text "$tmp/out" '{name: $name, text: $text}' >>"$extra"
	fi
done

# One document: settings, machine, raw pairs, per-pair ratios and their
# median/min/max, targets, and the other benchmarks' output.
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
commit=$(git rev-parse -q --verify --short HEAD 2>/dev/null || echo none)
jq -s \
	--slurpfile extra "$extra" \
	--slurpfile lantap "$tmp/lan_tap.json" \
	--slurpfile taptcp "$tmp/tap_tcp.json" \
	--slurpfile links "$tmp/links.json" \
	--slurpfile xdptcp "$tmp/xdp_tcp.json" \
	--slurpfile capture "$tmp/capture.json" \
	--slurpfile ssize "$tmp/sweep_size.json" \
	--slurpfile sloss "$tmp/sweep_loss.json" \
	--slurpfile mach "$tmp/machine.json" \
	--argjson reps "$REPS" --argjson seconds "$SECS" --argjson pp_n "$PP_N" --argjson pp_frame "$PP_FRAME" \
	--argjson target_frame "$TARGET_FRAME" --argjson target_tput "$TARGET_TPUT" \
	--argjson target_rtt "$TARGET_RTT" \
	--argjson rbs_msg "$RBS_MSG" --argjson rbs_pp_msg "$RBS_PP_MSG" --argjson rbs_pp_n "$RBS_PP_N" \
	--argjson target_rbs_tput "$TARGET_RBS_TPUT" --argjson target_rbs_rtt "$TARGET_RBS_RTT" \
	--argjson tcp_on "$([ "$TCP_ON" = 1 ] && echo true || echo false)" \
	--argjson tcp_zc "$([ "$TCP_ZC" = 1 ] && echo true || echo false)" \
	--argjson tcp_msg "$TCP_MSG" --argjson tcp_small_msg "$TCP_SMALL_MSG" \
	--argjson target_tcp_tput "$TARGET_TCP_TPUT" --argjson target_tcp_small_tput "$TARGET_TCP_SMALL_TPUT" \
	--argjson target_tcp_rtt "$TARGET_TCP_RTT" \
	--arg cpu "$cpu_model" --argjson ncpu "$(nproc)" --arg kernel "$(uname -r)" \
	--argjson other_pct "$other_pct" --argjson steal_pct "$steal_pct" \
	--arg commit "$commit" '
	def median: sort | if length == 0 then null
		elif length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def stats: map(select(. != null)) | {median: median, min: min, max: max};
	def ratio($a; $b): if $a == null or $b == null or $b == 0 then null else $a / $b end;
	# CPU time of both ends per delivered byte, in ns (jet perf and tcp_ref).
	def cpb: if (.bytes // 0) > 0 and .sender_cpu_s != null and .receiver_cpu_s != null
		then (.sender_cpu_s + .receiver_cpu_s) * 1e9 / .bytes else null end;
	# The runs of one test and frame size, as {rep, jet, ref} pairs.
	def pairs($test; $frame): map(select(.test == $test and .frame == $frame))
		| group_by(.rep)
		| map({rep: .[0].rep,
		       jet: (map(select(.side == "jet"))[0].result),
		       ref: (map(select(.side == "ref"))[0].result)});
	. as $raw
	# User TCP (A) vs kernel TCP (B): one message size of bulk, and ping-pong.
	| def utcp_bulk($msg; $target; $zc): $raw | pairs("utcp_throughput"; $msg)
		| map({rep, user: .jet, kernel: .ref}
			| . + {ratio: ratio(.user.gbps; .kernel.gbps),
			       user_cpu_ns_per_byte: (.user | cpb),
			       kernel_cpu_ns_per_byte: (.kernel | cpb)}
			| . + {cpu_ratio: ratio(.user_cpu_ns_per_byte; .kernel_cpu_ns_per_byte)}) as $p
		| {msg: $msg, zerocopy: $zc,
		   user_gbps: ($p | map(.user.gbps) | stats),
		   kernel_gbps: ($p | map(.kernel.gbps) | stats),
		   ratio: ($p | map(.ratio) | stats),
		   user_cpu_ns_per_byte: ($p | map(.user_cpu_ns_per_byte) | stats),
		   kernel_cpu_ns_per_byte: ($p | map(.kernel_cpu_ns_per_byte) | stats),
		   cpu_ratio: ($p | map(.cpu_ratio) | stats),
		   user_retransmits: ($p | map(.user.retransmits) | stats),
		   target: {ratio_at_least: $target},
		   pairs: $p}
		| . + {pass: (.ratio.median != null and .ratio.median >= $target)};
	{
		date: (now | todate),
		commit: $commit,
		machine: ({cpu: $cpu, cpus: $ncpu, kernel: $kernel,
		           other_cpu_pct: $other_pct, steal_pct: $steal_pct} + $mach[0]),
		settings: {reps: $reps, seconds: $seconds, pingpong_roundtrips: $pp_n,
		           rbs_msg: $rbs_msg, rbs_pingpong_roundtrips: $rbs_pp_n,
		           tcp: $tcp_on, tcp_zerocopy: $tcp_zc,
		           sweep: ($ssize[0] | if .skipped then false else {reps, seconds, sizes} end),
		           loss_sweep: ($sloss[0] | if .skipped then false
		                        else {reps, seconds, loss_pct, mtu, msg} end)},
		throughput: [$raw | map(select(.test == "throughput") | .frame) | unique[] as $f
			| ($raw | pairs("throughput"; $f)
				| map(. + {ratio: ratio(.jet.gbps; .ref.gbps)})) as $p
			| {frame: $f,
			   jet_gbps: ($p | map(.jet.gbps) | stats),
			   ref_gbps: ($p | map(.ref.gbps) | stats),
			   ratio: ($p | map(.ratio) | stats),
			   target: (if $f == $target_frame then {ratio_at_least: $target_tput} else null end),
			   pairs: $p}
			| . + {pass: (if .target == null then null
				else .ratio.median != null and .ratio.median >= $target_tput end)}],
		pingpong: ($raw | pairs("pingpong"; $pp_frame)
			| map(. + {ratio_p50: ratio(.jet.rtt_us.p50; .ref.rtt_us.p50),
			           ratio_p99: ratio(.jet.rtt_us.p99; .ref.rtt_us.p99)}) as $p
			| {frame: $pp_frame,
			   roundtrips: $pp_n,
			   jet_p50_us: ($p | map(.jet.rtt_us.p50) | stats),
			   ref_p50_us: ($p | map(.ref.rtt_us.p50) | stats),
			   jet_p99_us: ($p | map(.jet.rtt_us.p99) | stats),
			   ref_p99_us: ($p | map(.ref.rtt_us.p99) | stats),
			   ratio_p50: ($p | map(.ratio_p50) | stats),
			   ratio_p99: ($p | map(.ratio_p99) | stats),
			   target: {ratio_p50_at_most: $target_rtt},
			   pairs: $p}
			| . + {pass: (.ratio_p50.median != null and .ratio_p50.median <= $target_rtt)}),
		# A = jet perf --proto rbs, B = tcp_ref (kernel TCP on loopback).
		rbs_vs_tcp: {
			throughput: ($raw | pairs("rbs_throughput"; $rbs_msg)
				| map({rep, rbs: .jet, tcp: .ref}
					| . + {ratio: ratio(.rbs.gbps; .tcp.gbps),
					       rbs_cpu_ns_per_byte: (.rbs | cpb),
					       tcp_cpu_ns_per_byte: (.tcp | cpb)}
					| . + {cpu_ratio: ratio(.rbs_cpu_ns_per_byte; .tcp_cpu_ns_per_byte)}) as $p
				| {msg: $rbs_msg,
				   rbs_gbps: ($p | map(.rbs.gbps) | stats),
				   tcp_gbps: ($p | map(.tcp.gbps) | stats),
				   ratio: ($p | map(.ratio) | stats),
				   rbs_cpu_ns_per_byte: ($p | map(.rbs_cpu_ns_per_byte) | stats),
				   tcp_cpu_ns_per_byte: ($p | map(.tcp_cpu_ns_per_byte) | stats),
				   cpu_ratio: ($p | map(.cpu_ratio) | stats),
				   target: {ratio_at_least: $target_rbs_tput},
				   pairs: $p}
				| . + {pass: (.ratio.median != null and .ratio.median >= $target_rbs_tput)}),
			pingpong: ($raw | pairs("rbs_pingpong"; $rbs_pp_msg)
				| map({rep, rbs: .jet, tcp: .ref}
					| . + {ratio_p50: ratio(.rbs.rtt_us.p50; .tcp.rtt_us.p50),
					       ratio_p99: ratio(.rbs.rtt_us.p99; .tcp.rtt_us.p99)}) as $p
				| {msg: $rbs_pp_msg,
				   roundtrips: $rbs_pp_n,
				   rbs_p50_us: ($p | map(.rbs.rtt_us.p50) | stats),
				   tcp_p50_us: ($p | map(.tcp.rtt_us.p50) | stats),
				   rbs_p99_us: ($p | map(.rbs.rtt_us.p99) | stats),
				   tcp_p99_us: ($p | map(.tcp.rtt_us.p99) | stats),
				   ratio_p50: ($p | map(.ratio_p50) | stats),
				   ratio_p99: ($p | map(.ratio_p99) | stats),
				   target: {ratio_p50_at_most: $target_rbs_rtt},
				   pairs: $p}
				| . + {pass: (.ratio_p50.median != null and .ratio_p50.median <= $target_rbs_rtt)})
		},
		# A = jet perf --proto tcp (the library TCP over the LAN), B = tcp_ref.
		tcp_vs_kernel: (if $tcp_on | not then {skipped: "BENCH_TCP=0"} else {
			throughput: [utcp_bulk($tcp_msg; $target_tcp_tput; $tcp_zc),
			             utcp_bulk($tcp_small_msg; $target_tcp_small_tput; false)],
			pingpong: ($raw | pairs("utcp_pingpong"; 1)
				| map({rep, user: .jet, kernel: .ref}
					| . + {ratio_p50: ratio(.user.rtt_us.p50; .kernel.rtt_us.p50),
					       ratio_p99: ratio(.user.rtt_us.p99; .kernel.rtt_us.p99)}) as $p
				| {msg: 1,
				   roundtrips: $rbs_pp_n,
				   user_p50_us: ($p | map(.user.rtt_us.p50) | stats),
				   kernel_p50_us: ($p | map(.kernel.rtt_us.p50) | stats),
				   user_p99_us: ($p | map(.user.rtt_us.p99) | stats),
				   kernel_p99_us: ($p | map(.kernel.rtt_us.p99) | stats),
				   ratio_p50: ($p | map(.ratio_p50) | stats),
				   ratio_p99: ($p | map(.ratio_p99) | stats),
				   target: {ratio_p50_at_most: $target_tcp_rtt},
				   pairs: $p}
				| . + {pass: (.ratio_p50.median != null and .ratio_p50.median <= $target_tcp_rtt)})
		} end),
		# kernel TCP through two TAP stations of a LAN / over a veth pair (bench/lan_tap.sh)
		lan_tap: $lantap[0],
		# user TCP over a TAP device to the kernel / kernel TCP over a veth pair (bench/tap_tcp.sh)
		tap_tcp: $taptcp[0],
		# raw frame rate of packet:, xdp:, udp: on veth / plain AF_PACKET (bench/links.sh)
		links: $links[0],
		# user TCP over xdp: / kernel TCP over the same veth (bench/xdp_tcp.sh)
		xdp_tcp: $xdptcp[0],
		# capturing to a file / not capturing (bench/capture.sh)
		capture: $capture[0],
		# the sweeps behind the plots (bench/sweep.sh)
		sweeps: {size: $ssize[0], loss: $sloss[0]},
		other: $extra
	}' "$raw" | jq -f "$HERE/plot/rtt_cdf.jq" >"$tmp/results.json"
mv "$tmp/results.json" "$OUT"

# --- tables ----------------------------------------------------------------
num() { [ "$1" = null ] && printf '%s' - || printf "%.${2}f" "$1"; }
verdict() { case $1 in true) echo PASS ;; false) echo MISS ;; *) echo - ;; esac; }

echo
echo "LAN raw throughput: jet perf / ring_ref, median of $REPS paired runs of ${SECS}s"
printf '  %6s  %10s  %10s  %-26s  %-8s  %s\n' frame "jet Gb/s" "ref Gb/s" "ratio median [min..max]" target result
jq -r '.throughput[] | [.frame, .jet_gbps.median, .ref_gbps.median, .ratio.median, .ratio.min,
	.ratio.max, (.target.ratio_at_least // "-"), .pass] | map(tostring) | @tsv' "$OUT" |
	while IFS=$'\t' read -r f jg rg rm rmin rmax tg pass; do
		[ "$tg" = - ] || tg=">= $tg"
		printf '  %6s  %10s  %10s  %-26s  %-8s  %s\n' "$f" "$(num "$jg" 2)" "$(num "$rg" 2)" \
			"$(num "$rm" 3) [$(num "$rmin" 3)..$(num "$rmax" 3)]" "$tg" "$(verdict "$pass")"
	done

echo
echo "$PP_FRAME-byte ping-pong round trip: jet perf / ring_ref, median of $REPS paired runs of $PP_N"
printf '  %6s  %10s  %10s  %-26s  %-8s  %s\n' "" "jet us" "ref us" "ratio median [min..max]" target result
jq -r '.pingpong | ["p50", .jet_p50_us.median, .ref_p50_us.median, .ratio_p50.median,
	.ratio_p50.min, .ratio_p50.max, "<= \(.target.ratio_p50_at_most)", .pass],
	["p99", .jet_p99_us.median, .ref_p99_us.median, .ratio_p99.median, .ratio_p99.min,
	.ratio_p99.max, "-", null] | map(tostring) | @tsv' "$OUT" |
	while IFS=$'\t' read -r q jv rv rm rmin rmax tg pass; do
		printf '  %6s  %10s  %10s  %-26s  %-8s  %s\n' "$q" "$(num "$jv" 3)" "$(num "$rv" 3)" \
			"$(num "$rm" 3) [$(num "$rmin" 3)..$(num "$rmax" 3)]" "$tg" "$(verdict "$pass")"
	done

echo
echo "RBS vs kernel TCP: jet perf --proto rbs / tcp_ref (127.0.0.1), median of $REPS paired runs"
printf '  %-22s  %10s  %10s  %-26s  %-8s  %s\n' "" rbs tcp "ratio median [min..max]" target result
jq -r '.rbs_vs_tcp | (.throughput | ["Gb/s, \(.msg) B msgs", .rbs_gbps.median, .tcp_gbps.median,
		.ratio.median, .ratio.min, .ratio.max, ">= \(.target.ratio_at_least)", .pass, 2],
	["CPU ns/byte, both ends", .rbs_cpu_ns_per_byte.median, .tcp_cpu_ns_per_byte.median,
		.cpu_ratio.median, .cpu_ratio.min, .cpu_ratio.max, "-", null, 3]),
	(.pingpong | ["ping-pong p50 us", .rbs_p50_us.median, .tcp_p50_us.median, .ratio_p50.median,
		.ratio_p50.min, .ratio_p50.max, "<= \(.target.ratio_p50_at_most)", .pass, 3],
	["ping-pong p99 us", .rbs_p99_us.median, .tcp_p99_us.median, .ratio_p99.median,
		.ratio_p99.min, .ratio_p99.max, "-", null, 3]) | map(tostring) | @tsv' "$OUT" |
	while IFS=$'\t' read -r what av bv rm rmin rmax tg pass dec; do
		printf '  %-22s  %10s  %10s  %-26s  %-8s  %s\n' "$what" "$(num "$av" "$dec")" \
			"$(num "$bv" "$dec")" "$(num "$rm" 3) [$(num "$rmin" 3)..$(num "$rmax" 3)]" "$tg" \
			"$(verdict "$pass")"
	done
echo "  (1-byte ping-pong, $RBS_PP_N round trips; both sides busy-poll; CPU is user+system of sender and receiver)"

echo
if jq -e '.tcp_vs_kernel.pingpong != null' "$OUT" >/dev/null 2>&1; then
	echo "User TCP vs kernel TCP: jet perf --proto tcp (LAN, MTU 65536) / tcp_ref (127.0.0.1), median of $REPS paired runs"
	printf '  %-26s  %10s  %10s  %-26s  %-8s  %s\n' "" user kernel "ratio median [min..max]" target result
	jq -r '.tcp_vs_kernel | (.throughput[] | ["Gb/s, \(.msg) B msgs\(if .zerocopy then " (zc)" else "" end)",
			.user_gbps.median, .kernel_gbps.median, .ratio.median, .ratio.min, .ratio.max,
			">= \(.target.ratio_at_least)", .pass, 2],
		["  CPU ns/byte, both ends", .user_cpu_ns_per_byte.median, .kernel_cpu_ns_per_byte.median,
			.cpu_ratio.median, .cpu_ratio.min, .cpu_ratio.max, "-", null, 3]),
		(.pingpong | ["ping-pong p50 us", .user_p50_us.median, .kernel_p50_us.median, .ratio_p50.median,
			.ratio_p50.min, .ratio_p50.max, "<= \(.target.ratio_p50_at_most)", .pass, 3],
		["ping-pong p99 us", .user_p99_us.median, .kernel_p99_us.median, .ratio_p99.median,
			.ratio_p99.min, .ratio_p99.max, "-", null, 3]) | map(tostring) | @tsv' "$OUT" |
		while IFS=$'\t' read -r what av bv rm rmin rmax tg pass dec; do
			printf '  %-26s  %10s  %10s  %-26s  %-8s  %s\n' "$what" "$(num "$av" "$dec")" \
				"$(num "$bv" "$dec")" "$(num "$rm" 3) [$(num "$rmin" 3)..$(num "$rmax" 3)]" "$tg" \
				"$(verdict "$pass")"
		done
	echo "  (zc: sent by reference, read in place; 1 KiB: copied both sides; ping-pong: 1 byte, $RBS_PP_N round trips, busy-poll)"
else
	echo "User TCP vs kernel TCP: skipped (BENCH_TCP=0)"
fi

echo
if jq -e '.lan_tap.ratio.median != null' "$OUT" >/dev/null 2>&1; then
	echo "Kernel TCP across the LAN through two jet lan tap stations / over a veth pair (iperf3), median of $REPS paired runs"
	printf '  %-22s  %10s  %10s  %-26s  %-8s  %s\n' "" "LAN" veth "ratio median [min..max]" target result
	jq -r '.lan_tap | ["Gb/s", .tap_gbps.median, .veth_gbps.median, .ratio.median, .ratio.min,
		.ratio.max, ">= \(.target.ratio_at_least)", .pass, 2],
		["ping RTT median us", .rtt_us.tap, .rtt_us.veth, .rtt_us.ratio, null, null, "-", null, 0]
		| map(tostring) | @tsv' "$OUT" |
		while IFS=$'\t' read -r what av bv rm rmin rmax tg pass dec; do
			printf '  %-22s  %10s  %10s  %-26s  %-8s  %s\n' "$what" "$(num "$av" "$dec")" \
				"$(num "$bv" "$dec")" "$(num "$rm" 3)$([ "$rmin" = null ] || echo " [$(num "$rmin" 3)..$(num "$rmax" 3)]")" \
				"$tg" "$(verdict "$pass")"
		done
	jq -r '.lan_tap | "  (the two tap processes: \(.tap_cpu_ns_per_byte.median * 1000 | round / 1000) CPU ns per byte; MTU \(.mtu), LAN MTU \(.lan_mtu))"' "$OUT"
else
	echo "Kernel TCP across the LAN through TAP stations: $(jq -r '.lan_tap | .skipped // "failed"' "$OUT")"
fi

echo
if jq -e '.tap_tcp.from_user.ratio.median != null' "$OUT" >/dev/null 2>&1; then
	echo "User TCP over TAP to a kernel peer / kernel TCP over a veth pair (iperf3, MTU 1500), median of $REPS paired runs"
	printf '  %-22s  %10s  %10s  %-26s  %-8s  %s\n' "" "user/tap" veth "ratio median [min..max]" target result
	jq -r '.tap_tcp | (["to user (forward)", .to_user], ["from user (-R, TSO)", .from_user])
		| [.[0], .[1].tap_gbps.median, .[1].veth_gbps.median, .[1].ratio.median, .[1].ratio.min,
		   .[1].ratio.max, ">= 0.5", (.[1].ratio.median >= 0.5)] | map(tostring) | @tsv' "$OUT" |
		while IFS=$'\t' read -r what av bv rm rmin rmax tg pass; do
			printf '  %-22s  %10s  %10s  %-26s  %-8s  %s\n' "$what" "$(num "$av" 2)" \
				"$(num "$bv" 2)" "$(num "$rm" 3) [$(num "$rmin" 3)..$(num "$rmax" 3)]" \
				"$tg" "$(verdict "$pass")"
		done
	jq -r '.tap_tcp | "  (jet host: \(.to_user.host_cpu_ns_per_byte.median * 1000 | round / 1000) CPU ns per byte receiving, \(.from_user.host_cpu_ns_per_byte.median * 1000 | round / 1000) sending)"' "$OUT"
else
	echo "User TCP over TAP to a kernel peer: $(jq -r '.tap_tcp | .skipped // "failed"' "$OUT")"
fi

echo
"$(dirname "$0")/links.sh" --print "$OUT"

echo
if jq -e '.xdp_tcp.offloads_off.ratio.median != null' "$OUT" >/dev/null 2>&1; then
	echo "User TCP over xdp: / kernel TCP over the same veth (iperf3, MTU 1500), median of $(jq -r '.xdp_tcp.offloads_off.pairs | length' "$OUT") paired runs"
	printf '  %-22s  %10s  %10s  %-26s  %-8s  %s\n' "" "user/xdp" kernel "ratio median [min..max]" target result
	jq -r '.xdp_tcp | (["offloads off", .offloads_off, true], ["offloads on", .offloads_on, false])
		| [.[0], .[1].xdp_gbps.median, .[1].kernel_gbps.median, .[1].ratio.median, .[1].ratio.min,
		   .[1].ratio.max, (if .[2] then ">= 1.0" else "(report)" end),
		   (if .[2] then (.[1].ratio.median >= 1.0 | tostring) else "-" end)] | map(tostring) | @tsv' "$OUT" |
		while IFS=$'\t' read -r what av bv rm rmin rmax tg pass; do
			printf '  %-22s  %10s  %10s  %-26s  %-8s  %s\n' "$what" "$(num "$av" 2)" \
				"$(num "$bv" 2)" "$(num "$rm" 3) [$(num "$rmin" 3)..$(num "$rmax" 3)]" \
				"$tg" "$([ "$pass" = - ] && echo - || verdict "$pass")"
		done
else
	echo "User TCP over xdp: $(jq -r '.xdp_tcp | .skipped // "failed"' "$OUT")"
fi

echo
if jq -e '.capture | to_entries | any(.value | type == "object" and has("ratio"))' "$OUT" >/dev/null 2>&1; then
	echo "Capture cost: jet perf --proto rbs on a LAN, capturing to a file / not, median of $(jq -r '[.capture[] | objects | select(has("pairs")) | .pairs | length] | max' "$OUT") paired runs per mode (file writes: $(jq -r '.capture.file_write_mbps' "$OUT") MB/s)"
	printf '  %-34s  %10s  %10s  %-26s  %9s  %-8s  %s\n' "" capturing without "ratio median [min..max]" "captured" target result
	jq -r '.capture | to_entries[] | select(.value | type == "object" and has("ratio"))
		| [.key, .value.with_gbps.median, .value.without_gbps.median, .value.ratio.median,
		   .value.ratio.min, .value.ratio.max, ((.value.captured_fraction.median // 1) * 100)] | map(tostring) | @tsv' "$OUT" |
		while IFS=$'\t' read -r mode av bv rm rmin rmax cf; do
			case $mode in
			dump) what="jet dump -w, whole frames" ;;
			dump_snap) what="jet dump -w --snaplen 128" ;;
			dump_10g) what="jet dump -w, whole, LAN at 10G" ;;
			wrap) what="capture:FILE/ on both stations" ;;
			*) what=$mode ;;
			esac
			tg="(report)"; res=-
			case $mode in
			dump_snap | dump_10g)
				tg=">= $(jq -r '.capture.target' "$OUT")"
				res=$(verdict "$(jq -r --arg m "$mode" '.capture[$m].ratio.median >= .capture.target' "$OUT")")
				;;
			esac
			printf '  %-34s  %10s  %10s  %-26s  %8s%%  %-8s  %s\n' "$what" "$(num "$av" 2)" "$(num "$bv" 2)" \
				"$(num "$rm" 3) [$(num "$rmin" 3)..$(num "$rmax" 3)]" "$(num "$cf" 0)" "$tg" "$res"
		done
else
	echo "Capture cost: $(jq -r '.capture | .skipped // "failed"' "$OUT")"
fi

# The sweeps (the plots' data), as the Markdown tables results.md has.
echo
"$HERE/report.sh" --sweeps "$OUT" | sed -e 's/^## //' -e '/^|---/d'

echo
echo "During the LAN runs other processes used ${other_pct}% of the CPU time, the hypervisor stole ${steal_pct}%."
if ((other_pct + steal_pct >= 10)); then
	echo "WARNING: a busy machine; look at [min..max] before trusting a median."
fi

# Channels (bench_chan): each measurement's ratio against its target, and
# the priority latencies.  A MISS is reported, it is not a failure.  Shown
# only when bench_chan ran and printed JSON (else it is listed below).
chan_summary() {
	local o a b rm rmin rmax tg pass
	o=$(jq -c 'first(.other[] | select(.name == "bench_chan" and has("output")
		and (.output | type) == "object") | .output) // empty' "$OUT")
	[ -n "$o" ] || return 0
	echo
	echo "Channels (bench_chan): medians of $(jq -r '.reps' <<<"$o") interleaved repetitions"
	printf '  %-38s  %-24s  %-26s  %-8s  %s\n' "" "A / B" "ratio median [min..max]" target result
	if jq -e '.placement | type == "object"' >/dev/null 2>&1 <<<"$o"; then
		read -r a b rm rmin rmax tg pass < <(jq -r '.placement | [.place_gbps.median,
			.memcpy_gbps.median, .ratio.median, .ratio.min, .ratio.max, .target.ratio_at_least,
			.pass] | map(tostring) | join(" ")' <<<"$o")
		printf '  %-38s  %-24s  %-26s  %-8s  %s\n' "placement, 64 KiB: jet_rx_place/memcpy" \
			"$(num "$a" 2) / $(num "$b" 2) GB/s" \
			"$(num "$rm" 3) [$(num "$rmin" 3)..$(num "$rmax" 3)]" ">= $tg" "$(verdict "$pass")"
	fi
	if jq -e '.demux | type == "object"' >/dev/null 2>&1 <<<"$o"; then
		read -r a b rm rmin rmax tg pass < <(jq -r '.demux | [.ns_per_frame_65536.median,
			.ns_per_frame_1.median, .ratio.median, .ratio.min, .ratio.max, .target.ratio_at_most,
			.pass] | map(tostring) | join(" ")' <<<"$o")
		printf '  %-38s  %-24s  %-26s  %-8s  %s\n' "demux per frame: 65536 ch (1..N) / 1" \
			"$(num "$a" 1) / $(num "$b" 1) ns" \
			"$(num "$rm" 3) [$(num "$rmin" 3)..$(num "$rmax" 3)]" "<= $tg" "$(verdict "$pass")"
		if jq -e '.demux.ratio_hashed | type == "object"' >/dev/null 2>&1 <<<"$o"; then
			read -r a rm rmin rmax < <(jq -r '.demux | [.ns_per_frame_65536_hashed.median,
				.ratio_hashed.median, .ratio_hashed.min, .ratio_hashed.max] | map(tostring)
				| join(" ")' <<<"$o")
			printf '  %-38s  %-24s  %-26s  %-8s  %s\n' "  the same, ids spread (hashed)" \
				"$(num "$a" 1) / $(num "$b" 1) ns" \
				"$(num "$rm" 3) [$(num "$rmin" 3)..$(num "$rmax" 3)]" "-" "-"
		fi
	fi
	if jq -e '.latency | type == "object"' >/dev/null 2>&1 <<<"$o"; then
		echo "  priority: p99 one-way latency in us, jet perf --rate 1G --frame 9000 --latency, each run:"
		jq -r '.latency | def us: map(if . == null then "-" else (. * 10 | round) / 10 | tostring end)
			| join(", ");
			"    probes in class 7, with priority      \(.with_prio.probe_p99_us | us)",
			"    bulk (class 0) in those runs          \(.with_prio.bulk_p99_us | us)",
			"    probes in class 0, beside the bulk    \(.without_prio.probe_p99_us | us)"' <<<"$o"
	fi
}
chan_summary

# Other benchmarks: an array of flat objects (or an object holding one) is
# drawn as a table, anything else is shown as compact JSON or text.
# bench_chan's JSON was shown above.
jq -r '
	def cell: if type == "number" then
			(if . == floor then tostring else (. * 1000 | round) / 1000 | tostring end)
		elif type == "string" then . else tojson end;
	def pad($n): if $n > length then . + (" " * ($n - length)) else . end;
	def rows_like: type == "array" and length > 0
		and all(.[]; type == "object" and all(.[]; type != "object" and type != "array"));
	def table: . as $rows
		| (reduce ($rows[] | keys_unsorted[]) as $k ([]; if any(.[]; . == $k) then . else . + [$k] end)) as $cols
		| [$cols[] as $c | ([$c] + [$rows[] | .[$c] | cell] | map(length) | max)] as $w
		| ([range($cols | length) as $i | $cols[$i] | pad($w[$i])] | "  " + join("  ") | sub(" +$"; "")),
		  ($rows[] as $r | [range($cols | length) as $i | $r[$cols[$i]] | cell | pad($w[$i])]
			| "  " + join("  ") | sub(" +$"; ""));
	.other[] | select(.name != "bench_chan" or .exit or (.output | type) != "object")
	| "", "\(.name)" + (if .exit then ": FAILED (exit \(.exit))" else "" end),
	if .exit then empty
	elif has("text") then .text | rtrimstr("\n") | split("\n") | map("  " + .) | join("\n")
	elif (.output | rows_like) then .output | table
	elif (.output | type) == "object" and ([.output[] | select(rows_like)] | length) == 1 then
		(.output | to_entries | map(select(.value | rows_like | not))
			| if length > 0 then "  " + (map("\(.key)=\(.value | cell)") | join("  ")) else empty end),
		(.output[] | select(rows_like) | table)
	else "  " + (.output | tojson) end' "$OUT"

# BENCH_RESULTS (bench/results/, not committed): results.json, results.md
# (bench/report.sh) and the PNG plots (bench/plot.sh, gnuplot).
echo
mkdir -p "$RESULTS"
cp "$OUT" "$RESULTS/results.json"
rm -f "$RESULTS"/*.png
if "$HERE/report.sh" "$RESULTS/results.json" >"$RESULTS/results.md.tmp"; then
	mv "$RESULTS/results.md.tmp" "$RESULTS/results.md"
else
	rm -f "$RESULTS/results.md.tmp"
	failed+=("report.sh")
fi
"$HERE/plot.sh" "$RESULTS/results.json" "$RESULTS" || failed+=("plot.sh")
echo "results: $OUT"
echo "results, tables and plots: $RESULTS/: $(cd "$RESULTS" && ls results.json results.md *.png 2>/dev/null | tr '\n' ' ')"
if [ ${#failed[@]} -gt 0 ]; then
	echo "bench: failed: ${failed[*]}" >&2
	exit 1
fi
