/* hal/gpio.h: GPIO chips and lines, whatever the backend.
 *
 * A line is in one of three states, as the kernel sees it:
 *   free    not requested by the HAL;
 *   input   requested as an input while someone holds it (an IO socket
 *           that declared it `in`, a trigger watching its edges);
 *   output  requested as an output since its first write, and kept so for
 *           the HAL's lifetime, so that a value written by a function
 *           persists after its container exits (deviceless-api.md 3.4.3).
 * Writing a line held as input fails with -EBUSY ("Line busy:
 * <chip>:<line>."), and holding or watching an output line fails the same
 * way: the HAL never turns a driven actuator into an input behind its
 * writer's back. Reading a free line requests it "as is" for the read only,
 * so a read never changes a line's direction.
 *
 * Edge events come from the backend's line events (libgpiod v1 both-edge
 * requests, or the simulator's, which travel the same path: an event fd
 * watched with ev_io) and, on lines whose backend has none, from polling the
 * value every poll_ms (deviceless-api.md 3.7.4). Either way they reach the
 * callback on the loop thread with a CLOCK_REALTIME µs timestamp.
 *
 * Errors carry the contract's words (board-protocol.md 6.5): -ENODEV with
 * "No such device: gpio:<chip>:<line>.", -EBUSY with "Line busy:
 * <chip>:<line>.", anything else with the errno text. Loop thread only. */
#ifndef LRC_HAL_GPIO_H
#define LRC_HAL_GPIO_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "hal/hal.h"

enum hal_gpio_state { HAL_GPIO_FREE = 0, HAL_GPIO_INPUT = 1, HAL_GPIO_OUTPUT = 2 };

enum hal_gpio_edge {
    HAL_GPIO_EDGE_NONE = 0, /* a plain hold: no callback */
    HAL_GPIO_EDGE_RISING = 1,
    HAL_GPIO_EDGE_FALLING = 2,
    HAL_GPIO_EDGE_BOTH = 3,
};

#define HAL_GPIO_POLL_DEFAULT_MS 50 /* deviceless-api.md 3.7.1 default for GPIO */

/* A chip as DeviceCaps reports it. Strings are borrowed from the HAL. */
struct hal_gpio_chip_info {
    const char *name;  /* "gpiochip0", "sim0" */
    const char *label; /* the driver's label; "simulated" for sim chips */
    unsigned lines;
    const char *backend; /* "libgpiod" or "sim" */
    const char *dev;     /* "/dev/gpiochip0", or NULL for simulated chips */
};

struct hal_gpio_event {
    const char *chip; /* borrowed for the callback's duration */
    unsigned line;
    enum hal_gpio_edge edge; /* RISING or FALLING */
    int value;               /* the level after the edge: 1 or 0 */
    int64_t ts_us;           /* CLOCK_REALTIME µs: the kernel's event time, or
                              * the sample time for a polled line */
    int polled;              /* 1 when found by polling */
};

/* Runs on the loop thread. It may free its own watch or any other, read or
 * write lines; it must not free the HAL. */
typedef void (*hal_gpio_event_fn)(void *arg, const struct hal_gpio_event *ev);

struct hal_gpio_watch; /* a hold on an input line, with or without a callback */

size_t hal_gpio_chip_count(const struct hal *hal);

/* Fills info for chip i (0 <= i < count). Returns 0 or -ENOENT. */
int hal_gpio_chip_info(const struct hal *hal, size_t i, struct hal_gpio_chip_info *info);

/* 1 when chip exists and has the line, else 0. */
int hal_gpio_has_line(const struct hal *hal, const char *chip, unsigned line);

/* The line's state; -ENODEV when it does not exist. */
int hal_gpio_state(const struct hal *hal, const char *chip, unsigned line);

/* Reads the line's level (an output reads back its driven value). On
 * success *value is 0 or 1 and *ts_us (may be NULL) the time of the read. */
int hal_gpio_read(struct hal *hal, const char *chip, unsigned line, int *value, int64_t *ts_us,
                  struct error *err) IOT_WUR;

/* Drives the line to value (0 or 1), requesting it as an output if needed;
 * it stays an output. *ts_us (may be NULL) is the time of the write. */
int hal_gpio_write(struct hal *hal, const char *chip, unsigned line, int value, int64_t *ts_us,
                   struct error *err) IOT_WUR;

/* Holds the line as an input, and with edge != NONE calls cb for each edge
 * of that kind until hal_gpio_watch_free(). poll_ms (0: the default, 50) is
 * the sampling period used only when the backend has no events for the
 * line. On success *out is new. -EBUSY when the line is an output (or held
 * by another program), -ENODEV when it does not exist. */
int hal_gpio_watch(struct hal *hal, const char *chip, unsigned line, enum hal_gpio_edge edge,
                   unsigned poll_ms, hal_gpio_event_fn cb, void *arg, struct hal_gpio_watch **out,
                   struct error *err) IOT_WUR;

/* 1 when the watch gets kernel (or simulated) events, 0 when it polls. */
int hal_gpio_watch_has_events(const struct hal_gpio_watch *w);

/* Ends the hold; the line is released when no hold is left. Accepts NULL.
 * Safe inside any GPIO callback, including this watch's own. */
void hal_gpio_watch_free(struct hal_gpio_watch *w);

/* "free", "input", "output". */
const char *hal_gpio_state_name(enum hal_gpio_state s);

#endif
