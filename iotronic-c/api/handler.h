/* api/handler.h: what every iotronic-api handler does, in one place.
 *
 * A handler makes a struct api_call from its request, then walks the order
 * of checks of iotronic-api-v1.md 1.14 with these helpers. Each helper
 * either succeeds (returns >= 0) or has already set the error response and
 * returns -1, so a handler is a straight sequence of `if (...) < 0) return;`.
 * Worker threads only (they block on the database and the conductor). */
#ifndef IOT_API_HANDLER_H
#define IOT_API_HANDLER_H

#include <cjson/cJSON.h>

#include "api/api.h"
#include "api/query.h"
#include "api/schema.h"
#include "api/store.h"
#include "http/request.h"

struct api_call {
    struct http_req *r;
    struct api *a;
    struct db *db;
    const struct auth_cred *cred;
    struct api_ident id;
    const char *base; /* <base> of links */
};

/* Fills c; -1 (503 set) when the worker has no database connection.
 * api_call_base() does not need one (the root documents). */
int api_call_init(struct http_req *r, struct api_call *c);
void api_call_base(struct http_req *r, struct api_call *c);

/* Answers err (its status from api/fault.h's table). Returns -1. */
int api_respond_error(struct api_call *c, const struct error *err);

/* Checks rule. resource 0: a collection-level check (target: the caller's
 * own user_id and project_id); 1: a resource target (owner, project_id).
 * 0, or -1 with 403 "Access was denied to the following resource: <rule>". */
int api_authorize(struct api_call *c, const char *rule, int resource, const char *owner,
                  const char *project);

/* Parses the body against s (415 for a foreign media type, 400 for the
 * rest). 0, or -1 with the response set. Free b with api_body_free(). */
int api_parse_body(struct api_call *c, const struct api_schema *s, struct api_body *b);

/* Resolves the path parameter (or value) ref of collection coll within the
 * caller's visibility: uuid_only for {webservice}, {port}, {request}. 0 and
 * *row (api_row_clear()), or -1 with 400/404 set. */
int api_find(struct api_call *c, enum api_coll_id coll, const char *ref, int uuid_only,
             struct api_row *row);

/* Syntax of a path identifier (400) before policy and lookup (1.14). */
int api_check_ref(struct api_call *c, const char *ref, int uuid_only);

/* Parses only `fields` (single GETs). lenient per the kind. 0 or -1. */
int api_fields(struct api_call *c, const struct api_kind *k, uint32_t *mask);

/* Calls the conductor: args (taken) gets "ctx"; board: the board's uuid
 * when the call reaches a board (longer timeout, 504 wording), else NULL.
 * 0 and *out (cJSON_Delete), or -1 with the error set (and the
 * X-Iotronic-Request-Uuid header when a request was recorded). */
int api_conductor(struct api_call *c, const char *method, cJSON *args, const char *board,
                  cJSON **out);

/* Adds X-Iotronic-Request-Uuid when a conductor result names a request. */
void api_request_header(struct api_call *c, const cJSON *result);

/* Responses. */
void api_send_row(struct api_call *c, int status, const struct api_row *row, uint32_t mask);
/* The JSON string of an action (1.13) and its request header. */
void api_send_action(struct api_call *c, const cJSON *result);
/* A list of collection coll: query parsing, the collection rule, scoping
 * (4.6) and the page. sc carries the route's fixed filters. */
void api_send_list(struct api_call *c, enum api_coll_id coll, unsigned allowed, int detail,
                   const char *rule, struct api_scope *sc, const char *path);
/* The API's own plain lists of a board (injections, exposed services,
 * ports) and of a request's results. */
void api_send_sublist(struct api_call *c, const struct api_kind *k, const char *board_uuid);

/* Re-reads a resource after a write and answers it with all fields. */
void api_send_fresh(struct api_call *c, int status, enum api_coll_id coll, const char *uuid);

/* A new JSON object {key: value} helper for conductor arguments. */
cJSON *api_args(void);

#endif
