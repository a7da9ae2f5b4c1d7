# Shared helpers of the shell tests (tests/sh/test_*.sh).  Source it first:
#     . "$(dirname "$0")/lib.sh"
# It moves to the top of the checkout, sets JET to the jet binary of $BUILD
# (build or build/asan), and installs a trap that, whatever happens, kills the
# background processes the test started (by pid) and destroys every LAN whose
# name starts with $LAN_PFX.  Every command runs under `timeout`.
#
#   lan_name SUFFIX          -> prints a LAN name unique to this run ($LAN_PFX-SUFFIX)
#   run CMD...               runs CMD; sets RC, OUT (stdout) and ERR (stderr);
#                            fails if CMD printed a sanitizer report
#   check_ok WHAT CMD...     runs CMD, wants exit code 0
#   check_err RC STR WHAT CMD...
#                            runs CMD, wants exit code RC ('!0' for any failure)
#                            and STR in its stderr
#   expect_eq GOT WANT WHAT  compares two strings
#   expect_jq EXPR WHAT      jq -e EXPR must hold on $OUT (the last command's stdout)
#   jv EXPR                  prints jq -r EXPR of $OUT
#   bg_start VAR OUT ERR SECS CMD...
#                            starts CMD in the background under `timeout SECS`
#                            (stdout to OUT, stderr to ERR); VAR gets the pid to
#                            wait for (a subshell that exits with CMD's status),
#                            JETPID that of CMD itself (to signal it)
#   wait_exit PID SECS       waits for background PID at most SECS (a whole
#                            number); sets BG_RC; returns 1 if it is still
#                            running then; fails on a sanitizer report in its ERR
#   wait_grep FILE STR SECS  waits until FILE contains STR
#   wait_attached LAN ST SECS
#                            waits until station ST of LAN is attached
#   fail MSG                 prints MSG (and the last command's output) and exits 1
#   done_ok                  prints the closing line; exits 0
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
BUILD=${BUILD:-build}
JET=$BUILD/jet
SANITIZED=${JET_SANITIZED:-0}
TEST_NAME=$(basename "$0" .sh)
TEST_T0=$(date +%s.%N)
LAN_PFX=t$$
CMD_TIMEOUT=120 # bound on any foreground command
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/jet-$TEST_NAME.XXXXXX") || exit 1
LAST_CMD=""
OUT=""
ERR=""
RC=0
BG_RC=0
JETPID=""
declare -A BG_ERR=()

fail() {
	echo "FAIL: $*"
	if [ -n "$LAST_CMD" ]; then
		echo "  last command: $LAST_CMD"
		echo "  exit code: $RC"
		echo "  stdout:"
		printf '%s\n' "$OUT" | clip
		echo "  stderr:"
		printf '%s\n' "$ERR" | clip
	fi
	exit 1
}

# Indents stdin; of a long text, shows the first 30 and the last 20 lines.
clip() {
	awk '{ l[NR] = $0 } END {
		for (i = 1; i <= NR; i++)
			if (NR <= 60 || i <= 30 || i > NR - 20) print "    | " l[i];
			else if (i == 31) print "    | ... (" NR - 50 " lines)" }'
}

# Prints files (for failures that involve background processes).
dump() {
	local f
	for f in "$@"; do
		echo "  --- $f"
		clip <"$f"
	done
}

# Fails if file $1 holds a sanitizer report (ASan, LSan, UBSan); $2 says whose.
SAN_RE='ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error: |SUMMARY: UndefinedBehaviorSanitizer'
no_sanitizer_report() {
	if grep -qE "$SAN_RE" "$1" 2>/dev/null; then
		echo "FAIL: sanitizer report from $2:"
		clip <"$1"
		exit 1
	fi
}

ok() { echo "ok   $*"; }
info() { echo "info $*"; }

# Children of pid $1.
child_pids() {
	local c=""
	if [ -r "/proc/$1/task/$1/children" ]; then
		c=$(cat "/proc/$1/task/$1/children" 2>/dev/null)
	fi
	if [ -z "$c" ] && command -v pgrep >/dev/null; then
		c=$(pgrep -P "$1" 2>/dev/null)
	fi
	# shellcheck disable=SC2086 # unquoted: one line
	echo $c
}

# Whether pid $1 is running (not gone, not a zombie).
alive() {
	local st
	kill -0 "$1" 2>/dev/null || return 1
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ]
}

# Start time of pid $1 (clock ticks since boot), to tell it from a later
# process that got the same pid.
proc_start() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'; }

