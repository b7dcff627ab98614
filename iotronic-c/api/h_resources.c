/* api/h_resources.c: plugins (2.7), services (2.8) and fleets (2.9): lists,
 * single GETs, creation, flat PATCH and deletion through the conductor. */
#include "api/handlers.h"

#include "api/fault.h"
#include "api/ident.h"
#include "common/json.h"

#define PLUGIN_Q (API_Q_PAGING | API_Q_WITH_PUBLIC | API_Q_ALL_PLUGINS | API_Q_ALL_PROJECTS)
#define SERVICE_Q                                                                                  \
    (API_Q_PAGING | API_Q_PROJECT | API_Q_ALL_PROJECTS | API_Q_WITH_PUBLIC | API_Q_ALL_SERVICES)
#define FLEET_Q (API_Q_PAGING | API_Q_PROJECT | API_Q_ALL_PROJECTS)

/* A resource kind's routes: its collection, rules, bodies and methods. */
struct res {
    enum api_coll_id coll;
    const char *param; /* path parameter */
    const char *kind;  /* "plugin": names and messages */
    const char *rule_get, *rule_get_one, *rule_create, *rule_update, *rule_delete;
    const struct api_schema *post, *patch;
    const char *m_create, *m_update, *m_delete;
    const char *body_key; /* "plugin": the object of the create RPC */
};

static const struct res plugins = {
    AC_PLUGINS,
    "plugin",
    "plugin",
    "iot:plugin:get",
    "iot:plugin:get_one",
    "iot:plugin:create",
    "iot:plugin:update",
    "iot:plugin:delete",
    &api_schema_plugin_post,
    &api_schema_plugin_patch,
    "plugin_create",
    "plugin_update",
    "plugin_delete",
    "plugin",
};
static const struct res services = {
    AC_SERVICES,
    "service",
    "service",
    "iot:service:get",
    "iot:service:get_one",
    "iot:service:create",
    "iot:service:update",
    "iot:service:delete",
    &api_schema_service_post,
    &api_schema_service_patch,
    "service_create",
    "service_update",
    "service_delete",
    "service",
};
static const struct res fleets = {
    AC_FLEETS,
    "fleet",
    "fleet",
    "iot:fleet:get",
    "iot:fleet:get_one",
    "iot:fleet:create",
    "iot:fleet:update",
    "iot:fleet:delete",
    &api_schema_fleet_post,
    &api_schema_fleet_patch,
    "fleet_create",
    "fleet_update",
    "fleet_delete",
    "fleet",
};

static void list(struct http_req *r, enum api_coll_id coll, unsigned q, int detail,
                 const char *rule, const char *path, int public_only)
{
    struct api_scope sc = {0};
    struct api_call c;

    sc.public_only = public_only;
    if (api_call_init(r, &c) == 0)
        api_send_list(&c, coll, q, detail, rule, &sc, path);
}

API_HANDLER(plugins_list)
{
    list(r, AC_PLUGINS, PLUGIN_Q, 0, plugins.rule_get, "/v1/plugins", 0);
}
API_HANDLER(plugins_detail)
{
    list(r, AC_PLUGINS, PLUGIN_Q, 1, plugins.rule_get, "/v1/plugins/detail", 0);
}
API_HANDLER(plugins_public)
{
    list(r, AC_PLUGINS, API_Q_PAGING, 0, plugins.rule_get, "/v1/plugins/public", 1);
}
API_HANDLER(services_list)
{
    list(r, AC_SERVICES, SERVICE_Q, 0, services.rule_get, "/v1/services", 0);
}
API_HANDLER(services_detail)
{
    list(r, AC_SERVICES, SERVICE_Q, 1, services.rule_get, "/v1/services/detail", 0);
}
API_HANDLER(services_public)
{
    list(r, AC_SERVICES, SERVICE_Q, 0, services.rule_get, "/v1/services/public", 0);
}
API_HANDLER(fleets_list)
{
    list(r, AC_FLEETS, FLEET_Q, 0, fleets.rule_get, "/v1/fleets", 0);
}
API_HANDLER(fleets_detail)
{
    list(r, AC_FLEETS, FLEET_Q, 1, fleets.rule_get, "/v1/fleets/detail", 0);
}

