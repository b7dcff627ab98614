/* qengine/engine.h: qinling-engine: placement, dispatch, results, retries,
 * deadlines, jobs, board capabilities and the IoTronic orchestrator driver
 * (deviceless-api.md 0.1, 3.3, 3.5, 3.6).
 *
 * One struct qe per process, made in main. Threads:
 *   - the loop thread runs the timers (sweeper, jobs, retries, capability
 *     refresh); each tick only submits a job to the worker pool;
 *   - the worker pool (one database connection per worker) runs everything
 *     that touches the database, including the AMQP handlers (mq_serve with
 *     the pool) and the continuations of board calls;
 *   - the AMQP I/O thread only hands board replies over to the pool.
 * Nothing here blocks the loop. The durable state is the database: every
 * decision is a committed row (dispatched_at, received_at, the result), so a
 * restarted engine resumes from the rows (3.6 "Engine restart").
 *
 * Extension points for features built on top (the triggers of 3.7):
 * `event` messages of qinling_engine_events go to hooks.on_event, and every
 * stored result of an execution a trigger created goes to hooks.on_result. */
#ifndef QE_ENGINE_H
#define QE_ENGINE_H

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdint.h>

#include "amqp/mq.h"
#include "common/error.h"
#include "common/uuid.h"
#include "common/wq.h"
#include "db/db.h"
#include "http/metrics.h"
#include "loop/loop.h"
#include "qmodel/config.h"

struct qe;

/* A trigger's firing (the body of an `event` message, board_uuid included).
 * Runs on a worker with its database connection; returns 0 when the message
 * may be acknowledged, < 0 to have it redelivered. */
typedef int (*qe_event_fn)(struct qe *e, struct db *db, const cJSON *event, void *arg);

/* An execution with a trigger_id reached a terminal status (result is the
 * function_result body). Worker thread, after the commit. */
typedef void (*qe_result_fn)(struct qe *e, struct db *db, const char *execution_id,
                             const cJSON *result, void *arg);

struct qe_hooks {
    qe_event_fn on_event;   /* NULL: events are logged and acknowledged */
    qe_result_fn on_result; /* NULL: nothing */
    void *arg;
};

struct qe_stats {
    _Atomic uint64_t dispatched, accepted, busy, results, duplicates, deadlines, lost;
};

struct qe {
    const struct qm_config *cfg;
    struct mq *mq;
    struct loop *loop;
    struct wq *wq;
    struct metrics *metrics;
    struct qe_hooks hooks;
    char base_url[1024]; /* what boards download blobs from */
    struct qe_stats stats;
    /* a periodic task runs on one worker at a time */
    atomic_int sweeping, scheduling, retrying, refreshing;
    int started; /* the first sweep (startup re-examination) has run */
    ev_timer sweep_t, jobs_t, retry_t, caps_t;
};

/* Starts the consumers and timers on e (cfg, mq, loop and wq set). Main
 * thread, after the loop exists. */
int qe_start(struct qe *e, struct error *err) IOT_WUR;

/* Stops the timers (loop thread, before loop_free). */
void qe_stop(struct qe *e);

/* Registers the engine's figures in e->metrics (GET /metrics). Main thread. */
void qe_metrics_register(struct qe *e);

/* ---------------------------------------------------------------- internal */

/* Dispatches execution id now (3.3, 3.5.1, 3.6). req, when not NULL, is the
 * dispatch message, finished once the outcome is recorded. Worker thread. */
void qe_dispatch(struct qe *e, struct db *db, const char *id, struct mq_req *req);

/* Dispatches the oldest waiting executions that board (and its fleet) can
 * take now. Worker thread. */
void qe_dispatch_waiting(struct qe *e, struct db *db, const char *board);

/* Stores a function_result (idempotent) and what follows from it: the
 * parent's aggregate, NOTIFY, the next waiting executions. 0 or a database
 * failure (the message is then redelivered). Worker thread. */
int qe_store_result(struct qe *e, struct db *db, const cJSON *result);

/* Completes fan-out parent when all its children are terminal (its
 * status, output map, duration and log; NOTIFY). Idempotent. Worker
 * thread. */
int qe_complete_parent(struct qe *e, struct db *db, const char *parent);

/* Ends a non-terminal execution in `error` with message (never one a board
 * accepted, unless force). Worker thread. */
int qe_fail(struct qe *e, struct db *db, const char *id, const char *message, int force);

/* A board came online / went offline (event, sweeper reconciliation).
 * Worker thread. */
void qe_board_online(struct qe *e, struct db *db, const char *board);
void qe_board_offline(struct qe *e, struct db *db, const char *board);

/* Delivers the board_purges owed to online boards (FunctionRemove,
 * CachePurge). Worker thread. */
void qe_purges(struct qe *e, struct db *db, const char *board);

/* Applies a function's keep_warm to boards (FunctionDeploy). Worker thread. */
void qe_warm(struct qe *e, struct db *db, const char *function_id);

/* The periodic tasks (worker threads). */
void qe_sweep(struct qe *e, struct db *db);
void qe_jobs_tick(struct qe *e, struct db *db);
void qe_retry_tick(struct qe *e, struct db *db);
void qe_caps_tick(struct qe *e, struct db *db);

/* NOTIFY qinling_executions for id (inside the caller's transaction). */
int qe_notify(struct db *db, const char *id, struct error *err) IOT_WUR;

#endif
