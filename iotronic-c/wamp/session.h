/* wamp/session.h: the client side of a WAMP session, as a state machine with no I/O.
 *
 * Used by lightning-rod-c (one session) and lr-swarm (thousands in one
 * process), so its state is small: about a hundred bytes, plus one 32-byte
 * entry per outstanding request and one 16-byte entry per registration or
 * subscription. The owner moves bytes; the session decides:
 *   - frames received go into wamp_session_feed();
 *   - frames to send come out through ops->send(), in order, as new strings
 *     the owner takes (free() them);
 *   - what happened comes out through ops->event() (struct wamp_event).
 * The helpers below send HELLO, AUTHENTICATE, CALL, REGISTER, YIELD, ...;
 * the session allocates request ids (from 1, never one still pending),
 * remembers the owner's cookie for each request and the owner's handler for
 * each registration and subscription, answers the router's GOODBYE, answers
 * an INVOCATION for an unknown registration with an ERROR, and aborts with
 * wamp.error.protocol_violation on any frame a router may not send in the
 * current state (a second WELCOME or CHALLENGE included).
 *
 * Every cookie given with a request comes back exactly once: in its reply
 * event, or in a local WAMP_EV_ERROR ("wamp.error.canceled") when the
 * session closes first (wamp_session_disconnected() included), unless the
 * owner takes it back with wamp_session_forget() or frees the session,
 * which calls nobody.
 *
 * Callbacks run synchronously inside the call that caused them (feed or a
 * helper). From inside a callback the owner may call any helper, but must not
 * free the session. One thread per session; sessions share nothing. */
#ifndef IOT_WAMP_SESSION_H
#define IOT_WAMP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "wamp/msg.h"

#define WAMP_SESSION_PENDING_MAX 4096 /* outstanding requests per session */

enum wamp_session_state {
    WAMP_SESSION_INIT,        /* nothing sent yet */
    WAMP_SESSION_HELLO_SENT,  /* waiting for WELCOME, CHALLENGE or ABORT */
    WAMP_SESSION_CHALLENGED,  /* CHALLENGE received: wamp_session_authenticate() */
    WAMP_SESSION_AUTH_SENT,   /* AUTHENTICATE sent: waiting for WELCOME or ABORT */
    WAMP_SESSION_ESTABLISHED, /* WELCOME received */
    WAMP_SESSION_CLOSING,     /* our GOODBYE sent: waiting for the router's */
    WAMP_SESSION_CLOSED,      /* ABORT, GOODBYE, violation or transport lost */
};

enum wamp_event_type {
    WAMP_EV_WELCOME,      /* id = session id; msg = WELCOME (Details: authid, authrole...) */
    WAMP_EV_CHALLENGE,    /* uri = authmethod ("wampcra"), text = the challenge */
    WAMP_EV_ABORT,        /* uri = reason, text = Details.message or NULL; closed */
    WAMP_EV_GOODBYE,      /* uri = reason, text = Details.message or NULL; closed */
    WAMP_EV_RESULT,       /* request, cookie of the CALL; msg: Details, Args, Kwargs */
    WAMP_EV_ERROR,        /* req_type, request, cookie, uri = error; msg: Args, Kwargs */
    WAMP_EV_REGISTERED,   /* request, id = registration, cookie = the handler */
    WAMP_EV_UNREGISTERED, /* request, id = registration, cookie = the handler */
    WAMP_EV_INVOCATION,   /* request, id = registration, cookie = the handler; msg */
    WAMP_EV_SUBSCRIBED,   /* request, id = subscription, cookie = the handler */
    WAMP_EV_UNSUBSCRIBED, /* request, id = subscription, cookie = the handler */
    WAMP_EV_EVENT,        /* id = subscription, publication, cookie = the handler; msg */
    WAMP_EV_PUBLISHED,    /* request, id = publication, cookie of the PUBLISH */
};

/* What happened. Everything it points to is valid only during the callback. */
struct wamp_event {
    enum wamp_event_type type;
    enum wamp_type req_type; /* WAMP_EV_ERROR: CALL, REGISTER, ... */
    int local;               /* 1 when this side decided it (violation, cancel) */
    uint64_t request;
    uint64_t id;          /* session, registration, subscription or publication */
    uint64_t publication; /* WAMP_EV_EVENT */
    void *cookie;
    const char *uri;
    const char *text;
    size_t text_len;
    struct wamp_msg *msg; /* the message received, or NULL for local events */
};

/* Writes a one-line description of ev for logs and tests into out (cap
 * bytes, truncated): its name and its non-empty fields, e.g.
 * "RESULT request=7" or "ABORT local uri=wamp.error.protocol_violation
 * text=...". Never the payload or the cookie. Returns out. */
char *wamp_event_format(const struct wamp_event *ev, char *out, size_t cap);

struct wamp_session_ops {
    /* A frame to send; the owner takes frame (free() it). */
    void (*send)(void *owner, char *frame, size_t len);
    /* Something happened. */
    void (*event)(void *owner, const struct wamp_event *ev);
};

struct wamp_session;

/* A new session in WAMP_SESSION_INIT. ops must outlive it (usually static
 * const); owner is passed back to the callbacks. max_msg bounds received
 * frames (0: WAMP_MSG_MAX). Free with wamp_session_free(). */
