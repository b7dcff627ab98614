/* Unit tests for the HAL's sensors: the IIO, hwmon and 1-wire parsers run
 * against fixture sysfs trees in a temporary directory (garbage included),
 * reads through the reader thread, cancellation, sampling, and the
 * simulated sensors. */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/timeutil.h"
#include "hal/caps.h"
#include "hal/hal.h"
#include "hal/sensor.h"
#include "hal/sim.h"

struct tree {
    char root[64];
    char iio[96], hwmon[96], w1[96], dev[96];
};

static void put(const char *root, const char *rel, const char *content)
{
    char path[512];
    FILE *fp;

    mkdir(root, 0755);
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(content, fp);
    fclose(fp);
}

static void make_tree(struct tree *t)
{
    snprintf(t->root, sizeof(t->root), "/tmp/hal-sysfs-XXXXXX");
    assert_non_null(mkdtemp(t->root));
    snprintf(t->iio, sizeof(t->iio), "%s/iio", t->root);
    snprintf(t->hwmon, sizeof(t->hwmon), "%s/hwmon", t->root);
    snprintf(t->w1, sizeof(t->w1), "%s/w1", t->root);
    snprintf(t->dev, sizeof(t->dev), "%s/dev", t->root);
    mkdir(t->dev, 0755);
    /* IIO: processed channels, raw with own and shared scale/offset,
     * garbage, an unknown type, a device without a name file. */
    put(t->iio, "iio:device0/name", "bme280\n");
    put(t->iio, "iio:device0/in_temp_input", "23125\n");
    put(t->iio, "iio:device0/in_pressure_input", "101.325\n");
    put(t->iio, "iio:device0/in_humidityrelative_input", "45500\n");
    put(t->iio, "iio:device1/name", "ads1015\n");
    put(t->iio, "iio:device1/in_voltage0_raw", "1000\n");
    put(t->iio, "iio:device1/in_voltage0_scale", "3.0\n");
    put(t->iio, "iio:device1/in_voltage1_raw", "12\n");
    put(t->iio, "iio:device1/in_voltage_scale", "0.5\n");
    put(t->iio, "iio:device1/in_voltage_offset", "-2\n");
    put(t->iio, "iio:device1/in_voltage2_raw", "garbage\n");
    put(t->iio, "iio:device1/in_intensity_both_raw", "5\n");
    put(t->iio, "iio:device1/in_voltage0_raw_available", "0 4095\n");
    put(t->iio, "iio:device2/in_illuminance_raw", "300\n");
    put(t->iio, "iio:device2/in_illuminance_input", "310\n");
    /* hwmon: units, a duplicate chip name, an empty value, hwmon10 sorted
     * after hwmon2. */
    put(t->hwmon, "hwmon0/name", "cpu_thermal\n");
    put(t->hwmon, "hwmon0/temp1_input", "48312\n");
    put(t->hwmon, "hwmon0/temp1_label", "CPU\n");
    put(t->hwmon, "hwmon1/name", "ina219\n");
    put(t->hwmon, "hwmon1/in0_input", "3300\n");
    put(t->hwmon, "hwmon1/curr1_input", "150\n");
    put(t->hwmon, "hwmon1/power1_input", "495000\n");
    put(t->hwmon, "hwmon1/fan1_input", "1200\n");
    put(t->hwmon, "hwmon1/temp2_input", "");
    put(t->hwmon, "hwmon1/pwm1", "128\n");
    put(t->hwmon, "hwmon2/name", "cpu_thermal\n");
    put(t->hwmon, "hwmon2/temp1_input", "30000\n");
    put(t->hwmon, "hwmon10/name", "nvme\n");
    put(t->hwmon, "hwmon10/temp1_input", "-5000\n");
    /* 1-wire: w1_slave with good and bad CRC, temperature, garbage, and
     * slaves that are not thermometers. */
    put(t->w1, "28-0316a2795aff/w1_slave",
        "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n");
    put(t->w1, "28-00000bad0001/w1_slave",
        "72 01 4b 46 7f ff 0e 10 00 : crc=00 NO\n72 01 4b 46 7f ff 0e 10 57 t=23125\n");
    put(t->w1, "10-000802b4a1c2/temperature", "-10500\n");
    put(t->w1, "10-000802b4a1c2/w1_slave", "ignored when temperature exists\n");
    put(t->w1, "28-000000000002/w1_slave", "garbage\n");
    put(t->w1, "01-000012345678/id", "x\n");
    put(t->w1, "w1_bus_master1/w1_master_slaves", "28-0316a2795aff\n");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_tree(struct tree *t)
{
    nftw(t->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

struct fixture {
    struct tree tree;
    struct ev_loop *ev;
    struct hal *hal;
};

static int setup_sysfs(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct hal_config conf;
    struct error err;

    make_tree(&f->tree);
    f->ev = ev_loop_new(EVFLAG_AUTO);
    hal_config_defaults(&conf);
    conf.backend = HAL_BACKEND_LIBGPIOD;
    conf.dev_dir = f->tree.dev;
    conf.iio_dir = f->tree.iio;
    conf.hwmon_dir = f->tree.hwmon;
    conf.w1_dir = f->tree.w1;
    assert_int_equal(hal_new(f->ev, &conf, &f->hal, &err), 0);
    hal_config_clear(&conf);
    *state = f;
    return 0;
}

static int setup_sim(void **state)
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
    if (f->tree.root[0] != '\0')
        remove_tree(&f->tree);
    free(f);
    return 0;
}

/* cmocka 1.1 has no assert_double_equal. */
#define assert_double_equal(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

static void check_reading(struct hal *hal, const char *name, double want, const char *unit)
{
    struct hal_reading r;
    struct error err;

    error_clear(&err);
    if (hal_sensor_read_sync(hal, name, &r, &err) != 0)
        fail_msg("%s: %s", name, err.msg);
    if (fabs(r.value - want) > 1e-9)
        fail_msg("%s: %.17g, expected %.17g", name, r.value, want);
    assert_string_equal(r.unit, unit);
}

static void check_error(struct hal *hal, const char *name, const char *tail)
{
    struct hal_reading r;
    struct error err;

    assert_true(hal_sensor_read_sync(hal, name, &r, &err) < 0);
    if (strstr(err.msg, tail) == NULL)
        fail_msg("%s: '%s' does not contain '%s'", name, err.msg, tail);
}

static void test_discovers_sensors_in_order_with_kinds_and_units(void **state)
{
    struct fixture *f = *state;
    cJSON *caps = hal_caps_sensors(f->hal);
    char *text = cJSON_PrintUnformatted(caps);

    assert_string_equal(text,
                        "[{\"name\":\"bme280_humidityrelative\",\"kind\":\"iio\",\"unit\":\"%\"},"
                        "{\"name\":\"bme280_pressure\",\"kind\":\"iio\",\"unit\":\"kPa\"},"
                        "{\"name\":\"bme280_temp\",\"kind\":\"iio\",\"unit\":\"C\"},"
                        "{\"name\":\"ads1015_voltage0\",\"kind\":\"iio\",\"unit\":\"V\"},"
                        "{\"name\":\"ads1015_voltage1\",\"kind\":\"iio\",\"unit\":\"V\"},"
                        "{\"name\":\"ads1015_voltage2\",\"kind\":\"iio\",\"unit\":\"V\"},"
                        "{\"name\":\"iio_device2_illuminance\",\"kind\":\"iio\",\"unit\":\"lx\"},"
                        "{\"name\":\"cpu_thermal_temp1\",\"kind\":\"hwmon\",\"unit\":\"C\"},"
                        "{\"name\":\"ina219_curr1\",\"kind\":\"hwmon\",\"unit\":\"A\"},"
                        "{\"name\":\"ina219_fan1\",\"kind\":\"hwmon\",\"unit\":\"RPM\"},"
                        "{\"name\":\"ina219_in0\",\"kind\":\"hwmon\",\"unit\":\"V\"},"
                        "{\"name\":\"ina219_power1\",\"kind\":\"hwmon\",\"unit\":\"W\"},"
                        "{\"name\":\"ina219_temp2\",\"kind\":\"hwmon\",\"unit\":\"C\"},"
                        "{\"name\":\"cpu_thermal_temp1_2\",\"kind\":\"hwmon\",\"unit\":\"C\"},"
                        "{\"name\":\"nvme_temp1\",\"kind\":\"hwmon\",\"unit\":\"C\"},"
                        "{\"name\":\"10-000802b4a1c2\",\"kind\":\"w1\",\"unit\":\"C\"},"
                        "{\"name\":\"28-000000000002\",\"kind\":\"w1\",\"unit\":\"C\"},"
                        "{\"name\":\"28-00000bad0001\",\"kind\":\"w1\",\"unit\":\"C\"},"
                        "{\"name\":\"28-0316a2795aff\",\"kind\":\"w1\",\"unit\":\"C\"}]");
    free(text);
    cJSON_Delete(caps);
}

static void test_iio_values(void **state)
{
    struct fixture *f = *state;

    check_reading(f->hal, "bme280_temp", 23.125, "C");
    check_reading(f->hal, "bme280_pressure", 101.325, "kPa");
    check_reading(f->hal, "bme280_humidityrelative", 45.5, "%");
    check_reading(f->hal, "ads1015_voltage0", 2.994, "V");         /* own scale, shared offset */
    check_reading(f->hal, "ads1015_voltage1", 0.005, "V");         /* shared scale and offset */
    check_reading(f->hal, "iio_device2_illuminance", 310.0, "lx"); /* input wins over raw */
    check_error(f->hal, "ads1015_voltage2", "/in_voltage2_raw: expected a number, got 'garbage'");
}

static void test_hwmon_values(void **state)
{
    struct fixture *f = *state;

    check_reading(f->hal, "cpu_thermal_temp1", 48.312, "C");
    check_reading(f->hal, "ina219_in0", 3.3, "V");
    check_reading(f->hal, "ina219_curr1", 0.15, "A");
    check_reading(f->hal, "ina219_power1", 0.495, "W");
    check_reading(f->hal, "ina219_fan1", 1200.0, "RPM");
    check_reading(f->hal, "cpu_thermal_temp1_2", 30.0, "C");
    check_reading(f->hal, "nvme_temp1", -5.0, "C");
    check_error(f->hal, "ina219_temp2", "/temp2_input: expected a number, got ''");
}

static void test_w1_values(void **state)
{
    struct fixture *f = *state;

    check_reading(f->hal, "28-0316a2795aff", 23.125, "C");
    check_reading(f->hal, "10-000802b4a1c2", -10.5, "C");
    check_error(f->hal, "28-00000bad0001", "/w1_slave: CRC check failed");
    check_error(f->hal, "28-000000000002", "/w1_slave: expected two lines");
    check_error(f->hal, "nope", "No such device: sensor:nope.");
}

static void test_vanished_file_is_an_errno_error(void **state)
{
    struct fixture *f = *state;
    char path[256];

    snprintf(path, sizeof(path), "%s/hwmon0/temp1_input", f->tree.hwmon);
    assert_int_equal(unlink(path), 0);
    check_error(f->hal, "cpu_thermal_temp1", "/temp1_input: No such file or directory");
}

struct result {
    int n;
    int rc;
    double value;
    char unit[16];
    int64_t ts;
    char msg[256];
    struct hal_sampler *sampler; /* freed after `stop_after` results */
    int stop_after;
};

static void on_result(void *arg, int rc, const struct hal_reading *r, const char *msg)
{
    struct result *res = arg;

    res->n++;
    res->rc = rc;
    if (rc == 0) {
        res->value = r->value;
        snprintf(res->unit, sizeof(res->unit), "%s", r->unit);
        res->ts = r->ts_us;
    } else {
        snprintf(res->msg, sizeof(res->msg), "%s", msg);
    }
    if (res->sampler != NULL && res->n == res->stop_after) {
        hal_sampler_free(res->sampler);
        res->sampler = NULL;
    }
}

static void on_deadline(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)revents;
    *(int *)t->data = 1;
    ev_break(ev, EVBREAK_ONE);
}

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

static void test_async_read_on_reader_thread(void **state)
{
    struct fixture *f = *state;
    struct result a = {0}, b = {0};
    struct hal_sensor_req *req;
    struct error err;
    int64_t t0 = time_now_us();

    assert_int_equal(hal_sensor_read(f->hal, "28-0316a2795aff", on_result, &a, &req, &err), 0);
    assert_non_null(req);
    assert_int_equal(hal_sensor_read(f->hal, "ads1015_voltage2", on_result, &b, NULL, &err), 0);
    assert_int_equal(a.n, 0); /* never inside the call */
    run_until(f->ev, &b.n, 1, 5.0);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.rc, 0);
    assert_double_equal(a.value, 23.125, 1e-9);
    assert_string_equal(a.unit, "C");
    assert_true(a.ts >= t0 && a.ts <= time_now_us());
    assert_int_equal(b.n, 1);
    assert_int_equal(b.rc, -EINVAL);
    assert_non_null(strstr(b.msg, "expected a number, got 'garbage'"));
    assert_int_equal(hal_sensor_read(f->hal, "nope", on_result, &a, &req, &err), -ENODEV);
    assert_string_equal(err.msg, "No such device: sensor:nope.");
    assert_null(req);
}

