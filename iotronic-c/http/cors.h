/* http/cors.h: Cross-Origin Resource Sharing as oslo.middleware does it.
 *
 * A service that has a [cors] section passes a struct http_cors to its
 * server; the server then answers preflight requests (OPTIONS with Origin
 * and Access-Control-Request-Method) itself, without authentication and
 * without a worker, and adds the CORS headers to every other response whose
 * Origin is allowed (errors included). An origin, method or requested header
 * that is not allowed gets a 200 preflight without CORS headers, which the
 * browser treats as a refusal (as oslo.middleware does). Without a struct
 * http_cors, OPTIONS is routed like any other method (405 where no route
 * has it). Pure functions; the struct is read-only after start. */
#ifndef IOT_HTTP_CORS_H
#define IOT_HTTP_CORS_H

#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

struct http_cors {
    const char *allowed_origin; /* comma-separated origins; "*" allows any; NULL/"": CORS off */
    int allow_credentials;      /* Access-Control-Allow-Credentials: true */
    int64_t max_age;            /* seconds for Access-Control-Max-Age; 0: not sent */
    const char *allow_methods;  /* NULL: "GET, PUT, POST, DELETE, PATCH" */
    const char *allow_headers;  /* request headers allowed besides the simple ones */
    const char *expose_headers; /* Access-Control-Expose-Headers; NULL: none */
};

/* 1 when c enables CORS. */
int http_cors_enabled(const struct http_cors *c);

/* For a preflight (origin and acr_method not NULL): appends the response
 * header lines ("Name: value\r\n") to out, none when the request is not
 * allowed. acr_headers is Access-Control-Request-Headers or NULL. Returns 0
 * or -E2BIG. */
int http_cors_preflight(const struct http_cors *c, const char *origin, const char *acr_method,
                        const char *acr_headers, struct buf *out) IOT_WUR;

/* For an actual request with an Origin header: appends the header lines for
 * the response when the origin is allowed. Returns 0 or -E2BIG. */
int http_cors_actual(const struct http_cors *c, const char *origin, struct buf *out) IOT_WUR;

#endif
