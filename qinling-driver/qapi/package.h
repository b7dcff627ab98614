/* qapi/package.h: function packages (deviceless-api.md 3.1).
 *
 * A package is a ZIP (first bytes PK\3\4, or PK\5\6 when empty) or a
 * gzip-compressed tar. It is read completely with libarchive, every entry
 * checked against the rules the board applies again when it unpacks:
 * regular files, directories and symbolic links that resolve inside the
 * package only; no absolute paths, no ".." components, no hard links, device
 * nodes, FIFOs or sockets, no set-uid/set-gid bits; at most max_entries
 * entries and max_unpacked bytes of content (counted from the data
 * actually decompressed, not from headers). md5 and sha256 of the bytes are
 * computed on the way. Pure (memory in, verdict out); any thread. */
#ifndef QA_PACKAGE_H
#define QA_PACKAGE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct qa_pkg_limits {
    int64_t max_unpacked;
    int64_t max_entries;
};

struct qa_pkg {
    char format[8]; /* "zip" or "tar.gz" */
    char md5[33];
    char sha256[65];
    int64_t size;
};

/* Checks the package data[0..len). 0 and *out, or (err via qm_fail): 413
 * "Package size exceeds 52428800 bytes.", 400 "Package is not a valid ZIP
 * or tar.gz package.", 400 "Package entry <name> is not allowed: <reason>." */
int qa_package_check(const void *data, size_t len, const struct qa_pkg_limits *lim,
                     struct qa_pkg *out, struct error *err) IOT_WUR;

/* The reason an entry path or link target is refused, or NULL when it is
 * fine: path relative, no ".." component; a link's target resolved from the
 * entry's directory stays inside (absolute targets are outside). Used for
 * runtime images too (allow_abs_links: absolute link targets are allowed
 * there, 3.2). */
const char *qa_entry_path_problem(const char *path);
const char *qa_link_problem(const char *path, const char *target, int allow_abs_links);

#endif
