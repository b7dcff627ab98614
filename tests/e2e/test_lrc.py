#!/usr/bin/python3
"""lightning-rod-c against the real cloud (board-protocol.md 5, 6, 9.4, 10).

Real agents (the sim IO backend, crun for plugins and functions) register
with a code through the real wagent, API, conductor, PostgreSQL and RabbitMQ,
and answer every procedure through the REST API or, for the procedures the
REST API does not expose, through the wagent's AMQP `invoke` as the conductor
and the deviceless engine call it. Covers: registration, WAMP-CRA and the
refusal of anonymous sessions afterwards; every device procedure; GPIO and
sensors through the simulator; plugins (inject, call, start, status, stop,
reboot, remove, the original plugin API); a service reached through its
tunnel from the cloud side; a function in a crun container that sees only its
declared device, its result delivered through the outbox; bad arguments to
every procedure answered by an ERROR WampMessage naming the argument.
"""

import json
import os
import socket
import stat
import sys
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools",
                                "fntest"))
import iottest  # noqa: E402
import iotstack  # noqa: E402
import wampclient as wc  # noqa: E402

CLOUD = None
A = None  # the agent most tests use


def setUpModule():
    global CLOUD, A
    if os.geteuid() != 0:
        raise unittest.SkipTest("the agent's containers need root")
    missing = iotstack.missing_binaries()
    if missing:
        raise unittest.SkipTest("not built: %s" % ", ".join(missing))
    if iotstack.pika is None:
        raise unittest.SkipTest("python3-pika is missing (make deps)")
    CLOUD = iotstack.Cloud()
    A = CLOUD.agent("lrc-a", conf={"plugin": {"call_timeout": 3}})
    A.start()
    A.register()


def tearDownModule():
    if CLOUD is not None:
        CLOUD.close()


def ok(status_body):
    s, body = status_body
    if s != 200:
        raise AssertionError("expected 200, got %s %s" % (s, body))
    return body


def fault(status_body):
    """The faultstring of a 4xx/5xx answer of the REST API."""
    s, body = status_body
    if isinstance(body, dict) and "error_message" in body:
        return s, json.loads(body["error_message"])["faultstring"]
    return s, body


def invoke(method, *args, board=None):
    """The WampMessage a board procedure answers (through AMQP invoke)."""
    r = CLOUD.invoke(board or A.uuid, method, list(args))
    assert r["outcome"] == "replied", r
    return r["wampmessage"]


