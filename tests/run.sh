#!/usr/bin/env bash
# Runs every test: unit test programs, fuzz-target replays, then the shell tests
# (multi-process and CLI).  Each under a timeout.  Exit code 77 means skipped:
# allowed only without root (the tests that skip need root for TAP devices and
# network namespaces).  As root, where everything can run, a skip is a failure
# unless JET_ALLOW_SKIP=1.  Closes with the line "N passed, N failed, N skipped".
set -u
BUILD=${BUILD:-build}
export BUILD
cd "$(dirname "$0")/.." || exit 1
pass=0 fail=0 skip=0 failed=()
run() { # name timeout cmd...
	local name=$1 t=$2; shift 2
	local log; log=$(mktemp)
	local t0=$SECONDS
	timeout --kill-after=5 "$t" "$@" >"$log" 2>&1
	local rc=$?
	if [ $rc -eq 0 ]; then pass=$((pass + 1)); printf '  PASS  %-40s %3ds\n' "$name" $((SECONDS - t0))
	elif [ $rc -eq 77 ] && { [ "$(id -u)" -ne 0 ] || [ "${JET_ALLOW_SKIP:-0}" = 1 ]; }; then
		skip=$((skip + 1)); printf '  SKIP  %-40s %s\n' "$name" "$(tail -1 "$log")"
	else fail=$((fail + 1)); failed+=("$name"); printf '  FAIL  %-40s rc=%d\n' "$name" $rc; sed 's/^/        /' "$log" | tail -40
	fi
	rm -f "$log"
}
echo "== tests in $BUILD"
for t in "$BUILD"/tests/test_*; do [ -x "$t" ] && run "unit/$(basename "$t")" 300 "$t"; done
for t in "$BUILD"/fuzz-replay/fuzz_*; do [ -x "$t" ] && run "fuzz-replay/$(basename "$t")" 300 "$t"; done
for t in tests/sh/test_*.sh; do [ -f "$t" ] && run "sh/$(basename "$t" .sh)" 600 bash "$t"; done
echo "${failed[*]:+failed: ${failed[*]}}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
