/* libFuzzer target for the WAMP codec and everything that reads a peer's
 * frame: wamp/msg.h, wamp/json_strict.h, wamp/json_out.h, wamp/wampmsg.h,
 * wamp/uri.h and the client session machine.
 *
 * Beyond "no crash, no leak, no undefined behaviour", it holds the codec to
 * its promises (abort() marks a broken one):
 *   - a rejected frame always comes with an error message that an ABORT
 *     can carry;
 *   - what parses serialises, and the serialisation parses back to the same
 *     message and re-serialises byte for byte (raw parts);
 *   - the same with every part rebuilt as a cJSON tree and printed by the
 *     exact printer: reparsing and reprinting is a fixed point;
 *   - the WampMessage readers and the session accept or refuse, never more. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "wamp/json_out.h"
#include "wamp/json_strict.h"
#include "wamp/msg.h"
#include "wamp/session.h"
#include "wamp/uri.h"
#include "wamp/wampmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_wamp_msg: broken promise: %s\n", what);
        abort();
    }
}

static int same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void same_fields(const struct wamp_msg *a, const struct wamp_msg *b)
{
    check(a->type == b->type && a->req_type == b->req_type, "type survives");
    check(a->request == b->request && a->session == b->session &&
              a->registration == b->registration && a->subscription == b->subscription &&
              a->publication == b->publication,
          "ids survive");
    check(same_str(a->uri, b->uri), "string element survives");
    check(a->authmethods == b->authmethods && same_str(a->authid, b->authid) &&
              same_str(a->message, b->message),
          "HELLO/ABORT details survive");
}

/* Serialises m, which must work, and checks the round trip; returns the text. */
static char *roundtrip_raw(struct wamp_msg *m)
{
    struct wamp_msg *m2 = NULL;
    struct error err;
    char *s1, *s2;
    size_t n1, n2;

    check(wamp_msg_serialize(m, &s1, &n1, &err) == 0, "a parsed message serialises");
    check(n1 <= WAMP_MSG_MAX, "serialisation within the limit");
    check(wamp_msg_parse(s1, n1, &m2, &err) == 0, "a serialisation parses");
    same_fields(m, m2);
    check(wamp_msg_serialize(m2, &s2, &n2, &err) == 0, "reserialises");
    check(n1 == n2 && memcmp(s1, s2, n1) == 0, "serialisation is a fixed point");
    free(s2);
    wamp_msg_free(m2);
    return s1;
}

/* m with its parts given as trees. */
static struct wamp_msg with_trees(struct wamp_msg *m)
{
    struct wamp_msg t = *m;

    t.parsed_ = 0;
    t.details = WAMP_PART_TREE(wamp_msg_details(m));
    t.args = WAMP_PART_TREE(wamp_msg_args(m));
    t.kwargs = WAMP_PART_TREE(wamp_msg_kwargs(m));
    return t;
}

static void roundtrip_trees(struct wamp_msg *m)
{
    struct wamp_msg t = with_trees(m), t2;
    struct wamp_msg *m2 = NULL;
    struct error err;
    char *s1, *s2;
    size_t n1, n2;
    int rc = wamp_msg_serialize(&t, &s1, &n1, &err);

    /* Exact printing may lengthen numbers (1e22 -> 1e+22): only the limit may stop it. */
    check(rc == 0 || rc == -EMSGSIZE, "trees serialise");
    if (rc < 0)
        return;
    check(wamp_msg_parse(s1, n1, &m2, &err) == 0, "printed trees parse");
    same_fields(m, m2);
    t2 = with_trees(m2);
    check(wamp_msg_serialize(&t2, &s2, &n2, &err) == 0, "reprinted trees serialise");
    check(n1 == n2 && memcmp(s1, s2, n1) == 0, "printing trees is a fixed point");
    free(s1);
    free(s2);
    wamp_msg_free(m2);
}

static void envelopes(struct wamp_msg *m)
{
    struct wamp_wampmsg wm;
    struct error err;

    if (m->type == WAMP_YIELD || m->type == WAMP_RESULT) {
        if (wamp_wampmsg_from_yield(m, &wm, &err) == 0)
            check(wm.message != NULL && wamp_result_str(wm.result) != NULL, "envelope filled");
        else
            check(wm.message == NULL && err.msg[0] != '\0', "envelope refusal explained");
        wamp_wampmsg_clear(&wm);
    }
    if (m->type == WAMP_ERROR) {
        wamp_wampmsg_from_error(m, &wm);
        check(wm.result == WAMP_RESULT_ERROR && cJSON_IsString(wm.message), "error envelope");
        wamp_wampmsg_clear(&wm);
    }
}

