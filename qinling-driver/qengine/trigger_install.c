/* qengine/trigger_install.c: a board's trigger set, from the rows to the
 * board (deviceless-api.md 3.7.3; see trigger.h).
 *
 * One sync reads every enabled trigger whose source is the board, resolves
 * each target now (local when it is exactly the source board), deploys the
 * functions of local loops one after the other (FunctionDeploy pins them on
 * the board), then sends TriggerSet with what is left and records the
 * board's answer per trigger. A trigger the cloud cannot prepare (its
 * function is gone, its local target cannot run on the board) is left out
 * of the set, so the board drops it, and marked `error` with the reason.
 *
 * Several syncs of one board may cross (two engines, or a change while a
 * set is in flight): each sends what the rows held when it read them, so
 * after its answer a sync compares the board's rows with that reading and
 * starts over when they changed. The last set the board receives is thus
 * never older than the last change. Worker threads; the timer on the loop. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/trigdef.h"
#include "common/xalloc.h"
#include "db/row.h"
#include "qengine/driver.h"
#include "qengine/payload.h"
#include "qengine/trigger.h"
#include "qmodel/elig.h"
#include "qmodel/fn.h"
#include "qmodel/target.h"
#include "qmodel/sql.h"
#include "qmodel/trigger.h"

struct qe_trig {
    struct qe *e;
    ev_timer tick;
    atomic_int busy;
    int stopping; /* loop thread: set by qe_triggers_stop() */
};

/* One trigger of the set being installed. */
struct entry {
    char id[UUID_STR_LEN];
    int local;
    char fn_key[UUID_STR_LEN + 24]; /* "<function id>/<version>" of a local loop */
    cJSON *def;                     /* its TriggerSet definition; NULL when left out */
    char *error;                    /* why it was left out */
};

struct sync {
    struct qe *e;
    char board[UUID_STR_LEN];
    char agent[256];
    char *stamp; /* the rows as read: compared after the answer */
    struct entry *v;
    size_t n;
    cJSON *deploys; /* [{"key", "payload"}] still to send */
};

static int timeout_ms(const struct qe *e)
{
    return (int)e->cfg->board_call_timeout * 1000;
}

static void sync_free(struct sync *s)
{
    for (size_t i = 0; i < s->n; i++) {
        cJSON_Delete(s->v[i].def);
        free(s->v[i].error);
    }
    free(s->v);
    free(s->stamp);
    cJSON_Delete(s->deploys);
    free(s);
}

/* ------------------------------------------------------------ statements */

static const struct db_stmt pending_stmt = {
    "qe_trig_pending",
    "UPDATE triggers SET status = 'pending', status_reason = NULL WHERE source_board_id = "
    "$1::uuid AND enabled AND status <> 'pending'",
    1,
};

/* Active triggers stay active while their set is sent again (a reconnect);
 * the others are being installed. */
static const struct db_stmt begin_stmt = {
    "qe_trig_begin",
    "UPDATE triggers SET install_at = now(), status = CASE WHEN status = 'active' THEN status "
    "ELSE 'installing' END, status_reason = CASE WHEN status = 'active' THEN status_reason "
    "END WHERE source_board_id = $1::uuid AND enabled",
    1,
};

static const struct db_stmt gone_board_stmt = {
    "qe_trig_gone_board",
    "UPDATE triggers SET status = 'error', status_reason = 'Board ' || $1 || ' could not be "
    "found.' WHERE source_board_id = $1::uuid AND enabled AND status <> 'error'",
    1,
};

static const struct db_stmt stamp_stmt = {
    "qe_trig_stamp",
    "SELECT coalesce(string_agg(t.id::text || '@' || coalesce(t.updated_at, t.created_at)::text "
    "|| t.enabled::text, ',' ORDER BY t.id), '') FROM triggers t WHERE t.source_board_id = "
    "$1::uuid",
    1,
};

static const struct db_stmt set_stmt = {
    "qe_trig_set",
    "SELECT t.id, t.source::text, t.target::text, t.project_id, (SELECT coalesce(max(f.firing_seq) "
    "+ 1, 1) FROM trigger_firings f WHERE f.trigger_id = t.id) FROM triggers t WHERE "
    "t.source_board_id = $1::uuid AND t.enabled ORDER BY t.created_at, t.id",
    1,
};

