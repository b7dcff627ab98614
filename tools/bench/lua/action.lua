-- POST /v1/boards/<board>/action {"action": <action>} on boards picked at
-- random from a file of names (one per line).  args: names_file action project
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local names, headers, body = {}, nil, nil

function init(args)
   for line in io.lines(args[1]) do
      if #line > 0 then names[#names + 1] = line end
   end
   headers = auth_headers(args[3] or "bench")
   headers["Content-Type"] = "application/json"
   body = '{"action":"' .. (args[2] or "DevicePing") .. '"}'
   math.randomseed(os.time() + (tno or 0))
end

local thread_no = 0
function setup(thread)
   thread_no = thread_no + 1
   thread:set("tno", thread_no)
end

function request()
   local n = names[math.random(#names)]
   return wrk.format("POST", "/v1/boards/" .. n .. "/action", headers, body)
end

done = report_done
