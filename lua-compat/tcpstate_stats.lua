-- tcpstate_stats.lua - the Lua twin's statistics: a port of plugin/stats.c
-- and of the parts of Wireshark's stats_tree and stat-tap table that shape
-- their text
--
-- SPDX-License-Identifier: GPL-2.0-or-later
--
-- Pure Lua (5.2 and 5.4), no Wireshark API, no globals.  This file returns
-- a constructor, function(C) with C the core (tcpstate_core.lua); loaded
-- alone (Wireshark loads every .lua file of its plugin folders) it defines
-- nothing.
--
-- One "run" is one statistic over the tapped segments (a tshark -z, a GUI
-- window).  run:add(seg) takes one segment: its record's fields, its
-- connection, its time relative to the capture start (seconds) and the
-- sender's and receiver's "address:port" strings.  run:tree_text() and
-- run:conns_text(filter) give what tshark -z tcpstate,tree and
-- -z tcpstate,conns print.
--
-- The summary tree reproduces Wireshark 4.0's stats_tree (epan/stats_tree.c):
-- node creation order, counts, the Average/Min/Max of the handshake node
-- (float arithmetic included), Rate, Percent and the burst columns with the
-- default preferences (burst resolution 5 ms, window 100 ms, rate shown),
-- and its plain-text layout; children sorted as the default preferences
-- say: by count, then by name (case-sensitive), descending.

return function(C)

local floor, format, rep, byte = math.floor, string.format, string.rep, string.byte
local fround = C.fround

local M = {}

-- ---- a small stats_tree --------------------------------------------------

local BURST_RES, BURST_WIN = 5, 100          -- prefs st_burst_resolution, st_burst_windowlen
local G_MAXINT, G_MININT = 2147483647, -2147483648
local G_MAXFLOAT, G_MINFLOAT = 3.4028234663852886e38, 1.1754943508222875e-38

local MN_INCREASE, MN_SET, MN_AVERAGE = 0, 1, 2

