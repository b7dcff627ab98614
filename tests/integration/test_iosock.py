"""The mediated IO socket of deviceless-api.md 3.4.4, from outside.

haltest serves IO sockets for declared device lists over the simulated HAL.
These tests speak the protocol as a function in a container would: every
op and error code, the socket's owner and mode (only the container's uid
gets in), the connection, line and rate limits, the end of a container, and
thousands of random and malformed lines that must never bring the daemon
down.
"""
# needs: nothing

import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import iottest  # noqa: E402

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
DEVICES = ["gpio:sim0:3:out", "gpio:sim0:4:in", "sensor:temp0"]


class Conn:
    def __init__(self, path, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.sock.settimeout(timeout)
        self.buf = b""

    def send(self, data):
        if not isinstance(data, bytes):
            data = (json.dumps(data) + "\n").encode()
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, req):
        self.send(req)
        return self.line()

    def eof(self):
        try:
            return self.line() is None
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


class IoSockTest(unittest.TestCase):
    def setUp(self):
        self.dir = iottest.tmpdir("iosock-")
        os.chmod(self.dir, 0o755)
        self.io_dir = os.path.join(self.dir, "c1")
        os.mkdir(self.io_dir, 0o755)
        self.d = iottest.Daemon("haltest", [
            "--run-dir", self.dir, "--sim-chips", "sim0:8", "--log-level", "warning",
            "--iosock", "%s=%s" % (self.io_dir, ",".join(DEVICES))]).start()
        self.ctl_path = os.path.join(self.dir, "control.sock")
        self.path = os.path.join(self.io_dir, "io.sock")
        iottest.wait_until(lambda: os.path.exists(self.ctl_path) or not self.d.alive(),
                           what="control.sock")
        self.assertTrue(self.d.alive(), self.d.tail())

    def tearDown(self):
        rc = self.d.stop()
        self.assertEqual(rc, 0, "haltest did not stop cleanly:\n" + self.d.tail())

    def ctl(self, req):
        c = Conn(self.ctl_path)
        try:
            return c.call(req)
        finally:
            c.close()

    def new_iosock(self, name, devices, **extra):
        d = os.path.join(self.dir, name)
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        req = {"op": "haltest_iosock_new", "dir": d, "devices": devices}
        req.update(extra)
        r = self.ctl(req)
        self.assertTrue(r["ok"], r)
        return d, os.path.join(d, "io.sock")

    def test_every_op(self):
        c = Conn(self.path)
        self.assertEqual(c.call({"id": 1, "op": "devices"}),
                         {"id": 1, "ok": True, "devices": DEVICES})
        r = c.call({"id": "w", "op": "gpio_write", "chip": "sim0", "line": 3, "value": True})
        self.assertEqual((r["id"], r["ok"], sorted(r)), ("w", True, ["id", "ok", "ts"]))
        self.assertRegex(r["ts"], TS)
        r = c.call({"id": 2.5, "op": "gpio_read", "chip": "sim0", "line": 3})
        self.assertEqual((r["id"], r["value"]), (2.5, 1))
        self.ctl({"op": "sim_set_line", "chip": "sim0", "line": 4, "value": 1})
        r = c.call({"id": None, "op": "gpio_read", "chip": "sim0", "line": 4})
        self.assertEqual((r["id"], r["ok"], r["value"]), (None, True, 1))
        self.assertRegex(r["ts"], TS)
        self.ctl({"op": "sim_set_sensor", "name": "temp0", "value": 19.75})
        r = c.call({"op": "sensor_read", "name": "temp0"})
        self.assertEqual((r["id"], r["value"], r["unit"]), (None, 19.75, "C"))
        self.assertRegex(r["ts"], TS)
        c.close()
        info = self.ctl({"op": "haltest_iosock_info", "dir": self.io_dir})
        self.assertRegex(info["first_write_at"], TS)
        self.assertEqual(self.ctl({"op": "sim_get_line", "chip": "sim0", "line": 3}),
                         {"ok": True, "value": 1, "direction": "output", "writes": 1})

    def test_error_codes(self):
        c = Conn(self.path)
        cases = [
            ({"id": 1, "op": "gpio_write", "chip": "sim0", "line": 4, "value": 1},
             "denied", "gpio:sim0:4 is declared in, not out."),
            ({"id": 2, "op": "gpio_read", "chip": "sim0", "line": 5},
             "denied", "gpio:sim0:5 is not declared."),
            ({"id": 3, "op": "sensor_read", "name": "lux0"},
             "denied", "sensor:lux0 is not declared."),
            ({"id": 4, "op": "reboot"}, "unknown_op", "Unknown op reboot."),
        ]
        for req, code, msg in cases:
            self.assertEqual(c.call(req), {"id": req["id"], "ok": False, "error": code,
                                           "message": msg})
        # None of those closed the connection; a bad_request does.
        self.assertTrue(c.call({"id": 5, "op": "devices"})["ok"])
        self.assertEqual(c.call({"id": 6, "op": "gpio_read", "chip": "sim0"}),
                         {"id": 6, "ok": False, "error": "bad_request",
                          "message": "missing line"})
        self.assertTrue(c.eof())
        c.close()

    def test_unavailable_when_the_line_is_held_elsewhere(self):
        # A trigger watches sim0:3, so the function cannot drive it now.
        self.ctl({"op": "haltest_watch", "chip": "sim0", "line": 3, "edge": "both"})
        c = Conn(self.path)
        self.assertEqual(c.call({"id": 1, "op": "gpio_write", "chip": "sim0", "line": 3,
                                 "value": 1}),
                         {"id": 1, "ok": False, "error": "unavailable",
                          "message": "Line busy: sim0:3."})
        c.close()
        info = self.ctl({"op": "haltest_iosock_info", "dir": self.io_dir})
        self.assertIsNone(info["first_write_at"])

    def test_socket_belongs_to_the_container_user(self):
        d, path = self.new_iosock("c2", ["sensor:temp0"], uid=65534, gid=65534)
        st = os.stat(path)
        self.assertEqual((st.st_mode & 0o777, st.st_uid, st.st_gid), (0o600, 65534, 65534))
        script = ("import socket,sys\n"
                  "s=socket.socket(socket.AF_UNIX)\n"
                  "try:\n s.connect(sys.argv[1])\n"
                  "except PermissionError:\n print('denied'); sys.exit(0)\n"
                  "s.sendall(b'{\"id\":1,\"op\":\"sensor_read\",\"name\":\"temp0\"}\\n')\n"
                  "print(s.makefile().readline().strip())\n")

        def as_user(uid):
            return subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                                   "--clear-groups", iottest.PY, "-c", script, path],
                                  capture_output=True, text=True, timeout=20)
        r = as_user(65534)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["value"], 21.5)
        r = as_user(65533)
        self.assertEqual(r.stdout.strip(), "denied", r.stderr)

    def test_fifth_connection_is_refused(self):
        conns = [Conn(self.path) for _ in range(4)]
        extra = Conn(self.path)
        self.assertEqual(extra.line(), {"id": None, "ok": False, "error": "unavailable",
                                        "message": "Too many connections: at most 4 per "
                                                   "container."})
        self.assertTrue(extra.eof())
        extra.close()
        for i, c in enumerate(conns):
            self.assertTrue(c.call({"id": i, "op": "devices"})["ok"])
        conns[0].close()
        iottest.wait_until(lambda: self.ctl({"op": "haltest_iosock_info",
                                             "dir": self.io_dir})["connections"] == 3,
                           what="a connection to close")
        again = Conn(self.path)
        self.assertTrue(again.call({"id": 9, "op": "devices"})["ok"])
        for c in conns[1:] + [again]:
            c.close()

    def test_line_limit(self):
        c = Conn(self.path)
        req = b'{"id": 1, "op": "devices"}'
        c.send(req + b" " * (4096 - len(req)) + b"\n")
        self.assertTrue(c.line()["ok"])
        c.send(req + b" " * (4097 - len(req)) + b"\n")
        self.assertEqual(c.line(), {"id": None, "ok": False, "error": "bad_request",
                                    "message": "Request line longer than 4096 bytes."})
        self.assertTrue(c.eof())
        c.close()

    def test_rate_limit_per_container(self):
        _, path = self.new_iosock("c3", ["sensor:temp0"], max_ops_per_second=50)
        a, b = Conn(path), Conn(path)
        other = Conn(self.path)  # another container: its own budget
        burst = b'{"id":1,"op":"devices"}\n' * 30
        a.send(burst)
        b.send(burst)
        replies = [a.line() for _ in range(30)] + [b.line() for _ in range(30)]
        ok = sum(1 for r in replies if r["ok"])
        limited = [r for r in replies if not r["ok"]]
        self.assertTrue(50 <= ok <= 53, ok)
        self.assertTrue(all(r["error"] == "rate_limited" and
                            r["message"] == "More than 50 operations per second."
                            for r in limited), limited[:3])
        self.assertTrue(other.call({"id": 1, "op": "devices"})["ok"])
        time.sleep(0.1)  # five tokens come back
        self.assertTrue(a.call({"id": 2, "op": "devices"})["ok"])
        for c in (a, b, other):
            c.close()

    def test_container_exit_closes_everything(self):
        d, path = self.new_iosock("c4", ["gpio:sim0:6:in"])
        c = Conn(path)
        self.assertTrue(c.call({"id": 1, "op": "gpio_read", "chip": "sim0", "line": 6})["ok"])
        r = self.ctl({"op": "haltest_rpc", "method": "GpioWrite",
                      "parameters": {"chip": "sim0", "line": 6, "value": 1}})
        self.assertEqual(r["message"], "Line busy: sim0:6.")
        self.ctl({"op": "haltest_iosock_free", "dir": d})
        self.assertTrue(c.eof())
        c.close()
        self.assertFalse(os.path.exists(path))
        r = self.ctl({"op": "haltest_rpc", "method": "GpioWrite",
                      "parameters": {"chip": "sim0", "line": 6, "value": 1}})
        self.assertEqual(r["result"], "SUCCESS", r)

    def test_bad_declarations_are_refused(self):
        cases = [(["gpio:sim0:1:in", "gpio:sim0:1:out"],
                  "Invalid device gpio:sim0:1:out: the line is declared both in and out."),
                 (["sensor:temp0", "sensor:temp0"],
                  "Invalid device sensor:temp0: declared twice."),
                 (["gpio:sim0:99:out"], "No such device: gpio:sim0:99."),
                 (["gpio:sim0:1"], "Invalid device gpio:sim0:1: expected "
                                   "gpio:<chip>:<line>:in or gpio:<chip>:<line>:out.")]
        for i, (devices, msg) in enumerate(cases):
            d = os.path.join(self.dir, "bad%d" % i)
            os.makedirs(d)
            r = self.ctl({"op": "haltest_iosock_new", "dir": d, "devices": devices})
            self.assertEqual(r, {"ok": False, "error": msg})
            self.assertFalse(os.path.exists(os.path.join(d, "io.sock")))

    def test_random_and_malformed_lines_never_crash(self):
        rnd = random.Random(20261123)
        samples = [
            b'{"id":1,"op":"gpio_write","chip":"sim0","line":3,"value":1}',
            b'{"id":{"a":1},"op":"devices"}', b'{"op":"gpio_read","chip":"sim0","line":-1}',
            b'{"op":"gpio_read","chip":"sim0","line":99999999999999999999}',
            b'{"op":"gpio_write","chip":"sim0","line":3,"value":0.5}',
            b'{"op":"sensor_read","name":"' + b"t" * 3000 + b'"}', b'{"op":"' + b"\xc3" + b'"}',
            b'[' * 2000 + b']' * 2000, b'{"op":"devices","id":1e999}', b'{"op":"devices"',
            b'"\\ud800"', b'{"op":"devices","id":"\\u0000"}', b'\x00', b'',
        ]
        sent = answered = 0
        for _ in range(40):
            c = Conn(self.path)
            for _ in range(100):
                kind = rnd.random()
                if kind < 0.4:
                    line = rnd.choice(samples)
                elif kind < 0.7:
                    line = bytes(rnd.randrange(1, 256) for _ in range(rnd.randrange(0, 300)))
                    line = line.replace(b"\n", b"")
                else:
                    obj = {"id": rnd.randrange(1000),
                           "op": rnd.choice(["devices", "gpio_read", "gpio_write",
                                             "sensor_read", "x"]),
                           "chip": rnd.choice(["sim0", "sim1", "", 7]),
                           "line": rnd.choice([3, 4, 5, "3", None, 70000]),
                           "value": rnd.choice([0, 1, True, 2, "1"]),
                           "name": rnd.choice(["temp0", "lux0", None])}
                    line = json.dumps(obj).encode()
                try:
                    c.send(line + b"\n")
                    sent += 1
                except (BrokenPipeError, ConnectionResetError):
                    break
            try:
                c.sock.shutdown(socket.SHUT_WR)
                while c.line() is not None:
                    answered += 1
            except (ConnectionResetError, BrokenPipeError, OSError):
                pass
            c.close()
            self.assertTrue(self.d.alive(), self.d.tail())
        self.assertGreater(answered, 40)
        c = Conn(self.path)
        self.assertEqual(c.call({"id": 1, "op": "devices"}),
                         {"id": 1, "ok": True, "devices": DEVICES})
        c.close()

    def test_round_trip_latency(self):
        c = Conn(self.path)
        times = []
        for i in range(1000):
            t0 = time.perf_counter()
            r = c.call({"id": i, "op": "gpio_write", "chip": "sim0", "line": 3,
                        "value": i & 1})
            times.append(time.perf_counter() - t0)
            self.assertTrue(r["ok"], r)
        c.close()
        times.sort()
        p50, p99 = times[len(times) // 2] * 1e3, times[len(times) * 99 // 100] * 1e3
        print("# gpio_write round trip through the IO socket: p50 %.3f ms, p99 %.3f ms"
              % (p50, p99))
        self.assertLess(p50, 5.0)


if __name__ == "__main__":
    iottest.main()