static void names(const char *s)
{
    struct wamp_board_proc p;
    struct wamp_callee_name c;
    char uuid[UUID_STR_LEN];
    struct error err;

    if (wamp_uri_check(s, &err) < 0)
        return;
    if (wamp_board_proc_parse(s, &p, &err) == 0) {
        char back[WAMP_URI_MAX + 1];

        check(wamp_board_proc_build(p.session, p.uuid, p.method, back, &err) > 0 &&
                  strcmp(back, s) == 0,
              "board procedure names round-trip");
    }
    if (wamp_callee_parse(s, &c) == 0)
        check(strcmp(c.name, wamp_callee_str(c.id)) == 0, "callee name");
    (void)wamp_board_topic_parse(s, uuid);
}

struct fuzz_owner {
    struct wamp_session *s;
};

static void session_send(void *owner, char *frame, size_t len)
{
    struct error err;
    struct wamp_msg *m = NULL;

    (void)owner;
    check(wamp_msg_parse(frame, len, &m, &err) == 0, "the session sends valid frames");
    wamp_msg_free(m);
    free(frame);
}

static void session_event(void *owner, const struct wamp_event *ev)
{
    struct fuzz_owner *w = owner;
    char line[256];
    struct error err;

    wamp_event_format(ev, line, sizeof(line));
    /* The reactions an owner has inside its callbacks. */
    if (ev->type == WAMP_EV_CHALLENGE)
        (void)wamp_session_authenticate(w->s, ev->text, ev->text_len, "k", 1, &err);
    if (ev->type == WAMP_EV_INVOCATION)
        (void)wamp_session_yield_text(w->s, ev->request, "{}", 2, &err);
}

static const struct wamp_session_ops fuzz_ops = {session_send, session_event};

static void feed_ok(struct wamp_session *s, const char *frame)
{
    check(wamp_session_feed(s, frame, strlen(frame)) == 0, "setup frame accepted");
}

/* Feeds the input to a session waiting for WELCOME (CRA) and to one that is
 * established with a call, a registration and a subscription (id 1 each). */
static void sessions(const char *data, size_t size)
{
    struct fuzz_owner a = {0}, b = {0};
    struct error err;

    a.s = wamp_session_new(&fuzz_ops, &a, 0);
    check(wamp_session_hello(a.s, "s4t", "board", &err) == 0, "hello");
    (void)wamp_session_feed(a.s, data, size);
    wamp_session_free(a.s);

    b.s = wamp_session_new(&fuzz_ops, &b, 0);
    check(wamp_session_hello(b.s, "s4t", NULL, &err) == 0, "hello");
    feed_ok(b.s, "[2,7,{\"roles\":{\"dealer\":{}}}]");
    check(wamp_session_call(b.s, "a.b", WAMP_PART_NONE, WAMP_PART_NONE, NULL, NULL, &err) == 0 &&
              wamp_session_register(b.s, "a.c", NULL, NULL, &err) == 0 &&
              wamp_session_subscribe(b.s, "a.d", NULL, NULL, &err) == 0 &&
              wamp_session_register(b.s, "a.e", NULL, NULL, &err) == 0,
          "requests");
    feed_ok(b.s, "[65,2,1]");
    feed_ok(b.s, "[33,3,1]");
    (void)wamp_session_feed(b.s, data, size);
    wamp_session_disconnected(b.s);
    check(wamp_session_pending(b.s) == 0, "closing empties the pending table");
    wamp_session_free(b.s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct wamp_msg *m = NULL;
    struct wamp_wampmsg wm;
    struct error err = {0};
    char *s, *z;
    size_t n;
    int rc;

    rc = wamp_msg_parse(text, size, &m, &err);
    if (rc == 0) {
        s = roundtrip_raw(m);
        free(s);
        roundtrip_trees(m);
        envelopes(m);
        wamp_msg_free(m);
    } else {
        check(m == NULL, "no message on failure");
        check(rc == -EPROTO || rc == -EOPNOTSUPP || rc == -EMSGSIZE, "documented errors only");
        check(err.code == rc && err.msg[0] != '\0', "a refusal says why");
        /* ...in a text that an ABORT can always carry. */
        check(wamp_msg_close_frame(WAMP_ABORT, "wamp.error.protocol_violation", err.msg, &s, &n,
                                   NULL) == 0,
              "the refusal fits an ABORT");
        free(s);
    }
    if (wamp_wampmsg_parse(text, size, &wm, &err) == 0)
        check(wm.message != NULL, "WampMessage filled");
    wamp_wampmsg_clear(&wm);
    z = xstrndup(text, size); /* stops at an embedded NUL, as a C caller would */
    names(z);
    free(z);
    sessions(text, size);
    return 0;
}
