#!/usr/bin/env bash
# RBS between two processes with jet cat, over an emulated LAN that loses,
# damages, reorders and duplicates frames:
#
#     jet cat -l  (station 1, channel 5300)  <== lan:LAN ==>  jet cat 1:5300  (station 0)
#         --loss 0.01 --ber 1e-7 --reorder 0.01 --dup 0.01
#
# A file goes each way at once and arrives byte-exact (SHA-256) - 1 GiB (the
# issue's size; 64 MiB under the sanitizers or with JET_BIG=0); a received stream goes to a pipe as well as to a file;
# into a regular file the library writes each segment straight from the pool (sink mode, -v says so and counts),
# at the file's offset, which jet cat leaves where it was (tests/sh/test_cat.sh: shared logs, 1<>, failures);
# a file that cannot grow (ulimit -f) makes both ends fail, and the listener says how many bytes of the stream
# the file holds: they are its first (nothing is cut off);
# kill -9 of either end makes the other exit non-zero with a clear message
# within 10 s; connecting where nobody listens fails within its bound.
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

MIB=1024
[ "${JET_BIG:-1}" = 0 ] && MIB=64
[ "$SANITIZED" = 1 ] && [ "$MIB" -gt 64 ] && MIB=64
FAULTS=(--loss 0.01 --ber 1e-7 --reorder 0.01 --dup 0.01)
L=$(lan_name rbs)
check_ok "lan create $L ${FAULTS[*]}" "$JET" lan create "$L" "${FAULTS[@]}"

head -c $((MIB * 1048576)) /dev/urandom >"$TMPD/a.bin" || fail "cannot make the test file"
head -c $((MIB * 1048576 / 4)) /dev/urandom >"$TMPD/b.bin" || fail "cannot make the test file"

# "${IO[@]}" IN OUT CMD... runs CMD with stdin from IN and stdout to OUT ('-': leave it).  (Background
# commands of a script get /dev/null as stdin, and run() takes stdout.)
IO=(bash -c 'i=$1 o=$2; shift 2; if [ "$o" = - ]; then exec "$@" <"$i"; else exec "$@" <"$i" >"$o"; fi' _)

# Starts `jet cat -l -v` on station 1 in the background (stdin $1, stdout $2).
listen() {
	bg_start RX "$2" "$TMPD/rx.err" 300 "${IO[@]}" "$1" - "$JET" cat -l -v --link "lan:$L" --station 1
	RXJET=$JETPID
	wait_grep "$TMPD/rx.err" "listening on" 10 || { dump "$TMPD/rx.err"; fail "jet cat -l did not start listening"; }
}

# ---- a file each way at once, into regular files ----
listen "$TMPD/b.bin" "$TMPD/a.out"
t0=$(date +%s.%N)
check_ok "jet cat: $MIB MiB to the listener, $((MIB / 4)) MiB back, over a faulty LAN" \
	"${IO[@]}" "$TMPD/a.bin" "$TMPD/b.out" "$JET" cat -v --link "lan:$L" --station 0 1:5300
TXERR=$ERR
secs=$(echo "$(date +%s.%N) $t0" | awk '{printf "%.2f", $1 - $2}')
wait_exit "$RX" 20 || { dump "$TMPD/rx.err"; fail "listener still running 20 s after the transfer"; }
[ "$BG_RC" -eq 0 ] || { dump "$TMPD/rx.err"; fail "listener exited $BG_RC"; }
ok "listener exited 0"
expect_eq "$(sha256sum <"$TMPD/a.out" | cut -d' ' -f1)" "$(sha256sum <"$TMPD/a.bin" | cut -d' ' -f1)" \
	"SHA-256 of the $MIB MiB received by the listener"
expect_eq "$(sha256sum <"$TMPD/b.out" | cut -d' ' -f1)" "$(sha256sum <"$TMPD/b.bin" | cut -d' ' -f1)" \
	"SHA-256 of the $((MIB / 4)) MiB received by the connector"
info "$((MIB + MIB / 4)) MiB in $secs s"
# The sink path was taken on both ends: every byte reached the file by the library's pwrite from the pool
# (its own counters), none through a ring; out-of-order segments were placed at their offsets.
sink_line() { # ERRTEXT BYTES: the -v line, checked
	local l
	l=$(printf '%s\n' "$1" | grep "jet cat: sink: $2 bytes received in order")
	[ -n "$l" ] || fail "no sink line for $2 bytes in: $1"
	local placed ooo
	placed=$(printf '%s\n' "$l" | sed -E 's/.*\(([0-9]+) bytes, ([0-9]+) segments out of order\).*/\1/')
	ooo=$(printf '%s\n' "$l" | sed -E 's/.*\(([0-9]+) bytes, ([0-9]+) segments out of order\).*/\2/')
	[ "$placed" -ge "$2" ] || fail "sink wrote $placed bytes, fewer than $2: $l"
	[ "$ooo" -gt 0 ] || fail "no segment was placed out of order on a reordering LAN: $l"
	ok "sink mode: $l"
}
sink_line "$(cat "$TMPD/rx.err")" $((MIB * 1048576))
sink_line "$TXERR" $((MIB * 1048576 / 4))
check_ok "lan show $L --json" "$JET" lan show "$L" --json
expect_jq '[.station[] | .fault_lost, .fault_corrupted, .fault_duplicated, .fault_reordered] | all(. > 0) ' \
	"the LAN lost, corrupted, duplicated and reordered frames"
