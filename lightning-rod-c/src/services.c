/* src/services.c: see services.h. The records, services.json, the tunnels,
 * and the Service* procedures.
 *
 * services.json: {"services": {"<service uuid>": {"name", "port", "protocol",
 * "public_port", "exposed_at"}}}. A record is stored before its tunnel is
 * reported open, so that a restart restores what the cloud was told. */
#include "src/services.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/uuid.h"
#include "common/xalloc.h"
#include "src/fn_map.h"
#include "src/link.h"
#include "src/rpc.h"
#include "tunnel/wire.h"

#define SERVICE_NAME_MAX 255

struct service {
    char uuid[UUID_STR_LEN];
    char *name, *protocol, *exposed_at;
    int port, public_port;
};

struct lrc_services {
    struct lrc_agent *a;
    struct fn_map map; /* service uuid -> struct service * */
    struct lrc_store *store;
    char *url;    /* the wstun_url the tunnels were opened toward, or NULL */
    char *secret; /* the board secret that signs them, or NULL */
};

static void service_free(struct service *sv)
{
    if (sv == NULL)
        return;
    free(sv->name);
    free(sv->protocol);
    free(sv->exposed_at);
    free(sv);
}

/* ---------------------------------------------------------- the tunnels */

static int open_tunnel(struct lrc_services *s, const struct service *sv, struct error *err)
{
    const struct lrc_settings *st = &s->a->settings;
    struct tun_tunnel_spec spec = {
        .service = sv->name,
        .url = s->url,
        .public_port = sv->public_port,
        .local_port = sv->port,
        .uuid = st->uuid,
        .secret = st->secret,
    };
    struct tun_client *tc;

    if (s->url == NULL)
        return error_set(err, -ENOTCONN, "the cloud gave no tunnel server URL");
    tc = lrc_agent_tun(s->a, err);
    return tc == NULL ? -EIO : tun_client_open(tc, &spec, err);
}

static void open_all(struct lrc_services *s)
{
    const char *k;
    void *v;
    size_t i = 0;
    struct error err;

    while (fn_map_next(&s->map, &i, &k, &v))
        if (open_tunnel(s, v, &err) < 0)
            log_error("service %s: cannot open its tunnel: %s", ((struct service *)v)->name,
                      err.msg);
}

