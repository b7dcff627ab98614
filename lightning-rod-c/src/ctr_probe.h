/* src/ctr_probe.h: what the container executor can enforce on this board,
 * and the clean-up of containers a previous run left behind.
 *
 * The startup probe (deviceless-api.md 4.7) creates, starts and deletes one
 * container whose root file system holds only the static probe program, with
 * a memory and a pids limit, a CPU quota, the seccomp profile and a
 * /dev/kmsg node that the device rules do not allow. It reads the limits back
 * from the container's cgroup while the container exists, and the probe
 * reports whether the node was refused and whether seccomp is active. The
 * findings fill DeviceCaps' executor_detail (3.4.1); a failure means
 * executor "none" with crun's message.
 *
 * Reconciliation (`crun list`) deletes every container under crun's state
 * root: at startup the agent knows none, and the executions they ran are
 * reported as failed from their records.
 *
 * Loop thread; the runner must outlive the calls. */
#ifndef LRC_CTR_PROBE_H
#define LRC_CTR_PROBE_H

#include <cjson/cJSON.h>
#include <sys/types.h>

#include "common/error.h"
#include "src/ctr_run.h"

struct ctr_probe_result {
    int ok;                /* containers can run */
    char crun_version[32]; /* "1.8.1", or "" */
    int rootless;
    struct {
        int memory, cpu, pids, devices, seccomp;
    } enforced;
    char error[ERROR_MSG_MAX]; /* when !ok */
};

typedef void (*ctr_probe_fn)(void *arg, const struct ctr_probe_result *res);

/* Runs the probe with the static program at probe_path, as uid:gid. The
 * probe's root file system is prepared under <run_dir>/probe. fn runs once.
 * Returns 0, or a negated errno at once (fn never runs). */
int ctr_probe_run(struct ctr_runner *r, const char *run_dir, const char *probe_path, uid_t uid,
                  gid_t gid, ctr_probe_fn fn, void *arg, struct error *err) IOT_WUR;

/* executor_detail: {"crun_version", "cgroup", "rootless", "enforced": {...},
 * "error"}. New tree. */
cJSON *ctr_probe_detail(const struct ctr_probe_result *res, const struct ctr_cgroup *cg);

/* Deletes every container crun lists under the runner's root, then calls
 * done(arg, n) with how many. Returns 0 or a negated errno at once. */
int ctr_reconcile(struct ctr_runner *r, void (*done)(void *arg, int n), void *arg,
                  struct error *err) IOT_WUR;

#endif
