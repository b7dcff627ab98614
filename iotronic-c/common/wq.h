/* common/wq.h: a worker pool whose results are posted back to an event loop.
 *
 * Event loops never block: blocking work (libpq, files, AMQP calls) is
 * submitted here. A job's work() runs on one of the worker threads; its
 * done() then runs on the loop thread when the loop calls wq_drain(). After
 * queueing a completion a worker calls the wake() hook given to wq_new() (for
 * libwebsockets: lws_cancel_service(), and the loop drains in
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED).
 *
 * Each worker thread may own a context (a database connection, say) made by
 * the thread_init hook on that thread and passed to every work() it runs.
 *
 * One wq per daemon, created in main and freed after the loop has stopped.
 * wq_submit() may be called from any thread; wq_drain() only from the loop. */
#ifndef IOT_COMMON_WQ_H
#define IOT_COMMON_WQ_H

#include <stddef.h>

#include "common/error.h"

typedef void (*wq_work_fn)(void *arg, void *thread_ctx);
typedef void (*wq_done_fn)(void *arg);

struct wq_hooks {
    void *(*thread_init)(void *hook_arg);           /* may be NULL */
    void (*thread_fini)(void *thread_ctx, void *hook_arg);
    void (*wake)(void *hook_arg);                   /* may be NULL: no posting back */
    void *hook_arg;
};

struct wq;

/* Starts nthreads workers; at most max_queued jobs wait (0: unbounded). */
struct wq *wq_new(int nthreads, size_t max_queued, const struct wq_hooks *hooks);

/* Queues a job. done may be NULL. Returns 0, or -EAGAIN when the queue is
 * full, or -ESHUTDOWN once wq_free() has begun: then neither callback runs. */
int wq_submit(struct wq *wq, wq_work_fn work, wq_done_fn done, void *arg) IOT_WUR;

/* Runs every pending done() on the calling (loop) thread. Returns how many. */
size_t wq_drain(struct wq *wq);

/* Jobs waiting for a worker (a load figure for metrics and admission). */
size_t wq_pending(struct wq *wq);

/* Finishes queued jobs, joins the workers and runs the last done()s; from
 * then on wq_submit() answers -ESHUTDOWN, but wq stays valid. Use it when
 * something that outlives the pool's jobs (an AMQP connection whose
 * callbacks submit jobs, say) must be freed between the two steps:
 * wq_shutdown(), free that, then wq_free(). Idempotent. Loop thread. */
void wq_shutdown(struct wq *wq);

/* wq_shutdown() if not done yet, then frees. Accepts NULL. */
void wq_free(struct wq *wq);

#endif
