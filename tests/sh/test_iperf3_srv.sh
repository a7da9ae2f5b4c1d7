#!/usr/bin/env bash
# The iperf3 server engine against the real client: Debian's iperf3 (3.12) runs
# against `jet iperf3-kernel-server` (the engine over kernel TCP sockets) on
# loopback, no namespace needed:
#
#     iperf3 -c 127.0.0.1 -p PORT ... ---- lo ---- jet iperf3-kernel-server -p PORT
#
#  1. forward (-t 2), reverse (-R), 4 streams (-P 4), all with -J: the client's JSON
#     has no "error", end.sum_received.bytes > 0, the sender's and the receiver's
#     sums agree within what was in flight at the end, -P 4 shows 4 streams;
#  2. plain text output ends in "iperf Done.";
#  3. -n 20M forward and -R -n 20M (the server stops sending at the byte budget);
#  4. a UDP test (-u) and --bidir are refused with the client's "not implemented"
#     message, and the server goes on serving;
#  5. SIGTERM: the server exits 0, one "ok" line per successful test in its log.
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

command -v iperf3 >/dev/null || { echo "skip: iperf3 missing (scripts/deps.sh installs it)"; exit 77; }

SRV_OUT=$TMPD/srv.out
started=""
for _ in 1 2 3 4 5; do
	PORT=$((20000 + RANDOM % 40000))
	bg_start SRV "$SRV_OUT" "$TMPD/srv.err" 120 "$JET" iperf3-kernel-server -p "$PORT"
	if wait_grep "$SRV_OUT" "listening" 5 2>/dev/null; then
		started=1
		break
	fi
	wait_exit "$SRV" 3 || true
done
[ -n "$started" ] || { dump "$SRV_OUT" "$TMPD/srv.err"; fail "server did not start"; }
ok "jet iperf3-kernel-server listening on port $PORT"

# iperf3 -J run: checks and prints the client's rate.  $1 = what, rest = iperf3 args.
json_run() {
	local what=$1
	shift
	run iperf3 -c 127.0.0.1 -p "$PORT" -J "$@"
	[ "$RC" = 0 ] || { dump "$SRV_OUT" "$TMPD/srv.err"; fail "$what: iperf3 exit code $RC"; }
	expect_jq 'has("error") | not' "$what: no error in the client's JSON"
	expect_jq '.end.sum_received.bytes > 0' "$what: end.sum_received.bytes > 0"
	expect_jq '.end.sum_sent.bytes > 0' "$what: end.sum_sent.bytes > 0"
	# What the receiver counted is what was sent, less what was in flight at TEST_END.
	expect_jq '.end.sum_received.bytes <= .end.sum_sent.bytes * 1.02 and
		.end.sum_received.bytes >= .end.sum_sent.bytes * 0.8' "$what: sent and received agree"
	info "$what: $(jv '.end.sum_received.bits_per_second / 1e9 * 100 | floor / 100') Gbit/s received (client's report)"
}

json_run "forward -t 2" -t 2
json_run "reverse -R -t 2" -t 2 -R
expect_jq '.end.sum_sent.retransmits >= 0' "reverse: the server's retransmit count reaches the client"
json_run "4 streams -P 4 -t 2" -t 2 -P 4
expect_jq '(.end.streams | length) == 4' "-P 4: four streams in the results"
json_run "reverse 4 streams -R -P 4 -t 2" -t 2 -P 4 -R
expect_jq '(.end.streams | length) == 4' "-R -P 4: four streams in the results"

run iperf3 -c 127.0.0.1 -p "$PORT" -t 1
[ "$RC" = 0 ] || fail "text output: exit code $RC"
printf '%s\n' "$OUT" | grep -q "iperf Done." || fail "text output: no 'iperf Done.'"
printf '%s\n' "$OUT" | grep -q "receiver" || fail "text output: no receiver line"
ok "text output ends in 'iperf Done.'"

json_run "forward -n 20M" -n 20M
expect_jq '.end.sum_sent.bytes >= 20971520' "-n 20M: at least 20 MiB sent"
json_run "reverse -R -n 20M" -n 20M -R
expect_jq '.end.sum_sent.bytes >= 20971520 and .end.sum_sent.bytes < 20971520 + 131072' \
	"-R -n 20M: the server sent the budget, rounded up to a block"

check_err '!0' "not implemented" "UDP test refused" iperf3 -c 127.0.0.1 -p "$PORT" -u -t 1
check_err '!0' "not implemented" "--bidir test refused" iperf3 -c 127.0.0.1 -p "$PORT" --bidir -t 1
json_run "forward after the refusals" -t 1

kill -TERM "$JETPID" 2>/dev/null
wait_exit "$SRV" 10 || fail "server still running 10 s after SIGTERM"
[ "$BG_RC" = 0 ] || { dump "$SRV_OUT" "$TMPD/srv.err"; fail "server exit code $BG_RC"; }
n_ok=$(grep -c ': ok,' "$SRV_OUT")
n_ref=$(grep -c ': refused,' "$SRV_OUT")
expect_eq "$n_ok" 8 "server log: 8 tests ok"
expect_eq "$n_ref" 2 "server log: 2 tests refused"
done_ok
