#!/usr/bin/python3
"""iotronic-api over real HTTP, with a conductor, PostgreSQL and RabbitMQ
(iotronic-api-v1.md sections 1-4): conventions, every resource's routes,
their documented errors, pagination, visibility between projects, policy."""

import http.client
import json
import os
import sys
import time
import unittest
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402
from test_api_support import FakeWagent, Stack, fault, replied  # noqa: E402

P1 = {"X-User-Id": "u1", "X-Project-Id": "p1", "X-Roles": "admin_iot_project"}
P2 = {"X-User-Id": "u2", "X-Project-Id": "p2", "X-Roles": "admin_iot_project"}
ADMIN = {"X-User-Id": "adm", "X-Project-Id": "p1", "X-Roles": "admin, admin_iot_project"}
LOC = [{"latitude": "38.19", "longitude": "15.55", "altitude": "0"}]
RANGE = "The supported version range is: [1.0, 1.0]."


def board_body(name, code=None, **kw):
    b = {"name": name, "code": code or ("C-" + name), "type": "gateway", "location": LOC}
    b.update(kw)
    return b


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = Stack(conductors=1, api=True)

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    def req(self, method, path, body=None, headers=P1, raw=None, extra=None):
        h = dict(headers or {})
        h.update(extra or {})
        return self.st.http(method, path, body=body, headers=h, raw=raw)

    def ok(self, method, path, body=None, headers=P1, status=200):
        s, h, j, raw = self.req(method, path, body, headers)
        self.assertEqual(s, status, raw)
        return j

    def err(self, method, path, status, message, body=None, headers=P1, raw=None, extra=None):
        s, h, j, data = self.req(method, path, body, headers, raw, extra)
        self.assertEqual(s, status, data)
        self.assertTrue(h["content-type"].startswith("application/json"))
        self.assertEqual(fault(j), message)
        self.assertEqual(json.loads(j["error_message"])["faultcode"],
                         "Server" if status >= 500 else "Client")
        return h

    def board(self, name, headers=P1, **kw):
        return self.ok("POST", "/v1/boards", board_body(name, **kw), headers, 201)

    # ------------------------------------------------------------ 1.2-1.7

    def test_root_and_v1_documents(self):
        s, h, j, _ = self.req("GET", "/", headers={})
        base = "http://127.0.0.1:%d" % self.st.port
        self.assertEqual(s, 200)
        self.assertEqual(j["name"], "OpenStack Iotronic API")
        self.assertEqual(j["description"],
                         "Iotronic is an OpenStack project which aims to provision baremetal machines.")
        v = {"id": "v1", "links": [{"href": base + "/v1/", "rel": "self"}], "status": "CURRENT",
             "version": "1.0", "min_version": "1.0"}
        self.assertEqual(j["versions"], [v])
        self.assertEqual(j["default_version"], v)
        self.assertNotIn("x-openstack-iotronic-api-version", h)
        s, h, j, raw = self.req("GET", "/v1/", headers={})
        self.assertEqual(list(j.keys()), ["id", "boards", "plugins", "services", "ports",
                                          "webservices", "fleets", "enabledwebservices", "requests"])
        self.assertEqual(j["boards"], [{"href": base + "/v1/boards/", "rel": "self"},
                                       {"href": base + "/boards/", "rel": "bookmark"}])
        self.assertEqual(h["x-openstack-iotronic-api-version"], "1.0")
        self.assertTrue(h["openstack-request-id"].startswith("req-"))
        uuid.UUID(h["openstack-request-id"][4:])

    def test_version_negotiation(self):
        for v, msg in (("1.9", "Version 1.9 was requested but the minor version is not supported "
                                "by this service. " + RANGE),
                       ("2.0", "Mutually exclusive versions requested. Version 2.0 requested but "
                                "not supported by this service. " + RANGE),
                       ("one", "Invalid value for X-OpenStack-Iotronic-API-Version header")):
            h = self.err("GET", "/v1/boards", 406, msg,
                         extra={"X-OpenStack-Iotronic-API-Version": v})
            self.assertEqual(h["x-openstack-iotronic-api-minimum-version"], "1.0")
            self.assertEqual(h["x-openstack-iotronic-api-maximum-version"], "1.0")
            self.assertNotIn("x-openstack-iotronic-api-version", h)
        for v in ("1.0", "latest", "LATEST"):
            s, h, j, _ = self.req("GET", "/v1/boards", extra={"X-OpenStack-Iotronic-API-Version": v})
            self.assertEqual(s, 200)
        # Unknown paths under /v1 get the headers too.
        h = self.err("GET", "/v1/nothing", 404, "The resource could not be found.")
        self.assertEqual(h["x-openstack-iotronic-api-maximum-version"], "1.0")

    def test_paths_methods_and_media_types(self):
        b = self.board("path-1")
        self.assertEqual(self.ok("GET", "/boards/" + b["uuid"])["uuid"], b["uuid"])
        self.assertEqual(self.ok("GET", "/v1/boards/path-1/")["uuid"], b["uuid"])
        self.board("a.json")
        self.assertEqual(self.ok("GET", "/v1/boards/a.json")["name"], "a.json")
        self.assertEqual(self.ok("GET", "/v1/boards/a%2Ejson")["name"], "a.json")
        h = self.err("PUT", "/v1/boards", 405, "The method PUT is not allowed for this resource.",
                     body={})
        self.assertIn("POST", h["allow"])
        self.err("GET", "/v1/boards/x/y/z", 404, "The resource could not be found.")
        self.err("POST", "/v1/boards", 415, "Unknown mimetype: text/plain", raw=b"name=x",
                 extra={"Content-Type": "text/plain"})
        self.err("PATCH", "/v1/boards/path-1", 415, "Unknown mimetype: application/json-patch+json",
                 raw=b'[{"op": "replace"}]', extra={"Content-Type": "application/json-patch+json"})
        self.err("POST", "/v1/boards", 413, "Request is too large.", raw=b"{" + b" " * (2 << 20) + b"}",
                 extra={"Content-Type": "application/json"})
        s, h, j, raw = self.req("HEAD", "/v1/boards/path-1")
        self.assertEqual((s, raw), (200, b""))

    def test_bad_bodies(self):
        cases = [
            (None, b"", 'Missing argument: "Board"'),
            (None, b"{bad", "Request is not in valid JSON format"),
            ({"name": "x", "bogus": 1}, None, "Unknown attribute for argument Board: bogus"),
            ({"status": "online"}, None, "Invalid input for field/attribute status. Value: "
                                         "'online'. Cannot set read only field."),
            ({"name": 3}, None, "Invalid input for field/attribute name. Value: '3'. Wrong type. "
                                "Expected 'string', got 'integer'"),
            ({"name": "n" * 256, "code": "c", "location": LOC}, None,
             "Invalid input for field/attribute name. Value: '%s'. Value should have a maximum "
             "character requirement of 255" % ("n" * 256)),
            ({"code": "c", "location": LOC}, None, "Name is not specified."),
            ({"name": "has space", "code": "c", "location": LOC}, None,
             "Cannot create board with invalid name has space"),
            ({"name": "detail", "code": "c", "location": LOC}, None,
             "Cannot create board with invalid name detail"),
            ({"name": "ok-1", "location": LOC}, None, "Code is not specified."),
            ({"name": "ok-1", "code": "c1", "location": []}, None, "Location is not specified."),
            ({"name": "ok-1", "code": "c1", "location": LOC, "fleet": "nofleet"}, None,
             "Fleet nofleet could not be found."),
        ]
        for body, raw, msg in cases:
            self.err("POST", "/v1/boards", 400 if "could not be found" not in msg else 404, msg,
                     body=body, raw=raw, extra={"Content-Type": "application/json"} if raw is not None else None)

    # -------------------------------------------------------------- boards

    def test_board_lifecycle_and_conflicts(self):
        b = self.board("life-1", extra={"k": "v"}, mobile="yes")
        self.assertEqual(list(b.keys()), ["uuid", "code", "status", "name", "type", "agent", "owner",
                                          "session", "project", "fleet", "mobile", "lr_version",
                                          "connectivity", "links", "location", "extra", "config",
                                          "created_at", "updated_at"])
        self.assertEqual((b["status"], b["owner"], b["project"], b["mobile"], b["extra"]),
                         ("registered", "u1", "p1", True, {"k": "v"}))
        self.assertEqual(b["config"]["iotronic"]["board"]["code"], "C-life-1")
        self.assertIsNone(b["config"]["iotronic"]["wamp"]["registration-agent"]["url"])
        self.assertIsNone(b["updated_at"])
        self.assertNotIn("wstun_ip", b)
        self.err("POST", "/v1/boards", 409, "A board with life-1 is already associated to another board.",
                 body=board_body("life-1", "OTHER"))
        self.err("POST", "/v1/boards", 409, "A board with code C-life-1 already exists.",
                 body=board_body("life-2", "C-life-1"))
        u = self.ok("PATCH", "/v1/boards/life-1", {"name": "life-1b", "type": "server",
                                                    "location": [{"latitude": "1", "longitude": "2",
                                                                  "altitude": "3"}]})
        self.assertEqual((u["name"], u["type"], u["location"][0]["latitude"]), ("life-1b", "server", "1"))
        self.assertIsNotNone(u["updated_at"])
        self.assertIsNotNone(u["location"][0]["updated_at"])
        self.err("PATCH", "/v1/boards/life-1b", 400, "Cannot overwrite UUID for an existing Board.",
                 body={"uuid": str(uuid.uuid4())})
        self.err("PATCH", "/v1/boards/life-1b", 400, "Cannot update board with invalid name a b",
                 body={"name": "a b"})
        self.assertEqual(self.ok("PATCH", "/v1/boards/life-1b", {})["name"], "life-1b")
        s, h, j, raw = self.req("DELETE", "/v1/boards/life-1b",
                                extra={"Content-Type": "application/octet-stream"})
        self.assertEqual((s, raw), (204, b""))
        self.assertNotIn("content-type", h)
        self.err("GET", "/v1/boards/life-1b", 404, "Board life-1b could not be found.")
        self.err("GET", "/v1/boards/a%20b", 400, "Expected a logical name or uuid but received a b.")

    def test_board_fields(self):
        self.board("fields-1")
        j = self.ok("GET", "/v1/boards/fields-1?fields=name,bogus,UUID")
        self.assertEqual(list(j.keys()), ["uuid", "name", "links", "location"])
        j = self.ok("GET", "/v1/boards?fields=name&limit=1")
        self.assertEqual(list(j["boards"][0].keys()), ["name", "links", "location"])
        p3 = {"X-User-Id": "u3", "X-Project-Id": "p3", "X-Roles": "admin_iot_project"}
        self.board("fields-3", headers=p3)
        lst = self.ok("GET", "/v1/boards?limit=1", headers=p3)["boards"][0]
        self.assertEqual(list(lst.keys()), ["uuid", "code", "status", "name", "type", "agent",
                                            "session", "fleet", "lr_version", "connectivity",
                                            "links", "location"])
        det = self.ok("GET", "/v1/boards/detail?limit=1")["boards"][0]
        self.assertIn("config", det)

    def test_pagination_sorting_and_filters(self):
        for i in range(7):
            self.board("page-%d" % i, headers=P2, type=None if i % 2 else "t%d" % (i % 3))
        self.st.sql("UPDATE boards SET status = 'offline' WHERE name IN ('page-1', 'page-4')")
        seen, url = [], "/v1/boards?limit=2&sort_key=type&sort_dir=desc&fields=name,type"
        while url:
            j = self.ok("GET", url, headers=P2)
            seen += [(b["type"], b["name"]) for b in j["boards"]]
            nxt = j.get("next")
            if nxt:
                parts = urllib.parse.urlsplit(nxt)
                self.assertEqual(parts.path, "/v1/boards")
                q = urllib.parse.parse_qs(parts.query)
                self.assertEqual(q["fields"], ["name,type"])
                self.assertEqual(q["sort_key"], ["type"])
                url = parts.path + "?" + parts.query
            else:
                url = None
        expect = sorted([(("t%d" % (i % 3)) if i % 2 == 0 else None, "page-%d" % i) for i in range(7)],
                        key=lambda t: (t[0] is not None, t[0] or "", ), reverse=True)
        self.assertEqual(len(seen), 7)
        self.assertEqual([t for t, _ in seen], [t for t, _ in expect])
        self.assertEqual([n for _, n in seen[-3:]], ["page-5", "page-3", "page-1"])  # nulls last, id desc
        j = self.ok("GET", "/v1/boards?status=offline&limit=1", headers=P2)
        self.assertIn("status=offline", j["next"])
        names = {b["name"] for b in self.ok("GET", j["next"].split(str(self.st.port), 1)[1],
                                             headers=P2)["boards"]} | {j["boards"][0]["name"]}
        self.assertEqual(names, {"page-1", "page-4"})
        self.err("GET", "/v1/boards?limit=0", 400, "Limit must be positive")
        self.err("GET", "/v1/boards?limit=x", 400, "Invalid input for field/attribute limit. "
                 "Value: 'x'. unable to convert to int")
        self.err("GET", "/v1/boards?sort_key=extra", 400,
                 "The sort_key value extra is an invalid field for sorting")
        self.err("GET", "/v1/boards?sort_key=nope", 400,
                 'The sort_key value "nope" is an invalid field for sorting')
        self.err("GET", "/v1/boards?sort_dir=up", 400,
                 "Invalid sort direction: up. Acceptable values are 'asc' or 'desc'")
        self.err("GET", "/v1/boards?foo=1&bar=2", 400, 'Unknown argument: "foo, bar"')
        m = str(uuid.uuid4())
        self.err("GET", "/v1/boards?marker=" + m, 404, "Board %s could not be found." % m)

    def test_visibility_between_projects(self):
        a = self.board("vis-a", headers=P1)
        self.board("vis-b", headers=P2)
        self.err("GET", "/v1/boards/" + a["uuid"], 404, "Board %s could not be found." % a["uuid"],
                 headers=P2)
        self.err("DELETE", "/v1/boards/vis-a", 404, "Board vis-a could not be found.", headers=P2)
        names = {b["name"] for b in self.ok("GET", "/v1/boards", headers=P2)["boards"]}
        self.assertIn("vis-b", names)
        self.assertNotIn("vis-a", names)
        self.err("GET", "/v1/boards?project=p1", 400,
                 "Project parameter can be used only by the administrator.", headers=P2)
        self.err("GET", "/v1/boards?all_projects=1", 400,
                 "all_projects parameter can be used only by the administrator.", headers=P2)
        names = {b["name"] for b in self.ok("GET", "/v1/boards?project=p2", headers=ADMIN)["boards"]}
        self.assertIn("vis-b", names)
        self.assertNotIn("vis-a", names)
        names = {b["name"] for b in self.ok("GET", "/v1/boards?all_projects=true",
                                             headers=ADMIN)["boards"]}
        self.assertTrue({"vis-a", "vis-b"} <= names)
        self.assertEqual(self.ok("GET", "/v1/boards/" + a["uuid"], headers=ADMIN)["name"], "vis-a")
        # No identity headers: only the null project's rows.
        self.board("vis-null", headers={})
        names = {b["name"] for b in self.ok("GET", "/v1/boards", headers={})["boards"]}
        self.assertEqual(names, {"vis-null"})

    # ---------------------------------------------------- board calls

    def test_board_action_through_the_wagent(self):
        b = self.board("act-1")
        self.err("POST", "/v1/boards/act-1/action", 400, "Board %s is not connected." % b["uuid"],
                 body={"action": "DevicePing"})
        self.err("POST", "/v1/boards/act-1/action", 400, "Action is not specified.", body={})
        self.err("POST", "/v1/boards/act-1/action", 400, "Invalid Action Nope for the board.",
                 body={"action": "Nope"})
        self.st.sql("INSERT INTO wampagents (hostname, wsurl) VALUES ('wa-api', "
                    "'wss://iot.example.org:8181/') ON CONFLICT DO NOTHING")
        self.st.sql("UPDATE boards SET status='online', agent='wa-api', lr_version='lrc-0.1' "
                    "WHERE uuid = :'p1'", b["uuid"])
        answers = iter([replied("act-1 @ now"), replied("bad", "ERROR"), replied("reset")])
        w = FakeWagent(self.st.vhost, "wa-api", lambda a: next(answers))
        w.start()
        w.ready.wait(10)
        self.addCleanup(w.stop)
        s, h, j, raw = self.req("POST", "/v1/boards/act-1/action",
                                {"action": "DevicePing", "parameters": {}})
        self.assertEqual((s, j), (200, "act-1 @ now"))
        req_uuid = h["x-iotronic-request-uuid"]
        r = self.ok("GET", "/v1/requests/" + req_uuid)
        self.assertEqual((r["action"], r["status"], r["destination_uuid"]),
                         ("DevicePing", "COMPLETED", b["uuid"]))
        res = self.ok("GET", "/v1/requests/%s/results" % req_uuid)["results"]
        self.assertEqual([(x["result"], x["message"]) for x in res], [("SUCCESS", "act-1 @ now")])
        h = self.err("POST", "/v1/boards/act-1/action", 502,
                     "Error in the execution of DeviceEcho on %s: bad" % b["uuid"],
                     body={"action": "DeviceEcho", "parameters": {"say": "x"}})
        self.assertIn("x-iotronic-request-uuid", h)
        g = self.ok("GET", "/v1/boards/act-1")
        self.assertEqual(g["wstun_ip"], "iot.example.org")
        self.err("GET", "/v1/requests/" + req_uuid, 404, "Request %s could not be found." % req_uuid,
                 headers=P2)
        self.err("GET", "/v1/requests/nope", 400, "Expected a uuid but received nope.")
        # Deleting an online board resets it first and names that request.
        s, h, j, raw = self.req("DELETE", "/v1/boards/act-1")
        self.assertEqual(s, 204)
        r = self.ok("GET", "/v1/requests/" + h["x-iotronic-request-uuid"])
        self.assertEqual(r["action"], "DeviceFactoryReset")
        self.assertEqual(self.ok("GET", "/v1/requests?fields=action&sort_dir=desc&limit=1")
                         ["requests"][0]["action"], "DeviceFactoryReset")

    def test_plugin_and_service_calls_through_the_wagent(self):
        b = self.board("calls-1")
        self.st.sql("INSERT INTO wampagents (hostname, wsurl) VALUES ('wa-calls', "
                    "'ws://10.0.0.5:8181/') ON CONFLICT DO NOTHING")
        self.st.sql("UPDATE boards SET status='online', agent='wa-calls', lr_version='lrc-0.1' "
                    "WHERE uuid = :'p1'", b["uuid"])

        def script(args):
            m = args["method"]
            return replied({"PluginInject": "Plugin calls-pl injected", "PluginCall": {"v": 42},
                            "PluginRemove": "removed", "ServiceEnable": "exposed",
                            "ServicesStatus": {"tunnels": []}, "ServiceRestore": "restored",
                            "ServiceDisable": "disabled"}[m])
        w = FakeWagent(self.st.vhost, "wa-calls", script)
        w.start()
        w.ready.wait(10)
        self.addCleanup(w.stop)
        p = self.ok("POST", "/v1/plugins", {"name": "calls-pl", "code": "c", "parameters": {"n": 1}},
                    status=201)
        s, h, j, _ = self.req("PUT", "/v1/boards/calls-1/plugins", {"plugin": "calls-pl",
                                                                     "onboot": "yes"})
        self.assertEqual((s, j), (200, "Plugin calls-pl injected"))
        self.assertIn("x-iotronic-request-uuid", h)
        inj = self.ok("GET", "/v1/boards/calls-1/plugins")["injections"]
        self.assertEqual([(i["plugin"], i["status"], i["onboot"]) for i in inj],
                         [(p["uuid"], "injected", True)])
        s, h, j, _ = self.req("POST", "/v1/boards/calls-1/plugins/calls-pl",
                              {"action": "PluginCall", "parameters": {"n": 2}})
        self.assertEqual((s, j), (200, '{"v":42}'))
        s, h, _, _ = self.req("DELETE", "/v1/boards/calls-1/plugins/calls-pl")
        self.assertEqual(s, 204)
        self.assertIn("x-iotronic-request-uuid", h)
        self.assertEqual(self.ok("GET", "/v1/boards/calls-1/plugins"), {"injections": []})
        self.ok("POST", "/v1/services", {"name": "calls-sv", "port": 80, "protocol": "TCP"},
                status=201)
        s, _, j, _ = self.req("POST", "/v1/boards/calls-1/services/calls-sv/action",
                              {"action": "ServiceEnable"})
        self.assertEqual((s, j), (200, "exposed"))
        exp = self.ok("GET", "/v1/boards/calls-1/services")["exposed"]
        self.assertEqual(len(exp), 1)
        self.assertTrue(50000 <= exp[0]["public_port"] <= 60000)
        s, _, j, _ = self.req("GET", "/v1/boards/calls-1/services/status")
        self.assertEqual((s, j), (200, '{"tunnels":[]}'))
        s, h, j, _ = self.req("GET", "/v1/boards/calls-1/services/restore")
        self.assertEqual((s, j), (200, {"exposed": exp}))
        self.assertIn("x-iotronic-request-uuid", h)
        s, _, j, _ = self.req("POST", "/v1/boards/calls-1/services/calls-sv/action",
                              {"action": "ServiceDisable"})
        self.assertEqual((s, j), (200, "disabled"))
        self.assertEqual(self.ok("GET", "/v1/boards/calls-1/services"), {"exposed": []})
        methods = []
        while not w.calls.empty():
            methods.append(w.calls.get()[1]["method"])
        self.assertEqual(methods, ["PluginInject", "PluginCall", "PluginRemove", "ServiceEnable",
                                   "ServicesStatus", "ServiceRestore", "ServiceDisable"])

    # ----------------------------------------------------------- plugins

    def test_plugins(self):
        p = self.ok("POST", "/v1/plugins", {"name": "pl-own", "code": "print(1)\n", "callable": "true",
                                            "parameters": {"a": 1}}, status=201)
        self.assertEqual(list(p.keys()), ["uuid", "name", "code", "public", "owner", "callable",
                                          "parameters", "links", "extra", "created_at", "updated_at"])
        self.assertEqual((p["code"], p["owner"], p["callable"], p["public"]),
                         ("print(1)\n", "u1", True, False))
        pub = self.ok("POST", "/v1/plugins", {"name": "pl-pub", "code": "x", "public": True},
                      headers=P2, status=201)
        names = [x["name"] for x in self.ok("GET", "/v1/plugins")["plugins"]]
        self.assertIn("pl-own", names)
        self.assertNotIn("pl-pub", names)
        names = [x["name"] for x in self.ok("GET", "/v1/plugins?with_public=true")["plugins"]]
        self.assertIn("pl-pub", names)
        self.assertEqual(list(self.ok("GET", "/v1/plugins")["plugins"][0].keys()),
                         ["uuid", "name", "public", "owner", "callable", "links"])
        self.assertEqual([x["name"] for x in self.ok("GET", "/v1/plugins/public")["plugins"]],
                         ["pl-pub"])
        self.assertEqual(self.ok("GET", "/v1/plugins/" + pub["uuid"])["name"], "pl-pub")
        self.err("GET", "/v1/plugins/pl-own", 404, "Plugin pl-own could not be found.", headers=P2)
        self.err("GET", "/v1/plugins?all_plugins=true", 400,
                 "all_plugins parameter can only be used  by the administrator.")
        self.err("GET", "/v1/plugins?fields=name,bogus", 400, 'Field(s) "bogus" are not valid')
        self.err("PATCH", "/v1/plugins/pl-own", 400, "Cannot overwrite UUID for an existing Plugin.",
                 body={"uuid": str(uuid.uuid4())})
        self.assertEqual(self.ok("PATCH", "/v1/plugins/pl-own", {"code": "new"})["code"], "new")
        self.err("POST", "/v1/plugins", 400, "Cannot create plugin with invalid name public",
                 body={"name": "public"})
        self.err("POST", "/v1/plugins", 409, "A plugin with UUID %s already exists." % p["uuid"],
                 body={"name": "again", "uuid": p["uuid"]})
        s, _, _, _ = self.req("DELETE", "/v1/plugins/pl-own")
        self.assertEqual(s, 204)

    # ---------------------------------------------------------- services

    def test_services_and_exposure_lists(self):
        s = self.ok("POST", "/v1/services", {"name": "ssh", "port": "22", "protocol": "TCP"},
                    status=201)
        self.assertEqual((s["port"], s["protocol"], s["project"]), (22, "TCP", "p1"))
        self.assertEqual(list(s.keys()), ["uuid", "name", "project", "port", "protocol", "extra",
                                          "links", "created_at", "updated_at"])
        self.err("POST", "/v1/services", 400, "Port is not specified.", body={"name": "x", "protocol": "TCP"})
        self.err("POST", "/v1/services", 400, "Protocol is not specified.", body={"name": "x", "port": 1})
        self.err("POST", "/v1/services", 400, "Invalid input for field/attribute protocol. Value: "
                 "'SCTP'. Value should be one of: TCP, UDP, ANY",
                 body={"name": "x", "port": 1, "protocol": "SCTP"})
        self.assertEqual([x["name"] for x in self.ok("GET", "/v1/services", headers=P2)["services"]], [])
        self.assertIn("ssh", [x["name"] for x in self.ok("GET", "/v1/services/public")["services"]])
        self.err("GET", "/v1/services/ssh", 404, "Service ssh could not be found.", headers=P2)
        b = self.board("svc-board")
        self.assertEqual(self.ok("GET", "/v1/boards/svc-board/services"), {"exposed": []})
        self.assertEqual(self.ok("GET", "/v1/boards/svc-board/plugins"), {"injections": []})
        self.assertEqual(self.ok("GET", "/v1/boards/svc-board/ports"), {"ports": []})
        self.err("POST", "/v1/boards/svc-board/services/ssh/action", 400,
                 "Invalid Action Nope for the service.", body={"action": "Nope"})
        self.err("POST", "/v1/boards/svc-board/services/ssh/action", 400,
                 "Board %s is not connected." % b["uuid"], body={"action": "ServiceEnable"})
        s2, _, _, _ = self.req("DELETE", "/v1/services/ssh")
        self.assertEqual(s2, 204)

    # ------------------------------------------------------------ fleets

    def test_fleets_and_their_boards(self):
        f = self.ok("POST", "/v1/fleets", {"name": "fl-1", "description": "street lights"}, status=201)
        self.assertEqual(list(f.keys()), ["uuid", "name", "project", "description", "extra", "links",
                                          "created_at", "updated_at"])
        self.board("fl-b1", fleet="fl-1")
        self.board("fl-b2", fleet=f["uuid"])
        j = self.ok("GET", "/v1/fleets/fl-1/boards/?limit=1")
        self.assertEqual(len(j["boards"]), 1)
        self.assertTrue(j["next"].split("?")[0].endswith("/v1/fleets/%s/boards" % f["uuid"]))
        self.assertEqual(len(self.ok("GET", "/v1/fleets/fl-1/boards/detail")["boards"]), 2)
        self.assertIn("street lights", [x["description"] for x in
                                        self.ok("GET", "/v1/fleets/detail")["fleets"]])
        self.err("GET", "/v1/fleets/fl-1", 404, "Fleet fl-1 could not be found.", headers=P2)
        s, _, _, _ = self.req("DELETE", "/v1/fleets/fl-1")
        self.assertEqual(s, 204)
        self.assertIsNone(self.ok("GET", "/v1/boards/fl-b1")["fleet"])

    # ------------------------------------------- the rest of appendix B

    def test_catalogue_of_resource_errors(self):
        b = self.board("cat-1")
        p = self.ok("POST", "/v1/plugins", {"name": "cat-pl", "code": "x", "parameters": {"k": 1}},
                    status=201)
        sv = self.ok("POST", "/v1/services", {"name": "cat-sv", "port": 1, "protocol": "ANY"},
                     status=201)
        f = self.ok("POST", "/v1/fleets", {"name": "cat-fl"}, status=201)
        cases = [
            ("PUT", "/v1/boards/cat-1/plugins", {}, 400, "Plugin is not specified."),
            ("PUT", "/v1/boards/cat-1/plugins", {"plugin": "nope"}, 404,
             "Plugin nope could not be found."),
            ("POST", "/v1/boards/cat-1/plugins/cat-pl", {}, 400, "Action is not specified."),
            ("POST", "/v1/boards/cat-1/plugins/cat-pl", {"action": "PluginRun"}, 400,
             "Invalid Action PluginRun for the plugin."),
            ("POST", "/v1/boards/cat-1/plugins/cat-pl", {"action": "PluginCall",
                                                          "parameters": {"other": 1}}, 400,
             "Parameters are different from the valid ones"),
            ("POST", "/v1/boards/cat-1/plugins/cat-pl", {"action": "PluginStatus"}, 400,
             "Board %s is not connected." % b["uuid"]),
            ("DELETE", "/v1/boards/cat-1/plugins/cat-pl", None, 404,
             "InjectionPlugin could not be found."),
            ("POST", "/v1/boards/cat-1/services/cat-sv/action", {}, 400, "Action is not specified."),
            ("POST", "/v1/boards/cat-1/services/nope/action", {"action": "ServiceEnable"}, 404,
             "Service nope could not be found."),
            ("PUT", "/v1/boards/cat-1/ports", {"subnet": "s"}, 400, "Network is not specified."),
            ("PUT", "/v1/boards/cat-1/webservices", {"port": 80}, 400, "Name is not specified."),
            ("PUT", "/v1/boards/cat-1/webservices", {"name": "a.b", "port": 80}, 400,
             "Cannot create webservice with invalid name a.b"),
            ("PUT", "/v1/boards/cat-1/webservices", {"name": "web"}, 400, "Port is not specified."),
            ("POST", "/v1/boards/cat-1/webservices/enable", {}, 400, "dns is not specified."),
            ("POST", "/v1/boards/cat-1/webservices/enable", {"dns": "d", "zone": "z"}, 400,
             "email is not specified."),
            ("POST", "/v1/boards/cat-1/webservices/enable",
             {"dns": "d", "zone": "bad zone", "email": "e@x.org"}, 400,
             "Invalid input for field/attribute zone. Value: 'bad zone'. Value should be a DNS name"),
            ("POST", "/v1/boards/cat-1/webservices/enable",
             {"dns": "d", "zone": "x.org", "email": "no at"}, 400,
             "Invalid input for field/attribute email. Value: 'no at'. Value should be an email "
             "address"),
            ("DELETE", "/v1/boards/cat-1/webservices/disable", None, 409,
             "Webservices are not available: no Designate/nginx driver is configured."),
            ("GET", "/v1/boards/cat-1/webservices/renew", None, 409,
             "Webservices are not available: no Designate/nginx driver is configured."),
            ("PATCH", "/v1/services/cat-sv", {"uuid": sv["uuid"]}, 400,
             "Cannot overwrite UUID for an existing Service."),
            ("PATCH", "/v1/fleets/cat-fl", {"uuid": f["uuid"]}, 400,
             "Cannot overwrite UUID for an existing Fleet."),
            ("PATCH", "/v1/fleets/cat-fl", {"name": "a b"}, 400,
             "Cannot update fleet with invalid name a b"),
            ("POST", "/v1/services", {"name": "x", "port": 1, "protocol": "TCP", "uuid": sv["uuid"]},
             409, "A Service with UUID %s already exists." % sv["uuid"]),
            ("POST", "/v1/fleets", {"name": "x", "uuid": f["uuid"]}, 409,
             "A Fleet with UUID %s already exists." % f["uuid"]),
            ("POST", "/v1/fleets", {"description": "d"}, 400, "Name is not specified."),
            ("POST", "/v1/fleets", {"name": "f", "description": "d" * 301}, 400,
             "Invalid input for field/attribute description. Value: '%s'. Value should have a "
             "maximum character requirement of 300" % ("d" * 301)),
            ("POST", "/v1/boards", dict(board_body("cat-2"), uuid=b["uuid"]), 409,
             "A board with UUID %s already exists." % b["uuid"]),
            ("GET", "/v1/fleets?fields=name,nope,uuid,also", None, 400,
             'Field(s) "nope, also" are not valid'),
            ("GET", "/v1/services?all_services=1", None, 400,
             "all_services parameter can only be used  by the administrator."),
            ("GET", "/v1/plugins?all_projects=on", None, 400,
             "all_projects parameter can be used only by the administrator."),
            ("GET", "/v1/plugins/public?sort_key=location", None, 400,
             "The sort_key value location is an invalid field for sorting"),
            ("GET", "/v1/services/public?sort_key=location", None, 400,
             "The sort_key value location is an invalid field for sorting"),
            ("GET", "/v1/services?sort_key=location", None, 400,
             'The sort_key value "location" is an invalid field for sorting'),
            ("GET", "/v1/requests?sort_key=extra", None, 400,
             'The sort_key value "extra" is an invalid field for sorting'),
        ]
        for method, path, body, status, msg in cases:
            self.err(method, path, status, msg, body=body)
        self.ok("POST", "/v1/plugins", {"name": "cat-pl", "code": "y"}, headers=P1, status=201)
        self.err("GET", "/v1/plugins/cat-pl", 400, "Multiple plugins are named cat-pl; use the UUID.")
        self.assertEqual(self.ok("GET", "/v1/plugins/" + p["uuid"])["code"], "x")

    def test_large_headers_answer_431(self):
        s, h, j, _ = self.req("GET", "/v1/boards", extra={"X-Big": "a" * 20000})
        self.assertEqual((s, fault(j)), (431, "Request header fields too large."))

    # ----------------------------------------------- optional drivers, misc

    def test_optional_drivers_and_their_lists(self):
        self.board("drv-1")
        self.err("PUT", "/v1/boards/drv-1/ports", 409,
                 "Board ports are not available: no Neutron driver is configured.",
                 body={"network": "n", "subnet": "s"})
        self.err("PUT", "/v1/boards/drv-1/ports", 400, "Subnet is not specified.", body={"network": "n"})
        self.err("PUT", "/v1/boards/drv-1/webservices", 409,
                 "Webservices are not available: no Designate/nginx driver is configured.",
                 body={"name": "web", "port": "80"})
        self.err("POST", "/v1/boards/drv-1/webservices/enable", 400, "zone is not specified.",
                 body={"dns": "b1"})
        self.err("POST", "/v1/boards/drv-1/webservices/enable", 400, "Invalid input for "
                 "field/attribute dns. Value: 'a;b'. Value should be a DNS label",
                 body={"dns": "a;b", "zone": "z", "email": "e@x.org"})
        self.assertEqual(self.ok("GET", "/v1/webservices"), {"webservices": []})
        self.assertEqual(self.ok("GET", "/v1/enabledwebservices/detail"), {"EnabledWebservices": []})
        self.assertEqual(self.ok("GET", "/v1/ports"), {"ports": []})
        self.assertEqual(self.ok("GET", "/v1/boards/drv-1/webservices"), {"webservices": []})
        self.err("GET", "/v1/ports/p", 400, "Expected a uuid but received p.")
        u = str(uuid.uuid4())
        self.err("GET", "/v1/webservices/" + u, 404, "Webservice %s could not be found." % u)
        self.err("GET", "/v1/enabledwebservices?marker=" + u, 404,
                 "Webservice module not enabled for %s device." % u)


