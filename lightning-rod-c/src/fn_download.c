/* src/fn_download.c: see fn_download.h.
 *
 * The libev glue follows libcurl's multi-socket contract: the socket
 * callback (re)arms one ev_io per socket, the timer callback arms one
 * ev_timer, and each event is handed back with curl_multi_socket_action();
 * finished transfers are collected with curl_multi_info_read() after that
 * returns, never inside a libcurl callback, so that our own callbacks may
 * start or cancel transfers freely. */
#include "src/fn_download.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"

#define ERR_BODY_MAX 4096
#define RETRY_BASE_S 0.5

struct fn_dl {
    struct ev_loop *ev;
    CURLM *multi;
    ev_timer timer;
    struct fn_dl_opts o;
    char *ca_file;
    struct fn_dl_job *jobs; /* doubly linked */
    int active;
};

struct fn_dl_job {
    struct fn_dl *d;
    struct fn_dl_job *prev, *next;
    CURL *easy;
    struct curl_slist *headers;
    char *what, *url, *path, *sha256, *md5, *token_hdr;
    int64_t size, got;
    int fd, attempts, status_checked, http;
    struct crypto_digest *sha, *md;
    char errbody[ERR_BODY_MAX + 1];
    size_t errlen;
    char curlerr[CURL_ERROR_SIZE];
    ev_timer retry;
    fn_dl_done_fn fn;
    void *arg;
};

struct sock {
    ev_io io;
    struct fn_dl *d;
};

/* ------------------------------------------------------------ libev glue */

static void check_done(struct fn_dl *d);

static void on_socket_event(struct ev_loop *ev, ev_io *w, int revents)
{
    struct fn_dl *d = ((struct sock *)w)->d;
    int running, flags = 0;

    (void)ev;
    if (revents & EV_READ)
        flags |= CURL_CSELECT_IN;
    if (revents & EV_WRITE)
        flags |= CURL_CSELECT_OUT;
    /* w may be freed inside (CURL_POLL_REMOVE): nothing of it is used after. */
    curl_multi_socket_action(d->multi, w->fd, flags, &running);
    check_done(d);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct fn_dl *d = userp;
    struct sock *s = socketp;
    int events = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            ev_io_stop(d->ev, &s->io);
            free(s);
            curl_multi_assign(d->multi, fd, NULL);
        }
        return 0;
    }
    if (s == NULL) {
        s = xcalloc(1, sizeof(*s));
        s->d = d;
        curl_multi_assign(d->multi, fd, s);
    } else {
        ev_io_stop(d->ev, &s->io);
    }
    ev_io_init(&s->io, on_socket_event, fd, events);
    ev_io_start(d->ev, &s->io);
    return 0;
}

static void on_timer(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct fn_dl *d = t->data;
    int running;

    (void)ev;
    (void)revents;
    curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(d);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct fn_dl *d = userp;

    (void)multi;
    ev_timer_stop(d->ev, &d->timer);
    if (timeout_ms >= 0) {
        ev_timer_set(&d->timer, (double)timeout_ms / 1000.0, 0.);
        ev_timer_start(d->ev, &d->timer);
    }
    return 0;
}

/* ------------------------------------------------------------- downloader */

