/* wagent/callee_notify.c: <agent>.stack4things.notify_result(board_uuid, wampmessage)
 * (board-protocol.md 5.4).
 *
 * The final WampMessage of a RUNNING board call goes to the conductor's
 * notify_result (conductor/rpc.h), which completes the request; the board is
 * answered only after the conductor has committed. The AMQP answer arrives
 * on the AMQP thread and is handed back to the loop (inbox.h). */
#include "wagent/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "conductor/rpc.h"

#define NOTIFY_TIMEOUT_MS 10000

struct notify_job {
    struct wag_post post;
    struct wag *w;
    uint64_t session;
    uint64_t request;
    char req_id[UUID_STR_LEN];
    int rc;
    int status;
};

static void notify_answered(struct wag_post *p)
{
    struct notify_job *j = (struct notify_job *)p;
    struct wag_session *s = wag_session_get(j->w, j->session);
    char msg[96];

    if (s != NULL) {
        if (j->rc == 0) {
            wag_count_callee(j->w, "notify_result", "ok");
            wag_reply_wampmsg_str(s, j->request, WAMP_RESULT_SUCCESS, "notification_received");
        } else if (j->rc == -EREMOTE && (j->status == 400 || j->status == 404)) {
            wag_count_callee(j->w, "notify_result", "refused");
            snprintf(msg, sizeof(msg), "Request %s is not for this board.", j->req_id);
            wag_reply_wampmsg_str(s, j->request, WAMP_RESULT_ERROR, msg);
        } else {
            wag_count_callee(j->w, "notify_result", "unavailable");
            wag_reply_wampmsg_str(s, j->request, WAMP_RESULT_ERROR,
                                  "Cloud unavailable, retry later.");
        }
    }
    free(j);
}

/* AMQP thread. */
static void notify_cb(struct mq_result *res, void *arg)
{
    struct notify_job *j = arg;

    j->rc = res->rc;
    j->status = res->remote_status;
    if (res->rc != 0 && res->rc != -EREMOTE)
        log_warn("notify_result %s: %s", j->req_id, res->err.msg);
    if (wag_inbox_post(&j->w->inbox, &j->post, notify_answered) < 0)
        free(j);
}

/* The WampMessage argument: a JSON text (as the original sends it) or an
 * object. 0 and *wm, or -EINVAL. */
static int read_wampmsg(const cJSON *v, struct wamp_wampmsg *wm, struct error *err)
{
    if (cJSON_IsString(v))
        return wamp_wampmsg_parse(v->valuestring, strlen(v->valuestring), wm, err);
    if (cJSON_IsObject(v))
        return wamp_wampmsg_from_value(v, wm, err);
    return error_set(err, -EINVAL, "must be a WampMessage");
}

static int start(struct wag_session *s, struct wamp_msg *m, struct wamp_wampmsg *wm,
                 struct notify_job *j)
{
    struct error err;
    cJSON *a;
    int rc;

    j->w = s->w;
    j->session = s->id;
    j->request = m->request;
    a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "board_uuid", s->board->uuid);
    cJSON_AddStringToObject(a, "req_id", j->req_id);
    cJSON_AddStringToObject(a, "result", wamp_result_str(wm->result));
    cJSON_AddItemToObject(a, "message", wm->message);
    wm->message = NULL;
    rc = mq_call_async(s->w->mq, COND_QUEUE, "notify_result", a, NOTIFY_TIMEOUT_MS, notify_cb, j,
                       &err);
    cJSON_Delete(a);
    if (rc < 0)
        log_warn("notify_result %s not sent: %s", j->req_id, err.msg);
    return rc;
}

void wag_callee_notify_result(struct wag_session *s, struct wamp_msg *m)
{
    struct wamp_wampmsg wm = {0};
    struct notify_job *j;
    struct error err;
    char msg[ERROR_MSG_MAX + 32];

    error_clear(&err);
    if (wag_check_board_arg(s, m, "board_uuid", 0) < 0)
        return;
    if (read_wampmsg(wag_arg(m, "wampmessage", 1), &wm, &err) < 0 || wm.req_id == NULL) {
        snprintf(msg, sizeof(msg), "wampmessage: %s",
                 wm.req_id == NULL && err.msg[0] == '\0' ? "req_id is required" : err.msg);
        wamp_wampmsg_clear(&wm);
        wag_reply_error(s, WAMP_CALL, m->request, "wamp.error.invalid_argument", msg);
        return;
    }
    j = xcalloc(1, sizeof(*j));
    if (uuid_normalize(wm.req_id, j->req_id) < 0) {
        free(j);
        wamp_wampmsg_clear(&wm);
        wag_reply_error(s, WAMP_CALL, m->request, "wamp.error.invalid_argument",
                        "wampmessage: req_id must be a request UUID");
        return;
    }
    if (wag_inflight_add(s, m->request) < 0 || start(s, m, &wm, j) < 0) {
        free(j);
        wag_reply_wampmsg_str(s, m->request, WAMP_RESULT_ERROR, "Cloud unavailable, retry later.");
    }
    wamp_wampmsg_clear(&wm);
}
