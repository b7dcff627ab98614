/* tests/tools/httptest/routes.c: the routes of the test daemon.
 *
 *   GET  /                     public, inline: {"name": "httptest"}
 *   GET  /v1                   public, on a worker
 *   *    /echo[/{a}[/{b}]]     echo of everything the handler can see
 *   GET  /echo/detail          a literal segment that beats {a}
 *   GET  /slow?ms=N            sleeps N ms on the worker (at most 10 s)
 *   POST /small                body limit [httptest] small_max
 *   PUT  /upload[?keep=NAME]   spooled body: size and sha256; keep moves
 *                              the file to files_dir/NAME
 *   GET  /files/{name}         files_dir/NAME with Range support
 *   GET  /policy/{rule}        policy check against ?owner= &project_id=
 *   GET  /status/{code}        answers with that status
 *   GET  /bench, /bench/inline trivial answers for wrk
 *   GET  /whoami               the caller
 * Hooks: /alias/... is rewritten to /echo/...; a request carrying
 * X-Test-Reject is answered 406 by the before hook; every response gets
 * X-Test-Hook: <status>. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "httptest.h"

static struct httptest *ctx(struct http_req *r)
{
    return http_req_service(r);
}

/* A JSON body from a format. */
static void reply(struct http_req *r, int status, const char *fmt, ...) IOT_PRINTF(3, 4);
static void reply(struct http_req *r, int status, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = xvasprintf(fmt, ap);
    va_end(ap);
    http_resp_body_take(r, status, NULL, s, strlen(s));
}

static void root(struct http_req *r)
{
    static const char body[] = "{\"name\": \"httptest\"}";

    http_resp_body(r, 200, NULL, body, sizeof(body) - 1);
}

static void v1(struct http_req *r)
{
    static const char body[] = "{\"id\": \"v1\"}";

    http_resp_body(r, 200, NULL, body, sizeof(body) - 1);
}

static cJSON *identity_json(struct http_req *r)
{
    const struct auth_cred *c = http_req_cred(r);
    const struct auth_identity *id = c->id;
    cJSON *o = cJSON_CreateObject(), *roles = cJSON_AddArrayToObject(o, "roles");

    json_add_str_or_null(o, "user_id", id->user_id);
    json_add_str_or_null(o, "user_name", id->user_name);
    json_add_str_or_null(o, "project_id", id->project_id);
    json_add_str_or_null(o, "project_name", id->project_name);
    json_add_str_or_null(o, "project_domain_id", id->project_domain_id);
    json_add_str_or_null(o, "domain_id", id->domain_id);
    for (size_t i = 0; i < id->nroles; i++)
        cJSON_AddItemToArray(roles, cJSON_CreateString(id->roles[i]));
    cJSON_AddBoolToObject(o, "is_admin", c->is_admin);
    cJSON_AddBoolToObject(o, "is_public_api", c->is_public_api);
    return o;
}

static cJSON *pairs(size_t n, const struct http_kv *(*at)(const struct http_req *, size_t),
                    struct http_req *r)
{
    cJSON *a = cJSON_CreateArray();

    for (size_t i = 0; i < n; i++) {
        const struct http_kv *kv = at(r, i);
        cJSON *p = cJSON_CreateArray();

        cJSON_AddItemToArray(p, cJSON_CreateString(kv->name));
        cJSON_AddItemToArray(p, cJSON_CreateString(kv->value));
        cJSON_AddItemToArray(a, p);
    }
    return a;
}

static void echo(struct http_req *r)
{
    cJSON *o = cJSON_CreateObject(), *segs, *params = cJSON_CreateObject();
    char *const *sv;
    size_t n = http_req_segments(r, &sv), blen;
    const char *body = http_req_body(r, &blen);
    int *worker = http_req_thread_ctx(r);

    cJSON_AddStringToObject(o, "method", http_req_method_name(r));
    cJSON_AddStringToObject(o, "path", http_req_path(r));
    cJSON_AddStringToObject(o, "target", http_req_target(r));
    segs = cJSON_AddArrayToObject(o, "segments");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(segs, cJSON_CreateString(sv[i]));
    for (const char *const *p = (const char *const[]){"a", "b", NULL}; *p; p++)
        if (http_req_param(r, *p) != NULL)
            cJSON_AddStringToObject(params, *p, http_req_param(r, *p));
    cJSON_AddItemToObject(o, "params", params);
    cJSON_AddItemToObject(o, "query", pairs(http_req_query_count(r), http_req_query_at, r));
    cJSON_AddItemToObject(o, "headers", pairs(http_req_header_count(r), http_req_header_at, r));
    cJSON_AddStringToObject(o, "media_type", http_req_media_type(r));
    cJSON_AddItemToObject(o, "body", cJSON_CreateString(body));
    json_add_int(o, "body_len", (int64_t)blen);
    cJSON_AddItemToObject(o, "identity", identity_json(r));
    cJSON_AddStringToObject(o, "request_id", http_req_id(r));
    json_add_int(o, "worker", worker ? *worker : -1);
    json_add_str_or_null(o, "base_url", http_req_base_url(r));
    http_resp_json(r, 200, o);
    cJSON_Delete(o);
}

