-- tcpstate.lua - TCP State Tracking, the Lua twin of the native tcpstate plugin
--
-- SPDX-License-Identifier: GPL-2.0-or-later
--
-- The same protocol ("tcpstate"), fields, expert infos, preferences, tree
-- texts, Info-column tag and statistics as the native post-dissector
-- (plugin/), for Wireshark installations that cannot load a native plugin.
-- It runs in Wireshark 4.0 (Lua 5.2) and 4.4+ (Lua 5.4).  See README.md.
--
-- If the native plugin is loaded (native plugins register before Lua
-- scripts run), this script says so on stderr and defines nothing.
--
-- Files beside this one (each harmless when Wireshark loads it alone):
--   tcpstate_tables.lua  the state machine's table, the states, the anomaly
--                        list, outcomes, close styles (generated from the C
--                        headers by tools/luagen)
--   tcpstate_core.lua    classify, state machine, connection lifecycle,
--                        summary, per-connection statistics, SYN floods
--   tcpstate_zeek.lua    Zeek's conn_state and history
--   tcpstate_stats.lua   the summary tree and the per-connection table
--
-- Two passes: the state is computed once per frame, in frame order, on the
-- first dissection of the frame that has the borrowed tcp.* fields, and
-- kept per frame; every later dissection renders the kept result.  The
-- Lua field extractors return nothing when Wireshark builds no protocol
-- tree, which tshark -2 does on its first pass unless a display filter (-Y)
-- or read filter (-R) is given; then the results are computed on the
-- second pass, and tcpstate.conn.* show the summary so far, as in a single
-- pass (README.md, "Differences").

local TWIN_KEY = "tcpstate lua-compat"

local function log(msg)
    io.stderr:write("tcpstate.lua: " .. msg .. "\n")
end

-- ---- step aside ----------------------------------------------------------

if package.loaded[TWIN_KEY] then
    log("already loaded from " .. tostring(package.loaded[TWIN_KEY]) .. "; this copy steps aside")
    return
end
do
    local ok, native = pcall(Dissector.get, "tcpstate")
    if ok and native then
        log("the native tcpstate plugin is loaded; the Lua twin steps aside and registers nothing")
        return
    end
end

-- ---- the modules beside this file ---------------------------------------

local HERE = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or ""

local function load_module(name)
    local chunk, err = loadfile(HERE .. name)
    if not chunk then error("tcpstate.lua: cannot load " .. HERE .. name .. ": " .. tostring(err)) end
    return chunk()
end

local T = load_module("tcpstate_tables.lua")
local Z = load_module("tcpstate_zeek.lua")
local C = load_module("tcpstate_core.lua")(T, Z)
local STATS = load_module("tcpstate_stats.lua")(C)

package.loaded[TWIN_KEY] = HERE

local floor, format = math.floor, string.format
local has = C.has
local AN, AN_ID, AN_COUNT = C.AN, C.AN_ID, C.AN_COUNT

-- ---- protocol, fields, expert infos, preferences -------------------------

local p_tcpstate = Proto("tcpstate", "TCP State Tracking")

local state_vals = {}
for _, s in ipairs(T.states) do state_vals[s.value] = s.name end
local outcome_vals = {}
for _, o in ipairs(T.outcomes) do outcome_vals[o.value] = o.name end
local close_style_vals = { [0] = "none" }
for _, s in ipairs(T.close_styles) do close_style_vals[s.value] = s.name end
local initiator_vals = { [0] = T.closers[0], [1] = T.closers[1], [2] = T.closers[2], [3] = T.closers[3] }
local closer_vals = { [1] = T.closers[1], [2] = T.closers[2], [3] = T.closers[3] }
local role_vals = { [1] = "client", [2] = "server" }
local handshake_vals = { [1] = "SYN", [2] = "SYN-ACK", [3] = "ACK (handshake complete)" }
local teardown_vals = { [1] = "first FIN", [2] = "ACK of the first FIN", [3] = "second FIN",
                        [4] = "ACK of the second FIN" }

