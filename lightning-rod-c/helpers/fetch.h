/* helpers/fetch.h: the two jobs of lrc-fetch, libcurl's only user on a board.
 *
 * fetch_blob_run(): one attempt at downloading a package or runtime image
 * (deviceless-api.md 3.5.2) into a file the agent created, resuming from a
 * byte offset when asked (one Range request), hashing as the bytes arrive
 * and checking size, sha256 and md5 at the end. The agent retries
 * transient failures with a new attempt from the bytes already there
 * (src/fn_download.c).
 *
 * fetch_rest_run(): the HTTP request of DeviceRestSubmit (board-protocol.md
 * 6.5), already checked against the allowlist by the agent
 * (src/restsubmit.c), read as JSON from stdin.
 *
 * Both refuse redirects (a token or a request must not travel elsewhere),
 * speak only http and https, verify TLS unless told otherwise, enter the
 * sandbox (helpers/hlp.h) before the first byte of the network is read, and
 * print the result line themselves. Each returns the exit status. */
#ifndef LRC_HELPERS_FETCH_H
#define LRC_HELPERS_FETCH_H

#include <stdint.h>
#include <sys/types.h>

#define FETCH_TOKEN_MAX 4096 /* src/fn_payload.h FN_TOKEN_MAX */

struct fetch_blob {
    const char *what;   /* "Package", "Runtime image": words for the messages */
    const char *url;    /* http:// or https:// */
    const char *output; /* an existing regular file, written from resume_from */
    const char *sha256; /* 64 lower-case hex digits */
    const char *md5;    /* 32 hex digits, or NULL */
    const char *ca_file;
    int insecure;
    int64_t size, resume_from;
    int64_t connect_timeout_s, stall_timeout_s;
    int set_ids; /* as root: run as uid:gid once the output is open */
    uid_t uid;
    gid_t gid;
};

/* The token comes on stdin, one line (empty: none). Prints
 * {"ok": true, "bytes": N, "http": 200|206} or {"ok": false, "errno",
 * "error": <the contract's words>, "transient": bool, "bytes": N,
 * "detail": <libcurl's words>}. */
int fetch_blob_run(const struct fetch_blob *job);

struct fetch_ids {
    int set_ids;
    uid_t uid;
    gid_t gid;
};

/* The request on stdin: {"method", "url", "headers": ["Name: value"...],
 * "body": string or null, "json": bool, "has_content_type": bool,
 * "timeout_ms": N}. Prints {"ok": true, "reply": {"status", "headers",
 * "body"[, "truncated": true]}} or {"ok": false, "error": "Request failed:
 * ..."}. */
int fetch_rest_run(const struct fetch_ids *ids);

#endif