static void get_one(struct http_req *r, const struct res *rs)
{
    const char *ref = http_req_param(r, rs->param);
    struct api_call c;
    struct api_row row;
    uint32_t mask;

    if (api_call_init(r, &c) < 0 || api_check_ref(&c, ref, 0) < 0 ||
        api_fields(&c, api_sqlkinds[rs->coll].kind, &mask) < 0 ||
        api_find(&c, rs->coll, ref, 0, &row) < 0)
        return;
    /* A public plugin needs no get_one rule (2.1). */
    if ((rs->coll == AC_PLUGINS && strcmp(api_row_field(&row, "public"), "t") == 0) ||
        api_authorize(&c, rs->rule_get_one, 1, api_row_owner(&row), api_row_project(&row)) == 0)
        api_send_row(&c, 200, &row, mask);
    api_row_clear(&row);
}

API_HANDLER(plugin_get)
{
    get_one(r, &plugins);
}
API_HANDLER(service_get)
{
    get_one(r, &services);
}
API_HANDLER(fleet_get)
{
    get_one(r, &fleets);
}

/* Semantic checks of a create or update body (step 8). */
static int semantics(struct api_call *c, const struct res *rs, const struct api_schema *s,
                     const struct api_body *b, int create)
{
    const struct api_val *name = api_body_get(s, b, "name");

    if (create && (!name->present || name->s[0] == '\0'))
        return http_resp_error(c->r, 400, "Name is not specified."), -1;
    if (name->present && !api_name_allowed(rs->kind, name->s))
        return http_resp_error(c->r, 400, "Cannot %s %s with invalid name %s",
                               create ? "create" : "update", rs->kind, name->s),
               -1;
    if (create && rs->coll == AC_SERVICES) {
        if (!api_body_get(s, b, "port")->present)
            return http_resp_error(c->r, 400, "Port is not specified."), -1;
        if (!api_body_get(s, b, "protocol")->present)
            return http_resp_error(c->r, 400, "Protocol is not specified."), -1;
    }
    return 0;
}

/* The body's present writable attributes as a JSON object. */
static cJSON *writable(const struct api_schema *s, const struct api_body *b)
{
    cJSON *o = cJSON_CreateObject();

    for (unsigned i = 0; i < s->n; i++) {
        const struct api_attr *a = &s->attrs[i];
        const struct api_val *v = &b->v[i];

        if (!v->present || (a->flags & (AA_RO | AA_UUID_LOCKED)))
            continue;
        if (v->null)
            cJSON_AddNullToObject(o, a->name);
        else if (a->type == AT_STR || a->type == AT_UUID)
            cJSON_AddStringToObject(o, a->name, v->s);
        else if (a->type == AT_INT)
            json_add_int(o, a->name, v->i);
        else if (a->type == AT_BOOL)
            cJSON_AddBoolToObject(o, a->name, v->b);
        else if (a->type == AT_DICT)
            cJSON_AddItemToObject(o, a->name, cJSON_Duplicate(v->j, 1));
    }
    return o;
}

static void create(struct http_req *r, const struct res *rs)
{
    struct api_call c;
    struct api_body b = {0};
    cJSON *args, *obj, *out = NULL;
    const cJSON *u;

    if (api_call_init(r, &c) < 0)
        return;
    if (api_parse_body(&c, rs->post, &b) < 0 ||
        api_authorize(&c, rs->rule_create, 0, NULL, NULL) < 0 ||
        semantics(&c, rs, rs->post, &b, 1) < 0)
        goto out;
    args = api_args();
    obj = writable(rs->post, &b);
    if (!cJSON_HasObjectItem(obj, "uuid")) {
        char nu[UUID_STR_LEN];

        uuid_v4(nu); /* named here: a redelivered create is then recognisable */
        cJSON_AddStringToObject(obj, "uuid", nu);
    }
    cJSON_AddItemToObject(args, rs->body_key, obj);
    if (api_conductor(&c, rs->m_create, args, NULL, &out) < 0)
        goto out;
    u = cJSON_GetObjectItemCaseSensitive(out, "uuid");
    api_send_fresh(&c, 201, rs->coll, cJSON_IsString(u) ? u->valuestring : "");
out:
    cJSON_Delete(out);
    api_body_free(&b);
}

