#!/usr/bin/python3
"""iotronic-conductor over real AMQP and PostgreSQL (iotronic-api-v1.md 2.14,
board-protocol.md 7.3 and 8.1): board writes and their 409s, board calls with
requests and results through a scripted wagent, plugin code encoding, public
port allocation across two conductors, notify_result, dead wagents."""

import json
import os
import sys
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402
from test_api_support import FakeWagent, Stack, replied  # noqa: E402

CTX = {"user_id": "u1", "project_id": "p1", "roles": ["admin_iot_project"], "is_admin": False}
LOC = {"latitude": "38.1", "longitude": "15.5", "altitude": "0"}


def new_board(st, name, code=None, ctx=CTX, **kw):
    b = {"name": name, "code": code or name.upper(), "type": "gateway", "mobile": False,
         "fleet": None, "extra": {}, "location": LOC}
    b.update(kw)
    return st.rpc("board_create", {"ctx": ctx, "board": b})


def set_online(st, board, agent="wa1", lr="lrc-0.1.0"):
    st.sql("INSERT INTO wampagents (hostname, wsurl) VALUES (:'p1', 'ws://127.0.0.1:8181/') "
           "ON CONFLICT (hostname) DO UPDATE SET online = true, heartbeat_at = now()", agent)
    st.sql("UPDATE boards SET status = 'online', agent = :'p1', lr_version = :'p2' "
           "WHERE uuid = :'p3'", agent, lr, board)


class ConductorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = Stack(conductors=1, api=False)

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    def wagent(self, script, host="wa1"):
        w = FakeWagent(self.st.vhost, host, script)
        w.start()
        w.ready.wait(10)
        self.addCleanup(w.stop)
        return w

    def test_board_create_stores_row_location_and_identity(self):
        ok, res = new_board(self.st, "create-1")
        self.assertTrue(ok, res)
        rows = self.st.sql("SELECT name, code, status, owner, project, config::text FROM boards "
                           "WHERE uuid = :'p1'", res["uuid"])
        self.assertEqual(rows, [["create-1", "CREATE-1", "registered", "u1", "p1", "{}"]])
        loc = self.st.sql("SELECT latitude, longitude, altitude FROM locations l JOIN boards b "
                          "ON b.id = l.board_id WHERE b.uuid = :'p1'", res["uuid"])
        self.assertEqual(loc, [["38.1", "15.5", "0"]])

    def test_board_conflicts(self):
        ok, res = new_board(self.st, "dup-1", "DUPCODE")
        self.assertTrue(ok)
        ok, err = new_board(self.st, "dup-1", "OTHER")
        self.assertEqual((ok, err["status"], err["message"]),
                         (False, 409, "A board with dup-1 is already associated to another board."))
        # Name first when both collide.
        ok, err = new_board(self.st, "dup-1", "DUPCODE")
        self.assertEqual(err["message"], "A board with dup-1 is already associated to another board.")
        ok, err = new_board(self.st, "dup-2", "DUPCODE")
        self.assertEqual((err["status"], err["message"]),
                         (409, "A board with code DUPCODE already exists."))
        ok, err = new_board(self.st, "dup-3", "C3", uuid=res["uuid"])
        self.assertEqual(err["message"], "A board with UUID %s already exists." % res["uuid"])
        # Another project may reuse the name; a null project is a project too.
        other = dict(CTX, project_id=None)
        self.assertTrue(new_board(self.st, "dup-1", "NULLP1", ctx=other)[0])
        ok, err = new_board(self.st, "dup-1", "NULLP2", ctx=other)
        self.assertEqual(err["status"], 409)

    def test_board_update_renames_moves_and_checks(self):
        ok, res = new_board(self.st, "upd-1")
        new_board(self.st, "upd-2")
        u = res["uuid"]
        ok, out = self.st.rpc("board_update", {"ctx": CTX, "uuid": u, "changes": {
            "name": "upd-1b", "type": None, "mobile": True, "extra": {"k": 1},
            "location": {"latitude": "1", "longitude": "2", "altitude": None}}})
        self.assertTrue(ok, out)
        row = self.st.sql("SELECT name, type IS NULL, mobile, extra::text, updated_at IS NOT NULL "
                          "FROM boards WHERE uuid = :'p1'", u)
        self.assertEqual(row, [["upd-1b", "t", "t", '{"k": 1}', "t"]])
        loc = self.st.sql("SELECT latitude, longitude, altitude IS NULL, l.updated_at IS NOT NULL "
                          "FROM locations l JOIN boards b ON b.id = l.board_id WHERE b.uuid = :'p1'", u)
        self.assertEqual(loc, [["1", "2", "t", "t"]])
        ok, err = self.st.rpc("board_update", {"ctx": CTX, "uuid": u, "changes": {"name": "upd-2"}})
        self.assertEqual(err["message"], "A board with upd-2 is already associated to another board.")
        ok, err = self.st.rpc("board_update", {"ctx": CTX, "uuid": str(uuid.uuid4()),
                                               "changes": {"code": "X"}})
        self.assertEqual(err["status"], 404)

    def test_board_action_offline_is_not_connected(self):
        ok, res = new_board(self.st, "off-1")
        ok, err = self.st.rpc("board_action", {"ctx": CTX, "uuid": res["uuid"],
                                               "action": "DevicePing", "parameters": {}})
        self.assertEqual((err["status"], err["message"]),
                         (400, "Board %s is not connected." % res["uuid"]))

    def test_board_action_success_records_request_and_result(self):
        ok, res = new_board(self.st, "ping-1")
        u = res["uuid"]
        set_online(self.st, u)
        w = self.wagent(lambda a: replied("ping-1 @ now"))
        ok, out = self.st.rpc("board_action", {"ctx": CTX, "uuid": u, "action": "DevicePing",
                                               "parameters": {"x": 1}})
        self.assertTrue(ok, out)
        self.assertEqual(out["message"], "ping-1 @ now")
        method, args = w.calls.get(timeout=5)
        self.assertEqual(method, "invoke")
        self.assertEqual((args["board_uuid"], args["method"], args["args"]), (u, "DevicePing", [{"x": 1}]))
        self.assertEqual(args["req"]["uuid"], out["request"])
        self.assertEqual(args["req"]["action"], "DevicePing")
        self.assertEqual(args["timeout_ms"], 3000)
        rows = self.st.sql("SELECT r.status, r.action, r.project, r.type, s.result, s.message "
                           "FROM requests r JOIN results s ON s.request_uuid = r.uuid "
                           "WHERE r.uuid = :'p1'", out["request"])
        self.assertEqual(rows, [["COMPLETED", "DevicePing", "p1", "0", "SUCCESS", "ping-1 @ now"]])

    def test_board_error_timeout_and_running(self):
        ok, res = new_board(self.st, "err-1")
        u = res["uuid"]
        set_online(self.st, u, agent="wa2")
        answers = iter([replied("boom", "ERROR"), {"outcome": "timeout"},
                        replied({"started": True}, "RUNNING"), ("error", 5, 0, "wagent broke")])
        self.wagent(lambda a: next(answers), host="wa2")
        call = {"ctx": CTX, "uuid": u, "action": "DeviceEcho", "parameters": {}}
        ok, err = self.st.rpc("board_action", call)
        self.assertEqual((err["status"], err["message"]),
                         (502, "Error in the execution of DeviceEcho on %s: boom" % u))
        self.assertTrue(err["data"]["request"])
        ok, err = self.st.rpc("board_action", call)
        self.assertEqual((err["status"], err["message"]), (504, "Board %s did not answer in time." % u))
        r = self.st.sql("SELECT s.result, s.message, r.status FROM results s JOIN requests r ON "
                        "r.uuid = s.request_uuid WHERE r.uuid = :'p1'", err["data"]["request"])
        self.assertEqual(r, [["ERROR", "timeout", "COMPLETED"]])
        ok, out = self.st.rpc("board_action", call)
        self.assertTrue(ok, out)
        self.assertEqual(out["message"], '{"started":true}')
        self.assertEqual(self.st.sql("SELECT status FROM requests WHERE uuid = :'p1'", out["request"]),
                         [["PENDING"]])
        ok, _ = self.st.rpc("notify_result", {"board_uuid": u, "req_id": out["request"],
                                              "result": "SUCCESS", "message": "done"})
        self.assertTrue(ok)
        r = self.st.sql("SELECT s.result, s.message, r.status FROM results s JOIN requests r ON "
                        "r.uuid = s.request_uuid WHERE r.uuid = :'p1'", out["request"])
        self.assertEqual(r, [["SUCCESS", "done", "COMPLETED"]])
        ok, err = self.st.rpc("notify_result", {"board_uuid": str(uuid.uuid4()),
                                                "req_id": out["request"], "result": "SUCCESS",
                                                "message": "x"})
        self.assertEqual(err["message"], "Request %s is not for this board." % out["request"])
        ok, err = self.st.rpc("board_action", call)
        self.assertEqual(err["status"], 502)
        self.assertIn("wagent broke", err["message"])

    def test_not_connected_rereads_agent_once(self):
        ok, res = new_board(self.st, "move-1")
        u = res["uuid"]
        set_online(self.st, u, agent="wa3")
        st = self.st

        def moved(args):
            st.sql("UPDATE boards SET agent = 'wa4' WHERE uuid = :'p1'", u)
            return {"outcome": "not_connected"}
        self.wagent(moved, host="wa3")
        w4 = self.wagent(lambda a: replied("on wa4"), host="wa4")
        ok, out = self.st.rpc("board_action", {"ctx": CTX, "uuid": u, "action": "DevicePing",
                                               "parameters": {}})
        self.assertTrue(ok, out)
        self.assertEqual(out["message"], "on wa4")
        self.assertEqual(w4.calls.get(timeout=5)[1]["board_uuid"], u)

    def test_plugin_inject_encodes_code_for_the_agent(self):
        ok, res = new_board(self.st, "inj-1")
        u = res["uuid"]
        code = 'print("h\u00e9")\nx=1'
        ok, p = self.st.rpc("plugin_create", {"ctx": CTX, "plugin": {
            "name": "pl1", "code": code, "public": False, "callable": True,
            "parameters": {"a": 1}, "extra": {}}})
        self.assertTrue(ok, p)
        w = self.wagent(lambda a: replied("Plugin pl1 injected"), host="wa5")
        for lr, want in (("0.5.0", 'Vprint("h\\u00e9")\\u000ax=1\np0\n.'), ("lrc-0.1.0", code)):
            set_online(self.st, u, agent="wa5", lr=lr)
            ok, out = self.st.rpc("plugin_inject", {"ctx": CTX, "board": u, "plugin": p["uuid"],
                                                    "onboot": True})
            self.assertTrue(ok, out)
            args = w.calls.get(timeout=5)[1]
            self.assertEqual(args["args"][0]["code"], want)
            self.assertEqual(args["args"][1], True)
        rows = self.st.sql("SELECT status, onboot FROM injection_plugins WHERE board_uuid = :'p1'", u)
        self.assertEqual(rows, [["updated", "t"]])
        ok, err = self.st.rpc("plugin_delete", {"ctx": CTX, "uuid": p["uuid"]})
        self.assertEqual((err["status"], err["message"]),
                         (409, "Plugin %s is injected on one or more boards." % p["uuid"]))

    def test_service_enable_allocates_and_releases_ports(self):
        ok, res = new_board(self.st, "svc-1")
        u = res["uuid"]
        set_online(self.st, u, agent="wa6")
        answers = iter([replied("exposed"), replied("nope", "ERROR"), replied("disabled")])
        self.wagent(lambda a: next(answers), host="wa6")
        ok, s1 = self.st.rpc("service_create", {"ctx": CTX, "service": {
            "name": "ssh", "port": 22, "protocol": "TCP", "extra": {}}})
        ok, s2 = self.st.rpc("service_create", {"ctx": CTX, "service": {
            "name": "web", "port": 80, "protocol": "TCP", "extra": {}}})
        ok, out = self.st.rpc("service_action", {"ctx": CTX, "board": u, "service": s1["uuid"],
                                                 "action": "ServiceEnable"})
        self.assertTrue(ok, out)
        port = int(self.st.sql("SELECT public_port FROM exposed_services WHERE board_uuid = :'p1'", u)[0][0])
        self.assertTrue(50000 <= port <= 60000)
        ok, err = self.st.rpc("service_action", {"ctx": CTX, "board": u, "service": s1["uuid"],
                                                 "action": "ServiceEnable"})
        self.assertEqual(err["message"], "A Service with UUID %s already exposed." % s1["uuid"])
        ok, err = self.st.rpc("service_action", {"ctx": CTX, "board": u, "service": s2["uuid"],
                                                 "action": "ServiceEnable"})
        self.assertEqual(err["status"], 502)
        self.assertEqual(self.st.sql("SELECT count(*) FROM exposed_services WHERE board_uuid = :'p1'", u),
                         [["1"]])
        ok, err = self.st.rpc("service_delete", {"ctx": CTX, "uuid": s1["uuid"]})
        self.assertEqual(err["message"], "Service %s is exposed on one or more boards." % s1["uuid"])
        ok, out = self.st.rpc("service_action", {"ctx": CTX, "board": u, "service": s1["uuid"],
                                                 "action": "ServiceDisable"})
        self.assertTrue(ok, out)
        self.assertEqual(self.st.sql("SELECT count(*) FROM exposed_services WHERE board_uuid = :'p1'", u),
                         [["0"]])
        ok, err = self.st.rpc("service_action", {"ctx": CTX, "board": u, "service": s1["uuid"],
                                                 "action": "ServiceDisable"})
        self.assertEqual(err["message"], "ExposedService %s could not be found." % s1["uuid"])

    def test_board_delete_resets_online_board_and_always_deletes(self):
        ok, res = new_board(self.st, "del-1")
        u = res["uuid"]
        set_online(self.st, u, agent="wa7")
        w = self.wagent(lambda a: replied("cannot", "ERROR"), host="wa7")
        ok, out = self.st.rpc("board_delete", {"ctx": CTX, "uuid": u})
        self.assertTrue(ok, out)
        self.assertEqual(w.calls.get(timeout=5)[1]["method"], "DeviceFactoryReset")
        self.assertEqual(self.st.sql("SELECT count(*) FROM boards WHERE uuid = :'p1'", u), [["0"]])
        ok, err = self.st.rpc("board_delete", {"ctx": CTX, "uuid": u})
        self.assertEqual(err["status"], 404)

    def test_fleet_delete_leaves_boards_without_fleet(self):
        ok, f = self.st.rpc("fleet_create", {"ctx": CTX, "fleet": {"name": "f1", "description": "d"}})
        self.assertTrue(ok, f)
        ok, b = new_board(self.st, "fl-1", fleet=f["uuid"])
        self.assertTrue(ok, b)
        ok, _ = self.st.rpc("fleet_delete", {"ctx": CTX, "uuid": f["uuid"]})
        self.assertTrue(ok)
        self.assertEqual(self.st.sql("SELECT fleet IS NULL FROM boards WHERE uuid = :'p1'", b["uuid"]),
                         [["t"]])
        ok, err = new_board(self.st, "fl-2", fleet=f["uuid"])
        self.assertEqual((err["status"], err["message"]), (404, "Fleet %s could not be found." % f["uuid"]))

    def test_optional_drivers_absent_answer_409(self):
        ok, err = self.st.rpc("port_attach", {"ctx": CTX, "board": str(uuid.uuid4())})
        self.assertEqual((err["status"], err["message"]),
                         (409, "Board ports are not available: no Neutron driver is configured."))
        ok, err = self.st.rpc("webservice_enable", {"ctx": CTX, "board": str(uuid.uuid4())})
        self.assertEqual((err["status"], err["message"]),
                         (409, "Webservices are not available: no Designate/nginx driver is configured."))

    def test_dead_wagent_boards_go_offline(self):
        ok, res = new_board(self.st, "dead-1")
        u = res["uuid"]
        set_online(self.st, u, agent="wa-dead")
        self.st.sql("INSERT INTO sessions (session_id, board_uuid, board_id) SELECT '42', uuid, id "
                    "FROM boards WHERE uuid = :'p1'", u)
        self.st.sql("UPDATE wampagents SET heartbeat_at = now() - interval '1 hour' "
                    "WHERE hostname = 'wa-dead'")
        iottest.wait_until(lambda: self.st.sql("SELECT status FROM boards WHERE uuid = :'p1'", u)
                           == [["offline"]], timeout=10, what="board offline")
        self.assertEqual(self.st.sql("SELECT online FROM wampagents WHERE hostname = 'wa-dead'"), [["f"]])
        self.assertEqual(self.st.sql("SELECT valid FROM sessions WHERE board_uuid = :'p1'", u), [["f"]])


    def test_calls_interrupted_by_a_dead_conductor_are_closed(self):
        ok, res = new_board(self.st, "stale-1")
        u, stale, running = res["uuid"], str(uuid.uuid4()), str(uuid.uuid4())
        for r, upd in ((stale, "NULL"), (running, "now()")):
            self.st.sql("INSERT INTO requests (uuid, destination_uuid, status, action, created_at) "
                        "VALUES (:'p1', :'p2', 'PENDING', 'DevicePing', now() - interval '1 hour')",
                        r, u)
            self.st.sql("INSERT INTO results (board_uuid, request_uuid, result, message, updated_at) "
                        "VALUES (:'p1', :'p2', 'RUNNING', '', %s)" % upd, u, r)
        iottest.wait_until(lambda: self.st.sql("SELECT status FROM requests WHERE uuid = :'p1'",
                                               stale) == [["COMPLETED"]], timeout=10,
                           what="stale call closed")
        self.assertEqual(self.st.sql("SELECT result FROM results WHERE request_uuid = :'p1'", stale),
                         [["ERROR"]])
        # A long operation that answered RUNNING stays open for its notify_result.
        self.assertEqual(self.st.sql("SELECT status FROM requests WHERE uuid = :'p1'", running),
                         [["PENDING"]])


