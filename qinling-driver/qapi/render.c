/* qapi/render.c: see render.h. The tables list the keys in the order of
 * their SELECT lists. */
#include "qapi/render.h"

#include <stdio.h>
#include <string.h>

enum kind { K_STR, K_RAW, K_BOOL, K_TEXT_OF_JSON };

struct col {
    const char *key;
    enum kind kind;
};

static void field(struct jw *w, const struct col *c, const PGresult *res, int row, int i)
{
    const char *v = PQgetisnull(res, row, i) ? NULL : PQgetvalue(res, row, i);

    jw_key(w, c->key);
    if (v == NULL)
        jw_null(w);
    else if (c->kind == K_STR || c->kind == K_TEXT_OF_JSON)
        jw_str(w, v); /* a result is a JSON-encoded string (2.6.3) */
    else if (c->kind == K_BOOL)
        jw_bool(w, v[0] == 't');
    else
        jw_raw(w, v);
}

static void fields(struct jw *w, const struct col *cols, size_t n, const PGresult *res, int row)
{
    for (size_t i = 0; i < n; i++)
        field(w, &cols[i], res, row, (int)i);
}

#define N(a) (sizeof(a) / sizeof(a[0]))

static const struct col function_cols[] = {
    {"id", K_STR},
    {"name", K_STR},
    {"description", K_STR},
    {"runtime_id", K_STR},
    {"code", K_RAW},
    {"entry", K_STR},
    {"cpu", K_RAW},
    {"memory_size", K_RAW},
    {"timeout", K_RAW},
    {"count", K_RAW},
    {"latest_version", K_RAW},
    {"project_id", K_STR},
    {"created_at", K_STR},
    {"updated_at", K_STR},
    {"devices", K_RAW},
    {"device_access", K_STR},
    {"network", K_STR},
    {"board_id", K_STR},
    {"fleet_id", K_STR},
    {"placement", K_STR},
    {"keep_warm", K_RAW},
    {"warm_ttl", K_RAW},
};

void qa_render_function(struct jw *w, const PGresult *res, int row)
{
    jw_obj_begin(w);
    fields(w, function_cols, N(function_cols), res, row);
    jw_obj_end(w);
}

static const struct col runtime_cols[] = {
    {"id", K_STR},           {"name", K_STR},
    {"image", K_STR},        {"description", K_STR},
    {"is_public", K_BOOL},   {"trusted", K_BOOL},
    {"status", K_STR},       {"project_id", K_STR},
    {"created_at", K_STR},   {"updated_at", K_STR},
    {"image_sha256", K_STR}, {"image_size", K_RAW},
    {"image_format", K_STR}, {"architecture", K_STR},
    {"config", K_RAW},       {"status_reason", K_STR},
};

void qa_render_runtime(struct jw *w, const PGresult *res, int row)
{
    jw_obj_begin(w);
    fields(w, runtime_cols, N(runtime_cols), res, row);
    jw_obj_end(w);
}

static const struct col execution_cols[] = {
    {"id", K_STR},
    {"function_id", K_STR},
    {"function_version", K_RAW},
    {"function_alias", K_STR},
    {"description", K_STR},
    {"status", K_STR},
    {"sync", K_BOOL},
    {"input", K_STR},
    {"result", K_TEXT_OF_JSON},
    {"project_id", K_STR},
    {"created_at", K_STR},
    {"updated_at", K_STR},
    {"board_id", K_STR},
    {"fleet_id", K_STR},
    {"placement", K_STR},
    {"pending_timeout", K_RAW},
    {"deadline", K_STR},
    {"parent_id", K_STR},
    {"children", K_RAW},
    {"trigger_id", K_STR},
    {"firing_id", K_STR},
    {"executor", K_STR},
};

static const struct col timing_cols[] = {
    {"dispatched_at", K_STR},    {"received_at", K_STR},  {"started_at", K_STR},
    {"finished_at", K_STR},      {"completed_at", K_STR}, {"board_duration", K_RAW},
    {"service_duration", K_RAW},
};

