/* qmodel/blobs.c: see blobs.h. */
#include "qmodel/blobs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/uuid.h"
#include "common/xalloc.h"

static int mkdir_p1(const char *path, struct error *err)
{
    if (mkdir(path, 0750) < 0 && errno != EEXIST)
        return error_set(err, -errno, "mkdir %s: %s", path, strerror(errno));
    return 0;
}

int qm_blobs_init(const char *root, struct error *err)
{
    char *b = xasprintf("%s/blobs", root), *t = xasprintf("%s/tmp", root);
    int rc = mkdir_p1(root, err);

    if (rc == 0)
        rc = mkdir_p1(b, err);
    if (rc == 0)
        rc = mkdir_p1(t, err);
    free(b);
    free(t);
    return rc;
}

char *qm_blob_path(const char *root, const char *sha256)
{
    return xasprintf("%s/blobs/%.2s/%s", root, sha256, sha256);
}

int qm_blob_tmpfile(const char *root, char **path, int *fd, struct error *err)
{
    char rnd[40];

    rand_base64url(18, rnd);
    *path = xasprintf("%s/tmp/up-%s", root, rnd);
    *fd = open(*path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (*fd < 0) {
        int e = errno;

        error_set(err, -e, "create %s: %s", *path, strerror(e));
        free(*path);
        *path = NULL;
        return -e;
    }
    return 0;
}

int qm_blob_write(int fd, const void *p, size_t n, struct error *err)
{
    const char *c = p;

    while (n > 0) {
        ssize_t w = write(fd, c, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return error_set(err, -errno, "write: %s", strerror(errno));
        c += w;
        n -= (size_t)w;
    }
    if (fsync(fd) < 0)
        return error_set(err, -errno, "fsync: %s", strerror(errno));
    return 0;
}

int qm_blob_place(const char *root, const char *tmp, const char *sha256, struct error *err)
{
    char *dir = xasprintf("%s/blobs/%.2s", root, sha256), *dst = qm_blob_path(root, sha256);
    int rc = mkdir_p1(dir, err), dfd;

    /* A retried transaction finds the file already in place: same content. */
    if (rc == 0 && rename(tmp, dst) < 0 && !(errno == ENOENT && access(dst, F_OK) == 0))
        rc = error_set(err, -errno, "rename %s: %s", dst, strerror(errno));
    if (rc == 0) {
        /* The rename is durable only once the directory is. */
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    free(dir);
    free(dst);
    return rc;
}

int qm_blob_unlink(const char *root, const char *sha256)
{
    char *p = qm_blob_path(root, sha256);
    int rc = unlink(p) < 0 && errno != ENOENT ? -errno : 0;

    free(p);
    return rc;
}