class WagentTimingTest(unittest.TestCase):
    def test_dead_wagent_check_follows_wagent_options(self):
        """[wagent] heartbeat_interval/agent_timeout drive the conductor's
        check when [conductor] does not set them (board-protocol 7.3)."""
        st = Stack(conductors=1, api=False, extra={
            "conductor": {"heartbeat_interval": None, "agent_timeout": None},
            "wagent": {"heartbeat_interval": 1, "agent_timeout": 2}})
        self.addCleanup(st.close)
        ok, res = new_board(st, "timing-1")
        set_online(st, res["uuid"], agent="wa-t")
        st.sql("UPDATE wampagents SET heartbeat_at = now() - interval '3 seconds' "
               "WHERE hostname = 'wa-t'")
        iottest.wait_until(lambda: st.sql("SELECT status FROM boards WHERE uuid = :'p1'",
                                          res["uuid"]) == [["offline"]], timeout=6,
                           what="offline within agent_timeout + heartbeat_interval")


class RedeliveryTest(unittest.TestCase):
    def test_redelivered_create_is_answered_as_done(self):
        """A conductor that dies after committing a create but before its ack
        leaves the message to be redelivered: the next conductor answers it
        as done, not as a conflict with itself."""
        import pika
        from test_api_support import MQ, envelope
        st = Stack(conductors=1, api=False)
        self.addCleanup(st.close)
        u = str(uuid.uuid4())
        body = {"ctx": CTX, "board": {"uuid": u, "name": "redo-1", "code": "REDO1", "type": None,
                                      "mobile": False, "fleet": None, "extra": {},
                                      "location": LOC}}
        ok, res = st.rpc("board_create", body)
        self.assertTrue(ok, res)
        st.conductors[0].stop()
        # The same request again, taken once by a consumer that "dies" unacked.
        caller = MQ(st.vhost)
        corr = uuid.uuid4().hex
        caller.ch.basic_publish("", "iotronic.conductor", envelope("board_create", body),
                                pika.BasicProperties(reply_to="amq.rabbitmq.reply-to",
                                                     correlation_id=corr, message_id=corr,
                                                     type="board_create"))
        thief = pika.BlockingConnection(pika.URLParameters(st.vhost))
        ch = thief.channel()
        method = None
        for _ in range(50):
            method, props, _ = ch.basic_get("iotronic.conductor", auto_ack=False)
            if method:
                break
            time.sleep(0.1)
        self.assertIsNotNone(method)
        thief.close()  # unacked: the broker requeues it as redelivered
        st.conductors.append(st.start_conductor("conductor-redo"))
        deadline = time.monotonic() + 20
        while corr not in caller.replies and time.monotonic() < deadline:
            caller.conn.process_data_events(time_limit=0.2)
        from test_api_support import decode_reply
        self.assertEqual(decode_reply(caller.replies[corr]), (True, {"uuid": u}))
        caller.close()
        self.assertEqual(st.sql("SELECT count(*) FROM boards WHERE name = 'redo-1'"), [["1"]])
        # A fresh (not redelivered) duplicate is still a conflict.
        ok, err = st.rpc("board_create", body)
        self.assertEqual(err["status"], 409)


