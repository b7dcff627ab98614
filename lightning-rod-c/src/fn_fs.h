/* src/fn_fs.h: the few file-system chores of the function executor.
 *
 * Durable state files are written atomically (a temporary file in the same
 * directory, fsync, rename, fsync of the directory: board-protocol.md 10.1),
 * bounded files are read with a ceiling, and cached trees, which are made
 * read-only on purpose (deviceless-api.md 3.2), are removed even without
 * write permission bits.
 *
 * Everything here blocks on the disk: call it from a worker thread
 * (common/wq.h), or from the loop thread only for small files on the run
 * directory, which is a tmpfs. No function keeps state between calls. */
#ifndef LRC_FN_FS_H
#define LRC_FN_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

/* Writes len bytes to path atomically with the given mode. Any thread.
 * Returns 0 or a negated errno with the failing step in err. */
int fn_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                       struct error *err) IOT_WUR;

/* Writes len bytes to path (created or truncated, no fsync): for files on
 * the tmpfs run directory. Any thread. */
int fn_fs_write_file(const char *path, const void *data, size_t len, mode_t mode,
                     struct error *err) IOT_WUR;

/* Reads at most max bytes of path into a new NUL-terminated buffer (*out,
 * free() it; *len the byte count). -ENOENT when absent, -EFBIG when the file
 * holds more than max bytes (then *out is NULL). Refuses to follow a final
 * symbolic link (-ELOOP): results are read from directories a function
 * controls. Any thread. */
int fn_fs_read_file(const char *path, size_t max, char **out, size_t *len,
                    struct error *err) IOT_WUR;

/* mkdir -p with mode for the directories it creates. Any thread. */
int fn_fs_mkdirs(const char *path, mode_t mode, struct error *err) IOT_WUR;

/* Removes path and everything below it, restoring write permission where a
 * read-only tree needs it; never follows symbolic links and never leaves the
 * file system of path. Missing path is success. Worker thread (may be slow). */
int fn_fs_rmtree(const char *path, struct error *err) IOT_WUR;

/* Bytes used below path (allocated blocks, each inode counted once), or a
 * negated errno. Worker thread. */
int64_t fn_fs_tree_bytes(const char *path);

/* Clears every write permission bit below path (directories stay
 * searchable, files keep their execute bits). Worker thread. */
int fn_fs_make_readonly(const char *path, struct error *err) IOT_WUR;

/* fsyncs the directory that holds path. */
int fn_fs_sync_parent(const char *path, struct error *err) IOT_WUR;

#endif
