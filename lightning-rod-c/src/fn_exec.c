/* src/fn_exec.c: see fn_exec.h. The executor's life cycle (creation,
 * startup, shutdown), and the answers that need no execution (caps,
 * status, acknowledgements). */
#include "src/fn_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "src/fn_fs.h"

#define DRAIN_POLL_S 0.01
#define RUNTIME_MAX_ENTRIES 200000

void fn_reply_error(fn_reply_fn reply, void *arg, const char *code, const char *fmt, ...)
{
    cJSON *m = cJSON_CreateObject();
    char text[ERROR_MSG_MAX + 128];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    cJSON_AddStringToObject(m, "code", code);
    cJSON_AddStringToObject(m, "message", text);
    reply(arg, "ERROR", m);
}

const char *fn_executor_name(const struct fn *fn)
{
    if (fn->conf->executor == FN_EXECUTOR_PROCESS)
        return "process";
    return fn->probe.ok ? "crun" : "none";
}

/* Can this board run r at all (3.3's eligibility, checked again here)?
 * -ENOTSUP with the reason for an "unsupported" answer. */
int fn_executor_usable(const struct fn *fn, const struct fn_req *r, struct error *err)
{
    int process = fn->conf->executor == FN_EXECUTOR_PROCESS;

    if (!process && !fn->probe.ok)
        return error_set(err, -ENOTSUP, "no executor available: %s", fn->probe.error);
    if (process && fn_config_process_runtime(fn->conf, r->runtime_name) == NULL)
        return error_set(err, -ENOTSUP, "runtime %s has no process command", r->runtime_name);
    if (r->raw_access && (process || !fn->probe.enforced.devices))
        return error_set(err, -ENOTSUP,
                         "raw device access needs an executor that enforces device rules");
    for (size_t i = 0; r->raw_access && i < r->ndevices; i++) {
        char chip[HAL_NAME_MAX + 1], path[64];
        struct stat st;

        if (sscanf(r->devices[i], "gpio:%32[^:]:", chip) != 1)
            continue;
        snprintf(path, sizeof(path), "/dev/%s", chip);
        if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode))
            return error_set(err, -ENOTSUP, "raw device access needs a real chip: %s", chip);
    }
    return 0;
}

static int make_parts(struct fn *fn, struct error *err)
{
    const struct fn_config *c = fn->conf;
    struct ctr_runner_opts ro = {0};
    struct fn_dl_opts dlo = {0};
    struct fn_cache_opts co = {0};
    char *dir;
    int rc;

    ro.executor = c->executor == FN_EXECUTOR_PROCESS ? CTR_EXEC_PROCESS : CTR_EXEC_CRUN;
    ro.crun_path = c->crun_path;
    ro.crun_root = c->crun_root;
    ro.run_dir = c->run_dir;
    ro.cgroup = *fn->d.cgroup;
    ro.io = fn->d.io;
    if (ro.executor == CTR_EXEC_CRUN && c->crun_path == NULL)
        ro.crun_path = "/usr/bin/crun"; /* missing: the probe reports it */
    rc = ctr_runner_new(fn->d.ev, fn->d.reaper, fn->d.wq, &ro, &fn->runner, err);
    if (rc < 0)
        return rc;
    dlo.reaper = fn->d.reaper;
    dlo.ca_file = c->download_ca;
    dlo.insecure = c->download_insecure;
    dlo.retries = -1;
    /* lrc-fetch parses the network's answers as the containers' user. */
    dlo.set_ids = 1;
    dlo.uid = (uid_t)c->container_uid;
    dlo.gid = (gid_t)c->container_gid;
    rc = fn_dl_new(fn->d.ev, &dlo, &fn->dl, err);
    if (rc < 0)
        return rc;
    co.reaper = fn->d.reaper;
    co.dir = c->cache_dir;
    co.max_bytes = c->cache_max_bytes;
    co.package_max_bytes = 268435456;
    co.package_max_entries = 10000;
    co.runtime_max_bytes = 1073741824;
    co.runtime_max_entries = RUNTIME_MAX_ENTRIES;
    rc = fn_cache_new(fn->d.ev, fn->d.wq, fn->dl, &co, &fn->cache, err);
    if (rc < 0)
        return rc;
    dir = xasprintf("%s/executions", c->state_dir);
    rc = fn_store_new(fn->d.ev, fn->d.wq, dir, c->dedup_retention, &fn->store, err);
    free(dir);
    if (rc < 0)
        return rc;
    fn->warm = fn_warm_new(fn->d.ev, fn->runner, c->max_warm_total);
    return 0;
}