static void echo_detail(struct http_req *r)
{
    static const char body[] = "{\"detail\": true}";

    http_resp_body(r, 200, NULL, body, sizeof(body) - 1);
}

static void whoami(struct http_req *r)
{
    cJSON *o = identity_json(r);

    http_resp_json(r, 200, o);
    cJSON_Delete(o);
}

static int64_t query_int(struct http_req *r, const char *name, int64_t def, int64_t max)
{
    const char *v = http_req_query(r, name);
    char *end;
    long long n;

    if (v == NULL)
        return def;
    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno != 0 || *end != '\0' || end == v || n < 0 || n > max)
        return -1;
    return n;
}

static void slow(struct http_req *r)
{
    int64_t ms = query_int(r, "ms", 100, 10000);

    if (ms < 0) {
        http_resp_error(r, 400, "Invalid input for field/attribute ms.");
        return;
    }
    usleep((useconds_t)ms * 1000);
    reply(r, 200, "{\"slept\": %lld}", (long long)ms);
}

static void small(struct http_req *r)
{
    size_t n;

    (void)http_req_body(r, &n);
    reply(r, 200, "{\"len\": %zu}", n);
}

/* A file name inside files_dir: no separators, no hidden names. */
static int valid_name(const char *s)
{
    return s != NULL && *s != '\0' && *s != '.' && strchr(s, '/') == NULL && strlen(s) < 200;
}

static void upload(struct http_req *r)
{
    const struct http_upload *u = http_req_upload(r);
    const char *keep = http_req_query(r, "keep");
    struct stat st;
    char *dest;
    int exists;

    if (u == NULL) {
        http_resp_error(r, 500, "no upload");
        return;
    }
    exists = stat(u->path, &st) == 0 && (uint64_t)st.st_size == u->size;
    if (keep != NULL) {
        if (!valid_name(keep) || ctx(r)->cfg.files_dir == NULL) {
            http_resp_error(r, 400, "Invalid keep name.");
            return;
        }
        dest = http_req_printf(r, "%s/%s", ctx(r)->cfg.files_dir, keep);
        if (rename(u->path, dest) < 0) {
            http_resp_error(r, 500, "rename: %s", strerror(errno));
            return;
        }
        close(u->fd);
        if (http_req_upload_claim(r) < 0)
            log_error("httptest: claim failed");
    }
    reply(r, 200, "{\"size\": %llu, \"sha256\": \"%s\", \"spooled\": %s, \"kept\": %s}",
          (unsigned long long)u->size, u->sha256, exists ? "true" : "false",
          keep ? "true" : "false");
}

static void files(struct http_req *r)
{
    const char *name = http_req_param(r, "name");
    struct stat st;
    char *path;
    int fd;

    if (!valid_name(name) || ctx(r)->cfg.files_dir == NULL) {
        http_resp_error(r, 404, "File %s not found.", name ? name : "");
        return;
    }
    path = http_req_printf(r, "%s/%s", ctx(r)->cfg.files_dir, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        http_resp_error(r, 404, "File %s not found.", name);
        return;
    }
    http_resp_file(r, 200, "application/octet-stream", fd, (uint64_t)st.st_size, HTTP_FILE_RANGES);
}

