-- tcpstate_zeek.lua - Zeek's conn.log conn_state and history, a port of plugin/core/zeek.c
--
-- SPDX-License-Identifier: GPL-2.0-or-later
--
-- Pure Lua, valid in 5.2 (Wireshark 4.0) and 5.4 (Wireshark 4.4+): no
-- Wireshark API, no bit operators, no globals.  Loaded by tcpstate.lua;
-- loaded alone (Wireshark loads every .lua file of its plugin folders) it
-- only returns a table.
--
-- The C emulation packs its state into 24 bytes; this port keeps the same
-- quantities in one flat Lua table and reproduces its approximations
-- exactly: Zeek's LastSeq kept as its low 20 bits, the retransmission
-- counter saturating at 127, the zero-window and gap counters at 10, the
-- first 15 history letters, one pending timer in 1/128 s modulo 2^29.
-- docs/zeek-mapping.md explains the rules; every function below is named
-- after its C counterpart in plugin/core/zeek.c.

local floor, find, lower = math.floor, string.find, string.lower

local M = {}

-- ---- Zeek's constants --------------------------------------------------

local TICKS = 128
local T_ATTEMPT = 5 * TICKS
local T_CLOSE = 5 * TICKS
local T_RESET_EXPIRE = 5 * TICKS
local T_PARTIAL_CLOSE = 3 * TICKS
local T_NOTHING_VALID = 11 * TICKS
local T_INACT_HANDSHAKE = 60 * TICKS
local T_INACT = 300 * TICKS
local T_INACT_LONG = 3600 * TICKS

local SEQ_MOD = 1048576          -- 2^20
local SEQ_HALF = 524288          -- 2^19
local TM_MOD = 536870912         -- 2^29
local TM_HALF = 268435456        -- 2^28
local U32 = 4294967296           -- 2^32
local HIST_MAX = 15

local TK_INACT, TK_ATTEMPT, TK_DELETE, TK_EMPTY = 0, 1, 2, 3

