/* amqp/mq.c: the mq object, the hand-over queue and the I/O thread's loop.
 *
 * The loop, in order, each turn: run the ops other threads handed over; run
 * the timers that are due; poll the eventfd and the socket (with a zero
 * timeout when librabbitmq still holds decoded frames or unread bytes, which
 * poll() cannot see); read what arrived. Reading is bounded per turn
 * (FRAMES_PER_TURN) so that a flood of deliveries never starves the ops.
 *
 * Lifetime: mq->refs counts the handle and every request not yet finished.
 * mq_free() stops and joins the thread and drops the handle's reference;
 * the memory goes when the last request is finished. After the thread has
 * exited (dead), mq_submit() refuses ops, so nothing touches the freed
 * I/O-thread state. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "amqp/internal.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/uuid.h"
#include "common/encode.h"
#include "common/xalloc.h"

#define DEFAULT_HEARTBEAT_S 30

static void (*const op_run[OP_KINDS])(struct mq *, struct op *) = {
    [OP_CALL] = mq_client_op,  [OP_PUB] = mq_pub_op,      [OP_FINISH] = mq_server_finish_op,
    [OP_DECLARE] = mq_decl_op, [OP_SERVE] = mq_server_op,
};

static void (*const op_fail[OP_KINDS])(struct mq *, struct op *, int, const char *) = {
    [OP_CALL] = mq_client_fail_op,
    [OP_PUB] = mq_pub_fail_op,
    [OP_DECLARE] = mq_decl_fail_op,
    [OP_SERVE] = mq_server_fail_op,
};

/* ------------------------------------------------------------ sync waits */

void sync_wait_init(struct sync_wait *sw)
{
    sem_init(&sw->sem, 0, 0);
    sw->rc = 0;
    error_clear(&sw->err);
}

void sync_wait_post(struct sync_wait *sw, int rc, const struct error *err)
{
    sw->rc = rc;
    if (err != NULL && rc < 0)
        error_copy(&sw->err, err);
    else if (rc < 0)
        error_set(&sw->err, rc, "%s", strerror(-rc));
    sem_post(&sw->sem);
}

int sync_wait_wait(struct sync_wait *sw, struct error *err)
{
    while (sem_wait(&sw->sem) != 0 && errno == EINTR)
        ;
    sem_destroy(&sw->sem);
    if (sw->rc < 0)
        error_copy(err, &sw->err);
    return sw->rc;
}

/* -------------------------------------------------------------- hand-over */

/* The mq whose I/O thread this is, if any. A thread-local rather than a
 * comparison with mq->thread, which pthread_create() may store only after
 * the new thread has started running. */
static __thread const struct mq *io_thread_of;

int mq_on_io_thread(const struct mq *mq)
{
    return io_thread_of == mq;
}

