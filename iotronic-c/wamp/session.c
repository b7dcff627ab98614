/* wamp/session.c: the receiving half of the client session (session.h).
 *
 * A frame is parsed, gated by the state (what a router may send before
 * WELCOME, after it, and while our GOODBYE is out), then handled by its
 * type's entry in rx[]. Handlers finish every change to the tables before
 * they call the owner, because the owner may call back into the session
 * from its event callback. Closing detaches the pending table first, then
 * fails each entry, so that nothing the owner does meanwhile can disturb the
 * walk. Replies to requests that are not pending (forgotten, or never sent)
 * are ignored: a router bug there harms nothing we hold. */
#include "wamp/session.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "wamp/json_strict.h"
#include "wamp/session_int.h"

#define CANCELED_URI "wamp.error.canceled"
#define VIOLATION_URI "wamp.error.protocol_violation"

struct wamp_session *wamp_session_new(const struct wamp_session_ops *ops, void *owner,
                                      size_t max_msg)
{
    struct wamp_session *s = xcalloc(1, sizeof(*s));

    s->ops = ops;
    s->owner = owner;
    s->next_request = 1;
    s->max_msg = max_msg ? max_msg : WAMP_MSG_MAX;
    s->state = WAMP_SESSION_INIT;
    return s;
}

void wamp_session_free(struct wamp_session *s)
{
    if (s == NULL)
        return;
    wamp_idtab_clear(&s->pending);
    wamp_idtab_clear(&s->regs);
    wamp_idtab_clear(&s->subs);
    free(s);
}

static void emit(struct wamp_session *s, const struct wamp_event *ev)
{
    s->ops->event(s->owner, ev);
}

/* Closes the session: fails every pending request, then reports final. */
static void close_with(struct wamp_session *s, const struct wamp_event *final)
{
    struct wamp_idtab t = s->pending;

    s->state = WAMP_SESSION_CLOSED;
    s->pending = (struct wamp_idtab){0};
    wamp_idtab_clear(&s->regs);
    wamp_idtab_clear(&s->subs);
    for (size_t i = 0; i < t.n; i++) {
        const struct pending *p = wamp_idtab_at(&t, sizeof(*p), i);
        struct wamp_event ev = {.type = WAMP_EV_ERROR,
                                .req_type = (enum wamp_type)p->kind,
                                .local = 1,
                                .request = p->request,
                                .cookie = p->cookie,
                                .uri = CANCELED_URI};

        emit(s, &ev);
    }
    wamp_idtab_clear(&t);
    if (final != NULL)
        emit(s, final);
}

/* Aborts after a bad frame: ABORT with the reason, then closes. */
static int violation(struct wamp_session *s, int rc, const char *fmt, ...) IOT_PRINTF(3, 4);

static int violation(struct wamp_session *s, int rc, const char *fmt, ...)
{
    char text[ERROR_MSG_MAX];
    struct wamp_event ev = {.type = WAMP_EV_ABORT, .local = 1, .uri = VIOLATION_URI};
    char *frame;
    size_t len;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    wamp_utf8_sanitize(text, strlen(text));
    /* Cannot fail on a clean text; were it to, closing without the ABORT is
     * still right. */
    if (wamp_msg_close_frame(WAMP_ABORT, VIOLATION_URI, text, &frame, &len, NULL) == 0)
        s->ops->send(s->owner, frame, len);
    ev.text = text;
    ev.text_len = strlen(text);
    close_with(s, &ev);
    return rc;
}

static struct pending *take_pending(struct wamp_session *s, uint64_t request, enum wamp_type kind,
                                    struct pending *copy)
{
    struct pending *p = wamp_idtab_find(&s->pending, sizeof(*p), request);

    if (p == NULL || p->kind != kind)
        return NULL;
    *copy = *p;
    wamp_idtab_remove(&s->pending, sizeof(*p), p);
    return copy;
}

/* ------------------------------------------------------------ handlers */

static int rx_welcome(struct wamp_session *s, struct wamp_msg *m)
{
    struct wamp_event ev = {.type = WAMP_EV_WELCOME, .id = m->session, .msg = m};

    if (m->session == 0)
        return violation(s, -EPROTO, "WELCOME: Session must be in [1, 2^53]");
    s->id = m->session;
    s->state = WAMP_SESSION_ESTABLISHED;
    emit(s, &ev);
    return 0;
}

