/* qengine/driver.h: the IoTronic orchestrator driver: calls to boards
 * (deviceless-api.md 3.9, board-protocol.md 6.2 and 8.1).
 *
 * A board call goes straight to the wagent that holds the board (the AMQP
 * queue wagent.<boards.agent>) as the method `invoke`, with the calling
 * convention of board-protocol 6.2: positional arguments [req, payload],
 * where req is a fresh request object (these calls are not recorded as
 * IoTronic requests: executions are their record). A wagent that answers
 * not_connected is asked again once, after re-reading boards.agent (the
 * board may just have moved). The answer comes back on the AMQP thread and
 * is handed to the engine's worker pool, where `done` runs with a database
 * connection, exactly once per accepted call. */
#ifndef QD_DRIVER_H
#define QD_DRIVER_H

#include <cjson/cJSON.h>

#include "db/db.h"
#include "qengine/engine.h"

enum qd_outcome {
    QD_REPLIED,       /* the board answered: result and message */
    QD_NOT_CONNECTED, /* no live session (also: the board has no agent) */
    QD_TIMEOUT,       /* sent, no answer in time: the outcome is unknown */
    QD_DISCONNECTED,  /* the session ended before the answer */
    QD_BUSY,          /* the wagent has too many calls pending for the board */
    QD_UNREACHABLE,   /* never delivered: no broker, no such wagent queue */
};

struct qd_reply {
    enum qd_outcome outcome;
    char result[12]; /* REPLIED: SUCCESS, RUNNING, WARNING or ERROR */
    cJSON *message;  /* REPLIED: the WampMessage's message (owned by the reply) */
    struct error err;
};

/* Runs on a worker with its database connection. r is valid during the
 * call; steal r->message by setting it to NULL. At shutdown, once the
 * worker pool refuses work, it runs on the thread that learnt the outcome
 * with db NULL: then it must only release what arg holds. */
typedef void (*qd_done_fn)(struct qe *e, struct db *db, struct qd_reply *r, void *arg);

/* Calls method on board (whose wagent is agent, may be "" or NULL) with
 * payload (taken over). done runs exactly once, later, on a worker. Any
 * thread. */
void qd_call(struct qe *e, const char *board, const char *agent, const char *method, cJSON *payload,
             int timeout_ms, qd_done_fn done, void *arg);

/* The outcome's name, for logs. */
const char *qd_outcome_name(enum qd_outcome o);

#endif
