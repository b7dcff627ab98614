/* src/fn_download.c: see fn_download.h.
 *
 * A job is one blob: one lrc-fetch run per attempt, and between attempts a
 * back-off timer (0.5 s doubled per attempt). The helper reports how many
 * bytes are in the file and whether another attempt may succeed; the next
 * one resumes from there. The file is created here, before the first
 * attempt, so that a bad path fails at once as it always did. */
#include "src/fn_download.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "src/helper.h"

#define RETRY_BASE_S 0.5
#define FETCH_OUTPUT_MAX 8192
#define ARGV_MAX 32

struct fn_dl {
    struct ev_loop *ev;
    struct fn_dl_opts o;
    char *ca_file, *fetch_path;
    struct fn_dl_job *jobs; /* doubly linked */
    int active;
};

struct fn_dl_job {
    struct fn_dl *d;
    struct fn_dl_job *prev, *next;
    struct lrc_helper *helper; /* the attempt in flight, NULL between attempts */
    char *what, *url, *path, *sha256, *md5, *token;
    int64_t size, got;
    int attempts;
    ev_timer retry;
    fn_dl_done_fn fn;
    void *arg;
};

/* ------------------------------------------------------------- downloader */

int fn_dl_new(struct ev_loop *ev, const struct fn_dl_opts *o, struct fn_dl **out, struct error *err)
{
    struct fn_dl *d;

    (void)err;
    *out = NULL;
    d = xcalloc(1, sizeof(*d));
    d->ev = ev;
    d->o = *o;
    d->ca_file = o->ca_file ? xstrdup(o->ca_file) : NULL;
    d->o.ca_file = d->ca_file;
    d->fetch_path = o->fetch_path ? xstrdup(o->fetch_path) : lrc_helper_find("lrc-fetch");
    d->o.fetch_path = d->fetch_path;
    if (d->fetch_path == NULL)
        log_error("lrc-fetch is not installed (looked beside this program and in %s): "
                  "function downloads will fail",
                  LRC_HELPER_DIR);
    if (d->o.connect_timeout_s <= 0)
        d->o.connect_timeout_s = 30;
    if (d->o.stall_timeout_s <= 0)
        d->o.stall_timeout_s = 60;
    if (d->o.retries < 0)
        d->o.retries = 3;
    *out = d;
    return 0;
}

static void job_free(struct fn_dl_job *j)
{
    struct fn_dl *d = j->d;

    ev_timer_stop(d->ev, &j->retry);
    if (j->helper != NULL) {
        lrc_helper_cancel(j->helper);
        d->active--;
    }
    if (j->prev)
        j->prev->next = j->next;
    else
        d->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    free(j->what);
    free(j->url);
    free(j->path);
    free(j->sha256);
    free(j->md5);
    free(j->token);
    free(j);
}

void fn_dl_free(struct fn_dl *d)
{
    if (d == NULL)
        return;
    while (d->jobs != NULL)
        job_free(d->jobs);
    free(d->ca_file);
    free(d->fetch_path);
    free(d);
}

int fn_dl_active(const struct fn_dl *d)
{
    return d->active;
}

/* -------------------------------------------------------------- a job */

static void finish(struct fn_dl_job *j, int rc, const struct error *err)
{
    fn_dl_done_fn fn = j->fn;
    void *arg = j->arg;

    job_free(j);
    fn(arg, rc, err);
}

struct argv {
    const char *v[ARGV_MAX + 1];
    size_t n;
};

static void add(struct argv *a, const char *opt, const char *value)
{
    a->v[a->n++] = opt;
    if (value != NULL)
        a->v[a->n++] = value;
    a->v[a->n] = NULL;
}

/* The argv of one attempt; the strings are the job's, the options' or in
 * nums (which must live as long as a). */
static void build_argv(const struct fn_dl_job *j, char nums[5][32], struct argv *a)
{
    const struct fn_dl_opts *o = &j->d->o;

    snprintf(nums[0], 32, "%lld", (long long)j->size);
    snprintf(nums[1], 32, "%lld", (long long)j->got);
    snprintf(nums[2], 32, "%lld", (long long)o->connect_timeout_s);
    snprintf(nums[3], 32, "%lld", (long long)o->stall_timeout_s);
    snprintf(nums[4], 32, "%u:%u", (unsigned)o->uid, (unsigned)o->gid);
    a->n = 0;
    add(a, "lrc-fetch", NULL);
    add(a, "--what", j->what);
    add(a, "--url", j->url);
    add(a, "--output", j->path);
    add(a, "--size", nums[0]);
    add(a, "--sha256", j->sha256);
    add(a, "--resume-from", nums[1]);
    add(a, "--connect-timeout", nums[2]);
    add(a, "--stall-timeout", nums[3]);
    if (j->md5 != NULL)
        add(a, "--md5", j->md5);
    if (o->ca_file != NULL)
        add(a, "--ca-file", o->ca_file);
    if (o->insecure)
        add(a, "--insecure", NULL);
    if (o->set_ids)
        add(a, "--user", nums[4]);
}

