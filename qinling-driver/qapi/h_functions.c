/* qapi/h_functions.c: GET /v1/functions, GET and DELETE /v1/functions/{id}
 * (with ?download=true) (2.3). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "qapi/function.h"
#include "qapi/handlers.h"
#include "qapi/list.h"
#include "qapi/render.h"
#include "qmodel/blobs.h"
#include "qmodel/fault.h"
#include "qmodel/value.h"

static void render(struct jw *w, const PGresult *res, int row, struct qa_call *c)
{
    (void)c;
    qa_render_function(w, res, row);
}

static const struct qm_filter_field filters[] = {
    {"name", "f.name", QM_F_STR},
    {"runtime_id", "f.runtime_id", QM_F_UUID},
    {"board_id", "f.board_id", QM_F_UUID},
    {"fleet_id", "f.fleet_id", QM_F_UUID},
};

QA_HANDLER(functions_list)
{
    static const struct qa_list_spec spec = {
        "functions",
        "SELECT " QA_SEL_FUNCTION " FROM functions f",
        "f",
        "functions",
        filters,
        sizeof(filters) / sizeof(filters[0]),
        "function:get_all",
        "function:get_all:all_projects",
        0,
        0,
        render,
        NULL,
        NULL,
    };
    struct qa_call c;

    if (qa_call_init(r, &c) == 0)
        qa_list(&c, &spec);
}

static const struct db_stmt package_stmt = {
    "qa_fn_package",
    "SELECT f.code->>'source', f.package_sha256, b.format FROM functions f "
    "LEFT JOIN blobs b ON b.sha256 = f.package_sha256 "
    "WHERE f.id = $1::uuid AND ($2::text IS NULL OR f.project_id = $2)",
    2,
};

/* Streams a stored package: the blob exactly as uploaded (3.1). */
void qa_send_package(struct qa_call *c, const char *sha, const char *format, const char *name)
{
    char *path = qm_blob_path(c->a->cfg->file_system_dir, sha), disp[160];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    free(path);
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        qa_fail(c, 404, "Blob %s not found.", sha);
        return;
    }
    snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", name);
    if (http_resp_header(c->r, "Content-Disposition", disp) < 0)
        log_warn("cannot add Content-Disposition");
    http_resp_file(c->r, 200, strcmp(format, "zip") == 0 ? "application/zip" : "application/gzip",
                   fd, (uint64_t)st.st_size, 0);
}

static void download(struct qa_call *c, const char *id)
{
    const char *p[2] = {id, qa_scope(c)};
    PGresult *res = NULL;

    if (qa_exec(c, &package_stmt, p, &res) < 0)
        return;
    if (PQntuples(res) == 0)
        qa_fail(c, 404, "Function not found [id=%s]", id);
    else if (strcmp(PQgetvalue(res, 0, 0), "image") == 0 || PQgetisnull(res, 0, 1))
        qa_fail(c, 405, "Download image function is not allowed.");
    else
        qa_send_package(c, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), id);
    PQclear(res);
}

QA_HANDLER(function_get)
{
    const char *dl = http_req_query(r, "download");
    char id[UUID_STR_LEN];
    struct qa_call c;
    int want = 0;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0)
        return;
    if (dl != NULL && qm_parse_bool(dl, &want) < 0) {
        qa_fail(&c, 400, "Invalid value for download: a boolean is required.");
        return;
    }
    if (qa_authorize(&c, "function:get", NULL) < 0)
        return;
    if (want)
        download(&c, id);
    else
        qa_function_answer(&c, id, 200);
}

static const struct db_stmt lock_stmt = {
    "qa_fn_lock",
    "SELECT project_id FROM functions WHERE id = $1::uuid AND ($2::text IS NULL OR "
    "project_id = $2) FOR UPDATE",
    2,
};

static const struct db_stmt refs_stmt = {
    "qa_fn_refs",
    "SELECT EXISTS (SELECT 1 FROM jobs WHERE function_id = $1::uuid AND status IN "
    "('running', 'paused')), EXISTS (SELECT 1 FROM webhooks WHERE function_id = $1::uuid), "
    "EXISTS (SELECT 1 FROM function_aliases WHERE function_id = $1::uuid), "
    "EXISTS (SELECT 1 FROM triggers WHERE function_id = $1::uuid)",
    1,
};

