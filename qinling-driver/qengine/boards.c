/* qengine/boards.c: what the engine does with boards besides executing:
 * capabilities (3.4.1), reconciliation after a reconnect (3.6 "Lost
 * board"), warm-container bookkeeping (3.5.5), FunctionRemove/CachePurge
 * delivery (2.3, 2.7) and keep_warm (FunctionDeploy).
 *
 * On board.online the chain is: DeviceCaps (stored), then FunctionStatus
 * (workers mirrored, executions the board does not know sent again), then
 * the purges it is owed and the executions waiting for it. Each step is a
 * board call whose answer continues on a worker. */
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
#include "qmodel/fn.h"
#include "qmodel/target.h"

struct bctx {
    struct qe *e;
    char board[UUID_STR_LEN];
    char agent[256];
    int online_chain; /* continue with FunctionStatus, purges and waiting work */
    char purge_id[UUID_STR_LEN];
};

static int timeout_ms(const struct qe *e)
{
    return (int)e->cfg->board_call_timeout * 1000;
}

static struct bctx *bctx_new(struct qe *e, const struct qm_board *b, int chain)
{
    struct bctx *c = xcalloc(1, sizeof(*c));

    c->e = e;
    snprintf(c->board, sizeof(c->board), "%s", b->uuid);
    snprintf(c->agent, sizeof(c->agent), "%s", b->agent);
    c->online_chain = chain;
    return c;
}

/* ----------------------------------------------------------- DeviceCaps */

static const struct db_stmt caps_stmt = {
    "qe_caps_store",
    "INSERT INTO board_capabilities (board_uuid, caps) SELECT $1::uuid, $2::jsonb WHERE EXISTS "
    "(SELECT 1 FROM boards WHERE uuid = $1::uuid) ON CONFLICT (board_uuid) DO UPDATE SET "
    "caps = EXCLUDED.caps, updated_at = now()",
    2,
};

static void status_done(struct qe *e, struct db *db, struct qd_reply *r, void *arg);

static void after_caps(struct qe *e, struct db *db, struct bctx *c)
{
    (void)db;
    qd_call(e, c->board, c->agent, "FunctionStatus", cJSON_CreateObject(), timeout_ms(e),
            status_done, c);
}

static void caps_done(struct qe *e, struct db *db, struct qd_reply *r, void *arg)
{
    struct bctx *c = arg;
    struct error err;
    char *text;

    if (db != NULL && r->outcome == QD_REPLIED && strcmp(r->result, "SUCCESS") == 0 &&
        cJSON_IsObject(r->message)) {
        text = json_print(r->message);
        const char *p[2] = {c->board, text};
        if (db_exec_stmt(db, &caps_stmt, p, NULL, &err) < 0)
            log_warn("board %s: capabilities not stored: %s", c->board, err.msg);
        else
            log_info("board %s: capabilities refreshed", c->board);
        free(text);
    } else {
        log_warn("board %s: DeviceCaps: %s %s", c->board, qd_outcome_name(r->outcome),
                 r->outcome == QD_REPLIED ? r->result : r->err.msg);
    }
    if (c->online_chain && db != NULL && r->outcome == QD_REPLIED) {
        after_caps(e, db, c);
        return;
    }
    free(c);
}

static void caps_call(struct qe *e, const struct qm_board *b, int chain)
{
    qd_call(e, b->uuid, b->agent, "DeviceCaps", cJSON_CreateObject(), timeout_ms(e), caps_done,
            bctx_new(e, b, chain));
}

/* ------------------------------------------------------- FunctionStatus */

static const struct db_stmt workers_clear = {
    "qe_workers_clear",
    "DELETE FROM function_workers WHERE board_uuid = $1::uuid",
    1,
};

static const struct db_stmt worker_put = {
    "qe_worker_put",
    "INSERT INTO function_workers (board_uuid, container_id, function_id, function_version, "
    "state, last_used_at, created_at) VALUES ($1::uuid, $2, $3::uuid, $4::int, $5, "
    "$6::timestamptz, coalesce($7::timestamptz, now())) ON CONFLICT (board_uuid, container_id) "
    "DO UPDATE SET state = EXCLUDED.state, last_used_at = EXCLUDED.last_used_at, "
    "updated_at = now()",
    7,
};

/* The executions the cloud believes the board has accepted. */
static const struct db_stmt believed_stmt = {
    "qe_believed",
    "SELECT id FROM executions WHERE board_id = $1::uuid AND status = 'running' AND "
    "received_at IS NOT NULL",
    1,
};

static const struct db_stmt resend_stmt = {
    "qe_resend",
    "UPDATE executions SET received_at = NULL, dispatched_at = NULL, updated_at = now() "
    "WHERE id = $1::uuid AND status = 'running' AND received_at IS NOT NULL",
    1,
};

