/* src/helper.c: see helper.h.
 *
 * The exit (through the reaper) and the end of stdout arrive in either
 * order; the outcome is decided once both are in. stdin is fed from the
 * loop with non-blocking writes (a DeviceRestSubmit body may exceed a pipe's
 * capacity); a helper that exits without reading it only costs an EPIPE,
 * since the agent ignores SIGPIPE. stdout is read whole, up to output_max:
 * beyond it the rest is drained and dropped, so the helper never blocks on
 * a full pipe, and the run fails. */
#include "src/helper.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"

#define OUTPUT_MAX_DEFAULT 65536
#define READ_CHUNK 16384
#define ENV_MAX 16

/* The variables a helper may inherit: libcurl's proxy settings (the agent
 * honoured them when it downloaded in-process) and the sanitizer options of
 * test builds. Nothing else of the agent's environment leaks into helpers. */
static const char *const env_keep[] = {
    "http_proxy", "https_proxy", "HTTPS_PROXY",  "all_proxy",     "ALL_PROXY",
    "no_proxy",   "NO_PROXY",    "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
};

struct lrc_helper {
    struct ev_loop *ev;
    struct ctr_reaper *reaper;
    char *name;
    pid_t pid;
    ev_io in_io, out_io;
    ev_timer timer;
    char *input;
    size_t input_len, input_off;
    struct buf out;
    int overflow, exited, out_eof, timed_out, status;
    double timeout_s;
    lrc_helper_fn fn;
    void *arg;
};

static void stop_input(struct lrc_helper *h)
{
    if (h->in_io.fd < 0)
        return;
    ev_io_stop(h->ev, &h->in_io);
    close(h->in_io.fd);
    h->in_io.fd = -1;
}

static void stop_output(struct lrc_helper *h)
{
    if (h->out_io.fd < 0)
        return;
    ev_io_stop(h->ev, &h->out_io);
    close(h->out_io.fd);
    h->out_io.fd = -1;
}

static void helper_free(struct lrc_helper *h)
{
    stop_input(h);
    stop_output(h);
    ev_timer_stop(h->ev, &h->timer);
    buf_free(&h->out);
    if (h->input != NULL)
        explicit_bzero(h->input, h->input_len); /* it may be a token */
    free(h->input);
    free(h->name);
    free(h);
}

/* ------------------------------------------------------------- outcome */

/* The helper's object when it is one of the protocol: {"ok": bool, ...},
 * and with ok false a string "error". NULL otherwise. */
static cJSON *parse_result(struct lrc_helper *h)
{
    cJSON *res = NULL;
    const cJSON *ok;
    const char *text;

    if (h->overflow || h->out.len == 0 || json_parse(h->out.data, h->out.len, &res, NULL) < 0)
        return NULL;
    ok = cJSON_GetObjectItemCaseSensitive(res, "ok");
    if (!cJSON_IsObject(res) || !cJSON_IsBool(ok) ||
        (cJSON_IsFalse(ok) &&
         json_get_str(res, "error", JSON_REQUIRED, ERROR_MSG_MAX, &text, NULL) < 0)) {
        cJSON_Delete(res);
        return NULL;
    }
    return res;
}

/* Why a run without a usable result failed, in words for the log and the
 * caller's error message. */
static int describe_failure(struct lrc_helper *h, struct error *err)
{
    if (h->timed_out)
        return error_set(err, -ETIMEDOUT, "%s timed out after %g s", h->name, h->timeout_s);
    if (WIFSIGNALED(h->status))
        return error_set(err, -EIO, "%s was killed by signal %d", h->name, WTERMSIG(h->status));
    if (h->overflow)
        return error_set(err, -EIO, "%s wrote more than %zu bytes", h->name, h->out.limit);
    return error_set(err, -EIO, "%s exited with status %d without a result", h->name,
                     WIFEXITED(h->status) ? WEXITSTATUS(h->status) : -1);
}

static int failure_of(const cJSON *res, struct error *err)
{
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(res, "error");
    int64_t e = EIO;

    if (json_get_int(res, "errno", JSON_OPTIONAL, 1, 4095, &e, NULL) < 0)
        e = EIO;
    return error_set(err, -(int)e, "%s", text->valuestring);
}

static void maybe_done(struct lrc_helper *h)
{
    struct error err = {0};
    cJSON *res;
    int rc;

    if (!h->exited || !h->out_eof)
        return;
    res = parse_result(h);
    if (res == NULL) {
        rc = describe_failure(h, &err);
        if (h->out.len > 0)
            log_warn("%s: unexpected output: %.300s", h->name, h->out.data);
    } else if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(res, "ok"))) {
        rc = failure_of(res, &err);
    } else if (!WIFEXITED(h->status) || WEXITSTATUS(h->status) != 0) {
        rc = describe_failure(h, &err); /* "ok" with a failing status: not to be trusted */
        cJSON_Delete(res);
        res = NULL;
    } else {
        rc = 0;
    }
    h->fn(h->arg, rc, res, rc < 0 ? &err : NULL);
    cJSON_Delete(res);
    helper_free(h);
}

/* ---------------------------------------------------------------- events */

static void on_output(struct ev_loop *ev, ev_io *w, int revents)
{
    struct lrc_helper *h = w->data;
    char chunk[READ_CHUNK];
    ssize_t n = read(w->fd, chunk, sizeof(chunk));

    (void)ev;
    (void)revents;
    if (n > 0) {
        if (!h->overflow && buf_append(&h->out, chunk, (size_t)n) < 0)
            h->overflow = 1;
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    stop_output(h);
    h->out_eof = 1;
    maybe_done(h);
}

static void on_input(struct ev_loop *ev, ev_io *w, int revents)
{
    struct lrc_helper *h = w->data;
    ssize_t n = write(w->fd, h->input + h->input_off, h->input_len - h->input_off);

    (void)ev;
    (void)revents;
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0)
        h->input_off += (size_t)n;
    /* Done, or the helper closed its stdin (EPIPE): either way no more. */
    if (n < 0 || h->input_off == h->input_len)
        stop_input(h);
}

