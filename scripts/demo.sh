#!/usr/bin/env bash
# The demo, run by `make demo`: one table in the manner of the SIGCOMM '94
# Jetstream paper's comparison, printed twice (the emulated LAN at full speed,
# then at --rate 1G, the original Jetstream's speed).  Builds nothing: it runs
# $BUILD/jet, $BUILD/bench/tcp_ref and $BUILD/bench/ring_ref as they are.
# docs/demo.md says what every row and column means and how it is measured.
#
#   rows     RBS                         jet perf --proto rbs, private LAN
#            user-space TCP              jet perf --proto tcp --zerocopy, private LAN
#            kernel TCP across the LAN   iperf3, and bench/tcp_ref's ping-pong
#                                        (--serve in one namespace, --connect from
#                                        the other; --block: blocking calls, which
#                                        leave the CPUs to the tap stations)
#                                        between two network namespaces through two
#                                        `jet lan tap` stations (root, /dev/net/tun)
#            kernel TCP over loopback    bench/tcp_ref: the reference of every ratio
#            shared-memory ring          bench/ring_ref: the least any shared-memory
#                                        transport can do
#   columns  throughput (Gb/s, 128 KiB messages), 1-byte round trip (p50, us),
#            CPU per byte (ns/B, user+system of every process of the run), each
#            with its ratio to kernel TCP over loopback measured in the same
#            repetition (the median of the per-repetition ratios)
#
# Every measurement runs DEMO_REPS times (the order of the steps reversed in
# every other repetition) and the table shows medians: this 2-vCPU machine's
# speed moves by 2x from one second to the next (docs/bench.md).
#
# The kernel-across-the-LAN row, as root:
#   full speed  netns $NS-full-a  tap 198.18.94.1 =LAN $NS-full (MTU 65536)= tap 198.18.94.2  netns $NS-full-b
#   at 1G       netns $NS-1g-a    tap 198.18.94.3 =LAN $NS-1g (--rate 1G)=   tap 198.18.94.4  netns $NS-1g-b
# ($NS is jt-demo-PID; the four `jet lan tap` processes run in this namespace
# and forward the frames; iperf3 -s and tcp_ref --serve run in -b).  Without
# root, /dev/net/tun, ip or iperf3 the row says why it is missing and
# the rest still runs.  Namespaces, LANs and servers are removed by a trap,
# also on failure or Ctrl-C.
#
# Env:    BUILD (build), DEMO_SECONDS (1: each throughput run), DEMO_REPS (3),
#         DEMO_PINGPONG_N (1000 round trips per ping-pong run, at least 100; the
#         references leave the first half, at most 1000, out as warm-up),
#         DEMO_RATE (1G), DEMO_TIMEOUT (30 s
#         per program run), DEMO_KERNEL_LAN (1; 0 leaves the row out, saying so),
#         DEMO_BUDGET (60: a repetition that would end later than this many seconds
#         after the first began is not started; at least one always runs)
# Output: the tables on stdout; progress on stderr (one line kept updated when
#         stderr is a terminal, plain lines otherwise)
# Exit:   0 when every measurement ran (a missing kernel-across-the-LAN row is
#         not a failure), 1 when a program failed (its stderr is printed after
#         the tables), 2 on bad settings.
set -euo pipefail
export LC_ALL=C

BUILD=${BUILD:-build}
SECS=${DEMO_SECONDS:-1}
REPS=${DEMO_REPS:-3}
PP_N=${DEMO_PINGPONG_N:-1000}
RATE=${DEMO_RATE:-1G}
TIMEOUT=${DEMO_TIMEOUT:-30}
KLAN=${DEMO_KERNEL_LAN:-1}
BUDGET=${DEMO_BUDGET:-60}
JET=$BUILD/jet
TCPREF=$BUILD/bench/tcp_ref
RINGREF=$BUILD/bench/ring_ref
MTU=65536     # every LAN of the demo: the LAN's largest frame
MSG=131072    # throughput message size: jet perf's, tcp_ref's and iperf3's default
RING_FRAME=65536
RING_PP_FRAME=8 # ring_ref's smallest frame (it carries a sequence number)
NET=198.18.94 # the kernel-across-the-LAN row's addresses (no other test uses it)
PP_PORT=5202  # tcp_ref --serve's port (iperf3: 5201), in the namespaces

