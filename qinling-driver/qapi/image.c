/* qapi/image.c: see image.h.
 *
 * Entries are kept in a hash table (path -> type, mode, link target) only
 * long enough to resolve the entrypoint after the whole archive has been
 * read: the runtime.json that names it may come after the files. */
#include "qapi/image.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/json.h"
#include "common/xalloc.h"
#include "qapi/package.h"

#define MAX_ENTRIES 2000000
#define LINK_HOPS 40

struct node {
    char *path; /* relative to the archive root, without "./" */
    mode_t type, mode;
    char *link; /* symbolic link target, or NULL */
};

struct table {
    struct node *v;
    size_t cap, n;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

static struct node *slot(struct table *t, const char *path)
{
    size_t i = (size_t)hash(path) & (t->cap - 1);

    while (t->v[i].path != NULL && strcmp(t->v[i].path, path) != 0)
        i = (i + 1) & (t->cap - 1);
    return &t->v[i];
}

static void grow(struct table *t)
{
    struct table nt = {xcalloc(t->cap ? t->cap * 2 : 1024, sizeof(struct node)),
                       t->cap ? t->cap * 2 : 1024, t->n};

    for (size_t i = 0; i < t->cap; i++)
        if (t->v[i].path != NULL)
            *slot(&nt, t->v[i].path) = t->v[i];
    free(t->v);
    *t = nt;
}

static void put(struct table *t, const char *path, mode_t type, mode_t mode, const char *link)
{
    struct node *s;

    if ((t->n + 1) * 2 > t->cap)
        grow(t);
    s = slot(t, path);
    if (s->path == NULL) {
        s->path = xstrdup(path);
        t->n++;
    } else {
        free(s->link); /* a later entry of the same name replaces it, as tar does */
    }
    s->type = type;
    s->mode = mode;
    s->link = link != NULL ? xstrdup(link) : NULL;
}

static const struct node *get(struct table *t, const char *path)
{
    const struct node *s = t->cap ? slot(t, path) : NULL;

    return s != NULL && s->path != NULL ? s : NULL;
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->cap; i++) {
        free(t->v[i].path);
        free(t->v[i].link);
    }
    free(t->v);
}

/* "./a/b/" -> "a/b" */
static char *norm(const char *p)
{
    char *s;
    size_t n;

    while (p[0] == '.' && p[1] == '/')
        p += 2;
    s = xstrdup(p);
    n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        s[--n] = '\0';
    return s;
}

struct scan {
    struct table t;
    int64_t bytes, max;
    char *runtime_json;
    size_t rj_len;
    char buf[65536];
};

static int read_data(struct archive *a, struct scan *s, const char *path, struct error *err)
{
    int keep = strcmp(path, "runtime.json") == 0;

    for (;;) {
        la_ssize_t n = archive_read_data(a, s->buf, sizeof(s->buf));

        if (n == 0)
            return 0;
        if (n < 0)
            return error_set(err, -EINVAL, "the archive is corrupt (%s)", archive_error_string(a));
        s->bytes += n;
        if (s->bytes > s->max)
            return error_set(err, -EFBIG, "it exceeds %lld bytes unpacked", (long long)s->max);
        if (keep) {
            if (s->rj_len + (size_t)n > QA_RUNTIME_JSON_MAX)
                return error_set(err, -EINVAL, "runtime.json is larger than %d bytes",
                                 QA_RUNTIME_JSON_MAX);
            s->runtime_json = xrealloc(s->runtime_json, s->rj_len + (size_t)n + 1);
            memcpy(s->runtime_json + s->rj_len, s->buf, (size_t)n);
            s->rj_len += (size_t)n;
            s->runtime_json[s->rj_len] = '\0';
        }
    }
}

static int one_entry(struct archive *a, struct archive_entry *e, struct scan *s, struct error *err)
{
    const char *raw = archive_entry_pathname(e), *why, *hl = archive_entry_hardlink(e);
    mode_t type = archive_entry_filetype(e);
    char *path;
    int rc = 0;

    if (raw == NULL)
        return error_set(err, -EINVAL, "an entry has no name");
    if ((why = qa_entry_path_problem(raw)) != NULL)
        return error_set(err, -EINVAL, "entry %.200s: %s", raw, why);
    if (hl != NULL && ((why = qa_entry_path_problem(hl)) != NULL))
        return error_set(err, -EINVAL, "entry %.200s: hard link target: %s", raw, why);
    if (type == AE_IFLNK && (why = qa_link_problem(raw, archive_entry_symlink(e), 1)) != NULL)
        return error_set(err, -EINVAL, "entry %.200s: %s", raw,
                         strstr(why, "outside") ? "links leading outside the root are not allowed"
                                                : why);
    if (s->t.n >= MAX_ENTRIES)
        return error_set(err, -EINVAL, "more than %d entries", MAX_ENTRIES);
    path = norm(raw);
    /* Device nodes, FIFOs and sockets are skipped: the container has its own /dev. */
    if (type == AE_IFREG || type == AE_IFDIR || type == AE_IFLNK)
        put(&s->t, path, hl != NULL ? AE_IFREG : type, archive_entry_perm(e),
            type == AE_IFLNK ? archive_entry_symlink(e) : NULL);
    if (type == AE_IFREG && hl == NULL)
        rc = read_data(a, s, path, err);
    free(path);
    return rc;
}

