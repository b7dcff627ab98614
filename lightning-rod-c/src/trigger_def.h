/* src/trigger_def.h: one trigger as TriggerSet carries it to the source board
 * (deviceless-api.md 3.7.3, 3.9; board-protocol.md 6.5).
 *
 *   {"id": "<uuid>",
 *    "source": {...3.7.1, checked by common/trigdef...},
 *    "input_template": {...} | null,
 *    "local": false | true,
 *    "execute": {...FunctionExecute without execution_id and input...},  local only
 *    "firing_seq_base": N}                                               optional
 *
 * firing_seq_base is the cloud's next sequence number for the trigger (one
 * past the highest firing it stored), so that a board that lost its state
 * directory never reuses a (trigger_id, firing_seq) the cloud would take for
 * a duplicate. Other keys are ignored, so that a newer cloud can add some.
 *
 * The same text is what triggers.json keeps, so a restart parses exactly
 * what the cloud sent. Loop thread (it calls the executor's payload
 * validator, which is pure). */
#ifndef LRC_SRC_TRIGGER_DEF_H
#define LRC_SRC_TRIGGER_DEF_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "common/error.h"
#include "common/trigdef.h"
#include "common/uuid.h"

#define TRIG_SET_MAX 256            /* triggers one board evaluates */
#define TRIG_DEF_TEXT_MAX (1 << 18) /* one definition, printed: template, execute, slack */

/* A validated definition. Owns its trees; trig_def_clear() releases them. */
struct trig_def {
    char id[UUID_STR_LEN];
    struct trigdef_source src;
    cJSON *tmpl; /* the input_template, or NULL */
    int local;
    cJSON *execute; /* local triggers: the FunctionExecute template; else NULL */
    int64_t seq_base;
    cJSON *raw; /* the definition as received, for triggers.json */
};

/* Parses obj (borrowed). Returns 0 and fills out, or -EINVAL with why in err
 * ("id must be a UUID", the source's contract message, "Invalid execute
 * template: <field>", ...). out is untouched on failure. */
int trig_def_parse(const cJSON *obj, struct trig_def *out, struct error *err) IOT_WUR;

void trig_def_clear(struct trig_def *d); /* accepts a zeroed def */

/* 1 when a and b watch the same thing the same way (device, condition,
 * threshold, hysteresis, debounce and sampling): the engine then keeps the
 * installed watch and its evaluation state. */
int trig_def_same_source(const struct trig_def *a, const struct trig_def *b);

/* The FunctionExecute payload of one local firing: a copy of the template
 * with execution_id and input (the rendered input's JSON text, kind json)
 * set. New. */
cJSON *trig_def_execute(const struct trig_def *d, const char *execution_id, const cJSON *input);

#endif
