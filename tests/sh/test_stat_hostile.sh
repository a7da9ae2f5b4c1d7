#!/usr/bin/env bash
# The jet stat files against another user (issue 9, item 3): every name a
# station may publish under is taken by `nobody` before root's stations
# start, and nobody then goes after the published files.
#
#   LAN $L, --mode 666, 4 stations; /dev/shm before anything runs, made by nobody:
#     jet-stat.$L.0   -> symlink to $VICTIM (root's file)
#     jet-stat.$L.1      nobody's file, mode 666, junk
#     jet-stat.$L.2      a FIFO
#     jet-stat.$L.3   -> symlink to $VICTIM
#     jet-stat.$L.K.tmpPID (PID around the next pids): K 0, 1: -> $VICTIM;
#                          K 2, 3: nobody's empty files, mode 666 (the names
#                          layout 2 opened without O_EXCL: root then wrote
#                          into nobody's file)
#   root: examples/chan_demo (stations 0, 1), jet perf receivers (stations 2, 3)
#
# Root's stations publish (their files replace nobody's names; the victim is
# untouched), the files are root's, mode 644 (never writable by others, not
# even on a 666 LAN); nobody cannot write, truncate, remove or replace them.
# Then the files are damaged under stopped and running stations (as root,
# the only other user who can): jet stat reports the damage and goes on with
# the other stations; the stations keep running and their files are whole
# again within a few passes.  Last, a station run by nobody whose name the
# user `daemon` holds: it cannot publish, and jet stat says the file there
# is not its counters.
#
# Needs root (skips with 77 otherwise).
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP $TEST_NAME: needs root (runs parts as nobody)"
	exit 77
fi
if command -v setpriv >/dev/null; then
	AS_NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	AS_DAEMON=(setpriv --reuid=daemon --regid=daemon --clear-groups)
elif command -v runuser >/dev/null; then
	AS_NOBODY=(runuser -u nobody --)
	AS_DAEMON=(runuser -u daemon --)
else
	echo "SKIP $TEST_NAME: neither setpriv nor runuser"
	exit 77
fi
if ! id nobody >/dev/null 2>&1 || ! id daemon >/dev/null 2>&1; then
	echo "SKIP $TEST_NAME: no user nobody or daemon"
	exit 77
fi

L=$(lan_name hostile)
L2=$(lan_name hostile2)
# Everything made in /dev/shm goes, whoever made it.
# shellcheck disable=SC2317 # called by the trap
hostile_cleanup() {
	cleanup
	rm -rf /dev/shm/jet-stat."$LAN_PFX"-*
}
trap hostile_cleanup EXIT

DEMO=$BUILD/examples/chan_demo
[ -x "$DEMO" ] || fail "no $DEMO: build it first (make all)"
# The binaries must be reachable by nobody (they are, in a checkout under a
# world-readable path); ours are run by root except the last part.
"${AS_NOBODY[@]}" test -x "$DEMO" || {
	echo "SKIP $TEST_NAME: nobody cannot run $DEMO"
	exit 77
}
chmod 755 "$TMPD" # nobody writes nothing here, but reads the victim's path

VICTIM=$TMPD/victim
printf 'root owns this; a stats file must never write here\n' >"$VICTIM"
chmod 644 "$VICTIM"
cp "$VICTIM" "$TMPD/victim.orig"
F() { echo "/dev/shm/jet-stat.$L.$1"; }

check_ok "lan create $L --mode 666" "$JET" lan create "$L" --stations 4 --mode 666

# ---- nobody takes every name first ----
last=$(cat /proc/sys/kernel/ns_last_pid 2>/dev/null || echo 1000)
# shellcheck disable=SC2016 # expanded by nobody's shell
run "${AS_NOBODY[@]}" bash -c '
	set -e
	L=$1 V=$2 from=$3 to=$4
	ln -s "$V" "/dev/shm/jet-stat.$L.0"
	printf junk >"/dev/shm/jet-stat.$L.1"
	chmod 666 "/dev/shm/jet-stat.$L.1"
	mkfifo -m 666 "/dev/shm/jet-stat.$L.2"
	ln -s "$V" "/dev/shm/jet-stat.$L.3"
	for k in 0 1 2 3; do
		for p in $(seq "$from" "$to"); do
			t="/dev/shm/jet-stat.$L.$k.tmp$p"
			if [ "$k" -lt 2 ]; then ln -s "$V" "$t"; else : >"$t"; chmod 666 "$t"; fi
		done
		ln -s "$V" "/dev/shm/jet-stat.$L.$k.tmp$from.0000000000000000"
	done' nobody "$L" "$VICTIM" $((last - 10)) $((last + 300))
