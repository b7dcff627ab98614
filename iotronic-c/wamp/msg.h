/* wamp/msg.h: the WAMP codec shared by the wagent, the board agent and lr-swarm.
 *
 * One text frame is one message (board-protocol.md 2, 3.1). wamp_msg_parse()
 * validates a frame completely, in one pass over its bytes (UTF-8, JSON
 * grammar, nesting, the message's layout and every element's type), and
 * returns a typed message; wamp_msg_serialize() writes one. Pure: no I/O and
 * no globals, so any thread may use it on messages it owns.
 *
 * Representation. A parsed message owns one copy of its frame, made by the
 * single allocation of the parse (wamp_msg_parse_take() even avoids the
 * copy). Its string elements (URIs, the signature...) are decoded in place
 * and NUL-terminated inside that copy. Details/Options/Extra, Args and Kwargs
 * stay raw JSON text (struct wamp_part): a router forwards them unchanged,
 * and a callee that needs them asks for a cJSON tree with wamp_msg_details(),
 * wamp_msg_args() or wamp_msg_kwargs(), built on first use and owned by the
 * message. HELLO, WELCOME, ABORT and GOODBYE have their Details tree built
 * eagerly, to fill the fields below.
 *
 * Ids (request, session, registration, ...) are integers in [0, 2^53]
 * written without fraction or exponent, as autobahn requires. Args and
 * Kwargs may also be null, which autobahn writes for Args before Kwargs and
 * reads as absent: the codec reads it so too (and writes [] or nothing,
 * never null). The codec only
 * checks that URIs are strings: URI syntax (uri.h) is answered with
 * wamp.error.invalid_uri, not with a protocol violation (3.4). */
#ifndef IOT_WAMP_MSG_H
#define IOT_WAMP_MSG_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

#define WAMP_MSG_MAX (16u << 20)        /* board-protocol.md 2; longer is refused */
#define WAMP_ID_MAX ((uint64_t)1 << 53) /* 3.3 */

enum wamp_type {
    WAMP_HELLO = 1,
    WAMP_WELCOME = 2,
    WAMP_ABORT = 3,
    WAMP_CHALLENGE = 4,
    WAMP_AUTHENTICATE = 5,
    WAMP_GOODBYE = 6,
    WAMP_ERROR = 8,
    WAMP_PUBLISH = 16,
    WAMP_PUBLISHED = 17,
    WAMP_SUBSCRIBE = 32,
    WAMP_SUBSCRIBED = 33,
    WAMP_UNSUBSCRIBE = 34,
    WAMP_UNSUBSCRIBED = 35,
    WAMP_EVENT = 36,
    WAMP_CALL = 48,
    WAMP_CANCEL = 49, /* known, refused: -EOPNOTSUPP */
    WAMP_RESULT = 50,
    WAMP_REGISTER = 64,
    WAMP_REGISTERED = 65,
    WAMP_UNREGISTER = 66,
    WAMP_UNREGISTERED = 67,
    WAMP_INVOCATION = 68,
    WAMP_INTERRUPT = 69, /* known, refused: -EOPNOTSUPP */
    WAMP_YIELD = 70,
};

/* HELLO Details.authmethods, as a set. */
#define WAMP_AUTH_ANONYMOUS 0x1u
#define WAMP_AUTH_WAMPCRA 0x2u
#define WAMP_AUTH_OTHER 0x4u /* any other name: ticket, cryptosign, ... */

/* One Details/Options/Extra, Args or Kwargs element. In a parsed message
 * json points at the element's raw text (not NUL-terminated) and tree is
 * NULL. A message being built sets json (any valid JSON text of the right
 * kind, e.g. a part of another message) or tree (borrowed); neither means
 * absent (Details: written as {}). */
struct wamp_part {
    const char *json;
    size_t len;
    const cJSON *tree;
};

#define WAMP_PART_JSON(text, n) ((struct wamp_part){.json = (text), .len = (n)})
#define WAMP_PART_TREE(t) ((struct wamp_part){.tree = (t)})
#define WAMP_PART_NONE ((struct wamp_part){0})

/* A message, parsed or being built. Fields not in the type's layout are
 * zero/NULL in a parsed message and ignored when serialising. A parsed
 * message is owned by whoever called the parser (wamp_msg_free()); one being
 * built lives wherever its builder puts it (usually the stack) and borrows
 * everything it points to. */
