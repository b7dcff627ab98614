#!/usr/bin/python3
"""Thousands of random and malformed requests against iotronic-api: every
answer is a well-formed HTTP response, nothing is ever a 500 (or a 5xx other
than a documented 503/504), every error body has the nested format, and the
server keeps serving afterwards (iotronic-api-v1.md 1.7, 1.8)."""

import json
import os
import random
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402
from test_api_support import Stack, fault  # noqa: E402

PATHS = ["/", "/v1", "/v1/boards", "/v1/boards/detail", "/v1/boards/{b}", "/v1/boards/{b}/action",
         "/v1/boards/{b}/plugins", "/v1/boards/{b}/plugins/{p}", "/v1/boards/{b}/services",
         "/v1/boards/{b}/services/{s}/action", "/v1/boards/{b}/services/restore",
         "/v1/boards/{b}/ports", "/v1/boards/{b}/ports/{u}", "/v1/boards/{b}/webservices",
         "/v1/boards/{b}/webservices/enable", "/v1/plugins", "/v1/plugins/public",
         "/v1/plugins/{p}", "/v1/services", "/v1/services/{s}", "/v1/fleets", "/v1/fleets/{f}",
         "/v1/fleets/{f}/boards", "/v1/webservices/{u}", "/v1/ports/{u}", "/v1/requests",
         "/v1/requests/{u}", "/v1/requests/{u}/results", "/boards", "/v1/x/y", "/v2/boards"]
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "BREW"]
QUERY = ["limit", "marker", "sort_key", "sort_dir", "fields", "status", "project", "all_projects",
         "with_public", "all_plugins", "bogus"]
WEIRD = ["", "0", "-1", "99999999999999999999", "x", "%00", "%ff%fe", "a b", "detail", "public",
         "{6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52}", "6b1f0c1e6f0e4c439d8e0c3f7d1b9a52", "..",
         "%2e%2e", "name,uuid", "extra", "true", "desc", "%C3%A9", "a" * 300, "%2F", "rnd-board"]
VALUES = [None, True, False, 0, -1, 2 ** 63, 1.5, "", "x", "a" * 400, [], [1], {}, {"a": {}},
          "{\"k\": 1}", "yes", "TCP", [{"latitude": 5}], [{"latitude": "1", "zz": 1}]]
KEYS = ["name", "code", "location", "type", "mobile", "fleet", "extra", "uuid", "status",
        "action", "parameters", "plugin", "onboot", "port", "protocol", "description", "public",
        "callable", "dns", "zone", "email", "network", "subnet", "secure", "bogus"]


def raw_request(port, data, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            c = s.recv(65536)
            if not c:
                break
            chunks.append(c)
        return b"".join(chunks)
    finally:
        s.close()


class Robustness(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = Stack(conductors=1, api=True)
        cls.st.http("POST", "/v1/boards", body={"name": "rnd-board", "code": "RND",
                                                "location": [{}]})

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    def check(self, status, headers, parsed, data, what):
        self.assertNotEqual(status, 500, "%s -> 500 %r" % (what, data[:300]))
        self.assertFalse(status >= 500 and status not in (503, 504), "%s -> %d" % (what, status))
        if status >= 400 and not what.startswith("HEAD "):
            self.assertTrue((headers.get("content-type") or "").startswith("application/json"),
                            what)
            fault(parsed)

    def random_body(self, rnd):
        kind = rnd.random()
        if kind < 0.1:
            return None, bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 64)))
        if kind < 0.2:
            return None, b"{\"name\": " + b"[" * rnd.randint(1, 3000)
        body = {rnd.choice(KEYS): rnd.choice(VALUES) for _ in range(rnd.randint(0, 6))}
        if rnd.random() < 0.1:
            body = rnd.choice(VALUES)
        return body, None

    def test_random_requests_never_500(self):
        rnd = random.Random(20261125)
        sent = 0
        for i in range(2500):
            path = rnd.choice(PATHS)
            for k in ("{b}", "{p}", "{s}", "{f}", "{u}"):
                path = path.replace(k, rnd.choice(WEIRD) or "x")
            if rnd.random() < 0.5:
                path += "?" + "&".join("%s=%s" % (rnd.choice(QUERY), rnd.choice(WEIRD))
                                       for _ in range(rnd.randint(1, 4)))
            method = rnd.choice(METHODS)
            body, raw = self.random_body(rnd)
            headers = {}
            if rnd.random() < 0.2:
                headers["X-OpenStack-Iotronic-API-Version"] = rnd.choice(["1.0", "1.9", "x", "latest"])
            if rnd.random() < 0.1:
                headers["Content-Type"] = rnd.choice(["text/plain", "application/json; charset=utf-8",
                                                      "application/octet-stream"])
            if rnd.random() < 0.3:
                headers["X-Roles"] = rnd.choice(["admin", "admin_iot_project", "user_iot", ""])
            try:
                s, h, j, data = self.st.http(method, path, body=body, headers=headers, raw=raw)
            except Exception as e:  # a malformed target the client library refuses
                if "URL can't contain control characters" in str(e) or "Invalid" in str(e):
                    continue
                raise
            sent += 1
            self.check(s, h, j, data, "%s %s %r" % (method, path, body if raw is None else raw[:40]))
        self.assertGreater(sent, 2000)  # the client refuses only a few targets itself
        s, _, j, _ = self.st.http("GET", "/v1/boards/rnd-board")
        self.assertEqual((s, j["name"]), (200, "rnd-board"))
        self.assertTrue(self.st.api.alive())

    def test_malformed_http_is_refused_cleanly(self):
        port = self.st.port
        for data in (b"GARBAGE\r\n\r\n", b"GET /v1/boards HTTP/1.1\r\nHost: x\r\n" + b"X: " +
                     b"a" * 20000 + b"\r\n\r\n", b"GET /v1/boards HTTP/9.9\r\n\r\n",
                     b"POST /v1/boards HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                     b"GET /v1/boards%zz HTTP/1.1\r\nHost: x\r\n\r\n", b"\x00\x01\x02\r\n\r\n"):
            out = raw_request(port, data)
            if out:
                status = int(out.split(b" ", 2)[1])
                # 505 is the HTTP layer's answer to an unknown HTTP version.
                self.assertTrue(400 <= status < 500 or status == 505, out[:200])
        s, _, _, _ = self.st.http("GET", "/v1/boards")
        self.assertEqual(s, 200)


if __name__ == "__main__":
    iottest.main()
