/* tests/tools/haltest: a small daemon hosting the HAL, the control socket
 * and IO sockets on a real loop, for integration tests and for trying an IO
 * socket from inside a container.
 *
 *   haltest --run-dir DIR [--config-file F] [--backend auto|sim|libgpiod]
 *           [--sim-chips SPEC] [--sim-sensors SPEC] [--max-ops N]
 *           [--dev-dir D] [--iio-dir D] [--hwmon-dir D] [--w1-dir D]
 *           [--iosock DIR=SPEC[,SPEC...][@UID:GID]]... [--watch CHIP:LINE]...
 *           [--log-level LEVEL]
 *   haltest cli [--control-socket PATH] [--json] sim ...|status
 *
 * It serves <run-dir>/control.sock with the sim_* ops, a "status" op, and
 * test ops (haltest_*) to create and free IO sockets, read their
 * first_write_at, call the GpioRead/GpioWrite/SensorRead helpers, watch
 * edges and sample sensors, and collect what those saw. SIGTERM or SIGINT
 * stops it cleanly (everything freed: run it under ASan to check). The
 * `cli` form runs the agent's `sim`/`status` command code (lrc_cli_sim)
 * until the agent's main exists to carry it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cfg.h"
#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "hal/caps.h"
#include "hal/gpio.h"
#include "hal/hal.h"
#include "hal/sensor.h"
#include "loop/loop.h"
#include "src/ctl.h"
#include "src/ctl_client.h"
#include "src/ctl_sim.h"
#include "src/iosock.h"

#define EVENTS_MAX 10000

struct hio {
    char *dir;
    struct iosock *io;
    struct hio *next;
};

struct hwatch {
    struct haltest *t;
    struct hal_gpio_watch *w;
    struct hal_sampler *s;
    struct hwatch *next;
};

/* The process's one context, made in main. */
struct haltest {
    struct loop *loop;
    struct hal *hal;
    struct ctl *ctl;
    struct hio *ios;
    struct hwatch *watches;
    cJSON *events; /* what watches and samplers saw, until collected */
};

struct args {
    const char *run_dir;
    const char *iosocks[64];
    int niosocks;
    const char *watches[64];
    int nwatches;
    const char *log_level;
};

/* ------------------------------------------------------------ events */

static void record(struct haltest *t, cJSON *ev)
{
    if (cJSON_GetArraySize(t->events) >= EVENTS_MAX) {
        cJSON_Delete(ev);
        return;
    }
    cJSON_AddItemToArray(t->events, ev);
}

static void on_edge(void *arg, const struct hal_gpio_event *e)
{
    struct hwatch *hw = arg;
    char ts[TIME_ISO_LEN];
    cJSON *ev = cJSON_CreateObject();

    cJSON_AddStringToObject(ev, "chip", e->chip);
    json_add_int(ev, "line", e->line);
    cJSON_AddStringToObject(ev, "edge", e->edge == HAL_GPIO_EDGE_RISING ? "rising" : "falling");
    json_add_int(ev, "value", e->value);
    cJSON_AddStringToObject(ev, "ts", time_format(e->ts_us, TIME_Z_US, ts));
    json_add_int(ev, "ts_us", e->ts_us);
    cJSON_AddBoolToObject(ev, "polled", e->polled);
    record(hw->t, ev);
}

static void on_sample(void *arg, int rc, const struct hal_reading *r, const char *msg)
{
    struct hwatch *hw = arg;
    char ts[TIME_ISO_LEN];
    cJSON *ev = cJSON_CreateObject();

    if (rc < 0) {
        cJSON_AddStringToObject(ev, "error", msg);
    } else {
        cJSON_AddNumberToObject(ev, "value", r->value);
        cJSON_AddStringToObject(ev, "unit", r->unit);
        cJSON_AddStringToObject(ev, "ts", time_format(r->ts_us, TIME_Z_US, ts));
    }
    record(hw->t, ev);
}

static struct hwatch *add_hwatch(struct haltest *t)
{
    struct hwatch *hw = xcalloc(1, sizeof(*hw));

    hw->t = t;
    hw->next = t->watches;
    t->watches = hw;
    return hw;
}

static int parse_edge(const char *s, enum hal_gpio_edge *out)
{
    static const struct {
        const char *name;
        enum hal_gpio_edge edge;
    } edges[] = {{"rising", HAL_GPIO_EDGE_RISING},
                 {"falling", HAL_GPIO_EDGE_FALLING},
                 {"both", HAL_GPIO_EDGE_BOTH},
                 {"none", HAL_GPIO_EDGE_NONE}};

    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
        if (strcmp(s, edges[i].name) == 0) {
            *out = edges[i].edge;
            return 0;
        }
    }
    return -EINVAL;
}

