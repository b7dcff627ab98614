/* src/iosock.c: see iosock.h.
 *
 * Each request goes: parse and validate (pure: iosock_parse), then the rate
 * limit, then the declared-device check, then the HAL. Only a sensor read is
 * asynchronous (sensor.h says why); its connection pauses until the result
 * is sent, which keeps replies in request order. The rate limit is a token
 * bucket of max_ops_per_second tokens refilled continuously, shared by the
 * container's connections, so a burst of that size passes and the long-run
 * rate is bounded. */
#include "src/iosock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "hal/caps.h"
#include "hal/devspec.h"
#include "hal/gpio.h"
#include "hal/sensor.h"
#include "src/linesock.h"

#define BUSY_LINE                                                                                  \
    "{\"id\":null,\"ok\":false,\"error\":\"unavailable\",\"message\":\"Too many connections: "     \
    "at most 4 per container.\"}\n"

struct iosock {
    struct hal *hal;
    struct linesock *ls;
    char *path;
    char **specs; /* as declared: the "devices" reply */
    struct hal_devspec *devs;
    size_t n;
    struct hal_gpio_watch **holds; /* one per `in` line */
    size_t nholds;
    int64_t rate;
    double tokens;
    int64_t refilled_us;
    int64_t first_write_at;
    struct iosock_stats st;
};

/* One connection; freed by linesock's on_close. */
struct ioconn {
    struct iosock *s;
    struct linesock_conn *c;
    struct hal_sensor_req *req; /* a sensor read in flight */
    cJSON *id;                  /* its request id */
};

/* ------------------------------------------------------------- parsing */

static const struct {
    const char *name;
    enum iosock_op op;
} op_table[] = {
    {"devices", IOSOCK_OP_DEVICES},
    {"gpio_read", IOSOCK_OP_GPIO_READ},
    {"gpio_write", IOSOCK_OP_GPIO_WRITE},
    {"sensor_read", IOSOCK_OP_SENSOR_READ},
};

static int take_name(const cJSON *o, const char *key, char out[HAL_NAME_MAX + 1], struct error *err)
{
    const char *s;
    int rc = json_get_str(o, key, JSON_REQUIRED, HAL_NAME_MAX, &s, err);

    if (rc < 0)
        return -EINVAL;
    if (!hal_name_valid(s))
        return error_set(err, -EINVAL, "%s must be 1 to 32 characters from A-Z a-z 0-9 _ -", key);
    snprintf(out, HAL_NAME_MAX + 1, "%s", s);
    return 0;
}

static int parse_args(const cJSON *o, struct iosock_req *req, struct error *err)
{
    int rc = 0;

    switch (req->op) {
    case IOSOCK_OP_DEVICES:
        return 0;
    case IOSOCK_OP_SENSOR_READ:
        return take_name(o, "name", req->name, err);
    case IOSOCK_OP_GPIO_READ:
    case IOSOCK_OP_GPIO_WRITE:
        rc = take_name(o, "chip", req->name, err);
        if (rc == 0 && hal_arg_line(o, "line", &req->line, err) < 0)
            rc = -EINVAL;
        if (rc == 0 && req->op == IOSOCK_OP_GPIO_WRITE &&
            hal_arg_level(o, "value", &req->value, err) < 0)
            rc = -EINVAL;
        return rc;
    }
    return -EINVAL;
}

static int parse_op(const cJSON *o, struct iosock_req *req, struct error *err)
{
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(o, "op");

    if (op == NULL)
        return error_set(err, -EINVAL, "missing op");
    if (!cJSON_IsString(op))
        return error_set(err, -EINVAL, "op must be a string");
    for (size_t i = 0; i < sizeof(op_table) / sizeof(op_table[0]); i++) {
        if (strcmp(op_table[i].name, op->valuestring) == 0) {
            req->op = op_table[i].op;
            return 0;
        }
    }
    return error_set(err, -EOPNOTSUPP, "Unknown op %.64s.", op->valuestring);
}

