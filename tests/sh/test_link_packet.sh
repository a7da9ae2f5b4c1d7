#!/usr/bin/env bash
# The packet:IF link end to end (docs/link-packet.md), between two network
# namespaces of our own joined by a veth pair (deleted by the trap):
#
#   netns jtpacketA-PID                              netns jtpacketB-PID
#     kernel 198.18.40.101/24  jtpa$$ ======== jtpb$$  kernel 198.18.40.102/24
#     stack  198.18.40.1 / station 1                 stack 198.18.40.2 / station 2
#
# Each stack uses its interface's MAC beside its kernel.  The veths keep their
# offloads: A's kernel sends TCP to jet host as TSO frames of up to 64 KiB,
# which the link cuts into MTU-sized segments.  While everything runs, the two
# kernels ping each other (.101 <-> .102): not one ping lost.
#   1. errors: no such interface, interface down (exit 1, the reason said)
#   2. raw: jet perf --proto raw ping-pong (64-byte frames, 300 round trips)
#   3. RBS: jet cat of a file, sha256 both ends (both directions at once)
#   4. TCP: jet cat --proto tcp of a file, sha256 both ends (both directions)
#   5. the stack's own address (.2, not the kernel's): jet host serves the kernel
#      in A (ping, TCP echo byte-exact); nothing is applied (no nftables table);
#      B's kernel sent no RST (nstat TcpOutRsts)
#   6. the kernel's address shared (.102): jet host --ip 198.18.40.102 serves TCP
#      echo to A's kernel byte-exact while B's kernel, which has the address too,
#      sends no RST and no port unreachable (nstat): the nftables table
#      jetstream_jtpb$$ keeps it off our ports, and is gone after jet host exits.
# Under JET_SANITIZED=1 the transfers are smaller.  Needs root, ip, ping, nstat,
# socat, sha256sum (scripts/deps.sh); libnftables for part 6.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "skip: needs root for network namespaces"; exit 77; }
for c in ip ping nstat socat sha256sum; do
	command -v $c >/dev/null || { echo "skip: no $c"; exit 77; }
done
MB=$((1024 * 1024))
SIZE=$((16 * MB))
[ "$SANITIZED" = 1 ] && SIZE=$((4 * MB))
NA=jtpacketA-$$ NB=jtpacketB-$$
IA=jtpa$$ IB=jtpb$$
ip netns add "$NA" 2>/dev/null || { echo "skip: cannot create a network namespace"; exit 77; }
ip netns add "$NB" || { ip netns del "$NA"; echo "skip: cannot create a network namespace"; exit 77; }
trap 'cleanup; ip netns del "$NA" 2>/dev/null; ip netns del "$NB" 2>/dev/null' EXIT
A=(ip netns exec "$NA")
B=(ip netns exec "$NB")
for n in "$NA" "$NB"; do
	ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$n" link set lo up
done
ip link add "$IA" netns "$NA" address 02:4a:50:28:00:01 type veth peer name "$IB" netns "$NB" \
	address 02:4a:50:28:00:02 || fail "cannot make the veth pair"
ip -n "$NA" addr add 198.18.40.101/24 dev "$IA" && ip -n "$NB" addr add 198.18.40.102/24 dev "$IB" &&
	ip -n "$NA" link set "$IA" up && ip -n "$NB" link set "$IB" up || fail "cannot set up the veths"
sha() { sha256sum "$1" | cut -d' ' -f1; }

# ---- 1. errors ----
check_err 1 "interface jt-nosuchif0 does not exist" "no such interface" \
	"${A[@]}" "$JET" perf --proto raw -s -1 --link packet:jt-nosuchif0
ip -n "$NA" link add jtpd$$ type veth peer name jtpe$$ || fail "cannot make a down veth"
check_err 1 "is down" "interface down" "${A[@]}" "$JET" perf --proto raw -s -1 --link packet:jtpd$$

