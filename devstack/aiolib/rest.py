"""A small JSON-over-HTTP client for the IoTronic and deviceless REST APIs.

One keep-alive connection per client; every call returns the status, the
headers and the decoded body, and raises ApiError for an unexpected status
with the server's own message (both APIs put it in the body: IoTronic nests
it in error_message, the deviceless API has a flat "faultstring").
"""

import http.client
import json
import time
import urllib.parse


class ApiError(Exception):
    def __init__(self, method, path, status, body):
        self.status = status
        self.body = body
        super().__init__("%s %s answered %d: %s" % (method, path, status, message_of(body)))


def message_of(body):
    """The human message of an error body of either API, else the body."""
    if isinstance(body, dict):
        for key in ("faultstring", "message", "error_message", "title"):
            v = body.get(key)
            if isinstance(v, str):
                try:
                    inner = json.loads(v)
                    if isinstance(inner, dict) and "faultstring" in inner:
                        return inner["faultstring"]
                except ValueError:
                    pass
                return v
    if isinstance(body, (bytes, bytearray)):
        return body[:200].decode("utf-8", "replace")
    return str(body)[:300]


class Client:
    """Calls to base ("http://127.0.0.1:8812"), with fixed extra headers."""

    def __init__(self, base, headers=None, timeout=60.0):
        u = urllib.parse.urlsplit(base)
        self.host = u.hostname
        self.port = u.port or 80
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.conn = None

    def _connection(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self.conn

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, raw=None, content_type=None, headers=None,
                expect=None):
        """One request. body is sent as JSON; raw as bytes with content_type.
        Returns (status, headers, body) where body is the decoded JSON, or
        the bytes when the response is not JSON. expect: the accepted status
        codes (default: any 2xx); others raise ApiError."""
        h = {"Accept": "application/json"}
        h.update(self.headers)
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        elif raw is not None:
            h["Content-Type"] = content_type or "application/octet-stream"
        h.update(headers or {})
        for attempt in (0, 1):
            try:
                c = self._connection()
                c.request(method, path, body=data, headers=h)
                r = c.getresponse()
                payload = r.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A keep-alive connection the server closed while idle: once more.
                self.close()
                if attempt:
                    raise
        if r.getheader("Connection", "").lower() == "close":
            self.close()
        ctype = r.getheader("Content-Type", "")
        out = payload
        if payload and "json" in ctype:
            try:
                out = json.loads(payload)
            except ValueError:
                pass
        elif not payload:
            out = None
        ok = (r.status in expect) if expect else 200 <= r.status < 300
        if not ok:
            raise ApiError(method, path, r.status, out)
        return r.status, r, out

    def get(self, path, **kw):
        return self.request("GET", path, **kw)[2]

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)[2]

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body=body, **kw)[2]

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body=body, **kw)[2]

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)[2]


def wait_json(fn, timeout, what, interval=0.1):
    """Polls fn() (which may raise ApiError or OSError while the service
    settles) until it returns a true value; returns it."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = fn()
            if v:
                return v
            last = v
        except (ApiError, OSError, http.client.HTTPException) as e:
            last = e
        if time.monotonic() > deadline:
            raise TimeoutError("timed out after %.0f s waiting for %s (last: %s)"
                               % (timeout, what, last))
        time.sleep(interval)
