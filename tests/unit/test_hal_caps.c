/* Unit tests for hal/caps: the GpioRead, GpioWrite and SensorRead procedure
 * helpers (board-protocol.md 6.5) with their exact error texts, and the
 * DeviceCaps fields. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"
#include "common/timeutil.h"
#include "hal/caps.h"
#include "hal/gpio.h"
#include "hal/hal.h"

struct fixture {
    struct ev_loop *ev;
    struct hal *hal;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct hal_config conf;
    struct error err;

    f->ev = ev_loop_new(EVFLAG_AUTO);
    hal_config_defaults(&conf);
    conf.backend = HAL_BACKEND_SIM;
    assert_int_equal(hal_new(f->ev, &conf, &f->hal, &err), 0);
    hal_config_clear(&conf);
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

static cJSON *parse(const char *text)
{
    cJSON *j = NULL;
    struct error err;

    assert_int_equal(json_parse(text, strlen(text), &j, &err), 0);
    return j;
}

typedef int (*rpc_fn)(struct hal *, const cJSON *, cJSON **, struct error *);

/* Calls fn with params; returns the reply text (free()) or NULL with the
 * error in err. */
static char *call(struct hal *hal, rpc_fn fn, const char *params, struct error *err)
{
    cJSON *p = parse(params), *reply = NULL;
    char *text = NULL;

    error_clear(err);
    if (fn(hal, p, &reply, err) == 0) {
        assert_non_null(reply);
        text = cJSON_PrintUnformatted(reply);
    } else {
        assert_null(reply);
    }
    cJSON_Delete(reply);
    cJSON_Delete(p);
    return text;
}

static void assert_ts_recent(const char *reply)
{
    cJSON *j = parse(reply);
    const char *ts;
    int64_t t;
    struct error err;

    assert_int_equal(json_get_str(j, "ts", JSON_REQUIRED, 64, &ts, &err), 0);
    assert_int_equal(strlen(ts), 27); /* 2026-11-23T18:02:11.204518Z */
    assert_int_equal(ts[26], 'Z');
    assert_int_equal(time_parse(ts, &t), 0);
    assert_true(llabs(time_now_us() - t) < 5000000);
    cJSON_Delete(j);
}

static void test_gpio_write_then_read(void **state)
{
    struct fixture *f = *state;
    struct error err;
    char *r;

    r = call(f->hal, hal_rpc_gpio_write, "{\"chip\":\"sim0\",\"line\":4,\"value\":true}", &err);
    assert_non_null(r);
    assert_true(strncmp(r, "{\"ts\":\"", 7) == 0);
    assert_ts_recent(r);
    free(r);
    r = call(f->hal, hal_rpc_gpio_read, "{\"chip\":\"sim0\",\"line\":4}", &err);
    assert_non_null(r);
    assert_true(strncmp(r, "{\"value\":1,\"ts\":\"", 17) == 0);
    assert_ts_recent(r);
    free(r);
    r = call(f->hal, hal_rpc_gpio_write, "{\"chip\":\"sim0\",\"line\":4,\"value\":0}", &err);
    free(r);
    r = call(f->hal, hal_rpc_gpio_read, "{\"chip\":\"sim0\",\"line\":4}", &err);
    assert_true(strncmp(r, "{\"value\":0,", 11) == 0);
    free(r);
    assert_int_equal(hal_gpio_state(f->hal, "sim0", 4), HAL_GPIO_OUTPUT);
}

static void test_gpio_argument_errors_name_the_argument(void **state)
{
    static const struct {
        int write;
        const char *params, *msg;
    } cases[] = {
        {0, "[]", "parameters must be an object"},
        {0, "{\"line\":1}", "missing chip"},
        {0, "{\"chip\":1,\"line\":1}", "chip must be a string"},
        {0, "{\"chip\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg\",\"line\":1}",
         "chip is longer than 32 characters"},
        {0, "{\"chip\":\"sim0\"}", "missing line"},
        {0, "{\"chip\":\"sim0\",\"line\":-1}", "line must be an integer between 0 and 65535"},
        {0, "{\"chip\":\"sim0\",\"line\":1.5}", "line must be an integer between 0 and 65535"},
        {0, "{\"chip\":\"sim0\",\"line\":\"1\"}", "line must be an integer"},
        {1, "{\"chip\":\"sim0\",\"line\":1}", "missing value"},
        {1, "{\"chip\":\"sim0\",\"line\":1,\"value\":2}", "value must be 0, 1, true or false"},
        {1, "{\"chip\":\"sim0\",\"line\":1,\"value\":\"1\"}", "value must be 0, 1, true or false"},
        {1, "{\"chip\":\"sim0\",\"line\":1,\"value\":null}", "value must be 0, 1, true or false"},
        {0, "{\"chip\":\"sim7\",\"line\":1}", "No such device: gpio:sim7:1."},
        {1, "{\"chip\":\"sim0\",\"line\":8,\"value\":1}", "No such device: gpio:sim0:8."},
    };
    struct fixture *f = *state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct error err;
        char *r = call(f->hal, cases[i].write ? hal_rpc_gpio_write : hal_rpc_gpio_read,
                       cases[i].params, &err);

        assert_null(r);
        assert_string_equal(err.msg, cases[i].msg);
    }
}