struct wamp_session *wamp_session_new(const struct wamp_session_ops *ops, void *owner,
                                      size_t max_msg);

/* Frees the session without any callback. Accepts NULL. */
void wamp_session_free(struct wamp_session *s);

/* Sends HELLO for realm with the caller, callee, publisher and subscriber
 * roles. authid NULL: anonymous; otherwise authmethods ["wampcra"] and
 * authid. -EALREADY after the first HELLO, -EINVAL for a bad realm/authid. */
int wamp_session_hello(struct wamp_session *s, const char *realm, const char *authid,
                       struct error *err) IOT_WUR;

/* Feeds one received text frame (len bytes; the session copies what it
 * keeps). Returns 0 when it was handled (which may have closed the
 * session), -EPROTO/-EOPNOTSUPP/-EMSGSIZE when it was a protocol violation
 * (ABORT sent, WAMP_EV_ABORT delivered with local = 1; a transport should
 * close with 1002, or 1009 for -EMSGSIZE), -EPIPE when already closed. */
int wamp_session_feed(struct wamp_session *s, const char *frame, size_t len);

/* The same, taking ownership of frame (from malloc; freed in every case):
 * no copy is made. */
int wamp_session_feed_take(struct wamp_session *s, char *frame, size_t len);

/* The transport closed: fails every pending request (WAMP_EV_ERROR,
 * local) and closes the session, without sending anything. */
void wamp_session_disconnected(struct wamp_session *s);

/* Answers the CHALLENGE (its text from WAMP_EV_CHALLENGE) with the
 * WAMP-CRA signature made with the secret. -EPROTO unless CHALLENGED. */
int wamp_session_authenticate(struct wamp_session *s, const char *challenge, size_t len,
                              const char *secret, size_t secret_len, struct error *err) IOT_WUR;

/* Request helpers. Each returns 0 and the request id in *request (may be
 * NULL), -ENOTCONN unless ESTABLISHED, -EINVAL (err) for an invalid URI or
 * argument, -ENOBUFS past WAMP_SESSION_PENDING_MAX. args and kwargs are
 * WAMP_PART_TREE(), WAMP_PART_JSON() or WAMP_PART_NONE. */
int wamp_session_call(struct wamp_session *s, const char *procedure, struct wamp_part args,
                      struct wamp_part kwargs, void *cookie, uint64_t *request,
                      struct error *err) IOT_WUR;
int wamp_session_register(struct wamp_session *s, const char *procedure, void *handler,
                          uint64_t *request, struct error *err) IOT_WUR;
/* -ENOENT for a registration this session does not hold. */
int wamp_session_unregister(struct wamp_session *s, uint64_t registration, uint64_t *request,
                            struct error *err) IOT_WUR;
int wamp_session_subscribe(struct wamp_session *s, const char *topic, void *handler,
                           uint64_t *request, struct error *err) IOT_WUR;
/* -ENOENT for a subscription this session does not hold. */
int wamp_session_unsubscribe(struct wamp_session *s, uint64_t subscription, uint64_t *request,
                             struct error *err) IOT_WUR;
/* With acknowledge, PUBLISHED (or ERROR) comes back with the cookie;
 * without, nothing is pending and the cookie is ignored. */
int wamp_session_publish(struct wamp_session *s, const char *topic, struct wamp_part args,
                         struct wamp_part kwargs, int acknowledge, void *cookie, uint64_t *request,
                         struct error *err) IOT_WUR;

/* Replies to an INVOCATION: YIELD [70, request, {}, args, kwargs]. */
int wamp_session_yield(struct wamp_session *s, uint64_t request, struct wamp_part args,
                       struct wamp_part kwargs, struct error *err) IOT_WUR;
/* YIELD [70, request, {}, ["<text>"]]: a WampMessage text (wampmsg.h). */
int wamp_session_yield_text(struct wamp_session *s, uint64_t request, const char *text, size_t len,
                            struct error *err) IOT_WUR;
/* ERROR [8, 68, request, {}, uri(, [text])]; text may be NULL. */
int wamp_session_invocation_error(struct wamp_session *s, uint64_t request, const char *uri,
                                  const char *text, struct error *err) IOT_WUR;

/* Sends GOODBYE (reason NULL: "wamp.close.close_realm") and waits for the
 * router's. -ENOTCONN unless ESTABLISHED. */
int wamp_session_goodbye(struct wamp_session *s, const char *reason, struct error *err) IOT_WUR;

/* Stops tracking a pending request (the owner gave up on it, e.g. after
 * its own timeout); a late reply is then ignored. Returns its cookie, or
 * NULL when it was not pending. */
void *wamp_session_forget(struct wamp_session *s, uint64_t request);

enum wamp_session_state wamp_session_state(const struct wamp_session *s);
uint64_t wamp_session_id(const struct wamp_session *s); /* 0 before WELCOME */
size_t wamp_session_pending(const struct wamp_session *s);
size_t wamp_session_registrations(const struct wamp_session *s);

/* Bytes of memory the session holds (its struct and tables). */
size_t wamp_session_footprint(const struct wamp_session *s);

#endif