static void test_cancelled_read_never_calls_back(void **state)
{
    struct fixture *f = *state;
    struct result a = {0}, b = {0};
    struct hal_sensor_req *req;
    struct error err;

    assert_int_equal(hal_sensor_read(f->hal, "bme280_temp", on_result, &a, &req, &err), 0);
    hal_sensor_cancel(req);
    assert_int_equal(hal_sensor_read(f->hal, "bme280_temp", on_result, &b, NULL, &err), 0);
    run_until(f->ev, &b.n, 1, 5.0);
    assert_int_equal(b.n, 1);
    assert_int_equal(a.n, 0);
}

static void test_free_with_reads_in_flight(void **state)
{
    struct fixture *f = *state;
    struct result a = {0};
    struct error err;

    for (int i = 0; i < 20; i++)
        assert_int_equal(hal_sensor_read(f->hal, "nvme_temp1", on_result, &a, NULL, &err), 0);
    hal_free(f->hal); /* joins the reader, drops the requests: no callback */
    f->hal = NULL;
    ev_run(f->ev, EVRUN_NOWAIT);
    assert_int_equal(a.n, 0);
}

static void test_sim_sensors(void **state)
{
    struct fixture *f = *state;
    struct result a = {0};
    const char *unit = NULL;
    cJSON *caps = hal_caps_sensors(f->hal);
    char *text = cJSON_PrintUnformatted(caps);
    struct error err;

    assert_string_equal(text, "[{\"name\":\"temp0\",\"kind\":\"sim\",\"unit\":\"C\"},"
                              "{\"name\":\"lux0\",\"kind\":\"sim\",\"unit\":\"lx\"}]");
    free(text);
    cJSON_Delete(caps);
    check_reading(f->hal, "temp0", 21.5, "C");
    check_reading(f->hal, "lux0", 120.0, "lx");
    assert_int_equal(hal_sim_set_sensor(f->hal, "lux0", 8.25, &unit, &err), 0);
    assert_string_equal(unit, "lx");
    assert_int_equal(hal_sensor_read(f->hal, "lux0", on_result, &a, NULL, &err), 0);
    assert_int_equal(a.n, 0);
    run_until(f->ev, &a.n, 1, 2.0);
    assert_double_equal(a.value, 8.25, 0);
    assert_int_equal(hal_sim_set_sensor(f->hal, "lux1", 1, NULL, &err), -ENODEV);
    assert_string_equal(err.msg, "No such device: sensor:lux1.");
}

