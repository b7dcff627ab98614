/* tests/tools/fntest: a small daemon hosting the function executor on a
 * real loop, with the HAL (sim), its IO sockets and the control socket, for
 * the integration tests and the measurements, until the agent core exists.
 *
 *   fntest --config-file F
 *
 * F is a lightning-rod-c.conf: [DEFAULT] state_dir, run_dir, log_level;
 * [function], [process_runtimes], [io]; and [fntest] board_id. It serves
 * <run_dir>/control.sock (one JSON object per line, src/ctl.h) with the
 * sim_* ops and these test ops:
 *   fn_ready                        {"ready": bool}
 *   fn_execute   {"payload"}        {"kind": "RUNNING"|"SUCCESS"|"ERROR", "message"}
 *   fn_execute_local {"payload", "trigger_id", "firing_seq"}   (same)
 *   fn_deploy, fn_remove, fn_purge {"payload"}                 (same)
 *   fn_status, fn_caps              {"status"} / {"caps"}
 *   fn_ack       {"execution_id"}
 *   fn_result    {"execution_id"}   {"result": <object or null>}
 *   fn_results                      a stream: {"event": "result", "result"} per result
 *   fn_outbox_full {"full": bool}
 *   plugin_call  {"argv", "input", "timeout_ms", "max_output"}
 *                {"failure", "exit_code", "signal", "timed_out", "out", "err", "truncated"}
 *   plugin_start {"name", "argv", "log_file"}, plugin_stop {"name"}, plugin_alive {"name"}
 * Results handed to on_result are kept (the "outbox" of this stand-in).
 * SIGTERM or SIGINT shuts the executor down and frees everything. */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "hal/hal.h"
#include "loop/loop.h"
#include "src/ctl.h"
#include "src/ctl_sim.h"
#include "src/ctr_job.h"
#include "src/fn_exec.h"
#include "src/fn_fs.h"
#include "src/fn_io.h"
#include "src/fn_map.h"

#define MAX_STREAMS 16
#define PLUGIN_ERR_TAIL 4096

struct settings {
    char *state_dir, *run_dir, *log_level, *board_id;
};

struct stream {
    struct ctl_stream *s;
    struct fntest *t;
};

struct service {
    struct ctr_job *job;
    int ended;
};

/* The process's one context, made in main. */
struct fntest {
    struct loop *loop;
    struct wq *wq;
    struct ctr_reaper *reaper;
    struct hal *hal;
    struct ctl *ctl;
    struct fn *fn;
    struct ctr_cgroup cgroup;
    struct fn_io fnio;
    struct ctr_io_ops io;
    struct fn_config conf;
    struct hal_config halconf;
    struct settings set;
    int ready, stopped;
    struct fn_map results;  /* execution_id -> cJSON * */
    struct fn_map services; /* name -> struct service * */
    struct stream streams[MAX_STREAMS];
};

/* --------------------------------------------------------------- results */

static void on_result(void *arg, const cJSON *result)
{
    struct fntest *t = arg;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(result, "execution_id");

    if (!cJSON_IsString(id))
        return;
    cJSON_Delete(fn_map_put(&t->results, id->valuestring, cJSON_Duplicate(result, 1)));
    for (int i = 0; i < MAX_STREAMS; i++) {
        cJSON *ev;

        if (t->streams[i].s == NULL)
            continue;
        ev = cJSON_CreateObject();
        cJSON_AddStringToObject(ev, "event", "result");
        cJSON_AddItemToObject(ev, "result", cJSON_Duplicate(result, 1));
        if (ctl_stream_send(t->streams[i].s, ev) < 0)
            log_warn("fntest: a result stream is full");
    }
}

static void on_stream_end(void *arg)
{
    ((struct stream *)arg)->s = NULL;
}

static void op_results(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct fntest *t = arg;

    (void)msg;
    for (int i = 0; i < MAX_STREAMS; i++) {
        if (t->streams[i].s != NULL)
            continue;
        t->streams[i].t = t;
        t->streams[i].s = ctl_stream_start(req, NULL, on_stream_end, &t->streams[i]);
        return;
    }
    ctl_reply_error(req, "too many streams");
}

static void op_result(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct fntest *t = arg;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "execution_id");
    const cJSON *r = cJSON_IsString(id) ? fn_map_get(&t->results, id->valuestring) : NULL;
    cJSON *o = cJSON_CreateObject();

    cJSON_AddItemToObject(o, "result", r ? cJSON_Duplicate(r, 1) : cJSON_CreateNull());
    ctl_reply(req, o);
}

/* ------------------------------------------------------ the procedures */

static void reply_fn(void *arg, const char *kind, cJSON *message)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "kind", kind);
    cJSON_AddItemToObject(o, "message", message);
    ctl_reply(arg, o);
}

