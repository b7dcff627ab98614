#!/usr/bin/python3
"""Liveness, wagents and failover (board-protocol.md 7): a kill -9 of a wagent
leaves its boards offline in the API within agent_timeout + heartbeat_interval,
and when it comes back they return online with their tunnels; a clean stop
says GOODBYE and marks them offline at once; a wagent that was declared dead
while frozen hands its boards back; registration picks the least loaded
wagent; a board that moves to another wagent is dropped by the first."""

import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402
import wampclient as wc  # noqa: E402
from test_wagent_support import P1, Listener, WagStack, wait_status  # noqa: E402
from test_wagent_tunnel import PORT_MIN, Echo, TunnelBoard, echoes  # noqa: E402

HEARTBEAT, AGENT_TIMEOUT = 1, 3


def ping(args):
    return "SUCCESS", "pong"


class FailoverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = WagStack(extra={"conductor": {"service_port_min": PORT_MIN,
                                               "service_port_max": PORT_MIN + 199,
                                               "heartbeat_interval": HEARTBEAT,
                                               "agent_timeout": AGENT_TIMEOUT}})
        cls.echo = Echo()

    @classmethod
    def tearDownClass(cls):
        cls.echo.close()
        cls.st.close()

    def board(self, w, name, reconnect=True, handlers=None, secret=True):
        uuid, sec, _ = self.st.new_registered(w, name)
        b = wc.Board(w.port, uuid, handlers or {"DevicePing": ping},
                     secret=sec if secret else None, agent=w.host, reconnect=reconnect)
        b.start()
        self.assertTrue(b.ready.wait(15))
        self.assertIsNone(b.error, b.error)
        self.addCleanup(b.stop)
        return uuid, b, sec

    def test_kill9_offline_within_the_bound_then_back_with_tunnels(self):
        w = self.st.start_wagent("wagent-k9", wagent={"heartbeat_interval": HEARTBEAT,
                                                      "agent_timeout": AGENT_TIMEOUT})
        boards = [self.board(w, "k9-%d" % i) for i in range(3)]
        # One of them with a tunnel, through the REST API.
        uuid0, b0, sec0 = boards[0]
        tb = TunnelBoard(self, uuid0, sec0, w)
        self.addCleanup(tb.stop)
        b0.handlers.update(tb.handlers())
        b0.stop()
        b0 = wc.Board(w.port, uuid0, tb.handlers(), secret=sec0, agent=w.host, reconnect=True)
        b0.start()
        self.addCleanup(b0.stop)
        self.assertTrue(b0.ready.wait(15))
        s, _, svc, raw = self.st.http("POST", "/v1/services", {"name": "k9-echo", "port":
                                      self.echo.port, "protocol": "TCP"},
                                      headers={"X-User-Id": "u1", "X-Project-Id": "p1",
                                               "X-Roles": "admin_iot_project"})
        self.assertEqual(s, 201, raw)
        s, _, _, raw = self.st.http("POST", "/v1/boards/%s/services/%s/action" % (
            uuid0, svc["uuid"]), {"action": "ServiceEnable"},
            headers={"X-User-Id": "u1", "X-Project-Id": "p1", "X-Roles": "admin_iot_project"})
        self.assertEqual(s, 200, raw)
        port = int(self.st.sql("SELECT public_port FROM exposed_services WHERE board_uuid = "
                               ":'p1'", uuid0)[0][0])
        iottest.wait_until(lambda: echoes(port), timeout=15, what="the tunnel")
        uuids = [b[0] for b in boards]
        for u in uuids:
            self.assertEqual(self.st.board(u)["status"], "online")
        # kill -9: no goodbye, no cleanup. The API must say offline within
        # agent_timeout + heartbeat_interval.
        t0 = time.monotonic()
        w.kill9()
        self.st.keep_log(w)
        iottest.wait_until(lambda: all(self.st.board(u)["status"] == "offline" for u in uuids),
                           timeout=AGENT_TIMEOUT + HEARTBEAT + 10, interval=0.1,
                           what="boards offline")
        took = time.monotonic() - t0
        sys.stdout.write("# boards offline %.2f s after kill -9 (bound %d s)\n"
                         % (took, AGENT_TIMEOUT + HEARTBEAT))
        self.assertLessEqual(took, AGENT_TIMEOUT + HEARTBEAT + 1.5)
        self.assertEqual(self.st.sql("SELECT online FROM wampagents WHERE hostname = "
                                     "'wagent-k9'"), [["f"]])
        for u in uuids:
            self.assertIsNone(self.st.board(u)["session"])
        # It comes back: the boards bind again and restore their tunnel.
        w.start()
        for u in uuids:
            wait_status(self.st, u, "online", timeout=20)
        iottest.wait_until(lambda: echoes(port), timeout=20, what="the tunnel restored")

    def test_clean_stop_says_goodbye_and_marks_offline_at_once(self):
        w = self.st.start_wagent("wagent-stop")
        ev = Listener(self.st.vhost, "iotronic.board_events", "board.offline")
        self.addCleanup(ev.close)
        uuid, b, _ = self.board(w, "stop-1", reconnect=False)
        t0 = time.monotonic()
        self.assertEqual(w.stop(), 0)
        self.st.keep_log(w)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertTrue(b.done.wait(5))
        self.assertEqual(b.closed_with[:3], [wc.GOODBYE, {}, "wamp.close.system_shutdown"])
        self.assertEqual(self.st.status(uuid), "offline")
        self.assertEqual(self.st.sql("SELECT online, boards_online FROM wampagents WHERE "
                                     "hostname = 'wagent-stop'"), [["f", "0"]])
        typ, body, _ = ev.get()
        self.assertEqual((typ, body["board_uuid"], body["agent"]),
                         ("board.offline", uuid, "wagent-stop"))

    def test_a_wagent_declared_dead_hands_its_boards_back(self):
        w = self.st.start_wagent("wagent-frozen", wagent={"heartbeat_interval": HEARTBEAT,
                                                          "agent_timeout": AGENT_TIMEOUT,
                                                          "ping_timeout": 30,
                                                          "ping_interval": 10})
        uuid, b, _ = self.board(w, "frozen-1")
        first = b.connections
        w.daemon.signal(signal.SIGSTOP)
        try:
            wait_status(self.st, uuid, "offline", timeout=AGENT_TIMEOUT + HEARTBEAT + 10)
        finally:
            w.daemon.signal(signal.SIGCONT)
        # Awake again: its next beat finds itself declared dead and closes the
        # sessions, so the board binds again and is online for real.
        iottest.wait_until(lambda: b.connections > first, timeout=15, what="the board rebound")
        wait_status(self.st, uuid, "online", timeout=10)
        self.assertEqual(self.st.sql("SELECT online FROM wampagents WHERE hostname = "
                                     "'wagent-frozen'"), [["t"]])

    def test_takeover_by_another_wagent_drops_the_old_session(self):
        w1 = self.st.start_wagent("wagent-a")
        w2 = self.st.start_wagent("wagent-b")
        uuid, b1, sec = self.board(w1, "move-1", reconnect=False)
        b2 = wc.Board(w2.port, uuid, {"DevicePing": ping}, secret=sec, agent="wagent-b")
        b2.start()
        self.addCleanup(b2.stop)
        self.assertTrue(b2.ready.wait(15))
        self.assertTrue(b1.done.wait(10))
        self.assertEqual(b1.closed_with[:3], [wc.GOODBYE, {}, "wamp.close.session_replaced"])
        row = self.st.board(uuid)
        self.assertEqual((row["status"], row["agent"], row["session"]),
                         ("online", "wagent-b", str(b2.c.session)))
        time.sleep(0.5)  # wagent-a's end of the old session changes nothing
        self.assertEqual(self.st.status(uuid), "online")
        s, _, j, _ = self.st.action(uuid)
        self.assertEqual((s, j), (200, "pong"))
        self.assertEqual(b2.calls.get(timeout=5)[0], "DevicePing")


