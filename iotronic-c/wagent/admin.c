/* wagent/admin.c: the admin listener and the wagent's metrics
 * (board-protocol.md 7.6).
 *
 * [wagent] admin_listen serves, without authentication (bind it to a
 * private address):
 *   GET /healthz  200 "ok" when the database and the broker are reachable,
 *                 else 503 naming what is not (checked on a worker: a
 *                 database round trip);
 *   GET /metrics  the Prometheus text of the process registry.
 * Counters are updated where things happen; the gauges (sessions by state,
 * boards online, calls, tunnels) are refreshed from the loop every second,
 * since rendering may not read the loop's state directly. */
#include "wagent/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

static const char *const type_labels[] = {"type", NULL};

static void message_series(struct wag *w)
{
    struct metrics_family *in = metrics_counter(w->metrics, "wagent_messages_in_total",
                                                "WAMP messages received, by type.", type_labels);
    struct metrics_family *out = metrics_counter(w->metrics, "wagent_messages_out_total",
                                                 "WAMP messages sent, by type.", type_labels);

    for (int t = 1; t < WAG_TYPE_MAX; t++) {
        const char *name = wamp_type_name((enum wamp_type)t);

        if (strcmp(name, "UNKNOWN") == 0)
            continue;
        w->m.msg_in[t] = metrics_series(in, (const char *const[]){name});
        w->m.msg_out[t] = metrics_series(out, (const char *const[]){name});
    }
}

static void handshake_series(struct wag *w)
{
    static const char *const outcome[] = {"outcome", NULL};
    static const char *const names[] = {"accepted", "refused_400", "refused_426", "refused_503",
                                        "refused_other"};
    struct metrics_family *f = metrics_counter(w->metrics, "wagent_handshakes_total",
                                               "WebSocket upgrades on the WAMP listener.", outcome);

    for (int i = 0; i < 5; i++)
        w->m.handshakes[i] = metrics_series(f, (const char *const[]){names[i]});
}

static void gauge_series(struct wag *w, struct wag_gauges *g)
{
    static const char *const state[] = {"state", NULL};
    struct metrics_family *f =
        metrics_gauge(w->metrics, "wagent_sessions", "Sessions by state.", state);
    struct metrics *m = w->metrics;

    for (int i = 0; i < WAG_S_COUNT; i++)
        g->sessions[i] = metrics_series(f, (const char *const[]){wag_state_name(i)});
#define G(var, name, help) g->var = metrics_series(metrics_gauge(m, name, help, NULL), NULL)
#define C(var, name, help) g->var = metrics_series(metrics_counter(m, name, help, NULL), NULL)
    G(boards, "wagent_boards_online", "Boards with a bound session on this wagent.");
    G(calls, "wagent_calls_pending", "Board calls waiting for an answer.");
    G(tunnels, "wagent_tunnels", "Open tunnels.");
    G(tun_conns, "wagent_tunnel_connections", "Joined tunnel connections.");
    G(tun_pending, "wagent_tunnel_connections_pending", "Connections waiting for a data channel.");
    C(tun_in, "wagent_tunnel_bytes_in_total", "Bytes from public clients towards boards.");
    C(tun_out, "wagent_tunnel_bytes_out_total", "Bytes from boards to public clients.");
    C(tun_total, "wagent_tunnel_connections_total", "Tunnel connections accepted.");
#undef G
#undef C
}

void wag_metrics_init(struct wag *w)
{
    static const char *const call_labels[] = {"method", "outcome", NULL};
    static const char *const callee_labels[] = {"callee", "outcome", NULL};
    struct metrics *m = w->metrics;

    handshake_series(w);
    message_series(w);
    w->m.calls = metrics_counter(m, "wagent_calls_total", "Board calls, by method and outcome.",
                                 call_labels);
    w->m.callee_calls =
        metrics_counter(m, "wagent_callee_calls_total",
                        "Calls of cloud callees, by callee and outcome.", callee_labels);
    w->m.call_latency = metrics_series(
        metrics_histogram(m, "wagent_call_seconds", "Board call latency.", NULL, NULL, 0), NULL);
    w->m.violations =
        metrics_series(metrics_counter(m, "wagent_protocol_violations_total",
                                       "Sessions ended by a protocol violation.", NULL),
                       NULL);
    w->m.auth_failures = metrics_series(
        metrics_counter(m, "wagent_auth_failures_total", "Failed WAMP-CRA logins.", NULL), NULL);
    w->m.bytes_in = metrics_series(
        metrics_counter(m, "wagent_bytes_in_total", "Bytes received from boards.", NULL), NULL);
    w->m.bytes_out = metrics_series(
        metrics_counter(m, "wagent_bytes_out_total", "Bytes queued for boards.", NULL), NULL);
    gauge_series(w, (&w->g));
}

