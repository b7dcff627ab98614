/* wagent/invoke.c: see invoke.h.
 *
 * Life of a call: NEW (handed to the loop) -> WAITING (the board's session
 * has not registered the method yet, within registration_grace of its
 * binding) -> SENT (an INVOCATION is out, indexed in the session's
 * invocations table) -> answered once and freed. The call's one timer fires
 * at its timeout, or earlier at the end of the registration grace. */
#include "wagent/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "wamp/uri.h"

#define DEFAULT_TIMEOUT_MS 120000

int wag_call_parse(const cJSON *args, struct wag_call **out, struct error *err)
{
    const char *uuid = NULL, *method = NULL;
    const cJSON *a = NULL, *r = NULL;
    int64_t timeout = DEFAULT_TIMEOUT_MS;
    struct wag_call *c;
    char norm[UUID_STR_LEN];
    int rc;

    *out = NULL;
    if (json_get_str(args, "board_uuid", JSON_REQUIRED, 64, &uuid, err) < 0)
        return -EINVAL;
    if (uuid_normalize(uuid, norm) < 0)
        return error_set(err, -EINVAL, "board_uuid: not a UUID");
    if (json_get_str(args, "method", JSON_REQUIRED, WAMP_METHOD_MAX, &method, err) < 0)
        return -EINVAL;
    if (!wamp_method_valid(method, strlen(method)))
        return error_set(err, -EINVAL, "method: not a board method name");
    if ((rc = json_get_array(args, "args", JSON_NULLABLE, &a, err)) < -ENOENT)
        return -EINVAL;
    if ((rc = json_get_object(args, "req", JSON_NULLABLE, &r, err)) < -ENOENT)
        return -EINVAL;
    if (rc != 0)
        r = NULL;
    if ((rc = json_get_int(args, "timeout_ms", JSON_OPTIONAL, 1, WAG_CALL_TIMEOUT_MAX_MS, &timeout,
                           err)) < -ENOENT)
        return -EINVAL;
    c = xcalloc(1, sizeof(*c));
    memcpy(c->board_uuid, norm, sizeof(norm));
    snprintf(c->method, sizeof(c->method), "%s", method);
    c->args = a != NULL && cJSON_IsArray(a) ? cJSON_Duplicate(a, 1) : cJSON_CreateArray();
    c->reqobj = r != NULL ? cJSON_Duplicate(r, 1) : NULL;
    c->timeout_ms = timeout;
    *out = c;
    return 0;
}

void wag_call_free(struct wag_call *c)
{
    if (c == NULL)
        return;
    cJSON_Delete(c->args);
    cJSON_Delete(c->reqobj);
    free(c);
}

cJSON *wag_call_req(const struct wag_call *c, int no_req, int64_t now_us)
{
    char id[UUID_STR_LEN], at[TIME_ISO_LEN];
    cJSON *r;

    if (no_req)
        return NULL;
    if (c->reqobj != NULL)
        return cJSON_Duplicate(c->reqobj, 1);
    /* A call the cloud did not record as a request (the deviceless engine's):
     * a fresh request object, so that the board has a uuid to answer with. */
    uuid_v4(id);
    r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "uuid", id);
    cJSON_AddNullToObject(r, "main_request_uuid");
    cJSON_AddStringToObject(r, "destination_uuid", c->board_uuid);
    json_add_int(r, "pending_requests", 0);
    cJSON_AddStringToObject(r, "status", "PENDING");
    cJSON_AddNullToObject(r, "project");
    json_add_int(r, "type", 0);
    cJSON_AddStringToObject(r, "action", c->method);
    cJSON_AddStringToObject(r, "created_at", time_format(now_us, TIME_OFFSET_US, at));
    cJSON_AddNullToObject(r, "updated_at");
    return r;
}

/* ------------------------------------------------------------ answering */

static void finish(struct wag_call *c, const char *outcome, struct wamp_wampmsg *wm)
{
    struct wag *w = c->w;
    cJSON *reply = cJSON_CreateObject(), *o;

    cJSON_AddStringToObject(reply, "outcome", outcome);
    if (wm != NULL) {
        o = cJSON_AddObjectToObject(reply, "wampmessage");
        cJSON_AddItemToObject(o, "message", wm->message ? wm->message : cJSON_CreateNull());
        wm->message = NULL;
        cJSON_AddStringToObject(o, "result", wamp_result_str(wm->result));
        if (wm->req_id != NULL)
            cJSON_AddStringToObject(o, "req_id", wm->req_id);
    }
    mq_reply(c->req, reply);
    c->req = NULL;
    if (w->m.calls != NULL)
        metrics_inc(metrics_series(w->m.calls, (const char *const[]){c->method, outcome}));
    if (w->m.call_latency != NULL)
        metrics_observe(w->m.call_latency, wag_now(w) - c->started);
    ev_timer_stop(w->ev, &c->timer);
    if (c->state == WAG_CALL_WAITING && c->board != NULL)
        lws_dll2_remove(&c->wait_link);
    if (c->board != NULL) {
        c->board->pending--;
        wag_board_release(c->board);
    }
    w->ncalls--;
    wag_call_free(c);
}

static void reply_error(struct wag_call *c, const char *text)
{
    struct wamp_wampmsg wm = {WAMP_RESULT_ERROR, cJSON_CreateString(text), NULL};

    finish(c, "replied", &wm);
    wamp_wampmsg_clear(&wm);
}

static void not_available(struct wag_call *c)
{
    char text[WAMP_METHOD_MAX + 64];

    snprintf(text, sizeof(text), "Method %s is not available on this board.", c->method);
    reply_error(c, text);
}

void wag_invoke_replied(struct wag_session *s, struct wag_call *c, struct wamp_wampmsg *wm)
{
    (void)s;
    finish(c, "replied", wm);
}

