/* hal/caps.h: the HAL's part of DeviceCaps and the GpioRead, GpioWrite and
 * SensorRead board procedures (board-protocol.md 6.5, deviceless-api.md
 * 3.4.1).
 *
 * The procedure helpers take the call's `parameters` object as it arrived,
 * validate it, act, and return the SUCCESS message object or the ERROR
 * message text: an argument error names the argument ("missing chip", "line
 * must be an integer between 0 and 65535"), and device errors are the
 * contract's "No such device: <spec>.", "Line busy: <chip>:<line>." or the
 * errno text. The agent core wraps them in WampMessages. Loop thread. */
#ifndef LRC_HAL_CAPS_H
#define LRC_HAL_CAPS_H

#include <cjson/cJSON.h>

#include "common/error.h"
#include "hal/hal.h"
#include "hal/sensor.h"

/* A new array of {"chip", "label", "lines", "backend", "dev"}. */
cJSON *hal_caps_gpio(const struct hal *hal);

/* A new array of {"name", "kind", "unit"}. */
cJSON *hal_caps_sensors(const struct hal *hal);

/* Adds "gpio" and "sensors" to the DeviceCaps object caps. */
void hal_caps_fill(const struct hal *hal, cJSON *caps);

/* Argument checks shared with the IO socket. Each returns 0, or -EINVAL /
 * -ENOENT with a message naming the key. */
int hal_arg_chip(const cJSON *obj, const char *key, const char **out, struct error *err) IOT_WUR;
int hal_arg_line(const cJSON *obj, const char *key, unsigned *out, struct error *err) IOT_WUR;
int hal_arg_level(const cJSON *obj, const char *key, int *out, struct error *err) IOT_WUR;

/* GpioRead {chip, line}: *reply = {"value": 0|1, "ts"} (new), or an error. */
int hal_rpc_gpio_read(struct hal *hal, const cJSON *params, cJSON **reply,
                      struct error *err) IOT_WUR;

/* GpioWrite {chip, line, value (0, 1, true, false)}: *reply = {"ts"} (new).
 * The line stays an output. */
int hal_rpc_gpio_write(struct hal *hal, const cJSON *params, cJSON **reply,
                       struct error *err) IOT_WUR;

/* Called once on the loop with reply ({"value", "unit", "ts"}, owned by the
 * callee) or, with reply NULL, the ERROR text. */
typedef void (*hal_rpc_done_fn)(void *arg, cJSON *reply, const char *error);

/* SensorRead {name}: asynchronous (sensor.h says why). Returns 0 and calls cb
 * once later, or fails at once with the ERROR text in err and never calls it.
 * *req (may be NULL) can cancel it with hal_sensor_cancel(). */
int hal_rpc_sensor_read(struct hal *hal, const cJSON *params, hal_rpc_done_fn cb, void *arg,
                        struct hal_sensor_req **req, struct error *err) IOT_WUR;

#endif
