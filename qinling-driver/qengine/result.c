/* qengine/result.c: results (2.6.3, 3.6 "Result"), failures, fan-out
 * parents (3.3 "all") and the NOTIFY that wakes sync waiters.
 *
 * Storing is idempotent: the row changes only while the execution is not
 * terminal, so a repeated report, a late one after the deadline, or one for
 * a deleted execution is acknowledged and dropped. The parent of a fan-out
 * is completed in the same transaction as its last child, under the
 * parent's row lock, so that two children finishing at once cannot both
 * (or neither) complete it. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "db/row.h"
#include "qengine/engine.h"
#include "qmodel/exec.h"
#include "qmodel/input.h"
#include "qmodel/logtext.h"
#include "qmodel/sql.h"

#define BOARD_LOG_CAP (64u << 20) /* a body's logs beyond this are not even looked at */

int qe_notify(struct db *db, const char *id, struct error *err)
{
    return db_notify(db, QM_NOTIFY_CHANNEL, id, err);
}

/* ------------------------------------------------------------- parents */

static const struct db_stmt parent_lock = {
    "qe_parent_lock",
    "SELECT status, coalesce(logs, '') FROM executions WHERE id = $1::uuid FOR UPDATE",
    1,
};

static const struct db_stmt children_stmt = {
    "qe_children",
    "SELECT id, board_id, status, result::text, coalesce(logs, '') FROM executions WHERE "
    "parent_id = $1::uuid ORDER BY board_id, id",
    1,
};

static const struct db_stmt parent_done = {
    "qe_parent_done",
    "UPDATE executions SET status = $2, result = $3::jsonb, logs = $4, board_duration = $5, "
    "completed_at = now(), updated_at = now() WHERE id = $1::uuid AND status NOT IN "
    "('success', 'failed', 'error')",
    5,
};

struct agg {
    int all_success, any_error, any_failed;
    double duration;
    cJSON *output;
    struct buf logs;
};

static void child(struct agg *a, const PGresult *res, int i)
{
    const char *st = PQgetvalue(res, i, 2);
    cJSON *result = NULL, *entry = cJSON_CreateObject();
    const cJSON *out, *dur;
    int64_t len = PQgetlength(res, i, 4);

    if (!PQgetisnull(res, i, 3) &&
        json_parse(PQgetvalue(res, i, 3), (size_t)PQgetlength(res, i, 3), &result, NULL) < 0)
        result = NULL;
    out = cJSON_GetObjectItemCaseSensitive(result, "output");
    dur = cJSON_GetObjectItemCaseSensitive(result, "duration");
    if (cJSON_IsNumber(dur) && dur->valuedouble > a->duration)
        a->duration = dur->valuedouble;
    a->all_success &= strcmp(st, "success") == 0;
    a->any_error |= strcmp(st, "error") == 0;
    a->any_failed |= strcmp(st, "failed") == 0;
    cJSON_AddStringToObject(entry, "status", st);
    cJSON_AddItemToObject(entry, "output",
                          out != NULL ? cJSON_Duplicate(out, 1) : cJSON_CreateNull());
    cJSON_AddItemToObject(a->output, PQgetvalue(res, i, 1), entry);
    if (buf_printf(&a->logs, "=== board %s execution %s ===\n", PQgetvalue(res, i, 1),
                   PQgetvalue(res, i, 0)) < 0 ||
        buf_append(&a->logs, PQgetvalue(res, i, 4), (size_t)len) < 0 ||
        (len > 0 && PQgetvalue(res, i, 4)[len - 1] != '\n' && buf_append_str(&a->logs, "\n") < 0))
        log_warn("a fan-out log was cut");
    cJSON_Delete(result);
}

