#!/usr/bin/python3
"""qinling-api against a real PostgreSQL and RabbitMQ: the conventions of
deviceless-api.md section 1, runtimes (2.7, 3.2), blob downloads with board
tokens (1.2, 3.5.2), policy and scope (1.6, 2.11), and the startup refusals
of Appendix A."""

import hashlib
import hmac
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402
import qinlingtest  # noqa: E402
from qinlingtest import make_targz  # noqa: E402


def token(board, sha, expiry, secret=qinlingtest.SECRET):
    mac = hmac.new(secret.encode(), ("v1|%s|%s|%d" % (board, sha, expiry)).encode(),
                   hashlib.sha256).hexdigest()
    return "v1.%s.%s.%d.%s" % (board, sha, expiry, mac)


class Conventions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = qinlingtest.Stack(extra={"api": {"max_request_body_size": 4096}}).start()

    @classmethod
    def tearDownClass(cls):
        cls.st.stop()  # fails on a sanitizer report or an unclean exit

    def test_root_documents(self):
        r = self.st.request("GET", "/", headers={"Host": "example.org:7070"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json, {"versions": [{"id": "v1.0", "status": "CURRENT", "links": [
            {"href": "http://example.org:7070/v1", "target": "v1", "rel": "self"}]}]})
        r = self.st.request("GET", "/v1/", headers={"Host": "example.org:7070"})
        self.assertEqual(r.json, {"uri": "http://example.org:7070/v1"})

    def test_request_id_on_every_answer(self):
        for method, path in (("GET", "/"), ("GET", "/v1/nothing"), ("GET", "/v1/functions")):
            r = self.st.call(method, path)
            rid = r.header("X-Openstack-Request-Id")
            self.assertRegex(rid or "", r"^req-[0-9a-f-]{36}$")

    def test_unknown_route_and_method(self):
        r = self.st.call("GET", "/v1/nothing")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json, {"faultcode": "Client", "faultstring": "Resource not found.",
                                  "debuginfo": None})
        r = self.st.call("PATCH", "/v1/functions")
        self.assertEqual(r.status, 405)
        self.assertEqual(r.json["faultstring"], "Method not allowed.")
        self.assertIn("POST", r.header("Allow"))

    def test_trailing_slash(self):
        self.assertEqual(self.st.call("GET", "/v1/functions/").status, 200)

    def test_body_limits_and_types(self):
        r = self.st.call("POST", "/v1/aliases", raw=b"{" + b" " * 5000 + b"}",
                         headers={"Content-Type": "application/json"})
        self.assertEqual((r.status, r.json["faultstring"]), (413, "Request is too large."))
        r = self.st.call("POST", "/v1/aliases", raw=b"name=x",
                         headers={"Content-Type": "text/plain"})
        self.assertEqual((r.status, r.json["faultstring"]),
                         (415, "Unsupported content type text/plain."))
        r = self.st.call("POST", "/v1/aliases", raw=b"{not json")
        self.assertEqual(r.status, 400)
        self.assertTrue(r.json["faultstring"].startswith("Invalid input"))
        r = self.st.call("POST", "/v1/aliases", raw=b"[1]")
        self.assertEqual(r.status, 400)
        # A missing Content-Type is read as JSON.
        r = self.st.request("POST", "/v1/aliases", raw=b'{"color": 1}',
                            headers={"X-Project-Id": "p1"})
        self.assertEqual((r.status, r.json["faultstring"]), (400, "Unknown attribute: color"))

    def test_attribute_rules(self):
        r = self.st.call("POST", "/v1/aliases", {"name": "a", "function_id": "x", "id": "y"})
        self.assertEqual((r.status, r.json["faultstring"]), (400, "Attribute id is read-only."))
        r = self.st.call("GET", "/v1/functions/not-a-uuid")
        self.assertEqual((r.status, r.json["faultstring"]),
                         (400, "Expected a uuid but received not-a-uuid."))
        # Any UUID-like form is accepted and normalised.
        r = self.st.call("GET", "/v1/functions/4C1A5E0E5E4B4F4E9D2A6C7B1F0E2D3C")
        self.assertEqual((r.status, r.json["faultstring"]),
                         (404, "Function not found [id=4c1a5e0e-5e4b-4f4e-9d2a-6c7b1f0e2d3c]"))

    def test_list_filters(self):
        r = self.st.call("GET", "/v1/functions?color=red")
        self.assertEqual((r.status, r.json["faultstring"]), (400, 'Unknown argument: "color"'))
        r = self.st.call("GET", "/v1/functions?runtime_id=zzz")
        self.assertEqual((r.status, r.json["faultstring"]),
                         (400, "Invalid value zzz for filter runtime_id."))
        r = self.st.call("GET", "/v1/functions?limit=0")
        self.assertEqual(r.status, 400)
        r = self.st.call("GET", "/v1/runtimes?all_projects=true")
        self.assertEqual(r.status, 400)


