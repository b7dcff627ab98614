/* wamp/wampmsg.c: see wampmsg.h.
 *
 * Texts are read with the strict scanner (json_strict.h), so a reply that is
 * not UTF-8 or nests too deeply is refused like a frame would be; the
 * resulting tree belongs to the envelope. */
#include "wamp/wampmsg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "wamp/json_out.h"
#include "wamp/json_strict.h"

static const char *const result_words[] = {
    [WAMP_RESULT_SUCCESS] = "SUCCESS",
    [WAMP_RESULT_ERROR] = "ERROR",
    [WAMP_RESULT_WARNING] = "WARNING",
    [WAMP_RESULT_RUNNING] = "RUNNING",
};

const char *wamp_result_str(enum wamp_result r)
{
    if ((unsigned)r >= sizeof(result_words) / sizeof(result_words[0]))
        return NULL;
    return result_words[r];
}

int wamp_result_parse(const char *s, enum wamp_result *out)
{
    for (unsigned i = 0; i < sizeof(result_words) / sizeof(result_words[0]); i++) {
        if (strcmp(s, result_words[i]) == 0) {
            *out = (enum wamp_result)i;
            return 0;
        }
    }
    return -EINVAL;
}

void wamp_wampmsg_clear(struct wamp_wampmsg *wm)
{
    cJSON_Delete(wm->message);
    free(wm->req_id);
    wm->message = NULL;
    wm->req_id = NULL;
    wm->result = WAMP_RESULT_SUCCESS;
}

static cJSON *dup_or_null(const cJSON *v)
{
    cJSON *c = v != NULL ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();

    if (c == NULL)
        abort(); /* allocation failure, which xmalloc would abort on too */
    return c;
}

/* Fills out from an object known to have a "result" key. */
static int from_envelope(const cJSON *obj, struct wamp_wampmsg *out, struct error *err)
{
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(obj, "result");
    const cJSON *req_id = cJSON_GetObjectItemCaseSensitive(obj, "req_id");

    if (!cJSON_IsString(result) || wamp_result_parse(result->valuestring, &out->result) < 0)
        return error_set(err, -EINVAL,
                         "WampMessage result must be SUCCESS, ERROR, WARNING or RUNNING");
    if (req_id != NULL && !cJSON_IsNull(req_id) &&
        (!cJSON_IsString(req_id) || strlen(req_id->valuestring) > WAMP_REQ_ID_MAX))
        return error_set(err, -EINVAL, "WampMessage req_id must be a string of at most %d bytes",
                         WAMP_REQ_ID_MAX);
    out->message = dup_or_null(cJSON_GetObjectItemCaseSensitive(obj, "message"));
    out->req_id = cJSON_IsString(req_id) ? xstrdup(req_id->valuestring) : NULL;
    return 0;
}

int wamp_wampmsg_parse(const char *text, size_t len, struct wamp_wampmsg *out, struct error *err)
{
    cJSON *tree;
    int rc;

    *out = (struct wamp_wampmsg){0};
    if (len > WAMP_MSG_MAX)
        return error_set(err, -EINVAL, "WampMessage longer than %u bytes", WAMP_MSG_MAX);
    rc = wamp_json_check(text, len, WAMP_JSON_DEPTH_MAX, err);
    if (rc < 0) {
        error_prefix(err, "WampMessage");
        if (err != NULL)
            err->code = -EINVAL;
        return -EINVAL;
    }
    tree = wamp_json_tree(text, len);
    if (!cJSON_IsObject(tree) || cJSON_GetObjectItemCaseSensitive(tree, "result") == NULL)
        rc = error_set(err, -EINVAL, "WampMessage must be an object with a result");
    else
        rc = from_envelope(tree, out, err);
    cJSON_Delete(tree);
    return rc;
}

int wamp_wampmsg_from_value(const cJSON *v, struct wamp_wampmsg *out, struct error *err)
{
    struct wamp_wampmsg tmp = {0};
    struct error ignored;

    *out = (struct wamp_wampmsg){0};
    if (cJSON_IsObject(v) && cJSON_GetObjectItemCaseSensitive(v, "result") != NULL)
        return from_envelope(v, out, err);
    if (cJSON_IsString(v)) {
        size_t n = strlen(v->valuestring);
        int rc = wamp_wampmsg_parse(v->valuestring, n, &tmp, &ignored);

        if (rc == 0) {
            *out = tmp;
            return 0;
        }
        /* A text of an object with "result" that did not parse as an
         * envelope is a broken envelope, not a plain string. */
        if (wamp_json_check(v->valuestring, n, WAMP_JSON_DEPTH_MAX, NULL) == 0) {
            cJSON *t = wamp_json_tree(v->valuestring, n);
            int env = cJSON_IsObject(t) && cJSON_GetObjectItemCaseSensitive(t, "result") != NULL;

            cJSON_Delete(t);
            if (env)
                return error_copy(err, &ignored);
        }
    }
    out->result = WAMP_RESULT_SUCCESS;
    out->message = dup_or_null(v);
    return 0;
}

