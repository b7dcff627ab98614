/* qapi/h_versions.c: /v1/functions/{id}/versions (2.4).
 *
 * Creating a version is serialised per function by a row lock on the
 * function (no external lock service): the count, the "not changed" check
 * and the new number are decided under that lock. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/uuid.h"
#include "db/row.h"
#include "qapi/body.h"
#include "qapi/function.h"
#include "qapi/handlers.h"
#include "qapi/list.h"
#include "qapi/render.h"
#include "qmodel/fault.h"
#include "qmodel/value.h"

#define MAX_VERSIONS 10

static void render(struct jw *w, const PGresult *res, int row, struct qa_call *c)
{
    (void)c;
    qa_render_version(w, res, row);
}

static const struct db_stmt fn_stmt = {
    "qa_ver_fn",
    "SELECT code->>'source', project_id FROM functions WHERE id = $1::uuid "
    "AND ($2::text IS NULL OR project_id = $2)",
    2,
};

/* The function of the path in the caller's scope: 0 and res (its source
 * and project), or answered. */
static int function_of(struct qa_call *c, char id[UUID_STR_LEN], PGresult **res)
{
    const char *p[2] = {id, qa_scope(c)};

    if (qa_path_uuid(c, "id", id) < 0 || qa_exec(c, &fn_stmt, p, res) < 0)
        return -1;
    if (PQntuples(*res) == 0) {
        PQclear(*res);
        *res = NULL;
        return qa_fail(c, 404, "Function not found [id=%s]", id);
    }
    return 0;
}

static int version_of(struct qa_call *c, int64_t *n)
{
    const char *s = http_req_param(c->r, "version");

    if (s == NULL || qm_parse_int(s, n) < 0 || *n < 0 || *n > INT32_MAX)
        return qa_fail(c, 400, "Invalid value for version: an integer is required.");
    return 0;
}

QA_HANDLER(versions_list)
{
    char id[UUID_STR_LEN];
    struct qa_list_spec spec = {
        "function_versions",
        "SELECT " QA_SEL_VERSION " FROM function_versions v",
        "v",
        "function_versions",
        NULL,
        0,
        "function_version:get_all",
        NULL,
        0,
        1,
        render,
        "v.function_id = $?::uuid",
        id,
    };
    PGresult *res = NULL;
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_authorize(&c, "function_version:get_all", NULL) < 0 ||
        function_of(&c, id, &res) < 0)
        return;
    PQclear(res);
    qa_list(&c, &spec);
}

static const struct db_stmt lock_stmt = {
    "qa_ver_lock",
    "SELECT f.latest_version, f.package_sha256, (SELECT count(*) FROM function_versions v WHERE "
    "v.function_id = f.id), (SELECT v.package_sha256 FROM function_versions v WHERE "
    "v.function_id = f.id AND v.version_number = f.latest_version) "
    "FROM functions f WHERE f.id = $1::uuid FOR UPDATE",
    1,
};

static const struct db_stmt insert_stmt = {
    "qa_ver_insert",
    "WITH f AS (UPDATE functions SET latest_version = $3::int WHERE id = $2::uuid) "
    "INSERT INTO function_versions (id, function_id, version_number, description, "
    "package_sha256, project_id) VALUES ($1::uuid, $2::uuid, $3::int, $4, $5, $6)",
    6,
};

struct create {
    const char *fid, *project, *description;
    char id[UUID_STR_LEN];
    int status;
    int64_t latest;
};

static int create_tx(struct db *db, void *arg, struct error *err)
{
    struct create *k = arg;
    const char *p[1] = {k->fid};
    char num[DB_INT_LEN];
    PGresult *res = NULL;
    int64_t count = 0;
    int rc = db_exec_stmt(db, &lock_stmt, p, &res, err);

    k->status = 0;
    if (rc < 0)
        return rc;
    if (PQntuples(res) == 0 || db_getint(res, 0, 0, 0, INT32_MAX, &k->latest, err) < 0 ||
        db_getint(res, 0, 2, 0, INT32_MAX, &count, err) < 0)
        k->status = 404;
    else if (count >= MAX_VERSIONS)
        k->status = 4031;
    else if (k->latest > 0 && !PQgetisnull(res, 0, 3) &&
             strcmp(PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 3)) == 0)
        k->status = 4032;
    if (k->status == 0) {
        const char *q[6] = {k->id,
                            k->fid,
                            db_param_int(num, k->latest + 1),
                            k->description,
                            PQgetvalue(res, 0, 1),
                            k->project};

        rc = db_exec_stmt(db, &insert_stmt, q, NULL, err);
    }
    PQclear(res);
    return rc;
}