int fn_dl_new(struct ev_loop *ev, const struct fn_dl_opts *o, struct fn_dl **out, struct error *err)
{
    struct fn_dl *d;

    *out = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return error_set(err, -EIO, "curl_global_init failed");
    d = xcalloc(1, sizeof(*d));
    d->ev = ev;
    d->o = *o;
    d->ca_file = o->ca_file ? xstrdup(o->ca_file) : NULL;
    d->o.ca_file = d->ca_file;
    if (d->o.connect_timeout_s <= 0)
        d->o.connect_timeout_s = 30;
    if (d->o.stall_timeout_s <= 0)
        d->o.stall_timeout_s = 60;
    if (d->o.retries < 0)
        d->o.retries = 3;
    d->multi = curl_multi_init();
    curl_multi_setopt(d->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(d->multi, CURLMOPT_SOCKETDATA, d);
    curl_multi_setopt(d->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(d->multi, CURLMOPT_TIMERDATA, d);
    ev_timer_init(&d->timer, on_timer, 0., 0.);
    d->timer.data = d;
    *out = d;
    return 0;
}

static void job_free(struct fn_dl_job *j)
{
    struct fn_dl *d = j->d;

    ev_timer_stop(d->ev, &j->retry);
    if (j->easy != NULL) {
        curl_multi_remove_handle(d->multi, j->easy);
        curl_easy_cleanup(j->easy);
        d->active--;
    }
    curl_slist_free_all(j->headers);
    if (j->fd >= 0)
        close(j->fd);
    crypto_digest_free(j->sha);
    crypto_digest_free(j->md);
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
    free(j->token_hdr);
    free(j);
}

void fn_dl_free(struct fn_dl *d)
{
    if (d == NULL)
        return;
    while (d->jobs != NULL)
        job_free(d->jobs);
    ev_timer_stop(d->ev, &d->timer);
    curl_multi_cleanup(d->multi);
    free(d->ca_file);
    free(d);
}

int fn_dl_active(const struct fn_dl *d)
{
    return d->active;
}

/* -------------------------------------------------------------- a job */

static void reset_body(struct fn_dl_job *j)
{
    crypto_digest_free(j->sha);
    crypto_digest_free(j->md);
    j->sha = crypto_digest_new(0);
    j->md = crypto_digest_new(1);
    j->got = 0;
    if (ftruncate(j->fd, 0) < 0 || lseek(j->fd, 0, SEEK_SET) < 0)
        log_warn("cannot rewind %s: %s", j->path, strerror(errno));
}

/* First bytes of a response: decide whether they are the blob, and whether
 * a range request was honoured. */
static void check_status(struct fn_dl_job *j)
{
    long code = 0;

    j->status_checked = 1;
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
    j->http = (int)code;
    if (code == 200 && j->got > 0)
        reset_body(j); /* the range was ignored: the whole blob follows */
}

static size_t on_write(char *p, size_t sz, size_t n, void *arg)
{
    struct fn_dl_job *j = arg;
    size_t len = sz * n;

    if (!j->status_checked)
        check_status(j);
    if (j->http != 200 && j->http != 206) {
        size_t keep = len < ERR_BODY_MAX - j->errlen ? len : ERR_BODY_MAX - j->errlen;

        memcpy(j->errbody + j->errlen, p, keep);
        j->errlen += keep;
        j->errbody[j->errlen] = '\0';
        return len;
    }
    if (j->got + (int64_t)len > j->size)
        return 0; /* more than announced: abort (CURLE_WRITE_ERROR) */
    for (size_t done = 0; done < len;) {
        ssize_t w = write(j->fd, p + done, len - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return 0;
        done += (size_t)w;
    }
    crypto_digest_update(j->sha, p, len);
    crypto_digest_update(j->md, p, len);
    j->got += (int64_t)len;
    return len;
}

static int setup_easy(struct fn_dl_job *j, struct error *err)
{
    struct fn_dl *d = j->d;
    CURL *e = curl_easy_init();

    if (e == NULL)
        return error_set(err, -ENOMEM, "curl_easy_init failed");
    j->easy = e;
    j->status_checked = 0;
    j->http = 0;
    j->errlen = 0;
    j->curlerr[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, j->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* the token goes to this host only */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->curlerr);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)d->o.connect_timeout_s);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)d->o.stall_timeout_s);
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    if (d->o.ca_file != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, d->o.ca_file);
    if (d->o.insecure) {
        log_warn("downloading without TLS verification (download_insecure) url=%s", j->url);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (j->got > 0)
        curl_easy_setopt(e, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)j->got);
    if (curl_multi_add_handle(d->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        j->easy = NULL;
        return error_set(err, -EIO, "curl_multi_add_handle failed");
    }
    d->active++;
    return 0;
}

static void finish(struct fn_dl_job *j, int rc, const struct error *err)
{
    fn_dl_done_fn fn = j->fn;
    void *arg = j->arg;

    job_free(j);
    fn(arg, rc, err);
}

static int transient(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
        return 1;
    default:
        return 0;
    }
}

static void on_retry(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct fn_dl_job *j = t->data;
    struct error err;

    (void)ev;
    (void)revents;
    if (setup_easy(j, &err) < 0)
        finish(j, err.code, &err);
}

/* The message of an error body: the service answers {"faultstring": ...}. */
static const char *http_reason(struct fn_dl_job *j, char *buf, size_t cap)
{
    cJSON *body = cJSON_ParseWithLength(j->errbody, j->errlen);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(body, "faultstring");

    if (cJSON_IsString(f))
        snprintf(buf, cap, "%s", f->valuestring);
    else
        snprintf(buf, cap, "%s", j->errlen > 0 ? "unexpected answer" : "no body");
    cJSON_Delete(body);
    return buf;
}

