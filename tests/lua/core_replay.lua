-- core_replay.lua - replay TCP segments through the Lua twin's core; the
-- Lua half of the core parity check (tests/lua/parity_core.py), printing
-- what tests/lua/core_replay.c prints for the native core
--
-- SPDX-License-Identifier: GPL-2.0-or-later
--
--   lua5.2 tests/lua/core_replay.lua lua-compat < segments.tsv

local dir = (arg[1] or "lua-compat"):gsub("/*$", "/")
local T = dofile(dir .. "tcpstate_tables.lua")
local Z = dofile(dir .. "tcpstate_zeek.lua")
local C = dofile(dir .. "tcpstate_core.lua")(T, Z)

local conns = {}
local seg = { time = 0, stream = 0, seq = 0, ack = 0, len = 0, win = 0, src_key = "",
              dst_key = "", flags = 0, sport = 0, dport = 0, truncated = false,
              bad_checksum = false }
local out = {}
local lineno = 0
local b = function(v) return v and 1 or 0 end

for line in io.lines() do
    lineno = lineno + 1
    if line:sub(1, 1) ~= "#" then
        local f = {}
        for v in (line .. "\t"):gmatch("([^\t]*)\t") do f[#f + 1] = v end
        if #f >= 11 then
            seg.stream = tonumber(f[1])
            seg.time = tonumber(f[2])
            seg.src_key, seg.sport = f[3], tonumber(f[4])
            seg.dst_key, seg.dport = f[5], tonumber(f[6])
            seg.flags = tonumber(f[7])
            seg.seq, seg.ack, seg.len, seg.win = tonumber(f[8]), tonumber(f[9]), tonumber(f[10]),
                                                 tonumber(f[11])
            seg.bad_checksum = f[12] == "0"
            seg.truncated = f[13] == "1"
            local c = conns[seg.stream]
            if not c then
                c = C.new_conn()
                conns[seg.stream] = c
            end
            local r = C.conn_track(c, seg)
            local t = C.track
            local s = string.format("%d\t%d\tst=%d,%d prev=%d,%d hs=%d td=%d closer=%d srv=%d mid=%d first=%d "
                .. "inv=%d ill=%s an=%d\ttrack=%d,%d,%d",
                lineno, r.stream, r.cst, r.sst, r.cprev, r.sprev, r.hs, r.td, r.closer,
                b(r.from_server), b(r.midstream), b(r.first), b(r.invalid),
                r.illegal ~= 0 and C.illegal_name(r.illegal) or "", r.anomalies,
                b(t.half_open_begin), b(t.half_open_end), b(t.zeek_new))
            if t.zeek_new then
                s = s .. string.format(" ended=%s/%s", Z.conn_state(t.zeek_before), Z.history(t.zeek_before))
            end
            s = s .. string.format("\tout=%s style=%s pending=%d last=%.9g segs=%d,%d bytes=%d,%d\tzeek=%s/%s/%d\n",
                C.OUTCOME_NAME[C.outcome(c)], C.STYLE_NAME[C.close_style(c)],
                b(C.half_open_pending(c)), c.last, c.segs0, c.segs1, c.bytes0, c.bytes1,
                Z.conn_state(c.zeek), Z.history(c.zeek), b(Z.orig_is_first(c.zeek)))
            out[#out + 1] = s
            if #out >= 512 then
                io.write(table.concat(out))
                out = {}
            end
        end
    end
end
io.write(table.concat(out))
