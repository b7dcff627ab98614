/* src/ctr_cgroup.c: see ctr_cgroup.h. */
#include "src/ctr_cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/log.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif

#define CG_FILE_MAX 4096

/* Reads a small cgroupfs file into buf (NUL-terminated). */
static int read_small(const char *path, char *buf, size_t cap)
{
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0)
        return -EIO;
    buf[n] = '\0';
    return 0;
}

static long fs_type(const char *path)
{
    struct statfs s;

    if (statfs(path, &s) < 0)
        return -1;
    return (long)s.f_type;
}

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* v2 puts memory.swap.max in every non-root cgroup when swap is accounted:
 * look at the first child directory that has memory files at all. */
static int v2_swap_accounting(const char *root)
{
    char path[PATH_MAX];
    struct dirent *de;
    DIR *d = opendir(root);
    int found = 0;

    if (d == NULL)
        return 0;
    while (!found && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || de->d_type != DT_DIR)
            continue;
        snprintf(path, sizeof(path), "%s/%s/memory.max", root, de->d_name);
        if (!exists(path))
            continue;
        snprintf(path, sizeof(path), "%s/%s/memory.swap.max", root, de->d_name);
        found = exists(path) ? 1 : -1;
    }
    closedir(d);
    return found > 0;
}

void ctr_cgroup_detect(const char *root, struct ctr_cgroup *out)
{
    char path[PATH_MAX], buf[CG_FILE_MAX];
    long t = fs_type(root);

    memset(out, 0, sizeof(*out));
    snprintf(out->root, sizeof(out->root), "%s", root);
    if (t == CGROUP2_SUPER_MAGIC) {
        out->layout = CTR_CG_V2;
        out->swap_accounting = v2_swap_accounting(root);
        return;
    }
    snprintf(path, sizeof(path), "%s/memory", root);
    if (fs_type(path) != CGROUP_SUPER_MAGIC && !exists(path)) {
        out->layout = CTR_CG_NONE;
        return;
    }
    out->layout = CTR_CG_V1;
    snprintf(path, sizeof(path), "%s/memory/memory.memsw.limit_in_bytes", root);
    out->swap_accounting = exists(path);
    snprintf(path, sizeof(path), "%s/unified/cgroup.controllers", root);
    if (read_small(path, buf, sizeof(buf)) == 0 && strspn(buf, " \n") != strlen(buf))
        out->layout = CTR_CG_HYBRID;
}

static int apply_recipe(const struct ctr_cgroup *cg, struct error *err)
{
    char unified[PATH_MAX];

    snprintf(unified, sizeof(unified), "%s/unified", cg->root);
    if (unshare(CLONE_NEWNS) < 0)
        return error_set(err, -errno, "unshare(CLONE_NEWNS): %s%s", strerror(errno),
                         errno == EINVAL ? " (threads already exist: call it first in main)" : "");
    /* Private first, so that the detach below never propagates to the host. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return error_set(err, -errno, "make / private: %s", strerror(errno));
    if (umount2(unified, MNT_DETACH) < 0)
        return error_set(err, -errno, "detach %s: %s", unified, strerror(errno));
    return 0;
}

int ctr_prepare_mountns(enum ctr_mountns_mode mode, struct ctr_cgroup *out, struct error *err)
{
    int want, rc;

    ctr_cgroup_detect("/sys/fs/cgroup", out);
    if (out->layout != CTR_CG_HYBRID || mode == CTR_MOUNTNS_NEVER)
        return 0;
    want = mode == CTR_MOUNTNS_ALWAYS || geteuid() == 0;
    if (!want) {
        log_warn("hybrid cgroup host and not root: crun will refuse to run containers "
                 "(crun_private_mountns needs root)");
        return 0;
    }
    rc = apply_recipe(out, err);
    if (rc < 0)
        return rc;
    out->layout = CTR_CG_V1;
    out->private_ns = 1;
    log_info("private mount namespace: detached %s/unified for crun", out->root);
    return 0;
}

const char *ctr_cgroup_mode(const struct ctr_cgroup *cg)
{
    if (cg->private_ns)
        return "hybrid-private-ns";
    switch (cg->layout) {
    case CTR_CG_V2:
        return "v2";
    case CTR_CG_V1:
    case CTR_CG_HYBRID:
        return "v1";
    default:
        return "none";
    }
}

static void cg_file(const struct ctr_cgroup *cg, const char *controller, const char *cgpath,
                    const char *file, char *out, size_t cap)
{
    if (cg->layout == CTR_CG_V2)
        snprintf(out, cap, "%s%s/%s", cg->root, cgpath, file);
    else
        snprintf(out, cap, "%s/%s%s/%s", cg->root, controller, cgpath, file);
}

/* Finds "key <n>" at the start of a line of text. */
static int keyed_value(const char *text, const char *key, int64_t *out)
{
    size_t klen = strlen(key);

    const char *p = text;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
            char *end;
            long long v = strtoll(p + klen + 1, &end, 10);

            if (end == p + klen + 1)
                return -EIO;
            *out = v;
            return 0;
        }
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return -ENOENT;
}

