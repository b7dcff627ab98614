/* src/fn_archive.c: see fn_archive.h.
 *
 * Link targets: a relative target may hold ".." only as leading components,
 * and those may not climb above the root from the link's own directory. The
 * kernel resolves a relative link from the real directory that holds it, and
 * every directory we create is real (the O_NOFOLLOW walk refuses to go
 * through links), so a chain of such links can never leave the tree, which a
 * purely lexical check of "a/../.." could not promise. */
#include "src/fn_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "common/xalloc.h"
#include "src/fn_fs.h"

#define NAME_MAX_LEN 255
#define RUNTIME_JSON_MAX 65536
#define READ_BLOCK 65536

struct ux {
    enum fn_archive_kind kind;
    const struct fn_archive_limits *lim;
    const char *what; /* "Package" or "Runtime image" */
    int rootfd;
    char cached[PATH_MAX]; /* parent path of the last entry ("" = root) */
    int cached_fd;
    struct fn_unpacked *out;
};

static const char *const mount_points[] = {
    "proc", "sys", "dev", "tmp", "code", "run/function", "run/iotronic",
};

static int detect_fd(int fd, enum fn_archive_kind kind, char format[FN_ARCHIVE_FORMAT_MAX],
                     struct error *err)
{
    unsigned char b[512];
    ssize_t n = pread(fd, b, sizeof(b), 0);

    if (n < 0)
        return error_set(err, -errno, "read the archive: %s", strerror(errno));
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
        snprintf(format, FN_ARCHIVE_FORMAT_MAX, "tar.gz");
        return 0;
    }
    if (kind == FN_ARCHIVE_PACKAGE) {
        if (n >= 4 && b[0] == 'P' && b[1] == 'K' &&
            ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6))) {
            snprintf(format, FN_ARCHIVE_FORMAT_MAX, "zip");
            return 0;
        }
        return error_set(err, -EINVAL, "Package is not a valid ZIP or tar.gz package.");
    }
    if (n >= 262 && memcmp(b + 257, "ustar", 5) == 0) {
        snprintf(format, FN_ARCHIVE_FORMAT_MAX, "tar");
        return 0;
    }
    return error_set(err, -EINVAL, "Runtime image is not a tar or tar.gz archive.");
}

int fn_archive_detect(const char *path, enum fn_archive_kind kind,
                      char format[FN_ARCHIVE_FORMAT_MAX], struct error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

    if (fd < 0)
        return error_set(err, -errno, "open %s: %s", path, strerror(errno));
    rc = detect_fd(fd, kind, format, err);
    close(fd);
    return rc;
}

/* dest/rel, without a doubled slash when dest ends with one. */
static char *path_in(const char *dest, const char *rel)
{
    size_t n = strlen(dest);

    return xasprintf("%s%s%s", dest, n > 0 && dest[n - 1] == '/' ? "" : "/", rel);
}

static int refuse(const struct ux *u, const char *name, const char *reason, struct error *err)
{
    return error_set(err, -EINVAL, "%s entry %s is not allowed: %s.", u->what, name, reason);
}

/* Cleans name into out ("a/b", "" for the root). Returns 0 or sets *reason. */
static int normalize(const char *name, char *out, size_t cap, const char **reason)
{
    const char *p = name;
    size_t n = 0;

    if (name[0] == '/') {
        *reason = "absolute path";
        return -1;
    }
    while (*p) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);

        if (len == 2 && p[0] == '.' && p[1] == '.') {
            *reason = "'..' component";
            return -1;
        }
        if (len > NAME_MAX_LEN || n + len + 2 > cap) {
            *reason = "name too long";
            return -1;
        }
        if (len > 0 && !(len == 1 && p[0] == '.')) {
            if (n > 0)
                out[n++] = '/';
            memcpy(out + n, p, len);
            n += len;
        }
        p += len;
        if (*p == '/')
            p++;
    }
    out[n] = '\0';
    return 0;
}

/* 1 when a relative link target stays inside from the link's directory
 * (depth = number of components of that directory). */
