#!/usr/bin/python3
# needs: nothing (the all-in-one runner starts its own PostgreSQL and RabbitMQ)
"""The smart-city demo end to end, through the all-in-one runner.

`devstack/iotronic-aio start` brings up the whole stack in a private state
directory (its own PostgreSQL and RabbitMQ, the five daemons, two simulated
boards); the scenario of `make demo` (devstack/aiolib/scenario.py) then runs
step by step, and every step's outcome is checked here independently of
what the scenario prints: the boards in the API and on the agents, the page
through the tunnel, the function's execution, the trigger's installation,
the street light's GPIO line before and after dusk on board B, the firing's
timestamps and latency. Last, `iotronic-aio stop` must leave nothing: no
process, no listening port, no shared-memory segment, no directory.
"""

import json
import os
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(iottest.ROOT, "devstack"))
from aiolib import procs, scenario, servers  # noqa: E402
from aiolib.stack import Stack  # noqa: E402

AIO = os.path.join(iottest.ROOT, "devstack", "iotronic-aio")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
NEEDED = ("iotronic-dbsync", "iotronic-conductor", "iotronic-wagent", "iotronic-api",
          "qinling-engine", "qinling-api", "lightning-rod-c", "lrc-probe")


def aio(state_dir, *args, timeout=180):
    return subprocess.run(["/usr/bin/python3", AIO, "--state-dir", state_dir] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def runtimes_dir():
    """The runtime archives, built once per build directory."""
    d = os.path.join(iottest.BUILD, "runtimes")
    if not os.path.exists(os.path.join(d, "python3.tar.gz")):
        subprocess.run([os.path.join(iottest.ROOT, "tools", "build-runtimes.sh"), d],
                       check=True, stdout=subprocess.DEVNULL)
    return d


class TestDemo(unittest.TestCase):
    """The steps run in order on one stack; a failed step skips the rest."""

    failed = None

    @classmethod
    def setUpClass(cls):
        missing = [n for n in NEEDED if not os.access(iottest.bin_path(n), os.X_OK)]
        if missing:
            raise unittest.SkipTest("not built: %s" % ", ".join(missing))
        if os.geteuid() != 0:
            raise unittest.SkipTest("the all-in-one runner needs root")
        cls.runtimes = runtimes_dir()
        parent = iottest.tmpdir("aio-")
        os.chmod(parent, 0o755)  # PostgreSQL and RabbitMQ run as their own users
        cls.dir = os.path.join(parent, "stack")
        cls.stopped = False
        r = aio(cls.dir, "start", "--build", iottest.BUILD, "--boards", "2")
        cls.start_output = r.stdout
        if r.returncode != 0:
            aio(cls.dir, "stop")
            raise AssertionError("iotronic-aio start failed (%d):\n%s%s"
                                 % (r.returncode, r.stdout, r.stderr))
        cls.stack = Stack(cls.dir)
        cls.stack.load()
        cls.lines = []
        cls.demo = scenario.Demo(cls.stack, out=cls.lines.append, runtimes_dir=cls.runtimes)
        cls.api = "http://127.0.0.1:%d" % cls.stack.st["ports"]["iotronic-api"]

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "demo"):
            cls.demo.close()
        if hasattr(cls, "dir") and not cls.stopped:
            aio(cls.dir, "stop")

    def setUp(self):
        if TestDemo.failed:
            self.skipTest("an earlier step failed: %s" % TestDemo.failed)

    def run_step(self, method):
        try:
            return getattr(self.demo, method)()
        except BaseException as e:
            TestDemo.failed = method
            raise AssertionError("%s: %s\nscenario output:\n%s\nlogs: %s"
                                 % (method, e, "\n".join(self.lines), self.log_tails()))

    def log_tails(self):
        return "\n".join("--- %s\n%s" % (r["name"], procs.tail(r["log"], 15))
                         for r in self.stack.st["procs"] if "board" in r["name"] or
                         r["name"].startswith(("iotronic", "qinling")))

    def sim(self, key, *args):
        return self.demo.sim(self.demo.boards[key]["agent"], *args)

    # ------------------------------------------------------------ the stack

    def test_0_start_runs_every_daemon_and_two_boards(self):
        for name in ("postgres", "rabbitmq", "iotronic-conductor", "iotronic-wagent",
                     "iotronic-api", "qinling-engine", "qinling-api", "board-1", "board-2"):
            rec = self.stack.proc(name)
            self.assertIsNotNone(rec, name)
            self.assertTrue(procs.alive(rec), name)
        # PostgreSQL and RabbitMQ run as their own users.
        for name, user in (("postgres", "postgres"), ("rabbitmq", "rabbitmq")):
            with open("/proc/%d/status" % self.stack.proc(name)["pid"]) as f:
                uid = [line.split()[1] for line in f if line.startswith("Uid:")][0]
            import pwd
            self.assertEqual(int(uid), pwd.getpwnam(user).pw_uid, name)
        # Every port on loopback only.
        ports = [p for r in self.stack.st["procs"] for p in r.get("ports", [])]
        self.assertEqual(procs.listening(ports), sorted(set(ports)))
        r = aio(self.dir, "status", "--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        doc = json.loads(r.stdout)
        self.assertTrue(all(p["running"] for p in doc["processes"]), doc)
        self.assertEqual(doc["boards"], [])

    def test_0_env_points_the_cli_and_curl_at_the_stack(self):
        r = aio(self.dir, "env")
        self.assertEqual(r.returncode, 0)
        env = dict(line[len("export "):].split("=", 1) for line in r.stdout.splitlines()
                   if line.startswith("export "))
        self.assertEqual(env["IOTRONIC_URL"], self.api)
        self.assertEqual(env["OS_AUTH_TYPE"], "none")
        self.assertTrue(env["OS_AUTH_TOKEN"])
        self.assertEqual(env["QINLING_URL"],
                         "http://127.0.0.1:%d" % self.stack.st["ports"]["qinling-api"])
        with urllib.request.urlopen(env["IOTRONIC_URL"] + "/v1/boards", timeout=10) as resp:
            self.assertEqual(resp.status, 200)
        with urllib.request.urlopen(env["QINLING_URL"] + "/v1/functions", timeout=10) as resp:
            self.assertEqual(resp.status, 200)

    # ------------------------------------------------------------ the steps

    def test_1_register_two_boards_with_codes(self):
        boards = self.run_step("register")
        self.assertEqual(sorted(boards), ["A", "B"])
        for key, b in boards.items():
            self.assertEqual(b["status"], "registered")
            doc = self.demo.iot.get("/v1/boards/%s" % b["uuid"])
            self.assertEqual((doc["name"], doc["code"]), (b["name"], b["code"]))
            with open(os.path.join(b["agent"]["dir"], "state", "settings.json")) as f:
                self.assertIn(b["code"], f.read())

    def test_2_both_online_and_answering(self):
        found = self.run_step("online")
        for key in "AB":
            f = found[key]
            self.assertEqual(f["status"], "online")
            self.assertEqual(f["board_state"], "online")
            self.assertEqual(f["agent"], "aio")
            self.assertTrue(f["lr_version"].startswith("lrc-"), f)
            self.assertIsInstance(f["ping"], str)
            self.assertTrue(f["ping"])
        r = aio(self.dir, "status", "--json")
        boards = json.loads(r.stdout)["boards"]
        self.assertEqual(sorted(b[2] for b in boards), ["online", "online"])

    def test_3_web_panel_through_a_tunnel(self):
        web = self.run_step("expose_web")
        low, high = self.stack.st["ports"]["service-ports"]
        self.assertTrue(low <= web["public_port"] <= high, web)
        self.assertIn("Street cabinet board-2", web["page"])
        self.assertEqual(procs.listening([web["public_port"]]), [web["public_port"]])
        exposed = self.demo.iot.get("/v1/boards/%s/services" % self.demo.boards["B"]["uuid"])
        self.assertEqual([e["public_port"] for e in exposed["exposed"]], [web["public_port"]])

    def test_4_runtime_and_street_light_function(self):
        f = self.run_step("function")
        self.assertEqual(f["runtime"]["status"], "available")
        self.assertEqual(f["function"]["devices"], ["gpio:sim0:3:out"])
        self.assertEqual(f["function"]["board_id"], self.demo.boards["B"]["uuid"])
        self.assertEqual(f["execution"]["status"], "success")
        self.assertEqual(f["result"]["output"]["street_light"], "off")
        line = self.sim("B", "get-line", "sim0", "3")
        self.assertEqual((line["value"], line["direction"]), (0, "output"))
        self.assertGreaterEqual(line["writes"], 1)

    def test_5_dusk_trigger_installed_on_board_a(self):
        tr = self.run_step("trigger")
        self.assertEqual(tr["status"], "active")
        self.assertFalse(tr["local"])
        self.assertEqual(tr["source"]["board_id"], self.demo.boards["A"]["uuid"])
        self.assertEqual(tr["target"]["board_id"], self.demo.boards["B"]["uuid"])
        state = json.loads(self.demo.lrc(self.demo.boards["A"]["agent"], "status", "--json"))
        self.assertIn(tr["id"], json.dumps(state.get("triggers")))

    def test_6_dusk_turns_the_street_light_on(self):
        a = self.run_step("actuate")
        self.assertEqual(a["before"]["value"], 0)
        self.assertEqual((a["after"]["value"], a["after"]["direction"]), (1, "output"))
        self.assertEqual((a["write"]["chip"], a["write"]["line"], a["write"]["value"]),
                         ("sim0", 3, 1))
        f = a["firing"]
        self.assertEqual(f["board_id"], self.demo.boards["A"]["uuid"])
        self.assertLess(f["value"], scenario.THRESHOLD_LX)
        t = {k: scenario.iso_to_epoch(f[k]) for k in
             ("sampled_at", "fired_at", "received_at", "executed_at", "actuated_at")}
        self.assertLessEqual(t["sampled_at"], t["fired_at"])
        self.assertLessEqual(t["fired_at"], t["received_at"])
        self.assertLessEqual(t["executed_at"], t["actuated_at"])
        latency = float(f["latency_ms"])
        self.assertAlmostEqual(latency, (t["actuated_at"] - t["sampled_at"]) * 1000, delta=0.01)
        self.assertGreater(latency, 0)
        self.assertLess(latency, 10000)
        ex = a["execution"]
        self.assertEqual(ex["status"], "success")
        self.assertEqual(ex["board_id"], self.demo.boards["B"]["uuid"])
        out = json.loads(ex["result"])["output"]
        self.assertEqual(out["street_light"], "on")
        self.assertAlmostEqual(float(out["lux"]), 4.0)
        sys.stdout.write("# sensor -> actuator latency across two boards: %.3f ms "
                         "(sensor set -> line written: %.1f ms)\n" % (latency, a["wall_ms"]))

    def test_7_the_epilogue_says_how_to_explore_and_stop(self):
        self.demo.epilogue("iotronic-aio")
        text = "\n".join(self.lines)
        self.assertIn("env", text)
        self.assertIn("iotronic-aio stop", text)

    # ------------------------------------------------------------ stop

    def test_8_stop_leaves_nothing_behind(self):
        TestDemo.failed = None  # stop is checked whatever happened before
        st = self.stack.st
        ports = [p for r in st["procs"] for p in r.get("ports", [])]
        ports += [b["web_port"] for b in st["boards"]]
        pids = [r["pid"] for r in st["procs"]]
        shm = st.get("pg_shm")
        containers = self.stack.container_ids()
        # Keep the logs for the sanitizer check (make check SANITIZE=1).
        r = aio(self.dir, "stop", "--keep-logs")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        logs = os.path.join(self.dir, "logs")
        for name in sorted(os.listdir(logs)):
            with open(os.path.join(logs, name), errors="replace") as f:
                text = f.read()
            for marker in SANITIZER_MARKERS:
                self.assertNotIn(marker, text, "%s:\n%s" % (name, text[-3000:]))
        r = aio(self.dir, "stop")
        TestDemo.stopped = True
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.exists(self.dir), "the state directory is still there")
        for rec in st["procs"]:
            self.assertFalse(procs.alive(rec), "%s still runs" % rec["name"])
            self.assertEqual(procs.group_members(rec["pid"]), [], rec["name"])
        self.assertEqual(procs.referencing(self.dir), [])
        self.assertEqual(procs.listening(ports), [])
        # The warm container of the street-light function, and any other the
        # boards made, is gone with its cgroups.
        self.assertEqual(procs.container_cgroups(containers), [])
        if shm:
            self.assertFalse(servers.sysv_segment_exists(shm[1]), "PostgreSQL's segment")
        # Nothing of ours in /dev/shm either (PostgreSQL's dynamic segments
        # live in its data directory in this stack).
        self.assertEqual([p for p in pids if os.path.exists("/proc/%d" % p) and
                          open("/proc/%d/stat" % p).read().split()[2] != "Z"], [])
        time.sleep(0.1)
        r = aio(self.dir, "status")
        self.assertEqual(r.returncode, 1)
        self.assertIn("nothing runs", r.stdout)


