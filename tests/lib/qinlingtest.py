"""Helpers for the deviceless service's suites (tests/integration/test_qinling*.py,
tests/e2e/test_deviceless*.py).

    st = qinlingtest.Stack(engine=True).start()   # qinling-api (+ qinling-engine)
    st.call("POST", "/v1/runtimes", {"image": "busybox"}, admin=True)
    st.add_board(name="b1", status="online", caps={...})   # IoTronic rows, for
                                                           # integration tests without boards

Everything lives in its own database, vhost and directory; daemons are
iottest.Daemon instances, stopped at the end of the run.
"""

import base64
import gzip
import hashlib
import http.client
import io
import json
import os
import tarfile
import time
import uuid
import zipfile

import iottest

SECRET = "0123456789abcdef0123456789abcdef-test-secret"
RUNTIMES = os.path.join(iottest.BUILD, "runtimes")


def runtimes_dir():
    """The runtime archives of tools/build-runtimes.sh, built once per build dir."""
    if not os.path.exists(os.path.join(RUNTIMES, "python3.tar.gz")):
        import subprocess
        subprocess.run([os.path.join(iottest.ROOT, "tools", "build-runtimes.sh"), RUNTIMES],
                       check=True, stdout=subprocess.DEVNULL)
    return RUNTIMES


def make_zip(files, mode=0o644):
    """A ZIP package of {name: text or bytes}."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            z.writestr(info, data)
    return out.getvalue()


def make_targz(members):
    """A tar.gz of [(name, type, data_or_target, mode)], type 'f', 'd', 'l', 'h', 'c', 'p'."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as t:
        for name, kind, data, mode in members:
            ti = tarfile.TarInfo(name)
            ti.mode = mode
            if kind == "f":
                raw = data.encode() if isinstance(data, str) else data
                ti.size = len(raw)
                t.addfile(ti, io.BytesIO(raw))
                continue
            ti.type = {"d": tarfile.DIRTYPE, "l": tarfile.SYMTYPE, "h": tarfile.LNKTYPE,
                       "c": tarfile.CHRTYPE, "p": tarfile.FIFOTYPE}[kind]
            if kind in ("l", "h"):
                ti.linkname = data
            t.addfile(ti)
    return out.getvalue()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return "<%d %r>" % (self.status, self.raw[:300])


