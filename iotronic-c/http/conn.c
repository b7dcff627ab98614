/* http/conn.c: one HTTP/1.1 connection on a libwebsockets raw socket.
 *
 * The state machine (struct conn, internal.h) reads a head, then the body,
 * hands the request to a worker, writes the response, and starts over with
 * whatever the client pipelined meanwhile. Input is consumed from one buffer
 * of max_header + RX_SLACK bytes; reading pauses (lws_rx_flow_control) when
 * pipelined requests pile up behind a running one or a spool is full, so a
 * client can never make us buffer more than that.
 *
 * Timeouts are libev timers (lws's own timeouts are per second and walk a
 * list on every change): the head must arrive within header_timeout from its
 * first byte (slowloris), body pieces within body_timeout of each other, the
 * client must keep reading within send_timeout, and an idle keep-alive
 * connection lasts keepalive_timeout. A connection that must close after an
 * error response shuts its write side and drains input for a moment
 * (lingering close), so that the client reads the response instead of a
 * reset. Everything here runs on the loop thread. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "http/internal.h"

#define RX_SLACK (64 * 1024)
#define RX_FIRST 4096

enum { T_NONE, T_KEEPALIVE, T_HEADER, T_BODY, T_SEND, T_LINGER, T_KILL };

static void process(struct conn *c);

static void timer_cb(struct ev_loop *ev, ev_timer *w, int revents)
{
    static const char *const what[] = {"", "keep-alive", "header", "body", "send", "linger", ""};
    struct conn *c = w->data;

    (void)ev;
    (void)revents;
    if (c->timer_kind != T_KILL && c->timer_kind != T_LINGER && c->timer_kind != T_KEEPALIVE)
        log_info("http: closing a connection: %s timeout", what[c->timer_kind]);
    c->state = C_DEAD;
    /* No lws callback of this wsi is running: closing synchronously is
     * allowed, and RAW_CLOSE (conn_closed) runs before this returns. */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
}

static void arm(struct conn *c, int kind, int ms)
{
    struct ev_loop *ev = loop_ev(c->srv->loop);

    if (c->timer_kind == T_KILL)
        return;
    ev_timer_stop(ev, &c->timer);
    c->timer_kind = kind;
    if (kind == T_NONE)
        return;
    ev_timer_set(&c->timer, ms / 1000.0, 0);
    ev_timer_start(ev, &c->timer);
}

void http_conn_kill(struct conn *c)
{
    if (c->timer_kind == T_KILL)
        return;
    c->state = C_DEAD;
    if (c->in_callback) {
        c->kill = 1;
        return;
    }
    arm(c, T_KILL, 0);
    c->timer_kind = T_KILL;
}

static void set_rx(struct conn *c, int on)
{
    if (c->rx_paused == !on || c->state == C_DEAD)
        return;
    lws_rx_flow_control(c->wsi, on);
    c->rx_paused = !on;
}

static void consume(struct conn *c, size_t n)
{
    c->in_off += n;
    c->in_len -= n;
    if (c->in_len == 0)
        c->in_off = 0;
}

/* The input buffer starts small and grows up to max_header + RX_SLACK, so
 * that thousands of idle keep-alive connections cost little. */
static int append(struct conn *c, const char *p, size_t n)
{
    size_t limit = c->srv->opts.max_header + RX_SLACK, want;

    if (c->in_off + c->in_len + n > c->in_cap && c->in_off > 0) {
        memmove(c->in, c->in + c->in_off, c->in_len);
        c->in_off = 0;
    }
    if (c->in_len + n > c->in_cap) {
        if (c->in_len + n > limit)
            return -1;
        want = c->in_cap ? c->in_cap : RX_FIRST;
        while (want < c->in_len + n)
            want *= 2;
        c->in_cap = want < limit ? want : limit;
        c->in = xrealloc(c->in, c->in_cap);
    }
    memcpy(c->in + c->in_off + c->in_len, p, n);
    c->in_len += n;
    return 0;
}

static void count_rejected(struct http_server *srv, const char *reason)
{
    if (srv->m_rejected != NULL)
        metrics_inc(metrics_series(srv->m_rejected, (const char *const[]){srv->name, reason}));
}

void http_conn_send(struct conn *c)
{
    struct http_req *r = c->req;

    c->state = C_SEND;
    c->continue_pending = 0;
    if (r->rfd >= 0 && !r->head_only && r->status < 400)
        http_pump_start(r);
    arm(c, T_SEND, c->srv->opts.send_timeout_ms);
    lws_callback_on_writable(c->wsi);
}

