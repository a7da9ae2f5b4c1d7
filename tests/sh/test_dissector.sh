#!/usr/bin/env bash
# The Wireshark dissector tools/wireshark/jetstream.lua (issue 15), read by tshark:
#
#  1. crafted frames in a pcapng file written here (python3, struct): every Jetstream
#     header field as built, header check and payload CRC status (good, bad, unverified
#     when cut by the snap length, none without flag CRC), expert info for a bad header
#     check, a bad CRC, CRC_BAD, short frames, a length beyond the frame, reserved bits,
#     an oversize length, trailing bytes; RBS segments (SYN options, SACK, window
#     scaling learnt from the SYN, FIN); native frames in Ethernet (0x88B5) and in UDP
#     (port 7475: a native frame, and the 0x80 0x00 shim with an Ethernet frame); IPv4
#     in a native frame handed to Wireshark's IPv4 and UDP; the preferences (RBS
#     channels, RBS detection off, CRC verification off);
#  2. end to end: an RBS transfer (jet cat, 1 MiB) and a TCP transfer (jet perf --proto
#     tcp -n 1M) on a LAN, captured with `jet dump lan:NAME -w` (without jet dump: the
#     capture:FILE/lan:NAME wrapper on the sending end): the channel ids of the
#     handshake, every RBS sequence number inside the stream (and rbs.seq_rel /
#     rbs.ack_rel, relative to the SYNs), every byte sent, the ACKs
#     rising to the FIN, the header check and CRC good on every frame; in the TCP
#     capture no bad IPv4/TCP checksum (checksum validation on) and nothing malformed.
# Skips (77) without tshark or python3.
# shellcheck source=tests/sh/lib.sh
. "$(dirname "$0")/lib.sh"

LUA=tools/wireshark/jetstream.lua
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
if ! command -v tshark >/dev/null || [ -z "$PY" ]; then
	echo "SKIP: needs tshark and python3 (scripts/deps.sh)"
	exit 77
fi
[ -f "$LUA" ] || fail "no $LUA"
TS=(tshark -n -X "lua_script:$LUA")

# Runs tshark with the dissector; fails on a Lua error (the script not loaded, or a
# dissector error on a frame).
ts() {
	run "${TS[@]}" "$@"
	[ "$RC" = 0 ] || fail "tshark $*: exit code $RC"
	if grep -qiE "lua: error|\[Lua Error|lua_script|attempt to|bad argument" "$TMPD/err" ||
		grep -q "Lua Error" "$TMPD/out"; then
		fail "tshark $*: Lua error"
	fi
	return 0
}
# Compares $OUT with the expected text on stdin, line by line.
expect_out() { # WHAT
	local want
	want=$(cat)
	if [ "$OUT" != "$want" ]; then
		echo "FAIL: $1: tshark printed something else (- wanted, + got):"
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$OUT") | sed 's/^/    /' | head -40
		exit 1
	fi
	ok "$1"
}

# ---- 1. crafted frames ----
cat >"$TMPD/gen.py" <<'EOF'
import struct, sys

TAB = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    TAB.append(c)

def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c = TAB[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF
assert crc32c(b"123456789") == 0xE3069283

def frame(payload, src=1, dst=0, dch=5202, sch=5201, flags=0x01, ver=1, rsvd=0,
          plen=None, bad_hdr=False, bad_crc=False):
    plen = len(payload) if plen is None else plen
    h = struct.pack(">BBHHHIII", ver, flags, src, dst, rsvd, dch, sch, plen)
    f = h + struct.pack(">I", crc32c(h) ^ (1 if bad_hdr else 0)) + payload
    if flags & 1:
        f += struct.pack(">I", crc32c(payload) ^ (0x100 if bad_crc else 0))
    return f

def rbs(flags, seq, ack, wnd, tsval=1, tsecr=2, opts=b"", payload=b""):
    opts = opts + b"\0" * (-len(opts) % 4)
    hw = (24 + len(opts)) // 4
    return struct.pack(">BBBBIIHHII", 1, flags, hw, 0, seq, ack, wnd, 0, tsval, tsecr) + opts + payload

def syn_opts(mss, ws, chan):
    return struct.pack(">BBIBBBBBI", 2, 6, mss, 3, 3, ws, 5, 6, chan)

def eth(dst, src, etype, payload, pad=True):
    f = dst + src + struct.pack(">H", etype) + payload
    return f + b"\0" * (60 - len(f)) if pad and len(f) < 60 else f

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(">%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def ipv4(src, dst, proto, payload):
    h = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, proto, 0, src, dst)
    return h[:10] + struct.pack(">H", csum(h)) + h[12:] + payload

def udp(src, dst, sport, dport, payload):
    u = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = csum(src + dst + struct.pack(">BBH", 0, 17, len(u)) + u) or 0xFFFF
    return u[:6] + struct.pack(">H", c) + u[8:]

def opt(code, val):
    return struct.pack("<HH", code, len(val)) + val + b"\0" * (-len(val) % 4)

def block(btype, body):
    return struct.pack("<II", btype, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))

