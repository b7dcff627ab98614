/* qapi/waiters.h: sync executions waiting for their result (3.6).
 *
 * One listener thread holds its own database connection with LISTEN
 * qinling_executions; the engine NOTIFYs the id of every execution it
 * completes. A worker handling a sync POST registers before it announces the
 * execution (so a fast result cannot be missed), then waits on its own
 * condition variable; the listener wakes it when its id arrives. The worker
 * still re-reads the row at least once a second, in case a notification was
 * lost (a reconnect of the listener, say). Any thread may register and wait;
 * the listener never touches the waiters' rows. */
#ifndef QA_WAITERS_H
#define QA_WAITERS_H

#include "common/error.h"

struct qa_waiters;
struct qa_wait;

/* Starts the listener on conninfo (it connects in the background and again
 * after a loss). 0 and *out, or -errno. Main thread. */
int qa_waiters_new(const char *conninfo, struct qa_waiters **out, struct error *err) IOT_WUR;

/* Stops the listener (within a second) and frees. No waiter may remain. */
void qa_waiters_free(struct qa_waiters *w);

/* Registers interest in execution id. Never fails. */
struct qa_wait *qa_wait_begin(struct qa_waiters *w, const char *id);

/* Waits up to timeout_ms for id's notification. 1 when it came (since
 * begin, or since the last call that returned 1), 0 on timeout. */
int qa_wait_for(struct qa_waiters *w, struct qa_wait *wt, int timeout_ms);

/* Unregisters and frees wt. */
void qa_wait_end(struct qa_waiters *w, struct qa_wait *wt);

#endif
