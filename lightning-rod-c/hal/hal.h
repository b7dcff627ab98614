/* hal/hal.h: the board's hardware abstraction layer (GPIO and sensors).
 *
 * One struct hal per agent process, made in main from the [io] section of
 * lightning-rod-c.conf (board-protocol.md 10.7 and 12.2) and freed after every
 * user (IO sockets, triggers, the control socket) is gone. It runs on the
 * agent's one libev loop: GPIO edge events, sensor read completions and
 * sampling timers are delivered there, and every hal_* function is called
 * from the loop thread unless its comment says otherwise.
 *
 * The backend is chosen once at construction and never changes:
 *   sim       simulated chips ([io] sim_chips) and sensors ([io] sim_sensors),
 *             driven through the control socket (hal/sim.h);
 *   libgpiod  the kernel's GPIO chips through libgpiod v1 (filtered by
 *             [io] allowed_chips) and sensors from IIO, hwmon and 1-wire;
 *   auto      libgpiod when <dev_dir>/gpiochip* exist, else sim.
 * The rest of the API (gpio.h, sensor.h, caps.h) is the same for both. */
#ifndef LRC_HAL_HAL_H
#define LRC_HAL_HAL_H

#include <ev.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/error.h"

#define HAL_NAME_MAX 32 /* chip and sensor names: 1..32 of A-Z a-z 0-9 _ - */
#define HAL_UNIT_MAX 15
#define HAL_MAX_OPS_DEFAULT 1000

enum hal_backend { HAL_BACKEND_AUTO = 0, HAL_BACKEND_SIM = 1, HAL_BACKEND_LIBGPIOD = 2 };

/* The [io] options, bound by cfg_bind() with hal_cfg_table(), plus the roots
 * the libgpiod backend scans. The roots are not configuration options: tests
 * point them at fixture trees; NULL means the real location. */
struct hal_config {
    int backend;                /* enum hal_backend ([io] backend = auto|sim|libgpiod) */
    char *allowed_chips;        /* "all", or chip names separated by spaces or commas */
    char *sim_chips;            /* "sim0:8 sim1:16"; a third field "poll" makes a chip
                                 * without edge events (like an expander with no IRQ) */
    char *sim_sensors;          /* "temp0:C:21.5 lux0:lx:120" */
    int64_t max_ops_per_second; /* per IO socket (deviceless-api.md Appendix C) */
    const char *dev_dir;        /* /dev */
    const char *iio_dir;        /* /sys/bus/iio/devices */
    const char *hwmon_dir;      /* /sys/class/hwmon */
    const char *w1_dir;         /* /sys/bus/w1/devices */
};

struct hal;

/* The [io] option table for cfg_bind(): fills *conf. Release the strings it
 * stores with cfg_unbind() on the same table. */
struct cfg_table hal_cfg_table(struct hal_config *conf);

/* Fills conf with the documented defaults (what cfg_bind() would store for an
 * empty file), with strings the caller frees with hal_config_clear(). */
void hal_config_defaults(struct hal_config *conf);
void hal_config_clear(struct hal_config *conf);

/* Builds the HAL: parses the sim specs or discovers chips and sensors. Bad
 * sim specs are -EINVAL with the option named in err. A libgpiod backend
 * with no usable chip is not an error (the board just has none); each chip
 * that cannot be opened is logged and skipped. On success *out is new
 * (hal_free). Loop thread. */
int hal_new(struct ev_loop *ev, const struct hal_config *conf, struct hal **out,
            struct error *err) IOT_WUR;

/* Releases every line, stops the sensor reader thread and frees. Pending
 * sensor requests are dropped without callbacks, so free the users first.
 * Output lines are released as they are: the kernel keeps driving them.
 * Accepts NULL. Loop thread, never from inside a HAL callback. */
void hal_free(struct hal *hal);

/* The backend in use: HAL_BACKEND_SIM or HAL_BACKEND_LIBGPIOD (never AUTO). */
enum hal_backend hal_backend(const struct hal *hal);

/* "sim" or "libgpiod", as DeviceCaps spells them. */
const char *hal_backend_name(const struct hal *hal);

/* The [io] max_ops_per_second the HAL was built with. */
int64_t hal_max_ops_per_second(const struct hal *hal);

/* The loop the HAL runs on. */
struct ev_loop *hal_ev(const struct hal *hal);

/* 1 when s is a valid chip or sensor name (1..32 of A-Z a-z 0-9 _ -). */
int hal_name_valid(const char *s);

#endif
