/* amqp/reply.c: finishing requests (mq_reply and friends) and answering.
 *
 * The finishing thread serialises the reply, then hands the request to the
 * I/O thread (directly when it is the I/O thread), which publishes the
 * reply, acknowledges the delivery, answers the twins that waited on the
 * de-duplication entry and stores the reply there for later repeats.
 *
 * A reply that cannot be published because the connection is down is kept
 * (bounded, for PENDING_REPLY_TTL_US) and published after the reconnection:
 * the caller may still be listening on its reply-to if only our connection
 * broke. Duplicates this may cause are dropped by the caller, which knows
 * only one answer per call. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "amqp/internal.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

#define PENDING_REPLY_TTL_US (60 * 1000000LL)

/* ------------------------------------------------------------ publishing */

static void preply_free(struct pending_reply *pr)
{
    free(pr->reply_to);
    free(pr->corr);
    free(pr->body);
    free(pr);
}

static void keep_pending(struct mq *mq, const char *reply_to, const char *corr, const char *body,
                         size_t len)
{
    struct pending_reply *pr;

    if (mq->npreplies >= mq->o.dedup_entries && mq->preplies) {
        pr = mq->preplies;
        mq->preplies = pr->next;
        if (mq->preplies == NULL)
            mq->preplies_tail = NULL;
        mq->npreplies--;
        preply_free(pr);
    }
    pr = xcalloc(1, sizeof(*pr));
    pr->reply_to = xstrdup(reply_to);
    pr->corr = corr ? xstrdup(corr) : NULL;
    pr->body = xmalloc(len + 1);
    memcpy(pr->body, body, len);
    pr->len = len;
    pr->expires_us = time_mono_us() + PENDING_REPLY_TTL_US;
    if (mq->preplies_tail)
        mq->preplies_tail->next = pr;
    else
        mq->preplies = pr;
    mq->preplies_tail = pr;
    mq->npreplies++;
}

void mq_send_reply(struct mq *mq, const char *reply_to, const char *corr, const char *body,
                   size_t len)
{
    amqp_basic_properties_t p;
    int st;

    if (mq->state == CONN_UP) {
        memset(&p, 0, sizeof(p));
        p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
        p.content_type = amqp_cstring_bytes("application/json");
        p.delivery_mode = AMQP_DELIVERY_NONPERSISTENT;
        if (corr) {
            p._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
            p.correlation_id = amqp_cstring_bytes(corr);
        }
        st = amqp_basic_publish(mq->conn, CH_MAIN, amqp_empty_bytes, amqp_cstring_bytes(reply_to),
                                0, 0, &p, (amqp_bytes_t){len, (void *)body});
        if (mq_send_check(mq, st, "publish reply") == 0)
            return;
    }
    keep_pending(mq, reply_to, corr, body, len);
}

void mq_server_on_connected(struct mq *mq)
{
    struct pending_reply *pr = mq->preplies, *next;
    int64_t now = time_mono_us();

    mq->preplies = mq->preplies_tail = NULL;
    mq->npreplies = 0;
    for (; pr != NULL; pr = next) {
        next = pr->next;
        if (now < pr->expires_us)
            mq_send_reply(mq, pr->reply_to, pr->corr, pr->body, pr->len);
        preply_free(pr);
    }
}

/* ------------------------------------------------------------- finishing */

/* Acks or rejects a delivery, if it is from the live connection: an older
 * one has been requeued by the broker already. */
static void settle(struct mq *mq, uint64_t gen, uint64_t tag, enum finish_kind fin)
{
    int st;

    if (gen != mq->gen || mq->state != CONN_UP)
        return;
    if (fin == FIN_REPLY || fin == FIN_DROP)
        st = amqp_basic_ack(mq->conn, CH_MAIN, tag, 0);
    else
        st = amqp_basic_reject(mq->conn, CH_MAIN, tag, fin == FIN_REQUEUE);
    mq_send_check(mq, st, "settle delivery");
}

static void answer_waiters(struct mq *mq, struct waiter *w, const struct mq_req *req)
{
    struct waiter *next;

    for (; w != NULL; w = next) {
        next = w->next;
        if (req->fin == FIN_REPLY && w->reply_to && req->reply)
            mq_send_reply(mq, w->reply_to, w->corr, req->reply, req->reply_len);
        settle(mq, w->gen, w->tag, req->fin);
        free(w->reply_to);
        free(w->corr);
        free(w);
    }
}

