/* src/ctr_internal.h: the runner's private structures, shared by
 * ctr_runner.c (the runner, crun's argv), ctr_run.c (a container's life
 * cycle with crun), ctr_output.c (its pipes) and ctr_process.c (the process
 * executor). Not for other modules. */
#ifndef LRC_CTR_INTERNAL_H
#define LRC_CTR_INTERNAL_H

#include "src/ctr_capture.h"
#include "src/ctr_run.h"

struct ctr_runner {
    struct ev_loop *ev;
    struct ctr_reaper *reaper;
    struct wq *wq;
    enum ctr_executor executor;
    char *crun_path, *crun_root, *run_dir;
    struct ctr_cgroup cgroup;
    struct ctr_host host;
    char *seccomp_b64; /* owned; host.seccomp_bpf_b64 points here */
    struct ctr_io_ops io;
    int have_io;
    size_t busy; /* containers not yet freed, plus bundle removals in flight */
};

enum ctr_state {
    CTR_CREATING, /* crun create in flight (process: waiting for the deferred callback) */
    CTR_CREATED,  /* ready to start */
    CTR_STARTING, /* crun start in flight */
    CTR_RUNNING,
    CTR_EXITED, /* the init was reaped; draining the output */
    CTR_DONE,   /* outcome delivered */
    CTR_FAILED, /* create failed */
};

struct ctr {
    struct ctr_runner *r;
    char id[CTR_ID_LEN];
    char *bundle;
    enum ctr_profile profile;
    enum ctr_state st;
    struct ctr_opts opts; /* strings deep-copied below */
    char **io_specs;
    char *log_file;
    /* Process executor: what to exec at start. */
    char **args, **env;
    char *cwd;
    uid_t uid;
    gid_t gid;
    int set_ids;
    int64_t memory, pids, file_size;

    int in_w, log_r, err_r, logfd;
    int child_fds[3]; /* process executor: the child's pipe ends until the fork */
    int64_t logfile_size;
    ev_io log_io, err_io, in_io;
    ev_timer timeout_t, grace_t, defer_t, kill_t;
    char *input;
    size_t input_len, input_off;

    pid_t cmd_pid; /* the crun command in flight, 0 when none */
    pid_t init_pid;
    int init_watched;
    void *io;
    struct ctr_capture cap_out, cap_err;

    int exited, status, log_eof, err_eof, timed_out, released, deleting;
    int64_t created_at, started_at, finished_at, mono_start, mono_end;
    int64_t launch_us, launch_mono;         /* crun start (or the fork) was launched */
    int64_t t_create, t_spawned, t_created; /* monotonic µs, for the debug line */
    double timeout_s;
    char failure[ERROR_MSG_MAX];
    struct error create_err;
    int create_rc;

    char *log_text, *out_text, *err_text, *result;
    struct ctr_outcome outcome;

    ctr_created_fn created;
    ctr_done_fn done;
    void *created_arg, *done_arg;
};

/* ctr_runner.c */
extern char *const ctr_int_crun_env[];
char **ctr_int_crun_argv(const struct ctr_runner *r, const char *bundle, const char *const *args);
void ctr_int_free_strv(char **v);
char **ctr_int_dup_strv(char *const *v);

/* ctr_output.c */
void ctr_int_close_input(struct ctr *c);

/* ctr_run.c, for ctr_process.c and ctr_output.c */
int ctr_int_pipes(struct ctr *c, int *in_r, int *out_w, int *err_w, struct error *err);
void ctr_int_on_exit(void *arg, pid_t pid, int status);
void ctr_int_feed_input(struct ctr *c);
void ctr_int_check_finished(struct ctr *c);
void ctr_int_defer(struct ctr *c);
void ctr_int_free(struct ctr *c);

/* ctr_process.c */
int ctr_proc_create(struct ctr *c, struct error *err);
int ctr_proc_start(struct ctr *c, struct error *err);
void ctr_proc_kill(struct ctr *c, int sig);
void ctr_proc_delete(struct ctr *c);
void ctr_proc_exited(struct ctr *c);

#endif
