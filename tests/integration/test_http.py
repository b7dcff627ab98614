#!/usr/bin/python3
# needs: nothing
"""libiothttp through its test daemon (tests/tools/httptest), with raw
sockets and http.client: framing, keep-alive, pipelining, limits, paths,
bodies, hooks, timeouts, back-pressure, CORS, TLS, noauth and policy, and a
few thousand malformed requests that must never crash the server nor make
it answer 500."""

import hashlib
import http.client
import json
import os
import random
import re
import socket
import ssl
import subprocess
import threading
import time
import unittest

import iottest

REQID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


# ------------------------------------------------------------ raw HTTP helpers

class Response:
    def __init__(self, status, reason, headers, body, version):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value)
        self.body = body
        self.version = version

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body.decode())

    def fault(self):
        """The faultstring of either error format."""
        doc = self.json()
        if "error_message" in doc:
            doc = json.loads(doc["error_message"])
        return doc["faultstring"]


class Conn:
    """A raw client socket that can read responses one by one."""

    def __init__(self, port, timeout=10.0, tls=False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self.sock = ctx.wrap_socket(self.sock)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def read_response(self, head_only=False):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        version, status, reason = (lines[0].split(" ", 2) + [""])[:3]
        headers = [tuple(x.strip() for x in l.split(":", 1)) for l in lines[1:]]
        r = Response(int(status), reason, headers, b"", version)
        if r.status == 100:
            return r
        n = int(r.header("Content-Length") or 0)
        if head_only or r.status == 204:
            n = 0
        while len(self.buf) < n:
            self._fill()
        r.body, self.buf = self.buf[:n], self.buf[n:]
        return r

    def closed_by_peer(self, timeout=5.0):
        """True when the server closes (EOF or reset) within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def request(method, path, headers=None, body=b"", version="HTTP/1.1"):
    lines = ["%s %s %s" % (method, path, version), "Host: 127.0.0.1"]
    for k, v in (headers or {}).items():
        lines.append("%s: %s" % (k, v))
    if body:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def once(port, data, timeout=10.0):
    c = Conn(port, timeout)
    try:
        c.send(data)
        return c.read_response()
    finally:
        c.close()


# ------------------------------------------------------------------ the daemon

def start_httptest(extra=None, sections=None, style="iotronic"):
    d = iottest.tmpdir("httptest-")
    files = os.path.join(d, "files")
    spool = os.path.join(d, "spool")
    os.makedirs(files)
    os.makedirs(spool)
    port, admin = iottest.free_port(), iottest.free_port()
    conf = {
        "DEFAULT": {"auth_strategy": "noauth"},
        "httptest": {"port": port, "admin_port": admin, "files_dir": files, "spool_dir": spool,
                     "style": style, "small_max": 1024, "upload_max": 64 << 20,
                     "log_level": "info"},
    }
    conf["httptest"].update(extra or {})
    for sec, kv in (sections or {}).items():
        conf.setdefault(sec, {}).update(kv)
    path = iottest.write_conf(os.path.join(d, "httptest.conf"), conf)
    daemon = iottest.Daemon("httptest", ["--config-file", path], logdir=d)
    daemon.start(wait_for_port=port)
    daemon.port, daemon.admin, daemon.dir = port, admin, d
    daemon.files, daemon.spool = files, spool
    return daemon


class HttpCase(unittest.TestCase):
    extra = None
    sections = None
    style = "iotronic"

    @classmethod
    def setUpClass(cls):
        cls.d = start_httptest(cls.extra, cls.sections, cls.style)
        cls.port = cls.d.port

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        log = cls.d.log_text()
        assert "AddressSanitizer" not in log and "runtime error" not in log, log[-4000:]
        assert rc in (0, None), "httptest exited with %s\n%s" % (rc, cls.d.tail())

    def client(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def get(self, path, headers=None):
        return once(self.port, request("GET", path, headers))

    def assertAlive(self):
        r = self.get("/echo/alive")
        self.assertEqual(r.status, 200)
        self.assertTrue(self.d.alive())


# ------------------------------------------------------------------ the tests

class Framing(HttpCase):
    def test_keep_alive_serves_many_requests_on_one_connection(self):
        c = self.client()
        c.request("GET", "/echo/one")
        first = c.sock
        for i in range(50):
            if i:
                c.request("GET", "/echo/%d" % i)
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.getheader("Connection"), None)
            r.read()
        self.assertIs(c.sock, first)
        c.close()

    def test_pipelined_requests_are_answered_in_order(self):
        c = Conn(self.port)
        c.send(request("GET", "/echo/1") + request("GET", "/slow?ms=100") +
               request("POST", "/echo/3", body=b"xyz") + request("GET", "/echo/4"))
        bodies = [c.read_response().json() for _ in range(4)]
        self.assertEqual(bodies[0]["params"], {"a": "1"})
        self.assertEqual(bodies[1], {"slept": 100})
        self.assertEqual(bodies[2]["body"], "xyz")
        self.assertEqual(bodies[3]["params"], {"a": "4"})
        c.close()

    def test_head_is_get_without_a_body(self):
        c = Conn(self.port)
        c.send(request("HEAD", "/echo/x") + request("GET", "/echo/y"))
        h = c.read_response(head_only=True)
        self.assertEqual(h.status, 200)
        self.assertGreater(int(h.header("Content-Length")), 100)
        self.assertEqual(h.body, b"")
        g = c.read_response()
        self.assertEqual(g.json()["params"], {"a": "y"})
        c.close()

    def test_unknown_path_404_and_wrong_method_405_with_allow(self):
        r = self.get("/no/such/thing")
        self.assertEqual(r.status, 404)
        self.assertTrue(r.header("Content-Type").startswith("application/json"))
        self.assertEqual(r.fault(), "The resource could not be found.")
        self.assertIsInstance(json.loads(r.body)["error_message"], str)
        r = once(self.port, request("PUT", "/echo"))
        self.assertEqual(r.status, 405)
        self.assertEqual(r.header("Allow"), "GET, HEAD, POST")
        self.assertEqual(r.fault(), "The method PUT is not allowed for this resource.")
        r = once(self.port, request("PROPFIND", "/echo/x"))
        self.assertEqual(r.status, 405)
        self.assertEqual(r.fault(), "The method PROPFIND is not allowed for this resource.")
        self.assertEqual(r.header("Allow"), "GET, HEAD, POST, PUT, PATCH, DELETE")

    def test_every_response_has_content_length_except_204(self):
        r = self.get("/status/204")
        self.assertEqual(r.status, 204)
        self.assertIsNone(r.header("Content-Length"))
        self.assertIsNone(r.header("Content-Type"))
        for code in (200, 201, 400, 409, 503):
            r = self.get("/status/%d" % code)
            self.assertEqual(r.status, code)
            self.assertEqual(int(r.header("Content-Length")), len(r.body))

    def test_request_id_header_is_a_fresh_uuid4(self):
        a, b = self.get("/echo/a"), self.get("/nope")
        self.assertRegex(a.header("Openstack-Request-Id"), REQID)
        self.assertRegex(b.header("Openstack-Request-Id"), REQID)
        self.assertNotEqual(a.header("Openstack-Request-Id"), b.header("Openstack-Request-Id"))
        self.assertEqual(a.json()["request_id"], a.header("Openstack-Request-Id"))
        log = self.d.log_text()
        self.assertIn("req=%s http GET /echo/a status=200" % a.header("Openstack-Request-Id"),
                      log)

    def test_http10_closes_unless_keep_alive(self):
        c = Conn(self.port)
        c.send(request("GET", "/echo/a", version="HTTP/1.0"))
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Connection"), "close")
        self.assertTrue(c.closed_by_peer())
        c = Conn(self.port)
        c.send(request("GET", "/echo/a", {"Connection": "keep-alive"}, version="HTTP/1.0"))
        r = c.read_response()
        self.assertEqual(r.header("Connection"), "keep-alive")
        c.send(request("GET", "/echo/b", {"Connection": "keep-alive"}, version="HTTP/1.0"))
        self.assertEqual(c.read_response().json()["params"], {"a": "b"})
        c.close()

    def test_connection_close_is_honoured(self):
        c = Conn(self.port)
        c.send(request("GET", "/echo/a", {"Connection": "close"}))
        self.assertEqual(c.read_response().header("Connection"), "close")
        self.assertTrue(c.closed_by_peer())

    def test_chunked_request_body(self):
        c = Conn(self.port)
        body = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n"
        c.send(b"POST /echo/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
        r = c.read_response()
        self.assertEqual(r.json()["body"], "hello world")
        c.send(request("GET", "/echo/after"))
        self.assertEqual(c.read_response().json()["params"], {"a": "after"})
        c.close()

    def test_expect_100_continue(self):
        c = Conn(self.port)
        c.send(b"POST /echo/e HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
               b"Expect: 100-continue\r\n\r\n")
        interim = c.read_response()
        self.assertEqual(interim.status, 100)
        c.send(b"body")
        self.assertEqual(c.read_response().json()["body"], "body")
        c.close()

    def test_absolute_form_target(self):
        r = once(self.port, b"GET http://example.org/echo/abs?x=1 HTTP/1.1\r\nHost: h\r\n\r\n")
        self.assertEqual(r.json()["params"], {"a": "abs"})
        self.assertEqual(r.json()["query"], [["x", "1"]])

    def test_base_url_comes_from_host(self):
        r = self.get("/echo/b")
        self.assertEqual(r.json()["base_url"], "http://127.0.0.1")
        r = once(self.port, b"GET /echo/b HTTP/1.1\r\nHost: bad/host\r\n\r\n")
        self.assertEqual(r.status, 400)


class Limits(HttpCase):
    extra = {"max_queued": 2, "workers": 1}

    def test_413_when_content_length_is_over_the_route_limit_without_reading(self):
        c = Conn(self.port)
        c.send(b"POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n" +
               b"x" * 1000)
        r = c.read_response()
        self.assertEqual(r.status, 413)
        self.assertEqual(r.fault(), "Request is too large.")
        self.assertEqual(r.header("Connection"), "close")
        self.assertTrue(c.closed_by_peer())

    def test_413_for_a_chunked_body_growing_past_the_limit(self):
        c = Conn(self.port)
        c.send(b"POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        r = None
        try:
            for _ in range(100):
                c.send(b"200\r\n" + b"y" * 512 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = c.read_response()
        self.assertEqual(r.status, 413)

    def test_413_message_of_the_route(self):
        r = once(self.port, b"PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                 % ((64 << 20) + 1))
        self.assertEqual(r.status, 413)
        self.assertEqual(r.fault(), "Upload exceeds 67108864 bytes.")

    def test_a_body_under_the_limit_is_fine(self):
        r = once(self.port, request("POST", "/small", body=b"z" * 1024))
        self.assertEqual(r.json(), {"len": 1024})

    def test_431_for_headers_over_16k(self):
        c = Conn(self.port)
        big = "X-Big: " + "a" * 17000
        c.send(("GET /echo/x HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n" % big).encode())
        r = c.read_response()
        self.assertEqual(r.status, 431)
        self.assertEqual(r.fault(), "Request header fields too large.")
        self.assertEqual(r.header("X-Test-Hook"), "431")
        self.assertTrue(c.closed_by_peer())

    def test_431_for_an_endless_head_without_a_newline(self):
        c = Conn(self.port)
        try:
            c.send(b"GET /" + b"a" * 20000)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assertEqual(c.read_response().status, 431)

    def test_431_for_too_many_header_lines(self):
        lines = "".join("X-H%d: v\r\n" % i for i in range(150))
        r = once(self.port, ("GET /echo/x HTTP/1.1\r\nHost: x\r\n%s\r\n" % lines).encode())
        self.assertEqual(r.status, 431)

    def test_headers_just_under_the_limit_pass(self):
        r = self.get("/echo/x", {"X-Big": "b" * 16000})
        self.assertEqual(r.status, 200)

    def test_503_at_once_when_the_worker_queue_is_full(self):
        results = []

        def call():
            try:
                r = once(self.port, request("GET", "/slow?ms=400"), timeout=20)
                results.append((r.status, r.fault() if r.status >= 400 else None))
            except Exception as e:  # noqa: BLE001
                results.append((0, str(e)))

        t0 = time.monotonic()
        threads = [threading.Thread(target=call) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(s for s, _ in results)
        self.assertIn(200, statuses)
        self.assertIn(503, statuses, results)
        self.assertEqual(set(statuses), {200, 503}, results)
        self.assertIn((503, "Resource temporarily unavailable, please retry."), results)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertAlive()


class Paths(HttpCase):
    def echo(self, path):
        r = self.get(path)
        self.assertEqual(r.status, 200, path)
        return r.json()

    def test_segments_are_percent_decoded_once_after_splitting(self):
        e = self.echo("/echo/a%2Fb/x")
        self.assertEqual(e["params"], {"a": "a/b", "b": "x"})
        self.assertEqual(e["path"], "/echo/a%2Fb/x")
        self.assertEqual(self.echo("/echo/caf%C3%A9")["params"], {"a": "café"})
        self.assertEqual(self.echo("/echo/%2541")["params"], {"a": "%41"})
        self.assertEqual(self.echo("/echo/a+b")["params"], {"a": "a+b"})
        self.assertEqual(self.echo("/echo/a.json")["params"], {"a": "a.json"})

    def test_malformed_escapes_are_400(self):
        for p in ("/echo/%zz", "/echo/%4", "/echo/%00", "/echo/x?a=%"):
            r = self.get(p)
            self.assertEqual(r.status, 400, p)
            self.assertEqual(r.fault(), "Malformed HTTP request.")

    def test_one_trailing_slash_is_ignored(self):
        self.assertEqual(self.echo("/echo/x/")["params"], {"a": "x"})
        self.assertEqual(self.echo("/echo/")["segments"], ["echo"])
        self.assertEqual(self.get("/echo/x//").status, 404)
        self.assertEqual(self.get("/").status, 200)

    def test_no_dot_segment_or_slash_normalisation(self):
        self.assertEqual(self.echo("/echo/../x")["params"], {"a": "..", "b": "x"})
        self.assertEqual(self.get("/echo//x").status, 404)
        self.assertEqual(self.get("/./echo/x").status, 404)

    def test_literal_segment_beats_parameter(self):
        self.assertEqual(self.get("/echo/detail").json(), {"detail": True})
        e = self.echo("/echo/detail/plugins/p1")
        self.assertEqual(e["params"], {"a": "detail", "b": "p1"})

    def test_query_parameters_decoded_in_order_with_repeats(self):
        e = self.echo("/echo/q?b=1&a=x+y&b=2&flag&&c=%26%3D&d=")
        self.assertEqual(e["query"], [["b", "1"], ["a", "x y"], ["b", "2"], ["flag", ""],
                                      ["c", "&="], ["d", ""]])

    def test_rewrite_hook(self):
        e = self.echo("/alias/zz")
        self.assertEqual(e["path"], "/echo/zz")
        self.assertEqual(e["params"], {"a": "zz"})

    def test_before_hook_and_headers_hook(self):
        r = self.get("/echo/x", {"X-Test-Reject": "1"})
        self.assertEqual(r.status, 406)
        self.assertEqual(r.fault(), "Rejected by the before hook.")
        self.assertEqual(r.header("X-Test-Hook"), "406")
        # The before hook runs before 404/405: IoTronic's 406 on unknown paths.
        self.assertEqual(self.get("/zzz", {"X-Test-Reject": "1"}).status, 406)
        self.assertEqual(self.get("/echo/x").header("X-Test-Hook"), "200")

    def test_header_lookup_is_case_insensitive_and_media_type_parsed(self):
        r = once(self.port, request("POST", "/echo/m", {"content-TYPE": "Application/JSON; "
                                                        "charset=utf-8"}, body=b"{}"))
        self.assertEqual(r.json()["media_type"], "application/json")


class Malformed(HttpCase):
    extra = {"body_timeout_ms": 300, "header_timeout_ms": 1000}
    BAD = [
        b"GARBAGE\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\n\r\n",
        b"GET  / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/x.y\r\n\r\n",
        b"GET / FTP/1.1\r\n\r\n",
        b"GET noslash HTTP/1.1\r\n\r\n",
        b"GET /a b HTTP/1.1\r\n\r\n",
        b"G(T / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        b"GET / HTTP/1.1\r\n: empty-name\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET /\x00 HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: \x00\r\n\r\n",
        b"GET / HTTP/1.1\rX: y\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcdeXX",
        b"GET /" + b"%" * 10 + b" HTTP/1.1\r\n\r\n",
    ]

    def test_bad_requests_get_4xx_or_5xx_in_the_service_format(self):
        for data in self.BAD:
            c = Conn(self.port, timeout=5)
            c.send(data)
            r = c.read_response()
            self.assertIn(r.status, (400, 431, 501, 505), data)
            self.assertTrue(r.fault())  # a well-formed error body
            self.assertEqual(r.header("Connection"), "close", data)
            c.close()
        self.assertAlive()

    def test_specific_statuses(self):
        self.assertEqual(once(self.port, b"GET / HTTP/2.0\r\n\r\n").status, 505)
        self.assertEqual(once(self.port, b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n")
                         .status, 501)
        self.assertEqual(once(self.port, b"POST /echo HTTP/1.1\r\nExpect: tea\r\n\r\n").status,
                         417)
        # An unknown but well-formed method is routed: 405 or 404, never 400/500.
        self.assertEqual(once(self.port, b"BREW /echo HTTP/1.1\r\n\r\n").status, 405)
        self.assertEqual(once(self.port, b"BREW /none HTTP/1.1\r\n\r\n").status, 404)

    def test_leading_empty_lines_and_bare_lf_are_tolerated(self):
        r = once(self.port, b"\r\n\r\nGET /echo/lf HTTP/1.1\nHost: x\n\n")
        self.assertEqual(r.json()["params"], {"a": "lf"})

    def one_random(self, data, statuses, failures):
        try:
            c = Conn(self.port, timeout=0.3)
            c.send(data)
            if not data.endswith(b"\r\n\r\n"):
                # Incomplete: say so, and the server gives up on us at once.
                c.sock.shutdown(socket.SHUT_WR)
            try:
                r = c.read_response()
                statuses[r.status] = statuses.get(r.status, 0) + 1
                if r.status == 500 or (r.status >= 400 and not r.fault()):
                    failures.append(data)
            except (socket.timeout, EOFError, ConnectionResetError, ValueError, IndexError):
                pass
            c.close()
        except OSError:
            pass

    def test_thousands_of_random_requests_never_crash_nor_500(self):
        rnd = random.Random(1234)
        pieces = [b"GET", b"POST", b"PUT", b" ", b"/", b"/echo", b"/echo/", b"%", b"%2F",
                  b"?", b"&", b"=", b"HTTP/1.1", b"HTTP/1.0", b"\r\n", b"\n", b"\r", b":",
                  b"Content-Length: ", b"Transfer-Encoding: chunked", b"0", b"5", b"ff",
                  b"Host: h", b"\x00", b"\xff", b"X", b"\t", b"(", b"{", b"Expect: 100-continue"]
        work = []
        for i in range(3000):
            if i % 3 == 0:
                data = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 200)))
            else:
                data = b"".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 40)))
            work.append(data + (b"\r\n\r\n" if i % 2 else b""))
        statuses, failures = {}, []

        def run(part):
            for data in part:
                self.one_random(data, statuses, failures)

        threads = [threading.Thread(target=run, args=(work[k::16],)) for k in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])
        self.assertTrue(self.d.alive())
        self.assertAlive()
        self.assertGreater(sum(statuses.values()), 1000, statuses)
        self.assertNotIn(500, statuses)


class Timeouts(HttpCase):
    extra = {"header_timeout_ms": 800, "keepalive_timeout_ms": 1500, "body_timeout_ms": 800}

    def test_slowloris_head_times_out_from_its_first_byte(self):
        c = Conn(self.port)
        t0 = time.monotonic()
        c.send(b"GET /echo/x HTTP/1.1\r\n")
        for _ in range(3):
            time.sleep(0.2)
            try:
                c.send(b"X-A: b\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
        self.assertTrue(c.closed_by_peer(3))
        self.assertLess(time.monotonic() - t0, 2.5)
        self.assertAlive()

    def test_a_stalled_body_times_out(self):
        c = Conn(self.port)
        c.send(b"POST /echo/x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        self.assertTrue(c.closed_by_peer(3))

    def test_idle_keep_alive_connection_is_closed(self):
        c = Conn(self.port)
        c.send(request("GET", "/echo/x"))
        self.assertEqual(c.read_response().status, 200)
        t0 = time.monotonic()
        self.assertTrue(c.closed_by_peer(4))
        self.assertGreater(time.monotonic() - t0, 1.0)

    def test_a_slow_handler_is_not_cut_by_timeouts(self):
        r = once(self.port, request("GET", "/slow?ms=2000"), timeout=10)
        self.assertEqual(r.json(), {"slept": 2000})


class Concurrency(HttpCase):
    extra = {"workers": 4}

    def test_concurrent_clients(self):
        ids, errors = [], []

        def run(k):
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                for i in range(40):
                    c.request("GET", "/echo/%d/%d" % (k, i))
                    r = c.getresponse()
                    body = json.loads(r.read())
                    if r.status != 200 or body["params"] != {"a": str(k), "b": str(i)}:
                        errors.append((k, i, r.status))
                    ids.append(r.getheader("Openstack-Request-Id"))
                c.close()
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

        threads = [threading.Thread(target=run, args=(k,)) for k in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(ids), 32 * 40)
        self.assertEqual(len(set(ids)), len(ids))

    def test_many_open_connections(self):
        conns = [Conn(self.port) for _ in range(300)]
        for i, c in enumerate(conns):
            c.send(request("GET", "/echo/%d" % i))
        for i, c in enumerate(conns):
            self.assertEqual(c.read_response().json()["params"], {"a": str(i)})
            c.close()

    def test_client_vanishing_mid_request_is_harmless(self):
        for _ in range(20):
            c = Conn(self.port)
            c.send(request("GET", "/slow?ms=50"))
            c.close()
        for _ in range(20):
            c = Conn(self.port)
            c.send(b"PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" +
                   b"q" * 300000)
            c.close()
        time.sleep(0.5)
        self.assertAlive()
        deadline = time.monotonic() + 5
        while os.listdir(self.d.spool) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(os.listdir(self.d.spool), [])


class ConnectionLimit(HttpCase):
    extra = {"max_connections": 5}

    def open_connections(self):
        text = once(self.d.admin, request("GET", "/metrics")).body.decode()
        m = re.search(r'^http_connections_open\{server="api"\} (\d+)$', text, re.M)
        return int(m.group(1)) if m else 0

    def test_connections_over_the_limit_are_closed(self):
        # The harness's own probe of the port may not be closed yet.
        iottest.wait_until(lambda: self.open_connections() == 0, what="no open connection")
        held = [Conn(self.port) for _ in range(5)]
        for c in held:
            c.send(request("GET", "/echo/held"))
            self.assertEqual(c.read_response().status, 200)
        extra = Conn(self.port)
        self.assertTrue(extra.closed_by_peer(3))
        held.pop().close()
        time.sleep(0.2)
        self.assertEqual(self.get("/echo/again").status, 200)
        for c in held:
            c.close()
        metrics = once(self.d.admin, request("GET", "/metrics")).body.decode()
        self.assertIn('http_rejected_total{server="api",reason="connections"}', metrics)


class Bodies(HttpCase):
    def upload(self, data, chunked=False, query=""):
        c = self.client()
        if chunked:
            def gen():
                for i in range(0, len(data), 100000):
                    yield data[i:i + 100000]
            c.request("PUT", "/upload" + query, body=gen(), encode_chunked=True)
        else:
            c.request("PUT", "/upload" + query, body=data)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, json.loads(body)

    def test_streaming_upload_is_hashed_and_the_spool_file_removed(self):
        data = os.urandom(20 << 20)
        for chunked in (False, True):
            status, doc = self.upload(data, chunked)
            self.assertEqual(status, 200)
            self.assertEqual(doc["size"], len(data))
            self.assertEqual(doc["sha256"], hashlib.sha256(data).hexdigest())
            self.assertTrue(doc["spooled"])
            self.assertEqual(os.listdir(self.d.spool), [])

    def test_empty_upload(self):
        status, doc = self.upload(b"x"[:0] or b"", chunked=True)
        self.assertEqual(status, 200)
        self.assertEqual(doc["size"], 0)
        self.assertEqual(doc["sha256"], hashlib.sha256(b"").hexdigest())

    def test_claimed_upload_is_kept_and_served_with_ranges(self):
        data = os.urandom(3 * 1024 * 1024 + 17)
        status, doc = self.upload(data, query="?keep=blob1")
        self.assertEqual((status, doc["kept"]), (200, True))
        c = self.client()
        c.request("GET", "/files/blob1")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Accept-Ranges"), "bytes")
        self.assertEqual(r.read(), data)
        for rng, off, end in (("bytes=0-0", 0, 0), ("bytes=100-199", 100, 199),
                              ("bytes=3145700-", 3145700, len(data) - 1),
                              ("bytes=-10", len(data) - 10, len(data) - 1),
                              ("bytes=5-99999999", 5, len(data) - 1)):
            c.request("GET", "/files/blob1", headers={"Range": rng})
            r = c.getresponse()
            self.assertEqual(r.status, 206, rng)
            self.assertEqual(r.getheader("Content-Range"), "bytes %d-%d/%d"
                             % (off, end, len(data)))
            self.assertEqual(r.read(), data[off:end + 1], rng)
        c.request("GET", "/files/blob1", headers={"Range": "bytes=%d-" % len(data)})
        r = c.getresponse()
        self.assertEqual(r.status, 416)
        self.assertEqual(r.getheader("Content-Range"), "bytes */%d" % len(data))
        r.read()
        c.request("GET", "/files/blob1", headers={"Range": "bytes=1-2,5-6"})
        r = c.getresponse()
        self.assertEqual(r.status, 200)  # several ranges: ignored
        self.assertEqual(len(r.read()), len(data))
        c.request("HEAD", "/files/blob1")
        r = c.getresponse()
        self.assertEqual(int(r.getheader("Content-Length")), len(data))
        self.assertEqual(r.read(), b"")
        c.close()

    def test_missing_file_is_404(self):
        self.assertEqual(self.get("/files/nope").status, 404)

    def test_slow_reader_gets_the_whole_file(self):
        data = os.urandom(16 << 20)
        with open(os.path.join(self.d.files, "big"), "wb") as f:
            f.write(data)
        s = socket.create_connection(("127.0.0.1", self.port), timeout=20)
        s.sendall(request("GET", "/files/big") + request("GET", "/echo/after"))
        # Not reading for a while fills the socket buffers: the server must
        # stop there and resume, in order, when we read.
        time.sleep(1.0)
        c = Conn.__new__(Conn)
        c.sock, c.buf = s, b""
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, data)
        self.assertEqual(c.read_response().json()["params"], {"a": "after"})
        s.close()


class Shutdown(unittest.TestCase):
    def test_sigterm_during_uploads_downloads_and_handlers_is_clean(self):
        d = start_httptest({"workers": 1})
        with open(os.path.join(d.files, "blob"), "wb") as f:
            f.write(os.urandom(32 << 20))
        up = Conn(d.port)
        up.send(b"PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
        slow = Conn(d.port)
        slow.send(request("GET", "/slow?ms=1500"))
        down = Conn(d.port)
        down.send(request("GET", "/files/blob"))
        try:
            for _ in range(100):
                up.send(b"x" * 65536)
        except OSError:
            pass
        rc = d.stop()
        log = d.log_text()
        self.assertEqual(rc, 0, log[-3000:])
        self.assertNotIn("AddressSanitizer", log)
        self.assertNotIn("runtime error", log)
        self.assertEqual(os.listdir(d.spool), [])
        for c in (up, slow, down):
            c.close()


class Cors(HttpCase):
    sections = {"cors": {"allowed_origin": "https://ui.example, https://b.example",
                         "allow_headers": "X-Auth-Token, X-OpenStack-Iotronic-API-Version",
                         "expose_headers": "X-OpenStack-Iotronic-API-Version",
                         "max_age": 3600}}

    def test_preflight_for_an_allowed_origin(self):
        r = once(self.port, request("OPTIONS", "/echo/x", {
            "Origin": "https://ui.example", "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "X-Auth-Token, content-type"}))
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Access-Control-Allow-Origin"), "https://ui.example")
        self.assertEqual(r.header("Access-Control-Allow-Methods"), "PATCH")
        self.assertEqual(r.header("Access-Control-Allow-Headers"), "X-Auth-Token, content-type")
        self.assertEqual(r.header("Access-Control-Max-Age"), "3600")

    def test_preflight_refusals_carry_no_cors_headers(self):
        for origin, method, hdrs in (("https://evil.example", "GET", ""),
                                     ("https://ui.example", "TRACE", ""),
                                     ("https://ui.example", "GET", "X-Secret")):
            h = {"Origin": origin, "Access-Control-Request-Method": method}
            if hdrs:
                h["Access-Control-Request-Headers"] = hdrs
            r = once(self.port, request("OPTIONS", "/echo/x", h))
            self.assertEqual(r.status, 200)
            self.assertIsNone(r.header("Access-Control-Allow-Origin"))

    def test_actual_requests_and_errors_get_cors_headers(self):
        for path in ("/echo/x", "/nope"):
            r = self.get(path, {"Origin": "https://b.example"})
            self.assertEqual(r.header("Access-Control-Allow-Origin"), "https://b.example")
            self.assertEqual(r.header("Access-Control-Expose-Headers"),
                             "X-OpenStack-Iotronic-API-Version")
        self.assertIsNone(self.get("/echo/x", {"Origin": "https://c.example"})
                          .header("Access-Control-Allow-Origin"))

    def test_preflight_keeps_the_connection(self):
        c = Conn(self.port)
        c.send(request("OPTIONS", "/echo/x", {"Origin": "https://ui.example",
                                             "Access-Control-Request-Method": "GET"}))
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("Connection"))
        self.assertIsNone(r.header("Access-Control-Expose-Headers"))
        c.send(request("GET", "/echo/again"))
        self.assertEqual(c.read_response().json()["params"], {"a": "again"})
        c.close()

    def test_options_without_cors_request_is_routed(self):
        self.assertEqual(once(self.port, request("OPTIONS", "/echo/x")).status, 405)


class NoAuth(HttpCase):
    def test_identity_from_headers(self):
        r = self.get("/whoami", {"X-User-Id": "u1", "X-Project-Id": "p1",
                                 "X-Roles": " admin_iot_project ,, user_iot ",
                                 "X-Project-Name": "proj", "X-Auth-Token": "ignored"})
        doc = r.json()
        self.assertEqual((doc["user_id"], doc["project_id"], doc["project_name"]),
                         ("u1", "p1", "proj"))
        self.assertEqual(doc["roles"], ["admin_iot_project", "user_iot"])
        self.assertFalse(doc["is_admin"])
        self.assertTrue(self.get("/whoami", {"X-Roles": "Admin"}).json()["is_admin"])

    def test_no_headers_means_nulls(self):
        doc = self.get("/whoami").json()
        self.assertEqual((doc["user_id"], doc["project_id"], doc["roles"]), (None, None, []))

    def test_policy_not_enforced_in_noauth(self):
        r = self.get("/policy/test:get?owner=someone", {"X-User-Id": "u1"})
        self.assertEqual(r.json(), {"allowed": True, "enforced": False})

    def test_public_routes_flag_is_public_api(self):
        self.assertEqual(self.get("/v1").json(), {"id": "v1"})
        self.assertFalse(self.get("/echo/x").json()["identity"]["is_public_api"])


class Policy(HttpCase):
    sections = {"DEFAULT": {"noauth_enforce_policy": "true"},
                "oslo_policy": {"policy_file": "policy.json"}}

    def setUp(self):
        self.pfile = os.path.join(self.d.dir, "policy.json")

    def check(self, rule, user, roles="", query=""):
        return self.get("/policy/%s%s" % (rule, query), {"X-User-Id": user, "X-Roles": roles,
                                                          "X-Project-Id": "p1"})

    def write_policy(self, text):
        tmp = self.pfile + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.pfile)

    def test_owner_rule_with_targets(self):
        self.assertEqual(self.check("test:get", "u1", query="?owner=u1").status, 200)
        r = self.check("test:get", "u2", query="?owner=u1")
        self.assertEqual(r.status, 403)
        self.assertEqual(r.fault(), "Access was denied to the following resource: test:get")
        self.assertEqual(self.check("test:get", "u2", "admin", "?owner=u1").status, 200)
        # A null owner is nobody's; a missing key makes the check false.
        self.assertEqual(self.check("test:get", "u1", query="?owner=null").status, 403)
        self.assertEqual(self.check("test:get", "u1").status, 403)
        self.assertEqual(self.check("is_member", "u1", "member", "?project_id=p1").status, 200)
        self.assertEqual(self.check("is_member", "u1", "member", "?project_id=p2").status, 403)

    def test_unknown_rule_is_denied(self):
        self.assertEqual(self.check("no:such:rule", "u1", "admin").status, 403)

    def test_file_overrides_reload_and_broken_files_keep_the_rules(self):
        try:
            self.write_policy('{"test:get": "role:reader"}')
            iottest.wait_until(lambda: self.check("test:get", "u9", "reader").status == 200,
                               timeout=5, what="policy reload")
            self.assertEqual(self.check("test:get", "u1", query="?owner=u1").status, 403)
            self.write_policy('{"test:get": "role:reader or (("}')
            time.sleep(1.0)
            self.assertEqual(self.check("test:get", "u9", "reader").status, 200)
            self.assertIn("policy: keeping the previous rules", self.d.log_text())
            self.write_policy('"test:get": "role:yaml_role"\n# a comment\n')
            iottest.wait_until(lambda: self.check("test:get", "u9", "yaml_role").status == 200,
                               timeout=5, what="YAML policy")
        finally:
            if os.path.exists(self.pfile):
                os.unlink(self.pfile)
        iottest.wait_until(lambda: self.check("test:get", "u1", query="?owner=u1").status ==
                           200, timeout=5, what="defaults after removal")


class QinlingStyle(HttpCase):
    style = "qinling"

    def test_flat_errors_and_request_id_header(self):
        r = self.get("/nope")
        self.assertEqual(r.json(), {"faultcode": "Client", "faultstring": "Resource not found.",
                                    "debuginfo": None})
        self.assertRegex(r.header("X-Openstack-Request-Id"), REQID)
        self.assertIsNone(r.header("Openstack-Request-Id"))
        r = once(self.port, request("DELETE", "/echo"))
        self.assertEqual(r.fault(), "Method not allowed.")
        self.assertEqual(self.get("/status/502").json()["faultcode"], "Server")

    def test_noauth_default_project(self):
        self.assertEqual(self.get("/whoami").json()["project_id"], "default")


class Metrics(HttpCase):
    def test_admin_listener_serves_prometheus_text(self):
        self.get("/echo/m")
        self.get("/nope")
        r = once(self.d.admin, request("GET", "/metrics"))
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("Content-Type").startswith("text/plain; version=0.0.4"))
        text = r.body.decode()
        self.assertIn('http_requests_total{server="api",route="/echo/{a}",method="GET",'
                      'status="200"}', text)
        self.assertIn('route="none",method="GET",status="404"', text)
        self.assertIn("# TYPE http_request_duration_seconds histogram", text)
        self.assertIn('http_connections_open{server="api"}', text)
        self.assertIn("worker_queue_depth ", text)
        self.assertEqual(once(self.d.admin, request("GET", "/nope")).status, 404)


class Tls(HttpCase):
    @classmethod
    def setUpClass(cls):
        d = iottest.tmpdir("tls-")
        cls.cert, cls.key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-keyout", cls.key, "-out", cls.cert],
                       check=True, capture_output=True)
        cls.extra = {"cert_file": cls.cert, "key_file": cls.key}
        super().setUpClass()

    def test_https_requests_keep_alive_and_uploads(self):
        c = Conn(self.port, tls=True)
        c.send(request("GET", "/echo/t") + request("POST", "/echo/u", body=b"tls!"))
        self.assertEqual(c.read_response().json()["base_url"], "https://127.0.0.1")
        self.assertEqual(c.read_response().json()["body"], "tls!")
        c.close()
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.check_hostname = False
        h = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=10)
        data = os.urandom(2 << 20)
        h.request("PUT", "/upload", body=data)
        r = h.getresponse()
        self.assertEqual(json.loads(r.read())["sha256"], hashlib.sha256(data).hexdigest())
        h.close()

    def test_plain_http_on_the_tls_port_is_refused(self):
        c = Conn(self.port)
        c.send(request("GET", "/echo/x"))
        self.assertTrue(c.closed_by_peer(5))
        self.assertEqual(Conn(self.port, tls=True).sock.version() is not None, True)


if __name__ == "__main__":
    iottest.main()
