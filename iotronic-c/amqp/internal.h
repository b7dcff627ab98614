/* amqp/internal.h: what the files of the amqp module share; not an API.
 *
 * Threads. Fields under "shared" are guarded by mq->lock; "atomic" ones are
 * C11 atomics; everything under "I/O thread only" is touched by the I/O
 * thread alone, which needs no lock for it. Other threads reach the I/O
 * thread only through mq_submit() (a FIFO of struct op plus an eventfd).
 *
 * Ownership. An op belongs to its submitter until mq_submit() accepts it,
 * then to the I/O thread, which frees it when done (async), or hands it back
 * by posting the submitter's semaphore (sync: the submitter frees it).
 *
 * Generations. mq->gen counts successful connections. A delivery tag is only
 * meaningful on the connection that produced it, so everything that will
 * ack a delivery remembers the gen it came with, and acks only if it is
 * still current: after a reconnect the broker has already requeued it. */
#ifndef IOT_AMQP_INTERNAL_H
#define IOT_AMQP_INTERNAL_H

#include <amqp.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>

#include "amqp/dedup.h"
#include "amqp/envelope.h"
#include "amqp/mq.h"
#include "amqp/url.h"
#include "common/error.h"

#define CH_MAIN 1  /* calls, replies, consumers, acks */
#define CH_PUB 2   /* casts and publications, confirm mode */
#define CH_ADMIN 3 /* declarations */
#define CH_COUNT 4

#define MQ_ID_MAX 48            /* "<16 hex>.<seq>" and the NUL */
#define REPLY_TAG "mq.reply"    /* consumer tag of the direct reply-to consumer */
#define FRAMES_PER_TURN 512     /* frames read before the loop looks at its ops again */
#define TICK_US 1000000         /* heartbeat bookkeeping while idle */
#define CONNECT_TIMEOUT_MS 5000 /* TCP connect, then the AMQP handshake */
#define RPC_TIMEOUT_MS 10000    /* a synchronous AMQP method (declare, consume) */

struct mq;

/* ------------------------------------------------------------- ops, waits */

enum op_kind { OP_CALL, OP_PUB, OP_FINISH, OP_DECLARE, OP_SERVE, OP_KINDS };

struct op {
    enum op_kind kind;
    struct op *next;
};

/* The blocked submitter of a synchronous op. */
struct sync_wait {
    sem_t sem;
    int rc;
    struct error err;
};

void sync_wait_init(struct sync_wait *sw);
void sync_wait_post(struct sync_wait *sw, int rc, const struct error *err);
int sync_wait_wait(struct sync_wait *sw, struct error *err); /* returns rc, copies err */

/* Hands op to the I/O thread. 0, or -ESHUTDOWN once the thread has exited
 * (then op still belongs to the caller). */
int mq_submit(struct mq *mq, struct op *op);

/* 1 when called on mq's I/O thread. */
int mq_on_io_thread(const struct mq *mq);

/* ----------------------------------------------------------------- timers */

/* A deadline in a binary min-heap; embedded in calls, publications, etc. */
struct timer {
    int64_t at; /* monotonic µs; 0: not armed */
    size_t idx; /* position in the heap, while armed */
    void (*fire)(struct mq *mq, struct timer *t, int64_t now);
};

struct timers {
    struct timer **v;
    size_t n, cap;
};

void mq_timer_set(struct timers *ts, struct timer *t, int64_t at); /* arms or moves */
void mq_timer_cancel(struct timers *ts, struct timer *t);          /* accepts unarmed */
int64_t mq_timer_next(const struct timers *ts);                    /* 0: none */
void mq_timers_run(struct mq *mq, struct timers *ts, int64_t now);
void mq_timers_free(struct timers *ts);

/* ---------------------------------------------------------- received data */

/* One message assembled from method, header and body frames. Handlers may
 * take body or the strings (set them to NULL); the rest is freed after. */
struct inmsg {
    int active;
    int is_return; /* basic.return rather than basic.deliver */
    uint64_t tag;
    int redelivered;
    int reply_code; /* basic.return */
    char ctag[64];  /* consumer tag */
    char *corr, *reply_to, *msg_id, *type;
    size_t size, got;
    char *body; /* NUL-terminated when complete; NULL if oversize */
    int oversize;
};

void mq_inmsg_reset(struct inmsg *m); /* frees what it holds, empties it */

/* ------------------------------------------------------------------ calls */

struct call {
    struct op op;
    struct timer timer;
    struct call *hnext;
    uint64_t seq;
    char id[MQ_ID_MAX];
    char method[MQ_METHOD_MAX + 1];
    char *queue;
    char *body;
    size_t len;
    int timeout_ms;
    int64_t submit_us, deadline_us, retry_us;
    unsigned published, returned;
    uint64_t sent_gen;
    mq_call_cb cb;
    void *arg;
    struct sync_wait *sw; /* a blocking mq_call() */
    int rc;               /* completion of a blocking call */
    struct error err;
    char *reply;
    size_t reply_len;
};

