/* helpers/fetch_blob.c: see fetch.h.
 *
 * One blocking libcurl transfer: the helper does nothing else. The file is
 * written with pwrite() at the offset of the bytes received, so that a
 * server that ignores the range (200 instead of 206) simply restarts the
 * file from zero. The messages are the ones the agent gave when it
 * downloaded in-process: they end up in "Failed to deploy function on board
 * <uuid>: <reason>" (deviceless-api.md 2.6.3). */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/json.h"
#include "common/xalloc.h"
#include "helpers/fetch.h"
#include "helpers/hlp.h"

#define ERR_BODY_MAX 4096
#define READ_BLOCK 65536
#define FETCH_NOFILE 64
#define FETCH_CPU_S 3600

struct dl {
    const struct fetch_blob *job;
    int fd;
    int64_t got;
    int status_checked, http;
    struct crypto_digest *sha, *md;
    char errbody[ERR_BODY_MAX + 1];
    size_t errlen;
    CURL *easy;
    char curlerr[CURL_ERROR_SIZE];
    struct error err;
};

static void reset_digests(struct dl *d)
{
    crypto_digest_free(d->sha);
    crypto_digest_free(d->md);
    d->sha = crypto_digest_new(0);
    d->md = crypto_digest_new(1);
}

/* The bytes a previous attempt left: hashed again, the rest cut off. */
static int take_prefix(struct dl *d, struct error *err)
{
    char *buf = xmalloc(READ_BLOCK);
    int64_t at = 0;
    int rc = 0;

    while (rc == 0 && at < d->job->resume_from) {
        size_t want =
            (size_t)(d->job->resume_from - at < READ_BLOCK ? d->job->resume_from - at : READ_BLOCK);
        ssize_t n = pread(d->fd, buf, want, at);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = error_set(err, n < 0 ? -errno : -EIO, "%s holds fewer than %lld bytes",
                           d->job->output, (long long)d->job->resume_from);
            break;
        }
        crypto_digest_update(d->sha, buf, (size_t)n);
        crypto_digest_update(d->md, buf, (size_t)n);
        at += n;
    }
    free(buf);
    d->got = at;
    return rc;
}

static int open_output(struct dl *d, struct error *err)
{
    struct stat st;

    d->fd = open(d->job->output, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (d->fd < 0)
        return error_set(err, -errno, "open %s: %s", d->job->output, strerror(errno));
    if (fstat(d->fd, &st) < 0 || !S_ISREG(st.st_mode))
        return error_set(err, -EINVAL, "%s is not a regular file", d->job->output);
    reset_digests(d);
    if (take_prefix(d, err) < 0)
        return err->code;
    if (ftruncate(d->fd, d->got) < 0)
        return error_set(err, -errno, "truncate %s: %s", d->job->output, strerror(errno));
    return 0;
}

/* First bytes of a response: are they the blob, was the range honoured? */
static void check_status(struct dl *d)
{
    long code = 0;

    d->status_checked = 1;
    curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &code);
    d->http = (int)code;
    if (code == 200 && d->got > 0) { /* the range was ignored: the whole blob follows */
        reset_digests(d);
        d->got = 0;
        if (ftruncate(d->fd, 0) < 0)
            d->http = -1; /* fails the transfer below, with the file's error */
    }
}

static size_t on_write(char *p, size_t sz, size_t n, void *arg)
{
    struct dl *d = arg;
    size_t len = sz * n;

    if (!d->status_checked)
        check_status(d);
    if (d->http != 200 && d->http != 206) {
        size_t keep = len < ERR_BODY_MAX - d->errlen ? len : ERR_BODY_MAX - d->errlen;

        memcpy(d->errbody + d->errlen, p, keep);
        d->errlen += keep;
        d->errbody[d->errlen] = '\0';
        return d->http < 0 ? 0 : len;
    }
    if (d->got + (int64_t)len > d->job->size)
        return 0; /* more than announced: abort (CURLE_WRITE_ERROR) */
    for (size_t done = 0; done < len;) {
        ssize_t w = pwrite(d->fd, p + done, len - done, (off_t)(d->got + (int64_t)done));

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return 0;
        done += (size_t)w;
    }
    crypto_digest_update(d->sha, p, len);
    crypto_digest_update(d->md, p, len);
    d->got += (int64_t)len;
    return len;
}

static void setup(struct dl *d, struct curl_slist *headers)
{
    const struct fetch_blob *j = d->job;
    CURL *e = d->easy;

    curl_easy_setopt(e, CURLOPT_URL, j->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* the token goes to this host only */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, d);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, d->curlerr);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)j->connect_timeout_s);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)j->stall_timeout_s);
    if (j->ca_file != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, j->ca_file);
    if (j->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (d->got > 0)
        curl_easy_setopt(e, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)d->got);
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

/* The message of an error body: the service answers {"faultstring": ...}. */
static const char *http_reason(struct dl *d, char *buf, size_t cap)
{
    cJSON *body = cJSON_ParseWithLength(d->errbody, d->errlen);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(body, "faultstring");

    if (cJSON_IsString(f))
        snprintf(buf, cap, "%s", f->valuestring);
    else
        snprintf(buf, cap, "%s", d->errlen > 0 ? "unexpected answer" : "no body");
    cJSON_Delete(body);
    return buf;
}

