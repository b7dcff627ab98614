"""The whole IoTronic stack for end-to-end tests: the real cloud and real boards.

    import iotstack
    cloud = iotstack.Cloud()                 # database, vhost, conductor, API, one wagent
    board = cloud.agent("b1")                # a lightning-rod-c with the sim IO backend
    uuid = board.register()                  # POST /v1/boards, configure, wait online
    s, msg = cloud.action(uuid, "DevicePing")
    ...
    cloud.close()                            # stops everything it started, pass or fail

Everything runs on free loopback ports, from temporary config files, with
the run's PostgreSQL and RabbitMQ (tests/lib/iottest): iotronic-dbsync applies
the migrations (iottest.new_db), then iotronic-conductor, iotronic-api and any
number of iotronic-wagent (start_wagent; the first one answers registrations)
start, each in its own process group. Agents (Cloud.agent) each have their own
state_dir, run_dir and cache_dir, the simulated GPIO/sensor backend and the
crun function executor (or the process one), and are driven like an operator
would: `lightning-rod-c configure`, `lightning-rod-c status`, `lightning-rod-c
sim ...`, signals. The REST API runs in noauth mode with the identity headers
of one project.

Reused by the deviceless and demo suites: nothing here is specific to one
test file. Binaries come from IOT_BUILD (tests/run.py sets it).
"""

import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid as uuidlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iottest  # noqa: E402

try:
    import pika  # python3-pika (tools/deps.list)
except ImportError:  # pragma: no cover
    pika = None

HEADERS = {"X-User-Id": "u1", "X-Project-Id": "p1", "X-Roles": "admin_iot_project"}
LOCATION = [{"latitude": "38.19", "longitude": "15.55", "altitude": "0"}]
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
CLOUD_BINARIES = ("iotronic-dbsync", "iotronic-conductor", "iotronic-api", "iotronic-wagent")


def missing_binaries(names=CLOUD_BINARIES + ("lightning-rod-c",)):
    """The names of the programs not built (a suite skips when any is)."""
    return [n for n in names if not os.access(iottest.bin_path(n), os.X_OK)]


def sanitized(pid):
    """ASan's shadow memory makes RSS meaningless."""
    try:
        with open("/proc/%d/maps" % pid) as f:
            return "libasan" in f.read()
    except OSError:
        return False


