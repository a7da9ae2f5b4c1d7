#!/usr/bin/env bash
# jet dump (docs/capture.md) on an emulated LAN, around jet perf transfers:
#
#     jet dump lan:L  (monitor: no station)      sees every frame of
#     jet perf -s  (station 1)  <== lan:L ==>  jet perf -c --to 1  (station 0)
#
#   - text: -c COUNT lines as tcpdump prints them (time with ns, stations and
#     channels, flags, length, the RBS summary; for TCP over the LAN the TCP
#     summary and ARP); --chan and --station keep only what matches (on
#     Ethernet frames, --station by the station's MAC);
#   - -w FILE around an RBS transfer, stopped by SIGINT: a complete pcapng
#     (tshark reads every frame, ns timestamps; jet dump -r prints as many);
#     --snaplen cuts frames, keeping their length; a jet dump killed with
#     SIGKILL leaves a file tshark reads;
#   - capture:PATH/lan:L on a station (the wrapper by name): its frames in
#     and out, directions shown;
#   - refusals: no link, a link that cannot be watched, a LAN that is not there.
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

command -v tshark >/dev/null || { echo "SKIP: tshark is needed"; exit 77; }
L=$(lan_name dump)
check_ok "lan create $L" "$JET" lan create "$L" --stations 4
R=("$JET" perf --proto rbs)
T=("$JET" perf --proto tcp)
TIME_RE='^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9} '

# dump_bg NAME ARGS...: jet dump lan:L ARGS in the background, ready.
dump_bg() {
	local n=$1
	shift
	bg_start DUMP "$TMPD/$n.out" "$TMPD/$n.err" 30 "$JET" dump "lan:$L" "$@"
	DUMPJET=$JETPID
	wait_grep "$TMPD/$n.err" "jet dump: " 10 || { dump "$TMPD/$n.err"; fail "jet dump $n did not start"; }
}
# rbs_transfer BYTES: one RBS session, station 0 to station 1.
rbs_transfer() {
	bg_start SRV "$TMPD/srv.out" "$TMPD/srv.err" 30 "${R[@]}" -s -1 --link "lan:$L" --station 1
	wait_attached "$L" 1 10 || { dump "$TMPD/srv.err"; fail "perf server did not attach"; }
	check_ok "rbs transfer of $1 bytes" "${R[@]}" -c --to 1 --link "lan:$L" --station 0 -n "$1"
	wait_exit "$SRV" 10 || fail "perf server still running"
}
dump_done() { # NAME: waits for the background jet dump; it must exit 0
	wait_exit "$DUMP" 10 || { dump "$TMPD/$1.err"; fail "jet dump $1 still running"; }
	[ "$BG_RC" -eq 0 ] || { dump "$TMPD/$1.out" "$TMPD/$1.err"; fail "jet dump $1 exited $BG_RC"; }
}

# ---- text: an RBS session, stopped by SIGINT; then -c ----
dump_bg text
rbs_transfer 64K
sleep 0.3
kill -INT "$DUMPJET"
dump_done text
OUT=$(cat "$TMPD/text.out")
[ "$(wc -l <"$TMPD/text.out")" -ge 10 ] || fail "too few lines for a session: $OUT"
grep -qvE "${TIME_RE}JET [0-9]+\.[0-9]+ > [0-9]+\.[0-9]+, flags \[CRC\], prio [0-7], length [0-9]+: RBS Flags \[[SFR.]+\], seq [0-9]+(:[0-9]+)?(, ack [0-9]+)?, win [0-9]+" \
	"$TMPD/text.out" && fail "a line not as documented: $OUT"
ok "every line: time (ns), JET src.chan > dst.chan, flags, prio, length, RBS summary"
grep -qE "JET 0\.[0-9]+ > 1\.5201, .*RBS Flags \[S\], seq [0-9]+, win [0-9]+, options \[mss [0-9]+,wscale [0-9]+,chan [0-9]+\], length 0$" \
	"$TMPD/text.out" || fail "no SYN to 1.5201 in: $OUT"
