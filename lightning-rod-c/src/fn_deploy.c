/* src/fn_deploy.c: FunctionDeploy, FunctionRemove, CachePurge and the pins.
 *
 * FunctionDeploy fetches a function version's runtime and package ahead of
 * time and pins them (3.5.2): pinned blobs survive LRU eviction, which the
 * local trigger loop relies on while the cloud is away. Pins are kept per
 * function version in <state_dir>/function-pins.json (atomic writes on the
 * worker pool), so they survive restarts. FunctionRemove drops a function's
 * warm containers and pins, and purges the blobs it names. */
#include "src/fn_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "src/fn_fs.h"

#define PINS_MAX (1 << 20)
#define KEY_MAX (UUID_STR_LEN + 24)

struct fn_deploy_op {
    struct fn *fn;
    struct fn_deploy_op *prev, *next;
    struct fn_req *req;
    struct fn_cache_entry *rt, *pkg;
    struct fn_cache_wait *rt_wait, *pkg_wait;
    fn_reply_fn reply;
    void *arg;
};

/* ---------------------------------------------------------------- pins */

static char *pins_path(const struct fn *fn)
{
    return xasprintf("%s/function-pins.json", fn->conf->state_dir);
}

static void pin_entries(struct fn *fn, const struct fn_pin *p, int delta)
{
    struct fn_cache_entry *e;

    if (p->runtime[0] && (e = fn_cache_find(fn->cache, FN_BLOB_RUNTIME, p->runtime)) != NULL)
        fn_cache_pin(e, delta);
    if (p->package[0] && (e = fn_cache_find(fn->cache, FN_BLOB_PACKAGE, p->package)) != NULL)
        fn_cache_pin(e, delta);
}

struct pins_job {
    struct fn *fn;
    char *path, *text;
};

static void pins_save(struct fn *fn);

static void pins_work(void *arg, void *ctx)
{
    struct pins_job *j = arg;
    struct error err;

    (void)ctx;
    if (fn_fs_write_atomic(j->path, j->text, strlen(j->text), 0600, &err) < 0)
        log_error("cannot save the function pins: %s", err.msg);
}

static void pins_done(void *arg)
{
    struct pins_job *j = arg;
    struct fn *fn = j->fn;

    fn->busy--;
    fn->pins_writing = 0;
    free(j->path);
    free(j->text);
    free(j);
    if (fn->pins_dirty)
        pins_save(fn);
}

static void pins_save(struct fn *fn)
{
    cJSON *root, *obj;
    struct pins_job *j;
    const char *k;
    void *v;
    size_t i = 0;

    if (fn->pins_writing) {
        fn->pins_dirty = 1;
        return;
    }
    fn->pins_dirty = 0;
    root = cJSON_CreateObject();
    obj = cJSON_AddObjectToObject(root, "pins");
    while (fn_map_next(&fn->pins, &i, &k, &v)) {
        const struct fn_pin *p = v;
        cJSON *o = cJSON_AddObjectToObject(obj, k);

        json_add_str_or_null(o, "runtime", p->runtime[0] ? p->runtime : NULL);
        json_add_str_or_null(o, "package", p->package[0] ? p->package : NULL);
    }
    j = xcalloc(1, sizeof(*j));
    j->fn = fn;
    j->path = pins_path(fn);
    j->text = json_print(root);
    cJSON_Delete(root);
    fn->pins_writing = 1;
    fn->busy++;
    if (wq_submit(fn->d.wq, pins_work, pins_done, j) < 0) {
        pins_work(j, NULL);
        pins_done(j);
    }
}

static void copy_sha(char *dst, const cJSON *o, const char *key)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, key);

    dst[0] = '\0';
    if (cJSON_IsString(s) && strlen(s->valuestring) == 64) {
        snprintf(dst, FN_SHA256_HEX, "%s", s->valuestring);
        if (!fn_hex_digest(dst, 64))
            dst[0] = '\0';
    }
}

