/* Unit tests for wamp/session.h: the client state machine driven with the
 * frames of board-protocol.md 13 and with everything a router must not
 * send. The owner below records every frame sent and every event (with the
 * cookie and payload), and can answer CHALLENGE and INVOCATION from inside
 * its callback, as lightning-rod-c does. */
#include <errno.h>
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
#include "wamp/session.h"

#define SECRET "Vq3T0n5xQm6b2wYk8rJdZ1pLcF7hEsUa4NgRiO9tKyA"
#define UUID "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52"
#define SESSION "4739282046471166"
#define HELLO_ROLES                                                                                \
    "{\"caller\":{\"features\":{\"caller_identification\":true}},"                                 \
    "\"callee\":{\"features\":{\"caller_identification\":true}},"                                  \
    "\"publisher\":{\"features\":{\"publisher_exclusion\":true}},"                                 \
    "\"subscriber\":{\"features\":{\"publisher_identification\":true}}}"
#define WELCOME "[2," SESSION ",{\"roles\":{\"dealer\":{\"features\":{}},\"broker\":{}}}]"
#define CHALLENGE_FRAME                                                                            \
    "[4,\"wampcra\",{\"challenge\":\"{\\\"authid\\\":\\\"" UUID "\\\",\\\"authrole\\\":"           \
    "\\\"board\\\",\\\"authmethod\\\":\\\"wampcra\\\",\\\"authprovider\\\":\\\"iotronic\\\","      \
    "\\\"nonce\\\":\\\"kY2x0NqT3mZ8vR1wC5hJ9a\\\",\\\"timestamp\\\":"                              \
    "\\\"2026-11-23T18:02:11.204Z\\\",\\\"session\\\":" SESSION "}\"}]"

#define MAX_LOG 64

struct owner {
    struct wamp_session *s;
    char *sent[MAX_LOG];
    size_t nsent;
    char events[MAX_LOG][600];
    void *cookies[MAX_LOG];
    size_t nev;
    int answer_challenge; /* authenticate from the CHALLENGE callback */
    int yield;            /* answer INVOCATION from its callback */
};

static void on_send(void *o, char *frame, size_t len)
{
    struct owner *w = o;

    assert_int_equal(strlen(frame), len);
    assert_true(w->nsent < MAX_LOG);
    w->sent[w->nsent++] = frame;
}

/* The event line, then " args=<json>" and " kwargs=<json>" when present. */
static void record(struct owner *w, const struct wamp_event *ev)
{
    char *line = w->events[w->nev];
    size_t n;

    wamp_event_format(ev, line, 400);
    n = strlen(line);
    if (ev->msg != NULL && ev->type != WAMP_EV_CHALLENGE) {
        const cJSON *parts[] = {wamp_msg_args(ev->msg), wamp_msg_kwargs(ev->msg)};
        const char *names[] = {"args", "kwargs"};

        for (int i = 0; i < 2; i++) {
            char *text;
            size_t len;
            struct error err;

            if (parts[i] == NULL)
                continue;
            assert_int_equal(wamp_json_print(parts[i], 64, 0, &text, &len, &err), 0);
            n += (size_t)snprintf(line + n, 600 - n, " %s=%s", names[i], text);
            free(text);
        }
    }
    w->cookies[w->nev++] = ev->cookie;
}

static void on_event(void *o, const struct wamp_event *ev)
{
    struct owner *w = o;
    struct error err;

    assert_true(w->nev < MAX_LOG);
    record(w, ev);
    if (ev->type == WAMP_EV_CHALLENGE && w->answer_challenge)
        assert_int_equal(
            wamp_session_authenticate(w->s, ev->text, ev->text_len, SECRET, strlen(SECRET), &err),
            0);
    if (ev->type == WAMP_EV_INVOCATION && w->yield) {
        const char *reply = "{\"message\": \"pong\", \"result\": \"SUCCESS\"}";

        assert_int_equal(wamp_session_yield_text(w->s, ev->request, reply, strlen(reply), &err), 0);
    }
}

