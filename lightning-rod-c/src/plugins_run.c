/* src/plugins_run.c: running plugins (board-protocol.md 6.5); see plugins.h.
 *
 * Every run reads the plugin's code on a worker, picks its interpreter and
 * starts a job on the container runner. The long-running instance is
 * plugin->job; its end (asked for or not) tells the waiters of a stop. A
 * PluginCall is a plugin_run of its own, answered when its job ends. */
#include "src/plugins_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "src/fn_fs.h"

#define ENV_MAX 12

/* ------------------------------------------------------------ helpers */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

char *plugin_utf8(const char *s, size_t n)
{
    char *out = xmalloc(3 * n + 1), *o = out;
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; i < n;) {
        size_t k = p[i] == 0 ? 0 : utf8_seq(p + i, n - i);

        if (k == 0) {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(o, s + i, k);
        o += k;
        i += k;
    }
    *o = '\0';
    return out;
}

/* ---------------------------------------------------------- launching */

struct launch {
    struct lrc_plugin *p;
    int call;
    char *path, *code, *input;
    int rc;
    struct error err;
    /* the instance: */
    lrc_plugin_done_fn done;
    void *arg;
    /* a call: */
    struct plugin_run *run;
};

static void work_read(void *arg, void *ctx)
{
    struct launch *l = arg;
    size_t len;

    (void)ctx;
    l->rc = fn_fs_read_file(l->path, LRC_PLUGIN_CODE_MAX, &l->code, &len, &l->err);
    if (l->rc == -ENOENT)
        error_set(&l->err, -ENOENT, "its code is missing");
}

static void launch_free(struct launch *l)
{
    free(l->path);
    free(l->code);
    free(l->input);
    free(l);
}

static char **plugin_env(const struct lrc_plugin *p, int io)
{
    const struct lrc_agent *a = p->ps->a;
    const cJSON *loc = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(a->settings.doc, "iotronic"), "board"),
        "location");
    char **env = xcalloc(ENV_MAX, sizeof(char *)), *l = loc ? json_print(loc) : NULL;
    size_t n = 0;

    env[n++] = xstrdup("PATH=/usr/local/bin:/usr/bin:/bin");
    env[n++] = xstrdup("LANG=C.UTF-8");
    env[n++] = xstrdup("HOME=/tmp");
    env[n++] = xstrdup("PYTHONUNBUFFERED=1");
    env[n++] = xstrdup("PYTHONDONTWRITEBYTECODE=1");
    env[n++] = xasprintf("PLUGIN_ID=%s", p->uuid);
    env[n++] = xasprintf("PLUGIN_NAME=%s", p->name);
    env[n++] = xasprintf("BOARD_ID=%s", lrc_agent_board(a) ? lrc_agent_board(a) : "");
    env[n++] = xasprintf("BOARD_LOCATION=%s", l ? l : "null");
    if (io)
        env[n++] = xstrdup("IOTRONIC_IO_SOCKET=/run/iotronic/io.sock");
    env[n] = NULL;
    free(l);
    return env;
}

static struct ctr_runner *runner_of(const struct lrc_plugins *ps)
{
    if (ps->a->plugin_runner != NULL)
        return ps->a->plugin_runner;
    return ps->a->fn != NULL ? fn_runner(ps->a->fn) : NULL;
}

/* The device specs the plugin declared, as the runner wants them. */
static const char **io_specs(const struct lrc_plugin *p, size_t *n)
{
    const char **v;
    const cJSON *it;

    *n = p->devices ? (size_t)cJSON_GetArraySize(p->devices) : 0;
    v = xcalloc(*n + 1, sizeof(char *));
    *n = 0;
    cJSON_ArrayForEach(it, p->devices) if (cJSON_IsString(it)) v[(*n)++] = it->valuestring;
    return v;
}

static void on_instance_end(void *arg, struct ctr_job *job, const struct ctr_job_result *res);
static void on_call_end(void *arg, struct ctr_job *job, const struct ctr_job_result *res);

