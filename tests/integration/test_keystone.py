#!/usr/bin/python3
# needs: nothing
"""libiotauth against a real Keystone (Debian's python3-keystone): a private
Keystone on SQLite on a loopback port, a project, users, roles and tokens;
then tests/tools/httptest in keystone mode checks what the services rely on:
project-scoped tokens give the right identity and roles, unscoped and
domain-scoped tokens get 403, bogus or missing tokens 401 with
WWW-Authenticate, the cache saves the second Keystone round trip, the
service re-authenticates when Keystone revokes its own token, and a Keystone
outage answers 503 while cached tokens keep working."""

import json
import os
import sqlite3
import subprocess
import time
import unittest
import urllib.error
import urllib.request

import iottest
from test_http import Conn, once, request

KEYSTONE_MANAGE = "/usr/bin/keystone-manage"
KEYSTONE_WSGI = "/usr/bin/keystone-wsgi-public"
ADMIN_PASSWORD = "admin-secret"
SERVICE_PASSWORD = "iotronic-secret"


class Keystone:
    """A private Keystone: SQLite, fernet tokens, its own directory."""

    def __init__(self):
        self.dir = iottest.tmpdir("keystone-")
        self.port = iottest.free_port()
        self.url = "http://127.0.0.1:%d/v3" % self.port
        self.conf = os.path.join(self.dir, "keystone.conf")
        iottest.write_conf(self.conf, {
            "DEFAULT": {"use_stderr": "true"},
            "database": {"connection": "sqlite:///%s/keystone.db" % self.dir},
            "token": {"provider": "fernet", "expiration": 3600},
            "fernet_tokens": {"key_repository": os.path.join(self.dir, "fernet-keys")},
            "fernet_receipts": {"key_repository": os.path.join(self.dir, "fernet-receipts")},
            "cache": {"enabled": "false"},
            # bcrypt's cheapest cost: every user and token here hashes a
            # password, and the default cost makes that the slowest step.
            "identity": {"password_hash_rounds": 4},
        })
        self.daemon = None

    def manage(self, *args):
        r = subprocess.run([KEYSTONE_MANAGE, "--config-file", self.conf] + list(args),
                           capture_output=True, text=True, cwd=self.dir, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("keystone-manage %s: %s" % (args[0], r.stderr[-2000:]))

    def setup(self):
        self.manage("db_sync")
        # Keystone under wsgiref leaves a read transaction open between
        # requests; in SQLite's default rollback journal that blocks every
        # later commit ("database is locked"). In WAL mode readers never
        # block the writer, and the mode is stored in the file.
        with sqlite3.connect(os.path.join(self.dir, "keystone.db")) as db:
            db.execute("PRAGMA journal_mode=WAL")
        self.manage("fernet_setup", "--keystone-user", "root", "--keystone-group", "root")
        self.manage("bootstrap", "--bootstrap-password", ADMIN_PASSWORD,
                    "--bootstrap-username", "admin", "--bootstrap-project-name", "admin",
                    "--bootstrap-role-name", "admin", "--bootstrap-service-name", "keystone",
                    "--bootstrap-region-id", "RegionOne", "--bootstrap-public-url", self.url)
        return self

    def start(self):
        self.daemon = iottest.Daemon("keystone", ["--host", "127.0.0.1", "--port",
                                                  str(self.port)],
                                     env={"OS_KEYSTONE_CONFIG_FILES": self.conf},
                                     cwd=self.dir, logdir=self.dir, exe=KEYSTONE_WSGI)
        self.daemon.start(wait_for_port=self.port, timeout=60)
        return self

    def stop(self):
        if self.daemon is not None:
            self.daemon.stop()
            self.daemon = None

    # -------------------------------------------------------- the REST API

    def call(self, method, path, body=None, token=None, expect=(200, 201, 204)):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("X-Auth-Token", token)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, headers, raw = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, headers, raw = e.code, e.headers, e.read()
        if status not in expect:
            raise AssertionError("Keystone %s %s: %d %s\n%s" % (
                method, path, status, raw[:500], self.daemon.tail(40) if self.daemon else ""))
        return status, headers, (json.loads(raw) if raw else None)

    def token(self, user, password, project=None, domain=None, domain_id="default"):
        auth = {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": domain_id}, "password": password}}}}
        if project is not None:
            auth["scope"] = {"project": {"name": project, "domain": {"id": "default"}}}
        elif domain is not None:
            auth["scope"] = {"domain": {"id": domain}}
        _, headers, body = self.call("POST", "/auth/tokens", {"auth": auth})
        return headers["X-Subject-Token"], body["token"]

    def create(self, kind, body, admin):
        _, _, doc = self.call("POST", "/%ss" % kind, {kind: body}, token=admin)
        return doc[kind]["id"]

    def grant(self, admin, role, user, project=None, domain=None):
        target = "projects/%s" % project if project else "domains/%s" % domain
        self.call("PUT", "/%s/users/%s/roles/%s" % (target, user, role), token=admin)


@unittest.skipUnless(os.path.exists(KEYSTONE_MANAGE) and os.path.exists(KEYSTONE_WSGI),
                     "python3-keystone is not installed (tools/deps.list)")
class KeystoneAuth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ks = cls.ks = Keystone().setup().start()
        cls.admin_token, _ = ks.token("admin", ADMIN_PASSWORD, project="admin")
        admin = cls.admin_token
        roles = {r: ks.create("role", {"name": r}, admin)
                 for r in ("admin_iot_project", "user_iot", "service")}
        cls.iot = ks.create("project", {"name": "iot", "domain_id": "default"}, admin)
        service = ks.create("project", {"name": "service", "domain_id": "default"}, admin)
        cls.alice = ks.create("user", {"name": "alice", "password": "alice-pw",
                                       "domain_id": "default"}, admin)
        cls.bob = ks.create("user", {"name": "bob", "password": "bob-pw",
                                     "domain_id": "default"}, admin)
        cls.svc_user = ks.create("user", {"name": "iotronic", "password": SERVICE_PASSWORD,
                                          "domain_id": "default"}, admin)
        ks.grant(admin, roles["admin_iot_project"], cls.alice, project=cls.iot)
        ks.grant(admin, roles["user_iot"], cls.bob, project=cls.iot)
        ks.grant(admin, roles["admin_iot_project"], cls.alice, domain="default")
        ks.grant(admin, roles["service"], cls.svc_user, project=service)
        cls.start_httptest()

    @classmethod
    def start_httptest(cls):
        d = iottest.tmpdir("httptest-ks-")
        cls.port, cls.admin_port = iottest.free_port(), iottest.free_port()
        conf = iottest.write_conf(os.path.join(d, "httptest.conf"), {
            "DEFAULT": {"auth_strategy": "keystone"},
            "httptest": {"port": cls.port, "admin_port": cls.admin_port, "workers": 2,
                         "log_level": "info"},
            "keystone_authtoken": {
                # Without "/v3": the client must add it.
                "auth_url": "http://127.0.0.1:%d" % cls.ks.port,
                "www_authenticate_uri": cls.ks.url,
                "auth_type": "password",
                "username": "iotronic", "password": SERVICE_PASSWORD,
                "project_name": "service",
                "user_domain_name": "Default", "project_domain_name": "Default",
                "token_cache_time": 300, "negative_cache_time": 30,
                "http_connect_timeout": 3, "http_request_timeout": 10,
            },
        })
        cls.d = iottest.Daemon("httptest", ["--config-file", conf], logdir=d)
        cls.d.start(wait_for_port=cls.port)

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "d", None) is not None:
            rc = cls.d.stop()
            log = cls.d.log_text()
            assert "AddressSanitizer" not in log and "runtime error" not in log, log[-3000:]
            assert rc in (0, None), cls.d.tail()
        cls.ks.stop()

    def get(self, path, token=None, extra=None):
        h = dict(extra or {})
        if token:
            h["X-Auth-Token"] = token
        return once(self.port, request("GET", path, h), timeout=30)

    def stats(self):
        text = once(self.admin_port, request("GET", "/metrics")).body.decode()
        out = {}
        for line in text.splitlines():
            if line.startswith("auth_"):
                k, v = line.split()
                out[k] = float(v)
        return out

    def test_project_scoped_token_gives_identity_and_roles(self):
        tok, body = self.ks.token("alice", "alice-pw", project="iot")
        r = self.get("/whoami", tok, {"X-User-Id": "mallory", "X-Roles": "admin",
                                      "X-Project-Id": "elsewhere"})
        self.assertEqual(r.status, 200, r.body)
        who = r.json()
        self.assertEqual(who["user_id"], self.alice)
        self.assertEqual(who["user_name"], "alice")
        self.assertEqual(who["project_id"], self.iot)
        self.assertEqual(who["project_name"], "iot")
        self.assertEqual(who["project_domain_id"], "default")
        self.assertEqual(who["roles"], [x["name"] for x in body["roles"]])
        self.assertIn("admin_iot_project", who["roles"])
        self.assertNotIn("admin", who["roles"])
        self.assertFalse(who["is_admin"])
        bob, _ = self.ks.token("bob", "bob-pw", project="iot")
        self.assertEqual(self.get("/whoami", bob).json()["roles"], ["user_iot"])

    def test_admin_token_is_admin(self):
        self.assertTrue(self.get("/whoami", self.admin_token).json()["is_admin"])

    def test_cache_saves_the_second_round_trip(self):
        tok, _ = self.ks.token("bob", "bob-pw", project="iot")
        before = self.stats()
        self.assertEqual(self.get("/whoami", tok).status, 200)
        middle = self.stats()
        self.assertEqual(middle["auth_keystone_validations"],
                         before["auth_keystone_validations"] + 1)
        for _ in range(5):
            self.assertEqual(self.get("/echo/x", tok).status, 200)
        after = self.stats()
        self.assertEqual(after["auth_keystone_validations"], middle["auth_keystone_validations"])
        self.assertEqual(after["auth_token_cache_hits"], middle["auth_token_cache_hits"] + 5)

    def test_unscoped_and_domain_scoped_tokens_get_403(self):
        unscoped, body = self.ks.token("bob", "bob-pw")
        self.assertNotIn("project", body)
        domain, body = self.ks.token("alice", "alice-pw", domain="default")
        self.assertIn("domain", body)
        for tok in (unscoped, domain):
            r = self.get("/whoami", tok)
            self.assertEqual(r.status, 403)
            self.assertEqual(r.fault(), "A project-scoped token is required.")

    def test_bogus_and_missing_tokens_get_401_with_the_challenge(self):
        challenge = 'Keystone uri="%s"' % self.ks.url
        for tok in (None, "gAAAAAB-not-a-token", "x" * 200, "bad token with spaces"):
            r = self.get("/whoami", tok)
            self.assertEqual(r.status, 401, tok)
            self.assertEqual(r.fault(), "The request you have made requires authentication.")
            self.assertEqual(r.header("WWW-Authenticate"), challenge)
        # A rejection is remembered: no second round trip for the same token.
        before = self.stats()["auth_keystone_validations"]
        self.assertEqual(self.get("/whoami", "gAAAAAB-not-a-token").status, 401)
        self.assertEqual(self.stats()["auth_keystone_validations"], before)

    def test_public_routes_need_no_token(self):
        self.assertEqual(self.get("/").status, 200)
        self.assertEqual(self.get("/v1").status, 200)
        self.assertEqual(self.get("/nope").status, 401)  # authentication comes before 404

    def test_policy_is_enforced_with_token_identities(self):
        tok, _ = self.ks.token("alice", "alice-pw", project="iot")
        self.assertEqual(self.get("/policy/test:get?owner=%s" % self.alice, tok).status, 200)
        r = self.get("/policy/test:get?owner=%s" % self.bob, tok)
        self.assertEqual(r.status, 403)
        self.assertEqual(r.fault(), "Access was denied to the following resource: test:get")
        self.assertEqual(self.get("/policy/test:get?owner=%s" % self.bob,
                                  self.admin_token).status, 200)

    def test_zz_service_token_revoked_then_keystone_down(self):
        # Disabling and re-enabling the service user revokes its token; the
        # next validation is refused with 401 and the service logs in again.
        cached, _ = self.ks.token("bob", "bob-pw", project="iot")
        self.assertEqual(self.get("/whoami", cached).status, 200)
        logins = self.stats()["auth_keystone_logins"]
        for enabled in (False, True):
            self.ks.call("PATCH", "/users/%s" % self.svc_user, {"user": {"enabled": enabled}},
                         token=self.admin_token)
        time.sleep(1.1)  # revocation events have a one-second resolution
        tok, _ = self.ks.token("alice", "alice-pw", project="iot")
        r = self.get("/whoami", tok)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.stats()["auth_keystone_logins"], logins + 1)
        # Keystone goes away: new tokens cannot be checked (503, nothing
        # done), cached ones still work.
        fresh, _ = self.ks.token("bob", "bob-pw", project="iot")
        self.ks.stop()
        r = self.get("/whoami", fresh)
        self.assertEqual(r.status, 503)
        self.assertEqual(r.fault(), "Resource temporarily unavailable, please retry.")
        self.assertIsNone(r.header("WWW-Authenticate"))
        self.assertEqual(self.get("/whoami", cached).status, 200)
        self.assertIn("auth: cannot validate a token", self.d.log_text())
        self.assertNotIn(fresh, self.d.log_text())  # tokens are never logged


if __name__ == "__main__":
    iottest.main()
