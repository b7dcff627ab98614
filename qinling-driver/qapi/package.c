/* qapi/package.c: see package.h. */
#include "qapi/package.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/crypto.h"
#include "common/xalloc.h"
#include "qmodel/config.h"
#include "qmodel/fault.h"

#define MSG_INVALID "Package is not a valid ZIP or tar.gz package."

const char *qa_entry_path_problem(const char *path)
{
    const char *p = path;

    if (path[0] == '\0')
        return "an empty name";
    if (path[0] == '/')
        return "absolute paths are not allowed";
    while (p != NULL) {
        const char *slash = strchr(p, '/');
        size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);

        if (n == 2 && p[0] == '.' && p[1] == '.')
            return "\"..\" components are not allowed";
        p = slash != NULL ? slash + 1 : NULL;
    }
    return NULL;
}

/* Walks target from the directory of path, counting depth below the root;
 * returns -1 as soon as it would climb out. */
static int link_depth(const char *path, const char *target)
{
    int depth = 0;
    const char *p = path, *slash;

    /* The entry's own directory: one level per component but the last. */
    while ((slash = strchr(p, '/')) != NULL) {
        if (slash > p && !(slash - p == 1 && p[0] == '.'))
            depth++;
        p = slash + 1;
    }
    p = target;
    while (p != NULL && *p != '\0') {
        size_t n;

        slash = strchr(p, '/');
        n = slash != NULL ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            depth--;
        else if (n > 0 && !(n == 1 && p[0] == '.'))
            depth++;
        if (depth < 0)
            return -1;
        p = slash != NULL ? slash + 1 : NULL;
    }
    return depth;
}

const char *qa_link_problem(const char *path, const char *target, int allow_abs)
{
    if (target == NULL || target[0] == '\0')
        return "a link without a target";
    if (target[0] == '/')
        return allow_abs ? NULL : "links leading outside the package are not allowed";
    if (link_depth(path, target) < 0)
        return "links leading outside the package are not allowed";
    return NULL;
}

static const char *entry_problem(struct archive_entry *e)
{
    const char *path = archive_entry_pathname(e), *why;
    mode_t type = archive_entry_filetype(e);

    if ((why = qa_entry_path_problem(path)) != NULL)
        return why;
    if (archive_entry_hardlink(e) != NULL)
        return "hard links are not allowed";
    if (type == AE_IFCHR || type == AE_IFBLK)
        return "device nodes are not allowed";
    if (type == AE_IFIFO)
        return "FIFOs are not allowed";
    if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
        return "only files, directories and symbolic links are allowed";
    if (archive_entry_mode(e) & (S_ISUID | S_ISGID))
        return "set-uid or set-gid bits are not allowed";
    if (type == AE_IFLNK)
        return qa_link_problem(path, archive_entry_symlink(e), 0);
    return NULL;
}

struct scan {
    const struct qa_pkg_limits *lim;
    int64_t bytes, entries;
    char buf[65536];
};

/* Reads one entry's data, counting it against the unpacked limit. */
static int drain(struct archive *a, struct archive_entry *e, struct scan *s, struct error *err)
{
    for (;;) {
        la_ssize_t n = archive_read_data(a, s->buf, sizeof(s->buf));

        if (n == 0)
            return 0;
        if (n < 0)
            return qm_fail(err, 400, MSG_INVALID);
        s->bytes += n;
        if (s->bytes > s->lim->max_unpacked)
            return qm_fail(err, 400,
                           "Package entry %.200s is not allowed: the package exceeds %lld bytes "
                           "unpacked.",
                           archive_entry_pathname(e), (long long)s->lim->max_unpacked);
    }
}

static int scan_entries(struct archive *a, struct scan *s, struct error *err)
{
    struct archive_entry *e;
    const char *why;
    int r, rc;

    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        const char *name = archive_entry_pathname(e);

        if (name == NULL)
            return qm_fail(err, 400, MSG_INVALID);
        if (++s->entries > s->lim->max_entries)
            return qm_fail(err, 400,
                           "Package entry %.200s is not allowed: the package has more than %lld "
                           "entries.",
                           name, (long long)s->lim->max_entries);
        if ((why = entry_problem(e)) != NULL)
            return qm_fail(err, 400, "Package entry %.200s is not allowed: %s.", name, why);
        if ((rc = drain(a, e, s, err)) < 0)
            return rc;
    }
    return r == ARCHIVE_EOF ? 0 : qm_fail(err, 400, MSG_INVALID);
}

static void digests(const void *data, size_t len, struct qa_pkg *out)
{
    struct crypto_digest *md5 = crypto_digest_new(1), *sha = crypto_digest_new(0);

    crypto_digest_update(md5, data, len);
    crypto_digest_update(sha, data, len);
    crypto_digest_final(md5, out->md5);
    crypto_digest_final(sha, out->sha256);
}

int qa_package_check(const void *data, size_t len, const struct qa_pkg_limits *lim,
                     struct qa_pkg *out, struct error *err)
{
    const unsigned char *b = data;
    struct scan *s = NULL;
    struct archive *a;
    int zip, rc;

    memset(out, 0, sizeof(*out));
    if (len > QM_PACKAGE_MAX)
        return qm_fail(err, 413, "Package size exceeds %d bytes.", QM_PACKAGE_MAX);
    zip = len >= 4 && b[0] == 'P' && b[1] == 'K' &&
          ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6));
    if (!zip && !(len >= 2 && b[0] == 0x1f && b[1] == 0x8b))
        return qm_fail(err, 400, MSG_INVALID);
    a = archive_read_new();
    if (zip) {
        archive_read_support_format_zip(a);
    } else {
        archive_read_support_filter_gzip(a);
        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
    }
    s = xcalloc(1, sizeof(*s));
    s->lim = lim;
    if (archive_read_open_memory(a, data, len) != ARCHIVE_OK)
        rc = qm_fail(err, 400, MSG_INVALID);
    else
        rc = scan_entries(a, s, err);
    archive_read_free(a);
    free(s);
    if (rc < 0)
        return rc;
    snprintf(out->format, sizeof(out->format), "%s", zip ? "zip" : "tar.gz");
    out->size = (int64_t)len;
    digests(data, len, out);
    return 0;
}
