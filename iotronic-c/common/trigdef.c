/* common/trigdef.c: trigger sources, input templates and events
 * (deviceless-api.md 3.7.1, 3.7.4; the API is in trigdef.h).
 *
 * Invariants: a struct trigdef_source that trigdef_source_parse() filled is
 * complete and within the contract's ranges, so the board can install it
 * without further checks beyond its own hardware; a template that passed
 * trigdef_template_check() renders into at most TRIGDEF_INPUT_MAX bytes
 * whatever the event holds. */
#include "common/trigdef.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

/* An event printed compactly is well under this (two UUIDs, a spec of at
 * most 47 characters, two timestamps, numbers); a placeholder can never
 * expand to more. */
#define EVENT_TEXT_MAX 512
/* Executions take at most [api] max_input_size (default 65536) bytes of
 * input; a template that could render beyond it is refused up front. */
#define TRIGDEF_INPUT_MAX 65536
#define SHOWN_MAX 64 /* of a bad placeholder, in messages */

static const char *const cond_names[] = {">", ">=", "<", "<=", "rising", "falling", "change"};

static const char *const event_keys[] = {"trigger_id", "firing_seq", "board_id",  "source",
                                         "value",      "previous",   "condition", "threshold",
                                         "sampled_at", "fired_at"};

static const char *const source_keys[] = {"board_id",           "sensor",     "gpio",
                                          "condition",          "threshold",  "hysteresis",
                                          "sample_interval_ms", "debounce_ms"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *trigdef_cond_name(enum trigdef_cond c)
{
    return (unsigned)c < NELEM(cond_names) ? cond_names[c] : "?";
}

int trigdef_cond_parse(const char *s)
{
    for (size_t i = 0; s != NULL && i < NELEM(cond_names); i++)
        if (strcmp(s, cond_names[i]) == 0)
            return (int)i;
    return -1;
}

int trigdef_name_ok(const char *s)
{
    size_t n = 0;

    for (; s != NULL && s[n] != '\0'; n++) {
        char c = s[n];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return n >= 1 && n <= TRIGDEF_NAME_MAX;
}

/* ------------------------------------------------------------ source */

/* The member key, or NULL when absent or null (3.7.1 reads null as absent). */
static const cJSON *member(const cJSON *obj, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

    return it == NULL || cJSON_IsNull(it) ? NULL : it;
}

static int check_keys(const cJSON *obj, struct error *err)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, obj)
    {
        size_t i = 0;

        while (i < NELEM(source_keys) && strcmp(it->string, source_keys[i]) != 0)
            i++;
        if (i == NELEM(source_keys))
            return error_set(err, -EINVAL, "Unknown attribute: source.%.64s", it->string);
    }
    return 0;
}

/* "<chip>:<line>", the line plain decimal (no sign, no leading zero). */
static int parse_gpio(const char *text, struct trigdef_source *s, struct error *err)
{
    const char *colon = strrchr(text, ':');
    size_t chip_len = colon != NULL ? (size_t)(colon - text) : 0;
    unsigned long line = 0;
    const char *p;

    if (colon == NULL || chip_len == 0 || chip_len > TRIGDEF_NAME_MAX || colon[1] == '\0' ||
        (colon[1] == '0' && colon[2] != '\0') || strlen(colon + 1) > 5)
        goto bad;
    memcpy(s->name, text, chip_len);
    s->name[chip_len] = '\0';
    if (!trigdef_name_ok(s->name))
        goto bad;
    for (p = colon + 1; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            goto bad;
        line = line * 10 + (unsigned long)(*p - '0');
    }
    if (line > TRIGDEF_LINE_MAX)
        goto bad;
    s->line = (unsigned)line;
    return 0;
bad:
    return error_set(err, -EINVAL, "source.gpio must be <chip>:<line>.");
}

