/* src/fn_cache.c: see fn_cache.h.
 *
 * Entries live in one list (a board caches tens of blobs, not thousands).
 * An entry is FETCHING from its creation until its tree is in place, then
 * READY. A failed fetch notifies its waiters and disappears, leaving nothing
 * on disk. Eviction unlinks the entry at once (renaming its tree into
 * trash/, one cheap rename on the loop) and removes the tree on a worker.
 *
 * Fetching is: the download (tmp/<sha>-<rnd>.blob, fn_download.h), then
 * lrc-unpack into tmp/<sha>-<rnd>.d (the helper checks every entry and
 * makes the tree read-only), then on a worker the rename into place, the
 * removal of the blob and the accounting. The helper's word is taken for
 * nothing the cache relies on: the bytes are counted and runtime.json is
 * read again from the tree itself. */
#include "src/fn_cache.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/encode.h"
#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/uuid.h"
#include "common/xalloc.h"
#include "src/fn_fs.h"
#include "src/helper.h"

enum entry_state { E_FETCHING, E_READY };

struct fn_cache_wait {
    struct fn_cache_entry *e;
    struct fn_cache_wait *next;
    fn_cache_fn fn;
    void *arg;
};

struct fn_cache_entry {
    struct fn_cache *c;
    struct fn_cache_entry *next;
    enum fn_blob_kind kind;
    enum entry_state state;
    char sha256[FN_SHA256_HEX];
    char *dir;  /* packages/<sha> or runtimes/<sha> */
    char *root; /* dir, or dir/rootfs */
    cJSON *config;
    int64_t bytes;
    int64_t last_used;
    int refs, pins, purge;
    struct fn_cache_wait *waiters;
    /* while fetching */
    struct fn_dl_job *dl;
    struct lrc_helper *unpack;
    char *blob_path, *tmp_dir;
    char format[FN_FORMAT_MAX];
};

struct fn_cache {
    struct ev_loop *ev;
    struct wq *wq;
    struct fn_dl *dl;
    struct fn_cache_opts o;
    char *dir, *tmp, *trash, *unpack_path;
    struct fn_cache_entry *entries;
    int busy;
    int64_t used;
};

static const char *const kind_dir[] = {"packages", "runtimes"};
static const char *const kind_what[] = {"Package", "Runtime image"};

/* ------------------------------------------------------------- basics */

int fn_cache_new(struct ev_loop *ev, struct wq *wq, struct fn_dl *dl, const struct fn_cache_opts *o,
                 struct fn_cache **out, struct error *err)
{
    struct fn_cache *c = xcalloc(1, sizeof(*c));
    int rc = 0;

