#!/usr/bin/python3
"""lightning-rod-c when things go wrong (board-protocol.md 7, 10.1, 10.2, 10.4, 10.5).

Real agents and the real cloud: a wagent killed and restarted (the agent is
back online within its backoff bound and its tunnel works again), an agent
killed (the cloud shows it offline) and restarted (its tunnels and onboot
plugins come back), a corrupt settings.json (the last good copy is used, or
the agent stops with status 78 and says why), results produced while the
cloud is away (delivered from the outbox after the reconnect), failover to
the registration agent, re-registration with a new code (a new secret; the
old one no longer opens a session), DeviceRestartLR, and the factory reset
that deleting a board sends.
"""

import glob
import json
import os
import signal
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools",
                                "fntest"))
import iottest  # noqa: E402
import iotstack  # noqa: E402
import wampclient as wc  # noqa: E402

BACKOFF_MAX = 2  # [wamp] backoff_max of the agents here (iotstack.Agent)


def setUpModule():
    if os.geteuid() != 0:
        raise unittest.SkipTest("the agent's containers need root")
    missing = iotstack.missing_binaries()
    if missing:
        raise unittest.SkipTest("not built: %s" % ", ".join(missing))
    if iotstack.pika is None:
        raise unittest.SkipTest("python3-pika is missing (make deps)")