static int parse_device(const cJSON *obj, struct trigdef_source *s, struct error *err)
{
    const cJSON *sensor = member(obj, "sensor"), *gpio = member(obj, "gpio");

    if ((sensor == NULL) == (gpio == NULL))
        return error_set(err, -EINVAL, "Give exactly one of source.sensor and source.gpio.");
    if (gpio != NULL) {
        s->kind = TRIGDEF_GPIO;
        if (!cJSON_IsString(gpio))
            return error_set(err, -EINVAL, "source.gpio must be <chip>:<line>.");
        return parse_gpio(gpio->valuestring, s, err);
    }
    s->kind = TRIGDEF_SENSOR;
    if (!cJSON_IsString(sensor) || !trigdef_name_ok(sensor->valuestring))
        return error_set(err, -EINVAL,
                         "source.sensor must be a sensor name (1 to 32 of A-Z a-z 0-9 _ -).");
    snprintf(s->name, sizeof(s->name), "%s", sensor->valuestring); /* length checked above */
    return 0;
}

static int parse_condition(const cJSON *obj, struct trigdef_source *s, struct error *err)
{
    const cJSON *c = member(obj, "condition");
    int v;

    if (c == NULL)
        return error_set(err, -EINVAL, "Required param is missing. Required: source.condition");
    v = cJSON_IsString(c) ? trigdef_cond_parse(c->valuestring) : -1;
    if (v < 0 || (s->kind == TRIGDEF_GPIO && v != TRIGDEF_RISING && v != TRIGDEF_FALLING &&
                  v != TRIGDEF_CHANGE)) {
        char *shown = cJSON_IsString(c) ? NULL : json_print(c);
        int rc = error_set(err, -EINVAL, "Condition %.*s is not valid for a %s source.", SHOWN_MAX,
                           shown != NULL ? shown : c->valuestring,
                           s->kind == TRIGDEF_GPIO ? "gpio" : "sensor");

        free(shown);
        return rc;
    }
    s->cond = (enum trigdef_cond)v;
    return 0;
}

static int get_number(const cJSON *obj, const char *key, const cJSON **item, double *out,
                      struct error *err)
{
    *item = member(obj, key);
    if (*item == NULL)
        return 0;
    if (!cJSON_IsNumber(*item) || !isfinite((*item)->valuedouble))
        return error_set(err, -EINVAL, "source.%s must be a number.", key);
    *out = (*item)->valuedouble;
    return 0;
}

static int parse_levels(const cJSON *obj, struct trigdef_source *s, struct error *err)
{
    const cJSON *thr, *hyst;

    if (get_number(obj, "threshold", &thr, &s->threshold, err) < 0 ||
        get_number(obj, "hysteresis", &hyst, &s->hysteresis, err) < 0)
        return -EINVAL;
    if (s->kind == TRIGDEF_GPIO) {
        if (thr != NULL)
            return error_set(err, -EINVAL, "source.threshold is not allowed for a gpio source.");
        if (hyst != NULL)
            return error_set(err, -EINVAL, "source.hysteresis is not allowed for a gpio source.");
        return 0;
    }
    if (thr == NULL && s->cond != TRIGDEF_CHANGE)
        return error_set(err, -EINVAL, "source.threshold is required for condition %s.",
                         trigdef_cond_name(s->cond));
    if (s->cond == TRIGDEF_CHANGE && s->threshold < 0)
        return error_set(err, -EINVAL, "source.threshold must be >= 0 for condition change.");
    if (s->hysteresis < 0)
        return error_set(err, -EINVAL, "source.hysteresis must be a number >= 0.");
    s->has_threshold = 1;
    return 0;
}

/* An integer as 1.4 allows it: a JSON integer or decimal text. 0 and *out,
 * -ENOENT when absent, -EINVAL when it is not an integer, -ERANGE outside
 * [min, max]. */