typedef void (*proc_fn)(struct fn *, const cJSON *, fn_reply_fn, void *);

static void call_proc(struct ctl_req *req, const cJSON *msg, struct fntest *t, proc_fn fn)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(msg, "payload");

    fn(t->fn, p, reply_fn, req);
}

static void op_execute(struct ctl_req *r, const cJSON *m, void *a)
{
    call_proc(r, m, a, fn_execute);
}

static void op_deploy(struct ctl_req *r, const cJSON *m, void *a)
{
    call_proc(r, m, a, fn_deploy);
}

static void op_remove(struct ctl_req *r, const cJSON *m, void *a)
{
    call_proc(r, m, a, fn_remove);
}

static void op_purge(struct ctl_req *r, const cJSON *m, void *a)
{
    call_proc(r, m, a, fn_purge);
}

static void op_execute_local(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct fntest *t = arg;
    const cJSON *tid = cJSON_GetObjectItemCaseSensitive(msg, "trigger_id");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(msg, "firing_seq");
    struct fn_local local = {cJSON_IsString(tid) ? tid->valuestring : "",
                             cJSON_IsNumber(seq) ? (int64_t)seq->valuedouble : 0};

    fn_execute_local(t->fn, cJSON_GetObjectItemCaseSensitive(msg, "payload"), &local, reply_fn,
                     req);
}

static void op_status(struct ctl_req *req, const cJSON *msg, void *arg)
{
    cJSON *o = cJSON_CreateObject();

    (void)msg;
    cJSON_AddItemToObject(o, "status", fn_status(((struct fntest *)arg)->fn));
    ctl_reply(req, o);
}

static void op_caps(struct ctl_req *req, const cJSON *msg, void *arg)
{
    cJSON *o = cJSON_CreateObject();

    (void)msg;
    cJSON_AddItemToObject(o, "caps", fn_caps(((struct fntest *)arg)->fn));
    ctl_reply(req, o);
}

static void op_ready(struct ctl_req *req, const cJSON *msg, void *arg)
{
    cJSON *o = cJSON_CreateObject();

    (void)msg;
    cJSON_AddBoolToObject(o, "ready", ((struct fntest *)arg)->ready);
    ctl_reply(req, o);
}

static void op_ack(struct ctl_req *req, const cJSON *msg, void *arg)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "execution_id");

    if (!cJSON_IsString(id)) {
        ctl_reply_error(req, "execution_id is required");
        return;
    }
    fn_result_acked(((struct fntest *)arg)->fn, id->valuestring);
    ctl_reply(req, NULL);
}

static void op_outbox_full(struct ctl_req *req, const cJSON *msg, void *arg)
{
    fn_set_outbox_full(((struct fntest *)arg)->fn,
                       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "full")));
    ctl_reply(req, NULL);
}

/* --------------------------------------------------------------- plugins */

static char **argv_of(const cJSON *arr)
{
    const cJSON *it;
    size_t n = 0;
    char **v;

    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0 || cJSON_GetArraySize(arr) > 64)
        return NULL;
    v = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(char *));
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it)) {
            for (size_t i = 0; i < n; i++)
                free(v[i]);
            free(v);
            return NULL;
        }
        v[n++] = xstrdup(it->valuestring);
    }
    return v;
}

static void free_argv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static void plugin_spec(struct fntest *t, struct ctr_job_spec *s, char **hide)
{
    struct passwd *pw = getpwnam("nobody");

    s->uid = pw ? pw->pw_uid : 65534;
    s->gid = pw ? pw->pw_gid : 65534;
    hide[0] = t->conf.state_dir;
    hide[1] = t->conf.cache_dir;
    hide[2] = NULL;
    s->hide = hide;
    s->io = 1;
    s->pids = 64;
    s->memory = 64 << 20;
}

static void on_call_done(void *arg, struct ctr_job *job, const struct ctr_job_result *res)
{
    struct ctl_req *req = arg;
    cJSON *o = cJSON_CreateObject();

    json_add_str_or_null(o, "failure", res->failure);
    json_add_int(o, "exit_code", res->exit_code);
    json_add_int(o, "signal", res->signal);
    cJSON_AddBoolToObject(o, "timed_out", res->timed_out);
    cJSON_AddStringToObject(o, "out", res->out ? res->out : "");
    cJSON_AddStringToObject(o, "err", res->err ? res->err : "");
    cJSON_AddBoolToObject(o, "truncated", res->out_truncated);
    ctl_reply(req, o);
    ctr_job_free(job);
}

