/* src/fn_launch.c: see fn_launch.h. */
#include "src/fn_launch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/json.h"
#include "common/xalloc.h"

#define DEFAULT_PATH "PATH=/usr/local/bin:/usr/bin:/bin"
#define INPUT_KIND_VAR "FUNCTION_INPUT_KIND="

static const char *const kind_names[] = {"none", "json", "raw"};

struct strv {
    char **v;
    size_t n, cap;
};

static void strv_add(struct strv *s, char *item)
{
    if (s->n + 2 > s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->v = xrealloc(s->v, s->cap * sizeof(char *));
    }
    s->v[s->n++] = item;
    s->v[s->n] = NULL;
}

static void strv_add_all(struct strv *s, char *const *v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        strv_add(s, xstrdup(v[i]));
}

static void free_strv(char **v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

/* A string array of the archive's runtime.json, checked. */
static int archive_strv(const cJSON *conf, const char *key, struct strv *out, struct error *err)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(conf, key), *it;

    if (arr == NULL || cJSON_IsNull(arr))
        return 0;
    if (!cJSON_IsArray(arr))
        return error_set(err, -EINVAL, "runtime.json: %s must be an array of strings", key);
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it))
            return error_set(err, -EINVAL, "runtime.json: %s must be an array of strings", key);
        strv_add(out, xstrdup(it->valuestring));
    }
    return 1;
}

/* entrypoint, env and cwd: the payload's config wins key by key over the
 * archive's runtime.json (3.2). */
static int runtime_config(const struct fn_req *r, const cJSON *archive, struct strv *entry,
                          struct strv *env, char **cwd, struct error *err)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(archive, "cwd");
    int rc = 0;

    if (r->rt.entrypoint != NULL)
        strv_add_all(entry, r->rt.entrypoint);
    else if (archive != NULL)
        rc = archive_strv(archive, "entrypoint", entry, err);
    if (rc >= 0 && r->rt.env != NULL)
        strv_add_all(env, r->rt.env);
    else if (rc >= 0 && archive != NULL && archive_strv(archive, "env", env, err) < 0)
        rc = -EINVAL;
    if (rc >= 0 && env->n == 0)
        strv_add(env, xstrdup(DEFAULT_PATH));
    if (rc < 0)
        return rc;
    if (r->rt.cwd != NULL)
        *cwd = xstrdup(r->rt.cwd);
    else if (cJSON_IsString(c) && c->valuestring[0] == '/')
        *cwd = xstrdup(c->valuestring);
    else if (c != NULL && !cJSON_IsNull(c))
        return error_set(err, -EINVAL, "runtime.json: cwd must be an absolute path");
    else
        *cwd = xstrdup("/code");
    return 0;
}

/* argv: entrypoint + [entry] for packages, entrypoint + image_args for image
 * functions; the process executor's command stands in for the entrypoint. */
static int build_args(const struct fn_req *r, const struct fn_config *conf, struct strv *entry,
                      struct strv *args, struct error *err)
{
    if (conf->executor == FN_EXECUTOR_PROCESS) {
        const struct fn_process_runtime *pr = fn_config_process_runtime(conf, r->runtime_name);

        if (pr == NULL)
            return error_set(err, -ENOENT, "runtime %s has no process command", r->runtime_name);
        strv_add_all(args, pr->argv);
    } else {
        strv_add_all(args, entry->v);
    }
    if (r->has_package) {
        if (args->n == 0)
            strv_add(args, xasprintf("/code/%s", r->entry));
        else
            strv_add(args, xstrdup(r->entry));
        return 0;
    }
    if (args->n == 0)
        return error_set(err, -EINVAL, "runtime %s has no entrypoint for an image function",
                         r->runtime_name);
    strv_add_all(args, r->image_args);
    return 0;
}

static void add_function_env(const struct fn_req *r, const char *board_id, struct strv *env)
{
    strv_add(env, xasprintf("FUNCTION_ID=%s", r->function_id));
    strv_add(env, xasprintf("FUNCTION_VERSION=%lld", (long long)r->function_version));
    strv_add(env, xasprintf("FUNCTION_ENTRY=%s", r->entry ? r->entry : ""));
    strv_add(env, xasprintf("BOARD_ID=%s", board_id ? board_id : ""));
    strv_add(env, xasprintf(INPUT_KIND_VAR "%s", kind_names[r->input_kind]));
}

/* Raw access: /dev/<chip> for every chip with a declared line (4.3). */
static int raw_devices(struct fn_launch *l, const struct fn_req *r, int process, struct error *err)
{
    if (!r->raw_access)
        return 0;
    if (process)
        return error_set(err, -ENOTSUP,
                         "raw device access needs an executor that enforces device rules");
    l->devices = xcalloc(r->ndevices + 1, sizeof(*l->devices));
    for (size_t i = 0; i < r->ndevices; i++) {
        char chip[HAL_NAME_MAX + 1], *path;
        int dup = 0;

        if (sscanf(r->devices[i], "gpio:%32[^:]:", chip) != 1)
            continue;
        path = xasprintf("/dev/%s", chip);
        for (size_t k = 0; k < l->ndevices; k++)
            dup |= strcmp(l->devices[k].path, path) == 0;
        if (dup) {
            free(path);
            continue;
        }
        l->devices[l->ndevices] = (struct ctr_device){path, 0, 0, 0660, 1};
        if (ctr_device_resolve(&l->devices[l->ndevices], err) < 0) {
            free(path);
            return error_prefix(err, "raw device access needs a real chip");
        }
        l->ndevices++;
    }
    return 0;
}

