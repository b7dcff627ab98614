/* src/fn_config.c: see fn_config.h. */
#include "src/fn_config.h"

#include <errno.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"

#define F(field) offsetof(struct fn_config, field)
#define MIB (1LL << 20)

static const struct cfg_opt function_opts[] = {
    {"function", "executor", CFG_ENUM, "crun", F(executor), 0, 0, "crun|process", 0},
    {"function", "crun_path", CFG_STR, NULL, F(crun_path), 0, 0, NULL, 0},
    {"function", "crun_root", CFG_STR, NULL, F(crun_root), 0, 0, NULL, 0},
    {"function", "run_dir", CFG_STR, NULL, F(run_dir), 0, 0, NULL, 0},
    {"function", "cache_dir", CFG_STR, "/var/cache/lightning-rod-c", F(cache_dir), 0, 0, NULL, 0},
    {"function", "state_dir", CFG_STR, NULL, F(state_dir), 0, 0, NULL, 0},
    {"function", "crun_private_mountns", CFG_ENUM, "auto", F(crun_private_mountns), 0, 0,
     "auto|always|never", 0},
    {"function", "container_uid", CFG_INT, "65534", F(container_uid), 0, 4294967294LL, NULL, 0},
    {"function", "container_gid", CFG_INT, "65534", F(container_gid), 0, 4294967294LL, NULL, 0},
    {"function", "max_concurrency", CFG_INT, "0", F(max_concurrency), 0, 1024, NULL, 0},
    {"function", "max_warm_total", CFG_INT, "16", F(max_warm_total), 0, 1024, NULL, 0},
    {"function", "pids_limit", CFG_INT, "64", F(pids_limit), 1, 65536, NULL, 0},
    {"function", "tmp_size", CFG_INT, "16777216", F(tmp_size), 4096, 1LL << 40, NULL, 0},
    {"function", "file_size_limit", CFG_INT, "16777216", F(file_size_limit), 4096, 1LL << 40, NULL,
     0},
    {"function", "max_log_size", CFG_INT, "262144", F(max_log_size), 1024, 64 * MIB, NULL, 0},
    {"function", "max_result_size", CFG_INT, "65536", F(max_result_size), 1, 16 * MIB, NULL, 0},
    {"function", "cache_max_bytes", CFG_INT, "268435456", F(cache_max_bytes), MIB, 1LL << 50, NULL,
     0},
    {"function", "dedup_retention", CFG_INT, "86400", F(dedup_retention), 0, 365LL * 86400, NULL,
     0},
    {"function", "outbox_max", CFG_INT, "10000", F(outbox_max), 1, 10000000, NULL, 0},
    {"function", "download_ca", CFG_STR, NULL, F(download_ca), 0, 0, NULL, 0},
    {"function", "download_insecure", CFG_BOOL, "false", F(download_insecure), 0, 0, NULL, 0},
    {"function", "process_user", CFG_STR, "nobody", F(process_user), 0, 0, NULL, 0},
    {"function", "probe_path", CFG_STR, "/usr/lib/lightning-rod-c/lrc-probe", F(probe_path), 0, 0,
     NULL, 0},
};

struct cfg_table fn_cfg_table(struct fn_config *conf)
{
    return (struct cfg_table){function_opts, sizeof(function_opts) / sizeof(function_opts[0]),
                              conf};
}

static char **split_words(const char *s)
{
    char **v = xcalloc(strlen(s) / 2 + 2, sizeof(char *));
    size_t n = 0;

    while (*s) {
        size_t len;

        while (*s == ' ' || *s == '\t' || *s == '\n')
            s++;
        len = strcspn(s, " \t\n");
        if (len == 0)
            break;
        v[n++] = xstrndup(s, len);
        s += len;
    }
    v[n] = NULL;
    return v;
}

struct collect {
    struct fn_config *conf;
    int rc;
    struct error *err;
};

