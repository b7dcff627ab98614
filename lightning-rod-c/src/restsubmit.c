/* src/restsubmit.c: see restsubmit.h.
 *
 * libcurl's multi-socket interface on libev: curl tells us which sockets to
 * watch (one ev_io each) and when to call it back (one ev_timer); each event
 * goes back with curl_multi_socket_action(), and finished transfers are
 * collected with curl_multi_info_read(). */
#include "src/restsubmit.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"

#define HEADERS_MAX 65536
#define MAX_HEADERS 64
#define URL_MAX 4096

static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};

struct xfer;

struct lrc_rest {
    struct ev_loop *ev;
    CURLM *multi;
    ev_timer timer;
    struct xfer *xfers; /* in flight */
};

struct sock {
    ev_io io;
    struct lrc_rest *r;
};

struct xfer {
    struct lrc_rest *r;
    struct xfer *prev, *next;
    CURL *easy;
    struct curl_slist *hdrs;
    struct lrc_rest_req req;
    struct buf body;
    cJSON *rheaders;
    size_t rheader_bytes;
    int truncated;
    lrc_rest_fn fn;
    void *arg;
    char errbuf[CURL_ERROR_SIZE];
};

/* ------------------------------------------------------------ validation */

int lrc_rest_allowed(const char *url, char *const *allow)
{
    for (size_t i = 0; allow != NULL && allow[i] != NULL; i++) {
        size_t n = strlen(allow[i]);
        char next;

        if (n == 0 || strncmp(url, allow[i], n) != 0)
            continue;
        next = url[n];
        if (allow[i][n - 1] == '/' || next == '\0' || next == '/' || next == ':' || next == '?' ||
            next == '#')
            return 1;
    }
    return 0;
}

static int header_ok(const char *name, const char *value)
{
    if (name[0] == '\0' || strlen(name) > 256 || strlen(value) > 8192)
        return 0;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("!#$%&'*+-.^_`|~", *p))
            return 0;
    for (const char *p = value; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t')
            return 0;
    return 1;
}

static int parse_headers(const cJSON *h, struct lrc_rest_req *req, struct error *err)
{
    const cJSON *it;
    size_t n = 0;

    if (h == NULL || cJSON_IsNull(h))
        return 0;
    if (!cJSON_IsObject(h))
        return error_set(err, -EINVAL, "headers must be an object");
    req->headers = xcalloc(MAX_HEADERS + 1, sizeof(char *));
    cJSON_ArrayForEach(it, h)
    {
        if (!cJSON_IsString(it) || !header_ok(it->string, it->valuestring))
            return error_set(err, -EINVAL, "headers: %.64s is not a valid header", it->string);
        if (n == MAX_HEADERS)
            return error_set(err, -EINVAL, "headers: more than %d", MAX_HEADERS);
        req->headers[n++] = xasprintf("%s: %s", it->string, it->valuestring);
        if (strcasecmp(it->string, "Content-Type") == 0)
            req->has_content_type = 1;
    }
    return 0;
}

/* Appends `params` to the URL as an encoded query. */
static int parse_params(const cJSON *p, struct lrc_rest_req *req, struct error *err)
{
    struct buf b;
    const cJSON *it;
    int first = strchr(req->url, '?') == NULL, rc = 0;

    if (p == NULL || cJSON_IsNull(p))
        return 0;
    if (!cJSON_IsObject(p))
        return error_set(err, -EINVAL, "params must be an object");
    buf_init(&b, URL_MAX);
    rc = buf_append_str(&b, req->url);
    cJSON_ArrayForEach(it, p)
    {
        char *k, *v, *text = cJSON_IsString(it) ? xstrdup(it->valuestring) : json_print(it);

        k = curl_easy_escape(NULL, it->string, 0);
        v = curl_easy_escape(NULL, text, 0);
        if (rc == 0)
            rc = buf_printf(&b, "%s%s=%s", first ? "?" : "&", k ? k : "", v ? v : "");
        first = 0;
        curl_free(k);
        curl_free(v);
        free(text);
    }
    if (rc < 0) {
        buf_free(&b);
        return error_set(err, -EINVAL, "params make the URL longer than %d bytes", URL_MAX);
    }
    free(req->url);
    req->url = buf_take(&b, NULL);
    return 0;
}

static int parse_body(const cJSON *params, struct lrc_rest_req *req, struct error *err)
{
    const cJSON *json = cJSON_GetObjectItemCaseSensitive(params, "json");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(params, "data");

    if (json != NULL && data != NULL)
        return error_set(err, -EINVAL, "json and data are exclusive");
    if (json != NULL) {
        req->body = json_print(json);
        req->body_len = strlen(req->body);
        req->json = 1;
        return 0;
    }
    if (data == NULL || cJSON_IsNull(data))
        return 0;
    if (!cJSON_IsString(data))
        return error_set(err, -EINVAL, "data must be a string");
    req->body = xstrdup(data->valuestring);
    req->body_len = strlen(req->body);
    return 0;
}

