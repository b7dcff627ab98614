#!/usr/bin/python3
# needs: nothing
"""Cross-checks libiotwamp against autobahn, an independent WAMP implementation.

Debian's python3-autobahn (the library under the original Lightning-Rod)
builds frames of every message type with varied payloads; wampcheck
(tests/tools/wampcheck) parses them and must find the same content, and
autobahn must parse what wampcheck writes back to the same message. The
WAMP-CRA signature is checked against autobahn.wamp.auth.compute_wcs, and the
client session machine is driven with router frames that autobahn wrote,
its own frames being parsed back by autobahn.
"""

import json
import os
import random
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402

import txaio  # noqa: E402

txaio.use_asyncio()

from autobahn.wamp import message as m  # noqa: E402
from autobahn.wamp import role  # noqa: E402
from autobahn.wamp.auth import compute_wcs  # noqa: E402
from autobahn.wamp.serializer import JsonSerializer  # noqa: E402

SECRET = "Vq3T0n5xQm6b2wYk8rJdZ1pLcF7hEsUa4NgRiO9tKyA"
UUID = "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52"
SESSION = 4739282046471166
CHALLENGE = json.dumps({"authid": UUID, "authrole": "board", "authmethod": "wampcra",
                        "authprovider": "iotronic", "nonce": "kY2x0NqT3mZ8vR1wC5hJ9a",
                        "timestamp": "2026-11-23T18:02:11.204Z", "session": SESSION},
                       separators=(",", ":"))

SER = JsonSerializer()


def frame(msg):
    """autobahn's JSON text of one message."""
    payload, binary = SER.serialize(msg)
    assert not binary
    return payload.decode("utf-8")


def unframe(text):
    """autobahn's parse of one frame."""
    msgs = SER.unserialize(text.encode("utf-8"))
    assert len(msgs) == 1
    return msgs[0]


