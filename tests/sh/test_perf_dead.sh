#!/usr/bin/env bash
# jet perf --pingpong and a dead peer (issue 9, items 5 and 6):
#
#   - kill -9 of either end of a raw and an RBS ping-pong, on LANs with
#     256- and 1024-entry rings: the survivor exits non-zero within 2 s of
#     the kill (the target is 1 s; the slack is for sanitized builds) and
#     says, as RBS says it, "WHAT: station N of lan:X left the link: its
#     process is gone (after ...)" (RBS may see the peer gone first and give
#     the LAN's reason instead).  It used to take ring size x 100 ms: the
#     pings filled the ring to the dead station before anyone looked.
#   - the same through a fault wrapper (fault:loss=0.01,seed=1/lan:X), bulk
#     and ping-pong: the sender asks the LAN under the wrapper whether its
#     receiver's station is still held.
#   - a peer that is alive but slow (SIGSTOP for 1.2 s, longer than the 1 s
#     target) is waited for: both ends finish the run and exit 0.
#   - LAN shape options refused by jet perf exactly as by jet lan create:
#     same exit code (2, a usage error), same reason, whichever protocol.
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Waits until station ST (default 0) of LAN $1 has sent at least $2 frames: the run is under way.
wait_traffic() { # LAN FRAMES SECS [ST]
	local t=$(($(date +%s%N) + $3 * 1000000000))
	while [ "$(date +%s%N)" -lt "$t" ]; do
		timeout 10 "$JET" lan show "$1" --json 2>/dev/null |
			jq -e --argjson n "$2" --argjson s "${4:-0}" 'any(.station[]; .station == $s and .tx_frames >= $n)' >/dev/null 2>&1 &&
			return 0
		sleep 0.05
	done
	return 1
}

# One ping-pong between a one-off server (station 1) and a client (station 0)
# on a fresh LAN; sets SRV, SRVJET, CLI, CLIJET and the LAN name in LANX.
start_pingpong() { # PROTO RING SECS TAG
	local proto=$1 ring=$2 secs=$3 tag=$4
	LANX=$(lan_name "$tag")
	check_ok "$tag: lan create --ring $ring" "$JET" lan create "$LANX" --ring "$ring" --stations 2
	bg_start SRV "$TMPD/$tag.s.out" "$TMPD/$tag.s.err" 60 \
		"$JET" perf --proto "$proto" -s -1 --link "lan:$LANX" --station 1
	SRVJET=$JETPID
	wait_attached "$LANX" 1 10 || { dump "$TMPD/$tag.s.err"; fail "$tag: server did not attach"; }
	bg_start CLI "$TMPD/$tag.c.out" "$TMPD/$tag.c.err" 60 \
		"$JET" perf --proto "$proto" -c --to 1 --link "lan:$LANX" --station 0 --pingpong -t "$secs" --json
	CLIJET=$JETPID
	{ [ -n "$SRVJET" ] && [ -n "$CLIJET" ]; } || fail "$tag: no pid for the server or the client"
	wait_traffic "$LANX" 1000 10 ||
		{ dump "$TMPD/$tag.s.err" "$TMPD/$tag.c.err"; fail "$tag: no ping-pong traffic within 10 s"; }
}

# ---- kill -9 of either end ----
for proto in raw rbs; do
	for ring in 256 1024; do
		for victim in server client; do
			tag=$proto-$ring-$victim
			start_pingpong "$proto" "$ring" 30 "$tag"
			if [ "$victim" = server ]; then
				v=$SRVJET s=$CLI serr=$TMPD/$tag.c.err
			else
				v=$CLIJET s=$SRV serr=$TMPD/$tag.s.err
			fi
			kill -KILL "$v"
			t0=$(now_ms)
			while alive "$s" && [ $(($(now_ms) - t0)) -lt 10000 ]; do sleep 0.01; done
			dt=$(($(now_ms) - t0))
			wait_exit "$s" 5 || { dump "$serr"; fail "$tag: the survivor still runs 10 s after the kill"; }
			[ "$BG_RC" -ne 0 ] || { dump "$serr"; fail "$tag: the survivor exited 0"; }
			# jet perf's own words, or RBS's when its send was refused first
			if [ "$victim" = server ]; then peer=1 what=ping; else peer=0 what=receive; fi
			if [ "$proto" = raw ]; then
				[ "$victim" = server ] && n="round trips" || n=pings
				want="^jet: $what: station $peer of lan:$LANX left the link: its process is gone \(after [0-9]+ $n\)\$"
			else
				[ "$victim" = server ] && what=session
				want="^jet: $what: station $peer of lan:$LANX left the link: (its process is gone|station $peer is not attached to LAN '$LANX')\$"
			fi
			grep -qE "$want" "$serr" || { dump "$serr"; fail "$tag: the survivor does not say /$want/"; }
			[ "$dt" -le 2000 ] || { dump "$serr"; fail "$tag: the survivor took $dt ms to notice, wanted at most 2000"; }
			ok "$tag: killed the $victim; the other exited $BG_RC after $dt ms: $(head -1 "$serr")"
			wait_exit "$SRV" 5
			wait_exit "$CLI" 5
		done
	done
done

