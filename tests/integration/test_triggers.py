#!/usr/bin/python3
"""Triggers in the deviceless service (deviceless-api.md 3.7): the
/v1/triggers resource and its 4xx answers, installation on source boards
through TriggerSet (with FunctionDeploy first for local loops), statuses,
events turned into executions, de-duplication, and the latency accounting of
firings. qinling-api and qinling-engine run against a real PostgreSQL and
RabbitMQ; boards are IoTronic rows with DeviceCaps, and a scripted wagent
(qinlingtest.FakeWagent) answers the board calls and publishes what boards
report, as a real wagent does."""

import base64
import json
import os
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402
import qinlingtest  # noqa: E402

try:
    import pika
except ImportError:  # pragma: no cover
    pika = None

CAPS = qinlingtest.caps(chips=(("sim0", 8),), sensors=("lux0", "temp0"))


class Publisher:
    """Publishes what a wagent publishes: board reports to qinling_engine_events
    (persistent, AMQP type = the callee's name) and board events. Its own
    connection: FakeWagent's belongs to its thread."""

    def __init__(self, url):
        self.conn = pika.BlockingConnection(pika.URLParameters(url))
        self.ch = self.conn.channel()
        self.ch.queue_declare("qinling_engine_events", durable=True)

    def send(self, kind, body):
        self.ch.basic_publish("", "qinling_engine_events", json.dumps(body).encode(),
                              pika.BasicProperties(type=kind, delivery_mode=2,
                                                   content_type="application/json"))

    def result(self, board, execution_id, status, output, **extra):
        body = {"execution_id": execution_id, "board_uuid": board, "container_id": "lr-0000",
                "status": status, "output": output, "duration": 0.0123, "exit_code": 0,
                "signal": None, "timed_out": False, "oom": False, "logs": "",
                "logs_dropped": 0, "received_at": ts(), "started_at": ts(), "finished_at": ts(),
                "first_write_at": None, "executor": "crun", "warm": False}
        body.update(extra)
        self.send("function_result", body)

    def board_event(self, board, event):
        body = {"event": event, "board_uuid": board, "agent": "qtest", "session": "1",
                "lr_version": "lrc-0.1.0", "at": ts()}
        self.ch.exchange_declare("iotronic.board_events", "topic", durable=True)
        self.ch.basic_publish("iotronic.board_events", event, json.dumps(body).encode(),
                              pika.BasicProperties(type=event, delivery_mode=2,
                                                   content_type="application/json"))

    def close(self):
        self.conn.close()


