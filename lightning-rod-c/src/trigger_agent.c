/* src/trigger_agent.c: the trigger engine's hooks into the agent (see
 * trigger_agent.h), and the TriggerSet procedure (board-protocol.md 6.5).
 *
 * Invariant: a held local execution owns a copy of its payload and is
 * answered exactly once: by the executor once it is ready, or "busy" when
 * the agent goes away first. */
#include "src/trigger_agent.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/uuid.h"
#include "common/xalloc.h"
#include "src/outbox.h"
#include "src/rpc.h"
#include "src/trigger.h"

struct held_exec {
    struct held_exec *next;
    cJSON *payload;
    char trigger_id[UUID_STR_LEN];
    int64_t seq;
    trig_reply_fn reply;
    void *reply_arg;
};

struct lrc_triggers {
    struct lrc_agent *a;
    struct trig_engine *eng;
    struct held_exec *held, **held_tail;
    int nheld;
};

static void answer_busy(trig_reply_fn reply, void *arg, const char *why)
{
    cJSON *m = cJSON_CreateObject();

    cJSON_AddStringToObject(m, "code", "busy");
    cJSON_AddStringToObject(m, "message", why);
    reply(arg, "ERROR", m);
}

/* ------------------------------------------------------------- hooks */

static void emit(void *arg, cJSON *kwargs, const char *key)
{
    struct lrc_triggers *tr = arg;
    const char *board = lrc_agent_board(tr->a);

    /* The wagent checks board_uuid against the session (board-protocol.md
     * 4.4); a board with no UUID has no cloud to report to. */
    if (board == NULL || tr->a->outbox == NULL) {
        log_warn("trigger firing %s not reported: the board is not registered", key);
        cJSON_Delete(kwargs);
        return;
    }
    cJSON_AddStringToObject(kwargs, "board_uuid", board);
    lrc_outbox_put(tr->a->outbox, LRC_OUTBOX_EVENT, kwargs, key);
}

static void execute_now(struct lrc_triggers *tr, const cJSON *payload, const char *trigger_id,
                        int64_t seq, trig_reply_fn reply, void *reply_arg)
{
    struct fn_local local = {trigger_id, seq};

    fn_execute_local(tr->a->fn, payload, &local, reply, reply_arg);
}

static void run_local(void *arg, const cJSON *payload, const char *trigger_id, int64_t seq,
                      trig_reply_fn reply, void *reply_arg)
{
    struct lrc_triggers *tr = arg;
    struct held_exec *h;

    if (tr->a->fn != NULL && tr->a->fn_ready && tr->held == NULL) {
        execute_now(tr, payload, trigger_id, seq, reply, reply_arg);
        return;
    }
    if (tr->nheld >= LRC_TRIG_WAIT_MAX) {
        answer_busy(reply, reply_arg, "Too many local executions wait for the executor to start.");
        return;
    }
    h = xcalloc(1, sizeof(*h));
    h->payload = cJSON_Duplicate(payload, 1);
    memcpy(h->trigger_id, trigger_id, UUID_STR_LEN);
    h->trigger_id[UUID_STR_LEN - 1] = '\0';
    h->seq = seq;
    h->reply = reply;
    h->reply_arg = reply_arg;
    *tr->held_tail = h;
    tr->held_tail = &h->next;
    tr->nheld++;
}

static const char *board_id(void *arg)
{
    return lrc_agent_board(((struct lrc_triggers *)arg)->a);
}

/* ------------------------------------------------------- life cycle */

int lrc_triggers_init(struct lrc_agent *a, struct error *err)
{
    struct lrc_triggers *tr = xcalloc(1, sizeof(*tr));
    struct trig_deps deps = {
        .ev = loop_ev(a->loop), .hal = a->hal, .wq = a->wq, .state_dir = a->conf->state_dir};
    struct trig_hooks hooks = {
        .emit = emit, .run_local = run_local, .board_id = board_id, .arg = tr};
    int rc;

    tr->a = a;
    tr->held_tail = &tr->held;
    a->triggers = tr;
    rc = trig_engine_new(&deps, &hooks, &tr->eng, err);
    if (rc == 0)
        rc = trig_engine_load(tr->eng, err);
    return rc < 0 ? error_prefix(err, "triggers") : 0;
}

static struct held_exec *take_held(struct lrc_triggers *tr)
{
    struct held_exec *h = tr->held;

    if (h != NULL) {
        tr->held = h->next;
        if (tr->held == NULL)
            tr->held_tail = &tr->held;
        tr->nheld--;
    }
    return h;
}

void lrc_triggers_ready(struct lrc_agent *a)
{
    struct lrc_triggers *tr = a->triggers;
    struct held_exec *h;

    if (tr == NULL)
        return;
    while (a->fn != NULL && a->fn_ready && (h = take_held(tr)) != NULL) {
        execute_now(tr, h->payload, h->trigger_id, h->seq, h->reply, h->reply_arg);
        cJSON_Delete(h->payload);
        free(h);
    }
}

void lrc_triggers_purge(struct lrc_agent *a)
{
    if (a->triggers != NULL)
        trig_engine_purge(a->triggers->eng);
}

cJSON *lrc_triggers_status(const struct lrc_agent *a)
{
    if (a->triggers == NULL || a->triggers->eng == NULL)
        return cJSON_CreateNull();
    return trig_engine_status(a->triggers->eng);
}

void lrc_triggers_fini(struct lrc_agent *a)
{
    struct lrc_triggers *tr = a->triggers;
    struct held_exec *h;

    if (tr == NULL)
        return;
    while ((h = take_held(tr)) != NULL) {
        answer_busy(h->reply, h->reply_arg, "The agent is stopping.");
        cJSON_Delete(h->payload);
        free(h);
    }
    trig_engine_free(tr->eng);
    free(tr);
    a->triggers = NULL;
}

/* -------------------------------------------------------- TriggerSet */

static void on_set(void *arg, const char *kind, cJSON *message)
{
    enum wamp_result r;

    if (wamp_result_parse(kind, &r) < 0)
        r = WAMP_RESULT_ERROR;
    lrc_call_reply(arg, r, message);
}

/* TriggerSet [req, {"triggers": [...]}] (deviceless-api.md 3.9). */
static void trigger_set(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    const cJSON *payload;
    struct error err;

    if (lrc_arg_object(args, 0, "payload", 1, &payload, &err) < 0) {
        lrc_call_error(c, err.msg);
        return;
    }
    if (a->triggers == NULL) {
        lrc_call_error(c, "Triggers are not available on this board.");
        return;
    }
    trig_engine_set(a->triggers->eng, payload, on_set, c);
}

const struct lrc_rpc_method lrc_rpc_trigger[] = {
    {"TriggerSet", trigger_set},
    {NULL, NULL},
};