/* Answers now, from the loop, and closes afterwards: used when the request
 * cannot be read any further (malformed, too large). */
void http_conn_error(struct conn *c, int status, const char *message)
{
    struct http_req *r = c->req;
    char reason[8];

    if (r == NULL)
        r = c->req = http_req_new(c->srv, c);
    if (r->spool != NULL)
        r->spool->cancelled = 1; /* a write job may still be out: ignore its result */
    r->close = 1;
    http_server_error(r, status, message);
    http_respond_finish(r);
    snprintf(reason, sizeof(reason), "%d", status);
    count_rejected(c->srv, reason);
    http_conn_send(c);
}

void http_conn_dispatch(struct conn *c)
{
    struct http_req *r = c->req;
    int rc;

    c->state = C_WAIT;
    arm(c, T_NONE, 0);
    if (r->route != NULL && (r->route->flags & HTTP_ROUTE_INLINE)) {
        http_exchange_inline(r);
        return;
    }
    rc = wq_submit(c->srv->wq, http_exchange_work, http_exchange_done, r);
    if (rc == 0) {
        r->inflight++;
        return;
    }
    /* The pool is full: nothing was done, say so at once (1.8: 503). */
    count_rejected(c->srv, "busy");
    http_server_error(r, 503, c->srv->svc.msgs.unavailable);
    http_respond_finish(r);
    http_conn_send(c);
}

/* ------------------------------------------------------------- the head */

static int prepare_route(struct conn *c, struct http_req *r)
{
    struct http_server *srv = c->srv;
    char *np = NULL;

    r->path = r->head.path;
    if (srv->svc.rewrite_path != NULL)
        np = srv->svc.rewrite_path(r->head.path, srv->svc.arg);
    if (np != NULL) {
        r->path = http_arena_strdup(&r->arena, np);
        free(np);
    }
    if (http_split_path(r->path, &r->arena, &r->segs, &r->nsegs) < 0 ||
        http_parse_query(r->head.query, &r->arena, &r->query, &r->nquery) < 0) {
        http_conn_error(c, 400, srv->svc.msgs.bad_request);
        return -1;
    }
    r->route = http_router_match(srv->router, r->head.method, r->segs, r->nsegs, r->params,
                                 &r->nparams, &r->allow);
    if (r->route != NULL)
        r->route_index = (size_t)(r->route - srv->svc.routes);
    return 0;
}

/* A CORS preflight is answered here, without authentication. Returns 1 if
 * it was one. */
static int preflight(struct conn *c, struct http_req *r)
{
    const struct http_cors *cors = c->srv->opts.cors;
    const char *origin, *acrm;

    if (r->head.method != HTTP_OPTIONS || !http_cors_enabled(cors))
        return 0;
    origin = http_req_header(r, "Origin");
    acrm = http_req_header(r, "Access-Control-Request-Method");
    if (origin == NULL || acrm == NULL)
        return 0;
    if (http_cors_preflight(cors, origin, acrm,
                            http_req_header(r, "Access-Control-Request-Headers"), &r->rheaders) < 0)
        log_error("http: CORS headers too large");
    http_resp_empty(r, 200);
    r->preflight = 1; /* no "actual request" CORS lines on top of these */
    r->close = r->head.chunked || r->head.content_length > 0 || !r->head.keep_alive;
    http_respond_finish(r);
    http_conn_send(c);
    return 1;
}

/* Sets up reading the body. Returns 1 to go on processing, 0 to wait. */
static int start_body(struct conn *c, struct http_req *r)
{
    struct http_server *srv = c->srv;
    const struct http_route *rt = r->route;

    r->body_limit = rt && rt->max_body ? rt->max_body : srv->opts.max_body;
    if (r->head.chunked) {
        r->body_mode = BODY_CHUNKED;
        chunked_init(&r->dec);
    } else if (r->head.has_length && r->head.content_length > 0) {
        r->body_mode = BODY_LENGTH;
        r->body_left = r->head.content_length;
    } else {
        http_conn_dispatch(c);
        return 1;
    }
    if (r->body_mode == BODY_LENGTH && r->head.content_length > r->body_limit) {
        http_conn_error(c, 413, rt && rt->too_large ? rt->too_large : srv->svc.msgs.too_large);
        return 0;
    }
    if (rt != NULL && (rt->flags & HTTP_ROUTE_SPOOL)) {
        r->spool = xcalloc(1, sizeof(*r->spool));
        r->spool->fd = -1;
    } else {
        r->body.limit = r->body_limit;
    }
    if (r->head.expect_continue) {
        c->continue_pending = 1;
        lws_callback_on_writable(c->wsi);
    }
    c->state = C_BODY;
    arm(c, T_BODY, srv->opts.body_timeout_ms);
    return 1;
}

