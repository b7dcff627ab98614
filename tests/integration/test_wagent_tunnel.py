#!/usr/bin/python3
"""Tunnels through the real wagent (board-protocol.md 9, iotronic-api-v1.md
2.4 and 2.14.4): a board exposes a local TCP echo service with a REST
ServiceEnable, its tunnel client (lrc-wstun, started by the scripted board as
the original agent starts wstun) is authorised by the exposed_services row,
the board's live session and its HMAC proof; 100 MB over 50 concurrent
connections come back byte for byte on the wagent's public port;
ServiceDisable closes it; unexposed ports, missing or wrong proofs are
refused; a restarted wagent lets the board restore its tunnels."""

import os
import random
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import echoload  # noqa: E402
import iottest  # noqa: E402
import wampclient as wc  # noqa: E402
from test_wagent_support import P1, WagStack, wait_status  # noqa: E402

PORT_MIN = 21000 + random.randrange(0, 40) * 200  # a block outside the ephemeral range


class Echo:
    """A threaded TCP echo service on 127.0.0.1 (the board's local service)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _serve(c):
        try:
            while True:
                d = c.recv(262144)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        c.close()

    def close(self):
        self.sock.close()


class TunnelBoard:
    """The service procedures of an agent that starts one lrc-wstun per
    exposed service, as the original starts wstun ([services] wstun_bin)."""

    def __init__(self, test, uuid, secret, wagent):
        self.test = test
        self.uuid = uuid
        self.wagent = wagent
        self.procs = {}
        self.secret_file = None
        if secret:
            self.secret_file = os.path.join(iottest.tmpdir("secret-"), "secret")
            with open(self.secret_file, "w") as f:
                f.write(secret)
            os.chmod(self.secret_file, 0o600)

    def handlers(self):
        return {"ServiceEnable": self.enable, "ServiceDisable": self.disable,
                "ServiceRestore": self.enable, "DevicePing": lambda a: ("SUCCESS", "pong")}

    def spawn(self, public_port, local_port):
        argv = [iottest.bin_path("lrc-wstun"), "-r%d:127.0.0.1:%d" % (public_port, local_port),
                "ws://127.0.0.1:%d/" % self.wagent.tport, "-u", self.uuid]
        if self.secret_file:
            argv += ["--secret-file", self.secret_file]
        log = open(os.path.join(iottest.tmpdir("wstun-"), "lrc-wstun.log"), "wb")
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def enable(self, args):
        service, public_port = args[1], args[2]
        self.stop_one(service["uuid"])
        self.procs[service["uuid"]] = self.spawn(public_port, service["port"])
        return "SUCCESS", "Cloud service '%s' exposed on port %d on 127.0.0.1" % (
            service["name"], public_port)

    def disable(self, args):
        service = args[1]
        self.stop_one(service["uuid"])
        return "SUCCESS", "Cloud service '%s' disabled." % service["name"]

    def stop_one(self, suuid):
        p = self.procs.pop(suuid, None)
        if p is not None:
            iottest.kill_group(p, timeout=5)

    def stop(self):
        for suuid in list(self.procs):
            self.stop_one(suuid)


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def echoes(port, data=b"ping through the tunnel"):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(data)
        got = b""
        while len(got) < len(data):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        s.close()
        return got == data
    except OSError:
        return False


class TunnelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = WagStack(extra={"conductor": {"service_port_min": PORT_MIN,
                                               "service_port_max": PORT_MIN + 199,
                                               "board_call_timeout": 10}})
        cls.w = cls.st.start_wagent("wagent-1")
        cls.echo = Echo()

    @classmethod
    def tearDownClass(cls):
        cls.echo.close()
        cls.st.close()

    def board(self, name, cra=True, reconnect=False):
        uuid, secret, _ = self.st.new_registered(self.w, name)
        tb = TunnelBoard(self, uuid, secret if cra else None, self.w)
        self.addCleanup(tb.stop)
        b = wc.Board(self.w.port, uuid, tb.handlers(), secret=secret if cra else None,
                     lr_version="lrc-0.1.0" if cra else "0.5.0", reconnect=reconnect)
        b.start()
        self.assertTrue(b.ready.wait(15))
        self.assertIsNone(b.error, b.error)
        self.addCleanup(b.stop)
        return uuid, secret, tb, b

    def service(self, name):
        s, _, j, raw = self.st.http("POST", "/v1/services",
                                    {"name": name, "port": self.echo.port, "protocol": "TCP"},
                                    headers=P1)
        self.assertEqual(s, 201, raw)
        return j["uuid"]

    def act(self, board, svc, action):
        return self.st.http("POST", "/v1/boards/%s/services/%s/action" % (board, svc),
                            {"action": action}, headers=P1)

    def public_port(self, board):
        s, _, j, raw = self.st.http("GET", "/v1/boards/%s/services" % board, headers=P1)
        self.assertEqual(s, 200, raw)
        return j["exposed"][0]["public_port"]

    def expose(self, board, name):
        svc = self.service(name)
        s, _, j, raw = self.act(board, svc, "ServiceEnable")
        self.assertEqual(s, 200, raw)
        port = self.public_port(board)
        self.assertEqual(j, "Cloud service '%s' exposed on port %d on 127.0.0.1" % (name, port))
        iottest.wait_until(lambda: echoes(port), timeout=15, what="the tunnel on %d" % port)
        return svc, port

    def test_service_enable_carries_100mb_over_50_connections(self):
        uuid, secret, tb, b = self.board("tun-1")
        svc, port = self.expose(uuid, "echo-1")
        self.assertTrue(PORT_MIN <= port < PORT_MIN + 200)
        per_conn = 2 * 1024 * 1024
        results, elapsed = echoload.echo_many(port, 50, per_conn, timeout=120)
        self.assertEqual(len(results), 50)
        for i, (n, same) in sorted(results.items()):
            self.assertEqual(n, per_conn, "connection %d got %d bytes" % (i, n))
            self.assertTrue(same, "connection %d: bytes differ" % i)
        sys.stdout.write("# 100 MiB echoed through the wagent in %.1f s (%.0f MiB/s each way)\n"
                         % (elapsed, 100 / elapsed))
        self.assertGreater(self.w.metric("wagent_tunnel_bytes_in_total"), 0)
        # ServiceDisable closes the public port and frees the allowlist entry.
        s, _, j, raw = self.act(uuid, svc, "ServiceDisable")
        self.assertEqual((s, j), (200, "Cloud service 'echo-1' disabled."), raw)
        iottest.wait_until(lambda: not listening(port), timeout=10, what="port %d closed" % port)
        self.assertEqual(self.st.sql("SELECT count(*) FROM exposed_services WHERE "
                                     "board_uuid = :'p1'", uuid), [["0"]])

    def control(self, uuid, port, auth=None):
        """A raw control-channel upgrade on the wagent's tunnel listener."""
        path = "/?dst=127.0.0.1:%d&uuid=%s" % (port, uuid)
        if auth:
            path += "&auth=" + auth
        ws = wc.WebSocket("127.0.0.1", self.w.tport, path=path, protocols="tunnel-protocol")
        status = ws.status
        ws.close()
        return status

    def test_unauthorised_tunnels_are_refused(self):
        uuid, secret, tb, b = self.board("tun-2")
        svc, port = self.expose(uuid, "echo-2")
        free = PORT_MIN + 199
        # A port that is not exposed for this board.
        self.assertEqual(self.control(uuid, free, wc.wstun_proof(secret, uuid, free)), 401)
        self.assertFalse(listening(free))
        # The exposed port without a proof (this board authenticated with its
        # secret), with a wrong one, with a stale one, with another board's.
        self.assertEqual(self.control(uuid, port), 401)
        self.assertEqual(self.control(uuid, port, wc.wstun_proof("B" * 43, uuid, port)), 401)
        self.assertEqual(self.control(uuid, port, wc.wstun_proof(
            secret, uuid, port, int(time.time()) - 1000)), 401)
        other, osecret, _ = self.st.new_registered(self.w, "tun-2-other")
        self.assertEqual(self.control(other, port, wc.wstun_proof(osecret, other, port)), 401)
        # The tunnel that is allowed was not disturbed by any of it.
        self.assertTrue(echoes(port))
        # A board whose session is not live here cannot open one.
        b.stop()
        wait_status(self.st, uuid, "offline")
        iottest.wait_until(lambda: not listening(port), what="tunnel closed with the session")
        self.assertEqual(self.control(uuid, port, wc.wstun_proof(secret, uuid, port)), 401)

    def test_original_agent_tunnels_without_proof(self):
        uuid, _, tb, b = self.board("tun-3", cra=False)
        svc, port = self.expose(uuid, "echo-3")
        self.assertTrue(echoes(port, b"x" * 100000))
        tb.stop()
        iottest.wait_until(lambda: not listening(port), what="closed with its client")

    def test_restarted_wagent_lets_boards_restore_tunnels(self):
        uuid, secret, tb, b = self.board("tun-4", reconnect=True)
        svc, port = self.expose(uuid, "echo-4")
        first = b.connections
        self.w.stop()
        self.assertEqual(self.w.daemon.proc.returncode, 0)
        self.st.keep_log(self.w)
        self.assertFalse(listening(port))
        self.assertEqual(self.st.status(uuid), "offline")
        self.w.start()
        iottest.wait_until(lambda: b.connections > first and self.st.status(uuid) == "online",
                           timeout=20, what="the board back online")
        # lrc-wstun reconnects by itself once the board's session is live again.
        iottest.wait_until(lambda: echoes(port), timeout=20, what="the tunnel restored")


if __name__ == "__main__":
    iottest.main()
