/* src/cmdrun.h: a host command run for the agent (package operations, the
 * upgrade and reboot commands of board-protocol.md 6.5).
 *
 * argv only (argv[0] an absolute path), never a shell; stdout and stderr go
 * into one pipe read on the loop, keeping the last tail_max bytes; the exit
 * comes through the reaper (src/ctr_reaper.h). A command still running after
 * timeout_s is killed (its process group: it runs in its own session).
 * Loop thread. A struct lrc_cmd belongs to the agent module that started it
 * until its callback ran (it is freed right after) or lrc_cmd_cancel(). */
#ifndef LRC_SRC_CMDRUN_H
#define LRC_SRC_CMDRUN_H

#include <stddef.h>

#include "common/error.h"
#include "src/ctr_reaper.h"

struct lrc_cmd;

/* status: the waitpid() status; output: the last tail_max bytes of stdout
 * and stderr together (NUL-terminated, borrowed for the call); timed_out 1
 * when it was killed for taking too long. */
typedef void (*lrc_cmd_fn)(void *arg, int status, const char *output, size_t len, int timed_out);

/* Starts argv with envp (NULL: PATH and LANG=C only). Returns 0 (fn, which
 * may be NULL, runs later, exactly once, unless cancelled) or a negated errno with err set
 * (the program cannot be started; fn never runs). */
int lrc_cmd_start(struct ev_loop *ev, struct ctr_reaper *reaper, char *const *argv,
                  char *const *envp, size_t tail_max, double timeout_s, lrc_cmd_fn fn, void *arg,
                  struct lrc_cmd **out, struct error *err) IOT_WUR;

/* Kills the command (SIGKILL to its group) and forgets it: fn will not run. */
void lrc_cmd_cancel(struct lrc_cmd *c);

/* Describes a waitpid() status: "exit 0", "killed by signal 9". Returns out. */
char *lrc_cmd_status_str(int status, char *out, size_t cap);

/* Finds an executable named name in the standard system directories
 * (/usr/local/sbin ... /bin). Returns a new absolute path, or NULL. */
char *lrc_cmd_which(const char *name);

#endif
