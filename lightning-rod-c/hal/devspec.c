/* hal/devspec.c: see devspec.h.
 *
 * Specs come from tenants (through the cloud) and from function payloads, so
 * every byte is checked before use; the offending spec is echoed in the
 * message truncated to 64 characters so that an error never grows with the
 * input. */
#include "hal/devspec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/xalloc.h"

#define SHOWN_MAX 64 /* characters of a bad spec echoed in messages */

static int invalid(struct error *err, const char *spec, const char *reason)
{
    return error_set(err, -EINVAL, "Invalid device %.*s: %s.", SHOWN_MAX, spec, reason);
}

int hal_name_valid(const char *s)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        char c = s[n];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
        if (n >= HAL_NAME_MAX)
            return 0;
    }
    return n > 0;
}

/* Copies the field [p, end) into out when it is a valid name. */
static int take_name(const char *p, const char *end, char out[HAL_NAME_MAX + 1])
{
    size_t n = (size_t)(end - p);

    if (n == 0 || n > HAL_NAME_MAX)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return hal_name_valid(out) ? 0 : -1;
}

/* A line offset: decimal digits, no sign, no leading zero, <= 65535. */
static int take_line(const char *p, const char *end, unsigned *out)
{
    unsigned v = 0;

    if (p == end || end - p > 5 || (*p == '0' && end - p > 1))
        return -1;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (v > HAL_GPIO_LINE_MAX)
        return -1;
    *out = v;
    return 0;
}

static int parse_gpio(const char *spec, const char *rest, struct hal_devspec *d, struct error *err)
{
    const char *c1 = strchr(rest, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    const char *dir;

    if (c1 == NULL || c2 == NULL || strchr(c2 + 1, ':') != NULL)
        return invalid(err, spec, "expected gpio:<chip>:<line>:in or gpio:<chip>:<line>:out");
    if (take_name(rest, c1, d->name) < 0)
        return invalid(err, spec, "the chip name must be 1 to 32 characters from A-Z a-z 0-9 _ -");
    if (take_line(c1 + 1, c2, &d->line) < 0)
        return invalid(err, spec, "the line must be a decimal offset from 0 to 65535");
    dir = c2 + 1;
    if (strcmp(dir, "in") == 0)
        d->dir = HAL_DIR_IN;
    else if (strcmp(dir, "out") == 0)
        d->dir = HAL_DIR_OUT;
    else
        return invalid(err, spec, "the direction must be in or out");
    d->kind = HAL_DEV_GPIO;
    return 0;
}

int hal_devspec_parse(const char *spec, struct hal_devspec *out, struct error *err)
{
    struct hal_devspec d;
    size_t len = strlen(spec);

    memset(&d, 0, sizeof(d));
    if (len >= HAL_DEVSPEC_MAX)
        return invalid(err, spec, "too long");
    if (strncmp(spec, "gpio:", 5) == 0) {
        int rc = parse_gpio(spec, spec + 5, &d, err);

        if (rc < 0)
            return rc;
    } else if (strncmp(spec, "sensor:", 7) == 0) {
        if (take_name(spec + 7, spec + len, d.name) < 0)
            return invalid(err, spec,
                           "the sensor name must be 1 to 32 characters from A-Z a-z 0-9 _ -");
        d.kind = HAL_DEV_SENSOR;
    } else {
        return invalid(err, spec, "expected gpio:<chip>:<line>:in|out or sensor:<name>");
    }
    *out = d;
    return 0;
}

static int same_device(const struct hal_devspec *a, const struct hal_devspec *b)
{
    return a->kind == b->kind && strcmp(a->name, b->name) == 0 &&
           (a->kind == HAL_DEV_SENSOR || a->line == b->line);
}

/* The list rules, checking out[i] against out[0..i). */
static int check_against_earlier(const char *spec, const struct hal_devspec *out, size_t i,
                                 struct error *err)
{
    for (size_t j = 0; j < i; j++) {
        if (!same_device(&out[i], &out[j]))
            continue;
        if (out[i].kind == HAL_DEV_GPIO && out[i].dir != out[j].dir)
            return invalid(err, spec, "the line is declared both in and out");
        return invalid(err, spec, "declared twice");
    }
    return 0;
}

int hal_devspec_parse_list(const char *const *specs, size_t n, struct hal_devspec *out,
                           struct error *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc;

        if (i == HAL_DEVICES_MAX)
            return invalid(err, specs[i], "at most 32 devices can be declared");
        rc = hal_devspec_parse(specs[i], &out[i], err);
        if (rc == 0)
            rc = check_against_earlier(specs[i], out, i, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int hal_devspec_parse_json(const cJSON *array, struct hal_devspec **out, size_t *n,
                           struct error *err)
{
    const char *specs[HAL_DEVICES_MAX + 1];
    struct hal_devspec *list = NULL;
    const cJSON *item;
    size_t count = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (!cJSON_IsArray(array))
        return error_set(err, -EINVAL, "devices must be an array of strings");
    cJSON_ArrayForEach(item, array)
    {
        if (!cJSON_IsString(item)) {
            char *text = json_print(item);

            rc = invalid(err, text, "not a string");
            free(text);
            return rc;
        }
        if (count == HAL_DEVICES_MAX)
            return invalid(err, item->valuestring, "at most 32 devices can be declared");
        specs[count++] = item->valuestring;
    }
    if (count == 0)
        return 0;
    list = xcalloc(count, sizeof(*list));
    rc = hal_devspec_parse_list(specs, count, list, err);
    if (rc < 0) {
        free(list);
        return rc;
    }
    *out = list;
    *n = count;
    return 0;
}

char *hal_devspec_format(const struct hal_devspec *d, char out[HAL_DEVSPEC_MAX])
{
    if (d->kind == HAL_DEV_SENSOR)
        snprintf(out, HAL_DEVSPEC_MAX, "sensor:%s", d->name);
    else
        snprintf(out, HAL_DEVSPEC_MAX, "gpio:%s:%u:%s", d->name, d->line,
                 d->dir == HAL_DIR_OUT ? "out" : "in");
    return out;
}

char *hal_devspec_device(const struct hal_devspec *d, char out[HAL_DEVSPEC_MAX])
{
    if (d->kind == HAL_DEV_SENSOR)
        snprintf(out, HAL_DEVSPEC_MAX, "sensor:%s", d->name);
    else
        snprintf(out, HAL_DEVSPEC_MAX, "gpio:%s:%u", d->name, d->line);
    return out;
}
