/* qengine/trigger_event.c: firings, their executions and their latency
 * (deviceless-api.md 3.7.4, 3.7.5; see trigger.h).
 *
 * A firing is stored once: (trigger_id, firing_seq) is unique, so a board
 * that sends an event again (its outbox retries after a lost answer) adds
 * nothing. A cloud-routed firing becomes executions; so that two engines
 * handling copies of one event at once (a resend racing the original) never
 * create them twice, the handler holds a session advisory lock on the
 * firing from the moment it is stored until its executions are recorded in
 * it, and a copy that finds the firing already stored only creates the
 * executions when, under that lock, none exist (the first handler died
 * before creating them). The executions are dispatched at once, on this
 * worker, before the bookkeeping: that is the sensor-to-actuator path.
 *
 * Worker threads, with their database connection. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/trigdef.h"
#include "common/xalloc.h"
#include "db/row.h"
#include "qengine/trigger.h"
#include "qmodel/fault.h"
#include "qmodel/launch.h"
#include "qmodel/trigger.h"

/* The firing's lock: its trigger id and number (parameters a and b). */
#define LOCK_KEY(a, b) "hashtextextended(" a "::text || '/' || " b "::text, 7)"

/* An event as the board sent it (3.9), checked. */
struct event {
    char trigger[UUID_STR_LEN], board[UUID_STR_LEN], execution[UUID_STR_LEN];
    char firing[UUID_STR_LEN]; /* the id this engine proposes for a new firing */
    int64_t seq;
    int local;
    char value[32], previous[32]; /* "" for null */
    char sampled[TIME_ISO_LEN], fired[TIME_ISO_LEN];
    const cJSON *body;
};

static void number(const cJSON *v, char out[32])
{
    out[0] = '\0';
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble))
        snprintf(out, 32, "%.17g", v->valuedouble);
}

static void when(const cJSON *v, char out[TIME_ISO_LEN])
{
    int64_t us;

    out[0] = '\0';
    if (cJSON_IsString(v) && time_parse(v->valuestring, &us) == 0)
        time_format(us, TIME_Z_US, out);
}

static int read_event(const cJSON *b, struct event *ev)
{
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "trigger_id"));
    const char *bd = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "board_uuid"));
    const char *x = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "execution_id"));

    memset(ev, 0, sizeof(*ev));
    ev->body = b;
    if (t == NULL || bd == NULL || uuid_normalize(t, ev->trigger) < 0 ||
        uuid_normalize(bd, ev->board) < 0 ||
        !json_int_value(cJSON_GetObjectItemCaseSensitive(b, "firing_seq"), 0, INT64_C(1) << 53,
                        &ev->seq))
        return -EINVAL;
    if (x != NULL && uuid_normalize(x, ev->execution) < 0)
        return -EINVAL;
    ev->local = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "local"));
    number(cJSON_GetObjectItemCaseSensitive(b, "value"), ev->value);
    number(cJSON_GetObjectItemCaseSensitive(b, "previous"), ev->previous);
    when(cJSON_GetObjectItemCaseSensitive(b, "sampled_at"), ev->sampled);
    when(cJSON_GetObjectItemCaseSensitive(b, "fired_at"), ev->fired);
    uuid_v4(ev->firing);
    return 0;
}

/* ---------------------------------------------------------- recording */

/* Stores the firing (or finds it) and counts it on its trigger. Only a
 * trigger whose source is the reporting board takes it. Returns the
 * trigger's target and project, the firing's id and whether it is new. */
#define RECORD_SQL(lock)                                                                           \
    "WITH t AS (SELECT id, target::text AS target, project_id FROM triggers WHERE id = $1::uuid "  \
    "AND source_board_id = $2::uuid), ins AS (INSERT INTO trigger_firings (id, trigger_id, "       \
    "board_id, firing_seq, value, previous, local, sampled_at, fired_at, received_at, "            \
    "execution_ids) SELECT $3::uuid, t.id, $2::uuid, $4::bigint, $5::float8, $6::float8, "         \
    "$7::boolean, $8::timestamptz, $9::timestamptz, now(), CASE WHEN $10::uuid IS NULL THEN "      \
    "'{}'::uuid[] ELSE ARRAY[$10::uuid] END FROM t ON CONFLICT (trigger_id, firing_seq) DO "       \
    "NOTHING RETURNING id, fired_at), upd AS (UPDATE triggers SET fire_count = fire_count + 1, "   \
    "last_fired_at = greatest(last_fired_at, (SELECT fired_at FROM ins)) WHERE id = $1::uuid AND " \
    "EXISTS (SELECT 1 FROM ins) RETURNING 1) SELECT t.target, t.project_id, coalesce((SELECT id "  \
    "FROM ins), (SELECT f.id FROM trigger_firings f WHERE f.trigger_id = $1::uuid AND "            \
    "f.firing_seq = $4::bigint)), EXISTS (SELECT 1 FROM ins), (SELECT count(*) FROM upd)" lock     \
    " FROM t"

