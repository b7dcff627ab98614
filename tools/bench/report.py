"""Writes bench/REPORT.md and its charts from the results document.

Charts are drawn by gnuplot (SVG): latency p50 and p99 against the number
of keep-alive clients for every curve the suites recorded, and throughput
against clients. The analysis of bounds (profiles, what limits a target
that is not met) is kept by hand in tools/bench/bounds.md and included as
is: it is evidence gathered with perf and the bench, not generated text."""

import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def fmt(v, unit=None):
    if v is None:
        return "-"
    if isinstance(v, float):
        if abs(v) >= 1000:
            s = "%.0f" % v
        elif abs(v) >= 100:
            s = "%.1f" % v
        elif abs(v) >= 10:
            s = "%.2f" % v
        else:
            s = "%.3f" % v
    else:
        s = str(v)
    return s + (" " + unit if unit else "")


def status(f):
    if f["error"]:
        return "not measured"
    if f["met"] is None:
        return "measured"
    return "**met**" if f["met"] else "**not met**"


def measured(f):
    s = f["summary"]
    if f["error"]:
        return f["error"].replace("|", "\\|").replace("\n", " ")
    if s is None:
        return "-"
    if s["n"] == 1:
        return "%s (1 run)" % fmt(s["median"], f["unit"])
    return "%s [%s-%s], p99 %s (%d runs)" % (fmt(s["median"], f["unit"]), fmt(s["min"]),
                                             fmt(s["max"]), fmt(s["p99"]), s["n"])


def target_text(f):
    if f["target"] is None:
        return "-"
    return "%s %s" % (f["cmp"].replace("<=", "≤").replace(">=", "≥"), fmt(f["target"], f["unit"]))


def esc(s):
    return (s or "").replace("|", "\\|").replace("\n", " ")


def table(doc):
    out = ["| row | figure | target | measured: median [min-max], p99 of runs | status | "
           "reference (quoted) | command |", "|---|---|---|---|---|---|---|"]
    order = {r: i for i, r in enumerate(doc["rows"])}
    figs = sorted(doc["figures"], key=lambda f: (order.get(f["row"], 99), f["target"] is None))
    for f in figs:
        cmd = esc(f["command"])
        if len(cmd) > 160:
            cmd = cmd[:157] + "..."
        out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            esc(f["row"]), esc(f["what"]), target_text(f), measured(f), status(f),
            esc(f["reference"]) or "-", "`%s`" % cmd if cmd else "-"))
    return "\n".join(out)


def curve_tables(doc):
    out = []
    for name, c in doc["curves"].items():
        out.append("**%s** (%s; median of runs, p50 range in brackets)\n" % (c["title"],
                                                                            c["xlabel"]))
        out.append("| clients | p50 ms | p99 ms | req/s |")
        out.append("|---|---|---|---|")
        for p in c["points"]:
            out.append("| %d | %s [%s-%s] | %s | %s |" % (p["x"], fmt(p["p50"]),
                                                        fmt(p.get("p50_min")),
                                                        fmt(p.get("p50_max")), fmt(p["p99"]),
                                                        fmt(p["rps"])))
        out.append("")
    return "\n".join(out)