expect_eq "$(jv .buffers_free)" "$(jv .buffers)" "every pool buffer back"

# ---- into a pipe ----
bg_start RX "$TMPD/pipe.out" "$TMPD/rx.err" 120 bash -c \
	"\"$JET\" cat -l -v --link lan:$L --station 1 </dev/null | sha256sum"
wait_grep "$TMPD/rx.err" "listening on" 10 || { dump "$TMPD/rx.err"; fail "jet cat -l | sha256sum did not start"; }
check_ok "jet cat into a pipe" "${IO[@]}" "$TMPD/b.bin" - "$JET" cat --link "lan:$L" --station 0 1:5300
wait_exit "$RX" 20 || fail "listener pipeline still running"
expect_eq "$(cut -d' ' -f1 <"$TMPD/pipe.out")" "$(sha256sum <"$TMPD/b.bin" | cut -d' ' -f1)" \
	"SHA-256 of what went through the pipe"
grep -q "jet cat: ring: $((MIB * 1048576 / 4)) bytes" "$TMPD/rx.err" || { dump "$TMPD/rx.err"; fail "a pipe did not go through the ring"; }
ok "into a pipe through the receive ring"

# ---- at the offset of a file: the stream after what the shell wrote before; jet cat does not move the
# offset, so what the shell writes after lands where the stream began (>> appends after it instead) ----
head -c 3000000 "$TMPD/b.bin" >"$TMPD/c.bin"
bg_start RX "$TMPD/off.out" "$TMPD/rx.err" 120 bash -c \
	"printf HEAD; \"$JET\" cat -l -v --link lan:$L --station 1 </dev/null; rc=\$?; printf TAIL; exit \$rc"
wait_grep "$TMPD/rx.err" "listening on" 10 || { dump "$TMPD/rx.err"; fail "jet cat -l between printfs did not start"; }
check_ok "jet cat into a file at offset 4" "${IO[@]}" "$TMPD/c.bin" - "$JET" cat --link "lan:$L" --station 0 1:5300
wait_exit "$RX" 20 || fail "listener still running"
[ "$BG_RC" -eq 0 ] || { dump "$TMPD/rx.err"; fail "listener exited $BG_RC"; }
expect_eq "$(sha256sum <"$TMPD/off.out" | cut -d' ' -f1)" "$( (printf HEADTAIL; tail -c +5 "$TMPD/c.bin") | sha256sum | cut -d' ' -f1)" \
	"HEAD, the stream at offset 4, TAIL over its first 4 bytes: the offset was not moved"
grep -q "jet cat: sink: 3000000 bytes" "$TMPD/rx.err" || { dump "$TMPD/rx.err"; fail "no sink line"; }

# ---- a file that cannot grow: both ends fail, the file holds the stream's first bytes, as many as the message says ----
bg_start RX "$TMPD/fsz.out" "$TMPD/rx.err" 120 bash -c \
	"trap '' XFSZ; ulimit -f 2048; exec \"$JET\" cat -l --link lan:$L --station 1 </dev/null"
wait_grep "$TMPD/rx.err" "listening on" 10 || { dump "$TMPD/rx.err"; fail "jet cat -l under ulimit -f did not start"; }
check_err '!0' "" "sending to a receiver whose file cannot grow past 2 MiB" \
	"${IO[@]}" "$TMPD/c.bin" - "$JET" cat --link "lan:$L" --station 0 1:5300
# a reset, normally; "left" when the LAN lost the reset and the listener has exited since
grep -qE "reset|stopped answering|left" "$TMPD/err" || fail "the sender's message is not clear"
wait_exit "$RX" 20 || fail "listener still running"
[ "$BG_RC" -eq 1 ] || { dump "$TMPD/rx.err"; fail "listener exited $BG_RC, wanted 1"; }
grep -q "writing received bytes into fd 1 at offset .* File too large" "$TMPD/rx.err" ||
	{ dump "$TMPD/rx.err"; fail "the listener's message does not say the write failed"; }
