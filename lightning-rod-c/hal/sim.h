/* hal/sim.h: driving the simulated backend (board-protocol.md 10.7).
 *
 * The simulator stands for the world outside the board: it sets the level
 * that drives a simulated input line (an edge, with the events the line's
 * watchers then receive through the same path as kernel events), sets a
 * simulated sensor's value, and observes every write the board makes to a
 * simulated output line, with its time. The control socket's sim_* ops and
 * the tests use it. With the libgpiod backend every call answers -ENOTSUP
 * ("The simulated IO backend is not in use."). Loop thread only. */
#ifndef LRC_HAL_SIM_H
#define LRC_HAL_SIM_H

#include <stdint.h>

#include "common/error.h"
#include "hal/gpio.h"
#include "hal/hal.h"

struct hal_sim_line {
    int value;                 /* what a read returns now */
    enum hal_gpio_state state; /* free and input lines report "input" */
    uint64_t writes;           /* writes by the board since start */
    int64_t last_write_us;     /* 0 before the first */
};

struct hal_sim_edge {
    int previous, value;
    enum hal_gpio_edge edge; /* NONE when the level did not change */
    unsigned events;         /* watches that will be called for it */
};

struct hal_sim_write {
    const char *chip; /* borrowed for the callback's duration */
    unsigned line;
    int value;
    int64_t ts_us;
    uint64_t writes; /* the line's count, this write included */
};

/* Called synchronously inside each write the board makes to a simulated
 * line. It may free its own watcher or others; it must not write GPIO lines
 * or free the HAL. */
typedef void (*hal_sim_write_fn)(void *arg, const struct hal_sim_write *w);

struct hal_sim_watcher;

/* The level and counters of a simulated line. -ENODEV ("No such device:
 * gpio:<chip>:<line>.") when it does not exist. */
int hal_sim_get_line(struct hal *hal, const char *chip, unsigned line, struct hal_sim_line *out,
                     struct error *err) IOT_WUR;

/* Drives an input line's level from outside. An output line answers -EPERM
 * (the board drives it). When the level changes and the line is requested
 * with events, one event carrying the time of this call reaches its watches
 * on a later loop iteration; *out (may be NULL) says what happened. */
int hal_sim_set_line(struct hal *hal, const char *chip, unsigned line, int value,
                     struct hal_sim_edge *out, struct error *err) IOT_WUR;

/* Sets a simulated sensor's value (finite). *unit (may be NULL) gets the
 * sensor's unit, borrowed. -ENODEV for an unknown sensor, -EINVAL for a
 * sensor of another kind. */
int hal_sim_set_sensor(struct hal *hal, const char *name, double value, const char **unit,
                       struct error *err) IOT_WUR;

/* Subscribes cb to every write to a simulated output line. *out is new. */
int hal_sim_watch_writes(struct hal *hal, hal_sim_write_fn cb, void *arg,
                         struct hal_sim_watcher **out, struct error *err) IOT_WUR;

/* Unsubscribes; safe inside any write callback. Accepts NULL. */
void hal_sim_watcher_free(struct hal_sim_watcher *w);

#endif