static const struct db_stmt active_stmt = {
    "qe_trig_active",
    "UPDATE triggers SET status = 'active', status_reason = NULL, local = $3::boolean WHERE id = "
    "$1::uuid AND source_board_id = $2::uuid AND enabled",
    3,
};

static const struct db_stmt error_stmt = {
    "qe_trig_error",
    "UPDATE triggers SET status = 'error', status_reason = $3, local = $4::boolean WHERE id = "
    "$1::uuid AND source_board_id = $2::uuid AND enabled",
    4,
};

static char *read_stamp(struct db *db, const char *board)
{
    const char *p[1] = {board};
    PGresult *res = NULL;
    struct error err;
    char *s = NULL;

    if (db_exec_stmt(db, &stamp_stmt, p, &res, &err) == 0 && PQntuples(res) == 1)
        s = xstrdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return s;
}

static void mark(struct db *db, const char *board, const struct entry *en, const char *error)
{
    const char *e[4] = {en->id, board, error, db_param_bool(en->local)};
    const char *a[3] = {en->id, board, db_param_bool(en->local)};
    struct error err;
    int rc = error != NULL ? db_exec_stmt(db, &error_stmt, e, NULL, &err)
                           : db_exec_stmt(db, &active_stmt, a, NULL, &err);

    if (rc < 0)
        log_warn("trigger %s: status not recorded: %s", en->id, err.msg);
}

/* --------------------------------------------------------- preparation */

static const struct db_stmt alias_stmt = {
    "qe_trig_alias",
    "SELECT function_id, function_version FROM function_aliases WHERE name = $1 AND project_id "
    "= $2",
    2,
};

/* The target's function now (an alias resolved in the trigger's project). */
static int load_fn(struct db *db, const char *project, const struct qm_trig_target *t,
                   struct qm_fn *fn, struct error *err)
{
    char fid[UUID_STR_LEN];
    int64_t version = t->version;

    snprintf(fid, sizeof(fid), "%s", t->function_id);
    if (t->alias[0] != '\0') {
        const char *p[2] = {t->alias, project};
        PGresult *res = NULL;
        int rc = db_exec_stmt(db, &alias_stmt, p, &res, err);

        if (rc == 0 && PQntuples(res) == 0)
            rc = error_set(err, -ENOENT, "FunctionAlias not found [name=%.255s]", t->alias);
        if (rc == 0) {
            snprintf(fid, sizeof(fid), "%s", PQgetvalue(res, 0, 0));
            version = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        }
        PQclear(res);
        if (rc < 0)
            return rc;
    }
    return qm_fn_load(db, fid, version, NULL, fn, err);
}

/* A local loop's function must be able to run on the board (3.3). */
static int runnable(const struct qm_fn *fn, const struct qm_board *b, struct error *err)
{
    struct qm_need need;
    struct error why;

    qm_fn_need(fn, &need);
    if (b->caps == NULL || qm_elig_check(b->caps, &need, &why) == 0)
        return 0;
    return error_set(err, -EPERM, "Board %s cannot run this function: %s.", b->uuid, why.msg);
}

static cJSON *definition(const struct entry *en, const struct trigdef_source *src,
                         const struct qm_trig_target *t, const char *seq_base)
{
    cJSON *d = cJSON_CreateObject();

    cJSON_AddStringToObject(d, "id", en->id);
    cJSON_AddItemToObject(d, "source", trigdef_source_json(src, NULL));
    cJSON_AddItemToObject(d, "input_template",
                          t->tmpl != NULL ? cJSON_Duplicate(t->tmpl, 1) : cJSON_CreateNull());
    cJSON_AddBoolToObject(d, "local", en->local);
    json_add_int(d, "firing_seq_base", strtoll(seq_base, NULL, 10));
    return d;
}

static void add_deploy(struct sync *s, const char *key, const struct qm_fn *fn)
{
    cJSON *it, *d;

    cJSON_ArrayForEach(it,
                       s->deploys) if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(it, "key")),
                                              key) == 0) return;
    d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "key", key);
    cJSON_AddItemToObject(d, "payload", qe_payload(s->e, fn, s->board, NULL));
    cJSON_AddItemToArray(s->deploys, d);
}

