/* api/h_boards.c: the board routes of iotronic-api-v1.md 2.2. */
#include "api/handlers.h"

#include "api/fault.h"
#include "api/ident.h"
#include "common/json.h"

#define BOARD_Q (API_Q_PAGING | API_Q_STATUS | API_Q_PROJECT | API_Q_ALL_PROJECTS)

static const char *const board_actions[] = {
    "DevicePing",
    "DeviceReboot",
    "DeviceRestartLR",
    "DeviceNetConfig",
    "DeviceEcho",
    "DeviceUpgradeLR",
    "DevicePkgOperation",
    "DeviceRestSubmit",
    /* [ext] the project's own agent (board-protocol.md 6.5) */
    "DeviceCaps",
    "GpioRead",
    "GpioWrite",
    "SensorRead",
    NULL,
};

API_HANDLER(boards_list)
{
    struct api_call c;
    struct api_scope sc = {0};

    if (api_call_init(r, &c) == 0)
        api_send_list(&c, AC_BOARDS, BOARD_Q, 0, "iot:board:get", &sc, "/v1/boards");
}

API_HANDLER(boards_detail)
{
    struct api_call c;
    struct api_scope sc = {0};

    if (api_call_init(r, &c) == 0)
        api_send_list(&c, AC_BOARDS, BOARD_Q, 1, "iot:board:get", &sc, "/v1/boards/detail");
}

API_HANDLER(board_get)
{
    const char *ref = http_req_param(r, "board");
    struct api_call c;
    struct api_row row;
    uint32_t mask;

    if (api_call_init(r, &c) < 0 || api_check_ref(&c, ref, 0) < 0 ||
        api_fields(&c, &api_kind_board, &mask) < 0 ||
        api_authorize(&c, "iot:board:get", 0, NULL, NULL) < 0 ||
        api_find(&c, AC_BOARDS, ref, 0, &row) < 0)
        return;
    api_send_row(&c, 200, &row, mask);
    api_row_clear(&row);
}

/* The fleet reference of a board body: a visible fleet's uuid into out,
 * "" for null/"" (no fleet). -1 with 400/404 set. */
static int fleet_ref(struct api_call *c, const struct api_val *v, char out[UUID_STR_LEN])
{
    struct api_row f;

    out[0] = '\0';
    if (!v->present || v->null || v->s[0] == '\0')
        return 0;
    if (api_find(c, AC_FLEETS, v->s, 0, &f) < 0)
        return -1;
    snprintf(out, UUID_STR_LEN, "%s", api_row_field(&f, "uuid"));
    api_row_clear(&f);
    return 0;
}

/* The first element of a location array as {latitude, longitude, altitude}. */
static cJSON *location_arg(const struct api_val *v)
{
    static const char *const keys[] = {"latitude", "longitude", "altitude"};
    const cJSON *first = cJSON_GetArrayItem(v->j, 0);
    cJSON *o = cJSON_CreateObject();

    for (size_t i = 0; i < 3; i++) {
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(first, keys[i]);

        cJSON_AddItemToObject(o, keys[i],
                              cJSON_IsString(it) ? cJSON_CreateString(it->valuestring)
                                                 : cJSON_CreateNull());
    }
    return o;
}

static int empty_location(const struct api_val *v)
{
    return v->null || cJSON_GetArraySize(v->j) == 0;
}

/* Semantic checks of a board body (step 8). create: POST rules. */
static int board_semantics(struct api_call *c, const struct api_schema *s, const struct api_body *b,
                           int create)
{
    const struct api_val *name = api_body_get(s, b, "name");
    const struct api_val *code = api_body_get(s, b, "code");
    const struct api_val *loc = api_body_get(s, b, "location");

    if (create && (!name->present || name->s[0] == '\0'))
        return http_resp_error(c->r, 400, "Name is not specified."), -1;
    if (name->present && !api_name_allowed("board", name->s))
        return http_resp_error(c->r, 400, "Cannot %s board with invalid name %s",
                               create ? "create" : "update", name->s),
               -1;
    if ((create && !code->present) || (code->present && code->s[0] == '\0'))
        return http_resp_error(c->r, 400, "Code is not specified."), -1;
    if ((create && !loc->present) || (loc->present && empty_location(loc)))
        return http_resp_error(c->r, 400, "Location is not specified."), -1;
    return 0;
}

/* The board object of board_create / changes of board_update. */
static cJSON *board_arg(const struct api_schema *s, const struct api_body *b, const char *fleet)
{
    static const char *const strs[] = {"name", "code", "type"};
    const struct api_val *v;
    cJSON *o = cJSON_CreateObject();

    for (size_t i = 0; i < 3; i++) {
        v = api_body_get(s, b, strs[i]);
        if (v->present)
            cJSON_AddItemToObject(o, strs[i],
                                  v->null ? cJSON_CreateNull() : cJSON_CreateString(v->s));
    }
    if ((v = api_body_get(s, b, "mobile"))->present)
        cJSON_AddBoolToObject(o, "mobile", v->b);
    if ((v = api_body_get(s, b, "extra"))->present)
        cJSON_AddItemToObject(o, "extra", cJSON_Duplicate(v->j, 1));
    if ((v = api_body_get(s, b, "location"))->present)
        cJSON_AddItemToObject(o, "location", location_arg(v));
    if (api_body_get(s, b, "fleet")->present)
        cJSON_AddItemToObject(o, "fleet",
                              fleet[0] ? cJSON_CreateString(fleet) : cJSON_CreateNull());
    if ((v = api_body_get(s, b, "uuid")) != NULL && v->present)
        cJSON_AddStringToObject(o, "uuid", v->s);
    return o;
}

