#!/usr/bin/env bash
# jet cat writes only its own bytes, honours --timeout, and keeps up with jet perf on a
# LAN with delay and loss (issue 9):
#
#  1. a log shared with another writer, both opened with >> (O_APPEND): jet cat -l
#     appends what it receives (and, 2>&1, its own messages) while the other process
#     appends numbered lines.  Every line of the other writer is there, whole and in
#     order; taking them and cat's messages out leaves exactly the stream.
#  2. the same while the transfer fails (the sender killed with -9): the other
#     writer's lines survive, cat exits 1, its error message is in the log and says
#     how many bytes of the stream the log holds, and those are the stream's first.
#  3. a regular file opened 1<> (sink mode, pwrite): the stream lands at the file's
#     offset, the offset is not moved (the next write lands where cat started), the
#     file is not cut; after a failed transfer the bytes beyond what was sent are the
#     file's old ones, and the message's count of bytes is right.  With 2>&1 into the
#     file, cat writes in order instead (its messages would land in its range).
#  4. --timeout 4 to a station where nobody listens gives up after about 4 s (it gave
#     up after the SYN retries, 2.56 s, whatever the value), and --timeout 1 after 1 s.
#  5. 16 MiB over --delay 2ms --jitter 1ms --rate 1G --loss 0.02: cat's rate at least
#     half of jet perf's on the same LAN, best of three tries (it was a third to a
#     ninth while cat slept through the LAN's delayed frames).
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

command -v perl >/dev/null || fail "perl is needed"
L=$(lan_name cat)
check_ok "lan create $L --loss 0.01 --reorder 0.01" "$JET" lan create "$L" --loss 0.01 --reorder 0.01 --seed 9

# The stream: base64 text, so that neither the other writer's lines ("@@other N@@") nor
# cat's messages ("jet cat: ...", "jet: ...": a space and a colon) can occur in it.
head -c 3000000 /dev/urandom | base64 >"$TMPD/stream.txt" || fail "cannot make the stream"
STREAM_LEN=$(stat -c %s "$TMPD/stream.txt")

# "${IO[@]}" IN OUT CMD... runs CMD with stdin from IN and stdout to OUT ('-': leave it).
IO=(bash -c 'i=$1 o=$2; shift 2; if [ "$o" = - ]; then exec "$@" <"$i"; else exec "$@" <"$i" >"$o"; fi' _)

# The other writer: appends "@@other N@@" lines to $1 (its own >> open), one write
# each, every 2 ms, until $2 exists; then puts its count into $3.
WRITER='i=0; while [ ! -e "$2" ]; do i=$((i + 1)); echo "@@other $i@@"; sleep 0.002; done >>"$1"; echo $i >"$3"'
start_writer() { # LOG
	rm -f "$TMPD/stop" "$TMPD/count"
	bg_start WR /dev/null "$TMPD/wr.err" 120 bash -c "$WRITER" _ "$1" "$TMPD/stop" "$TMPD/count"
	wait_grep "$1" "@@other 20@@" 10 || fail "the other writer does not write"
}
stop_writer() { # LOG: lets it write some more lines, then stops it
	local n
	n=$(grep -c '^@@other' "$1")
	wait_grep "$1" "@@other $((n + 20))@@" 10 || fail "the other writer stopped writing"
	touch "$TMPD/stop"
	wait_exit "$WR" 10 || fail "the other writer did not stop"
	[ -s "$TMPD/count" ] || fail "the other writer left no count"
}
# Splits LOG: checks that the other writer's lines 1..count are all there, once each,
# in order, and writes what is left without them and without cat's messages to OUT.
split_log() { # LOG OUT
	perl -0777 -ne '
		my $s = $_; my $want = 1; my $bad = 0;
		while ($s =~ /\@\@other (\d+)\@\@\n/g) { $bad++ if $1 != $want; $want++; }
		print STDERR "other lines: ", $want - 1, ", out of order: $bad\n";
		$s =~ s/\@\@other \d+\@\@\n//g;
		$s =~ s/jet(?: cat)?: [^\n]*\n//g;
		print $s;' "$1" >"$2" 2>"$TMPD/split.err"
	local got bad
	got=$(sed -n 's/other lines: \([0-9]*\),.*/\1/p' "$TMPD/split.err")
	bad=$(sed -n 's/.*out of order: \([0-9]*\)/\1/p' "$TMPD/split.err")
	expect_eq "$got" "$(cat "$TMPD/count")" "every line of the other writer is in the log"
	expect_eq "$bad" 0 "the other writer's lines are whole and in order"
}
listen_into() { # OUT ERR: jet cat -l -v on station 1, stdout appended to OUT (>>), stderr to ERR (2>&1 if the same)
	local redir='>>"$2" 2>"$3"'
	[ "$1" = "$2" ] && redir='>>"$2" 2>&1'
	bg_start RX /dev/null "$TMPD/rx.bg" 120 bash -c "exec \"\$0\" cat -l -v --link \"lan:\$1\" --station 1 </dev/null $redir" \
		"$JET" "$L" "$1" "$2"
	RXJET=$JETPID
	wait_grep "$2" "listening on" 10 || { dump "$2" "$TMPD/rx.bg"; fail "jet cat -l did not start listening"; }
}

