/* amqp/mq.h: RPC and messaging over AMQP 0-9-1 (RabbitMQ), on librabbitmq.
 *
 * One `struct mq` is one AMQP connection served by its own I/O thread.
 * librabbitmq is not thread-safe, so only that thread touches the socket:
 * every other thread hands its work over through a queue and an eventfd,
 * and results come back through a callback (run on the I/O thread) or by
 * waking the blocked caller. Any thread may call any function below unless
 * it says otherwise; blocking functions refuse (-EDEADLK) to run on the I/O
 * thread itself, i.e. from an inline handler or a callback.
 *
 * Wire format: amqp/envelope.h (JSON request and reply bodies, properties).
 *
 * Connection. mq_new() never blocks on the network: the I/O thread connects
 * in the background and, whenever the connection drops (broker restart,
 * network, missed heartbeats), reconnects with exponential backoff and
 * jitter (backoff_min_ms doubling to backoff_max_ms), trying the URL's hosts
 * in turn. On every new connection it re-declares the exchanges, queues and
 * bindings made with mq_declare_*(), re-subscribes the servers, re-opens the
 * direct reply-to consumer, re-sends the calls that were published but not
 * answered (same message id, so servers de-duplicate them), and re-publishes
 * MQ_CONFIRM messages that were not confirmed. AMQP heartbeats (default 30 s)
 * detect half-open connections.
 *
 * Channels: 1 carries calls, replies, consumers and acks (no confirms, for
 * latency); 2 is in confirm mode and carries mq_cast()/mq_publish(); 3
 * carries declarations, so that a refused declaration never disturbs the
 * others.
 *
 * Calls. mq_call() publishes to the default exchange with routing key =
 * queue, reply_to = amq.rabbitmq.reply-to (RabbitMQ direct reply-to: no reply
 * queue is declared), non-persistent, mandatory, and with a per-message TTL
 * equal to the timeout. Outcomes (struct mq_result.rc):
 *   0             the handler's result
 *   -EREMOTE      the handler answered with an error (remote_errno,
 *                 remote_status, err.msg, remote_data as it set them)
 *   -ETIMEDOUT    sent, no answer in time: the outcome is unknown (HTTP 504)
 *   -ENOTCONN     never published: no connection to the broker within
 *                 min(timeout, connect_wait_ms) (HTTP 503)
 *   -EHOSTUNREACH never delivered: every publish came back unroutable (no
 *                 queue of that name) for connect_wait_ms (HTTP 503)
 *   -ESHUTDOWN    the mq is being freed; never published
 *   -EAGAIN       too many calls in flight (max_in_flight); never published
 *   -EPROTO       the reply was malformed (outcome unknown)
 *   -EMSGSIZE     the reply was larger than max_message (outcome unknown)
 *   -EINVAL/-E2BIG bad arguments (queue or method name, args not an object,
 *                 request larger than max_message)
 * mq_rc_unsent() tells the 503 cases (certainly not applied) apart.
 * Deadlines are enforced by the I/O thread, so they can slip while it waits
 * in a synchronous AMQP method (declarations and set-up after a reconnect,
 * each bounded by 10 s) or on a socket the broker stopped reading (a
 * memory alarm); the caller is always answered exactly once.
 *
 * Servers. mq_serve() declares the queue, sets the prefetch and consumes with
 * manual acknowledgement. Each delivery is validated (malformed ones are
 * rejected without requeue, logged, and answered with EINVAL/400 when they
 * can be), dropped unanswered if its deadline has passed, de-duplicated by
 * message id (amqp/dedup.h: a repeat of a finished request gets the stored
 * reply, a repeat of a running one waits for it), then dispatched by method
 * name through the handler table. The handler, or anyone later from any
 * thread, finishes the request with exactly one of mq_reply(),
 * mq_reply_error(), mq_done() or mq_reject(); only then is the delivery
 * acknowledged, so work the handler committed is never lost and work it did
 * not finish is redelivered. De-duplication is per server process: a repeat
 * that reaches another competing consumer runs there again, so handlers that
 * change state should also be idempotent per mq_req_message_id().
 *
 * Limits: names (queue, exchange, routing key, type) at most 255 bytes;
 * bodies at most max_message bytes (default 16 MiB). */
#ifndef IOT_AMQP_MQ_H
#define IOT_AMQP_MQ_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct wq;

