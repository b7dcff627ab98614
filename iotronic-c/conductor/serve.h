/* conductor/serve.h: starting the RPC server and the periodic duties. */
#ifndef IOT_CONDUCTOR_SERVE_H
#define IOT_CONDUCTOR_SERVE_H

#include "common/wq.h"
#include "conductor/cond.h"

/* Starts the worker pool (each worker opens its own database connection
 * lazily) and serves COND_QUEUE with cond_handlers. *wq_out is freed with
 * wq_free() after mq_free(). Blocks briefly; main thread. */
int cond_start(struct cond *c, struct wq **wq_out, struct error *err) IOT_WUR;

/* Upserts this conductor's row in `conductors` (online or not). */
int cond_register(struct db *db, const char *host, int online, struct error *err) IOT_WUR;

/* One dead-wagent check (board-protocol 7.3): marks wagents without a
 * heartbeat for agent_timeout offline with their boards. Returns how many
 * boards went offline, or a database error. Any thread but the loop. */
int cond_reap(struct cond *c, struct db *db, struct error *err) IOT_WUR;

/* Completes, as ERROR, board calls whose conductor died before the board's
 * answer was recorded: requests PENDING with a result still RUNNING and
 * never updated (a RUNNING answer updates it), older than the board call
 * timeout plus a margin. The redelivered RPC runs again as a new request,
 * so these only need closing. Returns how many. Any thread but the loop. */
int cond_expire_calls(struct cond *c, struct db *db, struct error *err) IOT_WUR;

#endif
