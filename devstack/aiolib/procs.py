"""Detached processes that outlive the runner, and how to find and end them.

Every process the runner starts leads its own session and process group
(setsid), with stdout and stderr in its own log file, so that:

  - it keeps running after `iotronic-aio start` has returned;
  - one signal to the group ends it and every child it made in that group
    (RabbitMQ's shell wrapper, beam and erl_child_setup; PostgreSQL's
    backends);
  - it is known by (pid, start time): a pid that the kernel has recycled for
    somebody else's process never matches, so `stop` never signals a stranger.

Processes that leave the group on purpose (function containers made by crun
call setsid) are found by their root directory instead: a container's root is
a runtime tree inside the board's cache, which lives in the state directory.
"""

import collections
import os
import random
import signal
import socket
import subprocess
import time

Stat = collections.namedtuple("Stat", "state pgrp session start")


def proc_stat(pid):
    """The (state, pgrp, session, start time) of pid from /proc, or None."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    # Field 2 (comm) may hold spaces and parentheses: fields 3.. follow the last ')'.
    rest = data[data.rindex(")") + 2:].split()
    return Stat(rest[0], int(rest[2]), int(rest[3]), int(rest[19]))


def pids():
    for name in os.listdir("/proc"):
        if name.isdigit():
            yield int(name)


def alive(rec):
    """Whether the process of record rec ({"pid", "start"}) still runs."""
    st = proc_stat(rec["pid"])
    return st is not None and st.start == rec["start"] and st.state not in ("Z", "X")


def group_members(pgid):
    """Live processes of process group pgid (zombies excluded)."""
    out = []
    for pid in pids():
        st = proc_stat(pid)
        if st is not None and st.pgrp == pgid and st.state not in ("Z", "X"):
            out.append(pid)
    return out


def spawn(name, argv, log_path, env=None, cwd=None):
    """Starts argv as a new session leader with its output appended to
    log_path. Returns (record, popen): the record is what state.json keeps
    ({"name", "pid", "start", "argv", "log"}); the Popen lets the caller reap
    the child while it is still the parent."""
    with open(log_path, "ab") as log:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, env=env, cwd=cwd,
                             start_new_session=True, close_fds=True)
    st = proc_stat(p.pid)
    rec = {"name": name, "pid": p.pid, "start": st.start if st else None,
           "argv": list(argv), "log": log_path}
    return rec, p


def _wait_gone(pgid, rec, timeout, reap):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if reap is not None:
            reap()
        if not alive(rec) and not group_members(pgid):
            return True
        time.sleep(0.05)
    return False


def stop(rec, sig=signal.SIGTERM, grace=10.0, reap=None):
    """Ends the process group of rec: sig, then SIGKILL after grace seconds.

    The group is signalled only while its leader is ours (same start time)
    or while members of the group remain: a process group id cannot be
    reused while any member lives, so those members are ours too. Returns
    True when nothing of the group is left. reap (optional) is called while
    waiting, so that a parent can collect its zombie children."""
    pgid = rec["pid"]
    if not alive(rec) and not group_members(pgid):
        return True
    for s, wait in ((sig, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, s)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        if _wait_gone(pgid, rec, wait, reap):
            return True
    return False


def _readlink(path):
    try:
        return os.readlink(path)
    except OSError:
        return ""


def rooted_under(root):
    """Pids whose root directory lies inside root (containers of our boards)."""
    root = os.path.realpath(root) + "/"
    out = []
    for pid in pids():
        if pid == os.getpid():
            continue
        if (_readlink("/proc/%d/root" % pid) + "/").startswith(root):
            out.append(pid)
    return out


def referencing(root):
    """Pids (other than ours and our parents') whose command line, working
    directory, root or executable mention root: used to prove that nothing
    of a stopped stack is left, never to choose what to kill."""
    root = os.path.realpath(root)
    me = {os.getpid(), os.getppid()}
    out = []
    for pid in pids():
        if pid in me:
            continue
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        links = [_readlink("/proc/%d/%s" % (pid, k)) for k in ("cwd", "root", "exe")]
        if root in cmd or any(p == root or p.startswith(root + "/") for p in links):
            out.append((pid, cmd.strip()))
    return out


CGROUP_ROOT = "/sys/fs/cgroup"
CGROUP_PARENT = "lightning-rod"  # the agents' cgroupsPath parent (lightning-rod-c/src/ctr_config.c)


def container_pids(ids):
    """Pids in the cgroups of containers ids: what is left of a container
    whose agent died (crun's init waiting on its exec fifo, a function)."""
    out = set()
    for path in container_cgroups(ids):
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                out.update(int(x) for x in f.read().split())
        except (OSError, ValueError):
            pass
    out.discard(os.getpid())
    return sorted(out)


def container_cgroups(ids):
    """The cgroup directories of containers ids that still exist, deepest
    first (cgroup v1 controllers and the v2 or unified hierarchy)."""
    out = []
    for ctrl in sorted(os.listdir(CGROUP_ROOT)) if os.path.isdir(CGROUP_ROOT) else []:
        for cid in ids:
            for base in (os.path.join(CGROUP_ROOT, ctrl, CGROUP_PARENT, cid),
                         os.path.join(CGROUP_ROOT, CGROUP_PARENT, cid)):
                if os.path.isdir(base) and base not in out:
                    for dirpath, dirnames, _ in os.walk(base, topdown=False):
                        out.append(dirpath)
    return out


# ------------------------------------------------------------------ ports

def _tcp_listeners():
    ports = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[3] == "0A":  # TCP_LISTEN
                        ports.add(int(parts[1].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


def listening(ports):
    """The subset of ports on which some socket listens (any address)."""
    have = _tcp_listeners()
    return sorted(p for p in ports if p in have)


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class PortPool:
    """Free loopback ports for one stack, taken from one random block below
    the kernel's ephemeral range, so that outgoing connections made later
    cannot be handed one of them by accident."""

    def __init__(self, low=20000, high=32000):
        try:
            with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
                eph_low = int(f.read().split()[0])
            high = min(high, eph_low - 1)
        except (OSError, ValueError, IndexError):
            pass
        self.next_port = random.randrange(low, high - 400)
        self.high = high
        self.taken = set()

    @staticmethod
    def _free(port):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
        return True

    def take(self):
        """One port that nothing listens on now."""
        listeners = _tcp_listeners()
        while self.next_port < self.high:
            p = self.next_port
            self.next_port += 1
            if p not in listeners and p not in self.taken and self._free(p):
                self.taken.add(p)
                return p
        raise RuntimeError("no free loopback port left below %d" % self.high)

    def take_range(self, count):
        """count consecutive free ports: (first, last)."""
        listeners = _tcp_listeners()
        while self.next_port + count < self.high:
            first = self.next_port
            span = range(first, first + count)
            bad = [p for p in span if p in listeners or p in self.taken or not self._free(p)]
            if not bad:
                self.taken.update(span)
                self.next_port = first + count
                return first, first + count - 1
            self.next_port = bad[-1] + 1
        raise RuntimeError("no %d consecutive free ports left below %d" % (count, self.high))


def wait_for(fn, timeout, what, check=None, interval=0.05):
    """Polls fn() until true; check() may raise to give up early (a process
    that died). Returns fn()'s value; raises TimeoutError naming what."""
    deadline = time.monotonic() + timeout
    while True:
        if check is not None:
            check()
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def tail(path, n=30):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 16384))
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError:
        return ""