static void put_worker(struct db *db, const char *board, const cJSON *w, const char *state)
{
    const char *cid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "container_id"));
    const char *fid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "function_id"));
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(w, "function_version");
    const char *used = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "last_used_at"));
    const char *made = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        w, strcmp(state, "warm") == 0 ? "created_at" : "started_at"));
    char v[DB_INT_LEN];
    int64_t vi = 0;
    struct error err;

    if (cid == NULL || fid == NULL || strlen(cid) > 64 || !uuid_is_like(fid))
        return;
    (void)json_int_value(ver, 0, INT32_MAX, &vi);
    const char *p[7] = {board, cid, fid, db_param_int(v, vi), state, used, made};
    if (db_exec_stmt(db, &worker_put, p, NULL, &err) < 0)
        log_warn("board %s: worker %s not mirrored: %s", board, cid, err.msg);
}

static int listed(const cJSON *running, const cJSON *known, const char *id)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, running)
    {
        const char *x = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "execution_id"));

        if (x != NULL && strcasecmp(x, id) == 0)
            return 1;
    }
    cJSON_ArrayForEach(it, known)
    {
        if (cJSON_IsString(it) && strcasecmp(it->valuestring, id) == 0)
            return 1;
    }
    return 0;
}

/* Mirrors the containers and sends again what the board does not know. */
static void reconcile(struct qe *e, struct db *db, const char *board, const cJSON *st)
{
    const cJSON *running = cJSON_GetObjectItemCaseSensitive(st, "running");
    const cJSON *warm = cJSON_GetObjectItemCaseSensitive(st, "warm");
    const cJSON *known = cJSON_GetObjectItemCaseSensitive(st, "known"), *it;
    const char *p[1] = {board};
    PGresult *res = NULL;
    struct error err;

    if (db_exec_stmt(db, &workers_clear, p, NULL, &err) == 0) {
        cJSON_ArrayForEach(it, (cJSON_IsArray(running) ? running : NULL))
            put_worker(db, board, it, "running");
        cJSON_ArrayForEach(it, (cJSON_IsArray(warm) ? warm : NULL))
            put_worker(db, board, it, "warm");
    }
    if (db_exec_stmt(db, &believed_stmt, p, &res, &err) < 0)
        return;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *id = PQgetvalue(res, i, 0), *q[1] = {id};

        if (listed(running, known, id))
            continue;
        /* Lost by the board (3.6): at-least-once, so it is sent again. */
        atomic_fetch_add(&e->stats.lost, 1);
        log_warn("execution %s: board %s does not know it; sending it again", id, board);
        if (db_exec_stmt(db, &resend_stmt, q, NULL, &err) == 0)
            qe_dispatch(e, db, id, NULL);
    }
    PQclear(res);
}

static void status_done(struct qe *e, struct db *db, struct qd_reply *r, void *arg)
{
    struct bctx *c = arg;

    if (db != NULL && r->outcome == QD_REPLIED && strcmp(r->result, "SUCCESS") == 0 &&
        cJSON_IsObject(r->message))
        reconcile(e, db, c->board, r->message);
    else
        log_warn("board %s: FunctionStatus: %s", c->board, qd_outcome_name(r->outcome));
    if (db != NULL && c->online_chain) {
        qe_purges(e, db, c->board);
        qe_dispatch_waiting(e, db, c->board);
    }
    free(c);
}

/* --------------------------------------------------------------- online */

static const struct db_stmt offline_stmt = {
    "qe_board_offline",
    "UPDATE executions SET status = 'pending', dispatched_at = NULL, wait_reason = 'the board "
    "is offline', updated_at = now() WHERE board_id = $1::uuid AND fleet_id IS NULL AND status "
    "IN ('pending', 'running') AND received_at IS NULL",
    1,
};

void qe_board_online(struct qe *e, struct db *db, const char *board)
{
    struct qm_board b;
    struct error err;

    if (qm_board_get(db, board, &b, &err) < 0)
        return;
    if (strcmp(b.status, "online") == 0) {
        log_info("board %s online (agent %s)", board, b.agent);
        caps_call(e, &b, 1);
    }
    qm_board_clear(&b);
}

void qe_board_offline(struct qe *e, struct db *db, const char *board)
{
    const char *p[1] = {board};
    struct error err;

    (void)e;
    log_info("board %s offline", board);
    /* Not accepted yet: they wait for the board (3.6 "Offline target"). */
    if (db_exec_stmt(db, &offline_stmt, p, NULL, &err) < 0)
        log_warn("board %s: %s", board, err.msg);
}

/* --------------------------------------------------------------- purges */

static const struct db_stmt purges_stmt = {
    "qe_purges",
    "SELECT p.id, p.board_uuid, p.function_id, p.function_version, array_to_json(p.purge), "
    "coalesce(b.agent, '') FROM board_purges p JOIN boards b ON b.uuid = p.board_uuid WHERE "
    "b.status = 'online' AND ($1::uuid IS NULL OR p.board_uuid = $1::uuid) ORDER BY "
    "p.created_at LIMIT 200",
    1,
};

static const struct db_stmt purge_done_stmt = {
    "qe_purge_done",
    "DELETE FROM board_purges WHERE id = $1::uuid",
    1,
};

static const struct db_stmt purge_gone_stmt = {
    "qe_purge_gone",
    "DELETE FROM board_purges p WHERE NOT EXISTS (SELECT 1 FROM boards b WHERE b.uuid = "
    "p.board_uuid)",
    0,
};