def idb(linktype, name):
    return block(1, struct.pack("<HHI", linktype, 0, 262144) + opt(2, name.encode()) +
                 opt(9, b"\x09") + opt(0, b""))

def epb(ifid, ts, data, orig=None):
    orig = len(data) if orig is None else orig
    body = struct.pack("<IIIII", ifid, ts >> 32, ts & 0xFFFFFFFF, len(data), orig)
    return block(6, body + data + b"\0" * (-len(data) % 4) + opt(2, struct.pack("<I", 1)) + opt(0, b""))

MA, MB = bytes.fromhex("024a53000001"), bytes.fromhex("024a53000002")
IA, IB = bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2])
A = 0x40000001
F = []  # (interface: 0 USER0, 1 Ethernet; bytes; original length)
def add(ifid, b, orig=None):
    F.append((ifid, b, orig))

# 1 docs/frame-format.md section 7; 2 the same marked CRC_BAD by a forwarder
add(0, frame(b"123456789", src=0x0102, dst=0xFFFF, dch=0x0A0B0C0D, sch=7, flags=0x15))
add(0, frame(b"123456789", src=0x0102, dst=0xFFFF, dch=0x0A0B0C0D, sch=7, flags=0x17))
add(0, frame(b"hello", src=3, dst=4, dch=10, sch=11, bad_hdr=True))            # 3 bad header check
add(0, frame(b"hello world", src=3, dst=4, dch=12, sch=13, bad_crc=True))      # 4 bad payload CRC
add(0, frame(b"no crc here", src=5, dst=6, dch=14, sch=15, flags=0))          # 5 no CRC flag
add(0, frame(b"", src=1, dst=2)[:10])                                          # 6 10 bytes
add(0, frame(b"x" * 50, src=7, dst=8, dch=16, sch=17, flags=0, plen=100))      # 7 says 100, has 50
add(0, frame(b"abc", src=9, dst=10, dch=18, sch=19, rsvd=0x1234))              # 8 reserved field
# 9 SYN from A to the listener 5201; 10 the SYN-ACK of docs/rbs.md 2.4 from B = 9
add(0, frame(rbs(0x02, 1000, 0, 0x2000, opts=syn_opts(8940, 7, A)), src=1, dst=0, dch=5201, sch=A))
add(0, frame(bytes.fromhex("01120a0011223344556677881000000000000001000000020206"
                           "0000057803030305060000000900"), src=0, dst=1, dch=A, sch=9))
# 11 1000 bytes of data; 12 an ACK with two SACK blocks; 13 FIN
add(0, frame(rbs(0x10, 1001, 0x11223345, 300, payload=bytes(range(256)) * 3 + b"z" * 232),
             src=1, dst=0, dch=9, sch=A))
add(0, frame(rbs(0x10, 0x11223345, 2001, 500, opts=struct.pack(">BBIIII", 4, 18, 3001, 4001, 5001, 6001)),
             src=0, dst=1, dch=A, sch=9))
add(0, frame(rbs(0x11, 2001, 0x11223345, 300), src=1, dst=0, dch=9, sch=A))
# 14 in Ethernet; 15 in UDP; 16 the UDP shim with an Ethernet frame (IPv4/UDP to port 9)
add(1, eth(MB, MA, 0x88B5, frame(rbs(0x10, 77, 88, 99), src=1, dst=2, dch=300, sch=301)))
add(1, eth(MB, MA, 0x0800, ipv4(IA, IB, 17, udp(IA, IB, 40000, 7475, frame(
    rbs(0x10, 555, 666, 777, payload=b"p" * 40), src=21, dst=22, dch=400, sch=401)))))