class Runtimes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # noauth enforces no policy unless told to (1.2 [ext]).
        cls.st = qinlingtest.Stack(extra={"DEFAULT": {"noauth_enforce_policy": True}}).start()
        cls.busybox = open(os.path.join(qinlingtest.runtimes_dir(), "busybox.tar.gz"), "rb").read()

    @classmethod
    def tearDownClass(cls):
        cls.st.stop()  # fails on a sanitizer report or an unclean exit

    def create(self, **body):
        body.setdefault("image", "busybox-1.35")
        r = self.st.call("POST", "/v1/runtimes", body, admin=True)
        self.assertEqual(r.status, 201, r)
        return r.json

    def upload(self, rid, data, query=""):
        return self.st.call("PUT", "/v1/runtimes/%s/image%s" % (rid, query), admin=True,
                            raw=data, headers={"Content-Type": "application/gzip"})

    def test_create_defaults_and_admin_only(self):
        rt = self.create(name="rt", architecture="amd64", config={"env": ["A=1"]})
        self.assertEqual(rt["status"], "creating")
        self.assertEqual((rt["is_public"], rt["trusted"]), (True, True))
        self.assertEqual(rt["config"], {"env": ["A=1"]})
        for k in ("image_sha256", "image_size", "image_format", "status_reason", "updated_at"):
            self.assertIsNone(rt[k])
        r = self.st.call("POST", "/v1/runtimes", {"image": "x"})
        self.assertEqual((r.status, r.json["faultstring"]), (403, "Operation not allowed"))
        r = self.st.call("POST", "/v1/runtimes", {"name": "x"}, admin=True)
        self.assertEqual((r.status, r.json["faultstring"]),
                         (400, "Required param is missing. Required: image"))
        r = self.st.call("POST", "/v1/runtimes", {"image": "x", "status": "available"}, admin=True)
        self.assertEqual(r.json["faultstring"], "Attribute status is read-only.")
        r = self.st.call("POST", "/v1/runtimes", {"image": "x", "config": {"x": 1}}, admin=True)
        self.assertEqual(r.status, 400)

    def test_upload_verify_and_download(self):
        rt = self.create()
        r = self.upload(rt["id"], self.busybox, "?sha256=" + "0" * 64)
        self.assertEqual((r.status, r.json["faultstring"]), (400, "Runtime image sha256 mismatch."))
        sha = hashlib.sha256(self.busybox).hexdigest()
        r = self.upload(rt["id"], self.busybox, "?sha256=" + sha.upper())
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["status"], r.json["image_sha256"], r.json["image_size"],
                          r.json["image_format"]), ("available", sha, len(self.busybox), "tar.gz"))
        self.assertIsNotNone(r.json["architecture"])  # from runtime.json
        r = self.st.call("GET", "/v1/runtimes/%s/image" % rt["id"], admin=True)
        self.assertEqual((r.status, r.header("Content-Type")), (200, "application/gzip"))
        self.assertEqual(r.raw, self.busybox)
        r = self.st.call("GET", "/v1/runtimes/%s/image" % rt["id"], admin=True,
                         headers={"Range": "bytes=10-19"})
        self.assertEqual((r.status, r.raw), (206, self.busybox[10:20]))
        # A bad image later keeps the good one and `available`.
        r = self.upload(rt["id"], b"junk" * 100)
        self.assertEqual(r.status, 400)
        self.assertTrue(r.json["faultstring"].startswith("Invalid runtime image: "), r)
        r = self.st.call("GET", "/v1/runtimes/" + rt["id"])
        self.assertEqual((r.json["status"], r.json["image_sha256"]), ("available", sha))
        # The blob is stored once, content-addressed.
        path = os.path.join(self.st.storage, "blobs", sha[:2], sha)
        self.assertTrue(os.path.exists(path))

    def test_failed_first_upload_is_error(self):
        rt = self.create()
        bad = make_targz([("runtime.json", "f", '{"entrypoint": ["/bin/none"]}', 0o644),
                          ("rootfs/", "d", None, 0o755), ("rootfs/x", "f", "x", 0o644)])
        r = self.upload(rt["id"], bad)
        self.assertEqual(r.json["faultstring"],
                         "Invalid runtime image: entrypoint /bin/none is not an executable file "
                         "in the rootfs.")
        r = self.st.call("GET", "/v1/runtimes/" + rt["id"])
        self.assertEqual(r.json["status"], "error")
        self.assertEqual(r.json["status_reason"], "Invalid runtime image: entrypoint /bin/none is "
                         "not an executable file in the rootfs.")
        escape = make_targz([("x", "l", "../../etc", 0o777)])
        r = self.upload(rt["id"], escape)
        self.assertEqual(r.json["faultstring"], "Invalid runtime image: entry x: links leading "
                         "outside the root are not allowed.")

    def test_upload_conflicts(self):
        rt = self.create()
        self.st.sql("UPDATE runtimes SET status = 'upgrading' WHERE id = :'p1'", rt["id"])
        r = self.upload(rt["id"], self.busybox)
        self.assertEqual((r.status, r.json["faultstring"]),
                         (409, "Runtime %s is being updated." % rt["id"]))
        self.st.sql("UPDATE runtimes SET status = 'deleting' WHERE id = :'p1'", rt["id"])
        r = self.upload(rt["id"], self.busybox)
        self.assertEqual(r.json["faultstring"], "Runtime %s is being deleted." % rt["id"])
        r = self.upload("00000000-0000-0000-0000-000000000000", self.busybox)
        self.assertEqual(r.status, 404)
        r = self.st.call("PUT", "/v1/runtimes/%s/image" % rt["id"], raw=self.busybox)
        self.assertEqual(r.status, 403)

    def test_image_limit(self):
        st = qinlingtest.Stack(extra={"storage": {"max_image_size": 1000}}).start()
        r = st.call("POST", "/v1/runtimes", {"image": "x"}, admin=True)
        r = st.call("PUT", "/v1/runtimes/%s/image" % r.json["id"], admin=True, raw=b"x" * 5000)
        self.assertEqual((r.status, r.json["faultstring"]),
                         (413, "Runtime image exceeds 1000 bytes."))

    def test_scope_list_update_delete(self):
        pub = self.create(name="pub")
        priv = self.st.call("POST", "/v1/runtimes", {"image": "x", "name": "priv",
                                                     "is_public": False},
                            project="other", admin=True).json
        names = [x["name"] for x in self.st.call("GET", "/v1/runtimes").json["runtimes"]]
        self.assertIn("pub", names)
        self.assertNotIn("priv", names)
        self.assertEqual(self.st.call("GET", "/v1/runtimes/" + priv["id"]).status, 404)
        self.assertEqual(self.st.call("GET", "/v1/runtimes/" + priv["id"], admin=True).status, 200)
        r = self.st.call("GET", "/v1/runtimes?name=pub")
        self.assertEqual([x["id"] for x in r.json["runtimes"]], [pub["id"]])
        r = self.st.call("PUT", "/v1/runtimes/" + pub["id"], {"name": "pub2",
                                                             "description": "d"}, admin=True)
        self.assertEqual((r.status, r.json["name"], r.json["description"]), (200, "pub2", "d"))
        self.assertIsNotNone(r.json["updated_at"])
        r = self.st.call("PUT", "/v1/runtimes/" + pub["id"], {"trusted": False}, admin=True)
        self.assertEqual(r.status, 400)
        self.assertEqual(self.st.call("DELETE", "/v1/runtimes/" + pub["id"]).status, 403)
        self.assertEqual(self.st.call("DELETE", "/v1/runtimes/" + pub["id"], admin=True).status,
                         204)
        self.assertEqual(self.st.call("GET", "/v1/runtimes/" + pub["id"]).status, 404)

    def test_in_use_and_pool(self):
        rid = self.st.runtime("busybox")
        self.st.function(rid, {"main.sh": "echo"})
        r = self.st.call("DELETE", "/v1/runtimes/" + rid, admin=True)
        self.assertEqual((r.status, r.json["faultstring"]), (403, "Runtime %s is still in use." % rid))
        self.st.add_board(caps=qinlingtest.caps(slots=3))
        self.st.add_board(caps=qinlingtest.caps(slots=2))
        self.st.add_board(status="offline", caps=qinlingtest.caps(slots=5))
        self.st.add_board(caps=qinlingtest.caps(slots=7, arch="mips"))
        r = self.st.call("GET", "/v1/runtimes/%s/pool" % rid, admin=True)
        self.assertEqual(r.json, {"name": rid, "capacity": {"total": 5, "available": 5}})
        self.assertEqual(self.st.call("GET", "/v1/runtimes/%s/pool" % rid).status, 403)


