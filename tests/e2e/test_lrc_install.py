#!/usr/bin/python3
# needs: nothing
"""`make install` for the board agent: the binary, lrc-wstun, the startup
probe and the helpers (lrc-fetch, lrc-unpack) in lib/lightning-rod-c, where
the agent looks for them from bin/, the sample configuration (which the agent
itself accepts) and the systemd unit with Restart=always, into a DESTDIR."""

import json
import os
import subprocess
import sys
import unittest
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402

PREFIX = "/usr/local"


def make_args():
    """BUILD (and SANITIZE) of the tree the run tests, so that make finds it
    built and installs what was tested."""
    build = iottest.BUILD
    if os.path.basename(build) == "san":
        return ["BUILD=" + os.path.dirname(build), "SANITIZE=1"]
    return ["BUILD=" + build]


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(iottest.bin_path("lightning-rod-c"), os.X_OK):
            raise unittest.SkipTest("lightning-rod-c is not built")
        cls.dest = iottest.tmpdir("install-")
        r = subprocess.run(["make", "-s", "install", "DESTDIR=" + cls.dest, "PREFIX=" + PREFIX]
                           + make_args(), cwd=iottest.ROOT, capture_output=True, text=True,
                           timeout=600)
        if r.returncode != 0:
            raise AssertionError("make install failed:\n%s%s" % (r.stdout, r.stderr[-3000:]))
        cls.root = cls.dest + PREFIX

    def test_programs(self):
        for rel in ("bin/lightning-rod-c", "bin/lrc-wstun", "lib/lightning-rod-c/lrc-probe",
                    "lib/lightning-rod-c/lrc-fetch", "lib/lightning-rod-c/lrc-unpack"):
            path = os.path.join(self.root, rel)
            self.assertTrue(os.access(path, os.X_OK), rel)
        out = subprocess.run([os.path.join(self.root, "bin/lightning-rod-c"), "--version"],
                             capture_output=True, text=True)
        self.assertEqual(out.stdout.strip(), "lightning-rod-c 0.1.0")

    def test_installed_helpers_answer_one_json_line(self):
        # The agent finds them at bin/../lib/lightning-rod-c (src/helper.h);
        # installed, they must run and speak the protocol on their own.
        d = iottest.tmpdir("helpers-")
        archive = os.path.join(d, "p.zip")
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("main.py", "def main():\n    return 1\n")
        r = subprocess.run([os.path.join(self.root, "lib/lightning-rod-c/lrc-unpack"),
                            "--kind=package", "--archive", archive, "--dest",
                            os.path.join(d, "tree"), "--max-bytes", "65536", "--max-entries",
                            "10"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout), {"ok": True, "format": "zip", "entries": 1,
                                                "bytes": 25})
        self.assertTrue(os.path.isfile(os.path.join(d, "tree", "main.py")))
        r = subprocess.run([os.path.join(self.root, "lib/lightning-rod-c/lrc-fetch"),
                            "--url", "ftp://x/"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        res = json.loads(r.stdout)
        self.assertEqual((res["ok"], res["errno"]), (False, 22))
        self.assertIn("usage: lrc-fetch", res["error"])

    def test_sample_configuration_is_valid(self):
        sample = os.path.join(self.root, "share/iotronic-c/etc/lightning-rod-c/"
                              "lightning-rod-c.conf.sample")
        self.assertTrue(os.path.exists(sample))
        # Every option is commented out: uncomment them all, point the
        # directories somewhere private, and let the agent read it. A bad
        # value would exit 78; `status` without a running agent exits 1.
        d = iottest.tmpdir("sample-")
        with open(sample) as f:
            lines = []
            for line in f:
                if line.startswith("#") and " = " in line and not line.startswith("# "):
                    line = line[1:]
                lines.append(line)
        text = "".join(lines).replace("/var/lib/lightning-rod-c", d + "/state") \
            .replace("/run/lightning-rod-c", d + "/run")
        conf = os.path.join(d, "lrc.conf")
        with open(conf, "w") as f:
            f.write(text)
        r = subprocess.run([os.path.join(self.root, "bin/lightning-rod-c"), "--config-file", conf,
                            "status"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertNotIn("configuration:", r.stderr)

    def test_systemd_unit_restarts_the_agent(self):
        unit = os.path.join(self.root, "lib/systemd/system/lightning-rod-c.service")
        with open(unit) as f:
            text = f.read()
        self.assertIn("Restart=always", text)
        self.assertIn("ExecStart=%s/bin/lightning-rod-c --config-file "
                      "/etc/lightning-rod-c/lightning-rod-c.conf" % PREFIX, text)


if __name__ == "__main__":
    iottest.main()
