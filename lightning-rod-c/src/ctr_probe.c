/* src/ctr_probe.c: see ctr_probe.h. */
#include "src/ctr_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "src/fn_fs.h"

#define PROBE_MEMORY (16LL << 20)
#define PROBE_PIDS 16
#define PROBE_CPU 100
#define PROBE_TIMEOUT_MS 10000
#define PROBE_BINARY_MAX (16 << 20)
#define KMSG_MAJOR 1
#define KMSG_MINOR 11

struct probe {
    struct ctr_runner *r;
    struct ctr_probe_result res;
    ctr_probe_fn fn;
    void *arg;
    char *rootfs;
    int64_t quota_expected;
    uid_t uid;
    gid_t gid;
};

static void probe_finish(struct probe *p, struct ctr *c)
{
    if (c != NULL)
        ctr_release(c);
    if (!p->res.ok)
        log_error("container executor unavailable: %s", p->res.error);
    p->fn(p->arg, &p->res);
    free(p->rootfs);
    free(p);
}

/* The probe's line: {"kmsg": "EPERM", "seccomp": 2, "clone_ns": "EPERM"}. */
static void parse_report(struct probe *p, const struct ctr_outcome *o)
{
    const char *nl = o->log ? strchr(o->log, '{') : NULL;
    cJSON *j = nl ? cJSON_Parse(nl) : NULL;
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(j, "seccomp");
    const cJSON *cl = cJSON_GetObjectItemCaseSensitive(j, "clone_ns");

    p->res.enforced.devices = o->exit_code == 0;
    p->res.enforced.seccomp = cJSON_IsNumber(sc) && sc->valueint == 2 && cJSON_IsString(cl) &&
                              strcmp(cl->valuestring, "EPERM") == 0;
    cJSON_Delete(j);
}

static void on_probe_done(void *arg, struct ctr *c, const struct ctr_outcome *o)
{
    struct probe *p = arg;
    int rc;

    if (o->failure != NULL) {
        snprintf(p->res.error, sizeof(p->res.error), "probe container did not start: %.400s",
                 o->failure);
    } else if (o->exit_code < 0 || o->exit_code == 1 || o->exit_code == 2 || o->exit_code > 4) {
        snprintf(p->res.error, sizeof(p->res.error),
                 "probe container failed (exit %d, signal %d): %.300s", o->exit_code, o->signal,
                 o->log ? o->log : "");
    } else {
        p->res.ok = 1;
        parse_report(p, o);
        /* The filter crun compiled for the probe is the one every container
         * gets; now that it was seen enforced, later containers reuse it. */
        if (p->res.enforced.seccomp && (rc = ctr_runner_adopt_seccomp(p->r, c)) < 0)
            log_warn("cannot reuse the compiled seccomp filter: %s", strerror(-rc));
    }
    probe_finish(p, c);
}

/* Limits read back while the container exists (4.4). */
static void read_limits(struct probe *p, struct ctr *c)
{
    const struct ctr_cgroup *cg = ctr_runner_cgroup(p->r);
    char cgpath[128];
    int64_t v;

    snprintf(cgpath, sizeof(cgpath), "%s/%s", CTR_CGROUP_PARENT, ctr_id(c));
    p->res.enforced.memory =
        ctr_cgroup_read_limit(cg, cgpath, CTR_CG_MEMORY, &v) == 0 && v == PROBE_MEMORY;
    p->res.enforced.pids =
        ctr_cgroup_read_limit(cg, cgpath, CTR_CG_PIDS, &v) == 0 && v == PROBE_PIDS;
    /* v2's cpu.max reads "<quota> <period>": the quota comes first either way. */
    p->res.enforced.cpu =
        ctr_cgroup_read_limit(cg, cgpath, CTR_CG_CPU_QUOTA, &v) == 0 && v == p->quota_expected;
}

