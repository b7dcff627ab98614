/* hal/sensor.c: the sensor registry, asynchronous reads and sampling.
 *
 * Reads of sysfs-backed sensors run on one reader thread, started on first
 * use (an agent with only simulated sensors never starts it). Requests go
 * through a FIFO to the thread, and results come back through a completion
 * list drained on the loop by an ev_async watcher; both lists are guarded by
 * one mutex. The thread reads only a request's sensor (immutable after
 * hal_new) and writes only the request's result fields, which the loop
 * reads after taking the request off the completion list under the mutex.
 * A cancelled request stays queued (the thread skips it) and is freed on the
 * loop when it comes back. Simulated reads take the completion list
 * directly, so every callback runs on a later loop iteration. */
#include "hal/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

struct hal_sensor_req {
    struct hal *hal;
    const struct sensor *s;
    hal_sensor_fn cb;
    void *arg;
    void (*drop)(void *arg); /* frees arg when cancelled, or NULL */
    int cancelled;           /* under sio->mu */
    int rc;
    double value;
    int64_t ts_us;
    char msg[256];
    struct hal_sensor_req *next;
};

struct sensor_io {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct hal_sensor_req *q_head, *q_tail;       /* for the thread */
    struct hal_sensor_req *done_head, *done_tail; /* for the loop */
    int stop;
    int started;
    pthread_t th;
    ev_async async;
    struct ev_loop *ev;
};

struct hal_sampler {
    struct hal *hal;
    char name[HAL_NAME_MAX + 1];
    hal_sensor_fn cb;
    void *arg;
    ev_timer timer;
    struct hal_sensor_req *req; /* in flight */
};

static void push(struct hal_sensor_req **head, struct hal_sensor_req **tail,
                 struct hal_sensor_req *r)
{
    r->next = NULL;
    if (*tail != NULL)
        (*tail)->next = r;
    else
        *head = r;
    *tail = r;
}

static void complete(struct sensor_io *sio, struct hal_sensor_req *r)
{
    pthread_mutex_lock(&sio->mu);
    push(&sio->done_head, &sio->done_tail, r);
    pthread_mutex_unlock(&sio->mu);
    ev_async_send(sio->ev, &sio->async);
}

static void read_one(struct hal_sensor_req *r)
{
    struct error err;

    error_clear(&err);
    r->rc = sensor_read_backend(r->s, &r->value, &err);
    r->ts_us = time_now_us();
    if (r->rc < 0)
        snprintf(r->msg, sizeof(r->msg), "%s", error_str(&err));
}

static void *reader_main(void *arg)
{
    struct sensor_io *sio = arg;

    pthread_mutex_lock(&sio->mu);
    while (!sio->stop) {
        struct hal_sensor_req *r = sio->q_head;

        if (r == NULL) {
            pthread_cond_wait(&sio->cv, &sio->mu);
            continue;
        }
        sio->q_head = r->next;
        if (sio->q_head == NULL)
            sio->q_tail = NULL;
        if (!r->cancelled) {
            pthread_mutex_unlock(&sio->mu);
            read_one(r);
            pthread_mutex_lock(&sio->mu);
        }
        push(&sio->done_head, &sio->done_tail, r);
        ev_async_send(sio->ev, &sio->async);
    }
    pthread_mutex_unlock(&sio->mu);
    return NULL;
}

static void req_free(struct hal_sensor_req *r, int run_cb)
{
    struct hal_reading rd = {r->value, r->s->unit, r->ts_us};

    if (run_cb)
        r->cb(r->arg, r->rc, r->rc == 0 ? &rd : NULL, r->rc == 0 ? NULL : r->msg);
    else if (r->drop != NULL)
        r->drop(r->arg);
    free(r);
}

static void on_done(struct ev_loop *ev, ev_async *w, int revents)
{
    struct sensor_io *sio = w->data;
    struct hal_sensor_req *r, *next;

    (void)ev;
    (void)revents;
    pthread_mutex_lock(&sio->mu);
    r = sio->done_head;
    sio->done_head = sio->done_tail = NULL;
    pthread_mutex_unlock(&sio->mu);
    for (; r != NULL; r = next) {
        next = r->next;
        req_free(r, !r->cancelled);
    }
}

int sensor_io_new(struct hal *hal)
{
    struct sensor_io *sio = xcalloc(1, sizeof(*sio));

    pthread_mutex_init(&sio->mu, NULL);
    pthread_cond_init(&sio->cv, NULL);
    sio->ev = hal->ev;
    ev_async_init(&sio->async, on_done);
    sio->async.data = sio;
    ev_async_start(hal->ev, &sio->async);
    hal->sio = sio;
    return 0;
}

