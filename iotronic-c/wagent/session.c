/* wagent/session.c: how sessions end, and their one timer.
 *
 * A session ends once (wag_session_end): it leaves the table of live
 * sessions, its pending board calls are answered "disconnected", its
 * registrations and subscriptions go, and a bound board is unbound (written
 * to the database in order, board.h) and its tunnels closed. What it still
 * has queued (ABORT, GOODBYE, close frame) is flushed, then lws closes the
 * socket and wag_session_free() releases the memory.
 *
 * The timer covers every deadline of a session (board-protocol.md 2, 4.3,
 * 4.4): the upgrade request, HELLO, AUTHENTICATE, binding, the keepalive
 * pings and the silence limit, and the last flush. */
#include "wagent/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "wamp/json_strict.h"

static const char *const state_names[WAG_S_COUNT] = {
    "handshake", "hello", "authwait", "challenged", "unbound", "bound", "closing",
};

const char *wag_state_name(enum wag_state st)
{
    return st < WAG_S_COUNT ? state_names[st] : "?";
}

void wag_session_set_state(struct wag_session *s, enum wag_state st)
{
    s->w->count[s->state]--;
    s->w->count[st]++;
    s->state = (uint8_t)st;
}

struct wag_session *wag_session_get(struct wag *w, uint64_t id)
{
    return id == 0 ? NULL : wag_keytab_get(&w->sessions, wag_key_id(id));
}

static void kill_now(struct wag_session *s)
{
    if (s->in_callback) {
        s->kill = 1;
        return;
    }
    lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    loop_kick_lws(s->w->loop);
}

static void unbind_board(struct wag_session *s)
{
    struct wag *w = s->w;
    struct wag_board *b = s->board;

    s->board = NULL;
    if (b == NULL || b->sess != s)
        return; /* replaced by a newer session: nothing changes for the board */
    b->sess = NULL;
    w->bound--;
    wag_board_unbind(w, b, s->id, b->lr_version);
    wag_tunnel_board_gone(w, b->uuid);
    wag_invoke_board_gone(b);
    wag_board_release(b);
}

void wag_session_end(struct wag_session *s, const char *why)
{
    struct wag *w = s->w;

    if (s->ended)
        return;
    s->ended = 1;
    if (s->id != 0 && wag_keytab_get(&w->sessions, wag_key_id(s->id)) == s)
        wag_keytab_del(&w->sessions, wag_key_id(s->id));
    if (why != NULL && s->state != WAG_S_HANDSHAKE)
        log_info("session %llu ended peer=%s board=%s state=%s reason=\"%s\"",
                 (unsigned long long)s->id, s->peer, s->board ? s->board->uuid : "-",
                 wag_state_name(s->state), why);
    wag_invoke_session_ended(s);
    wag_dealer_session_ended(s);
    wag_broker_session_ended(s);
    unbind_board(s);
    free(s->challenge);
    free(s->secret);
    s->challenge = s->secret = NULL;
    wag_session_set_state(s, WAG_S_CLOSING);
    s->deadline = wag_now(w) + WAG_CLOSE_TIMEOUT;
    if (!s->close_after_flush)
        kill_now(s);
    else
        wag_session_rearm(s);
}

static void close_frame(struct wag_session *s, int code, const char *reason)
{
    uint8_t payload[125];
    size_t rl = reason ? strnlen(reason, sizeof(payload) - 2) : 0;
    struct buf b;

    payload[0] = (uint8_t)(code >> 8);
    payload[1] = (uint8_t)code;
    if (rl > 0) {
        memcpy(payload + 2, reason, rl);
        wamp_utf8_sanitize((char *)payload + 2, rl); /* a cut may split a character */
    }
    wag_frame_begin(s->w, &b);
    if (buf_append(&b, payload, rl + 2) < 0)
        abort();
    wag_session_queue(s, &b, TUN_WS_CLOSE);
}

static void send_close_msg(struct wag_session *s, enum wamp_type type, const char *reason,
                           const char *message)
{
    struct error err;
    char *text = NULL;
    size_t n;

    if (wamp_msg_close_frame(type, reason, message, &text, &n, &err) < 0) {
        log_warn("session %llu: cannot write %s: %s", (unsigned long long)s->id,
                 wamp_type_name(type), err.msg);
        return;
    }
    wag_count_out(s->w, type);
    wag_session_send_text(s, text, n);
    free(text);
}

void wag_session_abort(struct wag_session *s, const char *reason, const char *message, int ws_code)
{
    if (!wag_session_live(s))
        return;
    if (s->state != WAG_S_HANDSHAKE) {
        send_close_msg(s, WAMP_ABORT, reason, message);
        close_frame(s, ws_code, ws_code == 1009 ? "message too large" : NULL);
    }
    s->close_after_flush = 1;
    wag_session_end(s, message ? message : reason);
}

void wag_session_violation_code(struct wag_session *s, int ws_code, const char *message)
{
    char msg[256];

    if (!wag_session_live(s))
        return;
    snprintf(msg, sizeof(msg), "%s", message);
    wamp_utf8_sanitize(msg, strlen(msg));
    log_warn("protocol violation session=%llu peer=%s board=%s: %s", (unsigned long long)s->id,
             s->peer, s->board ? s->board->uuid : "-", msg);
    if (s->w->m.violations != NULL)
        metrics_inc(s->w->m.violations);
    wag_session_abort(s, "wamp.error.protocol_violation", msg, ws_code);
}