/* Prepares row i into s->v[i]: its definition, or why it is left out. */
static void prepare(struct sync *s, struct db *db, const struct qm_board *b, const PGresult *res,
                    int i)
{
    struct entry *en = &s->v[i];
    cJSON *src_j = NULL, *tgt_j = NULL;
    struct trigdef_source src;
    struct qm_trig_target t;
    struct qm_fn fn;
    struct error err;
    int have_fn = 0, local;

    snprintf(en->id, sizeof(en->id), "%s", PQgetvalue(res, i, 0));
    if (json_parse(PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1), &src_j, &err) < 0 ||
        json_parse(PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2), &tgt_j, &err) < 0 ||
        trigdef_source_parse(src_j, &src, &err) < 0 || qm_trig_target_load(tgt_j, &t, &err) < 0 ||
        load_fn(db, PQgetvalue(res, i, 3), &t, &fn, &err) < 0)
        goto refuse;
    have_fn = 1;
    local = qm_trig_is_local(db, &t, &fn, s->board, &err);
    if (local < 0 || (local && runnable(&fn, b, &err) < 0))
        goto refuse;
    en->local = local;
    en->def = definition(en, &src, &t, PQgetvalue(res, i, 4));
    if (local) {
        snprintf(en->fn_key, sizeof(en->fn_key), "%s/%lld", fn.id, (long long)fn.version);
        /* The template the board runs on its own: FunctionExecute without the
         * execution's own fields (3.7.3). */
        cJSON_AddItemToObject(en->def, "execute", qe_payload(s->e, &fn, s->board, NULL));
        add_deploy(s, en->fn_key, &fn);
    }
    goto out;
refuse:
    en->error = xstrdup(err.msg);
out:
    if (have_fn)
        qm_fn_clear(&fn);
    cJSON_Delete(src_j);
    cJSON_Delete(tgt_j);
}

/* ---------------------------------------------------------------- sending */

static void set_done(struct qe *e, struct db *db, struct qd_reply *r, void *arg);

static void send_set(struct qe *e, struct sync *s)
{
    cJSON *payload = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(payload, "triggers");

    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].def != NULL)
            cJSON_AddItemToArray(arr, cJSON_Duplicate(s->v[i].def, 1));
    qd_call(e, s->board, s->agent, "TriggerSet", payload, timeout_ms(e), set_done, s);
}

static void deploy_next(struct qe *e, struct sync *s);

static const char *reply_text(const struct qd_reply *r)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(r->message, "message");

    if (cJSON_IsString(m))
        return m->valuestring;
    return cJSON_IsString(r->message) ? r->message->valuestring : r->result;
}

static int busy_reply(const struct qd_reply *r)
{
    const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r->message, "code"));

    return code != NULL && strcmp(code, "busy") == 0;
}

static void deploy_done(struct qe *e, struct db *db, struct qd_reply *r, void *arg)
{
    struct sync *s = arg;
    cJSON *d = cJSON_DetachItemFromArray(s->deploys, 0);
    const char *key = cJSON_GetStringValue(cJSON_GetObjectItem(d, "key"));
    char why[ERROR_MSG_MAX];

    if (db == NULL || r->outcome != QD_REPLIED || busy_reply(r)) {
        /* Unreachable, or its executor still starting: the next tick retries. */
        log_info("board %s: trigger set deferred: FunctionDeploy %s", s->board,
                 r->outcome == QD_REPLIED ? reply_text(r) : qd_outcome_name(r->outcome));
        cJSON_Delete(d);
        sync_free(s);
        return;
    }
    if (strcmp(r->result, "SUCCESS") != 0) {
        snprintf(why, sizeof(why), "Cannot deploy the function on board %s: %.400s", s->board,
                 reply_text(r));
        for (size_t i = 0; i < s->n; i++)
            if (s->v[i].def != NULL && strcmp(s->v[i].fn_key, key) == 0) {
                cJSON_Delete(s->v[i].def);
                s->v[i].def = NULL;
                s->v[i].error = xstrdup(why);
            }
    }
    cJSON_Delete(d);
    deploy_next(e, s);
}

