#!/usr/bin/python3
"""iotronic-wagent with the real API, conductor, PostgreSQL and RabbitMQ
(board-protocol.md 2-8, 13): a scripted client that speaks exactly as the
original Lightning-Rod registers, binds, shows online in GET /v1/boards,
answers a REST DevicePing, reports a RUNNING operation with notify_result,
and goes offline when it leaves; the handshake, WELCOME, WAMP-CRA and the
callees; the calling convention and its outcomes."""

import json
import os
import subprocess
import sys
import threading
import time
import unittest
import uuid as uuidlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402
import wampclient as wc  # noqa: E402
from test_wagent_support import Listener, P1, WagStack, wait_status  # noqa: E402


def ping(args):
    return "SUCCESS", "bench-07 @ 2026-11-23 18:02:11.204518"


# An agent on Debian's autobahn (the library under the original Lightning-Rod),
# an independent WAMP peer: registers with its code, binds, registers
# DevicePing and answers it as the original agent does.
AUTOBAHN_AGENT = r"""
import asyncio, json, sys
import txaio
txaio.use_asyncio()
from autobahn.asyncio.wamp import ApplicationSession, ApplicationRunner

url, code, uuid = sys.argv[1:4]

class Register(ApplicationSession):
    async def onJoin(self, details):
        res = json.loads(await self.call("stack4things.register", code=code,
                                         session=details.session))
        print("registered", res["result"], flush=True)
        await self.leave()

    def onDisconnect(self):
        asyncio.get_event_loop().stop()

class Agent(ApplicationSession):
    async def onJoin(self, details):
        res = json.loads(await self.call("wagent-1.stack4things.connection", uuid=uuid,
                                         session=details.session,
                                         info={"lr_version": "0.5.0",
                                               "connectivity": {"iface": "eth0"}}))
        print("connection", res["result"], flush=True)

        def ping(req, *args):
            return json.dumps({"message": "autobahn pong", "result": "SUCCESS",
                               "req_id": req["uuid"]})
        await self.register(ping, "iotronic.%d.%s.DevicePing" % (details.session, uuid))
        print("ready", details.session, flush=True)

ApplicationRunner(url, "s4t").run(Register)
asyncio.set_event_loop(asyncio.new_event_loop())
ApplicationRunner(url, "s4t").run(Agent)
"""


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
        self.assertEqual((board["uuid"], board["code"], board["status"]),
                         (uuid, code, "registered"))
        # The main agent is the least loaded online wagent (other tests start more).
        wsurl = self.st.sql("SELECT wsurl FROM wampagents WHERE hostname = :'p1' AND online",
                            board["agent"])
        self.assertEqual(doc["wamp"]["main-agent"], {"url": wsurl[0][0], "realm": "s4t"})
        self.assertEqual(doc["wamp"]["registration-agent"],
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
        r = b.call("wagent-1.stack4things.notify_result", [],
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


    def test_an_autobahn_agent_registers_binds_and_answers(self):
        uuid, code = self.st.create_board("autobahn-1")
        p = subprocess.Popen(["/usr/bin/python3", "-c", AUTOBAHN_AGENT,
                              "ws://127.0.0.1:%d/" % self.w.port, code, uuid],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True)
        self.addCleanup(iottest.kill_group, p, 5)
        lines = []
        while not lines or not lines[-1].startswith("ready"):
            line = p.stdout.readline()
            self.assertTrue(line, "autobahn agent ended: %s" % "".join(lines))
            lines.append(line)
        self.assertIn("registered SUCCESS\n", lines)
        self.assertIn("connection SUCCESS\n", lines)
        s, h, j, raw = self.st.action(uuid, "DevicePing")
        self.assertEqual((s, j), (200, "autobahn pong"), raw)
        self.assertEqual(self.st.sql("SELECT result, message FROM results WHERE request_uuid = "
                                     ":'p1'", h["x-iotronic-request-uuid"]),
                         [["SUCCESS", "autobahn pong"]])
        iottest.kill_group(p, 5)
        wait_status(self.st, uuid, "offline")

    def test_tls_listeners(self):
        d = iottest.tmpdir("tls-")
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1"],
                       check=True, capture_output=True)
        w = self.st.start_wagent("wagent-tls", wagent={"cert_file": cert, "key_file": key},
                                 wamp={"register_agent": False})
        c = wc.Wamp("127.0.0.1", w.port, tls=True)
        self.assertEqual(c.hello()[0], wc.WELCOME)
        c.close()
        ws = wc.WebSocket("127.0.0.1", w.tport, tls=True, protocols="tunnel-protocol",
                          path="/?dst=127.0.0.1:1&uuid=%s" % uuidlib.uuid4())
        self.assertEqual(ws.status, 401)
        ws.close()
        # Plain WebSocket on the TLS port gets nothing.
        try:
            ws = wc.WebSocket("127.0.0.1", w.port, timeout=3)
            self.assertNotEqual(ws.status, 101)
        except OSError:
            pass
        self.assertEqual(self.st.sql("SELECT wstun_url FROM wampagents WHERE hostname = "
                                     "'wagent-tls'"), [["wss://127.0.0.1:%d/" % w.tport]])

    # ------------------------------------------------------------ the handshake

    def test_autobahn_offer_is_answered_json(self):
        ws = wc.WebSocket("127.0.0.1", self.w.port, protocols="wamp.2.cbor,wamp.2.json")
        self.assertEqual(ws.status, 101)
        self.assertEqual(ws.headers["sec-websocket-protocol"], "wamp.2.json")
        ws.send_text(json.dumps([wc.HELLO, "s4t", {"roles": wc.AUTOBAHN_ROLES}]))
        self.assertEqual(json.loads(ws.recv_text())[0], wc.WELCOME)
        ws.close()

    def test_upgrade_without_json_is_400_and_makes_no_session(self):
        refused = 'wagent_handshakes_total{outcome="refused_400"}'
        before = self.w.metric(refused)
        sessions = self.w.metric('wagent_sessions{state="hello"}')
        for offer in ("wamp.2.cbor", "wamp.2.msgpack,wamp.2.cbor", None):
            ws = wc.WebSocket("127.0.0.1", self.w.port, protocols=offer)
            self.assertEqual(ws.status, 400, offer)
            self.assertIn(b"wamp.2.json", ws.body)
            self.assertEqual(ws.headers.get("connection"), "close")
            # Nothing speaks WAMP on it: the server hangs up.
            self.assertEqual(ws.sock.recv(10), b"")
            ws.close()
        iottest.wait_until(lambda: self.w.metric(refused) == before + 3,
                           what="the refusals counted")
        self.assertEqual(self.w.metric('wagent_sessions{state="hello"}'), sessions)

    def test_plain_http_is_426(self):
        for req in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"POST /ws HTTP/1.1\r\nContent-Length: 0\r\n\r\n"):
            ws = wc.WebSocket("127.0.0.1", self.w.port, raw_request=req)
            self.assertEqual(ws.status, 426, req)
            self.assertEqual(ws.headers.get("upgrade"), "websocket")
            ws.close()

    def test_welcome_has_roles_and_auth_facts(self):
        c = self.w.wamp()
        m = c.hello()
        self.assertEqual(m[0], wc.WELCOME)
        self.assertTrue(1 <= m[1] <= 2 ** 53)
        d = m[2]
        self.assertEqual(d["roles"], {"dealer": {"features": {}}, "broker": {"features": {}}})
        self.assertEqual((d["realm"], d["authrole"], d["authmethod"], d["authprovider"]),
                         ("s4t", "anonymous", "anonymous", "iotronic"))
        self.assertTrue(d["authid"].startswith("anon-"))
        c.close()
        c = self.w.wamp()
        m = c.hello(realm="other")
        self.assertEqual(m[0], wc.ABORT)
        self.assertEqual(m[2], "wamp.error.no_such_realm")
        c.close()

    def test_cra_login_binds_with_the_contract_mechanics(self):
        uuid, secret, doc = self.st.new_registered(self.w, "cra-1")
        c = self.w.wamp()
        c.send([wc.HELLO, "s4t", {"roles": wc.AUTOBAHN_ROLES, "authmethods": ["wampcra"],
                                  "authid": uuid}])
        ch = c.recv()
        self.assertEqual(ch[:2], [wc.CHALLENGE, "wampcra"])
        text = ch[2]["challenge"]
        chal = json.loads(text)
        self.assertEqual(list(chal), ["authid", "authrole", "authmethod", "authprovider",
                                      "nonce", "timestamp", "session"])
        self.assertEqual((chal["authid"], chal["authrole"], chal["authmethod"],
                          chal["authprovider"]), (uuid, "board", "wampcra", "iotronic"))
        self.assertGreaterEqual(len(chal["nonce"]), 22)
        self.assertRegex(chal["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertNotIn(" ", text)  # compact JSON: the signed bytes are exactly these
        c.send([wc.AUTHENTICATE, wc.cra_sign(secret, text), {}])
        m = c.recv()
        self.assertEqual(m[0], wc.WELCOME)
        self.assertEqual(m[1], chal["session"])
        self.assertEqual((m[2]["authid"], m[2]["authrole"], m[2]["authmethod"]),
                         (uuid, "board", "wampcra"))
        r = c.call("wagent-1.stack4things.connection", [],
                   {"uuid": uuid, "session": m[1], "info": {"lr_version": "lrc-0.1.0",
                                                            "connectivity": {"iface": "eth0"}}})
        wm = c.result_wampmsg(r)
        self.assertEqual(wm["result"], "SUCCESS")
        self.assertEqual(wm["message"], {"agent": "wagent-1",
                                         "wstun_url": "ws://127.0.0.1:%d/" % self.w.tport,
                                         "ping_interval": 2, "alive_interval": 60,
                                         "max_message_size": 16777216})
        self.assertEqual(self.st.sql("SELECT auth_required FROM board_credentials WHERE "
                                     "board_uuid = :'p1'", uuid), [["t"]])
        self.assertEqual(self.st.sql("SELECT authmethod, peer LIKE '%:%' FROM sessions WHERE "
                                     "board_uuid = :'p1' AND valid", uuid), [["wampcra", "t"]])
        b = self.st.board(uuid)
        self.assertEqual((b["status"], b["lr_version"], b["connectivity"]),
                         ("online", "lrc-0.1.0", {"iface": "eth0"}))
        c.close()
        wait_status(self.st, uuid, "offline")
        # Authenticated once: an anonymous session may not bind it any more.
        c = self.w.wamp()
        c.hello()
        r = c.call("wagent-1.stack4things.connection", [],
                   {"uuid": uuid, "session": c.session, "info": {"lr_version": "0.5.0"}})
        self.assertEqual(c.result_wampmsg(r), {"message": "Board %s requires authentication."
                                               % uuid, "result": "ERROR"})
        c.close()
        self.assertEqual(self.st.status(uuid), "offline")

    def test_positional_arguments_and_no_prefix(self):
        uuid, code = self.st.create_board("pos-1")
        c = self.w.wamp()
        c.hello()
        r = c.call("stack4things.register", [code, c.session])
        self.assertEqual(c.result_wampmsg(r)["result"], "SUCCESS")
        c.close()
        c = self.w.wamp()
        c.hello()
        r = c.call("stack4things.connection", [uuid, c.session, {"lr_version": "0.5.0",
                                                                  "mac_addr": "aa:bb"}])
        self.assertEqual(c.result_wampmsg(r), {"message": "", "result": "SUCCESS"})
        self.assertEqual(self.st.board(uuid)["connectivity"], {"mac_addr": "aa:bb"})
        # A board callee whatever agent name the prefix holds (7.5).
        r = c.call("some-other-agent.stack4things.wamp_alive", [uuid, "pos-1"])
        self.assertEqual(r[0], wc.RESULT)
        self.assertTrue(r[3][0].startswith("Iotronic alive @ "), r)
        c.close()

    def test_newest_connection_wins(self):
        uuid, code = self.st.create_board("newest-1")
        self.assertEqual(self.st.register(self.w, code)["result"], "SUCCESS")
        a = self.board(uuid)
        b = self.board(uuid)
        iottest.wait_until(lambda: a.done.is_set(), what="the first session closed")
        self.assertEqual(a.closed_with[:3], [wc.GOODBYE, {}, "wamp.close.session_replaced"])
        self.assertEqual(self.st.sql("SELECT session_id FROM sessions WHERE board_uuid = :'p1' "
                                     "AND valid", uuid), [[str(b.c.session)]])
        time.sleep(0.5)  # the replaced session's end must not take the board offline
        self.assertEqual(self.st.status(uuid), "online")
        s, _, j, _ = self.st.action(uuid)
        self.assertEqual(s, 200)
        self.assertEqual(b.calls.get(timeout=5)[0], "DevicePing")

    def test_echo_alive_and_wamp_alive(self):
        uuid, code = self.st.create_board("alive-1")
        self.st.register(self.w, code)
        b = self.board(uuid)
        r = b.call("wagent-1.stack4things.echo", [{"x": [1, 2.5, "é", None]}])
        self.assertEqual(r[3], [{"x": [1, 2.5, "é", None]}])
        r = b.call("wagent-1.stack4things.alive", [])
        self.assertRegex(r[3][0], r"^Iotronic alive @ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
        r = b.call("wagent-1.stack4things.wamp_alive", [], {"board_uuid": uuid,
                                                            "board_name": "alive-1"})
        self.assertTrue(r[3][0].startswith("Iotronic alive @ "))
        iottest.wait_until(lambda: self.st.sql("SELECT last_seen_at IS NOT NULL FROM sessions "
                                               "WHERE board_uuid = :'p1' AND valid", uuid)
                           == [["t"]], what="last_seen_at")
        for proc in ("wagent-1.stack4things.plug_and_play", "s4t.iotronic.x",
                     "wamp.session.list", "wagent-1.stack4things.destroyNode"):
            r = b.call(proc, [])
            self.assertEqual(r[:5], [wc.ERROR, wc.CALL, r[2], {}, "wamp.error.no_such_procedure"])
        r = b.call("bad..uri", [])
        self.assertEqual(r[4], "wamp.error.invalid_uri")

    # ------------------------------------------------------------ board calls

    def test_calling_convention_by_lr_version(self):
        for lr, with_req in (("0.4.8", False), ("0.5.0", True), ("lrc-0.1.0", True)):
            uuid, code = self.st.create_board("conv-%s" % lr.replace(".", ""))
            self.st.register(self.w, code)
            b = self.board(uuid, {"DeviceEcho": lambda a: ("SUCCESS", "ok")}, lr_version=lr)
            s, h, j, raw = self.st.action(uuid, "DeviceEcho", {"say": "hi"})
            self.assertEqual((s, j), (200, "ok"), raw)
            method, args = b.calls.get(timeout=5)
            if with_req:
                self.assertEqual(len(args), 2)
                self.assertEqual(args[0]["uuid"], h["x-iotronic-request-uuid"])
                self.assertEqual(sorted(args[0]), sorted(
                    ["uuid", "main_request_uuid", "destination_uuid", "pending_requests",
                     "status", "project", "type", "action", "created_at", "updated_at"]))
                self.assertEqual(args[1], {"say": "hi"})
            else:
                self.assertEqual(args, [{"say": "hi"}])
            # An engine call without a req gets a fresh one (or none, before 0.4.9).
            res = self.st.invoke("wagent-1", uuid, "DeviceEcho", [{"n": 1}])
            self.assertEqual(res["outcome"], "replied")
            method, args = b.calls.get(timeout=5)
            if with_req:
                self.assertEqual((args[0]["main_request_uuid"], args[0]["destination_uuid"],
                                  args[0]["action"]), (None, uuid, "DeviceEcho"))
                self.assertEqual(res["wampmessage"]["req_id"], args[0]["uuid"])
            else:
                self.assertEqual(args, [{"n": 1}])
            b.stop()

    def test_invoke_outcomes(self):
        uuid, code = self.st.create_board("out-1")
        self.st.register(self.w, code)
        never = threading.Event()
        b = self.board(uuid, {"DevicePing": ping, "Slow": lambda a: ("SUCCESS", "late"),
                              "Boom": lambda a: 1 / 0})
        self.addCleanup(never.set)
        res = self.st.invoke("wagent-1", uuid, "DevicePing")
        self.assertEqual(res["outcome"], "replied")
        self.assertEqual(res["wampmessage"]["result"], "SUCCESS")
        # The board's ERROR becomes an ERROR WampMessage.
        res = self.st.invoke("wagent-1", uuid, "Boom")
        self.assertEqual(res["wampmessage"],
                         {"message": "wamp.error.runtime_error: division by zero",
                          "result": "ERROR"})
        # Not connected here.
        self.assertEqual(self.st.invoke("wagent-1", str(uuidlib.uuid4()), "DevicePing"),
                         {"outcome": "not_connected"})
        # Timeout, then the late YIELD is dropped and the session keeps working.
        b.hold["Slow"] = never
        t0 = time.monotonic()
        self.assertEqual(self.st.invoke("wagent-1", uuid, "Slow", timeout_ms=400),
                         {"outcome": "timeout"})
        self.assertLess(time.monotonic() - t0, 3)
        never.set()
        time.sleep(0.2)
        self.assertEqual(self.st.invoke("wagent-1", uuid, "DevicePing")["outcome"], "replied")
        # A method the board does not provide, long after binding: at once.
        t0 = time.monotonic()
        res = self.st.invoke("wagent-1", uuid, "DeviceNope")
        self.assertLess(time.monotonic() - t0, 0.9)
        self.assertEqual(res["wampmessage"], {"message": "Method DeviceNope is not available "
                                              "on this board.", "result": "ERROR"})
        # Disconnected while a call is pending.
        b.hold["Slow"] = threading.Event()
        while not b.calls.empty():
            b.calls.get()
        out = {}
        t = threading.Thread(target=lambda: out.update(
            self.st_invoke_fresh(uuid, "Slow", 10000)))
        t.start()
        self.assertEqual(b.calls.get(timeout=10)[0], "Slow")
        b.stop()
        t.join(15)
        self.assertEqual(out, {"outcome": "disconnected"})

    def st_invoke_fresh(self, uuid, method, timeout_ms):
        """invoke on a connection of its own (the shared one is not thread-safe)."""
        from test_api_support import MQ
        mq = MQ(self.st.vhost)
        try:
            ok, res = mq.call("wagent.wagent-1", "invoke",
                              {"board_uuid": uuid, "method": method, "args": [], "req": None,
                               "timeout_ms": timeout_ms}, timeout=timeout_ms / 1000 + 10)
            return res
        finally:
            mq.close()

    def test_registration_grace(self):
        uuid, code = self.st.create_board("grace-1")
        self.st.register(self.w, code)
        b = wc.Board(self.w.port, uuid, {"DevicePing": ping}, register_delay=0.5)
        b.start()
        self.addCleanup(b.stop)
        iottest.wait_until(lambda: self.st.status(uuid) == "online", what="bound")
        # Bound, procedures not registered yet: the call waits for them.
        res = self.st.invoke("wagent-1", uuid, "DevicePing")
        self.assertEqual(res["outcome"], "replied")
        self.assertEqual(res["wampmessage"]["result"], "SUCCESS")
        # A method never registered answers at the end of the grace (1 s).
        b2 = wc.Board(self.w.port, uuid, {"DevicePing": ping}, register_delay=2.5)
        b2.start()
        self.addCleanup(b2.stop)
        iottest.wait_until(lambda: b.done.is_set(), what="the first session replaced")
        t0 = time.monotonic()
        res = self.st.invoke("wagent-1", uuid, "DeviceEcho")
        took = time.monotonic() - t0
        self.assertEqual(res["wampmessage"]["message"],
                         "Method DeviceEcho is not available on this board.")
        self.assertGreater(took, 0.3)
        self.assertLess(took, 2.5)

    def test_busy_past_max_pending(self):
        w2 = self.st.start_wagent("wagent-busy", wagent={"max_pending_calls_per_board": 2})
        uuid, code = self.st.create_board("busy-1")
        self.st.register(w2, code)
        hold = threading.Event()
        self.addCleanup(hold.set)
        b = wc.Board(w2.port, uuid, {"Slow": lambda a: ("SUCCESS", "x")}, agent="wagent-busy")
        b.hold["Slow"] = hold
        b.start()
        self.addCleanup(b.stop)
        self.assertTrue(b.ready.wait(10))
        from test_api_support import MQ
        mqs = [MQ(self.st.vhost) for _ in range(2)]
        corr = []
        for mq in mqs:  # two calls outstanding, without waiting for them
            import pika
            c = uuidlib.uuid4().hex
            mq.ch.basic_publish("", "wagent.wagent-busy", json.dumps(
                {"v": 1, "method": "invoke", "args": {"board_uuid": uuid, "method": "Slow",
                                                      "args": [], "req": None,
                                                      "timeout_ms": 20000},
                 "request_id": "r", "deadline_ms": 0}).encode(),
                pika.BasicProperties(reply_to="amq.rabbitmq.reply-to", correlation_id=c,
                                     message_id=c, type="invoke"))
            corr.append((mq, c))
        for _ in range(2):
            b.calls.get(timeout=10)
        ok, res = self.st.wagent_call("wagent-busy", "invoke",
                                      {"board_uuid": uuid, "method": "Slow", "args": [],
                                       "req": None, "timeout_ms": 5000})
        self.assertEqual(res, {"outcome": "busy"})
        hold.set()
        for mq, c in corr:
            deadline = time.monotonic() + 10
            while c not in mq.replies and time.monotonic() < deadline:
                mq.conn.process_data_events(time_limit=0.1)
            self.assertIn(b'"replied"', mq.replies.get(c, b""))
            mq.close()

    # ------------------------------------------------------------ anonymous, binding

    def test_anonymous_refused_when_not_allowed(self):
        w2 = self.st.start_wagent("wagent-noanon", wamp={"register_agent": False},
                                  wagent={"allow_anonymous_boards": False})
        c = w2.wamp()
        m = c.hello()
        self.assertEqual(m[:3], [wc.ABORT, {"message": "Anonymous boards are not allowed."},
                                 "wamp.error.not_authorized"])
        c.close()
        c = w2.wamp()
        m = c.hello(authmethods=["ticket"], authid="x")
        self.assertEqual(m[:3], [wc.ABORT, {"message": "No supported authentication method."},
                                 "wamp.error.not_authorized"])
        c.close()
        # On a registration wagent anonymous sessions may register, not bind.
        w3 = self.st.start_wagent("wagent-regonly", wagent={"allow_anonymous_boards": False})
        uuid, code = self.st.create_board("anon-reg-1")
        wm = self.st.register(w3, code)
        self.assertEqual(wm["result"], "SUCCESS")
        c = w3.wamp()
        self.assertEqual(c.hello()[0], wc.WELCOME)
        r = c.call("wagent-regonly.stack4things.connection", [],
                   {"uuid": uuid, "session": c.session, "info": {"lr_version": "0.5.0"}})
        self.assertEqual(c.result_wampmsg(r)["message"],
                         "Board %s requires authentication." % uuid)
        c.close()
        # With its secret it binds there.
        secret = wm["message"]["iotronic"]["board"]["auth"]["secret"]
        b = self.board_at(w3, uuid, secret=secret, agent="wagent-regonly")
        self.assertEqual(self.st.status(uuid), "online")
        b.stop()

    def board_at(self, w, uuid, **kw):
        b = wc.Board(w.port, uuid, {"DevicePing": ping}, **kw)
        b.start()
        self.assertTrue(b.ready.wait(15))
        self.assertIsNone(b.error, b.error)
        self.addCleanup(b.stop)
        return b

    def test_bind_timeout_closes_unbound_sessions(self):
        w2 = self.st.start_wagent("wagent-bind", wagent={"bind_timeout": 1})
        c = w2.wamp()
        self.assertEqual(c.hello()[0], wc.WELCOME)
        t0 = time.monotonic()
        m = c.recv(timeout=5)
        self.assertEqual(m, [wc.GOODBYE, {}, "wamp.close.normal"])
        self.assertLess(time.monotonic() - t0, 3)
        self.assertEqual(c.wait_closed(), 1000)
        # No HELLO at all: closed too.
        ws = wc.WebSocket("127.0.0.1", w2.port)
        self.assertEqual(ws.status, 101)
        self.assertEqual(ws.wait_closed(5), 1008)

    def test_limits_on_handshakes_and_sessions(self):
        w2 = self.st.start_wagent("wagent-full", wagent={"max_sessions": 2,
                                                         "max_handshakes_per_second": 1000})
        held = [w2.wamp(), w2.wamp()]
        ws = wc.WebSocket("127.0.0.1", w2.port)
        self.assertEqual((ws.status, ws.headers.get("retry-after")), (503, "1"))
        ws.close()
        for c in held:
            c.close()
        w3 = self.st.start_wagent("wagent-rate", wagent={"max_handshakes_per_second": 3})
        statuses = []
        for _ in range(8):
            ws = wc.WebSocket("127.0.0.1", w3.port)
            statuses.append(ws.status)
            if ws.status == 503:
                self.assertEqual(ws.headers.get("retry-after"), "1")
            ws.close()
        self.assertIn(503, statuses)
        self.assertLessEqual(statuses.count(101), 6)  # at most two one-second windows

    # ------------------------------------------------------------ events and telemetry

    def test_board_events(self):
        ev = Listener(self.st.vhost, "iotronic.board_events", "board.*")
        self.addCleanup(ev.close)
        uuid, code = self.st.create_board("events-1")
        self.st.register(self.w, code)
        b = self.board(uuid, lr_version="lrc-0.2.0")
        typ, body, props = ev.get()
        self.assertEqual(typ, "board.online")
        self.assertEqual(props.delivery_mode, 2)
        self.assertEqual((body["event"], body["board_uuid"], body["agent"], body["session"],
                          body["lr_version"]),
                         ("board.online", uuid, "wagent-1", str(b.c.session), "lrc-0.2.0"))
        self.assertRegex(body["at"], r"Z$")
        b.stop()
        typ, body, _ = ev.get()
        self.assertEqual((typ, body["board_uuid"], body["session"]),
                         ("board.offline", uuid, str(b.c.session)))

    def test_function_result_and_event_go_to_the_engine(self):
        q = Listener(self.st.vhost, queue="qinling_engine_events")
        self.addCleanup(q.close)
        q.ch.queue_purge("qinling_engine_events")
        uuid, code = self.st.create_board("engine-1")
        self.st.register(self.w, code)
        b = self.board(uuid, lr_version="lrc-0.1.0")
        ex = str(uuidlib.uuid4())
        r = b.call("stack4things.function_result", [],
                   {"board_uuid": uuid, "execution_id": ex, "status": "success", "output": "42",
                    "received_at": "2026-11-23T18:02:11.100000Z"})
        self.assertEqual(b.c.result_wampmsg(r), {"message": {"ack": True}, "result": "SUCCESS"})
        typ, body, props = q.get(timeout=5)
        self.assertEqual((typ, props.delivery_mode), ("function_result", 2))
        self.assertEqual((body["board_uuid"], body["execution_id"], body["output"],
                          body["received_at"]),
                         (uuid, ex, "42", "2026-11-23T18:02:11.100000Z"))
        r = b.call("wagent-1.stack4things.event", [],
                   {"board_uuid": uuid, "trigger_id": "t1", "firing_seq": 7, "value": 30.5})
        self.assertEqual(b.c.result_wampmsg(r)["message"], {"ack": True})
        typ, body, _ = q.get(timeout=5)
        self.assertEqual((typ, body["trigger_id"], body["firing_seq"], body["board_uuid"]),
                         ("event", "t1", 7, uuid))
        self.assertRegex(body["received_at"], r"Z$")
        # Another board's uuid, a missing id: refused, nothing published.
        r = b.call("stack4things.function_result", [],
                   {"board_uuid": str(uuidlib.uuid4()), "execution_id": ex})
        self.assertEqual(r[4], "wamp.error.not_authorized")
        r = b.call("stack4things.event", [], {"board_uuid": uuid})
        self.assertEqual(r[4], "wamp.error.invalid_argument")
        self.assertTrue(q.empty())

    def test_publications_reach_telemetry(self):
        uuid, code = self.st.create_board("telemetry-1")
        self.st.register(self.w, code)
        b = self.board(uuid)
        t = Listener(self.st.vhost, "iotronic.telemetry", "board.%s.#" % uuid)
        self.addCleanup(t.close)
        topic = "iotronic.board.%s.sensors.temp0" % uuid
        r = b.send_request([wc.SUBSCRIBE, {}, topic])
        self.assertEqual(r[0], wc.SUBSCRIBED)
        self.assertIsNone(b.error)
        r = b.send_request([wc.PUBLISH, {"acknowledge": True, "exclude_me": False}, topic,
                            [21.5], {"unit": "C"}])
        self.assertEqual(r[0], wc.PUBLISHED)
        typ, body, _ = t.get()
        self.assertEqual((body["board_uuid"], body["topic"], body["args"], body["kwargs"]),
                         (uuid, topic, [21.5], {"unit": "C"}))
        ev = iottest.wait_until(lambda: [m for m in b.c.pending if m[0] == wc.EVENT],
                                what="the EVENT")
        self.assertEqual(ev[0][4:], [[21.5], {"unit": "C"}])
        other = "iotronic.board.%s.x" % uuidlib.uuid4()
        r = b.send_request([wc.PUBLISH, {"acknowledge": True}, other, [1]])
        self.assertEqual(r[:5], [wc.ERROR, wc.PUBLISH, r[2], {}, "wamp.error.not_authorized"])
        r = b.send_request([wc.SUBSCRIBE, {}, other])
        self.assertEqual(r[4], "wamp.error.not_authorized")
        r = b.send_request([wc.PUBLISH, {"acknowledge": True}, topic, ["x" * 70000]])
        self.assertEqual(r[4], "wamp.error.invalid_argument")
        self.assertTrue(t.empty())

    def test_events_are_acknowledged_only_once_the_broker_took_them(self):
        import pika
        uuid, code = self.st.create_board("confirm-1")
        self.st.register(self.w, code)
        b = self.board(uuid, lr_version="lrc-0.1.0")
        conn = pika.BlockingConnection(pika.URLParameters(self.st.vhost))
        ch = conn.channel()
        ch.queue_delete("qinling_engine_events")
        try:
            r = b.call("stack4things.function_result", [],
                       {"board_uuid": uuid, "execution_id": "e-1", "status": "success"})
            # Unroutable: the broker did not take it, so the board keeps it.
            self.assertEqual(b.c.result_wampmsg(r), {"message": "Cloud unavailable, retry "
                                                     "later.", "result": "ERROR"})
        finally:
            ch.queue_declare("qinling_engine_events", durable=True)
            conn.close()
        r = b.call("stack4things.function_result", [],
                   {"board_uuid": uuid, "execution_id": "e-1", "status": "success"})
        self.assertEqual(b.c.result_wampmsg(r)["result"], "SUCCESS")
        conn = pika.BlockingConnection(pika.URLParameters(self.st.vhost))
        self.assertEqual(conn.channel().queue_purge("qinling_engine_events").method.message_count,
                         1)
        conn.close()

    def test_callee_rate_limit(self):
        c = self.w.wamp()
        c.hello()
        c.send_texts(['[48,%d,{},"wagent-1.stack4things.alive"]' % i for i in range(1, 81)])
        got = [c.recv() for _ in range(80)]
        results = [m for m in got if m[0] == wc.RESULT]
        busy = [m for m in got if m[0] == wc.ERROR and m[4] == "iotronic.error.busy"]
        self.assertEqual(len(results) + len(busy), 80)
        self.assertGreaterEqual(len(results), 64)  # the burst
        self.assertGreater(len(busy), 0)
        c.close()

    def test_slow_database_delays_only_connection(self):
        if not any(w.host == "wagent-judge" for w in self.st.wagents):
            self.st.start_wagent("wagent-judge")  # another checker of wagent-1's beats
        ua, ca = self.st.create_board("slowdb-a")
        self.st.register(self.w, ca)
        a = self.board(ua)
        ub, cb = self.st.create_board("slowdb-b")
        self.st.register(self.w, cb)
        hold = subprocess.Popen(
            ["psql", "-h", "127.0.0.1", "-p", str(iottest.services().pg_port), "-U",
             "postgres", "-d", self.st.db, "-X", "-q", "-c",
             "BEGIN; LOCK TABLE boards IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(6); COMMIT;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(hold.wait, 20)
        time.sleep(0.5)
        out = {}
        c = self.w.wamp()
        c.hello()
        c.send([wc.CALL, 1, {}, "wagent-1.stack4things.connection", [],
                {"uuid": ub, "session": c.session, "info": {}}])
        t0 = time.monotonic()
        # Meanwhile the bound board keeps answering (no database on this path),
        # and its session survives several ping intervals.
        for _ in range(20):
            t1 = time.perf_counter()
            self.assertEqual(self.st.invoke("wagent-1", ua, "DevicePing")["outcome"], "replied")
            self.assertLess(time.perf_counter() - t1, 0.5)
            time.sleep(0.2)
        r = c.expect(wc.RESULT, 1, timeout=15)
        took = time.monotonic() - t0
        self.assertEqual(c.result_wampmsg(r)["result"], "SUCCESS")
        self.assertGreater(took, 3)
        self.assertFalse(a.done.is_set())
        c.close()
        # The lock (6 s) outlasted agent_timeout (3 s) and stalled every
        # wagent's beat alike: no wagent declares another dead for it
        # (common/stallwatch.h), so the board stays on its session.
        hold.wait(20)
        time.sleep(4.5)  # agent_timeout + heartbeat_interval, and some
        self.assertFalse(a.done.is_set(), (a.closed_with, a.error))
        self.assertEqual(self.st.sql("SELECT online FROM wampagents WHERE hostname = :'p1'",
                                     "wagent-1"), [["t"]])

    def test_old_sessions_are_deleted(self):
        uuid, code = self.st.create_board("history-1")
        self.st.sql("INSERT INTO sessions (valid, session_id, board_uuid, board_id, ended_at) "
                    "SELECT false, '42', uuid, id, now() - interval '31 days' FROM boards "
                    "WHERE uuid = :'p1'", uuid)
        self.st.sql("INSERT INTO sessions (valid, session_id, board_uuid, board_id, ended_at) "
                    "SELECT false, '43', uuid, id, now() - interval '29 days' FROM boards "
                    "WHERE uuid = :'p1'", uuid)
        self.st.start_wagent("wagent-history")  # cleans at its first beat
        iottest.wait_until(lambda: self.st.sql("SELECT session_id FROM sessions WHERE "
                                               "board_uuid = :'p1'", uuid) == [["43"]],
                           what="the 31-day-old session deleted")

    def test_a_silent_board_is_closed_after_ping_timeout(self):
        uuid, code = self.st.create_board("silent-1")
        self.st.register(self.w, code)
        c = self.w.wamp()
        c.hello()
        r = c.call("wagent-1.stack4things.connection", [], {"uuid": uuid, "session": c.session})
        self.assertEqual(c.result_wampmsg(r)["result"], "SUCCESS")
        t0 = time.monotonic()
        time.sleep(6)  # ping_timeout is 5 s here: no pong, nothing else
        self.assertEqual(self.st.status(uuid), "offline")
        frames = []
        try:
            while True:
                frames.append(c.recv_frame(5)[1])
        except wc.Closed:
            pass
        self.assertIn(0x9, frames)  # it was pinged
        self.assertEqual(frames[-1], 0x8)
        self.assertGreater(time.monotonic() - t0, 4.5)

    def test_registration_ids_and_duplicates(self):
        uuid, code = self.st.create_board("regs-1")
        self.st.register(self.w, code)
        b = self.board(uuid)
        uri = "iotronic.%d.%s.DeviceExtra" % (b.c.session, uuid)
        r = b.send_request([wc.REGISTER, {}, uri])
        self.assertEqual(r[0], wc.REGISTERED)
        reg = r[2]
        r = b.send_request([wc.REGISTER, {}, uri])
        self.assertEqual(r[4], "wamp.error.procedure_already_exists")
        r = b.send_request([wc.UNREGISTER, reg])
        self.assertEqual(r[0], wc.UNREGISTERED)
        r = b.send_request([wc.UNREGISTER, reg])
        self.assertEqual(r[4], "wamp.error.no_such_registration")
        r = b.send_request([wc.UNSUBSCRIBE, 12345])
        self.assertEqual(r[4], "wamp.error.no_such_subscription")
        r = b.send_request([wc.REGISTER, {}, "iotronic.%d.%s.1bad" % (b.c.session, uuid)])
        self.assertEqual(r[4], "wamp.error.not_authorized")
        r = b.send_request([wc.REGISTER, {}, "iotronic..x"])
        self.assertEqual(r[4], "wamp.error.invalid_uri")
        # An unregistered method is "not available" to the cloud.
        res = self.st.invoke("wagent-1", uuid, "DeviceExtra")
        self.assertEqual(res["wampmessage"]["message"],
                         "Method DeviceExtra is not available on this board.")

    # ------------------------------------------------------------ AMQP and admin

    def test_status_drop_session_and_close_board(self):
        uuid, code = self.st.create_board("amqp-1")
        self.st.register(self.w, code)
        b = self.board(uuid)
        ok, st = self.st.wagent_call("wagent-1", "status", {})
        self.assertTrue(ok)
        self.assertEqual(st["hostname"], "wagent-1")
        self.assertGreaterEqual(st["boards_online"], 1)
        for k in ("sessions", "tunnels", "uptime_s"):
            self.assertIn(k, st)
        # drop_session for another session id changes nothing.
        ok, _ = self.st.wagent_call("wagent-1", "drop_session",
                                    {"board_uuid": uuid, "session": "12345"})
        self.assertTrue(ok)
        time.sleep(0.3)
        self.assertFalse(b.done.is_set(), (b.closed_with, b.error))
        ok, _ = self.st.wagent_call("wagent-1", "drop_session",
                                    {"board_uuid": uuid, "session": str(b.c.session)})
        iottest.wait_until(lambda: b.done.is_set(), what="the session dropped")
        self.assertEqual(b.closed_with[2], "wamp.close.session_replaced")
        b2 = self.board(uuid)
        ok, _ = self.st.wagent_call("wagent-1", "close_board", {"board_uuid": uuid})
        iottest.wait_until(lambda: b2.done.is_set(), what="the board closed")
        self.assertEqual(b2.closed_with[2], "wamp.close.normal")
        ok, err = self.st.wagent_call("wagent-1", "drop_session", {"board_uuid": "nope"})
        self.assertFalse(ok)
        self.assertEqual(err["status"], 400)

    def test_no_listener_and_unhealthy_without_a_database(self):
        from test_wagent_support import Wagent
        w = Wagent(self.st, "wagent-nodb", {"database": {
            "connection": iottest.dsn("no_such_db_%d" % os.getpid())}})
        w.start(wait=False)
        self.st.wagents.append(w)
        iottest.wait_port(w.aport, timeout=20)
        status, text = w.admin("/healthz")
        self.assertEqual(status, 503)
        self.assertIn("database unreachable", text)
        # No board may bind before the start-up cleanup is committed.
        import socket
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", w.port), timeout=1).close()
        self.assertTrue(w.daemon.alive())

    def test_admin_healthz_and_metrics(self):
        self.assertEqual(self.w.admin("/healthz"), (200, "ok\n"))
        status, text = self.w.admin("/metrics")
        self.assertEqual(status, 200)
        for name in ("wagent_sessions{", "wagent_boards_online", "wagent_handshakes_total{",
                     "wagent_messages_in_total{", "wagent_messages_out_total{",
                     "wagent_call_seconds_bucket", "wagent_protocol_violations_total",
                     "wagent_tunnels", "wagent_tunnel_bytes_in_total"):
            self.assertIn(name, text)


if __name__ == "__main__":
    iottest.main()