local hf = {
    stream = ProtoField.uint32("tcpstate.stream", "Stream index", base.DEC),
    sender = ProtoField.uint8("tcpstate.sender", "Sender", base.DEC, role_vals),
    client_state = ProtoField.uint8("tcpstate.client.state", "Client state", base.DEC, state_vals),
    server_state = ProtoField.uint8("tcpstate.server.state", "Server state", base.DEC, state_vals),
    client_prev = ProtoField.uint8("tcpstate.client.prev", "Client state before", base.DEC, state_vals),
    server_prev = ProtoField.uint8("tcpstate.server.prev", "Server state before", base.DEC, state_vals),
    handshake = ProtoField.uint8("tcpstate.handshake", "Handshake step", base.DEC, handshake_vals),
    teardown = ProtoField.uint8("tcpstate.teardown", "Teardown step", base.DEC, teardown_vals),
    closer = ProtoField.uint8("tcpstate.closer", "Closed first by", base.DEC, closer_vals),
    midstream = ProtoField.bool("tcpstate.midstream", "Mid-stream: roles and states guessed"),
    icmp_quoted = ProtoField.bool("tcpstate.icmp_quoted", "TCP header quoted in an ICMP error"),
    illegal = ProtoField.string("tcpstate.illegal", "Illegal flag combination"),
    -- the connection's summary (final after the first pass, so far during it)
    conn_outcome = ProtoField.uint8("tcpstate.conn.outcome", "Outcome", base.DEC, outcome_vals),
    conn_close_initiator = ProtoField.uint8("tcpstate.conn.close_initiator", "Close initiator",
                                            base.DEC, initiator_vals),
    conn_close_style = ProtoField.uint8("tcpstate.conn.close_style", "Close style", base.DEC,
                                        close_style_vals),
    conn_zeek_state = ProtoField.string("tcpstate.conn.zeek_state", "Zeek conn_state"),
    conn_history = ProtoField.string("tcpstate.conn.history", "Zeek history"),
    conn_zeek_index = ProtoField.uint32("tcpstate.conn.zeek_index",
                                        "Zeek connection within the stream", base.DEC),
    conn_duration = ProtoField.relative_time("tcpstate.conn.duration", "Duration"),
}
p_tcpstate.fields = {
    hf.stream, hf.sender, hf.client_state, hf.server_state, hf.client_prev, hf.server_prev,
    hf.handshake, hf.teardown, hf.closer, hf.midstream, hf.icmp_quoted, hf.illegal,
    hf.conn_outcome, hf.conn_close_initiator, hf.conn_close_style, hf.conn_zeek_state,
    hf.conn_history, hf.conn_zeek_index, hf.conn_duration,
}

-- One expert info per entry of the anomaly list, in bit order.
local ei = {}
do
    local list = {}
    for i, a in ipairs(T.anomalies) do
        ei[i - 1] = ProtoExpert.new("tcpstate." .. a.name, a.summary, expert.group[a.group],
                                    expert.severity[a.severity])
        list[i] = ei[i - 1]
    end
    p_tcpstate.experts = list
end

local INFO_TAG_OFF, INFO_TAG_CHANGES, INFO_TAG_ALWAYS = 0, 1, 2
p_tcpstate.prefs.info_tag = Pref.enum("Tag in the Info column", INFO_TAG_CHANGES,
    "Append the client and server states, and the handshake or teardown step, to the Info column",
    { { "off", "Off", INFO_TAG_OFF },
      { "changes", "On segments that change a state or mark a step", INFO_TAG_CHANGES },
      { "always", "On every segment", INFO_TAG_ALWAYS } }, false)
p_tcpstate.prefs.syn_flood_threshold = Pref.uint("SYN flood threshold", 100,
    "Half-open connections to one server (address and port) within the window that raise "
    .. "tcpstate.syn_flood; 0 turns it off")
p_tcpstate.prefs.syn_flood_window = Pref.uint("SYN flood window (seconds)", 10,
    "How long a SYN counts towards its server's half-open connections")

-- ---- the borrowed fields (extract.c) ---------------------------------------

