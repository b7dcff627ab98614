/* Unit tests for the HAL's GPIO layer on the simulated backend (the same
 * generic code paths as libgpiod: requests, event fds on ev_io, polling),
 * and for the libgpiod backend as far as a kernel without GPIO allows. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/timeutil.h"
#include "hal/caps.h"
#include "hal/gpio.h"
#include "hal/hal.h"
#include "hal/sim.h"

struct fixture {
    struct ev_loop *ev;
    struct hal *hal;
};

static struct hal *make_hal(struct ev_loop *ev, const char *chips)
{
    struct hal_config conf;
    struct hal *hal = NULL;
    struct error err;

    hal_config_defaults(&conf);
    conf.backend = HAL_BACKEND_SIM;
    free(conf.sim_chips);
    conf.sim_chips = strdup(chips);
    assert_int_equal(hal_new(ev, &conf, &hal, &err), 0);
    hal_config_clear(&conf);
    return hal;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    f->ev = ev_loop_new(EVFLAG_AUTO);
    f->hal = make_hal(f->ev, "sim0:8 sim1:16 slow0:4:poll");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    hal_free(f->hal);
    ev_loop_destroy(f->ev);
    free(f);
    return 0;
}

static void on_deadline(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)revents;
    *(int *)t->data = 1;
    ev_break(ev, EVBREAK_ONE);
}

/* Runs the loop until *count reaches want or timeout_s passes. */
static void run_until(struct ev_loop *ev, const int *count, int want, double timeout_s)
{
    ev_timer deadline;
    int expired = 0;

    ev_timer_init(&deadline, on_deadline, timeout_s, 0.);
    deadline.data = &expired;
    ev_timer_start(ev, &deadline);
    while (*count < want && !expired)
        ev_run(ev, EVRUN_ONCE);
    ev_timer_stop(ev, &deadline);
}

/* Runs a few iterations without blocking. */
static void spin(struct ev_loop *ev)
{
    for (int i = 0; i < 5; i++)
        ev_run(ev, EVRUN_NOWAIT);
}

static void test_chips_as_devicecaps_reports_them(void **state)
{
    struct fixture *f = *state;
    struct hal_gpio_chip_info ci;
    cJSON *caps = hal_caps_gpio(f->hal);
    char *text = cJSON_PrintUnformatted(caps);

    assert_int_equal(hal_gpio_chip_count(f->hal), 3);
    assert_int_equal(hal_gpio_chip_info(f->hal, 1, &ci), 0);
    assert_string_equal(ci.name, "sim1");
    assert_int_equal(ci.lines, 16);
    assert_string_equal(ci.backend, "sim");
    assert_null(ci.dev);
    assert_int_equal(hal_gpio_chip_info(f->hal, 3, &ci), -ENOENT);
    assert_string_equal(
        text, "[{\"chip\":\"sim0\",\"label\":\"simulated\",\"lines\":8,\"backend\":\"sim\","
              "\"dev\":null},{\"chip\":\"sim1\",\"label\":\"simulated\",\"lines\":16,"
              "\"backend\":\"sim\",\"dev\":null},{\"chip\":\"slow0\",\"label\":"
              "\"simulated\",\"lines\":4,\"backend\":\"sim\",\"dev\":null}]");
    free(text);
    cJSON_Delete(caps);
    assert_string_equal(hal_backend_name(f->hal), "sim");
    assert_int_equal(hal_backend(f->hal), HAL_BACKEND_SIM);
}

static void test_read_free_line_follows_simulated_level(void **state)
{
    struct fixture *f = *state;
    struct error err;
    int64_t ts, before = time_now_us();
    int v = -1;

    assert_int_equal(hal_gpio_read(f->hal, "sim0", 3, &v, &ts, &err), 0);
    assert_int_equal(v, 0);
    assert_true(ts >= before && ts <= time_now_us());
    assert_int_equal(hal_sim_set_line(f->hal, "sim0", 3, 1, NULL, &err), 0);
    assert_int_equal(hal_gpio_read(f->hal, "sim0", 3, &v, NULL, &err), 0);
    assert_int_equal(v, 1);
    /* A one-off read leaves the line free. */
    assert_int_equal(hal_gpio_state(f->hal, "sim0", 3), HAL_GPIO_FREE);
}

