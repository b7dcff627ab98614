/* src/fn_execute.c: one execution from FunctionExecute to its stored result.
 *
 * States follow the members of struct fn_exec: waiting for blobs (rt_wait,
 * pkg_wait), a container being created (c, !started), running (started),
 * finished (result handed to the core, kept until its record is durable,
 * then freed). An execution holds a slot from acceptance until its
 * container's outcome is known. The result is handed over only once the
 * RUNNING reply went out (the accept record is durable), never before. */
#include "src/fn_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "src/fn_result.h"

static void exec_launch(struct fn_exec *e);
static void exec_finish(struct fn_exec *e, cJSON *result);

/* ------------------------------------------------------------- helpers */

static void reply_running(struct fn_exec *e)
{
    cJSON *m = cJSON_CreateObject();
    fn_reply_fn reply = e->reply;

    cJSON_AddStringToObject(m, "state", e->started ? "started" : "queued");
    e->reply = NULL;
    reply(e->reply_arg, "RUNNING", m);
}

static struct fn_exec *find_exec(const struct fn *fn, const char *id)
{
    for (struct fn_exec *e = fn->execs; e != NULL; e = e->next)
        if (e->req != NULL && strcmp(e->req->execution_id, id) == 0)
            return e;
    return NULL;
}

static void exec_unlink(struct fn_exec *e)
{
    struct fn *fn = e->fn;

    if (e->prev)
        e->prev->next = e->next;
    else
        fn->execs = e->next;
    if (e->next)
        e->next->prev = e->prev;
}

static void exec_free(struct fn_exec *e)
{
    exec_unlink(e);
    fn_cache_cancel(e->rt_wait);
    fn_cache_cancel(e->pkg_wait);
    if (e->rt)
        fn_cache_unref(e->rt);
    if (e->pkg)
        fn_cache_unref(e->pkg);
    fn_launch_unref(e->launch);
    if (e->c)
        ctr_release(e->c);
    cJSON_Delete(e->result);
    fn_req_free(e->req);
    free(e->trigger_id);
    free(e);
}

static void start_queued(struct fn *fn);

static void release_slot(struct fn_exec *e)
{
    if (!e->slot)
        return;
    e->slot = 0;
    e->fn->running--;
    start_queued(e->fn);
}

/* --------------------------------------------------------- the result */

/* The fields a local-loop result carries (3.9), kept in the record too. */
static cJSON *local_fields(const struct fn_exec *e)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "trigger_id", e->trigger_id);
    json_add_int(o, "firing_seq", e->firing_seq);
    cJSON_AddStringToObject(o, "function_id", e->req->function_id);
    json_add_int(o, "function_version", e->req->function_version);
    json_add_str_or_null(o, "input", e->req->input_text);
    return o;
}

static void merge_local(cJSON *r, const cJSON *local)
{
    const cJSON *it;

    cJSON_AddBoolToObject(r, "local", 1);
    cJSON_ArrayForEach(it, local) cJSON_AddItemToObject(r, it->string, cJSON_Duplicate(it, 1));
}

static void add_local_fields(struct fn_exec *e, cJSON *r)
{
    cJSON *local;

    if (!e->local)
        return;
    local = local_fields(e);
    merge_local(r, local);
    cJSON_Delete(local);
}

static cJSON *make_result(struct fn_exec *e, const struct ctr_outcome *o, int deploy_failed,
                          const char *reason)
{
    struct fn_result_in in = {0};
    cJSON *r;

    in.execution_id = e->req->execution_id;
    in.container_id = e->container_id[0] ? e->container_id : NULL;
    in.board_id = e->fn->board_id;
    in.executor = fn_executor_name(e->fn);
    in.warm = e->warm;
    in.received_at = e->received_at;
    in.max_result_size = (size_t)e->fn->conf->max_result_size;
    in.o = o;
    in.deploy_failed = deploy_failed;
    in.reason = reason;
    r = fn_result_build(&in);
    add_local_fields(e, r);
    return r;
}

static void report(struct fn_exec *e)
{
    struct fn *fn = e->fn;

    if (!fn->stopping && fn->hooks.on_result != NULL && e->result != NULL)
        fn->hooks.on_result(fn->hooks.arg, e->result);
}

static void on_finish_durable(void *arg, int rc)
{
    (void)rc; /* logged by the store; the result was handed over all the same */
    exec_free(arg);
}

