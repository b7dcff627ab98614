"""Deviceless functions: warm, cold and first-deployment latencies, and a
sensor on board A driving a GPIO line on board B (DESIGN.md rows 7-10).

The whole path is real: iotronic-api, conductor and a wagent (tests/lib
iotstack.Cloud), qinling-api and qinling-engine (tests/lib qinlingtest),
two lightning-rod-c boards with the simulated IO backend and the crun
executor, real containers. Every latency is what a client sees: the wall
time of a sync `POST /v1/executions` (the API answers when the result is
stored), or for the trigger the firing's own latency_ms (actuated_at -
sampled_at, both stamped by the boards, which share this host's clock).

Functions:
  shell   the busybox runtime (tools/build-runtimes.sh), main.sh writing
          {"ok": true}: what a user would write first
  native  tools/bench/fn/benchfn.c, static, on a runtime holding nothing but
          the mount points: the platform's own cost, without an interpreter
warm  = keep_warm 1 (a container created ahead, 3.5.5), one execution every
        0.3 s so that the replacement is ready; cold = keep_warm 0 (crun
        create on the critical path), code cached; first deployment = a new
        function whose package (1 MiB of random bytes and the program) no
        board has, runtime cached, timed to its first execution's answer."""

import io
import json
import os
import statistics
import subprocess
import tarfile
import time

import iottest
import stack as stk
import targets

ROWS = [targets.ROWS[6], targets.ROWS[7], targets.ROWS[8], targets.ROWS[9]]
HERE = os.path.dirname(os.path.abspath(__file__))
PER_RUN = 10          # executions per run (warm, cold) and firings per run (trigger)
LINE = 5              # the street light on board B
AGENT_CONF = {"io": {"sim_chips": "sim0:16", "sim_sensors": "temp0:C:21.5 lux0:lx:120"},
              "function": {"max_concurrency": 2}}
SHELL_MAIN = '#!/bin/sh\necho \'{"ok": true}\' > "$FUNCTION_RESULT"\n'

_state = {}


def native_runtime():
    """A runtime archive with an empty root file system (the mount points a
    container needs, and a user database) and no entrypoint, so that
    /code/<entry> runs directly (deviceless-api.md 3.2)."""
    out = io.BytesIO()

    def add(name, data=None, mode=0o755):
        ti = tarfile.TarInfo(name)
        ti.mode = mode
        if data is None:
            ti.type = tarfile.DIRTYPE
            t.addfile(ti)
        else:
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))

    with tarfile.open(fileobj=out, mode="w:gz") as t:
        add("runtime.json", json.dumps({"env": ["PATH=/code"], "cwd": "/code"}).encode(), 0o644)
        for d in ("rootfs", "rootfs/proc", "rootfs/sys", "rootfs/dev", "rootfs/tmp",
                  "rootfs/code", "rootfs/run", "rootfs/run/function", "rootfs/run/iotronic",
                  "rootfs/etc"):
            add(d)
        add("rootfs/etc/passwd", b"root:x:0:0::/:/bin/false\nnobody:x:65534:65534::/:/bin/false\n",
            0o644)
    return out.getvalue()


def build_fn(ctx):
    exe = os.path.join(ctx.dir, "benchfn")
    subprocess.run(["cc", "-O2", "-static", "-o", exe, os.path.join(HERE, "fn", "benchfn.c")],
                   check=True)
    with open(exe, "rb") as f:
        return f.read()


