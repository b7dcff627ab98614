/* qapi/h_aliases.c: /v1/aliases (2.5). Aliases are addressed by name within
 * the caller's project; admins reach other projects' aliases too (their own
 * project wins when names repeat). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/uuid.h"
#include "db/row.h"
#include "qapi/body.h"
#include "qapi/handlers.h"
#include "qapi/list.h"
#include "qapi/render.h"
#include "qmodel/fault.h"
#include "qmodel/fn.h"
#include "qmodel/value.h"

static void render(struct jw *w, const PGresult *res, int row, struct qa_call *c)
{
    (void)c;
    qa_render_alias(w, res, row);
}

static const struct qm_filter_field filters[] = {
    {"function_id", "a.function_id", QM_F_UUID},
};

QA_HANDLER(aliases_list)
{
    static const struct qa_list_spec spec = {
        "function_aliases",
        "SELECT " QA_SEL_ALIAS " FROM function_aliases a",
        "a",
        "function_aliases",
        filters,
        1,
        "function_alias:get_all",
        "function_alias:get_all:all_projects",
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

static const struct db_stmt get_stmt = {
    "qa_alias_get",
    "SELECT " QA_SEL_ALIAS " FROM function_aliases a WHERE a.name = $1 AND ($2::text IS NULL OR "
    "a.project_id = $2) ORDER BY (a.project_id = $3) DESC, a.created_at LIMIT 1",
    3,
};

static int answer(struct qa_call *c, const char *name, int status)
{
    const char *p[3] = {name, qa_scope(c), c->project};
    PGresult *res = NULL;
    char nf[320];

    if (qa_exec(c, &get_stmt, p, &res) < 0)
        return -1;
    snprintf(nf, sizeof(nf), "FunctionAlias not found [name=%.255s]", name);
    qa_answer_one(c, res, status, render, nf);
    return 0;
}

QA_HANDLER(alias_get)
{
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_authorize(&c, "function_alias:get", NULL) < 0)
        return;
    answer(&c, http_req_param(r, "name"), 200);
}

enum { F_NAME, F_FUNCTION, F_VERSION, F_DESC, F_N };

static const struct qa_field fields[] = {
    {"name", QA_T_STR, 0, NULL},
    {"function_id", QA_T_STR, 0, NULL},
    {"function_version", QA_T_INT, 0, NULL},
    {"description", QA_T_STR, QA_F_NULL, NULL},
    {"id", QA_T_STR, QA_F_RO, NULL},
    {"project_id", QA_T_STR, QA_F_RO, NULL},
    {"created_at", QA_T_STR, QA_F_RO, NULL},
    {"updated_at", QA_T_STR, QA_F_RO, NULL},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* The function and version exist and are visible (2.5 [fix]); 0 or answered. */
static int check_target(struct qa_call *c, const char *fid, int64_t version)
{
    struct qm_fn fn;
    struct error err;
    char u[UUID_STR_LEN];

    if (uuid_normalize(fid, u) < 0)
        return qa_fail(c, 400, "Expected a uuid but received %s.", fid);
    if (version < 0)
        return qa_fail(c, 400, "Invalid value for function_version: an integer is required.");
    if (qm_fn_load(c->db, u, version, qa_scope(c), &fn, &err) < 0)
        return qa_respond_error(c, &err);
    qm_fn_clear(&fn);
    return 0;
}

/* 409 for a unique violation, naming the columns of the constraint. */
static void duplicate(struct qa_call *c)
{
    const char *k = db_last_constraint(c->db);

    if (strcmp(k, "function_aliases_project_id_name_key") == 0)
        qa_fail(c, 409, "Duplicate entry for function_aliases: project_id, name");
    else
        qa_fail(c, 409,
                "Duplicate entry for function_aliases: project_id, function_id, function_version");
}

static const struct db_stmt insert_stmt = {
    "qa_alias_insert",
    "INSERT INTO function_aliases (id, name, function_id, function_version, description, "
    "project_id) VALUES ($1::uuid, $2, $3::uuid, $4::int, $5, $6)",
    6,
};

static int run(struct qa_call *c, const struct db_stmt *st, const char *const *p)
{
    struct error err;
    PGresult *res = NULL;
    int rc = db_exec_stmt(c->db, st, p, &res, &err);

    if (rc == -EEXIST)
        duplicate(c);
    else if (rc < 0) {
        qm_db_fail(rc, &err);
        qa_respond_error(c, &err);
    }
    rc = rc < 0 ? -1 : (int)db_affected(res);
    PQclear(res);
    return rc;
}

QA_HANDLER(alias_create)
{
    struct qa_value v[NFIELDS];
    char id[UUID_STR_LEN], fid[UUID_STR_LEN], ver[DB_INT_LEN];
    struct qa_body b;
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_body_read(&c, 0, &b) < 0)
        return;
    if (qa_fields(&c, &b, fields, NFIELDS, v) < 0 ||
        qa_authorize(&c, "function_alias:create", NULL) < 0)
        goto out;
    if (!v[F_NAME].present || !v[F_FUNCTION].present) {
        qa_fail(&c, 400, "Required param is missing. Required: name, function_id");
    } else if (!qm_alias_name_ok(v[F_NAME].s)) {
        qa_fail(&c, 400, "Invalid value for name: 1 to 255 of A-Z a-z 0-9 - . _ ~, not a UUID.");
    } else if (check_target(&c, v[F_FUNCTION].s, v[F_VERSION].i) == 0 &&
               uuid_normalize(v[F_FUNCTION].s, fid) == 0) {
        const char *p[6] = {id,          v[F_NAME].s, fid, db_param_int(ver, v[F_VERSION].i),
                            v[F_DESC].s, c.project};

        uuid_v4(id);
        if (!qm_text_ok(v[F_DESC].s ? v[F_DESC].s : "", QM_DESCRIPTION_MAX))
            qa_fail(&c, 400, "Invalid value for description: at most 255 characters.");
        else if (run(&c, &insert_stmt, p) >= 0)
            answer(&c, v[F_NAME].s, 201);
    }
