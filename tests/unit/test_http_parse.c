/* Unit tests for the pure parts of libiothttp: request heads, percent
 * decoding, paths, query strings, chunked bodies, ranges, the router,
 * error bodies and CORS. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/arena.h"
#include "http/chunked.h"
#include "http/cors.h"
#include "http/errbody.h"
#include "http/parse.h"
#include "http/range.h"
#include "http/router.h"
#include "http/server.h"

/* Parses text as a complete head; returns the status (0 on success). */
static int parse(const char *text, struct http_head *h, struct http_arena *a)
{
    size_t len = strlen(text), scan = 0;
    char *copy = http_arena_strdup(a, text);
    const char *why;

    assert_int_equal(http_head_end(copy, len, &scan), len);
    return http_parse_head(copy, len, h, a, &why);
}

static void test_head_fields_and_framing(void **state)
{
    struct http_arena a;
    struct http_head h;

    (void)state;
    http_arena_init(&a);
    assert_int_equal(parse("POST /v1/boards?limit=5 HTTP/1.1\r\nHost: h:8812\r\n"
                           "Content-Length: 12\r\nX-Auth-Token:  tok \r\n\r\n",
                           &h, &a),
                     0);
    assert_int_equal(h.method, HTTP_POST);
    assert_string_equal(h.method_name, "POST");
    assert_string_equal(h.target, "/v1/boards?limit=5");
    assert_string_equal(h.path, "/v1/boards");
    assert_string_equal(h.query, "limit=5");
    assert_int_equal(h.minor, 1);
    assert_int_equal(h.nheaders, 3);
    assert_string_equal(h.headers[2].name, "X-Auth-Token");
    assert_string_equal(h.headers[2].value, "tok");
    assert_true(h.has_length);
    assert_int_equal(h.content_length, 12);
    assert_true(h.keep_alive);
    assert_string_equal(h.host, "h:8812");

    assert_int_equal(parse("GET / HTTP/1.0\nConnection: Keep-Alive\n\n", &h, &a), 0);
    assert_true(h.keep_alive);
    assert_null(h.query);
    assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &h, &a), 0);
    assert_false(h.keep_alive);
    assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n", &h, &a), 0);
    assert_false(h.keep_alive);
    assert_int_equal(parse("PUT /x HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n"
                           "Expect: 100-Continue\r\n\r\n",
                           &h, &a),
                     0);
    assert_true(h.chunked);
    assert_true(h.expect_continue);
    assert_int_equal(parse("GET http://example.org:80/a/b?c HTTP/1.1\r\n\r\n", &h, &a), 0);
    assert_string_equal(h.path, "/a/b");
    assert_string_equal(h.query, "c");
    assert_int_equal(parse("PROPFIND /x HTTP/1.1\r\n\r\n", &h, &a), 0);
    assert_int_equal(h.method, HTTP_METHOD_OTHER);
    http_arena_free(&a);
}

static void test_bad_heads_get_the_right_status(void **state)
{
    static const struct {
        const char *head;
        int status;
    } cases[] = {
        {"GET\r\n\r\n", 400},
        {"GET / HTTP/1.1 x\r\n\r\n", 400},
        {" GET / HTTP/1.1\r\n\r\n", 400},
        {"GET /  HTTP/1.1\r\n\r\n", 400},
        {"GET x HTTP/1.1\r\n\r\n", 400},
        {"GET /# HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/1.12\r\n\r\n", 400},
        {"GET / HTTP/2.0\r\n\r\n", 505},
        {"GET / HTTP/0.9\r\n\r\n", 505},
        {"G@T / HTTP/1.1\r\n\r\n", 400},
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA / HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nNo colon\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nName : v\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
        {"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nExpect: something\r\n\r\n", 417},
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
    };
    struct http_arena a;
    struct http_head h;

    (void)state;
    http_arena_init(&a);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = parse(cases[i].head, &h, &a);

        if (rc != cases[i].status)
            fail_msg("case %zu (%s): %d, expected %d", i, cases[i].head, rc, cases[i].status);
    }
    http_arena_free(&a);
}

