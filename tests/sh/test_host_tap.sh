#!/usr/bin/env bash
# jet host on a TAP device with the Linux kernel as its peer, in a network
# namespace of our own (deleted by the trap, whatever happens):
#
#   netns jt-glue-PID
#     kernel 198.18.5.1/24 --- jt0 (tap) --- jet host 198.18.5.2/24 (echo, discard, daytime)
#     kernel 198.18.7.1/24 --- jt1 (tap) --- jet ping 198.18.7.2/24 (gateway 198.18.7.1)
#
# Checks: ping -c 5; ping -s 8000 (fragments both ways); 5 s of ping -f with
# no loss; 10,000 UDP datagrams of random sizes (some over the MTU, so
# fragmented both ways) echoed byte-exact; a closed port refused (python's
# connected socket gets ECONNREFUSED, nc -vzu fails); daytime; jet ping to the
# kernel, and through it (routed) to jet host; jet host exits 0 on SIGTERM.
# Needs root (CAP_NET_ADMIN), /dev/net/tun, ip, ping, nc and python3: skips
# without them.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "skip: needs root for network namespaces"; exit 77; }
[ -c /dev/net/tun ] || { echo "skip: no /dev/net/tun"; exit 77; }
for c in ip ping nc python3; do
	command -v $c >/dev/null || { echo "skip: no $c"; exit 77; }
done
NS=jt-glue-$$
ip netns add "$NS" 2>/dev/null || { echo "skip: cannot create a network namespace"; exit 77; }
# lib.sh's trap kills our processes and removes the LANs; the namespace goes after.
trap 'cleanup; ip netns del "$NS" 2>/dev/null' EXIT
IN=(ip netns exec "$NS")
"${IN[@]}" ip link set lo up

if command -v setpriv >/dev/null; then
	check_err 1 "CAP_NET_ADMIN" "without CAP_NET_ADMIN jet host says why and exits 1" \
		"${IN[@]}" setpriv --bounding-set=-net_admin --inh-caps=-net_admin \
		"$JET" host --link tap:jt9 --ip 198.18.5.2/24
fi

bg_start HP "$TMPD/host.out" "$TMPD/host.err" 120 \
	"${IN[@]}" "$JET" host --link tap:jt0 --ip 198.18.5.2/24 --gw 198.18.5.1 \
	--services echo,discard,daytime
HOST=$JETPID # ip netns exec execs jet host: this is its pid
wait_grep "$TMPD/host.out" "services" 10 || { dump "$TMPD/host.out" "$TMPD/host.err"; fail "jet host did not start"; }
[ -n "$HOST" ] && grep -q host "/proc/$HOST/cmdline" 2>/dev/null || fail "no jet host process"
grep -q "^address 198.18.5.2/24 gateway 198.18.5.1 on tap:jt0\$" "$TMPD/host.out" || fail "no address line"
"${IN[@]}" ip addr add 198.18.5.1/24 dev jt0 || fail "cannot address jt0"
ok "jet host on tap:jt0 ($(sed -n 's/^mac //p' "$TMPD/host.out"))"

