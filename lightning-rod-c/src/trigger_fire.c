/* src/trigger_fire.c: from a sample or an edge to a reported firing
 * (deviceless-api.md 3.7.4, 3.7.5).
 *
 * The hot path of a sensor-to-actuator loop starts here, on the loop
 * thread, with no disk access: the HAL's callback feeds the evaluator, a
 * firing takes the next sequence number from a reservation that is already
 * durable, and either goes to the emit hook (the outbox, then
 * stack4things.event) or becomes a FunctionExecute for the executor at once.
 * Only a firing whose number is not yet covered on disk (right after an
 * install or a restart) waits for that write, at most TRIG_HELD_MAX of them
 * per trigger. */
#include "src/trigger_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/uuid.h"
#include "common/xalloc.h"

/* ----------------------------------------------------- sequence numbers */

void trig_seq_init(struct trig *g, int64_t from)
{
    g->next_seq = from > 0 ? from : 1;
    g->reserved = g->next_seq + TRIG_SEQ_BLOCK;
    g->durable = 0; /* until the write carrying the reservation completes */
}

/* The next number, or -1 when none is durable yet. Reserves the next block
 * half a block ahead, so the write is normally done long before it is
 * needed. */
static int64_t take_seq(struct trig *g)
{
    if (g->next_seq >= g->durable)
        return -1;
    if (g->next_seq + TRIG_SEQ_BLOCK / 2 >= g->reserved) {
        g->reserved = g->next_seq + TRIG_SEQ_BLOCK;
        trig_store_save(g->eng, NULL, NULL);
    }
    return g->next_seq++;
}

/* ------------------------------------------------------------- firings */

static void event_kwargs_add(cJSON *kw, const cJSON *event)
{
    static const char *const keys[] = {"trigger_id", "firing_seq", "source",
                                       "value",      "previous",   "condition",
                                       "threshold",  "sampled_at", "fired_at"};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(event, keys[i]);

        cJSON_AddItemToObject(kw, keys[i], v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
    }
}

static void emit(struct trig_engine *t, cJSON *kwargs, const char *key)
{
    if (t->hooks.emit != NULL)
        t->hooks.emit(t->hooks.arg, kwargs, key);
    else
        cJSON_Delete(kwargs);
}

static void wait_unlink(struct local_wait *w)
{
    if (w->eng == NULL)
        return;
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        w->eng->waits = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    w->eng = NULL;
}

/* The executor answered: report the firing, naming the execution it ran
 * (or, refused, none and why). */
static void on_local_reply(void *arg, const char *kind, cJSON *message)
{
    struct local_wait *w = arg;
    struct trig_engine *t = w->eng;

    if (t != NULL) {
        wait_unlink(w);
        if (strcmp(kind, "ERROR") == 0) {
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(message, "message");
            const char *why = cJSON_IsString(m) ? m->valuestring : "refused";

            log_warn("local trigger execution refused key=%s execution=%s: %s", w->key,
                     w->execution_id, why);
            cJSON_AddNullToObject(w->kwargs, "execution_id");
            cJSON_AddStringToObject(w->kwargs, "error", why);
        } else {
            cJSON_AddStringToObject(w->kwargs, "execution_id", w->execution_id);
        }
        emit(t, w->kwargs, w->key);
        w->kwargs = NULL;
    }
    cJSON_Delete(message);
    cJSON_Delete(w->kwargs);
    free(w);
}

static void run_local(struct trig *g, const cJSON *event, cJSON *kwargs, const char *key,
                      int64_t seq)
{
    struct trig_engine *t = g->eng;
    struct local_wait *w = xcalloc(1, sizeof(*w));
    cJSON *input = trigdef_input(g->def.tmpl, event), *payload;

    uuid_v4(w->execution_id);
    snprintf(w->key, sizeof(w->key), "%s", key);
    w->kwargs = kwargs;
    w->eng = t;
    w->next = t->waits;
    if (t->waits != NULL)
        t->waits->prev = w;
    t->waits = w;
    payload = trig_def_execute(&g->def, w->execution_id, input);
    cJSON_Delete(input);
    if (t->hooks.run_local != NULL)
        t->hooks.run_local(t->hooks.arg, payload, g->def.id, seq, on_local_reply, w);
    else
        on_local_reply(w, "ERROR", NULL);
    cJSON_Delete(payload);
}

