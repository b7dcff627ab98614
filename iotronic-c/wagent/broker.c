/* wagent/broker.c: the broker role (board-protocol.md 5.9).
 *
 * A bound board may subscribe and publish only under its own topics
 * iotronic.board.<uuid>.*. A publication goes to the board's own
 * subscribers (the publisher excluded unless it asks otherwise, as WAMP
 * says) and to the AMQP topic exchange iotronic.telemetry, routing key = the
 * topic without "iotronic.", where cloud consumers bind. Publications are
 * fire-and-forget, at most 64 KiB of arguments and 50 per second per board;
 * refusals are sent only when the board asked for an acknowledgement. */
#include "wagent/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "wamp/uri.h"

#define PUBLICATION_MAX (64 * 1024)
#define TELEMETRY_EXCHANGE "iotronic.telemetry"

/* 0 when topic is a valid topic of s's own board. */
static int own_topic(struct wag_session *s, const char *topic, const char **uri_error)
{
    char uuid[UUID_STR_LEN];
    struct error err;

    *uri_error = NULL;
    if (wamp_uri_check(topic, &err) < 0) {
        *uri_error = "wamp.error.invalid_uri";
        return -EINVAL;
    }
    if (s->state != WAG_S_BOUND || s->board == NULL || wamp_board_topic_parse(topic, uuid) < 0 ||
        strcmp(uuid, s->board->uuid) != 0)
        return -EACCES;
    return 0;
}

static struct wag_sub *sub_by_topic(struct wag_session *s, const char *topic)
{
    for (uint32_t i = 0; i < s->subs.n; i++) {
        struct wag_sub *e = wamp_idtab_at(&s->subs, sizeof(*e), i);

        if (strcmp(e->topic, topic) == 0)
            return e;
    }
    return NULL;
}

void wag_broker_subscribe(struct wag_session *s, struct wamp_msg *m)
{
    struct wamp_msg reply = {.type = WAMP_SUBSCRIBED};
    const char *uri_error;
    struct wag_sub *e;
    uint64_t id;

    if (own_topic(s, m->topic, &uri_error) < 0) {
        wag_reply_error(s, WAMP_SUBSCRIBE, m->request,
                        uri_error ? uri_error : "wamp.error.not_authorized", NULL);
        return;
    }
    e = sub_by_topic(s, m->topic);
    if (e == NULL) {
        if (s->subs.n >= WAG_SUBS_MAX) {
            wag_reply_error(s, WAMP_SUBSCRIBE, m->request, "wamp.error.invalid_argument",
                            "Too many subscriptions in this session.");
            return;
        }
        do
            id = rand_id53();
        while (wamp_idtab_find(&s->subs, sizeof(*e), id) != NULL);
        e = wamp_idtab_insert(&s->subs, sizeof(*e), id);
        e->topic = xstrdup(m->topic);
    }
    reply.request = m->request;
    reply.subscription = e->id;
    (void)wag_session_send(s, &reply);
}

void wag_broker_unsubscribe(struct wag_session *s, struct wamp_msg *m)
{
    struct wamp_msg reply = {.type = WAMP_UNSUBSCRIBED};
    struct wag_sub *e;

    if (s->state != WAG_S_BOUND) {
        wag_reply_error(s, WAMP_UNSUBSCRIBE, m->request, "wamp.error.not_authorized", NULL);
        return;
    }
    e = wamp_idtab_find(&s->subs, sizeof(*e), m->subscription);
    if (e == NULL) {
        wag_reply_error(s, WAMP_UNSUBSCRIBE, m->request, "wamp.error.no_such_subscription", NULL);
        return;
    }
    free(e->topic);
    wamp_idtab_remove(&s->subs, sizeof(*e), e);
    reply.request = m->request;
    (void)wag_session_send(s, &reply);
}

void wag_broker_session_ended(struct wag_session *s)
{
    for (uint32_t i = 0; i < s->subs.n; i++)
        free(((struct wag_sub *)wamp_idtab_at(&s->subs, sizeof(struct wag_sub), i))->topic);
    wamp_idtab_clear(&s->subs);
}

/* An Options flag given as a boolean; def when absent. */
static int option(struct wamp_msg *m, const char *key, int def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(wamp_msg_details(m), key);

    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

static void to_telemetry(struct wag_session *s, struct wamp_msg *m)
{
    const cJSON *args = wamp_msg_args(m), *kwargs = wamp_msg_kwargs(m);
    char at[TIME_ISO_LEN];
    struct error err;
    cJSON *body = cJSON_CreateObject();

    cJSON_AddStringToObject(body, "board_uuid", s->board->uuid);
    cJSON_AddStringToObject(body, "topic", m->topic);
    cJSON_AddItemToObject(body, "args", args ? cJSON_Duplicate(args, 1) : cJSON_CreateArray());
    cJSON_AddItemToObject(body, "kwargs",
                          kwargs ? cJSON_Duplicate(kwargs, 1) : cJSON_CreateObject());
    cJSON_AddStringToObject(body, "received_at", time_format(time_now_us(), TIME_Z_US, at));
    /* Routing key: the topic without "iotronic." (5.9). */
    if (mq_publish(s->w->mq, TELEMETRY_EXCHANGE, m->topic + strlen("iotronic."), "telemetry", body,
                   0, &err) < 0)
        log_debug("telemetry from %s dropped: %s", s->board->uuid, err.msg);
    cJSON_Delete(body);
}

static void deliver(struct wag_session *s, struct wamp_msg *m, uint64_t pub)
{
    struct wamp_msg ev = {.type = WAMP_EVENT};
    struct wag_sub *e;

    if (option(m, "exclude_me", 1) || (e = sub_by_topic(s, m->topic)) == NULL)
        return; /* the publisher is the board's only session here */
    ev.subscription = e->id;
    ev.publication = pub;
    ev.args = m->args;
    ev.kwargs = m->kwargs;
    (void)wag_session_send(s, &ev);
}

void wag_broker_publish(struct wag_session *s, struct wamp_msg *m)
{
    int ack = option(m, "acknowledge", 0);
    struct wamp_msg reply = {.type = WAMP_PUBLISHED};
    const char *uri_error, *refusal = NULL, *why = NULL;
    uint64_t pub;

    if (own_topic(s, m->topic, &uri_error) < 0)
        refusal = uri_error ? uri_error : "wamp.error.not_authorized";
    else if (m->args.len + m->kwargs.len > PUBLICATION_MAX)
        refusal = "wamp.error.invalid_argument", why = "Publications are at most 64 KiB.";
    else if (!wag_bucket_take(&s->board->pub_rate, WAG_PUBLISH_RATE, WAG_PUBLISH_BURST,
                              wag_now(s->w)))
        refusal = "iotronic.error.busy", why = "Too many publications; slow down.";
    if (refusal != NULL) {
        if (ack)
            wag_reply_error(s, WAMP_PUBLISH, m->request, refusal, why);
        return;
    }
    pub = rand_id53();
    deliver(s, m, pub);
    to_telemetry(s, m);
    if (ack) {
        reply.request = m->request;
        reply.publication = pub;
        (void)wag_session_send(s, &reply);
    }
}