def ts(offset_us=0):
    t = time.time() + offset_us / 1e6
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1e6)


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if pika is None:
            raise unittest.SkipTest("python3-pika is missing")
        cls.st = qinlingtest.Stack(engine=True).start()
        cls.caps_of = {}
        cls.fw = qinlingtest.FakeWagent(cls.st.url,
                                        caps_for=lambda b: cls.caps_of.get(b, CAPS)).start()
        cls.fw.behave = cls.behave
        cls.refuse = {}          # trigger id -> message the board refuses it with
        cls.no_triggers = set()  # boards whose agent has no TriggerSet (the original agent)
        cls.deploy_error = None  # text: FunctionDeploy answers ERROR with it
        cls.rid = cls.st.runtime("busybox")
        cls.fn = cls.st.function(cls.rid, {"main.sh": "echo on\n"})["id"]
        cls.pub = Publisher(cls.st.url)

    @classmethod
    def tearDownClass(cls):
        cls.pub.close()
        cls.fw.stop()
        # Stopped here, so that a sanitizer build's reports (leaks are found
        # at exit) fail this suite rather than go unread.
        for d in (cls.st.engine, cls.st.api):
            d.stop()
            for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                if marker in d.log_text():
                    raise AssertionError("%s: %s\n%s" % (d.name, marker, d.tail(80)))

    @classmethod
    def behave(cls, board, method, payload):
        if method == "TriggerSet" and board in cls.no_triggers:
            return {"outcome": "replied", "result": "ERROR",
                    "message": "Method TriggerSet is not available on this board."}
        if method == "TriggerSet":
            ids = [t["id"] for t in payload["triggers"]]
            return {"outcome": "replied", "result": "SUCCESS",
                    "message": {"installed": [i for i in ids if i not in cls.refuse],
                                "refused": [{"id": i, "message": cls.refuse[i]}
                                            for i in ids if i in cls.refuse]}}
        if method == "FunctionDeploy" and cls.deploy_error:
            return {"outcome": "replied", "result": "ERROR",
                    "message": {"code": "unsupported", "message": cls.deploy_error}}
        if method == "FunctionDeploy":
            return {"outcome": "replied", "result": "SUCCESS",
                    "message": {"cached": True, "warm": 0}}
        return cls.fw.default(board, method, payload)

    def board(self, caps=CAPS, status="online"):
        """A board row with its DeviceCaps. The engine refreshes the caps of
        online boards through the scripted wagent, which answers the same
        ones, whoever writes first."""
        b = self.st.add_board(status=status)
        if caps is not None:
            self.caps_of[b] = caps
            self.st.sql("INSERT INTO board_capabilities (board_uuid, caps) VALUES (:'p1', "
                        ":'p2'::jsonb) ON CONFLICT (board_uuid) DO UPDATE SET caps = "
                        "EXCLUDED.caps", b, json.dumps(caps))
        return b

    def trigger(self, board, target_board=None, status=201, **over):
        r = self.st.call("POST", "/v1/triggers", self.body(board, target_board, **over))
        self.assertEqual(r.status, status, r)
        return r.json

    def body(self, board, target_board=None, **over):
        body = {"name": "dusk", "description": "street light on at dusk",
                "source": {"board_id": board, "sensor": "lux0", "condition": "<",
                           "threshold": 10.0, "hysteresis": 2.0, "sample_interval_ms": 500,
                           "debounce_ms": 2000},
                "target": {"function_id": self.fn, "board_id": target_board or board,
                           "input_template": {"light": "on", "lux": "{{event.value}}"}}}
        for k, v in over.items():
            if isinstance(v, dict) and k in body:
                body[k] = dict(body[k], **v)
                body[k] = {x: y for x, y in body[k].items() if y is not DROP}
            else:
                body[k] = v
        return body

    def status_of(self, tid):
        return self.st.call("GET", "/v1/triggers/%s" % tid).json["status"]

    def wait_status(self, tid, want, timeout=15):
        iottest.wait_until(lambda: self.status_of(tid) == want, timeout=timeout,
                           what="trigger %s %s" % (tid, want))
        return self.st.call("GET", "/v1/triggers/%s" % tid).json

    def sets_for(self, board):
        return [c[2] for c in self.fw.methods("TriggerSet") if c[0] == board]

    def fault(self, r, status, msg):
        self.assertEqual((r.status, (r.json or {}).get("faultstring")), (status, msg), r)


DROP = object()  # removes a key from a body part in Base.trigger()
QE_RETRY_S = 5   # qengine/trigger.h: a set not acknowledged is sent again after this


