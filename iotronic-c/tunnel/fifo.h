/* tunnel/fifo.h: the byte queue between the two sides of a tunnelled connection.
 *
 * A contiguous buffer with a read offset, so that consuming what a write sent
 * costs nothing (common/buf.h moves the rest on every consume, which would
 * copy a megabyte per 64 KiB written). Memory is allocated on the first
 * append and released as soon as the queue is empty, so idle connections and
 * tunnels hold none: the board agent's memory target depends on it.
 *
 * TUN_FIFO_HEADROOM writable bytes always precede tun_fifo_data(): a
 * WebSocket writer (lws_write() needs LWS_PRE bytes before the payload) can
 * frame the data in place. Limits are the caller's business: the fifo grows as
 * asked, and callers stop reading the other side past their buffer_limit.
 * One owner: the connection that embeds it. Loop thread only. */
#ifndef IOT_TUNNEL_FIFO_H
#define IOT_TUNNEL_FIFO_H

#include <stddef.h>

#define TUN_FIFO_HEADROOM 32

struct tun_fifo {
    unsigned char *mem; /* NULL while empty */
    size_t off;         /* start of the data in mem (>= TUN_FIFO_HEADROOM) */
    size_t len;         /* bytes queued */
    size_t cap;         /* bytes allocated */
};

/* An empty fifo (all zero is empty too). */
void tun_fifo_init(struct tun_fifo *f);

/* Copies n bytes to the tail. */
void tun_fifo_append(struct tun_fifo *f, const void *p, size_t n);

/* Room for n bytes at the tail: write them, then tun_fifo_commit(f, n). The
 * pointer is valid until the next call on f. */
unsigned char *tun_fifo_reserve(struct tun_fifo *f, size_t n);
void tun_fifo_commit(struct tun_fifo *f, size_t n);

/* The first queued byte (with TUN_FIFO_HEADROOM writable bytes before it), or
 * NULL when empty. */
unsigned char *tun_fifo_data(struct tun_fifo *f);

static inline size_t tun_fifo_len(const struct tun_fifo *f)
{
    return f->len;
}

/* Drops the first n (<= len) bytes; frees the memory when nothing is left. */
void tun_fifo_consume(struct tun_fifo *f, size_t n);

/* Releases the memory; f is empty afterwards. */
void tun_fifo_free(struct tun_fifo *f);

#endif
