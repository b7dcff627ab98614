/* src/conf.c: see conf.h. The option table is the contract's 12.2 table. */
#include "src/conf.h"

#include <errno.h>
#include <libgen.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"

#define C(field) offsetof(struct lrc_conf, field)

static const struct cfg_opt agent_opts[] = {
    {"DEFAULT", "state_dir", CFG_STR, "/var/lib/lightning-rod-c", C(state_dir), 0, 0, NULL, 0},
    {"DEFAULT", "run_dir", CFG_STR, "/run/lightning-rod-c", C(run_dir), 0, 0, NULL, 0},
    {"DEFAULT", "log_level", CFG_STR, "info", C(log_level), 0, 0, NULL, 0},
    {"wamp", "ping_interval", CFG_INT, "20", C(ping_interval), 1, 3600, NULL, 0},
    {"wamp", "alive_interval", CFG_INT, "60", C(alive_interval), 1, 86400, NULL, 0},
    {"wamp", "call_timeout", CFG_INT, "10", C(call_timeout), 1, 600, NULL, 0},
    {"wamp", "backoff_initial", CFG_INT, "1", C(backoff_initial), 1, 3600, NULL, 0},
    {"wamp", "backoff_max", CFG_INT, "60", C(backoff_max), 1, 86400, NULL, 0},
    {"wamp", "failover_after", CFG_INT, "3", C(failover_after), 0, 1000, NULL, 0},
    {"wamp", "ca_file", CFG_STR, NULL, C(ca_file), 0, 0, NULL, 0},
    {"wamp", "insecure", CFG_BOOL, "false", C(insecure), 0, 0, NULL, 0},
    {"device", "allow_reboot", CFG_BOOL, "false", C(allow_reboot), 0, 0, NULL, 0},
    {"device", "reboot_command", CFG_STR, "/bin/systemctl reboot", C(reboot_command), 0, 0, NULL,
     0},
    {"device", "allow_restart", CFG_BOOL, "true", C(allow_restart), 0, 0, NULL, 0},
    {"device", "allow_factory_reset", CFG_BOOL, "true", C(allow_factory_reset), 0, 0, NULL, 0},
    {"device", "pkg_managers", CFG_STR, "", C(pkg_managers), 0, 0, NULL, 0},
    {"device", "upgrade_command", CFG_STR, NULL, C(upgrade_command), 0, 0, NULL, 0},
    {"device", "rest_submit_allow", CFG_STR, "http://127.0.0.1 http://localhost",
     C(rest_submit_allow), 0, 0, NULL, 0},
    {"plugin", "executor", CFG_ENUM, "crun", C(plugin_executor), 0, 0, "crun|process", 0},
    {"plugin", "user", CFG_STR, "nobody", C(plugin_user), 0, 0, NULL, 0},
    {"plugin", "interpreters", CFG_STR, "/usr/bin/python3 /bin/sh", C(interpreters), 0, 0, NULL, 0},
    {"plugin", "call_timeout", CFG_INT, "30", C(plugin_call_timeout), 1, 86400, NULL, 0},
    {"plugin", "max_output", CFG_INT, "65536", C(plugin_max_output), 1, 16 << 20, NULL, 0},
    {"plugin", "python_compat", CFG_BOOL, "true", C(python_compat), 0, 0, NULL, 0},
};

char **lrc_words_split(const char *s)
{
    size_t cap = 4, n = 0;
    char **v = xcalloc(cap, sizeof(char *));

    while (s != NULL && *s) {
        size_t len;

        s += strspn(s, " \t\r\n");
        len = strcspn(s, " \t\r\n");
        if (len == 0)
            break;
        if (n + 2 > cap) {
            cap *= 2;
            v = xrealloc(v, cap * sizeof(char *));
        }
        v[n++] = xstrndup(s, len);
        s += len;
    }
    v[n] = NULL;
    return v;
}

void lrc_words_free(char **v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

size_t lrc_words_count(char *const *v)
{
    size_t n = 0;

    while (v != NULL && v[n] != NULL)
        n++;
    return n;
}

int lrc_words_has(char *const *v, const char *word)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        if (strcmp(v[i], word) == 0)
            return 1;
    return 0;
}

/* Every program the agent may run is named by an absolute path: argv[0]
 * goes to execve() as is, never through a PATH search or a shell. */
static int check_command(char **argv, const char *opt, struct error *err)
{
    if (argv[0] == NULL)
        return error_set(err, -EINVAL, "[device] %s is empty", opt);
    if (argv[0][0] != '/')
        return error_set(err, -EINVAL, "[device] %s: %s is not an absolute path", opt, argv[0]);
    return 0;
}

/* The executor's default probe path is where packages install it. An agent
 * installed under another prefix, or run from the build tree, has it next to
 * itself: look there when the default is absent (an explicit setting is
 * never second-guessed, since it differs from the default). */
