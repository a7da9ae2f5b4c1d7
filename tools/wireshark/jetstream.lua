-- Wireshark dissector for Jetstream frames (docs/frame-format.md) and the RBS
-- segments they carry (docs/rbs.md).  Lua 5.2 (Wireshark 4.0 on Debian 12).
-- Install and fields: docs/wireshark.md.
--
-- Where a Jetstream frame is found:
--   * pcapng interfaces of link type LINKTYPE_USER0 (147): a native frame, as
--     `jet dump -w` writes them (include/jet/capture.h);
--   * Ethernet II frames of EtherType 0x88B5 (packet:, xdp: links);
--   * UDP port 7475 (udp: link, docs/link-udp.md): the datagram is a native
--     frame (first byte 0x01) or 0x80 0x00 and an Ethernet frame.
--
-- What a frame's payload is: RBS when its destination channel is in the
-- "RBS channels" preference, or (heuristic, on by default) when it carries a
-- payload CRC and begins with a well-formed RBS fixed header (version 1, only
-- known flag bits in a valid combination, header length 6..15 words within
-- the payload, reserved bytes zero).  Frames carrying IPv4 or Ethernet
-- (channels in "Ethernet channels", or an IPv4 header whose total length is
-- the payload length) go to Wireshark's own dissectors; the rest is data.
-- Other dissectors may claim channels through the "jetstream.channel" table.
--
-- Checks: the header check (CRC32C of bytes 0..19) and the payload CRC are
-- computed here (table-driven CRC32C, slicing by 4).  Status fields, numbered
-- as Wireshark's own checksum statuses: 0 bad, 1 good, 2 unverified (bytes cut
-- by the snap length, header check failed, or verification off), 3 none (no
-- flag CRC).

local bxor, band = bit32.bxor, bit32.band
local sbyte = string.byte

----------------------------------------------------------------------------
-- CRC32C (Castagnoli, reflected 0x82F63B78, init and final xor 0xFFFFFFFF)
----------------------------------------------------------------------------
local T0, T1, T2, T3 = {}, {}, {}, {}
do
    for i = 0, 255 do
        local c = i
        for _ = 1, 8 do
            if c % 2 == 1 then
                c = bxor((c - 1) / 2, 0x82F63B78)
            else
                c = c / 2
            end
        end
        T0[i] = c
    end
    for i = 0, 255 do
        local c = T0[i]
        c = bxor((c - c % 256) / 256, T0[c % 256]); T1[i] = c
        c = bxor((c - c % 256) / 256, T0[c % 256]); T2[i] = c
        c = bxor((c - c % 256) / 256, T0[c % 256]); T3[i] = c
    end
end

-- Continues crc (the raw register, before the final xor) over string s.
local function crc32c_update(crc, s)
    local n = #s
    local i = 1
    local a, b, c, d
    -- 16 bytes per string.byte call, 4 per table round
    while i + 15 <= n do
        local b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16 =
            sbyte(s, i, i + 15)
        c = bxor(crc, b1 + b2 * 256 + b3 * 65536 + b4 * 16777216)
        a = c % 256; c = (c - a) / 256; b = c % 256; c = (c - b) / 256; d = c % 256
        crc = bxor(T3[a], T2[b], T1[d], T0[(c - d) / 256])
        c = bxor(crc, b5 + b6 * 256 + b7 * 65536 + b8 * 16777216)
        a = c % 256; c = (c - a) / 256; b = c % 256; c = (c - b) / 256; d = c % 256
        crc = bxor(T3[a], T2[b], T1[d], T0[(c - d) / 256])
        c = bxor(crc, b9 + b10 * 256 + b11 * 65536 + b12 * 16777216)
        a = c % 256; c = (c - a) / 256; b = c % 256; c = (c - b) / 256; d = c % 256
        crc = bxor(T3[a], T2[b], T1[d], T0[(c - d) / 256])
        c = bxor(crc, b13 + b14 * 256 + b15 * 65536 + b16 * 16777216)
        a = c % 256; c = (c - a) / 256; b = c % 256; c = (c - b) / 256; d = c % 256
        crc = bxor(T3[a], T2[b], T1[d], T0[(c - d) / 256])
        i = i + 16
    end
    while i <= n do
        crc = bxor(T0[band(bxor(crc, sbyte(s, i)), 0xFF)], (crc - crc % 256) / 256)
        i = i + 1
    end
    return crc
end

local function crc32c(s)
    return bxor(crc32c_update(0xFFFFFFFF, s), 0xFFFFFFFF)
end

assert(crc32c("123456789") == 0xE3069283, "jetstream.lua: CRC32C self-test failed")

-- CRC32C of a TvbRange, in pieces (a 64 KiB payload is one string at most).
local function crc32c_range(tvb, off, len)
    if len == 0 then return crc32c("") end
    return crc32c(tvb:raw(off, len))
end