class EchoServer:
    """A TCP service on the board's loopback: "echo:", then every byte back."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(c,), daemon=True).start()

    @staticmethod
    def _one(c):
        with c:
            c.sendall(b"echo:")
            while True:
                d = c.recv(65536)
                if not d:
                    return
                c.sendall(d)

    def close(self):
        self.srv.close()


def through(port, data, timeout=10):
    c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    with c:
        c.sendall(data)
        want = len(data) + 5
        got = b""
        while len(got) < want:
            d = c.recv(65536)
            if not d:
                break
            got += d
        return got


class Registration(unittest.TestCase):
    def test_registered_online_with_wampcra(self):
        b = CLOUD.board(A.uuid)
        self.assertEqual(b["status"], "online")
        self.assertEqual(b["lr_version"], "lrc-0.1.0")
        self.assertEqual(b["connectivity"]["iface"], "lo")
        self.assertEqual(b["connectivity"]["local_ip"], "127.0.0.1")
        self.assertNotIn("auth", b["config"]["iotronic"]["board"])
        rows = CLOUD.sql("SELECT s.authmethod, c.auth_required FROM sessions s JOIN "
                         "board_credentials c ON c.board_uuid = s.board_uuid WHERE s.valid AND "
                         "s.board_uuid = :'p1'", A.uuid)
        self.assertEqual(rows, [["wampcra", "t"]])
        st = A.status()
        self.assertEqual((st["state"], st["board"], st["session"]),
                         ("online", A.uuid, b["session"]))

    def test_settings_file_holds_the_secret_privately(self):
        path = os.path.join(A.state_dir, "settings.json")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        s = A.settings()["iotronic"]
        self.assertEqual(s["board"]["uuid"], A.uuid)
        self.assertEqual(s["board"]["auth"]["method"], "wampcra")
        self.assertEqual(len(s["board"]["auth"]["secret"]), 43)
        self.assertEqual(s["wamp"]["main-agent"]["url"], CLOUD.wagents[0].url)
        secret = s["board"]["auth"]["secret"]
        self.assertNotIn(secret, A.log())
        self.assertEqual(CLOUD.sql("SELECT secret FROM board_credentials WHERE board_uuid = "
                                   ":'p1'", A.uuid), [[secret]])

    def test_anonymous_session_is_refused_for_this_board(self):
        c = wc.Wamp("127.0.0.1", CLOUD.wagents[0].port)
        try:
            self.assertEqual(c.hello()[0], wc.WELCOME)
            r = c.call("wagent-1.stack4things.connection", [],
                       {"uuid": A.uuid, "session": c.session, "info": {"lr_version": "0.5.0"}})
            wm = c.result_wampmsg(r)
            self.assertEqual((wm["result"], wm["message"]),
                             ("ERROR", "Board %s requires authentication." % A.uuid))
        finally:
            c.close()
        self.assertEqual(CLOUD.status(A.uuid), "online")

    def test_status_command_prints_the_state(self):
        out = A.run("status").stdout
        self.assertIn("state: online", out)
        self.assertIn("board: %s" % A.uuid, out)


class Device(unittest.TestCase):
    def test_ping_and_echo(self):
        msg = ok(CLOUD.action(A.uuid, "DevicePing"))
        self.assertRegex(msg, r"^\S+ @ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$")
        msg = ok(CLOUD.action(A.uuid, "DeviceEcho", {"say": "hello board"}))
        self.assertTrue(msg.startswith("hello board @ "), msg)

    def test_netconfig_from_the_kernel(self):
        msg = json.loads(ok(CLOUD.action(A.uuid, "DeviceNetConfig")))
        lo = [i for i in msg["interfaces"] if i["name"] == "lo"]
        self.assertEqual(len(lo), 1)
        self.assertIn("127.0.0.1/8", lo[0]["ipv4"])
        self.assertTrue(lo[0]["up"])

    def test_caps_join_the_hal_and_the_executor(self):
        caps = json.loads(ok(CLOUD.action(A.uuid, "DeviceCaps")))
        self.assertEqual(caps["executor"], "crun")
        self.assertEqual(caps["gpio"], [{"chip": "sim0", "label": "simulated", "lines": 8,
                                         "backend": "sim", "dev": None}])
        self.assertEqual(sorted(s["name"] for s in caps["sensors"]), ["lux0", "temp0"])
        self.assertEqual(caps["arch"], "amd64" if os.uname().machine == "x86_64" else caps["arch"])
        self.assertEqual(caps["cpus"], os.cpu_count())
        self.assertGreater(caps["mem_bytes"], 1 << 20)
        self.assertTrue(caps["io_socket"])

    def test_mountfs_status_only(self):
        wm = invoke("DeviceMountFs", {"mnt_cmd": "mount_status"})
        self.assertEqual(wm["result"], "SUCCESS")
        self.assertIn("/", [m["mountpoint"] for m in wm["message"]["mounts"]])
        wm = invoke("DeviceMountFs", {"mnt_cmd": "mount_rw"})
        self.assertEqual((wm["result"], wm["message"]), ("ERROR", "Not supported on this board."))

    def test_disabled_operations_say_so(self):
        self.assertEqual(fault(CLOUD.action(A.uuid, "DeviceReboot")),
                         (502, "Error in the execution of DeviceReboot on %s: Reboot is disabled "
                               "on this board." % A.uuid))
        s, text = fault(CLOUD.action(A.uuid, "DevicePkgOperation",
                                     {"manager": "apt-get", "command": "install",
                                      "package": "jq"}))
        self.assertEqual(s, 502)
        self.assertTrue(text.endswith("Package operations are disabled on this board."), text)
        s, text = fault(CLOUD.action(A.uuid, "DeviceUpgradeLR", {"version": "0.2.0"}))
        self.assertTrue(text.endswith("Upgrade is not configured on this board."), text)

    def test_rest_submit_within_the_allowlist(self):
        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                out = json.dumps({"path": self.path, "got": json.loads(body),
                                  "ctype": self.headers["Content-Type"],
                                  "x": self.headers.get("X-Test")}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            url = "http://127.0.0.1:%d/api" % srv.server_address[1]
            msg = json.loads(ok(CLOUD.action(A.uuid, "DeviceRestSubmit", {
                "method": "POST", "url": url, "params": {"q": "a b"}, "json": {"k": [1, 2]},
                "headers": {"X-Test": "yes"}, "timeout": 5})))
            self.assertEqual(msg["status"], 201)
            self.assertEqual(msg["body"], {"path": "/api?q=a%20b", "got": {"k": [1, 2]},
                                           "ctype": "application/json", "x": "yes"})
            self.assertEqual(msg["headers"]["Content-Type"], "application/json")
        finally:
            srv.shutdown()
            srv.server_close()
        for url in ("http://example.org/", "http://127.0.0.1.example.org/",
                    "http://127.0.0.1@example.org/", "file:///etc/passwd"):
            s, text = fault(CLOUD.action(A.uuid, "DeviceRestSubmit",
                                         {"method": "GET", "url": url}))
            self.assertEqual(s, 502, url)
            self.assertTrue(text.endswith("URL not allowed.") or
                            text.endswith("url must be an http:// or https:// URL"), text)

    def test_rest_submit_failures_and_bounds(self):
        """The request runs in the lrc-fetch helper: its failures and its
        64 KiB body bound reach the cloud as they did from the agent."""
        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                if self.path == "/slow":
                    time.sleep(3)
                out = b"x" * 100000
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                try:
                    self.wfile.write(out)
                except OSError:
                    pass  # the client stops reading at 64 KiB, or gave up

        srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        base = "http://127.0.0.1:%d" % srv.server_address[1]
        try:
            msg = json.loads(ok(CLOUD.action(A.uuid, "DeviceRestSubmit",
                                             {"method": "GET", "url": base + "/big"})))
            self.assertEqual((msg["status"], msg["body"], msg["truncated"]),
                             (200, "x" * 65536, True))
            t0 = time.monotonic()
            s, text = fault(CLOUD.action(A.uuid, "DeviceRestSubmit",
                                         {"method": "GET", "url": base + "/slow", "timeout": 1}))
            self.assertLess(time.monotonic() - t0, 2.8)
            self.assertEqual(s, 502)
            self.assertIn("Request failed: ", text)
            self.assertIn("timed out", text)
        finally:
            srv.shutdown()
            srv.server_close()
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        s, text = fault(CLOUD.action(A.uuid, "DeviceRestSubmit",
                                     {"method": "GET", "url": "http://127.0.0.1:%d/" % port}))
        self.assertEqual(s, 502)
        self.assertIn("Request failed: ", text)
        self.assertIn("onnect", text)


class Io(unittest.TestCase):
    def test_gpio_write_drives_the_simulated_line(self):
        before = A.sim("get-line", "sim0", "5")["writes"]
        ok(CLOUD.action(A.uuid, "GpioWrite", {"chip": "sim0", "line": 5, "value": True}))
        line = A.sim("get-line", "sim0", "5")
        self.assertEqual((line["value"], line["direction"], line["writes"]),
                         (1, "output", before + 1))
        got = json.loads(ok(CLOUD.action(A.uuid, "GpioRead", {"chip": "sim0", "line": 5})))
        self.assertEqual(got["value"], 1)
        ok(CLOUD.action(A.uuid, "GpioWrite", {"chip": "sim0", "line": 5, "value": 0}))
        self.assertEqual(A.sim("get-line", "sim0", "5")["value"], 0)

    def test_gpio_read_of_an_input_edge(self):
        A.sim("set-line", "sim0", "6", "1")
        got = json.loads(ok(CLOUD.action(A.uuid, "GpioRead", {"chip": "sim0", "line": 6})))
        self.assertEqual(got["value"], 1)

    def test_sensor_read_follows_the_simulator(self):
        A.sim("set-sensor", "temp0", "27.25")
        got = json.loads(ok(CLOUD.action(A.uuid, "SensorRead", {"name": "temp0"})))
        self.assertEqual((got["value"], got["unit"]), (27.25, "C"))
        self.assertTrue(got["ts"].endswith("Z"))

    def test_device_errors_use_the_contract_words(self):
        s, text = fault(CLOUD.action(A.uuid, "SensorRead", {"name": "nope"}))
        self.assertTrue(text.endswith("No such device: sensor:nope."), text)
        s, text = fault(CLOUD.action(A.uuid, "GpioWrite", {"chip": "sim0", "line": 99,
                                                           "value": 1}))
        self.assertTrue(text.endswith("No such device: gpio:sim0:99."), text)


class Plugins(unittest.TestCase):
    SH = "#!/bin/sh\nread x\nprintf '{\"got\": %s, \"uid\": %s}' \"$x\" \"$(id -u)\"\n"
    ORIGINAL = (
        "from iotronic_lightningrod.plugins import Plugin\n"
        "from iotronic_lightningrod.plugins import pluginApis as API\n"
        "from oslo_log import log as logging\n"
        "LOG = logging.getLogger(__name__)\n"
        "import time\n\n"
        "class Worker(Plugin.Plugin):\n"
        "    def __init__(self, uuid, name, q_result=None, params=None):\n"
        "        super(Worker, self).__init__(uuid, name, q_result, params)\n\n"
        "    def run(self):\n"
        "        LOG.info('Input parameters: ' + str(self.params))\n"
        "        if self.q_result is not None:\n"
        "            self.q_result.put('ECHO RESULT: ' + str(self.params['message']) + ' on '"
        " + API.getBoardID())\n"
        "            return\n"
        "        while self._is_running:\n"
        "            LOG.info(self.params['message'])\n"
        "            time.sleep(0.2)\n")

    def test_callable_plugin_runs_in_a_container(self):
        p = CLOUD.create_plugin("sh-echo", self.SH, callable_=True)
        self.assertEqual(ok(CLOUD.inject(A.uuid, p)), "Plugin sh-echo injected")
        self.assertEqual(ok(CLOUD.inject(A.uuid, p)), "Plugin sh-echo updated")
        out = json.loads(ok(CLOUD.plugin_action(A.uuid, p, "PluginCall", {"a": 1})))
        self.assertEqual(out, {"got": {"a": 1}, "uid": 65534})
        with open(os.path.join(A.state_dir, "plugins.json")) as f:
            rec = json.load(f)["plugins"][p]
        self.assertEqual((rec["name"], rec["status"], rec["callable"]), ("sh-echo", "updated",
                                                                          True))
        self.assertEqual(CLOUD.plugin_remove(A.uuid, p), 204)
        self.assertFalse(os.path.exists(os.path.join(A.state_dir, "plugins", p)))

    def test_original_plugin_api_call_start_stop_reboot(self):
        p = CLOUD.create_plugin("orig", self.ORIGINAL, parameters={"message": "x"})
        ok(CLOUD.inject(A.uuid, p))
        out = ok(CLOUD.plugin_action(A.uuid, p, "PluginCall", {"message": "hi"}))
        self.assertEqual(out, "ECHO RESULT: hi on %s" % A.uuid)
        self.assertEqual(ok(CLOUD.plugin_action(A.uuid, p, "PluginStart", {"message": "tick"})),
                         "STARTED")
        self.assertEqual(ok(CLOUD.plugin_action(A.uuid, p, "PluginStatus")), "ALIVE")
        self.assertEqual(ok(CLOUD.plugin_action(A.uuid, p, "PluginStart", {"message": "tick"})),
                         "ALREADY STARTED!")
        log = os.path.join(A.state_dir, "plugins", p, "log")
        iottest.wait_until(lambda: os.path.exists(log) and "tick" in open(log).read(),
                           timeout=15, what="the plugin's log")
        self.assertEqual(ok(CLOUD.plugin_action(A.uuid, p, "PluginReboot", {"message": "t2"})),
                         "REBOOTED")
        self.assertEqual(ok(CLOUD.plugin_action(A.uuid, p, "PluginStatus")), "ALIVE")
        t0 = time.monotonic()
        self.assertEqual(ok(CLOUD.plugin_action(A.uuid, p, "PluginStop")), "STOPPED")
        self.assertLess(time.monotonic() - t0, 6.0)  # SIGTERM is honoured by the runner
        self.assertEqual(ok(CLOUD.plugin_action(A.uuid, p, "PluginStatus")), "DEAD")
        self.assertEqual(CLOUD.plugin_remove(A.uuid, p), 204)

    def test_stop_kills_a_plugin_that_ignores_sigterm(self):
        code = "#!/bin/sh\ntrap '' TERM\nwhile true; do sleep 0.1; done\n"
        p = CLOUD.create_plugin("stubborn", code)
        ok(CLOUD.inject(A.uuid, p))
        ok(CLOUD.plugin_action(A.uuid, p, "PluginStart"))
        iottest.wait_until(lambda: "ALIVE" == ok(CLOUD.plugin_action(A.uuid, p, "PluginStatus")))
        time.sleep(0.5)
        t0 = time.monotonic()
        self.assertEqual(ok(CLOUD.plugin_action(A.uuid, p, "PluginStop")), "STOPPED")
        self.assertGreater(time.monotonic() - t0, 4.0)  # SIGKILL after 5 s of grace
        self.assertEqual(ok(CLOUD.plugin_action(A.uuid, p, "PluginStatus")), "DEAD")
        self.assertEqual(CLOUD.plugin_remove(A.uuid, p), 204)

    def test_call_errors_timeout_and_unknown_plugin(self):
        p = CLOUD.create_plugin("fails", "#!/bin/sh\necho oops >&2\nexit 3\n", callable_=True)
        ok(CLOUD.inject(A.uuid, p))
        s, text = fault(CLOUD.plugin_action(A.uuid, p, "PluginCall"))
        self.assertTrue(text.endswith("exit 3: oops\n"), text)
        slow = CLOUD.create_plugin("slow", "#!/bin/sh\nsleep 30\n", callable_=True)
        ok(CLOUD.inject(A.uuid, slow))
        s, text = fault(CLOUD.plugin_action(A.uuid, slow, "PluginCall"))
        self.assertTrue(text.endswith("Plugin timed out after 3 s."), text)
        self.assertEqual(CLOUD.plugin_remove(A.uuid, p), 204)
        self.assertEqual(CLOUD.plugin_remove(A.uuid, slow), 204)
        wm = invoke("PluginStatus", "2f6c0c57-9f7e-4a63-8d8d-0ec3b7a4f1aa")
        self.assertEqual((wm["result"], wm["message"]),
                         ("ERROR", "Plugin 2f6c0c57-9f7e-4a63-8d8d-0ec3b7a4f1aa does not exist on "
                                   "this board."))

    def test_interpreter_must_be_allowed(self):
        p = CLOUD.create_plugin("perl", "#!/usr/bin/perl\nprint 1;\n", callable_=True)
        s, text = fault(CLOUD.inject(A.uuid, p))
        self.assertEqual(s, 502)
        self.assertIn("interpreter /usr/bin/perl is not allowed on this board", text)


class Services(unittest.TestCase):
    def test_service_exposed_through_a_tunnel(self):
        echo = EchoServer()
        self.addCleanup(echo.close)
        sv = CLOUD.create_service("panel", echo.port)
        msg = ok(CLOUD.service_action(A.uuid, sv, "ServiceEnable"))
        pub = CLOUD.exposed(A.uuid)[0]["public_port"]
        self.assertEqual(msg, "Cloud service 'panel' exposed on port %d on 127.0.0.1" % pub)
        iottest.wait_until(lambda: any(t["state"] == "up" and t["public_port"] == pub
                                       for t in A.status()["tunnels"]), timeout=20,
                           what="tunnel up")
        data = os.urandom(200000)
        self.assertEqual(through(pub, data), b"echo:" + data)
        st = json.loads(ok(CLOUD.services_status(A.uuid)))["tunnels"]
        self.assertEqual(len(st), 1)
        self.assertEqual((st[0]["service"], st[0]["public_port"], st[0]["local_port"],
                          st[0]["state"]), ("panel", pub, echo.port, "up"))
        self.assertEqual(st[0]["bytes_in"], len(data))
        with open(os.path.join(A.state_dir, "services.json")) as f:
            self.assertEqual(json.load(f)["services"][sv]["public_port"], pub)
        self.assertEqual(ok(CLOUD.service_action(A.uuid, sv, "ServiceDisable")),
                         "Cloud service 'panel' disabled.")
        iottest.wait_until(lambda: _refused(pub), timeout=10, what="public port closed")
        self.assertEqual(A.status()["tunnels"], [])

    def test_udp_cannot_be_exposed(self):
        sv = CLOUD.create_service("dns", 53, "UDP")
        s, text = fault(CLOUD.service_action(A.uuid, sv, "ServiceEnable"))
        self.assertEqual(s, 502)
        self.assertTrue(text.endswith("Only TCP services can be exposed."), text)


def _refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except OSError:
        return True


def result_event(execution_id, timeout=60.0):
    """The function_result the wagent forwarded for execution_id."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for _, body in CLOUD.engine_events(want=1, timeout=2, kind="function_result"):
            if body["execution_id"] == execution_id:
                return body
    raise AssertionError("no function_result for %s" % execution_id)


