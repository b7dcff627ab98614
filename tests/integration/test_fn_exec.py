#!/usr/bin/python3
# needs: nothing
"""The board's function executor with real crun containers (deviceless-api.md 3.5, 4).

fntest hosts the executor with the simulated HAL and IO sockets; a local
HTTP server plays the service's blob endpoint. Runtimes are the real
busybox and python3 archives of tools/build-runtimes.sh. Runs as root, in
the private mount namespace crun 1.8.1 needs on this hybrid-cgroup host.
"""

import json
import os
import sys
import time
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools", "fntest"))
import iottest  # noqa: E402
import fnclient  # noqa: E402
from fnclient import payload, zip_package  # noqa: E402

RT = None
SRV = None


def setUpModule():
    global RT, SRV
    if os.geteuid() != 0:
        raise unittest.SkipTest("crun containers need root here")
    RT = fnclient.runtimes()
    SRV = fnclient.BlobServer()


def tearDownModule():
    if SRV:
        SRV.close()


def sh_package(script, name="main.sh"):
    return SRV.add(zip_package({name: script}), "zip")


def py_package(source):
    return SRV.add(zip_package({"main.py": source}), "zip")


class Crun(unittest.TestCase):
    """One daemon for the behaviour of single executions."""

    @classmethod
    def setUpClass(cls):
        cls.fn = fnclient.Fntest(function={"max_log_size": 4096, "pids_limit": 16,
                                           "max_concurrency": 2}).start()
        cls.bb = fnclient.runtime_blob(SRV, "busybox", RT["busybox"])
        cls.py = fnclient.runtime_blob(SRV, "python3", RT["python3"])

    @classmethod
    def tearDownClass(cls):
        cls.fn.stop()

    def run_sh(self, script, **kw):
        reply, res = self.fn.run(payload(self.bb, sh_package(script), **kw))
        self.assertEqual(reply["kind"], "RUNNING", reply)
        return res

    def run_py(self, source, **kw):
        reply, res = self.fn.run(payload(self.py, py_package(source), **kw))
        self.assertEqual(reply["kind"], "RUNNING", reply)
        return res

    def test_caps_report_an_enforcing_crun_executor(self):
        caps = self.fn.caps()
        self.assertEqual(caps["executor"], "crun")
        d = caps["executor_detail"]
        self.assertEqual(d["cgroup"], "hybrid-private-ns")
        self.assertEqual(d["crun_version"], "1.8.1")
        self.assertEqual(d["enforced"], {"memory": True, "cpu": True, "pids": True,
                                         "devices": True, "seccomp": True})
        self.assertIsNone(d["error"])
        self.assertEqual(caps["max_concurrency"], 2)
        self.assertTrue(caps["io_socket"])

    def test_busybox_function_gets_stdin_and_returns_json(self):
        res = self.run_sh('echo "in: $(cat)"; echo \'{"lamp": "on"}\' > "$FUNCTION_RESULT"\n',
                          input='{"x": 1}')
        self.assertEqual(res["status"], "success", res)
        self.assertEqual(res["output"], {"lamp": "on"})
        self.assertEqual(res["logs"], 'in: {"x": 1}\n')
        self.assertEqual(res["exit_code"], 0)
        self.assertIsNone(res["signal"])
        self.assertEqual(res["executor"], "crun")
        self.assertTrue(res["container_id"].startswith("lr-") and len(res["container_id"]) == 19)
        self.assertGreater(res["duration"], 0)
        for key in ("received_at", "started_at", "finished_at"):
            self.assertTrue(res[key].endswith("Z"), res)

    def test_entry_file_or_first_dot_rule(self):
        pkg = SRV.add(zip_package({"job.sh": "echo job > $FUNCTION_RESULT\n",
                                   "tool": "echo tool > $FUNCTION_RESULT\n"}), "zip")
        _, res = self.fn.run(payload(self.bb, pkg, entry="job.run"))
        self.assertEqual(res["output"], "job")
        _, res = self.fn.run(payload(self.bb, pkg, entry="tool"))
        self.assertEqual(res["output"], "tool")

    def test_result_file_rules(self):
        self.assertEqual(self.run_sh('echo on > "$FUNCTION_RESULT"\n')["output"], "on")
        self.assertIsNone(self.run_sh("true\n")["output"])
        res = self.run_sh('printf "a\\377b" > "$FUNCTION_RESULT"\n')
        self.assertEqual(res["output"], "a\ufffdb")
        res = self.run_sh("exit 3\n")
        self.assertEqual((res["status"], res["output"], res["exit_code"]),
                         ("failed", "Function exited with status 3.", 3))
        res = self.run_sh('echo \'{"why": "bad"}\' > "$FUNCTION_RESULT"; exit 4\n')
        self.assertEqual((res["status"], res["output"]), ("failed", {"why": "bad"}))
        res = self.run_sh('head -c 70000 /dev/zero | tr "\\0" a > "$FUNCTION_RESULT"\n')
        self.assertEqual((res["status"], res["output"]),
                         ("failed", "Function result exceeds 65536 bytes."))
        # The function is pid 1 of its namespace: only a signal the kernel
        # raises (or the board sends) can kill it.
        res = self.run_py("import ctypes\ndef main(context=None):\n    ctypes.string_at(0)\n")
        self.assertEqual((res["status"], res["output"], res["signal"], res["exit_code"]),
                         ("failed", "Function was killed by signal 11.", 11, None))

    def test_python_calls_follow_qinling(self):
        src = ("def main(*args, context=None, **kw):\n"
               "    print('called', args, sorted(kw))\n"
               "    return {'args': list(args), 'kw': kw, 'id': context['execution_id'],\n"
               "            'board': context['board_id'], 's': context['os_session']}\n")
        p = payload(self.py, py_package(src), input='{"x": 5}')
        _, res = self.fn.run(p)
        self.assertEqual(res["status"], "success", res)
        self.assertEqual(res["output"], {"args": [], "kw": {"x": 5}, "id": p["execution_id"],
                                         "board": fnclient.BOARD, "s": None})
        self.assertIn("Start execution: %s\n" % p["execution_id"], res["logs"])
        self.assertIn("Finished execution: %s\n" % p["execution_id"], res["logs"])
        self.assertEqual(self.run_py(src, input='"hello"')["output"]["args"], ["hello"])
        self.assertEqual(self.run_py(src, input='[1, 2]')["output"]["args"], [[1, 2]])
        out = self.run_py(src)["output"]
        self.assertEqual((out["args"], out["kw"]), ([], {}))

    def test_python_exception_and_unserialisable_result(self):
        res = self.run_py("def main(context=None):\n    raise ValueError('no lamp')\n")
        self.assertEqual((res["status"], res["output"], res["exit_code"]),
                         ("failed", "no lamp", 1))
        self.assertIn("Traceback", res["logs"])
        self.assertIn("ValueError: no lamp", res["logs"])
        res = self.run_py("def main(context=None):\n    return {1, 2}\n")
        self.assertEqual(res["output"], "{1, 2}")

    def test_logs_are_capped_with_a_marker(self):
        res = self.run_sh("i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done\n")
        self.assertEqual(res["status"], "success")
        self.assertGreater(res["logs_dropped"], 0)
        self.assertTrue(res["logs"].startswith("line 0\n"))
        self.assertTrue(res["logs"].endswith("line 1999\n"))
        self.assertIn("[log truncated: %d bytes dropped]\n" % res["logs_dropped"], res["logs"])
        self.assertLessEqual(len(res["logs"]) - len("[log truncated: %d bytes dropped]\n"
                                                    % res["logs_dropped"]) - 1, 4096)

    def test_timeout_kills_the_container(self):
        t0 = time.monotonic()
        res = self.run_sh("echo start; sleep 30\n", timeout=1)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual((res["status"], res["output"], res["timed_out"]),
                         ("failed", "Function execution timeout.", True))
        self.assertEqual(res["signal"], 9)
        self.assertGreaterEqual(res["duration"], 1.0)
        self.assertIn("start", res["logs"])

    def test_memory_hog_is_reported_as_oom(self):
        res = self.run_sh('x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived\n',
                          memory_size=16 << 20)
        self.assertEqual((res["status"], res["output"], res["oom"]),
                         ("failed",
                          "Function execution failed because of too much resource consumption",
                          True))

    def test_pids_limit(self):
        # ash dies on the first fork the pids controller refuses; the result
        # file keeps the last count of processes it saw.
        res = self.run_sh("for i in $(seq 1 40); do "
                          "ls /proc | grep -c \"^[0-9]\" > $FUNCTION_RESULT; sleep 5 & done\n")
        self.assertEqual(res["status"], "failed", res)
        self.assertIn("can't fork", res["logs"])
        self.assertLessEqual(int(res["output"]), 16)
        self.assertGreater(int(res["output"]), 8)

    def test_declared_gpio_through_the_io_socket(self):
        src = ("import json, socket, os\n"
               "def req(s, f, o):\n"
               "    s.sendall((json.dumps(o) + '\\n').encode())\n"
               "    return json.loads(f.readline())\n"
               "def main(context=None):\n"
               "    s = socket.socket(socket.AF_UNIX)\n"
               "    s.connect(os.environ['IOTRONIC_IO_SOCKET'])\n"
               "    f = s.makefile('r')\n"
               "    return [req(s, f, {'id': 1, 'op': 'devices'}),\n"
               "            req(s, f, {'id': 2, 'op': 'gpio_write', 'chip': 'sim0', 'line': 17,"
               " 'value': 1}),\n"
               "            req(s, f, {'id': 3, 'op': 'gpio_write', 'chip': 'sim0', 'line': 3,"
               " 'value': 1}),\n"
               "            os.path.exists('/dev/gpiochip0'), os.listdir('/run/iotronic')]\n")
        res = self.run_py(src, devices=["gpio:sim0:17:out"])
        self.assertEqual(res["status"], "success", res)
        devs, w17, w3, devnode, listing = res["output"]
        self.assertEqual(devs["devices"], ["gpio:sim0:17:out"])
        self.assertTrue(w17["ok"])
        self.assertEqual((w3["ok"], w3["error"]), (False, "denied"))
        self.assertFalse(devnode)
        self.assertEqual(listing, ["io.sock"])
        self.assertIsNotNone(res["first_write_at"])
        line = self.fn.call("sim_get_line", chip="sim0", line=17)
        self.assertEqual((line["value"], line["direction"]), (1, "output"))
        self.assertGreaterEqual(line["writes"], 1)
        self.assertEqual(self.fn.call("sim_get_line", chip="sim0", line=3)["writes"], 0)

    def test_unknown_device_fails_to_start(self):
        res = self.run_sh("true\n", devices=["gpio:sim9:1:in"])
        self.assertEqual(res["status"], "error")
        self.assertTrue(res["output"].startswith(
            "Failed to start function container on board %s: " % fnclient.BOARD), res)

    def test_network_only_when_declared(self):
        script = 'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " " > $FUNCTION_RESULT\n'
        self.assertEqual(self.run_sh(script)["output"], "lo")
        host = self.run_sh(script, network="host")["output"]
        self.assertNotEqual(host, "lo")

    def test_code_and_rootfs_are_read_only(self):
        res = self.run_sh("for p in /code/x /bin/x /etc/x /tmp/x /run/iotronic/x; do "
                          "touch $p 2>/dev/null && echo $p writable || echo $p ro; done; "
                          "id -u; cat /proc/self/status | grep -E '^(Seccomp|CapEff):'\n")
        self.assertEqual(res["logs"].split("\n")[:6],
                         ["/code/x ro", "/bin/x ro", "/etc/x ro", "/tmp/x writable",
                          "/run/iotronic/x ro", "65534"])
        self.assertIn("Seccomp:\t2", res["logs"])
        self.assertIn("CapEff:\t0000000000000000", res["logs"])

    def test_seccomp_profile_holds_in_every_container(self):
        # The probe's compiled filter is reused for later containers
        # (run.oci.seccomp_bpf_data): it must refuse what the profile refuses.
        src = ("import ctypes, os\n"
               "libc = ctypes.CDLL(None, use_errno=True)\n"
               "def err(rc):\n"
               "    return ctypes.get_errno() if rc == -1 else rc\n"
               "def main(context=None):\n"
               "    return {'clone_ns': err(libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)),\n"
               "            'clone3': err(libc.syscall(435, 0, 0)),\n"
               "            'unshare': err(libc.unshare(0x10000000)),\n"
               "            'fork': os.waitpid(os.fork() or os._exit(0), 0)[1]}\n")
        res = self.run_py(src)
        self.assertEqual(res["output"], {"clone_ns": 1, "clone3": 38, "unshare": 1, "fork": 0})
        self.assertIn("run.oci.seccomp_bpf_data", open(self.sample_config()).read())

    def sample_config(self):
        # One container's config, written while it runs.
        p = payload(self.bb, sh_package("sleep 2\n"))
        self.assertEqual(self.fn.execute(p)["kind"], "RUNNING")
        cdir = os.path.join(self.fn.run_dir, "c")
        path = iottest.wait_until(
            lambda: [os.path.join(cdir, d, "config.json") for d in os.listdir(cdir)
                     if os.path.exists(os.path.join(cdir, d, "config.json"))],
            what="a bundle")[0]
        with open(path) as f:
            text = f.read()
        self.fn.result(p["execution_id"])
        out = os.path.join(self.fn.dir, "sample-config.json")
        with open(out, "w") as f:
            f.write(text)
        return out

    def test_config_json_is_the_contract_s(self):
        with open(self.sample_config()) as f:
            c = json.load(f)
        p = c["process"]
        self.assertFalse(p["terminal"])
        self.assertEqual(p["user"], {"uid": 65534, "gid": 65534})
        self.assertTrue(p["noNewPrivileges"])
        self.assertEqual(p["oomScoreAdj"], 500)
        self.assertEqual(set(p["capabilities"]), {"bounding", "effective", "inheritable",
                                                  "permitted", "ambient"})
        self.assertFalse(any(p["capabilities"].values()))
        self.assertEqual(c["root"]["readonly"], True)
        self.assertEqual(c["hostname"], "fn")
        ns = [n["type"] for n in c["linux"]["namespaces"]]
        self.assertEqual(ns, ["pid", "ipc", "uts", "mount", "network"])
        res = c["linux"]["resources"]
        self.assertEqual(res["memory"], {"limit": 64 << 20, "swap": 64 << 20})
        self.assertEqual(res["cpu"], {"quota": 50000, "period": 100000})
        self.assertEqual(res["pids"], {"limit": 16})
        self.assertEqual(res["devices"], [{"allow": False, "access": "rwm"}])
        self.assertTrue(c["linux"]["cgroupsPath"].startswith("/lightning-rod/lr-"))
        mounts = {m["destination"]: m for m in c["mounts"]}
        self.assertEqual(mounts["/code"]["options"], ["rbind", "ro", "nosuid", "nodev"])
        self.assertEqual(mounts["/run/iotronic"]["options"],
                         ["rbind", "ro", "nosuid", "nodev", "noexec"])
        self.assertIn("size=16777216", mounts["/tmp"]["options"])
        self.assertIn("size=8m", mounts["/dev/shm"]["options"])

    def test_same_execution_id_runs_once(self):
        p = payload(self.bb, sh_package("sleep 1; date +%s%N > $FUNCTION_RESULT\n"))
        first = self.fn.execute(p)
        self.assertEqual(first, {"ok": True, "kind": "RUNNING",
                                 "message": {"state": first["message"]["state"]}})
        again = self.fn.execute(p)
        self.assertEqual(again["kind"], "RUNNING")
        res = self.fn.result(p["execution_id"])
        late = self.fn.execute(dict(p, deadline="2000-01-01T00:00:00Z"))
        self.assertEqual(late["kind"], "SUCCESS")
        self.assertEqual(late["message"], res)
        self.assertEqual(self.fn.log().count("execution finished execution=%s"
                                             % p["execution_id"]), 1)
        self.assertIn(p["execution_id"], self.fn.status()["known"])
        self.fn.call("fn_ack", execution_id=p["execution_id"])
        self.assertNotIn(p["execution_id"], self.fn.status()["known"])

    def test_refusals(self):
        p = payload(self.bb, sh_package("true\n"), deadline="2000-01-01T00:00:00Z")
        r = self.fn.execute(p)
        self.assertEqual((r["kind"], r["message"]["code"]), ("ERROR", "deadline"))
        for bad, words in [({"execution_id": "nope"}, "execution_id must be a UUID"),
                           ({"timeout": 0}, "timeout must be an integer between 1"),
                           ({"devices": ["gpio:sim0:1:sideways"]}, "Invalid device"),
                           ({"network": "all"}, "network must be none or host"),
                           ({"package": {"sha256": "x"}}, "package")]:
            r = self.fn.execute(dict(payload(self.bb, None), **bad))
            self.assertEqual((r["kind"], r["message"]["code"]), ("ERROR", "bad_request"), bad)
            self.assertIn(words, r["message"]["message"])
        r = self.fn.execute(dict(payload(self.bb, None), device_access="raw",
                                 devices=["gpio:sim0:1:out"]))
        self.assertEqual(r["message"]["code"], "unsupported")
        self.assertIn("raw device access needs a real chip", r["message"]["message"])

    def test_busy_when_every_slot_is_taken(self):
        pkg = sh_package("sleep 2\n")
        ps = [payload(self.bb, pkg) for _ in range(3)]
        replies = [self.fn.execute(p) for p in ps]
        self.assertEqual([r["kind"] for r in replies[:2]], ["RUNNING", "RUNNING"])
        self.assertEqual((replies[2]["kind"], replies[2]["message"]["code"]), ("ERROR", "busy"))
        for p in ps[:2]:
            self.fn.result(p["execution_id"])

    def test_image_function_runs_the_entrypoint_with_raw_words(self):
        rt = dict(self.bb, config={"entrypoint": ["/bin/echo"]})
        p = payload(rt, None, image_args=["a", "b"])
        del p["entry"]
        _, res = self.fn.run(p)
        self.assertEqual((res["status"], res["logs"]), ("success", "a b\n"))