static int start_job(struct launch *l, struct ctr_job **out, struct error *err)
{
    struct lrc_plugin *p = l->p;
    const struct lrc_conf *cf = p->ps->a->conf;
    struct ctr_job_spec s = {0};
    char *hide[3] = {cf->state_dir, cf->fn.cache_dir, NULL}, *interp, **argv, **env, *log;
    const char *flag;
    const char **specs;
    size_t nspecs;
    int rc, compat;

    if (runner_of(p->ps) == NULL)
        return error_set(err, -ENODEV, "no container runner");
    if (lrc_plugin_interpreter(l->code, cf->interp_list, &interp, &flag, err) < 0)
        return -EINVAL;
    compat = cf->python_compat && strcmp(flag, "-c") == 0 && strstr(interp, "python") != NULL &&
             lrc_plugin_is_compat(l->code);
    argv = lrc_plugin_argv(interp, flag, compat, l->call, p->uuid, p->name, l->code);
    env = plugin_env(p, 1);
    specs = io_specs(p, &nspecs);
    log = l->call ? NULL : xasprintf("%s/%s/log", p->ps->dir, p->uuid);
    s.argv = argv;
    s.env = env;
    s.cwd = "/tmp";
    s.uid = p->ps->uid;
    s.gid = p->ps->gid;
    s.input = l->input;
    s.input_len = strlen(l->input);
    s.timeout_ms = l->call ? cf->plugin_call_timeout * 1000 : 0;
    s.max_output = (size_t)cf->plugin_max_output;
    s.err_tail = LRC_PLUGIN_ERR_TAIL;
    s.log_file = log;
    s.io = 1;
    s.io_specs = specs;
    s.nio = nspecs;
    s.hide = hide;
    s.pids = cf->fn.pids_limit;
    rc =
        ctr_job_start(runner_of(p->ps), cf->fn.run_dir, &s, l->call ? on_call_end : on_instance_end,
                      l->call ? (void *)l->run : p, out, err);
    free(interp);
    lrc_words_free(argv);
    lrc_words_free(env);
    free(specs);
    free(log);
    return rc;
}

static void call_failed(struct plugin_run *r, int rc, const char *why);
static void run_unlink(struct plugin_run *r);
static void stop_now(struct lrc_plugin *p);

static void code_read(void *arg)
{
    struct launch *l = arg;
    struct lrc_plugin *p = l->p;
    struct error err;
    char *msg;
    int rc = l->rc;

    p->busy--;
    if (l->call && l->run->cancelled) {
        run_unlink(l->run);
        free(l->run);
        plugin_maybe_free(p);
        launch_free(l);
        return;
    }
    if (p->ps == NULL) { /* the agent is gone */
        plugin_maybe_free(p);
        launch_free(l);
        return;
    }
    error_copy(&err, &l->err);
    if (rc == 0 && p->gone)
        rc = error_set(&err, -ECANCELED, "it was removed");
    if (rc == 0)
        rc = start_job(l, l->call ? &l->run->job : &p->job, &err);
    if (l->call) {
        if (rc < 0)
            call_failed(l->run, rc, err.msg);
    } else {
        p->starting = 0;
        msg = rc < 0 ? xasprintf("Plugin %s could not start: %s", p->name, err.msg) : NULL;
        if (rc < 0)
            log_error("plugin %s: %s", p->uuid, msg);
        if (l->done != NULL)
            l->done(l->arg, rc, rc < 0 ? msg : "STARTED");
        free(msg);
        if (rc < 0) {
            plugin_instance_ended(p);
        } else if (p->stop_after_start) {
            p->stop_after_start = 0;
            stop_now(p);
        }
    }
    launch_free(l);
}

static void launch(struct lrc_plugin *p, struct launch *l, const cJSON *params)
{
    l->p = p;
    l->path = plugin_code_path(p->ps, p->uuid);
    l->input = params ? json_print(params) : xstrdup("null");
    p->busy++;
    if (wq_submit(p->ps->a->wq, work_read, code_read, l) < 0) {
        l->rc = error_set(&l->err, -ESHUTDOWN, "the agent is stopping");
        code_read(l);
    }
}

/* ----------------------------------------------------------- instances */

void plugin_instance_ended(struct lrc_plugin *p)
{
    struct plugin_waiter *w = p->stopw;
    size_t n = p->nstopw;

    p->stopw = NULL;
    p->nstopw = 0;
    p->stop_after_start = 0;
    for (size_t i = 0; i < n; i++)
        if (w[i].fn != NULL)
            w[i].fn(w[i].arg, 0, "STOPPED");
    free(w);
    if (p->ps != NULL && p->ps->stopping > 0 && --p->ps->stopping == 0 && p->ps->stop_done) {
        void (*done)(void *) = p->ps->stop_done;

        p->ps->stop_done = NULL;
        ev_timer_stop(loop_ev(p->ps->a->loop), &p->ps->stop_timer);
        done(p->ps->stop_arg);
    }
    plugin_maybe_free(p);
}

