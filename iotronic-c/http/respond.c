/* http/respond.c: turns a request's response into bytes, once, on the
 * thread that finished it (usually a worker, so that the loop only writes).
 *
 * The serialised form is one buffer: LWS_PRE bytes of headroom (lws_write's
 * contract), the head, and the body unless it is a file or the request was
 * HEAD. Writing it in slices needs no copy, since the bytes before any slice
 * have already been sent. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "http/internal.h"
#include "http/range.h"

/* Per-thread cache of the Date header: formatting it costs more than the
 * rest of a small response. */
static __thread time_t date_sec;
static __thread char date_text[40];

static const char *http_date(void)
{
    time_t now = time(NULL);
    struct tm tm;

    if (now != date_sec) {
        gmtime_r(&now, &tm);
        strftime(date_text, sizeof(date_text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        date_sec = now;
    }
    return date_text;
}

const char *http_status_reason(int status)
{
    static const struct {
        int status;
        const char *reason;
    } reasons[] = {
        {100, "Continue"},
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {204, "No Content"},
        {206, "Partial Content"},
        {301, "Moved Permanently"},
        {302, "Found"},
        {304, "Not Modified"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {406, "Not Acceptable"},
        {408, "Request Timeout"},
        {409, "Conflict"},
        {410, "Gone"},
        {411, "Length Required"},
        {413, "Payload Too Large"},
        {415, "Unsupported Media Type"},
        {416, "Range Not Satisfiable"},
        {417, "Expectation Failed"},
        {422, "Unprocessable Entity"},
        {429, "Too Many Requests"},
        {431, "Request Header Fields Too Large"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
        {505, "HTTP Version Not Supported"},
    };

    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (reasons[i].status == status)
            return reasons[i].reason;
    return "Unknown";
}

/* Applies a Range header to a file response (HTTP_FILE_RANGES). */
static void apply_range(struct http_req *r)
{
    const char *range;
    uint64_t off, len;
    char cr[96];

    if (r->rfd < 0 || !(r->fflags & HTTP_FILE_RANGES))
        return;
    if (http_resp_header(r, "Accept-Ranges", "bytes") < 0)
        log_error("http: cannot add Accept-Ranges");
    range = r->status == 200 ? http_req_header(r, "Range") : NULL;
    switch (http_range_parse(range, r->fsize, &off, &len)) {
    case HTTP_RANGE_NONE:
        return;
    case HTTP_RANGE_OK:
        r->status = 206;
        r->foff = off;
        r->flen = len;
        snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, off, off + len - 1,
                 r->fsize);
        break;
    case HTTP_RANGE_UNSATISFIABLE:
        snprintf(cr, sizeof(cr), "bytes */%" PRIu64, r->fsize);
        http_server_error(r, 416, r->srv->svc.msgs.range);
        break;
    }
    if (http_resp_header(r, "Content-Range", cr) < 0)
        log_error("http: cannot add Content-Range");
}

static int body_allowed(int status)
{
    return status != 204 && status != 304 && !(status >= 100 && status < 200);
}

static uint64_t content_length(const struct http_req *r)
{
    return r->rfd >= 0 ? r->flen : r->rlen;
}

static int keep_alive(const struct http_req *r)
{
    return r->parsed && !r->close && r->head.keep_alive;
}

static int cors_lines(struct http_req *r, struct buf *h)
{
    const struct http_cors *cors = r->srv->opts.cors;
    const char *origin;

    if (!http_cors_enabled(cors) || !r->parsed || r->preflight)
        return 0;
    origin = http_req_header(r, "Origin");
    return origin ? http_cors_actual(cors, origin, h) : 0;
}

static int build_head(struct http_req *r, struct buf *h)
{
    const char *idh = r->srv->svc.request_id_header;
    int rc;

    rc = buf_printf(h, "HTTP/1.1 %d %s\r\nDate: %s\r\n", r->status, http_status_reason(r->status),
                    http_date());
    if (rc == 0 && r->ctype != NULL && body_allowed(r->status))
        rc = buf_printf(h, "Content-Type: %s\r\n", r->ctype);
    if (rc == 0 && body_allowed(r->status))
        rc = buf_printf(h, "Content-Length: %" PRIu64 "\r\n", content_length(r));
    if (rc == 0)
        rc = buf_printf(h, "%s: %s\r\n", idh, r->reqid);
    if (rc == 0 && !keep_alive(r))
        rc = buf_append_str(h, "Connection: close\r\n");
    else if (rc == 0 && r->head.minor == 0)
        rc = buf_append_str(h, "Connection: keep-alive\r\n");
    if (rc == 0)
        rc = cors_lines(r, h);
    if (rc == 0 && r->rheaders.len > 0)
        rc = buf_append(h, r->rheaders.data, r->rheaders.len);
    if (rc == 0)
        rc = buf_append_str(h, "\r\n");
    return rc;
}

static void account(struct http_req *r, uint64_t bytes)
{
    struct http_server *srv = r->srv;
    int64_t us = time_mono_us() - r->t_start;
    const char *route = r->route ? (r->route->name ? r->route->name : r->route->pattern) : "none";
    const char *method = http_method_name(r->head.method);
    char status[8];

    log_info("http %s %s status=%d bytes=%" PRIu64 " us=%lld", http_req_method_name(r),
             r->path ? r->path : "-", r->status, bytes, (long long)us);
    if (srv->m_requests == NULL)
        return;
    snprintf(status, sizeof(status), "%d", r->status);
    metrics_inc(
        metrics_series(srv->m_requests,
                       (const char *const[]){srv->name, route, method ? method : "OTHER", status}));
    metrics_observe(srv->m_duration[r->route ? r->route_index : srv->svc.nroutes], us / 1e6);
}

void http_respond_finish(struct http_req *r)
{
    struct http_service *svc = &r->srv->svc;
    uint64_t bytes;
    size_t body = 0;
    struct buf h;

    http_req_ensure_id(r);
    if (r->t_start == 0)
        r->t_start = time_mono_us();
    apply_range(r);
    if (!body_allowed(r->status)) {
        free(r->rbody);
        r->rbody = NULL;
        r->rlen = 0;
    }
    if (svc->headers != NULL)
        svc->headers(r, svc->arg);
    buf_init(&h, 2 * HTTP_RESP_HEADERS_MAX);
    if (build_head(r, &h) < 0) {
        /* Only oversized extra headers get here: drop them. */
        log_error("http: response head too large; extra headers dropped");
        buf_reset(&r->rheaders);
        buf_reset(&h);
        if (build_head(r, &h) < 0)
            abort();
    }
    if (r->rfd < 0 && !r->head_only)
        body = r->rlen;
    bytes = body_allowed(r->status) && !r->head_only ? content_length(r) : 0;
    r->out = xmalloc(LWS_PRE + h.len + body);
    memcpy(r->out + LWS_PRE, h.data, h.len);
    if (body > 0)
        memcpy(r->out + LWS_PRE + h.len, r->rbody, body);
    r->out_len = h.len + body;
    r->out_sent = 0;
    buf_free(&h);
    free(r->rbody);
    r->rbody = NULL;
    if (r->rfd >= 0 && (r->head_only || r->status >= 400)) {
        close(r->rfd);
        r->rfd = -1;
    }
    account(r, bytes);
}
