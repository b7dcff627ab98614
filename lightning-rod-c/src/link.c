/* src/link.c: see link.h. The connection lifecycle: attempts, failures,
 * backoff and failover, the session's events; the steps of a connection
 * (register, connection, REGISTERs, wamp_alive) are in link_steps.c.
 *
 * Each attempt gets a struct conn, the owner of its WebSocket and WAMP
 * session. The link points at the current one; a conn that failed is
 * detached from the link at once (so nothing it still reports can change
 * the link's state) and torn down on a later loop iteration, because the
 * session must not be freed from inside its own callbacks. Tearing down
 * tells the session the transport is gone, which fails the calls still
 * pending on it (their owners see -ECONNRESET). */
#include "src/link_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "src/rpc.h"
#include "src/wsconn.h"
#include "tunnel/backoff.h"

static const char *const state_names[] = {"unconfigured", "registering", "connecting", "online"};

const char *lrc_state_name(enum lrc_state s)
{
    return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

int lrc_link_pick_registration(unsigned failures, unsigned failover_after, int have_reg)
{
    if (!have_reg || failover_after == 0 || failures < failover_after)
        return 0;
    return (failures - failover_after) % 2 == 0;
}

/* ----------------------------------------------------------- conn life */

static void on_reap(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct conn *c = t->data;
    struct lrc_link *l = c->l;

    (void)ev;
    (void)revents;
    for (struct conn **p = &l->dying; *p != NULL; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    /* Fails what is still pending on the session: its callers hear of it. */
    wamp_session_disconnected(c->sess);
    wamp_session_free(c->sess);
    free(c);
}

/* Detaches c from the link and schedules its teardown. */
static void conn_drop(struct lrc_link *l, struct conn *c, int status)
{
    if (l->conn == c)
        l->conn = NULL;
    if (c->ws != NULL) {
        lrc_ws_close(c->ws, status);
        c->ws = NULL;
    }
    c->next = l->dying;
    l->dying = c;
    ev_timer_start(l->ev, &c->reap);
}

static void stop_timers(struct lrc_link *l)
{
    ev_timer_stop(l->ev, &l->handshake);
    ev_timer_stop(l->ev, &l->alive);
    lrc_outcall_cancel(l->step_call);
    l->step_call = NULL;
    lrc_outcall_cancel(l->alive_call);
    l->alive_call = NULL;
}

void link_notify(struct lrc_link *l, int online)
{
    for (size_t i = 0; i < l->nwatchers; i++)
        l->watchers[i].fn(l->watchers[i].arg, online);
}

static enum lrc_state idle_state(const struct lrc_link *l)
{
    const struct lrc_settings *s = &l->a->settings;

    if (s->doc == NULL)
        return LRC_STATE_UNCONFIGURED;
    return s->registered ? LRC_STATE_CONNECTING : LRC_STATE_REGISTERING;
}

static void attempt(struct lrc_link *l);

static void schedule_retry(struct lrc_link *l, const char *why)
{
    const struct lrc_conf *cf = l->a->conf;
    uint64_t max_ms = (uint64_t)cf->backoff_max * 1000, ms;

    if (l->refused && max_ms < LRC_REGISTER_BACKOFF_MAX_S * 1000ull)
        max_ms = LRC_REGISTER_BACKOFF_MAX_S * 1000ull;
    ms = tun_backoff_ms(l->failures, (uint64_t)cf->backoff_initial * 1000, max_ms);
    if (l->failures < 64)
        l->failures++;
    log_warn("wamp: %s; %s again in %llu ms (failure %u)", why,
             l->state == LRC_STATE_REGISTERING ? "registering" : "connecting",
             (unsigned long long)ms, l->failures);
    ev_timer_stop(l->ev, &l->retry);
    ev_timer_set(&l->retry, (double)ms / 1000.0, 0.);
    ev_timer_start(l->ev, &l->retry);
}

void link_fail(struct lrc_link *l, const char *why)
{
    int was_online = l->state == LRC_STATE_ONLINE;

    if (l->stopping) {
        link_stopped(l);
        return;
    }

    stop_timers(l);
    if (l->conn != NULL)
        conn_drop(l, l->conn, LWS_CLOSE_STATUS_NORMAL);
    l->session_id = 0;
    l->state = idle_state(l);
    if (was_online) {
        log_warn("wamp: offline: %s", why);
        link_notify(l, 0);
    }
    if (l->state == LRC_STATE_UNCONFIGURED)
        return;
    schedule_retry(l, why);
}

void link_stopped(struct lrc_link *l)
{
    void (*done)(void *) = l->stop_done;
    int was_online = l->state == LRC_STATE_ONLINE;

    ev_timer_stop(l->ev, &l->stop_timer);
    stop_timers(l);
    if (l->conn != NULL)
        conn_drop(l, l->conn, LWS_CLOSE_STATUS_NORMAL);
    l->session_id = 0;
    l->state = idle_state(l);
    if (was_online)
        link_notify(l, 0);
    l->stop_done = NULL;
    if (done != NULL)
        done(l->stop_arg);
}

static void on_stop_timeout(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)revents;
    link_stopped(t->data);
}

void lrc_link_stop(struct lrc_link *l, void (*done)(void *arg), void *arg)
{
    struct error err;

    l->stopping = 1;
    l->stop_done = done;
    l->stop_arg = arg;
    ev_timer_stop(l->ev, &l->retry);
    if (l->conn == NULL || wamp_session_state(l->conn->sess) != WAMP_SESSION_ESTABLISHED ||
        wamp_session_goodbye(l->conn->sess, NULL, &err) < 0) {
        link_stopped(l);
        return;
    }
    /* The router's GOODBYE ends the wait (sess_event), or the timer does. */
    ev_timer_set(&l->stop_timer, 1.0, 0.);
    ev_timer_start(l->ev, &l->stop_timer);
}

void link_restart(struct lrc_link *l)
{
    struct error err;

    stop_timers(l);
    if (l->conn != NULL) {
        /* Best effort: the router ends unbound sessions by itself anyway. */
        if (wamp_session_state(l->conn->sess) == WAMP_SESSION_ESTABLISHED &&
            wamp_session_goodbye(l->conn->sess, NULL, &err) < 0)
            log_debug("wamp: GOODBYE: %s", err.msg);
        conn_drop(l, l->conn, LWS_CLOSE_STATUS_NORMAL);
    }
    l->session_id = 0;
    l->failures = 0;
    l->refused = 0;
    ev_timer_stop(l->ev, &l->retry);
    attempt(l);
}

/* ------------------------------------------------------ session events */

static void sess_send(void *owner, char *frame, size_t len)
{
    struct conn *c = owner;

    if (c->ws == NULL || lrc_ws_send(c->ws, frame, len) < 0) {
        if (c->ws != NULL && c == c->l->conn)
            link_fail(c->l, "the connection does not take more data");
    }
}

static void on_abort(struct lrc_link *l, const struct wamp_event *ev)
{
    char text[ERROR_MSG_MAX];

    snprintf(text, sizeof(text), "%s %s%s%.*s", ev->type == WAMP_EV_ABORT ? "ABORT" : "GOODBYE",
             ev->uri ? ev->uri : "", ev->text ? ": " : "", ev->text ? (int)ev->text_len : 0,
             ev->text ? ev->text : "");
    if (ev->uri != NULL && strcmp(ev->uri, "wamp.error.authentication_failed") == 0)
        log_error("wamp: the board secret was refused: re-register the board with a new code");
    link_fail(l, text);
}

static void sess_event(void *owner, const struct wamp_event *ev)
{
    struct conn *c = owner;
    struct lrc_link *l = c->l;
    int current = c == l->conn;

    switch (ev->type) {
    case WAMP_EV_RESULT:
        link_outcall_done(ev->cookie, ev);
        return;
    case WAMP_EV_ERROR:
        if (ev->req_type == WAMP_CALL)
            link_outcall_done(ev->cookie, ev);
        else if (current)
            link_step_error(l, ev);
        return;
    case WAMP_EV_INVOCATION:
        if (current)
            lrc_rpc_invoke(l->a, c->gen, ev->request, ev->cookie, ev->msg);
        return;
    default:
        break;
    }
    if (!current)
        return;
    switch (ev->type) {
    case WAMP_EV_WELCOME:
        link_step_welcome(l, ev->id);
        break;
    case WAMP_EV_CHALLENGE:
        link_step_challenge(l, ev);
        break;
    case WAMP_EV_REGISTERED:
        link_step_registered(l);
        break;
    case WAMP_EV_ABORT:
    case WAMP_EV_GOODBYE:
        if (l->stopping && ev->type == WAMP_EV_GOODBYE)
            link_stopped(l);
        else
            on_abort(l, ev);
        break;
    default:
        break;
    }
}

static const struct wamp_session_ops sess_ops = {sess_send, sess_event};

/* ---------------------------------------------------------- ws events */

static void ws_open(void *arg)
{
    struct conn *c = arg;
    struct lrc_link *l = c->l;
    const struct lrc_settings *s = &l->a->settings;
    const char *authid = l->state == LRC_STATE_CONNECTING && s->secret ? s->uuid : NULL;
    struct error err;

    if (c != l->conn)
        return;
    log_info("wamp: connected to %s; HELLO realm=%s auth=%s", l->url, l->realm,
             authid ? "wampcra" : "anonymous");
    if (wamp_session_hello(c->sess, l->realm, authid, &err) < 0)
        link_fail(l, err.msg);
}

static void ws_frame(void *arg, char *text, size_t len)
{
    struct conn *c = arg;

    /* A violation answers ABORT and reports it as an event (link_fail). */
    (void)wamp_session_feed_take(c->sess, text, len);
}

static void ws_closed(void *arg, const char *why)
{
    struct conn *c = arg;
    char text[256];

    c->ws = NULL;
    if (c != c->l->conn)
        return;
    snprintf(text, sizeof(text), "%s: %s", c->l->url ? c->l->url : "", why);
    link_fail(c->l, text);
}

static const struct lrc_ws_ops ws_ops = {ws_open, ws_frame, ws_closed};

/* ------------------------------------------------------------ attempts */

static void pick_target(struct lrc_link *l)
{
    const struct lrc_settings *s = &l->a->settings;
    int reg = l->state == LRC_STATE_REGISTERING ||
              lrc_link_pick_registration(l->failures, (unsigned)l->a->conf->failover_after,
                                         s->reg_url != NULL);

    free(l->url);
    l->url = xstrdup(reg ? s->reg_url : s->main_url);
    l->realm = reg ? s->reg_realm : s->main_realm;
    if (reg && l->state == LRC_STATE_CONNECTING)
        log_warn("wamp: failing over to the registration agent %s", l->url);
}

static void attempt(struct lrc_link *l)
{
    struct conn *c;
    struct error err;

    l->state = idle_state(l);
    if (l->stopping || l->state == LRC_STATE_UNCONFIGURED)
        return;
    pick_target(l);
    c = xcalloc(1, sizeof(*c));
    c->l = l;
    c->gen = ++l->gen;
    c->sess = wamp_session_new(&sess_ops, c, WAMP_MSG_MAX);
    ev_timer_init(&c->reap, on_reap, 0., 0.);
    c->reap.data = c;
    l->conn = c;
    l->nregs_pending = 0;
    ev_timer_stop(l->ev, &l->handshake);
    ev_timer_set(&l->handshake, (double)(2 * l->a->conf->call_timeout), 0.);
    ev_timer_start(l->ev, &l->handshake);
    if (lrc_ws_connect(l->a->ws, l->url, &ws_ops, c, &c->ws, &err) < 0)
        link_fail(l, err.msg);
}

static void on_retry(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)revents;
    attempt(t->data);
}