----------------------------------------------------------------------------
-- Preferences' channel ranges ("5201,5300-5310")
----------------------------------------------------------------------------
local function parse_ranges(s)
    local r = {}
    for part in string.gmatch(s or "", "[^,%s]+") do
        local lo, hi = string.match(part, "^(%d+)%-(%d+)$")
        if lo then
            r[#r + 1] = {tonumber(lo), tonumber(hi)}
        elseif string.match(part, "^%d+$") then
            r[#r + 1] = {tonumber(part), tonumber(part)}
        end
    end
    return r
end

local function in_ranges(r, v)
    for _, p in ipairs(r) do
        if v >= p[1] and v <= p[2] then return true end
    end
    return false
end

----------------------------------------------------------------------------
-- Protocols and fields
----------------------------------------------------------------------------
local jet = Proto("jetstream", "Jetstream")
local rbs = Proto("rbs", "Jetstream Reliable Byte Stream")
local jet_udp = Proto("jetstream_udp", "Jetstream over UDP")

local STATUS = {[0] = "bad", [1] = "good", [2] = "unverified", [3] = "none"}
local S_BAD, S_GOOD, S_UNVERIFIED, S_NONE = 0, 1, 2, 3
local BROADCAST = 0xFFFF

local F = {
    version = ProtoField.uint8("jetstream.version", "Version", base.DEC),
    flags = ProtoField.uint8("jetstream.flags", "Flags", base.HEX),
    f_crc = ProtoField.bool("jetstream.flags.crc", "CRC (payload CRC follows)", 8, nil, 0x01),
    f_crc_bad = ProtoField.bool("jetstream.flags.crc_bad", "CRC_BAD (forwarded damaged)", 8, nil, 0x02),
    f_prio = ProtoField.uint8("jetstream.flags.priority", "Priority", base.DEC, nil, 0x1C),
    f_rsvd = ProtoField.uint8("jetstream.flags.reserved", "Reserved flag bits", base.HEX, nil, 0xE0),
    src_station = ProtoField.uint16("jetstream.src_station", "Source station", base.DEC),
    dst_station = ProtoField.uint16("jetstream.dst_station", "Destination station", base.DEC),
    station = ProtoField.uint16("jetstream.station", "Station (source or destination)", base.DEC),
    reserved = ProtoField.uint16("jetstream.reserved", "Reserved", base.HEX),
    dst_channel = ProtoField.uint32("jetstream.dst_channel", "Destination channel", base.DEC),
    src_channel = ProtoField.uint32("jetstream.src_channel", "Source channel", base.DEC),
    channel = ProtoField.uint32("jetstream.channel", "Channel (source or destination)", base.DEC),
    len = ProtoField.uint32("jetstream.len", "Payload length", base.DEC),
    hdr_check = ProtoField.uint32("jetstream.hdr_check", "Header check", base.HEX),
    hdr_check_status = ProtoField.uint8("jetstream.hdr_check.status", "Header check status",
                                        base.DEC, STATUS),
    hdr_check_calc = ProtoField.uint32("jetstream.hdr_check.calculated",
                                       "Header check (calculated)", base.HEX),
    payload = ProtoField.bytes("jetstream.payload", "Payload"),
    crc = ProtoField.uint32("jetstream.crc", "Payload CRC", base.HEX),
    crc_status = ProtoField.uint8("jetstream.crc.status", "Payload CRC status", base.DEC, STATUS),
    crc_calc = ProtoField.uint32("jetstream.crc.calculated", "Payload CRC (calculated)", base.HEX),
    frame_len = ProtoField.uint32("jetstream.frame_len", "Frame length", base.DEC),
    trailer = ProtoField.bytes("jetstream.trailer", "Bytes after the frame (ignored)"),
}
jet.fields = {F.version, F.flags, F.f_crc, F.f_crc_bad, F.f_prio, F.f_rsvd, F.src_station,
              F.dst_station, F.station, F.reserved, F.dst_channel, F.src_channel, F.channel,
              F.len, F.hdr_check, F.hdr_check_status, F.hdr_check_calc, F.payload, F.crc,
              F.crc_status, F.crc_calc, F.frame_len, F.trailer}

local E = {
    short = ProtoExpert.new("jetstream.short", "Frame shorter than the 24-byte header",
                            expert.group.MALFORMED, expert.severity.ERROR),
    hdr_bad = ProtoExpert.new("jetstream.hdr_check.bad", "Bad header check",
                              expert.group.CHECKSUM, expert.severity.ERROR),
    version = ProtoExpert.new("jetstream.version.unsupported", "Unsupported frame version",
                              expert.group.PROTOCOL, expert.severity.WARN),
    reserved = ProtoExpert.new("jetstream.reserved.nonzero",
                               "Reserved bits or field not zero (malformed)",
                               expert.group.MALFORMED, expert.severity.ERROR),
    oversize = ProtoExpert.new("jetstream.len.oversize", "Payload length over 65536 (malformed)",
                               expert.group.MALFORMED, expert.severity.ERROR),
    beyond = ProtoExpert.new("jetstream.len.beyond", "Frame length beyond the bytes of the frame",
                             expert.group.MALFORMED, expert.severity.ERROR),
    snap = ProtoExpert.new("jetstream.snaplen", "Frame cut by the snap length: payload CRC not verified",
                           expert.group.UNDECODED, expert.severity.NOTE),
    crc_bad = ProtoExpert.new("jetstream.crc.bad", "Bad payload CRC",
                              expert.group.CHECKSUM, expert.severity.ERROR),
    crc_bad_flag = ProtoExpert.new("jetstream.flags.crc_bad.set",
                                   "Frame marked damaged (CRC_BAD) by a forwarder",
                                   expert.group.CHECKSUM, expert.severity.WARN),
    trailer = ProtoExpert.new("jetstream.trailer.present", "Bytes after the frame (ignored)",
                              expert.group.PROTOCOL, expert.severity.NOTE),
}
jet.experts = {E.short, E.hdr_bad, E.version, E.reserved, E.oversize, E.beyond, E.snap,
               E.crc_bad, E.crc_bad_flag, E.trailer}

jet.prefs.rbs_channels = Pref.string("RBS channels", "",
    "Destination channels whose payload is always decoded as RBS, e.g. 5201,5300-5310")
jet.prefs.rbs_heur = Pref.bool("Detect RBS", true,
    "Decode as RBS a payload with a payload CRC that starts with a well-formed RBS header")
jet.prefs.eth_channels = Pref.string("Ethernet channels", "",
    "Destination channels whose payload is an Ethernet frame")
jet.prefs.ip_heur = Pref.bool("Detect IPv4", true,
    "Hand to IPv4 a payload that starts with an IPv4 header whose total length is the payload length")
jet.prefs.check_crc = Pref.bool("Verify payload CRC", true,
    "Compute the payload CRC32C (the header check is always verified)")
jet.prefs.udp_port = Pref.uint("UDP port", 7475, "UDP port of the udp: link")

local rbs_chans, eth_chans = {}, {}
local udp_port_registered = nil

local channel_table = DissectorTable.new("jetstream.channel", "Jetstream destination channel",
                                         ftypes.UINT32, base.DEC, jet)

----------------------------------------------------------------------------
-- RBS fields
----------------------------------------------------------------------------
local RBS_FIN, RBS_SYN, RBS_RST, RBS_ACK = 0x01, 0x02, 0x04, 0x10
local OPT_NAMES = {[0] = "END", [1] = "PAD", [2] = "MSS", [3] = "WSCALE", [4] = "SACK", [5] = "CHAN"}

local R = {
    version = ProtoField.uint8("rbs.version", "Version", base.DEC),
    flags = ProtoField.uint8("rbs.flags", "Flags", base.HEX),
    f_fin = ProtoField.bool("rbs.flags.fin", "FIN", 8, nil, RBS_FIN),
    f_syn = ProtoField.bool("rbs.flags.syn", "SYN", 8, nil, RBS_SYN),
    f_rst = ProtoField.bool("rbs.flags.rst", "RST", 8, nil, RBS_RST),
    f_ack = ProtoField.bool("rbs.flags.ack", "ACK", 8, nil, RBS_ACK),
    f_rsvd = ProtoField.uint8("rbs.flags.reserved", "Reserved flag bits", base.HEX, nil, 0xE8),
    flags_str = ProtoField.string("rbs.flags.str", "Flags"),
    hdr_len = ProtoField.uint8("rbs.hdr_len", "Header length (bytes)", base.DEC),
    reserved1 = ProtoField.uint8("rbs.reserved1", "Reserved (byte 3)", base.HEX),
    seq = ProtoField.uint32("rbs.seq", "Sequence number", base.DEC),
    ack = ProtoField.uint32("rbs.ack", "Acknowledgement number", base.DEC),
    nxtseq = ProtoField.uint32("rbs.nxtseq", "Next sequence number", base.DEC),
    seq_rel = ProtoField.uint32("rbs.seq_rel", "Sequence number (relative to the SYN)", base.DEC),
    ack_rel = ProtoField.uint32("rbs.ack_rel", "Acknowledgement number (relative to the peer's SYN)", base.DEC),
    window = ProtoField.uint16("rbs.window", "Window (unscaled)", base.DEC),
    window_size = ProtoField.uint32("rbs.window_size", "Window (bytes, scaled)", base.DEC),
    reserved2 = ProtoField.uint16("rbs.reserved2", "Reserved (bytes 14-15)", base.HEX),
    tsval = ProtoField.uint32("rbs.tsval", "Timestamp value (us)", base.DEC),
    tsecr = ProtoField.uint32("rbs.tsecr", "Timestamp echo reply (us)", base.DEC),
    options = ProtoField.bytes("rbs.options", "Options"),
    opt_kind = ProtoField.uint8("rbs.option.kind", "Kind", base.DEC, OPT_NAMES),
    opt_len = ProtoField.uint8("rbs.option.len", "Length", base.DEC),
    mss = ProtoField.uint32("rbs.option.mss", "MSS", base.DEC),
    wscale = ProtoField.uint8("rbs.option.wscale", "Window scale (shift)", base.DEC),
    chan = ProtoField.uint32("rbs.option.chan", "Connection channel", base.DEC),
    sack_start = ProtoField.uint32("rbs.option.sack.start", "SACK start", base.DEC),
    sack_end = ProtoField.uint32("rbs.option.sack.end", "SACK end", base.DEC),
    len = ProtoField.uint32("rbs.len", "Payload length", base.DEC),
    payload = ProtoField.bytes("rbs.payload", "Payload"),
}
rbs.fields = {R.version, R.flags, R.f_fin, R.f_syn, R.f_rst, R.f_ack, R.f_rsvd, R.flags_str,
              R.hdr_len, R.reserved1, R.seq, R.ack, R.nxtseq, R.seq_rel, R.ack_rel, R.window, R.window_size,
              R.reserved2, R.tsval, R.tsecr, R.options, R.opt_kind, R.opt_len, R.mss,
              R.wscale, R.chan, R.sack_start, R.sack_end, R.len, R.payload}

local RE = {
    malformed = ProtoExpert.new("rbs.malformed", "Malformed RBS segment",
                                expert.group.MALFORMED, expert.severity.ERROR),
    option = ProtoExpert.new("rbs.option.bad", "Bad RBS option",
                             expert.group.MALFORMED, expert.severity.ERROR),
    no_crc = ProtoExpert.new("rbs.no_crc", "RBS segment in a frame without payload CRC (receivers drop it)",
                             expert.group.PROTOCOL, expert.severity.WARN),
    conn = ProtoExpert.new("rbs.connection", "Connection event",
                           expert.group.SEQUENCE, expert.severity.CHAT),
}
rbs.experts = {RE.malformed, RE.option, RE.no_crc, RE.conn}

-- Window shift and initial sequence number learnt from each sender's SYN:
-- key "station:channel" -> value; per frame number the values used, so that
-- a second pass shows the same.  A connection's frames go from its channel
-- to the peer's (the SYN alone goes to the listener's channel), so a frame's
-- ACK is relative to the ISN of the key "dst_station:dst_channel".
local wscale_of, frame_shift, isn_of, frame_isn = {}, {}, {}, {}

function jet.init()
    rbs_chans = parse_ranges(jet.prefs.rbs_channels)
    eth_chans = parse_ranges(jet.prefs.eth_channels)
    wscale_of, frame_shift, isn_of, frame_isn = {}, {}, {}, {}
end

function jet.prefs_changed()
    rbs_chans = parse_ranges(jet.prefs.rbs_channels)
    eth_chans = parse_ranges(jet.prefs.eth_channels)
    local udp = DissectorTable.get("udp.port")
    if udp_port_registered ~= jet.prefs.udp_port then
        if udp_port_registered then udp:remove(udp_port_registered, jet_udp) end
        udp_port_registered = jet.prefs.udp_port
        if udp_port_registered ~= 0 then udp:add(udp_port_registered, jet_udp) end
    end
end

local function flag_names(f)
    local t = {}
    if band(f, RBS_SYN) ~= 0 then t[#t + 1] = "SYN" end
    if band(f, RBS_FIN) ~= 0 then t[#t + 1] = "FIN" end
    if band(f, RBS_RST) ~= 0 then t[#t + 1] = "RST" end
    if band(f, RBS_ACK) ~= 0 then t[#t + 1] = "ACK" end
    if band(f, 0xE8) ~= 0 then t[#t + 1] = string.format("0x%02x", band(f, 0xE8)) end
    return table.concat(t, ",")
end

-- docs/rbs.md 2.1: the reason a flag combination is malformed, or nil.
local function rbs_flags_error(f, paylen)
    if band(f, RBS_SYN) ~= 0 and band(f, RBS_FIN + RBS_RST) ~= 0 then return "SYN with FIN or RST" end
    if band(f, RBS_RST) ~= 0 and band(f, RBS_FIN) ~= 0 then return "RST with FIN" end
    if band(f, RBS_ACK + RBS_SYN + RBS_RST) == 0 then return "none of ACK, SYN, RST" end
    if band(f, RBS_SYN + RBS_RST) ~= 0 and paylen > 0 then return "payload on SYN or RST" end
    return nil
end

-- Whether the first bytes of a payload (captured in tvb, plen its real
-- length) look like an RBS header: checks 1-5 of docs/rbs.md 2.3.
local function rbs_looks_valid(tvb, plen)
    if plen < 24 or tvb:len() < 24 then return false end
    if tvb(0, 1):uint() ~= 1 then return false end
    local f, hw = tvb(1, 1):uint(), tvb(2, 1):uint()
    if band(f, 0xE8) ~= 0 or tvb(3, 1):uint() ~= 0 or tvb(14, 2):uint() ~= 0 then return false end
    if hw < 6 or hw > 15 or hw * 4 > plen then return false end
    return rbs_flags_error(f, plen - hw * 4) == nil
end

-- The options of an RBS header (tvb bytes 24 .. hl-1).
local function rbs_options(tvb, tree, hl, f, info)
    local ot = tree:add(R.options, tvb(24, hl - 24))
    local off, seen = 24, {}
    while off < hl do
        local kind = tvb(off, 1):uint()
        if kind == 1 then
            ot:add(R.opt_kind, tvb(off, 1))
            off = off + 1
        elseif kind == 0 then
            local it = ot:add(R.opt_kind, tvb(off, 1))
            for i = off + 1, hl - 1 do
                if tvb(i, 1):uint() ~= 0 then
                    it:add_proto_expert_info(RE.option, "non-zero byte after END")
                    break
                end
            end
            break
        else
            if off + 1 >= hl then
                ot:add_proto_expert_info(RE.option, "option length missing")
                break
            end
            local olen = tvb(off + 1, 1):uint()
            if olen < 2 or off + olen > hl then
                ot:add_proto_expert_info(RE.option, "option length " .. olen .. " does not fit")
                break
            end
            local name = OPT_NAMES[kind] or ("kind " .. kind)
            local st = ot:add(tvb(off, olen), "Option: " .. name)
            st:add(R.opt_kind, tvb(off, 1))
            st:add(R.opt_len, tvb(off + 1, 1))
            if seen[kind] and OPT_NAMES[kind] then
                st:add_proto_expert_info(RE.option, "duplicate " .. name)
            end
            seen[kind] = true
            local syn_only = (kind == 2 or kind == 3 or kind == 5)
            if syn_only and band(f, RBS_SYN) == 0 then
                st:add_proto_expert_info(RE.option, name .. " outside a SYN")
            end
            if kind == 2 then
                if olen == 6 then
                    local v = tvb(off + 2, 4):uint()
                    local it = st:add(R.mss, tvb(off + 2, 4))
                    if v < 64 or v > 65512 then it:add_proto_expert_info(RE.option, "MSS out of 64..65512") end
                    info[#info + 1] = "mss=" .. v
                else
                    st:add_proto_expert_info(RE.option, "MSS length must be 6")
                end
            elseif kind == 3 then
                if olen == 3 then
                    local v = tvb(off + 2, 1):uint()
                    local it = st:add(R.wscale, tvb(off + 2, 1))
                    if v > 14 then it:add_proto_expert_info(RE.option, "window shift over 14") end
                    info[#info + 1] = "ws=" .. v
                else
                    st:add_proto_expert_info(RE.option, "WSCALE length must be 3")
                end
            elseif kind == 5 then
                if olen == 6 then
                    local v = tvb(off + 2, 4):uint()
                    local it = st:add(R.chan, tvb(off + 2, 4))
                    if v == 0 then it:add_proto_expert_info(RE.option, "CHAN 0") end
                    info[#info + 1] = "chan=" .. v
                else
                    st:add_proto_expert_info(RE.option, "CHAN length must be 6")
                end
            elseif kind == 4 then
                local n = (olen - 2) / 8
                if olen == 2 or (olen - 2) % 8 ~= 0 or n > 4 then
                    st:add_proto_expert_info(RE.option, "SACK length must be 2 + 8n, n 1..4")
                else
                    local blocks = {}
                    for k = 0, n - 1 do
                        local p = off + 2 + 8 * k
                        st:add(R.sack_start, tvb(p, 4))
                        st:add(R.sack_end, tvb(p + 4, 4))
                        blocks[#blocks + 1] = tvb(p, 4):uint() .. "-" .. tvb(p + 4, 4):uint()
                    end
                    info[#info + 1] = "sack=" .. table.concat(blocks, ",")
                end
            end
            off = off + olen
        end
    end
    return seen
end

-- An RBS segment: tvb is the frame payload as captured, plen its real length,
-- ctx the frame (key of the sender, CRC flag).  Returns the Info summary.
local function dissect_rbs(tvb, pinfo, tree, plen, ctx)
    local avail = tvb:len()
    local t = tree:add(rbs, tvb(0, math.min(avail, plen)))
    if not ctx.has_crc then t:add_proto_expert_info(RE.no_crc) end
    if plen < 24 or avail < 24 then
        t:add_proto_expert_info(RE.malformed, "shorter than the 24-byte RBS header")
        return "[RBS malformed]"
    end
    local f, hw = tvb(1, 1):uint(), tvb(2, 1):uint()
    local hl = hw * 4
    t:add(R.version, tvb(0, 1))
    local ft = t:add(R.flags, tvb(1, 1))
    ft:append_text(" (" .. flag_names(f) .. ")")
    ft:add(R.f_fin, tvb(1, 1)); ft:add(R.f_syn, tvb(1, 1)); ft:add(R.f_rst, tvb(1, 1))
    ft:add(R.f_ack, tvb(1, 1)); ft:add(R.f_rsvd, tvb(1, 1))
    t:add(R.flags_str, tvb(1, 1), flag_names(f))
    local hi = t:add(R.hdr_len, tvb(2, 1), hl)
    hi:append_text(" (" .. hw .. " words)")
    local r1 = t:add(R.reserved1, tvb(3, 1))
    local seq, ack = tvb(4, 4):uint(), tvb(8, 4):uint()
    t:add(R.seq, tvb(4, 4))
    t:add(R.ack, tvb(8, 4))
    local wi = t:add(R.window, tvb(12, 2))
    local r2 = t:add(R.reserved2, tvb(14, 2))
    t:add(R.tsval, tvb(16, 4))
    t:add(R.tsecr, tvb(20, 4))

    local bad = nil
    if tvb(0, 1):uint() ~= 1 then bad = "version " .. tvb(0, 1):uint() .. " (not 1)" end
    if not bad and (band(f, 0xE8) ~= 0 or tvb(3, 1):uint() ~= 0 or tvb(14, 2):uint() ~= 0) then
        bad = "reserved bits or bytes not zero"
        if tvb(3, 1):uint() ~= 0 then r1:add_proto_expert_info(RE.malformed, bad) end
        if tvb(14, 2):uint() ~= 0 then r2:add_proto_expert_info(RE.malformed, bad) end
    end
    if not bad and (hw < 6 or hw > 15) then bad = "header length " .. hw .. " words (6..15)" end
    if not bad and hl > plen then bad = "header length " .. hl .. " beyond the " .. plen .. "-byte segment" end
    local paylen = (hl <= plen and hw >= 6) and (plen - hl) or 0
    if not bad then
        local fe = rbs_flags_error(f, paylen)
        if fe then bad = "flags: " .. fe end
    end

    local info = {}
    if hw >= 6 and hl <= avail then
        local seen = (hw > 6) and rbs_options(tvb, t, hl, f, info) or {}
        if band(f, RBS_SYN) ~= 0 and not (seen[2] and seen[3] and seen[5]) then
            t:add_proto_expert_info(RE.option, "SYN without MSS, WSCALE and CHAN")
        end
    end
    t:add(R.len, paylen):set_generated()
    local nxt = (seq + paylen + (band(f, RBS_SYN) ~= 0 and 1 or 0) + (band(f, RBS_FIN) ~= 0 and 1 or 0)) % 4294967296
    t:add(R.nxtseq, nxt):set_generated()

    -- window scaling, learnt from the sender's SYN
    local shift = frame_shift[pinfo.number]
    if shift == nil and not pinfo.visited then
        if band(f, RBS_SYN) ~= 0 then
            for _, s in ipairs(info) do
                local v = string.match(s, "^ws=(%d+)$")
                if v then wscale_of[ctx.key] = tonumber(v) end
            end
        end
        shift = wscale_of[ctx.key]
        frame_shift[pinfo.number] = shift or false
    end
    -- relative sequence numbers (the SYN is 0, the first byte 1), as Wireshark's TCP
    local isns = frame_isn[pinfo.number]
    if isns == nil and not pinfo.visited then
        if band(f, RBS_SYN) ~= 0 and not bad then isn_of[ctx.key] = seq end
        isns = {isn_of[ctx.key] or false, isn_of[ctx.peer] or false}
        frame_isn[pinfo.number] = isns
    end
    if isns and isns[1] then
        t:add(R.seq_rel, (seq - isns[1]) % 4294967296):set_generated()
    end
    if isns and isns[2] and band(f, RBS_ACK) ~= 0 then
        t:add(R.ack_rel, (ack - isns[2]) % 4294967296):set_generated()
    end

    local win = tvb(12, 2):uint()
    if shift then
        local ws = t:add(R.window_size, win * 2 ^ shift)
        ws:set_generated()
        ws:append_text(" (shift " .. shift .. ")")
    end

    if paylen > 0 and hl < avail then
        t:add(R.payload, tvb(hl, math.min(avail - hl, paylen)))
    end
    if bad then t:add_proto_expert_info(RE.malformed, bad) end
    if band(f, RBS_SYN + RBS_FIN + RBS_RST) ~= 0 then
        t:add_proto_expert_info(RE.conn, "RBS " .. flag_names(f))
    end

    t:append_text(string.format(", %s, Seq: %u, Ack: %u, Len: %u", flag_names(f), seq, ack, paylen))
    pinfo.cols.protocol:set("RBS")
    local s = string.format("[RBS %s seq=%u ack=%u win=%u len=%u", flag_names(f), seq, ack, win, paylen)
    if #info > 0 then s = s .. " " .. table.concat(info, " ") end
    if bad then s = s .. " MALFORMED" end
    return s .. "]"
end

----------------------------------------------------------------------------
-- The Jetstream frame
----------------------------------------------------------------------------
local ip_dissector = Dissector.get("ip")
local eth_dissector = Dissector.get("eth_withoutfcs")
local data_dissector = Dissector.get("data")

-- Dissects the native frame at the start of tvb. native: the frame is the
-- whole packet (USER0), so the address columns are set from it. Returns the
-- bytes taken (the frame length, or what there is).
local function dissect_frame(tvb, pinfo, tree, native)
    local cap, rep = tvb:len(), tvb:reported_length_remaining()
    pinfo.cols.protocol:set("Jetstream")
    if rep < 24 then
        local t = tree:add(jet, tvb(0, cap))
        t:add_proto_expert_info(E.short, string.format("Frame of %d bytes, shorter than the 24-byte header", rep))
        pinfo.cols.info:set(string.format("Jetstream malformed: %d bytes", rep))
        return cap
    end
    if cap < 24 then
        local t = tree:add(jet, tvb(0, cap))
        t:add_proto_expert_info(E.snap, string.format("Header cut by the snap length (%d of %d bytes)", cap, rep))
        pinfo.cols.info:set(string.format("Jetstream: %d bytes captured of %d", cap, rep))
        return cap
    end
    local ver, fl = tvb(0, 1):uint(), tvb(1, 1):uint()
    local src_st, dst_st, rsvd = tvb(2, 2):uint(), tvb(4, 2):uint(), tvb(6, 2):uint()
    local dch, sch, plen = tvb(8, 4):uint(), tvb(12, 4):uint(), tvb(16, 4):uint()
    local has_crc = band(fl, 0x01) ~= 0
    local flen = 24 + plen + (has_crc and 4 or 0)

    local t = tree:add(jet, tvb(0, math.min(cap, flen)))
    t:add(F.version, tvb(0, 1))
    local ft = t:add(F.flags, tvb(1, 1))
    ft:add(F.f_crc, tvb(1, 1)); ft:add(F.f_crc_bad, tvb(1, 1))
    ft:add(F.f_prio, tvb(1, 1)); local fr = ft:add(F.f_rsvd, tvb(1, 1))
    t:add(F.src_station, tvb(2, 2))
    local dsi = t:add(F.dst_station, tvb(4, 2))
    if dst_st == BROADCAST then dsi:append_text(" (broadcast)") end
    t:add(F.station, tvb(2, 2)):set_hidden()
    t:add(F.station, tvb(4, 2)):set_hidden()
    local ri = t:add(F.reserved, tvb(6, 2))
    t:add(F.dst_channel, tvb(8, 4))
    t:add(F.src_channel, tvb(12, 4))
    t:add(F.channel, tvb(8, 4)):set_hidden()
    t:add(F.channel, tvb(12, 4)):set_hidden()
    local li = t:add(F.len, tvb(16, 4))

    -- rule 2: the header check, before any field is trusted
    local hc = tvb(20, 4):uint()
    local hc_calc = crc32c(tvb:raw(0, 20))
    local hci = t:add(F.hdr_check, tvb(20, 4))
    local hdr_ok = (hc == hc_calc)
    t:add(F.hdr_check_status, hdr_ok and S_GOOD or S_BAD):set_generated()
    if not hdr_ok then
        t:add(F.hdr_check_calc, hc_calc):set_generated()
        hci:append_text(string.format(" [incorrect, should be 0x%08x]", hc_calc))
        hci:add_proto_expert_info(E.hdr_bad)
    else
        hci:append_text(" [correct]")
    end
    t:append_text(string.format(", %d:%d -> %d:%d, Len: %d", src_st, sch, dst_st, dch, plen))

    local notes = {}
    if ver ~= 1 then t:add_proto_expert_info(E.version, "Version " .. ver .. " (this dissector knows 1)") end
    if band(fl, 0xE0) ~= 0 then fr:add_proto_expert_info(E.reserved); notes[#notes + 1] = "MALFORMED" end
    if rsvd ~= 0 then ri:add_proto_expert_info(E.reserved); notes[#notes + 1] = "MALFORMED" end
    if band(fl, 0x02) ~= 0 then ft:add_proto_expert_info(E.crc_bad_flag); notes[#notes + 1] = "CRC_BAD" end
    local fli = t:add(F.frame_len, flen)
    fli:set_generated()

    local avail_pl = math.max(0, math.min(plen, cap - 24)) -- payload bytes captured
    local whole = true
    if plen > 65536 then
        li:add_proto_expert_info(E.oversize)
        notes[#notes + 1] = "MALFORMED"
        whole = false
    end
    if whole and flen > rep then
        fli:add_proto_expert_info(E.beyond, string.format(
            "Frame length %d beyond the %d bytes of the frame", flen, rep))
        if notes[#notes] ~= "MALFORMED" then notes[#notes + 1] = "MALFORMED" end
        whole = false
    elseif whole and flen > cap then
        t:add_proto_expert_info(E.snap)
        notes[#notes + 1] = "cut"
    end

    -- rule 7: the payload CRC
    local crc_state = S_NONE
    if has_crc then
        if whole and flen <= cap and not hdr_ok then
            -- the length cannot be trusted: the CRC is where it says, unchecked
            t:add(F.crc, tvb(24 + plen, 4))
            crc_state = S_UNVERIFIED
        elseif whole and flen <= cap then
            local crc = tvb(24 + plen, 4):uint()
            local ci = t:add(F.crc, tvb(24 + plen, 4))
            if jet.prefs.check_crc then
                local calc = crc32c_range(tvb, 24, plen)
                crc_state = (crc == calc) and S_GOOD or S_BAD
                if crc_state == S_BAD then
                    t:add(F.crc_calc, calc):set_generated()
                    ci:append_text(string.format(" [incorrect, should be 0x%08x]", calc))
                    ci:add_proto_expert_info(E.crc_bad)
                    notes[#notes + 1] = "BAD CRC"
                else
                    ci:append_text(" [correct]")
                end
            else
                crc_state = S_UNVERIFIED
            end
        else
            crc_state = S_UNVERIFIED
        end
    end
    t:add(F.crc_status, crc_state):set_generated()

    if native then
        pinfo.cols.src:set(tostring(src_st))
        pinfo.cols.dst:set(dst_st == BROADCAST and "broadcast" or tostring(dst_st))
    end
    local info = string.format("%d:%d \226\134\146 %s:%d len %d", src_st, sch,
        dst_st == BROADCAST and "bcast" or tostring(dst_st), dch, plen)
    if not hdr_ok then info = info .. " [BAD HEADER CHECK]" end
    if #notes > 0 then info = info .. " [" .. table.concat(notes, ", ") .. "]" end

    -- the payload: only from a frame whose header holds (rule 2)
    if hdr_ok and plen <= 65536 and avail_pl > 0 then
        local ptvb = tvb(24, avail_pl):tvb()
        local sub = nil
        if in_ranges(rbs_chans, dch) then
            sub = dissect_rbs(ptvb, pinfo, tree, plen, {has_crc = has_crc, key = src_st .. ":" .. sch,
                                                      peer = dst_st .. ":" .. dch})
        elseif in_ranges(eth_chans, dch) and avail_pl >= 14 then
            eth_dissector:call(ptvb, pinfo, tree)
            sub = ""
        elseif channel_table:get_dissector(dch) then
            channel_table:try(dch, ptvb, pinfo, tree)
            sub = ""
        elseif jet.prefs.rbs_heur and has_crc and rbs_looks_valid(ptvb, plen) then
            sub = dissect_rbs(ptvb, pinfo, tree, plen, {has_crc = has_crc, key = src_st .. ":" .. sch,
                                                      peer = dst_st .. ":" .. dch})
        elseif jet.prefs.ip_heur and avail_pl >= 20 and ptvb(0, 1):uint() >= 0x45 and
            ptvb(0, 1):uint() <= 0x4F and ptvb(2, 2):uint() == plen then
            ip_dissector:call(ptvb, pinfo, tree)
            sub = ""
        else
            t:add(F.payload, tvb(24, avail_pl))
        end
        if sub == "" then
            -- a Wireshark dissector wrote the Info column: keep it, prefix ours
            pinfo.cols.info:prepend(info .. " | ")
        elseif sub then
            pinfo.cols.info:set(info .. " " .. sub)
        else
            pinfo.cols.info:set(info)
        end
    else
        if avail_pl > 0 then t:add(F.payload, tvb(24, avail_pl)) end
        pinfo.cols.info:set(info)
    end

    if whole and flen < rep and flen < cap then
        local tr = t:add(F.trailer, tvb(flen, cap - flen))
        if native then tr:add_proto_expert_info(E.trailer) end
        return native and cap or flen
    end
    return math.min(cap, whole and flen or cap)
end

function jet.dissector(tvb, pinfo, tree)
    return dissect_frame(tvb, pinfo, tree, true)
end

-- Over Ethernet (EtherType 0x88B5): the bytes after the frame (the padding up
-- to 60 bytes) show as jetstream.trailer, without an expert note.
local jet_eth = Proto("jetstream_eth", "Jetstream over Ethernet")
function jet_eth.dissector(tvb, pinfo, tree)
    return dissect_frame(tvb, pinfo, tree, false)
end

-- Over UDP: the first byte says what the datagram holds.
local U = {
    shim = ProtoField.uint16("jetstream_udp.shim", "Shim (0x8000: Ethernet frame follows)", base.HEX),
}
jet_udp.fields = {U.shim}
local UE = {
    unknown = ProtoExpert.new("jetstream_udp.unknown", "Neither a native frame (0x01) nor an Ethernet shim (0x80 0x00)",
                              expert.group.PROTOCOL, expert.severity.WARN),
}
jet_udp.experts = {UE.unknown}

function jet_udp.dissector(tvb, pinfo, tree)
    local n = tvb:len()
    if n == 0 then return 0 end
    local b0 = tvb(0, 1):uint()
    if b0 == 0x01 then
        return dissect_frame(tvb, pinfo, tree, false)
    end
    if b0 == 0x80 and n >= 2 and tvb(1, 1):uint() == 0x00 then
        local t = tree:add(jet_udp, tvb(0, 2))
        t:add(U.shim, tvb(0, 2))
        if n > 2 then eth_dissector:call(tvb(2):tvb(), pinfo, tree) end
        return n
    end
    local t = tree:add(jet_udp, tvb())
    t:add_proto_expert_info(UE.unknown)
    pinfo.cols.protocol:set("Jetstream")
    pinfo.cols.info:set(string.format("Jetstream/UDP: unknown datagram (first byte 0x%02x)", b0))
    return n
end

DissectorTable.get("ethertype"):add(0x88B5, jet_eth)
do
    local encaps = wtap_encaps or wtap
    DissectorTable.get("wtap_encap"):add(encaps.USER0, jet)
end
udp_port_registered = 7475
DissectorTable.get("udp.port"):add(udp_port_registered, jet_udp)
