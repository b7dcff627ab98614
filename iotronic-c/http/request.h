/* http/request.h: what a handler reads from a request and how it answers.
 *
 * A struct http_req is one exchange: the parsed request and the response
 * being built. The server creates it when a request head arrives and frees
 * it after the response was written (or the client went away); everything
 * the accessors return is borrowed and valid until the handler returns.
 * Memory a handler needs until then comes from http_req_alloc() and needs
 * no freeing.
 *
 * Threads: a request is handled on one worker thread at a time (or on the
 * loop thread for HTTP_ROUTE_INLINE routes); none of these functions may be
 * called on a request from another thread.
 *
 * Answering: a handler sets exactly one response, with http_resp_body(),
 * http_resp_json(), http_resp_error(), http_resp_empty() or
 * http_resp_file(); a later call replaces an earlier one. Extra headers are
 * added with http_resp_header() and survive a replacement. A handler that
 * sets nothing produces a 500 (and an error in the log). The server adds
 * Content-Length (except to 204 and 304), Content-Type, the request id
 * header, Date, Connection, CORS headers and whatever the service's headers
 * hook adds. For HEAD the body is computed as for GET and not sent. */
#ifndef IOT_HTTP_REQUEST_H
#define IOT_HTTP_REQUEST_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/cred.h"
#include "common/error.h"
#include "http/parse.h"

struct http_req;
struct http_route;

/* ---------------------------------------------------------------- request */

enum http_method http_req_method(const struct http_req *r);
const char *http_req_method_name(const struct http_req *r); /* as sent */

/* The raw (still percent-encoded) path after the service's rewrite hook,
 * without the query; and the request-target exactly as the client sent it. */
const char *http_req_path(const struct http_req *r);
const char *http_req_target(const struct http_req *r);

/* Decoded path segments (parse.h rules); returns their number. */
size_t http_req_segments(const struct http_req *r, char *const **segs);

/* A decoded path parameter of the route ("board" for "{board}"), or NULL. */
const char *http_req_param(const struct http_req *r, const char *name);

/* The last value of a query parameter (decoded), or NULL when absent. */
const char *http_req_query(const struct http_req *r, const char *name);
/* All query parameters, in order, repetitions included. */
size_t http_req_query_count(const struct http_req *r);
const struct http_kv *http_req_query_at(const struct http_req *r, size_t i);

/* The first value of a header (name case-insensitive), or NULL. */
const char *http_req_header(const struct http_req *r, const char *name);
size_t http_req_header_count(const struct http_req *r);
const struct http_kv *http_req_header_at(const struct http_req *r, size_t i);

/* The media type of Content-Type, lower-cased, without parameters
 * ("application/json"), or "" when there is no Content-Type. */
const char *http_req_media_type(struct http_req *r);

/* The request body read into memory, NUL-terminated (the NUL is not
 * counted); "" with *len 0 when there is none. Bodies of HTTP_ROUTE_SPOOL
 * routes are in http_req_upload() instead. */
const char *http_req_body(const struct http_req *r, size_t *len);

/* The body of an HTTP_ROUTE_SPOOL route, streamed to a temporary file in the
 * server's spool_dir while it arrived, and hashed on the way. */
struct http_upload {
    const char *path; /* the temporary file (mode 0600) */
    int fd;           /* open on it, read-write, offset unspecified */
    uint64_t size;
    char sha256[65]; /* lower-case hex */
};
const struct http_upload *http_req_upload(const struct http_req *r); /* NULL if none */

/* Takes the upload's file: the server will neither close fd nor unlink path
 * (the handler renames it into place, say). Returns 0, or -ENOENT when there
 * is no upload or it was already claimed. */
int http_req_upload_claim(struct http_req *r) IOT_WUR;

/* The caller: the identity from authentication, is_admin under the policy
 * in force, is_public_api on public routes. Never NULL. */
const struct auth_cred *http_req_cred(const struct http_req *r);

/* "req-<uuid4>", also set as the log request id while the handler runs. */
const char *http_req_id(const struct http_req *r);

/* The worker's per-thread context (struct wq_hooks thread_init), NULL on
 * the loop thread; and the service's arg (struct http_service). */
void *http_req_thread_ctx(const struct http_req *r);
void *http_req_service(const struct http_req *r);

/* The matched route, or NULL (in the before hook, for 404/405 paths). */
const struct http_route *http_req_route(const struct http_req *r);

/* "http" or "https", the Host header (NULL when absent), and
 * "<scheme>://<Host>" (allocated in the request), or NULL without Host. */
const char *http_req_scheme(const struct http_req *r);
const char *http_req_host(const struct http_req *r);
const char *http_req_base_url(struct http_req *r);

/* Request-lifetime memory: never NULL, freed with the request. */
void *http_req_alloc(struct http_req *r, size_t n);
char *http_req_strdup(struct http_req *r, const char *s);
char *http_req_printf(struct http_req *r, const char *fmt, ...) IOT_PRINTF(2, 3);

/* --------------------------------------------------------------- response */

/* Adds a header line. name must be a token and value free of control
 * characters: -EINVAL otherwise (nothing added); -E2BIG past 16 KiB of
 * extra headers. Content-Length, Transfer-Encoding and Connection are the
 * server's and refused with -EINVAL. */
int http_resp_header(struct http_req *r, const char *name, const char *value) IOT_WUR;

/* A body copied from p[0..n) (may be NULL/0). content_type NULL means
 * "application/json". */
void http_resp_body(struct http_req *r, int status, const char *content_type, const void *p,
                    size_t n);

/* The same, taking ownership of the malloc'd p. */
void http_resp_body_take(struct http_req *r, int status, const char *content_type, char *p,
                         size_t n);

/* A JSON body: the compact text of j (borrowed), application/json. */
void http_resp_json(struct http_req *r, int status, const cJSON *j);

/* An error in the service's own format (struct http_service format_error)
 * with the formatted message. */
void http_resp_error(struct http_req *r, int status, const char *fmt, ...) IOT_PRINTF(3, 4);

/* No body: 204, or any status with Content-Length: 0. */
void http_resp_empty(struct http_req *r, int status);

/* Streams size bytes of the open file fd (taken: the server closes it) from
 * offset 0. With HTTP_FILE_RANGES a single-range Range header is honoured
 * (206 with Content-Range, 416 when unsatisfiable) and Accept-Ranges: bytes
 * is sent. Reads happen on workers, in chunks, while the loop writes. */
#define HTTP_FILE_RANGES 1u
void http_resp_file(struct http_req *r, int status, const char *content_type, int fd, uint64_t size,
                    unsigned flags);

/* The status set so far (0 when none): for the before and headers hooks. */
int http_resp_status(const struct http_req *r);

#endif
