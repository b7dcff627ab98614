/* src/ctr_job.c: see ctr_job.h. */
#include "src/ctr_job.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "src/fn_fs.h"

#define DEFAULT_TMP (16LL << 20)
#define MAX_BINDS 64

/* Top-level host directories the container gets its own of. */
static const char *const fresh[] = {"proc", "sys", "dev", "tmp", "run"};

struct ctr_job {
    struct ctr_runner *r;
    struct ctr *c;
    ev_timer kill_t;
    struct ev_loop *ev;
    int running, done_called;
    char failure[ERROR_MSG_MAX];
    ctr_job_fn done;
    void *arg;
    struct ctr_bind binds[MAX_BINDS];
    size_t nbinds;
    char *root;
    char *input; /* waits here until the container is created */
    size_t input_len;
    int64_t timeout_ms;
};

static int is_fresh(const char *name)
{
    for (size_t i = 0; i < sizeof(fresh) / sizeof(fresh[0]); i++)
        if (strcmp(name, fresh[i]) == 0)
            return 1;
    return 0;
}

/* The skeleton: the host's top-level links as links, its directories as
 * empty mount points with a read-only bind each. Idempotent. */
static int host_skeleton(struct ctr_job *j, const char *run_dir, struct error *err)
{
    DIR *d = opendir("/");
    struct dirent *de;
    int rc = 0;

    j->root = xasprintf("%s/hostroot", run_dir);
    rc = fn_fs_mkdirs(j->root, 0755, err);
    while (rc == 0 && d != NULL && (de = readdir(d)) != NULL && j->nbinds < MAX_BINDS) {
        char host[512], here[1024], target[512];
        struct stat st;
        ssize_t n;

        if (de->d_name[0] == '.')
            continue;
        snprintf(host, sizeof(host), "/%s", de->d_name);
        snprintf(here, sizeof(here), "%s/%s", j->root, de->d_name);
        if (lstat(host, &st) < 0)
            continue;
        if (S_ISLNK(st.st_mode)) {
            n = readlink(host, target, sizeof(target) - 1);
            if (n > 0) {
                target[n] = '\0';
                if (symlink(target, here) < 0 && errno != EEXIST)
                    rc = error_set(err, -errno, "symlink %s: %s", here, strerror(errno));
            }
            continue;
        }
        if (!S_ISDIR(st.st_mode))
            continue;
        if (mkdir(here, 0755) < 0 && errno != EEXIST)
            rc = error_set(err, -errno, "mkdir %s: %s", here, strerror(errno));
        if (is_fresh(de->d_name))
            continue;
        j->binds[j->nbinds].dest = xstrdup(host);
        j->binds[j->nbinds].source = xstrdup(host);
        j->binds[j->nbinds].readonly = 1;
        j->nbinds++;
    }
    if (d != NULL)
        closedir(d);
    if (rc == 0) {
        char *io = xasprintf("%s/run/iotronic", j->root);

        rc = fn_fs_mkdirs(io, 0755, err);
        free(io);
    }
    return rc;
}

static void finish(struct ctr_job *j, const struct ctr_job_result *res)
{
    j->running = 0;
    ev_timer_stop(j->ev, &j->kill_t);
    if (!j->done_called) {
        j->done_called = 1;
        j->done(j->arg, j, res);
    }
}

static void on_done(void *arg, struct ctr *c, const struct ctr_outcome *o)
{
    struct ctr_job *j = arg;
    struct ctr_job_result res = {0};

    (void)c;
    res.failure = o->failure;
    res.exit_code = o->exit_code;
    res.signal = o->signal;
    res.timed_out = o->timed_out;
    res.out = o->out;
    res.out_len = o->out_len;
    res.err = o->err;
    res.err_len = o->err_len;
    res.out_truncated = o->out_truncated;
    finish(j, &res);
}

static void on_created(void *arg, struct ctr *c, int rc, const struct error *err)
{
    struct ctr_job *j = arg;
    struct ctr_job_result res = {0};
    struct error e;

    (void)c;
    if (rc == 0 &&
        ctr_start(j->c, j->input, j->input_len, NULL, j->timeout_ms, on_done, j, &e) == 0) {
        j->running = 1;
        return;
    }
    snprintf(j->failure, sizeof(j->failure), "%s", rc < 0 ? error_str(err) : e.msg);
    res.failure = j->failure;
    res.exit_code = -1;
    finish(j, &res);
}

