/* qmodel/launch.c: see launch.h. */
#include "qmodel/launch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/row.h"
#include "qmodel/fault.h"

static const struct db_stmt alias_stmt = {
    "qm_launch_alias",
    "SELECT function_id, function_version FROM function_aliases WHERE name = $1 AND ($2::text "
    "IS NULL OR project_id = $2) ORDER BY (project_id = $3) DESC, created_at LIMIT 1",
    3,
};

/* The function and version an alias points to now. */
static int resolve_alias(struct db *db, const struct qm_launch *q, char fid[UUID_STR_LEN],
                         int64_t *version, struct error *err)
{
    const char *p[3] = {q->alias, q->scope, q->project};
    PGresult *res = NULL;
    int rc = db_exec_stmt(db, &alias_stmt, p, &res, err);

    if (rc < 0)
        return qm_db_fail(rc, err);
    if (PQntuples(res) == 0)
        rc = qm_fail(err, 404, "FunctionAlias not found [name=%.255s]", q->alias);
    else {
        snprintf(fid, UUID_STR_LEN, "%s", PQgetvalue(res, 0, 0));
        rc = db_getint(res, 0, 1, 0, INT32_MAX, version, err) < 0 ? qm_db_fail(-EIO, err) : 0;
    }
    PQclear(res);
    return rc;
}

static int checks(const struct qm_launch *q, const struct qm_fn *fn, struct error *err)
{
    if (q->input != NULL && (int64_t)strlen(q->input) > q->max_input)
        return qm_fail(err, 400, "Input exceeds %lld bytes.", (long long)q->max_input);
    if (q->pending_timeout != -1 && (q->pending_timeout < 0 || q->pending_timeout > 86400))
        return qm_fail(err, 400,
                       "Invalid value for pending_timeout: an integer from 0 to 86400 is "
                       "required.");
    if (!fn->rt.present || strcmp(fn->rt.status, "available") != 0)
        return qm_fail(err, 409, "Runtime %s is not available.",
                       fn->runtime_id[0] ? fn->runtime_id : "(none)");
    return 0;
}

static int launch_fn(struct db *db, const struct qm_launch *q, const struct qm_fn *fn,
                     struct qm_launched *out, struct error *err)
{
    struct qm_target target;
    struct qm_plan plan;
    struct qm_exec_req er;
    int rc;

    rc = checks(q, fn, err);
    if (rc == 0)
        rc = qm_target_resolve(db, &q->target, fn, q->board_scope, &target, err);
    if (rc < 0)
        return rc;
    rc = qm_target_plan(db, fn, &target, &plan, err);
    if (rc < 0)
        return rc;
    out->timeout = fn->timeout;
    out->pending_timeout = q->pending_timeout != -1 ? q->pending_timeout
                           : q->sync                ? q->sync_pending_timeout
                                                    : q->async_pending_timeout;
    er = (struct qm_exec_req){q->project,    fn,          q->alias,
                              q->sync,       q->input,    q->description,
                              &target,       &plan,       out->pending_timeout,
                              q->trigger_id, q->firing_id};
    rc = qm_exec_insert(db, &er, &out->made, err);
    qm_plan_clear(&plan);
    return rc;
}

int qm_launch(struct db *db, const struct qm_launch *q, struct qm_launched *out, struct error *err)
{
    char fid[UUID_STR_LEN];
    int64_t version = q->version;
    struct qm_fn fn;
    int rc;

    memset(out, 0, sizeof(*out));
    if (q->alias == NULL && q->function_id == NULL)
        return qm_fail(err, 400, "Either function_alias or function_id must be provided.");
    if (q->alias != NULL)
        rc = resolve_alias(db, q, fid, &version, err);
    else
        rc = uuid_normalize(q->function_id, fid) < 0
                 ? qm_fail(err, 400, "Expected a uuid but received %s.", q->function_id)
                 : 0;
    if (rc == 0 && version < 0)
        rc = qm_fail(err, 400, "Invalid value for function_version: an integer is required.");
    if (rc == 0 && (rc = qm_target_syntax(&q->target, 1, err)) == 0)
        rc = qm_fn_load(db, fid, version, q->scope, &fn, err);
    if (rc < 0)
        return rc;
    rc = launch_fn(db, q, &fn, out, err);
    qm_fn_clear(&fn);
    return rc;
}

void qm_launched_clear(struct qm_launched *l)
{
    qm_exec_made_clear(&l->made);
}
