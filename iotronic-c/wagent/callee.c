/* wagent/callee.c: what every cloud callee shares (board-protocol.md 5).
 *
 * Arguments come as keyword arguments (autobahn sends Args = [] and the
 * kwargs, as the original agent does) or positionally in the listed order:
 * wag_arg() reads either. Replies are a RESULT whose one argument is a JSON
 * text (the WampMessage, as the original) or a plain value; refusals are
 * WAMP ERRORs. A CALL answered later (after a database or AMQP round trip)
 * is remembered in the session's in-flight set until its answer, so that a
 * board reusing a pending request id is caught (3.3). */
#include "wagent/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/uuid.h"
#include "wamp/json_out.h"
#include "wamp/json_strict.h"

const cJSON *wag_arg(struct wamp_msg *m, const char *key, unsigned index)
{
    const cJSON *kw = wamp_msg_kwargs(m), *args, *v;

    if (kw != NULL && (v = cJSON_GetObjectItemCaseSensitive(kw, key)) != NULL)
        return v;
    args = wamp_msg_args(m);
    return args != NULL ? cJSON_GetArrayItem(args, (int)index) : NULL;
}

int wag_inflight_add(struct wag_session *s, uint64_t request)
{
    if (wamp_idtab_find(&s->inflight, sizeof(struct wag_inflight), request) != NULL)
        return -EEXIST;
    if (s->inflight.n >= WAG_INFLIGHT_MAX)
        return -EBUSY;
    wamp_idtab_insert(&s->inflight, sizeof(struct wag_inflight), request);
    return 0;
}

static void inflight_done(struct wag_session *s, uint64_t request)
{
    void *e = wamp_idtab_find(&s->inflight, sizeof(struct wag_inflight), request);

    if (e != NULL)
        wamp_idtab_remove(&s->inflight, sizeof(struct wag_inflight), e);
}

/* RESULT [50, request, {}, <args_json>]. */
static void send_result(struct wag_session *s, uint64_t request, const char *args, size_t n)
{
    struct wamp_msg m = {.type = WAMP_RESULT};

    inflight_done(s, request);
    if (!wag_session_live(s))
        return;
    m.request = request;
    m.args = WAMP_PART_JSON(args, n);
    (void)wag_session_send(s, &m);
}

void wag_reply_value(struct wag_session *s, uint64_t request, const cJSON *value)
{
    struct error err;
    struct buf b;

    buf_init(&b, (size_t)s->w->cfg->max_message_size);
    if (buf_append(&b, "[", 1) < 0 ||
        wamp_json_write(&b, value, WAMP_JSON_DEPTH_MAX - 2, 0, &err) < 0 ||
        buf_append(&b, "]", 1) < 0) {
        buf_free(&b);
        wag_reply_error(s, WAMP_CALL, request, "wamp.error.invalid_argument",
                        "The result cannot be sent.");
        return;
    }
    send_result(s, request, b.data, b.len);
    buf_free(&b);
}

void wag_reply_string(struct wag_session *s, uint64_t request, const char *text)
{
    struct error err;
    struct buf b;

    buf_init(&b, (size_t)s->w->cfg->max_message_size);
    if (buf_append(&b, "[", 1) < 0 || wamp_json_write_string(&b, text, strlen(text), &err) < 0 ||
        buf_append(&b, "]", 1) < 0) {
        buf_free(&b);
        log_warn("session %llu: a reply is too large to send", (unsigned long long)s->id);
        inflight_done(s, request);
        return;
    }
    send_result(s, request, b.data, b.len);
    buf_free(&b);
}

void wag_reply_wampmsg(struct wag_session *s, uint64_t request, enum wamp_result r,
                       const cJSON *message)
{
    struct error err;
    char *text = NULL;
    size_t n;

    if (wamp_wampmsg_text(r, message, NULL, 0, &text, &n, &err) < 0) {
        wag_reply_error(s, WAMP_CALL, request, "wamp.error.invalid_argument", err.msg);
        return;
    }
    wag_reply_string(s, request, text);
    free(text);
}

void wag_reply_wampmsg_str(struct wag_session *s, uint64_t request, enum wamp_result r,
                           const char *message)
{
    cJSON *m = cJSON_CreateString(message);

    wag_reply_wampmsg(s, request, r, m);
    cJSON_Delete(m);
}

void wag_reply_error(struct wag_session *s, enum wamp_type req_type, uint64_t request,
                     const char *uri, const char *message)
{
    struct wamp_msg m = {.type = WAMP_ERROR};
    struct error err;
    struct buf b;

    if (req_type == WAMP_CALL)
        inflight_done(s, request);
    if (!wag_session_live(s))
        return;
    m.req_type = req_type;
    m.request = request;
    m.error = uri;
    buf_init(&b, 4096);
    if (message != NULL) {
        if (buf_append(&b, "[", 1) < 0 ||
            wamp_json_write_string(&b, message, strnlen(message, 1024), &err) < 0 ||
            buf_append(&b, "]", 1) < 0)
            buf_reset(&b);
        else
            m.args = WAMP_PART_JSON(b.data, b.len);
    }
    (void)wag_session_send(s, &m);
    buf_free(&b);
}

int wag_check_board_arg(struct wag_session *s, struct wamp_msg *m, const char *key, unsigned index)
{
    const cJSON *v = wag_arg(m, key, index);
    char norm[UUID_STR_LEN], msg[96];

    if (!cJSON_IsString(v)) {
        snprintf(msg, sizeof(msg), "%s must be the board's UUID (a string).", key);
        wag_reply_error(s, WAMP_CALL, m->request, "wamp.error.invalid_argument", msg);
        return -EINVAL;
    }
    if (uuid_normalize(v->valuestring, norm) < 0 || s->board == NULL ||
        strcmp(norm, s->board->uuid) != 0) {
        wag_reply_error(s, WAMP_CALL, m->request, "wamp.error.not_authorized",
                        "A board can only act as itself.");
        return -EACCES;
    }
    return 0;
}

void wag_count_callee(struct wag *w, const char *callee, const char *outcome)
{
    if (w->m.callee_calls != NULL)
        metrics_inc(metrics_series(w->m.callee_calls, (const char *const[]){callee, outcome}));
}
