"""Runs wrk (keep-alive HTTP load) and reads its latency distribution.

wrk's own summary rounds; tools/bench/lua/report.lua makes wrk print one
line `WRKJSON {...}` with the exact count, duration, errors and latency
percentiles in microseconds, which this module parses. A run with any
socket error or non-2xx answer is refused by the caller (a benchmark of
error pages measures nothing)."""

import json
import os
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(HERE, "lua")


class WrkError(RuntimeError):
    pass


def run(url, clients, seconds, script, args=(), threads=None, timeout_s=10):
    """Runs wrk against url with `clients` keep-alive connections for
    `seconds`; script is a file in tools/bench/lua. Returns a dict with
    requests, rps, errors and p50/p90/p99/p999/max/mean in ms, plus argv."""
    threads = threads or max(1, min(clients, 2))
    argv = ["wrk", "-t%d" % threads, "-c%d" % clients, "-d%ds" % seconds,
            "--timeout", "%ds" % timeout_s, "-s", os.path.join(LUA, script), url]
    if args:
        argv += ["--"] + [str(a) for a in args]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + timeout_s + 30)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if r.returncode != 0 or line is None:
        raise WrkError("wrk failed (%s): %s %s" % (r.returncode, r.stdout[-500:], r.stderr[-500:]))
    d = json.loads(line[len("WRKJSON "):])
    us = 1000.0
    out = {"requests": d["requests"], "seconds": d["duration_us"] / 1e6,
           "rps": d["requests"] / (d["duration_us"] / 1e6) if d["duration_us"] else 0.0,
           "errors": d["errors"], "clients": clients, "threads": threads,
           "p50": d["p50"] / us, "p90": d["p90"] / us, "p99": d["p99"] / us,
           "p999": d["p999"] / us, "max": d["max"] / us, "min": d["min"] / us,
           "mean": d["mean"] / us, "argv": command(argv)}
    return out


def command(argv):
    """The wrk command line as the report shows it: the script relative to
    the repository, the API's port and the run's private paths as names."""
    out = []
    for a in argv:
        a = a.replace(LUA + "/", "tools/bench/lua/")
        a = re.sub(r"^http://127\.0\.0\.1:\d+", "http://127.0.0.1:$API", a)
        a = re.sub(r"^/tmp/iot-bench-[^/]+/", "$RUN/", a)
        out.append(a)
    return " ".join(out)


def error_count(res):
    return sum(res["errors"].values())
