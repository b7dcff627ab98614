/* qapi/h_executions.c: /v1/executions (2.6).
 *
 * A sync POST waits on the listener (qapi/waiters.h) for the engine's
 * NOTIFY, re-reading the row at least once a second, for at most
 * pending_timeout + the function's timeout + [api] sync_grace; past that it
 * answers 201 with the execution as it stands, still running ([fix]). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "qapi/body.h"
#include "qapi/exec.h"
#include "qapi/handlers.h"
#include "qapi/list.h"
#include "qapi/render.h"
#include "qapi/waiters.h"
#include "qmodel/exec.h"
#include "qmodel/fault.h"
#include "qmodel/launch.h"
#include "qmodel/value.h"

static void render(struct jw *w, const PGresult *res, int row, struct qa_call *c)
{
    (void)c;
    qa_render_execution(w, res, row);
}

static const struct db_stmt get_stmt = {
    "qa_exec_get",
    "SELECT " QA_SEL_EXECUTION " FROM executions e WHERE e.id = $1::uuid "
    "AND ($2::text IS NULL OR e.project_id = $2)",
    2,
};

int qa_execution_answer(struct qa_call *c, const char *id, const char *scope, int status)
{
    const char *p[2] = {id, scope};
    PGresult *res = NULL;
    char nf[128];

    if (qa_exec(c, &get_stmt, p, &res) < 0)
        return -1;
    snprintf(nf, sizeof(nf), "Execution not found [id=%s]", id);
    qa_answer_one(c, res, status, render, nf);
    return 0;
}

static const struct qm_filter_field filters[] = {
    {"function_id", "e.function_id", QM_F_UUID},
    {"status", "e.status", QM_F_STR},
    {"description", "e.description", QM_F_STR},
    {"function_version", "e.function_version", QM_F_INT},
    {"board_id", "e.board_id", QM_F_UUID},
    {"fleet_id", "e.fleet_id", QM_F_UUID},
    {"trigger_id", "e.trigger_id", QM_F_UUID},
    {"parent_id", "e.parent_id", QM_F_UUID},
    {"created_at", "e.created_at", QM_F_TIME},
};

QA_HANDLER(executions_list)
{
    static const struct qa_list_spec spec = {
        "executions",
        "SELECT " QA_SEL_EXECUTION " FROM executions e",
        "e",
        "executions",
        filters,
        sizeof(filters) / sizeof(filters[0]),
        "execution:get_all",
        "execution:get_all:all_projects",
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

QA_HANDLER(execution_get)
{
    char id[UUID_STR_LEN];
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0 ||
        qa_authorize(&c, "execution:get", NULL) < 0)
        return;
    qa_execution_answer(&c, id, qa_scope(&c), 200);
}

static const struct db_stmt log_stmt = {
    "qa_exec_log",
    "SELECT coalesce(logs, '') FROM executions WHERE id = $1::uuid AND ($2::text IS NULL OR "
    "project_id = $2)",
    2,
};

QA_HANDLER(execution_log)
{
    char id[UUID_STR_LEN];
    PGresult *res = NULL;
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0 ||
        qa_authorize(&c, "execution:get_log", NULL) < 0)
        return;
    const char *p[2] = {id, qa_scope(&c)};
    if (qa_exec(&c, &log_stmt, p, &res) < 0)
        return;
    if (PQntuples(res) == 0)
        qa_fail(&c, 404, "Execution not found [id=%s]", id);
    else
        http_resp_body(r, 200, "text/plain; charset=utf-8", PQgetvalue(res, 0, 0),
                       (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
}

static const struct db_stmt delete_stmt = {
    "qa_exec_delete",
    "DELETE FROM executions WHERE id = $1::uuid AND ($2::text IS NULL OR project_id = $2)",
    2,
};

QA_HANDLER(execution_delete)
{
    qa_delete_scoped(r, &delete_stmt, "execution:delete", "Execution");
}

/* The execution row, rendered when it is terminal: one read per wake-up
 * (the notification says it is done; the read confirms it). 1 and *res when
 * terminal (or gone: an empty result), 0 when not, -1 on a failure. */
static int read_final(struct qa_call *c, const char *id, PGresult **res)
{
    const char *p[2] = {id, NULL};
    struct error err;
    int t;

    *res = NULL;
    if (db_exec_stmt(c->db, &get_stmt, p, res, &err) < 0) {
        log_warn("sync wait: %s", err.msg);
        return -1;
    }
    t = PQntuples(*res) == 0 || QM_EXEC_TERMINAL(PQgetvalue(*res, 0, 5));
    if (!t) {
        PQclear(*res);
        *res = NULL;
    }
    return t;
}