static int parse_method(const cJSON *params, struct lrc_rest_req *req, struct error *err)
{
    const char *m;

    if (json_get_str(params, "method", JSON_REQUIRED, 16, &m, err) < 0)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcasecmp(m, methods[i]) == 0) {
            snprintf(req->method, sizeof(req->method), "%s", methods[i]);
            return 0;
        }
    return error_set(err, -EINVAL, "method must be one of GET POST PUT PATCH DELETE HEAD OPTIONS");
}

int lrc_rest_parse(const cJSON *params, char *const *allow, struct lrc_rest_req *req,
                   struct error *err)
{
    const char *url;
    double t = 10.0;
    int rc;

    memset(req, 0, sizeof(*req));
    if (parse_method(params, req, err) < 0 ||
        json_get_str(params, "url", JSON_REQUIRED, URL_MAX, &url, err) < 0)
        return -EINVAL;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return error_set(err, -EINVAL, "url must be an http:// or https:// URL");
    if (!lrc_rest_allowed(url, allow))
        return error_set(err, -EINVAL, "URL not allowed.");
    rc = json_get_double(params, "timeout", JSON_NULLABLE, &t, err);
    if (rc < 0 && rc != -ENOENT)
        return -EINVAL;
    if (rc != 0)
        t = 10.0;
    if (!(t > 0 && t <= LRC_REST_TIMEOUT_MAX))
        return error_set(err, -EINVAL, "timeout must be a number of seconds in (0, %d]",
                         LRC_REST_TIMEOUT_MAX);
    req->timeout_s = t;
    req->url = xstrdup(url);
    rc = parse_params(cJSON_GetObjectItemCaseSensitive(params, "params"), req, err);
    if (rc == 0)
        rc = parse_headers(cJSON_GetObjectItemCaseSensitive(params, "headers"), req, err);
    if (rc == 0)
        rc = parse_body(params, req, err);
    if (rc < 0)
        lrc_rest_req_clear(req);
    return rc;
}

void lrc_rest_req_clear(struct lrc_rest_req *req)
{
    free(req->url);
    for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
        free(req->headers[i]);
    free(req->headers);
    free(req->body);
    memset(req, 0, sizeof(*req));
}

/* ------------------------------------------------------------ transfers */

static void check_done(struct lrc_rest *r);

static void on_sock(struct ev_loop *ev, ev_io *w, int revents)
{
    struct lrc_rest *r = ((struct sock *)w)->r; /* the action may free the sock */
    int running, flags = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
                         (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);

    (void)ev;
    curl_multi_socket_action(r->multi, w->fd, flags, &running);
    check_done(r);
}

static int socket_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *sockp)
{
    struct lrc_rest *r = userp;
    struct sock *s = sockp;
    int events = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);

    (void)e;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            ev_io_stop(r->ev, &s->io);
            free(s);
            curl_multi_assign(r->multi, fd, NULL);
        }
        return 0;
    }
    if (s == NULL) {
        s = xcalloc(1, sizeof(*s));
        s->r = r;
        curl_multi_assign(r->multi, fd, s);
    } else {
        ev_io_stop(r->ev, &s->io);
    }
    ev_io_init(&s->io, on_sock, fd, events);
    ev_io_start(r->ev, &s->io);
    return 0;
}

static void on_timer(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct lrc_rest *r = t->data;
    int running;

    (void)ev;
    (void)revents;
    curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(r);
}

static int timer_cb(CURLM *m, long ms, void *userp)
{
    struct lrc_rest *r = userp;

    (void)m;
    ev_timer_stop(r->ev, &r->timer);
    if (ms >= 0) {
        ev_timer_set(&r->timer, (double)ms / 1000.0, 0.);
        ev_timer_start(r->ev, &r->timer);
    }
    return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n, room = LRC_REST_BODY_MAX - x->body.len;

    if (len > room) {
        if (room > 0 && buf_append(&x->body, p, room) < 0)
            return 0;
        x->truncated = 1;
        return 0; /* ends the transfer: the body is bounded */
    }
    return buf_append(&x->body, p, len) == 0 ? len : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n, klen, vlen;
    const char *colon = memchr(p, ':', len);
    char *k, *v;

    x->rheader_bytes += len;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        cJSON_Delete(x->rheaders); /* a new response (after 100 Continue) */
        x->rheaders = cJSON_CreateObject();
        return len;
    }
    if (colon == NULL || x->rheader_bytes > HEADERS_MAX)
        return len;
    klen = (size_t)(colon - p);
    vlen = len - klen - 1;
    v = xstrndup(colon + 1, vlen);
    k = xstrndup(p, klen);
    for (char *e = v + strlen(v); e > v && isspace((unsigned char)e[-1]); e--)
        e[-1] = '\0';
    cJSON_DeleteItemFromObjectCaseSensitive(x->rheaders, k);
    cJSON_AddStringToObject(x->rheaders, k, v + strspn(v, " \t"));
    free(k);
    free(v);
    return len;
}

