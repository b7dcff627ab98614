#!/usr/bin/python3
"""python-iotronicclient 0.4.7 compatibility (iotronic-api-v1.md 6).

Debian has no python3-iotronicclient, so this suite replays its exact HTTP
behaviour (6.2-6.7): the endpoint trimming, the 1.9 -> 406 -> 1.0 negotiation
with the cached choice, the headers of every request (Content-Type on GETs,
application/octet-stream on DELETEs), URL building with the trailing slash
before the query, the bodies of each CLI command (strings for ints and
booleans), following `next` by stripping scheme and host, reading nested
errors, and re-sending on 409/503."""

import http.client
import json
import os
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402
from test_api_support import Stack  # noqa: E402


class ClientError(Exception):
    pass


class Client:
    """The HTTP behaviour of iotronicclient's HTTPClient in token mode."""

    def __init__(self, endpoint, token="anything", retries=5, interval=0.05):
        self.endpoint = endpoint.rstrip("/v1")  # a character-set strip, as the client does
        self.token = token
        self.retries = retries
        self.interval = interval
        self.version = None
        self.sent = []   # (method, url, headers, body) of every attempt

    def _once(self, method, url, body, version):
        parts = urllib.parse.urlsplit(urllib.parse.urljoin(self.endpoint, url))
        headers = {"User-Agent": "python-iotronicclient", "X-Auth-Token": self.token,
                   "X-OpenStack-Iotronic-API-Version": version}
        if method == "DELETE":
            headers["Content-Type"] = "application/octet-stream"
        else:
            headers["Content-Type"] = "application/json"
            headers["Accept"] = "application/json"
        data = json.dumps(body).encode() if body is not None else None
        self.sent.append((method, parts.path + ("?" + parts.query if parts.query else ""),
                          headers, body))
        c = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        c.request(method, parts.path + ("?" + parts.query if parts.query else ""), body=data,
                  headers=headers)
        r = c.getresponse()
        raw = r.read()
        c.close()
        return r, raw

    def request(self, method, url, body=None):
        negotiated = self.version is not None
        attempt = 0
        while True:
            r, raw = self._once(method, url, body, self.version or "1.9")
            if r.status == 406 and not negotiated:
                mx = r.getheader("X-OpenStack-Iotronic-API-Maximum-Version")
                mn = r.getheader("X-OpenStack-Iotronic-API-Minimum-Version")
                assert mx and mn, "406 without the version headers"
                chosen = min((1, 9), tuple(int(x) for x in mx.split(".")))
                chosen = max(chosen, tuple(int(x) for x in mn.split(".")))
                self.version = "%d.%d" % chosen
                negotiated = True
                continue
            if r.status in (409, 503) and attempt < self.retries:
                attempt += 1
                time.sleep(self.interval)
                continue
            break
        if r.status >= 400:
            msg = r.reason
            ctype = r.getheader("Content-Type") or ""
            if "application/json" in ctype:
                outer = json.loads(raw)
                inner = json.loads(outer["error_message"])  # must be a string (6.5)
                msg = inner.get("faultstring") or inner.get("description") or msg
            raise ClientError("%s (HTTP %d) (Request-ID: %s)" % (msg, r.status,
                                                               r.getheader("X-OpenStack-Request-Id") or r.getheader("Openstack-Request-Id")))
        if r.status in (204, 205) or "application/json" not in (r.getheader("Content-Type") or ""):
            return r, None
        return r, json.loads(raw)

    def list(self, collection, key, limit=None, detail=False, extra=()):
        q = []
        if limit:
            q.append("limit=%d" % limit)
        q += list(extra)
        path = "/v1/%s" % collection
        if detail:
            path += "/detail"
        if q:
            path += ("/" if not detail else "") + "?" + "&".join(q)
        items = []
        _, body = self.request("GET", path)
        items += body.get(key, [])
        if limit is None:
            return items
        while (limit == 0 or len(items) < limit) and body.get("next"):
            nxt = urllib.parse.urlsplit(body["next"])
            _, body = self.request("GET", nxt.path + "?" + nxt.query)
            items += body.get(key, [])
        return items[:limit] if limit else items