static int rx_challenge(struct wamp_session *s, struct wamp_msg *m)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(wamp_msg_details(m), "challenge");
    struct wamp_event ev = {.type = WAMP_EV_CHALLENGE, .uri = m->authmethod, .msg = m};

    if (s->state != WAMP_SESSION_HELLO_SENT)
        return violation(s, -EPROTO, "a second CHALLENGE");
    if (!s->cra || strcmp(m->authmethod, "wampcra") != 0)
        return violation(s, -EPROTO, "CHALLENGE for a method not offered");
    if (!cJSON_IsString(c))
        return violation(s, -EPROTO, "CHALLENGE: Extra.challenge must be a string");
    s->state = WAMP_SESSION_CHALLENGED;
    ev.text = c->valuestring;
    ev.text_len = strlen(c->valuestring);
    emit(s, &ev);
    return 0;
}

static int rx_abort(struct wamp_session *s, struct wamp_msg *m)
{
    struct wamp_event ev = {.type = WAMP_EV_ABORT, .uri = m->reason, .text = m->message, .msg = m};

    ev.text_len = m->message != NULL ? strlen(m->message) : 0;
    close_with(s, &ev);
    return 0;
}

static int rx_goodbye(struct wamp_session *s, struct wamp_msg *m)
{
    struct wamp_msg reply = {.type = WAMP_GOODBYE, .reason = "wamp.close.goodbye_and_out"};
    struct wamp_event ev = {
        .type = WAMP_EV_GOODBYE, .uri = m->reason, .text = m->message, .msg = m};

    ev.text_len = m->message != NULL ? strlen(m->message) : 0;
    /* The router's GOODBYE is answered; its answer to ours is not. */
    if (s->state == WAMP_SESSION_ESTABLISHED)
        (void)wamp_session_send_msg_(s, &reply, NULL);
    close_with(s, &ev);
    return 0;
}

/* RESULT, PUBLISHED: the reply to one pending request. */
static int rx_reply(struct wamp_session *s, struct wamp_msg *m)
{
    enum wamp_type kind = m->type == WAMP_RESULT ? WAMP_CALL : WAMP_PUBLISH;
    struct pending p;
    struct wamp_event ev = {.type = m->type == WAMP_RESULT ? WAMP_EV_RESULT : WAMP_EV_PUBLISHED,
                            .request = m->request,
                            .id = m->publication,
                            .msg = m};

    if (take_pending(s, m->request, kind, &p) == NULL)
        return 0;
    ev.cookie = p.cookie;
    emit(s, &ev);
    return 0;
}

static int rx_error(struct wamp_session *s, struct wamp_msg *m)
{
    struct pending p;
    struct wamp_event ev = {.type = WAMP_EV_ERROR,
                            .req_type = m->req_type,
                            .request = m->request,
                            .uri = m->error,
                            .msg = m};

    if (take_pending(s, m->request, m->req_type, &p) == NULL)
        return 0;
    ev.cookie = p.cookie;
    emit(s, &ev);
    return 0;
}

/* REGISTERED, SUBSCRIBED: a new registration or subscription. */
static int rx_added(struct wamp_session *s, struct wamp_msg *m)
{
    int reg = m->type == WAMP_REGISTERED;
    uint64_t id = reg ? m->registration : m->subscription;
    struct wamp_idtab *t = reg ? &s->regs : &s->subs;
    struct handler *h;
    struct pending p;
    struct wamp_event ev = {.type = reg ? WAMP_EV_REGISTERED : WAMP_EV_SUBSCRIBED,
                            .request = m->request,
                            .id = id,
                            .msg = m};

    if (take_pending(s, m->request, reg ? WAMP_REGISTER : WAMP_SUBSCRIBE, &p) == NULL)
        return 0;
    h = wamp_idtab_find(t, sizeof(*h), id);
    if (h == NULL)
        h = wamp_idtab_insert(t, sizeof(*h), id);
    h->handler = p.cookie;
    ev.cookie = p.cookie;
    emit(s, &ev);
    return 0;
}

/* UNREGISTERED, UNSUBSCRIBED: one gone. */
static int rx_removed(struct wamp_session *s, struct wamp_msg *m)
{
    int reg = m->type == WAMP_UNREGISTERED;
    struct wamp_idtab *t = reg ? &s->regs : &s->subs;
    struct handler *h;
    struct pending p;
    struct wamp_event ev = {
        .type = reg ? WAMP_EV_UNREGISTERED : WAMP_EV_UNSUBSCRIBED, .request = m->request, .msg = m};

    if (take_pending(s, m->request, reg ? WAMP_UNREGISTER : WAMP_UNSUBSCRIBE, &p) == NULL)
        return 0;
    ev.id = p.target;
    h = wamp_idtab_find(t, sizeof(*h), p.target);
    if (h != NULL) {
        ev.cookie = h->handler;
        wamp_idtab_remove(t, sizeof(*h), h);
    }
    emit(s, &ev);
    return 0;
}

