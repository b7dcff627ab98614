/* qengine/dispatch.c: placing and sending one execution (3.3, 3.5.1, 3.6).
 *
 * The decision is read from and written to the execution's row, so that any
 * engine (and a restarted one) can take over: a slot on a board is claimed
 * by setting dispatched_at under a per-board advisory transaction lock that
 * counts the board's executions in flight; an execution that waits is left
 * `pending` (no eligible board online) or `running` with dispatched_at null
 * (every eligible board is full), with the reason in wait_reason. The board
 * call is at-least-once: a call whose outcome is unknown leaves
 * dispatched_at set and received_at null, and the sweeper sends it again
 * after board_call_timeout; the board de-duplicates by execution id. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "db/row.h"
#include "qengine/driver.h"
#include "qengine/engine.h"
#include "qengine/payload.h"
#include "qmodel/exec.h"
#include "qmodel/fault.h"
#include "qmodel/fn.h"
#include "qmodel/target.h"

#define MSG_DEADLINE "No board became available before the execution deadline."

static const struct db_stmt load_stmt = {
    "qe_dispatch_load",
    "SELECT e.status, coalesce(e.board_id::text, ''), coalesce(e.fleet_id::text, ''), "
    "coalesce(e.placement, ''), e.received_at IS NOT NULL, e.deadline < now(), e.function_id, "
    "e.function_version, e.input, e.input_kind, (extract(epoch FROM e.deadline) * 1e6)::bigint, "
    "coalesce(e.package_sha256, ''), coalesce(pb.md5, ''), coalesce(pb.size, 0), "
    "coalesce(pb.format, ''), coalesce(e.runtime_sha256, ''), coalesce(rb.size, 0), "
    "coalesce(rb.format, ''), e.dispatched_at IS NOT NULL AND e.dispatched_at > now() - "
    "make_interval(secs => $2::int) "
    "FROM executions e LEFT JOIN blobs pb ON pb.sha256 = e.package_sha256 "
    "LEFT JOIN blobs rb ON rb.sha256 = e.runtime_sha256 WHERE e.id = $1::uuid",
    2,
};

/* The per-board lock, the count and the claim in one round trip
 * (db/migrations/0005_qinling_slots.sql). */
static const struct db_stmt claim_stmt = {
    "qe_slot_claim",
    "SELECT qinling_claim_slot($1::uuid, $2::uuid, $3::int)",
    3,
};

static const struct db_stmt wait_stmt = {
    "qe_exec_wait",
    "UPDATE executions SET status = $2, dispatched_at = NULL, wait_reason = $3, retry_at = "
    "CASE WHEN $4::int > 0 THEN now() + make_interval(secs => $4::int) END, updated_at = now() "
    "WHERE id = $1::uuid AND status IN ('pending', 'running') AND received_at IS NULL",
    4,
};

static const struct db_stmt rank_stmt = {
    "qe_board_rank",
    "SELECT (SELECT count(*) FROM function_workers w WHERE w.board_uuid = $1::uuid AND "
    "w.function_id = $2::uuid AND w.function_version = $3::int AND w.state = 'warm'), "
    "(SELECT count(*) FROM executions x WHERE x.board_id = $1::uuid AND x.status = 'running' "
    "AND x.dispatched_at IS NOT NULL)",
    3,
};

/* One dispatch waiting for its board call. */
struct dctx {
    struct qe *e;
    struct mq_req *req;
    char id[UUID_STR_LEN];
    char board[UUID_STR_LEN];
    char function_id[UUID_STR_LEN];
};

static void finish(struct mq_req *req)
{
    if (req != NULL)
        mq_done(req);
}

static void set_wait(struct db *db, const char *id, const char *status, const char *why,
                     int retry_s)
{
    char r[DB_INT_LEN];
    const char *p[4] = {id, status, why, db_param_int(r, retry_s)};
    struct error err;

    if (db_exec_stmt(db, &wait_stmt, p, NULL, &err) < 0)
        log_warn("execution %s: cannot record the wait: %s", id, err.msg);
}

