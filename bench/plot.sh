#!/usr/bin/env bash
# The plots of make bench, drawn with gnuplot from a results.json of
# bench/run.sh (docs/bench.md, "Results, tables and plots"):
#
#   throughput_size.png  Gb/s against message size (log-log), one line per
#                        protocol (.sweeps.size): RBS, user TCP, kernel TCP
#                        over loopback; raw frames and the bare ring dashed,
#                        against frame size.  Points: medians; bars: min..max
#   rtt_cdf.png          round-trip time CDF per protocol (.rtt_cdf, made by
#                        bench/plot/rtt_cdf.jq from the ping-pong runs)
#   throughput_loss.png  Gb/s under 0, 0.1, 1, 5 % frame loss (.sweeps.loss):
#                        RBS, user TCP, kernel TCP across the LAN (TAP
#                        stations; missing without root, the legend says why)
#
#   bench/plot.sh RESULTS.json OUTDIR
#
# A plot whose data is absent (BENCH_SWEEP=0, ...) is not drawn; that is
# said on stderr.  Needs gnuplot (gnuplot-nox) and jq.
# Exit: 0 when every plot with data was drawn, 1 when gnuplot failed or is
# missing, 2 on bad arguments.
set -euo pipefail
export LC_ALL=C.UTF-8
[ $# -eq 2 ] || { echo "usage: bench/plot.sh RESULTS.json OUTDIR" >&2; exit 2; }
IN=$1 OUTDIR=$2
[ -r "$IN" ] && jq -e 'type == "object"' "$IN" >/dev/null 2>&1 ||
	{ echo "bench: plot: $IN is not a results.json" >&2; exit 2; }
command -v gnuplot >/dev/null || { echo "bench: plot: gnuplot not found (scripts/deps.sh installs gnuplot-nox)" >&2; exit 1; }
DIR=$(cd "$(dirname "$0")/plot" && pwd)
mkdir -p "$OUTDIR"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One colour per protocol, the same in every plot.
declare -A COLOR=([rbs]="#1f77b4" [tcp]="#d62728" [kernel]="#2ca02c" [raw]="#9467bd" [ring]="#7f7f7f")
# The machine line under every title.
sub=$(jq -r '.machine as $m | [($m.cpu // "?") + ", \($m.cores // $m.cpus // "?") CPUs",
	(if $m.memory_bytes then "\($m.memory_bytes / 1073741824 | . * 10 | round / 10) GiB" else empty end),
	"Linux \($m.kernel // "?")", (if $m.debian then "Debian \($m.debian)" else empty end),
	"commit \(.commit // $m.commit // "?")\(if $m.commit_dirty then "+" else "" end)",
	((.date // $m.date // "") | sub("T"; " ") | sub(":[0-9]+Z$"; " UTC")),
	"other load \($m.other_cpu_pct // "?")%"] | join(", ")' "$IN")
status=0
# gp NAME.gp PNG VAR=VALUE...: runs gnuplot with the variables (strings) set;
# no plot when $files is empty (every run of it failed: the sweep said so).
gp() {
	local script=$1 png=$2 args=() kv
	shift 2
	if [ -z "$files" ]; then
		echo "bench: plot: no $(basename "$png"): not one run of it gave a figure" >&2
		return 0
	fi
	for kv in "$@"; do
		args+=(-e "${kv%%=*}='${kv#*=}'")
	done
	if gnuplot -e "dir='$DIR'" -e "out='$png'" -e "sub='${sub//\'/}'" "${args[@]}" "$DIR/$script" \
		2>"$tmp/gp.err" && [ -s "$png" ]; then
		echo "bench: plot: $png" >&2
	else
		echo "bench: plot: gnuplot failed for $png:" >&2
		sed 's/^/  | /' "$tmp/gp.err" >&2
		status=1
	fi
}
# tics SIZE...: gnuplot xtics for byte sizes ("64 B" 64, "1 KiB" 1024, ...)
tics() {
	local s out=()
	for s in "$@"; do
		if ((s >= 1048576 && s % 1048576 == 0)); then out+=("\"$((s / 1048576)) MiB\" $s")
		elif ((s >= 1024 && s % 1024 == 0)); then out+=("\"$((s / 1024)) KiB\" $s")
		else out+=("\"$s B\" $s"); fi
	done
	local IFS=,
	echo "${out[*]}"
}

# --- throughput against message size ---------------------------------------
if jq -e '.sweeps.size.points | type == "array" and length > 0' "$IN" >/dev/null 2>&1; then
	files="" colors="" dashes=""
	for p in rbs tcp kernel raw ring; do
		jq -r --arg p "$p" '.sweeps.size as $s
			| [$s.points[] | select(.proto == $p and .gbps.median != null)] | sort_by(.x)
			| if length == 0 then empty else
				"size \"\({rbs: "RBS (LAN, MTU 9000)", tcp: "user TCP (LAN, MTU 65536)",
				         kernel: "kernel TCP (loopback)", raw: "raw frames (LAN; frame size)",
				         ring: "bare ring (frame size)"}[$p])\" min max",
				(.[] | "\(.x) \(.gbps.median) \(.gbps.min) \(.gbps.max)") end' "$IN" >"$tmp/size_$p.dat"
		[ -s "$tmp/size_$p.dat" ] || continue
		files+="$tmp/size_$p.dat " colors+="${COLOR[$p]} "
		case $p in raw | ring) dashes+="2 " ;; *) dashes+="1 " ;; esac
	done
	read -r -a sizes < <(jq -r '[.sweeps.size.points[].x] | unique | map(tostring) | join(" ")' "$IN")
	what=$(jq -r '.sweeps.size | "(median of \(.reps) runs of \(.seconds) s at each size, the protocols interleaved; bars: min..max)"' "$IN")
	gp size.gp "$OUTDIR/throughput_size.png" "files=$files" "colors=$colors" "dashes=$dashes" \
		"xt=$(tics "${sizes[@]}")" "what=$what"