int iosock_parse(const char *line, size_t len, struct iosock_req *req, struct error *err)
{
    struct error jerr;
    cJSON *o = NULL;
    const cJSON *id;
    int rc;

    memset(req, 0, sizeof(*req));
    if (len > IOSOCK_MAX_LINE)
        return error_set(err, -EINVAL, "Request line longer than %d bytes.", IOSOCK_MAX_LINE);
    if (!linesock_utf8_valid(line, len))
        return error_set(err, -EINVAL, "The request is not valid UTF-8.");
    if (json_parse(line, len, &o, &jerr) < 0)
        return error_set(err, -EINVAL, "The request is not valid JSON: %s.", jerr.msg);
    rc = -EINVAL;
    if (!cJSON_IsObject(o)) {
        error_set(err, rc, "The request must be a JSON object.");
        goto out;
    }
    id = cJSON_GetObjectItemCaseSensitive(o, "id");
    if (id != NULL && (cJSON_IsObject(id) || cJSON_IsArray(id))) {
        error_set(err, rc, "id must be a JSON scalar.");
        goto out;
    }
    if (id != NULL)
        req->id = json_dup_or_object(id);
    rc = parse_op(o, req, err);
    if (rc == 0)
        rc = parse_args(o, req, err);
out:
    cJSON_Delete(o);
    return rc;
}

void iosock_req_clear(struct iosock_req *req)
{
    cJSON_Delete(req->id);
    req->id = NULL;
}

const char *iosock_parse_code(int rc)
{
    return rc == -EOPNOTSUPP ? "unknown_op" : "bad_request";
}

/* ------------------------------------------------------------- replies */

static cJSON *reply_new(const cJSON *id, int ok)
{
    cJSON *r = cJSON_CreateObject();

    cJSON_AddItemToObject(r, "id", id != NULL ? json_dup_or_object(id) : cJSON_CreateNull());
    cJSON_AddBoolToObject(r, "ok", ok);
    return r;
}

static void send_reply(struct ioconn *ic, cJSON *r)
{
    if (linesock_send_json(ic->c, r) < 0)
        log_warn("%s: a reply could not be queued", ic->s->path);
    cJSON_Delete(r);
}

static void send_error(struct ioconn *ic, const cJSON *id, const char *code, const char *msg)
{
    cJSON *r = reply_new(id, 0);

    cJSON_AddStringToObject(r, "error", code);
    cJSON_AddStringToObject(r, "message", msg);
    ic->s->st.errors++;
    send_reply(ic, r);
}

static void add_ts(cJSON *r, int64_t ts)
{
    char buf[TIME_ISO_LEN];

    cJSON_AddStringToObject(r, "ts", time_format(ts, TIME_Z_US, buf));
}

/* ----------------------------------------------------------- execution */

static int take_token(struct iosock *s)
{
    int64_t now = time_mono_us();

    s->tokens += (double)(now - s->refilled_us) * (double)s->rate / 1e6;
    if (s->tokens > (double)s->rate)
        s->tokens = (double)s->rate;
    s->refilled_us = now;
    if (s->tokens < 1.0)
        return 0;
    s->tokens -= 1.0;
    return 1;
}

/* The declared spec for the request's device, or NULL. */
static const struct hal_devspec *declared(const struct iosock *s, const struct iosock_req *req)
{
    enum hal_dev_kind kind = req->op == IOSOCK_OP_SENSOR_READ ? HAL_DEV_SENSOR : HAL_DEV_GPIO;

    for (size_t i = 0; i < s->n; i++) {
        const struct hal_devspec *d = &s->devs[i];

        if (d->kind == kind && strcmp(d->name, req->name) == 0 &&
            (kind == HAL_DEV_SENSOR || d->line == req->line))
            return d;
    }
    return NULL;
}

static int check_allowed(const struct iosock *s, const struct iosock_req *req, struct error *err)
{
    const struct hal_devspec *d;

    if (req->op == IOSOCK_OP_DEVICES)
        return 0;
    d = declared(s, req);
    if (d == NULL && req->op == IOSOCK_OP_SENSOR_READ)
        return error_set(err, -EACCES, "sensor:%s is not declared.", req->name);
    if (d == NULL)
        return error_set(err, -EACCES, "gpio:%s:%u is not declared.", req->name, req->line);
    if (req->op == IOSOCK_OP_GPIO_WRITE && d->dir != HAL_DIR_OUT)
        return error_set(err, -EACCES, "gpio:%s:%u is declared in, not out.", req->name, req->line);
    return 0;
}

static void on_sensor(void *arg, int rc, const struct hal_reading *r, const char *msg)
{
    struct ioconn *ic = arg;
    cJSON *reply;

    ic->req = NULL;
    if (rc < 0) {
        send_error(ic, ic->id, "unavailable", msg);
    } else {
        reply = reply_new(ic->id, 1);
        cJSON_AddNumberToObject(reply, "value", r->value);
        cJSON_AddStringToObject(reply, "unit", r->unit);
        add_ts(reply, r->ts_us);
        ic->s->st.ops++;
        send_reply(ic, reply);
    }
    cJSON_Delete(ic->id);
    ic->id = NULL;
    linesock_resume(ic->c);
}

