#!/usr/bin/env bash
# The udp: link end to end (docs/link-udp.md): Jetstream frames in UDP between
# two network namespaces of our own (deleted by the trap, whatever happens):
#
#   netns jtudpA-PID                          netns jtudpB-PID
#   kernel 198.18.42.101/24 -- juaPID ==veth== jubPID -- kernel 198.18.42.102/24
#   jet: udp:198.18.42.102:7475,bind=198.18.42.101:7475   (and the reverse)
#        station 1, IPv4 198.18.42.1/24                   station 2, 198.18.42.2/24
#
# Checks: errors (a peer that does not resolve, a bind port taken); jet perf
# --proto raw (every frame sent is delivered, dropped by the receiving
# channel's policy or counted lost: UDP has no flow control, so a receiver
# slower than the sender loses some in its kernel; none duplicated or
# damaged) and --pingpong; jet perf --proto rbs -n 64M;
# jet cat (RBS) of a file, sha256 equal both ends; jet perf --proto tcp and
# jet cat --proto tcp across udp: (user TCP/IPv4 inside Ethernet frames inside
# UDP), byte-exact; jet host's TCP echo across it (SIZE/8 bytes, from jet cat
# --proto tcp); RBS again with GSO and GRO off (JET_UDP_GSO=0,
# JET_UDP_GRO=0: the one-datagram-per-call path).  Meanwhile the kernels
# ping each other on the same veth: the replies keep coming.
# Sizes: 64 MiB transfers in a release build, 16 MiB under JET_SANITIZED=1.
# Needs root (namespaces), ip, ping, sha256sum: skips without them.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "skip: needs root for network namespaces"; exit 77; }
for c in ip ping sha256sum; do
	command -v $c >/dev/null || { echo "skip: no $c"; exit 77; }
done
MB=$((1024 * 1024))
SIZE=$((64 * MB))
NRAW=1000000
if [ "$SANITIZED" = 1 ]; then
	SIZE=$((16 * MB))
	NRAW=200000
fi
A=jtudpA-$$
B=jtudpB-$$
ip netns add "$A" 2>/dev/null || { echo "skip: cannot create a network namespace"; exit 77; }
trap 'cleanup; ip netns del "$A" 2>/dev/null; ip netns del "$B" 2>/dev/null' EXIT
ip netns add "$B" || fail "cannot create namespace $B"
INA=(ip netns exec "$A")
INB=(ip netns exec "$B")
ip link add "jua$$" netns "$A" type veth peer name "jub$$" netns "$B" || fail "cannot make the veth pair"
for ns in "$A" "$B"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link set lo up
done
ip -n "$A" addr add 198.18.42.101/24 dev "jua$$" && ip -n "$A" link set "jua$$" up &&
	ip -n "$B" addr add 198.18.42.102/24 dev "jub$$" && ip -n "$B" link set "jub$$" up ||
	fail "cannot address the veth pair"
# "${IO[@]}" IN CMD... runs CMD with stdin from IN
IO=(bash -c 'i=$1; shift; exec "$@" <"$i"' _)
LA=udp:198.18.42.102:7475,bind=198.18.42.101:7475
LB=udp:198.18.42.101:7475,bind=198.18.42.102:7475
check_ok "the kernels ping each other" "${INA[@]}" ping -c 2 -i 0.2 -W 2 198.18.42.102

# The kernels ping each other for as long as the transfers last.
bg_start PING "$TMPD/ping.out" "$TMPD/ping.err" 200 "${INA[@]}" ping -i 0.1 -W 1 198.18.42.102
PINGPID=$JETPID

