"""iotronic-dbsync and the schema of db/migrations, against the run's PostgreSQL.

Proves: the schema is exactly iotronic-api-v1.md 5 plus board-protocol.md 11
(columns, types, nullability, defaults, constraint and index names); the keys
behave (unique codes, NULLS NOT DISTINCT names, cascades, RESTRICT, CHECKs,
one valid session per board); a second upgrade changes nothing; `version`
reports; a failing migration leaves nothing behind and is reported as
file:line; a changed, duplicated or out-of-order migration is refused;
connection and configuration errors are clear, with the documented exit codes.
"""

import os
import shutil
import subprocess
import threading
import time
import unittest

import iottest

ROOT = iottest.ROOT
SOURCE_MIGRATIONS = os.path.join(ROOT, "db", "migrations")
DBSYNC = iottest.bin_path("iotronic-dbsync")


def iotronic_migrations():
    """The migrations this suite specifies (IoTronic's 0001 and 0002), on their
    own, so that later migrations of other services do not change what the
    schema checks below expect."""
    d = os.path.join(iottest.tmpdir("iotmig-"), "migrations")
    os.makedirs(d)
    for name in ("0001_iotronic.sql", "0002_board_protocol.sql"):
        shutil.copy(os.path.join(SOURCE_MIGRATIONS, name), d)
    return d


MIGRATIONS = iotronic_migrations()


def dbsync(*args, env=None, timeout=60):
    e = dict(os.environ)
    e.pop("IOTRONIC_MIGRATIONS_DIR", None)
    e.update(env or {})
    return subprocess.run([DBSYNC] + list(args), capture_output=True, text=True, env=e,
                          timeout=timeout)


def upgrade(db, migrations=MIGRATIONS):
    return dbsync("--database", iottest.dsn(db), "--migrations-dir", migrations, "upgrade")


def copy_migrations():
    d = os.path.join(iottest.tmpdir("mig-"), "migrations")
    shutil.copytree(MIGRATIONS, d)
    return d


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


# Every column: table.column -> (type, not null, default), from the contracts.
U, T, J = "uuid", "timestamp with time zone", "jsonb"
COMMON = {"id": ("integer", True, None), "created_at": (T, True, "now()"),
          "updated_at": (T, False, None)}
