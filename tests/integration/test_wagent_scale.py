#!/usr/bin/python3
"""Measurements of iotronic-wagent (DESIGN.md performance targets), printed as
TAP comments and held to loose bounds so that a regression fails:

  - sessions held and memory per session: N boards bound with anonymous
    sessions, each with the original agent's procedures registered, and what
    they cost in the wagent's RSS (and in the kernel's socket memory);
  - the board RPC round trip, REST action -> API -> conductor -> wagent ->
    board -> back, p50 and p99, with those N boards online; and the wagent's
    own share (AMQP invoke -> board -> back).

N is IOT_WAGENT_SESSIONS (default 2000). RSS means nothing under ASan: the
memory bound is then skipped."""

import os
import resource
import statistics
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402
import wampclient as wc  # noqa: E402
from test_wagent_support import WagStack  # noqa: E402

N = int(os.environ.get("IOT_WAGENT_SESSIONS", "2000"))
# What the original agent 0.5 registers (its device, plugin and service modules).
PROCEDURES = ["DevicePing", "DeviceEcho", "DeviceNetConfig", "DeviceReboot", "DeviceRestartLR",
              "DeviceUpgradeLR", "DevicePkgOperation", "DeviceMountFs", "DeviceFactoryReset",
              "DeviceRestSubmit", "PluginInject", "PluginStart", "PluginStop", "PluginCall",
              "PluginStatus", "PluginReboot", "PluginRemove", "ServiceEnable", "ServiceDisable",
              "ServiceRestore", "ServicesStatus"]


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def tcp_mem_pages():
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                parts = line.split()
                return int(parts[parts.index("mem") + 1])
    return 0


def slab_kb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("Slab:"):
                return int(line.split()[1])
    return 0


