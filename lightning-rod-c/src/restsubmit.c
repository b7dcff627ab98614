/* src/restsubmit.c: see restsubmit.h.
 *
 * Validation (the allowlist above all) happens here, on the loop; the
 * request crosses to the helper as one JSON object on its stdin, and its
 * reply object comes back checked for shape before it is answered. */
#include "src/restsubmit.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "src/helper.h"

#define MAX_HEADERS 64
#define URL_MAX 4096
#define HELPER_GRACE_S 5.0
/* The reply: a 64 KiB body escaped as JSON text (up to 6 bytes a byte),
 * 64 KiB of headers, with room to spare. */
#define REPLY_MAX (LRC_REST_BODY_MAX * 6 + 2 * 65536)

static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};

struct xfer;

struct lrc_rest {
    struct ev_loop *ev;
    struct ctr_reaper *reaper;
    char *fetch_path;
    int set_ids;
    uid_t uid;
    gid_t gid;
    struct xfer *xfers; /* in flight */
};

struct xfer {
    struct lrc_rest *r;
    struct xfer *prev, *next;
    struct lrc_helper *helper;
    lrc_rest_fn fn;
    void *arg;
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

/* RFC 3986 percent-encoding of everything but the unreserved characters
 * (what curl_easy_escape() did). */
static int append_escaped(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;

    for (const unsigned char *p = (const unsigned char *)s; rc == 0 && *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            rc = buf_append(b, p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};

            rc = buf_append(b, e, sizeof(e));
        }
    }
    return rc;
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
        char *text = cJSON_IsString(it) ? xstrdup(it->valuestring) : json_print(it);

        if (rc == 0)
            rc = buf_append_str(&b, first ? "?" : "&");
        if (rc == 0)
            rc = append_escaped(&b, it->string);
        if (rc == 0)
            rc = buf_append_str(&b, "=");
        if (rc == 0)
            rc = append_escaped(&b, text);
        first = 0;
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

static void xfer_free(struct xfer *x)
{
    if (x->prev != NULL)
        x->prev->next = x->next;
    else if (x->r->xfers == x)
        x->r->xfers = x->next;
    if (x->next != NULL)
        x->next->prev = x->prev;
    lrc_helper_cancel(x->helper);
    free(x);
}

/* The reply as DeviceRestSubmit answers it: {"status": N, "headers": {...},
 * "body": any[, "truncated": true]}. A copy, or NULL when the helper's
 * object does not have that shape. */
static cJSON *reply_of(const cJSON *res)
{
    const cJSON *reply = cJSON_GetObjectItemCaseSensitive(res, "reply"), *h;
    int64_t status;

    h = cJSON_GetObjectItemCaseSensitive(reply, "headers");
    if (!cJSON_IsObject(reply) || !cJSON_IsObject(h) ||
        json_get_int(reply, "status", JSON_REQUIRED, 0, 999, &status, NULL) < 0 ||
        !cJSON_HasObjectItem(reply, "body"))
        return NULL;
    for (const cJSON *it = h->child; it != NULL; it = it->next)
        if (!cJSON_IsString(it))
            return NULL;
    return cJSON_Duplicate(reply, 1);
}

static void on_done(void *arg, int rc, const cJSON *res, const struct error *err)
{
    struct xfer *x = arg;
    cJSON *reply = NULL;

    x->helper = NULL;
    if (rc == 0 && (reply = reply_of(res)) == NULL)
        log_warn("lrc-fetch --rest: a reply without status, headers and body");
    if (reply != NULL) {
        x->fn(x->arg, 0, reply, NULL);
    } else if (rc < 0 && strncmp(err->msg, "Request failed: ", 16) == 0) {
        x->fn(x->arg, rc, NULL, err->msg);
    } else {
        char text[ERROR_MSG_MAX + 32];

        snprintf(text, sizeof(text), "Request failed: %s", rc < 0 ? err->msg : "bad reply");
        x->fn(x->arg, -EIO, NULL, text);
    }
    xfer_free(x);
}

struct lrc_rest *lrc_rest_new(struct ev_loop *ev, struct ctr_reaper *reaper, int set_ids, uid_t uid,
                              gid_t gid)
{
    struct lrc_rest *r = xcalloc(1, sizeof(*r));

    r->ev = ev;
    r->reaper = reaper;
    r->set_ids = set_ids;
    r->uid = uid;
    r->gid = gid;
    r->fetch_path = lrc_helper_find("lrc-fetch");
    if (r->fetch_path == NULL)
        log_error("lrc-fetch is not installed (looked beside this program and in %s): "
                  "DeviceRestSubmit will fail",
                  LRC_HELPER_DIR);
    return r;
}

/* The request object of `lrc-fetch --rest` (helpers/fetch.h). */
static char *request_text(const struct lrc_rest_req *req)
{
    cJSON *o = cJSON_CreateObject(), *h = cJSON_AddArrayToObject(o, "headers");
    char *text;

    cJSON_AddStringToObject(o, "method", req->method);
    cJSON_AddStringToObject(o, "url", req->url);
    for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
        cJSON_AddItemToArray(h, cJSON_CreateString(req->headers[i]));
    json_add_str_or_null(o, "body", req->body);
    cJSON_AddBoolToObject(o, "json", req->json);
    cJSON_AddBoolToObject(o, "has_content_type", req->has_content_type);
    json_add_int(o, "timeout_ms", (int64_t)(req->timeout_s * 1000));
    text = json_print(o);
    cJSON_Delete(o);
    return text;
}

int lrc_rest_start(struct lrc_rest *r, struct lrc_rest_req *req, lrc_rest_fn fn, void *arg,
                   struct error *err)
{
    char user[32], *input = request_text(req);
    const char *argv[] = {"lrc-fetch", "--rest", r->set_ids ? "--user" : NULL, user, NULL};
    struct lrc_helper_spec s = {0};
    struct xfer *x = xcalloc(1, sizeof(*x));
    double timeout_s = req->timeout_s;
    int rc;

    snprintf(user, sizeof(user), "%u:%u", (unsigned)r->uid, (unsigned)r->gid);
    lrc_rest_req_clear(req);
    x->r = r;
    x->fn = fn;
    x->arg = arg;
    s.path = r->fetch_path;
    s.argv = (char *const *)argv;
    s.input = input;
    s.input_len = strlen(input);
    s.output_max = REPLY_MAX;
    s.timeout_s = timeout_s + HELPER_GRACE_S; /* the helper ends it itself at timeout_s */
    rc = lrc_helper_start(r->ev, r->reaper, &s, on_done, x, &x->helper, err);
    free(input);
    if (rc < 0) {
        free(x);
        return error_prefix(err, "Request failed");
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
    free(r->fetch_path);
    free(r);
}
