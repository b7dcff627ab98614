#!/usr/bin/python3
# needs: nothing
"""Runs every built libFuzzer target for a bounded time and reports each as a test.

Targets are tests/fuzz/fuzz_<name>.c, built by `make fuzz` into
<build>/fuzz/fuzz/fuzz_<name> (the build dir comes from IOT_BUILD; a
sanitizer build dir such as build/san also finds the targets of its parent,
because `make check SANITIZE=1` builds them there). Each target runs for
IOT_FUZZ_SECONDS (default 20) over a scratch copy of its seed corpus
tests/fuzz/corpus/<name>/ when there is one, so that the repository's corpus
is never written. A crash, leak, timeout or broken promise fails the test;
the reproducer stays in <build>/fuzz-artifacts/. A target whose source exists
but that was not built is reported as skipped, naming `make fuzz`.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402

ROOT = iottest.ROOT
SECONDS = int(os.environ.get("IOT_FUZZ_SECONDS", "20"))


def target_dirs():
    """Where built targets may be: <build>/fuzz/fuzz, and the parent's for build/san."""
    build = iottest.BUILD
    dirs = [os.path.join(build, "fuzz", "fuzz")]
    if os.path.basename(build) == "san":
        dirs.append(os.path.join(os.path.dirname(build), "fuzz", "fuzz"))
    return dirs


def find_binary(name):
    for d in target_dirs():
        path = os.path.join(d, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def target_names():
    names = set()
    for src in glob.glob(os.path.join(ROOT, "tests", "fuzz", "fuzz_*.c")):
        names.add(os.path.basename(src)[:-2])
    for d in target_dirs():
        for path in glob.glob(os.path.join(d, "fuzz_*")):
            if os.path.isfile(path) and os.access(path, os.X_OK) and not path.endswith(".d"):
                names.add(os.path.basename(path))
    return sorted(names)


def run_target(name):
    binary = find_binary(name)
    if binary is None:
        raise unittest.SkipTest("%s is not built (make fuzz)" % name)
    seeds = os.path.join(ROOT, "tests", "fuzz", "corpus", name[len("fuzz_"):])
    artifacts = os.path.join(iottest.BUILD, "fuzz-artifacts")
    os.makedirs(artifacts, exist_ok=True)
    work = tempfile.mkdtemp(prefix=name + "-", dir=iottest.tmpdir("fuzz-"))
    argv = [binary, "-max_total_time=%d" % SECONDS, "-timeout=10", "-rss_limit_mb=2048",
            "-print_final_stats=1", "-artifact_prefix=%s/%s-" % (artifacts, name), work]
    if os.path.isdir(seeds):
        argv.append(seeds)
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0"
    env.pop("LSAN_OPTIONS", None)
    try:
        r = subprocess.run(argv, capture_output=True, text=True, errors="replace",
                           timeout=SECONDS + 120, env=env, cwd=work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    tail = "\n".join(r.stderr.splitlines()[-40:])
    if r.returncode != 0:
        raise AssertionError("%s exited with %d:\n%s" % (name, r.returncode, tail))
    runs = [l for l in r.stderr.splitlines() if l.startswith("stat::number_of_executed_units")]
    if not runs or int(runs[-1].split(":")[-1]) == 0:
        raise AssertionError("%s ran no inputs:\n%s" % (name, tail))
    sys.stdout.write("# %s: %s in %d s\n" % (name, runs[-1].split(":")[-1].strip() + " runs",
                                              SECONDS))


class FuzzTargets(unittest.TestCase):
    pass


def _make_test(name):
    def test(self):
        run_target(name)
    test.__name__ = "test_" + name
    return test


for _name in target_names():
    setattr(FuzzTargets, "test_" + _name, _make_test(_name))


if __name__ == "__main__":
    iottest.main()
