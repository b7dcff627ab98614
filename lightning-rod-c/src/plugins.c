/* src/plugins.c: see plugins.h. The records, plugins.json, inject and
 * remove; the runs are in plugins_run.c.
 *
 * plugins.json: {"plugins": {"<uuid>": {"name", "onboot", "callable",
 * "status", "injected_at", "updated_at", "parameters", "devices"}}}, the
 * original agent's layout plus the parameters of the last start (which the
 * original kept in <uuid>.json) and the declared devices. The code is a
 * separate file, plugins/<uuid>/code (mode 0600, read back at each run). */
#include "src/plugins_int.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "hal/devspec.h"
#include "src/fn_fs.h"

#define NAME_MAX_LEN 255

char *plugin_code_path(const struct lrc_plugins *ps, const char *uuid)
{
    return xasprintf("%s/%s/code", ps->dir, uuid);
}

void plugin_free(struct lrc_plugin *p)
{
    if (p->ps != NULL)
        ev_timer_stop(loop_ev(p->ps->a->loop), &p->delay);
    free(p->name);
    free(p->status);
    free(p->injected_at);
    free(p->updated_at);
    cJSON_Delete(p->params);
    cJSON_Delete(p->devices);
    free(p->stopw);
    free(p);
}

/* A removed plugin goes once its instance, calls and jobs are all over. */
void plugin_maybe_free(struct lrc_plugin *p)
{
    struct lrc_plugins *ps = p->ps;

    if ((!p->gone && ps != NULL) || p->job != NULL || p->starting || p->runs != NULL || p->busy > 0)
        return;
    if (ps != NULL)
        for (struct lrc_plugin **q = &ps->gone; *q != NULL; q = &(*q)->gone_next)
            if (*q == p) {
                *q = p->gone_next;
                break;
            }
    plugin_free(p);
}

/* --------------------------------------------------------- plugins.json */

static cJSON *record_json(const struct lrc_plugin *p)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "name", p->name);
    cJSON_AddBoolToObject(o, "onboot", p->onboot);
    cJSON_AddBoolToObject(o, "callable", p->callable);
    cJSON_AddStringToObject(o, "status", p->status);
    json_add_str_or_null(o, "injected_at", p->injected_at);
    json_add_str_or_null(o, "updated_at", p->updated_at);
    cJSON_AddItemToObject(o, "parameters",
                          p->params ? cJSON_Duplicate(p->params, 1) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "devices",
                          p->devices ? cJSON_Duplicate(p->devices, 1) : cJSON_CreateArray());
    return o;
}

void plugins_save(struct lrc_plugins *ps, lrc_store_done_fn done, void *arg)
{
    cJSON *doc = cJSON_CreateObject(), *all = cJSON_AddObjectToObject(doc, "plugins");
    const char *k;
    void *v;
    size_t i = 0;
    char *text;

    while (fn_map_next(&ps->map, &i, &k, &v))
        cJSON_AddItemToObject(all, k, record_json(v));
    text = cJSON_Print(doc);
    cJSON_Delete(doc);
    lrc_store_write(ps->store, xstrdup(text), strlen(text), done, arg);
    cJSON_free(text);
}

/* Optional fields of a record: absent or null keep the default. */
static int opt_bool(const cJSON *r, const char *key, int *out, struct error *err)
{
    int rc = json_get_bool(r, key, JSON_NULLABLE, out, err);

    if (rc == -ENOENT || rc == 1) {
        *out = 0;
        return 0;
    }
    return rc;
}

static int opt_str(const cJSON *r, const char *key, size_t max, char **out, struct error *err)
{
    const char *v;
    int rc = json_get_str(r, key, JSON_NULLABLE, max, &v, err);

    *out = NULL;
    if (rc == -ENOENT || rc == 1)
        return 0;
    if (rc == 0)
        *out = xstrdup(v);
    return rc;
}

/* One record of plugins.json into a new plugin; NULL with err when invalid. */
static struct lrc_plugin *record_parse(const char *uuid, const cJSON *r, struct error *err)
{
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(r, "devices");
    const cJSON *par = cJSON_GetObjectItemCaseSensitive(r, "parameters");
    struct lrc_plugin *p = xcalloc(1, sizeof(*p));

