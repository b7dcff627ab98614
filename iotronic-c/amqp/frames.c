/* amqp/frames.c: reading frames and assembling messages on the I/O thread.
 *
 * Frames come from librabbitmq one at a time and without blocking
 * (amqp_simple_wait_frame_noblock with a zero timeout, which also sends
 * heartbeats when due and notices missed ones). A message is a method frame
 * (basic.deliver or basic.return), a header frame and body frames; they are
 * contiguous on their channel but channels interleave, so each channel has
 * its own struct inmsg. Everything a frame points to lives in librabbitmq's
 * pools, which are released after each batch: properties and body bytes
 * are copied out at once. A body larger than max_message is not stored; the
 * message completes as "oversize" so that the consumer can refuse it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amqp/internal.h"
#include "common/log.h"
#include "common/xalloc.h"

static char *dup_bytes(amqp_bytes_t b)
{
    return xstrndup(b.bytes ? (const char *)b.bytes : "", b.len);
}

static void copy_props(struct inmsg *m, const amqp_basic_properties_t *p)
{
    if (p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG)
        m->corr = dup_bytes(p->correlation_id);
    if (p->_flags & AMQP_BASIC_REPLY_TO_FLAG)
        m->reply_to = dup_bytes(p->reply_to);
    if (p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG)
        m->msg_id = dup_bytes(p->message_id);
    if (p->_flags & AMQP_BASIC_TYPE_FLAG)
        m->type = dup_bytes(p->type);
}

void mq_inmsg_reset(struct inmsg *m)
{
    free(m->corr);
    free(m->reply_to);
    free(m->msg_id);
    free(m->type);
    free(m->body);
    memset(m, 0, sizeof(*m));
}

static void complete(struct mq *mq, amqp_channel_t ch, struct inmsg *m)
{
    if (m->body)
        m->body[m->got] = '\0';
    if (m->is_return) {
        if (ch == CH_MAIN)
            mq_client_on_return(mq, m);
        else if (ch == CH_PUB)
            mq_pub_on_return(mq, m);
    } else if (ch == CH_MAIN) {
        if (strcmp(m->ctag, REPLY_TAG) == 0)
            mq_client_on_reply(mq, m);
        else
            mq_server_on_delivery(mq, m);
    }
    mq_inmsg_reset(m);
}

static void on_deliver(struct mq *mq, amqp_channel_t ch, const amqp_basic_deliver_t *d)
{
    struct inmsg *m = &mq->in[ch];

    mq_inmsg_reset(m);
    m->active = 1;
    m->tag = d->delivery_tag;
    m->redelivered = d->redelivered;
    snprintf(m->ctag, sizeof(m->ctag), "%.*s", (int)d->consumer_tag.len,
             (const char *)d->consumer_tag.bytes);
}

static void on_return(struct mq *mq, amqp_channel_t ch, const amqp_basic_return_t *r)
{
    struct inmsg *m = &mq->in[ch];

    mq_inmsg_reset(m);
    m->active = 1;
    m->is_return = 1;
    m->reply_code = r->reply_code;
}

static void on_broker_close(struct mq *mq, const amqp_connection_close_t *m)
{
    amqp_connection_close_ok_t ok = {0};

    /* Best effort: the broker closes the socket right after. */
    amqp_send_method(mq->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    mq_conn_lost(mq, -ECONNRESET, "closed by the broker: %.*s", (int)m->reply_text.len,
                 (const char *)m->reply_text.bytes);
}

static void on_cancel(struct mq *mq, const amqp_basic_cancel_t *c)
{
    char tag[64];

    snprintf(tag, sizeof(tag), "%.*s", (int)c->consumer_tag.len,
             (const char *)c->consumer_tag.bytes);
    if (strcmp(tag, REPLY_TAG) == 0)
        mq_conn_lost(mq, -EPROTO, "the broker cancelled the reply consumer");
    else
        mq_server_on_cancel(mq, tag);
}

