/* wamp/uri.h: URI rules and the names the board protocol builds from URIs.
 *
 * board-protocol.md 3.3: a URI is 1 to 255 bytes of non-empty components
 * separated by '.', each free of whitespace (ASCII and Unicode) and of '#'.
 * On top of that:
 *   - board procedures (6.1)       iotronic.<session>.<uuid>.<Method>
 *     with <session> in [1, 2^53] written in decimal without leading zeros,
 *     <uuid> lower-case hyphenated, <Method> [A-Za-z][A-Za-z0-9_]{0,63};
 *   - cloud callees (5)            [<agent>.]stack4things.<name>
 *     with any agent prefix (dots allowed: agents are host names) or none;
 *   - board topics (5.9)           iotronic.board.<uuid>.<rest>.
 * Pure functions, no allocation; any thread. */
#ifndef IOT_WAMP_URI_H
#define IOT_WAMP_URI_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/uuid.h"

#define WAMP_URI_MAX 255
#define WAMP_METHOD_MAX 64

/* 0 when uri is a valid URI, or -EINVAL with the reason in err. */
int wamp_uri_check(const char *uri, struct error *err) IOT_WUR;

/* 1 when the n bytes at name match [A-Za-z][A-Za-z0-9_]{0,63}. */
int wamp_method_valid(const char *name, size_t n);

struct wamp_board_proc {
    uint64_t session;
    char uuid[UUID_STR_LEN];
    char method[WAMP_METHOD_MAX + 1];
};

/* Splits a board procedure name. 0, or -EINVAL with the reason (including
 * "not a board procedure" for any other URI). */
int wamp_board_proc_parse(const char *uri, struct wamp_board_proc *out, struct error *err) IOT_WUR;

/* Writes iotronic.<session>.<uuid>.<method> into out (at most WAMP_URI_MAX
 * bytes and the NUL). uuid must be lower-case hyphenated. Returns the length,
 * or -EINVAL with err set when a part is invalid. */
int wamp_board_proc_build(uint64_t session, const char *uuid, const char *method,
                          char out[WAMP_URI_MAX + 1], struct error *err) IOT_WUR;

/* The cloud callees of board-protocol.md 5. */
enum wamp_callee {
    WAMP_CALLEE_NONE = 0,
    WAMP_CALLEE_REGISTER,        /* stack4things.register */
    WAMP_CALLEE_CONNECTION,      /* <agent>.stack4things.connection */
    WAMP_CALLEE_WAMP_ALIVE,      /* <agent>.stack4things.wamp_alive */
    WAMP_CALLEE_NOTIFY_RESULT,   /* <agent>.stack4things.notify_result */
    WAMP_CALLEE_ECHO,            /* <agent>.stack4things.echo */
    WAMP_CALLEE_ALIVE,           /* <agent>.stack4things.alive */
    WAMP_CALLEE_FUNCTION_RESULT, /* stack4things.function_result */
    WAMP_CALLEE_EVENT,           /* stack4things.event */
};

/* A callee URI, split; the pointers borrow from the URI parsed. */
struct wamp_callee_name {
    enum wamp_callee id;
    const char *agent; /* the prefix before ".stack4things.", or NULL */
    size_t agent_len;  /* 0 without a prefix */
    const char *name;  /* "connection", ... */
};

/* Recognises [<agent>.]stack4things.<name> with a known name. Returns 0, or
 * -ENOENT when uri names no cloud callee (wamp.error.no_such_procedure).
 * uri should have passed wamp_uri_check(). */
int wamp_callee_parse(const char *uri, struct wamp_callee_name *out) IOT_WUR;

/* The name of a callee ("register", ...), or NULL. */
const char *wamp_callee_str(enum wamp_callee id);

/* When topic is iotronic.board.<uuid>.<rest> (rest non-empty), copies the
 * uuid into out and returns 0; otherwise -ENOENT. topic should have passed
 * wamp_uri_check(). */
int wamp_board_topic_parse(const char *topic, char out[UUID_STR_LEN]) IOT_WUR;

#endif
