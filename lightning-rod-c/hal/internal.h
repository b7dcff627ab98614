/* hal/internal.h: what the HAL's own files share. Not an API: nothing
 * outside lightning-rod-c/hal/ includes this.
 *
 * Ownership: struct hal owns its chips (and each chip its lines and the
 * backend's per-chip state) and its sensors; all of them live until
 * hal_free(). Everything here is touched on the loop thread only, except
 * the sensor fields the reader thread reads (immutable after hal_new) and
 * the completion queue (under its mutex). */
#ifndef LRC_HAL_INTERNAL_H
#define LRC_HAL_INTERNAL_H

#include <ev.h>
#include <pthread.h>
#include <stdint.h>

#include "hal/gpio.h"
#include "hal/hal.h"
#include "hal/sensor.h"

#define HAL_CONSUMER "lightning-rod-c" /* the kernel's consumer label for our lines */
#define SIM_LINES_MAX 1024
#define SIM_CHIPS_MAX 64
#define SIM_SENSORS_MAX 256
#define SENSORS_MAX 512 /* discovered sensors kept, at most */

/* ------------------------------------------------------------------ GPIO */

struct gpio_chip;

/* One edge as a backend reports it, already on the CLOCK_REALTIME clock. */
struct gpio_raw_event {
    int64_t ts_us;
    int rising;
};

/* A backend: raw line operations, with the kernel's semantics. The generic
 * layer (gpio.c) decides when to request and release; backends only do. */
struct gpio_backend {
    const char *name; /* DeviceCaps' "backend" */
    /* Requests the line as an input (events: with both-edge events, whose fd
     * goes to *event_fd), an output driven to value, or, with st FREE, as it
     * is (a one-off read that must not change the line's direction).
     * -EOPNOTSUPP when the line cannot give events (the caller polls). */
    int (*request)(struct gpio_chip *c, unsigned off, enum hal_gpio_state st, int events, int value,
                   int *event_fd, struct error *err);
    void (*release)(struct gpio_chip *c, unsigned off);
    int (*get)(struct gpio_chip *c, unsigned off, int *value, struct error *err);
    int (*set)(struct gpio_chip *c, unsigned off, int value, struct error *err);
    /* Reads up to max pending events from the event fd: count, 0 when none. */
    int (*read_events)(struct gpio_chip *c, unsigned off, int fd, struct gpio_raw_event *evs,
                       size_t max, struct error *err);
    void (*chip_free)(struct gpio_chip *c);
};

struct gpio_line {
    struct gpio_chip *chip;
    unsigned offset;
    enum hal_gpio_state state;
    int events;    /* requested with edge events; event_fd is watched */
    int no_events; /* the backend refused events for it: watchers poll */
    int event_fd;
    ev_io io;
    int value; /* the last level known (outputs: the driven value) */
    struct hal_gpio_watch *watches;
    unsigned holds;  /* live watches */
    int dispatching; /* > 0 while callbacks run: frees are deferred */
};

struct gpio_chip {
    struct hal *hal;
    char name[HAL_NAME_MAX + 1];
    char *label;
    char *dev; /* NULL for simulated chips */
    unsigned nlines;
    struct gpio_line **lines; /* nlines slots, each made on first use */
    void *bk;                 /* the backend's per-chip state */
};

extern const struct gpio_backend gpio_sim_backend;
extern const struct gpio_backend gpio_gpiod_backend;

/* gpio.c */
struct gpio_chip *gpio_chip_add(struct hal *hal, const char *name, const char *label,
                                const char *dev, unsigned nlines, void *bk);
struct gpio_chip *gpio_chip_find(const struct hal *hal, const char *name);
void gpio_free_all(struct hal *hal);
/* Live watches of chip:line whose filter includes edge (the simulator tells
 * set-line's caller how many events an edge caused). */
unsigned gpio_watchers_for(const struct hal *hal, const char *chip, unsigned line,
                           enum hal_gpio_edge edge);

/* gpio_sim.c */
int gpio_sim_setup(struct hal *hal, const char *spec, struct error *err);
void gpio_sim_free(struct hal *hal);

