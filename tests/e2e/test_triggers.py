#!/usr/bin/python3
# timeout: 900
"""Sensor-triggered actuators across boards, end to end (deviceless-api.md 3.7).

The real cloud (API, conductor, wagent), qinling-api and qinling-engine, two
real lightning-rod-c boards with the simulated IO backend, and real crun
containers:

  dusk        a light sensor on board A drops below a threshold, so a street
              light (a simulated GPIO output) on board B turns on, driven by a
              function; every step is checked: the trigger installed on A, the
              firing in the cloud with its timestamps, the execution on B with
              the rendered input, B's line high, the latency;
  local loop  a trigger whose target is its own source board closes the loop
              on the board while the wagent is stopped (the cloud unreachable),
              and the firing and execution reach the cloud after it restarts;
  restart     the board restores its triggers from triggers.json after an
              agent restart, before the cloud sends them again;
  button      a GPIO source: a rising edge on A's input line switches B's
              light off;
  latency     sensor on A to GPIO write on B, and the local loop on B, with a
              native function in a warm container, over repeated firings
              (TAP comments: p50, p90, min, max and the median of each hop;
              TRIGGER_LATENCY_RUNS, TRIGGER_LATENCY_JSON=<file> for make bench).

The runtimes are the archives of tools/build-runtimes.sh."""

import base64
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iotstack  # noqa: E402
import iottest  # noqa: E402
import qinlingtest  # noqa: E402

AGENT_CONF = {"io": {"sim_chips": "sim0:32", "sim_sensors": "temp0:C:21.5 lux0:lx:120"},
              "function": {"max_concurrency": 2}}

# The street light: the input names the line and whether it is on.
LIGHT_FN = '''
import json, os, socket

def main(light="on", line=5, lux=None, **kw):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.environ["IOTRONIC_IO_SOCKET"])
    f = s.makefile("rw")
    f.write(json.dumps({"id": 1, "op": "gpio_write", "chip": "sim0", "line": line,
                        "value": 1 if light == "on" else 0}) + "\\n")
    f.flush()
    reply = json.loads(f.readline())
    if not reply.get("ok"):
        raise RuntimeError("%s: %s" % (reply.get("error"), reply.get("message")))
    return {"light": light, "line": line, "lux": lux}
'''


# The same street light as a native function (a static C program in the
# package, on a runtime that is nothing but the mount points), for latency:
# what remains is the platform's path, not an interpreter's start.
ACTUATE_C = r'''
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(void)
{
    char in[4096], req[256], rep[512];
    size_t n = fread(in, 1, sizeof(in) - 1, stdin);
    int line = 5, on = 1, fd;
    const char *p, *path = getenv("IOTRONIC_IO_SOCKET"), *res = getenv("FUNCTION_RESULT");
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    ssize_t got;
    FILE *out;

    in[n] = '\0';
    if ((p = strstr(in, "\"line\":")) != NULL)
        line = atoi(p + 7);
    if ((p = strstr(in, "\"light\":")) != NULL && strstr(p, "\"off\"") == p + 9)
        on = 0;
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path ? path : "/run/iotronic/io.sock");
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return 2;
    n = (size_t)snprintf(req, sizeof(req),
                 "{\"id\":1,\"op\":\"gpio_write\",\"chip\":\"sim0\",\"line\":%d,\"value\":%d}\n",
                 line, on);
    if (write(fd, req, n) != (ssize_t)n || (got = read(fd, rep, sizeof(rep) - 1)) <= 0)
        return 3;
    rep[got] = '\0';
    if ((out = fopen(res ? res : "/run/function/result", "w")) != NULL) {
        fprintf(out, "{\"light\":\"%s\",\"line\":%d}\n", on ? "on" : "off", line);
        fclose(out);
    }
    return strstr(rep, "\"ok\":true") ? 0 : 1;
}
'''


