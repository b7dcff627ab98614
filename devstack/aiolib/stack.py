"""One all-in-one stack: start, status, stop and env.

The stack lives in one state directory (default /tmp/iotronic-aio):

  state.json        what runs: every process (pid + start time), every port,
                    the boards; written atomically after each step, so that
                    `stop` can undo a start that failed half-way
  etc/              iotronic.conf, qinling.conf
  logs/             one log per process
  pg/, rabbit/      the servers' data
  qinling/blobs/    the deviceless blob store
  boards/<name>/    each simulated board: its config, state_dir, run_dir,
                    cache and the web panel it serves on loopback

Invariants: every process of the stack was started by `start` and is
recorded before `start` waits on it; `stop` signals only recorded process
groups whose leader is still the recorded process (pid and start time), and
containers rooted inside the state directory; after `stop` the directory is
removed (unless kept on request) and no recorded port listens.
"""

import json
import os
import pwd
import secrets
import signal
import subprocess
import sys
import time
import urllib.request

from . import confs, procs, servers

STATE_VERSION = 1
DEFAULT_DIR = "/tmp/iotronic-aio"

# The cloud daemons, in start order (stop goes backwards): name, config file
# under etc/, and how to tell it is ready.
DAEMONS = (
    ("iotronic-conductor", "iotronic.conf", "conductor"),
    ("iotronic-wagent", "iotronic.conf", "wagent"),
    ("iotronic-api", "iotronic.conf", "iotronic-api"),
    ("qinling-engine", "qinling.conf", "qinling-engine"),
    ("qinling-api", "qinling.conf", "qinling-api"),
)

PORT_NAMES = ("postgres", "rabbitmq", "rabbitmq-dist", "epmd", "iotronic-api",
              "iotronic-api-admin", "wagent", "wagent-admin", "wstun", "qinling-api",
              "qinling-api-admin", "qinling-engine-admin")
SERVICE_PORTS = 20  # public ports of exposed services ([conductor] service_port_*)
BUSYBOX = "/bin/busybox"  # busybox-static: each board's web panel is its httpd


class StackError(Exception):
    """A step of start failed; the message says which and why."""


def say(msg=""):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


