/* qengine/driver.c: see driver.h. */
#include "qengine/driver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "qmodel/sql.h"

struct call {
    struct qe *e;
    char board[UUID_STR_LEN];
    char agent[256];
    char method[64];
    cJSON *payload;
    int timeout_ms;
    int attempt;
    qd_done_fn done;
    void *arg;
    struct qd_reply reply;
};

static const struct db_stmt agent_stmt = {
    "qd_board_agent",
    "SELECT coalesce(agent, ''), status FROM boards WHERE uuid = $1::uuid",
    1,
};

const char *qd_outcome_name(enum qd_outcome o)
{
    static const char *const names[] = {"replied",      "not_connected", "timeout",
                                        "disconnected", "busy",          "unreachable"};

    return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "?";
}

static cJSON *req_object(const struct call *c)
{
    char id[UUID_STR_LEN], now[TIME_ISO_LEN];
    cJSON *r = cJSON_CreateObject();

    uuid_v4(id);
    cJSON_AddStringToObject(r, "uuid", id);
    cJSON_AddNullToObject(r, "main_request_uuid");
    cJSON_AddStringToObject(r, "destination_uuid", c->board);
    json_add_int(r, "pending_requests", 0);
    cJSON_AddStringToObject(r, "status", "PENDING");
    cJSON_AddNullToObject(r, "project");
    json_add_int(r, "type", 0);
    cJSON_AddStringToObject(r, "action", c->method);
    cJSON_AddStringToObject(r, "created_at", time_format(time_now_us(), TIME_OFFSET_US, now));
    cJSON_AddNullToObject(r, "updated_at");
    return r;
}

static void deliver(void *arg, void *thread_ctx);
static void send_call(struct call *c);

static void finish_later(struct call *c)
{
    if (wq_submit(c->e->wq, deliver, NULL, c) < 0) {
        /* The pool no longer takes work (shutdown): done() still runs once,
         * here and without a database, so its owner can let go of arg. */
        log_info("board call %s to %s ends with the engine", c->method, c->board);
        deliver(c, NULL);
    }
}

/* The wagent's answer: {"outcome", "wampmessage": {"result", "message"}}. */
static void parse(struct call *c, const cJSON *res)
{
    const char *o = NULL, *result = NULL;
    const cJSON *wm = NULL;
    struct qd_reply *r = &c->reply;

    if (json_get_str(res, "outcome", JSON_REQUIRED, 32, &o, &r->err) < 0)
        o = "";
    if (strcmp(o, "replied") == 0 &&
        json_get_object(res, "wampmessage", JSON_REQUIRED, &wm, &r->err) == 0 &&
        json_get_str(wm, "result", JSON_REQUIRED, 11, &result, &r->err) == 0) {
        r->outcome = QD_REPLIED;
        snprintf(r->result, sizeof(r->result), "%s", result);
        r->message = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(wm, "message"), 1);
        if (r->message == NULL)
            r->message = cJSON_CreateNull();
    } else if (strcmp(o, "not_connected") == 0) {
        r->outcome = QD_NOT_CONNECTED;
    } else if (strcmp(o, "busy") == 0) {
        r->outcome = QD_BUSY;
    } else if (strcmp(o, "disconnected") == 0) {
        r->outcome = QD_DISCONNECTED;
    } else if (strcmp(o, "timeout") == 0) {
        r->outcome = QD_TIMEOUT;
    } else {
        r->outcome = QD_REPLIED;
        snprintf(r->result, sizeof(r->result), "ERROR");
        r->message = cJSON_CreateString("invalid reply from the wagent");
    }
}

/* AMQP thread: must not block. */
static void on_answer(struct mq_result *res, void *arg)
{
    struct call *c = arg;

    if (res->rc == 0) {
        parse(c, res->result);
    } else {
        error_copy(&c->reply.err, &res->err);
        c->reply.outcome = mq_rc_unsent(res->rc) ? QD_UNREACHABLE : QD_TIMEOUT;
    }
    finish_later(c);
}

/* Worker: a not_connected answer once more after re-reading boards.agent. */
static int retry_moved(struct call *c, struct db *db)
{
    const char *p[1] = {c->board};
    PGresult *res = NULL;
    struct error err;
    int again = 0;

    if (c->attempt > 0 || db_exec_stmt(db, &agent_stmt, p, &res, &err) < 0)
        return 0;
    if (PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 1), "online") == 0 &&
        PQgetvalue(res, 0, 0)[0] != '\0' && strcmp(PQgetvalue(res, 0, 0), c->agent) != 0) {
        snprintf(c->agent, sizeof(c->agent), "%s", PQgetvalue(res, 0, 0));
        again = 1;
    }
    PQclear(res);
    return again;
}

static void deliver(void *arg, void *thread_ctx)
{
    struct call *c = arg;
    struct db *db = thread_ctx;

    if (c->reply.outcome == QD_NOT_CONNECTED && db != NULL && retry_moved(c, db)) {
        c->attempt++;
        memset(&c->reply, 0, sizeof(c->reply));
        send_call(c);
        return;
    }
    if (c->reply.outcome != QD_REPLIED)
        log_debug("board %s %s: %s %s", c->board, c->method, qd_outcome_name(c->reply.outcome),
                  c->reply.err.msg);
    c->done(c->e, db, &c->reply, c->arg);
    cJSON_Delete(c->reply.message);
    cJSON_Delete(c->payload);
    free(c);
}

static void send_call(struct call *c)
{
    char queue[300];
    cJSON *a;
    struct error err;

    if (c->agent[0] == '\0') {
        c->reply.outcome = QD_NOT_CONNECTED;
        finish_later(c);
        return;
    }
    snprintf(queue, sizeof(queue), QM_WAGENT_QUEUE_PREFIX "%s", c->agent);
    a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "board_uuid", c->board);
    cJSON_AddStringToObject(a, "method", c->method);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(a, "args"), cJSON_Duplicate(c->payload, 1));
    cJSON_AddItemToObject(a, "req", req_object(c));
    json_add_int(a, "timeout_ms", c->timeout_ms);
    /* The wagent gives up at timeout_ms and says so; our margin lets its
     * "timeout" arrive first. */
    if (mq_call_async(c->e->mq, queue, "invoke", a, c->timeout_ms + 5000, on_answer, c, &err) < 0) {
        c->reply.outcome = QD_UNREACHABLE;
        error_copy(&c->reply.err, &err);
        finish_later(c);
    }
    cJSON_Delete(a);
}

void qd_call(struct qe *e, const char *board, const char *agent, const char *method, cJSON *payload,
             int timeout_ms, qd_done_fn done, void *arg)
{
    struct call *c = xcalloc(1, sizeof(*c));

    c->e = e;
    snprintf(c->board, sizeof(c->board), "%s", board);
    snprintf(c->agent, sizeof(c->agent), "%s", agent != NULL ? agent : "");
    snprintf(c->method, sizeof(c->method), "%s", method);
    c->payload = payload;
    c->timeout_ms = timeout_ms;
    c->done = done;
    c->arg = arg;
    send_call(c);
}