static void exec_finish(struct fn_exec *e, cJSON *result)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(result, "status");

    e->finished = 1;
    e->result = result;
    log_info("execution finished execution=%s status=%s container=%s warm=%d", e->req->execution_id,
             cJSON_IsString(st) ? st->valuestring : "?", e->container_id[0] ? e->container_id : "-",
             e->warm);
    if (e->c != NULL) {
        ctr_release(e->c);
        e->c = NULL;
    }
    fn_launch_unref(e->launch);
    e->launch = NULL;
    /* Its blobs are free for eviction and purges once the result is out,
     * not only once the record is durable. */
    if (e->rt != NULL)
        fn_cache_unref(e->rt);
    if (e->pkg != NULL)
        fn_cache_unref(e->pkg);
    e->rt = e->pkg = NULL;
    release_slot(e);
    /* The result goes to the core (the outbox) before its record is durable:
     * the record's two fsyncs would otherwise sit on every result's way back.
     * Nothing can be lost by the order (3.6): the outbox writes its own copy
     * before sending, and after a crash a record still "accepted" is reported
     * failed, which the outbox drops when the real result still waits there
     * (same key) and the engine ignores once the execution is terminal. Only
     * the RUNNING reply must precede it: until then on_accept_durable()
     * reports. */
    if (e->reply == NULL)
        report(e);
    fn_store_finish(e->fn->store, e->req->execution_id, result, on_finish_durable, e);
}

static void fail_deploy(struct fn_exec *e, const char *reason)
{
    exec_finish(e, make_result(e, NULL, 1, reason));
}

static void fail_start(struct fn_exec *e, const char *reason)
{
    exec_finish(e, make_result(e, NULL, 0, reason));
}

/* ------------------------------------------------------- the container */

static void on_done(void *arg, struct ctr *c, const struct ctr_outcome *o)
{
    struct fn_exec *e = arg;
    struct fn *fn = e->fn;
    struct fn_launch *l = e->launch;
    int64_t keep = e->req->keep_warm, ttl = e->req->warm_ttl;
    int refill = fn->conf->executor == FN_EXECUTOR_CRUN && o->failure == NULL;
    char id[UUID_STR_LEN];

    (void)c;
    snprintf(id, sizeof(id), "%s", e->req->execution_id);
    fn_launch_ref(l);
    exec_finish(e, make_result(e, o, 0, NULL)); /* may free e */
    /* The replacement warm container (3.5.5) comes after the report, and
     * its `crun create` waits for the cloud's acknowledgement of the result
     * (fn_warm_release()), so that it competes with neither the execution
     * nor the result's way back. */
    if (refill)
        fn_warm_note_held(fn->warm, l, keep, ttl, id);
    fn_launch_unref(l);
}

static char *context_json(const struct fn_exec *e)
{
    const struct fn_req *r = e->req;
    char t[TIME_ISO_LEN];
    cJSON *o = cJSON_CreateObject();
    char *text;

    cJSON_AddStringToObject(o, "execution_id", r->execution_id);
    cJSON_AddStringToObject(o, "function_id", r->function_id);
    json_add_int(o, "function_version", r->function_version);
    cJSON_AddStringToObject(o, "board_id", e->fn->board_id);
    json_add_int(o, "timeout", r->timeout);
    json_add_str_or_null(o, "deadline",
                         r->deadline ? time_format(r->deadline, TIME_Z_US, t) : NULL);
    cJSON_AddStringToObject(o, "started_at", time_format(time_now_us(), TIME_Z_US, t));
    text = json_print(o);
    cJSON_Delete(o);
    return text;
}

static void create_cold(struct fn_exec *e);

static void exec_start(struct fn_exec *e)
{
    char *ctx = context_json(e);
    struct error err;
    int rc;

    snprintf(e->container_id, sizeof(e->container_id), "%s", ctr_id(e->c));
    rc = ctr_start(e->c, e->req->input, e->req->input_len, ctx, e->req->timeout * 1000, on_done, e,
                   &err);
    free(ctx);
    if (rc < 0 && e->warm && !e->retried_cold) {
        /* The warm container died while it waited: make a fresh one. */
        log_warn("warm container unusable, creating one container=%s: %s", e->container_id,
                 err.msg);
        ctr_release(e->c);
        e->c = NULL;
        e->warm = 0;
        e->retried_cold = 1;
        e->container_id[0] = '\0';
        create_cold(e);
        return;
    }
    if (rc < 0) {
        fail_start(e, err.msg);
        return;
    }
    e->started = 1;
    e->started_at = time_now_us();
    log_debug("execution started execution=%s warm=%d after_ms=%.2f", e->req->execution_id, e->warm,
              (e->started_at - e->received_at) / 1000.0);
}

