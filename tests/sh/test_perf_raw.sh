#!/usr/bin/env bash
# jet perf --proto raw: exact delivery on a private LAN and between two
# processes, seeded faults, ping-pong, rate limiting, kill -9 of either end
# (station reclaim, pool accounting) and error paths.
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

NBIG=1000000
[ "$SANITIZED" = 1 ] && NBIG=200000 # sanitized builds are ~5x slower
P=("$JET" perf --proto raw)
# Runs whose counts must be exact have a receiver that holds the sender back
# when it falls behind.  Under the default tail drop a receiver that is
# descheduled or slower than the sender (sanitized build, busy machine) drops
# frames: that is the policy at work, not a fault, and seen in CI as
# dropped_policy 251 of 100000 under ASan.
X=(--policy backpressure)

# The result of a run whose faults are all zero: every frame, in order.
check_exact() { # N WHAT
	local n=$1 what=$2
	expect_eq "$(jv .frames_sent)" "$n" "$what: frames_sent"
	expect_eq "$(jv .frames_delivered)" "$n" "$what: frames_delivered"
	expect_jq '.lost == 0 and .duplicated == 0 and .reordered == 0 and .crc_failed == 0 and .dropped_header == 0' \
		"$what: lost, duplicated, reordered, crc_failed, dropped_header all 0"
	expect_eq "$(jv .first_seq_delivered)" 0 "$what: first_seq_delivered"
	expect_eq "$(jv .last_seq_delivered)" $((n - 1)) "$what: last_seq_delivered"
	expect_eq "$(jv .bytes)" $((n * $(jv .frame))) "$what: bytes == frames * frame"
}

# buffers_free == buffers on LAN $1 (nothing attached any more).
check_pool_full() { # LAN WHAT
	check_ok "$2: lan show $1 --json" "$JET" lan show "$1" --json
	expect_eq "$(jv .attached)" 0 "$2: no station attached"
	expect_eq "$(jv .buffers_free)" "$(jv .buffers)" "$2: buffers_free == buffers"
}

# ---- private LAN ----
check_ok "private LAN: -n $NBIG --frame 1500 --json" "${P[@]}" "${X[@]}" -n "$NBIG" --frame 1500 --json
expect_jq 'has("proto") and has("link") and has("frame") and has("frames_sent") and has("frames_delivered")
	and has("bytes") and has("seconds") and has("gbps") and has("mpps")' \
	"private LAN: keys proto link frame frames_sent frames_delivered bytes seconds gbps mpps"
expect_eq "$(jv .proto)" raw "private LAN: proto"
expect_jq '.link | startswith("lan:")' "private LAN: link is lan:..."
expect_eq "$(jv .frame)" 1500 "private LAN: frame"
check_exact "$NBIG" "private LAN"
expect_jq '.seconds > 0 and .gbps > 0 and .mpps > 0' "private LAN: seconds, gbps, mpps > 0"
info "private LAN: $(jv .gbps) Gbit/s, $(jv .mpps) Mpps"
[ -e "/dev/shm/jet-lan.$(jv .link | sed 's/^lan://')" ] && fail "private LAN $(jv .link) left behind"
ok "private LAN removed afterwards"

# ---- two processes on a named LAN ----
L=$(lan_name perf2)
check_ok "lan create $L" "$JET" lan create "$L"
bg_start RX "$TMPD/rx.out" "$TMPD/rx.err" 60 "${P[@]}" "${X[@]}" -s -1 --link "lan:$L" --station 1
wait_attached "$L" 1 10 || { dump "$TMPD/rx.out" "$TMPD/rx.err"; fail "receiver did not attach station 1"; }
ok "receiver (-s -1) attached station 1"
check_ok "two processes: -c --to 1 -n $NBIG --json" \
	"${P[@]}" -c --to 1 --link "lan:$L" --station 0 -n "$NBIG" --json
