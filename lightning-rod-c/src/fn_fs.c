/* src/fn_fs.c: see fn_fs.h.
 *
 * Tree walks use nftw(FTW_PHYS | FTW_MOUNT | FTW_DEPTH): physical (no
 * symbolic link is followed), one file system, children before parents.
 * nftw keeps no global state of its own across calls, so concurrent walks
 * in several worker threads are safe. */
#include "src/fn_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xalloc.h"

#define WALK_FDS 32

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int fn_fs_sync_parent(const char *path, struct error *err)
{
    char *copy = xstrdup(path);
    int fd, rc = 0;

    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        rc = error_set(err, -errno, "fsync of the directory of %s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(copy);
    return rc;
}

int fn_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                       struct error *err)
{
    char *tmp = xasprintf("%s.tmp-%ld", path, (long)gettid());
    int fd, rc;

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        rc = error_set(err, -errno, "create %s: %s", tmp, strerror(errno));
        goto out;
    }
    rc = write_all(fd, data, len);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc < 0) {
        error_set(err, rc, "write %s: %s", tmp, strerror(-rc));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) < 0) {
        rc = error_set(err, -errno, "rename %s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = fn_fs_sync_parent(path, err);
out:
    free(tmp);
    return rc;
}

int fn_fs_write_file(const char *path, const void *data, size_t len, mode_t mode, struct error *err)
{
    int fd, rc;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return error_set(err, -errno, "create %s: %s", path, strerror(errno));
    rc = write_all(fd, data, len);
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc < 0)
        return error_set(err, rc, "write %s: %s", path, strerror(-rc));
    return 0;
}

int fn_fs_read_file(const char *path, size_t max, char **out, size_t *len, struct error *err)
{
    char *buf = NULL;
    size_t got = 0;
    int fd, rc = 0;

    *out = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return error_set(err, -errno, "open %s: %s", path, strerror(errno));
    buf = xmalloc(max + 2);
    for (;;) {
        ssize_t n = read(fd, buf + got, max + 1 - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = error_set(err, -errno, "read %s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        got += (size_t)n;
        if (got > max) {
            rc = error_set(err, -EFBIG, "%s holds more than %zu bytes", path, max);
            break;
        }
    }
    close(fd);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

int fn_fs_mkdirs(const char *path, mode_t mode, struct error *err)
{
    char *copy = xstrdup(path);
    int rc = 0;

    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;

        *p = '\0';
        if (mkdir(copy, mode) < 0 && errno != EEXIST) {
            rc = error_set(err, -errno, "mkdir %s: %s", copy, strerror(errno));
            break;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    free(copy);
    return rc;
}

/* nftw callbacks receive no argument, so removal reports errors through the
 * return value only: the first failure stops the walk with that errno. */
static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_DP || type == FTW_D || type == FTW_DNR) {
        if (rmdir(path) == 0 || errno == ENOENT)
            return 0;
        return errno;
    }
    if (unlink(path) == 0 || errno == ENOENT)
        return 0;
    return errno;
}

/* A read-only tree cannot be emptied without root's override: give each
 * directory back its owner's write and search bits first. Pre-order. */
static int unlock_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if ((type == FTW_D || type == FTW_DNR) && (st->st_mode & 0700) != 0700)
        chmod(path, (st->st_mode & 07777) | 0700);
    return 0;
}

int fn_fs_rmtree(const char *path, struct error *err)
{
    struct stat st;
    int rc;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : error_set(err, -errno, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) < 0 && errno != ENOENT)
            return error_set(err, -errno, "unlink %s: %s", path, strerror(errno));
        return 0;
    }
    rc = nftw(path, rm_entry, WALK_FDS, FTW_PHYS | FTW_MOUNT | FTW_DEPTH);
    if (rc == 0)
        return 0;
    nftw(path, unlock_entry, WALK_FDS, FTW_PHYS | FTW_MOUNT);
    rc = nftw(path, rm_entry, WALK_FDS, FTW_PHYS | FTW_MOUNT | FTW_DEPTH);
    if (rc != 0)
        return error_set(err, rc > 0 ? -rc : -EIO, "remove %s: %s", path,
                         rc > 0 ? strerror(rc) : "walk failed");
    return 0;
}

/* Inode bookkeeping for hard links would need state across callbacks, which
 * nftw cannot pass: count a multiply-linked file only for its first name in
 * a small per-thread table (runtimes carry a few hundred such links). */
#define SEEN_MAX 4096
static _Thread_local struct {
    int64_t total;
    size_t nseen;
    ino_t seen[SEEN_MAX];
} tb;

static int sum_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)path;
    (void)type;
    (void)ftw;
    if (st->st_nlink > 1 && !S_ISDIR(st->st_mode)) {
        for (size_t i = 0; i < tb.nseen; i++)
            if (tb.seen[i] == st->st_ino)
                return 0;
        if (tb.nseen < SEEN_MAX)
            tb.seen[tb.nseen++] = st->st_ino;
    }
    tb.total += (int64_t)st->st_blocks * 512;
    return 0;
}

int64_t fn_fs_tree_bytes(const char *path)
{
    tb.total = 0;
    tb.nseen = 0;
    if (nftw(path, sum_entry, WALK_FDS, FTW_PHYS | FTW_MOUNT) != 0) {
        int e = errno;

        return e ? -e : -EIO;
    }
    return tb.total;
}

static int ro_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    mode_t m;

    (void)ftw;
    if (type == FTW_SL || type == FTW_SLN)
        return 0;
    m = st->st_mode & 07777 & ~(mode_t)0222;
    if (type == FTW_DP || type == FTW_D)
        m |= 0555;
    else
        m |= 0444;
    if (m != (st->st_mode & 07777) && chmod(path, m) < 0)
        return errno;
    return 0;
}

int fn_fs_make_readonly(const char *path, struct error *err)
{
    /* Depth first, so a directory loses its write bit after its children
     * were changed (not that root needs it, but a rootless agent does). */
    int rc = nftw(path, ro_entry, WALK_FDS, FTW_PHYS | FTW_MOUNT | FTW_DEPTH);

    if (rc != 0)
        return error_set(err, rc > 0 ? -rc : -EIO, "make %s read-only: %s", path,
                         rc > 0 ? strerror(rc) : "walk failed");
    return 0;
}
