/* src/ctr_config.c: see ctr_config.h. Section numbers are deviceless-api.md's. */
#include "src/ctr_config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "common/xalloc.h"
#include "src/ctr_seccomp.h"

#define CPU_PERIOD_US 100000
#define OOM_SCORE_ADJ 500
#define NOFILE_LIMIT 1024

/* The defaults crun spec emits (4.2). */
static const char *const masked_default[] = {
    "/proc/acpi",          "/proc/asound",     "/proc/kcore",       "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/sys/firmware",       "/proc/scsi",
};
static const char *const readonly_default[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static cJSON *str_array(const char *const *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();

    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    return a;
}

static cJSON *strv_array(char *const *v)
{
    cJSON *a = cJSON_CreateArray();

    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    return a;
}

static void add_mount(cJSON *mounts, const char *dest, const char *type, const char *source,
                      const char *const *opts, size_t nopts)
{
    cJSON *m = cJSON_CreateObject();

    cJSON_AddStringToObject(m, "destination", dest);
    cJSON_AddStringToObject(m, "type", type);
    cJSON_AddStringToObject(m, "source", source);
    cJSON_AddItemToObject(m, "options", str_array(opts, nopts));
    cJSON_AddItemToArray(mounts, m);
}

static void add_rlimit(cJSON *arr, const char *type, int64_t soft, int64_t hard)
{
    cJSON *r = cJSON_CreateObject();

    cJSON_AddStringToObject(r, "type", type);
    json_add_int(r, "hard", hard);
    json_add_int(r, "soft", soft);
    cJSON_AddItemToArray(arr, r);
}

static cJSON *build_process(const struct ctr_spec *s)
{
    static const char *const sets[] = {"bounding", "effective", "inheritable", "permitted",
                                       "ambient"};
    cJSON *p = cJSON_CreateObject(), *user, *caps, *rl;

    cJSON_AddBoolToObject(p, "terminal", 0);
    user = cJSON_AddObjectToObject(p, "user");
    json_add_int(user, "uid", s->uid);
    json_add_int(user, "gid", s->gid);
    cJSON_AddItemToObject(p, "args", strv_array(s->args));
    cJSON_AddItemToObject(p, "env", strv_array(s->env));
    cJSON_AddStringToObject(p, "cwd", s->cwd);
    caps = cJSON_AddObjectToObject(p, "capabilities");
    for (size_t i = 0; i < NELEM(sets); i++)
        cJSON_AddItemToObject(caps, sets[i], cJSON_CreateArray());
    rl = cJSON_AddArrayToObject(p, "rlimits");
    add_rlimit(rl, "RLIMIT_NOFILE", NOFILE_LIMIT, NOFILE_LIMIT);
    add_rlimit(rl, "RLIMIT_CORE", 0, 0);
    if (s->file_size > 0)
        add_rlimit(rl, "RLIMIT_FSIZE", s->file_size, s->file_size);
    cJSON_AddBoolToObject(p, "noNewPrivileges", 1);
    json_add_int(p, "oomScoreAdj", OOM_SCORE_ADJ);
    return p;
}

/* /proc, /dev and its children, /sys and the cgroup tree, as crun spec
 * emits them except /dev/shm's size (4.5). The plugin profile takes /sys
 * from the host binds' absence: sysfs is mounted here too. */
static void add_base_mounts(cJSON *mounts)
{
    static const char *const dev[] = {"nosuid", "strictatime", "mode=755", "size=65536k"};
    static const char *const pts[] = {"nosuid",        "noexec",    "newinstance",
                                      "ptmxmode=0666", "mode=0620", "gid=5"};
    static const char *const shm[] = {"nosuid", "noexec", "nodev", "mode=1777", "size=8m"};
    static const char *const mq[] = {"nosuid", "noexec", "nodev"};
    static const char *const sys[] = {"nosuid", "noexec", "nodev", "ro"};
    static const char *const cg[] = {"nosuid", "noexec", "nodev", "relatime", "ro"};

    add_mount(mounts, "/proc", "proc", "proc", NULL, 0);
    add_mount(mounts, "/dev", "tmpfs", "tmpfs", dev, NELEM(dev));
    add_mount(mounts, "/dev/pts", "devpts", "devpts", pts, NELEM(pts));
    add_mount(mounts, "/dev/shm", "tmpfs", "shm", shm, NELEM(shm));
    add_mount(mounts, "/dev/mqueue", "mqueue", "mqueue", mq, NELEM(mq));
    add_mount(mounts, "/sys", "sysfs", "sysfs", sys, NELEM(sys));
    add_mount(mounts, "/sys/fs/cgroup", "cgroup", "cgroup", cg, NELEM(cg));
}

static void add_bind(cJSON *mounts, const char *dest, const char *source, int ro, int noexec)
{
    const char *opts[5];
    size_t n = 0;

    opts[n++] = "rbind";
    opts[n++] = ro ? "ro" : "rw";
    opts[n++] = "nosuid";
    opts[n++] = "nodev";
    if (noexec)
        opts[n++] = "noexec";
    add_mount(mounts, dest, "bind", source, opts, n);
}

static cJSON *build_mounts(const struct ctr_spec *s, const char *bundle)
{
    cJSON *mounts = cJSON_CreateArray();
    char path[4096], size[64];
    const char *tmp[4] = {"nosuid", "nodev", "mode=1777", size};

    add_base_mounts(mounts);
    for (size_t i = 0; i < s->nbinds; i++)
        add_bind(mounts, s->binds[i].dest, s->binds[i].source, s->binds[i].readonly, 0);
    if (s->code_dir != NULL)
        add_bind(mounts, "/code", s->code_dir, 1, 0);
    if (s->profile == CTR_PROFILE_FUNCTION) {
        snprintf(path, sizeof(path), "%s/fn", bundle);
        add_bind(mounts, "/run/function", path, 0, 1);
    }
    if (s->with_io) {
        snprintf(path, sizeof(path), "%s/io", bundle);
        add_bind(mounts, "/run/iotronic", path, 1, 1);
    }
    snprintf(size, sizeof(size), "size=%lld", (long long)s->tmp_size);
    add_mount(mounts, "/tmp", "tmpfs", "tmpfs", tmp, NELEM(tmp));
    return mounts;
}

static cJSON *device_rule(int allow, const char *type, int64_t major, int64_t minor,
                          const char *access)
{
    cJSON *r = cJSON_CreateObject();

    cJSON_AddBoolToObject(r, "allow", allow);
    if (type != NULL)
        cJSON_AddStringToObject(r, "type", type);
    if (major >= 0)
        json_add_int(r, "major", major);
    if (minor >= 0)
        json_add_int(r, "minor", minor);
    cJSON_AddStringToObject(r, "access", access);
    return r;
}

static cJSON *build_resources(const struct ctr_spec *s, const struct ctr_host *h)
{
    cJSON *res = cJSON_CreateObject(), *devs;

    /* Deny-all first; crun adds its defaults (null, zero, tty...) after (4.3). */
    devs = cJSON_AddArrayToObject(res, "devices");
    cJSON_AddItemToArray(devs, device_rule(0, NULL, -1, -1, "rwm"));
    for (size_t i = 0; i < s->ndevices; i++)
        if (s->devices[i].allow)
            cJSON_AddItemToArray(
                devs, device_rule(1, "c", s->devices[i].major, s->devices[i].minor, "rw"));
    if (s->memory > 0) {
        cJSON *m = cJSON_AddObjectToObject(res, "memory");

        json_add_int(m, "limit", s->memory);
        if (h->swap_accounting)
            json_add_int(m, "swap", s->memory);
    }
    if (s->cpu_milli > 0) {
        cJSON *c = cJSON_AddObjectToObject(res, "cpu");

        json_add_int(c, "quota", s->cpu_milli * CPU_PERIOD_US / 1000);
        json_add_int(c, "period", CPU_PERIOD_US);
    }
    if (s->pids > 0)
        json_add_int(cJSON_AddObjectToObject(res, "pids"), "limit", s->pids);
    return res;
}

static cJSON *build_devices(const struct ctr_spec *s)
{
    cJSON *arr = cJSON_CreateArray();

    for (size_t i = 0; i < s->ndevices; i++) {
        const struct ctr_device *d = &s->devices[i];
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "path", d->path);
        cJSON_AddStringToObject(o, "type", "c");
        json_add_int(o, "major", d->major);
        json_add_int(o, "minor", d->minor);
        json_add_int(o, "fileMode", d->file_mode);
        json_add_int(o, "uid", s->uid);
        json_add_int(o, "gid", s->gid);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static cJSON *build_linux(const struct ctr_spec *s, const struct ctr_host *h, const char *id)
{
    static const char *const ns[] = {"pid", "ipc", "uts", "mount", "network"};
    cJSON *l = cJSON_CreateObject(), *nss, *masked;
    char cgpath[256];

    cJSON_AddItemToObject(l, "resources", build_resources(s, h));
    nss = cJSON_AddArrayToObject(l, "namespaces");
    for (size_t i = 0; i < NELEM(ns); i++) {
        if (i == NELEM(ns) - 1 && s->network_host)
            break;
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "type", ns[i]);
        cJSON_AddItemToArray(nss, o);
    }
    if (s->ndevices > 0)
        cJSON_AddItemToObject(l, "devices", build_devices(s));
    masked = str_array(masked_default, NELEM(masked_default));
    for (size_t i = 0; s->masked != NULL && s->masked[i] != NULL; i++)
        cJSON_AddItemToArray(masked, cJSON_CreateString(s->masked[i]));
    cJSON_AddItemToObject(l, "maskedPaths", masked);
    cJSON_AddItemToObject(l, "readonlyPaths", str_array(readonly_default, NELEM(readonly_default)));
    cJSON_AddItemToObject(l, "seccomp", ctr_seccomp_profile());
    snprintf(cgpath, sizeof(cgpath), "%s/%s", CTR_CGROUP_PARENT, id);
    cJSON_AddStringToObject(l, "cgroupsPath", cgpath);
    return l;
}

static int check_spec(const struct ctr_spec *s, const char *bundle, struct error *err)
{
    if (s->args == NULL || s->args[0] == NULL)
        return error_set(err, -EINVAL, "container has no program to run");
    if (s->rootfs == NULL || s->rootfs[0] != '/')
        return error_set(err, -EINVAL, "container rootfs must be an absolute path");
    if (s->cwd == NULL || s->cwd[0] != '/')
        return error_set(err, -EINVAL, "container cwd must be an absolute path");
    if (bundle == NULL || bundle[0] != '/')
        return error_set(err, -EINVAL, "bundle must be an absolute path");
    if (s->code_dir != NULL && s->code_dir[0] != '/')
        return error_set(err, -EINVAL, "code directory must be an absolute path");
    for (size_t i = 0; i < s->nbinds; i++)
        if (s->binds[i].dest[0] != '/' || s->binds[i].source[0] != '/')
            return error_set(err, -EINVAL, "bind mounts need absolute paths");
    return 0;
}

cJSON *ctr_config_build(const struct ctr_spec *s, const struct ctr_host *h, const char *id,
                        const char *bundle, struct error *err)
{
    cJSON *c, *root;

    if (check_spec(s, bundle, err) < 0)
        return NULL;
    c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "ociVersion", "1.0.0");
    cJSON_AddItemToObject(c, "process", build_process(s));
    root = cJSON_AddObjectToObject(c, "root");
    cJSON_AddStringToObject(root, "path", s->rootfs);
    cJSON_AddBoolToObject(root, "readonly", 1);
    cJSON_AddStringToObject(c, "hostname", "fn");
    cJSON_AddItemToObject(c, "mounts", build_mounts(s, bundle));
    cJSON_AddItemToObject(c, "linux", build_linux(s, h, id));
    if (h->seccomp_bpf_b64 != NULL)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "annotations"),
                                "run.oci.seccomp_bpf_data", h->seccomp_bpf_b64);
    return c;
}
