#!/usr/bin/env bash
# Capture cost (issue 15: capturing to a file costs at most 20% throughput):
# jet perf --proto rbs between two stations of an emulated LAN, with a
# capture (A) and without (B), A/B interleaved in the same run.
#
#     jet perf -s (station 1) <== lan:L ==> jet perf -c --to 1 (station 0)
#     dump:      jet dump lan:L -w FILE         (a monitor: no station)
#     dump_snap: jet dump lan:L -w FILE --snaplen 128 (headers: tcpdump -s 128)
#     dump_10g:  jet dump lan:L10 -w FILE, whole frames, on a LAN whose medium
#                runs at 10 Gbit/s (--rate 10G: a NIC's speed, which a file
#                can take; the unlimited LAN moves frames at memory speed)
#     wrap:      both stations on capture:FILE/lan:L (each station's own
#                frames, in and out, none lost)
#     dump_nice: (not by default) jet dump -w under nice -n 10: on a machine
#                whose cores the stations fill, the capture then yields the
#                CPU to them and loses more frames instead
#
# jet dump is a monitor: the stations never wait for it; frames it cannot
# keep up with are lost to the capture only (counted: "dropped by the
# monitor", reported here as captured_fraction).  The wrapper loses
# nothing: its station writes every frame, so its cost is the cost of
# writing the file (this machine: dd of 256 KiB blocks to a file, printed as
# file_write_mbps, bounds it).  Each repetition runs, per mode, A then B or B
# then A (alternating, docs/bench.md); figures are medians of the per-pair
# ratios A Gbit/s / B Gbit/s.  Files live in a mktemp directory
# (BENCH_CAPTURE_DIR, default $TMPDIR or /tmp), removed after each run.
# Bounded: about REPS x 3 x 2 x (SECONDS + 1) s (about 55 s by default).
#
# Env:    BUILD (build), BENCH_CAPTURE_REPS (3), BENCH_CAPTURE_SECONDS (2),
#         BENCH_CAPTURE_MODES ("dump dump_snap dump_10g wrap"), BENCH_TIMEOUT (60),
#         BENCH_JET (the jet binary, default $BUILD/jet)
# Output: progress on stderr, one JSON object on stdout; {"skipped": REASON}
#         when it cannot run.  Headline ("ratio", "met"): the lower of
#         dump_snap and dump_10g, the two captures a file can take whole.
#         "dump" (every whole frame of an unlimited LAN, 50 to 150 Gbit/s
#         here) is reported beside them: no file here takes that (see
#         file_write_mbps), so the monitor keeps what it can write and counts
#         the rest, and the copies it makes share the memory bandwidth the
#         transfer itself is bound by.
# Exit:   0, or 1 when a step failed (its stderr is printed).
BENCH_NAME=capture
. "$(dirname "$0")/lib.sh"

REPS=${BENCH_CAPTURE_REPS:-3}
SECS=${BENCH_CAPTURE_SECONDS:-2}
MODES=${BENCH_CAPTURE_MODES:-dump dump_snap dump_10g wrap}
TIMEOUT=${BENCH_TIMEOUT:-60}
TARGET=0.8

command -v jq >/dev/null || skip "needs jq"
[ -x "$JET" ] || { echo "bench: $JET not found: build first (make)" >&2; exit 1; }

tmp=$(mktemp -d "${BENCH_CAPTURE_DIR:-${TMPDIR:-/tmp}}/jet-bench-capture.XXXXXX")
L=bcap-$$
L10=bcap10-$$
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	"$JET" lan destroy --force "$L" >/dev/null 2>&1 || true
	"$JET" lan destroy --force "$L10" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
failed() { # WHAT FILE...
	echo "bench: capture: $1 failed" >&2
	shift
	sed 's/^/  | /' "$@" | tail -n 20 >&2
	exit 1
}

timeout 10 "$JET" lan create "$L" --stations 4 >"$tmp/lan.out" 2>&1 || failed "lan create" "$tmp/lan.out"
timeout 10 "$JET" lan create "$L10" --stations 4 --rate 10G >"$tmp/lan.out" 2>&1 ||
	failed "lan create --rate 10G" "$tmp/lan.out"
# What writing a file costs here, for scale: 256 KiB blocks, as the writer does.
WMBPS=$(dd if=/dev/zero of="$tmp/dd" bs=256K count=1024 conv=fsync 2>&1 |
	awk '/copied/ { for (i = 1; i <= NF; i++) if ($i == "s,") print $(i + 1), $(i + 2) }' |
	awk '{ v = $1; if ($2 ~ /^GB/) v *= 1000; if ($2 ~ /^kB/) v /= 1000; print v }')
rm -f "$tmp/dd"