static int get_int(const cJSON *obj, const char *key, int64_t min, int64_t max, int64_t *out)
{
    const cJSON *it = member(obj, key);
    char *end;
    long long v;

    if (it == NULL)
        return -ENOENT;
    if (cJSON_IsString(it)) {
        const char *t = it->valuestring;

        errno = 0;
        v = strtoll(t, &end, 10);
        if (t[0] == '\0' || t[0] == ' ' || *end != '\0' || errno != 0)
            return errno == ERANGE ? -ERANGE : -EINVAL;
    } else if (cJSON_IsNumber(it)) {
        double d = it->valuedouble;

        if (!isfinite(d) || d != floor(d))
            return -EINVAL;
        if (d < (double)min || d > (double)max)
            return -ERANGE;
        v = (long long)d;
    } else {
        return -EINVAL;
    }
    if (v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

static int parse_timing(const cJSON *obj, struct trigdef_source *s, struct error *err)
{
    int rc;

    s->sample_interval_ms =
        s->kind == TRIGDEF_GPIO ? TRIGDEF_GPIO_INTERVAL : TRIGDEF_SENSOR_INTERVAL;
    rc = get_int(obj, "sample_interval_ms", TRIGDEF_INTERVAL_MIN, TRIGDEF_INTERVAL_MAX,
                 &s->sample_interval_ms);
    if (rc == -EINVAL)
        return error_set(err, rc,
                         "Invalid value for source.sample_interval_ms: an integer is required.");
    if (rc == -ERANGE)
        return error_set(err, -EINVAL, "source.sample_interval_ms must be between %d and %d.",
                         TRIGDEF_INTERVAL_MIN, TRIGDEF_INTERVAL_MAX);
    s->debounce_ms = 0;
    rc = get_int(obj, "debounce_ms", 0, TRIGDEF_DEBOUNCE_MAX, &s->debounce_ms);
    if (rc == -EINVAL)
        return error_set(err, rc, "Invalid value for source.debounce_ms: an integer is required.");
    if (rc == -ERANGE)
        return error_set(err, -EINVAL, "source.debounce_ms must be between 0 and %d.",
                         TRIGDEF_DEBOUNCE_MAX);
    return 0;
}

int trigdef_source_parse(const cJSON *obj, struct trigdef_source *out, struct error *err)
{
    struct trigdef_source s;

    memset(&s, 0, sizeof(s));
    if (!cJSON_IsObject(obj))
        return error_set(err, -EINVAL, "source must be a JSON object.");
    if (check_keys(obj, err) < 0 || parse_device(obj, &s, err) < 0 ||
        parse_condition(obj, &s, err) < 0 || parse_levels(obj, &s, err) < 0 ||
        parse_timing(obj, &s, err) < 0)
        return -EINVAL;
    *out = s;
    return 0;
}

char *trigdef_source_spec(const struct trigdef_source *s, char out[TRIGDEF_SPEC_MAX])
{
    if (s->kind == TRIGDEF_GPIO)
        snprintf(out, TRIGDEF_SPEC_MAX, "gpio:%s:%u", s->name, s->line);
    else
        snprintf(out, TRIGDEF_SPEC_MAX, "sensor:%s", s->name);
    return out;
}

cJSON *trigdef_source_json(const struct trigdef_source *s, const char *board_id)
{
    cJSON *o = cJSON_CreateObject();
    char gpio[TRIGDEF_SPEC_MAX];

    if (board_id != NULL)
        cJSON_AddStringToObject(o, "board_id", board_id);
    snprintf(gpio, sizeof(gpio), "%s:%u", s->name, s->line);
    json_add_str_or_null(o, "sensor", s->kind == TRIGDEF_SENSOR ? s->name : NULL);
    json_add_str_or_null(o, "gpio", s->kind == TRIGDEF_GPIO ? gpio : NULL);
    cJSON_AddStringToObject(o, "condition", trigdef_cond_name(s->cond));
    if (s->kind == TRIGDEF_SENSOR) {
        cJSON_AddNumberToObject(o, "threshold", s->threshold);
        cJSON_AddNumberToObject(o, "hysteresis", s->hysteresis);
    } else {
        cJSON_AddNullToObject(o, "threshold");
        cJSON_AddNullToObject(o, "hysteresis");
    }
    json_add_int(o, "sample_interval_ms", s->sample_interval_ms);
    json_add_int(o, "debounce_ms", s->debounce_ms);
    return o;
}

/* ----------------------------------------------------------- template */

/* Finds the next placeholder in p. Returns 0 when there is none; 1 with
 * [*start, *end) the whole "{{...}}" and *key the event key ("" for the
 * whole event, NULL when unknown). An unterminated "{{" is unknown and runs
 * to the end of the text. */
static int next_placeholder(const char *p, const char **start, const char **end, const char **key,
                            size_t *keylen)
{
    const char *open = strstr(p, "{{"), *close, *a, *b;

    if (open == NULL)
        return 0;
    *start = open;
    close = strstr(open + 2, "}}");
    *key = NULL;
    if (close == NULL) {
        *end = open + strlen(open);
        return 1;
    }
    *end = close + 2;
    for (a = open + 2; a < close && *a == ' '; a++)
        ;
    for (b = close; b > a && b[-1] == ' '; b--)
        ;
    if ((size_t)(b - a) == 5 && memcmp(a, "event", 5) == 0) {
        *key = "";
        *keylen = 0;
        return 1;
    }
    if ((size_t)(b - a) <= 6 || memcmp(a, "event.", 6) != 0)
        return 1;
    for (size_t i = 0; i < NELEM(event_keys); i++)
        if (strlen(event_keys[i]) == (size_t)(b - a - 6) &&
            memcmp(a + 6, event_keys[i], b - a - 6) == 0) {
            *key = event_keys[i];
            *keylen = (size_t)(b - a - 6);
            return 1;
        }
    return 1;
}

/* Counts the placeholders of every string in item; -EINVAL on an unknown one. */
static int scan(const cJSON *item, size_t *count, struct error *err)
{
    const cJSON *child;

    if (cJSON_IsString(item)) {
        const char *p = item->valuestring, *start, *end, *key;
        size_t keylen;

        while (next_placeholder(p, &start, &end, &key, &keylen)) {
            if (key == NULL)
                return error_set(err, -EINVAL, "Unknown placeholder %.*s in input_template.",
                                 (int)((size_t)(end - start) < SHOWN_MAX ? end - start : SHOWN_MAX),
                                 start);
            (*count)++;
            p = end;
        }
        return 0;
    }
    cJSON_ArrayForEach(child, item) if (scan(child, count, err) < 0) return -EINVAL;
    return 0;
}

int trigdef_template_check(const cJSON *tmpl, struct error *err)
{
    size_t count = 0, len;
    char *text;

    if (tmpl == NULL || cJSON_IsNull(tmpl))
        return 0;
    if (!cJSON_IsObject(tmpl))
        return error_set(err, -EINVAL, "input_template must be a JSON object.");
    text = json_print(tmpl);
    len = strlen(text);
    free(text);
    if (len > TRIGDEF_TEMPLATE_MAX)
        return error_set(err, -EINVAL, "input_template exceeds %d bytes.", TRIGDEF_TEMPLATE_MAX);
    if (scan(tmpl, &count, err) < 0)
        return -EINVAL;
    if (len + count * EVENT_TEXT_MAX > TRIGDEF_INPUT_MAX)
        return error_set(err, -EINVAL,
                         "input_template could exceed %d bytes once its placeholders are "
                         "replaced.",
                         TRIGDEF_INPUT_MAX);
    return 0;
}

/* ------------------------------------------------------------- events */

static void add_time(cJSON *o, const char *key, int64_t us)
{
    char ts[TIME_ISO_LEN];

    cJSON_AddStringToObject(o, key, time_format(us, TIME_Z_US, ts));
}

static void add_level(cJSON *o, const char *key, const struct trigdef_source *s, double v)
{
    if (s->kind == TRIGDEF_GPIO)
        json_add_int(o, key, v != 0 ? 1 : 0);
    else
        cJSON_AddNumberToObject(o, key, v);
}

cJSON *trigdef_event(const struct trigdef_firing *f)
{
    cJSON *o = cJSON_CreateObject();
    char spec[TRIGDEF_SPEC_MAX];

    cJSON_AddStringToObject(o, "trigger_id", f->trigger_id);
    json_add_int(o, "firing_seq", f->seq);
    json_add_str_or_null(o, "board_id", f->board_id);
    cJSON_AddStringToObject(o, "source", trigdef_source_spec(f->src, spec));
    add_level(o, "value", f->src, f->value);
    if (f->has_previous)
        add_level(o, "previous", f->src, f->previous);
    else
        cJSON_AddNullToObject(o, "previous");
    cJSON_AddStringToObject(o, "condition", trigdef_cond_name(f->src->cond));
    if (f->src->has_threshold)
        cJSON_AddNumberToObject(o, "threshold", f->src->threshold);
    else
        cJSON_AddNullToObject(o, "threshold");
    add_time(o, "sampled_at", f->sampled_at_us);
    add_time(o, "fired_at", f->fired_at_us);
    return o;
}

/* The value a placeholder stands for (borrowed), or NULL for null. */
static const cJSON *lookup(const cJSON *event, const char *key, size_t keylen)
{
    const cJSON *it;

    if (keylen == 0)
        return event;
    cJSON_ArrayForEach(it, event) if (strlen(it->string) == keylen &&
                                      memcmp(it->string, key, keylen) == 0) return it;
    return NULL;
}

static int append_value(struct buf *b, const cJSON *v)
{
    char *text;
    int rc;

    if (v == NULL)
        return buf_append_str(b, "null");
    if (cJSON_IsString(v))
        return buf_append_str(b, v->valuestring);
    text = json_print(v);
    rc = buf_append_str(b, text);
    free(text);
    return rc;
}

static cJSON *render_string(const char *s, const cJSON *event)
{
    const char *p = s, *start, *end, *key;
    struct buf b;
    size_t keylen;
    cJSON *out;
    int rc = 0;

    if (next_placeholder(s, &start, &end, &key, &keylen) && start == s && *end == '\0' &&
        key != NULL) {
        const cJSON *v = lookup(event, key, keylen);

        return v != NULL ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
    }
    buf_init(&b, TRIGDEF_INPUT_MAX);
    while (rc == 0 && next_placeholder(p, &start, &end, &key, &keylen)) {
        rc = buf_append(&b, p, (size_t)(start - p));
        if (rc == 0 && key != NULL)
            rc = append_value(&b, lookup(event, key, keylen));
        else if (rc == 0)
            rc = buf_append(&b, start, (size_t)(end - start)); /* unchecked template: kept */
        p = end;
    }
    if (rc == 0)
        rc = buf_append_str(&b, p);
    /* Past the ceiling only with a template that was never checked: the
     * string then stays as written rather than half replaced. */
    if (rc == 0) {
        char *text = buf_take(&b, NULL);

        out = cJSON_CreateString(text);
        free(text);
    } else {
        out = cJSON_CreateString(s);
    }
    buf_free(&b);
    return out;
}

static cJSON *render(const cJSON *item, const cJSON *event)
{
    const cJSON *child;
    cJSON *out;

    if (cJSON_IsString(item))
        return render_string(item->valuestring, event);
    if (!cJSON_IsObject(item) && !cJSON_IsArray(item))
        return cJSON_Duplicate(item, 1);
    out = cJSON_IsObject(item) ? cJSON_CreateObject() : cJSON_CreateArray();
    cJSON_ArrayForEach(child, item)
    {
        cJSON *r = render(child, event);

        if (cJSON_IsObject(item))
            cJSON_AddItemToObject(out, child->string, r);
        else
            cJSON_AddItemToArray(out, r);
    }
    return out;
}

cJSON *trigdef_input(const cJSON *tmpl, const cJSON *event)
{
    cJSON *o;

    if (tmpl == NULL || !cJSON_IsObject(tmpl)) {
        o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "event", cJSON_Duplicate(event, 1));
        return o;
    }
    return render(tmpl, event);
}