def http_status(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


class Stack:
    """The stack of one state directory. Made by the CLI for one verb."""

    def __init__(self, state_dir, build=None, src=None):
        self.dir = os.path.realpath(state_dir)
        self.src = src or os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
        self.build = os.path.realpath(build or os.path.join(self.src, "build"))
        self.st = None          # the state document
        self.popens = {}        # children of this process, to reap them

    # ---------------------------------------------------------------- state

    @property
    def state_path(self):
        return os.path.join(self.dir, "state.json")

    def load(self):
        """Reads state.json; False when there is none."""
        try:
            with open(self.state_path) as f:
                self.st = json.load(f)
        except FileNotFoundError:
            return False
        except ValueError as e:
            raise StackError("%s is not valid JSON (%s): remove the directory by hand"
                             % (self.state_path, e))
        if self.st.get("version") != STATE_VERSION:
            raise StackError("%s was written by another version of iotronic-aio"
                             % self.state_path)
        self.build = self.st["build"]
        return True

    def save(self):
        tmp = self.state_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.st, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, self.state_path)

    def bin(self, name):
        return os.path.join(self.build, "bin", name)

    def record(self, rec, popen, **extra):
        rec.update(extra)
        self.st["procs"].append(rec)
        self.popens[rec["pid"]] = popen
        self.save()
        return rec

    def reap(self):
        for p in self.popens.values():
            p.poll()

    def proc(self, name):
        for rec in self.st["procs"]:
            if rec["name"] == name:
                return rec
        return None

    def running(self):
        return [r for r in self.st["procs"] if procs.alive(r)]

    def check_alive(self, rec):
        """Raises StackError with its log tail when rec's process is gone."""
        def check():
            self.reap()
            if not procs.alive(rec):
                raise StackError("%s exited during start; the end of %s:\n%s"
                                 % (rec["name"], rec["log"], procs.tail(rec["log"])))
        return check

    # ---------------------------------------------------------------- start

    def preflight(self, nboards):
        if os.geteuid() != 0:
            raise StackError("run as root: PostgreSQL and RabbitMQ are started as their own "
                             "users (setpriv), and boards run function containers with crun")
        for user in ("postgres", "rabbitmq"):
            try:
                pwd.getpwnam(user)
            except KeyError:
                raise StackError("no system user %s: install the Debian packages "
                                 "(make deps)" % user)
        exes = [servers.PG_BIN + "/postgres", servers.RABBIT_BIN + "/rabbitmq-server",
                "/usr/bin/setpriv", "/usr/bin/epmd"]
        if nboards:
            exes.append(BUSYBOX)  # the boards' web panels
        for exe in exes:
            if not os.access(exe, os.X_OK):
                raise StackError("%s is missing: run make deps" % exe)
        # The servers run as other users: they must reach the state dir.
        parent = os.path.dirname(self.dir)
        while True:
            if os.path.isdir(parent) and not os.stat(parent).st_mode & 0o001:
                raise StackError("%s is not searchable by other users, so PostgreSQL and "
                                 "RabbitMQ could not reach %s: choose another --state-dir"
                                 % (parent, self.dir))
            if parent == "/":
                break
            parent = os.path.dirname(parent)
        need = ["iotronic-dbsync"] + [d[0] for d in DAEMONS]
        if nboards:
            need.append("lightning-rod-c")
        missing = [n for n in need if not os.access(self.bin(n), os.X_OK)]
        return missing

    def new_state(self, nboards, missing):
        pool = procs.PortPool()
        ports = {n: pool.take() for n in PORT_NAMES}
        ports["service-ports"] = list(pool.take_range(SERVICE_PORTS))
        st = {
            "version": STATE_VERSION, "dir": self.dir, "build": self.build, "src": self.src,
            "started_at": time.time(), "ports": ports, "procs": [], "boards": [],
            "missing": missing, "pg_shm": None,
            "board_token_secret": secrets.token_hex(32),
        }
        st["dsn"] = "postgresql://postgres@127.0.0.1:%d/iotronic" % ports["postgres"]
        st["transport_url"] = "rabbit://guest:guest@127.0.0.1:%d/" % ports["rabbitmq"]
        for i in range(1, nboards + 1):
            name = "board-%d" % i
            st["boards"].append({"name": name, "dir": os.path.join(self.dir, "boards", name),
                                 "web_port": pool.take()})
        return st

    def start(self, nboards=2, keep_on_failure=False):
        """Starts everything; returns 0, or raises StackError after stopping
        what it started (unless keep_on_failure)."""
        if self.load():
            if self.running():
                raise StackError("a stack already runs in %s: `iotronic-aio stop` first"
                                 % self.dir)
            self.stop(quiet=True)
        missing = self.preflight(nboards)
        if "iotronic-dbsync" in missing or "iotronic-conductor" in missing:
            raise StackError("%s not built: run make" % ", ".join(missing))
        t0 = time.monotonic()
        self.claim_dir()
        os.chmod(self.dir, 0o755)  # the servers' users must traverse it
        for sub in ("etc", "logs", "qinling/blobs", "boards"):
            os.makedirs(os.path.join(self.dir, sub))
        self.st = self.new_state(nboards, missing)
        self.save()
        say("iotronic-aio: starting the all-in-one stack in %s (binaries: %s)"
            % (self.dir, os.path.join(self.build, "bin")))
        for name in missing:
            say("  %-20s not built: skipped" % name)
        try:
            self.start_servers()
            self.start_daemons()
            self.start_boards()
        except (StackError, TimeoutError, RuntimeError, OSError, KeyboardInterrupt) as e:
            say("iotronic-aio: %s" % (e if str(e) else "interrupted"))
            if not keep_on_failure:
                self.stop(quiet=True, keep_logs=True)
            raise StackError("start failed; logs: %s" % os.path.join(self.dir, "logs"))
        say("iotronic-aio: ready in %.1f s" % (time.monotonic() - t0))
        return 0

    def claim_dir(self):
        """Creates the state directory. An existing one is reused only when
        it is ours and stopped (logs kept by `stop --keep-logs`, or a start
        that failed): never remove a directory iotronic-aio did not make."""
        if os.path.isdir(self.dir):
            if not os.path.exists(self.state_path + ".stopped"):
                raise StackError("%s exists and is not a stopped iotronic-aio directory: "
                                 "choose another --state-dir" % self.dir)
            subprocess.run(["rm", "-rf", "--one-file-system", self.dir])
        os.makedirs(self.dir, mode=0o755)

    def _ready_line(self, rec, t0, where=""):
        say("  %-20s pid %-7d %-28s ready in %.1f s"
            % (rec["name"], rec["pid"], where, time.monotonic() - t0))

    def start_servers(self):
        p = self.st["ports"]
        pg = servers.Postgres(self.dir, p["postgres"])
        rabbit = servers.Rabbit(self.dir, p["rabbitmq"], p["rabbitmq-dist"], p["epmd"])
        t0 = time.monotonic()
        pg.init()
        pg_rec = self.record(*pg.spawn(), ports=[p["postgres"]], signal="SIGINT")
        rabbit.init()
        epmd = self.record(*rabbit.spawn_epmd(), ports=[p["epmd"]])
        procs.wait_for(lambda: procs.port_open(p["epmd"]), 20, "epmd",
                       check=self.check_alive(epmd))
        rb = self.record(*rabbit.spawn(), ports=[p["rabbitmq"], p["rabbitmq-dist"]], grace=20)
        # PostgreSQL is up long before RabbitMQ: migrate while the broker boots.
        procs.wait_for(pg.ready, 30, "PostgreSQL", check=self.check_alive(pg_rec))
        self.st["pg_shm"] = pg.sysv_segment()
        self.save()
        self._ready_line(pg_rec, t0, "127.0.0.1:%d" % p["postgres"])
        self.migrate(pg)
        procs.wait_for(lambda: procs.port_open(p["rabbitmq"]), 90, "RabbitMQ",
                       check=self.check_alive(rb))
        self._ready_line(rb, t0, "127.0.0.1:%d" % p["rabbitmq"])

    def migrate(self, pg):
        pg.psql("postgres", "CREATE DATABASE iotronic")
        r = subprocess.run([self.bin("iotronic-dbsync"), "--database", self.st["dsn"],
                            "--migrations-dir", os.path.join(self.src, "db", "migrations"),
                            "upgrade"], capture_output=True, text=True)
        with open(os.path.join(self.dir, "logs", "iotronic-dbsync.log"), "a") as f:
            f.write(r.stdout + r.stderr)
        if r.returncode != 0:
            raise StackError("iotronic-dbsync upgrade failed: %s" % r.stderr.strip())
        say("  %-20s %s" % ("iotronic-dbsync", "database iotronic migrated"))

    def write_confs(self):
        etc = os.path.join(self.dir, "etc")
        hdr = confs.HEADER % self.dir
        confs.write_ini(os.path.join(etc, "iotronic.conf"), confs.iotronic_conf(self.st), hdr)
        confs.write_ini(os.path.join(etc, "qinling.conf"), confs.qinling_conf(self.st), hdr)

    def ready_check(self, kind):
        """A function telling whether the daemon of kind is ready."""
        p = self.st["ports"]
        if kind == "conductor":
            pg = servers.Postgres(self.dir, p["postgres"])
            return lambda: pg.psql("iotronic", "SELECT 1 FROM conductors WHERE online",
                                   check=False).stdout.strip() == "1"
        if kind == "wagent":
            return lambda: http_status("http://127.0.0.1:%d/healthz" % p["wagent-admin"]) == 200
        if kind == "iotronic-api":
            return lambda: http_status("http://127.0.0.1:%d/" % p["iotronic-api"]) == 200
        if kind == "qinling-api":
            return lambda: http_status("http://127.0.0.1:%d/" % p["qinling-api"]) == 200
        if kind == "qinling-engine":
            return lambda: procs.port_open(p["qinling-engine-admin"])
        raise ValueError(kind)

    def daemon_ports(self, name):
        p = self.st["ports"]
        return {
            "iotronic-api": [p["iotronic-api"], p["iotronic-api-admin"]],
            "iotronic-wagent": [p["wagent"], p["wagent-admin"], p["wstun"]],
            "qinling-api": [p["qinling-api"], p["qinling-api-admin"]],
            "qinling-engine": [p["qinling-engine-admin"]],
        }.get(name, [])

    def start_daemons(self):
        self.write_confs()
        started = []
        t0 = time.monotonic()
        for name, conf, kind in DAEMONS:
            if name in self.st["missing"]:
                continue
            argv = [self.bin(name), "--config-file", os.path.join(self.dir, "etc", conf)]
            rec = self.record(*procs.spawn(name, argv, self.log_path(name)),
                              ports=self.daemon_ports(name))
            started.append((rec, kind))
        for rec, kind in started:
            procs.wait_for(self.ready_check(kind), 30, rec["name"],
                           check=self.check_alive(rec))
            self._ready_line(rec, t0, self.where(rec["name"]))

    def where(self, name):
        p = self.st["ports"]
        return {
            "iotronic-api": "http://127.0.0.1:%d" % p["iotronic-api"],
            "iotronic-wagent": "ws://127.0.0.1:%d" % p["wagent"],
            "qinling-api": "http://127.0.0.1:%d" % p["qinling-api"],
        }.get(name, "")

    def log_path(self, name):
        return os.path.join(self.dir, "logs", name + ".log")

    # ---------------------------------------------------------------- boards

    def board(self, name):
        for b in self.st["boards"]:
            if b["name"] == name:
                return b
        raise StackError("no board %s in this stack (boards: %s)"
                         % (name, ", ".join(b["name"] for b in self.st["boards"])))

    def board_conf_path(self, b):
        return os.path.join(b["dir"], "lightning-rod-c.conf")

    def write_web_panel(self, b):
        www = os.path.join(b["dir"], "www")
        os.makedirs(www)
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write("<!doctype html>\n<title>%s</title>\n"
                    "<h1>Street cabinet %s</h1>\n<p>Local web panel of a simulated board, "
                    "served on the board itself.</p>\n" % (b["name"], b["name"]))
        return www

    def start_boards(self):
        if "lightning-rod-c" in self.st["missing"]:
            return
        t0 = time.monotonic()
        waits = []
        for b in self.st["boards"]:
            for sub in ("state", "run", "cache"):
                os.makedirs(os.path.join(b["dir"], sub), mode=0o700)
            www = self.write_web_panel(b)
            confs.write_ini(self.board_conf_path(b), confs.board_conf(self.st, b),
                            confs.HEADER % self.dir)
            # The board's own web service, the one `ServiceEnable` exposes.
            web = self.record(*procs.spawn(
                b["name"] + "-web", [BUSYBOX, "httpd", "-f", "-p",
                                     "127.0.0.1:%d" % b["web_port"], "-h", www],
                self.log_path(b["name"] + "-web")), ports=[b["web_port"]], board=b["name"])
            argv = [self.bin("lightning-rod-c"), "--config-file", self.board_conf_path(b)]
            rec = self.record(*procs.spawn(b["name"], argv, self.log_path(b["name"])),
                              board=b["name"])
            waits.append((b, rec, web))
        for b, rec, web in waits:
            sock = os.path.join(b["dir"], "run", "control.sock")
            procs.wait_for(lambda: os.path.exists(sock), 30, "%s control socket" % b["name"],
                           check=self.check_alive(rec))
            procs.wait_for(lambda: procs.port_open(b["web_port"]), 10, "%s web panel"
                           % b["name"], check=self.check_alive(web))
            self._ready_line(rec, t0, "web panel 127.0.0.1:%d" % b["web_port"])

    def lrc(self, board_name, args, capture=False):
        """Runs lightning-rod-c with the board's config and args (configure,
        status, sim ...). Returns the CompletedProcess."""
        b = self.board(board_name)
        argv = [self.bin("lightning-rod-c"), "--config-file", self.board_conf_path(b)] + args
        return subprocess.run(argv, capture_output=capture, text=True)

    # ---------------------------------------------------------------- stop

    def stop(self, quiet=False, keep_logs=False, keep=False):
        """Stops every recorded process, newest first, removes containers
        left in the state directory, then the directory itself. Returns
        the list of what is left behind (empty: nothing); what had to be
        cleaned up by force is printed, not returned."""
        if self.st is None and not self.load():
            if os.path.exists(self.state_path + ".stopped") and not (keep or keep_logs):
                # What an earlier `stop --keep-logs` kept: now it goes.
                subprocess.run(["rm", "-rf", "--one-file-system", self.dir])
                if not quiet:
                    say("iotronic-aio: removed the kept directory %s" % self.dir)
            elif not quiet:
                say("iotronic-aio: nothing runs in %s" % self.dir)
            return []
        problems = []
        containers = self.container_ids()
        for rec in reversed(self.st["procs"]):
            sig = getattr(signal, rec.get("signal", "SIGTERM"))
            was = procs.alive(rec)
            gone = procs.stop(rec, sig=sig, grace=rec.get("grace", 10), reap=self.reap)
            if not gone:
                problems.append("%s (pid %d) did not stop" % (rec["name"], rec["pid"]))
            elif was and not quiet:
                say("  %-20s pid %-7d stopped" % (rec["name"], rec["pid"]))
        notes, left = self.sweep(containers)
        problems += left
        if keep or keep_logs:
            self._keep(keep_logs and not keep)
        else:
            subprocess.run(["rm", "-rf", "--one-file-system", self.dir])
        if not quiet:
            for n in notes:
                say("iotronic-aio: cleaned up: " + n)
            for p in problems:
                say("iotronic-aio: warning: " + p)
            say("iotronic-aio: stopped%s" % ("" if not (keep or keep_logs)
                                            else "; kept %s" % self.dir))
        return problems

    def container_ids(self):
        """The function and plugin containers the boards' crun knows (the
        directories of <run_dir>/crun, crun's --root)."""
        ids = []
        for b in self.st.get("boards", []):
            root = os.path.join(b["dir"], "run", "crun")
            try:
                ids += [n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n))]
            except OSError:
                pass
        return ids

    def sweep(self, containers=()):
        """Ends the processes of our boards' containers (rooted in the state
        dir, or in the cgroups of their container ids), removes the cgroups of
        containers an agent could not delete, removes a System V segment a
        killed PostgreSQL left, and checks that no port is still bound.
        Returns (what was cleaned up, what is left)."""
        notes, problems = [], []
        for pid in sorted(set(procs.rooted_under(self.dir) + procs.container_pids(containers))):
            try:
                os.kill(pid, signal.SIGKILL)
                notes.append("killed container process %d left in %s" % (pid, self.dir))
            except ProcessLookupError:
                pass
        # A cgroup can go only once its last process is gone.
        deadline = time.monotonic() + 5
        while (procs.rooted_under(self.dir) or procs.container_pids(containers)) and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        for path in procs.container_cgroups(containers):
            try:
                os.rmdir(path)
                notes.append("removed the cgroup %s a container left" % path)
            except OSError as e:
                problems.append("cgroup %s is left: %s" % (path, e.strerror))
        shm = self.st.get("pg_shm")
        if shm and servers.remove_sysv_segment(shm[1]):
            notes.append("removed the shared memory segment %d of a killed PostgreSQL"
                         % shm[1])
        ports = [p for r in self.st["procs"] for p in r.get("ports", [])]
        deadline = time.monotonic() + 5
        while procs.listening(ports) and time.monotonic() < deadline:
            time.sleep(0.1)
        for port in procs.listening(ports):
            problems.append("port %d still listens" % port)
        return notes, problems

    def _keep(self, logs_only):
        """Keeps the directory for inspection; with logs_only, the data of
        the servers and boards goes, the logs and configs stay."""
        if logs_only:
            for sub in ("pg", "rabbit", "qinling", "boards"):
                subprocess.run(["rm", "-rf", "--one-file-system", os.path.join(self.dir, sub)])
        self.st["procs"] = []
        self.save()
        os.rename(self.state_path, self.state_path + ".stopped")

    # ---------------------------------------------------------------- env

    def env(self):
        """The variables for the iotronic CLI, the openstack CLI and curl."""
        p = self.st["ports"]
        api = "http://127.0.0.1:%d" % p["iotronic-api"]
        fn = "http://127.0.0.1:%d" % p["qinling-api"]
        return [
            ("IOTRONIC_AIO_DIR", self.dir,
             "this stack (iotronic-aio status|stop|board)"),
            ("OS_AUTH_TYPE", "none", "noauth: no Keystone in the all-in-one"),
            ("OS_AUTH_TOKEN", "aio",
             "python-iotronicclient token mode; any token passes a noauth API"),
            ("IOTRONIC_URL", api, "iotronic --iotronic-url; curl $IOTRONIC_URL/v1/boards"),
            ("IOTRONIC_API_VERSION", "1", None),
            ("QINLING_URL", fn, "openstack function list (python-qinlingclient reads "
             "QINLING_URL); curl $QINLING_URL/v1/functions"),
            ("OS_ENDPOINT", fn, "the endpoint of auth type none for other openstack commands"),
            ("IOTRONIC_WAMP_URL", "ws://127.0.0.1:%d/" % p["wagent"],
             "what boards dial: lightning-rod-c configure <code> $IOTRONIC_WAMP_URL"),
        ]