static void on_handshake_timeout(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct lrc_link *l = t->data;
    char why[128];

    (void)ev;
    (void)revents;
    snprintf(why, sizeof(why), "no session after %lld s",
             (long long)(2 * l->a->conf->call_timeout));
    link_fail(l, why);
}

struct lrc_link *lrc_link_new(struct lrc_agent *a)
{
    struct lrc_link *l = xcalloc(1, sizeof(*l));

    l->a = a;
    l->ev = loop_ev(a->loop);
    ev_timer_init(&l->retry, on_retry, 0., 0.);
    ev_timer_init(&l->handshake, on_handshake_timeout, 0., 0.);
    ev_timer_init(&l->alive, link_on_alive, 0., 0.);
    ev_timer_init(&l->stop_timer, on_stop_timeout, 0., 0.);
    l->retry.data = l->handshake.data = l->alive.data = l->stop_timer.data = l;
    return l;
}

void lrc_link_start(struct lrc_link *l)
{
    enum lrc_state want = idle_state(l);

    /* The agent calls this only when the link is to run (also after a
     * stop, for the factory reset). */
    l->stopping = 0;
    /* A session that no longer fits the settings (a new code, another
     * board, a reset) is closed; an unchanged one carries on. */
    if (l->conn != NULL || l->state == LRC_STATE_ONLINE) {
        if (l->state == LRC_STATE_ONLINE && want == LRC_STATE_CONNECTING && l->uuid != NULL &&
            lrc_agent_board(l->a) != NULL && strcmp(l->uuid, lrc_agent_board(l->a)) == 0)
            return;
        if (l->state == want && l->state != LRC_STATE_ONLINE)
            return;
        link_fail(l, "the settings changed");
    }
    ev_timer_stop(l->ev, &l->retry);
    l->failures = 0;
    l->refused = 0;
    l->state = want;
    if (want == LRC_STATE_UNCONFIGURED) {
        log_warn("not configured: run `lightning-rod-c configure <code> <ws url>` (or "
                 "`configure --from-file <json>`) to register this board");
        return;
    }
    attempt(l);
}