PGresult *qa_sync_wait(struct qa_call *c, struct qa_wait *w, const char *id, int64_t bound_s)
{
    int64_t end = time_mono_ms() + bound_s * 1000;
    PGresult *res = NULL;

    for (;;) {
        int64_t left = end - time_mono_ms();

        if (left <= 0)
            return NULL;
        /* Woken or not, the row decides; at least once a second (3.6). */
        qa_wait_for(c->a->waiters, w, left < 1000 ? (int)left : 1000);
        if (read_final(c, id, &res) == 1)
            return res;
    }
}

void qa_announce(struct qa_call *c, const struct qm_exec_made *m)
{
    for (size_t i = 0; i < m->ndispatch; i++)
        qa_tell_engine(c, "dispatch", "execution_id", m->dispatch[i]);
}

enum {
    F_FID,
    F_ALIAS,
    F_VERSION,
    F_SYNC,
    F_INPUT,
    F_DESC,
    F_BOARD,
    F_FLEET,
    F_PLACEMENT,
    F_PENDING,
    F_N
};

static const struct qa_field fields[] = {
    {"function_id", QA_T_STR, QA_F_NULL, NULL},
    {"function_alias", QA_T_STR, QA_F_NULL, NULL},
    {"function_version", QA_T_INT, 0, NULL},
    {"sync", QA_T_BOOL, 0, NULL},
    {"input", QA_T_STR, QA_F_NULL, NULL},
    {"description", QA_T_STR, QA_F_NULL, NULL},
    {"board_id", QA_T_STR, QA_F_NULL, NULL},
    {"fleet_id", QA_T_STR, QA_F_NULL, NULL},
    {"placement", QA_T_STR, QA_F_NULL, NULL},
    {"pending_timeout", QA_T_INT, 0, NULL},
    {"id", QA_T_STR, QA_F_RO, NULL},
    {"status", QA_T_STR, QA_F_RO, NULL},
    {"result", QA_T_STR, QA_F_RO, NULL},
    {"project_id", QA_T_STR, QA_F_RO, NULL},
    {"created_at", QA_T_STR, QA_F_RO, NULL},
    {"updated_at", QA_T_STR, QA_F_RO, NULL},
    {"deadline", QA_T_STR, QA_F_RO, NULL},
    {"parent_id", QA_T_STR, QA_F_RO, NULL},
    {"children", QA_T_STR, QA_F_RO, NULL},
    {"trigger_id", QA_T_STR, QA_F_RO, NULL},
    {"firing_id", QA_T_STR, QA_F_RO, NULL},
    {"executor", QA_T_STR, QA_F_RO, NULL},
    {"timing", QA_T_STR, QA_F_RO, NULL},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

void qa_launch_defaults(const struct qa_call *c, struct qm_launch *q)
{
    q->project = c->project;
    q->scope = qa_scope(c);
    q->board_scope = qa_board_scope(c);
    q->pending_timeout = -1;
    q->max_input = c->a->cfg->max_input_size;
    q->sync_pending_timeout = c->a->cfg->sync_pending_timeout;
    q->async_pending_timeout = c->a->cfg->async_pending_timeout;
}

static void create(struct qa_call *c, const struct qa_value *v)
{
    struct qm_launch q = {0};
    struct qm_launched l;
    struct qa_wait *w = NULL;
    PGresult *final = NULL;
    struct error err;

    if (v[F_DESC].s != NULL && !qm_text_ok(v[F_DESC].s, QM_DESCRIPTION_MAX)) {
        qa_fail(c, 400, "Invalid value for description: at most 255 characters.");
        return;
    }
    qa_launch_defaults(c, &q);
    q.function_id = v[F_FID].s;
    q.alias = v[F_ALIAS].s;
    q.version = v[F_VERSION].i;
    q.sync = v[F_SYNC].present ? v[F_SYNC].b : 1;
    q.input = v[F_INPUT].s;
    q.description = v[F_DESC].s;
    q.target = (struct qm_target_req){v[F_BOARD].s, v[F_FLEET].s, v[F_PLACEMENT].s};
    if (v[F_PENDING].present)
        q.pending_timeout = v[F_PENDING].i;
    if (qm_launch(c->db, &q, &l, &err) < 0) {
        qa_respond_error(c, &err);
        return;
    }
    if (q.sync)
        w = qa_wait_begin(c->a->waiters, l.made.id);
    qa_announce(c, &l.made);
    if (w != NULL) {
        final =
            qa_sync_wait(c, w, l.made.id, l.pending_timeout + l.timeout + c->a->cfg->sync_grace);
        qa_wait_end(c->a->waiters, w);
    }
    if (final != NULL)
        qa_answer_one(c, final, 201, render, "Execution not found");
    else
        qa_execution_answer(c, l.made.id, NULL, 201);
    qm_launched_clear(&l);
}

QA_HANDLER(execution_create)
{
    struct qa_value v[NFIELDS];
    struct qa_body b;
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_body_read(&c, 0, &b) < 0)
        return;
    if (qa_fields(&c, &b, fields, NFIELDS, v) == 0 &&
        qa_authorize(&c, "execution:create", NULL) == 0)
        create(&c, v);
    qa_body_free(&b);
}