static cJSON *do_devices(struct iosock *s, const struct iosock_req *req)
{
    cJSON *reply = reply_new(req->id, 1);
    cJSON *arr = cJSON_AddArrayToObject(reply, "devices");

    for (size_t i = 0; i < s->n; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(s->specs[i]));
    return reply;
}

static cJSON *do_gpio(struct iosock *s, const struct iosock_req *req, struct error *err)
{
    cJSON *reply;
    int64_t ts;
    int v = req->value;
    int rc = req->op == IOSOCK_OP_GPIO_READ
                 ? hal_gpio_read(s->hal, req->name, req->line, &v, &ts, err)
                 : hal_gpio_write(s->hal, req->name, req->line, v, &ts, err);

    if (rc < 0)
        return NULL;
    reply = reply_new(req->id, 1);
    if (req->op == IOSOCK_OP_GPIO_READ)
        json_add_int(reply, "value", v);
    else if (s->first_write_at == 0)
        s->first_write_at = ts;
    add_ts(reply, ts);
    return reply;
}

/* Runs a valid request; returns LINESOCK_PAUSE while a reply is pending. */
static int execute(struct ioconn *ic, struct iosock_req *req)
{
    struct iosock *s = ic->s;
    struct error err;
    cJSON *reply = NULL;

    error_clear(&err);
    if (!take_token(s)) {
        char msg[96];

        s->st.rate_limited++;
        snprintf(msg, sizeof(msg), "More than %lld operations per second.", (long long)s->rate);
        send_error(ic, req->id, "rate_limited", msg);
        return 0;
    }
    if (check_allowed(s, req, &err) < 0) {
        send_error(ic, req->id, "denied", err.msg);
        return 0;
    }
    if (req->op == IOSOCK_OP_SENSOR_READ) {
        if (hal_sensor_read(s->hal, req->name, on_sensor, ic, &ic->req, &err) < 0) {
            send_error(ic, req->id, "unavailable", err.msg);
            return 0;
        }
        ic->id = req->id; /* the reply echoes it later */
        req->id = NULL;
        return LINESOCK_PAUSE;
    }
    reply = req->op == IOSOCK_OP_DEVICES ? do_devices(s, req) : do_gpio(s, req, &err);
    if (reply == NULL) {
        send_error(ic, req->id, "unavailable", error_str(&err));
        return 0;
    }
    s->st.ops++;
    send_reply(ic, reply);
    return 0;
}

static int on_line(struct linesock_conn *c, char *line, size_t len, void *arg)
{
    struct ioconn *ic = linesock_data(c);
    struct iosock_req req;
    struct error err;
    int rc;

    (void)arg;
    error_clear(&err);
    rc = iosock_parse(line, len, &req, &err);
    if (rc < 0) {
        send_error(ic, req.id, iosock_parse_code(rc), err.msg);
        if (rc != -EOPNOTSUPP)
            linesock_close_after_flush(c); /* bad_request ends the connection */
        iosock_req_clear(&req);
        return 0;
    }
    rc = execute(ic, &req);
    iosock_req_clear(&req);
    return rc;
}

static void on_overflow(struct linesock_conn *c, void *arg)
{
    struct ioconn *ic = linesock_data(c);
    char msg[64];

    (void)arg;
    snprintf(msg, sizeof(msg), "Request line longer than %d bytes.", IOSOCK_MAX_LINE);
    send_error(ic, NULL, "bad_request", msg);
    linesock_close_after_flush(c);
}

static void on_open(struct linesock_conn *c, void *arg)
{
    struct ioconn *ic = xcalloc(1, sizeof(*ic));

    ic->s = arg;
    ic->c = c;
    ic->s->st.connections++;
    linesock_set_data(c, ic);
}

static void on_close(struct linesock_conn *c, void *arg)
{
    struct ioconn *ic = linesock_data(c);

    (void)arg;
    hal_sensor_cancel(ic->req);
    cJSON_Delete(ic->id);
    free(ic);
}

static const struct linesock_ops io_ops = {on_open, on_line, on_overflow, on_close};

/* ------------------------------------------------------------ lifetime */

