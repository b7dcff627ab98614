/* hal/gpio.c: the generic GPIO layer: line states, holds, edge dispatch.
 *
 * Backends (gpio_sim.c, gpio_gpiod.c) only do what the kernel does; this file
 * decides when a line is requested, released, or kept, and dispatches edges
 * to watches. Invariants, per line:
 *   - state is OUTPUT from the first write on, and never changes back;
 *   - state is INPUT exactly while holds > 0 (live watches);
 *   - events is 1 only in INPUT, and then event_fd is watched by io;
 *   - while dispatching > 0 no watch is unlinked and the line is not
 *     released: frees mark the watch dead and the sweep after the dispatch
 *     finishes the job (a callback may free its own watch). */
#include "hal/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

#define EVENTS_PER_READ 16

struct hal_gpio_watch {
    struct gpio_line *line;
    enum hal_gpio_edge edge;
    hal_gpio_event_fn cb;
    void *arg;
    int polling; /* the line has no events: poll is running */
    ev_timer poll;
    int last; /* polling: the level last seen */
    int dead;
    struct hal_gpio_watch *next;
};

static int no_such(struct error *err, const char *chip, unsigned line)
{
    return error_set(err, -ENODEV, "No such device: gpio:%.32s:%u.", chip, line);
}

static int busy(struct error *err, const char *chip, unsigned line)
{
    return error_set(err, -EBUSY, "Line busy: %.32s:%u.", chip, line);
}

struct gpio_chip *gpio_chip_add(struct hal *hal, const char *name, const char *label,
                                const char *dev, unsigned nlines, void *bk)
{
    struct gpio_chip *c = xcalloc(1, sizeof(*c));

    c->hal = hal;
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->label = xstrdup(label != NULL ? label : "");
    c->dev = dev != NULL ? xstrdup(dev) : NULL;
    c->nlines = nlines;
    c->lines = xcalloc(nlines > 0 ? nlines : 1, sizeof(*c->lines));
    c->bk = bk;
    hal->chips = xrealloc(hal->chips, (hal->nchips + 1) * sizeof(*hal->chips));
    hal->chips[hal->nchips++] = c;
    return c;
}

struct gpio_chip *gpio_chip_find(const struct hal *hal, const char *name)
{
    for (size_t i = 0; i < hal->nchips; i++)
        if (strcmp(hal->chips[i]->name, name) == 0)
            return hal->chips[i];
    return NULL;
}

/* The line's state object, made on first use; NULL when it does not exist. */
static struct gpio_line *line_get(const struct hal *hal, const char *chip, unsigned off)
{
    struct gpio_chip *c = gpio_chip_find(hal, chip);
    struct gpio_line *l;

    if (c == NULL || off >= c->nlines)
        return NULL;
    l = c->lines[off];
    if (l == NULL) {
        l = xcalloc(1, sizeof(*l));
        l->chip = c;
        l->offset = off;
        l->event_fd = -1;
        c->lines[off] = l;
    }
    return l;
}

/* Maps a backend's -EBUSY to the contract's words; keeps other errors. */
static int backend_err(int rc, struct gpio_line *l, struct error *err)
{
    if (rc == -EBUSY)
        return busy(err, l->chip->name, l->offset);
    return rc;
}

int hal_gpio_read(struct hal *hal, const char *chip, unsigned line, int *value, int64_t *ts_us,
                  struct error *err)
{
    struct gpio_line *l = line_get(hal, chip, line);
    const struct gpio_backend *gb = hal->gb;
    int rc, v = 0;

    if (l == NULL)
        return no_such(err, chip, line);
    if (l->state == HAL_GPIO_FREE) {
        /* A one-off read: hold the line, direction untouched, just long
         * enough to sample it. */
        rc = gb->request(l->chip, line, HAL_GPIO_FREE, 0, 0, NULL, err);
        if (rc < 0)
            return backend_err(rc, l, err);
        rc = gb->get(l->chip, line, &v, err);
        gb->release(l->chip, line);
    } else {
        rc = gb->get(l->chip, line, &v, err);
    }
    if (rc < 0)
        return backend_err(rc, l, err);
    l->value = v;
    *value = v;
    if (ts_us != NULL)
        *ts_us = time_now_us();
    return 0;
}

int hal_gpio_write(struct hal *hal, const char *chip, unsigned line, int value, int64_t *ts_us,
                   struct error *err)
{
    struct gpio_line *l = line_get(hal, chip, line);
    int rc;

    if (l == NULL)
        return no_such(err, chip, line);
    value = value ? 1 : 0;
    switch (l->state) {
    case HAL_GPIO_INPUT:
        return busy(err, chip, line);
    case HAL_GPIO_FREE:
        rc = hal->gb->request(l->chip, line, HAL_GPIO_OUTPUT, 0, value, NULL, err);
        if (rc < 0)
            return backend_err(rc, l, err);
        l->state = HAL_GPIO_OUTPUT;
        log_info("gpio %s:%u is now an output", chip, line);
        break;
    case HAL_GPIO_OUTPUT:
        rc = hal->gb->set(l->chip, line, value, err);
        if (rc < 0)
            return backend_err(rc, l, err);
        break;
    }
    l->value = value;
    if (ts_us != NULL)
        *ts_us = time_now_us();
    return 0;
}