inner = eth(MA, MB, 0x0800, ipv4(IA, IB, 17, udp(IA, IB, 1234, 9, b"ping")), pad=False)
add(1, eth(MB, MA, 0x0800, ipv4(IA, IB, 17, udp(IA, IB, 40000, 7475, b"\x80\x00" + inner))))
# 17 IPv4 in a native frame
add(0, frame(ipv4(IA, IB, 17, udp(IA, IB, 40001, 40002, b"data")), src=1, dst=2, dch=50, sch=51))
# 18 2000-byte segment cut to 128 bytes
f = frame(rbs(0x10, 3001, 4001, 10, payload=b"q" * 1976), src=1, dst=0, dch=9, sch=A)
add(0, f[:128], len(f))
# 19 with CRC but not RBS (jet perf's raw header, type 3); 20 FIN alone: not RBS unless named
add(0, frame(struct.pack(">BBBBIQQ", 3, 1, 0, 0, 7, 42, 0) + b"d" * 100, src=1, dst=0))
add(0, frame(rbs(0x01, 1, 2, 3), src=1, dst=0, dch=9999, sch=5))
add(0, frame(b"r", src=1, dst=2, dch=60, sch=61, flags=0x21))                  # 21 reserved flag bit
add(1, eth(MB, MA, 0x88B5, frame(b"", src=2, dst=0xFFFF, dch=0, sch=0, flags=0x0C)))  # 22 padded
add(0, frame(b"", src=1, dst=2, dch=70, sch=71, flags=0, plen=70000))         # 23 oversize
add(1, eth(MB, MA, 0x0800, ipv4(IA, IB, 17, udp(IA, IB, 40000, 7475, b"\x05hello"))))  # 24
add(0, frame(b"tail", src=1, dst=2, dch=80, sch=81) + b"\xAA\xBB\xCC")        # 25 trailing bytes
# 26 a SYN without WSCALE and CHAN, from another connection (its window stays unscaled)
add(0, frame(rbs(0x02, 7, 0, 100, opts=struct.pack(">BBI", 2, 6, 1400)), src=3, dst=0, dch=5201, sch=A + 1))

def write(path, frames):
    with open(path, "wb") as fp:
        fp.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
        fp.write(idb(147, "lan:test") + idb(1, "eth:test"))
        for i, (ifid, b, orig) in enumerate(frames):
            fp.write(epb(ifid, 1700000000 * 10**9 + i * 1000, b, orig))
write(sys.argv[1], F)

# Damaged frames, seeded: a valid header around an RBS segment with random flags,
# options and bytes changed, random lengths, cut anywhere, in every encapsulation.
import random
rnd = random.Random(15)
rb = lambda n: bytes(rnd.getrandbits(8) for _ in range(n))
G = []
for i in range(400):
    if rnd.random() < 0.15:
        G.append((0, rb(rnd.randint(0, 60)), None))
        continue
    p = bytearray(rbs(rnd.choice([0x02, 0x12, 0x10, 0x11, 0x04, 0x01, 0x00, 0xFF]), rnd.getrandbits(32),
                      rnd.getrandbits(32), rnd.getrandbits(16), opts=rb(rnd.choice([0, 4, 8, 16, 36])),
                      payload=rb(rnd.randint(0, 30))))
    for _ in range(rnd.randint(0, 3)):
        p[rnd.randrange(len(p))] = rnd.getrandbits(8)
    f = frame(bytes(p), src=rnd.getrandbits(16), dst=rnd.getrandbits(16), dch=rnd.getrandbits(32),
              sch=rnd.getrandbits(32), flags=rnd.choice([1, 1, 0, 3, 0x21]),
              plen=rnd.choice([None] * 6 + [rnd.getrandbits(17)]))
    k = rnd.random()
    if k < 0.15:
        G.append((0, f[:rnd.randint(0, len(f))], len(f)))
    elif k < 0.3:
        G.append((0, f[:rnd.randint(0, len(f))], None))
    elif k < 0.45:
        G.append((1, eth(MB, MA, 0x88B5, f), None))
    elif k < 0.6:
        pre = rnd.choice([b"", b"\x80\x00", b"\x80", b"\x80\x01"])
        G.append((1, eth(MB, MA, 0x0800, ipv4(IA, IB, 17, udp(IA, IB, 1, 7475, pre + f))), None))
    else:
        G.append((0, f, None))
write(sys.argv[2], G)
EOF
"$PY" "$TMPD/gen.py" "$TMPD/t.pcapng" "$TMPD/fz.pcapng" || fail "could not write the crafted pcapng"
T=$TMPD/t.pcapng

# One pass for the fields of every frame: the header (columns 1-14), RBS (15-30) and
# the Protocol and Info columns (31-32), compared in three tables.
ts -r "$T" -T fields -E separator=/t -E occurrence=a -e frame.number -e jetstream.version \
	-e jetstream.flags -e jetstream.flags.priority -e jetstream.src_station -e jetstream.dst_station \
	-e jetstream.reserved -e jetstream.dst_channel -e jetstream.src_channel -e jetstream.len \
	-e jetstream.hdr_check -e jetstream.hdr_check.status -e jetstream.crc -e jetstream.crc.status \
	-e rbs.version -e rbs.flags -e rbs.hdr_len -e rbs.seq -e rbs.ack -e rbs.window -e rbs.window_size \
	-e rbs.tsval -e rbs.tsecr -e rbs.option.mss -e rbs.option.wscale -e rbs.option.chan \
	-e rbs.option.sack.start -e rbs.option.sack.end -e rbs.len -e rbs.nxtseq \
	-e _ws.col.Protocol -e _ws.col.Info