static void on_kill(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct ctr_job *j = t->data;

    (void)ev;
    (void)revents;
    if (j->running && ctr_kill(j->c, SIGKILL) < 0)
        log_warn("cannot kill plugin container=%s", ctr_id(j->c));
}

static void fill_spec(struct ctr_job *j, const struct ctr_job_spec *s, struct ctr_spec *cs,
                      struct ctr_opts *o)
{
    static char *const default_env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", NULL};

    cs->profile = CTR_PROFILE_PLUGIN;
    cs->rootfs = j->root ? j->root : "/";
    cs->args = s->argv;
    cs->env = s->env ? s->env : default_env;
    cs->cwd = s->cwd ? s->cwd : "/";
    cs->code_dir = NULL;
    cs->uid = s->uid;
    cs->gid = s->gid;
    cs->memory = s->memory;
    cs->pids = s->pids;
    cs->tmp_size = s->tmp_size > 0 ? s->tmp_size : DEFAULT_TMP;
    cs->network_host = 1;
    cs->binds = j->binds;
    cs->nbinds = j->nbinds;
    cs->masked = s->hide;
    cs->with_io = s->io;
    o->output = s->log_file ? CTR_OUTPUT_FILE : CTR_OUTPUT_SPLIT;
    o->out_max = s->max_output;
    o->err_tail = s->err_tail;
    o->log_file = s->log_file;
    o->io = s->io;
    o->io_specs = s->io_specs;
    o->nio = s->nio;
    o->timeout_s = s->timeout_ms / 1000;
}

int ctr_job_start(struct ctr_runner *r, const char *run_dir, const struct ctr_job_spec *s,
                  ctr_job_fn done, void *arg, struct ctr_job **out, struct error *err)
{
    struct ctr_job *j = xcalloc(1, sizeof(*j));
    struct ctr_spec cs = {0};
    struct ctr_opts o = {0};
    int rc = 0;

    *out = NULL;
    j->r = r;
    j->done = done;
    j->arg = arg;
    j->ev = ctr_runner_loop(r);
    ev_timer_init(&j->kill_t, on_kill, 0., 0.);
    j->kill_t.data = j;
    j->input = xmalloc(s->input_len + 1);
    if (s->input_len > 0)
        memcpy(j->input, s->input, s->input_len);
    j->input_len = s->input_len;
    j->timeout_ms = s->timeout_ms;
    if (s->argv == NULL || s->argv[0] == NULL || s->argv[0][0] != '/') {
        ctr_job_free(j);
        return error_set(err, -EINVAL, "a plugin program needs an absolute path");
    }
    if (ctr_runner_executor(r) == CTR_EXEC_CRUN)
        rc = host_skeleton(j, run_dir, err);
    fill_spec(j, s, &cs, &o);
    if (rc == 0)
        rc = ctr_create(r, &cs, &o, on_created, j, &j->c, err);
    if (rc < 0) {
        ctr_job_free(j);
        return rc;
    }
    *out = j;
    return 0;
}

int ctr_job_stop(struct ctr_job *j, double grace_s)
{
    int rc;

    if (!j->running)
        return -ESRCH;
    rc = ctr_kill(j->c, SIGTERM);
    if (rc < 0)
        return rc;
    ev_timer_stop(j->ev, &j->kill_t);
    ev_timer_set(&j->kill_t, grace_s, 0.);
    ev_timer_start(j->ev, &j->kill_t);
    return 0;
}

int ctr_job_alive(const struct ctr_job *j)
{
    return j->running;
}

void ctr_job_free(struct ctr_job *j)
{
    if (j == NULL)
        return;
    if (j->ev != NULL)
        ev_timer_stop(j->ev, &j->kill_t);
    ctr_release(j->c);
    for (size_t i = 0; i < j->nbinds; i++) {
        free((char *)j->binds[i].dest);
        free((char *)j->binds[i].source);
    }
    free(j->root);
    free(j->input);
    free(j);
}