static int wants(enum hal_gpio_edge filter, int rising)
{
    return (filter & (rising ? HAL_GPIO_EDGE_RISING : HAL_GPIO_EDGE_FALLING)) != 0;
}

static void release_line(struct gpio_line *l)
{
    struct hal *hal = l->chip->hal;

    if (l->events)
        ev_io_stop(hal->ev, &l->io);
    hal->gb->release(l->chip, l->offset);
    l->events = 0;
    l->event_fd = -1;
    l->state = HAL_GPIO_FREE;
}

/* Unlinks and frees dead watches once no dispatch is running, and releases
 * the line when nothing holds it any more. */
static void sweep(struct gpio_line *l)
{
    struct hal_gpio_watch **pp = &l->watches;

    if (l->dispatching > 0)
        return;
    while (*pp != NULL) {
        struct hal_gpio_watch *w = *pp;

        if (w->dead) {
            *pp = w->next;
            free(w);
        } else {
            pp = &w->next;
        }
    }
    if (l->holds == 0 && l->state == HAL_GPIO_INPUT)
        release_line(l);
}

static void emit(struct hal_gpio_watch *w, int rising, int64_t ts, int polled)
{
    struct hal_gpio_event ev = {
        .chip = w->line->chip->name,
        .line = w->line->offset,
        .edge = rising ? HAL_GPIO_EDGE_RISING : HAL_GPIO_EDGE_FALLING,
        .value = rising ? 1 : 0,
        .ts_us = ts,
        .polled = polled,
    };

    w->cb(w->arg, &ev);
}

static void dispatch(struct gpio_line *l, const struct gpio_raw_event *e)
{
    l->value = e->rising ? 1 : 0;
    for (struct hal_gpio_watch *w = l->watches; w != NULL; w = w->next)
        if (!w->dead && w->cb != NULL && wants(w->edge, e->rising))
            emit(w, e->rising, e->ts_us, 0);
}

static void on_line_events(struct ev_loop *ev, ev_io *io, int revents)
{
    struct gpio_line *l = io->data;
    struct gpio_raw_event evs[EVENTS_PER_READ];
    struct error err;
    int n;

    (void)ev;
    (void)revents;
    l->dispatching++;
    do {
        n = l->chip->hal->gb->read_events(l->chip, l->offset, l->event_fd, evs, EVENTS_PER_READ,
                                          &err);
        if (n < 0) {
            log_warn("gpio %s:%u: reading events: %s", l->chip->name, l->offset, error_str(&err));
            break;
        }
        for (int i = 0; i < n && l->holds > 0; i++)
            dispatch(l, &evs[i]);
    } while (n == EVENTS_PER_READ && l->holds > 0);
    l->dispatching--;
    sweep(l);
}

static void on_poll(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct hal_gpio_watch *w = t->data;
    struct gpio_line *l = w->line;
    struct error err;
    int v;

    (void)ev;
    (void)revents;
    if (l->chip->hal->gb->get(l->chip, l->offset, &v, &err) < 0) {
        log_warn("gpio %s:%u: polling: %s", l->chip->name, l->offset, error_str(&err));
        return;
    }
    l->value = v;
    if (v == w->last)
        return;
    w->last = v;
    if (!wants(w->edge, v))
        return;
    l->dispatching++;
    emit(w, v, time_now_us(), 1);
    l->dispatching--;
    sweep(l);
}

/* Requests a free line as an input, with events when the backend has them. */
static int request_input(struct hal *hal, struct gpio_line *l, struct error *err)
{
    int fd = -1, rc = -EOPNOTSUPP;

    if (!l->no_events)
        rc = hal->gb->request(l->chip, l->offset, HAL_GPIO_INPUT, 1, 0, &fd, err);
    if (rc == -EOPNOTSUPP) {
        if (!l->no_events)
            log_info("gpio %s:%u has no edge events: watches poll it", l->chip->name, l->offset);
        l->no_events = 1;
        rc = hal->gb->request(l->chip, l->offset, HAL_GPIO_INPUT, 0, 0, NULL, err);
    }
    if (rc < 0)
        return backend_err(rc, l, err);
    l->state = HAL_GPIO_INPUT;
    if (fd >= 0) {
        l->events = 1;
        l->event_fd = fd;
        ev_io_init(&l->io, on_line_events, fd, EV_READ);
        l->io.data = l;
        ev_io_start(hal->ev, &l->io);
    }
    return 0;
}