static void deploy_next(struct qe *e, struct sync *s)
{
    cJSON *d = cJSON_GetArrayItem(s->deploys, 0);

    if (d == NULL) {
        send_set(e, s);
        return;
    }
    qd_call(e, s->board, s->agent, "FunctionDeploy",
            cJSON_Duplicate(cJSON_GetObjectItem(d, "payload"), 1), timeout_ms(e), deploy_done, s);
}

static const char *refusal(const cJSON *refused, const char *id)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, refused)
    {
        const char *x = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "id"));
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "message"));

        if (x != NULL && strcasecmp(x, id) == 0)
            return m != NULL ? m : "refused by the board";
    }
    return NULL;
}

static void record(struct db *db, struct sync *s, const cJSON *refused)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct entry *en = &s->v[i];

        if (en->def == NULL)
            mark(db, s->board, en, en->error);
        else
            mark(db, s->board, en, refusal(refused, en->id));
    }
}

/* The board refused the whole set (an agent without TriggerSet, a state
 * file it cannot write): every trigger is in error with its words. */
static void refuse_all(struct db *db, struct sync *s, const char *why)
{
    for (size_t i = 0; i < s->n; i++)
        mark(db, s->board, &s->v[i], s->v[i].def != NULL ? why : s->v[i].error);
}

static void set_done(struct qe *e, struct db *db, struct qd_reply *r, void *arg)
{
    struct sync *s = arg;
    char *now;

    if (db != NULL && r->outcome == QD_REPLIED && strcmp(r->result, "SUCCESS") != 0) {
        log_warn("board %s: TriggerSet refused: %s", s->board, reply_text(r));
        refuse_all(db, s, reply_text(r));
        sync_free(s);
        return;
    }
    if (db == NULL || r->outcome != QD_REPLIED) {
        /* Not delivered or not answered: the reconciliation sends it again. */
        log_warn("board %s: TriggerSet: %s %s", s->board, qd_outcome_name(r->outcome), r->err.msg);
        sync_free(s);
        return;
    }
    record(db, s, cJSON_GetObjectItemCaseSensitive(r->message, "refused"));
    log_info("board %s: trigger set installed (%zu)", s->board, s->n);
    now = read_stamp(db, s->board);
    if (now != NULL && s->stamp != NULL && strcmp(now, s->stamp) != 0) {
        log_info("board %s: its triggers changed meanwhile; sending the set again", s->board);
        qe_trigger_sync(e, db, s->board);
    }
    free(now);
    sync_free(s);
}

/* ------------------------------------------------------------------ sync */

static struct sync *read_set(struct qe *e, struct db *db, const struct qm_board *b)
{
    const char *p[1] = {b->uuid};
    PGresult *res = NULL;
    struct error err;
    struct sync *s;

    s = xcalloc(1, sizeof(*s));
    s->e = e;
    snprintf(s->board, sizeof(s->board), "%s", b->uuid);
    snprintf(s->agent, sizeof(s->agent), "%s", b->agent);
    s->deploys = cJSON_CreateArray();
    s->stamp = read_stamp(db, b->uuid);
    if (db_exec_stmt(db, &begin_stmt, p, NULL, &err) < 0 ||
        db_exec_stmt(db, &set_stmt, p, &res, &err) < 0) {
        log_warn("board %s: triggers not read: %s", b->uuid, err.msg);
        sync_free(s);
        return NULL;
    }
    s->n = (size_t)PQntuples(res);
    s->v = xcalloc(s->n + 1, sizeof(*s->v));
    for (size_t i = 0; i < s->n; i++)
        prepare(s, db, b, res, (int)i);
    PQclear(res);
    return s;
}

void qe_trigger_sync(struct qe *e, struct db *db, const char *board)
{
    const char *p[1] = {board};
    struct qm_board b;
    struct error err;
    struct sync *s;
    int rc;

    rc = qm_board_get(db, board, &b, &err);
    if (rc == -ENOENT) {
        /* A deleted board: its triggers can never be installed. */
        if (db_exec_stmt(db, &gone_board_stmt, p, NULL, &err) < 0)
            log_warn("board %s: %s", board, err.msg);
        return;
    }
    if (rc < 0)
        return;
    if (strcmp(b.status, "online") != 0) {
        if (db_exec_stmt(db, &pending_stmt, p, NULL, &err) < 0)
            log_warn("board %s: %s", board, err.msg);
        qm_board_clear(&b);
        return;
    }
    s = read_set(e, db, &b);
    qm_board_clear(&b);
    if (s != NULL)
        deploy_next(e, s);
}

