/* qapi/h_jobs.c: /v1/jobs (2.8). The engine fires them (qengine/jobs.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/uuid.h"
#include "qapi/body.h"
#include "qapi/handlers.h"
#include "qapi/list.h"
#include "qapi/render.h"
#include "qmodel/cron.h"
#include "qmodel/fault.h"
#include "qmodel/fn.h"
#include "qmodel/target.h"
#include "qmodel/value.h"

#define FUTURE_MIN_US (60 * INT64_C(1000000))

static void render(struct jw *w, const PGresult *res, int row, struct qa_call *c)
{
    (void)c;
    qa_render_job(w, res, row);
}

static const struct db_stmt get_stmt = {
    "qa_job_get",
    "SELECT " QA_SEL_JOB " FROM jobs j WHERE j.id = $1::uuid AND ($2::text IS NULL OR "
    "j.project_id = $2)",
    2,
};

static int answer(struct qa_call *c, const char *id, int status)
{
    const char *p[2] = {id, qa_scope(c)};
    PGresult *res = NULL;
    char nf[128];

    if (qa_exec(c, &get_stmt, p, &res) < 0)
        return -1;
    snprintf(nf, sizeof(nf), "Job not found [id=%s]", id);
    qa_answer_one(c, res, status, render, nf);
    return 0;
}

static const struct qm_filter_field filters[] = {
    {"status", "j.status", QM_F_STR},
    {"function_id", "j.function_id", QM_F_UUID},
};

QA_HANDLER(jobs_list)
{
    static const struct qa_list_spec spec = {
        "jobs",        "SELECT " QA_SEL_JOB " FROM jobs j", "j", "jobs", filters, 2,
        "job:get_all", "job:get_all:all_projects",          0,   0,      render,  NULL,
        NULL,
    };
    struct qa_call c;

    if (qa_call_init(r, &c) == 0)
        qa_list(&c, &spec);
}

QA_HANDLER(job_get)
{
    char id[UUID_STR_LEN];
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0 ||
        qa_authorize(&c, "job:get", NULL) < 0)
        return;
    answer(&c, id, 200);
}

enum {
    F_FID,
    F_ALIAS,
    F_VERSION,
    F_NAME,
    F_PATTERN,
    F_FIRST,
    F_COUNT,
    F_INPUT,
    F_BOARD,
    F_FLEET,
    F_PLACEMENT,
    F_PENDING,
    F_STATUS,
    F_NEXT,
    F_N
};

static const struct qa_field fields[] = {
    {"function_id", QA_T_STR, QA_F_NULL, NULL},
    {"function_alias", QA_T_STR, QA_F_NULL, NULL},
    {"function_version", QA_T_INT, 0, NULL},
    {"name", QA_T_STR, QA_F_NULL, NULL},
    {"pattern", QA_T_STR, QA_F_NULL, NULL},
    {"first_execution_time", QA_T_STR, QA_F_NULL, NULL},
    {"count", QA_T_INT, QA_F_NULL, NULL},
    {"function_input", QA_T_STR, QA_F_NULL, NULL},
    {"board_id", QA_T_STR, QA_F_NULL, NULL},
    {"fleet_id", QA_T_STR, QA_F_NULL, NULL},
    {"placement", QA_T_STR, QA_F_NULL, NULL},
    {"pending_timeout", QA_T_INT, QA_F_NULL, NULL},
    {"status", QA_T_STR, 0, NULL},
    {"next_execution_time", QA_T_STR, QA_F_NULL, NULL},
    {"id", QA_T_STR, QA_F_RO, NULL},
    {"project_id", QA_T_STR, QA_F_RO, NULL},
    {"created_at", QA_T_STR, QA_F_RO, NULL},
    {"updated_at", QA_T_STR, QA_F_RO, NULL},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static const struct db_stmt alias_stmt = {
    "qa_job_alias",
    "SELECT function_id, function_version FROM function_aliases WHERE name = $1 AND ($2::text "
    "IS NULL OR project_id = $2) ORDER BY (project_id = $3) DESC, created_at LIMIT 1",
    3,
};

struct job {
    char id[UUID_STR_LEN], fid[UUID_STR_LEN];
    int64_t version;
    int64_t first, count; /* count -1: unlimited (null) */
    struct qm_fn fn;
    struct qm_target target;
};

