#!/usr/bin/python3
# timeout: 900
"""The deviceless service end to end: the real cloud (API, conductor,
wagent), qinling-api and qinling-engine, real lightning-rod-c boards with the
simulated IO backend, and real crun containers (deviceless-api.md; the
acceptance items of the issue, in order, then the GPIO and fault cases).

The runtimes are the archives of tools/build-runtimes.sh, built once per
build directory."""

import base64
import hashlib
import json
import os
import signal
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iotstack  # noqa: E402
import iottest  # noqa: E402
import qinlingtest  # noqa: E402

AGENT_CONF = {"io": {"sim_chips": "sim0:32"}, "function": {"max_concurrency": 2}}

GPIO_FN = '''
import json, socket, time

def main(line=17, value=1, **kw):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("/run/iotronic/io.sock")
    f = s.makefile("rw")
    f.write(json.dumps({"id": 1, "op": "gpio_write", "chip": "sim0", "line": line,
                        "value": value}) + "\\n")
    f.flush()
    reply = json.loads(f.readline())
    if not reply.get("ok"):
        raise RuntimeError("%s: %s" % (reply.get("error"), reply.get("message")))
    return {"line": line, "value": value}
'''


def skip_reason():
    missing = iotstack.missing_binaries(iotstack.CLOUD_BINARIES + (
        "lightning-rod-c", "lrc-probe", "qinling-api", "qinling-engine"))
    return "not built: " + ", ".join(missing) if missing else None


