/* wagent/liveness.c: the wagent's own row, its heartbeat, dead wagents, and
 * the first and last words of a wagent (board-protocol.md 7).
 *
 * Start: the row is upserted online, and every board the database still
 * holds on this wagent (a previous life that died) is marked offline with
 * its session, before the WAMP listener opens (7.3). Until that is
 * committed the attempt repeats every second.
 * Heartbeat, every heartbeat_interval: heartbeat_at and boards_online are
 * written; a row found offline means other wagents or conductors declared
 * this one dead (it could not beat for agent_timeout) and marked its boards
 * offline, so every session is closed and the boards come back through
 * `connection`; wagents whose heartbeat is older than agent_timeout are
 * declared dead here too (the first to lock the row does it), except for
 * agent_timeout after this wagent's own beats stalled (common/stallwatch.h:
 * a database stall delays every beat alike); after a
 * failed session write the boards this wagent does not hold are marked
 * offline; once an hour old invalid sessions are deleted.
 * Stop: every board of this wagent offline, the row offline, board.offline
 * for each. */
#include "wagent/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

#define HISTORY_EVERY 3600.0

/* One result row of a statement that marked boards offline. */
struct offline_row {
    char uuid[UUID_STR_LEN];
    char agent[WAG_HOST_MAX];
    char lr_version[WAG_LR_VERSION_MAX + 1];
    char session[24];
};

struct beat_job {
    struct wag *w;
    int start; /* the start-up job */
    int rc;
    struct error err;
    char bound[24];  /* boards_online */
    char *keep;      /* reconcile: '{uuid,...}' of the boards held here, or NULL */
    int history;     /* delete old sessions this time */
    int reaped_self; /* our row was offline or missing */
    int judge;       /* declare other wagents dead this time (stallwatch.h) */
    char beat_at[64]; /* the database's time of this job's beat */
    struct offline_row *rows;
    size_t nrows;
};

static const struct db_stmt upsert_self = {
    "wag_upsert_self",
    "INSERT INTO wampagents (hostname, wsurl, online, ragent, wstun_url, heartbeat_at, "
    "boards_online) VALUES ($1, $2, true, $3::boolean, $4, now(), 0) ON CONFLICT (hostname) DO "
    "UPDATE SET wsurl = EXCLUDED.wsurl, online = true, ragent = EXCLUDED.ragent, "
    "wstun_url = EXCLUDED.wstun_url, heartbeat_at = now(), boards_online = 0, updated_at = now()",
    4,
};

/* Every board held here by the database goes offline: at start (a previous
 * life died) and at a clean stop. */
static const struct db_stmt release_all = {
    "wag_release_all",
    "WITH s AS (UPDATE sessions s SET valid = false, ended_at = now(), updated_at = now() "
    "FROM boards b WHERE b.agent = $1 AND s.board_uuid = b.uuid AND s.valid "
    "RETURNING s.board_uuid, s.session_id), "
    "b AS (UPDATE boards b SET status = 'offline', updated_at = now() WHERE b.agent = $1 AND "
    "b.status = 'online' RETURNING b.uuid, b.agent, b.lr_version) "
    "SELECT b.uuid, b.agent, coalesce(b.lr_version, ''), coalesce(s.session_id, '') "
    "FROM b LEFT JOIN s ON s.board_uuid = b.uuid",
    1,
};

static const struct db_stmt beat = {
    "wag_beat",
    "UPDATE wampagents w SET heartbeat_at = now(), boards_online = $2::integer, online = true, "
    "updated_at = now() FROM (SELECT id, online FROM wampagents WHERE hostname = $1 FOR UPDATE) "
    "old WHERE w.id = old.id RETURNING old.online, now()",
    2,
};

/* As the conductors do (7.3); this wagent's own row is never a candidate.
 * Heartbeats are judged against $3, the time of this job's own beat, not
 * now(): a statement that waited for a lock (or a PREPARE that did) would
 * otherwise judge others by a clock that ran while they waited too. */
static const struct db_stmt reap = {
    "wag_reap",
    "WITH dead AS (SELECT id, hostname FROM wampagents WHERE online AND hostname <> $2 AND "
    "heartbeat_at < $3::timestamptz - make_interval(secs => $1::integer) "
    "FOR UPDATE SKIP LOCKED), "
    "a AS (UPDATE wampagents w SET online = false, updated_at = now() FROM dead "
    "WHERE w.id = dead.id RETURNING w.hostname), "
    "s AS (UPDATE sessions s SET valid = false, ended_at = now(), updated_at = now() "
    "FROM boards b, a WHERE b.agent = a.hostname AND s.board_uuid = b.uuid AND s.valid "
    "RETURNING s.board_uuid, s.session_id), "
    "b AS (UPDATE boards b SET status = 'offline', updated_at = now() FROM a "
    "WHERE b.agent = a.hostname AND b.status = 'online' RETURNING b.uuid, b.agent, "
    "b.lr_version) "
    "SELECT b.uuid, b.agent, coalesce(b.lr_version, ''), coalesce(s.session_id, '') "
    "FROM b LEFT JOIN s ON s.board_uuid = b.uuid",
    3,
};

