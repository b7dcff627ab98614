/* src/fn_result.c: see fn_result.h. The message strings are the contract's
 * (Qinling's where marked so there), byte for byte. */
#include "src/fn_result.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

#define MSG_OOM "Function execution failed because of too much resource consumption"
#define MSG_TIMEOUT "Function execution timeout."

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    size_t len;
    unsigned cp;

    /* NUL cannot travel in our C strings: it is replaced like invalid bytes. */
    if (p[0] == 0)
        return 0;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2, cp = p[0] & 0x1f;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3, cp = p[0] & 0x0f;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4, cp = p[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    /* Overlong forms, surrogates and code points past U+10FFFF. */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

char *fn_utf8_sanitize(const char *s, size_t n, size_t *out_len)
{
    const unsigned char *p = (const unsigned char *)s;
    char *out = xmalloc(n * 3 + 1);
    size_t o = 0;

    for (size_t i = 0; i < n;) {
        size_t len = utf8_seq(p + i, n - i);

        if (len == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(out + o, p + i, len);
        o += len;
        i += len;
    }
    out[o] = '\0';
    if (out_len != NULL)
        *out_len = o;
    return out;
}

cJSON *fn_result_output(const char *data, size_t len)
{
    cJSON *v = NULL;
    size_t clean_len;
    char *clean;

    if (len == 0)
        return cJSON_CreateNull();
    clean = fn_utf8_sanitize(data, len, &clean_len);
    if (json_parse(clean, clean_len, &v, NULL) == 0) {
        free(clean);
        return v;
    }
    if (clean_len > 0 && clean[clean_len - 1] == '\n')
        clean[--clean_len] = '\0';
    v = cJSON_CreateString(clean);
    free(clean);
    return v;
}

double fn_result_seconds(int64_t us)
{
    return round((double)us / 1000.0) / 1000.0;
}

static void add_time(cJSON *o, const char *key, int64_t us)
{
    char buf[TIME_ISO_LEN];

    if (us > 0)
        cJSON_AddStringToObject(o, key, time_format(us, TIME_Z_US, buf));
    else
        cJSON_AddNullToObject(o, key);
}

static cJSON *msg(const char *fmt, const char *a, long long n)
{
    char buf[1024];

    if (a != NULL)
        snprintf(buf, sizeof(buf), fmt, a);
    else
        snprintf(buf, sizeof(buf), fmt, n);
    return cJSON_CreateString(buf);
}

/* status and output by 2.6.3's rules, in its order. */
static const char *decide(const struct fn_result_in *in, cJSON **output)
{
    const struct ctr_outcome *o = in->o;

    if (in->service_failure) {
        *output = cJSON_CreateString("Function execution failed.");
        return "error";
    }
    if (o == NULL || o->failure != NULL) {
        char text[2048];

        snprintf(text, sizeof(text), "%s %s: %s",
                 in->deploy_failed ? "Failed to deploy function on board"
                                   : "Failed to start function container on board",
                 in->board_id ? in->board_id : "-",
                 o != NULL && o->failure ? o->failure : (in->reason ? in->reason : "unknown"));
        *output = cJSON_CreateString(text);
        return "error";
    }
    if (o->oom) {
        *output = cJSON_CreateString(MSG_OOM);
        return "failed";
    }
    if (o->timed_out) {
        *output = cJSON_CreateString(MSG_TIMEOUT);
        return "failed";
    }
    if (o->signal != 0) {
        *output = msg("Function was killed by signal %lld.", NULL, o->signal);
        return "failed";
    }
    if (o->result_too_big) {
        *output = msg("Function result exceeds %lld bytes.", NULL, (long long)in->max_result_size);
        return "failed";
    }
    if (o->exit_code == 0) {
        *output = fn_result_output(o->result, o->result_present ? o->result_len : 0);
        return "success";
    }
    if (o->result_present && o->result_len > 0)
        *output = fn_result_output(o->result, o->result_len);
    else
        *output = msg("Function exited with status %lld.", NULL, o->exit_code);
    return "failed";
}

static void add_int_or_null(cJSON *obj, const char *key, int present, int64_t v)
{
    if (present)
        json_add_int(obj, key, v);
    else
        cJSON_AddNullToObject(obj, key);
}

cJSON *fn_result_build(const struct fn_result_in *in)
{
    const struct ctr_outcome *o = in->o;
    int ran = o != NULL && o->failure == NULL;
    cJSON *r = cJSON_CreateObject(), *output = NULL;
    const char *status = decide(in, &output);
    char *logs;

    cJSON_AddStringToObject(r, "execution_id", in->execution_id);
    json_add_str_or_null(r, "container_id", in->container_id);
    cJSON_AddStringToObject(r, "status", status);
    cJSON_AddItemToObject(r, "output", output);
    cJSON_AddNumberToObject(r, "duration", ran ? fn_result_seconds(o->duration_us) : 0);
    add_int_or_null(r, "exit_code", ran && o->signal == 0, ran ? o->exit_code : 0);
    add_int_or_null(r, "signal", ran && o->signal != 0, ran ? o->signal : 0);
    cJSON_AddBoolToObject(r, "timed_out", ran && o->timed_out);
    cJSON_AddBoolToObject(r, "oom", ran && o->oom);
    logs = fn_utf8_sanitize(ran && o->log ? o->log : "", ran && o->log ? o->log_len : 0, NULL);
    cJSON_AddStringToObject(r, "logs", logs);
    free(logs);
    json_add_int(r, "logs_dropped", ran ? (int64_t)o->log_dropped : 0);
    add_time(r, "received_at", in->received_at);
    add_time(r, "started_at", ran ? o->started_at : 0);
    add_time(r, "finished_at", ran ? o->finished_at : 0);
    add_time(r, "first_write_at", ran ? o->first_write_at : 0);
    cJSON_AddStringToObject(r, "executor", in->executor);
    cJSON_AddBoolToObject(r, "warm", in->warm);
    return r;
}
