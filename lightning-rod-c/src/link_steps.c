/* src/link_steps.c: what a connection does once its session is up
 * (board-protocol.md 5.1, 5.2, 5.3, 6.1, 10.2), and the outgoing calls.
 *
 * Registration: stack4things.register(code, session) on an anonymous
 * session; the settings document of the reply is made durable before the
 * link dials its main agent, because the code is single-use: a board that
 * lost the answer could never register again with it.
 * Connection: <agent>.stack4things.connection(uuid, session, info), then a
 * REGISTER per procedure; online when the last is REGISTERED.
 *
 * Outgoing calls carry their outcall as the session's cookie; the session
 * returns every cookie once (reply, error, or its own cancellation when the
 * session ends), unless the call was forgotten after a timeout or a cancel. */
#include "src/link_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "src/netinfo.h"
#include "src/rpc.h"
#include "src/wsconn.h"
#include "wamp/uri.h"

#define CALLEE_MAX (WAMP_URI_MAX + 1)

/* ------------------------------------------------------------ outcalls */

static void outcall_unlink(struct lrc_outcall *c)
{
    struct lrc_link *l = c->l;

    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        l->calls = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    ev_timer_stop(l->ev, &c->timer);
}

static void outcall_finish(struct lrc_outcall *c, int rc, const struct wamp_wampmsg *wm,
                           const char *why)
{
    lrc_outcall_fn fn = c->fn;
    void *arg = c->arg;

    outcall_unlink(c);
    free(c);
    fn(arg, rc, wm, why);
}

static void on_outcall_timeout(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct lrc_outcall *c = t->data;

    (void)ev;
    (void)revents;
    wamp_session_forget(c->conn->sess, c->request);
    outcall_finish(c, -ETIMEDOUT, NULL, "no reply in time");
}

void link_outcall_done(void *cookie, const struct wamp_event *ev)
{
    struct lrc_outcall *c = cookie;
    struct wamp_wampmsg wm = {0};
    struct error err;
    char why[ERROR_MSG_MAX];

    if (ev->type == WAMP_EV_ERROR) {
        if (ev->local) {
            outcall_finish(c, -ECONNRESET, NULL, "the session ended");
            return;
        }
        wamp_wampmsg_from_error(ev->msg, &wm);
        snprintf(why, sizeof(why), "%s",
                 cJSON_IsString(wm.message) ? wm.message->valuestring : ev->uri);
        wamp_wampmsg_clear(&wm);
        outcall_finish(c, -EREMOTEIO, NULL, why);
        return;
    }
    if (wamp_wampmsg_from_yield(ev->msg, &wm, &err) < 0) {
        outcall_finish(c, -EPROTO, NULL, err.msg);
        return;
    }
    outcall_finish(c, 0, &wm, NULL);
    wamp_wampmsg_clear(&wm);
}

static void callee_uri(struct lrc_link *l, const char *name, int prefixed, char out[CALLEE_MAX])
{
    const char *agent = lrc_link_agent(l);
    struct error err;

    if (prefixed && agent != NULL && agent[0] != '\0') {
        snprintf(out, CALLEE_MAX, "%s.stack4things.%s", agent, name);
        if (wamp_uri_check(out, &err) == 0)
            return;
    }
    snprintf(out, CALLEE_MAX, "stack4things.%s", name);
}

int link_call_raw(struct lrc_link *l, const char *name, int prefixed, const cJSON *kwargs,
                  int64_t timeout_ms, lrc_outcall_fn fn, void *arg, struct lrc_outcall **out)
{
    struct lrc_outcall *c;
    cJSON *args = cJSON_CreateArray();
    char uri[CALLEE_MAX];
    struct error err;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (l->conn == NULL || wamp_session_state(l->conn->sess) != WAMP_SESSION_ESTABLISHED) {
        cJSON_Delete(args);
        return -ENOTCONN;
    }
    callee_uri(l, name, prefixed, uri);
    c = xcalloc(1, sizeof(*c));
    rc = wamp_session_call(l->conn->sess, uri, WAMP_PART_TREE(args), WAMP_PART_TREE(kwargs), c,
                           &c->request, &err);
    cJSON_Delete(args);
    if (rc < 0) {
        log_warn("wamp: cannot call %s: %s", uri, err.msg);
        free(c);
        return rc;
    }
    c->l = l;
    c->conn = l->conn;
    c->fn = fn;
    c->arg = arg;
    c->next = l->calls;
    if (l->calls != NULL)
        l->calls->prev = c;
    l->calls = c;
    ev_timer_init(&c->timer, on_outcall_timeout, (double)timeout_ms / 1000.0, 0.);
    c->timer.data = c;
    ev_timer_start(l->ev, &c->timer);
    if (out != NULL)
        *out = c;
    return 0;
}