    *out = NULL;
    c->ev = ev;
    c->wq = wq;
    c->dl = dl;
    c->o = *o;
    c->dir = xstrdup(o->dir);
    c->o.dir = c->dir;
    c->unpack_path = o->unpack_path ? xstrdup(o->unpack_path) : lrc_helper_find("lrc-unpack");
    c->o.unpack_path = c->unpack_path;
    if (c->unpack_path == NULL)
        log_error("lrc-unpack is not installed (looked beside this program and in %s): "
                  "function packages cannot be unpacked",
                  LRC_HELPER_DIR);
    c->tmp = xasprintf("%s/tmp", c->dir);
    c->trash = xasprintf("%s/trash", c->dir);
    for (int k = 0; rc == 0 && k < 2; k++) {
        char *p = xasprintf("%s/%s", c->dir, kind_dir[k]);

        rc = fn_fs_mkdirs(p, 0755, err);
        free(p);
    }
    if (rc == 0)
        rc = fn_fs_mkdirs(c->tmp, 0700, err);
    if (rc == 0)
        rc = fn_fs_mkdirs(c->trash, 0700, err);
    if (rc < 0) {
        fn_cache_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static void entry_free(struct fn_cache_entry *e)
{
    free(e->dir);
    free(e->root);
    free(e->blob_path);
    free(e->tmp_dir);
    cJSON_Delete(e->config);
    free(e);
}

void fn_cache_free(struct fn_cache *c)
{
    if (c == NULL)
        return;
    while (c->entries != NULL) {
        struct fn_cache_entry *e = c->entries;

        c->entries = e->next;
        fn_dl_cancel(e->dl);
        lrc_helper_cancel(e->unpack);
        while (e->waiters != NULL) {
            struct fn_cache_wait *w = e->waiters;

            e->waiters = w->next;
            free(w);
        }
        entry_free(e);
    }
    free(c->dir);
    free(c->tmp);
    free(c->trash);
    free(c->unpack_path);
    free(c);
}

int fn_cache_busy(const struct fn_cache *c)
{
    return c->busy;
}

static struct fn_cache_entry *lookup(const struct fn_cache *c, enum fn_blob_kind kind,
                                     const char *sha256)
{
    for (struct fn_cache_entry *e = c->entries; e != NULL; e = e->next)
        if (e->kind == kind && strcmp(e->sha256, sha256) == 0)
            return e;
    return NULL;
}

static void unlink_entry(struct fn_cache *c, struct fn_cache_entry *e)
{
    struct fn_cache_entry **pp = &c->entries;

    while (*pp != NULL && *pp != e)
        pp = &(*pp)->next;
    if (*pp == e)
        *pp = e->next;
}

static struct fn_cache_entry *entry_new(struct fn_cache *c, enum fn_blob_kind kind,
                                        const char *sha256)
{
    struct fn_cache_entry *e = xcalloc(1, sizeof(*e));

    e->c = c;
    e->kind = kind;
    snprintf(e->sha256, sizeof(e->sha256), "%s", sha256);
    e->dir = xasprintf("%s/%s/%s", c->dir, kind_dir[kind], sha256);
    e->root = kind == FN_BLOB_PACKAGE ? xstrdup(e->dir) : xasprintf("%s/rootfs", e->dir);
    e->last_used = time_mono_us();
    e->next = c->entries;
    c->entries = e;
    return e;
}

/* --------------------------------------------------------- removing */

struct rm_job {
    struct fn_cache *c;
    char *path;
};

static void rm_work(void *arg, void *ctx)
{
    struct rm_job *j = arg;
    struct error err;

    (void)ctx;
    if (fn_fs_rmtree(j->path, &err) < 0)
        log_warn("cache: %s", err.msg);
}

static void rm_done(void *arg)
{
    struct rm_job *j = arg;

    j->c->busy--;
    free(j->path);
    free(j);
}

static void remove_tree_async(struct fn_cache *c, const char *path)
{
    struct rm_job *j = xcalloc(1, sizeof(*j));

    j->c = c;
    j->path = xstrdup(path);
    c->busy++;
    if (wq_submit(c->wq, rm_work, rm_done, j) < 0) {
        rm_work(j, NULL);
        rm_done(j);
    }
}

static void evict(struct fn_cache *c, struct fn_cache_entry *e)
{
    unsigned char rnd[8];
    char hex[17], *dst;

    rand_bytes(rnd, sizeof(rnd));
    hex_encode(rnd, sizeof(rnd), hex);
    dst = xasprintf("%s/%s-%s", c->trash, e->sha256, hex);
    log_info("cache: evicting %s %s bytes=%lld", kind_dir[e->kind], e->sha256, (long long)e->bytes);
    if (rename(e->dir, dst) == 0)
        remove_tree_async(c, dst);
    else
        remove_tree_async(c, e->dir);
    free(dst);
    c->used -= e->bytes;
    unlink_entry(c, e);
    entry_free(e);
}

/* Least recently used first, skipping what is in use, pinned or fetching. */
static void enforce_budget(struct fn_cache *c)
{
    while (c->used > c->o.max_bytes) {
        struct fn_cache_entry *victim = NULL;

        for (struct fn_cache_entry *e = c->entries; e != NULL; e = e->next)
            if (e->state == E_READY && e->refs == 0 && e->pins == 0 &&
                (victim == NULL || e->last_used < victim->last_used))
                victim = e;
        if (victim == NULL)
            return; /* everything left is in use: over budget until released */
        evict(c, victim);
    }
}

/* ------------------------------------------------------------ fetching */

static void notify(struct fn_cache_entry *e, int rc, const struct error *err)
{
    while (e->waiters != NULL) {
        struct fn_cache_wait *w = e->waiters;

        e->waiters = w->next;
        if (rc == 0)
            e->refs++;
        w->fn(w->arg, rc == 0 ? e : NULL, rc, err);
        free(w);
    }
}

static void fetch_failed(struct fn_cache *c, struct fn_cache_entry *e, int rc,
                         const struct error *err)
{
    log_warn("cache: fetching %s %s failed: %s", kind_dir[e->kind], e->sha256, err->msg);
    if (e->blob_path != NULL)
        unlink(e->blob_path);
    if (e->tmp_dir != NULL)
        remove_tree_async(c, e->tmp_dir);
    unlink_entry(c, e);
    notify(e, rc, err);
    entry_free(e);
}

/* A runtime's embedded config (runtime.json beside rootfs/), or NULL. Any
 * thread. */
static cJSON *read_config(const char *dir)
{
    char *path = xasprintf("%s/runtime.json", dir), *text = NULL;
    cJSON *conf = NULL;
    size_t len;

    if (fn_fs_read_file(path, 65536, &text, &len, NULL) == 0 &&
        (json_parse(text, len, &conf, NULL) < 0 || !cJSON_IsObject(conf))) {
        log_warn("cache: %s is not a JSON object; ignored", path);
        cJSON_Delete(conf);
        conf = NULL;
    }
    free(text);
    free(path);
    return conf;
}

struct place_job {
    struct fn_cache_entry *e;
    int64_t entries, bytes;
    cJSON *config;
    int rc;
    struct error err;
};

/* On a worker: the checked tree goes into place. */
static void place_work(void *arg, void *ctx)
{
    struct place_job *j = arg;
    struct fn_cache_entry *e = j->e;

    (void)ctx;
    j->bytes = fn_fs_tree_bytes(e->tmp_dir);
    if (rename(e->tmp_dir, e->dir) < 0)
        j->rc = error_set(&j->err, -errno, "rename %s: %s", e->dir, strerror(errno));
    else if (e->kind == FN_BLOB_RUNTIME)
        j->config = read_config(e->dir);
    unlink(e->blob_path);
}

static void place_done(void *arg)
{
    struct place_job *j = arg;
    struct fn_cache_entry *e = j->e;
    struct fn_cache *c = e->c;

    c->busy--;
    if (j->rc < 0) {
        fetch_failed(c, e, j->rc, &j->err);
        free(j);
        return;
    }
    e->state = E_READY;
    e->config = j->config;
    e->bytes = j->bytes > 0 ? j->bytes : 0;
    e->last_used = time_mono_us();
    c->used += e->bytes;
    free(e->tmp_dir);
    e->tmp_dir = NULL;
    log_info("cache: %s %s ready entries=%lld bytes=%lld", kind_dir[e->kind], e->sha256,
             (long long)j->entries, (long long)e->bytes);
    free(j);
    notify(e, 0, NULL);
    enforce_budget(c);
}

/* The helper's verdict; its format must be the declared one (3.1, 3.2). */
static int check_unpacked(struct fn_cache_entry *e, const cJSON *res, int64_t *entries,
                          struct error *err)
{
    const char *format;

    if (json_get_str(res, "format", JSON_REQUIRED, FN_FORMAT_MAX - 1, &format, err) < 0 ||
        json_get_int(res, "entries", JSON_REQUIRED, 0, INT64_MAX, entries, err) < 0)
        return error_prefix(err, "lrc-unpack");
    if (strcmp(format, e->format) != 0)
        return error_set(err, -EINVAL, "%s is %s, not the declared %s.", kind_what[e->kind], format,
                         e->format);
    return 0;
}

static void on_unpacked(void *arg, int rc, const cJSON *res, const struct error *err)
{
    struct fn_cache_entry *e = arg;
    struct fn_cache *c = e->c;
    struct place_job *j;
    struct error e2;
    int64_t entries = 0;

    e->unpack = NULL;
    c->busy--;
    if (rc == 0)
        rc = check_unpacked(e, res, &entries, &e2);
    else
        error_copy(&e2, err);
    if (rc < 0) {
        fetch_failed(c, e, rc, &e2);
        return;
    }
    j = xcalloc(1, sizeof(*j));
    j->e = e;
    j->entries = entries;
    c->busy++;
    if (wq_submit(c->wq, place_work, place_done, j) < 0) {
        place_work(j, NULL);
        place_done(j);
    }
}

static int start_unpack(struct fn_cache *c, struct fn_cache_entry *e, struct error *err)
{
    int pkg = e->kind == FN_BLOB_PACKAGE;
    struct lrc_helper_spec s = {0};
    char bytes[32], entries[32];
    const char *argv[] = {"lrc-unpack",
                          pkg ? "--kind=package" : "--kind=runtime",
                          "--archive",
                          e->blob_path,
                          "--dest",
                          e->tmp_dir,
                          "--max-bytes",
                          bytes,
                          "--max-entries",
                          entries,
                          NULL};
    int rc;

    snprintf(bytes, sizeof(bytes), "%lld",
             (long long)(pkg ? c->o.package_max_bytes : c->o.runtime_max_bytes));
    snprintf(entries, sizeof(entries), "%lld",
             (long long)(pkg ? c->o.package_max_entries : c->o.runtime_max_entries));
    s.path = c->unpack_path;
    s.argv = (char *const *)argv;
    rc = lrc_helper_start(c->ev, c->o.reaper, &s, on_unpacked, e, &e->unpack, err);
    if (rc < 0)
        return error_prefix(err, "%s cannot be unpacked", kind_what[e->kind]);
    c->busy++;
    return 0;
}

static void on_downloaded(void *arg, int rc, const struct error *err)
{
    struct fn_cache_entry *e = arg;
    struct fn_cache *c = e->c;
    struct error e2;

    e->dl = NULL;
    if (rc < 0) {
        fetch_failed(c, e, rc, err);
        return;
    }
    rc = start_unpack(c, e, &e2);
    if (rc < 0)
        fetch_failed(c, e, rc, &e2);
}

static int start_fetch(struct fn_cache *c, struct fn_cache_entry *e, const struct fn_blob *b,
                       struct error *err)
{
    struct fn_dl_req req = {0};
    unsigned char rnd[8];
    char hex[17];

    rand_bytes(rnd, sizeof(rnd));
    hex_encode(rnd, sizeof(rnd), hex);
    e->blob_path = xasprintf("%s/%s-%s.blob", c->tmp, b->sha256, hex);
    e->tmp_dir = xasprintf("%s/%s-%s.d", c->tmp, b->sha256, hex);
    snprintf(e->format, sizeof(e->format), "%s", b->format);
    req.what = kind_what[b->kind];
    req.url = b->url;
    req.token = b->token;
    req.path = e->blob_path;
    req.size = b->size;
    req.sha256 = b->sha256;
    req.md5 = b->md5[0] ? b->md5 : NULL;
    return fn_dl_start(c->dl, &req, on_downloaded, e, &e->dl, err);
}

int fn_cache_acquire(struct fn_cache *c, const struct fn_blob *b, fn_cache_fn fn, void *arg,
                     struct fn_cache_entry **out, struct fn_cache_wait **wait, struct error *err)
{
    struct fn_cache_entry *e = lookup(c, b->kind, b->sha256);
    struct fn_cache_wait *w;
    int rc;

    *out = NULL;
    *wait = NULL;
    if (e != NULL && e->state == E_READY) {
        e->refs++;
        e->last_used = time_mono_us();
        *out = e;
        return 0;
    }
    if (e == NULL) {
        e = entry_new(c, b->kind, b->sha256);
        rc = start_fetch(c, e, b, err);
        if (rc < 0) {
            unlink_entry(c, e);
            entry_free(e);
            return rc;
        }
    }
    w = xcalloc(1, sizeof(*w));
    w->e = e;
    w->fn = fn;
    w->arg = arg;
    w->next = e->waiters;
    e->waiters = w;
    *wait = w;
    return 1;
}

void fn_cache_cancel(struct fn_cache_wait *w)
{
    struct fn_cache_wait **pp;

    if (w == NULL)
        return;
    for (pp = &w->e->waiters; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            free(w);
            return;
        }
    }
}

void fn_cache_ref(struct fn_cache_entry *e)
{
    e->refs++;
    e->last_used = time_mono_us();
}

void fn_cache_unref(struct fn_cache_entry *e)
{
    struct fn_cache *c = e->c;

    if (--e->refs > 0)
        return;
    e->last_used = time_mono_us();
    if (e->purge)
        evict(c, e);
    else
        enforce_budget(c);
}

void fn_cache_pin(struct fn_cache_entry *e, int delta)
{
    e->pins += delta;
    if (e->pins < 0)
        e->pins = 0;
    if (e->pins == 0 && e->refs == 0)
        enforce_budget(e->c);
}

struct fn_cache_entry *fn_cache_find(struct fn_cache *c, enum fn_blob_kind kind, const char *sha256)
{
    struct fn_cache_entry *e = lookup(c, kind, sha256);

