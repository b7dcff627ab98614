#!/usr/bin/python3
"""Measures the board's part of the DESIGN.md function targets with fntest.

    sudo /usr/bin/python3 tests/tools/fntest/fnbench.py [--build build] [--runs 50]

Prints p50/p90 (ms) of:
  cold     a new container per execution, runtime and package cached
  warm     a container created beforehand (keep_warm = 1)
  deploy   FunctionDeploy of a new 1 MiB package, runtime cached
           (download + verify + unpack + pin)
Also a baseline measured in the same run: a bare `crun run` of /bin/true
(the minimal `crun spec` config) in a private mount namespace, so that the
numbers can be compared on a loaded machine. For executions two figures
are given: "board", the result's finished_at
minus received_at (what the board spends from accepting the request to
reaping the container), and "delivered", from sending FunctionExecute on
the control socket to the result reaching on_result (it adds the control
socket and the durable write of the execution record).
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "lib"))
sys.path.insert(0, HERE)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def show(name, values):
    print("%-18s n=%-3d p50 %7.2f ms   p90 %7.2f ms   min %7.2f ms"
          % (name, len(values), statistics.median(values), pct(values, 90), min(values)))


def parse_us(ts):
    import datetime
    d = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
    return d.replace(tzinfo=datetime.timezone.utc).timestamp() * 1e6


BASELINE = r"""
import json, subprocess, sys, time
bundle, root, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
subprocess.run(["mount", "--make-rprivate", "/"], check=True)
subprocess.run(["umount", "-l", "/sys/fs/cgroup/unified"], check=False)
out = []
for i in range(n):
    t0 = time.perf_counter()
    subprocess.run(["crun", "--root", root, "--cgroup-manager=cgroupfs", "run", "--bundle",
                    bundle, "base%d" % i], check=True, stdout=subprocess.DEVNULL)
    out.append((time.perf_counter() - t0) * 1000.0)
print(json.dumps(out))
"""


def crun_baseline(rootfs, runs):
    """A bare `crun run` of /bin/true, the crun spec config, as root."""
    d = tempfile.mkdtemp(prefix="fnbench-")
    bundle = os.path.join(d, "bundle")
    os.mkdir(bundle)
    subprocess.run(["crun", "spec"], cwd=bundle, check=True)
    with open(os.path.join(bundle, "config.json")) as f:
        conf = json.load(f)
    conf["process"]["terminal"] = False
    conf["process"]["args"] = ["/bin/true"]
    conf["root"] = {"path": rootfs, "readonly": True}
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(conf, f)
    r = subprocess.run(["unshare", "-m", "/usr/bin/python3", "-c", BASELINE, bundle,
                        os.path.join(d, "root"), str(runs)], check=True,
                       capture_output=True, text=True)
    subprocess.run(["rm", "-rf", d])
    return json.loads(r.stdout)


def run_one(fn, stream, p):
    t0 = time.perf_counter()
    reply = fn.execute(p)
    assert reply["kind"] == "RUNNING", reply
    while True:
        ev = stream.read_event()
        if ev.get("event") == "result" and ev["result"]["execution_id"] == p["execution_id"]:
            break
    t1 = time.perf_counter()
    r = ev["result"]
    assert r["status"] == "success", r
    board = (parse_us(r["finished_at"]) - parse_us(r["received_at"])) / 1000.0
    return board, (t1 - t0) * 1000.0, r


def components(log):
    """The runner's debug line per container: create_ms start_ms run_ms."""
    import re
    cols = {"create_ms": [], "start_ms": [], "run_ms": []}
    for m in re.finditer(r"container done .*?create_ms=([\d.]+) start_ms=([\d.]+) "
                         r"run_ms=([\d.]+)", log):
        for k, v in zip(("create_ms", "start_ms", "run_ms"), m.groups()):
            cols[k].append(float(v))
    for k, v in cols.items():
        if v:
            show("  " + k, v)
    for warm in ("0", "1"):
        v = [float(x) for x in re.findall(r"execution started .*?warm=%s after_ms=([\d.]+)" % warm,
                                          log)]
        if v:
            show("  %s to start" % ("warm" if warm == "1" else "cold"), v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--gap", type=float, default=0.0,
                    help="seconds to wait between executions (lets deletions finish)")
    ap.add_argument("--components", action="store_true",
                    help="also print create/start/run times from the daemon's debug log")
    args = ap.parse_args()
    os.environ["IOT_BUILD"] = os.path.abspath(args.build)
    import iottest
    import fnclient

    rt = fnclient.runtimes()
    srv = fnclient.BlobServer()
    fn = fnclient.Fntest(function={"max_concurrency": 2},
                         log_level="debug" if args.components else "info").start()
    try:
        stream = fnclient.Ctl(os.path.join(fn.run_dir, "control.sock"))
        assert stream.call("fn_results")["ok"]
        bb = fnclient.runtime_blob(srv, "busybox", rt["busybox"])
        pkg = srv.add(fnclient.zip_package({"main.sh": "echo ok > $FUNCTION_RESULT\n"}), "zip")
        run_one(fn, stream, fnclient.payload(bb, pkg))  # fetch and cache everything
        rootfs = os.path.join(fn.cache_dir, "runtimes", bb["sha256"], "rootfs")
        show("baseline crun run", crun_baseline(rootfs, args.runs))

        board, delivered = [], []
        for _ in range(args.runs):
            time.sleep(args.gap)
            b, d, _ = run_one(fn, stream, fnclient.payload(bb, pkg))
            board.append(b)
            delivered.append(d)
        show("cold board", board)
        show("cold delivered", delivered)

        fid = str(uuid.uuid4())
        board, delivered = [], []
        for _ in range(args.runs + 1):
            iottest.wait_until(lambda: fn.status()["warm"], what="a warm container") \
                if board or delivered else None
            b, d, r = run_one(fn, stream, fnclient.payload(bb, pkg, function_id=fid,
                                                           keep_warm=1, warm_ttl=600))
            if r["warm"]:
                board.append(b)
                delivered.append(d)
        show("warm board", board)
        show("warm delivered", delivered)

        deploy = []
        for _ in range(max(10, args.runs // 5)):
            p = srv.add(fnclient.zip_package({"main.sh": "true\n", "data": os.urandom(1 << 20)}),
                        "zip")
            dp = fnclient.payload(bb, p, function_id=str(uuid.uuid4()))
            del dp["execution_id"]
            t0 = time.perf_counter()
            r = fn.call("fn_deploy", payload=dp)
            deploy.append((time.perf_counter() - t0) * 1000.0)
            assert r["kind"] == "SUCCESS", r
            fn.call("fn_remove", payload={"function_id": dp["function_id"],
                                          "purge": [p["sha256"]]})
        show("deploy 1 MiB", deploy)
        if args.components:
            components(fn.log())
    finally:
        fn.stop()
        srv.close()


if __name__ == "__main__":
    main()
