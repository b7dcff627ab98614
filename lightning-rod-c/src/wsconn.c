/* src/wsconn.c: see wsconn.h.
 *
 * An lrc_ws and its wsi point at each other (the wsi through its opaque user
 * data). Whichever goes first unhooks the other: lws reports the end of the
 * wsi once (CONNECTION_ERROR or CLIENT_CLOSED, after which the opaque
 * pointer is cleared so a late callback finds nothing), and the owner's
 * lrc_ws_close() only marks the struct detached and lets the wsi flush and
 * close, freeing the struct when lws reports the end. */
#include "src/wsconn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "tunnel/wire.h"

#define PROTOCOL_NAME "lrc-wamp"
#define RX_CHUNK 16384
#define CLOSE_FLUSH_S 2
#define WHY_MAX 160

struct lrc_ws_ctx {
    struct loop *loop;
    struct lws_vhost *vh;     /* ws:// */
    struct lws_vhost *vh_tls; /* wss://, made on first use */
    struct lrc_ws_opts opts;  /* ca_file owned */
    lws_retry_bo_t ping_policy;
};

struct frame {
    struct frame *next;
    size_t len;
    unsigned char data[]; /* LWS_PRE bytes of headroom, then the text */
};

struct lrc_ws {
    struct lrc_ws_ctx *ctx;
    struct lws *wsi;
    const struct lrc_ws_ops *ops;
    void *arg;
    int open, detached, in_connect, failed_in_connect;
    int close_status;
    struct frame *head, *tail;
    size_t queued;
    struct buf rx;
    ev_timer later; /* reports a failure that lws gave inside lrc_ws_connect() */
    char why[WHY_MAX];
};

static void queue_clear(struct lrc_ws *ws)
{
    while (ws->head != NULL) {
        struct frame *f = ws->head;

        ws->head = f->next;
        free(f);
    }
    ws->tail = NULL;
    ws->queued = 0;
}

static void ws_free(struct lrc_ws *ws)
{
    ev_timer_stop(loop_ev(ws->ctx->loop), &ws->later);
    queue_clear(ws);
    buf_free(&ws->rx);
    free(ws);
}

/* The wsi is gone: tell the owner (unless detached), then free. */
static void finish(struct lrc_ws *ws, const char *why)
{
    ws->wsi = NULL;
    if (ws->in_connect) {
        ws->failed_in_connect = 1;
        snprintf(ws->why, sizeof(ws->why), "%s", why);
        return;
    }
    if (!ws->detached && ws->ops->closed != NULL) {
        char text[WHY_MAX];

        snprintf(text, sizeof(text), "%s", ws->why[0] ? ws->why : why);
        ws->detached = 1;
        ws->ops->closed(ws->arg, text);
    }
    ws_free(ws);
}

static void on_later(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct lrc_ws *ws = t->data;

    (void)ev;
    (void)revents;
    finish(ws, ws->why[0] ? ws->why : "connection failed");
}

/* Ends the connection from inside a callback after a protocol violation. */
static int violation(struct lrc_ws *ws, int status, const char *why)
{
    snprintf(ws->why, sizeof(ws->why), "%s", why);
    log_warn("wamp connection: %s", why);
    lws_close_reason(ws->wsi, (enum lws_close_status)status, (unsigned char *)why, strlen(why));
    return -1;
}

static int on_receive(struct lrc_ws *ws, const char *in, size_t len)
{
    char *text;
    size_t n;

    if (ws->detached)
        return 0;
    if (lws_frame_is_binary(ws->wsi))
        return violation(ws, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "a binary frame was received");
    if (lws_is_first_fragment(ws->wsi))
        buf_reset(&ws->rx);
    if (buf_append(&ws->rx, in, len) < 0)
        return violation(ws, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "a message over the size limit");
    if (!lws_is_final_fragment(ws->wsi) || lws_remaining_packet_payload(ws->wsi) != 0)
        return 0;
    text = buf_take(&ws->rx, &n);
    ws->ops->frame(ws->arg, text, n);
    return 0;
}

