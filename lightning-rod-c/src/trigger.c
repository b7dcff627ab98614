/* src/trigger.c: the trigger set of the board and its HAL watches
 * (deviceless-api.md 3.7.3; the API is in trigger.h).
 *
 * Invariants: t->list holds every trigger the engine knows, in the order the
 * cloud sent them; a trigger is `installed` exactly when it holds a HAL
 * sampler (sensor) or watch (GPIO). A TriggerSet builds the new list
 * completely (installing new watches before the old ones are released, so a
 * line watched by both never drops its request), then swaps it in and
 * releases what is left of the old one; its answer waits until the new set
 * is durable in triggers.json. */
#include "src/trigger_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

const char *trig_board(const struct trig_engine *t)
{
    const char *b = t->hooks.board_id != NULL ? t->hooks.board_id(t->hooks.arg) : NULL;

    return b != NULL ? b : "(unregistered)";
}

struct trig *trig_find(struct trig *list, const char *id)
{
    for (; list != NULL; list = list->next)
        if (strcmp(list->def.id, id) == 0)
            return list;
    return NULL;
}

/* ------------------------------------------------------- one trigger */

static enum hal_gpio_edge edge_of(enum trigdef_cond c)
{
    return c == TRIGDEF_RISING    ? HAL_GPIO_EDGE_RISING
           : c == TRIGDEF_FALLING ? HAL_GPIO_EDGE_FALLING
                                  : HAL_GPIO_EDGE_BOTH;
}

static int install(struct trig *g, struct error *err)
{
    struct trig_engine *t = g->eng;
    const struct trigdef_source *s = &g->def.src;
    unsigned ms = (unsigned)s->sample_interval_ms;
    int rc;

    if (s->kind == TRIGDEF_SENSOR) {
        if (!hal_sensor_exists(t->deps.hal, s->name))
            return error_set(err, -ENODEV, "Board %s has no sensor %s.", trig_board(t), s->name);
        rc = hal_sensor_sample(t->deps.hal, s->name, ms, trig_on_sample, g, &g->sampler, err);
    } else {
        if (!hal_gpio_has_line(t->deps.hal, s->name, s->line))
            return error_set(err, -ENODEV, "Board %s has no GPIO line %s:%u.", trig_board(t),
                             s->name, s->line);
        rc = hal_gpio_watch(t->deps.hal, s->name, s->line, edge_of(s->cond), ms, trig_on_edge, g,
                            &g->watch, err);
    }
    g->installed = rc == 0;
    if (rc < 0)
        snprintf(g->error, sizeof(g->error), "%.190s", err->msg);
    return rc;
}

static void uninstall(struct trig *g)
{
    hal_sampler_free(g->sampler);
    hal_gpio_watch_free(g->watch);
    g->sampler = NULL;
    g->watch = NULL;
    g->installed = 0;
}

/* A new trigger from d (taken), not installed yet. */
static struct trig *trig_new(struct trig_engine *t, struct trig_def *d)
{
    struct trig *g = xcalloc(1, sizeof(*g));

    g->eng = t;
    g->def = *d;
    memset(d, 0, sizeof(*d));
    trig_eval_init(&g->eval, &g->def.src);
    return g;
}

static void trig_free(struct trig *g)
{
    if (g == NULL)
        return;
    uninstall(g);
    trig_def_clear(&g->def);
    free(g);
}

static void list_free(struct trig *g)
{
    while (g != NULL) {
        struct trig *next = g->next;

        trig_free(g);
        g = next;
    }
}

/* Removes the trigger id from *list and returns it, or NULL. */
static struct trig *detach(struct trig **list, const char *id)
{
    for (; *list != NULL; list = &(*list)->next)
        if (strcmp((*list)->def.id, id) == 0) {
            struct trig *g = *list;

            *list = g->next;
            g->next = NULL;
            return g;
        }
    return NULL;
}

static int same_device(const struct trigdef_source *a, const struct trigdef_source *b)
{
    return a->kind == b->kind && strcmp(a->name, b->name) == 0 && a->line == b->line;
}

static void carry_state(const struct trig *old, struct trig *g)
{
    g->eval = old->eval;
    g->fire_count = old->fire_count;
    g->last_fired_us = old->last_fired_us;
    g->last_sample_us = old->last_sample_us;
    g->last_value = old->last_value;
    g->have_value = old->have_value;
}

/* The trigger that serves definition d (taken) in the new set: the old one
 * when it watches the same thing the same way (its evaluation state and
 * watch are kept), else a new one installed on the HAL. NULL with err when
 * the HAL refuses; old is then released. */
static struct trig *adopt(struct trig_engine *t, struct trig *old, struct trig_def *d,
                          struct error *err)
{
    int64_t from = d->seq_base;
    struct trig *g;