class Functions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import fnclient
        cls.fnclient = fnclient
        cls.srv = fnclient.BlobServer()
        cls.py = fnclient.runtime_blob(cls.srv, "python3", fnclient.runtimes()["python3"])

    @classmethod
    def tearDownClass(cls):
        cls.srv.close()

    def test_function_sees_only_its_declared_device(self):
        src = ("import json, os, socket\n"
               "def req(s, f, o):\n"
               "    s.sendall((json.dumps(o) + '\\n').encode())\n"
               "    return json.loads(f.readline())\n"
               "def main(context=None):\n"
               "    s = socket.socket(socket.AF_UNIX)\n"
               "    s.connect(os.environ['IOTRONIC_IO_SOCKET'])\n"
               "    f = s.makefile('r')\n"
               "    return {'devices': req(s, f, {'id': 1, 'op': 'devices'})['devices'],\n"
               "            'mine': req(s, f, {'id': 2, 'op': 'gpio_write', 'chip': 'sim0',"
               " 'line': 2, 'value': 1})['ok'],\n"
               "            'other': req(s, f, {'id': 3, 'op': 'gpio_write', 'chip': 'sim0',"
               " 'line': 4, 'value': 1}).get('error'),\n"
               "            'sensor': req(s, f, {'id': 4, 'op': 'sensor_read', 'name': 'temp0'})"
               ".get('error'),\n"
               "            'dev': sorted(n for n in os.listdir('/dev') if 'gpio' in n),\n"
               "            'board': context['board_id']}\n")
        pkg = self.srv.add(self.fnclient.zip_package({"main.py": src}), "zip")
        p = self.fnclient.payload(self.py, pkg, devices=["gpio:sim0:2:out"])
        writes4 = A.sim("get-line", "sim0", "4")["writes"]
        wm = invoke("FunctionExecute", p)
        self.assertEqual(wm["result"], "RUNNING", wm)
        self.assertIn(wm["message"]["state"], ("queued", "started"))
        res = result_event(p["execution_id"])
        self.assertEqual((res["status"], res["board_uuid"], res["executor"]),
                         ("success", A.uuid, "crun"), res)
        self.assertEqual(res["output"], {"devices": ["gpio:sim0:2:out"], "mine": True,
                                         "other": "denied", "sensor": "denied", "dev": [],
                                         "board": A.uuid})
        line = A.sim("get-line", "sim0", "2")
        self.assertEqual((line["value"], line["direction"]), (1, "output"))
        self.assertEqual(A.sim("get-line", "sim0", "4")["writes"], writes4)
        # Acknowledged: the outbox is empty and the executor forgot the result.
        iottest.wait_until(lambda: A.status()["outbox"]["waiting"] == 0, timeout=10,
                           what="outbox drained")
        self.assertEqual(os.listdir(os.path.join(A.state_dir, "outbox")), [])
        # A repeat of an execution id never runs again (deviceless-api.md 3.6).
        wm = invoke("FunctionExecute", p)
        self.assertIn(wm["result"], ("SUCCESS", "RUNNING"))
        st = invoke("FunctionStatus", {})
        self.assertEqual(st["result"], "SUCCESS")
        self.assertEqual(st["message"]["running"], [])


