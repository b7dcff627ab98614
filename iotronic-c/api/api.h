/* api/api.h: the iotronic-api service: configuration, context, routes.
 *
 * One struct api per process, made in main: the bound configuration, the
 * statement table of the reads (api/store.h), the AMQP connection to the
 * conductors (every write, conductor/rpc.h), and the auth/policy engine.
 * Handlers (api/h_*.c) run on the HTTP server's worker pool; each worker
 * owns one database connection (http_req_thread_ctx()). After start the
 * struct is read-only, so handlers share it without locks. */
#ifndef IOT_API_API_H
#define IOT_API_API_H

#include <stddef.h>
#include <stdint.h>

#include "amqp/mq.h"
#include "api/store.h"
#include "auth/auth.h"
#include "common/cfg.h"
#include "http/server.h"

/* Bound from api_cfg_opts (iotronic-api-v1.md appendix A). */
struct api_config {
    char *transport_url;
    int64_t rpc_response_timeout;
    char *log_level;
    char *host_ip;
    int64_t port;
    int64_t max_limit;
    char *public_endpoint; /* without a trailing slash once loaded */
    int64_t max_request_body_size;
    char *cert_file, *key_file;
    int64_t workers;
    char *admin_listen;         /* host:port of GET /metrics; NULL: none */
    int64_t board_call_timeout; /* [conductor]: the API waits this + 10 s for board calls */
    char *db_connection;
    char *cors_allowed_origin;
    int cors_allow_credentials;
    int64_t cors_max_age;
};

extern const struct cfg_opt api_cfg_opts[];
extern const size_t api_cfg_nopts;

struct api {
    struct api_config cfg;
    struct auth_config auth_cfg;
    struct api_store *store;
    struct mq *mq;
    struct policy *policy;
    struct auth *auth;
};

/* The route table of section 2.1 (every route of the service). */
extern const struct http_route api_routes[];
extern const size_t api_nroutes;

/* The service hooks: path rewrite (1.2), version negotiation (1.4), version
 * headers, the nested error body (1.7). arg is the struct api. */
void api_service_init(struct api *a, struct http_service *svc);

/* Prints "METHOD PATTERN" for every route, one per line (the OpenAPI
 * document's test reads it). */
void api_dump_routes(void);

#endif
