/* qapi/function.c: see function.h. */
#include "qapi/function.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/encode.h"
#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "qapi/list.h"
#include "qapi/render.h"
#include "qmodel/blobs.h"
#include "qmodel/fault.h"
#include "qmodel/value.h"

#define RO(n)                                                                                      \
    {                                                                                              \
        n, QA_T_STR, QA_F_RO, NULL                                                                 \
    }
#define FIELDS(runtime_flags)                                                                      \
    {"code", QA_T_JSON, 0, NULL}, {"runtime_id", QA_T_STR, runtime_flags, NULL},                   \
        {"name", QA_T_STR, QA_F_NULL, NULL}, {"description", QA_T_STR, QA_F_NULL, NULL},           \
        {"entry", QA_T_STR, 0, NULL},                                                              \
        {"cpu", QA_T_INT, 0, "Invalid cpu resource specified. An integer is required."},           \
        {"memory_size", QA_T_INT, 0,                                                               \
         "Invalid memory resource specified. An integer is required."},                            \
        {"timeout", QA_T_INT, 0, "Invalid timeout resource specified. An integer is required."},   \
        {"package", QA_T_STR, 0, NULL}, {"devices", QA_T_JSON, QA_F_NULL, NULL},                   \
        {"device_access", QA_T_STR, 0, NULL}, {"network", QA_T_STR, 0, NULL},                      \
        {"board_id", QA_T_STR, QA_F_NULL, NULL}, {"fleet_id", QA_T_STR, QA_F_NULL, NULL},          \
        {"placement", QA_T_STR, QA_F_NULL, NULL}, {"keep_warm", QA_T_INT, 0, NULL},                \
        {"warm_ttl", QA_T_INT, 0, NULL}, RO("id"), RO("count"), RO("latest_version"),              \
        RO("project_id"), RO("created_at"), RO("updated_at")

static const struct qa_field create_fields[] = {FIELDS(0)};
static const struct qa_field update_fields[] = {FIELDS(QA_F_RO)};
#define NF (sizeof(create_fields) / sizeof(create_fields[0]))

static int read_code(struct qa_call *c, struct qa_fnspec *s)
{
    const cJSON *code = NULL, *src;
    cJSON *owned = NULL;

    if (qa_value_json(&s->v[QF_CODE], 1, &code, &owned) < 0)
        return qa_fail(c, 400, "Invalid input, code is not valid JSON.");
    if (!cJSON_IsObject(code)) {
        cJSON_Delete(owned);
        return qa_fail(c, 400, "Invalid input, code must be a JSON object.");
    }
    s->code = owned != NULL ? owned : cJSON_Duplicate(code, 1);
    src = cJSON_GetObjectItemCaseSensitive(s->code, "source");
    s->source = cJSON_IsString(src) ? src->valuestring : "";
    if (strcmp(s->source, "swift") == 0)
        return qa_fail(c, 400, "Swift object not supported.");
    if (strcmp(s->source, "package") != 0 && strcmp(s->source, "image") != 0)
        return qa_fail(c, 400, "Invalid code source specified, available sources: package, image");
    if (json_get_str(s->code, "md5sum", JSON_OPTIONAL, 32, &s->md5sum, NULL) < 0 &&
        cJSON_GetObjectItemCaseSensitive(s->code, "md5sum") != NULL)
        return qa_fail(c, 400, "Invalid input, code.md5sum must be a string.");
    if (json_get_str(s->code, "sha256", JSON_OPTIONAL, 64, &s->sha256, NULL) < 0 &&
        cJSON_GetObjectItemCaseSensitive(s->code, "sha256") != NULL)
        return qa_fail(c, 400, "Invalid input, code.sha256 must be a string.");
    if (json_get_str(s->code, "image", JSON_OPTIONAL, 255, &s->image, NULL) < 0 &&
        cJSON_GetObjectItemCaseSensitive(s->code, "image") != NULL)
        return qa_fail(c, 400, "Invalid input, code.image must be a string.");
    return 0;
}

static int read_devices(struct qa_call *c, struct qa_fnspec *s)
{
    const cJSON *arr = NULL;
    cJSON *owned = NULL;
    struct error err;
    int rc;

    if (s->v[QF_DEVICES].null) {
        s->devices_json = cJSON_CreateArray();
        return 0;
    }
    if (qa_value_json(&s->v[QF_DEVICES], 1, &arr, &owned) < 0)
        return qa_fail(c, 400, "Invalid device %s: devices must be a JSON array of strings.",
                       s->v[QF_DEVICES].s != NULL ? s->v[QF_DEVICES].s : "devices");
    rc = qm_devices_parse(arr, s->devs, &s->ndevs, &err);
    cJSON_Delete(owned);
    if (rc < 0)
        return qa_fail(c, 400, "%s", err.msg);
    s->devices_json = qm_devices_json(s->devs, s->ndevs);
    return 0;
}