SCHEMA = {
    "conductors": {"hostname": ("character varying(255)", True, None),
                   "online": ("boolean", True, "true")},
    "wampagents": {"hostname": ("character varying(255)", True, None),
                   "wsurl": ("character varying(255)", True, None),
                   "online": ("boolean", True, "true"), "ragent": ("boolean", True, "false"),
                   "heartbeat_at": (T, True, "now()"),
                   "wstun_url": ("character varying(255)", False, None),
                   "boards_online": ("integer", True, "0")},
    "boards": {"uuid": (U, True, None), "code": ("character varying(36)", True, None),
               "status": ("character varying(15)", True, "'registered'::character varying"),
               "name": ("character varying(255)", True, None),
               "type": ("character varying(255)", False, None),
               "agent": ("character varying(255)", False, None),
               "owner": ("character varying(64)", False, None),
               "project": ("character varying(64)", False, None), "fleet": (U, False, None),
               "lr_version": ("character varying(20)", False, None),
               "connectivity": (J, True, "'{}'::jsonb"), "mobile": ("boolean", True, "false"),
               "config": (J, True, "'{}'::jsonb"), "extra": (J, True, "'{}'::jsonb")},
    "locations": {"board_id": ("integer", True, None),
                  "longitude": ("character varying(18)", False, None),
                  "latitude": ("character varying(18)", False, None),
                  "altitude": ("character varying(18)", False, None)},
    "sessions": {"valid": ("boolean", True, "true"),
                 "session_id": ("character varying(20)", True, None),
                 "board_uuid": (U, True, None), "board_id": ("integer", True, None),
                 "peer": ("character varying(64)", False, None),
                 "authmethod": ("character varying(16)", True,
                                "'anonymous'::character varying"),
                 "last_seen_at": (T, False, None), "ended_at": (T, False, None)},
    "plugins": {"uuid": (U, True, None), "name": ("character varying(36)", True, None),
                "owner": ("character varying(64)", False, None),
                "public": ("boolean", True, "false"), "code": ("text", True, "''::text"),
                "callable": ("boolean", True, "false"),
                "parameters": (J, True, "'{}'::jsonb"), "extra": (J, True, "'{}'::jsonb")},
    "injection_plugins": {"board_uuid": (U, True, None), "plugin_uuid": (U, True, None),
                          "onboot": ("boolean", True, "false"),
                          "status": ("character varying(15)", True, None)},
    "services": {"uuid": (U, True, None), "name": ("character varying(36)", True, None),
                 "project": ("character varying(64)", False, None),
                 "owner": ("character varying(64)", False, None),
                 "port": ("integer", True, None),
                 "protocol": ("character varying(3)", True, None),
                 "extra": (J, True, "'{}'::jsonb")},
    "exposed_services": {"board_uuid": (U, True, None), "service_uuid": (U, True, None),
                         "public_port": ("integer", True, None)},
    "ports_on_boards": {"board_uuid": (U, True, None), "uuid": (U, True, None),
                        "vif_name": ("character varying(30)", True, None),
                        "mac_add": ("character varying(32)", False, None),
                        "ip": ("character varying(45)", False, None),
                        "network": ("character varying(36)", False, None)},
    "fleets": {"uuid": (U, True, None), "name": ("character varying(36)", True, None),
               "project": ("character varying(64)", False, None),
               "owner": ("character varying(64)", False, None),
               "description": ("character varying(300)", True,
                               "''::character varying"),
               "extra": (J, True, "'{}'::jsonb")},
    "webservices": {"uuid": (U, True, None), "port": ("integer", True, None),
                    "name": ("character varying(45)", True, None),
                    "board_uuid": (U, True, None), "secure": ("boolean", True, "true"),
                    "extra": (J, True, "'{}'::jsonb")},
    "enabled_webservices": {"board_uuid": (U, True, None),
                            "http_port": ("integer", True, None),
                            "https_port": ("integer", True, None),
                            "dns": ("character varying(100)", True, None),
                            "zone": ("character varying(100)", True, None),
                            "extra": (J, True, "'{}'::jsonb")},
    "requests": {"uuid": (U, True, None), "main_request_uuid": (U, False, None),
                 "destination_uuid": (U, False, None),
                 "pending_requests": ("integer", True, "0"),
                 "project": ("character varying(64)", False, None),
                 "status": ("character varying(10)", True, None),
                 "type": ("integer", True, "0"),
                 "action": ("character varying(32)", True, None)},
    "results": {"board_uuid": (U, True, None), "request_uuid": (U, True, None),
                "result": ("character varying(10)", True, None),
                "message": ("text", True, "''::text")},
    "board_credentials": {"board_uuid": (U, True, None),
                          "secret": ("character varying(64)", True, None),
                          "auth_required": ("boolean", True, "false"),
                          "registered_code": ("character varying(36)", False, None),
                          "registered_at": (T, False, None),
                          "created_at": (T, True, "now()"), "updated_at": (T, False, None)},
    "schema_migrations": {"version": ("integer", True, None),
                          "name": ("character varying(255)", True, None),
                          "checksum": ("character(64)", True, None),
                          "applied_at": (T, True, "now()")},
}
NO_COMMON = {"board_credentials", "schema_migrations"}