/* Publish flags (mq_cast, mq_publish).
 *   MQ_PERSISTENT  delivery_mode 2: kept across a broker restart on a durable queue
 *   MQ_CONFIRM     wait for the broker's publisher confirm (implies MQ_MANDATORY
 *                  for mq_cast)
 *   MQ_MANDATORY   with MQ_CONFIRM: -EHOSTUNREACH when no queue took the message */
#define MQ_PERSISTENT 0x1u
#define MQ_CONFIRM 0x2u
#define MQ_MANDATORY 0x4u

/* Declaration flags (mq_declare_exchange, mq_declare_queue). */
#define MQ_DURABLE 0x10u
#define MQ_EXCLUSIVE 0x20u
#define MQ_AUTO_DELETE 0x40u

#define MQ_NAME_MAX 255

/* Tuning; zero fields take the defaults in brackets. */
struct mq_opts {
    const char *name;       /* connection_name shown by the broker [the URL's, or "iotronic"] */
    int heartbeat_s;        /* AMQP heartbeat [the URL's heartbeat=, or 30]; -1: off */
    int connect_wait_ms;    /* how long an unsent call/cast waits for a connection [5000] */
    int confirm_timeout_ms; /* MQ_CONFIRM: how long to wait for the confirm [5000] */
    int backoff_min_ms;     /* first reconnect delay [100] */
    int backoff_max_ms;     /* reconnect delay ceiling [5000] */
    size_t max_message;     /* largest body sent or accepted [16 MiB] */
    size_t max_in_flight;   /* calls + casts waiting for an answer [65536] */
    size_t dedup_entries;   /* per server: finished requests remembered [10000] */
    size_t dedup_bytes;     /* per server: bytes of stored replies [64 MiB] */
    int dedup_ttl_ms;       /* per server: how long a finished request is remembered [600000] */
    int drain_timeout_ms;   /* mq_free(): wait for running requests at most [10000] */
};

struct mq;

/* Parses transport_url (amqp/url.h) and starts the I/O thread, which
 * connects in the background. Returns 0 and *out (mq_free()), or -EINVAL
 * with the reason in err for a bad URL. opts may be NULL. Never blocks. */
int mq_new(const char *transport_url, const struct mq_opts *opts, struct mq **out,
           struct error *err) IOT_WUR;

/* Waits until connected. timeout_ms 0: until the current round of connection
 * attempts (every host once) has succeeded or failed. Returns 0, or the
 * last connection error (-ECONNREFUSED, -EACCES for a refused login,
 * -ETIMEDOUT, ...) with "cannot reach broker at host:port: reason" in err. */
int mq_wait_connected(struct mq *mq, int timeout_ms, struct error *err) IOT_WUR;

int mq_is_connected(struct mq *mq); /* 1 or 0, a snapshot */

/* Stops consuming, waits up to drain_timeout_ms for running requests to be
 * finished, fails what is still pending with -ESHUTDOWN (callbacks run),
 * closes the connection and joins the I/O thread. Requests finished later
 * are dropped (their memory stays valid until then). Call it once, from a
 * thread that is not the I/O thread, after the callers have stopped making
 * new calls. Accepts NULL. */
void mq_free(struct mq *mq);

/* ------------------------------------------------------------------ calls */

/* The outcome of a call. Fill it with mq_call() or receive it in a callback;
 * release its contents with mq_result_free(). */
struct mq_result {
    int rc;             /* see the top of this file */
    cJSON *result;      /* rc == 0: the handler's result, never NULL (a null item) */
    int remote_errno;   /* rc == -EREMOTE: the handler's errno, positive */
    int remote_status;  /* rc == -EREMOTE: its HTTP status hint, 0 when none */
    cJSON *remote_data; /* rc == -EREMOTE: its data, or NULL */
    struct error err;   /* rc != 0: what happened (-EREMOTE: the handler's message) */
};

void mq_result_free(struct mq_result *res); /* frees the contents; res can be reused */

/* 1 when rc says the request was certainly never delivered to a server
 * (nothing was applied: the API answers 503): -ENOTCONN, -EHOSTUNREACH,
 * -ESHUTDOWN, -EAGAIN. */
int mq_rc_unsent(int rc);

