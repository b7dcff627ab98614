/* src/conf.h: lightning-rod-c.conf, the board agent's configuration
 * (board-protocol.md 12.2, deviceless-api.md Appendix C).
 *
 * One struct lrc_conf per process, filled once in main() by lrc_conf_load()
 * from the --config-file options (or the default path) before anything
 * starts: every option of every section is validated first, then the agent
 * is built from it. The [io] part is the HAL's table (hal/hal.h) and the
 * [function] / [process_runtimes] part the executor's (src/fn_config.h);
 * this module adds [DEFAULT], [wamp], [device] and [plugin] and splits the
 * command lists into argv arrays (no shell ever sees them). Read-only after
 * loading; main thread, then the loop thread. */
#ifndef LRC_SRC_CONF_H
#define LRC_SRC_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/error.h"
#include "hal/hal.h"
#include "src/fn_config.h"

#define LRC_VERSION "0.1.0"
#define LRC_LR_VERSION "lrc-" LRC_VERSION /* board-protocol.md 10.2 */
#define LRC_DEFAULT_CONFIG "/etc/lightning-rod-c/lightning-rod-c.conf"
#define LRC_EXIT_CONFIG 78 /* EX_CONFIG: a configuration the agent cannot use */
#define LRC_PROBE_DEFAULT "/usr/lib/lightning-rod-c/lrc-probe" /* [function] probe_path */

/* The package managers DevicePkgOperation may name (board-protocol.md 6.5). */
#define LRC_PKG_MANAGERS_KNOWN "apt-get apt pip3 npm"

enum lrc_plugin_executor { LRC_PLUGIN_CRUN = 0, LRC_PLUGIN_PROCESS = 1 };

struct lrc_conf {
    /* [DEFAULT] */
    char *state_dir, *run_dir, *log_level;
    /* [wamp] (seconds) */
    int64_t ping_interval, alive_interval, call_timeout;
    int64_t backoff_initial, backoff_max, failover_after;
    char *ca_file;
    int insecure;
    /* [device] */
    int allow_reboot, allow_restart, allow_factory_reset;
    char *reboot_command, *upgrade_command, *pkg_managers, *rest_submit_allow;
    /* [plugin] */
    int plugin_executor; /* enum lrc_plugin_executor */
    char *plugin_user, *interpreters;
    int64_t plugin_call_timeout, plugin_max_output;
    int python_compat;
    /* The other modules' sections. */
    struct hal_config hal;
    struct fn_config fn;
    /* Derived by lrc_conf_load(): NULL-terminated word lists. */
    char **reboot_argv;  /* never NULL */
    char **upgrade_argv; /* NULL when upgrade_command is unset */
    char **pkg_list;     /* the managers allowed, each one of LRC_PKG_MANAGERS_KNOWN */
    char **rest_allow;   /* URL prefixes for DeviceRestSubmit */
    char **interp_list;  /* absolute interpreter paths */
};

/* Loads the --config-file options of argv (removed from argv, *argc
 * updated), or LRC_DEFAULT_CONFIG when there is none and it exists, binds
 * every table and derives the lists. Returns 0, or a negated errno with
 * "file:line: ..." or the option's name in err; conf is then cleared. Main
 * thread. */
int lrc_conf_load(struct lrc_conf *conf, int *argc, char **argv, struct error *err) IOT_WUR;

/* Loads from text (tests); name is used in messages. */
int lrc_conf_load_text(struct lrc_conf *conf, const char *name, const char *text,
                       struct error *err) IOT_WUR;

/* Frees everything lrc_conf_load() stored. Accepts a zeroed conf. */
void lrc_conf_clear(struct lrc_conf *conf);

/* Splits s on blanks into a new NULL-terminated array of new strings
 * (lrc_words_free()). NULL or blank s gives an empty array. */
char **lrc_words_split(const char *s);
void lrc_words_free(char **v);
size_t lrc_words_count(char *const *v);

/* 1 when word is one of v. */
int lrc_words_has(char *const *v, const char *word);

#endif
