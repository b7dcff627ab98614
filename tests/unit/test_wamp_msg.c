/* Unit tests for wamp/msg.h (with wamp/json_strict.h and wamp/json_out.h
 * underneath): every message type good and bad, ids at their limits, the
 * size limit, UTF-8, nesting, and the serialiser's rules. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/xalloc.h"
#include "wamp/json_out.h"
#include "wamp/json_strict.h"
#include "wamp/msg.h"

/* Parses in, serialises the result, and compares with want. */
static void roundtrip(const char *in, const char *want)
{
    struct wamp_msg *m = NULL;
    struct error err = {0};
    char *out = NULL;
    size_t len = 0;
    int rc = wamp_msg_parse(in, strlen(in), &m, &err);

    if (rc != 0)
        fail_msg("parse of %s failed: %s", in, err.msg);
    rc = wamp_msg_serialize(m, &out, &len, &err);
    if (rc != 0)
        fail_msg("serialise of %s failed: %s", in, err.msg);
    if (strcmp(out, want) != 0)
        fail_msg("%s\n  gave %s\n  want %s", in, out, want);
    assert_int_equal(len, strlen(want));
    free(out);
    wamp_msg_free(m);
}

/* Every message type of the profile, with and without optional parts; the
 * second column is the normalised form (empty trailing parts dropped). */