void qe_triggers_board(struct qe *e, struct db *db, const char *board, int online)
{
    const char *p[1] = {board};
    struct error err;

    if (online) {
        qe_trigger_sync(e, db, board);
    } else if (db_exec_stmt(db, &pending_stmt, p, NULL, &err) < 0) {
        log_warn("board %s: %s", board, err.msg);
    }
}

/* A message naming a board in key: its UUID into board, and the worker's
 * database. Else the message is finished here and NULL returned. */
static struct db *board_arg(struct mq_req *req, const cJSON *args, const char *key,
                            char board[UUID_STR_LEN])
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(args, key));
    struct db *db = mq_req_worker_ctx(req);

    if (s == NULL || uuid_normalize(s, board) < 0) {
        log_warn("%s without a valid %s: dropped", mq_req_method(req), key);
        mq_reject(req, 0);
        return NULL;
    }
    if (db == NULL)
        mq_reject(req, 1); /* the next worker may have a connection */
    return db;
}

static void h_sync(struct mq_req *req, const cJSON *args, void *ctx)
{
    char board[UUID_STR_LEN];
    struct db *db = board_arg(req, args, "board_id", board);

    if (db != NULL) {
        qe_trigger_sync(ctx, db, board);
        mq_done(req);
    }
}

static void h_board(struct mq_req *req, const cJSON *args, void *ctx)
{
    char board[UUID_STR_LEN];
    struct db *db = board_arg(req, args, "board_uuid", board);

    if (db != NULL) {
        qe_triggers_board(ctx, db, board, strcmp(mq_req_method(req), "board.online") == 0);
        mq_done(req);
    }
}

static const struct mq_handler sync_handlers[] = {
    {QM_TRIGGER_SYNC, h_sync, 0},
};

static const struct mq_handler board_handlers[] = {
    {"board.online", h_board, 0},
    {"board.offline", h_board, 0},
};

/* Declares and consumes both queues; -ENOTCONN is fine (consumed once the
 * broker is reached). */
static int serve(struct qe *e, struct error *err)
{
    struct mq_serve_opts o = {0};
    int rc;

    o.durable = 1;
    o.prefetch = 64;
    o.wq = e->wq;
    rc = mq_declare_exchange(e->mq, QM_BOARD_EVENTS_EXCHANGE, "topic", MQ_DURABLE, err);
    if (rc == 0 || rc == -ENOTCONN)
        rc = mq_declare_queue(e->mq, QM_TRIGGERS_BOARD_QUEUE, MQ_DURABLE, err);
    if (rc == 0 || rc == -ENOTCONN)
        rc = mq_bind(e->mq, QM_TRIGGERS_BOARD_QUEUE, QM_BOARD_EVENTS_EXCHANGE, "board.*", err);
    if (rc == 0 || rc == -ENOTCONN)
        rc = mq_serve(e->mq, QM_TRIGGERS_QUEUE, sync_handlers, 1, &o, e, err);
    o.events = 1;
    if (rc == 0 || rc == -ENOTCONN)
        rc = mq_serve(e->mq, QM_TRIGGERS_BOARD_QUEUE, board_handlers, 2, &o, e, err);
    return rc == -ENOTCONN ? 0 : rc;
}

/* -------------------------------------------------------- reconciliation */

/* Online boards whose triggers were not acknowledged in time. */
static const struct db_stmt due_stmt = {
    "qe_trig_due",
    "SELECT DISTINCT t.source_board_id FROM triggers t JOIN boards b ON b.uuid = "
    "t.source_board_id WHERE t.enabled AND b.status = 'online' AND t.status IN ('installing', "
    "'pending') AND (t.install_at IS NULL OR t.install_at < now() - make_interval(secs => "
    "$1::int)) LIMIT 100",
    1,
};

