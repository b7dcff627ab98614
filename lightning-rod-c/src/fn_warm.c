/* src/fn_warm.c: see fn_warm.h.
 *
 * A group (one per function version) owns its containers and a template
 * launch. Refilling creates one container at a time per group: a burst of
 * `crun create` would compete with the executions it is meant to speed up.
 * Three creation failures in a row stop refilling until the next use. */
#include "src/fn_warm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "src/fn_map.h"

#define MAX_FAILURES 3
#define KEY_MAX (UUID_STR_LEN + 24)

struct group;

struct wc {
    struct group *g;
    struct wc *next;
    struct ctr *c;
    int ready;
    int64_t created_at; /* wall µs */
    int64_t expires;    /* mono µs */
    char full_fp[FN_FINGERPRINT_LEN];
};

struct group {
    struct fn_warm *w;
    char key[KEY_MAX];
    char function_id[UUID_STR_LEN];
    int64_t version;
    struct fn_launch *tmpl;
    char base_fp[FN_FINGERPRINT_LEN];
    int64_t keep, ttl_us;
    int64_t last_used, last_used_wall;
    struct wc *list;
    int creating, failures;
    char hold_id[UUID_STR_LEN]; /* the execution whose acknowledgement the refill waits for */
    ev_timer expiry, fill, hold;
};

struct fn_warm {
    struct ev_loop *ev;
    struct ctr_runner *runner;
    int64_t max_total;
    int64_t total;
    struct fn_map groups;
};

static void make_key(char *key, const char *function_id, int64_t version)
{
    snprintf(key, KEY_MAX, "%s:%lld", function_id, (long long)version);
}

struct fn_warm *fn_warm_new(struct ev_loop *ev, struct ctr_runner *runner, int64_t max_total)
{
    struct fn_warm *w = xcalloc(1, sizeof(*w));

    w->ev = ev;
    w->runner = runner;
    w->max_total = max_total;
    fn_map_init(&w->groups);
    return w;
}

static void wc_remove(struct group *g, struct wc *x)
{
    struct wc **pp = &g->list;

    while (*pp != NULL && *pp != x)
        pp = &(*pp)->next;
    if (*pp == x)
        *pp = x->next;
    if (!x->ready)
        g->creating--;
    g->w->total--;
}

static void release_all(struct group *g)
{
    while (g->list != NULL) {
        struct wc *x = g->list;

        wc_remove(g, x);
        ctr_release(x->c);
        free(x);
    }
}

static void group_free(struct group *g)
{
    release_all(g);
    ev_timer_stop(g->w->ev, &g->expiry);
    ev_timer_stop(g->w->ev, &g->fill);
    ev_timer_stop(g->w->ev, &g->hold);
    fn_launch_unref(g->tmpl);
    free(g);
}

void fn_warm_free(struct fn_warm *w)
{
    const char *k;
    void *v;
    size_t i = 0;

    if (w == NULL)
        return;
    while (fn_map_next(&w->groups, &i, &k, &v))
        group_free(v);
    fn_map_free(&w->groups);
    free(w);
}

static int group_count(const struct group *g)
{
    int n = 0;

    for (const struct wc *x = g->list; x != NULL; x = x->next)
        n++;
    return n;
}

/* Re-arms the expiry timer for the oldest container. */
static void arm_expiry(struct group *g)
{
    int64_t next = 0, now = time_mono_us();

    for (const struct wc *x = g->list; x != NULL; x = x->next)
        if (x->ready && (next == 0 || x->expires < next))
            next = x->expires;
    ev_timer_stop(g->w->ev, &g->expiry);
    if (next == 0)
        return;
    ev_timer_set(&g->expiry, next > now ? (double)(next - now) / 1e6 : 0., 0.);
    ev_timer_start(g->w->ev, &g->expiry);
}

static void schedule_fill(struct group *g)
{
    if (!ev_is_active(&g->fill)) {
        ev_timer_set(&g->fill, 0., 0.);
        ev_timer_start(g->w->ev, &g->fill);
    }
}

static void on_created(void *arg, struct ctr *c, int rc, const struct error *err)
{
    struct wc *x = arg;
    struct group *g = x->g;

    if (rc < 0) {
        g->failures++;
        log_warn("warm container for %s failed: %s", g->key, error_str(err));
        wc_remove(g, x);
        ctr_release(c);
        free(x);
        if (g->failures < MAX_FAILURES)
            schedule_fill(g);
        return;
    }
    g->failures = 0;
    x->ready = 1;
    g->creating--;
    x->created_at = time_now_us();
    x->expires = time_mono_us() + g->ttl_us;
    arm_expiry(g);
    schedule_fill(g);
}

