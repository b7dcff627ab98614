/* hal/sensor.h: named sensors, read with their unit and a timestamp.
 *
 * Kinds (DeviceCaps "kind", deviceless-api.md 3.4.1):
 *   sim    a value held in memory, set through the control socket;
 *   iio    /sys/bus/iio/devices/iio:deviceN/in_<channel>_{input,raw}, with
 *          the kernel ABI's processed = (raw + offset) * scale, then
 *          converted to a base unit (milli-degrees to C, mV to V, ...);
 *   hwmon  /sys/class/hwmon/hwmonN/<type><n>_input (temp in milli-degrees
 *          C, in in mV, curr in mA, power in µW, fan in RPM, humidity in
 *          milli-percent), converted the same way;
 *   w1     /sys/bus/w1/devices/<family>-<serial>/temperature or w1_slave
 *          (thermometers: milli-degrees C, with the CRC line checked).
 *
 * Reads are asynchronous. A sysfs read is a small file, but what the kernel
 * does behind it is not always fast: a 1-wire thermometer converts for
 * ~750 ms inside read(2) and an I2C sensor behind IIO takes milliseconds,
 * which the agent's one loop cannot afford. So sysfs reads run on one reader
 * thread owned by the HAL (started on first use; sensors on one bus are
 * serialised by the kernel anyway) and complete on the loop. Simulated
 * sensors complete on the loop's next iteration. Either way the callback
 * never runs inside the call that started the read.
 *
 * Loop thread only, except hal_sensor_read_sync(). */
#ifndef LRC_HAL_SENSOR_H
#define LRC_HAL_SENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "hal/hal.h"

enum hal_sensor_kind {
    HAL_SENSOR_SIM = 0,
    HAL_SENSOR_IIO = 1,
    HAL_SENSOR_HWMON = 2,
    HAL_SENSOR_W1 = 3,
};

struct hal_sensor_info {
    const char *name; /* borrowed from the HAL */
    enum hal_sensor_kind kind;
    const char *unit; /* "C", "lx", "V", ... ("" for unitless) */
};

struct hal_reading {
    double value;
    const char *unit; /* borrowed from the HAL */
    int64_t ts_us;    /* CLOCK_REALTIME µs at which the value was read */
};

/* The outcome of a read, on the loop thread: rc 0 and the reading, or rc < 0
 * with r NULL and msg the reason ("No such device: sensor:<name>." or the
 * backend's error text). */
typedef void (*hal_sensor_fn)(void *arg, int rc, const struct hal_reading *r, const char *msg);

struct hal_sensor_req; /* one read in flight */
struct hal_sampler;    /* periodic reads of one sensor */

size_t hal_sensor_count(const struct hal *hal);

/* Fills info for sensor i (0 <= i < count): 0 or -ENOENT. */
int hal_sensor_info(const struct hal *hal, size_t i, struct hal_sensor_info *info);

/* 1 when the sensor exists, else 0. */
int hal_sensor_exists(const struct hal *hal, const char *name);

/* "sim", "iio", "hwmon", "w1". */
const char *hal_sensor_kind_name(enum hal_sensor_kind kind);

/* Starts a read. Returns 0 and calls cb exactly once later (unless
 * cancelled), or fails at once (-ENODEV "No such device: sensor:<name>.")
 * and never calls it. *out (may be NULL) identifies the read until cb runs
 * or hal_sensor_cancel() is called; forget it after either. */
int hal_sensor_read(struct hal *hal, const char *name, hal_sensor_fn cb, void *arg,
                    struct hal_sensor_req **out, struct error *err) IOT_WUR;

/* cb will not run; the request's memory is reclaimed when it completes.
 * Accepts NULL. */
void hal_sensor_cancel(struct hal_sensor_req *req);

/* Reads now, blocking (a 1-wire sensor takes ~750 ms). For tools, tests and
 * threads other than the loop; simulated sensors must be read on the loop
 * thread, which owns their values. unit in *out is borrowed. */
int hal_sensor_read_sync(struct hal *hal, const char *name, struct hal_reading *out,
                         struct error *err) IOT_WUR;

/* Reads the sensor now and then every interval_ms (>= 1), calling cb with
 * each result, until hal_sampler_free(). A read still in flight when the
 * next is due is not doubled: that tick is skipped. *out is new. */
int hal_sensor_sample(struct hal *hal, const char *name, unsigned interval_ms, hal_sensor_fn cb,
                      void *arg, struct hal_sampler **out, struct error *err) IOT_WUR;

/* Stops sampling; safe inside the sampler's own callback. Accepts NULL. */
void hal_sampler_free(struct hal_sampler *s);

#endif