struct wamp_msg {
    enum wamp_type type;
    enum wamp_type req_type; /* ERROR: the type of the request it answers */
    uint64_t request;        /* every message with a Request element */
    uint64_t session;        /* WELCOME */
    uint64_t registration;   /* REGISTERED, UNREGISTER, INVOCATION */
    uint64_t subscription;   /* SUBSCRIBED, UNSUBSCRIBE, EVENT */
    uint64_t publication;    /* PUBLISHED, EVENT */
    union {                  /* the message's one string element */
        const char *uri;
        const char *realm;      /* HELLO */
        const char *reason;     /* ABORT, GOODBYE */
        const char *authmethod; /* CHALLENGE */
        const char *signature;  /* AUTHENTICATE */
        const char *error;      /* ERROR */
        const char *topic;      /* PUBLISH, SUBSCRIBE */
        const char *procedure;  /* CALL, REGISTER */
    };
    union {
        struct wamp_part details; /* HELLO WELCOME ABORT GOODBYE ERROR EVENT RESULT INVOCATION */
        struct wamp_part options; /* PUBLISH SUBSCRIBE CALL REGISTER YIELD */
        struct wamp_part extra;   /* CHALLENGE AUTHENTICATE */
    };
    struct wamp_part args;   /* absent when json and tree are both NULL */
    struct wamp_part kwargs; /* present only when args is (3.3) */

    /* Filled by the parser only, from Details (borrowed from its tree): */
    unsigned authmethods; /* HELLO: WAMP_AUTH_* set; 0 when absent or [] */
    const char *authid;   /* HELLO: Details.authid, or NULL */
    const char *message;  /* ABORT, GOODBYE: Details.message when a string, or NULL */

    /* Private to the codec. */
    char *text_;      /* the frame copy a parsed message owns */
    cJSON *trees_[3]; /* Details, Args, Kwargs trees built on demand */
    unsigned char parsed_;
    unsigned char owns_text_;
};

/* Parses one text frame of len bytes (at most WAMP_MSG_MAX). On success *out
 * is a new message (wamp_msg_free()); buf is not kept. Errors, with the reason
 * in err (the text the router sends in ABORT's `message`):
 *   -EMSGSIZE    len > the limit;
 *   -EPROTO      not UTF-8, not JSON, not an array, unknown code, wrong
 *                number of elements or an element of the wrong type;
 *   -EOPNOTSUPP  a well-formed CANCEL or INTERRUPT, which this profile
 *                refuses (3.1).
 * Any thread; no allocation on failure. */
int wamp_msg_parse(const char *buf, size_t len, struct wamp_msg **out, struct error *err) IOT_WUR;

/* The same with a limit of max bytes instead of WAMP_MSG_MAX. */
int wamp_msg_parse_max(const char *buf, size_t len, size_t max, struct wamp_msg **out,
                       struct error *err) IOT_WUR;

/* The same, taking ownership of buf (from malloc, e.g. buf_take()), which
 * the message then uses in place of a copy; buf is freed on failure too.
 * Nothing is written past len. */
int wamp_msg_parse_take(char *buf, size_t len, size_t max, struct wamp_msg **out,
                        struct error *err) IOT_WUR;

/* Frees a parsed message and every tree it built. Accepts NULL. Never pass a
 * message that was not returned by a parser. */
void wamp_msg_free(struct wamp_msg *msg);

/* The Details/Options/Extra, Args or Kwargs of msg as a cJSON tree, or NULL
 * when the element is absent. For a parsed message the tree is built on the
 * first call and owned by msg (valid until wamp_msg_free(); read-only); for
 * a message being built this returns the part's tree. Not thread-safe on one
 * message. */
const cJSON *wamp_msg_details(struct wamp_msg *msg);
const cJSON *wamp_msg_args(struct wamp_msg *msg);
const cJSON *wamp_msg_kwargs(struct wamp_msg *msg);

/* Appends msg as one compact JSON array to b. Empty trailing Args and Kwargs
 * are omitted, and Args is written ([]) whenever Kwargs is (3.3). Numbers in
 * trees print exactly (json_out.h). Returns 0; -EINVAL with err for a
 * message that cannot be written (unknown or refused type, id above 2^53,
 * missing or non-UTF-8 string, a part of the wrong kind or invalid JSON);
 * -EMSGSIZE when b's limit is reached (b is then restored to its length on
 * entry). */
int wamp_msg_write(struct buf *b, const struct wamp_msg *msg, struct error *err) IOT_WUR;

/* Serialises msg into a new NUL-terminated text of at most WAMP_MSG_MAX
 * bytes (free() it); *len gets its length. Errors as wamp_msg_write(). */
int wamp_msg_serialize(const struct wamp_msg *msg, char **out, size_t *len,
                       struct error *err) IOT_WUR;

/* Serialises ABORT or GOODBYE (type) with reason and Details {"message":
 * message}, or {} when message is NULL: what a router or client sends to
 * end a session (3.5). Into a new string (free() it). Errors as
 * wamp_msg_serialize(); -EINVAL for another type. */
int wamp_msg_close_frame(enum wamp_type type, const char *reason, const char *message, char **out,
                         size_t *len, struct error *err) IOT_WUR;

/* "CALL", "RESULT", ...; "UNKNOWN" for other values. */
const char *wamp_type_name(enum wamp_type type);

/* 1 when an ERROR may answer a request of type t (3.1). */
int wamp_type_errorable(enum wamp_type t);

#endif