ok "the SYN, station 0 to the listener's channel 1.5201, with its options"
grep -qE "JET 1\.[0-9]+ > 0\.[0-9]+, .*RBS Flags \[S\.\], seq [0-9]+, ack [0-9]+" "$TMPD/text.out" ||
	fail "no SYN-ACK in: $OUT"
grep -qE "RBS Flags \[\.\], seq [0-9]+:[0-9]+, ack [0-9]+, win [0-9]+, length [1-9][0-9]*$" "$TMPD/text.out" ||
	fail "no data segment (seq A:B, length > 0) in: $OUT"
grep -qE "RBS Flags \[F\.\]" "$TMPD/text.out" || fail "no FIN in: $OUT"
ok "the SYN-ACK, data segments, FIN"
grep -q "frames kept" "$TMPD/text.err" || fail "no count on stderr: $(cat "$TMPD/text.err")"
dump_bg count -c 8
rbs_transfer 4M
dump_done count
expect_eq "$(wc -l <"$TMPD/count.out")" 8 "-c 8: eight lines, then jet dump exits 0"

# ---- --chan and --station ----
dump_bg chan -c 1 --chan 5201
rbs_transfer 64K
dump_done chan
grep -qE "${TIME_RE}JET 0\.[0-9]+ > 1\.5201, .*RBS Flags \[S\]" "$TMPD/chan.out" ||
	{ dump "$TMPD/chan.out"; fail "--chan 5201 -c 1: not the SYN to channel 5201"; }
ok "--chan 5201 -c 1: the SYN to the listener's channel"
dump_bg st -c 20 --station 1
bg_start OTHER "$TMPD/o.out" "$TMPD/o.err" 30 "${R[@]}" -s -1 --link "lan:$L" --station 3
wait_attached "$L" 3 10 || fail "second server did not attach"
check_ok "rbs 2 > 3 (not station 1)" "${R[@]}" -c --to 3 --link "lan:$L" --station 2 -n 64K
rbs_transfer 4M
dump_done st
expect_eq "$(wc -l <"$TMPD/st.out")" 20 "--station 1 -c 20: twenty lines"
awk '!/JET 1\.[0-9]+ > / && !/> 1\.[0-9]+,/' "$TMPD/st.out" | grep -q . &&
	{ dump "$TMPD/st.out"; fail "--station 1 printed a frame neither from nor to station 1"; }
ok "--station 1: only frames from or to station 1 (stations 2 and 3 talked first)"
wait_exit "$OTHER" 10 || fail "second server still running"

# ---- -w around a transfer, stopped by SIGINT ----
F=$TMPD/rbs.pcapng
dump_bg w -w "$F"
rbs_transfer 4M
kill -INT "$DUMPJET"
dump_done w
KEPT=$(sed -n 's/.*: \([0-9]*\) frames kept (written).*/\1/p' "$TMPD/w.err")
if [ -z "$KEPT" ] || [ "$KEPT" -le 100 ]; then
	dump "$TMPD/w.err"
	fail "-w: too few frames kept: '$KEPT'"
fi
run tshark -r "$F" -T fields -e frame.interface_id -e frame.time_epoch -e frame.len -e frame.cap_len
[ "$RC" -eq 0 ] || fail "tshark cannot read the file"
expect_eq "$(printf '%s\n' "$OUT" | wc -l)" "$KEPT" "tshark reads every frame kept ($KEPT)"
printf '%s\n' "$OUT" | awk -F'\t' '{ split($2, t, ".") } length(t[2]) != 9 || $3 != $4 { bad = 1 } END { exit bad }' ||
	fail "timestamps without 9 decimals, or frames cut: $(printf '%s\n' "$OUT" | head -3)"
