/* hal/gpio_sim.c: the simulated GPIO backend and its driving API (sim.h).
 *
 * Simulated chips hold their lines in memory with the kernel's semantics: a
 * line is requested once, an input reads the level the outside world drives
 * (hal_sim_set_line), an output reads back what the board drove. A line
 * requested with events gets a real pipe: each edge is written into it as
 * a struct gpio_raw_event, and the generic layer watches the read end with
 * ev_io and reads it through read_events(), exactly as it does a libgpiod
 * line's event fd. So the simulator exercises the same code paths as real
 * hardware, and events arrive on a later loop iteration, as the kernel's do.
 *
 * A chip declared "name:lines:poll" refuses event requests, like an I/O
 * expander without an interrupt line: its watches fall back to polling.
 * Every write the board makes is counted and reported to write watchers. */
#include "hal/internal.h"
#include "hal/sim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

struct sim_line {
    int level;                /* driven from outside */
    int out;                  /* driven by the board */
    enum hal_gpio_state mode; /* as requested */
    int rfd, wfd;             /* the event pipe, -1 without events */
    uint64_t writes;
    int64_t last_write_us;
};

struct sim_chip {
    int no_events;
    struct sim_line lines[];
};

struct hal_sim_watcher {
    struct sim_state *st;
    hal_sim_write_fn cb;
    void *arg;
    int dead;
    struct hal_sim_watcher *next;
};

struct sim_state {
    struct hal_sim_watcher *watchers;
    int dispatching;
};

static struct sim_line *sline(struct gpio_chip *c, unsigned off)
{
    return &((struct sim_chip *)c->bk)->lines[off];
}

static void sweep_watchers(struct sim_state *st)
{
    struct hal_sim_watcher **pp = &st->watchers;

    if (st->dispatching > 0)
        return;
    while (*pp != NULL) {
        struct hal_sim_watcher *w = *pp;

        if (w->dead) {
            *pp = w->next;
            free(w);
        } else {
            pp = &w->next;
        }
    }
}

static void record_write(struct gpio_chip *c, unsigned off, int value)
{
    struct sim_line *sl = sline(c, off);
    struct sim_state *st = c->hal->sim;
    struct hal_sim_write w;

    sl->writes++;
    sl->last_write_us = time_now_us();
    w.chip = c->name;
    w.line = off;
    w.value = value;
    w.ts_us = sl->last_write_us;
    w.writes = sl->writes;
    st->dispatching++;
    for (struct hal_sim_watcher *x = st->watchers; x != NULL; x = x->next)
        if (!x->dead)
            x->cb(x->arg, &w);
    st->dispatching--;
    sweep_watchers(st);
}

static int sim_request(struct gpio_chip *c, unsigned off, enum hal_gpio_state st, int events,
                       int value, int *event_fd, struct error *err)
{
    struct sim_line *sl = sline(c, off);
    int p[2];

    if (sl->mode != HAL_GPIO_FREE)
        return error_set(err, -EBUSY, "%s", strerror(EBUSY));
    if (st == HAL_GPIO_FREE)
        return 0; /* as it is: nothing to change */
    if (st == HAL_GPIO_OUTPUT) {
        sl->mode = HAL_GPIO_OUTPUT;
        sl->out = value;
        record_write(c, off, value);
        return 0;
    }
    if (events) {
        if (((struct sim_chip *)c->bk)->no_events)
            return error_set(err, -EOPNOTSUPP, "%s", strerror(EOPNOTSUPP));
        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
            return error_set(err, -errno, "%s", strerror(errno));
        sl->rfd = p[0];
        sl->wfd = p[1];
        *event_fd = p[0];
    }
    sl->mode = HAL_GPIO_INPUT;
    return 0;
}

static void sim_release(struct gpio_chip *c, unsigned off)
{
    struct sim_line *sl = sline(c, off);

    if (sl->rfd >= 0) {
        close(sl->rfd);
        close(sl->wfd);
    }
    sl->rfd = sl->wfd = -1;
    sl->mode = HAL_GPIO_FREE;
}

