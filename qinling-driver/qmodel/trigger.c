/* qmodel/trigger.c: trigger targets and the capability check (see
 * trigger.h). The source's own rules are common/trigdef's. */
#include "qmodel/trigger.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "qmodel/fault.h"
#include "qmodel/value.h"

static const char *const target_keys[] = {"function_id",    "function_alias", "function_version",
                                          "board_id",       "fleet_id",       "placement",
                                          "input_template", "pending_timeout"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const cJSON *member(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return v == NULL || cJSON_IsNull(v) ? NULL : v;
}

static int check_keys(const cJSON *obj, struct error *err)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, obj)
    {
        size_t i = 0;

        while (i < NELEM(target_keys) && strcmp(it->string, target_keys[i]) != 0)
            i++;
        if (i == NELEM(target_keys))
            return qm_fail(err, 400, "Unknown attribute: target.%.64s", it->string);
    }
    return 0;
}

/* A string member of at most max characters into out ("" when absent). */
static int get_ref(const cJSON *obj, const char *key, char *out, size_t size, struct error *err)
{
    const cJSON *v = member(obj, key);

    out[0] = '\0';
    if (v == NULL)
        return 0;
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0' || strlen(v->valuestring) >= size)
        return qm_fail(err, 400, "Invalid value for target.%s: a name or UUID is required.", key);
    snprintf(out, size, "%s", v->valuestring);
    return 0;
}

/* An integer as 1.4 allows it (JSON integer or decimal text) in [min, max]. */
static int get_int(const cJSON *obj, const char *key, int64_t min, int64_t max, int64_t *out,
                   struct error *err)
{
    const cJSON *v = member(obj, key);
    int64_t x;

    if (v == NULL)
        return 0;
    if (!(cJSON_IsString(v) ? qm_parse_int(v->valuestring, &x) == 0
                            : json_int_value(v, INT64_MIN, INT64_MAX, &x)) ||
        x < min || x > max)
        return qm_fail(err, 400,
                       "Invalid value for target.%s: an integer from %lld to %lld is "
                       "required.",
                       key, (long long)min, (long long)max);
    *out = x;
    return 0;
}

static int parse_function(const cJSON *obj, struct qm_trig_target *t, struct error *err)
{
    const cJSON *fid = member(obj, "function_id");
    int rc = get_ref(obj, "function_alias", t->alias, sizeof(t->alias), err);

    if (rc < 0)
        return rc;
    if (fid != NULL &&
        (!cJSON_IsString(fid) || uuid_normalize(fid->valuestring, t->function_id) < 0)) {
        char *shown = cJSON_IsString(fid) ? NULL : json_print(fid);

        rc = qm_fail(err, 400, "Expected a uuid but received %.64s.",
                     shown != NULL ? shown : fid->valuestring);
        free(shown);
        return rc;
    }
    if (t->function_id[0] == '\0' && t->alias[0] == '\0')
        return qm_fail(err, 400, "Either function_alias or function_id must be provided.");
    return get_int(obj, "function_version", 0, INT32_MAX, &t->version, err);
}

int qm_trig_target_parse(const cJSON *obj, struct qm_trig_target *out, struct error *err)
{
    struct qm_trig_target t;
    struct qm_target_req req;
    struct error terr;
    int rc;

    memset(&t, 0, sizeof(t));
    t.pending_timeout = -1;
    if (!cJSON_IsObject(obj))
        return qm_fail(err, 400, "target must be a JSON object.");
    rc = check_keys(obj, err);
    if (rc == 0)
        rc = parse_function(obj, &t, err);
    if (rc == 0)
        rc = get_ref(obj, "board_id", t.board_ref, sizeof(t.board_ref), err);
    if (rc == 0)
        rc = get_ref(obj, "fleet_id", t.fleet_ref, sizeof(t.fleet_ref), err);
    if (rc == 0)
        rc = get_ref(obj, "placement", t.placement, sizeof(t.placement), err);
    if (rc == 0)
        rc = get_int(obj, "pending_timeout", 0, 86400, &t.pending_timeout, err);
    if (rc < 0)
        return rc;
    req = qm_trig_target_req(&t);
    /* The function's default fleet may make a bare placement valid. */
    if (qm_target_syntax(&req, 1, err) < 0)
        return -EINVAL;
    t.tmpl = member(obj, "input_template");
    if (trigdef_template_check(t.tmpl, &terr) < 0)
        return qm_fail(err, 400, "%s", terr.msg);
    *out = t;
    return 0;
}