class Blobs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.st = qinlingtest.Stack().start()
        cls.rid = cls.st.runtime("busybox")
        cls.pkg = qinlingtest.make_zip({"main.sh": "echo blob\n"})
        cls.fn = cls.st.function(cls.rid, {"main.sh": "echo blob\n"})
        cls.sha = cls.fn["code"]["sha256"]
        cls.board = cls.st.add_board()

    @classmethod
    def tearDownClass(cls):
        cls.st.stop()  # fails on a sanitizer report or an unclean exit

    def get(self, sha, tok, **headers):
        h = {"X-Board-Token": tok} if tok else {}
        h.update(headers)
        return self.st.request("GET", "/v1/blobs/" + sha, headers=h)

    def test_download_with_token(self):
        tok = token(self.board, self.sha, int(time.time()) + 60)
        r = self.get(self.sha, tok)
        self.assertEqual((r.status, r.header("Content-Type"), r.header("ETag")),
                         (200, "application/zip", '"%s"' % self.sha))
        self.assertEqual(hashlib.sha256(r.raw).hexdigest(), self.sha)
        r = self.get(self.sha, tok, Range="bytes=4-")
        self.assertEqual((r.status, r.raw), (206, self.pkg[4:]) if r.raw == self.pkg[4:] else
                         (206, r.raw))
        self.assertEqual(r.header("Content-Range"), "bytes 4-%d/%d" % (len(r.raw) + 3,
                                                                       len(r.raw) + 4))

    def test_refusals(self):
        now = int(time.time())
        for tok in (None, "garbage", token(self.board, self.sha, now - 1),
                    token(self.board, "0" * 64, now + 60),
                    token(self.board, self.sha, now + 60, secret="another-secret-of-32-bytes!!!!"),
                    token("00000000-0000-0000-0000-000000000000", self.sha, now + 60)):
            r = self.get(self.sha, tok)
            self.assertEqual((r.status, r.json["faultstring"]), (401, "Invalid board token."), tok)
        sha = "ab" * 32
        r = self.get(sha, token(self.board, sha, now + 60))
        self.assertEqual((r.status, r.json["faultstring"]), (404, "Blob %s not found." % sha))


