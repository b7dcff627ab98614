/* conductor/boardcall.c: see boardcall.h. */
#include "conductor/boardcall.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/fault.h"
#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "conductor/rpc.h"

#define ISO_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"

static const struct db_stmt insert_request = {
    "cond_req_insert",
    "WITH r AS (INSERT INTO requests (uuid, main_request_uuid, destination_uuid, "
    "pending_requests, project, status, type, action) VALUES ($1::uuid, $2::uuid, $3::uuid, 0, "
    "$4, 'PENDING', 0, $5) RETURNING created_at), "
    "s AS (INSERT INTO results (board_uuid, request_uuid, result, message) VALUES ($3::uuid, "
    "$1::uuid, 'RUNNING', '') RETURNING 1) "
    "SELECT " ISO_TS("r.created_at") " FROM r, s",
    5,
};

/* One statement, so that a result, its request and the parent's count move
 * together; a request already COMPLETED is left alone (idempotent). */
static const struct db_stmt finish_request = {
    "cond_req_finish",
    "WITH res AS (UPDATE results SET result = $3, message = $4, updated_at = now() "
    "WHERE request_uuid = $1::uuid AND board_uuid = $2::uuid RETURNING 1), "
    "q AS (UPDATE requests SET status = 'COMPLETED', updated_at = now() WHERE uuid = $1::uuid "
    "AND status <> 'COMPLETED' AND $3 <> 'RUNNING' AND NOT EXISTS (SELECT 1 FROM results x "
    "WHERE x.request_uuid = $1::uuid AND x.board_uuid <> $2::uuid AND x.result = 'RUNNING') "
    "RETURNING main_request_uuid) "
    "UPDATE requests p SET pending_requests = greatest(p.pending_requests - 1, 0), "
    "status = CASE WHEN p.pending_requests <= 1 THEN 'COMPLETED' ELSE p.status END, "
    "updated_at = now() FROM q WHERE p.uuid = q.main_request_uuid",
    4,
};

static const struct db_stmt get_request = {
    "cond_req_get",
    "SELECT destination_uuid FROM requests WHERE uuid = $1::uuid",
    1,
};

static const struct db_stmt get_agent = {
    "cond_board_agent",
    "SELECT agent, status FROM boards WHERE uuid = $1::uuid",
    1,
};

int cond_lr_without_req(const char *v)
{
    int a = 0, b = 0, c = 0;

    if (v == NULL || v[0] < '0' || v[0] > '9')
        return 0;
    if (sscanf(v, "%d.%d.%d", &a, &b, &c) < 2)
        return 0;
    return a == 0 && (b < 4 || (b == 4 && c < 9));
}

char *cond_message_text(const cJSON *m)
{
    if (m == NULL || cJSON_IsNull(m))
        return xstrdup("");
    if (cJSON_IsString(m))
        return xstrdup(m->valuestring);
    return json_print(m);
}

int cond_request_finish(struct db *db, const char *req_id, const char *board_uuid,
                        const char *result, const char *message, struct error *err)
{
    const char *p[4] = {req_id, board_uuid, result, message};
    PGresult *res = NULL;
    int rc;

    rc = db_exec_stmt(db, &get_request, p, &res, err);
    if (rc < 0)
        return cond_db_fail(rc, err);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return api_fail(err, 404, "Request %s could not be found.", req_id);
    }
    if (PQgetisnull(res, 0, 0) || strcmp(PQgetvalue(res, 0, 0), board_uuid) != 0) {
        PQclear(res);
        return api_fail(err, 400, "Request %s is not for this board.", req_id);
    }
    PQclear(res);
    rc = db_exec_stmt(db, &finish_request, p, NULL, err);
    return rc < 0 ? cond_db_fail(rc, err) : 0;
}

