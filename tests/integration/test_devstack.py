#!/usr/bin/python3
"""The DevStack plugin (devstack/plugin.sh, devstack/settings).

DevStack itself cannot run here (no network), so this suite plays DevStack:
it sources settings and plugin.sh as stack.sh does (`plugin.sh stack
install`, `... post-config`, `... extra`, `plugin.sh unstack`, `clean`),
under `set -o errexit` and `nounset` (DevStack's NOUNSET mode), with
DevStack's functions replaced by stubs that record every call. The stubs
that matter are real: iniset/iniget edit real INI files, recreate_database
creates the database in the run's PostgreSQL, run_process starts the
command it is given and stop_process ends it. So the suite proves that the
configuration files the plugin writes, the migration command it runs and
the command lines it gives DevStack bring up a working IoTronic-C (the APIs
answer, the runtimes are uploaded), and that unstack stops it; it also
checks the Keystone registrations (service type `iot` on 8812,
`function-engine` on 7070), the install commands, and that plugin.sh,
settings and demo.sh are shellcheck-clean.
"""

import configparser
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402

ROOT = iottest.ROOT
PLUGIN = os.path.join(ROOT, "devstack", "plugin.sh")
SETTINGS = os.path.join(ROOT, "devstack", "settings")

# DevStack's functions, as stubs. Every call is recorded as one line of
# $CALLS ("name arg arg ..."), so the test can check what would have run.
STUBS = r'''
set -o errexit -o pipefail -o nounset
function _call { printf '%s\n' "$*" >> "$CALLS"; }
# As DevStack's: a service is enabled when listed, or when its
# is_<service>_enabled function says so (lib/keystone: "key" is keystone).
function is_service_enabled {
    local s
    for s in "$@"; do
        [[ ",$ENABLED_SERVICES," == *",$s,"* ]] && return 0
        if type "is_${s}_enabled" >/dev/null 2>&1 && "is_${s}_enabled"; then return 0; fi
    done
    return 1
}
function is_keystone_enabled { [[ ",$ENABLED_SERVICES," == *",key,"* ]]; }
# As DevStack's: local.conf's disable_service wins over a plugin's enable_service.
function enable_service {
    local s
    for s in "$@"; do
        [[ ",$DISABLED_SERVICES," == *",$s,"* ]] && continue
        is_service_enabled "$s" || ENABLED_SERVICES="$ENABLED_SERVICES,$s"
    done
}
function define_plugin { _call define_plugin "$@"; }
function trueorfalse {
    local default=$1 v=${!2:-$1}
    case "$v" in
        1|yes|Yes|YES|true|True|TRUE|on|On|ON) echo True ;;
        0|no|No|NO|false|False|FALSE|off|Off|OFF) echo False ;;
        *) echo "$default" ;;
    esac
}
# iniset/iniget on real files: set a key in its section (added, with the
# section, when missing), keeping every other line; get prints the value.
function iniset {
    [[ "$1" == -sudo ]] && shift
    [[ -f "$1" ]] || : >"$1"
    S=$2 K=$3 V=$4 awk '
        function key(l) { sub(/^[ \t]+/, "", l); if (l ~ /^[#;]/ || index(l, "=") == 0) return ""
                          l = substr(l, 1, index(l, "=") - 1); sub(/[ \t]+$/, "", l); return l }
        BEGIN { s = ENVIRON["S"]; k = ENVIRON["K"]; v = ENVIRON["V"] }
        /^\[.*\]$/ { if (cur == s && !done) { print k " = " v; done = 1 }
                     cur = substr($0, 2, length($0) - 2); if (cur == s) seen = 1; print; next }
        cur == s && !done && key($0) == k { print k " = " v; done = 1; next }
        { print }
        END { if (!done) { if (!seen) print "[" s "]"; print k " = " v } }' "$1" >"$1.new"
    cat "$1.new" >"$1" && rm -f "$1.new"
}
function iniget {
    S=$2 K=$3 awk '
        /^\[.*\]$/ { cur = substr($0, 2, length($0) - 2); next }
        cur == ENVIRON["S"] && index($0, "=") {
            k = substr($0, 1, index($0, "=") - 1); gsub(/[ \t]/, "", k)
            if (k == ENVIRON["K"]) { v = substr($0, index($0, "=") + 1); sub(/^[ \t]+/, "", v)
                                     print v; exit } }' "$1"
}
function echo_summary { _call echo_summary "$@"; }
function die { echo "die: $*" >&2; exit 1; }
function get_transport_url { echo "$TEST_TRANSPORT_URL"; }
function database_connection_url { echo "$TEST_DB_BASE/$1?client_encoding=utf8"; }
function recreate_database {
    _call recreate_database "$@"
    psql -X -q -h 127.0.0.1 -p "$TEST_PG_PORT" -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
}
function run_process {
    _call run_process "$@"
    is_service_enabled "$1" || return 0
    # What systemd's ExecStart does with the command: split it on blanks.
    # shellcheck disable=SC2086
    setsid $2 </dev/null >"$LOGS/$1.log" 2>&1 &
    echo $! >"$LOGS/$1.pid"
}
function stop_process {
    _call stop_process "$@"
    local pid
    [[ -f "$LOGS/$1.pid" ]] || return 0
    pid=$(cat "$LOGS/$1.pid")
    kill -TERM "$pid" 2>/dev/null || true
    # Gone, or a zombie its new parent has not reaped yet.
    for _ in $(seq 100); do
        [[ -r /proc/$pid/stat && "$(cut -d' ' -f3 "/proc/$pid/stat")" != Z ]] || break
        sleep 0.1
    done
    rm -f "$LOGS/$1.pid"
}
function wait_for_service {
    _call wait_for_service "$@"
    local deadline=$((SECONDS + $1))
    while ((SECONDS < deadline)); do
        [[ "$(curl -s -o /dev/null -w '%{http_code}' "$2")" == 200 ]] && return 0
        sleep 0.1
    done
    return 1
}
function sudo { _call sudo "$@"; [[ "$1" == make ]] || "$@"; }
function make { _call make "$@"; }
function create_service_user { _call create_service_user "$@"; }
function get_or_create_service { _call get_or_create_service "$@"; echo "svc-$2"; }
function get_or_create_endpoint { _call get_or_create_endpoint "$@"; echo "ep-$1"; }
function start_tls_proxy { _call start_tls_proxy "$@"; }
function openstack { _call openstack "$@"; echo token-from-keystone; }
'''

