/* src/ctr_process.c: the process executor behind the runner's interface
 * (deviceless-api.md 3.8).
 *
 * "Creating" only prepares <run_dir>/p/<id>/ (fn/ for the result and the
 * context, io/ for the IO socket) and the pipes; the child is forked at start:
 * its own session (so the timeout can kill the whole process group), the
 * rlimits of 3.8, the process user when the agent is root, the package as its
 * working directory, every other descriptor closed. There is no isolation,
 * no OOM accounting and no device access beyond the IO socket; DeviceCaps
 * says so. */
#include "src/ctr_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"

#define NOFILE_LIMIT 1024
#define AS_FACTOR 4 /* interpreters map far more than they touch (3.8) */

int ctr_proc_create(struct ctr *c, struct error *err)
{
    int in_r, out_w, err_w, rc;

    rc = ctr_int_pipes(c, &in_r, &out_w, &err_w, err);
    if (rc < 0)
        return rc;
    /* The child's ends wait here until the fork at start. */
    c->child_fds[0] = in_r;
    c->child_fds[1] = out_w;
    c->child_fds[2] = err_w;
    c->set_ids = geteuid() == 0;
    c->create_rc = 0;
    ctr_int_defer(c); /* "created" is reported from the loop, never inside ctr_create */
    return 0;
}

static void add_rlimit(struct ctr_spawn *s, int resource, rlim_t v)
{
    s->rlimits[s->nrlimits].resource = resource;
    s->rlimits[s->nrlimits].lim.rlim_cur = v;
    s->rlimits[s->nrlimits].lim.rlim_max = v;
    s->nrlimits++;
}

static void close_child_fds(struct ctr *c)
{
    for (int i = 0; i < 3; i++) {
        if (c->child_fds[i] >= 0 && (i < 2 || c->child_fds[2] != c->child_fds[1]))
            close(c->child_fds[i]);
        c->child_fds[i] = -1;
    }
}

int ctr_proc_start(struct ctr *c, struct error *err)
{
    struct ctr_spawn s = {0};
    pid_t pid;
    int rc;

    s.path = c->args[0];
    s.argv = c->args;
    s.envp = c->env;
    s.fd_in = c->child_fds[0];
    s.fd_out = c->child_fds[1];
    s.fd_err = c->child_fds[2];
    s.new_session = 1;
    s.cwd = c->cwd;
    s.set_ids = c->set_ids;
    s.uid = c->uid;
    s.gid = c->gid;
    if (c->memory > 0)
        add_rlimit(&s, RLIMIT_AS, (rlim_t)c->memory * AS_FACTOR);
    if (c->opts.timeout_s > 0)
        add_rlimit(&s, RLIMIT_CPU, (rlim_t)c->opts.timeout_s + 1);
    add_rlimit(&s, RLIMIT_NOFILE, NOFILE_LIMIT);
    if (c->pids > 0)
        add_rlimit(&s, RLIMIT_NPROC, (rlim_t)c->pids);
    if (c->file_size > 0)
        add_rlimit(&s, RLIMIT_FSIZE, (rlim_t)c->file_size);
    add_rlimit(&s, RLIMIT_CORE, 0);
    rc = ctr_spawn(c->r->reaper, &s, ctr_int_on_exit, c, &pid, err);
    close_child_fds(c);
    if (rc < 0)
        return error_prefix(err, "process executor");
    c->init_pid = pid;
    c->init_watched = 1;
    c->st = CTR_RUNNING;
    c->started_at = time_now_us();
    c->mono_start = time_mono_us();
    if (c->timeout_s > 0) {
        ev_timer_set(&c->timeout_t, c->timeout_s, 0.);
        ev_timer_start(c->r->ev, &c->timeout_t);
    }
    return 0;
}

void ctr_proc_kill(struct ctr *c, int sig)
{
    /* The child is a session leader: its pid is its process group. */
    if (c->init_pid > 0 && !c->exited)
        kill(-c->init_pid, sig);
}

void ctr_proc_exited(struct ctr *c)
{
    /* Stragglers of the group (a background job of a shell function) go
     * with it: nothing of an execution may outlive its result. Done at once,
     * while the group id cannot have been reused. */
    kill(-c->init_pid, SIGKILL);
}

void ctr_proc_delete(struct ctr *c)
{
    close_child_fds(c);
}
