#!/usr/bin/env bash
# jet perf --json against its documented schema (docs/perf-json.schema.json,
# docs/perf-json.md), and the human output's summary, intervals and progress line.
#
#  1. private LAN (jet perf makes it): raw, rbs, tcp, each a short throughput run
#     and a short ping-pong, both with -i;
#  2. two ends on a LAN of our own:
#         client, station 0 --- lan:$L --- raw -s (1), rbs -s (2), tcp -s (3), all -i
#     the same runs with -c --to K --link lan:$L;
#  3. bench/tcp_ref and bench/ring_ref --json, throughput and ping-pong;
#  4. python3-jsonschema validates every object; objects broken on purpose (a key
#     missing, a wrong type, a misspelt key, a short cdf, ping-pong without rtt_us)
#     must be rejected, so this test can fail; cdf is 101 ascending numbers from min
#     to max, cdf[50] the p50; the -i intervals follow each other and sum to the
#     total (bytes, or round trips with p50 <= p99 <= max inside the run's min and
#     max); "lan" is there exactly on the private LAN;
#  5. text: the sender/receiver summary and the interval lines, no \r when stdout is
#     not a terminal; under script(1) (a terminal) a 2 s run shows the progress line.
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

SCHEMA=docs/perf-json.schema.json
python3 -c 'import jsonschema' 2>/dev/null || { echo "skip: python3-jsonschema missing (scripts/deps.sh installs it)"; exit 77; }
[ -x "$BUILD/bench/tcp_ref" ] && [ -x "$BUILD/bench/ring_ref" ] || fail "no $BUILD/bench/tcp_ref or ring_ref: make all"
J=$TMPD/json
mkdir -p "$J"

# keep NAME: the last command's stdout is one JSON object; stored for step 4
keep() {
	[ "$(printf '%s\n' "$OUT" | grep -c .)" = 1 ] || fail "$1: not one line of output"
	printf '%s\n' "$OUT" >"$J/$1.json"
}

# ---- 1. private LAN ----
P=("$JET" perf)
check_ok "raw -n 30000 --frame 1500 -i 0.02 --json" "${P[@]}" --proto raw -n 30000 --frame 1500 \
	--policy backpressure -i 0.02 --json
keep priv_raw_tput
check_ok "raw --pingpong -t 0.3 -i 0.1 --json" "${P[@]}" --proto raw --pingpong --frame 64 -t 0.3 -i 0.1 --json
keep priv_raw_pp
check_ok "rbs -n 16M -i 0.02 --json" "${P[@]}" --proto rbs -n 16M -i 0.02 --json
keep priv_rbs_tput
check_ok "rbs --pingpong -t 0.3 -i 0.1 --json" "${P[@]}" --proto rbs --pingpong -t 0.3 -i 0.1 --json
keep priv_rbs_pp
check_ok "tcp -t 0.5 -i 0.1 --json" "${P[@]}" --proto tcp -t 0.5 -i 0.1 --json
keep priv_tcp_tput
check_ok "tcp --pingpong -t 0.3 -i 0.1 --json" "${P[@]}" --proto tcp --pingpong -t 0.3 -i 0.1 --json
keep priv_tcp_pp

# ---- 2. two ends on a LAN ----
L=$(lan_name pj)
check_ok "lan create $L --stations 4 --mtu 65536" "$JET" lan create "$L" --stations 4 --mtu 65536
bg_start RAWS "$TMPD/raw.out" "$TMPD/raw.err" 60 "${P[@]}" --proto raw -s --link "lan:$L" --station 1 -i 0.02
RAWJET=$JETPID
bg_start RBSS "$TMPD/rbs.out" "$TMPD/rbs.err" 60 "${P[@]}" --proto rbs -s --link "lan:$L" --station 2 -i 0.02
RBSJET=$JETPID
bg_start TCPS "$TMPD/tcp.out" "$TMPD/tcp.err" 60 "${P[@]}" --proto tcp -s --link "lan:$L" --station 3 -i 0.02
TCPJET=$JETPID
for k in 1 2 3; do
	wait_attached "$L" $k 10 || { dump "$TMPD/raw.err" "$TMPD/rbs.err" "$TMPD/tcp.err"; fail "server at station $k did not attach"; }
