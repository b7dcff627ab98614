/* src/trigger_def.c: TriggerSet definitions (the format is in trigger_def.h).
 *
 * Everything a definition holds is checked here, before the engine touches
 * the hardware: the source by the rules both sides share (common/trigdef),
 * the template's placeholders, and for a local trigger the execution
 * template by the executor's own FunctionExecute validator, so that a local
 * firing can never be refused for its payload later, hours into an outage. */
#include "src/trigger_def.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "src/fn_payload.h"

#define ZERO_UUID "00000000-0000-4000-8000-000000000000"

/* A local trigger's template must make a valid FunctionExecute once the
 * engine fills in the execution's id and input. */
static int check_execute(const cJSON *execute, struct error *err)
{
    cJSON *probe;
    struct fn_req *r = NULL;
    int rc;

    if (!cJSON_IsObject(execute))
        return error_set(err, -EINVAL, "a local trigger needs its execute template");
    probe = cJSON_Duplicate(execute, 1);
    cJSON_DeleteItemFromObjectCaseSensitive(probe, "deadline");
    cJSON_DeleteItemFromObjectCaseSensitive(probe, "execution_id");
    cJSON_DeleteItemFromObjectCaseSensitive(probe, "input");
    cJSON_DeleteItemFromObjectCaseSensitive(probe, "input_kind");
    cJSON_AddStringToObject(probe, "execution_id", ZERO_UUID);
    cJSON_AddStringToObject(probe, "input", "{}");
    cJSON_AddStringToObject(probe, "input_kind", "json");
    rc = fn_req_parse(probe, FN_REQ_EXECUTE, &r, err);
    fn_req_free(r);
    cJSON_Delete(probe);
    return rc < 0 ? error_prefix(err, "Invalid execute template") : 0;
}

static int parse_id(const cJSON *obj, char id[UUID_STR_LEN], struct error *err)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "id");

    if (!cJSON_IsString(it) || uuid_normalize(it->valuestring, id) < 0)
        return error_set(err, -EINVAL, "id must be a UUID");
    return 0;
}

static int parse_parts(const cJSON *obj, struct trig_def *d, struct error *err)
{
    const cJSON *tmpl = cJSON_GetObjectItemCaseSensitive(obj, "input_template");
    const cJSON *local = cJSON_GetObjectItemCaseSensitive(obj, "local");
    int rc;

    rc = trigdef_source_parse(cJSON_GetObjectItemCaseSensitive(obj, "source"), &d->src, err);
    if (rc < 0)
        return rc;
    rc = trigdef_template_check(tmpl, err);
    if (rc < 0)
        return rc;
    if (local != NULL && !cJSON_IsBool(local) && !cJSON_IsNull(local))
        return error_set(err, -EINVAL, "local must be a boolean");
    d->local = cJSON_IsTrue(local);
    if (d->local) {
        rc = check_execute(cJSON_GetObjectItemCaseSensitive(obj, "execute"), err);
        if (rc < 0)
            return rc;
    }
    rc =
        json_get_int(obj, "firing_seq_base", JSON_NULLABLE, 0, INT64_C(1) << 53, &d->seq_base, err);
    return rc < 0 && rc != -ENOENT ? rc : 0;
}

int trig_def_parse(const cJSON *obj, struct trig_def *out, struct error *err)
{
    struct trig_def d;
    char *text;
    size_t len;
    int rc;

    memset(&d, 0, sizeof(d));
    if (!cJSON_IsObject(obj))
        return error_set(err, -EINVAL, "a trigger must be a JSON object");
    text = json_print(obj);
    len = strlen(text);
    free(text);
    if (len > TRIG_DEF_TEXT_MAX)
        return error_set(err, -EINVAL, "the definition exceeds %d bytes", TRIG_DEF_TEXT_MAX);
    rc = parse_id(obj, d.id, err);
    if (rc == 0)
        rc = parse_parts(obj, &d, err);
    if (rc < 0)
        return -EINVAL;
    if (d.seq_base < 0)
        d.seq_base = 0;
    d.tmpl = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(obj, "input_template"), 1);
    if (d.tmpl != NULL && !cJSON_IsObject(d.tmpl)) {
        cJSON_Delete(d.tmpl);
        d.tmpl = NULL;
    }
    if (d.local)
        d.execute = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(obj, "execute"), 1);
    d.raw = cJSON_Duplicate(obj, 1);
    *out = d;
    return 0;
}

void trig_def_clear(struct trig_def *d)
{
    cJSON_Delete(d->tmpl);
    cJSON_Delete(d->execute);
    cJSON_Delete(d->raw);
    d->tmpl = d->execute = d->raw = NULL;
}

int trig_def_same_source(const struct trig_def *a, const struct trig_def *b)
{
    const struct trigdef_source *x = &a->src, *y = &b->src;

    return x->kind == y->kind && strcmp(x->name, y->name) == 0 && x->line == y->line &&
           x->cond == y->cond && x->has_threshold == y->has_threshold &&
           x->threshold == y->threshold && x->hysteresis == y->hysteresis &&
           x->sample_interval_ms == y->sample_interval_ms && x->debounce_ms == y->debounce_ms;
}

cJSON *trig_def_execute(const struct trig_def *d, const char *execution_id, const cJSON *input)
{
    cJSON *p = cJSON_Duplicate(d->execute, 1);
    char *text = json_print(input);

    /* A local loop must run whenever it fires, possibly long after the
     * cloud built the template: a deadline from then would refuse it. */
    cJSON_DeleteItemFromObjectCaseSensitive(p, "deadline");
    cJSON_DeleteItemFromObjectCaseSensitive(p, "dispatched_at");
    cJSON_DeleteItemFromObjectCaseSensitive(p, "execution_id");
    cJSON_DeleteItemFromObjectCaseSensitive(p, "input");
    cJSON_DeleteItemFromObjectCaseSensitive(p, "input_kind");
    cJSON_AddStringToObject(p, "execution_id", execution_id);
    cJSON_AddStringToObject(p, "input", text);
    cJSON_AddStringToObject(p, "input_kind", "json");
    free(text);
    return p;
}
