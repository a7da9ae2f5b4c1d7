#!/usr/bin/env bash
# The fault wrapper link (docs/link-wrappers.md) under jet perf: a sender on
# `fault:loss=0.05,seed=3/lan:X` loses about 5% of its frames, the same ones
# on every run (same seed, same counters), another seed loses others; the
# receiver is a plain station of the same LAN (jet lan create, no faults).
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

P=("$JET" perf --proto raw)
N=20000
L=$(lan_name fault)
check_ok "lan create $L" "$JET" lan create "$L"

run_seed() { # SEED RUN
	bg_start RX "$TMPD/rx$1$2.out" "$TMPD/rx$1$2.err" 60 "${P[@]}" --policy backpressure -s -1 \
		--link "lan:$L" --station 1
	wait_attached "$L" 1 10 || { dump "$TMPD/rx$1$2.out" "$TMPD/rx$1$2.err"; fail "receiver did not attach"; }
	check_ok "seed $1, run $2: -c --link fault:loss=0.05,seed=$1/lan:$L -n $N" \
		"${P[@]}" -c --to 1 --link "fault:loss=0.05,seed=$1/lan:$L" --station 0 -n "$N" --frame 1500 --json
	wait_exit "$RX" 10 || { dump "$TMPD/rx$1$2.out" "$TMPD/rx$1$2.err"; fail "receiver still running"; }
	[ "$BG_RC" -eq 0 ] || { dump "$TMPD/rx$1$2.out" "$TMPD/rx$1$2.err"; fail "receiver exited $BG_RC"; }
	expect_eq "$(jv .link)" "fault:loss=0.05,seed=$1/lan:$L" "seed $1: link"
	expect_eq "$(jv '.frames_delivered + .lost')" "$N" "seed $1, run $2: delivered + lost == sent"
	expect_jq '.duplicated == 0 and .reordered == 0 and .crc_failed == 0' "seed $1, run $2: only losses"
}

run_seed 3 1
LOST1=$(jv .lost)
{ [ "$LOST1" -ge 800 ] && [ "$LOST1" -le 1200 ]; } || fail "seed 3: lost $LOST1 of $N, wanted about 5%"
ok "seed 3: lost $LOST1 of $N (about 5%)"
run_seed 3 2
expect_eq "$(jv .lost)" "$LOST1" "seed 3: run 2 loses as many frames as run 1"
run_seed 4 1
[ "$(jv .lost)" != "$LOST1" ] || fail "seed 4 lost exactly as many frames as seed 3 ($LOST1)"
ok "seed 4: lost $(jv .lost) (seed 3: $LOST1)"

check_ok "lan show $L --json" "$JET" lan show "$L" --json
expect_eq "$(jv .attached)" 0 "no station attached"
expect_eq "$(jv .buffers_free)" "$(jv .buffers)" "buffers_free == buffers"

check_err '!0' "/no-such-dir-jt/x.pcap" "capture: file that cannot be created" \
	"${P[@]}" -s -1 --link "capture:/no-such-dir-jt/x.pcap/lan:$L" --station 1
check_err '!0' "unknown key 'drop'" "a bad fault key" \
	"${P[@]}" -s -1 --link "fault:drop=1%/lan:$L" --station 1
done_ok