static void test_header_count_limit(void **state)
{
    struct http_arena a;
    struct http_head h;
    char buf[8192];
    size_t n = 0;

    (void)state;
    http_arena_init(&a);
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < HTTP_MAX_HEADERS; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "H%d: v\r\n", i);
    snprintf(buf + n, sizeof(buf) - n, "\r\n");
    assert_int_equal(parse(buf, &h, &a), 0);
    assert_int_equal(h.nheaders, HTTP_MAX_HEADERS);
    snprintf(buf + n, sizeof(buf) - n, "One: more\r\n\r\n");
    assert_int_equal(parse(buf, &h, &a), 431);
    http_arena_free(&a);
}

static void test_head_end_is_found_incrementally(void **state)
{
    const char *text = "GET / HTTP/1.1\r\nA: b\r\n\r\nNEXT";
    size_t scan = 0, found = 0;

    (void)state;
    /* Feeding one more byte at a time finds the end exactly once. */
    for (size_t len = 1; len <= strlen(text); len++) {
        size_t n = http_head_end(text, len, &scan);

        if (n != 0 && found == 0)
            found = n;
    }
    assert_int_equal(found, strlen(text) - 4);
    scan = 0;
    assert_int_equal(http_head_end("A\n\nB", 4, &scan), 3);
    scan = 0;
    assert_int_equal(http_head_end("A\r\n\n", 4, &scan), 4);
    scan = 0;
    assert_int_equal(http_head_end("A\r\nB\r\n", 6, &scan), 0);
}

static void test_percent_decoding(void **state)
{
    static const struct {
        const char *in;
        int plus;
        const char *out; /* NULL: error */
    } cases[] = {
        {"abc", 0, "abc"}, {"a%2Fb", 0, "a/b"},       {"%41%6a", 0, "Aj"},
        {"a+b", 0, "a+b"}, {"a+b", 1, "a b"},         {"%2B", 1, "+"},
        {"%", 0, NULL},    {"%4", 0, NULL},           {"%zz", 0, NULL},
        {"%00", 0, NULL},  {"%C3%A9", 0, "\xc3\xa9"}, {"", 0, ""},
        {"%%41", 0, NULL},
    };
    char out[64];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ssize_t n = http_pct_decode(cases[i].in, strlen(cases[i].in), out, cases[i].plus);

        if (cases[i].out == NULL) {
            assert_int_equal(n, -1);
        } else {
            assert_int_equal(n, strlen(cases[i].out));
            assert_string_equal(out, cases[i].out);
        }
    }
}

static void test_paths_split_then_decode(void **state)
{
    static const struct {
        const char *path;
        int n; /* -1: error */
        const char *segs[4];
    } cases[] = {
        {"/", 0, {NULL}},
        {"/v1", 1, {"v1"}},
        {"/v1/", 1, {"v1"}},
        {"/v1//", 2, {"v1", ""}},
        {"//", 0, {NULL}},
        {"/v1/boards/a%2Fb", 3, {"v1", "boards", "a/b"}},
        {"/v1/../x", 3, {"v1", "..", "x"}},
        {"/a.json", 1, {"a.json"}},
        {"/a//b", 3, {"a", "", "b"}},
        {"/a/%zz", -1, {NULL}},
        {"/a/%00", -1, {NULL}},
        {"noslash", -1, {NULL}},
    };
    struct http_arena a;

    (void)state;
    http_arena_init(&a);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char **segs;
        size_t n;
        int rc = http_split_path(cases[i].path, &a, &segs, &n);

        if (cases[i].n < 0) {
            assert_int_equal(rc, -EINVAL);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(n, cases[i].n);
        for (size_t k = 0; k < n; k++)
            assert_string_equal(segs[k], cases[i].segs[k]);
    }
    http_arena_free(&a);
}

