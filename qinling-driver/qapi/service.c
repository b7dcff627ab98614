/* qapi/service.c: the service hooks, the default policy (2.11) and the root
 * documents (2.1). */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/jsonw.h"
#include "qapi/handlers.h"
#include "qapi/qapi.h"
#include "qmodel/fault.h"

const struct policy_rule_default qa_policy_defaults[] = {
    {"context_is_admin", "role:admin or is_admin:1"},
    {"owner", "project_id:%(project_id)s"},
    {"admin_or_owner", "rule:context_is_admin or rule:owner"},
    {"default", "rule:admin_or_owner"},
    {"runtime:create", "rule:context_is_admin"},
    {"runtime:update", "rule:context_is_admin"},
    {"runtime:delete", "rule:context_is_admin"},
    {"runtime_pool:get_all", "rule:context_is_admin"},
    {"runtime:upload_image", "rule:context_is_admin"},
    {"runtime:download_image", "rule:context_is_admin"},
    {"function:scale_up", "rule:context_is_admin"},
    {"function:scale_down", "rule:context_is_admin"},
    {"function:detach", "rule:context_is_admin"},
    {"function_worker:get_all", "rule:context_is_admin"},
    {"function_version:scale_up", "rule:context_is_admin"},
    {"function_version:scale_down", "rule:context_is_admin"},
    {"function_version:detach", "rule:context_is_admin"},
    {"function:get_all:all_projects", "rule:context_is_admin"},
    {"execution:get_all:all_projects", "rule:context_is_admin"},
    {"job:get_all:all_projects", "rule:context_is_admin"},
    {"webhook:get_all:all_projects", "rule:context_is_admin"},
    {"function_alias:get_all:all_projects", "rule:context_is_admin"},
    {"trigger:get_all:all_projects", "rule:context_is_admin"},
};
const size_t qa_policy_ndefaults = sizeof(qa_policy_defaults) / sizeof(qa_policy_defaults[0]);

void qa_service_init(struct qa *a, struct http_service *svc, const struct http_route *routes,
                     size_t nroutes)
{
    memset(svc, 0, sizeof(*svc));
    svc->routes = routes;
    svc->nroutes = nroutes;
    svc->arg = a;
    svc->format_error = http_error_body_flat;
    svc->msgs.not_found = "Resource not found.";
    svc->msgs.method_not_allowed = "Method not allowed.";
    svc->msgs.too_large = "Request is too large.";
    svc->msgs.headers_too_large = "Request header fields too large.";
    svc->msgs.bad_request = "Malformed HTTP request.";
    svc->msgs.unavailable = QM_MSG_UNAVAILABLE;
    svc->msgs.internal = "An unknown exception occurred.";
    svc->request_id_header = "X-Openstack-Request-Id";
}

/* <base>: [DEFAULT] qinling_endpoint, else <scheme>://<Host>. */
static const char *base_of(struct http_req *r)
{
    struct qa *a = http_req_service(r);
    const char *b = a->cfg->qinling_endpoint;

    if (b == NULL)
        b = http_req_base_url(r);
    if (b == NULL)
        b = http_req_printf(r, "%s://%s:%lld", http_req_scheme(r), a->cfg->api_host,
                            (long long)a->cfg->api_port);
    return b;
}

static void answer(struct http_req *r, struct buf *b, struct jw *w)
{
    if (jw_error(w) < 0) {
        buf_free(b);
        http_resp_error(r, 500, "An unknown exception occurred.");
        return;
    }
    http_resp_body_take(r, 200, NULL, b->data, b->len);
}

QA_HANDLER(root)
{
    char href[1024];
    struct buf b;
    struct jw w;

    snprintf(href, sizeof(href), "%s/v1", base_of(r));
    buf_init(&b, 4096);
    jw_init(&w, &b, 1);
    jw_obj_begin(&w);
    jw_key(&w, "versions");
    jw_arr_begin(&w);
    jw_obj_begin(&w);
    jw_key(&w, "id");
    jw_str(&w, "v1.0");
    jw_key(&w, "status");
    jw_str(&w, "CURRENT");
    jw_key(&w, "links");
    jw_arr_begin(&w);
    jw_obj_begin(&w);
    jw_key(&w, "href");
    jw_str(&w, href);
    jw_key(&w, "target");
    jw_str(&w, "v1");
    jw_key(&w, "rel");
    jw_str(&w, "self");
    jw_obj_end(&w);
    jw_arr_end(&w);
    jw_obj_end(&w);
    jw_arr_end(&w);
    jw_obj_end(&w);
    answer(r, &b, &w);
}

QA_HANDLER(v1)
{
    char href[1024];
    struct buf b;
    struct jw w;

    snprintf(href, sizeof(href), "%s/v1", base_of(r));
    buf_init(&b, 4096);
    jw_init(&w, &b, 1);
    jw_obj_begin(&w);
    jw_key(&w, "uri");
    jw_str(&w, href);
    jw_obj_end(&w);
    answer(r, &b, &w);
}
