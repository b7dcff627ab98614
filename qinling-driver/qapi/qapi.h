/* qapi/qapi.h: the qinling-api service: context, routes, hooks.
 *
 * One struct qa per process, made in main: the configuration, the policy
 * and authentication engines, the AMQP connection that announces work to
 * the engine, the sync-execution waiters (qapi/waiters.h) and the webhook
 * rate limiter. Handlers (qapi/h_*.c) run on the HTTP server's worker pool;
 * each worker owns one database connection (http_req_thread_ctx()). After
 * start the struct is read-only except through the thread-safe members, so
 * handlers share it without locks. */
#ifndef QA_QAPI_H
#define QA_QAPI_H

#include <stddef.h>

#include "amqp/mq.h"
#include "auth/auth.h"
#include "http/server.h"
#include "qmodel/config.h"

struct qa_waiters;
struct qa_ratelimit;

struct qa {
    struct qm_config *cfg;
    struct policy *policy;
    struct auth *auth;
    struct mq *mq;
    struct qa_waiters *waiters;
    struct qa_ratelimit *webhook_rl;
    int enforce; /* policy enforced: keystone, or noauth_enforce_policy */
};

/* A group of routes: the service's table is the concatenation of every
 * group in qa_route_groups (qapi/routes.c). A feature adds its routes by
 * adding one group there (the triggers of 3.7 do). */
struct qa_route_group {
    const struct http_route *routes;
    size_t n;
};

/* The service's whole route table, built once for this configuration (the
 * image upload's limit and 413 message come from [storage] max_image_size):
 * a new array (free() it after the server) and its length. */
struct http_route *qa_routes_build(const struct qm_config *cfg, size_t *n);

/* The hooks: the flat error body (1.7), Qinling's messages for the server's
 * own errors. arg is the struct qa. */
void qa_service_init(struct qa *a, struct http_service *svc, const struct http_route *routes,
                     size_t nroutes);

/* Prints "METHOD PATTERN" for every route, one per line (tests/api). */
void qa_dump_routes(const struct qm_config *cfg);

/* The default policy rules of 2.11. */
extern const struct policy_rule_default qa_policy_defaults[];
extern const size_t qa_policy_ndefaults;

#endif
