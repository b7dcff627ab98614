/* src/fn_store.c: see fn_store.h.
 *
 * Each record has a FIFO of operations (write a content, set acked_at,
 * delete) run one at a time on the worker pool, so two threads never touch
 * one file and the last content wins. The in-memory summary changes at once,
 * when the operation is queued. */
#include "src/fn_store.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/uuid.h"
#include "common/xalloc.h"
#include "src/fn_fs.h"
#include "src/fn_map.h"

#define RECORD_MAX (4 << 20)
#define SWEEP_INTERVAL_S 60.

enum op_kind { OP_WRITE, OP_ACK, OP_DELETE };

struct op {
    struct op *next;
    enum op_kind kind;
    char *text;       /* OP_WRITE */
    int64_t acked_at; /* OP_ACK */
    fn_store_fn fn;
    void *arg;
    /* filled by the worker */
    int rc;
    struct error err;
};

struct rec {
    struct fn_store *s;
    char id[UUID_STR_LEN];
    struct fn_rec_info info;
    cJSON *local;          /* the local-loop fields, or NULL */
    struct op *ops, *last; /* ops[0] is in flight when running */
    int running;
    int gone; /* deleted from the map; freed when ops drain */
};

struct fn_store {
    struct ev_loop *ev;
    struct wq *wq;
    char *dir;
    int64_t retention_us;
    struct fn_map recs;
    ev_timer sweep;
    int busy;
};

static void on_sweep(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)revents;
    fn_store_sweep(t->data);
}

int fn_store_new(struct ev_loop *ev, struct wq *wq, const char *dir, int64_t retention_s,
                 struct fn_store **out, struct error *err)
{
    struct fn_store *s;
    int rc;

    *out = NULL;
    rc = fn_fs_mkdirs(dir, 0700, err);
    if (rc < 0)
        return rc;
    s = xcalloc(1, sizeof(*s));
    s->ev = ev;
    s->wq = wq;
    s->dir = xstrdup(dir);
    s->retention_us = retention_s * 1000000;
    fn_map_init(&s->recs);
    ev_timer_init(&s->sweep, on_sweep, SWEEP_INTERVAL_S, SWEEP_INTERVAL_S);
    s->sweep.data = s;
    ev_timer_start(ev, &s->sweep);
    *out = s;
    return 0;
}

int fn_store_busy(const struct fn_store *s)
{
    return s->busy;
}

static void rec_free(struct rec *r)
{
    cJSON_Delete(r->local);
    while (r->ops != NULL) {
        struct op *o = r->ops;

        r->ops = o->next;
        free(o->text);
        free(o);
    }
    free(r);
}

void fn_store_free(struct fn_store *s)
{
    const char *k;
    void *v;
    size_t i = 0;

    if (s == NULL)
        return;
    ev_timer_stop(s->ev, &s->sweep);
    while (fn_map_next(&s->recs, &i, &k, &v))
        rec_free(v);
    fn_map_free(&s->recs);
    free(s->dir);
    free(s);
}

/* ------------------------------------------------------ the operations */

static char *rec_path(const struct fn_store *s, const char *id)
{
    return xasprintf("%s/%s.json", s->dir, id);
}

struct job {
    struct rec *r;
    struct op *o;
    char *path;
};

static int apply_ack(const char *path, int64_t acked_at, struct error *err)
{
    char *text = NULL, *out;
    cJSON *rec = NULL;
    size_t len;
    int rc = fn_fs_read_file(path, RECORD_MAX, &text, &len, err);

    if (rc == 0)
        rc = json_parse(text, len, &rec, err);
    if (rc == 0) {
        cJSON_DeleteItemFromObjectCaseSensitive(rec, "acked_at");
        json_add_int(rec, "acked_at", acked_at);
        out = json_print(rec);
        rc = fn_fs_write_atomic(path, out, strlen(out), 0600, err);
        free(out);
    }
    cJSON_Delete(rec);
    free(text);
    return rc;
}