# (table, constraint name, type) from 5.3 and section 11; p/u/f/c as pg_constraint.
CONSTRAINTS = {
    ("conductors", "conductors_hostname_key", "u"), ("wampagents", "wampagents_hostname_key", "u"),
    ("boards", "boards_uuid_key", "u"), ("boards", "boards_code_key", "u"),
    ("boards", "boards_project_name_key", "u"), ("boards", "boards_status_check", "c"),
    ("boards", "boards_fleet_fkey", "f"), ("boards", "boards_connectivity_check", "c"),
    ("boards", "boards_config_check", "c"), ("boards", "boards_extra_check", "c"),
    ("locations", "locations_board_id_fkey", "f"),
    ("sessions", "sessions_session_id_board_uuid_key", "u"),
    ("sessions", "sessions_board_uuid_fkey", "f"), ("sessions", "sessions_board_id_fkey", "f"),
    ("plugins", "plugins_uuid_key", "u"), ("plugins", "plugins_parameters_check", "c"),
    ("plugins", "plugins_extra_check", "c"),
    ("injection_plugins", "injection_plugins_board_uuid_plugin_uuid_key", "u"),
    ("injection_plugins", "injection_plugins_board_uuid_fkey", "f"),
    ("injection_plugins", "injection_plugins_plugin_uuid_fkey", "f"),
    ("services", "services_uuid_key", "u"), ("services", "services_port_check", "c"),
    ("services", "services_protocol_check", "c"), ("services", "services_extra_check", "c"),
    ("exposed_services", "exposed_services_public_port_key", "u"),
    ("exposed_services", "exposed_services_board_uuid_service_uuid_key", "u"),
    ("exposed_services", "exposed_services_public_port_check", "c"),
    ("exposed_services", "exposed_services_board_uuid_fkey", "f"),
    ("exposed_services", "exposed_services_service_uuid_fkey", "f"),
    ("ports_on_boards", "ports_on_boards_uuid_key", "u"),
    ("ports_on_boards", "ports_on_boards_vif_name_key", "u"),
    ("ports_on_boards", "ports_on_boards_board_uuid_fkey", "f"),
    ("fleets", "fleets_uuid_key", "u"), ("fleets", "fleets_extra_check", "c"),
    ("webservices", "webservices_uuid_key", "u"),
    ("webservices", "webservices_board_uuid_name_key", "u"),
    ("webservices", "webservices_board_uuid_port_key", "u"),
    ("webservices", "webservices_port_check", "c"),
    ("webservices", "webservices_board_uuid_fkey", "f"),
    ("webservices", "webservices_extra_check", "c"),
    ("enabled_webservices", "enabled_webservices_board_uuid_key", "u"),
    ("enabled_webservices", "enabled_webservices_dns_key", "u"),
    ("enabled_webservices", "enabled_webservices_board_uuid_fkey", "f"),
    ("enabled_webservices", "enabled_webservices_extra_check", "c"),
    ("requests", "requests_uuid_key", "u"), ("requests", "requests_main_request_uuid_fkey", "f"),
    ("results", "results_board_uuid_request_uuid_key", "u"),
    ("results", "results_request_uuid_fkey", "f"),
    ("board_credentials", "board_credentials_pkey", "p"),
    ("board_credentials", "board_credentials_board_uuid_fkey", "f"),
    ("schema_migrations", "schema_migrations_pkey", "p"),
}
for _t in SCHEMA:
    if _t not in NO_COMMON:
        CONSTRAINTS.add((_t, _t + "_pkey", "p"))

# Plain and partial indexes (those behind constraints are checked above).
INDEXES = {
    "boards_project_id_idx": "(project, id)", "boards_fleet_idx": "(fleet)",
    "boards_agent_idx": "(agent)", "locations_board_id_idx": "(board_id)",
    "sessions_one_valid_per_board": "UNIQUE INDEX sessions_one_valid_per_board ON "
                                    "public.sessions USING btree (board_uuid) WHERE valid",
    "plugins_owner_idx": "(owner)",
    "plugins_public_idx": "USING btree (public) WHERE public",
    "services_project_id_idx": "(project, id)", "fleets_project_id_idx": "(project, id)",
    "requests_project_id_idx": "(project, id)",
    "requests_main_request_uuid_idx": "(main_request_uuid)",
    "results_request_uuid_idx": "(request_uuid)",
    "sessions_board_uuid_idx": "(board_uuid)", "sessions_board_id_idx": "(board_id)",
    "injection_plugins_plugin_uuid_idx": "(plugin_uuid)",
    "exposed_services_service_uuid_idx": "(service_uuid)",
    "ports_on_boards_board_uuid_idx": "(board_uuid)",
    "sessions_ended_at_idx": "(ended_at) WHERE (NOT valid)",
}

BAD = """-- 0099_bad.sql: creates a table, then fails
CREATE TABLE bad_partial (a integer);
INSERT INTO bad_partial VALUES (1);

SELECT a
  FROM no_such_table;
"""


def schema_dump(db):
    svc = iottest.services()
    r = subprocess.run(["pg_dump", "--schema-only", "-h", "127.0.0.1", "-p", str(svc.pg_port),
                        "-U", "postgres", db], capture_output=True, text=True, check=True)
    # pg_dump 15.14+ brackets its output with \restrict <random key> lines.
    return "\n".join(line for line in r.stdout.splitlines()
                     if not line.startswith(("\\restrict", "\\unrestrict")))


def migrations_rows(db):
    return iottest.psql(db, "SELECT version, name, checksum, applied_at FROM schema_migrations "
                            "ORDER BY version")


def version_of(db):
    return iottest.psql(db, "SELECT coalesce(max(version), 0) FROM schema_migrations")[0][0]