def charts(doc, outdir):
    """latency.svg (p50 and p99 vs clients, log scale) and throughput.svg."""
    curves = doc["curves"]
    if not curves:
        return []
    datadir = os.path.join(outdir, "data")
    os.makedirs(datadir, exist_ok=True)
    files = []
    for name, c in curves.items():
        path = os.path.join(datadir, name + ".dat")
        with open(path, "w") as f:
            f.write("# clients p50_ms p99_ms rps\n")
            for p in c["points"]:
                f.write("%d %.6f %.6f %.1f\n" % (p["x"], p["p50"], p["p99"], p["rps"]))
        files.append((name, c["title"], path))
    # One colour per curve: its p50 solid, its p99 dashed.
    lat = ", ".join("'%s' using 1:2 with linespoints lc %d pt 7 title '%s p50', '%s' using 1:3 "
                    "with linespoints lc %d dashtype 2 pt 6 title '%s p99'"
                    % (p, i + 1, t, p, i + 1, t) for i, (_, t, p) in enumerate(files))
    thr = ", ".join("'%s' using 1:4 with linespoints lc %d pt 7 title '%s'" % (p, i + 1, t)
                    for i, (_, t, p) in enumerate(files))
    body = """
set key below Left reverse maxrows 4
set grid
set logscale x 2
set xlabel 'keep-alive clients'
set output '%s.%s'
set title 'Latency against load (make bench)'
set logscale y 10
set ylabel 'latency, ms (log)'
plot %s
set output '%s.%s'
set title 'Throughput against load (make bench)'
unset logscale y
set ylabel 'requests per second'
plot %s
"""
    made = []
    for term, ext in (("svg size 1000,700 dynamic noenhanced font 'sans,11'", "svg"),
                      ("pngcairo size 1000,700 noenhanced font 'sans,10'", "png")):
        script = "set terminal %s\n" % term + body % (
            os.path.join(outdir, "latency"), ext, lat, os.path.join(outdir, "throughput"), ext,
            thr)
        r = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True)
        if r.returncode != 0:
            return ["(gnuplot failed: %s)" % r.stderr.strip()[:300]]
        made += ["latency." + ext, "throughput." + ext]
    return made


def write(doc, outdir):
    m = doc["machine"]
    made = charts(doc, outdir)
    lines = ["# make bench: results", "",
             "Generated %s in %.0f s from commit `%s` (%d files differing from it). Settings: %s."
             % (doc["generated_at"], doc["duration_s"], doc["git"]["commit"][:12],
                doc["git"]["dirty_files"], ", ".join("%s=%s" % kv for kv in
                                                     doc["settings"].items())),
             "", "## Machine", "",
             "| | |", "|---|---|",
             "| CPU | %s, %s cores (%s) |" % (m["cpu"], m["cores"], m["virtualisation"]),
             "| memory | %s GiB |" % m["memory_gib"],
             "| system | %s, Linux %s |" % (m["os"], m["kernel"]),
             "| RLIMIT_NOFILE | soft %d, hard %d (no CAP_SYS_RESOURCE to raise it) |"
             % tuple(m["rlimit_nofile"]),
             "| compiler | %s |" % m["cc"],
             "| load average (1, 5, 15 min) | %s at the start, %s at the end |"
             % (", ".join("%.2f" % v for v in m.get("loadavg_at_start", [])),
                ", ".join("%.2f" % v for v in m.get("loadavg_at_end", []))),
             "| packages | %s |" % ", ".join("%s %s" % kv for kv in m["packages"].items()),
             "", "Everything runs on this one machine: the load generators (wrk, lr-swarm, "
             "Python clients) share the two cores with the daemons they measure, and so does "
             "whatever else the machine runs: the load average above (which counts the bench's "
             "own processes too) says how busy it was.",
             "",
             "## Targets (DESIGN.md performance table)", "",
             doc["note"], "",
             table(doc), "",
             "## Suites", "",
             "| suite | status | seconds | note |", "|---|---|---|---|"]
    for n, s in doc["suites"].items():
        lines.append("| %s | %s | %s | %s |" % (n, s["status"], s["seconds"], esc(s["note"])))
    lines += ["", "## Latency against load", ""]
    for c in made:
        if c.endswith(".svg"):
            lines.append("![%s](%s)" % (c[:-4], c))
        elif not c.endswith(".png"):
            lines.append(c)
    if any(c.endswith(".png") for c in made):
        lines += ["", "(The same charts as PNG: latency.png, throughput.png.)"]
    lines += ["", curve_tables(doc)]
    notes = [f for f in doc["figures"] if f.get("note")]
    if notes:
        lines += ["## Notes from the suites", ""]
        for f in notes:
            lines.append("- **%s**: %s" % (f["what"], f["note"]))
        lines.append("")
    bounds = os.path.join(HERE, "bounds.md")
    if os.path.exists(bounds):
        with open(bounds) as f:
            lines += ["", f.read()]
    with open(os.path.join(outdir, "REPORT.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
