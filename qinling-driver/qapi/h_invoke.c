/* qapi/h_invoke.c: POST /v1/webhooks/{id}/invoke (2.9) and GET
 * /v1/blobs/{sha256} (3.5.2): the two routes that take no Keystone token.
 * The first is rate-limited per webhook; the second needs a board token for
 * exactly that blob (1.2). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "common/jsonw.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "qapi/body.h"
#include "qapi/exec.h"
#include "qapi/handlers.h"
#include "qapi/ratelimit.h"
#include "qmodel/blobs.h"
#include "qmodel/fault.h"
#include "qmodel/token.h"
#include "qmodel/value.h"

/* Only lowercase hex digits and hyphens (as Qinling's exemption matched). */
static int hex_id(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > 36)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || *s == '-'))
            return 0;
    return 1;
}

/* Adds key=value: a second value makes an array of the strings. */
static void add_string(cJSON *obj, const char *key, const char *value)
{
    cJSON *old = cJSON_GetObjectItemCaseSensitive(obj, key), *arr;

    if (old == NULL) {
        cJSON_AddStringToObject(obj, key, value);
    } else if (cJSON_IsArray(old)) {
        cJSON_AddItemToArray(old, cJSON_CreateString(value));
    } else {
        arr = cJSON_CreateArray();
        cJSON_AddItemToArray(arr, cJSON_Duplicate(old, 1));
        cJSON_AddItemToArray(arr, cJSON_CreateString(value));
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, arr);
    }
}

/* The input object (2.9): query, then form fields, then JSON members. 0 and
 * *out, or answered. */
static int build_input(struct qa_call *c, cJSON **out)
{
    const char *mt = http_req_media_type(c->r);
    cJSON *obj = cJSON_CreateObject(), *json = NULL;
    struct qa_body b = {0};
    size_t len = 0;
    const char *text = http_req_body(c->r, &len);
    const cJSON *it;

    for (size_t i = 0; i < http_req_query_count(c->r); i++)
        add_string(obj, http_req_query_at(c->r, i)->name, http_req_query_at(c->r, i)->value);
    if (len > 0 && (mt[0] == '\0' || strcmp(mt, "application/json") == 0)) {
        if (json_parse(text, len, &json, NULL) < 0 || !cJSON_IsObject(json)) {
            cJSON_Delete(json);
            cJSON_Delete(obj);
            return qa_fail(c, 400, "Webhook body must be a JSON object.");
        }
    } else if (len > 0 && qa_body_read(c, QA_ACCEPT_FORM, &b) < 0) {
        cJSON_Delete(obj);
        return -1;
    }
    for (size_t i = 0; i < b.nfields; i++)
        if (!b.fields[i].is_file)
            add_string(obj, b.fields[i].name, b.fields[i].value);
    cJSON_ArrayForEach(it, json)
    {
        cJSON_DeleteItemFromObjectCaseSensitive(obj, it->string);
        cJSON_AddItemToObject(obj, it->string, cJSON_Duplicate(it, 1));
    }
    cJSON_Delete(json);
    qa_body_free(&b);
    *out = obj;
    return 0;
}

static const struct db_stmt webhook_stmt = {
    "qa_invoke_webhook",
    "SELECT function_id, function_alias, coalesce(function_version, 0), board_id, fleet_id, "
    "placement, pending_timeout, project_id FROM webhooks WHERE id = $1::uuid",
    1,
};

static void launch(struct qa_call *c, const char *id, const PGresult *w, const char *input)
{
    char desc[128], *end;
    struct qm_launch q = {0};
    struct qm_launched l;
    struct error err;
    struct buf b;
    struct jw jw;

    qa_launch_defaults(c, &q);
    q.project = PQgetvalue(w, 0, 7);
    q.scope = q.project;
    q.board_scope = c->a->enforce ? q.project : NULL;
    q.function_id = PQgetisnull(w, 0, 0) ? NULL : PQgetvalue(w, 0, 0);
    q.alias = PQgetisnull(w, 0, 1) ? NULL : PQgetvalue(w, 0, 1);
    q.version = strtoll(PQgetvalue(w, 0, 2), &end, 10);
    q.sync = 0;
    q.input = input;
    snprintf(desc, sizeof(desc), "Created by Webhook %s", id);
    q.description = desc;
    q.target = (struct qm_target_req){PQgetisnull(w, 0, 3) ? NULL : PQgetvalue(w, 0, 3),
                                      PQgetisnull(w, 0, 4) ? NULL : PQgetvalue(w, 0, 4),
                                      PQgetisnull(w, 0, 5) ? NULL : PQgetvalue(w, 0, 5)};
    if (!PQgetisnull(w, 0, 6))
        q.pending_timeout = strtoll(PQgetvalue(w, 0, 6), &end, 10);
    if (qm_launch(c->db, &q, &l, &err) < 0) {
        qa_respond_error(c, &err);
        return;
    }
    qa_announce(c, &l.made);
    buf_init(&b, 256);
    jw_init(&jw, &b, 1);
    jw_obj_begin(&jw);
    jw_key(&jw, "execution_id");
    jw_str(&jw, l.made.id);
    jw_obj_end(&jw);
    http_resp_body_take(c->r, 202, NULL, b.data, b.len);
    qm_launched_clear(&l);
}