static const struct db_stmt reconcile = {
    "wag_reconcile",
    "WITH s AS (UPDATE sessions s SET valid = false, ended_at = now(), updated_at = now() "
    "FROM boards b WHERE b.agent = $1 AND s.board_uuid = b.uuid AND s.valid AND "
    "NOT (b.uuid = ANY ($2::uuid[])) RETURNING s.board_uuid, s.session_id), "
    "b AS (UPDATE boards b SET status = 'offline', updated_at = now() WHERE b.agent = $1 AND "
    "b.status = 'online' AND NOT (b.uuid = ANY ($2::uuid[])) RETURNING b.uuid, b.agent, "
    "b.lr_version) "
    "SELECT b.uuid, b.agent, coalesce(b.lr_version, ''), coalesce(s.session_id, '') "
    "FROM b LEFT JOIN s ON s.board_uuid = b.uuid",
    2,
};

static const struct db_stmt history = {
    "wag_history",
    "DELETE FROM sessions WHERE NOT valid AND ended_at < now() - make_interval(days => "
    "$1::integer)",
    1,
};

static const struct db_stmt go_offline = {
    "wag_self_offline",
    "UPDATE wampagents SET online = false, boards_online = 0, updated_at = now() "
    "WHERE hostname = $1",
    1,
};

/* Appends the rows of res (uuid, agent, lr_version, session) to j. */
static void collect(struct beat_job *j, PGresult *res)
{
    int n = PQntuples(res);

    if (n == 0)
        return;
    j->rows = xrealloc(j->rows, (j->nrows + (size_t)n) * sizeof(*j->rows));
    for (int i = 0; i < n; i++) {
        struct offline_row *r = &j->rows[j->nrows++];

        snprintf(r->uuid, sizeof(r->uuid), "%s", PQgetvalue(res, i, 0));
        snprintf(r->agent, sizeof(r->agent), "%s", PQgetvalue(res, i, 1));
        snprintf(r->lr_version, sizeof(r->lr_version), "%s", PQgetvalue(res, i, 2));
        snprintf(r->session, sizeof(r->session), "%s", PQgetvalue(res, i, 3));
    }
}

static int exec_collect(struct db *db, struct beat_job *j, const struct db_stmt *st,
                        const char *const *p)
{
    PGresult *res = NULL;
    int rc = db_exec_stmt(db, st, p, &res, &j->err);

    if (rc == 0)
        collect(j, res);
    PQclear(res);
    return rc;
}

static int start_tx(struct db *db, void *arg, struct error *err)
{
    struct beat_job *j = arg;
    const struct wag_conf *c = j->w->cfg;
    const char *up[4] = {c->hostname, c->wamp_transport_url, db_param_bool(c->register_agent),
                         c->wstun_public_url};
    const char *me[1] = {c->hostname};
    int rc;

    j->nrows = 0;
    if ((rc = db_exec_stmt(db, &upsert_self, up, NULL, err)) < 0)
        return rc;
    rc = exec_collect(db, j, &release_all, me);
    return rc < 0 ? error_copy(err, &j->err) : 0;
}

static int beat_once(struct db *db, struct beat_job *j)
{
    const struct wag_conf *c = j->w->cfg;
    const char *p[2] = {c->hostname, j->bound};
    PGresult *res = NULL;
    int rc = db_exec_stmt(db, &beat, p, &res, &j->err);

    if (rc == 0 && PQntuples(res) == 1) {
        j->reaped_self = strcmp(PQgetvalue(res, 0, 0), "t") != 0;
        snprintf(j->beat_at, sizeof(j->beat_at), "%s", PQgetvalue(res, 0, 1));
    } else if (rc == 0) {
        j->reaped_self = 1;
    }
    PQclear(res);
    return rc;
}

