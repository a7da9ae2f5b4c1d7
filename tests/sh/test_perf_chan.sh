#!/usr/bin/env bash
# jet perf's channel options, end to end on private LANs (jet perf creates
# one per run and removes it):
#
#   sender, station 0 --- lan:perf-PID --- receiver, station 1
#     control channel 5201; data 5202 .. 5201+N (--channels N);
#     latency probes 5202+N
#
#   - drop policies under a slow reader (--reader-delay): exact counts
#   - seeded bit errors with and without --accept-bad-crc
#   - directed placement into a file (byte for byte) and into a buffer
#   - several data channels
#   - latency probes in class 7 overtaking the bulk, and in class 0 beside it
#   - reserved rate: admission control
#
# The slow-reader runs use a 16-entry LAN ring (--ring 16): the sender can
# then be at most 13 frames ahead of the receiver, so the reader's first
# frame is frame 0 whatever the scheduling.  With the default 256-entry ring
# a receiver that is asleep or descheduled when the data starts finds up to
# ~254 frames at once, and the 64-frame queue overflows before the first
# read (jet perf's receiver sleeps once it has seen nothing for 0.2 ms); that
# run is made once per policy, with the counts that hold whatever the timing.
#
# Every other run asserts that nothing was dropped, so its receiver uses
# --policy backpressure: under the default tail drop a receiver slower than
# the sender (sanitized build, busy machine) drops frames, as it should.
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

P=("$JET" perf --proto raw)
NCHAN=10000
[ "$SANITIZED" = 1 ] && NCHAN=4000 # sanitized builds are ~5x slower

# ---- overload: a slow reader and each drop policy ----
# 1000 frames into a Q-frame queue read once every RD: the reader takes
# frame 0 at once, then one frame every RD; the sender is done long before
# the second read.  Tail drop (newest) keeps frames 0..Q (0 read, 1..Q
# queued), head drop (oldest) keeps 0 and the last Q.  Q = 64, RD = 20 ms;
# a sanitized build's sender on a busy machine can take longer than 20 ms
# for the 1000 frames, so there Q = 16, RD = 60 ms (the receiver's last read
# must still come well within the sender's 3 s wait for its report).
Q=64 RD=20000
[ "$SANITIZED" = 1 ] && Q=16 RD=60000
for pol in newest oldest; do
	if [ "$pol" = newest ]; then last=$Q; else last=999; fi
	want="$((Q + 1)) $((1000 - Q - 1)) 0 $last"
	for i in 1 2 3; do
		what="--policy $pol run $i"
		check_ok "$what: --ring 16 --queue $Q --reader-delay $RD -n 1000 --frame 1500" \
			"${P[@]}" --ring 16 --queue "$Q" --reader-delay "$RD" -n 1000 --frame 1500 --json --policy "$pol"
		expect_eq "$(jv '[.frames_delivered, .dropped_policy, .first_seq_delivered, .last_seq_delivered] | map(tostring) | join(" ")')" \
			"$want" "$what: frames_delivered, dropped_policy, first_seq_delivered, last_seq_delivered"
		expect_jq '.frames_sent == 1000 and .lost == 0 and .duplicated == 0 and .reordered == 0' \
			"$what: frames_sent 1000; lost, duplicated, reordered 0"
	done
	# The default ring: what holds whatever the timing.  Nothing is lost,
	# every frame is delivered or dropped by the policy, at least 65 are
	# delivered (64 queued and one read before the rest arrived); tail drop
	# always keeps frame 0, head drop always keeps frame 999.
	what="--policy $pol, default ring"
	check_ok "$what: --queue 64 --reader-delay 20000 -n 1000 --frame 1500" \
		"${P[@]}" --queue 64 --reader-delay 20000 -n 1000 --frame 1500 --json --policy "$pol"
	expect_jq '.frames_sent == 1000 and .lost == 0 and .duplicated == 0 and .reordered == 0' \
		"$what: frames_sent 1000; lost, duplicated, reordered 0"
	expect_jq '.frames_delivered + .dropped_policy == 1000 and .frames_delivered >= 65' \
		"$what: frames_delivered ($(jv .frames_delivered)) >= 65, + dropped_policy == 1000"
	if [ "$pol" = newest ]; then
		expect_eq "$(jv .first_seq_delivered)" 0 "$what: first_seq_delivered"
	else
		expect_eq "$(jv .last_seq_delivered)" 999 "$what: last_seq_delivered"
	fi
	info "$what: frames_delivered, dropped_policy, first_seq, last_seq:" \
		"$(jv '[.frames_delivered, .dropped_policy, .first_seq_delivered, .last_seq_delivered] | map(tostring) | join(" ")')" \
		"(exact with a short ring: $want)"
