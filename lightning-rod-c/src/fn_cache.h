/* src/fn_cache.h: the board's package and runtime caches (deviceless-api.md 3.5.2).
 *
 * Layout under cache_dir:
 *   packages/<sha256>/          a package, unpacked, read-only (mounted at /code)
 *   runtimes/<sha256>/rootfs/   a runtime's root file system, read-only, with
 *                               the containers' mount points
 *   runtimes/<sha256>/runtime.json   a bundle's embedded config, when it had one
 *   tmp/                        downloads and unpacking in progress
 *   trash/                      evicted trees being removed
 * A directory appears under packages/ or runtimes/ only by an atomic rename
 * of a complete tree, so what is there is complete; tmp/ and trash/ are
 * emptied at startup.
 *
 * Entries are reference-counted by their users (an execution, a warm
 * container): a blob in use is never evicted, nor a pinned one
 * (FunctionDeploy, local triggers). Beyond cache_max_bytes the least recently
 * used unreferenced, unpinned entries are evicted. Concurrent requests for a
 * blob share one download and one unpacking.
 *
 * One cache per process, on the loop thread; downloads (fn_download.h) and
 * unpacking (the lrc-unpack helper, src/helper.h) run in helper processes
 * watched from the loop, the disk work around them (the final rename,
 * accounting, removals) on the worker pool. */
#ifndef LRC_FN_CACHE_H
#define LRC_FN_CACHE_H

#include <cjson/cJSON.h>
#include <ev.h>
#include <stdint.h>

#include "common/error.h"
#include "common/wq.h"
#include "src/ctr_reaper.h"
#include "src/fn_download.h"

enum fn_blob_kind { FN_BLOB_PACKAGE, FN_BLOB_RUNTIME };

#define FN_SHA256_HEX 65
#define FN_MD5_HEX 33
#define FN_FORMAT_MAX 8

/* A blob as a FunctionExecute payload names it. Borrowed by the calls. */
struct fn_blob {
    enum fn_blob_kind kind;
    char sha256[FN_SHA256_HEX];
    char md5[FN_MD5_HEX]; /* "" when not given */
    int64_t size;
    char format[FN_FORMAT_MAX]; /* as declared: "zip", "tar.gz", "tar" */
    const char *url;
    const char *token; /* may be NULL */
};

struct fn_cache_opts {
    struct ctr_reaper *reaper; /* starts lrc-unpack; outlives the cache */
    const char *unpack_path;   /* the lrc-unpack program; NULL: lrc_helper_find() */
    const char *dir;
    int64_t max_bytes;
    int64_t package_max_bytes, package_max_entries; /* unpacked limits (3.1) */
    int64_t runtime_max_bytes, runtime_max_entries; /* (3.2) */
};

struct fn_cache;
struct fn_cache_entry;
struct fn_cache_wait;

/* Creates the directories. The downloader, the wq and the reaper must
 * outlive it. A missing lrc-unpack is logged and fails each fetch. */
int fn_cache_new(struct ev_loop *ev, struct wq *wq, struct fn_dl *dl, const struct fn_cache_opts *o,
                 struct fn_cache **out, struct error *err) IOT_WUR;

/* Scans what is on disk (on the worker pool) and calls done(arg) on the
 * loop when the cache knows it. Acquire works before that, but may then
 * download a blob that was already there. */
void fn_cache_load(struct fn_cache *c, void (*done)(void *arg), void *arg);

/* Work in flight on the worker pool or the network. Free only when 0. */
int fn_cache_busy(const struct fn_cache *c);

/* Frees the cache (not the disk). Accepts NULL. */
void fn_cache_free(struct fn_cache *c);

/* rc 0: e is ready and a reference is held for the caller. Otherwise a
 * negated errno and err holds the reason (for "Failed to deploy function on
 * board <uuid>: <reason>"). */
typedef void (*fn_cache_fn)(void *arg, struct fn_cache_entry *e, int rc, const struct error *err);

/* Returns 0 with *out ready and referenced (fn not called); or 1 when the
 * blob is being fetched, and fn will be called exactly once (*wait lets the
 * caller cancel); or a negated errno at once. */
int fn_cache_acquire(struct fn_cache *c, const struct fn_blob *b, fn_cache_fn fn, void *arg,
                     struct fn_cache_entry **out, struct fn_cache_wait **wait,
                     struct error *err) IOT_WUR;

/* The callback of w will not run. The fetch goes on for others. */
void fn_cache_cancel(struct fn_cache_wait *w);

void fn_cache_ref(struct fn_cache_entry *e);
/* Drops a reference; may evict (purge requested, or over the budget). */
void fn_cache_unref(struct fn_cache_entry *e);

/* Pins (delta +1) or unpins (-1): pinned entries are never evicted by LRU. */
void fn_cache_pin(struct fn_cache_entry *e, int delta);

/* The entry of sha256 when it is ready, else NULL (no reference taken). */
struct fn_cache_entry *fn_cache_find(struct fn_cache *c, enum fn_blob_kind kind,
                                     const char *sha256);

/* Deletes the blob as soon as nothing uses it (pins are ignored: the
 * service knows it is no longer needed). Unknown blobs are ignored. */
void fn_cache_purge(struct fn_cache *c, const char *sha256);

/* The package directory, or the runtime's rootfs: borrowed, valid while a
 * reference is held. */
const char *fn_cache_entry_root(const struct fn_cache_entry *e);
const char *fn_cache_entry_sha256(const struct fn_cache_entry *e);
/* A runtime bundle's embedded config (borrowed), or NULL. */
const cJSON *fn_cache_entry_config(const struct fn_cache_entry *e);

/* {"runtimes": [sha256...], "packages": [sha256...], "free_bytes": N}:
 * DeviceCaps' cache object (3.4.1). New tree for the caller. */
cJSON *fn_cache_caps(const struct fn_cache *c);

/* Bytes used by ready entries (for tests and metrics). */
int64_t fn_cache_used(const struct fn_cache *c);

#endif