static const char *status_message(struct http_server *srv, int status)
{
    return status == 431 ? srv->svc.msgs.headers_too_large : srv->svc.msgs.bad_request;
}

/* Returns 1 when the state changed and processing should go on. */
static int process_head(struct conn *c)
{
    struct http_server *srv = c->srv;
    struct http_req *r;
    const char *why;
    size_t n;
    char *head;
    int rc;

    while (c->in_len > 0 && c->scan == 0 && (c->in[c->in_off] == '\r' || c->in[c->in_off] == '\n'))
        consume(c, 1); /* RFC 9112 2.2: empty lines before a request */
    if (c->in_len == 0)
        return 0;
    if (!c->head_timed) {
        c->head_timed = 1;
        arm(c, T_HEADER, srv->opts.header_timeout_ms);
    }
    n = http_head_end(c->in + c->in_off, c->in_len, &c->scan);
    if (n == 0 || n > srv->opts.max_header) {
        if (n > srv->opts.max_header || c->in_len >= srv->opts.max_header)
            http_conn_error(c, 431, srv->svc.msgs.headers_too_large);
        return 0;
    }
    r = c->req = http_req_new(srv, c);
    r->t_start = time_mono_us();
    head = http_arena_strndup(&r->arena, c->in + c->in_off, n);
    consume(c, n);
    c->scan = 0;
    c->head_timed = 0;
    rc = http_parse_head(head, n, &r->head, &r->arena, &why);
    if (rc != 0) {
        log_info("http: refusing a request: %s", why);
        http_conn_error(c, rc, status_message(srv, rc));
        return 0;
    }
    r->parsed = 1;
    r->head_only = r->head.method == HTTP_HEAD;
    if (prepare_route(c, r) < 0 || preflight(c, r))
        return 0;
    return start_body(c, r);
}

static void process(struct conn *c)
{
    ssize_t n;

    for (;;) {
        switch (c->state) {
        case C_HEAD:
            if (!process_head(c))
                return;
            break;
        case C_BODY:
            if (c->in_len == 0) {
                set_rx(c, 1);
                return;
            }
            n = http_body_feed(c, c->in + c->in_off, c->in_len);
            if (n < 0)
                return;
            consume(c, (size_t)n);
            if (n == 0) {
                set_rx(c, 0); /* the spool is full; its writer resumes us */
                return;
            }
            break;
        case C_WAIT:
        case C_SEND:
        case C_CLOSING:
            if (c->in_len >= c->srv->opts.max_header)
                set_rx(c, 0);
            return;
        default:
            return;
        }
    }
}

void http_conn_unpause(struct conn *c)
{
    process(c);
    if (c->state == C_BODY && c->in_len == 0)
        set_rx(c, 1);
}

/* ------------------------------------------------------------ callbacks */

static void on_rx(struct conn *c, const char *p, size_t n)
{
    ssize_t used;

    if (c->state == C_LINGER)
        return; /* discarded */
    if (c->state == C_DEAD) {
        c->kill = 1;
        return;
    }
    if (c->state == C_BODY) {
        arm(c, T_BODY, c->srv->opts.body_timeout_ms);
        if (c->in_len == 0) {
            /* The common case: body bytes go straight to their sink. */
            used = http_body_feed(c, p, n);
            if (used < 0)
                return;
            p += used;
            n -= (size_t)used;
        }
    }
    if (n > 0 && append(c, p, n) < 0) {
        log_warn("http: input buffer overflow; closing");
        http_conn_kill(c);
        return;
    }
    process(c);
}

static void begin_linger(struct conn *c)
{
    /* Shutting the write side tells the client we are done, and reading
     * what it still sends keeps the kernel from answering it with a reset
     * that could destroy the response in flight. TLS needs its own close
     * alert, so there we only linger. */
    if (!c->srv->tls)
        shutdown(lws_get_socket_fd(c->wsi), SHUT_WR);
    c->state = C_LINGER;
    set_rx(c, 1);
    arm(c, T_LINGER, HTTP_LINGER_MS);
}

static void detach_req(struct conn *c)
{
    struct http_req *r = c->req;

    c->req = NULL;
    if (r == NULL)
        return;
    r->conn = NULL;
    http_req_release_orphan(r); /* or the last job's done callback frees it */
}

