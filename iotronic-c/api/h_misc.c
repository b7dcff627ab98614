/* api/h_misc.c: webservices (2.10), enabled webservices (2.11), ports (2.12)
 * and requests with their results (2.13). Identifiers here are UUIDs only. */
#include "api/handlers.h"

#include "api/fault.h"
#include "common/json.h"

#define SCOPED_Q (API_Q_PAGING | API_Q_PROJECT | API_Q_ALL_PROJECTS)

static void list(struct http_req *r, enum api_coll_id coll, int detail, const char *rule,
                 const char *path)
{
    struct api_scope sc = {0};
    struct api_call c;

    if (api_call_init(r, &c) == 0)
        api_send_list(&c, coll, SCOPED_Q, detail, rule, &sc, path);
}

API_HANDLER(webservices_list)
{
    list(r, AC_WEBSERVICES, 0, "iot:webservice:get", "/v1/webservices");
}
API_HANDLER(webservices_detail)
{
    list(r, AC_WEBSERVICES, 1, "iot:webservice:get", "/v1/webservices/detail");
}
API_HANDLER(enabledws_list)
{
    list(r, AC_ENABLEDWS, 0, "iot:enabledwebservice:get", "/v1/enabledwebservices");
}
API_HANDLER(enabledws_detail)
{
    list(r, AC_ENABLEDWS, 1, "iot:enabledwebservice:get", "/v1/enabledwebservices/detail");
}
API_HANDLER(ports_list)
{
    list(r, AC_PORTS, 0, "iot:port_on_board:get", "/v1/ports");
}
API_HANDLER(ports_detail)
{
    list(r, AC_PORTS, 1, "iot:port_on_board:get", "/v1/ports/detail");
}
API_HANDLER(requests_list)
{
    list(r, AC_REQUESTS, 0, "iot:request:get", "/v1/requests");
}
API_HANDLER(requests_detail)
{
    list(r, AC_REQUESTS, 1, "iot:request:get", "/v1/requests/detail");
}

/* One row by uuid, its rule checked against its target. with_fields: the
 * route takes `fields`. 0 and *row, or -1 (response set). */
static int one(struct http_req *r, struct api_call *c, enum api_coll_id coll, const char *param,
               const char *rule, int with_fields, uint32_t *mask, struct api_row *row)
{
    const char *ref = http_req_param(r, param);

    *mask = api_kind_all(api_sqlkinds[coll].kind);
    if (api_call_init(r, c) < 0 || api_check_ref(c, ref, 1) < 0 ||
        (with_fields && api_fields(c, api_sqlkinds[coll].kind, mask) < 0) ||
        api_find(c, coll, ref, 1, row) < 0)
        return -1;
    if (api_authorize(c, rule, 1, api_row_owner(row), api_row_project(row)) < 0) {
        api_row_clear(row);
        return -1;
    }
    return 0;
}

static void get(struct http_req *r, enum api_coll_id coll, const char *param, const char *rule,
                int with_fields)
{
    struct api_call c;
    struct api_row row;
    uint32_t mask;

    if (one(r, &c, coll, param, rule, with_fields, &mask, &row) < 0)
        return;
    api_send_row(&c, 200, &row, mask);
    api_row_clear(&row);
}

API_HANDLER(webservice_get)
{
    get(r, AC_WEBSERVICES, "webservice", "iot:webservice:get_one", 1);
}
API_HANDLER(port_get)
{
    get(r, AC_PORTS, "port", "iot:port_on_board:get", 0);
}
API_HANDLER(request_get)
{
    get(r, AC_REQUESTS, "request", "iot:request:get_one", 1);
}

static void del(struct http_req *r, enum api_coll_id coll, const char *param, const char *rule,
                const char *method)
{
    struct api_call c;
    struct api_row row;
    uint32_t mask;
    cJSON *args, *out = NULL;

    if (one(r, &c, coll, param, rule, 0, &mask, &row) < 0)
        return;
    args = api_args();
    cJSON_AddStringToObject(args, "uuid", api_row_field(&row, "uuid"));
    cJSON_AddStringToObject(args, "board", api_row_field(&row, "board_uuid"));
    cJSON_AddStringToObject(args, "port", api_row_field(&row, "uuid"));
    if (api_conductor(&c, method, args, api_row_field(&row, "board_uuid"), &out) == 0)
        http_resp_empty(r, 204);
    cJSON_Delete(out);
    api_row_clear(&row);
}

API_HANDLER(webservice_delete)
{
    del(r, AC_WEBSERVICES, "webservice", "iot:webservice:delete", "webservice_unexpose");
}
API_HANDLER(port_delete)
{
    del(r, AC_PORTS, "port", "iot:port_on_board:delete", "port_detach");
}

API_HANDLER(request_results)
{
    const char *ref = http_req_param(r, "request");
    struct api_qparam p[32];
    struct api_listq q;
    struct api_call c;
    struct api_row row;
    struct error err;
    struct buf b;
    size_t n = http_req_query_count(r);

    if (api_call_init(r, &c) < 0 || api_check_ref(&c, ref, 1) < 0)
        return;
    if (n > 32)
        n = 32;
    for (size_t i = 0; i < n; i++) {
        p[i].name = http_req_query_at(r, i)->name;
        p[i].value = http_req_query_at(r, i)->value;
    }
    if (api_listq_parse(&api_kind_result,
                        API_Q_LIMIT | API_Q_SORT_KEY | API_Q_SORT_DIR | API_Q_FIELDS, 0,
                        c.id.is_admin, c.a->cfg.max_limit, p, n, &q, &err) < 0) {
        api_respond_error(&c, &err);
        return;
    }
    if (api_find(&c, AC_REQUESTS, ref, 1, &row) < 0)
        return;
    if (api_authorize(&c, "iot:result:get", 1, api_row_owner(&row), api_row_project(&row)) == 0) {
        buf_init(&b, 256u << 20);
        if (api_store_results(c.a->store, c.db, api_row_field(&row, "uuid"), &q, c.base, &b, &err) <
            0) {
            buf_free(&b);
            api_respond_error(&c, &err);
        } else {
            size_t len;
            char *body = buf_take(&b, &len);

            http_resp_body_take(r, 200, "application/json", body, len);
        }
    }
    api_row_clear(&row);
}
