/* conductor/conf.c: the conductor's options (iotronic-api-v1.md appendix A,
 * board-protocol.md 7.3). A file of its own, with no code, so that the other
 * IoTronic daemons can link the table to recognise the conductor's keys in
 * the iotronic.conf they share. */
#include <stddef.h>

#include "conductor/cond.h"

#define OPT(sec, key, type, def, field, min, max)                                                  \
    {                                                                                              \
        sec, key, type, def, offsetof(struct cond_config, field), min, max, NULL, 0                \
    }

const struct cfg_opt cond_cfg_opts[] = {
    OPT("DEFAULT", "host", CFG_STR, NULL, host, 0, 0),
    OPT("DEFAULT", "transport_url", CFG_STR, NULL, transport_url, 0, 0),
    OPT("DEFAULT", "rpc_response_timeout", CFG_INT, "60", rpc_response_timeout, 1, 3600),
    OPT("DEFAULT", "log_level", CFG_STR, "info", log_level, 0, 0),
    OPT("database", "connection", CFG_STR, NULL, db_connection, 0, 0),
    OPT("conductor", "service_port_min", CFG_INT, "50000", port_min, 1, 65535),
    OPT("conductor", "service_port_max", CFG_INT, "60000", port_max, 1, 65535),
    OPT("conductor", "board_call_timeout", CFG_INT, "120", board_call_timeout, 1, 86400),
    OPT("conductor", "workers", CFG_INT, "8", workers, 1, 256),
    OPT("conductor", "heartbeat_interval", CFG_INT, "10", heartbeat_interval, 1, 3600),
    OPT("conductor", "agent_timeout", CFG_INT, "30", agent_timeout, 1, 86400),
    OPT("neutron", "url", CFG_STR, NULL, neutron_url, 0, 0),
    OPT("designate", "url", CFG_STR, NULL, designate_url, 0, 0),
};
const size_t cond_cfg_nopts = sizeof(cond_cfg_opts) / sizeof(cond_cfg_opts[0]);