static int verify(struct fn_dl_job *j, struct error *err)
{
    char sha[2 * SHA256_LEN + 1], md[2 * MD5_LEN + 1];

    if (j->got != j->size)
        return error_set(err, -EIO, "%s size mismatch: expected %lld bytes, received %lld.",
                         j->what, (long long)j->size, (long long)j->got);
    crypto_digest_final(j->sha, sha);
    j->sha = NULL;
    crypto_digest_final(j->md, md);
    j->md = NULL;
    if (strcmp(sha, j->sha256) != 0)
        return error_set(err, -EBADMSG, "%s sha256 mismatch.", j->what);
    if (j->md5 != NULL && strcasecmp(md, j->md5) != 0)
        return error_set(err, -EBADMSG, "%s md5 mismatch.", j->what);
    /* No fsync: the file is unpacked and deleted; a crash loses nothing
     * that another download would not bring back. */
    return 0;
}

static void job_done(struct fn_dl_job *j, CURLcode res)
{
    struct fn_dl *d = j->d;
    struct error err;
    char reason[512];

    if (!j->status_checked)
        check_status(j); /* an empty body never reached on_write() */
    curl_multi_remove_handle(d->multi, j->easy);
    curl_easy_cleanup(j->easy);
    j->easy = NULL;
    d->active--;
    if (res == CURLE_OK && j->http != 200 && j->http != 206) {
        error_set(&err, -EIO, "%s download failed: HTTP %d: %s", j->what, j->http,
                  http_reason(j, reason, sizeof(reason)));
        finish(j, err.code, &err);
        return;
    }
    if (res != CURLE_OK && transient(res) && j->attempts++ < d->o.retries) {
        log_info("download interrupted, retrying from byte %lld: %s url=%s", (long long)j->got,
                 j->curlerr[0] ? j->curlerr : curl_easy_strerror(res), j->url);
        ev_timer_set(&j->retry, RETRY_BASE_S * (1 << j->attempts), 0.);
        ev_timer_start(d->ev, &j->retry);
        return;
    }
    if (res != CURLE_OK) {
        error_set(&err, -EIO, "%s download failed: %s", j->what,
                  res == CURLE_WRITE_ERROR && j->got >= j->size
                      ? "more bytes than the announced size"
                      : (j->curlerr[0] ? j->curlerr : curl_easy_strerror(res)));
        finish(j, err.code, &err);
        return;
    }
    if (verify(j, &err) < 0) {
        finish(j, err.code, &err);
        return;
    }
    finish(j, 0, NULL);
}

static void check_done(struct fn_dl *d)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(d->multi, &left)) != NULL) {
        struct fn_dl_job *j = NULL;

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
        if (j != NULL)
            job_done(j, m->data.result);
    }
}

int fn_dl_start(struct fn_dl *d, const struct fn_dl_req *req, fn_dl_done_fn fn, void *arg,
                struct fn_dl_job **out, struct error *err)
{
    struct fn_dl_job *j;
    int rc;

    *out = NULL;
    if (strncmp(req->url, "http://", 7) != 0 && strncmp(req->url, "https://", 8) != 0)
        return error_set(err, -EINVAL, "%s URL must be http or https", req->what);
    j = xcalloc(1, sizeof(*j));
    j->d = d;
    j->fd = open(req->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (j->fd < 0) {
        rc = error_set(err, -errno, "create %s: %s", req->path, strerror(errno));
        free(j);
        return rc;
    }
    j->what = xstrdup(req->what);
    j->url = xstrdup(req->url);
    j->path = xstrdup(req->path);
    j->sha256 = xstrdup(req->sha256);
    j->md5 = req->md5 ? xstrdup(req->md5) : NULL;
    j->size = req->size;
    j->sha = crypto_digest_new(0);
    j->md = crypto_digest_new(1);
    if (req->token != NULL) {
        j->token_hdr = xasprintf("X-Board-Token: %s", req->token);
        j->headers = curl_slist_append(NULL, j->token_hdr);
    }
    j->fn = fn;
    j->arg = arg;
    ev_timer_init(&j->retry, on_retry, 0., 0.);
    j->retry.data = j;
    j->next = d->jobs;
    if (d->jobs)
        d->jobs->prev = j;
    d->jobs = j;
    rc = setup_easy(j, err);
    if (rc < 0) {
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