void lrc_link_free(struct lrc_link *l)
{
    if (l == NULL)
        return;
    l->stopping = 1;
    stop_timers(l);
    ev_timer_stop(l->ev, &l->retry);
    ev_timer_stop(l->ev, &l->stop_timer);
    if (l->conn != NULL)
        conn_drop(l, l->conn, LWS_CLOSE_STATUS_GOINGAWAY);
    link_outcalls_cancel_all(l);
    while (l->dying != NULL) {
        struct conn *c = l->dying;

        l->dying = c->next;
        ev_timer_stop(l->ev, &c->reap);
        wamp_session_free(c->sess); /* no callbacks: every outcall is gone */
        free(c);
    }
    free(l->url);
    free(l->uuid);
    free(l->agent_name);
    free(l->wstun_url);
    free(l->watchers);
    free(l);
}

enum lrc_state lrc_link_state(const struct lrc_link *l)
{
    return l->state;
}

uint64_t lrc_link_session(const struct lrc_link *l)
{
    return l->conn != NULL ? l->session_id : 0;
}

const char *lrc_link_url(const struct lrc_link *l)
{
    return l->url;
}

const char *lrc_link_agent(const struct lrc_link *l)
{
    return l->agent_name ? l->agent_name : l->a->settings.agent;
}