sz=$(stat -c %s "$TMPD/fsz.out")
[ "$sz" -le 2097152 ] || fail "$sz bytes in a file limited to 2 MiB"
n=$(sed -n "s/.*stdout holds the stream's first \([0-9]*\) bytes, at offset 0.*/\1/p" "$TMPD/rx.err" | head -1)
[ -n "$n" ] && [ "$n" -le "$sz" ] || { dump "$TMPD/rx.err"; fail "the listener does not say how much of the stream the file holds"; }
expect_eq "$(head -c "$n" "$TMPD/fsz.out" | sha256sum | cut -d' ' -f1)" "$(head -c "$n" "$TMPD/c.bin" | sha256sum | cut -d' ' -f1)" \
	"the file's first $n bytes (of $sz) are the stream's first $n"
ok "file limit: $(grep -v listening "$TMPD/rx.err" | head -1)"

# ---- kill -9 of the listener while the connector sends ----
listen /dev/null /dev/null
bg_start TX "$TMPD/tx.out" "$TMPD/tx.err" 120 "${IO[@]}" /dev/zero - "$JET" cat --link "lan:$L" --station 0 1:5300
sleep 1
alive "$TX" || { dump "$TMPD/tx.err"; fail "connector stopped before the kill"; }
kill -KILL "$RXJET"
t0=$SECONDS
wait_exit "$TX" 10 || { dump "$TMPD/tx.err"; fail "connector still running 10 s after its peer was killed"; }
[ "$BG_RC" -ne 0 ] || fail "connector exited 0 though its peer was killed"
grep -qE "stopped answering|left|reset" "$TMPD/tx.err" || { dump "$TMPD/tx.err"; fail "connector's message is not clear"; }
ok "listener killed: connector exited $BG_RC after $((SECONDS - t0)) s: $(head -1 "$TMPD/tx.err")"
wait_exit "$RX" 5

# ---- kill -9 of the connector while it sends ----
listen /dev/null /dev/null
bg_start TX "$TMPD/tx.out" "$TMPD/tx.err" 120 "${IO[@]}" /dev/zero - "$JET" cat --link "lan:$L" --station 0 1:5300
TXJET=$JETPID
sleep 1
alive "$RX" || { dump "$TMPD/rx.err"; fail "listener stopped before the kill"; }
kill -KILL "$TXJET"
t0=$SECONDS
wait_exit "$RX" 10 || { dump "$TMPD/rx.err"; fail "listener still running 10 s after its peer was killed"; }
[ "$BG_RC" -ne 0 ] || fail "listener exited 0 though its peer was killed"
grep -qE "stopped answering|left|reset" "$TMPD/rx.err" || { dump "$TMPD/rx.err"; fail "listener's message is not clear"; }
ok "connector killed: listener exited $BG_RC after $((SECONDS - t0)) s: $(grep -v listening "$TMPD/rx.err" | head -1)"
wait_exit "$TX" 5

# ---- kill -9 of an idle peer: keepalive finds out ----
mkfifo "$TMPD/idle"
exec 7<>"$TMPD/idle" # never written, never closed: stdin without an end
listen /dev/null /dev/null
bg_start TX "$TMPD/tx.out" "$TMPD/tx.err" 120 "${IO[@]}" "$TMPD/idle" - "$JET" cat --link "lan:$L" --station 0 1:5300
sleep 0.5
kill -KILL "$RXJET"
t0=$SECONDS
wait_exit "$TX" 10 || { dump "$TMPD/tx.err"; fail "idle connector still running 10 s after its peer was killed"; }
[ "$BG_RC" -ne 0 ] || fail "idle connector exited 0"
ok "idle peer killed: connector exited $BG_RC after $((SECONDS - t0)) s: $(head -1 "$TMPD/tx.err")"
wait_exit "$RX" 5
exec 7>&-

# ---- errors ----
listen /dev/null /dev/null # on channel 5300 of station 1
t0=$SECONDS
check_err 1 "nobody listening" "connect to a channel where nobody listens" \
	"$JET" cat --link "lan:$L" --station 0 --timeout 1 1:5301
[ $((SECONDS - t0)) -le 3 ] || fail "took $((SECONDS - t0)) s to give up"
kill -TERM "$RXJET"
wait_exit "$RX" 5 || fail "listener still running 5 s after SIGTERM"
check_err 1 "cannot reach station 5" "connect to a station that is not there" \
	"$JET" cat --link "lan:$L" --station 0 --timeout 1 5:5300
check_err 2 "STATION:CHAN" "no target" "$JET" cat --link "lan:$L"
check_err 2 "is not STATION:CHAN" "bad target" "$JET" cat --link "lan:$L" 1-5300
check_err 2 "--link" "no link" "$JET" cat 1:5300
check_err 1 "no LAN named" "unknown LAN" "$JET" cat --link "lan:$LAN_PFX-none" 1:5300
check_ok "lan show $L --json" "$JET" lan show "$L" --json
expect_eq "$(jv .buffers_free)" "$(jv .buffers)" "every pool buffer back at the end"

done_ok