static int check_devices(struct iosock *s, struct error *err)
{
    char dev[HAL_DEVSPEC_MAX];

    for (size_t i = 0; i < s->n; i++) {
        const struct hal_devspec *d = &s->devs[i];
        int have = d->kind == HAL_DEV_SENSOR ? hal_sensor_exists(s->hal, d->name)
                                             : hal_gpio_has_line(s->hal, d->name, d->line);

        if (!have)
            return error_set(err, -ENODEV, "No such device: %s.", hal_devspec_device(d, dev));
    }
    return 0;
}

static int hold_inputs(struct iosock *s, struct error *err)
{
    s->holds = xcalloc(s->n > 0 ? s->n : 1, sizeof(*s->holds));
    for (size_t i = 0; i < s->n; i++) {
        const struct hal_devspec *d = &s->devs[i];
        int rc;

        if (d->kind != HAL_DEV_GPIO || d->dir != HAL_DIR_IN)
            continue;
        rc = hal_gpio_watch(s->hal, d->name, d->line, HAL_GPIO_EDGE_NONE, 0, NULL, NULL,
                            &s->holds[s->nholds], err);
        if (rc < 0)
            return rc;
        s->nholds++;
    }
    return 0;
}

static int setup(struct iosock *s, struct loop *loop, uid_t uid, gid_t gid,
                 const char *const *specs, struct error *err)
{
    struct linesock_opts o;
    int rc = hal_devspec_parse_list(specs, s->n, s->devs, err);

    if (rc == 0)
        rc = check_devices(s, err);
    if (rc == 0)
        rc = hold_inputs(s, err);
    if (rc < 0)
        return rc;
    memset(&o, 0, sizeof(o));
    o.path = s->path;
    o.mode = 0600;
    o.uid = uid;
    o.gid = gid;
    o.max_line = IOSOCK_MAX_LINE;
    o.max_out = IOSOCK_MAX_OUT;
    o.max_conns = IOSOCK_MAX_CONNS;
    o.busy_line = BUSY_LINE;
    return linesock_listen(loop_ev(loop), &o, &io_ops, s, &s->ls, err);
}

int iosock_new(struct loop *loop, struct hal *hal, const char *dir, uid_t uid, gid_t gid,
               const char *const *specs, size_t n, const struct iosock_opts *opts,
               struct iosock **out, struct error *err)
{
    struct iosock *s;
    int rc;

    *out = NULL;
    if (n > HAL_DEVICES_MAX)
        return error_set(err, -EINVAL,
                         "Invalid device %.64s: at most 32 devices can be "
                         "declared.",
                         specs[HAL_DEVICES_MAX]);
    s = xcalloc(1, sizeof(*s));
    s->hal = hal;
    s->n = n;
    s->path = xasprintf("%s/%s", dir, IOSOCK_NAME);
    s->devs = xcalloc(n > 0 ? n : 1, sizeof(*s->devs));
    s->specs = xcalloc(n > 0 ? n : 1, sizeof(*s->specs));
    for (size_t i = 0; i < n; i++)
        s->specs[i] = xstrdup(specs[i]);
    s->rate = opts != NULL && opts->max_ops_per_second > 0 ? opts->max_ops_per_second
                                                           : hal_max_ops_per_second(hal);
    s->tokens = (double)s->rate;
    s->refilled_us = time_mono_us();
    rc = setup(s, loop, uid, gid, specs, err);
    if (rc < 0) {
        iosock_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void iosock_free(struct iosock *s)
{
    if (s == NULL)
        return;
    linesock_free(s->ls); /* cancels sensor reads through on_close */
    for (size_t i = 0; i < s->nholds; i++)
        hal_gpio_watch_free(s->holds[i]);
    for (size_t i = 0; i < s->n; i++)
        free(s->specs[i]);
    free(s->holds);
    free(s->specs);
    free(s->devs);
    free(s->path);
    free(s);
}

int64_t iosock_first_write_at(const struct iosock *s)
{
    return s->first_write_at;
}

const char *iosock_path(const struct iosock *s)
{
    return s->path;
}

unsigned iosock_connections(const struct iosock *s)
{
    return linesock_conn_count(s->ls);
}

void iosock_get_stats(const struct iosock *s, struct iosock_stats *out)
{
    *out = s->st;
}

int iosock_adopt(struct iosock *s, int fd, struct error *err)
{
    return linesock_adopt(s->ls, fd, err);
}