expect_eq "$RC" 0 "nobody pre-creates the final names and $((4 * 312)) temporary names"
taken=$(find /dev/shm -maxdepth 1 -name "jet-stat.$L.*" -user nobody | wc -l)
info "$taken names in /dev/shm held by nobody"

# ---- root's stations start and publish ----
bg_start DEMO_BG "$TMPD/demo.out" "$TMPD/demo.err" 90 "$DEMO" "$L" -n 200 --linger 60
DEMO_PID=$JETPID
wait_grep "$TMPD/demo.out" ready 30 || {
	dump "$TMPD/demo.out" "$TMPD/demo.err"
	fail "chan_demo did not get ready"
}
bg_start RX2_BG "$TMPD/rx2.out" "$TMPD/rx2.err" 90 "$JET" perf --proto raw -s --link "lan:$L" --station 2
RX2_PID=$JETPID
bg_start RX3_BG "$TMPD/rx3.out" "$TMPD/rx3.err" 90 "$JET" perf --proto raw -s --link "lan:$L" --station 3
RX3_PID=$JETPID
for k in 2 3; do
	for _ in $(seq 100); do
		[ -f "$(F $k)" ] && [ ! -L "$(F $k)" ] && [ "$(stat -c %u "$(F $k)")" = 0 ] && break
		sleep 0.05
	done
done
cmp -s "$VICTIM" "$TMPD/victim.orig" || fail "the victim file changed: $(cat "$VICTIM")"
ok "the victim behind the symbolic links is unchanged"
for k in 0 1 2 3; do
	f=$(F $k)
	[ -L "$f" ] && fail "$f is still a symbolic link"
	[ -f "$f" ] || fail "$f is not a regular file ($(stat -c %F "$f" 2>&1))"
	expect_eq "$(stat -c '%U %a' "$f")" "root 644" "station $k: file root's, mode 644 on a 666 LAN"
done
[ "$(find /dev/shm -maxdepth 1 -name "jet-stat.$L.*.tmp*" -user nobody \( -type l -o -type f -size 0 \) | wc -l)" -eq $((4 * 312)) ] ||
	fail "nobody's temporary names changed"
ok "nobody's temporary names are still nobody's, empty, not followed"

S='.station[] | select(.station == '
check_ok "jet stat --json" "$JET" stat "lan:$L" --json
expect_jq '[.station[].station] == [0, 1, 2, 3] and all(.station[]; .attached)' "four stations attached"
expect_jq "all(.station[]; .stats == \"live\")" "all four publish live counters"
expect_jq "$S 1) | [.chan[].id] == [10, 20]" "station 1: channels 10 and 20"
expect_jq "all(.station[]; (.shm_bad | type) == \"number\" and (.rx_stale | type) == \"number\")" \
	"shm_bad and rx_stale for each station"
check_ok "jet stat (text)" "$JET" stat "lan:$L"
grep -qF "shm_bad" <<<"$OUT" || fail "jet stat text lacks shm_bad"
ok "jet stat text shows shm_bad"

# ---- nobody goes after the published files ----
ino1=$(stat -c %i "$(F 1)")
sum1=$(head -c 176 "$(F 1)" | md5sum)
for attack in "printf x >>$(F 1)" "printf x >$(F 1)" "truncate -s 0 $(F 1)" "rm -f $(F 1)" \
	"ln -sf $VICTIM $(F 1)" "mv -f /dev/shm/jet-stat.$L.1.tmp$last $(F 1)" "chmod 666 $(F 1)"; do
	run "${AS_NOBODY[@]}" bash -c "$attack"
	[ "$RC" -ne 0 ] || fail "nobody: '$attack' succeeded"
done
expect_eq "$(stat -c '%i %U %a' "$(F 1)")" "$ino1 root 644" "nobody could not truncate, remove, replace or chmod station 1's file"
# the writer may have rewritten it meanwhile, but with what it had: compare
# the identity part, which it rewrites with the same bytes
expect_eq "$(head -c 176 "$(F 1)" | md5sum)" "$sum1" "nobody could not write into station 1's file"

# ---- damage under a stopped writer: jet stat says so, goes on with the others ----
kill -STOP "$DEMO_PID"
# from just after seq: an odd seq would read as a writer at work (-EAGAIN)
head -c 4096 /dev/urandom | dd of="$(F 1)" bs=1 seek=180 conv=notrunc status=none
truncate -s 100 "$(F 0)"
check_ok "jet stat --json, files damaged" "$JET" stat "lan:$L" --json
expect_jq "$S 1) | .stats == \"damaged\" and (.stats_error | test(\"damaged\"))" \
	"station 1 (scribbled on): damaged, with the reason ($(jv "$S 1) | .stats_error"))"
expect_jq "$S 0) | .stats == \"damaged\" and (.stats_error | test(\"shorter than a header\"))" \
	"station 0 (truncated): damaged, shorter than a header"
