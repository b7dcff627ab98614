/* conductor/cond.h: the iotronic-conductor's context and configuration.
 *
 * One struct cond per process, made in main: the bound configuration, the
 * AMQP connection (serving COND_QUEUE, calling wagents), and the worker pool
 * on which every RPC handler runs, each worker owning one database
 * connection (mq_req_worker_ctx() returns it). The handlers of conductor/h_*.c
 * implement iotronic-api-v1.md 2.14 behind the methods of conductor/rpc.h.
 * Nothing here is mutable after start except through the database, so any
 * number of conductors can serve the same queue. */
#ifndef IOT_CONDUCTOR_COND_H
#define IOT_CONDUCTOR_COND_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "amqp/mq.h"
#include "common/cfg.h"
#include "common/error.h"
#include "common/uuid.h"
#include "db/db.h"

/* Filled by cfg_bind() from cond_cfg_opts (appendix A and board-protocol 7.3). */
struct cond_config {
    char *host;          /* [DEFAULT] host: this conductor's name */
    char *transport_url; /* [DEFAULT] transport_url */
    int64_t rpc_response_timeout;
    char *log_level;
    char *db_connection;        /* [database] connection */
    int64_t port_min, port_max; /* [conductor] service_port_min / _max */
    int64_t board_call_timeout; /* [conductor] seconds */
    int64_t workers;
    int64_t heartbeat_interval; /* seconds between dead-wagent checks */
    int64_t agent_timeout;      /* seconds without heartbeat = dead wagent */
    char *neutron_url;          /* [neutron] url: NULL = no driver */
    char *designate_url;        /* [designate] url: NULL = no driver */
};

extern const struct cfg_opt cond_cfg_opts[];
extern const size_t cond_cfg_nopts;

struct cond {
    struct cond_config cfg;
    struct mq *mq;
    char hostname[256];
};

/* The caller's identity as the API sent it in args.ctx (rpc.h). Borrowed. */
struct cond_caller {
    const char *user_id;
    const char *project_id;
    int is_admin;
};

/* A board row as the conductor needs it. */
struct cond_board {
    char uuid[UUID_STR_LEN];
    char name[256];
    char status[16];
    char agent[256];     /* "" when null */
    char lr_version[32]; /* "" when null */
    char project[72];
    int project_null;
};

/* Reads args.ctx. -EINVAL (400) when malformed. */
int cond_caller_get(const cJSON *args, struct cond_caller *out, struct error *err) IOT_WUR;

/* Reads a normalised uuid argument. -EINVAL (400) when absent or invalid. */
int cond_arg_uuid(const cJSON *args, const char *key, char out[UUID_STR_LEN],
                  struct error *err) IOT_WUR;

/* Loads a board by uuid: 0, or 404 "Board <uuid> could not be found.". */
int cond_board_load(struct db *db, const char *uuid, struct cond_board *out,
                    struct error *err) IOT_WUR;

/* Maps a failed database call: connection trouble 503 (nothing applied),
 * else 500. Logs it. Returns the errno to return. */
int cond_db_fail(int rc, struct error *err);

/* For creates: 1 when req is a redelivery (its first delivery went to a
 * conductor that died before acknowledging) and probe, run with params,
 * finds the row that first delivery committed; the create is then answered
 * as done instead of as a conflict with itself. 0 otherwise. */
int cond_redelivered_done(struct mq_req *req, struct db *db, const struct db_stmt *probe,
                          const char *const *params);

/* Answers req with err (its status from api/fault.h's table), attaching
 * {"request": <uuid>} when request is not NULL/empty. */
void cond_reply_error(struct mq_req *req, const struct error *err, const char *request);

/* Answers {"uuid": uuid} when rc is 0, else err as cond_reply_error(). */
void cond_reply_uuid(struct mq_req *req, int rc, const char *uuid, const struct error *err);

/* Runs st, an UPDATE of the one row whose uuid is params[0]: 0, 404
 * "<what> <uuid> could not be found." when no row matched, or
 * cond_db_fail()'s errno. */
int cond_update_one(struct db *db, const struct db_stmt *st, const char *const *params,
                    const char *what, struct error *err) IOT_WUR;

/* The delete RPC of plugins, services and fleets: deletes the row args.uuid
 * with del (one parameter, the uuid) and replies {} or the error. When
 * boards still hold the row (-EBUSY, a foreign key) and held is not NULL,
 * the answer is 409 "<what> <uuid> is <held> on one or more boards.". */
void cond_delete_one(struct mq_req *req, const cJSON *args, const struct db_stmt *del,
                     const char *what, const char *held);

#endif
