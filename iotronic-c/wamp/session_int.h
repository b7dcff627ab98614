/* wamp/session_int.h: the session's state, shared by session.c (receiving,
 * closing) and session_send.c (the helpers that send). Private to the
 * library: not part of the API (session.h). */
#ifndef IOT_WAMP_SESSION_INT_H
#define IOT_WAMP_SESSION_INT_H

#include "wamp/idtable.h"
#include "wamp/msg.h"
#include "wamp/session.h"

/* An outstanding request of ours. */
struct pending {
    uint64_t request; /* the key */
    void *cookie;
    uint64_t target;    /* UNREGISTER: the registration; UNSUBSCRIBE: the subscription */
    unsigned char kind; /* enum wamp_type of the request */
};

/* A registration or subscription we hold, and the owner's handler for it. */
struct handler {
    uint64_t id; /* the key */
    void *handler;
};

struct wamp_session {
    const struct wamp_session_ops *ops;
    void *owner;
    uint64_t id;           /* from WELCOME */
    uint64_t next_request; /* the next request id to try */
    size_t max_msg;
    struct wamp_idtab pending; /* struct pending */
    struct wamp_idtab regs;    /* struct handler */
    struct wamp_idtab subs;    /* struct handler */
    unsigned char state;       /* enum wamp_session_state */
    unsigned char cra;         /* HELLO offered wampcra */
};

/* Serialises m and hands the frame to ops->send(). 0 or -EINVAL (err). */
int wamp_session_send_msg_(struct wamp_session *s, const struct wamp_msg *m, struct error *err);

#endif