    if (uuid_normalize(uuid, p->uuid) < 0 || !cJSON_IsObject(r)) {
        error_set(err, -EINVAL, "%.64s is not a plugin record", uuid);
        goto bad;
    }
    if (opt_str(r, "name", NAME_MAX_LEN, &p->name, err) < 0 || p->name == NULL ||
        opt_bool(r, "onboot", &p->onboot, err) < 0 ||
        opt_bool(r, "callable", &p->callable, err) < 0 ||
        opt_str(r, "status", 32, &p->status, err) < 0 ||
        opt_str(r, "injected_at", 64, &p->injected_at, err) < 0 ||
        opt_str(r, "updated_at", 64, &p->updated_at, err) < 0) {
        error_prefix(err, "plugin %s", p->uuid);
        if (p->name == NULL && err != NULL && err->code == 0)
            error_set(err, -EINVAL, "plugin %s has no name", p->uuid);
        goto bad;
    }
    if (p->status == NULL)
        p->status = xstrdup("injected");
    p->params = par != NULL && !cJSON_IsNull(par) ? cJSON_Duplicate(par, 1) : NULL;
    p->devices = cJSON_IsArray(dev) && cJSON_GetArraySize(dev) > 0 ? cJSON_Duplicate(dev, 1) : NULL;
    return p;
bad:
    plugin_free(p);
    return NULL;
}

static int check_file(const char *text, size_t len, void *arg, struct error *err)
{
    cJSON *doc;
    const cJSON *all;
    int rc;

    (void)arg;
    if (json_parse(text, len, &doc, err) < 0)
        return -EINVAL;
    all = cJSON_GetObjectItemCaseSensitive(doc, "plugins");
    rc = cJSON_IsObject(all) ? 0 : error_set(err, -EINVAL, "no \"plugins\" object");
    for (const cJSON *r = all ? all->child : NULL; rc == 0 && r != NULL; r = r->next) {
        struct lrc_plugin *p = record_parse(r->string, r, err);

        if (p == NULL)
            rc = -EINVAL;
        else
            plugin_free(p);
    }
    cJSON_Delete(doc);
    return rc;
}

static int load(struct lrc_plugins *ps, const char *path, struct error *err)
{
    char *text;
    size_t len;
    int from_bak, rc = lrc_statefile_load(path, check_file, NULL, &text, &len, &from_bak, err);
    cJSON *doc;

    if (rc == -ENOENT)
        return 0;
    if (rc == -EBADMSG) {
        log_error("%s: no usable copy: starting without plugins", path);
        return 0;
    }
    if (rc < 0)
        return rc;
    if (json_parse(text, len, &doc, err) == 0) {
        const cJSON *all = cJSON_GetObjectItemCaseSensitive(doc, "plugins");

        for (const cJSON *r = all->child; r != NULL; r = r->next) {
            struct lrc_plugin *p = record_parse(r->string, r, err);

            if (p == NULL)
                continue; /* cannot happen: check_file() passed it */
            p->ps = ps;
            fn_map_put(&ps->map, p->uuid, p);
        }
        cJSON_Delete(doc);
    }
    free(text);
    if (ps->map.len > 0)
        log_info("plugins: %zu injected", ps->map.len);
    return 0;
}

int lrc_plugins_new(struct lrc_agent *a, struct lrc_plugins **out, struct error *err)
{
    struct lrc_plugins *ps = xcalloc(1, sizeof(*ps));
    struct passwd *pw = getpwnam(a->conf->plugin_user);
    char *path = xasprintf("%s/%s", a->conf->state_dir, LRC_PLUGINS_NAME);
    int rc;

    *out = NULL;
    ps->a = a;
    ps->dir = xasprintf("%s/plugins", a->conf->state_dir);
    fn_map_init(&ps->map);
    ps->uid = pw ? pw->pw_uid : 65534;
    ps->gid = pw ? pw->pw_gid : 65534;
    if (pw == NULL)
        log_warn("plugins: [plugin] user %s does not exist: plugins run as 65534",
                 a->conf->plugin_user);
    ps->store = lrc_store_new(a->wq, path, 0600);
    rc = fn_fs_mkdirs(ps->dir, 0700, err);
    if (rc == 0)
        rc = load(ps, path, err);
    free(path);
    if (rc < 0) {
        lrc_plugins_free(ps);
        return rc;
    }
    *out = ps;
    return 0;
}

