#!/usr/bin/env bash
# jet stat: the connections section (RBS and TCP connections and listeners a
# station publishes with its counters; src/chan/statpub.h "Connections").
#
#   LAN $L (one per protocol P = rbs, tcp)
#     station 0: jet perf --proto P -s -1   <== data ==   station 1: jet perf --proto P -c --to 0 -t 7
#   jet stat lan:$L --json, twice 0.6 s apart, during the transfer:
#     station 0: a listener (LISTEN) and the connection (ESTABLISHED), bytes_received growing
#     station 1: the connection (ESTABLISHED), bytes_sent and bytes_acked growing, srtt > 0,
#                cwnd > 0; its remote endpoint is station 0's local one and the reverse
#   jet stat lan:$L (text): "connections:" with the ss-like line "rtt:SRTT/RTTVAR ms ... cwnd:"
#   jet stat lan:$L --station 1 --json: only station 1
#   jet stat lan:$L --watch 0.3 / --json --watch 0.3, stopped by SIGINT after 1.5 s:
#     at least two samples each (JSON: every line an object with the connection; from the
#     second on the client's send_bps > 0)
# Bounded: every command under timeout; about 16 s in all.
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

# watch_then_int PATTERN ARGS...: jet stat lan:$L ARGS... in the background until its
# output has two lines matching PATTERN (at most 20 s), then SIGINT; it must exit 0
# within 10 s.  Its output is left in OUT.
watch_then_int() {
	local pat=$1 w n=0 i
	shift
	bg_start w "$TMPD/watch.out" "$TMPD/watch.err" 60 "$JET" stat "lan:$L" "$@"
	for i in $(seq 1000); do
		n=$(grep -c -- "$pat" "$TMPD/watch.out" 2>/dev/null || true)
		[ "${n:-0}" -ge 2 ] && break
		alive "$w" || break
		sleep 0.02
	done
	[ "${n:-0}" -ge 2 ] || fail "$P: jet stat $* printed $n samples in 20 s"
	kill -INT "$JETPID"
	wait_exit "$w" 10 || fail "$P: jet stat $* still running 10 s after SIGINT"
	[ "$BG_RC" -eq 0 ] || fail "$P: jet stat $* ended with $BG_RC on SIGINT"
	OUT=$(cat "$TMPD/watch.out")
}

stat_cleanup() {
	cleanup
	rm -f /dev/shm/jet-stat."$LAN_PFX"-*
}
trap stat_cleanup EXIT

# jq on a sample: the connection record of station ST with proto P
conn() { printf '%s\n' "$1" | jq -c --argjson s "$2" --arg p "$3" \
	'[.station[] | select(.station == $s) | .conn[]? | select(.proto == $p and .kind == "conn")][0] // empty'; }