done
for i in 1 2 3; do
	what="--policy backpressure run $i"
	check_ok "$what: --queue 64 --reader-delay 200 -n 1000 --frame 1500" \
		"${P[@]}" --queue 64 --reader-delay 200 -n 1000 --frame 1500 --json --policy backpressure
	expect_eq "$(jv .frames_delivered)" 1000 "$what: frames_delivered"
	expect_eq "$(jv .dropped_policy)" 0 "$what: dropped_policy"
	expect_eq "$(jv .lost)" 0 "$what: lost"
	expect_eq "$(jv .first_seq_delivered)" 0 "$what: first_seq_delivered"
	expect_eq "$(jv .last_seq_delivered)" 999 "$what: last_seq_delivered"
	expect_jq '.duplicated == 0 and .reordered == 0' "$what: duplicated, reordered 0"
done

# ---- bit errors, with and without --accept-bad-crc ----
# Same seed, same faults: the frames whose payload CRC fails are dropped in
# one run and delivered flagged in the other; damaged headers are dropped
# in both.
BER=("${P[@]}" --policy backpressure --ber 1e-6 --seed 3 -n 20000 --frame 1500 --json)
check_ok "--ber 1e-6 --seed 3 -n 20000" "${BER[@]}"
expect_eq "$(jv .crc_bad_delivered)" 0 "ber: crc_bad_delivered"
expect_jq '.dropped_crc > 0' "ber: dropped_crc > 0 ($(jv .dropped_crc))"
expect_jq '.frames_delivered + .dropped_crc + .dropped_header == 20000' \
	"ber: frames_delivered + dropped_crc + dropped_header == 20000 ($(jv .frames_delivered) + $(jv .dropped_crc) + $(jv .dropped_header))"
expect_jq '.lost == 0 and .dropped_policy == 0' "ber: lost, dropped_policy 0"
B_CRC=$(jv .dropped_crc)
B_HDR=$(jv .dropped_header)
check_ok "--ber 1e-6 --seed 3 -n 20000 --accept-bad-crc" "${BER[@]}" --accept-bad-crc
expect_jq '.crc_bad_delivered > 0' "ber, accepted: crc_bad_delivered > 0 ($(jv .crc_bad_delivered))"
expect_eq "$(jv .dropped_crc)" 0 "ber, accepted: dropped_crc"
expect_jq '.frames_delivered + .dropped_crc + .dropped_header == 20000' \
	"ber, accepted: frames_delivered + dropped_crc + dropped_header == 20000 ($(jv .frames_delivered) + $(jv .dropped_crc) + $(jv .dropped_header))"
expect_jq '.lost == 0 and .dropped_policy == 0' "ber, accepted: lost, dropped_policy 0"
expect_eq "$(jv .crc_bad_delivered)" "$B_CRC" "ber, accepted: crc_bad_delivered == dropped_crc of the run without"
expect_eq "$(jv .dropped_header)" "$B_HDR" "ber, accepted: dropped_header == that of the run without"

# ---- directed placement ----
# The sender's body (after the 24-byte perf header) is byte i = (i*7+1) mod
# 256, the same in every frame; the receiver writes frame seq's body at
# offset seq * body.  Expected file: the body 2000 times.
NPL=2000
BODY=$((1500 - 28 - 24))
esc=""
for ((i = 0; i < BODY; i++)); do
	printf -v o '\\%03o' $(((i * 7 + 1) % 256))
	esc+=$o
done
# shellcheck disable=SC2059 # the format is octal escapes only
printf "$esc" >"$TMPD/body"
[ "$(stat -c %s "$TMPD/body")" -eq "$BODY" ] || fail "could not write the expected body ($(stat -c %s "$TMPD/body") bytes)"
cp "$TMPD/body" "$TMPD/want"
for _ in $(seq 11); do # 2048 bodies
	cat "$TMPD/want" "$TMPD/want" >"$TMPD/want2" && mv "$TMPD/want2" "$TMPD/want"
done
head -c $((NPL * BODY)) "$TMPD/want" >"$TMPD/want2" && mv "$TMPD/want2" "$TMPD/want"
check_ok "--place file:PATH -n $NPL --frame 1500" \
	"${P[@]}" --policy backpressure --place "file:$TMPD/placed" -n "$NPL" --frame 1500 --json
