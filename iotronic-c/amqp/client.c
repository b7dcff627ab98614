/* amqp/client.c: calls (mq_call, mq_call_async) and their outcomes.
 *
 * The caller's thread validates the arguments and serialises the request;
 * the I/O thread publishes it, matches the reply by correlation id (which
 * is the message id, "<instance>.<seq>", so the lookup is by seq in a hash
 * table) and enforces the deadline with a timer. A blocking caller sleeps
 * on a semaphore and decodes the reply on its own thread, which keeps the
 * I/O thread's work per call small.
 *
 * The state of a call is in its counters: published (publishes so far, on
 * any connection), returned (basic.returns: unroutable, so certainly not
 * delivered) and sent_gen (the connection of the last publish). They decide
 * the error a call ends with when no reply comes (see call_expire()). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amqp/internal.h"
#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

#define RETURN_RETRY_MIN_US 50000 /* first re-publish after an unroutable return */
#define RETURN_RETRY_MAX_US 1000000

#define CALL_OF(p, field) ((struct call *)((char *)(p)-offsetof(struct call, field)))

/* ------------------------------------------------------------ the table */

static void table_grow(struct mq *mq)
{
    size_t n = mq->ncall_buckets ? mq->ncall_buckets * 2 : 256;
    struct call **b = xcalloc(n, sizeof(*b));

    for (size_t i = 0; i < mq->ncall_buckets; i++) {
        struct call *c = mq->calls[i], *next;

        for (; c != NULL; c = next) {
            next = c->hnext;
            c->hnext = b[c->seq & (n - 1)];
            b[c->seq & (n - 1)] = c;
        }
    }
    free(mq->calls);
    mq->calls = b;
    mq->ncall_buckets = n;
}

static void table_add(struct mq *mq, struct call *c)
{
    size_t k;

    if (mq->ncalls >= mq->ncall_buckets)
        table_grow(mq);
    k = c->seq & (mq->ncall_buckets - 1);
    c->hnext = mq->calls[k];
    mq->calls[k] = c;
    mq->ncalls++;
}

static struct call *table_find(struct mq *mq, uint64_t seq)
{
    struct call *c;

    if (mq->ncall_buckets == 0)
        return NULL;
    for (c = mq->calls[seq & (mq->ncall_buckets - 1)]; c != NULL; c = c->hnext)
        if (c->seq == seq)
            return c;
    return NULL;
}

static void table_del(struct mq *mq, struct call *c)
{
    struct call **pp = &mq->calls[c->seq & (mq->ncall_buckets - 1)];

    while (*pp != NULL && *pp != c)
        pp = &(*pp)->hnext;
    if (*pp == c) {
        *pp = c->hnext;
        mq->ncalls--;
    }
}

/* The seq of one of our ids, or 0 when id is not ours. */
static uint64_t parse_id(const struct mq *mq, const char *id)
{
    size_t plen = strlen(mq->idprefix);
    uint64_t seq = 0;
    const char *p;

    if (id == NULL || strncmp(id, mq->idprefix, plen) != 0 || id[plen] != '.')
        return 0;
    for (p = id + plen + 1; *p; p++) {
        if (*p < '0' || *p > '9' || seq > UINT64_MAX / 10 - 1)
            return 0;
        seq = seq * 10 + (uint64_t)(*p - '0');
    }
    return seq;
}

/* ------------------------------------------------------------- outcomes */

void mq_result_free(struct mq_result *res)
{
    if (res == NULL)
        return;
    cJSON_Delete(res->result);
    cJSON_Delete(res->remote_data);
    res->result = res->remote_data = NULL;
}

int mq_rc_unsent(int rc)
{
    return rc == -ENOTCONN || rc == -EHOSTUNREACH || rc == -ESHUTDOWN || rc == -EAGAIN;
}

static void count_outcome(struct mq *mq, int rc)
{
    if (rc == 0)
        ST_INC(mq, calls_ok);
    else if (rc == -EREMOTE)
        ST_INC(mq, calls_remote_error);
    else if (rc == -ETIMEDOUT)
        ST_INC(mq, calls_timeout);
    else if (mq_rc_unsent(rc))
        ST_INC(mq, calls_unsent);
    else
        ST_INC(mq, calls_failed);
}

