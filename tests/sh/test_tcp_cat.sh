#!/usr/bin/env bash
# jet cat --proto tcp between two user-space stacks over an emulated LAN (issue 12):
#
#     jet cat -l 5000  198.18.0.2 (station 1) ---- lan:$L ---- jet cat 1 5000  198.18.0.1 (station 0)
#
#  1. both directions at once, byte-exact (4 MiB each way, sha256), on a clean LAN
#     and with --zerocopy (send_ref, registered ring) on both ends;
#  2. on a LAN with --loss 0.01 --reorder 0.01 --dup 0.01: 4 MiB both ways at once,
#     then one long transfer, byte-exact: the issue's 1 GiB (32 MiB in a
#     sanitized build, so that CI stays short).  The stream is generated and hashed on the fly (no big files);
#  3. kill -9 of either end while data flows: the other exits 1 within --dead-after
#     (2 s here) plus slack, with one line that says why and how much stdout holds;
#  4. connecting to a port nobody listens on: exit 1, "refused"; to an address nobody
#     has: "unreachable" or "no answer"; usage errors: exit 2;
#  5. (root, /dev/net/tun, nc) the Linux kernel as the peer over tap:jtc0 in a network
#     namespace of our own (deleted by the trap): 3 MB each way at once, byte-exact,
#     with nc as the connector and then as the listener.
#
#     netns jt-perf-PID:  kernel 198.18.41.1/24 --- jtc0 (tap) --- jet cat 198.18.41.2/24
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

now_ms() { echo $(($(date +%s%N) / 1000000)); }
sha() { sha256sum "$1" | cut -d' ' -f1; }
CAT=("$JET" cat --proto tcp)

# both_ways TAG LAN PORT [OPTS...]: the listener on station 1 and the connector on
# station 0 each send their own 4 MiB while receiving the other's.
head -c 4194304 /dev/urandom >"$TMPD/a" || fail "cannot make data"
head -c 4194304 /dev/urandom >"$TMPD/b" || fail "cannot make data"
both_ways() {
	local tag=$1 lan=$2 port=$3 t0
	shift 3
	rm -f "$TMPD/got_a" "$TMPD/got_b"
	t0=$(now_ms)
	bg_start LS "$TMPD/$tag.l.out" "$TMPD/$tag.l.err" 90 bash -c 'i=$0 o=$1; shift; exec "$@" <"$i" >"$o"' \
		"$TMPD/b" "$TMPD/got_a" "${CAT[@]}" -l "$port" --link "lan:$lan" --station 1 -v "$@"
	wait_grep "$TMPD/$tag.l.err" "listening on 198.18.0.2 port $port" 10 ||
		{ dump "$TMPD/$tag.l.err"; fail "$tag: the listener did not start"; }
	run bash -c 'i=$0 o=$1; shift; exec "$@" <"$i" >"$o"' "$TMPD/a" "$TMPD/got_b" \
		"${CAT[@]}" --link "lan:$lan" --station 0 -v "$@" 1 "$port"
	[ "$RC" -eq 0 ] || { dump "$TMPD/$tag.l.err"; fail "$tag: the connector exited $RC"; }
	wait_exit "$LS" 30 || { dump "$TMPD/$tag.l.err"; fail "$tag: the listener still runs"; }
	[ "$BG_RC" -eq 0 ] || { dump "$TMPD/$tag.l.err"; fail "$tag: the listener exited $BG_RC"; }
	expect_eq "$(sha "$TMPD/got_a")" "$(sha "$TMPD/a")" "$tag: connector -> listener byte-exact"
	expect_eq "$(sha "$TMPD/got_b")" "$(sha "$TMPD/b")" "$tag: listener -> connector byte-exact"
	info "$tag: $(($(now_ms) - t0)) ms; listener: $(grep -h 'retransmitted' "$TMPD/$tag.l.err" | sed 's/^jet cat: //')"
}

# ---- 1. a clean LAN ----
L=$(lan_name clean)
check_ok "lan create $L" "$JET" lan create "$L" --stations 2
both_ways clean "$L" 5000
both_ways zerocopy "$L" 5001 --zerocopy

# ---- 2. loss, reordering, duplication ----
F=$(lan_name faulty)
check_ok "lan create $F --loss 0.01 --reorder 0.01 --dup 0.01" \
	"$JET" lan create "$F" --stations 2 --loss 0.01 --reorder 0.01 --dup 0.01 --seed 12
both_ways faulty "$F" 5002

if [ "$SANITIZED" = 1 ]; then
	BIG=$((32 << 20))
else
	BIG=$((1 << 30))
fi
t0=$(now_ms)
bg_start LS "$TMPD/big.l.out" "$TMPD/big.l.err" 600 bash -c '"$@" </dev/null | sha256sum | cut -d" " -f1 >"$0"' \
	"$TMPD/big.got" "${CAT[@]}" -l 5003 --link "lan:$F" --station 1 -v