# ---- 1. a shared log, >> ----
LOG=$TMPD/log
: >"$LOG"
start_writer "$LOG"
listen_into "$LOG" "$LOG"
check_ok "jet cat: $STREAM_LEN bytes into a log (>> 2>&1) another process appends lines to" \
	"${IO[@]}" "$TMPD/stream.txt" - "$JET" cat --link "lan:$L" --station 0 1:5300
wait_exit "$RX" 20 || { dump "$LOG"; fail "listener still running 20 s after the transfer"; }
[ "$BG_RC" -eq 0 ] || { tail -c 2000 "$LOG"; fail "listener exited $BG_RC"; }
stop_writer "$LOG"
split_log "$LOG" "$TMPD/got"
expect_eq "$(sha256sum <"$TMPD/got" | cut -d' ' -f1)" "$(sha256sum <"$TMPD/stream.txt" | cut -d' ' -f1)" \
	"the log without the other writer's lines and cat's messages is the stream"
grep -q "^jet cat: ring: $STREAM_LEN bytes received" "$LOG" || fail "no ring line: >> was not written in order"
ok ">> written in order with write(): $(grep -c '' "$LOG") lines, $(cat "$TMPD/count") of them the other writer's"

# ---- 2. a shared log, >>, the transfer fails ----
: >"$LOG"
start_writer "$LOG"
listen_into "$LOG" "$LOG"
mkfifo "$TMPD/in"
exec 7<>"$TMPD/in" # never closed while the sender runs: no end of stream
bg_start TX /dev/null "$TMPD/tx.err" 60 "${IO[@]}" "$TMPD/in" - "$JET" cat --link "lan:$L" --station 0 1:5300
TXJET=$JETPID
timeout 20 head -c 1000000 "$TMPD/stream.txt" >&7 || fail "the sender does not read its stdin"
for _ in $(seq 200); do # until the log holds most of it
	[ "$(stat -c %s "$LOG")" -gt 900000 ] && break
	sleep 0.05
done
kill -KILL "$TXJET"
t0=$SECONDS
wait_exit "$RX" 20 || { tail -c 2000 "$LOG"; fail "listener still running 20 s after its sender was killed"; }
[ "$BG_RC" -eq 1 ] || { tail -c 2000 "$LOG"; fail "listener exited $BG_RC, wanted 1"; }
wait_exit "$TX" 5
exec 7>&-
stop_writer "$LOG"
msg=$(grep -a "^jet: " "$LOG" | head -1)
[ -n "$msg" ] || { tail -c 2000 "$LOG"; fail "cat's error message is not in the log"; }
ok "sender killed: listener exited 1 after $((SECONDS - t0)) s; in the log: $msg"
n=$(printf '%s\n' "$msg" | sed -n "s/.*stdout holds the stream's first \([0-9]*\) bytes.*/\1/p")
[ -n "$n" ] || fail "the message does not say how much of the stream stdout holds: $msg"
split_log "$LOG" "$TMPD/got"
expect_eq "$(stat -c %s "$TMPD/got")" "$n" "the log holds the $n bytes of the stream the message says"
expect_eq "$(sha256sum <"$TMPD/got" | cut -d' ' -f1)" "$(head -c "$n" "$TMPD/stream.txt" | sha256sum | cut -d' ' -f1)" \
	"they are the stream's first $n bytes"

# ---- 3. a regular file, 1<> (sink mode) ----
head -c 3000000 /dev/urandom >"$TMPD/old" || fail "cannot make the file"
head -c 1000000 "$TMPD/stream.txt" >"$TMPD/part"
cp "$TMPD/old" "$TMPD/f"
bg_start RX /dev/null "$TMPD/rx.err" 120 bash -c \
	'{ printf HEAD; "$0" cat -l -v --link "lan:$1" --station 1 </dev/null; rc=$?; printf TAIL; exit $rc; } 1<>"$2"' \
	"$JET" "$L" "$TMPD/f"
