/* src/rpc_device.c: the Device* procedures (board-protocol.md 6.5); see
 * device.h. Quick ones answer at once; package operations and upgrades
 * answer RUNNING and report through notify_result; reboot and restart act
 * after their delay, on a timer, once the reply is on its way. */
#include "src/device.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "hal/caps.h"
#include "src/cmdrun.h"
#include "src/netinfo.h"
#include "src/restsubmit.h"
#include "src/rpc.h"

#define SAY_MAX 4096
#define CMD_TIMEOUT_S 3600.0
#define MOUNTS_MAX (1 << 20)

struct op {
    struct op *next;
    struct lrc_device *d;
    struct lrc_call *c;
    struct lrc_cmd *cmd;
    int upgrade;
};

struct lrc_device {
    struct lrc_agent *a;
    struct lrc_rest *rest;
    struct op *ops;
    ev_timer later; /* reboot or restart after its delay */
    int later_restart;
};

/* ------------------------------------------------------------- helpers */

static void timestamp(char out[TIME_ISO_LEN])
{
    time_format(time_now_us(), TIME_SPACE_US, out);
}

static int params_of(struct lrc_call *c, const cJSON *args, const cJSON **p)
{
    struct error err;

    if (lrc_arg_params(args, p, &err) < 0) {
        lrc_call_error(c, err.msg);
        return -1;
    }
    return 0;
}

/* delay in [min, max] seconds, def when absent. -1 after answering. */
static int64_t delay_of(struct lrc_call *c, const cJSON *p, int64_t min, int64_t max, int64_t def)
{
    struct error err;
    int64_t v;
    int rc = json_get_int(p, "delay", JSON_NULLABLE, min, max, &v, &err);

    if (rc < 0 && rc != -ENOENT) {
        lrc_call_error(c, err.msg);
        return -1;
    }
    return rc == 0 ? v : def;
}

/* ---------------------------------------------------------- quick ones */

static void device_ping(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    char host[256] = "board", ts[TIME_ISO_LEN];

    (void)a;
    (void)args;
    if (gethostname(host, sizeof(host)) < 0)
        snprintf(host, sizeof(host), "board");
    host[sizeof(host) - 1] = '\0';
    timestamp(ts);
    lrc_call_replyf(c, WAMP_RESULT_SUCCESS, "%s @ %s", host, ts);
}

static void device_echo(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    const cJSON *p;
    const char *say;
    char ts[TIME_ISO_LEN];
    struct error err;

    (void)a;
    if (params_of(c, args, &p) < 0)
        return;
    if (json_get_str(p, "say", JSON_REQUIRED, SAY_MAX, &say, &err) < 0) {
        lrc_call_error(c, err.msg);
        return;
    }
    timestamp(ts);
    lrc_call_replyf(c, WAMP_RESULT_SUCCESS, "%s @ %s", say, ts);
}

static void device_netconfig(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    (void)a;
    (void)args;
    lrc_call_reply(c, WAMP_RESULT_SUCCESS, lrc_netinfo_interfaces());
}

static void device_caps(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    (void)args;
    lrc_call_reply(c, WAMP_RESULT_SUCCESS, lrc_device_caps(a));
}

static cJSON *mounts(void)
{
    cJSON *o = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(o, "mounts");
    FILE *f = fopen("/proc/self/mounts", "re");
    char line[4096];
    size_t total = 0;

    while (f != NULL && fgets(line, sizeof(line), f) != NULL && total < MOUNTS_MAX) {
        char dev[1024], dir[1024], type[64], opts[1024];
        cJSON *m;

        total += strlen(line);
        if (sscanf(line, "%1023s %1023s %63s %1023s", dev, dir, type, opts) != 4)
            continue;
        m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "device", dev);
        cJSON_AddStringToObject(m, "mountpoint", dir);
        cJSON_AddStringToObject(m, "type", type);
        cJSON_AddStringToObject(m, "options", opts);
        cJSON_AddItemToArray(list, m);
    }
    if (f != NULL)
        fclose(f);
    return o;
}

