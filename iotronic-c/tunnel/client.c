/* tunnel/client.c: the client's API and its control channels.
 *
 * A tunnel is CONNECTING until its control channel is established, then UP.
 * Any failure or close schedules the next attempt after a full-jitter backoff
 * (tunnel/backoff.h); the failure count resets only after a channel stayed up
 * for STABLE_US, so a server that accepts and drops at once (its public port
 * is taken: close 1011) does not make the board hammer it. Data connections
 * (client_conn.c) live on their own and end with their two sockets. */
#include "tunnel/client_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "tunnel/backoff.h"
#include "wamp/cra.h"

#define STABLE_US (5 * 1000000LL)
#define CTL_RX_BUFFER 512

void tun_client_opts_init(struct tun_client_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->backoff_initial_ms = 1000;
    o->backoff_max_ms = 60000;
    o->buffer_limit = 1048576;
    o->ping_interval = 20;
}

static void ctl_connect(struct ctun *t);

static void set_state(struct ctun *t, enum ctun_state s)
{
    t->state = s;
    t->since_us = time_now_us();
}

static void on_retry(struct ev_loop *ev, ev_timer *w, int revents)
{
    (void)ev;
    (void)revents;
    ctl_connect(w->data);
}

static void on_tick(struct ev_loop *ev, ev_timer *w, int revents)
{
    struct tun_client *cl = w->data;

    (void)ev;
    (void)revents;
    if (cl->tunnels.count > 0)
        lws_cancel_service(cl->ctx);
}

/* The control channel failed or closed: try again later. */
static void ctl_lost(struct ctun *t, const char *why)
{
    uint64_t ms;

    t->ctl = NULL;
    if (t->state == CT_UP && time_mono_us() - t->up_mono_us >= STABLE_US)
        t->failures = 0;
    set_state(t, CT_CONNECTING);
    ms = tun_backoff_ms(t->failures, t->cl->opts.backoff_initial_ms, t->cl->opts.backoff_max_ms);
    if (t->failures < 64)
        t->failures++;
    log_info("tunnel %s port=%d: %s; retrying in %llu ms", t->service, t->public_port, why,
             (unsigned long long)ms);
    ev_timer_stop(t->cl->ev, &t->retry);
    ev_timer_set(&t->retry, (double)ms / 1000.0, 0.0);
    ev_timer_start(t->cl->ev, &t->retry);
}

void cli_host_header(const struct tun_url *u, char *out, size_t cap)
{
    if ((u->tls && u->port == 443) || (!u->tls && u->port == 80))
        snprintf(out, cap, strchr(u->host, ':') ? "[%s]" : "%s", u->host);
    else
        snprintf(out, cap, strchr(u->host, ':') ? "[%s]:%d" : "%s:%d", u->host, u->port);
}

/* A WebSocket (path != NULL) or, for data channels, a raw connection to the
 * server of u, with TLS for wss. */
int cli_connect_ws(struct tun_client *cl, const struct tun_url *u, const char *path,
                   const char *local_protocol, void *opaque, struct lws **out)
{
    struct lws_client_connect_info i;
    char host[TUN_HOST_MAX + 10];

    memset(&i, 0, sizeof(i));
    cli_host_header(u, host, sizeof(host));
    i.context = cl->ctx;
    i.vhost = cl->vh;
    i.address = u->host;
    i.port = u->port;
    i.host = host;
    if (path != NULL) {
        i.path = path;
        i.protocol = TUN_SUBPROTOCOL;
    } else {
        i.method = "RAW";
    }
    i.local_protocol_name = local_protocol;
    i.opaque_user_data = opaque;
    if (u->tls) {
        i.ssl_connection = LCCSCF_USE_SSL;
        if (cl->opts.insecure) {
            log_warn("tunnel: TLS certificate of %s is NOT verified (insecure)", u->host);
            i.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                                LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
        }
    }
    if (strcmp(local_protocol, TUN_CLI_CTL_PROTOCOL) == 0 && cl->opts.ping_interval)
        i.retry_and_idle_policy = &cl->ping_policy;
    *out = lws_client_connect_via_info(&i);
    return *out == NULL ? -EIO : 0;
}