static const struct wamp_session_ops ops = {on_send, on_event};

static int setup(void **state)
{
    struct owner *w = xcalloc(1, sizeof(*w));

    w->s = wamp_session_new(&ops, w, 0);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct owner *w = *state;

    for (size_t i = 0; i < w->nsent; i++)
        free(w->sent[i]);
    wamp_session_free(w->s);
    free(w);
    return 0;
}

static void feed(struct owner *w, const char *frame, int rc)
{
    int got = wamp_session_feed(w->s, frame, strlen(frame));

    if (got != rc)
        fail_msg("feeding %s: %d, want %d", frame, got, rc);
}

static void sent(struct owner *w, size_t i, const char *frame)
{
    if (i >= w->nsent)
        fail_msg("frame %zu not sent; want %s", i, frame);
    if (strcmp(w->sent[i], frame) != 0)
        fail_msg("frame %zu:\n  got  %s\n  want %s", i, w->sent[i], frame);
}

static void event(struct owner *w, size_t i, const char *line)
{
    if (i >= w->nev)
        fail_msg("event %zu missing; want %s", i, line);
    if (strcmp(w->events[i], line) != 0)
        fail_msg("event %zu:\n  got  %s\n  want %s", i, w->events[i], line);
}

static void welcome(struct owner *w)
{
    struct error err;

    assert_int_equal(wamp_session_hello(w->s, "s4t", NULL, &err), 0);
    feed(w, WELCOME, 0);
    assert_int_equal(wamp_session_state(w->s), WAMP_SESSION_ESTABLISHED);
}

static void test_anonymous_welcome(void **state)
{
    struct owner *w = *state;
    struct error err;

    assert_int_equal(wamp_session_state(w->s), WAMP_SESSION_INIT);
    assert_int_equal(wamp_session_hello(w->s, "s4t", NULL, &err), 0);
    sent(w, 0, "[1,\"s4t\",{\"roles\":" HELLO_ROLES "}]");
    assert_int_equal(wamp_session_state(w->s), WAMP_SESSION_HELLO_SENT);
    assert_int_equal(wamp_session_hello(w->s, "s4t", NULL, &err), -EALREADY);
    /* The take variant: the session owns the frame, in every case. */
    assert_int_equal(wamp_session_feed_take(w->s, xstrdup(WELCOME), strlen(WELCOME)), 0);
    event(w, 0, "WELCOME id=" SESSION);
    assert_true(wamp_session_id(w->s) == 4739282046471166ULL);
    assert_int_equal(w->nsent, 1);
    assert_int_equal(wamp_session_feed_take(w->s, xstrdup("[50,1"), 5), -EPROTO);
    assert_int_equal(wamp_session_feed_take(w->s, xstrdup("[50,1,{}]"), 9), -EPIPE);
}

static void test_cra_challenge_authenticate_welcome(void **state)
{
    struct owner *w = *state;
    struct error err;

    w->answer_challenge = 1;
    assert_int_equal(wamp_session_hello(w->s, "s4t", UUID, &err), 0);
    sent(w, 0,
         "[1,\"s4t\",{\"roles\":" HELLO_ROLES ",\"authmethods\":[\"wampcra\"],\"authid\":\"" UUID
         "\"}]");
    feed(w, CHALLENGE_FRAME, 0);
    assert_non_null(strstr(w->events[0], "CHALLENGE uri=wampcra text={\"authid\":\"" UUID "\""));
    sent(w, 1, "[5,\"xPYYDMKKleGD/sUwwtb5stSRjcbp06SUi3BbWog2T5I=\",{}]");
    assert_int_equal(wamp_session_state(w->s), WAMP_SESSION_AUTH_SENT);
    feed(w,
         "[2," SESSION ",{\"roles\":{\"dealer\":{}},\"authid\":\"" UUID "\",\"authrole\":\"board\","
         "\"authmethod\":\"wampcra\"}]",
         0);
    event(w, 1, "WELCOME id=" SESSION);
    assert_int_equal(wamp_session_state(w->s), WAMP_SESSION_ESTABLISHED);
}