static int same(const char *x, const char *y)
{
    return x == y || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

void lrc_services_online(struct lrc_services *s, int online)
{
    const char *url = lrc_link_wstun_url(s->a->link), *secret = s->a->settings.secret;

    if (!online || url == NULL)
        return;
    /* Same server, same proof: the tunnels reconnect by themselves. A
     * failover moves them; a new secret (re-registration) re-signs them. */
    if (s->url != NULL && same(s->url, url) && same(s->secret, secret))
        return;
    if (s->url != NULL && s->map.len > 0)
        log_info("services: reopening %zu tunnel(s) toward %s", s->map.len, url);
    free(s->url);
    s->url = xstrdup(url);
    free(s->secret);
    s->secret = secret ? xstrdup(secret) : NULL;
    open_all(s);
}

void lrc_services_close_all(struct lrc_services *s)
{
    const char *k;
    void *v;
    size_t i = 0;

    while (s->a->tun != NULL && fn_map_next(&s->map, &i, &k, &v))
        (void)tun_client_close(s->a->tun, ((struct service *)v)->public_port);
    free(s->url);
    s->url = NULL;
    free(s->secret);
    s->secret = NULL;
}

/* ------------------------------------------------------ services.json */

static void save(struct lrc_services *s, lrc_store_done_fn done, void *arg)
{
    cJSON *doc = cJSON_CreateObject(), *all = cJSON_AddObjectToObject(doc, "services");
    const char *k;
    void *v;
    size_t i = 0;
    char *text;

    while (fn_map_next(&s->map, &i, &k, &v)) {
        const struct service *sv = v;
        cJSON *o = cJSON_AddObjectToObject(all, k);

        cJSON_AddStringToObject(o, "name", sv->name);
        json_add_int(o, "port", sv->port);
        cJSON_AddStringToObject(o, "protocol", sv->protocol);
        json_add_int(o, "public_port", sv->public_port);
        json_add_str_or_null(o, "exposed_at", sv->exposed_at);
    }
    text = cJSON_Print(doc);
    cJSON_Delete(doc);
    lrc_store_write(s->store, xstrdup(text), strlen(text), done, arg);
    cJSON_free(text);
}

/* A record (of services.json or of a call) into a new service. */
static struct service *service_parse(const char *uuid, const cJSON *o, int64_t public_port,
                                     struct error *err)
{
    struct service *sv = xcalloc(1, sizeof(*sv));
    const char *name, *proto = "TCP";
    int64_t port;
    int rc;

    if (uuid == NULL || uuid_normalize(uuid, sv->uuid) < 0) {
        error_set(err, -EINVAL, "service: uuid is not a UUID");
        goto bad;
    }
    if (json_get_str(o, "name", JSON_REQUIRED, SERVICE_NAME_MAX, &name, err) < 0 ||
        json_get_int(o, "port", JSON_REQUIRED, 1, 65535, &port, err) < 0) {
        error_prefix(err, "service");
        goto bad;
    }
    rc = json_get_str(o, "protocol", JSON_NULLABLE, 16, &proto, err);
    if (rc < 0 && rc != -ENOENT) {
        error_prefix(err, "service");
        goto bad;
    }
    if (rc != 0)
        proto = "TCP";
    sv->name = xstrdup(name);
    sv->protocol = xstrdup(proto);
    sv->port = (int)port;
    sv->public_port = (int)public_port;
    return sv;
bad:
    service_free(sv);
    return NULL;
}

static int check_file(const char *text, size_t len, void *arg, struct error *err)
{
    cJSON *doc;
    const cJSON *all;
    int rc = 0;

    (void)arg;
    if (json_parse(text, len, &doc, err) < 0)
        return -EINVAL;
    all = cJSON_GetObjectItemCaseSensitive(doc, "services");
    if (!cJSON_IsObject(all))
        rc = error_set(err, -EINVAL, "no \"services\" object");
    for (const cJSON *r = all ? all->child : NULL; rc == 0 && r != NULL; r = r->next) {
        int64_t pp;
        struct service *sv = NULL;

        if (json_get_int(r, "public_port", JSON_REQUIRED, 1, 65535, &pp, err) < 0 ||
            (sv = service_parse(r->string, r, pp, err)) == NULL)
            rc = -EINVAL;
        service_free(sv);
    }
    cJSON_Delete(doc);
    return rc;
}

static int load(struct lrc_services *s, const char *path, struct error *err)
{
    char *text;
    size_t len;
    int from_bak, rc = lrc_statefile_load(path, check_file, NULL, &text, &len, &from_bak, err);
    cJSON *doc;

    if (rc == -ENOENT)
        return 0;
    if (rc == -EBADMSG) {
        log_error("%s: no usable copy: starting without exposed services", path);
        return 0;
    }
    if (rc < 0)
        return rc;
    if (json_parse(text, len, &doc, err) == 0) {
        const cJSON *all = cJSON_GetObjectItemCaseSensitive(doc, "services");

        for (const cJSON *r = all->child; r != NULL; r = r->next) {
            const cJSON *at = cJSON_GetObjectItemCaseSensitive(r, "exposed_at");
            int64_t pp = 0;
            struct service *sv;

            if (json_get_int(r, "public_port", JSON_REQUIRED, 1, 65535, &pp, err) < 0 ||
                (sv = service_parse(r->string, r, pp, err)) == NULL)
                continue; /* cannot happen: check_file() passed it */
            sv->exposed_at = cJSON_IsString(at) ? xstrdup(at->valuestring) : NULL;
            service_free(fn_map_put(&s->map, sv->uuid, sv));
        }
        cJSON_Delete(doc);
    }
    free(text);
    if (s->map.len > 0)
        log_info("services: %zu exposed; their tunnels open once online", s->map.len);
    return 0;
}

int lrc_services_new(struct lrc_agent *a, struct lrc_services **out, struct error *err)
{
    struct lrc_services *s = xcalloc(1, sizeof(*s));
    char *path = xasprintf("%s/%s", a->conf->state_dir, LRC_SERVICES_NAME);
    int rc;

    *out = NULL;
    s->a = a;
    fn_map_init(&s->map);
    s->store = lrc_store_new(a->wq, path, 0600);
    rc = load(s, path, err);
    free(path);
    if (rc < 0) {
        lrc_services_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void clear_map(struct lrc_services *s)
{
    const char *k;
    void *v;
    size_t i = 0;

    while (fn_map_next(&s->map, &i, &k, &v)) {
        fn_map_del(&s->map, k);
        service_free(v);
    }
}

void lrc_services_purge(struct lrc_services *s)
{
    lrc_services_close_all(s);
    clear_map(s);
}

void lrc_services_free(struct lrc_services *s)
{
    if (s == NULL)
        return;
    clear_map(s);
    fn_map_free(&s->map);
    lrc_store_free(s->store);
    free(s->url);
    free(s->secret);
    free(s);
}

cJSON *lrc_services_status(const struct lrc_services *s)
{
    cJSON *o = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(o, "tunnels");
    struct tun_client_status *st = NULL;
    size_t n = s->a->tun != NULL ? tun_client_status(s->a->tun, &st) : 0;

    for (size_t i = 0; i < n; i++) {
        cJSON *t = cJSON_CreateObject();
        char since[TIME_ISO_LEN];

        cJSON_AddStringToObject(t, "service", st[i].service);
        json_add_int(t, "public_port", st[i].public_port);
        json_add_int(t, "local_port", st[i].local_port);
        cJSON_AddStringToObject(t, "state", st[i].state);
        json_add_int(t, "connections", st[i].connections);
        json_add_int(t, "bytes_in", (int64_t)st[i].bytes_in);
        json_add_int(t, "bytes_out", (int64_t)st[i].bytes_out);
        cJSON_AddStringToObject(t, "since", time_format(st[i].since_us, TIME_Z_US, since));
        cJSON_AddItemToArray(list, t);
    }
    free(st);
    return o;
}

/* ---------------------------------------------------------- procedures */

struct pending {
    struct lrc_call *c;
    char *message;
};

static void saved(void *arg, int rc, const struct error *err)
{
    struct pending *p = arg;

    if (rc < 0)
        lrc_call_replyf(p->c, WAMP_RESULT_ERROR, "services.json could not be written: %s",
                        err->msg);
    else
        lrc_call_success(p->c, p->message);
    free(p->message);
    free(p);
}

static void save_then_reply(struct lrc_services *s, struct lrc_call *c, char *message)
{
    struct pending *p = xcalloc(1, sizeof(*p));

    p->c = c;
    p->message = message;
    save(s, saved, p);
}

/* The service object (args[0]) and, with want_port, public_port (args[1]). */
static struct service *service_arg(struct lrc_call *c, const cJSON *args, int want_port)
{
    const cJSON *o;
    const char *uuid;
    struct service *sv;
    struct error err;
    int64_t pp = 0;

    if (lrc_arg_object(args, 0, "service", 1, &o, &err) < 0)
        goto bad;
    if (json_get_str(o, "uuid", JSON_REQUIRED, 64, &uuid, &err) < 0) {
        error_prefix(&err, "service");
        goto bad;
    }
    if (want_port && lrc_arg_int(args, 1, "public_port", 1, 65535, &pp, &err) < 0)
        goto bad;
    sv = service_parse(uuid, o, pp, &err);
    if (sv == NULL)
        goto bad;
    if (strcasecmp(sv->protocol, "TCP") != 0 && strcasecmp(sv->protocol, "ANY") != 0) {
        service_free(sv);
        lrc_call_error(c, "Only TCP services can be exposed.");
        return NULL;
    }
    return sv;
bad:
    lrc_call_error(c, err.msg);
    return NULL;
}

static void tunnel_host(const struct lrc_services *s, char *out, size_t cap)
{
    struct tun_url u;

    if (s->url == NULL || tun_url_parse(s->url, &u, NULL) < 0)
        snprintf(out, cap, "?");
    else
        snprintf(out, cap, "%s", u.host);
}

static void expose(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    struct lrc_services *s = a->services;
    struct service *sv = service_arg(c, args, 1);
    char host[TUN_HOST_MAX], now[TIME_ISO_LEN];
    struct error err;

    if (sv == NULL)
        return;
    lrc_services_online(s, 1); /* picks up the link's wstun_url if not done yet */
    if (open_tunnel(s, sv, &err) < 0) {
        lrc_call_replyf(c, WAMP_RESULT_ERROR, "Cannot expose service '%s': %s", sv->name, err.msg);
        service_free(sv);
        return;
    }
    sv->exposed_at = xstrdup(time_format(time_now_us(), TIME_Z_US, now));
    tunnel_host(s, host, sizeof(host));
    log_info("service %s exposed: %s:%d -> 127.0.0.1:%d", sv->name, host, sv->public_port,
             sv->port);
    service_free(fn_map_put(&s->map, sv->uuid, sv));
    save_then_reply(
        s, c,
        xasprintf("Cloud service '%s' exposed on port %d on %s", sv->name, sv->public_port, host));
}

static void service_enable(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    expose(a, c, args);
}

static void service_restore(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    expose(a, c, args);
}

static void service_disable(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    struct lrc_services *s = a->services;
    struct service *sv = service_arg(c, args, 0), *old;

    if (sv == NULL)
        return;
    old = fn_map_del(&s->map, sv->uuid);
    if (old == NULL) {
        lrc_call_replyf(c, WAMP_RESULT_WARNING, "Cloud service '%s' is not exposed.", sv->name);
        service_free(sv);
        return;
    }
    if (a->tun != NULL)
        (void)tun_client_close(a->tun, old->public_port);
    log_info("service %s disabled (port %d)", old->name, old->public_port);
    save_then_reply(s, c, xasprintf("Cloud service '%s' disabled.", sv->name));
    service_free(old);
    service_free(sv);
}

static void services_status(struct lrc_agent *a, struct lrc_call *c, const cJSON *args)
{
    (void)args;
    lrc_call_reply(c, WAMP_RESULT_SUCCESS, lrc_services_status(a->services));
}

const struct lrc_rpc_method lrc_rpc_service[] = {
    {"ServiceEnable", service_enable},
    {"ServiceDisable", service_disable},
    {"ServiceRestore", service_restore},
    {"ServicesStatus", services_status},
    {NULL, NULL},
};
