/* common/json.c: see json.h. */
#include "common/json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

int json_parse(const char *text, size_t len, cJSON **out, struct error *err)
{
    const char *end = NULL;
    cJSON *tree;

    *out = NULL;
    if (len == 0)
        return error_set(err, -EINVAL, "empty JSON text");
    tree = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (tree == NULL) {
        size_t at = end != NULL && end >= text ? (size_t)(end - text) : 0;

        return error_set(err, -EINVAL, "invalid JSON at byte %zu", at);
    }
    while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end != text + len) {
        cJSON_Delete(tree);
        return error_set(err, -EINVAL, "trailing data after JSON at byte %zu",
                         (size_t)(end - text));
    }
    *out = tree;
    return 0;
}

/* Common prologue: finds key, handles absence and null. Returns 2 when the
 * caller should go on and check the type. */
static int lookup(const cJSON *obj, const char *key, int flags, const cJSON **item,
                  struct error *err)
{
    *item = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (*item == NULL) {
        if (flags & JSON_REQUIRED)
            return error_set(err, -ENOENT, "missing %s", key);
        return -ENOENT;
    }
    if (cJSON_IsNull(*item)) {
        if (flags & JSON_NULLABLE)
            return 1;
        return error_set(err, -EINVAL, "%s must not be null", key);
    }
    return 2;
}

int json_get_str(const cJSON *obj, const char *key, int flags, size_t maxlen, const char **out,
                 struct error *err)
{
    const cJSON *item;
    int rc = lookup(obj, key, flags, &item, err);

    if (rc != 2) {
        if (rc == 1)
            *out = NULL;
        return rc;
    }
    if (!cJSON_IsString(item))
        return error_set(err, -EINVAL, "%s must be a string", key);
    if (strlen(item->valuestring) > maxlen)
        return error_set(err, -EINVAL, "%s is longer than %zu characters", key, maxlen);
    *out = item->valuestring;
    return 0;
}

int json_int_value(const cJSON *item, int64_t min, int64_t max, int64_t *out)
{
    double d;

    if (!cJSON_IsNumber(item))
        return 0;
    d = item->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < -9007199254740992.0 || d > 9007199254740992.0)
        return 0;
    if ((int64_t)d < min || (int64_t)d > max)
        return 0;
    *out = (int64_t)d;
    return 1;
}

int json_get_int(const cJSON *obj, const char *key, int flags, int64_t min, int64_t max,
                 int64_t *out, struct error *err)
{
    const cJSON *item;
    int rc = lookup(obj, key, flags, &item, err);

    if (rc != 2)
        return rc;
    if (!cJSON_IsNumber(item))
        return error_set(err, -EINVAL, "%s must be an integer", key);
    if (!json_int_value(item, min, max, out))
        return error_set(err, -EINVAL, "%s must be an integer between %lld and %lld", key,
                         (long long)min, (long long)max);
    return 0;
}

int json_get_double(const cJSON *obj, const char *key, int flags, double *out, struct error *err)
{
    const cJSON *item;
    int rc = lookup(obj, key, flags, &item, err);

    if (rc != 2)
        return rc;
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble))
        return error_set(err, -EINVAL, "%s must be a number", key);
    *out = item->valuedouble;
    return 0;
}

int json_get_bool(const cJSON *obj, const char *key, int flags, int *out, struct error *err)
{
    const cJSON *item;
    int rc = lookup(obj, key, flags, &item, err);

    if (rc != 2)
        return rc;
    if (!cJSON_IsBool(item))
        return error_set(err, -EINVAL, "%s must be a boolean", key);
    *out = cJSON_IsTrue(item);
    return 0;
}

int json_get_object(const cJSON *obj, const char *key, int flags, const cJSON **out,
                    struct error *err)
{
    const cJSON *item;
    int rc = lookup(obj, key, flags, &item, err);

    if (rc != 2) {
        if (rc == 1)
            *out = NULL;
        return rc;
    }
    if (!cJSON_IsObject(item))
        return error_set(err, -EINVAL, "%s must be an object", key);
    *out = item;
    return 0;
}

int json_get_array(const cJSON *obj, const char *key, int flags, const cJSON **out,
                   struct error *err)
{
    const cJSON *item;
    int rc = lookup(obj, key, flags, &item, err);

    if (rc != 2) {
        if (rc == 1)
            *out = NULL;
        return rc;
    }
    if (!cJSON_IsArray(item))
        return error_set(err, -EINVAL, "%s must be an array", key);
    *out = item;
    return 0;
}

char *json_print(const cJSON *item)
{
    char *s = cJSON_PrintUnformatted(item);

    if (s == NULL)
        abort(); /* only on allocation failure, which xmalloc already aborts on */
    return s;
}

cJSON *json_add_str_or_null(cJSON *obj, const char *key, const char *s)
{
    if (s == NULL)
        return cJSON_AddNullToObject(obj, key);
    return cJSON_AddStringToObject(obj, key, s);
}

cJSON *json_create_int(int64_t v)
{
    char text[24];

    /* cJSON prints numbers beyond int32 with "%1.15g" whenever that reads
     * back within its epsilon, which loses digits of 53-bit WAMP ids: emit
     * those as raw text instead. */
    if (v >= INT32_MIN && v <= INT32_MAX)
        return cJSON_CreateNumber((double)v);
    snprintf(text, sizeof(text), "%lld", (long long)v);
    return cJSON_CreateRaw(text);
}

cJSON *json_add_int(cJSON *obj, const char *key, int64_t v)
{
    cJSON *item = json_create_int(v);

    cJSON_AddItemToObject(obj, key, item);
    return item;
}

cJSON *json_dup_or_object(const cJSON *item)
{
    cJSON *c;

    if (item == NULL)
        return cJSON_CreateObject();
    c = cJSON_Duplicate(item, 1);
    if (c == NULL)
        abort();
    return c;
}
