/* qapi/h_webhooks.c: /v1/webhooks (2.9), and the unauthenticated invoke.
 *
 * An invoke builds its input object from the query string, the form fields
 * and the members of a JSON object body (which win); a repeated key becomes
 * an array of its values. Each webhook has a token bucket ([api]
 * webhook_rate, webhook_burst) in this process. The execution runs under
 * the webhook's project, always async. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/uuid.h"
#include "db/row.h"
#include "qapi/body.h"
#include "qapi/exec.h"
#include "qapi/handlers.h"
#include "qapi/list.h"
#include "qapi/ratelimit.h"
#include "qapi/render.h"
#include "qmodel/fault.h"
#include "qmodel/fn.h"
#include "qmodel/value.h"

static void render(struct jw *w, const PGresult *res, int row, struct qa_call *c)
{
    qa_render_webhook(w, res, row, c->base);
}

static const struct db_stmt get_stmt = {
    "qa_webhook_get",
    "SELECT " QA_SEL_WEBHOOK " FROM webhooks w WHERE w.id = $1::uuid AND ($2::text IS NULL OR "
    "w.project_id = $2)",
    2,
};

static int answer(struct qa_call *c, const char *id, int status)
{
    const char *p[2] = {id, qa_scope(c)};
    PGresult *res = NULL;
    char nf[128];

    if (qa_exec(c, &get_stmt, p, &res) < 0)
        return -1;
    snprintf(nf, sizeof(nf), "Webhook not found [id=%s]", id);
    qa_answer_one(c, res, status, render, nf);
    return 0;
}

static const struct qm_filter_field filters[] = {
    {"function_id", "w.function_id", QM_F_UUID},
};

QA_HANDLER(webhooks_list)
{
    static const struct qa_list_spec spec = {
        "webhooks",
        "SELECT " QA_SEL_WEBHOOK " FROM webhooks w",
        "w",
        "webhooks",
        filters,
        1,
        "webhook:get_all",
        "webhook:get_all:all_projects",
        0,
        0,
        render,
        NULL,
        NULL,
    };
    struct qa_call c;

    if (qa_call_init(r, &c) == 0)
        qa_list(&c, &spec);
}

QA_HANDLER(webhook_get)
{
    char id[UUID_STR_LEN];
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0 ||
        qa_authorize(&c, "webhook:get", NULL) < 0)
        return;
    answer(&c, id, 200);
}

enum { F_FID, F_ALIAS, F_VERSION, F_DESC, F_BOARD, F_FLEET, F_PLACEMENT, F_PENDING, F_N };

static const struct qa_field fields[] = {
    {"function_id", QA_T_STR, QA_F_NULL, NULL},
    {"function_alias", QA_T_STR, QA_F_NULL, NULL},
    {"function_version", QA_T_INT, QA_F_NULL, NULL},
    {"description", QA_T_STR, QA_F_NULL, NULL},
    {"board_id", QA_T_STR, QA_F_NULL, NULL},
    {"fleet_id", QA_T_STR, QA_F_NULL, NULL},
    {"placement", QA_T_STR, QA_F_NULL, NULL},
    {"pending_timeout", QA_T_INT, QA_F_NULL, NULL},
    {"id", QA_T_STR, QA_F_RO, NULL},
    {"project_id", QA_T_STR, QA_F_RO, NULL},
    {"created_at", QA_T_STR, QA_F_RO, NULL},
    {"updated_at", QA_T_STR, QA_F_RO, NULL},
    {"webhook_url", QA_T_STR, QA_F_RO, NULL},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static const struct db_stmt alias_stmt = {
    "qa_webhook_alias",
    "SELECT function_id, function_version FROM function_aliases WHERE name = $1 AND ($2::text "
    "IS NULL OR project_id = $2) ORDER BY (project_id = $3) DESC, created_at LIMIT 1",
    3,
};

/* The webhook's function as stored: (id, version) or the alias; checks that
 * it exists now. */
struct wh {
    char fid[UUID_STR_LEN];
    int64_t version;
    struct qm_fn fn;
    struct qm_target target;
};

static int resolve(struct qa_call *c, const char *fref, const char *alias, int64_t version,
                   struct wh *w)
{
    const char *p[3] = {alias, qa_scope(c), c->project};
    PGresult *res = NULL;
    struct error err;

