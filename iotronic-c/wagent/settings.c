/* wagent/settings.c: see settings.h. Keys are written in the order of the
 * contract's example, which is the original's. */
#include "wagent/settings.h"

#include <string.h>

#include "common/json.h"

static cJSON *object_or_empty(const char *json)
{
    cJSON *o = NULL;
    struct error err;

    if (json != NULL && json_parse(json, strlen(json), &o, &err) == 0 && cJSON_IsObject(o))
        return o;
    cJSON_Delete(o);
    return cJSON_CreateObject();
}

static void add_location(cJSON *board, const struct wag_settings *st)
{
    cJSON *loc = cJSON_AddObjectToObject(board, "location");

    json_add_str_or_null(loc, "longitude", st->longitude);
    json_add_str_or_null(loc, "latitude", st->latitude);
    json_add_str_or_null(loc, "altitude", st->altitude);
    json_add_str_or_null(loc, "updated_at", st->location_updated_at);
}

static cJSON *board_object(const struct wag_settings *st, int with_secret)
{
    cJSON *b = cJSON_CreateObject(), *auth;

    json_add_str_or_null(b, "uuid", st->uuid);
    json_add_str_or_null(b, "code", st->code);
    cJSON_AddStringToObject(b, "status", "registered");
    json_add_str_or_null(b, "name", st->name);
    json_add_str_or_null(b, "type", st->type);
    json_add_str_or_null(b, "agent", st->agent);
    json_add_str_or_null(b, "owner", st->owner);
    json_add_str_or_null(b, "project", st->project);
    json_add_str_or_null(b, "fleet", st->fleet);
    cJSON_AddBoolToObject(b, "mobile", st->mobile);
    json_add_str_or_null(b, "lr_version", st->lr_version);
    cJSON_AddItemToObject(b, "connectivity", object_or_empty(st->connectivity_json));
    cJSON_AddItemToObject(b, "extra", object_or_empty(st->extra_json));
    json_add_str_or_null(b, "created_at", st->created_at);
    json_add_str_or_null(b, "updated_at", st->updated_at);
    add_location(b, st);
    auth = cJSON_AddObjectToObject(b, "auth");
    cJSON_AddStringToObject(auth, "method", "wampcra");
    json_add_str_or_null(auth, "authid", st->uuid);
    if (with_secret)
        json_add_str_or_null(auth, "secret", st->secret);
    return b;
}

static void add_agent(cJSON *wamp, const char *key, const char *url, const char *realm)
{
    cJSON *a = cJSON_AddObjectToObject(wamp, key);

    json_add_str_or_null(a, "url", url);
    json_add_str_or_null(a, "realm", realm);
}

cJSON *wag_settings_doc(const struct wag_settings *st, int with_secret)
{
    cJSON *doc = cJSON_CreateObject(), *io = cJSON_AddObjectToObject(doc, "iotronic"), *wamp;

    cJSON_AddItemToObject(io, "board", board_object(st, with_secret));
    wamp = cJSON_AddObjectToObject(io, "wamp");
    add_agent(wamp, "registration-agent", st->registration_url, st->realm);
    add_agent(wamp, "main-agent", st->main_url, st->realm);
    cJSON_AddObjectToObject(io, "extra");
    return doc;
}
