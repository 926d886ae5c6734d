-- alloc.lua: an allocation-heavy Lua program that checks its own results.
--   lua5.4 alloc.lua SCALE      (SCALE 15 takes about a second)
-- Every table, string and closure is a block from lua_Alloc, which Debian's Lua
-- serves with realloc/free: binary trees (many small tables, short- and
-- long-lived), string building and splitting, a hash table churned by string
-- keys, closures and coroutines. Each part compares its result with a closed
-- form or a second computation; one failure stops the run with exit status 1.

local scale = tonumber(arg[1])
if not scale or scale ~= math.floor(scale) or scale < 4 or scale > 24 then
  io.stderr:write("alloc.lua: SCALE must be a whole number from 4 to 24, got ",
                  tostring(arg[1]), "\n")
  os.exit(2)
end

local function check(ok, what)
  if not ok then
    io.stderr:write("alloc.lua: check failed: ", what, "\n")
    os.exit(1)
  end
end

-- Binary trees: a long-lived tree of depth `scale`, and many short-lived ones.
local function make(depth)
  if depth == 0 then return {} end
  return {make(depth - 1), make(depth - 1)}
end
local function count(tree)
  if tree[1] == nil then return 1 end
  return 1 + count(tree[1]) + count(tree[2])
end
local long_lived = make(scale)
for depth = 4, scale, 2 do
  local iterations = 1 << (scale - depth + 4)
  local nodes = 0
  for _ = 1, iterations do nodes = nodes + count(make(depth)) end
  check(nodes == iterations * ((1 << (depth + 1)) - 1), "short-lived trees of depth " .. depth)
end
check(count(long_lived) == (1 << (scale + 1)) - 1, "the long-lived tree")

-- Strings: build, concatenate, split again.
local words = 1 << (scale - 1)
local parts, length = {}, 0
for i = 1, words do
  parts[i] = string.format("w%x-%d", i * 2654435761 % 4294967296, i)
  length = length + #parts[i]
end
local text = table.concat(parts, " ")
check(#text == length + words - 1, "the concatenated text's length")
local seen = 0
for word in text:gmatch("%S+") do
  seen = seen + 1
  check(word == parts[seen], "word " .. seen .. " after splitting")
end
check(seen == words, "the number of words")
check(select(2, text:gsub("-", "+")) == words, "gsub's count of replacements")

-- A hash table churned by string keys: insert everything, remove the odd ones.
local table_size = 1 << (scale - 1)
local map = {}
for i = 1, table_size do map["k" .. i] = {i, tostring(i)} end
for i = 1, table_size, 2 do map["k" .. i] = nil end
local kept, sum = 0, 0
for _, v in pairs(map) do kept = kept + 1; sum = sum + v[1] end
local half = table_size // 2
check(kept == half and sum == half * (half + 1), "the churned table")

-- Closures and coroutines: each captures fresh upvalues.
local closures = 1 << (scale - 2)
local fns = {}
for i = 1, closures do local x = i; fns[i] = function() return x end end
local total = 0
for i = 1, closures do total = total + fns[i]() end
check(total == closures * (closures + 1) // 2, "the closures' sum")
local producer = coroutine.wrap(function()
  for i = 1, closures do coroutine.yield({i}) end
end)
local consumed = 0
for _ = 1, closures do consumed = consumed + producer()[1] end
check(consumed == total, "values through a coroutine")

print("lua-alloc: all checks passed")
