#!/usr/bin/env bash
# Raw frame rate of the real links (packet:, xdp:, udp:) on a veth pair between
# two network namespaces, each as a ratio to a plain AF_PACKET sender and
# receiver (sendmmsg/recvmmsg of 64 frames, no ring) measured in the same run
# (issue 13).  Run by bench/run.sh; by hand: BUILD=build bench/links.sh
#
#   netns $NS_A  veth $IA 198.18.44.1 ---------- veth $IB 198.18.44.2  netns $NS_B
#   (bench/link_rate: sender, station 1)          (receiver, station 2)
#
# Each run is `link_rate --frame F -t BENCH_LINK_SECONDS`: the sender sends as
# fast as the link takes frames, the receiver counts what arrives (Mpps
# delivered).  Per repetition and frame size (64 and 1500 bytes on the wire)
# the reference and every backend run one after the other, the order reversed
# in the next repetition (A/B interleaved, docs/bench.md); each backend's
# ratio is its Mpps / the reference's of the same repetition, and the figure
# is the median of the ratios.  A backend that cannot run (not built yet, no
# privilege, ...) is a row "missing" with the reason its first run gave.
# Adding a backend is one line in BACKENDS.
#
# Env:    BUILD (build), BENCH_REPS (5), BENCH_LINK_SECONDS (0.5)
# Output: progress on stderr, one JSON object on stdout; when it cannot run
#         (not root, ...) {"skipped": REASON}, exit 0.
#         links.sh --print RESULTS.json: the table of RESULTS.json's .links
# Exit:   0, or 1 when the reference failed (its reason is printed).
set -euo pipefail
export LC_ALL=C