/* ------------------------------------------------------------ sending */

static void send_call(struct wag_call *c, struct wag_session *s, const struct wag_reg *reg)
{
    struct wamp_msg m = {.type = WAMP_INVOCATION};
    cJSON *args = cJSON_CreateArray(), *req, *item;
    struct wag_inv *inv;
    uint64_t id = ++s->next_invocation;

    req = wag_call_req(c, c->board->no_req, time_now_us());
    if (req != NULL)
        cJSON_AddItemToArray(args, req);
    while ((item = cJSON_DetachItemFromArray(c->args, 0)) != NULL)
        cJSON_AddItemToArray(args, item);
    m.request = id;
    m.registration = reg->id;
    m.args = WAMP_PART_TREE(args);
    if (wag_session_send(s, &m) < 0) {
        cJSON_Delete(args);
        reply_error(c, "The call cannot be sent to the board (too large or not valid JSON).");
        return;
    }
    cJSON_Delete(args);
    if (c->state == WAG_CALL_WAITING)
        lws_dll2_remove(&c->wait_link);
    c->state = WAG_CALL_SENT;
    c->session = s->id;
    c->invocation = id;
    inv = wamp_idtab_insert(&s->invocations, sizeof(*inv), id);
    inv->call = c;
}

static void on_timer(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct wag_call *c = t->data;
    struct wag_session *s;
    struct wag_inv *inv;

    (void)revents;
    if (c->state == WAG_CALL_WAITING && ev_now(ev) < c->started + (double)c->timeout_ms / 1000.0) {
        not_available(c);
        return;
    }
    if (c->state == WAG_CALL_SENT && (s = wag_session_get(c->w, c->session)) != NULL &&
        (inv = wamp_idtab_find(&s->invocations, sizeof(*inv), c->invocation)) != NULL)
        wamp_idtab_remove(&s->invocations, sizeof(*inv), inv); /* a late YIELD is dropped */
    finish(c, "timeout", NULL);
}

static void arm(struct wag_call *c, ev_tstamp at)
{
    ev_tstamp delay = at - wag_now(c->w);

    ev_timer_stop(c->w->ev, &c->timer);
    ev_timer_set(&c->timer, delay > 0 ? delay : 0.0001, 0.);
    ev_timer_start(c->w->ev, &c->timer);
}

static void call_arrived(struct wag_post *p)
{
    struct wag_call *c = (struct wag_call *)p;
    struct wag *w = c->w;
    struct wag_board *b = wag_board_get(w, c->board_uuid, 0);
    ev_tstamp deadline;
    const struct wag_reg *reg;

    c->started = wag_now(w);
    w->ncalls++;
    ev_timer_init(&c->timer, on_timer, 0, 0);
    c->timer.data = c;
    if (b == NULL || b->sess == NULL || w->stopping) {
        finish(c, "not_connected", NULL);
        return;
    }
    if (b->pending >= (unsigned)w->cfg->max_pending_calls_per_board) {
        finish(c, "busy", NULL);
        return;
    }
    c->board = b;
    b->pending++;
    deadline = c->started + (double)c->timeout_ms / 1000.0;
    reg = wag_dealer_find(b->sess, c->method);
    if (reg != NULL) {
        arm(c, deadline);
        send_call(c, b->sess, reg);
        return;
    }
    /* Just bound: the board may still be registering its procedures (6.4). */
    c->grace_deadline = b->sess->bound_at + (ev_tstamp)w->cfg->registration_grace;
    if (c->grace_deadline <= c->started) {
        not_available(c);
        return;
    }
    c->state = WAG_CALL_WAITING;
    lws_dll2_add_tail(&c->wait_link, &b->waiting);
    arm(c, c->grace_deadline < deadline ? c->grace_deadline : deadline);
}

void wag_invoke_handler(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct wag *w = ctx;
    struct wag_call *c;
    struct error err;

    error_clear(&err);
    if (wag_call_parse(args, &c, &err) < 0) {
        mq_reply_error(req, EINVAL, 400, err.msg, NULL);
        return;
    }
    c->w = w;
    c->req = req;
    if (wag_inbox_post(&w->inbox, &c->post, call_arrived) < 0) {
        cJSON *r = cJSON_CreateObject();

        cJSON_AddStringToObject(r, "outcome", "not_connected");
        mq_reply(req, r);
        wag_call_free(c);
    }
}

/* ------------------------------------------------------------ events */

void wag_invoke_registered(struct wag_board *b, const char *method)
{
    const struct wag_reg *reg;

    if (b == NULL || b->sess == NULL || (reg = wag_dealer_find(b->sess, method)) == NULL)
        return;
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&b->waiting))
    {
        struct wag_call *c = lws_container_of(d, struct wag_call, wait_link);

        if (strcmp(c->method, method) == 0)
            send_call(c, b->sess, reg);
    }
    lws_end_foreach_dll_safe(d, d1);
}

void wag_invoke_session_ended(struct wag_session *s)
{
    uint32_t n = s->invocations.n;
    struct wag_call **calls;

    if (n == 0)
        return;
    calls = xcalloc(n, sizeof(*calls));
    for (uint32_t i = 0; i < n; i++)
        calls[i] =
            ((struct wag_inv *)wamp_idtab_at(&s->invocations, sizeof(struct wag_inv), i))->call;
    wamp_idtab_clear(&s->invocations);
    for (uint32_t i = 0; i < n; i++)
        finish(calls[i], "disconnected", NULL);
    free(calls);
}

void wag_invoke_board_gone(struct wag_board *b)
{
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&b->waiting))
    {
        finish(lws_container_of(d, struct wag_call, wait_link), "disconnected", NULL);
    }
    lws_end_foreach_dll_safe(d, d1);
}
