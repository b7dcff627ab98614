/* qmodel/devices.c: see devices.h. */
#include "qmodel/devices.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

static int name_ok(const char *s, size_t n)
{
    if (n == 0 || n > QM_DEVNAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
            return 0;
    return 1;
}

static int parse_gpio(const char *rest, struct qm_device *d, struct error *err)
{
    const char *c1 = strchr(rest, ':'), *c2;
    long line = 0;
    size_t n;

    if (c1 == NULL || (c2 = strchr(c1 + 1, ':')) == NULL)
        return error_set(err, -EINVAL, "expected gpio:<chip>:<line>:<in|out>");
    if (!name_ok(rest, (size_t)(c1 - rest)))
        return error_set(err, -EINVAL, "a chip name is 1 to 32 of A-Z a-z 0-9 _ -");
    n = (size_t)(c2 - c1 - 1);
    if (n == 0 || n > 5)
        return error_set(err, -EINVAL, "the line must be a decimal offset");
    for (size_t i = 0; i < n; i++) {
        if (c1[1 + i] < '0' || c1[1 + i] > '9')
            return error_set(err, -EINVAL, "the line must be a decimal offset");
        line = line * 10 + (c1[1 + i] - '0');
    }
    if (line > QM_LINE_MAX)
        return error_set(err, -EINVAL, "the line must be at most %d", QM_LINE_MAX);
    if (strcmp(c2 + 1, "in") == 0)
        d->kind = QM_DEV_GPIO_IN;
    else if (strcmp(c2 + 1, "out") == 0)
        d->kind = QM_DEV_GPIO_OUT;
    else
        return error_set(err, -EINVAL, "the direction must be in or out");
    snprintf(d->name, sizeof(d->name), "%.*s", (int)(c1 - rest), rest);
    d->line = (int)line;
    return 0;
}

int qm_device_parse(const char *spec, struct qm_device *d, struct error *err)
{
    memset(d, 0, sizeof(*d));
    if (strncmp(spec, "gpio:", 5) == 0)
        return parse_gpio(spec + 5, d, err);
    if (strncmp(spec, "sensor:", 7) == 0) {
        if (!name_ok(spec + 7, strlen(spec + 7)))
            return error_set(err, -EINVAL, "a sensor name is 1 to 32 of A-Z a-z 0-9 _ -");
        d->kind = QM_DEV_SENSOR;
        snprintf(d->name, sizeof(d->name), "%s", spec + 7);
        return 0;
    }
    return error_set(err, -EINVAL, "expected gpio:<chip>:<line>:<in|out> or sensor:<name>");
}

const char *qm_device_format(const struct qm_device *d, char *out, size_t outsz)
{
    if (d->kind == QM_DEV_SENSOR)
        snprintf(out, outsz, "sensor:%s", d->name);
    else
        snprintf(out, outsz, "gpio:%s:%d:%s", d->name, d->line,
                 d->kind == QM_DEV_GPIO_IN ? "in" : "out");
    return out;
}

/* The conflict of d with one already accepted, or NULL. */
static const char *conflict(const struct qm_device *devs, size_t n, const struct qm_device *d)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(devs[i].name, d->name) != 0 ||
            (devs[i].kind == QM_DEV_SENSOR) != (d->kind == QM_DEV_SENSOR))
            continue;
        if (d->kind == QM_DEV_SENSOR)
            return "declared twice";
        if (devs[i].line == d->line)
            return devs[i].kind == d->kind ? "declared twice" : "a line cannot be both in and out";
    }
    return NULL;
}

static int bad(const cJSON *it, const char *reason, struct error *err)
{
    char *text = cJSON_IsString(it) ? NULL : json_print(it);
    const char *spec = cJSON_IsString(it) ? it->valuestring : text;

    error_set(err, -EINVAL, "Invalid device %.200s: %s.", spec, reason);
    free(text);
    return -EINVAL;
}

int qm_devices_parse(const cJSON *arr, struct qm_device *devs, size_t *n, struct error *err)
{
    const cJSON *it;
    struct error why;
    const char *c;

    *n = 0;
    if (arr == NULL || cJSON_IsNull(arr))
        return 0;
    if (!cJSON_IsArray(arr))
        return bad(arr, "devices must be an array of strings", err);
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it))
            return bad(it, "a device is a string", err);
        if (*n == QM_DEVICES_MAX)
            return bad(it, "at most 32 devices may be declared", err);
        if (qm_device_parse(it->valuestring, &devs[*n], &why) < 0)
            return bad(it, why.msg, err);
        if ((c = conflict(devs, *n, &devs[*n])) != NULL)
            return bad(it, c, err);
        (*n)++;
    }
    return 0;
}

cJSON *qm_devices_json(const struct qm_device *devs, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    char text[64];

    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr,
                             cJSON_CreateString(qm_device_format(&devs[i], text, sizeof(text))));
    return arr;
}