static void device_mountfs(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    const cJSON *p;
    const char *cmd;
    struct error err;

    (void)a;
    if (params_of(c, args, &p) < 0)
        return;
    if (json_get_str(p, "mnt_cmd", JSON_REQUIRED, 64, &cmd, &err) < 0) {
        lrc_call_error(c, err.msg);
        return;
    }
    if (strcmp(cmd, "mount_status") != 0) {
        lrc_call_error(c, "Not supported on this board.");
        return;
    }
    lrc_call_reply(c, WAMP_RESULT_SUCCESS, mounts());
}

/* ---------------------------------------------- reboot, restart, reset */

static void run_reboot(struct lrc_device *d)
{
    struct error err;
    struct lrc_cmd *cmd;

    log_warn("rebooting the board: %s", d->a->conf->reboot_command);
    if (lrc_cmd_start(loop_ev(d->a->loop), d->a->reaper, d->a->conf->reboot_argv, NULL, 4096, 60.0,
                      NULL, NULL, &cmd, &err) < 0)
        log_error("reboot: %s", err.msg);
}

static void on_later(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct lrc_device *d = t->data;

    (void)ev;
    (void)revents;
    if (d->later_restart) {
        log_info("restarting as asked (DeviceRestartLR): exiting with status 0");
        lrc_agent_stop(d->a, 0);
    } else {
        run_reboot(d);
    }
}

static void schedule_later(struct lrc_device *d, int64_t delay, int restart)
{
    d->later_restart = restart;
    ev_timer_stop(loop_ev(d->a->loop), &d->later);
    ev_timer_set(&d->later, (double)delay, 0.);
    ev_timer_start(loop_ev(d->a->loop), &d->later);
}

static void device_reboot(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    const cJSON *p;
    int64_t delay;

    if (!a->conf->allow_reboot) {
        lrc_call_error(c, "Reboot is disabled on this board.");
        return;
    }
    if (params_of(c, args, &p) < 0 || (delay = delay_of(c, p, 3, 3600, 3)) < 0)
        return;
    lrc_call_replyf(c, WAMP_RESULT_SUCCESS, "Rebooting in %lld s", (long long)delay);
    schedule_later(a->device, delay, 0);
}

static void device_restart(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    const cJSON *p;
    int64_t delay;

    if (!a->conf->allow_restart) {
        lrc_call_error(c, "Restart is disabled on this board.");
        return;
    }
    if (params_of(c, args, &p) < 0 || (delay = delay_of(c, p, 0, 3600, 3)) < 0)
        return;
    lrc_call_replyf(c, WAMP_RESULT_SUCCESS, "Restarting lightning-rod-c in %lld s",
                    (long long)delay);
    schedule_later(a->device, delay, 1);
}

static void on_reset(struct ev_loop *ev, ev_timer *t, int revents)
{
    struct lrc_agent *a = t->data;

    (void)revents;
    ev_timer_stop(ev, t);
    free(t);
    lrc_agent_factory_reset(a);
}

static void device_factory_reset(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    ev_timer *t;

    (void)args;
    if (!a->conf->allow_factory_reset) {
        lrc_call_error(c, "Factory reset is disabled on this board.");
        return;
    }
    lrc_call_success(c, "Factory reset: the board returns to its first boot");
    /* On the next iteration, so that the reply leaves before the session. */
    t = xmalloc(sizeof(*t));
    ev_timer_init(t, on_reset, 0., 0.);
    t->data = a;
    ev_timer_start(loop_ev(a->loop), t);
}

/* ------------------------------------------------ package operations */

static void op_unlink(struct op *o)
{
    for (struct op **p = &o->d->ops; *p != NULL; p = &(*p)->next)
        if (*p == o) {
            *p = o->next;
            return;
        }
}

static void op_done(void *arg, int status, const char *output, size_t len, int timed_out)
{
    struct op *o = arg;
    struct lrc_device *d = o->d;
    char st[64];
    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && !timed_out;

    (void)len;
    lrc_cmd_status_str(status, st, sizeof(st));
    lrc_call_replyf(o->c, ok ? WAMP_RESULT_SUCCESS : WAMP_RESULT_ERROR, "%s%s: %s",
                    timed_out ? "timed out, " : "", st, output);
    op_unlink(o);
    if (ok && o->upgrade) {
        log_info("upgrade done: restarting");
        schedule_later(d, 1, 1);
    }
    free(o);
}

