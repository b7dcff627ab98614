"""The smart-city demo: what `make demo` walks, step by step, on a running
all-in-one stack (two simulated boards).

  1. register two boards with one-time codes (REST, then `lightning-rod-c
     configure` on each board)
  2. both online, and a call to each through the cloud (DevicePing)
  3. board B's local web panel exposed through a reverse tunnel; a page
     fetched through the public port on the cloud side
  4. a python3 runtime, and a function that switches the street light: a
     simulated GPIO output (sim0:3) on board B, reached through the board's
     IO socket from inside the function's container
  5. a trigger: the light sensor lux0 on board A drops below 10 lx, so the
     function runs on board B with the reading as input
  6. the sensor is driven down; the light turns on; the latency is measured
     end to end (the firing's board timestamps, and the write seen by B)

Every step returns what it found (the e2e test asserts on it) and prints
what it did through `out`. Steps raise DemoError with the reason when
something does not happen within its time limit.
"""

import base64
import hashlib
import io
import json
import os
import re
import subprocess
import threading
import time
import uuid
import zipfile

from . import rest

LOCATION = [{"latitude": "38.1938", "longitude": "15.5540", "altitude": "3"}]
LIGHT_CHIP, LIGHT_LINE = "sim0", 3
THRESHOLD_LX = 10.0

# The function of step 4. It runs in a crun container on board B, sees
# exactly the one declared line, and writes it through the IO socket
# (deviceless-api.md 3.4.4).
FUNCTION_CODE = '''\
"""Street light controller: switches the lamp on GPIO %(chip)s:%(line)d."""
import json
import socket

IO_SOCKET = "/run/iotronic/io.sock"


def main(light="on", lux=None, context=None, **event):
    value = 1 if light == "on" else 0
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(IO_SOCKET)
        f = s.makefile("rw")
        f.write(json.dumps({"id": 1, "op": "gpio_write", "chip": "%(chip)s",
                            "line": %(line)d, "value": value}) + "\\n")
        f.flush()
        reply = json.loads(f.readline())
    if not reply.get("ok"):
        raise RuntimeError("gpio_write: %%s" %% reply.get("message"))
    return {"street_light": "on" if value else "off", "lux": lux, "switched_at": reply["ts"]}
''' % {"chip": LIGHT_CHIP, "line": LIGHT_LINE}


class DemoError(Exception):
    pass


def iso_to_epoch(ts):
    """Seconds since the epoch of a µs 'Z' timestamp (deviceless-api.md 1.5)."""
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?Z$", ts or "")
    if not m:
        raise DemoError("not a timestamp: %r" % ts)
    import calendar
    secs = calendar.timegm(tuple(int(x) for x in m.groups()[:6]) + (0, 0, 0))
    frac = (m.group(7) or "0").ljust(6, "0")
    return secs + int(frac) / 1e6


def until(fn, timeout, what, interval=0.1):
    try:
        return rest.wait_json(fn, timeout, what, interval)
    except TimeoutError as e:
        raise DemoError(str(e))


