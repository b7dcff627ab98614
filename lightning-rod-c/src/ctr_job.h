/* src/ctr_job.h: running a program for the agent's plugins, in the same runner.
 *
 * board-protocol.md 6.5: each plugin run is a child "in a crun container
 * (the host root file system read-only, private /tmp, no devices except the
 * IO socket, the host network, user nobody)", or a plain child process with
 * rlimits when the executor is "process". Two shapes:
 *   - a call (PluginCall): stdin data, the first max_output bytes of stdout
 *     and the last err_tail bytes of stderr, killed after timeout_ms;
 *   - a service (PluginStart/PluginStop): runs until stopped, its stdout and
 *     stderr appended to log_file (rotated to <log_file>.1 at 1 MiB); stop
 *     sends SIGTERM, then SIGKILL after a grace period, without blocking.
 *
 * crun cannot pivot into "/", so the host root is a skeleton directory
 * (<run_dir>/hostroot) holding the host's top-level symbolic links and one
 * read-only bind per top-level directory, except /proc, /sys, /dev, /tmp and
 * /run, which the container gets afresh. The agent's own directories
 * (state, cache, run) are masked with `hide`.
 *
 * Loop thread. A job belongs to its caller, who frees it after done ran. */
#ifndef LRC_CTR_JOB_H
#define LRC_CTR_JOB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "src/ctr_run.h"

struct ctr_job;

struct ctr_job_spec {
    char *const *argv; /* argv[0]: an absolute path on the host */
    char *const *env;  /* NULL-terminated (NULL: PATH only) */
    const char *cwd;   /* absolute; NULL: "/" */
    uid_t uid;
    gid_t gid;
    const char *input; /* stdin, then EOF */
    size_t input_len;
    int64_t timeout_ms;          /* 0: none (services) */
    size_t max_output;           /* calls: stdout kept */
    size_t err_tail;             /* calls: stderr tail kept */
    const char *log_file;        /* services: output appended here; NULL for a call */
    int io;                      /* an IO socket (if the runner has a provider) */
    const char *const *io_specs; /* its devices */
    size_t nio;
    char *const *hide;    /* host directories masked, NULL-terminated or NULL */
    int64_t memory, pids; /* 0: no limit */
    int64_t tmp_size;     /* 0: 16 MiB */
};

struct ctr_job_result {
    const char *failure; /* not NULL: it could not be started (the reason) */
    int exit_code;       /* -1 when killed by a signal */
    int signal;
    int timed_out;
    const char *out, *err; /* calls only; borrowed until ctr_job_free() */
    size_t out_len, err_len;
    int out_truncated;
};

typedef void (*ctr_job_fn)(void *arg, struct ctr_job *job, const struct ctr_job_result *res);

/* Starts the job; done runs exactly once when it ended (or could not
 * start). Returns 0 and *out, or a negated errno at once (done never runs). */
int ctr_job_start(struct ctr_runner *r, const char *run_dir, const struct ctr_job_spec *s,
                  ctr_job_fn done, void *arg, struct ctr_job **out, struct error *err) IOT_WUR;

/* SIGTERM now, SIGKILL after grace_s if it still runs. Returns 0, or
 * -ESRCH when it is not running. */
int ctr_job_stop(struct ctr_job *j, double grace_s) IOT_WUR;

/* 1 while the program runs. */
int ctr_job_alive(const struct ctr_job *j);

/* Releases the container; no callback runs afterwards. Accepts NULL. */
void ctr_job_free(struct ctr_job *j);

#endif
