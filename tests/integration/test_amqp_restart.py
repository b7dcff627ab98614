#!/usr/bin/python3
# needs: nothing (it runs its own RabbitMQ node)
"""AMQP RPC across a broker restart, on a PRIVATE RabbitMQ node.

The node is stopped in the middle of a sequence of `count` calls and
started again on the same ports and data directory. Every call must get
exactly one answer, none may be lost, and the server's record (one line per
execution, with the message id) must show no call executed twice: the client
re-sends unanswered calls with the same message id after its reconnect, and
the server answers repeats from its de-duplication cache.
"""

import json
import os
import signal
import subprocess
import sys
import time
import unittest

import iottest
from iottest import services as _unused  # noqa: F401 (loads the module)

svcmod = sys.modules["iottest.services"]

MQTOOL = iottest.bin_path("mqtool")


def json_lines(text):
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def read_record(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.split() for line in f.read().splitlines() if line]


def start_again(r):
    """Starts a stopped svcmod.Rabbit on its old ports and data directory,
    so that durable queues and persistent messages come back."""
    env = r.env()
    log = open(os.path.join(r.dir, "server.log"), "ab")
    r.epmd = subprocess.Popen(svcmod._as_user("rabbitmq") +
                              ["epmd", "-port", str(r.epmd_port), "-address", "127.0.0.1"],
                              env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    svcmod.wait_port(r.epmd_port, proc=r.epmd)
    r.proc = subprocess.Popen(svcmod._as_user("rabbitmq") +
                              [svcmod.RABBIT_BIN + "/rabbitmq-server"],
                              env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    log.close()
    svcmod.wait_port(r.port, timeout=60, proc=r.proc)


class RestartTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        root = iottest.tmpdir("rabbit-")
        os.chmod(root, 0o755)  # the broker runs as the rabbitmq user
        cls.rabbit = svcmod.Rabbit(root)
        cls.rabbit.node = "iotr%d@localhost" % os.getpid()
        cls.rabbit.start()
        cls.url = "amqp://guest:guest@127.0.0.1:%d/" % cls.rabbit.port

    @classmethod
    def tearDownClass(cls):
        cls.rabbit.stop()

    def setUp(self):
        self.dir = iottest.tmpdir("restart-")
        if self.rabbit.proc is None:
            start_again(self.rabbit)

    def serve(self, queue, rec):
        d = iottest.Daemon("mqtool", ["serve", "--url", self.url, "--queue", queue, "--durable",
                                      "--workers", "8", "--record", rec])
        d.start()
        self.addCleanup(d.stop)
        iottest.wait_until(lambda: '"ready":true' in d.log_text() or not d.alive(), timeout=15,
                           what="mqtool serve ready")
        self.assertTrue(d.alive(), d.tail())
        return d

    def restart_broker(self, down_s, kill=False):
        if kill:
            svcmod.kill_group(self.rabbit.proc, timeout=0, sig=signal.SIGKILL)
            svcmod.kill_group(self.rabbit.epmd, timeout=0, sig=signal.SIGKILL)
            self.rabbit.proc = self.rabbit.epmd = None
        else:
            self.rabbit.stop()
        time.sleep(down_s)
        start_again(self.rabbit)

    def run_sequence(self, queue, kill):
        rec = os.path.join(self.dir, "rec")
        n = 300
        server = self.serve(queue, rec)
        # Each call is recorded, then answered 100 ms later, so that at the
        # restart several calls are executed but not yet answered.
        caller = subprocess.Popen([MQTOOL, "call", "--url", self.url, "--queue", queue,
                                   "--method", "count", "--seq", "--args", '{"ms": 100}',
                                   "--count", str(n), "--concurrency", "8",
                                   "--timeout", "60000", "--connect-wait", "60000"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        iottest.wait_until(lambda: len(read_record(rec)) >= 100, timeout=30,
                           what="a third of the calls")
        self.restart_broker(3, kill)
        out, err = caller.communicate(timeout=120)
        lines = json_lines(out)
        answers = [x for x in lines if "n" in x]
        summary = [x for x in lines if "summary" in x][0]["summary"]
        # Exactly one answer per call, every one a success with its own number.
        self.assertEqual(caller.returncode, 0, err[-3000:])
        self.assertEqual(sorted(x["n"] for x in answers), list(range(1, n + 1)))
        for x in answers:
            self.assertTrue(x["ok"], x)
            self.assertEqual(x["result"], x["n"])
        self.assertEqual(summary["ok"], n)
        self.assertGreaterEqual(summary["stats"]["reconnects"], 1)
        # Executed once each: no number and no message id twice in the record.
        iottest.wait_until(lambda: len(read_record(rec)) >= n, what="the record")
        record = read_record(rec)
        numbers = sorted(int(r[1]) for r in record)
        self.assertEqual(numbers, list(range(1, n + 1)), "executed twice or lost")
        self.assertEqual(len({r[0] for r in record}), n)
        # The calls in flight were re-sent, and the server answered the
        # repeats from its cache instead of running them again.
        self.assertGreaterEqual(summary["stats"]["calls_resent"], 1)
        self.assertTrue(server.alive())
        server.stop()
        sstats = [x["stats"] for x in json_lines(server.log_text()) if "stats" in x][0]
        sys.stderr.write("# client %s\n# server %s\n" % (summary["stats"], sstats))
        self.assertGreaterEqual(sstats["duplicates"], 1)
        return summary

    def test_calls_span_a_broker_restart(self):
        self.run_sequence("rq_stop", kill=False)

    def test_calls_span_a_broker_crash(self):
        self.run_sequence("rq_kill", kill=True)

    def test_persistent_cast_survives_the_restart(self):
        rec = os.path.join(self.dir, "rec")
        r = subprocess.run([MQTOOL, "cast", "--url", self.url, "--queue", "pq", "--method",
                            "count", "--args", '{"n": 4242}', "--declare", "--durable",
                            "--persistent", "--confirm"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.restart_broker(0)
        self.serve("pq", rec)
        iottest.wait_until(lambda: read_record(rec), timeout=15, what="the cast to run")
        self.assertEqual([x[1] for x in read_record(rec)], ["4242"])

    def test_unreachable_broker_is_reported_quickly(self):
        self.rabbit.stop()
        try:
            t0 = time.monotonic()
            r = subprocess.run([MQTOOL, "call", "--url", self.url, "--queue", "q", "--method",
                                "echo"], capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 3)
            self.assertIn("cannot reach broker at 127.0.0.1:%d: Connection refused"
                          % self.rabbit.port, r.stderr)
            self.assertLess(time.monotonic() - t0, 2.0)
        finally:
            start_again(self.rabbit)

    def test_heartbeats_detect_a_frozen_broker(self):
        # A stopped (SIGSTOP) broker keeps its TCP connections open but says
        # nothing: only missed heartbeats reveal it (half-open connection).
        rec = os.path.join(self.dir, "rec")
        url = self.url + "?heartbeat=2"
        d = iottest.Daemon("mqtool", ["serve", "--url", url, "--queue", "hbq", "--record", rec])
        d.start()
        self.addCleanup(d.stop)
        iottest.wait_until(lambda: '"ready":true' in d.log_text(), timeout=15, what="ready")
        self.assertIn("heartbeat 2 s", d.log_text())
        os.killpg(self.rabbit.proc.pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            iottest.wait_until(lambda: "lost: heartbeat timeout" in d.log_text(), timeout=20,
                               what="the missed heartbeats to be noticed")
            self.assertLess(time.monotonic() - t0, 10)
        finally:
            os.killpg(self.rabbit.proc.pid, signal.SIGCONT)
        iottest.wait_until(lambda: d.log_text().count("amqp: connected to") >= 2, timeout=30,
                           what="the reconnection")
        r = subprocess.run([MQTOOL, "call", "--url", self.url, "--queue", "hbq", "--method",
                            "count", "--args", '{"n": 5}', "--timeout", "10000"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([x[1] for x in read_record(rec)], ["5"])

    def test_call_while_down_fails_unsent_after_connect_wait(self):
        rec = os.path.join(self.dir, "rec")
        self.serve("wq", rec)
        caller = subprocess.Popen([MQTOOL, "call", "--url", self.url, "--queue", "wq",
                                   "--method", "count", "--seq", "--count", "400",
                                   "--interval", "25", "--timeout", "20000",
                                   "--connect-wait", "700"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        iottest.wait_until(lambda: len(read_record(rec)) >= 20, timeout=30, what="some calls")
        self.rabbit.stop()
        time.sleep(2.5)
        start_again(self.rabbit)
        out, err = caller.communicate(timeout=120)
        answers = [x for x in json_lines(out) if "n" in x]
        self.assertEqual(sorted(x["n"] for x in answers), list(range(1, 401)))
        failed = [x for x in answers if not x["ok"]]
        # Calls made while the broker was down were never published: ENOTCONN
        # after connect-wait, marked unsent (an API answers 503). A call in
        # flight at the stop is either answered after the reconnect or, with
        # its outcome unknown, ETIMEDOUT; never both, never lost.
        self.assertTrue(failed, "some calls should have met the outage")
        for x in failed:
            self.assertIn(x["error"], ("ENOTCONN", "ETIMEDOUT"), x)
            self.assertEqual(x["unsent"], x["error"] == "ENOTCONN")
        unsent = {x["n"] for x in failed if x["error"] == "ENOTCONN"}
        executed = {int(r[1]) for r in read_record(rec)}
        self.assertFalse(unsent & executed, "a call reported unsent was executed")


if __name__ == "__main__":
    iottest.main()