static int range(struct qa_call *c, const struct qa_value *v, const char *what, int64_t min,
                 int64_t max, const char *unit)
{
    if (v->present && (v->i < min || v->i > max))
        return qa_fail(c, 400,
                       "%s resource limitation not within the allowable range: %lld ~ %lld(%s).",
                       what, (long long)min, (long long)max, unit);
    return 0;
}

static int one_of(struct qa_call *c, const struct qa_value *v, const char *name, const char *a,
                  const char *b)
{
    if (v->present && strcmp(v->s, a) != 0 && strcmp(v->s, b) != 0)
        return qa_fail(c, 400, "Invalid value for %s: use %s or %s.", name, a, b);
    return 0;
}

static int check_values(struct qa_call *c, struct qa_fnspec *s)
{
    const struct qm_config *cfg = c->a->cfg;
    const struct qa_value *v = s->v;

    if ((v[QF_NAME].s != NULL && !qm_text_ok(v[QF_NAME].s, QM_NAME_MAX)))
        return qa_fail(c, 400, "Invalid value for name: at most 255 characters.");
    if ((v[QF_DESC].s != NULL && !qm_text_ok(v[QF_DESC].s, QM_DESCRIPTION_MAX)))
        return qa_fail(c, 400, "Invalid value for description: at most 255 characters.");
    if (v[QF_ENTRY].present && !qm_entry_ok(v[QF_ENTRY].s))
        return qa_fail(c, 400,
                       "Invalid value for entry: 1 to 80 of A-Z a-z 0-9 _ . / -, not starting "
                       "with / and without a .. component.");
    if (range(c, &v[QF_CPU], "cpu", cfg->min_cpu, cfg->max_cpu, "millicpu") < 0 ||
        range(c, &v[QF_MEMORY], "memory", cfg->min_memory, cfg->max_memory, "bytes") < 0 ||
        range(c, &v[QF_TIMEOUT], "timeout", cfg->min_timeout, cfg->max_timeout, "seconds") < 0)
        return -1;
    if (v[QF_KEEP_WARM].present && (v[QF_KEEP_WARM].i < 0 || v[QF_KEEP_WARM].i > 8))
        return qa_fail(c, 400, "Invalid value for keep_warm: an integer from 0 to 8 is required.");
    if (v[QF_WARM_TTL].present && (v[QF_WARM_TTL].i < 10 || v[QF_WARM_TTL].i > 86400))
        return qa_fail(c, 400,
                       "Invalid value for warm_ttl: an integer from 10 to 86400 is required.");
    if (one_of(c, &v[QF_ACCESS], "device_access", "mediated", "raw") < 0 ||
        one_of(c, &v[QF_NETWORK], "network", "none", "host") < 0)
        return -1;
    return 0;
}

static int read_target(struct qa_call *c, struct qa_fnspec *s)
{
    struct error err;

    s->target.board_ref = s->v[QF_BOARD].s;
    s->target.fleet_ref = s->v[QF_FLEET].s;
    s->target.placement = s->v[QF_PLACEMENT].s;
    if (qm_target_syntax(&s->target, 0, &err) < 0)
        return qa_respond_error(c, &err);
    return 0;
}

static int read_package(struct qa_call *c, const struct qa_body *b, struct qa_fnspec *s)
{
    const struct qa_formfield *file = qa_body_file(b, "package");
    const char *text = s->v[QF_PACKAGE].s;
    size_t len;
    ssize_t n;

    if (file != NULL) {
        s->package = file->value;
        s->package_len = file->len;
        return 0;
    }
    if (b->kind != QA_BODY_JSON || text == NULL)
        return 0;
    len = strlen(text);
    s->package_owned = xmalloc(len / 4 * 3 + 4);
    n = base64_decode(text, len, s->package_owned, len / 4 * 3 + 4);
    if (n < 0 || strchr(text, '-') != NULL || strchr(text, '_') != NULL)
        return qa_fail(c, 400, "Package is not valid base64.");
    s->package = s->package_owned;
    s->package_len = (size_t)n;
    return 0;
}

int qa_fnspec_read(struct qa_call *c, const struct qa_body *b, int update, struct qa_fnspec *s)
{
    memset(s, 0, sizeof(*s));
    if (qa_fields(c, b, update ? update_fields : create_fields, NF, s->v) < 0)
        return -1;
    if (s->v[QF_CODE].present && read_code(c, s) < 0)
        return -1;
    if (s->v[QF_DEVICES].present && read_devices(c, s) < 0)
        return -1;
    if (check_values(c, s) < 0 || read_target(c, s) < 0)
        return -1;
    return read_package(c, b, s);
}