# Processes this test started, as PID:STARTTIME; the cleanup kills those
# still running, with their children.
OWN=()
own() {
	local p
	for p in "$@"; do
		[ -n "$p" ] && OWN+=("$p:$(proc_start "$p")")
	done
}
is_ours() { # PID:STARTTIME
	local p=${1%%:*} t=${1#*:}
	[ -n "$t" ] && alive "$p" && [ "$(proc_start "$p")" = "$t" ]
}
kill_tree() {
	local c
	for c in $(child_pids "$1"); do kill_tree "$c"; done
	kill -KILL "$1" 2>/dev/null
}

cleanup() {
	local e n f t
	trap - EXIT INT TERM
	for e in "${OWN[@]}"; do
		is_ours "$e" && kill_tree "${e%%:*}"
	done
	t=$(($(date +%s%N) + 5000000000))
	for e in "${OWN[@]}"; do
		while is_ours "$e" && [ "$(date +%s%N)" -lt "$t" ]; do sleep 0.02; done
	done
	# stats files of stations on links other than a LAN (jet-stat.LINK.ADDR-PID)
	# whose process is gone: what a killed jet left (jet stat would remove them)
	for f in /dev/shm/jet-stat.*-*; do
		n=${f##*-}
		[[ $n =~ ^[0-9]+$ ]] && ! kill -0 "$n" 2>/dev/null && rm -f "$f"
	done
	for f in /dev/shm/jet-lan."$LAN_PFX"-*; do
		[ -e "$f" ] || continue
		n=${f#/dev/shm/jet-lan.}
		timeout 10 "$JET" lan destroy --force "$n" >/dev/null 2>&1 || rm -f "$f"
	done
	rm -rf "$TMPD"
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 1' INT TERM

[ -x "$JET" ] || fail "no $JET: build it first (make all, or make asan)"
command -v jq >/dev/null || fail "jq is needed"
command -v timeout >/dev/null || fail "timeout (coreutils) is needed"

lan_name() { echo "$LAN_PFX-$1"; }

run() {
	LAST_CMD="$*"
	# In the background and waited for, so that a SIGTERM to the test runs
	# the cleanup at once (bash runs traps only between commands).
	timeout --kill-after=5 "$CMD_TIMEOUT" "$@" >"$TMPD/out" 2>"$TMPD/err" &
	local p=$!
	own "$p"
	wait "$p"
	RC=$?
	OUT=$(cat "$TMPD/out")
	ERR=$(cat "$TMPD/err")
	grep -qE "$SAN_RE" "$TMPD/err" && fail "sanitizer report (exit code $RC)"
	return 0
}

check_ok() {
	local what=$1
	shift
	run "$@"
	[ "$RC" -eq 0 ] || fail "$what: exit code $RC, wanted 0"
	ok "$what"
}

check_err() {
	local want=$1 str=$2 what=$3
	shift 3
	run "$@"
	if [ "$want" = '!0' ]; then
		[ "$RC" -ne 0 ] || fail "$what: exit code 0, wanted a failure"
	else
		[ "$RC" -eq "$want" ] || fail "$what: exit code $RC, wanted $want"
	fi
	if [ -n "$str" ]; then
		grep -qF -- "$str" "$TMPD/err" || fail "$what: stderr lacks '$str'"
	fi
	ok "$what (exit $RC${str:+, says '$str'})"
}

expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', wanted '$2'"
	ok "$3 ($1)"
}

expect_jq() {
	printf '%s\n' "$OUT" | jq -e "$1" >/dev/null 2>&1 || fail "$2: '$1' does not hold"
	ok "$2"
}

jv() { printf '%s\n' "$OUT" | jq -r "$1" 2>/dev/null; }

bg_start() {
	local var=$1 out=$2 err=$3 secs=$4 _
	shift 4
	# The subshell reaps `timeout` so that bash's "Killed" notice, when the
	# test kills CMD with SIGKILL, goes to /dev/null; it exits with CMD's status.
	(
		timeout --kill-after=2 "$secs" "$@" >"$out" 2>"$err"
		exit $?
	) 2>/dev/null &
	local p=$! t=""
	own "$p"
	BG_ERR[$p]=$err
	printf -v "$var" '%s' "$p"
	JETPID=""
	for _ in $(seq 200); do
		t=$(child_pids "$p")
		[ -n "$t" ] && JETPID=$(child_pids "$t")
		[ -n "$JETPID" ] && break
		alive "$p" || break
		sleep 0.01
	done
	own "$t" "$JETPID"
	return 0
}

wait_exit() {
	local p=$1 secs=$2 t
	t=$(($(date +%s%N) + ${secs%.*} * 1000000000))
	while alive "$p" && [ "$(date +%s%N)" -lt "$t" ]; do sleep 0.02; done
	if alive "$p"; then
		BG_RC=""
		return 1
	fi
	wait "$p" 2>/dev/null
	BG_RC=$?
	no_sanitizer_report "${BG_ERR[$p]:-/dev/null}" "background process $p"
	return 0
}

wait_grep() {
	local f=$1 s=$2 secs=$3 t
	t=$(($(date +%s%N) + secs * 1000000000))
	while [ "$(date +%s%N)" -lt "$t" ]; do
		grep -qF -- "$s" "$f" 2>/dev/null && return 0
		sleep 0.05
	done
	grep -qF -- "$s" "$f" 2>/dev/null
}

wait_attached() {
	local lan=$1 st=$2 secs=$3 t
	t=$(($(date +%s%N) + secs * 1000000000))
	while [ "$(date +%s%N)" -lt "$t" ]; do
		timeout 10 "$JET" lan show "$lan" --json 2>/dev/null |
			jq -e --argjson s "$st" 'any(.station[]; .station == $s)' >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# Seconds since the test started, with milliseconds.
elapsed() { echo "$(date +%s.%N) $TEST_T0" | awk '{printf "%.1f", $1 - $2}'; }

done_ok() {
	echo "PASS $TEST_NAME ($(elapsed) s, $JET)"
	exit 0
}