static const struct db_stmt shas_stmt = {
    "qa_fn_shas",
    "SELECT coalesce(array_agg(DISTINCT s), '{}') FROM (SELECT package_sha256 s FROM functions "
    "WHERE id = $1::uuid UNION SELECT package_sha256 FROM function_versions WHERE function_id = "
    "$1::uuid) x WHERE s IS NOT NULL",
    1,
};

static const struct db_stmt delete_stmt = {
    "qa_fn_delete",
    "DELETE FROM functions WHERE id = $1::uuid",
    1,
};

/* Every board that received the function owes a FunctionRemove with the
 * packages no other function or version still references. */
static const struct db_stmt purge_stmt = {
    "qa_fn_purge",
    "WITH gone AS (SELECT coalesce(array_agg(sha256::text), '{}') p FROM blobs WHERE sha256 = "
    "ANY($2::text[]) AND refcount = 0), fb AS (DELETE FROM function_boards WHERE function_id = "
    "$1::uuid RETURNING board_uuid), fw AS (DELETE FROM function_workers WHERE function_id = "
    "$1::uuid) INSERT INTO board_purges (id, board_uuid, function_id, purge) "
    "SELECT gen_random_uuid(), fb.board_uuid, $1::uuid, gone.p FROM fb, gone",
    2,
};

struct del {
    const char *id;
    const char *scope;
    const char *caller;
    int status;
    const char *msg;
};

static int refs(struct db *db, struct del *d, struct error *err)
{
    static const char *const msgs[4] = {
        "The function is still associated with running job(s).",
        "The function is still associated with webhook(s).",
        "The function is still associated with function alias(es).",
        "The function is still associated with trigger(s).",
    };
    const char *p[1] = {d->id};
    PGresult *res = NULL;
    int rc = db_exec_stmt(db, &refs_stmt, p, &res, err);

    for (int i = 0; rc == 0 && i < 4 && d->status == 0; i++) {
        if (strcmp(PQgetvalue(res, 0, i), "t") == 0) {
            d->status = 403;
            d->msg = msgs[i];
        }
    }
    PQclear(res);
    return rc;
}

static int del_tx(struct db *db, void *arg, struct error *err)
{
    struct del *d = arg;
    const char *p[2] = {d->id, d->scope};
    PGresult *res = NULL, *shas = NULL;
    int rc = db_exec_stmt(db, &lock_stmt, p, &res, err);

    d->status = 0;
    if (rc < 0)
        return rc;
    if (PQntuples(res) == 0)
        d->status = 404;
    else if (strcmp(PQgetvalue(res, 0, 0), d->caller) != 0) {
        d->status = 403;
        d->msg = "Function can only be deleted by its owner.";
    }
    PQclear(res);
    if (d->status == 0)
        rc = refs(db, d, err);
    if (rc < 0 || d->status != 0)
        return rc;
    rc = db_exec_stmt(db, &shas_stmt, p, &shas, err);
    if (rc == 0)
        rc = db_exec_stmt(db, &delete_stmt, p, NULL, err);
    if (rc == 0) {
        const char *q[2] = {d->id, PQgetvalue(shas, 0, 0)};

        rc = db_exec_stmt(db, &purge_stmt, q, NULL, err);
    }
    PQclear(shas);
    d->status = 204;
    return rc;
}

QA_HANDLER(function_delete)
{
    char id[UUID_STR_LEN];
    struct qa_call c;
    struct error err;
    struct del d;
    int rc;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0 ||
        qa_authorize(&c, "function:delete", NULL) < 0)
        return;
    d = (struct del){id, qa_scope(&c), c.project, 0, NULL};
    rc = db_tx(c.db, del_tx, &d, &err);
    if (rc == -EBUSY) { /* a reference appeared meanwhile (an alias's FK) */
        qa_fail(&c, 403, "The function is still associated with function alias(es).");
    } else if (rc < 0) {
        qm_db_fail(rc, &err);
        qa_respond_error(&c, &err);
    } else if (d.status == 404) {
        qa_fail(&c, 404, "Function not found [id=%s]", id);
    } else if (d.status == 403) {
        qa_fail(&c, 403, "%s", d.msg);
    } else {
        qa_tell_engine(&c, "purge", "function_id", id);
        http_resp_empty(r, 204);
    }
}
