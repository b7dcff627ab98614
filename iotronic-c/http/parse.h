/* http/parse.h: HTTP/1.1 request heads, paths and query strings.
 *
 * Pure functions (no I/O, no globals), used by the connection code and
 * exposed for the unit tests and the fuzzer. We parse requests ourselves
 * rather than with libwebsockets' HTTP role because lws 4.1 rewrites the
 * URI before anyone sees it: it percent-decodes the whole path (so %2F
 * becomes a separator), collapses "//", resolves "." and "..", turns '+'
 * into a space even in the path, splits the query on ';' too, and closes the
 * connection without a response when the headers overflow. The contracts
 * need the raw path (iotronic-api-v1.md 1.2), a 431 in the service's own
 * error format, and a 413 decided before the body is read.
 *
 * Path rules (the same for every service):
 *   - the path is split on raw '/' first, then each segment is
 *     percent-decoded once; an encoded "%2F" therefore stays inside its
 *     segment ("/v1/boards/a%2Fb" names the board "a/b", which the service's
 *     name validation then refuses with its own 400);
 *   - no dot-segment removal and no slash merging: "/v1/../x" and
 *     "/v1//boards" are matched as written and find no route;
 *   - one trailing slash is ignored ("/v1/boards/" is "/v1/boards"; "/" stays
 *     "/"); a second one makes an empty last segment, which no route has;
 *   - a malformed escape ("%zz", a truncated "%4") or one that decodes to NUL
 *     is a 400; other bytes are taken as they are.
 * Query rules: pairs split on '&' only; '+' is a space and %XX is decoded in
 * names and values; "name" without '=' has the value ""; empty pairs are
 * skipped; order and repetitions are kept (the service decides, e.g. "a
 * repeated parameter takes its last value"). */
#ifndef IOT_HTTP_PARSE_H
#define IOT_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http/arena.h"

enum http_method {
    HTTP_METHOD_OTHER = 0, /* a syntactically valid token we do not serve */
    HTTP_GET,
    HTTP_HEAD,
    HTTP_POST,
    HTTP_PUT,
    HTTP_PATCH,
    HTTP_DELETE,
    HTTP_OPTIONS,
    HTTP_METHOD_COUNT
};

#define HTTP_METHOD_BIT(m) (1u << (m))

#define HTTP_MAX_HEADERS 100   /* more answer 431 */
#define HTTP_MAX_METHOD_LEN 32 /* a longer method token answers 400 */

/* One header, query parameter or path parameter; strings live in the arena
 * (or in the parsed buffer). */
struct http_kv {
    const char *name;
    const char *value;
};

struct http_head {
    enum http_method method;
    const char *method_name; /* as sent, e.g. "GET" or "PROPFIND" */
    const char *target;      /* the request-target as sent */
    const char *path;        /* raw path: starts with '/', still percent-encoded */
    const char *query;       /* raw query without '?', or NULL */
    int minor;               /* HTTP/1.<minor>: 0 or 1 */
    struct http_kv *headers;
    size_t nheaders;
    /* Derived from the headers. */
    uint64_t content_length;
    int has_length;
    int chunked;
    int keep_alive;
    int expect_continue;
    const char *host; /* NULL when absent */
};

/* Looks for the blank line that ends a head in buf[0..len). *scan is where
 * the previous call stopped (start at 0), so that a head arriving one byte
 * at a time is scanned once in total. Returns the head's length (through the
 * blank line) or 0 when it is not complete yet. */
size_t http_head_end(const char *buf, size_t len, size_t *scan);

/* Parses the head buf[0..len) in place (it writes NULs into buf; strings in
 * *h point into buf or into a). Returns 0, or the HTTP status to answer: 400
 * (malformed), 431 (too many header lines), 501 (a transfer-coding other than
 * chunked), 505 (not HTTP/1.x), 417 (an Expect other than 100-continue);
 * *why is then a short static reason for the log. */
int http_parse_head(char *buf, size_t len, struct http_head *h, struct http_arena *a,
                    const char **why);

/* Decodes in[0..len) into out (which may be in; capacity len + 1), NUL
 * terminates it and returns the decoded length, or -1 for a malformed escape
 * or a decoded NUL. plus: '+' means a space (query strings only). */
ssize_t http_pct_decode(const char *in, size_t len, char *out, int plus);

/* Splits a raw path into decoded segments (see the rules above). "/" has no
 * segments. Returns 0 or -EINVAL. The array and strings are in a. */
int http_split_path(const char *path, struct http_arena *a, char ***segs, size_t *nsegs);

/* Parses a raw query string (NULL: none) into decoded pairs in a. Returns 0
 * or -EINVAL. */
int http_parse_query(const char *query, struct http_arena *a, struct http_kv **out, size_t *n);

/* The method's canonical name ("GET"), or NULL for HTTP_METHOD_OTHER. */
const char *http_method_name(enum http_method m);

/* Case-insensitive comparison of a comma-separated token list against one
 * token: 1 when list contains tok (e.g. "keep-alive, Upgrade" has
 * "upgrade"). */
int http_list_has(const char *list, const char *tok);

#endif