class TestStopAfterCrashes(unittest.TestCase):
    """stop cleans up after processes that died badly: a PostgreSQL killed
    with SIGKILL (its backends and its System V segment stay behind) and a
    board agent killed with SIGKILL; --keep-logs keeps only the logs."""

    def test_stop_after_sigkill_leaves_nothing(self):
        missing = [n for n in NEEDED if not os.access(iottest.bin_path(n), os.X_OK)]
        if missing:
            self.skipTest("not built: %s" % ", ".join(missing))
        parent = iottest.tmpdir("aio-crash-")
        os.chmod(parent, 0o755)
        d = os.path.join(parent, "stack")
        r = aio(d, "start", "--build", iottest.BUILD, "--boards", "1")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        st = Stack(d)
        st.load()
        shm = st.st["pg_shm"]
        self.assertTrue(shm and servers.sysv_segment_exists(shm[1]))
        for name in ("postgres", "board-1"):
            os.kill(st.proc(name)["pid"], 9)
        iottest.wait_until(lambda: not procs.alive(st.proc("postgres")), timeout=10,
                           what="postgres killed")
        r = aio(d, "status")
        self.assertEqual(r.returncode, 1, "status must say something died")
        self.assertIn("DEAD", r.stdout)
        containers = st.container_ids()  # the agent's startup probe, maybe half made
        # --keep-logs: everything stops, only the logs and configs stay.
        r = aio(d, "stop", "--keep-logs")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(servers.sysv_segment_exists(shm[1]), r.stdout)
        self.assertEqual(procs.container_cgroups(containers), [], r.stdout)
        self.assertEqual(sorted(os.listdir(d)), ["etc", "logs", "state.json.stopped"])
        self.assertIn("iotronic-wagent.log", os.listdir(os.path.join(d, "logs")))
        self.assertEqual(procs.referencing(d), [])
        # A second stop removes what the first kept.
        r = aio(d, "stop")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.exists(d))
        ports = [p for rec in st.st["procs"] for p in rec.get("ports", [])]
        self.assertEqual(procs.listening(ports), [])
        for rec in st.st["procs"]:
            self.assertEqual(procs.group_members(rec["pid"]), [], rec["name"])


if __name__ == "__main__":
    iottest.main()