class Watch(threading.Thread):
    """`lightning-rod-c sim watch` of one board: every write to a simulated
    output line, with the board's timestamp, as it happens."""

    def __init__(self, argv):
        super().__init__(daemon=True)
        self.proc = subprocess.Popen(argv + ["sim", "watch", "--json"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.events = []
        self.cond = threading.Condition()

    def run(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                self.events.append((time.time(), ev))
                self.cond.notify_all()

    def wait_write(self, chip, line, value, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for seen, ev in self.events:
                    if ev.get("event") == "write" and ev.get("chip") == chip and \
                            ev.get("line") == line and ev.get("value") == value:
                        return seen, ev
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Demo:
    """The scenario on the stack of a loaded aiolib.stack.Stack."""

    def __init__(self, stack, out=print, runtimes_dir=None):
        self.stack = stack
        self.out = out
        p = stack.st["ports"]
        self.wamp_url = "ws://127.0.0.1:%d/" % p["wagent"]
        # The CLI's view: no identity headers, as python-iotronicclient sends
        # in token mode against a noauth API (iotronic-api-v1.md 4.1).
        self.iot = rest.Client("http://127.0.0.1:%d" % p["iotronic-api"])
        self.fn = rest.Client("http://127.0.0.1:%d" % p["qinling-api"])
        if len(stack.st["boards"]) < 2:
            raise DemoError("the demo needs two simulated boards (iotronic-aio start --boards 2)")
        self.agents = stack.st["boards"][:2]
        self.names = ("lux-sensor-a", "street-light-b")
        self.runtimes_dir = runtimes_dir or os.path.join(stack.build, "runtimes")
        self.boards = {}   # "A"/"B" -> {"name", "uuid", "code", "agent"}
        self.found = {}

    # ------------------------------------------------------------ helpers

    def say(self, text=""):
        self.out(text)

    def lrc(self, agent, *args):
        r = self.stack.lrc(agent["name"], list(args), capture=True)
        if r.returncode != 0:
            raise DemoError("lightning-rod-c %s on %s: %s" % (" ".join(args), agent["name"],
                                                              (r.stderr or r.stdout).strip()))
        return r.stdout

    def sim(self, agent, *args):
        return json.loads(self.lrc(agent, "sim", *args, "--json"))

    def lrc_argv(self, agent):
        return [self.stack.bin("lightning-rod-c"), "--config-file",
                self.stack.board_conf_path(agent)]

    # ------------------------------------------------------------ step 1

    def register(self):
        """Creates the two boards with their codes and configures the agents."""
        for key, name, agent in zip("AB", self.names, self.agents):
            code = "AIO-%s" % uuid.uuid4().hex[:10].upper()
            body = self.iot.post("/v1/boards", {"name": name, "code": code, "type": "gateway",
                                                "location": LOCATION})
            self.say("      POST /v1/boards name=%s code=%s -> 201 uuid=%s status=%s"
                     % (name, code, body["uuid"], body["status"]))
            self.lrc(agent, "configure", code, self.wamp_url)
            self.say("      %s: lightning-rod-c configure %s %s" % (agent["name"], code,
                                                                    self.wamp_url))
            self.boards[key] = {"name": name, "uuid": body["uuid"], "code": code,
                                "agent": agent, "status": body["status"]}
        return self.boards

    # ------------------------------------------------------------ step 2

    def online(self, timeout=60):
        """Waits for both boards online and pings each through the cloud."""
        out = {}
        for key in "AB":
            b = self.boards[key]
            t0 = time.monotonic()
            doc = until(lambda: (lambda d: d if d["status"] == "online" else None)(
                self.iot.get("/v1/boards/%s" % b["uuid"])), timeout, "%s online" % b["name"])
            took = time.monotonic() - t0
            agent_state = json.loads(self.lrc(b["agent"], "status", "--json"))
            t1 = time.monotonic()
            _, _, ping = self.iot.request("POST", "/v1/boards/%s/action" % b["uuid"],
                                          body={"action": "DevicePing"})
            rtt = (time.monotonic() - t1) * 1000
            self.say("      %s online after %.1f s (agent %s, %s, board says %s); "
                     "DevicePing -> %s in %.1f ms"
                     % (b["name"], took, doc.get("agent"), doc.get("lr_version"),
                        agent_state.get("state"), json.dumps(ping)[:60], rtt))
            out[key] = {"status": doc["status"], "agent": doc.get("agent"),
                        "lr_version": doc.get("lr_version"), "board_state": agent_state["state"],
                        "ping": ping, "ping_ms": rtt}
        self.found["online"] = out
        return out

    # ------------------------------------------------------------ step 3

    def expose_web(self, timeout=30):
        """Exposes board B's web panel through a tunnel and fetches it."""
        b = self.boards["B"]
        port = b["agent"]["web_port"]
        svc = self.iot.post("/v1/services", {"name": "web-panel-b", "port": port,
                                             "protocol": "TCP"})
        self.say("      POST /v1/services web-panel-b port=%d -> %s" % (port, svc["uuid"]))
        _, _, msg = self.iot.request("POST", "/v1/boards/%s/services/%s/action"
                                     % (b["uuid"], svc["uuid"]), body={"action": "ServiceEnable"})
        exposed = self.iot.get("/v1/boards/%s/services" % b["uuid"])["exposed"]
        public = [e["public_port"] for e in exposed if e["service"] == svc["uuid"]]
        if not public:
            raise DemoError("ServiceEnable answered %r but nothing is exposed" % (msg,))
        public_port = public[0]
        self.say("      ServiceEnable on %s -> %s" % (b["name"], json.dumps(msg)))
        self.say("      public port %d on the cloud side -> tunnel -> %s:%d on the board"
                 % (public_port, b["name"], port))
        page = until(lambda: self._fetch(public_port), timeout,
                     "the web panel through port %d" % public_port)
        title = re.search(r"<h1>(.*?)</h1>", page)
        self.say("      GET http://127.0.0.1:%d/ -> 200, %d bytes: \"%s\""
                 % (public_port, len(page), title.group(1) if title else page[:40]))
        self.found["web"] = {"service": svc["uuid"], "public_port": public_port, "page": page,
                             "local_port": port}
        return self.found["web"]

    @staticmethod
    def _fetch(port):
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            c.request("GET", "/")
            r = c.getresponse()
            body = r.read().decode("utf-8", "replace")
            return body if r.status == 200 else None
        finally:
            c.close()

    # ------------------------------------------------------------ step 4

    def runtime_archive(self):
        path = os.path.join(self.runtimes_dir, "python3.tar.gz")
        if not os.path.exists(path):
            self.say("      building the runtimes (tools/build-runtimes.sh %s) ..."
                     % self.runtimes_dir)
            subprocess.run([os.path.join(self.stack.src, "tools", "build-runtimes.sh"),
                            self.runtimes_dir], check=True, stdout=subprocess.DEVNULL)
        return path

    def function(self, timeout=60):
        """The python3 runtime, the street-light function on board B, and one
        execution that switches the light off (its known state)."""
        b = self.boards["B"]
        path = self.runtime_archive()
        with open(path, "rb") as f:
            image = f.read()
        sha = hashlib.sha256(image).hexdigest()
        rt = self.fn.post("/v1/runtimes", {"name": "python3", "image": "python3",
                                           "description": "Python 3 (tools/build-runtimes.sh)"})
        rt = self.fn.request("PUT", "/v1/runtimes/%s/image?sha256=%s" % (rt["id"], sha),
                             raw=image, content_type="application/gzip")[2]
        self.say("      runtime python3 %s: %s, %d bytes, sha256 %s..."
                 % (rt["id"], rt["status"], len(image), sha[:12]))
        pkg = io.BytesIO()
        with zipfile.ZipFile(pkg, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("street_light.py", FUNCTION_CODE)
        body = {"name": "street-light", "description": "switch the street light of board B",
                "code": {"source": "package"},
                "package": base64.b64encode(pkg.getvalue()).decode(),
                "runtime_id": rt["id"], "entry": "street_light.main",
                "devices": ["gpio:%s:%d:out" % (LIGHT_CHIP, LIGHT_LINE)],
                "board_id": b["uuid"], "keep_warm": 1}
        # The engine learns a board's capabilities (DeviceCaps) when it comes
        # online; until then placement answers 409.
        fn = until(lambda: self._create_function(body), timeout, "the function to be accepted")
        self.say("      function street-light %s: devices %s on %s, keep_warm 1"
                 % (fn["id"], fn["devices"], b["name"]))
        ex = self.fn.post("/v1/executions", {"function_id": fn["id"], "sync": True,
                                             "input": json.dumps({"light": "off"})})
        result = json.loads(ex["result"]) if isinstance(ex.get("result"), str) else ex.get("result")
        line = self.sim(b["agent"], "get-line", LIGHT_CHIP, str(LIGHT_LINE))
        # result: {"output": <what main returned>, "duration": s} (2.6.3)
        self.say("      test run: execution %s %s in %s s -> %s; %s:%d = %d (%s)"
                 % (ex["id"], ex["status"], (result or {}).get("duration"),
                    json.dumps((result or {}).get("output")), LIGHT_CHIP, LIGHT_LINE,
                    line["value"], line["direction"]))
        if ex["status"] != "success":
            raise DemoError("the test execution %s: %s" % (ex["status"], ex.get("result")))
        self.found["function"] = {"runtime": rt, "function": fn, "execution": ex,
                                  "result": result, "line": line}
        return self.found["function"]

    def _create_function(self, body):
        try:
            return self.fn.post("/v1/functions", body)
        except rest.ApiError as e:
            if e.status == 409:
                return None  # capabilities not known yet: retry
            raise

    # ------------------------------------------------------------ step 5

    def trigger(self, timeout=30):
        """A at dusk -> B's light: the trigger, installed on board A."""
        a, b = self.boards["A"], self.boards["B"]
        fid = self.found["function"]["function"]["id"]
        body = {"name": "dusk", "description": "street light on at dusk",
                "source": {"board_id": a["uuid"], "sensor": "lux0", "condition": "<",
                           "threshold": THRESHOLD_LX, "hysteresis": 2.0,
                           "sample_interval_ms": 50, "debounce_ms": 0},
                "target": {"function_id": fid, "board_id": b["uuid"],
                           "input_template": {"light": "on", "lux": "{{event.value}}"}}}
        tr = until(lambda: self._create_trigger(body), timeout, "the trigger to be accepted")
        self.say("      POST /v1/triggers dusk: %s lux0 < %.0f lx (sampled every 50 ms) -> "
                 "street-light on %s" % (a["name"], THRESHOLD_LX, b["name"]))
        tr = until(lambda: (lambda t: t if t["status"] in ("active", "error") else None)(
            self.fn.get("/v1/triggers/%s" % tr["id"])), timeout, "the trigger to be installed")
        if tr["status"] != "active":
            raise DemoError("trigger %s: %s (%s)" % (tr["id"], tr["status"], tr["status_reason"]))
        self.say("      trigger %s: %s on %s (local loop: %s)"
                 % (tr["id"], tr["status"], a["name"], tr["local"]))
        self.found["trigger"] = tr
        return tr

    def _create_trigger(self, body):
        try:
            return self.fn.post("/v1/triggers", body)
        except rest.ApiError as e:
            if e.status == 409:
                return None
            raise

    # ------------------------------------------------------------ step 6

    def actuate(self, lux=4.0, timeout=30):
        """Dims board A's light sensor; waits for B's light; measures."""
        a, b = self.boards["A"], self.boards["B"]
        tr = self.found["trigger"]
        before = self.sim(b["agent"], "get-line", LIGHT_CHIP, str(LIGHT_LINE))
        sensor = self.sim(a["agent"], "set-sensor", "lux0", "120")
        self.say("      %s lux0 = %s lx (daylight); %s %s:%d = %d"
                 % (a["name"], sensor["value"], b["name"], LIGHT_CHIP, LIGHT_LINE,
                    before["value"]))
        watch = Watch(self.lrc_argv(b["agent"]))
        watch.start()
        try:
            time.sleep(0.3)  # the watch is subscribed before the sensor moves
            t_set = time.time()
            self.sim(a["agent"], "set-sensor", "lux0", str(lux))
            self.say("      dusk: lightning-rod-c sim set-sensor lux0 %s on %s" % (lux, a["name"]))
            seen = watch.wait_write(LIGHT_CHIP, LIGHT_LINE, 1, timeout)
        finally:
            watch.close()
        if seen is None:
            raise DemoError("the street light did not turn on within %d s" % timeout)
        after = self.sim(b["agent"], "get-line", LIGHT_CHIP, str(LIGHT_LINE))
        wall_ms = (iso_to_epoch(seen[1]["ts"]) - t_set) * 1000
        self.say("      %s %s:%d = %d: the street light is ON (written at %s, %.1f ms after "
                 "the sensor was set, sampling included)"
                 % (b["name"], LIGHT_CHIP, LIGHT_LINE, after["value"], seen[1]["ts"], wall_ms))
        firing = until(lambda: self._firing(tr["id"]), timeout, "the firing's latency")
        ex = None
        if firing.get("execution_ids"):
            ex = self.fn.get("/v1/executions/%s" % firing["execution_ids"][0])
        self.report_latency(firing, ex)
        self.found["actuate"] = {"before": before, "after": after, "write": seen[1],
                                 "wall_ms": wall_ms, "firing": firing, "execution": ex}
        return self.found["actuate"]

    def _firing(self, tid):
        firings = self.fn.get("/v1/triggers/%s/firings" % tid)["firings"]
        done = [f for f in firings if f.get("latency_ms") is not None]
        return done[0] if done else None

    def report_latency(self, f, ex):
        t = {k: iso_to_epoch(f[k]) for k in ("sampled_at", "fired_at", "received_at",
                                             "executed_at", "actuated_at") if f.get(k)}

        def ms(a, b):
            return "%.1f" % ((t[b] - t[a]) * 1000) if a in t and b in t else "?"
        self.say("      firing #%s of trigger dusk: value %s lx (previous %s)"
                 % (f.get("firing_seq"), f.get("value"), f.get("previous")))
        self.say("        sampled on A -> decided on A      %6s ms" % ms("sampled_at", "fired_at"))
        self.say("        decided on A -> stored by cloud   %6s ms" % ms("fired_at", "received_at"))
        self.say("        stored       -> started on B      %6s ms" % ms("received_at",
                                                                       "executed_at"))
        self.say("        started on B -> lamp written on B %6s ms" % ms("executed_at",
                                                                       "actuated_at"))
        self.say("        end to end (sampled -> actuated)  %6.1f ms" % float(f["latency_ms"]))
        if ex is not None:
            try:
                output = json.loads(ex.get("result") or "null").get("output")
            except (ValueError, AttributeError):
                output = ex.get("result")
            self.say("      execution %s on %s: %s -> %s"
                     % (ex["id"], self.boards["B"]["name"], ex["status"], json.dumps(output)))

    # ------------------------------------------------------------ the end

    def epilogue(self, aio):
        a, b = self.boards["A"], self.boards["B"]
        tr = self.found.get("trigger", {}).get("id", "<trigger id>")
        lines = [
            "The stack keeps running. Explore it:",
            "  eval \"$(%s env)\"" % aio,
            "  curl -s $IOTRONIC_URL/v1/boards | python3 -m json.tool",
            "  curl -s $QINLING_URL/v1/triggers/%s/firings | python3 -m json.tool" % tr,
            "  iotronic board-list      (python-iotronicclient, token mode: OS_AUTH_TOKEN "
            "and IOTRONIC_URL are set)",
            "  %s board %s sim set-sensor lux0 120   (dawn: the trigger re-arms)"
            % (aio, a["agent"]["name"]),
            "  %s board %s sim set-sensor lux0 3     (dusk again: it fires)"
            % (aio, a["agent"]["name"]),
            "  %s board %s sim get-line %s %d        (the street light)"
            % (aio, b["agent"]["name"], LIGHT_CHIP, LIGHT_LINE),
            "  %s status | logs" % aio,
            "Stop everything and remove its state:",
            "  %s stop" % aio,
        ]
        for line in lines:
            self.say(line)

    def close(self):
        self.iot.close()
        self.fn.close()


STEPS = (
    ("Register two boards with one-time codes", "register"),
    ("Both boards online; call each through the cloud", "online"),
    ("Expose board B's web panel through a tunnel and fetch a page", "expose_web"),
    ("Create a runtime and the street-light function (GPIO %s:%d on board B)"
     % (LIGHT_CHIP, LIGHT_LINE), "function"),
    ("Wire a trigger: light sensor lux0 on board A below %.0f lx -> street light on board B"
     % THRESHOLD_LX, "trigger"),
    ("Dusk: drive the sensor down and watch the street light", "actuate"),
)


def run(demo, out=print):
    """Walks every step, printing each with its result; returns the total
    time in seconds. Raises DemoError (with the step) on the first failure."""
    t0 = time.monotonic()
    for i, (title, method) in enumerate(STEPS, 1):
        out("[%d/%d] %s" % (i, len(STEPS), title))
        t = time.monotonic()
        try:
            getattr(demo, method)()
        except (rest.ApiError, OSError) as e:
            raise DemoError("step %d (%s): %s" % (i, title, e))
        except DemoError as e:
            raise DemoError("step %d (%s): %s" % (i, title, e))
        out("      ok (%.1f s)" % (time.monotonic() - t))
    return time.monotonic() - t0