API_HANDLER(plugin_create)
{
    create(r, &plugins);
}
API_HANDLER(service_create)
{
    create(r, &services);
}
API_HANDLER(fleet_create)
{
    create(r, &fleets);
}

static void update(struct http_req *r, const struct res *rs)
{
    const char *ref = http_req_param(r, rs->param);
    char uuid[UUID_STR_LEN];
    struct api_row row = {0};
    struct api_call c;
    struct api_body b = {0};
    cJSON *args, *changes, *out = NULL;

    if (api_call_init(r, &c) < 0 || api_check_ref(&c, ref, 0) < 0)
        return;
    if (api_parse_body(&c, rs->patch, &b) < 0 || api_find(&c, rs->coll, ref, 0, &row) < 0 ||
        api_authorize(&c, rs->rule_update, 1, api_row_owner(&row), api_row_project(&row)) < 0 ||
        semantics(&c, rs, rs->patch, &b, 0) < 0)
        goto out;
    snprintf(uuid, sizeof(uuid), "%s", api_row_field(&row, "uuid"));
    changes = writable(rs->patch, &b);
    if (cJSON_GetArraySize(changes) == 0) {
        cJSON_Delete(changes);
        api_send_row(&c, 200, &row, api_kind_all(row.sk->kind));
        goto out;
    }
    args = api_args();
    cJSON_AddStringToObject(args, "uuid", uuid);
    cJSON_AddItemToObject(args, "changes", changes);
    if (api_conductor(&c, rs->m_update, args, NULL, &out) == 0)
        api_send_fresh(&c, 200, rs->coll, uuid);
out:
    cJSON_Delete(out);
    api_row_clear(&row);
    api_body_free(&b);
}

API_HANDLER(plugin_update)
{
    update(r, &plugins);
}
API_HANDLER(service_update)
{
    update(r, &services);
}
API_HANDLER(fleet_update)
{
    update(r, &fleets);
}

static void delete (struct http_req *r, const struct res *rs)
{
    const char *ref = http_req_param(r, rs->param);
    struct api_row row;
    struct api_call c;
    cJSON *args, *out = NULL;

    if (api_call_init(r, &c) < 0 || api_check_ref(&c, ref, 0) < 0 ||
        api_find(&c, rs->coll, ref, 0, &row) < 0)
        return;
    if (api_authorize(&c, rs->rule_delete, 1, api_row_owner(&row), api_row_project(&row)) == 0) {
        args = api_args();
        cJSON_AddStringToObject(args, "uuid", api_row_field(&row, "uuid"));
        if (api_conductor(&c, rs->m_delete, args, NULL, &out) == 0)
            http_resp_empty(r, 204);
    }
    cJSON_Delete(out);
    api_row_clear(&row);
}

API_HANDLER(plugin_delete)
{
    delete (r, &plugins);
}
API_HANDLER(service_delete)
{
    delete (r, &services);
}
API_HANDLER(fleet_delete)
{
    delete (r, &fleets);
}

static void fleet_boards(struct http_req *r, int detail)
{
    const char *ref = http_req_param(r, "fleet");
    struct api_scope sc = {0};
    struct api_call c;
    struct api_row f;
    char *path;

    if (api_call_init(r, &c) < 0 || api_check_ref(&c, ref, 0) < 0 ||
        api_find(&c, AC_FLEETS, ref, 0, &f) < 0)
        return;
    sc.fleet = api_row_field(&f, "uuid");
    path = http_req_printf(r, "/v1/fleets/%s/boards%s", sc.fleet, detail ? "/detail" : "");
    api_send_list(&c, AC_BOARDS, API_Q_PAGING | API_Q_STATUS | API_Q_PROJECT | API_Q_ALL_PROJECTS,
                  detail, "iot:board:get", &sc, path);
    api_row_clear(&f);
}

API_HANDLER(fleet_boards)
{
    fleet_boards(r, 0);
}
API_HANDLER(fleet_boards_detail)
{
    fleet_boards(r, 1);
}
