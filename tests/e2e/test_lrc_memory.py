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

The DESIGN.md budget is asserted on the private memory (RssAnon): that is
what the agent itself costs a board. VmRSS adds the touched pages of the
shared libraries (libcrypto and libc above all), shared with every other
process that maps them; it is asserted too, with a margin over what was
measured, so that a library pulled back into the agent fails here: since
downloads, unpacking and DeviceRestSubmit moved into the lrc-fetch and
lrc-unpack helpers (src/helper.h) the agent maps neither libcurl nor
libarchive, nor the ~37 libraries they bring (VmRSS idle went from about
14.5 MB to about 8 MB). Under ASan the figures mean nothing and are only
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
# Measured on Debian bookworm amd64 (shared libraries, three runs): VmRSS
# 7840-7860 KiB idle, 9588-9616 KiB with 10 tunnels (it was 14.7 and 16.4 MB
# with libcurl and libarchive in the agent); about 1.7 MB of margin each.
IDLE_VMRSS_KB = 9600
TUNNELS_VMRSS_KB = 11264
# Libraries whose presence in the agent means a helper's work came back.
HELPER_ONLY_LIBS = ("libcurl", "libarchive", "libxml2", "libicu", "libgnutls", "libnghttp2")


def mapped_libraries(pid):
    with open("/proc/%d/maps" % pid) as f:
        return {os.path.basename(line.split()[-1]) for line in f
                if len(line.split()) >= 6 and ".so" in line.split()[-1]}


def rss_by_object(pid):
    """Rss in KiB per mapped file ("[anon]" for the rest), largest first."""
    sizes, name = {}, "[anon]"
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and len(parts) >= 5 and ":" in parts[3]:
                name = os.path.basename(parts[5]) if len(parts) >= 6 else "[anon]"
            elif parts[0] == "Rss:":
                sizes[name] = sizes.get(name, 0) + int(parts[1])
    return sorted(sizes.items(), key=lambda kv: -kv[1])


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
        print("# idle Rss by mapping (KiB): %s" % ", ".join(
            "%s %d" % kv for kv in rss_by_object(a.pid)[:10]))
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
        self.assertLessEqual(idle["VmRSS"], IDLE_VMRSS_KB)
        self.assertLessEqual(ten["VmRSS"], TUNNELS_VMRSS_KB)

    def test_agent_maps_neither_libcurl_nor_libarchive(self):
        a = self.cloud.agent("maps")
        a.start()
        a.register()
        iottest.wait_until(lambda: a.status()["functions"] is not None, timeout=20)
        libs = mapped_libraries(a.pid)
        print("# %d shared objects mapped: %s" % (len(libs), " ".join(sorted(libs))))
        self.assertEqual([n for n in libs if n.startswith(HELPER_ONLY_LIBS)], [])


if __name__ == "__main__":
    iottest.main()