done
wait_grep "$TMPD/tcp.out" "listening on" 10 || { dump "$TMPD/tcp.out" "$TMPD/tcp.err"; fail "tcp server did not listen"; }
C=(--link "lan:$L" --station 0)
check_ok "link: raw -c -n 30000 -i 0.02" "${P[@]}" --proto raw -c --to 1 "${C[@]}" -n 30000 --frame 1500 -i 0.02 --json
keep link_raw_tput
check_ok "link: raw -c --pingpong -n 1000" "${P[@]}" --proto raw -c --to 1 "${C[@]}" --pingpong --frame 64 -n 1000 --json
keep link_raw_pp
check_ok "link: rbs -c -n 16M" "${P[@]}" --proto rbs -c --to 2 "${C[@]}" -n 16M --json
keep link_rbs_tput
check_ok "link: rbs -c --pingpong -n 1000" "${P[@]}" --proto rbs -c --to 2 "${C[@]}" --pingpong -n 1000 --json
keep link_rbs_pp
check_ok "link: tcp -c -n 32M -i 0.02" "${P[@]}" --proto tcp -c --to 3 "${C[@]}" -n 32M -i 0.02 --json
keep link_tcp_tput
check_ok "link: tcp -c --pingpong -n 1000" "${P[@]}" --proto tcp -c --to 3 "${C[@]}" --pingpong -n 1000 --json
keep link_tcp_pp
check_ok "link: tcp -c -t 0.3, text" "${P[@]}" --proto tcp -c --to 3 "${C[@]}" -t 0.3 -i 0.1
TCP_TEXT=$OUT
for s in RAW RBS TCP; do
	p=${s}JET
	kill -TERM "${!p}"
done
for s in RAWS RBSS TCPS; do
	wait_exit "${!s}" 10 || fail "$s: server did not stop on SIGTERM"
	expect_eq "$BG_RC" 0 "$s: exit code on SIGTERM"
done
for s in raw rbs tcp; do
	grep -q '^\[ ID\] Interval' "$TMPD/$s.out" && grep -qE '^\[  1\] +[0-9.]+-[0-9.]+ +sec .*receiver' "$TMPD/$s.out" ||
		{ dump "$TMPD/$s.out"; fail "$s -s -i: no interval lines or no receiver line"; }
done
ok "servers (-s -i): interval lines and a receiver summary line"

# ---- 3. the references ----
check_ok "tcp_ref -t 0.2 --json" "$BUILD/bench/tcp_ref" -t 0.2 --json
keep ref_tcp_tput
check_ok "tcp_ref --pingpong -n 1500 --json" "$BUILD/bench/tcp_ref" --pingpong -n 1500 --json
keep ref_tcp_pp
# across hosts: tcp_ref --serve and --connect (the demo's kernel-across-the-LAN round
# trip), here over loopback; the echo server's CPU comes back in its report
PORT=$((20000 + RANDOM % 20000))
bg_start SRVREF "$TMPD/srvref.out" "$TMPD/srvref.err" 60 "$BUILD/bench/tcp_ref" --serve "127.0.0.1:$PORT"
wait_grep "$TMPD/srvref.err" "echo server on 127.0.0.1:$PORT" 10 || { dump "$TMPD/srvref.err"; fail "tcp_ref --serve did not start"; }
check_ok "tcp_ref --pingpong -n 1500 --connect --json" "$BUILD/bench/tcp_ref" --pingpong -n 1500 \
	--connect "127.0.0.1:$PORT" --json
keep ref_tcp_pp_connect
expect_jq ".link == \"kernel:127.0.0.1:$PORT\" and .round_trips == 1500 and .bytes == 1500 and .receiver_cpu_s > 0" \
	"tcp_ref --connect: link, round trips, bytes, the server's CPU"