local f_protocols = Field.new("frame.protocols")
local f_stream = Field.new("tcp.stream")
local f_srcport = Field.new("tcp.srcport")
local f_dstport = Field.new("tcp.dstport")
local f_flags = Field.new("tcp.flags")
local f_seq_raw = Field.new("tcp.seq_raw")
local f_ack_raw = Field.new("tcp.ack_raw")
local f_len = Field.new("tcp.len")
local f_window = Field.new("tcp.window_size")
local f_cksum = Field.new("tcp.checksum.status")
local f_ip_src = Field.new("ip.src")
local f_ip_dst = Field.new("ip.dst")
local f_ipv6_src = Field.new("ipv6.src")
local f_ipv6_dst = Field.new("ipv6.dst")

-- The k-th instance of a field in this frame, or nil.
local function nth(field, k)
    if k == 1 then return (field()) end
    return (select(k, field()))
end

-- What frame.protocols says of a frame's layers, cached per distinct
-- string: k, the rank among the "tcp" layers of the first TCP header not
-- quoted in an ICMP error (0 if none); quoted, the rank of the first quoted
-- one; and the rank of the IPv4 or IPv6 layer carrying the TCP.
local layer_cache = {}
local function layers_of(protocols)
    local l = layer_cache[protocols]
    if l then return l end
    local ntcp, nip, nip6, pos, ip_pos, ip6_pos = 0, 0, 0, 0, 0, 0
    local in_icmp, k, quoted = false, 0, 0
    for tok in protocols:gmatch("[^:]+") do
        pos = pos + 1
        if tok == "icmp" or tok == "icmpv6" then
            in_icmp = true
        elseif tok == "tcp" then
            ntcp = ntcp + 1
            if not in_icmp then
                k = ntcp
                break
            end
            if quoted == 0 then quoted = ntcp end
        elseif tok == "ip" then
            nip, ip_pos = nip + 1, pos
        elseif tok == "ipv6" then
            nip6, ip6_pos = nip6 + 1, pos
        end
    end
    l = { k = k, quoted = quoted, v6 = ip6_pos > ip_pos, nip = ip6_pos > ip_pos and nip6 or nip }
    layer_cache[protocols] = l
    return l
end

-- ---- per-file state (store.c) ------------------------------------------------

-- One entry per frame, in parallel arrays: the stream (false: nothing to
-- show), the anomaly bits, and the rest packed into one number (pack()).
local R_STREAM, R_AN, R_PACK = {}, {}, {}
local ALARM = {}        -- frame -> SYN-flood alarm
local CONNS = {}        -- stream -> connection (core)
local ZEEK_ENDED = {}   -- stream -> { {until_frame, zeek}, ... }: Zeek connections ended inside it
local last_frame = 0    -- the last frame computed
local flood

local function conn_of(stream)
    local c = CONNS[stream]
    if not c then
        c = C.new_conn()
        CONNS[stream] = c
    end
    return c
end

function p_tcpstate.init()
    R_STREAM, R_AN, R_PACK, ALARM, CONNS, ZEEK_ENDED = {}, {}, {}, {}, {}, {}
    last_frame = 0
    flood = C.new_flood(p_tcpstate.prefs.syn_flood_threshold, p_tcpstate.prefs.syn_flood_window,
                        conn_of)
end

-- packed: cst + 16 sst + 256 cprev + 4096 sprev + 2^16 handshake bits
-- + 2^20 teardown bits + 2^25 closer + 2^27 (from server 1, midstream 2,
-- quoted 4) + 2^30 illegal
local P_HS, P_TD, P_CLOSER, P_FL, P_ILL = 65536, 1048576, 33554432, 134217728, 1073741824
local FL_FROM_SERVER, FL_MIDSTREAM, FL_QUOTED = 1, 2, 4

-- ---- first dissection: compute -----------------------------------------------

local seg = { time = 0, stream = 0, seq = 0, ack = 0, len = 0, win = 0, src_key = nil,
              dst_key = nil, flags = 0, sport = 0, dport = 0, truncated = false,
              bad_checksum = false }

local function value_of(fi, default)
    if fi then return fi.value end
    return default
end

