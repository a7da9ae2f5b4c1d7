#!/usr/bin/env bash
# jet stat: the stations of a LAN and the channels and counters each one
# publishes in /dev/shm/jet-stat.LAN.STATION.
#
#   examples/chan_demo (one process, LAN $L)
#     station 0, channel 1 --N frames--> station 1, channel 10  drop newest, queue 64, prio 0
#                          --N frames--> station 1, channel 20  drop oldest, queue 128, prio 5,
#                                                               bad CRC delivered, 2 Mbit/s reserved
#   jet stat lan:$L [--station K] [--json] [--watch S]     reads the LAN and both stats files
#   jet stat $L                                             the same (a plain name is a LAN's)
#
# (Stations on other links publish too, under /dev/shm/jet-stat.ENCODED-LINK.ADDR-PID;
# tests/unit/test_statpub.c runs jet stat on such links.)
#
# Then: the demo exits -> its files are gone; a demo killed with SIGKILL ->
# jet stat reports its files stale and removes them.
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

# Also remove the stats files of this run's LANs, whatever happens.
stat_cleanup() {
	cleanup
	rm -f /dev/shm/jet-stat."$LAN_PFX"-*
}
trap stat_cleanup EXIT

DEMO=$BUILD/examples/chan_demo
[ -x "$DEMO" ] || fail "no $DEMO: build it first (make all)"
N=1000
SIZE=512
L=$(lan_name stat)
F0=/dev/shm/jet-stat.$L.0
F1=/dev/shm/jet-stat.$L.1

# ---- usage ----
check_ok "jet stat --help" "$JET" stat --help
grep -qF "usage: jet stat LINK" <<<"$OUT" || fail "jet stat --help: no usage on stdout"
ok "jet stat --help prints usage"
check_ok "jet --help" "$JET" --help
grep -qE '^  stat ' <<<"$OUT" || fail "jet --help does not list stat"
ok "jet --help lists stat"
check_err 2 "which link" "jet stat without a link" "$JET" stat
check_err 2 "unknown kind" "jet stat on an unknown kind of link" "$JET" stat bogus:eth0
check_ok "jet stat on a tap link nobody publishes on" "$JET" stat tap:jt-nosuch0
grep -qF "(no station publishes counters on this link)" <<<"$OUT" ||
	fail "jet stat tap:...: no '(no station publishes counters on this link)'"
ok "jet stat on a link without publishers says so"
check_ok "jet stat tap:... --json" "$JET" stat tap:jt-nosuch0 --json
expect_jq '.link == "tap:jt-nosuch0" and .publishers == 0 and .station == []' \
	"jet stat tap:... --json: the link, no publisher"
check_err '!0' "publishes no counters" "jet stat tap:... --station 3" "$JET" stat tap:jt-nosuch0 --station 3
check_err 2 "unknown option '--bogus'" "jet stat --bogus" "$JET" stat lan:x --bogus
check_err 2 "bad value '99' for --station" "jet stat --station 99" "$JET" stat lan:x --station 99
check_err 2 "bad value '0' for --watch" "jet stat --watch 0" "$JET" stat lan:x --watch 0
check_err '!0' "no LAN named" "jet stat of an unknown LAN" "$JET" stat "lan:$LAN_PFX-nosuch"

# ---- an empty LAN ----
check_ok "lan create $L" "$JET" lan create "$L" --stations 4
check_ok "jet stat lan:$L (empty)" "$JET" stat "lan:$L"
grep -qF "(no station attached)" <<<"$OUT" || fail "empty LAN: text lacks '(no station attached)'"
ok "empty LAN: no station attached"
check_ok "jet stat lan:$L --json (empty)" "$JET" stat "lan:$L" --json
expect_jq '.lan == "'"$L"'" and .stations == 4 and .attached == 0 and .station == []' \
	"empty LAN: JSON has the LAN, 4 slots, no station"
check_err '!0' "station 1 of LAN '$L' is not attached" "jet stat --station 1 (not attached)" \
	"$JET" stat "lan:$L" --station 1

