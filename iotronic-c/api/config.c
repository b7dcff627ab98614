/* api/config.c: the options iotronic-api reads (appendix A). The auth
 * options ([DEFAULT] auth_strategy, [keystone_authtoken], [oslo_policy]) are
 * libiotauth's table, bound beside this one. */
#include <stddef.h>

#include "api/api.h"

#define OPT(sec, key, type, def, field, min, max)                                                  \
    {                                                                                              \
        sec, key, type, def, offsetof(struct api_config, field), min, max, NULL, 0                 \
    }

const struct cfg_opt api_cfg_opts[] = {
    OPT("DEFAULT", "transport_url", CFG_STR, NULL, transport_url, 0, 0),
    OPT("DEFAULT", "rpc_response_timeout", CFG_INT, "60", rpc_response_timeout, 1, 3600),
    OPT("DEFAULT", "log_level", CFG_STR, "info", log_level, 0, 0),
    OPT("api", "host_ip", CFG_STR, "0.0.0.0", host_ip, 0, 0),
    OPT("api", "port", CFG_INT, "8812", port, 0, 65535),
    OPT("api", "max_limit", CFG_INT, "1000", max_limit, 1, 1000000),
    OPT("api", "public_endpoint", CFG_STR, NULL, public_endpoint, 0, 0),
    OPT("api", "max_request_body_size", CFG_INT, "1048576", max_request_body_size, 1,
        INT64_C(1) << 30),
    OPT("api", "cert_file", CFG_STR, NULL, cert_file, 0, 0),
    OPT("api", "key_file", CFG_STR, NULL, key_file, 0, 0),
    OPT("api", "workers", CFG_INT, "8", workers, 1, 256),
    OPT("api", "admin_listen", CFG_STR, NULL, admin_listen, 0, 0),
    OPT("conductor", "board_call_timeout", CFG_INT, "120", board_call_timeout, 1, 86400),
    OPT("database", "connection", CFG_STR, NULL, db_connection, 0, 0),
    OPT("cors", "allowed_origin", CFG_STR, NULL, cors_allowed_origin, 0, 0),
    OPT("cors", "allow_credentials", CFG_BOOL, "true", cors_allow_credentials, 0, 0),
    OPT("cors", "max_age", CFG_INT, "3600", cors_max_age, 0, 86400 * 365),
};
const size_t api_cfg_nopts = sizeof(api_cfg_opts) / sizeof(api_cfg_opts[0]);
