/* helpers/hlp.c: see hlp.h.
 *
 * The capability calls are the raw system calls (<linux/capability.h>):
 * dropping everything needs no libcap. The bounding set is emptied before
 * the effective and permitted sets, since PR_CAPBSET_DROP itself needs
 * CAP_SETPCAP. Dropping them all leaves a root helper in its chroot unable
 * to leave it (no CAP_SYS_CHROOT), to bypass file permissions, to mknod,
 * mount or ptrace. */
#include "helpers/hlp.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/json.h"

#define CAP_MAX_PROBE 64

/* LeakSanitizer checks at exit by listing /proc/self/task and ptracing the
 * threads: a chroot without /proc, or a non-dumpable process, makes it fail
 * every run. Sanitized builds (tests only) therefore keep /proc and stay
 * dumpable; they still drop every capability, and RLIMIT_AS would starve
 * ASan's shadow memory. */
#if defined(__SANITIZE_ADDRESS__)
#define HLP_SANITIZED 1
#else
#define HLP_SANITIZED 0
#endif

static void print_line(cJSON *o)
{
    char *text = json_print(o);

    /* One write: the agent reads until EOF, but a partial line in its log
     * would be confusing if the helper were killed half-way. */
    fprintf(stdout, "%s\n", text);
    fflush(stdout);
    free(text);
    cJSON_Delete(o);
}

int hlp_reply_ok(cJSON *obj)
{
    cJSON *o = cJSON_CreateObject(), *it;

    cJSON_AddTrueToObject(o, "ok");
    while (obj != NULL && (it = obj->child) != NULL)
        cJSON_AddItemToObject(o, it->string, cJSON_DetachItemViaPointer(obj, it));
    cJSON_Delete(obj);
    print_line(o);
    return HLP_EXIT_OK;
}

static int reply_error(cJSON *extra, int code, const char *msg)
{
    cJSON *o = cJSON_CreateObject(), *it;

    cJSON_AddFalseToObject(o, "ok");
    json_add_int(o, "errno", code < 0 && code > -4096 ? -code : EIO);
    cJSON_AddStringToObject(o, "error", msg);
    while (extra != NULL && (it = extra->child) != NULL)
        cJSON_AddItemToObject(o, it->string, cJSON_DetachItemViaPointer(extra, it));
    cJSON_Delete(extra);
    print_line(o);
    return HLP_EXIT_FAILED;
}

int hlp_reply_error(cJSON *extra, int code, const char *fmt, ...)
{
    char msg[ERROR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return reply_error(extra, code, msg);
}

int hlp_reply_err(cJSON *extra, const struct error *err)
{
    return reply_error(extra, err->code, err->msg);
}

int hlp_int_arg(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out,
                struct error *err)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (s[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
        return error_set(err, -EINVAL, "--%s: '%.64s' is not an integer in [%lld, %lld]", opt, s,
                         (long long)min, (long long)max);
    *out = v;
    return 0;
}

int hlp_ids_arg(const char *opt, const char *s, uid_t *uid, gid_t *gid, struct error *err)
{
    const char *colon = strchr(s, ':');
    char part[32];
    int64_t u, g;

    if (colon == NULL || (size_t)(colon - s) >= sizeof(part))
        return error_set(err, -EINVAL, "--%s: '%.64s' is not UID:GID", opt, s);
    memcpy(part, s, (size_t)(colon - s));
    part[colon - s] = '\0';
    if (hlp_int_arg(opt, part, 0, 4294967294LL, &u, err) < 0 ||
        hlp_int_arg(opt, colon + 1, 0, 4294967294LL, &g, err) < 0)
        return -EINVAL;
    *uid = (uid_t)u;
    *gid = (gid_t)g;
    return 0;
}

/* ----------------------------------------------------------------- sandbox */

static int drop_capabilities(struct error *err)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

    for (int cap = 0; cap < CAP_MAX_PROBE; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            return error_set(err, -errno, "PR_CAPBSET_DROP %d: %s", cap, strerror(errno));
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return error_set(err, -errno, "PR_CAP_AMBIENT_CLEAR_ALL: %s", strerror(errno));
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capset, &hdr, data) < 0)
        return error_set(err, -errno, "capset: %s", strerror(errno));
    return 0;
}

static int change_ids(uid_t uid, gid_t gid, struct error *err)
{
    if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        return error_set(err, -errno, "cannot become %u:%u: %s", (unsigned)uid, (unsigned)gid,
                         strerror(errno));
    /* A uid change from 0 clears every capability; make sure of it. */
    if (uid != 0 && setuid(0) == 0)
        return error_set(err, -EPERM, "root could be regained after the change of ids");
    return 0;
}

static int limit(int resource, rlim_t v, const char *name, struct error *err)
{
    struct rlimit rl = {v, v};

    if (v == 0)
        return 0;
    if (setrlimit(resource, &rl) < 0)
        return error_set(err, -errno, "setrlimit %s: %s", name, strerror(errno));
    return 0;
}

static int limits(const struct hlp_sandbox *sb, struct error *err)
{
    struct rlimit none = {0, 0};
    int rc = 0;

    /* A core of a helper would hold a token or parts of a blob. */
    if (setrlimit(RLIMIT_CORE, &none) < 0)
        return error_set(err, -errno, "setrlimit RLIMIT_CORE: %s", strerror(errno));
    if (sb->fsize != 0)
        signal(SIGXFSZ, SIG_IGN);
    rc = limit(RLIMIT_FSIZE, sb->fsize, "RLIMIT_FSIZE", err);
    if (rc == 0)
        rc = limit(RLIMIT_NOFILE, sb->nofile, "RLIMIT_NOFILE", err);
    if (rc == 0)
        rc = limit(RLIMIT_CPU, sb->cpu_s, "RLIMIT_CPU", err);
    if (rc == 0 && !HLP_SANITIZED)
        rc = limit(RLIMIT_AS, sb->as, "RLIMIT_AS", err);
    return rc;
}

int hlp_sandbox_enter(struct hlp_sandbox *sb, struct error *err)
{
    int rc = 0;

    sb->in_root = 0;
    if (geteuid() == 0 && sb->root != NULL) {
        if (!HLP_SANITIZED && (chroot(sb->root) < 0 || chdir("/") < 0))
            return error_set(err, -errno, "chroot %s: %s", sb->root, strerror(errno));
        sb->in_root = !HLP_SANITIZED;
        rc = drop_capabilities(err);
    } else if (geteuid() == 0 && sb->set_ids) {
        rc = change_ids(sb->uid, sb->gid, err);
    }
    if (rc < 0)
        return rc;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return error_set(err, -errno, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    /* Not dumpable: another process of the same user can neither ptrace it
     * nor read its /proc files (the board token is in its memory). */
    if (!HLP_SANITIZED && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        return error_set(err, -errno, "PR_SET_DUMPABLE: %s", strerror(errno));
    return limits(sb, err);
}