static const struct db_stmt record_local = {"qe_firing_local", RECORD_SQL(""), 10};
static const struct db_stmt record_routed = {
    "qe_firing_routed", RECORD_SQL(", pg_advisory_lock(" LOCK_KEY("$1", "$4") ")"), 10};

static const struct db_stmt unlock_stmt = {
    "qe_firing_unlock", "SELECT pg_advisory_unlock(" LOCK_KEY("$1", "$2") ")", 2};

/* Executions already made for the firing (a copy of the event, or a
 * redelivery after the first handler died). */
static const struct db_stmt made_stmt = {
    "qe_firing_made",
    "SELECT coalesce(array_agg(id ORDER BY id)::text, '{}') FROM executions WHERE firing_id = "
    "$1::uuid",
    1,
};

/* Records the executions in the firing and lets the next copy in. */
static const struct db_stmt link_stmt = {
    "qe_firing_link",
    "WITH u AS (UPDATE trigger_firings SET execution_ids = $3::uuid[], updated_at = now() WHERE "
    "id = $4::uuid RETURNING 1) SELECT pg_advisory_unlock(" LOCK_KEY("$1", "$2") "), (SELECT "
                                                                                 "count(*) FROM u)",
    4,
};

static int record(struct db *db, const struct event *ev, PGresult **res, struct error *err)
{
    char seq[DB_INT_LEN];
    const char *p[10] = {ev->trigger,
                         ev->board,
                         ev->firing,
                         db_param_int(seq, ev->seq),
                         ev->value[0] ? ev->value : NULL,
                         ev->previous[0] ? ev->previous : NULL,
                         db_param_bool(ev->local),
                         ev->sampled[0] ? ev->sampled : NULL,
                         ev->fired[0] ? ev->fired : NULL,
                         ev->execution[0] ? ev->execution : NULL};

    return db_exec_stmt(db, ev->local ? &record_local : &record_routed, p, res, err);
}

static void unlock(struct db *db, const struct event *ev)
{
    char seq[DB_INT_LEN];
    const char *p[2] = {ev->trigger, db_param_int(seq, ev->seq)};
    struct error err;

    if (db_exec_stmt(db, &unlock_stmt, p, NULL, &err) < 0)
        log_warn("firing %s/%lld: unlock: %s", ev->trigger, (long long)ev->seq, err.msg);
}

/* ------------------------------------------------------------ launching */

/* The event object of 3.7.4, rebuilt from the report (the board's fields,
 * its UUID as board_id). New. */
static cJSON *event_object(const struct event *ev)
{
    static const char *const keys[] = {"trigger_id", "firing_seq", "board_id",  "source",
                                       "value",      "previous",   "condition", "threshold",
                                       "sampled_at", "fired_at"};
    cJSON *o = cJSON_CreateObject();

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev->body, keys[i]);

        if (strcmp(keys[i], "board_id") == 0)
            cJSON_AddStringToObject(o, "board_id", ev->board);
        else if (strcmp(keys[i], "trigger_id") == 0)
            cJSON_AddStringToObject(o, "trigger_id", ev->trigger);
        else if (v != NULL && (cJSON_IsString(v) || cJSON_IsNumber(v)))
            cJSON_AddItemToObject(o, keys[i], cJSON_Duplicate(v, 1));
        else
            cJSON_AddNullToObject(o, keys[i]);
    }
    return o;
}

