/* tools/lr-swarm/tunnels.c: ServiceEnable, ServiceDisable, ServiceRestore and
 * ServicesStatus for simulated boards (board-protocol.md 6.5, 9.4).
 *
 * The tunnels are real: one tunnel client (tunnel/client.h, the library
 * lightning-rod-c uses) serves every board of the swarm, each tunnel
 * signed with its board's secret (9.5) and pointed at 127.0.0.1:<service
 * port>, so a bench can push bytes through a wagent's public port. Public
 * ports are unique on a wagent host (the conductor allocates them), so the
 * client keys tunnels by public port; this module remembers which board and
 * service own each one. Loop thread only. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "swarm.h"
#include "tunnel/client.h"
#include "tunnel/wire.h"
#include "wamp/wampmsg.h"

#define SVC_NAME_MAX 255

struct tunnel {
    int public_port;
    uint32_t board;
    char service_uuid[UUID_STR_LEN];
    char *name;
};

struct sw_tun {
    struct tun_client *client;
    struct tunnel *v;
    size_t n, cap;
};

int sw_tun_new(struct swarm *sw, struct error *err)
{
    struct tun_client_opts o;
    struct sw_tun *t = xcalloc(1, sizeof(*t));
    int rc;

    tun_client_opts_init(&o);
    rc = tun_client_new(sw->loop, &o, &t->client, err);
    if (rc < 0) {
        free(t);
        return rc;
    }
    sw->tun = t;
    return 0;
}

void sw_tun_free(struct swarm *sw)
{
    struct sw_tun *t = sw->tun;

    if (t == NULL)
        return;
    tun_client_free(t->client);
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].name);
    free(t->v);
    free(t);
    sw->tun = NULL;
}

static int fail(cJSON **message, const char *text)
{
    *message = cJSON_CreateString(text);
    return WAMP_RESULT_ERROR;
}

struct service {
    const char *uuid, *name, *protocol;
    int64_t port;
};

/* The service object of 2.4 (uuid, name, port, protocol). */
static int service_parse(const cJSON *o, struct service *s, cJSON **message)
{
    struct error err;

    if (!cJSON_IsObject(o))
        return fail(message, "service must be an object");
    if (json_get_str(o, "uuid", JSON_REQUIRED, 64, &s->uuid, &err) < 0 ||
        json_get_str(o, "name", JSON_REQUIRED, SVC_NAME_MAX, &s->name, &err) < 0 ||
        json_get_int(o, "port", JSON_REQUIRED, 1, 65535, &s->port, &err) < 0 ||
        json_get_str(o, "protocol", JSON_OPTIONAL, 16, &s->protocol, &err) < 0) {
        *message = cJSON_CreateString(err.msg);
        return WAMP_RESULT_ERROR;
    }
    if (s->protocol != NULL && strcmp(s->protocol, "TCP") != 0 && strcmp(s->protocol, "ANY") != 0)
        return fail(message, "Only TCP services can be exposed.");
    return WAMP_RESULT_SUCCESS;
}

static struct tunnel *find(struct sw_tun *t, uint32_t board, const char *service_uuid)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].board == board && strcmp(t->v[i].service_uuid, service_uuid) == 0)
            return &t->v[i];
    return NULL;
}

static void remember(struct sw_tun *t, uint32_t board, const struct service *s, int port)
{
    struct tunnel *e;

    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].public_port == port) { /* the client replaced it: so do we */
            free(t->v[i].name);
            t->v[i] = t->v[--t->n];
            break;
        }
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        t->v = xrealloc(t->v, t->cap * sizeof(*t->v));
    }
    e = &t->v[t->n++];
    e->public_port = port;
    e->board = board;
    snprintf(e->service_uuid, sizeof(e->service_uuid), "%s", s->uuid);
    e->name = xstrdup(s->name);
}