static int sim_get(struct gpio_chip *c, unsigned off, int *value, struct error *err)
{
    struct sim_line *sl = sline(c, off);

    (void)err;
    *value = sl->mode == HAL_GPIO_OUTPUT ? sl->out : sl->level;
    return 0;
}

static int sim_set(struct gpio_chip *c, unsigned off, int value, struct error *err)
{
    struct sim_line *sl = sline(c, off);

    if (sl->mode != HAL_GPIO_OUTPUT)
        return error_set(err, -EPERM, "%s", strerror(EPERM));
    sl->out = value;
    record_write(c, off, value);
    return 0;
}

static int sim_read_events(struct gpio_chip *c, unsigned off, int fd, struct gpio_raw_event *evs,
                           size_t max, struct error *err)
{
    ssize_t n;

    (void)c;
    (void)off;
    /* Each event is one write() of less than PIPE_BUF bytes, so reads only
     * ever see whole events. */
    n = read(fd, evs, max * sizeof(*evs));
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return 0;
        return error_set(err, -errno, "%s", strerror(errno));
    }
    return (int)((size_t)n / sizeof(*evs));
}

static void sim_chip_free(struct gpio_chip *c)
{
    struct sim_chip *sc = c->bk;

    if (sc == NULL)
        return;
    for (unsigned i = 0; i < c->nlines; i++)
        if (sc->lines[i].rfd >= 0)
            sim_release(c, i);
    free(sc);
    c->bk = NULL;
}

const struct gpio_backend gpio_sim_backend = {
    .name = "sim",
    .request = sim_request,
    .release = sim_release,
    .get = sim_get,
    .set = sim_set,
    .read_events = sim_read_events,
    .chip_free = sim_chip_free,
};

/* One "name:lines[:poll]" token of [io] sim_chips. */
static int add_chip(struct hal *hal, char *tok, struct error *err)
{
    char *name = tok, *count = strchr(tok, ':'), *flag = NULL, *end;
    struct sim_chip *sc;
    unsigned long n;

    if (count == NULL)
        return error_set(err, -EINVAL, "[io] sim_chips: '%.64s': expected <name>:<lines>", tok);
    *count++ = '\0';
    flag = strchr(count, ':');
    if (flag != NULL)
        *flag++ = '\0';
    if (!hal_name_valid(name))
        return error_set(err, -EINVAL, "[io] sim_chips: '%.64s': invalid chip name", name);
    if (gpio_chip_find(hal, name) != NULL)
        return error_set(err, -EINVAL, "[io] sim_chips: chip %s is declared twice", name);
    errno = 0;
    n = strtoul(count, &end, 10);
    if (errno != 0 || end == count || *end != '\0' || count[0] == '-' || n < 1 || n > SIM_LINES_MAX)
        return error_set(err, -EINVAL, "[io] sim_chips: %s: the line count must be 1..%d", name,
                         SIM_LINES_MAX);
    if (flag != NULL && strcmp(flag, "poll") != 0)
        return error_set(err, -EINVAL, "[io] sim_chips: %s: unknown flag '%.16s' (poll)", name,
                         flag);
    if (hal->nchips == SIM_CHIPS_MAX)
        return error_set(err, -EINVAL, "[io] sim_chips: at most %d chips", SIM_CHIPS_MAX);
    sc = xcalloc(1, sizeof(*sc) + n * sizeof(sc->lines[0]));
    sc->no_events = flag != NULL;
    for (unsigned long i = 0; i < n; i++)
        sc->lines[i].rfd = sc->lines[i].wfd = -1;
    gpio_chip_add(hal, name, "simulated", NULL, (unsigned)n, sc);
    return 0;
}

