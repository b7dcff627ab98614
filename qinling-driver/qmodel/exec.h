/* qmodel/exec.h: creating executions (deviceless-api.md 2.6.1, 3.3, 3.6).
 *
 * The execution rows are the outbox of the durable path: they are committed
 * (with the function's or version's count incremented in the same
 * transaction) before anything is published, and the engine's sweeper
 * dispatches any that no message announced. A fleet target with placement
 * "all" makes one parent (board_id null) and one child per planned board;
 * the parent's log starts with the boards that were skipped. Used by the
 * API (POST /v1/executions, webhook invoke) and the engine (jobs). Worker
 * threads. */
#ifndef QM_EXEC_H
#define QM_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/uuid.h"
#include "db/db.h"
#include "qmodel/fn.h"
#include "qmodel/target.h"

#define QM_EXEC_TERMINAL(s)                                                                        \
    (strcmp((s), "success") == 0 || strcmp((s), "failed") == 0 || strcmp((s), "error") == 0)

struct qm_exec_req {
    const char *project;    /* the owner of the new rows */
    const struct qm_fn *fn; /* loaded at the requested version */
    const char *alias;      /* function_alias as given, or NULL */
    int sync;
    const char *input;       /* the text as sent, or NULL */
    const char *description; /* or NULL */
    const struct qm_target *target;
    const struct qm_plan *plan;
    int64_t pending_timeout;            /* seconds */
    const char *trigger_id, *firing_id; /* or NULL */
};

struct qm_exec_made {
    char id[UUID_STR_LEN]; /* the execution, or the fan-out parent */
    char status[16];
    char (*dispatch)[UUID_STR_LEN]; /* what to announce to the engine */
    size_t ndispatch;
};

/* Inserts the rows in one transaction (the caller's when one is open: then
 * they commit or roll back with it). 0 and out (qm_exec_made_clear), or a
 * failure (database: qm_db_fail). */
int qm_exec_insert(struct db *db, const struct qm_exec_req *req, struct qm_exec_made *out,
                   struct error *err) IOT_WUR;
void qm_exec_made_clear(struct qm_exec_made *m);

#endif
