/* src/ctr_run.c: see ctr_run.h. A container's life cycle, with the crun
 * executor (ctr_process.c does the process executor's part, ctr_output.c
 * the pipes, ctr_runner.c the runner and crun's argv).
 *
 * A container's state moves forward only (ctr_internal.h). Two things can
 * happen in either order and both are waited for: the init's exit (reaper)
 * and the end of its output (EOF on the pipes, or a short grace period when a
 * straggler holds them). At most one crun command per container is in flight
 * (cmd_pid); deletion waits for it. Once released, a container never calls
 * its owner again. */
#include "src/ctr_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/encode.h"
#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/uuid.h"
#include "common/xalloc.h"
#include "src/fn_fs.h"

#define OUTPUT_GRACE_S 1.0
#define KILL_ESCALATE_S 5.0
#define CRUN_LOG_MAX 65536
#define PIPE_MAX_SIZE (1 << 20)

/* -------------------------------------------------------- crun helpers */

/* The last "error" message crun wrote to <bundle>/crun.log, else its last
 * line, else a generic text. */
static void crun_log_error(const struct ctr *c, char *out, size_t cap)
{
    char *path = xasprintf("%s/crun.log", c->bundle), *text = NULL, *line, *save = NULL;
    size_t len;

    snprintf(out, cap, "crun failed without a message");
    if (fn_fs_read_file(path, CRUN_LOG_MAX, &text, &len, NULL) == 0) {
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            cJSON *j = cJSON_Parse(line);
            const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "msg");
            const cJSON *lvl = cJSON_GetObjectItemCaseSensitive(j, "level");

            if (j == NULL)
                snprintf(out, cap, "%s", line);
            else if (cJSON_IsString(msg) && cJSON_IsString(lvl) &&
                     strcmp(lvl->valuestring, "error") == 0)
                snprintf(out, cap, "%s", msg->valuestring);
            cJSON_Delete(j);
        }
    }
    free(text);
    free(path);
}

static int crun_cmd(struct ctr *c, const char *const *args, int fd_in, int fd_out, int fd_err,
                    ctr_exit_fn fn, struct error *err)
{
    struct ctr_spawn s = {0};
    char **argv = ctr_int_crun_argv(c->r, c->bundle, args);
    int rc;

    s.path = c->r->crun_path;
    s.argv = argv;
    s.envp = ctr_int_crun_env;
    s.fd_in = fd_in;
    s.fd_out = fd_out;
    s.fd_err = fd_err;
    rc = ctr_spawn(c->r->reaper, &s, fn, c, &c->cmd_pid, err);
    ctr_int_free_strv(argv);
    return rc;
}

static int status_ok(int status)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void maybe_delete(struct ctr *c);

/* ----------------------------------------------------------- finishing */

static void read_result(struct ctr *c)
{
    char *path = xasprintf("%s/fn/result", c->bundle);
    size_t len = 0;
    int rc;

    rc = fn_fs_read_file(path, c->opts.result_max, &c->result, &len, NULL);
    if (rc == 0) {
        c->outcome.result_present = 1;
        c->outcome.result = c->result;
        c->outcome.result_len = len;
    } else if (rc == -EFBIG) {
        c->outcome.result_present = 1;
        c->outcome.result_too_big = 1;
    }
    free(path);
}

static void close_io(struct ctr *c)
{
    if (c->io == NULL)
        return;
    c->r->io.close(c->io);
    c->io = NULL;
}