class PlacementTest(unittest.TestCase):
    """Registration chooses the online wagent with the fewest online boards."""

    @classmethod
    def setUpClass(cls):
        cls.st = WagStack()
        cls.w1 = cls.st.start_wagent("wagent-p1")
        cls.w2 = cls.st.start_wagent("wagent-p2")

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    def online(self, w, n):
        for i in range(n):
            uuid, sec, _ = self.st.new_registered(self.w1, "pl-%d" % time.time_ns())
            b = wc.Board(w.port, uuid, {"DevicePing": ping}, secret=sec, agent=w.host)
            b.start()
            self.assertTrue(b.ready.wait(15))
            self.addCleanup(b.stop)

    def main_agent(self):
        uuid, code = self.st.create_board("placed-%d" % time.time_ns())
        wm = self.st.register(self.w1, code)
        return wm["message"]["iotronic"]["board"]["agent"], wm["message"]["iotronic"]["wamp"]

    def test_registration_picks_the_least_loaded_wagent(self):
        self.online(self.w1, 2)
        agent, wamp = self.main_agent()
        self.assertEqual(agent, "wagent-p2")
        self.assertEqual(wamp["main-agent"]["url"], "ws://127.0.0.1:%d/" % self.w2.port)
        self.assertEqual(wamp["registration-agent"]["url"], "ws://127.0.0.1:%d/" % self.w1.port)
        self.online(self.w2, 3)
        self.assertEqual(self.main_agent()[0], "wagent-p1")
        # A wagent that is not online is never chosen.
        self.w1.stop()
        self.st.keep_log(self.w1)
        self.w1.start()
        self.w2.stop()
        self.st.keep_log(self.w2)
        self.assertEqual(self.main_agent()[0], "wagent-p1")
        self.w2.start()


