/* src/restsubmit.h: DeviceRestSubmit, an HTTP request made by the board for
 * the cloud (board-protocol.md 6.5).
 *
 * The original made any request it was given, which made every board an
 * open proxy into its own network. Here the URL must start with one of
 * [device] rest_submit_allow, and the prefix must end where the URL's
 * authority or path does (so "http://127.0.0.1" does not admit
 * "http://127.0.0.1.example.org" or "http://127.0.0.1@example.org");
 * redirects are not followed (they could leave the allowlist); only http and
 * https are spoken. The check is made here, in the agent; the request itself
 * is made by the lrc-fetch helper (`lrc-fetch --rest`, helpers/fetch.h),
 * which reads it as JSON on stdin, runs as the containers' user and answers
 * one JSON line (src/helper.h), bounded by `timeout` (at most 30 s) and a
 * 64 KiB body. Why not the libwebsockets client the agent already has: it
 * cannot list a response's arbitrary headers (lws 4.1 knows only its own
 * token table), https would initialise OpenSSL's TLS in the agent for good,
 * and the response parser of a request aimed at any local service would run
 * in the agent; DeviceRestSubmit is rare enough for a process per call.
 *
 * One struct lrc_rest per agent. Loop thread. */
#ifndef LRC_SRC_RESTSUBMIT_H
#define LRC_SRC_RESTSUBMIT_H

#include <cjson/cJSON.h>
#include <ev.h>
#include <sys/types.h>

#include "common/error.h"
#include "src/ctr_reaper.h"

#define LRC_REST_BODY_MAX 65536
#define LRC_REST_TIMEOUT_MAX 30

struct lrc_rest;

/* A validated request. */
struct lrc_rest_req {
    char method[8];
    char *url;      /* with the params appended */
    char **headers; /* "Name: value", NULL-terminated */
    char *body;     /* NULL: none */
    size_t body_len;
    int json;             /* the body is `json`: Content-Type application/json */
    int has_content_type; /* the caller set one */
    double timeout_s;
};

/* Validates `parameters` against the allowlist (NULL-terminated prefixes)
 * into req (lrc_rest_req_clear()); `params` are appended to the URL
 * percent-encoded (RFC 3986: all but unreserved characters). -EINVAL with
 * the message to answer: the argument's problem, or "URL not allowed.". */
int lrc_rest_parse(const cJSON *params, char *const *allow, struct lrc_rest_req *req,
                   struct error *err) IOT_WUR;
void lrc_rest_req_clear(struct lrc_rest_req *req);

/* 1 when url starts with one of the prefixes, on a boundary. */
int lrc_rest_allowed(const char *url, char *const *allow);

/* rc 0 and the reply {"status", "headers", "body"} (taken), or rc < 0 and
 * the failure's text. */
typedef void (*lrc_rest_fn)(void *arg, int rc, cJSON *reply, const char *error);

/* reaper starts the helpers (it outlives r); with set_ids the helper runs
 * as uid:gid when the agent is root. A missing lrc-fetch is logged here and
 * fails each request. */
struct lrc_rest *lrc_rest_new(struct ev_loop *ev, struct ctr_reaper *reaper, int set_ids, uid_t uid,
                              gid_t gid);
void lrc_rest_free(struct lrc_rest *r); /* kills the helpers (no callbacks); accepts NULL */

/* Starts the request (req is taken over and cleared). Returns 0 and fn runs
 * once, later; or a negated errno with err set, and fn never runs. */
int lrc_rest_start(struct lrc_rest *r, struct lrc_rest_req *req, lrc_rest_fn fn, void *arg,
                   struct error *err) IOT_WUR;

#endif