static void ctl_connect(struct ctun *t)
{
    char path[TUN_PATH_MAX + TUN_QUERY_MAX], proof[WAMP_WSTUN_AUTH_MAX] = "";

    if (t->secret != NULL && t->uuid[0])
        (void)wamp_wstun_auth(t->secret, strlen(t->secret), t->uuid, (unsigned)t->public_port,
                              time_now_us() / 1000000, proof);
    if (tun_url_control_path(&t->url, t->public_port, t->uuid, proof, path, sizeof(path)) < 0) {
        ctl_lost(t, "control path too long");
        return;
    }
    t->msg_len = 0;
    t->msg_bad = 0;
    /* A connection that fails at once may or may not have told the callback
     * (which then scheduled the retry already). */
    if (cli_connect_ws(t->cl, &t->url, path, TUN_CLI_CTL_PROTOCOL, t, &t->ctl) < 0 &&
        !ev_is_active(&t->retry))
        ctl_lost(t, "cannot start a connection");
}

/* A complete text message on the control channel: only NC: is defined. */
static void ctl_message(struct ctun *t)
{
    char id[UUID_STR_LEN];

    if (t->msg_bad || tun_nc_parse(t->msg, t->msg_len, id) < 0) {
        log_warn("tunnel %s port=%d: ignoring an unknown control message", t->service,
                 t->public_port);
        return;
    }
    cconn_start(t, id);
}

static void ctl_receive(struct ctun *t, struct lws *wsi, const char *in, size_t len)
{
    if (lws_frame_is_binary(wsi))
        return;
    if (lws_is_first_fragment(wsi)) {
        t->msg_len = 0;
        t->msg_bad = 0;
    }
    if (t->msg_len + len > sizeof(t->msg))
        t->msg_bad = 1;
    else {
        memcpy(t->msg + t->msg_len, in, len);
        t->msg_len += len;
    }
    if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0)
        ctl_message(t);
}

static void ctl_peer_close(struct ctun *t, const uint8_t *in, size_t len)
{
    int code = len >= 2 ? (in[0] << 8 | in[1]) : 1005;

    log_info("tunnel %s port=%d: server closed the control channel: %d %.*s", t->service,
             t->public_port, code, len > 2 ? (int)(len - 2) : 0, len > 2 ? (const char *)in + 2 : "");
}

