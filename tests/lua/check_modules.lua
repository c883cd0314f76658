-- check_modules.lua - every file of the Lua twin compiles with this Lua
-- (5.2 rejects the 5.3+ operators //, &, |, ~, <<, >>), and every helper
-- module, loaded alone as Wireshark loads every .lua file of its plugin
-- folders, defines no global and only returns a value
--
-- SPDX-License-Identifier: GPL-2.0-or-later
--
--   lua5.2 tests/lua/check_modules.lua lua-compat

local dir = (arg[1] or "lua-compat"):gsub("/*$", "/")
local failures = 0
local function fail(msg)
    io.stderr:write("FAIL " .. msg .. "\n")
    failures = failures + 1
end

local files = {}
local p = io.popen('ls "' .. dir .. '"')
for name in p:lines() do
    if name:match("%.lua$") then files[#files + 1] = name end
end
p:close()
if #files < 5 then fail("expected the Lua twin's files in " .. dir) end

for _, name in ipairs(files) do
    local path = dir .. name
    local chunk, err = loadfile(path)
    if not chunk then
        fail(name .. ": " .. tostring(err))
    elseif name ~= "tcpstate.lua" then
        -- run it with globals that refuse new keys
        local env = setmetatable({}, {
            __index = _G,
            __newindex = function(_, k) error("defines the global '" .. tostring(k) .. "'", 2) end,
        })
        local sandboxed = assert(loadfile(path, "t", env))
        local ok, ret = pcall(sandboxed)
        if not ok then
            fail(name .. " loaded alone: " .. tostring(ret))
        elseif type(ret) ~= "table" and type(ret) ~= "function" then
            fail(name .. " loaded alone returns " .. type(ret) .. ", not a table or a constructor")
        end
    end
end
print(string.format("modules (%s): %d files, %d failures", _VERSION, #files, failures))
os.exit(failures == 0 and 0 or 1)
