#!/usr/bin/python3
# needs: nothing
"""The OpenAPI document api-ref/qinling-api-v1.yaml and the route table of
qinling-api (`qinling-api --dump-routes`) describe exactly the same routes, so
neither can drift; every operation documents its responses (a success and
the flat error body), and every path parameter is declared."""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iottest  # noqa: E402
import openapi  # noqa: E402

METHODS = openapi.METHODS

def server_routes():
    return openapi.server_routes("qinling-api")

def doc():
    return openapi.load("qinling-api-v1.yaml")

doc_routes = openapi.doc_routes

class QinlingOpenApi(unittest.TestCase):
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
            declared = {self._param(d, p)["name"] for p in item.get("parameters", [])}
            for m in METHODS:
                if m not in item:
                    continue
                op = item[m]
                codes = set(op.get("responses", {}))
                self.assertTrue(any(c.startswith("2") for c in codes), "%s %s" % (m, path))
                if path not in ("/", "/v1"):
                    self.assertTrue(any(c.startswith("4") for c in codes),
                                    "%s %s documents no client error" % (m, path))
                names = declared | {self._param(d, p)["name"] for p in op.get("parameters", [])}
                for var in re.findall(r"\{(\w+)\}", path):
                    self.assertIn(var, names, "%s %s: {%s} not declared" % (m, path, var))

    def test_errors_use_the_flat_body(self):
        d = doc()
        fault = d["components"]["schemas"]["Fault"]
        self.assertEqual(set(fault["required"]), {"faultcode", "faultstring", "debuginfo"})
        for name, resp in d["components"]["responses"].items():
            schema = resp["content"]["application/json"]["schema"]
            self.assertEqual(schema, {"$ref": "#/components/schemas/Fault"}, name)

    def test_unauthenticated_routes_are_marked(self):
        d = doc()
        public = {(m.upper(), p) for p, item in d["paths"].items() for m in METHODS
                  if m in item and item[m].get("security") == []}
        self.assertEqual(public, {("GET", "/"), ("GET", "/v1"),
                                  ("POST", "/v1/webhooks/{id}/invoke"),
                                  ("GET", "/v1/blobs/{sha256}")})

    @staticmethod
    def _param(d, p):
        if "$ref" in p:
            return d["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]
        return p

if __name__ == "__main__":
    iottest.main()