local function new_node(st, name, parent_id, float, with_hash, as_parent)
    local bucket = { count = 0, bucket_no = 0, start_time = 0 }
    local node = {
        name = name, counter = 0, float = float, total = 0,
        min = float and G_MAXFLOAT or G_MAXINT, max = float and G_MINFLOAT or G_MININT,
        average = false, rootchild = parent_id == 0,
        bh = bucket, bt = bucket, bcount = 0, max_burst = 0, burst_time = -1,
        hash = with_hash and {} or nil, children = {}, id = -1,
    }
    if as_parent then
        st.names[name] = node
        st.parents[#st.parents + 1] = node
        node.id = #st.parents - 1
    end
    local parent = st.parents[parent_id + 1]
    node.parent = parent
    parent.children[#parent.children + 1] = node
    if parent.hash then parent.hash[name] = node end
    return node
end

local function new_tree(name)
    local root = { name = name, counter = 0, children = {}, id = 0, rootchild = false }
    local st = { root = root, names = {}, parents = { root }, start = -1, now = -1, elapsed = 0 }
    return st
end

-- stats_tree_packet: the time of a tapped packet, in ms
local function tree_tick(st, now_ms)
    st.now = now_ms
    if st.start < 0 then st.start = now_ms end
    st.elapsed = now_ms - st.start
end

-- update_burst_calc (epan/stats_tree.c), with its doubly linked buckets
local function update_burst(st, node, value)
    local now = st.now
    local current = floor(now / BURST_RES)
    local win = BURST_WIN / BURST_RES
    if current > node.bt.bucket_no then
        local bn = { count = value, bucket_no = current, start_time = now, prev = node.bt }
        node.bt.next = bn
        node.bt = bn
        node.bcount = node.bcount + value
        while current >= node.bh.bucket_no + win do
            local old = node.bh
            node.bh = old.next
            node.bh.prev = nil
            node.bcount = node.bcount - old.count
        end
    elseif current < node.bh.bucket_no then
        if current + win > node.bt.bucket_no then
            local bn = { count = value, bucket_no = current, start_time = now, next = node.bh }
            node.bh.prev = bn
            node.bh = bn
            node.bcount = node.bcount + value
        end
    else
        local search = node.bt
        while current < search.bucket_no do search = search.prev end
        if current == search.bucket_no then
            search.count = search.count + value
            if search.start_time > now then search.start_time = now end
        else
            local bn = { count = value, bucket_no = current, start_time = now,
                         prev = search, next = search.next }
            search.next = bn
            bn.next.prev = bn
        end
        node.bcount = node.bcount + value
    end
    if node.bcount > node.max_burst then
        node.max_burst = node.bcount
        node.burst_time = node.bh.start_time
    end
end

local function lookup(st, name, parent_id)
    local parent = st.parents[parent_id + 1]
    if parent.hash then return parent.hash[name] end
    return st.names[name]
end

-- stats_tree_create_node
local function create_node(st, name, parent_id, float, with_hash)
    return new_node(st, name, parent_id, float, with_hash, true).id
end

-- stats_tree_manip_node_int
local function manip_int(mode, st, name, parent_id, with_hash, value)
    local node = lookup(st, name, parent_id)
    if not node then node = new_node(st, name, parent_id, false, with_hash, with_hash) end
    if mode == MN_INCREASE then
        node.counter = node.counter + value
        update_burst(st, node, value)
    elseif mode == MN_SET then
        node.counter = value
    end
    return node.id
end

-- stats_tree_manip_node_float(MN_AVERAGE, ...): float arithmetic, as in C
local function average_float(st, name, parent_id, value)
    local node = lookup(st, name, parent_id)
    if not node then node = new_node(st, name, parent_id, true, false, false) end
    node.counter = node.counter + 1
    update_burst(st, node, 1)
    node.total = fround(node.total + value)
    if node.min > value then node.min = value end
    if node.max < value then node.max = value end
    node.average = true
    return node.id
end

local function increase(st, name, parent_id, with_hash, value)
    return manip_int(MN_INCREASE, st, name, parent_id, with_hash, value)
end

local function parent_id_by_name(st, name)
    local node = st.names[name]
    return node and node.id or 0
end

-- strcmp, byte by byte (Lua's own string comparison follows the locale)
local function strcmp(a, b)
    local la, lb = #a, #b
    for i = 1, math.min(la, lb) do
        local x, y = byte(a, i), byte(b, i)
        if x ~= y then return x - y end
    end
    return la - lb
end

-- stats_tree_sort_compare with the default preferences: by count, then by
-- name (case-sensitive), descending
local function sort_before(a, b)
    local r = a.counter - b.counter
    if r == 0 then r = strcmp(a.name, b.name) end
    return r > 0
end

local function node_values(st, node)
    local v = {}
    v[1] = node.name
    v[2] = format("%d", node.counter)
    if node.average then
        if node.counter ~= 0 then
            if node.float then
                v[3] = format("%.2f", fround(node.total / node.counter))
                v[4] = format("%f", node.min)
                v[5] = format("%f", node.max)
            else
                v[3] = format("%.2f", fround(node.total) / node.counter)
                v[4] = format("%d", node.min)
                v[5] = format("%d", node.max)
            end
        else
            v[3], v[4], v[5] = "-", "-", "-"
        end
    else
        v[3], v[4], v[5] = "", "", ""
    end
    v[6] = st.elapsed ~= 0 and format("%.4f", fround(node.counter) / st.elapsed) or ""
    local parent = node.parent
    if parent and parent.counter ~= 0 then
        v[7] = format("%.2f%%", (node.counter * 100.0) / parent.counter)
    else
        v[7] = parent == st.root and "100%" or ""
    end
    if node.max_burst ~= 0 then
        v[8] = format("%.4f", node.max_burst / BURST_WIN)
        v[9] = format("%.3f", node.burst_time / 1000.0)
    else
        v[8], v[9] = "-", "-"
    end
    return v
end

local function max_namelen(node, indent)
    local m = 0
    for _, child in ipairs(node.children) do
        local l = max_namelen(child, indent + 1)
        if l > m then m = l end
    end
    local l = #node.name + indent
    if l > m then m = l end
    return m
end

local COLUMNS = { "Topic / Item", "Count", "Average", "Min Val", "Max Val", "Rate (ms)",
                  "Percent", "Burst Rate", "Burst Start" }

local function format_node(st, node, out, indent, maxlen)
    local v = node_values(st, node)
    local parts = { rep(" ", indent), v[1], rep(" ", maxlen - indent - #v[1]) }
    for i = 2, 9 do
        parts[#parts + 1] = " " .. v[i] .. rep(" ", 13 - #v[i])
    end
    out[#out + 1] = table.concat(parts) .. "\n"
    local kids = {}
    for i, child in ipairs(node.children) do kids[i] = child end
    table.sort(kids, sort_before)
    for _, child in ipairs(kids) do format_node(st, child, out, indent + 1, maxlen) end
end

-- stats_tree_format_as_str(ST_FORMAT_PLAIN)
local function tree_to_text(st)
    local maxlen = max_namelen(st.root, 0)
    local seplen = maxlen + 8 * 14
    local out = { "\n", rep("=", seplen), "\n", st.root.name, ":\n" }
    out[#out + 1] = COLUMNS[1] .. rep(" ", maxlen - #COLUMNS[1])
    for i = 2, 9 do out[#out + 1] = " " .. COLUMNS[i] .. rep(" ", 13 - #COLUMNS[i]) end
    out[#out + 1] = "\n" .. rep("-", seplen) .. "\n"
    for _, child in ipairs(st.root.children) do format_node(st, child, out, 0, maxlen) end
    out[#out + 1] = "\n" .. rep("-", seplen) .. "\n"
    return table.concat(out)
end

-- ---- the summary tree of stats.c ----------------------------------------

local ST_CONNS = "Connections by outcome"
local ST_CLOSER = "Closed first by"
local ST_STYLE = "Close style"
local ST_STATES = "Final states (client, server)"
local ST_ILLEGAL = "Illegal segments"
local ST_EXPERT = "Expert infos"
local ST_HALF_OPEN = "Half-open connections by server"
local ST_SOURCES = "distinct sources"
local ST_HANDSHAKE = "Handshake time (ms)"

M.TREE_NAME = "TCP Connection Lifecycles"
M.CONNS_NAME = "TCP Connection Lifecycles: Connections"

local OUTCOME_NAME, STYLE_NAME, CLOSER_NAME = C.OUTCOME_NAME, C.STYLE_NAME, C.CLOSER_NAME
local STATE_NAME = C.STATE_NAME
local OUTCOME = C.OUTCOME
local AN, AN_NAME, AN_COUNT, has = C.AN, C.AN_NAME, C.AN_COUNT, C.has

local function tree_init(st)
    local node = create_node(st, ST_CONNS, 0, false, true)
    for o = 1, #C.T.outcomes do create_node(st, OUTCOME_NAME[o], node, false, false) end
    node = create_node(st, ST_CLOSER, 0, false, true)
    for c = 0, 3 do create_node(st, CLOSER_NAME[c], node, false, false) end
    node = create_node(st, ST_STYLE, 0, false, true)
    for s = 0, #C.T.close_styles do create_node(st, STYLE_NAME[s], node, false, false) end
    create_node(st, ST_STATES, 0, false, true)
    create_node(st, ST_ILLEGAL, 0, false, true)
    create_node(st, ST_EXPERT, 0, false, true)
    create_node(st, ST_HALF_OPEN, 0, false, true)
    create_node(st, ST_HANDSHAKE, 0, true, false)
end

local function recount(st, parent, from, to)
    local id = parent_id_by_name(st, parent)
    if from and to and from == to then return end
    if from then increase(st, from, id, false, -1) end
    if to then increase(st, to, id, false, 1) end
end

local function states_name(cst, sst)
    return (STATE_NAME[cst] or "?") .. ", " .. (STATE_NAME[sst] or "?")
end

local function set_half_open(run, tc, half_open)
    local st = run.st
    if tc.half_open == half_open then return end
    tc.half_open = half_open
    local ts = run.servers[tc.server]
    if not ts then
        ts = { half_open = 0, sources = {}, nsources = 0 }
        run.servers[tc.server] = ts
    end
    local d = half_open and 1 or -1
    ts.half_open = ts.half_open + d
    local n = (ts.sources[tc.client] or 0) + d
    if n > 0 then
        if not ts.sources[tc.client] then ts.nsources = ts.nsources + 1 end
        ts.sources[tc.client] = n
    else
        if ts.sources[tc.client] then ts.nsources = ts.nsources - 1 end
        ts.sources[tc.client] = nil
    end
    increase(st, ST_HALF_OPEN, 0, true, d)
    local parent = parent_id_by_name(st, ST_HALF_OPEN)
    local node = manip_int(MN_SET, st, tc.server, parent, true, ts.half_open)
    manip_int(MN_SET, st, ST_SOURCES, node, false, ts.nsources)
end

local function tree_connection(run, tc, c)
    local st = run.st
    local o, closer, style = C.outcome(c), c.closer, C.close_style(c)
    local cst, sst = C.client_state(c), C.server_state(c)
    local now = states_name(cst, sst)
    if not tc.counted then
        tc.counted = true
        increase(st, ST_CONNS, 0, true, 1)
        increase(st, ST_CLOSER, 0, true, 1)
        increase(st, ST_STYLE, 0, true, 1)
        increase(st, ST_STATES, 0, true, 1)
        recount(st, ST_CONNS, nil, OUTCOME_NAME[o])
        recount(st, ST_CLOSER, nil, CLOSER_NAME[closer])
        recount(st, ST_STYLE, nil, STYLE_NAME[style])
        recount(st, ST_STATES, nil, now)
    else
        recount(st, ST_CONNS, OUTCOME_NAME[tc.outcome], OUTCOME_NAME[o])
        recount(st, ST_CLOSER, CLOSER_NAME[tc.closer], CLOSER_NAME[closer])
        recount(st, ST_STYLE, STYLE_NAME[tc.style], STYLE_NAME[style])
        recount(st, ST_STATES, states_name(tc.cst, tc.sst), now)
    end
    tc.outcome, tc.closer, tc.style, tc.cst, tc.sst = o, closer, style, cst, sst
    set_half_open(run, tc, o == OUTCOME.HALF_OPEN or o == OUTCOME.NO_ANSWER)
end

-- ---- runs ---------------------------------------------------------------------

-- "address:port" without the port
local function address_of(ep)
    local i = #ep
    while i > 0 and byte(ep, i) ~= 58 do i = i - 1 end   -- the last ':'
    return i > 0 and ep:sub(1, i - 1) or ep
end

local Run = {}
Run.__index = Run

-- A new run: want_tree and want_conns say which views it feeds.
function M.new_run(want_tree, want_conns)
    local run = setmetatable({ want_tree = want_tree, want_conns = want_conns }, Run)
    run:reset()
    return run
end

function Run:reset()
    self.st = new_tree(M.TREE_NAME)
    tree_init(self.st)
    self.tconns = {}        -- stream -> the tree's view of a connection
    self.servers = {}       -- "addr:port" -> half-open connections and their sources
    self.rows = {}          -- the table's rows, in order
    self.row_of = {}        -- stream -> row
end

-- One tapped segment.  r: the record's fields (stream, anomalies, illegal,
-- hs, from_server, cst, sst, illegal_name); c: its connection; rel: seconds
-- since the capture's start; rel_ms: the same in ms as Wireshark computes
-- it; src, dst: "address:port" of the sender and the receiver.
function Run:add(r, c, rel, rel_ms, src, dst)
    if self.want_tree then self:add_tree(r, c, rel, rel_ms, src, dst) end
    if self.want_conns then self:add_conns(r, c, rel, src, dst) end
end

function Run:add_tree(r, c, rel, rel_ms, src, dst)
    local st = self.st
    tree_tick(st, rel_ms)
    local tc = self.tconns[r.stream]
    if not tc then
        local client = r.from_server and dst or src
        tc = { stats = C.new_connstats(), server = r.from_server and src or dst,
               client = address_of(client), counted = false, half_open = false, rtt_done = false }
        self.tconns[r.stream] = tc
    end
    C.connstats_add(tc.stats, r.anomalies, r.illegal, r.hs, r.from_server, r.cst, r.sst, rel)
    tree_connection(self, tc, c)

    if r.illegal ~= 0 then
        increase(st, ST_ILLEGAL, 0, true, 1)
        increase(st, C.illegal_name(r.illegal), parent_id_by_name(st, ST_ILLEGAL), false, 1)
    end
    local an = r.anomalies
    if an ~= 0 then
        for i = 0, AN_COUNT - 1 do
            local bit = 2 ^ i
            if has(an, bit) and bit ~= AN.HANDSHAKE_STEP and bit ~= AN.TEARDOWN_STEP then
                increase(st, ST_EXPERT, 0, true, 1)
                increase(st, "tcpstate." .. AN_NAME[i], parent_id_by_name(st, ST_EXPERT), false, 1)
            end
        end
    end
    local rtt = C.handshake_time(tc.stats)
    if not tc.rtt_done and rtt >= 0 then
        tc.rtt_done = true
        average_float(st, ST_HANDSHAKE, 0, fround(rtt * 1000))
    end
end

local function ms(seconds)
    if seconds >= 0 then return seconds * 1000 end
    return -1
end

function Run:add_conns(r, c, rel, src, dst)
    local row = self.row_of[r.stream]
    if not row then
        row = { stream = r.stream, client = r.from_server and dst or src,
                server = r.from_server and src or dst, start = rel, stats = C.new_connstats() }
        self.rows[#self.rows + 1] = row
        self.row_of[r.stream] = row
    end
    local s = row.stats
    C.connstats_add(s, r.anomalies, r.illegal, r.hs, r.from_server, r.cst, r.sst, rel)
    row.duration = c.last
    row.outcome = OUTCOME_NAME[C.outcome(c)]
    row.closer = CLOSER_NAME[c.closer]
    row.style = STYLE_NAME[C.close_style(c)]
    row.cst = STATE_NAME[C.client_state(c)] or "?"
    row.sst = STATE_NAME[C.server_state(c)] or "?"
    row.zeek = C.Z.conn_state(c.zeek)
    row.history = C.Z.history(c.zeek)
    row.syn_synack = ms(C.syn_to_synack(s))
    row.synack_ack = ms(C.synack_to_ack(s))
    row.handshake = ms(C.handshake_time(s))
    row.segs_cs, row.segs_sc = c.segs0, c.segs1
    row.bytes_cs, row.bytes_sc = c.bytes0, c.bytes1
    row.illegal, row.warnings = s.illegal, s.warnings
    row.close_wait = C.close_wait_time(s)
    row.fin_wait2 = C.fin_wait2_time(s)
end

-- What tshark -z tcpstate,tree prints.
function Run:tree_text()
    return tree_to_text(self.st)
end

-- The per-connection table: (column title, format, row key), as stats.c.
local CONN_COLUMNS = {
    { "Stream", "%6d", "stream" },
    { "Client                      ", "%-28s", "client" },
    { "Server                      ", "%-28s", "server" },
    { "     Start", "%10.6f", "start" },
    { "  Duration", "%10.6f", "duration" },
    { "Outcome        ", "%-15s", "outcome" },
    { "Closer", "%-6s", "closer" },
    { "Close style  ", "%-13s", "style" },
    { "Client state", "%-12s", "cst" },
    { "Server state", "%-12s", "sst" },
    { "Zeek  ", "%-6s", "zeek" },
    { "History         ", "%-16s", "history" },
    { "SYN>SYN-ACK ms", "%14.3f", "syn_synack" },
    { "SYN-ACK>ACK ms", "%14.3f", "synack_ack" },
    { "Handshake ms", "%12.3f", "handshake" },
    { "Segs C>S", "%8d", "segs_cs" },
    { "Segs S>C", "%8d", "segs_sc" },
    { "   Bytes C>S", "%12.0f", "bytes_cs" },
    { "   Bytes S>C", "%12.0f", "bytes_sc" },
    { "Illegal", "%7d", "illegal" },
    { "Warnings", "%8d", "warnings" },
    { "CLOSE_WAIT s", "%12.3f", "close_wait" },
    { "FIN_WAIT2 s", "%11.3f", "fin_wait2" },
}
M.CONN_COLUMNS = CONN_COLUMNS

-- What tshark -z tcpstate,conns prints (ui/cli/tap-simple_stattable.c).
function Run:conns_text(filter)
    local bar = rep("=", 101)
    local out = { "\n", bar, "\n", M.CONNS_NAME, ":\n", "Filter for statistics: ", filter or "", "\n" }
    for _, col in ipairs(CONN_COLUMNS) do out[#out + 1] = col[1] .. " |" end
    out[#out + 1] = "\nConnections\n"
    for _, row in ipairs(self.rows) do
        for _, col in ipairs(CONN_COLUMNS) do out[#out + 1] = format(col[2], row[col[3]]) .. " |" end
        out[#out + 1] = "\n"
    end
    out[#out + 1] = bar .. "\n"
    return table.concat(out)
end

return M
end