static const struct db_stmt get_stmt = {
    "qa_ver_get",
    "SELECT " QA_SEL_VERSION ", b.format FROM function_versions v LEFT JOIN blobs b ON "
    "b.sha256 = v.package_sha256 WHERE v.function_id = $1::uuid AND v.version_number = $2::int",
    2,
};

static void answer_version(struct qa_call *c, const char *fid, int64_t n, int status)
{
    char num[DB_INT_LEN], nf[160];
    const char *p[2] = {fid, db_param_int(num, n)};
    PGresult *res = NULL;

    if (qa_exec(c, &get_stmt, p, &res) < 0)
        return;
    snprintf(nf, sizeof(nf), "FunctionVersion not found [function_id=%s, version_number=%lld]", fid,
             (long long)n);
    qa_answer_one(c, res, status, render, nf);
}

QA_HANDLER(version_create)
{
    static const struct qa_field f[] = {
        {"description", QA_T_STR, QA_F_NULL, NULL},  {"id", QA_T_STR, QA_F_RO, NULL},
        {"function_id", QA_T_STR, QA_F_RO, NULL},    {"version_number", QA_T_STR, QA_F_RO, NULL},
        {"count", QA_T_STR, QA_F_RO, NULL},          {"project_id", QA_T_STR, QA_F_RO, NULL},
        {"created_at", QA_T_STR, QA_F_RO, NULL},     {"updated_at", QA_T_STR, QA_F_RO, NULL},
        {"package_sha256", QA_T_STR, QA_F_RO, NULL},
    };
    struct qa_value v[sizeof(f) / sizeof(f[0])];
    char fid[UUID_STR_LEN];
    struct create k = {0};
    PGresult *fn = NULL;
    struct qa_body b;
    struct qa_call c;
    struct error err;
    int rc;

    if (qa_call_init(r, &c) < 0 || qa_body_read(&c, 0, &b) < 0)
        return;
    if (qa_fields(&c, &b, f, sizeof(f) / sizeof(f[0]), v) < 0 ||
        qa_authorize(&c, "function_version:create", NULL) < 0 || function_of(&c, fid, &fn) < 0)
        goto out;
    if (v[0].s != NULL && !qm_text_ok(v[0].s, QM_DESCRIPTION_MAX)) {
        qa_fail(&c, 400, "Invalid value for description: at most 255 characters.");
        goto out;
    }
    if (strcmp(PQgetvalue(fn, 0, 0), "image") == 0) {
        qa_fail(&c, 403, "Function versioning only allowed for package type function.");
        goto out;
    }
    k = (struct create){fid, PQgetvalue(fn, 0, 1), v[0].s, "", 0, 0};
    uuid_v4(k.id);
    rc = db_tx(c.db, create_tx, &k, &err);
    if (rc < 0) {
        qm_db_fail(rc, &err);
        qa_respond_error(&c, &err);
    } else if (k.status == 404) {
        qa_fail(&c, 404, "Function not found [id=%s]", fid);
    } else if (k.status == 4031) {
        qa_fail(&c, 403, "Can not exceed maximum number(%d) of versions", MAX_VERSIONS);
    } else if (k.status == 4032) {
        qa_fail(&c, 403, "Function package not changed since the latest version %lld.",
                (long long)k.latest);
    } else {
        answer_version(&c, fid, k.latest + 1, 201);
    }
out:
    PQclear(fn);
    qa_body_free(&b);
}

QA_HANDLER(version_get)
{
    const char *dl = http_req_query(r, "download");
    char fid[UUID_STR_LEN], num[DB_INT_LEN], name[80];
    PGresult *fn = NULL, *res = NULL;
    struct qa_call c;
    int64_t n;
    int want = 0;

    if (qa_call_init(r, &c) < 0 || version_of(&c, &n) < 0)
        return;
    if (dl != NULL && qm_parse_bool(dl, &want) < 0) {
        qa_fail(&c, 400, "Invalid value for download: a boolean is required.");
        return;
    }
    if (qa_authorize(&c, "function_version:get", NULL) < 0 || function_of(&c, fid, &fn) < 0)
        return;
    PQclear(fn);
    if (!want) {
        answer_version(&c, fid, n, 200);
        return;
    }
    const char *p[2] = {fid, db_param_int(num, n)};
    if (qa_exec(&c, &get_stmt, p, &res) < 0)
        return;
    if (PQntuples(res) == 0) {
        qa_fail(&c, 404, "FunctionVersion not found [function_id=%s, version_number=%lld]", fid,
                (long long)n);
    } else {
        snprintf(name, sizeof(name), "%s_%lld", fid, (long long)n);
        qa_send_package(&c, PQgetvalue(res, 0, 8), PQgetvalue(res, 0, 9), name);
    }
    PQclear(res);
}