static void finish(struct ctr *c)
{
    struct ctr_outcome *o = &c->outcome;
    size_t len;

    ev_timer_stop(c->r->ev, &c->timeout_t);
    ev_timer_stop(c->r->ev, &c->grace_t);
    ev_timer_stop(c->r->ev, &c->kill_t);
    ctr_int_close_input(c);
    o->exit_code = WIFEXITED(c->status) ? WEXITSTATUS(c->status) : -1;
    o->signal = WIFSIGNALED(c->status) ? WTERMSIG(c->status) : 0;
    o->timed_out = c->timed_out;
    o->started_at = c->started_at;
    o->finished_at = c->finished_at;
    o->duration_us = c->mono_end > c->mono_start ? c->mono_end - c->mono_start : 0;
    if (c->r->executor == CTR_EXEC_CRUN) {
        char cgpath[128];
        int64_t kills = 0;

        snprintf(cgpath, sizeof(cgpath), "%s/%s", CTR_CGROUP_PARENT, c->id);
        o->oom = ctr_cgroup_oom_kills(&c->r->cgroup, cgpath, &kills) == 0 && kills > 0;
    }
    if (c->io != NULL)
        o->first_write_at = c->r->io.first_write_at(c->io);
    close_io(c);
    if (c->profile == CTR_PROFILE_FUNCTION)
        read_result(c);
    if (c->opts.output == CTR_OUTPUT_LOG) {
        o->log_dropped = ctr_capture_dropped(&c->cap_out);
        c->log_text = ctr_capture_take(&c->cap_out, 1, &len);
        o->log = c->log_text;
        o->log_len = len;
    } else if (c->opts.output == CTR_OUTPUT_SPLIT) {
        o->out_truncated = ctr_capture_dropped(&c->cap_out) > 0;
        c->out_text = ctr_capture_take(&c->cap_out, 0, &o->out_len);
        c->err_text = ctr_capture_take(&c->cap_err, 0, &o->err_len);
        o->out = c->out_text;
        o->err = c->err_text;
    }
    c->st = CTR_DONE;
    log_debug("container done container=%s prep_ms=%.2f create_ms=%.2f start_ms=%.2f "
              "run_ms=%.2f drain_ms=%.2f",
              c->id, (c->t_spawned - c->t_create) / 1000.0, (c->t_created - c->t_create) / 1000.0,
              (c->mono_start - c->launch_mono) / 1000.0, (c->mono_end - c->mono_start) / 1000.0,
              (time_mono_us() - c->mono_end) / 1000.0);
    if (!c->released && c->done != NULL)
        c->done(c->done_arg, c, o);
}

void ctr_int_check_finished(struct ctr *c)
{
    if (c->st != CTR_RUNNING && c->st != CTR_EXITED)
        return;
    if (!c->exited)
        return;
    if (!c->log_eof || !c->err_eof) {
        if (!ev_is_active(&c->grace_t)) {
            ev_timer_set(&c->grace_t, OUTPUT_GRACE_S, 0.);
            ev_timer_start(c->r->ev, &c->grace_t);
        }
        return;
    }
    finish(c);
}

static void on_grace(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct ctr *c = t->data;

    (void)revents;
    /* A straggler outside the container's pid namespace (process executor)
     * still holds the pipe: stop reading, what came so far is the log. */
    if (c->log_r >= 0) {
        ev_io_stop(ev, &c->log_io);
        close(c->log_r);
        c->log_r = -1;
    }
    if (c->err_r >= 0) {
        ev_io_stop(ev, &c->err_io);
        close(c->err_r);
        c->err_r = -1;
    }
    c->log_eof = c->err_eof = 1;
    ctr_int_check_finished(c);
}

void ctr_int_on_exit(void *arg, pid_t pid, int status)
{
    struct ctr *c = arg;

    (void)pid;
    c->init_watched = 0;
    c->exited = 1;
    if (c->r->executor == CTR_EXEC_PROCESS)
        ctr_proc_exited(c);
    c->status = status;
    c->mono_end = time_mono_us();
    c->finished_at = time_now_us();
    ev_timer_stop(c->r->ev, &c->timeout_t);
    ev_timer_stop(c->r->ev, &c->kill_t);
    if (c->released) {
        maybe_delete(c);
        return;
    }
    if (c->st == CTR_RUNNING)
        c->st = CTR_EXITED;
    ctr_int_check_finished(c);
}

/* ------------------------------------------------------------ timeouts */

static void on_kill_escalate(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct ctr *c = t->data;

    (void)ev;
    (void)revents;
    /* crun kill did not make the init exit: kill it directly. */
    if (!c->exited && c->init_pid > 0)
        kill(c->init_pid, SIGKILL);
}

static void on_kill_cmd_exit(void *arg, pid_t pid, int status)
{
    struct ctr *c = arg;

    (void)pid;
    (void)status;
    c->cmd_pid = 0;
    if (c->released)
        maybe_delete(c);
    else
        ctr_int_check_finished(c);
}

static void on_timeout(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct ctr *c = t->data;

    (void)revents;
    if (c->exited)
        return;
    c->timed_out = 1;
    log_info("container timed out: killing it container=%s", c->id);
    if (c->r->executor == CTR_EXEC_PROCESS)
        ctr_proc_kill(c, SIGKILL);
    else if (ctr_kill(c, SIGKILL) < 0 && c->init_pid > 0)
        kill(c->init_pid, SIGKILL);
    ev_timer_set(&c->kill_t, KILL_ESCALATE_S, 0.);
    ev_timer_start(ev, &c->kill_t);
}

