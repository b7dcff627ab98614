/* amqp/server.c: mq_serve(), and what happens to a delivery until its
 * handler runs.
 *
 * A delivery becomes a struct mq_req at once; from then on exactly one
 * mq_req_finish() ends it (amqp/reply.c), whatever happens: refused as
 * malformed, dropped as expired, answered from the de-duplication cache,
 * joined to a running twin, or run by its handler. Until then it counts in
 * mq->running (mq_free() waits for it) and holds a reference on the mq.
 *
 * Servers are never removed while the I/O thread runs (mq_serve has no
 * undo), so a request may keep a pointer to its server; after the thread's
 * exit a request only frees itself. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amqp/internal.h"
#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/wq.h"
#include "common/xalloc.h"

#define SRV_OF(p) ((struct server *)((char *)(p)-offsetof(struct server, op)))

static int handler_cmp(const void *a, const void *b)
{
    return strcmp(((const struct handler_entry *)a)->method,
                  ((const struct handler_entry *)b)->method);
}

static const struct handler_entry *find_handler(const struct server *s, const char *method)
{
    struct handler_entry key = {.method = (char *)method};

    return bsearch(&key, s->handlers, s->nhandlers, sizeof(key), handler_cmp);
}

static struct server *find_server(struct mq *mq, const char *tag)
{
    for (struct server *s = mq->servers; s != NULL; s = s->next)
        if (strcmp(s->tag, tag) == 0)
            return s;
    return NULL;
}

static void server_free(struct server *s)
{
    for (size_t i = 0; i < s->nhandlers; i++)
        free(s->handlers[i].method);
    free(s->handlers);
    free(s->queue);
    mq_dedup_free(s->dedup);
    free(s);
}

/* ------------------------------------------------------------- consumers */

static int server_setup(struct mq *mq, struct server *s, struct error *err)
{
    unsigned flags = (s->opts.durable ? MQ_DURABLE : 0) | (s->opts.exclusive ? MQ_EXCLUSIVE : 0) |
                     (s->opts.auto_delete ? MQ_AUTO_DELETE : 0);
    int rc;

    rc = mq_declare_queue_now(mq, s->queue, flags, err);
    if (rc < 0)
        return error_prefix(err, "serve '%s'", s->queue);
    /* global = 0: RabbitMQ applies the limit to each consumer created
     * afterwards on the channel, i.e. to this one. */
    amqp_basic_qos(mq->conn, CH_MAIN, 0, (uint16_t)s->opts.prefetch, 0);
    rc = mq_rpc_check(mq, CH_MAIN, "basic.qos", err);
    if (rc < 0)
        return rc;
    amqp_basic_consume(mq->conn, CH_MAIN, amqp_cstring_bytes(s->queue), amqp_cstring_bytes(s->tag),
                       0, 0, 0, amqp_empty_table);
    rc = mq_rpc_check(mq, CH_MAIN, "basic.consume", err);
    if (rc < 0)
        return error_prefix(err, "serve '%s'", s->queue);
    s->consuming_gen = mq->gen;
    return 0;
}

int mq_server_setup_all(struct mq *mq)
{
    struct error e;

    for (struct server *s = mq->servers; s != NULL; s = s->next) {
        if (server_setup(mq, s, &e) == 0)
            continue;
        if (mq->state != CONN_UP)
            return -1;
        log_error("amqp: %s", e.msg); /* tried again on the next connection */
    }
    return 0;
}

void mq_server_on_cancel(struct mq *mq, const char *ctag)
{
    struct server *s = find_server(mq, ctag);
    struct error e;

    if (s == NULL)
        return;
    s->consuming_gen = 0;
    if (mq->draining)
        return;
    /* Somebody deleted the queue: declare it again and go on serving. */
    log_warn("amqp: the broker cancelled the consumer of '%s'; subscribing again", s->queue);
    if (server_setup(mq, s, &e) < 0 && mq->state == CONN_UP)
        log_error("amqp: %s", e.msg);
}

