#!/usr/bin/env bash
# Kernel protocols across the emulated LAN (issue 11, item 6): two network
# namespaces, each with a TAP interface that `jet lan tap` attaches to one
# LAN as a station, so the two kernels talk TCP/IP across the LAN.
#
#     netns $NS_A                                  netns $NS_B
#     $IF_A 198.18.7.1/24                           $IF_B 198.18.7.2/24
#        | TAP                                         | TAP
#     jet lan tap (station 0) ===== LAN ===== jet lan tap (station 1)
#        (both processes stay in this namespace; only the interfaces move)
#
# 1. LAN with --mtu 65536 (the kernel's 64 KiB TCP segments cross whole):
#    ping both ways; 100 MB over TCP (socat) byte-exact (sha256); iperf3 for
#    10 s, bits_per_second > 0; Jetstream's TCP (station 2, checksums left
#    partial on the LAN) to and from the kernel, 8 MB each way byte-exact;
#    SIGTERM: both exit 0, interfaces gone, nothing dropped on a lossless LAN.
# 2. A LAN with --loss 0.01 and the default MTU (9000: the tap link cuts the
#    kernel's TSO segments to 9014-byte frames): 100 MB byte-exact again.
# 3. Errors: no --ifname; a namespace that does not exist (no interface left).
# Needs root (CAP_NET_ADMIN), /dev/net/tun, ip, ping, socat, iperf3.
# The namespaces are deleted by the exit trap, whatever happens.
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

skip() {
	echo "SKIP: $*"
	exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, TAP devices)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
for c in ip ping socat iperf3 sha256sum; do
	command -v "$c" >/dev/null || skip "needs $c (scripts/deps.sh)"
done

NS_A=jt-bridge-$$-a
NS_B=jt-bridge-$$-b
IF_A=jtba$$
IF_B=jtbb$$
IP_A=198.18.7.1
IP_B=198.18.7.2
tap_cleanup() {
	local rc=$?
	cleanup # lib.sh: kills our processes (the taps: their interfaces go), destroys the LANs
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	exit $rc
}
trap tap_cleanup EXIT
ip netns add "$NS_A" || fail "ip netns add $NS_A"
ip netns add "$NS_B" || fail "ip netns add $NS_B"
ip -n "$NS_A" link set lo up
ip -n "$NS_B" link set lo up
A=(ip netns exec "$NS_A")
B=(ip netns exec "$NS_B")

# start_taps LAN: both stations; waits for their start lines.
start_taps() {
	bg_start TA "$TMPD/ta.out" "$TMPD/ta.err" 110 "$JET" lan tap "$1" --ifname "$IF_A" \
		--station 0 --ip "$IP_A/24" --netns "$NS_A"
	TA_PID=$JETPID
	bg_start TB "$TMPD/tb.out" "$TMPD/tb.err" 110 "$JET" lan tap "$1" --ifname "$IF_B" \
		--station 1 --ip "$IP_B/24" --netns "$NS_B"
	TB_PID=$JETPID
	wait_grep "$TMPD/ta.out" "station 0:" 10 || { dump "$TMPD/ta.out" "$TMPD/ta.err"; fail "tap A did not start"; }
	wait_grep "$TMPD/tb.out" "station 1:" 10 || { dump "$TMPD/tb.out" "$TMPD/tb.err"; fail "tap B did not start"; }
	info "$(head -n 1 "$TMPD/ta.out")"
	info "$(head -n 1 "$TMPD/tb.out")"
	grep -q "MTU $2," "$TMPD/ta.out" || { dump "$TMPD/ta.out"; fail "tap A: MTU is not $2"; }
	expect_eq "$(ip -n "$NS_A" -o link show "$IF_A" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2 | cut -c1-8)" \
		"02:4a:53" "interface MAC is a station MAC"
}