static void beat_work(void *arg, void *thread_ctx)
{
    struct beat_job *j = arg;
    const struct wag_conf *c = j->w->cfg;
    char secs[DB_INT_LEN], days[DB_INT_LEN];
    const char *rp[3] = {db_param_int(secs, c->agent_timeout), c->hostname, j->beat_at};
    const char *kp[2] = {c->hostname, j->keep};
    const char *hp[1] = {db_param_int(days, c->session_history)};
    struct db *db = thread_ctx;

    if (db == NULL) {
        j->rc = error_set(&j->err, -ENOTCONN, "no database connection");
        return;
    }
    if (j->start) {
        j->rc = db_tx(db, start_tx, j, &j->err);
        return;
    }
    if ((j->rc = beat_once(db, j)) < 0)
        return;
    if (j->judge && j->beat_at[0] != '\0' && (j->rc = exec_collect(db, j, &reap, rp)) < 0)
        return;
    if (j->keep != NULL && (j->rc = exec_collect(db, j, &reconcile, kp)) < 0)
        return;
    if (j->history && (j->rc = db_exec_stmt(db, &history, hp, NULL, &j->err)) < 0)
        return;
}

/* ------------------------------------------------------------ on the loop */

static void publish_rows(struct wag *w, const struct beat_job *j, const char *why)
{
    for (size_t i = 0; i < j->nrows; i++) {
        const struct offline_row *r = &j->rows[i];

        log_info("board %s offline (%s) agent=%s", r->uuid, why, r->agent);
        wag_event_board(w, "board.offline", r->uuid, r->agent, r->session[0] ? r->session : NULL,
                        r->lr_version[0] ? r->lr_version : NULL);
    }
}

static void job_free(struct beat_job *j)
{
    free(j->keep);
    free(j->rows);
    free(j);
}

/* The uuids of the boards held here (bound, or with a session write under
 * way) as a PostgreSQL array literal. */
static char *held_boards(struct wag *w)
{
    struct wag_board *b;
    struct buf out;
    size_t pos = 0, n = 0;

    buf_init(&out, (size_t)-1);
    if (buf_append(&out, "{", 1) < 0)
        abort();
    while ((b = wag_keytab_next(&w->boards, &pos)) != NULL) {
        if (b->sess == NULL && !b->busy)
            continue;
        if (buf_printf(&out, "%s%s", n++ ? "," : "", b->uuid) < 0)
            abort();
    }
    if (buf_append(&out, "}", 1) < 0)
        abort();
    return buf_take(&out, NULL);
}

static void close_everything(struct wag *w, const char *reason)
{
    lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&w->all))
    {
        struct wag_session *s = lws_container_of(d, struct wag_session, link);

        if (wag_session_live(s) && s->state != WAG_S_HANDSHAKE)
            wag_session_goodbye(s, reason);
    }
    lws_end_foreach_dll_safe(d, d1);
}

static void beat_done(void *arg)
{
    struct beat_job *j = arg;
    struct wag *w = j->w;

    w->heartbeat_busy = 0;
    if (j->rc < 0) {
        log_warn("heartbeat failed: %s", j->err.msg);
        if (j->keep != NULL)
            w->reconcile = 1;
    } else {
        stall_watch_done(&w->judge, time_mono_us());
        publish_rows(w, j, "its wagent stopped beating");
        if (j->history)
            w->last_history_cleanup = wag_now(w);
        if (j->reaped_self && !w->stopping) {
            log_warn("this wagent was declared dead (no heartbeat for %lld s): closing every "
                     "session so that boards bind again",
                     (long long)w->cfg->agent_timeout);
            close_everything(w, "wamp.close.system_shutdown");
        }
    }
    job_free(j);
}

static void on_heartbeat(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct wag *w = t->data;
    struct beat_job *j;

    (void)ev;
    (void)revents;
    if (w->heartbeat_busy || w->stopping)
        return; /* a slow database: one beat at a time */
    j = xcalloc(1, sizeof(*j));
    j->w = w;
    snprintf(j->bound, sizeof(j->bound), "%u", w->bound);
    if (w->reconcile) {
        j->keep = held_boards(w);
        w->reconcile = 0;
    }
    j->history =
        w->last_history_cleanup == 0 || wag_now(w) - w->last_history_cleanup >= HISTORY_EVERY;
    j->judge = stall_watch_may_judge(&w->judge, time_mono_us());
    w->heartbeat_busy = 1;
    if (wag_db_submit(w, beat_work, beat_done, j) < 0) {
        w->heartbeat_busy = 0;
        if (j->keep != NULL)
            w->reconcile = 1;
        job_free(j);
    }
}

static void submit_start(struct wag *w);