def sanitized(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


class ScaleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        if hard < N + 256:
            raise unittest.SkipTest("RLIMIT_NOFILE %d is below %d sessions" % (hard, N))
        cls.st = WagStack(extra={"DEFAULT": {"log_level": "warning"}})
        cls.w = cls.st.start_wagent("wagent-1", wagent={"ping_interval": 20, "ping_timeout": 120,
                                                         "max_handshakes_per_second": 100000,
                                                         "bind_timeout": 120})
        cls.sessions = []

    @classmethod
    def tearDownClass(cls):
        for c in cls.sessions:
            c.close()
        cls.st.close()

    def say(self, text):
        sys.stdout.write("# %s\n" % text)
        sys.stdout.flush()

    def bulk_boards(self, n):
        """n boards registered as the registration would leave them, in two
        statements (the REST path is measured elsewhere)."""
        self.st.sql("WITH b AS (INSERT INTO boards (uuid, code, name, status, agent, project, "
                    "owner) SELECT gen_random_uuid(), 'SCALE-' || i, 'scale-' || i, 'offline', "
                    "'wagent-1', 'p1', 'u1' FROM generate_series(1, :'p1'::integer) i "
                    "RETURNING uuid, code) INSERT INTO board_credentials (board_uuid, secret, "
                    "registered_code, registered_at) SELECT uuid, md5(random()::text), code, "
                    "now() FROM b", n)
        return [r[0] for r in self.st.sql("SELECT uuid FROM boards WHERE code LIKE 'SCALE-%' "
                                          "ORDER BY id")]

    def bind(self, uuid):
        c = self.w.wamp(timeout=30)
        assert c.hello()[0] == wc.WELCOME
        r = c.call("wagent-1.stack4things.connection", [],
                   {"uuid": uuid, "session": c.session, "info": {"lr_version": "0.5.0"}},
                   timeout=30)
        assert c.result_wampmsg(r)["result"] == "SUCCESS", r
        # The original agent registers one procedure after the other; here they
        # go in one write and their answers are read after.
        c.send_texts(['[64,%d,{},"iotronic.%d.%s.%s"]' % (100 + i, c.session, uuid, p)
                      for i, p in enumerate(PROCEDURES)])
        for i in range(len(PROCEDURES)):
            m = c.recv(timeout=30)
            assert m[0] == wc.REGISTERED, m
        return c

    def test_1_sessions_and_memory(self):
        uuids = self.bulk_boards(N)
        pid = self.w.daemon.pid
        time.sleep(0.5)
        rss0, tcp0, slab0 = rss_kb(pid), tcp_mem_pages(), slab_kb()
        t0 = time.monotonic()
        for u in uuids:
            self.sessions.append(self.bind(u))
        took = time.monotonic() - t0
        iottest.wait_until(lambda: self.st.sql("SELECT count(*) FROM boards WHERE code LIKE "
                                               "'SCALE-%' AND status = 'online'")[0][0] == str(N),
                           timeout=60, what="%d boards online" % N)
        time.sleep(1.0)
        rss1, tcp1, slab1 = rss_kb(pid), tcp_mem_pages(), slab_kb()
        per = (rss1 - rss0) * 1024.0 / N
        # Both ends of each loopback socket are the kernel's here: halve it.
        kper = max(0, tcp1 - tcp0) * 4096.0 / N / 2
        slab = max(0, slab1 - slab0) * 1024.0 / N / 2
        self.say("%d sessions bound with %d procedures each in %.1f s (%.0f/s)"
                 % (N, len(PROCEDURES), took, N / took))
        self.say("wagent RSS %.1f MiB -> %.1f MiB: %.0f bytes per session; kernel, per socket "
                 "(half of both loopback ends): %.0f bytes of TCP buffers, %.0f bytes of slab "
                 "(noisy)" % (rss0 / 1024.0, rss1 / 1024.0, per, kper, slab))
        ok, st = self.st.wagent_call("wagent-1", "status", {})
        self.assertGreaterEqual(st["boards_online"], N)
        # The heartbeat reports them in wampagents (7.1).
        iottest.wait_until(lambda: int(self.st.sql("SELECT boards_online FROM wampagents WHERE "
                                                   "hostname = 'wagent-1'")[0][0]) >= N,
                           what="boards_online in wampagents")
        if not sanitized(pid):
            self.assertLess(per + kper + slab, 40 * 1024)

    def test_2_round_trip_with_boards_online(self):
        uuid, secret, _ = self.st.new_registered(self.w, "rtt-1")
        b = wc.Board(self.w.port, uuid, {"DevicePing": lambda a: ("SUCCESS", "pong")})
        b.start()
        self.assertTrue(b.ready.wait(15))
        self.addCleanup(b.stop)
        online = self.st.sql("SELECT count(*) FROM boards WHERE status = 'online'")[0][0]
        for _ in range(20):  # warm up connections and prepared statements
            self.st.action(uuid)
        rest = []
        for _ in range(300):
            t0 = time.perf_counter()
            s, _, j, _ = self.st.action(uuid)
            rest.append((time.perf_counter() - t0) * 1000)
            self.assertEqual((s, j), (200, "pong"))
        amqp = []
        for _ in range(300):
            t0 = time.perf_counter()
            res = self.st.invoke("wagent-1", uuid, "DevicePing")
            amqp.append((time.perf_counter() - t0) * 1000)
            self.assertEqual(res["outcome"], "replied")
        self.say("board RPC round trip via REST with %s boards online: p50 %.2f ms, p99 %.2f ms "
                 "(mean %.2f)" % (online, pct(rest, 50), pct(rest, 99), statistics.mean(rest)))
        self.say("wagent share (AMQP invoke -> board -> reply): p50 %.2f ms, p99 %.2f ms"
                 % (pct(amqp, 50), pct(amqp, 99)))
        self.assertLess(pct(rest, 50), 50)
        self.assertLess(pct(amqp, 50), 20)


if __name__ == "__main__":
    iottest.main()
