/* qapi/h_runtime_image.c: PUT and GET /v1/runtimes/{id}/image [ext] (3.2).
 *
 * The upload arrives streamed into a file in <file_system_dir>/tmp and
 * hashed on the way (HTTP_ROUTE_SPOOL). The runtime is marked `upgrading`
 * by a conditional update, which is also what refuses a second concurrent
 * upload (409); the verification runs outside any transaction; the blob row,
 * the file's rename into the store and the runtime's new image commit in one
 * transaction. A failed verification restores `available` when there was an
 * image, else sets `error` with the reason. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "db/row.h"
#include "qapi/handlers.h"
#include "qapi/image.h"
#include "qapi/runtime.h"
#include "qmodel/blobs.h"
#include "qmodel/fault.h"
#include "qmodel/value.h"

static const struct db_stmt begin_stmt = {
    "qa_image_begin",
    "WITH old AS (SELECT status, config, image_sha256 FROM runtimes WHERE id = $1::uuid "
    "FOR UPDATE) UPDATE runtimes r SET status = 'upgrading', updated_at = now() FROM old "
    "WHERE r.id = $1::uuid AND old.status IN ('creating', 'available', 'error') "
    "RETURNING old.status, old.config, old.image_sha256",
    1,
};

static const struct db_stmt status_stmt = {
    "qa_image_status",
    "SELECT status FROM runtimes WHERE id = $1::uuid",
    1,
};

static const struct db_stmt fail_stmt = {
    "qa_image_fail",
    "UPDATE runtimes SET status = CASE WHEN image_sha256 IS NULL THEN 'error' ELSE 'available' "
    "END, status_reason = CASE WHEN image_sha256 IS NULL THEN $2 ELSE status_reason END, "
    "updated_at = now() WHERE id = $1::uuid AND status = 'upgrading'",
    2,
};

static const struct db_stmt blob_stmt = {
    "qa_image_blob",
    "INSERT INTO blobs (sha256, md5, size, format, kind) VALUES ($1, $2, $3::bigint, $4, "
    "'runtime') ON CONFLICT (sha256) DO UPDATE SET updated_at = now() RETURNING sha256",
    4,
};

static const struct db_stmt done_stmt = {
    "qa_image_done",
    "UPDATE runtimes SET image_sha256 = $2, image_size = $3::bigint, image_format = $4, "
    "image_config = $5::jsonb, architecture = coalesce(architecture, $6), status = 'available', "
    "status_reason = NULL, updated_at = now() WHERE id = $1::uuid",
    6,
};

/* Functions of this runtime lose their warm containers (3.5.5). */
static const struct db_stmt unwarm_stmt = {
    "qa_image_unwarm",
    "INSERT INTO board_purges (id, board_uuid, function_id) SELECT gen_random_uuid(), "
    "fb.board_uuid, fb.function_id FROM function_boards fb JOIN functions f ON f.id = "
    "fb.function_id WHERE f.runtime_id = $1::uuid OR f.image_runtime_id = $1::uuid",
    1,
};

struct upload {
    const char *id;
    const char *root;
    const struct http_upload *up;
    const struct qa_img *img;
    const char *arch; /* from the effective config, or NULL */
};

static int done_tx(struct db *db, void *arg, struct error *err)
{
    struct upload *u = arg;
    char size[DB_INT_LEN];
    char *rj = u->img->runtime_json != NULL ? json_print(u->img->runtime_json) : NULL;
    const char *bp[4] = {u->up->sha256, u->img->md5, db_param_int(size, (int64_t)u->up->size),
                         u->img->format};
    const char *dp[6] = {u->id, u->up->sha256, size, u->img->format, rj, u->arch};
    const char *up[1] = {u->id};
    int rc = db_exec_stmt(db, &blob_stmt, bp, NULL, err);

    /* The blob row is locked now: the sweeper cannot delete this content
     * while it is being placed (qmodel/blobs.h). */
    if (rc == 0)
        rc = qm_blob_place(u->root, u->up->path, u->up->sha256, err);
    if (rc == 0)
        rc = db_exec_stmt(db, &done_stmt, dp, NULL, err);
    if (rc == 0)
        rc = db_exec_stmt(db, &unwarm_stmt, up, NULL, err);
    free(rj);
    return rc;
}

static void busy(struct qa_call *c, const char *id)
{
    const char *p[1] = {id};
    PGresult *res = NULL;

    if (qa_exec(c, &status_stmt, p, &res) < 0)
        return;
    if (PQntuples(res) == 0)
        qa_fail(c, 404, "Runtime not found [id=%s]", id);
    else if (strcmp(PQgetvalue(res, 0, 0), "deleting") == 0)
        qa_fail(c, 409, "Runtime %s is being deleted.", id);
    else
        qa_fail(c, 409, "Runtime %s is being updated.", id);
    PQclear(res);
}

