#!/usr/bin/python3
# timeout: 900
"""Latencies of the deviceless path, measured end to end with real boards
and crun containers (DESIGN.md targets: warm sync execution <= 5 ms p50,
cold <= 30 ms p50, first deployment of a 1 MiB package <= 200 ms), with the
share of each stage from the execution's timing fields (2.6.5):

  dispatch  created -> dispatched_at  (API insert, AMQP, engine placement)
  accept    dispatched_at -> received_at (wagent, board, its record)
  start     received_at -> started_at   (container create/start on the board)
  run       started_at -> finished_at   (the function itself)
  report    finished_at -> completed_at (board outbox, wagent, AMQP, engine store)

The figures are printed as TAP comments (# ...); the assertions only check
that every execution succeeded and that warm is not slower than cold, so
the suite passes on a loaded machine. QINLING_PERF_N sets the executions per
figure (default 15). `make bench` (tools/bench/suite_deviceless.py) is the
reference measurement."""

import datetime
import json
import os
import statistics
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iotstack  # noqa: E402
import iottest  # noqa: E402
import qinlingtest  # noqa: E402

N = int(os.environ.get("QINLING_PERF_N", "15"))
MAIN = '#!/bin/sh\necho \'{"ok": true}\' > "$FUNCTION_RESULT"\n'


def ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp() * 1000


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def skip_reason():
    missing = iotstack.missing_binaries(iotstack.CLOUD_BINARIES + (
        "lightning-rod-c", "lrc-probe", "qinling-api", "qinling-engine"))
    return "not built: " + ", ".join(missing) if missing else None


@unittest.skipIf(skip_reason(), skip_reason())
class Perf(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cloud = iotstack.Cloud()
        cls.st = qinlingtest.Stack(engine=True, db=cls.cloud.db, vhost=cls.cloud.vhost).start()
        cls.agent = cls.cloud.agent("perf", conf={"function": {"max_concurrency": 2}})
        cls.board = cls.agent.register()
        iottest.wait_until(lambda: cls.st.sql(
            "SELECT caps->>'executor' FROM board_capabilities WHERE board_uuid = :'p1'",
            cls.board) == [["crun"]], timeout=30, what="board capabilities")
        cls.rid = cls.st.runtime("busybox")
        cls.results = {}

    @classmethod
    def tearDownClass(cls):
        for name, (p50, p90, stages) in cls.results.items():
            print("# %-14s p50 %7.1f ms  p90 %7.1f ms   %s" % (name, p50, p90, stages))
        cls.st.stop()

    def run_sync(self, fid):
        t0 = time.perf_counter()
        r = self.st.call("POST", "/v1/executions", {"function_id": fid})
        wall = (time.perf_counter() - t0) * 1000
        self.assertEqual((r.status, r.json["status"]), (201, "success"), r)
        return wall, r.json

    def record(self, name, walls, execs):
        stages = {}
        for e in execs:
            t = e["timing"]
            done = ts(t["completed_at"])
            created = done - t["service_duration"] * 1000
            marks = [("dispatch", created, ts(t["dispatched_at"])),
                     ("accept", ts(t["dispatched_at"]), ts(t["received_at"])),
                     ("start", ts(t["received_at"]), ts(t["started_at"])),
                     ("run", ts(t["started_at"]), ts(t["finished_at"])),
                     ("report", ts(t["finished_at"]), done)]
            for k, a, b in marks:
                stages.setdefault(k, []).append(b - a)
        text = " ".join("%s %.1f" % (k, statistics.median(v)) for k, v in stages.items())
        self.results[name] = (pct(walls, 50), pct(walls, 90), "stage medians (ms): " + text)
        return pct(walls, 50)

    def series(self, fid, pause=0.0):
        walls, execs = [], []
        for _ in range(N):
            w, e = self.run_sync(fid)
            walls.append(w)
            execs.append(e)
            time.sleep(pause)
        return walls, execs

    def test_latencies(self):
        cold = self.st.function(self.rid, {"main.sh": MAIN}, board_id=self.board)
        self.run_sync(cold["id"])  # the package reaches the board's cache
        cold_p50 = self.record("cold", *self.series(cold["id"]))
        warm = self.st.function(self.rid, {"main.sh": MAIN}, board_id=self.board, keep_warm=1)
        self.run_sync(warm["id"])
        time.sleep(1)
        # A pause lets the board's replacement warm container be ready (3.5.5).
        warm_p50 = self.record("warm", *self.series(warm["id"], pause=0.3))
        walls, execs = [], []
        for i in range(max(3, N // 3)):
            files = {"main.sh": MAIN, "blob.bin": os.urandom(1 << 20)}
            f = self.st.function(self.rid, files, board_id=self.board)
            w, e = self.run_sync(f["id"])
            walls.append(w)
            execs.append(e)
        self.record("first deploy", walls, execs)
        self.assertLessEqual(warm_p50, cold_p50 * 1.5)


if __name__ == "__main__":
    iottest.main()
