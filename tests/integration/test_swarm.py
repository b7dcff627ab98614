#!/usr/bin/python3
"""lr-swarm against a real iotronic-wagent, conductor, API, PostgreSQL and
RabbitMQ: 200 simulated boards register with their codes, connect with
WAMP-CRA from two source addresses, answer board calls made through the
REST API, and go offline when the swarm stops (SIGTERM) or dies (SIGKILL);
a second run reconnects from the state file alone; a bad code is refused
without disturbing the others."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402
from test_api_support import Stack, fault, require_binaries  # noqa: E402

N = 200
P = {"X-User-Id": "u1", "X-Project-Id": "p1", "X-Roles": "admin_iot_project"}
LOC = [{"latitude": "38.19", "longitude": "15.55", "altitude": "0"}]


class Swarm:
    """One lr-swarm process; its statistics lines are collected by a thread."""

    def __init__(self, args):
        self.proc = subprocess.Popen([iottest.bin_path("lr-swarm"), "--stats-interval", "0.2"] +
                                     args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, start_new_session=True)
        self.lines = []
        self.err = []
        threading.Thread(target=self._read, args=(self.proc.stdout, self.lines, True),
                         daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, self.err, False),
                         daemon=True).start()

    @staticmethod
    def _read(f, out, js):
        for line in f:
            out.append(json.loads(line) if js else line.rstrip())

    def last(self):
        return self.lines[-1] if self.lines else {}

    def wait(self, pred, timeout=60, what="swarm state"):
        return iottest.wait_until(lambda: self.lines and pred(self.lines[-1]), timeout=timeout,
                                  what="%s (stderr: %s)" % (what, self.err[-5:]))

    def stop(self, sig=signal.SIGTERM):
        """Stops the swarm; fails on any sanitizer report (SANITIZE=1 builds
        report leaks at exit)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        rc = self.proc.wait(20)
        time.sleep(0.2)  # let the reader threads take the last lines
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            assert not any(marker in e for e in self.err), "\n".join(self.err[-40:])
        return rc


class SwarmTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_binaries(["iotronic-wagent", "lr-swarm"])
        # Public ports below the ephemeral range, where no outgoing connection holds one.
        cls.st = Stack(conductors=1, api=True,
                       extra={"conductor": {"service_port_min": 21000,
                                            "service_port_max": 29999}})
        cls.port = iottest.free_port()
        cls.url = "ws://127.0.0.1:%d/" % cls.port
        wstun = iottest.free_port()
        conf = iottest.write_conf(os.path.join(cls.st.dir, "wagent.conf"), {
            "DEFAULT": {"host": "wagent-sw"},
            "wamp": {"wamp_transport_url": cls.url, "register_agent": True},
            "wagent": {"listen": "127.0.0.1:%d" % cls.port,
                       "admin_listen": "127.0.0.1:%d" % iottest.free_port(),
                       "allow_anonymous_boards": False, "heartbeat_interval": 1,
                       "agent_timeout": 3},
            "wstun": {"listen": "127.0.0.1:%d" % wstun, "bind_address": "127.0.0.1",
                      "public_url": "ws://127.0.0.1:%d/" % wstun},
        })
        cls.wagent = iottest.Daemon("iotronic-wagent", ["--config-file", cls.st.conf,
                                                        "--config-file", conf],
                                    logdir=cls.st.dir).start(wait_for_port=cls.port)
        cls.names = ["sw-%03d" % i for i in range(N)]
        cls.uuids = {}
        for n in cls.names:
            s, h, j, raw = cls.st.http("POST", "/v1/boards", {"name": n, "code": "code-" + n,
                                                              "type": "gateway", "location": LOC},
                                       P)
            assert s == 201, raw
            cls.uuids[n] = j["uuid"]
        cls.codes = os.path.join(cls.st.dir, "codes")
        with open(cls.codes, "w") as f:
            f.write("# codes of the swarm\n\n" + "".join("code-%s\n" % n for n in cls.names))
        cls.state = os.path.join(cls.st.dir, "state.jsonl")

    @classmethod
    def tearDownClass(cls):
        cls.wagent.stop()
        text = cls.wagent.log_text()
        cls.st.close()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            assert marker not in text, cls.wagent.tail(40)

    def online(self):
        return int(self.st.sql("SELECT count(*) FROM boards WHERE status = 'online' "
                               "AND project = 'p1'")[0][0])

    def action(self, name, action, parameters=None):
        body = {"action": action}
        if parameters is not None:
            body["parameters"] = parameters
        s, h, j, raw = self.st.http("POST", "/v1/boards/%s/action" % name, body, P)
        return s, j

    def test_1_register_connect_answer_stop(self):
        sw = Swarm(["--codes", self.codes, "--register-url", self.url, "--state", self.state,
                    "--source", "127.0.0.1-127.0.0.2", "--rate", "400"])
        try:
            sw.wait(lambda d: d["online"] == N, what="%d boards online" % N)
            last = sw.last()
            self.assertEqual((last["registered"], last["reg_failed"]), (N, 0))
            iottest.wait_until(lambda: self.online() == N, what="boards online in the database")
            rows = self.st.sql("SELECT b.agent, s.authmethod, s.peer "
                               "FROM boards b JOIN sessions s ON s.board_uuid = b.uuid "
                               "AND s.valid WHERE b.project = 'p1'")
            self.assertEqual(len(rows), N)
            self.assertEqual({r[0] for r in rows}, {"wagent-sw"})
            self.assertEqual({r[1] for r in rows}, {"wampcra"})
            # "127.0.0.2:port", or "[::ffff:127.0.0.2]:port" from a dual-stack listener
            self.assertEqual({re.search(r"(\d+\.\d+\.\d+\.\d+)", r[2]).group(1) for r in rows},
                             {"127.0.0.1", "127.0.0.2"})

            for n in self.names[:5]:
                s, j = self.action(n, "DevicePing")
                self.assertEqual(s, 200, j)
                self.assertTrue(j.startswith(n + " @ 20"), j)
            s, j = self.action("sw-007", "DeviceEcho", {"say": "hello"})
            self.assertEqual(s, 200, j)
            self.assertTrue(j.startswith("hello @ "), j)
            s, j = self.action("sw-008", "GpioWrite", {"chip": "sim0", "line": 3, "value": 1})
            self.assertEqual(s, 200, j)
            s, j = self.action("sw-008", "GpioRead", {"chip": "sim0", "line": 3})
            self.assertEqual((s, json.loads(j)["value"]), (200, 1))
            s, j = self.action("sw-009", "GpioRead", {"chip": "sim0", "line": 3})
            self.assertEqual((s, json.loads(j)["value"]), (200, 0))  # boards are separate
            s, j = self.action("sw-008", "SensorRead", {"name": "temp0"})
            self.assertEqual(json.loads(j)["unit"], "C")
            s, j = self.action("sw-010", "DeviceEcho", {})
            self.assertEqual(s, 502, j)
            self.assertIn("say", fault(j))
            s, j = self.action("sw-010", "GpioRead", {"chip": "sim9", "line": 0})
            self.assertEqual(s, 502, j)
            self.assertIn("No such device: sim9:0.", fault(j))
            iottest.wait_until(lambda: sw.last()["invocations"] >= 11, what="invocations counted")
        finally:
            rc = sw.stop()
        self.assertEqual(rc, 0, sw.err[-10:])
        self.assertEqual(sw.last()["event"], "stopped")
        self.assertEqual(sw.last()["stopped"], N)
        iottest.wait_until(lambda: self.online() == 0, timeout=10, what="boards offline")
        with open(self.state) as f:
            saved = [json.loads(line) for line in f]
        self.assertEqual(len(saved), N)
        self.assertEqual({s["uuid"] for s in saved}, set(self.uuids.values()))
        self.assertTrue(all(len(s["secret"]) == 43 for s in saved))

    def test_2_state_file_reconnects_and_kill_takes_boards_offline(self):
        if not os.path.exists(self.state):
            self.skipTest("needs the state file of test_1")
        # The codes are used up: only the state file can bring them back.
        sw = Swarm(["--codes", self.codes, "--register-url", self.url, "--state", self.state])
        try:
            sw.wait(lambda d: d["online"] == N, what="reconnected from the state file")
            self.assertEqual(sw.last()["registered"], 0)
            iottest.wait_until(lambda: self.online() == N, what="boards online again")
            s, j = self.action("sw-199", "DevicePing")
            self.assertEqual(s, 200, j)
        finally:
            rc = sw.stop(signal.SIGKILL)
        self.assertEqual(rc, -signal.SIGKILL)
        # The kernel closes a dead process's sockets: the wagent sees them go.
        iottest.wait_until(lambda: self.online() == 0, timeout=10, what="offline after SIGKILL")

    def test_3_a_bad_code_is_refused_alone(self):
        bad = os.path.join(self.st.dir, "bad-codes")
        with open(bad, "w") as f:
            f.write("no-such-code\n")
        sw = Swarm(["--codes", bad, "--register-url", self.url])
        try:
            sw.wait(lambda d: d["failed"] == 1, what="the registration refused")
            self.assertEqual(sw.last()["reg_failed"], 1)
            self.assertTrue(any("Invalid or already used registration code." in e
                                for e in sw.err), sw.err)
        finally:
            self.assertEqual(sw.stop(), 0)

    def test_4_tunnels_through_a_swarm_board(self):
        if not os.path.exists(self.state):
            self.skipTest("needs the state file of test_1")
        echo = socket.socket()
        echo.bind(("127.0.0.1", 0))
        echo.listen(4)
        threading.Thread(target=self._echo, args=(echo,), daemon=True).start()
        with open(self.state) as f:
            name = json.loads(f.readline())["name"]
        sw = Swarm(["--state", self.state, "--count", "3", "--tunnels"])
        try:
            sw.wait(lambda d: d["online"] == 3, what="3 boards online with --tunnels")
            s, h, j, raw = self.st.http("POST", "/v1/services", {
                "name": "echo", "port": echo.getsockname()[1], "protocol": "TCP"}, P)
            self.assertEqual(s, 201, raw)
            svc = j["uuid"]
            path = "/v1/boards/%s/services/%s/action" % (name, svc)
            s, h, j, raw = self.st.http("POST", path, {"action": "ServiceEnable"}, P)
            self.assertEqual(s, 200, raw)
            self.assertRegex(j, r"^Cloud service 'echo' exposed on port \d+ on 127\.0\.0\.1$")
            s, h, j, raw = self.st.http("GET", "/v1/boards/%s/services" % name, None, P)
            port = j["exposed"][0]["public_port"]
            iottest.wait_until(lambda: self._echoes(port), timeout=15,
                               what="echo through the tunnel")
            s, h, j, raw = self.st.http("GET", "/v1/boards/%s/services/status" % name, None, P)
            self.assertEqual(s, 200, raw)
            tun = json.loads(j)["tunnels"]
            self.assertEqual([(t["service"], t["public_port"], t["state"]) for t in tun],
                             [("echo", port, "up")])
            s, h, j, raw = self.st.http("POST", path, {"action": "ServiceDisable"}, P)
            self.assertEqual((s, j), (200, "Cloud service 'echo' disabled."), raw)
        finally:
            self.assertEqual(sw.stop(), 0)
            echo.close()

    @staticmethod
    def _echo(ls):
        """The board's local service: echoes each connection until EOF."""
        def serve(c):
            with c:
                for data in iter(lambda: c.recv(4096), b""):
                    c.sendall(data)

        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(c,), daemon=True).start()

    @staticmethod
    def _echoes(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=3) as c:
                c.sendall(b"through the swarm")
                got = b""
                while len(got) < 17:
                    d = c.recv(64)
                    if not d:
                        break
                    got += d
                return got == b"through the swarm"
        except OSError:
            return False

    def test_5_usage_errors(self):
        for args, text in ((["--rate", "x", "--state", "s"], "bad value"),
                           ([], "--codes or --state is required"),
                           (["--codes", "/nonexistent"], "/nonexistent"),
                           (["--codes", self.codes], "codes need --register-url"),
                           (["--codes", self.codes, "--register-url", "wss://127.0.0.1:1/"],
                            "ws:// only"),
                           (["--codes", self.codes, "--register-url", "ws://example.org/"],
                            "IPv4 address or localhost")):
            r = subprocess.run([iottest.bin_path("lr-swarm")] + args, capture_output=True,
                               text=True, timeout=10)
            self.assertIn(r.returncode, (1, 2), args)
            self.assertIn(text, r.stderr, args)


if __name__ == "__main__":
    iottest.main()
