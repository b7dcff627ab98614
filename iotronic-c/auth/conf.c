/* auth/conf.c: the authentication and policy options ([DEFAULT]
 * auth_strategy, [keystone_authtoken], [oslo_policy]). A file of its own, with
 * no code, so that every daemon sharing a configuration file can link it. */
#include <stddef.h>

#include "auth/auth.h"

#define AOPT(sec, key, type, def, field, min, max)                                                 \
    {                                                                                              \
        sec, key, type, def, offsetof(struct auth_config, field), min, max, NULL, 0                \
    }

const struct cfg_opt auth_cfg_opts[] = {
    {"DEFAULT", "auth_strategy", CFG_ENUM, "keystone", offsetof(struct auth_config, strategy), 0, 0,
     "keystone|noauth", 0},
    AOPT("DEFAULT", "noauth_enforce_policy", CFG_BOOL, "false", noauth_enforce_policy, 0, 0),
    AOPT("oslo_policy", "policy_file", CFG_STR, "policy.json", policy_file, 0, 0),
    AOPT("keystone_authtoken", "www_authenticate_uri", CFG_STR, NULL, www_authenticate_uri, 0, 0),
    AOPT("keystone_authtoken", "auth_uri", CFG_STR, NULL, auth_uri, 0, 0),
    AOPT("keystone_authtoken", "auth_url", CFG_STR, NULL, auth_url, 0, 0),
    AOPT("keystone_authtoken", "auth_type", CFG_STR, "password", auth_type, 0, 0),
    AOPT("keystone_authtoken", "username", CFG_STR, NULL, username, 0, 0),
    AOPT("keystone_authtoken", "password", CFG_STR, NULL, password, 0, 0),
    AOPT("keystone_authtoken", "project_name", CFG_STR, NULL, project_name, 0, 0),
    AOPT("keystone_authtoken", "user_domain_name", CFG_STR, "Default", user_domain_name, 0, 0),
    AOPT("keystone_authtoken", "project_domain_name", CFG_STR, "Default", project_domain_name, 0,
         0),
    AOPT("keystone_authtoken", "user_domain_id", CFG_STR, NULL, user_domain_id, 0, 0),
    AOPT("keystone_authtoken", "project_domain_id", CFG_STR, NULL, project_domain_id, 0, 0),
    AOPT("keystone_authtoken", "region_name", CFG_STR, NULL, region_name, 0, 0),
    AOPT("keystone_authtoken", "cafile", CFG_STR, NULL, cafile, 0, 0),
    AOPT("keystone_authtoken", "insecure", CFG_BOOL, "false", insecure, 0, 0),
    AOPT("keystone_authtoken", "token_cache_time", CFG_INT, "300", token_cache_time, 0, 86400),
    AOPT("keystone_authtoken", "token_cache_size", CFG_INT, "10000", token_cache_size, 1, 10000000),
    AOPT("keystone_authtoken", "negative_cache_time", CFG_INT, "10", negative_cache_time, 0, 3600),
    AOPT("keystone_authtoken", "http_connect_timeout", CFG_INT, "5", http_connect_timeout, 1, 300),
    AOPT("keystone_authtoken", "http_request_timeout", CFG_INT, "10", http_request_timeout, 1, 600),
};
const size_t auth_cfg_nopts = sizeof(auth_cfg_opts) / sizeof(auth_cfg_opts[0]);
