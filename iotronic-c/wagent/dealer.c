/* wagent/dealer.c: the dealer role (board-protocol.md 3, 4.4, 5, 6).
 *
 * CALLs from boards go only to the cloud callees answered inside the wagent
 * (the callee table below says who may call what); a board procedure is
 * never callable by a session, so no board can reach another. REGISTERs are
 * accepted only in the caller's own namespace iotronic.<own session>.<own
 * board>.<Method>, each registration held by its session; the cloud's calls
 * find them through the board table (invoke.c). YIELD and ERROR answer the
 * wagent's INVOCATIONs; an answer to an invocation that timed out is dropped,
 * one to an invocation never sent is a protocol violation. */
#include "wagent/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "wamp/uri.h"

#define ST(x) (1u << WAG_S_##x)

struct callee {
    enum wamp_callee id;
    unsigned states;
    void (*fn)(struct wag_session *s, struct wamp_msg *m);
};

/* Who may call which callee (4.4): an unbound session only what binds it
 * or tests the link; the rest is about the bound board. */
static const struct callee callees[] = {
    {WAMP_CALLEE_REGISTER, ST(UNBOUND), wag_callee_register},
    {WAMP_CALLEE_CONNECTION, ST(UNBOUND) | ST(BOUND), wag_callee_connection},
    {WAMP_CALLEE_ECHO, ST(UNBOUND) | ST(BOUND), wag_callee_echo},
    {WAMP_CALLEE_ALIVE, ST(UNBOUND) | ST(BOUND), wag_callee_alive},
    {WAMP_CALLEE_WAMP_ALIVE, ST(BOUND), wag_callee_wamp_alive},
    {WAMP_CALLEE_NOTIFY_RESULT, ST(BOUND), wag_callee_notify_result},
    {WAMP_CALLEE_FUNCTION_RESULT, ST(BOUND), wag_callee_function_result},
    {WAMP_CALLEE_EVENT, ST(BOUND), wag_callee_event},
};

static const struct callee *find_callee(const struct wag *w, const char *uri)
{
    struct wamp_callee_name cn;

    if (wamp_callee_parse(uri, &cn) < 0)
        return NULL;
    /* stack4things.register has no prefix and lives on registration
     * wagents only (5). */
    if (cn.id == WAMP_CALLEE_REGISTER && (cn.agent != NULL || !w->cfg->register_agent))
        return NULL;
    for (size_t i = 0; i < sizeof(callees) / sizeof(callees[0]); i++)
        if (callees[i].id == cn.id)
            return &callees[i];
    return NULL;
}

void wag_dealer_call(struct wag_session *s, struct wamp_msg *m)
{
    struct wamp_board_proc bp;
    const struct callee *c;
    struct error err;

    if (wamp_idtab_find(&s->inflight, sizeof(struct wag_inflight), m->request) != NULL) {
        wag_session_violation(s, "CALL request %" PRIu64 " is still pending", m->request);
        return;
    }
    if (wamp_uri_check(m->procedure, &err) < 0) {
        wag_reply_error(s, WAMP_CALL, m->request, "wamp.error.invalid_uri", err.msg);
        return;
    }
    c = find_callee(s->w, m->procedure);
    if (c == NULL) {
        /* Board procedures exist, but no session may call one (4.4). */
        int board_proc = wamp_board_proc_parse(m->procedure, &bp, &err) == 0;

        wag_reply_error(s, WAMP_CALL, m->request,
                        board_proc ? "wamp.error.not_authorized" : "wamp.error.no_such_procedure",
                        NULL);
        return;
    }
    if (!(c->states & (1u << s->state))) {
        wag_count_callee(s->w, wamp_callee_str(c->id), "not_authorized");
        wag_reply_error(s, WAMP_CALL, m->request, "wamp.error.not_authorized", NULL);
        return;
    }
    if (!wag_bucket_take(&s->callee_rate, WAG_CALLEE_RATE, WAG_CALLEE_BURST, wag_now(s->w))) {
        wag_count_callee(s->w, wamp_callee_str(c->id), "busy");
        wag_reply_error(s, WAMP_CALL, m->request, "iotronic.error.busy",
                        "Too many calls; slow down.");
        return;
    }
    c->fn(s, m);
}

/* ------------------------------------------------------------ registrations */

const struct wag_reg *wag_dealer_find(struct wag_session *s, const char *method)
{
    const struct wag_name *name = wag_names_find(&s->w->names, method, strlen(method));

    if (name == NULL)
        return NULL;
    for (uint32_t i = 0; i < s->regs.n; i++) {
        const struct wag_reg *r = wamp_idtab_at(&s->regs, sizeof(*r), i);

        if (r->method == name)
            return r;
    }
    return NULL;
}

/* 0 when uri is in s's own namespace; the method is copied to method. */
static int own_namespace(struct wag_session *s, const char *uri, char *method, size_t cap)
{
    struct wamp_board_proc bp;
    struct error err;

    if (s->state != WAG_S_BOUND || s->board == NULL || wamp_board_proc_parse(uri, &bp, &err) < 0 ||
        bp.session != s->id || strcmp(bp.uuid, s->board->uuid) != 0)
        return -EACCES;
    snprintf(method, cap, "%s", bp.method);
    return 0;
}