static void find_probe(struct lrc_conf *c)
{
    static const char *const rel[] = {"lrc-probe", "../lib/lightning-rod-c/lrc-probe"};
    char exe[4096], *dir, *p;
    ssize_t n;

    if (c->fn.probe_path == NULL || strcmp(c->fn.probe_path, LRC_PROBE_DEFAULT) != 0 ||
        access(c->fn.probe_path, X_OK) == 0)
        return;
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    dir = dirname(exe);
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        p = xasprintf("%s/%s", dir, rel[i]);
        if (access(p, X_OK) == 0) {
            free(c->fn.probe_path);
            c->fn.probe_path = p;
            return;
        }
        free(p);
    }
}

static int derive(struct lrc_conf *c, struct error *err)
{
    char **known = lrc_words_split(LRC_PKG_MANAGERS_KNOWN);
    int rc = 0;

    c->reboot_argv = lrc_words_split(c->reboot_command);
    c->upgrade_argv = c->upgrade_command ? lrc_words_split(c->upgrade_command) : NULL;
    c->pkg_list = lrc_words_split(c->pkg_managers);
    c->rest_allow = lrc_words_split(c->rest_submit_allow);
    c->interp_list = lrc_words_split(c->interpreters);
    find_probe(c);
    rc = check_command(c->reboot_argv, "reboot_command", err);
    if (rc == 0 && c->upgrade_argv != NULL)
        rc = check_command(c->upgrade_argv, "upgrade_command", err);
    for (size_t i = 0; rc == 0 && c->pkg_list[i] != NULL; i++)
        if (!lrc_words_has(known, c->pkg_list[i]))
            rc = error_set(err, -EINVAL, "[device] pkg_managers: %s is not one of %s",
                           c->pkg_list[i], LRC_PKG_MANAGERS_KNOWN);
    for (size_t i = 0; rc == 0 && c->interp_list[i] != NULL; i++)
        if (c->interp_list[i][0] != '/')
            rc = error_set(err, -EINVAL, "[plugin] interpreters: %s is not an absolute path",
                           c->interp_list[i]);
    if (rc == 0 && c->backoff_max < c->backoff_initial)
        rc = error_set(err, -EINVAL, "[wamp] backoff_max is below backoff_initial");
    lrc_words_free(known);
    return rc;
}

static int bind_all(struct lrc_conf *conf, struct cfg *c, struct error *err)
{
    struct cfg_table tables[] = {
        {agent_opts, sizeof(agent_opts) / sizeof(agent_opts[0]), conf},
        hal_cfg_table(&conf->hal),
        fn_cfg_table(&conf->fn),
    };
    enum log_level lvl;
    int rc = cfg_bind(c, tables, 3, err);

    if (rc == 0 && log_level_parse(conf->log_level, &lvl) < 0)
        rc = error_set(err, -EINVAL, "[DEFAULT] log_level: '%s' is not a level", conf->log_level);
    if (rc == 0)
        rc = fn_config_finish(&conf->fn, c, conf->state_dir, conf->run_dir, err);
    if (rc == 0)
        rc = derive(conf, err);
    return rc;
}

int lrc_conf_load(struct lrc_conf *conf, int *argc, char **argv, struct error *err)
{
    struct cfg *c = cfg_new();
    int rc;

    memset(conf, 0, sizeof(*conf));
    rc = cfg_load_args(c, argc, argv, LRC_DEFAULT_CONFIG, err);
    if (rc == 0)
        rc = bind_all(conf, c, err);
    cfg_free(c);
    if (rc < 0)
        lrc_conf_clear(conf);
    return rc;
}

int lrc_conf_load_text(struct lrc_conf *conf, const char *name, const char *text, struct error *err)
{
    struct cfg *c = cfg_new();
    int rc;

    memset(conf, 0, sizeof(*conf));
    rc = cfg_load_text(c, name, text, err);
    if (rc == 0)
        rc = bind_all(conf, c, err);
    cfg_free(c);
    if (rc < 0)
        lrc_conf_clear(conf);
    return rc;
}

void lrc_conf_clear(struct lrc_conf *conf)
{
    struct cfg_table tables[] = {
        {agent_opts, sizeof(agent_opts) / sizeof(agent_opts[0]), conf},
        hal_cfg_table(&conf->hal),
    };

    cfg_unbind(tables, 2);
    fn_config_clear(&conf->fn);
    lrc_words_free(conf->reboot_argv);
    lrc_words_free(conf->upgrade_argv);
    lrc_words_free(conf->pkg_list);
    lrc_words_free(conf->rest_allow);
    lrc_words_free(conf->interp_list);
    memset(conf, 0, sizeof(*conf));
}
