/* src/outbox.h: results the cloud must not miss (board-protocol.md 10.5,
 * deviceless-api.md 3.6, 3.7.5).
 *
 * notify_result (the outcome of an operation answered RUNNING),
 * function_result and event calls go through <state_dir>/outbox/: each entry
 * is written to its own file (on a worker thread) before it is sent (a
 * notify_result fsynced before, a function_result or event fsynced while its
 * call travels: outbox.c says why), sent in the order it was put, one at a
 * time, whenever the link is online, retried after every reconnect (and
 * after a pause when the cloud says to retry), and deleted only after a
 * SUCCESS reply (and its fsync). An entry the cloud
 * refuses for good (an ERROR that is not "retry later") is logged and
 * dropped, so that one bad entry cannot block the ones behind it. Entries
 * survive restarts: the next start loads them in order.
 *
 * When [function] outbox_max entries wait, the oldest event-only entries are
 * dropped first and the count goes into the next event's "dropped"; results
 * are never dropped: the executor is told to answer "busy" until the outbox
 * drains.
 *
 * One outbox per agent. Loop thread only. */
#ifndef LRC_SRC_OUTBOX_H
#define LRC_SRC_OUTBOX_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "common/error.h"
#include "src/agent.h"

#define LRC_OUTBOX_DIR "outbox"

enum lrc_outbox_kind {
    LRC_OUTBOX_NOTIFY = 0,      /* <agent>.stack4things.notify_result */
    LRC_OUTBOX_FUNCTION_RESULT, /* stack4things.function_result */
    LRC_OUTBOX_EVENT,           /* stack4things.event */
};

/* An entry was acknowledged by the cloud (e.g. fn_result_acked()). key is
 * what lrc_outbox_put() was given (may be NULL). */
typedef void (*lrc_outbox_acked_fn)(void *arg, enum lrc_outbox_kind kind, const char *key);

struct lrc_outbox;

/* Creates the outbox in <state_dir>/outbox and loads the entries a previous
 * run left (blocking: main thread, at startup). max: [function] outbox_max. */
int lrc_outbox_new(struct lrc_agent *a, size_t max, lrc_outbox_acked_fn acked, void *arg,
                   struct lrc_outbox **out, struct error *err) IOT_WUR;
void lrc_outbox_free(struct lrc_outbox *ob); /* accepts NULL */

/* Adds an entry: kwargs (taken) are the call's keyword arguments; key
 * identifies it for the acked hook and for de-duplication: while an entry of
 * the same kind and key waits, another is not added (the executor hands a
 * result over again after a restart). An event gets "dropped": <n> when
 * events were dropped since the last one. */
void lrc_outbox_put(struct lrc_outbox *ob, enum lrc_outbox_kind kind, cJSON *kwargs,
                    const char *key);

/* The link went online (send) or offline (wait). */
void lrc_outbox_online(struct lrc_outbox *ob, int online);

/* Entries waiting (written or being written). */
size_t lrc_outbox_count(const struct lrc_outbox *ob);

/* Deletes every entry (factory reset). */
void lrc_outbox_purge(struct lrc_outbox *ob);

/* {"waiting", "sent", "dropped"} for the status op. New. */
cJSON *lrc_outbox_status(const struct lrc_outbox *ob);

#endif
