-- GET <path> with keep-alive, as project <project>.  args: path project
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local req

function init(args)
   req = wrk.format("GET", args[1], auth_headers(args[2] or "bench"))
end

function request()
   return req
end

done = report_done
