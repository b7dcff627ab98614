/* amqp/conn.c: connecting, setting up, losing and closing the connection.
 *
 * States (mq->state, I/O thread only):
 *   CONN_WAIT        no socket; conn_timer fires the next attempt (backoff)
 *   CONN_CONNECTING  a non-blocking connect() is in progress; the loop polls
 *                    for POLLOUT, conn_timer bounds it
 *   CONN_UP          logged in, channels open, consumers set up
 *   CONN_CLOSED      mq_free() closed it for good
 *
 * The TCP connect is ours (non-blocking, so a black-holed broker never
 * stalls the loop); the socket is then given to librabbitmq, whose AMQP
 * handshake and set-up methods are synchronous but bounded by
 * CONNECT_TIMEOUT_MS and RPC_TIMEOUT_MS. An attempt tries every address of
 * one host, then the next host; when every host has failed, a round is over
 * and the next one starts after an exponential backoff with jitter. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <amqp_tcp_socket.h>

#include "amqp/internal.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/uuid.h"

static void attempt(struct mq *mq);

int mq_rpc_status_errno(int reply_code)
{
    switch (reply_code) {
    case AMQP_ACCESS_REFUSED:
    case AMQP_NOT_ALLOWED:
        return -EACCES;
    case AMQP_NOT_FOUND:
        return -ENOENT;
    case AMQP_RESOURCE_LOCKED:
        return -EBUSY;
    case AMQP_PRECONDITION_FAILED:
        return -EINVAL;
    case AMQP_CONTENT_TOO_LARGE:
        return -E2BIG;
    case AMQP_NO_ROUTE:
        return -EHOSTUNREACH;
    case AMQP_CONNECTION_FORCED:
        return -ECONNRESET;
    default:
        return -EPROTO;
    }
}

static void drop_socket(struct mq *mq)
{
    if (mq->conn != NULL) {
        amqp_destroy_connection(mq->conn); /* closes the socket it was given */
        mq->conn = NULL;
    } else if (mq->fd >= 0) {
        close(mq->fd);
    }
    mq->fd = -1;
    for (int i = 0; i < CH_COUNT; i++)
        mq_inmsg_reset(&mq->in[i]);
}

void mq_defer(struct mq *mq, struct op *op)
{
    op->next = NULL;
    if (mq->deferred_tail)
        mq->deferred_tail->next = op;
    else
        mq->deferred = op;
    mq->deferred_tail = op;
}

static void run_deferred(struct mq *mq)
{
    struct op *op = mq->deferred, *next;

    mq->deferred = mq->deferred_tail = NULL;
    for (; op != NULL; op = next) {
        next = op->next;
        mq_run_op(mq, op);
    }
}

static void conn_timer_fire(struct mq *mq, struct timer *t, int64_t now)
{
    (void)t;
    (void)now;
    if (mq->state == CONN_WAIT)
        mq_conn_start(mq);
    else if (mq->state == CONN_CONNECTING) {
        struct error e;
        char label[300];

        error_set(&e, -ETIMEDOUT, "cannot reach broker at %s: connection timed out",
                  mq_host_label(mq, label, sizeof(label)));
        drop_socket(mq);
        mq->state = CONN_WAIT;
        mq_set_last_error(mq, &e, 0);
        attempt(mq); /* next address or host */
    }
}

static void schedule_backoff(struct mq *mq)
{
    int d = mq->backoff_ms ? mq->backoff_ms : mq->o.backoff_min_ms;
    /* "Equal jitter": half fixed, half random, so that many clients
     * restarted together spread out, yet none retries too eagerly. */
    int delay = d / 2 + (int)rand_below((uint64_t)(d / 2) + 1);

    mq->backoff_ms = d * 2 > mq->o.backoff_max_ms ? mq->o.backoff_max_ms : d * 2;
    mq->state = CONN_WAIT;
    mq->conn_timer.fire = conn_timer_fire;
    mq_timer_set(&mq->timers, &mq->conn_timer, time_mono_us() + (int64_t)delay * 1000);
}

/* Every address of every host failed: report, back off, answer deferred ops. */
static void round_failed(struct mq *mq)
{
    struct error e;

    pthread_mutex_lock(&mq->lock);
    error_copy(&e, &mq->last_err);
    pthread_mutex_unlock(&mq->lock);
    mq_set_last_error(mq, &e, 1);
    ST_INC(mq, connect_failures);
    schedule_backoff(mq);
    log_warn("amqp: %s; retrying in about %d ms", error_str(&e), mq->backoff_ms / 2);
    run_deferred(mq);
}

