/* qengine/consume.c: the engine's queues and timers.
 *
 *   qinling_engine (durable)         dispatch {execution_id}, purge, warm: from the API
 *   qinling_engine_events (durable)  function_result, event: from the wagents (bare
 *                                    messages, dispatched by their AMQP type)
 *   qinling_engine_board_events      board.online / board.offline, bound to the topic
 *   (durable)                        exchange iotronic.board_events
 *
 * Every delivery is acknowledged only once its effect is committed (manual
 * acks: mq_done after the work, mq_reject with requeue when the database
 * failed), so a crash redelivers it (3.6). Handlers run on the worker pool,
 * with the worker's database connection. The timers tick on the loop and
 * hand their work to the pool, skipping a tick while the previous one runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/uuid.h"
#include "common/xalloc.h"
#include "qengine/engine.h"
#include "qmodel/sql.h"

static struct qe *engine_of(void *ctx)
{
    return ctx;
}

/* A handler without a database connection redelivers: the next worker may
 * have one. */
static struct db *db_of(struct mq_req *req)
{
    struct db *db = mq_req_worker_ctx(req);

    if (db == NULL)
        mq_reject(req, 1);
    return db;
}

static int id_arg(struct mq_req *req, const cJSON *args, const char *key, char out[UUID_STR_LEN])
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(args, key));

    if (s == NULL || uuid_normalize(s, out) < 0) {
        log_warn("%s without a valid %s: dropped", mq_req_method(req), key);
        mq_reject(req, 0);
        return -1;
    }
    return 0;
}

static void h_dispatch(struct mq_req *req, const cJSON *args, void *ctx)
{
    char id[UUID_STR_LEN];
    struct db *db;

    if (id_arg(req, args, "execution_id", id) == 0 && (db = db_of(req)) != NULL)
        qe_dispatch(engine_of(ctx), db, id, req);
}

static void h_purge(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct db *db = db_of(req);

    (void)args;
    if (db == NULL)
        return;
    /* Whatever changed, every owed purge of every online board goes out. */
    qe_purges(engine_of(ctx), db, NULL);
    mq_done(req);
}

static void h_warm(struct mq_req *req, const cJSON *args, void *ctx)
{
    char id[UUID_STR_LEN];
    struct db *db;

    if (id_arg(req, args, "function_id", id) == 0 && (db = db_of(req)) != NULL) {
        qe_warm(engine_of(ctx), db, id);
        mq_done(req);
    }
}

static void h_result(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct db *db = db_of(req);

    if (db == NULL)
        return;
    if (qe_store_result(engine_of(ctx), db, args) < 0)
        mq_reject(req, 1);
    else
        mq_done(req);
}

static void h_event(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct qe *e = engine_of(ctx);
    struct db *db = db_of(req);

    if (db == NULL)
        return;
    if (e->hooks.on_event == NULL) {
        log_warn("event for trigger %s: no trigger handler; dropped",
                 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(args, "trigger_id")));
        mq_done(req);
    } else if (e->hooks.on_event(e, db, args, e->hooks.arg) < 0) {
        mq_reject(req, 1);
    } else {
        mq_done(req);
    }
}

static void h_board(struct mq_req *req, const cJSON *args, void *ctx)
{
    char id[UUID_STR_LEN];
    struct db *db;

    if (id_arg(req, args, "board_uuid", id) < 0 || (db = db_of(req)) == NULL)
        return;
    if (strcmp(mq_req_method(req), "board.online") == 0)
        qe_board_online(engine_of(ctx), db, id);
    else
        qe_board_offline(engine_of(ctx), db, id);
    mq_done(req);
}

static const struct mq_handler engine_handlers[] = {
    {"dispatch", h_dispatch, 0},
    {"purge", h_purge, 0},
    {"warm", h_warm, 0},
};

static const struct mq_handler event_handlers[] = {
    {"function_result", h_result, 0},
    {"event", h_event, 0},
};

static const struct mq_handler board_handlers[] = {
    {"board.online", h_board, 0},
    {"board.offline", h_board, 0},
};

static int serve(struct qe *e, const char *queue, const struct mq_handler *h, size_t n, int events,
                 struct error *err)
{
    struct mq_serve_opts o = {0};
    int rc;