static void on_probe_created(void *arg, struct ctr *c, int rc, const struct error *err)
{
    struct probe *p = arg;
    struct error e;

    if (rc < 0) {
        snprintf(p->res.error, sizeof(p->res.error), "probe container: %.400s", error_str(err));
        probe_finish(p, c);
        return;
    }
    read_limits(p, c);
    if (ctr_start(c, "", 0, NULL, PROBE_TIMEOUT_MS, on_probe_done, p, &e) < 0) {
        snprintf(p->res.error, sizeof(p->res.error), "probe container: %.400s", e.msg);
        probe_finish(p, c);
    }
}

static int copy_probe(const char *from, const char *to, struct error *err)
{
    char *data = NULL;
    size_t len;
    int rc = fn_fs_read_file(from, PROBE_BINARY_MAX, &data, &len, err);

    if (rc < 0)
        return error_prefix(err, "probe program");
    rc = fn_fs_write_file(to, data, len, 0555, err);
    free(data);
    if (rc == 0 && chmod(to, 0555) < 0)
        rc = error_set(err, -errno, "chmod %s: %s", to, strerror(errno));
    return rc;
}

/* <run_dir>/probe/rootfs: the program and the mount points, nothing else. */
static int make_rootfs(struct probe *p, const char *run_dir, const char *probe_path,
                       struct error *err)
{
    static const char *const dirs[] = {"proc", "sys",          "dev",         "tmp",
                                       "code", "run/function", "run/iotronic"};
    char *base = xasprintf("%s/probe", run_dir), *bin;
    int rc = fn_fs_rmtree(base, err);

    p->rootfs = xasprintf("%s/rootfs", base);
    for (size_t i = 0; rc == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char *d = xasprintf("%s/%s", p->rootfs, dirs[i]);

        rc = fn_fs_mkdirs(d, 0755, err);
        free(d);
    }
    bin = xasprintf("%s/probe", p->rootfs);
    if (rc == 0)
        rc = copy_probe(probe_path, bin, err);
    free(bin);
    free(base);
    return rc;
}

static int start_probe(struct probe *p, uid_t uid, gid_t gid, struct error *err)
{
    char *args[] = {"/probe", NULL};
    char *env[] = {"PATH=/", NULL};
    struct ctr_device kmsg = {"/dev/kmsg", KMSG_MAJOR, KMSG_MINOR, 0666, 0};
    struct ctr_spec s = {0};
    struct ctr_opts o = {0};
    struct ctr *c;

    s.profile = CTR_PROFILE_FUNCTION;
    s.rootfs = p->rootfs;
    s.args = args;
    s.env = env;
    s.cwd = "/";
    s.uid = uid;
    s.gid = gid;
    s.memory = PROBE_MEMORY;
    s.cpu_milli = PROBE_CPU;
    s.pids = PROBE_PIDS;
    s.tmp_size = 1 << 20;
    s.file_size = 1 << 20;
    s.devices = &kmsg;
    s.ndevices = 1;
    p->quota_expected = PROBE_CPU * 100;
    o.output = CTR_OUTPUT_LOG;
    o.log_max = 4096;
    o.result_max = 1024;
    return ctr_create(p->r, &s, &o, on_probe_created, p, &c, err);
}

/* The version first, then the probe container: one thing in flight at a
 * time, so that every failure after this point reaches the callback. */
static void on_version(void *arg, int status, const char *out, size_t len)
{
    struct probe *p = arg;
    const char *v = strstr(out, "crun version ");
    struct error err;

    (void)len;
    if (v != NULL)
        sscanf(v + 13, "%31s", p->res.crun_version);
    if (status != 0) {
        snprintf(p->res.error, sizeof(p->res.error), "crun --version failed (status %d)", status);
        probe_finish(p, NULL);
        return;
    }
    if (start_probe(p, p->uid, p->gid, &err) < 0) {
        snprintf(p->res.error, sizeof(p->res.error), "%.400s", err.msg);
        probe_finish(p, NULL);
    }
}

