#!/usr/bin/python3
"""Functions, packages, versions and aliases of qinling-api (deviceless-api.md
2.3-2.5, 3.1, 3.4.2), with the bodies python-qinlingclient sends
(multipart/form-data, urlencoded) and the JSON extension."""

import base64
import hashlib
import json
import os
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402
import qinlingtest  # noqa: E402
from qinlingtest import make_zip, make_targz  # noqa: E402

MB = 1 << 20


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = qinlingtest.Stack(extra={"DEFAULT": {"noauth_enforce_policy": True}}).start()
        cls.rid = cls.st.runtime("busybox")

    @classmethod
    def tearDownClass(cls):
        cls.st.stop()  # fails on a sanitizer report or an unclean exit

    def create_json(self, files=None, **fields):
        pkg = make_zip(files or {"main.sh": "echo hi\n"})
        body = {"code": {"source": "package"}, "package": base64.b64encode(pkg).decode(),
                "runtime_id": self.rid}
        body.update(fields)
        return self.st.call("POST", "/v1/functions", body)

    def fault(self, r, status, msg):
        self.assertEqual((r.status, (r.json or {}).get("faultstring")), (status, msg), r)


class Create(Base):
    def test_multipart_as_qinlingclient_sends(self):
        pkg = make_zip({"hello.py": "def main(**kw):\n    return 'hi'\n"})
        r = self.st.multipart("POST", "/v1/functions", {
            "code": json.dumps({"source": "package", "md5sum": hashlib.md5(pkg).hexdigest()}),
            "runtime_id": self.rid, "name": "hello", "entry": "hello.main", "cpu": "150",
            "memory_size": "67108864", "timeout": "10", "source": "ignored-extra-field",
            "devices": '["gpio:sim0:17:out", "sensor:temp0"]'},
            {"package": ("x.zip", pkg)})
        self.assertEqual(r.status, 201, r)
        f = r.json
        self.assertEqual(f["code"], {"source": "package", "md5sum": hashlib.md5(pkg).hexdigest(),
                                     "sha256": hashlib.sha256(pkg).hexdigest(),
                                     "size": len(pkg), "format": "zip"})
        self.assertEqual((f["name"], f["entry"], f["cpu"], f["memory_size"], f["timeout"]),
                         ("hello", "hello.main", 150, 67108864, 10))
        self.assertEqual(f["devices"], ["gpio:sim0:17:out", "sensor:temp0"])
        self.assertEqual((f["count"], f["latest_version"], f["project_id"]), (0, 0, "p1"))
        self.assertIsNone(f["updated_at"])
        self.assertRegex(f["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        r = self.st.call("GET", "/v1/functions/%s?download=true" % f["id"])
        self.assertEqual((r.status, r.raw, r.header("Content-Type")), (200, pkg, "application/zip"))
        self.assertEqual(r.header("Content-Disposition"), 'attachment; filename="%s"' % f["id"])

    def test_json_with_targz_and_defaults(self):
        pkg = make_targz([("main.sh", "f", "echo hi\n", 0o755), ("lib", "d", None, 0o755)])
        r = self.st.call("POST", "/v1/functions", {
            "code": json.dumps({"source": "package", "sha256": hashlib.sha256(pkg).hexdigest()}),
            "package": base64.b64encode(pkg).decode().rstrip("="), "runtime_id": self.rid})
        self.assertEqual(r.status, 201, r)
        f = r.json
        self.assertEqual((f["entry"], f["cpu"], f["memory_size"], f["timeout"], f["keep_warm"],
                          f["warm_ttl"], f["device_access"], f["network"], f["devices"]),
                         ("main.main", 100, 33554432, 5, 0, 600, "mediated", "none", []))
        self.assertEqual(f["code"]["format"], "tar.gz")
        r = self.st.call("GET", "/v1/functions/%s?download=true" % f["id"])
        self.assertEqual((r.raw, r.header("Content-Type")), (pkg, "application/gzip"))

    def test_image_function_urlencoded(self):
        body = urllib.parse.urlencode({"code": json.dumps({"source": "image", "image": "busybox"}),
                                       "name": "img"}).encode()
        r = self.st.call("POST", "/v1/functions", raw=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json["runtime_id"], r.json["entry"]), (None, None))
        self.assertEqual(r.json["code"], {"source": "image", "image": self.rid})
        r = self.st.call("GET", "/v1/functions/%s?download=true" % r.json["id"])
        self.fault(r, 405, "Download image function is not allowed.")

    def test_code_errors(self):
        self.fault(self.st.call("POST", "/v1/functions", {"runtime_id": self.rid}), 400,
                   "Required param is missing. Required: code")
        self.fault(self.create_json(code={"source": "swift"}), 400, "Swift object not supported.")
        self.fault(self.create_json(code={"source": "ftp"}), 400,
                   "Invalid code source specified, available sources: package, image")
        self.fault(self.create_json(code="{not json"), 400, "Invalid input, code is not valid JSON.")
        r = self.st.call("POST", "/v1/functions", {"code": {"source": "package"}})
        self.fault(r, 400, '"runtime_id" must be specified.')
        r = self.st.call("POST", "/v1/functions", {"code": {"source": "package"},
                                                   "runtime_id": self.rid})
        self.fault(r, 400, "A package is required for package type function.")
        r = self.create_json(runtime_id="00000000-0000-0000-0000-000000000001")
        self.fault(r, 404, "Runtime not found [id=00000000-0000-0000-0000-000000000001]")
        other = self.st.runtime("busybox", upload=False)
        self.fault(self.create_json(runtime_id=other), 400, "Runtime %s is not available." % other)
        r = self.st.call("POST", "/v1/functions", {"code": {"source": "image", "image": other}})
        self.fault(r, 409, "Runtime %s is not available." % other)

    def test_package_errors(self):
        good = make_zip({"main.sh": "x"})
        r = self.st.call("POST", "/v1/functions", {"code": {"source": "package"},
                                                   "runtime_id": self.rid, "package": "@@@@"})
        self.fault(r, 400, "Package is not valid base64.")
        r = self.st.call("POST", "/v1/functions", {
            "code": {"source": "package"}, "runtime_id": self.rid,
            "package": base64.b64encode(b"plain text, not an archive").decode()})
        self.fault(r, 400, "Package is not a valid ZIP or tar.gz package.")
        r = self.st.call("POST", "/v1/functions", {
            "code": {"source": "package", "md5sum": "0" * 32}, "runtime_id": self.rid,
            "package": base64.b64encode(good).decode()})
        self.fault(r, 400, "Package md5 mismatch.")
        r = self.st.call("POST", "/v1/functions", {
            "code": {"source": "package", "sha256": "0" * 64}, "runtime_id": self.rid,
            "package": base64.b64encode(good).decode()})
        self.fault(r, 400, "Package sha256 mismatch.")
        evil = make_targz([("../escape.sh", "f", "x", 0o755)])
        r = self.st.call("POST", "/v1/functions", {"code": {"source": "package"},
                                                   "runtime_id": self.rid,
                                                   "package": base64.b64encode(evil).decode()})
        self.fault(r, 400, 'Package entry ../escape.sh is not allowed: ".." components are not '
                   "allowed.")
        big = b"PK\x03\x04" + os.urandom(50 * MB)
        r = self.st.multipart("POST", "/v1/functions",
                              {"code": '{"source": "package"}', "runtime_id": self.rid},
                              {"package": ("big.zip", big)})
        self.fault(r, 413, "Package size exceeds 52428800 bytes.")

    def test_body_over_package_limit(self):
        st = qinlingtest.Stack(extra={"api": {"max_package_body_size": 2048}}).start()
        r = st.call("POST", "/v1/functions", {"code": {"source": "package"},
                                              "package": "A" * 4096})
        self.fault(r, 413, "Request is too large.")

    def test_limits(self):
        self.fault(self.create_json(cpu=50), 400, "cpu resource limitation not within the "
                   "allowable range: 100 ~ 300(millicpu).")
        self.fault(self.create_json(memory_size=1), 400, "memory resource limitation not within "
                   "the allowable range: 33554432 ~ 134217728(bytes).")
        self.fault(self.create_json(timeout=301), 400, "timeout resource limitation not within "
                   "the allowable range: 1 ~ 300(seconds).")
        self.fault(self.create_json(cpu="lots"), 400,
                   "Invalid cpu resource specified. An integer is required.")
        self.fault(self.create_json(memory_size=1.5), 400,
                   "Invalid memory resource specified. An integer is required.")
        self.fault(self.create_json(timeout="5s"), 400,
                   "Invalid timeout resource specified. An integer is required.")
        self.assertEqual(self.create_json(cpu="200", timeout="+7").status, 201)
        self.fault(self.create_json(keep_warm=9), 400,
                   "Invalid value for keep_warm: an integer from 0 to 8 is required.")
        self.fault(self.create_json(entry="/abs"), 400, "Invalid value for entry: 1 to 80 of A-Z "
                   "a-z 0-9 _ . / -, not starting with / and without a .. component.")
        self.fault(self.create_json(name="n" * 256), 400,
                   "Invalid value for name: at most 255 characters.")
        self.fault(self.create_json(device_access="direct"), 400,
                   "Invalid value for device_access: use mediated or raw.")
        self.fault(self.create_json(color="red"), 400, "Unknown attribute: color")
        self.fault(self.create_json(count=3), 400, "Attribute count is read-only.")

    def test_devices(self):
        self.fault(self.create_json(devices=["gpio:sim0:17:out", "gpio:sim0:17:in"]), 400,
                   "Invalid device gpio:sim0:17:in: a line cannot be both in and out.")
        self.fault(self.create_json(devices=["usb:0"]), 400, "Invalid device usb:0: expected "
                   "gpio:<chip>:<line>:<in|out> or sensor:<name>.")
        self.fault(self.create_json(devices=["sensor:x"] * 2), 400,
                   "Invalid device sensor:x: declared twice.")

    def test_targets(self):
        b = self.st.add_board(name="edge-1")
        fl = self.st.add_fleet(name="street")
        r = self.create_json(board_id="edge-1")
        self.assertEqual((r.status, r.json["board_id"]), (201, b))
        r = self.create_json(fleet_id="street", placement="all")
        self.assertEqual((r.json["fleet_id"], r.json["placement"]), (fl, "all"))
        self.fault(self.create_json(board_id=b, fleet_id=fl), 400,
                   "Give board_id or fleet_id, not both.")
        self.fault(self.create_json(placement="all"), 400, "placement is only valid with fleet_id.")
        self.fault(self.create_json(fleet_id=fl, placement="some"), 400,
                   "Invalid placement some; use any_online or all.")
        self.fault(self.create_json(board_id="nope"), 404, "Board nope could not be found.")
        self.fault(self.create_json(fleet_id="nope"), 404, "Fleet nope could not be found.")
        # With policy enforced, another project's board is not found.
        other = self.st.add_board(name="theirs", project="p2")
        self.fault(self.create_json(board_id=other), 404, "Board %s could not be found." % other)


class ReadUpdateDelete(Base):
    def test_list_scope_filters_paging(self):
        ids = [self.create_json(name="page-%d" % i).json["id"] for i in range(3)]
        self.st.call("POST", "/v1/functions", {"code": {"source": "image", "image": self.rid}},
                     project="p2")
        r = self.st.call("GET", "/v1/functions?name=in:page-0,page-2")
        self.assertEqual([f["id"] for f in r.json["functions"]], [ids[0], ids[2]])
        r = self.st.call("GET", "/v1/functions?name=has:page-&limit=2")
        self.assertEqual([f["id"] for f in r.json["functions"]], ids[:2])
        nxt = urllib.parse.urlparse(r.json["next"])
        self.assertEqual(urllib.parse.parse_qs(nxt.query),
                         {"name": ["has:page-"], "limit": ["2"], "marker": [ids[1]]})
        r = self.st.call("GET", nxt.path + "?" + nxt.query)
        self.assertEqual([f["id"] for f in r.json["functions"]], [ids[2]])
        self.assertNotIn("next", r.json)
        # Code is an object in lists too ([fix]).
        self.assertIsInstance(r.json["functions"][0]["code"], dict)
        # Scope: p2's function is invisible; project_id is ignored for non-admins.
        all_p1 = self.st.call("GET", "/v1/functions?project_id=p2").json["functions"]
        self.assertTrue(all(f["project_id"] == "p1" for f in all_p1))
        r = self.st.call("GET", "/v1/functions?all_projects=true")
        self.fault(r, 403, "Operation not allowed")
        r = self.st.call("GET", "/v1/functions?all_projects=true", admin=True)
        self.assertIn("p2", {f["project_id"] for f in r.json["functions"]})
        r = self.st.call("GET", "/v1/functions?project_id=p2", admin=True)
        self.assertEqual({f["project_id"] for f in r.json["functions"]}, {"p2"})

    def test_update_rules(self):
        f = self.create_json(name="upd").json
        r = self.st.call("PUT", "/v1/functions/" + f["id"], {"name": "upd2", "timeout": 9})
        self.assertEqual((r.status, r.json["name"], r.json["timeout"]), (200, "upd2", 9))
        self.assertIsNotNone(r.json["updated_at"])
        self.fault(self.st.call("PUT", "/v1/functions/" + f["id"], {"runtime_id": self.rid}), 400,
                   "Attribute runtime_id is read-only.")
        self.fault(self.st.call("PUT", "/v1/functions/" + f["id"], {"code": {"source": "image"}}),
                   400, "The function code type can not be changed.")
        same = make_zip({"main.sh": "echo hi\n"})
        r = self.st.call("PUT", "/v1/functions/" + f["id"],
                         {"code": {"source": "package"}, "package": base64.b64encode(same).decode()})
        self.fault(r, 400, "The function code checksum is not changed.")
        r = self.st.call("PUT", "/v1/functions/" + f["id"],
                         {"code": {"source": "package", "md5sum": f["code"]["md5sum"]}})
        self.fault(r, 400, "The function code checksum is not changed.")
        new = make_zip({"main.sh": "echo new\n"})
        r = self.st.multipart("PUT", "/v1/functions/" + f["id"],
                              {"code": json.dumps({"source": "package"}), "entry": "main.x"},
                              {"package": ("f.zip", new)})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["code"]["sha256"], r.json["entry"]),
                         (hashlib.sha256(new).hexdigest(), "main.x"))
        img = self.st.call("POST", "/v1/functions",
                           {"code": {"source": "image", "image": self.rid}}).json
        r = self.st.call("PUT", "/v1/functions/" + img["id"],
                         {"code": {"source": "image", "image": self.rid}})
        self.fault(r, 400, "The image type function code can not be changed.")
        # A running job blocks code changes, not metadata changes.
        self.st.call("POST", "/v1/jobs", {"function_id": f["id"], "pattern": "0 0 * * *"})
        r = self.st.call("PUT", "/v1/functions/" + f["id"], {"cpu": 200})
        self.fault(r, 403, "The function is still associated with running job(s).")
        self.assertEqual(self.st.call("PUT", "/v1/functions/" + f["id"],
                                      {"description": "d"}).status, 200)

    def test_delete_rules(self):
        f = self.create_json().json
        self.fault(self.st.call("DELETE", "/v1/functions/" + f["id"], project="p2"), 404,
                   "Function not found [id=%s]" % f["id"])
        self.fault(self.st.call("DELETE", "/v1/functions/" + f["id"], project="p2", admin=True),
                   403, "Function can only be deleted by its owner.")
        a = self.st.call("POST", "/v1/aliases", {"name": "del-a", "function_id": f["id"]})
        self.fault(self.st.call("DELETE", "/v1/functions/" + f["id"]), 403,
                   "The function is still associated with function alias(es).")
        self.st.call("DELETE", "/v1/aliases/del-a")
        w = self.st.call("POST", "/v1/webhooks", {"function_id": f["id"]}).json
        self.fault(self.st.call("DELETE", "/v1/functions/" + f["id"]), 403,
                   "The function is still associated with webhook(s).")
        self.st.call("DELETE", "/v1/webhooks/" + w["id"])
        j = self.st.call("POST", "/v1/jobs", {"function_id": f["id"], "pattern": "@daily"}).json
        self.fault(self.st.call("DELETE", "/v1/functions/" + f["id"]), 403,
                   "The function is still associated with running job(s).")
        self.st.call("PUT", "/v1/jobs/" + j["id"], {"status": "cancelled"})
        self.assertEqual(a.status, 201)
        self.assertEqual(self.st.call("DELETE", "/v1/functions/" + f["id"]).status, 204)
        self.assertEqual(self.st.call("GET", "/v1/functions/" + f["id"]).status, 404)
        refs = self.st.sql("SELECT refcount FROM blobs WHERE sha256 = :'p1'", f["code"]["sha256"])
        self.assertEqual(refs, [["0"]])


