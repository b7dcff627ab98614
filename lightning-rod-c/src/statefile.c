/* src/statefile.c: see statefile.h.
 *
 * The .bak is a second, independent file with the same content, written
 * just before the file itself: a hard link would share the inode, so damage
 * done in place (a truncating editor, a bad block) would hit both. A crash
 * between the two writes leaves the new .bak and the previous file, both
 * good. */
#include "src/statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/uuid.h"
#include "common/xalloc.h"
#include "src/fn_fs.h"

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_temp(const char *tmp, const void *data, size_t len, mode_t mode, struct error *err)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    int rc;

    if (fd < 0)
        return error_set(err, -errno, "create %s: %s", tmp, strerror(errno));
    rc = write_all(fd, data, len);
    if (rc == 0 && fchmod(fd, mode) < 0)
        rc = -errno;
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc < 0) {
        unlink(tmp);
        return error_set(err, rc, "write %s: %s", tmp, strerror(-rc));
    }
    return 0;
}

static int replace(const char *path, const void *data, size_t len, mode_t mode, struct error *err)
{
    /* Unique: the agent and a `configure` command may write at once. */
    char *tmp = xasprintf("%s.tmp.%d.%llx", path, (int)getpid(), (unsigned long long)rand_id53());
    int rc = write_temp(tmp, data, len, mode, err);

    if (rc == 0 && rename(tmp, path) < 0) {
        rc = error_set(err, -errno, "rename %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

int lrc_statefile_write(const char *path, const void *data, size_t len, mode_t mode,
                        struct error *err)
{
    char *bak = xasprintf("%s.bak", path);
    /* The copy first: a watcher of the file (the agent, when `configure`
     * writes) reacts to the file, and its own write must come last. */
    int rc = replace(bak, data, len, mode, err);

    if (rc == 0)
        rc = replace(path, data, len, mode, err);
    if (rc == 0)
        rc = fn_fs_sync_parent(path, err);
    free(bak);
    return rc;
}

/* Reads and checks one file: 0, -ENOENT, -EBADMSG (err: why), or -errno. */
static int read_checked(const char *path, lrc_statefile_check_fn check, void *arg, char **out,
                        size_t *len, struct error *err)
{
    struct error e;
    int rc = fn_fs_read_file(path, LRC_STATEFILE_MAX, out, len, &e);

    if (rc == -ENOENT)
        return -ENOENT;
    if (rc == -EFBIG)
        return error_set(err, -EBADMSG, "larger than %u bytes", LRC_STATEFILE_MAX);
    if (rc < 0)
        return error_set(err, rc, "%s", e.msg);
    if (check != NULL && check(*out, *len, arg, &e) < 0) {
        free(*out);
        *out = NULL;
        return error_set(err, -EBADMSG, "%s", e.msg);
    }
    return 0;
}

static void set_aside(const char *path, const char *why)
{
    char ts[TIME_ISO_LEN], *dst;

    time_format(time_now_us(), TIME_Z_US, ts);
    /* Colons are legal in file names but awkward in shells and tools. */
    for (char *p = ts; *p; p++)
        if (*p == ':')
            *p = '-';
    dst = xasprintf("%s.corrupt-%s", path, ts);
    if (rename(path, dst) < 0)
        log_error("state file %s is corrupt (%s) and cannot be renamed: %s", path, why,
                  strerror(errno));
    else
        log_error("state file %s is corrupt (%s): kept as %s", path, why, dst);
    free(dst);
}

int lrc_statefile_load(const char *path, lrc_statefile_check_fn check, void *arg, char **out,
                       size_t *len, int *from_bak, struct error *err)
{
    char *bak;
    struct error e, be;
    int rc;

    *out = NULL;
    *len = 0;
    *from_bak = 0;
    rc = read_checked(path, check, arg, out, len, &e);
    if (rc != -EBADMSG) {
        if (rc < 0 && rc != -ENOENT)
            error_copy(err, &e);
        return rc;
    }
    set_aside(path, e.msg);
    bak = xasprintf("%s.bak", path);
    rc = read_checked(bak, check, arg, out, len, &be);
    if (rc < 0) {
        log_error("state file %s: no good copy in %s (%s)", path, bak,
                  rc == -ENOENT ? "absent" : be.msg);
        free(bak);
        return error_set(err, -EBADMSG, "%s", e.msg);
    }
    log_warn("state file %s: using the last good copy %s", path, bak);
    *from_bak = 1;
    if (lrc_statefile_write(path, *out, *len, 0600, &be) < 0)
        log_warn("state file %s: cannot restore it from %s: %s", path, bak, be.msg);
    free(bak);
    return 0;
}

/* ---------------------------------------------------------------- store */

struct waiter {
    lrc_store_done_fn fn;
    void *arg;
};

struct batch {
    char *text;
    size_t len;
    struct waiter *w;
    size_t nw;
};

struct lrc_store {
    struct wq *wq;
    char *path;
    mode_t mode;
    int running, dead;
    struct batch next; /* the newest content waiting for the running write */
};

struct job {
    struct lrc_store *s;
    struct batch b;
    int rc;
    struct error err;
};

static void batch_clear(struct batch *b)
{
    free(b->text);
    free(b->w);
    memset(b, 0, sizeof(*b));
}

static void work(void *arg, void *thread_ctx)
{
    struct job *j = arg;

    (void)thread_ctx;
    error_clear(&j->err);
    j->rc = lrc_statefile_write(j->s->path, j->b.text, j->b.len, j->s->mode, &j->err);
}

static void start_next(struct lrc_store *s);

static void done(void *arg)
{
    struct job *j = arg;
    struct lrc_store *s = j->s;

    s->running = 0;
    if (j->rc < 0)
        log_error("cannot write %s: %s", s->path, j->err.msg);
    for (size_t i = 0; !s->dead && i < j->b.nw; i++)
        if (j->b.w[i].fn != NULL)
            j->b.w[i].fn(j->b.w[i].arg, j->rc, &j->err);
    batch_clear(&j->b);
    free(j);
    /* A store freed meanwhile still writes its newest content: the state
     * on disk must be the last one the agent decided on. */
    start_next(s);
    if (s->dead && !s->running) {
        batch_clear(&s->next);
        free(s->path);
        free(s);
    }
}

static void start_next(struct lrc_store *s)
{
    struct job *j;

    if (s->running || s->next.text == NULL)
        return;
    j = xcalloc(1, sizeof(*j));
    j->s = s;
    j->b = s->next;
    memset(&s->next, 0, sizeof(s->next));
    s->running = 1;
    if (wq_submit(s->wq, work, done, j) == 0)
        return;
    /* Only when the pool is shutting down: fail the waiters now (not
     * through done(), which would free a dead store under its caller). */
    s->running = 0;
    error_set(&j->err, -ESHUTDOWN, "the worker pool is stopping");
    log_error("cannot write %s: %s", s->path, j->err.msg);
    for (size_t i = 0; !s->dead && i < j->b.nw; i++)
        if (j->b.w[i].fn != NULL)
            j->b.w[i].fn(j->b.w[i].arg, -ESHUTDOWN, &j->err);
    batch_clear(&j->b);
    free(j);
}

struct lrc_store *lrc_store_new(struct wq *wq, const char *path, mode_t mode)
{
    struct lrc_store *s = xcalloc(1, sizeof(*s));

    s->wq = wq;
    s->path = xstrdup(path);
    s->mode = mode;
    return s;
}

void lrc_store_write(struct lrc_store *s, char *text, size_t len, lrc_store_done_fn fn, void *arg)
{
    struct batch *b = &s->next;

    free(b->text);
    b->text = text;
    b->len = len;
    b->w = xrealloc(b->w, (b->nw + 1) * sizeof(*b->w));
    b->w[b->nw++] = (struct waiter){fn, arg};
    start_next(s);
}

int lrc_store_busy(const struct lrc_store *s)
{
    return s->running || s->next.text != NULL;
}

const char *lrc_store_path(const struct lrc_store *s)
{
    return s->path;
}

void lrc_store_free(struct lrc_store *s)
{
    if (s == NULL)
        return;
    if (s->running) {
        s->dead = 1;
        return;
    }
    batch_clear(&s->next);
    free(s->path);
    free(s);
}
