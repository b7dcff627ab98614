#!/usr/bin/python3
"""Helpers shared by the iotronic-wagent suites, and their own tests.

WagStack is the real cloud on free loopback ports: a database with every
migration, a RabbitMQ vhost, a conductor, the REST API (unless api=False)
and any number of wagents (start_wagent), each with its WAMP listener, its
tunnel listener and its admin listener. Boards are created through the REST
API and registered through the registration wagent with the scripted client
(tests/lib/wampclient.py), as an original agent would.

Run as a suite it checks the client's crypto helpers against the contract's
test vectors (board-protocol.md 4.3, 9.5)."""

import json
import os
import signal
import sys
import time
import unittest
import urllib.request
import uuid as uuidlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402
import wampclient as wc  # noqa: E402
from test_api_support import Stack, require_binaries  # noqa: E402

P1 = {"X-User-Id": "u1", "X-Project-Id": "p1", "X-Roles": "admin_iot_project"}
LOC = [{"latitude": "38.19", "longitude": "15.55", "altitude": "0"}]
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


class Wagent:
    """One iotronic-wagent daemon and its ports."""

    def __init__(self, stack, host, overrides):
        self.stack = stack
        self.host = host
        self.port = iottest.free_port()
        self.tport = iottest.free_port()
        self.aport = iottest.free_port()
        self.dir = iottest.tmpdir(host + "-")
        conf = {
            "DEFAULT": {"host": host},
            "wamp": {"wamp_transport_url": "ws://127.0.0.1:%d/" % self.port,
                     "register_agent": True},
            "wagent": {"listen": "127.0.0.1:%d" % self.port,
                       "admin_listen": "127.0.0.1:%d" % self.aport,
                       "heartbeat_interval": 1, "agent_timeout": 3, "ping_interval": 2,
                       "ping_timeout": 5, "bind_timeout": 10, "registration_grace": 1},
            "wstun": {"listen": "127.0.0.1:%d" % self.tport, "bind_address": "127.0.0.1"},
        }
        for sec, kv in overrides.items():
            conf.setdefault(sec, {}).update(kv)
        self.conf = iottest.write_conf(os.path.join(self.dir, host + ".conf"), conf)
        self.daemon = None

    def start(self, wait=True):
        self.daemon = iottest.Daemon("iotronic-wagent",
                                     ["--config-file", self.stack.conf, "--config-file", self.conf],
                                     logdir=self.dir)
        self.daemon.start(wait_for_port=self.port if wait else None, timeout=30)
        return self

    def stop(self, grace=10.0):
        return self.daemon.stop(grace) if self.daemon else None

    def kill9(self):
        self.daemon.kill9()
        self.daemon.wait(10)

    def admin(self, path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.aport, path),
                                        timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metric(self, name):
        """The sum of every series of a metric in /metrics; a name with its
        labels ('x{a="b"}') reads that one series."""
        total = 0.0
        for line in self.admin("/metrics")[1].splitlines():
            if line.startswith(name + " ") or (not name.endswith("}") and
                                               line.startswith(name + "{")):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def wamp(self, **kw):
        return wc.Wamp("127.0.0.1", self.port, **kw)