static void start_done(void *arg)
{
    struct beat_job *j = arg;
    struct wag *w = j->w;
    struct error err;

    if (j->rc < 0 || w->stopping) {
        if (!w->stopping) {
            log_warn("start-up cleanup failed (%s); retrying", j->err.msg);
            ev_timer_start(w->ev, &w->retry);
        }
        job_free(j);
        return;
    }
    publish_rows(w, j, "this wagent restarted");
    job_free(j);
    if (wag_listen(w, &err) < 0) {
        log_error("cannot listen: %s", err.msg);
        loop_stop(w->loop);
        return;
    }
    w->ready = 1;
    stall_watch_done(&w->judge, time_mono_us()); /* the start-up job was a check */
    ev_timer_start(w->ev, &w->heartbeat);
}

static void submit_start(struct wag *w)
{
    struct beat_job *j = xcalloc(1, sizeof(*j));

    j->w = w;
    j->start = 1;
    if (wag_db_submit(w, beat_work, start_done, j) < 0) {
        job_free(j);
        ev_timer_start(w->ev, &w->retry);
    }
}

static void on_retry(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)revents;
    submit_start(t->data);
}

int wag_liveness_start(struct wag *w, struct error *err)
{
    (void)err;
    ev_timer_init(&w->heartbeat, on_heartbeat, (ev_tstamp)w->cfg->heartbeat_interval,
                  (ev_tstamp)w->cfg->heartbeat_interval);
    w->heartbeat.data = w;
    stall_watch_init(&w->judge, w->cfg->heartbeat_interval, w->cfg->agent_timeout, time_mono_us());
    ev_timer_init(&w->retry, on_retry, 1.0, 0.);
    w->retry.data = w;
    submit_start(w);
    return 0;
}

void wag_liveness_stop(struct wag *w)
{
    ev_timer_stop(w->ev, &w->heartbeat);
    ev_timer_stop(w->ev, &w->retry);
}

/* ------------------------------------------------------------ stop */

/* AMQP thread. */
static void stop_confirmed(int rc, const struct error *err, void *arg)
{
    struct wag *w = arg;

    (void)rc;
    (void)err;
    atomic_fetch_sub(&w->stop_confirms, 1);
}

static void publish_stop_events(struct wag *w, const struct beat_job *j)
{
    char at[TIME_ISO_LEN];
    struct error err;

    atomic_store(&w->stop_confirms, 0);
    for (size_t i = 0; i < j->nrows; i++) {
        const struct offline_row *r = &j->rows[i];
        cJSON *ev = cJSON_CreateObject();

        cJSON_AddStringToObject(ev, "event", "board.offline");
        cJSON_AddStringToObject(ev, "board_uuid", r->uuid);
        cJSON_AddStringToObject(ev, "agent", r->agent);
        json_add_str_or_null(ev, "session", r->session[0] ? r->session : NULL);
        json_add_str_or_null(ev, "lr_version", r->lr_version[0] ? r->lr_version : NULL);
        cJSON_AddStringToObject(ev, "at", time_format(time_now_us(), TIME_Z_US, at));
        atomic_fetch_add(&w->stop_confirms, 1);
        if (mq_publish_async(w->mq, "iotronic.board_events", "board.offline", "board.offline", ev,
                             MQ_PERSISTENT | MQ_CONFIRM, stop_confirmed, w, &err) < 0)
            atomic_fetch_sub(&w->stop_confirms, 1);
        cJSON_Delete(ev);
    }
    /* Best effort, but give the broker a moment to confirm them. */
    for (int i = 0; i < 500 && atomic_load(&w->stop_confirms) > 0; i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
}

void wag_liveness_shutdown(struct wag *w)
{
    const char *me[1] = {w->cfg->hostname};
    struct beat_job j = {.w = w};
    struct db *db = NULL;
    struct error err;

    if (db_connect(w->cfg->db_connection, &db, &err) < 0) {
        log_warn("cannot mark this wagent's boards offline: %s (other wagents and the "
                 "conductors will, after agent_timeout)",
                 err.msg);
        return;
    }
    if (db_begin(db, &err) < 0 || exec_collect(db, &j, &release_all, me) < 0 ||
        db_exec_stmt(db, &go_offline, me, NULL, &err) < 0 || db_commit(db, &err) < 0) {
        log_warn("cannot mark this wagent's boards offline: %s",
                 j.err.msg[0] ? j.err.msg : err.msg);
        (void)db_rollback(db, &err);
    } else {
        log_info("%zu board(s) marked offline; wagent %s offline", j.nrows, w->cfg->hostname);
        publish_stop_events(w, &j);
    }
    free(j.rows);
    db_close(db);
}