static int watch_line(struct haltest *t, const char *chip, unsigned line, enum hal_gpio_edge edge,
                      unsigned poll_ms, struct error *err)
{
    struct hwatch *hw = add_hwatch(t);
    int rc = hal_gpio_watch(t->hal, chip, line, edge, poll_ms, on_edge, hw, &hw->w, err);

    if (rc < 0) {
        t->watches = hw->next;
        free(hw);
    }
    return rc;
}

/* --------------------------------------------------------- IO sockets */

static struct hio *find_io(struct haltest *t, const char *dir)
{
    for (struct hio *h = t->ios; h != NULL; h = h->next)
        if (strcmp(h->dir, dir) == 0)
            return h;
    return NULL;
}

static int add_io(struct haltest *t, const char *dir, const char *const *specs, size_t n, uid_t uid,
                  gid_t gid, int64_t rate, struct error *err)
{
    struct iosock_opts o = {rate};
    struct iosock *io = NULL;
    struct hio *h;
    int rc;

    if (find_io(t, dir) != NULL)
        return error_set(err, -EEXIST, "an IO socket already serves %s", dir);
    rc = iosock_new(t->loop, t->hal, dir, uid, gid, specs, n, &o, &io, err);
    if (rc < 0)
        return rc;
    h = xcalloc(1, sizeof(*h));
    h->dir = xstrdup(dir);
    h->io = io;
    h->next = t->ios;
    t->ios = h;
    log_info("IO socket %s for %zu device(s)", iosock_path(io), n);
    return 0;
}

static cJSON *io_info(const struct hio *h)
{
    struct iosock_stats st;
    char ts[TIME_ISO_LEN];
    int64_t fw = iosock_first_write_at(h->io);
    cJSON *o = cJSON_CreateObject();

    iosock_get_stats(h->io, &st);
    cJSON_AddStringToObject(o, "dir", h->dir);
    cJSON_AddStringToObject(o, "path", iosock_path(h->io));
    json_add_int(o, "connections", iosock_connections(h->io));
    json_add_str_or_null(o, "first_write_at", fw ? time_format(fw, TIME_Z_US, ts) : NULL);
    json_add_int(o, "ops", (int64_t)st.ops);
    json_add_int(o, "errors", (int64_t)st.errors);
    json_add_int(o, "rate_limited", (int64_t)st.rate_limited);
    return o;
}

static void free_io(struct haltest *t, struct hio *h)
{
    struct hio **pp = &t->ios;

    while (*pp != h)
        pp = &(*pp)->next;
    *pp = h->next;
    iosock_free(h->io);
    free(h->dir);
    free(h);
}

/* ------------------------------------------------------ control ops */

static void op_status(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct haltest *t = arg;
    cJSON *r = cJSON_CreateObject(), *ios;

    (void)msg;
    cJSON_AddStringToObject(r, "state", "haltest");
    cJSON_AddStringToObject(r, "backend", hal_backend_name(t->hal));
    json_add_int(r, "chips", (int64_t)hal_gpio_chip_count(t->hal));
    json_add_int(r, "sensors", (int64_t)hal_sensor_count(t->hal));
    ios = cJSON_AddArrayToObject(r, "iosocks");
    for (struct hio *h = t->ios; h != NULL; h = h->next)
        cJSON_AddItemToArray(ios, io_info(h));
    ctl_reply(req, r);
}

static int specs_of(const cJSON *arr, const char **specs, size_t *n, struct error *err)
{
    const cJSON *item;

    *n = 0;
    if (!cJSON_IsArray(arr))
        return error_set(err, -EINVAL, "devices must be an array of strings");
    cJSON_ArrayForEach(item, arr)
    {
        if (!cJSON_IsString(item))
            return error_set(err, -EINVAL, "devices must be an array of strings");
        if (*n == 64)
            return error_set(err, -EINVAL, "too many devices");
        specs[(*n)++] = item->valuestring;
    }
    return 0;
}

