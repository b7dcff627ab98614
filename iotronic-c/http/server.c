/* http/server.c: creating listeners (server.h), the admin listener and the
 * /metrics handler. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "http/internal.h"

static const struct http_messages default_msgs = {
    .not_found = "The resource could not be found.",
    .method_not_allowed = "The method %s is not allowed for this resource.",
    .too_large = "Request is too large.",
    .headers_too_large = "Request header fields too large.",
    .bad_request = "Malformed HTTP request.",
    .unavailable = "Resource temporarily unavailable, please retry.",
    .internal = "An unknown exception occurred.",
    .range = "Requested range not satisfiable.",
};

#define DEFAULT(field, value)                                                                      \
    do {                                                                                           \
        if (!(field))                                                                              \
            (field) = (value);                                                                     \
    } while (0)

static void fill_service(struct http_server *srv, const struct http_service *svc)
{
    struct http_messages *m = &srv->svc.msgs;

    srv->svc = *svc;
    DEFAULT(m->not_found, default_msgs.not_found);
    DEFAULT(m->method_not_allowed, default_msgs.method_not_allowed);
    DEFAULT(m->too_large, default_msgs.too_large);
    DEFAULT(m->headers_too_large, default_msgs.headers_too_large);
    DEFAULT(m->bad_request, default_msgs.bad_request);
    DEFAULT(m->unavailable, default_msgs.unavailable);
    DEFAULT(m->internal, default_msgs.internal);
    DEFAULT(m->range, default_msgs.range);
    DEFAULT(srv->svc.format_error, http_error_body_flat);
    DEFAULT(srv->svc.request_id_header, "X-Openstack-Request-Id");
}

static char *dup_or_null(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

static void fill_opts(struct http_server *srv, const struct http_server_opts *o)
{
    struct http_server_opts *d = &srv->opts;
    const char *tmp = getenv("TMPDIR");

    *d = *o;
    srv->name = xstrdup(o->name ? o->name : "http");
    srv->host = dup_or_null(o->host);
    srv->cert_file = dup_or_null(o->cert_file);
    srv->key_file = dup_or_null(o->key_file);
    srv->spool_dir = xstrdup(o->spool_dir ? o->spool_dir : (tmp && *tmp ? tmp : "/var/tmp"));
    d->name = srv->name;
    d->host = srv->host;
    d->cert_file = srv->cert_file;
    d->key_file = srv->key_file;
    d->spool_dir = srv->spool_dir;
    DEFAULT(d->max_body, 1 << 20);
    DEFAULT(d->max_header, 16 * 1024);
    DEFAULT(d->max_connections, 10000);
    DEFAULT(d->header_timeout_ms, 30000);
    DEFAULT(d->body_timeout_ms, 30000);
    DEFAULT(d->keepalive_timeout_ms, 60000);
    DEFAULT(d->send_timeout_ms, 60000);
    srv->tls = srv->cert_file != NULL;
}

static int check_routes(const struct http_service *svc, struct error *err)
{
    for (size_t i = 0; i < svc->nroutes; i++) {
        unsigned f = svc->routes[i].flags;

        if ((f & HTTP_ROUTE_INLINE) && (f & (HTTP_ROUTE_SPOOL)))
            return error_set(err, -EINVAL, "route %s: INLINE and SPOOL exclude each other",
                             svc->routes[i].pattern);
        if ((f & HTTP_ROUTE_INLINE) && !(f & HTTP_ROUTE_PUBLIC))
            return error_set(err, -EINVAL, "route %s: INLINE routes must be PUBLIC",
                             svc->routes[i].pattern);
    }
    return 0;
}

static double pending_jobs(void *arg)
{
    return (double)wq_pending(arg);
}

static void register_metrics(struct http_server *srv)
{
    static const char *const req_labels[] = {"server", "route", "method", "status", NULL};
    static const char *const rej_labels[] = {"server", "reason", NULL};
    static const char *const srv_labels[] = {"server", NULL};
    static const char *const dur_labels[] = {"server", "route", NULL};
    struct metrics *m = srv->opts.metrics;
    struct metrics_family *dur;

    if (m == NULL)
        return;
    srv->m_requests =
        metrics_counter(m, "http_requests_total",
                        "HTTP requests answered, by route, method and status.", req_labels);
    srv->m_rejected =
        metrics_counter(m, "http_rejected_total",
                        "Requests or connections refused before a handler ran.", rej_labels);
    srv->m_conns = metrics_series(
        metrics_gauge(m, "http_connections_open", "Open HTTP connections.", srv_labels),
        (const char *const[]){srv->name});
    dur = metrics_histogram(m, "http_request_duration_seconds",
                            "Time from a complete request head to a ready response.", dur_labels,
                            NULL, 0);
    srv->m_duration = xcalloc(srv->svc.nroutes + 1, sizeof(*srv->m_duration));
    for (size_t i = 0; i <= srv->svc.nroutes; i++) {
        const struct http_route *r = i < srv->svc.nroutes ? &srv->svc.routes[i] : NULL;
        const char *label = r ? (r->name ? r->name : r->pattern) : "none";

        srv->m_duration[i] = metrics_series(dur, (const char *const[]){srv->name, label});
    }
    metrics_gauge_fn(m, "worker_queue_depth", "Jobs waiting for a worker thread.", pending_jobs,
                     srv->wq);
}

static int create_vhost(struct http_server *srv, struct error *err)
{
    struct lws_context_creation_info info;

    srv->protocols[0] = (struct lws_protocols){
        .name = "iot-http",
        .callback = http_conn_callback,
        .per_session_data_size = sizeof(struct conn),
        .tx_packet_size = HTTP_WRITE_CHUNK,
    };
    memset(&info, 0, sizeof(info));
    info.vhost_name = srv->name;
    info.port = srv->opts.port;
    info.iface = srv->host;
    info.protocols = srv->protocols;
    info.options = LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG;
    /* lws 4.1 reads this per vhost: without it the vhost silently stays
     * plain even with a certificate (lws_context_init_server_ssl). */
    if (srv->tls)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    /* No ALPN: whatever lws agreed to ("h2", "http/1.1") would move the
     * connection from our raw protocol to lws's own HTTP roles. Without
     * ALPN every client speaks HTTP/1.1. */
    info.alpn = "";
    info.listen_accept_role = "raw-skt";
    info.listen_accept_protocol = "iot-http";
    info.ssl_cert_filepath = srv->cert_file;
    info.ssl_private_key_filepath = srv->key_file;
    info.user = srv;
    srv->vhost = lws_create_vhost(loop_lws(srv->loop), &info);
    if (srv->vhost == NULL)
        return error_set(err, -EADDRINUSE, "%s: cannot listen on %s:%d%s", srv->name,
                         srv->host ? srv->host : "*", srv->opts.port,
                         srv->tls ? " (or the TLS certificate or key is unusable)" : "");
    srv->port = lws_get_vhost_listen_port(srv->vhost);
    return 0;
}