static void on_attempt(void *arg, int rc, const cJSON *res, const struct error *err);

static int attempt(struct fn_dl_job *j, struct error *err)
{
    struct fn_dl *d = j->d;
    struct lrc_helper_spec s = {0};
    struct argv a;
    char nums[5][32], *input;
    int rc;

    build_argv(j, nums, &a);
    if (d->o.insecure)
        log_warn("downloading without TLS verification (download_insecure) url=%s", j->url);
    /* The token travels on stdin: argv is readable by every local user. */
    input = xasprintf("%s\n", j->token ? j->token : "");
    s.path = d->fetch_path;
    s.argv = (char *const *)a.v;
    s.input = input;
    s.input_len = strlen(input);
    s.output_max = FETCH_OUTPUT_MAX;
    rc = lrc_helper_start(d->ev, d->o.reaper, &s, on_attempt, j, &j->helper, err);
    explicit_bzero(input, s.input_len);
    free(input);
    if (rc < 0)
        return error_prefix(err, "%s download failed", j->what);
    d->active++;
    return 0;
}

static void on_retry(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct fn_dl_job *j = t->data;
    struct error err;

    (void)ev;
    (void)revents;
    if (attempt(j, &err) < 0)
        finish(j, err.code, &err);
}

static void on_attempt(void *arg, int rc, const cJSON *res, const struct error *err)
{
    struct fn_dl_job *j = arg;
    struct fn_dl *d = j->d;
    const char *detail = NULL;
    int again = 0;

    j->helper = NULL;
    d->active--;
    if (rc == 0) {
        finish(j, 0, NULL);
        return;
    }
    /* What the helper says of the file: bounded by the size it was given. */
    if (json_get_int(res, "bytes", JSON_REQUIRED, 0, j->size, &j->got, NULL) < 0)
        j->got = 0;
    if (json_get_bool(res, "transient", JSON_OPTIONAL, &again, NULL) < 0)
        again = 0;
    if (!again || j->attempts++ >= d->o.retries) {
        finish(j, rc, err);
        return;
    }
    if (json_get_str(res, "detail", JSON_OPTIONAL, ERROR_MSG_MAX, &detail, NULL) < 0)
        detail = NULL;
    log_info("download interrupted, retrying from byte %lld: %s url=%s", (long long)j->got,
             detail ? detail : err->msg, j->url);
    ev_timer_set(&j->retry, RETRY_BASE_S * (1 << j->attempts), 0.);
    ev_timer_start(d->ev, &j->retry);
}

int fn_dl_start(struct fn_dl *d, const struct fn_dl_req *req, fn_dl_done_fn fn, void *arg,
                struct fn_dl_job **out, struct error *err)
{
    struct fn_dl_job *j;
    int fd, rc;

    *out = NULL;
    if (strncmp(req->url, "http://", 7) != 0 && strncmp(req->url, "https://", 8) != 0)
        return error_set(err, -EINVAL, "%s URL must be http or https", req->what);
    fd = open(req->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return error_set(err, -errno, "create %s: %s", req->path, strerror(errno));
    close(fd);
    j = xcalloc(1, sizeof(*j));
    j->d = d;
    j->what = xstrdup(req->what);
    j->url = xstrdup(req->url);
    j->path = xstrdup(req->path);
    j->sha256 = xstrdup(req->sha256);
    j->md5 = req->md5 ? xstrdup(req->md5) : NULL;
    j->token = req->token ? xstrdup(req->token) : NULL;
    j->size = req->size;
    j->fn = fn;
    j->arg = arg;
    ev_timer_init(&j->retry, on_retry, 0., 0.);
    j->retry.data = j;
    j->next = d->jobs;
    if (d->jobs)
        d->jobs->prev = j;
    d->jobs = j;
    rc = attempt(j, err);
    if (rc < 0) {
        unlink(j->path);
        job_free(j);
        return rc;
    }
    *out = j;
    return 0;
}

void fn_dl_cancel(struct fn_dl_job *j)
{
    if (j != NULL)
        job_free(j);
}
