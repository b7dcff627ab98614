"""The routes of an OpenAPI document against the routes a server declares.

Both REST servers print their routing table with --dump-routes, one
"METHOD /path" per line; the api/ tests compare it with api-ref/."""

import os
import subprocess
import unittest

import yaml  # python3-yaml (tools/deps.list)

import iottest

METHODS = ("get", "post", "put", "patch", "delete")


def server_routes(binary):
    """{(METHOD, path)} of the built server; skips the test when it is not built."""
    path = iottest.bin_path(binary)
    if not os.access(path, os.X_OK):
        raise unittest.SkipTest("%s is not built" % binary)
    out = subprocess.run([path, "--dump-routes"], check=True, capture_output=True,
                         text=True).stdout
    return {tuple(line.split(" ", 1)) for line in out.splitlines() if line}


def load(name):
    """The document api-ref/<name>, parsed."""
    with open(os.path.join(iottest.ROOT, "api-ref", name)) as f:
        return yaml.safe_load(f)


def doc_routes(d):
    """{(METHOD, path)} of a parsed document."""
    return {(m.upper(), path) for path, item in d["paths"].items() for m in METHODS if m in item}