class Packages(unittest.TestCase):
    """Fetching, verifying, unpacking, caching (3.1, 3.2, 3.5.2)."""

    @classmethod
    def setUpClass(cls):
        # The busybox runtime (2 MB) and three 1 MiB packages fit; a fourth
        # package pushes the least recently used one out.
        cls.fn = fnclient.Fntest(function={"cache_max_bytes": 5 << 20}).start()
        cls.bb = fnclient.runtime_blob(SRV, "busybox", RT["busybox"])

    @classmethod
    def tearDownClass(cls):
        cls.fn.stop()

    def deploy_error(self, pkg):
        _, res = self.fn.run(payload(self.bb, pkg))
        self.assertEqual(res["status"], "error", res)
        prefix = "Failed to deploy function on board %s: " % fnclient.BOARD
        self.assertTrue(res["output"].startswith(prefix), res["output"])
        self.assertIsNone(res["container_id"])
        return res["output"][len(prefix):]

    def test_bad_packages_are_refused_with_clear_messages(self):
        tgz = fnclient.tgz_package
        cases = [
            (SRV.add(b"not an archive at all", "zip"),
             "Package is not a valid ZIP or tar.gz package."),
            (SRV.add(zip_package({"main.sh": "true"}), "zip", token="wrong"),
             "Package download failed: HTTP 401: Invalid board token."),
            (SRV.add(zip_package({"main.sh": "true\n"}), "zip", md5sum="0" * 32),
             "Package md5 mismatch."),
            (SRV.add(tgz([("../evil", "file", b"x")]), "tar.gz"),
             "Package entry ../evil is not allowed: '..' component."),
            (SRV.add(tgz([("/etc/x", "file", b"x")]), "tar.gz"),
             "Package entry /etc/x is not allowed: absolute path."),
            (SRV.add(tgz([("l", "symlink", "../../etc/passwd")]), "tar.gz"),
             "Package entry l is not allowed: link leads outside the package."),
            (SRV.add(tgz([("l", "symlink", "/etc/passwd")]), "tar.gz"),
             "Package entry l is not allowed: link leads outside the package."),
            (SRV.add(tgz([("a", "file", b"x"), ("b", "hardlink", "a")]), "tar.gz"),
             "Package entry b is not allowed: hard link."),
            (SRV.add(tgz([("s", "suid", None)]), "tar.gz"),
             "Package entry s is not allowed: set-uid or set-gid bit."),
            (SRV.add(tgz([("p", "fifo", None)]), "tar.gz"),
             "Package entry p is not allowed: FIFO."),
            (SRV.add(tgz([("f%05d" % i, "file", b"") for i in range(10001)]), "tar.gz"),
             "Package has more than 10000 entries."),
            (SRV.add(zip_package({"main.sh": "true\n"}), "tar.gz"),
             "Package is zip, not the declared tar.gz."),
        ]
        for pkg, want in cases:
            self.assertEqual(self.deploy_error(pkg), want)
        missing = SRV.add(b"never served", "zip", serve=False)
        self.assertEqual(self.deploy_error(missing), "Package download failed: HTTP 404: "
                         "Blob %s not found." % missing["sha256"])
        wrong = SRV.add(zip_package({"main.sh": "true\n"}), "zip")
        wrong["sha256"] = "1" * 64
        wrong["token"] = "tok-" + "1" * 64
        SRV.blobs["1" * 64] = SRV.blobs[wrong["url"].rsplit("/", 1)[1]]
        wrong["url"] = SRV.base + "1" * 64
        self.assertEqual(self.deploy_error(wrong), "Package sha256 mismatch.")
        short = SRV.add(zip_package({"main.sh": "true\n"}), "zip")
        short["size"] += 10
        self.assertTrue(self.deploy_error(short).startswith("Package size mismatch"))
        tmp = os.path.join(self.fn.cache_dir, "tmp")
        iottest.wait_until(lambda: os.listdir(tmp) == [], what="failed fetches cleaned up")

    def test_concurrent_executions_share_one_download(self):
        pkg = sh_package("echo shared > $FUNCTION_RESULT\n" + "#" * 1000)
        SRV.delay = 0.3
        try:
            ps = [payload(self.bb, pkg) for _ in range(2)]
            for p in ps:
                self.assertEqual(self.fn.execute(p)["kind"], "RUNNING")
            outs = [self.fn.result(p["execution_id"])["output"] for p in ps]
        finally:
            SRV.delay = 0
        self.assertEqual(outs, ["shared", "shared"])
        self.assertEqual(SRV.count(pkg["sha256"]), 1)

    def test_interrupted_download_resumes_with_a_range(self):
        pkg = sh_package("echo resumed > $FUNCTION_RESULT\n" + "#" * 50000)
        SRV.cut_once.add(pkg["sha256"])
        _, res = self.fn.run(payload(self.bb, pkg))
        self.assertEqual(res["output"], "resumed", res)
        self.assertEqual(SRV.count(pkg["sha256"]), 2)
        starts = [start for sha, start in SRV.ranges if sha == pkg["sha256"]]
        self.assertEqual(len(starts), 1)
        self.assertGreater(starts[0], 0)

    def test_deploy_prepares_warm_containers(self):
        pkg = sh_package("echo deployed > $FUNCTION_RESULT\n")
        dep = payload(self.bb, pkg, function_id=str(uuid.uuid4()), keep_warm=2, warm_ttl=60)
        del dep["execution_id"]
        r = self.fn.call("fn_deploy", payload=dep)
        self.assertEqual(r["kind"], "SUCCESS", r)
        self.assertEqual(r["message"]["cached"], True)
        self.assertGreaterEqual(r["message"]["warm"], 1)
        iottest.wait_until(lambda: len(self.fn.status()["warm"]) == 2, what="two warm")
        p = payload(self.bb, pkg, function_id=dep["function_id"], keep_warm=2, warm_ttl=60,
                    input=None)
        _, res = self.fn.run(p)
        self.assertEqual((res["output"], res["warm"]), ("deployed", True))
        self.fn.call("fn_remove", payload={"function_id": dep["function_id"]})
        self.assertEqual(self.fn.status()["warm"], [])

    def test_lru_eviction_spares_pinned_blobs(self):
        def big(tag):
            return SRV.add(zip_package({"main.sh": "echo %s > $FUNCTION_RESULT\n" % tag,
                                        "data": os.urandom(1 << 20)}), "zip")
        pinned, a, b, c = big("pinned"), big("a"), big("b"), big("c")
        dep = dict(payload(self.bb, pinned), function_id=str(uuid.uuid4()))
        del dep["execution_id"]
        r = self.fn.call("fn_deploy", payload=dep)
        self.assertEqual((r["kind"], r["message"]), ("SUCCESS", {"cached": True, "warm": 0}))
        for pkg in (a, b, c):
            _, res = self.fn.run(payload(self.bb, pkg))
            self.assertEqual(res["status"], "success")
        cache = self.fn.caps()["cache"]
        self.assertIn(pinned["sha256"], cache["packages"])
        self.assertIn(c["sha256"], cache["packages"])
        self.assertNotIn(a["sha256"], cache["packages"])
        self.assertIn(self.bb["sha256"], cache["runtimes"])
        r = self.fn.call("fn_remove", payload={"function_id": dep["function_id"],
                                               "function_version": None,
                                               "purge": [pinned["sha256"]]})
        self.assertEqual(r["kind"], "SUCCESS")
        self.assertNotIn(pinned["sha256"], self.fn.caps()["cache"]["packages"])
        r = self.fn.call("fn_purge", payload={"purge": [c["sha256"]]})
        self.assertEqual(r["kind"], "SUCCESS")
        self.assertNotIn(c["sha256"], self.fn.caps()["cache"]["packages"])