/* Copies message into err, cut on a UTF-8 boundary to fit. */
static void set_remote_message(struct error *err, const char *message)
{
    size_t n = strlen(message);

    if (n >= ERROR_MSG_MAX) {
        n = ERROR_MSG_MAX - 1;
        while (n > 0 && ((unsigned char)message[n] & 0xc0) == 0x80)
            n--;
    }
    err->code = -EREMOTE;
    memcpy(err->msg, message, n);
    err->msg[n] = '\0';
}

/* Turns what the I/O thread got (rc, or a reply body) into *res. */
static void result_fill(struct mq *mq, struct mq_result *res, int rc, const struct error *err,
                        const char *reply, size_t len)
{
    struct mq_reply_env env;
    struct error perr;

    memset(res, 0, sizeof(*res));
    if (rc < 0) {
        res->rc = error_copy(&res->err, err);
    } else if (mq_env_reply_decode(reply, len, &env, &perr) < 0) {
        res->rc = error_set(&res->err, -EPROTO, "malformed reply: %s", perr.msg);
    } else if (env.ok) {
        res->result = cJSON_DetachItemViaPointer(env.root, (cJSON *)env.result);
        mq_env_reply_clear(&env);
    } else {
        res->rc = -EREMOTE;
        res->remote_errno = env.errnum;
        res->remote_status = env.status;
        set_remote_message(&res->err, env.message);
        if (env.data)
            res->remote_data = cJSON_DetachItemViaPointer(
                cJSON_GetObjectItemCaseSensitive(env.root, "error"), (cJSON *)env.data);
        mq_env_reply_clear(&env);
    }
    count_outcome(mq, res->rc);
}

static void call_free(struct call *c)
{
    free(c->queue);
    free(c->body);
    free(c->reply);
    free(c);
}

/* Ends c with rc (and err), or with the reply body (rc 0; taken over).
 * Afterwards c is gone (freed, or handed back to its blocked caller). */
static void call_complete(struct mq *mq, struct call *c, int rc, const struct error *err,
                          char *reply, size_t len)
{
    struct mq_result res;

    table_del(mq, c);
    mq_timer_cancel(&mq->timers, &c->timer);
    ST_DEC(mq, calls_in_flight);
    if (c->sw != NULL) {
        c->rc = rc;
        if (err)
            error_copy(&c->err, err);
        c->reply = reply;
        c->reply_len = len;
        sem_post(&c->sw->sem); /* c belongs to the caller from here on */
        return;
    }
    result_fill(mq, &res, rc, err, reply, len);
    free(reply);
    c->cb(&res, c->arg);
    mq_result_free(&res);
    call_free(c);
}

/* ----------------------------------------------------------- publishing */

static void call_publish(struct mq *mq, struct call *c, int64_t now)
{
    amqp_basic_properties_t p;
    char expiration[24];
    int64_t left_ms = (c->deadline_us - now + 999) / 1000;

    snprintf(expiration, sizeof(expiration), "%" PRId64, left_ms > 0 ? left_ms : 1);
    memset(&p, 0, sizeof(p));
    p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
               AMQP_BASIC_CORRELATION_ID_FLAG | AMQP_BASIC_REPLY_TO_FLAG |
               AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TYPE_FLAG | AMQP_BASIC_EXPIRATION_FLAG;
    p.content_type = amqp_cstring_bytes("application/json");
    p.delivery_mode = AMQP_DELIVERY_NONPERSISTENT;
    p.correlation_id = amqp_cstring_bytes(c->id);
    p.message_id = p.correlation_id;
    p.reply_to = amqp_cstring_bytes("amq.rabbitmq.reply-to");
    p.type = amqp_cstring_bytes(c->method);
    p.expiration = amqp_cstring_bytes(expiration);
    /* Mandatory: an unroutable call comes back (basic.return) instead of
     * vanishing, so that "no server" is told apart from "no answer". */
    if (mq_send_check(mq,
                      amqp_basic_publish(mq->conn, CH_MAIN, amqp_empty_bytes,
                                         amqp_cstring_bytes(c->queue), 1, 0, &p,
                                         (amqp_bytes_t){c->len, c->body}),
                      "publish call") < 0)
        return; /* the call stays; it is re-sent on the next connection */
    if (c->published)
        ST_INC(mq, calls_resent);
    c->published++;
    c->sent_gen = mq->gen;
}

static void call_arm(struct mq *mq, struct call *c)
{
    int64_t at = c->deadline_us;
    int64_t give_up = c->submit_us + (int64_t)mq->o.connect_wait_ms * 1000;
    int unsent = c->published == 0;
    int unroutable = c->published > 0 && c->returned == c->published;

    if ((unsent || unroutable) && give_up < at)
        at = give_up;
    if (c->retry_us && c->retry_us < at)
        at = c->retry_us;
    mq_timer_set(&mq->timers, &c->timer, at);
}

