/* src/fn_payload.c: see fn_payload.h. Defaults are Qinling's where the
 * service may leave a field out (timeout 5 s, cpu 100, memory 32 MiB,
 * warm_ttl 600 s, entry "main.main"). */
#include "src/fn_payload.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

#define DEFAULT_TIMEOUT 5
#define DEFAULT_CPU 100
#define DEFAULT_MEMORY 33554432
#define DEFAULT_WARM_TTL 600
#define MEMORY_MIN (4LL << 20)
#define MEMORY_MAX (64LL << 30)
#define CPU_MAX 1000000

int fn_hex_digest(char *s, size_t len)
{
    if (strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return 0;
        s[i] = (char)tolower((unsigned char)s[i]);
    }
    return 1;
}

static void free_strv(char **v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

void fn_req_free(struct fn_req *r)
{
    if (r == NULL)
        return;
    free(r->entry);
    free(r->input);
    free(r->input_text);
    free_strv(r->image_args);
    free_strv(r->devices);
    free(r->runtime_name);
    free_strv(r->rt.entrypoint);
    free_strv(r->rt.env);
    free(r->rt.cwd);
    free(r->pkg_url);
    free(r->pkg_token);
    free(r->rt_url);
    free(r->rt_token);
    free(r);
}

static int get_uuid(const cJSON *o, const char *key, char out[UUID_STR_LEN], struct error *err)
{
    const char *s;
    int rc = json_get_str(o, key, JSON_REQUIRED, 64, &s, err);

    if (rc < 0)
        return rc;
    if (uuid_normalize(s, out) < 0)
        return error_set(err, -EINVAL, "%s must be a UUID", key);
    return 0;
}

/* Relative, clean, printable: a file name or a module.function. */
static int entry_valid(const char *s)
{
    if (s[0] == '\0' || s[0] == '/' || strstr(s, "..") != NULL)
        return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && strchr("_.-/", *p) == NULL)
            return 0;
    return 1;
}

static int url_valid(const char *s)
{
    if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
        return 0;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return 0;
    return s[strncmp(s, "https://", 8) == 0 ? 8 : 7] != '\0';
}

/* An array of strings into a NULL-terminated vector (NULL when absent). */
static int get_strv(const cJSON *o, const char *key, size_t max_items, size_t max_len,
                    int (*valid)(const char *), char ***out, struct error *err)
{
    const cJSON *arr = NULL, *it;
    size_t n = 0, i = 0;
    int rc = json_get_array(o, key, JSON_NULLABLE, &arr, err);

    *out = NULL;
    if (rc == -ENOENT || rc == 1)
        return 0;
    if (rc < 0)
        return rc;
    n = (size_t)cJSON_GetArraySize(arr);
    if (n > max_items)
        return error_set(err, -EINVAL, "%s has more than %zu items", key, max_items);
    *out = xcalloc(n + 1, sizeof(char *));
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || strlen(it->valuestring) > max_len ||
            (valid != NULL && !valid(it->valuestring))) {
            free_strv(*out);
            *out = NULL;
            return error_set(err, -EINVAL, "%s[%zu] is not a valid value", key, i);
        }
        (*out)[i++] = xstrdup(it->valuestring);
    }
    return 0;
}

/* The token travels in an HTTP header: no spaces or control characters. */
static int token_valid(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            return 0;
    return 1;
}

