#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, only those missing.
# Needs root (or sudo) on a Debian/Ubuntu machine; does nothing when all are there.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have cc        || need+=(gcc libc6-dev)
have make      || need+=(make)
have ar        || need+=(binutils)
have jq        || need+=(jq)
have clang     || need+=(clang)
have ip        || need+=(iproute2)
have timeout   || need+=(coreutils)
# the xdp: link: libxdp and libbpf (AF_XDP sockets, loading the steering program, which
# clang compiles for the BPF target against the kernel's uapi headers)
[ -e /usr/include/xdp/xsk.h ]  || need+=(libxdp-dev)
[ -e /usr/include/bpf/libbpf.h ] || need+=(libbpf-dev)
[ -e /usr/include/linux/if_xdp.h ] || need+=(linux-libc-dev)
have pgrep     || need+=(procps)
have sha256sum || need+=(coreutils)
# end-to-end tests of the IPv4 host and of kernel protocols across the LAN (real peers)
have ping      || need+=(iputils-ping)
have socat     || need+=(socat)
have nc        || need+=(netcat-openbsd)
have iperf3    || need+=(iperf3)
# the xdp: link's end-to-end test and bench (checksum and segmentation offloads on a veth)
have ethtool   || need+=(ethtool)
# TCP's end-to-end tests read captures with tshark's expert analysis (its package asks a
# debconf question about wireshark-common: DEBIAN_FRONTEND below keeps the default, no)
have tshark    || need+=(tshark)
# jet host's TCP services: curl for HTTP, nftables for loss on the kernel side, hping3 for a SYN flood
have curl      || need+=(curl)
have nft       || need+=(nftables)
have hping3    || need+=(hping3)
# the packet: link: libnftables (dlopen'd) keeps the kernel off the stack's ports on an
# address it shares; its test reads the kernel's counters (nstat)
[ -e /usr/lib/x86_64-linux-gnu/libnftables.so.1 ] || ldconfig -p 2>/dev/null | grep -q libnftables.so.1 \
	|| need+=(libnftables1)
have nstat     || need+=(iproute2)
[ -x /usr/bin/python3 ] || need+=(python3)
# jet perf --json is checked against its documented JSON Schema (docs/perf-json.schema.json)
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || need+=(python3-jsonschema)
# make bench draws its plots with gnuplot (PNG, no X)
have gnuplot   || need+=(gnuplot-nox)
# libFuzzer and the sanitizer runtimes for clang
[ -e /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a ] \
	|| ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 \
	|| need+=(libclang-rt-dev)
# gcc's ASan/UBSan runtimes
gccv=$(cc -dumpversion 2>/dev/null | cut -d. -f1 || true)
if [ -n "$gccv" ] && ! cc -print-file-name=libasan.so | grep -q /; then need+=("libasan8"); fi
[ ${#need[@]} -eq 0 ] && exit 0
echo "deps: installing ${need[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