def native_runtime():
    """A runtime archive with an empty root file system and no entrypoint, so
    that /code/<entry> runs directly (deviceless-api.md 3.2)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as t:
        rj = json.dumps({"env": ["PATH=/bin"], "cwd": "/code"}).encode()
        ti = tarfile.TarInfo("runtime.json")
        ti.size = len(rj)
        t.addfile(ti, io.BytesIO(rj))
        for d in ("rootfs", "rootfs/proc", "rootfs/sys", "rootfs/dev", "rootfs/tmp",
                  "rootfs/code", "rootfs/run", "rootfs/run/function", "rootfs/run/iotronic",
                  "rootfs/etc"):
            ti = tarfile.TarInfo(d)
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            t.addfile(ti)
        pw = b"root:x:0:0:root:/:/bin/false\nnobody:x:65534:65534:nobody:/:/bin/false\n"
        ti = tarfile.TarInfo("rootfs/etc/passwd")
        ti.size = len(pw)
        t.addfile(ti, io.BytesIO(pw))
    return out.getvalue()


def skip_reason():
    if os.geteuid() != 0:
        return "crun containers need root here"
    missing = iotstack.missing_binaries(iotstack.CLOUD_BINARIES + (
        "lightning-rod-c", "lrc-probe", "qinling-api", "qinling-engine"))
    return "not built: " + ", ".join(missing) if missing else None


def us(text):
    """µs since the epoch of a "...Z" timestamp with six fractional digits."""
    t = time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    return int((time.mktime(t) - time.timezone) * 1000000) + int(text[20:26])


@unittest.skipIf(skip_reason(), skip_reason())
class Triggers(unittest.TestCase):
    """The steps share one stack and run in order."""

    @classmethod
    def setUpClass(cls):
        cls.cloud = iotstack.Cloud()
        cls.st = qinlingtest.Stack(engine=True, db=cls.cloud.db, vhost=cls.cloud.vhost,
                                   extra={"engine": {"board_call_timeout": 10}}).start()
        cls.a = cls.cloud.agent("sensor-a", conf=AGENT_CONF)
        cls.b = cls.cloud.agent("light-b", conf=AGENT_CONF)
        cls.ba = cls.a.register()
        cls.bb = cls.b.register()
        for board in (cls.ba, cls.bb):
            iottest.wait_until(lambda: cls.executor(board) == "crun", timeout=60,
                               what="board %s capabilities" % board)
        cls.python3 = cls.st.runtime("python3")
        cls.fn = cls.st.function(cls.python3, {"main.py": LIGHT_FN}, name="streetlight",
                                 devices=["gpio:sim0:5:out", "gpio:sim0:6:out",
                                          "gpio:sim0:7:out"],
                                 keep_warm=1)["id"]

    @classmethod
    def tearDownClass(cls):
        cls.cloud.close()

    @classmethod
    def executor(cls, board):
        rows = cls.st.sql("SELECT caps->>'executor' FROM board_capabilities "
                          "WHERE board_uuid = :'p1'", board)
        return rows[0][0] if rows else None

    # ------------------------------------------------------------ helpers

    def create_trigger(self, source_board, target_board, line, sensor="lux0", cond="<",
                       threshold=10.0, fn=None, **source):
        body = {"name": "line-%d" % line,
                "source": dict({"board_id": source_board, "sensor": sensor, "condition": cond,
                                "threshold": threshold, "hysteresis": 2.0,
                                "sample_interval_ms": 20}, **source),
                "target": {"function_id": fn or self.fn, "board_id": target_board,
                           "input_template": {"light": "on", "line": line,
                                              "lux": "{{event.value}}"}}}
        r = self.st.call("POST", "/v1/triggers", body)
        self.assertEqual(r.status, 201, r)
        return r.json

    def trigger(self, tid):
        return self.st.call("GET", "/v1/triggers/%s" % tid).json

    def wait_active(self, tid, timeout=60):
        return iottest.wait_until(lambda: self.trigger(tid)["status"] == "active" and
                                  self.trigger(tid), timeout=timeout,
                                  what="trigger %s active" % tid)

    def firings(self, tid):
        return self.st.call("GET", "/v1/triggers/%s/firings" % tid).json["firings"]

    def line(self, agent, n):
        return agent.sim("get-line", "sim0", str(n))

    def settled_firing(self, tid, seq=None, timeout=60):
        def done():
            fs = [f for f in self.firings(tid) if seq is None or f["firing_seq"] == seq]
            return fs and fs[0]["latency_ms"] is not None and fs[0]
        return iottest.wait_until(done, timeout=timeout, what="firing of %s settled" % tid)

    def board_triggers(self, agent):
        return {t["id"]: t for t in agent.status()["triggers"]["triggers"]}

    # ------------------------------------------------------------ steps

    def test_1_dusk_turns_on_the_street_light_on_another_board(self):
        t = self.create_trigger(self.ba, self.bb, 5)
        self.assertFalse(t["local"])
        t = self.wait_active(t["id"])
        # Installed on A, evaluated there: 120 lx is day.
        on_a = iottest.wait_until(lambda: self.board_triggers(self.a).get(t["id"]),
                                  what="trigger on board A")
        self.assertEqual((on_a["source"], on_a["condition"], on_a["local"]),
                         ("sensor:lux0", "<", False))
        self.assertEqual(self.line(self.b, 5)["value"], 0)
        time.sleep(0.3)
        self.assertEqual(self.firings(t["id"]), [])
        # Dusk.
        self.a.sim("set-sensor", "lux0", "8.5")
        f = self.settled_firing(t["id"])
        self.assertEqual(self.line(self.b, 5)["value"], 1)
        self.assertEqual((f["board_id"], f["value"], f["previous"], f["local"]),
                         (self.ba, 8.5, 120, False))
        self.assertEqual(len(f["execution_ids"]), 1)
        e = self.st.call("GET", "/v1/executions/%s" % f["execution_ids"][0]).json
        self.assertEqual((e["status"], e["board_id"], e["trigger_id"], e["firing_id"],
                          e["description"]),
                         ("success", self.bb, t["id"], f["id"], "Created by Trigger %s" % t["id"]))
        self.assertEqual(json.loads(e["input"]), {"light": "on", "line": 5, "lux": 8.5})
        self.assertEqual(json.loads(e["result"])["output"],
                         {"light": "on", "line": 5, "lux": 8.5})
        # The timestamps are in causal order (one host, one clock).
        order = [us(f[k]) for k in ("sampled_at", "fired_at", "received_at", "executed_at",
                                    "actuated_at")]
        self.assertEqual(order, sorted(order), f)
        self.assertAlmostEqual(f["latency_ms"], (order[4] - order[0]) / 1000.0, places=2)
        tr = self.trigger(t["id"])
        self.assertEqual((tr["fire_count"], tr["last_fired_at"]), (1, f["fired_at"]))
        # Still dark: no second firing until it was light again (hysteresis).
        self.a.sim("set-sensor", "lux0", "11")
        time.sleep(0.3)
        self.assertEqual(len(self.firings(t["id"])), 1)
        self.st.call("DELETE", "/v1/triggers/%s" % t["id"])
        iottest.wait_until(lambda: t["id"] not in self.board_triggers(self.a),
                           what="trigger removed from board A")

    def test_2_local_loop_runs_while_the_wagent_is_stopped(self):
        t = self.create_trigger(self.bb, self.bb, 6, sensor="temp0", cond=">", threshold=30.0)
        self.assertTrue(t["local"])
        self.wait_active(t["id"])
        self.assertTrue(self.board_triggers(self.b)[t["id"]]["local"])
        wagent = self.cloud.wagents[0]
        wagent.stop()
        iottest.wait_until(lambda: self.b.status()["state"] != "online",
                           what="board B offline")
        # The cloud is unreachable; the board closes the loop on its own.
        self.b.sim("set-sensor", "temp0", "35")
        iottest.wait_until(lambda: self.line(self.b, 6)["value"] == 1, timeout=30,
                           what="line 6 on, with the wagent stopped")
        self.assertEqual(self.firings(t["id"]), [])
        wagent.start()
        self.b.wait_online(timeout=60)
        # Reported after the reconnect: the firing, the execution, one clock.
        f = self.settled_firing(t["id"])
        self.assertTrue(f["local"])
        e = self.st.call("GET", "/v1/executions/%s" % f["execution_ids"][0]).json
        self.assertEqual((e["status"], e["board_id"], e["trigger_id"], e["firing_id"]),
                         ("success", self.bb, t["id"], f["id"]))
        self.assertEqual(json.loads(e["input"])["line"], 6)
        self.assertLess(us(f["sampled_at"]), us(f["actuated_at"]))
        self.assertLess(us(f["actuated_at"]), us(f["received_at"]))  # reported later
        self.st.call("DELETE", "/v1/triggers/%s" % t["id"])

    def test_3_board_restores_its_triggers_after_a_restart(self):
        self.a.sim("set-sensor", "lux0", "120")
        t = self.create_trigger(self.ba, self.bb, 7)
        self.wait_active(t["id"])
        with open(os.path.join(self.a.state_dir, "triggers.json")) as fh:
            saved = json.load(fh)
        self.assertEqual([x["def"]["id"] for x in saved["triggers"]], [t["id"]])
        self.cloud.wagents[0].stop()
        self.a.stop()
        self.a.start()
        # Restored from the file, with the cloud still away.
        iottest.wait_until(lambda: t["id"] in self.board_triggers(self.a),
                           what="trigger restored on A")
        self.cloud.wagents[0].start()
        self.a.wait_online(timeout=60)
        self.b.wait_online(timeout=60)
        self.wait_active(t["id"])
        self.a.sim("set-sensor", "lux0", "3")
        f = self.settled_firing(t["id"])
        self.assertEqual(self.line(self.b, 7)["value"], 1)
        self.assertGreater(f["firing_seq"], 1)  # past the reservation of the first run
        self.st.call("DELETE", "/v1/triggers/%s" % t["id"])

    def test_5_button_edge_on_a_switches_the_light_off_on_b(self):
        """A GPIO source: a rising edge of A's input line (a kernel-style
        event on the sim backend, no polling) drives B's output line."""
        self.assertEqual(self.line(self.b, 5)["value"], 1)  # on since step 1
        body = {"name": "button",
                "source": {"board_id": self.ba, "gpio": "sim0:2", "condition": "rising",
                           "debounce_ms": 50},
                "target": {"function_id": self.fn, "board_id": self.bb,
                           "input_template": {"light": "off", "line": 5,
                                              "lux": "{{event.value}}"}}}
        r = self.st.call("POST", "/v1/triggers", body)
        self.assertEqual(r.status, 201, r)
        t = self.wait_active(r.json["id"])
        self.assertEqual(self.line(self.a, 2)["direction"], "input")
        self.a.sim("set-line", "sim0", "2", "1")
        f = self.settled_firing(t["id"])
        self.assertEqual(self.line(self.b, 5)["value"], 0)
        self.assertEqual((f["value"], f["previous"], f["local"]), (1, 0, False))
        e = self.st.call("GET", "/v1/executions/%s" % f["execution_ids"][0]).json
        self.assertEqual(json.loads(e["input"]), {"light": "off", "line": 5, "lux": 1})
        # The falling edge is not this trigger's.
        self.a.sim("set-line", "sim0", "2", "0")
        time.sleep(0.3)
        self.assertEqual(len(self.firings(t["id"])), 1)
        self.st.call("DELETE", "/v1/triggers/%s" % t["id"])
        iottest.wait_until(lambda: t["id"] not in self.board_triggers(self.a),
                           what="trigger removed from board A")

    def native_function(self):
        d = iottest.tmpdir("native-")
        src, exe = os.path.join(d, "actuate.c"), os.path.join(d, "actuate")
        with open(src, "w") as fh:
            fh.write(ACTUATE_C)
        subprocess.run(["cc", "-O2", "-static", "-o", exe, src], check=True)
        r = self.st.call("POST", "/v1/runtimes", {"image": "native", "name": "native"},
                         admin=True)
        self.assertEqual(r.status, 201, r)
        rid = r.json["id"]
        r = self.st.call("PUT", "/v1/runtimes/%s/image" % rid, admin=True,
                         headers={"Content-Type": "application/gzip"}, raw=native_runtime())
        self.assertEqual((r.status, r.json["status"]), (200, "available"), r)
        with open(exe, "rb") as fh:
            pkg = qinlingtest.make_zip({"actuate": fh.read()}, mode=0o755)
        r = self.st.call("POST", "/v1/functions", {
            "code": {"source": "package"}, "package": base64.b64encode(pkg).decode(),
            "runtime_id": rid, "entry": "actuate", "name": "streetlight-native",
            "devices": ["gpio:sim0:8:out", "gpio:sim0:9:out"], "keep_warm": 1})
        self.assertEqual(r.status, 201, r)
        return r.json["id"]

    def measure(self, tid, agent, sensor, day, night, runs):
        """Fires runs times (day, then night); returns the latencies and the
        median of each hop, in ms."""
        lat, parts = [], []
        base = len(self.firings(tid))
        for i in range(runs):
            agent.sim("set-sensor", sensor, str(day))  # the trigger re-arms
            time.sleep(0.1)
            agent.sim("set-sensor", sensor, str(night))
            iottest.wait_until(lambda: len(self.firings(tid)) == base + i + 1, timeout=60,
                               what="firing %d" % (i + 1))
            f = self.settled_firing(tid, seq=self.firings(tid)[0]["firing_seq"])
            lat.append(f["latency_ms"])
            t = {k: us(f[k]) for k in ("sampled_at", "fired_at", "received_at", "executed_at",
                                       "actuated_at")}
            parts.append(t)
        lat.sort()
        return lat, parts

    def report(self, what, lat, hops):
        p90 = lat[max(0, int(round(len(lat) * 0.9)) - 1)]
        print("# %s: n=%d p50=%.2f ms p90=%.2f ms min=%.2f ms max=%.2f ms"
              % (what, len(lat), statistics.median(lat), p90, lat[0], lat[-1]))
        print("#   median hops, ms: " + ", ".join("%s %.2f" % h for h in hops))
        return {"n": len(lat), "p50_ms": statistics.median(lat), "p90_ms": p90,
                "min_ms": lat[0], "max_ms": lat[-1], "hops_p50_ms": dict(hops)}

    @staticmethod
    def hop(parts, a, b):
        return (a + "->" + b, statistics.median((p[b] - p[a]) / 1000.0 for p in parts))

    def test_4_latency(self):
        """Sensor on A to GPIO write on B, and the local loop on B, with a
        native function in a warm container (TRIGGER_LATENCY_RUNS firings
        each; TRIGGER_LATENCY_JSON=<file> keeps the figures)."""
        runs = int(os.environ.get("TRIGGER_LATENCY_RUNS", "10"))
        fn = self.native_function()
        self.a.sim("set-sensor", "lux0", "50")
        self.b.sim("set-sensor", "temp0", "20")
        cross = self.create_trigger(self.ba, self.bb, 8, fn=fn, hysteresis=0.0)
        local = self.create_trigger(self.bb, self.bb, 9, fn=fn, sensor="temp0", cond=">",
                                    threshold=30.0, hysteresis=0.0)
        self.wait_active(cross["id"])
        self.wait_active(local["id"])
        out = {}
        lat, parts = self.measure(cross["id"], self.a, "lux0", 50, 5, runs)
        self.assertEqual(self.line(self.b, 8)["value"], 1)
        out["cross_board"] = self.report(
            "sensor on board A -> GPIO write on board B (native function, warm container)", lat,
            [self.hop(parts, "sampled_at", "fired_at"), self.hop(parts, "fired_at", "received_at"),
             self.hop(parts, "received_at", "executed_at"),
             self.hop(parts, "executed_at", "actuated_at")])
        lat, parts = self.measure(local["id"], self.b, "temp0", 20, 35, runs)
        self.assertEqual(self.line(self.b, 9)["value"], 1)
        out["local_loop"] = self.report(
            "local loop on board B (native function, warm container)", lat,
            [self.hop(parts, "sampled_at", "fired_at"), self.hop(parts, "fired_at", "executed_at"),
             self.hop(parts, "executed_at", "actuated_at")])
        if os.environ.get("TRIGGER_LATENCY_JSON"):
            with open(os.environ["TRIGGER_LATENCY_JSON"], "w") as fh:
                json.dump(out, fh, indent=2)
        for t in (cross, local):
            self.st.call("DELETE", "/v1/triggers/%s" % t["id"])

if __name__ == "__main__":
    iottest.main()