    return e != NULL && e->state == E_READY ? e : NULL;
}

void fn_cache_purge(struct fn_cache *c, const char *sha256)
{
    for (int k = 0; k < 2; k++) {
        struct fn_cache_entry *e = lookup(c, (enum fn_blob_kind)k, sha256);

        if (e == NULL || e->state != E_READY)
            continue;
        e->pins = 0;
        if (e->refs == 0)
            evict(c, e);
        else
            e->purge = 1;
    }
}

const char *fn_cache_entry_root(const struct fn_cache_entry *e)
{
    return e->root;
}

const char *fn_cache_entry_sha256(const struct fn_cache_entry *e)
{
    return e->sha256;
}

const cJSON *fn_cache_entry_config(const struct fn_cache_entry *e)
{
    return e->config;
}

int64_t fn_cache_used(const struct fn_cache *c)
{
    return c->used;
}

cJSON *fn_cache_caps(const struct fn_cache *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *rt = cJSON_AddArrayToObject(o, "runtimes");
    cJSON *pk = cJSON_AddArrayToObject(o, "packages");
    int64_t left = c->o.max_bytes - c->used, disk;
    struct statvfs vfs;

    for (const struct fn_cache_entry *e = c->entries; e != NULL; e = e->next)
        if (e->state == E_READY)
            cJSON_AddItemToArray(e->kind == FN_BLOB_RUNTIME ? rt : pk,
                                 cJSON_CreateString(e->sha256));
    if (statvfs(c->dir, &vfs) == 0) {
        disk = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
        if (disk < left)
            left = disk;
    }
    json_add_int(o, "free_bytes", left > 0 ? left : 0);
    return o;
}

/* ------------------------------------------------------------- loading */

struct found {
    enum fn_blob_kind kind;
    char sha256[FN_SHA256_HEX];
    int64_t bytes;
    cJSON *config;
};

struct load_job {
    struct fn_cache *c;
    struct found *found;
    size_t n, cap;
    void (*done)(void *);
    void *arg;
};

static int is_sha256(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

static void scan_kind(struct load_job *j, enum fn_blob_kind kind)
{
    char *base = xasprintf("%s/%s", j->c->dir, kind_dir[kind]);
    DIR *d = opendir(base);
    struct dirent *de;

    while (d != NULL && (de = readdir(d)) != NULL) {
        char *dir;

        if (!is_sha256(de->d_name))
            continue;
        if (j->n == j->cap) {
            j->cap = j->cap ? 2 * j->cap : 16;
            j->found = xrealloc(j->found, j->cap * sizeof(*j->found));
        }
        struct found *f = &j->found[j->n++];

        memset(f, 0, sizeof(*f));
        f->kind = kind;
        memcpy(f->sha256, de->d_name, FN_SHA256_HEX); /* 64 hex and the NUL, checked */
        dir = xasprintf("%s/%s", base, de->d_name);
        f->bytes = fn_fs_tree_bytes(dir);
        if (kind == FN_BLOB_RUNTIME)
            f->config = read_config(dir);
        free(dir);
    }
    if (d != NULL)
        closedir(d);
    free(base);
}

static void empty_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    while (d != NULL && (de = readdir(d)) != NULL) {
        char *p;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        p = xasprintf("%s/%s", dir, de->d_name);
        if (fn_fs_rmtree(p, NULL) < 0)
            log_warn("cache: cannot remove %s", p);
        free(p);
    }
    if (d != NULL)
        closedir(d);
}

static void load_work(void *arg, void *ctx)
{
    struct load_job *j = arg;

    (void)ctx;
    empty_dir(j->c->trash);
    scan_kind(j, FN_BLOB_PACKAGE);
    scan_kind(j, FN_BLOB_RUNTIME);
}

static void load_done(void *arg)
{
    struct load_job *j = arg;
    struct fn_cache *c = j->c;

    c->busy--;
    for (size_t i = 0; i < j->n; i++) {
        struct found *f = &j->found[i];
        struct fn_cache_entry *e;

        if (f->bytes < 0 || lookup(c, f->kind, f->sha256) != NULL) {
            cJSON_Delete(f->config);
            continue;
        }
        e = entry_new(c, f->kind, f->sha256);
        e->state = E_READY;
        e->bytes = f->bytes;
        e->config = f->config;
        c->used += e->bytes;
    }
    log_info("cache: %zu blobs on disk, %lld bytes", j->n, (long long)c->used);
    free(j->found);
    if (j->done != NULL)
        j->done(j->arg);
    free(j);
    enforce_budget(c);
}

void fn_cache_load(struct fn_cache *c, void (*done)(void *arg), void *arg)
{
    struct load_job *j = xcalloc(1, sizeof(*j));

    unsigned char rnd[8];
    char hex[17], *old;

    /* tmp/ holds only what this process creates: move what a previous run
     * left there into trash/ before any download starts (one rename), and
     * let the worker empty the trash. */
    rand_bytes(rnd, sizeof(rnd));
    hex_encode(rnd, sizeof(rnd), hex);
    old = xasprintf("%s/tmp-%s", c->trash, hex);
    if (rename(c->tmp, old) == 0 && fn_fs_mkdirs(c->tmp, 0700, NULL) < 0)
        log_warn("cache: cannot recreate %s", c->tmp);
    free(old);
    j->c = c;
    j->done = done;
    j->arg = arg;
    c->busy++;
    if (wq_submit(c->wq, load_work, load_done, j) < 0) {
        load_work(j, NULL);
        load_done(j);
    }
}