void mq_server_cancel_all(struct mq *mq)
{
    struct error e;

    for (struct server *s = mq->servers; s != NULL && mq->state == CONN_UP; s = s->next) {
        if (s->consuming_gen != mq->gen)
            continue;
        amqp_basic_cancel(mq->conn, CH_MAIN, amqp_cstring_bytes(s->tag));
        if (mq_rpc_check(mq, CH_MAIN, "basic.cancel", &e) < 0)
            log_warn("amqp: %s", e.msg);
        s->consuming_gen = 0;
    }
}

static void free_waiters(struct mq_dedup_entry *e, void *arg)
{
    struct waiter *w = e->waiters, *next;

    (void)arg;
    for (; w != NULL; w = next) {
        next = w->next;
        free(w->reply_to);
        free(w->corr);
        free(w);
    }
    e->waiters = NULL;
}

void mq_server_free_all(struct mq *mq)
{
    struct server *s = mq->servers, *next;

    for (; s != NULL; s = next) {
        next = s->next;
        mq_dedup_each(s->dedup, free_waiters, NULL);
        server_free(s);
    }
    mq->servers = NULL;
}

/* -------------------------------------------------------------- mq_serve */

static void post_and_clear(struct server *s, int rc, const struct error *e)
{
    struct sync_wait *sw = s->sw;

    s->sw = NULL;
    sync_wait_post(sw, rc, e);
}

void mq_server_op(struct mq *mq, struct op *op)
{
    struct server *s = SRV_OF(op), **pp;
    struct error e;
    int rc;

    if (mq->state == CONN_CONNECTING) {
        mq_defer(mq, op);
        return;
    }
    for (pp = &mq->servers; *pp != NULL; pp = &(*pp)->next) {
        if (strcmp((*pp)->queue, s->queue) == 0) {
            post_and_clear(s, error_set(&e, -EEXIST, "already serving '%s'", s->queue), &e);
            server_free(s);
            return;
        }
    }
    snprintf(s->tag, sizeof(s->tag), "mq.srv.%u", ++mq->nservers);
    *pp = s; /* appended: kept across reconnections from now on */
    if (mq->state != CONN_UP) {
        post_and_clear(s, error_set(&e, -ENOTCONN, "not connected: serves on connection"), &e);
        return;
    }
    rc = server_setup(mq, s, &e);
    if (rc < 0 && mq->state == CONN_UP) {
        *pp = NULL; /* refused by the broker: forget it */
        post_and_clear(s, rc, &e);
        server_free(s);
        return;
    }
    if (rc < 0)
        rc = error_set(&e, -ENOTCONN, "connection lost: serves on the next connection");
    post_and_clear(s, rc, &e);
}

void mq_server_fail_op(struct mq *mq, struct op *op, int rc, const char *why)
{
    struct server *s = SRV_OF(op);
    struct error e;

    (void)mq;
    error_set(&e, rc, "%s", why);
    post_and_clear(s, rc, &e);
    server_free(s);
}

static struct server *server_new(struct mq *mq, const char *queue,
                                 const struct mq_handler *handlers, size_t n,
                                 const struct mq_serve_opts *opts, void *ctx, struct error *err)
{
    struct server *s;

    if (queue == NULL || queue[0] == '\0' || strlen(queue) > MQ_NAME_MAX) {
        error_set(err, -EINVAL, "queue must be 1..%d bytes", MQ_NAME_MAX);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (handlers[i].method == NULL || !mq_env_method_ok(handlers[i].method) ||
            handlers[i].fn == NULL) {
            error_set(err, -EINVAL, "handler %zu: bad method name or no function", i);
            return NULL;
        }
    }
    s = xcalloc(1, sizeof(*s));
    s->op.kind = OP_SERVE;
    s->queue = xstrdup(queue);
    s->handlers = xcalloc(n ? n : 1, sizeof(*s->handlers));
    for (size_t i = 0; i < n; i++) {
        s->handlers[i].method = xstrdup(handlers[i].method);
        s->handlers[i].fn = handlers[i].fn;
        s->handlers[i].flags = handlers[i].flags;
    }
    s->nhandlers = n;
    qsort(s->handlers, n, sizeof(*s->handlers), handler_cmp);
    if (opts)
        s->opts = *opts;
    if (s->opts.prefetch <= 0)
        s->opts.prefetch = 64;
    if (s->opts.prefetch > 65535)
        s->opts.prefetch = 65535;
    s->ctx = ctx;
    s->dedup =
        mq_dedup_new(mq->o.dedup_entries, mq->o.dedup_bytes, (int64_t)mq->o.dedup_ttl_ms * 1000);
    return s;
}