class Deviceless:
    def __init__(self, ctx):
        import iotstack
        import qinlingtest
        self.ctx = ctx
        self.q = qinlingtest
        self.cloud = iotstack.Cloud()
        _state["cloud"] = self.cloud
        self.st = qinlingtest.Stack(engine=True, db=self.cloud.db, vhost=self.cloud.vhost,
                                    extra={"engine": {"board_call_timeout": 10}}).start()
        _state["qinling"] = self.st
        self.a = self.cloud.agent("fn-a", conf=AGENT_CONF)
        self.b = self.cloud.agent("fn-b", conf=AGENT_CONF)
        self.ba = self.a.register()
        self.bb = self.b.register()
        for board in (self.ba, self.bb):
            iottest.wait_until(lambda: self.executor(board) == "crun", timeout=60,
                               what="board %s capabilities (crun)" % board)
        self.busybox = self.st.runtime("busybox")
        r = self.st.call("POST", "/v1/runtimes", {"image": "bench-native", "name": "native"},
                         admin=True)
        self.check(r, 201)
        self.native = r.json["id"]
        r = self.st.call("PUT", "/v1/runtimes/%s/image" % self.native, admin=True,
                         headers={"Content-Type": "application/gzip"}, raw=native_runtime())
        self.check(r, 200)
        self.prog = build_fn(ctx)

    @staticmethod
    def check(r, status):
        if r.status != status:
            raise RuntimeError("%s: %s" % (r.status, r))

    def executor(self, board):
        rows = self.st.sql("SELECT caps->>'executor' FROM board_capabilities "
                           "WHERE board_uuid = :'p1'", board)
        return rows[0][0] if rows else None

    def function(self, kind, name, **fields):
        if kind == "shell":
            return self.st.function(self.busybox, {"main.sh": SHELL_MAIN}, name=name,
                                    board_id=self.bb, **fields)["id"]
        files = dict(fields.pop("files", {}), benchfn=self.prog)
        pkg = self.q.make_zip(files, mode=0o755)
        import base64
        import hashlib
        body = {"code": {"source": "package", "md5sum": hashlib.md5(pkg).hexdigest()},
                "package": base64.b64encode(pkg).decode(), "runtime_id": self.native,
                "entry": "benchfn", "name": name, "board_id": self.bb}
        body.update(fields)
        r = self.st.call("POST", "/v1/functions", body)
        self.check(r, 201)
        return r.json["id"]

    def execute(self, fid, inp=None):
        """One sync execution; returns (client ms, execution)."""
        body = {"function_id": fid, "sync": True}
        if inp is not None:
            body["input"] = json.dumps(inp)
        t = time.monotonic()
        r = self.st.call("POST", "/v1/executions", body)
        ms = (time.monotonic() - t) * 1000
        self.check(r, 201)
        e = r.json
        if e["status"] != "success":
            raise RuntimeError("execution %s: %s %s" % (e["id"], e["status"], e["result"]))
        return ms, e

    def series(self, fid, n, gap):
        out = []
        for _ in range(n):
            ms, e = self.execute(fid)
            out.append((ms, e))
            time.sleep(gap)
        return out


def us(text):
    """µs since the epoch of a "...Z" time with six fractional digits."""
    t = time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    return int((time.mktime(t) - time.timezone) * 1000000) + int(text[20:26])


HOPS = (("dispatched_at", "received_at"), ("received_at", "started_at"),
        ("started_at", "finished_at"), ("finished_at", "completed_at"))


def hops(ms, e):
    """Where the time of one execution went, in ms: the service's timing
    fields (2.6.5), the part before dispatch (service_duration minus the
    stamped hops) and the client's share (its wall time minus
    service_duration: HTTP, the API's wait for the NOTIFY)."""
    t = e["timing"]
    if any(t.get(k) is None for k in ("dispatched_at", "completed_at", "service_duration")):
        return {}
    out = {"%s->%s" % (a[:-3], b[:-3]): (us(t[b]) - us(t[a])) / 1000.0 for a, b in HOPS
           if t.get(a) and t.get(b)}
    svc = t["service_duration"] * 1000.0
    out["created->dispatched"] = svc - (us(t["completed_at"]) - us(t["dispatched_at"])) / 1000.0
    out["client-service"] = ms - svc
    return out


def summarise(samples):
    ms = sorted(s[0] for s in samples)
    hs = [hops(*s) for s in samples]
    keys = sorted({k for h in hs for k in h})
    return {"p50": statistics.median(ms), "min": ms[0], "max": ms[-1], "n": len(ms),
            "hops_p50_ms": {k: round(statistics.median([h[k] for h in hs if k in h]), 3)
                            for k in keys}}


def latency_figures(ctx, d, fid_target, fid_extra, kind, keep_warm, gap):
    for fid, kind_name, fn in ((fid_target, "shell", d.function("shell", "bench-%s-sh" % kind,
                                                               keep_warm=keep_warm)),
                               (fid_extra, "native", d.function("native", "bench-%s-c" % kind,
                                                                keep_warm=keep_warm))):
        d.execute(fn)  # the first run deploys package and container
        time.sleep(1.0)
        if fid in targets.TARGETS:
            f = ctx.results.target(fid, "POST /v1/executions {sync: true} (qinling-api), %s "
                                   "function, keep_warm %d, %d per run, %.1f s apart"
                                   % (kind_name, keep_warm, PER_RUN, gap))
        else:
            f = ctx.results.figure(fid, targets.TARGETS["fn.%s.p50" % kind][0],
                                   "%s function execution, native program (the platform's own "
                                   "cost), p50" % kind, "ms",
                                   command="the same with tools/bench/fn/benchfn.c on an empty "
                                   "runtime")
        for _ in range(ctx.opts.runs):
            s = summarise(d.series(fn, PER_RUN, gap))
            f.add(s["p50"], s)
        f.note = "median hops of the last run, ms (deviceless-api.md 2.6.5 timing): " + ", ".join(
            "%s %.1f" % kv for kv in sorted(f.details[-1]["hops_p50_ms"].items()))
        ctx.log("  %s %s: p50 %s ms; median hops of the last run (ms): %s"
                % (kind, kind_name, ["%.1f" % v for v in f.values],
                   f.details[-1]["hops_p50_ms"]))


