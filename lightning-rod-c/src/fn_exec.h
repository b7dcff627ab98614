/* src/fn_exec.h: the board's function executor, as the agent core sees it.
 *
 * It serves the board procedures of deviceless-api.md 3.9 (FunctionExecute,
 * FunctionDeploy, FunctionRemove, CachePurge, FunctionStatus), the executor
 * part of DeviceCaps (3.4.1) and local trigger executions (3.7.4), on top of
 * the container runner (ctr_run.h), the caches (fn_cache.h), the execution
 * records (fn_store.h) and the warm pool (fn_warm.h).
 *
 * Life of an execution: validated; de-duplicated against the records (a
 * known id never runs twice: its state or its stored result is answered);
 * refused with "deadline", "busy" (all max_concurrency slots taken, or the
 * agent's outbox is full) or "unsupported"; else accepted: the record is
 * written (the RUNNING reply waits until it is durable), the runtime and the
 * package are fetched or found in the cache, a warm container is taken or a
 * new one created, started with the input, and its outcome becomes the
 * result object of 2.6.3/3.9. The result is handed to the core's on_result
 * hook (once the RUNNING reply went out), which writes it to the outbox and
 * calls stack4things.function_result, while it is stored in the record; when
 * the cloud acknowledges, the core calls fn_result_acked() (which also lets
 * the warm pool refill), and the record is deleted dedup_retention later.
 *
 * After a restart, records of executions that were running are finished as
 * "error" ("Function execution failed."), and stored results that were
 * never acknowledged are handed to on_result again: the core must treat
 * on_result as idempotent per execution_id.
 *
 * One struct fn per agent, made in main() after ctr_prepare_mountns(), the
 * loop, the worker pool and the reaper. Every function runs on the loop
 * thread. */
#ifndef LRC_FN_EXEC_H
#define LRC_FN_EXEC_H

#include <cjson/cJSON.h>
#include <ev.h>
#include <stdint.h>

#include "common/error.h"
#include "common/wq.h"
#include "src/ctr_cgroup.h"
#include "src/ctr_reaper.h"
#include "src/ctr_run.h"
#include "src/fn_config.h"

struct fn;

/* What the executor needs from the process. All borrowed; they outlive fn. */
struct fn_deps {
    struct ev_loop *ev;
    struct wq *wq; /* unpacking, removals, record writes */
    struct ctr_reaper *reaper;
    const struct ctr_cgroup *cgroup; /* from ctr_prepare_mountns() */
    const struct ctr_io_ops *io;     /* the IO socket provider (src/iosock.h); NULL: none */
};

struct fn_hooks {
    /* A result to deliver (outbox, then stack4things.function_result).
     * result is borrowed for the call; it is the object of 3.9, plus
     * "local", "trigger_id", "firing_seq", "function_id",
     * "function_version" and "input" for local-loop executions. */
    void (*on_result)(void *arg, const cJSON *result);
    void *arg;
};

/* The reply to a board procedure, for a WampMessage: kind is "SUCCESS",
 * "RUNNING" or "ERROR" and message its "message" value (the callee owns
 * it). Called exactly once per request, possibly before the request
 * function returns. */
typedef void (*fn_reply_fn)(void *arg, const char *kind, cJSON *message);

/* Creates the executor: the runner, the downloader, the cache, the store and
 * the warm pool, and removes the bundles a previous run left in run_dir.
 * conf must be complete (fn_config_finish) and outlive fn. */
int fn_new(const struct fn_deps *deps, const struct fn_config *conf, const struct fn_hooks *hooks,
           struct fn **out, struct error *err) IOT_WUR;

/* Startup work, on the loop: deletes containers left by a previous run
 * (`crun list`), runs the probe (4.7), loads the execution records and the
 * cache. Requests that arrive before ready() is called are answered "busy".
 * ready may be NULL. */
void fn_start(struct fn *fn, void (*ready)(void *arg), void *arg);

/* The board's UUID, for BOARD_ID, context.json and messages. Set it when
 * the board is registered; it may change (factory reset). */
void fn_set_board_id(struct fn *fn, const char *board_uuid);

/* The board procedures (3.9). payload is borrowed for the call. */
void fn_execute(struct fn *fn, const cJSON *payload, fn_reply_fn reply, void *arg);
void fn_deploy(struct fn *fn, const cJSON *payload, fn_reply_fn reply, void *arg);
void fn_remove(struct fn *fn, const cJSON *payload, fn_reply_fn reply, void *arg);
void fn_purge(struct fn *fn, const cJSON *payload, fn_reply_fn reply, void *arg);

/* FunctionStatus: {"running": [...], "warm": [...], "known": [...]}. New. */
cJSON *fn_status(struct fn *fn);

/* A local-loop execution (3.7.4): payload is the trigger's FunctionExecute
 * template with its execution_id and input filled in. Unlike a cloud
 * execution it waits for a free slot instead of being refused. reply says
 * whether it was accepted, as for fn_execute. */
struct fn_local {
    const char *trigger_id;
    int64_t firing_seq;
};
void fn_execute_local(struct fn *fn, const cJSON *payload, const struct fn_local *local,
                      fn_reply_fn reply, void *arg);

/* The executor's part of DeviceCaps: "executor", "executor_detail",
 * "max_concurrency", "process_runtimes", "cache", "io_socket". New object. */
cJSON *fn_caps(struct fn *fn);

/* The cloud acknowledged the result of execution_id. */
void fn_result_acked(struct fn *fn, const char *execution_id);

/* The core's outbox is full: new executions are answered "busy" (3.7.5). */
void fn_set_outbox_full(struct fn *fn, int full);

/* Slots in use and executions waiting for one (metrics, tests). */
int fn_running(const struct fn *fn);

/* Stops: no new requests, warm and running containers deleted (their
 * records stay "accepted" and are reported failed at the next start),
 * pending fetches cancelled; done(arg) runs on the loop once nothing is left
 * in flight. Then free with fn_free(). */
void fn_shutdown(struct fn *fn, void (*done)(void *arg), void *arg);
void fn_free(struct fn *fn); /* accepts NULL */

/* For the plugin runner (ctr_job.h): the executor's container runner. */
struct ctr_runner *fn_runner(struct fn *fn);

#endif