check_ok "tcp_ref --connect, a second session, 100-byte messages" "$BUILD/bench/tcp_ref" --pingpong -n 1200 \
	-l 100 --connect "127.0.0.1:$PORT" --json
expect_jq '.bytes == 120000 and .msg == 100' "tcp_ref --connect: the server took the message size"
check_ok "tcp_ref --connect --block (blocking calls)" "$BUILD/bench/tcp_ref" --pingpong -n 1200 --block \
	--connect "127.0.0.1:$PORT" --json
expect_jq '.round_trips == 1200 and .rtt_us.p50 > 0' "tcp_ref --block: every round trip timed"
check_err 2 "is for --pingpong" "tcp_ref --connect without --pingpong" "$BUILD/bench/tcp_ref" --connect "127.0.0.1:$PORT"
check_err 2 "bad --serve" "tcp_ref --serve with a bad address" "$BUILD/bench/tcp_ref" --serve 1.2.3:80
kill -TERM "$SRVREF"
wait_exit "$SRVREF" 10 || fail "tcp_ref --serve did not stop on SIGTERM"
check_ok "ring_ref -t 0.2 --json" "$BUILD/bench/ring_ref" -t 0.2 --json
keep ref_ring_tput
check_ok "ring_ref --pingpong -n 1500 --json" "$BUILD/bench/ring_ref" --pingpong -n 1500 --json
keep ref_ring_pp

# ---- 4. the schema ----
cat >"$TMPD/check.py" <<'EOF'
import copy, glob, json, os, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft7Validator.check_schema(schema)
v = jsonschema.Draft7Validator(schema)
bad = 0
def no(msg):
    global bad
    bad += 1
    print("FAIL: " + msg)
def errs(o):
    return sorted(e.message for e in v.iter_errors(o))
objs = {}
for f in sorted(glob.glob(os.path.join(sys.argv[2], "*.json"))):
    name = os.path.basename(f)[:-5]
    o = json.load(open(f))
    objs[name] = o
    e = errs(o)
    if e:
        no("%s: %s" % (name, "; ".join(e[:5])))
        continue
    tags = []
    if o["mode"] == "pingpong":
        r = o["rtt_us"]
        c = r["cdf"]
        if len(c) != 101 or any(not isinstance(x, (int, float)) for x in c):
            no("%s: cdf is not 101 numbers" % name)
        elif any(c[i] > c[i + 1] for i in range(100)):
            no("%s: cdf not ascending" % name)
        elif c[0] != r["min"] or c[100] != r["max"] or c[50] != r["p50"]:
            no("%s: cdf[0] %s min %s, cdf[50] %s p50 %s, cdf[100] %s max %s" %
               (name, c[0], r["min"], c[50], r["p50"], c[100], r["max"]))
        elif not (r["min"] <= r["p50"] <= r["p90"] <= r["p99"] <= r["p999"] <= r["max"]
                  and r["min"] <= r["mean"] <= r["max"] and r["min"] > 0):
            no("%s: rtt_us out of order: %s" % (name, {k: r[k] for k in r if k != "cdf"}))
        tags.append("cdf ok, p50 %.2f us" % r["p50"])
    if "intervals" in o and o["mode"] == "pingpong":
        iv = o["intervals"]
        total = sum(x["round_trips"] for x in iv)
        want = o["frames_sent"] if o["proto"] == "raw" else o["round_trips"]
        if total != want:
            no("%s: intervals sum to %d round trips, the run %d" % (name, total, want))
        r = o["rtt_us"]
        for x in iv:
            if x["round_trips"] and not (r["min"] <= x["p50_us"] <= x["p99_us"] <= x["max_us"] <= r["max"]):
                no("%s: interval %s: p50/p99/max out of order or outside the run's %s..%s" % (name, x, r["min"], r["max"]))
        if max(x["max_us"] for x in iv if x["round_trips"]) != r["max"]:
            no("%s: no interval holds the run's longest round trip %s" % (name, r["max"]))
        tags.append("%d intervals summing to %d round trips" % (len(iv), total))
    elif "intervals" in o:
        iv = o["intervals"]
        total = sum(x["bytes"] for x in iv)
        want = o["frames_sent"] * o["frame"] if o["proto"] == "raw" else o["bytes"]
        if abs(total - want) > 0.01 * want:
            no("%s: intervals sum to %d bytes, the run %d" % (name, total, want))
        if any(abs(iv[i]["start"] - iv[i - 1]["end"]) > 1e-6 for i in range(1, len(iv))) or iv[0]["start"] != 0:
            no("%s: intervals do not follow each other" % name)
        tags.append("%d intervals summing to %d bytes" % (len(iv), total))
    if name.startswith(("priv_", "link_")) and name.startswith("priv_") != ("lan" in o):
        no("%s: lan key %s" % (name, "missing" if "lan" not in o else "on a --link run"))
    if o["bytes"] and abs(o["cpu_ns_per_byte"] - (o["sender_cpu_s"] + o["receiver_cpu_s"]) * 1e9 / o["bytes"]) > 0.01 * o["cpu_ns_per_byte"] + 1e-3:
        no("%s: cpu_ns_per_byte is not (sender + receiver) / bytes" % name)
    print("ok   %s: valid (%s %s%s)" % (name, o["proto"], o["mode"], "; " + ", ".join(tags) if tags else ""))
