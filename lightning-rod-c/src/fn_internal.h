/* src/fn_internal.h: the executor's private structures, shared by
 * fn_exec.c (life cycle, status, caps), fn_execute.c (executions) and
 * fn_deploy.c (deploy, remove, purge, pins). Not for other modules. */
#ifndef LRC_FN_INTERNAL_H
#define LRC_FN_INTERNAL_H

#include "src/ctr_probe.h"
#include "src/fn_cache.h"
#include "src/fn_download.h"
#include "src/fn_exec.h"
#include "src/fn_launch.h"
#include "src/fn_map.h"
#include "src/fn_payload.h"
#include "src/fn_store.h"
#include "src/fn_warm.h"

#define FN_LOCAL_QUEUE_MAX 1000

struct fn_exec;
struct fn_deploy_op;

struct fn {
    struct fn_deps d;
    const struct fn_config *conf;
    struct fn_hooks hooks;
    struct ctr_runner *runner;
    struct fn_dl *dl;
    struct fn_cache *cache;
    struct fn_store *store;
    struct fn_warm *warm;
    char board_id[UUID_STR_LEN];
    int ready, stopping;
    int startup_left;
    void (*ready_fn)(void *);
    void *ready_arg;
    struct ctr_probe_result probe;
    int outbox_full;
    struct fn_exec *execs; /* every execution not yet freed */
    int running;           /* slots in use */
    struct fn_exec *queue, *queue_tail;
    int queued;
    struct fn_deploy_op *deploys;
    struct fn_map pins; /* "<function_id>:<version>" -> struct fn_pin */
    int pins_writing, pins_dirty;
    int busy;       /* own jobs in flight (pins writes) */
    ev_timer drain; /* shutdown: polls until idle */
    void (*shutdown_fn)(void *);
    void *shutdown_arg;
};

struct fn_pin {
    char runtime[FN_SHA256_HEX];
    char package[FN_SHA256_HEX];
};

struct fn_exec {
    struct fn *fn;
    struct fn_exec *prev, *next; /* fn->execs */
    struct fn_exec *qnext;       /* fn->queue */
    struct fn_req *req;
    int local;
    char *trigger_id;
    int64_t firing_seq;
    int64_t received_at, started_at;
    struct fn_cache_entry *rt, *pkg;
    struct fn_cache_wait *rt_wait, *pkg_wait;
    struct fn_launch *launch;
    struct ctr *c;
    char container_id[CTR_ID_LEN];
    int warm, retried_cold, started, finished, slot;
    fn_reply_fn reply;
    void *reply_arg;
    cJSON *result;
};

/* fn_exec.c */
void fn_reply_error(fn_reply_fn reply, void *arg, const char *code, const char *fmt, ...)
    IOT_PRINTF(4, 5);
const char *fn_executor_name(const struct fn *fn);
int fn_executor_usable(const struct fn *fn, const struct fn_req *r, struct error *err);

/* fn_execute.c */
void fn_exec_found(void *arg, const char *execution_id, const struct fn_rec_info *info,
                   const cJSON *local, const cJSON *result);
void fn_exec_abort_all(struct fn *fn);
void fn_exec_free_all(struct fn *fn);
cJSON *fn_exec_running(const struct fn *fn);

/* fn_deploy.c */
void fn_pins_load(struct fn *fn);
void fn_pins_apply(struct fn *fn);
void fn_deploy_abort_all(struct fn *fn);
void fn_pins_clear(struct fn *fn);

#endif
