#!/usr/bin/python3
"""lightning-rod-c as an operator runs it (board-protocol.md 6.5, 10.1, 10.3, 10.4).

TLS to a wss:// wagent verified against [wamp] ca_file (and refused without
it; accepted with a warning when insecure), tunnels over wss; `configure
--from-file` with the document the REST API renders; the reboot command run
after its delay; an upgrade answered RUNNING whose outcome reaches the cloud's
request results through notify_result, followed by a restart; SIGTERM with a
plugin that ignores SIGTERM (GOODBYE, the plugin killed, exit 0); the
function cache procedures.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools",
                                "fntest"))
import iottest  # noqa: E402
import iotstack  # noqa: E402


def setUpModule():
    if os.geteuid() != 0:
        raise unittest.SkipTest("the agent's containers need root")
    missing = iotstack.missing_binaries()
    if missing:
        raise unittest.SkipTest("not built: %s" % ", ".join(missing))
    if iotstack.pika is None:
        raise unittest.SkipTest("python3-pika is missing (make deps)")


def ok(r):
    s, body = r
    if s != 200:
        raise AssertionError("expected 200, got %s %s" % (s, body))
    return body


class Echo:
    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            with c:
                c.sendall(b"echo:" + c.recv(1024))

    def close(self):
        self.srv.close()


def reach(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as c:
            c.sendall(b"ping")
            return c.recv(1024)
    except OSError:
        return None


class Tls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = iottest.tmpdir("tls-")
        cls.cert, cls.key = iotstack.self_signed(cls.dir)
        cls.cloud = iotstack.Cloud(tls=(cls.cert, cls.key))

    @classmethod
    def tearDownClass(cls):
        cls.cloud.close()

    def test_verified_against_the_configured_ca(self):
        a = self.cloud.agent("tls-ok", conf={"wamp": {"ca_file": self.cert}})
        a.start()
        uuid = a.register()
        self.assertTrue(a.status()["url"].startswith("wss://127.0.0.1:"))
        self.assertNotIn("NOT verified", a.log())
        echo = Echo()
        self.addCleanup(echo.close)
        sv = self.cloud.create_service("tls-echo", echo.port)
        ok(self.cloud.service_action(uuid, sv, "ServiceEnable"))
        pub = self.cloud.exposed(uuid)[0]["public_port"]
        iottest.wait_until(lambda: reach(pub) == b"echo:ping", timeout=20,
                           what="a tunnel over wss")

    def test_an_unknown_certificate_is_refused(self):
        a = self.cloud.agent("tls-no")
        a.start()
        uuid, code = self.cloud.create_board("tls-no")
        a.configure(code)
        iottest.wait_until(lambda: a.status()["failures"] >= 2, timeout=20,
                           what="failed TLS attempts")
        self.assertEqual(a.status()["state"], "registering")
        self.assertEqual(self.cloud.status(uuid), "registered")

    def test_insecure_connects_with_a_warning(self):
        a = self.cloud.agent("tls-insecure", conf={"wamp": {"insecure": True}})
        a.start()
        a.register()
        self.assertIn("NOT verified ([wamp] insecure)", a.log())


class Operations(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cloud = iotstack.Cloud()

    @classmethod
    def tearDownClass(cls):
        cls.cloud.close()

    def test_configure_from_the_rendered_document(self):
        uuid, code = self.cloud.create_board("ff")
        doc = self.cloud.board(uuid)["config"]
        self.assertEqual(doc["iotronic"]["board"]["code"], code)
        a = self.cloud.agent("ff")
        path = os.path.join(a.dir, "first-boot.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        out = a.run("configure", "--from-file", path).stdout
        self.assertIn("first-boot settings", out)
        bad = os.path.join(a.dir, "bad.json")
        with open(bad, "w") as f:
            f.write('{"iotronic": {}}')
        r = a.run("configure", "--from-file", bad, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("configure:", r.stderr)
        a.uuid = uuid
        a.start()
        a.wait_online()

    def test_reboot_runs_the_configured_command_after_its_delay(self):
        marker = os.path.join(iottest.tmpdir("reboot-"), "rebooted")
        a = self.cloud.agent("rb", conf={"device": {"allow_reboot": True,
                                                    "reboot_command": "/usr/bin/touch " + marker}})
        a.start()
        uuid = a.register()
        s, body = self.cloud.action(uuid, "DeviceReboot", {"delay": 2})
        self.assertEqual(s, 502)
        self.assertIn("delay must be an integer between 3 and 3600", json.dumps(body))
        t0 = time.monotonic()
        self.assertEqual(ok(self.cloud.action(uuid, "DeviceReboot", {"delay": 3})),
                         "Rebooting in 3 s")
        iottest.wait_until(lambda: os.path.exists(marker), timeout=15, what="the reboot command")
        self.assertGreaterEqual(time.monotonic() - t0, 2.9)

    def test_upgrade_reports_through_notify_result_then_restarts(self):
        a = self.cloud.agent("up", conf={"device": {
            "upgrade_command": "/bin/echo upgraded to {version}"}})
        a.start()
        uuid = a.register()
        s, headers, body, _ = self.cloud.http("POST", "/v1/boards/%s/action" % uuid,
                                              {"action": "DeviceUpgradeLR",
                                               "parameters": {"version": "1.2.3"}})
        self.assertEqual((s, body), (200, "Upgrade started"))
        req = headers["X-Iotronic-Request-Uuid"]

        def final():
            r = self.cloud.http("GET", "/v1/requests/%s/results" % req)[2]["results"]
            return r if r and r[0]["result"] != "RUNNING" else None
        res = iottest.wait_until(final, timeout=30, what="the upgrade's outcome")
        self.assertEqual((res[0]["result"], res[0]["message"]),
                         ("SUCCESS", "exit 0: upgraded to 1.2.3\n"))
        self.assertEqual(a.daemon.wait(20), 0)  # restarts to run the new version
        a.start()
        a.wait_online()

    def test_package_operation_reports_exit_status_and_output(self):
        a = self.cloud.agent("pk", conf={"device": {"pkg_managers": "apt-get"}})
        a.start()
        uuid = a.register()
        for params, want in (
                ({"manager": "npm", "command": "install", "package": "x"},
                 "manager npm is not allowed on this board"),
                ({"manager": "apt-get", "command": "install", "package": "jq;reboot"},
                 "package is not a valid package name"),
                ({"manager": "apt-get", "command": "install", "package": "jq",
                  "options": "--force-yes"}, "options are not supported"),
                ({"manager": "apt-get", "command": "install", "package": "jq",
                  "version": "1 && x"}, "version is not a valid version")):
            s, body = self.cloud.action(uuid, "DevicePkgOperation", params)
            self.assertEqual(s, 502)
            self.assertIn(want, json.dumps(body))
        # Removing a package the system does not know changes nothing and
        # fails fast: the whole RUNNING, then notify_result path, argv only.
        s, headers, body, _ = self.cloud.http(
            "POST", "/v1/boards/%s/action" % uuid,
            {"action": "DevicePkgOperation", "parameters": {
                "manager": "apt-get", "command": "remove", "package": "lrc-no-such-package"}})
        self.assertEqual((s, body), (200, "Package operation started"))
        req = headers["X-Iotronic-Request-Uuid"]

        def final():
            r = self.cloud.http("GET", "/v1/requests/%s/results" % req)[2]["results"]
            return r if r and r[0]["result"] != "RUNNING" else None
        res = iottest.wait_until(final, timeout=60, what="the package operation's outcome")
        self.assertEqual(res[0]["result"], "ERROR")
        self.assertTrue(res[0]["message"].startswith("exit 100: "), res)
        self.assertIn("Unable to locate package lrc-no-such-package", res[0]["message"])

    def test_sigterm_says_goodbye_and_stops_plugins(self):
        a = self.cloud.agent("st")
        a.start()
        uuid = a.register()
        p = self.cloud.create_plugin("st-stubborn",
                                     "#!/bin/sh\ntrap '' TERM\nwhile true; do sleep 0.1; done\n")
        ok(self.cloud.inject(uuid, p))
        ok(self.cloud.plugin_action(uuid, p, "PluginStart"))
        crun_root = os.path.join(a.run_dir, "crun")
        listed = lambda: subprocess.run(["crun", "--root", crun_root, "list", "-q"],  # noqa: E731
                                        capture_output=True, text=True).stdout.split()
        iottest.wait_until(lambda: len(listed()) == 1, timeout=20, what="the plugin container")
        t0 = time.monotonic()
        a.daemon.signal(signal.SIGTERM)
        self.assertEqual(a.daemon.wait(30), 0)
        took = time.monotonic() - t0
        self.assertGreater(took, 4.0)   # the plugin needed its SIGKILL after 5 s
        self.assertLess(took, 15.0)
        self.assertEqual(self.cloud.status(uuid), "offline")
        self.assertEqual(listed(), [])
        log = a.log()
        self.assertIn("stopping 1 running instance(s)", log)
        self.assertIn("stopped (exit status 0)", log)

    def test_function_cache_procedures(self):
        import fnclient
        srv = fnclient.BlobServer()
        self.addCleanup(srv.close)
        bb = fnclient.runtime_blob(srv, "busybox", fnclient.runtimes()["busybox"])
        a = self.cloud.agent("fc")
        a.start()
        uuid = a.register()
        pkg = srv.add(fnclient.zip_package({"main.sh": "echo hi > $FUNCTION_RESULT\n"}), "zip")
        p = fnclient.payload(bb, pkg)
        for k in ("execution_id", "input", "deadline"):
            p.pop(k, None)
        wm = self.cloud.invoke(uuid, "FunctionDeploy", [p])["wampmessage"]
        self.assertEqual(wm["result"], "SUCCESS", wm)
        self.assertTrue(wm["message"]["cached"])
        caps = json.loads(ok(self.cloud.action(uuid, "DeviceCaps")))
        self.assertIn(pkg["sha256"], caps["cache"]["packages"])
        wm = self.cloud.invoke(uuid, "FunctionRemove",
                               [{"function_id": p["function_id"], "function_version": None,
                                 "purge": [pkg["sha256"]]}])["wampmessage"]
        self.assertEqual(wm["result"], "SUCCESS", wm)
        wm = self.cloud.invoke(uuid, "CachePurge", [{"purge": [bb["sha256"]]}])["wampmessage"]
        self.assertEqual(wm["result"], "SUCCESS", wm)
        caps = iottest.wait_until(
            lambda: (lambda c: c if pkg["sha256"] not in c["cache"]["packages"] and
                     bb["sha256"] not in c["cache"]["runtimes"] else None)(
                json.loads(ok(self.cloud.action(uuid, "DeviceCaps")))), timeout=15,
            what="the purged cache")
        self.assertNotIn(pkg["sha256"], caps["cache"]["packages"])


if __name__ == "__main__":
    iottest.main()