static void op_plugin_call(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct fntest *t = arg;
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(msg, "input");
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(msg, "timeout_ms");
    const cJSON *mx = cJSON_GetObjectItemCaseSensitive(msg, "max_output");
    struct ctr_job_spec s = {0};
    struct ctr_job *job;
    struct error err;
    char *hide[3], **argv = argv_of(cJSON_GetObjectItemCaseSensitive(msg, "argv"));

    if (argv == NULL) {
        ctl_reply_error(req, "argv must be a non-empty array of strings");
        return;
    }
    plugin_spec(t, &s, hide);
    s.argv = argv;
    s.input = cJSON_IsString(in) ? in->valuestring : "";
    s.input_len = strlen(s.input);
    s.timeout_ms = cJSON_IsNumber(to) ? (int64_t)to->valuedouble : 30000;
    s.max_output = cJSON_IsNumber(mx) ? (size_t)mx->valuedouble : 65536;
    s.err_tail = PLUGIN_ERR_TAIL;
    if (ctr_job_start(fn_runner(t->fn), t->conf.run_dir, &s, on_call_done, req, &job, &err) < 0)
        ctl_reply_error(req, "%s", err.msg);
    free_argv(argv);
}

static void on_service_done(void *arg, struct ctr_job *job, const struct ctr_job_result *res)
{
    struct service *sv = arg;

    (void)job;
    (void)res;
    sv->ended = 1;
}

static void op_plugin_start(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct fntest *t = arg;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(msg, "name");
    const cJSON *log = cJSON_GetObjectItemCaseSensitive(msg, "log_file");
    struct ctr_job_spec s = {0};
    struct service *sv;
    struct error err;
    char *hide[3], **argv = argv_of(cJSON_GetObjectItemCaseSensitive(msg, "argv"));

    if (argv == NULL || !cJSON_IsString(name) || !cJSON_IsString(log) ||
        fn_map_get(&t->services, name->valuestring) != NULL) {
        free_argv(argv);
        ctl_reply_error(req, "name, argv and log_file are required; names are unique");
        return;
    }
    plugin_spec(t, &s, hide);
    s.argv = argv;
    s.log_file = log->valuestring;
    sv = xcalloc(1, sizeof(*sv));
    if (ctr_job_start(fn_runner(t->fn), t->conf.run_dir, &s, on_service_done, sv, &sv->job, &err) <
        0) {
        free(sv);
        ctl_reply_error(req, "%s", err.msg);
    } else {
        fn_map_put(&t->services, name->valuestring, sv);
        ctl_reply(req, NULL);
    }
    free_argv(argv);
}

static struct service *service_of(struct fntest *t, const cJSON *msg)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(msg, "name");

    return cJSON_IsString(name) ? fn_map_get(&t->services, name->valuestring) : NULL;
}

static void op_plugin_stop(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct service *sv = service_of(arg, msg);

    if (sv == NULL || ctr_job_stop(sv->job, 5.0) < 0)
        ctl_reply_error(req, "not running");
    else
        ctl_reply(req, NULL);
}

static void op_plugin_alive(struct ctl_req *req, const cJSON *msg, void *arg)
{
    struct service *sv = service_of(arg, msg);
    cJSON *o = cJSON_CreateObject();

    cJSON_AddBoolToObject(o, "alive", sv != NULL && ctr_job_alive(sv->job));
    ctl_reply(req, o);
}

/* ---------------------------------------------------------------- setup */

static const struct {
    const char *op;
    ctl_op_fn fn;
} ops[] = {
    {"fn_ready", op_ready},
    {"fn_execute", op_execute},
    {"fn_execute_local", op_execute_local},
    {"fn_deploy", op_deploy},
    {"fn_remove", op_remove},
    {"fn_purge", op_purge},
    {"fn_status", op_status},
    {"fn_caps", op_caps},
    {"fn_ack", op_ack},
    {"fn_result", op_result},
    {"fn_results", op_results},
    {"fn_outbox_full", op_outbox_full},
    {"plugin_call", op_plugin_call},
    {"plugin_start", op_plugin_start},
    {"plugin_stop", op_plugin_stop},
    {"plugin_alive", op_plugin_alive},
};

#define S(field) offsetof(struct settings, field)
static const struct cfg_opt settings_opts[] = {
    {"DEFAULT", "state_dir", CFG_STR, "/var/lib/lightning-rod-c", S(state_dir), 0, 0, NULL, 0},
    {"DEFAULT", "run_dir", CFG_STR, "/run/lightning-rod-c", S(run_dir), 0, 0, NULL, 0},
    {"DEFAULT", "log_level", CFG_STR, "info", S(log_level), 0, 0, NULL, 0},
    {"fntest", "board_id", CFG_STR, "00000000-0000-4000-8000-000000000001", S(board_id), 0, 0, NULL,
     0},
};