static void wake(struct mq *mq)
{
    uint64_t one = 1;

    if (write(mq->evfd, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is already non-zero, the loop will wake. */
    }
}

int mq_submit(struct mq *mq, struct op *op)
{
    int do_wake = 0;

    op->next = NULL;
    pthread_mutex_lock(&mq->lock);
    if (mq->dead) {
        pthread_mutex_unlock(&mq->lock);
        return -ESHUTDOWN;
    }
    if (mq->ops_tail)
        mq->ops_tail->next = op;
    else
        mq->ops_head = op;
    mq->ops_tail = op;
    /* The I/O thread looks at its list before it polls, so it needs no
     * wake-up for what it submits to itself. */
    if (!mq->wake_pending && !mq_on_io_thread(mq)) {
        mq->wake_pending = 1;
        do_wake = 1;
    }
    pthread_mutex_unlock(&mq->lock);
    if (do_wake)
        wake(mq);
    return 0;
}

/* Takes the whole list. The eventfd is drained first: a wake-up written
 * after that is seen by the next poll(), one written before is for ops we
 * are about to take. Returns the stopping flag. */
static int take_ops(struct mq *mq, struct op **list)
{
    uint64_t v;
    int stopping;

    if (read(mq->evfd, &v, sizeof(v)) < 0) {
        /* EAGAIN: nothing was written. */
    }
    pthread_mutex_lock(&mq->lock);
    *list = mq->ops_head;
    mq->ops_head = mq->ops_tail = NULL;
    mq->wake_pending = 0;
    stopping = mq->stopping;
    pthread_mutex_unlock(&mq->lock);
    return stopping;
}

void mq_run_op(struct mq *mq, struct op *op)
{
    op_run[op->kind](mq, op);
}

static int run_ops(struct mq *mq)
{
    struct op *op, *next;
    int stopping = take_ops(mq, &op);

    for (; op != NULL; op = next) {
        next = op->next;
        op_run[op->kind](mq, op);
    }
    return stopping;
}

static int ops_pending(struct mq *mq)
{
    int pending;

    pthread_mutex_lock(&mq->lock);
    pending = mq->ops_head != NULL;
    pthread_mutex_unlock(&mq->lock);
    return pending;
}

/* ------------------------------------------------------- shared status */

const char *mq_host_label(const struct mq *mq, char *buf, size_t cap)
{
    const struct mq_url_host *h = &mq->url->hosts[mq->host_idx];
    int v6 = strchr(h->host, ':') != NULL;

    snprintf(buf, cap, "%s%s%s:%d", v6 ? "[" : "", h->host, v6 ? "]" : "", h->port);
    return buf;
}

void mq_set_last_error(struct mq *mq, const struct error *err, int round_over)
{
    pthread_mutex_lock(&mq->lock);
    error_copy(&mq->last_err, err);
    if (round_over)
        mq->rounds_failed++;
    pthread_cond_broadcast(&mq->cond);
    pthread_mutex_unlock(&mq->lock);
}

void mq_set_connected(struct mq *mq, int up)
{
    pthread_mutex_lock(&mq->lock);
    mq->connected = up;
    pthread_cond_broadcast(&mq->cond);
    pthread_mutex_unlock(&mq->lock);
    atomic_store_explicit(&mq->st.connected, (uint64_t)up, memory_order_relaxed);
}

/* ------------------------------------------------------------- the loop */

static int poll_timeout_ms(struct mq *mq, int busy, int64_t now)
{
    int64_t next = mq_timer_next(&mq->timers);
    int64_t cap = mq->state == CONN_UP ? TICK_US : 60 * 1000000LL;
    int64_t wait;

    if (busy)
        return 0;
    wait = next ? next - now : cap;
    if (wait > cap)
        wait = cap;
    if (wait < 0)
        wait = 0;
    return (int)((wait + 999) / 1000);
}

static void wait_and_read(struct mq *mq)
{
    struct pollfd p[2] = {{.fd = mq->evfd, .events = POLLIN}};
    int64_t now = time_mono_us();
    int n = 1, busy;

    busy =
        mq->more_frames || ops_pending(mq) ||
        (mq->state == CONN_UP && (amqp_frames_enqueued(mq->conn) || amqp_data_in_buffer(mq->conn)));
    if (mq->state == CONN_CONNECTING || mq->state == CONN_UP) {
        p[1].fd = mq->fd;
        p[1].events = mq->state == CONN_CONNECTING ? POLLOUT : POLLIN;
        n = 2;
    }
    if (poll(p, (nfds_t)n, poll_timeout_ms(mq, busy, now)) < 0 && errno != EINTR) {
        log_error("amqp: poll: %s", strerror(errno));
        return;
    }
    now = time_mono_us();
    if (n == 2 && mq->state == CONN_CONNECTING && p[1].revents) {
        mq_conn_on_writable(mq);
    } else if (n == 2 && mq->state == CONN_UP && (p[1].revents || busy || now >= mq->tick_us)) {
        /* Reading also lets librabbitmq send and check heartbeats. */
        mq->more_frames = mq_frames_read(mq);
        mq->tick_us = now + TICK_US;
    }
}

static void drain_timer_fire(struct mq *mq, struct timer *t, int64_t now)
{
    (void)mq;
    (void)t;
    (void)now; /* only wakes the loop, which then re-checks the drain */
}

/* One step of mq_free()'s shutdown. Returns 1 when the loop may end. */
static int shutdown_step(struct mq *mq)
{
    int64_t now = time_mono_us();

    if (!mq->draining) {
        mq->draining = 1;
        mq->drain_until = now + (int64_t)mq->o.drain_timeout_ms * 1000;
        mq_server_cancel_all(mq);
        mq->drain_timer.fire = drain_timer_fire;
        mq_timer_set(&mq->timers, &mq->drain_timer, mq->drain_until);
    }
    if (now >= mq->drain_until) {
        if (mq->running)
            log_warn("amqp: %zu requests still running after %d ms; their answers are dropped",
                     mq->running, mq->o.drain_timeout_ms);
    } else if (mq->running || (mq->state == CONN_UP && mq_pub_pending(mq))) {
        return 0;
    }
    mq_timer_cancel(&mq->timers, &mq->drain_timer);
    return 1;
}

static void fail_list(struct mq *mq, struct op *op, const char *why)
{
    struct op *next;

    for (; op != NULL; op = next) {
        next = op->next;
        if (op->kind == OP_FINISH)
            op_run[OP_FINISH](mq, op);
        else
            op_fail[op->kind](mq, op, -ESHUTDOWN, why);
    }
}

static void finish_thread(struct mq *mq)
{
    struct op *rest;
    struct pending_reply *pr, *next;

    mq_client_shutdown(mq);
    mq_pub_shutdown(mq);
    fail_list(mq, mq->deferred, "shutting down");
    mq->deferred = mq->deferred_tail = NULL;
    mq_conn_close(mq);
    pthread_mutex_lock(&mq->lock);
    mq->dead = 1;
    rest = mq->ops_head;
    mq->ops_head = mq->ops_tail = NULL;
    pthread_mutex_unlock(&mq->lock);
    fail_list(mq, rest, "shutting down");
    mq_client_shutdown(mq); /* calls that arrived with the last ops */
    mq_pub_shutdown(mq);
    mq_server_free_all(mq);
    mq_decl_free_all(mq);
    for (pr = mq->preplies; pr != NULL; pr = next) {
        next = pr->next;
        free(pr->reply_to);
        free(pr->corr);
        free(pr->body);
        free(pr);
    }
    mq->preplies = NULL;
    free(mq->calls);
    mq->calls = NULL;
    mq_timers_free(&mq->timers);
}

static void *io_main(void *arg)
{
    struct mq *mq = arg;

    io_thread_of = mq;
    mq_conn_start(mq);
    for (;;) {
        int stopping = run_ops(mq);

        if (stopping && shutdown_step(mq))
            break;
        mq_timers_run(mq, &mq->timers, time_mono_us());
        wait_and_read(mq);
    }
    finish_thread(mq);
    return NULL;
}

/* ------------------------------------------------------------- lifecycle */

static void apply_defaults(struct mq_opts *o, const struct mq_url *u)
{
    if (o->name == NULL)
        o->name = u->connection_name ? u->connection_name : "iotronic";
    if (o->heartbeat_s == 0)
        o->heartbeat_s = u->heartbeat >= 0 ? u->heartbeat : DEFAULT_HEARTBEAT_S;
    if (o->heartbeat_s < 0)
        o->heartbeat_s = 0;
    if (o->connect_wait_ms <= 0)
        o->connect_wait_ms = 5000;
    if (o->confirm_timeout_ms <= 0)
        o->confirm_timeout_ms = 5000;
    if (o->backoff_min_ms <= 0)
        o->backoff_min_ms = 100;
    if (o->backoff_max_ms < o->backoff_min_ms)
        o->backoff_max_ms = o->backoff_min_ms > 5000 ? o->backoff_min_ms : 5000;
    if (o->max_message == 0)
        o->max_message = 16u << 20;
    if (o->max_in_flight == 0)
        o->max_in_flight = 65536;
    if (o->dedup_entries == 0)
        o->dedup_entries = 10000;
    if (o->dedup_bytes == 0)
        o->dedup_bytes = 64u << 20;
    if (o->dedup_ttl_ms <= 0)
        o->dedup_ttl_ms = 600000;
    if (o->drain_timeout_ms <= 0)
        o->drain_timeout_ms = 10000;
}

static void destroy(struct mq *mq)
{
    close(mq->evfd);
    pthread_cond_destroy(&mq->cond);
    pthread_mutex_destroy(&mq->lock);
    mq_url_free(mq->url);
    free(mq);
}

void mq_unref(struct mq *mq)
{
    if (atomic_fetch_sub_explicit(&mq->refs, 1, memory_order_acq_rel) == 1)
        destroy(mq);
}

int mq_new(const char *transport_url, const struct mq_opts *opts, struct mq **out,
           struct error *err)
{
    struct mq_url *url = NULL;
    pthread_condattr_t cattr;
    unsigned char rnd[8];
    struct mq *mq;
    int rc;

    *out = NULL;
    rc = mq_url_parse(transport_url, &url, err);
    if (rc < 0)
        return rc;
    mq = xcalloc(1, sizeof(*mq));
    mq->url = url;
    if (opts)
        mq->o = *opts;
    apply_defaults(&mq->o, url);
    rand_bytes(rnd, sizeof(rnd));
    hex_encode(rnd, sizeof(rnd), mq->idprefix);
    atomic_init(&mq->refs, 1);
    atomic_init(&mq->next_seq, 1);
    mq->fd = -1;
    mq->state = CONN_WAIT;
    mq->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (mq->evfd < 0) {
        rc = error_set(err, -errno, "eventfd: %s", strerror(errno));
        mq_url_free(url);
        free(mq);
        return rc;
    }
    pthread_mutex_init(&mq->lock, NULL);
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&mq->cond, &cattr);
    pthread_condattr_destroy(&cattr);
    if (pthread_create(&mq->thread, NULL, io_main, mq) != 0) {
        destroy(mq);
        return error_set(err, -EAGAIN, "cannot start the AMQP I/O thread");
    }
    *out = mq;
    return 0;
}