static void on_created(void *arg, struct ctr *c, int rc, const struct error *err)
{
    struct fn_exec *e = arg;

    (void)c;
    if (rc < 0) {
        snprintf(e->container_id, sizeof(e->container_id), "%s", ctr_id(e->c));
        fail_start(e, error_str(err));
        return;
    }
    exec_start(e);
}

static void create_cold(struct fn_exec *e)
{
    struct error err;

    if (ctr_create(e->fn->runner, &e->launch->spec, &e->launch->opts, on_created, e, &e->c, &err) <
        0)
        fail_start(e, err.msg);
}

static void exec_launch(struct fn_exec *e)
{
    struct fn *fn = e->fn;
    struct error err;
    int64_t created_at;

    if (e->rt_wait != NULL || e->pkg_wait != NULL)
        return;
    if (fn_launch_new(e->req, fn->conf, fn->board_id, fn->d.io != NULL, e->rt, e->pkg, &e->launch,
                      &err) < 0) {
        fail_start(e, err.msg);
        return;
    }
    if (fn->conf->executor == FN_EXECUTOR_CRUN) {
        e->c = fn_warm_take(fn->warm, e->launch, &created_at);
        if (e->c != NULL) {
            e->warm = 1;
            exec_start(e);
            return;
        }
    }
    create_cold(e);
}

/* ------------------------------------------------------------- blobs */

static void on_runtime(void *arg, struct fn_cache_entry *ent, int rc, const struct error *err)
{
    struct fn_exec *e = arg;

    e->rt_wait = NULL;
    if (rc < 0) {
        fn_cache_cancel(e->pkg_wait);
        e->pkg_wait = NULL;
        fail_deploy(e, err->msg);
        return;
    }
    e->rt = ent;
    exec_launch(e);
}

static void on_package(void *arg, struct fn_cache_entry *ent, int rc, const struct error *err)
{
    struct fn_exec *e = arg;

    e->pkg_wait = NULL;
    if (rc < 0) {
        fn_cache_cancel(e->rt_wait);
        e->rt_wait = NULL;
        fail_deploy(e, err->msg);
        return;
    }
    e->pkg = ent;
    exec_launch(e);
}

static void exec_fetch(struct fn_exec *e)
{
    struct fn *fn = e->fn;
    struct error err;
    int rc;

    if (fn->conf->executor == FN_EXECUTOR_CRUN) {
        rc =
            fn_cache_acquire(fn->cache, &e->req->runtime, on_runtime, e, &e->rt, &e->rt_wait, &err);
        if (rc < 0) {
            fail_deploy(e, err.msg);
            return;
        }
    }
    if (e->req->has_package) {
        rc = fn_cache_acquire(fn->cache, &e->req->package, on_package, e, &e->pkg, &e->pkg_wait,
                              &err);
        if (rc < 0) {
            fn_cache_cancel(e->rt_wait);
            e->rt_wait = NULL;
            fail_deploy(e, err.msg);
            return;
        }
    }
    exec_launch(e);
}

/* ----------------------------------------------------------- accepting */

static void on_accept_durable(void *arg, int rc)
{
    struct fn_exec *e = arg;

    if (rc < 0)
        log_error("execution record not durable execution=%s", e->req->execution_id);
    if (e->reply != NULL)
        reply_running(e);
    /* Finished before its RUNNING reply could go: exec_finish() left the
     * report to us. The record's FIFO runs this before on_finish_durable(). */
    if (e->finished)
        report(e);
}

static void exec_begin(struct fn_exec *e)
{
    e->slot = 1;
    e->fn->running++;
    exec_fetch(e);
}

static void start_queued(struct fn *fn)
{
    while (fn->queue != NULL && fn->running < fn->conf->max_concurrency && !fn->stopping) {
        struct fn_exec *e = fn->queue;

        fn->queue = e->qnext;
        if (fn->queue == NULL)
            fn->queue_tail = NULL;
        fn->queued--;
        exec_begin(e);
    }
}

