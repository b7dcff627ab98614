/* libFuzzer target for everything libiothttp reads from a client before a
 * handler runs: the head (http/parse.h), the path and query decoding, the
 * router, the chunked decoder (http/chunked.h) and Range (http/range.h).
 *
 * Beyond "no crash, no leak, no undefined behaviour", it holds the parsers
 * to their promises (abort() marks a broken one):
 *   - http_head_end finds the same end however the input is split;
 *   - a refused head always has a status from the documented set and a
 *     reason;
 *   - an accepted head has a path starting with '/', a known minor version,
 *     and no Content-Length together with chunked;
 *   - decoded path segments and query items never contain NUL, and a path
 *     parameter is never empty;
 *   - the chunked decoder gives the same data fed whole or byte by byte,
 *     and never consumes past the end of its body;
 *   - a satisfiable range lies inside the representation. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/arena.h"
#include "http/chunked.h"
#include "http/parse.h"
#include "http/range.h"
#include "http/router.h"
#include "http/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_http_request: broken promise: %s\n", what);
        abort();
    }
}

static void nop(struct http_req *r)
{
    (void)r;
}

static const struct http_route routes[] = {
    {HTTP_GET, "/", nop, 0, 0, NULL, NULL},
    {HTTP_GET, "/v1/boards", nop, 0, 0, NULL, NULL},
    {HTTP_GET, "/v1/boards/detail", nop, 0, 0, NULL, NULL},
    {HTTP_GET, "/v1/boards/{board}", nop, 0, 0, NULL, NULL},
    {HTTP_PATCH, "/v1/boards/{board}", nop, 0, 0, NULL, NULL},
    {HTTP_POST, "/v1/boards/{board}/plugins/{plugin}", nop, 0, 0, NULL, NULL},
    {HTTP_GET, "/v1/boards/{board}/services/{service}/action", nop, 0, 0, NULL, NULL},
};

static void fuzz_head(const char *buf, size_t size)
{
    struct http_arena a;
    struct http_head h;
    size_t scan = 0, scan1 = 0, end = 0, end1 = 0;
    const char *why = NULL;
    char *copy;
    int rc;

    end = http_head_end(buf, size, &scan);
    /* Byte by byte must agree with all at once. */
    for (size_t len = 1; len <= size && end1 == 0; len++)
        end1 = http_head_end(buf, len, &scan1);
    check(end == end1, "head end depends on how the input was split");
    if (end == 0)
        return;
    http_arena_init(&a);
    copy = http_arena_strndup(&a, buf, end);
    rc = http_parse_head(copy, end, &h, &a, &why);
    if (rc != 0) {
        check(rc == 400 || rc == 431 || rc == 501 || rc == 505 || rc == 417, "unexpected status");
        check(why != NULL && why[0] != '\0', "refusal without a reason");
    } else {
        struct http_router *rt;
        struct http_kv params[HTTP_MAX_PARAMS], *q;
        char **segs;
        size_t nsegs, np, nq;
        unsigned allow;

        check(h.path != NULL && h.path[0] == '/', "path without a slash");
        check(h.minor == 0 || h.minor == 1, "bad minor version");
        check(!(h.chunked && h.has_length), "length and chunked together");
        if (http_split_path(h.path, &a, &segs, &nsegs) == 0 &&
            http_router_new(routes, sizeof(routes) / sizeof(routes[0]), &rt, NULL) == 0) {
            if (http_router_match(rt, h.method, segs, nsegs, params, &np, &allow) != NULL)
                for (size_t i = 0; i < np; i++)
                    check(params[i].value[0] != '\0', "empty path parameter");
            http_router_free(rt);
        }
        if (http_parse_query(h.query, &a, &q, &nq) == 0)
            for (size_t i = 0; i < nq; i++)
                check(q[i].name != NULL && q[i].value != NULL, "query item without strings");
    }
    http_arena_free(&a);
}

/* Decodes in[0..len) as a chunked body in pieces of step bytes. Returns
 * -1 on error, else the bytes consumed; the data goes to out. */
static long dechunk(const char *in, size_t len, size_t step, char *out, size_t *outlen, int *done)
{
    struct chunked c;
    size_t off = 0;

    chunked_init(&c);
    *outlen = 0;
    while (off < len && !c.done) {
        size_t piece = len - off < step ? len - off : step;
        const char *d;
        size_t dl;
        ssize_t k = chunked_feed(&c, in + off, piece, &d, &dl);

        if (k < 0)
            return -1;
        check((size_t)k <= piece, "consumed more than given");
        check(dl == 0 || (d >= in + off && d + dl <= in + off + (size_t)k), "span outside input");
        memcpy(out + *outlen, d ? d : "", dl);
        *outlen += dl;
        off += (size_t)k;
    }
    *done = c.done;
    return (long)off;
}

static void fuzz_chunked(const char *buf, size_t size)
{
    char *a = malloc(size + 1), *b = malloc(size + 1);
    size_t la, lb;
    int da, db;
    long ca = dechunk(buf, size, size ? size : 1, a, &la, &da);
    long cb = dechunk(buf, size, 1, b, &lb, &db);

    check((ca < 0) == (cb < 0), "chunked validity depends on the split");
    if (ca >= 0) {
        check(da == db && la == lb && memcmp(a, b, la) == 0, "chunked data depends on the split");
        check(!da || ca == cb, "chunked end depends on the split");
    }
    free(a);
    free(b);
}

static void fuzz_range(const char *buf, size_t size)
{
    char hdr[128];
    uint64_t off = 0, len = 0, total = size * 37;
    size_t n = size < sizeof(hdr) - 1 ? size : sizeof(hdr) - 1;

    memcpy(hdr, buf, n);
    hdr[n] = '\0';
    if (http_range_parse(hdr, total, &off, &len) == HTTP_RANGE_OK)
        check(len > 0 && off < total && off + len <= total, "range outside the body");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;

    if (size > 64 * 1024)
        return 0;
    fuzz_head(buf, size);
    fuzz_chunked(buf, size);
    fuzz_range(buf, size);
    return 0;
}
