/* wagent/invoke.h: board calls on behalf of the cloud (board-protocol.md 6, 8.1).
 *
 * The AMQP method `invoke` arrives on the AMQP thread, is validated there
 * into a struct wag_call and handed to the loop (inbox.h). On the loop the
 * call is checked against the board's live session and its pending limit,
 * waits for the method's registration when the board bound only moments ago
 * (registration_grace), is sent as INVOCATION [68, id, reg, {}, [req,
 * args...]], and is answered exactly once to its AMQP caller:
 *   {"outcome": "replied", "wampmessage": {...}}   YIELD or the board's ERROR,
 *                                                  or "not available"
 *   {"outcome": "not_connected"}                   no live session here
 *   {"outcome": "busy"}                            too many calls pending
 *   {"outcome": "timeout"}                         no answer in timeout_ms
 *   {"outcome": "disconnected"}                    the session ended first
 * A call is owned by the loop from its arrival until that answer. */
#ifndef IOT_WAGENT_INVOKE_H
#define IOT_WAGENT_INVOKE_H

#include <cjson/cJSON.h>
#include <ev.h>
#include <libwebsockets.h>
#include <stdint.h>

#include "amqp/mq.h"
#include "common/uuid.h"
#include "wagent/inbox.h"
#include "wamp/uri.h"
#include "wamp/wampmsg.h"

struct wag;
struct wag_board;
struct wag_session;

#define WAG_CALL_TIMEOUT_MAX_MS (24LL * 3600 * 1000)

enum wag_call_state { WAG_CALL_NEW, WAG_CALL_WAITING, WAG_CALL_SENT };

struct wag_call {
    struct wag_post post; /* AMQP thread -> loop */
    struct wag *w;
    struct mq_req *req; /* answered exactly once, then NULL */
    char board_uuid[UUID_STR_LEN];
    char method[WAMP_METHOD_MAX + 1];
    cJSON *args;   /* array: the arguments after req */
    cJSON *reqobj; /* the `req` object, or NULL */
    int64_t timeout_ms;
    enum wag_call_state state;
    struct wag_board *board; /* while counted in board->pending */
    uint64_t session;        /* SENT: the session it went to */
    uint64_t invocation;     /* SENT: its INVOCATION id there */
    lws_dll2_t wait_link;    /* WAITING: in board->waiting */
    ev_tstamp started;
    ev_tstamp grace_deadline; /* WAITING: when to answer "not available" */
    ev_timer timer;
};

/* The AMQP handler of `invoke` (amqp.c's table). AMQP thread. */
void wag_invoke_handler(struct mq_req *req, const cJSON *args, void *ctx);

/* Validates invoke's arguments into a new call (wag_call_free()). 0, or
 * -EINVAL with the argument at fault in err. Pure; any thread. */
int wag_call_parse(const cJSON *args, struct wag_call **out, struct error *err) IOT_WUR;
void wag_call_free(struct wag_call *c);

/* The `req` to send: the caller's, or for an engine call without one a
 * fresh request object naming the board and method (6.2); NULL for an
 * original agent older than 0.4.9. A new tree (cJSON_Delete). */
cJSON *wag_call_req(const struct wag_call *c, int no_req, int64_t now_us);

/* Loop thread: a YIELD or ERROR for one of s's invocations. */
void wag_invoke_replied(struct wag_session *s, struct wag_call *c, struct wamp_wampmsg *wm);

/* Loop thread: the board registered method: send the calls waiting for it. */
void wag_invoke_registered(struct wag_board *b, const char *method);

/* Loop thread: the board's session ended: every call sent on it, or waiting
 * for it, is answered "disconnected". */
void wag_invoke_session_ended(struct wag_session *s);
void wag_invoke_board_gone(struct wag_board *b);

#endif