class Warm(unittest.TestCase):
    """Warm containers (3.5.5)."""

    @classmethod
    def setUpClass(cls):
        cls.fn = fnclient.Fntest().start()
        cls.bb = fnclient.runtime_blob(SRV, "busybox", RT["busybox"])

    @classmethod
    def tearDownClass(cls):
        cls.fn.stop()

    def warm_ids(self):
        return [w["container_id"] for w in self.fn.status()["warm"]]

    def test_warm_containers_are_used_replaced_and_expire(self):
        pkg = sh_package("echo warm > $FUNCTION_RESULT\n")
        _, res = self.fn.run(payload(self.bb, pkg, keep_warm=1, warm_ttl=3))
        self.assertFalse(res["warm"])
        first = iottest.wait_until(self.warm_ids, what="a warm container")
        _, res = self.fn.run(payload(self.bb, pkg, keep_warm=1, warm_ttl=3))
        self.assertTrue(res["warm"])
        self.assertEqual(res["container_id"], first[0])
        second = iottest.wait_until(self.warm_ids, what="a replacement")
        self.assertNotEqual(second, first)
        w = self.fn.status()["warm"][0]
        self.assertEqual((w["function_id"], w["function_version"]), (fnclient.FUNCTION, 0))
        iottest.wait_until(lambda: self.warm_ids() == [], timeout=10, what="expiry")

    def test_the_refill_waits_for_the_result_s_acknowledgement(self):
        # The replacement's crun create must not compete with the result's
        # way back (3.5.5): it starts on fn_ack, or after a hold without one.
        pkg = sh_package("echo held > $FUNCTION_RESULT\n")
        fid = str(uuid.uuid4())
        p = payload(self.bb, pkg, function_id=fid, keep_warm=1, warm_ttl=60)
        _, res = self.fn.run(p)
        self.assertEqual(res["status"], "success")
        self.fn.call("fn_ack", execution_id=p["execution_id"])
        iottest.wait_until(lambda: [w for w in self.fn.status()["warm"]
                                    if w["function_id"] == fid], what="the replacement")
        self.assertNotIn("warm refill without an acknowledgement function=%s" % fid,
                         self.fn.log())
        p = payload(self.bb, pkg, function_id=fid, keep_warm=1, warm_ttl=60)
        _, res = self.fn.run(p)
        self.assertTrue(res["warm"])
        iottest.wait_until(
            lambda: "warm refill without an acknowledgement function=%s:0 execution=%s"
            % (fid, p["execution_id"]) in self.fn.log(), what="the hold's end")
        iottest.wait_until(lambda: [w for w in self.fn.status()["warm"]
                                    if w["function_id"] == fid], what="a replacement")
        self.fn.call("fn_remove", payload={"function_id": fid})

    def test_a_changed_function_drops_its_warm_containers(self):
        fid = str(uuid.uuid4())
        _, res = self.fn.run(payload(self.bb, sh_package("echo v1 > $FUNCTION_RESULT\n"),
                                     function_id=fid, keep_warm=2, warm_ttl=60))
        iottest.wait_until(lambda: len(self.warm_ids()) == 2, what="two warm containers")
        old = set(self.warm_ids())
        _, res = self.fn.run(payload(self.bb, sh_package("echo v2 > $FUNCTION_RESULT\n"),
                                     function_id=fid, keep_warm=2, warm_ttl=60))
        self.assertEqual((res["output"], res["warm"]), ("v2", False))
        iottest.wait_until(lambda: len(self.warm_ids()) == 2, what="new warm containers")
        self.assertFalse(old & set(self.warm_ids()))
        self.fn.call("fn_remove", payload={"function_id": fid})
        self.assertEqual(self.warm_ids(), [])