for P in rbs tcp; do
	L=$(lan_name "$P")
	check_ok "lan create $L" "$JET" lan create "$L" --stations 4
	bg_start SRV "$TMPD/srv.$P" "$TMPD/srv.$P.err" 20 "$JET" perf --proto "$P" -s -1 --link "lan:$L" --station 0
	wait_attached "$L" 0 10 || fail "$P server: station 0 never attached"
	# the listener shows once the server's driver has published (100 ms passes)
	got=""
	for _ in $(seq 100); do
		run "$JET" stat "lan:$L" --json
		[ "$RC" -eq 0 ] && got=$(jv '[.station[] | select(.station == 0) | .conn[]? | select(.kind == "listener")][0].state // empty')
		[ "$got" = LISTEN ] && break
		sleep 0.05
	done
	expect_eq "$got" LISTEN "$P: station 0's listener is published"
	expect_jq '[.station[] | select(.station == 0) | .conn[] | select(.kind == "listener")][0] |
		.proto == "'"$P"'" and .remote == "*:*" and (.local | endswith(":5201"))' \
		"$P: the listener's endpoints (local ...:5201, remote *:*)"

	bg_start CLI "$TMPD/cli.$P" "$TMPD/cli.$P.err" 20 "$JET" perf --proto "$P" -c --to 0 --link "lan:$L" --station 1 -t 7
	c1="" s1=""
	for _ in $(seq 100); do
		run "$JET" stat "lan:$L" --json
		c1=$(conn "$OUT" 1 "$P")
		s1=$(conn "$OUT" 0 "$P")
		[ -n "$c1" ] && [ -n "$s1" ] && [ "$(jq -r '.state' <<<"$c1")" = ESTABLISHED ] &&
			[ "$(jq -r '.bytes_sent' <<<"$c1")" -gt 0 ] && break
		sleep 0.05
	done
	[ -n "$c1" ] && [ -n "$s1" ] || fail "$P: the stations never published the connection: '$c1' '$s1'"
	sleep 0.6
	run "$JET" stat "lan:$L" --json
	[ "$RC" -eq 0 ] || fail "$P: jet stat --json failed"
	S2=$OUT
	c2=$(conn "$S2" 1 "$P")
	s2=$(conn "$S2" 0 "$P")
	[ -n "$c2" ] && [ -n "$s1" ] && [ -n "$s2" ] || fail "$P: a connection is missing: '$c1' '$c2' '$s1' '$s2'"
	info "$P client: $(jq -c '{state, local, remote, cc, srtt_us, cwnd, snd_wnd, in_flight, bytes_sent, bytes_acked, retransmits}' <<<"$c2")"
	info "$P server: $(jq -c '{state, local, remote, srtt_us, rcv_wnd, bytes_received}' <<<"$s2")"
	jq -e --argjson a "$c1" --argjson b "$c2" -n '
		$b.state == "ESTABLISHED" and $b.bytes_sent > $a.bytes_sent and
		$b.bytes_acked > $a.bytes_acked and $b.bytes_acked <= $b.bytes_sent and
		$b.srtt_us > 0 and $b.rto_us > 0 and $b.cwnd > 0 and $b.mss > 0 and
		($b.cc | length) > 0 and $b.segs_out > $a.segs_out' >/dev/null ||
		fail "$P: the client's counters do not grow as they should: $c1 -> $c2"
	ok "$P: client ESTABLISHED, bytes_sent $(jq .bytes_sent <<<"$c1") -> $(jq .bytes_sent <<<"$c2"), srtt $(jq .srtt_us <<<"$c2") us"
	jq -e --argjson a "$s1" --argjson b "$s2" -n '
		$b.state == "ESTABLISHED" and $b.bytes_received > $a.bytes_received and $b.rcv_wnd > 0' >/dev/null ||
		fail "$P: the server's bytes_received does not grow: $s1 -> $s2"
	ok "$P: server ESTABLISHED, bytes_received $(jq .bytes_received <<<"$s1") -> $(jq .bytes_received <<<"$s2")"
	jq -e --argjson c "$c2" --argjson s "$s2" -n '$c.remote == $s.local and $s.remote == $c.local' >/dev/null ||
		fail "$P: endpoints do not match: client $c2, server $s2"
	ok "$P: the client's remote endpoint is the server's local one and the reverse"
	if [ "$P" = rbs ]; then
		jq -e --argjson c "$c2" -n '$c.local_station == 1 and $c.remote_station == 0 and
			$c.local_chan == $c.chan and ($c.local == "1:\($c.chan)")' >/dev/null ||
			fail "rbs: endpoint keys: $c2"
	else
		jq -e --argjson c "$c2" -n '$c.local_addr == "198.18.0.2" and $c.remote_addr == "198.18.0.1" and
			$c.remote_port == 5201 and ($c.sack | type) == "boolean"' >/dev/null ||
			fail "tcp: endpoint keys: $c2"
	fi
	ok "$P: endpoint keys"
	# the keys that were there before are still there
	printf '%s\n' "$S2" | jq -e '.lan and .stations and (.station[] | select(.station == 1) |
		.stats == "live" and .driver.frames_in >= 0 and (.chan | type) == "array")' >/dev/null ||
		fail "$P: jet stat --json lost its older keys"

	check_ok "$P: jet stat lan:$L (text)" "$JET" stat "lan:$L"
	grep -qE '^  connections: 1, listeners: 1' <<<"$OUT" || fail "$P: text lacks 'connections: 1, listeners: 1'"
	grep -qE "^    $P +ESTABLISHED " <<<"$OUT" || fail "$P: text lacks the '$P ESTABLISHED' line"
	grep -qE '^         [a-z-]+ rtt:[0-9.]+/[0-9.]+ ms .*cwnd:[0-9]+ ssthresh:[-0-9]+ snd_wnd:[0-9]+ rcv_wnd:[0-9]+ .*bytes_sent:[0-9]+' <<<"$OUT" ||
		fail "$P: text lacks the ss-like detail line"
	ok "$P: text shows the connections like ss -ti"
	check_ok "$P: jet stat --station 1 --json" "$JET" stat "lan:$L" --station 1 --json
	expect_jq '[.station[].station] == [1] and (.station[0].conn | length) == 1' "$P: --station 1 shows station 1 and its connection only"

	# --watch: at least two samples, then SIGINT (sent once it has printed, so its handler
	# is in place: a background job of a script starts with SIGINT ignored)
	watch_then_int "^lan $L: " --watch 0.3
	n=$(grep -c "^lan $L: " <<<"$OUT")
	grep -q "ESTABLISHED" <<<"$OUT" || fail "$P: --watch samples lack the connection"
	ok "$P: jet stat --watch 0.3 printed $n samples and stopped on SIGINT"
	watch_then_int '"interval_s":0.3' --json --watch 0.3
	n=$(printf '%s\n' "$OUT" | jq -c --argjson s 1 --arg p "$P" \
		'select(.interval_s == 0.3) | [.station[] | select(.station == $s) | .conn[]? | select(.proto == $p)] | length' |
		grep -c '^1$')
	[ "$n" -ge 2 ] || fail "$P: jet stat --json --watch: $n samples with the connection"
	ok "$P: jet stat --json --watch 0.3: $n samples with the connection"
	r=$(printf '%s\n' "$OUT" | jq -c --arg p "$P" \
		'[.station[] | select(.station == 1) | .conn[]? | select(.proto == $p) | .send_bps] | .[0] // empty' | tail -1)
	awk -v r="$r" 'BEGIN { exit !(r + 0 > 0) }' || fail "$P: jet stat --json --watch: no send_bps > 0 for the client (last: '$r')"
	ok "$P: --watch rates: the client sends at $r bit/s"

	wait_exit "$CLI" 15 || fail "$P client still running"
	[ "$BG_RC" -eq 0 ] || fail "$P client exited $BG_RC: $(cat "$TMPD/cli.$P.err")"
	wait_exit "$SRV" 10 || fail "$P server still running"
	[ "$BG_RC" -eq 0 ] || fail "$P server exited $BG_RC: $(cat "$TMPD/srv.$P.err")"
	ok "$P: transfer done: $(tail -1 "$TMPD/cli.$P")"
	check_ok "lan destroy $L" "$JET" lan destroy "$L"
done
done_ok