class Echo:
    """A TCP echo service on loopback."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            with c:
                d = c.recv(1024)
                c.sendall(b"echo:" + d)

    def close(self):
        self.srv.close()


def reach(port, payload=b"ping"):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as c:
            c.sendall(payload)
            return c.recv(1024)
    except OSError:
        return None


def ok(r):
    s, body = r
    if s != 200:
        raise AssertionError("expected 200, got %s %s" % (s, body))
    return body


class Faults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cloud = iotstack.Cloud()

    @classmethod
    def tearDownClass(cls):
        cls.cloud.close()

    def test_wagent_restart_brings_the_board_and_its_tunnel_back(self):
        a = self.cloud.agent("wk")
        a.start()
        a.register()
        echo = Echo()
        self.addCleanup(echo.close)
        sv = self.cloud.create_service("wk-echo", echo.port)
        ok(self.cloud.service_action(a.uuid, sv, "ServiceEnable"))
        pub = self.cloud.exposed(a.uuid)[0]["public_port"]
        iottest.wait_until(lambda: reach(pub) == b"echo:ping", timeout=20, what="tunnel")
        w = self.cloud.wagents[0]
        w.kill9()
        iottest.wait_until(lambda: a.status()["state"] != "online", timeout=20,
                           what="the agent notices the wagent is gone")
        self.assertIsNone(reach(pub))
        w.start()
        t0 = time.monotonic()
        a.wait_online(timeout=30)
        took = time.monotonic() - t0
        # One full-jitter wait of at most backoff_max, then the handshake.
        print("# back online %.2f s after the wagent listens again (bound %d s + handshake)"
              % (took, BACKOFF_MAX))
        self.assertLess(took, BACKOFF_MAX + 3.0)
        iottest.wait_until(lambda: reach(pub) == b"echo:ping", timeout=20,
                           what="tunnel restored")
        self.assertEqual(self.cloud.status(a.uuid), "online")

    def test_a_silent_wagent_is_detected_by_pings(self):
        """A wagent that stops answering (SIGSTOP: the TCP connection stays
        up) is noticed after twice the ping interval, not never."""
        a = self.cloud.agent("hs", conf={"wamp": {"ping_interval": 2, "alive_interval": 1}})
        a.start()
        uuid = a.register()
        iottest.wait_until(lambda: self.cloud.sql("SELECT last_seen_at IS NOT NULL FROM sessions "
                                                  "WHERE valid AND board_uuid = :'p1'", uuid) ==
                           [["t"]], timeout=10, what="wamp_alive recorded")
        w = self.cloud.wagents[0]
        w.daemon.signal(signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            iottest.wait_until(lambda: a.status()["state"] != "online", timeout=20,
                               what="the agent gives the silent wagent up")
            took = time.monotonic() - t0
            print("# silent wagent given up after %.1f s (ping_interval 2 s)" % took)
            self.assertLess(took, 8.0)
        finally:
            w.daemon.signal(signal.SIGCONT)
        a.wait_online(timeout=40)

    def test_killed_agent_is_offline_then_comes_back_with_its_state(self):
        a = self.cloud.agent("ka")
        a.start()
        a.register()
        echo = Echo()
        self.addCleanup(echo.close)
        sv = self.cloud.create_service("ka-echo", echo.port)
        ok(self.cloud.service_action(a.uuid, sv, "ServiceEnable"))
        pub = self.cloud.exposed(a.uuid)[0]["public_port"]
        p = self.cloud.create_plugin("ka-loop", "#!/bin/sh\nwhile true; do sleep 0.2; done\n")
        ok(self.cloud.inject(a.uuid, p, onboot=True))
        # An onboot plugin injected before the agent's executor is ready is
        # started by the agent itself when it gets ready (a loaded machine can
        # make that later than the inject): either answer means it runs.
        self.assertIn(ok(self.cloud.plugin_action(a.uuid, p, "PluginStart")),
                      ("STARTED", "ALREADY STARTED!"))
        iottest.wait_until(lambda: ok(self.cloud.plugin_action(a.uuid, p, "PluginStatus")) ==
                           "ALIVE", timeout=20, what="the plugin running before the kill")
        iottest.wait_until(lambda: reach(pub) == b"echo:ping", timeout=20, what="tunnel")
        a.kill9()
        t0 = time.monotonic()
        self.cloud.wait_status(a.uuid, "offline", timeout=20)
        print("# offline in the cloud %.2f s after kill -9 of the agent" % (time.monotonic() - t0))
        a.start()
        a.wait_online()
        iottest.wait_until(lambda: reach(pub) == b"echo:ping", timeout=20,
                           what="tunnel back from services.json")
        iottest.wait_until(lambda: ok(self.cloud.plugin_action(a.uuid, p, "PluginStatus")) ==
                           "ALIVE", timeout=20, what="the onboot plugin")
        ok(self.cloud.plugin_action(a.uuid, p, "PluginStop"))

    def test_corrupt_settings_fall_back_to_the_good_copy(self):
        a = self.cloud.agent("cs")
        a.start()
        uuid = a.register()
        self.assertEqual(a.stop(), 0)
        path = os.path.join(a.state_dir, "settings.json")
        with open(path, "w") as f:
            f.write('{"iotronic": {"board": ')
        a.start()
        a.wait_online()
        self.assertIn("settings.json is corrupt", a.log())
        self.assertIn("using the last good copy", a.log())
        self.assertEqual(a.settings()["iotronic"]["board"]["uuid"], uuid)
        kept = glob.glob(path + ".corrupt-*")
        self.assertEqual(len(kept), 1)
        with open(kept[0]) as f:
            self.assertEqual(f.read(), '{"iotronic": {"board": ')

    def test_corrupt_settings_without_a_good_copy_stop_the_agent(self):
        a = self.cloud.agent("cs2")
        a.configure("SOME-CODE")
        path = os.path.join(a.state_dir, "settings.json")
        for p in (path, path + ".bak"):
            with open(p, "w") as f:
                f.write("not json")
        d = iottest.Daemon("lightning-rod-c", ["--config-file", a.conf], logdir=a.dir).start()
        self.assertEqual(d.wait(20), 78)
        text = d.log_text()
        self.assertIn("is corrupt", text)
        self.assertIn("there is no good copy", text)
        self.assertIn("lightning-rod-c configure", text)
        self.assertEqual(len(glob.glob(path + ".corrupt-*")), 1)

    def test_results_wait_in_the_outbox_while_the_cloud_is_away(self):
        import fnclient
        srv = fnclient.BlobServer()
        self.addCleanup(srv.close)
        bb = fnclient.runtime_blob(srv, "busybox", fnclient.runtimes()["busybox"])
        a = self.cloud.agent("ob")
        a.start()
        a.register()
        pkg = srv.add(fnclient.zip_package({"main.sh": "sleep 2\necho late > $FUNCTION_RESULT\n"}),
                      "zip")
        p = fnclient.payload(bb, pkg)
        wm = self.cloud.invoke(a.uuid, "FunctionExecute", [p])["wampmessage"]
        self.assertEqual(wm["result"], "RUNNING")
        w = self.cloud.wagents[0]
        w.kill9()
        outbox = os.path.join(a.state_dir, "outbox")
        iottest.wait_until(lambda: len(os.listdir(outbox)) == 1, timeout=30,
                           what="the result in the outbox")
        with open(os.path.join(outbox, os.listdir(outbox)[0])) as f:
            entry = json.load(f)
        self.assertEqual((entry["kind"], entry["key"]), ("function_result", p["execution_id"]))
        w.start()
        a.wait_online(timeout=30)
        got = []
        deadline = time.monotonic() + 30
        while not got and time.monotonic() < deadline:
            got = [b for _, b in self.cloud.engine_events(want=1, timeout=2,
                                                          kind="function_result")
                   if b["execution_id"] == p["execution_id"]]
        self.assertEqual(len(got), 1)
        self.assertEqual((got[0]["status"], got[0]["output"]), ("success", "late"))
        iottest.wait_until(lambda: os.listdir(outbox) == [], timeout=10, what="outbox emptied")

    def test_a_new_code_rotates_the_secret(self):
        a = self.cloud.agent("rr")
        a.start()
        uuid = a.register()
        old = a.settings()["iotronic"]["board"]["auth"]["secret"]
        code = self.cloud.new_code(uuid)
        a.configure(code)  # while the agent runs
        iottest.wait_until(lambda: a.settings()["iotronic"]["board"].get("auth", {})
                           .get("secret", old) != old, timeout=30, what="a new secret")
        a.wait_online()
        new = a.settings()["iotronic"]["board"]["auth"]["secret"]
        self.assertEqual(self.cloud.sql("SELECT secret FROM board_credentials WHERE board_uuid = "
                                        ":'p1'", uuid), [[new]])
        c = wc.Wamp("127.0.0.1", self.cloud.wagents[0].port)
        try:
            r = c.hello(authmethods=["wampcra"], authid=uuid, secret=old)
            self.assertEqual((r[0], r[2]), (wc.ABORT, "wamp.error.authentication_failed"))
        finally:
            c.close()
        self.assertEqual(self.cloud.status(uuid), "online")

    def test_restart_lr_exits_cleanly_and_comes_back(self):
        a = self.cloud.agent("rl")
        a.start()
        uuid = a.register()
        msg = ok(self.cloud.action(uuid, "DeviceRestartLR", {"delay": 0}))
        self.assertEqual(msg, "Restarting lightning-rod-c in 0 s")
        self.assertEqual(a.daemon.wait(20), 0)
        self.cloud.wait_status(uuid, "offline", timeout=20)
        a.start()  # what systemd's Restart=always does
        a.wait_online()

    def test_deleting_the_board_resets_the_agent(self):
        a = self.cloud.agent("fr")
        a.start()
        uuid = a.register()
        self.assertEqual(self.cloud.http("DELETE", "/v1/boards/%s" % uuid)[0], 204)
        iottest.wait_until(lambda: a.status()["state"] == "unconfigured", timeout=30,
                           what="the agent unconfigured")
        left = [os.path.relpath(os.path.join(d, f), a.state_dir)
                for d, _, files in os.walk(a.state_dir) for f in files]
        self.assertEqual(left, [])  # settings, plugins, services, outbox: all gone
        self.assertTrue(a.alive())
        uuid2 = a.register(board_name="fr-again")
        self.assertNotEqual(uuid, uuid2)


class Failover(unittest.TestCase):
    def test_main_agent_lost_then_registration_agent_takes_the_board(self):
        cloud = iotstack.Cloud(wagents=1)
        self.addCleanup(cloud.close)
        reg = cloud.wagents[0]
        # A board on the registration wagent makes it the more loaded one, so
        # the next registration picks the second wagent as the main agent.
        first = cloud.agent("fo-1")
        first.start()
        first.register()
        iottest.wait_until(lambda: cloud.sql("SELECT boards_online FROM wampagents WHERE "
                                             "hostname = 'wagent-1'") == [["1"]], timeout=15,
                           what="heartbeat counts the board")
        main = cloud.start_wagent("wagent-2")
        a = cloud.agent("fo-2", conf={"wamp": {"failover_after": 2}})
        a.start()
        uuid = a.register()
        s = a.settings()["iotronic"]["wamp"]
        self.assertEqual((s["main-agent"]["url"], s["registration-agent"]["url"]),
                         (main.url, reg.url))
        self.assertEqual(cloud.board(uuid)["agent"], "wagent-2")
        main.kill9()
        iottest.wait_until(lambda: cloud.sql("SELECT agent, status FROM boards WHERE uuid = "
                                             ":'p1'", uuid) == [["wagent-1", "online"]],
                           timeout=40, what="the board taken over by wagent-1")
        self.assertIn("failing over to the registration agent", a.log())
        self.assertEqual(ok(cloud.action(uuid, "DeviceEcho", {"say": "via wagent-1"}))[:12],
                         "via wagent-1")


if __name__ == "__main__":
    iottest.main()