class Local(unittest.TestCase):
    """Local-loop executions (3.7.4) and the outbox back-pressure (3.7.5)."""

    @classmethod
    def setUpClass(cls):
        cls.fn = fnclient.Fntest(function={"max_concurrency": 1}).start()
        cls.bb = fnclient.runtime_blob(SRV, "busybox", RT["busybox"])

    @classmethod
    def tearDownClass(cls):
        cls.fn.stop()

    def test_local_executions_wait_for_a_slot_and_say_so(self):
        pkg = sh_package("sleep 1; cat > $FUNCTION_RESULT\n")
        ps = [payload(self.bb, pkg, input='{"event": %d}' % i) for i in range(2)]
        for i, p in enumerate(ps):
            r = self.fn.call("fn_execute_local", payload=p, trigger_id="t-1", firing_seq=40 + i)
            self.assertEqual(r["kind"], "RUNNING", r)
        # One slot: a cloud execution is refused while local ones hold or wait for it.
        r = self.fn.execute(payload(self.bb, pkg))
        self.assertEqual(r["message"]["code"], "busy")
        results = [self.fn.result(p["execution_id"]) for p in ps]
        for i, res in enumerate(results):
            self.assertEqual(res["status"], "success")
            self.assertEqual(res["output"], {"event": i})
            self.assertEqual((res["local"], res["trigger_id"], res["firing_seq"]),
                             (True, "t-1", 40 + i))
            self.assertEqual((res["function_id"], res["function_version"], res["input"]),
                             (fnclient.FUNCTION, 0, '{"event": %d}' % i))
        self.assertLessEqual(results[0]["finished_at"], results[1]["started_at"])

    def test_full_outbox_makes_the_board_busy(self):
        self.fn.call("fn_outbox_full", full=True)
        try:
            r = self.fn.execute(payload(self.bb, sh_package("true\n")))
            self.assertEqual((r["kind"], r["message"]["code"]), ("ERROR", "busy"))
            self.assertIn("outbox", r["message"]["message"])
        finally:
            self.fn.call("fn_outbox_full", full=False)