/* No reply, and no more waiting: say what is known of the request. */
static void call_expire(struct mq *mq, struct call *c)
{
    struct error e;

    if (c->published == 0) {
        pthread_mutex_lock(&mq->lock);
        error_set(&e, -ENOTCONN, "not connected to the broker (%s)",
                  mq->last_err.code ? mq->last_err.msg : "connecting");
        pthread_mutex_unlock(&mq->lock);
    } else if (c->returned == c->published) {
        error_set(&e, -EHOSTUNREACH, "no queue '%s' on the broker: no server for it", c->queue);
    } else {
        error_set(&e, -ETIMEDOUT, "no reply from '%s' for %s within %d ms", c->queue, c->method,
                  c->timeout_ms);
    }
    call_complete(mq, c, e.code, &e, NULL, 0);
}

static void call_timer_fire(struct mq *mq, struct timer *t, int64_t now)
{
    struct call *c = CALL_OF(t, timer);
    int unsent = c->published == 0;
    int unroutable = c->published > 0 && c->returned == c->published;

    if (now >= c->deadline_us ||
        ((unsent || unroutable) && now >= c->submit_us + (int64_t)mq->o.connect_wait_ms * 1000)) {
        call_expire(mq, c);
        return;
    }
    if (c->retry_us && now >= c->retry_us && mq->state == CONN_UP) {
        c->retry_us = 0;
        call_publish(mq, c, now);
    }
    call_arm(mq, c);
}

/* ------------------------------------------------------- I/O-thread side */

void mq_client_op(struct mq *mq, struct op *op)
{
    struct call *c = CALL_OF(op, op);

    table_add(mq, c);
    if (mq->state == CONN_UP)
        call_publish(mq, c, time_mono_us());
    call_arm(mq, c);
}

void mq_client_fail_op(struct mq *mq, struct op *op, int rc, const char *why)
{
    struct call *c = CALL_OF(op, op);
    struct error e;

    error_set(&e, rc, "%s", why);
    call_complete(mq, c, rc, &e, NULL, 0); /* never in the table: table_del finds nothing */
}

void mq_client_on_connected(struct mq *mq)
{
    int64_t now = time_mono_us();

    for (size_t i = 0; i < mq->ncall_buckets && mq->state == CONN_UP; i++) {
        for (struct call *c = mq->calls[i]; c != NULL && mq->state == CONN_UP; c = c->hnext) {
            if (c->sent_gen == mq->gen)
                continue;
            /* Re-send with the same message id: a server that already ran
             * it answers from its de-duplication cache. */
            c->retry_us = 0;
            call_publish(mq, c, now);
            call_arm(mq, c);
        }
    }
}

void mq_client_on_reply(struct mq *mq, struct inmsg *m)
{
    struct call *c = table_find(mq, parse_id(mq, m->corr));
    struct error e;
    char *body;

    if (c == NULL) {
        /* A second answer (the original and a re-sent copy both ran, or
         * the cache answered twice) or one after the deadline. */
        log_debug("amqp: reply for an unknown or finished call %s", m->corr ? m->corr : "-");
        return;
    }
    if (m->oversize) {
        error_set(&e, -EMSGSIZE, "reply of %zu bytes is larger than %zu", m->size,
                  mq->o.max_message);
        call_complete(mq, c, e.code, &e, NULL, 0);
        return;
    }
    body = m->body;
    m->body = NULL;
    call_complete(mq, c, 0, NULL, body, m->size);
}

void mq_client_on_return(struct mq *mq, struct inmsg *m)
{
    struct call *c = table_find(mq, parse_id(mq, m->corr));
    int64_t delay;
    unsigned shift;

    if (c == NULL)
        return;
    c->returned++;
    /* The queue may be missing only for a moment (its server is
     * re-declaring it after a broker restart): publish again, backing off. */
    shift = c->returned < 6 ? c->returned - 1 : 5;
    delay = RETURN_RETRY_MIN_US << shift;
    if (delay > RETURN_RETRY_MAX_US)
        delay = RETURN_RETRY_MAX_US;
    c->retry_us = time_mono_us() + delay;
    call_arm(mq, c);
}

