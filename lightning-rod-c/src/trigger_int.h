/* src/trigger_int.h: the trigger engine's insides, shared by trigger.c (the
 * set and the HAL watches), trigger_fire.c (evaluation, sequence numbers,
 * firings) and trigger_store.c (triggers.json). Not an interface: include
 * only from those files.
 *
 * Ownership: the engine owns its list of struct trig; each trig owns its
 * definition, its HAL watch or sampler and its held firings. A struct
 * local_wait belongs to the executor's reply callback once handed over; the
 * engine only links it so that it can cut it loose (eng = NULL) when freed. */
#ifndef LRC_SRC_TRIGGER_INT_H
#define LRC_SRC_TRIGGER_INT_H

#include <stdint.h>

#include "hal/gpio.h"
#include "hal/sensor.h"
#include "src/statefile.h"
#include "src/trigger.h"
#include "src/trigger_def.h"
#include "src/trigger_eval.h"

#define TRIG_HELD_MAX 16           /* firings waiting for a durable sequence number */
#define TRIG_ERROR_LOG_US 60000000 /* a failing sensor is logged once a minute */

/* A firing decided while its sequence number was not yet durable. */
struct trig_held {
    struct trig_decision d;
    int64_t fired_at_us;
};

/* One installed (or, after a load, dormant) trigger. */
struct trig {
    struct trig *next;
    struct trig_engine *eng;
    struct trig_def def;
    struct trig_eval eval;
    struct hal_sampler *sampler;  /* sensors */
    struct hal_gpio_watch *watch; /* GPIO lines */
    int installed;                /* the HAL accepted it */
    /* Sequence numbers: next_seq is the next to use; every number below
     * durable is covered by a reservation on disk; reserved is the newest
     * reservation written or being written. */
    int64_t next_seq, reserved, durable;
    struct trig_held held[TRIG_HELD_MAX];
    int nheld;
    /* For status. */
    uint64_t fire_count;
    int64_t last_fired_us, last_sample_us;
    double last_value;
    int have_value;
    char error[192];
    int64_t error_logged_us;
};

/* A local execution handed to the executor, waiting for its answer. */
struct save_ctx;

struct local_wait {
    struct local_wait *next, *prev;
    struct trig_engine *eng; /* NULL once the engine is freed */
    cJSON *kwargs;           /* the event to report, local: true */
    char key[80];
    char execution_id[UUID_STR_LEN];
};

struct trig_engine {
    struct trig_deps deps;
    char *state_dir;
    struct trig_hooks hooks;
    struct trig *list;
    int count;
    struct lrc_store *store;
    char *path;
    struct local_wait *waits;
    struct save_ctx *saves; /* writes in flight (freed with the engine) */
};

/* trigger.c */
const char *trig_board(const struct trig_engine *t); /* for messages: never NULL */
struct trig *trig_find(struct trig *list, const char *id);

/* trigger_fire.c */
void trig_on_sample(void *arg, int rc, const struct hal_reading *r, const char *msg);
void trig_on_edge(void *arg, const struct hal_gpio_event *ev);
/* The reservation of a new trig (next_seq from its base, reserved ahead). */
void trig_seq_init(struct trig *g, int64_t from);
/* A write holding reservation r of g is durable: releases held firings. */
void trig_seq_durable(struct trig *g, int64_t r);
void trig_waits_detach(struct trig_engine *t);

/* trigger_store.c */
/* Writes the set (and every reservation) to triggers.json; done (may be
 * NULL) runs once it is durable. */
void trig_store_save(struct trig_engine *t, lrc_store_done_fn done, void *arg);
/* The text of triggers.json for the current set. New (free()). */
char *trig_store_text(const struct trig_engine *t, size_t *len);
/* Frees the contexts of writes still in flight (engine teardown, after the
 * store is freed: its callbacks no longer run); a TriggerSet waiting for one
 * is answered ERROR. */
void trig_store_forget(struct trig_engine *t);
/* Reads triggers.json (blocking): 0 and *out (new, or NULL when there is no
 * usable file), or a negated errno when it cannot be read. */
int trig_store_read(struct trig_engine *t, cJSON **out, struct error *err);

#endif
