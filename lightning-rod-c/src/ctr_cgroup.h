/* src/ctr_cgroup.h: the host's cgroup layout, the private mount namespace
 * recipe for crun 1.8.1, and reads of a container's cgroup files.
 *
 * crun 1.8.1 refuses hybrid hosts whose cgroup2 "unified" mount has
 * controllers (deviceless-api.md 4.8). The working recipe is to unshare the
 * mount namespace, make it private and detach the unified mount, so that crun
 * sees a pure v1 layout; only this process's view changes. unshare(CLONE_NEWNS)
 * fails in a multi-threaded process, so ctr_prepare_mountns() must run first
 * thing in main(), before any thread exists (worker pools, libcurl's resolver).
 *
 * After that, the functions here only read small cgroupfs files (the OOM
 * counter after a container exits, limits read back by the startup probe) and
 * remove empty leftover cgroups: cheap, and fine on the loop thread.
 * struct ctr_cgroup is a plain value filled once at startup. */
#ifndef LRC_CTR_CGROUP_H
#define LRC_CTR_CGROUP_H

#include <stdint.h>

#include "common/error.h"

enum ctr_cg_layout {
    CTR_CG_NONE,   /* no cgroup file system mounted */
    CTR_CG_V1,     /* legacy controllers (or hybrid with an empty unified hierarchy) */
    CTR_CG_V2,     /* unified only */
    CTR_CG_HYBRID, /* v1 plus a unified mount with controllers: crun 1.8.1 fails */
};

enum ctr_mountns_mode { CTR_MOUNTNS_AUTO, CTR_MOUNTNS_ALWAYS, CTR_MOUNTNS_NEVER };

#define CTR_CG_ROOT_MAX 256

struct ctr_cgroup {
    enum ctr_cg_layout layout; /* as this process sees it */
    int private_ns;            /* the recipe was applied */
    int swap_accounting;       /* memory.memsw.* (v1) or memory.swap.max (v2) exist */
    char root[CTR_CG_ROOT_MAX];
};

/* Which cgroup limits a container's files can be read for. */
enum ctr_cg_limit { CTR_CG_MEMORY, CTR_CG_PIDS, CTR_CG_CPU_QUOTA };

/* Examines the cgroup mounts below root ("/sys/fs/cgroup" on a real host; a
 * fixture directory in tests): statfs types and unified/cgroup.controllers. */
void ctr_cgroup_detect(const char *root, struct ctr_cgroup *out);

/* Detects the layout and applies the recipe when mode asks for it: AUTO does
 * so as root on a hybrid host whose unified hierarchy has controllers; ALWAYS
 * on any hybrid host (error if it cannot); NEVER leaves the host view alone.
 * Main thread, before any other thread exists. Returns 0 with *out filled, or
 * a negated errno and err (the process's mounts are then unchanged). */
int ctr_prepare_mountns(enum ctr_mountns_mode mode, struct ctr_cgroup *out,
                        struct error *err) IOT_WUR;

/* "v1", "v2", "hybrid-private-ns" or "none", for DeviceCaps (deviceless-api.md
 * 3.4.1). An unrepaired hybrid host reports "v1" (crun then fails its probe). */
const char *ctr_cgroup_mode(const struct ctr_cgroup *cg);

/* The OOM kill counter of the container cgroup cgpath (e.g.
 * "/lightning-rod/lr-0123456789abcdef"): v1 memory.oom_control "oom_kill",
 * v2 memory.events "oom_kill". Returns 0 with *out, or -ENOENT / -EIO. */
int ctr_cgroup_oom_kills(const struct ctr_cgroup *cg, const char *cgpath, int64_t *out) IOT_WUR;

/* Reads a configured limit back (the startup probe). "max" reads as -1. */
int ctr_cgroup_read_limit(const struct ctr_cgroup *cg, const char *cgpath, enum ctr_cg_limit l,
                          int64_t *out) IOT_WUR;

/* Removes the (empty) directories of cgpath in every hierarchy: crun removes
 * them on delete, but a failed run on pure v2 can leave one behind. */
void ctr_cgroup_remove(const struct ctr_cgroup *cg, const char *cgpath);

#endif
