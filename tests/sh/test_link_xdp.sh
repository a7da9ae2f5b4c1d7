#!/usr/bin/env bash
# The xdp: link end to end (issue 13), between two network namespaces of our
# own (deleted by the trap, whatever happens):
#
#   netns jtxdpA-PID                              netns jtxdpB-PID
#     kernel 198.18.41.101/24 -- vA ==== veth ==== vB -- kernel 198.18.41.102/24
#     jet (xdp:vA) station 1, 198.18.41.1         jet (xdp:vB) station 2, 198.18.41.2
#
#  1. RBS: jet perf --proto rbs -n 64M, and jet cat of a file (sha256 both ends);
#     meanwhile the kernels ping each other (.101 <-> .102) on the same veth;
#  2. user TCP: jet cat --proto tcp of a file (sha256) and jet perf --proto tcp;
#  3. kill -9 of a jet perf server: its program stays on vA (a crash cannot
#     detach); a restart replaces it and moves data; SIGTERM detaches;
#  4. jet host --link xdp:vA --ip 198.18.41.1/24 --services all serves the
#     kernel in B: ping, a 50 MB echo byte-exact (socat), curl; the kernel's
#     own address .101 still answers ping; SIGTERM: exit 0, program detached.
# Sizes: 32 MB files in a release build, 8 MB (and a 16 MB echo) under
# JET_SANITIZED=1.  Needs root, ip, ping, socat, curl, sha256sum, ethtool: skips
# without.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "skip: needs root for network namespaces"; exit 77; }
for c in ip ping socat curl sha256sum head ethtool; do
	command -v $c >/dev/null || { echo "skip: no $c"; exit 77; }
done
MB=$((1024 * 1024))
SIZE=$((32 * MB))
ECHO=$((50 * 1000 * 1000))
PERF=64M
if [ "$SANITIZED" = 1 ]; then
	SIZE=$((8 * MB))
	ECHO=$((16 * MB))
	PERF=16M
fi
# shellcheck disable=SC2034 # lib.sh reads it
CMD_TIMEOUT=60
A=jtxdpA-$$
B=jtxdpB-$$
ip netns add "$A" 2>/dev/null || { echo "skip: cannot create a network namespace"; exit 77; }
trap 'cleanup; ip netns del "$A" 2>/dev/null; ip netns del "$B" 2>/dev/null' EXIT
ip netns add "$B" || fail "cannot create $B"
INA=(ip netns exec "$A")
INB=(ip netns exec "$B")
for n in "$A" "$B"; do
	ip netns exec "$n" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6;
		echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6; ip link set lo up' ||
		fail "cannot set up $n"
done
ip -n "$A" link add vA type veth peer name vB netns "$B" || fail "cannot make the veth pair"
ip -n "$A" addr add 198.18.41.101/24 dev vA
ip -n "$B" addr add 198.18.41.102/24 dev vB
ip -n "$A" link set vA up
ip -n "$B" link set vB up
head -c "$SIZE" /dev/urandom >"$TMPD/in" || fail "no input file"
WANT=$(sha256sum <"$TMPD/in" | cut -d' ' -f1)

has_prog() { ip -n "$A" link show vA | grep -q "prog/xdp.*jet_xdp"; }

# The kernels ping each other on the veth while a transfer runs: bg, then ping_ok.
ping_bg() {
	bg_start PING "$TMPD/ping.out" "$TMPD/ping.err" 30 \
		"${INA[@]}" ping -c 30 -i 0.05 -W 1 198.18.41.102
}
ping_ok() { # WHAT
	wait_exit "$PING" 10 || fail "$1: ping still running"
	grep -q " 0% packet loss" "$TMPD/ping.out" || { dump "$TMPD/ping.out"; fail "$1: the kernels' ping lost packets"; }
	ok "$1: kernel ping .101 -> .102 on the same veth: $(grep -o '[0-9]* received' "$TMPD/ping.out")"
}

