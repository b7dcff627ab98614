#!/usr/bin/python3
"""Executions, jobs and webhooks through qinling-api and qinling-engine
(deviceless-api.md 2.6, 2.8, 2.9, 3.3), with a scripted wagent on the AMQP
side standing in for the boards (tests/lib/qinlingtest.FakeWagent): the API,
the engine, PostgreSQL and RabbitMQ are the real ones."""

import base64
import datetime
import json
import os
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402
import qinlingtest  # noqa: E402


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = qinlingtest.Stack(engine=True).start()
        cls.fw = qinlingtest.FakeWagent(cls.st.url).start()
        cls.rid = cls.st.runtime("busybox")
        cls.board = cls.st.add_board(name="b-main", caps=qinlingtest.caps())
        cls.fn = cls.st.function(cls.rid, {"main.sh": "echo"}, board_id=cls.board)

    @classmethod
    def tearDownClass(cls):
        cls.fw.stop()
        cls.st.stop()  # fails on a sanitizer report or an unclean exit

    def setUp(self):
        self.fw.behave = self.fw.default

    def fault(self, r, status, msg):
        self.assertEqual((r.status, (r.json or {}).get("faultstring")), (status, msg), r)

    def run_sync(self, **body):
        body.setdefault("function_id", self.fn["id"])
        return self.st.call("POST", "/v1/executions", body)

    def wait_status(self, eid, *want, timeout=20):
        return iottest.wait_until(
            lambda: (lambda e: e if e["status"] in want else None)(
                self.st.call("GET", "/v1/executions/" + eid).json),
            timeout=timeout, what="execution %s in %s" % (eid, want))