def proc_status(pid, key):
    """A kB field of /proc/<pid>/status (VmRSS, RssAnon, ...)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def self_signed(directory, host="127.0.0.1"):
    """A self-signed certificate for host (an IP address); returns (cert, key)."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=" + host, "-addext", "subjectAltName=IP:" + host,
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def pss_kb(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


class Wagent:
    """One iotronic-wagent with its WAMP, tunnel and admin listeners."""

    def __init__(self, cloud, host, overrides, tls=None):
        self.cloud = cloud
        self.host = host
        self.scheme = "wss" if tls else "ws"
        self.port = iottest.free_port()
        self.tport = iottest.free_port()
        self.aport = iottest.free_port()
        self.dir = iottest.tmpdir(host + "-")
        conf = {
            "DEFAULT": {"host": host},
            "wamp": {"wamp_transport_url": "%s://127.0.0.1:%d/" % (self.scheme, self.port),
                     "register_agent": True},
            "wagent": {"listen": "127.0.0.1:%d" % self.port,
                       "admin_listen": "127.0.0.1:%d" % self.aport,
                       "heartbeat_interval": 1, "agent_timeout": 3, "ping_interval": 2,
                       "ping_timeout": 5, "bind_timeout": 10, "registration_grace": 1},
            "wstun": {"listen": "127.0.0.1:%d" % self.tport, "bind_address": "127.0.0.1",
                      "public_url": "%s://127.0.0.1:%d/" % (self.scheme, self.tport)},
        }
        if tls:
            conf["wagent"].update({"cert_file": tls[0], "key_file": tls[1]})
        for sec, kv in overrides.items():
            conf.setdefault(sec, {}).update(kv)
        self.conf = iottest.write_conf(os.path.join(self.dir, host + ".conf"), conf)
        self.daemon = None

    @property
    def url(self):
        return "%s://127.0.0.1:%d/" % (self.scheme, self.port)

    def start(self):
        self.daemon = iottest.Daemon("iotronic-wagent",
                                     ["--config-file", self.cloud.conf, "--config-file", self.conf],
                                     logdir=self.dir)
        self.daemon.start(wait_for_port=self.port, timeout=30)
        return self

    def stop(self, grace=10.0):
        return self.daemon.stop(grace) if self.daemon else None

    def kill9(self):
        self.daemon.kill9()
        self.daemon.wait(10)


class Agent:
    """One lightning-rod-c board agent with its own directories."""

    def __init__(self, cloud, name, conf=None, executor="crun"):
        self.cloud = cloud
        self.name = name
        self.dir = iottest.tmpdir("lrc-%s-" % name)
        self.state_dir = os.path.join(self.dir, "state")
        self.run_dir = os.path.join(self.dir, "run")
        self.uuid = None
        sections = {
            "DEFAULT": {"state_dir": self.state_dir, "run_dir": self.run_dir,
                        "log_level": os.environ.get("LRC_LOG_LEVEL", "info")},
            "wamp": {"backoff_initial": 1, "backoff_max": 2, "ping_interval": 5,
                     "alive_interval": 30, "call_timeout": 5},
            "io": {"backend": "sim", "sim_chips": "sim0:8", "sim_sensors": "temp0:C:21.5 lux0:lx:120"},
            "function": {"executor": executor, "cache_dir": os.path.join(self.dir, "cache"),
                         "probe_path": iottest.bin_path("lrc-probe"), "max_concurrency": 2},
            "plugin": {"executor": executor, "call_timeout": 10},
            "device": {"rest_submit_allow": "http://127.0.0.1"},
        }
        for sec, kv in (conf or {}).items():
            sections.setdefault(sec, {}).update(kv)
        self.sections = sections
        self.conf = iottest.write_conf(os.path.join(self.dir, "lightning-rod-c.conf"), sections)
        self.daemon = None

    # ------------------------------------------------------------ process

    def argv(self, *args):
        return [iottest.bin_path("lightning-rod-c"), "--config-file", self.conf] + list(args)

    def start(self):
        self.daemon = iottest.Daemon("lightning-rod-c", ["--config-file", self.conf],
                                     logdir=self.dir)
        self.daemon.start()
        iottest.wait_until(lambda: os.path.exists(os.path.join(self.run_dir, "control.sock")) or
                           not self.daemon.alive(), timeout=20, what="%s control socket" % self.name)
        if not self.daemon.alive():
            raise AssertionError("lightning-rod-c %s exited:\n%s" % (self.name, self.daemon.tail()))
        return self

    def stop(self, grace=15.0):
        return self.daemon.stop(grace) if self.daemon else None

    def kill9(self):
        self.daemon.kill9()
        self.daemon.wait(10)

    @property
    def pid(self):
        return self.daemon.pid

    def alive(self):
        return self.daemon is not None and self.daemon.alive()

    def log(self):
        return self.daemon.log_text() if self.daemon else ""

    def run(self, *args, check=True, timeout=30):
        r = subprocess.run(self.argv(*args), capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("lightning-rod-c %s: exit %d\n%s%s"
                                 % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    # ------------------------------------------------------------ driving

    def configure(self, code, url=None):
        return self.run("configure", code, url or self.cloud.wagents[0].url)

    def status(self):
        return json.loads(self.run("status", "--json").stdout)

    def sim(self, *args):
        return json.loads(self.run("sim", *args, "--json").stdout)

    def settings(self):
        with open(os.path.join(self.state_dir, "settings.json")) as f:
            return json.load(f)

    def register(self, code=None, wait=True, board_name=None):
        """Creates the board in the cloud, configures this agent with its code,
        starts it if it is not running and waits until the cloud shows it
        online. Returns the board's UUID."""
        self.uuid, code = self.cloud.create_board(board_name or self.name, code)
        self.configure(code)
        if not self.alive():
            self.start()
        if wait:
            self.wait_online()
        return self.uuid

    def wait_online(self, timeout=30.0):
        self.cloud.wait_status(self.uuid, "online", timeout)
        iottest.wait_until(lambda: self.status()["state"] == "online", timeout=timeout,
                           what="%s online" % self.name)

    def rss(self):
        return {"VmRSS": proc_status(self.pid, "VmRSS"),
                "RssAnon": proc_status(self.pid, "RssAnon"),
                "RssFile": proc_status(self.pid, "RssFile"), "Pss": pss_kb(self.pid)}

    def check_clean_exit(self, rc):
        text = self.log()
        for marker in SANITIZER_MARKERS:
            if marker in text:
                raise AssertionError("%s: %s\n%s" % (self.name, marker, self.daemon.tail(80)))
        if rc not in (0, None, -signal.SIGKILL):
            raise AssertionError("%s exited %s\n%s" % (self.name, rc, self.daemon.tail(40)))


class Cloud:
    """The cloud stack, and the agents made with it."""

    def __init__(self, wagents=1, extra=None, wagent_overrides=None, tls=None):
        """tls: (cert_file, key_file) for every wagent (wss:// everywhere)."""
        missing = missing_binaries(CLOUD_BINARIES)
        if missing:
            raise RuntimeError("not built: %s" % ", ".join(missing))
        self.db = iottest.new_db()
        self.vhost = iottest.new_vhost()
        self.dir = iottest.tmpdir("cloud-")
        self.port = iottest.free_port()
        # Public ports of exposed services: below the ephemeral range, where
        # no outgoing connection of the machine can be holding one.
        low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
        base = 10000 + (os.getpid() * 7919) % max(1000, low - 10000 - 500)
        conf = {
            "DEFAULT": {"transport_url": self.vhost, "auth_strategy": "noauth",
                        "rpc_response_timeout": 20, "log_level": os.environ.get("LRC_LOG_LEVEL", "info")},
            "api": {"host_ip": "127.0.0.1", "port": self.port, "workers": 4},
            "conductor": {"workers": 4, "board_call_timeout": 20, "heartbeat_interval": 1,
                          "agent_timeout": 3, "service_port_min": base,
                          "service_port_max": base + 400},
            "database": {"connection": iottest.dsn(self.db)},
        }
        for sec, kv in (extra or {}).items():
            conf.setdefault(sec, {}).update(kv)
        self.conf = iottest.write_conf(os.path.join(self.dir, "iotronic.conf"), conf)
        self.daemons = []
        self.wagents = []
        self.agents = []
        self._mq = None
        self.tls = tls
        self.conductor = iottest.Daemon("iotronic-conductor", ["--config-file", self.conf],
                                        logdir=self.dir).start()
        self.daemons.append(self.conductor)
        self.api = iottest.Daemon("iotronic-api", ["--config-file", self.conf],
                                  logdir=self.dir).start(wait_for_port=self.port)
        self.daemons.append(self.api)
        for i in range(wagents):
            self.start_wagent("wagent-%d" % (i + 1), **(wagent_overrides or {}))

    # ------------------------------------------------------------ members

    def start_wagent(self, host="wagent-1", **overrides):
        w = Wagent(self, host, overrides, self.tls).start()
        self.wagents.append(w)
        iottest.wait_until(lambda: self.sql("SELECT online FROM wampagents WHERE hostname = :'p1'",
                                            host) == [["t"]], timeout=20,
                           what="wagent %s online" % host)
        return w

    def agent(self, name, conf=None, executor="crun", start=False):
        a = Agent(self, name, conf, executor)
        self.agents.append(a)
        if start:
            a.start()
        return a

    # ------------------------------------------------------------ SQL, REST

    def sql(self, text, *params):
        return iottest.psql(self.db, text, *params)

    def http(self, method, path, body=None, headers=None, timeout=60):
        """Returns (status, headers, json or None, raw bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {"Accept": "application/json"}
        h.update(HEADERS)
        raw = None
        if body is not None:
            raw = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        c.request(method, path, body=raw, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        try:
            j = json.loads(data) if data else None
        except ValueError:
            j = None
        return r.status, dict(r.getheaders()), j, data

    def create_board(self, name, code=None):
        code = code or "C-%s-%s" % (name, uuidlib.uuid4().hex[:8])
        s, _, j, raw = self.http("POST", "/v1/boards",
                                 {"name": name, "code": code, "type": "gateway",
                                  "location": LOCATION})
        if s != 201:
            raise AssertionError("board create: %s %s" % (s, raw))
        return j["uuid"], code

    def new_code(self, uuid):
        """PATCHes a new registration code (re-provisioning) and returns it."""
        code = "R-%s" % uuidlib.uuid4().hex[:12]
        s, _, _, raw = self.http("PATCH", "/v1/boards/%s" % uuid, {"code": code})
        if s != 200:
            raise AssertionError("board patch: %s %s" % (s, raw))
        return code

    def board(self, uuid):
        s, _, j, raw = self.http("GET", "/v1/boards/%s" % uuid)
        if s != 200:
            raise AssertionError("board get: %s %s" % (s, raw))
        return j

    def status(self, uuid):
        rows = self.sql("SELECT status FROM boards WHERE uuid = :'p1'", uuid)
        return rows[0][0] if rows else None

    def wait_status(self, uuid, want, timeout=30.0):
        return iottest.wait_until(lambda: self.status(uuid) == want, timeout=timeout,
                                  what="board %s %s" % (uuid, want))

    def action(self, uuid, action, parameters=None):
        """POST /v1/boards/{b}/action; returns (status, body)."""
        s, _, j, raw = self.http("POST", "/v1/boards/%s/action" % uuid,
                                 {"action": action, "parameters": parameters or {}})
        return s, j if j is not None else raw

    def create_plugin(self, name, code, parameters=None, callable_=False, extra=None):
        s, _, j, raw = self.http("POST", "/v1/plugins",
                                 {"name": name, "code": code, "callable": callable_,
                                  "parameters": parameters or {}, "extra": extra or {}})
        if s != 201:
            raise AssertionError("plugin create: %s %s" % (s, raw))
        return j["uuid"]

    def inject(self, board, plugin, onboot=False):
        s, _, j, raw = self.http("PUT", "/v1/boards/%s/plugins" % board,
                                 {"plugin": plugin, "onboot": onboot})
        return s, j if j is not None else raw

    def plugin_action(self, board, plugin, action, parameters=None):
        s, _, j, raw = self.http("POST", "/v1/boards/%s/plugins/%s" % (board, plugin),
                                 {"action": action, "parameters": parameters or {}})
        return s, j if j is not None else raw

    def plugin_remove(self, board, plugin):
        return self.http("DELETE", "/v1/boards/%s/plugins/%s" % (board, plugin))[0]

    def create_service(self, name, port, protocol="TCP"):
        s, _, j, raw = self.http("POST", "/v1/services",
                                 {"name": name, "port": port, "protocol": protocol})
        if s != 201:
            raise AssertionError("service create: %s %s" % (s, raw))
        return j["uuid"]

    def service_action(self, board, service, action):
        s, _, j, raw = self.http("POST", "/v1/boards/%s/services/%s/action" % (board, service),
                                 {"action": action, "parameters": {}})
        return s, j if j is not None else raw

    def exposed(self, board):
        return self.http("GET", "/v1/boards/%s/services" % board)[2]["exposed"]

    def services_status(self, board):
        s, _, j, raw = self.http("GET", "/v1/boards/%s/services/status" % board)
        return s, j if j is not None else raw

    # ------------------------------------------------------------ AMQP

    def invoke(self, board_uuid, method, args, timeout_ms=20000, req=None):
        """Calls a board procedure through the board's wagent queue, as the
        conductor or the deviceless engine do (board-protocol.md 8.1): returns
        the wagent's reply {"outcome", "wampmessage"}."""
        if pika is None:
            raise RuntimeError("python3-pika is missing (make deps)")
        agent = self.sql("SELECT agent FROM boards WHERE uuid = :'p1'", board_uuid)[0][0]
        if req is None:
            req = {"uuid": str(uuidlib.uuid4()), "main_request_uuid": None,
                   "destination_uuid": board_uuid, "pending_requests": 0, "status": "PENDING",
                   "project": "p1", "type": 0, "action": method, "created_at": None,
                   "updated_at": None}
        return self._rpc("wagent." + agent, "invoke",
                         {"board_uuid": board_uuid, "method": method, "args": args, "req": req,
                          "timeout_ms": timeout_ms}, timeout_ms / 1000.0 + 10)

    def _rpc(self, queue_name, method, args, timeout):
        if self._mq is None:
            conn = pika.BlockingConnection(pika.URLParameters(self.vhost))
            ch = conn.channel()
            self._mq = (conn, ch, {})
            ch.basic_consume("amq.rabbitmq.reply-to",
                             lambda c, m, p, b: self._mq[2].__setitem__(p.correlation_id, b),
                             auto_ack=True)
        conn, ch, replies = self._mq
        corr = uuidlib.uuid4().hex
        body = json.dumps({"v": 1, "method": method, "args": args, "request_id": corr,
                           "deadline_ms": 0}).encode()
        ch.basic_publish("", queue_name, body,
                         pika.BasicProperties(reply_to="amq.rabbitmq.reply-to",
                                              correlation_id=corr, message_id=corr,
                                              content_type="application/json", type=method))
        deadline = time.monotonic() + timeout
        while corr not in replies:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply to %s on %s" % (method, queue_name))
            conn.process_data_events(time_limit=min(left, 0.2))
        d = json.loads(replies.pop(corr))
        if not d.get("ok"):
            raise AssertionError("%s failed: %s" % (method, d.get("error")))
        return d.get("result")

    def engine_events(self, want=1, timeout=30.0, kind=None):
        """Takes up to want messages from the durable queue
        qinling_engine_events (what the wagent forwards from the boards'
        function_result and event calls, board-protocol.md 5.6) and returns
        them as [(type, body)]; kind filters on the message type."""
        if pika is None:
            raise RuntimeError("python3-pika is missing (make deps)")
        conn = pika.BlockingConnection(pika.URLParameters(self.vhost))
        ch = conn.channel()
        ch.queue_declare("qinling_engine_events", durable=True)
        out = []
        deadline = time.monotonic() + timeout
        try:
            while len(out) < want and time.monotonic() < deadline:
                m, props, body = ch.basic_get("qinling_engine_events", auto_ack=True)
                if m is None:
                    time.sleep(0.05)
                    continue
                if kind is None or props.type == kind:
                    out.append((props.type, json.loads(body)))
        finally:
            conn.close()
        return out

    # ------------------------------------------------------------ the end

    def close(self):
        """Stops every agent, then the cloud; raises if a process left a
        sanitizer report or exited badly."""
        bad = []
        for a in self.agents:
            if a.daemon is None or a.daemon.proc is None:
                continue
            rc = a.stop()
            try:
                a.check_clean_exit(rc)
            except AssertionError as e:
                bad.append(str(e))
        for w in self.wagents:
            if w.daemon is not None and w.daemon.proc is not None:
                w.stop()
        for d in self.daemons:
            d.stop()
        if self._mq is not None:
            try:
                self._mq[0].close()
            except Exception:
                pass
        if bad:
            raise AssertionError("\n".join(bad))
