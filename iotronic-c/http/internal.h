/* http/internal.h: the structures shared by the files of libiothttp; not
 * for services (they use server.h and request.h).
 *
 * Ownership and threads:
 *   - struct http_server: one per listener, made and freed on the loop
 *     thread; read-only while requests run, except the connection count and
 *     metrics, which are atomics or loop-only.
 *   - struct conn: one per TCP connection, living in the lws per-session
 *     user space (lws allocates and frees it); loop thread only.
 *   - struct http_req: one per request, malloc'd by the connection. While a
 *     job of it is on the worker pool (inflight > 0) only that worker
 *     touches it; the loop touches it again in the job's done callback. If
 *     the connection closes meanwhile, conn is set to NULL and the last done
 *     callback frees the request (never free a request in its own job).
 * Invariant: a connection has at most one request, and a request at most
 * one job on the pool at a time, so responses leave in request order. */
#ifndef IOT_HTTP_INTERNAL_H
#define IOT_HTTP_INTERNAL_H

#include <ev.h>
#include <libwebsockets.h>
#include <stdint.h>

#include "auth/auth.h"
#include "common/buf.h"
#include "common/wq.h"
#include "http/arena.h"
#include "http/chunked.h"
#include "http/metrics.h"
#include "http/parse.h"
#include "http/router.h"
#include "http/server.h"
#include "loop/loop.h"

#define HTTP_WRITE_CHUNK (64 * 1024)  /* at most this much per lws_write */
#define HTTP_SPOOL_CHUNK (256 * 1024) /* spool and pump buffers */
#define HTTP_LINGER_MS 2000           /* reading leftovers before closing */
#define HTTP_RETRY_MS 2               /* resubmitting a job the full pool refused */
#define HTTP_RESP_HEADERS_MAX (16 * 1024)
#define HTTP_REQID_LEN 41 /* "req-" + uuid + NUL */

struct http_server {
    struct loop *loop;
    struct wq *wq;
    struct lws_vhost *vhost;
    struct lws_protocols protocols[2];
    struct http_router *router;
    struct http_service svc;      /* messages filled with defaults */
    struct http_server_opts opts; /* strings owned below, defaults applied */
    char *name, *host, *cert_file, *key_file, *spool_dir;
    int tls;
    int port;
    unsigned nconns;
    /* Metrics (NULL without a registry). */
    struct metrics_family *m_requests;  /* {server,route,method,status} */
    struct metrics_family *m_rejected;  /* {server,reason} */
    struct metrics_series **m_duration; /* per route index, and one for "none" */
    struct metrics_series *m_conns;
};

enum conn_state {
    C_HEAD,    /* reading a request head (or idle between requests) */
    C_BODY,    /* reading its body */
    C_WAIT,    /* the request is on the worker pool (or spooling its last bytes) */
    C_SEND,    /* writing the response */
    C_CLOSING, /* the last response is written; waiting for lws to flush it */
    C_LINGER,  /* write side shut; discarding input until EOF or timeout */
    C_DEAD,    /* being closed */
};

struct conn {
    struct http_server *srv;
    struct lws *wsi;
    enum conn_state state;
    char *in; /* input not yet consumed: in[in_off .. in_off+in_len) */
    size_t in_off, in_len, in_cap, scan;
    struct http_req *req; /* the current request, or NULL */
    ev_timer timer;       /* the current timeout, or a deferred close */
    int timer_kind;
    int in_callback; /* inside an lws callback of this wsi */
    int kill;        /* close at the end of the callback */
    int rx_paused;
    int head_timed;       /* the header timeout runs for the current head */
    int continue_pending; /* "100 Continue" to write */
    int close_after;      /* close once the current response is written */
};

struct spool {
    int fd;
    char *path;
    struct crypto_digest *dg;
    char *fill,
        *flush; /* HTTP_SPOOL_CHUNK each: the loop fills one while a worker writes the other */
    size_t fill_len, flush_len;
    int busy;      /* a write job is out */
    int finishing; /* the body is complete */
    int err;       /* errno of a failed write or create (worker) */
    int cancelled; /* the request was answered meanwhile (loop) */
    uint64_t size;
};

struct pump {
    int fd;
    uint64_t off, left; /* next read position, bytes still to read */
    char *buf[2];       /* LWS_PRE + HTTP_SPOOL_CHUNK each */
    size_t len[2], sent[2];
    int ready[2]; /* 1: read, not fully written */
    int reading;  /* index being read by a job, or -1 */
    int cur;      /* index being written */
    int job_err;  /* set by the read job (worker) */
    int err;      /* loop's copy, taken in the job's done */
};

