"""The configuration files of one all-in-one stack.

Every daemon gets the same files an operator would write from etc/ (the
option names are those of the samples there), with the stack's loopback
addresses and ports:

  etc/iotronic.conf        iotronic-api, iotronic-conductor, iotronic-wagent
  etc/qinling.conf         qinling-api, qinling-engine
  boards/<name>/lightning-rod-c.conf   one per simulated board

The stack runs in noauth mode (iotronic-api-v1.md 4.1, deviceless-api.md 1.2):
it listens on loopback only and is meant for one operator's machine.
"""

import os


def write_ini(path, sections, header):
    """Writes {section: {key: value}} as an oslo-style INI file (mode 0640)."""
    lines = ["# " + h if h else "#" for h in header.splitlines()] + [""]
    for sec, kv in sections.items():
        lines.append("[%s]" % sec)
        for k, v in kv.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            lines.append("%s = %s" % (k, v))
        lines.append("")
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o640)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines))
    os.rename(tmp, path)
    return path


HEADER = ("Written by iotronic-aio for the all-in-one stack in %s.\n"
          "Every option is documented in etc/ of the source tree.")


def iotronic_conf(st):
    """iotronic.conf for the API, the conductor and the wagent; st is the
    stack's state ({"dir", "ports", "dsn", "transport_url"})."""
    p = st["ports"]
    return {
        "DEFAULT": {
            "auth_strategy": "noauth",
            "transport_url": st["transport_url"],
            "host": "aio",
            "log_level": "info",
        },
        "api": {
            "host_ip": "127.0.0.1",
            "port": p["iotronic-api"],
            "public_endpoint": "http://127.0.0.1:%d" % p["iotronic-api"],
            "admin_listen": "127.0.0.1:%d" % p["iotronic-api-admin"],
            "workers": 4,
        },
        "conductor": {
            "service_port_min": p["service-ports"][0],
            "service_port_max": p["service-ports"][1],
            "workers": 4,
        },
        "database": {"connection": st["dsn"]},
        "wamp": {
            "wamp_transport_url": "ws://127.0.0.1:%d/" % p["wagent"],
            "wamp_realm": "s4t",
            # The only wagent also answers registrations (board-protocol.md 5.1).
            "register_agent": True,
        },
        "wagent": {
            "listen": "127.0.0.1:%d" % p["wagent"],
            "admin_listen": "127.0.0.1:%d" % p["wagent-admin"],
        },
        "wstun": {
            "listen": "127.0.0.1:%d" % p["wstun"],
            "public_url": "ws://127.0.0.1:%d/" % p["wstun"],
            # Public ports of exposed services open on loopback only.
            "bind_address": "127.0.0.1",
        },
    }


def qinling_conf(st):
    """qinling.conf for qinling-api and qinling-engine."""
    p = st["ports"]
    base = "http://127.0.0.1:%d" % p["qinling-api"]
    return {
        "DEFAULT": {
            "auth_strategy": "noauth",
            "transport_url": st["transport_url"],
            "qinling_endpoint": base,
            "log_level": "info",
        },
        "api": {
            "host": "127.0.0.1",
            "port": p["qinling-api"],
            "admin_listen": "127.0.0.1:%d" % p["qinling-api-admin"],
            "workers": 8,
        },
        "database": {"connection": st["dsn"]},
        "storage": {"file_system_dir": os.path.join(st["dir"], "qinling", "blobs")},
        "engine": {
            "board_token_secret": st["board_token_secret"],
            "board_download_url": base,
            "admin_listen": "127.0.0.1:%d" % p["qinling-engine-admin"],
            "workers": 4,
        },
    }


def board_conf(st, board):
    """lightning-rod-c.conf of one simulated board; board is its state entry
    ({"name", "dir"})."""
    d = board["dir"]
    return {
        "DEFAULT": {
            "state_dir": os.path.join(d, "state"),
            "run_dir": os.path.join(d, "run"),
            "log_level": "info",
        },
        "wamp": {
            # Loopback: reconnect quickly after a restart of the wagent.
            "backoff_max": 5,
        },
        "io": {
            "backend": "sim",
            "sim_chips": "sim0:8",
            "sim_sensors": "temp0:C:21.5 lux0:lx:120",
        },
        "function": {
            "cache_dir": os.path.join(d, "cache"),
            "probe_path": os.path.join(st["build"], "bin", "lrc-probe"),
        },
    }