struct lrc_plugin *lrc_plugin_find(struct lrc_plugins *ps, const char *uuid)
{
    char norm[UUID_STR_LEN];

    if (uuid_normalize(uuid, norm) < 0)
        return NULL;
    return fn_map_get(&ps->map, norm);
}

const char *lrc_plugin_name(const struct lrc_plugin *p)
{
    return p->name;
}

const char *lrc_plugin_uuid(const struct lrc_plugin *p)
{
    return p->uuid;
}

const cJSON *lrc_plugin_params(const struct lrc_plugin *p)
{
    return p->params;
}

/* From PluginStart until the program ends: its container may still be
 * being created, which is "alive" as far as the cloud is concerned. */
int lrc_plugin_alive(const struct lrc_plugin *p)
{
    return p->job != NULL || p->starting;
}

cJSON *lrc_plugins_status(const struct lrc_plugins *ps)
{
    cJSON *list = cJSON_CreateArray();
    const char *k;
    void *v;
    size_t i = 0;

    while (fn_map_next(&ps->map, &i, &k, &v)) {
        const struct lrc_plugin *p = v;
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "uuid", p->uuid);
        cJSON_AddStringToObject(o, "name", p->name);
        cJSON_AddStringToObject(o, "status", p->status);
        cJSON_AddBoolToObject(o, "onboot", p->onboot);
        cJSON_AddBoolToObject(o, "alive", lrc_plugin_alive(p));
        cJSON_AddItemToArray(list, o);
    }
    return list;
}

/* -------------------------------------------------------------- inject */

struct inject {
    struct lrc_plugins *ps;
    struct lrc_plugin *p;
    char *path, *code;
    int rc, updated;
    struct error err;
    lrc_plugin_done_fn done;
    void *arg;
};

static void inject_saved(void *arg, int rc, const struct error *err)
{
    struct inject *j = arg;
    char *msg;

    if (rc < 0) {
        msg = xasprintf("Plugin %s could not be stored: %s", j->p->name, err->msg);
        j->done(j->arg, rc, msg);
    } else {
        msg = xasprintf("Plugin %s %s", j->p->name, j->updated ? "updated" : "injected");
        j->done(j->arg, 0, msg);
    }
    free(msg);
    free(j);
}

static void work_code(void *arg, void *ctx)
{
    struct inject *j = arg;
    char *dir = xstrndup(j->path, strrchr(j->path, '/') - j->path);

    (void)ctx;
    j->rc = fn_fs_mkdirs(dir, 0700, &j->err);
    if (j->rc == 0)
        j->rc = fn_fs_write_atomic(j->path, j->code, strlen(j->code), 0600, &j->err);
    free(dir);
}

static void code_written(void *arg)
{
    struct inject *j = arg;
    struct lrc_plugin *p = j->p;

    free(j->path);
    free(j->code);
    p->busy--;
    if (p->ps == NULL || p->gone) {
        j->done(j->arg, -ECANCELED, "The plugin was removed meanwhile.");
        plugin_maybe_free(p);
        free(j);
        return;
    }
    if (j->rc < 0) {
        char *msg = xasprintf("Plugin %s could not be stored: %s", p->name, j->err.msg);

        j->done(j->arg, j->rc, msg);
        free(msg);
        free(j);
        return;
    }
    plugins_save(j->ps, inject_saved, j);
}

