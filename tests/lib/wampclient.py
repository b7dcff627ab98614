"""A scripted WebSocket + WAMP client that speaks as the original Lightning-Rod does.

Dependency-free (the standard library only), so that tests control every
byte: the upgrade request (autobahn's `wamp.2.cbor,wamp.2.json` offer by
default, or anything else), each frame (masked or not, fragmented, binary,
oversized, invalid UTF-8), and each WAMP message as exact JSON.

    ws = WebSocket("127.0.0.1", port)             # upgrade; ws.status, ws.headers
    ws.send_text('[1,"s4t",{}]'); ws.recv_text()  # raw frames
    c = Wamp("127.0.0.1", port)                   # a WAMP peer on top
    welcome = c.hello()                           # anonymous, autobahn's roles
    c.call("wagent-1.stack4things.connection", [], {"uuid": ..., ...})

`Board` plays a whole agent in a thread: it connects (anonymously, or with
WAMP-CRA when given the secret), calls `connection`, registers its methods
as iotronic.<session>.<uuid>.<Method> and answers each INVOCATION with its
handler's WampMessage text, exactly as the original agent does (section 13
of board-protocol.md)."""

import base64
import hashlib
import hmac
import json
import os
import queue
import socket
import ssl
import struct
import threading
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# What autobahn 22.7 puts in HELLO (role.DEFAULT_CLIENT_ROLES).
AUTOBAHN_ROLES = {
    "subscriber": {"features": {"publisher_identification": True,
                                "pattern_based_subscription": True,
                                "subscription_revocation": True, "payload_transparency": True,
                                "payload_encryption_cryptobox": True}},
    "publisher": {"features": {"publisher_identification": True,
                               "subscriber_blackwhite_listing": True,
                               "publisher_exclusion": True, "payload_transparency": True,
                               "x_acknowledged_event_delivery": True,
                               "payload_encryption_cryptobox": True}},
    "caller": {"features": {"caller_identification": True, "call_canceling": True,
                            "progressive_call_results": True, "payload_transparency": True,
                            "payload_encryption_cryptobox": True}},
    "callee": {"features": {"caller_identification": True, "pattern_based_registration": True,
                            "shared_registration": True, "call_canceling": True,
                            "progressive_call_results": True, "registration_revocation": True,
                            "payload_transparency": True, "payload_encryption_cryptobox": True}},
}

HELLO, WELCOME, ABORT, CHALLENGE, AUTHENTICATE, GOODBYE, ERROR = 1, 2, 3, 4, 5, 6, 8
PUBLISH, PUBLISHED, SUBSCRIBE, SUBSCRIBED, UNSUBSCRIBE, UNSUBSCRIBED, EVENT = \
    16, 17, 32, 33, 34, 35, 36
CALL, RESULT, REGISTER, REGISTERED, UNREGISTER, UNREGISTERED, INVOCATION, YIELD = \
    48, 50, 64, 65, 66, 67, 68, 70


class Closed(Exception):
    """The server closed the WebSocket (code, reason) or the TCP connection."""

    def __init__(self, code=None, reason=""):
        super().__init__("closed: %s %s" % (code, reason))
        self.code = code
        self.reason = reason


def cra_sign(secret, challenge):
    """autobahn's compute_wcs: base64(HMAC-SHA256(secret, challenge))."""
    return base64.b64encode(hmac.new(secret.encode(), challenge.encode(),
                                     hashlib.sha256).digest()).decode()


def wstun_proof(secret, uuid, port, ts=None):
    ts = int(time.time()) if ts is None else ts
    msg = "wstun|%s|%d|%d" % (uuid, port, ts)
    sig = base64.urlsafe_b64encode(hmac.new(secret.encode(), msg.encode(),
                                            hashlib.sha256).digest()).rstrip(b"=").decode()
    return "%d.%s" % (ts, sig)


def wampmsg(message, result="SUCCESS", req_id=None):
    """A WampMessage JSON text as the original agent writes it (json.dumps)."""
    d = {"message": message, "result": result}
    if req_id is not None:
        d["req_id"] = req_id
    return json.dumps(d)