/* The function (through the alias when given) and version; 0 or answered. */
static int resolve_function(struct qa_call *c, const struct qa_value *v, struct job *j)
{
    const char *p[3] = {v[F_ALIAS].s, qa_scope(c), c->project};
    PGresult *res = NULL;
    struct error err;

    j->version = v[F_VERSION].i;
    if (v[F_ALIAS].s != NULL) {
        if (qa_exec(c, &alias_stmt, p, &res) < 0)
            return -1;
        if (PQntuples(res) == 0) {
            PQclear(res);
            return qa_fail(c, 404, "FunctionAlias not found [name=%.255s]", v[F_ALIAS].s);
        }
        snprintf(j->fid, sizeof(j->fid), "%s", PQgetvalue(res, 0, 0));
        j->version = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        PQclear(res);
    } else if (uuid_normalize(v[F_FID].s, j->fid) < 0) {
        return qa_fail(c, 400, "Expected a uuid but received %s.", v[F_FID].s);
    }
    if (j->version < 0)
        return qa_fail(c, 400, "Invalid value for function_version: an integer is required.");
    if (qm_fn_load(c->db, j->fid, j->version, qa_scope(c), &j->fn, &err) < 0)
        return qa_respond_error(c, &err);
    return 0;
}

/* pattern, first_execution_time and count (2.8 create rules). */
static int schedule(struct qa_call *c, const struct qa_value *v, struct job *j)
{
    struct qm_cron cron;
    struct error err;
    int64_t now = time_now_us(), from;

    j->first = 0;
    if (v[F_PATTERN].s == NULL && v[F_FIRST].s == NULL)
        return qa_fail(c, 400, "pattern or first_execution_time must be specified.");
    if (v[F_FIRST].s != NULL) {
        if (time_parse(v[F_FIRST].s, &j->first) < 0)
            return qa_fail(c, 400, "Invalid time %s.", v[F_FIRST].s);
        if (j->first < now + FUTURE_MIN_US)
            return qa_fail(c, 400, "Execution time must be at least 1 minute in the future.");
    }
    if (v[F_COUNT].present && !v[F_COUNT].null && v[F_COUNT].i < 1)
        return qa_fail(c, 400, "Invalid value for count: an integer >= 1 is required.");
    if (v[F_COUNT].present && !v[F_COUNT].null && v[F_COUNT].i > 1 && v[F_PATTERN].s == NULL)
        return qa_fail(c, 400, "pattern must be provided if count is greater than 1.");
    j->count = v[F_COUNT].present && !v[F_COUNT].null ? v[F_COUNT].i
               : v[F_PATTERN].s == NULL               ? 1
                                                      : -1;
    if (v[F_PATTERN].s == NULL)
        return 0;
    if (qm_cron_parse(v[F_PATTERN].s, &cron, &err) < 0)
        return qa_fail(c, 400, "The specified pattern is not valid: %s", v[F_PATTERN].s);
    /* [fix]: the first run is never before first_execution_time. */
    from = v[F_FIRST].s != NULL ? j->first : now;
    if (qm_cron_next(&cron, from, v[F_FIRST].s != NULL, &j->first) < 0)
        return qa_fail(c, 400, "The specified pattern is not valid: %s", v[F_PATTERN].s);
    return 0;
}

static int checks(struct qa_call *c, const struct qa_value *v, struct job *j)
{
    struct qm_target_req req = {v[F_BOARD].s, v[F_FLEET].s, v[F_PLACEMENT].s};
    struct error err;

    if (v[F_NAME].s != NULL && !qm_text_ok(v[F_NAME].s, QM_NAME_MAX))
        return qa_fail(c, 400, "Invalid value for name: at most 255 characters.");
    if (v[F_INPUT].s != NULL && (int64_t)strlen(v[F_INPUT].s) > c->a->cfg->max_input_size)
        return qa_fail(c, 400, "Input exceeds %lld bytes.", (long long)c->a->cfg->max_input_size);
    if (v[F_PENDING].present && !v[F_PENDING].null &&
        (v[F_PENDING].i < 0 || v[F_PENDING].i > 86400))
        return qa_fail(c, 400,
                       "Invalid value for pending_timeout: an integer from 0 to 86400 is "
                       "required.");
    memset(&j->target, 0, sizeof(j->target));
    if (qm_target_syntax(&req, 1, &err) < 0)
        return qa_respond_error(c, &err);
    if ((req.board_ref != NULL || req.fleet_ref != NULL) &&
        qm_target_resolve(c->db, &req, &j->fn, qa_board_scope(c), &j->target, &err) < 0)
        return qa_respond_error(c, &err);
    if (req.board_ref == NULL && req.fleet_ref == NULL && req.placement != NULL)
        snprintf(j->target.placement, sizeof(j->target.placement), "%s", req.placement);
    return schedule(c, v, j);
}