class Executions(Base):
    def test_sync_success_with_result_and_timing(self):
        def behave(board, method, payload):
            if method == "FunctionExecute":
                self.assertEqual(payload["input"], '{"a": 1}')
                self.assertEqual(payload["input_kind"], "json")
                self.assertEqual(payload["package"]["sha256"], self.fn["code"]["sha256"])
                self.assertTrue(payload["package"]["url"].endswith(
                    "/v1/blobs/" + self.fn["code"]["sha256"]))
                self.assertTrue(payload["package"]["token"].startswith("v1.%s." % board))
                self.fw.later(0, lambda: self.fw.result(board, payload["execution_id"], "success",
                                                         {"lamp": "on"}, logs="hello\n"))
                return {"outcome": "replied", "result": "RUNNING", "message": {"state": "started"}}
            return self.fw.default(board, method, payload)
        self.fw.behave = behave
        r = self.run_sync(input='{"a": 1}', description="one")
        self.assertEqual(r.status, 201, r)
        e = r.json
        self.assertEqual((e["status"], e["sync"], e["input"], e["board_id"], e["executor"]),
                         ("success", True, '{"a": 1}', self.board, "crun"))
        self.assertEqual(json.loads(e["result"]), {"output": {"lamp": "on"}, "duration": 0.012})
        self.assertRegex(e["deadline"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
        for k in ("dispatched_at", "received_at", "started_at", "finished_at", "completed_at"):
            self.assertRegex(e["timing"][k], r"\.\d{6}Z$", k)
        self.assertEqual(e["timing"]["board_duration"], 0.012)
        r = self.st.call("GET", "/v1/executions/%s/log" % e["id"])
        self.assertEqual((r.status, r.raw, r.header("Content-Type")),
                         (200, b"hello\n", "text/plain; charset=utf-8"))
        self.assertEqual(self.st.call("GET", "/v1/functions/" + self.fn["id"]).json["count"] > 0,
                         True)

    def test_raw_input_and_async(self):
        seen = []

        def behave(board, method, payload):
            if method == "FunctionExecute":
                seen.append(payload)
            return self.fw.default(board, method, payload)
        self.fw.behave = behave
        r = self.run_sync(input="[1, 2]", sync=False)
        self.assertEqual(r.status, 201)
        self.assertIn(r.json["status"], ("running", "success"))
        self.wait_status(r.json["id"], "success")
        self.assertEqual((seen[-1]["input"], seen[-1]["input_kind"]), ('"[1, 2]"', "raw"))

    def test_validation(self):
        self.fault(self.st.call("POST", "/v1/executions", {}), 400,
                   "Either function_alias or function_id must be provided.")
        self.fault(self.run_sync(input="x" * 65537), 400, "Input exceeds 65536 bytes.")
        self.fault(self.run_sync(function_version=3), 404,
                   "FunctionVersion not found [function_id=%s, version_number=3]" % self.fn["id"])
        img = self.st.call("POST", "/v1/functions",
                           {"code": {"source": "image", "image": self.rid},
                            "board_id": self.board}).json
        self.fault(self.run_sync(function_id=img["id"], function_version=1), 400,
                   "Function versions exist only for package type functions.")
        nodef = self.st.function(self.rid, {"main.sh": "x"})
        self.fault(self.run_sync(function_id=nodef["id"]), 400,
                   "No target: give board_id or fleet_id, or set a default target on the function.")
        fl = self.st.add_fleet()
        self.fault(self.run_sync(board_id=self.board, fleet_id=fl), 400,
                   "Give board_id or fleet_id, not both.")
        self.fault(self.run_sync(function_id=nodef["id"], placement="all"), 400,
                   "placement is only valid with fleet_id.")
        self.fault(self.run_sync(fleet_id=fl, placement="everywhere"), 400,
                   "Invalid placement everywhere; use any_online or all.")
        self.fault(self.run_sync(board_id="ghost"), 404, "Board ghost could not be found.")
        self.fault(self.run_sync(fleet_id="ghost"), 404, "Fleet ghost could not be found.")
        self.fault(self.run_sync(fleet_id=fl), 409, "No board of fleet %s can run this function."
                   % fl)
        self.fault(self.run_sync(pending_timeout=90000), 400,
                   "Invalid value for pending_timeout: an integer from 0 to 86400 is required.")
        self.fault(self.run_sync(result="x"), 400, "Attribute result is read-only.")
        self.fault(self.run_sync(function_alias="nobody"), 404,
                   "FunctionAlias not found [name=nobody]")
        down = self.st.runtime("busybox")
        f2 = self.st.function(down, {"main.sh": "x"}, board_id=self.board)
        self.st.sql("UPDATE runtimes SET status = 'error' WHERE id = :'p1'", down)
        self.fault(self.run_sync(function_id=f2["id"]), 409, "Runtime %s is not available." % down)

    def test_eligibility(self):
        gpio = self.st.function(self.rid, {"main.sh": "x"}, devices=["gpio:sim0:40:out"],
                                board_id=self.board)
        self.fault(self.run_sync(function_id=gpio["id"]), 409, "Board %s cannot run this "
                   "function: missing device(s) gpio:sim0:40:out." % self.board)
        # Never connected: accepted, waits, and ends at its deadline.
        unknown = self.st.add_board(status="offline")
        r = self.run_sync(function_id=gpio["id"], board_id=unknown, sync=False,
                          pending_timeout=1)
        self.assertEqual((r.status, r.json["status"]), (201, "pending"))
        e = self.wait_status(r.json["id"], "error")
        self.assertEqual(json.loads(e["result"])["output"],
                         "No board became available before the execution deadline.")
        # Online but its capabilities not known yet: accepted; judged once the
        # engine has them (it asks DeviceCaps), with the same text (3.3).
        fresh = self.st.add_board()
        r = self.run_sync(function_id=gpio["id"], board_id=fresh, sync=False)
        self.assertEqual(r.status, 201)
        e = self.wait_status(r.json["id"], "error")
        self.assertEqual(json.loads(e["result"])["output"], "Board %s cannot run this function: "
                         "missing device(s) gpio:sim0:40:out." % fresh)
        self.assertTrue(self.fw.methods("DeviceCaps"))

    def test_alias_wins_and_counts(self):
        pkg = qinlingtest.make_zip({"main.sh": "v1"})
        f = self.st.function(self.rid, {"main.sh": "v0"}, board_id=self.board)
        self.st.call("POST", "/v1/functions/%s/versions" % f["id"])
        self.st.call("PUT", "/v1/functions/" + f["id"],
                     {"code": {"source": "package"}, "package": base64.b64encode(pkg).decode()})
        self.st.call("POST", "/v1/aliases", {"name": "stable", "function_id": f["id"],
                                             "function_version": 1})
        seen = []

        def behave(board, method, payload):
            if method == "FunctionExecute":
                seen.append(payload)
            return self.fw.default(board, method, payload)
        self.fw.behave = behave
        r = self.st.call("POST", "/v1/executions", {"function_alias": "stable",
                                                    "function_id": self.fn["id"]})
        self.assertEqual((r.json["function_id"], r.json["function_version"],
                          r.json["function_alias"], r.json["status"]),
                         (f["id"], 1, "stable", "success"))
        # Version 1 runs the package it recorded, not the current one.
        v1 = self.st.call("GET", "/v1/functions/%s/versions/1" % f["id"]).json
        self.assertEqual(seen[-1]["package"]["sha256"], v1["package_sha256"])
        self.assertEqual(self.st.call("GET", "/v1/functions/%s/versions/1" % f["id"]).json["count"],
                         1)

    def test_failures_reported_by_the_board(self):
        def behave(board, method, payload):
            if method == "FunctionExecute":
                self.fw.later(0, lambda: self.fw.result(board, payload["execution_id"], "failed",
                                                         "Function execution timeout."))
                return {"outcome": "replied", "result": "RUNNING", "message": {}}
            return self.fw.default(board, method, payload)
        self.fw.behave = behave
        e = self.run_sync().json
        self.assertEqual((e["status"], json.loads(e["result"])["output"]),
                         ("failed", "Function execution timeout."))

        def unsupported(board, method, payload):
            if method == "FunctionExecute":
                return {"outcome": "replied", "result": "ERROR",
                        "message": {"code": "unsupported", "message": "no such runtime"}}
            return self.fw.default(board, method, payload)
        self.fw.behave = unsupported
        e = self.run_sync().json
        self.assertEqual((e["status"], json.loads(e["result"])["output"]),
                         ("error", "Board %s cannot run this function: no such runtime."
                          % self.board))

    def test_busy_board_is_retried(self):
        tries = []

        def behave(board, method, payload):
            if method == "FunctionExecute":
                tries.append(time.monotonic())
                if len(tries) == 1:
                    return {"outcome": "replied", "result": "ERROR",
                            "message": {"code": "busy", "message": "all slots taken"}}
            return self.fw.default(board, method, payload)
        self.fw.behave = behave
        e = self.run_sync().json
        self.assertEqual(e["status"], "success")
        self.assertEqual(len(tries), 2)
        self.assertGreaterEqual(tries[1] - tries[0], 0.9)

    def test_list_filters_log_delete(self):
        ids = [self.run_sync(description="tag-%d" % i).json["id"] for i in range(3)]
        r = self.st.call("GET", "/v1/executions?description=has:tag-&status=in:success,failed")
        self.assertEqual([e["id"] for e in r.json["executions"]], ids)
        r = self.st.call("GET", "/v1/executions?description=tag-1")
        self.assertEqual([e["id"] for e in r.json["executions"]], [ids[1]])
        r = self.st.call("GET", "/v1/executions?created_at=gte:2000-01-01T00:00:00Z&limit=1&"
                         "description=has:tag-")
        self.assertEqual(len(r.json["executions"]), 1)
        self.assertIn("next", r.json)
        r = self.st.call("GET", "/v1/executions?function_version=nope")
        self.fault(r, 400, "Invalid value nope for filter function_version.")
        self.assertEqual(self.st.call("GET", "/v1/executions/" + ids[0], project="p2").status, 404)
        self.assertEqual(self.st.call("DELETE", "/v1/executions/" + ids[0]).status, 204)
        self.fault(self.st.call("GET", "/v1/executions/" + ids[0]), 404,
                   "Execution not found [id=%s]" % ids[0])
        self.fault(self.st.call("GET", "/v1/executions/%s/log" % ids[0]), 404,
                   "Execution not found [id=%s]" % ids[0])
        self.fault(self.st.call("DELETE", "/v1/executions/" + ids[0]), 404,
                   "Execution not found [id=%s]" % ids[0])

    def test_cloud_path_latency(self):
        """The service's own share of a sync execution: API, AMQP, engine,
        the scripted wagent's immediate answer and result, engine, NOTIFY,
        API. Printed as a TAP comment; only success is asserted."""
        walls = []
        for _ in range(40):
            t0 = time.perf_counter()
            self.assertEqual(self.run_sync().json["status"], "success")
            walls.append((time.perf_counter() - t0) * 1000)
        walls.sort()
        print("# cloud path with a scripted board: p50 %.2f ms, p90 %.2f ms, min %.2f ms"
              % (walls[20], walls[36], walls[0]))

    def test_sync_bound_returns_running(self):
        st = qinlingtest.Stack(engine=True, extra={"api": {"sync_grace": 0}},
                               db=None).start()
        fw = qinlingtest.FakeWagent(st.url, name="slow").start()
        try:
            board = st.add_board(agent="slow", caps=qinlingtest.caps())
            f = st.function(st.runtime("busybox"), {"main.sh": "x"}, board_id=board, timeout=1)
            fw.behave = lambda b, m, p: (
                {"outcome": "replied", "result": "RUNNING", "message": {}}
                if m == "FunctionExecute" else fw.default(b, m, p))
            t0 = time.monotonic()
            r = st.call("POST", "/v1/executions", {"function_id": f["id"], "pending_timeout": 1})
            self.assertLess(time.monotonic() - t0, 5)
            self.assertEqual((r.status, r.json["status"]), (201, "running"))
            self.assertIsNone(r.json["result"])
        finally:
            fw.stop()


class FanOut(Base):
    def test_placement_all(self):
        fl = self.st.add_fleet(name="city")
        b1 = self.st.add_board(caps=qinlingtest.caps(), fleet=fl)
        b2 = self.st.add_board(caps=qinlingtest.caps(), fleet=fl)
        b3 = self.st.add_board(caps=qinlingtest.caps(chips=()), fleet=fl)
        f = self.st.function(self.rid, {"main.sh": "x"}, devices=["gpio:sim0:1:out"])

        def behave(board, method, payload):
            if method == "FunctionExecute":
                status = "failed" if board == max(b1, b2) else "success"
                self.fw.later(0, lambda: self.fw.result(board, payload["execution_id"], status,
                                                         board[:4], logs="log of %s\n" % board))
                return {"outcome": "replied", "result": "RUNNING", "message": {}}
            return self.fw.default(board, method, payload)
        self.fw.behave = behave
        r = self.st.call("POST", "/v1/executions", {"function_id": f["id"], "fleet_id": "city",
                                                    "placement": "all"})
        self.assertEqual(r.status, 201, r)
        p = r.json
        self.assertEqual((p["status"], p["board_id"], p["fleet_id"], p["placement"]),
                         ("failed", None, fl, "all"))
        self.assertEqual(len(p["children"]), 2)
        out = json.loads(p["result"])["output"]
        self.assertEqual(set(out), {b1, b2})
        self.assertEqual(out[min(b1, b2)], {"status": "success", "output": min(b1, b2)[:4]})
        log = self.st.call("GET", "/v1/executions/%s/log" % p["id"]).raw.decode()
        self.assertIn("Board %s skipped: cannot run this function: missing device(s) "
                      "gpio:sim0:1:out." % b3, log)
        first, second = sorted([b1, b2])
        self.assertLess(log.index("=== board %s execution" % first),
                        log.index("=== board %s execution" % second))
        kids = self.st.call("GET", "/v1/executions?parent_id=" + p["id"]).json["executions"]
        self.assertEqual(sorted(k["board_id"] for k in kids), sorted([b1, b2]))

    def test_any_online_prefers_warm_and_cached(self):
        fl = self.st.add_fleet()
        f = self.st.function(self.rid, {"main.sh": "x"}, fleet_id=fl)
        plain = self.st.add_board(caps=qinlingtest.caps(), fleet=fl)
        cached = self.st.add_board(caps=qinlingtest.caps(cached_packages=[f["code"]["sha256"]]),
                                   fleet=fl)
        self.st.add_board(status="offline", caps=qinlingtest.caps(), fleet=fl)
        e = self.run_sync(function_id=f["id"]).json
        self.assertEqual(e["board_id"], cached)
        self.st.sql("INSERT INTO function_workers (board_uuid, container_id, function_id, "
                    "function_version, state) VALUES (:'p1', 'lr-w', :'p2', 0, 'warm')", plain,
                    f["id"])
        e = self.run_sync(function_id=f["id"]).json
        self.assertEqual((e["board_id"], e["fleet_id"]), (plain, fl))


class Jobs(Base):
    def test_create_rules(self):
        fid = self.fn["id"]
        soon = datetime.datetime.utcnow() + datetime.timedelta(seconds=10)
        later = datetime.datetime.utcnow() + datetime.timedelta(minutes=5)
        self.fault(self.st.call("POST", "/v1/jobs", {"pattern": "* * * * *"}), 400,
                   "Either function_alias or function_id must be provided.")
        self.fault(self.st.call("POST", "/v1/jobs", {"function_id": fid}), 400,
                   "pattern or first_execution_time must be specified.")
        self.fault(self.st.call("POST", "/v1/jobs", {"function_id": fid,
                                                     "first_execution_time": iso(soon)}),
                   400, "Execution time must be at least 1 minute in the future.")
        self.fault(self.st.call("POST", "/v1/jobs", {"function_id": fid, "count": 3,
                                                     "first_execution_time": iso(later)}),
                   400, "pattern must be provided if count is greater than 1.")
        self.fault(self.st.call("POST", "/v1/jobs", {"function_id": fid, "pattern": "61 * * * *"}),
                   400, "The specified pattern is not valid: 61 * * * *")
        self.fault(self.st.call("POST", "/v1/jobs", {"function_id": fid,
                                                     "first_execution_time": "tomorrow"}),
                   400, "Invalid time tomorrow.")
        r = self.st.call("POST", "/v1/jobs", {"function_id": fid, "name": "once",
                                              "first_execution_time": iso(later)})
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json["status"], r.json["count"], r.json["pattern"]),
                         ("running", 1, None))
        self.assertEqual(r.json["first_execution_time"], iso(later))
        self.assertEqual(r.json["next_execution_time"], iso(later))
        given = later.replace(microsecond=0)
        start = given if given.second == 0 else (given.replace(second=0) +
                                                 datetime.timedelta(minutes=1))
        r = self.st.call("POST", "/v1/jobs", {"function_id": fid, "pattern": "*/1 * * * *",
                                              "first_execution_time": iso(later)})
        self.assertEqual((r.json["count"], r.json["next_execution_time"]), (None, iso(start)))

    def test_update_rules(self):
        fid = self.fn["id"]
        later = datetime.datetime.utcnow() + datetime.timedelta(minutes=5)
        once = self.st.call("POST", "/v1/jobs", {"function_id": fid,
                                                 "first_execution_time": iso(later)}).json
        cron = self.st.call("POST", "/v1/jobs", {"function_id": fid, "pattern": "0 0 * * *"}).json
        self.fault(self.st.call("PUT", "/v1/jobs/" + once["id"], {"pattern": "* * * * *"}), 400,
                   "Can not change job type.")
        self.fault(self.st.call("PUT", "/v1/jobs/" + cron["id"], {"pattern": None}), 400,
                   "Can not change job type.")
        self.fault(self.st.call("PUT", "/v1/jobs/" + cron["id"], {"status": "done"}), 400,
                   "Invalid status.")
        r = self.st.call("PUT", "/v1/jobs/" + cron["id"], {"status": "paused", "name": "n"})
        self.assertEqual((r.json["status"], r.json["name"]), ("paused", "n"))
        r = self.st.call("PUT", "/v1/jobs/" + cron["id"], {"status": "running"})
        self.assertEqual(r.json["status"], "running")
        self.assertEqual(self.st.call("PUT", "/v1/jobs/" + cron["id"],
                                      {"status": "cancelled"}).json["status"], "cancelled")
        self.fault(self.st.call("PUT", "/v1/jobs/" + cron["id"], {"name": "x"}), 400,
                   "Can not update a finished job.")
        r = self.st.call("GET", "/v1/jobs?status=cancelled")
        self.assertEqual([j["id"] for j in r.json["jobs"]], [cron["id"]])
        self.assertEqual(self.st.call("DELETE", "/v1/jobs/" + cron["id"]).status, 204)
        self.fault(self.st.call("GET", "/v1/jobs/" + cron["id"]), 404,
                   "Job not found [id=%s]" % cron["id"])
        self.fault(self.st.call("DELETE", "/v1/jobs/" + cron["id"]), 404,
                   "Job not found [id=%s]" % cron["id"])

    def test_cron_job_fires_with_counts(self):
        r = self.st.call("POST", "/v1/jobs", {"function_id": self.fn["id"], "pattern":
                                              "* * * * * */2", "count": 2,
                                              "function_input": '{"from": "job"}'})
        job = r.json
        iottest.wait_until(lambda: self.st.call("GET", "/v1/jobs/" + job["id"]).json["status"]
                           == "done", timeout=15, what="job done")
        q = urllib.parse.urlencode({"description": "Created by Job " + job["id"]})
        execs = self.st.call("GET", "/v1/executions?" + q).json["executions"]
        self.assertEqual(len(execs), 2)
        self.assertTrue(all(e["input"] == '{"from": "job"}' and e["sync"] is False
                            for e in execs))
        for e in execs:
            self.wait_status(e["id"], "success")


