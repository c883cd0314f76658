-- zeek_replay.lua - tests/zeek/zeek_replay.c for the Lua twin's Zeek
-- emulation (lua-compat/tcpstate_zeek.lua): same input, same options, same
-- output, so that tests/lua/parity_core.py can compare the two byte for byte
--
-- SPDX-License-Identifier: GPL-2.0-or-later
--
--   lua5.2 tests/lua/zeek_replay.lua LUA_COMPAT_DIR [-C] [-i PREFIX] [-p PORTS|none] [-v] < segments.tsv

local dir = (arg[1] or "lua-compat"):gsub("/*$", "/")
local Z = dofile(dir .. "tcpstate_zeek.lua")

local ignore_all, verbose, ignore_prefix = false, false, {}
local i = 2
while arg[i] do
    local a = arg[i]
    if a == "-C" then
        ignore_all = true
    elseif a == "-v" then
        verbose = true
    elseif a == "-i" and arg[i + 1] then
        i = i + 1
        ignore_prefix[#ignore_prefix + 1] = arg[i]
    elseif a == "-p" and arg[i + 1] then
        i = i + 1
        local ports = {}
        if arg[i] ~= "none" then
            for p in arg[i]:gmatch("[^,]+") do ports[#ports + 1] = tonumber(p) end
        end
        Z.set_server_ports(ports)
    else
        io.stderr:write("usage: zeek_replay.lua DIR [-C] [-i PREFIX] [-p PORTS|none] [-v] < segments.tsv\n")
        os.exit(2)
    end
    i = i + 1
end

local streams, ids = {}, {}
local out = {}

local function print_conn(id, s, z)
    local first = Z.orig_is_first(z)
    out[#out + 1] = string.format("%d\t%s\t%d\t%s\t%d\t%s\t%s\t%d\n", id,
        first and s.first_addr or s.other_addr, first and s.first_port or s.other_port,
        first and s.other_addr or s.first_addr, first and s.other_port or s.first_port,
        Z.conn_state(z), Z.history(z), s.start_line)
end

-- zeek_replay.c's parse_time: seconds and the first nine digits after the dot
local function parse_time(t, seg)
    local sec, frac = t:match("^(%-?%d*)%.?(%d*)")
    seg.ts_sec = tonumber(sec) or 0
    frac = (frac .. "000000000"):sub(1, 9)
    seg.ts_nsec = tonumber(frac)
end

local seg = { ts_sec = 0, ts_nsec = 0, seq = 0, ack = 0, len = 0, flags = 0, win = 0,
              sport = 0, dport = 0, from_first = false, bad_checksum = false, truncated = false }
local lineno = 0
for line in io.lines() do
    lineno = lineno + 1
    local f = {}
    for v in (line .. "\t"):gmatch("([^\t]*)\t") do f[#f + 1] = v end
    if #f >= 11 and f[1] ~= "" and line:sub(1, 1) ~= "#" then
        local id = tonumber(f[1])
        local s = streams[id]
        if not s then
            s = { z = Z.new(), used = false, start_line = 0 }
            streams[id] = s
            ids[#ids + 1] = id
        end
        parse_time(f[2], seg)
        seg.sport, seg.dport = tonumber(f[4]) % 65536, tonumber(f[6]) % 65536
        seg.flags = tonumber(f[7]) % 65536
        seg.seq, seg.ack, seg.len = tonumber(f[8]), tonumber(f[9]), tonumber(f[10])
        seg.win = tonumber(f[11]) % 65536
        if not s.used then
            s.used = true
            s.first_addr, s.other_addr = f[3], f[5]
            s.first_port, s.other_port = seg.sport, seg.dport
        end
        seg.from_first = f[3] == s.first_addr and seg.sport == s.first_port
        seg.bad_checksum = false
        if #f > 11 and f[12] == "0" and not ignore_all then
            local ignored = false
            for _, p in ipairs(ignore_prefix) do
                if f[3]:sub(1, #p) == p then ignored = true end
            end
            seg.bad_checksum = not ignored
        end
        seg.truncated = #f > 12 and f[13] == "1"

        local before = Z.copy(s.z)
        local new = Z.segment(s.z, seg)
        if new and Z.conn_state(before) ~= "" then print_conn(id, s, before) end
        if new then s.start_line = lineno end
        if verbose then
            io.stderr:write(string.format("#%d %s:%d>%s:%d %s seq=%d ack=%d len=%d -> %s %s %s/%s%s\n",
                id, f[3], seg.sport, f[5], seg.dport, f[7], seg.seq, seg.ack, seg.len,
                Z.conn_state(s.z), Z.history(s.z), Z.ep_state_name(Z.orig_state(s.z)),
                Z.ep_state_name(Z.resp_state(s.z)), new and " NEW" or ""))
        end
    end
end

table.sort(ids)
for _, id in ipairs(ids) do print_conn(id, streams[id], streams[id].z) end
io.write(table.concat(out))
