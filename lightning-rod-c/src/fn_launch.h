/* src/fn_launch.h: how one function version is started (its container spec).
 *
 * A launch is the self-contained recipe derived from a FunctionExecute or
 * FunctionDeploy, the cached runtime and package, and the board config
 * (deviceless-api.md 3.2 runtime config, 3.5.4 what the container sees,
 * 3.5.6 limits, 4.3 raw devices, 3.8 the process executor): argv, env, cwd,
 * limits, mounts, devices, the IO socket's specs. It holds references on
 * its cache entries, so a warm pool can keep one as the template of its
 * containers after the execution that made it is gone.
 *
 * Its fingerprints say when two launches make identical containers: "base"
 * covers everything the function defines, "full" adds the input kind, which
 * is in the environment and thus fixed when a warm container is created.
 *
 * Reference-counted (fn_launch_ref/unref); loop thread. */
#ifndef LRC_FN_LAUNCH_H
#define LRC_FN_LAUNCH_H

#include "src/ctr_run.h"
#include "src/fn_cache.h"
#include "src/fn_config.h"
#include "src/fn_payload.h"

#define FN_FINGERPRINT_LEN 65

struct fn_launch {
    int refs;
    struct ctr_spec spec; /* pointers into the members below */
    struct ctr_opts opts;
    char function_id[UUID_STR_LEN];
    int64_t function_version;
    int64_t timeout_s;
    char base_fp[FN_FINGERPRINT_LEN], full_fp[FN_FINGERPRINT_LEN];
    struct fn_cache_entry *runtime, *package; /* referenced; NULL when unused */
    char **args, **env, **io_specs;
    char *cwd;
    struct ctr_device *devices;
    size_t ndevices;
};

/* Builds the launch of r with the runtime entry rt (NULL for the process
 * executor) and the package entry pkg (NULL for image functions); takes its
 * own references on them. Returns 0 and *out, or -EINVAL / -ENODEV with err
 * saying why it cannot run here (fit for "Failed to start function container
 * on board <uuid>: <reason>"). */
int fn_launch_new(const struct fn_req *r, const struct fn_config *conf, const char *board_id,
                  int have_io, struct fn_cache_entry *rt, struct fn_cache_entry *pkg,
                  struct fn_launch **out, struct error *err) IOT_WUR;

void fn_launch_ref(struct fn_launch *l);
void fn_launch_unref(struct fn_launch *l); /* accepts NULL */

#endif
