/* conductor/cond.c: caller identity and common helpers (options: conf.c). */
#include "conductor/cond.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "api/fault.h"
#include "common/json.h"
#include "common/log.h"
#include "db/row.h"

static int opt_str(const cJSON *obj, const char *key, const char **out, struct error *err)
{
    int rc = json_get_str(obj, key, JSON_NULLABLE, 255, out, err);

    if (rc == 1 || rc == -ENOENT) {
        *out = NULL;
        return 0;
    }
    return rc < 0 ? api_fail(err, 400, "ctx: %s", error_str(err)) : 0;
}

int cond_caller_get(const cJSON *args, struct cond_caller *out, struct error *err)
{
    const cJSON *ctx = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if (json_get_object(args, "ctx", JSON_REQUIRED, &ctx, err) < 0)
        return api_fail(err, 400, "%s", error_str(err));
    rc = opt_str(ctx, "user_id", &out->user_id, err);
    if (rc == 0)
        rc = opt_str(ctx, "project_id", &out->project_id, err);
    if (rc == 0 && json_get_bool(ctx, "is_admin", JSON_OPTIONAL, &out->is_admin, err) < -ENOENT)
        rc = api_fail(err, 400, "ctx: %s", error_str(err));
    return rc;
}

int cond_arg_uuid(const cJSON *args, const char *key, char out[UUID_STR_LEN], struct error *err)
{
    const char *s = NULL;

    if (json_get_str(args, key, JSON_REQUIRED, 64, &s, err) < 0 || uuid_normalize(s, out) < 0)
        return api_fail(err, 400, "Expected a uuid but received %s.", s ? s : "null");
    return 0;
}

static void copy(char *dst, size_t n, const char *src)
{
    size_t l = src ? strlen(src) : 0;

    if (l >= n)
        l = n - 1;
    if (l)
        memcpy(dst, src, l);
    dst[l] = '\0';
}

int cond_board_load(struct db *db, const char *uuid, struct cond_board *out, struct error *err)
{
    static const struct db_stmt get = {
        "cond_board_load",
        "SELECT uuid, name, status, agent, lr_version, project FROM boards WHERE uuid = $1::uuid",
        1,
    };
    const char *p[1] = {uuid};
    PGresult *res = NULL;
    int rc = db_exec_stmt(db, &get, p, &res, err);

    if (rc < 0)
        return cond_db_fail(rc, err);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return api_fail(err, 404, "Board %s could not be found.", uuid);
    }
    memset(out, 0, sizeof(*out));
    copy(out->uuid, sizeof(out->uuid), PQgetvalue(res, 0, 0));
    copy(out->name, sizeof(out->name), PQgetvalue(res, 0, 1));
    copy(out->status, sizeof(out->status), PQgetvalue(res, 0, 2));
    copy(out->agent, sizeof(out->agent), PQgetvalue(res, 0, 3));
    copy(out->lr_version, sizeof(out->lr_version), PQgetvalue(res, 0, 4));
    copy(out->project, sizeof(out->project), PQgetvalue(res, 0, 5));
    out->project_null = PQgetisnull(res, 0, 5);
    PQclear(res);
    return 0;
}

int cond_db_fail(int rc, struct error *err)
{
    log_error("database: %s", error_str(err));
    if (rc == -ECONNRESET || rc == -ECONNREFUSED || rc == -ETIMEDOUT || rc == -EAGAIN ||
        rc == -EROFS)
        return api_fail(err, 503, "Resource temporarily unavailable, please retry.");
    /* Validation runs before anything reaches the database, so these are
     * races or gaps; they still answer 4xx, never 500 (5.3). A concurrent
     * change (a row referenced or gone meanwhile) is a 409, which the
     * client retries (6.6). */
    if (rc == -EINVAL)
        return api_fail(err, 400, "Invalid input: the database refused a value.");
    if (rc == -EBUSY || rc == -EEXIST)
        return api_fail(err, 409, "Conflict with a concurrent change, please retry.");
    return api_fail(err, 500, "An unknown exception occurred.");
}

int cond_redelivered_done(struct mq_req *req, struct db *db, const struct db_stmt *probe,
                          const char *const *params)
{
    PGresult *res = NULL;
    struct error err;
    int n;

    if (!mq_req_redelivered(req) || db_exec_stmt(db, probe, params, &res, &err) < 0)
        return 0;
    n = PQntuples(res);
    PQclear(res);
    if (n > 0)
        log_info("%s: redelivered, already done by an earlier delivery", mq_req_method(req));
    return n > 0;
}

void cond_reply_uuid(struct mq_req *req, int rc, const char *uuid, const struct error *err)
{
    cJSON *o;

    if (rc < 0) {
        cond_reply_error(req, err, NULL);
        return;
    }
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "uuid", uuid);
    mq_reply(req, o);
}

int cond_update_one(struct db *db, const struct db_stmt *st, const char *const *params,
                    const char *what, struct error *err)
{
    PGresult *res = NULL;
    int rc = db_exec_stmt(db, st, params, &res, err);

    if (rc < 0)
        return cond_db_fail(rc, err);
    if (db_affected(res) == 0)
        rc = api_fail(err, 404, "%s %s could not be found.", what, params[0]);
    PQclear(res);
    return rc;
}

void cond_delete_one(struct mq_req *req, const cJSON *args, const struct db_stmt *del,
                     const char *what, const char *held)
{
    struct db *db = mq_req_worker_ctx(req);
    char uuid[UUID_STR_LEN];
    const char *p[1] = {uuid};
    struct error err = {0};
    int rc = cond_arg_uuid(args, "uuid", uuid, &err);

    if (rc == 0 && (rc = db_exec_stmt(db, del, p, NULL, &err)) < 0) {
        if (rc == -EBUSY && held != NULL)
            rc = api_fail(&err, 409, "%s %s is %s on one or more boards.", what, uuid, held);
        else
            rc = cond_db_fail(rc, &err);
    }
    if (rc < 0)
        cond_reply_error(req, &err, NULL);
    else
        mq_reply(req, cJSON_CreateObject());
}

void cond_reply_error(struct mq_req *req, const struct error *err, const char *request)
{
    int status = api_errno_status(err->code);
    cJSON *data = NULL;

    if (request != NULL && request[0] != '\0') {
        data = cJSON_CreateObject();
        cJSON_AddStringToObject(data, "request", request);
    }
    if (status >= 500)
        log_warn("rpc %s failed: %d %s", mq_req_method(req), status, err->msg);
    mq_reply_error(req, -err->code, status, err->msg, data);
}
