/* conductor/boardcall.h: calls to boards, with their requests and results
 * (iotronic-api-v1.md 2.14.2, board-protocol.md 6.2 and 8.1).
 *
 * A call is recorded before it is sent: one transaction inserts the
 * `requests` row (PENDING) and its `results` row (RUNNING). The call then goes
 * to the wagent named by boards.agent as the AMQP method `invoke`; its
 * outcome completes the rows: SUCCESS/WARNING/ERROR are stored and the
 * request (and its parent's pending count) completed; RUNNING stays open
 * until the board's notify_result; a timeout stores ERROR "timeout". A wagent
 * that says not_connected is asked once more after re-reading boards.agent
 * (the board may just have moved). Worker threads only (blocks on the
 * database and on the wagent). */
#ifndef IOT_CONDUCTOR_BOARDCALL_H
#define IOT_CONDUCTOR_BOARDCALL_H

#include <cjson/cJSON.h>

#include "conductor/cond.h"

struct cond_call_result {
    char request[UUID_STR_LEN]; /* the request row, "" if none was recorded */
    char result[12];            /* SUCCESS, WARNING, RUNNING (ERROR fails the call) */
    char *message;              /* the board's message as a string (free()) */
};

/* Calls method on board b with args (a JSON array of the arguments after
 * req; taken over), as a child of parent (NULL: none). Returns 0 with out
 * filled (free out->message), or the REST failure in err: 400 "Board <uuid>
 * is not connected.", 502 "Error in the execution of <method> on <uuid>:
 * <message>", 504 "Board <uuid> did not answer in time.", 503. out->request
 * is set whenever a request row exists, also on failure. */
int cond_board_call(struct cond *c, struct db *db, const struct cond_board *b, const char *method,
                    cJSON *args, const char *parent, struct cond_call_result *out,
                    struct error *err) IOT_WUR;

void cond_call_result_free(struct cond_call_result *r);

/* Completes request req_id of board board_uuid with a final WampMessage
 * outcome (notify_result, and the synchronous path). Idempotent. 404 for an
 * unknown request, 400 "Request <id> is not for this board.". */
int cond_request_finish(struct db *db, const char *req_id, const char *board_uuid,
                        const char *result, const char *message, struct error *err) IOT_WUR;

/* 1 when lr_version is an original agent older than 0.4.9 (called without
 * `req`, board-protocol 6.2). */
int cond_lr_without_req(const char *lr_version);

/* The message of a WampMessage as text: strings as they are, null as "",
 * other values as compact JSON. Returns a new string (free()). */
char *cond_message_text(const cJSON *message);

#endif
