#!/usr/bin/env bash
# The machine a benchmark ran on, as one JSON object on stdout: what
# bench/run.sh puts under "machine" in results.json and at the top of
# results.md.  Reads only /proc, /etc and the git checkout; needs jq.
#
#   cpu            model name of the first CPU (/proc/cpuinfo)
#   cores          CPUs online (nproc); sockets, cores_per_socket,
#                  threads_per_core when lscpu is there
#   memory_bytes   MemTotal
#   kernel         uname -r;  os: PRETTY_NAME of /etc/os-release;
#   debian         /etc/debian_version (null elsewhere)
#   virtualization systemd-detect-virt --vm ("none" on bare metal; without
#                  systemd-detect-virt, from the hypervisor flag of /proc/cpuinfo);
#                  container: systemd-detect-virt --container (null without it)
#   commit         git HEAD (short), commit_dirty: uncommitted changes
#   date           now, UTC, ISO 8601;  compiler: cc --version's first line
#
#   bench/machine.sh [--text]     --text: the same as "key: value" lines
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
[ -n "$cpu" ] || cpu=$(uname -m)
mem_kib=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
lscpu_field() { command -v lscpu >/dev/null && lscpu 2>/dev/null | sed -n "s/^$1:[[:space:]]*//p" | head -n 1 || true; }
sockets=$(lscpu_field 'Socket(s)')
cps=$(lscpu_field 'Core(s) per socket')
tpc=$(lscpu_field 'Thread(s) per core')
os=$( (. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}") || true)
debian=$(cat /etc/debian_version 2>/dev/null || true)
virt="" container=""
if command -v systemd-detect-virt >/dev/null; then
	virt=$(systemd-detect-virt --vm 2>/dev/null || true)
	container=$(systemd-detect-virt --container 2>/dev/null || true)
fi
if [ -z "$virt" ]; then
	if grep -qw hypervisor /proc/cpuinfo; then virt="a hypervisor (cpuinfo flag)"; else virt=none; fi
fi
commit=$(git rev-parse -q --verify --short HEAD 2>/dev/null || echo none)
dirty=false
[ "$commit" = none ] || [ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || dirty=true
compiler=$(cc --version 2>/dev/null | head -n 1 || true)
num_or_null() { [[ ${1:-} =~ ^[0-9]+$ ]] && echo "$1" || echo null; }

json=$(jq -nc --arg cpu "$cpu" --argjson cores "$(nproc)" \
	--argjson sockets "$(num_or_null "$sockets")" --argjson cps "$(num_or_null "$cps")" \
	--argjson tpc "$(num_or_null "$tpc")" --argjson mem "$(num_or_null "$mem_kib")" \
	--arg kernel "$(uname -r)" --arg os "$os" --arg debian "$debian" --arg virt "$virt" \
	--arg container "$container" \
	--arg commit "$commit" --argjson dirty "$dirty" --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	--arg compiler "$compiler" '
	def str_or_null: if . == "" then null else . end;
	{cpu: $cpu, cores: $cores, sockets: $sockets, cores_per_socket: $cps, threads_per_core: $tpc,
	 memory_bytes: (if $mem == null then null else $mem * 1024 end),
	 kernel: $kernel, os: ($os | str_or_null), debian: ($debian | str_or_null),
	 virtualization: $virt, container: ($container | str_or_null), commit: $commit, commit_dirty: $dirty, date: $date,
	 compiler: ($compiler | str_or_null)}')

if [ "${1:-}" = --text ]; then
	jq -r 'to_entries[] | "\(.key): \(.value // "-")"' <<<"$json"
else
	echo "$json"
fi