int mq_serve(struct mq *mq, const char *queue, const struct mq_handler *handlers, size_t n,
             const struct mq_serve_opts *opts, void *ctx, struct error *err)
{
    struct sync_wait sw;
    struct server *s;

    if (mq_on_io_thread(mq))
        return error_set(err, -EDEADLK, "mq_serve() on the AMQP I/O thread");
    s = server_new(mq, queue, handlers, n, opts, ctx, err);
    if (s == NULL)
        return -EINVAL;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(s->handlers[i - 1].method, s->handlers[i].method) == 0) {
            error_set(err, -EINVAL, "method '%s' has two handlers", s->handlers[i].method);
            server_free(s);
            return -EINVAL;
        }
    }
    sync_wait_init(&sw);
    s->sw = &sw;
    if (mq_submit(mq, &s->op) < 0) {
        sem_destroy(&sw.sem);
        server_free(s);
        return error_set(err, -ESHUTDOWN, "the AMQP connection is shut down");
    }
    return sync_wait_wait(&sw, err);
}

/* ------------------------------------------------------------ deliveries */

static struct mq_req *req_new(struct mq *mq, struct server *s, struct inmsg *m)
{
    struct mq_req *req = xcalloc(1, sizeof(*req));

    req->op.kind = OP_FINISH;
    req->mq = mq;
    req->srv = s;
    req->gen = mq->gen;
    req->tag = m->tag;
    req->redelivered = m->redelivered;
    req->reply_to = m->reply_to;
    req->corr = m->corr;
    req->msg_id = m->msg_id;
    m->reply_to = m->corr = m->msg_id = NULL;
    if (req->reply_to && req->reply_to[0] == '\0') {
        free(req->reply_to);
        req->reply_to = NULL;
    }
    mq->running++;
    ST_INC(mq, requests_running);
    atomic_fetch_add_explicit(&mq->refs, 1, memory_order_relaxed);
    return req;
}

/* A bare published message on an events queue: method = AMQP type. */
static int decode_event(struct mq_req *req, struct inmsg *m, cJSON *root, struct error *err)
{
    if (m->type == NULL || !mq_env_method_ok(m->type)) {
        cJSON_Delete(root);
        return error_set(err, -EINVAL, "not an envelope, and no valid type property");
    }
    req->event_method = m->type;
    m->type = NULL;
    req->env.root = root;
    req->env.method = req->event_method;
    req->env.args = root;
    req->env.request_id = "";
    free(req->reply_to); /* events are never answered */
    req->reply_to = NULL;
    return 0;
}

static int decode(struct mq_req *req, struct inmsg *m, struct error *err)
{
    cJSON *root;

    if (m->oversize)
        return error_set(err, -E2BIG, "message of %zu bytes is larger than the limit", m->size);
    if (!req->srv->opts.events)
        return mq_env_request_decode(m->body, m->size, &req->env, err);
    if (json_parse(m->body, m->size, &root, err) < 0)
        return -EINVAL;
    if (cJSON_IsObject(root) && cJSON_GetObjectItemCaseSensitive(root, "v") != NULL) {
        cJSON_Delete(root);
        return mq_env_request_decode(m->body, m->size, &req->env, err);
    }
    return decode_event(req, m, root, err);
}

static void refuse(struct mq *mq, struct mq_req *req, int rc, const char *why)
{
    log_warn("amqp: refused a malformed message on '%s' (message_id %s): %s", req->srv->queue,
             req->msg_id ? req->msg_id : "-", why);
    ST_INC(mq, malformed);
    if (req->reply_to)
        req->reply = mq_env_reply_error(-rc, rc == -E2BIG ? 413 : 400, why, NULL, &req->reply_len);
    req->fin = FIN_REJECT;
    mq_req_finish(mq, req);
}

