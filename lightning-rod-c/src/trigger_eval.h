/* src/trigger_eval.h: when a trigger fires (deviceless-api.md 3.7.4).
 *
 * The decision part of the board's trigger engine, kept apart from the HAL
 * and the clocks so that every rule of the contract's table can be tested
 * sample by sample:
 *
 *   >, >=, <, <=    fire when the condition becomes true while armed and
 *                   stays true on every sample during debounce_ms; then
 *                   disarm until the value is past the threshold on the
 *                   other side by at least hysteresis. Armed at start, so a
 *                   condition already true at install fires once.
 *   rising/falling  the same with the condition value >= / <= threshold,
 *   (sensor)        but disarmed at start: the value must first be seen on
 *                   the other side, so only a crossing fires.
 *   change (sensor) the value differs by at least threshold (any difference
 *                   when 0) from the value at the last firing; the first
 *                   sample only sets that reference; firings at least
 *                   debounce_ms apart.
 *   GPIO edges      rising (0->1), falling (1->0), change (either); an edge
 *                   within debounce_ms of the last accepted one is ignored.
 *
 * Times are CLOCK_REALTIME µs as the HAL stamps samples and edges. A clock
 * that steps backwards never blocks a trigger: a negative elapsed time
 * counts as past the debounce. One struct per installed trigger, owned by
 * it; pure, any thread (the engine uses it on the loop). */
#ifndef LRC_SRC_TRIGGER_EVAL_H
#define LRC_SRC_TRIGGER_EVAL_H

#include <stdint.h>

#include "common/trigdef.h"

struct trig_eval {
    /* from the source */
    enum trigdef_kind kind;
    enum trigdef_cond cond;
    double threshold, hysteresis;
    int64_t debounce_us;
    /* state */
    int armed;
    int have_prev; /* prev holds the last sample (or level) */
    double prev;
    int pending; /* the condition holds since pending_since_us (debounce) */
    int64_t pending_since_us;
    int have_ref; /* change: ref is the value at the last firing */
    double ref;
    int fired; /* at least once: last_fire_us is set */
    int64_t last_fire_us;
};

/* What fired: the sample's value, the one before it, and when it was taken. */
struct trig_decision {
    double value;
    int has_previous;
    double previous;
    int64_t sampled_at_us;
};

/* Starts evaluating s from scratch (armed as the table above says). */
void trig_eval_init(struct trig_eval *e, const struct trigdef_source *s);

/* 1 when s would evaluate exactly as the source e was built from: the
 * engine keeps e's state across a TriggerSet that does not change it. */
int trig_eval_same(const struct trig_eval *e, const struct trigdef_source *s);

/* A sensor sample: returns 1 and fills *out when it fires, else 0. */
int trig_eval_sample(struct trig_eval *e, double value, int64_t ts_us, struct trig_decision *out);

/* A GPIO edge, value being the level after it (0 or 1): 1 and *out when it
 * fires. Edges of a kind the condition does not watch never fire. */
int trig_eval_edge(struct trig_eval *e, int value, int64_t ts_us, struct trig_decision *out);

#endif
