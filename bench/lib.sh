# The prologue shared by the benches that run jet beside the kernel in network
# namespaces of their own (lan_tap.sh, tap_tcp.sh, xdp_tcp.sh).  Set BENCH_NAME,
# then source it:
#     BENCH_NAME=xdp_tcp; . "$(dirname "$0")/lib.sh"
# It sets strict mode, BUILD and JET (BENCH_JET, default $BUILD/jet), and gives
#   skip REASON        prints {"skipped": REASON} (and why, on stderr), exits 0
#   bench_needs CMD... skips unless root with every CMD on the PATH; fails
#                      (exit 1) when the jet binary is not built
set -euo pipefail
export LC_ALL=C

BUILD=${BUILD:-build}
JET=${BENCH_JET:-$BUILD/jet}

skip() {
	jq -nc --arg why "$1" '{skipped: $why}'
	echo "bench: $BENCH_NAME skipped: $1" >&2
	exit 0
}

bench_needs() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	local c
	for c in "$@"; do command -v "$c" >/dev/null || skip "needs $c"; done
	[ -x "$JET" ] || { echo "bench: $JET not found: build first (make)" >&2; exit 1; }
}
