/* src/ctr_runner.c: see ctr_run.h. The runner (one per process), the argv
 * of every crun command, and the one-off crun commands (list, --version,
 * delete of leftovers) whose output the caller needs. */
#include "src/ctr_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/encode.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "src/fn_fs.h"

#define CMD_OUT_MAX 65536

char *const ctr_int_crun_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};

/* ---------------------------------------------------------------- runner */

int ctr_runner_new(struct ev_loop *ev, struct ctr_reaper *reaper, struct wq *wq,
                   const struct ctr_runner_opts *o, struct ctr_runner **out, struct error *err)
{
    struct ctr_runner *r;
    char *p;
    int rc;

    *out = NULL;
    if (o->run_dir == NULL || o->run_dir[0] != '/')
        return error_set(err, -EINVAL, "run_dir must be an absolute path");
    if (o->executor == CTR_EXEC_CRUN &&
        (o->crun_path == NULL || o->crun_root == NULL || o->crun_path[0] != '/'))
        return error_set(err, -EINVAL, "crun executor needs an absolute crun path and a root");
    r = xcalloc(1, sizeof(*r));
    r->ev = ev;
    r->reaper = reaper;
    r->wq = wq;
    r->executor = o->executor;
    r->crun_path = o->crun_path ? xstrdup(o->crun_path) : NULL;
    r->crun_root = o->crun_root ? xstrdup(o->crun_root) : NULL;
    r->run_dir = xstrdup(o->run_dir);
    r->cgroup = o->cgroup;
    r->host.swap_accounting = o->cgroup.swap_accounting;
    if (o->io != NULL) {
        r->io = *o->io;
        r->have_io = 1;
    }
    /* A function that exits without reading stdin must not kill the agent
     * with SIGPIPE when we write its input. */
    signal(SIGPIPE, SIG_IGN);
    p = xasprintf("%s/c", r->run_dir);
    rc = fn_fs_mkdirs(p, 0711, err);
    free(p);
    p = xasprintf("%s/p", r->run_dir);
    if (rc == 0)
        rc = fn_fs_mkdirs(p, 0711, err);
    free(p);
    if (rc == 0 && r->crun_root != NULL)
        rc = fn_fs_mkdirs(r->crun_root, 0700, err);
    if (rc < 0) {
        ctr_runner_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void ctr_runner_free(struct ctr_runner *r)
{
    if (r == NULL)
        return;
    if (r->busy > 0)
        log_warn("container runner freed with %zu containers not deleted", r->busy);
    free(r->crun_path);
    free(r->crun_root);
    free(r->run_dir);
    free(r->seccomp_b64);
    free(r);
}

#define SECCOMP_BPF_MAX 65536

int ctr_runner_adopt_seccomp(struct ctr_runner *r, const struct ctr *c)
{
    char *path, *data = NULL;
    size_t len;
    int rc;

    if (r->crun_root == NULL)
        return -ENOTSUP;
    path = xasprintf("%s/%s/seccomp.bpf", r->crun_root, c->id);
    rc = fn_fs_read_file(path, SECCOMP_BPF_MAX, &data, &len, NULL);
    free(path);
    if (rc < 0)
        return rc;
    /* A classic BPF program is a whole number of 8-byte instructions. */
    if (len == 0 || len % 8 != 0) {
        free(data);
        return -EINVAL;
    }
    free(r->seccomp_b64);
    r->seccomp_b64 = xmalloc(BASE64_ENC_LEN(len));
    base64_encode(data, len, r->seccomp_b64, BASE64_STD);
    r->host.seccomp_bpf_b64 = r->seccomp_b64;
    free(data);
    return 0;
}

size_t ctr_runner_busy(const struct ctr_runner *r)
{
    return r->busy;
}

enum ctr_executor ctr_runner_executor(const struct ctr_runner *r)
{
    return r->executor;
}

struct ev_loop *ctr_runner_loop(const struct ctr_runner *r)
{
    return r->ev;
}

const struct ctr_cgroup *ctr_runner_cgroup(const struct ctr_runner *r)
{
    return &r->cgroup;
}

/* crun --root R --cgroup-manager=cgroupfs [--log=B/crun.log --log-format=json] args... */
char **ctr_int_crun_argv(const struct ctr_runner *r, const char *bundle, const char *const *args)
{
    size_t n = 0, i = 0;
    char **v;

    while (args[n] != NULL)
        n++;
    v = xcalloc(n + 7, sizeof(*v));
    v[i++] = xstrdup(r->crun_path);
    v[i++] = xasprintf("--root=%s", r->crun_root);
    v[i++] = xstrdup("--cgroup-manager=cgroupfs");
    if (bundle != NULL) {
        v[i++] = xasprintf("--log=%s/crun.log", bundle);
        v[i++] = xstrdup("--log-format=json");
    }
    for (size_t k = 0; k < n; k++)
        v[i++] = xstrdup(args[k]);
    v[i] = NULL;
    return v;
}

void ctr_int_free_strv(char **v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

char **ctr_int_dup_strv(char *const *v)
{
    size_t n = 0;
    char **d;

    while (v != NULL && v[n] != NULL)
        n++;
    d = xcalloc(n + 1, sizeof(*d));
    for (size_t i = 0; i < n; i++)
        d[i] = xstrdup(v[i]);
    return d;
}

/* ------------------------------------------------ one-off crun commands */

struct cmd {
    struct ctr_runner *r;
    int fd;
    ev_io io;
    char *out;
    size_t len;
    int exited, eof, status;
    ctr_cmd_fn fn;
    void *arg;
};

static void cmd_maybe_done(struct cmd *k)
{
    if (!k->exited || !k->eof)
        return;
    k->fn(k->arg, k->status, k->out, k->len);
    free(k->out);
    k->r->busy--;
    free(k);
}

static void cmd_on_read(struct ev_loop *ev, ev_io *w, int revents)
{
    struct cmd *k = w->data;
    char buf[4096];
    ssize_t n;

    (void)revents;
    n = read(k->fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0) {
        size_t keep = k->len + (size_t)n > CMD_OUT_MAX ? CMD_OUT_MAX - k->len : (size_t)n;

        memcpy(k->out + k->len, buf, keep);
        k->len += keep;
        k->out[k->len] = '\0';
        return;
    }
    ev_io_stop(ev, w);
    close(k->fd);
    k->eof = 1;
    cmd_maybe_done(k);
}

static void cmd_on_exit(void *arg, pid_t pid, int status)
{
    struct cmd *k = arg;

    (void)pid;
    k->exited = 1;
    k->status = status;
    cmd_maybe_done(k);
}

int ctr_runner_crun(struct ctr_runner *r, const char *const *args, ctr_cmd_fn fn, void *arg,
                    struct error *err)
{
    struct ctr_spawn s = {0};
    struct cmd *k;
    int p[2], rc;
    pid_t pid;
    char **argv;

    if (r->crun_path == NULL)
        return error_set(err, -ENOTSUP, "no crun executor");
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
        return error_set(err, -errno, "pipe: %s", strerror(errno));
    argv = ctr_int_crun_argv(r, NULL, args);
    s.path = r->crun_path;
    s.argv = argv;
    s.envp = ctr_int_crun_env;
    s.fd_in = -1;
    s.fd_out = p[1];
    s.fd_err = -1;
    k = xcalloc(1, sizeof(*k));
    k->out = xmalloc(CMD_OUT_MAX + 1);
    k->out[0] = '\0';
    rc = ctr_spawn(r->reaper, &s, cmd_on_exit, k, &pid, err);
    ctr_int_free_strv(argv);
    close(p[1]);
    if (rc < 0) {
        close(p[0]);
        free(k->out);
        free(k);
        return rc;
    }
    k->r = r;
    k->fd = p[0];
    k->fn = fn;
    k->arg = arg;
    r->busy++;
    ev_io_init(&k->io, cmd_on_read, k->fd, EV_READ);
    k->io.data = k;
    ev_io_start(r->ev, &k->io);
    return 0;
}

int ctr_device_resolve(struct ctr_device *dev, struct error *err)
{
    struct stat st;

    if (stat(dev->path, &st) < 0)
        return error_set(err, -errno, "%s: %s", dev->path, strerror(errno));
    if (!S_ISCHR(st.st_mode))
        return error_set(err, -ENODEV, "%s is not a character device", dev->path);
    dev->major = major(st.st_rdev);
    dev->minor = minor(st.st_rdev);
    return 0;
}