/* At startup, before the loop serves anything: the file is small. */
void fn_pins_load(struct fn *fn)
{
    char *path = pins_path(fn), *text = NULL;
    cJSON *root = NULL;
    const cJSON *pins, *it;
    size_t len;
    struct error err;

    if (fn_fs_read_file(path, PINS_MAX, &text, &len, &err) < 0) {
        if (err.code != -ENOENT)
            log_error("cannot read the function pins: %s", err.msg);
        goto out;
    }
    if (json_parse(text, len, &root, &err) < 0) {
        log_error("function pins file %s is invalid (%s): ignored", path, err.msg);
        goto out;
    }
    pins = cJSON_GetObjectItemCaseSensitive(root, "pins");
    if (!cJSON_IsObject(pins))
        goto out;
    cJSON_ArrayForEach(it, pins)
    {
        struct fn_pin *p;

        if (it->string == NULL || strlen(it->string) >= KEY_MAX || !cJSON_IsObject(it))
            continue;
        p = xcalloc(1, sizeof(*p));
        copy_sha(p->runtime, it, "runtime");
        copy_sha(p->package, it, "package");
        free(fn_map_put(&fn->pins, it->string, p));
    }
out:
    cJSON_Delete(root);
    free(text);
    free(path);
}

/* Once the cache knows what is on disk. */
void fn_pins_apply(struct fn *fn)
{
    const char *k;
    void *v;
    size_t i = 0;

    while (fn_map_next(&fn->pins, &i, &k, &v))
        pin_entries(fn, v, +1);
}

void fn_pins_clear(struct fn *fn)
{
    const char *k;
    void *v;
    size_t i = 0;

    while (fn_map_next(&fn->pins, &i, &k, &v))
        free(v);
    fn_map_free(&fn->pins);
}

static void pin_version(struct fn *fn, const struct fn_req *r)
{
    char key[KEY_MAX];
    struct fn_pin *p = xcalloc(1, sizeof(*p)), *old;

    snprintf(key, sizeof(key), "%s:%lld", r->function_id, (long long)r->function_version);
    if (fn->conf->executor == FN_EXECUTOR_CRUN)
        memcpy(p->runtime, r->runtime.sha256, FN_SHA256_HEX);
    if (r->has_package)
        memcpy(p->package, r->package.sha256, FN_SHA256_HEX);
    pin_entries(fn, p, +1);
    old = fn_map_put(&fn->pins, key, p);
    if (old != NULL) {
        pin_entries(fn, old, -1);
        free(old);
    }
    pins_save(fn);
}

/* Unpins a function's versions (version -1: all). */
static void unpin_function(struct fn *fn, const char *function_id, int64_t version)
{
    size_t len = strlen(function_id);
    const char *k;
    void *v;
    size_t i = 0;
    int changed = 0;

    while (fn_map_next(&fn->pins, &i, &k, &v)) {
        char *end;

        if (strncmp(k, function_id, len) != 0 || k[len] != ':')
            continue;
        if (version >= 0 && strtoll(k + len + 1, &end, 10) != version)
            continue;
        pin_entries(fn, v, -1);
        free(fn_map_del(&fn->pins, k));
        changed = 1;
    }
    if (changed)
        pins_save(fn);
}

/* -------------------------------------------------------------- deploy */

static void op_free(struct fn_deploy_op *op)
{
    struct fn *fn = op->fn;

    if (op->prev)
        op->prev->next = op->next;
    else
        fn->deploys = op->next;
    if (op->next)
        op->next->prev = op->prev;
    fn_cache_cancel(op->rt_wait);
    fn_cache_cancel(op->pkg_wait);
    if (op->rt)
        fn_cache_unref(op->rt);
    if (op->pkg)
        fn_cache_unref(op->pkg);
    fn_req_free(op->req);
    free(op);
}

static void deploy_failed(struct fn_deploy_op *op, const char *reason)
{
    fn_reply_error(op->reply, op->arg, "deploy_failed", "Failed to deploy function on board %s: %s",
                   op->fn->board_id, reason);
    op_free(op);
}

static void deploy_complete(struct fn_deploy_op *op)
{
    struct fn *fn = op->fn;
    struct fn_launch *l = NULL;
    struct error err;
    cJSON *m;

    if (op->rt_wait != NULL || op->pkg_wait != NULL)
        return;
    pin_version(fn, op->req);
    if (fn->conf->executor == FN_EXECUTOR_CRUN) {
        if (fn_launch_new(op->req, fn->conf, fn->board_id, fn->d.io != NULL, op->rt, op->pkg, &l,
                          &err) < 0) {
            deploy_failed(op, err.msg);
            return;
        }
        fn_warm_note(fn->warm, l, op->req->keep_warm, op->req->warm_ttl);
        fn_launch_unref(l);
    }
    m = cJSON_CreateObject();
    cJSON_AddBoolToObject(m, "cached", 1);
    json_add_int(m, "warm",
                 fn_warm_count(fn->warm, op->req->function_id, op->req->function_version));
    op->reply(op->arg, "SUCCESS", m);
    op_free(op);
}

