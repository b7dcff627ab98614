/* auth/auth.h: authentication of API requests: Keystone tokens or noauth.
 *
 * `[DEFAULT] auth_strategy` (iotronic-api-v1.md 4.1, deviceless-api.md 1.2):
 *
 *   keystone  X-Auth-Token is validated with Keystone v3 (GET
 *             /v3/auth/tokens, X-Subject-Token), the service authenticating
 *             itself with the [keystone_authtoken] password credentials (its
 *             own token is re-obtained before it expires, and once more when
 *             Keystone refuses it). Results are cached, bounded in size and
 *             for at most token_cache_time, never past the token's expiry;
 *             rejections are cached for negative_cache_time. A missing or
 *             rejected token answers 401 with WWW-Authenticate: Keystone
 *             uri="<www_authenticate_uri>"; a token that is not
 *             project-scoped answers 403; Keystone unreachable or failing
 *             answers 503 (nothing was done). Identity headers sent by the
 *             client are ignored. TLS is verified unless `insecure`.
 *   noauth    the identity comes from X-User-Id, X-Project-Id, X-Roles
 *             (comma-separated, blanks trimmed) and X-Project-Name, each
 *             possibly absent (null; the service may give a default
 *             project). Any X-Auth-Token is ignored.
 *
 * The messages and the noauth default project differ between the services
 * and are given in struct auth_service.
 *
 * Threads: auth_new()/auth_free() in main; auth_authenticate() on workers
 * only (it may block on Keystone for up to http_request_timeout seconds),
 * any number concurrently. Tokens are never logged; the cache keys are
 * SHA-256 digests of the tokens. */
#ifndef IOT_AUTH_AUTH_H
#define IOT_AUTH_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "auth/cred.h"
#include "auth/policy.h"
#include "common/cfg.h"
#include "common/error.h"

enum auth_strategy { AUTH_KEYSTONE = 0, AUTH_NOAUTH = 1 };

#define AUTH_TOKEN_MAX 8192 /* longer X-Auth-Token values are rejected unseen */

/* Bound by cfg_bind() from auth_cfg_opts; release with cfg_unbind(). */
struct auth_config {
    int strategy;              /* [DEFAULT] auth_strategy: keystone | noauth */
    int noauth_enforce_policy; /* [DEFAULT] noauth_enforce_policy */
    char *policy_file;         /* [oslo_policy] policy_file (policy.json) */
    /* [keystone_authtoken] */
    char *www_authenticate_uri;
    char *auth_uri;  /* its deprecated name, used when the new one is unset */
    char *auth_url;  /* Keystone; "/v3" is appended unless present */
    char *auth_type; /* "password" (the only one supported) */
    char *username;
    char *password;
    char *project_name;
    char *user_domain_name;    /* Default */
    char *project_domain_name; /* Default */
    char *user_domain_id;      /* used instead of the names when set */
    char *project_domain_id;
    char *region_name; /* accepted; a single Keystone needs no region */
    char *cafile;
    int insecure;
    int64_t token_cache_time;     /* seconds, 300 */
    int64_t token_cache_size;     /* entries, 10000 [ext] */
    int64_t negative_cache_time;  /* seconds a rejected token is remembered, 10 [ext] */
    int64_t http_connect_timeout; /* seconds, 5 */
    int64_t http_request_timeout; /* seconds for a whole Keystone call, 10 [ext] */
};

/* The options above, for the caller's cfg_bind() tables: { auth_cfg_opts,
 * auth_cfg_nopts, &config }. */
extern const struct cfg_opt auth_cfg_opts[];
extern const size_t auth_cfg_nopts;

/* What differs between the services. Strings are borrowed for the life of
 * the struct auth. */
struct auth_service {
    const char *msg_missing;     /* 401, no X-Auth-Token */
    const char *msg_invalid;     /* 401, token rejected or expired */
    const char *msg_unscoped;    /* 403, token not project-scoped */
    const char *msg_unavailable; /* 503, Keystone unreachable or failing */
    const char *noauth_project;  /* noauth project when X-Project-Id is absent; NULL: null */
    const char *admin_rule;      /* the policy rule whose result is is_admin */
};

/* Why a request was not authenticated. */
struct auth_failure {
    int status;                 /* 401, 403 or 503 */
    const char *message;        /* one of the service's messages */
    char www_authenticate[512]; /* header value for 401s; "" when none */
};

/* Counters for /metrics (monotonic; read with auth_get_stats()). */
struct auth_stats {
    uint64_t keystone_validations; /* GET /v3/auth/tokens calls */
    uint64_t keystone_logins;      /* service token requests */
    uint64_t keystone_errors;      /* calls that failed (transport, 5xx, bad answer) */
    uint64_t cache_hits;
    uint64_t cache_misses;
};

/* 1 when policy rules are enforced under this configuration: always with
 * keystone, with noauth only when noauth_enforce_policy is set (4.1). Use it
 * for struct policy_opts enforce. */
int auth_config_enforces_policy(const struct auth_config *cfg);

/* The directory of the first --config-file PATH (or --config-file=PATH) in
 * argv, where a relative [oslo_policy] policy_file is looked up (struct
 * policy_opts config_dir). Call it before cfg_load_args() removes those
 * arguments. A new string (free()), or NULL when there is none. */
char *auth_config_dir(int argc, char *const *argv);

struct auth;

/* Validates the configuration (a keystone strategy needs auth_url,
 * username, password, project_name and www_authenticate_uri) and prepares
 * the Keystone client. policy (borrowed) decides is_admin. No network
 * traffic happens here. */
int auth_new(const struct auth_config *cfg, const struct auth_service *svc, struct policy *policy,
             struct auth **out, struct error *err) IOT_WUR;
void auth_free(struct auth *a); /* accepts NULL; after the workers stopped */

/* Header lookup used by auth_authenticate(): the first value of the named
 * header (case-insensitive) or NULL. */
typedef const char *(*auth_header_fn)(void *ctx, const char *name);

/* Authenticates one request. public_route: no token is checked (the
 * routes of 4.1 that need none) and the caller is anonymous in keystone
 * mode; is_public_api is set. On success returns 0 and fills *out (release
 * it with auth_cred_release()); otherwise returns -EACCES and fills *fail.
 * Worker threads only. */
int auth_authenticate(struct auth *a, auth_header_fn get, void *ctx, int public_route,
                      struct auth_cred *out, struct auth_failure *fail) IOT_WUR;

enum auth_strategy auth_strategy(const struct auth *a);
struct policy *auth_policy(const struct auth *a);
void auth_get_stats(const struct auth *a, struct auth_stats *out);

#endif
