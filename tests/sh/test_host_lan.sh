#!/usr/bin/env bash
# jet host and jet ping over an emulated LAN, in two processes:
#
#     jet host 198.18.6.2/24 ----- lan:$L ----- jet ping 198.18.6.3/24 (one per run)
#     jet host 198.18.6.4/24 --json --services none (the JSON form)
#
# Checks: ARP and ping (56 bytes, fragmented 30000 and 65507 both ways), a
# host nobody answers for (exit 1), usage and setup errors with reasons,
# jet host's start lines and its clean exit (0) on SIGTERM with its counters.
. "$(dirname "$0")/lib.sh"

L=$(lan_name host)
check_ok "lan create" "$JET" lan create "$L"

bg_start HP "$TMPD/host.out" "$TMPD/host.err" 60 \
	"$JET" host --link "lan:$L" --ip 198.18.6.2/24 --gw 198.18.6.1 --services echo,discard,daytime
HOST=$JETPID
wait_grep "$TMPD/host.out" "services" 10 || { dump "$TMPD/host.out" "$TMPD/host.err"; fail "jet host did not start"; }
grep -q "^address 198.18.6.2/24 gateway 198.18.6.1 on lan:$L\$" "$TMPD/host.out" || fail "no address line"
grep -qE '^mac 02:4a:53:([0-9a-f]{2}:){2}[0-9a-f]{2}$' "$TMPD/host.out" || fail "no mac line"
grep -q "^services echo udp/7, discard udp/9, daytime udp/13, echo tcp/7, discard tcp/9, daytime tcp/13\$" "$TMPD/host.out" || fail "no services line"
ok "jet host prints its address, MAC and services"

PING=("$JET" ping --link "lan:$L" --ip 198.18.6.3/24)
check_ok "ping -c 5" "${PING[@]}" -c 5 -i 0.1 198.18.6.2
expect_eq "$(grep -c 'bytes from 198.18.6.2: icmp_seq=' <<<"$OUT")" 5 "replies"
grep -q "5 packets transmitted, 5 received, 0% packet loss" <<<"$OUT" || fail "ping statistics"
info "$(grep rtt <<<"$OUT")"
check_ok "ping -s 30000 (fragments both ways)" "${PING[@]}" -c 3 -i 0.1 -s 30000 198.18.6.2
expect_eq "$(grep -c '^30008 bytes from' <<<"$OUT")" 3 "fragmented replies"
check_ok "ping -s 65507" "${PING[@]}" -c 2 -i 0.1 -s 65507 198.18.6.2
check_err 1 "" "ping to nobody exits 1" "${PING[@]}" -c 2 -i 0.1 -W 0.3 198.18.6.9
grep -q "100% packet loss" <<<"$OUT" || fail "no loss line"
check_err 1 "" "ping off the prefix (no gateway) exits 1" "${PING[@]}" -c 1 198.18.9.9
grep -q "Destination Net Unreachable" <<<"$OUT" || fail "no 'Net Unreachable'"

check_err 2 "bad --ip" "usage: bad address" "$JET" host --link "lan:$L" --ip 198.18.6.300/24
check_err 2 "--ip" "usage: no address" "$JET" ping --link "lan:$L" 198.18.6.2
check_err 2 "unknown service" "usage: unknown service" "$JET" host --link "lan:$L" --ip 198.18.6.5/24 --services gopher
check_err 1 "cannot open lan:$L-nope" "setup: no such LAN" "$JET" host --link "lan:$L-nope" --ip 198.18.6.5/24
check_err 1 "group address" "setup: group MAC" "$JET" host --link "lan:$L" --ip 198.18.6.5/24 --mac 03:00:00:00:00:01

bg_start HJ "$TMPD/json.out" "$TMPD/json.err" 60 \
	"$JET" host --link "lan:$L" --ip 198.18.6.4/24 --services none --json
HOSTJ=$JETPID
wait_grep "$TMPD/json.out" "services" 10 || fail "jet host --json did not start"
OUT=$(head -1 "$TMPD/json.out")
expect_jq '.addr == "198.18.6.4" and .plen == 24 and (.services | length) == 0 and (.mac | test("^02:4a:53"))' "jet host --json start line"
check_ok "ping the second host" "${PING[@]}" -c 2 -i 0.1 198.18.6.4

kill -TERM "$HOST" "$HOSTJ"
wait_exit "$HP" 10 || fail "jet host did not stop on SIGTERM"
expect_eq "$BG_RC" 0 "jet host exit code on SIGTERM"
wait_exit "$HJ" 10 || fail "jet host --json did not stop on SIGTERM"
expect_eq "$BG_RC" 0 "jet host --json exit code on SIGTERM"
grep -q "^stopped: " "$TMPD/host.out" || { dump "$TMPD/host.out"; fail "no closing line"; }
answered=$(sed -n 's/^stopped: \([0-9]*\) pings answered.*/\1/p' "$TMPD/host.out")
[ "${answered:-0}" -ge 10 ] || fail "jet host answered $answered pings, wanted at least 10"
ok "jet host answered $answered pings"
OUT=$(tail -1 "$TMPD/json.out")
expect_jq '.echo_replies_out == 2 and .arp_replies_out >= 1' "jet host --json closing counters"
done_ok
