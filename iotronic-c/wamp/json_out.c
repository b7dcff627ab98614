/* wamp/json_out.c: see json_out.h.
 *
 * A recursive walk bounded by depth_max. Strings are copied in runs between
 * the bytes that need escaping, so long payloads cost one append per run,
 * not per byte. */
#include "wamp/json_out.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wamp/json_strict.h"

int wamp_json_write_number(struct buf *b, double v)
{
    char tmp[40];
    int n = 0;

    if (!isfinite(v))
        return buf_append(b, "null", 4);
    if (v == floor(v) && fabs(v) < 9.2e18) {
        n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
        return buf_append(b, tmp, (size_t)n);
    }
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    return buf_append(b, tmp, (size_t)n);
}

static int needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

static int write_escape(struct buf *b, unsigned char c)
{
    switch (c) {
    case '"':
        return buf_append(b, "\\\"", 2);
    case '\\':
        return buf_append(b, "\\\\", 2);
    case '\b':
        return buf_append(b, "\\b", 2);
    case '\f':
        return buf_append(b, "\\f", 2);
    case '\n':
        return buf_append(b, "\\n", 2);
    case '\r':
        return buf_append(b, "\\r", 2);
    case '\t':
        return buf_append(b, "\\t", 2);
    default:
        return buf_printf(b, "\\u%04x", c);
    }
}

int wamp_json_write_string(struct buf *b, const char *s, size_t n, struct error *err)
{
    size_t i = 0, run;
    int rc;

    if (memchr(s, '\0', n) != NULL)
        return error_set(err, -EINVAL, "string contains a NUL byte");
    if (!wamp_utf8_valid(s, n))
        return error_set(err, -EINVAL, "string is not valid UTF-8");
    rc = buf_append(b, "\"", 1);
    while (rc == 0 && i < n) {
        for (run = i; run < n && !needs_escape((unsigned char)s[run]); run++)
            ;
        if (run > i)
            rc = buf_append(b, s + i, run - i);
        if (rc == 0 && run < n)
            rc = write_escape(b, (unsigned char)s[run++]);
        i = run;
    }
    return rc < 0 ? rc : buf_append(b, "\"", 1);
}

static int write_item(struct buf *b, const cJSON *item, int depth_left, unsigned flags,
                      struct error *err);

static int write_container(struct buf *b, const cJSON *item, int depth_left, unsigned flags,
                           struct error *err)
{
    int object = cJSON_IsObject(item);
    const char *sep = flags & WAMP_JSON_SPACED ? ", " : ",";
    const char *colon = flags & WAMP_JSON_SPACED ? ": " : ":";
    int rc;

    if (depth_left <= 0)
        return error_set(err, -EINVAL, "value nested deeper than allowed");
    rc = buf_append(b, object ? "{" : "[", 1);
    for (const cJSON *c = item->child; rc == 0 && c != NULL; c = c->next) {
        if (c != item->child)
            rc = buf_append_str(b, sep);
        if (rc == 0 && object) {
            if (c->string == NULL)
                return error_set(err, -EINVAL, "object member without a key");
            rc = wamp_json_write_string(b, c->string, strlen(c->string), err);
            if (rc == 0)
                rc = buf_append_str(b, colon);
        }
        if (rc == 0)
            rc = write_item(b, c, depth_left - 1, flags, err);
    }
    return rc < 0 ? rc : buf_append(b, object ? "}" : "]", 1);
}

static int write_item(struct buf *b, const cJSON *item, int depth_left, unsigned flags,
                      struct error *err)
{
    int rc;

    switch (item->type & 0xFF) {
    case cJSON_False:
        return buf_append(b, "false", 5);
    case cJSON_True:
        return buf_append(b, "true", 4);
    case cJSON_NULL:
        return buf_append(b, "null", 4);
    case cJSON_Number:
        return wamp_json_write_number(b, item->valuedouble);
    case cJSON_String:
        if (item->valuestring == NULL)
            return error_set(err, -EINVAL, "string item without a value");
        return wamp_json_write_string(b, item->valuestring, strlen(item->valuestring), err);
    case cJSON_Raw:
        if (item->valuestring == NULL)
            return error_set(err, -EINVAL, "raw item without a value");
        rc = wamp_json_check(item->valuestring, strlen(item->valuestring), depth_left, err);
        if (rc < 0)
            return error_set(err, -EINVAL, "raw item is not one JSON value");
        return buf_append_str(b, item->valuestring);
    case cJSON_Array:
    case cJSON_Object:
        return write_container(b, item, depth_left, flags, err);
    default:
        return error_set(err, -EINVAL, "cJSON item of unknown type %d", item->type);
    }
}

int wamp_json_write(struct buf *b, const cJSON *item, int depth_max, unsigned flags,
                    struct error *err)
{
    int rc = write_item(b, item, depth_max, flags, err);

    if (rc == -E2BIG)
        error_set(err, rc, "JSON text longer than %zu bytes", b->limit);
    return rc;
}

int wamp_json_print(const cJSON *item, int depth_max, unsigned flags, char **out, size_t *len,
                    struct error *err)
{
    struct buf b;
    int rc;

    buf_init(&b, (size_t)-1 / 2);
    rc = wamp_json_write(&b, item, depth_max, flags, err);
    if (rc < 0) {
        buf_free(&b);
        return rc;
    }
    *out = buf_take(&b, len);
    return 0;
}
