/* api/routes.c: the route table of iotronic-api-v1.md 2.1. Literal segments
 * (detail, public, restore, status, enable, ...) win over identifiers in the
 * router, which is what makes them reserved words (1.9). */
#include <stdio.h>

#include "api/api.h"
#include "api/handlers.h"

#define R(m, pat, h)                                                                               \
    {                                                                                              \
        HTTP_##m, pat, api_h_##h, 0, 0, NULL, NULL                                                 \
    }
#define PUBLIC(m, pat, h)                                                                          \
    {                                                                                              \
        HTTP_##m, pat, api_h_##h, HTTP_ROUTE_PUBLIC, 0, NULL, NULL                                 \
    }

const struct http_route api_routes[] = {
    PUBLIC(GET, "/", root),
    PUBLIC(GET, "/v1", v1),
    R(GET, "/v1/boards", boards_list),
    R(GET, "/v1/boards/detail", boards_detail),
    R(POST, "/v1/boards", board_create),
    R(GET, "/v1/boards/{board}", board_get),
    R(PATCH, "/v1/boards/{board}", board_update),
    R(DELETE, "/v1/boards/{board}", board_delete),
    R(POST, "/v1/boards/{board}/action", board_action),
    R(GET, "/v1/boards/{board}/plugins", board_plugins),
    R(PUT, "/v1/boards/{board}/plugins", board_plugin_inject),
    R(POST, "/v1/boards/{board}/plugins/{plugin}", board_plugin_action),
    R(DELETE, "/v1/boards/{board}/plugins/{plugin}", board_plugin_remove),
    R(GET, "/v1/boards/{board}/services", board_services),
    R(POST, "/v1/boards/{board}/services/{service}/action", board_service_action),
    R(GET, "/v1/boards/{board}/services/restore", board_services_restore),
    R(GET, "/v1/boards/{board}/services/status", board_services_status),
    R(GET, "/v1/boards/{board}/ports", board_ports),
    R(GET, "/v1/boards/{board}/ports/{port}", board_port_get),
    R(PUT, "/v1/boards/{board}/ports", board_port_attach),
    R(DELETE, "/v1/boards/{board}/ports/{port}", board_port_detach),
    R(GET, "/v1/boards/{board}/webservices", board_webservices),
    R(PUT, "/v1/boards/{board}/webservices", board_webservice_expose),
    R(POST, "/v1/boards/{board}/webservices/enable", board_webservice_enable),
    R(DELETE, "/v1/boards/{board}/webservices/disable", board_webservice_disable),
    R(GET, "/v1/boards/{board}/webservices/renew", board_webservice_renew),
    R(GET, "/v1/plugins", plugins_list),
    R(GET, "/v1/plugins/detail", plugins_detail),
    R(GET, "/v1/plugins/public", plugins_public),
    R(POST, "/v1/plugins", plugin_create),
    R(GET, "/v1/plugins/{plugin}", plugin_get),
    R(PATCH, "/v1/plugins/{plugin}", plugin_update),
    R(DELETE, "/v1/plugins/{plugin}", plugin_delete),
    R(GET, "/v1/services", services_list),
    R(GET, "/v1/services/detail", services_detail),
    R(GET, "/v1/services/public", services_public),
    R(POST, "/v1/services", service_create),
    R(GET, "/v1/services/{service}", service_get),
    R(PATCH, "/v1/services/{service}", service_update),
    R(DELETE, "/v1/services/{service}", service_delete),
    R(GET, "/v1/fleets", fleets_list),
    R(GET, "/v1/fleets/detail", fleets_detail),
    R(POST, "/v1/fleets", fleet_create),
    R(GET, "/v1/fleets/{fleet}", fleet_get),
    R(PATCH, "/v1/fleets/{fleet}", fleet_update),
    R(DELETE, "/v1/fleets/{fleet}", fleet_delete),
    R(GET, "/v1/fleets/{fleet}/boards", fleet_boards),
    R(GET, "/v1/fleets/{fleet}/boards/detail", fleet_boards_detail),
    R(GET, "/v1/webservices", webservices_list),
    R(GET, "/v1/webservices/detail", webservices_detail),
    R(GET, "/v1/webservices/{webservice}", webservice_get),
    R(DELETE, "/v1/webservices/{webservice}", webservice_delete),
    R(GET, "/v1/enabledwebservices", enabledws_list),
    R(GET, "/v1/enabledwebservices/detail", enabledws_detail),
    R(GET, "/v1/ports", ports_list),
    R(GET, "/v1/ports/detail", ports_detail),
    R(GET, "/v1/ports/{port}", port_get),
    R(DELETE, "/v1/ports/{port}", port_delete),
    R(GET, "/v1/requests", requests_list),
    R(GET, "/v1/requests/detail", requests_detail),
    R(GET, "/v1/requests/{request}", request_get),
    R(GET, "/v1/requests/{request}/results", request_results),
};
const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);

void api_dump_routes(void)
{
    for (size_t i = 0; i < api_nroutes; i++)
        printf("%s %s\n", http_method_name(api_routes[i].method), api_routes[i].pattern);
}