void mq_client_op(struct mq *mq, struct op *op);
void mq_client_fail_op(struct mq *mq, struct op *op, int rc, const char *why);
void mq_client_on_connected(struct mq *mq);
void mq_client_on_reply(struct mq *mq, struct inmsg *m);
void mq_client_on_return(struct mq *mq, struct inmsg *m);
void mq_client_shutdown(struct mq *mq);

/* ----------------------------------------------------------- publications */

struct pub {
    struct op op;
    struct timer timer;
    struct pub *next; /* unsent or unconfirmed list */
    char *exchange, *rk, *type;
    char id[MQ_ID_MAX];
    char *body;
    size_t len;
    unsigned flags;
    int64_t submit_us, deadline_us; /* deadline: the confirm's, once published */
    uint64_t tag, sent_gen;
    int returned;
    mq_done_cb cb;
    void *arg;
    struct sync_wait *sw;
};

void mq_pub_op(struct mq *mq, struct op *op);
void mq_pub_fail_op(struct mq *mq, struct op *op, int rc, const char *why);
void mq_pub_on_connected(struct mq *mq);
void mq_pub_on_lost(struct mq *mq);
void mq_pub_on_ack(struct mq *mq, uint64_t tag, int multiple, int ack);
void mq_pub_on_return(struct mq *mq, struct inmsg *m);
void mq_pub_on_channel_closed(struct mq *mq, int rc, const char *why);
int mq_pub_pending(const struct mq *mq);
void mq_pub_shutdown(struct mq *mq);

/* ----------------------------------------------------------- declarations */

enum decl_kind { DECL_EXCHANGE, DECL_QUEUE, DECL_BIND };

struct decl {
    struct op op;
    struct decl *next;
    enum decl_kind kind;
    char *a, *b, *c; /* exchange: name, type; queue: name; bind: queue, exchange, key */
    unsigned flags;
    struct sync_wait *sw;
};

void mq_decl_op(struct mq *mq, struct op *op);
void mq_decl_fail_op(struct mq *mq, struct op *op, int rc, const char *why);
int mq_decl_replay(struct mq *mq); /* at connect; <0: connection lost */
int mq_declare_queue_now(struct mq *mq, const char *name, unsigned flags, struct error *err);
void mq_decl_free_all(struct mq *mq);

/* ----------------------------------------------------------------- server */

struct handler_entry {
    char *method;
    mq_handler_fn fn;
    unsigned flags;
};

struct server {
    struct op op;
    struct server *next;
    char *queue;
    char tag[32];
    struct handler_entry *handlers; /* sorted by method */
    size_t nhandlers;
    struct mq_serve_opts opts;
    void *ctx;
    struct mq_dedup *dedup;
    uint64_t consuming_gen; /* gen of the live consumer; 0: none */
    struct sync_wait *sw;
};

struct waiter {
    struct waiter *next;
    char *reply_to, *corr;
    uint64_t gen, tag;
};

enum finish_kind {
    FIN_REPLY,   /* answer (calls) and ack */
    FIN_REJECT,  /* reject without requeue */
    FIN_REQUEUE, /* reject with requeue: another attempt */
    FIN_DROP,    /* expired: ack without an answer, and forget the id */
};

struct mq_req {
    struct op op;
    struct mq *mq;
    struct server *srv;
    uint64_t gen, tag;
    int redelivered;
    char *reply_to, *corr, *msg_id;
    char *event_method; /* events mode: the AMQP type, owned */
    struct mq_request_env env;
    const struct handler_entry *h;
    struct mq_dedup_entry *dd; /* RUNNING entry, or NULL */
    void *worker_ctx;
    enum finish_kind fin;
    char *reply; /* FIN_REPLY of a call: the reply body */
    size_t reply_len;
    int is_error;
    int no_cache; /* finish without storing the reply (a 503) */
};

/* Runs on the I/O thread: acks or rejects, answers, updates the cache,
 * frees req. */
void mq_req_finish(struct mq *mq, struct mq_req *req);
void mq_server_op(struct mq *mq, struct op *op);
void mq_server_fail_op(struct mq *mq, struct op *op, int rc, const char *why);
int mq_server_setup_all(struct mq *mq); /* at connect; <0: connection lost */
void mq_server_on_connected(struct mq *mq);
void mq_server_on_delivery(struct mq *mq, struct inmsg *m);
void mq_server_on_cancel(struct mq *mq, const char *ctag);
void mq_server_finish_op(struct mq *mq, struct op *op);
void mq_server_cancel_all(struct mq *mq);
void mq_server_free_all(struct mq *mq);
void mq_req_free(struct mq_req *req);
/* Hands a finished request to the I/O thread (or finishes it there). */
void mq_submit_finish(struct mq_req *req);
/* Publishes a reply on CH_MAIN, or keeps it for the next connection. */
void mq_send_reply(struct mq *mq, const char *reply_to, const char *corr, const char *body,
                   size_t len);

/* ------------------------------------------------------------- connection */