class ReadPathsTest(unittest.TestCase):
    """Rows the optional drivers would write, inserted directly: the read
    side of webservices, enabled webservices and ports (2.5, 2.10-2.12),
    request trees (2.13) and ambiguous names (1.9)."""

    @classmethod
    def setUpClass(cls):
        cls.st = Stack(conductors=1, api=True)
        st = cls.st
        for name, hdr in (("rp-a", P1), ("rp-b", P2)):
            s, _, j, raw = st.http("POST", "/v1/boards", body=board_body(name), headers=hdr)
            assert s == 201, raw
        cls.a = st.sql("SELECT uuid FROM boards WHERE name = 'rp-a'")[0][0]
        cls.b = st.sql("SELECT uuid FROM boards WHERE name = 'rp-b'")[0][0]
        cls.port_a, cls.port_b = str(uuid.uuid4()), str(uuid.uuid4())
        for port, board, n in ((cls.port_a, cls.a, 10001), (cls.port_b, cls.b, 10002)):
            st.sql("INSERT INTO ports_on_boards (board_uuid, uuid, vif_name, mac_add, ip, network) "
                   "VALUES (:'p1', :'p2', :'p3', 'aa:bb', '10.0.0.1', 'sub')", board, port,
                   "iotronic%d" % n)
        for i, board in enumerate((cls.a, cls.a, cls.b)):
            st.sql("INSERT INTO webservices (uuid, port, name, board_uuid) VALUES "
                   "(gen_random_uuid(), :'p1', :'p2', :'p3')", str(80 + i), "ws%d" % i, board)
        st.sql("INSERT INTO enabled_webservices (board_uuid, http_port, https_port, dns, zone) "
               "VALUES (:'p1', 50001, 50002, 'rpa', 'example.org')", cls.a)
        cls.parent, cls.child = str(uuid.uuid4()), str(uuid.uuid4())
        st.sql("INSERT INTO requests (uuid, destination_uuid, project, status, action, "
               "pending_requests) VALUES (:'p1', :'p2', 'p1', 'PENDING', 'enable_webservice', 1)",
               cls.parent, cls.a)
        st.sql("INSERT INTO requests (uuid, main_request_uuid, destination_uuid, project, status, "
               "action) VALUES (:'p1', :'p2', :'p3', 'p1', 'COMPLETED', 'ServiceEnable')",
               cls.child, cls.parent, cls.a)
        st.sql("INSERT INTO results (board_uuid, request_uuid, result, message) VALUES "
               "(:'p1', :'p2', 'WARNING', 'w'), (:'p1', :'p3', 'SUCCESS', 's')",
               cls.a, cls.parent, cls.child)

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    def get(self, path, headers=P1, status=200):
        s, h, j, raw = self.st.http("GET", path, headers=headers)
        self.assertEqual(s, status, raw)
        return j

    def test_ports(self):
        j = self.get("/v1/ports")
        self.assertEqual([p["uuid"] for p in j["ports"]], [self.port_a])
        self.assertEqual(list(j["ports"][0].keys()), ["uuid", "board_uuid", "MAC_add", "VIF_name",
                                                      "network", "ip", "links"])
        j = self.get("/v1/ports?fields=mac_add,vif_NAME")
        self.assertEqual(list(j["ports"][0].keys()), ["MAC_add", "VIF_name", "links"])
        bp = self.get("/v1/boards/rp-a/ports/" + self.port_a)
        self.assertEqual(list(bp.keys()), ["uuid", "VIF_name", "MAC_add", "ip", "network",
                                           "created_at", "updated_at"])
        j = self.get("/v1/boards/rp-a/ports/" + self.port_b, status=404)
        self.assertEqual(fault(j), "Port %s could not be found." % self.port_b)
        self.assertEqual([p["uuid"] for p in self.get("/v1/boards/rp-a/ports")["ports"]],
                         [self.port_a])
        j = self.get("/v1/ports/" + self.port_b, status=404)
        self.assertEqual(fault(j), "Port %s could not be found." % self.port_b)
        s, _, j, _ = self.st.http("DELETE", "/v1/ports/" + self.port_a, headers=P1)
        self.assertEqual((s, fault(j)), (409, "Board ports are not available: no Neutron driver "
                                               "is configured."))

    def test_webservices_and_pages(self):
        j = self.get("/v1/boards/rp-a/webservices?limit=1&sort_key=port&sort_dir=desc")
        self.assertEqual([w["name"] for w in j["webservices"]], ["ws1"])
        nxt = urllib.parse.urlsplit(j["next"])
        self.assertEqual(nxt.path, "/v1/boards/%s/webservices" % self.a)
        j = self.get(nxt.path + "?" + nxt.query)
        self.assertEqual([w["name"] for w in j["webservices"]], ["ws0"])
        self.assertEqual(sorted(w["name"] for w in self.get("/v1/webservices")["webservices"]),
                         ["ws0", "ws1"])
        self.assertEqual([w["name"] for w in self.get("/v1/webservices", headers=P2)["webservices"]],
                         ["ws2"])
        ws = self.get("/v1/webservices/detail")["webservices"][0]
        self.assertEqual(list(ws.keys()), ["uuid", "name", "port", "board_uuid", "secure", "extra",
                                           "links", "created_at", "updated_at"])
        self.get("/v1/webservices/" + ws["uuid"])
        self.get("/v1/webservices/" + ws["uuid"], headers=P2, status=404)
        e = self.get("/v1/enabledwebservices")["EnabledWebservices"]
        self.assertEqual(e[0], {"board_uuid": self.a, "http_port": 50001, "https_port": 50002,
                                "dns": "rpa", "zone": "example.org", "extra": {}} | e[0])
        self.assertNotIn("links", e[0])
        self.assertEqual(self.get("/v1/enabledwebservices?limit=1&marker=" + self.a)
                         ["EnabledWebservices"], [])
        self.assertEqual(self.get("/v1/enabledwebservices", headers=P2)["EnabledWebservices"], [])

    def test_request_tree(self):
        res = self.get("/v1/requests/%s/results?sort_key=result" % self.parent)["results"]
        self.assertEqual([(r["result"], r["message"]) for r in res], [("SUCCESS", "s"),
                                                                      ("WARNING", "w")])
        self.assertEqual(list(res[0].keys()), ["board_uuid", "request_uuid", "result", "message"])
        res = self.get("/v1/requests/%s/results?limit=1&fields=result,created_at" % self.parent)
        self.assertEqual(list(res["results"][0].keys()), ["result", "created_at"])
        self.assertNotIn("next", res)
        j = self.get("/v1/requests/%s/results?marker=%s" % (self.parent, self.child), status=400)
        self.assertEqual(fault(j), 'Unknown argument: "marker"')
        self.get("/v1/requests/%s/results" % self.parent, headers=P2, status=404)
        r = self.get("/v1/requests/" + self.child)
        self.assertEqual((r["main_request_uuid"], r["type"], r["pending_requests"]),
                         (self.parent, 0, 0))
        lst = self.get("/v1/requests?sort_key=action")["requests"]
        self.assertEqual([x["action"] for x in lst], ["ServiceEnable", "enable_webservice"])

    def test_admin_ambiguous_names(self):
        s, _, _, _ = self.st.http("POST", "/v1/boards", body=board_body("rp-dup", code="D1"),
                                  headers=P1)
        s, _, _, _ = self.st.http("POST", "/v1/boards", body=board_body("rp-dup", code="D2"),
                                  headers=P2)
        third = {"X-User-Id": "adm", "X-Project-Id": "p9", "X-Roles": "admin"}
        j = self.get("/v1/boards/rp-dup", headers=third, status=400)
        self.assertEqual(fault(j), "Multiple boards are named rp-dup; use the UUID.")
        # An admin's own project wins.
        self.assertEqual(self.get("/v1/boards/rp-dup", headers=ADMIN)["project"], "p1")