int sw_tun_enable(struct sw_board *b, const cJSON *first, int restore, cJSON **message)
{
    struct swarm *sw = b->sw;
    struct tun_tunnel_spec spec = {0};
    struct service s;
    struct tun_url u;
    struct error err;
    int64_t public_port;
    char text[SVC_NAME_MAX + TUN_HOST_MAX + 64];

    (void)restore; /* Restore re-opens or opens: the same thing here */
    if (sw->tun == NULL)
        return fail(message, "Tunnels are off in this swarm.");
    if (service_parse(first, &s, message) != WAMP_RESULT_SUCCESS)
        return WAMP_RESULT_ERROR;
    if (first->next == NULL || !json_int_value(first->next, 1, 65535, &public_port))
        return fail(message, "public_port must be an integer in 1..65535");
    if (b->wstun == 0 || tun_url_parse(sw->strs[b->wstun], &u, &err) < 0)
        return fail(message, "No tunnel server is known for this board.");
    spec.service = s.name;
    spec.url = sw->strs[b->wstun];
    spec.public_port = (int)public_port;
    spec.local_port = (int)s.port;
    spec.uuid = b->uuid;
    spec.secret = b->secret[0] ? b->secret : NULL;
    if (tun_client_open(sw->tun->client, &spec, &err) < 0) {
        sw_note(sw, SW_N_TUNNEL, "board %u: tunnel %d: %s", b->idx, (int)public_port, err.msg);
        *message = cJSON_CreateString(err.msg);
        return WAMP_RESULT_ERROR;
    }
    remember(sw->tun, b->idx, &s, (int)public_port);
    snprintf(text, sizeof(text), "Cloud service '%s' exposed on port %d on %s", s.name,
             (int)public_port, u.host);
    *message = cJSON_CreateString(text);
    return WAMP_RESULT_SUCCESS;
}

int sw_tun_disable(struct sw_board *b, const cJSON *first, cJSON **message)
{
    struct sw_tun *t = b->sw->tun;
    struct tunnel *e;
    struct service s;
    char text[SVC_NAME_MAX + 64];

    if (t == NULL)
        return fail(message, "Tunnels are off in this swarm.");
    if (service_parse(first, &s, message) != WAMP_RESULT_SUCCESS)
        return WAMP_RESULT_ERROR;
    e = find(t, b->idx, s.uuid);
    if (e == NULL)
        return fail(message, "Service is not exposed.");
    (void)tun_client_close(t->client, e->public_port);
    free(e->name);
    *e = t->v[--t->n];
    snprintf(text, sizeof(text), "Cloud service '%s' disabled.", s.name);
    *message = cJSON_CreateString(text);
    return WAMP_RESULT_SUCCESS;
}

static cJSON *status_item(const struct tun_client_status *st)
{
    char since[TIME_ISO_LEN];
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "service", st->service);
    cJSON_AddNumberToObject(o, "public_port", st->public_port);
    cJSON_AddNumberToObject(o, "local_port", st->local_port);
    cJSON_AddStringToObject(o, "state", st->state);
    cJSON_AddNumberToObject(o, "connections", st->connections);
    json_add_int(o, "bytes_in", (int64_t)st->bytes_in);
    json_add_int(o, "bytes_out", (int64_t)st->bytes_out);
    cJSON_AddStringToObject(o, "since", time_format(st->since_us, TIME_Z_US, since));
    return o;
}

int sw_tun_status(struct sw_board *b, cJSON **message)
{
    struct sw_tun *t = b->sw->tun;
    struct tun_client_status *all = NULL;
    size_t n;
    cJSON *arr;

    if (t == NULL)
        return fail(message, "Tunnels are off in this swarm.");
    n = tun_client_status(t->client, &all);
    *message = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(*message, "tunnels");
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < t->n; k++)
            if (t->v[k].board == b->idx && t->v[k].public_port == all[i].public_port)
                cJSON_AddItemToArray(arr, status_item(&all[i]));
    free(all);
    return WAMP_RESULT_SUCCESS;
}