static void policy(struct http_req *r)
{
    const char *rule = http_req_param(r, "rule");
    const struct auth_cred *c = http_req_cred(r);
    struct policy_target t[2];
    size_t nt = 0;

    /* Absent keys stay absent; "null" stands for a null value. */
    for (const char *const *k = (const char *const[]){"owner", "project_id", NULL}; *k; k++) {
        const char *v = http_req_query(r, *k);

        if (v != NULL) {
            t[nt].key = *k;
            t[nt].value = strcmp(v, "null") == 0 ? NULL : v;
            nt++;
        }
    }
    if (policy_authorize(ctx(r)->policy, rule, c, t, nt) < 0) {
        http_resp_error(r, 403, "Access was denied to the following resource: %s", rule);
        return;
    }
    reply(r, 200, "{\"allowed\": true, \"enforced\": %s}",
          policy_enforcing(ctx(r)->policy) ? "true" : "false");
}

static void status(struct http_req *r)
{
    const char *code = http_req_param(r, "code");
    char *end;
    long n = strtol(code, &end, 10);

    if (*end != '\0' || n < 200 || n > 599) {
        http_resp_error(r, 400, "Invalid status %s.", code);
        return;
    }
    if (n >= 400)
        http_resp_error(r, (int)n, "Status %ld as asked.", n);
    else if (n == 204)
        http_resp_empty(r, 204);
    else
        reply(r, (int)n, "{\"status\": %ld}", n);
}

static void bench(struct http_req *r)
{
    static const char body[] = "{\"ok\": true}";

    http_resp_body(r, 200, NULL, body, sizeof(body) - 1);
}

#define PUB HTTP_ROUTE_PUBLIC
#define INL (HTTP_ROUTE_PUBLIC | HTTP_ROUTE_INLINE)

const struct http_route httptest_routes[] = {
    {HTTP_GET, "/", root, INL, 0, NULL, "root"},
    {HTTP_GET, "/v1", v1, PUB, 0, NULL, NULL},
    {HTTP_GET, "/echo", echo, 0, 0, NULL, NULL},
    {HTTP_POST, "/echo", echo, 0, 0, NULL, NULL},
    {HTTP_GET, "/echo/detail", echo_detail, 0, 0, NULL, NULL},
    {HTTP_GET, "/echo/{a}", echo, 0, 0, NULL, NULL},
    {HTTP_POST, "/echo/{a}", echo, 0, 0, NULL, NULL},
    {HTTP_PUT, "/echo/{a}", echo, 0, 0, NULL, NULL},
    {HTTP_PATCH, "/echo/{a}", echo, 0, 0, NULL, NULL},
    {HTTP_DELETE, "/echo/{a}", echo, 0, 0, NULL, NULL},
    {HTTP_GET, "/echo/{a}/{b}", echo, 0, 0, NULL, NULL},
    {HTTP_GET, "/echo/{a}/plugins/{b}", echo, 0, 0, NULL, NULL},
    {HTTP_GET, "/slow", slow, 0, 0, NULL, NULL},
    {HTTP_POST, "/small", small, 0, 0, NULL, NULL},                 /* max_body set at start */
    {HTTP_PUT, "/upload", upload, HTTP_ROUTE_SPOOL, 0, NULL, NULL}, /* likewise */
    {HTTP_GET, "/files/{name}", files, 0, 0, NULL, NULL},
    {HTTP_GET, "/policy/{rule}", policy, 0, 0, NULL, NULL},
    {HTTP_GET, "/status/{code}", status, 0, 0, NULL, NULL},
    {HTTP_GET, "/bench", bench, 0, 0, NULL, NULL},
    {HTTP_GET, "/bench/inline", bench, INL, 0, NULL, NULL},
    {HTTP_GET, "/whoami", whoami, 0, 0, NULL, NULL},
};
const size_t httptest_nroutes = sizeof(httptest_routes) / sizeof(httptest_routes[0]);

char *httptest_rewrite(const char *path, void *arg)
{
    (void)arg;
    if (strncmp(path, "/alias/", 7) == 0)
        return xasprintf("/echo/%s", path + 7);
    return NULL;
}

int httptest_before(struct http_req *r, void *arg)
{
    (void)arg;
    if (http_req_header(r, "X-Test-Reject") == NULL)
        return 0;
    http_resp_error(r, 406, "Rejected by the before hook.");
    return 1;
}

void httptest_headers(struct http_req *r, void *arg)
{
    char v[16];

    (void)arg;
    snprintf(v, sizeof(v), "%d", http_resp_status(r));
    if (http_resp_header(r, "X-Test-Hook", v) < 0)
        log_error("httptest: cannot add X-Test-Hook");
}
