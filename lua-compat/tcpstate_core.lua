-- tcpstate_core.lua - the Lua twin's pure core: a port of plugin/core/classify.c,
-- fsm.c (ts_fsm_step), conn.c, summary.c, connstats.c and flood.c
--
-- SPDX-License-Identifier: GPL-2.0-or-later
--
-- Pure Lua, valid in 5.2 (Wireshark 4.0) and 5.4 (Wireshark 4.4+): no
-- Wireshark API, no bit operators, no globals.  The transition table, the
-- states, the events and the anomaly list are not restated here: they come
-- from tcpstate_tables.lua, which tools/luagen makes from the C headers.
--
-- This file returns a constructor, function(T, Z), taking the tables and
-- the Zeek module (tcpstate_zeek.lua); loaded alone (Wireshark loads every
-- .lua file of its plugin folders) it defines nothing.  tcpstate.lua and
-- tests/lua/run_scenarios.lua call it.
--
-- Per segment the work is O(1) and creates no table: the segment, the
-- record and the scratch state are reused tables.  A connection costs a few
-- tables, made on its first segment.

return function(T, Z)

local floor = math.floor

local M = {}

local U32 = 4294967296      -- 2^32
local I32 = 2147483648      -- 2^31

-- ---- the generated tables --------------------------------------------------

local S = T.fsm_states
local sCL, sLI, sSS, sSA, sSR, sSX, sES = S.sCL, S.sLI, S.sSS, S.sSA, S.sSR, S.sSX, S.sES
local sF1, sF2, sCG, sTW, sTC, sTX = S.sF1, S.sF2, S.sCG, S.sTW, S.sTC, S.sTX
local sCW, sLA, sLC = S.sCW, S.sLA, S.sLC
local sIV, sIG, sBK = S.sIV, S.sIG, S.sBK
local NSTATES, NEVENTS = T.fsm_nstates, T.fsm_nevents
local TABLE, DISPLAY = T.fsm_table, T.display

local EV = T.events
local EV_SYN, EV_SYNACK, EV_ACK_SYN, EV_ACK_SYN_X = EV.SYN, EV.SYNACK, EV.ACK_SYN, EV.ACK_SYN_X
local EV_FIN, EV_FIN_X, EV_ACK_FIN, EV_ACK_FIN_X, EV_RST = EV.FIN, EV.FIN_X, EV.ACK_FIN, EV.ACK_FIN_X, EV.RST
local SEND, RECV = T.dirs.send, T.dirs.recv

local TH = T.th
local TH_FIN, TH_SYN, TH_RST, TH_PSH, TH_ACK, TH_URG = TH.FIN, TH.SYN, TH.RST, TH.PSH, TH.ACK, TH.URG

M.T, M.Z = T, Z

-- Anomaly bits: AN.ILLEGAL_FLAGS = 2^0, ... in the list's order.
local AN, AN_NAME, AN_ID = {}, {}, {}
for i, a in ipairs(T.anomalies) do
    AN[a.id] = 2 ^ (i - 1)
    AN_NAME[i - 1] = a.name
    AN_ID[i - 1] = a.id
end
M.AN, M.AN_NAME, M.AN_ID, M.AN_COUNT = AN, AN_NAME, AN_ID, #T.anomalies