ALL=$OUT
OUT=$(printf '%s\n' "$ALL" | cut -f1-14 | tr '\t' ' ')
expect_out "header fields, header check and CRC status of 26 crafted frames" <<'EOF'
1 1 0x15 5 258 65535 0x0000 168496141 7 9 0x9a595721 1 0xe3069283 1
2 1 0x17 5 258 65535 0x0000 168496141 7 9 0xedc3b81e 1 0xe3069283 1
3 1 0x01 0 3 4 0x0000 10 11 5 0xa4008cfe 0 0x9a71bb4c 2
4 1 0x01 0 3 4 0x0000 12 13 11 0xab414a62 1 0xc99464aa 0
5 1 0x00 0 5 6 0x0000 14 15 11 0x8562468d 1  3
6             
7 1 0x00 0 7 8 0x0000 16 17 100 0x47f32829 1  3
8 1 0x01 0 9 10 0x1234 18 19 3 0x147549dd 1 0x364b3fb7 1
9 1 0x01 0 1 0 0x0000 5201 1073741825 40 0x1b039c35 1 0x8896612a 1
10 1 0x01 0 0 1 0x0000 1073741825 9 40 0x92b8144d 1 0x4f2db3b3 1
11 1 0x01 0 1 0 0x0000 9 1073741825 1024 0x4d8fd0a6 1 0x2bdfd02e 1
12 1 0x01 0 0 1 0x0000 1073741825 9 44 0x55228352 1 0x0807397f 1
13 1 0x01 0 1 0 0x0000 9 1073741825 24 0x99822eda 1 0x2402a581 1
14 1 0x01 0 1 2 0x0000 300 301 24 0x96953ce5 1 0xf963c549 1
15 1 0x01 0 21 22 0x0000 400 401 64 0xa49580a5 1 0xe7a2736c 1
16             
17 1 0x01 0 1 2 0x0000 50 51 32 0x2ccd4f97 1 0xae35491b 1
18 1 0x01 0 1 0 0x0000 9 1073741825 2000 0xaabb9994 1  2
19 1 0x01 0 1 0 0x0000 5202 5201 124 0x44991ad6 1 0xd1c2be42 1
20 1 0x01 0 1 0 0x0000 9999 5 24 0x3565165a 1 0xdde3126d 1
21 1 0x21 0 1 2 0x0000 60 61 1 0x401d71d1 1 0xc2de77ab 1
22 1 0x0c 3 2 65535 0x0000 0 0 0 0x9e5fe889 1  3
23 1 0x00 0 1 2 0x0000 70 71 70000 0x9e7a6d6e 1  3
24             
25 1 0x01 0 1 2 0x0000 80 81 4 0x417592a5 1 0x076d4bad 1
26 1 0x01 0 3 0 0x0000 5201 1073741826 32 0x6620ccb0 1 0x9c0c7135 1
EOF

OUT=$(printf '%s\n' "$ALL" | awk -F'\t' '$15 != ""' | cut -f1,15-30 | tr '\t' ' ')
expect_out "RBS fields: SYN options, SACK, window scaled by the sender's SYN, next sequence" <<'EOF'
9 1 0x02 40 1000 0 8192 1048576 1 2 8940 7 1073741825   0 1001
10 1 0x12 40 287454020 1432778632 4096 32768 1 2 1400 3 9   0 287454021
11 1 0x10 24 1001 287454021 300 38400 1 2      1000 2001
12 1 0x10 44 287454021 2001 500 4000 1 2    3001,5001 4001,6001 0 287454021
13 1 0x11 24 2001 287454021 300 38400 1 2      0 2002
14 1 0x10 24 77 88 99  1 2      0 77
15 1 0x10 24 555 666 777  1 2      40 595
18 1 0x10 24 3001 4001 10 1280 1 2      1976 4977
26 1 0x02 32 7 0 100  1 2 1400     0 8
EOF

