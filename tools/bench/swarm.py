"""lr-swarm processes for the bench: start one, follow its statistics
lines (JSON, one per --stats-interval), wait for a state, stop it."""

import json
import os
import signal
import subprocess
import threading
import time

import iottest


class Swarm:
    def __init__(self, args, logdir, name="lr-swarm", stats_interval=0.2):
        self.name = name
        self.log = os.path.join(logdir, name + ".log")
        os.makedirs(logdir, exist_ok=True)
        errf = open(self.log, "ab")
        self.argv = [iottest.bin_path("lr-swarm"), "--stats-interval", str(stats_interval)] + \
            [str(a) for a in args]
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=errf,
                                     start_new_session=True)
        errf.close()
        self.lines = []
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for raw in self.proc.stdout:
            try:
                d = json.loads(raw)
            except ValueError:
                continue
            d["mono"] = time.monotonic()
            with self.lock:
                self.lines.append(d)

    @property
    def pid(self):
        return self.proc.pid

    def last(self):
        with self.lock:
            return dict(self.lines[-1]) if self.lines else {}

    def since(self, mono):
        with self.lock:
            return [d for d in self.lines if d["mono"] >= mono]

    def wait(self, pred, timeout, what):
        def check():
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s: %s" % (self.name, self.proc.returncode,
                                                              self.tail()))
            d = self.last()
            return d if d and pred(d) else None
        return iottest.wait_until(check, timeout=timeout, interval=0.05, what=what)

    def tail(self, n=15):
        try:
            with open(self.log, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            rc = self.proc.wait(10)
        self.t.join(2)
        return rc


def write_lines(path, items):
    with open(path, "w") as f:
        f.write("".join("%s\n" % i for i in items))
    return path


def register(ctx, wagent, names, tag, rate=1000, timeout=300, extra=()):
    """Creates boards `names` (code = name) through the API, lets one
    lr-swarm register them all with `wagent` and stops it; returns the path
    of the state file (uuid, secret, URLs) for later swarms."""
    st = ctx.stack
    t = time.monotonic()
    st.create_boards(names, "bulk")
    ctx.log("  %d boards created through the API in %.1f s" % (len(names), time.monotonic() - t))
    codes = write_lines(os.path.join(ctx.dir, tag + ".codes"), names)
    state = os.path.join(ctx.dir, tag + ".state")
    t = time.monotonic()
    sw = Swarm(["--codes", codes, "--register-url", wagent.url, "--state", state, "--rate", rate,
                "--alive-interval", 0] + list(extra), os.path.join(ctx.dir, "logs"), tag + "-reg")
    try:
        sw.wait(lambda d: d["registered"] + d["reg_failed"] == len(names) and
                d["online"] + d["failed"] == len(names), timeout,
                "%d boards registered and online" % len(names))
        if sw.last()["reg_failed"]:
            raise RuntimeError("%d registrations refused" % sw.last()["reg_failed"])
    finally:
        sw.stop()
    ctx.log("  %d boards registered and online in %.1f s" % (len(names), time.monotonic() - t))
    return state


def rewrite_state(src, dst, url, reg_url=None, first=0, count=None):
    """A copy of a state file with every board's main URL set to url (the
    board-side setting of section 7.5 failover tests), optionally a slice
    of the boards in name order."""
    with open(src) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    # Registration order is completion order: slice by name, as fleet_names().
    rows.sort(key=lambda r: r.get("name", ""))
    rows = rows[first:first + count if count is not None else None]
    with open(dst, "w") as f:
        for r in rows:
            r["url"] = url
            if reg_url:
                r["reg_url"] = reg_url
            f.write(json.dumps(r) + "\n")
    return dst


def fleet(ctx, n):
    """The state file of at least n registered boards, shared by the suites.
    The first call registers the bench's whole fleet (the largest number a
    suite needs: the scale suite's) through a registration wagent that
    stays up; later suites point slices of it at their own wagents with
    rewrite_state(). Returns (state path, count)."""
    f = getattr(ctx, "fleet", None)
    if f is None or f[1] < n:
        import suite_scale
        total = max(n, suite_scale.board_count(ctx)[0] if "scale" in ctx.suites else n)
        w = ctx.stack.wagents.get("wagent-reg") or ctx.stack.start_wagent("wagent-reg")
        names = ["fl-%05d" % i for i in range(total)]
        ctx.log("  registering the bench's fleet of %d boards through wagent-reg" % total)
        t = time.monotonic()
        state = register(ctx, w, names, "fleet", rate=2000, timeout=900,
                         extra=["--source", "127.0.0.1-127.0.0.8", "--setup-timeout", 300])
        ctx.fleet = (state, total, names)
        ctx.fleet_seconds = time.monotonic() - t
    return ctx.fleet[0], ctx.fleet[1]


def fleet_names(ctx, first, count):
    return ctx.fleet[2][first:first + count]
