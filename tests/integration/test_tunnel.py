#!/usr/bin/python3
# needs: nothing
"""The wstun-compatible tunnels (board-protocol.md 9): tuntest's server stands in
for the wagent (its allowlist plays exposed_services), its client for the
board agent; a few tests speak the wire protocol by hand to reach what a
well-behaved client never sends."""

import base64
import hashlib
import hmac
import json
import os
import shutil
import socket
import struct
import subprocess
import threading
import time
import unittest

import echoload
import iottest

UUID = "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52"
SECRET = "Vq3T0n5xQm6b2wYk8rJdZ1pLcF7hEsUa4NgRiO9tKyA"


# ---------------------------------------------------------------- helpers

def proof(secret, uuid, port, ts=None):
    ts = int(time.time()) if ts is None else ts
    msg = "wstun|%s|%d|%d" % (uuid, port, ts)
    sig = base64.urlsafe_b64encode(hmac.new(secret.encode(), msg.encode(),
                                            hashlib.sha256).digest()).rstrip(b"=").decode()
    return "%d.%s" % (ts, sig)


def ws_open(port, path, protocol="tunnel-protocol", timeout=5.0):
    """Sends an upgrade request; returns (socket, status, head text)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
           % (path, port, key))
    if protocol:
        req += "Sec-WebSocket-Protocol: %s\r\n" % protocol
    s.sendall((req + "\r\n").encode())
    head = b""
    while not head.endswith(b"\r\n\r\n"):  # byte by byte: frames may follow at once
        chunk = s.recv(1)
        if not chunk:
            break
        head += chunk
    text = head.decode("latin-1")
    status = int(text.split(" ", 2)[1]) if text.startswith("HTTP/1.1 ") else 0
    if status == 101:
        want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                                             .encode()).digest()).decode()
        assert "Sec-WebSocket-Accept: %s" % want in text, text
        assert "Sec-WebSocket-Protocol: tunnel-protocol" in text, text
    return s, status, text


def ws_send(s, op, payload, fin=True):
    mask = os.urandom(4)
    n = len(payload)
    hdr = bytes([(0x80 if fin else 0) | op])
    if n < 126:
        hdr += bytes([0x80 | n])
    elif n < 65536:
        hdr += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        hdr += bytes([0x80 | 127]) + struct.pack(">Q", n)
    body = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
    s.sendall(hdr + mask + body)


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise EOFError("closed after %d of %d bytes" % (len(out), n))
        out += chunk
    return out


def ws_recv(s):
    """One frame: (opcode, payload). Server frames are unmasked."""
    b0, b1 = recv_exact(s, 2)
    assert not b1 & 0x80, "server frames must not be masked"
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack(">H", recv_exact(s, 2))[0]
    elif n == 127:
        n = struct.unpack(">Q", recv_exact(s, 8))[0]
    return b0 & 0x0F, recv_exact(s, n)


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True


def closed_by_peer(s, timeout=5.0):
    """True when the peer closes s (EOF or reset) within timeout."""
    s.settimeout(timeout)
    try:
        while True:
            if not s.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def sanitized(pid):
    """ASan's shadow memory and quarantine make RSS meaningless."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Echo:
    """A threaded TCP echo service on 127.0.0.1 (the board's local service)."""

    def __init__(self, slow=False):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.slow = slow
        self.conns = []
        self.eofs = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        if self.slow:
            return  # never reads: the far side is stuck
        try:
            while True:
                d = c.recv(262144)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        with self.lock:
            self.eofs += 1
        try:
            c.close()
        except OSError:
            pass

    def close(self):
        self.sock.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.close()
                except OSError:
                    pass


