/* src/main.c: the lightning-rod-c command (board-protocol.md 10.1).
 *
 *   lightning-rod-c [--config-file F]                    run the agent
 *   lightning-rod-c [--config-file F] configure <code> <url>
 *   lightning-rod-c [--config-file F] configure --from-file <json>
 *   lightning-rod-c [--config-file F] status [--json]
 *   lightning-rod-c [--config-file F] sim ... [--json]
 *   lightning-rod-c --version
 *
 * main only parses argv, loads the configuration and hands over: to the
 * agent (src/agent.h) or to the control-socket client (src/ctl_client.h).
 * Running the agent, the private mount namespace crun needs is prepared
 * first, before any thread exists (src/ctr_cgroup.h). */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "src/agent.h"
#include "src/conf.h"
#include "src/ctl_client.h"
#include "src/fn_fs.h"
#include "src/settings.h"
#include "src/statefile.h"

#define EXIT_USAGE 2
#define FIRST_BOOT_MAX (1 << 20)

static int usage(FILE *f)
{
    fprintf(f, "usage: lightning-rod-c [--config-file FILE] [COMMAND]\n"
               "  (no command)                     run the agent\n"
               "  configure <code> <ws url>        write the first-boot settings\n"
               "  configure --from-file <json>     install a first-boot (or settings) document\n"
               "  status [--json]                  ask the running agent how it is\n"
               "  sim set-sensor|set-line|get-line|watch ...   drive the simulated IO\n"
               "  --version                        print the version\n");
    return EXIT_USAGE;
}

static int write_settings(const struct lrc_conf *conf, const struct lrc_settings *s)
{
    char *path = xasprintf("%s/%s", conf->state_dir, LRC_SETTINGS_NAME);
    char *text = lrc_settings_text(s);
    struct error err;
    int rc = fn_fs_mkdirs(conf->state_dir, 0700, &err);

    if (rc == 0)
        rc = lrc_statefile_write(path, text, strlen(text), 0600, &err);
    if (rc < 0)
        fprintf(stderr, "lightning-rod-c: cannot write %s: %s\n", path, err.msg);
    else
        printf("%s written: %s\n", path,
               s->registered ? "registered settings; the agent connects with them"
                             : "first-boot settings; the agent registers with the code");
    free(text);
    free(path);
    return rc < 0 ? 1 : 0;
}

static int cmd_configure(const struct lrc_conf *conf, int argc, char **argv)
{
    struct lrc_settings s;
    struct error err;
    char *text = NULL;
    size_t len;
    int rc;

    if (argc != 3)
        return usage(stderr);
    if (strcmp(argv[1], "--from-file") == 0) {
        rc = fn_fs_read_file(argv[2], FIRST_BOOT_MAX, &text, &len, &err);
        if (rc == 0)
            rc = lrc_settings_parse(text, len, &s, &err);
        free(text);
    } else {
        rc = lrc_settings_first_boot(argv[1], argv[2], &s, &err);
    }
    if (rc < 0) {
        fprintf(stderr, "lightning-rod-c: configure: %s\n", err.msg);
        return 1;
    }
    rc = write_settings(conf, &s);
    lrc_settings_clear(&s);
    return rc;
}

/* status and sim talk to the running agent over <run_dir>/control.sock. */
static int cmd_client(const struct lrc_conf *conf, int argc, char **argv)
{
    char *path = xasprintf("%s/%s", conf->run_dir, CTL_SOCKET_NAME);
    int json = 0, n = 0, rc;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else
            argv[n++] = argv[i];
    }
    argv[n] = NULL;
    rc = lrc_cli_run(path, json, n, argv, stdout, stderr);
    free(path);
    return rc;
}

static int cmd_run(const struct lrc_conf *conf, int argc, char **argv)
{
    struct lrc_agent a;
    struct ctr_cgroup cg;
    struct error err;
    int code = 1, rc;

    (void)argv;
    if (argc != 0)
        return usage(stderr);
    /* Before any thread (the worker pool): crun 1.8.1 on a hybrid cgroup
     * host needs a private mount namespace (4.8). */
    rc = ctr_prepare_mountns(conf->fn.crun_private_mountns, &cg, &err);
    if (rc < 0) {
        log_error("%s", err.msg);
        return 1;
    }
    /* One or two malloc arenas are plenty for a loop and two workers, and
     * each arena costs resident memory. */
    mallopt(M_ARENA_MAX, 2);
    rc = lrc_agent_init(&a, conf, &cg, &code, &err);
    if (rc < 0) {
        log_error("%s", err.msg);
        lrc_agent_fini(&a);
        return code;
    }
    code = lrc_agent_run(&a);
    lrc_agent_fini(&a);
    return code;
}

static const struct {
    const char *word;
    int (*fn)(const struct lrc_conf *conf, int argc, char **argv);
} commands[] = {
    {"configure", cmd_configure},
    {"status", cmd_client},
    {"sim", cmd_client},
};

int main(int argc, char **argv)
{
    struct lrc_conf conf;
    struct error err;
    enum log_level lvl;
    int rc = EXIT_USAGE;

    log_init("lightning-rod-c", LOG_INFO);
    xalloc_init();
    if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
        printf("lightning-rod-c %s\n", LRC_VERSION);
        return 0;
    }
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (lrc_conf_load(&conf, &argc, argv, &err) < 0) {
        log_error("configuration: %s", err.msg);
        return LRC_EXIT_CONFIG;
    }
    if (log_level_parse(conf.log_level, &lvl) == 0)
        log_set_level(lvl);
    if (argc < 2) {
        rc = cmd_run(&conf, 0, argv + 1);
    } else {
        rc = -1;
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
            if (strcmp(argv[1], commands[i].word) == 0)
                rc = commands[i].fn(&conf, argc - 1, argv + 1);
        if (rc < 0)
            rc = usage(stderr);
    }
    lrc_conf_clear(&conf);
    return rc;
}