wait_grep "$TMPD/rx.err" "listening on" 10 || { dump "$TMPD/rx.err"; fail "jet cat -l 1<> did not start"; }
check_ok "jet cat: 1000000 bytes into a file at offset 4 (1<>)" \
	"${IO[@]}" "$TMPD/part" - "$JET" cat --link "lan:$L" --station 0 1:5300
wait_exit "$RX" 20 || fail "listener still running"
[ "$BG_RC" -eq 0 ] || { dump "$TMPD/rx.err"; fail "listener exited $BG_RC"; }
grep -q "jet cat: sink: 1000000 bytes received in order" "$TMPD/rx.err" || { dump "$TMPD/rx.err"; fail "no sink line"; }
expect_eq "$(sha256sum <"$TMPD/f" | cut -d' ' -f1)" \
	"$( (printf HEADTAIL; tail -c +5 "$TMPD/part"; tail -c +1000005 "$TMPD/old") | sha256sum | cut -d' ' -f1)" \
	"HEAD, the stream at offset 4, the file's old bytes after it; the offset not moved (TAIL at 4), nothing cut"

# The same, the sender killed after 1000000 bytes: the bytes beyond are the old ones.
cp "$TMPD/old" "$TMPD/f"
bg_start RX /dev/null "$TMPD/rx.err" 120 bash -c \
	'{ printf HEAD; exec "$0" cat -l --link "lan:$1" --station 1 </dev/null; } 1<>"$2"' "$JET" "$L" "$TMPD/f"
RXJET=$JETPID
wait_grep "$TMPD/rx.err" "listening on" 10 || { dump "$TMPD/rx.err"; fail "jet cat -l 1<> did not start"; }
exec 7<>"$TMPD/in"
bg_start TX /dev/null "$TMPD/tx.err" 60 "${IO[@]}" "$TMPD/in" - "$JET" cat --link "lan:$L" --station 0 1:5300
TXJET=$JETPID
timeout 20 cat "$TMPD/part" >&7 || fail "the sender does not read its stdin"
sleep 1
kill -KILL "$TXJET"
wait_exit "$RX" 20 || { dump "$TMPD/rx.err"; fail "listener still running 20 s after its sender was killed"; }
[ "$BG_RC" -eq 1 ] || { dump "$TMPD/rx.err"; fail "listener exited $BG_RC, wanted 1"; }
wait_exit "$TX" 5
exec 7>&-
msg=$(grep "^jet: " "$TMPD/rx.err" | head -1)
n=$(printf '%s\n' "$msg" | sed -n "s/.*stdout holds the stream's first \([0-9]*\) bytes, at offset 4.*/\1/p")
[ -n "$n" ] || { dump "$TMPD/rx.err"; fail "the message does not say what the file holds"; }
ok "sender killed: $msg"
expect_eq "$(stat -c %s "$TMPD/f")" 3000000 "the file keeps its size: nothing cut"
expect_eq "$(head -c $((4 + n)) "$TMPD/f" | sha256sum | cut -d' ' -f1)" \
	"$( (printf HEAD; head -c "$n" "$TMPD/part") | sha256sum | cut -d' ' -f1)" \
	"HEAD, then the stream's first $n bytes"
expect_eq "$(tail -c +1000005 "$TMPD/f" | sha256sum | cut -d' ' -f1)" \
	"$(tail -c +1000005 "$TMPD/old" | sha256sum | cut -d' ' -f1)" "beyond the bytes sent, the file's old bytes"

# 2>&1 into the same file: written in order, the messages between.
bg_start RX /dev/null "$TMPD/rx.bg" 120 bash -c \
	'exec "$0" cat -l -v --link "lan:$1" --station 1 </dev/null >"$2" 2>&1' "$JET" "$L" "$TMPD/f2"
wait_grep "$TMPD/f2" "listening on" 10 || fail "jet cat -l >f 2>&1 did not start"
check_ok "jet cat into a file that stderr also goes to" \
	"${IO[@]}" "$TMPD/part" - "$JET" cat --link "lan:$L" --station 0 1:5300
wait_exit "$RX" 20 || fail "listener still running"
grep -q "jet cat: ring: 1000000 bytes" "$TMPD/f2" || fail "not written in order with >f 2>&1"
expect_eq "$(perl -0777 -pe 's/jet cat: [^\n]*\n//g' "$TMPD/f2" | sha256sum | cut -d' ' -f1)" \
	"$(sha256sum <"$TMPD/part" | cut -d' ' -f1)" ">f 2>&1: the stream and cat's messages, none over the other"

