"""REST API latency and throughput (DESIGN.md rows 1-3).

103 boards in the project `bench`, then wrk with keep-alive connections,
1 to 64 clients, each point repeated `runs` times:
  GET  /v1/boards             (the 103 boards: one page)
  GET  /v1/boards/{name}
  POST /v1/boards             (API -> AMQP -> conductor -> PostgreSQL; a new
                               board per request, in the project `bulk` so
                               the list above stays at 103)
The targets are the p50 at one client (the latency a request pays on an
idle system) and the throughput with 32 clients; the curves show the rest."""

import statistics

import stack as stk
import targets
import wrk

CLIENTS = (1, 2, 4, 8, 16, 32, 64)


def measure(ctx, name, path, script, args, clients, runs):
    """One curve: for each client count, `runs` wrk runs. Returns
    {clients: [run results]}."""
    url = "http://127.0.0.1:%d%s" % (ctx.stack.api_port, path)
    seq = [0]

    def argv():  # "{uniq}" differs per wrk run: POSTed names must be new
        seq[0] += 1
        return [a.replace("{uniq}", "r%d" % seq[0]) for a in args]

    wrk.run(url, 2, 1, script, argv())  # warm-up: connections, caches, plans
    out = {}
    for c in clients:
        out[c] = []
        for i in range(runs):
            r = wrk.run(url, c, ctx.opts.duration, script, argv())
            if wrk.error_count(r):
                raise RuntimeError("%s with %d clients: errors %s" % (name, c, r["errors"]))
            out[c].append(r)
        med = statistics.median([r["p50"] for r in out[c]])
        ctx.log("  %-12s %2d clients: p50 %.3f ms  p99 %.3f ms  %8.0f req/s"
                % (name, c, med, statistics.median([r["p99"] for r in out[c]]),
                   statistics.median([r["rps"] for r in out[c]])))
    return out


def curve_points(data):
    pts = []
    for c, runs in sorted(data.items()):
        pts.append({"x": c, "p50": statistics.median([r["p50"] for r in runs]),
                    "p99": statistics.median([r["p99"] for r in runs]),
                    "rps": statistics.median([r["rps"] for r in runs]),
                    "p50_min": min(r["p50"] for r in runs), "p50_max": max(r["p50"] for r in runs),
                    "rps_min": min(r["rps"] for r in runs), "rps_max": max(r["rps"] for r in runs)})
    return pts


def detail(r):
    return {k: r[k] for k in ("requests", "rps", "p50", "p90", "p99", "p999", "max", "mean",
                              "clients")}


def lat_figure(ctx, fid, data, clients, key="p50", row=None, what=None):
    """A latency figure: a target of targets.py, or (row, what given) an
    extra figure without target."""
    if row is None:
        f = ctx.results.target(fid, data[clients][0]["argv"])
    else:
        f = ctx.results.figure(fid, row, what, "ms", command=data[clients][0]["argv"])
    for r in data[clients]:
        f.add(r[key], detail(r))
    return f


def rps_figure(ctx, fid, data, clients, row=None, what=None):
    if row is None:
        f = ctx.results.target(fid, data[clients][0]["argv"])
    else:
        f = ctx.results.figure(fid, row, what, "req/s", command=data[clients][0]["argv"])
    for r in data[clients]:
        f.add(r["rps"], detail(r))
    return f


def run(ctx):
    st = ctx.stack
    names = ["bench-%03d" % i for i in range(103)]
    st.create_boards(names, stk.P_BENCH)
    runs = ctx.opts.runs
    clients = CLIENTS if not ctx.opts.quick else (1, 32)

    gl = measure(ctx, "GET boards", "/v1/boards", "get.lua", ["/v1/boards", stk.P_BENCH],
                 clients, runs)
    gb = measure(ctx, "GET board", "/v1/boards/bench-042", "get.lua",
                 ["/v1/boards/bench-042", stk.P_BENCH], clients, runs)
    pb = measure(ctx, "POST boards", "/v1/boards", "post_board.lua", ["{uniq}", stk.P_BULK],
                 clients, runs)

    row1, row2, row3 = targets.ROWS[0:3]
    lat_figure(ctx, "rest.get_boards.p50", gl, 1)
    lat_figure(ctx, "rest.get_boards.p99", gl, 1, "p99", row1,
               "GET /v1/boards (103 boards) p99, 1 client")
    rps_figure(ctx, "rest.get_boards.rps32", gl, 32, row1,
               "GET /v1/boards (103 boards) throughput, 32 clients")
    lat_figure(ctx, "rest.get_board.p50", gb, 1)
    lat_figure(ctx, "rest.get_board.p99", gb, 1, "p99", row2, "GET /v1/boards/{name} p99, 1 client")
    rps_figure(ctx, "rest.get_board.rps32", gb, 32)
    lat_figure(ctx, "rest.post_boards.p50", pb, 1)
    lat_figure(ctx, "rest.post_boards.p99", pb, 1, "p99", row3, "POST /v1/boards p99, 1 client")
    rps_figure(ctx, "rest.post_boards.rps32", pb, 32, row3, "POST /v1/boards throughput, 32 clients")

    ctx.results.curve("rest_get_boards", "GET /v1/boards (103 boards)", "keep-alive clients",
                      curve_points(gl))
    ctx.results.curve("rest_get_board", "GET /v1/boards/{name}", "keep-alive clients",
                      curve_points(gb))
    ctx.results.curve("rest_post_boards", "POST /v1/boards", "keep-alive clients",
                      curve_points(pb))
