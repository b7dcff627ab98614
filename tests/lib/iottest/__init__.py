"""Test harness shared by the integration and end-to-end suites.

A suite is a Python file of unittest cases; it ends with `iottest.main()`,
which runs them and prints TAP (`ok N - name` / `not ok N - name`) that
tests/run.py counts. Everything a test starts lives in a private directory on
free loopback ports and is stopped afterwards, pass or fail:

    svc = iottest.services()          # the run's PostgreSQL + RabbitMQ
    db = iottest.new_db()             # a fresh database, migrations applied
    url = iottest.new_vhost()         # a fresh RabbitMQ vhost: amqp://...
    d = iottest.Daemon("iotronic-conductor", ["--config-file", conf]).start()
    ... d.stop()                      # or let the test's cleanup do it

Binaries come from IOT_BUILD (tests/run.py sets it; default build/).
"""

import atexit
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

from . import services as _services
from .services import free_port, wait_port, kill_group  # noqa: F401 (re-exported)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILD = os.path.abspath(os.environ.get("IOT_BUILD", os.path.join(ROOT, "build")))
BIN = os.path.join(BUILD, "bin")
PY = "/usr/bin/python3"


def services():
    return _services.running()


def bin_path(name):
    return os.path.join(BIN, name)


_tmp_root = None


def tmpdir(prefix="t-"):
    """A new private directory, removed at exit."""
    global _tmp_root
    if _tmp_root is None:
        _tmp_root = tempfile.mkdtemp(prefix="iot-test-")
        os.chmod(_tmp_root, 0o755)
        atexit.register(lambda: subprocess.run(["rm", "-rf", _tmp_root]))
    return tempfile.mkdtemp(prefix=prefix, dir=_tmp_root)


# ---------------------------------------------------------------- PostgreSQL

