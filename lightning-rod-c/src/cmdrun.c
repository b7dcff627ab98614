/* src/cmdrun.c: see cmdrun.h. The exit and the end of the output arrive in
 * either order; the callback runs once both are in. */
#include "src/cmdrun.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"

static char *const default_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", NULL};

struct lrc_cmd {
    struct ev_loop *ev;
    struct ctr_reaper *reaper;
    pid_t pid;
    ev_io out;
    ev_timer timer;
    char *tail;
    size_t len, max;
    int status, exited, eof, timed_out;
    lrc_cmd_fn fn;
    void *arg;
};

static void cmd_free(struct lrc_cmd *c)
{
    if (ev_is_active(&c->out)) {
        ev_io_stop(c->ev, &c->out);
        close(c->out.fd);
    }
    ev_timer_stop(c->ev, &c->timer);
    free(c->tail);
    free(c);
}

static void maybe_done(struct lrc_cmd *c)
{
    if (!c->exited || !c->eof)
        return;
    c->tail[c->len] = '\0';
    if (c->fn != NULL)
        c->fn(c->arg, c->status, c->tail, c->len, c->timed_out);
    cmd_free(c);
}

/* Keeps the last max bytes: the end of a package manager's output says
 * what went wrong. */
static void keep(struct lrc_cmd *c, const char *p, size_t n)
{
    if (n >= c->max) {
        memcpy(c->tail, p + n - c->max, c->max);
        c->len = c->max;
        return;
    }
    if (c->len + n > c->max) {
        size_t drop = c->len + n - c->max;

        memmove(c->tail, c->tail + drop, c->len - drop);
        c->len -= drop;
    }
    memcpy(c->tail + c->len, p, n);
    c->len += n;
}

static void on_out(struct ev_loop *ev, ev_io *w, int revents)
{
    struct lrc_cmd *c = w->data;
    char buf[4096];
    ssize_t n = read(w->fd, buf, sizeof(buf));

    (void)revents;
    if (n > 0) {
        keep(c, buf, (size_t)n);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    ev_io_stop(ev, w);
    close(w->fd);
    c->eof = 1;
    maybe_done(c);
}

static void on_exit_cb(void *arg, pid_t pid, int status)
{
    struct lrc_cmd *c = arg;

    (void)pid;
    c->status = status;
    c->exited = 1;
    ev_timer_stop(c->ev, &c->timer);
    maybe_done(c);
}

static void on_timeout(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct lrc_cmd *c = t->data;

    (void)ev;
    (void)revents;
    c->timed_out = 1;
    if (kill(-c->pid, SIGKILL) < 0)
        kill(c->pid, SIGKILL);
}

int lrc_cmd_start(struct ev_loop *ev, struct ctr_reaper *reaper, char *const *argv,
                  char *const *envp, size_t tail_max, double timeout_s, lrc_cmd_fn fn, void *arg,
                  struct lrc_cmd **out, struct error *err)
{
    struct ctr_spawn sp = {0};
    struct lrc_cmd *c;
    int fds[2], rc;

    if (out != NULL)
        *out = NULL;
    if (argv == NULL || argv[0] == NULL || argv[0][0] != '/')
        return error_set(err, -EINVAL, "a command needs an absolute path");
    if (pipe2(fds, O_CLOEXEC) < 0)
        return error_set(err, -errno, "pipe: %s", strerror(errno));
    c = xcalloc(1, sizeof(*c));
    c->ev = ev;
    c->reaper = reaper;
    c->max = tail_max ? tail_max : 1;
    c->tail = xmalloc(c->max + 1);
    c->fn = fn;
    c->arg = arg;
    sp.path = argv[0];
    sp.argv = argv;
    sp.envp = envp ? envp : default_env;
    sp.fd_in = -1;
    sp.fd_out = sp.fd_err = fds[1];
    sp.new_session = 1;
    rc = ctr_spawn(reaper, &sp, on_exit_cb, c, &c->pid, err);
    close(fds[1]);
    if (rc < 0) {
        close(fds[0]);
        free(c->tail);
        free(c);
        return rc;
    }
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    ev_io_init(&c->out, on_out, fds[0], EV_READ);
    c->out.data = c;
    ev_io_start(ev, &c->out);
    ev_timer_init(&c->timer, on_timeout, timeout_s, 0.);
    c->timer.data = c;
    if (timeout_s > 0)
        ev_timer_start(ev, &c->timer);
    if (out != NULL)
        *out = c;
    return 0;
}

void lrc_cmd_cancel(struct lrc_cmd *c)
{
    if (c == NULL)
        return;
    if (!c->exited) {
        if (kill(-c->pid, SIGKILL) < 0)
            kill(c->pid, SIGKILL);
        /* The reaper still collects it; nobody is told. */
        ctr_reaper_unwatch(c->reaper, c->pid);
    }
    cmd_free(c);
}

char *lrc_cmd_status_str(int status, char *out, size_t cap)
{
    if (WIFEXITED(status))
        snprintf(out, cap, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, cap, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(out, cap, "status %d", status);
    return out;
}

char *lrc_cmd_which(const char *name)
{
    static const char *const dirs[] = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
                                       "/usr/bin",        "/sbin",          "/bin"};

    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char *p = xasprintf("%s/%s", dirs[i], name);

        if (access(p, X_OK) == 0)
            return p;
        free(p);
    }
    return NULL;
}