int ctr_cgroup_oom_kills(const struct ctr_cgroup *cg, const char *cgpath, int64_t *out)
{
    char path[PATH_MAX], buf[CG_FILE_MAX];
    int rc;

    if (cg->layout == CTR_CG_NONE)
        return -ENOENT;
    cg_file(cg, "memory", cgpath, cg->layout == CTR_CG_V2 ? "memory.events" : "memory.oom_control",
            path, sizeof(path));
    rc = read_small(path, buf, sizeof(buf));
    if (rc < 0)
        return rc;
    return keyed_value(buf, "oom_kill", out);
}

static int parse_limit(const char *buf, int64_t *out)
{
    char *end;
    long long v;

    if (strncmp(buf, "max", 3) == 0) {
        *out = -1;
        return 0;
    }
    errno = 0;
    v = strtoll(buf, &end, 10);
    if (errno != 0 || end == buf)
        return -EIO;
    *out = v;
    return 0;
}

int ctr_cgroup_read_limit(const struct ctr_cgroup *cg, const char *cgpath, enum ctr_cg_limit l,
                          int64_t *out)
{
    static const struct {
        const char *controller, *v1, *v2;
    } files[] = {
        [CTR_CG_MEMORY] = {"memory", "memory.limit_in_bytes", "memory.max"},
        [CTR_CG_PIDS] = {"pids", "pids.max", "pids.max"},
        [CTR_CG_CPU_QUOTA] = {"cpu", "cpu.cfs_quota_us", "cpu.max"},
    };
    char path[PATH_MAX], buf[CG_FILE_MAX];
    int rc;

    if (cg->layout == CTR_CG_NONE)
        return -ENOENT;
    cg_file(cg, files[l].controller, cgpath, cg->layout == CTR_CG_V2 ? files[l].v2 : files[l].v1,
            path, sizeof(path));
    rc = read_small(path, buf, sizeof(buf));
    if (rc < 0)
        return rc;
    return parse_limit(buf, out);
}

void ctr_cgroup_remove(const struct ctr_cgroup *cg, const char *cgpath)
{
    static const char *const v1[] = {"memory",  "pids",     "cpu",        "cpuacct", "cpu,cpuacct",
                                     "devices", "freezer",  "blkio",      "cpuset",  "hugetlb",
                                     "net_cls", "net_prio", "perf_event", "systemd"};
    char path[PATH_MAX];

    if (cg->layout == CTR_CG_V2) {
        snprintf(path, sizeof(path), "%s%s", cg->root, cgpath);
        rmdir(path);
        return;
    }
    if (cg->layout == CTR_CG_NONE)
        return;
    for (size_t i = 0; i < sizeof(v1) / sizeof(v1[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s%s", cg->root, v1[i], cgpath);
        rmdir(path);
    }
}