static void op_work(void *arg, void *ctx)
{
    struct job *j = arg;
    struct op *o = j->o;

    (void)ctx;
    error_clear(&o->err);
    switch (o->kind) {
    case OP_WRITE:
        o->rc = fn_fs_write_atomic(j->path, o->text, strlen(o->text), 0600, &o->err);
        break;
    case OP_ACK:
        o->rc = apply_ack(j->path, o->acked_at, &o->err);
        break;
    case OP_DELETE:
        o->rc = unlink(j->path) < 0 && errno != ENOENT ? -errno : 0;
        break;
    }
}

static void run_next(struct rec *r);

static void op_done(void *arg)
{
    struct job *j = arg;
    struct rec *r = j->r;
    struct op *o = j->o;

    r->s->busy--;
    r->running = 0;
    r->ops = o->next;
    if (r->ops == NULL)
        r->last = NULL;
    if (o->rc < 0)
        log_error("execution record %s: %s", r->id, error_str(&o->err));
    if (o->fn != NULL)
        o->fn(o->arg, o->rc);
    free(o->text);
    free(o);
    free(j->path);
    free(j);
    if (r->ops == NULL && r->gone)
        rec_free(r);
    else
        run_next(r);
}

static void run_next(struct rec *r)
{
    struct job *j;

    if (r->running || r->ops == NULL)
        return;
    j = xcalloc(1, sizeof(*j));
    j->r = r;
    j->o = r->ops;
    j->path = rec_path(r->s, r->id);
    r->running = 1;
    r->s->busy++;
    if (wq_submit(r->s->wq, op_work, op_done, j) < 0) {
        op_work(j, NULL);
        op_done(j);
    }
}

static void queue_op(struct rec *r, struct op *o)
{
    if (r->last != NULL)
        r->last->next = o;
    else
        r->ops = o;
    r->last = o;
    run_next(r);
}

static char *content(const struct rec *r, const cJSON *result)
{
    cJSON *o = cJSON_CreateObject();
    char *text;

    cJSON_AddStringToObject(o, "execution_id", r->id);
    cJSON_AddStringToObject(o, "state", r->info.state == FN_REC_FINISHED ? "finished" : "accepted");
    json_add_int(o, "received_at", r->info.received_at);
    if (r->local != NULL)
        cJSON_AddItemToObject(o, "local", cJSON_Duplicate(r->local, 1));
    else
        cJSON_AddBoolToObject(o, "local", 0);
    cJSON_AddNullToObject(o, "acked_at");
    if (result != NULL)
        cJSON_AddItemToObject(o, "result", cJSON_Duplicate(result, 1));
    else
        cJSON_AddNullToObject(o, "result");
    text = json_print(o);
    cJSON_Delete(o);
    return text;
}

/* ---------------------------------------------------------- the API */

const struct fn_rec_info *fn_store_get(const struct fn_store *s, const char *id)
{
    struct rec *r = fn_map_get(&s->recs, id);

    return r != NULL ? &r->info : NULL;
}

size_t fn_store_count(const struct fn_store *s)
{
    return s->recs.len;
}

int fn_store_accept(struct fn_store *s, const char *id, int64_t received_at, const cJSON *local,
                    fn_store_fn fn, void *arg)
{
    struct rec *r;
    struct op *o;

    if (fn_map_get(&s->recs, id) != NULL)
        return -EEXIST;
    r = xcalloc(1, sizeof(*r));
    r->s = s;
    snprintf(r->id, sizeof(r->id), "%s", id);
    r->info.state = FN_REC_ACCEPTED;
    r->info.received_at = received_at;
    r->info.local = local != NULL;
    r->local = local != NULL ? cJSON_Duplicate(local, 1) : NULL;
    fn_map_put(&s->recs, id, r);
    o = xcalloc(1, sizeof(*o));
    o->kind = OP_WRITE;
    o->text = content(r, NULL);
    o->fn = fn;
    o->arg = arg;
    queue_op(r, o);
    return 0;
}

void fn_store_finish(struct fn_store *s, const char *id, const cJSON *result, fn_store_fn fn,
                     void *arg)
{
    struct rec *r = fn_map_get(&s->recs, id);
    struct op *o;

    if (r == NULL) {
        log_error("execution record %s: finished but unknown", id);
        if (fn != NULL)
            fn(arg, -ENOENT);
        return;
    }
    r->info.state = FN_REC_FINISHED;
    o = xcalloc(1, sizeof(*o));
    o->kind = OP_WRITE;
    o->text = content(r, result);
    o->fn = fn;
    o->arg = arg;
    queue_op(r, o);
}