class NoExecutor(unittest.TestCase):
    """Without the private mount namespace, crun 1.8.1 refuses this hybrid
    host: the probe says so and nothing runs (3.8, 4.8)."""

    def test_probe_failure_means_executor_none(self):
        fn = fnclient.Fntest(function={"crun_private_mountns": "never"}).start()
        try:
            caps = fn.caps()
            self.assertEqual(caps["executor"], "none")
            self.assertIn("cgroups in hybrid mode not supported",
                          caps["executor_detail"]["error"])
            self.assertEqual(caps["executor_detail"]["cgroup"], "v1")
            bb = fnclient.runtime_blob(SRV, "busybox", RT["busybox"])
            r = fn.execute(payload(bb, sh_package("true\n")))
            self.assertEqual((r["kind"], r["message"]["code"]), ("ERROR", "unsupported"))
            self.assertIn("no executor available", r["message"]["message"])
        finally:
            fn.stop()


class WarmBudget(unittest.TestCase):
    def test_max_warm_total_bounds_the_pool(self):
        fn = fnclient.Fntest(function={"max_warm_total": 1}).start()
        try:
            bb = fnclient.runtime_blob(SRV, "busybox", RT["busybox"])
            _, res = fn.run(payload(bb, sh_package("true\n"), keep_warm=3, warm_ttl=60))
            self.assertEqual(res["status"], "success")
            iottest.wait_until(lambda: fn.status()["warm"], what="a warm container")
            time.sleep(1.0)
            self.assertEqual(len(fn.status()["warm"]), 1)
        finally:
            fn.stop()