class WebSocket:
    """One client WebSocket. Frames are masked as RFC 6455 requires (mask=False
    sends them unmasked, to test the server's refusal)."""

    def __init__(self, host, port, path="/", protocols="wamp.2.cbor,wamp.2.json",
                 timeout=10.0, extra_headers=None, tls=False, raw_request=None, upgrade=True):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self.sock = ctx.wrap_socket(self.sock, server_hostname=host)
        self.buf = b""
        self.send_lock = threading.Lock()
        self.status = None
        self.headers = {}
        self.body = b""
        self.closed = None
        if raw_request is not None:
            self.sock.sendall(raw_request)
            self._read_head()
        elif upgrade:
            self._upgrade(host, port, path, protocols, extra_headers or {})

    # ------------------------------------------------------------- handshake

    def _upgrade(self, host, port, path, protocols, extra):
        self.key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (host, port), "Upgrade: websocket",
                 "Connection: Upgrade", "Sec-WebSocket-Key: %s" % self.key,
                 "Sec-WebSocket-Version: 13"]
        if protocols is not None:
            lines.append("Sec-WebSocket-Protocol: %s" % protocols)
        for k, v in extra.items():
            lines.append("%s: %s" % (k, v))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self._read_head()
        if self.status == 101:
            want = base64.b64encode(hashlib.sha1((self.key + GUID).encode()).digest()).decode()
            assert self.headers.get("sec-websocket-accept") == want, self.headers

    def _read_head(self):
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buf += chunk
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        self.buf = rest
        lines = head.decode("latin-1").split("\r\n")
        if lines and lines[0].startswith("HTTP/1.1 "):
            self.status = int(lines[0].split(" ")[1])
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        if self.status is not None and self.status != 101:
            n = int(self.headers.get("content-length", "0"))
            while len(self.buf) < n:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.buf += chunk
            self.body, self.buf = self.buf[:n], self.buf[n:]

    # ------------------------------------------------------------- frames

    def send_frame(self, op, payload, fin=True, mask=True, rsv=0):
        data = self.frame_bytes(op, payload, fin, mask, rsv)
        with self.send_lock:
            self.sock.sendall(data)

    def send_texts(self, texts):
        """Several text frames in one write (so that they arrive together)."""
        data = b"".join(self.frame_bytes(0x1, t) for t in texts)
        with self.send_lock:
            self.sock.sendall(data)

    def frame_bytes(self, op, payload, fin=True, mask=True, rsv=0):
        if isinstance(payload, str):
            payload = payload.encode()
        n = len(payload)
        hdr = bytes([(0x80 if fin else 0) | (rsv << 4) | op])
        mbit = 0x80 if mask else 0
        if n < 126:
            hdr += bytes([mbit | n])
        elif n < 65536:
            hdr += bytes([mbit | 126]) + struct.pack(">H", n)
        else:
            hdr += bytes([mbit | 127]) + struct.pack(">Q", n)
        if mask:
            key = os.urandom(4)
            # Mask 8 bytes at a time: large test messages must not be slow.
            k8 = int.from_bytes(key * 2, "little")
            whole = n - n % 8
            body = bytearray(payload)
            if whole:
                arr = memoryview(body)[:whole].cast("Q")
                for i in range(len(arr)):
                    arr[i] ^= k8
            for i in range(whole, n):
                body[i] ^= key[i & 3]
            payload = key + bytes(body)
        return hdr + payload

    def send_text(self, text, fin=True):
        self.send_frame(0x1, text, fin=fin)

    def _parse_frame(self):
        """A complete frame from the buffer (consumed), or None."""
        b = self.buf
        if len(b) < 2:
            return None
        assert not b[1] & 0x80, "a server frame was masked"
        n, off = b[1] & 0x7F, 2
        if n == 126:
            if len(b) < 4:
                return None
            n, off = struct.unpack(">H", b[2:4])[0], 4
        elif n == 127:
            if len(b) < 10:
                return None
            n, off = struct.unpack(">Q", b[2:10])[0], 10
        if len(b) < off + n:
            return None
        self.buf = b[off + n:]
        return bool(b[0] & 0x80), b[0] & 0x0F, b[off:off + n]

    def recv_frame(self, timeout=10.0):
        """One frame: (fin, opcode, payload). Server frames must be unmasked.
        A timeout (socket.timeout) loses nothing: partial frames stay buffered."""
        deadline = time.monotonic() + timeout
        while True:
            f = self._parse_frame()
            if f is not None:
                return f
            self.sock.settimeout(max(0.001, deadline - time.monotonic()))
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise Closed(None, "connection closed")
            self.buf += chunk

    def recv_text(self, timeout=10.0, pong=True):
        """The next text message (reassembled); answers pings; raises Closed."""
        deadline = time.monotonic() + timeout
        if not hasattr(self, "_parts"):
            self._parts = []
        while True:
            left = max(0.01, deadline - time.monotonic())
            fin, op, payload = self.recv_frame(left)
            if op == 0x9:
                if pong:
                    self.send_frame(0xA, payload)
                continue
            if op == 0xA:
                continue
            if op == 0x8:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                self.closed = (code, payload[2:].decode("utf-8", "replace"))
                raise Closed(code, self.closed[1])
            self._parts.append(payload)
            if fin:
                if op == 0x2:
                    raise AssertionError("the server sent a binary frame")
                text = b"".join(self._parts).decode("utf-8")
                self._parts = []
                return text

    def wait_closed(self, timeout=10.0):
        """Reads until the server closes; returns the close code (None: TCP only)."""
        try:
            while True:
                self.recv_text(timeout)
        except Closed as e:
            return e.code
        except (ConnectionResetError, BrokenPipeError, OSError):
            return None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Wamp(WebSocket):
    """A WAMP peer on one WebSocket. Messages that arrive while the test waits
    for another are kept in order (self.pending)."""

    def __init__(self, host, port, **kw):
        super().__init__(host, port, **kw)
        if self.status != 101:
            raise ConnectionError("upgrade refused: %s %s" % (self.status, self.body))
        self.pending = []
        self.next_request = 1
        self.session = None
        self.welcome = None

    def send(self, msg):
        self.send_text(json.dumps(msg))

    def recv(self, timeout=10.0):
        if self.pending:
            return self.pending.pop(0)
        return json.loads(self.recv_text(timeout))

    def expect(self, want_type, request=None, timeout=10.0):
        """The next message of want_type (and request id); others are kept."""
        deadline = time.monotonic() + timeout
        for i, m in enumerate(self.pending):
            if m[0] == want_type and (request is None or m[1] == request):
                return self.pending.pop(i)
        while True:
            m = json.loads(self.recv_text(max(0.01, deadline - time.monotonic())))
            if m[0] == want_type and (request is None or m[1] == request):
                return m
            if m[0] in (ABORT, GOODBYE) and want_type not in (ABORT, GOODBYE):
                raise Closed(None, "%r" % (m,))
            self.pending.append(m)

    def request_id(self):
        r = self.next_request
        self.next_request += 1
        return r

    # ------------------------------------------------------------- session

    def hello(self, realm="s4t", authmethods=None, authid=None, secret=None, roles=None):
        """HELLO; returns WELCOME (answering a CHALLENGE when secret is given),
        or the ABORT/CHALLENGE the router answered."""
        details = {"roles": roles if roles is not None else AUTOBAHN_ROLES}
        if authmethods is not None:
            details["authmethods"] = authmethods
        if authid is not None:
            details["authid"] = authid
        self.send([HELLO, realm, details])
        m = self.recv()
        if m[0] == CHALLENGE and secret is not None:
            self.challenge = m[2]["challenge"]
            self.send([AUTHENTICATE, cra_sign(secret, self.challenge), {}])
            m = self.recv()
        if m[0] == WELCOME:
            self.session = m[1]
            self.welcome = m
        return m

    def wait_reply(self, kind, rid, timeout=10.0):
        """The reply to request rid of kind (CALL, REGISTER...): the message of
        its success type, or the ERROR answering it. Others are kept."""
        ok = {CALL: RESULT, REGISTER: REGISTERED, UNREGISTER: UNREGISTERED,
              SUBSCRIBE: SUBSCRIBED, UNSUBSCRIBE: UNSUBSCRIBED, PUBLISH: PUBLISHED}[kind]

        def match(m):
            return (m[0] == ok and m[1] == rid) or (m[0] == ERROR and m[1] == kind and m[2] == rid)
        for i, m in enumerate(self.pending):
            if match(m):
                return self.pending.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            m = json.loads(self.recv_text(max(0.01, deadline - time.monotonic())))
            if match(m):
                return m
            if m[0] in (ABORT, GOODBYE):
                raise Closed(None, "%r" % (m,))
            self.pending.append(m)

    def call(self, procedure, args=None, kwargs=None, options=None, timeout=10.0):
        """CALL; returns the RESULT or ERROR answering it."""
        rid = self.request_id()
        msg = [CALL, rid, options or {}, procedure]
        if args is not None or kwargs is not None:
            msg.append(args if args is not None else [])
        if kwargs is not None:
            msg.append(kwargs)
        self.send(msg)
        return self.wait_reply(CALL, rid, timeout)

    def result_wampmsg(self, m):
        """The WampMessage of a RESULT, parsed from its JSON text argument."""
        assert m[0] == RESULT, m
        return json.loads(m[3][0])

    def register(self, procedure):
        rid = self.request_id()
        self.send([REGISTER, rid, {}, procedure])
        return self.wait_reply(REGISTER, rid)

    def goodbye(self):
        self.send([GOODBYE, {}, "wamp.close.close_realm"])
        return self.expect(GOODBYE)