static void test_unknown_lines_are_no_such_device(void **state)
{
    struct fixture *f = *state;
    struct hal_gpio_watch *w;
    struct error err;
    int v;

    assert_int_equal(hal_gpio_read(f->hal, "sim0", 8, &v, NULL, &err), -ENODEV);
    assert_string_equal(err.msg, "No such device: gpio:sim0:8.");
    assert_int_equal(hal_gpio_write(f->hal, "nochip", 0, 1, NULL, &err), -ENODEV);
    assert_string_equal(err.msg, "No such device: gpio:nochip:0.");
    assert_int_equal(hal_gpio_watch(f->hal, "sim9", 0, HAL_GPIO_EDGE_NONE, 0, NULL, NULL, &w, &err),
                     -ENODEV);
    assert_null(w);
    assert_int_equal(hal_gpio_state(f->hal, "sim1", 16), -ENODEV);
    assert_false(hal_gpio_has_line(f->hal, "sim1", 16));
    assert_true(hal_gpio_has_line(f->hal, "sim1", 15));
}

static void test_output_persists_and_counts_writes(void **state)
{
    struct fixture *f = *state;
    struct hal_sim_line sl;
    struct error err;
    int64_t ts;
    int v;

    assert_int_equal(hal_gpio_write(f->hal, "sim0", 5, 1, &ts, &err), 0);
    assert_int_equal(hal_gpio_state(f->hal, "sim0", 5), HAL_GPIO_OUTPUT);
    assert_int_equal(hal_gpio_write(f->hal, "sim0", 5, 0, NULL, &err), 0);
    assert_int_equal(hal_gpio_write(f->hal, "sim0", 5, 7, NULL, &err), 0); /* any non-zero */
    assert_int_equal(hal_sim_get_line(f->hal, "sim0", 5, &sl, &err), 0);
    assert_int_equal(sl.value, 1);
    assert_int_equal(sl.state, HAL_GPIO_OUTPUT);
    assert_int_equal(sl.writes, 3);
    assert_true(sl.last_write_us >= ts);
    /* Reading an output reads back the driven value; the outside world
     * cannot drive it. */
    assert_int_equal(hal_gpio_read(f->hal, "sim0", 5, &v, NULL, &err), 0);
    assert_int_equal(v, 1);
    assert_int_equal(hal_sim_set_line(f->hal, "sim0", 5, 0, NULL, &err), -EPERM);
    assert_string_equal(err.msg, "Line sim0:5 is an output: the board drives it.");
    assert_int_equal(hal_gpio_state(f->hal, "sim0", 5), HAL_GPIO_OUTPUT);
}

static void test_held_input_is_busy_for_writers_and_outputs_for_holders(void **state)
{
    struct fixture *f = *state;
    struct hal_gpio_watch *hold = NULL, *hold2 = NULL, *w = NULL;
    struct error err;

    assert_int_equal(
        hal_gpio_watch(f->hal, "sim0", 2, HAL_GPIO_EDGE_NONE, 0, NULL, NULL, &hold, &err), 0);
    assert_int_equal(hal_gpio_state(f->hal, "sim0", 2), HAL_GPIO_INPUT);
    assert_int_equal(hal_gpio_write(f->hal, "sim0", 2, 1, NULL, &err), -EBUSY);
    assert_string_equal(err.msg, "Line busy: sim0:2.");
    assert_int_equal(
        hal_gpio_watch(f->hal, "sim0", 2, HAL_GPIO_EDGE_NONE, 0, NULL, NULL, &hold2, &err), 0);
    hal_gpio_watch_free(hold);
    assert_int_equal(hal_gpio_state(f->hal, "sim0", 2), HAL_GPIO_INPUT);
    hal_gpio_watch_free(hold2);
    assert_int_equal(hal_gpio_state(f->hal, "sim0", 2), HAL_GPIO_FREE);
    assert_int_equal(hal_gpio_write(f->hal, "sim0", 2, 1, NULL, &err), 0);
    /* An output cannot be held as an input. */
    assert_int_equal(hal_gpio_watch(f->hal, "sim0", 2, HAL_GPIO_EDGE_NONE, 0, NULL, NULL, &w, &err),
                     -EBUSY);
    assert_string_equal(err.msg, "Line busy: sim0:2.");
    assert_null(w);
}

