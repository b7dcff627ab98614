#!/usr/bin/python3
"""Runs every test suite and prints one summary line: `N passed, N failed`.

Suites:
  unit         <build>/tests/unit/test_*      cmocka, TAP output
  integration  tests/integration/test_*.py    real daemons, PostgreSQL, RabbitMQ
  e2e          tests/e2e/test_*.py            real board agents as well
  fuzz         tests/fuzz/test_fuzz.py        libFuzzer targets, time-boxed

PostgreSQL and RabbitMQ are started once for the whole run (when a selected
suite needs them) and stopped at the end, also on failure or interruption.
Each suite's output goes to <build>/test-logs/<suite>.log; a failing suite's
tail is printed. A test counts once per TAP line; a suite that dies or times
out adds one failure of its own.

usage: tests/run.py [--build DIR] [--list] [FILTER...]
  FILTER: a substring of the suite name (e.g. "unit/", "amqp").
  A Python suite may declare `# timeout: <seconds>` (default 600).
"""

import argparse
import glob
import os
import re
import signal
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import importlib  # noqa: E402

# The package's services() helper shadows its submodule of the same name,
# so `from iottest import services` would give the function.
svcmod = importlib.import_module("iottest.services")

TAP_LINE = re.compile(r"^(not ok|ok)\b")


def discover(build):
    suites = []
    for path in sorted(glob.glob(os.path.join(build, "tests", "unit", "test_*"))):
        if os.access(path, os.X_OK) and not path.endswith(".d") and os.path.isfile(path):
            suites.append(("unit/" + os.path.basename(path), [path], False, 300))
    for kind in ("integration", "e2e", "fuzz", "api"):
        for path in sorted(glob.glob(os.path.join(ROOT, "tests", kind, "test_*.py"))):
            timeout = 600
            with open(path) as f:
                head = f.read(4096)
            m = re.search(r"^# timeout: (\d+)", head, re.M)
            if m:
                timeout = int(m.group(1))
            needs = "# needs: nothing" not in head
            name = kind + "/" + os.path.basename(path)[:-3]
            suites.append((name, ["/usr/bin/python3", path], needs, timeout))
    return suites


def run_suite(name, argv, timeout, env, logdir):
    log_path = os.path.join(logdir, name.replace("/", "_") + ".log")
    start = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                start_new_session=True)
        timed_out = False
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            svcmod.kill_group(proc, timeout=5)
            rc = proc.returncode
    elapsed = time.monotonic() - start
    passed = failed = 0
    with open(log_path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    for line in text.splitlines():
        m = TAP_LINE.match(line)
        if m:
            if m.group(1) == "ok":
                passed += 1
            else:
                failed += 1
    note = ""
    if timed_out:
        failed += 1
        note = " (timed out after %d s)" % timeout
    elif rc != 0 and failed == 0:
        failed += 1
        note = " (exited with status %s, no failing test reported)" % rc
    return passed, failed, elapsed, note, log_path, text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("filters", nargs="*")
    args = ap.parse_args()
    build = os.path.abspath(os.path.join(ROOT, args.build))
    suites = discover(build)
    if args.filters:
        suites = [s for s in suites if any(f in s[0] for f in args.filters)]
    if args.list:
        for s in suites:
            print(s[0])
        return 0

    logdir = os.path.join(build, "test-logs")
    os.makedirs(logdir, exist_ok=True)
    env = dict(os.environ)
    env["IOT_BUILD"] = build
    env["PYTHONPATH"] = os.path.join(ROOT, "tests", "lib")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["CMOCKA_MESSAGE_OUTPUT"] = "TAP"
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env["LSAN_OPTIONS"] = "suppressions=%s" % os.path.join(ROOT, "tests", "lsan.supp")

    svc = None

    def on_signal(signum, frame):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, on_signal)
    total_pass = total_fail = 0
    try:
        if any(s[2] for s in suites):
            t0 = time.monotonic()
            svc = svcmod.Services().start()
            env["IOT_SERVICES_JSON"] = svc.describe()
            print("services: PostgreSQL :%d, RabbitMQ :%d (%.1f s)"
                  % (svc.pg.port, svc.rabbit.port, time.monotonic() - t0), flush=True)
        for name, argv, _needs, timeout in suites:
            p, f, elapsed, note, log_path, text = run_suite(name, argv, timeout, env, logdir)
            total_pass += p
            total_fail += f
            status = "PASS" if f == 0 else "FAIL"
            print("%s %-40s %4d ok %3d failed %6.1f s%s" % (status, name, p, f, elapsed, note),
                  flush=True)
            if f:
                tail = text.splitlines()[-40:]
                print("    --- last lines of %s" % log_path)
                for line in tail:
                    print("    " + line)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        total_fail += 1
    finally:
        if svc is not None:
            svc.stop()
    print("%d passed, %d failed" % (total_pass, total_fail), flush=True)
    return 0 if total_fail == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