else
	echo "bench: plot: no throughput_size.png: no message-size sweep in $IN ($(jq -r '.sweeps.size.skipped // "not run"' "$IN"))" >&2
fi

# --- round-trip time distribution ------------------------------------------
if jq -e '[.rtt_cdf[]? | select(.us != null)] | length > 0' "$IN" >/dev/null 2>&1; then
	files="" colors="" pis="" approx=""
	for p in raw rbs tcp kernel ring; do
		jq -r --arg p "$p" '.rtt_cdf[] | select(.proto == $p and .us != null)
			| "fraction \"\(.label)\(if .exact then "" else ", percentiles only" end)\"",
			  ([.quantiles, .us] | transpose[] | "\(.[0]) \(.[1])")' "$IN" >"$tmp/rtt_$p.dat"
		[ -s "$tmp/rtt_$p.dat" ] || continue
		files+="$tmp/rtt_$p.dat " colors+="${COLOR[$p]} "
		if jq -e --arg p "$p" '.rtt_cdf[] | select(.proto == $p) | .exact' "$IN" >/dev/null; then
			pis+="10 "
		else
			pis+="1 " approx=1
		fi
	done
	what=$(jq -r '"(busy-poll ping-pong; each quantile: median of \(.settings.reps // "the") runs"
		+ (if (.pingpong.roundtrips // null) != null then " of \(.pingpong.roundtrips) (raw, ring) or \(.rbs_vs_tcp.pingpong.roundtrips // "?") (RBS, TCP) round trips" else "" end)
		+ "; a mark every 10 %)"' "$IN")
	[ -z "$approx" ] || what=${what%)}"; percentiles only where the legend says so)"
	missing=$(jq -r '[.rtt_cdf[] | select(.us == null) | "\(.label): missing (\(.missing))"] | join("; ")' "$IN" | tr -d "'")
	gp rtt.gp "$OUTDIR/rtt_cdf.png" "files=$files" "colors=$colors" "pis=$pis" "what=$what" "missing=$missing"
else
	echo "bench: plot: no rtt_cdf.png: no ping-pong runs in $IN" >&2
fi

# --- throughput under loss -------------------------------------------------
if jq -e '.sweeps.loss.points | type == "array" and length > 0' "$IN" >/dev/null 2>&1; then
	files="" colors=""
	for p in rbs tcp kernel; do
		jq -r --arg p "$p" '.sweeps.loss as $s
			| [$s.points[] | select(.proto == $p and .gbps.median != null)]
			| if length == 0 then empty else
				"loss \"\({rbs: "RBS (LAN)", tcp: "user TCP (LAN)",
				         kernel: "kernel TCP across the LAN (iperf3, TAP stations)"}[$p])\" min max",
				(.[] | .x as $x | "\($s.loss_pct | index($x)) \(.gbps.median) \(.gbps.min) \(.gbps.max)")
			end' "$IN" >"$tmp/loss_$p.dat"
		[ -s "$tmp/loss_$p.dat" ] || continue
		files+="$tmp/loss_$p.dat " colors+="${COLOR[$p]} "
	done
	xt=$(jq -r '.sweeps.loss.loss_pct | to_entries | map("\"\(.value) %%\" \(.key)") | join(",")' "$IN")
	missing=$(jq -r '.sweeps.loss.kernel_missing // empty
		| "kernel TCP across the LAN: missing (\(.))"' "$IN" | tr -d "'")
	what=$(jq -r '.sweeps.loss | "(\(.msg / 1024) KiB messages, MTU \(.mtu); median of \(.reps) runs of \(.seconds) s at each loss, the protocols interleaved; bars: min..max)"' "$IN")
	gp loss.gp "$OUTDIR/throughput_loss.png" "files=$files" "colors=$colors" "xt=$xt" \
		"what=$what" "missing=$missing"
else
	echo "bench: plot: no throughput_loss.png: no loss sweep in $IN ($(jq -r '.sweeps.loss.skipped // "not run"' "$IN"))" >&2
fi
exit $status