static int target_inside(const char *target, int depth)
{
    int seen_name = 0;

    for (const char *p = target; *p;) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);

        if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (seen_name || --depth < 0)
                return 0;
        } else if (len > 0 && !(len == 1 && p[0] == '.')) {
            seen_name = 1;
        }
        p += len;
        if (*p == '/')
            p++;
    }
    return 1;
}

static int depth_of_parent(const char *clean)
{
    int d = 0;

    for (const char *p = clean; *p; p++)
        if (*p == '/')
            d++;
    return d;
}

/* Opens (creating when create is set) the directory parent, a clean relative
 * path, from the root without following any link. Caches the last one. */
static int open_parent(struct ux *u, const char *parent, int create)
{
    char comp[NAME_MAX_LEN + 1];
    int fd;

    if (u->cached_fd >= 0 && strcmp(u->cached, parent) == 0)
        return u->cached_fd;
    if (u->cached_fd >= 0 && u->cached_fd != u->rootfd)
        close(u->cached_fd);
    u->cached_fd = -1;
    fd = u->rootfd;
    for (const char *p = parent; *p;) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        int next;

        memcpy(comp, p, len);
        comp[len] = '\0';
        if (create && mkdirat(fd, comp, 0755) < 0 && errno != EEXIST)
            next = -1;
        else
            next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd != u->rootfd)
            close(fd);
        if (next < 0)
            return -1;
        fd = next;
        p += len;
        if (*p == '/')
            p++;
    }
    snprintf(u->cached, sizeof(u->cached), "%s", parent);
    u->cached_fd = fd;
    return fd;
}

static void split(const char *clean, char *parent, const char **base)
{
    const char *slash = strrchr(clean, '/');

    if (slash == NULL) {
        parent[0] = '\0';
        *base = clean;
        return;
    }
    memcpy(parent, clean, (size_t)(slash - clean));
    parent[slash - clean] = '\0';
    *base = slash + 1;
}