class Validation(Base):
    """3.7.1, 3.7.2 and Appendix D: every bad definition answers 4xx."""

    def test_bad_definitions(self):
        b = self.board()
        bare = self.board(caps=None, status="offline")  # never asked for its caps
        cases = [
            ({"source": {"sensor": "nope"}}, 400, "Board %s has no sensor nope." % b),
            ({"source": {"sensor": DROP, "gpio": "sim0:9", "condition": "rising",
                         "threshold": DROP, "hysteresis": DROP}},
             400, "Board %s has no GPIO line sim0:9." % b),
            ({"source": {"sensor": DROP, "gpio": "gpiochip7:1", "condition": "change",
                         "threshold": DROP, "hysteresis": DROP}},
             400, "Board %s has no GPIO line gpiochip7:1." % b),
            ({"source": {"gpio": "sim0:1"}}, 400,
             "Give exactly one of source.sensor and source.gpio."),
            ({"source": {"sensor": DROP}}, 400, "Give exactly one of source.sensor and source.gpio."),
            ({"source": {"condition": "between"}}, 400,
             "Condition between is not valid for a sensor source."),
            ({"source": {"sensor": DROP, "gpio": "sim0:1", "condition": ">", "threshold": DROP,
                         "hysteresis": DROP}}, 400, "Condition > is not valid for a gpio source."),
            ({"source": {"threshold": DROP}}, 400, "source.threshold is required for condition <."),
            ({"source": {"sensor": DROP, "gpio": "sim0:1", "condition": "rising",
                         "hysteresis": DROP}},
             400, "source.threshold is not allowed for a gpio source."),
            ({"source": {"sample_interval_ms": 0}}, 400,
             "source.sample_interval_ms must be between 10 and 3600000."),
            ({"source": {"sample_interval_ms": 3600001}}, 400,
             "source.sample_interval_ms must be between 10 and 3600000."),
            ({"source": {"debounce_ms": 600001}}, 400,
             "source.debounce_ms must be between 0 and 600000."),
            ({"target": {"input_template": {"x": "{{event.colour}}"}}}, 400,
             "Unknown placeholder {{event.colour}} in input_template."),
            ({"source": {"colour": "red"}}, 400, "Unknown attribute: source.colour"),
            ({"target": {"colour": "red"}}, 400, "Unknown attribute: target.colour"),
            ({"source": {"board_id": DROP}}, 400,
             "Required param is missing. Required: source.board_id"),
            ({"target": {"function_id": DROP}}, 400,
             "Either function_alias or function_id must be provided."),
            ({"source": {"board_id": "no-such-board"}}, 404,
             "Board no-such-board could not be found."),
            ({"target": {"function_id": str(uuid.uuid4())}}, 404, None),
            ({"source": {"board_id": bare}, "target": {"board_id": b}}, 409,
             "Capabilities of board %s are not known yet." % bare),
            ({"target": {"board_id": b, "fleet_id": str(uuid.uuid4())}}, 400,
             "Give board_id or fleet_id, not both."),
            ({"status": "active"}, 400, "Attribute status is read-only."),
            ({"fire_count": 3}, 400, "Attribute fire_count is read-only."),
            ({"colour": 1}, 400, "Unknown attribute: colour"),
        ]
        wrong = []
        for over, status, msg in cases:
            r = self.st.call("POST", "/v1/triggers", self.body(b, **over))
            got = (r.status, (r.json or {}).get("faultstring"))
            if got[0] != status or (msg is not None and got[1] != msg):
                wrong.append("%r: got %r, want %r" % (over, got, (status, msg)))
        self.assertEqual(wrong, [])
        self.assertEqual(self.st.sql("SELECT count(*) FROM triggers"), [["0"]])

    def test_target_that_cannot_run_the_function(self):
        b = self.board(caps=qinlingtest.caps(chips=(("sim0", 8),), sensors=("lux0",)))
        f = self.st.function(self.rid, {"main.sh": "echo\n"}, devices=["gpio:sim0:20:out"])
        r = self.trigger(b, status=409, target={"function_id": f["id"]})
        self.assertEqual(r["faultstring"], "Board %s cannot run this function: missing device(s) "
                                           "gpio:sim0:20:out." % b)

    def test_firings_parameters(self):
        b = self.board()
        t = self.trigger(b)
        for q, msg in (("limit=0", "Invalid value 0 for filter limit."),
                       ("limit=1001", "Invalid value 1001 for filter limit."),
                       ("marker=x", "Expected a uuid but received x."),
                       ("sort=asc", 'Unknown argument: "sort"')):
            self.fault(self.st.call("GET", "/v1/triggers/%s/firings?%s" % (t["id"], q)), 400, msg)
        other = str(uuid.uuid4())
        self.fault(self.st.call("GET", "/v1/triggers/%s/firings" % other), 404,
                   "Trigger not found [id=%s]" % other)


