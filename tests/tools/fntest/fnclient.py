"""Helpers for the function executor's integration tests and benchmark.

- runtimes(): builds the busybox and python3 runtime archives once per build
  directory (tools/build-runtimes.sh), reused while the script and the
  launchers are unchanged;
- BlobServer: the service's blob endpoint (deviceless-api.md 3.5.2) on a
  loopback port: GET /v1/blobs/<sha256> with X-Board-Token, one byte range,
  404 with the contract's faultstring; it counts requests per blob;
- Fntest: starts tests/tools/fntest with a private config and talks to its
  control socket (one JSON object per line);
- package builders (zip, tar.gz) and payload builders.
"""

import atexit
import hashlib
import io
import json
import os
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import iottest

ROOT = iottest.ROOT
RUNTIME_SOURCES = [
    os.path.join(ROOT, "tools", "build-runtimes.sh"),
    os.path.join(ROOT, "lightning-rod-c", "runtime", "busybox", "launch.sh"),
    os.path.join(ROOT, "lightning-rod-c", "runtime", "python3", "launcher.py"),
]
BOARD = "6f1c2a8e-0b7d-4c1e-9a55-3d2b7e9f0a11"
FUNCTION = "11111111-1111-4111-8111-111111111111"


def runtimes():
    """Returns {"busybox": path, "python3": path}, building them if needed."""
    out = os.path.join(iottest.BUILD, "runtimes")
    paths = {n: os.path.join(out, n + ".tar.gz") for n in ("busybox", "python3")}
    newest = max(os.path.getmtime(p) for p in RUNTIME_SOURCES)
    if not all(os.path.exists(p) and os.path.getmtime(p) >= newest for p in paths.values()):
        subprocess.run([os.path.join(ROOT, "tools", "build-runtimes.sh"), out], check=True,
                       stdout=subprocess.DEVNULL)
    return paths


# ------------------------------------------------------------ blob server

