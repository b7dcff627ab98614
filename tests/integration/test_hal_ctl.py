"""The HAL's control socket, driven from outside as tests and the demo do.

haltest hosts the simulated HAL, the control socket (with the sim_* ops of
board-protocol.md 10.7) and IO sockets on a real loop. These tests set
sensors and drive lines through the control socket, read them back through
an IO socket, watch the board's writes as a stream, run the `sim` and
`status` commands as processes, and throw malformed input at the control
socket without bringing the daemon down.
"""
# needs: nothing

import json
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import iottest  # noqa: E402

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class Lines:
    """A line-oriented client of a Unix socket."""

    def __init__(self, path, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)  # blocking: waits for room in the backlog
        self.sock.settimeout(timeout)
        self.buf = b""

    def send(self, obj):
        data = obj if isinstance(obj, bytes) else (json.dumps(obj) + "\n").encode()
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, obj):
        self.send(obj)
        return self.line()

    def close(self):
        self.sock.close()


class HalCtlTest(unittest.TestCase):
    def setUp(self):
        self.dir = iottest.tmpdir("halctl-")
        os.chmod(self.dir, 0o755)
        self.d = iottest.Daemon("haltest", ["--run-dir", self.dir, "--sim-chips",
                                            "sim0:8 sim1:16 slow0:4:poll", "--log-level",
                                            "warning"]).start()
        self.ctl_path = os.path.join(self.dir, "control.sock")
        iottest.wait_until(lambda: os.path.exists(self.ctl_path) or not self.d.alive(),
                           what="control.sock")
        self.assertTrue(self.d.alive(), self.d.tail())

    def tearDown(self):
        rc = self.d.stop()
        self.assertEqual(rc, 0, "haltest did not stop cleanly:\n" + self.d.tail())

    def ctl(self, obj):
        c = Lines(self.ctl_path)
        try:
            return c.call(obj)
        finally:
            c.close()

    def iosock(self, name, devices, **extra):
        io_dir = os.path.join(self.dir, name)
        os.makedirs(io_dir, exist_ok=True)
        req = {"op": "haltest_iosock_new", "dir": io_dir, "devices": devices}
        req.update(extra)
        r = self.ctl(req)
        self.assertTrue(r["ok"], r)
        return io_dir, os.path.join(io_dir, "io.sock")

    def cli(self, *args):
        return subprocess.run([iottest.bin_path("haltest"), "cli", "--control-socket",
                               self.ctl_path] + list(args), capture_output=True, text=True,
                              timeout=20)

    def test_set_sensor_then_read_it_through_an_io_socket(self):
        r = self.ctl({"op": "sim_set_sensor", "name": "lux0", "value": 8.5})
        self.assertEqual(r, {"ok": True, "name": "lux0", "value": 8.5, "unit": "lx"})
        _, path = self.iosock("fn1", ["sensor:lux0"])
        io = Lines(path)
        r = io.call({"id": 1, "op": "sensor_read", "name": "lux0"})
        self.assertEqual((r["id"], r["ok"], r["value"], r["unit"]), (1, True, 8.5, "lx"))
        self.assertRegex(r["ts"], TS)
        self.ctl({"op": "sim_set_sensor", "name": "lux0", "value": -3})
        self.assertEqual(io.call({"id": 2, "op": "sensor_read", "name": "lux0"})["value"], -3)
        io.close()
        self.assertEqual(self.ctl({"op": "sim_set_sensor", "name": "nope", "value": 1}),
                         {"ok": False, "error": "No such device: sensor:nope."})

    def test_drive_a_line_and_see_its_edges(self):
        self.assertEqual(self.ctl({"op": "haltest_watch", "chip": "sim0", "line": 2,
                                   "edge": "both"}), {"ok": True})
        t0 = time.time()
        r = self.ctl({"op": "sim_set_line", "chip": "sim0", "line": 2, "value": 1})
        self.assertEqual(r, {"ok": True, "chip": "sim0", "line": 2, "value": 1, "previous": 0,
                             "edge": "rising", "events": 1})
        r = self.ctl({"op": "sim_set_line", "chip": "sim0", "line": 2, "value": 0})
        self.assertEqual((r["edge"], r["events"]), ("falling", 1))
        events = self._events(2)
        self.assertIsNotNone(events, "the edges never arrived")
        self.assertEqual([e["edge"] for e in events], ["rising", "falling"])
        for e in events:
            self.assertRegex(e["ts"], TS)
            self.assertFalse(e["polled"])
            self.assertLess(abs(e["ts_us"] / 1e6 - t0), 5)
        self.assertLessEqual(events[0]["ts_us"], events[1]["ts_us"])
        r = self.ctl({"op": "sim_get_line", "chip": "sim0", "line": 2})
        self.assertEqual(r, {"ok": True, "value": 0, "direction": "input", "writes": 0})

    def _events(self, n):
        got = []
        deadline = time.monotonic() + 5
        while len(got) < n and time.monotonic() < deadline:
            got += self.ctl({"op": "haltest_events"})["events"]
            time.sleep(0.02)
        return got if len(got) >= n else None

    def test_line_without_interrupts_is_polled(self):
        self.assertTrue(self.ctl({"op": "haltest_watch", "chip": "slow0", "line": 1,
                                  "edge": "rising", "poll_ms": 10})["ok"])
        self.ctl({"op": "sim_set_line", "chip": "slow0", "line": 1, "value": 1})
        events = self._events(1)
        self.assertIsNotNone(events)
        self.assertEqual((events[0]["edge"], events[0]["polled"]), ("rising", True))

    def test_watch_streams_every_write_with_its_time(self):
        _, path = self.iosock("fn2", ["gpio:sim1:9:out"])
        watch = Lines(self.ctl_path)
        self.assertEqual(watch.call({"op": "sim_watch"}), {"ok": True, "watching": "writes"})
        io = Lines(path)
        replies = [io.call({"id": i, "op": "gpio_write", "chip": "sim1", "line": 9,
                            "value": v}) for i, v in enumerate([1, 0, 1])]
        self.assertTrue(all(r["ok"] for r in replies), replies)
        seen = [watch.line() for _ in range(3)]
        self.assertEqual([(e["event"], e["chip"], e["line"], e["value"], e["writes"])
                          for e in seen],
                         [("write", "sim1", 9, 1, 1), ("write", "sim1", 9, 0, 2),
                          ("write", "sim1", 9, 1, 3)])
        for e, r in zip(seen, replies):
            self.assertRegex(e["ts"], TS)
            self.assertLessEqual(e["ts"], r["ts"])
        self.assertEqual(self.ctl({"op": "sim_get_line", "chip": "sim1", "line": 9}),
                         {"ok": True, "value": 1, "direction": "output", "writes": 3})
        watch.close()
        io.close()
        # The actuator stays on after the container's socket is gone.
        info = self.ctl({"op": "haltest_iosock_free", "dir": os.path.join(self.dir, "fn2")})
        self.assertRegex(info["first_write_at"], TS)
        self.assertEqual(self.ctl({"op": "sim_get_line", "chip": "sim1", "line": 9})["value"], 1)

    def test_cli_commands(self):
        r = self.cli("sim", "set-sensor", "temp0", "30.5")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "temp0 = 30.5 C\n", ""))
        r = self.cli("sim", "set-line", "sim0", "4", "1")
        self.assertEqual((r.returncode, r.stdout), (0, "sim0:4 = 1 (rising edge, 0 events)\n"))
        r = self.cli("sim", "get-line", "sim0", "4")
        self.assertEqual((r.returncode, r.stdout),
                         (0, "sim0:4 value=1 direction=input writes=0\n"))
        r = self.cli("--json", "sim", "get-line", "sim0", "4")
        self.assertEqual(json.loads(r.stdout),
                         {"ok": True, "value": 1, "direction": "input", "writes": 0})
        r = self.cli("sim", "get-line", "sim0", "99")
        self.assertEqual((r.returncode, r.stderr), (1, "error: No such device: gpio:sim0:99.\n"))
        r = self.cli("sim", "set-line", "sim0", "4")
        self.assertEqual(r.returncode, 2)
        r = self.cli("status")
        self.assertEqual(r.returncode, 0)
        self.assertIn("state: haltest\n", r.stdout)
        self.assertIn("backend: sim\n", r.stdout)

    def test_cli_watch_prints_writes_until_the_agent_stops(self):
        watcher = subprocess.Popen([iottest.bin_path("haltest"), "cli", "--control-socket",
                                    self.ctl_path, "sim", "watch"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        try:
            iottest.wait_until(lambda: self._cli_ready(watcher), what="watch started")
            r = self.ctl({"op": "haltest_rpc", "method": "GpioWrite",
                          "parameters": {"chip": "sim0", "line": 6, "value": 1}})
            self.assertEqual(r["result"], "SUCCESS", r)
            line = watcher.stdout.readline()
            while "sim1:15 " in line:  # late echoes of the readiness probes
                line = watcher.stdout.readline()
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT[\d:.]+Z sim0:6 = 1 \(write \d+\)\n$")
        finally:
            self.d.stop()
            out, err = watcher.communicate(timeout=10)
        self.assertEqual(watcher.returncode, 0, err)

    def _cli_ready(self, proc):
        # Writes made before the watch stream exists are not seen: probe with a
        # write to a scratch line until one shows up on the CLI's output.
        self.ctl({"op": "haltest_rpc", "method": "GpioWrite",
                  "parameters": {"chip": "sim1", "line": 15, "value": 0}})
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if not ready:
            return False
        return "sim1:15 = 0" in proc.stdout.readline()

    def test_rpc_helpers_answer_like_board_procedures(self):
        r = self.ctl({"op": "haltest_rpc", "method": "GpioWrite",
                      "parameters": {"chip": "sim0", "line": 1, "value": True}})
        self.assertEqual(r["result"], "SUCCESS")
        self.assertRegex(r["message"]["ts"], TS)
        r = self.ctl({"op": "haltest_rpc", "method": "GpioRead",
                      "parameters": {"chip": "sim0", "line": 1}})
        self.assertEqual((r["result"], r["message"]["value"]), ("SUCCESS", 1))
        r = self.ctl({"op": "haltest_rpc", "method": "SensorRead",
                      "parameters": {"name": "temp0"}})
        self.assertEqual((r["message"]["value"], r["message"]["unit"]), (21.5, "C"))
        cases = [("GpioRead", {"chip": "sim3", "line": 1}, "No such device: gpio:sim3:1."),
                 ("GpioRead", {"chip": "sim0"}, "missing line"),
                 ("GpioWrite", {"chip": "sim0", "line": 1, "value": "on"},
                  "value must be 0, 1, true or false"),
                 ("SensorRead", {"name": "x"}, "No such device: sensor:x."),
                 ("SensorRead", [], "parameters must be an object")]
        for method, params, msg in cases:
            r = self.ctl({"op": "haltest_rpc", "method": method, "parameters": params})
            self.assertEqual((r["result"], r["message"]), ("ERROR", msg), (method, params))
        # A line held as input by a running function is busy for GpioWrite.
        self.iosock("fn3", ["gpio:sim0:5:in"])
        r = self.ctl({"op": "haltest_rpc", "method": "GpioWrite",
                      "parameters": {"chip": "sim0", "line": 5, "value": 1}})
        self.assertEqual((r["result"], r["message"]), ("ERROR", "Line busy: sim0:5."))

    def test_caps(self):
        r = self.ctl({"op": "haltest_caps"})
        self.assertEqual(r["gpio"][0], {"chip": "sim0", "label": "simulated", "lines": 8,
                                        "backend": "sim", "dev": None})
        self.assertEqual([c["chip"] for c in r["gpio"]], ["sim0", "sim1", "slow0"])
        self.assertEqual(r["sensors"], [{"name": "temp0", "kind": "sim", "unit": "C"},
                                        {"name": "lux0", "kind": "sim", "unit": "lx"}])

    def test_sampling_follows_the_sensor(self):
        self.assertTrue(self.ctl({"op": "haltest_sample", "name": "temp0",
                                  "interval_ms": 10})["ok"])
        self.assertIsNotNone(self._events(1))
        self.ctl({"op": "sim_set_sensor", "name": "temp0", "value": 40})
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            events = self.ctl({"op": "haltest_events"})["events"]
            if any(e.get("value") == 40 for e in events):
                break
            time.sleep(0.02)
        else:
            self.fail("no sample saw the new value")

    def test_malformed_input_never_brings_the_daemon_down(self):
        rnd = random.Random(1234)
        junk = [b"", b"{", b"}", b"[]", b"null", b"{\"op\":null}", b"{\"op\":\"sim_set_line\"}",
                b"{\"op\":\"sim_set_line\",\"chip\":\"sim0\",\"line\":1e300,\"value\":1}",
                b"{\"op\":\"sim_set_sensor\",\"name\":\"temp0\",\"value\":1e309}",
                b"{\"op\":\"sim_get_line\",\"chip\":\"" + b"a" * 5000 + b"\",\"line\":0}",
                b"\xff\xfe\xfd", b"{\"op\":\"haltest_iosock_new\",\"dir\":7}",
                b"{\"op\":\"haltest_iosock_free\",\"dir\":\"/nonexistent\"}",
                b"{\"op\":\"haltest_rpc\",\"method\":\"GpioWrite\",\"parameters\":null}",
                b"\x00\x00\x00", b"{\"op\":\"" + b"x" * 70000 + b"\"}"]
        for round_ in range(6):
            c = Lines(self.ctl_path)
            answered = 0
            for i in range(500):
                if rnd.random() < 0.5:
                    line = rnd.choice(junk)
                else:
                    line = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 200)))
                    line = line.replace(b"\n", b" ")
                try:
                    c.send(line + b"\n")
                except (BrokenPipeError, ConnectionResetError):
                    break
            c.sock.shutdown(socket.SHUT_WR)
            try:
                while c.line() is not None:
                    answered += 1
            except (ValueError, ConnectionResetError, socket.timeout):
                pass
            c.close()
            self.assertGreater(answered, 0)
            self.assertTrue(self.d.alive(), self.d.tail())
        self.assertEqual(self.ctl({"op": "status"})["state"], "haltest")
        # Many clients at once, over the connection limit.
        socks = []
        for _ in range(40):
            try:
                socks.append(Lines(self.ctl_path))
            except OSError:
                pass
        for s in socks:
            s.close()
        self.assertEqual(self.ctl({"op": "sim_get_line", "chip": "sim0", "line": 0})["ok"], True)

    def test_stops_cleanly_on_sigterm(self):
        watch = Lines(self.ctl_path)
        watch.call({"op": "sim_watch"})
        self.d.signal(signal.SIGTERM)
        self.assertEqual(self.d.wait(10), 0)
        self.assertIsNone(watch.line())
        self.assertFalse(os.path.exists(self.ctl_path))


if __name__ == "__main__":
    iottest.main()
