/* wamp/wampmsg.h: the WampMessage envelope of board and callee replies.
 *
 * board-protocol.md 5 and 6.3:
 *   {"message": <any JSON value>, "result": "SUCCESS"|"ERROR"|"WARNING"|"RUNNING",
 *    "req_id": "<request uuid>"}
 * A board's YIELD carries it as a JSON text in Args[0] (as the original agent
 * does); the wagent also accepts it as an object, and treats any other single
 * value v as {"message": v, "result": "SUCCESS"}. A board ERROR becomes
 * {"result": "ERROR", "message": "<uri>: <text>"}.
 *
 * Texts are written the way the original (Python json.dumps) writes them:
 * keys message, result, req_id in that order, ", " and ": " separators; the
 * registration reply of 5.1 puts result first (WAMP_WAMPMSG_RESULT_FIRST).
 * Pure; any thread. */
#ifndef IOT_WAMP_WAMPMSG_H
#define IOT_WAMP_WAMPMSG_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"
#include "wamp/msg.h"

#define WAMP_REQ_ID_MAX 255 /* bytes in a req_id */

enum wamp_result {
    WAMP_RESULT_SUCCESS = 0,
    WAMP_RESULT_ERROR,
    WAMP_RESULT_WARNING,
    WAMP_RESULT_RUNNING,
};

/* Writing flags. */
#define WAMP_WAMPMSG_RESULT_FIRST 0x1u /* {"result": ..., "message": ...} (5.1) */
#define WAMP_WAMPMSG_COMPACT 0x2u      /* no spaces after ',' and ':' */

/* A parsed WampMessage. Owned by whoever filled it; release the fields with
 * wamp_wampmsg_clear(). */
struct wamp_wampmsg {
    enum wamp_result result;
    cJSON *message; /* never NULL once filled: JSON null when absent */
    char *req_id;   /* NULL when absent or null */
};

/* Parses a WampMessage JSON text strictly: an object whose result is one of
 * the four words, with an optional message (any value) and req_id (string or
 * null). Fills *out (clear it later) and returns 0, or -EINVAL with err
 * naming the problem (out is then empty). */
int wamp_wampmsg_parse(const char *text, size_t len, struct wamp_wampmsg *out,
                       struct error *err) IOT_WUR;

/* Interprets one reply value as 6.3 says: an object with a "result" key, or
 * a string holding the JSON text of one, is an envelope and must be valid
 * (-EINVAL otherwise); any other value v is {"message": v, "result":
 * "SUCCESS"}. */
int wamp_wampmsg_from_value(const cJSON *v, struct wamp_wampmsg *out, struct error *err) IOT_WUR;

/* The WampMessage of a YIELD or RESULT: Args[0] through
 * wamp_wampmsg_from_value(); no Args gives a SUCCESS with a null message,
 * several give a SUCCESS whose message is the Args array. */
int wamp_wampmsg_from_yield(struct wamp_msg *msg, struct wamp_wampmsg *out,
                            struct error *err) IOT_WUR;

/* The WampMessage of a board's ERROR: {"result": "ERROR", "message": "<uri>:
 * <text>"}, with Args[0] as the text (its JSON text when not a string), or
 * just "<uri>" without Args. Cannot fail on a parsed ERROR. */
void wamp_wampmsg_from_error(struct wamp_msg *msg, struct wamp_wampmsg *out);

/* Releases the fields of wm and empties it. Accepts an empty one. */
void wamp_wampmsg_clear(struct wamp_wampmsg *wm);

/* Appends the envelope to b. message NULL writes null; req_id NULL omits the
 * key. 0, -E2BIG (b's limit), or -EINVAL (message not writable, req_id not
 * UTF-8). */
int wamp_wampmsg_write(struct buf *b, enum wamp_result result, const cJSON *message,
                       const char *req_id, unsigned flags, struct error *err) IOT_WUR;

/* The same into a new string (free() it). */
int wamp_wampmsg_text(enum wamp_result result, const cJSON *message, const char *req_id,
                      unsigned flags, char **out, size_t *len, struct error *err) IOT_WUR;

/* The common case: a string message (UTF-8). Into a new string (free() it). */
int wamp_wampmsg_string(enum wamp_result result, const char *message, const char *req_id,
                        unsigned flags, char **out, size_t *len, struct error *err) IOT_WUR;

/* "SUCCESS", "ERROR", "WARNING", "RUNNING"; NULL for other values. */
const char *wamp_result_str(enum wamp_result r);

/* Reads one of the four words. 0 or -EINVAL. */
int wamp_result_parse(const char *s, enum wamp_result *out) IOT_WUR;

#endif