def wampcheck(args, lines):
    """Runs wampcheck with one input per line; returns its output lines."""
    r = subprocess.run([iottest.bin_path("wampcheck")] + args,
                       input="".join(line + "\n" for line in lines).encode("utf-8"),
                       capture_output=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError("wampcheck %s failed (%d): %s" % (args, r.returncode, r.stderr))
    # Split on newlines only: U+2028 and friends are valid inside a frame.
    text = r.stdout.decode("utf-8")
    return text.split("\n")[:-1] if text else []


# ---------------------------------------------------------------- payloads

def rand_string(rng):
    pools = ["abcxyz", "ÀéñüßΩЖ中文", "\"\\/\b\f\n\r\t\x01\x1f", "😀🎉", "\u2028\u2029\ufeff", " .#"]
    return "".join(rng.choice(rng.choice(pools)) for _ in range(rng.randint(0, 12)))


def rand_value(rng, depth=0):
    kinds = ["int", "bigint", "float", "str", "bool", "null"]
    if depth < 6:
        kinds += ["list", "dict"] * 2
    kind = rng.choice(kinds)
    if kind == "int":
        return rng.randint(-1000, 1000)
    if kind == "bigint":
        return rng.choice([1, -1]) * rng.randint(2 ** 31, 2 ** 53)
    if kind == "float":
        return rng.choice([0.1, -2.5e-7, 1.5e300, 3.141592653589793, rng.uniform(-1e6, 1e6),
                           rng.random() * 10.0 ** rng.randint(-300, 300)])
    if kind == "str":
        return rand_string(rng)
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "list":
        return [rand_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rand_string(rng): rand_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def rand_args(rng):
    return [rand_value(rng) for _ in range(rng.randint(0, 4))] if rng.random() < 0.8 else None


def rand_kwargs(rng):
    return {rand_string(rng): rand_value(rng) for _ in range(rng.randint(0, 4))} \
        if rng.random() < 0.6 else None


def rand_id(rng):
    return rng.choice([1, 2, 2 ** 31, 2 ** 53, rng.randint(1, 2 ** 53)])


def every_type(rng):
    """One autobahn message of every type of the profile, with rng payloads."""
    args, kwargs = rand_args(rng), rand_kwargs(rng)
    rid = rand_id(rng)
    return [
        m.Hello("s4t", role.DEFAULT_CLIENT_ROLES),
        m.Hello("s4t", {"caller": role.RoleCallerFeatures()}, authmethods=["wampcra"], authid=UUID),
        m.Welcome(SESSION, {"broker": role.RoleBrokerFeatures(), "dealer": role.RoleDealerFeatures()},
                  realm="s4t", authid=UUID, authrole="board", authmethod="wampcra",
                  authprovider="iotronic"),
        m.Abort("wamp.error.protocol_violation", message=rand_string(rng)),
        m.Challenge("wampcra", extra={"challenge": CHALLENGE}),
        m.Authenticate("xPYYDMKKleGD/sUwwtb5stSRjcbp06SUi3BbWog2T5I=", extra={}),
        m.Goodbye("wamp.close.system_shutdown", message=rand_string(rng)),
        m.Error(m.Call.MESSAGE_TYPE, rid, "wamp.error.not_authorized", args=args, kwargs=kwargs),
        m.Error(m.Invocation.MESSAGE_TYPE, rid, "wamp.error.runtime_error", args=["boom"]),
        m.Publish(rid, "iotronic.board.%s.temp" % UUID, args=args, kwargs=kwargs,
                  acknowledge=True, exclude_me=False),
        m.Published(rid, rand_id(rng)),
        m.Subscribe(rid, "iotronic.board.%s.temp" % UUID),
        m.Subscribed(rid, rand_id(rng)),
        m.Unsubscribe(rid, rand_id(rng)),
        m.Unsubscribed(rid),
        m.Event(rand_id(rng), rand_id(rng), args=args, kwargs=kwargs),
        m.Call(rid, "wagent-1.stack4things.connection", args=args, kwargs=kwargs),
        m.Result(rid, args=args, kwargs=kwargs),
        m.Register(rid, "iotronic.%d.%s.DevicePing" % (SESSION, UUID)),
        m.Registered(rid, rand_id(rng)),
        m.Unregister(rid, rand_id(rng)),
        m.Unregistered(rid),
        m.Invocation(rid, rand_id(rng), args=args, kwargs=kwargs),
        m.Yield(rid, args=args, kwargs=kwargs),
    ]


# Where Args sits, by message code.
ARGS_AT = {8: 5, 16: 4, 36: 4, 48: 4, 50: 3, 68: 4, 70: 3}


def norm(lst):
    """autobahn writes null for an Args before Kwargs (and reads null as
    absent); libiotwamp reads it so too and writes [] or nothing."""
    i = ARGS_AT.get(lst[0])
    if i is None:
        return lst
    lst = list(lst)
    if len(lst) > i + 1 and lst[i + 1] is None:
        del lst[i + 1]
    if len(lst) > i and lst[i] is None:
        if len(lst) > i + 1:
            lst[i] = []
        else:
            del lst[i]
    return lst


class CodecAgainstAutobahn(unittest.TestCase):

    def check_parse_both_ways(self, msgs, mode_args):
        frames = [frame(msg) for msg in msgs]
        out = wampcheck(mode_args, frames)
        self.assertEqual(len(out), len(frames))
        for fr, line in zip(frames, out):
            self.assertFalse(line.startswith("ERROR"), "%s refused: %s" % (fr, line))
            # Same content as autobahn's frame...
            self.assertEqual(json.loads(line), norm(json.loads(fr)), "content of %s" % fr)
            # ...and autobahn reads our text as it reads its own: compared as
            # what it writes back, since its objects keep null Args apart from [].
            self.assertEqual(norm(json.loads(frame(unframe(line)))), norm(json.loads(fr)),
                             "autobahn's reading of %s" % line)

    def test_every_message_type(self):
        rng = random.Random(1)
        self.check_parse_both_ways(every_type(rng), [])

    def test_every_message_type_raw(self):
        rng = random.Random(2)
        self.check_parse_both_ways(every_type(rng), ["--raw"])

    def test_many_random_payloads(self):
        rng = random.Random(3)
        msgs = []
        for _ in range(150):
            msgs += every_type(rng)
        self.check_parse_both_ways(msgs, [])

    def test_cancel_and_interrupt_are_refused_by_name(self):
        frames = [frame(m.Cancel(5)), frame(m.Interrupt(6))]
        out = wampcheck([], frames)
        self.assertEqual(out, ["ERROR CANCEL is not supported by this router's profile",
                               "ERROR INTERRUPT is not supported by this router's profile"])

    def test_exact_integers_and_raw_pass_through(self):
        # 2^53 and friends print exactly; beyond 2^53 only --raw keeps the digits.
        big = [2 ** 53, -(2 ** 53), SESSION, 2 ** 31 + 1]
        fr = frame(m.Call(1, "a.b", args=big))
        self.assertEqual(json.loads(wampcheck([], [fr])[0])[4], big)
        huge = frame(m.Call(1, "a.b", args=[2 ** 64 + 1]))
        self.assertEqual(json.loads(wampcheck(["--raw"], [huge])[0])[4], [2 ** 64 + 1])

    def test_frames_autobahn_refuses_are_refused(self):
        bad = [
            '[48, "1", {}, "a.b"]',           # request id of the wrong type
            '[48, 1, [], "a.b"]',             # options not a dict
            '[48, 1, {}, 7]',                 # procedure not a string
            '[48, 1, {}, "a.b", {}]',         # args not a list
            '[48, 1, {}, "a.b", [], []]',     # kwargs not a dict
            '[48, 9007199254740993, {}, "a.b"]',
            '[48, -1, {}, "a.b"]',
            '[48, 1.5, {}, "a.b"]',
            '[1, "s4t", {}]',                 # HELLO without roles
            '[2, 1, {}]',                     # WELCOME without roles
            '[6, {}]',
            '[8, 50, 1, {}, "e"]',            # ERROR for a RESULT
            '[65, 1]',
            '[999, 1]',
            '[]',
            '{}',
        ]
        out = wampcheck([], bad)
        for fr, line in zip(bad, out):
            with self.assertRaises(Exception, msg="autobahn accepts %s" % fr):
                unframe(fr)
            self.assertTrue(line.startswith("ERROR "), "wampcheck accepts %s: %s" % (fr, line))


class CraAgainstAutobahn(unittest.TestCase):

    def test_contract_vector_and_random_challenges(self):
        rng = random.Random(4)
        cases = [(SECRET, CHALLENGE)]
        for _ in range(50):
            secret = "".join(rng.choice("ABCxyz0189-_") for _ in range(43))
            challenge = json.dumps({"authid": UUID, "nonce": rand_string(rng), "session": rand_id(rng)},
                                   separators=(",", ":"), ensure_ascii=False)
            cases.append((secret, challenge))
        for secret, challenge in cases:
            out = wampcheck(["sign", secret], [challenge])
            want = compute_wcs(secret.encode("utf-8"), challenge.encode("utf-8")).decode("ascii")
            self.assertEqual(out, [want], challenge)
        self.assertEqual(wampcheck(["sign", SECRET], [CHALLENGE]),
                         ["xPYYDMKKleGD/sUwwtb5stSRjcbp06SUi3BbWog2T5I="])


class SessionAgainstAutobahn(unittest.TestCase):

    def run_script(self, lines, extra=(), fails=()):
        out = wampcheck(["session"] + list(extra), lines)
        sent = [unframe(line[len("send "):]) for line in out if line.startswith("send ")]
        events = [line[len("event "):] for line in out if line.startswith("event ")]
        self.assertEqual([line for line in out if line.startswith("fail ")], list(fails))
        return sent, events

    def test_cra_call_register_yield_goodbye(self):
        proc = "iotronic.%d.%s.DevicePing" % (SESSION, UUID)
        reply = json.dumps({"message": "bench-07 @ x", "result": "SUCCESS", "req_id": "0e7c"})
        router = [
            m.Challenge("wampcra", extra={"challenge": CHALLENGE}),
            m.Welcome(SESSION, {"dealer": role.RoleDealerFeatures()}, authid=UUID,
                      authrole="board", authmethod="wampcra"),
        ]
        script = ["hello", "recv " + frame(router[0]), "recv " + frame(router[1]),
                  'call wagent-1.stack4things.connection [[], {"uuid": "%s", "session": %d}]'
                  % (UUID, SESSION),
                  "register " + proc,
                  "recv " + frame(m.Result(1, args=['{"message": "", "result": "SUCCESS"}'])),
                  "recv " + frame(m.Registered(2, 5170339201412113)),
                  "recv " + frame(m.Invocation(1, 5170339201412113, args=[{"uuid": "0e7c"}])),
                  "yield 1 " + reply,
                  "goodbye",
                  "recv " + frame(m.Goodbye("wamp.close.goodbye_and_out"))]
        sent, events = self.run_script(script, ["--authid", UUID, "--secret", SECRET])
        hello, auth, call, register, yld, bye = sent
        self.assertIsInstance(hello, m.Hello)
        self.assertEqual(hello.realm, "s4t")
        self.assertEqual(hello.authmethods, ["wampcra"])
        self.assertEqual(hello.authid, UUID)
        self.assertEqual(sorted(hello.roles), ["callee", "caller", "publisher", "subscriber"])
        self.assertEqual(auth.signature,
                         compute_wcs(SECRET.encode(), CHALLENGE.encode()).decode("ascii"))
        self.assertEqual(call, m.Call(1, "wagent-1.stack4things.connection", args=[],
                                      kwargs={"uuid": UUID, "session": SESSION}))
        self.assertEqual(register, m.Register(2, proc))
        self.assertEqual(yld, m.Yield(1, args=[reply]))
        self.assertEqual(bye, m.Goodbye("wamp.close.close_realm"))
        self.assertTrue(events[0].startswith("CHALLENGE uri=wampcra"))
        self.assertEqual(events[1:], [
            "WELCOME id=%d" % SESSION,
            'RESULT request=1 args=["{\\"message\\": \\"\\", \\"result\\": \\"SUCCESS\\"}"]',
            "REGISTERED request=2 id=5170339201412113",
            'INVOCATION request=1 id=5170339201412113 args=[{"uuid":"0e7c"}]',
            "GOODBYE uri=wamp.close.goodbye_and_out",
        ])

    def test_anonymous_publish_subscribe_and_router_goodbye(self):
        topic = "iotronic.board.%s.temp" % UUID
        script = ["hello",
                  "recv " + frame(m.Welcome(7, {"broker": role.RoleBrokerFeatures()})),
                  "subscribe " + topic,
                  "recv " + frame(m.Subscribed(1, 88)),
                  "recv " + frame(m.Event(88, 99, args=[21.5], kwargs={"unit": "°C"})),
                  "publish-ack %s [[1], {\"a\": null}]" % topic,
                  "recv " + frame(m.Published(2, 1234)),
                  "call a.b",
                  "recv " + frame(m.Goodbye("wamp.close.system_shutdown", message="bye"))]
        sent, events = self.run_script(script)
        self.assertEqual(sent[0], m.Hello("s4t", sent[0].roles))
        self.assertIsNone(sent[0].authmethods)
        self.assertEqual(sent[1:], [
            m.Subscribe(1, topic),
            m.Publish(2, topic, args=[1], kwargs={"a": None}, acknowledge=True),
            m.Call(3, "a.b"),
            m.Goodbye("wamp.close.goodbye_and_out"),
        ])
        self.assertEqual(events, [
            "WELCOME id=7",
            "SUBSCRIBED request=1 id=88",
            'EVENT id=88 publication=99 args=[21.5] kwargs={"unit":"°C"}',
            "PUBLISHED request=2 id=1234",
            "ERROR local req_type=CALL request=3 uri=wamp.error.canceled",
            "GOODBYE uri=wamp.close.system_shutdown text=bye",
        ])

    def test_router_misbehaviour_aborts(self):
        script = ["hello",
                  "recv " + frame(m.Welcome(7, {"dealer": role.RoleDealerFeatures()})),
                  "recv " + frame(m.Welcome(8, {"dealer": role.RoleDealerFeatures()}))]
        sent, events = self.run_script(script, fails=["fail recv: feed: Protocol error"])
        self.assertEqual(sent[1], m.Abort("wamp.error.protocol_violation",
                                          message="WELCOME after the session was established"))
        self.assertEqual(events[1], "ABORT local uri=wamp.error.protocol_violation "
                                    "text=WELCOME after the session was established")


if __name__ == "__main__":
    iottest.main()