/* A dispatch in a worker's hands: the row and what it runs. */
struct job {
    char id[UUID_STR_LEN];
    PGresult *row;
    struct qm_fn fn;
    int have_fn;
};

struct claim {
    const char *board, *id;
    int slots;
    int64_t dispatched_us; /* 0: full */
};

static int claim(struct db *db, struct claim *c, struct error *err)
{
    char slots[DB_INT_LEN];
    const char *p[3] = {c->board, c->id, db_param_int(slots, c->slots)};
    PGresult *res = NULL;
    int rc = db_exec_stmt(db, &claim_stmt, p, &res, err);

    c->dispatched_us = 0;
    if (rc == 0 && db_getint(res, 0, 0, -1, INT64_MAX, &c->dispatched_us, err) < 0)
        rc = -EIO;
    PQclear(res);
    return rc;
}

static void on_reply(struct qe *e, struct db *db, struct qd_reply *r, void *arg);

static void blob_arg(struct qe_blob *b, const PGresult *row, int sha, int md5, int size, int fmt)
{
    snprintf(b->sha256, sizeof(b->sha256), "%s", PQgetvalue(row, 0, sha));
    snprintf(b->md5, sizeof(b->md5), "%s", md5 >= 0 ? PQgetvalue(row, 0, md5) : "");
    b->size = strtoll(PQgetvalue(row, 0, size), NULL, 10);
    snprintf(b->format, sizeof(b->format), "%s", PQgetvalue(row, 0, fmt));
}

/* Sends FunctionExecute for a claimed slot. */
static void send_execute(struct qe *e, struct job *j, const struct qm_board *b,
                         int64_t dispatched_us, struct mq_req *req)
{
    const PGresult *row = j->row;
    struct qe_exec_args x = {0};
    struct dctx *d = xcalloc(1, sizeof(*d));
    const char *input = PQgetisnull(row, 0, 8) ? NULL : PQgetvalue(row, 0, 8);

    x.execution_id = j->id;
    x.input = input;
    x.kind = (enum qm_input_kind)qm_input_kind_parse(PQgetvalue(row, 0, 9));
    x.deadline_us = strtoll(PQgetvalue(row, 0, 10), NULL, 10);
    x.dispatched_us = dispatched_us;
    blob_arg(&x.pkg, row, 11, 12, 13, 14);
    blob_arg(&x.rt, row, 15, -1, 16, 17);
    d->e = e;
    d->req = req;
    snprintf(d->id, sizeof(d->id), "%s", j->id);
    snprintf(d->board, sizeof(d->board), "%s", b->uuid);
    snprintf(d->function_id, sizeof(d->function_id), "%s", j->fn.id);
    atomic_fetch_add(&e->stats.dispatched, 1);
    qd_call(e, b->uuid, b->agent, "FunctionExecute", qe_payload(e, &j->fn, b->uuid, &x),
            (int)e->cfg->board_call_timeout * 1000, on_reply, d);
}

/* Claims a slot on b and sends. 1 sent, 0 full, -1 failed (logged). */
static int try_board(struct qe *e, struct db *db, struct job *j, const struct qm_board *b,
                     struct mq_req *req)
{
    struct claim c = {b->uuid, j->id, qm_caps_slots(b->caps), 0};
    struct error err;

    if (claim(db, &c, &err) < 0) {
        log_warn("execution %s: claim on board %s: %s", j->id, b->uuid, err.msg);
        return -1;
    }
    if (c.dispatched_us == 0)
        return 0;
    if (c.dispatched_us < 0) {
        finish(req); /* nothing left to do */
        return 1;
    }
    send_execute(e, j, b, c.dispatched_us, req);
    return 1;
}

/* A board target (a board execution or a fan-out child). */
static void to_board(struct qe *e, struct db *db, struct job *j, const char *uuid,
                     struct mq_req *req)
{
    struct qm_need need;
    struct qm_board b;
    struct error err;
    int rc = qm_board_get(db, uuid, &b, &err);
    char msg[ERROR_MSG_MAX + 100];