/* Online boards with a local loop whose function (or alias) changed since
 * its set was sent: the board holds a FunctionExecute template of the old
 * code, whose blobs the change may have purged. */
static const struct db_stmt stale_stmt = {
    "qe_trig_stale",
    "SELECT DISTINCT t.source_board_id FROM triggers t JOIN boards b ON b.uuid = "
    "t.source_board_id WHERE t.enabled AND t.local AND b.status = 'online' AND t.install_at IS "
    "NOT NULL AND (EXISTS (SELECT 1 FROM functions f WHERE f.id = t.function_id AND "
    "f.updated_at > t.install_at) OR EXISTS (SELECT 1 FROM function_aliases a JOIN functions f "
    "ON f.id = a.function_id WHERE a.name = t.function_alias AND a.project_id = t.project_id "
    "AND greatest(a.updated_at, f.updated_at) > t.install_at)) LIMIT 100",
    0,
};

/* Offline boards whose triggers still look installed (a missed event). */
static const struct db_stmt gone_stmt = {
    "qe_trig_gone",
    "UPDATE triggers t SET status = 'pending', status_reason = NULL FROM boards b WHERE b.uuid = "
    "t.source_board_id AND b.status <> 'online' AND t.enabled AND t.status IN ('installing', "
    "'active')",
    0,
};

static void tick_work(void *arg, void *thread_ctx)
{
    struct qe_trig *q = arg;
    struct db *db = thread_ctx;
    char secs[DB_INT_LEN];
    const char *p[1] = {db_param_int(secs, QE_TRIG_RETRY_S)};
    PGresult *res = NULL;
    struct error err;

    if (db == NULL)
        return;
    if (db_exec_stmt(db, &gone_stmt, NULL, NULL, &err) < 0 ||
        db_exec_stmt(db, &due_stmt, p, &res, &err) < 0) {
        log_warn("triggers: reconciliation: %s", err.msg);
        return;
    }
    for (int i = 0; i < PQntuples(res); i++)
        qe_trigger_sync(q->e, db, PQgetvalue(res, i, 0));
    PQclear(res);
    res = NULL;
    if (db_exec_stmt(db, &stale_stmt, NULL, &res, &err) < 0)
        log_warn("triggers: reconciliation: %s", err.msg);
    for (int i = 0; res != NULL && i < PQntuples(res); i++) {
        log_info("board %s: a local loop's function changed; sending its set again",
                 PQgetvalue(res, i, 0));
        qe_trigger_sync(q->e, db, PQgetvalue(res, i, 0));
    }
    PQclear(res);
}

static void tick_done(void *arg)
{
    struct qe_trig *q = arg;

    atomic_store(&q->busy, 0);
    if (q->stopping)
        free(q);
}

static void on_tick(struct ev_loop *l, ev_timer *w, int revents)
{
    struct qe_trig *q = w->data;

    (void)l;
    (void)revents;
    if (atomic_exchange(&q->busy, 1))
        return;
    if (wq_submit(q->e->wq, tick_work, tick_done, q) < 0)
        atomic_store(&q->busy, 0);
}

int qe_triggers_start(struct qe *e, struct error *err)
{
    struct qe_trig *q;
    int rc = serve(e, err);

    if (rc < 0)
        return rc;
    q = xcalloc(1, sizeof(*q));
    q->e = e;
    e->hooks.on_event = qe_trigger_event;
    e->hooks.on_result = qe_trigger_result;
    e->hooks.arg = q;
    ev_timer_init(&q->tick, on_tick, QE_TRIG_TICK_S, QE_TRIG_TICK_S);
    q->tick.data = q;
    ev_timer_start(loop_ev(e->loop), &q->tick);
    return 0;
}

void qe_triggers_stop(struct qe *e)
{
    struct qe_trig *q = e->hooks.arg;

    if (q == NULL)
        return;
    ev_timer_stop(loop_ev(e->loop), &q->tick);
    /* The hooks stay: events still queued on the pool are handled (the hooks
     * never use their arg). A tick in flight frees q when it completes:
     * main frees the pool after this, and that runs the last completions. */
    e->hooks.arg = NULL;
    q->stopping = 1;
    if (!atomic_load(&q->busy))
        free(q);
}