def deploy_figure(ctx, d):
    f = ctx.results.target("fn.deploy.p50", "a new native function with a 1 MiB package "
                           "(random bytes + the program): POST /v1/functions, then the first "
                           "sync POST /v1/executions, timed to its answer; runtime cached")
    for i in range(max(3, 2 * ctx.opts.runs)):
        fid = d.function("native", "bench-deploy-%d" % i, files={"blob.bin": os.urandom(1 << 20)})
        ms, e = d.execute(fid)
        f.add(ms, {"timing": e["timing"], "hops_ms": hops(ms, e)})
    ctx.log("  first deployment of 1 MiB: %s ms" % ["%.0f" % v for v in f.values])


def trigger_figure(ctx, d):
    fid = d.function("native", "bench-light", keep_warm=1,
                     devices=["gpio:sim0:%d:out" % LINE])
    d.execute(fid, {"line": LINE, "light": "off"})  # deployed and warm on B
    d.a.sim("set-sensor", "lux0", "50")
    body = {"name": "bench-dusk",
            "source": {"board_id": d.ba, "sensor": "lux0", "condition": "<", "threshold": 10.0,
                       "hysteresis": 0.0, "sample_interval_ms": 20},
            "target": {"function_id": fid, "board_id": d.bb,
                       "input_template": {"light": "on", "line": LINE, "lux": "{{event.value}}"}}}
    r = d.st.call("POST", "/v1/triggers", body)
    d.check(r, 201)
    tid = r.json["id"]
    iottest.wait_until(lambda: d.st.call("GET", "/v1/triggers/" + tid).json["status"] == "active",
                       timeout=60, what="trigger active")
    f = ctx.results.target("io.sensor_actuator.p50", "trigger lux0 < 10 on board A (sampled "
                           "every 20 ms) -> native function, warm container, on board B -> "
                           "gpio_write sim0:%d through the IO socket; latency_ms of each firing "
                           "(actuated_at - sampled_at)" % LINE)
    seen = 0
    hops = []
    for i in range(ctx.opts.runs * PER_RUN):
        d.a.sim("set-sensor", "lux0", "50")  # re-arms
        time.sleep(0.15)
        d.a.sim("set-sensor", "lux0", "5")
        fr = iottest.wait_until(lambda: firing(d, tid, seen), timeout=60,
                                what="firing %d settled" % (i + 1))
        seen = fr["firing_seq"]
        f.add(fr["latency_ms"], {k: fr.get(k) for k in ("sampled_at", "fired_at", "received_at",
                                                        "executed_at", "actuated_at")})
        time.sleep(0.3)  # the warm container is replaced
    d.st.call("DELETE", "/v1/triggers/" + tid)
    order = ("sampled_at", "fired_at", "received_at", "executed_at", "actuated_at")
    hop = {}
    for a, b in zip(order, order[1:]):
        v = [(us(x[b]) - us(x[a])) / 1000.0 for x in f.details if x.get(a) and x.get(b)]
        if v:
            hop["%s->%s" % (a[:-3], b[:-3])] = statistics.median(v)
    f.note = ("each value is one firing (%d firings); median hops, ms: %s"
              % (len(f.values), ", ".join("%s %.2f" % kv for kv in hop.items())))
    ctx.log("  sensor A -> GPIO B: p50 %.2f ms, min %.2f, max %.2f over %d firings"
            % (statistics.median(f.values), min(f.values), max(f.values), len(f.values)))


def firing(d, tid, after):
    fs = d.st.call("GET", "/v1/triggers/%s/firings" % tid).json["firings"]
    fs = [x for x in fs if x["firing_seq"] > after and x["latency_ms"] is not None]
    return fs[0] if fs else None


def run(ctx):
    stk.need("iotronic-wagent", "lightning-rod-c", "lrc-probe", "qinling-api", "qinling-engine")
    d = Deviceless(ctx)
    latency_figures(ctx, d, "fn.warm.p50", "fn.warm_native.p50", "warm", 1, 0.3)
    latency_figures(ctx, d, "fn.cold.p50", "fn.cold_native.p50", "cold", 0, 0.05)
    deploy_figure(ctx, d)
    trigger_figure(ctx, d)


def cleanup(ctx):
    st = _state.pop("qinling", None)
    if st is not None:
        try:
            st.stop()
        except AssertionError as e:
            ctx.log("  qinling stop: %s" % str(e)[:300])
    cloud = _state.pop("cloud", None)
    if cloud is not None:
        cloud.close()