enum conn_state { CONN_WAIT, CONN_CONNECTING, CONN_UP, CONN_CLOSED };

void mq_conn_start(struct mq *mq);
void mq_conn_on_writable(struct mq *mq);
void mq_conn_lost(struct mq *mq, int code, const char *fmt, ...) IOT_PRINTF(3, 4);
void mq_conn_close(struct mq *mq);
/* After a synchronous AMQP method: 0; a channel error mapped to an errno
 * (the channel was answered and re-opened); or -ENOTCONN when the
 * connection was lost (mq_conn_lost() already ran). err says which. */
int mq_rpc_check(struct mq *mq, amqp_channel_t ch, const char *what, struct error *err);
/* Answers the broker's channel.close m on ch and re-opens ch; returns the
 * reason as an errno, with words in err. */
int mq_channel_closed(struct mq *mq, amqp_channel_t ch, const amqp_channel_close_t *m,
                      const char *what, struct error *err);
/* After a send (publish, ack): 0, or -ENOTCONN after mq_conn_lost(). */
int mq_send_check(struct mq *mq, int status, const char *what);
int mq_frames_read(struct mq *mq);       /* 1: more may be buffered */
int mq_rpc_status_errno(int reply_code); /* AMQP reply code -> negated errno */

/* Keeps a synchronous op until the current connection attempt is over. */
void mq_defer(struct mq *mq, struct op *op);

/* Runs an op now (the deferred ones, once the connection attempt is over). */
void mq_run_op(struct mq *mq, struct op *op);

/* ----------------------------------------------------------------- struct */

struct stats_atomic {
    _Atomic uint64_t connected, connects, reconnects, connect_failures;
    _Atomic uint64_t calls, calls_in_flight, calls_ok, calls_remote_error, calls_timeout;
    _Atomic uint64_t calls_unsent, calls_failed, calls_resent;
    _Atomic uint64_t publishes, publishes_failed;
    _Atomic uint64_t requests, replies, error_replies, duplicates, expired, malformed;
    _Atomic uint64_t requests_running;
};

#define ST_INC(mq, f) atomic_fetch_add_explicit(&(mq)->st.f, 1, memory_order_relaxed)
#define ST_DEC(mq, f) atomic_fetch_sub_explicit(&(mq)->st.f, 1, memory_order_relaxed)

struct pending_reply {
    struct pending_reply *next;
    char *reply_to, *corr, *body;
    size_t len;
    int64_t expires_us;
};

struct mq {
    /* immutable after mq_new() */
    struct mq_url *url;
    struct mq_opts o;
    char idprefix[17];
    pthread_t thread;
    int evfd;
    _Atomic uint64_t next_seq;
    _Atomic int refs; /* 1 for the handle + 1 per unfinished request */
    struct stats_atomic st;

    /* shared, under lock */
    pthread_mutex_t lock;
    pthread_cond_t cond; /* connected / rounds_failed changed */
    struct op *ops_head, *ops_tail;
    int wake_pending;
    int stopping; /* mq_free() has begun */
    int dead;     /* the I/O thread has exited */
    int connected;
    uint64_t rounds_failed; /* complete rounds of failed attempts */
    struct error last_err;

    /* I/O thread only */
    amqp_connection_state_t conn;
    int fd; /* socket while connecting/up, else -1 */
    enum conn_state state;
    uint64_t gen;
    int ever_connected;
    size_t host_idx;
    struct addrinfo *ai_list, *ai_cur;
    int backoff_ms;
    struct timer conn_timer; /* reconnect delay, or connect timeout */
    struct timers timers;
    struct inmsg in[CH_COUNT];
    int more_frames;
    int reopening; /* re-opening a channel: do not recurse */
    int64_t tick_us;
    struct op *deferred; /* sync declarations/serves waiting for the attempt */
    struct op *deferred_tail;
    /* client */
    struct call **calls;
    size_t ncall_buckets, ncalls;
    /* publications */
    struct pub *unsent_head, *unsent_tail;
    struct pub *unconf_head, *unconf_tail;
    uint64_t pub_tag;
    /* declarations, servers */
    struct decl *decls, *decls_tail;
    struct server *servers;
    unsigned nservers;
    size_t running; /* requests dispatched and not finished */
    struct pending_reply *preplies, *preplies_tail;
    size_t npreplies;
    /* shutdown */
    int draining;
    int64_t drain_until;
    struct timer drain_timer;
};

/* Drops a reference; the last one frees the memory. */
void mq_unref(struct mq *mq);

/* "host:port" of the host being tried (no credentials), for messages. */
const char *mq_host_label(const struct mq *mq, char *buf, size_t cap);

/* Records the reason of a failed connection attempt for mq_wait_connected()
 * and the -ENOTCONN messages; round_over: every host was tried. */
void mq_set_last_error(struct mq *mq, const struct error *err, int round_over);

/* Marks the connection up or down for other threads. */
void mq_set_connected(struct mq *mq, int up);

#endif
