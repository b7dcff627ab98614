/* src/fn_download.h: blob downloads, each in an lrc-fetch helper process.
 *
 * Packages and runtime images are fetched by sha256 from the URL the
 * service gives, with the header X-Board-Token (deviceless-api.md 3.5.2),
 * into a file; the helper hashes as the bytes arrive and checks the size,
 * sha256 and md5 at the end. Transient failures are retried here with a
 * new attempt that resumes from the bytes already received (the blob
 * endpoint supports one range per request); a server that ignores the range
 * makes the next attempt start from zero.
 *
 * Why a helper rather than libcurl in the agent (as before) or the
 * libwebsockets HTTP client: libcurl brings what a download over a flaky
 * board link needs (ranges, low-speed and connect timeouts, proxies from the
 * environment, TLS verification with a CA file or the system store,
 * protocol restriction), but mapping it and its ~40 dependencies costs the
 * agent ~8 MB of resident memory for a few downloads a day; in a helper it
 * costs nothing between downloads, and its HTTP and TLS parsers run as an
 * unprivileged user (helpers/lrc-fetch.c). The agent only spawns, feeds the
 * token through a pipe (never argv) and reads one JSON line
 * (src/helper.h).
 *
 * One downloader per process, made on the loop thread; every call runs on
 * the loop thread. Callbacks run on the loop thread, never inside the call
 * that started the download. */
#ifndef LRC_FN_DOWNLOAD_H
#define LRC_FN_DOWNLOAD_H

#include <ev.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "src/ctr_reaper.h"

struct fn_dl;
struct fn_dl_job;

struct fn_dl_opts {
    struct ctr_reaper *reaper; /* starts the helpers; outlives the downloader */
    const char *fetch_path;    /* the lrc-fetch program; NULL: lrc_helper_find() */
    const char *ca_file;       /* NULL: the system's CAs */
    int insecure;              /* 1: no TLS verification (logged at every use) */
    int64_t connect_timeout_s; /* 0: 30 */
    int64_t stall_timeout_s;   /* abort when under 1 byte/s for this long; 0: 60 */
    int retries;               /* transient failures retried; <0: 3 */
    int set_ids;               /* 1: the helper runs as uid:gid (when the agent is root) */
    uid_t uid;
    gid_t gid;
};

/* Makes the downloader on ev. *out is new: fn_dl_free() it. A missing
 * lrc-fetch is logged here and fails each download, not the agent. */
int fn_dl_new(struct ev_loop *ev, const struct fn_dl_opts *o, struct fn_dl **out,
              struct error *err) IOT_WUR;

/* Cancels every transfer (helpers killed, no callbacks) and frees. Accepts
 * NULL. */
void fn_dl_free(struct fn_dl *d);

struct fn_dl_req {
    const char *what;   /* "Package", "Runtime image": words for the messages */
    const char *url;    /* http:// or https:// */
    const char *token;  /* X-Board-Token value; NULL: none */
    const char *path;   /* file to write (created or truncated, mode 0600) */
    int64_t size;       /* the exact expected size */
    const char *sha256; /* 64 lower-case hex digits */
    const char *md5;    /* 32 hex digits, or NULL */
};

/* rc 0: the file at req->path holds exactly the blob. Otherwise a negated
 * errno and err with a reason fit for "Failed to deploy function on board
 * <uuid>: <reason>" (e.g. "Package sha256 mismatch."). */
typedef void (*fn_dl_done_fn)(void *arg, int rc, const struct error *err);

/* Starts a download (req is copied). Returns 0 with *out (a handle for
 * fn_dl_cancel, valid until the callback), or a negated errno at once. */
int fn_dl_start(struct fn_dl *d, const struct fn_dl_req *req, fn_dl_done_fn fn, void *arg,
                struct fn_dl_job **out, struct error *err) IOT_WUR;

/* Aborts a transfer (its helper is killed); its callback will not run. */
void fn_dl_cancel(struct fn_dl_job *j);

/* Transfers in progress (helpers running). */
int fn_dl_active(const struct fn_dl *d);

#endif