static int env_valid(const char *s)
{
    const char *eq = strchr(s, '=');

    if (eq == NULL || eq == s || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (const char *p = s; p < eq; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return 0;
    return 1;
}

static int name_valid(const char *s)
{
    if (s[0] == '\0')
        return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL)
            return 0;
    return 1;
}

static int get_digest(const cJSON *o, const char *key, int required, size_t len, char *out,
                      struct error *err)
{
    const char *s;
    int rc = json_get_str(o, key, required ? JSON_REQUIRED : JSON_NULLABLE, len, &s, err);

    out[0] = '\0';
    if (rc == -ENOENT || rc == 1)
        return required ? rc : 0;
    if (rc < 0)
        return rc;
    snprintf(out, len + 1, "%s", s);
    if (!fn_hex_digest(out, len))
        return error_set(err, -EINVAL, "%s must be %zu hexadecimal digits", key, len);
    return 0;
}

static int get_format(const cJSON *o, enum fn_blob_kind kind, char *out, struct error *err)
{
    const char *s;
    int rc = json_get_str(o, "format", JSON_REQUIRED, 8, &s, err);

    if (rc < 0)
        return rc;
    if (strcmp(s, "tar.gz") == 0 || (kind == FN_BLOB_PACKAGE && strcmp(s, "zip") == 0) ||
        (kind == FN_BLOB_RUNTIME && strcmp(s, "tar") == 0)) {
        snprintf(out, FN_FORMAT_MAX, "%s", s);
        return 0;
    }
    return error_set(err, -EINVAL, "format %s is not supported", s);
}

/* sha256, md5sum, size, format, url, token of a package or runtime. */
static int parse_blob(const cJSON *o, enum fn_blob_kind kind, struct fn_blob *b, char **url,
                      char **token, struct error *err)
{
    const char *s;
    int rc;

    b->kind = kind;
    rc = get_digest(o, "sha256", 1, 64, b->sha256, err);
    if (rc == 0)
        rc = get_digest(o, "md5sum", 0, 32, b->md5, err);
    if (rc == 0)
        rc = json_get_int(o, "size", JSON_REQUIRED, 0,
                          kind == FN_BLOB_PACKAGE ? FN_PACKAGE_SIZE_MAX : FN_RUNTIME_SIZE_MAX,
                          &b->size, err);
    if (rc == 0)
        rc = get_format(o, kind, b->format, err);
    if (rc == 0)
        rc = json_get_str(o, "url", JSON_REQUIRED, FN_URL_MAX, &s, err);
    if (rc == 0 && !url_valid(s))
        rc = error_set(err, -EINVAL, "url must be an http or https URL");
    if (rc < 0)
        return rc;
    *url = xstrdup(s);
    b->url = *url;
    rc = json_get_str(o, "token", JSON_NULLABLE, FN_TOKEN_MAX, &s, err);
    if (rc == 0 && !token_valid(s))
        return error_set(err, -EINVAL, "token must be printable ASCII without spaces");
    if (rc == 0) {
        *token = xstrdup(s);
        b->token = *token;
    }
    return rc == -ENOENT || rc == 1 ? 0 : rc;
}

static int parse_rt_config(const cJSON *rt, struct fn_rt_config *c, struct error *err)
{
    const cJSON *conf = NULL;
    const char *cwd;
    int rc = json_get_object(rt, "config", JSON_NULLABLE, &conf, err);

    if (rc == -ENOENT || rc == 1)
        return 0;
    if (rc < 0)
        return rc;
    rc = get_strv(conf, "entrypoint", FN_IMAGE_ARGS_MAX, FN_ARG_MAX, NULL, &c->entrypoint, err);
    if (rc == 0 && c->entrypoint != NULL && c->entrypoint[0] == NULL)
        rc = error_set(err, -EINVAL, "config.entrypoint must not be empty");
    if (rc == 0)
        rc = get_strv(conf, "env", FN_ENV_MAX, FN_ARG_MAX, env_valid, &c->env, err);
    if (rc == 0) {
        rc = json_get_str(conf, "cwd", JSON_NULLABLE, 1024, &cwd, err);
        if (rc == 0 && cwd[0] != '/')
            return error_set(err, -EINVAL, "config.cwd must be an absolute path");
        if (rc == 0)
            c->cwd = xstrdup(cwd);
        rc = rc == -ENOENT || rc == 1 ? 0 : rc;
    }
    return rc < 0 ? error_prefix(err, "runtime") : 0;
}

static int parse_runtime(const cJSON *p, struct fn_req *r, struct error *err)
{
    const cJSON *rt = NULL;
    const char *name;
    int rc = json_get_object(p, "runtime", JSON_REQUIRED, &rt, err);

    if (rc == 0)
        rc = get_uuid(rt, "id", r->runtime_id, err);
    if (rc == 0)
        rc = json_get_str(rt, "name", JSON_REQUIRED, FN_RUNTIME_NAME_MAX, &name, err);
    if (rc == 0 && !name_valid(name))
        rc = error_set(err, -EINVAL, "name has characters other than A-Z a-z 0-9 . _ -");
    if (rc == 0) {
        r->runtime_name = xstrdup(name);
        rc = parse_blob(rt, FN_BLOB_RUNTIME, &r->runtime, &r->rt_url, &r->rt_token, err);
    }
    if (rc == 0)
        rc = parse_rt_config(rt, &r->rt, err);
    return rc < 0 && cJSON_IsObject(rt) ? error_prefix(err, "runtime") : rc;
}

static int parse_package(const cJSON *p, struct fn_req *r, struct error *err)
{
    const cJSON *pkg = NULL;
    int rc = json_get_object(p, "package", JSON_NULLABLE, &pkg, err);

    if (rc == -ENOENT || rc == 1)
        return 0;
    if (rc < 0)
        return rc;
    r->has_package = 1;
    rc = parse_blob(pkg, FN_BLOB_PACKAGE, &r->package, &r->pkg_url, &r->pkg_token, err);
    return rc < 0 ? error_prefix(err, "package") : 0;
}

/* input (the stdin JSON text) and input_kind (2.6.2). */
static int parse_input(const cJSON *p, struct fn_req *r, struct error *err)
{
    const char *s, *kind = NULL;
    cJSON *tree = NULL;
    int rc = json_get_str(p, "input", JSON_NULLABLE, FN_INPUT_MAX, &s, err);

    if (rc < 0 && rc != -ENOENT)
        return rc;
    if (rc == 0 && s[0] != '\0') {
        if (json_parse(s, strlen(s), &tree, NULL) < 0)
            return error_set(err, -EINVAL, "input must be JSON text");
        r->input_kind = cJSON_IsObject(tree) ? FN_INPUT_JSON : FN_INPUT_RAW;
        cJSON_Delete(tree);
        r->input = xstrdup(s);
        r->input_text = xstrdup(s);
    } else {
        r->input = xstrdup("{}");
        r->input_kind = FN_INPUT_NONE;
    }
    r->input_len = strlen(r->input);
    rc = json_get_str(p, "input_kind", JSON_NULLABLE, 8, &kind, err);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    if (rc == 0) {
        if (strcmp(kind, "json") == 0 && r->input_kind == FN_INPUT_JSON)
            return 0;
        if (strcmp(kind, "raw") == 0 && r->input_kind != FN_INPUT_JSON)
            r->input_kind = FN_INPUT_RAW;
        else if (strcmp(kind, "none") == 0 && r->input_kind != FN_INPUT_JSON)
            r->input_kind = FN_INPUT_NONE;
        else
            return error_set(err, -EINVAL, "input_kind %s does not match the input", kind);
    }
    return 0;
}

static int get_time(const cJSON *p, const char *key, int64_t *out, struct error *err)
{
    const char *s;
    int rc = json_get_str(p, key, JSON_NULLABLE, 64, &s, err);

    *out = 0;
    if (rc == -ENOENT || rc == 1)
        return 0;
    if (rc < 0)
        return rc;
    if (time_parse(s, out) < 0)
        return error_set(err, -EINVAL, "%s is not a valid time", key);
    return 0;
}

static int get_enum(const cJSON *p, const char *key, const char *a, const char *b, int *out,
                    struct error *err)
{
    const char *s;
    int rc = json_get_str(p, key, JSON_NULLABLE, 16, &s, err);

    *out = 0;
    if (rc == -ENOENT || rc == 1)
        return 0;
    if (rc < 0)
        return rc;
    if (strcmp(s, a) == 0)
        return 0;
    if (strcmp(s, b) == 0) {
        *out = 1;
        return 0;
    }
    return error_set(err, -EINVAL, "%s must be %s or %s", key, a, b);
}

static int get_int_default(const cJSON *p, const char *key, int64_t min, int64_t max, int64_t def,
                           int64_t *out, struct error *err)
{
    int rc = json_get_int(p, key, JSON_NULLABLE, min, max, out, err);

    if (rc == -ENOENT || rc == 1) {
        *out = def;
        return 0;
    }
    return rc;
}

static int parse_devices(const cJSON *p, struct fn_req *r, struct error *err)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(p, "devices");
    struct hal_devspec *specs = NULL;
    char text[HAL_DEVSPEC_MAX];
    size_t n = 0;
    int rc;

    r->devices = xcalloc(1, sizeof(char *));
    if (arr == NULL || cJSON_IsNull(arr))
        return 0;
    rc = hal_devspec_parse_json(arr, &specs, &n, err);
    if (rc < 0)
        return rc;
    free(r->devices);
    r->devices = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        r->devices[i] = xstrdup(hal_devspec_format(&specs[i], text));
    r->ndevices = n;
    free(specs);
    return 0;
}