static void create_one(struct group *g)
{
    struct wc *x = xcalloc(1, sizeof(*x));
    struct error err;

    x->g = g;
    memcpy(x->full_fp, g->tmpl->full_fp, sizeof(x->full_fp));
    if (ctr_create(g->w->runner, &g->tmpl->spec, &g->tmpl->opts, on_created, x, &x->c, &err) < 0) {
        log_warn("warm container for %s: %s", g->key, err.msg);
        g->failures++;
        free(x);
        return;
    }
    x->next = g->list;
    g->list = x;
    g->creating++;
    g->w->total++;
}

static void on_fill(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct group *g = t->data;
    int64_t now = time_mono_us();

    (void)ev;
    (void)revents;
    if (g->creating > 0 || g->failures >= MAX_FAILURES || g->tmpl == NULL ||
        ev_is_active(&g->hold))
        return;
    if (now - g->last_used > g->ttl_us)
        return; /* idle: scale to zero */
    if (group_count(g) < g->keep && g->w->total < g->w->max_total)
        create_one(g);
}

static void on_expiry(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct group *g = t->data;
    int64_t now = time_mono_us();
    struct wc **pp = &g->list;

    (void)ev;
    (void)revents;
    while (*pp != NULL) {
        struct wc *x = *pp;

        if (!x->ready || x->expires > now) {
            pp = &x->next;
            continue;
        }
        log_info("warm container expired container=%s function=%s", ctr_id(x->c), g->key);
        *pp = x->next;
        g->w->total--;
        ctr_release(x->c);
        free(x);
    }
    if (g->list == NULL && now - g->last_used > g->ttl_us) {
        fn_map_del(&g->w->groups, g->key);
        group_free(g);
        return;
    }
    arm_expiry(g);
    schedule_fill(g);
}

static void end_hold(struct group *g)
{
    ev_timer_stop(g->w->ev, &g->hold);
    g->hold_id[0] = '\0';
    schedule_fill(g);
}

static void on_hold(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct group *g = t->data;

    (void)ev;
    (void)revents;
    log_info("warm refill without an acknowledgement function=%s execution=%s", g->key,
             g->hold_id);
    end_hold(g);
}

static struct group *group_get(struct fn_warm *w, const struct fn_launch *l)
{
    char key[KEY_MAX];
    struct group *g;

    make_key(key, l->function_id, l->function_version);
    g = fn_map_get(&w->groups, key);
    if (g != NULL)
        return g;
    g = xcalloc(1, sizeof(*g));
    g->w = w;
    snprintf(g->key, sizeof(g->key), "%s", key);
    snprintf(g->function_id, sizeof(g->function_id), "%s", l->function_id);
    g->version = l->function_version;
    ev_timer_init(&g->expiry, on_expiry, 0., 0.);
    ev_timer_init(&g->fill, on_fill, 0., 0.);
    ev_timer_init(&g->hold, on_hold, FN_WARM_HOLD_S, 0.);
    g->expiry.data = g->fill.data = g->hold.data = g;
    fn_map_put(&w->groups, key, g);
    return g;
}

struct ctr *fn_warm_take(struct fn_warm *w, const struct fn_launch *l, int64_t *created_at)
{
    char key[KEY_MAX];
    struct group *g;

    make_key(key, l->function_id, l->function_version);
    g = fn_map_get(&w->groups, key);
    if (g == NULL)
        return NULL;
    for (struct wc *x = g->list; x != NULL; x = x->next) {
        struct ctr *c = x->c;

        if (!x->ready || strcmp(x->full_fp, l->full_fp) != 0)
            continue;
        if (!ctr_alive(c)) /* died while waiting: not worth a failed start */
            continue;
        *created_at = x->created_at;
        wc_remove(g, x);
        free(x);
        arm_expiry(g);
        return c;
    }
    return NULL;
}

/* Records the use; NULL when keep dropped the group. */
static struct group *note(struct fn_warm *w, struct fn_launch *l, int64_t keep, int64_t ttl_s)
{
    struct group *g;
    char key[KEY_MAX];

