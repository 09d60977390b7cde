-- Signed WeChat callbacks for wrk: 70% text messages, 10% subscribe, 10% CLICK, 10% LOCATION,
-- spread over 10,000 followers; every body is a distinct push (unique MsgId / CreateTime), so
-- each one is a new row to commit, never a deduplicated retry. WX_OFFSET differs per wrk run
-- (and per instance), so that later rounds are new pushes too. MsgIds are built as strings:
-- LuaJIT numbers are doubles, exact only up to 2^53.
--
-- The requests are built in init(), before the clock starts: WX_PREBUILT of them per thread
-- (bench/ingest.py sizes it above what the fastest server can take in the run), so that
-- request() only hands out a ready string and the generator never limits the baseline. Past
-- that many, request() builds them one by one as before and done() reports how many.
local path = os.getenv("WX_PATH")
local base = tonumber(os.getenv("WX_BASE_TIME"))
local run_offset = tonumber(os.getenv("WX_OFFSET") or "0")
local prebuilt = tonumber(os.getenv("WX_PREBUILT") or "200000")
local threads = {}
local counter = 0
local ready = {}
local built = 0
-- Globals, not locals: setup() sets them in each thread's own Lua state.
offset = run_offset
late = 0

function setup(thread)
  thread:set("offset", run_offset + #threads * 100000000)
  table.insert(threads, thread)
end

local head = "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName><CreateTime>%d</CreateTime>"
local headers = {["Content-Type"] = "text/xml"}

local function build(n)
  local openid = string.format("o%027d", (n * 7919) % 10000)
  local kind = n % 10
  local body
  if kind < 7 then
    body = string.format(head .. "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello %d]]></Content><MsgId>6272960%012d</MsgId></xml>", openid, base, n, n)
  elseif kind == 7 then
    body = string.format(head .. "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[]]></EventKey></xml>", openid, base + n)
  elseif kind == 8 then
    body = string.format(head .. "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[menu_1]]></EventKey></xml>", openid, base + n)
  else
    body = string.format(head .. "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[LOCATION]]></Event><Latitude>23.137466</Latitude><Longitude>113.352425</Longitude><Precision>119.385040</Precision></xml>", openid, base + n)
  end
  return wrk.format("POST", path, headers, body)
end

function init(args)
  for i = 1, prebuilt do
    ready[i] = build(offset + i)
  end
  built = prebuilt
end

function request()
  counter = counter + 1
  if counter <= built then
    local req = ready[counter]
    ready[counter] = nil
    return req
  end
  late = late + 1
  return build(offset + counter)
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    local n = thread:get("late")
    if n and n > 0 then
      io.write(string.format("built during the run: %d\n", n))
    end
  end
end
