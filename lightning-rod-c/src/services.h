/* src/services.h: services exposed through reverse tunnels
 * (board-protocol.md 6.5 Services, 9.4, 10.1).
 *
 * Each exposed service is a tunnel of the in-process tunnel client
 * (tunnel/client.h) from its public port on the wagent's host to
 * 127.0.0.1:<service.port>, signed with the board secret when there is one.
 * The set lives in <state_dir>/services.json (atomic writes, .bak kept), so
 * tunnels come back after a restart; they are opened toward the wstun_url of
 * the wagent the link is connected to, and survive WAMP reconnects: only a
 * connection to a wagent with another wstun_url (a failover) moves them.
 * The method table is lrc_rpc_service (rpc.h). One per agent; loop thread. */
#ifndef LRC_SRC_SERVICES_H
#define LRC_SRC_SERVICES_H

#include <cjson/cJSON.h>

#include "common/error.h"
#include "src/agent.h"

#define LRC_SERVICES_NAME "services.json"

struct lrc_services;

/* Loads services.json (blocking: startup). */
int lrc_services_new(struct lrc_agent *a, struct lrc_services **out, struct error *err) IOT_WUR;

/* The link is online (with its wstun_url) or not: tunnels are opened or
 * moved when online; going offline changes nothing. */
void lrc_services_online(struct lrc_services *s, int online);

/* Closes every tunnel and forgets the services (factory reset). */
void lrc_services_purge(struct lrc_services *s);

/* Closes every tunnel (a stop): services.json keeps them for the next start. */
void lrc_services_close_all(struct lrc_services *s);

void lrc_services_free(struct lrc_services *s); /* accepts NULL */

/* {"tunnels": [{"service", "public_port", "local_port", "state", "connections",
 * "bytes_in", "bytes_out", "since"}]} (ServicesStatus). New. */
cJSON *lrc_services_status(const struct lrc_services *s);

#endif