QA_HANDLER(webhook_invoke)
{
    const char *raw = http_req_param(r, "id");
    char id[UUID_STR_LEN], *text;
    PGresult *w = NULL;
    cJSON *input = NULL;
    struct qa_call c;

    if (qa_call_init(r, &c) < 0)
        return;
    if (!hex_id(raw) || uuid_normalize(raw, id) < 0) {
        qa_fail(&c, 404, "Resource not found.");
        return;
    }
    if (!qa_ratelimit_take(c.a->webhook_rl, id, time_mono_us())) {
        qa_fail(&c, 429, "Too many requests.");
        return;
    }
    const char *p[1] = {id};
    if (qa_exec(&c, &webhook_stmt, p, &w) < 0)
        return;
    if (PQntuples(w) == 0) {
        qa_fail(&c, 404, "Webhook not found [id=%s]", id);
    } else if (build_input(&c, &input) == 0) {
        text = json_print(input);
        launch(&c, id, w, text);
        free(text);
    }
    cJSON_Delete(input);
    PQclear(w);
}

static const struct db_stmt blob_stmt = {
    "qa_blob_get",
    "SELECT b.format, EXISTS (SELECT 1 FROM boards WHERE uuid = $2::uuid) FROM blobs b "
    "WHERE b.sha256 = $1 UNION ALL SELECT NULL, EXISTS (SELECT 1 FROM boards WHERE uuid = "
    "$2::uuid) WHERE NOT EXISTS (SELECT 1 FROM blobs WHERE sha256 = $1)",
    2,
};

static const char *blob_type(const char *format)
{
    if (strcmp(format, "zip") == 0)
        return "application/zip";
    return strcmp(format, "tar") == 0 ? "application/x-tar" : "application/gzip";
}

static void send_blob(struct qa_call *c, const char *sha, const char *format)
{
    char *path = qm_blob_path(c->a->cfg->file_system_dir, sha), etag[80];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    free(path);
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        qa_fail(c, 404, "Blob %s not found.", sha);
        return;
    }
    snprintf(etag, sizeof(etag), "\"%s\"", sha);
    if (http_resp_header(c->r, "ETag", etag) < 0)
        log_warn("cannot add ETag");
    http_resp_file(c->r, 200, blob_type(format), fd, (uint64_t)st.st_size, HTTP_FILE_RANGES);
}

QA_HANDLER(blob_get)
{
    const char *raw = http_req_param(r, "sha256");
    const char *token = http_req_header(r, "X-Board-Token");
    char board[UUID_STR_LEN], sha[65];
    PGresult *res = NULL;
    struct qa_call c;

    if (qa_call_init(r, &c) < 0)
        return;
    if (!qm_hex_digest(raw, 64, sha) || qm_token_check(c.a->cfg->board_token_secret, token, sha,
                                                       time_now_us() / 1000000, board) < 0) {
        qa_fail(&c, 401, "Invalid board token.");
        return;
    }
    const char *p[2] = {sha, board};
    if (qa_exec(&c, &blob_stmt, p, &res) < 0)
        return;
    /* The board must still exist (1.2). */
    if (strcmp(PQgetvalue(res, 0, 1), "t") != 0)
        qa_fail(&c, 401, "Invalid board token.");
    else if (PQgetisnull(res, 0, 0))
        qa_fail(&c, 404, "Blob %s not found.", sha);
    else
        send_blob(&c, sha, PQgetvalue(res, 0, 0));
    PQclear(res);
}