expect_jq "$S 2) | .stats == \"live\"" "station 2 shown as usual"
check_ok "jet stat (text), files damaged" "$JET" stat "lan:$L"
grep -qF "channel counters damaged, not shown" <<<"$OUT" || fail "jet stat text does not say damaged"
ok "jet stat text: damaged, not shown"
kill -CONT "$DEMO_PID"
whole=""
for _ in $(seq 50); do
	run "$JET" stat "lan:$L" --json
	[ "$RC" -eq 0 ] && printf '%s\n' "$OUT" | jq -e "($S 0) | .stats == \"live\") and
		($S 1) | .stats == \"live\" and ([.chan[].id] == [10, 20]))" >/dev/null 2>&1 && whole=1 && break
	sleep 0.1
done
[ -n "$whole" ] || fail "the damaged files were not whole again 5 s after the writer went on"
ok "the writer goes on and its files are whole again"

# ---- truncation while the writers run, jet stat reading all along ----
readers=0
for i in $(seq 40); do
	truncate -s $((i * 997 % 20000)) "$(F 1)"
	truncate -s 0 "$(F 2)"
	run "$JET" stat "lan:$L" --json
	[ "$RC" -eq 0 ] || fail "jet stat failed while files were being truncated"
	readers=$((readers + 1))
	sleep 0.02
done
ok "$readers runs of jet stat while station 1's and 2's files were truncated: all exit 0"
alive "$DEMO_PID" || fail "chan_demo died"
alive "$RX2_PID" || fail "perf receiver on station 2 died"
whole=""
for _ in $(seq 50); do
	run "$JET" stat "lan:$L" --json
	[ "$RC" -eq 0 ] && printf '%s\n' "$OUT" | jq -e "all(.station[]; .stats == \"live\")" >/dev/null 2>&1 &&
		whole=1 && break
	sleep 0.1
done
[ -n "$whole" ] || fail "files not whole again after the truncations"
ok "stations kept running; every file whole again"
cmp -s "$VICTIM" "$TMPD/victim.orig" || fail "the victim file changed"

kill -TERM "$DEMO_PID" "$RX2_PID" "$RX3_PID"
wait_exit "$DEMO_BG" 10 || fail "chan_demo did not exit on SIGTERM"
expect_eq "$BG_RC" 0 "chan_demo exit code (every frame intact, no crash)"
wait_exit "$RX2_BG" 10 || fail "perf receiver 2 did not exit"
wait_exit "$RX3_BG" 10 || fail "perf receiver 3 did not exit"
for k in 0 1 2 3; do [ -e "$(F $k)" ] && fail "$(F $k) left behind"; done
ok "the stations removed their files"
cmp -s "$VICTIM" "$TMPD/victim.orig" || fail "the victim file changed"
ok "the victim is unchanged"

# ---- a station of nobody's whose name daemon holds ----
check_ok "lan create $L2 --mode 666" "$JET" lan create "$L2" --stations 2 --mode 666
# shellcheck disable=SC2016 # expanded by daemon's shell
run "${AS_DAEMON[@]}" bash -c 'printf "daemon was here" >"$1"; chmod 644 "$1"' daemon "/dev/shm/jet-stat.$L2.0"
expect_eq "$RC" 0 "daemon takes station 0's name"
bg_start NB_BG "$TMPD/nb.out" "$TMPD/nb.err" 60 "${AS_NOBODY[@]}" "$DEMO" "$L2" -n 50 --linger 30
NB_PID=$JETPID
wait_grep "$TMPD/nb.out" ready 30 || {
	dump "$TMPD/nb.out" "$TMPD/nb.err"
	fail "chan_demo as nobody did not get ready"
}
check_ok "jet stat --json of $L2" "$JET" stat "lan:$L2" --json
expect_jq "$S 0) | .attached and .stats == \"damaged\"" \
	"station 0 (nobody's, name held by daemon): not published; jet stat: $(jv "$S 0) | .stats_error")"
expect_jq "$S 1) | .stats == \"live\" and ([.chan[].id] == [10, 20])" "station 1 (nobody's) publishes"
expect_eq "$(stat -c '%U %a' "/dev/shm/jet-stat.$L2.1")" "nobody 644" "station 1's file: nobody's, mode 644"
expect_eq "$(cat "/dev/shm/jet-stat.$L2.0")" "daemon was here" "daemon's file untouched"
[ -n "$NB_PID" ] && kill -TERM "$NB_PID" 2>/dev/null
wait_exit "$NB_BG" 10 || fail "chan_demo as nobody did not exit"
expect_eq "$BG_RC" 0 "chan_demo as nobody: exit code"
rm -f "/dev/shm/jet-stat.$L2.0"
done_ok
