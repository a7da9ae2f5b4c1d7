#!/usr/bin/env bash
# jet perf --proto tcp over the emulated LAN (issue 12):
#
#  1. the private LAN (both ends forked): 2 s bulk, the JSON parsed, throughput > 0,
#     CUBIC by default; --cc newreno; 1 KiB messages; --zerocopy; -n cut inside a
#     message that a small send ring takes in pieces; ping-pong; the text summary;
#  2. two processes on a LAN, default addresses (--to 1 = 198.18.0.2) and explicit
#     ones (--ip), -n bytes;
#  3. kill -9 of the server during a run: the client says the server's process is
#     gone, within 2 s;
#  4. usage errors (exit 2).
# The long byte-exact transfer under loss (1 GiB) is test_tcp_cat.sh's.
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

now_ms() { echo $(($(date +%s%N) / 1000000)); }
P=("$JET" perf --proto tcp)

# ---- 1. private LAN ----
check_ok "perf --proto tcp -t 2 --json" "${P[@]}" -t 2 --json
expect_jq '.proto == "tcp" and .bytes > 0 and .gbps > 0 and .cc == "cubic" and .msg == 131072' \
	"bulk: bytes and throughput > 0, cubic, 128 KiB messages"
info "bulk: $(jv .gbps) Gb/s, mss $(jv .mss), retransmits $(jv .retransmits), cpu $(jv .sender_cpu_s)+$(jv .receiver_cpu_s) s"
check_ok "perf --proto tcp --cc newreno" "${P[@]}" -t 1 --cc newreno --json
expect_jq '.cc == "newreno" and .gbps > 0' "newreno: throughput > 0"
check_ok "perf --proto tcp -l 1K" "${P[@]}" -t 1 -l 1K --json
expect_jq '.msg == 1024 and .gbps > 0' "1 KiB messages: throughput > 0"
info "1 KiB: $(jv .gbps) Gb/s, $(jv .segs_out) segments"
check_ok "perf --proto tcp --zerocopy" "${P[@]}" -t 1 --zerocopy --json
expect_jq '.zerocopy == true and .gbps > 0' "zero-copy: throughput > 0"
# -n ends inside a message that the small send ring takes in pieces: the last message
# is cut at -n, never past it (the client once took its length from the bytes sent, so
# a message more than half sent wrapped len - off and sent the free ring's worth more)
check_ok "perf --proto tcp -n 1000000 -l 1000000 --sndbuf 64K" "${P[@]}" -n 1000000 -l 1000000 --sndbuf 64K --json
expect_jq '.bytes == 1000000' "-n 1000000 in 1000000-byte messages through a 64 KiB send ring: every byte once"
check_ok "perf --proto tcp --pingpong" "${P[@]}" --pingpong -n 2000 --json
expect_jq '.round_trips == 2000 and .rtt_us.p50 > 0 and .rtt_us.p99 >= .rtt_us.p50' "ping-pong: 2000 round trips"
info "ping-pong: p50 $(jv .rtt_us.p50) us, p99 $(jv .rtt_us.p99) us"
check_ok "perf --proto tcp, text" "${P[@]}" -t 1 --nodelay --mss 8000
grep -qE "^[0-9.]+ [KMG]?i?B(ytes)? in [0-9.]+ s = .* over TCP on lan:perf-[0-9]+ \(131072-byte messages\)" <<<"$OUT" ||
	fail "text: no summary line"
grep -qE "^cubic, mss 8000, " <<<"$OUT" || fail "text: no cc/mss line (mss 8000)"
ok "text summary"