want = {"priv_raw_tput", "priv_raw_pp", "priv_rbs_tput", "priv_rbs_pp", "priv_tcp_tput", "priv_tcp_pp",
        "link_raw_tput", "link_raw_pp", "link_rbs_tput", "link_rbs_pp", "link_tcp_tput", "link_tcp_pp",
        "ref_tcp_tput", "ref_tcp_pp", "ref_tcp_pp_connect", "ref_ring_tput", "ref_ring_pp"}
if set(objs) != want:
    no("objects: %s" % sorted(set(objs) ^ want))
# Broken on purpose: each must be rejected.
def broken(what, base, f):
    o = copy.deepcopy(objs[base])
    f(o)
    e = errs(o)
    if not e:
        no("broken object accepted: " + what)
    else:
        print("ok   rejected: %s (%s)" % (what, e[0][:70]))
broken("raw without version", "priv_raw_tput", lambda o: o.pop("version"))
broken("raw without frames_sent", "link_raw_tput", lambda o: o.pop("frames_sent"))
broken("tcp with gbps a string", "priv_tcp_tput", lambda o: o.update(gbps="fast"))
broken("rbs with bytes negative", "priv_rbs_tput", lambda o: o.update(bytes=-1))
broken("rbs with a misspelt key", "link_rbs_tput", lambda o: o.update(gpbs=1.0))
broken("tcp with a raw key", "priv_tcp_tput", lambda o: o.update(mpps=1.0))
broken("pingpong without rtt_us", "priv_tcp_pp", lambda o: o.pop("rtt_us"))
broken("cdf of 100", "priv_raw_pp", lambda o: o["rtt_us"]["cdf"].pop())
broken("rtt_us without p999", "ref_tcp_pp", lambda o: o["rtt_us"].pop("p999"))
broken("throughput with rtt_us", "priv_rbs_tput", lambda o: o.update(rtt_us=objs["priv_rbs_pp"]["rtt_us"]))
broken("mode bulk", "ref_ring_tput", lambda o: o.update(mode="bulk"))
broken("interval without end", "priv_tcp_tput", lambda o: o["intervals"][0].pop("end"))
broken("ping-pong interval with bytes", "priv_rbs_pp", lambda o: o["intervals"][0].update(bytes=1))
broken("throughput interval with round_trips", "priv_raw_tput",
       lambda o: o["intervals"][0].update(round_trips=1))
broken("ping-pong with a throughput interval", "priv_tcp_pp",
       lambda o: o.update(intervals=objs["priv_tcp_tput"]["intervals"]))
