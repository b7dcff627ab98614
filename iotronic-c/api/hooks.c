/* api/hooks.c: the service hooks of iotronic-api (iotronic-api-v1.md 1.2,
 * 1.4, 1.7). Every path but "/" is under /v1: a path whose first segment is
 * not "v1" is routed as if "/v1" were prefixed (bookmark links rely on it).
 * Under /v1 the version header is checked after authentication and before
 * routing (406), and every response carries the min/max version headers;
 * all but the 406s also carry the served version. */
#include <string.h>

#include "api/api.h"
#include "api/fault.h"
#include "api/version.h"
#include "common/xalloc.h"

static int is_root(const char *path)
{
    return path == NULL || strcmp(path, "/") == 0 || path[0] == '\0';
}

static char *rewrite_path(const char *raw, void *arg)
{
    (void)arg;
    if (is_root(raw))
        return NULL;
    if (strncmp(raw, "/v1", 3) == 0 && (raw[3] == '\0' || raw[3] == '/'))
        return NULL;
    return xasprintf("/v1%s", raw[0] == '/' ? raw : "/");
}

static int before(struct http_req *r, void *arg)
{
    struct error err;

    (void)arg;
    if (is_root(http_req_path(r)))
        return 0; /* the root document ignores the version header */
    if (api_version_check(http_req_header(r, API_VERSION_HEADER), &err) == 0)
        return 0;
    http_resp_error(r, 406, "%s", err.msg);
    return 1;
}

static void headers(struct http_req *r, void *arg)
{
    const char *path = http_req_path(r);

    (void)arg;
    /* The server sends Openstack-Request-Id (1.5); clients derived from
     * ironicclient look for X-OpenStack-Request-Id, so both carry the id. */
    if (http_req_id(r) != NULL && http_resp_header(r, "X-OpenStack-Request-Id", http_req_id(r)) < 0)
        return;
    if (is_root(path))
        return;
    /* Header names and values are constants: these cannot fail. */
    if (http_resp_header(r, API_MIN_VERSION_HEADER, API_VERSION) < 0 ||
        http_resp_header(r, API_MAX_VERSION_HEADER, API_VERSION) < 0)
        return;
    if (http_resp_status(r) != 406 && http_resp_header(r, API_VERSION_HEADER, API_VERSION) < 0)
        return;
}

void api_service_init(struct api *a, struct http_service *svc)
{
    memset(svc, 0, sizeof(*svc));
    svc->routes = api_routes;
    svc->nroutes = api_nroutes;
    svc->arg = a;
    svc->rewrite_path = rewrite_path;
    svc->before = before;
    svc->headers = headers;
    svc->format_error = http_error_body_nested;
    svc->msgs.not_found = "The resource could not be found.";
    svc->msgs.method_not_allowed = "The method %s is not allowed for this resource.";
    svc->msgs.too_large = "Request is too large.";
    svc->msgs.headers_too_large = "Request header fields too large.";
    svc->msgs.unavailable = "Resource temporarily unavailable, please retry.";
    svc->msgs.internal = "An unknown exception occurred.";
    svc->request_id_header = "Openstack-Request-Id";
}
