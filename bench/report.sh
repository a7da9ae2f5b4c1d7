#!/usr/bin/env bash
# results.md of make bench: every section of a results.json of bench/run.sh
# as Markdown tables, the machine (CPU model, cores, memory, kernel, Debian
# version, git commit, date) and the settings first, then the plots
# (bench/plot.sh draws them beside it).  The tables are those bench/run.sh
# prints; the jq program is bench/plot/report.jq.
#
#   bench/report.sh RESULTS.json            the whole of results.md on stdout
#   bench/report.sh --sweeps RESULTS.json   only the sweeps' tables
#
# Exit: 0, 1 when RESULTS.json cannot be read as one, 2 on bad arguments.
set -euo pipefail
export LC_ALL=C.UTF-8
only=""
if [ "${1:-}" = --sweeps ]; then only=sweeps; shift; fi
[ $# -eq 1 ] || { echo "usage: bench/report.sh [--sweeps] RESULTS.json" >&2; exit 2; }
jq -e 'type == "object"' "$1" >/dev/null 2>&1 || { echo "bench: report: $1 is not a results.json" >&2; exit 1; }
jq -r --arg only "$only" -f "$(dirname "$0")/plot/report.jq" "$1"
