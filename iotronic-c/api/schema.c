/* api/schema.c: see schema.h. */
#include "api/schema.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/fault.h"
#include "api/ident.h"
#include "api/query.h"
#include "common/json.h"
#include "common/jsonw.h"

const char *api_json_type(const cJSON *item)
{
    if (cJSON_IsString(item))
        return "string";
    if (cJSON_IsBool(item))
        return "boolean";
    if (cJSON_IsNull(item))
        return "null";
    if (cJSON_IsObject(item))
        return "object";
    if (cJSON_IsArray(item))
        return "array";
    if (cJSON_IsNumber(item))
        return item->valuedouble == floor(item->valuedouble) && fabs(item->valuedouble) < 9e15
                   ? "integer"
                   : "float";
    return "unknown";
}

/* "Invalid input for field/attribute <f>. Value: '<v>'. <reason>" */
static int invalid(struct error *err, const char *field, const cJSON *item, const char *fmt, ...)
    IOT_PRINTF(4, 5);
static int invalid(struct error *err, const char *field, const cJSON *item, const char *fmt, ...)
{
    char reason[256];
    char *text = cJSON_IsString(item) ? NULL : json_print(item);
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    rc = api_fail(err, 400, "Invalid input for field/attribute %s. Value: '%s'. %s", field,
                  text ? text : item->valuestring, reason);
    free(text);
    return rc;
}

static int check_str(const struct api_attr *a, const cJSON *it, struct api_val *v,
                     struct error *err)
{
    if (!cJSON_IsString(it))
        return invalid(err, a->name, it, "Wrong type. Expected 'string', got '%s'",
                       api_json_type(it));
    v->s = it->valuestring;
    if (a->max > 0 && api_utf8_chars(v->s) > (size_t)a->max)
        return invalid(err, a->name, it,
                       "Value should have a maximum character requirement of %lld",
                       (long long)a->max);
    if (a->choices != NULL) {
        size_t n = strlen(v->s);
        const char *c = a->choices;

        for (; *c; c += strcspn(c, "|"), c += *c == '|') {
            if (strcspn(c, "|") == n && strncmp(c, v->s, n) == 0)
                return 0;
        }
        char list[128];
        size_t k = 0;

        for (c = a->choices; *c && k + 3 < sizeof(list); c++) {
            if (*c == '|') {
                list[k++] = ',';
                list[k++] = ' ';
            } else {
                list[k++] = *c;
            }
        }
        list[k] = '\0';
        return invalid(err, a->name, it, "Value should be one of: %s", list);
    }
    return 0;
}

static int check_int(const struct api_attr *a, const cJSON *it, struct api_val *v,
                     struct error *err)
{
    if (cJSON_IsString(it)) {
        const char *p = it->valuestring;
        char *end;
        long long x;

        while (isspace((unsigned char)*p))
            p++;
        errno = 0;
        x = strtoll(p, &end, 10);
        while (isspace((unsigned char)*end))
            end++;
        if (p[0] == '\0' || !(isdigit((unsigned char)p[0]) || p[0] == '+' || p[0] == '-') ||
            *end != '\0' || errno == ERANGE)
            return invalid(err, a->name, it, "unable to convert to int");
        v->i = x;
    } else if (!json_int_value(it, INT64_MIN / 2, INT64_MAX / 2, &v->i)) {
        return invalid(err, a->name, it, "Wrong type. Expected 'integer', got '%s'",
                       api_json_type(it));
    }
    if (a->min != a->max && v->i < a->min)
        return invalid(err, a->name, it, "Value should be greater or equal to %lld",
                       (long long)a->min);
    if (a->min != a->max && v->i > a->max)
        return invalid(err, a->name, it, "Value should be lower or equal to %lld",
                       (long long)a->max);
    return 0;
}

static int check_bool(const struct api_attr *a, const cJSON *it, struct api_val *v,
                      struct error *err)
{
    if (cJSON_IsBool(it)) {
        v->b = cJSON_IsTrue(it);
        return 0;
    }
    if (!cJSON_IsString(it))
        return invalid(err, a->name, it, "Wrong type. Expected 'boolean', got '%s'",
                       api_json_type(it));
    v->b = api_parse_bool(it->valuestring);
    if (v->b < 0)
        return api_bad_bool(err, a->name, it->valuestring);
    return 0;
}