class ClientCompat(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The client strips trailing '/', 'v' and '1' characters from its
        # endpoint (6.2): a port ending in 1 would be cut, so avoid one.
        port = iottest.free_port()
        while str(port).endswith("1"):
            port = iottest.free_port()
        cls.st = Stack(conductors=1, api=True, extra={"api": {"max_limit": 3}}, port=port)
        cls.url = "http://127.0.0.1:%d/v1/" % cls.st.port

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    def client(self):
        return Client(self.url)

    def test_negotiation_and_headers(self):
        c = self.client()
        r, body = c.request("GET", "/v1/boards")
        self.assertEqual(r.status, 200)
        self.assertEqual([s[2]["X-OpenStack-Iotronic-API-Version"] for s in c.sent], ["1.9", "1.0"])
        self.assertEqual(c.version, "1.0")
        c.request("GET", "/v1/plugins")
        self.assertEqual(len(c.sent), 3)  # cached: no second dance

    def test_board_commands(self):
        c = self.client()
        r, b = c.request("POST", "/v1/boards", {
            "name": "cli-1", "code": "CLI1", "type": "gateway", "mobile": False,
            "extra": {"k": 1}, "location": [{"latitude": "38.1", "longitude": "15.5",
                                             "altitude": "0"}]})
        self.assertEqual((r.status, b["name"], b["extra"]), (201, "cli-1", {"k": 1}))
        r, b = c.request("GET", "/v1/boards/cli-1?fields=uuid,name,session,location")
        self.assertEqual(list(b.keys()), ["uuid", "name", "session", "links", "location"])
        r, b = c.request("PATCH", "/v1/boards/cli-1", {"type": "server", "mobile": "True",
                                                        "extra": "{\"a\": 2}"})
        self.assertEqual((b["type"], b["mobile"], b["extra"]), ("server", True, {"a": 2}))
        with self.assertRaises(ClientError) as e:
            c.request("POST", "/v1/boards/cli-1/action", {"action": "DevicePing"})
        self.assertRegex(str(e.exception), r"^Board [0-9a-f-]{36} is not connected\. \(HTTP 400\) "
                                           r"\(Request-ID: req-[0-9a-f-]{36}\)$")
        r, body = c.request("DELETE", "/v1/boards/cli-1")
        self.assertEqual((r.status, body), (204, None))
        self.assertEqual(c.sent[-1][2]["Content-Type"], "application/octet-stream")
        with self.assertRaises(ClientError) as e:
            c.request("GET", "/v1/boards/cli-1")
        self.assertIn("Board cli-1 could not be found. (HTTP 404)", str(e.exception))

    def test_board_list_with_limit_follows_next(self):
        c = self.client()
        for i in range(7):
            c.request("POST", "/v1/boards", {"name": "lst-%d" % i, "code": "L%d" % i,
                                             "type": "t", "mobile": False,
                                             "location": [{"latitude": "1", "longitude": "2",
                                                           "altitude": "3"}]})
        names = [b["name"] for b in c.list("boards", "boards", limit=5,
                                           extra=["sort_key=name", "fields=name"])]
        self.assertEqual(len(names), 5)
        self.assertEqual(names, sorted(names))
        self.assertTrue(any(p.startswith("/v1/boards/?limit=5&") for _, p, _, _ in c.sent))
        allb = [b["name"] for b in c.list("boards", "boards", limit=0, extra=["sort_key=name"])]
        self.assertEqual([n for n in allb if n.startswith("lst-")], ["lst-%d" % i for i in range(7)])
        # Without --limit: one request, max_limit items, next ignored.
        self.assertEqual(len(c.list("boards", "boards")), 3)

    def test_fleets_plugins_services(self):
        c = self.client()
        r, f = c.request("POST", "/v1/fleets", {"name": "cli-fleet", "description": ""})
        self.assertEqual(r.status, 201)
        c.request("POST", "/v1/boards", {"name": "in-fleet", "code": "INF", "type": "t",
                                         "mobile": True, "fleet": "cli-fleet",
                                         "location": [{"latitude": "1", "longitude": "2",
                                                       "altitude": "3"}]})
        _, j = c.request("GET", "/v1/fleets/cli-fleet/boards/")
        self.assertEqual([b["name"] for b in j["boards"]], ["in-fleet"])
        _, j = c.request("GET", "/v1/fleets/cli-fleet/boards/?limit=1&status=registered")
        self.assertEqual([b["name"] for b in j["boards"]], ["in-fleet"])
        r, p = c.request("POST", "/v1/plugins", {"name": "cli-plugin", "code": "print('x')\n",
                                                 "callable": False, "public": True,
                                                 "parameters": {"a": 1}})
        self.assertEqual((r.status, p["code"]), (201, "print('x')\n"))
        names = [x["name"] for x in c.list("plugins", "plugins", extra=["with_public=true"],
                                           limit=0)]
        self.assertIn("cli-plugin", names)
        _, pub = c.request("GET", "/v1/plugins/public")
        self.assertIn("cli-plugin", [x["name"] for x in pub["plugins"]])
        r, s = c.request("POST", "/v1/services", {"name": "cli-ssh", "port": "22", "protocol": "TCP"})
        self.assertEqual((r.status, s["port"]), (201, 22))
        _, j = c.request("GET", "/v1/boards/in-fleet/services")
        self.assertEqual(j, {"exposed": []})
        _, j = c.request("GET", "/v1/enabledwebservices")
        self.assertEqual(j, {"EnabledWebservices": []})

    def test_409_is_resent_identically(self):
        c = self.client()
        body = {"name": "dup-cli", "code": "DUPC", "type": "t", "mobile": False,
                "location": [{"latitude": "1", "longitude": "2", "altitude": "3"}]}
        c.request("POST", "/v1/boards", body)
        n = len(c.sent)
        with self.assertRaises(ClientError) as e:
            c.request("POST", "/v1/boards", body)
        self.assertEqual(len(c.sent) - n, 6)
        self.assertIn("A board with dup-cli is already associated to another board. (HTTP 409)",
                      str(e.exception))
        self.assertEqual(self.st.sql("SELECT count(*) FROM boards WHERE name = 'dup-cli'"), [["1"]])


if __name__ == "__main__":
    iottest.main()