void qa_fnspec_clear(struct qa_fnspec *s)
{
    cJSON_Delete(s->code);
    cJSON_Delete(s->devices_json);
    free(s->package_owned);
    memset(s, 0, sizeof(*s));
}

int qa_fnspec_package(struct qa_call *c, const struct qa_fnspec *s, struct qa_pkg *pkg)
{
    struct qa_pkg_limits lim = {c->a->cfg->max_unpacked_size, c->a->cfg->max_entries};
    struct error err;
    char hex[65];

    if (qa_package_check(s->package, s->package_len, &lim, pkg, &err) < 0)
        return qa_respond_error(c, &err);
    if (s->md5sum != NULL && (!qm_hex_digest(s->md5sum, 32, hex) || strcmp(hex, pkg->md5) != 0))
        return qa_fail(c, 400, "Package md5 mismatch.");
    if (s->sha256 != NULL && (!qm_hex_digest(s->sha256, 64, hex) || strcmp(hex, pkg->sha256) != 0))
        return qa_fail(c, 400, "Package sha256 mismatch.");
    return 0;
}

int qa_package_stage(struct qa_call *c, const struct qa_fnspec *s, char **tmp)
{
    struct error err;
    int fd = -1;
    int rc = qm_blob_tmpfile(c->a->cfg->file_system_dir, tmp, &fd, &err);

    if (rc == 0) {
        rc = qm_blob_write(fd, s->package, s->package_len, &err);
        close(fd);
        if (rc < 0) {
            unlink(*tmp);
            free(*tmp);
            *tmp = NULL;
        }
    }
    if (rc < 0) {
        log_error("package: %s", err.msg);
        return qa_fail(c, 503, QM_MSG_UNAVAILABLE);
    }
    return 0;
}

static const struct db_stmt blob_stmt = {
    "qa_package_blob",
    "INSERT INTO blobs (sha256, md5, size, format, kind) VALUES ($1, $2, $3::bigint, $4, "
    "'package') ON CONFLICT (sha256) DO UPDATE SET updated_at = now() RETURNING sha256",
    4,
};

int qa_package_commit(struct db *db, const char *root, const char *tmp, const struct qa_pkg *pkg,
                      struct error *err)
{
    char size[DB_INT_LEN];
    const char *p[4] = {pkg->sha256, pkg->md5, db_param_int(size, pkg->size), pkg->format};
    int rc = db_exec_stmt(db, &blob_stmt, p, NULL, err);

    return rc < 0 ? rc : qm_blob_place(root, tmp, pkg->sha256, err);
}

cJSON *qa_package_code(const struct qa_pkg *pkg)
{
    cJSON *code = cJSON_CreateObject();

    cJSON_AddStringToObject(code, "source", "package");
    cJSON_AddStringToObject(code, "md5sum", pkg->md5);
    cJSON_AddStringToObject(code, "sha256", pkg->sha256);
    json_add_int(code, "size", pkg->size);
    cJSON_AddStringToObject(code, "format", pkg->format);
    return code;
}

int qa_fnspec_target(struct qa_call *c, const struct qa_fnspec *s, struct qm_target *t)
{
    static const struct qm_fn none;
    struct qm_target_req req = s->target;
    struct error err;

    memset(t, 0, sizeof(*t));
    if (req.board_ref == NULL && req.fleet_ref == NULL)
        return 0;
    if (qm_target_resolve(c->db, &req, &none, qa_board_scope(c), t, &err) < 0)
        return qa_respond_error(c, &err);
    return 0;
}

static const struct db_stmt get_stmt = {
    "qa_function_get",
    "SELECT " QA_SEL_FUNCTION " FROM functions f WHERE f.id = $1::uuid "
    "AND ($2::text IS NULL OR f.project_id = $2)",
    2,
};

static void render(struct jw *w, const PGresult *res, int row, struct qa_call *c)
{
    (void)c;
    qa_render_function(w, res, row);
}

int qa_function_answer(struct qa_call *c, const char *id, int status)
{
    const char *p[2] = {id, qa_scope(c)};
    PGresult *res = NULL;
    char nf[128];

    if (qa_exec(c, &get_stmt, p, &res) < 0)
        return -1;
    snprintf(nf, sizeof(nf), "Function not found [id=%s]", id);
    qa_answer_one(c, res, status, render, nf);
    return 0;
}