static void on_instance_end(void *arg, struct ctr_job *job, const struct ctr_job_result *res)
{
    struct lrc_plugin *p = arg;

    if (res->failure != NULL)
        log_error("plugin %s (%s): could not run: %s", p->name, p->uuid, res->failure);
    else if (res->signal)
        log_info("plugin %s (%s) ended by signal %d", p->name, p->uuid, res->signal);
    else
        log_info("plugin %s (%s) exited with status %d", p->name, p->uuid, res->exit_code);
    ctr_job_free(job);
    p->job = NULL;
    plugin_instance_ended(p);
}

int lrc_plugin_start(struct lrc_plugin *p, const cJSON *params, lrc_plugin_done_fn done, void *arg)
{
    struct launch *l;

    if (p->job != NULL || p->starting)
        return -EALREADY;
    if (params != NULL) {
        cJSON_Delete(p->params);
        p->params = cJSON_Duplicate(params, 1);
    }
    free(p->status);
    p->status = xstrdup("operative");
    plugins_save(p->ps, NULL, NULL);
    l = xcalloc(1, sizeof(*l));
    l->done = done;
    l->arg = arg;
    p->starting = 1;
    log_info("plugin %s (%s): starting", p->name, p->uuid);
    launch(p, l, p->params);
    return 0;
}

static void add_waiter(struct lrc_plugin *p, lrc_plugin_done_fn fn, void *arg)
{
    p->stopw = xrealloc(p->stopw, (p->nstopw + 1) * sizeof(*p->stopw));
    p->stopw[p->nstopw++] = (struct plugin_waiter){fn, arg};
}

static void stop_now(struct lrc_plugin *p)
{
    if (p->starting) {
        p->stop_after_start = 1;
        return;
    }
    if (p->job == NULL || ctr_job_stop(p->job, LRC_PLUGIN_STOP_GRACE_S) == 0)
        return;
    /* Its container is still being created: the program never ran, so
     * releasing the container is the whole stop. */
    log_info("plugin %s (%s): stopped before it ran", p->name, p->uuid);
    ctr_job_free(p->job);
    p->job = NULL;
    plugin_instance_ended(p);
}

static void on_delay(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)revents;
    stop_now(t->data);
}

int lrc_plugin_stop(struct lrc_plugin *p, int64_t delay_s, lrc_plugin_done_fn done, void *arg)
{
    if (p->job == NULL && !p->starting)
        return -ESRCH;
    if (delay_s > 0) {
        ev_timer_stop(loop_ev(p->ps->a->loop), &p->delay);
        ev_timer_init(&p->delay, on_delay, (double)delay_s, 0.);
        p->delay.data = p;
        ev_timer_start(loop_ev(p->ps->a->loop), &p->delay);
        if (done != NULL)
            done(arg, 0, "STOPPED");
        return 0;
    }
    add_waiter(p, done, arg);
    stop_now(p);
    return 0;
}

/* --------------------------------------------------------------- calls */

static void run_unlink(struct plugin_run *r)
{
    for (struct plugin_run **q = &r->p->runs; *q != NULL; q = &(*q)->next)
        if (*q == r) {
            *q = r->next;
            return;
        }
}

static void call_failed(struct plugin_run *r, int rc, const char *why)
{
    struct lrc_plugin *p = r->p;
    char *msg = xasprintf("Plugin %s could not run: %s", p->name, why);

    run_unlink(r);
    r->fn(r->arg, rc, NULL, msg);
    free(msg);
    free(r);
    plugin_maybe_free(p);
}

/* stdout as JSON when it is JSON, else as (valid UTF-8) text. */
static cJSON *call_output(const struct ctr_job_result *res)
{
    cJSON *v = NULL;
    char *text;

    if (res->out_len > 0 && !res->out_truncated &&
        json_parse(res->out, res->out_len, &v, NULL) == 0)
        return v;
    text = plugin_utf8(res->out ? res->out : "", res->out_len);
    v = cJSON_CreateString(text);
    free(text);
    return v;
}