int ctr_kill(struct ctr *c, int sig)
{
    char signum[16];
    const char *args[] = {"kill", sig == SIGKILL ? "--all" : NULL, c->id, signum, NULL};
    const char *args_one[] = {"kill", c->id, signum, NULL};

    if (c->exited || c->st < CTR_CREATED)
        return -ESRCH;
    if (c->r->executor == CTR_EXEC_PROCESS) {
        ctr_proc_kill(c, sig);
        return 0;
    }
    if (c->cmd_pid != 0)
        return -EBUSY;
    snprintf(signum, sizeof(signum), "%d", sig);
    return crun_cmd(c, sig == SIGKILL ? args : args_one, -1, -1, -1, on_kill_cmd_exit, NULL);
}

/* ------------------------------------------------------------- create */

static void ctr_deferred(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct ctr *c = t->data;

    (void)ev;
    (void)revents;
    if (c->released) {
        maybe_delete(c);
        return;
    }
    c->st = c->create_rc == 0 ? CTR_CREATED : CTR_FAILED;
    c->created(c->created_arg, c, c->create_rc, c->create_rc ? &c->create_err : NULL);
}

void ctr_int_defer(struct ctr *c)
{
    ev_timer_set(&c->defer_t, 0., 0.);
    ev_timer_start(c->r->ev, &c->defer_t);
}

static int read_pid(const struct ctr *c, pid_t *out)
{
    char *path = xasprintf("%s/pid", c->bundle), *text = NULL, *end;
    size_t len;
    long v;
    int rc = fn_fs_read_file(path, 32, &text, &len, NULL);

    free(path);
    if (rc < 0)
        return rc;
    v = strtol(text, &end, 10);
    rc = end != text && v > 1 ? 0 : -EINVAL;
    *out = (pid_t)v;
    free(text);
    return rc;
}

static void on_create_exit(void *arg, pid_t pid, int status)
{
    struct ctr *c = arg;
    struct error err;
    int rc = 0;

    (void)pid;
    c->cmd_pid = 0;
    if (status_ok(status) && read_pid(c, &c->init_pid) == 0) {
        rc = ctr_reaper_watch(c->r->reaper, c->init_pid, ctr_int_on_exit, c);
        c->init_watched = rc == 0;
    } else {
        rc = -EIO;
    }
    if (c->released) {
        maybe_delete(c);
        return;
    }
    if (rc == 0) {
        c->st = CTR_CREATED;
        c->t_created = time_mono_us();
        c->created(c->created_arg, c, 0, NULL);
        return;
    }
    crun_log_error(c, err.msg, sizeof(err.msg));
    err.code = -EIO;
    /* What crun printed on the log pipe is not the function's (3.5.3). */
    ctr_capture_free(&c->cap_out);
    c->st = CTR_FAILED;
    c->created(c->created_arg, c, -EIO, &err);
}

static int make_bundle(struct ctr *c, const struct ctr_spec *spec, struct error *err)
{
    char *fn = xasprintf("%s/fn", c->bundle), *io = xasprintf("%s/io", c->bundle);
    int rc = 0;

    if (mkdir(c->bundle, 0711) < 0)
        rc = error_set(err, -errno, "mkdir %s: %s", c->bundle, strerror(errno));
    else if (mkdir(io, 0755) < 0)
        rc = error_set(err, -errno, "mkdir %s: %s", io, strerror(errno));
    else if (spec->profile == CTR_PROFILE_FUNCTION &&
             (mkdir(fn, 0700) < 0 || chown(fn, spec->uid, spec->gid) < 0))
        rc = error_set(err, -errno, "prepare %s: %s", fn, strerror(errno));
    free(fn);
    free(io);
    return rc;
}

static int write_config(struct ctr *c, const struct ctr_spec *given, struct error *err)
{
    struct ctr_spec spec = *given;
    cJSON *conf;
    char *text, *path;
    int rc;

    spec.env = c->env;
    conf = ctr_config_build(&spec, &c->r->host, c->id, c->bundle, err);
    if (conf == NULL)
        return err ? err->code : -EINVAL;
    text = cJSON_PrintUnformatted(conf);
    path = xasprintf("%s/config.json", c->bundle);
    rc = fn_fs_write_file(path, text, strlen(text), 0600, err);
    free(path);
    free(text);
    cJSON_Delete(conf);
    return rc;
}

/* The spec's environment plus the variables whose paths the runner decides
 * (deviceless-api.md 3.5.4; for the process executor, 3.8). */