bad() { echo "demo: $*" >&2; exit 2; }
[[ $REPS =~ ^[1-9][0-9]*$ ]] || bad "DEMO_REPS must be a positive integer"
[[ $PP_N =~ ^[0-9]+$ ]] && ((PP_N >= 100)) || bad "DEMO_PINGPONG_N must be at least 100"
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || bad "DEMO_TIMEOUT must be a positive integer (seconds)"
[[ $SECS =~ ^[0-9]*\.?[0-9]+$ ]] && [[ ! $SECS =~ ^[0.]+$ ]] || bad "DEMO_SECONDS must be a positive number"
[[ $KLAN =~ ^[01]$ ]] || bad "DEMO_KERNEL_LAN must be 0 or 1"
[[ $BUDGET =~ ^[1-9][0-9]*$ ]] || bad "DEMO_BUDGET must be a positive integer (seconds)"
# the medium's rate in bit/s, for the table's title and "of the line"
RATE_BPS=$(awk -v r="$RATE" 'BEGIN {
	if (r !~ /^[0-9]+(\.[0-9]+)?[kKmMgG]?$/) exit 1
	m = 1; s = substr(r, length(r))
	if (s ~ /[kK]/) m = 1e3; else if (s ~ /[mM]/) m = 1e6; else if (s ~ /[gG]/) m = 1e9
	v = (s ~ /[0-9]/ ? r : substr(r, 1, length(r) - 1)) * m
	if (v < 1e6) exit 1
	printf "%.0f", v }') || bad "DEMO_RATE must be a rate of at least 1M, e.g. 1G or 100M"
# iperf3 takes whole seconds only (and -t 0 would run for ever), and runs at
# least 2 s: kernel TCP's start across the LAN (a 100 us round trip, a few
# losses as it fills the LAN's rings) would weigh too much in one second.
IPERF_SECS=$(awk -v s="$SECS" 'BEGIN { t = int(s + 0.999); print (t < 2 ? 2 : t) }')

for f in "$JET" "$TCPREF" "$RINGREF"; do
	[ -x "$f" ] || { echo "demo: $f not found: build first (make demo builds it)" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "demo: needs jq (scripts/deps.sh installs it)" >&2; exit 1; }

# --- progress ----------------------------------------------------------------
TTY=0
[ -t 2 ] && TTY=1
STEP=0
NSTEPS=0
progress() {
	STEP=$((STEP + 1))
	if [ $TTY = 1 ]; then
		printf '\r\033[K  demo %3ds  [%d/%d]  %s ' "$SECONDS" "$STEP" "$NSTEPS" "$*" >&2
	else
		printf 'demo: %3ds [%d/%d] %s\n' "$SECONDS" "$STEP" "$NSTEPS" "$*" >&2
	fi
}
progress_end() { [ $TTY = 0 ] || printf '\r\033[K' >&2; }
note() { progress_end; echo "demo: $*" >&2; }