    w->version = version;
    if (alias != NULL) {
        if (qa_exec(c, &alias_stmt, p, &res) < 0)
            return -1;
        if (PQntuples(res) == 0) {
            PQclear(res);
            return qa_fail(c, 404, "FunctionAlias not found [name=%.255s]", alias);
        }
        snprintf(w->fid, sizeof(w->fid), "%s", PQgetvalue(res, 0, 0));
        w->version = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        PQclear(res);
    } else if (uuid_normalize(fref, w->fid) < 0) {
        return qa_fail(c, 400, "Expected a uuid but received %s.", fref);
    }
    if (w->version < 0)
        return qa_fail(c, 400, "Invalid value for function_version: an integer is required.");
    if (qm_fn_load(c->db, w->fid, w->version, qa_scope(c), &w->fn, &err) < 0)
        return qa_respond_error(c, &err);
    return 0;
}

static int target(struct qa_call *c, const struct qa_value *v, struct wh *w)
{
    struct qm_target_req req = {v[F_BOARD].s, v[F_FLEET].s, v[F_PLACEMENT].s};
    struct error err;

    memset(&w->target, 0, sizeof(w->target));
    if (v[F_DESC].s != NULL && !qm_text_ok(v[F_DESC].s, QM_DESCRIPTION_MAX))
        return qa_fail(c, 400, "Invalid value for description: at most 255 characters.");
    if (v[F_PENDING].present && !v[F_PENDING].null &&
        (v[F_PENDING].i < 0 || v[F_PENDING].i > 86400))
        return qa_fail(c, 400,
                       "Invalid value for pending_timeout: an integer from 0 to 86400 is "
                       "required.");
    if (qm_target_syntax(&req, 1, &err) < 0)
        return qa_respond_error(c, &err);
    if ((req.board_ref != NULL || req.fleet_ref != NULL) &&
        qm_target_resolve(c->db, &req, &w->fn, qa_board_scope(c), &w->target, &err) < 0)
        return qa_respond_error(c, &err);
    if (req.board_ref == NULL && req.fleet_ref == NULL && req.placement != NULL)
        snprintf(w->target.placement, sizeof(w->target.placement), "%s", req.placement);
    return 0;
}

static const struct db_stmt insert_stmt = {
    "qa_webhook_insert",
    "INSERT INTO webhooks (id, function_id, function_alias, function_version, description, "
    "board_id, fleet_id, placement, pending_timeout, project_id) VALUES ($1::uuid, $2::uuid, $3, "
    "$4::int, $5, $6::uuid, $7::uuid, $8, $9::int, $10)",
    10,
};

static void store(struct qa_call *c, const struct db_stmt *st, const char *id,
                  const struct qa_value *v, const struct wh *w, const char *alias, int status)
{
    char ver[DB_INT_LEN], pt[DB_INT_LEN];
    const char *p[10] = {
        id,
        alias ? NULL : w->fid,
        alias,
        alias ? NULL : db_param_int(ver, w->version),
        v[F_DESC].s,
        w->target.board_id[0] ? w->target.board_id : NULL,
        w->target.fleet_id[0] ? w->target.fleet_id : NULL,
        w->target.placement[0] ? w->target.placement : NULL,
        v[F_PENDING].present && !v[F_PENDING].null ? db_param_int(pt, v[F_PENDING].i) : NULL,
        w->fn.project,
    };
    PGresult *res = NULL;

    if (qa_exec(c, st, p, &res) == 0) {
        if (db_affected(res) == 0)
            qa_fail(c, 404, "Webhook not found [id=%s]", id);
        else
            answer(c, id, status);
    }
    PQclear(res);
}

QA_HANDLER(webhook_create)
{
    struct qa_value v[NFIELDS];
    char id[UUID_STR_LEN];
    struct wh w = {0};
    struct qa_body b;
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_body_read(&c, 0, &b) < 0)
        return;
    if (qa_fields(&c, &b, fields, NFIELDS, v) < 0 || qa_authorize(&c, "webhook:create", NULL) < 0)
        goto out;
    if (v[F_FID].s == NULL && v[F_ALIAS].s == NULL) {
        qa_fail(&c, 400, "Either function_alias or function_id must be provided.");
        goto out;
    }
    if (resolve(&c, v[F_FID].s, v[F_ALIAS].s, v[F_VERSION].i, &w) < 0 || target(&c, v, &w) < 0)
        goto out;
    uuid_v4(id);
    store(&c, &insert_stmt, id, v, &w, v[F_ALIAS].s, 201);
