#!/usr/bin/env bash
# make bench's results path, without the bench: bench/report.sh (results.md)
# and bench/plot.sh (the three PNGs, gnuplot) on a recorded results.json
# (bench/plot/sample-results.json), bench/plot/rtt_cdf.jq on its ping-pong
# runs, and a very short real sweep (bench/sweep.sh size and loss, one point
# each) fed through the same scripts.  Each PNG must be a PNG of the plot's
# size holding every series' colour in quantity (its line, not just its
# legend sample).  15 to 30 s by the load: gnuplot, decoding the PNGs and the
# sweep's runs.
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

command -v gnuplot >/dev/null || { echo "skip: needs gnuplot (scripts/deps.sh installs gnuplot-nox)"; exit 77; }
command -v python3 >/dev/null || [ -x /usr/bin/python3 ] || { echo "skip: needs python3"; exit 77; }
SAMPLE=bench/plot/sample-results.json
[ -r "$SAMPLE" ] || fail "no $SAMPLE"

# colours COLOR... < PNG: prints, per colour (#rrggbb), how many pixels have
# exactly it (a small PNG decoder: 8-bit RGB or RGBA, non-interlaced, as
# pngcairo writes; libgd's palette PNGs count 0).
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
colours() {
	"$PY" -c '
import re, sys, zlib, struct
d = sys.stdin.buffer.read()
assert d[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, hdr = 8, b"", None
while pos < len(d):
    n, t = struct.unpack(">I4s", d[pos:pos + 8]); c = d[pos + 8:pos + 8 + n]; pos += 12 + n
    if t == b"IHDR": hdr = struct.unpack(">IIBBBBB", c)
    elif t == b"IDAT": idat += c
w, h, depth, ctype, _, _, inter = hdr
if ctype == 3: print(" ".join("0" for _ in sys.argv[1:])); sys.exit(0)  # palette (libgd): not counted
assert depth == 8 and ctype in (2, 6) and inter == 0, "unsupported PNG %r" % (hdr,)
bpp = 3 if ctype == 2 else 4
raw, stride, prev, i = zlib.decompress(idat), w * bpp, bytearray(w * bpp), 0
want = {bytes.fromhex(a[1:]): 0 for a in sys.argv[1:]}
img = bytearray()
lo, hi = int.from_bytes(b"\x7f" * stride, "big"), int.from_bytes(b"\x80" * stride, "big")
for y in range(h):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
    if f == 2:  # Up, most rows: bytewise sums without carries, on whole rows at once
        p_, l_ = int.from_bytes(prev, "big"), int.from_bytes(line, "big")
        line = bytearray((((p_ & lo) + (l_ & lo)) ^ ((p_ ^ l_) & hi)).to_bytes(stride, "big"))
        f = 0
    for x in range(stride if f else 0):
        a = line[x - bpp] if x >= bpp else 0; b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    img += line
    prev = line
for k in want:  # pixels of exactly that colour: matches at pixel boundaries
    want[k] = sum(1 for m in re.finditer(b"(?=" + re.escape(k) + b")", img) if m.start() % bpp == 0)
print(" ".join(str(want[bytes.fromhex(a[1:])]) for a in sys.argv[1:]))' "$@"
}

# png_ok FILE WHAT COLOR...: a PNG, 1100x700, over 15 KB, each COLOR on at
# least 150 pixels (a legend sample with one point has about 70; a dashed
# line across the plot 400 or more); !COLOR: on fewer than 100 (not drawn).
png_ok() {
	local f=$1 what=$2 magic wh size counts c n i=0
	shift 2
	[ -s "$f" ] || fail "$what: $f was not made"
	magic=$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')
	[ "$magic" = 89504e470d0a1a0a ] || fail "$what: $f is not a PNG (it starts $magic)"
	wh=$(od -An -tu1 -j16 -N8 "$f" | awk '{ print $3 * 256 + $4 "x" $7 * 256 + $8 }')
	[ "$wh" = 1100x700 ] || fail "$what: $f is $wh, wanted 1100x700"
	size=$(stat -c %s "$f")
	((size > 15000)) || fail "$what: $f has only $size bytes"
	if [ $# -gt 0 ]; then
		read -r -a counts < <(colours "${@#!}" <"$f") || fail "$what: cannot decode $f"
		for c in "$@"; do
			n=${counts[$i]:-0}
			i=$((i + 1))
			if [ "${c:0:1}" = '!' ]; then
				((n < 100)) || fail "$what: $f has $n pixels of ${c#!}, a series that should be missing"
			else
				((n >= 150)) || fail "$what: $f has $n pixels of $c, wanted a line of that series"
			fi
		done
	fi
	ok "$what: $f ($size bytes, $wh${*:+, series colours: ${counts[*]} pixels})"
}
RBS='#1f77b4' TCP='#d62728' KERNEL='#2ca02c' RAW='#9467bd' RING='#7f7f7f'

# ---- the recorded results ----
out=$TMPD/rec
check_ok "report.sh on $SAMPLE" bench/report.sh "$SAMPLE"
printf '%s\n' "$OUT" >"$TMPD/rec.md"
cpu=$(jq -r .machine.cpu "$SAMPLE")
for s in "# Jetstream benchmark results" "## Machine" "| CPU | $cpu |" "| Debian version |" "| git commit |" \
	"| memory |" "| kernel |" "| date |" "## Settings" "## Plots" "![Throughput against message size](throughput_size.png)" \
	"![Round-trip time distribution](rtt_cdf.png)" "![Throughput under frame loss](throughput_loss.png)" \
	"## LAN raw throughput" "ping-pong round trip" "## RBS vs kernel TCP" "## User TCP vs kernel TCP" \
	"## Throughput against message size" "## Round-trip time distribution" "## Throughput under frame loss" \
	"| 1 MiB |" "| 5 |" "rtt_us.cdf"; do
	grep -qF -- "$s" "$TMPD/rec.md" || fail "results.md lacks '$s'"
done
ok "results.md has the machine, the settings, the plots and every section"
grep -q '^| .*null' "$TMPD/rec.md" && fail "results.md has a null in a table: $(grep -m1 '^| .*null' "$TMPD/rec.md")"
ok "no null in results.md's tables"

check_ok "rtt_cdf.jq on the recorded ping-pong runs" jq -c 'del(.rtt_cdf)' "$SAMPLE"
printf '%s\n' "$OUT" | jq -f bench/plot/rtt_cdf.jq >"$TMPD/cdf.json" || fail "rtt_cdf.jq failed"
OUT=$(cat "$TMPD/cdf.json")
expect_jq '[.rtt_cdf[] | .proto] == ["raw", "rbs", "tcp", "kernel", "ring"]' "rtt_cdf: the five protocols"
expect_jq 'all(.rtt_cdf[]; .exact and (.us | length) == 101 and .us == (.us | sort) and .runs >= 1)' \
	"rtt_cdf: 101 ascending quantiles of each, from rtt_us.cdf"
jq -e -n --slurpfile a "$TMPD/cdf.json" --slurpfile b "$SAMPLE" '$a[0].rtt_cdf == $b[0].rtt_cdf' >/dev/null ||
	fail "rtt_cdf.jq gives a different rtt_cdf from the recorded one"
ok "rtt_cdf.jq: the same rtt_cdf as recorded"
# an older jet's runs (percentiles, no cdf): read as percentiles
jq -c 'del(.rtt_cdf) | (.. | objects | select(has("rtt_us")) | .rtt_us) |= del(.cdf)' "$SAMPLE" |
	jq -f bench/plot/rtt_cdf.jq >"$TMPD/old.json" || fail "rtt_cdf.jq without cdf failed"
OUT=$(cat "$TMPD/old.json")
expect_jq 'all(.rtt_cdf[]; (.exact | not) and .quantiles[0] == 0 and .quantiles[-1] == 1 and (.us | length) >= 4)' \
	"rtt_cdf without rtt_us.cdf: min..max from the percentiles"

check_ok "plot.sh on $SAMPLE" bench/plot.sh "$SAMPLE" "$out"
png_ok "$out/throughput_size.png" "throughput against message size" "$RBS" "$TCP" "$KERNEL" "$RAW" "$RING"
png_ok "$out/rtt_cdf.png" "round-trip time CDF" "$RBS" "$TCP" "$KERNEL" "$RAW" "$RING"
png_ok "$out/throughput_loss.png" "throughput under loss" "$RBS" "$TCP" "$KERNEL"
check_ok "plot.sh on the percentiles-only runs" bench/plot.sh "$TMPD/old.json" "$TMPD/old"
png_ok "$TMPD/old/rtt_cdf.png" "round-trip time from percentiles" "$RBS" "$TCP" "$KERNEL" "$RAW"

# ---- without the sweeps; without the kernel's loss series ----
jq 'del(.sweeps)' "$SAMPLE" >"$TMPD/nosweep.json"
check_err 0 "no throughput_size.png" "plot.sh without sweeps draws the CDF only" \
	bench/plot.sh "$TMPD/nosweep.json" "$TMPD/ns"
[ ! -e "$TMPD/ns/throughput_size.png" ] && [ ! -e "$TMPD/ns/throughput_loss.png" ] ||
	fail "plot.sh drew a sweep plot without a sweep"
png_ok "$TMPD/ns/rtt_cdf.png" "CDF without sweeps"
check_ok "report.sh without sweeps" bench/report.sh "$TMPD/nosweep.json"
printf '%s\n' "$OUT" | grep -q "No throughput_size.png: the message-size sweep did not run" ||
	fail "results.md does not say the sweep plot is missing"
ok "results.md says why the sweep plots are missing"
jq '.sweeps.loss |= (.kernel_missing = "needs root (test)" | .points |= map(select(.proto != "kernel")))' \
	"$SAMPLE" >"$TMPD/nokern.json"
check_ok "plot.sh without the kernel's loss series" bench/plot.sh "$TMPD/nokern.json" "$TMPD/nk"
png_ok "$TMPD/nk/throughput_loss.png" "loss without the kernel series" "$RBS" "$TCP" "!$KERNEL"
check_ok "report.sh without the kernel's loss series" bench/report.sh "$TMPD/nokern.json"
printf '%s\n' "$OUT" | grep -qF "Kernel TCP across the LAN is missing: needs root (test)." ||
	fail "results.md does not say why the kernel series is missing"
ok "results.md says why the kernel's loss series is missing"

jq '.sweeps.loss.points |= map(.ok = 0 | .failed = 1 | .gbps = {median: null, min: null, max: null})' \
	"$SAMPLE" >"$TMPD/allfail.json"
check_err 0 "not one run of it gave a figure" "plot.sh when every loss run failed: no loss plot" \
	bench/plot.sh "$TMPD/allfail.json" "$TMPD/af"
[ ! -e "$TMPD/af/throughput_loss.png" ] || fail "a loss plot drawn without a figure"
check_ok "report.sh when every loss run failed" bench/report.sh "$TMPD/allfail.json"
printf '%s\n' "$OUT" | grep -qF "No throughput_loss.png: not one run of the sweep gave a figure." ||
	fail "results.md does not say the loss plot is missing"
printf '%s\n' "$OUT" | grep -qF "| 5 | - (" && printf '%s\n' "$OUT" | grep -qF "(1 failed)" ||
	fail "results.md's loss table does not show the failed runs"
ok "results.md: no loss plot, the failed runs counted"

check_err 2 "not a results.json" "plot.sh on a file that is not JSON" bench/plot.sh /etc/hostname "$TMPD/x"
check_err 1 "not a results.json" "report.sh on a file that is not JSON" bench/report.sh /etc/hostname
check_err 2 "usage" "sweep.sh without a sweep" bench/sweep.sh
check_err 2 "BENCH_LOSS_PCT" "sweep.sh with a bad loss" env BENCH_LOSS_PCT=100 bench/sweep.sh loss

# ---- a very short real sweep through the same path ----
check_ok "sweep.sh size (4096 B, one run of each)" env BUILD="$BUILD" BENCH_SWEEP_SIZES=4096 BENCH_SWEEP_REPS=1 \
	BENCH_SWEEP_SECONDS=0.1 bench/sweep.sh size
printf '%s\n' "$OUT" | tail -n 1 >"$TMPD/size.json"
OUT=$(cat "$TMPD/size.json")
expect_jq '[.points[] | select(.x == 4096 and .ok == 1 and .failed == 0 and .gbps.median > 0) | .proto] | sort
	== ["kernel", "raw", "rbs", "ring", "tcp"]' "sweep size: a figure from each of the five protocols"
check_ok "sweep.sh loss (1 %, one run of each)" env BUILD="$BUILD" BENCH_LOSS_PCT=1 BENCH_SWEEP_REPS=1 \
	BENCH_LOSS_SECONDS=1 bench/sweep.sh loss
printf '%s\n' "$OUT" | tail -n 1 >"$TMPD/loss.json"
OUT=$(cat "$TMPD/loss.json")
expect_jq '.kernel_missing as $km | [.points[] | select(.x == 1 and .ok == 1 and .gbps.median > 0) | .proto]
	| sort == (if $km then ["rbs", "tcp"] else ["kernel", "rbs", "tcp"] end)' \
	"sweep loss: a figure from each protocol that can run here ($(jv '.kernel_missing // "kernel TCP too"'))"
jq --slurpfile s "$TMPD/size.json" --slurpfile l "$TMPD/loss.json" '.sweeps = {size: $s[0], loss: $l[0]}' \
	"$SAMPLE" >"$TMPD/live.json"
check_ok "plot.sh on the short sweep" bench/plot.sh "$TMPD/live.json" "$TMPD/live"
png_ok "$TMPD/live/throughput_size.png" "short sweep: throughput against size"
png_ok "$TMPD/live/throughput_loss.png" "short sweep: throughput under loss"
check_ok "report.sh on the short sweep" bench/report.sh "$TMPD/live.json"
printf '%s\n' "$OUT" | grep -q '^| 4 KiB | [0-9]' || fail "results.md has no 4 KiB row of figures"
ok "results.md: the short sweep's row"

done_ok
