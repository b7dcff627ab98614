/* http/request.c: the request object, its accessors and the response
 * setters of request.h. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "common/uuid.h"
#include "common/xalloc.h"
#include "http/internal.h"

struct http_req *http_req_new(struct http_server *srv, struct conn *c)
{
    struct http_req *r = xcalloc(1, sizeof(*r));

    r->srv = srv;
    r->conn = c;
    http_arena_init(&r->arena);
    buf_init(&r->body, srv->opts.max_body);
    buf_init(&r->rheaders, HTTP_RESP_HEADERS_MAX);
    r->cred.id = auth_identity_anonymous();
    r->rfd = -1;
    return r;
}

void http_req_free(struct http_req *r)
{
    if (r == NULL)
        return;
    if (ev_is_active(&r->retry))
        ev_timer_stop(loop_ev(r->srv->loop), &r->retry);
    http_spool_free(r->spool, !r->upload_claimed);
    http_pump_free(r->pump);
    if (r->rfd >= 0)
        close(r->rfd);
    auth_cred_release(&r->cred);
    buf_free(&r->body);
    buf_free(&r->rheaders);
    free(r->rbody);
    free(r->ctype);
    free(r->out);
    http_arena_free(&r->arena);
    free(r);
}

int http_req_release_orphan(struct http_req *r)
{
    if (r->conn != NULL || r->inflight > 0)
        return 0;
    http_req_free(r);
    return 1;
}

const char *http_req_ensure_id(struct http_req *r)
{
    char u[UUID_STR_LEN];

    if (r->reqid[0] == '\0') {
        uuid_v4(u);
        snprintf(r->reqid, sizeof(r->reqid), "req-%s", u);
    }
    return r->reqid;
}

static void retry_cb(struct ev_loop *ev, ev_timer *w, int revents)
{
    struct http_req *r = w->data;

    (void)ev;
    (void)revents;
    r->inflight--; /* the retry itself */
    if (http_req_release_orphan(r))
        return;
    http_req_submit_retry(r, r->retry_work, r->retry_done);
}

/* Continuation jobs (spool writes, file reads) belong to a request that was
 * already admitted, so a full pool delays them instead of refusing them.
 * The pending retry counts as a job so that a connection closing meanwhile
 * does not free the request under the timer. */
void http_req_submit_retry(struct http_req *r, wq_work_fn work, wq_done_fn done)
{
    int rc = wq_submit(r->srv->wq, work, done, r);

    if (rc == -ESHUTDOWN) {
        /* The daemon is stopping (wq_free runs the last completions): the
         * transfer cannot finish, and the connection goes with the loop. */
        if (r->conn != NULL)
            http_conn_kill(r->conn);
        return;
    }
    r->inflight++;
    if (rc == 0)
        return;
    if (rc != -EAGAIN)
        log_warn("http: worker pool refused a job: %s", strerror(-rc));
    r->retry_work = work;
    r->retry_done = done;
    ev_timer_init(&r->retry, retry_cb, HTTP_RETRY_MS / 1000.0, 0);
    r->retry.data = r;
    ev_timer_start(loop_ev(r->srv->loop), &r->retry);
}

/* ------------------------------------------------------------ accessors */

enum http_method http_req_method(const struct http_req *r)
{
    return r->head.method;
}

const char *http_req_method_name(const struct http_req *r)
{
    return r->head.method_name ? r->head.method_name : "";
}

const char *http_req_path(const struct http_req *r)
{
    return r->path;
}

const char *http_req_target(const struct http_req *r)
{
    return r->head.target;
}

size_t http_req_segments(const struct http_req *r, char *const **segs)
{
    *segs = r->segs;
    return r->nsegs;
}

const char *http_req_param(const struct http_req *r, const char *name)
{
    for (size_t i = 0; i < r->nparams; i++)
        if (strcmp(r->params[i].name, name) == 0)
            return r->params[i].value;
    return NULL;
}

const char *http_req_query(const struct http_req *r, const char *name)
{
    for (size_t i = r->nquery; i > 0; i--)
        if (strcmp(r->query[i - 1].name, name) == 0)
            return r->query[i - 1].value;
    return NULL;
}

size_t http_req_query_count(const struct http_req *r)
{
    return r->nquery;
}

const struct http_kv *http_req_query_at(const struct http_req *r, size_t i)
{
    return i < r->nquery ? &r->query[i] : NULL;
}

const char *http_req_header(const struct http_req *r, const char *name)
{
    for (size_t i = 0; i < r->head.nheaders; i++)
        if (strcasecmp(r->head.headers[i].name, name) == 0)
            return r->head.headers[i].value;
    return NULL;
}

size_t http_req_header_count(const struct http_req *r)
{
    return r->head.nheaders;
}

const struct http_kv *http_req_header_at(const struct http_req *r, size_t i)
{
    return i < r->head.nheaders ? &r->head.headers[i] : NULL;
}

