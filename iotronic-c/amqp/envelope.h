/* amqp/envelope.h: the JSON bodies of RPC requests and replies over AMQP.
 *
 * Request (a call or a cast), the body of an AMQP message:
 *
 *   {"v":1, "method":"create_board", "args":{...},
 *    "request_id":"req-8a1e...", "deadline_ms":1795000000123}
 *
 *   v            required, the integer 1; another value is refused
 *   method       required, 1..MQ_METHOD_MAX characters of [A-Za-z0-9_.:-]
 *   args         optional JSON object (absent: {}); anything else is refused
 *   request_id   optional string, 0..MQ_REQID_MAX printable ASCII characters
 *                without spaces: the caller's log request id, set on the
 *                handler's thread while it runs (common/log.h)
 *   deadline_ms  optional integer, Unix time in ms (wall clock) after which
 *                the caller no longer waits; 0 or absent: none. A server drops
 *                a request whose deadline has passed without running it.
 *   other keys   ignored (room for later versions)
 *
 * Reply, the body of the message sent to the request's reply_to:
 *
 *   {"v":1, "ok":true, "result":<any JSON>}
 *   {"v":1, "ok":false, "error":{"errno":22, "status":400,
 *                                "message":"Board ... is not connected.", "data":null}}
 *
 *   errno    required, positive errno 1..4095 as the handler set it
 *   status   optional, an HTTP status hint 100..599, or 0 (absent): none
 *   message  required string, at most MQ_ERRMSG_MAX bytes
 *   data     optional, any JSON (null: none)
 *   result   optional (absent: null)
 *
 * AMQP properties (set by amqp/mq.c, listed here so that the wire is in one
 * place): content_type "application/json"; message_id = correlation_id =
 * "<16 hex digits of the sender instance>.<sequence>", kept when a call is
 * re-sent after a reconnect; reply_to "amq.rabbitmq.reply-to" for calls,
 * absent for casts; type = the method; delivery_mode 1 (calls, replies,
 * casts) or 2 (MQ_PERSISTENT); expiration = the call's timeout in ms, so
 * that the broker drops requests nobody waits for. Replies carry the
 * request's correlation_id and are never persistent.
 *
 * Pure: no I/O, no globals; any thread. */
#ifndef IOT_AMQP_ENVELOPE_H
#define IOT_AMQP_ENVELOPE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define MQ_ENV_VERSION 1
#define MQ_METHOD_MAX 128
#define MQ_REQID_MAX 63 /* LOG_REQID_MAX - 1 */
#define MQ_ERRMSG_MAX 4096
#define MQ_ERRNO_MAX 4095
#define MQ_DEADLINE_MAX 9007199254740992LL /* 2^53: exact in every JSON reader */

/* A decoded request. root owns the tree; the other pointers borrow from it. */
struct mq_request_env {
    cJSON *root;
    const char *method;
    const cJSON *args;      /* always an object */
    const char *request_id; /* "" when absent */
    int64_t deadline_ms;    /* 0: none */
};

/* A decoded reply. root owns the tree; the other pointers borrow from it. */
struct mq_reply_env {
    cJSON *root;
    int ok;
    const cJSON *result; /* ok: never NULL (a null item when absent) */
    int errnum;          /* !ok: 1..MQ_ERRNO_MAX */
    int status;          /* !ok: 0 or 100..599 */
    const char *message; /* !ok */
    const cJSON *data;   /* !ok: NULL when absent or null */
};

/* 1 when s is a valid method name. */
int mq_env_method_ok(const char *s);

/* 1 when s is a valid request id (the empty string is). */
int mq_env_request_id_ok(const char *s);

/* Serialises a request. args may be NULL ({}); a request_id that is not
 * valid is replaced by a new "req-<uuid>". Returns a new NUL-terminated text
 * (free()) and its length in *len. method must satisfy mq_env_method_ok(). */
char *mq_env_request_encode(const char *method, const cJSON *args, const char *request_id,
                            int64_t deadline_ms, size_t *len);

/* Parses and validates body[0..len). On success *out holds a new tree
 * (mq_env_request_clear()). -EINVAL with the reason in err otherwise. */
int mq_env_request_decode(const char *body, size_t len, struct mq_request_env *out,
                          struct error *err) IOT_WUR;
void mq_env_request_clear(struct mq_request_env *e);

/* Serialise replies; result and data may be NULL (null). errnum is taken
 * as its absolute value and clamped to 1..MQ_ERRNO_MAX (0 becomes EIO);
 * status outside 100..599 becomes 0; message (NULL: strerror) is cut to
 * MQ_ERRMSG_MAX bytes on a UTF-8 character boundary. New text (free()). */
char *mq_env_reply_ok(const cJSON *result, size_t *len);
char *mq_env_reply_error(int errnum, int status, const char *message, const cJSON *data,
                         size_t *len);

int mq_env_reply_decode(const char *body, size_t len, struct mq_reply_env *out,
                        struct error *err) IOT_WUR;
void mq_env_reply_clear(struct mq_reply_env *e);

#endif
