/* qmodel/exec.c: see exec.h. */
#include "qmodel/exec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "qmodel/fault.h"
#include "qmodel/input.h"

static const struct db_stmt insert_stmt = {
    "qm_exec_insert",
    "INSERT INTO executions (id, function_id, function_version, function_alias, description, "
    "status, sync, input, input_kind, board_id, fleet_id, placement, pending_timeout, deadline, "
    "parent_id, trigger_id, firing_id, package_sha256, runtime_id, runtime_sha256, logs, "
    "project_id) VALUES ($1::uuid, $2::uuid, $3::int, $4, $5, $6, $7::boolean, $8, $9, "
    "$10::uuid, $11::uuid, $12, $13::int, now() + make_interval(secs => $13::int), $14::uuid, "
    "$15::uuid, $16::uuid, $17, $18::uuid, $19, $20, $21)",
    21,
};

/* One execution and its count in one statement (atomic on its own). */
static const struct db_stmt insert_one_stmt = {
    "qm_exec_insert_one",
    "WITH f AS (UPDATE functions SET count = count + 1 WHERE id = $2::uuid AND $3::int = 0 "
    "RETURNING 1), v AS (UPDATE function_versions SET count = count + 1 WHERE function_id = "
    "$2::uuid AND version_number = $3::int AND $3::int > 0 RETURNING 1) "
    "INSERT INTO executions (id, function_id, function_version, function_alias, description, "
    "status, sync, input, input_kind, board_id, fleet_id, placement, pending_timeout, deadline, "
    "parent_id, trigger_id, firing_id, package_sha256, runtime_id, runtime_sha256, logs, "
    "project_id) VALUES ($1::uuid, $2::uuid, $3::int, $4, $5, $6, $7::boolean, $8, $9, "
    "$10::uuid, $11::uuid, $12, $13::int, now() + make_interval(secs => $13::int), $14::uuid, "
    "$15::uuid, $16::uuid, $17, $18::uuid, $19, $20, $21)",
    21,
};

static const struct db_stmt count_fn = {
    "qm_exec_count_fn",
    "UPDATE functions SET count = count + 1 WHERE id = $1::uuid",
    1,
};

static const struct db_stmt count_version = {
    "qm_exec_count_version",
    "UPDATE function_versions SET count = count + 1 WHERE function_id = $1::uuid "
    "AND version_number = $2::int",
    2,
};

struct row {
    const char *id, *status, *board, *fleet, *placement, *parent, *logs;
};

static int insert_row_with(struct db *db, const struct db_stmt *st, const struct qm_exec_req *q,
                           const struct row *w, struct error *err)
{
    char ver[DB_INT_LEN], pt[DB_INT_LEN];
    const struct qm_fn *f = q->fn;
    const char *p[21] = {
        w->id,
        f->id,
        db_param_int(ver, f->version),
        q->alias,
        q->description,
        w->status,
        db_param_bool(q->sync),
        q->input != NULL && q->input[0] != '\0' ? q->input : NULL,
        qm_input_kind_name(qm_input_classify(q->input)),
        w->board,
        w->fleet,
        w->placement,
        db_param_int(pt, q->pending_timeout),
        w->parent,
        q->trigger_id,
        q->firing_id,
        f->pkg_sha256[0] ? f->pkg_sha256 : NULL,
        f->rt.present ? f->rt.id : NULL,
        f->rt.sha256[0] ? f->rt.sha256 : NULL,
        w->logs,
        q->project,
    };

    return db_exec_stmt(db, st, p, NULL, err);
}

static int insert_row(struct db *db, const struct qm_exec_req *q, const struct row *w,
                      struct error *err)
{
    return insert_row_with(db, &insert_stmt, q, w, err);
}

struct tx {
    const struct qm_exec_req *q;
    struct qm_exec_made *out;
};

static int count(struct db *db, const struct qm_fn *f, struct error *err)
{
    char ver[DB_INT_LEN];
    const char *p[2] = {f->id, db_param_int(ver, f->version)};

    return db_exec_stmt(db, f->version > 0 ? &count_version : &count_fn, p, NULL, err);
}

static int fan_out(struct db *db, const struct qm_exec_req *q, struct qm_exec_made *m,
                   struct error *err)
{
    const struct qm_plan *pl = q->plan;
    struct row w = {m->id, "running", NULL, q->target->fleet_id, "all", NULL, pl->skipped};
    int rc = insert_row(db, q, &w, err);

    snprintf(m->status, sizeof(m->status), "running");
    for (size_t i = 0; rc == 0 && i < pl->nchildren; i++) {
        const struct qm_board *b = &pl->children[i];
        int online = strcmp(b->status, "online") == 0 && b->caps != NULL;
        struct row c = {
            m->dispatch[i], online ? "running" : "pending", b->uuid, NULL, NULL, m->id, NULL};

        rc = insert_row(db, q, &c, err);
    }
    return rc;
}

/* A fan-out: the count, the parent and its children in one transaction. */
static int tx_body(struct db *db, void *arg, struct error *err)
{
    struct tx *t = arg;
    int rc = count(db, t->q->fn, err);

    return rc < 0 ? rc : fan_out(db, t->q, t->out, err);
}

/* The common case: no fan-out, one statement, no BEGIN ... COMMIT. */
static int insert_single(struct db *db, const struct qm_exec_req *q, struct qm_exec_made *m,
                         struct error *err)
{
    const struct qm_target *tg = q->target;
    struct row w;

    snprintf(m->status, sizeof(m->status), "%s", q->plan->online ? "running" : "pending");
    w = (struct row){m->id,
                     m->status,
                     tg->board_id[0] ? tg->board_id : NULL,
                     tg->fleet_id[0] ? tg->fleet_id : NULL,
                     tg->placement[0] ? tg->placement : NULL,
                     NULL,
                     NULL};
    return insert_row_with(db, &insert_one_stmt, q, &w, err);
}

int qm_exec_insert(struct db *db, const struct qm_exec_req *q, struct qm_exec_made *out,
                   struct error *err)
{
    struct tx t = {q, out};
    size_t n = q->plan->nchildren > 0 ? q->plan->nchildren : 1;
    int rc;

    memset(out, 0, sizeof(*out));
    uuid_v4(out->id);
    out->dispatch = xcalloc(n, sizeof(*out->dispatch));
    out->ndispatch = n;
    if (q->plan->nchildren == 0)
        memcpy(out->dispatch[0], out->id, UUID_STR_LEN);
    for (size_t i = 0; q->plan->nchildren > 0 && i < n; i++)
        uuid_v4(out->dispatch[i]);
    /* Inside the caller's transaction (a job's claim) the rows join it. */
    if (q->plan->nchildren == 0)
        rc = insert_single(db, q, out, err);
    else if (db_in_transaction(db))
        rc = tx_body(db, &t, err);
    else
        rc = db_tx(db, tx_body, &t, err);
    if (rc < 0) {
        qm_exec_made_clear(out);
        return qm_db_fail(rc, err);
    }
    return 0;
}

void qm_exec_made_clear(struct qm_exec_made *m)
{
    free(m->dispatch);
    m->dispatch = NULL;
    m->ndispatch = 0;
}