static void on_method(struct mq *mq, amqp_channel_t ch, const amqp_method_t *mt)
{
    struct error e;

    switch (mt->id) {
    case AMQP_BASIC_DELIVER_METHOD:
        on_deliver(mq, ch, mt->decoded);
        break;
    case AMQP_BASIC_RETURN_METHOD:
        on_return(mq, ch, mt->decoded);
        break;
    case AMQP_BASIC_ACK_METHOD: {
        const amqp_basic_ack_t *a = mt->decoded;

        if (ch == CH_PUB)
            mq_pub_on_ack(mq, a->delivery_tag, a->multiple, 1);
        break;
    }
    case AMQP_BASIC_NACK_METHOD: {
        const amqp_basic_nack_t *n = mt->decoded;

        if (ch == CH_PUB)
            mq_pub_on_ack(mq, n->delivery_tag, n->multiple, 0);
        break;
    }
    case AMQP_BASIC_CANCEL_METHOD:
        on_cancel(mq, mt->decoded);
        break;
    case AMQP_CHANNEL_CLOSE_METHOD:
        mq_channel_closed(mq, ch, mt->decoded, "channel closed by the broker", &e);
        log_warn("amqp: %s", e.msg);
        break;
    case AMQP_CONNECTION_CLOSE_METHOD:
        on_broker_close(mq, mt->decoded);
        break;
    case AMQP_CONNECTION_BLOCKED_METHOD: {
        const amqp_connection_blocked_t *b = mt->decoded;

        log_warn("amqp: the broker blocks publishing: %.*s", (int)b->reason.len,
                 (const char *)b->reason.bytes);
        break;
    }
    case AMQP_CONNECTION_UNBLOCKED_METHOD:
        log_info("amqp: the broker unblocked publishing");
        break;
    default:
        log_debug("amqp: ignored method 0x%08x on channel %d", (unsigned)mt->id, ch);
        break;
    }
}

static void on_header(struct mq *mq, amqp_channel_t ch, const amqp_frame_t *f)
{
    struct inmsg *m = &mq->in[ch];
    uint64_t size = f->payload.properties.body_size;

    if (!m->active) {
        log_warn("amqp: content header without a method on channel %d", ch);
        return;
    }
    copy_props(m, f->payload.properties.decoded);
    m->size = (size_t)size;
    if (size > mq->o.max_message)
        m->oversize = 1;
    else
        m->body = xmalloc((size_t)size + 1);
    if (size == 0)
        complete(mq, ch, m);
}

static void on_body(struct mq *mq, amqp_channel_t ch, const amqp_frame_t *f)
{
    struct inmsg *m = &mq->in[ch];
    amqp_bytes_t b = f->payload.body_fragment;

    if (!m->active || b.len > m->size - m->got) {
        log_warn("amqp: unexpected content body on channel %d", ch);
        mq_inmsg_reset(m);
        return;
    }
    if (m->body)
        memcpy(m->body + m->got, b.bytes, b.len);
    m->got += b.len;
    if (m->got == m->size)
        complete(mq, ch, m);
}

static void on_frame(struct mq *mq, const amqp_frame_t *f)
{
    if (f->channel >= CH_COUNT) {
        log_warn("amqp: frame on unknown channel %d", f->channel);
        return;
    }
    switch (f->frame_type) {
    case AMQP_FRAME_METHOD:
        on_method(mq, f->channel, &f->payload.method);
        break;
    case AMQP_FRAME_HEADER:
        on_header(mq, f->channel, f);
        break;
    case AMQP_FRAME_BODY:
        on_body(mq, f->channel, f);
        break;
    default:
        break;
    }
}

int mq_frames_read(struct mq *mq)
{
    struct timeval zero = {0, 0};

    for (int i = 0; i < FRAMES_PER_TURN; i++) {
        amqp_frame_t f;
        int rc = amqp_simple_wait_frame_noblock(mq->conn, &f, &zero);

        if (rc == AMQP_STATUS_TIMEOUT)
            break;
        if (rc != AMQP_STATUS_OK) {
            mq_conn_lost(mq, rc == AMQP_STATUS_HEARTBEAT_TIMEOUT ? -ETIMEDOUT : -EIO, "%s",
                         amqp_error_string2(rc));
            return 0;
        }
        on_frame(mq, &f);
        if (mq->state != CONN_UP)
            return 0;
        if (i == FRAMES_PER_TURN - 1) {
            amqp_maybe_release_buffers(mq->conn);
            return 1;
        }
    }
    amqp_maybe_release_buffers(mq->conn);
    return 0;
}