static void test_sampler_reads_periodically_and_stops_in_callback(void **state)
{
    struct fixture *f = *state;
    struct result a = {0};
    struct error err;

    a.stop_after = 3;
    assert_int_equal(hal_sensor_sample(f->hal, "temp0", 10, on_result, &a, &a.sampler, &err), 0);
    run_until(f->ev, &a.n, 1, 2.0);
    assert_int_equal(a.n, 1); /* the first sample comes at once */
    assert_double_equal(a.value, 21.5, 0);
    assert_int_equal(hal_sim_set_sensor(f->hal, "temp0", 30.0, NULL, &err), 0);
    run_until(f->ev, &a.n, 3, 2.0);
    assert_int_equal(a.n, 3);
    assert_double_equal(a.value, 30.0, 0);
    assert_null(a.sampler);
    {
        struct result idle = {0};

        /* Stopped: nothing more arrives. */
        run_until(f->ev, &idle.n, 1, 0.1);
        assert_int_equal(a.n, 3);
    }
    assert_int_equal(hal_sensor_sample(f->hal, "nope", 10, on_result, &a, &a.sampler, &err),
                     -ENODEV);
    assert_int_equal(hal_sensor_sample(f->hal, "temp0", 0, on_result, &a, &a.sampler, &err),
                     -EINVAL);
}