static void failed(struct qa_call *c, const char *id, const char *reason)
{
    char text[ERROR_MSG_MAX + 64];
    const char *p[2] = {id, text};
    PGresult *res = NULL;

    snprintf(text, sizeof(text), "Invalid runtime image: %s.", reason);
    if (qa_exec(c, &fail_stmt, p, &res) == 0)
        qa_fail(c, 400, "%s", text);
    PQclear(res);
}

/* Verifies and commits; the runtime is `upgrading`. cfg is its config. */
static void install(struct qa_call *c, const char *id, const struct http_upload *up,
                    const cJSON *config)
{
    struct upload u = {id, c->a->cfg->file_system_dir, up, NULL, NULL};
    struct qa_img img;
    struct error err;
    cJSON *eff;
    int rc = qa_image_check(up->path, config, c->a->cfg->max_image_unpacked_size, &img, &err);

    if (rc == -EINVAL) {
        failed(c, id, err.msg);
        return;
    }
    if (rc == 0 && (rc = http_req_upload_claim(c->r)) < 0)
        error_set(&err, rc, "the upload was already claimed");
    if (rc < 0) {
        log_error("runtime %s image: %s", id, err.msg);
        failed(c, id, "the image could not be stored");
        return;
    }
    eff = qa_image_effective(img.runtime_json, config);
    u.img = &img;
    u.arch = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(eff, "architecture"))
                 ? cJSON_GetObjectItemCaseSensitive(eff, "architecture")->valuestring
                 : NULL;
    rc = db_tx(c->db, done_tx, &u, &err);
    if (rc < 0) {
        unlink(up->path); /* claimed: ours to remove */
        log_error("runtime %s image: %s", id, err.msg);
        failed(c, id, "the image could not be stored");
    } else {
        qa_tell_engine(c, "purge", "runtime_id", id);
        qa_runtime_answer(c, id, 200);
    }
    cJSON_Delete(eff);
    qa_img_clear(&img);
}

QA_HANDLER(runtime_upload)
{
    const struct http_upload *up = http_req_upload(r);
    const char *want = http_req_query(r, "sha256");
    char id[UUID_STR_LEN], hex[65];
    const char *p[1] = {id};
    PGresult *res = NULL;
    cJSON *config = NULL;
    struct error err;
    struct qa_call c;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0 ||
        qa_authorize(&c, "runtime:upload_image", NULL) < 0)
        return;
    if (up == NULL || up->size == 0) {
        qa_fail(&c, 400, "Invalid runtime image: the request has no body.");
        return;
    }
    if (want != NULL && (!qm_hex_digest(want, 64, hex) || strcmp(hex, up->sha256) != 0)) {
        qa_fail(&c, 400, "Runtime image sha256 mismatch.");
        return;
    }
    if (qa_exec(&c, &begin_stmt, p, &res) < 0)
        return;
    if (PQntuples(res) == 0) {
        busy(&c, id);
    } else if (db_getobject(res, 0, 1, &config, &err) < 0) {
        failed(&c, id, "the runtime's config is unreadable");
    } else {
        install(&c, id, up, config);
    }
    cJSON_Delete(config);
    PQclear(res);
}

static const struct db_stmt download_stmt = {
    "qa_image_download",
    "SELECT image_sha256, image_format, image_size FROM runtimes WHERE id = $1::uuid",
    1,
};

QA_HANDLER(runtime_download)
{
    char id[UUID_STR_LEN], *path;
    const char *p[1] = {id};
    PGresult *res = NULL;
    struct qa_call c;
    struct stat st;
    int fd;

    if (qa_call_init(r, &c) < 0 || qa_path_uuid(&c, "id", id) < 0 ||
        qa_authorize(&c, "runtime:download_image", NULL) < 0 ||
        qa_exec(&c, &download_stmt, p, &res) < 0)
        return;
    if (PQntuples(res) == 0) {
        qa_fail(&c, 404, "Runtime not found [id=%s]", id);
    } else if (PQgetisnull(res, 0, 0)) {
        qa_fail(&c, 404, "Runtime %s has no image.", id);
    } else {
        path = qm_blob_path(c.a->cfg->file_system_dir, PQgetvalue(res, 0, 0));
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
            if (fd >= 0)
                close(fd);
            qa_fail(&c, 404, "Blob %s not found.", PQgetvalue(res, 0, 0));
        } else {
            http_resp_file(r, 200,
                           strcmp(PQgetvalue(res, 0, 1), "tar") == 0 ? "application/x-tar"
                                                                     : "application/gzip",
                           fd, (uint64_t)st.st_size, HTTP_FILE_RANGES);
        }
        free(path);
    }
    PQclear(res);
}