static const struct db_stmt insert_stmt = {
    "qa_job_insert",
    "INSERT INTO jobs (id, name, function_id, function_alias, function_version, function_input, "
    "status, pattern, count, first_execution_time, next_execution_time, board_id, fleet_id, "
    "placement, pending_timeout, project_id) VALUES ($1::uuid, $2, $3::uuid, $4, $5::int, $6, "
    "'running', $7, $8::int, to_timestamp($9::bigint / 1e6), to_timestamp($9::bigint / 1e6), "
    "$10::uuid, $11::uuid, $12, $13::int, $14)",
    14,
};

QA_HANDLER(job_create)
{
    struct qa_value v[NFIELDS];
    struct job j = {0};
    char ver[DB_INT_LEN], cnt[DB_INT_LEN], first[DB_INT_LEN], pt[DB_INT_LEN];
    struct qa_body b;
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_body_read(&c, 0, &b) < 0)
        return;
    if (qa_fields(&c, &b, fields, NFIELDS, v) < 0 || qa_authorize(&c, "job:create", NULL) < 0)
        goto out;
    if (v[F_STATUS].present || v[F_NEXT].present) {
        qa_fail(&c, 400, "Attribute %s is read-only.",
                v[F_STATUS].present ? "status" : "next_execution_time");
        goto out;
    }
    if (v[F_FID].s == NULL && v[F_ALIAS].s == NULL) {
        qa_fail(&c, 400, "Either function_alias or function_id must be provided.");
        goto out;
    }
    if (resolve_function(&c, v, &j) < 0 || checks(&c, v, &j) < 0)
        goto out;
    uuid_v4(j.id);
    const char *p[14] = {
        j.id,
        v[F_NAME].s,
        j.fid,
        v[F_ALIAS].s,
        db_param_int(ver, j.version),
        v[F_INPUT].s,
        v[F_PATTERN].s,
        j.count >= 0 ? db_param_int(cnt, j.count) : NULL,
        db_param_int(first, j.first),
        j.target.board_id[0] ? j.target.board_id : NULL,
        j.target.fleet_id[0] ? j.target.fleet_id : NULL,
        j.target.placement[0] ? j.target.placement : NULL,
        v[F_PENDING].present && !v[F_PENDING].null ? db_param_int(pt, v[F_PENDING].i) : NULL,
        j.fn.project,
    };
    if (qa_exec(&c, &insert_stmt, p, NULL) == 0)
        answer(&c, j.id, 201);
out:
    qm_fn_clear(&j.fn);
    qa_body_free(&b);
}

static const struct db_stmt current_stmt = {
    "qa_job_current",
    "SELECT status, pattern, (extract(epoch FROM next_execution_time) * 1e6)::bigint, project_id "
    "FROM jobs WHERE id = $1::uuid AND ($2::text IS NULL OR project_id = $2)",
    2,
};

static const struct db_stmt update_stmt = {
    "qa_job_update",
    "UPDATE jobs SET name = CASE WHEN $2::boolean THEN $3 ELSE name END, function_input = CASE "
    "WHEN $4::boolean THEN $5 ELSE function_input END, status = $6, pattern = $7, "
    "next_execution_time = to_timestamp($8::bigint / 1e6), updated_at = now() "
    "WHERE id = $1::uuid",
    8,
};