broken("lan with loss 2", "priv_raw_pp", lambda o: o["lan"].update(loss=2))
broken("cpu_ns_per_byte missing with bytes > 0", "link_tcp_tput", lambda o: o.pop("cpu_ns_per_byte"))
sys.exit(1 if bad else 0)
EOF
run python3 "$TMPD/check.py" "$SCHEMA" "$J"
printf '%s\n' "$OUT"
[ "$RC" = 0 ] || fail "schema checks"
ok "every object valid, every broken one rejected"

# ---- 5. text ----
grep -qE '^\[ ID\] Interval +Transfer +Bitrate' <<<"$TCP_TEXT" || fail "text: no interval header"
[ "$(grep -cE '^\[  1\] +[0-9.]+-[0-9.]+ +sec +[0-9.]+ [KMGT]?Bytes +[0-9.]+ [KMGT]?bits/sec *$' <<<"$TCP_TEXT")" -ge 2 ] ||
	fail "text: fewer than 2 interval lines"
grep -qE '^\[  1\] +0\.00-[0-9.]+ +sec .*bits/sec +[0-9]+  sender$' <<<"$TCP_TEXT" || fail "text: no sender line with retransmits"
grep -qE '^\[  1\] +0\.00-[0-9.]+ +sec .* receiver$' <<<"$TCP_TEXT" || fail "text: no receiver line"
grep -q $'\r' <<<"$TCP_TEXT" && fail "text: a \\r in output that is not a terminal"
ok "text (-c -i): interval lines, sender and receiver lines, no progress line"
check_ok "raw --pingpong text" "${P[@]}" --proto raw --pingpong --frame 64 -n 500
grep -qE '^rtt min/mean/p50/p99/max = [0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+ us \(500 round trips\)$' <<<"$OUT" ||
	fail "ping-pong text: no rtt min/mean/p50/p99/max line"
ok "ping-pong text: $(grep '^rtt' <<<"$OUT")"
check_ok "rbs --pingpong -i text" "${P[@]}" --proto rbs --pingpong -t 0.3 -i 0.1
grep -qE '^\[ ID\] Interval +Round trips +p50 +p99 +max$' <<<"$OUT" || fail "ping-pong -i text: no interval header"
[ "$(grep -cE '^\[  1\] +[0-9.]+-[0-9.]+ +sec +[0-9]+ +[0-9.]+ us +[0-9.]+ us +[0-9.]+ us$' <<<"$OUT")" -ge 2 ] ||
	fail "ping-pong -i text: fewer than 2 interval lines"
ok "ping-pong -i text: $(grep -cE '^\[  1\] .* us$' <<<"$OUT") interval lines with p50, p99, max"
if command -v script >/dev/null; then
	run script -qec "$JET perf --proto tcp -t 1.7" /dev/null
	[ "$RC" = 0 ] || fail "under script: exit code $RC"
	grep -qE $'\r\\[ +1\\.[0-9]+/1\\.70 s\\] [0-9.]+ [KMGT]?Bytes' <<<"$OUT" || fail "terminal: no progress line"
	grep -qE $'\r *\r- - - ' <<<"$OUT" || fail "terminal: progress line not cleared before the summary"
	ok "terminal (script): a progress line, cleared before the summary"
else
	info "no script(1): progress line not checked"
fi
check_ok "raw -t 0.2 --json" "${P[@]}" --proto raw -t 0.2 --json
grep -q $'\r' <<<"$OUT" && fail "--json: a \\r in the output"
ok "--json: no progress line"

# ---- help ----
for p in raw rbs tcp; do
	check_ok "perf --proto $p --help" "${P[@]}" --proto $p --help
	for w in "--proto $p" "--link lan:" "-s" "-c --to"; do
		grep -q -- "jet perf.*$w" <<<"$(sed -n '/^examples/,$p' <<<"$OUT")" || fail "--proto $p --help: no example with '$w'"
	done
done
ok "every protocol's --help has examples: private LAN, two ends on lan:NAME, a real link"
done_ok
