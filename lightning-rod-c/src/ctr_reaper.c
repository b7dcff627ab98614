/* src/ctr_reaper.c: see ctr_reaper.h.
 *
 * Watches live in a small array: a board runs a handful of children at a
 * time (slots, crun commands, plugins), so a linear scan beats a hash. Exits
 * nobody claimed are kept in a ring of CTR_UNCLAIMED entries for
 * UNCLAIMED_TTL_MS; a pid that ctr_spawn() hands out again drops its stale
 * entry first, so pid reuse never delivers an old status. */
#include "src/ctr_reaper.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

#define CTR_UNCLAIMED 64
#define UNCLAIMED_TTL_MS 60000

struct watch {
    pid_t pid;
    ctr_exit_fn fn;
    void *arg;
    int ready; /* exited (status below) and waiting for the deferred call */
    int status;
};

struct unclaimed {
    pid_t pid;
    int status;
    int64_t at_ms;
};

struct ctr_reaper {
    struct ev_loop *ev;
    ev_signal sigchld;
    ev_timer deferred; /* delivers exits that were known before the watch */
    int devnull;
    struct watch *w;
    size_t nw, capw;
    struct unclaimed unclaimed[CTR_UNCLAIMED];
    size_t next_unclaimed;
};

static struct watch *find(struct ctr_reaper *r, pid_t pid)
{
    for (size_t i = 0; i < r->nw; i++)
        if (r->w[i].pid == pid)
            return &r->w[i];
    return NULL;
}

static void remove_at(struct ctr_reaper *r, struct watch *w)
{
    size_t i = (size_t)(w - r->w);

    r->w[i] = r->w[--r->nw];
}

static void remember(struct ctr_reaper *r, pid_t pid, int status)
{
    struct unclaimed *u = &r->unclaimed[r->next_unclaimed];

    r->next_unclaimed = (r->next_unclaimed + 1) % CTR_UNCLAIMED;
    u->pid = pid;
    u->status = status;
    u->at_ms = time_mono_ms();
}

static void forget(struct ctr_reaper *r, pid_t pid)
{
    for (size_t i = 0; i < CTR_UNCLAIMED; i++)
        if (r->unclaimed[i].pid == pid)
            r->unclaimed[i].pid = 0;
}

/* The callback may add or remove watches, so the entry is removed first and
 * nothing points into the array across the call. */
static void deliver(struct ctr_reaper *r, struct watch *w, int status)
{
    ctr_exit_fn fn = w->fn;
    void *arg = w->arg;
    pid_t pid = w->pid;

    remove_at(r, w);
    fn(arg, pid, status);
}

static void on_sigchld(struct ev_loop *ev, ev_signal *sw, int revents)
{
    struct ctr_reaper *r = sw->data;
    int status;
    pid_t pid;

    (void)ev;
    (void)revents;
    while ((pid = waitpid(-1, &status, WNOHANG | __WALL)) > 0) {
        struct watch *w = find(r, pid);

        if (w != NULL)
            deliver(r, w, status);
        else
            remember(r, pid, status);
    }
}

static void on_deferred(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct ctr_reaper *r = t->data;

    (void)ev;
    (void)revents;
    for (size_t i = 0; i < r->nw;) {
        if (r->w[i].ready) {
            deliver(r, &r->w[i], r->w[i].status);
            i = 0; /* the array may have changed under the callback */
            continue;
        }
        i++;
    }
}