int ctr_probe_run(struct ctr_runner *r, const char *run_dir, const char *probe_path, uid_t uid,
                  gid_t gid, ctr_probe_fn fn, void *arg, struct error *err)
{
    const char *version[] = {"--version", NULL};
    struct probe *p = xcalloc(1, sizeof(*p));
    int rc;

    p->r = r;
    p->fn = fn;
    p->arg = arg;
    p->uid = uid;
    p->gid = gid;
    p->res.rootless = geteuid() != 0;
    rc = make_rootfs(p, run_dir, probe_path, err);
    if (rc == 0)
        rc = ctr_runner_crun(r, version, on_version, p, err);
    if (rc < 0) {
        free(p->rootfs);
        free(p);
    }
    return rc;
}

cJSON *ctr_probe_detail(const struct ctr_probe_result *res, const struct ctr_cgroup *cg)
{
    cJSON *d = cJSON_CreateObject(), *e;

    json_add_str_or_null(d, "crun_version", res->crun_version[0] ? res->crun_version : NULL);
    cJSON_AddStringToObject(d, "cgroup", ctr_cgroup_mode(cg));
    cJSON_AddBoolToObject(d, "rootless", res->rootless);
    e = cJSON_AddObjectToObject(d, "enforced");
    cJSON_AddBoolToObject(e, "memory", res->enforced.memory);
    cJSON_AddBoolToObject(e, "cpu", res->enforced.cpu);
    cJSON_AddBoolToObject(e, "pids", res->enforced.pids);
    cJSON_AddBoolToObject(e, "devices", res->enforced.devices);
    cJSON_AddBoolToObject(e, "seccomp", res->enforced.seccomp);
    json_add_str_or_null(d, "error", res->ok ? NULL : res->error);
    return d;
}

/* --------------------------------------------------------- reconcile */

struct recon {
    struct ctr_runner *r;
    char **ids;
    size_t n, next;
    int deleted;
    void (*done)(void *, int);
    void *arg;
};

static void recon_next(struct recon *k);

static void on_deleted(void *arg, int status, const char *out, size_t len)
{
    struct recon *k = arg;

    (void)out;
    (void)len;
    if (status == 0)
        k->deleted++;
    recon_next(k);
}

static void recon_next(struct recon *k)
{
    while (k->next < k->n) {
        const char *args[] = {"delete", "-f", k->ids[k->next++], NULL};
        struct error err;

        log_info("deleting a container left by a previous run container=%s", args[2]);
        if (ctr_runner_crun(k->r, args, on_deleted, k, &err) == 0)
            return;
        log_warn("crun delete: %s", err.msg);
    }
    k->done(k->arg, k->deleted);
    for (size_t i = 0; i < k->n; i++)
        free(k->ids[i]);
    free(k->ids);
    free(k);
}

/* Container ids are what we create ("lr-" + hex) or anything crun accepts;
 * only plain names are passed on as arguments. */
static int id_ok(const char *s)
{
    if (*s == '\0' || *s == '-')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

static void on_list(void *arg, int status, const char *out, size_t len)
{
    struct recon *k = arg;
    char *copy = xstrndup(out, len), *save = NULL;

    if (status != 0)
        log_warn("crun list failed (status %d): no reconciliation", status);
    for (char *l = strtok_r(copy, "\n", &save); status == 0 && l; l = strtok_r(NULL, "\n", &save)) {
        if (!id_ok(l))
            continue;
        k->ids = xrealloc(k->ids, (k->n + 1) * sizeof(*k->ids));
        k->ids[k->n++] = xstrdup(l);
    }
    free(copy);
    recon_next(k);
}

int ctr_reconcile(struct ctr_runner *r, void (*done)(void *arg, int n), void *arg,
                  struct error *err)
{
    const char *args[] = {"list", "-q", NULL};
    struct recon *k = xcalloc(1, sizeof(*k));
    int rc;

    k->r = r;
    k->done = done;
    k->arg = arg;
    rc = ctr_runner_crun(r, args, on_list, k, err);
    if (rc < 0)
        free(k);
    return rc;
}
