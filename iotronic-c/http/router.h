/* http/router.h: route tables compiled into a segment trie.
 *
 * Patterns are "/"-separated literal segments and "{name}" parameters:
 * "/v1/boards/{board}/plugins/{plugin}". Matching works on the decoded
 * segments of a request path (parse.h). A literal segment wins over a
 * parameter at the same position ("/v1/boards/detail" beats
 * "/v1/boards/{board}"); when the literal branch leads nowhere the parameter
 * branch is tried, so "/v1/boards/detail/plugins" still reaches
 * "/v1/boards/{board}/plugins". A parameter never matches an empty segment.
 * Two patterns that put differently named parameters at the same position
 * ("/a/{x}" and "/a/{y}/b") are refused when the table is compiled, as are
 * duplicate (method, pattern) pairs.
 *
 * Pure and immutable once built: any thread may match concurrently. */
#ifndef IOT_HTTP_ROUTER_H
#define IOT_HTTP_ROUTER_H

#include <stddef.h>

#include "common/error.h"
#include "http/parse.h"

#define HTTP_MAX_PARAMS 8

struct http_route;
struct http_router;

/* Compiles n routes (borrowed: they must outlive the router). Returns 0, or
 * -EINVAL naming the bad pattern in err. */
int http_router_new(const struct http_route *routes, size_t n, struct http_router **out,
                    struct error *err) IOT_WUR;
void http_router_free(struct http_router *rt); /* accepts NULL */

/* Finds the route for method m and the decoded segments. On success returns
 * the route and fills params (HTTP_MAX_PARAMS slots; values point into segs).
 * Otherwise returns NULL and sets *allow to the methods the path supports
 * (HTTP_METHOD_BIT mask; HEAD included wherever GET is): 0 means no route
 * has this path (404), anything else is a 405 with that Allow list. HEAD is
 * served by a GET route unless a HEAD route exists. */
const struct http_route *http_router_match(const struct http_router *rt, enum http_method m,
                                           char *const *segs, size_t nsegs, struct http_kv *params,
                                           size_t *nparams, unsigned *allow);

/* Writes the Allow header value for mask ("GET, HEAD, POST") into out. */
void http_allow_string(unsigned mask, char *out, size_t outsz);

#endif
