/* wagent/wagent.c: see wagent.h. The WAMP listener is an lws vhost whose
 * accepted sockets are raw (TLS when configured): transport.c speaks HTTP
 * and WebSocket on them itself, so that each refusal is exactly the one the
 * contract names. */
#include "wagent/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

#define STOP_FLUSH_S 3.0 /* how long stopping waits for boards to take their GOODBYE */

int wag_db_submit(struct wag *w, wq_work_fn work, wq_done_fn done, void *arg)
{
    return wq_submit(w->wq, work, done, arg);
}

int wag_new(const struct wag_conf *cfg, struct loop *loop, struct wq *wq, struct mq *mq,
            struct metrics *metrics, struct wag **out, struct error *err)
{
    struct wag *w = xcalloc(1, sizeof(*w));

    (void)err;
    w->cfg = cfg;
    w->loop = loop;
    w->ev = loop_ev(loop);
    w->ctx = loop_lws(loop);
    w->wq = wq;
    w->mq = mq;
    w->metrics = metrics;
    w->started_us = time_now_us();
    w->scratch = xmalloc(WAG_SCRATCH);
    wag_inbox_init(&w->inbox, w->ev);
    wag_metrics_init(w);
    *out = w;
    return 0;
}

int wag_listen(struct wag *w, struct error *err)
{
    struct lws_context_creation_info info;
    const struct wag_conf *c = w->cfg;
    int tls = c->cert_file != NULL;

    w->protocols[0] = (struct lws_protocols){.name = "wamp", .callback = wag_transport_cb};
    memset(&info, 0, sizeof(info));
    info.vhost_name = "wamp";
    info.port = c->listen_port;
    info.iface = c->listen_host[0] ? c->listen_host : NULL;
    info.protocols = w->protocols;
    /* As in the HTTP server: raw sockets, no ALPN (which would hand the
     * connection to lws's own HTTP roles), TLS enabled per vhost. */
    info.options = LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG |
                   (tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
    info.alpn = "";
    info.listen_accept_role = "raw-skt";
    info.listen_accept_protocol = "wamp";
    info.ssl_cert_filepath = c->cert_file;
    info.ssl_private_key_filepath = c->key_file;
    info.user = w;
    w->vh = lws_create_vhost(w->ctx, &info);
    if (w->vh == NULL)
        return error_set(err, -EADDRINUSE, "cannot listen on %s%s", c->listen,
                         tls ? " (or the TLS certificate or key is unusable)" : "");
    w->port = lws_get_vhost_listen_port(w->vh);
    log_info("WAMP listener on %s:%d%s realm=%s host=%s", c->listen_host, w->port,
             tls ? " (TLS)" : "", c->realm, c->hostname);
    return 0;
}

static int start_tunnels(struct wag *w, struct error *err)
{
    struct tun_server_opts o;

    tun_server_conf_opts(&w->cfg->wstun, &o);
    o.cert_file = w->cfg->cert_file;
    o.key_file = w->cfg->key_file;
    return tun_server_new(w->loop, &o, wag_tunnel_authorize, w, &w->tun, err);
}

int wag_start(struct wag *w, struct error *err)
{
    int rc;

    if ((rc = wag_amqp_start(w, err)) < 0)
        return error_prefix(err, "AMQP");
    if ((rc = start_tunnels(w, err)) < 0)
        return error_prefix(err, "tunnel server");
    if ((rc = wag_admin_start(w, err)) < 0)
        return error_prefix(err, "admin listener");
    return wag_liveness_start(w, err);
}

int wag_port(const struct wag *w)
{
    return w->port;
}

static void on_flush_tick(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)t;
    (void)revents;
}

/* Lets the loop write the GOODBYEs until every socket closed or the time is
 * up (a board that does not read them is closed by loop_free()). */
static void flush(struct wag *w)
{
    ev_tstamp end = ev_time() + STOP_FLUSH_S;
    ev_timer tick;

    ev_timer_init(&tick, on_flush_tick, 0.05, 0.05);
    ev_timer_start(w->ev, &tick);
    while (w->all.count > 0 && ev_time() < end)
        ev_run(w->ev, EVRUN_ONCE);
    ev_timer_stop(w->ev, &tick);
}

void wag_stop(struct wag *w)
{
    if (w == NULL)
        return;
    w->stopping = 1;
    wag_liveness_stop(w);
    wag_admin_stop(w);
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&w->all))
    {
        struct wag_session *s = lws_container_of(d, struct wag_session, link);

        if (s->state >= WAG_S_UNBOUND && s->state <= WAG_S_BOUND)
            wag_session_goodbye(s, "wamp.close.system_shutdown");
        else
            wag_session_close(s, 1001, "the wagent is stopping");
    }
    lws_end_foreach_dll_safe(d, d1);
    loop_kick_lws(w->loop);
    flush(w);
    /* Calls that arrived meanwhile find no session: "not_connected". */
    wag_inbox_stop(&w->inbox);
    wag_inbox_free(&w->inbox);
    wag_boards_stop(w);
    tun_server_free(w->tun);
    w->tun = NULL;
}

void wag_offline(struct wag *w)
{
    if (w != NULL && w->cfg != NULL)
        wag_liveness_shutdown(w);
}

void wag_free(struct wag *w)
{
    if (w == NULL)
        return;
    wag_boards_free(w);
    wag_keytab_free(&w->sessions);
    wag_names_free(&w->names);
    wag_authfail_free(&w->authfail);
    http_server_free(w->admin);
    free(w->scratch);
    free(w);
}