static int finish_parent(struct qe *e, struct db *db, const char *id, const PGresult *kids,
                         const char *own_log, struct error *err)
{
    struct agg a = {1, 0, 0, 0, cJSON_CreateObject(), {0}};
    char dur[32], *result_text, *logs;
    cJSON *result = cJSON_CreateObject();
    int rc;

    buf_init(&a.logs, 1u << 30);
    if (buf_append_str(&a.logs, own_log) < 0)
        log_warn("the fan-out log was cut");
    for (int i = 0; i < PQntuples(kids); i++)
        child(&a, kids, i);
    cJSON_AddItemToObject(result, "output", a.output);
    cJSON_AddNumberToObject(result, "duration", round(a.duration * 1000) / 1000);
    result_text = json_print(result);
    logs = qm_log_clip(a.logs.data ? a.logs.data : "", a.logs.len, (size_t)e->cfg->max_log_size);
    snprintf(dur, sizeof(dur), "%.3f", a.duration);
    const char *p[5] = {id,
                        a.all_success ? "success"
                        : a.any_error ? "error"
                                      : "failed",
                        result_text, logs, dur};
    rc = db_exec_stmt(db, &parent_done, p, NULL, err);
    if (rc == 0)
        rc = qe_notify(db, id, err);
    free(result_text);
    free(logs);
    buf_free(&a.logs);
    cJSON_Delete(result);
    return rc;
}

/* Completes parent when all its children are terminal. In the caller's
 * transaction. */
static int aggregate(struct qe *e, struct db *db, const char *parent, struct error *err)
{
    const char *p[1] = {parent};
    PGresult *lock = NULL, *kids = NULL;
    int rc = db_exec_stmt(db, &parent_lock, p, &lock, err), done = 1;

    if (rc < 0 || PQntuples(lock) == 0 || QM_EXEC_TERMINAL(PQgetvalue(lock, 0, 0))) {
        PQclear(lock);
        return rc;
    }
    rc = db_exec_stmt(db, &children_stmt, p, &kids, err);
    for (int i = 0; rc == 0 && i < PQntuples(kids); i++)
        done &= QM_EXEC_TERMINAL(PQgetvalue(kids, i, 2));
    if (rc == 0 && done)
        rc = finish_parent(e, db, parent, kids, PQgetvalue(lock, 0, 1), err);
    PQclear(kids);
    PQclear(lock);
    return rc;
}

/* -------------------------------------------------------------- failing */

static const struct db_stmt fail_stmt = {
    "qe_exec_fail",
    "UPDATE executions SET status = 'error', result = jsonb_build_object('output', $2::text, "
    "'duration', 0), completed_at = now(), updated_at = now() WHERE id = $1::uuid AND status "
    "NOT IN ('success', 'failed', 'error') AND ($3::boolean OR received_at IS NULL) "
    "RETURNING parent_id",
    3,
};

struct fail {
    struct qe *e;
    const char *id, *message;
    int force, changed;
};

static int fail_tx(struct db *db, void *arg, struct error *err)
{
    struct fail *f = arg;
    const char *p[3] = {f->id, f->message, db_param_bool(f->force)};
    PGresult *res = NULL;
    int rc = db_exec_stmt(db, &fail_stmt, p, &res, err);

    f->changed = rc == 0 && PQntuples(res) == 1;
    if (f->changed)
        rc = qe_notify(db, f->id, err);
    if (rc == 0 && f->changed && !PQgetisnull(res, 0, 0))
        rc = aggregate(f->e, db, PQgetvalue(res, 0, 0), err);
    PQclear(res);
    return rc;
}

int qe_fail(struct qe *e, struct db *db, const char *id, const char *message, int force)
{
    struct fail f = {e, id, message, force, 0};
    struct error err;
    int rc = db_tx(db, fail_tx, &f, &err);

    if (rc < 0)
        log_warn("execution %s: cannot record the failure: %s", id, err.msg);
    else if (f.changed)
        log_info("execution %s: error: %s", id, message);
    return rc;
}

/* -------------------------------------------------------------- results */

struct report {
    char id[UUID_STR_LEN], board[UUID_STR_LEN];
    const char *status, *executor, *container;
    const cJSON *output;
    double duration;
    char *logs;
    char received[TIME_ISO_LEN], started[TIME_ISO_LEN], finished[TIME_ISO_LEN],
        first_write[TIME_ISO_LEN];
    int local;
    const cJSON *body;
};

