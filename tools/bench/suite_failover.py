"""Two wagents and two conductors share the load; one wagent dies (issue:
multi-agent scale; board-protocol.md 7.3, 7.5).

Two conductors, wagents A and B, 10 000 boards: 5 000 whose main URL is A
(registration URL B: lr-swarm alternates between them after
failover_after = 3 failures, as lightning-rod-c does) and 5 000 on B. While
a client keeps calling boards of both halves through the REST API and
another keeps creating boards (writes through the conductors), A is killed
with SIGKILL. Measured, per run:

  offline  until no board is `online` on A any more in the database the API
           reads (taken over by B, or marked offline by the dead-wagent
           check); the contract's bound is agent_timeout + heartbeat_interval
  moved    until all 5 000 are online on B (the database), and lr-swarm's
           own view of the same
  lost     requests that got no HTTP answer at all (every answer counts,
           including documented errors such as 400 "not connected" or 504
           while a board moves), and created boards missing afterwards

Then A is restarted and the 5 000 are moved back for the next run."""

import os
import threading
import time

import iottest
import stack as stk
import swarm
import targets

ROWS = [targets.ROWS[11]]
HALF = 5000

_state = {}


class Load:
    """Clients that keep the stack busy and count what is answered."""

    def __init__(self, port, a_names, b_names, tag):
        self.port = port
        self.names = [n for pair in zip(a_names[::50], b_names[::50]) for n in pair]
        self.tag = tag
        self.stop_ev = threading.Event()
        self.statuses = {}
        self.lost = []
        self.created = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.calls, daemon=True),
                        threading.Thread(target=self.calls, daemon=True),
                        threading.Thread(target=self.creates, daemon=True)]

    def start(self):
        for t in self.threads:
            t.start()

    def count(self, what, status):
        with self.lock:
            self.statuses[(what, status)] = self.statuses.get((what, status), 0) + 1

    def one(self, c, what, method, path, body):
        try:
            s, j = c.call(method, path, body)
            self.count(what, s)
            return s, j
        except Exception as e:  # no answer: the request is lost
            with self.lock:
                self.lost.append("%s %s: %s" % (method, path, e))
            return None, None

    def calls(self):
        c = stk.Client(self.port, stk.P_BULK)
        i = 0
        while not self.stop_ev.is_set():
            n = self.names[i % len(self.names)]
            i += 1
            self.one(c, "call", "POST", "/v1/boards/%s/action" % n, {"action": "DevicePing"})
        c.close()

    def creates(self):
        c = stk.Client(self.port, stk.P_BULK)
        i = 0
        while not self.stop_ev.is_set():
            name = "fo-%s-%d" % (self.tag, i)
            i += 1
            s, j = self.one(c, "create", "POST", "/v1/boards",
                            {"name": name, "code": name, "location": stk.LOC})
            if s == 201:
                self.created.append(name)
            time.sleep(0.01)
        c.close()

    def finish(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(90)


def online_on(st, agent, first):
    """Boards of the fleet slice [first, first + HALF) online on agent."""
    return int(st.sql("SELECT count(*) FROM boards WHERE status = 'online' AND agent = :'p1' "
                      "AND name >= :'p2' AND name < :'p3'", agent, "fl-%05d" % first,
                      "fl-%05d" % (first + HALF))[0][0])


def snapshot(st, wa, wb):
    """One query: the first half's boards online on A, on B, and whether A's
    wampagents row is still online (one psql round trip per poll, so that
    the times measured are not the poller's own)."""
    r = st.sql("SELECT (SELECT count(*) FROM boards WHERE status = 'online' AND agent = :'p1' "
               "AND name >= :'p3' AND name < :'p4'), "
               "(SELECT count(*) FROM boards WHERE status = 'online' AND agent = :'p2' "
               "AND name >= :'p3' AND name < :'p4'), "
               "(SELECT online FROM wampagents WHERE hostname = :'p1')",
               wa.name, wb.name, "fl-%05d" % 0, "fl-%05d" % HALF)[0]
    return int(r[0]), int(r[1]), r[2] == "t"


def start_swarm(ctx, state, name):
    sw = swarm.Swarm(["--state", state, "--rate", 3000, "--alive-interval", 0,
                      "--source", "127.0.0.1-127.0.0.4"], os.path.join(ctx.dir, "logs"), name)
    _state.setdefault("swarms", []).append(sw)
    sw.wait(lambda d: d["online"] == HALF, 180, "%s: %d boards online" % (name, HALF))
    return sw


def one_run(ctx, wa, wb, state_a, run_no):
    st = ctx.stack
    sw_a = start_swarm(ctx, state_a, "failover-a%d" % run_no)
    iottest.wait_until(lambda: online_on(st, wa.name, 0) == HALF, timeout=60,
                       what="the first half online on A")
    load = Load(st.api_port, swarm.fleet_names(ctx, 0, HALF), swarm.fleet_names(ctx, HALF, HALF),
                "r%d" % run_no)
    load.start()
    time.sleep(2)
    t0 = time.monotonic()
    wa.daemon.kill9()
    t_offline = t_moved = t_swarm = t_dead = None
    dropped = False
    while time.monotonic() - t0 < 120 and None in (t_offline, t_moved, t_swarm):
        on_a, on_b, a_alive = snapshot(st, wa, wb)
        now = time.monotonic() - t0  # the query's answer is at least this old
        last = sw_a.last()
        dropped = dropped or last.get("online", HALF) < HALF
        if t_offline is None and on_a == 0:
            t_offline = now
        if t_moved is None and on_b == HALF:
            t_moved = now
        if t_swarm is None and dropped and last.get("online") == HALF:
            t_swarm = last["mono"] - t0
        if t_dead is None and not a_alive:
            t_dead = now
        time.sleep(0.05)
    time.sleep(2)  # calls to moved boards succeed again
    load.finish()
    missing = 0
    if load.created:
        have = int(st.sql("SELECT count(*) FROM boards WHERE name LIKE :'p1'",
                          "fo-r%d-%%" % run_no)[0][0])
        missing = len(load.created) - have
    res = {"offline_s": t_offline, "moved_s": t_moved, "swarm_s": t_swarm,
           "agent_dead_s": t_dead, "lost": len(load.lost) + max(0, missing),
           "lost_examples": load.lost[:3], "created": len(load.created),
           "missing_created": missing,
           "answers": {"%s %s" % k: v for k, v in sorted(load.statuses.items())}}
    ctx.log("  run %d: not online on A after %s s, all %d online on B after %s s (lr-swarm: %s s), "
            "A marked dead after %s s; answers %s; lost %d"
            % (run_no, fmt(t_offline), HALF, fmt(t_moved), fmt(t_swarm), fmt(t_dead),
               res["answers"], res["lost"]))
    # Back to the start: A again, its 5 000 boards on it.
    sw_a.stop()
    _state["swarms"].remove(sw_a)
    iottest.wait_until(lambda: online_on(st, wb.name, 0) == 0, timeout=60,
                       what="the first half offline")
    st.restart_wagent(wa)
    return res


def fmt(v):
    return "-" if v is None else "%.1f" % v


def run(ctx):
    stk.need("iotronic-wagent", "lr-swarm")
    st = ctx.stack
    fleet, _ = swarm.fleet(ctx, 2 * HALF)
    if len(st.conductors) < 2:
        st.start_conductor("conductor-2")
    wa = st.start_wagent("wagent-a", register_agent=False)
    wb = st.start_wagent("wagent-b", register_agent=False)
    state_a = swarm.rewrite_state(fleet, os.path.join(ctx.dir, "fo-a.state"), wa.url, wb.url,
                                  0, HALF)
    state_b = swarm.rewrite_state(fleet, os.path.join(ctx.dir, "fo-b.state"), wb.url, wa.url,
                                  HALF, HALF)
    start_swarm(ctx, state_b, "failover-b")
    iottest.wait_until(lambda: online_on(st, wb.name, HALF) == HALF, timeout=60,
                       what="the second half online on B")
    runs = [one_run(ctx, wa, wb, state_a, i + 1) for i in range(max(1, ctx.opts.runs))]
    cmd = ("kill -9 of wagent A holding 5 000 lr-swarm boards (main URL A, registration URL B, "
           "failover_after 3, backoff 1-60 s with full jitter), wagent B holding 5 000 more, "
           "two conductors, REST calls and creates running")
    for fid, key in (("failover.offline", "offline_s"), ("failover.moved", "moved_s"),
                     ("failover.lost", "lost")):
        f = ctx.results.target(fid, cmd)
        for r in runs:
            if r[key] is None:
                f.fail("not reached within 120 s in a run: %s" % r)
                break
            f.add(r[key], r)
    f = ctx.results.figure("failover.swarm", ROWS[0], "the same, lr-swarm's view (all 5 000 "
                           "boards online again)", "s", command=cmd)
    for r in runs:
        if r["swarm_s"] is not None:
            f.add(r["swarm_s"])
    f = ctx.results.figure("failover.dead", ROWS[0], "wagent A's row marked offline by the "
                           "dead-wagent check (7.3)", "s", command=cmd)
    for r in runs:
        if r["agent_dead_s"] is not None:
            f.add(r["agent_dead_s"])
    ctx.results.target("failover.moved").note = (
        "bounded by the board side: lightning-rod-c's rule (and lr-swarm's) tries its main URL "
        "failover_after = 3 times with backoff 0-1, 0-2, 0-4 s before the other URL, then B "
        "accepts at most max_handshakes_per_second (2000 in the bench) upgrades")


def cleanup(ctx):
    for sw in _state.pop("swarms", []):
        sw.stop()
    for name in ("wagent-a", "wagent-b"):
        w = ctx.stack.wagents.pop(name, None)
        if w is not None:
            w.daemon.stop()
