/* api/resource.c: see resource.h. Field orders are section 3's. */
#include "api/resource.h"

#include <string.h>

#define N(a) (unsigned)(sizeof(a) / sizeof((a)[0]))
#define D AF_DEFAULT
#define A AF_ALWAYS

static const struct api_field board_fields[] = {
    {"uuid", FT_STR, D},
    {"code", FT_STR, D},
    {"status", FT_STR, D},
    {"name", FT_STR, D},
    {"type", FT_STR, D},
    {"agent", FT_STR, D},
    {"wstun_ip", FT_HOST, D | AF_OMIT_NULL},
    {"owner", FT_STR, 0},
    {"session", FT_STR, D},
    {"project", FT_STR, 0},
    {"fleet", FT_STR, D},
    {"mobile", FT_BOOL, 0},
    {"lr_version", FT_STR, D},
    {"connectivity", FT_JSON, D},
    {"links", FT_LINKS, A},
    {"location", FT_JSON, A},
    {"extra", FT_JSON, 0},
    {"config", FT_JSON, 0},
    {"created_at", FT_STR, 0},
    {"updated_at", FT_STR, 0},
};
static const char *const board_sorts[] = {
    "id",      "uuid",  "code",       "status", "name",       "type",       "agent", "owner",
    "project", "fleet", "lr_version", "mobile", "created_at", "updated_at", NULL};
static const char *const bad_extra_location[] = {"extra", "location", NULL};
static const char *const bad_extra[] = {"extra", NULL};
static const char *const bad_none[] = {NULL};

const struct api_kind api_kind_board = {
    "board",         "Board",     "boards",           "boards", board_fields,
    N(board_fields), board_sorts, bad_extra_location, 1,
};

static const struct api_field plugin_fields[] = {
    {"uuid", FT_STR, D},        {"name", FT_STR, D},       {"code", FT_STR, 0},
    {"public", FT_BOOL, D},     {"owner", FT_STR, D},      {"callable", FT_BOOL, D},
    {"parameters", FT_JSON, 0}, {"links", FT_LINKS, A},    {"extra", FT_JSON, 0},
    {"created_at", FT_STR, 0},  {"updated_at", FT_STR, 0},
};
static const char *const plugin_sorts[] = {
    "id", "uuid", "name", "owner", "public", "callable", "created_at", "updated_at", NULL};
const struct api_kind api_kind_plugin = {
    "plugin",         "Plugin",     "plugins",          "plugins", plugin_fields,
    N(plugin_fields), plugin_sorts, bad_extra_location, 0,
};

static const struct api_field service_fields[] = {
    {"uuid", FT_STR, D},    {"name", FT_STR, D},       {"project", FT_STR, D},
    {"port", FT_INT, D},    {"protocol", FT_STR, D},   {"extra", FT_JSON, D},
    {"links", FT_LINKS, A}, {"created_at", FT_STR, 0}, {"updated_at", FT_STR, 0},
};
static const char *const service_sorts[] = {
    "id", "uuid", "name", "project", "port", "protocol", "created_at", "updated_at", NULL};
const struct api_kind api_kind_service = {
    "service",         "Service",     "services", "services", service_fields,
    N(service_fields), service_sorts, bad_extra,  0,
};

const struct api_kind api_kind_service_public = {
    "service",         "Service",     "services",         "services", service_fields,
    N(service_fields), service_sorts, bad_extra_location, 0,
};

static const struct api_field fleet_fields[] = {
    {"uuid", FT_STR, D},        {"name", FT_STR, D},       {"project", FT_STR, D},
    {"description", FT_STR, D}, {"extra", FT_JSON, D},     {"links", FT_LINKS, A},
    {"created_at", FT_STR, 0},  {"updated_at", FT_STR, 0},
};
static const char *const fleet_sorts[] = {"id",          "uuid",       "name",       "project",
                                          "description", "created_at", "updated_at", NULL};
const struct api_kind api_kind_fleet = {
    "fleet", "Fleet", "fleets", "fleets", fleet_fields, N(fleet_fields), fleet_sorts, bad_extra, 0,
};

