/* conductor/serve.c: the dispatch table of conductor/rpc.h, the worker pool,
 * the conductor's own row, and the periodic dead-wagent check of
 * board-protocol.md 7.3. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/wq.h"
#include "conductor/boardcall.h"
#include "conductor/handlers.h"
#include "conductor/rpc.h"
#include "conductor/serve.h"

#define H(m, f)                                                                                    \
    {                                                                                              \
        m, f, 0                                                                                    \
    }

const struct mq_handler cond_handlers[] = {
    H("board_create", cond_h_board_create),
    H("board_update", cond_h_board_update),
    H("board_delete", cond_h_board_delete),
    H("board_action", cond_h_board_action),
    H("plugin_create", cond_h_plugin_create),
    H("plugin_update", cond_h_plugin_update),
    H("plugin_delete", cond_h_plugin_delete),
    H("plugin_inject", cond_h_plugin_inject),
    H("plugin_action", cond_h_plugin_action),
    H("plugin_remove", cond_h_plugin_remove),
    H("service_create", cond_h_service_create),
    H("service_update", cond_h_service_update),
    H("service_delete", cond_h_service_delete),
    H("service_action", cond_h_service_action),
    H("services_restore", cond_h_services_restore),
    H("services_status", cond_h_services_status),
    H("fleet_create", cond_h_fleet_create),
    H("fleet_update", cond_h_fleet_update),
    H("fleet_delete", cond_h_fleet_delete),
    H("port_attach", cond_h_port_write),
    H("port_detach", cond_h_port_write),
    H("webservice_expose", cond_h_webservice_write),
    H("webservice_unexpose", cond_h_webservice_write),
    H("webservice_enable", cond_h_webservice_write),
    H("webservice_disable", cond_h_webservice_write),
    H("webservice_renew", cond_h_webservice_write),
    H("notify_result", cond_h_notify_result),
};
const size_t cond_nhandlers = sizeof(cond_handlers) / sizeof(cond_handlers[0]);

static const struct db_stmt register_self = {
    "cond_register",
    "INSERT INTO conductors (hostname, online) VALUES ($1, $2::boolean) ON CONFLICT (hostname) "
    "DO UPDATE SET online = EXCLUDED.online, updated_at = now()",
    2,
};

/* The first conductor (or wagent) to lock a stale wagent row marks it and
 * its boards offline; the others skip it (7.3). Heartbeats are judged
 * against $2, the database's time when the check began: the statement (or
 * its PREPARE) may wait for a lock, and the others' beats wait with it. */
static const struct db_stmt reap_wagents = {
    "cond_reap_wagents",
    "WITH dead AS (SELECT id, hostname FROM wampagents WHERE online AND heartbeat_at < "
    "$2::timestamptz - make_interval(secs => $1::integer) FOR UPDATE SKIP LOCKED), "
    "a AS (UPDATE wampagents w SET online = false, updated_at = now() FROM dead "
    "WHERE w.id = dead.id RETURNING w.hostname), "
    "s AS (UPDATE sessions s SET valid = false, ended_at = now() FROM boards b, a "
    "WHERE b.agent = a.hostname AND s.board_uuid = b.uuid AND s.valid RETURNING s.board_uuid) "
    "UPDATE boards b SET status = 'offline', updated_at = now() FROM a "
    "WHERE b.agent = a.hostname AND b.status = 'online' RETURNING b.uuid, b.agent, "
    "(SELECT count(*) FROM s)",
    2,
};

static const struct db_stmt stale_calls = {
    "cond_stale_calls",
    "SELECT s.request_uuid, s.board_uuid FROM results s JOIN requests r ON r.uuid = "
    "s.request_uuid WHERE s.result = 'RUNNING' AND s.updated_at IS NULL AND r.status = "
    "'PENDING' AND r.created_at < now() - make_interval(secs => $1::integer) LIMIT 100",
    1,
};

int cond_register(struct db *db, const char *host, int online, struct error *err)
{
    const char *p[2] = {host, db_param_bool(online)};

    return db_exec_stmt(db, &register_self, p, NULL, err);
}

/* Publishes board.offline (board-protocol 7.4) for a board of a dead wagent. */
static void publish_offline(struct cond *c, const char *board, const char *agent)
{
    char at[TIME_ISO_LEN];
    cJSON *ev = cJSON_CreateObject();
    struct error err;

    cJSON_AddStringToObject(ev, "event", "board.offline");
    cJSON_AddStringToObject(ev, "board_uuid", board);
    cJSON_AddStringToObject(ev, "agent", agent);
    cJSON_AddStringToObject(ev, "at", time_format(time_now_us(), TIME_Z_US, at));
    if (mq_publish(c->mq, "iotronic.board_events", "board.offline", "board.offline", ev,
                   MQ_PERSISTENT, &err) < 0)
        log_warn("board.offline %s not published: %s", board, err.msg);
    cJSON_Delete(ev);
}

int cond_reap(struct cond *c, struct db *db, struct error *err)
{
    char secs[DB_INT_LEN], ref[64];
    const char *p[2] = {db_param_int(secs, c->cfg.agent_timeout), ref};
    PGresult *res = NULL;
    int rc = db_exec(db, "SELECT now()", 0, NULL, &res, err), n;

    if (rc < 0)
        return rc;
    snprintf(ref, sizeof(ref), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if ((rc = db_exec_stmt(db, &reap_wagents, p, &res, err)) < 0)
        return rc;
    n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        log_info("board %s offline: its wagent %s stopped beating", PQgetvalue(res, i, 0),
                 PQgetvalue(res, i, 1));
        publish_offline(c, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
    }
    PQclear(res);
    return n;
}

int cond_expire_calls(struct cond *c, struct db *db, struct error *err)
{
    char secs[DB_INT_LEN];
    const char *p[1] = {db_param_int(secs, c->cfg.board_call_timeout + 60)};
    PGresult *res = NULL;
    int rc = db_exec_stmt(db, &stale_calls, p, &res, err), n;

    if (rc < 0)
        return rc;
    n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        /* Idempotent: two conductors closing the same call do no harm. */
        if (cond_request_finish(db, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), "ERROR",
                                "interrupted: the conductor stopped before the board answered",
                                err) < 0)
            log_warn("request %s: %s", PQgetvalue(res, i, 0), err->msg);
        else
            log_info("request %s closed: its conductor stopped during the call",
                     PQgetvalue(res, i, 0));
    }
    PQclear(res);
    return n;
}

int cond_start(struct cond *c, struct wq **wq_out, struct error *err)
{
    struct wq_hooks hooks = {db_thread_open, db_thread_close, NULL, c->cfg.db_connection};
    struct mq_serve_opts so = {0};
    struct wq *wq;
    int rc;

    wq = wq_new((int)c->cfg.workers, 0, &hooks);
    so.durable = 1;
    so.prefetch = (int)c->cfg.workers * 4;
    so.wq = wq;
    rc = mq_declare_exchange(c->mq, "iotronic.board_events", "topic", MQ_DURABLE, err);
    if (rc < 0 && rc != -ENOTCONN)
        log_warn("iotronic.board_events: %s", err->msg);
    rc = mq_serve(c->mq, COND_QUEUE, cond_handlers, cond_nhandlers, &so, c, err);
    if (rc < 0 && rc != -ENOTCONN) {
        wq_free(wq);
        return rc;
    }
    *wq_out = wq;
    return 0;
}
