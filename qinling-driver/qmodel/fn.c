/* qmodel/fn.c: see fn.h. */
#include "qmodel/fn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "db/row.h"
#include "qmodel/fault.h"

static const struct db_stmt load_stmt = {
    "qm_fn_load",
    "SELECT f.id, f.project_id, f.code->>'source', coalesce(f.runtime_id, f.image_runtime_id), "
    "f.entry, f.cpu, f.memory_size, f.timeout, f.devices, f.device_access, f.network, "
    "f.board_id, f.fleet_id, f.placement, f.keep_warm, f.warm_ttl, f.latest_version, "
    "CASE WHEN $2::int = 0 THEN f.package_sha256 ELSE v.package_sha256 END, "
    "b.md5, b.size, b.format, (v.id IS NOT NULL), "
    "r.id, r.name, r.status, r.architecture, r.image_sha256, r.image_size, r.image_format, "
    "r.config "
    "FROM functions f "
    "LEFT JOIN function_versions v ON v.function_id = f.id AND v.version_number = $2::int "
    "LEFT JOIN blobs b ON b.sha256 = "
    "  (CASE WHEN $2::int = 0 THEN f.package_sha256 ELSE v.package_sha256 END) "
    "LEFT JOIN runtimes r ON r.id = coalesce(f.runtime_id, f.image_runtime_id) "
    "WHERE f.id = $1::uuid AND ($3::text IS NULL OR f.project_id = $3)",
    3,
};

static void copy(char *dst, size_t n, const PGresult *res, int col)
{
    const char *s = db_getstr(res, 0, col);

    snprintf(dst, n, "%s", s != NULL ? s : "");
}

static int ints(const PGresult *res, struct qm_fn *f, struct error *err)
{
    int rc = db_getint(res, 0, 5, 0, INT32_MAX, &f->cpu, err);

    if (rc == 0)
        rc = db_getint(res, 0, 6, 0, INT64_MAX, &f->memory_size, err);
    if (rc == 0)
        rc = db_getint(res, 0, 7, 0, INT32_MAX, &f->timeout, err);
    if (rc == 0)
        rc = db_getint(res, 0, 14, 0, 64, &f->keep_warm, err);
    if (rc == 0)
        rc = db_getint(res, 0, 15, 0, INT32_MAX, &f->warm_ttl, err);
    if (rc == 0)
        rc = db_getint(res, 0, 16, 0, INT32_MAX, &f->latest_version, err);
    if (rc >= 0 && !PQgetisnull(res, 0, 19))
        rc = db_getint(res, 0, 19, 0, INT64_MAX, &f->pkg_size, err);
    return rc < 0 ? rc : 0;
}

static int devices(const PGresult *res, struct qm_fn *f, struct error *err)
{
    cJSON *arr = NULL;
    int rc = db_getjson(res, 0, 8, &arr, err);

    if (rc < 0)
        return rc;
    rc = qm_devices_parse(arr, f->devs, &f->ndevs, err);
    cJSON_Delete(arr);
    return rc;
}

static int runtime(const PGresult *res, struct qm_rt *rt, struct error *err)
{
    int rc = 0;

    if (PQgetisnull(res, 0, 22))
        return 0;
    rt->present = 1;
    copy(rt->id, sizeof(rt->id), res, 22);
    copy(rt->name, sizeof(rt->name), res, 23);
    copy(rt->status, sizeof(rt->status), res, 24);
    copy(rt->arch, sizeof(rt->arch), res, 25);
    copy(rt->sha256, sizeof(rt->sha256), res, 26);
    if (!PQgetisnull(res, 0, 27))
        rc = db_getint(res, 0, 27, 0, INT64_MAX, &rt->size, err);
    copy(rt->format, sizeof(rt->format), res, 28);
    if (rc >= 0)
        rc = db_getobject(res, 0, 29, &rt->config, err);
    return rc < 0 ? rc : 0;
}

static int from_row(const PGresult *res, int64_t version, struct qm_fn *f, struct error *err)
{
    const char *src = db_getstr(res, 0, 2);

    copy(f->id, sizeof(f->id), res, 0);
    copy(f->project, sizeof(f->project), res, 1);
    f->image = src != NULL && strcmp(src, "image") == 0;
    if (version > 0 && f->image)
        return qm_fail(err, 400, "Function versions exist only for package type functions.");
    if (version > 0 && strcmp(PQgetvalue(res, 0, 21), "t") != 0)
        return qm_fail(err, 404, "FunctionVersion not found [function_id=%s, version_number=%lld]",
                       f->id, (long long)version);
    copy(f->runtime_id, sizeof(f->runtime_id), res, 3);
    copy(f->entry, sizeof(f->entry), res, 4);
    f->raw = strcmp(PQgetvalue(res, 0, 9), "raw") == 0;
    f->net_host = strcmp(PQgetvalue(res, 0, 10), "host") == 0;
    copy(f->board_id, sizeof(f->board_id), res, 11);
    copy(f->fleet_id, sizeof(f->fleet_id), res, 12);
    copy(f->placement, sizeof(f->placement), res, 13);
    copy(f->pkg_sha256, sizeof(f->pkg_sha256), res, 17);
    copy(f->pkg_md5, sizeof(f->pkg_md5), res, 18);
    copy(f->pkg_format, sizeof(f->pkg_format), res, 20);
    f->version = version;
    if (ints(res, f, err) < 0 || devices(res, f, err) < 0 || runtime(res, &f->rt, err) < 0)
        return qm_fail(err, 500, "An unknown exception occurred.");
    return 0;
}

int qm_fn_load(struct db *db, const char *id, int64_t version, const char *project,
               struct qm_fn *out, struct error *err)
{
    char v[DB_INT_LEN];
    const char *p[3] = {id, db_param_int(v, version), project};
    PGresult *res = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = db_exec_stmt(db, &load_stmt, p, &res, err);
    if (rc < 0)
        return qm_db_fail(rc, err);
    if (PQntuples(res) == 0)
        rc = qm_fail(err, 404, "Function not found [id=%s]", id);
    else
        rc = from_row(res, version, out, err);
    PQclear(res);
    if (rc < 0)
        qm_fn_clear(out);
    return rc;
}

void qm_fn_clear(struct qm_fn *f)
{
    cJSON_Delete(f->rt.config);
    f->rt.config = NULL;
}

void qm_fn_need(const struct qm_fn *f, struct qm_need *need)
{
    need->devs = f->devs;
    need->ndevs = f->ndevs;
    need->raw = f->raw;
    need->arch = f->rt.arch[0] != '\0' ? f->rt.arch : NULL;
    need->runtime_name = f->rt.name[0] != '\0' ? f->rt.name : NULL;
}