class Resource(Base):
    """Create, read, list, update and delete (3.7.1, 3.7.2)."""

    def test_representation(self):
        b = self.board()
        t = self.trigger(b)
        self.assertEqual(set(t), {"id", "name", "description", "source", "target", "enabled",
                                  "status", "status_reason", "local", "fire_count",
                                  "last_fired_at", "project_id", "created_at", "updated_at"})
        self.assertEqual(t["source"], {"board_id": b, "sensor": "lux0", "gpio": None,
                                       "condition": "<", "threshold": 10, "hysteresis": 2,
                                       "sample_interval_ms": 500, "debounce_ms": 2000})
        self.assertEqual(t["target"], {"function_id": self.fn, "function_alias": None,
                                       "function_version": 0, "board_id": b, "fleet_id": None,
                                       "placement": None,
                                       "input_template": {"light": "on", "lux": "{{event.value}}"},
                                       "pending_timeout": None})
        self.assertEqual((t["enabled"], t["local"], t["fire_count"], t["last_fired_at"],
                          t["project_id"], t["updated_at"], t["status_reason"]),
                         (True, True, 0, None, "p1", None, None))
        self.assertIn(t["status"], ("installing", "active"))
        self.assertRegex(t["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

    def test_board_by_name_and_defaults(self):
        b = self.board()
        name = self.st.sql("SELECT name FROM boards WHERE uuid = :'p1'", b)[0][0]
        t = self.trigger(name, target_board=name,
                         source={"sensor": DROP, "gpio": "sim0:3", "condition": "change",
                                 "threshold": DROP, "hysteresis": DROP,
                                 "sample_interval_ms": DROP, "debounce_ms": DROP})
        self.assertEqual(t["source"], {"board_id": b, "sensor": None, "gpio": "sim0:3",
                                       "condition": "change", "threshold": None,
                                       "hysteresis": None, "sample_interval_ms": 50,
                                       "debounce_ms": 0})
        self.assertEqual(t["target"]["board_id"], b)

    def test_list_filters_update_delete(self):
        b1, b2 = self.board(), self.board()
        t1 = self.trigger(b1, target_board=b2)
        t2 = self.trigger(b2, enabled=False)
        self.assertEqual(t2["status"], "disabled")
        ids = lambda q: [x["id"] for x in self.st.call("GET", "/v1/triggers" + q).json["triggers"]]
        self.assertEqual(ids("?source_board_id=%s" % b1), [t1["id"]])
        self.assertEqual(ids("?status=disabled"), [t2["id"]])
        self.assertIn(t1["id"], ids("?function_id=%s" % self.fn))
        self.fault(self.st.call("GET", "/v1/triggers?colour=red"), 400, 'Unknown argument: "colour"')
        self.assertEqual(ids(""), ids("?all_projects=false"))
        self.assertEqual(self.st.call("GET", "/v1/triggers", project="p2").json["triggers"], [])
        self.assertEqual(self.st.call("GET", "/v1/triggers/%s" % t1["id"], project="p2").status,
                         404)
        # PUT replaces source and target whole, and reinstalls.
        r = self.st.call("PUT", "/v1/triggers/%s" % t1["id"],
                         {"name": "dawn", "source": {"board_id": b1, "sensor": "lux0",
                                                     "condition": ">", "threshold": 50}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["name"], r.json["source"]["condition"],
                          r.json["source"]["hysteresis"], r.json["source"]["debounce_ms"]),
                         ("dawn", ">", 0, 0))
        self.assertIsNotNone(r.json["updated_at"])
        self.assertEqual(r.json["target"]["board_id"], b2)
        r = self.st.call("PUT", "/v1/triggers/%s" % t1["id"],
                         {"source": {"board_id": b1, "sensor": "lux0", "condition": "<"}})
        self.fault(r, 400, "source.threshold is required for condition <.")
        # The function cannot go while the trigger uses it.
        self.fault(self.st.call("DELETE", "/v1/functions/%s" % self.fn), 403,
                   "The function is still associated with trigger(s).")
        self.assertEqual(self.st.call("DELETE", "/v1/triggers/%s" % t1["id"]).status, 204)
        self.fault(self.st.call("GET", "/v1/triggers/%s" % t1["id"]), 404,
                   "Trigger not found [id=%s]" % t1["id"])
        self.fault(self.st.call("DELETE", "/v1/triggers/%s" % t1["id"]), 404,
                   "Trigger not found [id=%s]" % t1["id"])


class Installation(Base):
    """3.7.3: TriggerSet with the complete set, statuses, local loops."""

    def test_set_is_complete_and_statuses_follow_the_board(self):
        b, other = self.board(), self.board()
        t1 = self.trigger(b, target_board=other)
        t2 = self.trigger(b, target_board=other, source={"sensor": "temp0", "condition": ">",
                                                         "threshold": 30})
        self.wait_status(t1["id"], "active")
        self.wait_status(t2["id"], "active")
        last = self.sets_for(b)[-1]["triggers"]
        self.assertEqual(sorted(x["id"] for x in last), sorted([t1["id"], t2["id"]]))
        d = [x for x in last if x["id"] == t1["id"]][0]
        self.assertEqual(d["source"], {"sensor": "lux0", "gpio": None, "condition": "<",
                                       "threshold": 10, "hysteresis": 2,
                                       "sample_interval_ms": 500, "debounce_ms": 2000})
        self.assertEqual((d["local"], d["input_template"], d["firing_seq_base"]),
                         (False, {"light": "on", "lux": "{{event.value}}"}, 1))
        self.assertNotIn("execute", d)
        # A refusal by the board is an error with its reason.
        self.__class__.refuse[t2["id"]] = "Board %s has no sensor temp0." % b
        self.st.call("PUT", "/v1/triggers/%s" % t2["id"], {"description": "hot"})
        t = self.wait_status(t2["id"], "error")
        self.assertEqual(t["status_reason"], "Board %s has no sensor temp0." % b)
        del self.__class__.refuse[t2["id"]]
        # Deleting sends the set without it; disabling too.
        self.st.call("DELETE", "/v1/triggers/%s" % t2["id"])
        iottest.wait_until(lambda: [x["id"] for x in self.sets_for(b)[-1]["triggers"]] ==
                           [t1["id"]], what="set without t2")
        self.st.call("PUT", "/v1/triggers/%s" % t1["id"], {"enabled": False})
        iottest.wait_until(lambda: self.sets_for(b)[-1]["triggers"] == [], what="empty set")
        self.assertEqual(self.status_of(t1["id"]), "disabled")
        self.st.call("PUT", "/v1/triggers/%s" % t1["id"], {"enabled": True})
        self.wait_status(t1["id"], "active")

    def test_offline_board_is_pending_and_installed_on_reconnect(self):
        b = self.board(status="offline")
        t = self.trigger(b, target_board=self.board())
        self.assertEqual(t["status"], "pending")
        time.sleep(0.5)
        self.assertEqual(self.sets_for(b), [])
        self.st.sql("UPDATE boards SET status = 'online' WHERE uuid = :'p1'", b)
        self.pub.board_event(b, "board.online")
        self.wait_status(t["id"], "active")
        self.st.sql("UPDATE boards SET status = 'offline' WHERE uuid = :'p1'", b)
        self.pub.board_event(b, "board.offline")
        self.wait_status(t["id"], "pending")

    def test_lost_sync_is_caught_by_reconciliation(self):
        b = self.board()
        t = self.trigger(b, target_board=self.board(), enabled=False)
        # As if the API's message were lost: the row says installing.
        self.st.sql("UPDATE triggers SET enabled = true, status = 'installing' WHERE id = :'p1'",
                    t["id"])
        self.wait_status(t["id"], "active", timeout=20)

    def test_board_without_trigger_set_puts_its_triggers_in_error(self):
        b = self.board()
        self.no_triggers.add(b)
        t = self.trigger(b, target_board=self.board())
        t = self.wait_status(t["id"], "error")
        self.assertEqual(t["status_reason"], "Method TriggerSet is not available on this board.")
        time.sleep(QE_RETRY_S + 2.5)  # no retry loop: an error waits for a change
        self.assertEqual(len(self.sets_for(b)), 1)

    def test_deleted_board_puts_its_triggers_in_error(self):
        b, other = self.board(), self.board()
        t1 = self.trigger(b, target_board=other)
        t2 = self.trigger(b, target_board=other, name="second")
        self.wait_status(t1["id"], "active")
        self.st.sql("DELETE FROM board_capabilities WHERE board_uuid = :'p1'", b)
        self.st.sql("DELETE FROM boards WHERE uuid = :'p1'", b)
        self.assertEqual(self.st.call("DELETE", "/v1/triggers/%s" % t2["id"]).status, 204)
        t = self.wait_status(t1["id"], "error")
        self.assertEqual(t["status_reason"], "Board %s could not be found." % b)

    def test_local_loop_deploys_first_and_carries_the_template(self):
        b = self.board()
        t = self.trigger(b)
        self.assertTrue(t["local"])
        self.wait_status(t["id"], "active")
        calls = [c for c in self.fw.calls if c[0] == b and c[1] in ("FunctionDeploy", "TriggerSet")]
        kinds = [c[1] for c in calls]
        self.assertEqual(kinds[:2], ["FunctionDeploy", "TriggerSet"])
        d = calls[1][2]["triggers"][0]
        self.assertTrue(d["local"])
        ex = d["execute"]
        self.assertEqual((ex["function_id"], ex["function_version"], ex["entry"]),
                         (self.fn, 0, "main.main"))
        self.assertIn("package", ex)
        self.assertIn("runtime", ex)
        self.assertNotIn("execution_id", ex)
        self.assertEqual(calls[0][2]["function_id"], self.fn)
        # A new package reaches the board's template (and is deployed) on its own.
        f = self.st.function(self.rid, {"main.sh": "echo two\n"})
        t2 = self.trigger(b, target={"function_id": f["id"]}, name="second")
        self.wait_status(t2["id"], "active")
        sets = len(self.sets_for(b))
        pkg = qinlingtest.make_zip({"main.sh": "echo three\n"})
        r = self.st.call("PUT", "/v1/functions/%s" % f["id"], {
            "code": {"source": "package"}, "package": base64.b64encode(pkg).decode()})
        self.assertEqual(r.status, 200, r)
        sha = r.json["code"]["sha256"]

        def new_template():
            for p in self.sets_for(b)[sets:]:
                for d in p["triggers"]:
                    if d["id"] == t2["id"] and d["execute"]["package"]["sha256"] == sha:
                        return True
            return False
        iottest.wait_until(new_template, timeout=15, what="the set with the new package")
        self.assertTrue(any(c[1] == "FunctionDeploy" and c[2]["package"]["sha256"] == sha
                            for c in self.fw.calls if c[0] == b))

    def test_local_loop_whose_function_cannot_be_deployed(self):
        b = self.board()
        self.__class__.deploy_error = "Failed to deploy function on board %s: disk full" % b
        try:
            t = self.trigger(b)
            t = self.wait_status(t["id"], "error")
        finally:
            self.__class__.deploy_error = None
        self.assertIn("disk full", t["status_reason"])
        iottest.wait_until(lambda: self.sets_for(b) and self.sets_for(b)[-1]["triggers"] == [],
                           what="set without the trigger")


class Firings(Base):
    """3.7.4 and 3.7.5: events become executions; firings carry timestamps."""

    def event(self, board, trigger, seq, **extra):
        body = {"board_uuid": board, "trigger_id": trigger, "firing_seq": seq,
                "source": "sensor:lux0", "value": 8.25, "previous": 10.5, "condition": "<",
                "threshold": 10.0, "sampled_at": ts(-1500), "fired_at": ts(-1400),
                "local": False, "received_at": ts()}
        body.update(extra)
        self.pub.send("event", body)
        return body

    def firings(self, tid):
        return self.st.call("GET", "/v1/triggers/%s/firings" % tid).json["firings"]

    def test_event_becomes_an_execution_on_the_target(self):
        src, dst = self.board(), self.board()
        t = self.trigger(src, target_board=dst)
        self.wait_status(t["id"], "active")
        self.fw.calls.clear()
        self.fw.behave = lambda b, m, p: (
            {"outcome": "replied", "result": "RUNNING", "message": {"state": "started"}}
            if m == "FunctionExecute" else self.behave(b, m, p))
        ev = self.event(src, t["id"], 7)
        execs = iottest.wait_until(lambda: self.fw.methods("FunctionExecute"), what="dispatch")
        board, _, payload = execs[0]
        self.assertEqual(board, dst)
        self.assertEqual(json.loads(payload["input"]), {"light": "on", "lux": 8.25})
        eid = payload["execution_id"]
        e = self.st.call("GET", "/v1/executions/%s" % eid).json
        self.assertEqual((e["description"], e["trigger_id"], e["sync"], e["board_id"]),
                         ("Created by Trigger %s" % t["id"], t["id"], False, dst))
        self.assertEqual(self.st.call("GET", "/v1/executions?trigger_id=%s" % t["id"])
                         .json["executions"][0]["id"], eid)
        f = iottest.wait_until(lambda: self.firings(t["id"]), what="firing")[0]
        self.assertEqual(e["firing_id"], f["id"])
        self.assertEqual((f["trigger_id"], f["firing_seq"], f["board_id"], f["value"],
                          f["previous"], f["local"]), (t["id"], 7, src, 8.25, 10.5, False))
        self.assertEqual((f["sampled_at"], f["fired_at"]), (ev["sampled_at"], ev["fired_at"]))
        self.assertRegex(f["received_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
        iottest.wait_until(lambda: self.firings(t["id"])[0]["execution_ids"] == [eid],
                           what="execution recorded in the firing")
        self.assertIsNone(self.firings(t["id"])[0]["latency_ms"])
        # The result (with the board's first write) completes the accounting.
        sampled = ev["sampled_at"]
        started, written = ts(1000), ts(3500)
        self.pub.result(dst, eid, "success", "on", started_at=started,
                       finished_at=ts(9000), first_write_at=written)
        f = iottest.wait_until(lambda: self.firings(t["id"])[0]["latency_ms"] is not None and
                               self.firings(t["id"])[0], what="latency")
        self.assertEqual((f["executed_at"], f["actuated_at"]), (started, written))
        us = lambda s: (time.mktime(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) * 1e6 +
                        int(s[20:26]))
        self.assertAlmostEqual(f["latency_ms"], (us(written) - us(sampled)) / 1000.0, places=3)
        tr = self.st.call("GET", "/v1/triggers/%s" % t["id"]).json
        self.assertEqual((tr["fire_count"], tr["last_fired_at"]), (1, ev["fired_at"]))

    def test_repeated_event_is_stored_once(self):
        src, dst = self.board(), self.board()
        t = self.trigger(src, target_board=dst)
        self.wait_status(t["id"], "active")
        for _ in range(3):
            self.event(src, t["id"], 41)
        self.event(src, t["id"], 42)
        iottest.wait_until(lambda: len(self.firings(t["id"])) == 2, what="two firings")
        time.sleep(1.0)
        rows = self.st.sql("SELECT count(*) FROM executions WHERE trigger_id = :'p1'", t["id"])
        self.assertEqual(rows, [["2"]])
        self.assertEqual([f["firing_seq"] for f in self.firings(t["id"])], [42, 41])
        self.assertEqual(self.st.call("GET", "/v1/triggers/%s" % t["id"]).json["fire_count"], 2)
        # Pages, newest first.
        page = self.st.call("GET", "/v1/triggers/%s/firings?limit=1" % t["id"]).json
        self.assertEqual(len(page["firings"]), 1)
        self.assertIn("marker=%s" % page["firings"][0]["id"], page["next"])
        nxt = self.st.call("GET", "/v1/triggers/%s/firings?limit=1&marker=%s"
                           % (t["id"], page["firings"][0]["id"])).json
        self.assertEqual([f["firing_seq"] for f in nxt["firings"]], [41])

    def test_event_from_another_board_is_dropped(self):
        src, other = self.board(), self.board()
        t = self.trigger(src, target_board=other)
        self.event(other, t["id"], 1)
        self.event(src, str(uuid.uuid4()), 1)
        self.pub.send("event", {"board_uuid": src, "trigger_id": "x"})
        time.sleep(1.5)
        self.assertEqual(self.firings(t["id"]), [])
        self.assertTrue(self.st.engine.alive())

    def test_local_loop_result_and_event_in_either_order(self):
        b = self.board()
        t = self.trigger(b)
        self.wait_status(t["id"], "active")
        for seq, result_first in ((1, False), (2, True)):
            eid = str(uuid.uuid4())
            sampled = ts(-5000)
            res = dict(local=True, trigger_id=t["id"], firing_seq=seq, function_id=self.fn,
                       function_version=0, input='{"light": "on", "lux": 3}',
                       started_at=ts(-4000), finished_at=ts(-1000), first_write_at=ts(-3000))
            evt = dict(local=True, execution_id=eid, sampled_at=sampled, fired_at=ts(-4900))
            if result_first:
                self.pub.result(b, eid, "success", "on", **res)
                time.sleep(0.3)
                self.event(b, t["id"], seq, **evt)
            else:
                self.event(b, t["id"], seq, **evt)
                time.sleep(0.3)
                self.pub.result(b, eid, "success", "on", **res)

            def linked():
                fs = [f for f in self.firings(t["id"]) if f["firing_seq"] == seq]
                return fs and fs[0]["execution_ids"] == [eid] and fs[0]["latency_ms"] is not None \
                    and fs[0]
            f = iottest.wait_until(linked, what="local firing %d linked" % seq)
            self.assertTrue(f["local"])
            self.assertEqual(f["actuated_at"], res["first_write_at"])
            e = self.st.call("GET", "/v1/executions/%s" % eid).json
            self.assertEqual((e["status"], e["trigger_id"], e["firing_id"], e["description"],
                              e["board_id"], e["input"]),
                             ("success", t["id"], f["id"], "Created by Trigger %s" % t["id"], b,
                              '{"light": "on", "lux": 3}'))


if __name__ == "__main__":
    iottest.main()
