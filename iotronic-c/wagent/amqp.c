/* wagent/amqp.c: the wagent's AMQP interface (board-protocol.md 8).
 *
 * The wagent consumes wagent.<host>, declared auto-delete: when this wagent
 * dies its queue goes with its connection, so a conductor's call for one of
 * its boards comes back unroutable at once instead of waiting for a reader
 * that will never come, and the conductor re-reads boards.agent (8.1).
 * Handlers run on the AMQP thread (amqp/mq.h), validate their arguments
 * there and hand the work to the loop through the inbox; requests are
 * answered from the loop. It also declares what it publishes to: the topic
 * exchanges iotronic.board_events and iotronic.telemetry and the durable
 * queue qinling_engine_events. */
#include "wagent/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "conductor/rpc.h"

#define PREFETCH 16384 /* board calls in flight at once, across all boards */

enum relay_kind { RELAY_DROP_SESSION, RELAY_CLOSE_BOARD, RELAY_STATUS };

struct relay {
    struct wag_post post;
    struct wag *w;
    struct mq_req *req;
    enum relay_kind kind;
    char uuid[UUID_STR_LEN];
    uint64_t session;
};

static void drop_session(struct relay *r)
{
    struct wag_session *s = wag_session_get(r->w, r->session);

    if (s != NULL && s->board != NULL && strcmp(s->board->uuid, r->uuid) == 0) {
        log_info("board %s: session %llu taken over by another wagent", r->uuid,
                 (unsigned long long)r->session);
        wag_session_goodbye(s, "wamp.close.session_replaced");
    }
}

static void close_board(struct relay *r)
{
    struct wag_board *b = wag_board_get(r->w, r->uuid, 0);

    log_info("board %s: closing its session and tunnels (board deleted)", r->uuid);
    if (b != NULL && b->sess != NULL)
        wag_session_goodbye(b->sess, "wamp.close.normal");
    wag_tunnel_board_gone(r->w, r->uuid);
}

static cJSON *status(struct wag *w)
{
    struct tun_server_stats ts = {0};
    cJSON *o = cJSON_CreateObject();

    if (w->tun != NULL)
        tun_server_get_stats(w->tun, &ts);
    cJSON_AddStringToObject(o, "hostname", w->cfg->hostname);
    json_add_int(o, "sessions", (int64_t)w->sessions.n);
    json_add_int(o, "boards_online", w->bound);
    json_add_int(o, "tunnels", ts.tunnels);
    json_add_int(o, "uptime_s", (time_now_us() - w->started_us) / 1000000);
    return o;
}

static void relayed(struct wag_post *p)
{
    struct relay *r = (struct relay *)p;

    switch (r->kind) {
    case RELAY_DROP_SESSION:
        drop_session(r);
        mq_reply(r->req, cJSON_CreateObject());
        break;
    case RELAY_CLOSE_BOARD:
        close_board(r);
        mq_reply(r->req, cJSON_CreateObject());
        break;
    case RELAY_STATUS:
        mq_reply(r->req, status(r->w));
        break;
    }
    free(r);
}

static void post(struct wag *w, struct relay *r)
{
    if (wag_inbox_post(&w->inbox, &r->post, relayed) < 0) {
        mq_reply_error(r->req, ESHUTDOWN, 503, "The wagent is stopping.", NULL);
        free(r);
    }
}

static struct relay *relay_new(struct wag *w, struct mq_req *req, enum relay_kind kind)
{
    struct relay *r = xcalloc(1, sizeof(*r));

    r->w = w;
    r->req = req;
    r->kind = kind;
    return r;
}

static int board_arg(struct mq_req *req, const cJSON *args, char out[UUID_STR_LEN])
{
    const char *s = NULL;
    struct error err;

    if (json_get_str(args, "board_uuid", JSON_REQUIRED, 64, &s, &err) < 0 ||
        uuid_normalize(s, out) < 0) {
        mq_reply_error(req, EINVAL, 400, "board_uuid: a board UUID is required", NULL);
        return -EINVAL;
    }
    return 0;
}

/* The session id, as the decimal text of sessions.session_id or a number. */
static int session_arg(const cJSON *args, uint64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, "session");
    int64_t n;
    char *end;

    if (json_int_value(v, 1, (int64_t)WAMP_ID_MAX, &n)) {
        *out = (uint64_t)n;
        return 0;
    }
    if (!cJSON_IsString(v) || v->valuestring[0] < '1' || v->valuestring[0] > '9')
        return -EINVAL;
    *out = strtoull(v->valuestring, &end, 10);
    return *end == '\0' && *out <= WAMP_ID_MAX ? 0 : -EINVAL;
}

static void h_drop_session(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct relay *r = relay_new(ctx, req, RELAY_DROP_SESSION);

    if (board_arg(req, args, r->uuid) < 0) {
        free(r);
        return;
    }
    if (session_arg(args, &r->session) < 0) {
        mq_reply_error(req, EINVAL, 400, "session: a WAMP session id is required", NULL);
        free(r);
        return;
    }
    post(ctx, r);
}

static void h_close_board(struct mq_req *req, const cJSON *args, void *ctx)
{
    struct relay *r = relay_new(ctx, req, RELAY_CLOSE_BOARD);

    if (board_arg(req, args, r->uuid) < 0) {
        free(r);
        return;
    }
    post(ctx, r);
}

static void h_status(struct mq_req *req, const cJSON *args, void *ctx)
{
    (void)args;
    post(ctx, relay_new(ctx, req, RELAY_STATUS));
}

static const struct mq_handler handlers[] = {
    {"invoke", wag_invoke_handler, MQ_INLINE},
    {"drop_session", h_drop_session, MQ_INLINE},
    {"close_board", h_close_board, MQ_INLINE},
    {"status", h_status, MQ_INLINE},
};

void wag_agent_queue(char out[WAG_QUEUE_MAX], const char *host)
{
    snprintf(out, WAG_QUEUE_MAX, COND_WAGENT_QUEUE_PREFIX "%.255s", host);
}

static void declare(struct wag *w)
{
    struct error err;
    int rc;

    rc = mq_declare_exchange(w->mq, "iotronic.board_events", "topic", MQ_DURABLE, &err);
    if (rc < 0 && rc != -ENOTCONN)
        log_warn("iotronic.board_events: %s", err.msg);
    rc = mq_declare_exchange(w->mq, "iotronic.telemetry", "topic", MQ_DURABLE, &err);
    if (rc < 0 && rc != -ENOTCONN)
        log_warn("iotronic.telemetry: %s", err.msg);
    rc = mq_declare_queue(w->mq, "qinling_engine_events", MQ_DURABLE, &err);
    if (rc < 0 && rc != -ENOTCONN)
        log_warn("qinling_engine_events: %s", err.msg);
}

int wag_amqp_start(struct wag *w, struct error *err)
{
    struct mq_serve_opts so = {0};
    char queue[WAG_QUEUE_MAX];
    int rc;

    error_clear(err);
    declare(w);
    wag_agent_queue(queue, w->cfg->hostname);
    so.auto_delete = 1;
    so.prefetch = PREFETCH;
    rc = mq_serve(w->mq, queue, handlers, sizeof(handlers) / sizeof(handlers[0]), &so, w, err);
    if (rc == -ENOTCONN) {
        log_warn("AMQP broker not reachable yet; %s will be served once it is", queue);
        return 0;
    }
    return rc;
}
