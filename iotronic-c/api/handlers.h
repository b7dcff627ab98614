/* api/handlers.h: the handlers of the route table (api/routes.c), one per
 * route of iotronic-api-v1.md 2.1, grouped by resource in api/h_*.c. */
#ifndef IOT_API_HANDLERS_H
#define IOT_API_HANDLERS_H

#include <string.h>

#include "api/handler.h"

#define API_HANDLER(name) void api_h_##name(struct http_req *r)

API_HANDLER(root);
API_HANDLER(v1);
/* boards */
API_HANDLER(boards_list);
API_HANDLER(boards_detail);
API_HANDLER(board_create);
API_HANDLER(board_get);
API_HANDLER(board_update);
API_HANDLER(board_delete);
API_HANDLER(board_action);
/* plugins on boards */
API_HANDLER(board_plugins);
API_HANDLER(board_plugin_inject);
API_HANDLER(board_plugin_action);
API_HANDLER(board_plugin_remove);
/* services on boards */
API_HANDLER(board_services);
API_HANDLER(board_service_action);
API_HANDLER(board_services_restore);
API_HANDLER(board_services_status);
/* ports on boards */
API_HANDLER(board_ports);
API_HANDLER(board_port_get);
API_HANDLER(board_port_attach);
API_HANDLER(board_port_detach);
/* webservices on boards */
API_HANDLER(board_webservices);
API_HANDLER(board_webservice_expose);
API_HANDLER(board_webservice_enable);
API_HANDLER(board_webservice_disable);
API_HANDLER(board_webservice_renew);
/* plugins */
API_HANDLER(plugins_list);
API_HANDLER(plugins_detail);
API_HANDLER(plugins_public);
API_HANDLER(plugin_create);
API_HANDLER(plugin_get);
API_HANDLER(plugin_update);
API_HANDLER(plugin_delete);
/* services */
API_HANDLER(services_list);
API_HANDLER(services_detail);
API_HANDLER(services_public);
API_HANDLER(service_create);
API_HANDLER(service_get);
API_HANDLER(service_update);
API_HANDLER(service_delete);
/* fleets */
API_HANDLER(fleets_list);
API_HANDLER(fleets_detail);
API_HANDLER(fleet_create);
API_HANDLER(fleet_get);
API_HANDLER(fleet_update);
API_HANDLER(fleet_delete);
API_HANDLER(fleet_boards);
API_HANDLER(fleet_boards_detail);
/* webservices, enabled webservices, ports, requests */
API_HANDLER(webservices_list);
API_HANDLER(webservices_detail);
API_HANDLER(webservice_get);
API_HANDLER(webservice_delete);
API_HANDLER(enabledws_list);
API_HANDLER(enabledws_detail);
API_HANDLER(ports_list);
API_HANDLER(ports_detail);
API_HANDLER(port_get);
API_HANDLER(port_delete);
API_HANDLER(requests_list);
API_HANDLER(requests_detail);
API_HANDLER(request_get);
API_HANDLER(request_results);

#endif
