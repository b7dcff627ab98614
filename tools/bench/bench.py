#!/usr/bin/python3
"""make bench: the fixed benchmark suite of DESIGN.md's performance table.

    tools/bench/run.sh --build DIR [--runs N] [--duration S] [--quick]
                       [--only SUITE,...] [--out DIR]

Starts the stack in a private directory (PostgreSQL, RabbitMQ, the API,
conductors, wagents, boards), runs the suites in order, and writes
<out>/results.json (the machine, the commands, every run's values and their
median, p99 and min-max) and <out>/REPORT.md with gnuplot charts of latency
against load. Every DESIGN.md target gets a row marked met, not met, or not
measured with the reason. The reference systems cannot run here (no network
for PyPI): their figures are quoted from DESIGN.md, and the report says so.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

SUITES = ["rest", "rpc", "scale", "failover", "agent", "deviceless"]


class Ctx:
    def __init__(self, opts, stack, results, workdir, build):
        self.opts = opts
        self.stack = stack
        self.results = results
        self.dir = workdir
        self.build = build
        self.t0 = time.monotonic()
        self.suites = []
        self.fleet = None

    def log(self, msg):
        sys.stdout.write("[%6.1f s] %s\n" % (time.monotonic() - self.t0, msg))
        sys.stdout.flush()


def cmd_out(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        return (r.stdout or r.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return None


def machine():
    cpu = None
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    osr = {}
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip().split("=", 1)
                    osr[k] = v.strip('"')
    import resource
    pkgs = {}
    for p in ("libwebsockets-dev", "librabbitmq-dev", "libpq-dev", "libcjson-dev", "postgresql-15",
              "rabbitmq-server", "wrk", "gnuplot-nox", "crun", "libev-dev"):
        v = cmd_out(["dpkg-query", "-W", "-f=${Version}", p])
        if v:
            pkgs[p] = v
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 2**20, 1),
            "kernel": platform.release(), "os": osr.get("PRETTY_NAME"),
            "virtualisation": cmd_out(["systemd-detect-virt"]) or "unknown",
            "rlimit_nofile": list(resource.getrlimit(resource.RLIMIT_NOFILE)),
            "cc": cmd_out(["cc", "--version"]).splitlines()[0] if cmd_out(["cc", "--version"])
            else None,
            "packages": pkgs, "python": platform.python_version()}


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=3, help="repetitions of each figure")
    ap.add_argument("--duration", type=int, default=2, help="seconds per wrk run")
    ap.add_argument("--quick", action="store_true", help="fewer points, smaller swarms")
    ap.add_argument("--only", default="", help="comma list of suites (%s)" % ",".join(SUITES))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench"))
    ap.add_argument("--keep", action="store_true", help="keep the private directory")
    ap.add_argument("--scale-boards", type=int, default=0,
                    help="boards for the scale suite (0: as many as the fd limit allows)")
    return ap.parse_args()


def main():
    opts = parse_args()
    build = os.path.abspath(os.path.join(ROOT, opts.build))
    os.environ["IOT_BUILD"] = build
    sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
    sys.path.insert(0, HERE)
    import figures
    import report
    import stack as stk
    import targets

    stk.raise_nofile()
    workdir = tempfile.mkdtemp(prefix="iot-bench-")
    os.chmod(workdir, 0o755)
    results = figures.Results()
    st = stk.Stack(workdir, lambda m: None)
    ctx = Ctx(opts, st, results, workdir, build)
    st.log = ctx.log
    only = [s for s in opts.only.split(",") if s] or SUITES
    ctx.suites = only
    started = time.time()
    load_start = list(os.getloadavg())
    reasons = {}
    ctx.log("bench: build %s, private directory %s, suites %s" % (build, workdir, ",".join(only)))
    try:
        st.start_base()
        base_ok = True
        try:
            st.start_conductor("conductor-1")
            st.start_api()
        except Exception as e:  # the API is needed by almost every suite
            base_ok = False
            base_err = "%s: %s" % (type(e).__name__, e)
            ctx.log("the API stack did not start: " + base_err)
        for name in only:
            mod = __import__("suite_" + name)
            t = time.monotonic()
            load0 = os.getloadavg()[0]
            ctx.log("suite %s (load average %.2f)" % (name, load0))
            try:
                if not base_ok:
                    raise stk.Missing(base_err)
                mod.run(ctx)
                results.suite(name, "ok", time.monotonic() - t,
                              "load average %.2f at start, %.2f at end"
                              % (load0, os.getloadavg()[0]))
            except stk.Missing as e:
                ctx.log("suite %s: not measured: %s" % (name, e))
                results.suite(name, "not measured", time.monotonic() - t, str(e))
                for row in getattr(mod, "ROWS", []):
                    reasons[row] = str(e)
            except Exception as e:
                ctx.log("suite %s failed: %s" % (name, e))
                traceback.print_exc()
                results.suite(name, "failed", time.monotonic() - t, "%s: %s" % (type(e).__name__, e))
                for row in getattr(mod, "ROWS", []):
                    reasons[row] = "suite %s failed: %s" % (name, e)
            finally:
                cleanup = getattr(mod, "cleanup", None)
                if cleanup:
                    cleanup(ctx)
    finally:
        st.stop()
    results.fill_missing(reasons)
    doc = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "duration_s": round(time.time() - started, 1),
        "git": stk.git_describe(ROOT),
        "machine": dict(machine(), loadavg_at_start=load_start,
                        loadavg_at_end=list(os.getloadavg())),
        "settings": {"runs": opts.runs, "wrk_duration_s": opts.duration, "quick": opts.quick,
                     "suites": only},
        "note": "The reference column quotes DESIGN.md: the original systems cannot run on this "
                "machine (no network for PyPI), so they were not measured here.",
        "suites": results.suites,
        "figures": [f.to_json() for f in results.figures],
        "curves": results.curves,
        "rows": targets.ROWS,
    }
    os.makedirs(opts.out, exist_ok=True)
    with open(os.path.join(opts.out, "results.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    report.write(doc, opts.out)
    ctx.log("wrote %s/results.json and %s/REPORT.md (%.0f s)"
            % (opts.out, opts.out, time.time() - started))
    if not opts.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    failed = [n for n, s in results.suites.items() if s["status"] == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