static int expired(const struct mq_req *req)
{
    return req->env.deadline_ms > 0 && time_now_us() / 1000 > req->env.deadline_ms;
}

static void run_handler(const struct handler_entry *h, struct mq_req *req)
{
    const char *rid = req->env.request_id;

    log_set_request_id(rid[0] ? rid : NULL);
    h->fn(req, req->env.args, req->srv->ctx); /* req may be gone after this */
    log_set_request_id(NULL);
}

static void req_work(void *arg, void *thread_ctx)
{
    struct mq_req *req = arg;

    req->worker_ctx = thread_ctx;
    if (expired(req)) {
        /* Queued behind slower work until its caller gave up. */
        ST_INC(req->mq, expired);
        req->fin = FIN_DROP;
        mq_submit_finish(req);
        return;
    }
    run_handler(req->h, req);
}

static void dispatch(struct mq *mq, struct mq_req *req)
{
    struct wq *wq = req->srv->opts.wq;
    int rc;

    req->h = find_handler(req->srv, req->env.method);
    if (req->h == NULL) {
        char why[MQ_METHOD_MAX + 32];

        snprintf(why, sizeof(why), "unknown method '%s'", req->env.method);
        mq_reply_error(req, ENOSYS, 501, why, NULL);
        return;
    }
    ST_INC(mq, requests);
    if (wq == NULL || (req->h->flags & MQ_INLINE)) {
        run_handler(req->h, req);
        return;
    }
    rc = wq_submit(wq, req_work, NULL, req);
    if (rc == -EAGAIN)
        mq_reply_error(req, EBUSY, 503, "server busy, retry later", NULL);
    else if (rc < 0)
        mq_reject(req, 1); /* shutting down: let another consumer have it */
}

/* De-duplication. Returns 1 when the cache took care of req. */
static int dedup(struct mq *mq, struct mq_req *req)
{
    struct mq_dedup_entry *e;
    struct waiter *w;

    if (req->msg_id == NULL || req->msg_id[0] == '\0' || strlen(req->msg_id) > MQ_DEDUP_ID_MAX)
        return 0;
    e = mq_dedup_find(req->srv->dedup, req->msg_id, time_mono_us());
    if (e == NULL) {
        req->dd = mq_dedup_add(req->srv->dedup, req->msg_id);
        return 0;
    }
    ST_INC(mq, duplicates);
    if (e->state == MQ_DEDUP_DONE) {
        if (req->reply_to && e->reply)
            mq_send_reply(mq, req->reply_to, req->corr, e->reply, e->reply_len);
        req->fin = FIN_REPLY;
        mq_req_finish(mq, req);
        return 1;
    }
    /* Running: answer this copy too when the first one finishes. */
    w = xcalloc(1, sizeof(*w));
    w->reply_to = req->reply_to;
    w->corr = req->corr;
    w->gen = req->gen;
    w->tag = req->tag;
    req->reply_to = req->corr = NULL;
    w->next = e->waiters;
    e->waiters = w;
    req->gen = 0; /* its ack now belongs to the waiter */
    req->fin = FIN_REPLY;
    mq_req_finish(mq, req);
    return 1;
}

void mq_server_on_delivery(struct mq *mq, struct inmsg *m)
{
    struct server *s = find_server(mq, m->ctag);
    struct mq_req *req;
    struct error e;

    if (s == NULL) {
        /* A consumer we no longer know (cancelled): give it back. */
        mq_send_check(mq, amqp_basic_reject(mq->conn, CH_MAIN, m->tag, 1), "basic.reject");
        return;
    }
    req = req_new(mq, s, m);
    if (decode(req, m, &e) < 0) {
        refuse(mq, req, e.code == -E2BIG ? -E2BIG : -EINVAL, e.msg);
        return;
    }
    if (expired(req)) {
        log_info("amqp: dropped %s on '%s': its deadline has passed", req->env.method, s->queue);
        ST_INC(mq, expired);
        req->fin = FIN_DROP;
        mq_req_finish(mq, req);
        return;
    }
    if (dedup(mq, req))
        return;
    dispatch(mq, req);
}
