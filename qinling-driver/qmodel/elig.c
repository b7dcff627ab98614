/* qmodel/elig.c: see elig.h. */
#include "qmodel/elig.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/json.h"

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The caps' gpio entry for chip, or NULL. */
static const cJSON *chip_of(const cJSON *caps, const char *chip)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(caps, "gpio"), *it;

    cJSON_ArrayForEach(it, (cJSON_IsArray(arr) ? arr : NULL))
    {
        const char *name = str_of(it, "chip");

        if (name != NULL && strcmp(name, chip) == 0)
            return it;
    }
    return NULL;
}

static int has_sensor(const cJSON *caps, const char *name)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(caps, "sensors"), *it;

    cJSON_ArrayForEach(it, (cJSON_IsArray(arr) ? arr : NULL))
    {
        const char *n = str_of(it, "name");

        if (n != NULL && strcmp(n, name) == 0)
            return 1;
    }
    return 0;
}

static int has_device(const cJSON *caps, const struct qm_device *d, int raw)
{
    const cJSON *chip, *lines, *dev;
    int64_t n;

    if (d->kind == QM_DEV_SENSOR)
        return has_sensor(caps, d->name);
    chip = chip_of(caps, d->name);
    if (chip == NULL)
        return 0;
    lines = cJSON_GetObjectItemCaseSensitive(chip, "lines");
    if (!json_int_value(lines, 0, 1 << 20, &n) || d->line >= n)
        return 0;
    dev = cJSON_GetObjectItemCaseSensitive(chip, "dev");
    /* Raw access passes the chip's node through: a simulated chip has none. */
    return !raw || cJSON_IsString(dev);
}

static int check_devices(const cJSON *caps, const struct qm_need *need, struct error *err)
{
    struct buf b;
    char text[64];
    int missing = 0;

    buf_init(&b, 4096);
    for (size_t i = 0; i < need->ndevs; i++) {
        if (has_device(caps, &need->devs[i], need->raw))
            continue;
        if (buf_printf(&b, "%s%s", missing++ ? ", " : "",
                       qm_device_format(&need->devs[i], text, sizeof(text))) < 0)
            break;
    }
    if (missing)
        error_set(err, -EPERM, "missing device(s) %s", b.data);
    buf_free(&b);
    return missing ? -EPERM : 0;
}

static int enforced_devices(const cJSON *caps)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(caps, "executor_detail");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(d, "enforced");

    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "devices"));
}

static int has_process_runtime(const cJSON *caps, const char *name)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(caps, "process_runtimes"), *it;

    cJSON_ArrayForEach(it, (cJSON_IsArray(arr) ? arr : NULL))
    {
        if (name != NULL && cJSON_IsString(it) && strcmp(it->valuestring, name) == 0)
            return 1;
    }
    return 0;
}

int qm_elig_check(const cJSON *caps, const struct qm_need *need, struct error *err)
{
    const char *exec = cJSON_IsObject(caps) ? str_of(caps, "executor") : NULL;
    const char *arch;

    if (exec == NULL || (strcmp(exec, "crun") != 0 && strcmp(exec, "process") != 0))
        return error_set(err, -EPERM, "no executor available");
    arch = str_of(caps, "arch");
    if (need->arch != NULL && (arch == NULL || strcmp(arch, need->arch) != 0))
        return error_set(err, -EPERM, "architecture %s does not match runtime architecture %s",
                         arch != NULL ? arch : "unknown", need->arch);
    if (check_devices(caps, need, err) < 0)
        return -EPERM;
    if (need->raw && (strcmp(exec, "crun") != 0 || !enforced_devices(caps)))
        return error_set(err, -EPERM,
                         "raw device access needs an executor that enforces device rules");
    if (strcmp(exec, "process") == 0 && !has_process_runtime(caps, need->runtime_name))
        return error_set(err, -EPERM, "runtime %s has no process command",
                         need->runtime_name != NULL ? need->runtime_name : "(image)");
    return 0;
}

int qm_caps_slots(const cJSON *caps)
{
    int64_t n;

    if (json_int_value(cJSON_GetObjectItemCaseSensitive(caps, "max_concurrency"), 1, 100000, &n))
        return (int)n;
    return 1;
}

int qm_caps_cached(const cJSON *caps, const char *which, const char *sha256)
{
    const cJSON *cache = cJSON_GetObjectItemCaseSensitive(caps, "cache");
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(cache, which), *it;

    if (sha256 == NULL)
        return 0;
    cJSON_ArrayForEach(it, (cJSON_IsArray(arr) ? arr : NULL))
    {
        if (cJSON_IsString(it) && strcmp(it->valuestring, sha256) == 0)
            return 1;
    }
    return 0;
}