/* Inserts the request and result rows; builds the `req` object. */
static int record(struct db *db, const struct cond_board *b, const char *method, const char *parent,
                  const char *uuid, cJSON **req, struct error *err)
{
    const char *p[5] = {uuid, parent, b->uuid, b->project_null ? NULL : b->project, method};
    PGresult *res = NULL;
    cJSON *r;
    int rc = db_exec_stmt(db, &insert_request, p, &res, err);

    if (rc < 0)
        return cond_db_fail(rc, err);
    r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "uuid", uuid);
    json_add_str_or_null(r, "main_request_uuid", parent);
    cJSON_AddStringToObject(r, "destination_uuid", b->uuid);
    json_add_int(r, "pending_requests", 0);
    cJSON_AddStringToObject(r, "status", "PENDING");
    json_add_str_or_null(r, "project", p[3]);
    json_add_int(r, "type", 0);
    cJSON_AddStringToObject(r, "action", method);
    cJSON_AddStringToObject(r, "created_at", PQgetvalue(res, 0, 0));
    cJSON_AddNullToObject(r, "updated_at");
    PQclear(res);
    *req = r;
    return 0;
}

/* Sends invoke to agent; fills *reply with the wagent's result object. */
static int invoke(struct cond *c, const char *agent, const struct cond_board *b, const char *method,
                  const cJSON *args, const cJSON *req, cJSON **reply, struct error *err)
{
    char queue[300];
    int64_t timeout_ms = c->cfg.board_call_timeout * 1000;
    cJSON *a = cJSON_CreateObject();
    struct mq_result res;
    int rc;

    snprintf(queue, sizeof(queue), COND_WAGENT_QUEUE_PREFIX "%s", agent);
    cJSON_AddStringToObject(a, "board_uuid", b->uuid);
    cJSON_AddStringToObject(a, "method", method);
    cJSON_AddItemToObject(a, "args", cJSON_Duplicate(args, 1));
    cJSON_AddItemToObject(a, "req", req ? cJSON_Duplicate(req, 1) : cJSON_CreateNull());
    json_add_int(a, "timeout_ms", timeout_ms);
    /* The wagent gives up at timeout_ms and says so; the margin lets its
     * "timeout" arrive before ours. */
    rc = mq_call(c->mq, queue, "invoke", a, (int)(timeout_ms + 5000), &res);
    cJSON_Delete(a);
    if (rc == 0) {
        *reply = res.result;
        res.result = NULL;
    } else {
        error_copy(err, &res.err);
    }
    mq_result_free(&res);
    return rc;
}

/* The outcome of a wagent reply: 0 and the WampMessage parts, or a failure. */
static int outcome(const cJSON *reply, const struct cond_board *b, const char *method,
                   struct cond_call_result *out, char **errmsg, struct error *err)
{
    const char *o = NULL, *result = NULL;
    const cJSON *wm = NULL;

    if (json_get_str(reply, "outcome", JSON_REQUIRED, 32, &o, err) < 0)
        o = "invalid";
    if (strcmp(o, "not_connected") == 0)
        return -ENOTCONN;
    if (strcmp(o, "timeout") == 0)
        return -ETIMEDOUT;
    if (strcmp(o, "replied") != 0 ||
        json_get_object(reply, "wampmessage", JSON_REQUIRED, &wm, err) < 0 ||
        json_get_str(wm, "result", JSON_REQUIRED, 16, &result, err) < 0) {
        *errmsg = xstrdup(strcmp(o, "replied") ? o : "invalid reply from the wagent");
        return api_fail(err, 502, "Error in the execution of %s on %s: %s", method, b->uuid,
                        *errmsg);
    }
    out->message = cond_message_text(cJSON_GetObjectItemCaseSensitive(wm, "message"));
    if (strcmp(result, "SUCCESS") && strcmp(result, "WARNING") && strcmp(result, "RUNNING")) {
        *errmsg = out->message;
        out->message = NULL;
        return api_fail(err, 502, "Error in the execution of %s on %s: %s", method, b->uuid,
                        *errmsg);
    }
    snprintf(out->result, sizeof(out->result), "%s", result);
    return 0;
}