static struct fn_exec *exec_new(struct fn *fn, struct fn_req *r, const struct fn_local *local,
                                fn_reply_fn reply, void *arg)
{
    struct fn_exec *e = xcalloc(1, sizeof(*e));

    e->fn = fn;
    e->req = r;
    e->received_at = time_now_us();
    e->reply = reply;
    e->reply_arg = arg;
    if (local != NULL) {
        e->local = 1;
        e->trigger_id = xstrdup(local->trigger_id ? local->trigger_id : "");
        e->firing_seq = local->firing_seq;
    }
    e->next = fn->execs;
    if (fn->execs)
        fn->execs->prev = e;
    fn->execs = e;
    return e;
}

static void accept(struct fn *fn, struct fn_req *r, const struct fn_local *local, fn_reply_fn reply,
                   void *arg)
{
    struct fn_exec *e = exec_new(fn, r, local, reply, arg);
    cJSON *fields = local != NULL ? local_fields(e) : NULL;
    int rc =
        fn_store_accept(fn->store, r->execution_id, e->received_at, fields, on_accept_durable, e);

    cJSON_Delete(fields);
    if (rc < 0) {
        /* Cannot happen: the id was checked just before. */
        exec_unlink(e);
        e->req = NULL;
        free(e->trigger_id);
        free(e);
        fn_reply_error(reply, arg, "busy", "Execution %s is already known.", r->execution_id);
        fn_req_free(r);
        return;
    }
    if (fn->running < fn->conf->max_concurrency) {
        exec_begin(e);
        return;
    }
    e->qnext = NULL;
    if (fn->queue_tail)
        fn->queue_tail->qnext = e;
    else
        fn->queue = e;
    fn->queue_tail = e;
    fn->queued++;
}

/* --------------------------------------------------------- duplicates */

struct dup_read {
    fn_reply_fn reply;
    void *arg;
};

static void on_stored_result(void *arg, cJSON *result)
{
    struct dup_read *d = arg;

    if (result != NULL)
        d->reply(d->arg, "SUCCESS", result);
    else
        fn_reply_error(d->reply, d->arg, "busy", "The stored result cannot be read.");
    free(d);
}

/* 1 when the id is known and answered. The check comes before the deadline
 * (3.6): a repeat of an accepted execution is never refused. */
static int answer_known(struct fn *fn, const char *id, fn_reply_fn reply, void *arg)
{
    const struct fn_rec_info *info = fn_store_get(fn->store, id);
    struct fn_exec *e;

    if (info == NULL)
        return 0;
    e = find_exec(fn, id);
    if (info->state == FN_REC_FINISHED && e != NULL && e->result != NULL) {
        /* Reported, its record still being written (exec_finish()): the
         * file does not hold the result yet, memory does. */
        reply(arg, "SUCCESS", cJSON_Duplicate(e->result, 1));
        return 1;
    }
    if (info->state == FN_REC_FINISHED) {
        struct dup_read *d = xcalloc(1, sizeof(*d));

        d->reply = reply;
        d->arg = arg;
        fn_store_read_result(fn->store, id, on_stored_result, d);
        return 1;
    }
    cJSON *m = cJSON_CreateObject();

    cJSON_AddStringToObject(m, "state", e != NULL && e->started ? "started" : "queued");
    reply(arg, "RUNNING", m);
    return 1;
}

static int admissible(struct fn *fn, const struct fn_req *r, int local, fn_reply_fn reply,
                      void *arg)
{
    struct error err;

    if (!fn->ready || fn->stopping) {
        fn_reply_error(reply, arg, "busy", "The function executor is %s.",
                       fn->stopping ? "stopping" : "starting");
        return 0;
    }
    if (r->deadline != 0 && r->deadline < time_now_us()) {
        fn_reply_error(reply, arg, "deadline", "The execution deadline has passed.");
        return 0;
    }
    if (fn_executor_usable(fn, r, &err) < 0) {
        fn_reply_error(reply, arg, "unsupported", "Board %s cannot run this function: %s.",
                       fn->board_id, err.msg);
        return 0;
    }
    if (fn->outbox_full) {
        fn_reply_error(reply, arg, "busy", "The board's result outbox is full.");
        return 0;
    }
    if (!local && fn->running >= fn->conf->max_concurrency) {
        fn_reply_error(reply, arg, "busy", "All %lld execution slots are in use.",
                       (long long)fn->conf->max_concurrency);
        return 0;
    }
    if (local && fn->queued >= FN_LOCAL_QUEUE_MAX) {
        fn_reply_error(reply, arg, "busy", "Too many local executions are waiting.");
        return 0;
    }
    return 1;
}

