/* qengine/trigger.h: the engine's side of triggers (deviceless-api.md 3.7.3
 * - 3.7.5), on the extension points of engine.h.
 *
 *   installation  every source board gets its complete set (TriggerSet) on
 *                 each create, update and delete (the API's "trigger_sync"
 *                 message), when it comes online, and again while a trigger
 *                 stays `installing` or `pending` on an online board (a lost
 *                 message, a board still starting). Local loops get their
 *                 function deployed (and pinned) first, and the set carries
 *                 their FunctionExecute template. The board's answer sets
 *                 each trigger `active` or `error` with its reason; offline
 *                 boards' triggers are `pending`.
 *   firings       an `event` is stored once per (trigger_id, firing_seq)
 *                 with the board's timestamps and, routed through the cloud,
 *                 becomes async executions of the target, dispatched at once
 *                 ("Created by Trigger <id>", trigger_id and firing_id set).
 *                 A local loop's event links the execution the board ran.
 *   latency       each stored result of a trigger's execution updates its
 *                 firing: executed_at, actuated_at (first_write_at, else
 *                 finished_at), latency_ms = actuated_at - sampled_at.
 *
 * Queues of its own, so the engine's tables need no entry for it:
 * QM_TRIGGERS_QUEUE ("trigger_sync" {"board_id"} from the API) and
 * QM_TRIGGERS_BOARD_QUEUE (bound to iotronic.board_events: board.online,
 * board.offline). One struct qe_trig per engine, hung on e->hooks.arg. Loop
 * thread for start/stop, worker threads (with their db) for the rest. */
#ifndef QE_TRIGGER_H
#define QE_TRIGGER_H

#include "amqp/mq.h"
#include "common/error.h"
#include "db/db.h"
#include "qengine/engine.h"

#define QE_TRIG_RETRY_S 5  /* a set not acknowledged is sent again after this */
#define QE_TRIG_TICK_S 2.0 /* how often the engine looks for such sets */
#define QE_FIRINGS_PER_TRIGGER 10000

/* Installs the hooks (events, results), consumes the two queues and starts
 * the reconciliation timer. Main thread, after qe_start(). */
int qe_triggers_start(struct qe *e, struct error *err) IOT_WUR;

/* Stops the timer and frees (loop thread, before the pool is freed). */
void qe_triggers_stop(struct qe *e);

/* Sends board its complete trigger set now, or marks them `pending` when it
 * is offline. Worker thread. */
void qe_trigger_sync(struct qe *e, struct db *db, const char *board);

/* A board's session changed (engine.h's board.online/offline path). */
void qe_triggers_board(struct qe *e, struct db *db, const char *board, int online);

/* engine.h's hooks (set by qe_triggers_start). */
int qe_trigger_event(struct qe *e, struct db *db, const cJSON *event, void *arg);
void qe_trigger_result(struct qe *e, struct db *db, const char *execution_id, const cJSON *result,
                       void *arg);

/* Links execution id to its firing and updates the firing's executed_at,
 * actuated_at and latency_ms from the execution row (idempotent). seq is
 * the firing's number when the execution row may not name the firing yet
 * (a local loop), else -1. Worker thread. */
int qe_trigger_account(struct db *db, const char *execution_id, int64_t seq,
                       struct error *err) IOT_WUR;

#endif
