/* qmodel/blobs.h: the content-addressed blob store on the file system
 * (deviceless-api.md 3.1 "Storage").
 *
 *   <[storage] file_system_dir>/blobs/<first 2 hex>/<sha256>   the blobs
 *   <[storage] file_system_dir>/tmp/                            uploads in progress
 *
 * A blob is written to a temporary file, fsynced, and renamed into place;
 * the directory is fsynced too, so a blob that a committed row names survives
 * a crash. The `blobs` rows (refcounts kept by triggers, 0003) decide what
 * exists; qm_blob_place() is called inside the transaction that references
 * the blob, after the row is locked, and the sweeper unlinks a file only
 * while holding its row's delete, so a placement and a deletion of the same
 * content can never interleave. Blocking file I/O: worker threads only. */
#ifndef QM_BLOBS_H
#define QM_BLOBS_H

#include <stddef.h>

#include "common/error.h"

/* Creates blobs/ and tmp/ under root. 0 or -errno with err set. */
int qm_blobs_init(const char *root, struct error *err) IOT_WUR;

/* The path of a blob: a new string (free()). */
char *qm_blob_path(const char *root, const char *sha256);

/* Creates a new temporary file under root/tmp (mode 0600, O_CLOEXEC):
 * *path (free()) and *fd. */
int qm_blob_tmpfile(const char *root, char **path, int *fd, struct error *err) IOT_WUR;

/* Writes n bytes of p to fd and fsyncs it. 0 or -errno. */
int qm_blob_write(int fd, const void *p, size_t n, struct error *err) IOT_WUR;

/* Renames tmp (an fsynced file) to the path of sha256, creating its
 * directory, and fsyncs the directory. 0 or -errno. */
int qm_blob_place(const char *root, const char *tmp, const char *sha256, struct error *err) IOT_WUR;

/* Removes the blob's file; a missing file is not an error. */
int qm_blob_unlink(const char *root, const char *sha256);

#endif