# ---- 4. --timeout ----
bg_start RX /dev/null "$TMPD/rx.err" 60 "$JET" cat -l --link "lan:$L" --station 1 --chan 5301
RXJET=$JETPID
wait_grep "$TMPD/rx.err" "listening on" 10 || fail "listener on 5301 did not start"
t0=$(date +%s%N)
check_err 1 "within 4.0 s" "connect with --timeout 4 where nobody listens" \
	"$JET" cat --link "lan:$L" --station 0 --timeout 4 1:5300
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -ge 3900 ] || fail "gave up after $ms ms, before its --timeout 4"
[ "$ms" -le 8000 ] || fail "gave up after $ms ms, long after its --timeout 4"
ok "--timeout 4: gave up after $ms ms"
t0=$(date +%s%N)
check_err 1 "within 1.0 s" "connect with --timeout 1 where nobody listens" \
	"$JET" cat --link "lan:$L" --station 0 --timeout 1 1:5300
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -ge 900 ] && [ "$ms" -le 5000 ] || fail "--timeout 1: gave up after $ms ms"
ok "--timeout 1: gave up after $ms ms"
kill -TERM "$RXJET"
wait_exit "$RX" 5 || fail "listener still running 5 s after SIGTERM"
check_err 2 "bad --timeout" "--timeout 0" "$JET" cat --link "lan:$L" --timeout 0 1:5300

# ---- 5. speed on a LAN with delay, jitter and loss ----
# cat's rate (first byte to end of stream, its -v line) against jet perf's (first byte
# to last) on the same LAN, right after it: at least half of it (before the fix: a
# third to a ninth).  Loss makes both vary from run to run, so the best of three tries
# counts; the whole transfer must also end within a bound that only a hang breaks.
S=$(lan_name slow)
check_ok "lan create $S --delay 2ms --jitter 1ms --rate 1G --loss 0.02" \
	"$JET" lan create "$S" --delay 2ms --jitter 1ms --rate 1G --loss 0.02 --seed 3
MIB=16
head -c $((MIB << 20)) /dev/urandom >"$TMPD/big" || fail "cannot make the file"
best=""
for try in 1 2 3; do
	bg_start RX "$TMPD/big.out" "$TMPD/rx.err" 120 "${IO[@]}" /dev/null - "$JET" cat -l -v --link "lan:$S" --station 1
	wait_grep "$TMPD/rx.err" "listening on" 10 || fail "listener did not start"
	t0=$(date +%s%N)
	check_ok "jet cat: $MIB MiB over the slow, lossy LAN (try $try)" \
		"${IO[@]}" "$TMPD/big" - "$JET" cat --link "lan:$S" --station 0 1:5300
	wait_exit "$RX" 30 || fail "listener still running"
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$BG_RC" -eq 0 ] || { dump "$TMPD/rx.err"; fail "listener exited $BG_RC"; }
	expect_eq "$(sha256sum <"$TMPD/big.out" | cut -d' ' -f1)" "$(sha256sum <"$TMPD/big" | cut -d' ' -f1)" \
		"SHA-256 of the $MIB MiB"
	[ "$ms" -le 60000 ] || fail "$MIB MiB took $ms ms"
	cat_mbps=$(sed -n 's/.*first byte to end of stream) = \([0-9.]*\) Mbit.*/\1/p' "$TMPD/rx.err")
	[ -n "$cat_mbps" ] || { dump "$TMPD/rx.err"; fail "no rate in cat's -v output"; }
	bg_start PS /dev/null "$TMPD/ps.err" 60 "$JET" perf --proto rbs -s -1 --link "lan:$S" --station 1
	wait_attached "$S" 1 10 || fail "perf server did not attach"
	check_ok "jet perf --proto rbs: $MIB MiB on the same LAN" \
		"$JET" perf --proto rbs -c --to 1 --link "lan:$S" --station 0 -n $((MIB << 20)) --json
	wait_exit "$PS" 10 || fail "perf server still running"
	perf_mbps=$(jv '.gbps * 1000')
	ratio=$(echo "$cat_mbps $perf_mbps" | awk '{ printf "%.2f", ($2 > 0 ? $1 / $2 : 0) }')
	info "try $try: jet cat $cat_mbps Mbit/s ($ms ms start to exit of both ends), jet perf $(printf %.1f "$perf_mbps") Mbit/s: cat/perf $ratio"
	if awk -v r="$ratio" 'BEGIN { exit !(r >= 0.5) }'; then
		best=$ratio
		break
	fi
done
[ -n "$best" ] || fail "jet cat below half of jet perf's rate in 3 tries under delay and loss"
ok "jet cat at $best of jet perf's rate under delay, jitter and loss"

done_ok
