#!/usr/bin/python3
"""Helpers shared by the iotronic-api / conductor suites, and their own tests.

- MQ: a minimal RPC client speaking the envelope of iotronic-c/amqp/envelope.h
  over RabbitMQ direct reply-to (pika), to call the conductor directly.
- FakeWagent: a scripted AMQP peer that plays a wagent's `invoke` method
  (board-protocol.md 8.1) on the queue wagent.<hostname>, answering each
  invocation with whatever its script returns, and recording the calls.
- Stack: a database, a vhost, a conductor (or several) and an API on free
  ports, from one temporary config; http() for raw requests.

Run as a suite it checks the helpers themselves (the envelope codec)."""

import http.client
import json
import os
import queue
import sys
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402

try:
    import pika  # python3-pika (tools/deps.list)
except ImportError:  # pragma: no cover
    pika = None


def envelope(method, args, request_id="req-test", deadline_ms=0):
    return json.dumps({"v": 1, "method": method, "args": args, "request_id": request_id,
                       "deadline_ms": deadline_ms}).encode()


def decode_reply(body):
    d = json.loads(body)
    if d.get("v") != 1 or "ok" not in d:
        raise ValueError("not a reply envelope: %r" % d)
    if d["ok"]:
        return True, d.get("result")
    return False, d["error"]


class MQ:
    """Blocking RPC client; one connection, used by one thread."""

    def __init__(self, url):
        self.conn = pika.BlockingConnection(pika.URLParameters(url))
        self.ch = self.conn.channel()
        self.replies = {}
        self.ch.basic_consume("amq.rabbitmq.reply-to", self._on_reply, auto_ack=True)

    def _on_reply(self, ch, method, props, body):
        self.replies[props.correlation_id] = body

    def call(self, queue_name, method, args, timeout=15.0):
        corr = uuid.uuid4().hex
        props = pika.BasicProperties(reply_to="amq.rabbitmq.reply-to", correlation_id=corr,
                                     message_id=corr, content_type="application/json",
                                     type=method)
        self.ch.basic_publish("", queue_name, envelope(method, args), props)
        deadline = time.monotonic() + timeout
        while corr not in self.replies:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply to %s" % method)
            self.conn.process_data_events(time_limit=min(left, 0.2))
        return decode_reply(self.replies.pop(corr))

    def close(self):
        try:
            self.conn.close()
        except Exception:
            pass


class FakeWagent(threading.Thread):
    """Consumes wagent.<host> and answers `invoke` with script(args).

    script(args) returns the result object ({"outcome": ...}) or a tuple
    ("error", errno, status, message) for an error reply, or None to not
    answer at all (the caller then times out)."""

    def __init__(self, url, host, script):
        super().__init__(daemon=True)
        self.url = url
        self.host = host
        self.script = script
        self.calls = queue.Queue()
        self.ready = threading.Event()
        self.stopping = False

    def run(self):
        conn = pika.BlockingConnection(pika.URLParameters(self.url))
        ch = conn.channel()
        ch.queue_declare("wagent." + self.host, durable=False, auto_delete=False)
        ch.basic_consume("wagent." + self.host, lambda c, m, p, b: self._on(c, m, p, b))
        self.ready.set()
        while not self.stopping:
            conn.process_data_events(time_limit=0.1)
        conn.close()

    def _on(self, ch, method, props, body):
        env = json.loads(body)
        self.calls.put((env["method"], env.get("args", {})))
        out = self.script(env.get("args", {})) if env["method"] == "invoke" else {}
        if out is not None and props.reply_to:
            if isinstance(out, tuple):
                rep = {"v": 1, "ok": False, "error": {"errno": out[1], "status": out[2],
                                                      "message": out[3], "data": None}}
            else:
                rep = {"v": 1, "ok": True, "result": out}
            ch.basic_publish("", props.reply_to, json.dumps(rep).encode(),
                             pika.BasicProperties(correlation_id=props.correlation_id,
                                                  content_type="application/json"))
        ch.basic_ack(method.delivery_tag)

    def stop(self):
        self.stopping = True
        self.join(5)


def require_binaries(names):
    """Skips (like the fuzz suite does for unbuilt targets) when a daemon is
    not built: iotronic-api builds only once libiothttp and libiotauth are in
    the tree (iotronic-c/api/module.mk)."""
    for n in names:
        if not os.access(iottest.bin_path(n), os.X_OK):
            raise unittest.SkipTest("%s is not built (its libraries are not in the tree yet)" % n)
    if pika is None:
        raise unittest.SkipTest("python3-pika is missing (make deps)")


def replied(message, result="SUCCESS"):
    return {"outcome": "replied", "wampmessage": {"message": message, "result": result}}