int gpio_sim_setup(struct hal *hal, const char *spec, struct error *err)
{
    char *copy = xstrdup(spec != NULL ? spec : ""), *save = NULL, *tok;
    int rc = 0;

    hal->gb = &gpio_sim_backend;
    hal->sim = xcalloc(1, sizeof(*hal->sim));
    for (tok = strtok_r(copy, " \t,", &save); tok != NULL && rc == 0;
         tok = strtok_r(NULL, " \t,", &save))
        rc = add_chip(hal, tok, err);
    free(copy);
    return rc;
}

void gpio_sim_free(struct hal *hal)
{
    struct hal_sim_watcher *w, *next;

    if (hal->sim == NULL)
        return;
    for (w = hal->sim->watchers; w != NULL; w = next) {
        next = w->next;
        free(w);
    }
    free(hal->sim);
    hal->sim = NULL;
}

static int not_sim(struct error *err)
{
    return error_set(err, -ENOTSUP, "The simulated IO backend is not in use.");
}

static int find_sim_line(struct hal *hal, const char *chip, unsigned line, struct gpio_chip **out,
                         struct error *err)
{
    struct gpio_chip *c = NULL;

    if (hal->sim == NULL)
        return not_sim(err);
    c = gpio_chip_find(hal, chip);
    if (c == NULL || line >= c->nlines)
        return error_set(err, -ENODEV, "No such device: gpio:%.32s:%u.", chip, line);
    *out = c;
    return 0;
}

int hal_sim_get_line(struct hal *hal, const char *chip, unsigned line, struct hal_sim_line *out,
                     struct error *err)
{
    struct gpio_chip *c = NULL;
    struct sim_line *sl;
    int rc = find_sim_line(hal, chip, line, &c, err);

    if (rc < 0)
        return rc;
    sl = sline(c, line);
    out->value = sl->mode == HAL_GPIO_OUTPUT ? sl->out : sl->level;
    out->state = sl->mode;
    out->writes = sl->writes;
    out->last_write_us = sl->last_write_us;
    return 0;
}

int hal_sim_set_line(struct hal *hal, const char *chip, unsigned line, int value,
                     struct hal_sim_edge *out, struct error *err)
{
    struct gpio_raw_event ev;
    struct hal_sim_edge res;
    struct gpio_chip *c = NULL;
    struct sim_line *sl;
    int rc = find_sim_line(hal, chip, line, &c, err);

    if (rc < 0)
        return rc;
    sl = sline(c, line);
    if (sl->mode == HAL_GPIO_OUTPUT)
        return error_set(err, -EPERM, "Line %s:%u is an output: the board drives it.", chip, line);
    memset(&res, 0, sizeof(res));
    res.previous = sl->level;
    res.value = value ? 1 : 0;
    sl->level = res.value;
    if (res.previous != res.value) {
        res.edge = res.value ? HAL_GPIO_EDGE_RISING : HAL_GPIO_EDGE_FALLING;
        res.events = gpio_watchers_for(hal, chip, line, res.edge);
        ev.ts_us = time_now_us();
        ev.rising = res.value;
        /* A full pipe drops the event, as the kernel's event queue does. */
        if (sl->wfd >= 0 && write(sl->wfd, &ev, sizeof(ev)) != (ssize_t)sizeof(ev))
            log_warn("gpio %s:%u: event queue full, edge dropped", chip, line);
    }
    if (out != NULL)
        *out = res;
    return 0;
}

int hal_sim_watch_writes(struct hal *hal, hal_sim_write_fn cb, void *arg,
                         struct hal_sim_watcher **out, struct error *err)
{
    struct hal_sim_watcher *w;

    *out = NULL;
    if (hal->sim == NULL)
        return not_sim(err);
    w = xcalloc(1, sizeof(*w));
    w->st = hal->sim;
    w->cb = cb;
    w->arg = arg;
    w->next = hal->sim->watchers;
    hal->sim->watchers = w;
    *out = w;
    return 0;
}

void hal_sim_watcher_free(struct hal_sim_watcher *w)
{
    if (w == NULL)
        return;
    w->dead = 1;
    sweep_watchers(w->st);
}