static void test_cra_refused_with_abort(void **state)
{
    struct owner *w = *state;
    struct error err;

    w->answer_challenge = 1;
    assert_int_equal(wamp_session_hello(w->s, "s4t", UUID, &err), 0);
    feed(w, CHALLENGE_FRAME, 0);
    feed(w, "[3,{\"message\":\"Authentication failed.\"},\"wamp.error.authentication_failed\"]", 0);
    event(w, 1, "ABORT uri=wamp.error.authentication_failed text=Authentication failed.");
    assert_int_equal(wamp_session_state(w->s), WAMP_SESSION_CLOSED);
    feed(w, WELCOME, -EPIPE);
    assert_int_equal(w->nsent, 2); /* HELLO, AUTHENTICATE: nothing answers an ABORT */
    assert_int_equal(wamp_session_authenticate(w->s, "x", 1, SECRET, 1, &err), -EPROTO);
}

static void test_call_result_and_error(void **state)
{
    struct owner *w = *state;
    cJSON *kw = cJSON_CreateObject();
    uint64_t r1, r2, r3;
    struct error err;
    int c1, c2, c3;

    welcome(w);
    cJSON_AddItemToObject(kw, "uuid", cJSON_CreateString(UUID));
    cJSON_AddItemToObject(kw, "session", cJSON_CreateNumber(4739282046471166.0));
    assert_int_equal(wamp_session_call(w->s, "wagent-1.stack4things.connection", WAMP_PART_NONE,
                                       WAMP_PART_TREE(kw), &c1, &r1, &err),
                     0);
    sent(w, 1,
         "[48,1,{},\"wagent-1.stack4things.connection\",[],{\"uuid\":\"" UUID
         "\",\"session\":" SESSION "}]");
    assert_int_equal(wamp_session_call(w->s, "stack4things.register",
                                       WAMP_PART_JSON("[\"A7K2\"]", 8), WAMP_PART_NONE, &c2, &r2,
                                       &err),
                     0);
    sent(w, 2, "[48,2,{},\"stack4things.register\",[\"A7K2\"]]");
    assert_int_equal(wamp_session_call(w->s, "a.stack4things.alive", WAMP_PART_NONE, WAMP_PART_NONE,
                                       &c3, &r3, &err),
                     0);
    assert_true(r1 == 1 && r2 == 2 && r3 == 3);
    assert_int_equal(wamp_session_pending(w->s), 3);
    feed(w, "[50,2,{},[\"{\\\"message\\\": \\\"\\\", \\\"result\\\": \\\"SUCCESS\\\"}\"]]", 0);
    event(
        w, 1,
        "RESULT request=2 args=[\"{\\\"message\\\": \\\"\\\", \\\"result\\\": \\\"SUCCESS\\\"}\"]");
    assert_ptr_equal(w->cookies[1], &c2);
    feed(w, "[8,48,1,{},\"wamp.error.not_authorized\",[\"no\"]]", 0);
    event(w, 2, "ERROR req_type=CALL request=1 uri=wamp.error.not_authorized args=[\"no\"]");
    assert_ptr_equal(w->cookies[2], &c1);
    /* Replies to nothing pending, or of the wrong kind, are ignored. */
    feed(w, "[50,1,{}]", 0);
    feed(w, "[8,64,3,{},\"wamp.error.x\"]", 0);
    feed(w, "[65,3,77]", 0);
    assert_int_equal(w->nev, 3);
    assert_int_equal(wamp_session_pending(w->s), 1);
    feed(w, "[50,3,{},[\"Iotronic alive @ x\"],{\"k\":9007199254740992}]", 0);
    event(w, 3, "RESULT request=3 args=[\"Iotronic alive @ x\"] kwargs={\"k\":9007199254740992}");
    assert_int_equal(wamp_session_pending(w->s), 0);
    cJSON_Delete(kw);
}