# Starts a server in B (its arguments), waits until its link is open.
server() { # OUT ERR CMD...
	local out=$1 err=$2
	shift 2
	bg_start SRV "$out" "$err" 60 "${INB[@]}" "$@"
	SRVPID=$JETPID
	for _ in $(seq 100); do
		"${INB[@]}" ss -uan 2>/dev/null | grep -q "198.18.42.102:7475 " && return 0
		sleep 0.05
	done
	dump "$out" "$err"
	fail "the server did not open its link"
}
server_done() { # WHAT
	wait_exit "$SRV" 20 || { dump "$TMPD/s.out" "$TMPD/s.err"; fail "$1: the server did not exit"; }
	[ "$BG_RC" = 0 ] || { dump "$TMPD/s.out" "$TMPD/s.err"; fail "$1: the server exited $BG_RC"; }
}

# ---- errors ----
check_err '!0' "cannot resolve peer jt-no-such-host.invalid" "a peer that does not resolve" \
	"$JET" perf --proto raw -s -1 --link udp:jt-no-such-host.invalid:7475 --station 2
server "$TMPD/s.out" "$TMPD/s.err" "$JET" perf --proto raw -s -1 --link "$LB" --station 2
check_err '!0' "is taken" "a bind port taken" "${INB[@]}" "$JET" perf --proto raw -s -1 --link "$LB" --station 3
kill "$SRVPID" 2>/dev/null
wait_exit "$SRV" 10 || fail "the holder did not stop"

# ---- raw frames ----
server "$TMPD/s.out" "$TMPD/s.err" "$JET" perf --proto raw -s -1 --link "$LB" --station 2
check_ok "perf raw: -n $NRAW --frame 1472" "${INA[@]}" "$JET" perf --proto raw -c --to 2 \
	--link "$LA" --station 1 -n "$NRAW" --frame 1472 --json
server_done "perf raw"
expect_eq "$(jv .frames_sent)" "$NRAW" "perf raw: frames_sent"
expect_jq ".frames_delivered + .dropped_policy + .lost == $NRAW and .frames_delivered > 0" \
	"perf raw: delivered + dropped by the receiver's policy + lost == sent"
expect_jq '.duplicated == 0 and .crc_failed == 0 and .dropped_header == 0' \
	"perf raw: none duplicated, damaged or with a bad header"
info "perf raw: $(jv .mpps) Mpps, $(jv .gbps) Gbit/s, lost $(jv .lost) in the receiver's kernel"

server "$TMPD/s.out" "$TMPD/s.err" "$JET" perf --proto raw -s -1 --link "$LB" --station 2
check_ok "perf raw --pingpong -n 2000" "${INA[@]}" "$JET" perf --proto raw -c --to 2 \
	--link "$LA" --station 1 --pingpong -n 2000 --frame 256 --json
server_done "perf raw --pingpong"
expect_jq '.lost == 0' "perf raw --pingpong: no round trip lost"
info "ping-pong: round trip p50 $(jv .rtt_us.p50) us, p99 $(jv .rtt_us.p99) us"

# ---- RBS ----
server "$TMPD/s.out" "$TMPD/s.err" "$JET" perf --proto rbs -s -1 --link "$LB" --station 2
check_ok "perf rbs -n $SIZE" "${INA[@]}" "$JET" perf --proto rbs -c --to 2 --link "$LA" --station 1 \
	-n "$SIZE" --json
server_done "perf rbs"
expect_eq "$(jv .bytes)" "$SIZE" "perf rbs: bytes"
info "perf rbs: $(jv .gbps) Gbit/s, $(jv .retransmits) retransmits"

head -c "$SIZE" /dev/urandom >"$TMPD/in"
WANT=$(sha256sum <"$TMPD/in" | cut -d' ' -f1)
server "$TMPD/rx1.bin" "$TMPD/s.err" "$JET" cat -l --link "$LB" --station 2
check_ok "cat (RBS) of $SIZE bytes" "${INA[@]}" "${IO[@]}" "$TMPD/in" "$JET" cat --link "$LA" --station 1 2:5300
server_done "cat"
expect_eq "$(sha256sum <"$TMPD/rx1.bin" | cut -d' ' -f1)" "$WANT" "cat (RBS): sha256 of what arrived"

# ---- user TCP/IPv4 across udp: ----
server "$TMPD/s.out" "$TMPD/s.err" "$JET" perf --proto tcp -s -1 --link "$LB" --station 2 \
	--ip 198.18.42.2/24