OUT=$(printf '%s\n' "$ALL" | cut -f1,31,32 | tr '\t' '|')
expect_out "Protocol and Info columns" <<'EOF'
1|Jetstream|258:7 → bcast:168496141 len 9
2|Jetstream|258:7 → bcast:168496141 len 9 [CRC_BAD]
3|Jetstream|3:11 → 4:10 len 5 [BAD HEADER CHECK]
4|Jetstream|3:13 → 4:12 len 11 [BAD CRC]
5|Jetstream|5:15 → 6:14 len 11
6|Jetstream|Jetstream malformed: 10 bytes
7|Jetstream|7:17 → 8:16 len 100 [MALFORMED]
8|Jetstream|9:19 → 10:18 len 3 [MALFORMED]
9|RBS|1:1073741825 → 0:5201 len 40 [RBS SYN seq=1000 ack=0 win=8192 len=0 mss=8940 ws=7 chan=1073741825]
10|RBS|0:9 → 1:1073741825 len 40 [RBS SYN,ACK seq=287454020 ack=1432778632 win=4096 len=0 mss=1400 ws=3 chan=9]
11|RBS|1:1073741825 → 0:9 len 1024 [RBS ACK seq=1001 ack=287454021 win=300 len=1000]
12|RBS|0:9 → 1:1073741825 len 44 [RBS ACK seq=287454021 ack=2001 win=500 len=0 sack=3001-4001,5001-6001]
13|RBS|1:1073741825 → 0:9 len 24 [RBS FIN,ACK seq=2001 ack=287454021 win=300 len=0]
14|RBS|1:301 → 2:300 len 24 [RBS ACK seq=77 ack=88 win=99 len=0]
15|RBS|21:401 → 22:400 len 64 [RBS ACK seq=555 ack=666 win=777 len=40]
16|UDP|1234 → 9 Len=4
17|UDP|1:51 → 2:50 len 32 | 40001 → 40002 Len=4
18|RBS|1:1073741825 → 0:9 len 2000 [cut] [RBS ACK seq=3001 ack=4001 win=10 len=1976]
19|Jetstream|1:5201 → 0:5202 len 124
20|Jetstream|1:5 → 0:9999 len 24
21|Jetstream|1:61 → 2:60 len 1 [MALFORMED]
22|Jetstream|2:0 → bcast:0 len 0
23|Jetstream|1:71 → 2:70 len 70000 [MALFORMED]
24|Jetstream|Jetstream/UDP: unknown datagram (first byte 0x05)
25|Jetstream|1:81 → 2:80 len 4
26|RBS|3:1073741826 → 0:5201 len 32 [RBS SYN seq=7 ack=0 win=100 len=0 mss=1400]
EOF

# Expert info and fields present: the frames that carry each (one -T json pass).
ts -r "$T" -T json
printf '%s\n' "$OUT" >"$TMPD/t.json"
cat >"$TMPD/names.py" <<'EOF'
import json, sys
names = sys.argv[2:]
seen = {n: [] for n in names}
def walk(pairs, acc):
    for k, v in pairs:
        acc.add(k)
        if isinstance(v, list) and v and isinstance(v[0], tuple):
            walk(v, acc)
for pkt in json.load(open(sys.argv[1]), object_pairs_hook=lambda p: p):
    acc = set()
    walk(pkt, acc)
    num = [v for k, v in dict(dict(dict(pkt)["_source"])["layers"])["frame"] if k == "frame.number"][0]
    for n in names:
        if n in acc:
            seen[n].append(num)
for n in names:
    print("%s: %s" % (n, " ".join(seen[n])))
EOF
run "$PY" "$TMPD/names.py" "$TMPD/t.json" jetstream.short jetstream.hdr_check.bad jetstream.crc.bad \
	jetstream.flags.crc_bad.set jetstream.reserved.nonzero jetstream.len.beyond jetstream.len.oversize \
	jetstream.snaplen jetstream.trailer.present jetstream.trailer jetstream_udp.unknown \
	jetstream_udp.shim rbs.malformed rbs.connection rbs.option.bad rbs.no_crc _ws.malformed rbs.payload \
	jetstream.payload eth ip udp
[ "$RC" = 0 ] || fail "reading tshark's JSON: $OUT $ERR"
expect_out "expert info and fields, frame by frame" <<'EOF'
jetstream.short: 6
jetstream.hdr_check.bad: 3
jetstream.crc.bad: 4
jetstream.flags.crc_bad.set: 2
jetstream.reserved.nonzero: 8 21
jetstream.len.beyond: 7
jetstream.len.oversize: 23
jetstream.snaplen: 18
jetstream.trailer.present: 25
jetstream.trailer: 22 25
jetstream_udp.unknown: 24
jetstream_udp.shim: 16
rbs.malformed: 
rbs.connection: 9 10 13 26
rbs.option.bad: 26
rbs.no_crc: 
_ws.malformed: 6 7 8 21 23 26
rbs.payload: 11 15 18
jetstream.payload: 1 2 3 4 5 7 8 19 20 21 25
eth: 14 15 16 22 24
ip: 15 16 17 24
udp: 15 16 17 24
EOF

# Display filters: statuses by name, either station or channel, the encapsulations.
ts -r "$T" -Y 'jetstream.crc.status == "bad" || jetstream.hdr_check.status == "bad"' -T fields -e frame.number
expect_eq "$(printf '%s\n' "$OUT" | paste -sd' ')" "3 4" 'filter jetstream.crc.status == "bad" || jetstream.hdr_check.status == "bad"'
f='(jetstream.station == 2 && jetstream.channel == 60) || (udp.port == 7475 && rbs.seq == 555) || (eth.type == 0x88b5 && rbs) || jetstream.crc.status == "none"'
ts -r "$T" -Y "$f" -T fields -e frame.number
expect_eq "$(printf '%s\n' "$OUT" | paste -sd' ')" "5 7 14 15 21 22 23" "filter $f"