# ---- a running demo ----
bg_start DEMO_BG "$TMPD/demo.out" "$TMPD/demo.err" 60 "$DEMO" "$L" -n "$N" --size "$SIZE" --linger 30
DEMO_PID=$JETPID
[ -n "$DEMO_PID" ] || fail "chan_demo did not start: $(cat "$TMPD/demo.err")"
wait_grep "$TMPD/demo.out" ready 20 || {
	dump "$TMPD/demo.out" "$TMPD/demo.err"
	fail "chan_demo did not get ready"
}
grep -qF "channel 10: $N frames intact, 0 bad; channel 20: $N intact, 0 bad" "$TMPD/demo.out" ||
	fail "chan_demo lost frames: $(cat "$TMPD/demo.out")"
ok "chan_demo sent and received $N frames on each channel"
[ -e "$F0" ] && [ -e "$F1" ] || fail "no stats files $F0 and $F1"
ok "stats files of stations 0 and 1 exist"
expect_eq "$(stat -c %a "$F1")" 600 "stats file mode (that of the LAN)"

# The counters are published every 100 ms; "ready" came after 300 ms of
# lingering, but allow for a slow machine.
for _ in $(seq 50); do
	run "$JET" stat "lan:$L" --json
	[ "$RC" -eq 0 ] && printf '%s\n' "$OUT" |
		jq -e --argjson n "$N" '.station[] | select(.station == 1) | .chan[] |
			select(.id == 20) | .frames_in == $n' >/dev/null 2>&1 && break
	sleep 0.1
done
[ "$RC" -eq 0 ] || fail "jet stat --json: exit code $RC"
expect_jq . "jet stat --json is valid JSON"
expect_jq '.attached == 2 and ([.station[].station] == [0, 1])' "both stations listed"
expect_eq "$(jv '[.station[].pid] | unique | .[]')" "$DEMO_PID" "both stations: pid of chan_demo"
expect_eq "$(jv '[.station[].stats] | join(",")')" "live,live" "both stations publish live counters"
S1='.station[] | select(.station == 1)'
S0='.station[] | select(.station == 0)'
expect_eq "$(jv "[$S1 | .chan[].id] | join(\",\")")" "10,20" "station 1: channels 10 and 20"
expect_jq "$S1 | .chan[] | select(.id == 10) | .drop == \"newest\" and .queue_frames == 64 and
	.prio == 0 and .accept_bad_crc == false and .reserve_bps == 0" "channel 10: policy"
expect_jq "$S1 | .chan[] | select(.id == 20) | .drop == \"oldest\" and .queue_frames == 128 and
	.prio == 5 and .accept_bad_crc == true and .reserve_bps == 2000000" "channel 20: policy"
for c in 10 20; do
	expect_eq "$(jv "$S1 | .chan[] | select(.id == $c) | [.frames_in, .bytes_in, .frames_out,
		.dropped_policy, .dropped_crc, .crc_bad_delivered, .backpressured, .queued] | join(\",\")")" \
		"$N,$((N * SIZE)),0,0,0,0,0,0" "channel $c: frames/bytes in, nothing out, no drops, empty queue"
done
expect_eq "$(jv "$S1 | .driver | [.frames_in, .dropped_header, .dropped_no_chan, .dropped_not_mine,
	.dropped_other, .channels] | join(\",\")")" "$((2 * N)),0,0,0,0,2" "station 1: driver counters"
expect_eq "$(jv "$S1 | [.rx_frames, .tx_frames] | join(\",\")")" "$((2 * N)),0" "station 1: LAN rx/tx frames"
expect_jq "all(.station[]; .rx_stale == 0 and .shm_bad == 0)" "rx_stale and shm_bad: 0 on an honest LAN"
expect_eq "$(jv "$S0 | [.chan[].id] | join(\",\")")" "1" "station 0: channel 1"
expect_eq "$(jv "$S0 | .chan[0] | [.frames_out, .bytes_out, .frames_in] | join(\",\")")" \
	"$((2 * N)),$((2 * N * SIZE)),0" "station 0, channel 1: frames and bytes out"