/* An optional time field into out ("" when absent or unreadable). */
static void time_field(const cJSON *o, const char *key, char out[TIME_ISO_LEN])
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    int64_t us;

    out[0] = '\0';
    if (cJSON_IsString(v) && time_parse(v->valuestring, &us) == 0)
        time_format(us, TIME_Z_US, out);
}

static const char *str_field(const cJSON *o, const char *key, size_t max)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) && strlen(v->valuestring) <= max ? v->valuestring : NULL;
}

/* Validates a function_result body (3.9) into r. 0 or -EINVAL. */
static int read_report(struct qe *e, const cJSON *b, struct report *r)
{
    const char *id = str_field(b, "execution_id", 64), *board = str_field(b, "board_uuid", 64);
    const cJSON *dur = cJSON_GetObjectItemCaseSensitive(b, "duration");
    const char *logs = str_field(b, "logs", BOARD_LOG_CAP);

    memset(r, 0, sizeof(*r));
    r->body = b;
    if (id == NULL || board == NULL || uuid_normalize(id, r->id) < 0 ||
        uuid_normalize(board, r->board) < 0)
        return -EINVAL;
    r->status = str_field(b, "status", 16);
    if (r->status == NULL || !QM_EXEC_TERMINAL(r->status))
        return -EINVAL;
    r->output = cJSON_GetObjectItemCaseSensitive(b, "output");
    r->duration = cJSON_IsNumber(dur) && isfinite(dur->valuedouble) && dur->valuedouble >= 0
                      ? round(dur->valuedouble * 1000) / 1000
                      : 0;
    r->executor = str_field(b, "executor", 8);
    if (r->executor != NULL && strcmp(r->executor, "crun") && strcmp(r->executor, "process"))
        r->executor = NULL;
    r->container = str_field(b, "container_id", 64);
    r->logs = qm_log_clip(logs ? logs : "", logs ? strlen(logs) : 0, (size_t)e->cfg->max_log_size);
    time_field(b, "received_at", r->received);
    time_field(b, "started_at", r->started);
    time_field(b, "finished_at", r->finished);
    time_field(b, "first_write_at", r->first_write);
    r->local = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "local"));
    return 0;
}

static const struct db_stmt store_stmt = {
    "qe_result_store",
    "UPDATE executions SET status = $3, result = $4::jsonb, logs = $5, board_id = $2::uuid, "
    "received_at = coalesce($6::timestamptz, received_at, now()), started_at = $7::timestamptz, "
    "finished_at = $8::timestamptz, first_write_at = $9::timestamptz, executor = $10, "
    "container_id = $11, board_duration = $12::float8, completed_at = now(), updated_at = now() "
    "WHERE id = $1::uuid AND status NOT IN ('success', 'failed', 'error') AND (board_id = "
    "$2::uuid OR fleet_id IS NOT NULL) RETURNING parent_id, function_id, trigger_id",
    12,
};

/* The common case in one round trip: the result, the NOTIFY (delivered at
 * the statement's commit), the board's bookkeeping. A fan-out child's parent
 * is completed afterwards (aggregate_tx); the sweeper completes any parent
 * whose children all ended, should the engine stop in between. */
