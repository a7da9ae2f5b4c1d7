#!/usr/bin/env bash
# jet lan (create, show, list, destroy) and the jet command's own usage errors.
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

A=$(lan_name cli-a)
SEG=/dev/shm/jet-lan.$A

# ---- create with options, show, list ----
check_ok "lan create $A with options" \
	"$JET" lan create "$A" --stations 4 --mtu 1500 --rate 1G --delay 50us --loss 0.01 --seed 42
[ -e "$SEG" ] || fail "create: no segment file $SEG"
ok "segment $SEG exists"
expect_eq "$(stat -c %a "$SEG")" 600 "segment mode by default"

check_ok "lan show $A" "$JET" lan show "$A"
for s in "lan $A: 4 stations, mtu 1500" "mode 600" "rate 1.00 Gbit/s" "delay 50.0 us" "loss 0.01" \
	"seed 42" "(no station attached)"; do
	grep -qF -- "$s" <<<"$OUT" || fail "lan show: text lacks '$s'"
done
ok "lan show text has stations, mtu, mode, rate, delay, loss, seed"

check_ok "lan show $A --json" "$JET" lan show "$A" --json
expect_jq . "lan show --json is valid JSON"
expect_eq "$(jv .name)" "$A" "show --json: name"
expect_eq "$(jv .stations)" 4 "show --json: stations"
expect_eq "$(jv .mtu)" 1500 "show --json: mtu"
expect_eq "$(jv .rate_bps)" 1000000000 "show --json: rate_bps"
expect_eq "$(jv .delay_ns)" 50000 "show --json: delay_ns"
expect_eq "$(jv .loss)" 0.01 "show --json: loss"
expect_eq "$(jv .seed)" 42 "show --json: seed"
expect_eq "$(jv .mode)" 384 "show --json: mode (0600)"
expect_eq "$(jv .attached)" 0 "show --json: attached"
expect_jq '.buffers > 0' "show --json: buffers > 0"
expect_eq "$(jv .buffers_free)" "$(jv .buffers)" "show --json: buffers_free == buffers with nothing attached"
expect_jq '.station == []' "show --json: no station listed"

check_ok "lan list" "$JET" lan list
grep -qE "^${A}[[:space:]].*0/4 stations attached, mtu 1500" <<<"$OUT" || fail "lan list: no line for $A"
ok "lan list shows $A"
check_ok "lan ls (alias)" "$JET" lan ls
grep -qE "^${A}[[:space:]]" <<<"$OUT" || fail "lan ls: no line for $A"
ok "lan ls shows $A"
check_ok "lan list --json" "$JET" lan list --json
printf '%s\n' "$OUT" | jq -e --arg n "$A" 'type == "array" and any(.[]; .name == $n and .stations == 4 and .mtu == 1500 and .attached == 0)' >/dev/null ||
	fail "lan list --json: no entry for $A with stations 4, mtu 1500"
ok "lan list --json has $A (stations 4, mtu 1500, attached 0)"

# ---- errors ----
check_err '!0' "already exists" "lan create $A twice" "$JET" lan create "$A"
check_err '!0' "no LAN named" "lan show of an unknown LAN" "$JET" lan show "$LAN_PFX-nosuch"
check_err '!0' "no LAN named" "lan show --json of an unknown LAN" "$JET" lan show "$LAN_PFX-nosuch" --json
check_err '!0' "no LAN named" "lan destroy of an unknown LAN" "$JET" lan destroy "$LAN_PFX-nosuch"
check_err '!0' "no LAN named" "lan destroy --force of an unknown LAN" "$JET" lan destroy --force "$LAN_PFX-nosuch"