static void free_list(struct hal_sensor_req *r)
{
    while (r != NULL) {
        struct hal_sensor_req *next = r->next;

        req_free(r, 0);
        r = next;
    }
}

void sensor_io_free(struct hal *hal)
{
    struct sensor_io *sio = hal->sio;

    if (sio == NULL)
        return;
    if (sio->started) {
        pthread_mutex_lock(&sio->mu);
        sio->stop = 1;
        pthread_cond_signal(&sio->cv);
        pthread_mutex_unlock(&sio->mu);
        pthread_join(sio->th, NULL);
    }
    ev_async_stop(hal->ev, &sio->async);
    free_list(sio->q_head);
    free_list(sio->done_head);
    pthread_cond_destroy(&sio->cv);
    pthread_mutex_destroy(&sio->mu);
    free(sio);
    hal->sio = NULL;
}

static int start_reader(struct sensor_io *sio, struct error *err)
{
    int rc;

    if (sio->started)
        return 0;
    rc = pthread_create(&sio->th, NULL, reader_main, sio);
    if (rc != 0)
        return error_set(err, -rc, "cannot start the sensor reader: %s", strerror(rc));
    sio->started = 1;
    return 0;
}

static int no_sensor(struct error *err, const char *name)
{
    return error_set(err, -ENODEV, "No such device: sensor:%.32s.", name);
}

int hal_sensor_read(struct hal *hal, const char *name, hal_sensor_fn cb, void *arg,
                    struct hal_sensor_req **out, struct error *err)
{
    return sensor_read_start(hal, name, cb, arg, NULL, out, err);
}

int sensor_read_start(struct hal *hal, const char *name, hal_sensor_fn cb, void *arg,
                      void (*drop)(void *arg), struct hal_sensor_req **out, struct error *err)
{
    const struct sensor *s = sensor_find(hal, name);
    struct hal_sensor_req *r;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (s == NULL)
        return no_sensor(err, name);
    r = xcalloc(1, sizeof(*r));
    r->hal = hal;
    r->s = s;
    r->cb = cb;
    r->arg = arg;
    r->drop = drop;
    if (s->kind == HAL_SENSOR_SIM) {
        r->value = s->sim_value;
        r->ts_us = time_now_us();
        complete(hal->sio, r);
    } else {
        rc = start_reader(hal->sio, err);
        if (rc < 0) {
            free(r);
            return rc;
        }
        pthread_mutex_lock(&hal->sio->mu);
        push(&hal->sio->q_head, &hal->sio->q_tail, r);
        pthread_cond_signal(&hal->sio->cv);
        pthread_mutex_unlock(&hal->sio->mu);
    }
    if (out != NULL)
        *out = r;
    return 0;
}

void hal_sensor_cancel(struct hal_sensor_req *req)
{
    struct sensor_io *sio;

    if (req == NULL)
        return;
    sio = req->hal->sio;
    pthread_mutex_lock(&sio->mu);
    req->cancelled = 1;
    pthread_mutex_unlock(&sio->mu);
}

int hal_sensor_read_sync(struct hal *hal, const char *name, struct hal_reading *out,
                         struct error *err)
{
    const struct sensor *s = sensor_find(hal, name);
    double v;
    int rc;

    if (s == NULL)
        return no_sensor(err, name);
    if (s->kind == HAL_SENSOR_SIM) {
        v = s->sim_value;
    } else {
        rc = sensor_read_backend(s, &v, err);
        if (rc < 0)
            return rc;
    }
    out->value = v;
    out->unit = s->unit;
    out->ts_us = time_now_us();
    return 0;
}

static void sampler_done(void *arg, int rc, const struct hal_reading *r, const char *msg)
{
    struct hal_sampler *s = arg;

    s->req = NULL;
    s->cb(s->arg, rc, r, msg); /* may free s: nothing after this */
}

static void on_tick(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct hal_sampler *s = t->data;
    struct error err;

    (void)ev;
    (void)revents;
    if (s->req != NULL)
        return; /* the last read is still running (a slow bus): skip */
    if (hal_sensor_read(s->hal, s->name, sampler_done, s, &s->req, &err) < 0)
        s->cb(s->arg, err.code, NULL, err.msg);
}

int hal_sensor_sample(struct hal *hal, const char *name, unsigned interval_ms, hal_sensor_fn cb,
                      void *arg, struct hal_sampler **out, struct error *err)
{
    struct hal_sampler *s;

    *out = NULL;
    if (sensor_find(hal, name) == NULL)
        return no_sensor(err, name);
    if (interval_ms == 0)
        return error_set(err, -EINVAL, "the sampling interval must be at least 1 ms");
    s = xcalloc(1, sizeof(*s));
    s->hal = hal;
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->cb = cb;
    s->arg = arg;
    ev_timer_init(&s->timer, on_tick, 0., interval_ms / 1000.0);
    s->timer.data = s;
    ev_timer_start(hal->ev, &s->timer);
    *out = s;
    return 0;
}