/* The executions' ids as a PostgreSQL array literal. New (free()). */
static char *id_array(const struct qm_exec_made *m)
{
    struct buf b;

    buf_init(&b, 1u << 24);
    if (buf_append_str(&b, "{") < 0)
        return NULL;
    for (size_t i = 0; i < m->ndispatch; i++)
        if (buf_printf(&b, "%s%s", i ? "," : "", m->dispatch[i]) < 0)
            break;
    if (buf_append_str(&b, "}") < 0) {
        buf_free(&b);
        return xstrdup("{}");
    }
    return buf_take(&b, NULL);
}

static int launch(struct qe *e, struct db *db, const struct event *ev, const char *firing,
                  const char *project, const struct qm_trig_target *t, struct qm_launched *out,
                  struct error *err)
{
    cJSON *event = event_object(ev), *input = trigdef_input(t->tmpl, event);
    char *text = json_print(input), desc[64];
    struct qm_launch q = {0};
    int rc;

    snprintf(desc, sizeof(desc), "Created by Trigger %s", ev->trigger);
    q.project = project;
    q.function_id = t->function_id[0] ? t->function_id : NULL;
    q.alias = t->alias[0] ? t->alias : NULL;
    q.version = t->version;
    q.input = text;
    q.description = desc;
    q.target = qm_trig_target_req(t);
    q.pending_timeout = t->pending_timeout;
    q.trigger_id = ev->trigger;
    q.firing_id = firing;
    q.max_input = e->cfg->max_input_size;
    q.sync_pending_timeout = e->cfg->sync_pending_timeout;
    q.async_pending_timeout = e->cfg->async_pending_timeout;
    rc = qm_launch(db, &q, out, err);
    free(text);
    cJSON_Delete(input);
    cJSON_Delete(event);
    return rc;
}

/* Makes and dispatches the executions of a new (or orphaned) firing, then
 * records them in it. 0, or < 0 to have the event redelivered. */
static int execute(struct qe *e, struct db *db, const struct event *ev, const PGresult *res)
{
    const char *firing = PQgetvalue(res, 0, 2), *project = PQgetvalue(res, 0, 1);
    cJSON *target = NULL;
    struct qm_trig_target t;
    struct qm_launched l = {0};
    struct error err;
    char seq[DB_INT_LEN], *ids;
    int64_t t0, t1;
    int rc;

    if (json_parse(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0), &target, &err) < 0 ||
        qm_trig_target_load(target, &t, &err) < 0) {
        log_warn("trigger %s: its target is not valid: %s", ev->trigger, err.msg);
        cJSON_Delete(target);
        unlock(db, ev);
        return 0;
    }
    t0 = time_mono_us();
    rc = launch(e, db, ev, firing, project, &t, &l, &err);
    cJSON_Delete(target);
    if (rc < 0) {
        int status = qm_errno_status(rc);

        log_warn("trigger %s firing %lld: no execution: %s", ev->trigger, (long long)ev->seq,
                 err.msg);
        unlock(db, ev);
        return status >= 500 ? -1 : 0; /* a database failure is retried */
    }
    t1 = time_mono_us();
    for (size_t i = 0; i < l.made.ndispatch; i++)
        qe_dispatch(e, db, l.made.dispatch[i], NULL);
    log_debug("trigger %s firing %lld: %zu execution(s) made in %lld us, dispatched in %lld us",
              ev->trigger, (long long)ev->seq, l.made.ndispatch, (long long)(t1 - t0),
              (long long)(time_mono_us() - t1));
    ids = id_array(&l.made);
    {
        const char *p[4] = {ev->trigger, db_param_int(seq, ev->seq), ids, firing};

        if (db_exec_stmt(db, &link_stmt, p, NULL, &err) < 0) {
            log_warn("firing %s: executions not recorded: %s", firing, err.msg);
            unlock(db, ev);
        }
    }
    free(ids);
    qm_launched_clear(&l);
    return 0;
}

/* A copy of an event already stored: executions are made only when none
 * exist (we hold the firing's lock, so the first handler is done or dead). */
static int again(struct qe *e, struct db *db, const struct event *ev, const PGresult *res)
{
    const char *p[1] = {PQgetvalue(res, 0, 2)};
    PGresult *m = NULL;
    struct error err;
    int none;

    if (db_exec_stmt(db, &made_stmt, p, &m, &err) < 0) {
        unlock(db, ev);
        return -1;
    }
    none = strcmp(PQgetvalue(m, 0, 0), "{}") == 0;
    PQclear(m);
    if (none)
        return execute(e, db, ev, res);
    unlock(db, ev);
    return 0;
}