# --- cleanup -----------------------------------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/jet-demo.XXXXXX")
NS=jt-demo-$$
CUR=""          # the program run in progress (its `timeout`)
BG=()           # servers and tap stations (their `timeout`)
NETNS=()        # namespaces created
LANS=()         # LANs created
cleanup() {
	local p
	trap - EXIT INT TERM
	progress_end
	for p in $CUR "${BG[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $CUR "${BG[@]}"; do wait "$p" 2>/dev/null || true; done
	for p in "${NETNS[@]}"; do ip netns del "$p" 2>/dev/null || true; done
	for p in "${LANS[@]}"; do "$JET" lan destroy --force "$p" >/dev/null 2>&1 || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT
trap 'note "terminated"; exit 143' TERM

# Bound of every background server: all the steps and more.
BG_LIMIT=$((REPS * 20 * TIMEOUT + 60))

# --- one program run ---------------------------------------------------------
# run_json WHAT CMD...: runs CMD under DEMO_TIMEOUT in the background (so that a
# signal reaches the trap at once) and leaves the last line of its stdout that
# starts with '{' in $json.  On failure it appends WHAT, CMD and CMD's stderr to
# the failures and returns 1.
run_json() {
	local what=$1 rc=0 why
	shift
	timeout --kill-after=2 "$TIMEOUT" "$@" </dev/null >"$tmp/out" 2>"$tmp/err" &
	CUR=$!
	wait "$CUR" || rc=$?
	CUR=""
	# one object (iperf3 -J prints it over many lines), else the last line that is one
	if jq -s -e 'length == 1 and (.[0] | type == "object")' "$tmp/out" >/dev/null 2>&1; then
		json=$(jq -c . "$tmp/out")
	else
		json=$(grep '^{' "$tmp/out" | tail -n 1 || true)
	fi
	# (iperf3 -J can exit 0 with {"error": ...})
	if [ $rc -eq 0 ] && jq -e 'type == "object" and (has("error") | not)' >/dev/null 2>&1 <<<"$json"; then
		return 0
	fi
	why="exit $rc"
	[ $rc -eq 124 ] && why="timed out after ${TIMEOUT}s"
	[ $rc -eq 0 ] && why="no JSON object on stdout"
	[ $rc -eq 0 ] && [ -n "$json" ] && why="it reports an error"
	{
		echo "$what failed ($why): $*"
		{
			tail -n 8 "$tmp/err"
			jq -r '.error // empty' "$tmp/out" 2>/dev/null || true # iperf3 -J says why there
		} | sed 's/^/  | /'
	} >>"$tmp/failures"
	return 1
}

# rec TABLE ROW REP METRIC VALUE: one figure (null when the run gave none).
rec() {
	jq -nc --arg t "$1" --arg row "$2" --argjson rep "$3" --arg m "$4" --argjson v "${5:-null}" \
		'{t: $t, row: $row, rep: $rep, m: $m, v: $v}' >>"$tmp/runs.jsonl"
}
# From a jet perf / tcp_ref / ring_ref object: CPU ns per byte of both ends
# (cpu_ns_per_byte, else computed from the two CPU times when both are there).
CPB='.cpu_ns_per_byte // (if (.bytes // 0) > 0 and .sender_cpu_s != null
	and .receiver_cpu_s != null then (.sender_cpu_s + .receiver_cpu_s) * 1e9 / .bytes
	else null end)'

# --- the kernel-across-the-LAN row: two LANs, four namespaces ------------------
KLAN_WHY=""
declare -A TAPPID=() # "TABLE 0|1" -> pid of that jet lan tap (for its CPU time)

# bg_start CMD...: a background server, bounded, killed by the cleanup.
bg_start() {
	timeout --kill-after=2 "$BG_LIMIT" "$@" </dev/null &
	BG+=($!)
}

