/* common/trigdef.h: trigger definitions, the one place for their rules
 * (deviceless-api.md 3.7.1, 3.7.4).
 *
 * A trigger's source (a sensor or a GPIO line, a condition, a threshold,
 * sampling and debounce) and its input template cross the wire twice: a
 * tenant sends them to qinling-api, which must answer a bad one with the
 * contract's 400 message, and the engine sends them to the source board in
 * TriggerSet, which must refuse a bad one on its own (outside input). Both
 * sides parse them here, so that the cloud never accepts what a board would
 * refuse, and the board renders an event into a function's input exactly as
 * the cloud validated it. The evaluation itself lives on the board
 * (lightning-rod-c/src/trigger_eval.h).
 *
 * Pure: no I/O, no globals, any thread. Errors carry the contract's words,
 * ready to be a faultstring or a TriggerSet refusal. */
#ifndef IOT_COMMON_TRIGDEF_H
#define IOT_COMMON_TRIGDEF_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define TRIGDEF_NAME_MAX 32 /* chip and sensor names: 1..32 of A-Z a-z 0-9 _ - */
#define TRIGDEF_LINE_MAX 65535
#define TRIGDEF_INTERVAL_MIN 10
#define TRIGDEF_INTERVAL_MAX 3600000
#define TRIGDEF_DEBOUNCE_MAX 600000
#define TRIGDEF_SENSOR_INTERVAL 1000 /* default sample_interval_ms of a sensor */
#define TRIGDEF_GPIO_INTERVAL 50     /* default for GPIO, used only when polling */
#define TRIGDEF_TEMPLATE_MAX 16384   /* input_template, serialised compactly */
#define TRIGDEF_SPEC_MAX 48          /* "gpio:<chip>:<line>" or "sensor:<name>", NUL included */

enum trigdef_kind { TRIGDEF_SENSOR = 0, TRIGDEF_GPIO = 1 };

enum trigdef_cond {
    TRIGDEF_GT = 0, /* > */
    TRIGDEF_GE,     /* >= */
    TRIGDEF_LT,     /* < */
    TRIGDEF_LE,     /* <= */
    TRIGDEF_RISING,
    TRIGDEF_FALLING,
    TRIGDEF_CHANGE,
};

/* A validated source, with every default applied. board_id is not part of
 * it: the cloud resolves it (a UUID or a name) and the board is the source. */
struct trigdef_source {
    enum trigdef_kind kind;
    char name[TRIGDEF_NAME_MAX + 1]; /* the sensor, or the GPIO chip */
    unsigned line;                   /* GPIO only */
    enum trigdef_cond cond;
    int has_threshold; /* sensors: given, or 0 for change */
    double threshold;
    double hysteresis; /* sensors only; 0 by default */
    int64_t sample_interval_ms;
    int64_t debounce_ms;
};

/* Parses a source object. Keys: sensor | gpio, condition, threshold,
 * hysteresis, sample_interval_ms, debounce_ms, plus board_id, which is
 * skipped (the caller reads it). An explicit null counts as absent.
 * Integers may be JSON integers or decimal text (1.4). Returns 0, or -EINVAL
 * with the contract's message in err: "Give exactly one of source.sensor and
 * source.gpio.", "Condition <c> is not valid for a <sensor|gpio> source.",
 * "source.threshold is required for condition <c>.", "source.threshold is
 * not allowed for a gpio source.", "source.sample_interval_ms must be
 * between 10 and 3600000.", "source.debounce_ms must be between 0 and
 * 600000.", and for what the contract leaves unworded: "Unknown attribute:
 * source.<key>", "Required param is missing. Required: source.condition",
 * "source.<key> must be a number.", "source.hysteresis must be a number >=
 * 0.", "source.threshold must be >= 0 for condition change.",
 * "source.hysteresis is not allowed for a gpio source.", "source.gpio must be
 * <chip>:<line>.", "source.sensor must be a sensor name (1 to 32 of A-Z a-z
 * 0-9 _ -)." */
int trigdef_source_parse(const cJSON *obj, struct trigdef_source *out, struct error *err) IOT_WUR;

/* The canonical source object: {"board_id", "sensor", "gpio", "condition",
 * "threshold", "hysteresis", "sample_interval_ms", "debounce_ms"}, every key
 * present, null where it does not apply. board_id NULL leaves it out. New. */
cJSON *trigdef_source_json(const struct trigdef_source *s, const char *board_id);

/* "sensor:<name>" or "gpio:<chip>:<line>" (the event's "source") into out;
 * returns out. */
char *trigdef_source_spec(const struct trigdef_source *s, char out[TRIGDEF_SPEC_MAX]);

/* ">", ">=", "<", "<=", "rising", "falling", "change"; and back (-1 for an
 * unknown text). */
const char *trigdef_cond_name(enum trigdef_cond c);
int trigdef_cond_parse(const char *s);

/* 1 when s is a chip or sensor name (1..32 of A-Z a-z 0-9 _ -). */
int trigdef_name_ok(const char *s);

/* Checks an input_template: NULL or null means none (0); otherwise a JSON
 * object of at most 16384 bytes when printed compactly, whose strings use
 * only the placeholders {{event}} and {{event.<key>}}, <key> one of the
 * event's keys (blanks inside the braces allowed). -EINVAL with "Unknown
 * placeholder <text> in input_template." (a "{{" without its "}}" is one),
 * "input_template must be a JSON object." or "input_template exceeds 16384
 * bytes." */
int trigdef_template_check(const cJSON *tmpl, struct error *err) IOT_WUR;

/* One firing, as the source board decided it. */
struct trigdef_firing {
    const char *trigger_id;
    int64_t seq;
    const char *board_id; /* NULL: null */
    const struct trigdef_source *src;
    double value;
    int has_previous; /* 0 for the first sample of a sensor */
    double previous;
    int64_t sampled_at_us, fired_at_us; /* CLOCK_REALTIME µs */
};

/* The event object of 3.7.4: trigger_id, firing_seq, board_id, source,
 * value, previous, condition, threshold, sampled_at, fired_at (µs "Z"
 * times; GPIO levels as integers; null where absent). New. */
cJSON *trigdef_event(const struct trigdef_firing *f);

/* The function's input for event (borrowed): {"event": <event>} without a
 * template, else the template with each placeholder replaced (3.7.4): a
 * string that is exactly one placeholder takes the value itself, keeping its
 * type; a placeholder inside a longer string becomes the value's compact
 * JSON text, without the quotes of a string. An absent key gives null. The
 * template must have passed trigdef_template_check(). New object. */
cJSON *trigdef_input(const cJSON *tmpl, const cJSON *event);

#endif