/* Calls method on the server(s) consuming queue and waits for the answer,
 * at most timeout_ms (> 0). args: a JSON object or NULL ({}), borrowed. The
 * calling thread's log request id travels with the request. Fills *res and
 * returns res->rc. Blocks: not on the I/O thread (-EDEADLK). */
int mq_call(struct mq *mq, const char *queue, const char *method, const cJSON *args, int timeout_ms,
            struct mq_result *res);

/* Called exactly once per accepted mq_call_async(), on the I/O thread: it
 * must not block. res is valid during the call; steal res->result or
 * res->remote_data by setting the field to NULL, the rest is freed after. */
typedef void (*mq_call_cb)(struct mq_result *res, void *arg);

/* Like mq_call() without waiting. Returns 0 and cb runs later (exactly
 * once), or fails at once (-EINVAL, -E2BIG, -EAGAIN, -ESHUTDOWN; err says
 * why) and cb never runs. */
int mq_call_async(struct mq *mq, const char *queue, const char *method, const cJSON *args,
                  int timeout_ms, mq_call_cb cb, void *arg, struct error *err) IOT_WUR;

/* ------------------------------------------------- casts and publications */

/* Called exactly once per accepted *_async() publication, on the I/O thread.
 * rc: 0 (written to the socket, or confirmed with MQ_CONFIRM), -ENOTCONN
 * (never published), -ETIMEDOUT (no confirm in time: unknown), -EHOSTUNREACH
 * (unroutable, with MQ_MANDATORY), -EIO (the broker nacked it), -ENOENT or
 * -EACCES (the broker closed the channel: no such exchange, or no right),
 * -ESHUTDOWN. err holds the words. */
typedef void (*mq_done_cb)(int rc, const struct error *err, void *arg);

/* Sends a request that expects no reply (the server finishes it with
 * mq_done()). Without MQ_CONFIRM it returns once the message is queued for
 * the I/O thread (0), or at once with an error. With MQ_CONFIRM it blocks
 * until the broker confirmed it (0) or the failure above; MQ_PERSISTENT |
 * MQ_CONFIRM on a durable queue survives a broker restart. The queue must
 * exist (declare it): with MQ_CONFIRM an absent queue is -EHOSTUNREACH. */
int mq_cast(struct mq *mq, const char *queue, const char *method, const cJSON *args, unsigned flags,
            struct error *err);
int mq_cast_async(struct mq *mq, const char *queue, const char *method, const cJSON *args,
                  unsigned flags, mq_done_cb cb, void *arg, struct error *err) IOT_WUR;

/* Publishes body (any JSON, borrowed; serialised as is, not wrapped in an
 * envelope) to exchange ("" is the default exchange, where routing_key
 * names a queue), with AMQP property type (may be NULL), content_type
 * application/json and a fresh message_id. Same flags and blocking rules as
 * mq_cast(). Used for the topic exchanges iotronic.board_events and
 * iotronic.telemetry, and for the durable queue qinling_engine_events. */
int mq_publish(struct mq *mq, const char *exchange, const char *routing_key, const char *type,
               const cJSON *body, unsigned flags, struct error *err);
int mq_publish_async(struct mq *mq, const char *exchange, const char *routing_key, const char *type,
                     const cJSON *body, unsigned flags, mq_done_cb cb, void *arg,
                     struct error *err) IOT_WUR;

/* ----------------------------------------------------------- declarations */

/* Declare now when connected and again on every reconnection. Return 0, the
 * broker's refusal (-EINVAL: exists with other properties; -EACCES; -ENOENT:
 * no such queue or exchange to bind; -EBUSY: exclusive queue in use) which
 * forgets the declaration, or -ENOTCONN when not connected at the end of the
 * current connection attempt: the declaration is kept and made on the next
 * connection. Block: not on the I/O thread. */
int mq_declare_exchange(struct mq *mq, const char *name, const char *type, unsigned flags,
                        struct error *err);
int mq_declare_queue(struct mq *mq, const char *name, unsigned flags, struct error *err);
int mq_bind(struct mq *mq, const char *queue, const char *exchange, const char *binding_key,
            struct error *err);

/* ----------------------------------------------------------------- server */

struct mq_req; /* one received request, until it is finished */

/* A handler. args is borrowed from req (valid until req is finished). It
 * must finish req, now or later, from any thread, exactly once. */
typedef void (*mq_handler_fn)(struct mq_req *req, const cJSON *args, void *ctx);