class Base(unittest.TestCase):
    def setUp(self):
        self.dir = iottest.tmpdir("tun-")
        self.daemons = []

    def tearDown(self):
        # A clean exit is part of the test: sanitizer reports and leaks make
        # the sanitized build exit non-zero, and SIGTERM must stop the loop.
        bad = []
        for d in self.daemons:
            rc = d.stop(grace=5)
            if rc not in (0, None) and d.name == "tuntest":
                bad.append("%s exited %s:\n%s" % (d.name, rc, d.tail(30)))
        if bad:
            self.fail("\n".join(bad))

    def server(self, allow=(), extra=(), port=None):
        self.wport = port or iottest.free_port()
        self.sstatus = os.path.join(self.dir, "server-%d.json" % self.wport)
        args = ["server", "--listen", "127.0.0.1:%d" % self.wport, "--bind-address", "127.0.0.1",
                "--status-file", self.sstatus]
        for a in allow:
            args += ["--allow", a]
        d = iottest.Daemon("tuntest", args + list(extra), logdir=self.dir).start(
            wait_for_port=self.wport)
        self.daemons.append(d)
        self.srv = d
        return d

    def client(self, tunnels, secret=None, extra=(), uuid=UUID):
        self.cstatus = os.path.join(self.dir, "client-%d.json" % len(self.daemons))
        args = ["client", "--url", "ws://127.0.0.1:%d/" % self.wport, "--uuid", uuid,
                "--status-file", self.cstatus, "--backoff-initial-ms", "100",
                "--backoff-max-ms", "400"]
        for t in tunnels:
            args += ["--tunnel", t]
        if secret:
            args += ["--secret", secret]
        d = iottest.Daemon("tuntest", args + list(extra), logdir=self.dir).start()
        self.daemons.append(d)
        return d

    def status(self, path):
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def wait_up(self, n=1, timeout=10):
        def up():
            st = self.status(self.cstatus)
            return st and sum(t["state"] == "up" for t in st["tunnels"]) >= n
        iottest.wait_until(up, timeout=timeout, what="%d tunnel(s) up" % n)

    def wait_listening(self, pub, timeout=10):
        """Waits for the server to report the tunnel (probing the port would
        itself make a connection, and an NC message)."""
        def listed():
            st = self.status(self.sstatus)
            return st and any(t["public_port"] == pub for t in st["tunnels"])
        iottest.wait_until(listed, timeout=timeout, what="tunnel on port %d" % pub)

    def expose(self, echo=None, secret=None, extra_srv=(), extra_cli=()):
        """Server + client + echo service; returns (public port, echo)."""
        echo = echo or Echo()
        pub = iottest.free_port()
        self.server(["%s:%d%s" % (UUID, pub, ":" + secret if secret else "")], extra_srv)
        self.client(["%d:%d:echo" % (pub, echo.port)], secret=secret, extra=extra_cli)
        self.wait_up()
        return pub, echo



