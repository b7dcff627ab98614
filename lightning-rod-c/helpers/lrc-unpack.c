/* helpers/lrc-unpack.c: unpacks a function package or a runtime image for the board agent.
 *
 *   lrc-unpack --kind package|runtime --archive FILE --dest DIR
 *              --max-bytes N --max-entries N
 *
 * DIR must not exist; its parent must. The archive is checked and unpacked
 * with the entry rules and limits of deviceless-api.md 3.1 and 3.2
 * (src/fn_archive.h), the tree is made read-only and a runtime gets its
 * containers' mount points. One JSON line on stdout (helpers/hlp.h):
 *   {"ok": true, "format": "zip", "entries": N, "bytes": N}
 *   {"ok": false, "errno": 22, "error": "Package entry ../x is not allowed: '..' component."}
 *
 * Sandbox: the archive is opened and DIR created first; then, as root, the
 * helper chroots into DIR and drops every capability, so the archive parser
 * (libarchive and what it links) can write nowhere else and cannot leave;
 * no_new_privs, no core, and limits on file size, descriptors, CPU time and
 * address space. The agent (src/fn_cache.c) runs it as the cache's owner,
 * itself, so the tree belongs to the owner of the cache and never to the
 * containers' user. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "helpers/hlp.h"
#include "src/fn_archive.h"

#define UNPACK_NOFILE 64
#define UNPACK_CPU_S 900
#define UNPACK_AS (1024ULL << 20) /* the mapped libraries (icu data) take ~100 MiB */
#define FSIZE_FLOOR (1LL << 30)   /* RLIMIT_FSIZE also bounds stderr, the agent's log */

#define USAGE                                                                                      \
    "usage: lrc-unpack --kind package|runtime --archive FILE --dest DIR --max-bytes N "            \
    "--max-entries N"

struct job {
    enum fn_archive_kind kind;
    const char *archive, *dest;
    struct fn_archive_limits lim;
    int have_kind;
};

static const struct option options[] = {
    {"kind", required_argument, NULL, 'k'},        {"archive", required_argument, NULL, 'a'},
    {"dest", required_argument, NULL, 'd'},        {"max-bytes", required_argument, NULL, 'b'},
    {"max-entries", required_argument, NULL, 'e'}, {NULL, 0, NULL, 0},
};

static int set_kind(struct job *j, const char *s, struct error *err)
{
    j->have_kind = 1;
    if (strcmp(s, "package") == 0)
        j->kind = FN_ARCHIVE_PACKAGE;
    else if (strcmp(s, "runtime") == 0)
        j->kind = FN_ARCHIVE_RUNTIME;
    else
        return error_set(err, -EINVAL, "--kind: '%.32s' is neither package nor runtime", s);
    return 0;
}

static int parse_args(int argc, char **argv, struct job *j, struct error *err)
{
    int c, rc = 0;

    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (c) {
        case 'k':
            rc = set_kind(j, optarg, err);
            break;
        case 'a':
            j->archive = optarg;
            break;
        case 'd':
            j->dest = optarg;
            break;
        case 'b':
            rc = hlp_int_arg("max-bytes", optarg, 1, INT64_MAX / 2, &j->lim.max_bytes, err);
            break;
        case 'e':
            rc = hlp_int_arg("max-entries", optarg, 1, INT64_MAX / 2, &j->lim.max_entries, err);
            break;
        default:
            rc = error_set(err, -EINVAL, "unknown option %s", argv[optind - 1]);
            break;
        }
    }
    if (rc == 0 && (optind != argc || !j->have_kind || j->archive == NULL || j->dest == NULL ||
                    j->lim.max_bytes == 0 || j->lim.max_entries == 0))
        rc = error_set(err, -EINVAL, "missing or extra arguments");
    return rc < 0 ? error_prefix(err, USAGE) : 0;
}

static int unpack(const struct job *j, struct fn_unpacked *out, struct error *err)
{
    struct hlp_sandbox sb = {0};
    int fd = open(j->archive, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc;

    if (fd < 0)
        return error_set(err, -errno, "open %s: %s", j->archive, strerror(errno));
    if (mkdir(j->dest, 0755) < 0) {
        rc = error_set(err, -errno, "mkdir %s: %s", j->dest, strerror(errno));
        goto out;
    }
    sb.root = j->dest;
    sb.fsize = j->lim.max_bytes > FSIZE_FLOOR ? (rlim_t)j->lim.max_bytes : FSIZE_FLOOR;
    sb.nofile = UNPACK_NOFILE;
    sb.cpu_s = UNPACK_CPU_S;
    sb.as = UNPACK_AS;
    rc = hlp_sandbox_enter(&sb, err);
    if (rc < 0) {
        error_prefix(err, "sandbox");
        goto out;
    }
    /* "." rather than "/": glibc's nftw() names the root "" for "/". */
    rc = fn_archive_unpack_fd(fd, sb.in_root ? "." : j->dest, j->kind, &j->lim, out, err);
out:
    close(fd);
    return rc;
}

int main(int argc, char **argv)
{
    struct job j = {0};
    struct fn_unpacked out;
    struct error err = {0};
    cJSON *res;

    log_init("lrc-unpack", LOG_INFO);
    xalloc_init();
    if (parse_args(argc, argv, &j, &err) < 0) {
        hlp_reply_err(NULL, &err);
        return HLP_EXIT_USAGE;
    }
    if (unpack(&j, &out, &err) < 0)
        return hlp_reply_err(NULL, &err);
    /* runtime.json was saved beside rootfs/: the agent reads it from there. */
    cJSON_Delete(out.runtime_json);
    res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "format", out.format);
    json_add_int(res, "entries", out.entries);
    json_add_int(res, "bytes", out.bytes);
    return hlp_reply_ok(res);
}
