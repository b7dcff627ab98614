/* api/h_board_sub.c: what lives on a board: plugins (2.3), services (2.4),
 * ports (2.5) and webservices (2.6). Each route resolves the board within
 * the caller's visibility, checks its rule against the board (4.3), and
 * hands writes to the conductor. */
#include "api/handlers.h"

#include "api/fault.h"
#include "api/ident.h"
#include "common/json.h"

static const char *const plugin_actions[] = {"PluginCall",   "PluginStop",   "PluginStart",
                                             "PluginStatus", "PluginReboot", NULL};
static const char *const service_actions[] = {"ServiceEnable", "ServiceDisable", "ServiceRestore",
                                              NULL};

static int listed(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

/* The board of the path, visible, with rule checked against it. */
static int board_of(struct api_call *c, const char *rule, struct api_row *row)
{
    const char *ref = http_req_param(c->r, "board");

    memset(row, 0, sizeof(*row));
    if (api_check_ref(c, ref, 0) < 0 || api_find(c, AC_BOARDS, ref, 0, row) < 0)
        return -1;
    if (api_authorize(c, rule, 1, api_row_owner(row), api_row_project(row)) < 0) {
        api_row_clear(row);
        return -1;
    }
    return 0;
}

static cJSON *board_args(const struct api_row *b)
{
    cJSON *a = api_args();

    cJSON_AddStringToObject(a, "board", api_row_field(b, "uuid"));
    return a;
}

/* ------------------------------------------------------------- plugins */

API_HANDLER(board_plugins)
{
    struct api_call c;
    struct api_row b;

    if (api_call_init(r, &c) < 0 || board_of(&c, "iot:plugin_on_board:get", &b) < 0)
        return;
    api_send_sublist(&c, &api_kind_injection, api_row_field(&b, "uuid"));
    api_row_clear(&b);
}

/* The plugin named in the body or path, checked against rule when it is
 * not public (2.3: board first, then the plugin). */
static int plugin_of(struct api_call *c, const char *ref, const char *rule, struct api_row *p)
{
    if (api_find(c, AC_PLUGINS, ref, 0, p) < 0)
        return -1;
    if (strcmp(api_row_field(p, "public"), "t") != 0 &&
        api_authorize(c, rule, 1, api_row_owner(p), NULL) < 0) {
        api_row_clear(p);
        return -1;
    }
    return 0;
}

API_HANDLER(board_plugin_inject)
{
    const struct api_schema *s = &api_schema_injection;
    struct api_row b = {0}, p = {0};
    const struct api_val *plugin, *onboot;
    struct api_call c;
    struct api_body body = {0};
    cJSON *args, *out = NULL;

    if (api_call_init(r, &c) < 0 || api_check_ref(&c, http_req_param(r, "board"), 0) < 0 ||
        api_parse_body(&c, s, &body) < 0 || board_of(&c, "iot:plugin_inject:put", &b) < 0)
        goto out;
    plugin = api_body_get(s, &body, "plugin");
    onboot = api_body_get(s, &body, "onboot");
    if (!plugin->present || plugin->s[0] == '\0') {
        http_resp_error(r, 400, "Plugin is not specified.");
        goto out;
    }
    if (plugin_of(&c, plugin->s, "iot:plugin_inject:put", &p) < 0)
        goto out;
    args = board_args(&b);
    cJSON_AddStringToObject(args, "plugin", api_row_field(&p, "uuid"));
    cJSON_AddBoolToObject(args, "onboot", onboot->present && onboot->b);
    if (api_conductor(&c, "plugin_inject", args, api_row_field(&b, "uuid"), &out) == 0)
        api_send_action(&c, out);
out:
    cJSON_Delete(out);
    api_row_clear(&p);
    api_row_clear(&b);
    api_body_free(&body);
}

/* Every key of the plugin's stored parameters must be given (2.3). */
static int params_match(const struct api_row *p, const cJSON *given)
{
    cJSON *stored = cJSON_Parse(api_row_field(p, "parameters"));
    const cJSON *it;
    int ok = 1;

    cJSON_ArrayForEach(it, stored) if (given == NULL || !cJSON_HasObjectItem(given, it->string))
        ok = 0;
    cJSON_Delete(stored);
    return ok;
}

API_HANDLER(board_plugin_action)
{
    const struct api_schema *s = &api_schema_plugin_action;
    struct api_row b = {0}, p = {0};
    const struct api_val *action, *params;
    struct api_call c;
    struct api_body body = {0};
    cJSON *args, *out = NULL;

    if (api_call_init(r, &c) < 0 || api_check_ref(&c, http_req_param(r, "board"), 0) < 0 ||
        api_check_ref(&c, http_req_param(r, "plugin"), 0) < 0 || api_parse_body(&c, s, &body) < 0 ||
        board_of(&c, "iot:plugin_action:post", &b) < 0 ||
        plugin_of(&c, http_req_param(r, "plugin"), "iot:plugin_action:post", &p) < 0)
        goto out;
    action = api_body_get(s, &body, "action");
    params = api_body_get(s, &body, "parameters");
    if (!action->present || action->s[0] == '\0') {
        http_resp_error(r, 400, "Action is not specified.");
        goto out;
    }
    if (!listed(plugin_actions, action->s)) {
        http_resp_error(r, 400, "Invalid Action %s for the plugin.", action->s);
        goto out;
    }
    if ((!strcmp(action->s, "PluginCall") || !strcmp(action->s, "PluginStart") ||
         !strcmp(action->s, "PluginReboot")) &&
        !params_match(&p, params->present ? params->j : NULL)) {
        http_resp_error(r, 400, "Parameters are different from the valid ones");
        goto out;
    }
    args = board_args(&b);
    cJSON_AddStringToObject(args, "plugin", api_row_field(&p, "uuid"));
    cJSON_AddStringToObject(args, "action", action->s);
    cJSON_AddItemToObject(args, "parameters",
                          json_dup_or_object(params->present ? params->j : NULL));
    if (api_conductor(&c, "plugin_action", args, api_row_field(&b, "uuid"), &out) == 0)
        api_send_action(&c, out);
out:
    cJSON_Delete(out);
    api_row_clear(&p);
    api_row_clear(&b);
    api_body_free(&body);
}

API_HANDLER(board_plugin_remove)
{
    struct api_row b = {0}, p = {0};
    struct api_call c;
    cJSON *args, *out = NULL;

    if (api_call_init(r, &c) < 0 || api_check_ref(&c, http_req_param(r, "plugin"), 0) < 0 ||
        board_of(&c, "iot:plugin_remove:delete", &b) < 0 ||
        api_find(&c, AC_PLUGINS, http_req_param(r, "plugin"), 0, &p) < 0)
        goto out;
    args = board_args(&b);
    cJSON_AddStringToObject(args, "plugin", api_row_field(&p, "uuid"));
    if (api_conductor(&c, "plugin_remove", args, api_row_field(&b, "uuid"), &out) == 0) {
        api_request_header(&c, out);
        http_resp_empty(r, 204);
    }
out:
    cJSON_Delete(out);
    api_row_clear(&p);
    api_row_clear(&b);
}

/* ------------------------------------------------------------ services */

API_HANDLER(board_services)
{
    struct api_call c;
    struct api_row b;

    if (api_call_init(r, &c) < 0 || board_of(&c, "iot:service_on_board:get", &b) < 0)
        return;
    api_send_sublist(&c, &api_kind_exposed, api_row_field(&b, "uuid"));
    api_row_clear(&b);
}

API_HANDLER(board_service_action)
{
    const struct api_schema *s = &api_schema_service_action;
    struct api_row b = {0}, sv = {0};
    const struct api_val *action;
    struct api_call c;
    struct api_body body = {0};
    cJSON *args, *out = NULL;

    if (api_call_init(r, &c) < 0 || api_check_ref(&c, http_req_param(r, "board"), 0) < 0 ||
        api_check_ref(&c, http_req_param(r, "service"), 0) < 0 ||
        api_parse_body(&c, s, &body) < 0 || board_of(&c, "iot:service_action:post", &b) < 0 ||
        api_find(&c, AC_SERVICES, http_req_param(r, "service"), 0, &sv) < 0)
        goto out;
    action = api_body_get(s, &body, "action");
    if (!action->present || action->s[0] == '\0') {
        http_resp_error(r, 400, "Action is not specified.");
        goto out;
    }
    if (!listed(service_actions, action->s)) {
        http_resp_error(r, 400, "Invalid Action %s for the service.", action->s);
        goto out;
    }
    args = board_args(&b);
    cJSON_AddStringToObject(args, "service", api_row_field(&sv, "uuid"));
    cJSON_AddStringToObject(args, "action", action->s);
    if (api_conductor(&c, "service_action", args, api_row_field(&b, "uuid"), &out) == 0)
        api_send_action(&c, out);
out:
    cJSON_Delete(out);
    api_row_clear(&sv);
    api_row_clear(&b);
    api_body_free(&body);
}

API_HANDLER(board_services_restore)
{
    struct api_call c;
    struct api_row b;
    cJSON *out = NULL;

    if (api_call_init(r, &c) < 0 || board_of(&c, "iot:service_action:post", &b) < 0)
        return;
    if (api_conductor(&c, "services_restore", board_args(&b), api_row_field(&b, "uuid"), &out) ==
        0) {
        api_request_header(&c, out);
        api_send_sublist(&c, &api_kind_exposed, api_row_field(&b, "uuid"));
    }
    cJSON_Delete(out);
    api_row_clear(&b);
}

API_HANDLER(board_services_status)
{
    struct api_call c;
    struct api_row b;
    cJSON *out = NULL;

    if (api_call_init(r, &c) < 0 || board_of(&c, "iot:service_on_board:get", &b) < 0)
        return;
    if (api_conductor(&c, "services_status", board_args(&b), api_row_field(&b, "uuid"), &out) == 0)
        api_send_action(&c, out);
    cJSON_Delete(out);
    api_row_clear(&b);
}

/* --------------------------------------------------------------- ports */

API_HANDLER(board_ports)
{
    struct api_call c;
    struct api_row b;

    if (api_call_init(r, &c) < 0 || board_of(&c, "iot:port_on_board:get", &b) < 0)
        return;
    api_send_sublist(&c, &api_kind_boardport, api_row_field(&b, "uuid"));
    api_row_clear(&b);
}

API_HANDLER(board_port_get)
{
    char port[UUID_STR_LEN];
    struct api_call c;
    struct api_row b;
    struct error err;
    struct buf out;

    if (api_call_init(r, &c) < 0 || api_check_ref(&c, http_req_param(r, "port"), 1) < 0 ||
        board_of(&c, "iot:port_on_board:get", &b) < 0)
        return;
    if (uuid_normalize(http_req_param(r, "port"), port) < 0)
        port[0] = '\0';
    buf_init(&out, 1 << 20);
    if (api_store_boardport(c.a->store, c.db, api_row_field(&b, "uuid"), port, c.base, &out, &err) <
        0) {
        api_respond_error(&c, &err);
        buf_free(&out);
    } else {
        size_t len;
        char *p = buf_take(&out, &len);

        http_resp_body_take(r, 200, "application/json", p, len);
    }
    api_row_clear(&b);
}

API_HANDLER(board_port_attach)
{
    const struct api_schema *s = &api_schema_network;
    const struct api_val *net, *sub, *sg;
    struct api_row b = {0};
    struct api_call c;
    struct api_body body = {0};
    cJSON *args, *out = NULL;
    const cJSON *u;

    if (api_call_init(r, &c) < 0 || api_check_ref(&c, http_req_param(r, "board"), 0) < 0 ||
        api_parse_body(&c, s, &body) < 0 || board_of(&c, "iot:port_on_board:create", &b) < 0)
        goto out;
    net = api_body_get(s, &body, "network");
    sub = api_body_get(s, &body, "subnet");
    sg = api_body_get(s, &body, "security_groups");
    if (!net->present || net->s[0] == '\0') {
        http_resp_error(r, 400, "Network is not specified.");
        goto out;
    }
    if (!sub->present || sub->s[0] == '\0') {
        http_resp_error(r, 400, "Subnet is not specified.");
        goto out;
    }
    args = board_args(&b);
    cJSON_AddStringToObject(args, "network", net->s);
    cJSON_AddStringToObject(args, "subnet", sub->s);
    cJSON_AddItemToObject(args, "security_groups",
                          sg->present ? cJSON_Duplicate(sg->j, 1) : cJSON_CreateArray());
    if (api_conductor(&c, "port_attach", args, api_row_field(&b, "uuid"), &out) == 0) {
        u = cJSON_GetObjectItemCaseSensitive(out, "uuid");
        api_send_fresh(&c, 200, AC_PORTS, cJSON_IsString(u) ? u->valuestring : "");
    }
out:
    cJSON_Delete(out);
    api_row_clear(&b);
    api_body_free(&body);
}

API_HANDLER(board_port_detach)
{
    char port[UUID_STR_LEN];
    struct api_row b = {0};
    struct api_call c;
    struct error err;
    struct buf tmp;
    cJSON *args, *out = NULL;

    if (api_call_init(r, &c) < 0 || api_check_ref(&c, http_req_param(r, "port"), 1) < 0 ||
        board_of(&c, "iot:port_on_board:delete", &b) < 0)
        return;
    if (uuid_normalize(http_req_param(r, "port"), port) < 0)
        port[0] = '\0';
    buf_init(&tmp, 1 << 20);
    if (api_store_boardport(c.a->store, c.db, api_row_field(&b, "uuid"), port, c.base, &tmp, &err) <
        0) {
        api_respond_error(&c, &err);
    } else {
        args = board_args(&b);
        cJSON_AddStringToObject(args, "port", port);
        if (api_conductor(&c, "port_detach", args, api_row_field(&b, "uuid"), &out) == 0)
            http_resp_empty(r, 204);
    }
    buf_free(&tmp);
    cJSON_Delete(out);
    api_row_clear(&b);
}

/* --------------------------------------------------------- webservices */

API_HANDLER(board_webservices)
{
    struct api_scope sc = {0};
    struct api_call c;
    struct api_row b;
    char *path;

    if (api_call_init(r, &c) < 0 || board_of(&c, "iot:webservice:get", &b) < 0)
        return;
    sc.board = api_row_field(&b, "uuid");
    path = http_req_printf(r, "/v1/boards/%s/webservices", sc.board);
    api_send_list(&c, AC_WEBSERVICES, API_Q_PAGING, 0, NULL, &sc, path);
    api_row_clear(&b);
}

/* Semantic checks of PUT .../webservices (2.6) into args. 0 or -1. */
static int expose_args(struct http_req *r, const struct api_body *body, cJSON *args)
{
    const struct api_schema *s = &api_schema_webservice;
    const struct api_val *name = api_body_get(s, body, "name");
    const struct api_val *port = api_body_get(s, body, "port");
    const struct api_val *sec = api_body_get(s, body, "secure");
    const struct api_val *ex = api_body_get(s, body, "extra");

    if (!name->present || name->s[0] == '\0')
        return http_resp_error(r, 400, "Name is not specified."), -1;
    if (!api_is_dns_label(name->s, 45) || uuid_is_like(name->s))
        return http_resp_error(r, 400, "Cannot create webservice with invalid name %s", name->s),
               -1;
    if (!port->present)
        return http_resp_error(r, 400, "Port is not specified."), -1;
    cJSON_AddStringToObject(args, "name", name->s);
    json_add_int(args, "port", port->i);
    cJSON_AddBoolToObject(args, "secure", sec->present ? sec->b : 1);
    cJSON_AddItemToObject(args, "extra", json_dup_or_object(ex->present ? ex->j : NULL));
    return 0;
}

/* Semantic checks of POST .../webservices/enable (2.6) into args. 0 or -1. */
static int enable_args(struct http_req *r, const struct api_body *body, cJSON *args)
{
    static const char *const keys[] = {"dns", "zone", "email"};
    static const char *const what[] = {"a DNS label", "a DNS name", "an email address"};
    const struct api_schema *s = &api_schema_enable_ws;

    for (size_t i = 0; i < 3; i++) {
        const struct api_val *v = api_body_get(s, body, keys[i]);

        if (!v->present || v->s[0] == '\0')
            return http_resp_error(r, 400, "%s is not specified.", keys[i]), -1;
    }
    for (size_t i = 0; i < 3; i++) {
        const struct api_val *v = api_body_get(s, body, keys[i]);
        int valid = i == 0   ? api_is_dns_label(v->s, 63)
                    : i == 1 ? api_is_dns_name(v->s, 100)
                             : api_is_email(v->s, 254);

        if (!valid)
            return http_resp_error(r, 400,
                                   "Invalid input for field/attribute %s. Value: '%s'. "
                                   "Value should be %s",
                                   keys[i], v->s, what[i]),
                   -1;
        cJSON_AddStringToObject(args, keys[i], v->s);
    }
    return 0;
}

/* The answer of a successful webservice write. */
static void ws_answer(struct api_call *c, const struct api_schema *s, const struct api_row *b,
                      const cJSON *out, int status)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(out, "uuid");

    if (status != 201)
        http_resp_empty(c->r, status);
    else if (s == &api_schema_enable_ws)
        api_send_fresh(c, 201, AC_ENABLEDWS, api_row_field(b, "uuid"));
    else
        api_send_fresh(c, 201, AC_WEBSERVICES, cJSON_IsString(u) ? u->valuestring : "");
}