static void test_register_invocation_yield(void **state)
{
    struct owner *w = *state;
    const char *proc = "iotronic." SESSION "." UUID ".DevicePing";
    uint64_t req;
    struct error err;
    int h1;

    welcome(w);
    w->yield = 1;
    assert_int_equal(wamp_session_register(w->s, proc, &h1, &req, &err), 0);
    sent(w, 1, "[64,1,{},\"iotronic." SESSION "." UUID ".DevicePing\"]");
    feed(w, "[65,1,5170339201412113]", 0);
    event(w, 1, "REGISTERED request=1 id=5170339201412113");
    assert_ptr_equal(w->cookies[1], &h1);
    assert_int_equal(wamp_session_registrations(w->s), 1);
    feed(w,
         "[68,1,5170339201412113,{},[{\"uuid\":\"0e7c\",\"main_request_uuid\":null,"
         "\"action\":\"DevicePing\"}]]",
         0);
    event(w, 2,
          "INVOCATION request=1 id=5170339201412113 args=[{\"uuid\":\"0e7c\","
          "\"main_request_uuid\":null,\"action\":\"DevicePing\"}]");
    assert_ptr_equal(w->cookies[2], &h1);
    sent(w, 2, "[70,1,{},[\"{\\\"message\\\": \\\"pong\\\", \\\"result\\\": \\\"SUCCESS\\\"}\"]]");
    /* An invocation of a registration we do not hold is refused for us. */
    feed(w, "[68,2,42,{},[]]", 0);
    sent(w, 3, "[8,68,2,{},\"wamp.error.no_such_registration\"]");
    assert_int_equal(w->nev, 3);
    assert_int_equal(
        wamp_session_invocation_error(w->s, 9, "wamp.error.runtime_error", "boom", &err), 0);
    sent(w, 4, "[8,68,9,{},\"wamp.error.runtime_error\",[\"boom\"]]");
    assert_int_equal(wamp_session_unregister(w->s, 42, &req, &err), -ENOENT);
    assert_int_equal(wamp_session_unregister(w->s, 5170339201412113ULL, &req, &err), 0);
    sent(w, 5, "[66,2,5170339201412113]");
    feed(w, "[67,2]", 0);
    event(w, 3, "UNREGISTERED request=2 id=5170339201412113");
    assert_ptr_equal(w->cookies[3], &h1);
    assert_int_equal(wamp_session_registrations(w->s), 0);
}

static void test_subscribe_event_publish(void **state)
{
    struct owner *w = *state;
    const char *topic = "iotronic.board." UUID ".temp";
    uint64_t req;
    struct error err;
    int h, c;

    welcome(w);
    assert_int_equal(wamp_session_subscribe(w->s, topic, &h, &req, &err), 0);
    sent(w, 1, "[32,1,{},\"iotronic.board." UUID ".temp\"]");
    feed(w, "[33,1,88]", 0);
    event(w, 1, "SUBSCRIBED request=1 id=88");
    feed(w, "[36,88,99,{},[21.5]]", 0);
    event(w, 2, "EVENT id=88 publication=99 args=[21.5]");
    assert_ptr_equal(w->cookies[2], &h);
    feed(w, "[36,87,99,{},[21.5]]", 0); /* not ours: ignored */
    assert_int_equal(wamp_session_publish(w->s, topic, WAMP_PART_JSON("[1]", 3), WAMP_PART_NONE, 0,
                                          NULL, &req, &err),
                     0);
    sent(w, 2, "[16,2,{},\"iotronic.board." UUID ".temp\",[1]]");
    assert_int_equal(wamp_session_pending(w->s), 0);
    assert_int_equal(wamp_session_publish(w->s, topic, WAMP_PART_NONE,
                                          WAMP_PART_JSON("{\"a\":1}", 7), 1, &c, &req, &err),
                     0);
    sent(w, 3, "[16,3,{\"acknowledge\":true},\"iotronic.board." UUID ".temp\",[],{\"a\":1}]");
    feed(w, "[17,3,1234]", 0);
    event(w, 3, "PUBLISHED request=3 id=1234");
    assert_ptr_equal(w->cookies[3], &c);
    assert_int_equal(wamp_session_unsubscribe(w->s, 88, &req, &err), 0);
    sent(w, 4, "[34,4,88]");
    feed(w, "[35,4]", 0);
    event(w, 4, "UNSUBSCRIBED request=4 id=88");
    feed(w, "[36,88,100,{}]", 0);
    assert_int_equal(w->nev, 5);
}

