/* hal/hal.c: building and tearing down the HAL; the [io] option table.
 *
 * hal_new() picks the backend once (auto: libgpiod when a gpiochip node
 * exists), then either parses the simulator's specs or discovers the
 * kernel's chips and sysfs sensors. Discovery happens once, at start: a
 * sensor plugged in later needs an agent restart, as on the original. */
#include "hal/internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"

#define DEFAULT_DEV_DIR "/dev"
#define DEFAULT_IIO_DIR "/sys/bus/iio/devices"
#define DEFAULT_HWMON_DIR "/sys/class/hwmon"
#define DEFAULT_W1_DIR "/sys/bus/w1/devices"

static const struct cfg_opt io_opts[] = {
    {"io", "backend", CFG_ENUM, "auto", offsetof(struct hal_config, backend), 0, 0,
     "auto|sim|libgpiod", 0},
    {"io", "allowed_chips", CFG_STR, "all", offsetof(struct hal_config, allowed_chips), 0, 0, NULL,
     0},
    {"io", "sim_chips", CFG_STR, "sim0:8", offsetof(struct hal_config, sim_chips), 0, 0, NULL, 0},
    {"io", "sim_sensors", CFG_STR, "temp0:C:21.5 lux0:lx:120",
     offsetof(struct hal_config, sim_sensors), 0, 0, NULL, 0},
    {"io", "max_ops_per_second", CFG_INT, "1000", offsetof(struct hal_config, max_ops_per_second),
     1, 1000000, NULL, 0},
};

struct cfg_table hal_cfg_table(struct hal_config *conf)
{
    struct cfg_table t = {io_opts, sizeof(io_opts) / sizeof(io_opts[0]), conf};

    return t;
}

void hal_config_defaults(struct hal_config *conf)
{
    struct cfg_table t = hal_cfg_table(conf);
    struct cfg *empty = cfg_new();

    memset(conf, 0, sizeof(*conf));
    /* The defaults are constants of the table above: binding them to an
     * empty store cannot fail. */
    if (cfg_bind(empty, &t, 1, NULL) < 0)
        abort();
    cfg_free(empty);
}

void hal_config_clear(struct hal_config *conf)
{
    struct cfg_table t = hal_cfg_table(conf);

    cfg_unbind(&t, 1);
}

static int setup_sysfs(struct hal *hal, const struct hal_config *conf, struct error *err)
{
    const char *dev = conf->dev_dir != NULL ? conf->dev_dir : DEFAULT_DEV_DIR;
    int rc = gpio_gpiod_setup(hal, dev, conf->allowed_chips, err);

    if (rc == 0)
        rc = sensor_iio_discover(hal, conf->iio_dir ? conf->iio_dir : DEFAULT_IIO_DIR, err);
    if (rc == 0)
        rc = sensor_hwmon_discover(hal, conf->hwmon_dir ? conf->hwmon_dir : DEFAULT_HWMON_DIR, err);
    if (rc == 0)
        rc = sensor_w1_discover(hal, conf->w1_dir ? conf->w1_dir : DEFAULT_W1_DIR, err);
    return rc;
}

int hal_new(struct ev_loop *ev, const struct hal_config *conf, struct hal **out, struct error *err)
{
    const char *dev = conf->dev_dir != NULL ? conf->dev_dir : DEFAULT_DEV_DIR;
    struct hal *hal = xcalloc(1, sizeof(*hal));
    int rc;

    *out = NULL;
    hal->ev = ev;
    hal->max_ops = conf->max_ops_per_second > 0 ? conf->max_ops_per_second : HAL_MAX_OPS_DEFAULT;
    sensor_io_new(hal);
    hal->backend = (enum hal_backend)conf->backend;
    if (hal->backend == HAL_BACKEND_AUTO)
        hal->backend = gpio_gpiod_present(dev) ? HAL_BACKEND_LIBGPIOD : HAL_BACKEND_SIM;
    if (hal->backend == HAL_BACKEND_SIM) {
        rc = gpio_sim_setup(hal, conf->sim_chips, err);
        if (rc == 0)
            rc = sensor_sim_setup(hal, conf->sim_sensors, err);
    } else {
        rc = setup_sysfs(hal, conf, err);
    }
    if (rc < 0) {
        hal_free(hal);
        return rc;
    }
    log_info("io: backend %s, %zu GPIO chip(s), %zu sensor(s)", hal->gb->name, hal->nchips,
             hal->nsensors);
    *out = hal;
    return 0;
}

void hal_free(struct hal *hal)
{
    if (hal == NULL)
        return;
    gpio_free_all(hal);
    gpio_sim_free(hal);
    sensor_io_free(hal); /* joins the reader: after this no thread reads a sensor */
    sensor_free_all(hal);
    free(hal);
}

enum hal_backend hal_backend(const struct hal *hal)
{
    return hal->backend;
}

const char *hal_backend_name(const struct hal *hal)
{
    return hal->gb->name;
}

int64_t hal_max_ops_per_second(const struct hal *hal)
{
    return hal->max_ops;
}

struct ev_loop *hal_ev(const struct hal *hal)
{
    return hal->ev;
}
