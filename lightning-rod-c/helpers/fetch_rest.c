/* helpers/fetch_rest.c: see fetch.h.
 *
 * The request was validated by the agent (src/restsubmit.c: method,
 * allowlisted URL, header names and values, body); it is validated again
 * here because it crossed a process boundary, and nothing of it reaches
 * libcurl unchecked. The reply is built exactly as the agent built it when
 * it made the request itself: the status, the response headers (the last
 * response's, after a 100 Continue; a repeated name keeps its last value),
 * and the body, parsed as JSON when it is JSON and complete, else as text
 * cut at LRC_REST_BODY_MAX. */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/xalloc.h"
#include "helpers/fetch.h"
#include "helpers/hlp.h"
#include "src/restsubmit.h"

#define REQUEST_MAX (32 << 20) /* a WAMP message (16 MiB) with room for escapes */
#define HEADERS_MAX 65536
#define MAX_HEADERS 64
#define URL_MAX 8192
#define REST_NOFILE 64
#define REST_CPU_S 120

static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};

struct req {
    const char *method, *url, *body;
    int json, has_content_type;
    int64_t timeout_ms;
    struct curl_slist *headers;
};

struct xfer {
    struct buf body;
    cJSON *rheaders;
    size_t rheader_bytes;
    int truncated;
};

/* ------------------------------------------------------------ the request */

static int read_all(struct buf *b, struct error *err)
{
    char chunk[65536];
    ssize_t n;

    while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return error_set(err, -errno, "read the request: %s", strerror(errno));
        if (buf_append(b, chunk, (size_t)n) < 0)
            return error_set(err, -E2BIG, "the request is larger than %d bytes", REQUEST_MAX);
    }
    return 0;
}

static int header_line_ok(const char *h)
{
    const char *colon = strchr(h, ':');

    if (colon == NULL || colon == h || strlen(h) > 8192 + 258)
        return 0;
    for (const char *p = h; p < colon; p++)
        if (!isalnum((unsigned char)*p) && !strchr("!#$%&'*+-.^_`|~", *p))
            return 0;
    for (const char *p = colon + 1; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t')
            return 0;
    return 1;
}

static int parse_headers(const cJSON *arr, struct req *r, struct error *err)
{
    const cJSON *it;
    int n = 0;

    if (arr == NULL || cJSON_IsNull(arr))
        return 0;
    if (!cJSON_IsArray(arr))
        return error_set(err, -EINVAL, "headers must be an array");
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || !header_line_ok(it->valuestring) || ++n > MAX_HEADERS)
            return error_set(err, -EINVAL, "headers: item %d is not a valid header", n);
        r->headers = curl_slist_append(r->headers, it->valuestring);
    }
    return 0;
}

static int parse_method(const cJSON *o, struct req *r, struct error *err)
{
    const char *m;

    if (json_get_str(o, "method", JSON_REQUIRED, 16, &m, err) < 0)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(m, methods[i]) == 0) {
            r->method = methods[i];
            return 0;
        }
    return error_set(err, -EINVAL, "method must be one of GET POST PUT PATCH DELETE HEAD OPTIONS");
}

static int url_ok(const char *url)
{
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return 0;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return 0;
    return 1;
}

static int get_flag(const cJSON *o, const char *key, int *out, struct error *err)
{
    int rc = json_get_bool(o, key, JSON_OPTIONAL, out, err);

    return rc < 0 && rc != -ENOENT ? -EINVAL : 0;
}

static int get_body(const cJSON *o, struct req *r, struct error *err)
{
    int rc = json_get_str(o, "body", JSON_NULLABLE, REQUEST_MAX, &r->body, err);

    return rc < 0 && rc != -ENOENT ? -EINVAL : 0;
}