static int resolve(struct mq *mq, struct error *err)
{
    const struct mq_url_host *h = &mq->url->hosts[mq->host_idx];
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    char port[8], label[300];
    int rc;

    snprintf(port, sizeof(port), "%d", h->port);
    /* getaddrinfo() may block on DNS; names are resolved once per attempt
     * and the usual deployment names the broker by address or in /etc/hosts. */
    rc = getaddrinfo(h->host, port, &hints, &mq->ai_list);
    if (rc != 0)
        return error_set(err, -EHOSTUNREACH, "cannot reach broker at %s: %s",
                         mq_host_label(mq, label, sizeof(label)), gai_strerror(rc));
    mq->ai_cur = mq->ai_list;
    return 0;
}

/* Starts a non-blocking connect to the next address. 0: in progress. */
static int connect_next(struct mq *mq, struct error *err)
{
    char label[300];

    while (mq->ai_cur != NULL) {
        struct addrinfo *ai = mq->ai_cur;
        int fd;

        mq->ai_cur = ai->ai_next;
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            error_set(err, -errno, "cannot reach broker at %s: socket: %s",
                      mq_host_label(mq, label, sizeof(label)), strerror(errno));
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
            mq->fd = fd;
            return 0;
        }
        error_set(err, -errno, "cannot reach broker at %s: %s",
                  mq_host_label(mq, label, sizeof(label)), strerror(errno));
        close(fd);
    }
    return -1;
}

/* Tries the current host's remaining addresses, then the next hosts. */
static void attempt(struct mq *mq)
{
    struct error e;

    error_clear(&e);
    for (size_t tried = 0; tried <= mq->url->nhosts; tried++) {
        if (mq->ai_list == NULL && resolve(mq, &e) < 0) {
            mq_set_last_error(mq, &e, 0);
        } else if (connect_next(mq, &e) == 0) {
            mq->state = CONN_CONNECTING;
            mq->conn_timer.fire = conn_timer_fire;
            mq_timer_set(&mq->timers, &mq->conn_timer,
                         time_mono_us() + (int64_t)CONNECT_TIMEOUT_MS * 1000);
            return;
        } else if (e.code < 0) {
            mq_set_last_error(mq, &e, 0);
        }
        if (mq->ai_list)
            freeaddrinfo(mq->ai_list);
        mq->ai_list = mq->ai_cur = NULL;
        mq->host_idx = (mq->host_idx + 1) % mq->url->nhosts;
        if (mq->host_idx == 0)
            break; /* back at the first host: the round is over */
    }
    round_failed(mq);
}

void mq_conn_start(struct mq *mq)
{
    if (mq->state == CONN_CLOSED)
        return;
    attempt(mq);
}

/* ----------------------------------------------------------- handshake */

static int login_error(struct mq *mq, amqp_rpc_reply_t r, struct error *err)
{
    char label[300];
    const char *who = mq_host_label(mq, label, sizeof(label));

    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
        r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        amqp_connection_close_t *m = r.reply.decoded;

        return error_set(err,
                         mq_rpc_status_errno(m->reply_code) == -EACCES ? -EACCES : -ECONNREFUSED,
                         "broker at %s refused the connection (user %s, vhost %s): %.*s", who,
                         mq->url->hosts[mq->host_idx].user, mq->url->vhost, (int)m->reply_text.len,
                         (const char *)m->reply_text.bytes);
    }
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
        return error_set(err, -ECONNREFUSED, "cannot reach broker at %s: %s", who,
                         amqp_error_string2(r.library_error));
    return error_set(err, -EPROTO, "cannot reach broker at %s: unexpected handshake reply", who);
}