@unittest.skipIf(skip_reason(), skip_reason())
class Deviceless(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cloud = iotstack.Cloud()
        cls.st = qinlingtest.Stack(engine=True, db=cls.cloud.db, vhost=cls.cloud.vhost,
                                   extra={"engine": {"board_call_timeout": 10}}).start()
        cls.a1 = cls.cloud.agent("b1", conf=AGENT_CONF)
        cls.a2 = cls.cloud.agent("b2", conf=AGENT_CONF)
        cls.b1 = cls.a1.register()
        cls.b2 = cls.a2.register()
        s, _, fleet, raw = cls.cloud.http("POST", "/v1/fleets", {"name": "street"})
        assert s == 201, raw
        cls.fleet = fleet["uuid"]
        for b in (cls.b1, cls.b2):
            s, _, _, raw = cls.cloud.http("PATCH", "/v1/boards/" + b, {"fleet": cls.fleet})
            assert s == 200, raw
        for b in (cls.b1, cls.b2):
            iottest.wait_until(lambda: cls.executor(b) == "crun", timeout=30,
                               what="board %s capabilities" % b)
        # 1. runtimes from the archives
        cls.busybox = cls.st.runtime("busybox")
        cls.python3 = cls.st.runtime("python3")

    @classmethod
    def tearDownClass(cls):
        cls.st.stop()  # fails on a sanitizer report or an unclean exit

    @classmethod
    def executor(cls, board):
        rows = cls.st.sql("SELECT caps->>'executor' FROM board_capabilities "
                          "WHERE board_uuid = :'p1'", board)
        return rows[0][0] if rows else None

    def run_fn(self, fid, **body):
        body["function_id"] = fid
        r = self.st.call("POST", "/v1/executions", body)
        self.assertEqual(r.status, 201, r)
        return r.json

    def wait_done(self, eid, timeout=60):
        return iottest.wait_until(lambda: (lambda e: e if e["status"] in
                                           ("success", "failed", "error") else None)(
            self.st.call("GET", "/v1/executions/" + eid).json), timeout=timeout,
            what="execution %s finished" % eid)

    def output(self, e):
        return json.loads(e["result"])["output"]

    def log(self, eid):
        return self.st.call("GET", "/v1/executions/%s/log" % eid).raw.decode()

    def create(self, files, runtime=None, **fields):
        pkg = qinlingtest.make_zip(files)
        r = self.st.multipart("POST", "/v1/functions", dict({
            "code": json.dumps({"source": "package", "md5sum": hashlib.md5(pkg).hexdigest()}),
            "runtime_id": runtime or self.busybox}, **{k: v if isinstance(v, str) else json.dumps(v)
                                                       for k, v in fields.items()}),
            {"package": ("pkg.zip", pkg)})
        self.assertEqual(r.status, 201, r)
        return r.json

    def test_1_lifecycle(self):
        # 2. a function from a zip (multipart, as python-qinlingclient sends it)
        f = self.create({"main.sh": 'echo "running on $BOARD_ID"\n'
                                    'cat > /tmp/in; echo "{\\"v\\": 1, \\"in\\": $(cat /tmp/in)}" '
                                    '> "$FUNCTION_RESULT"\n'}, name="lifecycle")
        fid = f["id"]
        # 3. sync on a chosen board, async on the other, and on the fleet
        e = self.run_fn(fid, board_id=self.b1, input='{"x": 1}')
        self.assertEqual((e["status"], e["board_id"], e["executor"]), ("success", self.b1, "crun"))
        # 4. result and log
        self.assertEqual(self.output(e), {"v": 1, "in": {"x": 1}})
        self.assertIn("running on %s" % self.b1, self.log(e["id"]))
        a = self.run_fn(fid, board_id="b2", sync=False)
        self.assertIn(a["status"], ("running", "pending"))
        a = self.wait_done(a["id"])
        self.assertEqual((a["status"], a["board_id"]), ("success", self.b2))
        e = self.run_fn(fid, fleet_id="street")
        self.assertEqual(e["status"], "success")
        self.assertIn(e["board_id"], (self.b1, self.b2))
        p = self.run_fn(fid, fleet_id=self.fleet, placement="all")
        self.assertEqual((p["status"], sorted(json.loads(p["result"])["output"])),
                         ("success", sorted([self.b1, self.b2])))
        self.assertIn("=== board %s execution" % min(self.b1, self.b2), self.log(p["id"]))
        # 5. update: the new code runs
        new = qinlingtest.make_zip({"main.sh": 'echo "{\\"v\\": 2}" > "$FUNCTION_RESULT"\n'})
        r = self.st.call("PUT", "/v1/functions/" + fid, {
            "code": {"source": "package"}, "package": base64.b64encode(new).decode()})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.output(self.run_fn(fid, board_id=self.b1)), {"v": 2})
        # 6. a version and an alias, run through the alias
        v = self.st.call("POST", "/v1/functions/%s/versions" % fid, {"description": "v2"}).json
        newer = qinlingtest.make_zip({"main.sh": 'echo "{\\"v\\": 3}" > "$FUNCTION_RESULT"\n'})
        self.st.call("PUT", "/v1/functions/" + fid, {
            "code": {"source": "package"}, "package": base64.b64encode(newer).decode()})
        self.assertEqual(self.st.call("POST", "/v1/aliases", {
            "name": "stable", "function_id": fid,
            "function_version": v["version_number"]}).status, 201)
        e = self.st.call("POST", "/v1/executions", {"function_alias": "stable",
                                                    "board_id": self.b2}).json
        self.assertEqual((self.output(e), e["function_version"]), ({"v": 2}, 1))
        self.assertEqual(self.output(self.run_fn(fid, board_id=self.b2)), {"v": 3})
        # 7. a cron job fires on schedule (every 2 seconds, twice)
        job = self.st.call("POST", "/v1/jobs", {"function_id": fid, "board_id": self.b1,
                                                "pattern": "* * * * * */2", "count": 2}).json
        iottest.wait_until(lambda: self.st.call("GET", "/v1/jobs/" + job["id"]).json["status"]
                           == "done", timeout=20, what="job done")
        q = urllib.parse.urlencode({"description": "Created by Job " + job["id"]})
        runs = self.st.call("GET", "/v1/executions?" + q).json["executions"]
        self.assertEqual(len(runs), 2)
        for run in runs:
            self.assertEqual(self.wait_done(run["id"])["status"], "success")
        # 8. a webhook invoke gives an execution
        w = self.st.call("POST", "/v1/webhooks", {"function_id": fid, "board_id": self.b2}).json
        r = self.st.request("POST", urllib.parse.urlparse(w["webhook_url"]).path + "?from=hook")
        self.assertEqual(r.status, 202, r)
        e = self.wait_done(r.json["execution_id"])
        self.assertEqual((e["status"], json.loads(e["input"])), ("success", {"from": "hook"}))
        # 9. delete: the boards' caches are cleaned
        self.st.call("DELETE", "/v1/webhooks/" + w["id"])
        self.st.call("DELETE", "/v1/aliases/stable")
        shas = {f["code"]["sha256"], v["package_sha256"],
                self.st.call("GET", "/v1/functions/" + fid).json["code"]["sha256"]}
        cache = os.path.join(self.a1.dir, "cache", "packages")
        self.assertTrue(any(os.path.exists(os.path.join(cache, s)) for s in shas))
        self.assertEqual(self.st.call("DELETE", "/v1/functions/" + fid).status, 204)
        for agent in (self.a1, self.a2):
            cache = os.path.join(agent.dir, "cache", "packages")
            iottest.wait_until(lambda: not any(os.path.exists(os.path.join(cache, s))
                                               for s in shas), timeout=30,
                               what="%s package cache cleaned" % agent.name)
        iottest.wait_until(lambda: self.st.sql("SELECT 1 FROM board_purges") == [], timeout=30,
                           what="purges acknowledged")

    def test_2_python_runtime(self):
        f = self.create({"hello.py": "def main(name='world', context=None):\n"
                                     "    print('hi', name)\n"
                                     "    return {'hello': name, 'ctx': context['board_id']}\n"},
                        runtime=self.python3, entry="hello.main")
        e = self.run_fn(f["id"], board_id=self.b2, input='{"name": "iot"}')
        self.assertEqual(e["status"], "success", self.log(e["id"]))
        self.assertEqual(self.output(e), {"hello": "iot", "ctx": self.b2})
        log = self.log(e["id"])
        self.assertIn("Start execution: %s" % e["id"], log)
        self.assertIn("hi iot", log)
        e = self.run_fn(f["id"], board_id=self.b2, input="plain words")
        self.assertEqual(self.output(e), {"hello": "plain words", "ctx": self.b2})

    def test_3_gpio_declared_and_denied(self):
        line = lambda: self.a1.sim("get-line", "sim0", "17")["value"]  # noqa: E731
        start = line()
        allowed = self.create({"gpio.py": GPIO_FN}, runtime=self.python3, entry="gpio.main",
                              devices=["gpio:sim0:17:out"])
        e = self.run_fn(allowed["id"], board_id=self.b1, input='{"value": %d}' % (1 - start))
        self.assertEqual(e["status"], "success", self.log(e["id"]))
        self.assertEqual(line(), 1 - start)
        e = self.run_fn(allowed["id"], board_id=self.b1, input='{"value": %d}' % start)
        self.assertEqual(line(), start)
        denied = self.create({"gpio.py": GPIO_FN}, runtime=self.python3, entry="gpio.main")
        e = self.run_fn(denied["id"], board_id=self.b1, input='{"value": %d}' % (1 - start))
        self.assertEqual(e["status"], "failed")
        self.assertIn("denied", self.output(e))
        self.assertEqual(line(), start)
        # Declared as an input: reading is allowed, writing is denied. (Line 17
        # is held as an output by the HAL now, so another line.)
        wrong = self.create({"gpio.py": GPIO_FN}, runtime=self.python3, entry="gpio.main",
                            devices=["gpio:sim0:18:in"])
        e = self.run_fn(wrong["id"], board_id=self.b1, input='{"line": 18, "value": 1}')
        self.assertEqual(e["status"], "failed", (e, self.log(e["id"])))
        self.assertIn("denied", self.output(e))

    def test_4_timeout_kills(self):
        f = self.create({"main.sh": "echo start; sleep 30; echo never\n"}, timeout=1)
        t0 = time.monotonic()
        e = self.run_fn(f["id"], board_id=self.b1)
        self.assertLess(time.monotonic() - t0, 15)
        self.assertEqual((e["status"], self.output(e)), ("failed", "Function execution timeout."))
        self.assertIn("start", self.log(e["id"]))
        self.assertNotIn("never", self.log(e["id"]))

    def test_5_client_errors(self):
        r = self.st.call("POST", "/v1/functions", {
            "code": {"source": "package"}, "runtime_id": self.busybox,
            "package": base64.b64encode(b"just text").decode()})
        self.assertEqual((r.status, r.json["faultstring"]),
                         (400, "Package is not a valid ZIP or tar.gz package."))
        pkg = qinlingtest.make_zip({"main.sh": "x"})
        r = self.st.multipart("POST", "/v1/functions", {
            "code": json.dumps({"source": "package", "md5sum": "f" * 32}),
            "runtime_id": self.busybox}, {"package": ("p.zip", pkg)})
        self.assertEqual((r.status, r.json["faultstring"]), (400, "Package md5 mismatch."))
        r = self.st.call("POST", "/v1/functions", {
            "code": {"source": "package"}, "runtime_id": "0" * 32,
            "package": base64.b64encode(pkg).decode()})
        self.assertEqual(r.status, 404)
        f = self.create({"main.sh": "x"})
        r = self.st.call("POST", "/v1/executions", {"function_id": f["id"], "board_id": self.b1,
                                                    "input": "x" * 70000})
        self.assertEqual((r.status, r.json["faultstring"]), (400, "Input exceeds 65536 bytes."))

    def test_6_board_disconnects_during_async(self):
        f = self.create({"main.sh": "sleep 3; echo '\"survived\"' > \"$FUNCTION_RESULT\"\n"},
                        timeout=20)
        e = self.run_fn(f["id"], board_id=self.b2, sync=False)
        iottest.wait_until(lambda: self.st.call("GET", "/v1/executions/" + e["id"])
                           .json["timing"]["received_at"], timeout=30, what="accepted")
        w = self.cloud.wagents[0]
        w.stop()  # the board loses its connection while the function runs
        time.sleep(4)
        w.start()
        self.a2.wait_online(timeout=60)
        e = self.wait_done(e["id"], timeout=60)
        self.assertEqual((e["status"], self.output(e)), ("success", "survived"))

    def test_7_engine_killed_with_executions_queued(self):
        f = self.create({"main.sh": "echo '\"queued\"' > \"$FUNCTION_RESULT\"\n"})
        self.st.engine.kill9()
        ids = [self.run_fn(f["id"], board_id=self.b1, sync=False)["id"] for _ in range(3)]
        self.st.start_engine()
        for eid in ids:
            e = self.wait_done(eid)
            self.assertEqual((e["status"], self.output(e)), ("success", "queued"))


if __name__ == "__main__":
    iottest.main()