static void test_write_to_held_input_is_line_busy(void **state)
{
    struct fixture *f = *state;
    struct hal_gpio_watch *w;
    struct error err;
    char *r;

    assert_int_equal(hal_gpio_watch(f->hal, "sim0", 6, HAL_GPIO_EDGE_NONE, 0, NULL, NULL, &w, &err),
                     0);
    r = call(f->hal, hal_rpc_gpio_write, "{\"chip\":\"sim0\",\"line\":6,\"value\":1}", &err);
    assert_null(r);
    assert_int_equal(err.code, -EBUSY);
    assert_string_equal(err.msg, "Line busy: sim0:6.");
    /* Reading a held input is fine. */
    r = call(f->hal, hal_rpc_gpio_read, "{\"chip\":\"sim0\",\"line\":6}", &err);
    assert_non_null(r);
    free(r);
    hal_gpio_watch_free(w);
}

struct done {
    int n;
    char *reply;
    char error[128];
};

static void on_done(void *arg, cJSON *reply, const char *error)
{
    struct done *d = arg;

    d->n++;
    if (reply != NULL) {
        d->reply = cJSON_PrintUnformatted(reply);
        cJSON_Delete(reply);
    } else {
        snprintf(d->error, sizeof(d->error), "%s", error);
    }
}

static void test_sensor_read(void **state)
{
    struct fixture *f = *state;
    struct hal_sensor_req *req;
    struct done d = {0};
    struct error err;
    cJSON *p = parse("{\"name\":\"temp0\"}");

    assert_int_equal(hal_rpc_sensor_read(f->hal, p, on_done, &d, &req, &err), 0);
    assert_int_equal(d.n, 0);
    for (int i = 0; i < 100 && d.n == 0; i++)
        ev_run(f->ev, EVRUN_NOWAIT);
    assert_int_equal(d.n, 1);
    assert_true(strncmp(d.reply, "{\"value\":21.5,\"unit\":\"C\",\"ts\":\"", 31) == 0);
    assert_ts_recent(d.reply);
    free(d.reply);
    cJSON_Delete(p);

    p = parse("{\"name\":\"temp9\"}");
    assert_int_equal(hal_rpc_sensor_read(f->hal, p, on_done, &d, &req, &err), -ENODEV);
    assert_string_equal(err.msg, "No such device: sensor:temp9.");
    cJSON_Delete(p);
    p = parse("{\"name\":5}");
    assert_int_equal(hal_rpc_sensor_read(f->hal, p, on_done, &d, &req, &err), -EINVAL);
    assert_string_equal(err.msg, "name must be a string");
    cJSON_Delete(p);
    p = parse("{}");
    assert_int_equal(hal_rpc_sensor_read(f->hal, p, on_done, &d, &req, &err), -ENOENT);
    assert_string_equal(err.msg, "missing name");
    cJSON_Delete(p);
    assert_int_equal(d.n, 1);
}

static void test_sensor_read_cancelled_frees_everything(void **state)
{
    struct fixture *f = *state;
    struct hal_sensor_req *req;
    struct done d = {0};
    struct error err;
    cJSON *p = parse("{\"name\":\"lux0\"}");

    assert_int_equal(hal_rpc_sensor_read(f->hal, p, on_done, &d, &req, &err), 0);
    hal_sensor_cancel(req);
    for (int i = 0; i < 10; i++)
        ev_run(f->ev, EVRUN_NOWAIT);
    assert_int_equal(d.n, 0);
    cJSON_Delete(p);
}

static void test_caps_fill(void **state)
{
    struct fixture *f = *state;
    cJSON *caps = cJSON_CreateObject();
    char *text;

    hal_caps_fill(f->hal, caps);
    text = cJSON_PrintUnformatted(caps);
    assert_string_equal(text, "{\"gpio\":[{\"chip\":\"sim0\",\"label\":\"simulated\",\"lines\":8,"
                              "\"backend\":\"sim\",\"dev\":null}],\"sensors\":[{\"name\":"
                              "\"temp0\",\"kind\":\"sim\",\"unit\":\"C\"},{\"name\":\"lux0\","
                              "\"kind\":\"sim\",\"unit\":\"lx\"}]}");
    free(text);
    cJSON_Delete(caps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gpio_write_then_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gpio_argument_errors_name_the_argument, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_write_to_held_input_is_line_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sensor_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sensor_read_cancelled_frees_everything, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_caps_fill, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
