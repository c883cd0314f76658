-- run_scenarios.lua - tests/unit/scenarios.txt through the Lua twin's core,
-- without Wireshark: the same checks as `test_fsm scenario` (tests/unit/test_fsm.c)
--
-- SPDX-License-Identifier: GPL-2.0-or-later
--
--   lua5.2 tests/lua/run_scenarios.lua lua-compat tests/unit/scenarios.txt
--   lua5.4 tests/lua/run_scenarios.lua lua-compat tests/unit/scenarios.txt
--
-- Per segment: both states, hs=, td=, closer= (sticky), mid, invalid, an=,
-- ill=, from=, int=, out=, style=, and that the step and roles_guessed
-- anomalies match the record.  Then, as the C test does, that every
-- producible cell of the transition table was exercised.  Exit status 0
-- if all pass.

local dir, path = arg[1], arg[2]
if not dir or not path then
    io.stderr:write("usage: run_scenarios.lua LUA_COMPAT_DIR SCENARIOS\n")
    os.exit(2)
end
dir = dir:gsub("/*$", "/")

local T = dofile(dir .. "tcpstate_tables.lua")
local Z = dofile(dir .. "tcpstate_zeek.lua")
local C = dofile(dir .. "tcpstate_core.lua")(T, Z)

local failures, nseg, nscen = 0, 0, 0
local function fail(name, line, msg)
    io.stderr:write(string.format("FAIL %s:%d: %s\n", name, line, msg))
    failures = failures + 1
end

local STATE_VALUE = {}
for _, s in ipairs(T.states) do STATE_VALUE[s.name] = s.value end
local ALIAS = {}
for name, v in pairs(T.fsm_states) do ALIAS[v] = name end
local AN_BY_NAME = {}
for i, a in ipairs(T.anomalies) do AN_BY_NAME[a.name] = 2 ^ (i - 1) end
local DERIVED = C.AN.HANDSHAKE_STEP + C.AN.TEARDOWN_STEP + C.AN.ROLES_GUESSED
local CLOSERS = { none = 0, client = 1, server = 2, both = 3 }
local OUTCOMES, STYLES = { none = 0 }, { none = 0 }
for _, o in ipairs(T.outcomes) do OUTCOMES[o.name] = o.value end
for _, s in ipairs(T.close_styles) do STYLES[s.name] = s.value end

local FLAG_BITS = { F = 1, S = 2, R = 4, P = 8, A = 16, U = 32, E = 64, C = 128, N = 256, X = 2048 }
local function parse_flags(s)
    if s == "0" then return 0 end
    local f = 0
    for ch in s:gmatch(".") do
        local bit = FLAG_BITS[ch]
        if not bit then return nil end
        f = f + bit
    end
    return f
end

local function parse_bits(s)
    local bits = 0
    for n in s:gmatch("[^,]+") do
        local v = tonumber(n)
        if not v or v < 1 or v > 7 then return nil end
        bits = C.set(bits, 2 ^ v)
    end
    return bits
end

