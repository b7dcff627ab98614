/* wamp/msg_layout.h: the layouts of board-protocol.md 3.1, private to the
 * codec (msg.c parses by them, msg_write.c writes by them).
 *
 * One table entry per message code says which elements follow the code, in
 * order, and how each is called in error messages. Args and Kwargs are the
 * only optional elements, and only at the end. Not part of the API. */
#ifndef IOT_WAMP_MSG_LAYOUT_H
#define IOT_WAMP_MSG_LAYOUT_H

enum wamp_el {
    WAMP_EL_REQUEST = 1,
    WAMP_EL_SESSION,
    WAMP_EL_REGISTRATION,
    WAMP_EL_SUBSCRIPTION,
    WAMP_EL_PUBLICATION,
    WAMP_EL_REQTYPE,
    WAMP_EL_DICT,   /* Details, Options or Extra */
    WAMP_EL_STRING, /* the one string element: a URI, AuthMethod or Signature */
    WAMP_EL_ARGS,
    WAMP_EL_KWARGS,
};

#define WAMP_LAYOUT_MAX 6 /* elements after the code: ERROR has the most */

struct wamp_layout {
    const char *name;
    unsigned char n;       /* elements after the code, optional ones included */
    unsigned char refused; /* CANCEL, INTERRUPT: parsed, then refused */
    unsigned char el[WAMP_LAYOUT_MAX];
    const char *label[WAMP_LAYOUT_MAX];
};

/* The layout of code, or NULL when the code is not a message of the
 * profile. */
const struct wamp_layout *wamp_layout_of(unsigned long long code);

/* Elements after the code that must be present. */
unsigned wamp_layout_min(const struct wamp_layout *l);

#endif