class Restart(unittest.TestCase):
    """Records survive the agent (3.6)."""

    def test_results_survive_a_restart_and_are_never_rerun(self):
        fn = fnclient.Fntest().start()
        bb = fnclient.runtime_blob(SRV, "busybox", RT["busybox"])
        p = payload(bb, sh_package("echo once > $FUNCTION_RESULT\n"))
        _, res = fn.run(p)
        slow = payload(bb, sh_package("sleep 20\n"))
        self.assertEqual(fn.execute(slow)["kind"], "RUNNING")
        local = payload(bb, sh_package("sleep 21\n"), input='{"e": 1}')
        self.assertEqual(fn.call("fn_execute_local", payload=local, trigger_id="t-9",
                                 firing_seq=3)["kind"], "RUNNING")
        iottest.wait_until(lambda: len(fn.status()["running"]) == 2, what="both running")
        fn.daemon.kill9()
        fn.ctl = None
        fn2 = fnclient.Fntest()
        fn2.dir, fn2.conf, fn2.run_dir = fn.dir, fn.conf, fn.run_dir
        fn2.daemon = iottest.Daemon("fntest", ["--config-file", fn.conf], logdir=fn.dir)
        fn2.start()
        try:
            self.assertEqual(fn2.result(p["execution_id"]), res)
            lost = fn2.result(slow["execution_id"])
            self.assertEqual((lost["status"], lost["output"]),
                             ("error", "Function execution failed."))
            lost = fn2.result(local["execution_id"])
            self.assertEqual((lost["status"], lost["local"], lost["trigger_id"],
                              lost["firing_seq"], lost["input"]),
                             ("error", True, "t-9", 3, '{"e": 1}'))
            again = fn2.execute(p)
            self.assertEqual((again["kind"], again["message"]), ("SUCCESS", res))
            self.assertEqual(fn2.execute(slow)["kind"], "SUCCESS")
            self.assertIn("deleting a container left by a previous run", fn2.log())
        finally:
            fn2.stop()