static const struct db_stmt store_one_stmt = {
    "qe_result_store_one",
    "WITH s AS (UPDATE executions SET status = $3, result = $4::jsonb, logs = $5, board_id = "
    "$2::uuid, received_at = coalesce($6::timestamptz, received_at, now()), started_at = "
    "$7::timestamptz, finished_at = $8::timestamptz, first_write_at = $9::timestamptz, "
    "executor = $10, container_id = NULLIF($11, ''), board_duration = $12::float8, completed_at = "
    "now(), "
    "updated_at = now() WHERE id = $1::uuid AND status NOT IN ('success', 'failed', 'error') "
    "AND (board_id = $2::uuid OR fleet_id IS NOT NULL) RETURNING id, parent_id, function_id, "
    "trigger_id), "
    "w AS (DELETE FROM function_workers WHERE board_uuid = $2::uuid AND container_id = $11 AND "
    "EXISTS (SELECT 1 FROM s)), "
    "fb AS (INSERT INTO function_boards (function_id, board_uuid) SELECT function_id, $2::uuid "
    "FROM s WHERE function_id IS NOT NULL ON CONFLICT (function_id, board_uuid) DO UPDATE SET "
    "last_used_at = now(), updated_at = now()), "
    "n AS (SELECT pg_notify('" QM_NOTIFY_CHANNEL "', id::text) FROM s) "
    "SELECT parent_id, function_id, trigger_id, (SELECT count(*) FROM n) FROM s",
    12,
};

static const struct db_stmt after_stmt = {
    "qe_result_after",
    "WITH w AS (DELETE FROM function_workers WHERE board_uuid = $1::uuid AND container_id = $3) "
    "INSERT INTO function_boards (function_id, board_uuid) VALUES ($2::uuid, $1::uuid) "
    "ON CONFLICT (function_id, board_uuid) DO UPDATE SET last_used_at = now(), "
    "updated_at = now()",
    3,
};

/* A local-loop execution (3.7.4) the cloud has not seen yet becomes a row. */
static const struct db_stmt local_stmt = {
    "qe_result_local",
    "INSERT INTO executions (id, function_id, function_version, description, status, sync, "
    "input, input_kind, board_id, pending_timeout, deadline, trigger_id, firing_id, "
    "dispatched_at, project_id) SELECT $1::uuid, $2::uuid, $3::int, 'Created by Trigger ' || "
    "t.id, 'running', false, $4, $5, $6::uuid, 0, now(), t.id, (SELECT f.id FROM "
    "trigger_firings f WHERE f.trigger_id = t.id AND f.firing_seq = $7::bigint), now(), "
    "t.project_id FROM triggers t WHERE t.id = $8::uuid ON CONFLICT (id) DO NOTHING",
    8,
};

static int insert_local(struct db *db, const struct report *r, struct error *err)
{
    const cJSON *b = r->body, *seq = cJSON_GetObjectItemCaseSensitive(b, "firing_seq");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(b, "function_version");
    const char *fid = str_field(b, "function_id", 64), *tid = str_field(b, "trigger_id", 64);
    const char *input = str_field(b, "input", 1 << 20);
    char v[DB_INT_LEN], s[DB_INT_LEN];
    int64_t vi = 0, si = 0;

    if (fid == NULL || tid == NULL || !uuid_is_like(fid) || !uuid_is_like(tid))
        return 0;
    (void)json_int_value(ver, 0, INT32_MAX, &vi);
    (void)json_int_value(seq, 0, INT64_MAX, &si);
    const char *p[8] = {r->id,
                        fid,
                        db_param_int(v, vi),
                        input,
                        qm_input_kind_name(qm_input_classify(input)),
                        r->board,
                        db_param_int(s, si),
                        tid};
    return db_exec_stmt(db, &local_stmt, p, NULL, err);
}

struct store {
    struct qe *e;
    const struct report *r;
    int stored;
    char trigger[UUID_STR_LEN];
    char parent[UUID_STR_LEN];
};

/* The parameters of store_stmt and store_one_stmt; text and result are
 * owned by the caller. */
static void store_params(const struct report *r, char **text, char dur[32], const char *p[12])
{
    cJSON *result = cJSON_CreateObject();

    cJSON_AddItemToObject(result, "output",
                          r->output ? cJSON_Duplicate(r->output, 1) : cJSON_CreateNull());
    cJSON_AddNumberToObject(result, "duration", r->duration);
    *text = json_print(result);
    cJSON_Delete(result);
    snprintf(dur, 32, "%.3f", r->duration);
#define OPT(x) ((x)[0] ? (x) : NULL)
    const char *v[12] = {r->id,           r->board,         r->status,
                         *text,           r->logs,          OPT(r->received),
                         OPT(r->started), OPT(r->finished), OPT(r->first_write),
                         r->executor,     r->container,     dur};
#undef OPT
    memcpy(p, v, sizeof(v));
}