class Versions(Base):
    def test_versions(self):
        f = self.create_json(files={"main.sh": "v0"}).json
        path = "/v1/functions/%s/versions" % f["id"]
        r = self.st.call("POST", path, {"description": "first"})
        self.assertEqual(r.status, 201, r)
        v1 = r.json
        self.assertEqual((v1["version_number"], v1["count"], v1["description"],
                          v1["package_sha256"]), (1, 0, "first", f["code"]["sha256"]))
        self.fault(self.st.call("POST", path, {}), 403,
                   "Function package not changed since the latest version 1.")
        for i in range(2, 11):
            pkg = make_zip({"main.sh": "v%d" % i})
            self.st.call("PUT", "/v1/functions/" + f["id"],
                         {"code": {"source": "package"}, "package": base64.b64encode(pkg).decode()})
            self.assertEqual(self.st.call("POST", path).status, 201)
        pkg = make_zip({"main.sh": "v11"})
        self.st.call("PUT", "/v1/functions/" + f["id"],
                     {"code": {"source": "package"}, "package": base64.b64encode(pkg).decode()})
        self.fault(self.st.call("POST", path), 403, "Can not exceed maximum number(10) of versions")
        r = self.st.call("GET", path)
        self.assertEqual([v["version_number"] for v in r.json["function_versions"]],
                         list(range(1, 11)))
        self.assertEqual(self.st.call("GET", "/v1/functions/" + f["id"]).json["latest_version"], 10)
        r = self.st.call("GET", path + "/1?download=true")
        self.assertEqual((r.raw, r.header("Content-Disposition")),
                         (make_zip({"main.sh": "v0"}), 'attachment; filename="%s_1"' % f["id"]))
        self.fault(self.st.call("GET", path + "/42"), 404,
                   "FunctionVersion not found [function_id=%s, version_number=42]" % f["id"])
        # References block deletion; deleting the latest frees its number.
        self.st.call("POST", "/v1/aliases", {"name": "v10", "function_id": f["id"],
                                             "function_version": 10})
        self.fault(self.st.call("DELETE", path + "/10"), 403,
                   "The function version is still associated with alias.")
        self.st.call("DELETE", "/v1/aliases/v10")
        self.assertEqual(self.st.call("DELETE", path + "/10").status, 204)
        self.assertEqual(self.st.call("GET", "/v1/functions/" + f["id"]).json["latest_version"], 9)
        self.assertEqual(self.st.call("POST", path).json["version_number"], 10)

    def test_image_functions_have_no_versions(self):
        img = self.st.call("POST", "/v1/functions",
                           {"code": {"source": "image", "image": self.rid}}).json
        self.fault(self.st.call("POST", "/v1/functions/%s/versions" % img["id"]), 403,
                   "Function versioning only allowed for package type function.")