B=$(lan_name cli-b)
check_err 2 "bad value 'abc' for --stations" "create --stations abc" "$JET" lan create "$B" --stations abc
check_err 2 "bad value '2' for --loss" "create --loss 2" "$JET" lan create "$B" --loss 2
check_err 2 "bad value 'xyz' for --rate" "create --rate xyz" "$JET" lan create "$B" --rate xyz
check_err 2 "bad value '-1' for --ber" "create --ber -1" "$JET" lan create "$B" --ber -1
check_err 2 "bad value '999' for --mode" "create --mode 999" "$JET" lan create "$B" --mode 999
check_err 2 "bad value 'soon' for --delay" "create --delay soon" "$JET" lan create "$B" --delay soon
check_err 2 "--mtu needs a value" "create --mtu without a value" "$JET" lan create "$B" --mtu
check_err 2 "unknown option '--bogus'" "create --bogus" "$JET" lan create "$B" --bogus 1
check_err 2 "create needs a NAME" "create without a name" "$JET" lan create
check_err '!0' "MTU must be 64 to 65536" "create --mtu 70000 refused" "$JET" lan create "$B" --mtu 70000
check_err '!0' "stations must be 2 to 64" "create --stations 65 refused" "$JET" lan create "$B" --stations 65
check_err '!0' "stations must be 2 to 64" "create --stations 1 refused" "$JET" lan create "$B" --stations 1
check_err '!0' "power of two" "create --ring 100 refused" "$JET" lan create "$B" --ring 100
check_err '!0' "LAN name" "create with a bad name" "$JET" lan create "$LAN_PFX/x"
[ -e "/dev/shm/jet-lan.$B" ] && fail "a refused create left /dev/shm/jet-lan.$B behind"
ok "refused creates left no segment"
check_err 2 "unknown subcommand 'frobnicate'" "lan frobnicate" "$JET" lan frobnicate
check_err 2 "unknown option '--bogus'" "lan show --bogus" "$JET" lan show "$A" --bogus
check_err 2 "list takes only --json" "lan list extra" "$JET" lan list extra

# ---- permissions ----
G=$(lan_name cli-grp)
check_ok "lan create $G --group root" "$JET" lan create "$G" --group root
expect_eq "$(stat -c %a "/dev/shm/jet-lan.$G")" 660 "segment mode with --group root"
expect_eq "$(stat -c %G "/dev/shm/jet-lan.$G")" root "segment group with --group root"
check_ok "lan show $G --json" "$JET" lan show "$G" --json
expect_eq "$(jv .mode)" 432 "show --json: mode (0660)"
check_ok "lan destroy $G" "$JET" lan destroy "$G"
M=$(lan_name cli-mode)
check_ok "lan create $M --mode 640" "$JET" lan create "$M" --mode 640
expect_eq "$(stat -c %a "/dev/shm/jet-lan.$M")" 640 "segment mode with --mode 640"
check_ok "lan rm $M (alias)" "$JET" lan rm "$M"
[ -e "/dev/shm/jet-lan.$M" ] && fail "lan rm left /dev/shm/jet-lan.$M"
ok "lan rm removed the segment"

# ---- destroy ----
check_ok "lan destroy $A" "$JET" lan destroy "$A"
[ -e "$SEG" ] && fail "destroy left $SEG behind"
ok "destroy removed $SEG"
check_err '!0' "no LAN named" "lan show after destroy" "$JET" lan show "$A"
check_ok "lan list --json after destroy" "$JET" lan list --json
printf '%s\n' "$OUT" | jq -e --arg n "$A" 'all(.[]; .name != $n)' >/dev/null ||
	fail "lan list --json still lists $A"
ok "lan list --json no longer has $A"

# ---- the jet command ----
check_err 2 "usage: jet lan create" "jet lan with no arguments" "$JET" lan
check_ok "jet lan --help" "$JET" lan --help
grep -qF "usage: jet lan create" <<<"$OUT" || fail "jet lan --help: no usage on stdout"
ok "jet lan --help prints usage on stdout"
check_ok "jet --help" "$JET" --help
grep -qE '^  lan ' <<<"$OUT" || fail "jet --help does not list lan"
grep -qE '^  perf ' <<<"$OUT" || fail "jet --help does not list perf"
ok "jet --help lists lan and perf"
check_err 2 "usage: jet COMMAND" "jet with no arguments" "$JET"
check_err 2 "unknown command 'frobnicate'" "jet frobnicate" "$JET" frobnicate

done_ok
