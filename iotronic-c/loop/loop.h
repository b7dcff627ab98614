/* loop/loop.h: the one event loop of a process: libev, with libwebsockets on it.
 *
 * Every daemon and the board agent run a single libev loop (epoll on Linux)
 * and attach libwebsockets to it as a "foreign loop", so that WebSockets,
 * HTTP, raw sockets, AMQP and libpq sockets, timers, child processes and
 * signals all share one thread and one poller that scales to tens of
 * thousands of connections (lws's own poll() loop does not).
 *
 * The lws context is created with LWS_SERVER_OPTION_EXPLICIT_VHOSTS: each
 * module adds its own vhost (listener, protocols) with lws_create_vhost().
 * Modules use libev watchers (ev_io, ev_timer, ev_child, ev_async) directly
 * on loop_ev() for their own descriptors.
 *
 * Threads: everything here runs on the loop thread, except loop_wake(),
 * which any thread may call to have the loop drain the worker pool's
 * completions (common/wq.h). One struct loop per process, made in main(). */
#ifndef IOT_LOOP_LOOP_H
#define IOT_LOOP_LOOP_H

#include <ev.h>
#include <libwebsockets.h>

#include "common/error.h"
#include "common/wq.h"

struct loop;

struct loop_opts {
    const char *name;           /* for logs */
    int lws_log_level;          /* LLL_* mask for lws's own logs; 0: errors only */
    unsigned max_fds;           /* 0: the process limit */
    int stop_on_signals;        /* 1: SIGTERM and SIGINT stop the loop */
};

/* Creates the libev loop and the lws context on it. */
int loop_new(const struct loop_opts *opts, struct loop **out, struct error *err) IOT_WUR;

struct lws_context *loop_lws(struct loop *l);
struct ev_loop *loop_ev(struct loop *l);

/* Runs until loop_stop(). Returns 0, or the signal number that stopped it. */
int loop_run(struct loop *l);

/* Asks loop_run() to return after this iteration. Loop thread only. */
void loop_stop(struct loop *l);

/* The signal that stopped the loop (0 if none). */
int loop_stop_signal(const struct loop *l);

/* Makes the worker pool post completions to this loop: wq_drain() runs on the
 * loop thread whenever a worker finished a job. Returns the hooks to pass to
 * wq_new() (thread_init/thread_fini receive hook_arg, as with wq_new); then
 * call loop_set_wq() with the new wq. One wq per loop; l must outlive it. */
struct wq_hooks loop_wq_hooks(struct loop *l, void *(*thread_init)(void *),
                              void (*thread_fini)(void *, void *), void *hook_arg);
void loop_set_wq(struct loop *l, struct wq *wq);

/* Makes lws re-read its timers after one of our own callbacks scheduled an
 * lws timer or closed an lws connection from outside an lws callback (lws's
 * libev plugin only looks after descriptor activity). Any thread. */
void loop_kick_lws(struct loop *l);

/* Thread-safe: wakes the loop so it drains the attached wq. */
void loop_wake(struct loop *l);

/* Destroys the lws context, then the loop. Call after loop_run() returned and
 * after every module freed its watchers. Accepts NULL. */
void loop_free(struct loop *l);

#endif
