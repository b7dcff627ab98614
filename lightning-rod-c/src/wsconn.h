/* src/wsconn.h: the WebSocket that carries the agent's WAMP session
 * (board-protocol.md 2, 10.3, 10.4).
 *
 * A client connection on the process's lws context, offering the
 * subprotocol wamp.2.json and nothing else. Text messages are reassembled
 * from fragments up to max_message bytes and handed over whole; a binary
 * frame or a longer message is a protocol violation that closes the
 * connection (1003 / 1009). Frames to send wait in a FIFO and leave one per
 * WRITEABLE callback. wss:// is verified against the system CAs or ca_file,
 * host name included, unless insecure (then a warning at every connection).
 * Pings: lws sends one after ping_interval without traffic and drops the
 * connection after twice that without any (the wagent pings too).
 *
 * Ownership: the owner holds a struct lrc_ws from lrc_ws_connect() until
 * either ops->closed() runs (the connection is then gone and freed) or the
 * owner calls lrc_ws_close() (no callback runs after it; the queued frames
 * are still flushed, bounded by a short timeout). One lrc_ws_ctx per agent,
 * made after loop_new() and freed before loop_free(). Loop thread only. */
#ifndef LRC_SRC_WSCONN_H
#define LRC_SRC_WSCONN_H

#include <stddef.h>
#include <sys/socket.h>

#include "common/error.h"
#include "loop/loop.h"

#define LRC_WS_SUBPROTOCOL "wamp.2.json"
#define LRC_WS_MAX_QUEUED (64u << 20) /* unsent bytes; beyond that the peer is not reading */

struct lrc_ws_ctx;
struct lrc_ws;

struct lrc_ws_opts {
    const char *ca_file;    /* NULL: the system's CAs */
    int insecure;           /* no certificate verification (warned per connection) */
    unsigned ping_interval; /* seconds */
    size_t max_message;     /* received message ceiling (board-protocol.md 2) */
};

struct lrc_ws_ops {
    void (*open)(void *arg);                          /* the upgrade succeeded */
    void (*frame)(void *arg, char *text, size_t len); /* one whole text message; taken (free) */
    void (*closed)(void *arg, const char *why);       /* gone; why is borrowed for the call */
};

int lrc_ws_ctx_new(struct loop *loop, const struct lrc_ws_opts *o, struct lrc_ws_ctx **out,
                   struct error *err) IOT_WUR;
void lrc_ws_ctx_free(struct lrc_ws_ctx *c); /* accepts NULL; every lrc_ws must be gone */

/* Starts connecting to url (ws:// or wss://). Returns 0 and *out; the
 * outcome comes through ops (closed() also for a failed connection, never
 * inside this call). -EINVAL for a bad URL, -EIO when lws refuses at once. */
int lrc_ws_connect(struct lrc_ws_ctx *c, const char *url, const struct lrc_ws_ops *ops, void *arg,
                   struct lrc_ws **out, struct error *err) IOT_WUR;

/* Queues one text frame (taken: from malloc). -ENOTCONN before open() or
 * after a close began, -ENOBUFS past LRC_WS_MAX_QUEUED (the frame is freed
 * either way). */
int lrc_ws_send(struct lrc_ws *ws, char *text, size_t len);

/* Detaches the owner: no callback runs after this. Queued frames are sent,
 * then the connection closes with status (1000 normal) within 2 s. */
void lrc_ws_close(struct lrc_ws *ws, int status);

/* The local address of the connected socket (for `connectivity`). 0 or
 * -ENOTCONN. */
int lrc_ws_local_addr(struct lrc_ws *ws, struct sockaddr_storage *out);

/* Bytes waiting to be sent. */
size_t lrc_ws_queued(const struct lrc_ws *ws);

#endif