    if (rc == -ENOENT) {
        snprintf(msg, sizeof(msg), "Board %s could not be found.", uuid);
        qe_fail(e, db, j->id, msg, 0);
    } else if (rc < 0) {
        log_warn("execution %s: %s", j->id, err.msg);
    } else if (b.caps == NULL) {
        set_wait(db, j->id, "pending", "the board's capabilities are not known yet", 0);
    } else if (qm_fn_need(&j->fn, &need), qm_elig_check(b.caps, &need, &err) < 0) {
        snprintf(msg, sizeof(msg), "Board %s cannot run this function: %s.", b.uuid, err.msg);
        qe_fail(e, db, j->id, msg, 0);
    } else if (strcmp(b.status, "online") != 0) {
        set_wait(db, j->id, "pending", "the board is offline", 0);
    } else if (try_board(e, db, j, &b, req) > 0) {
        req = NULL; /* finished by the board call */
    } else {
        set_wait(db, j->id, "running", "waiting for a free slot on the board", 0);
    }
    qm_board_clear(&b);
    finish(req);
}

struct rank {
    struct qm_board *b;
    int warm, pkg, rt;
    int64_t busy;
};

static int rank_cmp(const void *pa, const void *pb)
{
    const struct rank *a = pa, *b = pb;

    if (a->warm != b->warm)
        return b->warm - a->warm;
    if (a->pkg != b->pkg)
        return b->pkg - a->pkg;
    if (a->rt != b->rt)
        return b->rt - a->rt;
    if (a->busy != b->busy)
        return a->busy < b->busy ? -1 : 1;
    return strcmp(a->b->uuid, b->b->uuid);
}

/* The eligible online boards of the fleet, best first (3.3 any_online). */
static size_t candidates(struct db *db, struct job *j, struct qm_board *v, size_t n,
                         struct rank *out, int *unknown)
{
    char ver[DB_INT_LEN];
    struct qm_need need;
    struct error err;
    size_t k = 0;

    qm_fn_need(&j->fn, &need);
    *unknown = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p[3] = {v[i].uuid, j->fn.id, db_param_int(ver, j->fn.version)};
        PGresult *res = NULL;

        if (v[i].caps == NULL) {
            (*unknown)++;
            continue;
        }
        if (qm_elig_check(v[i].caps, &need, &err) < 0 || strcmp(v[i].status, "online") != 0 ||
            db_exec_stmt(db, &rank_stmt, p, &res, &err) < 0)
            continue;
        out[k].b = &v[i];
        out[k].warm = strtoll(PQgetvalue(res, 0, 0), NULL, 10) > 0;
        out[k].busy = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        out[k].pkg = qm_caps_cached(v[i].caps, "packages", PQgetvalue(j->row, 0, 11));
        out[k].rt = qm_caps_cached(v[i].caps, "runtimes", PQgetvalue(j->row, 0, 15));
        PQclear(res);
        k++;
    }
    qsort(out, k, sizeof(*out), rank_cmp);
    return k;
}

static void to_fleet(struct qe *e, struct db *db, struct job *j, const char *fleet,
                     struct mq_req *req)
{
    struct qm_board *v = NULL;
    struct rank *r = NULL;
    struct error err;
    size_t n = 0, k;
    int unknown = 0, sent = 0;

    if (qm_fleet_boards(db, fleet, &v, &n, &err) < 0) {
        log_warn("execution %s: %s", j->id, err.msg);
        finish(req);
        return;
    }
    r = xcalloc(n + 1, sizeof(*r));
    k = candidates(db, j, v, n, r, &unknown);
    for (size_t i = 0; i < k && !sent; i++)
        sent = try_board(e, db, j, r[i].b, req) > 0;
    if (sent != 0)
        req = NULL;
    else if (k > 0)
        set_wait(db, j->id, "running", "waiting for a free slot in the fleet", 0);
    else /* membership and capabilities change: wait until the deadline */
        set_wait(db, j->id, "pending", "no eligible board of the fleet is online", 0);
    free(r);
    qm_boards_free(v, n);
    finish(req);
}