class BlobServer:
    """Serves blobs by sha256; each blob needs the token "tok-<sha256>"."""

    def __init__(self):
        self.blobs = {}
        self.gets = {}
        self.ranges = []
        self.delay = 0.0
        self.cut_once = set()  # blobs whose first answer stops half-way
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, code, body, ctype="application/json", extra=()):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in extra:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                sha = self.path.rsplit("/", 1)[-1]
                with server.lock:
                    server.gets[sha] = server.gets.get(sha, 0) + 1
                    data = server.blobs.get(sha)
                if server.delay:
                    time.sleep(server.delay)
                if self.headers.get("X-Board-Token") != "tok-" + sha:
                    body = json.dumps({"faultstring": "Invalid board token."}).encode()
                    return self._send(401, body)
                if data is None:
                    body = json.dumps({"faultstring": "Blob %s not found." % sha}).encode()
                    return self._send(404, body)
                rng = self.headers.get("Range")
                with server.lock:
                    cut = sha in server.cut_once
                    server.cut_once.discard(sha)
                if cut:
                    # Announce the whole blob, send half, hang up: a flaky link.
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[:len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if rng and rng.startswith("bytes=") and rng.endswith("-"):
                    start = int(rng[6:-1])
                    with server.lock:
                        server.ranges.append((sha, start))
                    return self._send(206, data[start:], "application/octet-stream",
                                      [("Content-Range", "bytes %d-%d/%d"
                                        % (start, len(data) - 1, len(data)))])
                self._send(200, data, "application/octet-stream", [("ETag", '"%s"' % sha)])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.base = "http://127.0.0.1:%d/v1/blobs/" % self.httpd.server_address[1]

    def add(self, data, fmt, serve=True, **overrides):
        """Stores data; returns the payload's blob object (sha256, md5sum,
        size, format, url, token), with overrides applied."""
        sha = hashlib.sha256(data).hexdigest()
        if serve:
            with self.lock:
                self.blobs[sha] = data
        blob = {"sha256": sha, "md5sum": hashlib.md5(data).hexdigest(), "size": len(data),
                "format": fmt, "url": self.base + sha, "token": "tok-" + sha}
        blob.update(overrides)
        return blob

    def count(self, sha):
        with self.lock:
            return self.gets.get(sha, 0)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ----------------------------------------------------------------- packages

def zip_package(files):
    """files: {name: text or bytes}."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in sorted(files.items()):
            z.writestr(name, content)
    return buf.getvalue()


def tgz_package(entries):
    """entries: list of (name, kind, data) with kind file|dir|symlink|hardlink
    (data: bytes, None, or the link target), or a tarfile.TarInfo."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if kind == "file":
                info.size = len(data)
                info.mode = 0o644
                t.addfile(info, io.BytesIO(data))
                continue
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = data
            elif kind == "hardlink":
                info.type = tarfile.LNKTYPE
                info.linkname = data
            elif kind == "suid":
                info.size = 0
                info.mode = 0o4755
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
            t.addfile(info)
    return buf.getvalue()


# ------------------------------------------------------------------- daemon

class Ctl:
    def __init__(self, path, timeout=60):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.f = self.s.makefile("rb")

    def call(self, op, **kw):
        kw["op"] = op
        self.s.sendall(json.dumps(kw).encode() + b"\n")
        line = self.f.readline()
        if not line:
            raise RuntimeError("control socket closed")
        return json.loads(line)

    def read_event(self):
        line = self.f.readline()
        if not line:
            raise RuntimeError("control socket closed")
        return json.loads(line)

    def close(self):
        self.f.close()
        self.s.close()


_shm_dirs = []


def _remove_shm_dirs():
    for d in _shm_dirs:
        subprocess.run(["rm", "-rf", d])


atexit.register(_remove_shm_dirs)


def run_dir_base():
    """A tmpfs for run_dir, as deviceless-api.md 4.1 asks (bundles, results
    and IO sockets in memory): /dev/shm when there is one."""
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        d = tempfile.mkdtemp(prefix="iot-fn-", dir="/dev/shm")
        _shm_dirs.append(d)
        os.chmod(d, 0o755)
        return d
    return iottest.tmpdir("fnrun-")


class Fntest:
    """One fntest daemon with a private state, cache and run directory."""

    def __init__(self, function=None, process_runtimes=None, io=None, exe=None,
                 log_level="info"):
        self.dir = iottest.tmpdir("fn-")
        os.chmod(self.dir, 0o755)
        self.run_dir = os.path.join(run_dir_base(), "run")
        self.state_dir = os.path.join(self.dir, "state")
        self.cache_dir = os.path.join(self.dir, "cache")
        fn = {"cache_dir": self.cache_dir,
              "probe_path": os.path.join(iottest.BIN, "lrc-probe"),
              "max_concurrency": 2}
        fn.update(function or {})
        sections = {"DEFAULT": {"state_dir": self.state_dir, "run_dir": self.run_dir,
                                "log_level": log_level},
                    "fntest": {"board_id": BOARD},
                    "function": fn,
                    "io": dict({"backend": "sim", "sim_chips": "sim0:32"}, **(io or {}))}
        if process_runtimes:
            sections["process_runtimes"] = process_runtimes
        self.conf = iottest.write_conf(os.path.join(self.dir, "fntest.conf"), sections)
        self.daemon = iottest.Daemon("fntest", ["--config-file", self.conf], logdir=self.dir,
                                     exe=exe)
        self.ctl = None

    def start(self, timeout=30):
        sock = os.path.join(self.run_dir, "control.sock")
        if os.path.exists(sock):
            os.unlink(sock)  # left by a daemon that was killed
        self.daemon.start()
        iottest.wait_until(lambda: os.path.exists(sock) or not self.daemon.alive(),
                           timeout=timeout, what="fntest control socket")
        if not self.daemon.alive():
            raise RuntimeError("fntest died:\n" + self.daemon.tail())
        self.ctl = Ctl(sock)
        iottest.wait_until(lambda: self.ctl.call("fn_ready")["ready"], timeout=timeout,
                           what="fntest ready")
        return self

    def stop(self, check=True):
        """Stops the daemon (SIGTERM: a clean shutdown). With check, a
        non-zero exit (a sanitizer's report, a crash) is an error."""
        if self.ctl:
            self.ctl.close()
            self.ctl = None
        rc = self.daemon.stop()
        if check and rc != 0:
            raise AssertionError("fntest exited with %s:\n%s" % (rc, self.daemon.tail(80)))
        return rc

    def call(self, op, **kw):
        return self.ctl.call(op, **kw)

    def execute(self, payload):
        return self.call("fn_execute", payload=payload)

    def result(self, execution_id, timeout=60):
        return iottest.wait_until(
            lambda: self.call("fn_result", execution_id=execution_id)["result"],
            timeout=timeout, interval=0.01, what="result of %s" % execution_id)

    def run(self, payload, timeout=60):
        """Executes and waits; returns (reply, result)."""
        reply = self.execute(payload)
        if reply.get("kind") != "RUNNING":
            return reply, None
        return reply, self.result(payload["execution_id"], timeout)

    def status(self):
        return self.call("fn_status")["status"]

    def caps(self):
        return self.call("fn_caps")["caps"]

    def log(self):
        return self.daemon.log_text()


def payload(runtime, package, entry="main.main", **kw):
    p = {"execution_id": str(uuid.uuid4()), "function_id": FUNCTION, "function_version": 0,
         "entry": entry, "timeout": 10, "cpu": 500, "memory_size": 64 << 20,
         "package": package, "runtime": runtime}
    p.update(kw)
    return p


def runtime_blob(server, name, path, **config):
    with open(path, "rb") as f:
        data = f.read()
    blob = server.add(data, "tar.gz")
    blob.update({"id": "22222222-2222-4222-8222-%012d" % (1 if name == "busybox" else 2),
                 "name": name})
    if config:
        blob["config"] = config
    return blob