static char **build_env(const struct ctr *c, const struct ctr_spec *spec)
{
    int proc = c->r->executor == CTR_EXEC_PROCESS;
    size_t n = 0, i = 0;
    char **env;

    while (spec->env != NULL && spec->env[n] != NULL)
        n++;
    env = xcalloc(n + 5, sizeof(*env));
    for (; i < n; i++)
        env[i] = xstrdup(spec->env[i]);
    if (spec->profile == CTR_PROFILE_FUNCTION) {
        env[i++] = proc ? xasprintf("FUNCTION_RESULT=%s/fn/result", c->bundle)
                        : xstrdup("FUNCTION_RESULT=/run/function/result");
        env[i++] = proc ? xasprintf("FUNCTION_CONTEXT=%s/fn/context.json", c->bundle)
                        : xstrdup("FUNCTION_CONTEXT=/run/function/context.json");
        if (proc)
            env[i++] =
                xasprintf("FUNCTION_CODE_DIR=%s", spec->code_dir ? spec->code_dir : "/nonexistent");
    }
    if (c->opts.io)
        env[i++] = proc ? xasprintf("IOTRONIC_IO_SOCKET=%s/io/io.sock", c->bundle)
                        : xstrdup("IOTRONIC_IO_SOCKET=/run/iotronic/io.sock");
    env[i] = NULL;
    return env;
}

static void copy_opts(struct ctr *c, const struct ctr_spec *spec, const struct ctr_opts *o)
{
    c->opts = *o;
    c->io_specs = xcalloc(o->nio + 1, sizeof(char *));
    for (size_t i = 0; i < o->nio; i++)
        c->io_specs[i] = xstrdup(o->io_specs[i]);
    c->opts.io_specs = (const char *const *)c->io_specs;
    c->log_file = o->log_file ? xstrdup(o->log_file) : NULL;
    c->opts.log_file = c->log_file;
    c->args = ctr_int_dup_strv(spec->args);
    c->env = build_env(c, spec);
    c->cwd = xstrdup(spec->code_dir ? spec->code_dir : spec->cwd);
    c->uid = spec->uid;
    c->gid = spec->gid;
    c->memory = spec->memory;
    c->pids = spec->pids;
    c->file_size = spec->file_size;
    if (o->output == CTR_OUTPUT_LOG)
        ctr_capture_init(&c->cap_out, o->log_max / 2, o->log_max - o->log_max / 2);
    else
        ctr_capture_init(&c->cap_out, o->out_max, 0);
    ctr_capture_init(&c->cap_err, 0, o->err_tail);
}

static struct ctr *ctr_alloc(struct ctr_runner *r, const struct ctr_spec *spec,
                             const struct ctr_opts *o)
{
    struct ctr *c = xcalloc(1, sizeof(*c));
    unsigned char rnd[8];

    c->r = r;
    rand_bytes(rnd, sizeof(rnd));
    memcpy(c->id, "lr-", 3);
    hex_encode(rnd, sizeof(rnd), c->id + 3);
    c->bundle = xasprintf("%s/%s/%s", r->run_dir, r->executor == CTR_EXEC_CRUN ? "c" : "p", c->id);
    c->profile = spec->profile;
    c->in_w = c->log_r = c->err_r = c->logfd = -1;
    c->child_fds[0] = c->child_fds[1] = c->child_fds[2] = -1;
    c->created_at = time_now_us();
    c->t_create = time_mono_us();
    copy_opts(c, spec, o);
    ev_timer_init(&c->timeout_t, on_timeout, 0., 0.);
    ev_timer_init(&c->grace_t, on_grace, 0., 0.);
    ev_timer_init(&c->defer_t, ctr_deferred, 0., 0.);
    ev_timer_init(&c->kill_t, on_kill_escalate, 0., 0.);
    c->timeout_t.data = c->grace_t.data = c->defer_t.data = c->kill_t.data = c;
    r->busy++;
    return c;
}

static int open_io(struct ctr *c, uid_t uid, gid_t gid, struct error *err)
{
    char *dir;
    int rc;

    if (!c->opts.io || !c->r->have_io)
        return 0;
    dir = xasprintf("%s/io", c->bundle);
    rc = c->r->io.open(c->r->io.arg, dir, uid, gid, c->opts.io_specs, c->opts.nio, &c->io, err);
    free(dir);
    if (rc < 0)
        error_prefix(err, "IO socket");
    return rc;
}

