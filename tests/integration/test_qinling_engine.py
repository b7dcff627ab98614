#!/usr/bin/python3
"""qinling-engine's durability and bookkeeping (deviceless-api.md 3.5.1, 3.6):
slots, at-least-once delivery, deadlines, lost boards, engine restarts,
board events, purges, warm containers and blob collection. A scripted wagent
on the broker (qinlingtest.FakeWagent) plays the boards."""

import json
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402
import qinlingtest  # noqa: E402


class Engine(unittest.TestCase):
    def setUp(self):
        self.st = qinlingtest.Stack(engine=True, extra={
            "engine": {"result_timeout": 2, "board_call_timeout": 2},
            "storage": {"blob_grace": 0}}).start()
        self.fw = qinlingtest.FakeWagent(self.st.url).start()
        self.rid = self.st.runtime("busybox")
        self.board = self.st.add_board(caps=qinlingtest.caps(slots=1))
        self.fn = self.st.function(self.rid, {"main.sh": "x"}, board_id=self.board)
        self.held = {}

    def tearDown(self):
        self.fw.stop()
        self.st.stop()  # fails on a sanitizer report or an unclean exit

    def execute(self, **body):
        body.setdefault("function_id", self.fn["id"])
        body.setdefault("sync", False)
        r = self.st.call("POST", "/v1/executions", body)
        self.assertEqual(r.status, 201, r)
        return r.json

    def get(self, eid):
        return self.st.call("GET", "/v1/executions/" + eid).json

    def wait_status(self, eid, *want, timeout=20):
        return iottest.wait_until(lambda: (lambda e: e if e["status"] in want else None)(
            self.get(eid)), timeout=timeout, what="%s in %s" % (eid, want))

    def hold(self, board, method, payload):
        """Accepts executions and keeps their results until release()."""
        if method == "FunctionExecute":
            self.held[payload["execution_id"]] = board
            return {"outcome": "replied", "result": "RUNNING", "message": {"state": "started"}}
        return self.fw.default(board, method, payload)

    def release(self, eid, status="success", output="done"):
        board = self.held.pop(eid)
        self.fw.later(0, lambda: self.fw.result(board, eid, status, output))

    def test_slots_queue_in_order(self):
        self.fw.behave = self.hold
        a, b, c = self.execute(), self.execute(), self.execute()
        iottest.wait_until(lambda: a["id"] in self.held, what="first dispatched")
        time.sleep(1.0)
        self.assertEqual(list(self.held), [a["id"]])  # one slot on the board
        self.assertEqual(self.get(b["id"])["status"], "running")  # queued, never refused
        self.release(a["id"])
        iottest.wait_until(lambda: b["id"] in self.held, what="second dispatched")
        self.assertNotIn(c["id"], self.held)
        self.release(b["id"])
        iottest.wait_until(lambda: c["id"] in self.held, what="third dispatched")
        self.release(c["id"])
        for e in (a, b, c):
            self.wait_status(e["id"], "success")

    def test_unknown_outcome_is_sent_again(self):
        calls = []

        def behave(board, method, payload):
            if method == "FunctionExecute":
                calls.append(payload["execution_id"])
                if len(calls) == 1:
                    return None  # never answered: the engine must try again
            return self.fw.default(board, method, payload)
        self.fw.behave = behave
        e = self.execute()
        self.wait_status(e["id"], "success", timeout=30)
        self.assertEqual(calls, [e["id"], e["id"]])

    def test_result_is_idempotent(self):
        self.fw.behave = self.hold
        e = self.execute()
        iottest.wait_until(lambda: e["id"] in self.held, what="dispatched")
        board = self.held[e["id"]]
        self.release(e["id"], "success", "first")
        self.wait_status(e["id"], "success")
        self.fw.later(0, lambda: self.fw.result(board, e["id"], "failed", "second"))
        self.fw.later(0, lambda: self.fw.result(
            "00000000-0000-0000-0000-000000000000", e["id"], "failed", "impostor"))
        time.sleep(1.5)
        self.assertEqual(json.loads(self.get(e["id"])["result"])["output"], "first")
        self.assertIn("dropped", self.st.engine.log_text())

    def test_accepted_but_never_reported(self):
        self.fw.behave = self.hold
        e = self.execute()
        e = self.wait_status(e["id"], "error", timeout=30)
        self.assertEqual(json.loads(e["result"])["output"],
                         "Board %s did not report the result in time." % self.board)

    def test_board_not_connected_then_online(self):
        self.fw.behave = lambda b, m, p: ({"outcome": "not_connected"}
                                          if m == "FunctionExecute" else self.fw.default(b, m, p))
        e = self.execute()
        self.wait_status(e["id"], "pending")
        self.fw.behave = self.fw.default
        self.fw.board_event(self.board, "board.online")
        self.wait_status(e["id"], "success")
        self.assertTrue(self.fw.methods("FunctionStatus"))

    def test_offline_then_online_dispatches_pending(self):
        self.st.sql("UPDATE boards SET status = 'offline' WHERE uuid = :'p1'", self.board)
        e = self.execute()
        self.assertEqual(e["status"], "pending")
        time.sleep(1.5)
        self.assertEqual(self.get(e["id"])["status"], "pending")
        self.st.sql("UPDATE boards SET status = 'online' WHERE uuid = :'p1'", self.board)
        self.fw.board_event(self.board, "board.online")
        self.wait_status(e["id"], "success")

    def test_lost_board_resends_what_it_forgot(self):
        self.fw.behave = self.hold
        e = self.execute()
        iottest.wait_until(lambda: e["id"] in self.held, what="accepted")
        self.held.clear()  # the board lost its state directory
        self.fw.behave = self.fw.default
        self.fw.board_event(self.board, "board.online")
        e = self.wait_status(e["id"], "success")
        self.assertIn("does not know it; sending it again", self.st.engine.log_text())

    def test_engine_killed_with_executions_queued(self):
        self.st.engine.kill9()
        ids = [self.execute()["id"] for _ in range(3)]
        time.sleep(0.5)
        self.assertTrue(all(self.get(i)["status"] in ("running", "pending") for i in ids))
        self.st.start_engine()
        for i in ids:
            self.wait_status(i, "success")

    def test_engine_killed_mid_call_resumes(self):
        self.fw.behave = self.hold
        e = self.execute()
        iottest.wait_until(lambda: e["id"] in self.held, what="accepted")
        self.st.engine.kill9()
        self.release(e["id"], "success", "after restart")
        time.sleep(0.5)
        self.st.start_engine()
        e = self.wait_status(e["id"], "success")
        self.assertEqual(json.loads(e["result"])["output"], "after restart")

    def test_unannounced_row_is_swept(self):
        """A row committed by an API that died before publishing (3.6 Accept)."""
        self.st.sql("INSERT INTO executions (id, function_id, status, board_id, pending_timeout, "
                    "deadline, package_sha256, runtime_id, runtime_sha256, project_id, "
                    "created_at) SELECT gen_random_uuid(), f.id, 'running', f.board_id, 30, "
                    "now() + interval '30 seconds', f.package_sha256, r.id, r.image_sha256, "
                    "'p1', now() - interval '3 seconds' FROM functions f JOIN runtimes r ON "
                    "r.id = f.runtime_id WHERE f.id = :'p1'", self.fn["id"])
        eid = self.st.sql("SELECT id FROM executions WHERE function_id = :'p1'", self.fn["id"])[0][0]
        self.wait_status(eid, "success")

    def test_deadline_on_a_full_board(self):
        self.fw.behave = self.hold
        first = self.execute()
        iottest.wait_until(lambda: first["id"] in self.held, what="accepted")
        late = self.execute(pending_timeout=1)
        late = self.wait_status(late["id"], "error")
        self.assertEqual(json.loads(late["result"])["output"],
                         "No board became available before the execution deadline.")

    def test_purges_and_blob_collection(self):
        e = self.execute()
        self.wait_status(e["id"], "success")
        self.st.sql("UPDATE boards SET status = 'offline' WHERE uuid = :'p1'", self.board)
        sha = self.fn["code"]["sha256"]
        self.assertEqual(self.st.call("DELETE", "/v1/functions/" + self.fn["id"]).status, 204)
        time.sleep(1.5)
        self.assertEqual(self.fw.methods("FunctionRemove"), [])  # owed, board offline
        self.assertEqual(len(self.st.sql("SELECT 1 FROM board_purges")), 1)
        self.st.sql("UPDATE boards SET status = 'online' WHERE uuid = :'p1'", self.board)
        self.fw.board_event(self.board, "board.online")
        iottest.wait_until(lambda: self.fw.methods("FunctionRemove"), what="FunctionRemove")
        board, _, payload = self.fw.methods("FunctionRemove")[0]
        self.assertEqual((board, payload["function_id"], payload["function_version"],
                          payload["purge"]), (self.board, self.fn["id"], None, [sha]))
        iottest.wait_until(lambda: self.st.sql("SELECT 1 FROM board_purges") == [],
                           what="purge acknowledged")
        # blob_grace 0: the unreferenced package goes, row and file.
        path = os.path.join(self.st.storage, "blobs", sha[:2], sha)
        iottest.wait_until(lambda: not os.path.exists(path), timeout=15, what="blob collected")
        self.assertEqual(self.st.sql("SELECT 1 FROM blobs WHERE sha256 = :'p1'", sha), [])

    def test_runtime_delete_purges_board_caches(self):
        rid = self.st.runtime("busybox")
        sha = self.st.call("GET", "/v1/runtimes/" + rid).json["image_sha256"]
        self.st.sql("UPDATE board_capabilities SET caps = jsonb_set(caps, '{cache,runtimes}', "
                    "jsonb_build_array(:'p1'::text)) WHERE board_uuid = :'p2'", sha, self.board)
        self.assertEqual(self.st.call("DELETE", "/v1/runtimes/" + rid, admin=True).status, 204)
        iottest.wait_until(lambda: self.fw.methods("CachePurge"), what="CachePurge")
        board, _, payload = self.fw.methods("CachePurge")[0]
        self.assertEqual((board, payload), (self.board, {"purge": [sha]}))

    def test_scale_up_deploys_warm_containers(self):
        r = self.st.call("POST", "/v1/functions/%s/scale_up" % self.fn["id"], {"count": 2},
                         admin=True)
        self.assertEqual(r.status, 202)
        iottest.wait_until(lambda: self.fw.methods("FunctionDeploy"), what="FunctionDeploy")
        board, _, payload = self.fw.methods("FunctionDeploy")[0]
        self.assertEqual((board, payload["keep_warm"], payload["function_id"]),
                         (self.board, 2, self.fn["id"]))
        self.assertNotIn("execution_id", payload)
        self.assertEqual(payload["runtime"]["sha256"],
                         self.st.call("GET", "/v1/runtimes/" + self.rid).json["image_sha256"])

    def test_function_status_mirrors_workers(self):
        self.fw.status[self.board] = {
            "running": [], "known": [],
            "warm": [{"container_id": "lr-aaaa", "function_id": self.fn["id"],
                      "function_version": 0, "created_at": "2026-11-25T10:00:00.000000Z",
                      "last_used_at": None}]}
        self.fw.board_event(self.board, "board.online")
        iottest.wait_until(lambda: self.st.call(
            "GET", "/v1/functions/%s/workers" % self.fn["id"], admin=True).json["workers"],
            what="workers mirrored")
        w = self.st.call("GET", "/v1/functions/%s/workers" % self.fn["id"],
                         admin=True).json["workers"][0]
        self.assertEqual((w["worker_name"], w["state"]), ("%s/lr-aaaa" % self.board, "warm"))

    def test_metrics(self):
        import http.client
        port = iottest.free_port()
        st = qinlingtest.Stack(engine=True, extra={
            "engine": {"admin_listen": "127.0.0.1:%d" % port}}).start()
        fw = qinlingtest.FakeWagent(st.url, name="metrics").start()
        try:
            board = st.add_board(agent="metrics", caps=qinlingtest.caps())
            f = st.function(st.runtime("busybox"), {"main.sh": "x"}, board_id=board)
            self.assertEqual(st.call("POST", "/v1/executions",
                                     {"function_id": f["id"]}).json["status"], "success")
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/metrics")
            text = c.getresponse().read().decode()
            self.assertRegex(text, r"(?m)^qinling_engine_results_total 1$")
            self.assertRegex(text, r"(?m)^qinling_engine_dispatched_total 1$")
            self.assertIn("qinling_engine_lost_total", text)
        finally:
            fw.stop()
            st.stop()

    def test_clean_stop(self):
        self.st.engine.signal(signal.SIGTERM)
        self.assertEqual(self.st.engine.wait(20), 0)


class StartupRefusals(unittest.TestCase):
    def test_short_secret(self):
        import subprocess
        st = qinlingtest.Stack(extra={"engine": {"board_token_secret": "short"}})
        conf = st.write_conf()
        r = subprocess.run([iottest.bin_path("qinling-engine"), "--config-file", conf],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 78)
        self.assertIn("board_token_secret must be at least 32 bytes", r.stderr)


if __name__ == "__main__":
    iottest.main()