/* A create always names its uuid (a new one unless the body gave one), so
 * that a conductor handling a redelivered request recognises its own work. */
static cJSON *with_uuid(cJSON *o)
{
    char u[UUID_STR_LEN];

    if (!cJSON_HasObjectItem(o, "uuid")) {
        uuid_v4(u);
        cJSON_AddStringToObject(o, "uuid", u);
    }
    return o;
}

API_HANDLER(board_create)
{
    const struct api_schema *s = &api_schema_board_post;
    char fleet[UUID_STR_LEN];
    struct api_call c;
    struct api_body b;
    cJSON *args, *out = NULL;
    const cJSON *u;

    if (api_call_init(r, &c) < 0)
        return;
    if (api_parse_body(&c, s, &b) < 0 || api_authorize(&c, "iot:board:create", 0, NULL, NULL) < 0 ||
        fleet_ref(&c, api_body_get(s, &b, "fleet"), fleet) < 0 || board_semantics(&c, s, &b, 1) < 0)
        goto out;
    args = api_args();
    cJSON_AddItemToObject(args, "board", with_uuid(board_arg(s, &b, fleet)));
    if (api_conductor(&c, "board_create", args, NULL, &out) < 0)
        goto out;
    u = cJSON_GetObjectItemCaseSensitive(out, "uuid");
    api_send_fresh(&c, 201, AC_BOARDS, cJSON_IsString(u) ? u->valuestring : "");
out:
    cJSON_Delete(out);
    api_body_free(&b);
}

API_HANDLER(board_update)
{
    const struct api_schema *s = &api_schema_board_patch;
    const char *ref = http_req_param(r, "board");
    char fleet[UUID_STR_LEN], uuid[UUID_STR_LEN];
    struct api_row row = {0};
    struct api_call c;
    struct api_body b = {0};
    cJSON *args, *changes, *out = NULL;

    if (api_call_init(r, &c) < 0 || api_check_ref(&c, ref, 0) < 0)
        return;
    if (api_parse_body(&c, s, &b) < 0 || api_find(&c, AC_BOARDS, ref, 0, &row) < 0 ||
        api_authorize(&c, "iot:board:update", 1, api_row_owner(&row), api_row_project(&row)) < 0 ||
        fleet_ref(&c, api_body_get(s, &b, "fleet"), fleet) < 0 || board_semantics(&c, s, &b, 0) < 0)
        goto out;
    snprintf(uuid, sizeof(uuid), "%s", api_row_field(&row, "uuid"));
    changes = board_arg(s, &b, fleet);
    if (cJSON_GetArraySize(changes) == 0) {
        cJSON_Delete(changes); /* nothing to write: the unchanged board (1.12) */
        api_send_row(&c, 200, &row, api_kind_all(&api_kind_board));
        goto out;
    }
    args = api_args();
    cJSON_AddStringToObject(args, "uuid", uuid);
    cJSON_AddItemToObject(args, "changes", changes);
    if (api_conductor(&c, "board_update", args, NULL, &out) == 0)
        api_send_fresh(&c, 200, AC_BOARDS, uuid);
out:
    cJSON_Delete(out);
    api_row_clear(&row);
    api_body_free(&b);
}

API_HANDLER(board_delete)
{
    const char *ref = http_req_param(r, "board");
    struct api_row row;
    struct api_call c;
    cJSON *args, *out = NULL;

    if (api_call_init(r, &c) < 0 || api_check_ref(&c, ref, 0) < 0 ||
        api_find(&c, AC_BOARDS, ref, 0, &row) < 0)
        return;
    if (api_authorize(&c, "iot:board:delete", 1, api_row_owner(&row), api_row_project(&row)) == 0) {
        args = api_args();
        cJSON_AddStringToObject(args, "uuid", api_row_field(&row, "uuid"));
        if (api_conductor(&c, "board_delete", args, api_row_field(&row, "uuid"), &out) == 0) {
            api_request_header(&c, out);
            http_resp_empty(r, 204);
        }
    }
    cJSON_Delete(out);
    api_row_clear(&row);
}

/* 1 when s is in the NULL-terminated list. */
static int listed(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

API_HANDLER(board_action)
{
    const struct api_schema *s = &api_schema_board_action;
    const char *ref = http_req_param(r, "board");
    const struct api_val *action, *params;
    struct api_row row = {0};
    struct api_call c;
    struct api_body b = {0};
    cJSON *args, *out = NULL;

    if (api_call_init(r, &c) < 0 || api_check_ref(&c, ref, 0) < 0)
        return;
    if (api_parse_body(&c, s, &b) < 0 || api_find(&c, AC_BOARDS, ref, 0, &row) < 0 ||
        api_authorize(&c, "iot:board_action:post", 1, api_row_owner(&row), api_row_project(&row)) <
            0)
        goto out;
    action = api_body_get(s, &b, "action");
    params = api_body_get(s, &b, "parameters");
    if (!action->present || action->s[0] == '\0') {
        http_resp_error(r, 400, "Action is not specified.");
        goto out;
    }
    if (!listed(board_actions, action->s)) {
        http_resp_error(r, 400, "Invalid Action %s for the board.", action->s);
        goto out;
    }
    args = api_args();
    cJSON_AddStringToObject(args, "uuid", api_row_field(&row, "uuid"));
    cJSON_AddStringToObject(args, "action", action->s);
    cJSON_AddItemToObject(args, "parameters",
                          json_dup_or_object(params->present ? params->j : NULL));
    if (api_conductor(&c, "board_action", args, api_row_field(&row, "uuid"), &out) == 0)
        api_send_action(&c, out);
out:
    cJSON_Delete(out);
    api_row_clear(&row);
    api_body_free(&b);
}
