/* qengine/sweep.c: the periodic re-examination (3.6) and housekeeping.
 *
 * Every [engine] sweep_interval (and once at startup, over every
 * non-terminal execution) the sweeper:
 *   - ends executions whose deadline passed before a board accepted them,
 *     and accepted ones unreported for [engine] result_timeout;
 *   - dispatches what no message announced or whose board call's outcome
 *     stayed unknown (at-least-once);
 *   - reconciles with boards.status (a missed board event), delivers owed
 *     purges, collects unreferenced blobs after [storage] blob_grace and
 *     old trigger firings, and restores runtimes left `upgrading` by a dead
 *     API.
 * A second tick is skipped while one still runs. Worker threads. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "db/row.h"
#include "qengine/engine.h"
#include "qmodel/blobs.h"

#define BATCH 500

static const struct db_stmt deadline_stmt = {
    "qe_sweep_deadline",
    "SELECT id FROM executions WHERE status IN ('pending', 'running') AND received_at IS NULL "
    "AND deadline < now() AND NOT (placement = 'all' AND board_id IS NULL) LIMIT 500",
    0,
};

static const struct db_stmt unreported_stmt = {
    "qe_sweep_unreported",
    "SELECT id, board_id FROM executions WHERE status = 'running' AND received_at < now() - "
    "make_interval(secs => $1::int) LIMIT 500",
    1,
};

/* Not accepted, not waiting on a call in flight, older than one interval
 * (at startup: everything). */
static const struct db_stmt undispatched_stmt = {
    "qe_sweep_undispatched",
    "SELECT id FROM executions WHERE status IN ('pending', 'running') AND received_at IS NULL "
    "AND NOT (placement = 'all' AND board_id IS NULL) AND (retry_at IS NULL OR retry_at <= "
    "now()) AND (dispatched_at IS NULL OR dispatched_at < now() - make_interval(secs => "
    "$1::int)) AND ($3::boolean OR created_at < now() - make_interval(secs => $2::int)) "
    "ORDER BY created_at LIMIT 500",
    3,
};

static void end_overdue(struct qe *e, struct db *db)
{
    char t[DB_INT_LEN], msg[160];
    const char *p[1] = {db_param_int(t, e->cfg->result_timeout)};
    PGresult *res = NULL;
    struct error err;

    if (db_exec_stmt(db, &deadline_stmt, NULL, &res, &err) == 0) {
        for (int i = 0; i < PQntuples(res); i++) {
            atomic_fetch_add(&e->stats.deadlines, 1);
            qe_fail(e, db, PQgetvalue(res, i, 0),
                    "No board became available before the execution deadline.", 0);
        }
    }
    PQclear(res);
    res = NULL;
    if (db_exec_stmt(db, &unreported_stmt, p, &res, &err) == 0) {
        for (int i = 0; i < PQntuples(res); i++) {
            snprintf(msg, sizeof(msg), "Board %s did not report the result in time.",
                     PQgetvalue(res, i, 1));
            qe_fail(e, db, PQgetvalue(res, i, 0), msg, 1);
        }
    }
    PQclear(res);
}

/* Parents whose children all ended (an engine stopped between storing the
 * last child and completing its parent). */
static const struct db_stmt orphan_parents_stmt = {
    "qe_sweep_parents",
    "SELECT p.id FROM executions p WHERE p.status = 'running' AND p.placement = 'all' AND "
    "p.board_id IS NULL AND NOT EXISTS (SELECT 1 FROM executions c WHERE c.parent_id = p.id "
    "AND c.status NOT IN ('success', 'failed', 'error')) LIMIT 100",
    0,
};

static void complete_parents(struct qe *e, struct db *db)
{
    PGresult *res = NULL;
    struct error err;

    if (db_exec_stmt(db, &orphan_parents_stmt, NULL, &res, &err) < 0)
        return;
    for (int i = 0; i < PQntuples(res); i++)
        qe_complete_parent(e, db, PQgetvalue(res, i, 0));
    PQclear(res);
}