class Aliases(Base):
    def test_aliases(self):
        f = self.create_json().json
        self.fault(self.st.call("POST", "/v1/aliases", {"name": "x"}), 400,
                   "Required param is missing. Required: name, function_id")
        r = self.st.call("POST", "/v1/aliases", {"name": "prod", "function_id": f["id"],
                                                 "description": "live"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json["name"], r.json["function_version"]), ("prod", 0))
        self.fault(self.st.call("POST", "/v1/aliases", {"name": "prod", "function_id": f["id"],
                                                        "function_version": 0}),
                   409, "Duplicate entry for function_aliases: project_id, name")
        self.fault(self.st.call("POST", "/v1/aliases", {"name": "prod2", "function_id": f["id"]}),
                   409, "Duplicate entry for function_aliases: project_id, function_id, "
                   "function_version")
        self.fault(self.st.call("POST", "/v1/aliases", {"name": "a b", "function_id": f["id"]}),
                   400, "Invalid value for name: 1 to 255 of A-Z a-z 0-9 - . _ ~, not a UUID.")
        self.fault(self.st.call("POST", "/v1/aliases", {"name": "v9", "function_id": f["id"],
                                                        "function_version": 9}),
                   404, "FunctionVersion not found [function_id=%s, version_number=9]" % f["id"])
        self.fault(self.st.call("POST", "/v1/aliases", {"name": "gone",
                                                        "function_id": "0" * 32}),
                   404, "Function not found [id=00000000-0000-0000-0000-000000000000]")
        self.assertEqual(self.st.call("GET", "/v1/aliases/prod").json["function_id"], f["id"])
        self.fault(self.st.call("GET", "/v1/aliases/none"), 404, "FunctionAlias not found [name=none]")
        self.assertEqual(self.st.call("GET", "/v1/aliases/prod", project="p2").status, 404)
        r = self.st.call("GET", "/v1/aliases?function_id=" + f["id"])
        self.assertEqual([a["name"] for a in r.json["function_aliases"]], ["prod"])
        r = self.st.call("PUT", "/v1/aliases/prod", {"description": "changed"})
        self.assertEqual((r.status, r.json["description"]), (200, "changed"))
        w = self.st.call("POST", "/v1/webhooks", {"function_alias": "prod"}).json
        self.assertIsNone(w["function_id"])
        self.fault(self.st.call("DELETE", "/v1/aliases/prod"), 403,
                   "The function alias is still in use.")
        self.st.call("DELETE", "/v1/webhooks/" + w["id"])
        self.assertEqual(self.st.call("DELETE", "/v1/aliases/prod").status, 204)