static int crun_create(struct ctr *c, struct error *err)
{
    char *pidfile = xasprintf("%s/pid", c->bundle);
    const char *args[] = {"create", "--bundle", c->bundle, "--pid-file", pidfile, c->id, NULL};
    int in_r, out_w, err_w, rc;

    rc = ctr_int_pipes(c, &in_r, &out_w, &err_w, err);
    if (rc == 0) {
        rc = crun_cmd(c, args, in_r, out_w, err_w, on_create_exit, err);
        c->t_spawned = time_mono_us();
        close(in_r);
        close(out_w);
        if (err_w != out_w)
            close(err_w);
    }
    free(pidfile);
    return rc;
}

int ctr_create(struct ctr_runner *r, const struct ctr_spec *spec, const struct ctr_opts *opts,
               ctr_created_fn created, void *arg, struct ctr **out, struct error *err)
{
    struct ctr *c = ctr_alloc(r, spec, opts);
    int rc;

    *out = NULL;
    c->created = created;
    c->created_arg = arg;
    if (opts->output == CTR_OUTPUT_FILE) {
        c->logfd = open(c->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (c->logfd < 0) {
            rc = error_set(err, -errno, "open %s: %s", c->log_file, strerror(errno));
            goto fail;
        }
    }
    rc = make_bundle(c, spec, err);
    if (rc == 0)
        rc = open_io(c, spec->uid, spec->gid, err);
    if (rc == 0 && r->executor == CTR_EXEC_CRUN) {
        rc = write_config(c, spec, err);
        if (rc == 0)
            rc = crun_create(c, err);
    } else if (rc == 0) {
        rc = ctr_proc_create(c, err);
    }
    if (rc < 0)
        goto fail;
    *out = c;
    return 0;
fail:
    c->released = 1;
    c->deleting = 1;
    ctr_int_free(c);
    return rc;
}

/* -------------------------------------------------------------- start */

static void on_start_exit(void *arg, pid_t pid, int status)
{
    struct ctr *c = arg;

    (void)pid;
    c->cmd_pid = 0;
    if (c->released) {
        maybe_delete(c);
        return;
    }
    if (!status_ok(status)) {
        crun_log_error(c, c->failure, sizeof(c->failure));
        c->outcome.failure = c->failure;
        c->st = CTR_DONE;
        close_io(c);
        c->done(c->done_arg, c, &c->outcome);
        return;
    }
    c->st = c->exited ? CTR_EXITED : CTR_RUNNING;
    if (c->exited) {
        /* It ran and finished before crun start returned: count from the
         * launch of crun start, so that the duration is an upper bound and
         * never negative. */
        c->started_at = c->launch_us;
        c->mono_start = c->launch_mono;
    } else {
        c->started_at = time_now_us();
        c->mono_start = time_mono_us();
        if (c->timeout_s > 0) {
            ev_timer_set(&c->timeout_t, c->timeout_s, 0.);
            ev_timer_start(c->r->ev, &c->timeout_t);
        }
    }
    ctr_int_check_finished(c);
}

static int write_context(struct ctr *c, const char *context, struct error *err)
{
    char *path;
    int rc;

    if (context == NULL || c->profile != CTR_PROFILE_FUNCTION)
        return 0;
    path = xasprintf("%s/fn/context.json", c->bundle);
    rc = fn_fs_write_file(path, context, strlen(context), 0644, err);
    free(path);
    return rc;
}

int ctr_start(struct ctr *c, const char *input, size_t len, const char *context, int64_t timeout_ms,
              ctr_done_fn done, void *arg, struct error *err)
{
    const char *args[] = {"start", c->id, NULL};
    int rc;

    if (c->st != CTR_CREATED || c->exited)
        return error_set(err, -ESRCH, "container %s is not waiting to start", c->id);
    rc = write_context(c, context, err);
    if (rc < 0)
        return rc;
    c->done = done;
    c->done_arg = arg;
    c->input = xmalloc(len + 1);
    memcpy(c->input, input, len);
    c->input_len = len;
    if (len > 65536)
        fcntl(c->in_w, F_SETPIPE_SZ, (int)(len < PIPE_MAX_SIZE ? len : PIPE_MAX_SIZE));
    c->timeout_s = timeout_ms > 0 ? (double)timeout_ms / 1000.0 : 0.;
    c->launch_us = time_now_us();
    c->launch_mono = time_mono_us();
    if (c->r->executor == CTR_EXEC_PROCESS) {
        rc = ctr_proc_start(c, err);
        if (rc < 0)
            return rc;
        ctr_int_feed_input(c);
        return 0;
    }
    ctr_int_feed_input(c);
    rc = crun_cmd(c, args, -1, -1, -1, on_start_exit, err);
    if (rc < 0)
        return rc;
    c->st = CTR_STARTING;
    return 0;
}

/* ------------------------------------------------------------ release */

struct rm_job {
    struct ctr_runner *r;
    char *path;
};

static void rm_work(void *arg, void *ctx)
{
    struct rm_job *j = arg;
    struct error err;

    (void)ctx;
    if (fn_fs_rmtree(j->path, &err) < 0)
        log_warn("cannot remove a bundle: %s", err.msg);
}

static void rm_done(void *arg)
{
    struct rm_job *j = arg;

    j->r->busy--;
    free(j->path);
    free(j);
}

void ctr_int_free(struct ctr *c)
{
    struct ctr_runner *r = c->r;
    struct rm_job *j = xcalloc(1, sizeof(*j));

    ev_timer_stop(r->ev, &c->timeout_t);
    ev_timer_stop(r->ev, &c->grace_t);
    ev_timer_stop(r->ev, &c->defer_t);
    ev_timer_stop(r->ev, &c->kill_t);
    if (c->init_watched)
        ctr_reaper_unwatch(r->reaper, c->init_pid);
    if (c->cmd_pid != 0)
        ctr_reaper_unwatch(r->reaper, c->cmd_pid);
    ctr_int_close_input(c);
    if (c->log_r >= 0) {
        ev_io_stop(r->ev, &c->log_io);
        close(c->log_r);
    }
    if (c->err_r >= 0) {
        ev_io_stop(r->ev, &c->err_io);
        close(c->err_r);
    }
    if (c->logfd >= 0)
        close(c->logfd);
    if (r->executor == CTR_EXEC_PROCESS)
        ctr_proc_delete(c);
    close_io(c);
    ctr_capture_free(&c->cap_out);
    ctr_capture_free(&c->cap_err);
    j->r = r;
    j->path = c->bundle;
    if (wq_submit(r->wq, rm_work, rm_done, j) < 0) {
        rm_work(j, NULL);
        rm_done(j);
    }
    ctr_int_free_strv(c->io_specs);
    ctr_int_free_strv(c->args);
    ctr_int_free_strv(c->env);
    free(c->cwd);
    free(c->log_file);
    free(c->log_text);
    free(c->out_text);
    free(c->err_text);
    free(c->result);
    free(c);
    /* busy now counts the bundle removal instead of the container. */
}

static void on_delete_exit(void *arg, pid_t pid, int status)
{
    struct ctr *c = arg;
    char cgpath[128];

    (void)pid;
    c->cmd_pid = 0;
    /* After a failed create there may be nothing to delete: not worth a warning. */
    if (!status_ok(status) && c->st != CTR_FAILED)
        log_warn("crun delete failed container=%s", c->id);
    snprintf(cgpath, sizeof(cgpath), "%s/%s", CTR_CGROUP_PARENT, c->id);
    ctr_cgroup_remove(&c->r->cgroup, cgpath);
    ctr_int_free(c);
}

static void maybe_delete(struct ctr *c)
{
    const char *args[] = {"delete", "-f", c->id, NULL};
    struct error err;

    if (!c->released || c->deleting || c->cmd_pid != 0)
        return;
    c->deleting = 1;
    if (c->r->executor == CTR_EXEC_PROCESS) {
        ctr_int_free(c);
        return;
    }
    if (crun_cmd(c, args, -1, -1, -1, on_delete_exit, &err) < 0) {
        log_warn("cannot run crun delete container=%s: %s", c->id, err.msg);
        ctr_int_free(c);
    }
}

void ctr_release(struct ctr *c)
{
    if (c == NULL || c->released)
        return;
    c->released = 1;
    ev_timer_stop(c->r->ev, &c->timeout_t);
    ev_timer_stop(c->r->ev, &c->defer_t);
    maybe_delete(c);
}

/* ---------------------------------------------------------- accessors */

const char *ctr_id(const struct ctr *c)
{
    return c->id;
}

int64_t ctr_created_at(const struct ctr *c)
{
    return c->created_at;
}

pid_t ctr_pid(const struct ctr *c)
{
    return c->init_pid;
}

int ctr_alive(const struct ctr *c)
{
    return !c->exited && c->st >= CTR_CREATED && c->st <= CTR_RUNNING;
}
