"""PostgreSQL and RabbitMQ for one all-in-one stack.

Both run as their own system users (PostgreSQL refuses root; RabbitMQ's
files belong to `rabbitmq`), switched with setpriv, in directories of the
state dir, listening on 127.0.0.1 only. RabbitMQ gets its own epmd on a
private port (ERL_EPMD_PORT), so nothing is shared with a system node and
stopping the stack ends every Erlang process it made.

PostgreSQL keeps its dynamic shared memory in files of its data directory
(dynamic_shared_memory_type = mmap), so even a killed server leaves nothing
in /dev/shm; the one small System V segment it keeps is recorded from
postmaster.pid and removed by `stop` if a crash left it behind.
"""

import os
import shutil
import subprocess

from . import procs

PG_BIN = "/usr/lib/postgresql/15/bin"
RABBIT_BIN = "/usr/lib/rabbitmq/bin"


def as_user(user):
    return ["setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups"]


def _chown(path, user):
    shutil.chown(path, user, user)


class Postgres:
    """A private cluster under <root>/pg, trust authentication on loopback.

    The all-in-one's data is disposable (stop deletes it), so the server
    trades durability for speed on small machines: no fsync."""

    def __init__(self, root, port):
        self.dir = os.path.join(root, "pg")
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        self.log = os.path.join(root, "logs", "postgres.log")
        self.port = port

    def dsn(self, dbname):
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, dbname)

    def init(self):
        os.makedirs(self.sock)
        _chown(self.dir, "postgres")
        _chown(self.sock, "postgres")
        r = subprocess.run(as_user("postgres") + [
            PG_BIN + "/initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError("initdb failed: %s" % r.stderr.strip())

    def spawn(self):
        argv = as_user("postgres") + [
            PG_BIN + "/postgres", "-D", self.data, "-p", str(self.port), "-k", self.sock,
            "-c", "listen_addresses=127.0.0.1", "-c", "dynamic_shared_memory_type=mmap",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=300", "-c", "shared_buffers=64MB"]
        return procs.spawn("postgres", argv, self.log)

    def psql(self, dbname, sql, check=True):
        r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                            "-d", dbname, "-X", "-Atq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError("psql: %s" % r.stderr.strip())
        return r

    def ready(self):
        return self.psql("postgres", "select 1", check=False).returncode == 0

    def sysv_segment(self):
        """(key, id) of the server's System V segment from postmaster.pid
        (line 7), or None."""
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                lines = f.read().splitlines()
            key, shmid = lines[6].split()
            return int(key), int(shmid)
        except (OSError, IndexError, ValueError):
            return None


def remove_sysv_segment(shmid):
    """Removes System V segment shmid if it still exists and nobody is
    attached (what a killed postmaster leaves). True if it was removed."""
    try:
        with open("/proc/sysvipc/shm") as f:
            next(f)
            for line in f:
                cols = line.split()
                if int(cols[1]) == shmid and int(cols[6]) == 0:  # shmid, nattch
                    return subprocess.run(["ipcrm", "-m", str(shmid)],
                                          capture_output=True).returncode == 0
    except (OSError, StopIteration, ValueError, IndexError):
        pass
    return False


def sysv_segment_exists(shmid):
    try:
        with open("/proc/sysvipc/shm") as f:
            next(f)
            return any(int(line.split()[1]) == shmid for line in f)
    except (OSError, StopIteration, ValueError, IndexError):
        return False


class Rabbit:
    """A private RabbitMQ node under <root>/rabbit with its own epmd."""

    def __init__(self, root, port, dist_port, epmd_port, node="aio@localhost"):
        self.dir = os.path.join(root, "rabbit")
        self.logdir = os.path.join(root, "logs")
        self.port = port
        self.dist_port = dist_port
        self.epmd_port = epmd_port
        self.node = node

    def url(self):
        return "rabbit://guest:guest@127.0.0.1:%d/" % self.port

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
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

    def init(self):
        for sub in ("log", "mnesia"):
            os.makedirs(os.path.join(self.dir, sub))
        files = {
            "enabled_plugins": "[].\n",
            # guest may log in from loopback only, which is all we listen on.
            "rabbitmq.conf": "loopback_users.guest = true\n"
                             "disk_free_limit.absolute = 50MB\n"
                             "log.console = false\n"
                             "log.file.level = warning\n",
            "rabbitmq-env.conf": "",
        }
        for name, text in files.items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        for dirpath, dirnames, filenames in os.walk(self.dir):
            for n in [dirpath] + [os.path.join(dirpath, x) for x in filenames]:
                _chown(n, "rabbitmq")

    def spawn_epmd(self):
        argv = as_user("rabbitmq") + ["epmd", "-port", str(self.epmd_port),
                                      "-address", "127.0.0.1"]
        return procs.spawn("epmd", argv, os.path.join(self.logdir, "epmd.log"), env=self.env())

    def spawn(self):
        argv = as_user("rabbitmq") + [RABBIT_BIN + "/rabbitmq-server"]
        return procs.spawn("rabbitmq", argv, os.path.join(self.logdir, "rabbitmq.log"),
                           env=self.env(), cwd=self.dir)