/* A write of the webservice driver: the API's checks, then the conductor
 * (which answers 409 when the driver is not configured). */
static void ws_write(struct http_req *r, const char *rule, const struct api_schema *s,
                     const char *method, int status)
{
    struct api_row b = {0};
    struct api_call c;
    struct api_body body = {0};
    cJSON *args = NULL, *out = NULL;

    if (api_call_init(r, &c) < 0 || api_check_ref(&c, http_req_param(r, "board"), 0) < 0 ||
        (s && api_parse_body(&c, s, &body) < 0) || board_of(&c, rule, &b) < 0)
        goto out;
    args = board_args(&b);
    if ((s == &api_schema_webservice && expose_args(r, &body, args) < 0) ||
        (s == &api_schema_enable_ws && enable_args(r, &body, args) < 0))
        goto out;
    if (api_conductor(&c, method, args, api_row_field(&b, "uuid"), &out) == 0)
        ws_answer(&c, s, &b, out, status);
    args = NULL; /* taken by api_conductor */
out:
    cJSON_Delete(args);
    cJSON_Delete(out);
    api_row_clear(&b);
    api_body_free(&body);
}

API_HANDLER(board_webservice_expose)
{
    ws_write(r, "iot:webservice:create", &api_schema_webservice, "webservice_expose", 201);
}

API_HANDLER(board_webservice_enable)
{
    ws_write(r, "iot:webservice:create", &api_schema_enable_ws, "webservice_enable", 201);
}

API_HANDLER(board_webservice_disable)
{
    ws_write(r, "iot:webservice:delete", NULL, "webservice_disable", 204);
}

API_HANDLER(board_webservice_renew)
{
    ws_write(r, "iot:webservice:update", NULL, "webservice_renew", 200);
}