DAEMONS = ("iotronic-conductor", "iotronic-wagent", "iotronic-api", "qinling-engine",
           "qinling-api")


def built(name):
    return os.access(iottest.bin_path(name), os.X_OK)


class Devstack:
    """One fake DevStack host: a DEST, the variables local.conf would set,
    and a runner of plugin phases."""

    def __init__(self, services, extra=None, live=False):
        self.dir = iottest.tmpdir("devstack-")
        svc = iottest.services()
        self.db = "iot_%s" % os.path.basename(self.dir).replace("-", "_").lower()
        self.calls = os.path.join(self.dir, "calls.log")
        self.logs = os.path.join(self.dir, "logs")
        os.makedirs(self.logs)
        self.ports = {k: iottest.free_port() for k in (
            "IOTRONIC_SERVICE_PORT", "IOTRONIC_ADMIN_PORT", "IOTRONIC_WAGENT_PORT",
            "IOTRONIC_WAGENT_ADMIN_PORT", "IOTRONIC_WSTUN_PORT", "QINLING_SERVICE_PORT",
            "QINLING_API_ADMIN_PORT", "QINLING_ENGINE_ADMIN_PORT")}
        self.env = {
            "PATH": os.environ["PATH"], "HOME": self.dir, "LANG": "C.UTF-8",
            "CALLS": self.calls, "LOGS": self.logs,
            # Only a stack that starts daemons needs a real broker.
            "TEST_TRANSPORT_URL": (iottest.new_vhost() if live
                                   else "rabbit://stackrabbit:secret@127.0.0.1:5672/"),
            "TEST_DB_BASE": "postgresql://postgres@127.0.0.1:%d" % svc.pg_port,
            "TEST_PG_PORT": str(svc.pg_port),
            # What stackrc and local.conf give a plugin.
            "ENABLED_SERVICES": ",".join(services),
            "DISABLED_SERVICES": ",".join(d for d in DAEMONS if d not in services),
            "DEST": self.dir, "DATA_DIR": os.path.join(self.dir, "data"),
            "STACK_USER": "root", "SERVICE_HOST": "127.0.0.1", "SERVICE_PROTOCOL": "http",
            "SERVICE_LISTEN_ADDRESS": "127.0.0.1", "SERVICE_LOCAL_HOST": "127.0.0.1",
            "SERVICE_TIMEOUT": "30", "KEYSTONE_SERVICE_URI": "http://127.0.0.1/identity",
            "SERVICE_PASSWORD": "secretservice", "SERVICE_PROJECT_NAME": "service",
            "SERVICE_DOMAIN_NAME": "Default", "REGION_NAME": "RegionOne",
            "ENABLE_DEBUG_LOG_LEVEL": "True", "SSL_BUNDLE_FILE": "",
            "IOTRONIC_C_DIR": ROOT, "IOTRONIC_C_BIN_DIR": iottest.BIN,
            "IOTRONIC_C_PREFIX": os.path.join(self.dir, "prefix"),
            "IOTRONIC_CONF_DIR": os.path.join(self.dir, "etc", "iotronic"),
            "QINLING_CONF_DIR": os.path.join(self.dir, "etc", "qinling"),
            "IOTRONIC_DB_NAME": self.db, "IOTRONIC_AUTH_STRATEGY": "noauth",
            "QINLING_CREATE_RUNTIMES": "False",
        }
        self.env.update({k: str(v) for k, v in self.ports.items()})
        self.env.update(extra or {})

    def run(self, *phase, check=True):
        """Sources settings, then plugin.sh with the phase's arguments, as
        stack.sh / unstack.sh / clean.sh do."""
        script = STUBS + 'source "%s"\nsource "%s" %s\n' % (
            SETTINGS, PLUGIN, " ".join(phase))
        r = subprocess.run(["bash", "-c", script], env=self.env, capture_output=True,
                           text=True, timeout=180)
        if check and r.returncode != 0:
            raise AssertionError("plugin.sh %s failed (%d):\n%s\n%s"
                                 % (" ".join(phase), r.returncode, r.stdout, r.stderr))
        return r

    def call_lines(self):
        if not os.path.exists(self.calls):
            return []
        with open(self.calls) as f:
            return f.read().splitlines()

    def conf(self, name):
        path = {"iotronic": os.path.join(self.env["IOTRONIC_CONF_DIR"], "iotronic.conf"),
                "qinling": os.path.join(self.env["QINLING_CONF_DIR"], "qinling.conf")}[name]
        cp = configparser.RawConfigParser(strict=True)
        cp.optionxform = str
        with open(path) as f:
            cp.read_file(f)
        return cp, path

    def pid(self, service):
        try:
            with open(os.path.join(self.logs, service + ".pid")) as f:
                return int(f.read())
        except (OSError, ValueError):
            return None

    def log(self, service):
        try:
            with open(os.path.join(self.logs, service + ".log")) as f:
                return f.read()
        except OSError:
            return ""

    def kill_all(self):
        for s in DAEMONS:
            pid = self.pid(s)
            if pid:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


