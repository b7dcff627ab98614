/* src/ctr_reaper.h: the board agent's child processes, spawned and reaped on the loop.
 *
 * lightning-rod-c is a child subreaper (PR_SET_CHILD_SUBREAPER): a container's
 * init process is re-parented to it when `crun create` exits, and so is any
 * orphan of a plugin. libev's ev_child works only on libev's default loop and
 * the process loop (loop/loop.h) is not that one, so this module owns SIGCHLD:
 * an ev_signal watcher reaps every exited child with waitpid(-1, WNOHANG) and
 * calls whoever watches that pid. The exit of a pid that nobody watches yet is
 * remembered for a while (a container init may die between `crun create` and
 * the moment its pid is read from the pid file); orphans that nobody will ever
 * watch are reaped all the same, so no zombie stays.
 *
 * Invariants: every child of the process is started through ctr_spawn() (or
 * registered with ctr_reaper_watch() right after its fork, before the loop
 * runs again), and nothing else in the process calls wait*(). One reaper per
 * process, made in main() on the loop thread; every function runs on the loop
 * thread. */
#ifndef LRC_CTR_REAPER_H
#define LRC_CTR_REAPER_H

#include <ev.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "common/error.h"

struct ctr_reaper;

/* Called on the loop thread once the child pid has exited; status is the
 * waitpid() status. The watch is gone when this runs. */
typedef void (*ctr_exit_fn)(void *arg, pid_t pid, int status);

/* Makes the process a child subreaper and starts watching SIGCHLD on ev.
 * *out is new: free it with ctr_reaper_free(). */
int ctr_reaper_new(struct ev_loop *ev, struct ctr_reaper **out, struct error *err) IOT_WUR;

/* Stops watching SIGCHLD; pending watches are dropped without a call. Accepts
 * NULL. */
void ctr_reaper_free(struct ctr_reaper *r);

/* Calls fn once pid exits. If pid already exited and its status was kept, fn
 * runs from the loop shortly after (never inside this call). Returns 0, or
 * -EEXIST when pid is already watched. */
int ctr_reaper_watch(struct ctr_reaper *r, pid_t pid, ctr_exit_fn fn, void *arg) IOT_WUR;

/* Forgets the watch of pid (fn will not be called). Harmless if none. */
void ctr_reaper_unwatch(struct ctr_reaper *r, pid_t pid);

/* Children currently watched (for status and tests). */
size_t ctr_reaper_count(const struct ctr_reaper *r);

#define CTR_SPAWN_MAX_RLIMITS 8

/* How to start one child. Borrowed for the duration of ctr_spawn() only. */
struct ctr_spawn {
    const char *path;          /* absolute path of the program */
    char *const *argv;         /* NULL-terminated */
    char *const *envp;         /* NULL-terminated; NULL: an empty environment */
    int fd_in, fd_out, fd_err; /* become 0, 1, 2 in the child; -1: /dev/null */
    int new_session;           /* setsid(): its own process group */
    const char *cwd;           /* NULL: inherit */
    int set_ids;               /* 1: setgroups({gid}), setgid(gid), setuid(uid) */
    uid_t uid;
    gid_t gid;
    int nrlimits;
    struct {
        int resource;
        struct rlimit lim;
    } rlimits[CTR_SPAWN_MAX_RLIMITS];
};

/* Starts a child with exactly the fds 0-2 given (every other descriptor is
 * closed in the child) and watches it: fn is called once it exits. With
 * neither ids, rlimits nor cwd it uses posix_spawn (vfork speed), otherwise
 * fork with only async-signal-safe calls before execve. Returns 0 with *pid
 * set, or a negated errno (exec failures included) with err set, and then fn
 * never runs. */
int ctr_spawn(struct ctr_reaper *r, const struct ctr_spawn *s, ctr_exit_fn fn, void *arg,
              pid_t *pid, struct error *err) IOT_WUR;

#endif