static int parse_ids(const cJSON *p, struct fn_req *r, struct error *err)
{
    const char *entry;
    int rc = 0;

    if (r->type == FN_REQ_EXECUTE)
        rc = get_uuid(p, "execution_id", r->execution_id, err);
    if (rc == 0)
        rc = get_uuid(p, "function_id", r->function_id, err);
    if (rc == 0)
        rc = get_int_default(p, "function_version", 0, INT32_MAX, 0, &r->function_version, err);
    if (rc < 0)
        return rc;
    rc = json_get_str(p, "entry", JSON_NULLABLE, FN_ENTRY_MAX, &entry, err);
    if (rc == 0 && !entry_valid(entry))
        return error_set(err, -EINVAL, "entry %s is not a valid module or file name", entry);
    if (rc == 0)
        r->entry = xstrdup(entry);
    return rc == -ENOENT || rc == 1 ? 0 : rc;
}

static int parse_limits(const cJSON *p, struct fn_req *r, struct error *err)
{
    int rc = get_int_default(p, "timeout", 1, FN_TIMEOUT_MAX, DEFAULT_TIMEOUT, &r->timeout, err);

    if (rc == 0)
        rc = get_int_default(p, "cpu", 1, CPU_MAX, DEFAULT_CPU, &r->cpu, err);
    if (rc == 0)
        rc = get_int_default(p, "memory_size", MEMORY_MIN, MEMORY_MAX, DEFAULT_MEMORY,
                             &r->memory_size, err);
    if (rc == 0)
        rc = get_int_default(p, "keep_warm", 0, FN_KEEP_WARM_MAX, 0, &r->keep_warm, err);
    if (rc == 0)
        rc = get_int_default(p, "warm_ttl", 1, FN_TIMEOUT_MAX, DEFAULT_WARM_TTL, &r->warm_ttl, err);
    if (rc == 0)
        rc = get_enum(p, "device_access", "mediated", "raw", &r->raw_access, err);
    if (rc == 0)
        rc = get_enum(p, "network", "none", "host", &r->network_host, err);
    return rc;
}