static int rx_invocation(struct wamp_session *s, struct wamp_msg *m)
{
    const struct handler *h = wamp_idtab_find(&s->regs, sizeof(*h), m->registration);
    struct wamp_msg reply = {.type = WAMP_ERROR,
                             .req_type = WAMP_INVOCATION,
                             .request = m->request,
                             .error = "wamp.error.no_such_registration"};
    struct wamp_event ev = {
        .type = WAMP_EV_INVOCATION, .request = m->request, .id = m->registration, .msg = m};

    if (h == NULL) {
        /* Not ours (any more): tell the router rather than leave its caller waiting. */
        (void)wamp_session_send_msg_(s, &reply, NULL);
        return 0;
    }
    ev.cookie = h->handler;
    emit(s, &ev);
    return 0;
}

static int rx_event(struct wamp_session *s, struct wamp_msg *m)
{
    const struct handler *h = wamp_idtab_find(&s->subs, sizeof(*h), m->subscription);
    struct wamp_event ev = {
        .type = WAMP_EV_EVENT, .id = m->subscription, .publication = m->publication, .msg = m};

    if (h == NULL)
        return 0;
    ev.cookie = h->handler;
    emit(s, &ev);
    return 0;
}

typedef int (*rx_fn)(struct wamp_session *s, struct wamp_msg *m);

/* What a client may receive; NULL entries are messages only a client sends. */
static const rx_fn rx[WAMP_YIELD + 1] = {
    [WAMP_WELCOME] = rx_welcome,       [WAMP_ABORT] = rx_abort,
    [WAMP_CHALLENGE] = rx_challenge,   [WAMP_GOODBYE] = rx_goodbye,
    [WAMP_ERROR] = rx_error,           [WAMP_PUBLISHED] = rx_reply,
    [WAMP_SUBSCRIBED] = rx_added,      [WAMP_UNSUBSCRIBED] = rx_removed,
    [WAMP_EVENT] = rx_event,           [WAMP_RESULT] = rx_reply,
    [WAMP_REGISTERED] = rx_added,      [WAMP_UNREGISTERED] = rx_removed,
    [WAMP_INVOCATION] = rx_invocation,
};

static int hello_phase(enum wamp_type t)
{
    return t == WAMP_WELCOME || t == WAMP_CHALLENGE || t == WAMP_ABORT;
}

static int dispatch(struct wamp_session *s, struct wamp_msg *m)
{
    const char *name = wamp_type_name(m->type);

    if (rx[m->type] == NULL)
        return violation(s, -EPROTO, "%s is not a message a router sends", name);
    switch (s->state) {
    case WAMP_SESSION_INIT:
        return violation(s, -EPROTO, "%s before HELLO", name);
    case WAMP_SESSION_HELLO_SENT:
    case WAMP_SESSION_CHALLENGED:
    case WAMP_SESSION_AUTH_SENT:
        if (!hello_phase(m->type))
            return violation(s, -EPROTO, "%s before WELCOME", name);
        break;
    case WAMP_SESSION_ESTABLISHED:
        if (m->type == WAMP_WELCOME || m->type == WAMP_CHALLENGE)
            return violation(s, -EPROTO, "%s after the session was established", name);
        break;
    case WAMP_SESSION_CLOSING:
        /* Only the router's GOODBYE (or an ABORT) matters now. */
        if (m->type != WAMP_GOODBYE && m->type != WAMP_ABORT)
            return 0;
        break;
    default:
        return -EPIPE;
    }
    return rx[m->type](s, m);
}

static int feed_parsed(struct wamp_session *s, int rc, struct wamp_msg *m, const struct error *err)
{
    if (rc < 0)
        return violation(s, rc, "%s", err->msg);
    rc = dispatch(s, m);
    wamp_msg_free(m);
    return rc;
}

int wamp_session_feed(struct wamp_session *s, const char *frame, size_t len)
{
    struct wamp_msg *m = NULL;
    struct error err = {0};
    int rc;

    if (s->state == WAMP_SESSION_CLOSED)
        return -EPIPE;
    rc = wamp_msg_parse_max(frame, len, s->max_msg, &m, &err);
    return feed_parsed(s, rc, m, &err);
}

