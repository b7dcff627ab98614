/* qapi/h_function_admin.c: scale_up, scale_down, detach and workers, for a
 * function and for one of its versions (2.3, 2.4, 3.5.5). All admin.
 *
 * keep_warm changes are stored and then applied to boards by the engine
 * ("warm"); detach queues a FunctionRemove for every board that received
 * the function (board_purges), delivered by the engine ("purge"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qapi/body.h"
#include "qapi/handlers.h"
#include "qapi/list.h"
#include "qapi/render.h"
#include "qmodel/fault.h"
#include "qmodel/value.h"

static const struct db_stmt exists_stmt = {
    "qa_fna_exists",
    "SELECT EXISTS (SELECT 1 FROM functions WHERE id = $1::uuid), $2::int = 0 OR EXISTS (SELECT "
    "1 FROM function_versions WHERE function_id = $1::uuid AND version_number = $2::int)",
    2,
};

static const struct db_stmt warm_stmt = {
    "qa_fna_warm",
    "UPDATE functions SET keep_warm = least(8, greatest(0, keep_warm + $2::int)), "
    "updated_at = now() WHERE id = $1::uuid",
    2,
};

static const struct db_stmt detach_stmt = {
    "qa_fna_detach",
    "WITH w AS (DELETE FROM function_workers WHERE function_id = $1::uuid AND ($2::int IS NULL "
    "OR function_version = $2::int)) INSERT INTO board_purges (id, board_uuid, function_id, "
    "function_version) SELECT gen_random_uuid(), board_uuid, $1::uuid, $2::int "
    "FROM function_boards WHERE function_id = $1::uuid",
    2,
};

/* The function and version of the path; 0, or answered. */
static int target(struct qa_call *c, char id[UUID_STR_LEN], int64_t *version)
{
    const char *vs = http_req_param(c->r, "version");
    char vbuf[DB_INT_LEN];
    PGresult *res = NULL;
    const char *p[2];

    *version = 0;
    if (qa_path_uuid(c, "id", id) < 0)
        return -1;
    if (vs != NULL && (qm_parse_int(vs, version) < 0 || *version < 0 || *version > INT32_MAX))
        return qa_fail(c, 400, "Invalid value for version: an integer is required.");
    p[0] = id;
    p[1] = db_param_int(vbuf, *version);
    if (qa_exec(c, &exists_stmt, p, &res) < 0)
        return -1;
    if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
        qa_fail(c, 404, "Function not found [id=%s]", id);
    else if (strcmp(PQgetvalue(res, 0, 1), "t") != 0)
        qa_fail(c, 404, "FunctionVersion not found [function_id=%s, version_number=%lld]", id,
                (long long)*version);
    PQclear(res);
    return http_resp_status(c->r) != 0 ? -1 : 0;
}

static int read_count(struct qa_call *c, int64_t *count)
{
    static const struct qa_field f[] = {
        {"count", QA_T_INT, 0, "Invalid value for count: an integer >= 1 is required."}};
    struct qa_value v;
    struct qa_body b;
    int rc;

    if (qa_body_read(c, 0, &b) < 0)
        return -1;
    rc = qa_fields(c, &b, f, 1, &v);
    qa_body_free(&b);
    if (rc < 0)
        return -1;
    if (!v.present || v.i < 1)
        return qa_fail(c, 400, "Invalid value for count: an integer >= 1 is required.");
    *count = v.i;
    return 0;
}

static void scale(struct http_req *r, const char *rule, int up)
{
    char id[UUID_STR_LEN], d[DB_INT_LEN];
    int64_t version, count = 0;
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || read_count(&c, &count) < 0 || qa_authorize(&c, rule, NULL) < 0 ||
        target(&c, id, &version) < 0)
        return;
    if (count > 8)
        count = 8;
    const char *p[2] = {id, db_param_int(d, up ? count : -count)};
    if (qa_exec(&c, &warm_stmt, p, NULL) < 0)
        return;
    qa_tell_engine(&c, "warm", "function_id", id);
    http_resp_empty(r, 202);
}

static void detach(struct http_req *r, const char *rule, int by_version)
{
    char id[UUID_STR_LEN], v[DB_INT_LEN];
    struct qa_call c;
    int64_t version;

    if (qa_call_init(r, &c) < 0 || qa_authorize(&c, rule, NULL) < 0 || target(&c, id, &version) < 0)
        return;
    const char *p[2] = {id, by_version && version > 0 ? db_param_int(v, version) : NULL};
    if (qa_exec(&c, &detach_stmt, p, NULL) < 0)
        return;
    qa_tell_engine(&c, "purge", "function_id", id);
    http_resp_empty(r, 202);
}

QA_HANDLER(function_scale_up)
{
    scale(r, "function:scale_up", 1);
}

QA_HANDLER(function_scale_down)
{
    scale(r, "function:scale_down", 0);
}

QA_HANDLER(function_detach)
{
    detach(r, "function:detach", 0);
}

QA_HANDLER(version_scale_up)
{
    scale(r, "function_version:scale_up", 1);
}

QA_HANDLER(version_scale_down)
{
    scale(r, "function_version:scale_down", 0);
}

QA_HANDLER(version_detach)
{
    detach(r, "function_version:detach", 1);
}

static void render(struct jw *w, const PGresult *res, int row, struct qa_call *c)
{
    (void)c;
    qa_render_worker(w, res, row);
}

QA_HANDLER(function_workers)
{
    static const struct qm_filter_field filters[] = {
        {"function_version", "k.function_version", QM_F_INT},
    };
    char id[UUID_STR_LEN];
    struct qa_list_spec spec = {
        "workers",
        "SELECT " QA_SEL_WORKER " FROM function_workers k",
        "k",
        "function_workers",
        filters,
        1,
        "function_worker:get_all",
        NULL,
        0,
        1,
        render,
        "k.function_id = $?::uuid",
        id,
    };
    const char *fv = http_req_query(r, "function_version");
    int64_t version = 0;
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0)
        return;
    if (fv != NULL && qm_parse_int(fv, &version) < 0) {
        qa_fail(&c, 400, "Invalid value %s for filter function_version.", fv);
        return;
    }
    if (qa_authorize(&c, "function_worker:get_all", NULL) < 0 || target(&c, id, &version) < 0)
        return;
    /* function_version defaults to 0 (2.3). */
    if (fv == NULL)
        spec.where = "k.function_id = $?::uuid AND k.function_version = 0";
    qa_list(&c, &spec);
}
