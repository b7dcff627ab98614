/* src/trigger_eval.c: the firing rules of deviceless-api.md 3.7.4 (the
 * table is in trigger_eval.h).
 *
 * Invariant: a level condition is either armed (and maybe pending, waiting
 * out its debounce) or disarmed until the value is back past the threshold
 * by the hysteresis; nothing else changes `armed`. */
#include "src/trigger_eval.h"

#include <math.h>
#include <string.h>

/* The conditions whose "true" side is above the threshold. */
static int above(enum trigdef_cond c)
{
    return c == TRIGDEF_GT || c == TRIGDEF_GE || c == TRIGDEF_RISING;
}

static int holds(const struct trig_eval *e, double v)
{
    switch (e->cond) {
    case TRIGDEF_GT:
        return v > e->threshold;
    case TRIGDEF_GE:
    case TRIGDEF_RISING:
        return v >= e->threshold;
    case TRIGDEF_LT:
        return v < e->threshold;
    case TRIGDEF_LE:
    case TRIGDEF_FALLING:
        return v <= e->threshold;
    case TRIGDEF_CHANGE:
        break;
    }
    return 0;
}

/* Past the threshold on the other side by at least the hysteresis. */
static int rearms(const struct trig_eval *e, double v)
{
    if (holds(e, v))
        return 0;
    return above(e->cond) ? v <= e->threshold - e->hysteresis : v >= e->threshold + e->hysteresis;
}

/* Time since since_us, at least limit when the clock stepped back. */
static int64_t elapsed(int64_t now_us, int64_t since_us, int64_t limit)
{
    int64_t d = now_us - since_us;

    return d < 0 ? limit : d;
}

void trig_eval_init(struct trig_eval *e, const struct trigdef_source *s)
{
    memset(e, 0, sizeof(*e));
    e->kind = s->kind;
    e->cond = s->cond;
    e->threshold = s->threshold;
    e->hysteresis = s->hysteresis;
    e->debounce_us = s->debounce_ms * 1000;
    e->armed = !(s->cond == TRIGDEF_RISING || s->cond == TRIGDEF_FALLING);
}

int trig_eval_same(const struct trig_eval *e, const struct trigdef_source *s)
{
    return e->kind == s->kind && e->cond == s->cond && e->threshold == s->threshold &&
           e->hysteresis == s->hysteresis && e->debounce_us == s->debounce_ms * 1000;
}

static void decide(struct trig_eval *e, double v, int64_t ts_us, struct trig_decision *out)
{
    out->value = v;
    out->has_previous = e->have_prev;
    out->previous = e->prev;
    out->sampled_at_us = ts_us;
    e->fired = 1;
    e->last_fire_us = ts_us;
}

static int level_sample(struct trig_eval *e, double v, int64_t ts_us, struct trig_decision *out)
{
    if (!e->armed) {
        e->armed = rearms(e, v);
        return 0;
    }
    if (!holds(e, v)) {
        e->pending = 0;
        return 0;
    }
    if (e->debounce_us > 0 && !e->pending) {
        e->pending = 1;
        e->pending_since_us = ts_us;
        return 0;
    }
    if (e->debounce_us > 0 && elapsed(ts_us, e->pending_since_us, e->debounce_us) < e->debounce_us)
        return 0;
    decide(e, v, ts_us, out);
    e->armed = 0;
    e->pending = 0;
    return 1;
}

static int change_sample(struct trig_eval *e, double v, int64_t ts_us, struct trig_decision *out)
{
    double diff;

    if (!e->have_ref) {
        e->have_ref = 1;
        e->ref = v;
        return 0;
    }
    diff = fabs(v - e->ref);
    if (v == e->ref || diff < e->threshold)
        return 0;
    if (e->fired && elapsed(ts_us, e->last_fire_us, e->debounce_us) < e->debounce_us)
        return 0;
    decide(e, v, ts_us, out);
    e->ref = v;
    return 1;
}

int trig_eval_sample(struct trig_eval *e, double value, int64_t ts_us, struct trig_decision *out)
{
    int fired;

    if (e->kind != TRIGDEF_SENSOR || !isfinite(value))
        return 0;
    if (e->cond == TRIGDEF_CHANGE)
        fired = change_sample(e, value, ts_us, out);
    else
        fired = level_sample(e, value, ts_us, out);
    e->have_prev = 1;
    e->prev = value;
    return fired;
}

int trig_eval_edge(struct trig_eval *e, int value, int64_t ts_us, struct trig_decision *out)
{
    int level = value != 0;

    if (e->kind != TRIGDEF_GPIO)
        return 0;
    if ((e->cond == TRIGDEF_RISING && !level) || (e->cond == TRIGDEF_FALLING && level))
        return 0;
    if (e->fired && elapsed(ts_us, e->last_fire_us, e->debounce_us) < e->debounce_us)
        return 0;
    /* The level before an edge is its opposite, whatever was seen before. */
    e->have_prev = 1;
    e->prev = !level;
    decide(e, level, ts_us, out);
    e->prev = level;
    return 1;
}