static void op_iosock_new(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct haltest *t = arg;
    const char *dir, *specs[64];
    int64_t uid = -1, gid = -1, rate = 0;
    struct error err;
    size_t n;

    error_clear(&err);
    if (json_get_str(msg, "dir", JSON_REQUIRED, 200, &dir, &err) < 0 ||
        specs_of(cJSON_GetObjectItemCaseSensitive(msg, "devices"), specs, &n, &err) < 0 ||
        json_get_int(msg, "uid", JSON_OPTIONAL, -1, 65535, &uid, &err) == -EINVAL ||
        json_get_int(msg, "gid", JSON_OPTIONAL, -1, 65535, &gid, &err) == -EINVAL ||
        json_get_int(msg, "max_ops_per_second", JSON_OPTIONAL, 0, 1000000, &rate, &err) ==
            -EINVAL ||
        add_io(t, dir, specs, n, (uid_t)uid, (gid_t)gid, rate, &err) < 0) {
        ctl_reply_error(req, "%s", err.msg);
        return;
    }
    ctl_reply(req, io_info(find_io(t, dir)));
}

static void op_iosock_info(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct haltest *t = arg;
    const char *dir;
    struct error err;
    struct hio *h = NULL;
    int free_it = strcmp(cJSON_GetObjectItemCaseSensitive(msg, "op")->valuestring,
                         "haltest_iosock_free") == 0;

    if (json_get_str(msg, "dir", JSON_REQUIRED, 200, &dir, &err) < 0) {
        ctl_reply_error(req, "%s", err.msg);
        return;
    }
    h = find_io(t, dir);
    if (h == NULL) {
        ctl_reply_error(req, "No IO socket serves %s.", dir);
        return;
    }
    ctl_reply(req, io_info(h));
    if (free_it)
        free_io(t, h);
}

static void op_caps(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct haltest *t = arg;
    cJSON *r = cJSON_CreateObject();

    (void)msg;
    hal_caps_fill(t->hal, r);
    cJSON_AddBoolToObject(r, "io_socket", 1);
    ctl_reply(req, r);
}

static cJSON *wamp_result(const char *result, cJSON *message)
{
    cJSON *r = cJSON_CreateObject();

    cJSON_AddStringToObject(r, "result", result);
    cJSON_AddItemToObject(r, "message", message);
    return r;
}

static void rpc_done(void *arg, cJSON *reply, const char *error)
{
    struct ctl_req *req = arg;

    if (reply != NULL)
        ctl_reply(req, wamp_result("SUCCESS", reply));
    else
        ctl_reply(req, wamp_result("ERROR", cJSON_CreateString(error)));
}

/* {"method": "GpioRead" | "GpioWrite" | "SensorRead", "parameters": {...}},
 * answered as the board procedure's WampMessage would be. */
static void op_rpc(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct haltest *t = arg;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "parameters");
    const char *method = "";
    cJSON *reply = NULL;
    struct error err;
    int rc;

    error_clear(&err);
    if (json_get_str(msg, "method", JSON_REQUIRED, 32, &method, &err) < 0) {
        ctl_reply_error(req, "%s", err.msg);
        return;
    }
    if (strcmp(method, "SensorRead") == 0) {
        if (hal_rpc_sensor_read(t->hal, params, rpc_done, req, NULL, &err) < 0)
            rpc_done(req, NULL, err.msg);
        return;
    }
    if (strcmp(method, "GpioRead") == 0)
        rc = hal_rpc_gpio_read(t->hal, params, &reply, &err);
    else if (strcmp(method, "GpioWrite") == 0)
        rc = hal_rpc_gpio_write(t->hal, params, &reply, &err);
    else
        rc = error_set(&err, -ENOSYS, "Method %s is not available on this board.", method);
    rpc_done(req, rc == 0 ? reply : NULL, err.msg);
}

static void op_watch(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct haltest *t = arg;
    const char *chip, *edge_s = "both";
    enum hal_gpio_edge edge;
    int64_t line, poll_ms = 0;
    struct error err;

    error_clear(&err);
    if (json_get_str(msg, "chip", JSON_REQUIRED, 32, &chip, &err) < 0 ||
        json_get_int(msg, "line", JSON_REQUIRED, 0, 65535, &line, &err) < 0 ||
        json_get_str(msg, "edge", JSON_OPTIONAL, 16, &edge_s, &err) == -EINVAL ||
        json_get_int(msg, "poll_ms", JSON_OPTIONAL, 0, 60000, &poll_ms, &err) == -EINVAL) {
        ctl_reply_error(req, "%s", err.msg);
        return;
    }
    if (parse_edge(edge_s, &edge) < 0) {
        ctl_reply_error(req, "edge must be rising, falling, both or none");
        return;
    }
    if (watch_line(t, chip, (unsigned)line, edge, (unsigned)poll_ms, &err) < 0) {
        ctl_reply_error(req, "%s", err.msg);
        return;
    }
    ctl_reply(req, NULL);
}