struct events {
    int n;
    struct hal_gpio_event ev[16];
    char chip[16];
    struct hal_gpio_watch *free_me; /* freed from inside the callback */
};

static void on_edge(void *arg, const struct hal_gpio_event *ev)
{
    struct events *e = arg;

    if (e->n < 16) {
        e->ev[e->n] = *ev;
        snprintf(e->chip, sizeof(e->chip), "%s", ev->chip);
    }
    e->n++;
    if (e->free_me != NULL) {
        hal_gpio_watch_free(e->free_me);
        e->free_me = NULL;
    }
}

static void test_edges_reach_watches_with_timestamps(void **state)
{
    struct fixture *f = *state;
    struct events both = {0}, rising = {0}, falling = {0};
    struct hal_gpio_watch *wb, *wr, *wf;
    struct hal_sim_edge edge;
    struct error err;
    int64_t t0 = time_now_us(), t1;

    assert_int_equal(
        hal_gpio_watch(f->hal, "sim1", 7, HAL_GPIO_EDGE_BOTH, 0, on_edge, &both, &wb, &err), 0);
    assert_true(hal_gpio_watch_has_events(wb));
    assert_int_equal(
        hal_gpio_watch(f->hal, "sim1", 7, HAL_GPIO_EDGE_RISING, 0, on_edge, &rising, &wr, &err), 0);
    assert_int_equal(
        hal_gpio_watch(f->hal, "sim1", 7, HAL_GPIO_EDGE_FALLING, 0, on_edge, &falling, &wf, &err),
        0);
    assert_int_equal(hal_sim_set_line(f->hal, "sim1", 7, 1, &edge, &err), 0);
    assert_int_equal(edge.previous, 0);
    assert_int_equal(edge.value, 1);
    assert_int_equal(edge.edge, HAL_GPIO_EDGE_RISING);
    assert_int_equal(edge.events, 2);
    /* Delivered on a later loop iteration, never inside the call. */
    assert_int_equal(both.n, 0);
    run_until(f->ev, &both.n, 1, 2.0);
    assert_int_equal(both.n, 1);
    assert_int_equal(rising.n, 1);
    assert_int_equal(falling.n, 0);
    assert_int_equal(both.ev[0].edge, HAL_GPIO_EDGE_RISING);
    assert_int_equal(both.ev[0].value, 1);
    assert_int_equal(both.ev[0].line, 7);
    assert_int_equal(both.ev[0].polled, 0);
    assert_string_equal(both.chip, "sim1");
    t1 = time_now_us();
    assert_true(both.ev[0].ts_us >= t0 && both.ev[0].ts_us <= t1);

    /* Same level: no edge, no event. */
    assert_int_equal(hal_sim_set_line(f->hal, "sim1", 7, 1, &edge, &err), 0);
    assert_int_equal(edge.edge, HAL_GPIO_EDGE_NONE);
    assert_int_equal(edge.events, 0);
    assert_int_equal(hal_sim_set_line(f->hal, "sim1", 7, 0, &edge, &err), 0);
    assert_int_equal(hal_sim_set_line(f->hal, "sim1", 7, 1, &edge, &err), 0);
    run_until(f->ev, &both.n, 3, 2.0);
    assert_int_equal(both.n, 3);
    assert_int_equal(rising.n, 2);
    assert_int_equal(falling.n, 1);
    assert_int_equal(both.ev[1].edge, HAL_GPIO_EDGE_FALLING);
    assert_true(both.ev[1].ts_us <= both.ev[2].ts_us);
    /* The line reads the level the edges left. */
    {
        int v;

        assert_int_equal(hal_gpio_read(f->hal, "sim1", 7, &v, NULL, &err), 0);
        assert_int_equal(v, 1);
    }
    hal_gpio_watch_free(wb);
    hal_gpio_watch_free(wr);
    hal_gpio_watch_free(wf);
    assert_int_equal(hal_gpio_state(f->hal, "sim1", 7), HAL_GPIO_FREE);
}