/* The new status and next time (2.8 update rules); 0 or answered. */
static int reschedule(struct qa_call *c, const struct qa_value *v, const PGresult *cur,
                      const char **status, const char **pattern, int64_t *next)
{
    struct qm_cron cron;
    struct error err;
    int64_t now = time_now_us();
    int was_cron = !PQgetisnull(cur, 0, 1), resumed;

    *status = v[F_STATUS].present ? v[F_STATUS].s : PQgetvalue(cur, 0, 0);
    *pattern = v[F_PATTERN].present ? v[F_PATTERN].s : (was_cron ? PQgetvalue(cur, 0, 1) : NULL);
    *next = strtoll(PQgetvalue(cur, 0, 2), NULL, 10);
    if (strcmp(*status, "running") && strcmp(*status, "paused") && strcmp(*status, "cancelled"))
        return qa_fail(c, 400, "Invalid status.");
    if (v[F_PATTERN].present && (*pattern != NULL) != was_cron)
        return qa_fail(c, 400, "Can not change job type.");
    if (v[F_NEXT].present) {
        if (v[F_NEXT].s == NULL || time_parse(v[F_NEXT].s, next) < 0)
            return qa_fail(c, 400, "Invalid time %s.", v[F_NEXT].s ? v[F_NEXT].s : "null");
        if (*next < now + FUTURE_MIN_US)
            return qa_fail(c, 400, "Execution time must be at least 1 minute in the future.");
    }
    resumed = strcmp(PQgetvalue(cur, 0, 0), "paused") == 0 && strcmp(*status, "running") == 0;
    if (*pattern != NULL && (v[F_PATTERN].present || resumed) && !v[F_NEXT].present) {
        if (qm_cron_parse(*pattern, &cron, &err) < 0 || qm_cron_next(&cron, now, 0, next) < 0)
            return qa_fail(c, 400, "The specified pattern is not valid: %s", *pattern);
    }
    return 0;
}

QA_HANDLER(job_update)
{
    struct qa_value v[NFIELDS];
    char id[UUID_STR_LEN], nx[DB_INT_LEN];
    const char *status, *pattern;
    PGresult *cur = NULL;
    struct qa_body b;
    struct qa_call c;
    int64_t next;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0 || qa_body_read(&c, 0, &b) < 0)
        return;
    if (qa_fields(&c, &b, fields, NFIELDS, v) < 0 || qa_authorize(&c, "job:update", NULL) < 0)
        goto out;
    for (int i = 0; i < F_N; i++) {
        if (v[i].present && i != F_NAME && i != F_INPUT && i != F_STATUS && i != F_PATTERN &&
            i != F_NEXT) {
            qa_fail(&c, 400, "Attribute %s is read-only.", fields[i].name);
            goto out;
        }
    }
    const char *q[2] = {id, qa_scope(&c)};
    if (qa_exec(&c, &current_stmt, q, &cur) < 0)
        goto out;
    if (PQntuples(cur) == 0) {
        qa_fail(&c, 404, "Job not found [id=%s]", id);
    } else if (!strcmp(PQgetvalue(cur, 0, 0), "done") ||
               !strcmp(PQgetvalue(cur, 0, 0), "cancelled")) {
        qa_fail(&c, 400, "Can not update a finished job.");
    } else if (v[F_INPUT].s != NULL && (int64_t)strlen(v[F_INPUT].s) > c.a->cfg->max_input_size) {
        qa_fail(&c, 400, "Input exceeds %lld bytes.", (long long)c.a->cfg->max_input_size);
    } else if (v[F_NAME].s != NULL && !qm_text_ok(v[F_NAME].s, QM_NAME_MAX)) {
        qa_fail(&c, 400, "Invalid value for name: at most 255 characters.");
    } else if (reschedule(&c, v, cur, &status, &pattern, &next) == 0) {
        const char *p[8] = {id,           db_param_bool(v[F_NAME].present),
                            v[F_NAME].s,  db_param_bool(v[F_INPUT].present),
                            v[F_INPUT].s, status,
                            pattern,      db_param_int(nx, next)};

        if (qa_exec(&c, &update_stmt, p, NULL) == 0)
            answer(&c, id, 200);
    }
out:
    PQclear(cur);
    qa_body_free(&b);
}

static const struct db_stmt delete_stmt = {
    "qa_job_delete",
    "DELETE FROM jobs WHERE id = $1::uuid AND ($2::text IS NULL OR project_id = $2)",
    2,
};

QA_HANDLER(job_delete)
{
    qa_delete_scoped(r, &delete_stmt, "job:delete", "Job");
}