static void add_delta(struct metrics_series *s, uint64_t now, uint64_t *last)
{
    if (now > *last)
        metrics_add(s, (double)(now - *last));
    *last = now;
}

static void on_refresh(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct wag *w = t->data;
    struct wag_gauges *g = (&w->g);
    struct tun_server_stats ts = {0};

    (void)ev;
    (void)revents;
    for (int i = 0; i < WAG_S_COUNT; i++)
        metrics_set(g->sessions[i], w->count[i]);
    metrics_set(g->boards, w->bound);
    metrics_set(g->calls, w->ncalls);
    if (w->tun != NULL)
        tun_server_get_stats(w->tun, &ts);
    metrics_set(g->tunnels, ts.tunnels);
    metrics_set(g->tun_conns, ts.connections);
    metrics_set(g->tun_pending, ts.pending);
    add_delta(g->tun_in, ts.bytes_in, &g->last_in);
    add_delta(g->tun_out, ts.bytes_out, &g->last_out);
    add_delta(g->tun_total, ts.connections_total, &g->last_total);
}

/* ------------------------------------------------------------ /healthz */

static void healthz(struct http_req *r)
{
    struct wag *w = http_req_service(r);
    struct db *db = http_req_thread_ctx(r);
    PGresult *res = NULL;
    struct error err;
    char msg[ERROR_MSG_MAX + 64];
    int db_ok;

    error_clear(&err);
    db_ok = db != NULL && db_exec(db, "SELECT 1", 0, NULL, &res, &err) == 0;
    PQclear(res);
    if (db_ok && mq_is_connected(w->mq)) {
        http_resp_body(r, 200, "text/plain; charset=utf-8", "ok\n", 3);
        return;
    }
    snprintf(msg, sizeof(msg), "%s%s%s\n",
             db_ok ? "" : "database unreachable: ", db_ok ? "" : (db ? err.msg : "no connection"),
             mq_is_connected(w->mq) ? "" : (db_ok ? "broker unreachable" : "; broker unreachable"));
    http_resp_body(r, 503, "text/plain; charset=utf-8", msg, strlen(msg));
}

static const struct http_route routes[] = {
    {HTTP_GET, "/healthz", healthz, HTTP_ROUTE_PUBLIC, 0, NULL, "healthz"},
    {HTTP_GET, "/metrics", http_metrics_handler, HTTP_ROUTE_PUBLIC | HTTP_ROUTE_INLINE, 0, NULL,
     "metrics"},
};

int wag_admin_start(struct wag *w, struct error *err)
{
    struct wag_gauges *g = (&w->g);
    struct http_server_opts o = {
        .name = "admin",
        .host = w->cfg->admin_host,
        .port = w->cfg->admin_port,
        .max_body = 4096,
        .max_connections = 64,
        .metrics = w->metrics,
    };
    struct http_service svc = {
        .routes = routes,
        .nroutes = sizeof(routes) / sizeof(routes[0]),
        .arg = w,
    };

    ev_timer_init(&g->refresh, on_refresh, 1.0, 1.0);
    g->refresh.data = w;
    ev_timer_start(w->ev, &g->refresh);
    if (w->cfg->admin_host[0] == '\0' && w->cfg->admin_port == 0)
        return 0; /* admin_listen is empty: no listener */
    return http_server_new(w->loop, w->wq, &o, &svc, &w->admin, err);
}

void wag_admin_stop(struct wag *w)
{
    ev_timer_stop(w->ev, &(&w->g)->refresh);
}
