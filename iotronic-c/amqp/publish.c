/* amqp/publish.c: casts and publications, with publisher confirms.
 *
 * Everything here goes out on CH_PUB, which is in confirm mode: the broker
 * numbers the messages of the channel 1, 2, 3... (mq->pub_tag follows) and
 * acks or nacks them, possibly several at once ("multiple"). A publication
 * that wants its confirm (MQ_CONFIRM) waits on the unconfirmed list, which
 * is in tag order; the others are complete once written.
 *
 * Lists: "unsent" holds publications waiting for a connection (new ones,
 * and MQ_CONFIRM ones whose connection was lost before the confirm: they are
 * published again, with the same message id, on the next connection);
 * "unconfirmed" holds the published MQ_CONFIRM ones. Each has one timer:
 * connect_wait_ms from submission while never published, then the confirm
 * deadline (confirm_timeout_ms from the first publish). */
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

#define PUB_OF(p, field) ((struct pub *)((char *)(p)-offsetof(struct pub, field)))

static void pub_free(struct pub *p)
{
    free(p->exchange);
    free(p->rk);
    free(p->type);
    free(p->body);
    free(p);
}

static void list_push(struct pub **head, struct pub **tail, struct pub *p)
{
    p->next = NULL;
    if (*tail)
        (*tail)->next = p;
    else
        *head = p;
    *tail = p;
}

/* Unlinks p if it is on the list; 1 when it was. */
static int list_remove(struct pub **head, struct pub **tail, struct pub *p)
{
    struct pub *prev = NULL;

    for (struct pub *q = *head; q != NULL; prev = q, q = q->next) {
        if (q != p)
            continue;
        if (prev)
            prev->next = q->next;
        else
            *head = q->next;
        if (*tail == q)
            *tail = prev;
        q->next = NULL;
        return 1;
    }
    return 0;
}

/* Ends p. Afterwards p is gone (freed, or handed back to its blocked caller). */
static void pub_complete(struct mq *mq, struct pub *p, int rc, const struct error *err)
{
    mq_timer_cancel(&mq->timers, &p->timer);
    if (rc < 0)
        ST_INC(mq, publishes_failed);
    if (p->sw != NULL) {
        sync_wait_post(p->sw, rc, err);
        return;
    }
    if (p->cb != NULL)
        p->cb(rc, err, p->arg);
    else if (rc < 0)
        log_warn("amqp: message %s to '%s' '%s' dropped: %s", p->id, p->exchange, p->rk,
                 err ? err->msg : strerror(-rc));
    pub_free(p);
}

static void pub_arm(struct mq *mq, struct pub *p)
{
    int64_t at =
        p->deadline_us ? p->deadline_us : p->submit_us + (int64_t)mq->o.connect_wait_ms * 1000;

    mq_timer_set(&mq->timers, &p->timer, at);
}

/* Writes p on CH_PUB. On a lost connection p goes back to "unsent". */
static void pub_send(struct mq *mq, struct pub *p, int64_t now)
{
    amqp_basic_properties_t props;
    int st;

    memset(&props, 0, sizeof(props));
    props._flags =
        AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.delivery_mode =
        (p->flags & MQ_PERSISTENT) ? AMQP_DELIVERY_PERSISTENT : AMQP_DELIVERY_NONPERSISTENT;
    props.message_id = amqp_cstring_bytes(p->id);
    if (p->type) {
        props._flags |= AMQP_BASIC_TYPE_FLAG;
        props.type = amqp_cstring_bytes(p->type);
    }
    p->returned = 0;
    st = amqp_basic_publish(mq->conn, CH_PUB, amqp_cstring_bytes(p->exchange),
                            amqp_cstring_bytes(p->rk), (p->flags & MQ_MANDATORY) ? 1 : 0, 0, &props,
                            (amqp_bytes_t){p->len, p->body});
    if (mq_send_check(mq, st, "publish") < 0) {
        list_push(&mq->unsent_head, &mq->unsent_tail, p);
        pub_arm(mq, p);
        return;
    }
    p->tag = ++mq->pub_tag;
    p->sent_gen = mq->gen;
    if (!(p->flags & MQ_CONFIRM)) {
        pub_complete(mq, p, 0, NULL);
        return;
    }
    if (p->deadline_us == 0)
        p->deadline_us = now + (int64_t)mq->o.confirm_timeout_ms * 1000;
    list_push(&mq->unconf_head, &mq->unconf_tail, p);
    pub_arm(mq, p);
}