void fn_store_ack(struct fn_store *s, const char *id)
{
    struct rec *r = fn_map_get(&s->recs, id);
    struct op *o;

    if (r == NULL || r->info.state != FN_REC_FINISHED || r->info.acked_at != 0)
        return;
    r->info.acked_at = time_now_us();
    o = xcalloc(1, sizeof(*o));
    o->kind = OP_ACK;
    o->acked_at = r->info.acked_at;
    queue_op(r, o);
}

int fn_store_sweep(struct fn_store *s)
{
    int64_t now = time_now_us();
    const char *k;
    void *v;
    size_t i = 0;
    int n = 0;

    while (fn_map_next(&s->recs, &i, &k, &v)) {
        struct rec *r = v;
        struct op *o;

        if (r->info.acked_at == 0 || r->info.acked_at + s->retention_us > now)
            continue;
        fn_map_del(&s->recs, r->id);
        r->gone = 1;
        o = xcalloc(1, sizeof(*o));
        o->kind = OP_DELETE;
        queue_op(r, o);
        n++;
    }
    return n;
}

cJSON *fn_store_known(const struct fn_store *s)
{
    cJSON *arr = cJSON_CreateArray();
    const char *k;
    void *v;
    size_t i = 0;

    while (fn_map_next(&s->recs, &i, &k, &v)) {
        const struct rec *r = v;

        if (r->info.state == FN_REC_FINISHED && r->info.acked_at == 0)
            cJSON_AddItemToArray(arr, cJSON_CreateString(r->id));
    }
    return arr;
}

/* ------------------------------------------------------ reading back */

struct read_job {
    struct fn_store *s;
    char *path;
    cJSON *result;
    void (*fn)(void *, cJSON *);
    void *arg;
};

static cJSON *load_record(const char *path, struct error *err)
{
    char *text = NULL;
    cJSON *rec = NULL;
    size_t len;

    if (fn_fs_read_file(path, RECORD_MAX, &text, &len, err) == 0 &&
        json_parse(text, len, &rec, err) == 0 && !cJSON_IsObject(rec)) {
        cJSON_Delete(rec);
        rec = NULL;
        error_set(err, -EINVAL, "not a JSON object");
    }
    free(text);
    return rec;
}

static void read_work(void *arg, void *ctx)
{
    struct read_job *j = arg;
    cJSON *rec = load_record(j->path, NULL);

    (void)ctx;
    if (rec != NULL)
        j->result = cJSON_DetachItemFromObjectCaseSensitive(rec, "result");
    cJSON_Delete(rec);
    if (j->result != NULL && !cJSON_IsObject(j->result)) {
        cJSON_Delete(j->result);
        j->result = NULL;
    }
}

static void read_done(void *arg)
{
    struct read_job *j = arg;

    j->s->busy--;
    j->fn(j->arg, j->result);
    free(j->path);
    free(j);
}

void fn_store_read_result(struct fn_store *s, const char *id, void (*fn)(void *arg, cJSON *result),
                          void *arg)
{
    struct read_job *j = xcalloc(1, sizeof(*j));

    j->s = s;
    j->path = rec_path(s, id);
    j->fn = fn;
    j->arg = arg;
    s->busy++;
    if (wq_submit(s->wq, read_work, read_done, j) < 0) {
        read_work(j, NULL);
        read_done(j);
    }
}

/* ------------------------------------------------------------ loading */

struct loaded {
    char id[UUID_STR_LEN];
    struct fn_rec_info info;
    cJSON *local;
    cJSON *result;
};

struct load_job {
    struct fn_store *s;
    struct loaded *v;
    size_t n, cap;
    fn_store_found_fn found;
    void (*done)(void *);
    void *arg;
};

static void quarantine(const char *path, const struct error *err)
{
    char *bad = xasprintf("%s.corrupt-%lld", path, (long long)(time_now_us() / 1000000));

    log_error("execution record %s is unreadable (%s): moved to %s", path, error_str(err), bad);
    if (rename(path, bad) < 0)
        log_error("cannot move %s: %s", path, strerror(errno));
    free(bad);
}