static const struct db_stmt del_lock_stmt = {
    "qa_ver_del_lock",
    "SELECT f.latest_version, EXISTS (SELECT 1 FROM function_versions v WHERE v.function_id = "
    "f.id AND v.version_number = $2::int), EXISTS (SELECT 1 FROM jobs j WHERE j.function_id = "
    "f.id AND j.function_version = $2::int AND j.status IN ('running', 'paused')), EXISTS "
    "(SELECT 1 FROM webhooks w WHERE w.function_id = f.id AND w.function_version = $2::int), "
    "EXISTS (SELECT 1 FROM function_aliases a WHERE a.function_id = f.id AND "
    "a.function_version = $2::int) FROM functions f WHERE f.id = $1::uuid FOR UPDATE",
    2,
};

static const struct db_stmt del_stmt = {
    "qa_ver_delete",
    "WITH v AS (DELETE FROM function_versions WHERE function_id = $1::uuid AND version_number = "
    "$2::int RETURNING package_sha256), f AS (UPDATE functions SET latest_version = "
    "latest_version - 1 WHERE id = $1::uuid AND latest_version = $2::int) "
    "SELECT package_sha256 FROM v",
    2,
};

static const struct db_stmt purge_stmt = {
    "qa_ver_purge",
    "INSERT INTO board_purges (id, board_uuid, function_id, function_version, purge) SELECT "
    "gen_random_uuid(), fb.board_uuid, $1::uuid, $2::int, (SELECT coalesce(array_agg("
    "sha256::text), '{}') FROM blobs WHERE sha256 = $3 AND refcount = 0) FROM function_boards fb "
    "WHERE fb.function_id = $1::uuid",
    3,
};

struct del {
    const char *fid;
    int64_t n;
    const char *msg;
    int status;
};

static int del_tx(struct db *db, void *arg, struct error *err)
{
    static const char *const msgs[3] = {
        "The function version is still associated with running job(s).",
        "The function version is still associated with webhook.",
        "The function version is still associated with alias.",
    };
    struct del *d = arg;
    char num[DB_INT_LEN];
    const char *p[3] = {d->fid, db_param_int(num, d->n), NULL};
    PGresult *res = NULL, *gone = NULL;
    int rc = db_exec_stmt(db, &del_lock_stmt, p, &res, err);

    d->status = 0;
    if (rc < 0)
        return rc;
    if (PQntuples(res) == 0 || strcmp(PQgetvalue(res, 0, 1), "t") != 0)
        d->status = 404;
    for (int i = 0; i < 3 && d->status == 0; i++) {
        if (strcmp(PQgetvalue(res, 0, 2 + i), "t") == 0) {
            d->status = 403;
            d->msg = msgs[i];
        }
    }
    PQclear(res);
    if (d->status != 0)
        return 0;
    rc = db_exec_stmt(db, &del_stmt, p, &gone, err);
    if (rc == 0 && PQntuples(gone) > 0) {
        p[2] = PQgetvalue(gone, 0, 0);
        rc = db_exec_stmt(db, &purge_stmt, p, NULL, err);
    }
    PQclear(gone);
    return rc;
}

QA_HANDLER(version_delete)
{
    char fid[UUID_STR_LEN];
    PGresult *fn = NULL;
    struct qa_call c;
    struct error err;
    struct del d;
    int64_t n;
    int rc;

    if (qa_call_init(r, &c) < 0 || version_of(&c, &n) < 0 ||
        qa_authorize(&c, "function_version:delete", NULL) < 0 || function_of(&c, fid, &fn) < 0)
        return;
    PQclear(fn);
    d = (struct del){fid, n, NULL, 0};
    rc = db_tx(c.db, del_tx, &d, &err);
    if (rc < 0) {
        qm_db_fail(rc, &err);
        qa_respond_error(&c, &err);
    } else if (d.status == 404) {
        qa_fail(&c, 404, "FunctionVersion not found [function_id=%s, version_number=%lld]", fid,
                (long long)n);
    } else if (d.status == 403) {
        qa_fail(&c, 403, "%s", d.msg);
    } else {
        qa_tell_engine(&c, "purge", "function_id", fid);
        http_resp_empty(r, 204);
    }
}