/* Reads the plugin object: uuid, name, code (interpreter allowed), devices. */
static int inject_args(struct lrc_plugins *ps, const cJSON *o, const char **uuid, const char **name,
                       const char **code, int *callable, const cJSON **devices, struct error *err)
{
    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(o, "extra");
    struct hal_devspec *specs = NULL;
    char *interp = NULL;
    const char *flag;
    size_t n;
    int rc;

    if (json_get_str(o, "uuid", JSON_REQUIRED, 64, uuid, err) < 0)
        return error_prefix(err, "plugin");
    if (!uuid_is_like(*uuid))
        return error_set(err, -EINVAL, "plugin: uuid is not a UUID");
    if (json_get_str(o, "name", JSON_REQUIRED, NAME_MAX_LEN, name, err) < 0 ||
        json_get_str(o, "code", JSON_REQUIRED, LRC_PLUGIN_CODE_MAX, code, err) < 0)
        return error_prefix(err, "plugin");
    if ((*name)[0] == '\0' || (*code)[0] == '\0')
        return error_set(err, -EINVAL, "plugin: name and code must not be empty");
    rc = json_get_bool(o, "callable", JSON_NULLABLE, callable, err);
    if (rc < 0 && rc != -ENOENT)
        return error_prefix(err, "plugin");
    if (rc != 0)
        *callable = 0;
    if (lrc_plugin_interpreter(*code, ps->a->conf->interp_list, &interp, &flag, err) < 0)
        return error_prefix(err, "plugin");
    free(interp);
    *devices = cJSON_IsObject(extra) ? cJSON_GetObjectItemCaseSensitive(extra, "devices") : NULL;
    if (*devices != NULL && !cJSON_IsNull(*devices)) {
        rc = hal_devspec_parse_json(*devices, &specs, &n, err);
        free(specs);
        if (rc < 0)
            return error_prefix(err, "plugin.extra.devices");
    }
    return 0;
}

static struct lrc_plugin *record_for(struct lrc_plugins *ps, const char *uuid, int *updated)
{
    struct lrc_plugin *p = lrc_plugin_find(ps, uuid);
    char now[TIME_ISO_LEN];

    time_format(time_now_us(), TIME_Z_US, now);
    *updated = p != NULL;
    if (p == NULL) {
        p = xcalloc(1, sizeof(*p));
        if (uuid_normalize(uuid, p->uuid) < 0) /* checked by inject_args() */
            snprintf(p->uuid, sizeof(p->uuid), "%.36s", uuid);
        p->ps = ps;
        p->injected_at = xstrdup(now);
        p->status = xstrdup("injected");
        fn_map_put(&ps->map, p->uuid, p);
        return p;
    }
    free(p->updated_at);
    p->updated_at = xstrdup(now);
    free(p->status);
    p->status = xstrdup("updated");
    return p;
}

int lrc_plugin_inject(struct lrc_plugins *ps, const cJSON *plugin, int onboot, int *updated,
                      lrc_plugin_done_fn done, void *arg, struct error *err)
{
    const char *uuid, *name, *code;
    const cJSON *devices = NULL;
    struct lrc_plugin *p;
    struct inject *j;
    int callable = 0;

    if (inject_args(ps, plugin, &uuid, &name, &code, &callable, &devices, err) < 0)
        return -EINVAL;
    p = record_for(ps, uuid, updated);
    /* An update replaces the program: a running instance of the old one goes. */
    if (*updated && (p->job != NULL || p->starting) && lrc_plugin_stop(p, 0, NULL, NULL) < 0)
        log_warn("plugin %s: cannot stop the running instance", p->uuid);
    free(p->name);
    p->name = xstrdup(name);
    p->onboot = onboot;
    p->callable = callable;
    cJSON_Delete(p->devices);
    p->devices = devices != NULL && cJSON_IsArray(devices) && cJSON_GetArraySize(devices) > 0
                     ? cJSON_Duplicate(devices, 1)
                     : NULL;
    j = xcalloc(1, sizeof(*j));
    j->ps = ps;
    j->p = p;
    j->path = plugin_code_path(ps, p->uuid);
    j->code = xstrdup(code);
    j->updated = *updated;
    j->done = done;
    j->arg = arg;
    p->busy++;
    if (wq_submit(ps->a->wq, work_code, code_written, j) < 0) {
        j->rc = error_set(&j->err, -ESHUTDOWN, "the agent is stopping");
        code_written(j);
    }
    return 0;
}