-- The anomalies of severity Warn or worse (a connection's "warnings").
local WARN_BITS = {}
for i, a in ipairs(T.anomalies) do
    if a.severity == "WARN" or a.severity == "ERROR" then WARN_BITS[#WARN_BITS + 1] = 2 ^ (i - 1) end
end

local STATE_NAME = {}
for _, s in ipairs(T.states) do STATE_NAME[s.value] = s.name end
M.STATE_NAME = STATE_NAME
local ST_CLOSE_WAIT, ST_FIN_WAIT2 = 0, 0
for _, s in ipairs(T.states) do
    if s.name == "CLOSE_WAIT" then ST_CLOSE_WAIT = s.value end
    if s.name == "FIN_WAIT2" then ST_FIN_WAIT2 = s.value end
end

local OUTCOME, OUTCOME_NAME = {}, { [0] = "none" }
for _, o in ipairs(T.outcomes) do
    OUTCOME[o.id] = o.value
    OUTCOME_NAME[o.value] = o.name
end
local STYLE, STYLE_NAME = {}, { [0] = "none" }
for _, s in ipairs(T.close_styles) do
    STYLE[s.id] = s.value
    STYLE_NAME[s.value] = s.name
end
M.OUTCOME, M.OUTCOME_NAME, M.STYLE, M.STYLE_NAME = OUTCOME, OUTCOME_NAME, STYLE, STYLE_NAME
M.CLOSER_NAME = T.closers

local CLOSER_NONE, CLOSER_CLIENT, CLOSER_SERVER, CLOSER_BOTH = 0, 1, 2, 3
local CLIENT, SERVER = 0, 1

-- ---- bit sets in plain numbers -------------------------------------------

local function has(x, b) return floor(x / b) % 2 == 1 end
local function set(x, b)
    if floor(x / b) % 2 == 1 then return x end
    return x + b
end
M.has, M.set = has, set

-- ---- TCP flags ---------------------------------------------------------------

-- What a tcp.flags value means, memoized per value (at most 4096):
-- the SYN..URG bits, reserved bits, ts_flags_valid(), and the low six bits.
local FLAGS = {}
local VALID = {}
for _, m in ipairs({ TH_SYN, TH_SYN + TH_URG, TH_SYN + TH_ACK, TH_RST, TH_RST + TH_ACK,
                     TH_FIN + TH_ACK, TH_FIN + TH_ACK + TH_URG, TH_ACK, TH_ACK + TH_URG }) do
    VALID[m] = true
end

local function flaginfo(f)
    local fi = FLAGS[f]
    if fi then return fi end
    local low = f % 64
    fi = {
        fin = low % 2 == 1, syn = low % 4 >= 2, rst = low % 8 >= 4,
        psh = low % 16 >= 8, ack = low % 32 >= 16, urg = low >= 32,
        res = f % 4096 >= 512, low6 = low,
    }
    local m = (fi.fin and TH_FIN or 0) + (fi.syn and TH_SYN or 0) + (fi.rst and TH_RST or 0)
        + (fi.ack and TH_ACK or 0) + (fi.urg and TH_URG or 0)
    fi.valid = VALID[m] == true
    FLAGS[f] = fi
    return fi
end
M.flaginfo = flaginfo

-- ---- sequence numbers (RFC 1982) -------------------------------------------

local function u32(x) return x % U32 end
local function seq_geq(a, b) return (a - b) % U32 < I32 end
M.seq_geq = seq_geq

-- ---- the state machine (fsm.c) --------------------------------------------

local STEP_MOVED, STEP_SAME, STEP_IGNORED, STEP_INVALID = 0, 1, 2, 3
M.STEP_MOVED, M.STEP_SAME, M.STEP_IGNORED, M.STEP_INVALID =
    STEP_MOVED, STEP_SAME, STEP_IGNORED, STEP_INVALID

-- Optional cell counter for the scenario tests: hits[dir][event][state].
M.hits = nil

-- ts_fsm_step on endpoint table ep (its .st); returns the result.
local function fsm_step(ep, dir, ev, passive_open)
    local st = ep.st
    if M.hits then
        local h = M.hits
        local k = (dir * NEVENTS + ev) * NSTATES + st
        h[k] = (h[k] or 0) + 1
    end
    local nxt = TABLE[dir][ev][st]
    if nxt == sIV then return STEP_INVALID end
    if nxt == sIG then return STEP_IGNORED end
    if nxt == sBK then nxt = passive_open and sLI or sCL end
    if nxt == st then return STEP_SAME end
    ep.st = nxt
    return STEP_MOVED
end
M.fsm_step = fsm_step

local function display(st) return DISPLAY[st] or 0 end
local STATE_VALUE = {}
for _, st in ipairs(T.states) do STATE_VALUE[st.name] = st.value end
local TIME_WAIT, CLOSED = STATE_VALUE.TIME_WAIT, STATE_VALUE.CLOSED
M.display = display

-- ---- classify.c ------------------------------------------------------------

-- The name of an illegal combination (ts_illegal_name).  illegal is the
-- record's value: 64 | the SYN..URG bits | 128 for "ACK missing".
local ILL_ORDER = { { TH_SYN, "SYN" }, { TH_FIN, "FIN" }, { TH_RST, "RST" },
                    { TH_PSH, "PSH" }, { TH_ACK, "ACK" }, { TH_URG, "URG" } }
local ILL_NAMES = {}
local function illegal_name(illegal)
    local n = ILL_NAMES[illegal]
    if n then return n end
    local f = illegal % 64
    local base, suffix = "", ""
    for _, o in ipairs(ILL_ORDER) do
        if has(f, o[1]) then base = base .. (base ~= "" and "+" or "") .. o[2] end
    end
    if f == 0 then
        base, suffix = "NULL", " (NULL scan)"
    elseif f == TH_FIN then
        suffix = " without ACK (FIN scan)"
    elseif f == TH_FIN + TH_PSH + TH_URG then
        suffix = " (Xmas scan)"
    elseif f == 63 then
        suffix = " (Xmas tree)"
    elseif illegal >= 128 then
        suffix = " (ACK missing)"
    elseif not (has(f, TH_ACK) or has(f, TH_SYN) or has(f, TH_RST)) then
        suffix = " without ACK"
    end
    n = base .. suffix
    ILL_NAMES[illegal] = n
    return n
end
M.illegal_name = illegal_name

-- ts_in_window
local function in_window(snd, rcv, seq)
    if not snd.sent then return true end
    local wnd = rcv.win
    if wnd == 0 then wnd = 1 end
    return seq_geq(seq, snd.snd_nxt) and not seq_geq(seq, u32(snd.snd_nxt + wnd))
end

-- ts_rst_acceptable
local function rst_acceptable(snd, rcv, seg, fi)
    local st = rcv.st
    if st == sSS or st == sSA then
        return fi.ack and rcv.syn and seg.ack == u32(rcv.isn + 1)
    end
    if not snd.sent then return true end
    if seg.seq == snd.snd_nxt then return true end
    if snd.fin and seg.seq == u32(snd.snd_nxt - 1) then return true end
    if st == sSR or st == sSX then return in_window(snd, rcv, seg.seq) end
    return false
end

-- The classification of one segment (ts_class); reused.
local cl = { nsend = 0, nrecv = 0, send = { 0, 0, 0 }, recv = { 0, 0, 0 },
             valid_flags = false, acks_syn = false, acks_fin = false, rst_accepted = false }

local function push_send(ev)
    if cl.nsend < 3 then
        cl.nsend = cl.nsend + 1
        cl.send[cl.nsend] = ev
    end
end
local function push_recv(ev)
    if cl.nrecv < 3 then
        cl.nrecv = cl.nrecv + 1
        cl.recv[cl.nrecv] = ev
    end
end

local function syn_ack_event(snd)
    return snd.active and EV_ACK_SYN_X or EV_ACK_SYN
end

-- ts_classify
local function classify(snd, rcv, seg, fi)
    local ack = fi.ack
    cl.nsend, cl.nrecv = 0, 0
    cl.valid_flags = fi.valid
    cl.acks_syn, cl.acks_fin, cl.rst_accepted = false, false, false

    if fi.rst then
        push_send(EV_RST)
        cl.rst_accepted = rst_acceptable(snd, rcv, seg, fi)
        if cl.rst_accepted then push_recv(EV_RST) end
        return
    end
    if not fi.valid then return end

    cl.acks_syn = ack and rcv.syn and seq_geq(seg.ack, u32(rcv.isn + 1)) or false
    cl.acks_fin = ack and rcv.fin and seq_geq(seg.ack, u32(rcv.fin_seq + 1)) or false

    if fi.syn then
        push_send(ack and EV_SYNACK or EV_SYN)
        if cl.acks_syn then push_recv(syn_ack_event(snd)) end
        push_recv(EV_SYN)
        cl.acks_fin = false
        return
    end

    local fin = fi.fin
    local fin_again = fin and snd.fin and snd.fin_seq == u32(seg.seq + seg.len)
    local resync_first = fin_again and snd.fin_step and snd.fin_acked
    if resync_first then push_send(EV_FIN) end
    if cl.acks_syn then
        push_send(EV_ACK_SYN)
        if snd.syn then push_recv(syn_ack_event(snd)) end
    end
    if fin_again and not resync_first then push_send(EV_FIN) end
    if cl.acks_fin then
        push_send(EV_ACK_FIN)
        push_recv(fin_again and EV_ACK_FIN_X or EV_ACK_FIN)
    end
    if fin then
        local crossed = rcv.fin_step and not rcv.fin_acked and not cl.acks_fin
        if not fin_again then push_send(crossed and EV_FIN_X or EV_FIN) end
        push_recv(EV_FIN)
    end
end
M.classify, M.cl = classify, cl

-- ---- conn.c ----------------------------------------------------------------

local function new_endpoint()
    return { isn = 0, fin_seq = 0, snd_nxt = 0, win = 0, st = sCL, challenge = false,
             sent = false, syn = false, fin = false, done = false, fin_acked = false,
             passive = false, active = false, fin_step = false }
end

local function reset_endpoint(ep)
    ep.isn, ep.fin_seq, ep.snd_nxt, ep.win, ep.st, ep.challenge = 0, 0, 0, 0, sCL, false
    ep.sent, ep.syn, ep.fin, ep.done, ep.fin_acked = false, false, false, false, false
    ep.passive, ep.active, ep.fin_step = false, false, false
end

-- A connection (one tcp.stream), zeroed as the C struct before its first
-- segment.  The summary fields are those of ts_summary.
function M.new_conn()
    return {
        used = false, midstream = false, opened = false, rst = false, half_open = false,
        synack_retx_pending = false, flood_counted = false, probed = false,
        closer = CLOSER_NONE, first_fin = 0, client_port = 0, client_key = nil,
        flood_server = 0,
        ep = { [0] = new_endpoint(), [1] = new_endpoint() },
        -- ts_summary
        first = 0, last = 0, segs0 = 0, segs1 = 0, bytes0 = 0, bytes1 = 0, first_rst = 0,
        s_refused = false, s_both_fins = false, s_combined_fin = false,
        s_data_after_fin = false, s_one_fin = false, s_synack = false, s_first_server = false,
        zeek = Z.new(),
    }
end

-- ts_conn_from_client
local function from_client(c, seg)
    if seg.sport ~= seg.dport then return seg.sport == c.client_port end
    return seg.src_key == c.client_key
end
M.from_client = from_client

-- SYN_SENT or SYN_RECV: in the handshake.
local function handshake_state(st)
    return st == sSS or st == sSA or st == sSR or st == sSX
end

local function synced_state(st)
    return st == sES or st == sF1 or st == sF2 or st == sCG or st == sTW or st == sTC
        or st == sTX or st == sCW or st == sLA
end

local function synchronized(c)
    return synced_state(c.ep[CLIENT].st) and synced_state(c.ep[SERVER].st)
end

local function set_client(c, seg, sender)
    c.client_port = sender and seg.sport or seg.dport
    c.client_key = sender and seg.src_key or seg.dst_key
end

-- conn_start: roles and starting states (memset of everything but the
-- summary and the Zeek state, which restart_probed keeps anyway)
local function conn_start(c, seg, fi)
    c.used, c.midstream, c.opened, c.rst, c.half_open = true, false, false, false, false
    c.synack_retx_pending, c.flood_counted, c.probed = false, false, false
    c.closer, c.first_fin, c.flood_server = CLOSER_NONE, 0, 0
    local cep, sep = c.ep[CLIENT], c.ep[SERVER]
    reset_endpoint(cep)
    reset_endpoint(sep)
    if not fi.valid then
        set_client(c, seg, true)
        cep.st, sep.st = sCL, sLI
        if not fi.rst then c.probed = true end
    elseif fi.syn and not fi.ack then
        set_client(c, seg, true)
        cep.st, sep.st = sCL, sLI
    elseif fi.syn and fi.ack then
        set_client(c, seg, false)
        cep.st = sSS
        cep.syn = true
        cep.isn = u32(seg.ack - 1)
        sep.st = sLI
    else
        set_client(c, seg, seg.sport >= seg.dport)
        cep.st, sep.st = sES, sES
        c.midstream, c.opened = true, true
    end
end

local function restart_probed(c, seg, fi)
    if not c.probed or not fi.valid then return false end
    c.probed = false
    if fi.syn or fi.rst then return false end
    conn_start(c, seg, fi)
    return true
end

local function learn(snd, rcv, seg, fi)
    if cl.acks_fin then rcv.fin_acked = true end
    if not cl.valid_flags or fi.rst then return end
    local end_ = u32(seg.seq + seg.len)
    if fi.syn then
        snd.isn = seg.seq
        snd.syn = true
        if not fi.ack then snd.active = true end
        end_ = u32(end_ + 1)
    end
    if fi.fin then
        if not snd.fin or not seq_geq(snd.fin_seq, end_) then snd.fin_seq = end_ end
        snd.fin = true
        end_ = u32(end_ + 1)
    end
    if not snd.sent or not seq_geq(snd.snd_nxt, end_) then snd.snd_nxt = end_ end
    snd.win = seg.win
    snd.sent = true
end

-- The per-packet result (ts_record), reused: the caller copies it out.
local rec = { stream = 0, anomalies = 0, cst = 0, sst = 0, cprev = 0, sprev = 0, hs = 0, td = 0,
              from_server = false, midstream = false, first = false, invalid = false,
              closer = 0, illegal = 0 }
M.rec = rec

local HS1, HS2, HS3 = 2, 4, 8           -- handshake step bits (1 << n)
local TD1, TD2, TD3, TD4 = 2, 4, 8, 16  -- teardown step bits

local function step_sender(snd)
    local fin_ok = false
    for i = 1, cl.nsend do
        local ev = cl.send[i]
        local from = snd.st
        local r = fsm_step(snd, SEND, ev, snd.passive)
        if r == STEP_INVALID then
            rec.invalid = true
        elseif ev == EV_SYN then
            rec.hs = set(rec.hs, HS1)
        elseif ev == EV_SYNACK then
            rec.hs = set(rec.hs, HS2)
            if from == sLI then snd.passive = true end
        elseif ev == EV_FIN or ev == EV_FIN_X then
            fin_ok = true
        end
    end
    return fin_ok
end

local function step_receiver(rcv, bad_checksum)
    if rec.invalid or bad_checksum then return end
    for i = 1, cl.nrecv do fsm_step(rcv, RECV, cl.recv[i], rcv.passive) end
end

local function role_closer(role) return role == CLIENT and CLOSER_CLIENT or CLOSER_SERVER end

-- What was true before the segment (struct before); reused.
local b = {}

local function note_close(c, from, fi, fin_ok)
    local to = 1 - from
    if cl.acks_fin and not b.rcv_fin_acked and c.ep[to].fin_step then
        rec.td = set(rec.td, c.first_fin == 1 + to and TD2 or TD4)
    end
    if fi.rst then
        c.rst = true
        if c.closer == CLOSER_NONE then c.closer = role_closer(from) end
        return
    end
    if not fin_ok then return end
    c.ep[from].fin_step = true
    if c.first_fin == 0 then
        c.first_fin = 1 + from
        if c.closer == CLOSER_NONE then c.closer = role_closer(from) end
    end
    if c.first_fin == 1 + from then
        rec.td = set(rec.td, TD1)
    else
        rec.td = set(rec.td, TD3)
        if not b.rcv_fin_acked and not cl.acks_fin and not c.rst then c.closer = CLOSER_BOTH end
    end
end

local ILL_PRESENT, ILL_ACK_MISSING = 64, 128

local function illegal_of(fi)
    local ill = 0
    if not cl.valid_flags then
        ill = ILL_PRESENT
    elseif b.sync and not (fi.rst or fi.ack) then
        ill = ILL_PRESENT + ILL_ACK_MISSING
    end
    if ill == 0 then return 0 end
    return ill + fi.low6
end

local function detect_lifecycle(c, from, seg, fi)
    local rst = fi.rst
    local syn = fi.syn and not rst
    local an = 0
    if b.first_fin == 0 and c.first_fin ~= 0 then
        an = an + (from == CLIENT and AN.CLIENT_CLOSE or AN.SERVER_CLOSE)
    end
    if rst and synced_state(b.snd_st) and display(b.snd_st) ~= TIME_WAIT and b.snd_sent then
        an = an + (from == CLIENT and AN.CLIENT_RESET or AN.SERVER_RESET)
    end
    if rst and from == SERVER and b.snd_st == sLI and not b.rcv_done
        and (b.rcv_st == sSS or b.rcv_st == sSA or b.rcv_st == sCL) then
        an = an + AN.REFUSED
    elseif not b.conn_opened and (rst or (fi.fin and cl.valid_flags)) then
        an = an + AN.CLOSE_BEFORE_HANDSHAKE
    end
    if syn and cl.valid_flags and seg.len > 0 then an = an + AN.SYN_WITH_DATA end
    if syn and cl.valid_flags and synced_state(b.snd_st) and (not fi.ack or b.snd_st ~= sES) then
        an = an + AN.SYN_IN_SYNCHRONIZED
    end
    -- (CLOSED after LAST_ACK is left by its FIN again: the last ACK never arrived.)
    if not rst and (b.snd_st == sCL or (b.snd_st == sLC and c.ep[from].st == sLC)) and b.snd_done then
        an = an + AN.SEGMENT_AFTER_CLOSE
    end
    if cl.valid_flags and b.snd_fin and seg.len > 0
        and not seq_geq(b.snd_fin_seq, u32(seg.seq + seg.len)) then
        an = an + AN.DATA_AFTER_FIN
    end
    -- the guess of sTX (fsm.h): its FIN again crossed the peer's retransmission
    if b.snd_st == sTX and c.ep[from].st == sTX and fi.fin and cl.valid_flags then
        an = an + AN.CROSSED_RETRANSMISSION
    end
    if cl.valid_flags and fi.ack and b.rcv_fin and not seq_geq(u32(b.rcv_fin_seq + 1), seg.ack) then
        an = an + AN.ACK_BEYOND_FIN
    end
    return an
end

local function detect_rfc5961(c, from, seg, fi)
    local snd, rcv = c.ep[from], c.ep[1 - from]
    local rst = fi.rst
    local an = 0
    snd.challenge = false
    if b.snd_challenge and fi.ack and not fi.syn and not fi.fin and not rst and seg.len == 0 then
        an = an + AN.CHALLENGE_ACK
    end
    if rst and not cl.rst_accepted and snd.sent
        and (synced_state(b.rcv_st) or b.rcv_st == sSR or b.rcv_st == sSX) then
        if in_window(snd, rcv, seg.seq) then
            an = an + AN.RST_IN_WINDOW
            rcv.challenge = true
        else
            an = an + AN.RST_OUT_OF_WINDOW
        end
    end
    if rst and cl.rst_accepted and display(b.rcv_st) == TIME_WAIT then
        an = an + AN.TIME_WAIT_ASSASSINATION
    end
    if fi.syn and not fi.ack and not rst and synced_state(b.rcv_st) then rcv.challenge = true end
    if fi.syn and fi.ack and not rst and cl.valid_flags
        and (b.snd_st == sSR or b.snd_st == sES) and snd.st == sSR then
        an = an + AN.HALF_OPEN
        c.synack_retx_pending = true
    end
    if synchronized(c) then c.synack_retx_pending = false end
    return an
end

local function remember(c, from)
    local snd, rcv = c.ep[from], c.ep[1 - from]
    b.snd_st, b.rcv_st = snd.st, rcv.st
    b.snd_sent, b.snd_fin, b.snd_done = snd.sent, snd.fin, snd.done
    b.rcv_fin, b.rcv_fin_acked, b.rcv_done = rcv.fin, rcv.fin_acked, rcv.done
    b.snd_fin_seq, b.rcv_fin_seq = snd.fin_seq, rcv.fin_seq
    b.snd_challenge = snd.challenge
    b.conn_opened = c.opened
    b.first_fin = c.first_fin
    b.sync = synchronized(c)
end

-- float, as C's (float) cast: round to the nearest single-precision value
-- (ties to even).  Lua 5.2 has no string.pack; this is plain arithmetic.
local function fround(x)
    if x == 0 or x ~= x or x == math.huge or x == -math.huge then return x end
    local a = x < 0 and -x or x
    if a >= 3.4028235677973366e38 then return x < 0 and -math.huge or math.huge end
    local e = floor(math.log(a) / math.log(2))
    if 2 ^ e > a then e = e - 1 elseif 2 ^ (e + 1) <= a then e = e + 1 end
    if e < -126 then e = -126 end          -- subnormals: fixed quantum 2^-149
    local q = 2 ^ (e - 23)
    local m = a / q                        -- exact: a power-of-two scaling
    local r = floor(m)
    local frac = m - r
    if frac > 0.5 or (frac == 0.5 and r % 2 == 1) then r = r + 1 end
    r = r * q
    return x < 0 and -r or r
end
M.fround = fround

local function summarize(c, from, seg, fi)
    if c.segs0 + c.segs1 == 0 then c.first = seg.time end
    c.last = fround(seg.time - c.first)
    if from == CLIENT then
        c.segs0 = c.segs0 + 1
        c.bytes0 = c.bytes0 + seg.len
    else
        c.segs1 = c.segs1 + 1
        c.bytes1 = c.bytes1 + seg.len
    end
    if fi.syn and fi.ack and not fi.rst and cl.valid_flags then c.s_synack = true end
    if has(rec.anomalies, AN.REFUSED) then c.s_refused = true end
    if fi.rst and c.first_rst == 0 then c.first_rst = 1 + from end
    if has(rec.td, TD1) or has(rec.td, TD3) then c.s_one_fin = true end
    if has(rec.td, TD3) and c.first_rst == 0 then
        c.s_both_fins = true
        if has(rec.td, TD2) then c.s_combined_fin = true end
    end
    if seg.len > 0 and cl.acks_fin and c.first_fin == 1 + (1 - from) and not b.snd_fin then
        c.s_data_after_fin = true
    end
end

-- The segment as Zeek's emulation takes it (ts_zeek_seg); reused.
local zs = { ts_sec = 0, ts_nsec = 0, seq = 0, ack = 0, len = 0, flags = 0, win = 0,
             sport = 0, dport = 0, from_first = false, truncated = false, bad_checksum = false }

-- Zeek's view of the segment: true, and the Zeek connection that ended,
-- if Zeek began a new connection with it.
local function zeek_view(c, from, seg, first, fi)
    local secs = seg.time < 0 and 0 or seg.time
    if first and from == SERVER then c.s_first_server = true end
    local sec = floor(secs)
    zs.ts_sec = sec
    zs.ts_nsec = floor((secs - sec) * 1e9)
    zs.seq, zs.ack, zs.len, zs.flags = seg.seq, seg.ack, seg.len, fi.low6
    zs.win = seg.win > 65535 and 65535 or seg.win
    zs.sport, zs.dport = seg.sport, seg.dport
    zs.from_first = (from == SERVER) == c.s_first_server
    zs.truncated = seg.truncated
    zs.bad_checksum = seg.bad_checksum and not seg.truncated
    local new, old = Z.segment(c.zeek, zs)
    if not new or first then return false, nil end
    return true, old or Z.new()
end

local function mark_done(ep, st_before)
    if display(ep.st) == CLOSED and display(st_before) ~= CLOSED then ep.done = true end
end

-- What ts_conn_track tells its caller (TS_TRACK_*); reused.
local track = { half_open_begin = false, half_open_end = false, zeek_new = false, zeek_before = nil }
M.track = track

-- ts_conn_track: one segment of connection c.  seg: time, stream, seq, ack,
-- len, win, src_key, dst_key, flags, sport, dport, truncated, bad_checksum.
-- Fills M.rec and M.track.
function M.conn_track(c, seg)
    local fi = flaginfo(seg.flags)
    rec.anomalies, rec.hs, rec.td, rec.illegal = 0, 0, 0, 0
    rec.from_server, rec.midstream, rec.first, rec.invalid = false, false, false, false
    track.half_open_begin, track.half_open_end, track.zeek_new, track.zeek_before =
        false, false, false, nil

    if not c.used then
        conn_start(c, seg, fi)
        rec.first = true
        if fi.syn and not fi.ack and not fi.rst and fi.valid then
            c.half_open = true
            track.half_open_begin = true
        end
    end

    rec.cprev = DISPLAY[c.ep[CLIENT].st]
    rec.sprev = DISPLAY[c.ep[SERVER].st]
    local first_segment = rec.first
    if restart_probed(c, seg, fi) then rec.first = true end

    local from = from_client(c, seg) and CLIENT or SERVER
    local snd, rcv = c.ep[from], c.ep[1 - from]

    remember(c, from)

    classify(snd, rcv, seg, fi)
    local fin_ok = step_sender(snd)
    step_receiver(rcv, seg.bad_checksum)
    mark_done(snd, b.snd_st)
    mark_done(rcv, b.rcv_st)
    note_close(c, from, fi, fin_ok)
    learn(snd, rcv, seg, fi)

    if not b.sync and synchronized(c) and (handshake_state(b.snd_st) or handshake_state(b.rcv_st)) then
        c.opened = true
        rec.hs = set(rec.hs, HS3)
    end

    rec.illegal = illegal_of(fi)
    local an = detect_lifecycle(c, from, seg, fi) + detect_rfc5961(c, from, seg, fi)
    if rec.illegal ~= 0 then an = an + AN.ILLEGAL_FLAGS end
    if fi.res then an = an + AN.RESERVED_BITS end
    if rec.hs ~= 0 then an = an + AN.HANDSHAKE_STEP end
    if rec.td ~= 0 then an = an + AN.TEARDOWN_STEP end
    if rec.first and c.midstream then an = an + AN.ROLES_GUESSED end
    if rec.invalid and not (has(an, AN.SEGMENT_AFTER_CLOSE) or has(an, AN.SYN_IN_SYNCHRONIZED)
                            or has(an, AN.CLOSE_BEFORE_HANDSHAKE)) then
        an = an + AN.UNEXPECTED_SEGMENT
    end
    rec.anomalies = an

    summarize(c, from, seg, fi)
    local znew, zold = zeek_view(c, from, seg, first_segment, fi)
    if znew then
        track.zeek_new = true
        track.zeek_before = zold
    end

    if c.half_open and (synchronized(c) or display(c.ep[CLIENT].st) == CLOSED
                        or display(c.ep[SERVER].st) == CLOSED) then
        c.half_open = false
        track.half_open_end = true
    end

    rec.stream = seg.stream
    rec.cst = DISPLAY[c.ep[CLIENT].st]
    rec.sst = DISPLAY[c.ep[SERVER].st]
    rec.closer = c.closer
    rec.from_server = from == SERVER
    rec.midstream = c.midstream
    return rec
end

-- ---- summary.c -------------------------------------------------------------

function M.outcome(c)
    if c.midstream then return OUTCOME.MIDSTREAM end
    if c.s_refused then return OUTCOME.REFUSED end
    if c.s_both_fins then return OUTCOME.COMPLETE end
    if c.first_rst ~= 0 then
        return c.first_rst == 1 + CLIENT and OUTCOME.RESET_BY_CLIENT or OUTCOME.RESET_BY_SERVER
    end
    if c.s_one_fin then return OUTCOME.HALF_CLOSED end
    if c.opened then return OUTCOME.OPEN end
    if c.s_synack then return OUTCOME.HALF_OPEN end
    return OUTCOME.NO_ANSWER
end

function M.close_style(c)
    if c.closer == CLOSER_BOTH then return STYLE.SIMULTANEOUS end
    if c.first_rst ~= 0 and not c.s_both_fins then
        return c.first_rst == 1 + CLIENT and STYLE.RST_BY_CLIENT or STYLE.RST_BY_SERVER
    end
    if c.s_data_after_fin then return STYLE.HALF_CLOSE end
    if not c.s_both_fins then return 0 end
    return c.s_combined_fin and STYLE.THREE_SEGMENT or STYLE.FOUR_SEGMENT
end

function M.half_open_pending(c) return c.synack_retx_pending end

function M.client_state(c) return DISPLAY[c.ep[CLIENT].st] end
function M.server_state(c) return DISPLAY[c.ep[SERVER].st] end

-- ---- connstats.c -----------------------------------------------------------

function M.new_connstats()
    return { first = 0, last = 0, syn = -1, synack = -1, opened = -1, cw_since = -1,
             f2_since = -1, cw_max = 0, f2_max = 0, segments = 0, illegal = 0, warnings = 0 }
end

local function stay(s, inside, t, since_k, max_k)
    local since = s[since_k]
    if inside and since < 0 then
        s[since_k] = t
    elseif not inside and since >= 0 then
        if t - since > s[max_k] then s[max_k] = t - since end
        s[since_k] = -1
    end
end

-- ts_connstats_add, from a record's fields (anomalies, illegal, hs, from_server, cst, sst).
function M.connstats_add(s, anomalies, illegal, hs, from_server, cst, sst, t)
    if s.segments == 0 then
        s.first = t
        s.syn, s.synack, s.opened, s.cw_since, s.f2_since = -1, -1, -1, -1, -1
    end
    s.segments = s.segments + 1
    s.last = t
    if illegal ~= 0 then s.illegal = s.illegal + 1 end
    if anomalies ~= 0 then
        for i = 1, #WARN_BITS do
            if has(anomalies, WARN_BITS[i]) then s.warnings = s.warnings + 1 end
        end
    end
    if has(hs, HS1) and not from_server and s.syn < 0 then s.syn = t end
    if has(hs, HS2) and s.synack < 0 then s.synack = t end
    if has(hs, HS3) and s.opened < 0 then s.opened = t end
    stay(s, cst == ST_CLOSE_WAIT or sst == ST_CLOSE_WAIT, t, "cw_since", "cw_max")
    stay(s, cst == ST_FIN_WAIT2 or sst == ST_FIN_WAIT2, t, "f2_since", "f2_max")
end

local function between(from, to)
    if from >= 0 and to >= from then return to - from end
    return -1
end
function M.syn_to_synack(s) return between(s.syn, s.synack) end
function M.synack_to_ack(s) return between(s.synack, s.opened) end
function M.handshake_time(s) return between(s.syn, s.opened) end
local function longest(max, since, last)
    if since >= 0 and last - since > max then return last - since end
    return max
end
function M.close_wait_time(s) return longest(s.cw_max, s.cw_since, s.last) end
function M.fin_wait2_time(s) return longest(s.f2_max, s.f2_since, s.last) end

-- ---- flood.c ---------------------------------------------------------------

local U32_MAX = 4294967295

-- A SYN-flood detector for one capture file: conn_of(stream) gives the
-- connection of a stream.  window in seconds; threshold 0 turns it off.
-- As flood.c, times are whole milliseconds since the file's first SYN.
function M.new_flood(threshold, window_seconds, conn_of)
    local F = { threshold = threshold, servers = {}, by_key = {}, nservers = 0,
                window_ms = window_seconds > floor(U32_MAX / 1000) and U32_MAX or window_seconds * 1000,
                base = nil }

    -- ms_of: a time as milliseconds since the file's first SYN
    local function ms_of(time)
        if not F.base then F.base = time end
        local ms = (time - F.base) * 1000.0
        if not (ms > 0) then return 0 end
        if ms >= U32_MAX then return U32_MAX end
        return floor(ms)
    end

    local function server_of(seg)
        local key = tostring(seg.dst_key) .. "|" .. seg.dport
        local idx = F.by_key[key]
        if not idx then
            F.nservers = F.nservers + 1
            idx = F.nservers
            F.servers[idx] = { ms = {}, streams = {}, head = 1, tail = 0, half_open = 0,
                               alarmed = false }
            F.by_key[key] = idx
        end
        return F.servers[idx], idx
    end

    local function uncount(s, c)
        if not c.flood_counted then return end
        c.flood_counted = false
        s.half_open = s.half_open - 1
        if s.alarmed and s.half_open < floor(F.threshold / 2) then s.alarmed = false end
    end

    local function expire(s, now)
        local w = F.window_ms
        while s.head <= s.tail do
            if now < w or s.ms[s.head] >= now - w then break end
            uncount(s, conn_of(s.streams[s.head]))
            s.ms[s.head], s.streams[s.head] = nil, nil
            s.head = s.head + 1
        end
    end

    local function distinct_sources(s)
        local seen, n = {}, 0
        for i = s.head, s.tail do
            local c = conn_of(s.streams[i])
            if c.flood_counted then
                local k = c.client_key or ""
                if not seen[k] then
                    seen[k] = true
                    n = n + 1
                end
            end
        end
        return n
    end

    -- ts_flood_begin: nil, or the alarm {half_open, sources, window}.
    function F.begin(c, stream, seg, time)
        if F.threshold == 0 then return nil end
        local ms = ms_of(time)
        local s, idx = server_of(seg)
        c.flood_server = idx
        expire(s, ms)
        s.tail = s.tail + 1
        s.ms[s.tail], s.streams[s.tail] = ms, stream
        c.flood_counted = true
        s.half_open = s.half_open + 1
        if s.alarmed or s.half_open < F.threshold then return nil end
        s.alarmed = true
        return { half_open = s.half_open, sources = distinct_sources(s),
                 window = floor(F.window_ms / 1000) }
    end

    -- ts_flood_end
    function F.end_(c)
        local s = F.servers[c.flood_server or 0]
        if s then uncount(s, c) end
    end

    return F
end

return M
end