static void fire(struct trig *g, const struct trig_decision *d, int64_t fired_at_us, int64_t seq)
{
    struct trigdef_firing f = {
        .trigger_id = g->def.id,
        .seq = seq,
        .board_id = g->eng->hooks.board_id ? g->eng->hooks.board_id(g->eng->hooks.arg) : NULL,
        .src = &g->def.src,
        .value = d->value,
        .has_previous = d->has_previous,
        .previous = d->previous,
        .sampled_at_us = d->sampled_at_us,
        .fired_at_us = fired_at_us,
    };
    cJSON *event = trigdef_event(&f), *kwargs = cJSON_CreateObject();
    char key[80];

    snprintf(key, sizeof(key), "%s/%lld", g->def.id, (long long)seq);
    event_kwargs_add(kwargs, event);
    cJSON_AddBoolToObject(kwargs, "local", g->def.local);
    g->fire_count++;
    g->last_fired_us = fired_at_us;
    log_debug("trigger fired trigger=%s seq=%lld value=%g sampled_at_us=%lld local=%d", g->def.id,
              (long long)seq, d->value, (long long)d->sampled_at_us, g->def.local);
    if (g->def.local)
        run_local(g, event, kwargs, key, seq);
    else
        emit(g->eng, kwargs, key);
    cJSON_Delete(event);
}

static void decided(struct trig *g, const struct trig_decision *d)
{
    int64_t fired_at = time_now_us(), seq = take_seq(g);

    if (seq > 0) {
        fire(g, d, fired_at, seq);
        return;
    }
    if (g->nheld == TRIG_HELD_MAX) {
        log_warn("trigger %s: %d firings already wait for triggers.json; one is dropped", g->def.id,
                 TRIG_HELD_MAX);
        return;
    }
    g->held[g->nheld].d = *d;
    g->held[g->nheld].fired_at_us = fired_at;
    g->nheld++;
}

void trig_seq_durable(struct trig *g, int64_t r)
{
    int n = g->nheld;

    if (r > g->durable)
        g->durable = r;
    g->nheld = 0;
    for (int i = 0; i < n; i++) {
        int64_t seq = take_seq(g);

        if (seq < 0) { /* cannot happen: a whole block was just made durable */
            g->held[g->nheld++] = g->held[i];
            continue;
        }
        fire(g, &g->held[i].d, g->held[i].fired_at_us, seq);
    }
}

void trig_waits_detach(struct trig_engine *t)
{
    while (t->waits != NULL)
        wait_unlink(t->waits);
}

/* ---------------------------------------------------------- HAL inputs */

static void note_error(struct trig *g, const char *msg)
{
    int64_t now = time_mono_us();

    snprintf(g->error, sizeof(g->error), "%.190s", msg);
    if (g->error_logged_us == 0 || now - g->error_logged_us >= TRIG_ERROR_LOG_US) {
        log_warn("trigger %s: cannot read sensor %s: %s", g->def.id, g->def.src.name, msg);
        g->error_logged_us = now;
    }
}

void trig_on_sample(void *arg, int rc, const struct hal_reading *r, const char *msg)
{
    struct trig *g = arg;
    struct trig_decision d;

    if (rc < 0 || r == NULL) {
        note_error(g, msg != NULL ? msg : "read failed");
        return;
    }
    g->error[0] = '\0';
    g->last_value = r->value;
    g->last_sample_us = r->ts_us;
    g->have_value = 1;
    if (trig_eval_sample(&g->eval, r->value, r->ts_us, &d))
        decided(g, &d);
}

void trig_on_edge(void *arg, const struct hal_gpio_event *ev)
{
    struct trig *g = arg;
    struct trig_decision d;

    g->last_value = ev->value;
    g->last_sample_us = ev->ts_us;
    g->have_value = 1;
    if (trig_eval_edge(&g->eval, ev->value, ev->ts_us, &d))
        decided(g, &d);
}