static int scan_file(const char *path, struct scan *s, char format[8], struct error *err)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    int r, rc = 0;

    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
        rc = error_set(err, -EINVAL, "not a tar or tar.gz archive");
        goto out;
    }
    while (rc == 0 && ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN))
        rc = one_entry(a, e, s, err);
    if (rc == 0 && r != ARCHIVE_EOF)
        rc = error_set(err, -EINVAL, "not a tar or tar.gz archive (%s)", archive_error_string(a));
    if (rc == 0)
        snprintf(format, 8, "%s",
                 archive_filter_code(a, 0) == ARCHIVE_FILTER_GZIP ? "tar.gz" : "tar");
out:
    archive_read_free(a);
    return rc;
}

/* Normalises an absolute path in place: "." and empty components dropped,
 * ".." removes the previous one (at the root it stays there, as inside the
 * container). */
static void clean_path(char *p)
{
    char out[4096];
    size_t n = 0;
    const char *c = p;

    out[0] = '\0';
    while (*c != '\0') {
        size_t len;

        while (*c == '/')
            c++;
        len = strcspn(c, "/");
        if (len == 0)
            break;
        if (len == 2 && c[0] == '.' && c[1] == '.') {
            while (n > 0 && out[n - 1] != '/')
                n--;
            if (n > 0)
                n--;
        } else if (!(len == 1 && c[0] == '.') && n + len + 2 < sizeof(out)) {
            out[n++] = '/';
            memcpy(out + n, c, len);
            n += len;
        }
        out[n] = '\0';
        c += len;
    }
    snprintf(p, 4096, "%s", n ? out : "/");
}

/* Resolves path (absolute, inside the rootfs) through symbolic links in
 * every component, as the kernel would inside the container; the node it
 * ends at, or NULL. */
static const struct node *resolve(struct table *t, const char *prefix, const char *path)
{
    char cur[4096], next[8400], key[4200];
    const struct node *n = NULL;
    int hops = 0;

    snprintf(cur, sizeof(cur), "%s", path);
    clean_path(cur);
    for (size_t done = 1; hops < LINK_HOPS;) {
        /* cur[0..done) is resolved; take the next component. */
        size_t end = done, len;

        while (cur[end] == '/')
            end++;
        len = strcspn(cur + end, "/");
        if (len == 0)
            return n;
        end += len;
        snprintf(key, sizeof(key), "%s%.*s", prefix, (int)(end - 1), cur + 1);
        n = get(t, key);
        if (n == NULL)
            return NULL;
        if (n->type != AE_IFLNK) {
            done = end;
            continue;
        }
        hops++;
        if (n->link[0] == '/')
            snprintf(next, sizeof(next), "%s%s", n->link, cur + end);
        else
            snprintf(next, sizeof(next), "%.*s/%s%s", (int)(end - len), cur, n->link, cur + end);
        if (strlen(next) >= sizeof(cur))
            return NULL;
        memcpy(cur, next, strlen(next) + 1);
        clean_path(cur);
        done = 1;
        n = NULL;
    }
    return NULL;
}

static int executable(struct table *t, const char *prefix, const char *path)
{
    const struct node *n = resolve(t, prefix, path);

    return n != NULL && n->type == AE_IFREG && (n->mode & 0111) != 0;
}

/* The first PATH entry of env holding name, as an absolute path. */
static int find_in_path(struct table *t, const char *prefix, const cJSON *env, const char *name)
{
    const char *path = "/usr/local/bin:/usr/bin:/bin";
    const cJSON *it;

    cJSON_ArrayForEach(it, env)
    {
        if (cJSON_IsString(it) && strncmp(it->valuestring, "PATH=", 5) == 0)
            path = it->valuestring + 5;
    }
    while (*path != '\0') {
        size_t n = strcspn(path, ":");
        char full[4096];

        snprintf(full, sizeof(full), "%.*s/%s", (int)n, path, name);
        if (n > 0 && executable(t, prefix, full))
            return 1;
        path += n + (path[n] == ':');
    }
    return 0;
}

static int check_entrypoint(struct scan *s, int bundle, const cJSON *eff, struct error *err)
{
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(eff, "entrypoint");
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(eff, "env");
    const char *prefix = bundle ? "rootfs/" : "", *first;
    int ok;

    if (ep == NULL || cJSON_IsNull(ep))
        return 0;
    first = cJSON_IsArray(ep) && cJSON_IsString(cJSON_GetArrayItem(ep, 0))
                ? cJSON_GetArrayItem(ep, 0)->valuestring
                : NULL;
    if (first == NULL)
        return error_set(err, -EINVAL, "entrypoint must be a non-empty array of strings");
    ok = first[0] == '/' ? executable(&s->t, prefix, first)
                         : find_in_path(&s->t, prefix, env, first);
    if (!ok)
        return error_set(err, -EINVAL, "entrypoint %.200s is not an executable file in the rootfs",
                         first);
    return 0;
}

