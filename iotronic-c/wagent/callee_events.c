/* wagent/callee_events.c: stack4things.function_result and stack4things.event
 * (board-protocol.md 5.6, deviceless-api.md 3.6 and 3.9).
 *
 * A board reports an execution's result or a trigger's firing; the wagent
 * publishes it, with board_uuid set to the board the session is bound to,
 * as a persistent message to the durable queue qinling_engine_events
 * (AMQP type = the callee's name) and answers {"ack": true} only once the
 * broker has confirmed it: the board keeps the entry in its outbox until
 * then, so nothing it was told is stored can be lost. No confirm within 5 s
 * (the AMQP library's confirm timeout) answers "Cloud unavailable". */
#include "wagent/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

#define ENGINE_EVENTS_QUEUE "qinling_engine_events"

struct publish_job {
    struct wag_post post;
    struct wag *w;
    uint64_t session;
    uint64_t request;
    const char *type;
    int rc;
};

static void published(struct wag_post *p)
{
    struct publish_job *j = (struct publish_job *)p;
    struct wag_session *s = wag_session_get(j->w, j->session);
    cJSON *ack;

    if (s != NULL && j->rc == 0) {
        ack = cJSON_CreateObject();
        cJSON_AddTrueToObject(ack, "ack");
        wag_count_callee(j->w, j->type, "ok");
        wag_reply_wampmsg(s, j->request, WAMP_RESULT_SUCCESS, ack);
        cJSON_Delete(ack);
    } else if (s != NULL) {
        wag_count_callee(j->w, j->type, "unavailable");
        wag_reply_wampmsg_str(s, j->request, WAMP_RESULT_ERROR, "Cloud unavailable, retry later.");
    }
    free(j);
}

/* AMQP thread. */
static void confirm_cb(int rc, const struct error *err, void *arg)
{
    struct publish_job *j = arg;

    j->rc = rc;
    if (rc < 0)
        log_warn("%s not confirmed by the broker: %s", j->type, err ? err->msg : "");
    if (wag_inbox_post(&j->w->inbox, &j->post, published) < 0)
        free(j);
}

/* The payload: the keyword arguments, or an object given positionally after
 * board_uuid. A new object, or NULL when there is none. */
static cJSON *payload(struct wamp_msg *m)
{
    const cJSON *kw = wamp_msg_kwargs(m), *args = wamp_msg_args(m), *obj;

    if (kw != NULL && cJSON_GetArraySize(kw) > (cJSON_HasObjectItem(kw, "board_uuid") ? 1 : 0))
        return cJSON_Duplicate(kw, 1);
    obj = args != NULL ? cJSON_GetArrayItem(args, 1) : NULL;
    return cJSON_IsObject(obj) ? cJSON_Duplicate(obj, 1) : NULL;
}

static void forward(struct wag_session *s, struct wamp_msg *m, const char *type,
                    const char *required)
{
    struct publish_job *j;
    char at[TIME_ISO_LEN], msg[96];
    struct error err;
    cJSON *body;

    if (wag_check_board_arg(s, m, "board_uuid", 0) < 0)
        return;
    body = payload(m);
    if (body == NULL || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(body, required))) {
        cJSON_Delete(body);
        snprintf(msg, sizeof(msg), "%s is required (a string).", required);
        wag_reply_error(s, WAMP_CALL, m->request, "wamp.error.invalid_argument", msg);
        return;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(body, "board_uuid");
    cJSON_AddStringToObject(body, "board_uuid", s->board->uuid);
    /* A function result carries the board's own received_at (when it
     * accepted the execution): that one is kept. */
    if (!cJSON_HasObjectItem(body, "received_at"))
        cJSON_AddStringToObject(body, "received_at", time_format(time_now_us(), TIME_Z_US, at));
    j = xcalloc(1, sizeof(*j));
    j->w = s->w;
    j->session = s->id;
    j->request = m->request;
    j->type = type;
    if (wag_inflight_add(s, m->request) < 0 ||
        mq_publish_async(s->w->mq, "", ENGINE_EVENTS_QUEUE, type, body,
                         MQ_PERSISTENT | MQ_CONFIRM | MQ_MANDATORY, confirm_cb, j, &err) < 0) {
        free(j);
        wag_reply_wampmsg_str(s, m->request, WAMP_RESULT_ERROR, "Cloud unavailable, retry later.");
    }
    cJSON_Delete(body);
}

void wag_callee_function_result(struct wag_session *s, struct wamp_msg *m)
{
    forward(s, m, "function_result", "execution_id");
}

void wag_callee_event(struct wag_session *s, struct wamp_msg *m)
{
    forward(s, m, "event", "trigger_id");
}
