"""The stack `make bench` measures, started in a private directory.

PostgreSQL and RabbitMQ come from the test harness (tests/lib/iottest: a
private directory, free loopback ports, their own users), then one fresh
database with every migration and one vhost, and our daemons from the
build directory, each from a config file written here, each in its own
process group, all stopped at exit (iottest.Daemon).

Everything listens on 127.0.0.1. Daemons that are not built yet (the tree is
being finished by several engineers) make the suites that need them report
"not measured" with the reason, rather than fail the whole bench."""

import http.client
import json
import os
import resource
import subprocess
import threading
import time

import iottest

P_BENCH = "bench"         # the project whose boards GET /v1/boards lists
P_BULK = "bulk"           # the project POSTs and scale boards go to

LOC = [{"latitude": "38.19", "longitude": "15.55", "altitude": "0"}]


class Missing(RuntimeError):
    """A component the suite needs is not built."""


def need(*names):
    for n in names:
        if not os.access(iottest.bin_path(n), os.X_OK):
            raise Missing("%s is not built in %s" % (n, iottest.BIN))


def raise_nofile():
    """Children inherit our limit: take the hard one (20000 here)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kb(pid):
    """Resident set of a process, from /proc (VmRSS)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def rss_detail(pid):
    """VmRSS, RssAnon, RssFile of a process in KiB."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k = line.split(":")[0]
            if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
                out[k] = int(line.split()[1])
    return out


class Client:
    """One keep-alive HTTP connection to the API, as project `project`."""

    def __init__(self, port, project=P_BENCH):
        self.port = port
        self.project = project
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method, path, body=None):
        h = {"Accept": "application/json", "X-User-Id": "bench", "X-Project-Id": self.project,
             "X-Roles": "admin_iot_project"}
        raw = None
        if body is not None:
            raw = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        for attempt in (0, 1):
            try:
                self.c.request(method, path, body=raw, headers=h)
                r = self.c.getresponse()
                data = r.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.c.close()
                self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        parsed = None
        if data and (r.getheader("Content-Type") or "").startswith("application/json"):
            parsed = json.loads(data)
        return r.status, parsed

    def close(self):
        self.c.close()


class Wagent:
    def __init__(self, name, daemon, port, admin, wstun):
        self.name = name
        self.daemon = daemon
        self.port = port
        self.admin = admin
        self.wstun = wstun
        self.url = "ws://127.0.0.1:%d/" % port


class Stack:
    def __init__(self, workdir, log):
        self.dir = workdir
        self.log = log
        self.svc = None
        self.db = None
        self.vhost = None
        self.conf = None
        self.api = None
        self.api_port = None
        self.conductors = []
        self.wagents = {}

    # ------------------------------------------------------------ base

    def start_base(self):
        need("iotronic-dbsync")
        t = time.monotonic()
        self.svc = iottest.services()
        self.db = iottest.new_db()
        self.vhost = iottest.new_vhost()
        self.log("services: PostgreSQL :%d, RabbitMQ :%d, database %s (%.1f s)"
                 % (self.svc.pg_port, self.svc.amqp_port, self.db, time.monotonic() - t))
        self.api_port = iottest.free_port()
        conf = {
            "DEFAULT": {"transport_url": self.vhost, "auth_strategy": "noauth",
                        "rpc_response_timeout": 30, "log_level": "warning"},
            "api": {"host_ip": "127.0.0.1", "port": self.api_port, "workers": 8},
            # Public ports below Linux's ephemeral range (32768-60999): the default
            # 50000-60000 overlaps it, and a port some outgoing connection holds
            # cannot be listened on.
            "conductor": {"workers": 8, "board_call_timeout": 10, "heartbeat_interval": 2,
                          "agent_timeout": 6, "service_port_min": 21000,
                          "service_port_max": 29999},
            "wagent": {"heartbeat_interval": 2, "agent_timeout": 6},
            "database": {"connection": iottest.dsn(self.db)},
        }
        self.conf = iottest.write_conf(os.path.join(self.dir, "iotronic.conf"), conf)

    def sql(self, text, *params):
        return iottest.psql(self.db, text, *params)

    def daemon(self, name, conf_files, port=None, extra_env=None):
        args = []
        for c in conf_files:
            args += ["--config-file", c]
        d = iottest.Daemon(name, args, env=extra_env, logdir=os.path.join(self.dir, "logs"))
        os.makedirs(d.logdir, exist_ok=True)
        d.start(wait_for_port=port, timeout=30)
        return d

    # ------------------------------------------------------------ cloud daemons

    def start_conductor(self, host):
        need("iotronic-conductor")
        c = iottest.write_conf(os.path.join(self.dir, host + ".conf"), {"DEFAULT": {"host": host}})
        d = self.daemon("iotronic-conductor", [self.conf, c])
        iottest.wait_until(lambda: self.sql("SELECT count(*) FROM conductors WHERE hostname = :'p1'",
                                            host)[0][0] == "1", timeout=30,
                           what="conductor %s registered" % host)
        self.conductors.append(d)
        return d

    def start_api(self):
        need("iotronic-api")
        self.api = self.daemon("iotronic-api", [self.conf], port=self.api_port)
        return self.api

    def start_wagent(self, host, register_agent=True, extra=None):
        need("iotronic-wagent")
        port, admin, wstun = iottest.free_port(), iottest.free_port(), iottest.free_port()
        sections = {
            "DEFAULT": {"host": host},
            "wamp": {"wamp_transport_url": "ws://127.0.0.1:%d/" % port,
                     "register_agent": register_agent},
            "wagent": {"listen": "127.0.0.1:%d" % port, "admin_listen": "127.0.0.1:%d" % admin,
                       "max_sessions": 60000, "max_handshakes_per_second": 2000,
                       "allow_anonymous_boards": False},
            "wstun": {"listen": "127.0.0.1:%d" % wstun,
                      "public_url": "ws://127.0.0.1:%d/" % wstun, "bind_address": "127.0.0.1"},
        }
        for sec, kv in (extra or {}).items():
            sections.setdefault(sec, {}).update(kv)
        c = iottest.write_conf(os.path.join(self.dir, host + ".conf"), sections)
        d = self.daemon("iotronic-wagent", [self.conf, c], port=port)
        w = Wagent(host, d, port, admin, wstun)
        w.conf = c
        self.wagents[host] = w
        return w

    def restart_wagent(self, w):
        d = self.daemon("iotronic-wagent", [self.conf, w.conf], port=w.port)
        w.daemon = d
        return w

    # ------------------------------------------------------------ boards

    def create_boards(self, names, project, threads=8):
        """Creates boards through the API (code = name). Returns {name: uuid}."""
        out = {}
        lock = threading.Lock()
        chunks = [names[i::threads] for i in range(threads)]
        errors = []

        def work(chunk):
            c = Client(self.api_port, project)
            try:
                for n in chunk:
                    s, j = c.call("POST", "/v1/boards",
                                  {"name": n, "code": n, "type": "gateway", "location": LOC})
                    if s != 201:
                        errors.append("POST %s: %s %s" % (n, s, j))
                        return
                    with lock:
                        out[n] = j["uuid"]
            finally:
                c.close()

        ts = [threading.Thread(target=work, args=(ch,)) for ch in chunks if ch]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if errors:
            raise RuntimeError(errors[0])
        return out

    def boards_online(self, agent=None):
        if agent is None:
            return int(self.sql("SELECT count(*) FROM boards WHERE status = 'online'")[0][0])
        return int(self.sql("SELECT count(*) FROM boards WHERE status = 'online' AND agent = :'p1'",
                            agent)[0][0])

    def stop(self):
        for d in [self.api] + self.conductors + [w.daemon for w in self.wagents.values()]:
            if d is not None:
                try:
                    d.stop(grace=5)
                except Exception:
                    pass


def git_describe(root):
    def out(*a):
        r = subprocess.run(["git", "-C", root] + list(a), capture_output=True, text=True)
        return r.stdout.strip()
    return {"commit": out("rev-parse", "HEAD"), "dirty_files": len(out("status", "--porcelain")
                                                                     .splitlines())}
