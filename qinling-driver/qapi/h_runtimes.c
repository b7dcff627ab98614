/* qapi/h_runtimes.c: /v1/runtimes (deviceless-api.md 2.7), except the image
 * upload and download (h_runtime_image.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/uuid.h"
#include "db/row.h"
#include "qapi/body.h"
#include "qapi/handlers.h"
#include "qapi/image.h"
#include "qapi/list.h"
#include "qapi/render.h"
#include "qapi/runtime.h"
#include "qmodel/elig.h"
#include "qmodel/fault.h"
#include "qmodel/value.h"

static const struct db_stmt get_stmt = {
    "qa_runtime_get",
    "SELECT " QA_SEL_RUNTIME " FROM runtimes r WHERE r.id = $1::uuid "
    "AND ($2::text IS NULL OR r.project_id = $2 OR r.is_public)",
    2,
};

static void render(struct jw *w, const PGresult *res, int row, struct qa_call *c)
{
    (void)c;
    qa_render_runtime(w, res, row);
}

int qa_runtime_answer(struct qa_call *c, const char *id, int status)
{
    const char *p[2] = {id, qa_scope(c)};
    PGresult *res = NULL;
    char nf[128];

    if (qa_exec(c, &get_stmt, p, &res) < 0)
        return -1;
    snprintf(nf, sizeof(nf), "Runtime not found [id=%s]", id);
    qa_answer_one(c, res, status, render, nf);
    return 0;
}

static const struct qm_filter_field filters[] = {
    {"name", "r.name", QM_F_STR},
    {"status", "r.status", QM_F_STR},
};

QA_HANDLER(runtimes_list)
{
    static const struct qa_list_spec spec = {
        "runtimes",
        "SELECT " QA_SEL_RUNTIME " FROM runtimes r",
        "r",
        "runtimes",
        filters,
        sizeof(filters) / sizeof(filters[0]),
        "runtime:get_all",
        NULL,
        1,
        0,
        render,
        NULL,
        NULL,
    };
    struct qa_call c;

    if (qa_call_init(r, &c) == 0)
        qa_list(&c, &spec);
}

QA_HANDLER(runtime_get)
{
    char id[UUID_STR_LEN];
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0 ||
        qa_authorize(&c, "runtime:get", NULL) < 0)
        return;
    qa_runtime_answer(&c, id, 200);
}

enum { F_IMAGE, F_NAME, F_DESC, F_PUBLIC, F_TRUSTED, F_ARCH, F_CONFIG, F_NFIELDS };

static const struct qa_field fields[] = {
    {"image", QA_T_STR, 0, NULL},
    {"name", QA_T_STR, QA_F_NULL, NULL},
    {"description", QA_T_STR, QA_F_NULL, NULL},
    {"is_public", QA_T_BOOL, 0, NULL},
    {"trusted", QA_T_BOOL, 0, NULL},
    {"architecture", QA_T_STR, QA_F_NULL, NULL},
    {"config", QA_T_JSON, 0, NULL},
    {"id", QA_T_STR, QA_F_RO, NULL},
    {"status", QA_T_STR, QA_F_RO, NULL},
    {"project_id", QA_T_STR, QA_F_RO, NULL},
    {"created_at", QA_T_STR, QA_F_RO, NULL},
    {"updated_at", QA_T_STR, QA_F_RO, NULL},
    {"image_sha256", QA_T_STR, QA_F_RO, NULL},
    {"image_size", QA_T_STR, QA_F_RO, NULL},
    {"image_format", QA_T_STR, QA_F_RO, NULL},
    {"status_reason", QA_T_STR, QA_F_RO, NULL},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* Lengths and the config's shape; 0 or answered. */
static int check_values(struct qa_call *c, const struct qa_value *v)
{
    struct error err;

    if (v[F_IMAGE].present && !qm_text_ok(v[F_IMAGE].s, 255))
        return qa_fail(c, 400, "Invalid value for image: at most 255 characters.");
    if (v[F_NAME].s != NULL && !qm_text_ok(v[F_NAME].s, QM_NAME_MAX))
        return qa_fail(c, 400, "Invalid value for name: at most 255 characters.");
    if (v[F_DESC].s != NULL && !qm_text_ok(v[F_DESC].s, QM_DESCRIPTION_MAX))
        return qa_fail(c, 400, "Invalid value for description: at most 255 characters.");
    if (v[F_ARCH].s != NULL && (strlen(v[F_ARCH].s) == 0 || strlen(v[F_ARCH].s) > 16))
        return qa_fail(c, 400, "Invalid value for architecture: 1 to 16 characters.");
    if (v[F_CONFIG].present && qa_runtime_config_check(v[F_CONFIG].j, &err) < 0)
        return qa_fail(c, 400, "Invalid value for config: %s.", err.msg);
    return 0;
}

