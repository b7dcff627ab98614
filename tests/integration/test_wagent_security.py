#!/usr/bin/python3
"""What a board may not do (board-protocol.md 3.5, 4, 5.1), each refused with
wamp.error.not_authorized, an ERROR WampMessage or an ABORT, and shown to
change nothing; and malformed input closing only the session that sent it
while the router keeps serving every other board."""

import json
import os
import socket
import sys
import threading
import time
import unittest
import uuid as uuidlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402
import wampclient as wc  # noqa: E402
from test_wagent_support import WagStack, wait_status  # noqa: E402


def ping(args):
    return "SUCCESS", "pong"


class SecurityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = WagStack()
        cls.w = cls.st.start_wagent("wagent-1", wagent={"max_message_size": 65536})

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    def bound(self, name, handlers=None, secret=False, w=None):
        """A registered board served by a Board thread: (uuid, Board, secret)."""
        w = w or self.w
        uuid, sec, _ = self.st.new_registered(w, name)
        b = wc.Board(w.port, uuid, handlers or {"DevicePing": ping},
                     secret=sec if secret else None, agent=w.host)
        b.start()
        self.assertTrue(b.ready.wait(15))
        self.assertIsNone(b.error, b.error)
        self.addCleanup(b.stop)
        return uuid, b, sec

    def assert_pinged_by(self, uuid, b):
        s, _, j, raw = self.st.action(uuid)
        self.assertEqual((s, j), (200, "pong"), raw)
        self.assertEqual(b.calls.get(timeout=5)[0], "DevicePing")

    def refused(self, r, kind=wc.CALL):
        self.assertEqual(r[0], wc.ERROR, r)
        self.assertEqual((r[1], r[4]), (kind, "wamp.error.not_authorized"), r)

    # ------------------------------------------------------------ namespaces

    def test_no_registering_in_another_boards_namespace(self):
        ua, a, _ = self.bound("ns-a")
        ub, b, _ = self.bound("ns-b")
        for uri in ("iotronic.%d.%s.DevicePing" % (a.c.session, ub),
                    "iotronic.%d.%s.DevicePing" % (b.c.session, ub),
                    "iotronic.%d.%s.DeviceX" % (b.c.session, ua),
                    "iotronic.%d.%s.DeviceX" % (a.c.session + 1, ua),
                    "stack4things.register", "wagent-1.stack4things.connection",
                    "iotronic.board.%s.x" % ua):
            self.refused(a.send_request([wc.REGISTER, {}, uri]), wc.REGISTER)
        # Nothing changed: each board still serves its own calls.
        self.assert_pinged_by(ub, b)
        self.assertTrue(a.calls.empty())
        self.assert_pinged_by(ua, a)

    def test_no_calling_another_board(self):
        ua, a, _ = self.bound("call-a")
        ub, b, _ = self.bound("call-b")
        for uri in ("iotronic.%d.%s.DevicePing" % (b.c.session, ub),
                    "iotronic.%d.%s.DevicePing" % (a.c.session, ua)):
            self.refused(a.call(uri, [{}]))
        time.sleep(0.3)
        self.assertTrue(b.calls.empty())
        self.assertTrue(a.calls.empty())

    def test_a_board_acts_only_as_itself(self):
        ua, a, _ = self.bound("self-a")
        ub, _ = self.st.create_board("self-b")
        self.refused(a.call("wagent-1.stack4things.wamp_alive", [ub, "self-b"]))
        self.refused(a.call("wagent-1.stack4things.notify_result", [],
                            {"board_uuid": ub, "wampmessage": wc.wampmsg(
                                "x", "SUCCESS", str(uuidlib.uuid4()))}))
        self.refused(a.call("stack4things.function_result", [],
                            {"board_uuid": ub, "execution_id": "e"}))
        r = a.call("wagent-1.stack4things.connection", [],
                   {"uuid": ub, "session": a.c.session, "info": {}})
        self.assertEqual(json.loads(r[3][0]), {"message": "Board %s is not registered." % ub,
                                               "result": "ERROR"})
        uc, sec, _ = self.st.new_registered(self.w, "self-c")
        r = a.call("wagent-1.stack4things.connection", [],
                   {"uuid": uc, "session": a.c.session, "info": {}})
        self.assertEqual(json.loads(r[3][0]), {"message": "Session already bound to another "
                                               "board.", "result": "ERROR"})
        self.assertEqual(self.st.status(uc), "offline")
        self.assertEqual(self.st.sql("SELECT count(*) FROM sessions WHERE board_uuid = :'p1'",
                                     uc), [["0"]])
        # A request of another board is not this board's to complete.
        r = a.call("wagent-1.stack4things.notify_result", [],
                   {"board_uuid": ua, "wampmessage": wc.wampmsg("x", "SUCCESS",
                                                                str(uuidlib.uuid4()))})
        self.assertEqual(json.loads(r[3][0])["result"], "ERROR")
        self.assertIn("is not for this board.", json.loads(r[3][0])["message"])

    def test_cra_session_binds_only_its_own_board(self):
        ua, sa, _ = self.st.new_registered(self.w, "own-a")
        ub, _, _ = self.st.new_registered(self.w, "own-b")
        c = self.w.wamp()
        self.assertEqual(c.hello(authmethods=["wampcra"], authid=ua, secret=sa)[0], wc.WELCOME)
        r = c.call("wagent-1.stack4things.connection", [],
                   {"uuid": ub, "session": c.session, "info": {"lr_version": "lrc-0.1.0"}})
        self.assertEqual(c.result_wampmsg(r)["message"],
                         "Board %s requires authentication." % ub)
        self.assertEqual(self.st.status(ub), "offline")
        # The session id given must be the caller's own.
        r = c.call("wagent-1.stack4things.connection", [],
                   {"uuid": ua, "session": c.session + 1, "info": {}})
        self.assertEqual(c.result_wampmsg(r)["message"], "Invalid connection request.")
        c.close()

    # ------------------------------------------------------------ unbound sessions

    def test_unbound_session_may_only_register_or_connect(self):
        ua, _, _ = self.st.new_registered(self.w, "unbound-a")
        c = self.w.wamp()
        c.hello()
        for proc, kwargs in (("wagent-1.stack4things.wamp_alive", {"board_uuid": ua}),
                             ("wagent-1.stack4things.notify_result", {"board_uuid": ua}),
                             ("stack4things.function_result", {"board_uuid": ua}),
                             ("stack4things.event", {"board_uuid": ua})):
            self.refused(c.call(proc, [], kwargs))
        for msg, kind in (([wc.REGISTER, 90, {}, "iotronic.%d.%s.DevicePing" % (c.session, ua)],
                           wc.REGISTER),
                          ([wc.SUBSCRIBE, 91, {}, "iotronic.board.%s.t" % ua], wc.SUBSCRIBE),
                          ([wc.PUBLISH, 92, {"acknowledge": True}, "iotronic.board.%s.t" % ua,
                            [1]], wc.PUBLISH),
                          ([wc.UNREGISTER, 93, 1], wc.UNREGISTER),
                          ([wc.UNSUBSCRIBE, 94, 1], wc.UNSUBSCRIBE)):
            c.send(msg)
            self.refused(c.wait_reply(kind, msg[1]), kind)
        # What it may do.
        self.assertEqual(c.call("wagent-1.stack4things.echo", ["x"])[3], ["x"])
        self.assertEqual(c.call("wagent-1.stack4things.alive")[0], wc.RESULT)
        # Nothing changed for the board.
        self.assertEqual(self.st.status(ua), "offline")
        self.assertEqual(self.st.invoke("wagent-1", ua, "DevicePing"),
                         {"outcome": "not_connected"})
        c.close()

    # ------------------------------------------------------------ codes and proofs

    def test_reused_code_is_refused_and_changes_nothing(self):
        uuid, code = self.st.create_board("reuse-1")
        self.assertEqual(self.st.register(self.w, code)["result"], "SUCCESS")
        before = self.st.sql("SELECT secret, registered_at, registered_code FROM "
                             "board_credentials WHERE board_uuid = :'p1'", uuid)
        wm = self.st.register(self.w, code)
        self.assertEqual(wm, {"message": "Invalid or already used registration code.",
                              "result": "ERROR"})
        wm = self.st.register(self.w, "NO-SUCH-CODE")
        self.assertEqual(wm, {"message": "Invalid or already used registration code.",
                              "result": "ERROR"})
        self.assertEqual(self.st.sql("SELECT secret, registered_at, registered_code FROM "
                                     "board_credentials WHERE board_uuid = :'p1'", uuid), before)
        # A new code re-provisions once, rotating the secret.
        s, _, _, raw = self.st.http("PATCH", "/v1/boards/%s" % uuid, {"code": "NEW-" + code},
                                    headers={"X-User-Id": "u1", "X-Project-Id": "p1",
                                             "X-Roles": "admin_iot_project"})
        self.assertEqual(s, 200, raw)
        wm = self.st.register(self.w, "NEW-" + code)
        self.assertEqual(wm["result"], "SUCCESS")
        self.assertNotEqual(wm["message"]["iotronic"]["board"]["auth"]["secret"], before[0][0])

    def test_registration_attempts_are_limited(self):
        c = self.w.wamp()
        c.hello()
        for i in range(5):
            r = c.call("stack4things.register", [], {"code": "BAD-%d" % i, "session": c.session})
            self.assertEqual(c.result_wampmsg(r)["result"], "ERROR")
        c.send([wc.CALL, 99, {}, "stack4things.register", [], {"code": "X", "session": 1}])
        m = c.expect(wc.ABORT)
        self.assertEqual(m[1:], [{"message": "Too many failed registration attempts."},
                                 "wamp.error.not_authorized"])
        c.close()
        c = self.w.wamp()
        c.hello()
        r = c.call("stack4things.register", [], {"code": "", "session": c.session})
        self.assertEqual(c.result_wampmsg(r)["message"], "Invalid registration request.")
        r = c.call("stack4things.register", [], {"code": "X", "session": c.session + 1})
        self.assertEqual(c.result_wampmsg(r)["message"], "Invalid registration request.")
        c.close()

    def test_wrong_cra_signature_is_refused(self):
        w = self.st.start_wagent("wagent-cra1")
        uuid, secret, _ = self.st.new_registered(w, "sig-1")
        for authid in (uuid, str(uuidlib.uuid4()), "not-a-board"):
            c = w.wamp()
            m = c.hello(authmethods=["wampcra"], authid=authid)
            # Unknown authids are challenged too: nothing tells which boards exist.
            self.assertEqual(m[:2], [wc.CHALLENGE, "wampcra"], m)
            c.send([wc.AUTHENTICATE, wc.cra_sign("A" * 43, m[2]["challenge"]), {}])
            self.assertEqual(c.recv(), [wc.ABORT, {"message": "Authentication failed."},
                                        "wamp.error.authentication_failed"])
            c.close()
        self.assertEqual(self.st.status(uuid), "offline")
        self.assertEqual(self.st.sql("SELECT count(*) FROM sessions WHERE board_uuid = :'p1'",
                                     uuid), [["0"]])
        # The right one still works.
        c = w.wamp()
        self.assertEqual(c.hello(authmethods=["wampcra"], authid=uuid, secret=secret)[0],
                         wc.WELCOME)
        c.close()

    def test_five_failures_block_the_address_for_a_minute(self):
        w = self.st.start_wagent("wagent-cra2")
        uuid, secret, _ = self.st.new_registered(w, "block-1")
        for _ in range(5):
            c = w.wamp()
            m = c.hello(authmethods=["wampcra"], authid=uuid)
            c.send([wc.AUTHENTICATE, "AAAA", {}])
            self.assertEqual(c.recv()[2], "wamp.error.authentication_failed")
            c.close()
        for kw in ({"authmethods": ["wampcra"], "authid": uuid, "secret": secret}, {}):
            c = w.wamp()
            m = c.hello(**kw)
            self.assertEqual(m[0], wc.ABORT)
            self.assertEqual(m[2], "wamp.error.not_authorized")
            c.close()

    def test_late_authenticate_fails(self):
        w = self.st.start_wagent("wagent-cra3")
        uuid, secret, _ = self.st.new_registered(w, "late-1")
        c = w.wamp()
        m = c.hello(authmethods=["wampcra"], authid=uuid)
        t0 = time.monotonic()
        m = c.recv(timeout=15)
        self.assertEqual(m, [wc.ABORT, {"message": "Authentication failed."},
                             "wamp.error.authentication_failed"])
        self.assertGreater(time.monotonic() - t0, 9)

    # ------------------------------------------------------------ bad input

    def bad_inputs(self, uuid):
        """(name, how to send it, expected close code). Each fn gets a fresh
        socket that has completed HELLO unless its name says otherwise."""
        big = json.dumps([wc.CALL, 1, {}, "wagent-1.stack4things.echo", ["x" * 70000]])
        return [
            ("not json", lambda ws: ws.send_text("not json"), 1002),
            ("an object", lambda ws: ws.send_text('{"a": 1}'), 1002),
            ("unknown code", lambda ws: ws.send_text("[999, 1]"), 1002),
            ("wrong types", lambda ws: ws.send_text('[48, "x", {}, "p"]'), 1002),
            ("binary frame", lambda ws: ws.send_frame(0x2, b"[6,{},\"x\"]"), 1002),
            ("invalid UTF-8", lambda ws: ws.send_frame(0x1, b'["\xff\xfe"]'), 1002),
            ("CANCEL", lambda ws: ws.send_text("[49, 1, {}]"), 1002),
            ("INTERRUPT", lambda ws: ws.send_text("[69, 1, {}]"), 1002),
            ("second HELLO", lambda ws: ws.send_text('[1, "s4t", {}]'), 1002),
            ("YIELD never asked", lambda ws: ws.send_text('[70, 77, {}, ["x"]]'), 1002),
            ("ERROR for a CALL", lambda ws: ws.send_text('[8, 48, 1, {}, "x.y"]'), 1002),
            ("router message", lambda ws: ws.send_text('[50, 1, {}]'), 1002),
            ("unmasked frame", lambda ws: ws.send_frame(0x1, "[6,{},\"x\"]", mask=False), 1002),
            ("reserved bits", lambda ws: ws.send_frame(0x1, "[6,{},\"x\"]", rsv=4), 1002),
            ("continuation first", lambda ws: ws.send_frame(0x0, "[6"), 1002),
            ("oversized", lambda ws: ws.send_text(big), 1009),
            ("oversized in fragments",
             lambda ws: [ws.send_frame(0x1 if i == 0 else 0x0, "x" * 30000, fin=False)
                         for i in range(3)], 1009),
            ("before HELLO: CALL", lambda ws: ws.send_text('[48, 1, {}, "a.b"]'), 1002),
        ]

    def test_malformed_input_closes_only_that_session(self):
        uuid, b, _ = self.bound("victim-1")
        before = self.w.metric("wagent_protocol_violations_total")
        for name, send, code in self.bad_inputs(uuid):
            ws = wc.WebSocket("127.0.0.1", self.w.port)
            self.assertEqual(ws.status, 101)
            if not name.startswith("before HELLO"):
                ws.send_text(json.dumps([wc.HELLO, "s4t", {"roles": wc.AUTOBAHN_ROLES}]))
                self.assertEqual(json.loads(ws.recv_text())[0], wc.WELCOME)
            send(ws)
            if code == 1002:
                m = json.loads(ws.recv_text())
                self.assertEqual(m[0], wc.ABORT, name)
                self.assertEqual(m[2], "wamp.error.protocol_violation", name)
                self.assertTrue(m[1]["message"], name)
            got = ws.wait_closed(5)
            self.assertEqual(got, code, "%s: closed with %s" % (name, got))
            ws.close()
            # Every other board is still served.
            self.assert_pinged_by(uuid, b)
        iottest.wait_until(lambda: self.w.metric("wagent_protocol_violations_total")
                           >= before + 16, what="violations counted")

    def test_duplicate_pending_request_id_is_a_violation(self):
        ua, _, _ = self.st.new_registered(self.w, "dup-1")
        c = self.w.wamp()
        c.hello()
        conn = [wc.CALL, 5, {}, "wagent-1.stack4things.connection", [],
                {"uuid": ua, "session": c.session, "info": {}}]
        c.send_texts([json.dumps(conn), json.dumps(conn)])
        m = c.expect(wc.ABORT)
        self.assertEqual(m[2], "wamp.error.protocol_violation")
        self.assertIn("still pending", m[1]["message"])
        c.close()

    def test_a_storm_of_bad_sessions_does_not_disturb_the_others(self):
        # A wagent of its own: the storm would use up the handshake rate of
        # the shared one, which is the point of that limit.
        w = self.st.start_wagent("wagent-storm", wagent={"max_handshakes_per_second": 100000})
        uuid, b, _ = self.bound("calm-1", w=w)
        stop = threading.Event()
        sent = [0]

        def storm():
            payloads = [b"not json", b"[999]", b'{"x":1}', b'[48,"a"]', b"\xff\xfe"]
            while not stop.is_set():
                try:
                    ws = wc.WebSocket("127.0.0.1", w.port, timeout=5)
                    for p in payloads:
                        ws.send_frame(0x1, p)
                        sent[0] += 1
                    ws.close()
                except (OSError, wc.Closed):
                    pass
        threads = [threading.Thread(target=storm, daemon=True) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            t0 = time.monotonic()
            for _ in range(40):
                self.assert_pinged_by(uuid, b)
            elapsed = time.monotonic() - t0
        finally:
            stop.set()
            for t in threads:
                t.join(10)
        self.assertGreater(sent[0], 100)
        self.assertLess(elapsed, 30)
        self.assertEqual(self.st.status(uuid), "online")
        self.assertGreater(w.metric("wagent_protocol_violations_total"), 20)


if __name__ == "__main__":
    iottest.main()