int fn_req_parse(const cJSON *p, enum fn_req_type type, struct fn_req **out, struct error *err)
{
    struct fn_req *r = xcalloc(1, sizeof(*r));
    int rc = 0;

    *out = NULL;
    r->type = type;
    if (!cJSON_IsObject(p)) {
        rc = error_set(err, -EINVAL, "payload must be an object");
        goto out;
    }
    rc = parse_ids(p, r, err);
    if (rc == 0 && type == FN_REQ_EXECUTE)
        rc = parse_input(p, r, err);
    if (rc == 0 && type == FN_REQ_DEPLOY)
        r->input = xstrdup("{}");
    if (rc == 0)
        rc = get_strv(p, "image_args", FN_IMAGE_ARGS_MAX, FN_ARG_MAX, NULL, &r->image_args, err);
    if (rc == 0)
        rc = parse_limits(p, r, err);
    if (rc == 0)
        rc = parse_devices(p, r, err);
    if (rc == 0 && type == FN_REQ_EXECUTE)
        rc = get_time(p, "deadline", &r->deadline, err);
    if (rc == 0)
        rc = get_time(p, "dispatched_at", &r->dispatched_at, err);
    if (rc == 0)
        rc = parse_package(p, r, err);
    if (rc == 0)
        rc = parse_runtime(p, r, err);
    if (rc == 0 && r->has_package && r->entry == NULL)
        r->entry = xstrdup("main.main");
out:
    if (rc < 0) {
        fn_req_free(r);
        return rc == -ENOENT ? -EINVAL : rc;
    }
    *out = r;
    return 0;
}

/* ------------------------------------------------------------- removal */

void fn_remove_clear(struct fn_remove_req *r)
{
    free(r->purge);
    r->purge = NULL;
    r->npurge = 0;
}

static int parse_purge(const cJSON *p, struct fn_remove_req *r, struct error *err)
{
    const cJSON *arr = NULL, *it;
    size_t i = 0;
    int rc = json_get_array(p, "purge", JSON_NULLABLE, &arr, err);

    if (rc == -ENOENT || rc == 1)
        return 0;
    if (rc < 0)
        return rc;
    if (cJSON_GetArraySize(arr) > FN_PURGE_MAX)
        return error_set(err, -EINVAL, "purge has more than %d items", FN_PURGE_MAX);
    r->purge = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*r->purge));
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || strlen(it->valuestring) != 64)
            return error_set(err, -EINVAL, "purge[%zu] must be a sha256", i);
        snprintf(r->purge[i], FN_SHA256_HEX, "%s", it->valuestring);
        if (!fn_hex_digest(r->purge[i], 64))
            return error_set(err, -EINVAL, "purge[%zu] must be a sha256", i);
        i++;
    }
    r->npurge = i;
    return 0;
}

int fn_remove_parse(const cJSON *p, struct fn_remove_req *r, struct error *err)
{
    int rc;

    memset(r, 0, sizeof(*r));
    r->function_version = -1;
    if (!cJSON_IsObject(p))
        return error_set(err, -EINVAL, "payload must be an object");
    rc = get_uuid(p, "function_id", r->function_id, err);
    if (rc == 0) {
        rc = json_get_int(p, "function_version", JSON_NULLABLE, 0, INT32_MAX, &r->function_version,
                          err);
        if (rc == -ENOENT || rc == 1) {
            r->function_version = -1;
            rc = 0;
        }
    }
    if (rc == 0)
        rc = parse_purge(p, r, err);
    if (rc < 0)
        fn_remove_clear(r);
    return rc == -ENOENT ? -EINVAL : rc;
}

int fn_purge_parse(const cJSON *p, struct fn_remove_req *r, struct error *err)
{
    int rc;

    memset(r, 0, sizeof(*r));
    r->function_version = -1;
    if (!cJSON_IsObject(p))
        return error_set(err, -EINVAL, "payload must be an object");
    rc = parse_purge(p, r, err);
    if (rc < 0)
        fn_remove_clear(r);
    return rc;
}