int ctr_reaper_new(struct ev_loop *ev, struct ctr_reaper **out, struct error *err)
{
    struct ctr_reaper *r;

    *out = NULL;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        return error_set(err, -errno, "PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
    r = xcalloc(1, sizeof(*r));
    r->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (r->devnull < 0) {
        free(r);
        return error_set(err, -errno, "open /dev/null: %s", strerror(errno));
    }
    r->ev = ev;
    ev_signal_init(&r->sigchld, on_sigchld, SIGCHLD);
    r->sigchld.data = r;
    ev_signal_start(ev, &r->sigchld);
    ev_timer_init(&r->deferred, on_deferred, 0., 0.);
    r->deferred.data = r;
    *out = r;
    return 0;
}

void ctr_reaper_free(struct ctr_reaper *r)
{
    if (r == NULL)
        return;
    ev_signal_stop(r->ev, &r->sigchld);
    ev_timer_stop(r->ev, &r->deferred);
    close(r->devnull);
    free(r->w);
    free(r);
}

static int add_watch(struct ctr_reaper *r, pid_t pid, ctr_exit_fn fn, void *arg)
{
    if (find(r, pid) != NULL)
        return -EEXIST;
    if (r->nw == r->capw) {
        r->capw = r->capw ? r->capw * 2 : 16;
        r->w = xrealloc(r->w, r->capw * sizeof(*r->w));
    }
    r->w[r->nw++] = (struct watch){.pid = pid, .fn = fn, .arg = arg};
    return 0;
}

int ctr_reaper_watch(struct ctr_reaper *r, pid_t pid, ctr_exit_fn fn, void *arg)
{
    int64_t now = time_mono_ms();
    int rc = add_watch(r, pid, fn, arg);

    if (rc < 0)
        return rc;
    for (size_t i = 0; i < CTR_UNCLAIMED; i++) {
        struct unclaimed *u = &r->unclaimed[i];

        if (u->pid != pid || now - u->at_ms > UNCLAIMED_TTL_MS)
            continue;
        struct watch *w = find(r, pid);

        w->ready = 1;
        w->status = u->status;
        u->pid = 0;
        ev_timer_stop(r->ev, &r->deferred);
        ev_timer_set(&r->deferred, 0., 0.);
        ev_timer_start(r->ev, &r->deferred);
        break;
    }
    return 0;
}

void ctr_reaper_unwatch(struct ctr_reaper *r, pid_t pid)
{
    struct watch *w = find(r, pid);

    if (w != NULL)
        remove_at(r, w);
}

size_t ctr_reaper_count(const struct ctr_reaper *r)
{
    return r->nw;
}

/* Moves an fd that would be clobbered by the dup2 onto 0-2 above them. */
static int lift(int fd, int *tmp)
{
    if (fd < 0 || fd > 2)
        return fd;
    *tmp = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    return *tmp;
}

static int spawn_posix(struct ctr_reaper *r, const struct ctr_spawn *s, const int fds[3],
                       pid_t *pid)
{
    char *const empty[] = {NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    int rc;

    (void)r;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawn_file_actions_init(&fa);
    for (int i = 0; i < 3; i++)
        posix_spawn_file_actions_adddup2(&fa, fds[i], i);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_init(&attr);
    if (s->new_session)
        flags |= POSIX_SPAWN_SETSID;
    posix_spawnattr_setflags(&attr, flags);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    rc = posix_spawn(pid, s->path, &fa, &attr, s->argv, s->envp ? s->envp : empty);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return -rc;
}

/* The child of spawn_fork(): async-signal-safe calls only (the agent has
 * worker threads). Reports the errno of the failing step on errfd. */
static void child_exec(const struct ctr_spawn *s, const int fds[3], int errfd)
{
    char *const empty[] = {NULL};
    sigset_t none;
    int e;

    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (s->new_session && setsid() < 0)
        goto fail;
    for (int i = 0; i < 3; i++)
        if (dup2(fds[i], i) < 0)
            goto fail;
    for (int i = 0; i < s->nrlimits; i++)
        if (setrlimit(s->rlimits[i].resource, &s->rlimits[i].lim) < 0)
            goto fail;
    if (s->cwd != NULL && chdir(s->cwd) < 0)
        goto fail;
    if (s->set_ids && (setgroups(1, &s->gid) < 0 || setgid(s->gid) < 0 || setuid(s->uid) < 0))
        goto fail;
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        for (int fd = 3; fd < 4096; fd++)
            if (fd != errfd)
                close(fd);
    execve(s->path, s->argv, s->envp ? s->envp : empty);
fail:
    e = errno;
    if (write(errfd, &e, sizeof(e)) < 0) {
        /* nothing left to tell */
    }
    _exit(127);
}

static int spawn_fork(const struct ctr_spawn *s, const int fds[3], pid_t *pid)
{
    int p[2], e = 0;
    ssize_t n;
    pid_t child;

    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    child = fork();
    if (child < 0) {
        e = errno;
        close(p[0]);
        close(p[1]);
        return -e;
    }
    if (child == 0)
        child_exec(s, fds, p[1]);
    close(p[1]);
    /* Blocks only until the child's execve (microseconds): the pipe closes on
     * exec, or carries the errno of the step that failed. */
    do
        n = read(p[0], &e, sizeof(e));
    while (n < 0 && errno == EINTR);
    close(p[0]);
    *pid = child;
    return n == (ssize_t)sizeof(e) ? -e : 0;
}

int ctr_spawn(struct ctr_reaper *r, const struct ctr_spawn *s, ctr_exit_fn fn, void *arg,
              pid_t *pid, struct error *err)
{
    int tmp[3] = {-1, -1, -1}, fds[3], rc;
    pid_t child = -1;

    fds[0] = lift(s->fd_in < 0 ? r->devnull : s->fd_in, &tmp[0]);
    fds[1] = lift(s->fd_out < 0 ? r->devnull : s->fd_out, &tmp[1]);
    fds[2] = lift(s->fd_err < 0 ? r->devnull : s->fd_err, &tmp[2]);
    if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0) {
        rc = error_set(err, -errno, "spawn %s: dup: %s", s->path, strerror(errno));
        goto out;
    }
    if (s->set_ids || s->nrlimits > 0 || s->cwd != NULL)
        rc = spawn_fork(s, fds, &child);
    else
        rc = spawn_posix(r, s, fds, &child);
    if (rc < 0 && child > 0) {
        /* fork path: the child told us why it could not exec and is exiting;
         * reap it here, before the SIGCHLD watcher could see it. */
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (rc < 0) {
        error_set(err, rc, "cannot run %s: %s", s->path, strerror(-rc));
        goto out;
    }
    forget(r, child);
    rc = add_watch(r, child, fn, arg);
    if (rc < 0) {
        error_set(err, rc, "pid %d is already watched", (int)child);
        goto out;
    }
    *pid = child;
out:
    for (int i = 0; i < 3; i++)
        if (tmp[i] >= 0)
            close(tmp[i]);
    return rc;
}
