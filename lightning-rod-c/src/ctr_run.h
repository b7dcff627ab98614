/* src/ctr_run.h: the container runner: one container (or plain process) from
 * creation to deletion, on the event loop.
 *
 * With the crun executor a container goes through deviceless-api.md 3.5.3:
 *   ctr_create():  bundle + config.json, the IO socket, `crun create` with
 *                  the input pipe on fd 0 and the log pipe on fds 1 and 2;
 *                  the init waits on crun's exec FIFO ("created", warm);
 *   ctr_start():   context.json, the input (non-blocking), `crun start`, the
 *                  timeout clock; the init's exit comes through the reaper
 *                  (we are its subreaper), the log pipe through an ev_io;
 *   outcome:       OOM counter, result file, first IO write, then the done
 *                  callback;
 *   ctr_release(): `crun delete -f`, leftover cgroups, the bundle, the memory.
 * Every crun command carries --root, --cgroup-manager=cgroupfs and
 * --log=<bundle>/crun.log --log-format=json; crun's own errors are read from
 * that log, never from the function's output.
 *
 * With the process executor (3.8) the same calls drive a plain child: its
 * own session, rlimits, the process user, the package as cwd; the timeout
 * kills its process group.
 *
 * Ownership: the runner is one per process, made in main() after the reaper.
 * Each struct ctr belongs to whoever created it, who calls ctr_release()
 * exactly once (also after a failed create). Everything here runs on the loop
 * thread; nothing blocks it except writes of small files to the run
 * directory (a tmpfs) and reads of cgroupfs files. */
#ifndef LRC_CTR_RUN_H
#define LRC_CTR_RUN_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/wq.h"
#include "src/ctr_cgroup.h"
#include "src/ctr_config.h"
#include "src/ctr_reaper.h"

struct ctr_runner;
struct ctr;

/* The IO socket provider (src/iosock.h), so that the runner needs no HAL.
 * open() creates <dir>/io.sock owned by uid:gid for exactly the declared specs;
 * first_write_at() is the CLOCK_REALTIME µs of the first successful
 * gpio_write, or 0; close() drops every connection and the socket. */
struct ctr_io_ops {
    int (*open)(void *arg, const char *dir, uid_t uid, gid_t gid, const char *const *specs,
                size_t n, void **handle, struct error *err);
    int64_t (*first_write_at)(void *handle);
    void (*close)(void *handle);
    void *arg;
};

enum ctr_executor { CTR_EXEC_CRUN, CTR_EXEC_PROCESS };

struct ctr_runner_opts {
    enum ctr_executor executor;
    const char *crun_path;       /* absolute (crun executor) */
    const char *crun_root;       /* crun --root */
    const char *run_dir;         /* bundles: <run_dir>/c/<id>, <run_dir>/p/<id> */
    struct ctr_cgroup cgroup;    /* from ctr_prepare_mountns() */
    const struct ctr_io_ops *io; /* NULL: containers get no IO socket */
};

/* Creates the runner (and <run_dir>/c, <run_dir>/p, crun_root). The reaper
 * and the wq (bundle removal) must outlive it. */
int ctr_runner_new(struct ev_loop *ev, struct ctr_reaper *reaper, struct wq *wq,
                   const struct ctr_runner_opts *o, struct ctr_runner **out,
                   struct error *err) IOT_WUR;

/* Frees the runner. Every ctr must have been released and its deletion
 * finished (ctr_runner_busy() == 0). Accepts NULL. */
void ctr_runner_free(struct ctr_runner *r);

/* Containers not yet completely deleted (including ones being deleted). */
size_t ctr_runner_busy(const struct ctr_runner *r);

enum ctr_executor ctr_runner_executor(const struct ctr_runner *r);
struct ev_loop *ctr_runner_loop(const struct ctr_runner *r);
const struct ctr_cgroup *ctr_runner_cgroup(const struct ctr_runner *r);

/* Adopts the seccomp filter crun compiled for container c (created, not
 * yet deleted): <crun_root>/<id>/seccomp.bpf. Every container created later
 * passes it back (ctr_host.seccomp_bpf_b64) and crun skips compiling the
 * profile, which is the same for all containers. The startup probe calls it
 * once it has seen the filter enforced. Returns 0 or a negated errno. */
int ctr_runner_adopt_seccomp(struct ctr_runner *r, const struct ctr *c) IOT_WUR;