const char *lrc_link_wstun_url(const struct lrc_link *l)
{
    return l->wstun_url;
}

uint64_t lrc_link_generation(const struct lrc_link *l)
{
    return l->gen;
}

unsigned lrc_link_failures(const struct lrc_link *l)
{
    return l->failures;
}

void lrc_link_watch(struct lrc_link *l, lrc_online_fn fn, void *arg)
{
    l->watchers = xrealloc(l->watchers, (l->nwatchers + 1) * sizeof(*l->watchers));
    l->watchers[l->nwatchers++] = (struct link_watcher){fn, arg};
}

int lrc_link_yield(struct lrc_link *l, uint64_t gen, uint64_t request, const char *text, size_t len)
{
    struct error err;

    if (l->conn == NULL || l->conn->gen != gen ||
        wamp_session_state(l->conn->sess) != WAMP_SESSION_ESTABLISHED)
        return -ENOTCONN;
    if (wamp_session_yield_text(l->conn->sess, request, text, len, &err) < 0) {
        log_warn("wamp: cannot answer invocation %llu: %s", (unsigned long long)request, err.msg);
        return -EIO;
    }
    return 0;
}

cJSON *lrc_link_status(const struct lrc_link *l)
{
    cJSON *o = cJSON_CreateObject();
    char sess[24];

    cJSON_AddStringToObject(o, "state", lrc_state_name(l->state));
    json_add_str_or_null(o, "board", lrc_agent_board(l->a));
    json_add_str_or_null(o, "name", l->a->settings.name);
    json_add_str_or_null(o, "agent", lrc_link_agent(l));
    snprintf(sess, sizeof(sess), "%llu", (unsigned long long)lrc_link_session(l));
    json_add_str_or_null(o, "session", lrc_link_session(l) ? sess : NULL);
    json_add_str_or_null(o, "url", l->conn ? l->url : NULL);
    json_add_str_or_null(o, "wstun_url", l->wstun_url);
    cJSON_AddNumberToObject(o, "failures", l->failures);
    return o;
}