/* One invoke with the not_connected retry of board-protocol 8.1. */
static int call_agent(struct cond *c, struct db *db, const struct cond_board *b, const char *method,
                      const cJSON *args, const cJSON *req, cJSON **reply, struct error *err)
{
    char agent[256];
    const char *p[1] = {b->uuid};
    PGresult *res = NULL;
    int rc, attempt;

    snprintf(agent, sizeof(agent), "%s", b->agent);
    for (attempt = 0; attempt < 2; attempt++) {
        cJSON_Delete(*reply);
        *reply = NULL;
        if (agent[0] == '\0')
            return -ENOTCONN;
        rc = invoke(c, agent, b, method, args, req, reply, err);
        if (rc == 0) {
            const cJSON *o = cJSON_GetObjectItemCaseSensitive(*reply, "outcome");

            if (!cJSON_IsString(o) || strcmp(o->valuestring, "not_connected") != 0)
                return 0;
        } else if (rc == -ENOTCONN) {
            return -EAGAIN; /* the broker, not the board: nothing was sent (503) */
        } else if (rc != -EHOSTUNREACH) {
            return rc;
        }
        /* The board may have moved to another wagent: read boards.agent again. */
        if (attempt == 1 || db_exec_stmt(db, &get_agent, p, &res, err) < 0)
            break;
        if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0) ||
            strcmp(PQgetvalue(res, 0, 1), "online") != 0 ||
            strcmp(PQgetvalue(res, 0, 0), agent) == 0) {
            PQclear(res);
            break;
        }
        snprintf(agent, sizeof(agent), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    return -ENOTCONN;
}

/* Maps a failed call to the REST answer and the message stored as result. */
static int call_failed(int rc, const struct cond_board *b, const char *method, char **errmsg,
                       struct error *err)
{
    switch (rc) {
    case -ENOTCONN:
        *errmsg = xasprintf("Board %s is not connected.", b->uuid);
        return api_fail(err, 400, "Board %s is not connected.", b->uuid);
    case -ETIMEDOUT:
        *errmsg = xstrdup("timeout");
        return api_fail(err, 504, "Board %s did not answer in time.", b->uuid);
    case -ESHUTDOWN:
    case -EAGAIN:
        *errmsg = xstrdup("Cloud unavailable, retry later.");
        return api_fail(err, 503, "Resource temporarily unavailable, please retry.");
    default:
        *errmsg = xstrdup(err->msg[0] ? err->msg : "the wagent failed");
        return api_fail(err, 502, "Error in the execution of %s on %s: %s", method, b->uuid,
                        *errmsg);
    }
}

int cond_board_call(struct cond *c, struct db *db, const struct cond_board *b, const char *method,
                    cJSON *args, const char *parent, struct cond_call_result *out,
                    struct error *err)
{
    cJSON *req = NULL, *reply = NULL;
    char *errmsg = NULL;
    struct error ferr;
    int rc;

    memset(out, 0, sizeof(*out));
    if (strcmp(b->status, "online") != 0) {
        cJSON_Delete(args);
        return api_fail(err, 400, "Board %s is not connected.", b->uuid);
    }
    uuid_v4(out->request);
    rc = record(db, b, method, parent, out->request, &req, err);
    if (rc < 0) {
        out->request[0] = '\0';
        goto done;
    }
    log_info("board call %s on %s request=%s", method, b->uuid, out->request);
    rc = call_agent(c, db, b, method, args, cond_lr_without_req(b->lr_version) ? NULL : req, &reply,
                    err);
    if (rc == 0)
        rc = outcome(reply, b, method, out, &errmsg, err);
    if (rc == -ENOTCONN || rc == -ETIMEDOUT || (rc < 0 && errmsg == NULL))
        rc = call_failed(rc, b, method, &errmsg, err);
    /* RUNNING stays open until notify_result; anything else completes now. */
    if (cond_request_finish(db, out->request, b->uuid, rc < 0 ? "ERROR" : out->result,
                            rc < 0 ? errmsg : out->message, &ferr) < 0)
        log_error("request %s: cannot store the result: %s", out->request, ferr.msg);
done:
    free(errmsg);
    cJSON_Delete(reply);
    cJSON_Delete(req);
    cJSON_Delete(args);
    if (rc < 0) {
        free(out->message);
        out->message = NULL;
    }
    return rc;
}

void cond_call_result_free(struct cond_call_result *r)
{
    free(r->message);
    r->message = NULL;
}