# ---- 1. RBS ----
bg_start SRV "$TMPD/s.out" "$TMPD/s.err" 30 "${INA[@]}" "$JET" perf --proto rbs -s -1 --link xdp:vA --station 1
for _ in $(seq 100); do has_prog && break; sleep 0.05; done
has_prog || { dump "$TMPD/s.err"; fail "no jet_xdp program on vA"; }
ping_bg
check_ok "jet perf --proto rbs -n $PERF over xdp:" \
	"${INB[@]}" "$JET" perf --proto rbs -c --to 1 --link xdp:vB --station 2 -n $PERF --json
expect_jq '.bytes > 0 and .gbps > 0' "RBS over xdp: $(jv .gbps) Gb/s"
wait_exit "$SRV" 10 || fail "rbs perf server still running"
expect_eq "$BG_RC" 0 "rbs perf server exit code"
ping_ok "RBS"
has_prog && fail "the program is still on vA after the server closed"
ok "closing the link detached the program"

bg_start RX "$TMPD/rx.out" "$TMPD/rx.err" 40 \
	"${INA[@]}" sh -c "exec $JET cat -l --link xdp:vA --station 1 >$TMPD/out.rbs"
sleep 0.3
check_ok "jet cat: $SIZE bytes over RBS on xdp:" \
	"${INB[@]}" sh -c "exec $JET cat --link xdp:vB --station 2 1:5300 <$TMPD/in"
wait_exit "$RX" 20 || fail "cat listener still running"
expect_eq "$BG_RC" 0 "cat listener exit code"
expect_eq "$(sha256sum <"$TMPD/out.rbs" | cut -d' ' -f1)" "$WANT" "RBS: sha256 of $SIZE bytes"

# ---- 2. user TCP ----
bg_start RX "$TMPD/rx.out" "$TMPD/rx.err" 40 \
	"${INA[@]}" sh -c "exec $JET cat --proto tcp -l 5000 --link xdp:vA --ip 198.18.41.1/24 >$TMPD/out.tcp"
wait_grep "$TMPD/rx.err" "listening" 10 || { dump "$TMPD/rx.err"; fail "tcp cat did not listen"; }
ping_bg
check_ok "jet cat --proto tcp: $SIZE bytes over xdp:" \
	"${INB[@]}" sh -c "exec $JET cat --proto tcp --link xdp:vB --ip 198.18.41.2/24 198.18.41.1 5000 <$TMPD/in"
wait_exit "$RX" 20 || fail "tcp cat listener still running"
expect_eq "$BG_RC" 0 "tcp cat listener exit code"
expect_eq "$(sha256sum <"$TMPD/out.tcp" | cut -d' ' -f1)" "$WANT" "user TCP: sha256 of $SIZE bytes"
ping_ok "user TCP"

bg_start SRV "$TMPD/s.out" "$TMPD/s.err" 30 \
	"${INA[@]}" "$JET" perf --proto tcp -s --link xdp:vA --ip 198.18.41.1/24
SRVJET=$JETPID
wait_grep "$TMPD/s.out" "listening" 10 || { dump "$TMPD/s.out" "$TMPD/s.err"; fail "tcp perf server did not start"; }
check_ok "jet perf --proto tcp -n $PERF over xdp:" \
	"${INB[@]}" "$JET" perf --proto tcp -c --to 198.18.41.1 --link xdp:vB --ip 198.18.41.2/24 -n $PERF --json
expect_jq '.bytes > 0 and .gbps > 0' "user TCP over xdp: $(jv .gbps) Gb/s, $(jv .retransmits) retransmits"
kill -TERM "$SRVJET"
wait_exit "$SRV" 10 || fail "tcp perf server did not stop on SIGTERM"
expect_eq "$BG_RC" 0 "tcp perf server exit code on SIGTERM"