class Process(unittest.TestCase):
    """The process executor (3.8)."""

    @classmethod
    def setUpClass(cls):
        rt = os.path.join(iottest.ROOT, "lightning-rod-c", "runtime")
        cls.fn = fnclient.Fntest(
            function={"executor": "process"},
            process_runtimes={
                "busybox": "/bin/busybox sh %s/busybox/launch.sh" % rt,
                "python3": "/usr/bin/python3 -I -S %s/python3/launcher.py" % rt}).start()
        cls.bb = fnclient.runtime_blob(SRV, "busybox", RT["busybox"])
        cls.py = fnclient.runtime_blob(SRV, "python3", RT["python3"])

    @classmethod
    def tearDownClass(cls):
        cls.fn.stop()

    def test_caps_say_process(self):
        caps = self.fn.caps()
        self.assertEqual(caps["executor"], "process")
        self.assertEqual(sorted(caps["process_runtimes"]), ["busybox", "python3"])
        self.assertEqual(caps["executor_detail"]["enforced"],
                         {"memory": True, "cpu": False, "pids": True, "devices": False,
                          "seccomp": False})

    def test_functions_run_as_plain_processes(self):
        _, res = self.fn.run(payload(self.bb, sh_package(
            'cat; id -u; echo "$FUNCTION_CODE_DIR" > $FUNCTION_RESULT\n'), input='{"a": 1}'))
        self.assertEqual((res["status"], res["executor"]), ("success", "process"), res)
        self.assertEqual(res["logs"], '{"a": 1}65534\n')
        self.assertIn("/cache/packages/", res["output"])
        # The runtime's archive is not used: one that cannot be fetched is fine.
        rt = dict(self.py, sha256="ab" * 32, url=SRV.base + "ab" * 32)
        _, res = self.fn.run(payload(rt, py_package(
            "def main(x, context=None):\n    return x * 2\n"), input='{"x": 21}'))
        self.assertEqual(res["output"], 42)
        self.assertEqual(SRV.count("ab" * 32), 0)

    def test_timeout_kills_the_process_group(self):
        _, res = self.fn.run(payload(self.bb, sh_package("sleep 30 & sleep 30\n"), timeout=1))
        self.assertEqual((res["output"], res["timed_out"]), ("Function execution timeout.", True))

    def test_raw_access_is_unsupported(self):
        r = self.fn.execute(payload(self.bb, sh_package("true\n"), device_access="raw",
                                    devices=["gpio:sim0:1:out"]))
        self.assertEqual(r["message"]["code"], "unsupported")

    def test_plugin_call_as_a_plain_process(self):
        r = self.fn.call("plugin_call", argv=["/bin/sh", "-c", "cat; id -u; ulimit -n"],
                         input="in ", timeout_ms=5000)
        self.assertEqual((r["failure"], r["exit_code"], r["out"]), (None, 0, "in 65534\n1024\n"))

    def test_runtime_without_command_is_unsupported(self):
        rt = dict(self.bb, name="nodejs")
        r = self.fn.execute(payload(rt, sh_package("true\n")))
        self.assertEqual(r["message"]["code"], "unsupported")
        self.assertIn("runtime nodejs has no process command", r["message"]["message"])