static void test_router_goodbye_cancels_pending(void **state)
{
    struct owner *w = *state;
    struct error err;
    int c1, c2;

    welcome(w);
    assert_int_equal(
        wamp_session_call(w->s, "a.b", WAMP_PART_NONE, WAMP_PART_NONE, &c1, NULL, &err), 0);
    assert_int_equal(wamp_session_register(w->s, "a.c", &c2, NULL, &err), 0);
    feed(w, "[6,{\"message\":\"bye\"},\"wamp.close.system_shutdown\"]", 0);
    sent(w, 3, "[6,{},\"wamp.close.goodbye_and_out\"]");
    event(w, 1, "ERROR local req_type=CALL request=1 uri=wamp.error.canceled");
    assert_ptr_equal(w->cookies[1], &c1);
    event(w, 2, "ERROR local req_type=REGISTER request=2 uri=wamp.error.canceled");
    assert_ptr_equal(w->cookies[2], &c2);
    event(w, 3, "GOODBYE uri=wamp.close.system_shutdown text=bye");
    assert_int_equal(wamp_session_state(w->s), WAMP_SESSION_CLOSED);
    assert_int_equal(
        wamp_session_call(w->s, "a.b", WAMP_PART_NONE, WAMP_PART_NONE, NULL, NULL, &err),
        -ENOTCONN);
}

static void test_our_goodbye(void **state)
{
    struct owner *w = *state;
    struct error err;

    welcome(w);
    assert_int_equal(wamp_session_goodbye(w->s, NULL, &err), 0);
    sent(w, 1, "[6,{},\"wamp.close.close_realm\"]");
    assert_int_equal(wamp_session_state(w->s), WAMP_SESSION_CLOSING);
    assert_int_equal(wamp_session_goodbye(w->s, NULL, &err), -ENOTCONN);
    feed(w, "[68,1,5,{}]", 0); /* ignored while closing */
    feed(w, "[6,{},\"wamp.close.goodbye_and_out\"]", 0);
    event(w, 1, "GOODBYE uri=wamp.close.goodbye_and_out");
    assert_int_equal(w->nsent, 2); /* the router's GOODBYE is not answered */
    assert_int_equal(wamp_session_state(w->s), WAMP_SESSION_CLOSED);
}

static void test_disconnect_and_forget(void **state)
{
    struct owner *w = *state;
    struct error err;
    uint64_t r1, r2;
    int c1, c2;

    welcome(w);
    assert_int_equal(wamp_session_call(w->s, "a.b", WAMP_PART_NONE, WAMP_PART_NONE, &c1, &r1, &err),
                     0);
    assert_int_equal(wamp_session_call(w->s, "a.b", WAMP_PART_NONE, WAMP_PART_NONE, &c2, &r2, &err),
                     0);
    assert_ptr_equal(wamp_session_forget(w->s, r1), &c1);
    assert_null(wamp_session_forget(w->s, r1));
    feed(w, "[50,1,{}]", 0); /* late: ignored */
    assert_int_equal(w->nev, 1);
    /* Ids are never reused while pending, and count on after a forget. */
    assert_int_equal(
        wamp_session_call(w->s, "a.b", WAMP_PART_NONE, WAMP_PART_NONE, NULL, &r1, &err), 0);
    assert_int_equal(r1, 3);
    wamp_session_disconnected(w->s);
    event(w, 1, "ERROR local req_type=CALL request=2 uri=wamp.error.canceled");
    assert_ptr_equal(w->cookies[1], &c2);
    event(w, 2, "ERROR local req_type=CALL request=3 uri=wamp.error.canceled");
    assert_int_equal(w->nev, 3);
    wamp_session_disconnected(w->s); /* once only */
    assert_int_equal(w->nev, 3);
    feed(w, "[50,2,{}]", -EPIPE);
}