#define MQ_INLINE 0x1u /* run on the I/O thread even when the server has a wq: never blocks */

struct mq_handler {
    const char *method; /* mq_env_method_ok() */
    mq_handler_fn fn;
    unsigned flags;
};

struct mq_serve_opts {
    int durable;     /* declare the queue durable (survives a broker restart) */
    int exclusive;   /* only this connection may consume; deleted with it */
    int auto_delete; /* deleted when its last consumer goes */
    int prefetch;    /* unacknowledged deliveries at a time [64] */
    int events;      /* also accept bare published messages: a body that is not an
                        envelope is dispatched by its AMQP type as the method, with the
                        whole body (any JSON) as args, and expects no reply */
    struct wq *wq;   /* run handlers on this pool (and mq_req_worker_ctx() gives the
                        worker's context); NULL: on the I/O thread, where they must not
                        block */
};

/* Serves queue: declares it (opts), consumes it and dispatches by method
 * through handlers[0..n) (copied; ctx is passed to every handler). An
 * unknown method is answered with ENOSYS/501. Returns 0, a broker refusal
 * (as for mq_declare_queue(); the server is forgotten), or -ENOTCONN (kept:
 * it starts consuming on the next connection). -EEXIST when this mq already
 * serves queue. Blocks: not on the I/O thread. */
int mq_serve(struct mq *mq, const char *queue, const struct mq_handler *handlers, size_t n,
             const struct mq_serve_opts *opts, void *ctx, struct error *err);

/* Finish a request; after any of these req is gone. Any thread.
 * mq_reply: answers result (taken over; NULL: null). For a cast, only acks.
 * mq_reply_error: answers an error: errnum (positive errno; the sign is
 *   ignored), http_status (100..599, or 0: none), message (NULL: strerror),
 *   data (taken over; may be NULL).
 * mq_done: acks a cast; for a call it is mq_reply(req, NULL).
 * mq_reject: hands the delivery back to the broker without an answer:
 *   requeue 1 puts it back for another attempt (any consumer), 0 drops it
 *   (or dead-letters it, when the queue has a policy for that). */
void mq_reply(struct mq_req *req, cJSON *result);
void mq_reply_error(struct mq_req *req, int errnum, int http_status, const char *message,
                    cJSON *data);
void mq_done(struct mq_req *req);
void mq_reject(struct mq_req *req, int requeue);

/* What a handler may read about its request (valid until req is finished). */
const char *mq_req_method(const struct mq_req *req);
const char *mq_req_message_id(const struct mq_req *req); /* "" when the sender set none */
const char *mq_req_request_id(const struct mq_req *req); /* "" when none */
int64_t mq_req_deadline_ms(const struct mq_req *req);    /* Unix ms; 0: none */
int mq_req_expects_reply(const struct mq_req *req);      /* 1: a call; 0: a cast or event */
int mq_req_redelivered(const struct mq_req *req);        /* 1: the broker delivered it before */
void *mq_req_worker_ctx(const struct mq_req *req);       /* the wq worker's context, or NULL */

/* ---------------------------------------------------------------- metrics */

struct mq_stats {
    uint64_t connected;  /* gauge: 1 or 0 */
    uint64_t connects;   /* successful connections, the first included */
    uint64_t reconnects; /* connections after a loss */
    uint64_t connect_failures;
    uint64_t calls;           /* mq_call and mq_call_async accepted */
    uint64_t calls_in_flight; /* gauge */
    uint64_t calls_ok, calls_remote_error, calls_timeout, calls_unsent, calls_failed;
    uint64_t calls_resent; /* re-published after a reconnection or a return */
    uint64_t publishes;    /* casts and publications accepted */
    uint64_t publishes_failed;
    uint64_t requests;         /* deliveries dispatched to handlers */
    uint64_t replies;          /* requests finished with a result or done */
    uint64_t error_replies;    /* requests finished with an error (unknown method included) */
    uint64_t duplicates;       /* repeats answered or joined through the de-dup cache */
    uint64_t expired;          /* requests dropped because their deadline had passed */
    uint64_t malformed;        /* deliveries rejected as malformed */
    uint64_t requests_running; /* gauge: requests not yet finished */
};

/* Copies the counters (each read atomically). Any thread. */
void mq_stats_get(struct mq *mq, struct mq_stats *out);

#endif