expect_eq "$(jv "$S0 | .tx_frames")" "$((2 * N))" "station 0: LAN tx frames"
expect_eq "$(jv "$S1 | .link")" "lan:$L" "station 1: link name"
check_ok "jet stat $L --json (plain LAN name)" "$JET" stat "$L" --json
expect_jq '.lan == "'"$L"'" and ([.station[].station] == [0, 1]) and
	([.station[].stats] == ["live", "live"])' "plain LAN name: the same LAN view"

check_ok "jet stat --station 1 --json" "$JET" stat "lan:$L" --station 1 --json
expect_jq '[.station[].station] == [1]' "--station 1 lists station 1 only"

check_ok "jet stat lan:$L (text)" "$JET" stat "lan:$L"
for s in "lan $L: 2 of 4 stations attached" "station 0: pid $DEMO_PID" "station 1: pid $DEMO_PID" \
	"oldest+crc" "2.00 Mbit/s" "frames in $((2 * N));" "rx_stale 0, shm_bad 0"; do
	grep -qF -- "$s" <<<"$OUT" || fail "jet stat text lacks '$s'"
done
grep -qE "^ +10 newest +64f/" <<<"$OUT" || fail "jet stat text: no row for channel 10"
grep -qE "^ +20 oldest\+crc +128f/.* 5 +2.00 Mbit/s" <<<"$OUT" || fail "jet stat text: no row for channel 20"
ok "jet stat text: stations, driver counters, channel rows"

# --watch: samples until SIGINT, exits 0, rates from the second sample on.
run timeout -s INT --preserve-status 1.8 "$JET" stat "lan:$L" --watch 0.4 --json
expect_eq "$RC" 0 "jet stat --watch exits 0 on SIGINT"
lines=$(printf '%s\n' "$OUT" | grep -c .)
[ "$lines" -ge 3 ] || fail "jet stat --watch 0.4 for 1.8 s: $lines samples, wanted 3 or more"
ok "jet stat --watch 0.4: $lines samples in 1.8 s"
printf '%s\n' "$OUT" | jq -e . >/dev/null 2>&1 || fail "jet stat --watch --json: a line is not JSON"
printf '%s\n' "$OUT" | tail -1 | jq -e '.interval_s == 0.4 and
	(.station[] | select(.station == 1) | has("rx_frames_per_s") and
	 (.chan[] | select(.id == 10) | .frames_in_per_s == 0))' >/dev/null 2>&1 ||
	fail "jet stat --watch --json: last sample lacks rates (or traffic where none is)"
ok "jet stat --watch --json: one object per sample, with rates"
run timeout -s TERM --preserve-status 1.2 "$JET" stat "lan:$L" --watch 0.5
expect_eq "$RC" 0 "jet stat --watch (text) exits 0 on SIGTERM"
grep -qF "in/s" <<<"$OUT" || fail "jet stat --watch text: no in/s column"
ok "jet stat --watch text shows rate columns"

# ---- the demo exits: its files go ----
kill -TERM "$DEMO_PID"
wait_exit "$DEMO_BG" 10 || fail "chan_demo did not exit on SIGTERM"
expect_eq "$BG_RC" 0 "chan_demo exit code"
[ -e "$F0" ] || [ -e "$F1" ] && fail "stats files left after chan_demo exited"
ok "stats files removed when the stations closed"
check_ok "jet stat --json after the demo" "$JET" stat "lan:$L" --json
expect_jq '.attached == 0 and .station == []' "no station after the demo"