static void test_watch_freed_inside_its_callback(void **state)
{
    struct fixture *f = *state;
    struct events a = {0}, b = {0};
    struct hal_gpio_watch *wa, *wb;
    struct error err;

    assert_int_equal(
        hal_gpio_watch(f->hal, "sim0", 0, HAL_GPIO_EDGE_BOTH, 0, on_edge, &a, &wa, &err), 0);
    assert_int_equal(
        hal_gpio_watch(f->hal, "sim0", 0, HAL_GPIO_EDGE_BOTH, 0, on_edge, &b, &wb, &err), 0);
    a.free_me = wa;
    b.free_me = wb;
    /* Two edges queued: after the first both watches are gone, so the second
     * reaches nobody, and the line is released. */
    assert_int_equal(hal_sim_set_line(f->hal, "sim0", 0, 1, NULL, &err), 0);
    assert_int_equal(hal_sim_set_line(f->hal, "sim0", 0, 0, NULL, &err), 0);
    run_until(f->ev, &b.n, 1, 2.0);
    spin(f->ev);
    assert_int_equal(a.n, 1);
    assert_int_equal(b.n, 1);
    assert_int_equal(hal_gpio_state(f->hal, "sim0", 0), HAL_GPIO_FREE);
}

static void test_line_without_events_is_polled(void **state)
{
    struct fixture *f = *state;
    struct events e = {0};
    struct hal_gpio_watch *w;
    struct hal_sim_edge edge;
    struct error err;
    int64_t t0;

    assert_int_equal(
        hal_gpio_watch(f->hal, "slow0", 1, HAL_GPIO_EDGE_BOTH, 10, on_edge, &e, &w, &err), 0);
    assert_false(hal_gpio_watch_has_events(w));
    t0 = time_now_us();
    assert_int_equal(hal_sim_set_line(f->hal, "slow0", 1, 1, &edge, &err), 0);
    assert_int_equal(edge.events, 1);
    run_until(f->ev, &e.n, 1, 2.0);
    assert_int_equal(e.n, 1);
    assert_int_equal(e.ev[0].polled, 1);
    assert_int_equal(e.ev[0].edge, HAL_GPIO_EDGE_RISING);
    assert_true(e.ev[0].ts_us >= t0);
    /* Sampled within a few periods of 10 ms. */
    assert_true(e.ev[0].ts_us - t0 < 500000);
    assert_int_equal(hal_sim_set_line(f->hal, "slow0", 1, 0, NULL, &err), 0);
    run_until(f->ev, &e.n, 2, 2.0);
    assert_int_equal(e.ev[1].edge, HAL_GPIO_EDGE_FALLING);
    hal_gpio_watch_free(w);
    assert_int_equal(hal_gpio_state(f->hal, "slow0", 1), HAL_GPIO_FREE);
}

static void test_watch_needs_callback_for_edges(void **state)
{
    struct fixture *f = *state;
    struct hal_gpio_watch *w;
    struct error err;

    assert_int_equal(
        hal_gpio_watch(f->hal, "sim0", 1, HAL_GPIO_EDGE_RISING, 0, NULL, NULL, &w, &err), -EINVAL);
    assert_int_equal(hal_gpio_state(f->hal, "sim0", 1), HAL_GPIO_FREE);
}