class BoardReadFreshTest(unittest.TestCase):
    """Each API process keeps the board rows it read (api/bcache.h). Every
    change, made straight in the database as another daemon or another API
    process would, shows in the very next GET of either of two API processes,
    by name and by uuid: the board's own columns, its session, its
    locations, its wagent's url, the registration wagent of its first-boot
    config, its name and project (visibility), its deletion."""

    @classmethod
    def setUpClass(cls):
        cls.st = Stack(conductors=1, api=True)
        cls.port2 = iottest.free_port()
        conf2 = iottest.write_conf(os.path.join(cls.st.dir, "api2.conf"),
                                   {"api": {"port": cls.port2}})
        cls.api2 = iottest.Daemon("iotronic-api", ["--config-file", cls.st.conf, "--config-file",
                                                   conf2], logdir=cls.st.dir)
        cls.api2.start(wait_for_port=cls.port2)
        s, _, j, raw = cls.st.http("POST", "/v1/boards", body=board_body("fresh-1"), headers=P1)
        assert s == 201, raw
        cls.uuid = j["uuid"]

    @classmethod
    def tearDownClass(cls):
        cls.api2.stop()
        cls.st.close()

    def get_all(self, ref, headers=P1):
        """GET /v1/boards/<ref> twice on each API process (the second read
        can come from memory); every answer must be the same. Returns
        (status, body)."""
        out = []
        for port in (self.st.port, self.port2):
            for _ in range(2):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                c.request("GET", "/v1/boards/%s?fields=%s" % (
                    urllib.parse.quote(ref), ",".join(FIELDS)), headers=headers)
                r = c.getresponse()
                j = json.loads(r.read())
                j.pop("links", None)  # they name the process's own port
                out.append((r.status, j))
                c.close()
        for o in out[1:]:
            self.assertEqual(o, out[0])
        return out[0]

    def board(self, ref=None, headers=P1):
        s, j = self.get_all(ref or self.uuid, headers)
        self.assertEqual(s, 200, j)
        if ref is None:
            self.assertEqual(self.get_all("fresh-1" if headers is P1 else ref, headers), (s, j))
        return j

    def sql(self, text, *p):
        return self.st.sql(text, *p)

    def test_1_board_columns(self):
        self.assertEqual(self.board()["status"], "registered")
        self.sql("UPDATE boards SET status = 'offline', lr_version = '9.9', extra = '{\"k\": 1}' "
                 "WHERE uuid = :'p1'", self.uuid)
        j = self.board()
        self.assertEqual((j["status"], j["lr_version"], j["extra"]), ("offline", "9.9", {"k": 1}))

    def test_2_session(self):
        self.assertIsNone(self.board()["session"])
        self.sql("INSERT INTO sessions (valid, session_id, board_uuid, board_id) SELECT true, "
                 "'4242', uuid, id FROM boards WHERE uuid = :'p1'", self.uuid)
        self.assertEqual(self.board()["session"], "4242")
        self.sql("UPDATE sessions SET valid = false WHERE board_uuid = :'p1'", self.uuid)
        self.assertIsNone(self.board()["session"])

    def test_3_locations(self):
        self.assertEqual(len(self.board()["location"]), 1)
        self.sql("UPDATE locations SET latitude = '1.25' FROM boards b WHERE b.id = board_id AND "
                 "b.uuid = :'p1'", self.uuid)
        self.assertEqual(self.board()["location"][0]["latitude"], "1.25")
        self.sql("INSERT INTO locations (board_id, latitude, longitude, altitude) SELECT id, "
                 "'2', '3', '4' FROM boards WHERE uuid = :'p1'", self.uuid)
        self.assertEqual([x["latitude"] for x in self.board()["location"]], ["1.25", "2"])
        self.sql("DELETE FROM locations WHERE latitude = '1.25'")
        self.assertEqual([x["latitude"] for x in self.board()["location"]], ["2"])

    def test_4_wagents(self):
        url = lambda: self.board()["config"]["iotronic"]["wamp"]["registration-agent"]["url"]
        self.sql("UPDATE boards SET config = '{}', agent = NULL WHERE uuid = :'p1'", self.uuid)
        self.assertIsNone(url())
        self.sql("INSERT INTO wampagents (hostname, wsurl, online, ragent) VALUES "
                 "('fresh-r', 'ws://10.0.0.1:8181/', true, true)")
        self.assertEqual(url(), "ws://10.0.0.1:8181/")
        self.sql("UPDATE wampagents SET wsurl = 'ws://10.0.0.2:8181/' WHERE hostname = 'fresh-r'")
        self.assertEqual(url(), "ws://10.0.0.2:8181/")
        self.sql("UPDATE boards SET agent = 'fresh-r' WHERE uuid = :'p1'", self.uuid)
        self.assertEqual(self.board()["wstun_ip"], "10.0.0.2")
        self.sql("UPDATE wampagents SET wsurl = 'ws://10.0.0.3:8181/' WHERE hostname = 'fresh-r'")
        self.assertEqual(self.board()["wstun_ip"], "10.0.0.3")
        self.sql("DELETE FROM wampagents WHERE hostname = 'fresh-r'")
        self.assertIsNone(url())

    def test_5_name_project_delete(self):
        self.board()
        self.sql("UPDATE boards SET name = 'fresh-2' WHERE uuid = :'p1'", self.uuid)
        self.assertEqual(self.get_all("fresh-1")[0], 404)
        self.assertEqual(self.board("fresh-2")["uuid"], self.uuid)
        self.sql("UPDATE boards SET project = 'p2' WHERE uuid = :'p1'", self.uuid)
        self.assertEqual(self.get_all("fresh-2")[0], 404)
        self.assertEqual(self.get_all(self.uuid)[0], 404)
        self.assertEqual(self.board("fresh-2", P2)["uuid"], self.uuid)
        self.sql("DELETE FROM boards WHERE uuid = :'p1'", self.uuid)
        self.assertEqual(self.get_all(self.uuid, P2)[0], 404)
        self.assertEqual(self.get_all("fresh-2", P2)[0], 404)


