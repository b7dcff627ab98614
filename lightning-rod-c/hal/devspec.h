/* hal/devspec.h: the device specs a function declares (deviceless-api.md 3.4.2).
 *
 *   gpio:<chip>:<line>:in     read one line
 *   gpio:<chip>:<line>:out    drive one line (reading it back is allowed)
 *   sensor:<name>             read one sensor
 *
 * The one place where spec syntax and list rules live: the IO socket, the
 * function executor and the cloud-side validator all call it. Pure: no I/O,
 * no globals, any thread. Errors carry the contract's exact message,
 * "Invalid device <spec>: <reason>.", ready to be returned as a 400. */
#ifndef LRC_HAL_DEVSPEC_H
#define LRC_HAL_DEVSPEC_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "common/error.h"
#include "hal/hal.h"

#define HAL_DEVSPEC_MAX 64      /* longest valid spec is 47 characters, plus NUL */
#define HAL_DEVICES_MAX 32      /* at most 32 declared devices */
#define HAL_GPIO_LINE_MAX 65535 /* highest line offset accepted in a spec */

enum hal_dev_kind { HAL_DEV_GPIO = 0, HAL_DEV_SENSOR = 1 };
enum hal_dev_dir { HAL_DIR_IN = 0, HAL_DIR_OUT = 1 };

struct hal_devspec {
    enum hal_dev_kind kind;
    char name[HAL_NAME_MAX + 1]; /* chip (gpio) or sensor name */
    unsigned line;               /* gpio only */
    enum hal_dev_dir dir;        /* gpio only */
};

/* Parses one spec. Returns 0, or -EINVAL with "Invalid device <spec>:
 * <reason>." in err. Line offsets are plain decimal (no sign, no leading
 * zero), so a valid spec prints back exactly as it was written. */
int hal_devspec_parse(const char *spec, struct hal_devspec *out, struct error *err) IOT_WUR;

/* Parses n specs into out[n] and applies the list rules: at most 32, no
 * duplicate, no line declared both in and out. Returns 0 or -EINVAL with
 * the contract's message naming the first offending spec. */
int hal_devspec_parse_list(const char *const *specs, size_t n, struct hal_devspec *out,
                           struct error *err) IOT_WUR;

/* The same for a JSON value that must be an array of strings (a function's
 * `devices`). On success *out is a new array of *n specs (free()); NULL when
 * the array is empty. */
int hal_devspec_parse_json(const cJSON *array, struct hal_devspec **out, size_t *n,
                           struct error *err) IOT_WUR;

/* Writes the spec's canonical text ("gpio:sim0:3:out", "sensor:temp0") into
 * out and returns out. */
char *hal_devspec_format(const struct hal_devspec *d, char out[HAL_DEVSPEC_MAX]);

/* Writes the device without its direction ("gpio:sim0:3", "sensor:temp0"),
 * the <spec> of "No such device: <spec>.", and returns out. */
char *hal_devspec_device(const struct hal_devspec *d, char out[HAL_DEVSPEC_MAX]);

#endif