struct writes {
    int n;
    struct hal_sim_write last;
    struct hal_sim_watcher *self;
};

static void on_write(void *arg, const struct hal_sim_write *w)
{
    struct writes *x = arg;

    x->n++;
    x->last = *w;
    x->last.chip = NULL;
    if (x->n == 2) {
        hal_sim_watcher_free(x->self); /* from inside the callback */
        x->self = NULL;
    }
}

static void test_sim_write_watchers(void **state)
{
    struct fixture *f = *state;
    struct writes x = {0};
    struct error err;
    int64_t ts;

    assert_int_equal(hal_sim_watch_writes(f->hal, on_write, &x, &x.self, &err), 0);
    assert_int_equal(hal_gpio_write(f->hal, "sim1", 3, 1, &ts, &err), 0);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.last.line, 3);
    assert_int_equal(x.last.value, 1);
    assert_int_equal(x.last.writes, 1);
    assert_true(x.last.ts_us <= ts && ts - x.last.ts_us < 1000000);
    assert_int_equal(hal_gpio_write(f->hal, "sim1", 3, 0, NULL, &err), 0);
    assert_int_equal(x.n, 2);
    assert_int_equal(x.last.writes, 2);
    assert_null(x.self);
    assert_int_equal(hal_gpio_write(f->hal, "sim1", 3, 1, NULL, &err), 0);
    assert_int_equal(x.n, 2); /* unsubscribed */
}

static void test_sim_config_errors(void **state)
{
    static const struct {
        const char *spec, *msg;
    } cases[] = {
        {"sim0", "[io] sim_chips: 'sim0': expected <name>:<lines>"},
        {"sim0:0", "[io] sim_chips: sim0: the line count must be 1..1024"},
        {"sim0:1025", "[io] sim_chips: sim0: the line count must be 1..1024"},
        {"sim0:-3", "[io] sim_chips: sim0: the line count must be 1..1024"},
        {"sim0:8x", "[io] sim_chips: sim0: the line count must be 1..1024"},
        {"s.0:8", "[io] sim_chips: 's.0': invalid chip name"},
        {"sim0:8 sim0:4", "[io] sim_chips: chip sim0 is declared twice"},
        {"sim0:8:fast", "[io] sim_chips: sim0: unknown flag 'fast' (poll)"},
    };
    struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct hal_config conf;
        struct hal *hal = (struct hal *)1;
        struct error err;

        hal_config_defaults(&conf);
        conf.backend = HAL_BACKEND_SIM;
        free(conf.sim_chips);
        conf.sim_chips = strdup(cases[i].spec);
        assert_int_equal(hal_new(ev, &conf, &hal, &err), -EINVAL);
        assert_null(hal);
        assert_string_equal(err.msg, cases[i].msg);
        hal_config_clear(&conf);
    }
    ev_loop_destroy(ev);
}

static void test_config_defaults_match_contract(void **state)
{
    struct hal_config conf;

    (void)state;
    hal_config_defaults(&conf);
    assert_int_equal(conf.backend, HAL_BACKEND_AUTO);
    assert_string_equal(conf.allowed_chips, "all");
    assert_string_equal(conf.sim_chips, "sim0:8");
    assert_string_equal(conf.sim_sensors, "temp0:C:21.5 lux0:lx:120");
    assert_int_equal(conf.max_ops_per_second, 1000);
    hal_config_clear(&conf);
    assert_null(conf.sim_chips);
}