static int file_md5(const char *path, char out[33], struct error *err)
{
    struct crypto_digest *d;
    char buf[65536];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return error_set(err, -errno, "open %s: %s", path, strerror(errno));
    d = crypto_digest_new(1);
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        crypto_digest_update(d, buf, (size_t)n);
    crypto_digest_final(d, out);
    close(fd);
    return n < 0 ? error_set(err, -EIO, "read %s failed", path) : 0;
}

static int finish(struct scan *s, const cJSON *config, struct qa_img *out, struct error *err)
{
    const struct node *rootfs = get(&s->t, "rootfs");
    cJSON *eff;
    int rc;

    out->bundle = rootfs != NULL && rootfs->type == AE_IFDIR;
    if (out->bundle && s->runtime_json != NULL) {
        if (json_parse(s->runtime_json, s->rj_len, &out->runtime_json, NULL) < 0 ||
            !cJSON_IsObject(out->runtime_json))
            return error_set(err, -EINVAL, "runtime.json is not a JSON object");
        rc = qa_runtime_config_check(out->runtime_json, err);
        if (rc < 0)
            return error_prefix(err, "runtime.json");
    }
    eff = qa_image_effective(out->runtime_json, config);
    rc = check_entrypoint(s, out->bundle, eff, err);
    cJSON_Delete(eff);
    return rc;
}

int qa_image_check(const char *path, const cJSON *config, int64_t max_unpacked, struct qa_img *out,
                   struct error *err)
{
    struct scan *s = xcalloc(1, sizeof(*s));
    int rc;

    memset(out, 0, sizeof(*out));
    s->max = max_unpacked;
    rc = scan_file(path, s, out->format, err);
    if (rc == 0)
        rc = finish(s, config, out, err);
    if (rc == 0)
        rc = file_md5(path, out->md5, err);
    if (rc == -EFBIG)
        rc = -EINVAL;
    table_free(&s->t);
    free(s->runtime_json);
    free(s);
    if (rc < 0)
        qa_img_clear(out);
    return rc;
}

void qa_img_clear(struct qa_img *img)
{
    cJSON_Delete(img->runtime_json);
    img->runtime_json = NULL;
}

cJSON *qa_image_effective(const cJSON *runtime_json, const cJSON *config)
{
    cJSON *eff = json_dup_or_object(runtime_json);
    const cJSON *it;

    cJSON_ArrayForEach(it, config)
    {
        cJSON_DeleteItemFromObjectCaseSensitive(eff, it->string);
        cJSON_AddItemToObject(eff, it->string, cJSON_Duplicate(it, 1));
    }
    return eff;
}

static int str_array(const cJSON *v, const char *key, struct error *err)
{
    const cJSON *it;

    if (!cJSON_IsArray(v))
        return error_set(err, -EINVAL, "%s must be an array of strings", key);
    cJSON_ArrayForEach(it, v)
    {
        if (!cJSON_IsString(it) || strlen(it->valuestring) > 4096)
            return error_set(err, -EINVAL, "%s must be an array of strings", key);
        if (strcmp(key, "env") == 0 && strchr(it->valuestring, '=') == NULL)
            return error_set(err, -EINVAL, "env entries are NAME=value");
    }
    if (cJSON_GetArraySize(v) > 128)
        return error_set(err, -EINVAL, "%s has more than 128 items", key);
    return 0;
}

int qa_runtime_config_check(const cJSON *config, struct error *err)
{
    const cJSON *it;

    if (!cJSON_IsObject(config))
        return error_set(err, -EINVAL, "config must be an object");
    cJSON_ArrayForEach(it, config)
    {
        const char *k = it->string;

        if (strcmp(k, "entrypoint") == 0 || strcmp(k, "env") == 0) {
            if (str_array(it, k, err) < 0)
                return -EINVAL;
            if (strcmp(k, "entrypoint") == 0 && cJSON_GetArraySize(it) == 0)
                return error_set(err, -EINVAL, "entrypoint must not be empty");
        } else if (strcmp(k, "cwd") == 0) {
            if (!cJSON_IsString(it) || it->valuestring[0] != '/')
                return error_set(err, -EINVAL, "cwd must be an absolute path");
        } else if (strcmp(k, "architecture") == 0) {
            if (!cJSON_IsString(it) || strlen(it->valuestring) > 16)
                return error_set(err, -EINVAL, "architecture must be a string of 16 characters");
        } else {
            return error_set(err, -EINVAL, "unknown key %s", k);
        }
    }
    return 0;
}
