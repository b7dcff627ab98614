/* amqp/envelope.c: see envelope.h.
 *
 * Encoding never copies the caller's JSON: the args or result tree is linked
 * into the envelope as a cJSON reference, printed, and unlinked by deleting
 * the envelope (references are not freed). Decoding validates every field
 * the version defines before any pointer into the tree is handed out. */
#include "amqp/envelope.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/uuid.h"
#include "common/xalloc.h"

static int name_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
}

int mq_env_method_ok(const char *s)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++)
        if (n >= MQ_METHOD_MAX || !name_char_ok((unsigned char)s[n]))
            return 0;
    return n > 0;
}

int mq_env_request_id_ok(const char *s)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        unsigned char c = (unsigned char)s[n];

        if (n >= MQ_REQID_MAX || !(name_char_ok(c) || c == '@' || c == '+' || c == '=' || c == '/'))
            return 0;
    }
    return 1;
}

/* Prints root and deletes it; referenced items stay with their owners. */
static char *print_and_delete(cJSON *root, size_t *len)
{
    char *text = json_print(root);

    cJSON_Delete(root);
    if (len)
        *len = strlen(text);
    return text;
}

char *mq_env_request_encode(const char *method, const cJSON *args, const char *request_id,
                            int64_t deadline_ms, size_t *len)
{
    cJSON *root = cJSON_CreateObject();
    char fresh[4 + UUID_STR_LEN];

    if (request_id == NULL || request_id[0] == '\0' || !mq_env_request_id_ok(request_id)) {
        memcpy(fresh, "req-", 4);
        uuid_v4(fresh + 4);
        request_id = fresh;
    }
    cJSON_AddNumberToObject(root, "v", MQ_ENV_VERSION);
    cJSON_AddStringToObject(root, "method", method);
    if (args != NULL)
        cJSON_AddItemReferenceToObject(root, "args", (cJSON *)args);
    else
        cJSON_AddObjectToObject(root, "args");
    cJSON_AddStringToObject(root, "request_id", request_id);
    json_add_int(root, "deadline_ms", deadline_ms > 0 ? deadline_ms : 0);
    return print_and_delete(root, len);
}

/* The common prologue of both decoders: a JSON object whose v is 1. */
static int decode_root(const char *body, size_t len, cJSON **root, struct error *err)
{
    int64_t v;
    int rc;

    /* Valid JSON text never holds a raw NUL; cJSON would cut strings there. */
    if (memchr(body, '\0', len) != NULL) {
        *root = NULL;
        return error_set(err, -EINVAL, "NUL byte in the envelope");
    }
    rc = json_parse(body, len, root, err);
    if (rc < 0)
        return rc;
    if (!cJSON_IsObject(*root)) {
        rc = error_set(err, -EINVAL, "envelope is not a JSON object");
        goto fail;
    }
    rc = json_get_int(*root, "v", JSON_REQUIRED, 0, INT32_MAX, &v, err);
    if (rc < 0)
        goto fail;
    if (v != MQ_ENV_VERSION) {
        rc = error_set(err, -EINVAL, "unsupported envelope version %lld", (long long)v);
        goto fail;
    }
    return 0;
fail:
    cJSON_Delete(*root);
    *root = NULL;
    return -EINVAL;
}

static int decode_request_fields(struct mq_request_env *e, struct error *err)
{
    const cJSON *args = NULL;
    const char *rid = NULL;
    int rc;

    rc = json_get_str(e->root, "method", JSON_REQUIRED, MQ_METHOD_MAX, &e->method, err);
    if (rc < 0)
        return -EINVAL;
    if (!mq_env_method_ok(e->method))
        return error_set(err, -EINVAL, "method must be 1..%d characters of [A-Za-z0-9_.:-]",
                         MQ_METHOD_MAX);
    rc = json_get_object(e->root, "args", JSON_OPTIONAL, &args, err);
    if (rc < 0 && rc != -ENOENT)
        return -EINVAL;
    e->args = args ? args : cJSON_AddObjectToObject(e->root, "args");
    rc = json_get_str(e->root, "request_id", JSON_NULLABLE, MQ_REQID_MAX, &rid, err);
    if (rc < 0 && rc != -ENOENT)
        return -EINVAL;
    e->request_id = rid ? rid : "";
    if (!mq_env_request_id_ok(e->request_id))
        return error_set(err, -EINVAL, "request_id has characters outside [A-Za-z0-9_.:@+=/-]");
    rc = json_get_int(e->root, "deadline_ms", JSON_NULLABLE, 0, MQ_DEADLINE_MAX, &e->deadline_ms,
                      err);
    if (rc < 0 && rc != -ENOENT)
        return -EINVAL;
    if (rc != 0)
        e->deadline_ms = 0;
    return 0;
}

