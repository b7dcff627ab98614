/* qapi/exec.h: what the execution, webhook and job handlers share.
 * Worker threads. */
#ifndef QA_EXEC_H
#define QA_EXEC_H

#include <stdint.h>

#include <libpq-fe.h>

#include "qapi/call.h"
#include "qapi/waiters.h"
#include "qmodel/exec.h"
#include "qmodel/launch.h"

/* Answers execution id (scope NULL: any project) with status, or 404
 * "Execution not found [id=<id>]". 0, or -1 when the read failed. */
int qa_execution_answer(struct qa_call *c, const char *id, const char *scope, int status);

/* The caller's scopes and the configured limits and defaults, into q. */
void qa_launch_defaults(const struct qa_call *c, struct qm_launch *q);

/* Announces every execution of m to the engine (3.6). */
void qa_announce(struct qa_call *c, const struct qm_exec_made *m);

/* Waits (registered with w) until id is terminal or bound_s seconds pass.
 * Returns the terminal row (selected with QA_SEL_EXECUTION; PQclear, or
 * answer it with qa_answer_one), or NULL when the bound passed. */
PGresult *qa_sync_wait(struct qa_call *c, struct qa_wait *w, const char *id, int64_t bound_s);

#endif
