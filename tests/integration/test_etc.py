#!/usr/bin/python3
"""etc/: the sample configuration files and the systemd units.

The samples must tell the truth about the code:
  - every option of a daemon's option tables (the `struct cfg_opt` arrays in
    its sources, which cfg_bind() reads) is documented in the sample of its
    file, in its section, with its default;
  - every option the sample documents is one the code reads;
  - each sample, with every documented value switched on (and the addresses,
    database and broker of this run), is accepted by the daemons that read
    it: they start, serve, and warn about no option that nobody reads.
Each daemon has a unit whose ExecStart runs it with its config file, and
`systemd-analyze verify` accepts every unit.
"""

import configparser
import glob
import os
import re
import shutil
import subprocess
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402

ROOT = iottest.ROOT

# Each configuration file: its sample, where its options are defined (every
# .c file under these paths), and the daemons that read it.
FILES = {
    "iotronic": {
        "sample": "etc/iotronic/iotronic.conf.sample",
        "installed": "/etc/iotronic/iotronic.conf",
        "sources": ["iotronic-c/api", "iotronic-c/auth", "iotronic-c/conductor",
                    "iotronic-c/wagent", "iotronic-c/tunnel", "iotronic-c/cmd"],
        "daemons": ["iotronic-conductor", "iotronic-wagent", "iotronic-api"],
    },
    "qinling": {
        "sample": "etc/qinling/qinling.conf.sample",
        "installed": "/etc/qinling/qinling.conf",
        "sources": ["qinling-driver", "iotronic-c/auth"],
        "daemons": ["qinling-engine", "qinling-api"],
    },
    "lightning-rod-c": {
        "sample": "etc/lightning-rod-c/lightning-rod-c.conf.sample",
        "installed": "/etc/lightning-rod-c/lightning-rod-c.conf",
        "sources": ["lightning-rod-c"],
        "daemons": ["lightning-rod-c"],
    },
}