out:
    qm_fn_clear(&w.fn);
    qa_body_free(&b);
}

static const struct db_stmt current_stmt = {
    "qa_webhook_current",
    "SELECT function_id, function_alias, coalesce(function_version, 0), description, board_id, "
    "fleet_id, placement, pending_timeout FROM webhooks WHERE id = $1::uuid AND ($2::text IS "
    "NULL OR project_id = $2)",
    2,
};

static const struct db_stmt update_stmt = {
    "qa_webhook_update",
    "UPDATE webhooks SET function_id = $2::uuid, function_alias = $3, function_version = $4::int, "
    "description = $5, board_id = $6::uuid, fleet_id = $7::uuid, placement = $8, "
    "pending_timeout = $9::int, updated_at = now() WHERE id = $1::uuid AND project_id = $10",
    10,
};

/* Fills the fields the body does not give from the stored row. */
static void merge(struct qa_value *v, const PGresult *cur)
{
    int set_alias = v[F_ALIAS].present && v[F_ALIAS].s != NULL;
    int set_fn = v[F_FID].present && v[F_FID].s != NULL;

    /* Setting an alias clears the id and version, and the reverse (2.9). */
    if (!set_alias && !set_fn) {
        v[F_FID].s = PQgetisnull(cur, 0, 0) ? NULL : PQgetvalue(cur, 0, 0);
        v[F_ALIAS].s = PQgetisnull(cur, 0, 1) ? NULL : PQgetvalue(cur, 0, 1);
        if (!v[F_VERSION].present)
            v[F_VERSION].i = strtoll(PQgetvalue(cur, 0, 2), NULL, 10);
    } else if (set_alias) {
        v[F_FID].s = NULL;
    } else {
        v[F_ALIAS].s = NULL;
    }
    if (!v[F_DESC].present)
        v[F_DESC].s = PQgetisnull(cur, 0, 3) ? NULL : PQgetvalue(cur, 0, 3);
    if (!v[F_BOARD].present && !v[F_FLEET].present) {
        v[F_BOARD].s = PQgetisnull(cur, 0, 4) ? NULL : PQgetvalue(cur, 0, 4);
        v[F_FLEET].s = PQgetisnull(cur, 0, 5) ? NULL : PQgetvalue(cur, 0, 5);
        if (!v[F_PLACEMENT].present)
            v[F_PLACEMENT].s = PQgetisnull(cur, 0, 6) ? NULL : PQgetvalue(cur, 0, 6);
    }
    if (!v[F_PENDING].present && !PQgetisnull(cur, 0, 7)) {
        v[F_PENDING].present = 1;
        v[F_PENDING].i = strtoll(PQgetvalue(cur, 0, 7), NULL, 10);
    }
}

QA_HANDLER(webhook_update)
{
    struct qa_value v[NFIELDS];
    char id[UUID_STR_LEN];
    struct wh w = {0};
    PGresult *cur = NULL;
    struct qa_body b;
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0 || qa_body_read(&c, 0, &b) < 0)
        return;
    if (qa_fields(&c, &b, fields, NFIELDS, v) < 0 || qa_authorize(&c, "webhook:update", NULL) < 0)
        goto out;
    const char *q[2] = {id, qa_scope(&c)};
    if (qa_exec(&c, &current_stmt, q, &cur) < 0)
        goto out;
    if (PQntuples(cur) == 0) {
        qa_fail(&c, 404, "Webhook not found [id=%s]", id);
        goto out;
    }
    merge(v, cur);
    if (resolve(&c, v[F_FID].s, v[F_ALIAS].s, v[F_VERSION].i, &w) < 0 || target(&c, v, &w) < 0)
        goto out;
    store(&c, &update_stmt, id, v, &w, v[F_ALIAS].s, 200);
out:
    qm_fn_clear(&w.fn);
    PQclear(cur);
    qa_body_free(&b);
}

static const struct db_stmt delete_stmt = {
    "qa_webhook_delete",
    "DELETE FROM webhooks WHERE id = $1::uuid AND ($2::text IS NULL OR project_id = $2)",
    2,
};

QA_HANDLER(webhook_delete)
{
    qa_delete_scoped(r, &delete_stmt, "webhook:delete", "Webhook");
}