class WagStack(Stack):
    """The cloud: database, broker, conductor, API and wagents."""

    def __init__(self, api=True, conductors=1, extra=None):
        require_binaries(["iotronic-wagent"])
        super().__init__(conductors=conductors, api=api, extra=extra)
        self.wagents = []

    def start_wagent(self, host="wagent-1", **overrides):
        w = Wagent(self, host, overrides).start()
        self.wagents.append(w)
        iottest.wait_until(lambda: self.sql("SELECT online FROM wampagents WHERE hostname = "
                                            ":'p1'", host) == [["t"]], timeout=20,
                           what="wagent %s online" % host)
        return w

    # ------------------------------------------------------------- boards

    def create_board(self, name, code=None):
        """POST /v1/boards; returns (uuid, code)."""
        code = code or "C-%s" % uuidlib.uuid4().hex[:20]
        s, _, j, raw = self.http("POST", "/v1/boards",
                                 {"name": name, "code": code, "type": "gateway",
                                  "location": LOC}, headers=P1)
        if s != 201:
            raise AssertionError("board create: %s %s" % (s, raw))
        return j["uuid"], code

    def board(self, uuid):
        s, _, j, raw = self.http("GET", "/v1/boards/%s" % uuid, headers=P1)
        if s != 200:
            raise AssertionError("board get: %s %s" % (s, raw))
        return j

    def status(self, uuid):
        return self.sql("SELECT status FROM boards WHERE uuid = :'p1'", uuid)[0][0]

    def register(self, wagent, code):
        """stack4things.register as the original agent does; returns the
        WampMessage (its message is the settings document)."""
        c = wagent.wamp()
        try:
            welcome = c.hello()
            assert welcome[0] == wc.WELCOME, welcome
            r = c.call("stack4things.register", [], {"code": code, "session": c.session})
            assert r[0] == wc.RESULT, r
            return c.result_wampmsg(r)
        finally:
            c.close()

    def new_registered(self, wagent, name):
        """A board created and registered; returns (uuid, secret, settings)."""
        uuid, code = self.create_board(name)
        wm = self.register(wagent, code)
        assert wm["result"] == "SUCCESS", wm
        board = wm["message"]["iotronic"]["board"]
        return uuid, board["auth"]["secret"], wm["message"]

    def wagent_call(self, host, method, args, timeout=15.0):
        """An AMQP call to wagent.<host> (board-protocol.md 8.1): (ok, result)."""
        if self.mq is None:
            self.rpc_connect()
        return self.mq.call("wagent." + host, method, args, timeout)

    def rpc_connect(self):
        from test_api_support import MQ
        self.mq = MQ(self.vhost)

    def invoke(self, host, board, method, args=None, req=None, timeout_ms=5000):
        ok, res = self.wagent_call(host, "invoke", {"board_uuid": board, "method": method,
                                                    "args": args or [], "req": req,
                                                    "timeout_ms": timeout_ms},
                                   timeout=timeout_ms / 1000.0 + 10)
        if not ok:
            raise AssertionError("invoke failed: %r" % (res,))
        return res

    def action(self, uuid, action="DevicePing", parameters=None):
        return self.http("POST", "/v1/boards/%s/action" % uuid,
                         {"action": action, "parameters": parameters or {}}, headers=P1)

    def keep_log(self, w):
        """Copies a wagent's log next to the suite's (the temporary directory
        goes at exit)."""
        logs = os.path.join(iottest.BUILD, "test-logs")
        suite = os.path.splitext(os.path.basename(sys.argv[0]))[0]
        try:
            os.makedirs(logs, exist_ok=True)
            with open(os.path.join(logs, "%s-%s.log" % (suite, w.host)), "a") as f:
                f.write(w.daemon.log_text())
        except OSError:
            pass

    def close(self):
        bad = []
        for w in self.wagents:
            if w.daemon is None or w.daemon.proc is None:
                continue
            rc = w.stop()
            self.keep_log(w)
            text = w.daemon.log_text()
            for marker in SANITIZER_MARKERS:
                if marker in text:
                    bad.append("%s: %s\n%s" % (w.host, marker, w.daemon.tail(60)))
            if rc is not None and rc not in (0, -signal.SIGKILL):
                bad.append("%s exited %s\n%s" % (w.host, rc, w.daemon.tail(30)))
        try:
            super().close()
        finally:
            if bad:
                raise AssertionError("\n".join(bad))


class Listener:
    """Reads what the wagent publishes: a private queue bound to exchange with
    key, or an existing queue by name."""

    def __init__(self, url, exchange=None, key=None, queue=None):
        import pika
        self.conn = pika.BlockingConnection(pika.URLParameters(url))
        self.ch = self.conn.channel()
        if queue is None:
            queue = self.ch.queue_declare("", exclusive=True).method.queue
            self.ch.queue_bind(queue, exchange, key)
        self.queue = queue

    def get(self, timeout=10.0):
        """(AMQP type, body as JSON, properties); AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            method, props, body = self.ch.basic_get(self.queue, auto_ack=True)
            if method is not None:
                return props.type, json.loads(body), props
            self.conn.process_data_events(time_limit=0.05)
        raise AssertionError("nothing published on %s in %.0f s" % (self.queue, timeout))

    def empty(self, wait=0.5):
        time.sleep(wait)
        method, _, _ = self.ch.basic_get(self.queue, auto_ack=True)
        return method is None

    def close(self):
        try:
            self.conn.close()
        except Exception:
            pass


def wait_status(st, uuid, want, timeout=20.0):
    return iottest.wait_until(lambda: st.status(uuid) == want, timeout=timeout,
                              what="board %s %s" % (uuid, want))


class TestHelpers(unittest.TestCase):
    def test_cra_vector(self):
        secret = "Vq3T0n5xQm6b2wYk8rJdZ1pLcF7hEsUa4NgRiO9tKyA"
        challenge = json.dumps({"authid": "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52",
                                "authrole": "board", "authmethod": "wampcra",
                                "authprovider": "iotronic", "nonce": "kY2x0NqT3mZ8vR1wC5hJ9a",
                                "timestamp": "2026-11-23T18:02:11.204Z",
                                "session": 4739282046471166}, separators=(",", ":"))
        self.assertEqual(wc.cra_sign(secret, challenge),
                         "xPYYDMKKleGD/sUwwtb5stSRjcbp06SUi3BbWog2T5I=")

    def test_wstun_vector(self):
        secret = "Vq3T0n5xQm6b2wYk8rJdZ1pLcF7hEsUa4NgRiO9tKyA"
        self.assertEqual(wc.wstun_proof(secret, "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52", 50123,
                                        1795456931),
                         "1795456931.iWBXDMlFt-7XeYCI7i6sN_UJMxavAFct5aSYdErf8i0")


if __name__ == "__main__":
    iottest.main()