out:
    qa_body_free(&b);
}

static const struct db_stmt update_stmt = {
    "qa_alias_update",
    "UPDATE function_aliases SET function_id = coalesce($3::uuid, function_id), "
    "function_version = coalesce($4::int, function_version), description = CASE WHEN "
    "$5::boolean THEN $6 ELSE description END, updated_at = now() WHERE id = (SELECT id FROM "
    "function_aliases WHERE name = $1 AND ($2::text IS NULL OR project_id = $2) ORDER BY "
    "(project_id = $7) DESC, created_at LIMIT 1)",
    7,
};

static const struct db_stmt current_stmt = {
    "qa_alias_current",
    "SELECT function_id, function_version FROM function_aliases WHERE name = $1 AND ($2::text "
    "IS NULL OR project_id = $2) ORDER BY (project_id = $3) DESC, created_at LIMIT 1",
    3,
};

QA_HANDLER(alias_update)
{
    const char *name = http_req_param(r, "name");
    char ref[UUID_STR_LEN + 64], fid[UUID_STR_LEN] = "", ver[DB_INT_LEN];
    struct qa_value v[NFIELDS];
    PGresult *cur = NULL;
    struct qa_body b;
    struct qa_call c;
    int64_t version;

    if (qa_call_init(r, &c) < 0 || qa_body_read(&c, 0, &b) < 0)
        return;
    if (qa_fields(&c, &b, fields, NFIELDS, v) < 0 ||
        qa_authorize(&c, "function_alias:update", NULL) < 0)
        goto out;
    if (v[F_NAME].present) {
        qa_fail(&c, 400, "Attribute name is read-only.");
        goto out;
    }
    const char *q[3] = {name, qa_scope(&c), c.project};
    if (qa_exec(&c, &current_stmt, q, &cur) < 0)
        goto out;
    if (PQntuples(cur) == 0) {
        qa_fail(&c, 404, "FunctionAlias not found [name=%.255s]", name);
        goto out;
    }
    snprintf(ref, sizeof(ref), "%s",
             v[F_FUNCTION].present ? v[F_FUNCTION].s : PQgetvalue(cur, 0, 0));
    version = v[F_VERSION].present ? v[F_VERSION].i : strtoll(PQgetvalue(cur, 0, 1), NULL, 10);
    if (check_target(&c, ref, version) < 0 || uuid_normalize(ref, fid) < 0)
        goto out;
    if (v[F_DESC].s != NULL && !qm_text_ok(v[F_DESC].s, QM_DESCRIPTION_MAX)) {
        qa_fail(&c, 400, "Invalid value for description: at most 255 characters.");
        goto out;
    }
    const char *p[7] = {name,
                        qa_scope(&c),
                        fid,
                        db_param_int(ver, version),
                        db_param_bool(v[F_DESC].present),
                        v[F_DESC].s,
                        c.project};
    if (run(&c, &update_stmt, p) >= 0)
        answer(&c, name, 200);
out:
    PQclear(cur);
    qa_body_free(&b);
}

static const struct db_stmt delete_stmt = {
    "qa_alias_delete",
    "WITH a AS (SELECT id, name, project_id FROM function_aliases WHERE name = $1 AND ($2::text "
    "IS NULL OR project_id = $2) ORDER BY (project_id = $3) DESC, created_at LIMIT 1 FOR "
    "UPDATE), used AS (SELECT EXISTS (SELECT 1 FROM a, jobs j WHERE j.function_alias = a.name "
    "AND j.project_id = a.project_id AND j.status IN ('running', 'paused')) OR EXISTS (SELECT 1 "
    "FROM a, webhooks w WHERE w.function_alias = a.name AND w.project_id = a.project_id) OR "
    "EXISTS (SELECT 1 FROM a, triggers t WHERE t.function_alias = a.name AND t.project_id = "
    "a.project_id) u), d AS (DELETE FROM function_aliases x USING a, used WHERE x.id = a.id AND "
    "NOT used.u RETURNING x.id) SELECT (SELECT count(*) FROM a), (SELECT u FROM used), "
    "(SELECT count(*) FROM d)",
    3,
};

QA_HANDLER(alias_delete)
{
    const char *name = http_req_param(r, "name");
    PGresult *res = NULL;
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_authorize(&c, "function_alias:delete", NULL) < 0)
        return;
    const char *p[3] = {name, qa_scope(&c), c.project};
    if (qa_exec(&c, &delete_stmt, p, &res) < 0)
        return;
    if (strcmp(PQgetvalue(res, 0, 0), "0") == 0)
        qa_fail(&c, 404, "FunctionAlias not found [name=%.255s]", name);
    else if (strcmp(PQgetvalue(res, 0, 2), "0") == 0)
        qa_fail(&c, 403, "The function alias is still in use.");
    else
        http_resp_empty(r, 204);
    PQclear(res);
}
