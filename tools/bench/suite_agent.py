"""The board agent: its memory, idle and with 10 tunnels, and the reverse
tunnel throughput of one TCP stream (DESIGN.md rows 6 and 11).

A real lightning-rod-c (simulated IO backend, crun executor) registers with
its code through a real wagent and goes online. Its RSS is read from
/proc/<pid>/status (VmRSS) after it has settled; PSS and private dirty
memory from smaps_rollup are kept beside it, and the largest mappings are
listed, because shared libraries dominate (see the note).

Then 10 services are exposed through the REST API (ServiceEnable: the
conductor allocates a public port, the agent opens a tunnel to the wagent's
wstun listener): RSS with the 10 tunnels up, each carrying one open TCP
connection to a local service. Finally one exposed service is a local sink
and another a local source, and one TCP stream through the wagent's public
port measures upload (cloud -> board) and download (board -> cloud); the
same code over plain loopback gives the harness's own ceiling."""

import collections
import os
import socket
import subprocess
import threading
import time

import iottest
import stack as stk
import targets

ROWS = [targets.ROWS[5], targets.ROWS[10]]
TUNNELS = 10
STREAM_BYTES = 256 << 20
CHUNK = 1 << 20

_state = {}


def smaps(pid):
    roll = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            p = line.split()
            if len(p) >= 2 and p[0].endswith(":") and p[1].isdigit():
                roll[p[0][:-1]] = int(p[1])
    agg, cur = collections.Counter(), "[anon]"
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            p = line.split()
            if p and "-" in p[0] and not p[0].endswith(":"):
                cur = os.path.basename(p[5]) if len(p) >= 6 else "[anon]"
            elif p and p[0] == "Rss:":
                agg[cur] += int(p[1])
    return {"VmRSS_kB": roll.get("Rss"), "Pss_kB": roll.get("Pss"),
            "Private_Dirty_kB": roll.get("Private_Dirty"), "Anonymous_kB": roll.get("Anonymous"),
            "Shared_Clean_kB": roll.get("Shared_Clean"),
            "largest": agg.most_common(8)}


class Server:
    """A local TCP service on the board side: a sink that counts what it
    reads, a source that sends STREAM_BYTES and closes, or an idle holder."""

    def __init__(self, mode):
        self.mode = mode
        self.s = socket.socket()
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(16)
        self.port = self.s.getsockname()[1]
        self.received = 0
        self.done = threading.Event()
        self.conns = []
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=getattr(self, self.mode), args=(c,), daemon=True).start()

    def sink(self, c):
        buf = bytearray(CHUNK)
        while True:
            n = c.recv_into(buf)
            if n == 0:
                break
            self.received += n
        c.close()
        self.done.set()

    def source(self, c):
        data = memoryview(bytearray(CHUNK))
        left = STREAM_BYTES
        try:
            while left > 0:
                left -= c.send(data[:min(CHUNK, left)])
        finally:
            c.close()

    def hold(self, c):
        c.recv(1)

    def close(self):
        self.s.close()
        for c in self.conns:
            c.close()


def upload(port, sink):
    """Seconds to push STREAM_BYTES into port until the sink has them all."""
    sink.received = 0
    sink.done.clear()
    data = memoryview(bytearray(CHUNK))
    c = socket.create_connection(("127.0.0.1", port), timeout=60)
    t = time.monotonic()
    left = STREAM_BYTES
    while left > 0:
        left -= c.send(data[:min(CHUNK, left)])
    c.shutdown(socket.SHUT_WR)
    if not sink.done.wait(120) or sink.received != STREAM_BYTES:
        raise RuntimeError("the sink got %d of %d bytes" % (sink.received, STREAM_BYTES))
    dt = time.monotonic() - t
    c.close()
    return dt


def download(port):
    c = socket.create_connection(("127.0.0.1", port), timeout=60)
    buf = bytearray(CHUNK)
    got = 0
    t = time.monotonic()
    while True:
        n = c.recv_into(buf)
        if n == 0:
            break
        got += n
    dt = time.monotonic() - t
    c.close()
    if got != STREAM_BYTES:
        raise RuntimeError("downloaded %d of %d bytes" % (got, STREAM_BYTES))
    return dt