check_exact "$NBIG" "two processes"
expect_eq "$(jv .link)" "lan:$L" "two processes: link"
wait_exit "$RX" 10 || { dump "$TMPD/rx.out" "$TMPD/rx.err"; fail "one-off receiver still running 10 s after the session"; }
[ "$BG_RC" -eq 0 ] || { dump "$TMPD/rx.out" "$TMPD/rx.err"; fail "one-off receiver exited $BG_RC"; }
ok "one-off receiver exited 0 after the session"
check_pool_full "$L" "two processes"

# ---- determinism of seeded faults ----
L7=()
for i in 1 2 3; do
	check_ok "--loss 0.01 --seed 7, run $i" "${P[@]}" "${X[@]}" --loss 0.01 --seed 7 -n 100000 --frame 1500 --json
	L7+=("$(jv .lost)")
	expect_eq "$(jv '.frames_delivered + .lost')" 100000 "--loss run $i: delivered + lost == sent"
done
expect_eq "${L7[1]}" "${L7[0]}" "seed 7: run 2 loses as many frames as run 1"
expect_eq "${L7[2]}" "${L7[0]}" "seed 7: run 3 loses as many frames as run 1"
{ [ "${L7[0]}" -ge 800 ] && [ "${L7[0]}" -le 1200 ]; } || fail "seed 7: lost ${L7[0]} of 100000, wanted about 1%"
ok "seed 7: lost ${L7[0]} of 100000 (about 1%)"
check_ok "--loss 0.01 --seed 8" "${P[@]}" "${X[@]}" --loss 0.01 --seed 8 -n 100000 --frame 1500 --json
info "seed 8 lost $(jv .lost) (seed 7: ${L7[0]})"

# ---- faults ----
check_ok "--ber 1e-6 --seed 3" "${P[@]}" "${X[@]}" --ber 1e-6 -n 50000 --frame 1500 --seed 3 --json
expect_jq '.crc_failed + .dropped_header > 0' "ber: crc_failed + dropped_header > 0 ($(jv .crc_failed) + $(jv .dropped_header))"
expect_jq '.crc_failed + .dropped_header + .frames_delivered == .frames_sent' \
	"ber: crc_failed + dropped_header + frames_delivered == frames_sent"
expect_eq "$(jv .lost)" 0 "ber: lost"
check_ok "--dup 0.01" "${P[@]}" "${X[@]}" --dup 0.01 -n 50000 --frame 1500 --json
expect_jq '.duplicated > 0' "dup: duplicated > 0 ($(jv .duplicated))"
expect_jq '.frames_delivered == .frames_sent' "dup: frames_delivered == frames_sent"
expect_eq "$(jv .lost)" 0 "dup: lost"
check_ok "--reorder 0.01" "${P[@]}" "${X[@]}" --reorder 0.01 -n 50000 --frame 1500 --json
expect_jq '.reordered > 0' "reorder: reordered > 0 ($(jv .reordered))"
expect_jq '.frames_delivered == .frames_sent' "reorder: frames_delivered == frames_sent"
expect_eq "$(jv .lost)" 0 "reorder: lost"

# ---- ping-pong ----
check_ok "--pingpong --frame 64 -n 20000" "${P[@]}" --pingpong --frame 64 -n 20000 --json
expect_eq "$(jv .frames_delivered)" 20000 "pingpong: frames_delivered"
expect_jq '.rtt_us.p50 > 0' "pingpong: rtt_us.p50 > 0 ($(jv .rtt_us.p50) us)"
expect_jq '.rtt_us.p99 >= .rtt_us.p50' "pingpong: rtt_us.p99 >= p50 ($(jv .rtt_us.p99) us)"

# ---- rate ----
check_ok "--rate 1G -n 2000 --frame 9000" "${P[@]}" "${X[@]}" --rate 1G -n 2000 --frame 9000 --json
expect_eq "$(jv .frames_delivered)" 2000 "rate: frames_delivered"
expect_jq '.gbps <= 1.05' "rate 1G: gbps <= 1.05 ($(jv .gbps))"

