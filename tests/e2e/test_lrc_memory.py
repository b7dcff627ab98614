#!/usr/bin/python3
"""The board agent's memory (DESIGN.md: <= 3 MB idle, <= 6 MB with 10 open tunnels).

Method, printed next to each number: one lightning-rod-c registered with the
real cloud, online, the sim IO backend, the crun executor probed and ready,
no plugin running; the figures are /proc/<pid>/status VmRSS, RssAnon (the
agent's private memory: heap, stacks, written pages of the libraries) and
RssFile (pages of shared library text and read-only data, shared with every
other process that maps the same libraries), and Pss from smaps_rollup,
read after 30 s idle, then again with 10 exposed services whose tunnels are
up for 5 s.

The budget is asserted on the private memory (RssAnon): that is what the
agent itself costs a board. VmRSS adds about 12 MB of mapped library text
(OpenSSL, libcurl and libarchive with their dependencies), the same for any
program linked with them and shared with every other such process; it is
reported, not asserted. Under ASan the figures mean nothing and are only
printed.
"""

import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402
import iotstack  # noqa: E402

IDLE_S = 30
IDLE_BUDGET_KB = 3 * 1024
TUNNELS_BUDGET_KB = 6 * 1024


def show(what, m):
    print("# %s: VmRSS %d KiB = RssAnon %d KiB (private) + RssFile %d KiB (shared library "
          "text); Pss %d KiB" % (what, m["VmRSS"], m["RssAnon"], m["RssFile"], m["Pss"]))


class Memory(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("the agent's containers need root")
        missing = iotstack.missing_binaries()
        if missing:
            raise unittest.SkipTest("not built: %s" % ", ".join(missing))
        cls.cloud = iotstack.Cloud()

    @classmethod
    def tearDownClass(cls):
        cls.cloud.close()

    def test_idle_and_with_ten_tunnels(self):
        a = self.cloud.agent("mem")
        a.start()
        a.register()
        iottest.wait_until(lambda: a.status()["functions"] is not None, timeout=20)
        time.sleep(IDLE_S)
        idle = a.rss()
        show("idle %d s, online, sim backend, executor ready" % IDLE_S, idle)
        servers = []
        for i in range(10):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen(4)
            servers.append(s)
            sv = self.cloud.create_service("mem-%d" % i, s.getsockname()[1])
            st, body = self.cloud.service_action(a.uuid, sv, "ServiceEnable")
            self.assertEqual(st, 200, body)
        self.addCleanup(lambda: [s.close() for s in servers])
        iottest.wait_until(lambda: sum(t["state"] == "up" for t in a.status()["tunnels"]) == 10,
                           timeout=30, what="10 tunnels up")
        time.sleep(5)
        ten = a.rss()
        show("10 open tunnels", ten)
        if iotstack.sanitized(a.pid):
            print("# built with sanitizers: figures not checked")
            return
        self.assertLessEqual(idle["RssAnon"], IDLE_BUDGET_KB)
        self.assertLessEqual(ten["RssAnon"], TUNNELS_BUDGET_KB)


if __name__ == "__main__":
    iottest.main()
