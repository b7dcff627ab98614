/* tests/tools/httptest/httptest.h: a small daemon on libiothttp and
 * libiotauth, for the integration tests and the HTTP benchmark. It has
 * routes that exercise every feature of the library (see routes.c) and is
 * configured like the real services, from an INI file. One struct
 * httptest per process, made in main. */
#ifndef HTTPTEST_H
#define HTTPTEST_H

#include <stdint.h>

#include "auth/auth.h"
#include "http/server.h"

struct httptest_config {
    char *host;
    int64_t port, admin_port;
    int64_t workers, max_queued;
    int64_t max_body, max_header, small_max, upload_max, max_connections;
    int64_t lws_log_level;
    int64_t header_timeout_ms, body_timeout_ms, keepalive_timeout_ms, send_timeout_ms;
    char *spool_dir, *files_dir, *cert_file, *key_file, *log_level;
    int style; /* 0: IoTronic (nested errors, Openstack-Request-Id), 1: Qinling */
    /* [cors] */
    char *allowed_origin, *allow_headers, *expose_headers;
    int allow_credentials;
    int64_t max_age;
};

struct httptest {
    struct httptest_config cfg;
    struct auth_config auth_cfg;
    struct policy *policy;
    struct auth *auth;
    char *upload_too_large;
};

/* routes.c */
extern const struct http_route httptest_routes[];
extern const size_t httptest_nroutes;
char *httptest_rewrite(const char *path, void *arg);
int httptest_before(struct http_req *r, void *arg);
void httptest_headers(struct http_req *r, void *arg);

#endif
