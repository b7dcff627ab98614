-- POST /v1/boards with a new unique name and code each time (names are
-- unique per project, codes across projects).  args: prefix project
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local counter, prefix, headers = 0, "b", nil
local thread_no = 0

function setup(thread)
   thread_no = thread_no + 1
   thread:set("tno", thread_no)
end

function init(args)
   prefix = (args[1] or "b") .. "-" .. tostring(tno or 0) .. "-"
   headers = auth_headers(args[2] or "bench")
   headers["Content-Type"] = "application/json"
end

function request()
   counter = counter + 1
   local name = prefix .. counter
   local body = '{"name":"' .. name .. '","code":"' .. name .. '","type":"gateway",' ..
      '"location":[{"latitude":"38.19","longitude":"15.55","altitude":"0"}]}'
   return wrk.format("POST", "/v1/boards", headers, body)
end

done = report_done