-- Compute frame n's record; false if the frame shows nothing, nil if the
-- fields are not available in this dissection (no tree).
local function compute(tvb, pinfo, n)
    local protocols = f_protocols()
    if not protocols then return nil end
    local l = layers_of(protocols.value)
    local k = l.k
    if k == 0 then
        if l.quoted == 0 then return false end
        local s = nth(f_stream, l.quoted)
        if not s then return false end
        R_STREAM[n], R_AN[n], R_PACK[n] = s.value, 0, FL_QUOTED * P_FL
        return true
    end

    local fi_stream, fi_sport = nth(f_stream, k), nth(f_srcport, k)
    local fi_dport, fi_flags, fi_seq = nth(f_dstport, k), nth(f_flags, k), nth(f_seq_raw, k)
    if not (fi_stream and fi_sport and fi_dport and fi_flags and fi_seq) then return false end

    local stream = fi_stream.value
    seg.stream = stream
    seg.sport, seg.dport = fi_sport.value, fi_dport.value
    seg.flags, seg.seq = fi_flags.value, fi_seq.value
    seg.ack = value_of(nth(f_ack_raw, k), 0)
    seg.len = value_of(nth(f_len, k), 0)
    seg.win = value_of(nth(f_window, k), 0)
    local ck = nth(f_cksum, k)
    seg.bad_checksum = ck ~= nil and ck.value == 0
    seg.time = pinfo.abs_ts
    seg.truncated = tvb:captured_len() < tvb:reported_len()
    local src, dst
    if l.nip > 0 then
        if l.v6 then
            src, dst = nth(f_ipv6_src, l.nip), nth(f_ipv6_dst, l.nip)
        else
            src, dst = nth(f_ip_src, l.nip), nth(f_ip_dst, l.nip)
        end
    end
    seg.src_key = src and tostring(src) or ""
    seg.dst_key = dst and tostring(dst) or ""

    local c = conn_of(stream)
    local r = C.conn_track(c, seg)
    local track = C.track
    if track.zeek_new then
        local list = ZEEK_ENDED[stream]
        if not list then
            list = {}
            ZEEK_ENDED[stream] = list
        end
        list[#list + 1] = { n, track.zeek_before }
    end
    local an = r.anomalies
    if track.half_open_begin then
        local alarm = flood.begin(c, stream, seg, seg.time)
        if alarm then
            an = an + AN.SYN_FLOOD
            ALARM[n] = alarm
        end
    end
    if track.half_open_end then flood.end_(c) end

    local fl = (r.from_server and FL_FROM_SERVER or 0) + (r.midstream and FL_MIDSTREAM or 0)
    R_STREAM[n] = stream
    R_AN[n] = an
    R_PACK[n] = r.cst + 16 * r.sst + 256 * r.cprev + 4096 * r.sprev + P_HS * r.hs + P_TD * r.td
        + P_CLOSER * r.closer + P_FL * fl + P_ILL * r.illegal
    return true
end

-- ---- every dissection: render --------------------------------------------------

-- The record of frame n, unpacked into a reused table; nil if none.
local R = { stream = 0, anomalies = 0, cst = 0, sst = 0, cprev = 0, sprev = 0, hs = 0, td = 0,
            closer = 0, from_server = false, midstream = false, quoted = false, illegal = 0 }
local function record(n)
    local stream = R_STREAM[n]
    if not stream then return nil end
    local x = R_PACK[n]
    R.stream, R.anomalies = stream, R_AN[n]
    R.cst = x % 16
    R.sst = floor(x / 16) % 16
    R.cprev = floor(x / 256) % 16
    R.sprev = floor(x / 4096) % 16
    R.hs = floor(x / P_HS) % 16
    R.td = floor(x / P_TD) % 32
    R.closer = floor(x / P_CLOSER) % 4
    local fl = floor(x / P_FL) % 8
    R.from_server = fl % 2 == 1
    R.midstream = fl % 4 >= 2
    R.quoted = fl >= 4
    R.illegal = floor(x / P_ILL)
    return R
end

local function state_name(st) return state_vals[st] or "?" end

-- "Handshake 1/3", "Teardown 2+3/4", "Handshake 3/3, Teardown 1/4" or ""
local function format_steps(r)
    local out = ""
    for kind = 1, 2 do
        local bits = kind == 1 and r.hs or r.td
        if bits ~= 0 then
            local nums = ""
            for n = 1, 4 do
                if has(bits, 2 ^ n) then nums = nums .. (nums ~= "" and "+" or "") .. n end
            end
            out = out .. (out ~= "" and ", " or "") .. (kind == 1 and "Handshake " or "Teardown ")
                .. nums .. (kind == 1 and "/3" or "/4")
        end
    end
    return out
end

-- "1", "2+3" and "SYN-ACK", "ACK of the first FIN, second FIN"
local function step_numbers(bits)
    local s = ""
    for n = 1, 4 do
        if has(bits, 2 ^ n) then s = s .. (s ~= "" and "+" or "") .. n end
    end
    return s
end
local function step_names(bits, vals)
    local s = ""
    for n = 1, 4 do
        if has(bits, 2 ^ n) then s = s .. (s ~= "" and ", " or "") .. (vals[n] or "?") end
    end
    return s
end

-- "<address>:<port>" of the sender (from) or the receiver
local function endpoint_str(pinfo, from)
    local a = tostring(from and pinfo.src or pinfo.dst)
    local port = from and pinfo.src_port or pinfo.dst_port
    if a:find(":", 1, true) then return "[" .. a .. "]:" .. port end
    return a .. ":" .. port
end

local function add_experts(pinfo, ti, r)
    local an = r.anomalies
    for i = 0, AN_COUNT - 1 do
        if has(an, 2 ^ i) then
            local id, e = AN_ID[i], ei[i]
            if id == "ILLEGAL_FLAGS" then
                ti:add_proto_expert_info(e, "Illegal TCP flag combination: " .. C.illegal_name(r.illegal))
            elseif id == "HANDSHAKE_STEP" then
                ti:add_proto_expert_info(e, format("Handshake %s/3: %s", step_numbers(r.hs),
                                                   step_names(r.hs, handshake_vals)))
            elseif id == "TEARDOWN_STEP" then
                ti:add_proto_expert_info(e, format("Teardown %s/4: %s", step_numbers(r.td),
                                                   step_names(r.td, teardown_vals)))
            elseif id == "CLIENT_CLOSE" or id == "SERVER_CLOSE" then
                ti:add_proto_expert_info(e, format("The %s %s closed first: it sent the first FIN",
                    r.from_server and "server" or "client", endpoint_str(pinfo, true)))
            elseif id == "CLIENT_RESET" or id == "SERVER_RESET" then
                ti:add_proto_expert_info(e, format("The %s %s reset the connection",
                    r.from_server and "server" or "client", endpoint_str(pinfo, true)))
            elseif id == "HALF_OPEN" then
                -- only while no handshake ACK followed, as far as the first pass went
                if C.half_open_pending(conn_of(r.stream)) then ti:add_proto_expert_info(e) end
            elseif id == "SYN_FLOOD" then
                local a = ALARM[pinfo.number]
                if a then
                    ti:add_proto_expert_info(e, format(
                        "SYN flood: %d half-open connections to %s from %d source addresses within %d s",
                        a.half_open, endpoint_str(pinfo, false), a.sources, a.window))
                end
            else
                ti:add_proto_expert_info(e)
            end
        end
    end
end

-- The Zeek connection frame n of the stream belongs to, and its index.
local function zeek_of(stream, n, c)
    local list = ZEEK_ENDED[stream]
    if not list then return c.zeek, 0 end
    for i = 1, #list do
        if n < list[i][1] then return list[i][2], i - 1 end
    end
    return c.zeek, #list
end

-- Generated items.  In a tree nobody sees (tshark -T fields, filters, the
-- GUI's first pass) Wireshark drops the fields nobody asked for, but every
-- call still costs Lua time: there, the items are added without their
-- "generated" mark and without the text-only Connection line, which only a
-- visible tree shows.
local function render_conn(tree, pinfo, r, visible)
    local c = conn_of(r.stream)
    local z, zeek_index = zeek_of(r.stream, pinfo.number, c)
    local o, closer, style = C.outcome(c), c.closer, C.close_style(c)
    local last = c.last
    local secs = last >= 0 and floor(last) or -floor(-last)
    local nsecs = (last - secs) * 1e9
    nsecs = nsecs >= 0 and floor(nsecs) or -floor(-nsecs)
    local duration = NSTime(secs, nsecs)
    if not visible then
        tree:add(hf.conn_outcome, o)
        tree:add(hf.conn_close_initiator, closer)
        tree:add(hf.conn_close_style, style)
        tree:add(hf.conn_zeek_state, Z.conn_state(z))
        tree:add(hf.conn_history, Z.history(z))
        tree:add(hf.conn_zeek_index, zeek_index)
        tree:add(hf.conn_duration, duration)
        return
    end
    local text = "Connection: " .. C.OUTCOME_NAME[o]
    if closer ~= 0 then text = text .. ", closed first by " .. initiator_vals[closer] end
    if style ~= 0 then text = text .. " (" .. C.STYLE_NAME[style] .. ")" end
    local ct = tree:add(text)
    ct:set_generated()
    ct:add(hf.conn_outcome, o):set_generated()
    ct:add(hf.conn_close_initiator, closer):set_generated()
    ct:add(hf.conn_close_style, style):set_generated()
    ct:add(hf.conn_zeek_state, Z.conn_state(z)):set_generated()
    ct:add(hf.conn_history, Z.history(z)):set_generated()
    ct:add(hf.conn_zeek_index, zeek_index):set_generated()
    ct:add(hf.conn_duration, duration):set_generated()
end

local function render_quoted(tree, r)
    local ti = tree:add(p_tcpstate)
    ti:append_text(format(", TCP header quoted in an ICMP error: not a segment of stream %d", r.stream))
    ti:add(hf.stream, r.stream):set_generated()
    ti:add(hf.icmp_quoted, true):set_generated()
end

-- "Client: X  Server: Y" texts, by the pair of states
local states_text = {}
local function states_of(cst, sst)
    local k = cst * 16 + sst
    local t = states_text[k]
    if not t then
        t = { ", Client: " .. state_name(cst) .. "  Server: " .. state_name(sst),
              " [C:" .. state_name(cst) .. " S:" .. state_name(sst) }
        states_text[k] = t
    end
    return t
end

local function render(tree, pinfo, r)
    local cst, sst = r.cst, r.sst
    local steps = (r.hs ~= 0 or r.td ~= 0) and format_steps(r) or ""
    local st = states_of(cst, sst)
    local visible = tree.visible
    local ti = tree:add(p_tcpstate)
    ti:append_text(steps ~= "" and (st[1] .. "  [" .. steps .. "]") or st[1])
    if visible then
        ti:add(hf.stream, r.stream):set_generated()
        ti:add(hf.sender, r.from_server and 2 or 1):set_generated()
        ti:add(hf.client_state, cst):set_generated()
        ti:add(hf.server_state, sst):set_generated()
        ti:add(hf.client_prev, r.cprev):set_generated()
        ti:add(hf.server_prev, r.sprev):set_generated()
    else
        ti:add(hf.stream, r.stream)
        ti:add(hf.sender, r.from_server and 2 or 1)
        ti:add(hf.client_state, cst)
        ti:add(hf.server_state, sst)
        ti:add(hf.client_prev, r.cprev)
        ti:add(hf.server_prev, r.sprev)
    end
    if r.hs ~= 0 then
        for n = 1, 3 do
            if has(r.hs, 2 ^ n) then ti:add(hf.handshake, n):set_generated() end
        end
    end
    if r.td ~= 0 then
        for n = 1, 4 do
            if has(r.td, 2 ^ n) then ti:add(hf.teardown, n):set_generated() end
        end
    end
    if r.closer ~= 0 then ti:add(hf.closer, r.closer):set_generated() end
    if r.midstream then ti:add(hf.midstream, true):set_generated() end
    if r.illegal ~= 0 then ti:add(hf.illegal, C.illegal_name(r.illegal)):set_generated() end
    render_conn(ti, pinfo, r, visible)
    if r.anomalies ~= 0 then add_experts(pinfo, ti, r) end

    local tag = p_tcpstate.prefs.info_tag
    if tag == INFO_TAG_ALWAYS or (tag == INFO_TAG_CHANGES and (cst ~= r.cprev or sst ~= r.sprev
                                                                or r.hs ~= 0 or r.td ~= 0)) then
        pinfo.cols.info:append(steps ~= "" and (st[2] .. " " .. steps .. "]") or (st[2] .. "]"))
    end
end

function p_tcpstate.dissector(tvb, pinfo, tree)
    local n = pinfo.number
    if R_STREAM[n] == nil then
        if n <= last_frame then return 0 end       -- frames are computed in order only
        local done = compute(tvb, pinfo, n)
        if done == nil then return 0 end           -- no fields in this dissection
        last_frame = n
        if not done then
            R_STREAM[n] = false
            return 0
        end
    end
    local r = record(n)
    if not r then return 0 end
    if r.quoted then
        render_quoted(tree, r)
    else
        render(tree, pinfo, r)
    end
    return tvb:captured_len()
end

register_postdissector(p_tcpstate)

-- ---- statistics --------------------------------------------------------------

-- The time since the capture's start in ms, as nstime_to_msec() computes
-- it (from the seconds and nanoseconds that pinfo.rel_ts merges).
local function rel_ms(rel)
    local secs = floor(rel)
    local nsecs = floor((rel - secs) * 1e9 + 0.5)
    if nsecs >= 1000000000 then
        secs, nsecs = secs + 1, nsecs - 1000000000
    end
    return secs * 1000 + nsecs / 1000000
end

-- A Listener feeding one statistics run; what the native "tcpstate" tap
-- carries comes from the frame's record and its connection.
local function new_listener(filter, run, on_draw)
    local tap = Listener.new("frame", filter)
    function tap.reset() run:reset() end
    function tap.packet(pinfo)
        local r = record(pinfo.number)
        if not r or r.quoted then return end
        local rel = pinfo.rel_ts
        run:add(r, conn_of(r.stream), rel, rel_ms(rel), endpoint_str(pinfo, true),
                endpoint_str(pinfo, false))
    end
    function tap.draw() on_draw() end
    return tap
end

-- tshark -z tcpstate,tree[,filter] and -z tcpstate,conns[,filter]
local function stat_cmd(prefix, want_tree)
    register_stat_cmd_arg(prefix, function(arg)
        local filter = nil
        if arg and #arg > #prefix and arg:sub(#prefix + 1, #prefix + 1) == "," then
            filter = arg:sub(#prefix + 2)
        end
        local run = STATS.new_run(want_tree, not want_tree)
        local ok, err = pcall(new_listener, filter, run, function()
            io.write(want_tree and run:tree_text() or run:conns_text(filter))
        end)
        if not ok then log("-z " .. tostring(arg) .. ": " .. tostring(err)) end
    end)
end
stat_cmd("tcpstate,tree", true)
stat_cmd("tcpstate,conns", false)

-- Statistics menu (GUI): the summary tree and the per-connection table in
-- one text window, for all packets or those a display filter selects.
if gui_enabled() then
    local MENU = MENU_STAT_UNSORTED or MENU_PACKET_STAT_UNSORTED

    local function open_window(filter)
        local title = STATS.TREE_NAME .. " (Lua)" .. (filter and (": " .. filter) or "")
        local tw = TextWindow.new(title)
        local run = STATS.new_run(true, true)
        local ok, tap = pcall(new_listener, filter, run, function()
            tw:set(run:tree_text() .. run:conns_text(filter))
        end)
        if not ok then
            tw:set("Cannot tap the packets: " .. tostring(tap))
            return
        end
        tw:set_atclose(function() tap:remove() end)
        retap_packets()
    end

    register_menu(STATS.TREE_NAME .. " (Lua)", function() open_window(nil) end, MENU)
    register_menu(STATS.TREE_NAME .. " (Lua), filtered...", function()
        new_dialog(STATS.TREE_NAME .. " (Lua)", function(filter)
            if filter and filter ~= "" then open_window(filter) else open_window(nil) end
        end, "Display filter")
    end, MENU)
end