/* Reads the row and decides whether there is anything to do. 1: go on. */
static int examine(struct qe *e, struct db *db, struct job *j, struct mq_req *req)
{
    char t[DB_INT_LEN];
    const char *p[2] = {j->id, db_param_int(t, e->cfg->board_call_timeout + 5)};
    struct error err;
    const PGresult *row;
    int64_t version;

    if (db_exec_stmt(db, &load_stmt, p, &j->row, &err) < 0) {
        log_warn("dispatch %s: %s", j->id, err.msg);
        if (req != NULL)
            mq_reject(req, 1);
        return 0;
    }
    row = j->row;
    if (PQntuples(row) == 0 || QM_EXEC_TERMINAL(PQgetvalue(row, 0, 0)) ||
        strcmp(PQgetvalue(row, 0, 4), "t") == 0 ||
        (strcmp(PQgetvalue(row, 0, 3), "all") == 0 && PQgetvalue(row, 0, 1)[0] == '\0') ||
        strcmp(PQgetvalue(row, 0, 18), "t") == 0) {
        finish(req); /* gone, finished, accepted, a fan-out parent, or a call in flight */
        return 0;
    }
    if (strcmp(PQgetvalue(row, 0, 5), "t") == 0) {
        qe_fail(e, db, j->id, MSG_DEADLINE, 0);
        finish(req);
        return 0;
    }
    version = strtoll(PQgetvalue(row, 0, 7), NULL, 10);
    if (qm_fn_load(db, PQgetvalue(row, 0, 6), version, NULL, &j->fn, &err) < 0) {
        if (qm_errno_status(err.code) == 503) {
            if (req != NULL)
                mq_reject(req, 1);
        } else {
            log_warn("execution %s: %s", j->id, err.msg);
            qe_fail(e, db, j->id, "Function execution failed.", 0);
            finish(req);
        }
        return 0;
    }
    j->have_fn = 1;
    return 1;
}

void qe_dispatch(struct qe *e, struct db *db, const char *id, struct mq_req *req)
{
    struct job j = {0};

    snprintf(j.id, sizeof(j.id), "%s", id);
    if (examine(e, db, &j, req)) {
        const char *fleet = PQgetvalue(j.row, 0, 2);

        if (fleet[0] != '\0')
            to_fleet(e, db, &j, fleet, req);
        else
            to_board(e, db, &j, PQgetvalue(j.row, 0, 1), req);
    }
    if (j.have_fn)
        qm_fn_clear(&j.fn);
    PQclear(j.row);
}

/* ------------------------------------------------------------ the reply */

static const struct db_stmt accepted_stmt = {
    "qe_exec_accepted",
    "WITH x AS (UPDATE executions SET received_at = now(), updated_at = now() WHERE id = "
    "$1::uuid AND received_at IS NULL AND status = 'running' AND board_id = $2::uuid "
    "RETURNING function_id) INSERT INTO function_boards (function_id, board_uuid) SELECT "
    "function_id, $2::uuid FROM x WHERE function_id IS NOT NULL ON CONFLICT (function_id, "
    "board_uuid) DO UPDATE SET last_used_at = now(), updated_at = now()",
    2,
};

/* The board's refusal ({"code", "message"}, or text). */
static void refused(struct qe *e, struct db *db, struct dctx *d, const cJSON *m)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(m, "code");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(m, "message");
    const char *c = cJSON_IsString(code) ? code->valuestring : "";
    const char *t = cJSON_IsString(text) ? text->valuestring
                    : cJSON_IsString(m)  ? m->valuestring
                                         : "refused";
    char msg[ERROR_MSG_MAX];

    if (strcmp(c, "busy") == 0) {
        atomic_fetch_add(&e->stats.busy, 1);
        set_wait(db, d->id, "running", "the board is busy", 1); /* 3.5.1: again after 1 s */
    } else if (strcmp(c, "deadline") == 0) {
        qe_fail(e, db, d->id, MSG_DEADLINE, 0);
    } else if (strcmp(c, "bad_request") == 0) {
        log_error("execution %s: board %s refused the request: %s", d->id, d->board, t);
        qe_fail(e, db, d->id, "Function execution failed.", 0);
    } else {
        snprintf(msg, sizeof(msg), "Board %s cannot run this function: %.300s.", d->board, t);
        qe_fail(e, db, d->id, msg, 0);
    }
}