/* gpio_gpiod.c */
int gpio_gpiod_setup(struct hal *hal, const char *dev_dir, const char *allowed, struct error *err);
int gpio_gpiod_present(const char *dev_dir); /* 1 when dev_dir/gpiochip* exist */

/* --------------------------------------------------------------- sensors */

struct sensor {
    char name[HAL_NAME_MAX + 1];
    enum hal_sensor_kind kind;
    char unit[HAL_UNIT_MAX + 1];
    char *path;        /* the value attribute (not for sim) */
    char *scale_path;  /* IIO: the channel's scale, or NULL */
    char *offset_path; /* IIO: the channel's offset, or NULL */
    double div;        /* ABI units per reported unit (1000: milli) */
    int w1_slave;      /* w1: 1 for the w1_slave format, 0 for temperature */
    double sim_value;  /* sim: loop thread only */
};

struct sensor_io; /* the reader thread and the completion queue (sensor.c) */

/* sensor.c */
struct sensor *sensor_add(struct hal *hal, const char *base, enum hal_sensor_kind kind,
                          const char *unit);
struct sensor *sensor_find(const struct hal *hal, const char *name);
void sensor_free_all(struct hal *hal);
/* Reads a sysfs-backed sensor: may block (w1: ~750 ms). Any thread. */
int sensor_read_backend(const struct sensor *s, double *value, struct error *err);
/* hal_sensor_read() with drop(arg) run instead of cb when the request is
 * cancelled or dropped by hal_free(), for callers that own arg. */
int sensor_read_start(struct hal *hal, const char *name, hal_sensor_fn cb, void *arg,
                      void (*drop)(void *arg), struct hal_sensor_req **out, struct error *err);
int sensor_io_new(struct hal *hal);
void sensor_io_free(struct hal *hal);
/* Turns base into a valid sensor name (invalid characters become '_'). */
void sensor_name_clean(const char *base, char out[HAL_NAME_MAX + 1]);

/* sensor_sim.c, sensor_iio.c, sensor_hwmon.c, sensor_w1.c */
int sensor_sim_setup(struct hal *hal, const char *spec, struct error *err);
int sensor_iio_discover(struct hal *hal, const char *dir, struct error *err);
int sensor_iio_read(const struct sensor *s, double *value, struct error *err);
int sensor_hwmon_discover(struct hal *hal, const char *dir, struct error *err);
int sensor_w1_discover(struct hal *hal, const char *dir, struct error *err);
int sensor_w1_read(const struct sensor *s, double *value, struct error *err);

/* sysfs.c: small attribute files. */
#define SYSFS_TEXT_MAX 4096
/* Reads the whole file (at most size - 1 bytes) into buf, NUL-terminated,
 * trailing whitespace removed. Returns the length or -errno with
 * "<path>: <errno text>" in err. */
int sysfs_read_text(const char *path, char *buf, size_t size, struct error *err);
/* Reads a file holding one decimal number (integer or not). -EINVAL with
 * "<path>: expected a number, got '<text>'" for anything else. */
int sysfs_read_number(const char *path, double *out, struct error *err);
int sysfs_parse_number(const char *path, const char *text, double *out, struct error *err);
/* 1 when path exists. */
int sysfs_exists(const char *path);
/* Sorted (versionsort) entries of dir that start with prefix; *out is an
 * array of *n strings (sysfs_names_free). 0 when dir is missing. */
int sysfs_list(const char *dir, const char *prefix, char ***out, size_t *n);
void sysfs_names_free(char **names, size_t n);

/* ------------------------------------------------------------------ hal */

struct sim_state; /* gpio_sim.c */

struct hal {
    struct ev_loop *ev;
    enum hal_backend backend;
    int64_t max_ops;
    const struct gpio_backend *gb;
    struct gpio_chip **chips;
    size_t nchips;
    struct sensor **sensors;
    size_t nsensors;
    struct sensor_io *sio;
    struct sim_state *sim; /* NULL unless the sim backend is in use */
};

#endif