class Admin(Base):
    def test_scale_detach_workers(self):
        f = self.create_json().json
        fid = f["id"]
        self.fault(self.st.call("POST", "/v1/functions/%s/scale_up" % fid, {"count": 1}), 403,
                   "Operation not allowed")
        self.fault(self.st.call("POST", "/v1/functions/%s/scale_up" % fid, {}, admin=True), 400,
                   "Invalid value for count: an integer >= 1 is required.")
        self.fault(self.st.call("POST", "/v1/functions/%s/scale_up" % fid, {"count": 0},
                                admin=True), 400,
                   "Invalid value for count: an integer >= 1 is required.")
        r = self.st.call("POST", "/v1/functions/%s/scale_up" % fid, {"count": 5}, admin=True)
        self.assertEqual((r.status, r.raw), (202, b""))
        r = self.st.call("POST", "/v1/functions/%s/scale_up" % fid, {"count": 5}, admin=True)
        self.assertEqual(self.st.call("GET", "/v1/functions/" + fid).json["keep_warm"], 8)
        self.st.call("POST", "/v1/functions/%s/scale_down" % fid, {"count": 3}, admin=True)
        self.assertEqual(self.st.call("GET", "/v1/functions/" + fid).json["keep_warm"], 5)
        self.st.call("POST", "/v1/functions/%s/scale_down" % fid, {"count": 30}, admin=True)
        self.assertEqual(self.st.call("GET", "/v1/functions/" + fid).json["keep_warm"], 0)
        b = self.st.add_board()
        self.st.sql("INSERT INTO function_boards (function_id, board_uuid) VALUES (:'p1', :'p2')",
                    fid, b)
        self.st.sql("INSERT INTO function_workers (board_uuid, container_id, function_id, "
                    "function_version, state) VALUES (:'p1', 'lr-1', :'p2', 0, 'warm')", b, fid)
        r = self.st.call("GET", "/v1/functions/%s/workers" % fid, admin=True)
        self.assertEqual([(w["worker_name"], w["state"]) for w in r.json["workers"]],
                         [("%s/lr-1" % b, "warm")])
        self.assertEqual(self.st.call("GET", "/v1/functions/%s/workers?function_version=1" % fid,
                                      admin=True).json["workers"], [])
        r = self.st.call("POST", "/v1/functions/%s/detach" % fid, admin=True)
        self.assertEqual(r.status, 202)
        self.assertEqual(self.st.call("GET", "/v1/functions/%s/workers" % fid,
                                      admin=True).json["workers"], [])
        owed = self.st.sql("SELECT board_uuid, function_id FROM board_purges")
        self.assertIn([b, fid], owed)
        self.fault(self.st.call("POST", "/v1/functions/%s/versions/3/detach" % fid, admin=True),
                   404, "FunctionVersion not found [function_id=%s, version_number=3]" % fid)


if __name__ == "__main__":
    iottest.main()