static int parse_loaded(const cJSON *rec, struct loaded *l)
{
    const char *id = NULL, *state = NULL;
    int64_t acked = 0;
    int local = 0;

    if (json_get_str(rec, "execution_id", JSON_REQUIRED, 64, &id, NULL) < 0 ||
        uuid_normalize(id, l->id) < 0 ||
        json_get_str(rec, "state", JSON_REQUIRED, 16, &state, NULL) < 0 ||
        json_get_int(rec, "received_at", JSON_REQUIRED, 0, INT64_MAX, &l->info.received_at, NULL) <
            0)
        return -EINVAL;
    if (json_get_int(rec, "acked_at", JSON_NULLABLE, 0, INT64_MAX, &acked, NULL) == 0)
        l->info.acked_at = acked;
    if (json_get_bool(rec, "local", 0, &local, NULL) == 0)
        l->info.local = local;
    if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(rec, "local"))) {
        l->info.local = 1;
        l->local = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rec, "local"), 1);
    }
    l->info.state = strcmp(state, "finished") == 0 ? FN_REC_FINISHED : FN_REC_ACCEPTED;
    return 0;
}

static void load_one(struct load_job *j, const char *name)
{
    char *path = xasprintf("%s/%s", j->s->dir, name);
    struct error err;
    struct loaded l = {0};
    cJSON *rec;

    error_clear(&err);
    rec = load_record(path, &err);
    if (rec == NULL || parse_loaded(rec, &l) < 0) {
        if (err.code == 0)
            error_set(&err, -EINVAL, "missing or invalid fields");
        quarantine(path, &err);
        goto out;
    }
    if (l.info.state == FN_REC_FINISHED && l.info.acked_at == 0)
        l.result = cJSON_DetachItemFromObjectCaseSensitive(rec, "result");
    if (j->n == j->cap) {
        j->cap = j->cap ? 2 * j->cap : 64;
        j->v = xrealloc(j->v, j->cap * sizeof(*j->v));
    }
    j->v[j->n++] = l;
out:
    cJSON_Delete(rec);
    free(path);
}

static void load_work(void *arg, void *ctx)
{
    struct load_job *j = arg;
    DIR *d = opendir(j->s->dir);
    struct dirent *de;

    (void)ctx;
    while (d != NULL && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);

        if (strstr(de->d_name, ".tmp-") != NULL) {
            char *p = xasprintf("%s/%s", j->s->dir, de->d_name);

            unlink(p); /* an atomic write that a crash interrupted */
            free(p);
            continue;
        }
        if (len == 36 + 5 && strcmp(de->d_name + 36, ".json") == 0)
            load_one(j, de->d_name);
    }
    if (d != NULL)
        closedir(d);
}

static void load_done(void *arg)
{
    struct load_job *j = arg;
    struct fn_store *s = j->s;

    s->busy--;
    for (size_t i = 0; i < j->n; i++) {
        struct loaded *l = &j->v[i];
        struct rec *r;

        if (fn_map_get(&s->recs, l->id) != NULL) {
            cJSON_Delete(l->result);
            cJSON_Delete(l->local);
            continue;
        }
        r = xcalloc(1, sizeof(*r));
        r->s = s;
        memcpy(r->id, l->id, sizeof(r->id));
        r->info = l->info;
        r->local = l->local;
        fn_map_put(&s->recs, r->id, r);
        if (l->info.acked_at == 0 && j->found != NULL)
            j->found(j->arg, r->id, &r->info, r->local, l->result);
        cJSON_Delete(l->result);
    }
    log_info("execution records: %zu loaded", j->n);
    free(j->v);
    if (j->done != NULL)
        j->done(j->arg);
    free(j);
    fn_store_sweep(s);
}

void fn_store_load(struct fn_store *s, fn_store_found_fn found, void (*done)(void *arg), void *arg)
{
    struct load_job *j = xcalloc(1, sizeof(*j));

    j->s = s;
    j->found = found;
    j->done = done;
    j->arg = arg;
    s->busy++;
    if (wq_submit(s->wq, load_work, load_done, j) < 0) {
        load_work(j, NULL);
        load_done(j);
    }
}