# ---- kill -9 of the receiver ----
K=$(lan_name kill-rx)
check_ok "lan create $K" "$JET" lan create "$K"
bg_start RX "$TMPD/krx.out" "$TMPD/krx.err" 60 "${P[@]}" -s --link "lan:$K" --station 1
RXJET=$JETPID
wait_attached "$K" 1 10 || { dump "$TMPD/krx.out" "$TMPD/krx.err"; fail "receiver did not attach"; }
bg_start TX "$TMPD/ktx.out" "$TMPD/ktx.err" 60 "${P[@]}" -c --to 1 --link "lan:$K" --station 0 -t 20
sleep 0.5
alive "$TX" || { dump "$TMPD/ktx.out" "$TMPD/ktx.err"; fail "sender stopped before the kill"; }
[ -n "$RXJET" ] || fail "no pid for the receiver"
kill -KILL "$RXJET"
ok "receiver (pid $RXJET) killed with SIGKILL while the sender sends"
wait_exit "$TX" 5 || { dump "$TMPD/ktx.out" "$TMPD/ktx.err"; fail "sender still running 5 s after its receiver died"; }
[ "$BG_RC" -ne 0 ] || { dump "$TMPD/ktx.out" "$TMPD/ktx.err"; fail "sender exited 0 though its receiver died"; }
grep -qF "send: station 1 of lan:$K left the link: its process is gone (after " "$TMPD/ktx.err" ||
	{ dump "$TMPD/ktx.out" "$TMPD/ktx.err"; fail "sender's stderr does not say station 1 of lan:$K left the link"; }
ok "sender exited $BG_RC within 5 s: $(head -1 "$TMPD/ktx.err")"
wait_exit "$RX" 5
bg_start RX "$TMPD/krx2.out" "$TMPD/krx2.err" 60 "${P[@]}" "${X[@]}" -s -1 --link "lan:$K" --station 1
wait_attached "$K" 1 10 || { dump "$TMPD/krx2.out" "$TMPD/krx2.err"; fail "new receiver could not take station 1"; }
ok "a new receiver took station 1"
check_ok "after the kill: -c --to 1 -n 200000 --json" \
	"${P[@]}" -c --to 1 --link "lan:$K" --station 0 -n 200000 --json
check_exact 200000 "after the receiver kill"
wait_exit "$RX" 10 || { dump "$TMPD/krx2.out" "$TMPD/krx2.err"; fail "one-off receiver still running"; }
[ "$BG_RC" -eq 0 ] || { dump "$TMPD/krx2.out" "$TMPD/krx2.err"; fail "one-off receiver exited $BG_RC"; }
ok "new receiver exited 0"
check_pool_full "$K" "receiver kill"
expect_jq '.reclaims >= 1' "receiver kill: reclaims >= 1 ($(jv .reclaims), $(jv .reclaimed_buffers) buffers)"

# ---- kill -9 of the sender ----
S=$(lan_name kill-tx)
check_ok "lan create $S" "$JET" lan create "$S"
bg_start RX "$TMPD/srx.out" "$TMPD/srx.err" 60 "${P[@]}" "${X[@]}" -s --link "lan:$S" --station 1
RXJET=$JETPID
wait_attached "$S" 1 10 || { dump "$TMPD/srx.out" "$TMPD/srx.err"; fail "receiver did not attach"; }
check_err '!0' "attached station" "lan destroy $S refused while a station is attached" "$JET" lan destroy "$S"
bg_start TX "$TMPD/stx.out" "$TMPD/stx.err" 60 "${P[@]}" -c --to 1 --link "lan:$S" --station 0 -t 20
TXJET=$JETPID
sleep 0.5
alive "$TX" || { dump "$TMPD/stx.out" "$TMPD/stx.err"; fail "sender stopped before the kill"; }
[ -n "$TXJET" ] || fail "no pid for the sender"
kill -KILL "$TXJET"
ok "sender (pid $TXJET) killed with SIGKILL while sending"
wait_exit "$TX" 5
gone="receive: station 0 of lan:$S left the link: its process is gone (after "
wait_grep "$TMPD/srx.err" "$gone" 3 || { dump "$TMPD/srx.out" "$TMPD/srx.err"; fail "receiver did not report '$gone' within 3 s"; }
ok "receiver says: $(grep -F "$gone" "$TMPD/srx.err" | head -1)"
alive "$RXJET" || { dump "$TMPD/srx.out" "$TMPD/srx.err"; fail "receiver stopped after its sender died"; }
ok "receiver keeps serving"
check_ok "after the kill: -c --to 1 -n 100000 --json" \
	"${P[@]}" -c --to 1 --link "lan:$S" --station 0 -n 100000 --json