class TwoConductorsTest(unittest.TestCase):
    def test_parallel_exposes_never_collide(self):
        st = Stack(conductors=2, api=False, extra={"conductor": {"service_port_min": 51000,
                                                                 "service_port_max": 51063}})
        self.addCleanup(st.close)
        w = FakeWagent(st.vhost, "wa1", lambda a: replied("ok"))
        w.start()
        w.ready.wait(10)
        self.addCleanup(w.stop)
        from test_api_support import MQ
        ok, svc = st.rpc("service_create", {"ctx": CTX, "service": {"name": "s", "port": 22,
                                                                     "protocol": "TCP"}})
        boards = []
        for i in range(64):
            ok, b = new_board(st, "par-%d" % i)
            set_online(st, b["uuid"])
            boards.append(b["uuid"])
        results = []

        def worker(chunk):
            mq = MQ(st.vhost)
            for u in chunk:
                results.append(mq.call("iotronic.conductor", "service_action",
                                       {"ctx": CTX, "board": u, "service": svc["uuid"],
                                        "action": "ServiceEnable"}))
            mq.close()
        threads = [threading.Thread(target=worker, args=(boards[i::8],)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(len(results), 64)
        self.assertTrue(all(ok for ok, _ in results), [r for r in results if not r[0]][:3])
        ports = [int(r[0]) for r in st.sql("SELECT public_port FROM exposed_services")]
        self.assertEqual(len(ports), 64)
        self.assertEqual(len(set(ports)), 64)
        self.assertTrue(all(51000 <= p <= 51063 for p in ports))
        # The range is now full.
        ok, b = new_board(st, "par-full")
        set_online(st, b["uuid"])
        ok, err = st.rpc("service_action", {"ctx": CTX, "board": b["uuid"], "service": svc["uuid"],
                                            "action": "ServiceEnable"})
        self.assertEqual((err["status"], err["message"]), (409, "No ports available"))
        # Both conductors served.
        served = [d.log_text().count("board call ServiceEnable") for d in st.conductors]
        self.assertTrue(all(n > 0 for n in served), served)


if __name__ == "__main__":
    iottest.main()