# the kernels ping each other all along (5 per second)
bg_start PING "$TMPD/ping.out" "$TMPD/ping.err" 100 "${A[@]}" ping -i 0.2 -W 1 198.18.40.102
PINGPID=$JETPID

# ---- 2. raw frames ----
bg_start RS "$TMPD/rs.out" "$TMPD/rs.err" 30 "${B[@]}" "$JET" perf --proto raw -s --link "packet:$IB" \
	--station 2
sleep 0.3
run "${A[@]}" "$JET" perf --proto raw -c --to 2 --link "packet:$IA" --station 1 --pingpong -n 300 \
	--frame 64 --json
[ "$RC" -eq 0 ] || { dump "$TMPD/rs.err"; fail "raw ping-pong exited $RC"; }
expect_jq '.rtt_us.p50 > 0 and .rtt_us.p50 < 20000' "raw ping-pong p50"
info "raw ping-pong 64 B: p50 $(jv .rtt_us.p50) us, p99 $(jv .rtt_us.p99) us"
kill "$JETPID" 2>/dev/null
wait_exit "$RS" 10 || fail "the raw receiver still runs"

# ---- 3. RBS, both directions ----
head -c "$SIZE" /dev/urandom >"$TMPD/a" && head -c "$SIZE" /dev/urandom >"$TMPD/b" || fail "no data"
bg_start RL "$TMPD/rl.out" "$TMPD/rl.err" 60 "${B[@]}" bash -c 'i=$0 o=$1; shift; exec "$@" <"$i" >"$o"' \
	"$TMPD/b" "$TMPD/rbs_got_a" "$JET" cat -l --link "packet:$IB" --station 2 --chan 5300
sleep 0.3
run "${A[@]}" bash -c 'i=$0 o=$1; shift; exec "$@" <"$i" >"$o"' "$TMPD/a" "$TMPD/rbs_got_b" \
	"$JET" cat --link "packet:$IA" --station 1 2:5300
[ "$RC" -eq 0 ] || { dump "$TMPD/rl.err"; fail "RBS: jet cat exited $RC"; }
wait_exit "$RL" 30 || fail "RBS: the listener still runs"
[ "$BG_RC" -eq 0 ] || { dump "$TMPD/rl.err"; fail "RBS: the listener exited $BG_RC"; }
expect_eq "$(sha "$TMPD/rbs_got_a")" "$(sha "$TMPD/a")" "RBS A -> B byte-exact ($((SIZE / MB)) MiB)"
expect_eq "$(sha "$TMPD/rbs_got_b")" "$(sha "$TMPD/b")" "RBS B -> A byte-exact"

# ---- 4. TCP, both directions ----
bg_start TL "$TMPD/tl.out" "$TMPD/tl.err" 60 "${B[@]}" bash -c 'i=$0 o=$1; shift; exec "$@" <"$i" >"$o"' \
	"$TMPD/b" "$TMPD/tcp_got_a" "$JET" cat --proto tcp -l 5000 --link "packet:$IB" --ip 198.18.40.2/24
wait_grep "$TMPD/tl.err" "listening on 198.18.40.2 port 5000" 10 || { dump "$TMPD/tl.err"; fail "TCP: no listener"; }
run "${A[@]}" bash -c 'i=$0 o=$1; shift; exec "$@" <"$i" >"$o"' "$TMPD/a" "$TMPD/tcp_got_b" \
	"$JET" cat --proto tcp --link "packet:$IA" --ip 198.18.40.1/24 -v 198.18.40.2 5000
[ "$RC" -eq 0 ] || { dump "$TMPD/tl.err"; fail "TCP: jet cat exited $RC"; }
wait_exit "$TL" 30 || fail "TCP: the listener still runs"
[ "$BG_RC" -eq 0 ] || { dump "$TMPD/tl.err"; fail "TCP: the listener exited $BG_RC"; }
expect_eq "$(sha "$TMPD/tcp_got_a")" "$(sha "$TMPD/a")" "TCP A -> B byte-exact ($((SIZE / MB)) MiB)"
expect_eq "$(sha "$TMPD/tcp_got_b")" "$(sha "$TMPD/b")" "TCP B -> A byte-exact"

