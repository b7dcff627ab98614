/* src/rpc.c: see rpc.h. The list of method tables is the agent's one place
 * that names every module's procedures. */
#include "src/rpc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "src/link.h"
#include "src/outbox.h"

#define REQ_ID_MAX WAMP_REQ_ID_MAX

static const struct lrc_rpc_method *const tables[] = {
    lrc_rpc_device, lrc_rpc_io, lrc_rpc_plugin, lrc_rpc_service, lrc_rpc_function, lrc_rpc_trigger,
};

struct lrc_call {
    struct lrc_agent *a;
    uint64_t gen, request;
    const struct lrc_rpc_method *m;
    char *req_id; /* NULL: the call carried no req */
    int running;  /* RUNNING was sent: the outcome goes by notify_result */
};

const struct lrc_rpc_method *lrc_rpc_next(size_t *i)
{
    size_t t = *i >> 16, k = *i & 0xffff;

    while (t < sizeof(tables) / sizeof(tables[0])) {
        if (tables[t][k].name != NULL) {
            *i = (t << 16) | (k + 1);
            return &tables[t][k];
        }
        t++;
        k = 0;
    }
    *i = t << 16;
    return NULL;
}

const struct lrc_rpc_method *lrc_rpc_find(const char *name)
{
    const struct lrc_rpc_method *m;
    size_t i = 0;

    while ((m = lrc_rpc_next(&i)) != NULL)
        if (strcmp(m->name, name) == 0)
            return m;
    return NULL;
}

const char *lrc_call_method(const struct lrc_call *c)
{
    return c->m->name;
}

const char *lrc_call_req_id(const struct lrc_call *c)
{
    return c->req_id ? c->req_id : "";
}

static void call_free(struct lrc_call *c)
{
    free(c->req_id);
    free(c);
}

/* The final WampMessage of a call that answered RUNNING: notify_result,
 * through the outbox so that it outlives the session (10.5). */
static void notify(struct lrc_call *c, const char *text)
{
    const char *board = lrc_agent_board(c->a);
    cJSON *kw;

    if (board == NULL || c->a->outbox == NULL) {
        log_warn("rpc %s: outcome dropped: the board is not registered", c->m->name);
        return;
    }
    kw = cJSON_CreateObject();
    cJSON_AddStringToObject(kw, "board_uuid", board);
    cJSON_AddStringToObject(kw, "wampmessage", text);
    lrc_outbox_put(c->a->outbox, LRC_OUTBOX_NOTIFY, kw, c->req_id);
}

static void send_text(struct lrc_call *c, enum wamp_result result, const cJSON *message)
{
    struct error err;
    char *text = NULL;
    size_t len;

    if (wamp_wampmsg_text(result, message, c->req_id, 0, &text, &len, &err) < 0) {
        log_error("rpc %s: cannot encode the reply: %s", c->m->name, err.msg);
        result = WAMP_RESULT_ERROR;
        if (wamp_wampmsg_string(result, "The reply could not be encoded.", c->req_id, 0, &text,
                                &len, &err) < 0)
            text = NULL; /* only with an unwritable req_id, which read_req() excludes */
    }
    if (text == NULL)
        return;
    if (c->running && result != WAMP_RESULT_RUNNING)
        notify(c, text);
    else if (lrc_link_yield(c->a->link, c->gen, c->request, text, len) < 0)
        log_info("rpc %s req=%s: reply dropped: its session is gone", c->m->name,
                 lrc_call_req_id(c));
    free(text);
}

void lrc_call_reply(struct lrc_call *c, enum wamp_result result, cJSON *message)
{
    if (result == WAMP_RESULT_RUNNING) {
        if (!c->running)
            send_text(c, result, message);
        c->running = 1;
        cJSON_Delete(message);
        return;
    }
    lrc_call_finish(c, result, message);
}

void lrc_call_finish(struct lrc_call *c, enum wamp_result result, cJSON *message)
{
    if (result == WAMP_RESULT_ERROR) {
        char *t = json_print(message);

        log_info("rpc %s req=%s: ERROR %s", c->m->name, lrc_call_req_id(c), t);
        free(t);
    }
    send_text(c, result, message);
    cJSON_Delete(message);
    call_free(c);
}

void lrc_call_running(struct lrc_call *c, cJSON *message)
{
    lrc_call_reply(c, WAMP_RESULT_RUNNING, message);
}

void lrc_call_release(struct lrc_call *c)
{
    call_free(c);
}

void lrc_call_replyf(struct lrc_call *c, enum wamp_result result, const char *fmt, ...)
{
    va_list ap;
    char *text;

    va_start(ap, fmt);
    text = xvasprintf(fmt, ap);
    va_end(ap);
    lrc_call_reply(c, result, cJSON_CreateString(text));
    free(text);
}

void lrc_call_success(struct lrc_call *c, const char *text)
{
    lrc_call_reply(c, WAMP_RESULT_SUCCESS, cJSON_CreateString(text));
}

