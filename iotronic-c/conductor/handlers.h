/* conductor/handlers.h: the RPC handlers of conductor/rpc.h.
 *
 * Each h_*.c file implements one resource's methods; cond_handlers[] is the
 * dispatch table given to mq_serve(). Handlers run on the worker pool: the
 * worker's database connection is mq_req_worker_ctx(req), the struct cond is
 * ctx. Each finishes its request exactly once. */
#ifndef IOT_CONDUCTOR_HANDLERS_H
#define IOT_CONDUCTOR_HANDLERS_H

#include <stddef.h>

#include "amqp/mq.h"
#include "conductor/boardcall.h"
#include "conductor/cond.h"

extern const struct mq_handler cond_handlers[];
extern const size_t cond_nhandlers;

/* Per-resource entry points (one per RPC method). */
void cond_h_board_create(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_board_update(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_board_delete(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_board_action(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_plugin_create(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_plugin_update(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_plugin_delete(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_plugin_inject(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_plugin_action(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_plugin_remove(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_service_create(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_service_update(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_service_delete(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_service_action(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_services_restore(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_services_status(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_fleet_create(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_fleet_update(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_fleet_delete(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_port_write(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_webservice_write(struct mq_req *req, const cJSON *args, void *ctx);
void cond_h_notify_result(struct mq_req *req, const cJSON *args, void *ctx);

/* Shared by the handlers. */

/* Answers a board call: {"message", "request"}, or the failure. Frees r. */
void cond_reply_call(struct mq_req *req, int rc, struct cond_call_result *r,
                     const struct error *err);

/* Optional string/object/bool arguments of a changes/resource object. Each
 * returns 1 when the key is present (*out set, NULL for null), 0 when absent,
 * or -EINVAL (400) for a wrong type. */
int cond_opt_str(const cJSON *o, const char *key, const char **out, struct error *err);
int cond_opt_json(const cJSON *o, const char *key, char **out, struct error *err);
int cond_opt_bool(const cJSON *o, const char *key, int *out, struct error *err);

#endif
