/* http/server.h: the HTTP/1.1 server of the REST services (libiothttp).
 *
 * A server is one listener (a libwebsockets raw-socket vhost, plain TCP or
 * TLS) on the process's event loop (loop/loop.h), with a route table and the
 * service's hooks. Connections, parsing, body limits, keep-alive,
 * pipelining, timeouts and writing all happen on the loop thread and never
 * block; handlers run on the process's worker pool (common/wq.h) and their
 * responses are posted back to the loop, which writes them.
 *
 * The life of a request:
 *   loop:   read the head (at most max_header bytes, else 431); parse it
 *           (400/501/505/417); CORS preflight (answered here); rewrite_path
 *           hook; route; refuse a body over the route's limit at once
 *           (413, before authentication: the limit exists to keep
 *           unauthenticated clients from making us read); answer 100
 *           Continue when asked; read the body (Content-Length or chunked)
 *           into memory or, for HTTP_ROUTE_SPOOL routes, into a temporary
 *           file; submit to the worker pool, or answer 503 at once when its
 *           queue is full.
 *   worker: authenticate (unless HTTP_ROUTE_PUBLIC; 401/403/503); the
 *           before hook (e.g. IoTronic's 406 version negotiation); 404/405
 *           for paths without a route; the handler; the headers hook; the
 *           response is serialised and one access log line written.
 *   loop:   write the response; next request on the connection.
 * Every response, including those the server makes itself, goes through
 * the service's error formatter (status >= 400) and headers hook, and
 * carries the request id header.
 *
 * Lifetimes: one struct http_server per listener, made in main after the
 * loop and the worker pool. Shut down in this order: loop_run() returns,
 * wq_free() (finishes handlers), loop_free() (closes connections), then
 * http_server_free(). Everything here is for the loop thread (main) only. */
#ifndef IOT_HTTP_SERVER_H
#define IOT_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "common/error.h"
#include "common/wq.h"
#include "http/cors.h"
#include "http/errbody.h"
#include "http/metrics.h"
#include "http/parse.h"
#include "http/request.h"
#include "loop/loop.h"

typedef void (*http_handler_fn)(struct http_req *r);

/* Route flags. */
#define HTTP_ROUTE_PUBLIC                                                                          \
    0x1u /* no authentication; the caller is anonymous (keystone)                                  \
          * or from headers (noauth), is_public_api set */
#define HTTP_ROUTE_INLINE                                                                          \
    0x2u                      /* the handler runs on the loop thread: it must not block;           \
                               * only for PUBLIC routes (root documents, /metrics) */
#define HTTP_ROUTE_SPOOL 0x4u /* the body goes to a temporary file (http_req_upload) */

/* One entry of a service's route table (see router.h for patterns). */
struct http_route {
    enum http_method method;
    const char *pattern; /* "/v1/boards/{board}" */
    http_handler_fn handler;
    unsigned flags;
    uint64_t max_body;     /* body limit; 0: the server's max_body */
    const char *too_large; /* 413 message; NULL: the service's */
    const char *name;      /* label in metrics and logs; NULL: the pattern */
};

/* The messages of errors the server itself produces, in the service's
 * words. NULL entries take the defaults shown. */
struct http_messages {
    const char *not_found;          /* "The resource could not be found." */
    const char *method_not_allowed; /* "The method %s is not allowed for this resource."
                                     * ("%s": the method, optional) */
    const char *too_large;          /* "Request is too large." */
    const char *headers_too_large;  /* "Request header fields too large." */
    const char *bad_request;        /* "Malformed HTTP request." */
    const char *unavailable;        /* "Resource temporarily unavailable, please retry." */
    const char *internal;           /* "An unknown exception occurred." */
    const char *range;              /* "Requested range not satisfiable." */
};

/* What the service plugs in. Hooks may be NULL. */
struct http_service {
    const struct http_route *routes; /* borrowed; must outlive the server */
    size_t nroutes;
    void *arg; /* passed to hooks; http_req_service() */
    /* Loop thread, before routing: a new path (malloc'd) to route instead
     * of the raw path, or NULL to keep it. IoTronic: "/boards/x" ->
     * "/v1/boards/x". Must not block. */
    char *(*rewrite_path)(const char *raw_path, void *arg);
    /* Worker, after authentication and before 404/405 and the handler:
     * return 0 to go on, or set a response (http_resp_error) and return
     * non-zero to answer with it. IoTronic's 406 lives here. */
    int (*before)(struct http_req *r, void *arg);
    /* Any thread, for every response just before it is serialised: add
     * headers (http_resp_header); http_resp_status() tells the status.
     * The request may be only partly parsed (431, 400): then its path is
     * NULL. Must not block. */
    void (*headers)(struct http_req *r, void *arg);
    http_error_fmt format_error; /* NULL: http_error_body_flat */
    struct http_messages msgs;
    const char *request_id_header; /* NULL: "X-Openstack-Request-Id" */
};

struct http_server_opts {
    const char *name;      /* vhost name and the "server" metrics label ("api") */
    const char *host;      /* listen address; NULL: all */
    int port;              /* 0: any free port (see http_server_port) */
    const char *cert_file; /* both set: TLS */
    const char *key_file;
    uint64_t max_body;            /* 0: 1 MiB */
    size_t max_header;            /* request line + headers; 0: 16 KiB */
    unsigned max_connections;     /* 0: 10000; further connections are closed at once */
    int header_timeout_ms;        /* whole head must arrive within; 0: 30 s */
    int body_timeout_ms;          /* between two pieces of body; 0: 30 s */
    int keepalive_timeout_ms;     /* idle connection; 0: 60 s */
    int send_timeout_ms;          /* client not reading; 0: 60 s */
    const char *spool_dir;        /* HTTP_ROUTE_SPOOL temporary files; NULL: $TMPDIR or /var/tmp */
    struct auth *auth;            /* NULL: no authentication at all (admin listener) */
    const struct http_cors *cors; /* NULL: no CORS */
    struct metrics *metrics;      /* NULL: no metrics */
};

struct http_server;

/* Compiles the routes, creates the listener on the loop's lws context and
 * registers metrics. wq must be the loop's pool (loop_set_wq). Returns 0,
 * or -EINVAL (bad routes or options) / -EADDRINUSE / -EIO with err set. */
int http_server_new(struct loop *loop, struct wq *wq, const struct http_server_opts *opts,
                    const struct http_service *svc, struct http_server **out,
                    struct error *err) IOT_WUR;

/* The port the listener is bound to. */
int http_server_port(const struct http_server *s);

/* Frees the server; see the shutdown order above. Accepts NULL. */
void http_server_free(struct http_server *s);

/* An admin listener serving GET /metrics (the registry m, rendered on the
 * loop) and GET / (200 "ok"), without authentication: for `[api]
 * admin_listen`-style options. Same lifetime rules as a server. */
int http_admin_new(struct loop *loop, struct wq *wq, const char *host, int port, struct metrics *m,
                   struct http_server **out, struct error *err) IOT_WUR;

/* A handler rendering the server's metrics registry, for services that
 * want /metrics in their own table (make it PUBLIC | INLINE). */
void http_metrics_handler(struct http_req *r);

#endif