void lrc_call_error(struct lrc_call *c, const char *text)
{
    lrc_call_reply(c, WAMP_RESULT_ERROR, cJSON_CreateString(text));
}

/* req (6.2): an object whose uuid is echoed; main_request_uuid set means a
 * long operation. null is accepted (the calling convention of agents older
 * than 0.4.9 has no req; ours always gets one). */
static int read_req(struct lrc_call *c, const cJSON *req, int *long_op, struct error *err)
{
    const char *uuid = NULL, *main = NULL;
    int rc;

    *long_op = 0;
    if (req == NULL || cJSON_IsNull(req))
        return 0;
    if (!cJSON_IsObject(req))
        return error_set(err, -EINVAL, "req must be an object");
    rc = json_get_str(req, "uuid", JSON_NULLABLE, REQ_ID_MAX, &uuid, err);
    if (rc < 0 && rc != -ENOENT)
        return error_prefix(err, "req");
    if (rc == 0)
        c->req_id = xstrdup(uuid);
    rc = json_get_str(req, "main_request_uuid", JSON_NULLABLE, REQ_ID_MAX, &main, err);
    if (rc < 0 && rc != -ENOENT)
        return error_prefix(err, "req");
    *long_op = rc == 0;
    return 0;
}

void lrc_rpc_invoke(struct lrc_agent *a, uint64_t gen, uint64_t request,
                    const struct lrc_rpc_method *m, struct wamp_msg *msg)
{
    const cJSON *args = wamp_msg_args(msg);
    struct lrc_call *c = xcalloc(1, sizeof(*c));
    cJSON *rest;
    struct error err;
    int long_op;

    c->a = a;
    c->gen = gen;
    c->request = request;
    c->m = m;
    if (args != NULL && !cJSON_IsArray(args)) {
        lrc_call_error(c, "Args must be an array");
        return;
    }
    if (read_req(c, cJSON_GetArrayItem(args, 0), &long_op, &err) < 0) {
        lrc_call_error(c, err.msg);
        return;
    }
    log_debug("rpc %s req=%s", m->name, lrc_call_req_id(c));
    rest = args ? cJSON_Duplicate(args, 1) : cJSON_CreateArray();
    cJSON_Delete(cJSON_DetachItemFromArray(rest, 0));
    if (long_op)
        lrc_call_running(c, cJSON_CreateString("Operation started"));
    m->fn(a, c, rest);
    cJSON_Delete(rest);
}

/* ---------------------------------------------------------- arguments */

static const cJSON *arg_at(const cJSON *args, int i)
{
    const cJSON *v = cJSON_GetArrayItem(args, i);

    return v != NULL && !cJSON_IsNull(v) ? v : NULL;
}

int lrc_arg_object(const cJSON *args, int i, const char *name, int required, const cJSON **out,
                   struct error *err)
{
    const cJSON *v = arg_at(args, i);

    *out = NULL;
    if (v == NULL)
        return required ? error_set(err, -ENOENT, "missing %s", name) : 0;
    if (!cJSON_IsObject(v))
        return error_set(err, -EINVAL, "%s must be an object", name);
    *out = v;
    return 0;
}

int lrc_arg_string(const cJSON *args, int i, const char *name, size_t maxlen, const char **out,
                   struct error *err)
{
    const cJSON *v = arg_at(args, i);

    *out = NULL;
    if (v == NULL)
        return error_set(err, -ENOENT, "missing %s", name);
    if (!cJSON_IsString(v))
        return error_set(err, -EINVAL, "%s must be a string", name);
    if (strlen(v->valuestring) > maxlen)
        return error_set(err, -EINVAL, "%s is longer than %zu characters", name, maxlen);
    *out = v->valuestring;
    return 0;
}

int lrc_arg_int(const cJSON *args, int i, const char *name, int64_t min, int64_t max, int64_t *out,
                struct error *err)
{
    const cJSON *v = arg_at(args, i);

    if (v == NULL)
        return error_set(err, -ENOENT, "missing %s", name);
    if (!json_int_value(v, min, max, out))
        return error_set(err, -EINVAL, "%s must be an integer between %lld and %lld", name,
                         (long long)min, (long long)max);
    return 0;
}

int lrc_arg_bool(const cJSON *args, int i, const char *name, int required, int *out,
                 struct error *err)
{
    const cJSON *v = arg_at(args, i);

    if (v == NULL) {
        *out = 0;
        return required ? error_set(err, -ENOENT, "missing %s", name) : 0;
    }
    if (!cJSON_IsBool(v))
        return error_set(err, -EINVAL, "%s must be a boolean", name);
    *out = cJSON_IsTrue(v);
    return 0;
}

int lrc_arg_params(const cJSON *args, const cJSON **out, struct error *err)
{
    static const cJSON empty = {.type = cJSON_Object};
    int rc = lrc_arg_object(args, 0, "parameters", 0, out, err);

    if (rc == 0 && *out == NULL)
        *out = &empty;
    return rc;
}