# klan_setup TABLE I LAN_OPTS...: the namespaces $NS-TABLE-a and -b, the LAN
# $NS-TABLE, a `jet lan tap` station in each namespace with 198.18.94.(I+1) and
# .(I+2), and the servers in -b.  Returns 1 with KLAN_WHY set when it cannot.
klan_setup() {
	local t=$1 i=$2 x y lan=$NS-$1 n tap
	shift 2
	x=$NS-$t-a y=$NS-$t-b
	for n in "$x" "$y"; do
		if ! ip netns add "$n" 2>"$tmp/err"; then
			KLAN_WHY="cannot create a network namespace: $(head -n 1 "$tmp/err")"
			return 1
		fi
		NETNS+=("$n")
		ip -n "$n" link set lo up
	done
	if ! "$JET" lan create "$lan" --mtu "$MTU" "$@" >/dev/null 2>"$tmp/err"; then
		KLAN_WHY="jet lan create failed: $(head -n 1 "$tmp/err")"
		return 1
	fi
	LANS+=("$lan")
	for n in 0 1; do # station n: 198.18.94.(i+n+1) in $x (0) or $y (1)
		tap=jtd$$$t$n
		bg_start "$JET" lan tap "$lan" --ifname "${tap:0:15}" --station "$n" \
			--ip "$NET.$((i + n + 1))/24" --netns "$([ $n = 0 ] && echo "$x" || echo "$y")" \
			>"$tmp/tap-$t$n.out" 2>"$tmp/tap-$t$n.err"
		TAPPID["$t $n"]=${BG[-1]}
	done
	for _ in $(seq 100); do
		grep -q station "$tmp/tap-${t}0.out" && grep -q station "$tmp/tap-${t}1.out" && break
		sleep 0.05
	done
	for n in 0 1; do
		if ! grep -q station "$tmp/tap-$t$n.out"; then
			KLAN_WHY="jet lan tap did not start: $(head -n 1 "$tmp/tap-$t$n.err")"
			return 1
		fi
		# the jet process itself (the child of its `timeout`), whose CPU time counts
		TAPPID["$t $n"]=$(cat "/proc/${TAPPID["$t $n"]}/task/${TAPPID["$t $n"]}/children" 2>/dev/null |
			awk '{ print $1 }')
	done
	bg_start ip netns exec "$y" iperf3 -s >/dev/null 2>"$tmp/iperf3-$t.err"
	bg_start ip netns exec "$y" "$TCPREF" --block --serve "$NET.$((i + 2)):$PP_PORT" >/dev/null 2>"$tmp/pp-$t.err"
	for _ in $(seq 100); do
		if [ "$(ip netns exec "$y" ss -Hltn 2>/dev/null | grep -cE ":(5201|$PP_PORT) ")" -ge 2 ]; then
			# resolve ARP now, not in the first measurement
			ip netns exec "$x" ping -c 1 -W 2 "$NET.$((i + 2))" >/dev/null 2>&1 || true
			return 0
		fi
		sleep 0.05
	done
	KLAN_WHY="iperf3 -s or tcp_ref --serve did not start: $(cat "$tmp/iperf3-$t.err" "$tmp/pp-$t.err" | head -n 1)"
	return 1
}

# CPU ticks (user + system) of the two tap stations of TABLE.
tap_ticks() {
	local p s=0
	for p in "${TAPPID["$1 0"]}" "${TAPPID["$1 1"]}"; do
		[ -n "$p" ] && [ -r "/proc/$p/stat" ] || { echo null; return; }
		s=$((s + $(sed 's/.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }')))
	done
	echo "$s"
}
HZ=$(getconf CLK_TCK)

if [ "$KLAN" = 0 ]; then
	KLAN_WHY="left out (DEMO_KERNEL_LAN=0)"
elif [ "$(id -u)" -ne 0 ]; then
	KLAN_WHY="needs root (network namespaces, TAP devices)"
elif [ ! -c /dev/net/tun ]; then
	KLAN_WHY="no /dev/net/tun (TAP devices)"
else
	for c in ip iperf3 ss; do
		command -v "$c" >/dev/null || { KLAN_WHY="needs $c (scripts/deps.sh installs it)"; break; }
	done
fi
if [ -z "$KLAN_WHY" ]; then
	echo "demo: setting up the kernel-across-the-LAN row: namespaces and LANs $NS-*" >&2
	klan_setup full 0 && klan_setup 1g 2 --rate "$RATE" || true
fi

# --- the measurements --------------------------------------------------------
# step TABLE ROW KIND REP: one run.  TABLE full|1g, ROW rbs|utcp|klan|tcp_ref|ring,
# KIND t (throughput) | p (ping-pong).
declare -A LABEL=([rbs]="RBS" [utcp]="user-space TCP" [klan]="kernel TCP across the LAN"
	[tcp_ref]="kernel TCP over loopback" [ring]="shared-memory ring")