    if (old != NULL && old->installed && trig_def_same_source(&old->def, d)) {
        trig_def_clear(&old->def);
        old->def = *d;
        memset(d, 0, sizeof(*d));
        if (old->def.seq_base > old->next_seq) {
            old->next_seq = old->def.seq_base;
            if (old->reserved <= old->next_seq)
                old->reserved = old->next_seq + TRIG_SEQ_BLOCK;
        }
        return old;
    }
    if (old != NULL && old->next_seq > from)
        from = old->next_seq;
    g = trig_new(t, d);
    if (install(g, err) < 0) {
        trig_free(g);
        trig_free(old);
        return NULL;
    }
    if (old != NULL && old->installed && same_device(&old->def.src, &g->def.src) &&
        trig_eval_same(&old->eval, &g->def.src))
        carry_state(old, g); /* only the sampling changed */
    trig_free(old);
    trig_seq_init(g, from);
    return g;
}

/* --------------------------------------------------------- TriggerSet */

struct set_job {
    trig_set_done_fn done;
    void *arg;
    cJSON *reply;
};

static void refuse(cJSON *refused, const cJSON *item, const char *msg)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
    cJSON *r = cJSON_CreateObject();

    json_add_str_or_null(r, "id", cJSON_IsString(id) ? id->valuestring : NULL);
    cJSON_AddStringToObject(r, "message", msg);
    cJSON_AddItemToArray(refused, r);
}

static void on_set_saved(void *arg, int rc, const struct error *err)
{
    struct set_job *j = arg;

    if (rc < 0) {
        char msg[ERROR_MSG_MAX + 64];

        snprintf(msg, sizeof(msg), "The triggers are installed but could not be stored: %s",
                 err != NULL ? err->msg : "error");
        cJSON_Delete(j->reply);
        j->done(j->arg, "ERROR", cJSON_CreateString(msg));
    } else {
        j->done(j->arg, "SUCCESS", j->reply);
    }
    free(j);
}

/* Builds the new list from the definitions; refusals go to refused. */
static struct trig *build(struct trig_engine *t, const cJSON *arr, cJSON *installed, cJSON *refused,
                          int *count)
{
    struct trig *list = NULL, **tail = &list;
    const cJSON *item;
    struct error err;

    cJSON_ArrayForEach(item, arr)
    {
        struct trig_def d;
        struct trig *g;

        if (trig_def_parse(item, &d, &err) < 0) {
            refuse(refused, item, err.msg);
            continue;
        }
        if (trig_find(list, d.id) != NULL) {
            snprintf(err.msg, sizeof(err.msg), "Duplicate trigger %s.", d.id);
            refuse(refused, item, err.msg);
            trig_def_clear(&d);
            continue;
        }
        g = adopt(t, detach(&t->list, d.id), &d, &err);
        if (g == NULL) {
            refuse(refused, item, err.msg);
            trig_def_clear(&d);
            continue;
        }
        cJSON_AddItemToArray(installed, cJSON_CreateString(g->def.id));
        *tail = g;
        tail = &g->next;
        (*count)++;
    }
    return list;
}

void trig_engine_set(struct trig_engine *t, const cJSON *payload, trig_set_done_fn done, void *arg)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(payload, "triggers");
    struct set_job *j;
    cJSON *installed, *refused;
    int count = 0;

    if (!cJSON_IsArray(arr)) {
        done(arg, "ERROR", cJSON_CreateString("Invalid TriggerSet: triggers must be an array."));
        return;
    }
    if (cJSON_GetArraySize(arr) > TRIG_SET_MAX) {
        char msg[96];

        snprintf(msg, sizeof(msg), "Invalid TriggerSet: at most %d triggers per board.",
                 TRIG_SET_MAX);
        done(arg, "ERROR", cJSON_CreateString(msg));
        return;
    }
    j = xcalloc(1, sizeof(*j));
    j->done = done;
    j->arg = arg;
    j->reply = cJSON_CreateObject();
    installed = cJSON_AddArrayToObject(j->reply, "installed");
    refused = cJSON_AddArrayToObject(j->reply, "refused");
    {
        struct trig *list = build(t, arr, installed, refused, &count);

        list_free(t->list); /* what the new set no longer has */
        t->list = list;
        t->count = count;
    }
    log_info("trigger set installed=%d refused=%d", count, cJSON_GetArraySize(refused));
    trig_store_save(t, on_set_saved, j);
}

/* --------------------------------------------------------- life cycle */

int trig_engine_new(const struct trig_deps *deps, const struct trig_hooks *hooks,
                    struct trig_engine **out, struct error *err)
{
    struct trig_engine *t;