class Stack:
    """qinling-api and optionally qinling-engine on a fresh database and vhost."""

    def __init__(self, engine=False, extra=None, db=None, vhost=None, api=True):
        self.db = db or iottest.new_db()
        self.url = vhost or iottest.new_vhost()
        self.dir = iottest.tmpdir("qinling-")
        self.storage = os.path.join(self.dir, "store")
        self.port = iottest.free_port()
        self.want_engine = engine
        self.want_api = api
        self.extra = extra or {}
        self.api = None
        self.engine = None
        self.conf = None

    def sections(self):
        s = {
            "DEFAULT": {"auth_strategy": "noauth", "transport_url": self.url,
                        "log_level": "info"},
            "api": {"host": "127.0.0.1", "port": self.port, "workers": 16},
            "database": {"connection": iottest.dsn(self.db)},
            "storage": {"file_system_dir": self.storage},
            "engine": {"board_token_secret": SECRET, "sweep_interval": 1,
                       "board_call_timeout": 5},
        }
        for sec, kv in self.extra.items():
            s.setdefault(sec, {}).update(kv)
        return s

    def write_conf(self):
        self.conf = iottest.write_conf(os.path.join(self.dir, "qinling.conf"), self.sections())
        return self.conf

    def start(self):
        self.write_conf()
        if self.want_api:
            self.start_api()
        if self.want_engine:
            self.start_engine()
        return self

    def start_api(self):
        self.api = iottest.Daemon("qinling-api", ["--config-file", self.conf],
                                  logdir=self.dir).start(wait_for_port=self.port)
        return self.api

    def start_engine(self):
        self.engine = iottest.Daemon("qinling-engine", ["--config-file", self.conf],
                                     logdir=self.dir).start()
        iottest.wait_until(lambda: "engine ready" in self.engine.log_text()
                           or not self.engine.alive(), timeout=30, what="engine ready")
        if not self.engine.alive():
            raise RuntimeError("qinling-engine died:\n" + self.engine.tail())
        return self.engine

    SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

    def stop(self):
        """Stops the daemons (SIGTERM) and fails on an unclean exit or on any
        sanitizer report in their logs (leaks are reported at exit)."""
        problems = []
        for d in (self.engine, self.api):
            if d is None:
                continue
            was_alive = d.alive()
            rc = d.stop(grace=15)
            text = d.log_text()
            for m in self.SANITIZER_MARKERS:
                if m in text:
                    problems.append("%s: %s\n%s" % (d.name, m, d.tail(60)))
            if was_alive and rc not in (0, None):
                problems.append("%s exited with %s\n%s" % (d.name, rc, d.tail(30)))
        self.api = self.engine = None
        if problems:
            raise AssertionError("\n".join(problems))

    # ------------------------------------------------------------- HTTP
    def request(self, method, path, body=None, headers=None, raw=None, timeout=120):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        resp = Response(r.status, r.getheaders(), r.read())
        conn.close()
        return resp

    def call(self, method, path, body=None, project="p1", admin=False, headers=None, **kw):
        h = {"X-Project-Id": project}
        if admin:
            h["X-Roles"] = "admin"
        h.update(headers or {})
        return self.request(method, path, body, headers=h, **kw)

    def multipart(self, method, path, fields, files, project="p1", admin=False):
        boundary = "----qinling%s" % uuid.uuid4().hex
        parts = []
        for k, v in fields.items():
            parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                          % (boundary, k, v)).encode())
        for k, (fname, data) in files.items():
            parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                          "Content-Type: application/octet-stream\r\n\r\n"
                          % (boundary, k, fname)).encode() + data + b"\r\n")
        parts.append(("--%s--\r\n" % boundary).encode())
        h = {"Content-Type": "multipart/form-data; boundary=%s" % boundary,
             "X-Project-Id": project}
        if admin:
            h["X-Roles"] = "admin"
        return self.request(method, path, raw=b"".join(parts), headers=h)

    # ------------------------------------------------------------- setup
    def runtime(self, name="busybox", project="p1", upload=True, **extra):
        body = {"image": "%s-test" % name, "name": name}
        body.update(extra)
        r = self.call("POST", "/v1/runtimes", body, project=project, admin=True)
        assert r.status == 201, r
        rid = r.json["id"]
        if upload:
            with open(os.path.join(runtimes_dir(), name + ".tar.gz"), "rb") as f:
                data = f.read()
            r = self.call("PUT", "/v1/runtimes/%s/image" % rid, admin=True, project=project,
                          headers={"Content-Type": "application/gzip"}, raw=data)
            assert r.status == 200, r
            assert r.json["status"] == "available", r.json
        return rid

    def function(self, runtime, files, project="p1", **fields):
        pkg = make_zip(files)
        body = {"code": {"source": "package", "md5sum": hashlib.md5(pkg).hexdigest()},
                "package": base64.b64encode(pkg).decode(), "runtime_id": runtime}
        body.update(fields)
        r = self.call("POST", "/v1/functions", body, project=project)
        assert r.status == 201, r
        return r.json

    def sql(self, text, *params):
        return iottest.psql(self.db, text, *params)

    def add_board(self, name=None, status="online", project="p1", caps=None, fleet=None,
                  agent="qtest"):
        """An IoTronic board row (the IoTronic services own these; integration tests
        without them write the rows the way the conductor would)."""
        bid = str(uuid.uuid4())
        name = name or "board-" + bid[:8]
        # One statement: an engine sweeping meanwhile must never see the board
        # online without the capabilities the test gives it.
        self.sql("WITH b AS (INSERT INTO boards (uuid, code, status, name, project, fleet, agent) "
                 "VALUES (:'p1', :'p2', :'p3', :'p4', :'p5', NULLIF(:'p6', '')::uuid, :'p7') "
                 "RETURNING uuid) INSERT INTO board_capabilities (board_uuid, caps) "
                 "SELECT uuid, :'p8'::jsonb FROM b WHERE :'p8' <> 'null'",
                 bid, bid[:30], status, name, project, fleet or "", agent, json.dumps(caps))
        return bid

    def add_fleet(self, name=None, project="p1"):
        fid = str(uuid.uuid4())
        self.sql("INSERT INTO fleets (uuid, name, project) VALUES (:'p1', :'p2', :'p3')",
                 fid, name or "fleet-" + fid[:8], project)
        return fid


def caps(chips=(("sim0", 32),), sensors=("temp0",), executor="crun", slots=2, arch=None,
         cached_runtimes=(), cached_packages=()):
    """A DeviceCaps object (3.4.1) for integration tests."""
    import subprocess
    if arch is None:
        arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                              text=True).stdout.strip()
    return {
        "arch": arch, "cpus": 2, "mem_bytes": 1 << 30, "executor": executor,
        "executor_detail": {"crun_version": "1.8.1", "cgroup": "v1", "rootless": False,
                            "enforced": {"memory": True, "cpu": True, "pids": True,
                                         "devices": True, "seccomp": True}, "error": None},
        "max_concurrency": slots, "process_runtimes": [],
        "gpio": [{"chip": c, "label": c, "lines": n, "backend": "sim", "dev": None}
                 for c, n in chips],
        "sensors": [{"name": s, "kind": "sim", "unit": "C"} for s in sensors],
        "cache": {"runtimes": list(cached_runtimes), "packages": list(cached_packages),
                  "free_bytes": 1 << 28},
        "io_socket": True,
    }