# ---- a demo killed: its files are stale, reported, removed ----
bg_start DEMO_BG "$TMPD/demo2.out" "$TMPD/demo2.err" 60 "$DEMO" "$L" -n 10 --linger 30
DEMO_PID=$JETPID
wait_grep "$TMPD/demo2.out" ready 20 || fail "second chan_demo did not get ready"
kill -KILL "$DEMO_PID"
wait_exit "$DEMO_BG" 10 || fail "chan_demo did not die of SIGKILL"
[ -e "$F0" ] && [ -e "$F1" ] || fail "a killed chan_demo left no stats files (expected stale ones)"
ok "SIGKILL leaves stale stats files"
check_ok "jet stat --json with stale files" "$JET" stat "lan:$L" --json
expect_jq '.attached == 0 and ([.station[].station] == [0, 1])' "stale stations listed"
expect_jq "all(.station[]; .attached == false and .stats == \"stale\" and .removed == true and
	.stale_pid == $DEMO_PID)" "stale files reported (pid of the dead demo) and removed"
[ -e "$F0" ] || [ -e "$F1" ] && fail "jet stat did not remove the stale files"
ok "stale files gone"
check_ok "jet stat after removal" "$JET" stat "lan:$L"
grep -qF "(no station attached)" <<<"$OUT" || fail "after removal: stations still listed"
ok "after removal: no station listed"

check_ok "lan destroy $L" "$JET" lan destroy "$L"

# ---- many channels: jet perf --channels 1024 ----
# The receiver (station 1) opens channel 5201 for control and, for the
# session, 5202..6225; it publishes them a slice per poll (statpub.h), so a
# snapshot is put together over many polls while frames arrive: jet stat
# must show every channel once, with counters.
M=$(lan_name stat-many)
check_ok "lan create $M" "$JET" lan create "$M" --stations 2
bg_start RX_BG "$TMPD/rx.out" "$TMPD/rx.err" 60 "$JET" perf --proto raw -s -1 --link "lan:$M" --station 1
wait_attached "$M" 1 10 || {
	dump "$TMPD/rx.out" "$TMPD/rx.err"
	fail "perf receiver did not attach station 1"
}
bg_start TX_BG "$TMPD/tx.out" "$TMPD/tx.err" 60 "$JET" perf --proto raw -c --to 1 --link "lan:$M" \
	--station 0 --channels 1024 -t 3 --json
S='.station[] | select(.station == 1)'
seen=""
for _ in $(seq 50); do
	run "$JET" stat "lan:$M" --station 1 --json
	[ "$RC" -eq 0 ] && printf '%s\n' "$OUT" | jq -e "$S | .driver.channels == 1025 and
		([.chan[] | select(.id > 5201) | .frames_in] | add) > 0" >/dev/null 2>&1 && seen=1 && break
	sleep 0.1
done
[ -n "$seen" ] || {
	dump "$TMPD/rx.out" "$TMPD/rx.err" "$TMPD/tx.out" "$TMPD/tx.err"
	fail "jet stat never showed station 1 with 1025 channels and frames handed over"
}
expect_jq "[$S | .chan[].id] | sort == [range(5201; 6226)]" \
	"1024 channels: the control channel and every data channel, each once"
expect_jq "$S | .driver.channels == (.chan | length)" "1024 channels: driver count == channel rows"
expect_jq "$S | .publishes >= 1 and (.pass_ns | type) == \"number\" and .pass_ns < 10000000000" \
	"1024 channels: a complete pass, and how long it took"
expect_jq "[$S | .chan[] | select(.id > 5201) | [.drop, .queue_frames, .prio]] | unique | length == 1" \
	"1024 channels: the data channels share one policy"
expect_jq "$S | all(.chan[]; .bytes_in >= .frames_in and .queued <= .queue_frames)" \
	"1024 channels: counters well-formed"
info "1024 channels: $(jv "[$S | .chan[].frames_in] | add") frames handed over when sampled"
wait_exit "$TX_BG" 30 || fail "perf sender did not finish"
expect_eq "$BG_RC" 0 "perf --channels 1024 sender exit code"
wait_exit "$RX_BG" 15 || fail "one-off perf receiver did not exit after the session"
expect_eq "$BG_RC" 0 "perf receiver exit code"
[ -e "/dev/shm/jet-stat.$M.1" ] && fail "stats file of the perf receiver left behind"
ok "perf receiver's stats file removed"
check_ok "lan destroy $M" "$JET" lan destroy "$M"
done_ok
