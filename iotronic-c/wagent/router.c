/* wagent/router.c: which message a session may send in which state.
 *
 * One table, indexed by message code, names each message's handler and the
 * states in which a board may send it (board-protocol.md 3.1, 3.5, 4.4).
 * Anything else is a protocol violation that ends that session only: a
 * message before HELLO, a second HELLO, a router's own messages (WELCOME,
 * RESULT, INVOCATION, ...) sent by a board. The finer rules of 4.4 (what an
 * unbound session may call, which namespace a bound one may register) are
 * the handlers' business, answered with wamp.error.not_authorized. */
#include "wagent/internal.h"

#include "common/log.h"

#define ST(x) (1u << WAG_S_##x)
#define OPEN (ST(UNBOUND) | ST(BOUND))

typedef void (*wag_handler_fn)(struct wag_session *s, struct wamp_msg *m);

struct route {
    wag_handler_fn fn;
    unsigned states;
};

static void on_goodbye(struct wag_session *s, struct wamp_msg *m)
{
    (void)m;
    wag_session_goodbye(s, "wamp.close.goodbye_and_out");
}

static void on_abort(struct wag_session *s, struct wamp_msg *m)
{
    wag_session_close(s, 1000, m->message ? m->message : m->reason);
}

static const struct route routes[WAG_TYPE_MAX] = {
    [WAMP_HELLO] = {wag_login_hello, ST(HELLO)},
    [WAMP_AUTHENTICATE] = {wag_login_authenticate, ST(CHALLENGED)},
    [WAMP_ABORT] = {on_abort, ST(HELLO) | ST(AUTHWAIT) | ST(CHALLENGED) | OPEN},
    [WAMP_GOODBYE] = {on_goodbye, OPEN},
    [WAMP_ERROR] = {wag_dealer_error, OPEN},
    [WAMP_PUBLISH] = {wag_broker_publish, OPEN},
    [WAMP_SUBSCRIBE] = {wag_broker_subscribe, OPEN},
    [WAMP_UNSUBSCRIBE] = {wag_broker_unsubscribe, OPEN},
    [WAMP_CALL] = {wag_dealer_call, OPEN},
    [WAMP_REGISTER] = {wag_dealer_register, OPEN},
    [WAMP_UNREGISTER] = {wag_dealer_unregister, OPEN},
    [WAMP_YIELD] = {wag_dealer_yield, OPEN},
};

static void refuse(struct wag_session *s, const struct wamp_msg *m)
{
    const char *name = wamp_type_name(m->type);

    switch ((enum wag_state)s->state) {
    case WAG_S_HELLO:
        wag_session_violation(s, "expected HELLO, received %s", name);
        break;
    case WAG_S_AUTHWAIT:
        wag_session_violation(s, "%s received before the CHALLENGE", name);
        break;
    case WAG_S_CHALLENGED:
        wag_session_violation(s, "expected AUTHENTICATE, received %s", name);
        break;
    default:
        if (m->type == WAMP_HELLO || m->type == WAMP_AUTHENTICATE)
            wag_session_violation(s, "%s after the session was established", name);
        else
            wag_session_violation(s, "%s is not a message a board may send", name);
        break;
    }
}

void wag_router_message(struct wag_session *s, struct wamp_msg *m)
{
    const struct route *r = m->type < WAG_TYPE_MAX ? &routes[m->type] : NULL;

    if (!wag_session_live(s))
        return;
    if (r == NULL || r->fn == NULL || !(r->states & (1u << s->state))) {
        refuse(s, m);
        return;
    }
    r->fn(s, m);
}

void wag_count_out(struct wag *w, enum wamp_type t)
{
    if ((unsigned)t < WAG_TYPE_MAX && w->m.msg_out[t] != NULL)
        metrics_inc(w->m.msg_out[t]);
}