static void pub_timer_fire(struct mq *mq, struct timer *t, int64_t now)
{
    struct pub *p = PUB_OF(t, timer);
    struct error e;

    (void)now;
    if (list_remove(&mq->unconf_head, &mq->unconf_tail, p) || p->deadline_us) {
        list_remove(&mq->unsent_head, &mq->unsent_tail, p);
        error_set(&e, -ETIMEDOUT, "no confirm from the broker within %d ms",
                  mq->o.confirm_timeout_ms);
    } else {
        list_remove(&mq->unsent_head, &mq->unsent_tail, p);
        pthread_mutex_lock(&mq->lock);
        error_set(&e, -ENOTCONN, "not connected to the broker (%s)",
                  mq->last_err.code ? mq->last_err.msg : "connecting");
        pthread_mutex_unlock(&mq->lock);
    }
    pub_complete(mq, p, e.code, &e);
}

void mq_pub_op(struct mq *mq, struct op *op)
{
    struct pub *p = PUB_OF(op, op);

    if (mq->state == CONN_UP) {
        pub_send(mq, p, time_mono_us());
        return;
    }
    list_push(&mq->unsent_head, &mq->unsent_tail, p);
    pub_arm(mq, p);
}

void mq_pub_fail_op(struct mq *mq, struct op *op, int rc, const char *why)
{
    struct error e;

    error_set(&e, rc, "%s", why);
    pub_complete(mq, PUB_OF(op, op), rc, &e);
}

void mq_pub_on_connected(struct mq *mq)
{
    struct pub *p = mq->unsent_head, *next;
    int64_t now = time_mono_us();

    mq->unsent_head = mq->unsent_tail = NULL;
    for (; p != NULL; p = next) {
        next = p->next;
        if (mq->state == CONN_UP) {
            pub_send(mq, p, now);
        } else {
            list_push(&mq->unsent_head, &mq->unsent_tail, p);
        }
    }
}

void mq_pub_on_lost(struct mq *mq)
{
    struct pub *p = mq->unconf_head, *next;

    /* Unknown fate: publish again on the next connection. A consumer that
     * got the first copy recognises the message id. */
    mq->unconf_head = mq->unconf_tail = NULL;
    for (; p != NULL; p = next) {
        next = p->next;
        list_push(&mq->unsent_head, &mq->unsent_tail, p);
    }
    mq->pub_tag = 0;
}

void mq_pub_on_ack(struct mq *mq, uint64_t tag, int multiple, int ack)
{
    struct pub *p = mq->unconf_head, *next;
    struct error e;

    for (; p != NULL && p->tag <= tag; p = next) {
        next = p->next;
        if (!multiple && p->tag != tag)
            continue;
        list_remove(&mq->unconf_head, &mq->unconf_tail, p);
        if (!ack)
            pub_complete(mq, p, error_set(&e, -EIO, "the broker refused message %s (nack)", p->id),
                         &e);
        else if (p->returned)
            pub_complete(mq, p,
                         error_set(&e, -EHOSTUNREACH, "no queue took message %s (%s '%s')", p->id,
                                   p->exchange[0] ? "exchange" : "queue",
                                   p->exchange[0] ? p->exchange : p->rk),
                         &e);
        else
            pub_complete(mq, p, 0, NULL);
    }
}

void mq_pub_on_return(struct mq *mq, struct inmsg *m)
{
    /* The broker sends basic.return before the ack of the same message. */
    for (struct pub *p = mq->unconf_head; p != NULL; p = p->next) {
        if (m->msg_id && strcmp(p->id, m->msg_id) == 0) {
            p->returned = 1;
            return;
        }
    }
}

void mq_pub_on_channel_closed(struct mq *mq, int rc, const char *why)
{
    struct pub *p = mq->unconf_head, *next;
    struct error e;

    /* The broker discards whatever followed the offending message on the
     * channel, and we cannot tell which one offended: all of them fail. */
    mq->unconf_head = mq->unconf_tail = NULL;
    error_set(&e, rc, "%s", why);
    for (; p != NULL; p = next) {
        next = p->next;
        pub_complete(mq, p, rc, &e);
    }
    mq->pub_tag = 0;
}

int mq_pub_pending(const struct mq *mq)
{
    return mq->unsent_head != NULL || mq->unconf_head != NULL;
}

void mq_pub_shutdown(struct mq *mq)
{
    struct error e;

    while (mq->unconf_head) {
        struct pub *p = mq->unconf_head;

        mq->unconf_head = p->next;
        error_set(&e, -ETIMEDOUT, "shutting down before the broker confirmed %s", p->id);
        pub_complete(mq, p, e.code, &e);
    }
    mq->unconf_tail = NULL;
    while (mq->unsent_head) {
        struct pub *p = mq->unsent_head;

        mq->unsent_head = p->next;
        error_set(&e, p->deadline_us ? -ETIMEDOUT : -ESHUTDOWN, "shutting down");
        pub_complete(mq, p, e.code, &e);
    }
    mq->unsent_tail = NULL;
}

/* ------------------------------------------------------------ callers */