void qa_render_execution(struct jw *w, const PGresult *res, int row)
{
    jw_obj_begin(w);
    fields(w, execution_cols, N(execution_cols), res, row);
    jw_key(w, "timing");
    jw_obj_begin(w);
    for (size_t i = 0; i < N(timing_cols); i++)
        field(w, &timing_cols[i], res, row, (int)(N(execution_cols) + i));
    jw_obj_end(w);
    jw_obj_end(w);
}

static const struct col version_cols[] = {
    {"id", K_STR},
    {"description", K_STR},
    {"function_id", K_STR},
    {"version_number", K_RAW},
    {"count", K_RAW},
    {"project_id", K_STR},
    {"created_at", K_STR},
    {"updated_at", K_STR},
    {"package_sha256", K_STR},
};

void qa_render_version(struct jw *w, const PGresult *res, int row)
{
    jw_obj_begin(w);
    fields(w, version_cols, N(version_cols), res, row);
    jw_obj_end(w);
}

static const struct col alias_cols[] = {
    {"id", K_STR},
    {"name", K_STR},
    {"description", K_STR},
    {"function_id", K_STR},
    {"function_version", K_RAW},
    {"project_id", K_STR},
    {"created_at", K_STR},
    {"updated_at", K_STR},
};

void qa_render_alias(struct jw *w, const PGresult *res, int row)
{
    jw_obj_begin(w);
    fields(w, alias_cols, N(alias_cols), res, row);
    jw_obj_end(w);
}

static const struct col job_cols[] = {
    {"id", K_STR},
    {"name", K_STR},
    {"function_id", K_STR},
    {"function_alias", K_STR},
    {"function_version", K_RAW},
    {"function_input", K_STR},
    {"status", K_STR},
    {"pattern", K_STR},
    {"count", K_RAW},
    {"first_execution_time", K_STR},
    {"next_execution_time", K_STR},
    {"project_id", K_STR},
    {"created_at", K_STR},
    {"updated_at", K_STR},
    {"board_id", K_STR},
    {"fleet_id", K_STR},
    {"placement", K_STR},
    {"pending_timeout", K_RAW},
};

void qa_render_job(struct jw *w, const PGresult *res, int row)
{
    jw_obj_begin(w);
    fields(w, job_cols, N(job_cols), res, row);
    jw_obj_end(w);
}

static const struct col webhook_cols[] = {
    {"id", K_STR},
    {"function_id", K_STR},
    {"function_alias", K_STR},
    {"function_version", K_RAW},
    {"description", K_STR},
    {"project_id", K_STR},
    {"created_at", K_STR},
    {"updated_at", K_STR},
    {"board_id", K_STR},
    {"fleet_id", K_STR},
    {"placement", K_STR},
    {"pending_timeout", K_RAW},
};

void qa_render_webhook(struct jw *w, const PGresult *res, int row, const char *base)
{
    char url[1024];

    jw_obj_begin(w);
    fields(w, webhook_cols, N(webhook_cols), res, row);
    snprintf(url, sizeof(url), "%s/v1/webhooks/%s/invoke", base, PQgetvalue(res, row, 0));
    jw_key(w, "webhook_url");
    jw_str(w, url);
    jw_obj_end(w);
}

void qa_render_worker(struct jw *w, const PGresult *res, int row)
{
    char name[512];

    jw_obj_begin(w);
    jw_key(w, "function_id");
    jw_str(w, PQgetvalue(res, row, 0));
    jw_key(w, "function_version");
    jw_raw(w, PQgetvalue(res, row, 1));
    snprintf(name, sizeof(name), "%s/%s", PQgetvalue(res, row, 2), PQgetvalue(res, row, 3));
    jw_key(w, "worker_name");
    jw_str(w, name);
    jw_key(w, "board_id");
    jw_str(w, PQgetvalue(res, row, 2));
    jw_key(w, "container_id");
    jw_str(w, PQgetvalue(res, row, 3));
    jw_key(w, "state");
    jw_str(w, PQgetvalue(res, row, 4));
    jw_key(w, "created_at");
    jw_str(w, PQgetvalue(res, row, 5));
    jw_key(w, "last_used_at");
    jw_str(w, PQgetisnull(res, row, 6) ? NULL : PQgetvalue(res, row, 6));
    jw_obj_end(w);
}