static void redispatch(struct qe *e, struct db *db, int startup)
{
    char t[DB_INT_LEN], s[DB_INT_LEN];
    const char *p[3] = {db_param_int(t, e->cfg->board_call_timeout + 5),
                        db_param_int(s, e->cfg->sweep_interval), db_param_bool(startup)};
    PGresult *res = NULL;
    struct error err;

    if (db_exec_stmt(db, &undispatched_stmt, p, &res, &err) < 0) {
        log_warn("sweep: %s", err.msg);
        return;
    }
    for (int i = 0; i < PQntuples(res); i++)
        qe_dispatch(e, db, PQgetvalue(res, i, 0), NULL);
    PQclear(res);
}

/* ---------------------------------------------------------------- blobs */

static const struct db_stmt blobs_due_stmt = {
    "qe_blobs_due",
    "SELECT sha256 FROM blobs WHERE refcount = 0 AND unreferenced_since < now() - "
    "make_interval(secs => $1::int) LIMIT 100",
    1,
};

static const struct db_stmt blob_delete_stmt = {
    "qe_blob_delete",
    "DELETE FROM blobs WHERE sha256 = $1 AND refcount = 0 AND unreferenced_since < now() - "
    "make_interval(secs => $2::int) RETURNING sha256",
    2,
};

struct gc {
    const char *root, *sha, *grace;
};

/* The file goes while the row's delete holds its lock (qmodel/blobs.h). */
static int gc_tx(struct db *db, void *arg, struct error *err)
{
    struct gc *g = arg;
    const char *p[2] = {g->sha, g->grace};
    PGresult *res = NULL;
    int rc = db_exec_stmt(db, &blob_delete_stmt, p, &res, err);

    if (rc == 0 && PQntuples(res) == 1 && qm_blob_unlink(g->root, g->sha) < 0)
        rc = error_set(err, -EIO, "unlink blob %s", g->sha);
    PQclear(res);
    return rc;
}

static void collect_blobs(struct qe *e, struct db *db)
{
    char g[DB_INT_LEN];
    const char *p[1] = {db_param_int(g, e->cfg->blob_grace)};
    PGresult *res = NULL;
    struct error err;

    if (db_exec_stmt(db, &blobs_due_stmt, p, &res, &err) < 0)
        return;
    for (int i = 0; i < PQntuples(res); i++) {
        struct gc gc = {e->cfg->file_system_dir, PQgetvalue(res, i, 0), g};

        if (db_tx(db, gc_tx, &gc, &err) < 0)
            log_warn("blob %s: %s", gc.sha, err.msg);
        else
            log_info("blob %s deleted (unreferenced)", gc.sha);
    }
    PQclear(res);
}

static const struct db_stmt blob_known_stmt = {
    "qe_blob_known",
    "SELECT EXISTS (SELECT 1 FROM blobs WHERE sha256 = $1)",
    1,
};

/* Files older than the grace that no row names: left by an API that died
 * between placing a blob and committing (qapi's package commit). */
static void collect_orphans_in(struct qe *e, struct db *db, const char *dir, time_t before)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    struct stat st;
    char path[4800];

    while (d != NULL && (de = readdir(d)) != NULL) {
        const char *p[1] = {de->d_name};
        PGresult *res = NULL;
        struct error err;

        if (strlen(de->d_name) != 64)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &st) < 0 || st.st_mtime > before ||
            db_exec_stmt(db, &blob_known_stmt, p, &res, &err) < 0)
            continue;
        if (strcmp(PQgetvalue(res, 0, 0), "f") == 0 && unlink(path) == 0)
            log_info("orphaned blob file %s removed", de->d_name);
        PQclear(res);
    }
    if (d != NULL)
        closedir(d);
    (void)e;
}

static void collect_orphans(struct qe *e, struct db *db)
{
    char dir[4096];
    time_t before = time(NULL) - (time_t)e->cfg->blob_grace;
    DIR *d;
    struct dirent *de;

    snprintf(dir, sizeof(dir), "%s/blobs", e->cfg->file_system_dir);
    d = opendir(dir);
    while (d != NULL && (de = readdir(d)) != NULL) {
        char sub[4400];

        if (strlen(de->d_name) != 2)
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
        collect_orphans_in(e, db, sub, before);
    }
    if (d != NULL)
        closedir(d);
}

/* ---------------------------------------------------------------- misc */