# ---- 2. two processes on a LAN ----
L=$(lan_name two)
check_ok "lan create $L --mtu 65536" "$JET" lan create "$L" --stations 4 --mtu 65536
bg_start SRV "$TMPD/s.out" "$TMPD/s.err" 60 "${P[@]}" -s --link "lan:$L" --station 1
wait_grep "$TMPD/s.out" "listening on 198.18.0.2 port 5201" 10 || { dump "$TMPD/s.out" "$TMPD/s.err"; fail "server did not start"; }
check_ok "client --to 1 -n 64M" "${P[@]}" -c --to 1 --link "lan:$L" --station 0 -n 64M --json
expect_jq '.bytes == 67108864' "-n 64M: every byte counted"
check_ok "client --to 198.18.0.2 --cc newreno -t 1" "${P[@]}" -c --to 198.18.0.2 --link "lan:$L" --cc newreno -t 1 --json
expect_jq '.cc == "newreno" and .gbps > 0' "second session on the same server"
grep -q "served 67108864 bytes" "$TMPD/s.out" || { dump "$TMPD/s.out"; fail "server: no 'served' line"; }
kill -TERM "$JETPID"
wait_exit "$SRV" 10 || fail "server did not stop on SIGTERM"
expect_eq "$BG_RC" 0 "server exit code on SIGTERM"

bg_start SRV "$TMPD/s2.out" "$TMPD/s2.err" 60 "${P[@]}" -s -1 --link "lan:$L" --ip 198.18.3.7/24 -p 6000
wait_attached "$L" 0 10 || wait_attached "$L" 1 10 || fail "server --ip did not attach"
sleep 0.2
check_ok "client --ip, --to 198.18.3.7 -p 6000" "${P[@]}" -c --to 198.18.3.7 -p 6000 --link "lan:$L" --ip 198.18.3.8/24 -t 1 --json
expect_jq '.gbps > 0' "explicit addresses and port"
wait_exit "$SRV" 10 || fail "one-off server did not exit"
expect_eq "$BG_RC" 0 "one-off server exit code"

# ---- 3. kill -9 of the server ----
bg_start SRV "$TMPD/k.out" "$TMPD/k.err" 60 "${P[@]}" -s -1 --link "lan:$L" --station 1
SRVJET=$JETPID
wait_grep "$TMPD/k.out" "listening on" 10 || wait_attached "$L" 1 10 || fail "kill: no server"
bg_start CLI "$TMPD/kc.out" "$TMPD/kc.err" 60 "${P[@]}" -c --to 1 --link "lan:$L" --station 0 -t 20
sleep 1
alive "$CLI" || { dump "$TMPD/kc.err"; fail "kill: the client is not running"; }
kill -KILL "$SRVJET"
t0=$(now_ms)
while alive "$CLI" && [ $(($(now_ms) - t0)) -lt 15000 ]; do sleep 0.01; done
dt=$(($(now_ms) - t0))
wait_exit "$CLI" 5 || { dump "$TMPD/kc.err"; fail "kill: the client still runs 15 s after the kill"; }
[ "$BG_RC" -eq 1 ] || { dump "$TMPD/kc.err"; fail "kill: the client exited $BG_RC, wanted 1"; }
grep -qE "^jet: session: station 1 of lan:$L left the link: its process is gone$" "$TMPD/kc.err" ||
	{ dump "$TMPD/kc.err"; fail "kill: the client does not say the server's process is gone"; }
[ "$dt" -le 2000 ] || { dump "$TMPD/kc.err"; fail "kill: the client took $dt ms, wanted at most 2000"; }
ok "kill -9 of the server: the client exited 1 after $dt ms: $(head -1 "$TMPD/kc.err")"
wait_exit "$SRV" 5

# ---- 4. usage ----
check_err 2 "--cc is cubic or newreno" "--cc vegas" "${P[@]}" --cc vegas -t 1
check_err 2 "--port" "--chan with tcp" "${P[@]}" --chan 5 -t 1
check_err 2 "--ip names one station" "--ip without --link" "${P[@]}" --ip 198.18.0.9/24 -t 1
check_err 2 "-c needs --to HOST" "-c without --to" "${P[@]}" -c --link "lan:$L"
check_err 2 "bad --to" "bad --to" "${P[@]}" -c --to 1.2.3 --link "lan:$L"
check_err 2 "--frame" "raw option" "${P[@]}" --frame 1500 -t 1
done_ok