static void on_blob(struct fn_deploy_op *op, struct fn_cache_entry *e, int rc,
                    const struct error *err, struct fn_cache_entry **slot,
                    struct fn_cache_wait **wait)
{
    *wait = NULL;
    if (rc < 0) {
        deploy_failed(op, err->msg);
        return;
    }
    *slot = e;
    deploy_complete(op);
}

static void on_rt(void *arg, struct fn_cache_entry *e, int rc, const struct error *err)
{
    struct fn_deploy_op *op = arg;

    on_blob(op, e, rc, err, &op->rt, &op->rt_wait);
}

static void on_pkg(void *arg, struct fn_cache_entry *e, int rc, const struct error *err)
{
    struct fn_deploy_op *op = arg;

    on_blob(op, e, rc, err, &op->pkg, &op->pkg_wait);
}

static void deploy_fetch(struct fn_deploy_op *op)
{
    struct fn *fn = op->fn;
    struct error err;

    if (fn->conf->executor == FN_EXECUTOR_CRUN &&
        fn_cache_acquire(fn->cache, &op->req->runtime, on_rt, op, &op->rt, &op->rt_wait, &err) <
            0) {
        deploy_failed(op, err.msg);
        return;
    }
    if (op->req->has_package && fn_cache_acquire(fn->cache, &op->req->package, on_pkg, op, &op->pkg,
                                                 &op->pkg_wait, &err) < 0) {
        deploy_failed(op, err.msg);
        return;
    }
    deploy_complete(op);
}

void fn_deploy(struct fn *fn, const cJSON *payload, fn_reply_fn reply, void *arg)
{
    struct fn_deploy_op *op;
    struct fn_req *r;
    struct error err;

    if (fn_req_parse(payload, FN_REQ_DEPLOY, &r, &err) < 0) {
        fn_reply_error(reply, arg, "bad_request", "Invalid FunctionDeploy: %s.", err.msg);
        return;
    }
    if (!fn->ready || fn->stopping) {
        fn_reply_error(reply, arg, "busy", "The function executor is %s.",
                       fn->stopping ? "stopping" : "starting");
        fn_req_free(r);
        return;
    }
    if (fn_executor_usable(fn, r, &err) < 0) {
        fn_reply_error(reply, arg, "unsupported", "Board %s cannot run this function: %s.",
                       fn->board_id, err.msg);
        fn_req_free(r);
        return;
    }
    op = xcalloc(1, sizeof(*op));
    op->fn = fn;
    op->req = r;
    op->reply = reply;
    op->arg = arg;
    op->next = fn->deploys;
    if (fn->deploys)
        fn->deploys->prev = op;
    fn->deploys = op;
    deploy_fetch(op);
}

void fn_deploy_abort_all(struct fn *fn)
{
    while (fn->deploys != NULL) {
        struct fn_deploy_op *op = fn->deploys;

        fn_reply_error(op->reply, op->arg, "busy", "The function executor is stopping.");
        op_free(op);
    }
}

/* --------------------------------------------------- remove and purge */

static void purge_all(struct fn *fn, const struct fn_remove_req *r)
{
    for (size_t i = 0; i < r->npurge; i++)
        fn_cache_purge(fn->cache, r->purge[i]);
}

void fn_remove(struct fn *fn, const cJSON *payload, fn_reply_fn reply, void *arg)
{
    struct fn_remove_req r;
    struct error err;

    if (fn_remove_parse(payload, &r, &err) < 0) {
        fn_reply_error(reply, arg, "bad_request", "Invalid FunctionRemove: %s.", err.msg);
        return;
    }
    fn_warm_drop(fn->warm, r.function_id, r.function_version);
    unpin_function(fn, r.function_id, r.function_version);
    purge_all(fn, &r);
    fn_remove_clear(&r);
    reply(arg, "SUCCESS", cJSON_CreateObject());
}

void fn_purge(struct fn *fn, const cJSON *payload, fn_reply_fn reply, void *arg)
{
    struct fn_remove_req r;
    struct error err;

    if (fn_purge_parse(payload, &r, &err) < 0) {
        fn_reply_error(reply, arg, "bad_request", "Invalid CachePurge: %s.", err.msg);
        return;
    }
    purge_all(fn, &r);
    fn_remove_clear(&r);
    reply(arg, "SUCCESS", cJSON_CreateObject());
}