ok "timestamps in ns; whole frames"
run tshark -r "$F" -T fields -e frame.interface_id -e frame.interface_name
expect_eq "$(printf '%s\n' "$OUT" | sort -u | tr '\t\n' ', ')" "0,lan:$L " "one interface: native, if_name lan:$L"
check_ok "jet dump -r" "$JET" dump -r "$F"
expect_eq "$(printf '%s\n' "$OUT" | wc -l)" "$KEPT" "jet dump -r prints every frame"
printf '%s\n' "$OUT" | grep -qvE "${TIME_RE}JET " && fail "-r: a line not as documented"
ok "-r: every line as documented"
check_ok "jet dump -r -c 3 --chan 5201" "$JET" dump -r "$F" -c 3 --chan 5201
expect_eq "$(printf '%s\n' "$OUT" | wc -l)" 1 "-r --chan 5201: the SYN only"

# ---- --snaplen ----
dump_bg snap -w "$TMPD/snap.pcapng" --snaplen 64 -c 50
rbs_transfer 4M
dump_done snap
run tshark -r "$TMPD/snap.pcapng" -T fields -e frame.len -e frame.cap_len
awk -F'\t' '$2 > 64 || ($1 > 64 && $2 != 64) { bad = 1 } $1 > 64 { big++ }
	END { exit bad || !big }' <<<"$OUT" || fail "--snaplen 64: $(head -5 <<<"$OUT")"
expect_eq "$(wc -l <<<"$OUT")" 50 "--snaplen 64 -c 50: fifty frames, cut at 64 bytes, lengths kept"
check_ok "jet dump -r of cut frames" "$JET" dump -r "$TMPD/snap.pcapng"
grep -q "length [0-9]*$" <<<"$OUT" || fail "cut frames: no RBS summary"
ok "cut frames still summarised (the RBS header is in the first 64 bytes)"

# ---- killed with SIGKILL: the file is still readable ----
dump_bg kill -w "$TMPD/kill.pcapng"
bg_start SRV "$TMPD/srv.out" "$TMPD/srv.err" 30 "${R[@]}" -s -1 --link "lan:$L" --station 1
wait_attached "$L" 1 10 || fail "perf server did not attach"
bg_start CLI "$TMPD/cli.out" "$TMPD/cli.err" 30 "${R[@]}" -c --to 1 --link "lan:$L" --station 0 -t 2
sleep 1
kill -KILL "$DUMPJET"
wait_exit "$CLI" 10 || fail "perf client still running"
[ "$BG_RC" -eq 0 ] || { dump "$TMPD/cli.err"; fail "perf client failed while jet dump was killed"; }
wait_exit "$SRV" 10 || fail "perf server still running"
wait_exit "$DUMP" 5 || true
# Whole blocks are written at least every 200 ms; a SIGKILL that lands inside
# a write may cut the last block (tshark then reads every frame before it
# and says the file was cut short), nothing else.
run tshark -r "$TMPD/kill.pcapng" -T fields -e frame.len
[ "$RC" -eq 0 ] || grep -q "cut short in the middle of a packet" <<<"$ERR" ||
	fail "tshark on the file of a killed jet dump: $ERR"
[ "$(wc -l <<<"$OUT")" -gt 10 ] || fail "killed jet dump: too few frames in its file"
ok "jet dump killed (SIGKILL) mid-transfer: the perf ran on; tshark reads $(wc -l <<<"$OUT") frames (exit $RC)"

# ---- TCP over the LAN: ARP and the TCP summary ----
dump_bg tcp -c 12
bg_start SRV "$TMPD/srv.out" "$TMPD/srv.err" 30 "${T[@]}" -s -1 --link "lan:$L" --station 1
wait_attached "$L" 1 10 || fail "tcp perf server did not attach"
check_ok "tcp transfer" "${T[@]}" -c --to 1 --link "lan:$L" --station 0 -n 4M
wait_exit "$SRV" 10 || fail "tcp perf server still running"
dump_done tcp
OUT=$(cat "$TMPD/tcp.out")
grep -qE "${TIME_RE}ARP, Request who-has 198\.18\.[0-9.]+ tell 198\.18\.[0-9.]+, length 28$" <<<"$OUT" ||
	fail "no ARP request line"