static void count(struct mq *mq, const struct mq_req *req)
{
    if (req->is_error)
        ST_INC(mq, error_replies);
    else if (req->h != NULL && req->fin == FIN_REPLY)
        ST_INC(mq, replies);
}

void mq_req_finish(struct mq *mq, struct mq_req *req)
{
    struct mq_dedup_entry *dd = req->dd;

    if (req->reply_to && req->reply)
        mq_send_reply(mq, req->reply_to, req->corr, req->reply, req->reply_len);
    settle(mq, req->gen, req->tag, req->fin);
    if (dd != NULL) {
        struct waiter *w = dd->waiters;

        dd->waiters = NULL;
        answer_waiters(mq, w, req);
        if (req->fin == FIN_REPLY && !req->no_cache) {
            mq_dedup_complete(req->srv->dedup, dd, req->reply, req->reply_len, time_mono_us());
            req->reply = NULL;
        } else {
            mq_dedup_remove(req->srv->dedup, dd);
        }
    }
    count(mq, req);
    mq->running--;
    ST_DEC(mq, requests_running);
    mq_req_free(req);
    mq_unref(mq);
}

void mq_server_finish_op(struct mq *mq, struct op *op)
{
    mq_req_finish(mq, (struct mq_req *)((char *)op - offsetof(struct mq_req, op)));
}

void mq_req_free(struct mq_req *req)
{
    mq_env_request_clear(&req->env);
    free(req->reply_to);
    free(req->corr);
    free(req->msg_id);
    free(req->event_method);
    free(req->reply);
    free(req);
}

void mq_submit_finish(struct mq_req *req)
{
    struct mq *mq = req->mq;

    /* The handler is done with args: release the tree on this thread. */
    mq_env_request_clear(&req->env);
    if (mq_on_io_thread(mq)) {
        mq_req_finish(mq, req);
        return;
    }
    if (mq_submit(mq, &req->op) < 0) {
        /* mq_free() has finished: nobody to answer through any more. */
        ST_DEC(mq, requests_running);
        mq_req_free(req);
        mq_unref(mq);
    }
}

/* ------------------------------------------------------------ the API */

void mq_reply(struct mq_req *req, cJSON *result)
{
    if (req->reply_to) {
        req->reply = mq_env_reply_ok(result, &req->reply_len);
        if (req->reply_len > req->mq->o.max_message) {
            log_error("amqp: reply to %s of %zu bytes is larger than %zu; answering an error",
                      req->env.method, req->reply_len, req->mq->o.max_message);
            free(req->reply);
            req->reply = mq_env_reply_error(E2BIG, 500, "reply too large", NULL, &req->reply_len);
            req->is_error = 1;
        }
    }
    cJSON_Delete(result);
    req->fin = FIN_REPLY;
    mq_submit_finish(req);
}

void mq_reply_error(struct mq_req *req, int errnum, int http_status, const char *message,
                    cJSON *data)
{
    if (req->reply_to)
        req->reply = mq_env_reply_error(errnum, http_status, message, data, &req->reply_len);
    cJSON_Delete(data);
    req->is_error = 1;
    /* 503 promises that nothing was applied: a repeat must run, not get
     * this answer from the cache. */
    req->no_cache = http_status == 503;
    req->fin = FIN_REPLY;
    mq_submit_finish(req);
}

void mq_done(struct mq_req *req)
{
    mq_reply(req, NULL);
}

void mq_reject(struct mq_req *req, int requeue)
{
    req->fin = requeue ? FIN_REQUEUE : FIN_REJECT;
    mq_submit_finish(req);
}

const char *mq_req_method(const struct mq_req *req)
{
    return req->env.method ? req->env.method : "";
}

const char *mq_req_message_id(const struct mq_req *req)
{
    return req->msg_id ? req->msg_id : "";
}

const char *mq_req_request_id(const struct mq_req *req)
{
    return req->env.request_id ? req->env.request_id : "";
}

int64_t mq_req_deadline_ms(const struct mq_req *req)
{
    return req->env.deadline_ms;
}

int mq_req_expects_reply(const struct mq_req *req)
{
    return req->reply_to != NULL;
}

int mq_req_redelivered(const struct mq_req *req)
{
    return req->redelivered;
}

void *mq_req_worker_ctx(const struct mq_req *req)
{
    return req->worker_ctx;
}