    o.durable = 1;
    o.prefetch = 64;
    o.events = events;
    o.wq = e->wq;
    rc = mq_serve(e->mq, queue, h, n, &o, e, err);
    return rc == -ENOTCONN ? 0 : rc; /* kept: it consumes once connected */
}

/* ---------------------------------------------------------------- timers */

struct tick {
    struct qe *e;
    void (*fn)(struct qe *e, struct db *db);
    atomic_int *busy;
};

static void tick_work(void *arg, void *thread_ctx)
{
    struct tick *t = arg;

    if (thread_ctx != NULL)
        t->fn(t->e, thread_ctx);
}

static void tick_done(void *arg)
{
    struct tick *t = arg;

    atomic_store(t->busy, 0);
    free(t);
}

static void submit(struct qe *e, void (*fn)(struct qe *, struct db *), atomic_int *busy)
{
    struct tick *t;

    if (atomic_exchange(busy, 1))
        return; /* the previous tick still runs */
    t = xcalloc(1, sizeof(*t));
    *t = (struct tick){e, fn, busy};
    if (wq_submit(e->wq, tick_work, tick_done, t) < 0) {
        atomic_store(busy, 0);
        free(t);
    }
}

static void on_sweep(struct ev_loop *l, ev_timer *w, int revents)
{
    struct qe *e = w->data;

    (void)l;
    (void)revents;
    submit(e, qe_sweep, &e->sweeping);
}

static void on_jobs(struct ev_loop *l, ev_timer *w, int revents)
{
    struct qe *e = w->data;

    (void)l;
    (void)revents;
    if (e->started)
        submit(e, qe_jobs_tick, &e->scheduling);
}

static void on_retry(struct ev_loop *l, ev_timer *w, int revents)
{
    struct qe *e = w->data;

    (void)l;
    (void)revents;
    if (e->started)
        submit(e, qe_retry_tick, &e->retrying);
}

static void on_caps(struct ev_loop *l, ev_timer *w, int revents)
{
    struct qe *e = w->data;

    (void)l;
    (void)revents;
    if (e->started)
        submit(e, qe_caps_tick, &e->refreshing);
}

static void timer(struct qe *e, ev_timer *t, void (*cb)(struct ev_loop *, ev_timer *, int),
                  double first, double every)
{
    ev_timer_init(t, cb, first, every);
    t->data = e;
    ev_timer_start(loop_ev(e->loop), t);
}

static int declare(struct qe *e, struct error *err)
{
    int rc = mq_declare_exchange(e->mq, QM_BOARD_EVENTS_EXCHANGE, "topic", MQ_DURABLE, err);

    if (rc == 0 || rc == -ENOTCONN)
        rc = mq_declare_queue(e->mq, QM_BOARD_EVENTS_QUEUE, MQ_DURABLE, err);
    if (rc == 0 || rc == -ENOTCONN)
        rc = mq_bind(e->mq, QM_BOARD_EVENTS_QUEUE, QM_BOARD_EVENTS_EXCHANGE, "board.*", err);
    return rc == -ENOTCONN ? 0 : rc;
}

int qe_start(struct qe *e, struct error *err)
{
    int rc = declare(e, err);

    if (rc == 0)
        rc = serve(e, QM_ENGINE_QUEUE, engine_handlers, 3, 0, err);
    if (rc == 0)
        rc = serve(e, QM_EVENTS_QUEUE, event_handlers, 2, 1, err);
    if (rc == 0)
        rc = serve(e, QM_BOARD_EVENTS_QUEUE, board_handlers, 2, 1, err);
    if (rc < 0)
        return rc;
    /* The first sweep re-examines every execution left unfinished (3.6). */
    timer(e, &e->sweep_t, on_sweep, 0.0, (double)e->cfg->sweep_interval);
    timer(e, &e->jobs_t, on_jobs, (double)e->cfg->job_interval, (double)e->cfg->job_interval);
    timer(e, &e->retry_t, on_retry, 0.25, 0.25);
    timer(e, &e->caps_t, on_caps, 1.0, 1.0);
    return 0;
}

void qe_stop(struct qe *e)
{
    struct ev_loop *l = loop_ev(e->loop);

    ev_timer_stop(l, &e->sweep_t);
    ev_timer_stop(l, &e->jobs_t);
    ev_timer_stop(l, &e->retry_t);
    ev_timer_stop(l, &e->caps_t);
}