void hal_sampler_free(struct hal_sampler *s)
{
    if (s == NULL)
        return;
    ev_timer_stop(s->hal->ev, &s->timer);
    hal_sensor_cancel(s->req);
    free(s);
}

/* ------------------------------------------------------------- registry */

void sensor_name_clean(const char *base, char out[HAL_NAME_MAX + 1])
{
    size_t i = 0;

    for (; base[i] != '\0' && i < HAL_NAME_MAX; i++) {
        char c = base[i];

        out[i] = ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-')
                     ? c
                     : '_';
    }
    if (i == 0)
        out[i++] = '_';
    out[i] = '\0';
}

struct sensor *sensor_find(const struct hal *hal, const char *name)
{
    for (size_t i = 0; i < hal->nsensors; i++)
        if (strcmp(hal->sensors[i]->name, name) == 0)
            return hal->sensors[i];
    return NULL;
}

/* A name not yet used: base itself, or base_2, base_3... cut to fit. */
static int unique_name(const struct hal *hal, const char *base, char out[HAL_NAME_MAX + 1])
{
    char clean[HAL_NAME_MAX + 1];

    sensor_name_clean(base, clean);
    if (sensor_find(hal, clean) == NULL) {
        memcpy(out, clean, sizeof(clean));
        return 0;
    }
    for (int n = 2; n < 1000; n++) {
        char suffix[8];
        int slen = snprintf(suffix, sizeof(suffix), "_%d", n);
        int keep = (int)strlen(clean);

        if (keep > HAL_NAME_MAX - slen)
            keep = HAL_NAME_MAX - slen;
        snprintf(out, HAL_NAME_MAX + 1, "%.*s%s", keep, clean, suffix);
        if (sensor_find(hal, out) == NULL)
            return 0;
    }
    return -EEXIST;
}

struct sensor *sensor_add(struct hal *hal, const char *base, enum hal_sensor_kind kind,
                          const char *unit)
{
    struct sensor *s;
    char name[HAL_NAME_MAX + 1];

    if (hal->nsensors >= SENSORS_MAX || unique_name(hal, base, name) < 0) {
        log_warn("sensor %.64s: too many sensors, skipped", base);
        return NULL;
    }
    s = xcalloc(1, sizeof(*s));
    memcpy(s->name, name, sizeof(name));
    s->kind = kind;
    snprintf(s->unit, sizeof(s->unit), "%s", unit);
    s->div = 1.0;
    hal->sensors = xrealloc(hal->sensors, (hal->nsensors + 1) * sizeof(*hal->sensors));
    hal->sensors[hal->nsensors++] = s;
    return s;
}

void sensor_free_all(struct hal *hal)
{
    for (size_t i = 0; i < hal->nsensors; i++) {
        struct sensor *s = hal->sensors[i];

        free(s->path);
        free(s->scale_path);
        free(s->offset_path);
        free(s);
    }
    free(hal->sensors);
    hal->sensors = NULL;
    hal->nsensors = 0;
}

int sensor_read_backend(const struct sensor *s, double *value, struct error *err)
{
    double v;
    int rc;

    switch (s->kind) {
    case HAL_SENSOR_IIO:
        return sensor_iio_read(s, value, err);
    case HAL_SENSOR_W1:
        return sensor_w1_read(s, value, err);
    case HAL_SENSOR_HWMON:
        rc = sysfs_read_number(s->path, &v, err);
        if (rc < 0)
            return rc;
        *value = v / s->div;
        return 0;
    case HAL_SENSOR_SIM:
        break;
    }
    return error_set(err, -EINVAL, "sensor %s has no file to read", s->name);
}

size_t hal_sensor_count(const struct hal *hal)
{
    return hal->nsensors;
}

int hal_sensor_info(const struct hal *hal, size_t i, struct hal_sensor_info *info)
{
    if (i >= hal->nsensors)
        return -ENOENT;
    info->name = hal->sensors[i]->name;
    info->kind = hal->sensors[i]->kind;
    info->unit = hal->sensors[i]->unit;
    return 0;
}

int hal_sensor_exists(const struct hal *hal, const char *name)
{
    return sensor_find(hal, name) != NULL;
}

const char *hal_sensor_kind_name(enum hal_sensor_kind kind)
{
    switch (kind) {
    case HAL_SENSOR_IIO:
        return "iio";
    case HAL_SENSOR_HWMON:
        return "hwmon";
    case HAL_SENSOR_W1:
        return "w1";
    case HAL_SENSOR_SIM:
        break;
    }
    return "sim";
}