FIELDS = ("uuid", "name", "status", "agent", "wstun_ip", "session", "project", "lr_version",
          "location", "extra", "config", "updated_at")


class NoConductorTest(unittest.TestCase):
    """Writes with no conductor consuming the queue: nothing was applied, so
    503 (which the client retries), never a hang or a 500 (1.8, 2.14.1)."""

    def test_write_without_conductor_is_503(self):
        st = Stack(conductors=0, api=True)
        self.addCleanup(st.close)
        t0 = time.monotonic()
        s, _, j, _ = st.http("POST", "/v1/boards", body=board_body("nc-1"), headers=P1)
        self.assertEqual((s, fault(j)), (503, "Resource temporarily unavailable, please retry."))
        self.assertLess(time.monotonic() - t0, 20)
        s, _, j, _ = st.http("GET", "/v1/boards", headers=P1)
        self.assertEqual((s, j), (200, {"boards": []}))


class CorsTest(unittest.TestCase):
    """[cors] allowed_origin set (1.5): preflights are answered, responses to
    an allowed origin expose the three version headers."""

    @classmethod
    def setUpClass(cls):
        cls.admin = iottest.free_port()
        cls.st = Stack(conductors=1, api=True, extra={
            "cors": {"allowed_origin": "http://dash.test"},
            "api": {"admin_listen": "127.0.0.1:%d" % cls.admin}})

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    def test_preflight_and_exposed_headers(self):
        s, h, _, _ = self.st.http("OPTIONS", "/v1/boards", headers={
            "Origin": "http://dash.test", "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "X-Auth-Token, X-OpenStack-Iotronic-API-Version"})
        self.assertEqual(s, 200)
        self.assertEqual(h["access-control-allow-origin"], "http://dash.test")
        self.assertIn("PATCH", h["access-control-allow-methods"])
        s, h, _, _ = self.st.http("GET", "/v1/boards", headers={"Origin": "http://dash.test"})
        self.assertEqual(s, 200)
        exposed = {x.strip() for x in h["access-control-expose-headers"].split(",")}
        self.assertEqual(exposed, {"X-OpenStack-Iotronic-API-Version",
                                   "X-OpenStack-Iotronic-API-Minimum-Version",
                                   "X-OpenStack-Iotronic-API-Maximum-Version"})
        s, h, _, _ = self.st.http("GET", "/v1/boards", headers={"Origin": "http://evil.test"})
        self.assertNotIn("access-control-allow-origin", h)

    def test_metrics_on_the_admin_listener(self):
        self.st.http("GET", "/v1/boards")
        c = http.client.HTTPConnection("127.0.0.1", self.admin, timeout=10)
        c.request("GET", "/metrics")
        r = c.getresponse()
        text = r.read().decode()
        self.assertEqual(r.status, 200)
        self.assertIn('http_requests_total{server="api",route="/v1/boards",method="GET",'
                      'status="200"}', text)


class PolicyTest(unittest.TestCase):
    """noauth_enforce_policy = true: the roles of 4.2 and the rules of 4.4."""

    @classmethod
    def setUpClass(cls):
        cls.st = Stack(conductors=1, api=True, enforce=True)

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    def call(self, method, path, body, roles, user="u1", project="p1"):
        return self.st.http(method, path, body=body, headers={
            "X-User-Id": user, "X-Project-Id": project, "X-Roles": roles})

    def test_roles(self):
        s, _, j, _ = self.call("POST", "/v1/boards", board_body("pol-1"), "user_iot")
        self.assertEqual((s, fault(j)), (403, "Access was denied to the following resource: "
                                              "iot:board:create"))
        s, _, j, _ = self.call("POST", "/v1/boards", board_body("pol-1"), "admin")
        self.assertEqual(s, 403)  # a cloud admin without admin_iot_project
        s, _, j, _ = self.call("POST", "/v1/boards", board_body("pol-1"), "admin_iot_project")
        self.assertEqual(s, 201)
        s, _, j, _ = self.call("GET", "/v1/boards", None, "")
        self.assertEqual((s, fault(j)), (403, "Access was denied to the following resource: "
                                              "iot:board:get"))
        s, _, j, _ = self.call("PATCH", "/v1/boards/pol-1", {"type": "x"}, "manager_iot_project", "u9")
        self.assertEqual(s, 200)
        s, _, j, _ = self.call("DELETE", "/v1/boards/pol-1", None, "user_iot", "u9")
        self.assertEqual((s, fault(j)), (403, "Access was denied to the following resource: "
                                              "iot:board:delete"))
        # admin_or_owner: the creator passes, another member does not.
        s, _, j, _ = self.call("POST", "/v1/boards/pol-1/action", {"action": "DevicePing"},
                               "user_iot", "u9")
        self.assertEqual((s, fault(j)), (403, "Access was denied to the following resource: "
                                              "iot:board_action:post"))
        s, _, j, _ = self.call("POST", "/v1/boards/pol-1/action", {"action": "DevicePing"}, "user_iot")
        self.assertEqual(s, 400)  # allowed; the board is simply not connected
        s, _, j, _ = self.call("POST", "/v1/fleets", {"name": "pf"}, "user_iot")
        self.assertEqual(s, 201)
        s, _, j, _ = self.call("DELETE", "/v1/fleets/pf", None, "user_iot", "u9")
        self.assertEqual((s, fault(j)), (403, "Access was denied to the following resource: "
                                              "iot:fleet:delete"))
        s, _, j, _ = self.call("DELETE", "/v1/fleets/pf", None, "user_iot")
        self.assertEqual(s, 204)


class KeystoneTest(unittest.TestCase):
    """auth_strategy = keystone (4.1) with an unreachable Keystone: public
    routes need no token, others answer 401 without one and 503 (nothing
    done) when the token cannot be checked."""

    @classmethod
    def setUpClass(cls):
        ks = "http://127.0.0.1:9/v3"
        cls.st = Stack(conductors=1, api=True, noauth=False, extra={"keystone_authtoken": {
            "www_authenticate_uri": ks, "auth_url": ks, "username": "iotronic",
            "password": "secret", "project_name": "service", "http_request_timeout": 2}})

    @classmethod
    def tearDownClass(cls):
        cls.st.close()

    def test_tokens(self):
        for path in ("/", "/v1", "/v1/"):
            s, _, _, _ = self.st.http("GET", path)
            self.assertEqual(s, 200, path)
        s, h, j, _ = self.st.http("GET", "/v1/boards", headers={"X-Roles": "admin",
                                                                "X-Project-Id": "p"})
        self.assertEqual((s, fault(j)), (401, "The request you have made requires authentication."))
        self.assertEqual(h["www-authenticate"], 'Keystone uri="http://127.0.0.1:9/v3"')
        self.assertEqual(h["x-openstack-iotronic-api-minimum-version"], "1.0")  # 1.4 rule 5
        s, h, j, _ = self.st.http("GET", "/v1", headers={"X-OpenStack-Iotronic-API-Version": "1.9"})
        self.assertEqual(s, 406)  # public, so no token; the version check still applies
        s, h, j, _ = self.st.http("GET", "/v1/boards", headers={"X-Auth-Token": "tok"})
        self.assertEqual((s, fault(j)), (503, "Resource temporarily unavailable, please retry."))


if __name__ == "__main__":
    iottest.main()