# stop_taps: SIGTERM, exit 0, interfaces removed.  Leaves the stop lines in
# STOP_A, STOP_B.
stop_taps() {
	kill -TERM "$TA_PID" "$TB_PID"
	wait_exit "$TA" 10 || fail "tap A still running 10 s after SIGTERM"
	[ "$BG_RC" -eq 0 ] || { dump "$TMPD/ta.out" "$TMPD/ta.err"; fail "tap A exited $BG_RC"; }
	wait_exit "$TB" 10 || fail "tap B still running 10 s after SIGTERM"
	[ "$BG_RC" -eq 0 ] || { dump "$TMPD/tb.out" "$TMPD/tb.err"; fail "tap B exited $BG_RC"; }
	ok "both taps exit 0 on SIGTERM"
	STOP_A=$(grep '^stopped:' "$TMPD/ta.out")
	STOP_B=$(grep '^stopped:' "$TMPD/tb.out")
	info "A $STOP_A"
	info "B $STOP_B"
	! ip -n "$NS_A" link show "$IF_A" >/dev/null 2>&1 || fail "$IF_A still exists"
	! ip -n "$NS_B" link show "$IF_B" >/dev/null 2>&1 || fail "$IF_B still exists"
	ok "interfaces removed"
}

# ping_rtt FROM-NS-ARRAY-NAME TO WHAT
ping_check() {
	local -n ns=$1
	check_ok "$3" "${ns[@]}" ping -c 5 -i 0.05 -W 2 "$2"
	info "$3: $(printf '%s\n' "$OUT" | grep -o 'rtt.*')"
}

DATA=$TMPD/data
head -c 100000000 /dev/urandom >"$DATA" || fail "no test data"
SUM=$(sha256sum <"$DATA" | cut -d' ' -f1)

# transfer WHAT PORT: 100 MB from A to B over TCP; the receiver hashes it.
transfer() {
	local t0 t1
	bg_start RX "$TMPD/rx.out" "$TMPD/rx.err" 60 "${B[@]}" sh -c \
		"socat -u -b 262144 TCP-LISTEN:$2,reuseaddr STDOUT | sha256sum"
	t0=$(date +%s.%N)
	check_ok "$1: send 100 MB" "${A[@]}" socat -u -b 262144 "OPEN:$DATA" "TCP:$IP_B:$2,retry=100,interval=0.05"
	wait_exit "$RX" 30 || fail "$1: receiver still running"
	t1=$(date +%s.%N)
	[ "$BG_RC" -eq 0 ] || { dump "$TMPD/rx.out" "$TMPD/rx.err"; fail "$1: receiver exited $BG_RC"; }
	expect_eq "$(cut -d' ' -f1 "$TMPD/rx.out")" "$SUM" "$1: 100 MB byte-exact (sha256)"
	info "$1: 100 MB in $(echo "$t0 $t1" | awk '{printf "%.2f s, %.2f Gbit/s", $2 - $1, 8e8 / ($2 - $1) / 1e9}') (socat start included)"
}

# --- 1. a LAN that carries 64 KiB segments whole ---------------------------
L=$(lan_name tap)
check_ok "lan create $L --mtu 65536" "$JET" lan create "$L" --mtu 65536
start_taps "$L" 65521
ping_check A "$IP_B" "ping A -> B"
ping_check B "$IP_A" "ping B -> A"
transfer "mtu 65536" 5001

bg_start SRV "$TMPD/srv.out" "$TMPD/srv.err" 40 "${B[@]}" iperf3 -s -1 -p 5202
check_ok "iperf3 -c $IP_B -t 10 -J" "${A[@]}" iperf3 -c "$IP_B" -p 5202 -t 10 -J --connect-timeout 5000
wait_exit "$SRV" 10 || fail "iperf3 server still running"
BPS=$(jv '.end.sum_received.bits_per_second')
awk -v b="$BPS" 'BEGIN { exit !(b > 0) }' || fail "iperf3: bits_per_second $BPS"
ok "iperf3: $(awk -v b="$BPS" 'BEGIN { printf "%.2f Gbit/s", b / 1e9 }') received, $(jv '.end.sum_sent.retransmits') retransmits"