# ---- 3. kill -9, restart ----
bg_start SRV "$TMPD/k.out" "$TMPD/k.err" 30 "${INA[@]}" "$JET" perf --proto rbs -s --link xdp:vA --station 1
for _ in $(seq 100); do has_prog && break; sleep 0.05; done
has_prog || fail "kill: no program on vA"
kill -KILL "$JETPID"
wait_exit "$SRV" 5 || fail "kill: the server survived SIGKILL"
has_prog || fail "kill: the program went with the process (expected it left behind)"
ok "kill -9: the killed server's program is left on vA"
bg_start SRV "$TMPD/k2.out" "$TMPD/k2.err" 30 "${INA[@]}" "$JET" perf --proto rbs -s --link xdp:vA --station 1
SRVJET=$JETPID
sleep 0.5
alive "$SRV" || { dump "$TMPD/k2.err"; fail "restart: the server did not start"; }
check_ok "after kill -9, a restarted server moves data" \
	"${INB[@]}" "$JET" perf --proto rbs -c --to 1 --link xdp:vB --station 2 -n 16M --json
expect_jq '.bytes > 0' "restart: 16 MiB over RBS"
[ "$(ip -n "$A" link show vA | grep -c 'prog/xdp')" = 1 ] || fail "restart: not one program on vA"
kill -TERM "$SRVJET"
wait_exit "$SRV" 10 || fail "restart: the server did not stop on SIGTERM"
has_prog && fail "SIGTERM: the program is still on vA"
ok "SIGTERM: the server closed its link, program detached"

# ---- 4. jet host ----
# A veth hands the kernel's TCP segments over with their checksum left partial (the
# receiver's kernel would trust it); frames that leave the stack through XDP lose that
# mark, so the kernel in B computes its checksums itself, as a real NIC's peer would
# see them (docs/link-xdp.md)
ip netns exec "$B" ethtool -K vB tx off >/dev/null || fail "ethtool -K vB tx off"
bg_start HP "$TMPD/host.out" "$TMPD/host.err" 120 \
	"${INA[@]}" "$JET" host --link xdp:vA --ip 198.18.41.1/24 --services all
HOST=$JETPID
wait_grep "$TMPD/host.out" "services" 10 || { dump "$TMPD/host.out" "$TMPD/host.err"; fail "jet host did not start"; }
check_ok "kernel in B pings jet host (198.18.41.1)" "${INB[@]}" ping -c 3 -i 0.2 -W 1 198.18.41.1
check_ok "kernel in B pings the kernel in A (198.18.41.101) meanwhile" \
	"${INB[@]}" ping -c 3 -i 0.2 -W 1 198.18.41.101
head -c "$ECHO" "$TMPD/in" >"$TMPD/echo.in"
while [ "$(stat -c %s "$TMPD/echo.in")" -lt "$ECHO" ]; do cat "$TMPD/in" >>"$TMPD/echo.in"; done
truncate -s "$ECHO" "$TMPD/echo.in"
t0=$(date +%s%N)
run "${INB[@]}" socat -b 131072 -t 30 -T 30 "OPEN:$TMPD/echo.in,rdonly!!CREATE:$TMPD/echo.back" TCP:198.18.41.1:7
[ "$RC" = 0 ] || fail "echo: socat exit $RC"
ms=$((($(date +%s%N) - t0) / 1000000))
expect_eq "$(sha256sum <"$TMPD/echo.back" | cut -d' ' -f1)" "$(sha256sum <"$TMPD/echo.in" | cut -d' ' -f1)" \
	"echo: $ECHO bytes back byte-exact in $ms ms"
check_ok "curl http://198.18.41.1/" "${INB[@]}" curl -sS -m 10 -o "$TMPD/page" -w '%{http_code}' http://198.18.41.1/
expect_eq "$OUT" 200 "curl: HTTP status"
kill -TERM "$HOST"
wait_exit "$HP" 10 || fail "jet host did not stop on SIGTERM"
expect_eq "$BG_RC" 0 "jet host exit code on SIGTERM"
has_prog && fail "jet host: the program is still on vA after SIGTERM"
ok "jet host: SIGTERM detached the program"
done_ok
