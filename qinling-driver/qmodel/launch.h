/* qmodel/launch.h: from an execution request to committed rows (2.6.1).
 *
 * The one path every execution takes, whoever asks: POST /v1/executions,
 * a webhook invoke, a job firing. It resolves the alias (which wins over
 * function_id and supplies the version), loads the function and its
 * runtime, checks the input and the runtime's availability, resolves and
 * plans the target (3.3), and inserts the rows (qmodel/exec.h). Failures
 * carry the contract's status and message (qmodel/fault.h). The caller then
 * announces made->dispatch to the engine. Worker threads. */
#ifndef QM_LAUNCH_H
#define QM_LAUNCH_H

#include <stdint.h>

#include "common/error.h"
#include "db/db.h"
#include "qmodel/exec.h"

struct qm_launch {
    const char *project;     /* owner of the new rows */
    const char *scope;       /* function/alias lookups: NULL any project, else this one */
    const char *board_scope; /* board/fleet lookups: NULL any project, else this one */
    const char *function_id; /* or NULL */
    const char *alias;       /* or NULL; wins over function_id */
    int64_t version;
    int sync;
    const char *input;
    const char *description;
    struct qm_target_req target;
    int64_t pending_timeout; /* -1: the default for sync or async */
    const char *trigger_id, *firing_id;
    /* limits and defaults from the configuration */
    int64_t max_input;
    int64_t sync_pending_timeout, async_pending_timeout;
};

struct qm_launched {
    struct qm_exec_made made;
    int64_t timeout;         /* the function's, seconds */
    int64_t pending_timeout; /* as applied */
};

int qm_launch(struct db *db, const struct qm_launch *req, struct qm_launched *out,
              struct error *err) IOT_WUR;
void qm_launched_clear(struct qm_launched *l);

#endif