static int load_config(struct fntest *t, int argc, char **argv, struct error *err)
{
    struct cfg *c = cfg_new();
    struct cfg_table tables[] = {
        {settings_opts, sizeof(settings_opts) / sizeof(settings_opts[0]), &t->set},
        fn_cfg_table(&t->conf),
        hal_cfg_table(&t->halconf),
    };
    enum log_level lvl;
    int rc = cfg_load_args(c, &argc, argv, NULL, err);

    if (rc == 0)
        rc = cfg_bind(c, tables, 3, err);
    if (rc == 0)
        rc = fn_config_finish(&t->conf, c, t->set.state_dir, t->set.run_dir, err);
    if (rc == 0 && log_level_parse(t->set.log_level, &lvl) == 0)
        log_set_level(lvl);
    cfg_free(c);
    return rc;
}

static void on_ready(void *arg)
{
    ((struct fntest *)arg)->ready = 1;
}

static int setup(struct fntest *t, struct error *err)
{
    struct loop_opts lo = {.name = "fntest", .stop_on_signals = 1};
    struct fn_deps deps = {0};
    struct fn_hooks hooks = {on_result, t};
    struct wq_hooks wh;
    char *path;
    int rc = loop_new(&lo, &t->loop, err);

    if (rc < 0)
        return rc;
    wh = loop_wq_hooks(t->loop, NULL, NULL, NULL);
    t->wq = wq_new(2, 0, &wh);
    loop_set_wq(t->loop, t->wq);
    rc = ctr_reaper_new(loop_ev(t->loop), &t->reaper, err);
    if (rc == 0)
        rc = hal_new(loop_ev(t->loop), &t->halconf, &t->hal, err);
    path = xasprintf("%s/control.sock", t->conf.run_dir);
    if (rc == 0)
        rc = fn_fs_mkdirs(t->conf.run_dir, 0755, err);
    if (rc == 0)
        rc = ctl_new(t->loop, path, &t->ctl, err);
    free(path);
    if (rc == 0)
        rc = ctl_sim_register(t->ctl, t->hal);
    for (size_t i = 0; rc == 0 && i < sizeof(ops) / sizeof(ops[0]); i++)
        rc = ctl_register(t->ctl, ops[i].op, ops[i].fn, t);
    if (rc < 0)
        return rc;
    t->fnio = (struct fn_io){t->loop, t->hal};
    t->io = fn_io_ops(&t->fnio);
    deps.ev = loop_ev(t->loop);
    deps.wq = t->wq;
    deps.reaper = t->reaper;
    deps.cgroup = &t->cgroup;
    deps.io = &t->io;
    rc = fn_new(&deps, &t->conf, &hooks, &t->fn, err);
    if (rc < 0)
        return rc;
    fn_set_board_id(t->fn, t->set.board_id);
    fn_start(t->fn, on_ready, t);
    return 0;
}

static void on_stopped(void *arg)
{
    ((struct fntest *)arg)->stopped = 1;
}

static void teardown(struct fntest *t)
{
    const char *k;
    void *v;
    size_t i = 0;

    while (fn_map_next(&t->services, &i, &k, &v)) {
        ctr_job_free(((struct service *)v)->job);
        free(v);
    }
    fn_map_free(&t->services);
    if (t->fn != NULL) {
        fn_shutdown(t->fn, on_stopped, t);
        while (!t->stopped)
            ev_run(loop_ev(t->loop), EVRUN_ONCE);
    }
    ctl_free(t->ctl);
    fn_free(t->fn);
    i = 0;
    while (fn_map_next(&t->results, &i, &k, &v))
        cJSON_Delete(v);
    fn_map_free(&t->results);
    hal_free(t->hal);
    ctr_reaper_free(t->reaper);
    if (t->loop != NULL)
        loop_set_wq(t->loop, NULL);
    wq_free(t->wq);
    loop_free(t->loop);
}

int main(int argc, char **argv)
{
    struct fntest t = {0};
    struct cfg_table ft = fn_cfg_table(&t.conf), ht = hal_cfg_table(&t.halconf);
    struct cfg_table st = {settings_opts, sizeof(settings_opts) / sizeof(settings_opts[0]), &t.set};
    struct error err;
    int rc;

    log_init("fntest", LOG_INFO);
    xalloc_init();
    rc = load_config(&t, argc, argv, &err);
    /* Before any thread: the private mount namespace for crun (4.8). */
    if (rc == 0)
        rc = ctr_prepare_mountns(t.conf.crun_private_mountns, &t.cgroup, &err);
    if (rc == 0)
        rc = setup(&t, &err);
    if (rc == 0) {
        log_info("fntest running run_dir=%s", t.conf.run_dir);
        loop_run(t.loop);
    } else {
        log_error("fntest: %s", err.msg);
    }
    teardown(&t);
    fn_config_clear(&t.conf);
    cfg_unbind(&ht, 1);
    cfg_unbind(&st, 1);
    (void)ft;
    return rc < 0 ? 1 : 0;
}