class Schema(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = iottest.new_db(migrated=False)
        r = upgrade(cls.db)
        assert r.returncode == 0, r.stderr

    def test_upgrade_reports_each_migration(self):
        db = iottest.new_db(migrated=False)
        r = upgrade(db)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"applied 0001_iotronic\.sql \([0-9.]+ ms\)\n"
                                   r"applied 0002_board_protocol\.sql \([0-9.]+ ms\)\n"
                                   r"database at version 2\n")
        rows = migrations_rows(db)
        self.assertEqual([(r[0], r[1]) for r in rows],
                         [("1", "0001_iotronic.sql"), ("2", "0002_board_protocol.sql")])
        for row, name in zip(rows, ("0001_iotronic.sql", "0002_board_protocol.sql")):
            sha = subprocess.run(["sha256sum", os.path.join(MIGRATIONS, name)],
                                 capture_output=True, text=True).stdout.split()[0]
            self.assertEqual(row[2], sha)

    def test_columns_types_nulls_defaults(self):
        rows = iottest.psql(self.db, """
            SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   coalesce(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity
              FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0
               AND NOT a.attisdropped""")
        got = {}
        for table, col, typ, notnull, default, identity in rows:
            got.setdefault(table, {})[col] = (typ, notnull == "t", default or None, identity)
        self.assertEqual(set(got), set(SCHEMA))
        for table, cols in SCHEMA.items():
            want = dict(cols)
            if table not in NO_COMMON:
                want.update(COMMON)
            self.assertEqual(set(got[table]), set(want), table)
            for col, (typ, notnull, default) in want.items():
                self.assertEqual(got[table][col][:3], (typ, notnull, default),
                                 "%s.%s" % (table, col))
            if table not in NO_COMMON:
                self.assertEqual(got[table]["id"][3], "d", table + ".id is BY DEFAULT identity")

    def test_constraint_names(self):
        rows = iottest.psql(self.db, """
            SELECT c.relname, k.conname, k.contype FROM pg_constraint k
              JOIN pg_class c ON c.oid = k.conrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'""")
        self.assertEqual({tuple(r) for r in rows}, CONSTRAINTS)
        nnd = iottest.psql(self.db, "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                                    "WHERE conname = 'boards_project_name_key'")[0][0]
        self.assertEqual(nnd, "UNIQUE NULLS NOT DISTINCT (project, name)")
        actions = dict(iottest.psql(self.db, "SELECT conname, confdeltype FROM pg_constraint "
                                             "WHERE contype = 'f'"))
        self.assertEqual(actions.pop("boards_fleet_fkey"), "n")  # SET NULL
        self.assertEqual(actions.pop("injection_plugins_plugin_uuid_fkey"), "r")  # RESTRICT
        self.assertEqual(actions.pop("exposed_services_service_uuid_fkey"), "r")
        self.assertEqual(set(actions.values()), {"c"})  # every other one cascades

    def test_indexes(self):
        rows = dict(iottest.psql(self.db, """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
             WHERE i.schemaname = 'public' AND NOT EXISTS
                   (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname)"""))
        self.assertEqual(set(rows), set(INDEXES))
        for name, fragment in INDEXES.items():
            self.assertIn(fragment, rows[name], name)


class Constraints(unittest.TestCase):
    """The keys behave as 5.3 says, on a database built by iotronic-dbsync."""

    def setUp(self):
        self.db = iottest.new_db()

    def sql(self, text, *params):
        return iottest.psql(self.db, text, *params)

    def board(self, code, name, project=None):
        if project is None:
            return self.sql("INSERT INTO boards (uuid, code, name) VALUES "
                            "(gen_random_uuid(), :'p1', :'p2') RETURNING uuid, id",
                            code, name)[0]
        return self.sql("INSERT INTO boards (uuid, code, name, project) VALUES "
                        "(gen_random_uuid(), :'p1', :'p2', :'p3') RETURNING uuid, id",
                        code, name, project)[0]

    def refused(self, constraint, text, *params):
        with self.assertRaisesRegex(RuntimeError, '"%s"' % constraint):
            self.sql(text, *params)

    def test_defaults(self):
        uuid, bid = self.board("C1", "b1")
        self.assertEqual(self.sql("SELECT status, mobile, connectivity, config, extra, "
                                  "created_at IS NOT NULL, updated_at IS NULL FROM boards"),
                         [["registered", "f", "{}", "{}", "{}", "t", "t"]])
        self.sql("INSERT INTO sessions (session_id, board_uuid, board_id) VALUES "
                 "('1', :'p1', :'p2')", uuid, bid)
        self.assertEqual(self.sql("SELECT valid, authmethod FROM sessions"), [["t", "anonymous"]])
        self.sql("INSERT INTO wampagents (hostname, wsurl) VALUES ('w1', 'wss://x:8181/')")
        self.assertEqual(self.sql("SELECT online, ragent, boards_online, heartbeat_at IS NOT NULL "
                                  "FROM wampagents"), [["t", "f", "0", "t"]])

    def test_unique_code_and_names_per_project(self):
        self.board("C1", "b1")
        self.refused("boards_code_key", "INSERT INTO boards (uuid, code, name) VALUES "
                                        "(gen_random_uuid(), 'C1', 'other')")
        # NULLS NOT DISTINCT: two boards without a project cannot share a name...
        self.refused("boards_project_name_key", "INSERT INTO boards (uuid, code, name) VALUES "
                                                "(gen_random_uuid(), 'C2', 'b1')")
        # ...but the same name in two projects (and in one of them) is fine once each.
        self.board("C3", "b1", "projA")
        self.board("C4", "b1", "projB")
        self.refused("boards_project_name_key", "INSERT INTO boards (uuid, code, name, project) "
                                                "VALUES (gen_random_uuid(), 'C5', 'b1', 'projA')")

    def test_checks(self):
        cases = [
            ("boards_status_check", "INSERT INTO boards (uuid, code, name, status) VALUES "
                                    "(gen_random_uuid(), 'X1', 'x1', 'broken')"),
            ("boards_extra_check", "INSERT INTO boards (uuid, code, name, extra) VALUES "
                                   "(gen_random_uuid(), 'X2', 'x2', '[]')"),
            ("boards_connectivity_check", "INSERT INTO boards (uuid, code, name, connectivity) "
                                          "VALUES (gen_random_uuid(), 'X3', 'x3', '\"s\"')"),
            ("services_port_check", "INSERT INTO services (uuid, name, port, protocol) VALUES "
                                    "(gen_random_uuid(), 's', 0, 'TCP')"),
            ("services_port_check", "INSERT INTO services (uuid, name, port, protocol) VALUES "
                                    "(gen_random_uuid(), 's', 65536, 'TCP')"),
            ("services_protocol_check", "INSERT INTO services (uuid, name, port, protocol) "
                                        "VALUES (gen_random_uuid(), 's', 22, 'tcp')"),
            ("webservices_port_check", "INSERT INTO webservices (uuid, port, name, board_uuid) "
                                       "VALUES (gen_random_uuid(), 70000, 'w', "
                                       "gen_random_uuid())"),
            ("plugins_parameters_check", "INSERT INTO plugins (uuid, name, parameters) VALUES "
                                         "(gen_random_uuid(), 'p', '1')"),
        ]
        for constraint, text in cases:
            self.refused(constraint, text)
        self.sql("INSERT INTO services (uuid, name, port, protocol) VALUES "
                 "(gen_random_uuid(), 's', 65535, 'ANY'), (gen_random_uuid(), 't', 1, 'UDP')")

    def test_one_valid_session_per_board(self):
        uuid, bid = self.board("C1", "b1")
        ins = ("INSERT INTO sessions (session_id, board_uuid, board_id, valid) VALUES "
               "(:'p1', :'p2', :'p3', :'p4')")
        self.sql(ins, "1", uuid, bid, "false")
        self.sql(ins, "2", uuid, bid, "true")
        self.refused("sessions_one_valid_per_board", ins, "3", uuid, bid, "true")
        self.refused("sessions_session_id_board_uuid_key", ins, "1", uuid, bid, "false")
        self.sql("UPDATE sessions SET valid = false")
        self.sql(ins, "3", uuid, bid, "true")

    def test_cascades_and_set_null(self):
        fleet = self.sql("INSERT INTO fleets (uuid, name) VALUES (gen_random_uuid(), 'f') "
                         "RETURNING uuid")[0][0]
        uuid, bid = self.board("C1", "b1")
        self.sql("UPDATE boards SET fleet = :'p1'", fleet)
        plugin = self.sql("INSERT INTO plugins (uuid, name) VALUES (gen_random_uuid(), 'p') "
                          "RETURNING uuid")[0][0]
        service = self.sql("INSERT INTO services (uuid, name, port, protocol) VALUES "
                           "(gen_random_uuid(), 's', 22, 'TCP') RETURNING uuid")[0][0]
        self.sql("INSERT INTO locations (board_id) VALUES (:'p1')", bid)
        self.sql("INSERT INTO sessions (session_id, board_uuid, board_id) VALUES "
                 "('1', :'p1', :'p2')", uuid, bid)
        self.sql("INSERT INTO injection_plugins (board_uuid, plugin_uuid, status) VALUES "
                 "(:'p1', :'p2', 'injected')", uuid, plugin)
        self.sql("INSERT INTO exposed_services (board_uuid, service_uuid, public_port) VALUES "
                 "(:'p1', :'p2', 50000)", uuid, service)
        self.sql("INSERT INTO ports_on_boards (board_uuid, uuid, vif_name) VALUES "
                 "(:'p1', gen_random_uuid(), 'iotronic50001')", uuid)
        self.sql("INSERT INTO webservices (uuid, port, name, board_uuid) VALUES "
                 "(gen_random_uuid(), 80, 'w', :'p1')", uuid)
        self.sql("INSERT INTO enabled_webservices (board_uuid, http_port, https_port, dns, zone) "
                 "VALUES (:'p1', 50002, 50003, 'b1', 'example.org')", uuid)
        self.sql("INSERT INTO board_credentials (board_uuid, secret) VALUES (:'p1', 's')", uuid)
        # RESTRICT: an injected plugin and an exposed service stay.
        self.refused("injection_plugins_plugin_uuid_fkey", "DELETE FROM plugins")
        self.refused("exposed_services_service_uuid_fkey", "DELETE FROM services")
        # SET NULL: deleting the fleet leaves the board fleetless.
        self.sql("DELETE FROM fleets")
        self.assertEqual(self.sql("SELECT fleet IS NULL FROM boards"), [["t"]])
        # CASCADE: deleting the board removes everything that hangs off it.
        self.sql("DELETE FROM boards")
        for table in ("locations", "sessions", "injection_plugins", "exposed_services",
                      "ports_on_boards", "webservices", "enabled_webservices",
                      "board_credentials"):
            self.assertEqual(self.sql("SELECT count(*) FROM " + table), [["0"]], table)
        self.sql("DELETE FROM plugins")
        self.sql("DELETE FROM services")

    def test_unique_ports_and_exposures(self):
        u1, _ = self.board("C1", "b1")
        u2, _ = self.board("C2", "b2")
        s = self.sql("INSERT INTO services (uuid, name, port, protocol) VALUES "
                     "(gen_random_uuid(), 's', 22, 'TCP') RETURNING uuid")[0][0]
        ins = ("INSERT INTO exposed_services (board_uuid, service_uuid, public_port) VALUES "
               "(:'p1', :'p2', :'p3')")
        self.sql(ins, u1, s, "50000")
        self.refused("exposed_services_public_port_key", ins, u2, s, "50000")
        self.refused("exposed_services_board_uuid_service_uuid_key", ins, u1, s, "50001")
        self.refused("exposed_services_public_port_check", ins, u2, s, "0")
        vif = "INSERT INTO ports_on_boards (board_uuid, uuid, vif_name) VALUES " \
              "(:'p1', gen_random_uuid(), :'p2')"
        self.sql(vif, u1, "iotronic50010")
        self.refused("ports_on_boards_vif_name_key", vif, u2, "iotronic50010")
        ew = ("INSERT INTO enabled_webservices (board_uuid, http_port, https_port, dns, zone) "
              "VALUES (:'p1', 1, 2, :'p2', 'z')")
        self.sql(ew, u1, "name1")
        self.refused("enabled_webservices_dns_key", ew, u2, "name1")
        self.refused("enabled_webservices_board_uuid_key", ew, u1, "name2")

    def test_requests_cascade(self):
        main = self.sql("INSERT INTO requests (uuid, status, action) VALUES "
                        "(gen_random_uuid(), 'PENDING', 'x') RETURNING uuid")[0][0]
        child = self.sql("INSERT INTO requests (uuid, main_request_uuid, status, action) VALUES "
                         "(gen_random_uuid(), :'p1', 'PENDING', 'x') RETURNING uuid", main)[0][0]
        res = ("INSERT INTO results (board_uuid, request_uuid, result) VALUES "
               "(gen_random_uuid(), :'p1', 'RUNNING')")
        self.sql(res, main)
        self.sql(res, child)
        self.refused("results_request_uuid_fkey", res, "00000000-0000-0000-0000-000000000000")
        self.sql("DELETE FROM requests WHERE uuid = :'p1'", main)
        self.assertEqual(self.sql("SELECT (SELECT count(*) FROM requests), "
                                  "(SELECT count(*) FROM results)"), [["0", "0"]])


class Runner(unittest.TestCase):
    def test_second_upgrade_changes_nothing(self):
        db = iottest.new_db(migrated=False)
        self.assertEqual(upgrade(db).returncode, 0)
        rows, dump = migrations_rows(db), schema_dump(db)
        r = upgrade(db)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "database at version 2: nothing to apply\n")
        self.assertEqual(migrations_rows(db), rows)
        self.assertEqual(schema_dump(db), dump)

    def test_version(self):
        db = iottest.new_db(migrated=False)
        r = dbsync("--database", iottest.dsn(db), "--migrations-dir", MIGRATIONS, "version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "current version: 0\npending migrations: 2\n"
                                   "  0001_iotronic.sql\n  0002_board_protocol.sql\n")
        # version only reads: no bookkeeping table appears.
        self.assertEqual(iottest.psql(db, "SELECT to_regclass('schema_migrations') IS NULL"),
                         [["t"]])
        self.assertEqual(upgrade(db).returncode, 0)
        r = dbsync("--database", iottest.dsn(db), "--migrations-dir", MIGRATIONS, "version")
        self.assertEqual(r.stdout, "current version: 2\npending migrations: none\n")
        d = copy_migrations()
        write(os.path.join(d, "0010_next.sql"), "CREATE TABLE next_one (a int);\n")
        r = dbsync("--database", iottest.dsn(db), "version", env={"IOTRONIC_MIGRATIONS_DIR": d})
        self.assertEqual(r.stdout, "current version: 2\npending migrations: 1\n"
                                   "  0010_next.sql\n")

    def test_failing_migration_leaves_nothing(self):
        db = iottest.new_db(migrated=False)
        d = copy_migrations()
        bad = os.path.join(d, "0099_bad.sql")
        write(bad, BAD)
        r = upgrade(db, d)
        self.assertEqual(r.returncode, 1)
        # The failing statement's line: PostgreSQL points at no_such_table, line 6.
        self.assertIn("%s:6: relation \"no_such_table\" does not exist [42P01]" % bad, r.stderr)
        self.assertIn("migration 0099_bad.sql rolled back", r.stderr)
        self.assertIn("the database stays at version 2", r.stderr)
        self.assertIn("applied 0002_board_protocol.sql", r.stdout)
        self.assertEqual(iottest.psql(db, "SELECT to_regclass('bad_partial') IS NULL"), [["t"]])
        self.assertEqual(version_of(db), "2")
        self.assertEqual(iottest.psql(db, "SELECT count(*) FROM boards"), [["0"]])
        # Without an error position, the line of the statement that failed.
        write(bad, "CREATE TABLE bad_partial (a integer);\n\nSELECT 1 /\n  0;\n")
        r = upgrade(db, d)
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s:3: division by zero [22012]" % bad, r.stderr)
        # A migration may not end the runner's transaction.
        write(bad, "CREATE TABLE bad_partial (a integer);\nCOMMIT;\n")
        r = upgrade(db, d)
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s:2: a migration must not end its transaction" % bad, r.stderr)
        self.assertEqual(iottest.psql(db, "SELECT to_regclass('bad_partial') IS NULL"), [["t"]])
        # Fixed (it never applied, so it may change): it applies.
        write(bad, "CREATE TABLE bad_partial (a integer);\n")
        r = upgrade(db, d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(version_of(db), "99")

    def test_changed_migration_is_refused(self):
        db = iottest.new_db(migrated=False)
        d = copy_migrations()
        self.assertEqual(upgrade(db, d).returncode, 0)
        with open(os.path.join(d, "0002_board_protocol.sql"), "a") as f:
            f.write("-- an innocent comment\n")
        for cmd in ("upgrade", "version"):
            r = dbsync("--database", iottest.dsn(db), "--migrations-dir", d, cmd)
            self.assertEqual(r.returncode, 1, cmd)
            self.assertIn("0002_board_protocol.sql was changed after it was applied", r.stderr)

    def test_duplicate_gap_and_newer_database(self):
        db = iottest.new_db(migrated=False)
        d = copy_migrations()
        write(os.path.join(d, "0002_again.sql"), "SELECT 1;\n")
        r = upgrade(db, d)
        self.assertEqual(r.returncode, 1)
        self.assertIn("0002_again.sql and 0002_board_protocol.sql have the same version 0002",
                      r.stderr)
        self.assertEqual(iottest.psql(db, "SELECT to_regclass('schema_migrations') IS NULL"),
                         [["t"]])
        os.unlink(os.path.join(d, "0002_again.sql"))
        write(os.path.join(d, "0010_ten.sql"), "SELECT 1;\n")
        self.assertEqual(upgrade(db, d).returncode, 0)
        # A migration numbered below one already applied would never run in order.
        write(os.path.join(d, "0005_late.sql"), "SELECT 1;\n")
        r = upgrade(db, d)
        self.assertEqual(r.returncode, 1)
        self.assertIn("0005_late.sql is not applied but the later migration 0010", r.stderr)
        os.unlink(os.path.join(d, "0005_late.sql"))
        # This build lacks 0010: the database is newer than the code.
        r = upgrade(db, MIGRATIONS)
        self.assertEqual(r.returncode, 1)
        self.assertIn("the database has migration 0010 (0010_ten.sql), which this build does "
                      "not have", r.stderr)
        write(os.path.join(d, "notes.txt"), "ignored\n")
        write(os.path.join(d, "0011 bad name.sql"), "SELECT 1;\n")
        r = upgrade(db, d)
        self.assertEqual(r.returncode, 1)
        self.assertIn("0011 bad name.sql: migration files are named NNNN_name.sql", r.stderr)

    def test_concurrent_runs_serialise(self):
        db = iottest.new_db(migrated=False)
        d = copy_migrations()
        write(os.path.join(d, "0003_slow.sql"), "CREATE TABLE slow (a int);\n"
                                                "SELECT pg_sleep(0.5);\n")
        results = []

        def run():
            results.append(upgrade(db, d))

        threads = [threading.Thread(target=run) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual([r.returncode for r in results], [0, 0, 0],
                         [r.stderr for r in results])
        applied = sum(r.stdout.count("applied 0003_slow.sql") for r in results)
        self.assertEqual(applied, 1)
        self.assertEqual(iottest.psql(db, "SELECT count(*), max(version) FROM schema_migrations"),
                         [["3", "3"]])


class Errors(unittest.TestCase):
    def test_missing_database(self):
        r = dbsync("--database", iottest.dsn("no_such_db_for_dbsync"), "upgrade")
        self.assertEqual(r.returncode, 1)
        self.assertIn("dbname=no_such_db_for_dbsync", r.stderr)
        self.assertIn('database "no_such_db_for_dbsync" does not exist', r.stderr)

    def test_unreachable_port_fails_fast_without_password(self):
        port = iottest.free_port()
        t0 = time.monotonic()
        r = dbsync("--database", "postgresql://postgres:pw_not_shown@127.0.0.1:%d/x" % port,
                   "upgrade", timeout=30)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(r.returncode, 1)
        self.assertIn("port=%d" % port, r.stderr)
        self.assertIn("Connection refused", r.stderr)
        self.assertNotIn("pw_not_shown", r.stderr + r.stdout)

    def test_config_files(self):
        d = iottest.tmpdir("conf-")
        db = iottest.new_db(migrated=False)
        good = iottest.write_conf(os.path.join(d, "iotronic.conf"), {
            "DEFAULT": {"transport_url": "amqp://x", "auth_strategy": "noauth"},
            "api": {"port": 8812},
            "database": {"connection": iottest.dsn(db)},
        })
        r = dbsync("--config-file", good, "--migrations-dir", MIGRATIONS, "upgrade")
        self.assertEqual(r.returncode, 0, r.stderr)
        # --database wins over the file.
        other = iottest.new_db(migrated=False)
        r = dbsync("--config-file", good, "--database", iottest.dsn(other), "version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("current version: 0", r.stdout)
        dup = os.path.join(d, "dup.conf")
        write(dup, "[database]\nconnection = a\n\nconnection = b\n")
        r = dbsync("--config-file", dup, "upgrade")
        self.assertEqual(r.returncode, 2)
        self.assertIn("%s:4: duplicate option [database] connection" % dup, r.stderr)
        broken = os.path.join(d, "broken.conf")
        write(broken, "[DEFAULT]\nhost = x\n[database\nconnection = a\n")
        r = dbsync("--config-file", broken, "upgrade")
        self.assertEqual(r.returncode, 2)
        self.assertIn("%s:3:" % broken, r.stderr)
        r = dbsync("--config-file", os.path.join(d, "absent.conf"), "upgrade")
        self.assertEqual(r.returncode, 2)
        self.assertIn("absent.conf", r.stderr)

    def test_usage(self):
        for args, text in ((["upgrade"], "no database"),
                           (["--database", "x"], "no command given"),
                           (["--database", "x", "migrate"], "unknown command"),
                           (["--database", "x", "upgrade", "version"], "unexpected argument"),
                           (["--bogus", "upgrade"], "unexpected argument --bogus"),
                           (["--database"], "--database needs a value"),
                           (["--database", "x", "--migrations-dir", "/nonexistent", "upgrade"],
                            "cannot read the migrations directory /nonexistent")):
            r = dbsync(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(text, r.stderr, args)
        r = dbsync("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: iotronic-dbsync", r.stdout)

    def test_default_migrations_dir_is_the_source_tree(self):
        db = iottest.new_db(migrated=False)
        r = dbsync("--database", iottest.dsn(db), "version")
        self.assertEqual(r.returncode, 0, r.stderr)
        n = len([f for f in os.listdir(SOURCE_MIGRATIONS) if f.endswith(".sql")])
        self.assertIn("pending migrations: %d" % n, r.stdout)


if __name__ == "__main__":
    iottest.main()