const char *http_req_media_type(struct http_req *r)
{
    const char *ct;
    size_t n = 0;
    char *mt;

    if (r->media_type != NULL)
        return r->media_type;
    ct = http_req_header(r, "Content-Type");
    if (ct == NULL)
        return r->media_type = "";
    while (ct[n] && ct[n] != ';' && ct[n] != ' ' && ct[n] != '\t')
        n++;
    mt = http_arena_strndup(&r->arena, ct, n);
    for (char *p = mt; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return r->media_type = mt;
}

const char *http_req_body(const struct http_req *r, size_t *len)
{
    *len = r->body.len;
    return r->body.data ? r->body.data : "";
}

const struct http_upload *http_req_upload(const struct http_req *r)
{
    return r->has_upload && !r->upload_claimed ? &r->upload : NULL;
}

int http_req_upload_claim(struct http_req *r)
{
    if (!r->has_upload || r->upload_claimed)
        return -ENOENT;
    r->upload_claimed = 1;
    return 0;
}

const struct auth_cred *http_req_cred(const struct http_req *r)
{
    return &r->cred;
}

const char *http_req_id(const struct http_req *r)
{
    return r->reqid;
}

void *http_req_thread_ctx(const struct http_req *r)
{
    return r->thread_ctx;
}

void *http_req_service(const struct http_req *r)
{
    return r->srv->svc.arg;
}

const struct http_route *http_req_route(const struct http_req *r)
{
    return r->route;
}

const char *http_req_scheme(const struct http_req *r)
{
    return r->srv->tls ? "https" : "http";
}

const char *http_req_host(const struct http_req *r)
{
    return r->head.host;
}

const char *http_req_base_url(struct http_req *r)
{
    if (r->head.host == NULL || r->head.host[0] == '\0')
        return NULL;
    return http_req_printf(r, "%s://%s", http_req_scheme(r), r->head.host);
}

void *http_req_alloc(struct http_req *r, size_t n)
{
    return http_arena_alloc(&r->arena, n);
}

char *http_req_strdup(struct http_req *r, const char *s)
{
    return http_arena_strdup(&r->arena, s);
}

char *http_req_printf(struct http_req *r, const char *fmt, ...)
{
    va_list ap;
    char *tmp, *s;

    va_start(ap, fmt);
    tmp = xvasprintf(fmt, ap);
    va_end(ap);
    s = http_arena_strdup(&r->arena, tmp);
    free(tmp);
    return s;
}

/* ------------------------------------------------------------- response */

static int valid_token(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (*s <= 0x20 || *s >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", *s) != NULL)
            return 0;
    return 1;
}

int http_resp_header(struct http_req *r, const char *name, const char *value)
{
    static const char *const reserved[] = {"Content-Length", "Transfer-Encoding", "Connection"};

    if (name == NULL || value == NULL || !valid_token(name))
        return -EINVAL;
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strcasecmp(name, reserved[i]) == 0)
            return -EINVAL;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return -EINVAL;
    return buf_printf(&r->rheaders, "%s: %s\r\n", name, value);
}

/* Drops whatever response was set before. */
static void reset_body(struct http_req *r)
{
    free(r->rbody);
    r->rbody = NULL;
    r->rlen = 0;
    free(r->ctype);
    r->ctype = NULL;
    if (r->rfd >= 0)
        close(r->rfd);
    r->rfd = -1;
    r->fsize = r->foff = r->flen = 0;
    r->fflags = 0;
}

void http_resp_body_take(struct http_req *r, int status, const char *content_type, char *p,
                         size_t n)
{
    reset_body(r);
    r->status = status;
    r->ctype = xstrdup(content_type ? content_type : "application/json");
    r->rbody = p;
    r->rlen = p ? n : 0;
}

void http_resp_body(struct http_req *r, int status, const char *content_type, const void *p,
                    size_t n)
{
    char *copy = NULL;

    if (p != NULL && n > 0) {
        copy = xmalloc(n);
        memcpy(copy, p, n);
    }
    http_resp_body_take(r, status, content_type, copy, copy ? n : 0);
}

void http_resp_json(struct http_req *r, int status, const cJSON *j)
{
    char *text = json_print(j);

    http_resp_body_take(r, status, "application/json", text, strlen(text));
}

void http_server_error(struct http_req *r, int status, const char *message)
{
    http_error_fmt fmt = r->srv->svc.format_error;
    size_t len = 0;
    char *body = fmt(status, message, &len);

    http_resp_body_take(r, status, "application/json", body, len);
}

void http_resp_error(struct http_req *r, int status, const char *fmtstr, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmtstr);
    msg = xvasprintf(fmtstr, ap);
    va_end(ap);
    http_server_error(r, status, msg);
    free(msg);
}

void http_resp_empty(struct http_req *r, int status)
{
    reset_body(r);
    r->status = status;
}

void http_resp_file(struct http_req *r, int status, const char *content_type, int fd, uint64_t size,
                    unsigned flags)
{
    reset_body(r);
    r->status = status;
    r->ctype = xstrdup(content_type ? content_type : "application/octet-stream");
    r->rfd = fd;
    r->fsize = size;
    r->foff = 0;
    r->flen = size;
    r->fflags = flags;
}

int http_resp_status(const struct http_req *r)
{
    return r->status;
}
