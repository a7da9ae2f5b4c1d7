#!/usr/bin/env bash
# TCP over a LAN that flips bits (issue 12, docs/lan.md "Faults", caps.csum): the LAN
# promises frames intact or not at all, so TCP neither checks nor completes its
# Internet checksum there; a frame the medium damaged must then never reach TCP.
#
#  1. lan create --ber 3e-7: 4 MiB each way at once with jet cat --proto tcp, byte-exact
#     (sha256), and segments were sent again (the damage, dropped by the medium as a
#     failed FCS, shows as loss: the test saw bit errors);
#  2. the same over a clean LAN with the fault wrapper on the connector's link
#     (fault:ber=3e-7,seed=5/lan:NAME): byte-exact, the connector sent segments again.
# A damaged payload taken as good would change the hash: the test fails then.
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

sha() { sha256sum "$1" | cut -d' ' -f1; }
CAT=("$JET" cat --proto tcp)
head -c 4194304 /dev/urandom >"$TMPD/a" || fail "cannot make data"
head -c 4194304 /dev/urandom >"$TMPD/b" || fail "cannot make data"

# both_ways TAG LAN PORT CONNECTOR-LINK
both_ways() {
	local tag=$1 lan=$2 port=$3 clink=$4
	rm -f "$TMPD/got_a" "$TMPD/got_b"
	bg_start LS "$TMPD/$tag.l.out" "$TMPD/$tag.l.err" 90 bash -c 'i=$0 o=$1; shift; exec "$@" <"$i" >"$o"' \
		"$TMPD/b" "$TMPD/got_a" "${CAT[@]}" -l "$port" --link "lan:$lan" --station 1 -v
	wait_grep "$TMPD/$tag.l.err" "listening on 198.18.0.2 port $port" 10 ||
		{ dump "$TMPD/$tag.l.err"; fail "$tag: the listener did not start"; }
	CMD_TIMEOUT=90 run bash -c 'i=$0 o=$1; shift; exec "$@" <"$i" >"$o"' "$TMPD/a" "$TMPD/got_b" \
		"${CAT[@]}" --link "$clink" --station 0 -v 1 "$port"
	[ "$RC" -eq 0 ] || { dump "$TMPD/$tag.l.err"; fail "$tag: the connector exited $RC: $ERR"; }
	wait_exit "$LS" 30 || { dump "$TMPD/$tag.l.err"; fail "$tag: the listener still runs"; }
	[ "$BG_RC" -eq 0 ] || { dump "$TMPD/$tag.l.err"; fail "$tag: the listener exited $BG_RC"; }
	expect_eq "$(sha "$TMPD/got_a")" "$(sha "$TMPD/a")" "$tag: connector -> listener byte-exact"
	expect_eq "$(sha "$TMPD/got_b")" "$(sha "$TMPD/b")" "$tag: listener -> connector byte-exact"
	info "$tag: connector: $(grep -h 'retransmitted' <<<"$ERR" | sed 's/^jet cat: //')"
}

# retx TAG FILE: the retransmissions jet cat -v reported in FILE (the damage, dropped
# by the medium, shows as loss)
retx() { grep -ho '[0-9]* retransmitted' "$2" | awk '{s += $1} END {print s + 0}'; }

# ---- 1. the LAN's own bit errors ----
L=$(lan_name ber)
check_ok "lan create $L --ber 3e-7" "$JET" lan create "$L" --stations 2 --ber 3e-7 --seed 9
both_ways lan-ber "$L" 5000 "lan:$L"
printf '%s\n' "$ERR" >"$TMPD/lan-ber.c.err"
n=$(($(retx lan-ber "$TMPD/lan-ber.c.err") + $(retx lan-ber "$TMPD/lan-ber.l.err")))
[ "$n" -gt 0 ] || fail "lan-ber: nothing retransmitted: the LAN damaged no frame, the test saw no bit error"
info "lan-ber: $n segments lost to bit errors and sent again"

# ---- 2. the fault wrapper's bit errors on one end ----
C=$(lan_name clean)
check_ok "lan create $C" "$JET" lan create "$C" --stations 2
both_ways wrap-ber "$C" 5001 "fault:ber=3e-7,seed=5/lan:$C"
printf '%s\n' "$ERR" >"$TMPD/wrap-ber.c.err"
n=$(retx wrap-ber "$TMPD/wrap-ber.c.err")
[ "$n" -gt 0 ] || fail "wrap-ber: nothing retransmitted: the wrapper damaged no frame"
info "wrap-ber: $n segments lost to bit errors and sent again"
done_ok