static const struct db_stmt stuck_stmt = {
    "qe_runtimes_stuck",
    "UPDATE runtimes SET status = CASE WHEN image_sha256 IS NULL THEN 'error' ELSE 'available' "
    "END, status_reason = CASE WHEN image_sha256 IS NULL THEN 'Invalid runtime image: the "
    "upload did not complete.' ELSE status_reason END, updated_at = now() WHERE status = "
    "'upgrading' AND updated_at < now() - interval '1 hour'",
    0,
};

static const struct db_stmt firings_stmt = {
    "qe_firings_old",
    "WITH old AS (DELETE FROM trigger_firings WHERE received_at < now() - make_interval(secs => "
    "$1::int) RETURNING 1) SELECT count(*) FROM old",
    1,
};

/* Boards online without known capabilities (a missed board.online), with
 * stale ones (older than caps_refresh), or with no executor yet: an agent
 * that has just connected may still be probing crun, and says so. */
static const struct db_stmt capless_stmt = {
    "qe_boards_capless",
    "SELECT b.uuid FROM boards b LEFT JOIN board_capabilities c ON c.board_uuid = b.uuid WHERE "
    "b.status = 'online' AND (c.board_uuid IS NULL OR coalesce(c.updated_at, c.created_at) < "
    "now() - make_interval(secs => $1::int) OR (c.caps->>'executor' = 'none' AND "
    "coalesce(c.updated_at, c.created_at) < now() - interval '1 second')) LIMIT 100",
    1,
};

/* At most the newest 10000 firings per trigger (3.7.5). */
static const struct db_stmt firings_cap_stmt = {
    "qe_firings_cap",
    "DELETE FROM trigger_firings WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER "
    "(PARTITION BY trigger_id ORDER BY firing_seq DESC) AS n FROM trigger_firings) x "
    "WHERE x.n > 10000)",
    0,
};

static void housekeeping(struct qe *e, struct db *db, int64_t now_ms)
{
    static _Thread_local int64_t last_orphans;
    char r[DB_INT_LEN];
    const char *p[1] = {db_param_int(r, e->cfg->firing_retention)};
    struct error err;

    qe_purges(e, db, NULL);
    collect_blobs(e, db);
    if (now_ms - last_orphans > 600000) {
        last_orphans = now_ms;
        collect_orphans(e, db);
        if (db_exec_stmt(db, &firings_cap_stmt, NULL, NULL, &err) < 0)
            log_warn("firings: %s", err.msg);
    }
    if (db_exec_stmt(db, &stuck_stmt, NULL, NULL, &err) < 0 ||
        db_exec_stmt(db, &firings_stmt, p, NULL, &err) < 0)
        log_warn("housekeeping: %s", err.msg);
}

void qe_caps_tick(struct qe *e, struct db *db)
{
    char r[DB_INT_LEN];
    const char *p[1] = {db_param_int(r, e->cfg->caps_refresh)};
    PGresult *res = NULL;
    struct error err;

    if (db_exec_stmt(db, &capless_stmt, p, &res, &err) < 0)
        return;
    for (int i = 0; i < PQntuples(res); i++)
        qe_board_online(e, db, PQgetvalue(res, i, 0));
    PQclear(res);
}

void qe_sweep(struct qe *e, struct db *db)
{
    int startup = !e->started;

    end_overdue(e, db);
    complete_parents(e, db);
    redispatch(e, db, startup);
    housekeeping(e, db, time_mono_ms());
    if (startup) {
        e->started = 1;
        log_info("engine ready: startup sweep done");
    }
}

static const struct db_stmt retry_stmt = {
    "qe_retry_due",
    "SELECT id FROM executions WHERE status IN ('pending', 'running') AND received_at IS NULL "
    "AND dispatched_at IS NULL AND retry_at <= now() ORDER BY retry_at LIMIT 100",
    0,
};

void qe_retry_tick(struct qe *e, struct db *db)
{
    PGresult *res = NULL;
    struct error err;

    if (db_exec_stmt(db, &retry_stmt, NULL, &res, &err) < 0)
        return;
    for (int i = 0; i < PQntuples(res); i++)
        qe_dispatch(e, db, PQgetvalue(res, i, 0), NULL);
    PQclear(res);
}