class Webhooks(Base):
    def test_crud_and_invoke(self):
        r = self.st.call("POST", "/v1/webhooks", {"function_id": self.fn["id"],
                                                  "description": "hook"})
        self.assertEqual(r.status, 201, r)
        w = r.json
        self.assertEqual(w["webhook_url"], "http://127.0.0.1:%d/v1/webhooks/%s/invoke"
                         % (self.st.port, w["id"]))
        self.assertEqual(w["function_version"], 0)
        body = urllib.parse.urlencode([("a", "1"), ("a", "2"), ("b", "x")]).encode()
        r = self.st.request("POST", "/v1/webhooks/%s/invoke?q=9&b=y" % w["id"], raw=body,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 202, r)
        e = self.wait_status(r.json["execution_id"], "success")
        self.assertEqual(json.loads(e["input"]), {"q": "9", "b": ["y", "x"], "a": ["1", "2"]})
        self.assertEqual((e["description"], e["sync"]), ("Created by Webhook " + w["id"], False))
        r = self.st.request("POST", "/v1/webhooks/%s/invoke?k=q" % w["id"],
                            body={"k": {"deep": True}})
        e = self.wait_status(r.json["execution_id"], "success")
        self.assertEqual(json.loads(e["input"]), {"k": {"deep": True}})
        r = self.st.request("POST", "/v1/webhooks/%s/invoke" % w["id"], body=[1, 2])
        self.fault(r, 400, "Webhook body must be a JSON object.")
        r = self.st.request("POST", "/v1/webhooks/%s/invoke" % w["id"].upper())
        self.fault(r, 404, "Resource not found.")
        ghost = "1234abcd-0000-0000-0000-000000000000"
        self.fault(self.st.request("POST", "/v1/webhooks/%s/invoke" % ghost), 404,
                   "Webhook not found [id=%s]" % ghost)
        r = self.st.call("PUT", "/v1/webhooks/" + w["id"], {"description": "d2"})
        self.assertEqual((r.status, r.json["description"]), (200, "d2"))
        listed = self.st.call("GET", "/v1/webhooks?function_id=" + self.fn["id"]).json
        self.assertIn(w["id"], [x["id"] for x in listed["webhooks"]])
        self.assertEqual(self.st.call("DELETE", "/v1/webhooks/" + w["id"]).status, 204)
        self.fault(self.st.call("DELETE", "/v1/webhooks/" + w["id"]), 404,
                   "Webhook not found [id=%s]" % w["id"])

    def test_alias_resolved_at_invoke_and_null_version(self):
        f2 = self.st.function(self.rid, {"main.sh": "2"}, board_id=self.board)
        self.st.call("POST", "/v1/aliases", {"name": "hook-target", "function_id": self.fn["id"]})
        w = self.st.call("POST", "/v1/webhooks", {"function_alias": "hook-target"}).json
        self.assertEqual((w["function_id"], w["function_version"], w["function_alias"]),
                         (None, None, "hook-target"))
        self.st.call("PUT", "/v1/aliases/hook-target", {"function_id": f2["id"]})
        eid = self.st.request("POST", "/v1/webhooks/%s/invoke" % w["id"]).json["execution_id"]
        self.assertEqual(self.wait_status(eid, "success")["function_id"], f2["id"])
        r = self.st.call("PUT", "/v1/webhooks/" + w["id"], {"function_id": self.fn["id"]})
        self.assertEqual((r.json["function_alias"], r.json["function_id"]),
                         (None, self.fn["id"]))

    def test_rate_limit(self):
        st = qinlingtest.Stack(extra={"api": {"webhook_rate": 1, "webhook_burst": 3}}).start()
        rid = st.runtime("busybox")
        b = st.add_board(caps=qinlingtest.caps())
        f = st.function(rid, {"main.sh": "x"}, board_id=b)
        w = st.call("POST", "/v1/webhooks", {"function_id": f["id"]}).json
        codes = [st.request("POST", "/v1/webhooks/%s/invoke" % w["id"]).status for _ in range(5)]
        self.assertEqual(codes, [202, 202, 202, 429, 429])
        r = st.request("POST", "/v1/webhooks/%s/invoke" % w["id"])
        self.assertEqual(r.json["faultstring"], "Too many requests.")


if __name__ == "__main__":
    iottest.main()