static int check_dict(const struct api_attr *a, const cJSON *it, struct api_val *v, cJSON **owned,
                      struct error *err)
{
    cJSON *tree = NULL;

    if (cJSON_IsObject(it)) {
        v->j = it;
        return 0;
    }
    /* [ext] the CLI's `board-update b extra={...}` sends the object as text. */
    if (cJSON_IsString(it) &&
        json_parse(it->valuestring, strlen(it->valuestring), &tree, NULL) == 0 &&
        cJSON_IsObject(tree)) {
        *owned = tree;
        v->j = tree;
        return 0;
    }
    cJSON_Delete(tree);
    return invalid(err, a->name, it, "Wrong type. Expected 'object', got '%s'", api_json_type(it));
}

static int check_list(const struct api_attr *a, const char *arg, const cJSON *it, struct api_val *v,
                      struct error *err)
{
    const cJSON *e;
    char path[128];

    if (!cJSON_IsArray(it))
        return invalid(err, a->name, it, "Wrong type. Expected 'array', got '%s'",
                       api_json_type(it));
    v->j = it;
    snprintf(path, sizeof(path), "%s.%s", arg, a->name);
    cJSON_ArrayForEach(e, it)
    {
        struct api_val sub[API_MAX_ATTRS];
        cJSON *owned[API_MAX_ATTRS] = {0};
        int rc;

        if (a->type == AT_STRLIST) {
            if (!cJSON_IsString(e))
                return invalid(err, a->name, e, "Wrong type. Expected 'string', got '%s'",
                               api_json_type(e));
            continue;
        }
        rc = api_object_check(a->sub, path, e, sub, owned, err);
        for (unsigned i = 0; i < API_MAX_ATTRS; i++)
            cJSON_Delete(owned[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int check_attr(const struct api_schema *s, const char *arg, const struct api_attr *a,
                      const cJSON *it, struct api_val *v, cJSON **owned, struct error *err)
{
    v->present = 1;
    if (a->flags & AA_RO)
        return invalid(err, a->name, it, "Cannot set read only field.");
    if (a->flags & AA_UUID_LOCKED)
        return api_fail(err, 400, "Cannot overwrite UUID for an existing %s.", s->Kind);
    if (cJSON_IsNull(it)) {
        v->null = 1;
        if (a->flags & AA_NULLABLE)
            return 0;
        return invalid(err, a->name, it, "Value must not be null");
    }
    switch (a->type) {
    case AT_STR:
        return check_str(a, it, v, err);
    case AT_INT:
        return check_int(a, it, v, err);
    case AT_BOOL:
        return check_bool(a, it, v, err);
    case AT_DICT:
        return check_dict(a, it, v, owned, err);
    case AT_UUID:
        if (!cJSON_IsString(it))
            return invalid(err, a->name, it, "Wrong type. Expected 'string', got '%s'",
                           api_json_type(it));
        if (api_parse_uuid(it->valuestring, v->uuid, err) < 0)
            return -EINVAL;
        v->s = v->uuid;
        return 0;
    case AT_OBJLIST:
    case AT_STRLIST:
        return check_list(a, arg, it, v, err);
    }
    return -EINVAL;
}

static int unknown_attrs(const struct api_schema *s, const char *arg, const cJSON *obj,
                         struct error *err)
{
    char names[256];
    size_t used = 0;
    int n = 0;
    const cJSON *it;

    names[0] = '\0';
    cJSON_ArrayForEach(it, obj)
    {
        unsigned i;

        for (i = 0; i < s->n; i++)
            if (strcmp(s->attrs[i].name, it->string) == 0)
                break;
        if (i < s->n)
            continue;
        if (used < sizeof(names))
            used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", n ? ", " : "",
                                     it->string);
        n++;
    }
    if (n == 0)
        return 0;
    return api_fail(err, 400, "Unknown attribute%s for argument %s: %s", n > 1 ? "s" : "", arg,
                    names);
}

int api_object_check(const struct api_schema *s, const char *arg, const cJSON *obj,
                     struct api_val *vals, cJSON **owned, struct error *err)
{
    int rc;

    memset(vals, 0, s->n * sizeof(vals[0]));
    if (!cJSON_IsObject(obj))
        return invalid(err, arg, obj, "Wrong type. Expected 'object', got '%s'",
                       api_json_type(obj));
    rc = unknown_attrs(s, arg, obj, err);
    for (unsigned i = 0; i < s->n && rc == 0; i++) {
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, s->attrs[i].name);

        if (it != NULL)
            rc = check_attr(s, arg, &s->attrs[i], it, &vals[i], &owned[i], err);
    }
    return rc;
}

int api_body_parse(const struct api_schema *s, const char *text, size_t len, struct api_body *out,
                   struct error *err)
{
    size_t i = 0;

    memset(out, 0, sizeof(*out));
    while (i < len && isspace((unsigned char)text[i]))
        i++;
    if (i == len)
        return api_fail(err, 400, "Missing argument: \"%s\"", s->arg);
    if (!jw_utf8_valid(text, len) || json_parse(text, len, &out->root, NULL) < 0)
        return api_fail(err, 400, "Request is not in valid JSON format");
    return api_object_check(s, s->arg, out->root, out->v, out->owned, err);
}

void api_body_free(struct api_body *b)
{
    for (unsigned i = 0; i < API_MAX_ATTRS; i++) {
        cJSON_Delete(b->owned[i]);
        b->owned[i] = NULL;
    }
    cJSON_Delete(b->root);
    b->root = NULL;
}

const struct api_val *api_body_get(const struct api_schema *s, const struct api_body *b,
                                   const char *name)
{
    for (unsigned i = 0; i < s->n; i++)
        if (strcmp(s->attrs[i].name, name) == 0)
            return &b->v[i];
    return NULL;
}

/* ------------------------------------------------------------ the bodies */

#define N(a) (unsigned)(sizeof(a) / sizeof((a)[0]))
#define STR(n, max)                                                                                \
    {                                                                                              \
        n, AT_STR, 0, 0, max, NULL, NULL                                                           \
    }
#define NSTR(n, max)                                                                               \
    {                                                                                              \
        n, AT_STR, AA_NULLABLE, 0, max, NULL, NULL                                                 \
    }
#define RO(n)                                                                                      \
    {                                                                                              \
        n, AT_STR, AA_RO, 0, 0, NULL, NULL                                                         \
    }
#define BOOL(n)                                                                                    \
    {                                                                                              \
        n, AT_BOOL, 0, 0, 0, NULL, NULL                                                            \
    }
#define DICT(n)                                                                                    \
    {                                                                                              \
        n, AT_DICT, 0, 0, 0, NULL, NULL                                                            \
    }
#define UUID(n)                                                                                    \
    {                                                                                              \
        n, AT_UUID, 0, 0, 0, NULL, NULL                                                            \
    }
#define LOCKED(n)                                                                                  \
    {                                                                                              \
        n, AT_UUID, AA_UUID_LOCKED, 0, 0, NULL, NULL                                               \
    }
#define PORT(n)                                                                                    \
    {                                                                                              \
        n, AT_INT, 0, 1, 65535, NULL, NULL                                                         \
    }

static const struct api_attr location_attrs[] = {
    NSTR("latitude", 18),
    NSTR("longitude", 18),
    NSTR("altitude", 18),
};
const struct api_schema api_schema_location = {"location", NULL, location_attrs, N(location_attrs)};

#define BOARD_RO                                                                                   \
    RO("status"), RO("agent"), RO("wstun_ip"), RO("owner"), RO("session"), RO("project"),          \
        RO("lr_version"), RO("connectivity"), RO("config"), RO("links"), RO("created_at"),         \
        RO("updated_at")

#define LOCATION                                                                                   \
    {                                                                                              \
        "location", AT_OBJLIST, 0, 0, 0, NULL, &api_schema_location                                \
    }
#define SCHEMA(var, arg, kind, attrs) const struct api_schema var = {arg, kind, attrs, N(attrs)}

/* Read-only names come after the writable ones (their check comes first
 * anyway: it is the first check of an attribute). */
static const struct api_attr board_post[] = {
    STR("name", 255),   STR("code", 36), LOCATION,     NSTR("type", 255), BOOL("mobile"),
    NSTR("fleet", 255), DICT("extra"),   UUID("uuid"), BOARD_RO,
};
static const struct api_attr board_patch[] = {
    STR("name", 255),   STR("code", 36), LOCATION,       NSTR("type", 255), BOOL("mobile"),
    NSTR("fleet", 255), DICT("extra"),   LOCKED("uuid"), BOARD_RO,
};
SCHEMA(api_schema_board_post, "Board", "Board", board_post);
SCHEMA(api_schema_board_patch, "val_Board", "Board", board_patch);

#define TS_RO RO("links"), RO("created_at"), RO("updated_at")
static const struct api_attr plugin_post[] = {
    STR("name", 36),  STR("code", 0),     BOOL("public"),
    BOOL("callable"), DICT("parameters"), DICT("extra"),
    UUID("uuid"),     RO("owner"),        TS_RO,
};
static const struct api_attr plugin_patch[] = {
    STR("name", 36),  STR("code", 0),     BOOL("public"),
    BOOL("callable"), DICT("parameters"), DICT("extra"),
    LOCKED("uuid"),   RO("owner"),        TS_RO,
};
SCHEMA(api_schema_plugin_post, "Plugin", "Plugin", plugin_post);
SCHEMA(api_schema_plugin_patch, "val_Plugin", "Plugin", plugin_patch);

#define PROTOCOL                                                                                   \
    {                                                                                              \
        "protocol", AT_STR, 0, 0, 0, "TCP|UDP|ANY", NULL                                           \
    }
static const struct api_attr service_post[] = {
    STR("name", 36), PORT("port"), PROTOCOL, DICT("extra"), UUID("uuid"), RO("project"), TS_RO,
};
static const struct api_attr service_patch[] = {
    STR("name", 36), PORT("port"), PROTOCOL, DICT("extra"), LOCKED("uuid"), RO("project"), TS_RO,
};
SCHEMA(api_schema_service_post, "Service", "Service", service_post);
SCHEMA(api_schema_service_patch, "val_Service", "Service", service_patch);

static const struct api_attr fleet_post[] = {
    STR("name", 36), STR("description", 300), DICT("extra"), UUID("uuid"), RO("project"), TS_RO,
};
static const struct api_attr fleet_patch[] = {
    STR("name", 36), STR("description", 300), DICT("extra"), LOCKED("uuid"), RO("project"), TS_RO,
};
SCHEMA(api_schema_fleet_post, "Fleet", "Fleet", fleet_post);
SCHEMA(api_schema_fleet_patch, "val_Fleet", "Fleet", fleet_patch);

static const struct api_attr action_attrs[] = {STR("action", 0), DICT("parameters")};
SCHEMA(api_schema_board_action, "BoardAction", NULL, action_attrs);
SCHEMA(api_schema_plugin_action, "PluginAction", NULL, action_attrs);
SCHEMA(api_schema_service_action, "ServiceAction", NULL, action_attrs);

static const struct api_attr injection_attrs[] = {STR("plugin", 255), BOOL("onboot")};
SCHEMA(api_schema_injection, "Injection", NULL, injection_attrs);

static const struct api_attr network_attrs[] = {
    STR("network", 255),
    STR("subnet", 255),
    {"security_groups", AT_STRLIST, 0, 0, 0, NULL, NULL},
};
SCHEMA(api_schema_network, "Network", NULL, network_attrs);

static const struct api_attr webservice_attrs[] = {
    STR("name", 0), PORT("port"),     BOOL("secure"), DICT("extra"),
    RO("uuid"),     RO("board_uuid"), TS_RO,
};
SCHEMA(api_schema_webservice, "Webservice", NULL, webservice_attrs);

static const struct api_attr enable_ws_attrs[] = {STR("dns", 0), STR("zone", 0), STR("email", 0)};
SCHEMA(api_schema_enable_ws, "EnabledWebserverData", NULL, enable_ws_attrs);