void wag_dealer_register(struct wag_session *s, struct wamp_msg *m)
{
    struct wamp_msg reply = {.type = WAMP_REGISTERED};
    char method[WAMP_METHOD_MAX + 1];
    struct wag_reg *r;
    struct error err;
    uint64_t id;

    if (wamp_uri_check(m->procedure, &err) < 0) {
        wag_reply_error(s, WAMP_REGISTER, m->request, "wamp.error.invalid_uri", err.msg);
        return;
    }
    if (own_namespace(s, m->procedure, method, sizeof(method)) < 0) {
        log_info("session %llu peer=%s: REGISTER %s refused", (unsigned long long)s->id, s->peer,
                 m->procedure);
        wag_reply_error(s, WAMP_REGISTER, m->request, "wamp.error.not_authorized", NULL);
        return;
    }
    if (wag_dealer_find(s, method) != NULL) {
        wag_reply_error(s, WAMP_REGISTER, m->request, "wamp.error.procedure_already_exists", NULL);
        return;
    }
    if (s->regs.n >= WAG_REGS_MAX) {
        wag_reply_error(s, WAMP_REGISTER, m->request, "wamp.error.invalid_argument",
                        "Too many registrations in this session.");
        return;
    }
    do
        id = rand_id53();
    while (wamp_idtab_find(&s->regs, sizeof(*r), id) != NULL);
    r = wamp_idtab_insert(&s->regs, sizeof(*r), id);
    r->method = wag_names_get(&s->w->names, method, strlen(method));
    reply.request = m->request;
    reply.registration = id;
    (void)wag_session_send(s, &reply);
    wag_invoke_registered(s->board, method);
}

void wag_dealer_unregister(struct wag_session *s, struct wamp_msg *m)
{
    struct wamp_msg reply = {.type = WAMP_UNREGISTERED};
    struct wag_reg *r;

    if (s->state != WAG_S_BOUND) {
        wag_reply_error(s, WAMP_UNREGISTER, m->request, "wamp.error.not_authorized", NULL);
        return;
    }
    r = wamp_idtab_find(&s->regs, sizeof(*r), m->registration);
    if (r == NULL) {
        wag_reply_error(s, WAMP_UNREGISTER, m->request, "wamp.error.no_such_registration", NULL);
        return;
    }
    wag_names_put(&s->w->names, r->method);
    wamp_idtab_remove(&s->regs, sizeof(*r), r);
    reply.request = m->request;
    (void)wag_session_send(s, &reply);
}

void wag_dealer_session_ended(struct wag_session *s)
{
    for (uint32_t i = 0; i < s->regs.n; i++) {
        const struct wag_reg *r = wamp_idtab_at(&s->regs, sizeof(*r), i);

        wag_names_put(&s->w->names, r->method);
    }
    wamp_idtab_clear(&s->regs);
}

/* ------------------------------------------------------------ answers */

/* The pending invocation a YIELD or ERROR answers; NULL when it has already
 * been answered (timed out: dropped silently, 6.4) or, after a protocol
 * violation, was never sent. */
static struct wag_call *answered(struct wag_session *s, uint64_t id, const char *what)
{
    struct wag_inv *inv = wamp_idtab_find(&s->invocations, sizeof(*inv), id);
    struct wag_call *c;

    if (inv == NULL) {
        if (id == 0 || id > s->next_invocation)
            wag_session_violation(s, "%s for invocation %" PRIu64 ", which was never sent", what,
                                  id);
        return NULL;
    }
    c = inv->call;
    wamp_idtab_remove(&s->invocations, sizeof(*inv), inv);
    return c;
}

void wag_dealer_yield(struct wag_session *s, struct wamp_msg *m)
{
    struct wag_call *c = answered(s, m->request, "YIELD");
    struct wamp_wampmsg wm = {0};
    struct error err;
    char text[ERROR_MSG_MAX + 48];

    if (c == NULL)
        return;
    if (wamp_wampmsg_from_yield(m, &wm, &err) < 0) {
        snprintf(text, sizeof(text), "Invalid reply from the board: %s", err.msg);
        wm.result = WAMP_RESULT_ERROR;
        wm.message = cJSON_CreateString(text);
    }
    wag_invoke_replied(s, c, &wm);
    wamp_wampmsg_clear(&wm);
}

void wag_dealer_error(struct wag_session *s, struct wamp_msg *m)
{
    struct wamp_wampmsg wm = {0};
    struct wag_call *c;

    if (m->req_type != WAMP_INVOCATION) {
        wag_session_violation(s, "ERROR for a %s, which the router never sent",
                              wamp_type_name(m->req_type));
        return;
    }
    c = answered(s, m->request, "ERROR");
    if (c == NULL)
        return;
    wamp_wampmsg_from_error(m, &wm);
    wag_invoke_replied(s, c, &wm);
    wamp_wampmsg_clear(&wm);
}