class Tunnels(Base):

    def test_echo_100mb_over_50_connections(self):
        pub, echo = self.expose(secret=SECRET)
        per_conn = 2 * 1024 * 1024
        results, elapsed = echoload.echo_many(pub, 50, per_conn, timeout=90)
        self.assertEqual(len(results), 50)
        for i, (n, same) in sorted(results.items()):
            self.assertEqual(n, per_conn, "connection %d got %d bytes" % (i, n))
            self.assertTrue(same, "connection %d: bytes differ" % i)
        print("# 50 x 2 MiB echoed (100 MiB each way) in %.1f s" % elapsed)
        # The status file is rewritten periodically: wait for a fresh one.
        def counted():
            st = self.status(self.sstatus)
            return st and st["tunnels"][0]["bytes_in"] >= 50 * per_conn
        iottest.wait_until(counted, timeout=10, what="the server's byte count")
        tun = self.status(self.sstatus)["tunnels"][0]
        self.assertGreaterEqual(tun["bytes_in"], 50 * per_conn)
        self.assertGreaterEqual(tun["connections_total"], 50)
        echo.close()

    def test_port_not_allowed_gets_401_and_nothing_listens(self):
        allowed, other = iottest.free_port(), iottest.free_port()
        self.server(["%s:%d" % (UUID, allowed)])
        s, status, text = ws_open(self.wport, "/?dst=127.0.0.1:%d&uuid=%s" % (other, UUID))
        s.close()
        self.assertEqual(status, 401, text)
        self.assertNotIn("Upgrade: websocket", text)
        self.assertTrue(refused(other))
        # no uuid at all: as wstun with an allowlist, not authorised
        s, status, _ = ws_open(self.wport, "/?dst=127.0.0.1:%d" % allowed)
        s.close()
        self.assertEqual(status, 401)
        self.assertTrue(refused(allowed))

    def test_proof_required_and_checked(self):
        pub = iottest.free_port()
        self.server(["%s:%d:%s" % (UUID, pub, SECRET)])
        base = "/?dst=h:%d&uuid=%s" % (pub, UUID)
        bad = [base,                                                     # missing
               base + "&auth=" + proof("x" * 43, UUID, pub),             # wrong secret
               base + "&auth=" + proof(SECRET, UUID, pub + 1),           # another port
               base + "&auth=" + proof(SECRET, UUID, pub, int(time.time()) - 1000),  # stale
               base + "&auth=12345.abc"]                                 # malformed
        for path in bad:
            s, status, text = ws_open(self.wport, path)
            s.close()
            self.assertEqual(status, 401, path)
            self.assertTrue(refused(pub))
        s, status, text = ws_open(self.wport, base + "&auth=" + proof(SECRET, UUID, pub))
        self.assertEqual(status, 101, text)
        self.wait_listening(pub)
        self.assertFalse(refused(pub))
        s.close()
        iottest.wait_until(lambda: refused(pub), what="public port closed with the control channel")

    def test_protocol_refusals(self):
        self.server([])
        s, status, text = ws_open(self.wport, "/?id=" + UUID, protocol=None)
        s.close()
        self.assertEqual(status, 400, text)
        s = socket.create_connection(("127.0.0.1", self.wport), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 426 "))
        s.close()
        for path in ("/?dst=h:99999&uuid=" + UUID, "/?dst=h:1&dst=h:2", "/", "/?id=nope"):
            s, status, _ = ws_open(self.wport, path)
            s.close()
            self.assertEqual(status, 400, path)
        # garbage and a slowloris head never get an answer other than an error
        s = socket.create_connection(("127.0.0.1", self.wport), timeout=15)
        s.sendall(b"\x16\x03\x01\x02\x00" + os.urandom(300) + b"\r\n\r\n")
        self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 400 "))
        s.close()
        self.assertTrue(self.srv.alive())

    def open_control(self, pub):
        s, status, text = ws_open(self.wport, "/?dst=h:%d&uuid=%s" % (pub, UUID))
        self.assertEqual(status, 101, text)
        self.wait_listening(pub)
        return s

    def test_unknown_expired_and_reused_ids_get_404_at_once(self):
        pub = iottest.free_port()
        self.server(["%s:%d" % (UUID, pub)], ["--data-id-ttl", "1"])
        ctl = self.open_control(pub)
        t0 = time.monotonic()
        s, status, _ = ws_open(self.wport, "/?id=" + "0" * 8 + UUID[8:])
        s.close()
        self.assertEqual(status, 404)
        self.assertLess(time.monotonic() - t0, 1.0)
        # a used id cannot be used again
        pubc = socket.create_connection(("127.0.0.1", pub))
        op, msg = ws_recv(ctl)
        self.assertEqual(op, 1)
        self.assertTrue(msg.startswith(b"NC:"))
        cid = msg[3:].decode()
        self.assertEqual(len(cid), 36)
        self.assertEqual(cid[14], "4")
        d1, status, _ = ws_open(self.wport, "/?id=" + cid)
        self.assertEqual(status, 101)
        d2, status, _ = ws_open(self.wport, "/?id=" + cid)
        d2.close()
        self.assertEqual(status, 404)
        # the joined pair works: bytes both ways
        pubc.sendall(b"ping")
        self.assertEqual(ws_recv(d1), (2, b"ping"))
        ws_send(d1, 2, b"pong")
        self.assertEqual(recv_exact(pubc, 4), b"pong")
        # an id not used within data_id_ttl expires, and its connection closes
        late = socket.create_connection(("127.0.0.1", pub))
        op, msg = ws_recv(ctl)
        t0 = time.monotonic()
        self.assertTrue(closed_by_peer(late, timeout=4))
        self.assertGreater(time.monotonic() - t0, 0.5)
        s, status, _ = ws_open(self.wport, "/?id=" + msg[3:].decode())
        s.close()
        self.assertEqual(status, 404)
        for x in (d1, pubc, late, ctl):
            x.close()

    def test_text_frame_closes_data_channel(self):
        pub = iottest.free_port()
        self.server(["%s:%d" % (UUID, pub)])
        ctl = self.open_control(pub)
        pubc = socket.create_connection(("127.0.0.1", pub))
        _, msg = ws_recv(ctl)
        d, status, _ = ws_open(self.wport, "/?id=" + msg[3:].decode())
        self.assertEqual(status, 101)
        ws_send(d, 1, b"text is not allowed")
        op, payload = ws_recv(d)
        self.assertEqual(op, 8)
        self.assertEqual(struct.unpack(">H", payload[:2])[0], 1003)
        self.assertTrue(closed_by_peer(pubc))
        # the control channel answers pings and survives
        ws_send(ctl, 9, b"are you there")
        self.assertEqual(ws_recv(ctl), (10, b"are you there"))
        for x in (d, pubc, ctl):
            x.close()

    def test_close_propagates_both_ways(self):
        pub, echo = self.expose()
        # the public client closes: the local service sees EOF
        c = socket.create_connection(("127.0.0.1", pub))
        c.sendall(b"x")
        self.assertEqual(recv_exact(c, 1), b"x")
        c.close()
        iottest.wait_until(lambda: echo.eofs >= 1, what="EOF at the local service")
        # the local service closes: the public client sees EOF
        c = socket.create_connection(("127.0.0.1", pub))
        c.sendall(b"y")
        self.assertEqual(recv_exact(c, 1), b"y")
        iottest.wait_until(lambda: len(echo.conns) >= 2, what="second local connection")
        echo.conns[-1].shutdown(socket.SHUT_RDWR)
        self.assertTrue(closed_by_peer(c))
        c.close()
        # the board's control channel closes: listener and connections go
        c = socket.create_connection(("127.0.0.1", pub))
        c.sendall(b"z")
        self.assertEqual(recv_exact(c, 1), b"z")
        self.daemons[-1].stop()
        self.assertTrue(closed_by_peer(c))
        iottest.wait_until(lambda: refused(pub), what="public port closed")
        echo.close()

    def test_slow_far_side_keeps_memory_bounded(self):
        slow = Echo(slow=True)
        pub, _ = self.expose(echo=slow)
        base = rss_kb(self.srv.pid)
        cli = self.daemons[-1]
        cbase = rss_kb(cli.pid)
        c = socket.create_connection(("127.0.0.1", pub))
        c.setblocking(False)
        chunk = b"\xab" * 65536
        sent, idle_since = 0, time.monotonic()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and time.monotonic() - idle_since < 2.0:
            try:
                sent += c.send(chunk)
                idle_since = time.monotonic()
            except BlockingIOError:
                time.sleep(0.01)
        grown = rss_kb(self.srv.pid) - base
        cgrown = rss_kb(cli.pid) - cbase
        print("# stuck far side: %d KiB accepted; server RSS +%d KiB, client RSS +%d KiB"
              % (sent // 1024, grown, cgrown))
        # 1 MiB per side plus socket buffers: far below what was offered
        self.assertLess(sent, 64 * 1024 * 1024)
        if not sanitized(self.srv.pid):
            self.assertLess(grown, 16 * 1024)
            self.assertLess(cgrown, 16 * 1024)
        c.close()
        slow.close()

    def test_restarted_server_gets_the_tunnel_back(self):
        pub, echo = self.expose()
        c = socket.create_connection(("127.0.0.1", pub))
        c.sendall(b"a")
        self.assertEqual(recv_exact(c, 1), b"a")
        c.close()
        self.srv.stop()
        self.daemons.remove(self.srv)
        iottest.wait_until(lambda: (self.status(self.cstatus) or {"tunnels": [{}]})
                           ["tunnels"][0].get("state") == "connecting",
                           what="client sees the tunnel down")
        time.sleep(1.0)  # a few failed attempts with backoff
        self.server(["%s:%d" % (UUID, pub)], port=self.wport)
        self.wait_up(timeout=10)
        self.wait_listening(pub)
        c = socket.create_connection(("127.0.0.1", pub))
        c.sendall(b"again")
        self.assertEqual(recv_exact(c, 5), b"again")
        c.close()
        echo.close()

    def test_connection_limits(self):
        pub, echo = self.expose(extra_srv=["--max-connections", "3"])
        conns = []
        for i in range(3):
            c = socket.create_connection(("127.0.0.1", pub))
            c.sendall(b"%d" % i)
            self.assertEqual(recv_exact(c, 1), b"%d" % i)
            conns.append(c)
        extra = socket.create_connection(("127.0.0.1", pub))
        self.assertTrue(closed_by_peer(extra, timeout=3))
        conns.pop().close()
        time.sleep(0.3)
        c = socket.create_connection(("127.0.0.1", pub))
        c.sendall(b"ok")
        self.assertEqual(recv_exact(c, 2), b"ok")
        for x in conns + [c, extra]:
            x.close()
        echo.close()

    def test_pending_limit_and_tunnels_per_board(self):
        pub, pub2 = iottest.free_port(), iottest.free_port()
        self.server(["%s:%d" % (UUID, pub), "%s:%d" % (UUID, pub2)],
                    ["--max-pending", "2", "--max-tunnels", "1"])
        ctl = self.open_control(pub)
        waiting = [socket.create_connection(("127.0.0.1", pub)) for _ in range(2)]
        for _ in range(2):
            self.assertEqual(ws_recv(ctl)[0], 1)
        third = socket.create_connection(("127.0.0.1", pub))
        self.assertTrue(closed_by_peer(third, timeout=3))
        s, status, text = ws_open(self.wport, "/?dst=h:%d&uuid=%s" % (pub2, UUID))
        s.close()
        self.assertEqual(status, 429, text)
        # a second control channel for the same port replaces the first
        ctl2 = self.open_control(pub)
        self.assertEqual(ws_recv(ctl)[0], 8)
        for w in waiting:
            self.assertTrue(closed_by_peer(w))
        for x in waiting + [third, ctl, ctl2]:
            x.close()

    def test_port_in_use_closes_control_with_1011(self):
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        pub = blocker.getsockname()[1]
        self.server(["%s:%d" % (UUID, pub)])
        s, status, _ = ws_open(self.wport, "/?dst=h:%d&uuid=%s" % (pub, UUID))
        self.assertEqual(status, 101)
        op, payload = ws_recv(s)
        self.assertEqual(op, 8)
        self.assertEqual(struct.unpack(">H", payload[:2])[0], 1011)
        self.assertIn(b"in use", payload)
        s.close()
        blocker.close()

    def test_lrc_wstun_command_line(self):
        exe = iottest.bin_path("lrc-wstun")
        for bad in ([], ["-r1:127.0.0.1:2"], ["-rX:127.0.0.1:2", "ws://h/"],
                    ["-r1:10.0.0.1:2", "ws://h/"], ["-r1:127.0.0.1:2", "http://h/"],
                    ["-r1:127.0.0.1:2", "ws://h/", "-u", "not-a-uuid"], ["--bogus"]):
            r = subprocess.run([exe] + bad, capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 2, bad)
            self.assertIn("lrc-wstun:", r.stderr)
        echo = Echo()
        pub = iottest.free_port()
        self.server(["%s:%d" % (UUID, pub)])
        d = iottest.Daemon("lrc-wstun", ["-r%d:localhost:%d" % (pub, echo.port),
                                         "ws://127.0.0.1:%d" % self.wport, "-u", UUID],
                           logdir=self.dir).start()
        self.daemons.append(d)
        self.wait_listening(pub)
        c = socket.create_connection(("127.0.0.1", pub))
        c.sendall(b"drop-in")
        self.assertEqual(recv_exact(c, 7), b"drop-in")
        c.close()
        echo.close()

    def test_throughput_and_client_memory(self):
        """Measurements for the report; the floors only catch gross regressions."""
        sinkport = Echo(slow=True)  # placeholder to hold a port number
        sinkport.close()
        got = [0]
        total = 512 * 1024 * 1024
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", 0))
        ls.listen(4)

        class Sink:
            port = ls.getsockname()[1]
        done = threading.Event()

        def sink():
            c, _ = ls.accept()
            buf = bytearray(1 << 20)
            while True:
                n = c.recv_into(buf)
                if not n:
                    break
                got[0] += n
                if got[0] >= total:
                    break
            done.set()
        threading.Thread(target=sink, daemon=True).start()
        pub, _ = self.expose(echo=Sink)
        c = socket.create_connection(("127.0.0.1", pub))
        chunk = b"\x5a" * (1 << 20)
        t0 = time.monotonic()
        for _ in range(total // len(chunk)):
            c.sendall(chunk)
        done.wait(60)
        dt = time.monotonic() - t0
        c.close()
        mbps = got[0] / dt / 1e6
        print("# single stream through the tunnel: %.0f MB/s (%d MiB in %.2f s)"
              % (mbps, got[0] >> 20, dt))
        self.assertEqual(got[0], total)
        self.assertGreater(mbps, 50)
        # the board side with 10 open tunnels
        ports = [iottest.free_port() for _ in range(10)]
        self.server(["%s:%d" % (UUID, p) for p in ports])
        cli = self.client(["%d:%d:svc%d" % (p, 1000 + i, i) for i, p in enumerate(ports)])
        self.wait_up(10)
        kb = rss_kb(cli.pid)
        with open("/proc/%d/status" % cli.pid) as f:
            anon = [ln.split()[1] for ln in f if ln.startswith("RssAnon:")][0]
        print("# tunnel client RSS with 10 open tunnels: %d KiB (anonymous %s KiB, the rest "
              "is shared library text)" % (kb, anon))
        if not sanitized(cli.pid):
            self.assertLess(kb, 16 * 1024)


class Tls(Base):
    """wss:// with a certificate the client must verify (10.3)."""

    def setUp(self):
        super().setUp()
        if shutil.which("openssl") is None:
            self.skipTest("the openssl command is not installed")
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-keyout", self.key, "-out", self.cert, "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=60)

    def tls_tunnel(self, client_args):
        echo, pub = Echo(), iottest.free_port()
        self.server(["%s:%d:%s" % (UUID, pub, SECRET)], ["--cert", self.cert, "--key", self.key])
        self.cstatus = os.path.join(self.dir, "client.json")
        d = iottest.Daemon("tuntest", ["client", "--url", "wss://127.0.0.1:%d/" % self.wport,
                                       "--uuid", UUID, "--secret", SECRET,
                                       "--tunnel", "%d:%d:echo" % (pub, echo.port),
                                       "--status-file", self.cstatus,
                                       "--backoff-initial-ms", "100", "--backoff-max-ms", "300"]
                           + client_args, logdir=self.dir).start()
        self.daemons.append(d)
        return pub, echo, d

    def echo_works(self, pub):
        self.wait_listening(pub)
        c = socket.create_connection(("127.0.0.1", pub))
        c.sendall(b"secure")
        self.assertEqual(recv_exact(c, 6), b"secure")
        c.close()

    def test_verified_with_the_ca_file(self):
        pub, echo, _ = self.tls_tunnel(["--ca-file", self.cert])
        self.echo_works(pub)
        echo.close()

    def test_unverifiable_certificate_refused_by_default(self):
        pub, echo, d = self.tls_tunnel([])
        time.sleep(2.0)
        st = self.status(self.cstatus)
        self.assertEqual(st["tunnels"][0]["state"], "connecting")
        self.assertTrue(refused(pub))
        self.assertIn("certificate", d.log_text())
        echo.close()

    def test_insecure_connects_with_a_warning(self):
        pub, echo, d = self.tls_tunnel(["--insecure"])
        self.echo_works(pub)
        self.assertIn("NOT verified", d.log_text())
        echo.close()


def npm_wstun(tmp):
    """Installs the original wstun from npm; returns its bin path or a reason."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        return None, "npm/node are not installed"
    try:
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", tmp,
                            "@mdslab/wstun"], capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        return None, "npm install @mdslab/wstun timed out"
    exe = os.path.join(tmp, "node_modules", "@mdslab", "wstun", "bin", "wstun.js")
    if r.returncode != 0 or not os.path.exists(exe):
        lines = [ln for ln in r.stderr.splitlines()
                 if "error" in ln and "complete log" not in ln] or ["exit %d" % r.returncode]
        return None, "npm cannot install @mdslab/wstun: %s" % lines[0].strip()
    return exe, None


class Interop(Base):
    """Against the original Node.js wstun, when npm can install it."""

    def setUp(self):
        super().setUp()
        self.exe, why = npm_wstun(iottest.tmpdir("npm-"))
        if self.exe is None:
            self.skipTest(why)

    def test_original_client_against_our_server(self):
        echo, pub = Echo(), iottest.free_port()
        self.server(["%s:%d" % (UUID, pub)])
        d = iottest.Daemon("wstun", ["-r%d:127.0.0.1:%d" % (pub, echo.port),
                                     "ws://127.0.0.1:%d" % self.wport, "-u", UUID],
                           exe=self.exe, logdir=self.dir).start()
        self.daemons.append(d)
        iottest.wait_until(lambda: not refused(pub), timeout=20, what="wstun tunnel up")
        c = socket.create_connection(("127.0.0.1", pub))
        c.sendall(b"interop")
        self.assertEqual(recv_exact(c, 7), b"interop")
        c.close()

    def test_our_client_against_original_server(self):
        echo, pub = Echo(), iottest.free_port()
        self.wport = iottest.free_port()
        d = iottest.Daemon("wstun", ["-r", "-s", str(self.wport)], exe=self.exe,
                           logdir=self.dir).start(wait_for_port=self.wport)
        self.daemons.append(d)
        self.client(["%d:%d:echo" % (pub, echo.port)])
        iottest.wait_until(lambda: not refused(pub), timeout=20, what="tunnel up")
        c = socket.create_connection(("127.0.0.1", pub))
        c.sendall(b"interop")
        self.assertEqual(recv_exact(c, 7), b"interop")
        c.close()


if __name__ == "__main__":
    iottest.main()