static void start_polling(struct hal *hal, struct hal_gpio_watch *w, unsigned poll_ms)
{
    double period = (poll_ms ? poll_ms : HAL_GPIO_POLL_DEFAULT_MS) / 1000.0;
    int v = 0;

    if (hal->gb->get(w->line->chip, w->line->offset, &v, NULL) == 0)
        w->line->value = v;
    w->last = w->line->value;
    w->polling = 1;
    ev_timer_init(&w->poll, on_poll, period, period);
    w->poll.data = w;
    ev_timer_start(hal->ev, &w->poll);
}

int hal_gpio_watch(struct hal *hal, const char *chip, unsigned line, enum hal_gpio_edge edge,
                   unsigned poll_ms, hal_gpio_event_fn cb, void *arg, struct hal_gpio_watch **out,
                   struct error *err)
{
    struct gpio_line *l = line_get(hal, chip, line);
    struct hal_gpio_watch *w;

    *out = NULL;
    if (l == NULL)
        return no_such(err, chip, line);
    if (edge != HAL_GPIO_EDGE_NONE && cb == NULL)
        return error_set(err, -EINVAL, "a watch of edges needs a callback");
    if (l->state == HAL_GPIO_OUTPUT)
        return busy(err, chip, line);
    if (l->state == HAL_GPIO_FREE) {
        int rc = request_input(hal, l, err);

        if (rc < 0)
            return rc;
    }
    w = xcalloc(1, sizeof(*w));
    w->line = l;
    w->edge = edge;
    w->cb = cb;
    w->arg = arg;
    w->next = l->watches;
    l->watches = w;
    l->holds++;
    if (edge != HAL_GPIO_EDGE_NONE && !l->events)
        start_polling(hal, w, poll_ms);
    *out = w;
    return 0;
}

int hal_gpio_watch_has_events(const struct hal_gpio_watch *w)
{
    return w->line->events;
}

void hal_gpio_watch_free(struct hal_gpio_watch *w)
{
    struct gpio_line *l;

    if (w == NULL || w->dead)
        return;
    l = w->line;
    if (w->polling)
        ev_timer_stop(l->chip->hal->ev, &w->poll);
    w->dead = 1;
    l->holds--;
    sweep(l);
}

unsigned gpio_watchers_for(const struct hal *hal, const char *chip, unsigned line,
                           enum hal_gpio_edge edge)
{
    struct gpio_chip *c = gpio_chip_find(hal, chip);
    struct gpio_line *l = c != NULL && line < c->nlines ? c->lines[line] : NULL;
    unsigned n = 0;

    if (l == NULL)
        return 0;
    for (struct hal_gpio_watch *w = l->watches; w != NULL; w = w->next)
        if (!w->dead && w->cb != NULL && (w->edge & edge) != 0)
            n++;
    return n;
}

size_t hal_gpio_chip_count(const struct hal *hal)
{
    return hal->nchips;
}

int hal_gpio_chip_info(const struct hal *hal, size_t i, struct hal_gpio_chip_info *info)
{
    const struct gpio_chip *c;

    if (i >= hal->nchips)
        return -ENOENT;
    c = hal->chips[i];
    info->name = c->name;
    info->label = c->label;
    info->lines = c->nlines;
    info->backend = hal->gb->name;
    info->dev = c->dev;
    return 0;
}

int hal_gpio_has_line(const struct hal *hal, const char *chip, unsigned line)
{
    const struct gpio_chip *c = gpio_chip_find(hal, chip);

    return c != NULL && line < c->nlines;
}

int hal_gpio_state(const struct hal *hal, const char *chip, unsigned line)
{
    const struct gpio_chip *c = gpio_chip_find(hal, chip);

    if (c == NULL || line >= c->nlines)
        return -ENODEV;
    return c->lines[line] != NULL ? (int)c->lines[line]->state : HAL_GPIO_FREE;
}

const char *hal_gpio_state_name(enum hal_gpio_state s)
{
    switch (s) {
    case HAL_GPIO_INPUT:
        return "input";
    case HAL_GPIO_OUTPUT:
        return "output";
    case HAL_GPIO_FREE:
        break;
    }
    return "free";
}

static void line_free(struct hal *hal, struct gpio_line *l)
{
    struct hal_gpio_watch *w = l->watches, *next;

    for (; w != NULL; w = next) {
        next = w->next;
        if (!w->dead)
            log_warn("gpio %s:%u: a watch outlived the HAL", l->chip->name, l->offset);
        if (w->polling && !w->dead)
            ev_timer_stop(hal->ev, &w->poll);
        free(w);
    }
    if (l->state != HAL_GPIO_FREE)
        release_line(l);
    free(l);
}

void gpio_free_all(struct hal *hal)
{
    for (size_t i = 0; i < hal->nchips; i++) {
        struct gpio_chip *c = hal->chips[i];

        for (unsigned j = 0; j < c->nlines; j++)
            if (c->lines[j] != NULL)
                line_free(hal, c->lines[j]);
        if (hal->gb != NULL && hal->gb->chip_free != NULL)
            hal->gb->chip_free(c);
        free(c->lines);
        free(c->label);
        free(c->dev);
        free(c);
    }
    free(hal->chips);
    hal->chips = NULL;
    hal->nchips = 0;
}
