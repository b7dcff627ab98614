/* src/agent.c: see agent.h. Building the agent, its signals, stopping it,
 * and the factory reset; the settings it runs with are agent_settings.c.
 *
 * Stopping is a chain of asynchronous steps, because each waits for
 * something outside: GOODBYE answered (at most 1 s), plugins ended
 * (SIGTERM, SIGKILL after 5 s), the executor's containers deleted; then the
 * loop ends. A timer bounds the whole chain. The factory reset walks a
 * similar chain and ends with the agent unconfigured instead. */
#include "src/agent_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "src/ctl_sim.h"
#include "src/device.h"
#include "src/fn_fs.h"
#include "src/link.h"
#include "src/outbox.h"
#include "src/trigger_agent.h"
#include "src/plugins.h"
#include "src/services.h"
#include "src/wsconn.h"

#define WQ_THREADS 2
#define STOP_BOUND_S 20.0

static void agent_status_op(struct ctl_req *req, const cJSON *msg, void *arg);

const char *lrc_agent_board(const struct lrc_agent *a)
{
    return a->settings.registered ? a->settings.uuid : NULL;
}

/* ----------------------------------------------------------- hooks */

static void on_result(void *arg, const cJSON *result)
{
    struct lrc_agent *a = arg;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(result, "execution_id");
    cJSON *kw;

    if (!cJSON_IsString(id) || lrc_agent_board(a) == NULL)
        return;
    kw = cJSON_Duplicate(result, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(kw, "board_uuid");
    cJSON_AddStringToObject(kw, "board_uuid", lrc_agent_board(a));
    lrc_outbox_put(a->outbox, LRC_OUTBOX_FUNCTION_RESULT, kw, id->valuestring);
}

static void on_acked(void *arg, enum lrc_outbox_kind kind, const char *key)
{
    struct lrc_agent *a = arg;

    if (kind == LRC_OUTBOX_FUNCTION_RESULT && key != NULL && a->fn != NULL)
        fn_result_acked(a->fn, key);
}

static void on_fn_ready(void *arg)
{
    struct lrc_agent *a = arg;

    a->fn_ready = 1;
    lrc_triggers_ready(a);
    if (!a->stopping && !a->resetting)
        lrc_plugins_start_onboot(a->plugins);
}

static void on_online(void *arg, int online)
{
    struct lrc_agent *a = arg;

    lrc_outbox_online(a->outbox, online);
    lrc_services_online(a->services, online);
}

/* ------------------------------------------------------------ signals */

static void on_stop_signal(struct ev_loop *ev, ev_signal *w, int revents)
{
    (void)ev;
    (void)revents;
    log_info("signal %d: stopping", w->signum);
    lrc_agent_stop(w->data, 0);
}

/* SIGHUP: when stderr is a file (an operator's redirection), reopen it by
 * its name, so that a rotated log is let go of. */
static void on_hup(struct ev_loop *ev, ev_signal *w, int revents)
{
    char path[4096];
    ssize_t n = readlink("/proc/self/fd/2", path, sizeof(path) - 1);
    struct stat st;
    int fd;

    (void)ev;
    (void)w;
    (void)revents;
    if (n <= 0 || fstat(2, &st) < 0 || !S_ISREG(st.st_mode)) {
        log_info("SIGHUP: the log is not a file: nothing to reopen");
        return;
    }
    path[n] = '\0';
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0 || dup2(fd, 2) < 0)
        log_error("SIGHUP: cannot reopen %s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    log_info("SIGHUP: log reopened");
}

static void start_signals(struct lrc_agent *a)
{
    struct ev_loop *ev = loop_ev(a->loop);

    signal(SIGPIPE, SIG_IGN);
    ev_signal_init(&a->sigterm, on_stop_signal, SIGTERM);
    ev_signal_init(&a->sigint, on_stop_signal, SIGINT);
    ev_signal_init(&a->sighup, on_hup, SIGHUP);
    a->sigterm.data = a->sigint.data = a->sighup.data = a;
    ev_signal_start(ev, &a->sigterm);
    ev_signal_start(ev, &a->sigint);
    ev_signal_start(ev, &a->sighup);
}

/* -------------------------------------------------------------- build */

static int build_executor(struct lrc_agent *a, struct error *err)
{
    const struct lrc_conf *cf = a->conf;
    struct fn_deps deps = {0};
    struct fn_hooks hooks = {on_result, a};
    struct ctr_runner_opts ro = {0};
    int rc;

    a->fnio = (struct fn_io){a->loop, a->hal};
    a->io = fn_io_ops(&a->fnio);
    deps.ev = loop_ev(a->loop);
    deps.wq = a->wq;
    deps.reaper = a->reaper;
    deps.cgroup = &a->cgroup;
    deps.io = &a->io;
    rc = fn_new(&deps, &cf->fn, &hooks, &a->fn, err);
    if (rc < 0)
        return rc;
    if (lrc_agent_board(a) != NULL)
        fn_set_board_id(a->fn, lrc_agent_board(a));
    if ((cf->plugin_executor == LRC_PLUGIN_PROCESS) != (cf->fn.executor == FN_EXECUTOR_PROCESS)) {
        ro.executor = cf->plugin_executor == LRC_PLUGIN_PROCESS ? CTR_EXEC_PROCESS : CTR_EXEC_CRUN;
        ro.crun_path = cf->fn.crun_path;
        ro.crun_root = cf->fn.crun_root;
        ro.run_dir = cf->fn.run_dir;
        ro.cgroup = a->cgroup;
        ro.io = &a->io;
        rc = ctr_runner_new(loop_ev(a->loop), a->reaper, a->wq, &ro, &a->plugin_runner, err);
        if (rc < 0)
            return error_prefix(err, "plugin runner");
    }
    return 0;
}

/* The tunnel client is made when the first tunnel opens: its vhost sets up
 * TLS, about a megabyte a board without exposed services does not need. */
struct tun_client *lrc_agent_tun(struct lrc_agent *a, struct error *err)
{
    const struct lrc_conf *cf = a->conf;
    struct tun_client_opts to;

    if (a->tun != NULL)
        return a->tun;
    tun_client_opts_init(&to);
    to.ca_file = cf->ca_file;
    to.insecure = cf->insecure;
    to.backoff_initial_ms = (unsigned)cf->backoff_initial * 1000;
    to.backoff_max_ms = (unsigned)cf->backoff_max * 1000;
    to.ping_interval = (unsigned)cf->ping_interval;
    if (tun_client_new(a->loop, &to, &a->tun, err) < 0)
        return NULL;
    return a->tun;
}

static int build_net(struct lrc_agent *a, struct error *err)
{
    const struct lrc_conf *cf = a->conf;
    struct lrc_ws_opts wo = {cf->ca_file, cf->insecure, (unsigned)cf->ping_interval, WAMP_MSG_MAX};

    return lrc_ws_ctx_new(a->loop, &wo, &a->ws, err);
}

static int build_control(struct lrc_agent *a, struct error *err)
{
    char *path = xasprintf("%s/%s", a->conf->run_dir, CTL_SOCKET_NAME);
    int rc = ctl_new(a->loop, path, &a->ctl, err);

    free(path);
    if (rc == 0)
        rc = ctl_sim_register(a->ctl, a->hal);
    if (rc == 0)
        rc = ctl_register(a->ctl, "status", agent_status_op, a);
    return rc < 0 && err->code == 0 ? error_set(err, rc, "control socket: %s", strerror(-rc)) : rc;
}

static int build_base(struct lrc_agent *a, struct error *err)
{
    struct loop_opts lo = {.name = "lightning-rod-c", .stop_on_signals = 0};
    struct wq_hooks wh;
    int rc;

    rc = fn_fs_mkdirs(a->conf->state_dir, 0700, err);
    if (rc == 0)
        rc = fn_fs_mkdirs(a->conf->run_dir, 0755, err);
    if (rc == 0)
        rc = loop_new(&lo, &a->loop, err);
    if (rc < 0)
        return rc;
    wh = loop_wq_hooks(a->loop, NULL, NULL, NULL);
    a->wq = wq_new(WQ_THREADS, 0, &wh);
    loop_set_wq(a->loop, a->wq);
    start_signals(a);
    rc = ctr_reaper_new(loop_ev(a->loop), &a->reaper, err);
    if (rc == 0)
        rc = hal_new(loop_ev(a->loop), &a->conf->hal, &a->hal, err);
    return rc;
}

/* The HAL reads [io] sim_chips and sim_sensors when it is built: a bad one
 * is a configuration error like any other (exit status 78). */
static int build_base_checked(struct lrc_agent *a, int *exit_code, struct error *err)
{
    int rc = build_base(a, err);

    if (rc == -EINVAL && a->loop != NULL && a->hal == NULL && a->reaper != NULL)
        *exit_code = LRC_EXIT_CONFIG;
    return rc;
}

static int build_modules(struct lrc_agent *a, struct error *err)
{
    int rc = lrc_outbox_new(a, (size_t)a->conf->fn.outbox_max, on_acked, a, &a->outbox, err);

    if (rc == 0)
        rc = lrc_plugins_new(a, &a->plugins, err);
    if (rc == 0)
        rc = lrc_services_new(a, &a->services, err);
    if (rc == 0)
        rc = lrc_triggers_init(a, err);
    if (rc < 0)
        return rc;
    a->device = lrc_device_new(a);
    a->link = lrc_link_new(a);
    lrc_link_watch(a->link, on_online, a);
    return 0;
}

int lrc_agent_init(struct lrc_agent *a, const struct lrc_conf *conf, const struct ctr_cgroup *cg,
                   int *exit_code, struct error *err)
{
    int rc;

    memset(a, 0, sizeof(*a));
    a->conf = conf;
    a->cgroup = *cg;
    a->started_us = time_mono_us();
    *exit_code = 1;
    rc = agent_load_settings(a, exit_code, err);
    if (rc == 0)
        rc = build_base_checked(a, exit_code, err);
    if (rc == 0)
        rc = build_control(a, err);
    if (rc == 0)
        rc = build_executor(a, err);
    if (rc == 0)
        rc = build_net(a, err);
    if (rc == 0) {
        a->settings_store = lrc_store_new(a->wq, a->settings_path, 0600);
        rc = build_modules(a, err);
    }
    if (rc < 0)
        return rc;
    fn_start(a->fn, on_fn_ready, a);
    agent_watch_settings(a);
    log_info("lightning-rod-c %s: state_dir=%s run_dir=%s io=%s executor=%s", LRC_VERSION,
             conf->state_dir, conf->run_dir, hal_backend_name(a->hal),
             conf->fn.executor == FN_EXECUTOR_PROCESS ? "process" : "crun");
    lrc_link_start(a->link);
    return 0;
}

int lrc_agent_run(struct lrc_agent *a)
{
    loop_run(a->loop);
    return a->exit_code;
}

/* --------------------------------------------------------------- stop */

static void stopped_all(struct lrc_agent *a)
{
    ev_timer_stop(loop_ev(a->loop), &a->exit_timer);
    log_info("stopped (exit status %d)", a->exit_code);
    loop_stop(a->loop);
}

static void on_fn_stopped(void *arg)
{
    struct lrc_agent *a = arg;

    a->fn_stopped = 1;
    stopped_all(a);
}

static void on_plugins_stopped(void *arg)
{
    struct lrc_agent *a = arg;

    lrc_services_close_all(a->services);
    if (a->fn != NULL && !a->fn_stopped)
        fn_shutdown(a->fn, on_fn_stopped, a);
    else
        stopped_all(a);
}

static void on_link_stopped(void *arg)
{
    struct lrc_agent *a = arg;

    lrc_plugins_stop_all(a->plugins, on_plugins_stopped, a);
}

static void on_stop_bound(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct lrc_agent *a = t->data;

    (void)ev;
    (void)revents;
    log_warn("stop: still waiting after %.0f s: stopping anyway", STOP_BOUND_S);
    loop_stop(a->loop);
}

void lrc_agent_stop(struct lrc_agent *a, int exit_code)
{
    if (a->stopping)
        return;
    a->stopping = 1;
    a->exit_code = exit_code;
    ev_stat_stop(loop_ev(a->loop), &a->settings_watch);
    ev_timer_init(&a->exit_timer, on_stop_bound, STOP_BOUND_S, 0.);
    a->exit_timer.data = a;
    ev_timer_start(loop_ev(a->loop), &a->exit_timer);
    lrc_link_stop(a->link, on_link_stopped, a);
}

/* ------------------------------------------------------- factory reset */

struct wipe {
    struct lrc_agent *a;
    int rc;
    struct error err;
};

/* Everything in the state directory goes; the directories the modules
 * write into come back empty. */
static void work_wipe(void *arg, void *ctx)
{
    struct wipe *w = arg;
    char *sub;

    (void)ctx;
    w->rc = fn_fs_rmtree(w->a->conf->state_dir, &w->err);
    if (w->rc == 0)
        w->rc = fn_fs_mkdirs(w->a->conf->state_dir, 0700, &w->err);
    sub = xasprintf("%s/%s", w->a->conf->state_dir, LRC_OUTBOX_DIR);
    if (w->rc == 0)
        w->rc = fn_fs_mkdirs(sub, 0700, &w->err);
    free(sub);
    sub = xasprintf("%s/plugins", w->a->conf->state_dir);
    if (w->rc == 0)
        w->rc = fn_fs_mkdirs(sub, 0700, &w->err);
    free(sub);
}

static void wiped(void *arg)
{
    struct wipe *w = arg;
    struct lrc_agent *a = w->a;
    struct error err;

    if (w->rc < 0)
        log_error("factory reset: %s", w->err.msg);
    free(w);
    lrc_settings_clear(&a->settings);
    a->fn_ready = 0;
    a->fn_stopped = 0;
    if (build_executor(a, &err) < 0) {
        log_error("factory reset: the function executor cannot start again: %s", err.msg);
    } else {
        fn_start(a->fn, on_fn_ready, a);
    }
    a->resetting = 0;
    log_warn("factory reset done: the board is unconfigured");
    lrc_link_start(a->link);
}

static void reset_fn_stopped(void *arg)
{
    struct lrc_agent *a = arg;
    struct wipe *w = xcalloc(1, sizeof(*w));

    fn_free(a->fn);
    a->fn = NULL;
    w->a = a;
    if (wq_submit(a->wq, work_wipe, wiped, w) < 0) {
        w->rc = error_set(&w->err, -ESHUTDOWN, "the worker pool is stopping");
        wiped(w);
    }
}

static void reset_link_stopped(void *arg)
{
    struct lrc_agent *a = arg;

    lrc_plugins_purge(a->plugins);
    lrc_services_purge(a->services);
    lrc_outbox_purge(a->outbox);
    lrc_triggers_purge(a);
    fn_shutdown(a->fn, reset_fn_stopped, a);
}

void lrc_agent_factory_reset(struct lrc_agent *a)
{
    if (a->stopping || a->resetting)
        return;
    log_warn("factory reset: stopping plugins, tunnels and functions, deleting %s",
             a->conf->state_dir);
    a->resetting = 1;
    lrc_link_stop(a->link, reset_link_stopped, a);
}

/* ------------------------------------------------------------- status */

static void agent_status_op(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct lrc_agent *a = arg;
    cJSON *o = lrc_link_status(a->link);
    cJSON *svc = lrc_services_status(a->services);

    (void)msg;
    cJSON_AddStringToObject(o, "version", LRC_LR_VERSION);
    json_add_int(o, "uptime_s", (time_mono_us() - a->started_us) / 1000000);
    cJSON_AddItemToObject(o, "tunnels", cJSON_DetachItemFromObject(svc, "tunnels"));
    cJSON_Delete(svc);
    cJSON_AddItemToObject(o, "plugins", lrc_plugins_status(a->plugins));
    cJSON_AddItemToObject(o, "functions", a->fn ? fn_status(a->fn) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "outbox", lrc_outbox_status(a->outbox));
    cJSON_AddItemToObject(o, "triggers", lrc_triggers_status(a));
    ctl_reply(req, o);
}

/* ------------------------------------------------------------ teardown */

static void fn_drained(void *arg)
{
    ((struct lrc_agent *)arg)->fn_stopped = 1;
}

void lrc_agent_fini(struct lrc_agent *a)
{
    if (a->loop != NULL) {
        ev_stat_stop(loop_ev(a->loop), &a->settings_watch);
        ev_timer_stop(loop_ev(a->loop), &a->exit_timer);
    }
    lrc_triggers_fini(a); /* first: its firings feed the outbox and the executor */
    lrc_device_free(a->device);
    if (a->plugins != NULL)
        lrc_plugins_free(a->plugins);
    if (a->services != NULL)
        lrc_services_close_all(a->services);
    lrc_services_free(a->services);
    lrc_link_free(a->link);
    lrc_outbox_free(a->outbox);
    if (a->fn != NULL && !a->fn_stopped) {
        fn_shutdown(a->fn, fn_drained, a);
        while (!a->fn_stopped)
            ev_run(loop_ev(a->loop), EVRUN_ONCE);
    }
    ctl_free(a->ctl);
    fn_free(a->fn);
    ctr_runner_free(a->plugin_runner);
    lrc_ws_ctx_free(a->ws);
    tun_client_free(a->tun);
    hal_free(a->hal);
    lrc_store_free(a->settings_store); /* a write in flight completes, silently */
    if (a->loop != NULL)
        loop_set_wq(a->loop, NULL);
    wq_free(a->wq); /* runs the last completions: orphans free themselves */
    ctr_reaper_free(a->reaper);
    if (a->loop != NULL) {
        ev_signal_stop(loop_ev(a->loop), &a->sigterm);
        ev_signal_stop(loop_ev(a->loop), &a->sigint);
        ev_signal_stop(loop_ev(a->loop), &a->sighup);
    }
    loop_free(a->loop);
    lrc_settings_clear(&a->settings);
    free(a->settings_path);
}