# Preferences: a channel named RBS decodes frame 20 (FIN alone: malformed); RBS
# detection off leaves the payloads as data; CRC verification off: unverified.
ts -o "jetstream.rbs_channels:9999,100-200" -r "$T" -Y rbs.malformed -T fields -e frame.number -e rbs.flags \
	-e _ws.col.Info
expect_out "preference rbs_channels: channel 9999 decoded as RBS, malformed" <<'EOF'
20	0x01	1:5 → 0:9999 len 24 [RBS FIN seq=1 ack=2 win=3 len=0 MALFORMED]
EOF
ts -o jetstream.rbs_heur:FALSE -o jetstream.check_crc:FALSE -r "$T" -T fields -e frame.number -e rbs.seq \
	-e jetstream.crc.status
expect_eq "$(printf '%s\n' "$OUT" | awk -F'\t' '$2 != ""' | wc -l)" 0 "preference rbs_heur off: no RBS"
expect_eq "$(printf '%s\n' "$OUT" | awk -F'\t' '$3 == 2 { print $1 }' | paste -sd' ')" \
	"1 2 3 4 8 9 10 11 12 13 14 15 17 18 19 20 21 25 26" "preference check_crc off: every CRC unverified"

# Damaged and random frames: no Lua error (ts fails on one), RBS named everywhere or not.
ts -o "jetstream.rbs_channels:0-4294967295" -r "$TMPD/fz.pcapng" -V
n=$(printf '%s\n' "$OUT" | grep -c "^Jetstream, ")
[ "$n" -gt 250 ] || fail "seeded damaged frames: only $n Jetstream frames dissected"
ok "400 seeded damaged frames: no Lua error ($n Jetstream headers dissected)"

# ---- 2. end to end ----
L=$(lan_name d)
check_ok "lan create $L" "$JET" lan create "$L" --stations 4
run "$JET" dump --help
if [ "$RC" = 0 ]; then
	MODE=dump
else
	# without jet dump: the capture wrapper, if it opens (it writes the file's
	# header then, before the connect fails: nobody is at station 2)
	run "$JET" cat --link "capture:$TMPD/probe.pcapng/lan:$L" --station 3 --timeout 1 2:1
	if [ ! -s "$TMPD/probe.pcapng" ]; then
		info "SKIP end to end: neither 'jet dump' nor the capture: wrapper in $JET"
		done_ok
	fi
	MODE=wrap
	info "no 'jet dump' in $JET: capturing with the capture:FILE/lan:NAME wrapper on the sending end"
fi
# Starts jet dump on the LAN, writing FILE.
dump_start() { # FILE
	[ "$MODE" = dump ] || return 0
	bg_start DUMP "$TMPD/dump.out" "$TMPD/dump.err" 60 "$JET" dump "lan:$L" -w "$1"
	DUMPPID=$JETPID
	wait_grep "$TMPD/dump.err" "jet dump: writing" 10 || { dump "$TMPD/dump.err"; fail "jet dump did not start"; }
}
dump_stop() {
	[ "$MODE" = dump ] || return 0
	kill -INT "$DUMPPID"
	wait_exit "$DUMP" 10 || fail "jet dump did not stop on SIGINT"
	[ "$BG_RC" = 0 ] || { dump "$TMPD/dump.err"; fail "jet dump: exit code $BG_RC"; }
	info "$(grep "frames kept" "$TMPD/dump.err")"
	# a monitor that fell behind lost frames (for itself only): holes are then expected
	DROPPED=$(sed -n 's/.* \([0-9][0-9]*\) dropped by the monitor.*/\1/p' "$TMPD/dump.err")
}
DROPPED=0
# The sending end's link.
send_link() { # FILE
	if [ "$MODE" = dump ]; then echo "lan:$L"; else echo "capture:$1/lan:$L"; fi
}
cap_ok() { # FILE
	[ -s "$1" ] || fail "no capture in $1"
}