static void note_stored(struct store *s, const PGresult *res, int trigger_col, int parent_col)
{
    s->stored = PQntuples(res) == 1;
    if (!s->stored)
        return;
    snprintf(s->trigger, sizeof(s->trigger), "%s", PQgetvalue(res, 0, trigger_col));
    snprintf(s->parent, sizeof(s->parent), "%s", PQgetvalue(res, 0, parent_col));
}

/* A local-loop result: the row may have to be made first, in the same
 * transaction. */
static int store_tx(struct db *db, void *arg, struct error *err)
{
    struct store *s = arg;
    const struct report *r = s->r;
    char *text, dur[32];
    const char *p[12];
    PGresult *res = NULL;
    int rc = insert_local(db, r, err);

    store_params(r, &text, dur, p);
    if (rc == 0)
        rc = db_exec_stmt(db, &store_stmt, p, &res, err);
    if (rc == 0)
        note_stored(s, res, 2, 0);
    if (rc == 0 && s->stored) {
        const char *q[3] = {r->board, PQgetvalue(res, 0, 1), r->container ? r->container : ""};

        rc = qe_notify(db, r->id, err);
        if (rc == 0 && !PQgetisnull(res, 0, 1))
            rc = db_exec_stmt(db, &after_stmt, q, NULL, err);
    }
    PQclear(res);
    free(text);
    return rc;
}

static int store_one(struct db *db, struct store *s, struct error *err)
{
    char *text, dur[32];
    const char *p[12];
    PGresult *res = NULL;
    int rc;

    store_params(s->r, &text, dur, p);
    p[10] = s->r->container != NULL ? s->r->container : "";
    rc = db_exec_stmt(db, &store_one_stmt, p, &res, err);
    if (rc == 0)
        note_stored(s, res, 2, 0);
    PQclear(res);
    free(text);
    return rc;
}

struct agg_tx {
    struct qe *e;
    const char *parent;
};

static int aggregate_tx(struct db *db, void *arg, struct error *err)
{
    struct agg_tx *a = arg;

    return aggregate(a->e, db, a->parent, err);
}

int qe_complete_parent(struct qe *e, struct db *db, const char *parent)
{
    struct agg_tx a = {e, parent};
    struct error err;
    int rc = db_tx(db, aggregate_tx, &a, &err);

    if (rc < 0)
        log_warn("fan-out %s: not completed yet: %s", parent, err.msg);
    return rc;
}

int qe_store_result(struct qe *e, struct db *db, const cJSON *body)
{
    struct report r;
    struct store s = {e, &r, 0, "", ""};
    struct error err;
    int rc;

    if (read_report(e, body, &r) < 0) {
        log_warn("a function_result that is not valid was dropped");
        free(r.logs);
        return 0;
    }
    rc = r.local ? db_tx(db, store_tx, &s, &err) : store_one(db, &s, &err);
    if (rc == 0 && s.stored && s.parent[0] != '\0')
        qe_complete_parent(e, db, s.parent);
    if (rc < 0) {
        log_warn("execution %s: result not stored: %s", r.id, err.msg);
    } else if (!s.stored) {
        atomic_fetch_add(&e->stats.duplicates, 1);
        log_info("execution %s: result from %s dropped (finished, unknown or not its board)", r.id,
                 r.board);
    } else {
        atomic_fetch_add(&e->stats.results, 1);
        log_info("execution %s: %s on board %s", r.id, r.status, r.board);
        if (s.trigger[0] != '\0' && e->hooks.on_result != NULL)
            e->hooks.on_result(e, db, r.id, body, e->hooks.arg);
        /* A slot is free on that board. */
        qe_dispatch_waiting(e, db, r.board);
    }
    free(r.logs);
    return rc < 0 ? rc : 0;
}