class LoadCountTest(unittest.TestCase):
    """wagent_load.boards_online (db/migrations/0006), what registration
    orders by, equals the live count of each wagent's online boards after
    every way a board comes and goes: connect, disconnect, takeover by
    another wagent, the death of its wagent, a clean stop, a delete."""

    @classmethod
    def setUpClass(cls):
        cls.st = WagStack(extra={"conductor": {"heartbeat_interval": HEARTBEAT,
                                               "agent_timeout": AGENT_TIMEOUT}})

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    def counts(self):
        """{wagent: (maintained count, live count)} for every wagent of either."""
        kept = dict(self.st.sql("SELECT hostname, boards_online FROM wagent_load"))
        live = dict(self.st.sql("SELECT agent, count(*) FROM boards WHERE status = 'online' "
                                "AND agent IS NOT NULL GROUP BY agent"))
        return {h: (int(kept.get(h, 0)), int(live.get(h, 0))) for h in set(kept) | set(live)}

    def assertLoad(self, **want):
        got = self.counts()
        for h, (kept, live) in got.items():
            self.assertEqual(kept, live, "wagent %s: kept %d, live %d (%r)" % (h, kept, live, got))
        for h, n in want.items():
            self.assertEqual(got.get(h.replace("_", "-"), (0, 0))[0], n, got)

    def connect(self, w, uuid, sec, reconnect=False):
        b = wc.Board(w.port, uuid, {"DevicePing": ping}, secret=sec, agent=w.host,
                     reconnect=reconnect)
        b.start()
        self.assertTrue(b.ready.wait(15))
        self.assertIsNone(b.error, b.error)
        self.addCleanup(b.stop)
        return b

    def test_count_stays_exact(self):
        wa = self.st.start_wagent("wagent-la", wagent={"heartbeat_interval": HEARTBEAT,
                                                       "agent_timeout": AGENT_TIMEOUT})
        wb = self.st.start_wagent("wagent-lb")
        regs = [self.st.new_registered(wa, "load-%d" % i)[:2] for i in range(4)]
        self.assertLoad(wagent_la=0, wagent_lb=0)
        # connect: three on la, one on lb
        bs = [self.connect(wa, u, s) for u, s in regs[:3]]
        b3 = self.connect(wb, *regs[3])
        for u, _ in regs:
            wait_status(self.st, u, "online")
        self.assertLoad(wagent_la=3, wagent_lb=1)
        # disconnect
        bs[0].stop()
        wait_status(self.st, regs[0][0], "offline")
        self.assertLoad(wagent_la=2, wagent_lb=1)
        # takeover: the board of la binds on lb, la's session is replaced
        moved = self.connect(wb, *regs[1])
        self.assertTrue(bs[1].done.wait(10))
        self.assertEqual(self.st.sql("SELECT agent, status FROM boards WHERE uuid = :'p1'",
                                     regs[1][0]), [["wagent-lb", "online"]])
        self.assertLoad(wagent_la=1, wagent_lb=2)
        # registration follows the count: la holds fewer boards now
        uuid, code = self.st.create_board("load-placed")
        wm = self.st.register(wa, code)
        self.assertEqual(wm["message"]["iotronic"]["board"]["agent"], "wagent-la")
        # wagent death: kill -9 of la, reaped after agent_timeout
        wa.kill9()
        self.st.keep_log(wa)
        wait_status(self.st, regs[2][0], "offline", timeout=AGENT_TIMEOUT + HEARTBEAT + 10)
        self.assertLoad(wagent_la=0, wagent_lb=2)
        # a dead wagent is never chosen, whatever its count
        uuid, code = self.st.create_board("load-placed-2")
        self.assertEqual(self.st.register(wb, code)["message"]["iotronic"]["board"]["agent"],
                         "wagent-lb")
        # delete of an online board through the API
        s, _, _, raw = self.st.http("DELETE", "/v1/boards/%s" % regs[3][0], headers=P1)
        self.assertEqual(s, 204, raw)
        self.assertTrue(b3.done.wait(10))
        self.assertLoad(wagent_lb=1)
        # clean stop of lb: its boards go offline in the same transaction
        self.assertEqual(wb.stop(), 0)
        self.st.keep_log(wb)
        self.assertEqual(self.st.status(regs[1][0]), "offline")
        self.assertTrue(moved.done.wait(10))
        self.assertLoad(wagent_la=0, wagent_lb=0)


if __name__ == "__main__":
    iottest.main()