/* Runs `crun <args...>` with the global options (no bundle log) and calls fn
 * with its exit status and up to 64 KiB of its stdout (borrowed for the
 * call). For reconciliation (`list -q`) and the probe. Returns 0 or a negated
 * errno (then fn never runs). */
typedef void (*ctr_cmd_fn)(void *arg, int status, const char *out, size_t len);
int ctr_runner_crun(struct ctr_runner *r, const char *const *args, ctr_cmd_fn fn, void *arg,
                    struct error *err) IOT_WUR;

/* How a container's output is kept. */
enum ctr_output {
    CTR_OUTPUT_LOG,   /* stdout + stderr in one pipe, head and tail of log_max (functions) */
    CTR_OUTPUT_SPLIT, /* stdout: first out_max bytes; stderr: last err_tail bytes (plugin calls) */
    CTR_OUTPUT_FILE,  /* both appended to log_file, rotated to <log_file>.1 at 1 MiB */
};

struct ctr_opts {
    enum ctr_output output;
    size_t log_max;
    size_t out_max, err_tail;
    const char *log_file;
    size_t result_max;           /* function profile: the result file ceiling */
    int io;                      /* give the container an IO socket */
    const char *const *io_specs; /* its declared devices */
    size_t nio;
    /* Process executor only: rlimits derived from these (3.8). */
    int64_t timeout_s;
};

struct ctr_outcome {
    const char *failure; /* not NULL: the container could not be started (crun's message) */
    int exit_code;       /* -1 when killed by a signal */
    int signal;          /* 0 when it exited */
    int timed_out;
    int oom;                /* the memory cgroup counted an OOM kill */
    int64_t started_at;     /* CLOCK_REALTIME µs: `crun start` returned (or the fork) */
    int64_t finished_at;    /* the init was reaped */
    int64_t duration_us;    /* monotonic, started -> reaped */
    int64_t first_write_at; /* 0: no write through the IO socket */
    /* CTR_OUTPUT_LOG */
    const char *log; /* NUL-terminated; valid until ctr_release() */
    size_t log_len;
    uint64_t log_dropped;
    /* CTR_OUTPUT_SPLIT */
    const char *out, *err;
    size_t out_len, err_len;
    int out_truncated;
    /* Function profile: the result file. */
    int result_present;
    int result_too_big;
    const char *result;
    size_t result_len;
};

typedef void (*ctr_created_fn)(void *arg, struct ctr *c, int rc, const struct error *err);
typedef void (*ctr_done_fn)(void *arg, struct ctr *c, const struct ctr_outcome *o);

/* Starts creating a container from spec (deep-copied; the raw device numbers
 * must be filled in). Returns 0 and *out: created() is then called exactly
 * once, rc 0 or a negated errno with crun's own message in err. Or returns a
 * negated errno at once (err set, *out NULL, created() never runs). */
int ctr_create(struct ctr_runner *r, const struct ctr_spec *spec, const struct ctr_opts *opts,
               ctr_created_fn created, void *arg, struct ctr **out, struct error *err) IOT_WUR;

/* Starts a created container: writes context (when not NULL) to
 * /run/function/context.json, feeds input to stdin and closes it, starts
 * it, and kills it after timeout_ms (0: never). Returns 0 and done() runs
 * exactly once with the outcome (o->failure set when `crun start` itself
 * failed); or a negated errno at once (the container died while it waited,
 * the program could not be launched), and done() never runs. */
int ctr_start(struct ctr *c, const char *input, size_t len, const char *context, int64_t timeout_ms,
              ctr_done_fn done, void *arg, struct error *err) IOT_WUR;

/* Sends sig to the container's processes (SIGKILL: all of them). For
 * plugins that run until stopped. Returns 0 or a negated errno. */
int ctr_kill(struct ctr *c, int sig) IOT_WUR;

/* Deletes the container and frees c, asynchronously: no callback of c runs
 * after this call. Safe in any state, including inside c's own callbacks. */
void ctr_release(struct ctr *c);

const char *ctr_id(const struct ctr *c);
int64_t ctr_created_at(const struct ctr *c); /* CLOCK_REALTIME µs */
pid_t ctr_pid(const struct ctr *c);          /* the init, 0 before it is known */
int ctr_alive(const struct ctr *c);          /* created or running, not exited */

/* Fills dev->major/minor from stat(2) of dev->path (4.3). -ENODEV when it is
 * not a character device. */
int ctr_device_resolve(struct ctr_device *dev, struct error *err) IOT_WUR;

#define CTR_ID_LEN 20 /* "lr-" + 16 hex + NUL */

#endif