# run MODE SIDE REP: one transfer; appends {mode, side, rep, gbps, kept, dropped}.
run() {
	local mode=$1 side=$2 rep=$3 lan=$L dpid="" kept=null dropped=null
	[ "$mode" = dump_10g ] && lan=$L10
	local sl=lan:$lan cl=lan:$lan
	if [ "$side" = A ]; then
		case $mode in
		wrap)
			sl=capture:$tmp/s.pcapng/lan:$L
			cl=capture:$tmp/c.pcapng/lan:$L
			;;
		dump | dump_snap | dump_nice | dump_10g)
			local extra=() nice=()
			[ "$mode" = dump_snap ] && extra=(--snaplen 128)
			[ "$mode" = dump_nice ] && nice=(nice -n 10)
			timeout --kill-after=5 "$TIMEOUT" "${nice[@]}" "$JET" dump "lan:$lan" -w "$tmp/d.pcapng" "${extra[@]}" \
				>/dev/null 2>"$tmp/dump.err" &
			dpid=$!
			pids+=("$dpid")
			for _ in $(seq 100); do
				grep -q "writing" "$tmp/dump.err" && break
				sleep 0.02
			done
			;;
		esac
	fi
	timeout --kill-after=5 "$TIMEOUT" "$JET" perf --proto rbs -s -1 --link "$sl" --station 1 \
		>"$tmp/srv.out" 2>"$tmp/srv.err" &
	local srv=$!
	pids+=("$srv")
	for _ in $(seq 100); do
		timeout 5 "$JET" lan show "$lan" --json 2>/dev/null |
			jq -e 'any(.station[]; .station == 1)' >/dev/null 2>&1 && break
		sleep 0.02
	done
	timeout --kill-after=5 "$TIMEOUT" "$JET" perf --proto rbs -c --to 1 --link "$cl" --station 0 \
		-t "$SECS" --json >"$tmp/out" 2>"$tmp/err" || failed "jet perf ($mode $side)" "$tmp/err" "$tmp/out"
	wait "$srv" || failed "jet perf server ($mode $side)" "$tmp/srv.err"
	if [ -n "$dpid" ]; then
		kill -INT "$dpid"
		wait "$dpid" || failed "jet dump ($mode)" "$tmp/dump.err"
		kept=$(sed -n 's/.*: \([0-9]*\) frames kept.*/\1/p' "$tmp/dump.err")
		dropped=$(sed -n 's/.*, \([0-9]*\) dropped by the monitor.*/\1/p' "$tmp/dump.err")
	fi
	grep '^{' "$tmp/out" | tail -n 1 | jq -c --arg mode "$mode" --arg side "$side" --argjson rep "$rep" \
		--argjson kept "${kept:-null}" --argjson dropped "${dropped:-null}" \
		'{mode: $mode, side: $side, rep: $rep, gbps: .gbps, retransmits: .retransmits,
		  kept: $kept, dropped: $dropped}' >>"$tmp/runs"
	rm -f "$tmp"/*.pcapng
}

: >"$tmp/runs"
echo "bench: capture: $REPS repetitions of ${SECS} s per mode ($MODES), jet perf rbs over lan: with and without a capture, alternating" >&2
for ((rep = 1; rep <= REPS; rep++)); do
	order=(A B)
	((rep % 2)) || order=(B A)
	for mode in $MODES; do
		for side in "${order[@]}"; do run "$mode" "$side" "$rep"; done
	done
	printf 'bench: capture %d/%d\n' "$rep" "$REPS" >&2
done

jq -s -c --argjson target "$TARGET" --argjson secs "$SECS" --argjson wmbps "${WMBPS:-null}" '
	def median: sort | if length == 0 then null
		elif length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def stats: map(select(. != null)) | {median: median, min: min, max: max};
	def pairs($m): map(select(.mode == $m)) | group_by(.rep) | map({rep: .[0].rep,
		a: (map(select(.side == "A"))[0]), b: (map(select(.side == "B"))[0])}
		| . + {ratio: (if .b.gbps > 0 then .a.gbps / .b.gbps else null end),
		       captured: (if .a.kept != null and (.a.kept + .a.dropped) > 0
		                  then .a.kept / (.a.kept + .a.dropped) else null end)});
	def summary: {with_gbps: (map(.a.gbps) | stats), without_gbps: (map(.b.gbps) | stats),
		ratio: (map(.ratio) | stats), captured_fraction: (map(.captured) | stats), pairs: .};
	. as $runs | (map(.mode) | unique) as $modes
	| (reduce $modes[] as $m ({}; . + {($m): ($runs | pairs($m) | summary)})) as $by
	| {seconds: $secs, target: $target, file_write_mbps: $wmbps} + $by
	| ([$by.dump_snap.ratio.median, $by.dump_10g.ratio.median] | map(select(. != null))) as $head
	| . + {ratio: (if $head == [] then null else ($head | min) end),
	       met: ($head != [] and ($head | min) >= $target)}' "$tmp/runs"
