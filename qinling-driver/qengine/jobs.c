/* qengine/jobs.c: firing jobs (deviceless-api.md 2.8 "Scheduling").
 *
 * Every [engine] job_interval the due jobs are read; each is claimed with a
 * conditional update on (id, next_execution_time), so any number of engines
 * may run and a job fires once per slot. After an outage missed slots are
 * skipped: the next time is computed from the later of now and the previous
 * next time ([fix]). A firing creates an async execution under the
 * function's project, "Created by Job <id>", through the same path as POST
 * /v1/executions (qmodel/launch.h); a count that reaches 0 makes the job
 * `done`. Worker threads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "db/row.h"
#include "qengine/engine.h"
#include "qmodel/cron.h"
#include "qmodel/fault.h"
#include "qmodel/launch.h"

static const struct db_stmt due_stmt = {
    "qe_jobs_due",
    "SELECT id, (extract(epoch FROM next_execution_time) * 1e6)::bigint, pattern, count, "
    "function_id, function_alias, function_version, function_input, board_id, fleet_id, "
    "placement, pending_timeout, project_id FROM jobs WHERE status = 'running' AND "
    "next_execution_time <= now() ORDER BY next_execution_time LIMIT 100",
    0,
};

/* $3: the new next time (µs), $4: true when this firing is the last. */
static const struct db_stmt claim_stmt = {
    "qe_job_claim",
    "UPDATE jobs SET next_execution_time = CASE WHEN $4::boolean THEN next_execution_time ELSE "
    "to_timestamp($3::bigint / 1e6) END, count = CASE WHEN count IS NULL THEN NULL ELSE "
    "count - 1 END, status = CASE WHEN $4::boolean THEN 'done' ELSE status END, updated_at = "
    "now() WHERE id = $1::uuid AND status = 'running' AND (extract(epoch FROM "
    "next_execution_time) * 1e6)::bigint = $2::bigint RETURNING id",
    4,
};

static const char *opt(const PGresult *res, int i, int col)
{
    return PQgetisnull(res, i, col) ? NULL : PQgetvalue(res, i, col);
}

/* The next time and whether this is the last firing. 0, or -1 when the
 * pattern no longer parses (the job is then finished). */
static int plan(const PGresult *res, int i, int64_t now, int64_t *next, int *last)
{
    const char *pattern = opt(res, i, 2), *count = opt(res, i, 3);
    int64_t prev = strtoll(PQgetvalue(res, i, 1), NULL, 10);
    struct qm_cron c;
    struct error err;

    *last = count != NULL && strtoll(count, NULL, 10) <= 1;
    *next = prev;
    if (pattern == NULL) {
        *last = 1;
        return 0;
    }
    if (qm_cron_parse(pattern, &c, &err) < 0 ||
        qm_cron_next(&c, now > prev ? now : prev, 0, next) < 0) {
        *last = 1;
        return -1;
    }
    return 0;
}

/* The execution of a firing; the claim and the rows commit together, so a
 * crash never loses a claimed firing nor makes one twice. */
static int fire(struct qe *e, struct db *db, const PGresult *res, int i, struct qm_launched *l)
{
    char desc[128];
    struct qm_launch q = {0};
    struct error err;

    snprintf(desc, sizeof(desc), "Created by Job %s", PQgetvalue(res, i, 0));
    q.project = PQgetvalue(res, i, 12);
    q.scope = q.project;
    q.board_scope = NULL; /* the target was checked when the job was created */
    q.alias = opt(res, i, 5);
    q.function_id = q.alias == NULL ? opt(res, i, 4) : NULL;
    q.version = strtoll(PQgetvalue(res, i, 6), NULL, 10);
    q.sync = 0;
    q.input = opt(res, i, 7);
    q.description = desc;
    q.target = (struct qm_target_req){opt(res, i, 8), opt(res, i, 9), opt(res, i, 10)};
    q.pending_timeout = opt(res, i, 11) ? strtoll(opt(res, i, 11), NULL, 10) : -1;
    q.max_input = INT64_MAX; /* checked at create and update */
    q.sync_pending_timeout = e->cfg->sync_pending_timeout;
    q.async_pending_timeout = e->cfg->async_pending_timeout;
    if (qm_launch(db, &q, l, &err) == 0)
        return 1;
    /* The function or its target went away: the firing is spent all the same
     * (a database failure rolls the claim back instead). */
    log_warn("job %s: no execution: %s", PQgetvalue(res, i, 0), err.msg);
    return qm_errno_status(err.code) == 503 ? -EAGAIN : 0;
}

struct firing {
    struct qe *e;
    const PGresult *due;
    int row;
    int64_t next;
    int last, bad, launched;
    struct qm_launched l;
};

static int firing_tx(struct db *db, void *arg, struct error *err)
{
    struct firing *f = arg;
    char nx[DB_INT_LEN];
    const char *p[4] = {PQgetvalue(f->due, f->row, 0), PQgetvalue(f->due, f->row, 1),
                        db_param_int(nx, f->next), db_param_bool(f->last)};
    PGresult *claimed = NULL;
    int rc, n;

    if (f->launched) /* an earlier attempt of this transaction, rolled back */
        qm_launched_clear(&f->l);
    f->launched = 0;
    rc = db_exec_stmt(db, &claim_stmt, p, &claimed, err);
    n = rc == 0 ? PQntuples(claimed) : 0;
    PQclear(claimed);
    /* No row: another engine claimed this slot. */
    if (rc < 0 || n == 0 || f->bad)
        return rc;
    rc = fire(f->e, db, f->due, f->row, &f->l);
    if (rc == -EAGAIN)
        return error_set(err, -EIO, "the database failed while firing");
    f->launched = rc == 1;
    return 0;
}

void qe_jobs_tick(struct qe *e, struct db *db)
{
    int64_t now = time_now_us();
    PGresult *res = NULL;
    struct error err;

    if (db_exec_stmt(db, &due_stmt, NULL, &res, &err) < 0)
        return;
    for (int i = 0; i < PQntuples(res); i++) {
        struct firing f = {e, res, i, 0, 0, 0, 0, {{"", "", NULL, 0}, 0, 0}};

        f.bad = plan(res, i, now, &f.next, &f.last) < 0;
        if (db_tx(db, firing_tx, &f, &err) < 0) {
            log_warn("job %s: %s", PQgetvalue(res, i, 0), err.msg);
            if (f.launched)
                qm_launched_clear(&f.l);
            continue;
        }
        if (!f.launched)
            continue;
        log_info("job %s fired: execution %s", PQgetvalue(res, i, 0), f.l.made.id);
        for (size_t k = 0; k < f.l.made.ndispatch; k++)
            qe_dispatch(e, db, f.l.made.dispatch[k], NULL);
        qm_launched_clear(&f.l);
    }
    PQclear(res);
}
