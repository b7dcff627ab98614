/* http/pump.c: file bodies (blob and archive downloads), read on workers
 * and written by the loop.
 *
 * Two buffers: while the loop writes one to the socket a worker pread()s
 * the next chunk into the other, so a slow disk never stalls the loop and a
 * slow client never makes us read ahead more than one chunk. One read job
 * per request at a time keeps the chunks in order. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "http/internal.h"

static void pump_work(void *arg, void *thread_ctx)
{
    struct http_req *r = arg;
    struct pump *p = r->pump;
    int i = p->reading;
    size_t want = p->left < HTTP_SPOOL_CHUNK ? (size_t)p->left : HTTP_SPOOL_CHUNK, got = 0;

    (void)thread_ctx;
    while (got < want) {
        ssize_t n = pread(p->fd, p->buf[i] + LWS_PRE + got, want - got, (off_t)(p->off + got));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* The file shrank or failed under us: the response cannot be
             * completed, and the connection will be closed. */
            p->job_err = n < 0 ? errno : EIO;
            log_error("http: reading a response body: %s",
                      n < 0 ? strerror(errno) : "unexpected end of file");
            break;
        }
        got += (size_t)n;
    }
    p->len[i] = got;
}

static void pump_done(void *arg);

static void kick(struct http_req *r)
{
    struct pump *p = r->pump;

    if (p->reading >= 0 || p->left == 0 || p->err != 0)
        return;
    for (int k = 0; k < 2; k++) {
        int i = (p->cur + k) & 1;

        if (!p->ready[i]) {
            p->reading = i;
            http_req_submit_retry(r, pump_work, pump_done);
            return;
        }
    }
}

static void pump_done(void *arg)
{
    struct http_req *r = arg;
    struct pump *p = r->pump;
    int i = p->reading;

    r->inflight--;
    p->reading = -1;
    if (http_req_release_orphan(r))
        return;
    p->err = p->job_err;
    if (p->err == 0) {
        p->ready[i] = 1;
        p->sent[i] = 0;
        p->off += p->len[i];
        p->left -= p->len[i];
        kick(r);
    }
    lws_callback_on_writable(r->conn->wsi);
}

void http_pump_start(struct http_req *r)
{
    struct pump *p = xcalloc(1, sizeof(*p));

    p->fd = r->rfd;
    r->rfd = -1;
    p->off = r->foff;
    p->left = r->flen;
    p->reading = -1;
    for (int i = 0; i < 2; i++)
        p->buf[i] = xmalloc(LWS_PRE + HTTP_SPOOL_CHUNK);
    r->pump = p;
    kick(r);
}

int http_pump_write(struct http_req *r, struct lws *wsi)
{
    struct pump *p = r->pump;
    int i = p->cur;
    size_t n;

    if (p->err != 0)
        return -1;
    if (!p->ready[i])
        return p->left == 0 && p->reading < 0 ? 1 : 0; /* done, or pump_done wakes us */
    n = p->len[i] - p->sent[i];
    if (n > HTTP_WRITE_CHUNK)
        n = HTTP_WRITE_CHUNK;
    if (lws_write(wsi, (unsigned char *)p->buf[i] + LWS_PRE + p->sent[i], n, LWS_WRITE_RAW) < 0)
        return -1;
    p->sent[i] += n;
    if (p->sent[i] == p->len[i]) {
        p->ready[i] = 0;
        p->cur ^= 1;
        kick(r);
    }
    if (p->ready[p->cur] || (p->left == 0 && p->reading < 0 && !p->ready[p->cur ^ 1]))
        lws_callback_on_writable(wsi); /* more to write, or come back to finish */
    return 0;
}

void http_pump_free(struct pump *p)
{
    if (p == NULL)
        return;
    if (p->fd >= 0)
        close(p->fd);
    free(p->buf[0]);
    free(p->buf[1]);
    free(p);
}