step() {
	local t=$1 row=$2 k=$3 rep=$4 a=() t0 t1 v what
	what="${LABEL[$row]}, $([ "$k" = t ] && echo throughput || echo 1-byte round trips)$([ "$t" = full ] || echo " at $RATE")"
	progress "repetition $rep/$REPS: $what"
	case $row in
	rbs | utcp)
		a=("$JET" perf --proto "$([ "$row" = rbs ] && echo rbs || echo tcp)" --mtu "$MTU")
		[ "$t" = full ] || a+=(--rate "$RATE")
		if [ "$k" = t ]; then
			[ "$row" = utcp ] && a+=(--zerocopy)
			a+=(-l "$MSG" -t "$SECS" --json)
		else
			a+=(--pingpong -l 1 -n "$PP_N" --json)
		fi
		;;
	tcp_ref)
		if [ "$k" = t ]; then a=("$TCPREF" -l "$MSG" -t "$SECS" --json); else
			a=("$TCPREF" --pingpong -l 1 -n "$PP_N" --json); fi
		;;
	ring)
		if [ "$k" = t ]; then a=("$RINGREF" --frame "$RING_FRAME" -t "$SECS" --json); else
			a=("$RINGREF" --pingpong --frame "$RING_PP_FRAME" -n "$PP_N" --json); fi
		;;
	klan)
		local x=$NS-$t-a i=0
		[ "$t" = full ] || i=2
		if [ "$k" = t ]; then
			t0=$(tap_ticks "$t")
			if run_json "$what" ip netns exec "$x" iperf3 -c "$NET.$((i + 2))" \
				-t "$IPERF_SECS" -J --connect-timeout 5000; then
				t1=$(tap_ticks "$t")
				# iperf3's CPU (both ends, percent of the test's length) and the two
				# tap stations' (clock ticks)
				v=$(jq -c --argjson t0 "$t0" --argjson t1 "$t1" --argjson hz "$HZ" '.end
					| (.sum_received.bytes // 0) as $b
					| {gbps: (if .sum_received.bits_per_second then .sum_received.bits_per_second / 1e9
						else null end),
					   cpu: (if $b > 0 and $t0 != null and $t1 != null then
						(((.cpu_utilization_percent.host_total // 0) + (.cpu_utilization_percent.remote_total // 0))
						 / 100 * (.sum_sent.seconds // 0) + ($t1 - $t0) / $hz) * 1e9 / $b else null end)}' \
					<<<"$json" || echo '{}')
				rec "$t" klan "$rep" gbps "$(jq '.gbps' <<<"$v")"
				rec "$t" klan "$rep" cpu "$(jq '.cpu' <<<"$v")"
			fi
		elif run_json "$what" ip netns exec "$x" "$TCPREF" --block --pingpong -l 1 -n "$PP_N" \
			--connect "$NET.$((i + 2)):$PP_PORT" --json; then
			rec "$t" klan "$rep" rtt "$(jq '.rtt_us.p50 // null' <<<"$json")"
		fi
		return 0
		;;
	esac
	if run_json "$what" "${a[@]}"; then
		if [ "$k" = t ]; then
			rec "$t" "$row" "$rep" gbps "$(jq '.gbps // null' <<<"$json")"
			rec "$t" "$row" "$rep" cpu "$(jq "$CPB" <<<"$json")"
			# the LAN's settings as jet perf reports them (for the titles)
			[ -e "$tmp/lan-$t" ] || jq -c '.lan // empty' <<<"$json" >"$tmp/lan-$t"
		else
			rec "$t" "$row" "$rep" rtt "$(jq '.rtt_us.p50 // null' <<<"$json")"
		fi
	fi
}

: >"$tmp/runs.jsonl"
: >"$tmp/failures"
STEPS=()
for row in rbs utcp klan tcp_ref ring; do
	[ "$row" != klan ] || [ -z "$KLAN_WHY" ] || continue
	STEPS+=("full $row t" "full $row p")
done
for row in rbs utcp klan; do
	[ "$row" != klan ] || [ -z "$KLAN_WHY" ] || continue
	STEPS+=("1g $row t" "1g $row p")
done
NSTEPS=$((${#STEPS[@]} * REPS))
echo "demo: $REPS repetition$([ "$REPS" = 1 ] || echo s) of ${#STEPS[@]} runs (throughput ${SECS}s, $PP_N round trips)" >&2
# How busy the machine was besides the demo (as bench/run.sh reports it): of all
# CPUs, in clock ticks, cpu_ticks prints "busy steal total" from /proc/stat,
# own_ticks the CPU time of this script, its finished children and its servers
# and tap stations still running (and their children).
cpu_ticks() { awk '$1 == "cpu" { print $2+$3+$4+$7+$8, $9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat; }
pid_ticks() { # PID [children too]: utime+stime (+ cutime+cstime)
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null |
		awk -v c="${2:-0}" '{ t = $12 + $13 + (c ? $14 + $15 : 0) } END { print t + 0 }'
}
own_ticks() {
	local t p c
	t=$(pid_ticks $$ 1)
	for p in "${BG[@]}"; do
		for c in "$p" $(cat "/proc/$p/task/$p/children" 2>/dev/null); do
			t=$((t + $(pid_ticks "$c")))
		done
	done
	echo "$t"
}
read -r busy0 steal0 total0 < <(cpu_ticks)
own0=$(own_ticks)

# A repetition that would end past DEMO_BUDGET seconds (judging by the last
# one) is not started: on a busy machine the demo shows fewer runs, in time.
t_start=$SECONDS
DONE=0
for ((rep = 1; rep <= REPS; rep++)); do
	t_rep=$SECONDS
	if ((rep % 2)); then
		for s in "${STEPS[@]}"; do step $s "$rep"; done
	else
		for ((j = ${#STEPS[@]} - 1; j >= 0; j--)); do step ${STEPS[j]} "$rep"; done
	fi
	DONE=$rep
	if ((rep < REPS && SECONDS - t_start + (SECONDS - t_rep) > BUDGET)); then
		note "a busy machine: stopping after $rep of $REPS repetitions (DEMO_BUDGET=${BUDGET}s)"
		break
	fi
done
progress_end
read -r busy1 steal1 total1 < <(cpu_ticks)
own1=$(own_ticks)
ticks=$((total1 - total0 > 0 ? total1 - total0 : 1))
other_pct=$(((busy1 - busy0 - (own1 - own0)) * 100 / ticks))
((other_pct >= 0)) || other_pct=0
steal_pct=$(((steal1 - steal0) * 100 / ticks))

# --- the tables --------------------------------------------------------------
# Per TABLE, ROW, METRIC: the median over the repetitions and the median of the
# per-repetition ratios to tcp_ref (full) of the same repetition.
jq -s -c '
	def median: map(select(. != null)) | sort | if length == 0 then null
		elif length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	(map(select(.t == "full" and .row == "tcp_ref")) | map({key: "\(.m) \(.rep)", value: .v})
		| from_entries) as $ref
	| group_by([.t, .row, .m]) | map({key: "\(.[0].t) \(.[0].row) \(.[0].m)", value: {
		value: (map(.v) | median),
		ratio: (map(if .v == null or ($ref["\(.m) \(.rep)"] // 0) == 0 then null
			else .v / $ref["\(.m) \(.rep)"] end) | median)}}) | from_entries' \
	"$tmp/runs.jsonl" >"$tmp/table.json"

# fmt X: about three significant digits; "-" for null
fmt() {
	[ "$1" = null ] && { printf -- -; return; }
	awk -v x="$1" 'BEGIN { a = x < 0 ? -x : x
		if (a >= 100) printf "%.0f", x; else if (a >= 10) printf "%.1f", x
		else if (a >= 1) printf "%.2f", x; else if (a >= 0.01) printf "%.3f", x
		else printf "%.2g", x }'
}
# cell TABLE ROW METRIC: "value  ratio"; "failed" when every run failed, "n/a"
# when the runs gave no such figure
cell() {
	local v r
	read -r v r < <(jq -r --arg k "$1 $2 $3" 'if .[$k] == null then "failed -"
		else "\(.[$k].value // "n/a") \(.[$k].ratio // "-")" end' "$tmp/table.json")
	[[ $v =~ ^[-0-9] ]] && v=$(fmt "$v")
	[[ $r =~ ^[0-9] ]] && r=$(fmt "$r")
	printf '%8s  %6s' "$v" "$r"
}
ROWFMT='  %-34s %s   %s   %s\n'
header() {
	printf '  %-34s %16s   %16s   %16s\n' "" throughput "1-byte RTT p50" "CPU per byte"
	# µ is two bytes: one more column of padding
	printf '  %-34s %8s  %6s   %9s  %6s   %8s  %6s\n' "" Gb/s ratio µs ratio ns/B ratio
}
row() { # TABLE ROW LABEL
	printf "$ROWFMT" "$3" "$(cell "$1" "$2" gbps)" "$(cell "$1" "$2" rtt)" "$(cell "$1" "$2" cpu)"
}
lanmtu() { jq -r '.mtu // empty' "$tmp/lan-$1" 2>/dev/null || true; }
rate_words() { awk -v b="$RATE_BPS" 'BEGIN { if (b >= 1e9) printf "%g Gb/s", b / 1e9; else printf "%g Mb/s", b / 1e6 }'; }

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo
echo "Jetstream: user-space protocols and the kernel's TCP on this machine"
echo "($(nproc) CPUs, ${cpu_model:-unknown CPU}, Linux $(uname -r); median of $DONE run$([ "$DONE" = 1 ] || echo s) of each)"
echo
echo "1. At full speed: the emulated LAN with no rate limit, MTU ${MTU}$(m=$(lanmtu full); [ -z "$m" ] || [ "$m" = "$MTU" ] || echo " (jet perf says $m)")"
header
row full rbs "RBS"
row full utcp "user-space TCP (this library)"
if [ -z "$KLAN_WHY" ]; then row full klan "kernel TCP across the LAN (2 TAPs)"
else printf '  %-34s missing: %s\n' "kernel TCP across the LAN (2 TAPs)" "$KLAN_WHY"; fi
row full tcp_ref "kernel TCP over loopback  [ref]"
row full ring "shared-memory ring (ring_ref)"
echo
echo "2. At $(rate_words): the same LAN at --rate $RATE$([ "$RATE_BPS" = 1000000000 ] && echo ", the original Jetstream's speed")"
header
row 1g rbs "RBS"
row 1g utcp "user-space TCP (this library)"
if [ -z "$KLAN_WHY" ]; then row 1g klan "kernel TCP across the LAN (2 TAPs)"
else printf '  %-34s missing: %s\n' "kernel TCP across the LAN (2 TAPs)" "$KLAN_WHY"; fi
printf '  %-34s %s\n' "kernel TCP over loopback  [ref]" "no medium, nothing to slow down: its figures are table 1's"
printf '  %-34s %s\n' "shared-memory ring (ring_ref)" "no medium: see table 1"
line=""
for r in rbs utcp klan; do
	v=$(jq -r --arg k "1g $r gbps" '.[$k].value // null' "$tmp/table.json")
	[ "$v" = null ] && continue
	line+="${line:+, }${LABEL[$r]} $(awk -v v="$v" -v b="$RATE_BPS" 'BEGIN { printf "%.0f%%", v * 1e11 / b }')"
done
[ -z "$line" ] || echo "  Of the $(rate_words) line: $line."
echo
echo "Ratios are to kernel TCP over loopback [ref] (in both tables its table-1 figures, paired"
echo "run by run): throughput above 1 is faster, RTT and CPU below 1 are cheaper."
echo "Throughput: ${SECS} s (iperf3: ${IPERF_SECS} s) of 128 KiB messages; user-space TCP sends by reference"
echo "and reads in place (--zerocopy), the kernel rows use send/recv (iperf3, tcp_ref).  RTT: $PP_N"
echo "1-byte round trips, both ends busy-polling but across the LAN (ring_ref: its smallest frame, 8 bytes)."
if [ -z "$KLAN_WHY" ]; then
	echo "Across the LAN the RTT is tcp_ref's between the namespaces, with blocking calls: spinning"
	echo "ends would take the CPUs the two tap stations need (docs/demo.md)."
fi
echo "CPU per byte: user+system CPU time of every process of the run (both ends; across the"
echo "LAN also the two jet lan tap stations) per byte delivered.  How: docs/demo.md"
echo "During the runs other processes used ${other_pct}% of the CPU time, the hypervisor stole ${steal_pct}%."
if ((other_pct + steal_pct >= 10)); then
	echo "WARNING: a busy machine.  Both ends of every run busy-poll, so the figures (the round"
	echo "trips most) say more about the moment than about Jetstream: run it on a quiet machine."
fi
echo "($SECONDS s)"

if [ -s "$tmp/failures" ]; then
	echo >&2
	echo "demo: some runs failed:" >&2
	cat "$tmp/failures" >&2
	exit 1
fi
exit 0