static int verify(struct dl *d, struct error *err)
{
    const struct fetch_blob *j = d->job;
    char sha[2 * SHA256_LEN + 1], md[2 * MD5_LEN + 1];

    if (d->got != j->size)
        return error_set(err, -EIO, "%s size mismatch: expected %lld bytes, received %lld.",
                         j->what, (long long)j->size, (long long)d->got);
    crypto_digest_final(d->sha, sha);
    d->sha = NULL;
    crypto_digest_final(d->md, md);
    d->md = NULL;
    if (strcmp(sha, j->sha256) != 0)
        return error_set(err, -EBADMSG, "%s sha256 mismatch.", j->what);
    if (j->md5 != NULL && strcasecmp(md, j->md5) != 0)
        return error_set(err, -EBADMSG, "%s md5 mismatch.", j->what);
    /* No fsync: the file is unpacked and deleted; a crash loses nothing
     * that another download would not bring back. */
    return 0;
}

/* The outcome of the transfer: 0, or the error and whether another
 * attempt from d->got may succeed. */
static int outcome(struct dl *d, CURLcode res, int *again, struct error *err)
{
    char reason[512];
    const char *text;

    if (res != CURLE_OK && d->curlerr[0] == '\0')
        snprintf(d->curlerr, sizeof(d->curlerr), "%s", curl_easy_strerror(res));
    text = d->curlerr;
    *again = 0;
    if (!d->status_checked)
        check_status(d); /* an empty body never reached on_write() */
    if (res == CURLE_OK && d->http != 200 && d->http != 206)
        return error_set(err, -EIO, "%s download failed: HTTP %d: %s", d->job->what, d->http,
                         http_reason(d, reason, sizeof(reason)));
    if (res == CURLE_RANGE_ERROR && d->job->resume_from > 0) {
        /* The server ignored the range: the next attempt starts afresh. */
        d->got = 0;
        *again = 1;
    } else if (res != CURLE_OK) {
        *again = transient(res);
    }
    if (res != CURLE_OK) {
        return error_set(err, -EIO, "%s download failed: %s", d->job->what,
                         res == CURLE_WRITE_ERROR && d->got >= d->job->size
                             ? "more bytes than the announced size"
                             : text);
    }
    return verify(d, err);
}

static char *read_token(struct error *err)
{
    char buf[FETCH_TOKEN_MAX + 2];
    size_t n = 0;
    ssize_t r;

    while (n < sizeof(buf) && (r = read(STDIN_FILENO, buf + n, sizeof(buf) - n)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            error_set(err, -errno, "read the token: %s", strerror(errno));
            return NULL;
        }
        n += (size_t)r;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (n > FETCH_TOKEN_MAX) {
        error_set(err, -EINVAL, "the token is longer than %d bytes", FETCH_TOKEN_MAX);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] <= ' ' || (unsigned char)buf[i] >= 0x7f) {
            error_set(err, -EINVAL, "the token must be printable ASCII without spaces");
            return NULL;
        }
    return xstrndup(buf, n);
}

static int transfer(struct dl *d, const char *token, int *again, struct error *err)
{
    struct curl_slist *headers = NULL;
    char *hdr = NULL;
    CURLcode res;
    int rc;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return error_set(err, -EIO, "curl_global_init failed");
    d->easy = curl_easy_init();
    if (d->easy == NULL)
        return error_set(err, -ENOMEM, "curl_easy_init failed");
    if (token[0] != '\0') {
        hdr = xasprintf("X-Board-Token: %s", token);
        headers = curl_slist_append(NULL, hdr);
    }
    setup(d, headers);
    res = curl_easy_perform(d->easy);
    rc = outcome(d, res, again, err);
    curl_easy_cleanup(d->easy);
    d->easy = NULL;
    curl_slist_free_all(headers);
    free(hdr);
    curl_global_cleanup();
    return rc;
}

static cJSON *progress(const struct dl *d, int again)
{
    cJSON *o = cJSON_CreateObject();

    json_add_int(o, "bytes", d->got);
    cJSON_AddBoolToObject(o, "transient", again);
    if (d->curlerr[0] != '\0')
        cJSON_AddStringToObject(o, "detail", d->curlerr);
    return o;
}

int fetch_blob_run(const struct fetch_blob *job)
{
    struct dl d = {.job = job, .fd = -1};
    struct hlp_sandbox sb = {.set_ids = job->set_ids, .uid = job->uid, .gid = job->gid};
    char *token = NULL;
    int again = 0, rc;
    cJSON *o;

    rc = open_output(&d, &d.err);
    sb.nofile = FETCH_NOFILE;
    sb.cpu_s = FETCH_CPU_S;
    if (rc == 0 && hlp_sandbox_enter(&sb, &d.err) < 0)
        rc = error_prefix(&d.err, "sandbox");
    if (rc == 0 && (token = read_token(&d.err)) == NULL)
        rc = d.err.code;
    if (rc == 0)
        rc = transfer(&d, token, &again, &d.err);
    free(token);
    crypto_digest_free(d.sha);
    crypto_digest_free(d.md);
    if (d.fd >= 0)
        close(d.fd);
    if (rc < 0)
        return hlp_reply_err(progress(&d, again), &d.err);
    o = cJSON_CreateObject();
    json_add_int(o, "bytes", d.got);
    json_add_int(o, "http", d.http);
    return hlp_reply_ok(o);
}