void mq_free(struct mq *mq)
{
    if (mq == NULL)
        return;
    pthread_mutex_lock(&mq->lock);
    mq->stopping = 1;
    pthread_mutex_unlock(&mq->lock);
    wake(mq);
    pthread_join(mq->thread, NULL);
    mq_unref(mq);
}

int mq_wait_connected(struct mq *mq, int timeout_ms, struct error *err)
{
    int64_t deadline = time_mono_us() + (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000;
    uint64_t rounds;
    int rc = 0;

    pthread_mutex_lock(&mq->lock);
    rounds = mq->rounds_failed;
    while (!mq->connected && !mq->dead) {
        int64_t now = time_mono_us(), until = now + 1000000;
        struct timespec ts;

        if ((timeout_ms <= 0 && mq->rounds_failed > rounds) || (timeout_ms > 0 && now >= deadline))
            break;
        if (timeout_ms > 0 && until > deadline)
            until = deadline;
        ts.tv_sec = (time_t)(until / 1000000); /* the condvar runs on CLOCK_MONOTONIC */
        ts.tv_nsec = (long)(until % 1000000) * 1000;
        pthread_cond_timedwait(&mq->cond, &mq->lock, &ts);
    }
    if (!mq->connected) {
        if (mq->last_err.code < 0)
            rc = error_copy(err, &mq->last_err);
        else
            rc = error_set(err, -ETIMEDOUT, "not connected to the broker after %d ms", timeout_ms);
    }
    pthread_mutex_unlock(&mq->lock);
    return rc;
}

int mq_is_connected(struct mq *mq)
{
    return (int)atomic_load_explicit(&mq->st.connected, memory_order_relaxed);
}

#define LOAD(f) out->f = atomic_load_explicit(&mq->st.f, memory_order_relaxed)

void mq_stats_get(struct mq *mq, struct mq_stats *out)
{
    LOAD(connected);
    LOAD(connects);
    LOAD(reconnects);
    LOAD(connect_failures);
    LOAD(calls);
    LOAD(calls_in_flight);
    LOAD(calls_ok);
    LOAD(calls_remote_error);
    LOAD(calls_timeout);
    LOAD(calls_unsent);
    LOAD(calls_failed);
    LOAD(calls_resent);
    LOAD(publishes);
    LOAD(publishes_failed);
    LOAD(requests);
    LOAD(replies);
    LOAD(error_replies);
    LOAD(duplicates);
    LOAD(expired);
    LOAD(malformed);
    LOAD(requests_running);
}