static void on_exit_cb(void *arg, pid_t pid, int status)
{
    struct lrc_helper *h = arg;

    (void)pid;
    h->status = status;
    h->exited = 1;
    ev_timer_stop(h->ev, &h->timer);
    stop_input(h);
    maybe_done(h);
}

static void on_timeout(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct lrc_helper *h = t->data;

    (void)ev;
    (void)revents;
    h->timed_out = 1;
    kill(h->pid, SIGKILL);
}

/* ----------------------------------------------------------------- start */

static int keep_var(const char *kv)
{
    for (size_t i = 0; i < sizeof(env_keep) / sizeof(env_keep[0]); i++) {
        size_t n = strlen(env_keep[i]);

        if (strncmp(kv, env_keep[i], n) == 0 && kv[n] == '=')
            return 1;
    }
    return 0;
}

/* Pointers into environ, valid for the spawn (a NULL-terminated array). */
static void helper_env(const char *env[ENV_MAX + 1])
{
    extern char **environ;
    size_t n = 0;

    for (char **e = environ; e != NULL && *e != NULL && n < ENV_MAX; e++)
        if (keep_var(*e))
            env[n++] = *e;
    env[n] = NULL;
}

static int spawn(struct lrc_helper *h, const struct lrc_helper_spec *s, int in_r, int out_w,
                 struct error *err)
{
    const char *env[ENV_MAX + 1];
    struct ctr_spawn sp = {0};

    helper_env(env);
    sp.path = s->path;
    sp.argv = s->argv;
    sp.envp = (char *const *)env;
    sp.fd_in = in_r;
    sp.fd_out = out_w;
    sp.fd_err = STDERR_FILENO; /* the agent's log */
    return ctr_spawn(h->reaper, &sp, on_exit_cb, h, &h->pid, err);
}

static void watch(struct lrc_helper *h, int in_w, int out_r)
{
    fcntl(out_r, F_SETFL, fcntl(out_r, F_GETFL) | O_NONBLOCK);
    ev_io_init(&h->out_io, on_output, out_r, EV_READ);
    h->out_io.data = h;
    ev_io_start(h->ev, &h->out_io);
    ev_io_init(&h->in_io, on_input, in_w, EV_WRITE);
    h->in_io.data = h;
    if (h->input_len > 0) {
        fcntl(in_w, F_SETFL, fcntl(in_w, F_GETFL) | O_NONBLOCK);
        ev_io_start(h->ev, &h->in_io);
    } else {
        close(in_w);
        h->in_io.fd = -1;
    }
    ev_timer_init(&h->timer, on_timeout, h->timeout_s, 0.);
    h->timer.data = h;
    if (h->timeout_s > 0)
        ev_timer_start(h->ev, &h->timer);
}

int lrc_helper_start(struct ev_loop *ev, struct ctr_reaper *reaper, const struct lrc_helper_spec *s,
                     lrc_helper_fn fn, void *arg, struct lrc_helper **out, struct error *err)
{
    struct lrc_helper *h;
    int in[2] = {-1, -1}, outp[2] = {-1, -1}, rc;

    if (out != NULL)
        *out = NULL;
    if (s->path == NULL || s->path[0] != '/')
        return error_set(err, -ENOENT, "%s is not installed", s->argv[0]);
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0) {
        rc = error_set(err, -errno, "pipe: %s", strerror(errno));
        goto fail;
    }
    h = xcalloc(1, sizeof(*h));
    h->ev = ev;
    h->reaper = reaper;
    h->name = xstrdup(s->argv[0]);
    h->input = s->input_len > 0 ? xmalloc(s->input_len) : NULL;
    if (s->input_len > 0)
        memcpy(h->input, s->input, s->input_len);
    h->input_len = s->input_len;
    h->timeout_s = s->timeout_s;
    buf_init(&h->out, s->output_max ? s->output_max : OUTPUT_MAX_DEFAULT);
    h->fn = fn;
    h->arg = arg;
    h->in_io.fd = h->out_io.fd = -1;
    rc = spawn(h, s, in[0], outp[1], err);
    close(in[0]);
    close(outp[1]);
    in[0] = outp[1] = -1;
    if (rc < 0) {
        helper_free(h);
        goto fail;
    }
    watch(h, in[1], outp[0]);
    if (out != NULL)
        *out = h;
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (outp[i] >= 0)
            close(outp[i]);
    }
    return rc;
}

void lrc_helper_cancel(struct lrc_helper *h)
{
    if (h == NULL)
        return;
    if (!h->exited) {
        kill(h->pid, SIGKILL);
        /* The reaper still collects it; nobody is told. */
        ctr_reaper_unwatch(h->reaper, h->pid);
    }
    helper_free(h);
}

/* ------------------------------------------------------------------ find */

static int usable(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IWOTH) == 0 &&
           access(path, X_OK) == 0;
}

char *lrc_helper_find(const char *name)
{
    static const char *const rel[] = {"%s/%s", "%s/../lib/lightning-rod-c/%s"};
    char exe[4096], *dir, *p;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n > 0) {
        exe[n] = '\0';
        dir = dirname(exe);
        for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
            p = xasprintf(rel[i], dir, name);
            if (usable(p))
                return p;
            free(p);
        }
    }
    p = xasprintf("%s/%s", LRC_HELPER_DIR, name);
    if (usable(p))
        return p;
    free(p);
    return NULL;
}
