/* qapi/routes.c: the route table of deviceless-api.md section 2, in groups.
 *
 * The service's table is the concatenation of qa_route_groups; a feature
 * (the triggers of 3.7) adds one group to that list. Two routes take their
 * limits from the configuration and are patched in qa_routes_build(): the
 * function create/update body (max_package_body_size) and the runtime image
 * upload (max_image_size, streamed to a file, with its own 413 message). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "qapi/handlers.h"
#include "qapi/qapi.h"
#include "qapi/triggers.h"

#define R(m, pat, h)                                                                               \
    {                                                                                              \
        HTTP_##m, pat, qa_h_##h, 0, 0, NULL, NULL                                                  \
    }
#define PUBLIC(m, pat, h)                                                                          \
    {                                                                                              \
        HTTP_##m, pat, qa_h_##h, HTTP_ROUTE_PUBLIC, 0, NULL, NULL                                  \
    }
#define INLINE(m, pat, h)                                                                          \
    {                                                                                              \
        HTTP_##m, pat, qa_h_##h, HTTP_ROUTE_PUBLIC | HTTP_ROUTE_INLINE, 0, NULL, NULL              \
    }

static const struct http_route root_routes[] = {
    INLINE(GET, "/", root),
    INLINE(GET, "/v1", v1),
};

static const struct http_route runtime_routes[] = {
    R(GET, "/v1/runtimes", runtimes_list),
    R(POST, "/v1/runtimes", runtime_create),
    R(GET, "/v1/runtimes/{id}", runtime_get),
    R(PUT, "/v1/runtimes/{id}", runtime_update),
    R(DELETE, "/v1/runtimes/{id}", runtime_delete),
    {HTTP_PUT, "/v1/runtimes/{id}/image", qa_h_runtime_upload, HTTP_ROUTE_SPOOL, 0, NULL, NULL},
    R(GET, "/v1/runtimes/{id}/image", runtime_download),
    R(GET, "/v1/runtimes/{id}/pool", runtime_pool),
};

static const struct http_route function_routes[] = {
    R(GET, "/v1/functions", functions_list),
    R(POST, "/v1/functions", function_create),
    R(GET, "/v1/functions/{id}", function_get),
    R(PUT, "/v1/functions/{id}", function_update),
    R(DELETE, "/v1/functions/{id}", function_delete),
    R(POST, "/v1/functions/{id}/scale_up", function_scale_up),
    R(POST, "/v1/functions/{id}/scale_down", function_scale_down),
    R(POST, "/v1/functions/{id}/detach", function_detach),
    R(GET, "/v1/functions/{id}/workers", function_workers),
    R(GET, "/v1/functions/{id}/versions", versions_list),
    R(POST, "/v1/functions/{id}/versions", version_create),
    R(GET, "/v1/functions/{id}/versions/{version}", version_get),
    R(DELETE, "/v1/functions/{id}/versions/{version}", version_delete),
    R(POST, "/v1/functions/{id}/versions/{version}/scale_up", version_scale_up),
    R(POST, "/v1/functions/{id}/versions/{version}/scale_down", version_scale_down),
    R(POST, "/v1/functions/{id}/versions/{version}/detach", version_detach),
};

static const struct http_route alias_routes[] = {
    R(GET, "/v1/aliases", aliases_list),           R(POST, "/v1/aliases", alias_create),
    R(GET, "/v1/aliases/{name}", alias_get),       R(PUT, "/v1/aliases/{name}", alias_update),
    R(DELETE, "/v1/aliases/{name}", alias_delete),
};

static const struct http_route execution_routes[] = {
    R(GET, "/v1/executions", executions_list),
    R(POST, "/v1/executions", execution_create),
    R(GET, "/v1/executions/{id}", execution_get),
    R(DELETE, "/v1/executions/{id}", execution_delete),
    R(GET, "/v1/executions/{id}/log", execution_log),
};

static const struct http_route job_routes[] = {
    R(GET, "/v1/jobs", jobs_list),          R(POST, "/v1/jobs", job_create),
    R(GET, "/v1/jobs/{id}", job_get),       R(PUT, "/v1/jobs/{id}", job_update),
    R(DELETE, "/v1/jobs/{id}", job_delete),
};

static const struct http_route webhook_routes[] = {
    R(GET, "/v1/webhooks", webhooks_list),
    R(POST, "/v1/webhooks", webhook_create),
    R(GET, "/v1/webhooks/{id}", webhook_get),
    R(PUT, "/v1/webhooks/{id}", webhook_update),
    R(DELETE, "/v1/webhooks/{id}", webhook_delete),
    PUBLIC(POST, "/v1/webhooks/{id}/invoke", webhook_invoke),
};

static const struct http_route blob_routes[] = {
    PUBLIC(GET, "/v1/blobs/{sha256}", blob_get),
};

#define GROUP(a)                                                                                   \
    {                                                                                              \
        a, sizeof(a) / sizeof(a[0])                                                                \
    }

/* Every group of the service. Add a feature's group here. */
static const struct qa_route_group qa_route_groups[] = {
    GROUP(root_routes),    GROUP(runtime_routes),   GROUP(function_routes),
    GROUP(alias_routes),   GROUP(execution_routes), GROUP(job_routes),
    GROUP(webhook_routes), GROUP(blob_routes),      {qa_trigger_routes, QA_TRIGGER_NROUTES},
};

struct http_route *qa_routes_build(const struct qm_config *cfg, size_t *n)
{
    static char image_too_large[96];
    size_t total = 0, k = 0;
    struct http_route *v;

    for (size_t g = 0; g < sizeof(qa_route_groups) / sizeof(qa_route_groups[0]); g++)
        total += qa_route_groups[g].n;
    v = xcalloc(total, sizeof(*v));
    for (size_t g = 0; g < sizeof(qa_route_groups) / sizeof(qa_route_groups[0]); g++)
        for (size_t i = 0; i < qa_route_groups[g].n; i++)
            v[k++] = qa_route_groups[g].routes[i];
    /* The message names the configured limit; one configuration per process. */
    snprintf(image_too_large, sizeof(image_too_large), "Runtime image exceeds %lld bytes.",
             (long long)cfg->max_image_size);
    for (size_t i = 0; i < total; i++) {
        if (v[i].handler == qa_h_runtime_upload) {
            v[i].max_body = (uint64_t)cfg->max_image_size;
            v[i].too_large = image_too_large;
        } else if (v[i].handler == qa_h_function_create || v[i].handler == qa_h_function_update) {
            v[i].max_body = (uint64_t)cfg->max_package_body_size;
        }
    }
    *n = total;
    return v;
}

void qa_dump_routes(const struct qm_config *cfg)
{
    size_t n;
    struct http_route *v = qa_routes_build(cfg, &n);

    for (size_t i = 0; i < n; i++)
        printf("%s %s\n", http_method_name(v[i].method), v[i].pattern);
    free(v);
}