int http_server_new(struct loop *loop, struct wq *wq, const struct http_server_opts *opts,
                    const struct http_service *svc, struct http_server **out, struct error *err)
{
    struct http_server *srv;
    int rc;

    *out = NULL;
    if ((opts->cert_file && *opts->cert_file) != (opts->key_file && *opts->key_file))
        return error_set(err, -EINVAL, "TLS needs both a certificate and a key file");
    rc = check_routes(svc, err);
    if (rc < 0)
        return rc;
    srv = xcalloc(1, sizeof(*srv));
    srv->loop = loop;
    srv->wq = wq;
    fill_service(srv, svc);
    fill_opts(srv, opts);
    rc = http_router_new(svc->routes, svc->nroutes, &srv->router, err);
    if (rc == 0) {
        register_metrics(srv);
        rc = create_vhost(srv, err);
    }
    if (rc < 0) {
        http_server_free(srv);
        return rc;
    }
    log_info("http: %s listening on %s:%d%s", srv->name, srv->host ? srv->host : "*", srv->port,
             srv->tls ? " (TLS)" : "");
    *out = srv;
    return 0;
}

int http_server_port(const struct http_server *s)
{
    return s->port;
}

void http_server_free(struct http_server *s)
{
    if (s == NULL)
        return;
    /* The vhost went with the lws context (loop_free), which closed every
     * connection through our callback while s was still alive. */
    http_router_free(s->router);
    free(s->m_duration);
    free(s->name);
    free(s->host);
    free(s->cert_file);
    free(s->key_file);
    free(s->spool_dir);
    free(s);
}

/* ------------------------------------------------------------- admin */

void http_metrics_handler(struct http_req *r)
{
    struct metrics *m = r->srv->opts.metrics;
    struct buf b;
    size_t len;
    char *text;

    if (m == NULL) {
        http_server_error(r, 404, r->srv->svc.msgs.not_found);
        return;
    }
    buf_init(&b, 64 << 20);
    if (metrics_render(m, &b) < 0)
        log_error("http: metrics exposition truncated at 64 MiB");
    text = buf_take(&b, &len);
    http_resp_body_take(r, 200, METRICS_CONTENT_TYPE, text, len);
}

static void admin_root(struct http_req *r)
{
    http_resp_body(r, 200, "text/plain; charset=utf-8", "ok\n", 3);
}

static const struct http_route admin_routes[] = {
    {HTTP_GET, "/", admin_root, HTTP_ROUTE_PUBLIC | HTTP_ROUTE_INLINE, 0, NULL, NULL},
    {HTTP_GET, "/metrics", http_metrics_handler, HTTP_ROUTE_PUBLIC | HTTP_ROUTE_INLINE, 0, NULL,
     NULL},
};

int http_admin_new(struct loop *loop, struct wq *wq, const char *host, int port, struct metrics *m,
                   struct http_server **out, struct error *err)
{
    struct http_server_opts o = {
        .name = "admin",
        .host = host,
        .port = port,
        .max_body = 4096,
        .max_connections = 64,
        .metrics = m,
    };
    struct http_service svc = {
        .routes = admin_routes,
        .nroutes = sizeof(admin_routes) / sizeof(admin_routes[0]),
    };

    return http_server_new(loop, wq, &o, &svc, out, err);
}