static void start_op(struct lrc_agent *a, struct lrc_call *c, char **argv, int upgrade,
                     const char *running)
{
    static char *const env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                "LANG=C", "DEBIAN_FRONTEND=noninteractive", NULL};
    struct op *o = xcalloc(1, sizeof(*o));
    struct error err;

    o->d = a->device;
    o->c = c;
    o->upgrade = upgrade;
    if (lrc_cmd_start(loop_ev(a->loop), a->reaper, argv, env, LRC_PKG_OUTPUT_MAX, CMD_TIMEOUT_S,
                      op_done, o, &o->cmd, &err) < 0) {
        free(o);
        lrc_call_error(c, err.msg);
        return;
    }
    o->next = a->device->ops;
    a->device->ops = o;
    lrc_call_running(c, cJSON_CreateString(running));
}

/* An optional string parameter: 0 (absent or null leave *out NULL) or -EINVAL. */
static int opt_str(const cJSON *p, const char *key, size_t max, const char **out, struct error *err)
{
    int rc = json_get_str(p, key, JSON_NULLABLE, max, out, err);

    if (rc == -ENOENT || rc == 1) {
        *out = NULL;
        return 0;
    }
    return rc;
}

/* Reads the package operation's arguments; answers and returns -1 on error. */
static int pkg_args(struct lrc_agent *a, struct lrc_call *c, const cJSON *p, const char **mgr,
                    const char **cmd, const char **pkg, const char **ver)
{
    struct error err;

    if (lrc_words_count(a->conf->pkg_list) == 0) {
        lrc_call_error(c, "Package operations are disabled on this board.");
        return -1;
    }
    if (cJSON_GetObjectItemCaseSensitive(p, "options") != NULL &&
        !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(p, "options"))) {
        lrc_call_error(c, "options are not supported");
        return -1;
    }
    if (json_get_str(p, "manager", JSON_REQUIRED, 16, mgr, &err) < 0 ||
        json_get_str(p, "command", JSON_REQUIRED, 16, cmd, &err) < 0 ||
        opt_str(p, "package", 256, pkg, &err) < 0 || opt_str(p, "version", 256, ver, &err) < 0)
        goto bad;
    if (!lrc_words_has(a->conf->pkg_list, *mgr)) {
        error_set(&err, -EINVAL, "manager %s is not allowed on this board", *mgr);
        goto bad;
    }
    if (*pkg != NULL && !lrc_pkg_name_valid(*pkg)) {
        error_set(&err, -EINVAL, "package is not a valid package name");
        goto bad;
    }
    if (*ver != NULL && !lrc_pkg_version_valid(*ver)) {
        error_set(&err, -EINVAL, "version is not a valid version");
        goto bad;
    }
    return 0;
bad:
    lrc_call_error(c, err.msg);
    return -1;
}

static void device_pkg(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    const cJSON *p;
    const char *mgr, *cmd, *pkg, *ver;
    struct error err;
    char **argv;

    if (params_of(c, args, &p) < 0 || pkg_args(a, c, p, &mgr, &cmd, &pkg, &ver) < 0)
        return;
    argv = lrc_pkg_argv(mgr, cmd, pkg, ver, &err);
    if (argv == NULL) {
        lrc_call_error(c, err.msg);
        return;
    }
    log_info("package operation: %s %s %s", mgr, cmd, pkg ? pkg : "");
    start_op(a, c, argv, 0, "Package operation started");
    lrc_words_free(argv);
}

static void device_upgrade(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    const cJSON *p;
    const char *version;
    struct error err;
    char **argv;
    size_t n;

    if (params_of(c, args, &p) < 0)
        return;
    if (json_get_str(p, "version", JSON_REQUIRED, 256, &version, &err) < 0) {
        lrc_call_error(c, err.msg);
        return;
    }
    if (!lrc_pkg_version_valid(version)) {
        lrc_call_error(c, "version is not a valid version");
        return;
    }
    if (a->conf->upgrade_argv == NULL) {
        lrc_call_error(c, "Upgrade is not configured on this board.");
        return;
    }
    n = lrc_words_count(a->conf->upgrade_argv);
    argv = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        argv[i] = strcmp(a->conf->upgrade_argv[i], "{version}") == 0
                      ? xstrdup(version)
                      : xstrdup(a->conf->upgrade_argv[i]);
    log_info("upgrade to %s: %s", version, a->conf->upgrade_command);
    start_op(a, c, argv, 1, "Upgrade started");
    lrc_words_free(argv);
}

