/* conductor/h_notify.c: notify_result, called by a wagent when a board
 * reports the final WampMessage of a RUNNING call (board-protocol.md 5.4,
 * iotronic-api-v1.md 2.14.2). The wagent answers the board only after this
 * reply, i.e. after the commit. */
#include <stdlib.h>
#include <string.h>

#include "api/fault.h"
#include "common/json.h"
#include "conductor/handlers.h"

void cond_h_notify_result(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct db *db = mq_req_worker_ctx(req);
    char board[UUID_STR_LEN], reqid[UUID_STR_LEN];
    const char *result = NULL;
    struct error err = {0};
    char *message = NULL;
    int rc;

    (void)ctx;
    rc = cond_arg_uuid(args, "board_uuid", board, &err);
    if (rc == 0)
        rc = cond_arg_uuid(args, "req_id", reqid, &err);
    if (rc == 0 && (json_get_str(args, "result", JSON_REQUIRED, 16, &result, &err) < 0 ||
                    (strcmp(result, "SUCCESS") && strcmp(result, "ERROR") &&
                     strcmp(result, "WARNING") && strcmp(result, "RUNNING"))))
        rc = api_fail(&err, 400, "result must be SUCCESS, ERROR, WARNING or RUNNING");
    if (rc == 0) {
        message = cond_message_text(cJSON_GetObjectItemCaseSensitive(args, "message"));
        rc = cond_request_finish(db, reqid, board, result, message, &err);
    }
    free(message);
    if (rc < 0)
        cond_reply_error(req, &err, NULL);
    else
        mq_reply(req, cJSON_CreateObject());
}