static void execute(struct fn *fn, const cJSON *payload, const struct fn_local *local,
                    fn_reply_fn reply, void *arg)
{
    struct fn_req *r;
    struct error err;

    if (fn_req_parse(payload, FN_REQ_EXECUTE, &r, &err) < 0) {
        fn_reply_error(reply, arg, "bad_request", "Invalid FunctionExecute: %s.", err.msg);
        return;
    }
    if (answer_known(fn, r->execution_id, reply, arg) ||
        !admissible(fn, r, local != NULL, reply, arg)) {
        fn_req_free(r);
        return;
    }
    accept(fn, r, local, reply, arg);
}

void fn_execute(struct fn *fn, const cJSON *payload, fn_reply_fn reply, void *arg)
{
    execute(fn, payload, NULL, reply, arg);
}

void fn_execute_local(struct fn *fn, const cJSON *payload, const struct fn_local *local,
                      fn_reply_fn reply, void *arg)
{
    static const struct fn_local none = {"", 0};

    execute(fn, payload, local ? local : &none, reply, arg);
}

/* ----------------------------------------------- startup and shutdown */

struct revived {
    struct fn *fn;
    char id[UUID_STR_LEN];
    cJSON *result;
};

static void on_revived_durable(void *arg, int rc)
{
    struct revived *v = arg;

    (void)rc;
    if (v->fn->hooks.on_result != NULL && !v->fn->stopping)
        v->fn->hooks.on_result(v->fn->hooks.arg, v->result);
    cJSON_Delete(v->result);
    free(v);
}

/* A record found at startup. "accepted": the previous run died while it
 * ran; it ends as a service failure (3.6: never run twice). "finished" but
 * not acknowledged: handed to the core again. */
void fn_exec_found(void *arg, const char *id, const struct fn_rec_info *info, const cJSON *local,
                   const cJSON *result)
{
    struct fn *fn = arg;
    struct fn_result_in in = {0};
    struct revived *v;

    if (info->state == FN_REC_FINISHED) {
        if (result != NULL && fn->hooks.on_result != NULL)
            fn->hooks.on_result(fn->hooks.arg, result);
        return;
    }
    log_warn("execution interrupted by a restart: reporting it failed execution=%s", id);
    in.execution_id = id;
    in.board_id = fn->board_id;
    in.executor = fn_executor_name(fn);
    in.received_at = info->received_at;
    in.service_failure = 1;
    v = xcalloc(1, sizeof(*v));
    v->fn = fn;
    snprintf(v->id, sizeof(v->id), "%s", id);
    v->result = fn_result_build(&in);
    if (local != NULL)
        merge_local(v->result, local);
    fn_store_finish(fn->store, id, v->result, on_revived_durable, v);
}

/* Shutdown: containers go, records stay "accepted" (reported failed at the
 * next start). Executions whose record is still being written are left to
 * finish that write and free themselves. */
void fn_exec_abort_all(struct fn *fn)
{
    struct fn_exec *e = fn->execs;

    while (e != NULL) {
        struct fn_exec *next = e->next;

        if (!e->finished) {
            /* A reply still due goes out when its record write completes. */
            fn_cache_cancel(e->rt_wait);
            fn_cache_cancel(e->pkg_wait);
            e->rt_wait = e->pkg_wait = NULL;
            if (e->c != NULL) {
                ctr_release(e->c);
                e->c = NULL;
            }
            e->finished = 1;
            e->slot = 0;
        }
        e = next;
    }
    fn->queue = fn->queue_tail = NULL;
    fn->queued = 0;
    fn->running = 0;
}

cJSON *fn_exec_running(const struct fn *fn)
{
    cJSON *arr = cJSON_CreateArray();
    char t[TIME_ISO_LEN];

    for (const struct fn_exec *e = fn->execs; e != NULL; e = e->next) {
        cJSON *o;

        if (e->finished || !e->started)
            continue;
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "execution_id", e->req->execution_id);
        cJSON_AddStringToObject(o, "container_id", e->container_id);
        cJSON_AddStringToObject(o, "function_id", e->req->function_id);
        json_add_int(o, "function_version", e->req->function_version);
        cJSON_AddStringToObject(o, "started_at", time_format(e->started_at, TIME_Z_US, t));
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

void fn_exec_free_all(struct fn *fn)
{
    while (fn->execs != NULL)
        exec_free(fn->execs);
}
