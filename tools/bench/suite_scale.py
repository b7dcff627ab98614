"""Boards held by one wagent, and its RSS per board (DESIGN.md row 5).

One wagent; as many lr-swarm boards as one process may hold here (one
descriptor each: RLIMIT_NOFILE's hard limit, which this machine does not
let us raise, bounds both the swarm and the wagent), spread over eight
127.0.0.x source addresses. The boards register once; each run then
connects them all from the state file, holds them through two rounds of
pings both ways (5 s intervals here instead of 20 s, so that the bench sees
several), checks that none dropped and that the database has them all
online, samples the wagent's RSS, and stops the swarm.

RSS per board = (RSS with N boards - RSS of the idle wagent) / N; the 50 000
board projection adds that slope to the idle RSS."""

import os
import resource
import time

import stack as stk
import swarm
import targets

ROWS = [targets.ROWS[4]]
PING_S = 5
WAGENT_FD_RESERVE = 150   # listeners, database and AMQP sockets, lws, eventfds
SWARM_FD_RESERVE = 64     # tools/lr-swarm/swarm.h SW_FD_RESERVE

_state = {}


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def board_count(ctx):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    n = hard - max(WAGENT_FD_RESERVE, SWARM_FD_RESERVE)
    if ctx.opts.scale_boards:
        n = min(n, ctx.opts.scale_boards)
    if ctx.opts.quick:
        n = min(n, 2000)
    return n, hard


def one_run(ctx, w, state, n, base_kb):
    sw = swarm.Swarm(["--state", state, "--rate", 4000, "--max-pending", 1024,
                      "--source", "127.0.0.1-127.0.0.8", "--ping-interval", PING_S,
                      "--alive-interval", 60], os.path.join(ctx.dir, "logs"), "scale")
    _state["swarm"] = sw
    t0 = time.monotonic()
    sw.wait(lambda d: d["online"] == n, 300, "%d boards online" % n)
    connect_s = time.monotonic() - t0
    drops0 = sw.last()["drops"]
    cpu0, t1 = cpu_s(w.daemon.pid), time.monotonic()
    time.sleep(2 * PING_S + 2)  # two rounds of pings both ways
    cpu = (cpu_s(w.daemon.pid) - cpu0) / (time.monotonic() - t1)
    last = sw.last()
    db_online = ctx.stack.boards_online(w.name)
    rss = stk.rss_detail(w.daemon.pid)
    swarm_rss = stk.rss_kb(sw.pid)
    held = min(last["online"], db_online) if last["drops"] == drops0 else 0
    sw.stop()
    _state.pop("swarm", None)
    iottest_wait_offline(ctx, w)
    per_board = (rss["VmRSS"] - base_kb) * 1024.0 / n
    ctx.log("  run: %d online (db %d), connected in %.1f s, wagent RSS %d KiB (idle %d KiB): "
            "%.0f B/board, wagent CPU %.1f %% while holding them, lr-swarm RSS %d KiB"
            % (last["online"], db_online, connect_s, rss["VmRSS"], base_kb, per_board,
               100 * cpu, swarm_rss))
    return {"held": held, "connect_s": connect_s, "rss": rss, "base_kb": base_kb,
            "per_board_b": per_board, "cpu": cpu, "drops": last["drops"] - drops0,
            "ping_timeouts": last["ping_timeouts"], "swarm_rss_kb": swarm_rss,
            "db_online": db_online}


def iottest_wait_offline(ctx, w):
    import iottest
    iottest.wait_until(lambda: ctx.stack.boards_online(w.name) == 0, timeout=60,
                       what="boards offline after the swarm stopped")


def run(ctx):
    stk.need("iotronic-wagent", "lr-swarm")
    n, hard = board_count(ctx)
    fleet, _ = swarm.fleet(ctx, n)  # registered first: no board may pick this wagent
    w = ctx.stack.start_wagent("wagent-scale", extra={
        "wagent": {"ping_interval": PING_S, "ping_timeout": 3 * PING_S,
                   "max_sessions": n + 100}})
    time.sleep(1)
    base_kb = stk.rss_kb(w.daemon.pid)
    ctx.log("  %d boards (RLIMIT_NOFILE hard limit %d); idle wagent RSS %d KiB"
            % (n, hard, base_kb))
    state = swarm.rewrite_state(fleet, os.path.join(ctx.dir, "scale.state"), w.url, count=n)
    runs = [one_run(ctx, w, state, n, base_kb) for _ in range(max(1, ctx.opts.runs - 1))]
    cmd = ("lr-swarm --state <%d boards> --source 127.0.0.1-127.0.0.8 --ping-interval %d "
           "against one iotronic-wagent (ping_interval %d)" % (n, PING_S, PING_S))
    bound = ("bounded by RLIMIT_NOFILE: hard limit %d descriptors per process on this machine "
             "(no CAP_SYS_RESOURCE to raise it); one board is one socket in the wagent and one "
             "in lr-swarm" % hard)
    for fid in ("scale.boards", "scale.boards_floor"):
        f = ctx.results.target(fid, cmd)
        for r in runs:
            f.add(r["held"], r)
        if fid == "scale.boards":
            f.note = bound
    f = ctx.results.figure("scale.rss_per_board", ROWS[0], "wagent RSS per connected board",
                           "bytes", command=cmd)
    for r in runs:
        f.add(r["per_board_b"])
    f = ctx.results.target("scale.rss_50k", cmd)
    for r in runs:
        f.add((r["base_kb"] * 1024 + 50000 * r["per_board_b"]) / 2**30)
    f.note = ("a projection from the measured slope: 50 000 boards cannot connect here (%s)"
              % bound)
    f = ctx.results.figure("scale.rss_total", ROWS[0], "wagent RSS with all boards connected",
                           "MiB", command=cmd)
    for r in runs:
        f.add(r["rss"]["VmRSS"] / 1024.0)
    f = ctx.results.figure("scale.connect_s", ROWS[0], "time for all boards to connect "
                           "(WAMP-CRA, connection, REGISTER) from the state file", "s",
                           command=cmd)
    for r in runs:
        f.add(r["connect_s"])
    f = ctx.results.figure("scale.cpu", ROWS[0], "wagent CPU while holding all boards "
                           "(pings every %d s both ways)" % PING_S, "% of a core", command=cmd)
    for r in runs:
        f.add(100 * r["cpu"])
    f = ctx.results.figure("scale.swarm_rss", ROWS[0], "lr-swarm RSS per simulated board",
                           "bytes", command=cmd)
    for r in runs:
        f.add(r["swarm_rss_kb"] * 1024.0 / n)


def cleanup(ctx):
    sw = _state.pop("swarm", None)
    if sw is not None:
        sw.stop()
    w = ctx.stack.wagents.pop("wagent-scale", None)
    if w is not None:
        w.daemon.stop()