int mq_env_request_decode(const char *body, size_t len, struct mq_request_env *out,
                          struct error *err)
{
    int rc;

    memset(out, 0, sizeof(*out));
    rc = decode_root(body, len, &out->root, err);
    if (rc < 0)
        return rc;
    rc = decode_request_fields(out, err);
    if (rc < 0) {
        mq_env_request_clear(out);
        return -EINVAL;
    }
    return 0;
}

void mq_env_request_clear(struct mq_request_env *e)
{
    cJSON_Delete(e->root);
    memset(e, 0, sizeof(*e));
}

char *mq_env_reply_ok(const cJSON *result, size_t *len)
{
    cJSON *root = cJSON_CreateObject();

    cJSON_AddNumberToObject(root, "v", MQ_ENV_VERSION);
    cJSON_AddTrueToObject(root, "ok");
    if (result != NULL)
        cJSON_AddItemReferenceToObject(root, "result", (cJSON *)result);
    else
        cJSON_AddNullToObject(root, "result");
    return print_and_delete(root, len);
}

/* Cuts s to at most max bytes without splitting a UTF-8 sequence. */
static char *utf8_cut(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n <= max)
        return xstrdup(s);
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return xstrndup(s, n);
}

char *mq_env_reply_error(int errnum, int status, const char *message, const cJSON *data,
                         size_t *len)
{
    cJSON *root = cJSON_CreateObject(), *e;
    char *msg;

    if (errnum < 0)
        errnum = -errnum;
    if (errnum == 0 || errnum > MQ_ERRNO_MAX)
        errnum = EIO;
    if (status < 100 || status > 599)
        status = 0;
    msg = utf8_cut(message ? message : strerror(errnum), MQ_ERRMSG_MAX);
    cJSON_AddNumberToObject(root, "v", MQ_ENV_VERSION);
    cJSON_AddFalseToObject(root, "ok");
    e = cJSON_AddObjectToObject(root, "error");
    cJSON_AddNumberToObject(e, "errno", errnum);
    cJSON_AddNumberToObject(e, "status", status);
    cJSON_AddStringToObject(e, "message", msg);
    if (data != NULL)
        cJSON_AddItemReferenceToObject(e, "data", (cJSON *)data);
    else
        cJSON_AddNullToObject(e, "data");
    free(msg);
    return print_and_delete(root, len);
}

static int decode_error_fields(const cJSON *eobj, struct mq_reply_env *r, struct error *err)
{
    int64_t v;
    int rc;

    rc = json_get_int(eobj, "errno", JSON_REQUIRED, 1, MQ_ERRNO_MAX, &v, err);
    if (rc < 0)
        return error_prefix(err, "error");
    r->errnum = (int)v;
    rc = json_get_int(eobj, "status", JSON_NULLABLE, 0, 599, &v, err);
    if (rc < 0 && rc != -ENOENT)
        return error_prefix(err, "error");
    r->status = rc == 0 ? (int)v : 0;
    if (r->status != 0 && r->status < 100)
        return error_set(err, -EINVAL, "error: status must be 0 or 100..599");
    rc = json_get_str(eobj, "message", JSON_REQUIRED, MQ_ERRMSG_MAX, &r->message, err);
    if (rc < 0)
        return error_prefix(err, "error");
    r->data = cJSON_GetObjectItemCaseSensitive(eobj, "data");
    if (cJSON_IsNull(r->data))
        r->data = NULL;
    return 0;
}

static int decode_reply_fields(struct mq_reply_env *r, struct error *err)
{
    const cJSON *eobj;
    int rc;

    rc = json_get_bool(r->root, "ok", JSON_REQUIRED, &r->ok, err);
    if (rc < 0)
        return -EINVAL;
    if (r->ok) {
        r->result = cJSON_GetObjectItemCaseSensitive(r->root, "result");
        if (r->result == NULL)
            r->result = cJSON_AddNullToObject(r->root, "result");
        return 0;
    }
    rc = json_get_object(r->root, "error", JSON_REQUIRED, &eobj, err);
    if (rc < 0)
        return -EINVAL;
    return decode_error_fields(eobj, r, err) < 0 ? -EINVAL : 0;
}

int mq_env_reply_decode(const char *body, size_t len, struct mq_reply_env *out, struct error *err)
{
    int rc;

    memset(out, 0, sizeof(*out));
    rc = decode_root(body, len, &out->root, err);
    if (rc < 0)
        return rc;
    rc = decode_reply_fields(out, err);
    if (rc < 0) {
        mq_env_reply_clear(out);
        return -EINVAL;
    }
    return 0;
}

void mq_env_reply_clear(struct mq_reply_env *e)
{
    cJSON_Delete(e->root);
    memset(e, 0, sizeof(*e));
}
