/* src/agent.h: the board agent's one process context (board-protocol.md 10).
 *
 * main() builds one struct lrc_agent from the configuration and runs the
 * loop; every module of the agent receives it and reaches the others
 * through it, as nginx's modules reach the cycle. It owns, in build order:
 * the loop and its worker pool, the child reaper, the HAL, the control
 * socket, the function executor, the tunnel client, the WAMP client context,
 * the outbox, the plugins, the services, the device module and the link
 * (the WAMP connection and the states of 10.2). Nothing else in the process
 * is global. Loop thread only, except where a function says otherwise. */
#ifndef LRC_SRC_AGENT_H
#define LRC_SRC_AGENT_H

#include <stdint.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/wq.h"
#include "hal/hal.h"
#include "loop/loop.h"
#include "src/conf.h"
#include "src/ctl.h"
#include "src/ctr_cgroup.h"
#include "src/ctr_reaper.h"
#include "src/ctr_run.h"
#include "src/fn_exec.h"
#include "src/fn_io.h"
#include "src/settings.h"
#include "src/statefile.h"
#include "tunnel/client.h"

struct lrc_link;
struct lrc_outbox;
struct lrc_plugins;
struct lrc_services;
struct lrc_device;
struct lrc_ws_ctx;
struct lrc_triggers;

struct lrc_agent {
    const struct lrc_conf *conf;
    struct loop *loop;
    struct wq *wq;
    struct ctr_reaper *reaper;
    struct ctr_cgroup cgroup; /* from ctr_prepare_mountns(), before any thread */
    struct hal *hal;
    struct ctl *ctl;
    struct fn *fn;
    struct fn_io fnio; /* IO sockets for the runners (src/fn_io.h) */
    struct ctr_io_ops io;
    struct ctr_runner *plugin_runner; /* own runner when [plugin] executor differs */
    struct tun_client *tun;           /* NULL until a tunnel opens (lrc_agent_tun()) */
    struct lrc_ws_ctx *ws;
    struct lrc_outbox *outbox;
    struct lrc_plugins *plugins;
    struct lrc_services *services;
    struct lrc_device *device;
    struct lrc_link *link;
    struct lrc_triggers *triggers; /* src/trigger_agent.h */
    /* The board's settings (settings.json) and their writer. */
    struct lrc_settings settings;
    struct lrc_store *settings_store;
    char *settings_path;
    uint64_t settings_gen;     /* bumped by every change the agent makes itself */
    ev_stat settings_watch;    /* settings.json: `configure` while the agent runs */
    struct stat settings_seen; /* settings.json as last looked at */
    ev_signal sighup, sigterm, sigint;
    ev_timer exit_timer; /* a stop that takes too long */
    int fn_ready;
    int fn_stopped;
    int stopping;
    int resetting;
    int exit_code;
    int64_t started_us;
};

/* Builds every module, loads the state files and starts the link. cg is
 * what ctr_prepare_mountns() found. *exit_code is the process status to use
 * when this fails (1, or LRC_EXIT_CONFIG for an unusable settings.json).
 * Main thread, after ctr_prepare_mountns(). */
int lrc_agent_init(struct lrc_agent *a, const struct lrc_conf *conf, const struct ctr_cgroup *cg,
                   int *exit_code, struct error *err) IOT_WUR;

/* Runs the loop until the agent stops; returns the exit status. */
int lrc_agent_run(struct lrc_agent *a);

/* Frees everything lrc_agent_init() built (also after a failed init). */
void lrc_agent_fini(struct lrc_agent *a);

/* Stops the agent: GOODBYE, no new calls, plugins stopped (SIGTERM, then
 * SIGKILL after 5 s), tunnels closed, then the loop ends with exit_code. */
void lrc_agent_stop(struct lrc_agent *a, int exit_code);

/* Replaces the settings (taken) and writes settings.json; done (may be
 * NULL) runs when it is durable. The link is told. */
void lrc_agent_set_settings(struct lrc_agent *a, struct lrc_settings *s, lrc_store_done_fn done,
                            void *arg);

/* The tunnel client, made on first use. NULL with err when it cannot be. */
struct tun_client *lrc_agent_tun(struct lrc_agent *a, struct error *err);

/* The board's UUID, or NULL before registration. */
const char *lrc_agent_board(const struct lrc_agent *a);

/* Deletes the state directory's content and returns to the unconfigured
 * state (DeviceFactoryReset), after stopping plugins, tunnels and
 * functions. */
void lrc_agent_factory_reset(struct lrc_agent *a);

#endif