check_ok "perf tcp -n $SIZE" "${INA[@]}" "$JET" perf --proto tcp -c --to 198.18.42.2 --link "$LA" \
	--station 1 --ip 198.18.42.1/24 -n "$SIZE" --json
server_done "perf tcp"
expect_eq "$(jv .bytes)" "$SIZE" "perf tcp: bytes"
info "perf tcp: $(jv .gbps) Gbit/s, mss $(jv .mss), $(jv .retransmits) retransmits"

server "$TMPD/rx2.bin" "$TMPD/s.err" "$JET" cat --proto tcp -l 5300 --link "$LB" --station 2 \
	--ip 198.18.42.2/24
check_ok "cat --proto tcp of $SIZE bytes" "${INA[@]}" "${IO[@]}" "$TMPD/in" "$JET" cat --proto tcp \
	--link "$LA" --station 1 --ip 198.18.42.1/24 198.18.42.2 5300
server_done "cat --proto tcp"
expect_eq "$(sha256sum <"$TMPD/rx2.bin" | cut -d' ' -f1)" "$WANT" "cat --proto tcp: sha256 of what arrived"

# ---- jet host across udp: its TCP echo, from another stack ----
bg_start HOST "$TMPD/host.out" "$TMPD/host.err" 60 "${INB[@]}" "$JET" host --link "$LB" --station 2 \
	--ip 198.18.42.2/24 --services echo
HOSTPID=$JETPID
wait_grep "$TMPD/host.out" "services" 10 || { dump "$TMPD/host.out" "$TMPD/host.err"; fail "jet host did not start"; }
head -c $((SIZE / 8)) "$TMPD/in" >"$TMPD/echo.in"
run "${INA[@]}" bash -c 'exec "$0" cat --proto tcp --link "$1" --station 1 --ip 198.18.42.1/24 198.18.42.2 7 \
	<"$2" >"$3"' "$JET" "$LA" "$TMPD/echo.in" "$TMPD/echo.out"
[ "$RC" = 0 ] || fail "jet host echo: exit code $RC"
cmp -s "$TMPD/echo.in" "$TMPD/echo.out" || fail "jet host echo: the bytes came back changed"
ok "jet host on udp: echoes $((SIZE / 8)) bytes byte-exact"
kill -TERM "$HOSTPID" 2>/dev/null
wait_exit "$HOST" 10 || fail "jet host did not stop on SIGTERM"
[ "$BG_RC" = 0 ] || { dump "$TMPD/host.err"; fail "jet host exited $BG_RC on SIGTERM"; }

# ---- without GSO and GRO ----
export JET_UDP_GSO=0 JET_UDP_GRO=0
server "$TMPD/rx3.bin" "$TMPD/s.err" "$JET" cat -l --link "$LB" --station 2
check_ok "cat (RBS), GSO and GRO off" "${INA[@]}" "${IO[@]}" "$TMPD/in" "$JET" cat --link "$LA" \
	--station 1 2:5300
server_done "cat, GSO and GRO off"
expect_eq "$(sha256sum <"$TMPD/rx3.bin" | cut -d' ' -f1)" "$WANT" "cat (RBS), GSO and GRO off: sha256"
unset JET_UDP_GSO JET_UDP_GRO

# ---- the kernels' ping went on ----
kill -INT "$PINGPID" 2>/dev/null
wait_exit "$PING" 10 || fail "ping did not stop"
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$TMPD/ping.out")
recv=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TMPD/ping.out")
[ -n "$sent" ] && [ -n "$recv" ] && [ "$sent" -gt 10 ] || { dump "$TMPD/ping.out"; fail "no ping statistics"; }
[ $((recv * 10)) -ge $((sent * 9)) ] || { dump "$TMPD/ping.out"; fail "ping: $recv of $sent replies"; }
ok "the kernels' ping during the transfers: $recv of $sent replies"
done_ok
