/* src/fn_config.h: the board's [function] and [process_runtimes] options
 * (deviceless-api.md Appendix C, 3.8).
 *
 * Bound with cfg_bind() through fn_cfg_table(), then completed once by
 * fn_config_finish(): directories default from [DEFAULT] state_dir/run_dir,
 * crun is found in PATH, the process user is looked up, and each
 * [process_runtimes] line is split on whitespace into an argv (no shell ever
 * sees it). Read at startup, on the main thread. */
#ifndef LRC_FN_CONFIG_H
#define LRC_FN_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/cfg.h"
#include "common/error.h"
#include "src/ctr_cgroup.h"

enum fn_executor_kind { FN_EXECUTOR_CRUN = 0, FN_EXECUTOR_PROCESS = 1 };

struct fn_process_runtime {
    char *name;  /* the runtime's name, e.g. "python3" */
    char **argv; /* NULL-terminated; argv[0] is an absolute path */
};

struct fn_config {
    int executor;    /* enum fn_executor_kind */
    char *crun_path; /* absolute after finish (NULL if not found) */
    char *crun_root, *run_dir, *cache_dir, *state_dir;
    int crun_private_mountns; /* enum ctr_mountns_mode */
    int64_t container_uid, container_gid;
    int64_t max_concurrency; /* 0 in the file: the number of CPUs */
    int64_t max_warm_total;
    int64_t pids_limit, tmp_size, file_size_limit;
    int64_t max_log_size, max_result_size;
    int64_t cache_max_bytes;
    int64_t dedup_retention;
    int64_t outbox_max; /* read here, used by the agent core's outbox */
    char *download_ca;
    int download_insecure;
    char *process_user;
    char *probe_path; /* [function] probe_path: the static probe (4.7) */
    /* filled by fn_config_finish() */
    uid_t process_uid;
    gid_t process_gid;
    struct fn_process_runtime *process_runtimes;
    size_t nprocess_runtimes;
};

/* The [function] option table for cfg_bind(). */
struct cfg_table fn_cfg_table(struct fn_config *conf);

/* Completes conf after cfg_bind(): [process_runtimes] from c, defaults for
 * the directories (state_dir and run_dir from [DEFAULT], given here), crun's
 * path, the process user's ids. -EINVAL with file-level words in err. */
int fn_config_finish(struct fn_config *conf, const struct cfg *c, const char *default_state_dir,
                     const char *default_run_dir, struct error *err) IOT_WUR;

/* Frees what cfg_bind() and fn_config_finish() stored. */
void fn_config_clear(struct fn_config *conf);

/* The command of a runtime name for the process executor, or NULL. */
const struct fn_process_runtime *fn_config_process_runtime(const struct fn_config *conf,
                                                           const char *name);

#endif