void mq_client_shutdown(struct mq *mq)
{
    struct error e;

    for (size_t i = 0; i < mq->ncall_buckets; i++) {
        while (mq->calls[i] != NULL) {
            struct call *c = mq->calls[i];

            if (c->published)
                error_set(&e, -ETIMEDOUT, "shutting down before '%s' answered", c->queue);
            else
                error_set(&e, -ESHUTDOWN, "shutting down");
            call_complete(mq, c, e.code, &e, NULL, 0);
        }
    }
}

/* ------------------------------------------------------------ callers */

static int check_name(const char *what, const char *s, struct error *err)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > MQ_NAME_MAX)
        return error_set(err, -EINVAL, "%s must be 1..%d bytes", what, MQ_NAME_MAX);
    return 0;
}

static int call_new(struct mq *mq, const char *queue, const char *method, const cJSON *args,
                    int timeout_ms, struct call **out, struct error *err)
{
    int64_t deadline_ms;
    struct call *c;
    uint64_t seq;

    if (check_name("queue", queue, err) < 0)
        return -EINVAL;
    if (method == NULL || !mq_env_method_ok(method))
        return error_set(err, -EINVAL, "bad method name");
    if (args != NULL && !cJSON_IsObject(args))
        return error_set(err, -EINVAL, "args must be a JSON object");
    if (timeout_ms <= 0)
        return error_set(err, -EINVAL, "timeout must be positive");
    if (atomic_load_explicit(&mq->st.calls_in_flight, memory_order_relaxed) >= mq->o.max_in_flight)
        return error_set(err, -EAGAIN, "too many calls in flight (%zu)", mq->o.max_in_flight);
    c = xcalloc(1, sizeof(*c));
    c->op.kind = OP_CALL;
    c->timer.fire = call_timer_fire;
    seq = atomic_fetch_add_explicit(&mq->next_seq, 1, memory_order_relaxed);
    c->seq = seq;
    snprintf(c->id, sizeof(c->id), "%s.%" PRIu64, mq->idprefix, seq);
    snprintf(c->method, sizeof(c->method), "%s", method);
    c->queue = xstrdup(queue);
    c->timeout_ms = timeout_ms;
    deadline_ms = time_now_us() / 1000 + timeout_ms;
    c->body = mq_env_request_encode(method, args, log_request_id(), deadline_ms, &c->len);
    if (c->len > mq->o.max_message) {
        call_free(c);
        return error_set(err, -E2BIG, "request larger than %zu bytes", mq->o.max_message);
    }
    c->submit_us = time_mono_us();
    c->deadline_us = c->submit_us + (int64_t)timeout_ms * 1000;
    *out = c;
    return 0;
}

int mq_call_async(struct mq *mq, const char *queue, const char *method, const cJSON *args,
                  int timeout_ms, mq_call_cb cb, void *arg, struct error *err)
{
    struct call *c;
    int rc;

    rc = call_new(mq, queue, method, args, timeout_ms, &c, err);
    if (rc < 0)
        return rc;
    c->cb = cb;
    c->arg = arg;
    ST_INC(mq, calls);
    ST_INC(mq, calls_in_flight);
    if (mq_submit(mq, &c->op) < 0) {
        ST_DEC(mq, calls_in_flight);
        call_free(c);
        return error_set(err, -ESHUTDOWN, "the AMQP connection is shut down");
    }
    return 0;
}

int mq_call(struct mq *mq, const char *queue, const char *method, const cJSON *args, int timeout_ms,
            struct mq_result *res)
{
    struct sync_wait sw;
    struct call *c;

    memset(res, 0, sizeof(*res));
    if (mq_on_io_thread(mq))
        return res->rc = error_set(&res->err, -EDEADLK, "mq_call() on the AMQP I/O thread");
    if (call_new(mq, queue, method, args, timeout_ms, &c, &res->err) < 0)
        return res->rc = res->err.code;
    sync_wait_init(&sw);
    c->sw = &sw;
    ST_INC(mq, calls);
    ST_INC(mq, calls_in_flight);
    if (mq_submit(mq, &c->op) < 0) {
        ST_DEC(mq, calls_in_flight);
        call_free(c);
        sem_destroy(&sw.sem);
        return res->rc = error_set(&res->err, -ESHUTDOWN, "the AMQP connection is shut down");
    }
    while (sem_wait(&sw.sem) != 0)
        ; /* EINTR only */
    sem_destroy(&sw.sem);
    result_fill(mq, res, c->rc, &c->err, c->reply, c->reply_len);
    call_free(c);
    return res->rc;
}