static const struct db_stmt insert_stmt = {
    "qa_runtime_insert",
    "INSERT INTO runtimes (id, image, name, description, is_public, trusted, architecture, "
    "config, project_id) VALUES ($1::uuid, $2, $3, $4, $5::boolean, $6::boolean, $7, "
    "$8::jsonb, $9)",
    9,
};

QA_HANDLER(runtime_create)
{
    struct qa_value v[NFIELDS];
    char id[UUID_STR_LEN], *config = NULL;
    struct qa_body b;
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_body_read(&c, 0, &b) < 0)
        return;
    if (qa_fields(&c, &b, fields, NFIELDS, v) == 0 &&
        qa_authorize(&c, "runtime:create", NULL) == 0) {
        if (!v[F_IMAGE].present) {
            qa_fail(&c, 400, "Required param is missing. Required: image");
        } else if (check_values(&c, v) == 0) {
            const char *p[9];

            uuid_v4(id);
            config = v[F_CONFIG].present ? json_print(v[F_CONFIG].j) : NULL;
            p[0] = id;
            p[1] = v[F_IMAGE].s;
            p[2] = v[F_NAME].s;
            p[3] = v[F_DESC].s;
            p[4] = db_param_bool(v[F_PUBLIC].present ? v[F_PUBLIC].b : 1);
            p[5] = db_param_bool(v[F_TRUSTED].present ? v[F_TRUSTED].b : 1);
            p[6] = v[F_ARCH].s;
            p[7] = config != NULL ? config : "{}";
            p[8] = c.project;
            if (qa_exec(&c, &insert_stmt, p, NULL) == 0)
                qa_runtime_answer(&c, id, 201);
        }
    }
    free(config);
    qa_body_free(&b);
}

static const struct db_stmt update_stmt = {
    "qa_runtime_update",
    "UPDATE runtimes SET image = CASE WHEN $2::boolean THEN $3 ELSE image END, "
    "name = CASE WHEN $4::boolean THEN $5 ELSE name END, "
    "description = CASE WHEN $6::boolean THEN $7 ELSE description END, "
    "is_public = CASE WHEN $8::boolean THEN $9::boolean ELSE is_public END, "
    "architecture = CASE WHEN $10::boolean THEN $11 ELSE architecture END, "
    "config = CASE WHEN $12::boolean THEN $13::jsonb ELSE config END, "
    "updated_at = now() WHERE id = $1::uuid",
    13,
};

static int update(struct qa_call *c, const char *id, const struct qa_value *v)
{
    char *config = v[F_CONFIG].present ? json_print(v[F_CONFIG].j) : NULL;
    const char *p[13] = {
        id,
        db_param_bool(v[F_IMAGE].present),
        v[F_IMAGE].s,
        db_param_bool(v[F_NAME].present),
        v[F_NAME].s,
        db_param_bool(v[F_DESC].present),
        v[F_DESC].s,
        db_param_bool(v[F_PUBLIC].present),
        db_param_bool(v[F_PUBLIC].b),
        db_param_bool(v[F_ARCH].present),
        v[F_ARCH].s,
        db_param_bool(v[F_CONFIG].present),
        config != NULL ? config : "{}",
    };
    PGresult *res = NULL;
    int rc = qa_exec(c, &update_stmt, p, &res);

    free(config);
    if (rc == 0 && db_affected(res) == 0)
        rc = qa_fail(c, 404, "Runtime not found [id=%s]", id);
    PQclear(res);
    return rc;
}

QA_HANDLER(runtime_update)
{
    struct qa_value v[NFIELDS];
    char id[UUID_STR_LEN];
    struct qa_body b;
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0 || qa_body_read(&c, 0, &b) < 0)
        return;
    if (qa_fields(&c, &b, fields, NFIELDS, v) == 0 &&
        qa_authorize(&c, "runtime:update", NULL) == 0) {
        if (v[F_TRUSTED].present)
            qa_fail(&c, 400, "Attribute trusted is read-only.");
        else if (v[F_IMAGE].present && v[F_IMAGE].s == NULL)
            qa_fail(&c, 400, "Invalid value for image: null is not allowed.");
        else if (check_values(&c, v) == 0 && update(&c, id, v) == 0)
            qa_runtime_answer(&c, id, 200);
    }
    qa_body_free(&b);
}
