/* src/rpc.h: the board procedures: dispatch table, calls and replies
 * (board-protocol.md 6.1 - 6.5, 10.6).
 *
 * Each module exports a table of its methods (name and handler); rpc.c lists
 * the tables, and the link registers every method under
 * iotronic.<session>.<uuid>.<Method> after each connection. An INVOCATION
 * carries [req, arg1, ...]: req (the conductor's request row) gives the
 * req_id echoed in the reply and main_request_uuid; the handler gets the
 * array of the arguments after req, validates them, and answers exactly
 * once through lrc_call_reply*() (at once or later). A reply is a YIELD whose
 * single argument is the WampMessage text.
 *
 * Long operations answer RUNNING first (lrc_call_running()); their final
 * reply then goes through the outbox as notify_result with the same req_id
 * (10.5), so it survives disconnections and restarts. A call whose req names
 * a main request is run that way whatever the method (6.2).
 *
 * Loop thread only. A struct lrc_call belongs to the handler until its final
 * reply, which frees it. */
#ifndef LRC_SRC_RPC_H
#define LRC_SRC_RPC_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "common/error.h"
#include "src/agent.h"
#include "wamp/msg.h"
#include "wamp/wampmsg.h"

struct lrc_call;

/* args: the arguments after req (a JSON array, borrowed for the call). */
typedef void (*lrc_rpc_fn)(struct lrc_agent *a, struct lrc_call *c, const cJSON *args);

struct lrc_rpc_method {
    const char *name; /* the <Method> of 6.1 */
    lrc_rpc_fn fn;
};

/* The modules' tables, each ending with {NULL, NULL}. */
extern const struct lrc_rpc_method lrc_rpc_device[];
extern const struct lrc_rpc_method lrc_rpc_io[];
extern const struct lrc_rpc_method lrc_rpc_plugin[];
extern const struct lrc_rpc_method lrc_rpc_service[];
extern const struct lrc_rpc_method lrc_rpc_function[];
extern const struct lrc_rpc_method lrc_rpc_trigger[]; /* src/trigger_agent.c */

/* Iterates over every method of every table: for (i = 0; (m = lrc_rpc_next(&i));). */
const struct lrc_rpc_method *lrc_rpc_next(size_t *i);

/* The method named name, or NULL. */
const struct lrc_rpc_method *lrc_rpc_find(const char *name);

/* Runs one INVOCATION (msg borrowed for the call) of method m for session
 * generation gen. Always answers: a malformed req is an ERROR reply. */
void lrc_rpc_invoke(struct lrc_agent *a, uint64_t gen, uint64_t request,
                    const struct lrc_rpc_method *m, struct wamp_msg *msg);

/* The final reply (or RUNNING, see below). message is taken (NULL: null). */
void lrc_call_reply(struct lrc_call *c, enum wamp_result result, cJSON *message);
void lrc_call_replyf(struct lrc_call *c, enum wamp_result result, const char *fmt, ...)
    IOT_PRINTF(3, 4);
void lrc_call_success(struct lrc_call *c, const char *text);
void lrc_call_error(struct lrc_call *c, const char *text);

/* The last reply whatever its result, RUNNING included (FunctionExecute's
 * "accepted": its outcome travels as function_result, not notify_result).
 * message is taken; c is freed. */
void lrc_call_finish(struct lrc_call *c, enum wamp_result result, cJSON *message);

/* Answers RUNNING with message (taken) and keeps c: its next reply is the
 * outcome, delivered by notify_result. */
void lrc_call_running(struct lrc_call *c, cJSON *message);

/* Frees c, which answered RUNNING and whose outcome reaches the cloud
 * another way (an execution's function_result through the outbox), without
 * sending anything. Loop thread. */
void lrc_call_release(struct lrc_call *c);

const char *lrc_call_method(const struct lrc_call *c);
const char *lrc_call_req_id(const struct lrc_call *c); /* "" when none */

/* Argument helpers: the positional argument i of args, checked. They return
 * 0, or -EINVAL / -ENOENT with a message naming the argument in err (answer
 * it with lrc_call_error(c, err.msg)). */
int lrc_arg_object(const cJSON *args, int i, const char *name, int required, const cJSON **out,
                   struct error *err) IOT_WUR;
int lrc_arg_string(const cJSON *args, int i, const char *name, size_t maxlen, const char **out,
                   struct error *err) IOT_WUR;
int lrc_arg_int(const cJSON *args, int i, const char *name, int64_t min, int64_t max, int64_t *out,
                struct error *err) IOT_WUR;
int lrc_arg_bool(const cJSON *args, int i, const char *name, int required, int *out,
                 struct error *err) IOT_WUR;
/* The method's `parameters` object (args[0]); absent or null reads as {}. */
int lrc_arg_params(const cJSON *args, const cJSON **out, struct error *err) IOT_WUR;

#endif