grep -qE "${TIME_RE}IP 198\.18\.[0-9.]+\.[0-9]+ > 198\.18\.[0-9.]+\.5201: Flags \[S\], seq [0-9]+, win [0-9]+, options \[.*mss [0-9]+.*\], length 0$" <<<"$OUT" ||
	fail "no TCP SYN line to port 5201"
grep -qE "${TIME_RE}IP 198\.18\.[0-9.]+\.5201 > 198\.18\.[0-9.]+: Flags \[S\.\], seq [0-9]+, ack [0-9]+," <<<"$OUT" ||
	fail "no TCP SYN-ACK line"
ok "TCP over the LAN: ARP request, SYN with options, SYN-ACK"
# --station 1 on Ethernet frames: by station 1's MAC (its address is 198.18.0.2)
dump_bg tcpst -c 10 --station 1
bg_start SRV "$TMPD/srv.out" "$TMPD/srv.err" 30 "${T[@]}" -s -1 --link "lan:$L" --station 1
wait_attached "$L" 1 10 || fail "tcp perf server did not attach"
check_ok "tcp transfer" "${T[@]}" -c --to 1 --link "lan:$L" --station 0 -n 4M
wait_exit "$SRV" 10 || fail "tcp perf server still running"
dump_done tcpst
expect_eq "$(wc -l <"$TMPD/tcpst.out")" 10 "--station 1 -c 10 on TCP: ten lines"
grep -v "198\.18\.0\.2" "$TMPD/tcpst.out" | grep -q . &&
	{ dump "$TMPD/tcpst.out"; fail "--station 1 kept an Ethernet frame not from or to station 1"; }
ok "--station 1 on Ethernet: only frames from or to station 1's MAC"

# ---- the wrapper by name on one station ----
C=$TMPD/station.pcapng
bg_start SRV "$TMPD/srv.out" "$TMPD/srv.err" 30 "${R[@]}" -s -1 --link "lan:$L" --station 1
wait_attached "$L" 1 10 || fail "perf server did not attach"
check_ok "rbs over capture:$C/lan:$L" "${R[@]}" -c --to 1 --link "capture:$C/lan:$L" --station 0 -n 1M
wait_exit "$SRV" 10 || fail "perf server still running"
check_ok "jet dump -r of the station's capture" "$JET" dump -r "$C"
grep -qE "${TIME_RE}Out JET 0\.[0-9]+ > 1\.5201, .*Flags \[S\]" <<<"$OUT" || fail "no outgoing SYN"
grep -qE "${TIME_RE}In  JET 1\.[0-9]+ > 0\.[0-9]+, .*Flags \[S\.\]" <<<"$OUT" || fail "no incoming SYN-ACK"
ok "capture:PATH/lan: on a station: Out and In frames"
check_ok "jet dump -r --json" "$JET" dump -r "$C" --json --chan 5201
expect_eq "$(printf '%s\n' "$OUT" | jq -sc 'map([.dir, .encap, .dst_station, .dst_chan, .crc,
	(.summary | test("^JET 0[.][0-9]+ > 1[.]5201, .*RBS Flags [[]S[]]")), (.ts_ns > 1.6e18)])')" \
	'[["out","native",1,5201,true,true,true]]' "--json: the SYN as one object (dir, encap, stations, channels, summary)"

# ---- refusals ----
check_err 2 "which link" "no link" "$JET" dump
check_err 2 "unknown option" "bad option" "$JET" dump "lan:$L" --bogus
check_err '!0' "no-such-lan" "a LAN that is not there" "$JET" dump lan:no-such-lan-jt
check_err '!0' "cannot be a monitor" "a link that cannot be watched (loop:)" "$JET" dump loop:x -c 1
check_err '!0' "/dev/full: pcapng: writing the capture file: No space left" "-w to a full device" \
	"$JET" dump "lan:$L" -w /dev/full -c 1
done_ok