class Plugins(unittest.TestCase):
    """The plugin profile of board-protocol.md 6.5, through the same runner."""

    @classmethod
    def setUpClass(cls):
        cls.fn = fnclient.Fntest().start()

    @classmethod
    def tearDownClass(cls):
        cls.fn.stop()

    def test_call_sees_a_read_only_host_and_private_tmp(self):
        r = self.fn.call("plugin_call", argv=["/bin/sh", "-c",
                                              "cat; id -u; touch /usr/x 2>&1; ls /tmp | wc -l; "
                                              "touch /tmp/x && echo tmp ok; "
                                              "echo oops >&2; exit 3"],
                         input='{"p": 1}', timeout_ms=10000)
        self.assertIsNone(r["failure"])
        out = r["out"].split("\n")
        self.assertEqual(out[0], '{"p": 1}65534')
        self.assertIn("Read-only file system", out[1])
        self.assertEqual(out[2:4], ["0", "tmp ok"])
        self.assertEqual((r["exit_code"], r["err"]), (3, "oops\n"))

    def test_call_output_cap_and_timeout(self):
        r = self.fn.call("plugin_call", argv=["/bin/sh", "-c", "yes | head -c 100000"],
                         max_output=1000)
        self.assertEqual((len(r["out"]), r["truncated"]), (1000, True))
        r = self.fn.call("plugin_call", argv=["/bin/sleep", "30"], timeout_ms=500)
        self.assertTrue(r["timed_out"])

    def test_service_runs_until_stopped(self):
        log = os.path.join(self.fn.dir, "plugin.log")
        r = self.fn.call("plugin_start", name="svc", log_file=log,
                         argv=["/bin/sh", "-c", "trap 'echo bye; exit 0' TERM; echo up; "
                                                "while true; do sleep 0.1; done"])
        self.assertTrue(r["ok"], r)
        iottest.wait_until(lambda: os.path.exists(log) and "up" in open(log).read())
        self.assertTrue(self.fn.call("plugin_alive", name="svc")["alive"])
        self.assertTrue(self.fn.call("plugin_stop", name="svc")["ok"])
        iottest.wait_until(lambda: not self.fn.call("plugin_alive", name="svc")["alive"])
        self.assertIn("bye", open(log).read())


if __name__ == "__main__":
    iottest.main()