static void test_sim_sensor_config_errors(void **state)
{
    static const struct {
        const char *spec, *msg;
    } cases[] = {
        {"temp0", "[io] sim_sensors: 'temp0': expected <name>:<unit>:<value>"},
        {"temp0:C", "[io] sim_sensors: 'temp0:C': expected <name>:<unit>:<value>"},
        {"t.0:C:1", "[io] sim_sensors: 't.0': invalid sensor name"},
        {"t0::1", "[io] sim_sensors: t0: the unit must be 1 to 15 printable characters"},
        {"t0:C:warm", "[io] sim_sensors: t0: 'warm' is not a number"},
        {"t0:C:nan", "[io] sim_sensors: t0: 'nan' is not a number"},
        {"t0:C:1 t0:C:2", "[io] sim_sensors: sensor t0 is declared twice"},
    };
    struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct hal_config conf;
        struct hal *hal = NULL;
        struct error err;

        hal_config_defaults(&conf);
        conf.backend = HAL_BACKEND_SIM;
        free(conf.sim_sensors);
        conf.sim_sensors = strdup(cases[i].spec);
        assert_int_equal(hal_new(ev, &conf, &hal, &err), -EINVAL);
        assert_string_equal(err.msg, cases[i].msg);
        hal_config_clear(&conf);
    }
    ev_loop_destroy(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_discovers_sensors_in_order_with_kinds_and_units,
                                        setup_sysfs, teardown),
        cmocka_unit_test_setup_teardown(test_iio_values, setup_sysfs, teardown),
        cmocka_unit_test_setup_teardown(test_hwmon_values, setup_sysfs, teardown),
        cmocka_unit_test_setup_teardown(test_w1_values, setup_sysfs, teardown),
        cmocka_unit_test_setup_teardown(test_vanished_file_is_an_errno_error, setup_sysfs,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_async_read_on_reader_thread, setup_sysfs, teardown),
        cmocka_unit_test_setup_teardown(test_cancelled_read_never_calls_back, setup_sysfs,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_free_with_reads_in_flight, setup_sysfs, teardown),
        cmocka_unit_test_setup_teardown(test_sim_sensors, setup_sim, teardown),
        cmocka_unit_test_setup_teardown(test_sampler_reads_periodically_and_stops_in_callback,
                                        setup_sim, teardown),
        cmocka_unit_test(test_sim_sensor_config_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
