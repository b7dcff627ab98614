/* src/fn_download.h: blob downloads on the event loop (libcurl multi-socket on libev).
 *
 * Packages and runtime images are fetched by sha256 from the URL the
 * service gives, with the header X-Board-Token (deviceless-api.md 3.5.2),
 * into a file, hashing as the bytes arrive; the size, sha256 and md5 are
 * checked at the end. Transient failures are retried with a byte range from
 * what already arrived (the blob endpoint supports one range per request);
 * a server that answers 200 instead of 206 restarts the file from zero.
 *
 * Why libcurl's multi-socket interface rather than the libwebsockets HTTP
 * client on the agent's context: it drives its sockets and timers through
 * two callbacks onto our libev loop (no thread, no blocking), and it brings
 * what a download over a flaky board link needs and lws 4.1's client would
 * leave to us: resumable ranges, low-speed and connect timeouts, proxies
 * from the environment, TLS verification with a CA file or the system store,
 * and protocol restriction to http/https. It is packaged in Debian and
 * already a project dependency (DESIGN.md).
 *
 * One downloader per process, made on the loop thread; every call runs on
 * the loop thread. Callbacks run on the loop thread, never inside the call
 * that started the download. */
#ifndef LRC_FN_DOWNLOAD_H
#define LRC_FN_DOWNLOAD_H

#include <ev.h>
#include <stdint.h>

#include "common/error.h"

struct fn_dl;
struct fn_dl_job;

struct fn_dl_opts {
    const char *ca_file;       /* NULL: the system's CAs */
    int insecure;              /* 1: no TLS verification (logged at every use) */
    int64_t connect_timeout_s; /* 0: 30 */
    int64_t stall_timeout_s;   /* abort when under 1 byte/s for this long; 0: 60 */
    int retries;               /* transient failures retried; <0: 3 */
};

/* Initialises libcurl (curl_global_init, once per process) and the multi
 * handle on ev. *out is new: fn_dl_free() it. */
int fn_dl_new(struct ev_loop *ev, const struct fn_dl_opts *o, struct fn_dl **out,
              struct error *err) IOT_WUR;

/* Cancels every transfer (no callbacks) and frees. Accepts NULL. */
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

/* Aborts a transfer; its callback will not run. */
void fn_dl_cancel(struct fn_dl_job *j);

/* Transfers in progress. */
int fn_dl_active(const struct fn_dl *d);

#endif