static void response_done(struct conn *c)
{
    int close = c->req->close || !c->req->parsed || !c->req->head.keep_alive;

    detach_req(c);
    if (close) {
        /* Wait for lws to flush what it buffered before shutting down. */
        c->state = C_CLOSING;
        lws_callback_on_writable(c->wsi);
        return;
    }
    c->state = C_HEAD;
    c->head_timed = 0;
    if (c->in_len == 0 && c->in_cap > RX_FIRST) {
        /* Idle again after a large head or body: give the memory back. */
        free(c->in);
        c->in = NULL;
        c->in_cap = c->in_off = 0;
    }
    arm(c, T_KEEPALIVE, c->srv->opts.keepalive_timeout_ms);
    set_rx(c, 1);
    process(c); /* pipelined requests */
}

static void write_continue(struct conn *c)
{
    static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
    unsigned char buf[LWS_PRE + sizeof(msg)];

    c->continue_pending = 0;
    memcpy(buf + LWS_PRE, msg, sizeof(msg) - 1);
    if (lws_write(c->wsi, buf + LWS_PRE, sizeof(msg) - 1, LWS_WRITE_RAW) < 0)
        http_conn_kill(c);
}

static void on_writeable(struct conn *c)
{
    struct http_req *r = c->req;
    size_t n;
    int k;

    if (c->state == C_BODY && c->continue_pending) {
        write_continue(c);
        return;
    }
    if (c->state == C_CLOSING) {
        begin_linger(c);
        return;
    }
    if (c->state != C_SEND)
        return;
    arm(c, T_SEND, c->srv->opts.send_timeout_ms);
    if (r->out_sent < r->out_len) {
        n = r->out_len - r->out_sent;
        if (n > HTTP_WRITE_CHUNK)
            n = HTTP_WRITE_CHUNK;
        if (lws_write(c->wsi, (unsigned char *)r->out + LWS_PRE + r->out_sent, n, LWS_WRITE_RAW) <
            0) {
            http_conn_kill(c);
            return;
        }
        r->out_sent += n;
        if (r->out_sent < r->out_len || r->pump != NULL) {
            lws_callback_on_writable(c->wsi);
            return;
        }
    }
    if (r->pump != NULL) {
        k = http_pump_write(r, c->wsi);
        if (k < 0)
            http_conn_kill(c);
        if (k <= 0)
            return;
    }
    response_done(c);
}

static void on_open(struct conn *c, struct lws *wsi)
{
    struct http_server *srv = lws_vhost_user(lws_get_vhost(wsi));

    memset(c, 0, sizeof(*c));
    c->srv = srv;
    c->wsi = wsi;
    c->state = C_HEAD;
    ev_timer_init(&c->timer, timer_cb, 0, 0);
    c->timer.data = c;
    arm(c, T_KEEPALIVE, srv->opts.header_timeout_ms);
    srv->nconns++;
    if (srv->m_conns != NULL)
        metrics_set(srv->m_conns, srv->nconns);
}

static void on_close(struct conn *c)
{
    struct http_server *srv = c->srv;

    if (srv == NULL)
        return; /* never adopted */
    ev_timer_stop(loop_ev(srv->loop), &c->timer);
    detach_req(c);
    free(c->in);
    c->in = NULL;
    c->state = C_DEAD;
    srv->nconns--;
    if (srv->m_conns != NULL)
        metrics_set(srv->m_conns, srv->nconns);
}

int http_conn_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct conn *c = user;
    struct http_server *srv;

    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        srv = lws_vhost_user(lws_get_vhost(wsi));
        if (srv != NULL && srv->nconns >= srv->opts.max_connections) {
            count_rejected(srv, "connections");
            return 1;
        }
        return 0;
    case LWS_CALLBACK_RAW_ADOPT:
        on_open(c, wsi);
        return 0;
    case LWS_CALLBACK_RAW_RX:
        c->in_callback = 1;
        on_rx(c, in, len);
        c->in_callback = 0;
        return c->kill ? -1 : 0;
    case LWS_CALLBACK_RAW_WRITEABLE:
        c->in_callback = 1;
        if (c->state == C_DEAD)
            c->kill = 1;
        else
            on_writeable(c);
        c->in_callback = 0;
        return c->kill ? -1 : 0;
    case LWS_CALLBACK_RAW_CLOSE:
        on_close(c);
        return 0;
    default:
        return 0;
    }
}
