"""Board RPC round trip with 1 000 boards online (DESIGN.md row 4).

One wagent, 1 000 lr-swarm boards registered and online (WAMP-CRA, pings,
wamp_alive off so that only the measured calls load the wagent), then wrk
posts `DevicePing` actions to boards picked at random: REST -> API -> AMQP
-> conductor (request row) -> AMQP -> wagent -> WAMP INVOCATION -> board ->
YIELD -> back the same way. 1 to 64 keep-alive clients; the targets are
the p50 and p99 with one client."""

import os
import statistics

import stack as stk
import swarm
import targets
import wrk
from suite_rest import curve_points, detail

ROWS = [targets.ROWS[3]]
BOARDS = 1000
CLIENTS = (1, 2, 4, 8, 16, 32, 64)

_state = {}


def run(ctx):
    stk.need("iotronic-wagent", "lr-swarm")
    st = ctx.stack
    fleet, _ = swarm.fleet(ctx, BOARDS)
    w = st.start_wagent("wagent-rpc")
    names = swarm.fleet_names(ctx, 0, BOARDS)
    state = swarm.rewrite_state(fleet, os.path.join(ctx.dir, "rpc.state"), w.url, count=BOARDS)
    sw = swarm.Swarm(["--state", state, "--rate", 2000, "--alive-interval", 0],
                     os.path.join(ctx.dir, "logs"), "rpc")
    _state["swarm"] = sw
    sw.wait(lambda d: d["online"] == BOARDS, 120, "%d boards online" % BOARDS)
    names_file = swarm.write_lines(os.path.join(ctx.dir, "rpc.names"), names)
    online = st.boards_online("wagent-rpc")
    if online != BOARDS:
        raise RuntimeError("the database says %d boards online, not %d" % (online, BOARDS))
    ctx.log("  %d boards online on wagent-rpc" % online)

    url = "http://127.0.0.1:%d/" % st.api_port
    args = [names_file, "DevicePing", stk.P_BULK]
    wrk.run(url, 2, 1, "action.lua", args)  # warm-up
    clients = CLIENTS if not ctx.opts.quick else (1, 8)
    data = {}
    for c in clients:
        data[c] = []
        for i in range(ctx.opts.runs):
            r = wrk.run(url, c, ctx.opts.duration, "action.lua", args)
            if wrk.error_count(r):
                raise RuntimeError("board calls with %d clients: errors %s" % (c, r["errors"]))
            data[c].append(r)
        ctx.log("  RPC %2d clients: p50 %.3f ms  p99 %.3f ms  %7.0f calls/s"
                % (c, statistics.median([r["p50"] for r in data[c]]),
                   statistics.median([r["p99"] for r in data[c]]),
                   statistics.median([r["rps"] for r in data[c]])))
    answered = sw.last()["invocations"]
    for fid, key in (("rpc.p50", "p50"), ("rpc.p99", "p99")):
        f = ctx.results.target(fid, data[1][0]["argv"])
        for r in data[1]:
            f.add(r[key], detail(r))
    f = ctx.results.figure("rpc.rps8", ROWS[0], "board RPC throughput, 8 clients, 1 000 boards",
                           "calls/s", command=data[clients[-1] if 8 not in data else 8][0]["argv"])
    for r in data.get(8, []):
        f.add(r["rps"], detail(r))
    f.note = None
    ctx.results.target("rpc.p50").note = (
        "every call answered by the board: lr-swarm counted %d invocations; the wrk runs saw no "
        "error status" % answered)
    ctx.results.curve("rpc", "board RPC (REST DevicePing, 1 000 boards online)",
                      "keep-alive clients", curve_points(data))


def cleanup(ctx):
    sw = _state.pop("swarm", None)
    if sw is not None:
        sw.stop()
    w = ctx.stack.wagents.pop("wagent-rpc", None)
    if w is not None:
        w.daemon.stop()