check_exact 100000 "after the sender kill"
alive "$RXJET" || { dump "$TMPD/srx.out" "$TMPD/srx.err"; fail "receiver stopped after serving"; }
kill -TERM "$RXJET"
wait_exit "$RX" 5 || { dump "$TMPD/srx.out" "$TMPD/srx.err"; fail "receiver still running 5 s after SIGTERM"; }
[ "$BG_RC" -eq 0 ] || { dump "$TMPD/srx.out" "$TMPD/srx.err"; fail "receiver exited $BG_RC after SIGTERM, wanted 0"; }
ok "receiver exited 0 after SIGTERM"
check_pool_full "$S" "sender kill"
expect_jq '.reclaims >= 1' "sender kill: reclaims >= 1 ($(jv .reclaims))"

# ---- error paths ----
E=$(lan_name err)
check_ok "lan create $E" "$JET" lan create "$E"
t0=$SECONDS
check_err '!0' "station 3" "-c --to 3 with no station 3 attached" \
	"${P[@]}" -c --to 3 --link "lan:$E" --station 0 -n 10
[ $((SECONDS - t0)) -le 6 ] || fail "-c --to 3 took $((SECONDS - t0)) s to give up"
ok "-c --to 3 gave up within 6 s: $ERR"
check_pool_full "$E" "unanswered sender"
check_err '!0' "there is no station 9" "--station 9 on an 8-station LAN" \
	"${P[@]}" -s -1 --link "lan:$E" --station 9
bg_start RX "$TMPD/erx.out" "$TMPD/erx.err" 60 "${P[@]}" -s --link "lan:$E" --station 1
RXJET=$JETPID
wait_attached "$E" 1 10 || { dump "$TMPD/erx.out" "$TMPD/erx.err"; fail "receiver did not attach"; }
check_err '!0' "in use by pid $RXJET" "--station 1 while another process holds it" \
	"${P[@]}" -s -1 --link "lan:$E" --station 1
kill -TERM "$RXJET"
wait_exit "$RX" 5 || fail "receiver still running 5 s after SIGTERM"
check_err '!0' "no LAN named" "--link lan:<unknown> -s" "${P[@]}" --link "lan:$LAN_PFX-nonexistent" -s
check_err '!0' "no LAN named" "--link lan:<unknown> -c" "${P[@]}" --link "lan:$LAN_PFX-nonexistent" -c --to 1 -n 1
check_err 2 "protocol 'sctp' is not available" "--proto sctp" "$JET" perf --proto sctp -n 10
check_err 2 "say which protocol" "no --proto" "$JET" perf -n 10
check_err 2 "--frame must be" "--frame 10" "${P[@]}" --frame 10
check_err 2 "-c needs --to" "-c without --to" "${P[@]}" -c --link "lan:$E"
check_err 2 "-s and -c exclude each other" "-s -c" "${P[@]}" -s -c --link "lan:$E"
check_err 2 "need --link" "-s without --link" "${P[@]}" -s
check_err 2 "LAN options apply to the private LAN only" "--loss with --link" \
	"${P[@]}" -s --link "lan:$E" --loss 0.1
check_err 2 "unknown option '--bogus'" "--bogus" "${P[@]}" --bogus 1
check_err '!0' "carries at most" "--frame larger than the LAN's MTU" \
	"${P[@]}" -c --to 1 --link "lan:$E" --frame 20000 -n 1

done_ok