    if (deps->ev == NULL || deps->hal == NULL || deps->wq == NULL || deps->state_dir == NULL)
        return error_set(err, -EINVAL, "trigger engine: missing dependency");
    t = xcalloc(1, sizeof(*t));
    t->deps = *deps;
    t->state_dir = xstrdup(deps->state_dir);
    t->deps.state_dir = t->state_dir;
    t->hooks = *hooks;
    t->path = xasprintf("%s/%s", t->state_dir, TRIG_FILE);
    t->store = lrc_store_new(deps->wq, t->path, 0600);
    *out = t;
    return 0;
}

/* One entry of triggers.json into the set; a bad one is logged and skipped. */
static void load_one(struct trig_engine *t, const cJSON *entry, struct trig ***tail)
{
    struct trig_def d;
    struct error err;
    int64_t reserved = 0;
    struct trig *g;

    if (trig_def_parse(cJSON_GetObjectItemCaseSensitive(entry, "def"), &d, &err) < 0) {
        log_warn("%s: a trigger is skipped: %s", t->path, err.msg);
        return;
    }
    if (json_get_int(entry, "seq_reserved", 0, 0, INT64_C(1) << 53, &reserved, &err) < 0)
        reserved = 0;
    if (trig_find(t->list, d.id) != NULL) {
        trig_def_clear(&d);
        return;
    }
    g = trig_new(t, &d);
    trig_seq_init(g, reserved > g->def.seq_base ? reserved : g->def.seq_base);
    if (install(g, &err) < 0)
        log_warn("trigger %s is not evaluated until the cloud sends it again: %s", g->def.id,
                 err.msg);
    **tail = g;
    *tail = &g->next;
    t->count++;
}

int trig_engine_load(struct trig_engine *t, struct error *err)
{
    struct trig **tail = &t->list;
    const cJSON *entry;
    cJSON *root = NULL;
    int rc = trig_store_read(t, &root, err);

    if (rc < 0 || root == NULL)
        return rc;
    while (*tail != NULL)
        tail = &(*tail)->next;
    cJSON_ArrayForEach(entry, cJSON_GetObjectItemCaseSensitive(root, "triggers"))
    {
        if (t->count >= TRIG_SET_MAX)
            break;
        load_one(t, entry, &tail);
    }
    cJSON_Delete(root);
    log_info("triggers loaded from %s: %d", t->path, t->count);
    /* The restart's reservations: firings wait for them, never reuse a number. */
    if (t->count > 0)
        trig_store_save(t, NULL, NULL);
    return 0;
}

int trig_engine_count(const struct trig_engine *t)
{
    return t->count;
}

int trig_engine_writing(const struct trig_engine *t)
{
    return lrc_store_busy(t->store);
}

static cJSON *status_one(const struct trig *g)
{
    cJSON *o = cJSON_CreateObject();
    char spec[TRIGDEF_SPEC_MAX], ts[TIME_ISO_LEN];

    cJSON_AddStringToObject(o, "id", g->def.id);
    cJSON_AddStringToObject(o, "source", trigdef_source_spec(&g->def.src, spec));
    cJSON_AddStringToObject(o, "condition", trigdef_cond_name(g->def.src.cond));
    cJSON_AddBoolToObject(o, "local", g->def.local);
    cJSON_AddBoolToObject(o, "installed", g->installed);
    cJSON_AddBoolToObject(o, "armed", g->eval.armed);
    json_add_int(o, "fire_count", (int64_t)g->fire_count);
    json_add_int(o, "next_seq", g->next_seq);
    json_add_str_or_null(o, "last_fired_at",
                         g->last_fired_us ? time_format(g->last_fired_us, TIME_Z_US, ts) : NULL);
    if (g->have_value)
        cJSON_AddNumberToObject(o, "last_value", g->last_value);
    else
        cJSON_AddNullToObject(o, "last_value");
    json_add_str_or_null(o, "last_sampled_at",
                         g->have_value ? time_format(g->last_sample_us, TIME_Z_US, ts) : NULL);
    json_add_str_or_null(o, "error", g->error[0] ? g->error : NULL);
    return o;
}

cJSON *trig_engine_status(const struct trig_engine *t)
{
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "triggers");

    for (const struct trig *g = t->list; g != NULL; g = g->next)
        cJSON_AddItemToArray(arr, status_one(g));
    return o;
}

void trig_engine_purge(struct trig_engine *t)
{
    list_free(t->list);
    t->list = NULL;
    t->count = 0;
    trig_store_save(t, NULL, NULL);
}

void trig_engine_free(struct trig_engine *t)
{
    if (t == NULL)
        return;
    trig_waits_detach(t);
    list_free(t->list);
    lrc_store_free(t->store);
    trig_store_forget(t);
    free(t->path);
    free(t->state_dir);
    free(t);
}
