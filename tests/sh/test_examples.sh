#!/usr/bin/env bash
# The channel examples (examples/media.c, examples/placement.c) and the UDP one
# (examples/udp_hello.c) run, report what they should, exit 0, and leave no LAN
# and no file behind.
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

EX=$BUILD/examples
for e in media placement udp_hello; do
	[ -x "$EX/$e" ] || fail "no $EX/$e: build it first (make all)"
done

# The LAN an example printed (lan:NAME) must be gone after it exits.
check_lan_gone() { # WHAT
	local lan
	lan=$(printf '%s\n' "$OUT" | grep -o 'lan:[A-Za-z0-9._-]*' | head -1)
	lan=${lan#lan:}
	[ -n "$lan" ] || fail "$1: the output names no LAN"
	[ -e "/dev/shm/jet-lan.$lan" ] && fail "$1: LAN $lan left behind"
	ls /dev/shm/jet-stat."$lan".* >/dev/null 2>&1 && fail "$1: jet stat files of $lan left behind"
	ok "$1: LAN $lan removed"
}

# ---- media: damaged frames delivered, counted, and compared ----
check_ok "media" "$EX/media"
p1=$(printf '%s\n' "$OUT" | grep '^pass 1') || fail "media: no 'pass 1' line"
p2=$(printf '%s\n' "$OUT" | grep '^pass 2') || fail "media: no 'pass 2' line"
rep=$(printf '%s\n' "$OUT" | grep '^report:') || fail "media: no 'report:' line"
read -r intact damaged missing < <(echo "$p1" |
	sed -E 's/.* ([0-9]+) intact, +([0-9]+) delivered damaged.*, ([0-9]+) missing.*/\1 \2 \3/')
read -r intact2 dropped2 missing2 < <(echo "$p2" |
	sed -E 's/.* ([0-9]+) intact, +([0-9]+) dropped for a bad CRC.*, ([0-9]+) missing in all.*/\1 \2 \3/')
expect_eq "$((intact + damaged + missing))" 1000 "media: pass 1 intact + damaged + missing"
[ "$damaged" -gt 0 ] || fail "media: no frame was delivered damaged at a bit error rate of 1e-5"
ok "media: $damaged frames delivered damaged (JET_RX_CRC_BAD)"
[ "$missing" -lt 20 ] || fail "media: $missing frames missing with accept_bad_crc"
ok "media: $missing frames missing with accept_bad_crc"
expect_eq "$intact2" "$intact" "media: pass 2 intact (same faults)"
expect_eq "$dropped2" "$damaged" "media: pass 2 dropped_crc == pass 1 delivered damaged"
expect_eq "$missing2" "$((missing + damaged))" "media: pass 2 missing"
case $rep in
*"exactly those pass 1 delivered damaged"*) ok "media: report line" ;;
*) fail "media: the report does not say pass 2 lost exactly the damaged frames" ;;
esac
check_lan_gone media

# ---- placement: generated test file, shuffled chunks, compared ----
check_ok "placement (generated 8 MiB file)" "$EX/placement"
line=$(printf '%s\n' "$OUT" | grep '^OK ') || fail "placement: no OK line"
expect_eq "$(echo "$line" | awk '{print $2}')" 8388608 "placement: bytes"
check_lan_gone placement

# ---- placement: a given file whose size is no multiple of the chunk ----
head -c 1234567 /dev/urandom >"$TMPD/place.in"
check_ok "placement in out" "$EX/placement" "$TMPD/place.in" "$TMPD/place.out"
printf '%s\n' "$OUT" | grep -q '^OK 1234567 bytes' || fail "placement in out: no 'OK 1234567 bytes' line"
cmp -s "$TMPD/place.in" "$TMPD/place.out" || fail "placement in out: the files differ"
ok "placement in out: output identical (cmp)"
check_lan_gone "placement in out"

# ---- placement: an empty file, and errors ----
: >"$TMPD/place.empty"
check_ok "placement of an empty file" "$EX/placement" "$TMPD/place.empty" "$TMPD/place.out0"
[ -f "$TMPD/place.out0" ] && [ ! -s "$TMPD/place.out0" ] || fail "placement of an empty file: output not empty"
check_err 1 "No such file" "placement of a missing file" "$EX/placement" "$TMPD/place.nonexistent"
check_err 1 "not a regular file" "placement of a directory" "$EX/placement" "$TMPD"

# ---- udp_hello: a datagram and its echo between two IPv4 hosts on a LAN ----
check_ok "udp_hello" "$EX/udp_hello"
printf '%s\n' "$OUT" | grep -q "^B got 'hello over UDP' from 198.18.0.1:" || fail "udp_hello: B did not get the datagram"
printf '%s\n' "$OUT" | grep -q "^A got 'hello over UDP' back from 198.18.0.2:7" || fail "udp_hello: no echo"
ok "udp_hello: datagram and echo"
check_lan_gone "udp_hello"

done_ok
