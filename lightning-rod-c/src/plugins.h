/* src/plugins.h: injected plugins (board-protocol.md 6.5, 10.1).
 *
 * A plugin is a program, never code loaded into the agent: its text is kept
 * in <state_dir>/plugins/<uuid>/code and its metadata in plugins.json
 * (written atomically, .bak kept). Each run is a child of the container
 * runner (src/ctr_job.h): the host root file system read-only, a private
 * /tmp, the host network, user [plugin] user, and an IO socket limited to the
 * devices the plugin declares in extra.devices (none by default). The code
 * goes to its interpreter inline (python3 -c, sh -c, ...), so the agent's
 * state directory stays hidden from it. PluginCall runs it once with the
 * parameters on stdin and answers with its stdout; PluginStart keeps one
 * instance running, its output in plugins/<uuid>/log (rotated at 1 MiB);
 * stopping is SIGTERM, then SIGKILL after 5 s. Plugins written for the
 * original agent (class Worker(Plugin.Plugin)) run through a runner that
 * provides the original plugin API ([plugin] python_compat).
 *
 * One struct lrc_plugins per agent. Loop thread. */
#ifndef LRC_SRC_PLUGINS_H
#define LRC_SRC_PLUGINS_H

#include <cjson/cJSON.h>

#include "common/error.h"
#include "src/agent.h"

#define LRC_PLUGINS_NAME "plugins.json"
#define LRC_PLUGIN_CODE_MAX 120000 /* it travels as one argv string (MAX_ARG_STRLEN) */
#define LRC_PLUGIN_STOP_GRACE_S 5.0
#define LRC_PLUGIN_ERR_TAIL 4096

struct lrc_plugins;
struct lrc_plugin;

/* Loads plugins.json (a corrupt one falls back to its .bak, or to none).
 * Blocking: main thread at startup. */
int lrc_plugins_new(struct lrc_agent *a, struct lrc_plugins **out, struct error *err) IOT_WUR;

/* Starts the plugins injected with onboot (not callable ones). Call once the
 * container runner is ready. */
void lrc_plugins_start_onboot(struct lrc_plugins *ps);

/* Stops every running instance (SIGTERM, SIGKILL after 5 s) and kills
 * running calls; done(arg) runs once all have ended. */
void lrc_plugins_stop_all(struct lrc_plugins *ps, void (*done)(void *arg), void *arg);

/* Forgets every plugin (factory reset): stops them all, empties the table;
 * the files go with the state directory. */
void lrc_plugins_purge(struct lrc_plugins *ps);

/* Frees everything; running jobs are released (killed). Accepts NULL. */
void lrc_plugins_free(struct lrc_plugins *ps);

/* [{"uuid", "name", "status", "onboot", "alive"}] for the status op. New. */
cJSON *lrc_plugins_status(const struct lrc_plugins *ps);

/* ---- for rpc_plugin.c ---- */

struct lrc_plugin *lrc_plugin_find(struct lrc_plugins *ps, const char *uuid);

/* Validates and stores a plugin object (PluginInject); *updated says
 * whether it replaced one. done runs when plugins.json and the code are
 * durable (rc < 0: err says why). The plugin's running instance is stopped
 * first. Returns -EINVAL (err names the argument) without calling done. */
typedef void (*lrc_plugin_done_fn)(void *arg, int rc, const char *message);
int lrc_plugin_inject(struct lrc_plugins *ps, const cJSON *plugin, int onboot, int *updated,
                      lrc_plugin_done_fn done, void *arg, struct error *err) IOT_WUR;

/* Starts the long-running instance with params (borrowed; stored as the
 * plugin's parameters). -EALREADY when it runs. done runs when it started
 * (rc 0) or could not start. */
int lrc_plugin_start(struct lrc_plugin *p, const cJSON *params, lrc_plugin_done_fn done,
                     void *arg) IOT_WUR;

/* SIGTERM, SIGKILL after 5 s, after delay_s; done runs once it ended (or at
 * once with delay_s > 0). -ESRCH when it does not run. */
int lrc_plugin_stop(struct lrc_plugin *p, int64_t delay_s, lrc_plugin_done_fn done,
                    void *arg) IOT_WUR;

/* Runs the plugin once. done gets rc 0 and the reply message (JSON, taken)
 * through call_fn, or the ERROR text. */
typedef void (*lrc_plugin_call_fn)(void *arg, int rc, cJSON *message, const char *error);
void lrc_plugin_call(struct lrc_plugin *p, const cJSON *params, lrc_plugin_call_fn done, void *arg);

/* Stops the plugin and deletes it; done runs when the files are gone. */
void lrc_plugin_remove(struct lrc_plugin *p, lrc_plugin_done_fn done, void *arg);

int lrc_plugin_alive(const struct lrc_plugin *p);
const char *lrc_plugin_name(const struct lrc_plugin *p);
const char *lrc_plugin_uuid(const struct lrc_plugin *p);
const cJSON *lrc_plugin_params(const struct lrc_plugin *p); /* the stored parameters, or NULL */

/* ---- plugin_runner.c ---- */

/* The interpreter of code: the path on its #! line, or the configured
 * python3 without one; it must be one of interps. *flag gets the option
 * that runs inline code ("-c", "-e"). -EINVAL with the reason otherwise. */
int lrc_plugin_interpreter(const char *code, char *const *interps, char **path, const char **flag,
                           struct error *err) IOT_WUR;

/* 1 when code is an original Lightning-Rod plugin (class Worker(Plugin.Plugin)). */
int lrc_plugin_is_compat(const char *code);

/* The argv of one run (new; lrc_words_free): compat runs go through the
 * embedded runner with mode "call" or "start". */
char **lrc_plugin_argv(const char *interp, const char *flag, int compat, int call, const char *uuid,
                       const char *name, const char *code);

#endif