int lrc_link_call(struct lrc_link *l, const char *name, int prefixed, const cJSON *kwargs,
                  int64_t timeout_ms, lrc_outcall_fn fn, void *arg, struct lrc_outcall **out)
{
    if (out != NULL)
        *out = NULL;
    if (l->state != LRC_STATE_ONLINE)
        return -ENOTCONN;
    return link_call_raw(l, name, prefixed, kwargs, timeout_ms, fn, arg, out);
}

void lrc_outcall_cancel(struct lrc_outcall *c)
{
    if (c == NULL)
        return;
    wamp_session_forget(c->conn->sess, c->request);
    outcall_unlink(c);
    free(c);
}

void link_outcalls_cancel_all(struct lrc_link *l)
{
    while (l->calls != NULL)
        lrc_outcall_cancel(l->calls);
}

/* -------------------------------------------------------- registration */

static void on_settings_saved(void *arg, int rc, const struct error *err)
{
    struct lrc_link *l = arg;

    if (rc < 0)
        log_error("registration: settings.json could not be written (%s); continuing with the "
                  "settings in memory",
                  err->msg);
    if (l->stopping || l->state != LRC_STATE_REGISTERING)
        return;
    link_restart(l);
}

static void on_register_reply(void *arg, int rc, const struct wamp_wampmsg *wm, const char *why)
{
    struct lrc_link *l = arg;
    struct lrc_settings s;
    struct error err;
    char *text;

    l->step_call = NULL;
    if (rc < 0) {
        link_fail(l, why);
        return;
    }
    if (wm->result != WAMP_RESULT_SUCCESS) {
        text = json_print(wm->message);
        log_error("registration refused by the cloud: %s", text);
        free(text);
        l->refused = 1;
        link_fail(l, "registration refused");
        return;
    }
    if (lrc_settings_from_registration(wm->message, &l->a->settings, &s, &err) < 0) {
        log_error("registration: unusable settings document: %s", err.msg);
        l->refused = 1;
        link_fail(l, "registration answer unusable");
        return;
    }
    log_info("registered: board=%s name=%s agent=%s auth=%s", s.uuid, s.name ? s.name : "-",
             s.agent ? s.agent : "-", s.secret ? "wampcra" : "anonymous");
    lrc_agent_set_settings(l->a, &s, on_settings_saved, l);
}

static void step_register(struct lrc_link *l, uint64_t session)
{
    cJSON *kw = cJSON_CreateObject();
    int rc;

    cJSON_AddStringToObject(kw, "code", l->a->settings.code);
    json_add_int(kw, "session", (int64_t)session);
    rc = link_call_raw(l, "register", 0, kw, l->a->conf->call_timeout * 1000, on_register_reply, l,
                       &l->step_call);
    cJSON_Delete(kw);
    if (rc < 0)
        link_fail(l, "cannot call stack4things.register");
}

/* ---------------------------------------------------------- connection */

static void register_procedures(struct lrc_link *l)
{
    const struct lrc_rpc_method *m;
    char uri[WAMP_URI_MAX + 1];
    struct error err;
    size_t i = 0;

    l->nregs_pending = 0;
    while ((m = lrc_rpc_next(&i)) != NULL) {
        if (wamp_board_proc_build(l->session_id, l->uuid, m->name, uri, &err) < 0 ||
            wamp_session_register(l->conn->sess, uri, (void *)m, NULL, &err) < 0) {
            link_fail(l, err.msg);
            return;
        }
        l->nregs_pending++;
    }
    if (l->nregs_pending == 0)
        link_step_registered(l);
}

/* The wagent's [ext] answer to an lrc- agent (5.2): its name and wstun_url. */
static void take_connection_info(struct lrc_link *l, const cJSON *msg)
{
    const cJSON *agent = cJSON_GetObjectItemCaseSensitive(msg, "agent");
    const cJSON *wstun = cJSON_GetObjectItemCaseSensitive(msg, "wstun_url");

    free(l->agent_name);
    l->agent_name =
        cJSON_IsString(agent) && agent->valuestring[0] ? xstrdup(agent->valuestring) : NULL;
    free(l->wstun_url);
    l->wstun_url =
        cJSON_IsString(wstun) && wstun->valuestring[0] ? xstrdup(wstun->valuestring) : NULL;
    if (l->wstun_url == NULL)
        log_warn("wamp: the agent gave no wstun_url: services cannot be exposed");
}