static void test_config_from_ini(void **state)
{
    struct hal_config conf;
    struct cfg_table t = hal_cfg_table(&conf);
    struct cfg *c = cfg_new();
    struct error err;

    (void)state;
    memset(&conf, 0, sizeof(conf));
    assert_int_equal(cfg_load_text(c, "lrc.conf",
                                   "[io]\nbackend = libgpiod\nallowed_chips = gpiochip0 gpiochip2\n"
                                   "max_ops_per_second = 50\n",
                                   &err),
                     0);
    assert_int_equal(cfg_bind(c, &t, 1, &err), 0);
    assert_int_equal(conf.backend, HAL_BACKEND_LIBGPIOD);
    assert_string_equal(conf.allowed_chips, "gpiochip0 gpiochip2");
    assert_int_equal(conf.max_ops_per_second, 50);
    cfg_unbind(&t, 1);
    cfg_free(c);

    c = cfg_new();
    assert_int_equal(cfg_load_text(c, "lrc.conf", "[io]\nbackend = gpio\n", &err), 0);
    assert_int_equal(cfg_bind(c, &t, 1, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "lrc.conf:2: [io] backend"));
    cfg_unbind(&t, 1);
    cfg_free(c);
}

/* The libgpiod backend on a /dev without chips: a HAL with none, not an
 * error; a node that is not a GPIO chip is skipped; auto picks sim. */
static void test_libgpiod_backend_without_chips(void **state)
{
    char dir[] = "/tmp/hal-dev-XXXXXX";
    char path[64];
    struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
    struct hal_config conf;
    struct hal *hal = NULL;
    struct error err;
    FILE *fp;
    int v;

    (void)state;
    assert_non_null(mkdtemp(dir));
    hal_config_defaults(&conf);
    conf.dev_dir = dir;
    conf.iio_dir = conf.hwmon_dir = conf.w1_dir = dir;
    conf.backend = HAL_BACKEND_LIBGPIOD;
    assert_int_equal(hal_new(ev, &conf, &hal, &err), 0);
    assert_int_equal(hal_backend(hal), HAL_BACKEND_LIBGPIOD);
    assert_string_equal(hal_backend_name(hal), "libgpiod");
    assert_int_equal(hal_gpio_chip_count(hal), 0);
    assert_int_equal(hal_gpio_read(hal, "gpiochip0", 0, &v, NULL, &err), -ENODEV);
    assert_string_equal(err.msg, "No such device: gpio:gpiochip0:0.");
    assert_int_equal(hal_sim_set_line(hal, "gpiochip0", 0, 1, NULL, &err), -ENOTSUP);
    assert_string_equal(err.msg, "The simulated IO backend is not in use.");
    hal_free(hal);

    /* auto without nodes: sim. */
    conf.backend = HAL_BACKEND_AUTO;
    assert_int_equal(hal_new(ev, &conf, &hal, &err), 0);
    assert_int_equal(hal_backend(hal), HAL_BACKEND_SIM);
    hal_free(hal);

    /* A regular file named like a chip: auto chooses libgpiod, which skips
     * it because libgpiod refuses to open it. */
    snprintf(path, sizeof(path), "%s/gpiochip0", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(hal_new(ev, &conf, &hal, &err), 0);
    assert_int_equal(hal_backend(hal), HAL_BACKEND_LIBGPIOD);
    assert_int_equal(hal_gpio_chip_count(hal), 0);
    hal_free(hal);
    unlink(path);
    rmdir(dir);
    hal_config_clear(&conf);
    ev_loop_destroy(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chips_as_devicecaps_reports_them, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_free_line_follows_simulated_level, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_lines_are_no_such_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_persists_and_counts_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held_input_is_busy_for_writers_and_outputs_for_holders,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_edges_reach_watches_with_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_freed_inside_its_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_without_events_is_polled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_needs_callback_for_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_write_watchers, setup, teardown),
        cmocka_unit_test(test_sim_config_errors),
        cmocka_unit_test(test_config_defaults_match_contract),
        cmocka_unit_test(test_config_from_ini),
        cmocka_unit_test(test_libgpiod_backend_without_chips),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