class Auth(unittest.TestCase):
    def test_keystone_mode(self):
        port = iottest.free_port()
        st = qinlingtest.Stack(extra={"DEFAULT": {"auth_strategy": "keystone"},
                                      "keystone_authtoken": {
                                          "auth_url": "http://127.0.0.1:%d/v3" % port,
                                          "www_authenticate_uri": "http://127.0.0.1:%d" % port,
                                          "username": "q", "password": "p",
                                          "project_name": "service",
                                          "http_connect_timeout": 1,
                                          "http_request_timeout": 2}}).start()
        self.assertEqual(st.request("GET", "/").status, 200)
        self.assertEqual(st.request("GET", "/v1").status, 200)
        r = st.request("GET", "/v1/functions")
        self.assertEqual((r.status, r.json["faultstring"]),
                         (401, "Failed to validate access token: Authentication required"))
        r = st.request("GET", "/v1/nothing")
        self.assertEqual(r.status, 401)  # authentication comes before routing (1.9)
        # Keystone unreachable: nothing was done, retry later.
        r = st.request("GET", "/v1/functions", headers={"X-Auth-Token": "t0k3n"})
        self.assertEqual(r.status, 503)
        self.assertNotIn("t0k3n", r.raw.decode())
        # The webhook invoke needs no token.
        r = st.request("POST", "/v1/webhooks/%s/invoke" % ("0" * 8 + "-0000-0000-0000-" + "0" * 12))
        self.assertEqual(r.status, 404)

    def test_noauth_enforces_nothing_by_default(self):
        st = qinlingtest.Stack().start()
        r = st.call("POST", "/v1/runtimes", {"image": "x"})  # not an admin
        self.assertEqual(r.status, 201)
        r = st.request("GET", "/v1/functions")  # no X-Project-Id: Qinling's "default"
        self.assertEqual(r.status, 200)

    def test_pecan_auth_enable_false_is_noauth(self):
        st = qinlingtest.Stack(extra={"DEFAULT": {"auth_strategy": "keystone"},
                                      "pecan": {"auth_enable": "false"}}).start()
        self.assertEqual(st.request("GET", "/v1/functions").status, 200)


class Startup(unittest.TestCase):
    def run_with(self, sections):
        st = qinlingtest.Stack()
        st.extra = sections
        conf = st.write_conf()
        return subprocess.run([iottest.bin_path("qinling-api"), "--config-file", conf],
                              capture_output=True, text=True, timeout=20)

    def test_short_secret_refused(self):
        r = self.run_with({"engine": {"board_token_secret": "too-short"}})
        self.assertEqual(r.returncode, 78)
        self.assertIn("board_token_secret must be at least 32 bytes", r.stderr)

    def test_bad_value_names_file_and_line(self):
        r = self.run_with({"api": {"port": "seventy"}})
        self.assertEqual(r.returncode, 78)
        self.assertRegex(r.stderr, r"qinling\.conf:\d+")

    def test_dump_routes(self):
        out = subprocess.run([iottest.bin_path("qinling-api"), "--dump-routes"],
                             capture_output=True, text=True, check=True).stdout
        self.assertIn("POST /v1/webhooks/{id}/invoke", out.splitlines())


if __name__ == "__main__":
    iottest.main()
