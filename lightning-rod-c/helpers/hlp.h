/* helpers/hlp.h: what the agent's helper programs (lrc-fetch, lrc-unpack) share.
 *
 * The agent side of the protocol is src/helper.h: a helper gets its job on
 * argv (and secrets or large requests on stdin), writes exactly one JSON
 * object on one line to stdout and exits HLP_EXIT_OK with {"ok": true, ...}
 * or HLP_EXIT_FAILED with {"ok": false, "errno": N, "error": "..."}. A bad
 * command line is answered the same way, with HLP_EXIT_USAGE.
 *
 * Before it reads any outside input (a response, an archive) a helper
 * enters its sandbox with hlp_sandbox_enter(): what it needs from the file
 * system is opened first, then, when it runs as root, it either moves into
 * a chroot and gives up every capability, or becomes an unprivileged user;
 * in every case no_new_privs, a non-dumpable process and resource limits.
 *
 * Helpers are single-threaded programs (libcurl's resolver thread aside);
 * nothing here keeps state. */
#ifndef LRC_HELPERS_HLP_H
#define LRC_HELPERS_HLP_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "common/error.h"

#define HLP_EXIT_OK 0
#define HLP_EXIT_FAILED 1
#define HLP_EXIT_USAGE 2

/* Prints obj (taken) as the result line with "ok": true first. Returns
 * HLP_EXIT_OK. */
int hlp_reply_ok(cJSON *obj);

/* Prints {"ok": false, "errno": -code, "error": <formatted>} plus the
 * members of extra (taken; may be NULL). Returns HLP_EXIT_FAILED. */
int hlp_reply_error(cJSON *extra, int code, const char *fmt, ...) IOT_PRINTF(3, 4);

/* The same for err (its message and code). */
int hlp_reply_err(cJSON *extra, const struct error *err);

/* A decimal integer option in [min, max]; -EINVAL with the option named. */
int hlp_int_arg(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out,
                struct error *err) IOT_WUR;

/* "UID:GID" into uid and gid; -EINVAL with the option named. */
int hlp_ids_arg(const char *opt, const char *s, uid_t *uid, gid_t *gid, struct error *err) IOT_WUR;

struct hlp_sandbox {
    const char *root; /* as root: chroot here and drop every capability */
    int set_ids;      /* as root: become uid:gid (no groups) instead */
    uid_t uid;
    gid_t gid;
    /* RLIMIT_FSIZE (SIGXFSZ is ignored: writes fail with EFBIG); 0: keep.
     * It also bounds stderr when that is the agent's log file: keep it
     * far above any log's size. */
    rlim_t fsize;
    rlim_t nofile, cpu_s, as; /* RLIMIT_NOFILE, RLIMIT_CPU, RLIMIT_AS; 0: keep */
    int in_root;              /* set by hlp_sandbox_enter(): "/" is now root */
};

/* Enters the sandbox described by sb. Without root, the chroot and the
 * change of ids are skipped (the helper has no more rights than the agent
 * that runs it); the rest always applies. AddressSanitizer builds (tests)
 * skip the chroot, non-dumpability and RLIMIT_AS, which LeakSanitizer and
 * ASan's shadow memory cannot live with. Returns 0, or a negated errno with
 * the failing step in err; the helper must then stop. */
int hlp_sandbox_enter(struct hlp_sandbox *sb, struct error *err) IOT_WUR;

#endif