class BadArguments(unittest.TestCase):
    """Every procedure validates its arguments and answers ERROR naming the
    bad one; the agent survives them all."""

    CASES = [
        ("DeviceEcho", [{}], "missing say"),
        ("DeviceEcho", [{"say": 5}], "say must be a string"),
        ("DeviceEcho", ["nope"], "parameters must be an object"),
        ("DeviceEcho", [{"say": "x" * 5000}], "say is longer than 4096 characters"),
        ("DeviceMountFs", [{}], "missing mnt_cmd"),
        ("DeviceRestartLR", [{"delay": -1}], "delay must be an integer between 0 and 3600"),
        ("DeviceRestSubmit", [{"url": "http://127.0.0.1/"}], "missing method"),
        ("DeviceRestSubmit", [{"method": "GET"}], "missing url"),
        ("DeviceRestSubmit", [{"method": "BREW", "url": "http://127.0.0.1/"}],
         "method must be one of"),
        ("DeviceRestSubmit", [{"method": "GET", "url": "http://127.0.0.1/", "timeout": 99}],
         "timeout must be a number of seconds"),
        ("DeviceRestSubmit", [{"method": "GET", "url": "http://127.0.0.1/",
                               "headers": {"X": "a\r\nb"}}], "headers: X is not a valid header"),
        ("DeviceUpgradeLR", [{}], "missing version"),
        ("GpioRead", [{"line": 1}], "missing chip"),
        ("GpioRead", [{"chip": "sim0", "line": "x"}], "line"),
        ("GpioWrite", [{"chip": "sim0", "line": 1, "value": 7}], "value"),
        ("SensorRead", [{}], "missing name"),
        ("PluginInject", [], "missing plugin"),
        ("PluginInject", [{"uuid": "x", "name": "n", "code": "c"}, False],
         "plugin: uuid is not a UUID"),
        ("PluginInject", [{"uuid": "2f6c0c57-9f7e-4a63-8d8d-0ec3b7a4f1aa", "name": "n"}, False],
         "plugin: missing code"),
        ("PluginInject", [{"uuid": "2f6c0c57-9f7e-4a63-8d8d-0ec3b7a4f1aa", "name": "n",
                           "code": "x"}, "yes"], "onboot must be a boolean"),
        ("PluginInject", [{"uuid": "2f6c0c57-9f7e-4a63-8d8d-0ec3b7a4f1aa", "name": "n",
                           "code": "x", "extra": {"devices": ["gpio:sim0:1:sideways"]}}, False],
         "Invalid device gpio:sim0:1:sideways"),
        ("PluginStart", [], "missing plugin_uuid"),
        ("PluginStart", [42], "plugin_uuid must be a string"),
        ("PluginStop", ["not-a-uuid"], "plugin_uuid is not a UUID"),
        ("PluginCall", ["2f6c0c57-9f7e-4a63-8d8d-0ec3b7a4f1aa", {}], "does not exist"),
        ("PluginStatus", [None], "missing plugin_uuid"),
        ("PluginReboot", [[]], "plugin_uuid must be a string"),
        ("PluginRemove", [{}], "plugin_uuid must be a string"),
        ("ServiceEnable", [], "missing service"),
        ("ServiceEnable", [{"uuid": "2f6c0c57-9f7e-4a63-8d8d-0ec3b7a4f1aa", "name": "s",
                            "port": 80, "protocol": "TCP"}], "missing public_port"),
        ("ServiceEnable", [{"uuid": "2f6c0c57-9f7e-4a63-8d8d-0ec3b7a4f1aa", "name": "s",
                            "port": 80, "protocol": "TCP"}, 70000],
         "public_port must be an integer between 1 and 65535"),
        ("ServiceEnable", [{"uuid": "2f6c0c57-9f7e-4a63-8d8d-0ec3b7a4f1aa", "name": "s",
                            "port": 0}, 50001], "service: port must be an integer"),
        ("ServiceDisable", [{"name": "s", "port": 80}], "service: missing uuid"),
        ("ServiceRestore", ["x", 5], "service must be an object"),
        ("FunctionExecute", [], "missing payload"),
        ("FunctionExecute", [{"execution_id": 5}], "execution_id"),
        ("FunctionDeploy", ["x"], "payload must be an object"),
        ("FunctionRemove", [7], "payload must be an object"),
        ("CachePurge", [{"purge": "x"}], "purge"),
        ("FunctionStatus", [3], "payload must be an object"),
    ]

    def test_every_procedure_names_the_bad_argument(self):
        for method, args, want in self.CASES:
            with self.subTest(method=method, args=args):
                wm = invoke(method, *args)
                self.assertEqual(wm["result"], "ERROR", wm)
                text = wm["message"] if isinstance(wm["message"], str) else \
                    wm["message"].get("message", "")
                self.assertIn(want, text, wm)
        self.assertTrue(A.alive())
        self.assertEqual(ok(CLOUD.action(A.uuid, "DeviceEcho", {"say": "still here"}))[:10],
                         "still here")

    def test_a_call_without_req_object_is_refused(self):
        r = CLOUD.invoke(A.uuid, "DevicePing", [], req=None)
        self.assertEqual(r["wampmessage"]["result"], "SUCCESS")
        import pika  # noqa: F401 (iotstack checked it)
        bad = CLOUD._rpc("wagent.wagent-1", "invoke",
                         {"board_uuid": A.uuid, "method": "DevicePing", "args": [],
                          "req": {"uuid": 5}, "timeout_ms": 5000}, 15)
        self.assertEqual(bad["wampmessage"]["result"], "ERROR")
        self.assertIn("req: uuid must be a string", bad["wampmessage"]["message"])


if __name__ == "__main__":
    iottest.main()