static int copy_data(struct ux *u, struct archive *a, int fd, const char *name, struct error *err)
{
    const void *buf;
    size_t size;
    la_int64_t offset;
    int r;

    while ((r = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK) {
        u->out->bytes += (int64_t)size;
        if (u->out->bytes > u->lim->max_bytes)
            return error_set(err, -EFBIG, "%s unpacks to more than %lld bytes.", u->what,
                             (long long)u->lim->max_bytes);
        for (size_t done = 0; done < size;) {
            ssize_t n = pwrite(fd, (const char *)buf + done, size - done, offset + (off_t)done);

            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return error_set(err, -errno, "write %s: %s", name, strerror(errno));
            done += (size_t)n;
        }
    }
    if (r != ARCHIVE_EOF)
        return error_set(err, -EINVAL, "%s is corrupt at %s: %s", u->what, name,
                         archive_error_string(a));
    return 0;
}

static int write_file(struct ux *u, struct archive *a, int dirfd, const char *base, mode_t perm,
                      const char *name, struct error *err)
{
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, fd, rc;

    fd = openat(dirfd, base, flags, 0600);
    if (fd < 0 && errno == EEXIST && unlinkat(dirfd, base, 0) == 0)
        fd = openat(dirfd, base, flags, 0600);
    if (fd < 0)
        return error_set(err, errno == EISDIR || errno == EEXIST ? -EINVAL : -errno,
                         "%s entry %s cannot be written: %s", u->what, name, strerror(errno));
    rc = copy_data(u, a, fd, name, err);
    if (rc == 0 && fchmod(fd, perm & 0755) < 0)
        rc = error_set(err, -errno, "chmod %s: %s", name, strerror(errno));
    close(fd);
    return rc;
}

static int make_link(struct ux *u, struct archive_entry *e, int dirfd, const char *base,
                     const char *clean, const char *name, struct error *err)
{
    const char *target = archive_entry_symlink(e);
    int rc;

    if (target == NULL || target[0] == '\0')
        return refuse(u, name, "empty link target", err);
    if (target[0] == '/' && u->kind == FN_ARCHIVE_PACKAGE)
        return refuse(u, name, "link leads outside the package", err);
    if (target[0] != '/' && !target_inside(target, depth_of_parent(clean)))
        return refuse(u, name,
                      u->kind == FN_ARCHIVE_PACKAGE ? "link leads outside the package"
                                                    : "link leads outside the root",
                      err);
    rc = symlinkat(target, dirfd, base);
    if (rc < 0 && errno == EEXIST && unlinkat(dirfd, base, 0) == 0)
        rc = symlinkat(target, dirfd, base);
    if (rc < 0)
        return error_set(err, -errno, "%s entry %s: %s", u->what, name, strerror(errno));
    return 0;
}

static int make_hardlink(struct ux *u, const char *target, int dirfd, const char *base,
                         const char *name, struct error *err)
{
    char clean[PATH_MAX], parent[PATH_MAX];
    const char *reason = NULL, *tbase;
    int tfd, rc;

    if (u->kind == FN_ARCHIVE_PACKAGE)
        return refuse(u, name, "hard link", err);
    if (normalize(target, clean, sizeof(clean), &reason) < 0 || clean[0] == '\0')
        return refuse(u, name, reason ? reason : "link leads outside the root", err);
    split(clean, parent, &tbase);
    /* The target's directory is opened afresh: the cache holds dirfd. */
    tfd = u->rootfd;
    if (parent[0] != '\0') {
        tfd = openat(u->rootfd, parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (tfd < 0)
            return refuse(u, name, "hard link to a missing file", err);
    }
    rc = linkat(tfd, tbase, dirfd, base, 0);
    if (rc < 0 && errno == EEXIST && unlinkat(dirfd, base, 0) == 0)
        rc = linkat(tfd, tbase, dirfd, base, 0);
    if (rc < 0)
        rc = refuse(u, name, "hard link to a missing file", err);
    if (tfd != u->rootfd)
        close(tfd);
    return rc;
}

static int make_dir(struct ux *u, int dirfd, const char *base, const char *name, struct error *err)
{
    struct stat st;

    if (mkdirat(dirfd, base, 0755) == 0)
        return 0;
    if (errno == EEXIST && fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(st.st_mode))
        return 0;
    return error_set(err, -EINVAL, "%s entry %s cannot be created: %s", u->what, name,
                     strerror(errno));
}

/* Refusals by type and mode, before anything is written. Returns 1 to skip
 * the entry (runtime device nodes and FIFOs), 0 to go on, <0 refused. */
static int check_type(struct ux *u, struct archive_entry *e, const char *name, struct error *err)
{
    mode_t type = archive_entry_filetype(e), mode = archive_entry_mode(e);
    int pkg = u->kind == FN_ARCHIVE_PACKAGE;

    if (archive_entry_hardlink(e) != NULL)
        return 0;
    if (type == AE_IFCHR || type == AE_IFBLK)
        return pkg ? refuse(u, name, "device node", err) : 1;
    if (type == AE_IFIFO)
        return pkg ? refuse(u, name, "FIFO", err) : 1;
    if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
        return pkg ? refuse(u, name, "unsupported entry type", err) : 1;
    if (pkg && type != AE_IFLNK && (mode & (S_ISUID | S_ISGID)))
        return refuse(u, name, "set-uid or set-gid bit", err);
    return 0;
}

static int unpack_entry(struct ux *u, struct archive *a, struct archive_entry *e, struct error *err)
{
    const char *name = archive_entry_pathname(e), *reason = NULL, *base;
    char clean[PATH_MAX], parent[PATH_MAX];
    mode_t type = archive_entry_filetype(e);
    int rc, dirfd;

    if (name == NULL)
        return error_set(err, -EINVAL, "%s has an entry without a name.", u->what);
    if (++u->out->entries > u->lim->max_entries)
        return error_set(err, -EFBIG, "%s has more than %lld entries.", u->what,
                         (long long)u->lim->max_entries);
    if (normalize(name, clean, sizeof(clean), &reason) < 0)
        return refuse(u, name, reason, err);
    rc = check_type(u, e, name, err);
    if (rc != 0 || clean[0] == '\0')
        return rc < 0 ? rc : 0;
    split(clean, parent, &base);
    dirfd = open_parent(u, parent, 1);
    if (dirfd < 0)
        return refuse(u, name, "its directory is not a directory", err);
    if (archive_entry_hardlink(e) != NULL)
        return make_hardlink(u, archive_entry_hardlink(e), dirfd, base, name, err);
    if (type == AE_IFDIR)
        return make_dir(u, dirfd, base, name, err);
    if (type == AE_IFLNK)
        return make_link(u, e, dirfd, base, clean, name, err);
    return write_file(u, a, dirfd, base, archive_entry_perm(e) & 0777, name, err);
}

static struct archive *open_reader(int fd, const char *format, struct error *err)
{
    struct archive *a = archive_read_new();

    if (strcmp(format, "zip") == 0) {
        archive_read_support_format_zip(a);
    } else {
        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
        if (strcmp(format, "tar.gz") == 0)
            archive_read_support_filter_gzip(a);
    }
    if (archive_read_open_fd(a, fd, READ_BLOCK) != ARCHIVE_OK) {
        error_set(err, -EINVAL, "cannot read the archive: %s", archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

static int unpack_all(struct ux *u, int fd, const char *format, struct error *err)
{
    struct archive *a = open_reader(fd, format, err);
    struct archive_entry *e;
    int r, rc = 0;

    if (a == NULL)
        return -EINVAL;
    while (rc == 0 && (r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            rc = error_set(err, -EINVAL,
                           u->kind == FN_ARCHIVE_PACKAGE
                               ? "Package is not a valid ZIP or tar.gz package (%s)."
                               : "Runtime image is not a valid tar archive (%s).",
                           archive_error_string(a));
            break;
        }
        rc = unpack_entry(u, a, e, err);
    }
    archive_read_free(a);
    return rc;
}

static int read_runtime_json(int treefd, cJSON **out, struct error *err)
{
    char buf[RUNTIME_JSON_MAX + 1];
    ssize_t n;
    int fd = openat(treefd, "runtime.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    int rc;

    *out = NULL;
    if (fd < 0)
        return errno == ENOENT
                   ? 0
                   : error_set(err, -EINVAL, "runtime.json cannot be read: %s", strerror(errno));
    n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n < 0 || n > RUNTIME_JSON_MAX)
        return error_set(err, -EINVAL, "runtime.json is unreadable or too large");
    rc = json_parse(buf, (size_t)n, out, err);
    if (rc == 0 && !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        rc = error_set(err, -EINVAL, "runtime.json is not a JSON object");
    }
    return rc < 0 ? error_prefix(err, "Invalid runtime image") : 0;
}

static int keep_runtime_json(const char *dest, const cJSON *conf, struct error *err)
{
    char *path = path_in(dest, "runtime.json"), *text = json_print(conf);
    int rc = fn_fs_write_file(path, text, strlen(text), 0444, err);

    free(text);
    free(path);
    return rc;
}

/* A bundle's rootfs/ becomes dest/rootfs; otherwise the whole tree does. */
static int arrange_runtime(const char *dest, int treefd, struct fn_unpacked *out, struct error *err)
{
    char *tree = path_in(dest, "tree"), *rootfs = path_in(dest, "rootfs");
    char *inner = path_in(dest, "tree/rootfs");
    struct stat st;
    int rc = 0;

    if (fstatat(treefd, "rootfs", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
        rc = read_runtime_json(treefd, &out->runtime_json, err);
        if (rc == 0 && rename(inner, rootfs) < 0)
            rc = error_set(err, -errno, "rename %s: %s", inner, strerror(errno));
        /* Kept beside rootfs/, so that a restarted agent finds the config. */
        if (rc == 0 && out->runtime_json != NULL)
            rc = keep_runtime_json(dest, out->runtime_json, err);
        if (rc == 0)
            rc = fn_fs_rmtree(tree, err);
    } else if (rename(tree, rootfs) < 0) {
        rc = error_set(err, -errno, "rename %s: %s", tree, strerror(errno));
    }
    free(tree);
    free(rootfs);
    free(inner);
    return rc;
}

static int make_mount_points(const char *dest, struct error *err)
{
    char *rootfs = path_in(dest, "rootfs");
    struct ux u = {.what = "Runtime image", .cached_fd = -1};
    int rc = 0;

    u.rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (u.rootfd < 0)
        rc = error_set(err, -errno, "open %s: %s", rootfs, strerror(errno));
    for (size_t i = 0; rc == 0 && i < sizeof(mount_points) / sizeof(mount_points[0]); i++) {
        /* Opening "p/x" as a parent creates it as a directory, or fails when
         * something that is not a directory is in the way. */
        if (open_parent(&u, mount_points[i], 1) < 0)
            rc = error_set(err, -EINVAL, "Invalid runtime image: /%s is not a directory.",
                           mount_points[i]);
    }
    if (u.cached_fd >= 0 && u.cached_fd != u.rootfd)
        close(u.cached_fd);
    if (u.rootfd >= 0)
        close(u.rootfd);
    free(rootfs);
    return rc;
}

int fn_archive_unpack_fd(int fd, const char *dest, enum fn_archive_kind kind,
                         const struct fn_archive_limits *lim, struct fn_unpacked *out,
                         struct error *err)
{
    struct ux u = {.kind = kind, .lim = lim, .out = out, .cached_fd = -1, .rootfd = -1};
    char *root = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    u.what = kind == FN_ARCHIVE_PACKAGE ? "Package" : "Runtime image";
    rc = detect_fd(fd, kind, out->format, err);
    if (rc < 0)
        return rc;
    root = kind == FN_ARCHIVE_PACKAGE ? xstrdup(dest) : path_in(dest, "tree");
    if (kind == FN_ARCHIVE_RUNTIME && mkdir(root, 0755) < 0) {
        rc = error_set(err, -errno, "mkdir %s: %s", root, strerror(errno));
        goto out;
    }
    u.rootfd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (u.rootfd < 0) {
        rc = error_set(err, -errno, "open %s: %s", root, strerror(errno));
        goto out;
    }
    rc = unpack_all(&u, fd, out->format, err);
    if (rc == 0 && kind == FN_ARCHIVE_RUNTIME)
        rc = arrange_runtime(dest, u.rootfd, out, err);
    if (rc == 0 && kind == FN_ARCHIVE_RUNTIME)
        rc = make_mount_points(dest, err);
    if (rc == 0)
        rc = fn_fs_make_readonly(dest, err);
out:
    if (u.cached_fd >= 0 && u.cached_fd != u.rootfd)
        close(u.cached_fd);
    if (u.rootfd >= 0)
        close(u.rootfd);
    free(root);
    if (rc < 0) {
        cJSON_Delete(out->runtime_json);
        out->runtime_json = NULL;
    }
    return rc;
}

int fn_archive_unpack(const char *path, const char *dest, enum fn_archive_kind kind,
                      const struct fn_archive_limits *lim, struct fn_unpacked *out,
                      struct error *err)
{
    char format[FN_ARCHIVE_FORMAT_MAX];
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

    memset(out, 0, sizeof(*out));
    if (fd < 0)
        return error_set(err, -errno, "open %s: %s", path, strerror(errno));
    /* A refused format leaves nothing behind, not even dest. */
    rc = detect_fd(fd, kind, format, err);
    if (rc == 0 && mkdir(dest, 0755) < 0)
        rc = error_set(err, -errno, "mkdir %s: %s", dest, strerror(errno));
    if (rc == 0)
        rc = fn_archive_unpack_fd(fd, dest, kind, lim, out, err);
    close(fd);
    return rc;
}