/* ----------------------------------------------------------- REST submit */

static void rest_done(void *arg, int rc, cJSON *reply, const char *error)
{
    if (rc < 0)
        lrc_call_error(arg, error);
    else
        lrc_call_reply(arg, WAMP_RESULT_SUCCESS, reply);
}

static void device_rest(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    struct lrc_rest_req req;
    const cJSON *p;
    struct error err;

    if (params_of(c, args, &p) < 0)
        return;
    if (lrc_rest_parse(p, a->conf->rest_allow, &req, &err) < 0 ||
        lrc_rest_start(a->device->rest, &req, rest_done, c, &err) < 0)
        lrc_call_error(c, err.msg);
}

/* ----------------------------------------------------------------- caps */

const char *lrc_device_arch(void)
{
    static const struct {
        const char *machine, *arch;
    } map[] = {{"x86_64", "amd64"},    {"aarch64", "arm64"},   {"armv7l", "armhf"},
               {"armv6l", "armel"},    {"i686", "i386"},       {"i586", "i386"},
               {"riscv64", "riscv64"}, {"ppc64le", "ppc64el"}, {"s390x", "s390x"},
               {"mips64", "mips64el"}};
    struct utsname u;

    if (uname(&u) < 0)
        return "unknown";
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(u.machine, map[i].machine) == 0)
            return map[i].arch;
    return "unknown";
}

cJSON *lrc_device_caps(struct lrc_agent *a)
{
    cJSON *caps = a->fn ? fn_caps(a->fn) : cJSON_CreateObject();
    struct sysinfo si;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    cJSON_AddStringToObject(caps, "arch", lrc_device_arch());
    json_add_int(caps, "cpus", cpus > 0 ? cpus : 1);
    json_add_int(caps, "mem_bytes",
                 sysinfo(&si) == 0 ? (int64_t)si.totalram * (int64_t)si.mem_unit : 0);
    hal_caps_fill(a->hal, caps);
    return caps;
}

/* -------------------------------------------------------------- module */

struct lrc_device *lrc_device_new(struct lrc_agent *a)
{
    struct lrc_device *d = xcalloc(1, sizeof(*d));

    d->a = a;
    d->rest = lrc_rest_new(loop_ev(a->loop), a->reaper, 1, (uid_t)a->conf->fn.container_uid,
                           (gid_t)a->conf->fn.container_gid);
    ev_timer_init(&d->later, on_later, 0., 0.);
    d->later.data = d;
    return d;
}

void lrc_device_free(struct lrc_device *d)
{
    if (d == NULL)
        return;
    ev_timer_stop(loop_ev(d->a->loop), &d->later);
    while (d->ops != NULL) {
        struct op *o = d->ops;

        d->ops = o->next;
        lrc_cmd_cancel(o->cmd);
        /* The call answered RUNNING: its outcome is lost with the process;
         * the cloud's request keeps its RUNNING result. */
        lrc_call_reply(o->c, WAMP_RESULT_ERROR,
                       cJSON_CreateString("The agent stopped during the operation."));
        free(o);
    }
    lrc_rest_free(d->rest);
    free(d);
}

const struct lrc_rpc_method lrc_rpc_device[] = {
    {"DevicePing", device_ping},
    {"DeviceEcho", device_echo},
    {"DeviceNetConfig", device_netconfig},
    {"DeviceReboot", device_reboot},
    {"DeviceRestartLR", device_restart},
    {"DeviceUpgradeLR", device_upgrade},
    {"DevicePkgOperation", device_pkg},
    {"DeviceMountFs", device_mountfs},
    {"DeviceFactoryReset", device_factory_reset},
    {"DeviceRestSubmit", device_rest},
    {"DeviceCaps", device_caps},
    {NULL, NULL},
};
