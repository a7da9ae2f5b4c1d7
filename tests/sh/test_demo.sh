#!/usr/bin/env bash
# make demo's script (scripts/demo.sh), with short settings: both tables with
# every row filled with numbers (value and ratio in each of the three columns),
# exit 0; as root the kernel-across-the-LAN row runs and its namespaces and LANs
# are gone afterwards, also after a SIGTERM in the middle; without root that
# row says why it is missing and every other row is still filled.
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

for f in "$BUILD/bench/tcp_ref" "$BUILD/bench/ring_ref"; do
	[ -x "$f" ] || fail "no $f: build it first (make all)"
done
# one repetition of short runs: the whole script in a few seconds
SHORT=(DEMO_SECONDS=0.2 DEMO_REPS=1 DEMO_PINGPONG_N=300 DEMO_TIMEOUT=30 "BUILD=$BUILD")
NUM='-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?'

# filled TABLE LABEL WHAT: the row LABEL of table TABLE (1 or 2) of $OUT has six
# numbers: value and ratio of throughput, RTT, CPU per byte.
filled() {
	local r
	r=$(printf '%s\n' "$OUT" | awk -v t="$1." -v l="  $2" '
		index($0, t) == 1 { on = 1; next } /^[0-9]\. / { on = 0 }
		on && index($0, l) == 1 { print substr($0, 38); exit }')
	[ -n "$r" ] || fail "$3: no row '$2' in table $1"
	[[ $r =~ ^\ *$NUM\ +$NUM\ +$NUM\ +$NUM\ +$NUM\ +$NUM\ *$ ]] ||
		fail "$3: row '$2' of table $1 is not six numbers: '$r'"
	ok "$3: table $1, $2: $(echo $r)"
}
# row_says TABLE LABEL TEXT WHAT
row_says() {
	printf '%s\n' "$OUT" | awk -v t="$1." -v l="  $2" '
		index($0, t) == 1 { on = 1; next } /^[0-9]\. / { on = 0 }
		on && index($0, l) == 1 { print; exit }' | grep -qF -- "$3" ||
		fail "$4: row '$2' of table $1 does not say '$3'"
	ok "$4: table $1, $2 says '$3'"
}
# the rows every run fills
check_common() { # WHAT
	local t
	grep -q '^1\. At full speed' <<<"$OUT" || fail "$1: no full-speed table"
	grep -q '^2\. At 1 Gb/s' <<<"$OUT" || fail "$1: no 1 Gb/s table"
	for t in 1 2; do
		filled "$t" "RBS" "$1"
		filled "$t" "user-space TCP" "$1"
	done
	filled 1 "kernel TCP over loopback" "$1"
	filled 1 "shared-memory ring" "$1"
	row_says 2 "kernel TCP over loopback" "no medium" "$1"
	row_says 2 "shared-memory ring" "no medium" "$1"
	grep -qE '\[[0-9]+/[0-9]+\] repetition 1/1' <<<"$ERR" || fail "$1: no progress lines on stderr"
	ok "$1: progress lines on stderr"
}

# ---- settings, missing programs, failing programs ----
check_err 2 "DEMO_REPS must be" "DEMO_REPS=0" env DEMO_REPS=0 "BUILD=$BUILD" bash scripts/demo.sh
check_err 2 "DEMO_RATE must be" "DEMO_RATE=fast" env DEMO_RATE=fast "BUILD=$BUILD" bash scripts/demo.sh
check_err 1 "not found" "no binaries" env BUILD="$TMPD/none" bash scripts/demo.sh
# programs that fail at once: every cell says so, their stderr follows, exit 1
mkdir -p "$TMPD/bad/bench"
for f in jet bench/tcp_ref bench/ring_ref; do
	printf '#!/bin/sh\necho "%s: broken on purpose" >&2\nexit 3\n' "$f" >"$TMPD/bad/$f"
	chmod +x "$TMPD/bad/$f"
done
check_err 1 "broken on purpose" "failing programs" env DEMO_KERNEL_LAN=0 "${SHORT[@]}" \
	BUILD="$TMPD/bad" bash scripts/demo.sh
[ "$(grep -c '  failed  ' <<<"$OUT")" -eq 6 ] || fail "failing programs: not 6 rows of 'failed'"
ok "failing programs: 6 rows of 'failed'"
info "at $(elapsed) s"

# ---- as root: every row, the kernel across the LAN included ----
root_ok=0
if [ "$(id -u)" -eq 0 ] && [ -c /dev/net/tun ] && command -v iperf3 >/dev/null; then
	root_ok=1
fi
check_ok "demo, short" env "${SHORT[@]}" bash scripts/demo.sh
check_common "demo"
if [ $root_ok = 1 ]; then
	filled 1 "kernel TCP across the LAN" "demo"
	filled 2 "kernel TCP across the LAN" "demo"
	ns=$(printf '%s\n' "$ERR" | sed -n 's/.*namespaces and LANs \(jt-demo-[0-9]*\)-\*.*/\1/p')
	[ -n "$ns" ] || fail "demo: stderr does not name its namespaces"
	ip netns list | grep -q "^$ns-" && fail "demo: namespaces $ns-* left behind"
	compgen -G "/dev/shm/jet-lan.$ns-*" >/dev/null && fail "demo: LANs $ns-* left behind"
	ok "demo: namespaces and LANs $ns-* removed"
else
	row_says 1 "kernel TCP across the LAN" "missing:" "demo"
	info "not root, or no /dev/net/tun or iperf3: the kernel row was missing"
fi

info "at $(elapsed) s"

# ---- without root: that row says why, the rest is filled ----
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null &&
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		test -x "$BUILD/jet" -a -x "$BUILD/bench/tcp_ref" -a -x "$BUILD/bench/ring_ref" \
		-a -r scripts/demo.sh -a -w /dev/shm -a -w /tmp 2>/dev/null; then
	check_ok "demo as nobody" setpriv --reuid=65534 --regid=65534 --clear-groups \
		env TMPDIR=/tmp "${SHORT[@]}" bash scripts/demo.sh
	check_common "demo as nobody"
	row_says 1 "kernel TCP across the LAN" "missing: needs root" "demo as nobody"
	row_says 2 "kernel TCP across the LAN" "missing: needs root" "demo as nobody"
else
	# not root (then the first run was this case), or a checkout nobody may read
	check_ok "demo, DEMO_KERNEL_LAN=0" env DEMO_KERNEL_LAN=0 "${SHORT[@]}" bash scripts/demo.sh
	check_common "demo, DEMO_KERNEL_LAN=0"
	row_says 1 "kernel TCP across the LAN" "missing: left out" "demo, DEMO_KERNEL_LAN=0"
fi

info "at $(elapsed) s"

# ---- a SIGTERM in the middle: the trap removes namespaces and LANs ----
if [ $root_ok = 1 ]; then
	bg_start D "$TMPD/d.out" "$TMPD/d.err" 60 env "${SHORT[@]}" bash scripts/demo.sh
	wait_grep "$TMPD/d.err" "[2/" 30 || { dump "$TMPD/d.err"; fail "SIGTERM: the demo did not get to its second run"; }
	ns=$(sed -n 's/.*namespaces and LANs \(jt-demo-[0-9]*\)-\*.*/\1/p' "$TMPD/d.err")
	[ -n "$ns" ] || { dump "$TMPD/d.err"; fail "SIGTERM: stderr does not name its namespaces"; }
	ip netns list | grep -q "^$ns-" || fail "SIGTERM: no namespaces $ns-* while running"
	kill -TERM "$JETPID"
	wait_exit "$D" 15 || fail "SIGTERM: the demo still runs 15 s later"
	[ "$BG_RC" -ne 0 ] || fail "SIGTERM: the demo exited 0"
	ip netns list | grep -q "^$ns-" && fail "SIGTERM: namespaces $ns-* left behind"
	compgen -G "/dev/shm/jet-lan.$ns-*" >/dev/null && fail "SIGTERM: LANs $ns-* left behind"
	pgrep -f "jtd${ns#jt-demo-}" >/dev/null && fail "SIGTERM: a jet lan tap of $ns still runs"
	ok "SIGTERM: exit $BG_RC, namespaces, LANs and tap stations of $ns gone"
fi
done_ok