wait_grep "$TMPD/big.l.err" "listening on" 10 || { dump "$TMPD/big.l.err"; fail "big: the listener did not start"; }
CMD_TIMEOUT=600 run bash -c 'set -o pipefail; n=$0 h=$1; shift; head -c "$n" /dev/urandom |
	tee >(sha256sum | cut -d" " -f1 >"$h") | "$@"' "$BIG" "$TMPD/big.sent" "${CAT[@]}" --link "lan:$F" --station 0 -v 1 5003
[ "$RC" -eq 0 ] || { dump "$TMPD/big.l.err"; fail "big: the sender exited $RC"; }
wait_exit "$LS" 60 || { dump "$TMPD/big.l.err"; fail "big: the listener still runs"; }
[ "$BG_RC" -eq 0 ] || { dump "$TMPD/big.l.err"; fail "big: the listener exited $BG_RC"; }
for _ in $(seq 50); do [ -s "$TMPD/big.sent" ] && break; sleep 0.1; done
expect_eq "$(cat "$TMPD/big.got")" "$(cat "$TMPD/big.sent")" \
	"$((BIG >> 20)) MiB over --loss 0.01 --reorder 0.01 --dup 0.01 byte-exact"
ms=$(($(now_ms) - t0))
info "big: $((BIG >> 20)) MiB in $ms ms ($((BIG / 1000 / (ms ? ms : 1) * 8)) Mbit/s); sender: $(grep 'retransmitted' <<<"$ERR" | sed 's/^jet cat: //')"

# ---- 3. kill -9 of one end ----
for victim in connector listener; do
	tag=kill-$victim
	rm -f "$TMPD/fifo"
	mkfifo "$TMPD/fifo"
	exec 7<>"$TMPD/fifo" # held open: the connector's stdin never ends
	bg_start LS "$TMPD/$tag.l.out" "$TMPD/$tag.l.err" 60 bash -c 'exec "$@" </dev/null' _ \
		"${CAT[@]}" -l 5004 --link "lan:$L" --station 1 --dead-after 2
	LSJET=$JETPID
	wait_grep "$TMPD/$tag.l.err" "listening on" 10 || { dump "$TMPD/$tag.l.err"; fail "$tag: no listener"; }
	bg_start CN "$TMPD/$tag.c.out" "$TMPD/$tag.c.err" 60 bash -c 'i=$0; exec "$@" <"$i"' "$TMPD/fifo" \
		"${CAT[@]}" --link "lan:$L" --station 0 --dead-after 2 1 5004
	CNJET=$JETPID
	timeout 20 head -c 2000000 "$TMPD/a" >&7 || fail "$tag: the connector does not read its stdin"
	for _ in $(seq 100); do [ "$(stat -c %s "$TMPD/$tag.l.out")" -ge 1000000 ] && break; sleep 0.05; done
	[ "$(stat -c %s "$TMPD/$tag.l.out")" -ge 1000000 ] || { dump "$TMPD/$tag.l.err" "$TMPD/$tag.c.err"; fail "$tag: no data flows"; }
	if [ "$victim" = connector ]; then
		v=$CNJET s=$LS serr=$TMPD/$tag.l.err
	else
		v=$LSJET s=$CN serr=$TMPD/$tag.c.err
		# the connector has data in flight when the listener dies
		head -c 1000000 "$TMPD/b" >&7 &
		own $!
	fi
	kill -KILL "$v"
	t0=$(now_ms)
	while alive "$s" && [ $(($(now_ms) - t0)) -lt 15000 ]; do sleep 0.02; done
	dt=$(($(now_ms) - t0))
	wait_exit "$s" 5 || { dump "$serr"; fail "$tag: the survivor still runs 15 s after the kill"; }
	exec 7>&-
	[ "$BG_RC" -eq 1 ] || { dump "$serr"; fail "$tag: the survivor exited $BG_RC, wanted 1"; }
	grep -qE "^jet: (receive|send|connection|shutdown|close): 198\.18\.0\.[12] port [0-9]+: .+ \(stdout holds the stream's first [0-9]+ bytes\)$" "$serr" ||
		{ dump "$serr"; fail "$tag: the survivor does not say why in one line"; }
	[ "$dt" -le 6000 ] || { dump "$serr"; fail "$tag: the survivor took $dt ms, wanted at most 6000 (--dead-after 2)"; }
	ok "$tag: the other end exited 1 after $dt ms: $(grep '^jet: ' "$serr" | head -1)"
	wait_exit "$LS" 5
	wait_exit "$CN" 5
done