static int tun_cli_ctl_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                          size_t len)
{
    struct ctun *t = lws_get_opaque_user_data(wsi);

    (void)user;
    if (t == NULL)
        return reason == LWS_CALLBACK_CLIENT_RECEIVE ? -1 : 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        set_state(t, CT_UP);
        t->up_mono_us = time_mono_us();
        log_info("tunnel %s up: port %d -> 127.0.0.1:%d", t->service, t->public_port,
                 t->local_port);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        ctl_receive(t, wsi, in, len);
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        ctl_peer_close(t, in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        lws_set_opaque_user_data(wsi, NULL);
        ctl_lost(t, in ? (const char *)in : "connection failed");
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        lws_set_opaque_user_data(wsi, NULL);
        ctl_lost(t, "control channel closed");
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols client_protocols[] = {
    { TUN_CLI_CTL_PROTOCOL, tun_cli_ctl_cb, 0, CTL_RX_BUFFER, 0, NULL, 0 },
    { TUN_CLI_DATA_PROTOCOL, tun_cli_data_cb, 0, 65536, 0, NULL, 0 },
    { TUN_CLI_WSDATA_PROTOCOL, tun_cli_wsdata_cb, 0, 65536, 0, NULL, 0 },
    { TUN_CLI_TCP_PROTOCOL, tun_cli_tcp_cb, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

int tun_client_new(struct loop *loop, const struct tun_client_opts *opts, struct tun_client **out,
                   struct error *err)
{
    struct lws_context_creation_info info;
    struct tun_client *cl;

    *out = NULL;
    if (opts->buffer_limit < 4096 || opts->backoff_initial_ms == 0 ||
        opts->backoff_max_ms < opts->backoff_initial_ms)
        return error_set(err, -EINVAL, "bad tunnel client options");
    cl = xcalloc(1, sizeof(*cl));
    cl->loop = loop;
    cl->ctx = loop_lws(loop);
    cl->ev = loop_ev(loop);
    cl->opts = *opts;
    cl->opts.ca_file = opts->ca_file ? xstrdup(opts->ca_file) : NULL;
    cl->ping_policy.secs_since_valid_ping = (uint16_t)opts->ping_interval;
    cl->ping_policy.secs_since_valid_hangup = (uint16_t)(2 * opts->ping_interval);
    memset(&info, 0, sizeof(info));
    info.vhost_name = "iottun-client";
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = client_protocols;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.client_ssl_ca_filepath = cl->opts.ca_file;
    info.user = cl;
    cl->vh = lws_create_vhost(cl->ctx, &info);
    if (cl->vh == NULL) {
        tun_client_free(cl);
        return error_set(err, -EIO, "cannot create the tunnel client vhost%s",
                         opts->ca_file ? " (check ca_file)" : "");
    }
    ev_timer_init(&cl->tick, on_tick, 1.0, 1.0);
    cl->tick.data = cl;
    ev_timer_start(cl->ev, &cl->tick);
    *out = cl;
    return 0;
}

static struct ctun *find_tunnel(struct tun_client *cl, int port)
{
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&cl->tunnels)) {
        struct ctun *t = lws_container_of(d, struct ctun, link);

        if (t->public_port == port)
            return t;
    } lws_end_foreach_dll(d);
    return NULL;
}

static int check_spec(const struct tun_tunnel_spec *s, struct tun_url *u, char uuid[UUID_STR_LEN],
                      struct error *err)
{
    if (s->public_port < 1 || s->public_port > 65535 || s->local_port < 1 || s->local_port > 65535)
        return error_set(err, -EINVAL, "ports must be 1..65535");
    if (tun_url_parse(s->url ? s->url : "", u, err) < 0)
        return error_prefix(err, "wstun URL");
    uuid[0] = '\0';
    if (s->uuid != NULL && uuid_normalize(s->uuid, uuid) < 0)
        return error_set(err, -EINVAL, "'%s' is not a UUID", s->uuid);
    if (s->secret != NULL && (s->secret[0] == '\0' || strlen(s->secret) > 128))
        return error_set(err, -EINVAL, "bad board secret");
    return 0;
}

int tun_client_open(struct tun_client *cl, const struct tun_tunnel_spec *spec, struct error *err)
{
    char uuid[UUID_STR_LEN];
    struct tun_url u;
    struct ctun *t;

    if (check_spec(spec, &u, uuid, err) < 0)
        return -EINVAL;
    tun_client_close(cl, spec->public_port);
    t = xcalloc(1, sizeof(*t));
    t->cl = cl;
    snprintf(t->service, sizeof(t->service), "%s", spec->service ? spec->service : "tunnel");
    t->url = u;
    memcpy(t->uuid, uuid, sizeof(uuid));
    t->secret = spec->secret ? xstrdup(spec->secret) : NULL;
    t->public_port = spec->public_port;
    t->local_port = spec->local_port;
    set_state(t, CT_CONNECTING);
    ev_timer_init(&t->retry, on_retry, 0.0, 0.0);
    t->retry.data = t;
    lws_dll2_add_tail(&t->link, &cl->tunnels);
    ctl_connect(t);
    return 0;
}

int tun_client_close(struct tun_client *cl, int public_port)
{
    struct ctun *t = find_tunnel(cl, public_port);

    if (t == NULL)
        return -ENOENT;
    lws_dll2_remove(&t->link);
    ev_timer_stop(cl->ev, &t->retry);
    if (t->ctl != NULL) {
        lws_set_opaque_user_data(t->ctl, NULL);
        cli_kill(cl, t->ctl);
    }
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&t->conns)) {
        cconn_abort(lws_container_of(d, struct cconn, link));
    } lws_end_foreach_dll_safe(d, d1);
    log_info("tunnel %s port=%d closed", t->service, t->public_port);
    free(t->secret);
    free(t);
    return 0;
}

size_t tun_client_status(struct tun_client *cl, struct tun_client_status **out)
{
    size_t n = 0;

    *out = NULL;
    if (cl->tunnels.count == 0)
        return 0;
    *out = xcalloc(cl->tunnels.count, sizeof(**out));
    lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&cl->tunnels)) {
        struct ctun *t = lws_container_of(d, struct ctun, link);
        struct tun_client_status *s = &(*out)[n++];

        snprintf(s->service, sizeof(s->service), "%s", t->service);
        s->public_port = t->public_port;
        s->local_port = t->local_port;
        s->state = t->state == CT_UP ? "up" : "connecting";
        s->connections = t->conns.count;
        s->bytes_in = t->bytes_in;
        s->bytes_out = t->bytes_out;
        s->since_us = t->since_us;
    } lws_end_foreach_dll(d);
    return n;
}

void tun_client_free(struct tun_client *cl)
{
    if (cl == NULL)
        return;
    cl->stopping = 1;
    if (ev_is_active(&cl->tick))
        ev_timer_stop(cl->ev, &cl->tick);
    while (cl->tunnels.count > 0)
        (void)tun_client_close(cl, lws_container_of(lws_dll2_get_head(&cl->tunnels), struct ctun,
                                                    link)->public_port);
    if (cl->vh != NULL)
        lws_vhost_destroy(cl->vh);
    free((char *)cl->opts.ca_file);
    free(cl);
}