    if (keep <= 0) {
        make_key(key, l->function_id, l->function_version);
        g = fn_map_del(&w->groups, key);
        if (g != NULL)
            group_free(g);
        return NULL;
    }
    g = group_get(w, l);
    if (g->tmpl != NULL && strcmp(g->base_fp, l->base_fp) != 0) {
        log_info("function changed: dropping its warm containers function=%s", g->key);
        release_all(g);
    } else if (g->tmpl != NULL && strcmp(g->tmpl->full_fp, l->full_fp) != 0) {
        /* Made for another input kind (a FunctionDeploy has none; trigger and
         * most executions have json): fn_warm_take() would never hand them
         * out, and they would fill the group's `keep` for good. */
        log_debug("input kind changed: remaking the warm containers function=%s", g->key);
        release_all(g);
    }
    fn_launch_ref(l);
    fn_launch_unref(g->tmpl);
    g->tmpl = l;
    memcpy(g->base_fp, l->base_fp, sizeof(g->base_fp));
    g->keep = keep;
    g->ttl_us = ttl_s * 1000000;
    g->last_used = time_mono_us();
    g->last_used_wall = time_now_us();
    g->failures = 0;
    return g;
}

void fn_warm_note(struct fn_warm *w, struct fn_launch *l, int64_t keep, int64_t ttl_s)
{
    struct group *g = note(w, l, keep, ttl_s);

    /* The first creation starts now, so that a FunctionDeploy reply can
     * count it; the others follow one at a time. */
    if (g != NULL)
        on_fill(g->w->ev, &g->fill, 0);
}

void fn_warm_note_held(struct fn_warm *w, struct fn_launch *l, int64_t keep, int64_t ttl_s,
                       const char *execution_id)
{
    struct group *g = note(w, l, keep, ttl_s);

    if (g == NULL)
        return;
    snprintf(g->hold_id, sizeof(g->hold_id), "%s", execution_id);
    ev_timer_stop(w->ev, &g->hold);
    ev_timer_set(&g->hold, FN_WARM_HOLD_S, 0.);
    ev_timer_start(w->ev, &g->hold);
}

void fn_warm_release(struct fn_warm *w, const char *execution_id)
{
    const char *k;
    void *v;
    size_t i = 0;

    while (fn_map_next(&w->groups, &i, &k, &v)) {
        struct group *g = v;

        if (ev_is_active(&g->hold) && strcmp(g->hold_id, execution_id) == 0)
            end_hold(g);
    }
}

void fn_warm_drop(struct fn_warm *w, const char *function_id, int64_t version)
{
    const char *k;
    void *v;
    size_t i = 0;

    while (fn_map_next(&w->groups, &i, &k, &v)) {
        struct group *g = v;

        if (strcmp(g->function_id, function_id) != 0 || (version >= 0 && g->version != version))
            continue;
        fn_map_del(&w->groups, g->key);
        group_free(g);
    }
}

int fn_warm_count(const struct fn_warm *w, const char *function_id, int64_t version)
{
    const char *k;
    void *v;
    size_t i = 0;
    int n = 0;

    while (fn_map_next(&w->groups, &i, &k, &v)) {
        const struct group *g = v;

        if (function_id == NULL ||
            (strcmp(g->function_id, function_id) == 0 && g->version == version))
            n += group_count(g);
    }
    return n;
}

cJSON *fn_warm_status(const struct fn_warm *w)
{
    cJSON *arr = cJSON_CreateArray();
    char t1[TIME_ISO_LEN], t2[TIME_ISO_LEN];
    const char *k;
    void *v;
    size_t i = 0;

    while (fn_map_next(&w->groups, &i, &k, &v)) {
        const struct group *g = v;

        for (const struct wc *x = g->list; x != NULL; x = x->next) {
            cJSON *o;

            if (!x->ready)
                continue;
            o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "container_id", ctr_id(x->c));
            cJSON_AddStringToObject(o, "function_id", g->function_id);
            json_add_int(o, "function_version", g->version);
            cJSON_AddStringToObject(o, "created_at", time_format(x->created_at, TIME_Z_US, t1));
            json_add_str_or_null(o, "last_used_at",
                                 g->last_used_wall ? time_format(g->last_used_wall, TIME_Z_US, t2)
                                                   : NULL);
            cJSON_AddItemToArray(arr, o);
        }
    }
    return arr;
}
