/* hal/gpio_gpiod.c: the libgpiod v1 (1.6) backend: the kernel's GPIO chips.
 *
 * Each chip under <dev_dir> named gpiochipN that [io] allowed_chips admits
 * is opened once and kept open; its lines are requested with consumer
 * "lightning-rod-c". Inputs that someone watches are requested for both-edge
 * events, and the line's event fd (made non-blocking) is watched by the
 * generic layer with ev_io. A line whose chip cannot give it an interrupt
 * (the kernel refuses the event request) is requested as a plain input and
 * its watches poll (deviceless-api.md 3.7.4).
 *
 * GPIO ioctls are fast (a register access; an I2C expander takes a fraction
 * of a millisecond), so they run on the loop thread.
 *
 * Event timestamps: the v1 uapi stamped events with CLOCK_REALTIME until
 * Linux 5.7 and with CLOCK_MONOTONIC since. A monotonic stamp is the uptime,
 * decades away from the wall clock, so the two are told apart by distance
 * and a monotonic one is moved onto the wall clock. */
#include "hal/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

#define REALTIME_WINDOW_US (3600LL * 1000000LL)

static struct gpiod_chip *gchip(struct gpio_chip *c)
{
    return c->bk;
}

static int errno_err(struct error *err, int e)
{
    if (e == 0)
        e = EIO;
    return error_set(err, -e, "%s", strerror(e));
}

static int request_events(struct gpiod_line *line, int *event_fd, struct error *err)
{
    int fd, flags;

    if (gpiod_line_request_both_edges_events(line, HAL_CONSUMER) < 0) {
        int e = errno;

        if (e == EBUSY)
            return errno_err(err, e);
        /* No interrupt for this line (ENODEV, ENXIO, EINVAL...): poll it. */
        return error_set(err, -EOPNOTSUPP, "no edge events: %s", strerror(e));
    }
    fd = gpiod_line_event_get_fd(line);
    flags = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        int e = errno;

        gpiod_line_release(line);
        return errno_err(err, e);
    }
    *event_fd = fd;
    return 0;
}

static int gd_request(struct gpio_chip *c, unsigned off, enum hal_gpio_state st, int events,
                      int value, int *event_fd, struct error *err)
{
    struct gpiod_line_request_config as_is = {HAL_CONSUMER, GPIOD_LINE_REQUEST_DIRECTION_AS_IS, 0};
    struct gpiod_line *line = gpiod_chip_get_line(gchip(c), off);
    int rc;

    if (line == NULL)
        return errno_err(err, errno);
    if (st == HAL_GPIO_FREE)
        rc = gpiod_line_request(line, &as_is, 0);
    else if (st == HAL_GPIO_OUTPUT)
        rc = gpiod_line_request_output(line, HAL_CONSUMER, value);
    else if (events)
        return request_events(line, event_fd, err);
    else
        rc = gpiod_line_request_input(line, HAL_CONSUMER);
    return rc < 0 ? errno_err(err, errno) : 0;
}

static void gd_release(struct gpio_chip *c, unsigned off)
{
    struct gpiod_line *line = gpiod_chip_get_line(gchip(c), off);

    if (line != NULL)
        gpiod_line_release(line);
}

static int gd_get(struct gpio_chip *c, unsigned off, int *value, struct error *err)
{
    struct gpiod_line *line = gpiod_chip_get_line(gchip(c), off);
    int v = line != NULL ? gpiod_line_get_value(line) : -1;

    if (v < 0)
        return errno_err(err, errno);
    *value = v ? 1 : 0;
    return 0;
}

static int gd_set(struct gpio_chip *c, unsigned off, int value, struct error *err)
{
    struct gpiod_line *line = gpiod_chip_get_line(gchip(c), off);

    if (line == NULL || gpiod_line_set_value(line, value) < 0)
        return errno_err(err, errno);
    return 0;
}

static int64_t to_realtime_us(const struct timespec *ts)
{
    int64_t t = (int64_t)ts->tv_sec * 1000000 + ts->tv_nsec / 1000;
    int64_t now = time_now_us();

    if (t > now - REALTIME_WINDOW_US && t < now + REALTIME_WINDOW_US)
        return t;
    return now - (time_mono_us() - t);
}