# -- RBS: jet cat, 1 MiB from station 0 to station 1 channel 5300 --
N=1048576
head -c $N /dev/urandom >"$TMPD/in.bin"
R=$TMPD/rbs.pcapng
dump_start "$R"
bg_start RX "$TMPD/rx.out" "$TMPD/rx.err" 60 sh -c "exec \"$JET\" cat -l -v --link lan:$L --station 1 --chan 5300 </dev/null >\"$TMPD/out.bin\""
wait_grep "$TMPD/rx.err" "listening on" 10 || { dump "$TMPD/rx.err"; fail "jet cat -l did not start"; }
check_ok "jet cat: 1 MiB over RBS" sh -c "exec \"$JET\" cat --link $(send_link "$R") --station 0 1:5300 <\"$TMPD/in.bin\""
wait_exit "$RX" 10 || fail "jet cat -l did not end"
cmp -s "$TMPD/in.bin" "$TMPD/out.bin" || fail "jet cat: the bytes differ"
dump_stop
cap_ok "$R"
ts -r "$R" -T fields -E separator=' ' -e frame.number -e jetstream.src_station -e jetstream.dst_station \
	-e jetstream.src_channel -e jetstream.dst_channel -e jetstream.hdr_check.status \
	-e jetstream.crc.status -e rbs.flags -e rbs.seq -e rbs.ack -e rbs.len -e rbs.option.chan \
	-e _ws.expert.severity -e rbs.seq_rel -e rbs.ack_rel
printf '%s\n' "$OUT" >"$TMPD/rbs.txt"
cat >"$TMPD/rbs_check.py" <<'EOF'
# Checks the fields of an RBS transfer of N bytes from station 0 to station 1:5300.
import sys
N = int(sys.argv[2])
LOST = int(sys.argv[3] or 0)  # frames the monitor lost: holes allowed
M = 1 << 32
rows = [l.split(" ") for l in open(sys.argv[1]).read().splitlines() if l.strip()]
def die(msg):
    print(msg)
    sys.exit(1)
if not rows:
    die("no frames")
fr = []
for r in rows:
    if len(r) != 15 or not r[7]:
        die("frame %s is not an RBS segment: %s" % (r[0], r))
    if r[5] != "1" or r[6] != "1":
        die("frame %s: header check status %s, CRC status %s (want 1 1: good)" % (r[0], r[5], r[6]))
    if max([int(x) for x in r[12].split(",") if x] or [0]) >= 6291456:
        die("frame %s: expert info of severity warning or error" % r[0])
    n, ss, ds, sc, dc, _, _, fl, seq, ack, ln, ch, _, srel, arel = r
    fr.append(dict(n=int(n), ss=int(ss), ds=int(ds), sc=int(sc), dc=int(dc), fl=int(fl, 16),
                   seq=int(seq), ack=int(ack), len=int(ln), chan=int(ch) if ch else None,
                   srel=int(srel) if srel else None, arel=int(arel) if arel else None))
syn = [f for f in fr if f["fl"] == 0x02]
if not syn:
    die("no SYN")
s = syn[0]
if (s["ss"], s["ds"], s["dc"]) != (0, 1, 5300) or s["chan"] != s["sc"] or not 0x40000000 <= s["sc"] <= 0xFFFFFF00:
    die("SYN: %s (want station 0 to 1:5300, CHAN = its source channel in [0x40000000, 0xFFFFFF00])" % s)
A, isn_a = s["sc"], s["seq"]
sa = [f for f in fr if f["fl"] == 0x12]
if not sa:
    die("no SYN-ACK")
t = sa[0]
if (t["ss"], t["ds"], t["dc"]) != (1, 0, A) or t["chan"] != t["sc"] or t["ack"] != (isn_a + 1) % M:
    die("SYN-ACK: %s (want 1:B to 0:%d, CHAN = B, ack = ISN + 1 = %d)" % (t, A, isn_a + 1))
B, isn_b = t["sc"], t["seq"]
if s["srel"] != 0 or t["srel"] != 0 or t["arel"] != 1:
    die("relative numbers: SYN seq %s, SYN-ACK seq %s ack %s (want 0, 0, 1)" % (s["srel"], t["srel"], t["arel"]))
top = {A: 0, B: 0}   # highest next sequence, relative to the ISN + 1
acked = {A: 0, B: 0} # highest ACK each side received from the other, relative
have = []            # data ranges from A
retx = 0
for f in fr:
    if f["fl"] & 0x02:
        continue
    if (f["ss"], f["sc"], f["ds"], f["dc"]) == (0, A, 1, B):
        me, isn, peer_isn = A, isn_a, isn_b
    elif (f["ss"], f["sc"], f["ds"], f["dc"]) == (1, B, 0, A):
        me, isn, peer_isn = B, isn_b, isn_a
    else:
        die("frame %d: %d:%d -> %d:%d is not the connection's" % (f["n"], f["ss"], f["sc"], f["ds"], f["dc"]))
    rel = (f["seq"] - isn - 1) % M
    if f["srel"] != rel + 1:
        die("frame %d: relative seq %s, want %d" % (f["n"], f["srel"], rel + 1))
    if f["fl"] & 0x10 and f["arel"] != (f["ack"] - peer_isn) % M:
        die("frame %d: relative ack %s, want %d" % (f["n"], f["arel"], (f["ack"] - peer_isn) % M))
    end = rel + f["len"] + (1 if f["fl"] & 0x01 else 0)
    if rel > top[me] and not LOST:
        die("frame %d: seq %d leaves a hole (next expected %d)" % (f["n"], f["seq"], (isn + 1 + top[me]) % M))
    if rel < top[me]:
        retx += 1
    top[me] = max(top[me], end)
    if me == A and f["len"]:
        have.append((rel, rel + f["len"]))
    if f["fl"] & 0x10:
        a = (f["ack"] - peer_isn - 1) % M
        other = B if me == A else A
        if a > (N + 1 if me == B else 1):
            die("frame %d: ack %d beyond the peer's stream" % (f["n"], f["ack"]))
        acked[other] = max(acked[other], a)
