/* src/rpc_function.c: the deviceless procedures (board-protocol.md 6.5,
 * deviceless-api.md 3.9): FunctionExecute, FunctionDeploy, FunctionRemove,
 * CachePurge and FunctionStatus, each [req, payload], served by the
 * function executor (src/fn_exec.h), which validates the payload and answers
 * RUNNING / SUCCESS / ERROR {"code", "message"}. Results of executions reach
 * the cloud through the outbox (agent.c's on_result hook). */
#include "src/rpc.h"

#include <string.h>

static enum wamp_result result_of(const char *kind)
{
    enum wamp_result r;

    return wamp_result_parse(kind, &r) == 0 ? r : WAMP_RESULT_ERROR;
}

static void on_reply(void *arg, const char *kind, cJSON *message)
{
    struct lrc_call *c = arg;
    enum wamp_result result = result_of(kind);

    lrc_call_reply(c, result, message);
    /* The executor answers once (fn_exec.h): after RUNNING an execution's
     * outcome travels as function_result through the outbox, never through
     * this call, which would otherwise be kept for ever. */
    if (result == WAMP_RESULT_RUNNING)
        lrc_call_release(c);
}

static void bad_request(struct lrc_call *c, const char *text)
{
    cJSON *m = cJSON_CreateObject();

    cJSON_AddStringToObject(m, "code", "bad_request");
    cJSON_AddStringToObject(m, "message", text);
    lrc_call_reply(c, WAMP_RESULT_ERROR, m);
}

typedef void (*fn_proc)(struct fn *, const cJSON *, fn_reply_fn, void *);

static void run(struct lrc_agent *a, struct lrc_call *c, const cJSON *args, fn_proc proc)
{
    const cJSON *payload;
    struct error err;

    if (lrc_arg_object(args, 0, "payload", 1, &payload, &err) < 0) {
        bad_request(c, err.msg);
        return;
    }
    proc(a->fn, payload, on_reply, c);
}

static void function_execute(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    run(a, c, args, fn_execute);
}

static void function_deploy(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    run(a, c, args, fn_deploy);
}

static void function_remove(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    run(a, c, args, fn_remove);
}

static void cache_purge(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    run(a, c, args, fn_purge);
}

static void function_status(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    const cJSON *payload;
    struct error err;

    /* The payload is {} (3.9); anything but an object is a caller's bug. */
    if (lrc_arg_object(args, 0, "payload", 0, &payload, &err) < 0) {
        bad_request(c, err.msg);
        return;
    }
    lrc_call_reply(c, WAMP_RESULT_SUCCESS, fn_status(a->fn));
}

const struct lrc_rpc_method lrc_rpc_function[] = {
    {"FunctionExecute", function_execute}, {"FunctionDeploy", function_deploy},
    {"FunctionRemove", function_remove},   {"CachePurge", cache_purge},
    {"FunctionStatus", function_status},   {NULL, NULL},
};