int qm_trig_target_load(const cJSON *stored, struct qm_trig_target *out, struct error *err)
{
    return qm_trig_target_parse(stored, out, err);
}

static void add_ref(cJSON *o, const char *key, const char *resolved, const char *given)
{
    json_add_str_or_null(o, key,
                         resolved != NULL && resolved[0] ? resolved
                         : given[0]                      ? given
                                                         : NULL);
}

cJSON *qm_trig_target_json(const struct qm_trig_target *t, const struct qm_target *r)
{
    cJSON *o = cJSON_CreateObject();

    json_add_str_or_null(o, "function_id", t->function_id[0] ? t->function_id : NULL);
    json_add_str_or_null(o, "function_alias", t->alias[0] ? t->alias : NULL);
    json_add_int(o, "function_version", t->version);
    add_ref(o, "board_id", r != NULL && t->board_ref[0] ? r->board_id : NULL, t->board_ref);
    add_ref(o, "fleet_id", r != NULL && t->fleet_ref[0] ? r->fleet_id : NULL, t->fleet_ref);
    json_add_str_or_null(o, "placement", t->placement[0] ? t->placement : NULL);
    cJSON_AddItemToObject(o, "input_template",
                          t->tmpl != NULL ? cJSON_Duplicate(t->tmpl, 1) : cJSON_CreateNull());
    if (t->pending_timeout >= 0)
        json_add_int(o, "pending_timeout", t->pending_timeout);
    else
        cJSON_AddNullToObject(o, "pending_timeout");
    return o;
}

struct qm_target_req qm_trig_target_req(const struct qm_trig_target *t)
{
    struct qm_target_req r = {t->board_ref[0] ? t->board_ref : NULL,
                              t->fleet_ref[0] ? t->fleet_ref : NULL,
                              t->placement[0] ? t->placement : NULL};

    return r;
}

/* ------------------------------------------------------ capabilities */

static int has_sensor(const cJSON *caps, const char *name)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(caps, "sensors"))
    {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "name"));

        if (n != NULL && strcmp(n, name) == 0)
            return 1;
    }
    return 0;
}

static int has_line(const cJSON *caps, const char *chip, unsigned line)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(caps, "gpio"))
    {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "chip"));
        int64_t lines = 0;

        if (n != NULL && strcmp(n, chip) == 0 &&
            json_int_value(cJSON_GetObjectItemCaseSensitive(it, "lines"), 0, 1 << 20, &lines))
            return (int64_t)line < lines;
    }
    return 0;
}

int qm_trig_caps_check(const struct trigdef_source *s, const cJSON *caps, const char *board,
                       struct error *err)
{
    if (!cJSON_IsObject(caps))
        return qm_fail(err, 409, "Capabilities of board %s are not known yet.", board);
    if (s->kind == TRIGDEF_SENSOR && !has_sensor(caps, s->name))
        return qm_fail(err, 400, "Board %s has no sensor %s.", board, s->name);
    if (s->kind == TRIGDEF_GPIO && !has_line(caps, s->name, s->line))
        return qm_fail(err, 400, "Board %s has no GPIO line %s:%u.", board, s->name, s->line);
    return 0;
}

int qm_trig_is_local(struct db *db, const struct qm_trig_target *t, const struct qm_fn *fn,
                     const char *source_board, struct error *err)
{
    struct qm_target_req req = qm_trig_target_req(t);
    struct qm_target r;
    int rc = qm_target_resolve(db, &req, fn, NULL, &r, err);

    if (rc < 0)
        return rc;
    return r.fleet_id[0] == '\0' && strcmp(r.board_id, source_board) == 0;
}