int wamp_session_feed_take(struct wamp_session *s, char *frame, size_t len)
{
    struct wamp_msg *m = NULL;
    struct error err = {0};
    int rc;

    if (s->state == WAMP_SESSION_CLOSED) {
        free(frame);
        return -EPIPE;
    }
    rc = wamp_msg_parse_take(frame, len, s->max_msg, &m, &err);
    return feed_parsed(s, rc, m, &err);
}

void wamp_session_disconnected(struct wamp_session *s)
{
    if (s->state != WAMP_SESSION_CLOSED)
        close_with(s, NULL);
}

void *wamp_session_forget(struct wamp_session *s, uint64_t request)
{
    struct pending *p = wamp_idtab_find(&s->pending, sizeof(*p), request);
    void *cookie;

    if (p == NULL)
        return NULL;
    cookie = p->cookie;
    wamp_idtab_remove(&s->pending, sizeof(*p), p);
    return cookie;
}

enum wamp_session_state wamp_session_state(const struct wamp_session *s)
{
    return (enum wamp_session_state)s->state;
}

uint64_t wamp_session_id(const struct wamp_session *s)
{
    return s->id;
}

size_t wamp_session_pending(const struct wamp_session *s)
{
    return s->pending.n;
}

size_t wamp_session_registrations(const struct wamp_session *s)
{
    return s->regs.n;
}

/* Appends to out (cap bytes, n used) like snprintf; returns the new n. */
static size_t put(char *out, size_t cap, size_t n, const char *fmt, ...) IOT_PRINTF(4, 5);

static size_t put(char *out, size_t cap, size_t n, const char *fmt, ...)
{
    va_list ap;
    int k;

    va_start(ap, fmt);
    k = vsnprintf(out + n, cap - n, fmt, ap);
    va_end(ap);
    if (k < 0)
        return n;
    return (size_t)k >= cap - n ? cap - 1 : n + (size_t)k;
}

static const char *const event_names[] = {
    [WAMP_EV_WELCOME] = "WELCOME",
    [WAMP_EV_CHALLENGE] = "CHALLENGE",
    [WAMP_EV_ABORT] = "ABORT",
    [WAMP_EV_GOODBYE] = "GOODBYE",
    [WAMP_EV_RESULT] = "RESULT",
    [WAMP_EV_ERROR] = "ERROR",
    [WAMP_EV_REGISTERED] = "REGISTERED",
    [WAMP_EV_UNREGISTERED] = "UNREGISTERED",
    [WAMP_EV_INVOCATION] = "INVOCATION",
    [WAMP_EV_SUBSCRIBED] = "SUBSCRIBED",
    [WAMP_EV_UNSUBSCRIBED] = "UNSUBSCRIBED",
    [WAMP_EV_EVENT] = "EVENT",
    [WAMP_EV_PUBLISHED] = "PUBLISHED",
};

char *wamp_event_format(const struct wamp_event *ev, char *out, size_t cap)
{
    size_t n = 0;

    if (cap == 0)
        return out;
    out[0] = '\0';
    n = put(out, cap, n, "%s",
            (unsigned)ev->type < sizeof(event_names) / sizeof(event_names[0])
                ? event_names[ev->type]
                : "?");
    if (ev->local)
        n = put(out, cap, n, " local");
    if (ev->type == WAMP_EV_ERROR)
        n = put(out, cap, n, " req_type=%s", wamp_type_name(ev->req_type));
    if (ev->request != 0)
        n = put(out, cap, n, " request=%llu", (unsigned long long)ev->request);
    if (ev->id != 0)
        n = put(out, cap, n, " id=%llu", (unsigned long long)ev->id);
    if (ev->publication != 0)
        n = put(out, cap, n, " publication=%llu", (unsigned long long)ev->publication);
    if (ev->uri != NULL)
        n = put(out, cap, n, " uri=%s", ev->uri);
    if (ev->text != NULL)
        put(out, cap, n, " text=%.*s", (int)ev->text_len, ev->text);
    return out;
}

size_t wamp_session_footprint(const struct wamp_session *s)
{
    return sizeof(*s) + (size_t)s->pending.cap * sizeof(struct pending) +
           ((size_t)s->regs.cap + s->subs.cap) * sizeof(struct handler);
}
