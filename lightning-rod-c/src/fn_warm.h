/* src/fn_warm.h: warm containers (deviceless-api.md 3.5.5).
 *
 * For each function version with keep_warm = N > 0 the pool keeps N
 * containers created but not started, made from the launch of its latest
 * execution (or FunctionDeploy). An execution takes one whose fingerprint
 * matches exactly (so it starts with `crun start` only) and the pool makes a
 * replacement afterwards, one creation at a time, off the critical path.
 * A container unused for warm_ttl seconds is deleted; it is replaced only
 * while the function saw an execution within warm_ttl, so an idle function
 * scales to zero. A launch whose base fingerprint differs from the group's
 * (the function, its runtime or its package changed) drops the group's
 * containers. The pool never holds more than max_warm_total containers,
 * counting those being created.
 *
 * One pool per process, on the loop thread. */
#ifndef LRC_FN_WARM_H
#define LRC_FN_WARM_H

#include <cjson/cJSON.h>
#include <ev.h>

#include "src/ctr_run.h"
#include "src/fn_launch.h"

struct fn_warm;

struct fn_warm *fn_warm_new(struct ev_loop *ev, struct ctr_runner *runner, int64_t max_total);

/* Releases every container (their deletion goes on in the runner) and
 * frees. Accepts NULL. */
void fn_warm_free(struct fn_warm *w);

/* Takes a ready container made from a launch with full fingerprint
 * l->full_fp for l's function version; the caller owns it (ctr_release).
 * NULL when there is none. *created_at gets its creation time. */
struct ctr *fn_warm_take(struct fn_warm *w, const struct fn_launch *l, int64_t *created_at);

/* Records use of l's function version now, with keep (0 drops the group)
 * and ttl_s, and tops the group up from l in the background. */
void fn_warm_note(struct fn_warm *w, struct fn_launch *l, int64_t keep, int64_t ttl_s);

/* As fn_warm_note(), for the execution execution_id that just finished:
 * the group's refill waits until fn_warm_release() names that execution
 * (the cloud acknowledged its result) or FN_WARM_HOLD_S pass (offline, or
 * no acknowledgement comes), so that `crun create` does not compete with
 * the result's way back. A later execution's hold replaces an earlier one. */
#define FN_WARM_HOLD_S 0.25
void fn_warm_note_held(struct fn_warm *w, struct fn_launch *l, int64_t keep, int64_t ttl_s,
                       const char *execution_id);

/* The result of execution_id was acknowledged: a refill it held may start. */
void fn_warm_release(struct fn_warm *w, const char *execution_id);

/* Drops the containers of a function (version -1: every version). */
void fn_warm_drop(struct fn_warm *w, const char *function_id, int64_t version);

/* Containers held, ready or being created, for one version (or all: NULL). */
int fn_warm_count(const struct fn_warm *w, const char *function_id, int64_t version);

/* [{"container_id", "function_id", "function_version", "created_at",
 *   "last_used_at"}] for FunctionStatus. New tree. */
cJSON *fn_warm_status(const struct fn_warm *w);

#endif