class TestShellcheck(unittest.TestCase):
    def test_plugin_settings_and_demo_are_shellcheck_clean(self):
        if shutil.which("shellcheck") is None:
            self.skipTest("shellcheck is not installed (make deps)")
        r = subprocess.run(["shellcheck", "-x", "-s", "bash", PLUGIN, SETTINGS,
                            os.path.join(ROOT, "devstack", "demo.sh")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


class TestPhases(unittest.TestCase):
    """stack install / post-config without starting anything."""

    def setUp(self):
        self.ds = Devstack(["key", "rabbit", "postgresql"] + list(DAEMONS))

    def test_settings_define_the_plugin_and_enable_its_services(self):
        script = STUBS + 'source "%s"\necho "$ENABLED_SERVICES"\n' % SETTINGS
        env = dict(self.ds.env, ENABLED_SERVICES="key,mysql")
        r = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        enabled = r.stdout.strip().split(",")
        for s in DAEMONS + ("postgresql",):
            self.assertIn(s, enabled)
        self.assertIn("define_plugin iotronic-c", self.ds.call_lines())

    def test_settings_keep_what_local_conf_set(self):
        script = STUBS + 'source "%s"\necho "$IOTRONIC_SERVICE_PORT $QINLING_CONF"\n' % SETTINGS
        env = dict(self.ds.env, IOTRONIC_SERVICE_PORT="9999", QINLING_CONF="/x/q.conf")
        r = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)
        self.assertEqual(r.stdout.strip(), "9999 /x/q.conf", r.stderr)

    def test_install_builds_and_installs_with_make(self):
        self.ds.run("stack", "install")
        calls = self.ds.call_lines()
        self.assertIn("echo_summary Installing IoTronic-C", calls)
        builds = [c for c in calls if c.startswith("make -C %s -j " % ROOT) and c.endswith(" all")]
        self.assertEqual(len(builds), 1, calls)
        self.assertIn("sudo make -C %s install PREFIX=%s"
                      % (ROOT, self.ds.env["IOTRONIC_C_PREFIX"]), calls)

    def test_post_config_writes_iotronic_conf(self):
        self.ds.run("stack", "post-config")
        cp, _ = self.ds.conf("iotronic")
        p = self.ds.ports
        expect = {
            ("DEFAULT", "auth_strategy"): "noauth",
            ("DEFAULT", "transport_url"): self.ds.env["TEST_TRANSPORT_URL"],
            ("DEFAULT", "log_level"): "debug",
            ("api", "host_ip"): "127.0.0.1",
            ("api", "port"): str(p["IOTRONIC_SERVICE_PORT"]),
            ("api", "public_endpoint"): "http://127.0.0.1:%d" % p["IOTRONIC_SERVICE_PORT"],
            ("database", "connection"): "%s/%s?client_encoding=utf8"
                                        % (self.ds.env["TEST_DB_BASE"], self.ds.db),
            ("wamp", "wamp_transport_url"): "ws://127.0.0.1:%d/" % p["IOTRONIC_WAGENT_PORT"],
            ("wamp", "register_agent"): "true",
            ("wagent", "listen"): "127.0.0.1:%d" % p["IOTRONIC_WAGENT_PORT"],
            ("wstun", "public_url"): "ws://127.0.0.1:%d/" % p["IOTRONIC_WSTUN_PORT"],
            ("conductor", "service_port_min"): "50000",
            ("conductor", "service_port_max"): "60000",
            ("keystone_authtoken", "username"): "iotronic",
            ("keystone_authtoken", "password"): "secretservice",
            ("keystone_authtoken", "auth_url"): "http://127.0.0.1/identity",
            ("oslo_policy", "policy_file"): os.path.join(self.ds.env["IOTRONIC_CONF_DIR"],
                                                         "policy.json"),
        }
        for (sec, key), value in expect.items():
            self.assertEqual(cp.get(sec, key), value, "[%s] %s" % (sec, key))
        self.assertTrue(os.path.isfile(cp.get("oslo_policy", "policy_file")))

    def test_post_config_writes_qinling_conf_with_a_kept_secret(self):
        self.ds.run("stack", "post-config")
        cp, path = self.ds.conf("qinling")
        base = "http://127.0.0.1:%d" % self.ds.ports["QINLING_SERVICE_PORT"]
        self.assertEqual(cp.get("api", "port"), str(self.ds.ports["QINLING_SERVICE_PORT"]))
        self.assertEqual(cp.get("DEFAULT", "qinling_endpoint"), base)
        self.assertEqual(cp.get("engine", "board_download_url"), base)
        self.assertEqual(cp.get("keystone_authtoken", "username"), "qinling")
        self.assertTrue(os.path.isdir(cp.get("storage", "file_system_dir")))
        secret = cp.get("engine", "board_token_secret")
        self.assertGreaterEqual(len(secret), 32)
        self.assertEqual(os.stat(path).st_mode & 0o077, 0o040, "the secret is not world-readable")
        # A second stack keeps the secret, so tokens already minted stay valid.
        self.ds.run("stack", "post-config")
        self.assertEqual(self.ds.conf("qinling")[0].get("engine", "board_token_secret"), secret)

    def test_post_config_registers_keystone_services_and_endpoints(self):
        self.ds.run("stack", "post-config")
        calls = self.ds.call_lines()
        self.assertIn("create_service_user iotronic admin", calls)
        self.assertIn("create_service_user qinling admin", calls)
        svc = [c for c in calls if c.startswith("get_or_create_service ")]
        self.assertTrue(any(c.startswith("get_or_create_service iotronic iot ") for c in svc), svc)
        self.assertTrue(any(c.startswith("get_or_create_service qinling function-engine ")
                            for c in svc), svc)
        self.assertIn("get_or_create_endpoint iot RegionOne http://127.0.0.1:%d"
                      % self.ds.ports["IOTRONIC_SERVICE_PORT"], calls)
        self.assertIn("get_or_create_endpoint function-engine RegionOne http://127.0.0.1:%d"
                      % self.ds.ports["QINLING_SERVICE_PORT"], calls)

    def test_default_ports_are_8812_and_7070(self):
        env = {k: v for k, v in self.ds.env.items() if k not in self.ds.ports}
        script = STUBS + 'source "%s"\necho "$IOTRONIC_SERVICE_PORT $QINLING_SERVICE_PORT"\n' \
            % SETTINGS
        r = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)
        self.assertEqual(r.stdout.strip(), "8812 7070", r.stderr)

    def test_tls_proxy_fronts_both_apis(self):
        ds = Devstack(["key", "tls-proxy"] + list(DAEMONS),
                      {"SERVICE_PROTOCOL": "https", "IOTRONIC_SERVICE_PORT_INT": "18812",
                       "QINLING_SERVICE_PORT_INT": "17070"})
        ds.run("stack", "post-config")
        cp, _ = ds.conf("iotronic")
        self.assertEqual(cp.get("api", "port"), "18812")
        self.assertEqual(cp.get("api", "host_ip"), "127.0.0.1")
        self.assertEqual(cp.get("api", "public_endpoint"),
                         "https://127.0.0.1:%d" % ds.ports["IOTRONIC_SERVICE_PORT"])
        self.assertEqual(ds.conf("qinling")[0].get("api", "port"), "17070")
        self.assertIn("get_or_create_endpoint iot RegionOne https://127.0.0.1:%d"
                      % ds.ports["IOTRONIC_SERVICE_PORT"], ds.call_lines())

    def test_nothing_happens_when_no_service_is_enabled(self):
        ds = Devstack(["key", "rabbit"])
        for phase in (("stack", "install"), ("stack", "post-config"), ("unstack",)):
            ds.run(*phase)
        self.assertEqual([c for c in ds.call_lines() if not c.startswith("define_plugin")], [])
        self.assertFalse(os.path.exists(ds.env["IOTRONIC_CONF_DIR"]))