/* -------------------------------------------------------------- remove */

struct removal {
    struct lrc_plugins *ps;
    struct lrc_plugin *p;
    char *dir;
    int rc;
    struct error err;
    char uuid[UUID_STR_LEN];
    lrc_plugin_done_fn done;
    void *arg;
};

static void removal_saved(void *arg, int rc, const struct error *err)
{
    struct removal *r = arg;
    char *msg = rc < 0 ? xasprintf("Plugin %s could not be removed: %s", r->uuid, err->msg)
                       : xasprintf("Plugin %s removed", r->uuid);

    r->done(r->arg, rc, msg);
    free(msg);
    free(r);
}

static void work_rmtree(void *arg, void *ctx)
{
    struct removal *r = arg;

    (void)ctx;
    r->rc = fn_fs_rmtree(r->dir, &r->err);
}

static void files_removed(void *arg)
{
    struct removal *r = arg;

    free(r->dir);
    if (r->rc < 0)
        log_warn("plugin %s: %s", r->uuid, r->err.msg);
    r->p->busy--;
    if (r->p->ps == NULL) {
        plugin_maybe_free(r->p);
        free(r);
        return;
    }
    plugin_maybe_free(r->p);
    plugins_save(r->ps, removal_saved, r);
}

static void remove_files(struct removal *r)
{
    r->dir = xasprintf("%s/%s", r->ps->dir, r->uuid);
    r->p->busy++;
    if (wq_submit(r->ps->a->wq, work_rmtree, files_removed, r) < 0) {
        r->rc = error_set(&r->err, -ESHUTDOWN, "the agent is stopping");
        files_removed(r);
    }
}

static void removal_stopped(void *arg, int rc, const char *message)
{
    (void)rc;
    (void)message;
    remove_files(arg);
}

void lrc_plugin_remove(struct lrc_plugin *p, lrc_plugin_done_fn done, void *arg)
{
    struct lrc_plugins *ps = p->ps;
    struct removal *r = xcalloc(1, sizeof(*r));

    r->ps = ps;
    r->p = p;
    r->done = done;
    r->arg = arg;
    memcpy(r->uuid, p->uuid, sizeof(r->uuid));
    fn_map_del(&ps->map, p->uuid);
    p->gone = 1;
    p->gone_next = ps->gone;
    ps->gone = p;
    if (lrc_plugin_stop(p, 0, removal_stopped, r) < 0)
        remove_files(r);
}

/* ---------------------------------------------------------- lifecycle */

void lrc_plugins_purge(struct lrc_plugins *ps)
{
    const char *k;
    void *v;
    size_t i = 0;

    while (fn_map_next(&ps->map, &i, &k, &v)) {
        struct lrc_plugin *p = v;

        fn_map_del(&ps->map, k);
        p->gone = 1;
        p->gone_next = ps->gone;
        ps->gone = p;
        if (lrc_plugin_stop(p, 0, NULL, NULL) < 0)
            plugin_maybe_free(p);
    }
}

static void release(struct lrc_plugin *p)
{
    ctr_job_free(p->job);
    p->job = NULL;
    p->starting = 0;
    plugin_cancel_runs(p, "The agent is stopping.");
    if (p->busy > 0) {
        ev_timer_stop(loop_ev(p->ps->a->loop), &p->delay);
        p->ps = NULL; /* its worker job frees it */
        return;
    }
    plugin_free(p);
}

void lrc_plugins_free(struct lrc_plugins *ps)
{
    const char *k;
    void *v;
    size_t i = 0;

    if (ps == NULL)
        return;
    ev_timer_stop(loop_ev(ps->a->loop), &ps->stop_timer);
    while (fn_map_next(&ps->map, &i, &k, &v))
        release(v);
    while (ps->gone != NULL) {
        struct lrc_plugin *p = ps->gone;

        ps->gone = p->gone_next;
        release(p);
    }
    fn_map_free(&ps->map);
    lrc_store_free(ps->store);
    free(ps->dir);
    free(ps);
}