static int gd_read_events(struct gpio_chip *c, unsigned off, int fd, struct gpio_raw_event *evs,
                          size_t max, struct error *err)
{
    struct gpiod_line_event raw[16];
    int n;

    (void)c;
    (void)off;
    if (max > 16)
        max = 16;
    n = gpiod_line_event_read_fd_multiple(fd, raw, (unsigned)max);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return 0;
        return errno_err(err, errno);
    }
    for (int i = 0; i < n; i++) {
        evs[i].ts_us = to_realtime_us(&raw[i].ts);
        evs[i].rising = raw[i].event_type == GPIOD_LINE_EVENT_RISING_EDGE;
    }
    return n;
}

static void gd_chip_free(struct gpio_chip *c)
{
    if (c->bk != NULL)
        gpiod_chip_close(c->bk);
    c->bk = NULL;
}

const struct gpio_backend gpio_gpiod_backend = {
    .name = "libgpiod",
    .request = gd_request,
    .release = gd_release,
    .get = gd_get,
    .set = gd_set,
    .read_events = gd_read_events,
    .chip_free = gd_chip_free,
};

/* "gpiochip" followed by decimal digits only. */
static int is_chip_node(const char *name)
{
    const char *p = name + strlen("gpiochip");

    if (strncmp(name, "gpiochip", 8) != 0 || *p == '\0')
        return 0;
    for (; *p != '\0'; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

/* 1 when allowed ("all", empty or NULL: every chip) names chip. */
static int chip_allowed(const char *allowed, const char *chip)
{
    size_t n = strlen(chip);
    const char *p = allowed;

    if (allowed == NULL || allowed[strspn(allowed, " \t,")] == '\0' || strcmp(allowed, "all") == 0)
        return 1;
    while (*p != '\0') {
        size_t len;

        p += strspn(p, " \t,");
        len = strcspn(p, " \t,");
        if (len == n && strncmp(p, chip, n) == 0)
            return 1;
        p += len;
    }
    return 0;
}

static void open_chip(struct hal *hal, const char *dev_dir, const char *node)
{
    char *path = xasprintf("%s/%s", dev_dir, node);
    struct gpiod_chip *chip = gpiod_chip_open(path);
    const char *name;

    if (chip == NULL) {
        log_warn("gpio: cannot open %s: %s; skipped", path, strerror(errno));
        free(path);
        return;
    }
    name = gpiod_chip_name(chip);
    if (!hal_name_valid(name) || gpio_chip_find(hal, name) != NULL) {
        log_warn("gpio: %s: unusable chip name '%.64s'; skipped", path, name);
        gpiod_chip_close(chip);
    } else {
        gpio_chip_add(hal, name, gpiod_chip_label(chip), path, gpiod_chip_num_lines(chip), chip);
        log_info("gpio: %s (%s), %u lines", name, gpiod_chip_label(chip),
                 gpiod_chip_num_lines(chip));
    }
    free(path);
}

int gpio_gpiod_setup(struct hal *hal, const char *dev_dir, const char *allowed, struct error *err)
{
    char **nodes = NULL;
    size_t n = 0;

    (void)err;
    hal->gb = &gpio_gpiod_backend;
    if (sysfs_list(dev_dir, "gpiochip", &nodes, &n) < 0)
        n = 0;
    for (size_t i = 0; i < n; i++)
        if (is_chip_node(nodes[i]) && chip_allowed(allowed, nodes[i]))
            open_chip(hal, dev_dir, nodes[i]);
    sysfs_names_free(nodes, n);
    if (hal->nchips == 0)
        log_warn("gpio: no usable GPIO chip under %s", dev_dir);
    return 0;
}

int gpio_gpiod_present(const char *dev_dir)
{
    char **nodes = NULL;
    size_t n = 0;
    int found = 0;

    if (sysfs_list(dev_dir, "gpiochip", &nodes, &n) < 0)
        return 0;
    for (size_t i = 0; i < n && !found; i++)
        found = is_chip_node(nodes[i]);
    sysfs_names_free(nodes, n);
    return found;
}
