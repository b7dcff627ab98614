/* src/ctl_sim.c: see ctl_sim.h. Each op validates its arguments with the
 * HAL's shared checks, calls hal/sim.h, and shapes the reply. */
#include "src/ctl_sim.h"

#include <errno.h>
#include <stdlib.h>

#include "common/json.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "hal/caps.h"
#include "hal/sim.h"

/* One sim_watch stream and its HAL subscription; freed when the stream ends. */
struct sim_watch {
    struct ctl_stream *stream;
    struct hal_sim_watcher *watcher;
};

static void op_set_sensor(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct hal *hal = arg;
    const char *name, *unit;
    struct error err;
    double value;
    cJSON *r;

    if (hal_arg_chip(msg, "name", &name, &err) < 0 ||
        json_get_double(msg, "value", JSON_REQUIRED, &value, &err) < 0 ||
        hal_sim_set_sensor(hal, name, value, &unit, &err) < 0) {
        ctl_reply_error(req, "%s", err.msg);
        return;
    }
    r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "name", name);
    cJSON_AddNumberToObject(r, "value", value);
    cJSON_AddStringToObject(r, "unit", unit);
    ctl_reply(req, r);
}

static int line_args(const cJSON *msg, const char **chip, unsigned *line, struct error *err)
{
    int rc = hal_arg_chip(msg, "chip", chip, err);

    if (rc == 0)
        rc = hal_arg_line(msg, "line", line, err);
    return rc;
}

static const char *edge_name(enum hal_gpio_edge e)
{
    return e == HAL_GPIO_EDGE_RISING ? "rising" : e == HAL_GPIO_EDGE_FALLING ? "falling" : NULL;
}

static void op_set_line(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct hal_sim_edge edge;
    struct error err;
    const char *chip;
    unsigned line;
    int value;
    cJSON *r;

    if (line_args(msg, &chip, &line, &err) < 0 || hal_arg_level(msg, "value", &value, &err) < 0 ||
        hal_sim_set_line(arg, chip, line, value, &edge, &err) < 0) {
        ctl_reply_error(req, "%s", err.msg);
        return;
    }
    r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "chip", chip);
    json_add_int(r, "line", line);
    json_add_int(r, "value", edge.value);
    json_add_int(r, "previous", edge.previous);
    json_add_str_or_null(r, "edge", edge_name(edge.edge));
    json_add_int(r, "events", edge.events);
    ctl_reply(req, r);
}

static void op_get_line(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct hal_sim_line sl;
    struct error err;
    const char *chip;
    unsigned line;
    cJSON *r;

    if (line_args(msg, &chip, &line, &err) < 0 ||
        hal_sim_get_line(arg, chip, line, &sl, &err) < 0) {
        ctl_reply_error(req, "%s", err.msg);
        return;
    }
    r = cJSON_CreateObject();
    json_add_int(r, "value", sl.value);
    cJSON_AddStringToObject(r, "direction", sl.state == HAL_GPIO_OUTPUT ? "output" : "input");
    json_add_int(r, "writes", (int64_t)sl.writes);
    ctl_reply(req, r);
}

static void on_write(void *arg, const struct hal_sim_write *w)
{
    struct sim_watch *sw = arg;
    char ts[TIME_ISO_LEN];
    cJSON *ev = cJSON_CreateObject();

    cJSON_AddStringToObject(ev, "event", "write");
    cJSON_AddStringToObject(ev, "chip", w->chip);
    json_add_int(ev, "line", w->line);
    json_add_int(ev, "value", w->value);
    cJSON_AddStringToObject(ev, "ts", time_format(w->ts_us, TIME_Z_US, ts));
    json_add_int(ev, "writes", (int64_t)w->writes);
    (void)ctl_stream_send(sw->stream, ev); /* a slow client loses events, counted */
}

static void on_stream_end(void *arg)
{
    struct sim_watch *sw = arg;

    hal_sim_watcher_free(sw->watcher);
    free(sw);
}

static void op_watch(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct sim_watch *sw = xcalloc(1, sizeof(*sw));
    struct error err;
    cJSON *first;

    (void)msg;
    if (hal_sim_watch_writes(arg, on_write, sw, &sw->watcher, &err) < 0) {
        free(sw);
        ctl_reply_error(req, "%s", err.msg);
        return;
    }
    first = cJSON_CreateObject();
    cJSON_AddStringToObject(first, "watching", "writes");
    sw->stream = ctl_stream_start(req, first, on_stream_end, sw);
    if (sw->stream == NULL)
        on_stream_end(sw);
}

static const struct {
    const char *name;
    ctl_op_fn fn;
} sim_ops[] = {
    {"sim_set_sensor", op_set_sensor},
    {"sim_set_line", op_set_line},
    {"sim_get_line", op_get_line},
    {"sim_watch", op_watch},
};

int ctl_sim_register(struct ctl *ctl, struct hal *hal)
{
    for (size_t i = 0; i < sizeof(sim_ops) / sizeof(sim_ops[0]); i++) {
        int rc = ctl_register(ctl, sim_ops[i].name, sim_ops[i].fn, hal);

        if (rc < 0)
            return rc;
    }
    return 0;
}