static int on_writeable(struct lrc_ws *ws)
{
    struct frame *f = ws->head;

    if (f == NULL) {
        if (!ws->detached)
            return 0;
        lws_close_reason(ws->wsi, (enum lws_close_status)ws->close_status, NULL, 0);
        return -1;
    }
    ws->head = f->next;
    if (ws->head == NULL)
        ws->tail = NULL;
    ws->queued -= f->len;
    if (lws_write(ws->wsi, f->data + LWS_PRE, f->len, LWS_WRITE_TEXT) < (int)f->len) {
        free(f);
        snprintf(ws->why, sizeof(ws->why), "write failed");
        return -1;
    }
    free(f);
    if (ws->head != NULL || ws->detached)
        lws_callback_on_writable(ws->wsi);
    return 0;
}

static void peer_close(struct lrc_ws *ws, const unsigned char *in, size_t len)
{
    int code = len >= 2 ? (in[0] << 8 | in[1]) : 1005;
    int n = len > 2 ? (int)(len - 2) : 0;

    snprintf(ws->why, sizeof(ws->why), "closed by the server: %d%s%.*s", code, n ? " " : "",
             n > 100 ? 100 : n, n ? (const char *)in + 2 : "");
}

static int ws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    struct lrc_ws *ws = lws_get_opaque_user_data(wsi);

    (void)user;
    if (ws == NULL)
        return reason == LWS_CALLBACK_CLIENT_RECEIVE ? -1 : 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        ws->open = 1;
        if (!ws->detached && ws->ops->open != NULL)
            ws->ops->open(ws->arg);
        if (ws->head != NULL || ws->detached)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return on_receive(ws, in, len);
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return on_writeable(ws);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        peer_close(ws, in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        lws_set_opaque_user_data(wsi, NULL);
        finish(ws, in ? (const char *)in : "connection failed");
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        lws_set_opaque_user_data(wsi, NULL);
        finish(ws, "connection closed");
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {PROTOCOL_NAME, ws_cb, 0, RX_CHUNK, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* A client vhost. The TLS one sets up OpenSSL and a client SSL_CTX, which
 * costs the process about a megabyte: a board that dials ws:// never pays
 * it. */
static struct lws_vhost *make_vhost(struct lrc_ws_ctx *c, int tls)
{
    struct lws_context_creation_info info;

    memset(&info, 0, sizeof(info));
    info.vhost_name = tls ? "lrc-wamp-client-tls" : "lrc-wamp-client";
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    if (tls) {
        info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.client_ssl_ca_filepath = c->opts.ca_file;
    }
    return lws_create_vhost(loop_lws(c->loop), &info);
}

int lrc_ws_ctx_new(struct loop *loop, const struct lrc_ws_opts *o, struct lrc_ws_ctx **out,
                   struct error *err)
{
    struct lrc_ws_ctx *c = xcalloc(1, sizeof(*c));

    *out = NULL;
    c->loop = loop;
    c->opts = *o;
    c->opts.ca_file = o->ca_file ? xstrdup(o->ca_file) : NULL;
    c->ping_policy.secs_since_valid_ping = (uint16_t)o->ping_interval;
    c->ping_policy.secs_since_valid_hangup = (uint16_t)(2 * o->ping_interval);
    c->vh = make_vhost(c, 0);
    if (c->vh == NULL) {
        lrc_ws_ctx_free(c);
        return error_set(err, -EIO, "cannot create the WAMP client vhost");
    }
    *out = c;
    return 0;
}

void lrc_ws_ctx_free(struct lrc_ws_ctx *c)
{
    if (c == NULL)
        return;
    if (c->vh != NULL)
        lws_vhost_destroy(c->vh);
    if (c->vh_tls != NULL)
        lws_vhost_destroy(c->vh_tls);
    free((char *)c->opts.ca_file);
    free(c);
}

static void host_header(const struct tun_url *u, char *out, size_t cap)
{
    int dflt = (u->tls && u->port == 443) || (!u->tls && u->port == 80);
    int v6 = strchr(u->host, ':') != NULL;

    if (dflt)
        snprintf(out, cap, v6 ? "[%s]" : "%s", u->host);
    else
        snprintf(out, cap, v6 ? "[%s]:%d" : "%s:%d", u->host, u->port);
}

static void fill_info(struct lrc_ws *ws, const struct tun_url *u, char *host, size_t hcap,
                      struct lws_client_connect_info *i)
{
    memset(i, 0, sizeof(*i));
    host_header(u, host, hcap);
    i->context = loop_lws(ws->ctx->loop);
    i->vhost = u->tls ? ws->ctx->vh_tls : ws->ctx->vh;
    i->address = u->host;
    i->port = u->port;
    i->host = host;
    i->origin = host;
    i->path = u->path;
    i->protocol = LRC_WS_SUBPROTOCOL;
    i->local_protocol_name = PROTOCOL_NAME;
    i->opaque_user_data = ws;
    i->retry_and_idle_policy = &ws->ctx->ping_policy;
    if (u->tls) {
        i->ssl_connection = LCCSCF_USE_SSL;
        if (ws->ctx->opts.insecure) {
            log_warn("wamp: the TLS certificate of %s is NOT verified ([wamp] insecure)", u->host);
            i->ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                                 LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
        }
    }
}

int lrc_ws_connect(struct lrc_ws_ctx *c, const char *url, const struct lrc_ws_ops *ops, void *arg,
                   struct lrc_ws **out, struct error *err)
{
    struct lws_client_connect_info i;
    char host[TUN_HOST_MAX + 16];
    struct tun_url u;
    struct lrc_ws *ws;
    struct lws *wsi;

    *out = NULL;
    if (tun_url_parse(url, &u, err) < 0)
        return -EINVAL;
    if (u.tls && c->vh_tls == NULL && (c->vh_tls = make_vhost(c, 1)) == NULL)
        return error_set(err, -EIO, "cannot set up TLS for %s%s", url,
                         c->opts.ca_file ? " (check [wamp] ca_file)" : "");
    ws = xcalloc(1, sizeof(*ws));
    ws->ctx = c;
    ws->ops = ops;
    ws->arg = arg;
    ws->close_status = LWS_CLOSE_STATUS_NORMAL;
    buf_init(&ws->rx, c->opts.max_message ? c->opts.max_message : (16u << 20));
    ev_timer_init(&ws->later, on_later, 0., 0.);
    ws->later.data = ws;
    fill_info(ws, &u, host, sizeof(host), &i);
    ws->in_connect = 1;
    wsi = lws_client_connect_via_info(&i);
    ws->in_connect = 0;
    if (wsi == NULL) {
        ws_free(ws);
        return error_set(err, -EIO, "cannot start a connection to %s", url);
    }
    ws->wsi = ws->failed_in_connect ? NULL : wsi;
    if (ws->failed_in_connect)
        ev_timer_start(loop_ev(c->loop), &ws->later);
    loop_kick_lws(c->loop);
    *out = ws;
    return 0;
}

int lrc_ws_send(struct lrc_ws *ws, char *text, size_t len)
{
    struct frame *f;

    if (!ws->open || ws->detached || ws->wsi == NULL) {
        free(text);
        return -ENOTCONN;
    }
    if (ws->queued + len > LRC_WS_MAX_QUEUED) {
        free(text);
        return -ENOBUFS;
    }
    f = xmalloc(sizeof(*f) + LWS_PRE + len);
    f->next = NULL;
    f->len = len;
    memcpy(f->data + LWS_PRE, text, len);
    free(text);
    if (ws->tail != NULL)
        ws->tail->next = f;
    else
        ws->head = f;
    ws->tail = f;
    ws->queued += len;
    lws_callback_on_writable(ws->wsi);
    return 0;
}

void lrc_ws_close(struct lrc_ws *ws, int status)
{
    if (ws == NULL)
        return;
    ws->detached = 1;
    ws->close_status = status;
    if (ws->wsi == NULL) {
        /* Failed inside lrc_ws_connect(): the report is pending, drop it. */
        ws_free(ws);
        return;
    }
    if (!ws->open) {
        lws_set_timeout(ws->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    } else {
        lws_set_timeout(ws->wsi, PENDING_TIMEOUT_CLOSE_SEND, CLOSE_FLUSH_S);
        lws_callback_on_writable(ws->wsi);
    }
    loop_kick_lws(ws->ctx->loop);
}

int lrc_ws_local_addr(struct lrc_ws *ws, struct sockaddr_storage *out)
{
    socklen_t len = sizeof(*out);
    int fd;

    if (ws->wsi == NULL || !ws->open)
        return -ENOTCONN;
    fd = (int)lws_get_socket_fd(ws->wsi);
    if (fd < 0 || getsockname(fd, (struct sockaddr *)out, &len) < 0)
        return -ENOTCONN;
    return 0;
}

size_t lrc_ws_queued(const struct lrc_ws *ws)
{
    return ws->queued;
}