OPT_RE = re.compile(r'"(\w+)",\s*"(\w+)",\s*(CFG_[A-Z]+),\s*(NULL|"(?:[^"\\]|\\.)*")', re.S)
EACH_RE = re.compile(r'cfg_each\(\s*[^,]+,\s*"(\w+)"')
SAMPLE_OPT_RE = re.compile(r"^(#?)([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def c_files(paths):
    for p in paths:
        full = os.path.join(ROOT, p)
        if os.path.isfile(full):
            yield full
        else:
            yield from sorted(glob.glob(os.path.join(full, "**", "*.c"), recursive=True))


def code_options(name):
    """{(section, key): (type, default or None)} of the option tables of a
    file's daemons, and the sections they read key by key (cfg_each)."""
    opts, dynamic = {}, set()
    for path in c_files(FILES[name]["sources"]):
        with open(path) as f:
            text = f.read()
        # Comments could hold example entries: drop them first.
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        for sec, key, typ, default in OPT_RE.findall(text):
            if typ == "CFG_IGNORED":
                continue
            default = None if default == "NULL" else default[1:-1]
            opts[(sec, key)] = (typ, default)
        dynamic.update(EACH_RE.findall(text))
    return opts, dynamic


def sample_options(path):
    """[(section, key, value, commented, line number)] of a sample: option
    lines are `key = value` or `#key = value` (no blank after '#'); prose is
    `# text`."""
    out, section = [], None
    with open(path) as f:
        for n, line in enumerate(f, 1):
            s = line.rstrip("\n")
            if re.match(r"^\[[A-Za-z_0-9]+\]\s*$", s):
                section = s.strip()[1:-1]
                continue
            m = SAMPLE_OPT_RE.match(s)
            if m and section is not None:
                out.append((section, m.group(2), m.group(3), m.group(1) == "#", n))
    return out


def same_value(typ, sample, default):
    if typ == "CFG_BOOL":
        truth = {"true": 1, "yes": 1, "on": 1, "1": 1, "false": 0, "no": 0, "off": 0, "0": 0}
        return truth.get(sample.lower()) == truth.get(default.lower())
    return sample == default


def placeholder(value):
    return value == "" or (value.startswith("<") and value.endswith(">"))


class TestSamplesMatchTheCode(unittest.TestCase):
    def check(self, name):
        path = os.path.join(ROOT, FILES[name]["sample"])
        self.assertTrue(os.path.isfile(path), "%s is missing" % FILES[name]["sample"])
        code, dynamic = code_options(name)
        self.assertTrue(code, "no option table found in %s" % FILES[name]["sources"])
        documented = {}
        problems = []
        for sec, key, value, commented, n in sample_options(path):
            where = "%s:%d: [%s] %s" % (FILES[name]["sample"], n, sec, key)
            if sec in dynamic:
                continue
            if (sec, key) in documented:
                problems.append("%s: documented twice" % where)
            documented[(sec, key)] = value
            if (sec, key) not in code:
                problems.append("%s: no daemon reads this option" % where)
                continue
            typ, default = code[(sec, key)]
            if default is not None and not same_value(typ, value, default):
                problems.append("%s = %s, but the default is %r" % (where, value, default))
            if default is None and value and not commented:
                problems.append("%s is set in the sample; options are shown commented" % where)
        for (sec, key), (typ, default) in sorted(code.items()):
            if (sec, key) not in documented and sec not in dynamic:
                problems.append("[%s] %s (default %r) is not documented in %s"
                                % (sec, key, default, FILES[name]["sample"]))
        self.assertEqual(problems, [], "\n" + "\n".join(problems))

    def test_iotronic_conf_sample(self):
        self.check("iotronic")

    def test_qinling_conf_sample(self):
        self.check("qinling")

    def test_lightning_rod_c_conf_sample(self):
        self.check("lightning-rod-c")

    def test_policy_samples_are_json_objects(self):
        import json
        for path in glob.glob(os.path.join(ROOT, "etc", "*", "policy.json.sample")):
            with open(path) as f:
                self.assertIsInstance(json.load(f), dict, path)


# ------------------------------------------------------------ running them

def enabled_sample(name, overrides):
    """The sample's text with every documented value switched on (commented
    option lines with a real value lose their '#'), then overrides
    ({section: {key: value}}) replacing or adding keys."""
    path = os.path.join(ROOT, FILES[name]["sample"])
    lines, section, seen = [], None, set()
    with open(path) as f:
        text = f.read().splitlines()
    for line in text + ["[__end__]"]:
        if re.match(r"^\[[A-Za-z_0-9]+\]\s*$", line):
            for k, v in overrides.get(section, {}).items():
                if (section, k) not in seen:
                    lines.append("%s = %s" % (k, v))
            section = line.strip()[1:-1]
            if section != "__end__":
                lines.append(line)
            continue
        m = SAMPLE_OPT_RE.match(line)
        if m and section is not None:
            key, value = m.group(2), m.group(3)
            if key in overrides.get(section, {}):
                seen.add((section, key))
                lines.append("%s = %s" % (key, overrides[section][key]))
                continue
            if not placeholder(value):
                lines.append("%s = %s" % (key, value))
                continue
        lines.append(line)
    for sec, kv in overrides.items():
        if "[%s]" % sec not in lines:
            lines.append("[%s]" % sec)
            lines += ["%s = %s" % (k, v) for k, v in kv.items()]
    return "\n".join(lines) + "\n"


def unknown_warnings(log):
    return re.findall(r"unknown option \[(\w+)\] (\w+)", log)


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


class TestSamplesRun(unittest.TestCase):
    """Each sample, switched on, starts the daemons that read it."""

    def need(self, names):
        missing = [n for n in names if not os.access(iottest.bin_path(n), os.X_OK)]
        if missing:
            self.skipTest("not built: %s" % ", ".join(missing))

    def check_logs(self, name, daemons):
        code, dynamic = code_options(name)
        for d in daemons:
            log = d.log_text()
            for sec, key in unknown_warnings(log):
                self.assertIn((sec, key), code, "%s: nobody reads [%s] %s" % (d.name, sec, key))
            self.assertNotIn("is no longer used", log, d.name)
            self.assertTrue(d.alive(), "%s exited:\n%s" % (d.name, d.tail()))

    def test_iotronic_conf_sample_runs_api_conductor_and_wagent(self):
        self.need(FILES["iotronic"]["daemons"] + ["iotronic-dbsync"])
        d = iottest.tmpdir("etc-iot-")
        db = iottest.new_db()
        p = {k: iottest.free_port() for k in ("api", "admin", "wamp", "wadmin", "wstun")}
        conf = os.path.join(d, "iotronic.conf")
        with open(conf, "w") as f:
            f.write(enabled_sample("iotronic", {
                "DEFAULT": {"transport_url": iottest.new_vhost(), "host": "etc-test"},
                "api": {"host_ip": "127.0.0.1", "port": p["api"],
                        "admin_listen": "127.0.0.1:%d" % p["admin"]},
                "database": {"connection": iottest.dsn(db)},
                # The default, keystone, needs the service's password; no
                # Keystone is called until a request carries a token.
                "keystone_authtoken": {"password": "secret"},
                "wamp": {"wamp_transport_url": "ws://127.0.0.1:%d/" % p["wamp"]},
                "wagent": {"listen": "127.0.0.1:%d" % p["wamp"],
                           "admin_listen": "127.0.0.1:%d" % p["wadmin"]},
                "wstun": {"listen": "127.0.0.1:%d" % p["wstun"], "bind_address": "127.0.0.1"},
            }))
        # The policy sample, where [oslo_policy] policy_file finds it.
        shutil.copy(os.path.join(ROOT, "etc", "iotronic", "policy.json.sample"),
                    os.path.join(d, "policy.json"))
        daemons = [iottest.Daemon(n, ["--config-file", conf], logdir=d).start()
                   for n in FILES["iotronic"]["daemons"]]
        iottest.wait_until(lambda: http_status("http://127.0.0.1:%d/" % p["api"]) == 200,
                           timeout=20, what="iotronic-api")
        iottest.wait_until(lambda: http_status("http://127.0.0.1:%d/healthz" % p["wadmin"])
                           == 200, timeout=20, what="iotronic-wagent")
        iottest.wait_until(lambda: iottest.psql(db, "SELECT count(*) FROM conductors")[0][0]
                           == "1", timeout=20, what="iotronic-conductor")
        self.assertEqual(http_status("http://127.0.0.1:%d/metrics" % p["admin"]), 200)
        self.check_logs("iotronic", daemons)

    def test_qinling_conf_sample_runs_api_and_engine(self):
        self.need(FILES["qinling"]["daemons"])
        d = iottest.tmpdir("etc-q-")
        p = {k: iottest.free_port() for k in ("api", "admin", "eadmin")}
        conf = os.path.join(d, "qinling.conf")
        with open(conf, "w") as f:
            f.write(enabled_sample("qinling", {
                "DEFAULT": {"transport_url": iottest.new_vhost()},
                "api": {"host": "127.0.0.1", "port": p["api"],
                        "admin_listen": "127.0.0.1:%d" % p["admin"]},
                "database": {"connection": iottest.dsn(iottest.new_db())},
                "storage": {"file_system_dir": os.path.join(d, "blobs")},
                "engine": {"board_token_secret": "s" * 40,
                           "admin_listen": "127.0.0.1:%d" % p["eadmin"]},
                # Keystone mode (the default, and [pecan] auth_enable's
                # example): the service's password is required.
                "keystone_authtoken": {"password": "secret"},
            }))
        shutil.copy(os.path.join(ROOT, "etc", "qinling", "policy.json.sample"),
                    os.path.join(d, "policy.json"))
        daemons = [iottest.Daemon(n, ["--config-file", conf], logdir=d).start()
                   for n in FILES["qinling"]["daemons"]]
        iottest.wait_until(lambda: http_status("http://127.0.0.1:%d/" % p["api"]) == 200,
                           timeout=20, what="qinling-api")
        self.assertEqual(http_status("http://127.0.0.1:%d/v1/functions" % p["api"]), 401)
        iottest.wait_until(lambda: iottest.wait_port(p["eadmin"], timeout=0.2) is None,
                           timeout=20, what="qinling-engine")
        self.check_logs("qinling", daemons)

    def test_lightning_rod_c_conf_sample_runs_the_agent(self):
        self.need(["lightning-rod-c"])
        d = iottest.tmpdir("etc-lrc-")
        conf = os.path.join(d, "lightning-rod-c.conf")
        with open(conf, "w") as f:
            f.write(enabled_sample("lightning-rod-c", {
                "DEFAULT": {"state_dir": os.path.join(d, "state"),
                            "run_dir": os.path.join(d, "run")},
                "io": {"backend": "sim"},
                "function": {"cache_dir": os.path.join(d, "cache"),
                             "probe_path": iottest.bin_path("lrc-probe")},
            }))
        agent = iottest.Daemon("lightning-rod-c", ["--config-file", conf], logdir=d).start()
        sock = os.path.join(d, "run", "control.sock")
        iottest.wait_until(lambda: os.path.exists(sock) or not agent.alive(), timeout=20,
                           what="the control socket")
        r = subprocess.run([iottest.bin_path("lightning-rod-c"), "--config-file", conf,
                            "status", "--json"], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"unconfigured"', r.stdout)
        self.check_logs("lightning-rod-c", [agent])


# ------------------------------------------------------------ systemd units

UNITS = {
    "iotronic-api": "iotronic", "iotronic-conductor": "iotronic",
    "iotronic-wagent": "iotronic", "qinling-api": "qinling", "qinling-engine": "qinling",
    "lightning-rod-c": "lightning-rod-c",
}


class TestUnits(unittest.TestCase):
    def unit(self, daemon):
        path = os.path.join(ROOT, "etc", "systemd", daemon + ".service")
        self.assertTrue(os.path.isfile(path), "etc/systemd/%s.service is missing" % daemon)
        cp = configparser.RawConfigParser(strict=False, interpolation=None)
        cp.optionxform = str
        cp.read(path)
        return path, cp

    def test_every_daemon_has_a_unit_that_runs_it_with_its_config(self):
        for daemon, conf in UNITS.items():
            path, cp = self.unit(daemon)
            argv = cp.get("Service", "ExecStart").split()
            self.assertEqual(argv[0], "/usr/local/bin/" + daemon, path)
            self.assertEqual(argv[1:], ["--config-file", FILES[conf]["installed"]], path)
            self.assertEqual(cp.get("Install", "WantedBy"), "multi-user.target", path)
            self.assertIn("Description", cp["Unit"], path)
            self.assertTrue(cp.has_option("Service", "Restart"), path)

    def test_systemd_analyze_verify_accepts_every_unit(self):
        if shutil.which("systemd-analyze") is None:
            self.skipTest("systemd-analyze is not installed")
        d = iottest.tmpdir("units-")
        for daemon in UNITS:
            src, _ = self.unit(daemon)
            with open(src) as f:
                text = f.read()
            # verify wants the program to exist: point it at the build.
            dst = os.path.join(d, daemon + ".service")
            with open(dst, "w") as f:
                f.write(text.replace("/usr/local/bin/" + daemon, "/bin/true"))
            r = subprocess.run(["systemd-analyze", "verify", dst], capture_output=True,
                               text=True)
            self.assertEqual((r.returncode, r.stderr.strip()), (0, ""), daemon)


if __name__ == "__main__":
    iottest.main()
