/* amqp/declare.c: exchanges, queues and bindings, declared again on every
 * connection.
 *
 * Declarations go out on CH_ADMIN, so that a refusal (the broker closes the
 * channel) costs only that channel, which conn.c re-opens. A declaration the
 * broker accepted, or that could not be tried because the connection was
 * down, is kept on mq->decls and replayed after each reconnection, in order
 * (an exchange before the binding that needs it). One the broker refused is
 * reported to its caller and forgotten. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "amqp/internal.h"
#include "common/log.h"
#include "common/xalloc.h"

#define DECL_OF(p) ((struct decl *)((char *)(p)-offsetof(struct decl, op)))

static void decl_free(struct decl *d)
{
    free(d->a);
    free(d->b);
    free(d->c);
    free(d);
}

int mq_declare_queue_now(struct mq *mq, const char *name, unsigned flags, struct error *err)
{
    amqp_queue_declare(mq->conn, CH_ADMIN, amqp_cstring_bytes(name), 0, (flags & MQ_DURABLE) != 0,
                       (flags & MQ_EXCLUSIVE) != 0, (flags & MQ_AUTO_DELETE) != 0,
                       amqp_empty_table);
    return mq_rpc_check(mq, CH_ADMIN, "queue.declare", err);
}

static int decl_apply(struct mq *mq, const struct decl *d, struct error *err)
{
    int rc;

    switch (d->kind) {
    case DECL_EXCHANGE:
        amqp_exchange_declare(mq->conn, CH_ADMIN, amqp_cstring_bytes(d->a),
                              amqp_cstring_bytes(d->b), 0, (d->flags & MQ_DURABLE) != 0,
                              (d->flags & MQ_AUTO_DELETE) != 0, 0, amqp_empty_table);
        rc = mq_rpc_check(mq, CH_ADMIN, "exchange.declare", err);
        break;
    case DECL_QUEUE:
        rc = mq_declare_queue_now(mq, d->a, d->flags, err);
        break;
    default:
        amqp_queue_bind(mq->conn, CH_ADMIN, amqp_cstring_bytes(d->a), amqp_cstring_bytes(d->b),
                        amqp_cstring_bytes(d->c), amqp_empty_table);
        rc = mq_rpc_check(mq, CH_ADMIN, "queue.bind", err);
        break;
    }
    if (rc < 0)
        error_prefix(err, "%s '%s'", d->kind == DECL_BIND ? "bind queue" : "declare", d->a);
    return rc;
}

static void keep(struct mq *mq, struct decl *d)
{
    d->next = NULL;
    if (mq->decls_tail)
        mq->decls_tail->next = d;
    else
        mq->decls = d;
    mq->decls_tail = d;
}

void mq_decl_op(struct mq *mq, struct op *op)
{
    struct decl *d = DECL_OF(op);
    struct sync_wait *sw = d->sw;
    struct error e;
    int rc;

    if (mq->state == CONN_CONNECTING) {
        mq_defer(mq, op); /* answered when this attempt is over */
        return;
    }
    d->sw = NULL; /* the caller's, and gone once posted */
    if (mq->state != CONN_UP) {
        keep(mq, d);
        sync_wait_post(sw, error_set(&e, -ENOTCONN, "not connected: declared on connection"), &e);
        return;
    }
    rc = decl_apply(mq, d, &e);
    if (rc == 0 || mq->state != CONN_UP)
        keep(mq, d);
    else
        decl_free(d);
    if (rc < 0 && mq->state != CONN_UP)
        rc = error_set(&e, -ENOTCONN, "connection lost: declared on the next connection");
    sync_wait_post(sw, rc, &e);
}

void mq_decl_fail_op(struct mq *mq, struct op *op, int rc, const char *why)
{
    struct decl *d = DECL_OF(op);
    struct error e;

    (void)mq;
    error_set(&e, rc, "%s", why);
    sync_wait_post(d->sw, rc, &e);
    decl_free(d);
}

int mq_decl_replay(struct mq *mq)
{
    struct error e;

    for (struct decl *d = mq->decls; d != NULL; d = d->next) {
        if (decl_apply(mq, d, &e) < 0) {
            if (mq->state != CONN_UP)
                return -1;
            log_error("amqp: %s", e.msg);
        }
    }
    return 0;
}

void mq_decl_free_all(struct mq *mq)
{
    struct decl *d = mq->decls, *next;

    for (; d != NULL; d = next) {
        next = d->next;
        decl_free(d);
    }
    mq->decls = mq->decls_tail = NULL;
}

/* ------------------------------------------------------------ callers */

static int decl_go(struct mq *mq, struct decl *d, struct error *err)
{
    struct sync_wait sw;

    if (mq_on_io_thread(mq)) {
        decl_free(d);
        return error_set(err, -EDEADLK, "a declaration on the AMQP I/O thread");
    }
    sync_wait_init(&sw);
    d->op.kind = OP_DECLARE;
    d->sw = &sw;
    if (mq_submit(mq, &d->op) < 0) {
        sem_destroy(&sw.sem);
        decl_free(d);
        return error_set(err, -ESHUTDOWN, "the AMQP connection is shut down");
    }
    return sync_wait_wait(&sw, err);
}

static int name_ok(const char *what, const char *s, size_t min, struct error *err)
{
    size_t n = s ? strlen(s) : 0;

    if (s == NULL || n < min || n > MQ_NAME_MAX)
        return error_set(err, -EINVAL, "%s must be %zu..%d bytes", what, min, MQ_NAME_MAX);
    return 0;
}

int mq_declare_exchange(struct mq *mq, const char *name, const char *type, unsigned flags,
                        struct error *err)
{
    static const char *const types[] = {"direct", "topic", "fanout", "headers"};
    struct decl *d;
    size_t i;

    if (name_ok("exchange", name, 1, err) < 0)
        return -EINVAL;
    for (i = 0; type && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(type, types[i]) == 0)
            break;
    if (type == NULL || i == sizeof(types) / sizeof(types[0]))
        return error_set(err, -EINVAL, "exchange type must be direct, topic, fanout or headers");
    d = xcalloc(1, sizeof(*d));
    d->kind = DECL_EXCHANGE;
    d->a = xstrdup(name);
    d->b = xstrdup(type);
    d->flags = flags;
    return decl_go(mq, d, err);
}

int mq_declare_queue(struct mq *mq, const char *name, unsigned flags, struct error *err)
{
    struct decl *d;

    if (name_ok("queue", name, 1, err) < 0)
        return -EINVAL;
    d = xcalloc(1, sizeof(*d));
    d->kind = DECL_QUEUE;
    d->a = xstrdup(name);
    d->flags = flags;
    return decl_go(mq, d, err);
}

int mq_bind(struct mq *mq, const char *queue, const char *exchange, const char *binding_key,
            struct error *err)
{
    struct decl *d;

    if (name_ok("queue", queue, 1, err) < 0 || name_ok("exchange", exchange, 1, err) < 0 ||
        name_ok("binding key", binding_key, 0, err) < 0)
        return -EINVAL;
    d = xcalloc(1, sizeof(*d));
    d->kind = DECL_BIND;
    d->a = xstrdup(queue);
    d->b = xstrdup(exchange);
    d->c = xstrdup(binding_key);
    return decl_go(mq, d, err);
}