class Board(threading.Thread):
    """An agent in a thread: connects, binds, registers, answers calls.

    handlers: {Method: fn(args) -> (result, message)}; each call's `req` (when
    the wagent sends one) is passed as args[0]. Calls seen are recorded in
    self.calls. self.ready is set once every procedure is registered (and,
    with reconnect, cleared while the board is away; self.connections counts
    the times it got there). reconnect makes it come back after the wagent
    closed or lost the connection, as an agent does."""

    def __init__(self, port, uuid, handlers, agent="wagent-1", secret=None,
                 lr_version="0.5.0", connectivity=None, host="127.0.0.1", reconnect=False,
                 register_delay=0.0, port_fn=None):
        super().__init__(daemon=True)
        self.port = port
        self.port_fn = port_fn
        self.host = host
        self.uuid = uuid
        self.handlers = handlers
        self.agent = agent
        self.secret = secret
        self.lr_version = lr_version
        self.connectivity = connectivity if connectivity is not None else {
            "iface": "eth0", "local_ip": "192.0.2.10", "mac": "b8:27:eb:00:00:01"}
        self.reconnect = reconnect
        self.register_delay = register_delay
        self.ready = threading.Event()
        self.done = threading.Event()
        self.calls = queue.Queue()
        self.error = None
        self.connection_reply = None
        self.closed_with = None
        self.connections = 0
        self.stopping = False
        self.c = None
        self.regs = {}
        self.answer_delay = 0.0
        self.hold = {}  # method -> threading.Event: do not answer until set
        self.lock = threading.Lock()
        self.outbox = queue.Queue()
        self.waiting = {}

    def connect(self):
        port = self.port_fn() if self.port_fn else self.port
        c = Wamp(self.host, port)
        with self.lock:
            self.c = c
        if self.secret:
            m = c.hello(authmethods=["wampcra"], authid=self.uuid, secret=self.secret)
        else:
            m = c.hello()
        if m[0] != WELCOME:
            raise ConnectionError("login refused: %r" % (m,))
        info = {"lr_version": self.lr_version, "connectivity": self.connectivity}
        r = c.call("%s.stack4things.connection" % self.agent, [],
                   {"uuid": self.uuid, "session": c.session, "info": info})
        self.connection_reply = r
        wm = c.result_wampmsg(r) if r[0] == RESULT else r
        if r[0] != RESULT or wm["result"] != "SUCCESS":
            raise ConnectionError("connection refused: %r" % (wm,))
        if self.register_delay:
            time.sleep(self.register_delay)
        self.regs = {}
        for method in self.handlers:
            reg = c.register("iotronic.%d.%s.%s" % (c.session, self.uuid, method))
            if reg[0] != REGISTERED:
                raise ConnectionError("register %s refused: %r" % (method, reg))
            self.regs[reg[2]] = method
        self.connections += 1
        self.ready.set()

    def run(self):
        delay = 0.1
        while not self.stopping:
            try:
                self.connect()
                delay = 0.1
                self.serve()
            except Closed as e:
                self.closed_with = e
            except (ConnectionError, OSError) as e:
                if not self.reconnect:
                    self.error = e
            except Exception as e:  # reported to the test through self.error
                self.error = e
                break
            self.ready.clear()
            if self.c is not None:
                self.c.close()
            if not self.reconnect or self.stopping:
                break
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        self.ready.set()
        self.done.set()

    def answer(self, m):
        method = self.regs.get(m[2])
        args = m[4] if len(m) > 4 else []
        self.calls.put((method, args))
        ev = self.hold.get(method)
        if ev is not None:
            ev.wait(60)
        if self.answer_delay:
            time.sleep(self.answer_delay)
        req_id = args[0].get("uuid") if args and isinstance(args[0], dict) else None
        try:
            result, message = self.handlers[method](args)
        except Exception as e:
            self.c.send([ERROR, INVOCATION, m[1], {}, "wamp.error.runtime_error", [str(e)]])
            return
        self.c.send([YIELD, m[1], {}, [wampmsg(message, result, req_id)]])

    def serve(self):
        while not self.stopping:
            self._send_outbox()
            try:
                # From the socket: what is kept in pending is the test's.
                m = json.loads(self.c.recv_text(timeout=0.05))
            except socket.timeout:
                continue
            if m[0] == INVOCATION:
                if self.hold:
                    threading.Thread(target=self.answer, args=(m,), daemon=True).start()
                else:
                    self.answer(m)
            elif m[0] in (RESULT, ERROR, REGISTERED, UNREGISTERED, PUBLISHED, SUBSCRIBED,
                          UNSUBSCRIBED) and \
                    self._deliver(m):
                continue
            elif m[0] in (GOODBYE, ABORT):
                self.closed_with = m
                if m[0] == GOODBYE:
                    try:
                        self.c.send([GOODBYE, {}, "wamp.close.goodbye_and_out"])
                    except OSError:
                        pass
                return
            else:
                self.c.pending.append(m)

    def _send_outbox(self):
        while True:
            try:
                msg, slot = self.outbox.get_nowait()
            except queue.Empty:
                return
            rid = self.c.request_id()
            msg = [msg[0], rid] + msg[1:]
            self.waiting[rid] = slot
            self.c.send(msg)

    def _deliver(self, m):
        rid = m[2] if m[0] == ERROR else m[1]
        slot = self.waiting.pop(rid, None)
        if slot is None:
            return False
        slot["reply"] = m
        slot["done"].set()
        return True

    def send_request(self, msg, timeout=10.0):
        """Sends msg ([type, <no request id>, ...]) from the serving thread with
        the next request id and waits for the message answering it."""
        slot = {"done": threading.Event(), "reply": None}
        self.outbox.put((msg, slot))
        if not slot["done"].wait(timeout):
            raise TimeoutError("no answer to %r" % (msg,))
        return slot["reply"]

    def call(self, procedure, args=None, kwargs=None, options=None, timeout=10.0):
        """A CALL on the board's session, from any thread; the RESULT or ERROR."""
        msg = [CALL, options or {}, procedure]
        if args is not None or kwargs is not None:
            msg.append(args if args is not None else [])
        if kwargs is not None:
            msg.append(kwargs)
        return self.send_request(msg, timeout)

    def stop(self):
        self.stopping = True
        with self.lock:
            if self.c is not None:
                self.c.close()
        self.join(5)
