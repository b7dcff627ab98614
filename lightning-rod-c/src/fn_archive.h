/* src/fn_archive.h: unpacking function packages and runtime images safely.
 *
 * The board re-checks on unpacking everything the service checked at upload
 * (deviceless-api.md 3.1, 3.2), because a cache directory is mounted into
 * containers and shared by every function that uses it:
 *   - packages: ZIP or tar.gz (from the first bytes); regular files,
 *     directories and symbolic links that resolve inside the package only;
 *     absolute paths, ".." components, links leading outside, hard links,
 *     device nodes, FIFOs and set-uid/set-gid bits are refused;
 *   - runtimes: tar or tar.gz, optionally a "bundle" (top-level rootfs/ and
 *     runtime.json); absolute paths, ".." and links (hard or symbolic) whose
 *     relative target escapes the root are refused, absolute symbolic links
 *     are kept (they resolve inside the container), device nodes and FIFOs
 *     are skipped, set-uid/set-gid bits cleared;
 *   - both: limits on unpacked bytes and entry count, checked while
 *     unpacking; nothing is ever written through a symbolic link (every path
 *     is walked with O_NOFOLLOW from a directory descriptor of the root).
 * The result is made read-only; a runtime also gets its containers' mount
 * points (3.2). The extractor is libarchive's reader with our own writer.
 *
 * The agent does not link this module: it runs in the lrc-unpack helper
 * (helpers/lrc-unpack.c), which calls fn_archive_unpack_fd() from inside a
 * chroot of the destination, so that libarchive and libxml2's dependencies
 * stay out of the agent and a flaw in them is contained. Everything here
 * blocks (disk, decompression) and keeps no state between calls. */
#ifndef LRC_FN_ARCHIVE_H
#define LRC_FN_ARCHIVE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "common/error.h"

enum fn_archive_kind { FN_ARCHIVE_PACKAGE, FN_ARCHIVE_RUNTIME };

struct fn_archive_limits {
    int64_t max_bytes; /* sum of the entries' sizes */
    int64_t max_entries;
};

#define FN_ARCHIVE_FORMAT_MAX 8

struct fn_unpacked {
    char format[FN_ARCHIVE_FORMAT_MAX]; /* "zip", "tar.gz", "tar" */
    int64_t entries;
    int64_t bytes;       /* content bytes written */
    cJSON *runtime_json; /* a bundle's runtime.json (an object), or NULL; caller frees.
                          * Also saved as dest/runtime.json (compact). */
};

/* The format of the file at path from its first bytes: "zip" or "tar.gz"
 * for packages, "tar.gz" or "tar" for runtimes. -EINVAL with the contract's
 * message ("Package is not a valid ZIP or tar.gz package.") otherwise. */
int fn_archive_detect(const char *path, enum fn_archive_kind kind,
                      char format[FN_ARCHIVE_FORMAT_MAX], struct error *err) IOT_WUR;

/* Unpacks the archive at path into dest, which must not exist (its parent
 * must). A package's files end up directly in dest; a runtime's root file
 * system in dest/rootfs, and a bundle's runtime.json in out->runtime_json.
 * On failure dest may hold a partial tree: the caller removes it (it unpacks
 * into a temporary name and renames on success). Returns 0, or -EINVAL for a
 * refused archive (err holds the contract's message: "Package entry <name>
 * is not allowed: <reason>."), -EFBIG over a limit, -EIO and others for the
 * disk. */
int fn_archive_unpack(const char *path, const char *dest, enum fn_archive_kind kind,
                      const struct fn_archive_limits *lim, struct fn_unpacked *out,
                      struct error *err) IOT_WUR;

/* The same from the archive open at fd (read with pread and from its
 * current offset, which must be 0) into dest, an existing empty directory
 * ("." in a chroot). On failure dest holds a partial tree. */
int fn_archive_unpack_fd(int fd, const char *dest, enum fn_archive_kind kind,
                         const struct fn_archive_limits *lim, struct fn_unpacked *out,
                         struct error *err) IOT_WUR;

#endif