static void op_sample(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct haltest *t = arg;
    struct hwatch *hw;
    const char *name;
    int64_t interval;
    struct error err;

    if (json_get_str(msg, "name", JSON_REQUIRED, 32, &name, &err) < 0 ||
        json_get_int(msg, "interval_ms", JSON_REQUIRED, 1, 3600000, &interval, &err) < 0) {
        ctl_reply_error(req, "%s", err.msg);
        return;
    }
    hw = add_hwatch(t);
    if (hal_sensor_sample(t->hal, name, (unsigned)interval, on_sample, hw, &hw->s, &err) < 0) {
        t->watches = hw->next;
        free(hw);
        ctl_reply_error(req, "%s", err.msg);
        return;
    }
    ctl_reply(req, NULL);
}

static void op_events(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct haltest *t = arg;
    cJSON *r = cJSON_CreateObject();

    (void)msg;
    cJSON_AddItemToObject(r, "events", t->events);
    t->events = cJSON_CreateArray();
    ctl_reply(req, r);
}

static const struct {
    const char *name;
    ctl_op_fn fn;
} test_ops[] = {
    {"status", op_status},
    {"haltest_iosock_new", op_iosock_new},
    {"haltest_iosock_info", op_iosock_info},
    {"haltest_iosock_free", op_iosock_info},
    {"haltest_caps", op_caps},
    {"haltest_rpc", op_rpc},
    {"haltest_watch", op_watch},
    {"haltest_sample", op_sample},
    {"haltest_events", op_events},
};

/* --------------------------------------------------------------- main */

/* "DIR=SPEC,SPEC[@UID:GID]" from the command line. */
static int iosock_from_arg(struct haltest *t, const char *arg, struct error *err)
{
    char *copy = xstrdup(arg), *eq = strchr(copy, '='), *at, *save = NULL, *tok;
    const char *specs[64];
    unsigned uid = (unsigned)-1, gid = (unsigned)-1;
    size_t n = 0;
    int rc;

    if (eq == NULL) {
        free(copy);
        return error_set(err, -EINVAL, "--iosock %s: expected DIR=SPEC[,SPEC...]", arg);
    }
    *eq++ = '\0';
    at = strrchr(eq, '@');
    if (at != NULL) {
        *at++ = '\0';
        if (sscanf(at, "%u:%u", &uid, &gid) != 2) {
            free(copy);
            return error_set(err, -EINVAL, "--iosock %s: expected @UID:GID", arg);
        }
    }
    for (tok = strtok_r(eq, ",", &save); tok != NULL && n < 64; tok = strtok_r(NULL, ",", &save))
        specs[n++] = tok;
    mkdir(copy, 0755);
    rc = add_io(t, copy, specs, n, (uid_t)uid, (gid_t)gid, 0, err);
    free(copy);
    return rc;
}

static int watch_from_arg(struct haltest *t, const char *arg, struct error *err)
{
    char chip[40];
    unsigned line;

    if (sscanf(arg, "%32[A-Za-z0-9_-]:%u", chip, &line) != 2)
        return error_set(err, -EINVAL, "--watch %s: expected CHIP:LINE", arg);
    return watch_line(t, chip, line, HAL_GPIO_EDGE_BOTH, 0, err);
}

static int parse_count(const char *s, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 1000000)
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, struct args *a, struct hal_config *conf,
                      struct error *err)
{
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        char **field = NULL;