static void test_query_strings(void **state)
{
    struct http_arena a;
    struct http_kv *q;
    size_t n;

    (void)state;
    http_arena_init(&a);
    assert_int_equal(http_parse_query("a=1&b=x+y&&a=%26&flag&e=", &a, &q, &n), 0);
    assert_int_equal(n, 5);
    assert_string_equal(q[0].name, "a");
    assert_string_equal(q[0].value, "1");
    assert_string_equal(q[1].value, "x y");
    assert_string_equal(q[2].value, "&");
    assert_string_equal(q[3].name, "flag");
    assert_string_equal(q[3].value, "");
    assert_string_equal(q[4].value, "");
    assert_int_equal(http_parse_query("a=b=c;d", &a, &q, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(q[0].value, "b=c;d");
    assert_int_equal(http_parse_query(NULL, &a, &q, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(http_parse_query("a=%", &a, &q, &n), -EINVAL);
    assert_int_equal(http_parse_query("%00=1", &a, &q, &n), -EINVAL);
    http_arena_free(&a);
}

static void test_list_tokens(void **state)
{
    (void)state;
    assert_true(http_list_has("keep-alive, Upgrade", "upgrade"));
    assert_true(http_list_has(" close ", "close"));
    assert_false(http_list_has("closed", "close"));
    assert_false(http_list_has(NULL, "close"));
    assert_false(http_list_has("", "close"));
}

/* Decodes a whole chunked body fed in pieces of step bytes. */
static int dechunk(const char *in, size_t step, char *out, size_t *outlen, size_t *rest)
{
    struct chunked c;
    size_t len = strlen(in), off = 0;

    chunked_init(&c);
    *outlen = 0;
    while (off < len && !c.done) {
        size_t piece = len - off < step ? len - off : step, used = 0;

        while (used < piece && !c.done) {
            const char *data;
            size_t dlen;
            ssize_t k = chunked_feed(&c, in + off + used, piece - used, &data, &dlen);

            if (k < 0)
                return -1;
            memcpy(out + *outlen, data ? data : "", dlen);
            *outlen += dlen;
            used += (size_t)k;
        }
        off += used;
    }
    *rest = len - off;
    return c.done ? 0 : 1;
}

static void test_chunked_bodies(void **state)
{
    const char *good = "4\r\nWiki\r\n5;name=val\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n"
                       "Trailer: x\r\n\r\nGET";
    static const char *const bad[] = {
        "x\r\n",  "\r\n",   "4\r\nWikiX\r\n", "4\r\nWiki\r\r", "10000000000000000\r\n",
        "4x\r\n", "4\rx\n",
    };
    char out[128];
    size_t n, rest;

    (void)state;
    for (size_t step = 1; step <= strlen(good); step++) {
        assert_int_equal(dechunk(good, step, out, &n, &rest), 0);
        assert_int_equal(n, 23);
        assert_memory_equal(out, "Wikipedia in\r\n\r\nchunks.", 23);
        assert_int_equal(rest, 3); /* "GET" belongs to the next request */
    }
    assert_int_equal(dechunk("0\n\n", 1, out, &n, &rest), 0);
    assert_int_equal(n, 0);
    assert_int_equal(dechunk("5\r\nab", 1, out, &n, &rest), 1); /* incomplete */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(dechunk(bad[i], 64, out, &n, &rest), -1);
}

static void test_chunk_extension_and_trailer_limits(void **state)
{
    char *ext = malloc(CHUNKED_LINE_MAX + 64), out[16];
    size_t n, rest;

    (void)state;
    snprintf(ext, CHUNKED_LINE_MAX + 64, "1;%0*d\r\nx\r\n0\r\n\r\n", CHUNKED_LINE_MAX, 0);
    assert_int_equal(dechunk(ext, 4096, out, &n, &rest), -1);
    free(ext);
}

static void test_ranges(void **state)
{
    static const struct {
        const char *h;
        uint64_t size;
        int res;
        uint64_t off, len;
    } cases[] = {
        {NULL, 100, HTTP_RANGE_NONE, 0, 0},
        {"bytes=0-0", 100, HTTP_RANGE_OK, 0, 1},
        {"bytes=10-19", 100, HTTP_RANGE_OK, 10, 10},
        {"bytes=90-", 100, HTTP_RANGE_OK, 90, 10},
        {"bytes=90-500", 100, HTTP_RANGE_OK, 90, 10},
        {"bytes=-10", 100, HTTP_RANGE_OK, 90, 10},
        {"bytes=-500", 100, HTTP_RANGE_OK, 0, 100},
        {"bytes= 5-6 ", 100, HTTP_RANGE_OK, 5, 2},
        {"bytes=5 - 6", 100, HTTP_RANGE_NONE, 0, 0},
        {"bytes=100-", 100, HTTP_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=-0", 100, HTTP_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=0-", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=5-4", 100, HTTP_RANGE_NONE, 0, 0},
        {"bytes=1-2,4-5", 100, HTTP_RANGE_NONE, 0, 0},
        {"items=1-2", 100, HTTP_RANGE_NONE, 0, 0},
        {"bytes=-", 100, HTTP_RANGE_NONE, 0, 0},
        {"bytes=a-b", 100, HTTP_RANGE_NONE, 0, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t off = 0, len = 0;
        int res = http_range_parse(cases[i].h, cases[i].size, &off, &len);

        if (res != cases[i].res)
            fail_msg("case %zu: %d, expected %d", i, res, cases[i].res);
        if (res == HTTP_RANGE_OK) {
            assert_int_equal(off, cases[i].off);
            assert_int_equal(len, cases[i].len);
        }
    }
}

static void h_dummy(struct http_req *r)
{
    (void)r;
}

static const struct http_route routes[] = {
    {HTTP_GET, "/", h_dummy, 0, 0, NULL, NULL},
    {HTTP_GET, "/v1/boards", h_dummy, 0, 0, NULL, NULL},
    {HTTP_POST, "/v1/boards", h_dummy, 0, 0, NULL, NULL},
    {HTTP_GET, "/v1/boards/detail", h_dummy, 0, 0, NULL, NULL},
    {HTTP_GET, "/v1/boards/{board}", h_dummy, 0, 0, NULL, NULL},
    {HTTP_PATCH, "/v1/boards/{board}", h_dummy, 0, 0, NULL, NULL},
    {HTTP_DELETE, "/v1/boards/{board}", h_dummy, 0, 0, NULL, NULL},
    {HTTP_GET, "/v1/boards/{board}/plugins", h_dummy, 0, 0, NULL, NULL},
    {HTTP_DELETE, "/v1/boards/{board}/plugins/{plugin}", h_dummy, 0, 0, NULL, NULL},
    {HTTP_POST, "/v1/boards/{board}/plugins/{plugin}", h_dummy, 0, 0, NULL, NULL},
    {HTTP_HEAD, "/v1/only-head", h_dummy, 0, 0, NULL, NULL},
};

static const struct http_route *match(const struct http_router *rt, enum http_method m,
                                      const char *path, struct http_kv *params, size_t *np,
                                      unsigned *allow)
{
    struct http_arena a;
    const struct http_route *r;
    char **segs;
    size_t n;

    http_arena_init(&a);
    assert_int_equal(http_split_path(path, &a, &segs, &n), 0);
    r = http_router_match(rt, m, segs, n, params, np, allow);
    /* Parameter values point into the arena: copy what the test checks. */
    for (size_t i = 0; i < *np; i++)
        params[i].value = strdup(params[i].value);
    http_arena_free(&a);
    return r;
}

static void free_params(struct http_kv *params, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((char *)params[i].value);
}

static void test_router(void **state)
{
    struct http_router *rt;
    struct http_kv p[HTTP_MAX_PARAMS];
    unsigned allow;
    size_t np;
    char allow_s[128];

    (void)state;
    assert_int_equal(http_router_new(routes, sizeof(routes) / sizeof(routes[0]), &rt, NULL), 0);
    assert_ptr_equal(match(rt, HTTP_GET, "/", p, &np, &allow), &routes[0]);
    assert_ptr_equal(match(rt, HTTP_GET, "/v1/boards/", p, &np, &allow), &routes[1]);
    assert_ptr_equal(match(rt, HTTP_POST, "/v1/boards", p, &np, &allow), &routes[2]);
    assert_ptr_equal(match(rt, HTTP_GET, "/v1/boards/detail", p, &np, &allow), &routes[3]);
    assert_int_equal(np, 0);
    assert_ptr_equal(match(rt, HTTP_GET, "/v1/boards/b1", p, &np, &allow), &routes[4]);
    assert_int_equal(np, 1);
    assert_string_equal(p[0].name, "board");
    assert_string_equal(p[0].value, "b1");
    free_params(p, np);
    /* The literal branch leads nowhere: the parameter branch takes it. */
    assert_ptr_equal(match(rt, HTTP_GET, "/v1/boards/detail/plugins", p, &np, &allow), &routes[7]);
    assert_string_equal(p[0].value, "detail");
    free_params(p, np);
    assert_ptr_equal(match(rt, HTTP_DELETE, "/v1/boards/a%2Fb/plugins/p%20q", p, &np, &allow),
                     &routes[8]);
    assert_int_equal(np, 2);
    assert_string_equal(p[0].value, "a/b");
    assert_string_equal(p[1].name, "plugin");
    assert_string_equal(p[1].value, "p q");
    free_params(p, np);
    /* HEAD follows GET; a HEAD-only route stays HEAD-only. */
    assert_ptr_equal(match(rt, HTTP_HEAD, "/v1/boards", p, &np, &allow), &routes[1]);
    assert_ptr_equal(match(rt, HTTP_HEAD, "/v1/only-head", p, &np, &allow), &routes[10]);
    assert_null(match(rt, HTTP_GET, "/v1/only-head", p, &np, &allow));
    assert_int_equal(allow, HTTP_METHOD_BIT(HTTP_HEAD));
    /* 405 with the methods of the path; 404 without any. */
    assert_null(match(rt, HTTP_PUT, "/v1/boards/x", p, &np, &allow));
    http_allow_string(allow, allow_s, sizeof(allow_s));
    assert_string_equal(allow_s, "GET, HEAD, PATCH, DELETE");
    assert_int_equal(np, 0);
    assert_null(match(rt, HTTP_GET, "/v1/nothing", p, &np, &allow));
    assert_int_equal(allow, 0);
    assert_null(match(rt, HTTP_GET, "/v1/boards//plugins", p, &np, &allow));
    assert_int_equal(allow, 0); /* an empty segment is no parameter */
    assert_null(match(rt, HTTP_METHOD_OTHER, "/v1/boards", p, &np, &allow));
    http_allow_string(allow, allow_s, sizeof(allow_s));
    assert_string_equal(allow_s, "GET, HEAD, POST");
    http_router_free(rt);
}

static void test_router_refuses_bad_tables(void **state)
{
    static const struct http_route bad[][2] = {
        {{HTTP_GET, "v1", h_dummy, 0, 0, NULL, NULL}},
        {{HTTP_GET, "/a//b", h_dummy, 0, 0, NULL, NULL}},
        {{HTTP_GET, "/a/{}", h_dummy, 0, 0, NULL, NULL}},
        {{HTTP_GET, "/a/{x", h_dummy, 0, 0, NULL, NULL}},
        {{HTTP_GET, "/a/b{x}", h_dummy, 0, 0, NULL, NULL}},
        {{HTTP_GET, "/a/{x-y}", h_dummy, 0, 0, NULL, NULL}},
        {{HTTP_GET, "/a", NULL, 0, 0, NULL, NULL}},
        {{HTTP_METHOD_OTHER, "/a", h_dummy, 0, 0, NULL, NULL}},
        {{HTTP_GET, "/a/{x}", h_dummy, 0, 0, NULL, NULL},
         {HTTP_GET, "/a/{y}/b", h_dummy, 0, 0, NULL, NULL}},
        {{HTTP_GET, "/a", h_dummy, 0, 0, NULL, NULL}, {HTTP_GET, "/a", h_dummy, 0, 0, NULL, NULL}},
    };
    struct http_router *rt;
    struct error err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = bad[i][1].pattern ? 2 : 1;

        assert_int_equal(http_router_new(bad[i], n, &rt, &err), -EINVAL);
        assert_null(rt);
        assert_true(strlen(err.msg) > 0);
    }
}

static void test_error_bodies(void **state)
{
    size_t len;
    char *b;

    (void)state;
    b = http_error_body_nested(404, "Board bench-07 could not be found.", &len);
    assert_string_equal(b, "{\"error_message\": \"{\\\"faultcode\\\": \\\"Client\\\", "
                           "\\\"faultstring\\\": \\\"Board bench-07 could not be found.\\\", "
                           "\\\"debuginfo\\\": null}\"}");
    assert_int_equal(len, strlen(b));
    free(b);
    b = http_error_body_flat(503, "Service \"x\"\n", &len);
    assert_string_equal(b, "{\"faultcode\": \"Server\", \"faultstring\": \"Service \\\"x\\\"\\n\", "
                           "\"debuginfo\": null}");
    free(b);
    /* Non-ASCII is escaped as Python does; bytes that are not UTF-8 become U+FFFD. */
    b = http_error_body_nested(400, "caf\xc3\xa9 \xf0\x9f\x98\x80 \xff\x01", &len);
    assert_non_null(strstr(b, "caf\\\\u00e9 \\\\ud83d\\\\ude00 \\\\ufffd\\\\u0001"));
    free(b);
    b = http_error_body_flat(400, "caf\xc3\xa9 \xc0\xaf", &len);
    assert_non_null(strstr(b, "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd"));
    free(b);
}

static void test_cors(void **state)
{
    struct http_cors c = {
        "https://a.example,https://b.example", 1, 600, NULL, "X-Auth-Token", "X-Exposed"};
    struct http_cors any = {"*", 0, 0, "GET", NULL, NULL};
    struct buf b;

    (void)state;
    buf_init(&b, 4096);
    assert_int_equal(
        http_cors_preflight(&c, "https://b.example", "PATCH", "x-auth-token, Content-Type", &b), 0);
    assert_string_equal(b.data, "Vary: Origin\r\nAccess-Control-Allow-Origin: https://b.example\r\n"
                                "Access-Control-Allow-Credentials: true\r\n"
                                "Access-Control-Max-Age: 600\r\n"
                                "Access-Control-Allow-Methods: PATCH\r\n"
                                "Access-Control-Allow-Headers: x-auth-token, Content-Type\r\n");
    buf_reset(&b);
    assert_int_equal(http_cors_preflight(&c, "https://c.example", "GET", NULL, &b), 0);
    assert_int_equal(http_cors_preflight(&c, "https://a.example", "OPTIONS", NULL, &b), 0);
    assert_int_equal(http_cors_preflight(&c, "https://a.example", "GET", "X-Other", &b), 0);
    assert_int_equal(b.len, 0);
    assert_int_equal(http_cors_actual(&c, "https://a.example", &b), 0);
    assert_non_null(strstr(b.data, "Access-Control-Expose-Headers: X-Exposed\r\n"));
    buf_reset(&b);
    assert_int_equal(http_cors_actual(&any, "http://anything", &b), 0);
    assert_non_null(strstr(b.data, "Access-Control-Allow-Origin: http://anything\r\n"));
    buf_reset(&b);
    assert_int_equal(http_cors_preflight(&any, "http://x", "POST", NULL, &b), 0);
    assert_int_equal(b.len, 0);
    assert_false(http_cors_enabled(NULL));
    assert_false(http_cors_enabled(&(struct http_cors){"", 0, 0, NULL, NULL, NULL}));
    buf_free(&b);
}

static void test_arena_grows_and_aligns(void **state)
{
    struct http_arena a;
    char *big;

    (void)state;
    http_arena_init(&a);
    for (int i = 0; i < 1000; i++) {
        char *p = http_arena_alloc(&a, (size_t)(i % 97) + 1);

        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 'x', (size_t)(i % 97) + 1);
    }
    big = http_arena_alloc(&a, 1 << 20);
    memset(big, 0, 1 << 20);
    assert_string_equal(http_arena_strndup(&a, "hello", 4), "hell");
    http_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_fields_and_framing),
        cmocka_unit_test(test_bad_heads_get_the_right_status),
        cmocka_unit_test(test_header_count_limit),
        cmocka_unit_test(test_head_end_is_found_incrementally),
        cmocka_unit_test(test_percent_decoding),
        cmocka_unit_test(test_paths_split_then_decode),
        cmocka_unit_test(test_query_strings),
        cmocka_unit_test(test_list_tokens),
        cmocka_unit_test(test_chunked_bodies),
        cmocka_unit_test(test_chunk_extension_and_trailer_limits),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_router),
        cmocka_unit_test(test_router_refuses_bad_tables),
        cmocka_unit_test(test_error_bodies),
        cmocka_unit_test(test_cors),
        cmocka_unit_test(test_arena_grows_and_aligns),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
