/* src/statefile.h: the agent's durable state files (board-protocol.md 10.1).
 *
 * settings.json, plugins.json and services.json are written atomically: a
 * temporary file in the same directory, fsync, rename over the old name,
 * fsync of the directory. Every write also writes <name>.bak, a separate
 * copy of the same content, so the last good copy always exists. Loading
 * checks the content with the caller's validator; a file that does not pass
 * is renamed <name>.corrupt-<UTC timestamp>, reported in the log with the
 * reason, and <name>.bak is used (and put back in place) when it passes.
 *
 * The blocking calls hit the disk: run them at startup or on a worker
 * thread. struct lrc_store serialises the writes of one file through the
 * worker pool so that the loop never waits and a later state never loses to
 * an earlier one that finished last. */
#ifndef LRC_SRC_STATEFILE_H
#define LRC_SRC_STATEFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/wq.h"

#define LRC_STATEFILE_MAX (16u << 20) /* a state file larger than this is corrupt */

/* Writes len bytes to <path>.bak, then to path, each as above, with the
 * given mode. Any thread; blocks. 0 or a negated errno with the step in err. */
int lrc_statefile_write(const char *path, const void *data, size_t len, mode_t mode,
                        struct error *err) IOT_WUR;

/* Validates a file's text: 0, or a negated errno with the reason in err. */
typedef int (*lrc_statefile_check_fn)(const char *text, size_t len, void *arg, struct error *err);

/* Reads path and checks it. Returns 0 with the text in *out (free() it) and
 * *len, and *from_bak = 1 when the .bak had to be used (it is then restored
 * as path); -ENOENT when path does not exist; -EBADMSG when neither path nor
 * its .bak passes (err says why path failed; path has been renamed
 * <name>.corrupt-<ts>); another negated errno when reading failed. Any
 * thread; blocks. */
int lrc_statefile_load(const char *path, lrc_statefile_check_fn check, void *arg, char **out,
                       size_t *len, int *from_bak, struct error *err) IOT_WUR;

/* Called on the loop thread when the write holding the caller's content is
 * durable (rc 0) or failed (rc < 0, err says why). */
typedef void (*lrc_store_done_fn)(void *arg, int rc, const struct error *err);

struct lrc_store;

/* A writer for path on wq (which must outlive it or be freed first). */
struct lrc_store *lrc_store_new(struct wq *wq, const char *path, mode_t mode);

/* Queues text (taken: from malloc) as the file's next content. done (may be
 * NULL) runs once a write of this or a later content completes. Writes are
 * coalesced: at most one runs, and only the newest waiting content follows.
 * Loop thread. */
void lrc_store_write(struct lrc_store *s, char *text, size_t len, lrc_store_done_fn done,
                     void *arg);

/* 1 while a write is queued or running. */
int lrc_store_busy(const struct lrc_store *s);

const char *lrc_store_path(const struct lrc_store *s);

/* Frees the store. A write in flight still completes (its callbacks do
 * not run) and the memory goes when it does. Accepts NULL. Loop thread. */
void lrc_store_free(struct lrc_store *s);

#endif