static char *call_error(const struct lrc_plugin *p, const struct ctr_job_result *res)
{
    const struct lrc_conf *cf = p->ps ? p->ps->a->conf : NULL;
    char *tail, *msg;

    if (res->failure != NULL)
        return xasprintf("Plugin %s could not run: %s", p->name, res->failure);
    if (res->timed_out)
        return xasprintf("Plugin timed out after %lld s.",
                         cf ? (long long)cf->plugin_call_timeout : 0LL);
    tail = plugin_utf8(res->err ? res->err : "", res->err_len);
    if (res->signal)
        msg = xasprintf("killed by signal %d: %s", res->signal, tail);
    else
        msg = xasprintf("exit %d: %s", res->exit_code, tail);
    free(tail);
    return msg;
}

static void on_call_end(void *arg, struct ctr_job *job, const struct ctr_job_result *res)
{
    struct plugin_run *r = arg;
    struct lrc_plugin *p = r->p;

    run_unlink(r);
    if (res->failure == NULL && !res->timed_out && res->signal == 0 && res->exit_code == 0) {
        r->fn(r->arg, 0, call_output(res), NULL);
    } else {
        char *msg = call_error(p, res);

        r->fn(r->arg, -EIO, NULL, msg);
        free(msg);
    }
    ctr_job_free(job);
    free(r);
    plugin_maybe_free(p);
}

void lrc_plugin_call(struct lrc_plugin *p, const cJSON *params, lrc_plugin_call_fn done, void *arg)
{
    struct plugin_run *r = xcalloc(1, sizeof(*r));
    struct launch *l = xcalloc(1, sizeof(*l));

    r->p = p;
    r->fn = done;
    r->arg = arg;
    r->next = p->runs;
    p->runs = r;
    l->call = 1;
    l->run = r;
    launch(p, l, params);
}

/* ------------------------------------------------------- the whole lot */

void lrc_plugins_start_onboot(struct lrc_plugins *ps)
{
    const char *k;
    void *v;
    size_t i = 0;

    while (fn_map_next(&ps->map, &i, &k, &v)) {
        struct lrc_plugin *p = v;

        if (p->onboot && !p->callable && lrc_plugin_start(p, NULL, NULL, NULL) == 0)
            log_info("plugin %s (%s): started at boot", p->name, p->uuid);
    }
}

static void on_stop_timeout(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct lrc_plugins *ps = t->data;
    void (*done)(void *) = ps->stop_done;

    (void)ev;
    (void)revents;
    log_warn("plugins: %u still running after the stop grace", ps->stopping);
    ps->stop_done = NULL;
    ps->stopping = 0;
    if (done != NULL)
        done(ps->stop_arg);
}

void plugin_cancel_runs(struct lrc_plugin *p, const char *why)
{
    struct plugin_run **q = &p->runs;

    while (*q != NULL) {
        struct plugin_run *r = *q;

        if (!r->cancelled)
            r->fn(r->arg, -ECANCELED, NULL, why);
        r->cancelled = 1;
        if (r->job == NULL) { /* launching: code_read() frees it */
            q = &r->next;
            continue;
        }
        *q = r->next;
        ctr_job_free(r->job);
        free(r);
    }
}

static void stop_one(struct lrc_plugins *ps, struct lrc_plugin *p)
{
    plugin_cancel_runs(p, "The agent is stopping.");
    if (p->job != NULL || p->starting) {
        ps->stopping++;
        stop_now(p);
    }
}

void lrc_plugins_stop_all(struct lrc_plugins *ps, void (*done)(void *arg), void *arg)
{
    const char *k;
    void *v;
    size_t i = 0;

    ps->stop_done = done;
    ps->stop_arg = arg;
    ps->stopping = 0;
    while (fn_map_next(&ps->map, &i, &k, &v))
        stop_one(ps, v);
    for (struct lrc_plugin *p = ps->gone; p != NULL; p = p->gone_next)
        stop_one(ps, p);
    if (ps->stopping == 0) {
        ps->stop_done = NULL;
        if (done != NULL)
            done(arg);
        return;
    }
    log_info("plugins: stopping %u running instance(s)", ps->stopping);
    ev_timer_init(&ps->stop_timer, on_stop_timeout, LRC_PLUGIN_STOP_GRACE_S + 2.0, 0.);
    ps->stop_timer.data = ps;
    ev_timer_start(loop_ev(ps->a->loop), &ps->stop_timer);
}