class FakeWagent:
    """The AMQP face of a wagent for engine tests without real boards: it
    consumes wagent.<name> and answers `invoke` the way board-protocol.md 8.1
    says, and publishes results to qinling_engine_events as a wagent does.

    behave(board, method, payload) returns what to do: a dict
      {"outcome": "replied", "result": "RUNNING", "message": {...}}   answer
      {"outcome": "timeout"} / {"outcome": "not_connected"} ...       answer
      None                                                            no answer at all
    and may schedule results with fw.later(seconds, fn). By default
    FunctionExecute is accepted and succeeds with output "ok" at once,
    DeviceCaps answers `caps`, FunctionStatus answers nothing running."""

    def __init__(self, url, name="qtest", caps_for=None):
        import threading
        import pika
        self.pika = pika
        self.url = url
        self.name = name
        self.caps_for = caps_for or (lambda board: caps())
        self.calls = []           # (board, method, payload)
        self.behave = self.default
        self.status = {}          # board -> FunctionStatus answer
        self._stop = False
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        if not self._ready.wait(20):
            raise RuntimeError("fake wagent did not connect")
        return self

    def stop(self):
        self._stop = True
        self._thread.join(10)

    def default(self, board, method, payload):
        if method == "FunctionExecute":
            self.later(0, lambda: self.result(board, payload["execution_id"], "success", "ok"))
            return {"outcome": "replied", "result": "RUNNING", "message": {"state": "started"}}
        if method == "DeviceCaps":
            return {"outcome": "replied", "result": "SUCCESS", "message": self.caps_for(board)}
        if method == "FunctionStatus":
            return {"outcome": "replied", "result": "SUCCESS",
                    "message": self.status.get(board, {"running": [], "warm": [], "known": []})}
        return {"outcome": "replied", "result": "SUCCESS", "message": {}}

    def later(self, seconds, fn):
        """Runs fn on the wagent's own thread (pika is not thread-safe)."""
        self._conn.add_callback_threadsafe(lambda: self._conn.call_later(seconds, fn))

    def result(self, board, execution_id, status, output, logs="", **extra):
        body = {"execution_id": execution_id, "board_uuid": board, "container_id": "lr-0000",
                "status": status, "output": output, "duration": 0.0123, "exit_code": 0,
                "signal": None, "timed_out": False, "oom": False, "logs": logs,
                "logs_dropped": 0, "received_at": "2026-11-25T10:00:00.000001Z",
                "started_at": "2026-11-25T10:00:00.000002Z",
                "finished_at": "2026-11-25T10:00:00.010000Z", "first_write_at": None,
                "executor": "crun", "warm": False}
        body.update(extra)
        self._ch.basic_publish("", "qinling_engine_events", json.dumps(body).encode(),
                               self.pika.BasicProperties(type="function_result", delivery_mode=2,
                                                         content_type="application/json"))

    def board_event(self, board, event):
        self.later(0, lambda: self._board_event(board, event))

    def _board_event(self, board, event):
        body = {"event": event, "board_uuid": board, "agent": self.name, "session": "1",
                "lr_version": "lrc-0.1.0", "at": "2026-11-25T10:00:00.000000Z"}
        self._ch.basic_publish("iotronic.board_events", event, json.dumps(body).encode(),
                               self.pika.BasicProperties(type=event, delivery_mode=2,
                                                         content_type="application/json"))

    def methods(self, method):
        return [c for c in self.calls if c[1] == method]

    def _on(self, ch, m, props, body):
        env = json.loads(body)
        a = env.get("args", {})
        board, method = a.get("board_uuid"), a.get("method")
        payload = (a.get("args") or [None])[0]
        self.calls.append((board, method, payload))
        ans = self.behave(board, method, payload)
        if ans is not None and props.reply_to:
            out = {"outcome": ans["outcome"]}
            if ans["outcome"] == "replied":
                out["wampmessage"] = {"result": ans["result"], "message": ans.get("message"),
                                      "req_id": (a.get("req") or {}).get("uuid")}
            ch.basic_publish("", props.reply_to,
                             json.dumps({"v": 1, "ok": True, "result": out}).encode(),
                             self.pika.BasicProperties(correlation_id=props.correlation_id,
                                                       content_type="application/json"))
        ch.basic_ack(m.delivery_tag)

    def _run(self):
        self._conn = self.pika.BlockingConnection(self.pika.URLParameters(self.url))
        self._ch = self._conn.channel()
        self._ch.exchange_declare("iotronic.board_events", "topic", durable=True)
        self._ch.queue_declare("qinling_engine_events", durable=True)
        self._ch.queue_declare("wagent." + self.name, auto_delete=True)
        self._ch.basic_consume("wagent." + self.name, self._on)
        self._ready.set()
        while not self._stop:
            self._conn.process_data_events(time_limit=0.05)
        self._conn.close()