static const struct api_field webservice_fields[] = {
    {"uuid", FT_STR, D},       {"name", FT_STR, D},       {"port", FT_INT, D},
    {"board_uuid", FT_STR, D}, {"secure", FT_BOOL, 0},    {"extra", FT_JSON, D},
    {"links", FT_LINKS, A},    {"created_at", FT_STR, 0}, {"updated_at", FT_STR, 0},
};
static const char *const webservice_sorts[] = {
    "id", "uuid", "name", "port", "board_uuid", "secure", "created_at", "updated_at", NULL};
const struct api_kind api_kind_webservice = {
    "webservice",     "Webservice",      "webservices",
    "webservices",    webservice_fields, N(webservice_fields),
    webservice_sorts, bad_extra,         0,
};

static const struct api_field enabledws_fields[] = {
    {"http_port", FT_INT, D},  {"https_port", FT_INT, D}, {"board_uuid", FT_STR, D},
    {"dns", FT_STR, D},        {"zone", FT_STR, D},       {"extra", FT_JSON, D},
    {"created_at", FT_STR, 0}, {"updated_at", FT_STR, 0},
};
static const char *const enabledws_sorts[] = {
    "id", "board_uuid", "http_port", "https_port", "dns", "zone", "created_at", "updated_at", NULL};
const struct api_kind api_kind_enabledws = {
    "enabledwebservice",  "EnabledWebservice", NULL,
    "EnabledWebservices", enabledws_fields,    N(enabledws_fields),
    enabledws_sorts,      bad_extra,           0,
};

static const struct api_field port_fields[] = {
    {"uuid", FT_STR, D},     {"board_uuid", FT_STR, D}, {"MAC_add", FT_STR, D},
    {"VIF_name", FT_STR, D}, {"network", FT_STR, D},    {"ip", FT_STR, D},
    {"links", FT_LINKS, A},  {"created_at", FT_STR, 0}, {"updated_at", FT_STR, 0},
};
static const char *const port_sorts[] = {"id", "uuid",    "board_uuid", "VIF_name",   "MAC_add",
                                         "ip", "network", "created_at", "updated_at", NULL};
const struct api_kind api_kind_port = {
    "port", "Port", "ports", "ports", port_fields, N(port_fields), port_sorts, bad_extra_location,
    0,
};

static const struct api_field boardport_fields[] = {
    {"uuid", FT_STR, D},    {"VIF_name", FT_STR, D},   {"MAC_add", FT_STR, D},    {"ip", FT_STR, D},
    {"network", FT_STR, D}, {"created_at", FT_STR, D}, {"updated_at", FT_STR, D},
};
static const char *const id_sorts[] = {"id", NULL};
const struct api_kind api_kind_boardport = {
    "port", "Port", NULL, "ports", boardport_fields, N(boardport_fields), id_sorts, bad_none, 0,
};

static const struct api_field request_fields[] = {
    {"uuid", FT_STR, D},
    {"destination_uuid", FT_STR, D},
    {"main_request_uuid", FT_STR, D},
    {"pending_requests", FT_INT, D},
    {"status", FT_STR, D},
    {"project", FT_STR, 0},
    {"type", FT_INT, D},
    {"action", FT_STR, D},
    {"links", FT_LINKS, A},
    {"created_at", FT_STR, 0},
    {"updated_at", FT_STR, 0},
};
static const char *const request_sorts[] = {
    "id",      "uuid", "destination_uuid", "main_request_uuid", "pending_requests", "status",
    "project", "type", "action",           "created_at",        "updated_at",       NULL};
const struct api_kind api_kind_request = {
    "request",         "Request",     "requests", "requests", request_fields,
    N(request_fields), request_sorts, bad_none,   0,
};

static const struct api_field result_fields[] = {
    {"board_uuid", FT_STR, D}, {"request_uuid", FT_STR, D}, {"result", FT_STR, D},
    {"message", FT_STR, D},    {"created_at", FT_STR, 0},   {"updated_at", FT_STR, 0},
};
static const char *const result_sorts[] = {
    "id", "board_uuid", "request_uuid", "result", "created_at", "updated_at", NULL};
const struct api_kind api_kind_result = {
    "result", "Result", NULL, "results", result_fields, N(result_fields), result_sorts, bad_none, 0,
};

static const struct api_field injection_fields[] = {
    {"plugin", FT_STR, D},     {"status", FT_STR, D},     {"onboot", FT_BOOL, D},
    {"created_at", FT_STR, D}, {"updated_at", FT_STR, D},
};
const struct api_kind api_kind_injection = {
    "injection", "InjectionPlugin", NULL, "injections", injection_fields, N(injection_fields),
    id_sorts,    bad_none,          0,
};