local function bits_str(bits)
    local t = {}
    for i = 0, 7 do if C.has(bits, 2 ^ i) then t[#t + 1] = tostring(i) end end
    return #t > 0 and table.concat(t, ",") or "-"
end

local function anomalies_str(bits)
    local t = {}
    for i, a in ipairs(T.anomalies) do
        if C.has(bits, 2 ^ (i - 1)) then t[#t + 1] = a.name end
    end
    return #t > 0 and table.concat(t, ",") or "-"
end

C.hits = {}

local fh = assert(io.open(path, "r"))
local name, lineno, last_line = "?", 0, 0
local summarized = true
local cport, sport, closer = 40000, 80, 0
local conn = C.new_conn()
local seg = { time = 0, stream = 0, seq = 0, ack = 0, len = 0, win = 65535, src_key = "A",
              dst_key = "B", flags = 0, sport = 0, dport = 0, truncated = false,
              bad_checksum = false }

for raw in fh:lines() do
    lineno = lineno + 1
    local line = raw:gsub("#.*$", ""):match("^%s*(.-)%s*$")
    if line == "" then
        -- nothing
    elseif line:match("^scenario") then
        if not summarized then fail(name, last_line, "the scenario's last segment needs out= and style=") end
        summarized = false
        name = line:match("^scenario%s+(%S+)") or "?"
        conn = C.new_conn()
        cport, sport, closer = 40000, 80, 0
        nscen = nscen + 1
    elseif line:match("^ports") then
        local a, b = line:match("^ports%s+(%d+)%s+(%d+)")
        if not a then fail(name, lineno, "ports: want two numbers") end
        cport, sport = tonumber(a), tonumber(b)
    else
        local lhs, rhs = line:match("^(.-)%->(.*)$")
        if not lhs then
            fail(name, lineno, "no '->'")
        else
            local who, flags, seq, ack, rest = lhs:match("^(%S+)%s+(%S+)%s+(%d+)%s+(%d+)(.*)$")
            local f = flags and parse_flags(flags)
            if not who or (who ~= "a" and who ~= "b") then
                fail(name, lineno, "want: a|b FLAGS SEQ ACK [len=N] [win=N] -> ...")
            elseif not f then
                fail(name, lineno, "bad flags '" .. tostring(flags) .. "'")
            else
                local from_a = who == "a"
                seg.stream = nscen
                seg.seq, seg.ack, seg.len, seg.win, seg.flags = tonumber(seq), tonumber(ack), 0, 65535, f
                seg.sport = from_a and cport or sport
                seg.dport = from_a and sport or cport
                seg.src_key = from_a and "A" or "B"
                seg.dst_key = from_a and "B" or "A"
                for tok in rest:gmatch("%S+") do
                    local k, v = tok:match("^(%a+)=(%d+)$")
                    if k == "len" then seg.len = tonumber(v)
                    elseif k == "win" then seg.win = tonumber(v)
                    else fail(name, lineno, "unknown segment key '" .. tok .. "'") end
                end

                local cst, sst, keys = rhs:match("^%s*(%S+)%s+(%S+)(.*)$")
                local want = { hs = 0, td = 0, mid = false, invalid = false, an = 0, ill = "",
                               sender = nil, out = nil, style = nil, int = nil }
                for tok in (keys or ""):gmatch("%S+") do
                    local k, v = tok:match("^([%a]+)=(.*)$")
                    if k == "hs" then want.hs = parse_bits(v)
                    elseif k == "td" then want.td = parse_bits(v)
                    elseif k == "closer" then closer = CLOSERS[v] or -1
                    elseif tok == "mid" then want.mid = true
                    elseif tok == "invalid" then want.invalid = true
                    elseif tok == "from=client" then want.sender = false
                    elseif tok == "from=server" then want.sender = true
                    elseif k == "int" then want.int = v
                    elseif k == "an" then
                        local bits = 0
                        for a in v:gmatch("[^,]+") do
                            if not AN_BY_NAME[a] then bits = nil break end
                            bits = bits + AN_BY_NAME[a]
                        end
                        want.an = bits
                    elseif k == "ill" then want.ill = v:gsub("_", " ")
                    elseif k == "out" then want.out = OUTCOMES[v] or -1
                    elseif k == "style" then want.style = STYLES[v] or -1
                    else fail(name, lineno, "unknown expectation '" .. tok .. "'") end
                end

                seg.time = 1700000000.0 + 0.01 * nseg
                local rec = C.conn_track(conn, seg)
                nseg = nseg + 1
                last_line = lineno
                summarized = want.out ~= nil and want.style ~= nil
                local o, st = C.outcome(conn), C.close_style(conn)
                if want.out and o ~= want.out then
                    fail(name, lineno, "outcome " .. C.OUTCOME_NAME[o] .. ", want " .. tostring(C.OUTCOME_NAME[want.out]))
                end
                if want.style and st ~= want.style then
                    fail(name, lineno, "close style " .. C.STYLE_NAME[st] .. ", want " .. tostring(C.STYLE_NAME[want.style]))
                end
                local got_c, got_s = C.STATE_NAME[rec.cst] or "?", C.STATE_NAME[rec.sst] or "?"
                local have_int = ALIAS[conn.ep[0].st] .. "," .. ALIAS[conn.ep[1].st]
                if got_c ~= cst or got_s ~= sst then
                    fail(name, lineno, string.format("states %s %s, want %s %s (internal %s)",
                                                     got_c, got_s, cst, sst, have_int))
                end
                if not STATE_VALUE[cst] or not STATE_VALUE[sst] then
                    fail(name, lineno, "unknown state name in expectation")
                end
                if not want.hs or not want.td or closer < 0 or not want.an then
                    fail(name, lineno, "bad hs=, td=, closer= or an= value")
                else
                    if rec.hs ~= want.hs then
                        fail(name, lineno, "handshake " .. bits_str(rec.hs) .. ", want " .. bits_str(want.hs))
                    end
                    if rec.td ~= want.td then
                        fail(name, lineno, "teardown " .. bits_str(rec.td) .. ", want " .. bits_str(want.td))
                    end
                    if rec.closer ~= closer then
                        fail(name, lineno, "closer " .. T.closers[rec.closer] .. ", want " .. tostring(T.closers[closer]))
                    end
                    local an = rec.anomalies
                    local derived = (C.has(an, C.AN.HANDSHAKE_STEP) and C.AN.HANDSHAKE_STEP or 0)
                        + (C.has(an, C.AN.TEARDOWN_STEP) and C.AN.TEARDOWN_STEP or 0)
                        + (C.has(an, C.AN.ROLES_GUESSED) and C.AN.ROLES_GUESSED or 0)
                    if an - derived ~= want.an then
                        fail(name, lineno, "anomalies " .. anomalies_str(an - derived) .. ", want " .. anomalies_str(want.an))
                    end
                    if C.has(an, C.AN.HANDSHAKE_STEP) ~= (rec.hs ~= 0)
                        or C.has(an, C.AN.TEARDOWN_STEP) ~= (rec.td ~= 0)
                        or C.has(an, C.AN.ROLES_GUESSED) ~= (rec.first and rec.midstream) then
                        fail(name, lineno, "step or roles_guessed anomalies do not match the record")
                    end
                end
                local ill = rec.illegal ~= 0 and C.illegal_name(rec.illegal) or ""
                if ill ~= want.ill then fail(name, lineno, "illegal '" .. ill .. "', want '" .. want.ill .. "'") end
                if rec.midstream ~= want.mid then
                    fail(name, lineno, "midstream " .. tostring(rec.midstream) .. ", want " .. tostring(want.mid))
                end
                if rec.invalid ~= want.invalid then
                    fail(name, lineno, "invalid transition " .. tostring(rec.invalid) .. ", want " .. tostring(want.invalid))
                end
                if want.sender ~= nil and rec.from_server ~= want.sender then
                    fail(name, lineno, "sender is the " .. (rec.from_server and "server" or "client"))
                end
                if want.int and want.int ~= have_int then
                    fail(name, lineno, "internal states " .. have_int .. ", want " .. want.int)
                end
                if rec.cprev == 0 or rec.sprev == 0 then fail(name, lineno, "prev state missing") end
            end
        end
    end
end
fh:close()
if not summarized then fail(name, last_line, "the scenario's last segment needs out= and style=") end

-- Every producible cell was exercised; the others never were (test_fsm.c).
local EV, S = T.events, T.fsm_states
local SEND, RECV = T.dirs.send, T.dirs.recv
local function never_produced(d, e)
    if d == SEND then return e == EV.ACK_SYN_X or e == EV.ACK_FIN_X end
    return e == EV.SYNACK or e == EV.FIN_X
end
local function rule_of(d, e, s)
    if s == S.sLC and not (d == SEND and (e == EV.FIN or e == EV.FIN_X)) then
        return T.fsm_table[d][e][S.sCL]
    end
    if d == RECV and e == EV.SYN then return S.sIG end
    if d == RECV and e == EV.FIN and s ~= S.sF1 then return S.sIG end
    if d == SEND and e == EV.FIN_X and s ~= S.sES then return T.fsm_table[SEND][EV.FIN][s] end
    if d == SEND and e == EV.RST then return S.sCL end
    if d == RECV and (e == EV.ACK_SYN or e == EV.ACK_SYN_X) and (s == S.sCL or s == S.sLI) then return S.sIG end
    if d == RECV and (e == EV.ACK_FIN or e == EV.ACK_FIN_X) and (s <= S.sES or s == S.sCW) then return S.sIG end
    if d == SEND and e == EV.ACK_FIN and s < S.sES then return S.sIV end
    return nil
end
local function unreachable(d, e, s)
    return d == RECV and e == EV.ACK_SYN and s == S.sSX
end
local EVNAME = {}
for n, v in pairs(EV) do EVNAME[v] = n end
local DIRNAME = { [SEND] = "send", [RECV] = "recv" }
local unhit = 0
for d = 0, 1 do
    for e = 0, T.fsm_nevents - 1 do
        for s = 0, T.fsm_nstates - 1 do
            local hits = C.hits[(d * T.fsm_nevents + e) * T.fsm_nstates + s] or 0
            local cell = string.format("%s %s %s", DIRNAME[d], EVNAME[e], ALIAS[s])
            if never_produced(d, e) then
                if hits > 0 then fail("coverage", 0, "cell " .. cell .. " is never produced but was hit") end
            elseif rule_of(d, e, s) then
                -- checked as a block by test_fsm cells
            elseif unreachable(d, e, s) then
                if hits > 0 then fail("coverage", 0, "cell " .. cell .. " was hit, yet is listed unreachable") end
            elseif hits == 0 then
                io.stderr:write("  unexercised cell: " .. cell .. "\n")
                unhit = unhit + 1
            end
        end
    end
end
if unhit > 0 then fail("coverage", 0, unhit .. " producible cells not exercised by any scenario") end

print(string.format("scenarios (%s): %d scenarios, %d segments, %d failures", _VERSION, nscen, nseg, failures))
os.exit(failures == 0 and 0 or 1)