static void replied(struct qe *e, struct db *db, struct dctx *d, struct qd_reply *r)
{
    const char *p[2] = {d->id, d->board};
    struct error err;
    cJSON *body;

    if (strcmp(r->result, "RUNNING") == 0 || strcmp(r->result, "WARNING") == 0) {
        atomic_fetch_add(&e->stats.accepted, 1);
        if (db_exec_stmt(db, &accepted_stmt, p, NULL, &err) < 0)
            log_warn("execution %s: cannot record the acceptance: %s", d->id, err.msg);
    } else if (strcmp(r->result, "SUCCESS") == 0 && cJSON_IsObject(r->message)) {
        /* The board had finished it already: the answer is the stored result. */
        body = cJSON_Duplicate(r->message, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(body, "board_uuid");
        cJSON_AddStringToObject(body, "board_uuid", d->board);
        if (!cJSON_HasObjectItem(body, "execution_id"))
            cJSON_AddStringToObject(body, "execution_id", d->id);
        if (qe_store_result(e, db, body) < 0)
            log_warn("execution %s: the stored result could not be recorded", d->id);
        cJSON_Delete(body);
    } else {
        refused(e, db, d, r->message);
    }
}

static void on_reply(struct qe *e, struct db *db, struct qd_reply *r, void *arg)
{
    struct dctx *d = arg;

    if (db == NULL) {
        /* No connection on this worker: the sweeper will resend. */
        finish(d->req);
        free(d);
        return;
    }
    switch (r->outcome) {
    case QD_REPLIED:
        replied(e, db, d, r);
        break;
    case QD_NOT_CONNECTED:
    case QD_UNREACHABLE:
        /* The board is not reachable: wait for it, or let another board of
         * the fleet take the execution. */
        set_wait(db, d->id, "pending", "the board is not connected", 1);
        break;
    case QD_BUSY:
        set_wait(db, d->id, "running", "the board has too many calls pending", 1);
        break;
    case QD_TIMEOUT:
    case QD_DISCONNECTED:
        /* Unknown: dispatched_at stays, received_at stays null, and the
         * sweeper sends it again (3.6). */
        log_info("execution %s: FunctionExecute on %s: %s; it will be sent again", d->id, d->board,
                 qd_outcome_name(r->outcome));
        break;
    }
    finish(d->req);
    free(d);
}

static const struct db_stmt waiting_stmt = {
    "qe_waiting",
    "SELECT e.id FROM executions e WHERE e.status IN ('pending', 'running') AND e.received_at "
    "IS NULL AND e.dispatched_at IS NULL AND (e.retry_at IS NULL OR e.retry_at <= now()) AND "
    "((e.board_id = $1::uuid AND e.fleet_id IS NULL) OR (e.placement = 'any_online' AND "
    "e.fleet_id = (SELECT fleet FROM boards WHERE uuid = $1::uuid))) "
    "ORDER BY e.created_at LIMIT 16",
    1,
};

void qe_dispatch_waiting(struct qe *e, struct db *db, const char *board)
{
    const char *p[1] = {board};
    PGresult *res = NULL;
    struct error err;

    if (db_exec_stmt(db, &waiting_stmt, p, &res, &err) < 0) {
        log_warn("waiting executions of %s: %s", board, err.msg);
        return;
    }
    for (int i = 0; i < PQntuples(res); i++)
        qe_dispatch(e, db, PQgetvalue(res, i, 0), NULL);
    PQclear(res);
}
