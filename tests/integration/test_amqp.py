#!/usr/bin/python3
"""AMQP RPC (iotronic-c/amqp) against the run's RabbitMQ, through mqtool.

Each test gets a fresh vhost. mqtool serve is the server (echo, fail, sleep,
count); mqtool call/cast/publish are the clients. pika, an independent AMQP
client, sends what our library never would (malformed bodies, stale
deadlines, repeated message ids) and checks the wire format from outside.
"""

import json
import os
import subprocess
import sys
import time
import unittest

import pika

import iottest

MQTOOL = iottest.bin_path("mqtool")


def json_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def mqtool(*args, timeout=60):
    """Runs mqtool; returns (exit status, JSON lines of stdout, stderr)."""
    r = subprocess.run([MQTOOL] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, json_lines(r.stdout), r.stderr


def summary(lines):
    return [x for x in lines if "summary" in x][-1]["summary"]


def replies(lines):
    return sorted((x for x in lines if "n" in x), key=lambda x: x["n"])


class Server:
    """mqtool serve as a daemon; ready once it consumes."""

    def __init__(self, url, queue, *extra):
        self.d = iottest.Daemon("mqtool", ["serve", "--url", url, "--queue", queue] +
                                [str(a) for a in extra])

    def start(self):
        self.d.start()
        iottest.wait_until(lambda: '"ready":true' in self.d.log_text() or not self.d.alive(),
                           timeout=15, what="mqtool serve ready")
        if not self.d.alive():
            raise AssertionError("mqtool serve died:\n" + self.d.tail())
        return self

    def stop(self):
        self.d.stop()
        return [x["stats"] for x in json_lines(self.d.log_text()) if "stats" in x]

    def log(self):
        return self.d.log_text()


def read_record(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.split() for line in f.read().splitlines() if line]


class AmqpTest(unittest.TestCase):
    def setUp(self):
        self.url = iottest.new_vhost()
        self.dir = iottest.tmpdir("amqp-")
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop()

    def serve(self, queue, *extra):
        s = Server(self.url, queue, *extra).start()
        self.servers.append(s)
        return s

    def pika_channel(self):
        conn = pika.BlockingConnection(pika.URLParameters(self.url))
        self.addCleanup(conn.close)
        return conn.channel()

    # ------------------------------------------------------------ basics

    def test_call_roundtrip(self):
        self.serve("q")
        args = {"s": "héllo", "n": [1, 2.5, None, {"deep": True}]}
        rc, lines, err = mqtool("call", "--url", self.url, "--queue", "q", "--method", "echo",
                                "--args", json.dumps(args), "--count", 3)
        self.assertEqual(rc, 0, err)
        got = replies(lines)
        self.assertEqual([x["n"] for x in got], [1, 2, 3])
        for x in got:
            self.assertTrue(x["ok"])
            self.assertEqual(x["result"], args)
        self.assertEqual(summary(lines)["ok"], 3)

    def test_cast_roundtrip(self):
        rec = os.path.join(self.dir, "rec")
        self.serve("q", "--record", rec)
        rc, lines, err = mqtool("cast", "--url", self.url, "--queue", "q", "--method", "count",
                                "--args", '{"n": 5}')
        self.assertEqual(rc, 0, err)
        self.assertTrue(lines[0]["ok"])
        iottest.wait_until(lambda: read_record(rec), what="the cast to run")
        self.assertEqual([r[1] for r in read_record(rec)], ["5"])

    def test_remote_error_carries_errno_status_message_data(self):
        self.serve("q")
        args = {"errno": 17, "status": 409, "message": "A board with name b1 already exists.",
                "data": {"field": "name", "values": [1, 2]}}
        rc, lines, err = mqtool("call", "--url", self.url, "--queue", "q", "--method", "fail",
                                "--args", json.dumps(args))
        self.assertEqual(rc, 0, err)  # a remote error is an answer, not a local failure
        remote = replies(lines)[0]["remote"]
        self.assertEqual(remote, {"errno": 17, "status": 409, "message": args["message"],
                                  "data": args["data"]})
        self.assertEqual(summary(lines)["remote_errors"], 1)

    def test_timeout_is_etimedout_and_not_unsent(self):
        self.serve("q")
        t0 = time.monotonic()
        rc, lines, err = mqtool("call", "--url", self.url, "--queue", "q", "--method", "sleep",
                                "--args", '{"ms": 3000}', "--timeout", 300)
        elapsed = time.monotonic() - t0
        self.assertEqual(rc, 1)
        r = replies(lines)[0]
        self.assertEqual(r["error"], "ETIMEDOUT")
        self.assertFalse(r["unsent"])  # it was delivered: the API answers 504, not 503
        self.assertLess(elapsed, 2.5)

    def test_unknown_method_gets_an_error_reply(self):
        self.serve("q")
        rc, lines, err = mqtool("call", "--url", self.url, "--queue", "q", "--method",
                                "no_such_method")
        remote = replies(lines)[0]["remote"]
        self.assertEqual(remote["errno"], 38)  # ENOSYS
        self.assertEqual(remote["status"], 501)
        self.assertIn("no_such_method", remote["message"])

    def test_no_server_is_unsent(self):
        rc, lines, err = mqtool("call", "--url", self.url, "--queue", "nobody-here", "--method",
                                "echo", "--timeout", 5000, "--connect-wait", 600)
        r = replies(lines)[0]
        self.assertEqual(r["error"], "EHOSTUNREACH")
        self.assertTrue(r["unsent"])  # certainly not applied: the API may answer 503

    def test_unreachable_broker_fails_fast_and_clearly(self):
        port = iottest.free_port()
        t0 = time.monotonic()
        rc, lines, err = mqtool("call", "--url", "amqp://guest:secretpw@127.0.0.1:%d/" % port,
                                "--queue", "q", "--method", "echo")
        self.assertEqual(rc, 3)
        self.assertIn("cannot reach broker at 127.0.0.1:%d: Connection refused" % port, err)
        self.assertNotIn("secretpw", err)
        self.assertLess(time.monotonic() - t0, 2.0)

    def test_bad_credentials_and_vhost_are_named(self):
        host = self.url.split("@", 1)[1].split("/", 1)[0]
        rc, _, err = mqtool("call", "--url", "amqp://guest:wrong@%s/" % host, "--queue", "q",
                            "--method", "echo")
        self.assertEqual(rc, 3)
        self.assertIn("refused the connection", err)
        self.assertIn("ACCESS_REFUSED", err)
        self.assertNotIn("wrong", err)
        rc, _, err = mqtool("call", "--url", "amqp://guest:guest@%s/no-such-vhost" % host,
                            "--queue", "q", "--method", "echo")
        self.assertEqual(rc, 3)
        self.assertIn("no-such-vhost", err)

    # ---------------------------------------------------- concurrency

    def test_many_parallel_calls(self):
        self.serve("q", "--workers", 4)
        rc, lines, err = mqtool("call", "--url", self.url, "--queue", "q", "--method", "echo",
                                "--args", '{"x": 1}', "--seq", "--count", 3000,
                                "--concurrency", 16, "--quiet")
        self.assertEqual(rc, 0, err)
        s = summary(lines)
        self.assertEqual(s["ok"], 3000)

    def test_slow_handlers_do_not_block_fast_ones(self):
        rec = os.path.join(self.dir, "rec")
        self.serve("q", "--workers", 4, "--record", rec)
        slow = subprocess.Popen([MQTOOL, "call", "--url", self.url, "--queue", "q", "--method",
                                 "sleep", "--args", '{"ms": 2000}', "--count", "3",
                                 "--concurrency", "3", "--timeout", "10000"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.3)  # the sleeps are running on 3 of the 4 workers
        t0 = time.monotonic()
        rc, lines, err = mqtool("call", "--url", self.url, "--queue", "q", "--method", "echo",
                                "--count", 200, "--concurrency", 4, "--quiet")
        fast = time.monotonic() - t0
        self.assertEqual(rc, 0, err)
        self.assertLess(fast, 1.2)  # inline echo never waits for the sleeping workers
        rc, lines, err = mqtool("call", "--url", self.url, "--queue", "q", "--method", "count",
                                "--seq", "--count", 100, "--concurrency", 4, "--quiet")
        self.assertEqual(rc, 0, err)  # the fourth worker kept serving blocking handlers
        out, err = slow.communicate(timeout=20)
        self.assertEqual(slow.returncode, 0, err)
        self.assertEqual(summary(json_lines(out))["ok"], 3)
        self.assertEqual(sorted(int(r[1]) for r in read_record(rec)), list(range(1, 101)))

    # ------------------------------------------------ persistence, events

    def test_persistent_confirmed_cast_waits_for_a_later_server(self):
        rec = os.path.join(self.dir, "rec")
        rc, lines, err = mqtool("cast", "--url", self.url, "--queue", "later", "--method",
                                "count", "--args", '{"n": 77}', "--declare", "--durable",
                                "--persistent", "--confirm")
        self.assertEqual(rc, 0, err)
        self.assertTrue(lines[0]["ok"])
        time.sleep(0.5)
        self.assertEqual(read_record(rec), [])
        self.serve("later", "--durable", "--record", rec)
        iottest.wait_until(lambda: read_record(rec), what="the queued cast to run")
        self.assertEqual([r[1] for r in read_record(rec)], ["77"])

    def test_confirmed_cast_to_missing_queue_fails(self):
        rc, lines, err = mqtool("cast", "--url", self.url, "--queue", "missing", "--method",
                                "count", "--args", '{"n": 1}', "--confirm")
        self.assertEqual(rc, 1)
        self.assertEqual(lines[0]["rc"], -113)  # EHOSTUNREACH: no queue took it
        self.assertIn("no queue took message", lines[0]["message"])

    def test_publish_to_topic_exchange_reaches_an_events_server(self):
        rec = os.path.join(self.dir, "rec")
        rc, lines, err = mqtool("publish", "--url", self.url, "--exchange",
                                "iotronic.board_events", "--declare-exchange", "topic",
                                "--durable", "--bind-queue", "events_q", "--routing-key",
                                "board.online", "--type", "count", "--body", '{"n": 9}',
                                "--persistent", "--confirm")
        self.assertEqual(rc, 0, err)
        self.serve("events_q", "--durable", "--events", "--record", rec)
        iottest.wait_until(lambda: read_record(rec), what="the event to be handled")
        self.assertEqual([r[1] for r in read_record(rec)], ["9"])

    def test_publish_to_missing_exchange_fails_with_enoent(self):
        rc, lines, err = mqtool("publish", "--url", self.url, "--exchange", "nope",
                                "--routing-key", "x", "--body", "{}", "--confirm", "--count", 2)
        self.assertEqual(rc, 1)
        self.assertEqual(lines[0]["rc"], -2)  # ENOENT: the broker closed the channel
        self.assertIn("no exchange 'nope'", lines[0]["message"])
        self.assertEqual(lines[1]["rc"], -2)  # the publish channel was re-opened

    # ------------------------------------------- from an independent client

    def _request(self, ch, queue, body, reply_q, corr, msg_id=None, **props):
        ch.basic_publish("", queue, body if isinstance(body, bytes) else body.encode(),
                         pika.BasicProperties(reply_to=reply_q, correlation_id=corr,
                                              message_id=msg_id,
                                              content_type="application/json", **props))

    def _collect(self, ch, q, n, timeout=10):
        got = []

        def poll():
            while True:
                m, p, b = ch.basic_get(q, auto_ack=True)
                if m is None:
                    return len(got) >= n
                got.append((p, json.loads(b)))
        iottest.wait_until(poll, timeout=timeout, what="%d replies" % n)
        return got

    def test_wire_format_seen_by_another_client(self):
        self.serve("q")
        ch = self.pika_channel()
        rq = ch.queue_declare("", exclusive=True).method.queue
        req = {"v": 1, "method": "echo", "args": {"k": "v"}, "request_id": "req-pika-1",
               "deadline_ms": 0}
        self._request(ch, "q", json.dumps(req), rq, "corr-1", "pika.1")
        props, body = self._collect(ch, rq, 1)[0]
        self.assertEqual(props.correlation_id, "corr-1")
        self.assertEqual(props.content_type, "application/json")
        self.assertEqual(body, {"v": 1, "ok": True, "result": {"k": "v"}})

    def test_malformed_messages_are_refused_and_the_server_lives(self):
        s = self.serve("q")
        ch = self.pika_channel()
        rq = ch.queue_declare("", exclusive=True).method.queue
        bad = [b"not json", b"\xff\xfe", b"[1,2]", b'{"method":"echo"}',
               b'{"v":2,"method":"echo"}', b'{"v":1}', b'{"v":1,"method":"a b"}',
               b'{"v":1,"method":"echo","args":[1]}', b'{"v":1,"method":"echo","deadline_ms":-5}',
               b"", b'{"v":1,"method":"echo"}\x00garbage']
        for i, body in enumerate(bad):
            self._request(ch, "q", body, rq, "bad-%d" % i)
        got = self._collect(ch, rq, len(bad))
        self.assertEqual(sorted(p.correlation_id for p, _ in got),
                         sorted("bad-%d" % i for i in range(len(bad))))
        for _, body in got:
            self.assertFalse(body["ok"])
            self.assertEqual(body["error"]["errno"], 22)
            self.assertEqual(body["error"]["status"], 400)
        # Also without a reply_to: refused silently, still alive.
        ch.basic_publish("", "q", b"{{{{")
        rc, lines, err = mqtool("call", "--url", self.url, "--queue", "q", "--method", "echo")
        self.assertEqual(rc, 0, err)
        self.assertTrue(s.d.alive())
        stats = s.stop()[0]
        self.servers.remove(s)
        self.assertEqual(stats["malformed"], len(bad) + 1)
        self.assertIn("refused a malformed message", s.log())

    def test_expired_request_is_dropped_unanswered(self):
        rec = os.path.join(self.dir, "rec")
        s = self.serve("q", "--record", rec)
        ch = self.pika_channel()
        rq = ch.queue_declare("", exclusive=True).method.queue
        past = int(time.time() * 1000) - 1000
        self._request(ch, "q", json.dumps({"v": 1, "method": "count", "args": {"n": 1},
                                           "deadline_ms": past}), rq, "old")
        future = int(time.time() * 1000) + 60000
        self._request(ch, "q", json.dumps({"v": 1, "method": "count", "args": {"n": 2},
                                           "deadline_ms": future}), rq, "new")
        got = self._collect(ch, rq, 1)
        time.sleep(0.3)
        self.assertEqual([p.correlation_id for p, _ in got], ["new"])
        self.assertEqual([r[1] for r in read_record(rec)], ["2"])
        self.assertIn("its deadline has passed", s.log())

    def test_repeated_message_id_runs_once(self):
        rec = os.path.join(self.dir, "rec")
        s = self.serve("q", "--record", rec, "--workers", 2)
        ch = self.pika_channel()
        rq = ch.queue_declare("", exclusive=True).method.queue
        body = json.dumps({"v": 1, "method": "count", "args": {"n": 31}})
        # Two copies at once (one joins the running one), then a third later
        # (answered from the cache); a different id runs again.
        self._request(ch, "q", body, rq, "c1", "dup-1")
        self._request(ch, "q", body, rq, "c2", "dup-1")
        got = self._collect(ch, rq, 2)
        self._request(ch, "q", body, rq, "c3", "dup-1")
        got += self._collect(ch, rq, 1)
        self._request(ch, "q", body, rq, "c4", "dup-2")
        got += self._collect(ch, rq, 1)
        self.assertEqual(sorted(p.correlation_id for p, _ in got), ["c1", "c2", "c3", "c4"])
        for _, b in got:
            self.assertEqual(b["result"], 31)
        self.assertEqual(sorted(r[0] for r in read_record(rec)), ["dup-1", "dup-2"])
        stats = s.stop()[0]
        self.servers.remove(s)
        self.assertEqual(stats["duplicates"], 2)

    def test_request_id_travels_to_the_handler_logs(self):
        s = self.serve("q", "--record", os.path.join(self.dir, "rec"))
        rc, lines, err = mqtool("call", "--url", self.url, "--queue", "q", "--method", "count",
                                "--args", '{"n": 3}', "--request-id", "req-trace-4711")
        self.assertEqual(rc, 0, err)
        iottest.wait_until(lambda: "req=req-trace-4711" in s.log(), what="the request id")
        line = [x for x in s.log().splitlines() if "count n=3" in x][0]
        self.assertIn("req=req-trace-4711", line)


if __name__ == "__main__":
    iottest.main()
