/* http/body.c: request bodies, as they arrive, into memory or a spool.
 *
 * The limit is enforced on the decoded size, so a chunked body that grows
 * past it answers 413 at that byte and the rest is never read. Input is
 * offered to the sink only as far as the sink has room (a spool has a fixed
 * buffer), so nothing is ever consumed that could not be stored. */
#include <stdint.h>

#include "http/internal.h"

static size_t room(struct http_req *r)
{
    return r->spool != NULL ? http_spool_room(r) : SIZE_MAX;
}

static int store(struct conn *c, struct http_req *r, const char *p, size_t n)
{
    const struct http_route *rt = r->route;

    if (r->body_seen + n > r->body_limit) {
        http_conn_error(c, 413, rt && rt->too_large ? rt->too_large : c->srv->svc.msgs.too_large);
        return -1;
    }
    r->body_seen += n;
    if (r->spool != NULL) {
        http_spool_accept(r, p, n);
        return 0;
    }
    if (buf_append(&r->body, p, n) < 0) {
        /* Cannot happen: the buffer's limit is the body limit. */
        http_conn_error(c, 413, c->srv->svc.msgs.too_large);
        return -1;
    }
    return 0;
}

static void complete(struct conn *c, struct http_req *r)
{
    if (r->spool != NULL) {
        c->state = C_WAIT;
        http_spool_finish(r);
        return;
    }
    http_conn_dispatch(c);
}

static int finished(const struct http_req *r)
{
    return r->body_mode == BODY_LENGTH ? r->body_left == 0 : r->dec.done;
}

ssize_t http_body_feed(struct conn *c, const char *p, size_t n)
{
    struct http_req *r = c->req;
    size_t used = 0;

    while (used < n && !finished(r)) {
        size_t avail = room(r), take = n - used, dlen;
        const char *data;

        if (avail == 0)
            break;
        if (take > avail)
            take = avail;
        if (r->body_mode == BODY_LENGTH) {
            if (take > r->body_left)
                take = (size_t)r->body_left;
            data = p + used;
            dlen = take;
            r->body_left -= take;
        } else {
            ssize_t k = chunked_feed(&r->dec, p + used, take, &data, &dlen);

            if (k < 0) {
                http_conn_error(c, 400, c->srv->svc.msgs.bad_request);
                return -1;
            }
            take = (size_t)k;
        }
        if (dlen > 0 && store(c, r, data, dlen) < 0)
            return -1;
        used += take;
    }
    if (finished(r))
        complete(c, r);
    return (ssize_t)used;
}