/* Bundles of a previous run: their containers are gone (or about to be
 * deleted by the reconciliation); run_dir is a tmpfs, so this is quick. */
static void clear_bundles(const struct fn_config *c)
{
    static const char *const sub[] = {"c", "p"};

    for (size_t i = 0; i < 2; i++) {
        char *d = xasprintf("%s/%s", c->run_dir, sub[i]);
        struct error err;

        if (fn_fs_rmtree(d, &err) < 0)
            log_warn("cannot clear %s: %s", d, err.msg);
        free(d);
    }
}

int fn_new(const struct fn_deps *deps, const struct fn_config *conf, const struct fn_hooks *hooks,
           struct fn **out, struct error *err)
{
    struct fn *fn = xcalloc(1, sizeof(*fn));
    int rc;

    *out = NULL;
    fn->d = *deps;
    fn->conf = conf;
    fn->hooks = *hooks;
    fn_map_init(&fn->pins);
    /* DeviceCaps may be asked before the probe ends: say why nothing runs. */
    snprintf(fn->probe.error, sizeof(fn->probe.error), "the startup probe has not finished");
    clear_bundles(conf);
    rc = make_parts(fn, err);
    if (rc < 0) {
        fn_free(fn);
        return rc;
    }
    if (conf->executor == FN_EXECUTOR_PROCESS)
        log_warn("function executor: plain processes, no isolation (deviceless-api.md 3.8)");
    *out = fn;
    return 0;
}

/* ------------------------------------------------------------- startup */

static void step_done(struct fn *fn)
{
    if (--fn->startup_left > 0)
        return;
    fn_pins_apply(fn);
    fn->ready = 1;
    log_info("function executor ready executor=%s slots=%lld", fn_executor_name(fn),
             (long long)fn->conf->max_concurrency);
    if (fn->ready_fn != NULL)
        fn->ready_fn(fn->ready_arg);
}

static void on_probe(void *arg, const struct ctr_probe_result *res)
{
    struct fn *fn = arg;

    fn->probe = *res;
    step_done(fn);
}

static void on_reconciled(void *arg, int n)
{
    struct fn *fn = arg;
    struct error err;
    const struct fn_config *c = fn->conf;

    if (n > 0)
        log_info("deleted %d containers of a previous run", n);
    if (ctr_probe_run(fn->runner, c->run_dir, c->probe_path, (uid_t)c->container_uid,
                      (gid_t)c->container_gid, on_probe, fn, &err) < 0) {
        fn->probe.ok = 0;
        snprintf(fn->probe.error, sizeof(fn->probe.error), "%s", err.msg);
        log_error("container executor unavailable: %s", err.msg);
        step_done(fn);
    }
}

static void on_loaded(void *arg)
{
    step_done(arg);
}

void fn_start(struct fn *fn, void (*ready)(void *arg), void *arg)
{
    struct error err;

    fn->ready_fn = ready;
    fn->ready_arg = arg;
    fn->startup_left = 3;
    fn_pins_load(fn);
    fn_cache_load(fn->cache, on_loaded, fn);
    fn_store_load(fn->store, fn_exec_found, on_loaded, fn);
    if (fn->conf->executor == FN_EXECUTOR_PROCESS) {
        fn->probe.ok = 1;
        fn->probe.enforced.memory = fn->probe.enforced.pids = 1;
        step_done(fn);
        return;
    }
    if (ctr_reconcile(fn->runner, on_reconciled, fn, &err) < 0) {
        log_warn("cannot list containers: %s", err.msg);
        on_reconciled(fn, 0);
    }
}