static void xfer_free(struct xfer *x)
{
    if (x->prev != NULL)
        x->prev->next = x->next;
    else if (x->r->xfers == x)
        x->r->xfers = x->next;
    if (x->next != NULL)
        x->next->prev = x->prev;
    if (x->easy != NULL) {
        curl_multi_remove_handle(x->r->multi, x->easy);
        curl_easy_cleanup(x->easy);
    }
    curl_slist_free_all(x->hdrs);
    lrc_rest_req_clear(&x->req);
    buf_free(&x->body);
    cJSON_Delete(x->rheaders);
    free(x);
}

static cJSON *reply_of(struct xfer *x)
{
    cJSON *o = cJSON_CreateObject(), *body = NULL;
    long status = 0;

    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    json_add_int(o, "status", status);
    cJSON_AddItemToObject(o, "headers", x->rheaders ? x->rheaders : cJSON_CreateObject());
    x->rheaders = NULL;
    if (!x->truncated && x->body.len > 0 && json_parse(x->body.data, x->body.len, &body, NULL) == 0)
        cJSON_AddItemToObject(o, "body", body);
    else
        cJSON_AddItemToObject(o, "body", cJSON_CreateString(x->body.data ? x->body.data : ""));
    if (x->truncated)
        cJSON_AddTrueToObject(o, "truncated");
    return o;
}

static void finish(struct xfer *x, CURLcode code)
{
    if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && x->truncated)) {
        x->fn(x->arg, 0, reply_of(x), NULL);
    } else {
        char text[CURL_ERROR_SIZE + 64];

        snprintf(text, sizeof(text), "Request failed: %s",
                 x->errbuf[0] ? x->errbuf : curl_easy_strerror(code));
        x->fn(x->arg, -EIO, NULL, text);
    }
    xfer_free(x);
}

static void check_done(struct lrc_rest *r)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(r->multi, &left)) != NULL) {
        struct xfer *x = NULL;

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        finish(x, m->data.result);
    }
}

struct lrc_rest *lrc_rest_new(struct ev_loop *ev)
{
    struct lrc_rest *r = xcalloc(1, sizeof(*r));

    r->ev = ev;
    ev_timer_init(&r->timer, on_timer, 0., 0.);
    r->timer.data = r;
    return r;
}

static int multi(struct lrc_rest *r, struct error *err)
{
    if (r->multi != NULL)
        return 0;
    r->multi = curl_multi_init();
    if (r->multi == NULL)
        return error_set(err, -ENOMEM, "cannot create a curl multi handle");
    curl_multi_setopt(r->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(r->multi, CURLMOPT_SOCKETDATA, r);
    curl_multi_setopt(r->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(r->multi, CURLMOPT_TIMERDATA, r);
    return 0;
}

static void set_options(struct xfer *x)
{
    CURL *e = x->easy;

    curl_easy_setopt(e, CURLOPT_URL, x->req.url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->req.method);
    if (strcmp(x->req.method, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(x->req.timeout_s * 1000));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    if (x->req.body != NULL) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->req.body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)x->req.body_len);
    }
    for (size_t i = 0; x->req.headers != NULL && x->req.headers[i] != NULL; i++)
        x->hdrs = curl_slist_append(x->hdrs, x->req.headers[i]);
    if (x->req.body != NULL) /* no 100-continue round trip for small bodies */
        x->hdrs = curl_slist_append(x->hdrs, "Expect:");
    if (x->req.json && !x->req.has_content_type)
        x->hdrs = curl_slist_append(x->hdrs, "Content-Type: application/json");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
}

int lrc_rest_start(struct lrc_rest *r, struct lrc_rest_req *req, lrc_rest_fn fn, void *arg,
                   struct error *err)
{
    struct xfer *x;

    if (multi(r, err) < 0) {
        lrc_rest_req_clear(req);
        return -ENOMEM;
    }
    x = xcalloc(1, sizeof(*x));
    x->r = r;
    x->req = *req;
    memset(req, 0, sizeof(*req));
    x->fn = fn;
    x->arg = arg;
    buf_init(&x->body, LRC_REST_BODY_MAX);
    x->easy = curl_easy_init();
    if (x->easy == NULL) {
        xfer_free(x);
        return error_set(err, -ENOMEM, "cannot create a curl handle");
    }
    set_options(x);
    if (curl_multi_add_handle(r->multi, x->easy) != CURLM_OK) {
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
        xfer_free(x);
        return error_set(err, -EIO, "cannot start the request");
    }
    x->next = r->xfers;
    if (r->xfers != NULL)
        r->xfers->prev = x;
    r->xfers = x;
    return 0;
}

void lrc_rest_free(struct lrc_rest *r)
{
    if (r == NULL)
        return;
    while (r->xfers != NULL)
        xfer_free(r->xfers);
    if (r->multi != NULL)
        curl_multi_cleanup(r->multi);
    ev_timer_stop(r->ev, &r->timer);
    free(r);
}