check_ok "ping -c 5" "${IN[@]}" ping -c 5 -i 0.2 -W 2 198.18.5.2
grep -q " 0% packet loss" <<<"$OUT" || fail "ping lost replies"
info "$(grep rtt <<<"$OUT")"
check_ok "ping -s 8000 (fragments both ways)" "${IN[@]}" ping -c 3 -i 0.2 -W 2 -s 8000 198.18.5.2
grep -q "3 received" <<<"$OUT" || fail "fragmented ping lost replies"
check_ok "ping -f for 5 s" "${IN[@]}" ping -f -w 5 198.18.5.2
# -w ends ping at the deadline whatever is in flight: the request sent last may
# still be on its way then, and counts as lost.  Any other loss fails.
read -r tx rx < <(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p' <<<"$OUT")
[ -n "$tx" ] && [ "$tx" -gt 1000 ] && [ "$rx" -ge $((tx - 1)) ] || fail "ping -f lost replies"
info "ping -f: $(grep transmitted <<<"$OUT")"

cat >"$TMPD/udp.py" <<'EOF'
# 10,000 datagrams to the echo service, up to 64 in flight; each carries its
# number and must come back byte for byte.  A datagram not back within 1 s is
# sent again (at most 3 times: counted).  Then a connected socket to a closed
# port must get ECONNREFUSED, and daytime must answer.
import os, random, socket, sys, time
N, HOST = 10000, "198.18.5.2"
rnd = random.Random(7)
def size():
    r = rnd.random()
    if r < 0.85: return rnd.randint(8, 1472)
    if r < 0.97: return rnd.randint(1473, 9000)   # fragmented: MTU 1500
    return rnd.randint(9001, 65507)
sizes = [size() for _ in range(N)]
sizes[0], sizes[1], sizes[2] = 8, 1473, 65507
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
s.setsockopt(socket.SOL_SOCKET, 32, 8 << 20)  # SO_SNDBUFFORCE
s.connect((HOST, 7))
s.settimeout(0.05)
def body(i):
    return i.to_bytes(8, "big") + random.Random(i).randbytes(sizes[i] - 8)
sent_at, tries, done, bad, resent = {}, {}, set(), 0, 0
nxt, t0 = 0, time.time()
while len(done) < N and time.time() - t0 < 60:
    while nxt < N and len(sent_at) < 64:
        s.send(body(nxt)); sent_at[nxt] = time.time(); tries[nxt] = 1; nxt += 1
    try:
        d = s.recv(70000)
        i = int.from_bytes(d[:8], "big")
        if i in sent_at:
            if d != body(i): bad += 1
            del sent_at[i]; done.add(i)
    except socket.timeout:
        pass
    now = time.time()
    for i, t in list(sent_at.items()):
        if now - t > 1.0:
            if tries[i] >= 3:
                print(f"datagram {i} ({sizes[i]} bytes) never came back"); sys.exit(1)
            s.send(body(i)); sent_at[i] = now; tries[i] += 1; resent += 1
print(f"echoed {len(done)} of {N} datagrams ({sum(sizes)} bytes) byte-exact: {len(done) - bad}, "
      f"wrong {bad}, resent {resent}, {time.time() - t0:.2f} s")
if len(done) != N or bad: sys.exit(1)
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.connect((HOST, 9999)); c.settimeout(2)
c.send(b"x")
try:
    c.recv(100); print("closed port answered?"); sys.exit(1)
except ConnectionRefusedError:
    print("closed port: ECONNREFUSED")
except socket.timeout:
    print("closed port: no ICMP port unreachable within 2 s"); sys.exit(1)
d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
d.connect((HOST, 13)); d.settimeout(2); d.send(b"?")
t = d.recv(100)
print("daytime:", t.decode().strip())
if not t.endswith(b"\r\n"): sys.exit(1)
EOF
check_ok "10,000 UDP datagrams echoed byte-exact, ECONNREFUSED, daytime" "${IN[@]}" python3 "$TMPD/udp.py"
printf '%s\n' "$OUT" | while read -r l; do info "$l"; done
check_err 1 "" "nc -vzu to a closed port fails (refused)" "${IN[@]}" nc -vzu -w1 198.18.5.2 9999
check_ok "nc -vzu to the echo port succeeds" "${IN[@]}" nc -vzu -w1 198.18.5.2 7

# jet ping on a second tap: the kernel directly, then routed through it to jet host.
"${IN[@]}" ip tuntap add dev jt1 mode tap || fail "cannot create jt1"
"${IN[@]}" ip addr add 198.18.7.1/24 dev jt1
"${IN[@]}" ip link set jt1 up
"${IN[@]}" sysctl -qw net.ipv4.ip_forward=1
# -W 3: the kernel sends nothing for about a second after a tap's carrier comes up
check_ok "jet ping the kernel" "${IN[@]}" "$JET" ping --link tap:jt1 --ip 198.18.7.2/24 \
	--gw 198.18.7.1 -c 3 -i 0.2 -W 3 198.18.7.1
info "$(grep rtt <<<"$OUT")"
check_ok "jet ping jet host through the kernel" "${IN[@]}" "$JET" ping --link tap:jt1 \
	--ip 198.18.7.2/24 --gw 198.18.7.1 -c 3 -i 0.2 -W 3 -s 3000 198.18.5.2
info "$(grep rtt <<<"$OUT")"

# The kernel on an emulated LAN (jet lan tap) beside a jet host: ping both ways.
L=$(lan_name host)
check_ok "lan create" "$JET" lan create "$L"
bg_start LT "$TMPD/lantap.out" "$TMPD/lantap.err" 60 \
	"$JET" lan tap "$L" --ifname jtl0 --ip 198.18.8.1/24 --netns "$NS"
LANTAP=$JETPID
wait_grep "$TMPD/lantap.out" "interface jtl0" 10 || { dump "$TMPD/lantap.out" "$TMPD/lantap.err"; fail "jet lan tap did not start"; }
bg_start HL "$TMPD/hostlan.out" "$TMPD/hostlan.err" 60 \
	"$JET" host --link "lan:$L" --ip 198.18.8.2/24 --services echo
HOSTLAN=$JETPID
wait_grep "$TMPD/hostlan.out" "services" 10 || fail "jet host on the LAN did not start"
check_ok "kernel on the LAN pings jet host" "${IN[@]}" ping -c 3 -i 0.2 -W 2 198.18.8.2
info "$(grep rtt <<<"$OUT")"
# 8000 bytes: fragments both ways across the LAN, frames over 1514 bytes through the TAP station
check_ok "kernel on the LAN pings jet host, -s 8000" "${IN[@]}" ping -c 3 -i 0.2 -W 2 -s 8000 198.18.8.2
grep -q "3 received" <<<"$OUT" || fail "fragmented ping across the LAN lost replies"
check_ok "jet ping on the LAN pings the kernel" "$JET" ping --link "lan:$L" \
	--ip 198.18.8.3/24 -c 3 -i 0.2 -W 2 198.18.8.1
info "$(grep rtt <<<"$OUT")"
run "${IN[@]}" bash -c 'echo hello-lan | nc -u -w1 198.18.8.2 7'
expect_eq "$OUT" "hello-lan" "UDP echo across the LAN from the kernel"
kill -TERM "$HOSTLAN" "$LANTAP"
wait_exit "$HL" 10 || fail "jet host on the LAN did not stop"
expect_eq "$BG_RC" 0 "jet host on the LAN exit code on SIGTERM"
wait_exit "$LT" 10 || fail "jet lan tap did not stop"

kill -TERM "$HOST"
wait_exit "$HP" 10 || fail "jet host did not stop on SIGTERM"
expect_eq "$BG_RC" 0 "jet host exit code on SIGTERM"
grep "^stopped: " "$TMPD/host.out" >/dev/null || { dump "$TMPD/host.out" "$TMPD/host.err"; fail "no closing line"; }
info "$(grep '^stopped: ' "$TMPD/host.out")"
# Every flood request reached jet host and was answered (the 11 others: ping -c 5,
# ping -s 8000 -c 3, the routed jet ping -c 3), the last one too.
answered=$(sed -n 's/^stopped: \([0-9]*\) pings answered.*/\1/p' "$TMPD/host.out")
[ "${answered:-0}" -ge $((tx + 11)) ] || fail "jet host answered $answered pings, wanted $((tx + 11)) or more"
ok "jet host answered every ping ($answered)"
"${IN[@]}" ip link show jt0 >/dev/null 2>&1 && fail "jt0 is still there after jet host exited"
ok "jt0 went with jet host"
done_ok
