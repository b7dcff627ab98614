/* Unit tests for src/trigger_eval: the firing rules of deviceless-api.md
 * 3.7.4, sample by sample. Each case is a source and a series of samples
 * (value, ms) with the indexes of those that must fire. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"
#include "common/trigdef.h"
#include "src/trigger_eval.h"

#define MAXS 16

struct series {
    const char *what;
    const char *source;
    int n;
    double v[MAXS];
    int64_t ms[MAXS];
    const char *fires; /* one character per sample: '1' fires, '.' does not */
};

static void load(const char *text, struct trigdef_source *s)
{
    cJSON *j = NULL;
    struct error err;

    assert_int_equal(json_parse(text, strlen(text), &j, &err), 0);
    if (trigdef_source_parse(j, s, &err) != 0)
        fail_msg("%s: %s", text, err.msg);
    cJSON_Delete(j);
}

static void run_series(const struct series *c)
{
    struct trigdef_source s;
    struct trig_eval e;
    struct trig_decision d;
    char got[MAXS + 1];

    load(c->source, &s);
    trig_eval_init(&e, &s);
    for (int i = 0; i < c->n; i++)
        got[i] = trig_eval_sample(&e, c->v[i], c->ms[i] * 1000, &d) ? '1' : '.';
    got[c->n] = '\0';
    if (strcmp(got, c->fires) != 0)
        fail_msg("%s: fired %s, want %s", c->what, got, c->fires);
}

#define LUX(cond, extra)                                                                           \
    "{\"sensor\":\"lux0\",\"condition\":\"" cond "\",\"threshold\":10" extra "}"