int wamp_wampmsg_from_yield(struct wamp_msg *msg, struct wamp_wampmsg *out, struct error *err)
{
    const cJSON *args = wamp_msg_args(msg);
    int n = args != NULL ? cJSON_GetArraySize(args) : 0;

    if (n == 1)
        return wamp_wampmsg_from_value(args->child, out, err);
    *out = (struct wamp_wampmsg){0};
    out->result = WAMP_RESULT_SUCCESS;
    out->message = dup_or_null(n == 0 ? NULL : args);
    return 0;
}

void wamp_wampmsg_from_error(struct wamp_msg *msg, struct wamp_wampmsg *out)
{
    const cJSON *args = wamp_msg_args(msg);
    const cJSON *first = args != NULL ? args->child : NULL;
    const char *uri = msg->error != NULL ? msg->error : "wamp.error";
    char *text = NULL, *line;

    if (first == NULL)
        line = xstrdup(uri);
    else if (cJSON_IsString(first))
        line = xasprintf("%s: %s", uri, first->valuestring);
    else if (wamp_json_print(first, WAMP_JSON_DEPTH_MAX, WAMP_JSON_SPACED, &text, NULL, NULL) == 0)
        line = xasprintf("%s: %s", uri, text);
    else
        line = xstrdup(uri);
    free(text);
    *out = (struct wamp_wampmsg){.result = WAMP_RESULT_ERROR};
    out->message = cJSON_CreateString(line);
    free(line);
    if (out->message == NULL)
        abort();
}

static int write_member(struct buf *b, const char *key, int first, unsigned flags)
{
    int spaced = !(flags & WAMP_WAMPMSG_COMPACT);

    return buf_printf(b, "%s\"%s\":%s", first ? "" : (spaced ? ", " : ","), key, spaced ? " " : "");
}

static int write_message(struct buf *b, const cJSON *message, unsigned flags, struct error *err)
{
    if (message == NULL)
        return buf_append(b, "null", 4);
    return wamp_json_write(b, message, WAMP_JSON_DEPTH_MAX - 1,
                           flags & WAMP_WAMPMSG_COMPACT ? 0 : WAMP_JSON_SPACED, err);
}

static int write_result(struct buf *b, enum wamp_result result)
{
    return buf_printf(b, "\"%s\"", wamp_result_str(result));
}

int wamp_wampmsg_write(struct buf *b, enum wamp_result result, const cJSON *message,
                       const char *req_id, unsigned flags, struct error *err)
{
    int result_first = (flags & WAMP_WAMPMSG_RESULT_FIRST) != 0;
    int rc;

    if (wamp_result_str(result) == NULL)
        return error_set(err, -EINVAL, "unknown WampMessage result %d", (int)result);
    rc = buf_append(b, "{", 1);
    if (rc == 0)
        rc = write_member(b, result_first ? "result" : "message", 1, flags);
    if (rc == 0)
        rc = result_first ? write_result(b, result) : write_message(b, message, flags, err);
    if (rc == 0)
        rc = write_member(b, result_first ? "message" : "result", 0, flags);
    if (rc == 0)
        rc = result_first ? write_message(b, message, flags, err) : write_result(b, result);
    if (rc == 0 && req_id != NULL) {
        rc = write_member(b, "req_id", 0, flags);
        if (rc == 0)
            rc = wamp_json_write_string(b, req_id, strlen(req_id), err);
    }
    return rc < 0 ? rc : buf_append(b, "}", 1);
}

int wamp_wampmsg_text(enum wamp_result result, const cJSON *message, const char *req_id,
                      unsigned flags, char **out, size_t *len, struct error *err)
{
    struct buf b;
    int rc;

    buf_init(&b, WAMP_MSG_MAX);
    rc = wamp_wampmsg_write(&b, result, message, req_id, flags, err);
    if (rc < 0) {
        buf_free(&b);
        return rc == -E2BIG ? error_set(err, -EINVAL, "WampMessage too long") : rc;
    }
    *out = buf_take(&b, len);
    return 0;
}

int wamp_wampmsg_string(enum wamp_result result, const char *message, const char *req_id,
                        unsigned flags, char **out, size_t *len, struct error *err)
{
    /* A string item borrowing message: cJSON never frees a reference. */
    cJSON item = {.type = cJSON_String | cJSON_IsReference, .valuestring = (char *)message};

    return wamp_wampmsg_text(result, message != NULL ? &item : NULL, req_id, flags, out, len, err);
}
