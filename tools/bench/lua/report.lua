-- tools/bench/lua/report.lua: shared by the wrk scripts of make bench.
-- auth_headers() gives the noauth identity headers of a project;
-- report_done() is wrk's done() hook: one WRKJSON line with exact figures
-- (latency in microseconds), parsed by tools/bench/wrk.py.

function auth_headers(project)
   return {
      ["Accept"] = "application/json",
      ["X-User-Id"] = "bench",
      ["X-Project-Id"] = project,
      ["X-Roles"] = "admin_iot_project",
   }
end

function report_done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,' ..
      '"write":%d,"status":%d,"timeout":%d},"p50":%d,"p90":%d,"p99":%d,"p999":%d,' ..
      '"max":%d,"min":%d,"mean":%.1f}\n',
      summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max, latency.min, latency.mean))
end

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
return here