static int login(struct mq *mq, struct error *err)
{
    const struct mq_url_host *h = &mq->url->hosts[mq->host_idx];
    struct timeval hs = {CONNECT_TIMEOUT_MS / 1000, 0}, rpc = {RPC_TIMEOUT_MS / 1000, 0};
    amqp_table_entry_t caps[2], props[2];
    amqp_socket_t *sock;
    amqp_rpc_reply_t r;
    amqp_table_t props_table;

    mq->conn = amqp_new_connection();
    sock = amqp_tcp_socket_new(mq->conn);
    if (sock == NULL) {
        amqp_destroy_connection(mq->conn); /* the socket is still ours to close */
        mq->conn = NULL;
        return error_set(err, -ENOMEM, "amqp_tcp_socket_new failed");
    }
    amqp_tcp_socket_set_sockfd(sock, mq->fd);
    amqp_set_handshake_timeout(mq->conn, &hs);
    amqp_set_rpc_timeout(mq->conn, &rpc);
    /* consumer_cancel_notify: learn when the broker drops a consumer (its
     * queue was deleted) instead of waiting forever. */
    caps[0].key = amqp_cstring_bytes("consumer_cancel_notify");
    caps[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    caps[0].value.value.boolean = 1;
    caps[1].key = amqp_cstring_bytes("connection.blocked");
    caps[1].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    caps[1].value.value.boolean = 1;
    props[0].key = amqp_cstring_bytes("connection_name");
    props[0].value.kind = AMQP_FIELD_KIND_UTF8;
    props[0].value.value.bytes = amqp_cstring_bytes(mq->o.name);
    props[1].key = amqp_cstring_bytes("capabilities");
    props[1].value.kind = AMQP_FIELD_KIND_TABLE;
    props[1].value.value.table.num_entries = 2;
    props[1].value.value.table.entries = caps;
    props_table.num_entries = 2;
    props_table.entries = props;
    r = amqp_login_with_properties(mq->conn, mq->url->vhost, 0, AMQP_DEFAULT_FRAME_SIZE,
                                   mq->o.heartbeat_s, &props_table, AMQP_SASL_METHOD_PLAIN, h->user,
                                   h->password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return login_error(mq, r, err);
    return 0;
}

static int open_channel(struct mq *mq, amqp_channel_t ch, struct error *err)
{
    amqp_channel_open(mq->conn, ch);
    if (mq_rpc_check(mq, ch, "channel.open", err) < 0)
        return -1;
    if (ch == CH_PUB) {
        amqp_confirm_select(mq->conn, ch);
        if (mq_rpc_check(mq, ch, "confirm.select", err) < 0)
            return -1;
        mq->pub_tag = 0;
    }
    return 0;
}

/* Channels, the reply consumer, declarations and servers. 0, or -1 when
 * the connection was lost meanwhile (already handled). */
static int setup(struct mq *mq)
{
    struct error e;

    for (amqp_channel_t ch = CH_MAIN; ch < CH_COUNT; ch++) {
        if (open_channel(mq, ch, &e) < 0) {
            mq_conn_lost(mq, -EPROTO, "set-up: %s", e.msg);
            return -1;
        }
    }
    /* Direct reply-to: a pseudo-queue per channel, consumed without acks;
     * it must be consumed on the channel that publishes the calls. */
    amqp_basic_consume(mq->conn, CH_MAIN, amqp_cstring_bytes("amq.rabbitmq.reply-to"),
                       amqp_cstring_bytes(REPLY_TAG), 0, 1, 0, amqp_empty_table);
    if (mq_rpc_check(mq, CH_MAIN, "consume amq.rabbitmq.reply-to", &e) < 0) {
        mq_conn_lost(mq, -EPROTO, "set-up: %s", e.msg);
        return -1;
    }
    if (mq_decl_replay(mq) < 0 || mq_server_setup_all(mq) < 0)
        return -1;
    return 0;
}

static void connected(struct mq *mq)
{
    char url[600];

    ST_INC(mq, connects);
    if (mq->ever_connected)
        ST_INC(mq, reconnects);
    mq->ever_connected = 1;
    mq->backoff_ms = 0;
    mq->tick_us = time_mono_us() + TICK_US;
    mq_set_connected(mq, 1);
    log_info("amqp: connected to %s (heartbeat %d s)",
             mq_url_redacted(mq->url, mq->host_idx, url, sizeof(url)),
             amqp_get_heartbeat(mq->conn));
    mq_client_on_connected(mq);
    if (mq->state == CONN_UP)
        mq_pub_on_connected(mq);
    if (mq->state == CONN_UP)
        mq_server_on_connected(mq);
    run_deferred(mq);
}

void mq_conn_on_writable(struct mq *mq)
{
    int soerr = 0, one = 1;
    socklen_t len = sizeof(soerr);
    char label[300];
    struct error e;

    mq_timer_cancel(&mq->timers, &mq->conn_timer);
    if (getsockopt(mq->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        soerr = errno;
    if (soerr != 0) {
        error_set(&e, -soerr, "cannot reach broker at %s: %s",
                  mq_host_label(mq, label, sizeof(label)), strerror(soerr));
        goto failed;
    }
    /* Small RPC messages: never wait for Nagle. */
    setsockopt(mq->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (login(mq, &e) < 0)
        goto failed;
    if (mq->ai_list)
        freeaddrinfo(mq->ai_list);
    mq->ai_list = mq->ai_cur = NULL;
    mq->state = CONN_UP;
    mq->gen++;
    if (setup(mq) < 0)
        return; /* lost during set-up: mq_conn_lost() scheduled the retry */
    connected(mq);
    return;
failed:
    drop_socket(mq);
    mq->state = CONN_WAIT;
    mq_set_last_error(mq, &e, 0);
    attempt(mq);
}

/* --------------------------------------------------------------- losing */

void mq_conn_lost(struct mq *mq, int code, const char *fmt, ...)
{
    char reason[ERROR_MSG_MAX], label[300];
    struct error e;
    va_list ap;

    if (mq->state != CONN_UP)
        return;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    error_set(&e, code < 0 ? code : -ECONNRESET, "connection to broker at %s lost: %s",
              mq_host_label(mq, label, sizeof(label)), reason);
    log_warn("amqp: %s", e.msg);
    drop_socket(mq);
    mq->state = CONN_WAIT;
    mq->more_frames = 0;
    mq_set_connected(mq, 0);
    mq_set_last_error(mq, &e, 0);
    mq_pub_on_lost(mq);
    schedule_backoff(mq);
}

static void reopen_channel(struct mq *mq, amqp_channel_t ch)
{
    static const char *const names[CH_COUNT] = {"", "main", "publish", "admin"};
    struct error e;
    int rc;

    if (ch == CH_MAIN || mq->reopening) {
        /* The main channel's consumers died with it, and a channel that
         * cannot be re-opened is as bad: start over on a new connection. */
        mq_conn_lost(mq, -EPROTO, "%s channel closed by the broker", names[ch]);
        return;
    }
    mq->reopening = 1;
    rc = open_channel(mq, ch, &e);
    mq->reopening = 0;
    if (rc < 0)
        mq_conn_lost(mq, -EPROTO, "cannot re-open the %s channel: %s", names[ch], e.msg);
}

int mq_channel_closed(struct mq *mq, amqp_channel_t ch, const amqp_channel_close_t *m,
                      const char *what, struct error *err)
{
    amqp_channel_close_ok_t ok = {0};
    int rc = mq_rpc_status_errno(m->reply_code);

    error_set(err, rc, "%s: %.*s", what, (int)m->reply_text.len, (const char *)m->reply_text.bytes);
    if (mq_send_check(mq, amqp_send_method(mq->conn, ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok),
                      "channel.close-ok") < 0)
        return rc;
    if (ch == CH_PUB)
        mq_pub_on_channel_closed(mq, rc, err->msg);
    reopen_channel(mq, ch);
    return rc;
}

int mq_rpc_check(struct mq *mq, amqp_channel_t ch, const char *what, struct error *err)
{
    amqp_rpc_reply_t r = amqp_get_rpc_reply(mq->conn);

    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return 0;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD)
            return mq_channel_closed(mq, ch, r.reply.decoded, what, err);
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_connection_close_t *m = r.reply.decoded;
            amqp_connection_close_ok_t ok = {0};

            amqp_send_method(mq->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
            mq_conn_lost(mq, -ECONNRESET, "%s: closed by the broker: %.*s", what,
                         (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        } else {
            mq_conn_lost(mq, -EPROTO, "%s: unexpected reply method 0x%08x", what,
                         (unsigned)r.reply.id);
        }
        break;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        mq_conn_lost(mq, -EIO, "%s: %s", what, amqp_error_string2(r.library_error));
        break;
    default:
        mq_conn_lost(mq, -EIO, "%s: no reply", what);
        break;
    }
    return error_set(err, -ENOTCONN, "%s: connection lost", what);
}

int mq_send_check(struct mq *mq, int status, const char *what)
{
    if (status == AMQP_STATUS_OK)
        return 0;
    mq_conn_lost(mq, -EIO, "%s: %s", what, amqp_error_string2(status));
    return -ENOTCONN;
}

/* -------------------------------------------------------------- closing */

void mq_conn_close(struct mq *mq)
{
    mq_timer_cancel(&mq->timers, &mq->conn_timer);
    if (mq->state == CONN_UP) {
        amqp_connection_close(mq->conn, AMQP_REPLY_SUCCESS);
        mq_set_connected(mq, 0);
    }
    drop_socket(mq);
    if (mq->ai_list)
        freeaddrinfo(mq->ai_list);
    mq->ai_list = mq->ai_cur = NULL;
    mq->state = CONN_CLOSED;
}
