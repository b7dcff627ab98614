#!/usr/bin/python3
# needs: nothing
"""The OpenAPI document api-ref/iotronic-api-v1.yaml and the route table of
iotronic-api (`iotronic-api --dump-routes`) describe exactly the same routes,
so neither can drift; every operation documents its responses, and every path
parameter of a route is declared."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402
import openapi  # noqa: E402

METHODS = openapi.METHODS

def server_routes():
    return openapi.server_routes("iotronic-api")

def doc():
    return openapi.load("iotronic-api-v1.yaml")

doc_routes = openapi.doc_routes

class OpenApiRoutes(unittest.TestCase):
    def test_document_is_openapi3(self):
        d = doc()
        self.assertTrue(d["openapi"].startswith("3."))
        self.assertEqual(d["info"]["version"], "1.0")

    def test_every_server_route_is_documented(self):
        missing = server_routes() - doc_routes(doc())
        self.assertEqual(missing, set(), "routes the server has but the document lacks")

    def test_every_documented_route_exists(self):
        extra = doc_routes(doc()) - server_routes()
        self.assertEqual(extra, set(), "routes the document has but the server lacks")

    def test_operations_have_responses_and_declared_parameters(self):
        d = doc()
        for path, item in d["paths"].items():
            declared = set()
            for p in item.get("parameters", []):
                declared.add(self._param_name(d, p))
            for m in METHODS:
                if m not in item:
                    continue
                op = item[m]
                self.assertTrue(op.get("responses"), "%s %s has no responses" % (m, path))
                names = declared | {self._param_name(d, p) for p in op.get("parameters", [])}
                for var in re.findall(r"\{(\w+)\}", path):
                    self.assertIn(var, names, "%s %s: {%s} not declared" % (m, path, var))
                if m in ("post", "put", "patch") and path not in ("/",):
                    ok = [s for s in op["responses"] if s.startswith("2")]
                    self.assertTrue(ok, "%s %s has no success response" % (m, path))

    @staticmethod
    def _param_name(d, p):
        if "$ref" in p:
            p = d["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]
        return p["name"]

if __name__ == "__main__":
    iottest.main()
