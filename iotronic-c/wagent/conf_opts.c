/* wagent/conf_opts.c: the wagent's options ([wamp], [wagent]; board-protocol.md
 * 12.1). A file of its own, with no code, so that the other IoTronic daemons
 * can link the table to recognise the wagent's keys in the shared
 * iotronic.conf. Bounds keep a typo from disabling a safety. */
#include <stddef.h>

#include "wagent/conf.h"

#define OPT(sec, key, type, def, field, min, max)                                                  \
    {                                                                                              \
        sec, key, type, def, offsetof(struct wag_conf, field), min, max, NULL, 0                   \
    }

#define IGNORED(sec, key)                                                                          \
    {                                                                                              \
        sec, key, CFG_IGNORED, NULL, 0, 0, 0, NULL, 0                                              \
    }

const struct cfg_opt wag_cfg_opts[] = {
    OPT("DEFAULT", "host", CFG_STR, NULL, host, 0, 0),
    OPT("DEFAULT", "transport_url", CFG_STR, NULL, transport_url, 0, 0),
    OPT("DEFAULT", "log_level", CFG_STR, "info", log_level, 0, 0),
    OPT("database", "connection", CFG_STR, NULL, db_connection, 0, 0),
    OPT("wamp", "wamp_transport_url", CFG_STR, "ws://localhost:8181/", wamp_transport_url, 0, 0),
    OPT("wamp", "wamp_realm", CFG_STR, "s4t", realm, 0, 0),
    OPT("wamp", "register_agent", CFG_BOOL, "false", register_agent, 0, 0),
    /* The original's options, now the wagent's own business (12.1). */
    IGNORED("wamp", "skip_cert_verify"),
    IGNORED("wamp", "autoPingInterval"),
    IGNORED("wamp", "autoPingTimeout"),
    IGNORED("wamp", "service_allow_list"),
    IGNORED("wamp", "service_allow_list_path"),
    OPT("wagent", "listen", CFG_STR, "0.0.0.0:8181", listen, 0, 0),
    OPT("wagent", "cert_file", CFG_STR, NULL, cert_file, 0, 0),
    OPT("wagent", "key_file", CFG_STR, NULL, key_file, 0, 0),
    OPT("wagent", "ping_interval", CFG_INT, "20", ping_interval, 1, 3600),
    OPT("wagent", "ping_timeout", CFG_INT, "40", ping_timeout, 1, 7200),
    OPT("wagent", "heartbeat_interval", CFG_INT, "10", heartbeat_interval, 1, 3600),
    OPT("wagent", "agent_timeout", CFG_INT, "30", agent_timeout, 1, 86400),
    OPT("wagent", "bind_timeout", CFG_INT, "30", bind_timeout, 1, 3600),
    OPT("wagent", "registration_grace", CFG_INT, "2", registration_grace, 0, 600),
    OPT("wagent", "allow_anonymous_boards", CFG_BOOL, "true", allow_anonymous_boards, 0, 0),
    OPT("wagent", "max_register_attempts", CFG_INT, "5", max_register_attempts, 1, 1000),
    OPT("wagent", "max_message_size", CFG_INT, "16777216", max_message_size, 4096, 1 << 28),
    OPT("wagent", "max_sessions", CFG_INT, "20000", max_sessions, 1, 10000000),
    OPT("wagent", "max_handshakes_per_second", CFG_INT, "500", max_handshakes_per_second, 1,
        1000000),
    OPT("wagent", "max_pending_calls_per_board", CFG_INT, "64", max_pending_calls_per_board, 1,
        65536),
    OPT("wagent", "session_history", CFG_INT, "30", session_history, 1, 36500),
    OPT("wagent", "admin_listen", CFG_STR, "127.0.0.1:8183", admin_listen, 0, 0),
    OPT("wagent", "workers", CFG_INT, "4", workers, 1, 256),
};
const size_t wag_cfg_nopts = sizeof(wag_cfg_opts) / sizeof(wag_cfg_opts[0]);