void wag_session_violation(struct wag_session *s, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    wag_session_violation_code(s, 1002, msg);
}

void wag_session_goodbye(struct wag_session *s, const char *reason)
{
    if (!wag_session_live(s))
        return;
    send_close_msg(s, WAMP_GOODBYE, reason, NULL);
    close_frame(s, 1000, NULL);
    s->close_after_flush = 1;
    wag_session_end(s, reason);
}

void wag_session_close(struct wag_session *s, int ws_code, const char *why)
{
    if (!wag_session_live(s))
        return;
    if (s->state != WAG_S_HANDSHAKE) {
        close_frame(s, ws_code, why);
        s->close_after_flush = 1;
    }
    wag_session_end(s, why);
}

/* ------------------------------------------------------------ the timer */

static ev_tstamp next_wake(const struct wag_session *s)
{
    const struct wag_conf *c = s->w->cfg;
    ev_tstamp next = 1e30;

    switch ((enum wag_state)s->state) {
    case WAG_S_HANDSHAKE:
    case WAG_S_HELLO:
    case WAG_S_CHALLENGED:
    case WAG_S_CLOSING:
        next = s->deadline;
        break;
    case WAG_S_UNBOUND:
        if (!s->binding)
            next = s->welcomed + (ev_tstamp)c->bind_timeout;
        break;
    default:
        break;
    }
    if (s->state >= WAG_S_HELLO && s->state <= WAG_S_BOUND) {
        ev_tstamp ping = s->last_ping + (ev_tstamp)c->ping_interval;
        ev_tstamp idle = s->last_rx + (ev_tstamp)c->ping_timeout;

        next = ping < next ? ping : next;
        next = idle < next ? idle : next;
    }
    return next;
}

void wag_session_rearm(struct wag_session *s)
{
    struct ev_loop *ev = s->w->ev;
    ev_tstamp delay = next_wake(s) - wag_now(s->w);

    if (delay < 0.001)
        delay = 0.001;
    ev_timer_stop(ev, &s->timer);
    ev_timer_set(&s->timer, delay, 0.);
    ev_timer_start(ev, &s->timer);
}

static void ping(struct wag_session *s)
{
    struct buf b;

    wag_frame_begin(s->w, &b);
    wag_session_queue(s, &b, TUN_WS_PING);
    s->last_ping = wag_now(s->w);
}

/* Returns 1 when a deadline of the current state ended the session. */
static int deadlines(struct wag_session *s, ev_tstamp now)
{
    const struct wag_conf *c = s->w->cfg;

    switch ((enum wag_state)s->state) {
    case WAG_S_HANDSHAKE:
        if (now < s->deadline)
            return 0;
        wag_session_end(s, NULL);
        return 1;
    case WAG_S_HELLO:
        if (now < s->deadline)
            return 0;
        wag_session_close(s, 1008, "no HELLO in time");
        return 1;
    case WAG_S_CHALLENGED:
        if (now < s->deadline)
            return 0;
        wag_authfail_record(&s->w->authfail, s->addr, now);
        wag_session_abort(s, "wamp.error.authentication_failed", "Authentication failed.", 1000);
        return 1;
    case WAG_S_UNBOUND:
        if (s->binding || now < s->welcomed + (ev_tstamp)c->bind_timeout)
            return 0;
        wag_session_goodbye(s, "wamp.close.normal");
        return 1;
    case WAG_S_CLOSING:
        if (now >= s->deadline)
            kill_now(s);
        return 1;
    default:
        return 0;
    }
}

void wag_session_timer_cb(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct wag_session *s = t->data;
    const struct wag_conf *c = s->w->cfg;
    ev_tstamp now = ev_now(ev);

    (void)revents;
    if (deadlines(s, now)) {
        if (s->state == WAG_S_CLOSING && now < s->deadline)
            wag_session_rearm(s);
        return;
    }
    if (now - s->last_rx >= (ev_tstamp)c->ping_timeout) {
        wag_session_close(s, 1001, "no traffic for ping_timeout");
        return;
    }
    if (now - s->last_ping >= (ev_tstamp)c->ping_interval)
        ping(s);
    wag_session_rearm(s);
}

void wag_session_free(struct wag_session *s)
{
    struct wag *w = s->w;
    struct wag_frame *f;

    if (!s->ended) {
        s->in_callback = 1; /* lws is closing the socket: nothing to kill */
        wag_session_end(s, "connection lost");
    }
    ev_timer_stop(w->ev, &s->timer);
    while ((f = s->tx_head) != NULL) {
        s->tx_head = f->next;
        free(f);
    }
    buf_free(&s->rx);
    wamp_idtab_clear(&s->inflight);
    wamp_idtab_clear(&s->invocations);
    wamp_idtab_clear(&s->regs);
    wamp_idtab_clear(&s->subs);
    w->count[s->state]--;
    lws_dll2_remove(&s->link);
    free(s);
}
