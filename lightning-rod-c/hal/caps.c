/* hal/caps.c: see caps.h. */
#include "hal/caps.h"

#include <errno.h>
#include <stdlib.h>

#include "common/json.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "hal/devspec.h"
#include "hal/gpio.h"
#include "hal/internal.h"

cJSON *hal_caps_gpio(const struct hal *hal)
{
    cJSON *arr = cJSON_CreateArray();
    struct hal_gpio_chip_info ci;

    for (size_t i = 0; hal_gpio_chip_info(hal, i, &ci) == 0; i++) {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "chip", ci.name);
        cJSON_AddStringToObject(o, "label", ci.label);
        json_add_int(o, "lines", ci.lines);
        cJSON_AddStringToObject(o, "backend", ci.backend);
        json_add_str_or_null(o, "dev", ci.dev);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

cJSON *hal_caps_sensors(const struct hal *hal)
{
    cJSON *arr = cJSON_CreateArray();
    struct hal_sensor_info si;

    for (size_t i = 0; hal_sensor_info(hal, i, &si) == 0; i++) {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "name", si.name);
        cJSON_AddStringToObject(o, "kind", hal_sensor_kind_name(si.kind));
        cJSON_AddStringToObject(o, "unit", si.unit);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

void hal_caps_fill(const struct hal *hal, cJSON *caps)
{
    cJSON_AddItemToObject(caps, "gpio", hal_caps_gpio(hal));
    cJSON_AddItemToObject(caps, "sensors", hal_caps_sensors(hal));
}

int hal_arg_chip(const cJSON *obj, const char *key, const char **out, struct error *err)
{
    return json_get_str(obj, key, JSON_REQUIRED, HAL_NAME_MAX, out, err);
}

int hal_arg_line(const cJSON *obj, const char *key, unsigned *out, struct error *err)
{
    int64_t v;
    int rc = json_get_int(obj, key, JSON_REQUIRED, 0, HAL_GPIO_LINE_MAX, &v, err);

    if (rc == 0)
        *out = (unsigned)v;
    return rc;
}

int hal_arg_level(const cJSON *obj, const char *key, int *out, struct error *err)
{
    const cJSON *item = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    int64_t v;

    if (item == NULL)
        return error_set(err, -ENOENT, "missing %s", key);
    if (cJSON_IsBool(item)) {
        *out = cJSON_IsTrue(item);
        return 0;
    }
    if (json_int_value(item, 0, 1, &v)) {
        *out = (int)v;
        return 0;
    }
    return error_set(err, -EINVAL, "%s must be 0, 1, true or false", key);
}

static int line_args(const cJSON *params, const char **chip, unsigned *line, struct error *err)
{
    int rc;

    if (!cJSON_IsObject(params))
        return error_set(err, -EINVAL, "parameters must be an object");
    rc = hal_arg_chip(params, "chip", chip, err);
    if (rc == 0)
        rc = hal_arg_line(params, "line", line, err);
    return rc;
}

static void add_ts(cJSON *o, int64_t ts)
{
    char buf[TIME_ISO_LEN];

    cJSON_AddStringToObject(o, "ts", time_format(ts, TIME_Z_US, buf));
}

int hal_rpc_gpio_read(struct hal *hal, const cJSON *params, cJSON **reply, struct error *err)
{
    const char *chip;
    unsigned line;
    int64_t ts;
    int v, rc;

    *reply = NULL;
    rc = line_args(params, &chip, &line, err);
    if (rc == 0)
        rc = hal_gpio_read(hal, chip, line, &v, &ts, err);
    if (rc < 0)
        return rc;
    *reply = cJSON_CreateObject();
    json_add_int(*reply, "value", v);
    add_ts(*reply, ts);
    return 0;
}

int hal_rpc_gpio_write(struct hal *hal, const cJSON *params, cJSON **reply, struct error *err)
{
    const char *chip;
    unsigned line;
    int64_t ts;
    int v, rc;

    *reply = NULL;
    rc = line_args(params, &chip, &line, err);
    if (rc == 0)
        rc = hal_arg_level(params, "value", &v, err);
    if (rc == 0)
        rc = hal_gpio_write(hal, chip, line, v, &ts, err);
    if (rc < 0)
        return rc;
    *reply = cJSON_CreateObject();
    add_ts(*reply, ts);
    return 0;
}

struct sensor_call {
    hal_rpc_done_fn cb;
    void *arg;
};

static void sensor_done(void *arg, int rc, const struct hal_reading *r, const char *msg)
{
    struct sensor_call call = *(struct sensor_call *)arg;
    cJSON *reply;

    free(arg);
    if (rc < 0) {
        call.cb(call.arg, NULL, msg);
        return;
    }
    reply = cJSON_CreateObject();
    cJSON_AddNumberToObject(reply, "value", r->value);
    cJSON_AddStringToObject(reply, "unit", r->unit);
    add_ts(reply, r->ts_us);
    call.cb(call.arg, reply, NULL);
}

int hal_rpc_sensor_read(struct hal *hal, const cJSON *params, hal_rpc_done_fn cb, void *arg,
                        struct hal_sensor_req **req, struct error *err)
{
    struct sensor_call *call;
    const char *name;
    int rc;

    if (req != NULL)
        *req = NULL;
    if (!cJSON_IsObject(params))
        return error_set(err, -EINVAL, "parameters must be an object");
    rc = json_get_str(params, "name", JSON_REQUIRED, HAL_NAME_MAX, &name, err);
    if (rc < 0)
        return rc;
    call = xmalloc(sizeof(*call));
    call->cb = cb;
    call->arg = arg;
    rc = sensor_read_start(hal, name, sensor_done, call, free, req, err);
    if (rc < 0)
        free(call);
    return rc;
}