static void test_every_type_parses_and_serialises(void **state)
{
    static const char *const cases[][2] = {
        {"[1, \"s4t\", {\"roles\": {\"caller\": {}}}]",
         "[1,\"s4t\",{\"roles\": {\"caller\": {}}}]"},
        {"[2,4739282046471166,{\"roles\":{\"dealer\":{\"features\":{}}}}]", NULL},
        {"[3,{\"message\":\"bye\"},\"wamp.error.protocol_violation\"]", NULL},
        {"[4,\"wampcra\",{\"challenge\":\"{\\\"a\\\":1}\"}]", NULL},
        {"[5,\"xPYYDMKKleGD/sUwwtb5stSRjcbp06SUi3BbWog2T5I=\",{}]", NULL},
        {"[6,{},\"wamp.close.goodbye_and_out\"]", NULL},
        {"[8,48,7,{},\"wamp.error.not_authorized\"]", NULL},
        {"[8,68,1,{},\"wamp.error.runtime_error\",[\"boom\"],{\"k\":1}]", NULL},
        {"[8,68,1,{},\"e.x\",[],{}]", "[8,68,1,{},\"e.x\"]"},
        {"[8,68,1,{},\"e.x\",[],{\"a\":1}]", NULL},
        {"[16,1,{\"acknowledge\":true},\"iotronic.board.x.t\",[1,2.5,\"x\"]]", NULL},
        {"[17,1,5170339201412113]", NULL},
        {"[32,2,{},\"a.b\"]", NULL},
        {"[33,2,9007199254740992]", NULL},
        {"[34,3,9007199254740992]", NULL},
        {"[35,3]", NULL},
        {"[36,5,6,{},[],{\"x\":null}]", NULL},
        {"[36,5,6,{}]", NULL},
        {"[48,1,{},\"stack4things.register\",[],{\"code\":\"A7K2-19QX\",\"session\":"
         "1298104736513041}]",
         NULL},
        {"[48,1,{},\"a.b\",[]]", "[48,1,{},\"a.b\"]"},
        {"[50,1,{},[\"{\\\"message\\\": \\\"\\\", \\\"result\\\": \\\"SUCCESS\\\"}\"]]", NULL},
        {"[50,1,{}]", NULL},
        {"[64,3,{},\"iotronic.4739282046471166.6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52.DevicePing\"]",
         NULL},
        {"[65,3,5170339201412113]", NULL},
        {"[66,4,5170339201412113]", NULL},
        {"[67,4]", NULL},
        {"[68,1,5170339201412113,{},[{\"uuid\":\"0e7c\",\"main_request_uuid\":null}]]", NULL},
        {"[70,1,{},[\"ok\"]]", NULL},
        {"[70,1,{}]", NULL},
        {" \t\r\n[70 , 1 ,{ } ] \n", "[70,1,{ }]"},
        /* null Args/Kwargs, as autobahn writes them, read as absent */
        {"[8,48,1,{},\"e\",null,{\"a\":1}]", "[8,48,1,{},\"e\",[],{\"a\":1}]"},
        {"[50,1,{},null]", "[50,1,{}]"},
        {"[50,1,{},[1],null]", "[50,1,{},[1]]"},
        {"[70,1,{},null,null]", "[70,1,{}]"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        roundtrip(cases[i][0], cases[i][1] != NULL ? cases[i][1] : cases[i][0]);
}

struct bad {
    const char *frame;
    int rc;
    const char *msg; /* a substring of the error */
};

static void check_bad(const struct bad *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct wamp_msg *m = (struct wamp_msg *)1;
        struct error err = {0};
        int rc = wamp_msg_parse(b[i].frame, strlen(b[i].frame), &m, &err);

        if (rc != b[i].rc)
            fail_msg("%s: rc %d, want %d (%s)", b[i].frame, rc, b[i].rc, err.msg);
        assert_null(m);
        if (strstr(err.msg, b[i].msg) == NULL)
            fail_msg("%s: error \"%s\" lacks \"%s\"", b[i].frame, err.msg, b[i].msg);
    }
}

static void test_wrong_element_types_are_named(void **state)
{
    static const struct bad cases[] = {
        {"[1,5,{\"roles\":{\"caller\":{}}}]", -EPROTO,
         "HELLO: Realm must be a string, not a number"},
        {"[1,\"s4t\",[]]", -EPROTO, "HELLO: Details must be an object, not an array"},
        {"[2,\"1\",{\"roles\":{\"dealer\":{}}}]", -EPROTO,
         "WELCOME: Session must be an integer, not a string"},
        {"[3,{},7]", -EPROTO, "ABORT: Reason must be a string"},
        {"[4,\"wampcra\",null]", -EPROTO, "CHALLENGE: Extra must be an object, not null"},
        {"[5,{},{}]", -EPROTO, "AUTHENTICATE: Signature must be a string, not an object"},
        {"[6,\"x\",\"y\"]", -EPROTO, "GOODBYE: Details must be an object, not a string"},
        {"[8,\"48\",1,{},\"e\"]", -EPROTO, "ERROR: ReqType must be an integer"},
        {"[8,50,1,{},\"e\"]", -EPROTO, "ERROR: ReqType 50 is not a request that can fail"},
        {"[8,48,1,{},\"e\",{}]", -EPROTO, "ERROR: Arguments must be an array, not an object"},
        {"[8,48,1,{},\"e\",[],[]]", -EPROTO, "ERROR: ArgumentsKw must be an object, not an array"},
        {"[16,1,{},\"t\",\"a\"]", -EPROTO, "PUBLISH: Arguments must be an array, not a string"},
        {"[17,1,true]", -EPROTO, "PUBLISHED: Publication must be an integer, not true"},
        {"[32,1,{},null]", -EPROTO, "SUBSCRIBE: Topic must be a string, not null"},
        {"[33,1,{}]", -EPROTO, "SUBSCRIBED: Subscription must be an integer"},
        {"[34,1,false]", -EPROTO, "UNSUBSCRIBE: Subscription must be an integer, not false"},
        {"[35,[]]", -EPROTO, "UNSUBSCRIBED: Request must be an integer, not an array"},
        {"[36,1,2,[]]", -EPROTO, "EVENT: Details must be an object"},
        {"[48,1,[],\"p\"]", -EPROTO, "CALL: Options must be an object, not an array"},
        {"[48,1,{},\"p\",{\"a\":1}]", -EPROTO, "CALL: Arguments must be an array"},
        {"[50,1,{},[],\"k\"]", -EPROTO, "RESULT: ArgumentsKw must be an object, not a string"},
        {"[64,1,{},1]", -EPROTO, "REGISTER: Procedure must be a string"},
        {"[65,1,\"r\"]", -EPROTO, "REGISTERED: Registration must be an integer"},
        {"[66,\"1\",2]", -EPROTO, "UNREGISTER: Request must be an integer"},
        {"[67,null]", -EPROTO, "UNREGISTERED: Request must be an integer, not null"},
        {"[68,1,2,{},{}]", -EPROTO, "INVOCATION: Arguments must be an array"},
        {"[70,1,[]]", -EPROTO, "YIELD: Options must be an object"},
        {"[49,1,[]]", -EPROTO, "CANCEL: Options must be an object"},
    };

    (void)state;
    check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_element_counts_are_checked(void **state)
{
    static const struct bad cases[] = {
        {"[1,\"s4t\"]", -EPROTO, "HELLO must have 3 elements, not 2"},
        {"[1,\"s4t\",{\"roles\":{\"caller\":{}}},{}]", -EPROTO,
         "HELLO must have 3 elements, not 4"},
        {"[2,1]", -EPROTO, "WELCOME must have 3 elements, not 2"},
        {"[3,{}]", -EPROTO, "ABORT must have 3 elements"},
        {"[6,{},\"r\",1]", -EPROTO, "GOODBYE must have 3 elements, not 4"},
        {"[8,48,1,{}]", -EPROTO, "ERROR must have 5 to 7 elements, not 4"},
        {"[8,48,1,{},\"e\",[],{},1]", -EPROTO, "ERROR must have 5 to 7 elements, not 8"},
        {"[16,1,{}]", -EPROTO, "PUBLISH must have 4 to 6 elements, not 3"},
        {"[17,1]", -EPROTO, "PUBLISHED must have 3 elements, not 2"},
        {"[32,1,{},\"t\",[]]", -EPROTO, "SUBSCRIBE must have 4 elements, not 5"},
        {"[34,1,2,{}]", -EPROTO, "UNSUBSCRIBE must have 3 elements, not 4"},
        {"[35,1,{}]", -EPROTO, "UNSUBSCRIBED must have 2 elements, not 3"},
        {"[36,1,2]", -EPROTO, "EVENT must have 4 to 6 elements, not 3"},
        {"[48,1,{},\"p\",[],{},{}]", -EPROTO, "CALL must have 4 to 6 elements, not 7"},
        {"[50,1]", -EPROTO, "RESULT must have 3 to 5 elements, not 2"},
        {"[64,1,{},\"p\",[]]", -EPROTO, "REGISTER must have 4 elements, not 5"},
        {"[65,1,2,3]", -EPROTO, "REGISTERED must have 3 elements, not 4"},
        {"[66,1]", -EPROTO, "UNREGISTER must have 3 elements, not 2"},
        {"[67]", -EPROTO, "UNREGISTERED must have 2 elements, not 1"},
        {"[68,1,2]", -EPROTO, "INVOCATION must have 4 to 6 elements, not 3"},
        {"[70,1,{},[],{},[]]", -EPROTO, "YIELD must have 3 to 5 elements, not 6"},
    };

    (void)state;
    check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_not_a_message(void **state)
{
    static const struct bad cases[] = {
        {"", -EPROTO, "message is empty"},
        {"   ", -EPROTO, "message is empty"},
        {"not json", -EPROTO, "message is not JSON: invalid JSON at byte 0: invalid literal"},
        {"<html>", -EPROTO, "message is not JSON: unexpected character '<' at byte 0"},
        {"\"not json\"", -EPROTO, "must be a JSON array, not a string"},
        {"{\"a\":1}", -EPROTO, "must be a JSON array, not an object"},
        {"[]", -EPROTO, "message array is empty"},
        {"[\"1\"]", -EPROTO, "message code must be an integer, not a string"},
        {"[1.5,\"s4t\",{}]", -EPROTO, "message code must be an integer, not 1.5"},
        {"[7,1]", -EPROTO, "unknown message code 7"},
        {"[71,1]", -EPROTO, "unknown message code 71"},
        {"[-1,1]", -EPROTO, "unknown message code -1"},
        {"[99999999999999999999,1]", -EPROTO, "unknown message code 99999999999999999999"},
        {"[70,1,{}]x", -EPROTO, "trailing data after the message"},
        {"[70,1,{}] [1]", -EPROTO, "trailing data"},
        {"[70,1,{}", -EPROTO, "unterminated array"},
        {"[70,1,{},]", -EPROTO, "unexpected character ']'"},
        {"[70 1]", -EPROTO, "expected ',' or ']'"},
        {"[0048,1]", -EPROTO, "expected ',' or ']'"},
        {"[48,1,{},\"p\",[01]]", -EPROTO, "expected ',' or ']'"},
        {"[48,1,{},\"p\",[1.]]", -EPROTO, "invalid number"},
        {"[48,1,{},\"p\",[-]]", -EPROTO, "invalid number"},
        {"[48,1,{},\"p\",[1e]]", -EPROTO, "invalid number"},
        {"[48,1,{},\"p\",[+1]]", -EPROTO, "unexpected character '+'"},
        {"[48,1,{},\"p\",[1e999]]", -EPROTO, "number out of range"},
        {"[48,1,{},\"p\",[tru]]", -EPROTO, "invalid literal"},
        {"[48,1,{},\"p\",[NaN]]", -EPROTO, "unexpected character 'N'"},
        {"[48,1,{},\"p\",[],{1:2}]", -EPROTO, "expected a string key"},
        {"[48,1,{},\"p\",[],{\"a\" 2}]", -EPROTO, "expected ':'"},
        {"[48,1,{},\"p\",[],{\"a\":2,}]", -EPROTO, "expected a string key"},
        {"[48,1,{},\"p\",[],{\"a\":2 \"b\":3}]", -EPROTO, "expected ',' or '}'"},
        {"[48,1,{},\"p\",[\"a\tb\"]]", -EPROTO, "control character in string"},
        {"[48,1,{},\"p\",[\"a\\qb\"]]", -EPROTO, "invalid escape"},
        {"[48,1,{},\"p\",[\"\\u12\"]]", -EPROTO, "invalid \\u escape"},
        {"[48,1,{},\"p\",[\"\\u0000\"]]", -EPROTO, "\\u0000 in a string is not accepted"},
        {"[48,1,{},\"p\",[\"\\ud800\"]]", -EPROTO, "unpaired surrogate"},
        {"[48,1,{},\"p\",[\"\\udc00\\ud800\"]]", -EPROTO, "unpaired surrogate"},
        {"[48,1,{},\"p\",[\"\\ud800\\u0041\"]]", -EPROTO, "unpaired surrogate"},
        {"[48,1,{},\"p\",[\"abc]]", -EPROTO, "unterminated string"},
    };

    (void)state;
    check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_ids_at_their_limits(void **state)
{
    static const struct bad cases[] = {
        {"[17,1,9007199254740993]", -EPROTO,
         "PUBLISHED: Publication must be in [0, 2^53], not 9007199254740993"},
        {"[17,18446744073709551616,1]", -EPROTO, "must be in [0, 2^53]"},
        {"[17,-1,1]", -EPROTO, "PUBLISHED: Request must be in [0, 2^53], not -1"},
        {"[17,1.0,1]", -EPROTO, "PUBLISHED: Request must be an integer, not 1.0"},
        {"[17,1,1e3]", -EPROTO, "must be an integer, not 1e3"},
        {"[17,1,1.5]", -EPROTO, "must be an integer, not 1.5"},
        {"[48,1234567890123456789012345678901234567890123456789012345678901234,{},\"p\"]", -EPROTO,
         "number longer than 63 characters"},
    };
    struct wamp_msg *m = NULL;
    struct error err;
    const char *zero = "[17,0,0]", *max = "[17,9007199254740992,9007199254740992]";
    const char *negzero = "[17,-0,1]";

    (void)state;
    check_bad(cases, sizeof(cases) / sizeof(cases[0]));
    assert_int_equal(wamp_msg_parse(zero, strlen(zero), &m, &err), 0);
    assert_int_equal(m->request, 0);
    assert_int_equal(m->publication, 0);
    wamp_msg_free(m);
    assert_int_equal(wamp_msg_parse(max, strlen(max), &m, &err), 0);
    assert_true(m->request == WAMP_ID_MAX && m->publication == WAMP_ID_MAX);
    wamp_msg_free(m);
    assert_int_equal(wamp_msg_parse(negzero, strlen(negzero), &m, &err), 0);
    assert_int_equal(m->request, 0);
    wamp_msg_free(m);
}

static void test_invalid_utf8_is_refused(void **state)
{
    static const struct bad cases[] = {
        {"[48,1,{},\"p\",[\"\xc0\x80\"]]", -EPROTO, "invalid UTF-8"},         /* overlong NUL */
        {"[48,1,{},\"p\",[\"\xe0\x80\xaf\"]]", -EPROTO, "invalid UTF-8"},     /* overlong '/' */
        {"[48,1,{},\"p\",[\"\xed\xa0\x80\"]]", -EPROTO, "invalid UTF-8"},     /* surrogate */
        {"[48,1,{},\"p\",[\"\xf4\x90\x80\x80\"]]", -EPROTO, "invalid UTF-8"}, /* > U+10FFFF */
        {"[48,1,{},\"p\",[\"\xf5\x80\x80\x80\"]]", -EPROTO, "invalid UTF-8"},
        {"[48,1,{},\"p\",[\"\x80\"]]", -EPROTO, "invalid UTF-8"}, /* lone continuation */
        {"[48,1,{},\"p\",[\"\xc3\"]]", -EPROTO, "invalid UTF-8"}, /* truncated */
        {"[48,1,{},\"p\",[\"\xe2\x82\"]]", -EPROTO, "invalid UTF-8"},
        {"[48,1,{},\"p\xff\"]", -EPROTO, "invalid UTF-8"},
        {"[48,1,{},\"p\"]\xc3\xa9", -EPROTO, "trailing data"},
        {"\xef\xbb\xbf[48,1,{},\"p\"]", -EPROTO,
         "message is not JSON: unexpected byte 0xef at byte 0"}, /* no BOM */
    };
    const char *good =
        "[48,1,{},\"p.\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",[\"\xf4\x8f\xbf\xbf\"]]";
    struct wamp_msg *m = NULL;
    struct error err;

    (void)state;
    check_bad(cases, sizeof(cases) / sizeof(cases[0]));
    assert_int_equal(wamp_msg_parse(good, strlen(good), &m, &err), 0);
    assert_string_equal(m->procedure, "p.\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    wamp_msg_free(m);
}

static void test_escapes_decode_in_place(void **state)
{
    const char *in = "[48,1,{},\"a\\u002eb\\/\\\"\\\\\\n\\u00e9\\u20ac\\ud83d\\ude00\",[\"\\t\"]]";
    struct wamp_msg *m = NULL;
    struct error err;
    const cJSON *args;
    char *out;
    size_t len;

    (void)state;
    assert_int_equal(wamp_msg_parse(in, strlen(in), &m, &err), 0);
    assert_string_equal(m->procedure, "a.b/\"\\\n\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    args = wamp_msg_args(m);
    assert_string_equal(args->child->valuestring, "\t");
    assert_int_equal(wamp_msg_serialize(m, &out, &len, &err), 0);
    assert_string_equal(
        out, "[48,1,{},\"a.b/\\\"\\\\\\n\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",[\"\\t\"]]");
    free(out);
    wamp_msg_free(m);
}

/* Builds "[48,1,{},\"p\",[" + d-2 nested arrays + "]]": d levels in all. */
static char *nested(int depth)
{
    const char *head = "[48,1,{},\"p\",";
    size_t n = strlen(head);
    char *s = xmalloc((size_t)depth * 2 + 32);

    memcpy(s, head, n);
    for (int i = 0; i < depth - 1; i++)
        s[n++] = '[';
    for (int i = 0; i < depth - 1; i++)
        s[n++] = ']';
    s[n++] = ']';
    s[n] = '\0';
    return s;
}

static void test_nesting_is_bounded(void **state)
{
    char *ok = nested(WAMP_JSON_DEPTH_MAX), *deep = nested(WAMP_JSON_DEPTH_MAX + 1);
    char *huge = nested(100000);
    struct wamp_msg *m = NULL;
    struct error err;
    char *out;
    size_t len;

    (void)state;
    assert_int_equal(wamp_msg_parse(ok, strlen(ok), &m, &err), 0);
    /* The tree and the writer accept exactly what the parser does. */
    assert_non_null(wamp_msg_args(m));
    {
        struct wamp_msg b = {.type = WAMP_CALL, .request = 1, .procedure = "p"};

        b.args.tree = wamp_msg_args(m);
        assert_int_equal(wamp_msg_serialize(&b, &out, &len, &err), 0);
        assert_string_equal(out, ok);
        free(out);
    }
    wamp_msg_free(m);
    assert_int_equal(wamp_msg_parse(deep, strlen(deep), &m, &err), -EPROTO);
    assert_non_null(strstr(err.msg, "nested deeper than 64 levels"));
    assert_int_equal(wamp_msg_parse(huge, strlen(huge), &m, &err), -EPROTO);
    assert_non_null(strstr(err.msg, "nested deeper than 64 levels"));
    free(ok);
    free(deep);
    free(huge);
}

/* A PUBLISH frame of exactly n bytes. */
static char *frame_of(size_t n)
{
    const char *head = "[16,1,{},\"t\",[\"", *tail = "\"]]";
    size_t h = strlen(head), t = strlen(tail);
    char *s = xmalloc(n + 1);

    memcpy(s, head, h);
    memset(s + h, 'x', n - h - t);
    memcpy(s + n - t, tail, t);
    s[n] = '\0';
    return s;
}

static void test_size_limit_at_and_past(void **state)
{
    char *at = frame_of(WAMP_MSG_MAX), *past = frame_of(WAMP_MSG_MAX + 1);
    struct wamp_msg *m = NULL;
    struct error err;
    char *out;
    size_t len;

    (void)state;
    assert_int_equal(wamp_msg_parse(at, WAMP_MSG_MAX, &m, &err), 0);
    assert_int_equal(m->args.len, WAMP_MSG_MAX - 13 - 1);
    assert_int_equal(wamp_msg_serialize(m, &out, &len, &err), 0);
    assert_int_equal(len, WAMP_MSG_MAX);
    free(out);
    wamp_msg_free(m);
    assert_int_equal(wamp_msg_parse(past, WAMP_MSG_MAX + 1, &m, &err), -EMSGSIZE);
    assert_null(m);
    assert_string_equal(err.msg, "message of 16777217 bytes exceeds the limit of 16777216 bytes");
    /* A smaller limit, and the take variant, which frees on failure too. */
    assert_int_equal(wamp_msg_parse_max("[67,1]", 6, 5, &m, &err), -EMSGSIZE);
    assert_int_equal(wamp_msg_parse_max("[67,1]", 6, 6, &m, &err), 0);
    wamp_msg_free(m);
    assert_int_equal(wamp_msg_parse_take(xstrdup("[67,1]"), 6, 5, &m, &err), -EMSGSIZE);
    assert_int_equal(wamp_msg_parse_take(xstrdup("[67,2]"), 6, 6, &m, &err), 0);
    assert_int_equal(m->type, WAMP_UNREGISTERED);
    assert_int_equal(m->request, 2);
    wamp_msg_free(m);
    free(at);
    free(past);
}

static void test_cancel_and_interrupt_are_refused(void **state)
{
    static const struct bad cases[] = {
        {"[49,1,{}]", -EOPNOTSUPP, "CANCEL is not supported"},
        {"[69,1,{}]", -EOPNOTSUPP, "INTERRUPT is not supported"},
        {"[49,1]", -EPROTO, "CANCEL must have 3 elements"},
        {"[69,\"x\",{}]", -EPROTO, "INTERRUPT: Request must be an integer"},
    };
    struct wamp_msg b = {.type = WAMP_CANCEL, .request = 1};
    struct error err;
    char *out;
    size_t len;

    (void)state;
    check_bad(cases, sizeof(cases) / sizeof(cases[0]));
    assert_int_equal(wamp_msg_serialize(&b, &out, &len, &err), -EINVAL);
    b.type = (enum wamp_type)7;
    assert_int_equal(wamp_msg_serialize(&b, &out, &len, &err), -EINVAL);
}

static void test_hello_details_are_checked(void **state)
{
    static const struct bad cases[] = {
        {"[1,\"s4t\",{}]", -EPROTO, "HELLO: Details.roles is missing"},
        {"[1,\"s4t\",{\"roles\":{}}]", -EPROTO, "Details.roles must be a non-empty object"},
        {"[1,\"s4t\",{\"roles\":[]}]", -EPROTO, "Details.roles must be a non-empty object"},
        {"[1,\"s4t\",{\"roles\":{\"caller\":1}}]", -EPROTO,
         "Details.roles.caller must be an object"},
        {"[1,\"s4t\",{\"roles\":{\"caller\":{\"features\":[]}}}]", -EPROTO, "with object features"},
        {"[1,\"s4t\",{\"roles\":{\"caller\":{}},\"authmethods\":\"wampcra\"}]", -EPROTO,
         "Details.authmethods must be an array"},
        {"[1,\"s4t\",{\"roles\":{\"caller\":{}},\"authmethods\":[1]}]", -EPROTO,
         "Details.authmethods must hold strings"},
        {"[1,\"s4t\",{\"roles\":{\"caller\":{}},\"authid\":5}]", -EPROTO,
         "Details.authid must be a string"},
        {"[2,1,{}]", -EPROTO, "WELCOME: Details.roles is missing"},
    };
    static const struct {
        const char *frame;
        unsigned methods;
        const char *authid;
    } good[] = {
        {"[1,\"s4t\",{\"roles\":{\"caller\":{}}}]", 0, NULL},
        {"[1,\"s4t\",{\"roles\":{\"caller\":{}},\"authmethods\":[]}]", 0, NULL},
        {"[1,\"s4t\",{\"roles\":{\"caller\":{}},\"authmethods\":[\"anonymous\"]}]",
         WAMP_AUTH_ANONYMOUS, NULL},
        {"[1,\"s4t\",{\"roles\":{\"x\":{}},\"authmethods\":[\"wampcra\",\"ticket\"],"
         "\"authid\":\"6b1f\"}]",
         WAMP_AUTH_WAMPCRA | WAMP_AUTH_OTHER, "6b1f"},
    };

    (void)state;
    check_bad(cases, sizeof(cases) / sizeof(cases[0]));
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct wamp_msg *m = NULL;
        struct error err;

        assert_int_equal(wamp_msg_parse(good[i].frame, strlen(good[i].frame), &m, &err), 0);
        assert_int_equal(m->authmethods, good[i].methods);
        if (good[i].authid == NULL)
            assert_null(m->authid);
        else
            assert_string_equal(m->authid, good[i].authid);
        assert_string_equal(m->realm, "s4t");
        wamp_msg_free(m);
    }
}

static void test_fields_of_parsed_messages(void **state)
{
    const char *abort_frame = "[3,{\"message\":\"Authentication failed.\"},"
                              "\"wamp.error.authentication_failed\"]";
    const char *err_frame = "[8,68,9,{\"x\":1},\"wamp.error.runtime_error\",[\"boom\"]]";
    const char *ev = "[36,11,12,{},[1],{\"k\":9007199254740992}]";
    struct wamp_msg *m = NULL;
    struct error err;
    const cJSON *kw;

    (void)state;
    assert_int_equal(wamp_msg_parse(abort_frame, strlen(abort_frame), &m, &err), 0);
    assert_int_equal(m->type, WAMP_ABORT);
    assert_string_equal(m->reason, "wamp.error.authentication_failed");
    assert_string_equal(m->message, "Authentication failed.");
    wamp_msg_free(m);
    assert_int_equal(wamp_msg_parse(err_frame, strlen(err_frame), &m, &err), 0);
    assert_int_equal(m->req_type, WAMP_INVOCATION);
    assert_int_equal(m->request, 9);
    assert_string_equal(m->error, "wamp.error.runtime_error");
    assert_int_equal(cJSON_GetObjectItem(wamp_msg_details(m), "x")->valueint, 1);
    assert_string_equal(wamp_msg_args(m)->child->valuestring, "boom");
    assert_null(wamp_msg_kwargs(m));
    wamp_msg_free(m);
    assert_int_equal(wamp_msg_parse(ev, strlen(ev), &m, &err), 0);
    assert_int_equal(m->subscription, 11);
    assert_int_equal(m->publication, 12);
    kw = wamp_msg_kwargs(m);
    assert_true(cJSON_GetObjectItem(kw, "k")->valuedouble == 9007199254740992.0);
    assert_ptr_equal(kw, wamp_msg_kwargs(m)); /* built once */
    wamp_msg_free(m);
}

static void test_builder_omits_empty_trailing_parts(void **state)
{
    cJSON *args = cJSON_CreateArray(), *kwargs = cJSON_CreateObject();
    struct wamp_msg b = {.type = WAMP_CALL, .request = 2, .procedure = "a.b"};
    struct error err;
    char *out;
    size_t len;

    (void)state;
    b.args = WAMP_PART_TREE(args);
    b.kwargs = WAMP_PART_TREE(kwargs);
    assert_int_equal(wamp_msg_serialize(&b, &out, &len, &err), 0);
    assert_string_equal(out, "[48,2,{},\"a.b\"]");
    free(out);
    cJSON_AddItemToObject(kwargs, "session", cJSON_CreateNumber(4739282046471166.0));
    assert_int_equal(wamp_msg_serialize(&b, &out, &len, &err), 0);
    assert_string_equal(out, "[48,2,{},\"a.b\",[],{\"session\":4739282046471166}]");
    free(out);
    b.args = WAMP_PART_NONE;
    assert_int_equal(wamp_msg_serialize(&b, &out, &len, &err), 0);
    assert_string_equal(out, "[48,2,{},\"a.b\",[],{\"session\":4739282046471166}]");
    free(out);
    b.kwargs = WAMP_PART_JSON(" { } ", 5);
    b.args = WAMP_PART_JSON("[ ]", 3);
    assert_int_equal(wamp_msg_serialize(&b, &out, &len, &err), 0);
    assert_string_equal(out, "[48,2,{},\"a.b\"]");
    free(out);
    b.args = WAMP_PART_JSON("[0.1,-2.5e-7,1e300,-0]", 22);
    assert_int_equal(wamp_msg_serialize(&b, &out, &len, &err), 0);
    assert_string_equal(out, "[48,2,{},\"a.b\",[0.1,-2.5e-7,1e300,-0]]");
    free(out);
    cJSON_Delete(args);
    cJSON_Delete(kwargs);
}

static void test_builder_refuses_bad_input(void **state)
{
    static const struct {
        struct wamp_msg m;
        const char *msg;
    } cases[] = {
        {{.type = WAMP_PUBLISHED, .request = WAMP_ID_MAX + 1},
         "PUBLISHED: Request: 9007199254740993 is above 2^53"},
        {{.type = WAMP_CALL, .request = 1}, "CALL: Procedure: is missing"},
        {{.type = WAMP_CALL, .request = 1, .procedure = "p\xc3"}, "not valid UTF-8"},
        {{.type = WAMP_CALL, .request = 1, .procedure = "p", .args = {.json = "{}", .len = 2}},
         "CALL: Arguments: must be an array"},
        {{.type = WAMP_CALL, .request = 1, .procedure = "p", .args = {.json = "[1,", .len = 3}},
         "CALL: Arguments: invalid JSON"},
        {{.type = WAMP_CALL, .request = 1, .procedure = "p", .options = {.json = "[]", .len = 2}},
         "CALL: Options: must be an object"},
        {{.type = WAMP_ERROR, .req_type = WAMP_RESULT, .request = 1, .error = "e"},
         "ERROR: ReqType: 50 is not a request that can fail"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct error err = {0};
        char *out = NULL;
        size_t len;

        assert_int_equal(wamp_msg_serialize(&cases[i].m, &out, &len, &err), -EINVAL);
        if (strstr(err.msg, cases[i].msg) == NULL)
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg, cases[i].msg);
        assert_null(out);
    }
}

static void test_write_restores_buffer_on_failure(void **state)
{
    struct wamp_msg ok = {.type = WAMP_UNREGISTERED, .request = 5};
    struct wamp_msg bad = {.type = WAMP_CALL, .request = 1};
    struct wamp_msg big = {.type = WAMP_CALL, .request = 1, .procedure = "0123456789"};
    struct buf b;
    struct error err;

    (void)state;
    buf_init(&b, 24);
    assert_int_equal(wamp_msg_write(&b, &ok, &err), 0);
    assert_int_equal(wamp_msg_write(&b, &bad, &err), -EINVAL);
    assert_string_equal(b.data, "[67,5]");
    assert_int_equal(wamp_msg_write(&b, &big, &err), -EMSGSIZE);
    assert_string_equal(b.data, "[67,5]");
    buf_free(&b);
}

static void test_printer_is_exact(void **state)
{
    static const struct {
        double v;
        const char *text;
    } nums[] = {
        {0, "0"},
        {4739282046471166.0, "4739282046471166"},
        {9007199254740992.0, "9007199254740992"},
        {-9007199254740992.0, "-9007199254740992"},
        {1e18, "1000000000000000000"},
        {0.1, "0.1"},
        {1.0 / 3, "0.3333333333333333"},
        {5e-324, "4.94065645841247e-324"},
        {0.30000000000000004, "0.30000000000000004"},
        {1e300, "1e+300"},
    };
    cJSON *o = cJSON_CreateObject();
    struct error err;
    char *out;
    size_t len;

    (void)state;
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        struct buf b;

        buf_init(&b, 64);
        assert_int_equal(wamp_json_write_number(&b, nums[i].v), 0);
        assert_string_equal(b.data, nums[i].text);
        buf_free(&b);
    }
    cJSON_AddItemToObject(o, "s", cJSON_CreateString("\x01\"\\/\xc3\xa9"));
    cJSON_AddItemToObject(o, "n", cJSON_CreateNumber(NAN));
    cJSON_AddItemToObject(o, "r", cJSON_CreateRaw("4739282046471166"));
    assert_int_equal(wamp_json_print(o, 8, 0, &out, &len, &err), 0);
    assert_string_equal(out,
                        "{\"s\":\"\\u0001\\\"\\\\/\xc3\xa9\",\"n\":null,\"r\":4739282046471166}");
    free(out);
    assert_int_equal(wamp_json_print(o, 8, WAMP_JSON_SPACED, &out, &len, &err), 0);
    assert_string_equal(
        out, "{\"s\": \"\\u0001\\\"\\\\/\xc3\xa9\", \"n\": null, \"r\": 4739282046471166}");
    free(out);
    cJSON_AddItemToObject(o, "bad", cJSON_CreateRaw("1 2"));
    assert_int_equal(wamp_json_print(o, 8, 0, &out, &len, &err), -EINVAL);
    cJSON_Delete(o);
    o = cJSON_CreateArray();
    cJSON_AddItemToArray(o, cJSON_CreateString("\xff"));
    assert_int_equal(wamp_json_print(o, 8, 0, &out, &len, &err), -EINVAL);
    cJSON_Delete(o);
}

static void test_check_and_tree_agree(void **state)
{
    static const char *const texts[] = {
        "0",
        "-0.5e+3",
        "\"\\ud83d\\ude00\"",
        "[]",
        "{}",
        " {\"a\" : [true , false , null] } ",
        "[1,[2,[3,{\"k\":\"v\"}]]]",
        "12345678901234567890",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct error err;
        char *out;
        size_t len;
        cJSON *t;

        assert_int_equal(wamp_json_check(texts[i], strlen(texts[i]), 8, &err), 0);
        t = wamp_json_tree(texts[i], strlen(texts[i]));
        assert_int_equal(wamp_json_print(t, 8, 0, &out, &len, &err), 0);
        assert_int_equal(wamp_json_check(out, len, 8, &err), 0);
        free(out);
        cJSON_Delete(t);
    }
}

static void test_close_frames(void **state)
{
    struct error err;
    char *out;
    size_t len;
    char cut[] = "bad key \xc3\xa9\xc3"; /* cut inside a sequence */

    (void)state;
    assert_int_equal(wamp_msg_close_frame(WAMP_ABORT, "wamp.error.protocol_violation",
                                          "message is not JSON: \"x\"", &out, &len, &err),
                     0);
    assert_string_equal(out, "[3,{\"message\":\"message is not JSON: \\\"x\\\"\"},"
                             "\"wamp.error.protocol_violation\"]");
    free(out);
    assert_int_equal(
        wamp_msg_close_frame(WAMP_GOODBYE, "wamp.close.system_shutdown", NULL, &out, &len, &err),
        0);
    assert_string_equal(out, "[6,{},\"wamp.close.system_shutdown\"]");
    free(out);
    assert_int_equal(wamp_msg_close_frame(WAMP_ABORT, "r", cut, &out, &len, &err), 0);
    assert_string_equal(out, "[3,{\"message\":\"bad key \xc3\xa9?\"},\"r\"]");
    free(out);
    assert_int_equal(wamp_msg_close_frame(WAMP_CALL, "r", NULL, &out, &len, &err), -EINVAL);
    assert_int_equal(wamp_msg_close_frame(WAMP_ABORT, NULL, NULL, &out, &len, &err), -EINVAL);
    wamp_utf8_sanitize(cut, strlen(cut));
    assert_string_equal(cut, "bad key \xc3\xa9?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type_parses_and_serialises),
        cmocka_unit_test(test_wrong_element_types_are_named),
        cmocka_unit_test(test_element_counts_are_checked),
        cmocka_unit_test(test_not_a_message),
        cmocka_unit_test(test_ids_at_their_limits),
        cmocka_unit_test(test_invalid_utf8_is_refused),
        cmocka_unit_test(test_escapes_decode_in_place),
        cmocka_unit_test(test_nesting_is_bounded),
        cmocka_unit_test(test_size_limit_at_and_past),
        cmocka_unit_test(test_cancel_and_interrupt_are_refused),
        cmocka_unit_test(test_hello_details_are_checked),
        cmocka_unit_test(test_fields_of_parsed_messages),
        cmocka_unit_test(test_builder_omits_empty_trailing_parts),
        cmocka_unit_test(test_builder_refuses_bad_input),
        cmocka_unit_test(test_write_restores_buffer_on_failure),
        cmocka_unit_test(test_printer_is_exact),
        cmocka_unit_test(test_check_and_tree_agree),
        cmocka_unit_test(test_close_frames),
    };

    xalloc_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