# ---- the same through a fault wrapper: the sender still notices ----
for mode in bulk pingpong; do
	tag=fault-$mode
	F=$(lan_name "$tag")
	check_ok "$tag: lan create" "$JET" lan create "$F" --stations 2
	bg_start SRV "$TMPD/$tag.s.out" "$TMPD/$tag.s.err" 60 "$JET" perf --proto raw -s -1 --link "lan:$F"
	SRVJET=$JETPID
	wait_attached "$F" 0 10 || { dump "$TMPD/$tag.s.err"; fail "$tag: receiver did not attach"; }
	[ "$mode" = pingpong ] && pp=--pingpong || pp=
	bg_start CLI "$TMPD/$tag.c.out" "$TMPD/$tag.c.err" 60 \
		"$JET" perf --proto raw -c --to 0 --link "fault:loss=0.01,seed=1/lan:$F" $pp -t 30
	wait_traffic "$F" 100 10 1 ||
		{ dump "$TMPD/$tag.s.err" "$TMPD/$tag.c.err"; fail "$tag: no traffic within 10 s"; }
	[ -n "$SRVJET" ] || fail "$tag: no pid for the receiver"
	kill -KILL "$SRVJET"
	t0=$(now_ms)
	while alive "$CLI" && [ $(($(now_ms) - t0)) -lt 10000 ]; do sleep 0.01; done
	dt=$(($(now_ms) - t0))
	wait_exit "$CLI" 5 || { dump "$TMPD/$tag.c.err"; fail "$tag: the sender still runs 10 s after the kill"; }
	[ "$BG_RC" -eq 1 ] || { dump "$TMPD/$tag.c.err"; fail "$tag: the sender exited $BG_RC, wanted 1"; }
	[ "$mode" = pingpong ] && what=ping n="round trips" || what=send n=frames
	want="^jet: $what: station 0 of fault:loss=0.01,seed=1/lan:$F left the link: its process is gone \(after [0-9]+ $n\)\$"
	grep -qE "$want" "$TMPD/$tag.c.err" || { dump "$TMPD/$tag.c.err"; fail "$tag: the sender does not say /$want/"; }
	[ "$dt" -le 2000 ] || { dump "$TMPD/$tag.c.err"; fail "$tag: the sender took $dt ms to notice, wanted at most 2000"; }
	ok "$tag: killed the receiver; the sender exited 1 after $dt ms: $(head -1 "$TMPD/$tag.c.err")"
	wait_exit "$SRV" 5
done

# ---- a slow peer is not a dead one ----
# The stop must fall inside the client's 4 s run: on a machine so loaded that
# the run is not under way within 2 s of its start, the case is run again.
for proto in raw rbs; do
	for victim in server client; do
		for try in 1 2 3; do
			tag=$proto-stop-$victim-$try
			t0=$(now_ms)
			start_pingpong "$proto" 256 4 "$tag"
			[ $(($(now_ms) - t0)) -le 2000 ] && break
			info "$tag: the run took $(($(now_ms) - t0)) ms to start; again"
			wait_exit "$CLI" 20
			wait_exit "$SRV" 10
		done
		if [ "$victim" = server ]; then v=$SRVJET s=$CLI; else v=$CLIJET s=$SRV; fi
		kill -STOP "$v"
		sleep 1.2
		alive "$s" || {
			kill -CONT "$v"
			dump "$TMPD/$tag.s.out" "$TMPD/$tag.s.err" "$TMPD/$tag.c.out" "$TMPD/$tag.c.err"
			fail "$tag: the other end gave up on a stopped $victim"
		}
		kill -CONT "$v"
		ok "$tag: $victim stopped for 1.2 s, the other end waited"
		wait_exit "$CLI" 20 || { dump "$TMPD/$tag.c.err"; fail "$tag: client still running"; }
		[ "$BG_RC" -eq 0 ] || { dump "$TMPD/$tag.c.out" "$TMPD/$tag.c.err"; fail "$tag: client exited $BG_RC"; }
		wait_exit "$SRV" 10 || { dump "$TMPD/$tag.s.err"; fail "$tag: server still running"; }
		[ "$BG_RC" -eq 0 ] || { dump "$TMPD/$tag.s.out" "$TMPD/$tag.s.err"; fail "$tag: server exited $BG_RC"; }
		OUT=$(cat "$TMPD/$tag.c.out")
		ok "$tag: both ends exited 0; rtt max $(jv .rtt_us.max) us"
	done
done

# ---- LAN shape options: one check, the same in jet lan create and jet perf ----
B=$(lan_name refused)
for opt in "--stations 0" "--stations 1" "--stations 65" "--ring 100" "--ring 8" "--mtu 63" \
	"--mtu 70000" "--rate 1" "--rate 999999" "--delay 11s" "--jitter 1min" "--ber 0.6" \
	"--loss 1.5" "--buffers 16" "--mode 0" "--mode 755"; do
	read -r o val <<<"$opt"
	run "$JET" lan create "$B" "$o" "$val"
	[ "$RC" -eq 2 ] || fail "lan create $opt: exit code $RC, wanted 2"
	want=${ERR#jet lan: }
	want=${want%%$'\n'*}
	grep -qF "bad value '$val' for $o: " <<<"$want" || fail "lan create $opt: says '$want'"
	[ -e "/dev/shm/jet-lan.$B" ] && fail "lan create $opt left a segment"
	for proto in raw rbs; do
		run "$JET" perf --proto "$proto" "$o" "$val" -n 1
		[ "$RC" -eq 2 ] || fail "perf --proto $proto $opt: exit code $RC, wanted 2"
		got=${ERR#jet perf: }
		got=${got%%$'\n'*}
		expect_eq "$got" "$want" "perf --proto $proto $opt refused (exit 2) as lan create refuses it"
	done
done
check_ok "perf --proto raw --stations 2 (the least) runs" "$JET" perf --proto raw --stations 2 --ring 16 --policy backpressure -n 100 --json
expect_eq "$(jv .frames_delivered)" 100 "--stations 2: every frame delivered"

done_ok