enum body_mode { BODY_NONE, BODY_LENGTH, BODY_CHUNKED };

struct http_req {
    struct http_server *srv;
    struct conn *conn; /* NULL once the connection is gone */
    int inflight;      /* jobs on the pool (loop thread) */
    struct http_arena arena;
    struct http_head head;
    int parsed;       /* head parsed successfully */
    const char *path; /* after the rewrite hook */
    char **segs;
    size_t nsegs;
    struct http_kv *query;
    size_t nquery;
    const struct http_route *route;
    size_t route_index;
    unsigned allow;
    struct http_kv params[HTTP_MAX_PARAMS];
    size_t nparams;
    const char *media_type;
    /* Body. */
    enum body_mode body_mode;
    uint64_t body_left; /* Content-Length still to come */
    uint64_t body_limit, body_seen;
    struct chunked dec;
    struct buf body;
    struct spool *spool;
    struct http_upload upload;
    int has_upload, upload_claimed;
    /* Caller. */
    struct auth_cred cred;
    char reqid[HTTP_REQID_LEN];
    void *thread_ctx;
    int64_t t_start; /* µs, monotonic: head complete */
    /* Response. */
    int status;
    char *ctype;
    char *rbody;
    size_t rlen;
    struct buf rheaders; /* extra "Name: value\r\n" lines */
    int rfd;
    uint64_t fsize, foff, flen;
    unsigned fflags;
    int head_only; /* HEAD: headers only */
    int close;     /* answer with Connection: close and close */
    int preflight; /* a CORS preflight answered by the server */
    /* Serialised response: out[LWS_PRE .. LWS_PRE + out_len). */
    char *out;
    size_t out_len, out_sent;
    struct pump *pump;
    ev_timer retry; /* resubmits a continuation job the full pool refused */
    wq_work_fn retry_work;
    wq_done_fn retry_done;
};

/* conn.c */
int http_conn_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len);
/* Hands the complete request to the worker pool (or runs an inline route). */
void http_conn_dispatch(struct conn *c);
/* Answers status/message from the loop and closes afterwards. */
void http_conn_error(struct conn *c, int status, const char *message);
/* Starts writing r's serialised response. */
void http_conn_send(struct conn *c);
/* Closes the connection soon (safe from any loop-thread context). */
void http_conn_kill(struct conn *c);
/* Feeds buffered input again after a pause (spool drained). */
void http_conn_unpause(struct conn *c);

/* request.c */
struct http_req *http_req_new(struct http_server *srv, struct conn *c);
void http_req_free(struct http_req *r);
/* Frees r if the connection is gone and no job is out; returns 1 if freed. */
int http_req_release_orphan(struct http_req *r);
const char *http_req_ensure_id(struct http_req *r);
/* Submits fn(r) to the pool, or retries after HTTP_RETRY_MS when it is full. */
void http_req_submit_retry(struct http_req *r, wq_work_fn work, wq_done_fn done);

/* exchange.c: running a request on a worker (or inline). */
void http_exchange_work(void *arg, void *thread_ctx);
void http_exchange_done(void *arg);
void http_exchange_inline(struct http_req *r);
/* Sets an error response produced by the server itself (any thread). */
void http_server_error(struct http_req *r, int status, const char *message);

/* respond.c: serialises r's response into r->out, applying hooks, CORS and
 * the access log. Any thread (the request's). */
void http_respond_finish(struct http_req *r);
const char *http_status_reason(int status);

/* spool.c: bytes the spool can take now (0: full, the connection pauses);
 * taking them; the end of the body (dispatches once everything is on
 * disk). */
size_t http_spool_room(struct http_req *r);
void http_spool_accept(struct http_req *r, const char *p, size_t n);
void http_spool_finish(struct http_req *r);
void http_spool_free(struct spool *s, int unlink_file);

/* pump.c */
void http_pump_start(struct http_req *r);
/* Writes what is ready; returns 1 when the whole file was written, 0 when
 * more is to come, -1 on error. */
int http_pump_write(struct http_req *r, struct lws *wsi);
void http_pump_free(struct pump *p);

/* body.c: feeding body bytes; returns bytes consumed (less than n when the
 * sink is full), or -1 when the connection must close (response set). */
ssize_t http_body_feed(struct conn *c, const char *p, size_t n);

#endif