static void fp_str(struct crypto_digest *d, const char *s)
{
    crypto_digest_update(d, s ? s : "-", strlen(s ? s : "-") + 1);
}

static void fp_int(struct crypto_digest *d, int64_t v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%lld", (long long)v);
    fp_str(d, buf);
}

static void fingerprints(struct fn_launch *l, const struct fn_req *r)
{
    struct crypto_digest *d = crypto_digest_new(0);
    const struct ctr_spec *s = &l->spec;

    for (size_t i = 0; l->args[i] != NULL; i++)
        fp_str(d, l->args[i]);
    for (size_t i = 0; l->env[i] != NULL; i++)
        if (strncmp(l->env[i], INPUT_KIND_VAR, strlen(INPUT_KIND_VAR)) != 0)
            fp_str(d, l->env[i]);
    fp_str(d, s->rootfs);
    fp_str(d, s->code_dir);
    fp_str(d, s->cwd);
    fp_int(d, s->uid);
    fp_int(d, s->gid);
    fp_int(d, s->memory);
    fp_int(d, s->cpu_milli);
    fp_int(d, s->pids);
    fp_int(d, s->tmp_size);
    fp_int(d, s->file_size);
    fp_int(d, s->network_host);
    for (size_t i = 0; i < l->ndevices; i++)
        fp_str(d, l->devices[i].path);
    for (size_t i = 0; l->io_specs[i] != NULL; i++)
        fp_str(d, l->io_specs[i]);
    crypto_digest_final(d, l->base_fp);
    d = crypto_digest_new(0);
    fp_str(d, l->base_fp);
    fp_str(d, kind_names[r->input_kind]);
    crypto_digest_final(d, l->full_fp);
}

static void fill_spec(struct fn_launch *l, const struct fn_req *r, const struct fn_config *conf,
                      int have_io)
{
    struct ctr_spec *s = &l->spec;
    int process = conf->executor == FN_EXECUTOR_PROCESS;

    s->profile = CTR_PROFILE_FUNCTION;
    s->rootfs = l->runtime ? fn_cache_entry_root(l->runtime) : "/";
    s->args = l->args;
    s->env = l->env;
    s->cwd = l->cwd;
    s->uid = process ? conf->process_uid : (uid_t)conf->container_uid;
    s->gid = process ? conf->process_gid : (gid_t)conf->container_gid;
    s->memory = r->memory_size;
    s->cpu_milli = r->cpu;
    s->pids = conf->pids_limit;
    s->tmp_size = conf->tmp_size;
    s->file_size = conf->file_size_limit;
    s->network_host = r->network_host;
    s->code_dir = l->package ? fn_cache_entry_root(l->package) : NULL;
    if (process) /* the host's file system: the package, or a neutral place */
        s->cwd = s->code_dir ? s->code_dir : "/tmp";
    s->devices = l->devices;
    s->ndevices = l->ndevices;
    s->with_io = have_io;
    l->opts.output = CTR_OUTPUT_LOG;
    l->opts.log_max = (size_t)conf->max_log_size;
    l->opts.result_max = (size_t)conf->max_result_size;
    l->opts.io = have_io;
    l->opts.io_specs = (const char *const *)l->io_specs;
    l->opts.nio = r->ndevices;
    l->opts.timeout_s = r->timeout;
}

int fn_launch_new(const struct fn_req *r, const struct fn_config *conf, const char *board_id,
                  int have_io, struct fn_cache_entry *rt, struct fn_cache_entry *pkg,
                  struct fn_launch **out, struct error *err)
{
    struct fn_launch *l = xcalloc(1, sizeof(*l));
    struct strv entry = {0}, env = {0}, args = {0}, io = {0};
    int rc;

    *out = NULL;
    l->refs = 1;
    l->runtime = rt;
    l->package = pkg;
    if (rt != NULL)
        fn_cache_ref(rt);
    if (pkg != NULL)
        fn_cache_ref(pkg);
    rc = runtime_config(r, rt ? fn_cache_entry_config(rt) : NULL, &entry, &env, &l->cwd, err);
    if (rc == 0)
        rc = build_args(r, conf, &entry, &args, err);
    if (rc == 0)
        rc = raw_devices(l, r, conf->executor == FN_EXECUTOR_PROCESS, err);
    add_function_env(r, board_id, &env);
    strv_add_all(&io, r->devices);
    if (io.v == NULL)
        io.v = xcalloc(1, sizeof(char *));
    l->args = args.v;
    l->env = env.v;
    l->io_specs = io.v;
    free_strv(entry.v);
    if (rc < 0) {
        fn_launch_unref(l);
        return rc;
    }
    snprintf(l->function_id, sizeof(l->function_id), "%s", r->function_id);
    l->function_version = r->function_version;
    l->timeout_s = r->timeout;
    fill_spec(l, r, conf, have_io);
    fingerprints(l, r);
    *out = l;
    return 0;
}

void fn_launch_ref(struct fn_launch *l)
{
    l->refs++;
}

void fn_launch_unref(struct fn_launch *l)
{
    if (l == NULL || --l->refs > 0)
        return;
    if (l->runtime != NULL)
        fn_cache_unref(l->runtime);
    if (l->package != NULL)
        fn_cache_unref(l->package);
    free_strv(l->args);
    free_strv(l->env);
    free_strv(l->io_specs);
    free(l->cwd);
    for (size_t i = 0; i < l->ndevices; i++)
        free((char *)l->devices[i].path);
    free(l->devices);
    free(l);
}