class TestStack(unittest.TestCase):
    """post-config, extra, unstack and clean: the real daemons come up from
    the files and commands of the plugin, and go."""

    def setUp(self):
        missing = [d for d in ("iotronic-dbsync",) + DAEMONS[:3] if not built(d)]
        if missing:
            self.skipTest("not built: %s" % ", ".join(missing))
        self.services = [d for d in DAEMONS if built(d)]
        self.ds = Devstack(["key", "rabbit", "postgresql"] + self.services, live=True)
        self.addCleanup(self.ds.kill_all)

    def test_extra_migrates_starts_and_unstack_stops(self):
        ds = self.ds
        ds.run("stack", "post-config")
        ds.run("stack", "extra")
        calls = ds.call_lines()
        self.assertIn("recreate_database %s" % ds.db, calls)
        # iotronic-dbsync upgrade applied every migration.
        n_files = len([f for f in os.listdir(os.path.join(ROOT, "db", "migrations"))
                       if f.endswith(".sql")])
        rows = iottest.psql(ds.db, "SELECT count(*) FROM schema_migrations")
        self.assertEqual(int(rows[0][0]), n_files)
        runs = [c.split()[1] for c in calls if c.startswith("run_process ")]
        self.assertEqual(runs, list(DAEMONS))
        for s in self.services:
            self.assertIn("run_process %s %s --config-file " % (s, iottest.bin_path(s)),
                          " ".join(c for c in calls if c.startswith("run_process " + s)) + " ")
        p = ds.ports
        self.assertEqual(http_get("http://127.0.0.1:%d/v1/boards" % p["IOTRONIC_SERVICE_PORT"]),
                         200, ds.log("iotronic-api"))
        self.assertEqual(http_get("http://127.0.0.1:%d/healthz" % p["IOTRONIC_WAGENT_ADMIN_PORT"]),
                         200, ds.log("iotronic-wagent"))
        iottest.wait_until(lambda: iottest.psql(ds.db, "SELECT count(*) FROM conductors")[0][0]
                           == "1", timeout=20, what="the conductor's row")
        if "qinling-api" in self.services:
            self.assertEqual(http_get("http://127.0.0.1:%d/v1/functions"
                                      % p["QINLING_SERVICE_PORT"]), 200, ds.log("qinling-api"))
        for s in self.services:
            self.assertIsNotNone(ds.pid(s))
            os.kill(ds.pid(s), 0)
            self.assertNotIn(" ERROR ", ds.log(s), s)

        pids = {s: ds.pid(s) for s in self.services}
        ds.run("unstack")
        stops = [c.split()[1] for c in ds.call_lines() if c.startswith("stop_process ")]
        self.assertEqual(sorted(stops), sorted(DAEMONS))
        for s, pid in pids.items():
            self.assertFalse(os.path.exists("/proc/%d" % pid) and
                             open("/proc/%d/stat" % pid).read().split()[2] != "Z",
                             "%s still runs after unstack" % s)

        ds.run("clean")
        self.assertFalse(os.path.exists(ds.env["IOTRONIC_CONF_DIR"]))
        self.assertFalse(os.path.exists(ds.env["QINLING_CONF_DIR"]))

    def test_extra_uploads_the_runtimes(self):
        if "qinling-api" not in self.services:
            self.skipTest("qinling-api is not built")
        ds = Devstack(["key", "rabbit", "postgresql"] + self.services, live=True,
                      extra={"QINLING_CREATE_RUNTIMES": "True"})
        self.addCleanup(ds.kill_all)
        ds.run("stack", "post-config")
        r = ds.run("stack", "extra")
        self.assertIn("runtime busybox: ", r.stdout)
        self.assertIn("runtime python3: ", r.stdout)
        with urllib.request.urlopen("http://127.0.0.1:%d/v1/runtimes"
                                    % ds.ports["QINLING_SERVICE_PORT"], timeout=10) as resp:
            runtimes = json.load(resp)["runtimes"]
        got = {rt["name"]: (rt["status"], rt["image_sha256"]) for rt in runtimes}
        self.assertEqual(sorted(got), ["busybox", "python3"])
        for name, (status, sha) in got.items():
            self.assertEqual(status, "available", name)
            with open(os.path.join(ds.env["DATA_DIR"], "qinling", "runtimes", name + ".tar.gz"),
                      "rb") as f:
                self.assertEqual(sha, hashlib.sha256(f.read()).hexdigest(), name)
        self.assertIn("openstack --os-cloud devstack-admin token issue -f value -c id",
                      ds.call_lines())
        ds.run("unstack")

    def test_a_second_stack_recreates_the_database(self):
        ds = self.ds
        ds.run("stack", "post-config")
        ds.run("stack", "extra")
        iottest.psql(ds.db, "CREATE TABLE leftover (x int)")
        ds.run("unstack")
        time.sleep(0.2)
        ds.run("stack", "extra")
        self.assertEqual(iottest.psql(ds.db, "SELECT to_regclass('leftover') IS NULL")[0][0], "t")
        ds.run("unstack")


if __name__ == "__main__":
    iottest.main()
