#!/usr/bin/python3
"""iotronic-wagent with the real API, conductor, PostgreSQL and RabbitMQ
(board-protocol.md 2-8, 13): a scripted client that speaks exactly as the
original Lightning-Rod registers, binds, shows online in GET /v1/boards,
answers a REST DevicePing, reports a RUNNING operation with notify_result,
and goes offline when it leaves; the handshake, WELCOME, WAMP-CRA and the
callees; the calling convention and its outcomes."""

import json
import os
import sys
import threading
import time
import unittest
import uuid as uuidlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402
import wampclient as wc  # noqa: E402
from test_wagent_support import P1, WagStack, wait_status  # noqa: E402


def ping(args):
    return "SUCCESS", "bench-07 @ 2026-11-23 18:02:11.204518"


class WalkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = WagStack()
        cls.w = cls.st.start_wagent("wagent-1")

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    def board(self, uuid, handlers=None, **kw):
        b = wc.Board(self.w.port, uuid, handlers or {"DevicePing": ping}, **kw)
        b.start()
        self.assertTrue(b.ready.wait(15))
        self.assertIsNone(b.error, b.error)
        self.addCleanup(b.stop)
        return b

    def test_original_agent_walk(self):
        uuid, code = self.st.create_board("walk-1")
        self.assertEqual(self.st.board(uuid)["status"], "registered")
        # Registration, as the original agent does it (13.1).
        c = self.w.wamp()
        welcome = c.hello()
        self.assertEqual(welcome[0], wc.WELCOME)
        self.assertEqual(c.headers.get("sec-websocket-protocol"), "wamp.2.json")
        r = c.call("stack4things.register", [], {"code": code, "session": c.session})
        self.assertEqual(r[0], wc.RESULT)
        self.assertIsInstance(r[3][0], str)
        self.assertTrue(r[3][0].startswith('{"result": "SUCCESS", "message": '), r[3][0][:60])
        wm = json.loads(r[3][0])
        doc = wm["message"]["iotronic"]
        board = doc["board"]
        for key in ("uuid", "code", "name", "status", "type", "mobile", "extra", "agent",
                    "created_at", "updated_at", "location"):
            self.assertIn(key, board)
        self.assertEqual((board["uuid"], board["code"], board["status"], board["agent"]),
                         (uuid, code, "registered", "wagent-1"))
        self.assertEqual(doc["wamp"]["main-agent"],
                         {"url": "ws://127.0.0.1:%d/" % self.w.port, "realm": "s4t"})
        self.assertEqual(len(board["auth"]["secret"]), 43)
        c.send([wc.GOODBYE, {}, "wamp.close.close_realm"])
        self.assertEqual(c.expect(wc.GOODBYE)[2], "wamp.close.goodbye_and_out")
        c.close()
        # The stored config has no secret.
        cfg = self.st.board(uuid)["config"]
        self.assertNotIn("secret", json.dumps(cfg))
        self.assertEqual(self.st.status(uuid), "offline")
        # Connection and procedures (13.2).
        b = self.board(uuid, {"DevicePing": ping, "DevicePkgOperation":
                              lambda a: ("RUNNING", "Package operation started")})
        self.assertEqual(b.c.result_wampmsg(b.connection_reply),
                         {"message": "", "result": "SUCCESS"})
        wait_status(self.st, uuid, "online")
        s, _, j, _ = self.st.http("GET", "/v1/boards", headers=P1)
        mine = [x for x in j["boards"] if x["uuid"] == uuid][0]
        self.assertEqual((mine["status"], mine["agent"], mine["session"], mine["lr_version"]),
                         ("online", "wagent-1", str(b.c.session), "0.5.0"))
        # A REST action answered by the board (13.3).
        s, h, j, raw = self.st.action(uuid, "DevicePing")
        self.assertEqual(s, 200, raw)
        self.assertEqual(j, "bench-07 @ 2026-11-23 18:02:11.204518")
        method, args = b.calls.get(timeout=5)
        self.assertEqual(method, "DevicePing")
        self.assertEqual(args[0]["uuid"], h["x-iotronic-request-uuid"])
        self.assertEqual(args[0]["action"], "DevicePing")
        self.assertEqual(args[1], {})
        # RUNNING, then notify_result.
        s, h, j, raw = self.st.action(uuid, "DevicePkgOperation",
                                      {"manager": "apt-get", "command": "install", "package": "jq"})
        self.assertEqual((s, j), (200, "Package operation started"), raw)
        req = h["x-iotronic-request-uuid"]
        self.assertEqual(self.st.sql("SELECT status FROM requests WHERE uuid = :'p1'", req),
                         [["PENDING"]])
        b.calls.get(timeout=5)
        r = b.c.call("wagent-1.stack4things.notify_result", [],
                     {"board_uuid": uuid,
                      "wampmessage": wc.wampmsg("exit 0: done", "SUCCESS", req)})
        self.assertEqual(b.c.result_wampmsg(r),
                         {"message": "notification_received", "result": "SUCCESS"})
        self.assertEqual(self.st.sql("SELECT r.status, s.result, s.message FROM requests r JOIN "
                                     "results s ON s.request_uuid = r.uuid WHERE r.uuid = :'p1'",
                                     req), [["COMPLETED", "SUCCESS", "exit 0: done"]])
        # Disconnection, then offline.
        b.stop()
        wait_status(self.st, uuid, "offline", timeout=10)
        self.assertIsNone(self.st.board(uuid)["session"])


if __name__ == "__main__":
    iottest.main()