if top[A] != N + 1 and not LOST:
    die("the sender's stream ends at %d, want %d bytes and the FIN" % (top[A], N))
have.sort()
pos = 0
for a, b in have:
    if a > pos and not LOST:
        die("bytes %d..%d never sent" % (pos, a))
    pos = max(pos, b)
if pos != N and not LOST:
    die("bytes sent up to %d of %d" % (pos, N))
if (acked[A] != N + 1 or acked[B] != top[B]) and not LOST:
    die("final ACKs: %d of %d from the receiver, %d of %d from the sender" % (acked[A], N + 1, acked[B], top[B]))
print("%d frames: SYN 0:%d -> 1:5300, SYN-ACK from 1:%d, %d data bytes in sequence from ISN %d, "
      "%d retransmitted, FIN acknowledged, relative seq and ack right, header check and CRC good and no warning on every frame%s"
      % (len(fr), A, B, N, isn_a, retx, " (the monitor lost %d frames: holes allowed)" % LOST if LOST else ""))
EOF
run "$PY" "$TMPD/rbs_check.py" "$TMPD/rbs.txt" "$N" "${DROPPED:-0}"
[ "$RC" = 0 ] || fail "RBS capture: $OUT"
ok "RBS capture: $OUT"

# -- TCP: jet perf --proto tcp -n 1M from station 0 to station 1 --
C=$TMPD/tcp.pcapng
dump_start "$C"
bg_start SRV "$TMPD/s.out" "$TMPD/s.err" 60 "$JET" perf --proto tcp -s --link "lan:$L" --station 1
SRVPID=$JETPID
wait_grep "$TMPD/s.out" "listening on 198.18.0.2 port 5201" 10 || { dump "$TMPD/s.out" "$TMPD/s.err"; fail "perf server did not start"; }
check_ok "jet perf --proto tcp -n 1M" "$JET" perf --proto tcp -c --to 1 --link "$(send_link "$C")" --station 0 -n 1M --json
expect_jq '.bytes == 1048576' "perf: 1 MiB sent"
kill -TERM "$SRVPID"
wait_exit "$SRV" 10 || fail "perf server did not stop"
dump_stop
cap_ok "$C"
CK=(-o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE)
if [ "$MODE" = wrap ]; then
	# the wrapper records what the station sends: on the LAN (caps.csum) a TCP checksum
	# left partial, as a capture on a host with checksum offload; jet dump's LAN monitor
	# completes it
	info "capture: wrapper: TCP checksums not checked (left partial on the LAN, caps.csum)"
	CK=(-o tcp.check_checksum:FALSE -o ip.check_checksum:TRUE -o udp.check_checksum:FALSE)
fi
ts "${CK[@]}" -r "$C" -Y "ip.checksum_bad.expert || tcp.checksum_bad.expert || _ws.malformed || jetstream.hdr_check.status != 1 || jetstream.crc.status == 0" \
	-T fields -e frame.number -e _ws.col.Info
[ -z "$OUT" ] || fail "TCP capture: bad checksums or malformed frames: $(printf '%s' "$OUT" | head -5)"
ts "${CK[@]}" -r "$C" -Y tcp -T fields -e tcp.checksum.status -e ip.checksum.status -e tcp.dstport -e tcp.len
st=$(printf '%s\n' "$OUT" | cut -f1,2 | sort | uniq -c | awk '{ s = s (NR > 1 ? ", " : "") $2 "/" $3 " x " $1 } END { print s }')
want="^1	1	"
[ "$MODE" = wrap ] && want="^2	1	"
if [ -z "$OUT" ] || printf '%s\n' "$OUT" | grep -qv "$want"; then
	fail "TCP capture: checksum status (tcp/ip) $st, want all 1/1 (good)"
fi
sent=$(printf '%s\n' "$OUT" | awk -F'\t' '$3 == 5201 { s += $4; if ($4 > 0) n++ } END { print s + 0, n + 0 }')
[ "${sent% *}" -ge $N ] || fail "TCP capture: ${sent% *} payload bytes to port 5201, want at least $N"
ok "TCP capture: ${sent#* } data segments, ${sent% *} bytes to port 5201; checksums (tcp/ip) $st; no bad checksum or malformed frame"
done_ok