class Stack:
    """A database, a vhost, conductors and (optionally) an API, on free ports."""

    def __init__(self, conductors=1, api=True, extra=None, noauth=True, enforce=False,
                 port=None):
        require_binaries(["iotronic-conductor"] + (["iotronic-api"] if api else []))
        self.db = iottest.new_db()
        self.vhost = iottest.new_vhost()
        self.dir = iottest.tmpdir("api-")
        self.port = port or iottest.free_port()
        conf = {
            "DEFAULT": {"transport_url": self.vhost,
                        "auth_strategy": "noauth" if noauth else "keystone",
                        "noauth_enforce_policy": enforce, "rpc_response_timeout": 10,
                        "log_level": "info"},
            "api": {"host_ip": "127.0.0.1", "port": self.port, "workers": 4},
            "conductor": {"workers": 4, "board_call_timeout": 3, "heartbeat_interval": 1,
                          "agent_timeout": 3},
            "database": {"connection": iottest.dsn(self.db)},
        }
        for sec, kv in (extra or {}).items():
            conf.setdefault(sec, {}).update(kv)
            for k in [k for k, v in kv.items() if v is None]:
                del conf[sec][k]  # None removes a default of this harness
        self.conf = iottest.write_conf(os.path.join(self.dir, "iotronic.conf"), conf)
        self.conductors = []
        for i in range(conductors):
            self.conductors.append(self.start_conductor("conductor-%d" % i))
        self.api = None
        if api:
            self.api = iottest.Daemon("iotronic-api", ["--config-file", self.conf],
                                      logdir=self.dir).start(wait_for_port=self.port)
        self.mq = None

    def start_conductor(self, host):
        conf = iottest.write_conf(os.path.join(self.dir, host + ".conf"), {"DEFAULT": {"host": host}})
        d = iottest.Daemon("iotronic-conductor", ["--config-file", self.conf, "--config-file", conf],
                           logdir=iottest.tmpdir(host + "-")).start()
        iottest.wait_until(lambda: self.sql("SELECT count(*) FROM conductors WHERE hostname = :'p1'",
                                            host)[0][0] == "1", timeout=20,
                           what="conductor %s registered" % host)
        return d

    def sql(self, text, *params):
        return iottest.psql(self.db, text, *params)

    def rpc(self, method, args, timeout=15.0):
        if self.mq is None:
            self.mq = MQ(self.vhost)
        return self.mq.call("iotronic.conductor", method, args, timeout)

    def http(self, method, path, body=None, headers=None, raw=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = {"Accept": "application/json"}
        if body is not None and raw is None:
            raw = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        c.request(method, path, body=raw, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        ctype = r.getheader("Content-Type") or ""
        parsed = json.loads(data) if data and ctype.startswith("application/json") else None
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), parsed, data

    def close(self):
        """Stops everything; fails when a daemon's log shows a sanitizer
        report (SANITIZE=1 builds) or a crash."""
        if self.mq is not None:
            self.mq.close()
        daemons = ([self.api] if self.api is not None else []) + self.conductors
        bad = []
        for d in daemons:
            rc = d.stop()
            text = d.log_text()
            for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                if marker in text:
                    bad.append("%s: %s\n%s" % (d.name, marker, d.tail(40)))
            if rc is not None and rc < 0 and rc != -15:
                bad.append("%s died with signal %d\n%s" % (d.name, -rc, d.tail(20)))
        if bad:
            raise AssertionError("\n".join(bad))


def fault(parsed):
    """The faultstring of an error body (which must have the nested form)."""
    inner = json.loads(parsed["error_message"])
    assert list(inner.keys()) == ["faultcode", "faultstring", "debuginfo"], inner
    return inner["faultstring"]


class TestSupport(unittest.TestCase):
    def test_envelope_roundtrip(self):
        e = json.loads(envelope("m", {"a": 1}))
        self.assertEqual(e["v"], 1)
        self.assertEqual(e["method"], "m")
        self.assertEqual(decode_reply(b'{"v":1,"ok":true,"result":{"x":1}}'), (True, {"x": 1}))
        ok, err = decode_reply(b'{"v":1,"ok":false,"error":{"errno":2,"status":404,'
                               b'"message":"m","data":null}}')
        self.assertFalse(ok)
        self.assertEqual(err["status"], 404)
        with self.assertRaises(ValueError):
            decode_reply(b'{"v":2}')

    def test_fault_parser_insists_on_nested_form(self):
        body = {"error_message": json.dumps({"faultcode": "Client", "faultstring": "x",
                                             "debuginfo": None})}
        self.assertEqual(fault(body), "x")


if __name__ == "__main__":
    iottest.main()
