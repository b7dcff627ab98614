/* src/plugins_int.h: the plugin objects, shared by plugins.c (records,
 * plugins.json, inject and remove) and plugins_run.c (runs) only.
 *
 * Ownership: struct lrc_plugins owns the table of plugins (uuid -> struct
 * lrc_plugin). A plugin that is removed leaves the table at once (so no new
 * call finds it) and is freed when nothing of it runs any more: no
 * instance, no call, no worker job (busy). After lrc_plugins_free(), a
 * plugin with a worker job in flight is an orphan (ps == NULL) that the
 * job's completion frees. */
#ifndef LRC_SRC_PLUGINS_INT_H
#define LRC_SRC_PLUGINS_INT_H

#include <sys/types.h>

#include "common/uuid.h"
#include "src/ctr_job.h"
#include "src/fn_map.h"
#include "src/plugins.h"

struct plugin_waiter {
    lrc_plugin_done_fn fn;
    void *arg;
};

/* One PluginCall run. */
struct plugin_run {
    struct plugin_run *next;
    struct lrc_plugin *p;
    struct ctr_job *job; /* NULL while its code is read */
    lrc_plugin_call_fn fn;
    void *arg;
    int cancelled; /* answered already; its launch frees it */
};

/* Cancels every call of p with why: those running are killed, those still
 * launching are left for their launch to free. */
void plugin_cancel_runs(struct lrc_plugin *p, const char *why);

struct lrc_plugin {
    struct lrc_plugins *ps; /* NULL: an orphan (see above) */
    char uuid[UUID_STR_LEN];
    char *name, *status, *injected_at, *updated_at;
    int onboot, callable;
    cJSON *params;       /* the parameters of the last PluginStart, or NULL */
    cJSON *devices;      /* extra.devices: an array of specs, or NULL */
    struct ctr_job *job; /* the long-running instance */
    int starting;        /* its code is being read or its container created */
    int stop_after_start;
    struct plugin_waiter *stopw; /* told when the instance ends */
    size_t nstopw;
    ev_timer delay; /* PluginStop's delay */
    struct plugin_run *runs;
    unsigned busy; /* worker jobs in flight */
    int gone;      /* removed: freed once nothing runs */
    struct lrc_plugin *gone_next;
};

struct lrc_plugins {
    struct lrc_agent *a;
    struct fn_map map;       /* uuid -> struct lrc_plugin * */
    struct lrc_plugin *gone; /* removed, still running something */
    struct lrc_store *store; /* plugins.json */
    char *dir;               /* <state_dir>/plugins */
    uid_t uid;               /* [plugin] user */
    gid_t gid;
    unsigned stopping; /* instances lrc_plugins_stop_all() waits for */
    void (*stop_done)(void *arg);
    void *stop_arg;
    ev_timer stop_timer;
};

/* plugins.c */
void plugin_maybe_free(struct lrc_plugin *p);
void plugins_save(struct lrc_plugins *ps, lrc_store_done_fn done, void *arg);
char *plugin_code_path(const struct lrc_plugins *ps, const char *uuid);
void plugin_free(struct lrc_plugin *p);

/* plugins_run.c */
void plugin_instance_ended(struct lrc_plugin *p);
/* Text made valid UTF-8 (invalid bytes become U+FFFD). New. */
char *plugin_utf8(const char *s, size_t n);

#endif
