/* conductor/rpc.h: the RPC contract between iotronic-api (and the wagent)
 * and iotronic-conductor.
 *
 * Transport: amqp/mq.h calls on the shared durable queue COND_QUEUE, served
 * by every conductor as competing consumers. The envelope (amqp/envelope.h)
 * carries the caller's request id, so conductor log lines carry the API's
 * req-<uuid>. The API has already done everything up to step 8 of the order
 * of checks (iotronic-api-v1.md 1.14): authentication, version, syntax,
 * policy, visibility and name resolution, semantic checks. So arguments name
 * resources by normalised UUID only, and every value has been validated; the
 * conductor re-checks existence (a concurrent delete answers the same 404)
 * and does steps 9-11: driver present, board state, conflicts, board calls.
 *
 * Every call has `ctx`, the caller's identity as the API established it:
 *   "ctx": {"user_id": s|null, "project_id": s|null, "roles": [s...],
 *           "is_admin": bool}
 *
 * Results: a JSON object. Failures: mq_reply_error(errno, http_status,
 * message, data) where http_status and message are exactly the REST answer
 * (appendix B): the API forwards them as they are. data, when not null, is
 * {"request": "<request uuid>"} for failures after a board call was
 * recorded (502/504), so the API can still send X-Iotronic-Request-Uuid.
 * Board-call methods answer {"message": <string>, "request": "<uuid>"}:
 * message is the board's message as a string (1.13).
 *
 * Methods, "args" -> result; the errors each can add to the common ones
 * (404 "<Kind> <uuid> could not be found." for any vanished resource, 503
 * when the database is unreachable and nothing was written):
 *
 * board_create {ctx, board: {uuid?, name, code, type|null, mobile, fleet:
 *     uuid|null, extra, location: {latitude, longitude, altitude}}}
 *     -> {"uuid"}. 409: "A board with <name> is already associated to
 *     another board." | "A board with code <code> already exists." |
 *     "A board with UUID <uuid> already exists."
 * board_update {ctx, uuid, changes: {name?, code?, type?, mobile?, fleet?
 *     (uuid|null), extra?, location?}} -> {"uuid"}. Same 409s. A new code
 *     re-provisions the board (board-protocol 5.1).
 * board_delete {ctx, uuid} -> {} (online: DeviceFactoryReset first; its
 *     outcome never stops the deletion).
 * board_action {ctx, uuid, action, parameters} -> board call.
 * plugin_create {ctx, plugin: {uuid?, name, code, public, callable,
 *     parameters, extra}} -> {"uuid"}. 409 "A plugin with UUID <uuid> already
 *     exists."
 * plugin_update {ctx, uuid, changes: {...}} -> {"uuid"}
 * plugin_delete {ctx, uuid} -> {}. 409 "Plugin <uuid> is injected on one or
 *     more boards."
 * plugin_inject {ctx, board, plugin, onboot} -> board call (PluginInject)
 * plugin_action {ctx, board, plugin, action, parameters} -> board call
 * plugin_remove {ctx, board, plugin} -> {"request"}. 404
 *     "InjectionPlugin could not be found."
 * service_create / service_update / service_delete: as plugins; 409
 *     "A Service with UUID <uuid> already exists." / "Service <uuid> is
 *     exposed on one or more boards."
 * service_action {ctx, board, service, action} -> board call. 409
 *     "A Service with UUID <uuid> already exposed." | "No ports available";
 *     404 "ExposedService <uuid> could not be found."
 * services_restore {ctx, board} -> {"request": <last request or null>}
 * services_status {ctx, board} -> board call (ServicesStatus)
 * fleet_create / fleet_update / fleet_delete: as plugins; 409 "A Fleet with
 *     UUID <uuid> already exists."
 * port_attach {ctx, board, network, subnet, security_groups} -> {"uuid"};
 * port_detach {ctx, board, port} -> {}. Without [neutron] url: 409 "Board
 *     ports are not available: no Neutron driver is configured."
 * webservice_expose {ctx, board, name, port, secure, extra} -> {"uuid"};
 * webservice_unexpose {ctx, uuid}; webservice_enable {ctx, board, dns,
 *     zone, email} -> {"board_uuid"}; webservice_disable {ctx, board};
 *     webservice_renew {ctx, board} -> {"request"}. Without [designate] url:
 *     409 "Webservices are not available: no Designate/nginx driver is
 *     configured."
 * notify_result {board_uuid, req_id, result, message} -> {} (called by the
 *     wagent, board-protocol 5.4). 404 "Request <req_id> could not be
 *     found." | 400 "Request <req_id> is not for this board."
 *
 * Board calls everywhere above: 400 "Board <uuid> is not connected.", 502
 * "Error in the execution of <Method> on <uuid>: <message>", 504 "Board
 * <uuid> did not answer in time." (iotronic-api-v1.md 1.13, 2.14.2). */
#ifndef IOT_CONDUCTOR_RPC_H
#define IOT_CONDUCTOR_RPC_H

/* The shared durable queue of the conductors. */
#define COND_QUEUE "iotronic.conductor"

/* The AMQP queue of the wagent called <hostname> (board-protocol 8). */
#define COND_WAGENT_QUEUE_PREFIX "wagent."

/* Extra seconds the API waits beyond [conductor] board_call_timeout for
 * calls that reach a board (iotronic-api-v1.md 2.14.1). */
#define COND_BOARD_CALL_MARGIN_S 10

#endif