int qe_trigger_event(struct qe *e, struct db *db, const cJSON *body, void *arg)
{
    struct event ev;
    PGresult *res = NULL;
    struct error err;
    int64_t t0, dropped;
    int rc;

    (void)arg;
    if (read_event(body, &ev) < 0) {
        log_warn("an event that is not valid was dropped");
        return 0;
    }
    if (json_int_value(cJSON_GetObjectItemCaseSensitive(body, "dropped"), 1, INT64_MAX, &dropped))
        log_warn("board %s dropped %lld firing(s) from its full outbox (3.7.5)", ev.board,
                 (long long)dropped);
    t0 = time_mono_us();
    if (record(db, &ev, &res, &err) < 0) {
        log_warn("trigger %s firing %lld: not stored: %s", ev.trigger, (long long)ev.seq, err.msg);
        return -1;
    }
    if (PQntuples(res) == 0) {
        log_warn("event for trigger %s from board %s: no such trigger on that board; dropped",
                 ev.trigger, ev.board);
        PQclear(res);
        return 0;
    }
    log_debug("trigger %s firing %lld: stored in %lld us", ev.trigger, (long long)ev.seq,
              (long long)(time_mono_us() - t0));
    if (ev.local) {
        rc = 0;
        if (ev.execution[0] && qe_trigger_account(db, ev.execution, ev.seq, &err) < 0)
            log_warn("firing %s/%lld: %s", ev.trigger, (long long)ev.seq, err.msg);
    } else if (PQgetvalue(res, 0, 3)[0] == 't') {
        rc = execute(e, db, &ev, res);
    } else {
        rc = again(e, db, &ev, res);
    }
    PQclear(res);
    return rc;
}

/* ------------------------------------------------------------- latency */

static const struct db_stmt account_stmt = {
    "qe_firing_account",
    "WITH x AS (SELECT e.id, e.trigger_id, e.firing_id, e.started_at, coalesce(e.first_write_at, "
    "e.finished_at) AS act FROM executions e WHERE e.id = $1::uuid AND e.trigger_id IS NOT NULL), "
    "f AS (SELECT g.id FROM trigger_firings g, x WHERE g.id = x.firing_id OR (x.firing_id IS NULL "
    "AND $2::bigint IS NOT NULL AND g.trigger_id = x.trigger_id AND g.firing_seq = $2::bigint) "
    "LIMIT 1), link AS (UPDATE executions e SET firing_id = f.id FROM f WHERE e.id = $1::uuid AND "
    "e.firing_id IS NULL RETURNING 1) UPDATE trigger_firings g SET execution_ids = CASE WHEN x.id "
    "= ANY (g.execution_ids) THEN g.execution_ids ELSE array_append(g.execution_ids, x.id) END, "
    "executed_at = least(g.executed_at, x.started_at), actuated_at = least(g.actuated_at, x.act), "
    "latency_ms = round((extract(epoch FROM (least(g.actuated_at, x.act) - g.sampled_at)) * "
    "1000)::numeric, 3), updated_at = now() FROM x, f WHERE g.id = f.id",
    2,
};

int qe_trigger_account(struct db *db, const char *execution_id, int64_t seq, struct error *err)
{
    char s[DB_INT_LEN];
    const char *p[2] = {execution_id, seq >= 0 ? db_param_int(s, seq) : NULL};

    return db_exec_stmt(db, &account_stmt, p, NULL, err);
}

void qe_trigger_result(struct qe *e, struct db *db, const char *execution_id, const cJSON *result,
                       void *arg)
{
    int64_t seq = -1;
    struct error err;

    (void)e;
    (void)arg;
    /* A local loop's result names its firing by number (3.9). */
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "local")) &&
        !json_int_value(cJSON_GetObjectItemCaseSensitive(result, "firing_seq"), 0, INT64_C(1) << 53,
                        &seq))
        seq = -1;
    if (qe_trigger_account(db, execution_id, seq, &err) < 0)
        log_warn("execution %s: its firing's timestamps not updated: %s", execution_id, err.msg);
}