static void purge_done(struct qe *e, struct db *db, struct qd_reply *r, void *arg)
{
    struct bctx *c = arg;
    const char *p[1] = {c->purge_id};
    struct error err;

    (void)e;
    if (db != NULL && r->outcome == QD_REPLIED && strcmp(r->result, "SUCCESS") == 0) {
        if (db_exec_stmt(db, &purge_done_stmt, p, NULL, &err) < 0)
            log_warn("purge %s: %s", c->purge_id, err.msg);
    } else {
        log_info("board %s: purge %s not delivered (%s); it stays owed", c->board, c->purge_id,
                 r->outcome == QD_REPLIED ? r->result : qd_outcome_name(r->outcome));
    }
    free(c);
}

static void purge_one(struct qe *e, const PGresult *res, int i)
{
    struct qm_board b = {0};
    cJSON *payload = cJSON_CreateObject(), *list = NULL;
    struct bctx *c;
    int is_remove = !PQgetisnull(res, i, 2);

    snprintf(b.uuid, sizeof(b.uuid), "%s", PQgetvalue(res, i, 1));
    snprintf(b.agent, sizeof(b.agent), "%s", PQgetvalue(res, i, 5));
    if (json_parse(PQgetvalue(res, i, 4), (size_t)PQgetlength(res, i, 4), &list, NULL) < 0)
        list = cJSON_CreateArray();
    if (is_remove) {
        cJSON_AddStringToObject(payload, "function_id", PQgetvalue(res, i, 2));
        if (PQgetisnull(res, i, 3))
            cJSON_AddNullToObject(payload, "function_version");
        else
            json_add_int(payload, "function_version", strtoll(PQgetvalue(res, i, 3), NULL, 10));
    }
    cJSON_AddItemToObject(payload, "purge", list);
    c = bctx_new(e, &b, 0);
    snprintf(c->purge_id, sizeof(c->purge_id), "%s", PQgetvalue(res, i, 0));
    qd_call(e, b.uuid, b.agent, is_remove ? "FunctionRemove" : "CachePurge", payload, timeout_ms(e),
            purge_done, c);
}

void qe_purges(struct qe *e, struct db *db, const char *board)
{
    const char *p[1] = {board};
    PGresult *res = NULL;
    struct error err;

    if (board == NULL && db_exec_stmt(db, &purge_gone_stmt, NULL, NULL, &err) < 0)
        log_warn("purges of deleted boards: %s", err.msg);
    if (db_exec_stmt(db, &purges_stmt, p, &res, &err) < 0) {
        log_warn("purges: %s", err.msg);
        return;
    }
    for (int i = 0; i < PQntuples(res); i++)
        purge_one(e, res, i);
    PQclear(res);
}

/* ------------------------------------------------------------ keep_warm */

static const struct db_stmt warm_boards_stmt = {
    "qe_warm_boards",
    "SELECT DISTINCT b.uuid FROM boards b WHERE b.status = 'online' AND (b.uuid = $2::uuid OR "
    "b.fleet = $3::uuid OR b.uuid IN (SELECT board_uuid FROM function_boards WHERE "
    "function_id = $1::uuid))",
    3,
};

static void deploy_done(struct qe *e, struct db *db, struct qd_reply *r, void *arg)
{
    struct bctx *c = arg;

    (void)e;
    (void)db;
    if (r->outcome != QD_REPLIED || strcmp(r->result, "SUCCESS") != 0)
        log_warn("board %s: FunctionDeploy: %s %s", c->board, qd_outcome_name(r->outcome),
                 r->outcome == QD_REPLIED ? r->result : r->err.msg);
    free(c);
}

static void deploy_to(struct qe *e, struct db *db, const struct qm_fn *fn, const char *uuid)
{
    struct qm_need need;
    struct qm_board b;
    struct error err;

    if (qm_board_get(db, uuid, &b, &err) < 0)
        return;
    qm_fn_need(fn, &need);
    if (b.caps != NULL && qm_elig_check(b.caps, &need, &err) == 0)
        qd_call(e, b.uuid, b.agent, "FunctionDeploy", qe_payload(e, fn, b.uuid, NULL),
                timeout_ms(e), deploy_done, bctx_new(e, &b, 0));
    qm_board_clear(&b);
}

void qe_warm(struct qe *e, struct db *db, const char *function_id)
{
    struct qm_fn fn;
    struct error err;
    PGresult *res = NULL;

    if (qm_fn_load(db, function_id, 0, NULL, &fn, &err) < 0)
        return;
    const char *p[3] = {fn.id, fn.board_id[0] ? fn.board_id : NULL,
                        fn.fleet_id[0] ? fn.fleet_id : NULL};
    if (fn.rt.present && fn.rt.sha256[0] != '\0' &&
        db_exec_stmt(db, &warm_boards_stmt, p, &res, &err) == 0) {
        for (int i = 0; i < PQntuples(res); i++)
            deploy_to(e, db, &fn, PQgetvalue(res, i, 0));
    }
    PQclear(res);
    qm_fn_clear(&fn);
}