def psql(dbname, sql, *params):
    """Runs sql in dbname through psql; returns rows as lists of strings.

    Parameters are passed as psql variables (:'p1', :'p2', ...), never
    interpolated into the text."""
    svc = services()
    argv = ["psql", "-h", "127.0.0.1", "-p", str(svc.pg_port), "-U", "postgres", "-d", dbname,
            "-X", "-q", "-A", "-t", "-F", "\x1f", "-v", "ON_ERROR_STOP=1"]
    for i, p in enumerate(params, 1):
        argv += ["-v", "p%d=%s" % (i, p)]
    r = subprocess.run(argv, input=sql, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("psql failed: %s" % r.stderr.strip())
    return [line.split("\x1f") for line in r.stdout.splitlines() if line != ""]


def dsn(dbname):
    return "postgresql://postgres@127.0.0.1:%d/%s" % (services().pg_port, dbname)


_template = None


def _migrated_template():
    global _template
    if _template is None:
        name = "tmpl_%s" % uuid.uuid4().hex[:12]
        psql("postgres", "CREATE DATABASE %s" % name)
        r = subprocess.run([bin_path("iotronic-dbsync"), "--database", dsn(name),
                            "--migrations-dir", os.path.join(ROOT, "db", "migrations"), "upgrade"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("dbsync upgrade failed: %s" % r.stderr)
        _template = name
    return _template


def new_db(migrated=True):
    """Creates a database and returns its name. With migrated, it starts as a
    copy of a template to which every migration was applied once."""
    name = "t_%s" % uuid.uuid4().hex[:16]
    if migrated:
        psql("postgres", "CREATE DATABASE %s TEMPLATE %s" % (name, _migrated_template()))
    else:
        psql("postgres", "CREATE DATABASE %s" % name)
    return name


# ---------------------------------------------------------------- RabbitMQ

def new_vhost():
    """Creates a RabbitMQ vhost and returns its transport_url."""
    svc = services()
    name = "v%s" % uuid.uuid4().hex[:12]
    svc.rabbit.add_vhost(name)
    return "amqp://guest:guest@127.0.0.1:%d/%s" % (svc.amqp_port, name)


def rabbitmqctl(*args, check=True):
    return services().rabbit.ctl(*args, check=check)


# ---------------------------------------------------------------- daemons

def write_conf(path, sections):
    """Writes an INI file from {section: {key: value}}."""
    with open(path, "w") as f:
        for sec, kv in sections.items():
            f.write("[%s]\n" % sec)
            for k, v in kv.items():
                if isinstance(v, bool):
                    v = "true" if v else "false"
                f.write("%s = %s\n" % (k, v))
            f.write("\n")
    return path


_live = []


class Daemon:
    """One of our programs, started in its own process group.

    Output goes to <dir>/<name>.log; stop() sends SIGTERM, then SIGKILL
    after `grace` seconds. Every Daemon still running at exit is killed."""

    def __init__(self, name, args=(), env=None, cwd=None, logdir=None, exe=None):
        self.name = name
        self.exe = exe or bin_path(name)
        self.args = list(args)
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.cwd = cwd
        self.logdir = logdir or tmpdir(name + "-")
        self.log = os.path.join(self.logdir, name + ".log")
        self.proc = None

    def start(self, wait_for_port=None, timeout=20.0):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([self.exe] + self.args, env=self.env, cwd=self.cwd,
                                     stdout=logf, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        logf.close()
        _live.append(self)
        if wait_for_port is not None:
            try:
                wait_port(wait_for_port, timeout=timeout, proc=self.proc)
            except Exception:
                raise RuntimeError("%s did not start: %s\n%s" % (self.name, sys.exc_info()[1],
                                                                 self.tail()))
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def kill9(self):
        kill_group(self.proc, timeout=0, sig=signal.SIGKILL)

    def stop(self, grace=10.0):
        if self.proc is None:
            return None
        kill_group(self.proc, timeout=grace)
        rc = self.proc.returncode
        if self in _live:
            _live.remove(self)
        return rc

    def wait(self, timeout=None):
        return self.proc.wait(timeout)

    def tail(self, n=60):
        try:
            with open(self.log, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return ""

    def log_text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")


def _stop_all():
    for d in list(_live):
        try:
            d.stop(grace=3)
        except Exception:
            pass


atexit.register(_stop_all)


def wait_until(fn, timeout=10.0, interval=0.05, what="condition"):
    """Polls fn() until it returns a true value, which is returned."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.1f s waiting for %s (last: %r)"
                         % (timeout, what, last))


# ---------------------------------------------------------------- TAP

class _TapResult(unittest.TestResult):
    def __init__(self, stream):
        super().__init__()
        self.stream = stream
        self.n = 0

    def _line(self, ok, test, note=""):
        self.n += 1
        self.stream.write("%s %d - %s%s\n" % ("ok" if ok else "not ok", self.n,
                                               test.id().split(".", 1)[-1], note))
        self.stream.flush()

    def _diag(self, text):
        for line in text.rstrip().splitlines():
            self.stream.write("# %s\n" % line)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(False, test)
        self._diag(self.failures[-1][1])

    def addError(self, test, err):
        super().addError(test, err)
        self._line(False, test)
        self._diag(self.errors[-1][1])

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(True, test, " # SKIP %s" % reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._line(True, test, " # TODO expected failure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._line(False, test, " # unexpected success")


def main(module="__main__"):
    """Runs the unittest cases of module (or those named in argv) as TAP."""
    loader = unittest.TestLoader()
    names = sys.argv[1:]
    mod = sys.modules[module]
    if names:
        suite = unittest.TestSuite(loader.loadTestsFromName(n, mod) for n in names)
    else:
        suite = loader.loadTestsFromModule(mod)
    sys.stdout.write("1..%d\n" % suite.countTestCases())
    result = _TapResult(sys.stdout)
    try:
        suite.run(result)
    finally:
        _stop_all()
    sys.exit(0 if result.wasSuccessful() else 1)
