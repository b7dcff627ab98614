/* libFuzzer target for the trigger parsers of outside input (deviceless-api.md
 * 3.7): a TriggerSet definition as the board receives it (src/trigger_def.h,
 * which checks the source and template by common/trigdef.h and the local
 * loop's FunctionExecute template), a target as qinling-api receives it
 * (qmodel/trigger.h), the input rendered from a template and an event, and
 * the board's evaluator fed with values taken from the same bytes.
 * Promise: any bytes are answered with a value or a clear error, never a
 * crash, a leak or undefined behaviour. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/trigdef.h"
#include "common/xalloc.h"
#include "qmodel/trigger.h"
#include "src/trigger_def.h"
#include "src/trigger_eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Renders an event of src through tmpl, and runs the evaluator over doubles
 * and levels read from the raw bytes. */
static void exercise(const struct trigdef_source *src, const cJSON *tmpl, const uint8_t *data,
                     size_t size)
{
    struct trigdef_firing f = {"00000000-0000-4000-8000-000000000001", 1, NULL, src, 0, 0, 0, 0, 0};
    struct trig_decision d;
    struct trig_eval e;
    cJSON *event, *input;
    char *text;

    trig_eval_init(&e, src);
    for (size_t i = 0; i + sizeof(double) <= size && i < 64 * sizeof(double); i += sizeof(double)) {
        double v;

        memcpy(&v, data + i, sizeof(v));
        if (trig_eval_sample(&e, v, (int64_t)i * 1000, &d))
            f.value = d.value;
        (void)trig_eval_edge(&e, data[i] & 1, (int64_t)i * 997, &d);
    }
    event = trigdef_event(&f);
    input = trigdef_input(tmpl, event);
    text = json_print(input);
    free(text);
    cJSON_Delete(input);
    cJSON_Delete(event);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trigdef_source src;
    struct qm_trig_target t;
    struct trig_def def;
    cJSON *tree = NULL, *target;

    xalloc_init();
    if (json_parse((const char *)data, size, &tree, NULL) < 0)
        return 0;
    if (trig_def_parse(tree, &def, NULL) == 0) {
        exercise(&def.src, def.tmpl, data, size);
        if (def.local) {
            cJSON *p = trig_def_execute(&def, "00000000-0000-4000-8000-000000000002", tree);

            cJSON_Delete(p);
        }
        trig_def_clear(&def);
    }
    if (trigdef_source_parse(tree, &src, NULL) == 0) {
        cJSON *j = trigdef_source_json(&src, NULL);

        cJSON_Delete(j);
        if (trigdef_template_check(tree, NULL) == 0)
            exercise(&src, tree, data, size);
    }
    if (qm_trig_target_parse(tree, &t, NULL) == 0) {
        target = qm_trig_target_json(&t, NULL);
        cJSON_Delete(target);
    }
    cJSON_Delete(tree);
    return 0;
}