# ---- 5 and 6. jet host beside B's kernel: its own address, then the kernel's ----
head -c 200000 /dev/urandom >"$TMPD/echo" || fail "no data"
rsts() { "${B[@]}" nstat -az TcpOutRsts | awk '$1 == "TcpOutRsts" { print $2 }'; }
unreach() { "${B[@]}" nstat -az IcmpOutDestUnreachs | awk '$1 == "IcmpOutDestUnreachs" { print $2 }'; }
host_case() { # TAG ADDR
	local tag=$1 ip=$2 r0 u0
	bg_start HB "$TMPD/$tag.out" "$TMPD/$tag.err" 60 "${B[@]}" "$JET" host --link "packet:$IB" \
		--ip "$ip/24" --services echo
	HOSTPID=$JETPID
	wait_grep "$TMPD/$tag.out" "services" 10 || { dump "$TMPD/$tag.err"; fail "$tag: jet host did not start"; }
	r0=$(rsts) u0=$(unreach)
	check_ok "$tag: ping $ip from A's kernel" "${A[@]}" ping -c 3 -i 0.2 -W 2 "$ip"
	run "${A[@]}" bash -c "timeout 20 socat -T 5 -t 5 TCP:$ip:7 STDIO <'$TMPD/echo' >'$TMPD/$tag.got'"
	[ "$RC" -eq 0 ] || fail "$tag: echo through $ip:7 exited $RC"
	expect_eq "$(sha "$TMPD/$tag.got")" "$(sha "$TMPD/echo")" "$tag: TCP echo from A's kernel byte-exact"
	run "${A[@]}" bash -c "echo hi | timeout 5 socat -T 2 - UDP:$ip:7"
	expect_eq "$OUT" "hi" "$tag: UDP echo"
	expect_eq "$(($(rsts) - r0))" 0 "$tag: B's kernel sent no TCP reset"
	expect_eq "$(($(unreach) - u0))" 0 "$tag: B's kernel sent no ICMP unreachable"
}
host_case own 198.18.40.2
run "${B[@]}" nft list tables
grep -q jetstream <<<"$OUT" && fail "own address: an nftables table was applied: $OUT"
ok "own address: nothing applied (no nftables table)"
kill "$HOSTPID"
wait_exit "$HB" 10 || fail "own: jet host still runs"

if [ -e /usr/lib/x86_64-linux-gnu/libnftables.so.1 ] || ldconfig -p | grep -q libnftables.so.1; then
	host_case shared 198.18.40.102
	run "${B[@]}" nft list table inet "jetstream_$IB"
	[ "$RC" -eq 0 ] || fail "shared address: no table jetstream_$IB"
	grep -q "tcp dport 7 drop" <<<"$OUT" || fail "shared address: no rule for tcp port 7: $OUT"
	ok "shared address: table jetstream_$IB keeps the kernel off tcp and udp 7"
	kill "$HOSTPID"
	wait_exit "$HB" 10 || fail "shared: jet host still runs"
	[ "$BG_RC" -eq 0 ] || { dump "$TMPD/shared.err"; fail "shared: jet host exited $BG_RC"; }
	run "${B[@]}" nft list tables
	grep -q jetstream <<<"$OUT" && fail "shared address: the table is still there after exit: $OUT"
	ok "shared address: the table is gone after jet host exits"
else
	info "skipped the shared-address case: no libnftables.so.1"
fi

# the kernels' ping went on all along
kill -INT "$PINGPID" 2>/dev/null
wait_exit "$PING" 10 || true
grep -q " 0% packet loss" "$TMPD/ping.out" || { dump "$TMPD/ping.out"; fail "the kernels' ping lost packets"; }
ok "the kernels pinged each other throughout: $(grep -o '[0-9]* received' "$TMPD/ping.out")"
done_ok