void fn_set_board_id(struct fn *fn, const char *board_uuid)
{
    snprintf(fn->board_id, sizeof(fn->board_id), "%s", board_uuid ? board_uuid : "");
}

void fn_set_outbox_full(struct fn *fn, int full)
{
    fn->outbox_full = full;
}

int fn_running(const struct fn *fn)
{
    return fn->running + fn->queued;
}

struct ctr_runner *fn_runner(struct fn *fn)
{
    return fn->runner;
}

/* -------------------------------------------------------- status, caps */

cJSON *fn_status(struct fn *fn)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddItemToObject(o, "running", fn_exec_running(fn));
    cJSON_AddItemToObject(o, "warm", fn_warm_status(fn->warm));
    cJSON_AddItemToObject(o, "known", fn_store_known(fn->store));
    return o;
}

cJSON *fn_caps(struct fn *fn)
{
    cJSON *o = cJSON_CreateObject(), *names;

    cJSON_AddStringToObject(o, "executor", fn_executor_name(fn));
    cJSON_AddItemToObject(o, "executor_detail", ctr_probe_detail(&fn->probe, fn->d.cgroup));
    json_add_int(o, "max_concurrency", fn->conf->max_concurrency);
    names = cJSON_AddArrayToObject(o, "process_runtimes");
    for (size_t i = 0; fn->conf->executor == FN_EXECUTOR_PROCESS && i < fn->conf->nprocess_runtimes;
         i++)
        cJSON_AddItemToArray(names, cJSON_CreateString(fn->conf->process_runtimes[i].name));
    cJSON_AddItemToObject(o, "cache", fn_cache_caps(fn->cache));
    cJSON_AddBoolToObject(o, "io_socket", fn->d.io != NULL);
    return o;
}

void fn_result_acked(struct fn *fn, const char *execution_id)
{
    char id[UUID_STR_LEN];

    if (uuid_normalize(execution_id, id) != 0)
        return;
    fn_store_ack(fn->store, id);
    fn_warm_release(fn->warm, id);
}

/* ------------------------------------------------------------ shutdown */

static int idle(const struct fn *fn)
{
    return ctr_runner_busy(fn->runner) == 0 && fn_cache_busy(fn->cache) == 0 &&
           fn_store_busy(fn->store) == 0 && fn->busy == 0;
}

static void on_drain(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct fn *fn = t->data;

    (void)revents;
    if (!idle(fn))
        return;
    ev_timer_stop(ev, t);
    if (fn->shutdown_fn != NULL)
        fn->shutdown_fn(fn->shutdown_arg);
}

void fn_shutdown(struct fn *fn, void (*done)(void *arg), void *arg)
{
    fn->stopping = 1;
    fn->shutdown_fn = done;
    fn->shutdown_arg = arg;
    fn_exec_abort_all(fn);
    fn_deploy_abort_all(fn);
    fn_warm_free(fn->warm);
    fn->warm = fn_warm_new(fn->d.ev, fn->runner, 0);
    ev_timer_init(&fn->drain, on_drain, 0., DRAIN_POLL_S);
    fn->drain.data = fn;
    ev_timer_start(fn->d.ev, &fn->drain);
}

void fn_free(struct fn *fn)
{
    if (fn == NULL)
        return;
    ev_timer_stop(fn->d.ev, &fn->drain);
    fn_exec_free_all(fn);
    fn_warm_free(fn->warm);
    fn_store_free(fn->store);
    fn_cache_free(fn->cache);
    fn_dl_free(fn->dl);
    ctr_runner_free(fn->runner);
    fn_pins_clear(fn);
    free(fn);
}
