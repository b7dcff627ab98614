"""Private PostgreSQL and RabbitMQ servers for one test run.

Both run as their own system users (PostgreSQL refuses root), in a private
directory, on free loopback ports, each in its own process group so that
stopping them by process-group id ends every process they started (epmd
included: we run our own epmd on a private port instead of the shared one).

tests/run.py starts them once per run and exports their coordinates in the
environment (IOT_SERVICES_JSON); a test file run on its own starts them itself
and stops them at exit.
"""

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

PG_BIN = "/usr/lib/postgresql/15/bin"
RABBIT_BIN = "/usr/lib/rabbitmq/bin"


def free_port(host="127.0.0.1"):
    """A TCP port that was free a moment ago on host."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_port(port, host="127.0.0.1", timeout=30.0, proc=None):
    """Waits until something accepts TCP connections on host:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s before listening on %d"
                               % (proc.returncode, port))
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("nothing listens on %s:%d after %.0f s" % (host, port, timeout))


def _chown_tree(path, user):
    shutil.chown(path, user, user)


def _as_user(user):
    return ["setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups"]


def kill_group(proc, timeout=10.0, sig=signal.SIGTERM):
    """Ends proc's process group (proc was started with start_new_session)."""
    if proc is None or proc.poll() is not None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, AttributeError):
            pass
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass


class Postgres:
    """A private PostgreSQL 15 cluster, trust auth on loopback."""

    def __init__(self, root):
        self.dir = os.path.join(root, "pg")
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        self.port = None
        self.proc = None

    def start(self):
        os.makedirs(self.sock)
        _chown_tree(self.dir, "postgres")
        _chown_tree(self.sock, "postgres")
        subprocess.run(_as_user("postgres") + [
            PG_BIN + "/initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.port = free_port()
        log = open(os.path.join(self.dir, "postgres.log"), "wb")
        self.proc = subprocess.Popen(_as_user("postgres") + [
            PG_BIN + "/postgres", "-D", self.data, "-p", str(self.port), "-k", self.sock,
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
            "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=300", "-c", "shared_buffers=128MB"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        wait_port(self.port, proc=self.proc)
        # Accepting TCP is not yet accepting queries: wait for that too.
        deadline = time.monotonic() + 30
        while subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                              "-d", "postgres", "-Atqc", "select 1"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
            if time.monotonic() > deadline:
                raise TimeoutError("postgres does not answer queries")
            time.sleep(0.1)

    def stop(self):
        kill_group(self.proc, sig=signal.SIGINT)  # SIGINT: fast shutdown
        self.proc = None


class Rabbit:
    """A private RabbitMQ node with its own epmd."""

    def __init__(self, root):
        self.dir = os.path.join(root, "rabbit")
        self.port = None
        self.dist_port = None
        self.epmd_port = None
        self.node = "iot%d@localhost" % os.getpid()
        self.proc = None
        self.epmd = None

    def env(self):
        env = dict(os.environ)
        env.update({
            "HOME": self.dir,
            "RABBITMQ_MNESIA_BASE": os.path.join(self.dir, "mnesia"),
            "RABBITMQ_LOG_BASE": os.path.join(self.dir, "log"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(self.dir, "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": os.path.join(self.dir, "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": os.path.join(self.dir, "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": os.path.join(self.dir, "rabbitmq-env.conf"),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        })
        return env

    def start(self):
        os.makedirs(os.path.join(self.dir, "log"))
        os.makedirs(os.path.join(self.dir, "mnesia"))
        with open(os.path.join(self.dir, "enabled_plugins"), "w") as f:
            f.write("[].\n")
        with open(os.path.join(self.dir, "rabbitmq.conf"), "w") as f:
            f.write("loopback_users.guest = true\n"
                    "disk_free_limit.absolute = 10MB\n"
                    "log.console = false\n"
                    "log.file.level = warning\n")
        open(os.path.join(self.dir, "rabbitmq-env.conf"), "w").close()
        for sub in ("", "log", "mnesia"):
            _chown_tree(os.path.join(self.dir, sub), "rabbitmq")
        for name in ("enabled_plugins", "rabbitmq.conf", "rabbitmq-env.conf"):
            _chown_tree(os.path.join(self.dir, name), "rabbitmq")
        self.port = free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        env = self.env()
        log = open(os.path.join(self.dir, "server.log"), "wb")
        self.epmd = subprocess.Popen(_as_user("rabbitmq") + ["epmd", "-port", str(self.epmd_port),
                                                            "-address", "127.0.0.1"],
                                     env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_port(self.epmd_port, proc=self.epmd)
        self.proc = subprocess.Popen(_as_user("rabbitmq") + [RABBIT_BIN + "/rabbitmq-server"],
                                     env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        wait_port(self.port, timeout=60, proc=self.proc)

    def ctl(self, *args, check=True):
        return subprocess.run(_as_user("rabbitmq") + [RABBIT_BIN + "/rabbitmqctl", "-q",
                                                      "-n", self.node] + list(args),
                              env=self.env(), check=check, capture_output=True, text=True)

    def add_vhost(self, name):
        expr = ('rabbit_vhost:add(<<"%s">>, <<"test">>), '
                'rabbit_auth_backend_internal:set_permissions(<<"guest">>, <<"%s">>, '
                '<<".*">>, <<".*">>, <<".*">>, <<"test">>).' % (name, name))
        self.ctl("eval", expr)

    def stop(self):
        kill_group(self.proc, timeout=20)
        kill_group(self.epmd)
        self.proc = None
        self.epmd = None


class Services:
    """PostgreSQL + RabbitMQ in one private directory."""

    def __init__(self, root=None):
        self.root = root or tempfile.mkdtemp(prefix="iot-svc-")
        os.chmod(self.root, 0o755)
        self.pg = Postgres(self.root)
        self.rabbit = Rabbit(self.root)

    def start(self):
        try:
            self.pg.start()
            self.rabbit.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        for s in (self.rabbit, self.pg):
            try:
                s.stop()
            except Exception:  # keep stopping the others
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def describe(self):
        return json.dumps({
            "root": self.root, "pg_port": self.pg.port, "pg_sock": self.pg.sock,
            "amqp_port": self.rabbit.port, "rabbit_node": self.rabbit.node,
            "rabbit_dist_port": self.rabbit.dist_port, "epmd_port": self.rabbit.epmd_port,
            "rabbit_dir": self.rabbit.dir,
        })


class RunningServices:
    """The services started by tests/run.py, seen from a test process."""

    def __init__(self, desc):
        d = json.loads(desc)
        self.root = d["root"]
        self.pg_port = d["pg_port"]
        self.amqp_port = d["amqp_port"]
        self.rabbit = Rabbit(self.root)
        self.rabbit.dir = d["rabbit_dir"]
        self.rabbit.port = d["amqp_port"]
        self.rabbit.dist_port = d["rabbit_dist_port"]
        self.rabbit.epmd_port = d["epmd_port"]
        self.rabbit.node = d["rabbit_node"]


_running = None


def running():
    """The run's services: those of tests/run.py, or our own started now."""
    global _running
    if _running is not None:
        return _running
    desc = os.environ.get("IOT_SERVICES_JSON")
    if not desc:
        own = Services().start()
        atexit.register(own.stop)
        desc = own.describe()
        os.environ["IOT_SERVICES_JSON"] = desc
    _running = RunningServices(desc)
    return _running
