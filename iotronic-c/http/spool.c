/* http/spool.c: request bodies streamed to a temporary file (runtime images
 * of up to 512 MiB, deviceless-api.md 3.2), never held in memory whole.
 *
 * Double buffering: the loop fills one HTTP_SPOOL_CHUNK buffer while a
 * worker writes the other to the file and feeds it to SHA-256, so disk
 * writes and hashing stay off the event loop. When both buffers are taken
 * the connection stops reading until the writer is done; TCP flow control
 * then slows the client down. At most one write job per request is out at
 * a time, so the file is written in order. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "http/internal.h"

static int create_file(struct spool *s, const char *dir)
{
    char *path = xasprintf("%s/iot-upload-XXXXXX", dir);
    int fd = mkostemp(path, O_CLOEXEC);

    if (fd < 0) {
        s->err = errno;
        log_error("http: cannot create a spool file in %s: %s", dir, strerror(errno));
        free(path);
        return -1;
    }
    s->fd = fd;
    s->path = path;
    s->dg = crypto_digest_new(0);
    return 0;
}

/* Worker: writes the flush buffer. */
static void spool_work(void *arg, void *thread_ctx)
{
    struct http_req *r = arg;
    struct spool *s = r->spool;
    size_t off = 0;

    (void)thread_ctx;
    if (s->err != 0)
        return;
    if (s->fd < 0 && create_file(s, r->srv->spool_dir) < 0)
        return;
    while (off < s->flush_len) {
        ssize_t n = write(s->fd, s->flush + off, s->flush_len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            s->err = errno;
            log_error("http: writing the spool file %s: %s", s->path, strerror(errno));
            return;
        }
        off += (size_t)n;
    }
    crypto_digest_update(s->dg, s->flush, s->flush_len);
    s->size += s->flush_len;
}

static void spool_done(void *arg);

/* Hands the fill buffer to a writer. */
static void kick(struct http_req *r)
{
    struct spool *s = r->spool;
    char *t = s->flush;

    s->flush = s->fill;
    s->flush_len = s->fill_len;
    s->fill = t;
    s->fill_len = 0;
    s->busy = 1;
    http_req_submit_retry(r, spool_work, spool_done);
}

/* Everything is on disk: publish the upload and run the handler. */
static void finalize(struct http_req *r)
{
    struct spool *s = r->spool;

    if (s->fd < 0 && create_file(s, r->srv->spool_dir) < 0) {
        http_conn_error(r->conn, 503, r->srv->svc.msgs.unavailable);
        return;
    }
    crypto_digest_final(s->dg, r->upload.sha256);
    s->dg = NULL;
    r->upload.path = s->path;
    r->upload.fd = s->fd;
    r->upload.size = s->size;
    r->has_upload = 1;
    http_conn_dispatch(r->conn);
}

static void spool_done(void *arg)
{
    struct http_req *r = arg;
    struct spool *s = r->spool;

    r->inflight--;
    s->busy = 0;
    if (http_req_release_orphan(r))
        return;
    if (s->cancelled)
        return;
    if (s->err != 0) {
        http_conn_error(r->conn, 503, r->srv->svc.msgs.unavailable);
        return;
    }
    if (s->fill_len == HTTP_SPOOL_CHUNK || (s->finishing && s->fill_len > 0)) {
        kick(r);
        if (!s->finishing)
            http_conn_unpause(r->conn);
        return;
    }
    if (s->finishing)
        finalize(r);
    else
        http_conn_unpause(r->conn);
}

size_t http_spool_room(struct http_req *r)
{
    struct spool *s = r->spool;

    if (s->fill == NULL) {
        s->fill = xmalloc(HTTP_SPOOL_CHUNK);
        s->flush = xmalloc(HTTP_SPOOL_CHUNK);
    }
    if (s->fill_len == HTTP_SPOOL_CHUNK && !s->busy)
        kick(r);
    return HTTP_SPOOL_CHUNK - s->fill_len;
}

void http_spool_accept(struct http_req *r, const char *p, size_t n)
{
    struct spool *s = r->spool;

    memcpy(s->fill + s->fill_len, p, n);
    s->fill_len += n;
    if (s->fill_len == HTTP_SPOOL_CHUNK && !s->busy)
        kick(r);
}

void http_spool_finish(struct http_req *r)
{
    struct spool *s = r->spool;

    s->finishing = 1;
    if (s->busy)
        return; /* spool_done continues */
    if (s->fill_len > 0 || s->fd < 0) {
        /* Also for an empty body: the worker creates the (empty) file. */
        if (s->fill == NULL)
            (void)http_spool_room(r);
        kick(r);
        return;
    }
    finalize(r);
}

void http_spool_free(struct spool *s, int unlink_file)
{
    if (s == NULL)
        return;
    if (s->fd >= 0 && unlink_file) {
        close(s->fd);
        if (s->path != NULL && unlink(s->path) < 0 && errno != ENOENT)
            log_warn("http: cannot remove %s: %s", s->path, strerror(errno));
    }
    crypto_digest_free(s->dg);
    free(s->path);
    free(s->fill);
    free(s->flush);
    free(s);
}