static const struct api_field exposed_fields[] = {
    {"service", FT_STR, D},
    {"public_port", FT_INT, D},
    {"created_at", FT_STR, D},
    {"updated_at", FT_STR, D},
};
const struct api_kind api_kind_exposed = {
    "exposed",         "ExposedService", NULL,     "exposed", exposed_fields,
    N(exposed_fields), id_sorts,         bad_none, 0,
};

uint32_t api_kind_all(const struct api_kind *k)
{
    return k->nfields >= 32 ? UINT32_MAX : (UINT32_C(1) << k->nfields) - 1;
}

uint32_t api_kind_default(const struct api_kind *k)
{
    uint32_t m = 0;

    for (unsigned i = 0; i < k->nfields; i++)
        if (k->fields[i].flags & (AF_DEFAULT | AF_ALWAYS))
            m |= UINT32_C(1) << i;
    return m;
}

int api_kind_field(const struct api_kind *k, const char *name)
{
    for (unsigned i = 0; i < k->nfields; i++)
        if (strcmp(k->fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

int api_kind_sort(const struct api_kind *k, const char *name)
{
    for (int i = 0; k->sort_keys[i] != NULL; i++)
        if (strcmp(k->sort_keys[i], name) == 0)
            return i;
    return -1;
}

char *api_url_host(const char *url, char *out, size_t outsz)
{
    const char *p = strstr(url, "://"), *end, *at;
    size_t n;

    p = p ? p + 3 : url;
    end = p + strcspn(p, "/?#");
    at = memchr(p, '@', (size_t)(end - p));
    if (at != NULL)
        p = at + 1;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(end - p));

        p++;
        end = rb ? rb : end;
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));

        if (colon != NULL)
            end = colon;
    }
    n = (size_t)(end - p);
    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

void api_render_links(struct jw *w, const char *base, const char *collection, const char *uuid)
{
    struct buf *b = w->b;

    jw_arr_begin(w);
    for (int bookmark = 0; bookmark < 2; bookmark++) {
        jw_obj_begin(w);
        jw_key(w, "href");
        jw_value_sep(w);
        /* The href is built in place: base and ids need no escaping beyond
         * what jw_escape gives, and this avoids a temporary per link. */
        if (w->err == 0)
            w->err = buf_append_str(b, "\"");
        if (w->err == 0)
            w->err = jw_escape(b, base, strlen(base));
        if (w->err == 0)
            w->err = buf_printf(b, "%s/%s/", bookmark ? "" : "/v1", collection);
        if (w->err == 0)
            w->err = jw_escape(b, uuid, strlen(uuid));
        if (w->err == 0)
            w->err = buf_append_str(b, "\"");
        jw_key(w, "rel");
        jw_str(w, bookmark ? "bookmark" : "self");
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

static void render_value(struct jw *w, const struct api_kind *k, const struct api_field *f,
                         const char *v, const char *base)
{
    char host[256];

    if (v == NULL && f->type != FT_LINKS) {
        jw_null(w);
        return;
    }
    switch (f->type) {
    case FT_STR:
        jw_str(w, v);
        break;
    case FT_INT:
        jw_raw(w, v);
        break;
    case FT_BOOL:
        jw_bool(w, v[0] == 't');
        break;
    case FT_JSON:
        jw_raw(w, v);
        break;
    case FT_LINKS:
        api_render_links(w, base, k->collection, v ? v : "");
        break;
    case FT_HOST:
        if (v[0] == '\0')
            jw_null(w);
        else
            jw_str(w, api_url_host(v, host, sizeof(host)));
        break;
    }
}

void api_render_item(struct jw *w, const struct api_kind *k, const char *const *vals, uint32_t mask,
                     const char *base)
{
    jw_obj_begin(w);
    for (unsigned i = 0; i < k->nfields; i++) {
        const struct api_field *f = &k->fields[i];

        if (!(mask & (UINT32_C(1) << i)) && !(f->flags & AF_ALWAYS))
            continue;
        if (vals[i] == NULL && (f->flags & AF_OMIT_NULL))
            continue;
        jw_key(w, f->name);
        render_value(w, k, f, vals[i], base);
    }
    jw_obj_end(w);
}
