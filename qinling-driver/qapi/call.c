/* qapi/call.c: see call.h. */
#include "qapi/call.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "db/row.h"
#include "qmodel/fault.h"
#include "qmodel/sql.h"

int qa_call_init(struct http_req *r, struct qa_call *c)
{
    memset(c, 0, sizeof(*c));
    c->r = r;
    c->a = http_req_service(r);
    c->db = http_req_thread_ctx(r);
    c->cred = http_req_cred(r);
    c->project = c->cred->id->project_id != NULL ? c->cred->id->project_id : "";
    c->is_admin = c->cred->is_admin;
    c->base = c->a->cfg->qinling_endpoint;
    if (c->base == NULL)
        c->base = http_req_base_url(r);
    if (c->base == NULL)
        c->base = http_req_printf(r, "%s://%s:%lld", http_req_scheme(r), c->a->cfg->api_host,
                                  (long long)c->a->cfg->api_port);
    if (c->db == NULL) {
        http_resp_error(r, 503, QM_MSG_UNAVAILABLE);
        return -1;
    }
    return 0;
}

int qa_respond_error(struct qa_call *c, const struct error *err)
{
    http_resp_error(c->r, qm_errno_status(err->code), "%s", err->msg);
    return -1;
}

int qa_fail(struct qa_call *c, int status, const char *fmt, ...)
{
    char msg[ERROR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    http_resp_error(c->r, status, "%s", msg);
    return -1;
}

int qa_authorize(struct qa_call *c, const char *rule, const char *target_project)
{
    struct policy_target t[2];

    t[0] = (struct policy_target){"project_id", target_project ? target_project : c->project};
    t[1] = (struct policy_target){"user_id", c->cred->id->user_id};
    if (policy_authorize(c->a->policy, rule, c->cred, t, 2) == 0)
        return 0;
    return qa_fail(c, 403, "Operation not allowed");
}

const char *qa_scope(const struct qa_call *c)
{
    return c->is_admin ? NULL : c->project;
}

const char *qa_board_scope(const struct qa_call *c)
{
    return c->is_admin || !c->a->enforce ? NULL : c->project;
}

int qa_path_uuid(struct qa_call *c, const char *name, char out[UUID_STR_LEN])
{
    const char *v = http_req_param(c->r, name);

    if (v == NULL || uuid_normalize(v, out) < 0)
        return qa_fail(c, 400, "Expected a uuid but received %s.", v != NULL ? v : "");
    return 0;
}

void qa_tell_engine(struct qa_call *c, const char *method, const char *key, const char *value)
{
    cJSON *args = cJSON_CreateObject();
    struct error err;

    cJSON_AddStringToObject(args, key, value);
    if (mq_cast(c->a->mq, QM_ENGINE_QUEUE, method, args, MQ_PERSISTENT | MQ_CONFIRM, &err) < 0)
        log_warn("engine not told (%s %s=%s): %s; the sweeper will find it", method, key, value,
                 err.msg);
    cJSON_Delete(args);
}

int qa_exec(struct qa_call *c, const struct db_stmt *st, const char *const *params, PGresult **res)
{
    struct error err;
    int rc = db_exec_stmt(c->db, st, params, res, &err);

    if (rc < 0) {
        log_error("%s: %s", st->name, err.msg);
        qm_db_fail(rc, &err);
        return qa_respond_error(c, &err);
    }
    return 0;
}

void qa_delete_scoped(struct http_req *r, const struct db_stmt *st, const char *rule,
                      const char *what)
{
    char id[UUID_STR_LEN];
    PGresult *res = NULL;
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0 ||
        qa_authorize(&c, rule, NULL) < 0)
        return;
    const char *p[2] = {id, qa_scope(&c)};
    if (qa_exec(&c, st, p, &res) < 0)
        return;
    if (db_affected(res) == 0)
        qa_fail(&c, 404, "%s not found [id=%s]", what, id);
    else
        http_resp_empty(r, 204);
    PQclear(res);
}