static void add_runtime(const char *key, const char *value, void *arg)
{
    struct collect *c = arg;
    struct fn_config *conf = c->conf;
    char **argv;

    if (c->rc < 0)
        return;
    argv = split_words(value);
    if (argv[0] == NULL || argv[0][0] != '/') {
        c->rc =
            error_set(c->err, -EINVAL,
                      "[process_runtimes] %s: the command must start with an absolute path", key);
        for (size_t i = 0; argv[i] != NULL; i++)
            free(argv[i]);
        free(argv);
        return;
    }
    conf->process_runtimes = xrealloc(conf->process_runtimes, (conf->nprocess_runtimes + 1) *
                                                                  sizeof(*conf->process_runtimes));
    conf->process_runtimes[conf->nprocess_runtimes].name = xstrdup(key);
    conf->process_runtimes[conf->nprocess_runtimes].argv = argv;
    conf->nprocess_runtimes++;
}

static char *find_in_path(const char *prog)
{
    const char *path = getenv("PATH");
    char *copy, *dir, *save = NULL, *found = NULL;

    copy = xstrdup(path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
        char *p = xasprintf("%s/%s", dir, prog);

        if (dir[0] == '/' && access(p, X_OK) == 0)
            found = p;
        else
            free(p);
    }
    free(copy);
    return found;
}

static void default_dir(char **field, const char *value)
{
    if (*field == NULL)
        *field = xstrdup(value);
}

int fn_config_finish(struct fn_config *conf, const struct cfg *c, const char *default_state_dir,
                     const char *default_run_dir, struct error *err)
{
    struct collect col = {conf, 0, err};
    struct passwd *pw;

    default_dir(&conf->state_dir,
                default_state_dir ? default_state_dir : "/var/lib/lightning-rod-c");
    default_dir(&conf->run_dir, default_run_dir ? default_run_dir : "/run/lightning-rod-c");
    if (conf->crun_root == NULL)
        conf->crun_root = xasprintf("%s/crun", conf->run_dir);
    if (conf->crun_path == NULL)
        conf->crun_path = find_in_path("crun");
    else if (conf->crun_path[0] != '/')
        return error_set(err, -EINVAL, "[function] crun_path must be an absolute path");
    if (conf->run_dir[0] != '/' || conf->state_dir[0] != '/' || conf->cache_dir[0] != '/' ||
        conf->crun_root[0] != '/')
        return error_set(err, -EINVAL, "[function] directories must be absolute paths");
    if (conf->max_concurrency == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        conf->max_concurrency = n > 0 ? n : 1;
    }
    /* getpwnam at startup only: NSS may block, which is fine before the loop. */
    pw = getpwnam(conf->process_user);
    if (pw == NULL)
        return error_set(err, -EINVAL, "[function] process_user %s does not exist",
                         conf->process_user);
    conf->process_uid = pw->pw_uid;
    conf->process_gid = pw->pw_gid;
    if (c != NULL)
        cfg_each(c, "process_runtimes", add_runtime, &col);
    return col.rc;
}

void fn_config_clear(struct fn_config *conf)
{
    struct cfg_table t = fn_cfg_table(conf);

    for (size_t i = 0; i < conf->nprocess_runtimes; i++) {
        free(conf->process_runtimes[i].name);
        for (size_t k = 0; conf->process_runtimes[i].argv[k] != NULL; k++)
            free(conf->process_runtimes[i].argv[k]);
        free(conf->process_runtimes[i].argv);
    }
    free(conf->process_runtimes);
    conf->process_runtimes = NULL;
    conf->nprocess_runtimes = 0;
    cfg_unbind(&t, 1);
}

const struct fn_process_runtime *fn_config_process_runtime(const struct fn_config *conf,
                                                           const char *name)
{
    for (size_t i = 0; i < conf->nprocess_runtimes; i++)
        if (strcmp(conf->process_runtimes[i].name, name) == 0)
            return &conf->process_runtimes[i];
    return NULL;
}
