/* src/fn_store.h: the board's record of every execution it accepted
 * (deviceless-api.md 3.6, de-duplication).
 *
 * <state_dir>/executions/<execution_id>.json holds one record:
 *   {"execution_id", "state": "accepted" | "finished", "received_at",
 *    "local", "acked_at", "result"}
 * where "local" is false, or for a local-loop execution the fields its
 * result must carry (trigger_id, firing_seq, function_id, function_version,
 * input), so that even a result made after a restart has them.
 * written atomically (temporary file, fsync, rename, fsync of the
 * directory) on the worker pool. Writes of one record are serialised: a
 * newer content waits for the write in flight, and only the newest is
 * written. The store keeps a small summary of every record in memory, so a
 * repeated FunctionExecute is answered without touching the disk, except to
 * read a stored result back.
 *
 * A record lives until the cloud acknowledged its result and then
 * dedup_retention seconds more; a sweep deletes expired records.
 *
 * One store per process, loop thread only; callbacks run on the loop. */
#ifndef LRC_FN_STORE_H
#define LRC_FN_STORE_H

#include <cjson/cJSON.h>
#include <ev.h>
#include <stdint.h>

#include "common/error.h"
#include "common/wq.h"

enum fn_rec_state { FN_REC_ACCEPTED, FN_REC_FINISHED };

/* What the store knows of a record without reading it. Borrowed; valid
 * until the next call that changes the store. */
struct fn_rec_info {
    enum fn_rec_state state;
    int64_t received_at;
    int64_t acked_at; /* 0: not acknowledged */
    int local;
};

struct fn_store;

/* rc 0 once the write is durable; otherwise a negated errno (logged). */
typedef void (*fn_store_fn)(void *arg, int rc);

/* Creates <dir> if needed. The wq must outlive the store. */
int fn_store_new(struct ev_loop *ev, struct wq *wq, const char *dir, int64_t retention_s,
                 struct fn_store **out, struct error *err) IOT_WUR;

/* Work in flight on the worker pool. Free only when 0. */
int fn_store_busy(const struct fn_store *s);
void fn_store_free(struct fn_store *s); /* accepts NULL */

/* Called by fn_store_load() once per record found on disk, on the loop. A
 * record that is still "accepted" belongs to an execution that a previous
 * run of the agent did not finish; a finished one without acked_at still
 * has to reach the cloud. local (the local-loop fields, or NULL) and result
 * (NULL for accepted ones) are borrowed. */
typedef void (*fn_store_found_fn)(void *arg, const char *execution_id,
                                  const struct fn_rec_info *info, const cJSON *local,
                                  const cJSON *result);

/* Reads every record (worker pool), calling found() for the ones that are
 * not acknowledged, then done(). Unreadable records are renamed to
 * <name>.corrupt-<time> and logged. */
void fn_store_load(struct fn_store *s, fn_store_found_fn found, void (*done)(void *arg), void *arg);

/* The summary of a known id, or NULL. */
const struct fn_rec_info *fn_store_get(const struct fn_store *s, const char *execution_id);

/* Records a newly accepted execution; known at once in memory, durable when
 * fn runs. local: NULL, or the local-loop fields (copied). Returns -EEXIST
 * when the id is already known. */
int fn_store_accept(struct fn_store *s, const char *execution_id, int64_t received_at,
                    const cJSON *local, fn_store_fn fn, void *arg) IOT_WUR;

/* Stores the result (borrowed; copied) of a known execution. */
void fn_store_finish(struct fn_store *s, const char *execution_id, const cJSON *result,
                     fn_store_fn fn, void *arg);

/* The cloud acknowledged the result: keep the record dedup_retention more. */
void fn_store_ack(struct fn_store *s, const char *execution_id);

/* Reads a finished record's result back: fn gets a new tree (or NULL when it
 * cannot be read) and owns it. */
void fn_store_read_result(struct fn_store *s, const char *execution_id,
                          void (*fn)(void *arg, cJSON *result), void *arg);

/* Ids of finished, unacknowledged records (FunctionStatus "known"). */
cJSON *fn_store_known(const struct fn_store *s);

/* Deletes records acknowledged more than dedup_retention ago (also run by
 * a timer every minute). Returns how many. */
int fn_store_sweep(struct fn_store *s);

size_t fn_store_count(const struct fn_store *s);

#endif