expect_eq "$(jv .frames_delivered)" "$NPL" "place file: frames_delivered"
expect_jq '.lost == 0 and .dropped_policy == 0 and .dropped_crc == 0' "place file: lost, dropped_policy, dropped_crc 0"
[ -f "$TMPD/placed" ] || fail "place file: $TMPD/placed was not created"
expect_eq "$(stat -c %s "$TMPD/placed")" $((NPL * BODY)) "place file: size == $NPL * (1500 - 28 - 24)"
cmp "$TMPD/placed" "$TMPD/want" >"$TMPD/cmp" 2>&1 || fail "place file: content differs from what was sent: $(head -1 "$TMPD/cmp")"
ok "place file: content == the sender's bodies, in sequence order"
check_ok "--place buffer -n $NPL --frame 1500" "${P[@]}" --policy backpressure --place buffer -n "$NPL" --frame 1500 --json
expect_eq "$(jv .frames_delivered)" "$NPL" "place buffer: frames_delivered"
expect_jq '.lost == 0 and .dropped_policy == 0' "place buffer: lost, dropped_policy 0"

# ---- several data channels ----
# Frames go round-robin over 4 channels and the reader takes one channel
# after another, so the order across channels is not kept (reordered > 0
# is fine); every frame must arrive, once.
check_ok "--channels 4 -n $NCHAN" "${P[@]}" --policy backpressure --channels 4 -n "$NCHAN" --json
expect_eq "$(jv .dropped_policy)" 0 "channels 4: dropped_policy"
expect_eq "$(jv .frames_delivered)" "$NCHAN" "channels 4: frames_delivered"
expect_jq '.lost == 0 and .duplicated == 0' "channels 4: lost, duplicated 0"
expect_eq "$(jv .first_seq_delivered)" 0 "channels 4: first_seq_delivered"
expect_eq "$(jv .last_seq_delivered)" $((NCHAN - 1)) "channels 4: last_seq_delivered"

# ---- priority: latency probes under bulk load ----
LAT=("${P[@]}" --rate 1G -t 1 --frame 9000 --latency --json)
check_ok "--latency --rate 1G -t 1 --frame 9000" "${LAT[@]}"
expect_jq '.lat_us | has("7") and has("0")' "latency: lat_us has classes 7 (probes) and 0 (bulk)"
expect_jq '.lat_us["7"].count > 0 and .lat_us["7"].count == .probes_delivered' \
	"latency: class 7 counts the probes ($(jv '.lat_us["7"].count'))"
expect_jq '.lat_us["7"].p99 < .lat_us["0"].p99' \
	"latency: probe p99 $(jv '.lat_us["7"].p99') us < bulk p99 $(jv '.lat_us["0"].p99') us"
check_ok "--latency --probe-prio 0" "${LAT[@]}" --probe-prio 0
expect_jq '.lat_us | has("0") and (has("7") | not)' "latency, probes in class 0: no class 7 in lat_us"
expect_jq '.lat_us["0"].count == .frames_delivered + .probes_delivered' \
	"latency, probes in class 0: class 0 counts bulk and probes ($(jv '.lat_us["0"].count'))"

# ---- reserved rate: admission control ----
# The counter files of private-LAN stations (jet stat), one name a line.
stat_files() {
	local f
	for f in /dev/shm/jet-stat.perf-*; do [ -e "$f" ] && echo "${f#/dev/shm/}"; done
}
before=$(stat_files)
check_err '!0' "reserve" "--reserve 2G on a 1G LAN is refused" \
	"${P[@]}" --rate 1G --reserve 2G -n 100 --json
info "--reserve 2G says: $(printf '%s\n' "$ERR" | head -n 1)"
# The receiver of that run waits for a session that never starts until jet
# perf kills it; a counter file it leaves behind is reported and removed.
for f in $(comm -13 <(printf '%s\n' "$before") <(stat_files)); do
	pid=${f#jet-stat.perf-}
	pid=${pid%%.*}
	if ! kill -0 "$pid" 2>/dev/null; then
		info "jet perf (pid $pid) left /dev/shm/$f behind; removed"
		rm -f "/dev/shm/$f"
	fi
done
check_ok "--reserve 100M on a 1G LAN" "${P[@]}" --policy backpressure --rate 1G --reserve 100M -n 1000 --frame 9000 --json
expect_eq "$(jv .frames_delivered)" 1000 "reserve 100M: frames_delivered"
expect_jq '.lost == 0 and .dropped_policy == 0' "reserve 100M: lost, dropped_policy 0"

done_ok