        if (val == NULL)
            return error_set(err, -EINVAL, "%s needs a value", opt);
        i++;
        if (strcmp(opt, "--run-dir") == 0)
            a->run_dir = val;
        else if (strcmp(opt, "--log-level") == 0)
            a->log_level = val;
        else if (strcmp(opt, "--iosock") == 0 && a->niosocks < 64)
            a->iosocks[a->niosocks++] = val;
        else if (strcmp(opt, "--watch") == 0 && a->nwatches < 64)
            a->watches[a->nwatches++] = val;
        else if (strcmp(opt, "--backend") == 0)
            conf->backend = strcmp(val, "sim") == 0        ? HAL_BACKEND_SIM
                            : strcmp(val, "libgpiod") == 0 ? HAL_BACKEND_LIBGPIOD
                                                           : HAL_BACKEND_AUTO;
        else if (strcmp(opt, "--max-ops") == 0 && parse_count(val, &conf->max_ops_per_second) < 0)
            return error_set(err, -EINVAL, "--max-ops %s: expected 1..1000000", val);
        else if (strcmp(opt, "--dev-dir") == 0)
            conf->dev_dir = val;
        else if (strcmp(opt, "--iio-dir") == 0)
            conf->iio_dir = val;
        else if (strcmp(opt, "--hwmon-dir") == 0)
            conf->hwmon_dir = val;
        else if (strcmp(opt, "--w1-dir") == 0)
            conf->w1_dir = val;
        else if (strcmp(opt, "--sim-chips") == 0)
            field = &conf->sim_chips;
        else if (strcmp(opt, "--sim-sensors") == 0)
            field = &conf->sim_sensors;
        else
            return error_set(err, -EINVAL, "unknown option %s", opt);
        if (field != NULL) {
            free(*field);
            *field = xstrdup(val);
        }
    }
    if (a->run_dir == NULL)
        return error_set(err, -EINVAL, "--run-dir is required");
    return 0;
}

static int load_config(int *argc, char **argv, struct hal_config *conf, struct error *err)
{
    struct cfg *c = cfg_new();
    struct cfg_table t = hal_cfg_table(conf);
    int rc = cfg_load_args(c, argc, argv, NULL, err);

    memset(conf, 0, sizeof(*conf));
    if (rc == 0)
        rc = cfg_bind(c, &t, 1, err);
    cfg_free(c);
    return rc;
}

static int start(struct haltest *t, const struct args *a, const struct hal_config *conf,
                 struct error *err)
{
    struct loop_opts lo = {"haltest", 0, 0, 1};
    char *path = xasprintf("%s/%s", a->run_dir, CTL_SOCKET_NAME);
    int rc = loop_new(&lo, &t->loop, err);

    t->events = cJSON_CreateArray();
    if (rc == 0)
        rc = hal_new(loop_ev(t->loop), conf, &t->hal, err);
    /* The control socket comes last: once it exists, everything is ready. */
    for (int i = 0; rc == 0 && i < a->niosocks; i++)
        rc = iosock_from_arg(t, a->iosocks[i], err);
    for (int i = 0; rc == 0 && i < a->nwatches; i++)
        rc = watch_from_arg(t, a->watches[i], err);
    if (rc == 0)
        rc = ctl_new(t->loop, path, &t->ctl, err);
    if (rc == 0)
        rc = ctl_sim_register(t->ctl, t->hal);
    for (size_t i = 0; rc == 0 && i < sizeof(test_ops) / sizeof(test_ops[0]); i++)
        rc = ctl_register(t->ctl, test_ops[i].name, test_ops[i].fn, t);
    if (rc == 0)
        printf("haltest: ready %s\n", path);
    fflush(stdout);
    free(path);
    return rc;
}

static void stop(struct haltest *t)
{
    while (t->ios != NULL)
        free_io(t, t->ios);
    while (t->watches != NULL) {
        struct hwatch *hw = t->watches;

        t->watches = hw->next;
        hal_gpio_watch_free(hw->w);
        hal_sampler_free(hw->s);
        free(hw);
    }
    ctl_free(t->ctl); /* before the HAL: sim_watch streams unsubscribe */
    hal_free(t->hal);
    loop_free(t->loop);
    cJSON_Delete(t->events);
}

int main(int argc, char **argv)
{
    struct args a = {0};
    struct hal_config conf;
    struct haltest t = {0};
    struct error err;
    enum log_level level = LOG_INFO;
    int rc;

    xalloc_init();
    if (argc > 1 && strcmp(argv[1], "cli") == 0)
        return lrc_cli_sim(argc - 2, argv + 2);
    log_init("haltest", LOG_INFO);
    error_clear(&err);
    rc = load_config(&argc, argv, &conf, &err);
    if (rc == 0)
        rc = parse_args(argc, argv, &a, &conf, &err);
    if (rc == 0 && a.log_level != NULL && log_level_parse(a.log_level, &level) == 0)
        log_set_level(level);
    if (rc == 0)
        rc = start(&t, &a, &conf, &err);
    if (rc == 0)
        loop_run(t.loop);
    else
        fprintf(stderr, "haltest: %s\n", error_str(&err));
    stop(&t);
    hal_config_clear(&conf);
    return rc == 0 ? 0 : 1;
}