# ---- 4. refused, usage ----
bg_start LS "$TMPD/r.out" "$TMPD/r.err" 60 bash -c 'exec "$@" </dev/null' _ "${CAT[@]}" -l 5005 --link "lan:$L" --station 1
wait_grep "$TMPD/r.err" "listening on" 10 || { dump "$TMPD/r.err"; fail "refused: no listener"; }
check_err 1 "refused" "connect to a port nobody listens on" "${CAT[@]}" --link "lan:$L" --station 0 1 5999 </dev/null
kill -TERM "$JETPID"
wait_exit "$LS" 5
check_err 1 "jet: connect to 198.18.0.6 port 5000: " "connect to an address nobody has" \
	"${CAT[@]}" --link "lan:$L" --station 0 --timeout 5 5 5000 </dev/null
grep -qE "unreachable|no answer" <<<"$ERR" || fail "nobody there: the reason is not said"
check_err 2 "" "no link" "${CAT[@]}" 1 5000
check_err 2 "bad PORT" "bad port" "${CAT[@]}" --link "lan:$L" 1 70000
check_err 2 "--cc" "bad --cc" "${CAT[@]}" --link "lan:$L" --cc vegas 1 5000
check_err 2 "" "-l and HOST PORT" "${CAT[@]}" --link "lan:$L" -l 5000 1 5000

# ---- 5. the kernel as the peer, over a TAP ----
if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ] || ! command -v nc >/dev/null || ! command -v ip >/dev/null; then
	info "skipped the TAP part: needs root, /dev/net/tun, ip and nc"
	done_ok
fi
NS=jt-perf-$$
ip netns add "$NS" 2>/dev/null || { info "skipped the TAP part: cannot create a network namespace"; done_ok; }
trap 'cleanup; ip netns del "$NS" 2>/dev/null' EXIT
IN=(ip netns exec "$NS")
"${IN[@]}" ip link set lo up
check_err 2 "--ip" "tap without --ip" "${IN[@]}" "${CAT[@]}" --link tap:jtc9 -l 5000
# A persistent TAP: its address stays while one jet cat after another opens it.
"${IN[@]}" ip tuntap add dev jtc0 mode tap && "${IN[@]}" ip addr add 198.18.41.1/24 dev jtc0 &&
	"${IN[@]}" ip link set jtc0 up || fail "tap: cannot make jtc0"
head -c 3000000 "$TMPD/a" >"$TMPD/ta"
head -c 3000000 "$TMPD/b" >"$TMPD/tb"
bg_start LS "$TMPD/t.l.out" "$TMPD/t.l.err" 60 "${IN[@]}" bash -c 'i=$0 o=$1; shift; exec "$@" <"$i" >"$o"' \
	"$TMPD/tb" "$TMPD/t.got_a" "${CAT[@]}" -l 5000 --link tap:jtc0 --ip 198.18.41.2/24
wait_grep "$TMPD/t.l.err" "listening on 198.18.41.2 port 5000 (tap:jtc0)" 10 || { dump "$TMPD/t.l.err"; fail "tap: no listener"; }
check_ok "tap: nc (kernel) connects to jet cat -l" "${IN[@]}" bash -c 'timeout 20 nc -N 198.18.41.2 5000 <"$0" >"$1"' "$TMPD/ta" "$TMPD/t.got_b"
wait_exit "$LS" 20 || { dump "$TMPD/t.l.err"; fail "tap: jet cat -l still runs"; }
[ "$BG_RC" -eq 0 ] || { dump "$TMPD/t.l.err"; fail "tap: jet cat -l exited $BG_RC"; }
expect_eq "$(sha "$TMPD/t.got_a")" "$(sha "$TMPD/ta")" "tap: kernel -> jet cat byte-exact"
expect_eq "$(sha "$TMPD/t.got_b")" "$(sha "$TMPD/tb")" "tap: jet cat -> kernel byte-exact"
rm -f "$TMPD/t.got_a" "$TMPD/t.got_b"
bg_start NC "$TMPD/nc.out" "$TMPD/nc.err" 60 "${IN[@]}" bash -c 'exec nc -N -l 198.18.41.1 5001 <"$0" >"$1"' "$TMPD/tb" "$TMPD/t.got_a"
sleep 0.3
check_ok "tap: jet cat connects to nc -l (kernel)" "${IN[@]}" bash -c 'i=$0 o=$1; shift; exec "$@" <"$i" >"$o"' \
	"$TMPD/ta" "$TMPD/t.got_b" "${CAT[@]}" --link tap:jtc0 --ip 198.18.41.2/24 198.18.41.1 5001
wait_exit "$NC" 20 || fail "tap: nc -l still runs"
expect_eq "$(sha "$TMPD/t.got_a")" "$(sha "$TMPD/ta")" "tap: jet cat -> kernel byte-exact"
expect_eq "$(sha "$TMPD/t.got_b")" "$(sha "$TMPD/tb")" "tap: kernel -> jet cat byte-exact"
done_ok