def start_agent(ctx, w, name):
    st = ctx.stack
    st.create_boards([name], stk.P_BULK)
    d = os.path.join(ctx.dir, name)
    os.makedirs(d)
    conf = iottest.write_conf(os.path.join(d, "lightning-rod-c.conf"), {
        "DEFAULT": {"state_dir": d + "/state", "run_dir": d + "/run", "log_level": "warning"},
        "io": {"backend": "sim"},
        "function": {"cache_dir": d + "/cache", "probe_path": iottest.bin_path("lrc-probe")},
    })
    r = subprocess.run([iottest.bin_path("lightning-rod-c"), "--config-file", conf, "configure",
                        name, w.url], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("lightning-rod-c configure: %s" % r.stderr)
    logdir = os.path.join(ctx.dir, "logs", name)
    os.makedirs(logdir, exist_ok=True)
    a = iottest.Daemon("lightning-rod-c", ["--config-file", conf], logdir=logdir).start()
    iottest.wait_until(lambda: st.sql("SELECT status FROM boards WHERE name = :'p1'", name)[0][0]
                       == "online", timeout=30, what="%s online" % name)
    return a, conf


def expose(ctx, board, local_port, i):
    c = stk.Client(ctx.stack.api_port, stk.P_BULK)
    try:
        s, j = c.call("POST", "/v1/services", {"name": "svc-%d" % i, "port": local_port,
                                               "protocol": "TCP"})
        if s != 201:
            raise RuntimeError("POST /v1/services: %s %s" % (s, j))
        svc = j["uuid"]
        s, j = c.call("POST", "/v1/boards/%s/services/%s/action" % (board, svc),
                      {"action": "ServiceEnable"})
        if s != 200:
            raise RuntimeError("ServiceEnable: %s %s" % (s, j))
        s, j = c.call("GET", "/v1/boards/%s/services" % board)
        return next(e["public_port"] for e in j["exposed"] if e["service"] == svc)
    finally:
        c.close()


def tunnels_up(ctx, board, n):
    c = stk.Client(ctx.stack.api_port, stk.P_BULK)
    try:
        s, j = c.call("GET", "/v1/boards/%s/services/status" % board)
    finally:
        c.close()
    if s != 200:
        return False
    import json
    st = json.loads(j) if isinstance(j, str) else j
    return sum(1 for t in st.get("tunnels", []) if t.get("state") == "up") >= n


def run(ctx):
    stk.need("iotronic-wagent", "lightning-rod-c", "lrc-probe")
    w = ctx.stack.start_wagent("wagent-agent", register_agent=True)
    a, _ = start_agent(ctx, w, "agent-1")
    _state["agent"] = a
    time.sleep(5)  # settle: probes, first pings, lazy allocations
    idle = smaps(a.pid)
    ctx.log("  lightning-rod-c idle: RSS %d kB, PSS %d kB, private dirty %d kB; largest %s"
            % (idle["VmRSS_kB"], idle["Pss_kB"], idle["Private_Dirty_kB"], idle["largest"][:5]))

    servers = [Server("hold") for _ in range(TUNNELS - 2)]
    sink, source = Server("sink"), Server("source")
    _state["servers"] = servers + [sink, source]
    ports = []
    for i, srv in enumerate(servers + [sink, source]):
        ports.append(expose(ctx, "agent-1", srv.port, i))
    iottest.wait_until(lambda: tunnels_up(ctx, "agent-1", TUNNELS), timeout=30,
                       what="%d tunnels up" % TUNNELS)
    held = [socket.create_connection(("127.0.0.1", p)) for p in ports[:TUNNELS - 2]]
    _state["held"] = held
    iottest.wait_until(lambda: all(len(s.conns) == 1 for s in servers), timeout=30,
                       what="one connection through each held tunnel")
    time.sleep(2)
    tun = smaps(a.pid)
    ctx.log("  with %d tunnels (%d carrying an open connection): RSS %d kB, PSS %d kB, "
            "private dirty %d kB" % (TUNNELS, TUNNELS - 2, tun["VmRSS_kB"], tun["Pss_kB"],
                                     tun["Private_Dirty_kB"]))

    mem_note = ("RSS counts every resident page of the shared libraries the agent maps "
                "(libcrypto, libcurl and its TLS/LDAP/SSH/IDN dependencies, libarchive, "
                "libwebsockets, libc): %d kB of the %d kB are shared clean pages; PSS %d kB, "
                "private dirty %d kB. Largest mappings (kB): %s"
                % (idle["Shared_Clean_kB"], idle["VmRSS_kB"], idle["Pss_kB"],
                   idle["Private_Dirty_kB"],
                   ", ".join("%s %d" % (k, v) for k, v in idle["largest"])))
    cmd = "lightning-rod-c (io backend sim, crun executor) online on iotronic-wagent; /proc/PID"
    f = ctx.results.target("agent.rss_idle", cmd)
    f.add(idle["VmRSS_kB"] * 1024 / 1e6, idle)
    f.note = mem_note
    f = ctx.results.target("agent.rss_tunnels", cmd + ", 10 services exposed (ServiceEnable), "
                           "8 tunnels carrying an open TCP connection")
    f.add(tun["VmRSS_kB"] * 1024 / 1e6, tun)
    for fid, what, key, v0, v1 in (
            ("agent.pss_idle", "lightning-rod-c PSS (shared pages divided among sharers), "
             "idle", "Pss_kB", idle, tun),
            ("agent.private_idle", "lightning-rod-c private dirty memory (its own heap and "
             "stacks), idle", "Private_Dirty_kB", idle, tun)):
        f = ctx.results.figure(fid, ROWS[0], what, "MB", command=cmd)
        f.add(v0[key] * 1024 / 1e6)
        f = ctx.results.figure(fid.replace("idle", "tunnels"), ROWS[0],
                               what.replace("idle", "10 tunnels"), "MB", command=cmd)
        f.add(v1[key] * 1024 / 1e6)

    throughput(ctx, ports[-2], ports[-1], sink, source)


def throughput(ctx, sink_port, source_port, sink, source):
    runs = max(1, ctx.opts.runs)
    up = [STREAM_BYTES / upload(sink_port, sink) / 1e6 for _ in range(runs)]
    down = [STREAM_BYTES / download(source_port) / 1e6 for _ in range(runs)]
    raw_up = [STREAM_BYTES / upload(sink.port, sink) / 1e6 for _ in range(runs)]
    raw_down = [STREAM_BYTES / download(source.port) / 1e6 for _ in range(runs)]
    ctx.log("  one TCP stream through the tunnel: upload %s MB/s, download %s MB/s; plain "
            "loopback with the same client: %s / %s MB/s"
            % (["%.0f" % v for v in up], ["%.0f" % v for v in down],
               ["%.0f" % v for v in raw_up], ["%.0f" % v for v in raw_down]))
    cmd = ("%d MiB over one TCP connection to the wagent's public port -> wstun -> "
           "lightning-rod-c -> 127.0.0.1 service (Python client and service)" % (STREAM_BYTES >> 20))
    f = ctx.results.target("tunnel.throughput", cmd + "; the slower direction of each run")
    for u, d in zip(up, down):
        f.add(min(u, d), {"upload": u, "download": d})
    f.note = ("plain loopback with the same Python client and service: upload %.0f, download "
              "%.0f MB/s (median): the harness's own ceiling"
              % (sorted(raw_up)[len(raw_up) // 2], sorted(raw_down)[len(raw_down) // 2]))
    for fid, what, vals in (("tunnel.upload", "tunnel upload (cloud -> board service)", up),
                            ("tunnel.download", "tunnel download (board service -> cloud)", down),
                            ("tunnel.raw", "plain loopback, same client (harness ceiling), "
                             "download", raw_down)):
        f = ctx.results.figure(fid, ROWS[1], what, "MB/s", command=cmd)
        for v in vals:
            f.add(v)


def cleanup(ctx):
    for c in _state.pop("held", []):
        c.close()
    for s in _state.pop("servers", []):
        s.close()
    a = _state.pop("agent", None)
    if a is not None:
        a.stop()
    w = ctx.stack.wagents.pop("wagent-agent", None)
    if w is not None:
        w.daemon.stop()
