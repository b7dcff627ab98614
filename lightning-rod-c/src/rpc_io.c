/* src/rpc_io.c: GpioRead, GpioWrite and SensorRead (board-protocol.md 6.5).
 *
 * The HAL's procedure helpers (hal/caps.h) validate `parameters` and speak
 * the contract's words ("missing chip", "No such device: <spec>.", "Line
 * busy: <chip>:<line>."); this module only wraps their answers in
 * WampMessages. Sensor reads are asynchronous: a 1-wire thermometer takes
 * most of a second, which the loop never waits for. */
#include "src/rpc.h"

#include "hal/caps.h"

static void gpio_read(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    const cJSON *params;
    cJSON *reply = NULL;
    struct error err;

    if (lrc_arg_params(args, &params, &err) < 0 ||
        hal_rpc_gpio_read(a->hal, params, &reply, &err) < 0) {
        lrc_call_error(c, err.msg);
        return;
    }
    lrc_call_reply(c, WAMP_RESULT_SUCCESS, reply);
}

static void gpio_write(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    const cJSON *params;
    cJSON *reply = NULL;
    struct error err;

    if (lrc_arg_params(args, &params, &err) < 0 ||
        hal_rpc_gpio_write(a->hal, params, &reply, &err) < 0) {
        lrc_call_error(c, err.msg);
        return;
    }
    lrc_call_reply(c, WAMP_RESULT_SUCCESS, reply);
}

static void sensor_done(void *arg, cJSON *reply, const char *error)
{
    struct lrc_call *c = arg;

    if (reply == NULL)
        lrc_call_error(c, error);
    else
        lrc_call_reply(c, WAMP_RESULT_SUCCESS, reply); /* ours now (hal/caps.c) */
}

static void sensor_read(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    const cJSON *params;
    struct error err;

    if (lrc_arg_params(args, &params, &err) < 0 ||
        hal_rpc_sensor_read(a->hal, params, sensor_done, c, NULL, &err) < 0)
        lrc_call_error(c, err.msg);
}

const struct lrc_rpc_method lrc_rpc_io[] = {
    {"GpioRead", gpio_read},
    {"GpioWrite", gpio_write},
    {"SensorRead", sensor_read},
    {NULL, NULL},
};