static int pub_new(struct mq *mq, const char *exchange, const char *rk, const char *type,
                   char *body, size_t len, unsigned flags, struct pub **out, struct error *err)
{
    struct pub *p;

    if (strlen(exchange) > MQ_NAME_MAX || strlen(rk) > MQ_NAME_MAX ||
        (type && strlen(type) > MQ_NAME_MAX)) {
        free(body);
        return error_set(err, -EINVAL, "exchange, routing key and type are at most %d bytes",
                         MQ_NAME_MAX);
    }
    if (len > mq->o.max_message) {
        free(body);
        return error_set(err, -E2BIG, "message larger than %zu bytes", mq->o.max_message);
    }
    p = xcalloc(1, sizeof(*p));
    p->op.kind = OP_PUB;
    p->timer.fire = pub_timer_fire;
    p->exchange = xstrdup(exchange);
    p->rk = xstrdup(rk);
    p->type = type ? xstrdup(type) : NULL;
    p->body = body;
    p->len = len;
    p->flags = flags;
    p->submit_us = time_mono_us();
    snprintf(p->id, sizeof(p->id), "%s.%" PRIu64, mq->idprefix,
             atomic_fetch_add_explicit(&mq->next_seq, 1, memory_order_relaxed));
    *out = p;
    return 0;
}

/* Submits p; waits for its outcome when it has a sync_wait. */
static int pub_go(struct mq *mq, struct pub *p, struct error *err)
{
    int sync = (p->flags & MQ_CONFIRM) && p->cb == NULL;
    struct sync_wait sw;
    int rc;

    if (sync && mq_on_io_thread(mq)) {
        pub_free(p);
        return error_set(err, -EDEADLK, "a confirmed publish on the AMQP I/O thread");
    }
    if (sync) {
        sync_wait_init(&sw);
        p->sw = &sw;
    }
    ST_INC(mq, publishes);
    if (mq_submit(mq, &p->op) < 0) {
        if (sync)
            sem_destroy(&sw.sem);
        pub_free(p);
        return error_set(err, -ESHUTDOWN, "the AMQP connection is shut down");
    }
    if (!sync)
        return 0; /* p may already be gone */
    rc = sync_wait_wait(&sw, err);
    pub_free(p);
    return rc;
}

static int cast_new(struct mq *mq, const char *queue, const char *method, const cJSON *args,
                    unsigned flags, struct pub **out, struct error *err)
{
    size_t len;
    char *body;

    if (queue == NULL || queue[0] == '\0')
        return error_set(err, -EINVAL, "queue must not be empty");
    if (method == NULL || !mq_env_method_ok(method))
        return error_set(err, -EINVAL, "bad method name");
    if (args != NULL && !cJSON_IsObject(args))
        return error_set(err, -EINVAL, "args must be a JSON object");
    if (flags & MQ_CONFIRM)
        flags |= MQ_MANDATORY; /* a cast to a missing queue is an error, not a no-op */
    body = mq_env_request_encode(method, args, log_request_id(), 0, &len);
    return pub_new(mq, "", queue, method, body, len, flags, out, err);
}

int mq_cast(struct mq *mq, const char *queue, const char *method, const cJSON *args, unsigned flags,
            struct error *err)
{
    struct pub *p;
    int rc = cast_new(mq, queue, method, args, flags, &p, err);

    return rc < 0 ? rc : pub_go(mq, p, err);
}

int mq_cast_async(struct mq *mq, const char *queue, const char *method, const cJSON *args,
                  unsigned flags, mq_done_cb cb, void *arg, struct error *err)
{
    struct pub *p;
    int rc = cast_new(mq, queue, method, args, flags, &p, err);

    if (rc < 0)
        return rc;
    p->cb = cb;
    p->arg = arg;
    return pub_go(mq, p, err);
}

static int publish_new(struct mq *mq, const char *exchange, const char *routing_key,
                       const char *type, const cJSON *body, unsigned flags, struct pub **out,
                       struct error *err)
{
    char *text;

    if (exchange == NULL || routing_key == NULL || body == NULL)
        return error_set(err, -EINVAL, "exchange, routing key and body are required");
    text = json_print(body);
    return pub_new(mq, exchange, routing_key, type, text, strlen(text), flags, out, err);
}

int mq_publish(struct mq *mq, const char *exchange, const char *routing_key, const char *type,
               const cJSON *body, unsigned flags, struct error *err)
{
    struct pub *p;
    int rc = publish_new(mq, exchange, routing_key, type, body, flags, &p, err);

    return rc < 0 ? rc : pub_go(mq, p, err);
}

int mq_publish_async(struct mq *mq, const char *exchange, const char *routing_key, const char *type,
                     const cJSON *body, unsigned flags, mq_done_cb cb, void *arg, struct error *err)
{
    struct pub *p;
    int rc = publish_new(mq, exchange, routing_key, type, body, flags, &p, err);

    if (rc < 0)
        return rc;
    p->cb = cb;
    p->arg = arg;
    return pub_go(mq, p, err);
}