if [ "${1:-}" = --print ]; then
	num() { [ "$1" = null ] && printf '%s' - || printf "%.${2}f" "$1"; }
	if ! jq -e '.links.rows' "$2" >/dev/null 2>&1; then
		echo "Raw frame rate of the real links on veth: $(jq -r '.links | .skipped // "failed"' "$2")"
		exit 0
	fi
	echo "Raw frame rate of the real links on veth / plain AF_PACKET (sendmmsg/recvmmsg), median of $(jq -r .links.reps "$2") paired runs"
	printf '  %-8s  %6s  %10s  %10s  %-26s\n' link frame "link Mpps" "ref Mpps" "ratio median [min..max]"
	jq -r '.links.rows[] | [.backend, .frame, .link_mpps.median, .ref_mpps.median, .ratio.median,
		.ratio.min, .ratio.max, (.missing // "")] | map(tostring) | @tsv' "$2" |
		while IFS=$'\t' read -r b f lm rm r rmin rmax miss; do
			if [ -n "$miss" ]; then
				printf '  %-8s  %6s  missing: %s\n' "$b" "$f" "$miss"
			else
				printf '  %-8s  %6s  %10s  %10s  %-26s\n' "$b" "$f" "$(num "$lm" 3)" "$(num "$rm" 3)" \
					"$(num "$r" 3) [$(num "$rmin" 3)..$(num "$rmax" 3)]"
			fi
		done
	exit 0
fi

BUILD=${BUILD:-build}
REPS=${BENCH_REPS:-5}
SECS=${BENCH_LINK_SECONDS:-0.5}
RATE=$BUILD/bench/link_rate
SIZES=(64 1500)

skip() {
	jq -nc --arg why "$1" '{skipped: $why}'
	echo "bench: links skipped: $1" >&2
	exit 0
}
[ "$(id -u)" -eq 0 ] || skip "needs root"
for c in ip jq; do command -v "$c" >/dev/null || skip "needs $c"; done
[ -x "$RATE" ] || { echo "bench: $RATE not found: build first (make)" >&2; exit 1; }

NS_A=jt-blink-$$-a NS_B=jt-blink-$$-b
IA=jtbla$$ IB=jtblb$$
# name, sending end, receiving end (one line per backend)
BACKENDS=(
	"packet packet:$IA packet:$IB"
	"xdp xdp:$IA xdp:$IB"
	"udp udp:198.18.44.2:9400,bind=9400 udp:198.18.44.1:9400,bind=9400"
)
tmp=$(mktemp -d)
cleanup() {
	ip netns del "$NS_A" 2>/dev/null || true
	ip netns del "$NS_B" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$NS_A" && ip netns add "$NS_B" || skip "cannot create network namespaces"
for n in "$NS_A" "$NS_B"; do
	ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$n" link set lo up
done
ip link add "$IA" netns "$NS_A" type veth peer name "$IB" netns "$NS_B"
ip -n "$NS_A" addr add 198.18.44.1/24 dev "$IA"
ip -n "$NS_B" addr add 198.18.44.2/24 dev "$IB"
ip -n "$NS_A" link set "$IA" up
ip -n "$NS_B" link set "$IB" up

declare -A missing=()
: >"$tmp/runs"
# one NAME TX RX FRAME REP: appends {backend, frame, rep, mpps, ...} or marks NAME missing
one() {
	local out
	if out=$(timeout --kill-after=2 30 "$RATE" --tx "$2" --rx "$3" --tx-ns "$NS_A" --rx-ns "$NS_B" \
		--frame "$4" -t "$SECS" --json 2>"$tmp/err") && jq -e '.mpps' >/dev/null 2>&1 <<<"$out"; then
		jq -c --arg b "$1" --argjson rep "$5" '. + {backend: $b, rep: $rep}' <<<"$out" >>"$tmp/runs"
		return 0
	fi
	local why
	why=$(jq -r '.error // empty' <<<"$out" 2>/dev/null || true)
	[ -n "$why" ] || why=$(tail -n 1 "$tmp/err")
	[ -n "$why" ] || why="exit status $?"
	if [ "$1" = ref ]; then
		echo "bench: links: the AF_PACKET reference failed: $why" >&2
		exit 1
	fi
	missing[$1]=$why
	echo "bench: links: $1 missing: $why" >&2
}

echo "bench: links: $REPS repetitions of ${SECS}s at ${SIZES[*]} B: reference, ${BACKENDS[*]%% *}" >&2
for ((rep = 1; rep <= REPS; rep++)); do
	rows=("ref af_packet:$IA af_packet:$IB" "${BACKENDS[@]}")
	if ((rep % 2 == 0)); then # reversed: neither side always first
		local_rows=()
		for ((i = ${#rows[@]} - 1; i >= 0; i--)); do local_rows+=("${rows[$i]}"); done
		rows=("${local_rows[@]}")
	fi
	for f in "${SIZES[@]}"; do
		for r in "${rows[@]}"; do
			read -r name tx rx <<<"$r"
			[ -z "${missing[$name]:-}" ] || continue
			one "$name" "$tx" "$rx" "$f" "$rep"
		done
	done
	printf ' %d' "$rep" >&2
done
echo >&2

miss_json=$(for b in "${!missing[@]}"; do jq -nc --arg b "$b" --arg w "${missing[$b]}" '{($b): $w}'; done |
	jq -sc 'add // {}')
names=$(printf '%s\n' "${BACKENDS[@]%% *}" | jq -Rsc 'split("\n") | map(select(length > 0))')
jq -sc --argjson reps "$REPS" --argjson secs "$SECS" --argjson missing "$miss_json" \
	--argjson names "$names" --argjson sizes "$(printf '%s\n' "${SIZES[@]}" | jq -sc .)" '
	def median: sort | if length == 0 then null
		elif length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def stats: map(select(. != null)) | {median: median, min: min, max: max};
	. as $runs
	| {reps: $reps, seconds: $secs, frames: $sizes,
	   reference: "AF_PACKET SOCK_RAW, sendmmsg/recvmmsg of 64, no ring",
	   rows: [$names[] as $b | $sizes[] as $f
		| if $missing[$b] then {backend: $b, frame: $f, missing: $missing[$b]}
		  else ($runs | map(select(.frame == $f)) | group_by(.rep)
			| map({rep: .[0].rep,
			       link: (map(select(.backend == $b))[0].mpps),
			       ref: (map(select(.backend == "ref"))[0].mpps)})
			| map(select(.link != null and .ref != null and .ref > 0))
			| map(. + {ratio: (.link / .ref)})) as $p
			| {backend: $b, frame: $f,
			   link_mpps: ($p | map(.link) | stats), ref_mpps: ($p | map(.ref) | stats),
			   ratio: ($p | map(.ratio) | stats), pairs: $p}
		  end]}' "$tmp/runs"