/* Everything a router may not send: ABORT protocol_violation, then closed. */
static void test_protocol_violations(void **state)
{
    static const struct {
        const char *before; /* "" none, "hello", "cra" (HELLO with authid), "welcome" */
        const char *frame;
        int rc;
        const char *text;
    } cases[] = {
        {"", WELCOME, -EPROTO, "WELCOME before HELLO"},
        {"hello", "[50,1,{}]", -EPROTO, "RESULT before WELCOME"},
        {"hello", "[6,{},\"wamp.close.x\"]", -EPROTO, "GOODBYE before WELCOME"},
        {"hello", CHALLENGE_FRAME, -EPROTO, "CHALLENGE for a method not offered"},
        {"hello", "[2,0,{\"roles\":{\"dealer\":{}}}]", -EPROTO,
         "WELCOME: Session must be in [1, 2^53]"},
        {"cra", "[4,\"ticket\",{}]", -EPROTO, "CHALLENGE for a method not offered"},
        {"cra", "[4,\"wampcra\",{}]", -EPROTO, "CHALLENGE: Extra.challenge must be a string"},
        {"welcome", WELCOME, -EPROTO, "WELCOME after the session was established"},
        {"welcome", CHALLENGE_FRAME, -EPROTO, "CHALLENGE after the session was established"},
        {"welcome", "[48,1,{},\"a.b\"]", -EPROTO, "CALL is not a message a router sends"},
        {"welcome", "[1,\"s4t\",{\"roles\":{\"dealer\":{}}}]", -EPROTO,
         "HELLO is not a message a router sends"},
        {"welcome", "[70,1,{}]", -EPROTO, "YIELD is not a message a router sends"},
        {"welcome", "not json", -EPROTO, "message is not JSON"},
        {"welcome", "[69,1,{}]", -EOPNOTSUPP, "INTERRUPT is not supported"},
        {"welcome", "[50,\"1\",{}]", -EPROTO, "RESULT: Request must be an integer, not a string"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct owner *w;
        struct error err;
        char want[600];
        size_t base;

        setup((void **)&w);
        if (strcmp(cases[i].before, "hello") == 0)
            assert_int_equal(wamp_session_hello(w->s, "s4t", NULL, &err), 0);
        if (strcmp(cases[i].before, "cra") == 0)
            assert_int_equal(wamp_session_hello(w->s, "s4t", UUID, &err), 0);
        if (strcmp(cases[i].before, "welcome") == 0)
            welcome(w);
        base = w->nev;
        feed(w, cases[i].frame, cases[i].rc);
        assert_int_equal(wamp_session_state(w->s), WAMP_SESSION_CLOSED);
        snprintf(want, sizeof(want), "ABORT local uri=wamp.error.protocol_violation text=%s",
                 cases[i].text);
        if (strncmp(w->events[base], want, strlen(want)) != 0)
            fail_msg("case %zu: event \"%s\", want \"%s\"", i, w->events[base], want);
        assert_non_null(strstr(w->sent[w->nsent - 1], "[3,{\"message\":\""));
        assert_non_null(strstr(w->sent[w->nsent - 1], "\"},\"wamp.error.protocol_violation\"]"));
        teardown((void **)&w);
        (void)state;
    }
}

static void test_frame_size_limit(void **state)
{
    struct owner *w = xcalloc(1, sizeof(*w));
    char frame[66];
    struct error err;

    (void)state;
    /* [50,1,{},["xxx...x"]] of exactly 65 bytes */
    memset(frame, 'x', 65);
    memcpy(frame, "[50,1,{},[\"", 11);
    memcpy(frame + 62, "\"]]", 3);
    frame[65] = '\0';
    w->s = wamp_session_new(&ops, w, 64);
    assert_int_equal(wamp_session_hello(w->s, "s4t", NULL, &err), 0);
    feed(w, "[2,1,{\"roles\":{\"dealer\":{}}}]", 0);
    feed(w, frame, -EMSGSIZE);
    event(w, 1,
          "ABORT local uri=wamp.error.protocol_violation text=message of 65 bytes exceeds the "
          "limit of 64 bytes");
    teardown((void **)&w);
}

static void test_helpers_refuse_bad_input(void **state)
{
    struct owner *w = *state;
    struct error err;

    assert_int_equal(
        wamp_session_call(w->s, "a.b", WAMP_PART_NONE, WAMP_PART_NONE, NULL, NULL, &err),
        -ENOTCONN);
    assert_int_equal(wamp_session_hello(w->s, "bad realm", NULL, &err), -EINVAL);
    assert_int_equal(wamp_session_hello(w->s, "s4t", "\xff", &err), -EINVAL);
    assert_int_equal(wamp_session_state(w->s), WAMP_SESSION_INIT);
    welcome(w);
    assert_int_equal(
        wamp_session_call(w->s, "a..b", WAMP_PART_NONE, WAMP_PART_NONE, NULL, NULL, &err), -EINVAL);
    assert_string_equal(err.msg, "CALL procedure: URI has an empty component at byte 2");
    assert_int_equal(
        wamp_session_call(w->s, NULL, WAMP_PART_NONE, WAMP_PART_NONE, NULL, NULL, &err), -EINVAL);
    assert_int_equal(
        wamp_session_call(w->s, "a.b", WAMP_PART_JSON("{}", 2), WAMP_PART_NONE, NULL, NULL, &err),
        -EINVAL);
    assert_int_equal(wamp_session_register(w->s, "a#b", NULL, NULL, &err), -EINVAL);
    assert_int_equal(wamp_session_subscribe(w->s, "", NULL, NULL, &err), -EINVAL);
    assert_int_equal(wamp_session_goodbye(w->s, "x y", &err), -EINVAL);
    assert_int_equal(wamp_session_pending(w->s), 0);
    assert_int_equal(w->nsent, 1); /* only the HELLO */
}

static void test_pending_limit_and_footprint(void **state)
{
    struct owner *w = *state;
    struct error err;
    size_t base;

    welcome(w);
    base = wamp_session_footprint(w->s);
    assert_true(base <= 128);
    for (int i = 0; i < 30; i++)
        assert_int_equal(wamp_session_register(w->s, "a.b", NULL, NULL, &err), 0);
    for (int i = 0; i < 30; i++) {
        char frame[64];

        snprintf(frame, sizeof(frame), "[65,%d,%d]", i + 1, 1000 + i);
        feed(w, frame, 0);
    }
    assert_int_equal(wamp_session_registrations(w->s), 30);
    /* 30 registrations cost 32 entries of 16 bytes; the pending table is gone. */
    assert_int_equal(wamp_session_footprint(w->s), base + 32 * 16);
    for (size_t i = 0; i < w->nsent; i++)
        free(w->sent[i]);
    w->nsent = 0;
    w->nev = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_anonymous_welcome, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cra_challenge_authenticate_welcome, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cra_refused_with_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_result_and_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_invocation_yield, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscribe_event_publish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_goodbye_cancels_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_our_goodbye, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disconnect_and_forget, setup, teardown),
        cmocka_unit_test(test_protocol_violations),
        cmocka_unit_test(test_frame_size_limit),
        cmocka_unit_test_setup_teardown(test_helpers_refuse_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_limit_and_footprint, setup, teardown),
    };

    xalloc_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