static void test_level_conditions(void **state)
{
    static const struct series cases[] = {
        {"< fires when it becomes true, once",
         LUX("<", ""),
         5,
         {12, 11, 8, 7, 6},
         {0, 1, 2, 3, 4},
         "..1.."},
        {"< already true at install fires once", LUX("<", ""), 3, {5, 4, 3}, {0, 1, 2}, "1.."},
        {"< re-arms on the other side and fires again",
         LUX("<", ""),
         5,
         {5, 10, 9, 12, 9},
         {0, 1, 2, 3, 4},
         "1.1.1"},
        {"< with hysteresis re-arms only at threshold + 2",
         LUX("<", ",\"hysteresis\":2"),
         7,
         {8, 11, 9, 11.9, 9, 12, 9},
         {0, 1, 2, 3, 4, 5, 6},
         "1.....1"},
        {"<= includes the threshold", LUX("<=", ""), 3, {11, 10, 10}, {0, 1, 2}, ".1."},
        {"> and >=", LUX(">", ""), 4, {10, 10.5, 9, 11}, {0, 1, 2, 3}, ".1.1"},
        {">= with hysteresis 1",
         LUX(">=", ",\"hysteresis\":1"),
         6,
         {10, 9.5, 10, 9, 10, 11},
         {0, 1, 2, 3, 4, 5},
         "1...1."},
        {"debounce: must stay true 2 s on every sample",
         LUX("<", ",\"debounce_ms\":2000"),
         7,
         {5, 5, 12, 5, 5, 5, 5},
         {0, 1000, 1500, 2000, 3000, 4000, 5000},
         ".....1."},
        {"debounce: fires at the first sample at or after 2 s",
         LUX("<", ",\"debounce_ms\":2000"),
         4,
         {5, 5, 5, 5},
         {0, 1999, 2000, 2500},
         "..1."},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_series(&cases[i]);
}

static void test_crossings(void **state)
{
    static const struct series cases[] = {
        {"rising needs a crossing: true at install does not fire",
         LUX("rising", ""),
         5,
         {12, 13, 9, 10, 11},
         {0, 1, 2, 3, 4},
         "...1."},
        {"falling crosses downwards to the threshold",
         LUX("falling", ""),
         5,
         {9, 11, 10, 12, 3},
         {0, 1, 2, 3, 4},
         "..1.1"},
        {"rising with hysteresis 3 re-arms at 7",
         LUX("rising", ",\"hysteresis\":3"),
         6,
         {5, 10, 8, 10, 7, 10},
         {0, 1, 2, 3, 4, 5},
         ".1...1"},
        {"rising with debounce: a spike does not fire",
         LUX("rising", ",\"debounce_ms\":100"),
         6,
         {5, 12, 5, 12, 12, 12},
         {0, 10, 20, 30, 80, 130},
         ".....1"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_series(&cases[i]);
}

static void test_change(void **state)
{
    static const struct series cases[] = {
        {"any change; the first sample is the reference",
         "{\"sensor\":\"t\",\"condition\":\"change\"}",
         5,
         {20, 20, 20.1, 20.1, 20},
         {0, 1, 2, 3, 4},
         "..1.1"},
        {"at least 0.5 from the value at the last firing",
         "{\"sensor\":\"t\",\"condition\":\"change\",\"threshold\":0.5}",
         6,
         {20, 20.25, 20.5, 20.25, 21, 20.5},
         {0, 1, 2, 3, 4, 5},
         "..1.11"},
        {"firings at least debounce apart; the reference stays until one fires",
         "{\"sensor\":\"t\",\"condition\":\"change\",\"threshold\":1,\"debounce_ms\":1000}",
         5,
         {0, 2, 4, 4, 6},
         {0, 100, 500, 1100, 1200},
         ".1.1."},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_series(&cases[i]);
}

static void test_decision_carries_value_previous_and_time(void **state)
{
    struct trigdef_source s;
    struct trig_eval e;
    struct trig_decision d;

    (void)state;
    load(LUX("<", ""), &s);
    trig_eval_init(&e, &s);
    assert_int_equal(trig_eval_sample(&e, 3, 1000, &d), 1);
    assert_false(d.has_previous); /* the first sample */
    assert_true(d.value == 3);
    assert_int_equal(d.sampled_at_us, 1000);
    assert_int_equal(trig_eval_sample(&e, 10.4, 2000, &d), 0);
    assert_int_equal(trig_eval_sample(&e, 8.2, 3000, &d), 1);
    assert_true(d.has_previous);
    assert_true(d.previous == 10.4);
    assert_true(d.value == 8.2);
    assert_int_equal(d.sampled_at_us, 3000);
}

static void test_nan_and_wrong_kind_never_fire(void **state)
{
    struct trigdef_source s;
    struct trig_eval e;
    struct trig_decision d;

    (void)state;
    load(LUX("<", ""), &s);
    trig_eval_init(&e, &s);
    assert_int_equal(trig_eval_sample(&e, NAN, 0, &d), 0);
    assert_int_equal(trig_eval_edge(&e, 1, 0, &d), 0);
    assert_int_equal(trig_eval_sample(&e, 1, 0, &d), 1);
}

static void test_gpio_edges_and_debounce(void **state)
{
    static const struct {
        const char *cond;
        int n;
        int level[8];
        int64_t ms[8];
        const char *fires;
    } cases[] = {
        {"rising", 4, {1, 0, 1, 0}, {0, 10, 20, 30}, "1.1."},
        {"falling", 4, {1, 0, 1, 0}, {0, 10, 20, 30}, ".1.1"},
        {"change", 4, {1, 0, 1, 0}, {0, 10, 20, 30}, "1111"},
    };
    static const int64_t bounce_ms[] = {0, 2, 4, 6, 60, 62};
    struct trigdef_source s;
    struct trig_eval e;
    struct trig_decision d;
    char text[128], got[8];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(text, sizeof(text), "{\"gpio\":\"sim0:3\",\"condition\":\"%s\"}", cases[i].cond);
        load(text, &s);
        trig_eval_init(&e, &s);
        for (int k = 0; k < cases[i].n; k++)
            got[k] = trig_eval_edge(&e, cases[i].level[k], cases[i].ms[k] * 1000, &d) ? '1' : '.';
        got[cases[i].n] = '\0';
        assert_string_equal(got, cases[i].fires);
    }
    /* A bouncing switch: with 50 ms of debounce only the first edge of each
     * burst counts, and the event says what the level was before. */
    load("{\"gpio\":\"sim0:3\",\"condition\":\"change\",\"debounce_ms\":50}", &s);
    trig_eval_init(&e, &s);
    for (size_t k = 0; k < sizeof(bounce_ms) / sizeof(bounce_ms[0]); k++) {
        int fired = trig_eval_edge(&e, (int)(k % 2 == 0), bounce_ms[k] * 1000, &d);

        assert_int_equal(fired, k == 0 || k == 4);
        if (fired) {
            assert_true(d.value == 1);
            assert_true(d.has_previous && d.previous == 0);
        }
    }
}

static void test_clock_stepping_back_does_not_block(void **state)
{
    struct trigdef_source s;
    struct trig_eval e;
    struct trig_decision d;

    (void)state;
    load("{\"gpio\":\"sim0:3\",\"condition\":\"rising\",\"debounce_ms\":1000}", &s);
    trig_eval_init(&e, &s);
    assert_int_equal(trig_eval_edge(&e, 1, 5000000, &d), 1);
    assert_int_equal(trig_eval_edge(&e, 1, 5000100, &d), 0);
    assert_int_equal(trig_eval_edge(&e, 1, 1000, &d), 1); /* an hour back: not 1 h blind */
}

static void test_same_source_keeps_state(void **state)
{
    struct trigdef_source a, b;
    struct trig_eval e;

    (void)state;
    load(LUX("<", ",\"sample_interval_ms\":100"), &a);
    trig_eval_init(&e, &a);
    load(LUX("<", ",\"sample_interval_ms\":500"), &b);
    assert_true(trig_eval_same(&e, &b)); /* only the sampling changed */
    load(LUX("<=", ""), &b);
    assert_false(trig_eval_same(&e, &b));
    load(LUX("<", ",\"hysteresis\":1"), &b);
    assert_false(trig_eval_same(&e, &b));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_conditions),
        cmocka_unit_test(test_crossings),
        cmocka_unit_test(test_change),
        cmocka_unit_test(test_decision_carries_value_previous_and_time),
        cmocka_unit_test(test_nan_and_wrong_kind_never_fire),
        cmocka_unit_test(test_gpio_edges_and_debounce),
        cmocka_unit_test(test_clock_stepping_back_does_not_block),
        cmocka_unit_test(test_same_source_keeps_state),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