-- endpoint states (Zeek's TCP_INACTIVE ... TCP_RESET)
local INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET = 0, 1, 2, 3, 4, 5, 6
M.INACTIVE, M.SYN_SENT, M.SYN_ACK_SENT, M.PARTIAL = INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL
M.ESTABLISHED, M.CLOSED, M.RESET = ESTABLISHED, CLOSED, RESET

-- coarse previous state
local PV_INACTIVE, PV_ESTABLISHED, PV_CLOSED, PV_OTHER = 0, 1, 2, 3

-- TCP flag bits of the segment's flags (tcp.flags & 0x3F)
local F_FIN, F_SYN, F_RST, F_ACK = 1, 2, 4, 16

-- The state of one Zeek connection: a flat table.  Per endpoint e (0 = the
-- tcp.stream's first sender, 1 = the other) at index <field> + e:
local SEQ = 1    -- LastSeq, low 20 bits
local RX = 3     -- retransmissions, saturating at 127
local ST = 5     -- endpoint state
local PV = 7     -- previous state, coarse
local DC = 9     -- did_close
local HOLE = 11  -- the endpoint's payload has a hole
local HTR = 13   -- ... left by a payload that was not captured
local W = 15     -- zero windows, saturating at 10
local G = 17     -- content gaps, saturating at 10
-- and by name: deadline, kind, long (1 h inactivity timeout), hist (the
-- history letters, a string), orig2 (Zeek's originator is endpoint 1).

local function reset(z)
    z[1], z[2], z[3], z[4], z[5], z[6], z[7], z[8], z[9] = 0, 0, 0, 0, 0, 0, 0, 0, false
    z[10], z[11], z[12], z[13], z[14], z[15], z[16], z[17], z[18] =
        false, false, false, false, false, 0, 0, 0, 0
    z.deadline, z.kind, z.long, z.hist, z.orig2 = 0, TK_INACT, false, "", false
end

-- A new, empty Zeek connection state (all zero, as the C struct).
function M.new()
    local z = {}
    reset(z)
    return z
end

function M.copy(z)
    local c = {}
    for i = 1, 18 do c[i] = z[i] end
    c.deadline, c.kind, c.long, c.hist, c.orig2 = z.deadline, z.kind, z.long, z.hist, z.orig2
    return c
end

-- ---- small helpers -------------------------------------------------------

local function orig_ep(z) return z.orig2 and 1 or 0 end

-- TCP_Endpoint::SetState: remember the previous state on a change.
local function set_state(z, e, s)
    local old = z[ST + e]
    if s == old then return end
    z[PV + e] = old == INACTIVE and PV_INACTIVE or old == ESTABLISHED and PV_ESTABLISHED
        or old == CLOSED and PV_CLOSED or PV_OTHER
    z[ST + e] = s
end

local function set_timer(z, kind, when)
    z.kind = kind
    z.deadline = when % TM_MOD
end

-- Signed difference of two 20-bit sequence numbers (Zeek's seq_delta).
local function sdelta(a, b)
    local d = (a - b) % SEQ_MOD
    if d >= SEQ_HALF then return d - SEQ_MOD end
    return d
end

-- ---- history letters -----------------------------------------------------

local function has_letter(z, c)
    return find(z.hist, c, 1, true) ~= nil
end

-- Session::AddHistory.  Beyond 15 letters the letter is dropped.
local function add_letter(z, c)
    local h = z.hist
    if #h < HIST_MAX then z.hist = h .. c end
end

-- The letter for endpoint e in its current role (upper case = originator).
local function role_letter(z, e, up)
    if e == orig_ep(z) then return up end
    return lower(up)
end

-- Connection::FlipRoles: swap originator and responder, append '^'.
local function flip_roles(z)
    z.orig2 = not z.orig2
    add_letter(z, "^")
end

-- TCP_Endpoint::CheckHistory + Session::CheckHistory (see zeek.c).
local function check_history(z, e, up, alt_up)
    if (up == "A" or up == "D") and z.hist == "H" then
        z.orig2 = not z.orig2
        z.hist = "^h"
    end
    local c = role_letter(z, e, up)
    if has_letter(z, c) or (alt_up and has_letter(z, role_letter(z, e, alt_up))) then
        return true
    end
    add_letter(z, c)
    return false
end

-- Session::ScaledHistoryEntry: the letter at the 1st, 10th, 100th event.
local function scaled(z, e, up, cnt)
    if cnt == 1 or cnt == 10 or cnt == 100 then add_letter(z, role_letter(z, e, up)) end
end

local function did_rxmit(z, e)       -- TCP_Endpoint::DidRxmit
    local c = z[RX + e]
    if c < 127 then
        c = c + 1
        z[RX + e] = c
        scaled(z, e, "T", c)
    end
end

local function zero_window(z, e)     -- TCP_Endpoint::ZeroWindow
    local c = z[W + e]
    if c == 10 then return end
    c = c + 1
    z[W + e] = c
    scaled(z, e, "W", c)
end

local function content_gap(z, e)     -- TCP_Endpoint::Gap
    local c = z[G + e]
    if c == 10 then return end
    c = c + 1
    z[G + e] = c
    scaled(z, e, "G", c)
end

-- ---- likely_server_ports -------------------------------------------------

local DEFAULT_SERVER_PORTS = {
    21, 22, 25, 53, 79, 80, 81, 88, 135, 139, 143, 389, 443, 445, 465, 502,
    514, 563, 585, 587, 614, 631, 636, 989, 990, 992, 993, 995, 1080, 1434,
    1883, 2811, 3128, 3268, 3306, 3389, 5222, 5223, 5269, 5432, 6379, 6666,
    6667, 6668, 6669, 8000, 8080, 8888, 20000
}
local function port_set(list)
    local s = {}
    for _, p in ipairs(list) do s[p] = true end
    return s
end
local default_ports = port_set(DEFAULT_SERVER_PORTS)
local server_ports = default_ports

-- ts_zeek_set_server_ports: a list of ports (at most 64), or nil for the default.
function M.set_server_ports(list)
    if not list then
        server_ports = default_ports
        return
    end
    local l = {}
    for i = 1, math.min(#list, 64) do l[i] = list[i] end
    server_ports = port_set(l)
end

local function likely_server_port(p) return server_ports[p] == true end
M.likely_server_port = likely_server_port

local function long_timeout_port(p)
    return p == 21 or p == 22 or p == 23 or p == 513
end

-- ---- helpers on the whole connection -------------------------------------

local function ticks(s)
    return (s.ts_sec * TICKS + floor(s.ts_nsec / 7812500)) % TM_MOD
end

local function started(z)
    return z.hist ~= "" or z[ST] ~= INACTIVE or z[ST + 1] ~= INACTIVE
end

local function in_handshake(s)
    return s == INACTIVE or s == SYN_SENT or s == SYN_ACK_SENT
end

-- TCPSessionAdapter::AttemptTimer's condition.
local function attempt_pending(z)
    local o = orig_ep(z)
    local so = z[ST + o]
    return (so == SYN_SENT or so == SYN_ACK_SENT) and z[ST + 1 - o] == INACTIVE
end

-- TCPAnalyzer::WantConnection
local function want_flip(s)
    local syn = s.flags % 4 >= 2
    local ack = s.flags % 32 >= 16
    if syn and not ack then return false end
    if not likely_server_port(s.sport) then return false end
    if likely_server_port(s.dport) then return not syn and s.sport < s.dport end
    return true
end

-- A new Zeek connection begins with segment s, sent by endpoint e.
local function begin(z, s, e, now)
    reset(z)
    if e == 1 then z.orig2 = true end
    if want_flip(s) then flip_roles(z) end
    set_timer(z, TK_INACT, now + T_INACT_HANDSHAKE)
end

-- TCPSessionAdapter::IsReuse
local function is_reuse(z, s, seq, end_, syn, ack)
    if not syn then return false end
    local o = orig_ep(z)
    local r = 1 - o
    local co = o
    if ack then
        if z[ST + o] ~= INACTIVE then return false end
        co = r
    end
    if not z[DC] and not z[DC + 1] then
        if z[ST + co] == INACTIVE then
            if seq == z[SEQ + co] then return false end
        elseif end_ == z[SEQ + co] then
            return false
        end
        if not ack and z[ST + co] == SYN_ACK_SENT and z[ST + r] == INACTIVE
            and seq == z[SEQ + r] then
            return false
        end
    end
    return true
end

local function timer_expires(z, now)
    local d = (now - z.deadline) % TM_MOD
    if d >= TM_HALF then return false end
    local k = z.kind
    if k == TK_ATTEMPT then return attempt_pending(z) end
    if k == TK_EMPTY then return z[ST] == INACTIVE and z[ST + 1] == INACTIVE end
    return true
end

-- is_clean() in TCP_Reassembler.cc
local function clean(z, e)
    local s = z[ST + e]
    return s == ESTABLISHED or (s == CLOSED and z[PV + e] == PV_ESTABLISHED)
end

-- The timers one segment arms (struct arm in zeek.c); reused.
local arm = { close_delay = 0, attempt = false }

-- TCPSessionAdapter::ConnectionClosed
local function conn_closed(z, e)
    local p = 1 - e
    if z[DC + e] then return end
    z[DC + e] = true
    if z[ST + e] == RESET or z[DC + p] or z[ST + p] == INACTIVE then
        arm.close_delay = T_CLOSE
    elseif z[PV + e] == PV_INACTIVE then
        arm.close_delay = T_PARTIAL_CLOSE
    end
end

-- TCPSessionAdapter::UpdateStateMachine and its helpers.
local function state_machine(z, s, e, is_orig, syn, fin, rst, ack)
    local p = 1 - e
    local do_close = false
    local se = z[ST + e]

    if se == INACTIVE then
        if syn then
            if is_orig then
                set_state(z, e, ack and SYN_ACK_SENT or SYN_SENT)
                arm.attempt = true
            else
                if not ack and z[ST + p] == SYN_ACK_SENT then
                    flip_roles(z)
                    set_state(z, p, ESTABLISHED)
                end
                if z[ST + p] == SYN_SENT then set_state(z, p, ESTABLISHED) end
                set_state(z, e, ESTABLISHED)
                if z[ST + p] ~= PARTIAL then
                    local o = orig_ep(z)
                    local resp_p = (e == o) and s.dport or s.sport
                    local orig_p = (e == o) and s.sport or s.dport
                    local svc = resp_p
                    if z[ST + o] == INACTIVE and not likely_server_port(resp_p)
                        and likely_server_port(orig_p) then
                        svc = orig_p
                    end
                    if long_timeout_port(svc) then z.long = true end
                end
            end
        end
        if fin then
            set_state(z, e, CLOSED)
            do_close = true
        end
        if rst then
            set_state(z, e, RESET)
            do_close = true
        end
        if z[ST + e] == INACTIVE then
            if not is_orig and s.len == 0 and z[ST + orig_ep(z)] == SYN_SENT then
                -- ACK of a SYN before the SYN-ACK
            elseif ack and z[ST + p] == ESTABLISHED then
                set_state(z, e, ESTABLISHED)
            else
                set_state(z, e, PARTIAL)
            end
        end
    elseif se == SYN_SENT or se == SYN_ACK_SENT then
        if fin then
            set_state(z, e, CLOSED)
            do_close = true
        end
        if rst then
            set_state(z, e, RESET)
            do_close = true
        end
    elseif se == ESTABLISHED or se == PARTIAL then
        if syn and se == PARTIAL and z[ST + p] == INACTIVE and not ack then
            set_state(z, e, SYN_SENT)
        end
        if fin and not rst then
            set_state(z, e, CLOSED)
            if z[ST + p] == RESET and z[PV + p] == PV_CLOSED then set_state(z, p, CLOSED) end
            do_close = true
        end
        if rst then
            set_state(z, e, RESET)
            do_close = true
        end
    elseif se == CLOSED then
        if rst and z[ST + p] ~= CLOSED then
            set_state(z, e, RESET)
            if not z[DC + e] then
                do_close = true
            elseif arm.close_delay == 0 then
                arm.close_delay = T_RESET_EXPIRE
            end
        end
    end

    if do_close then conn_closed(z, e) end
end

-- ts_zeek_segment.  s: ts_sec, ts_nsec, seq, ack, len, flags (TCP bits,
-- only the low six matter), win, sport, dport, from_first, bad_checksum,
-- truncated.  Returns true if the segment began a new Zeek connection and,
-- if the state held an earlier connection, a copy of it.
function M.segment(z, s)
    local new, old = false, nil
    local e = s.from_first and 0 or 1
    local p = 1 - e
    local now = ticks(s)
    local f = s.flags % 64
    local fin, syn = f % 2 == 1, f % 4 >= 2
    local rst, ack = f % 8 >= 4, f % 32 >= 16
    local seg_len = s.len + (syn and 1 or 0) + (fin and 1 or 0)
    if rst then seg_len = seg_len - s.len end
    local seq = s.seq % SEQ_MOD
    local end_ = (s.seq + seg_len) % SEQ_MOD

    -- Session lookup: timers due before this packet, then IsReuse.
    if not started(z) or timer_expires(z, now) or is_reuse(z, s, seq, end_, syn, ack) then
        if started(z) then old = M.copy(z) end
        begin(z, s, e, now)
        new = true
    end

    -- TCPAnalyzer::ValidateChecksum: dropped, history c/C (first only)
    if s.bad_checksum then
        local c = role_letter(z, e, "C")
        if not has_letter(z, c) then add_letter(z, c) end
        if new then set_timer(z, TK_EMPTY, now + T_NOTHING_VALID) end
        return new, old
    end

    local is_orig = e == orig_ep(z)
    local state_before = z[ST + e]
    arm.close_delay, arm.attempt = 0, false

    -- init_endpoint: only its effect on LastSeq is kept
    if state_before == INACTIVE then
        z[SEQ + e] = syn and end_ or seq
    elseif state_before == SYN_SENT or state_before == SYN_ACK_SENT then
        if syn and end_ ~= z[SEQ + e] then z[SEQ + e] = end_ end
    elseif state_before == ESTABLISHED or state_before == PARTIAL then
        if syn then z[SEQ + e] = end_ end
    elseif state_before == RESET then
        if syn and z[PV + e] == PV_INACTIVE then z[SEQ + e] = end_ end
    end

    -- update_history
    if (syn and 1 or 0) + (fin and 1 or 0) + (rst and 1 or 0) > 1 then
        check_history(z, e, (fin and rst) and "I" or "Q", nil)
    elseif syn then
        check_history(z, e, ack and "H" or "S", ack and "S" or "H")
    elseif fin then
        if check_history(z, e, "F", nil) and end_ ~= z[SEQ + e] then
            add_letter(z, role_letter(z, e, "F"))
        end
    elseif rst then
        if check_history(z, e, "R", nil) and seq ~= z[SEQ + e] then
            add_letter(z, role_letter(z, e, "R"))
        end
    elseif s.len > 0 then
        check_history(z, e, "D", nil)
    elseif ack then
        check_history(z, e, "A", nil)
    end

    -- update_window: zero windows
    if s.win == 0 and not rst and z[ST + p] ~= CLOSED and z[ST + e] ~= RESET then
        zero_window(z, e)
    end

    -- init_peer
    local peer_inactive = z[ST + p] == INACTIVE
    if ack and peer_inactive then z[SEQ + p] = (s.ack - 1) % SEQ_MOD end

    -- update_last_seq: retransmissions, and where the payload has holes
    local truncated = s.truncated
    if truncated and s.len > 0 and not rst then
        z[HOLE + e] = true
        z[HTR + e] = true
    end
    if z[ST + e] ~= RESET then
        local d = sdelta(end_, z[SEQ + e])
        if d > 0 then
            local ds = sdelta(seq, z[SEQ + e])
            if state_before ~= INACTIVE and not rst and ds > 0 then
                z[HOLE + e] = true
                z[HTR + e] = truncated and true or false
            elseif ds < 0 and s.len > 0 and not truncated and not rst then
                z[HOLE + e] = false
            end
            z[SEQ + e] = end_
        elseif s.len > 0 then
            did_rxmit(z, e)
            if not truncated and not rst then z[HOLE + e] = false end
        end
    end

    state_machine(z, s, e, is_orig, syn, fin, rst, ack)

    -- peer->AckReceived -> TCP_Reassembler::Undelivered -> Gap
    if ack and not peer_inactive then
        local sp = z[ST + p]
        local pfin = sp == CLOSED or (sp == RESET and z[PV + p] == PV_CLOSED)
        local data_end = (z[SEQ + p] - (pfin and 1 or 0)) % SEQ_MOD
        local a = s.ack % SEQ_MOD
        if pfin and sdelta(a, data_end) > 0 then a = data_end end
        local d = sdelta(a, data_end)
        local gap = false
        if d > 0 then
            gap = true
            z[SEQ + p] = a
        elseif z[HOLE + p] and (d == 0 or z[HTR + p]) then
            gap = true
        end
        if gap then
            z[HOLE + p] = false
            if clean(z, e) and clean(z, p) then content_gap(z, p) end
        end
    end

    -- Timers.  Only the one that would fire first is kept.
    if arm.close_delay ~= 0 then
        set_timer(z, TK_DELETE, now + arm.close_delay)
    elseif z.kind == TK_DELETE then
        -- keep it
    elseif arm.attempt then
        set_timer(z, TK_ATTEMPT, now + T_ATTEMPT)
    elseif z.kind == TK_ATTEMPT and attempt_pending(z) then
        -- keep it
    else
        local t = T_INACT
        if in_handshake(z[ST]) and in_handshake(z[ST + 1]) then
            t = T_INACT_HANDSHAKE
        elseif z.long then
            t = T_INACT_LONG
        end
        set_timer(z, TK_INACT, now + t)
    end
    return new, old
end

-- ---- results ---------------------------------------------------------------

function M.history(z) return z.hist end

function M.orig_is_first(z) return not z.orig2 end

function M.orig_state(z) return z[ST + orig_ep(z)] end

function M.resp_state(z) return z[ST + 1 - orig_ep(z)] end

local EP_NAMES = { [0] = "TCP_INACTIVE", "TCP_SYN_SENT", "TCP_SYN_ACK_SENT", "TCP_PARTIAL",
    "TCP_ESTABLISHED", "TCP_CLOSED", "TCP_RESET" }
function M.ep_state_name(s) return EP_NAMES[s] or "?" end

-- The history matches /^?S[^HAFGIQ]*R.*/
local function rstos0_history(h)
    return find(h, "^%^?S[^HAFGIQ]*R") ~= nil
end

local function any_data(h)
    return find(h, "[Dd]") ~= nil
end

-- conn_state() of scripts/base/protocols/conn/main.zeek.
function M.conn_state(z)
    if not started(z) then return "" end
    local os, rs = M.orig_state(z), M.resp_state(z)
    local o_inactive = os == INACTIVE or os == PARTIAL
    local r_inactive = rs == INACTIVE or rs == PARTIAL
    local h = z.hist

    if rs == RESET then
        if os == SYN_SENT or os == SYN_ACK_SENT or (os == RESET and not any_data(h)) then
            return "REJ"
        end
        return o_inactive and "RSTRH" or "RSTR"
    end
    if os == RESET then
        if r_inactive then return rstos0_history(h) and "RSTOS0" or "OTH" end
        return "RSTO"
    end
    if rs == CLOSED and os == CLOSED then return "SF" end
    if os == CLOSED then return r_inactive and "SH" or "S2" end
    if rs == CLOSED then return o_inactive and "SHR" or "S3" end
    if os == SYN_SENT and rs == INACTIVE then return "S0" end
    if os == ESTABLISHED and rs == ESTABLISHED then return "S1" end
    return "OTH"
end

M.U32 = U32
return M