static void on_connection_reply(void *arg, int rc, const struct wamp_wampmsg *wm, const char *why)
{
    struct lrc_link *l = arg;
    char *text;

    l->step_call = NULL;
    if (rc < 0) {
        link_fail(l, why);
        return;
    }
    if (wm->result != WAMP_RESULT_SUCCESS) {
        text = json_print(wm->message);
        log_error("connection refused by the cloud: %s", text);
        free(text);
        link_fail(l, "connection refused");
        return;
    }
    take_connection_info(l, wm->message);
    register_procedures(l);
}

static void step_connection(struct lrc_link *l, uint64_t session)
{
    cJSON *kw = cJSON_CreateObject(), *info;
    struct sockaddr_storage local;
    int rc;

    free(l->uuid);
    l->uuid = xstrdup(l->a->settings.uuid);
    cJSON_AddStringToObject(kw, "uuid", l->uuid);
    json_add_int(kw, "session", (int64_t)session);
    info = cJSON_AddObjectToObject(kw, "info");
    cJSON_AddStringToObject(info, "lr_version", LRC_LR_VERSION);
    if (l->conn->ws != NULL && lrc_ws_local_addr(l->conn->ws, &local) == 0)
        cJSON_AddItemToObject(info, "connectivity", lrc_netinfo_connectivity(&local));
    rc = link_call_raw(l, "connection", 1, kw, l->a->conf->call_timeout * 1000, on_connection_reply,
                       l, &l->step_call);
    cJSON_Delete(kw);
    if (rc < 0)
        link_fail(l, "cannot call stack4things.connection");
}

void link_step_welcome(struct lrc_link *l, uint64_t session)
{
    l->session_id = session;
    if (l->state == LRC_STATE_REGISTERING)
        step_register(l, session);
    else
        step_connection(l, session);
}

void link_step_challenge(struct lrc_link *l, const struct wamp_event *ev)
{
    const char *secret = l->a->settings.secret;
    struct error err;

    if (secret == NULL) {
        link_fail(l, "a CHALLENGE, but the settings hold no secret");
        return;
    }
    if (wamp_session_authenticate(l->conn->sess, ev->text, ev->text_len, secret, strlen(secret),
                                  &err) < 0)
        link_fail(l, err.msg);
}

void link_step_registered(struct lrc_link *l)
{
    if (l->nregs_pending > 0)
        l->nregs_pending--;
    if (l->nregs_pending > 0 || l->state == LRC_STATE_ONLINE)
        return;
    ev_timer_stop(l->ev, &l->handshake);
    l->state = LRC_STATE_ONLINE;
    l->failures = 0;
    l->refused = 0;
    log_info("online: board=%s session=%llu agent=%s url=%s", l->uuid,
             (unsigned long long)l->session_id, lrc_link_agent(l) ? lrc_link_agent(l) : "-",
             l->url);
    ev_timer_set(&l->alive, (double)l->a->conf->alive_interval, (double)l->a->conf->alive_interval);
    ev_timer_start(l->ev, &l->alive);
    link_notify(l, 1);
}

void link_step_error(struct lrc_link *l, const struct wamp_event *ev)
{
    char why[ERROR_MSG_MAX];

    snprintf(why, sizeof(why), "%s refused: %s", wamp_type_name(ev->req_type),
             ev->uri ? ev->uri : "?");
    link_fail(l, why);
}

/* ----------------------------------------------------------- wamp_alive */

static void on_alive_reply(void *arg, int rc, const struct wamp_wampmsg *wm, const char *why)
{
    struct lrc_link *l = arg;

    (void)wm;
    l->alive_call = NULL;
    if (rc == -ETIMEDOUT)
        link_fail(l, "wamp_alive was not answered in time");
    else if (rc < 0 && rc != -ECONNRESET)
        log_warn("wamp_alive: %s", why);
}

void link_on_alive(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct lrc_link *l = t->data;
    cJSON *kw;

    (void)ev;
    (void)revents;
    if (l->alive_call != NULL || l->state != LRC_STATE_ONLINE)
        return;
    kw = cJSON_CreateObject();
    cJSON_AddStringToObject(kw, "board_uuid", l->uuid);
    json_add_str_or_null(kw, "board_name", l->a->settings.name);
    if (lrc_link_call(l, "wamp_alive", 1, kw, l->a->conf->call_timeout * 1000, on_alive_reply, l,
                      &l->alive_call) < 0)
        log_warn("wamp_alive: cannot call");
    cJSON_Delete(kw);
}
