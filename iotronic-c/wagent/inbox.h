/* wagent/inbox.h: handing work from other threads to the wagent's loop.
 *
 * The AMQP library runs its handlers and completion callbacks on its own I/O
 * thread (amqp/mq.h); the worker pool posts through wq_drain(). Work from the
 * AMQP thread must not queue behind database jobs (a slow database never
 * delays board calls, board-protocol.md 8.3), so it comes through this
 * separate inbox: a mutex-protected FIFO of intrusive nodes and an ev_async
 * that wakes the loop, which runs each node's function in order.
 *
 * A node is embedded in the object being handed over, so posting never
 * allocates. One inbox per wagent, made before the other threads start and
 * freed after they stopped. wag_inbox_post() from any thread; the rest on
 * the loop thread. */
#ifndef IOT_WAGENT_INBOX_H
#define IOT_WAGENT_INBOX_H

#include <ev.h>
#include <pthread.h>

struct wag_post;
typedef void (*wag_post_fn)(struct wag_post *p);

struct wag_post {
    struct wag_post *next;
    wag_post_fn fn; /* runs on the loop thread; owns the enclosing object from then on */
};

struct wag_inbox {
    struct ev_loop *ev;
    ev_async async;
    pthread_mutex_t lock;
    struct wag_post *head, *tail;
    int stopped; /* posts after wag_inbox_stop() run nowhere: see there */
};

/* Starts watching on ev (loop thread). */
void wag_inbox_init(struct wag_inbox *in, struct ev_loop *ev);

/* Queues p with fn, and wakes the loop. Any thread. Returns 0, or -ESHUTDOWN
 * after wag_inbox_stop(): fn will never run and the caller keeps p. */
int wag_inbox_post(struct wag_inbox *in, struct wag_post *p, wag_post_fn fn);

/* Runs everything queued now (the async watcher does this by itself). */
void wag_inbox_drain(struct wag_inbox *in);

/* Refuses further posts and runs what is queued. Loop thread. */
void wag_inbox_stop(struct wag_inbox *in);

/* Stops the watcher; the inbox must be stopped and empty. */
void wag_inbox_free(struct wag_inbox *in);

#endif