# Jetstream's TCP on station 2 with a kernel as its peer: on the LAN (caps.csum) it
# leaves its checksums partial, and jet lan tap hands them to the kernel as NEEDS_CSUM
# (docs/lan.md): the kernel must take every segment, both ways.
head -c 8000000 "$DATA" >"$TMPD/d8" || fail "no test data"
S8=$(sha256sum <"$TMPD/d8" | cut -d' ' -f1)
bg_start RX "$TMPD/jrx.out" "$TMPD/jrx.err" 60 "${B[@]}" sh -c \
	"socat -u TCP-LISTEN:5004,reuseaddr STDOUT | sha256sum"
for _ in $(seq 100); do "${B[@]}" ss -Hltn 'sport = :5004' | grep -q . && break; sleep 0.05; done
check_ok "jet cat --proto tcp -> kernel (8 MB)" bash -c 'exec "$@" <"$0"' "$TMPD/d8" \
	"$JET" cat --proto tcp --link "lan:$L" --station 2 --ip 198.18.7.3/24 "$IP_B" 5004
wait_exit "$RX" 30 || fail "jet -> kernel: receiver still running"
expect_eq "$(cut -d' ' -f1 "$TMPD/jrx.out")" "$S8" "jet -> kernel: 8 MB byte-exact (partial checksums completed)"
bg_start RX "$TMPD/jrx2.out" "$TMPD/jrx2.err" 60 sh -c \
	'"$@" | sha256sum' _ "$JET" cat --proto tcp -l 5005 --link "lan:$L" --station 2 --ip 198.18.7.3/24
wait_grep "$TMPD/jrx2.err" "listening on" 10 || wait_attached "$L" 2 10 || fail "kernel -> jet: no listener"
sleep 0.2
check_ok "kernel -> jet cat --proto tcp (8 MB)" "${A[@]}" socat -u "OPEN:$TMPD/d8" \
	"TCP:198.18.7.3:5005,retry=100,interval=0.05"
wait_exit "$RX" 30 || fail "kernel -> jet: receiver still running"
expect_eq "$(cut -d' ' -f1 "$TMPD/jrx2.out")" "$S8" "kernel -> jet: 8 MB byte-exact"
stop_taps
for s in "$STOP_A" "$STOP_B"; do
	[[ $s == *" 0 too large, 0 native, 0 refused" ]] || fail "drops on a lossless LAN: $s"
done
ok "no frame too large, native or refused"

# --- 2. a lossy LAN of the default MTU -------------------------------------
L2=$(lan_name tap-loss)
check_ok "lan create $L2 --loss 0.01" "$JET" lan create "$L2" --loss 0.01 --seed 11
start_taps "$L2" 9000
check_ok "ping A -> B (lossy LAN)" "${A[@]}" sh -c "ping -c 10 -i 0.05 -W 1 $IP_B | grep -q ' 0% packet loss\| [1-9][0-9]* received'"
transfer "loss 0.01" 5003
check_ok "lan show $L2" "$JET" lan show "$L2" --json
LOST=$(jv '[.station[].fault_lost] | add')
[ "$LOST" -gt 0 ] || fail "the LAN lost nothing"
ok "the LAN lost $LOST frames; TCP delivered every byte"
stop_taps

# --- 3. errors --------------------------------------------------------------
check_err 2 "needs --ifname" "no --ifname" "$JET" lan tap "$L"
check_err 1 "jt-bridge-none-$$" "a namespace that does not exist" \
	"$JET" lan tap "$L" --ifname "$IF_A" --netns "jt-bridge-none-$$"
! ip link show "$IF_A" >/dev/null 2>&1 || fail "$IF_A left behind after a failed start"
ok "no interface left behind"
done_ok
