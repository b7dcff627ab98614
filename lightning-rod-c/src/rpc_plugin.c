/* src/rpc_plugin.c: the Plugin* procedures (board-protocol.md 6.5) on top
 * of src/plugins.h: argument checks and the contract's replies. */
#include "src/plugins.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/json.h"
#include "common/log.h"
#include "common/uuid.h"
#include "common/xalloc.h"
#include "src/rpc.h"

/* The plugin named by args[0]; answers and returns NULL when there is none. */
static struct lrc_plugin *plugin_arg(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    const char *uuid;
    struct lrc_plugin *p;
    struct error err;

    if (lrc_arg_string(args, 0, "plugin_uuid", 64, &uuid, &err) < 0) {
        lrc_call_error(c, err.msg);
        return NULL;
    }
    if (!uuid_is_like(uuid)) {
        lrc_call_error(c, "plugin_uuid is not a UUID");
        return NULL;
    }
    p = lrc_plugin_find(a->plugins, uuid);
    if (p == NULL)
        lrc_call_replyf(c, WAMP_RESULT_ERROR, "Plugin %s does not exist on this board.", uuid);
    return p;
}

/* parameters (args[1]): an object, or absent / null. -1 after answering. */
static int params_arg(struct lrc_call *c, const cJSON *args, const cJSON **out)
{
    struct error err;

    if (lrc_arg_object(args, 1, "parameters", 0, out, &err) < 0) {
        lrc_call_error(c, err.msg);
        return -1;
    }
    return 0;
}

static void reply_done(void *arg, int rc, const char *message)
{
    lrc_call_reply(arg, rc < 0 ? WAMP_RESULT_ERROR : WAMP_RESULT_SUCCESS,
                   cJSON_CreateString(message));
}

static void plugin_inject(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    const cJSON *plugin;
    struct error err;
    int onboot, updated;

    if (lrc_arg_object(args, 0, "plugin", 1, &plugin, &err) < 0 ||
        lrc_arg_bool(args, 1, "onboot", 0, &onboot, &err) < 0 ||
        lrc_plugin_inject(a->plugins, plugin, onboot, &updated, reply_done, c, &err) < 0)
        lrc_call_error(c, err.msg);
}

static void plugin_start(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    struct lrc_plugin *p = plugin_arg(a, c, args);
    const cJSON *params;

    if (p == NULL || params_arg(c, args, &params) < 0)
        return;
    if (lrc_plugin_start(p, params, reply_done, c) == -EALREADY)
        lrc_call_success(c, "ALREADY STARTED!");
}

static void plugin_stop(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    struct lrc_plugin *p = plugin_arg(a, c, args);
    const cJSON *params;
    struct error err;
    int64_t delay = 0;
    int rc;

    if (p == NULL || params_arg(c, args, &params) < 0)
        return;
    if (params != NULL) {
        rc = json_get_int(params, "delay", JSON_NULLABLE, 0, 3600, &delay, &err);
        if (rc < 0 && rc != -ENOENT) {
            lrc_call_error(c, err.msg);
            return;
        }
        if (rc != 0)
            delay = 0;
    }
    if (lrc_plugin_stop(p, delay, reply_done, c) == -ESRCH)
        lrc_call_replyf(c, WAMP_RESULT_WARNING, "Plugin %s is not running.", lrc_plugin_uuid(p));
}

static void call_done(void *arg, int rc, cJSON *message, const char *error)
{
    if (rc < 0)
        lrc_call_error(arg, error);
    else
        lrc_call_reply(arg, WAMP_RESULT_SUCCESS, message);
}

static void plugin_call(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    struct lrc_plugin *p = plugin_arg(a, c, args);
    const cJSON *params;

    if (p == NULL || params_arg(c, args, &params) < 0)
        return;
    lrc_plugin_call(p, params, call_done, c);
}

static void plugin_status(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    struct lrc_plugin *p = plugin_arg(a, c, args);

    if (p != NULL)
        lrc_call_success(c, lrc_plugin_alive(p) ? "ALIVE" : "DEAD");
}

/* PluginReboot: stop (waiting for the exit, not busily), then start. */
struct reboot {
    struct lrc_call *c;
    struct lrc_plugin *p;
    cJSON *params;
};

static void reboot_started(void *arg, int rc, const char *message)
{
    struct lrc_call *c = arg;

    if (rc < 0)
        lrc_call_error(c, message);
    else
        lrc_call_success(c, "REBOOTED");
}

static void reboot_stopped(void *arg, int rc, const char *message)
{
    struct reboot *r = arg;

    (void)rc;
    (void)message;
    if (lrc_plugin_start(r->p, r->params, reboot_started, r->c) == -EALREADY)
        lrc_call_success(r->c, "REBOOTED");
    cJSON_Delete(r->params);
    free(r);
}

static void plugin_reboot(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    struct lrc_plugin *p = plugin_arg(a, c, args);
    const cJSON *params;
    struct reboot *r;

    if (p == NULL || params_arg(c, args, &params) < 0)
        return;
    r = xcalloc(1, sizeof(*r));
    r->c = c;
    r->p = p;
    r->params = params ? cJSON_Duplicate(params, 1) : NULL;
    if (lrc_plugin_stop(p, 0, reboot_stopped, r) == -ESRCH)
        reboot_stopped(r, 0, NULL);
}

static void plugin_remove(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    struct lrc_plugin *p = plugin_arg(a, c, args);

    if (p != NULL)
        lrc_plugin_remove(p, reply_done, c);
}

const struct lrc_rpc_method lrc_rpc_plugin[] = {
    {"PluginInject", plugin_inject}, {"PluginStart", plugin_start},
    {"PluginStop", plugin_stop},     {"PluginCall", plugin_call},
    {"PluginStatus", plugin_status}, {"PluginReboot", plugin_reboot},
    {"PluginRemove", plugin_remove}, {NULL, NULL},
};