static int parse_request(const cJSON *o, struct req *r, struct error *err)
{
    int rc;

    if (!cJSON_IsObject(o))
        return error_set(err, -EINVAL, "not an object");
    rc = parse_method(o, r, err);
    if (rc == 0 && json_get_str(o, "url", JSON_REQUIRED, URL_MAX, &r->url, err) < 0)
        rc = -EINVAL;
    if (rc == 0 && !url_ok(r->url))
        rc = error_set(err, -EINVAL, "url must be an http:// or https:// URL without spaces");
    if (rc == 0)
        rc = get_body(o, r, err);
    if (rc == 0)
        rc = get_flag(o, "json", &r->json, err);
    if (rc == 0)
        rc = get_flag(o, "has_content_type", &r->has_content_type, err);
    if (rc == 0 && json_get_int(o, "timeout_ms", JSON_REQUIRED, 1,
                                (int64_t)LRC_REST_TIMEOUT_MAX * 1000, &r->timeout_ms, err) < 0)
        rc = -EINVAL;
    if (rc == 0)
        rc = parse_headers(cJSON_GetObjectItemCaseSensitive(o, "headers"), r, err);
    return rc;
}

/* ------------------------------------------------------------ the transfer */

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
    size_t len = size * n, klen;
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
    v = xstrndup(colon + 1, len - klen - 1);
    k = xstrndup(p, klen);
    for (char *e = v + strlen(v); e > v && isspace((unsigned char)e[-1]); e--)
        e[-1] = '\0';
    cJSON_DeleteItemFromObjectCaseSensitive(x->rheaders, k);
    cJSON_AddStringToObject(x->rheaders, k, v + strspn(v, " \t"));
    free(k);
    free(v);
    return len;
}

static void set_options(CURL *e, struct req *r, struct xfer *x, char *errbuf)
{
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    if (strcmp(r->method, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect could leave the allowlist */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    if (r->body != NULL) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
        /* no 100-continue round trip for small bodies */
        r->headers = curl_slist_append(r->headers, "Expect:");
    }
    if (r->json && !r->has_content_type)
        r->headers = curl_slist_append(r->headers, "Content-Type: application/json");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
}

static cJSON *reply_of(CURL *e, struct xfer *x)
{
    cJSON *o = cJSON_CreateObject(), *body = NULL;
    long status = 0;

    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
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

static int perform(struct req *r, cJSON **reply, struct error *err)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct xfer x = {0};
    CURLcode code;
    CURL *e;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return error_set(err, -EIO, "Request failed: curl_global_init failed");
    e = curl_easy_init();
    if (e == NULL)
        return error_set(err, -ENOMEM, "Request failed: curl_easy_init failed");
    buf_init(&x.body, LRC_REST_BODY_MAX);
    set_options(e, r, &x, errbuf);
    code = curl_easy_perform(e);
    if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && x.truncated))
        *reply = reply_of(e, &x);
    else
        error_set(err, -EIO, "Request failed: %s", errbuf[0] ? errbuf : curl_easy_strerror(code));
    curl_easy_cleanup(e);
    curl_global_cleanup();
    buf_free(&x.body);
    cJSON_Delete(x.rheaders);
    return *reply != NULL ? 0 : -EIO;
}

int fetch_rest_run(const struct fetch_ids *ids)
{
    struct hlp_sandbox sb = {.set_ids = ids->set_ids, .uid = ids->uid, .gid = ids->gid};
    struct req r = {0};
    struct error err = {0};
    cJSON *o = NULL, *reply = NULL, *res;
    struct buf in;
    int rc;

    buf_init(&in, REQUEST_MAX);
    sb.nofile = REST_NOFILE;
    sb.cpu_s = REST_CPU_S;
    rc = hlp_sandbox_enter(&sb, &err);
    if (rc < 0)
        error_prefix(&err, "sandbox");
    if (rc == 0)
        rc = read_all(&in, &err);
    if (rc == 0 && (json_parse(in.data ? in.data : "", in.len, &o, &err) < 0 ||
                    parse_request(o, &r, &err) < 0)) {
        err.code = -EINVAL;
        rc = error_prefix(&err, "the request");
    }
    if (rc == 0)
        rc = perform(&r, &reply, &err);
    curl_slist_free_all(r.headers);
    cJSON_Delete(o);
    buf_free(&in);
    if (rc < 0)
        return hlp_reply_err(NULL, &err);
    res = cJSON_CreateObject();
    cJSON_AddItemToObject(res, "reply", reply);
    return hlp_reply_ok(res);
}
