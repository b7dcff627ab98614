/* wagent/events.c: board.online and board.offline (board-protocol.md 7.4).
 *
 * Each change of a board between online and not online is published as a
 * persistent message to the durable topic exchange iotronic.board_events,
 * routing key = the event's name, with publisher confirms. Events are
 * best-effort: one the broker does not confirm is logged, not retried
 * (consumers reconcile with boards.status). Publishing never blocks the
 * loop: the confirm is awaited on the AMQP thread. Any thread may call
 * wag_event_board(). */
#include "wagent/internal.h"

#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"

#define BOARD_EVENTS_EXCHANGE "iotronic.board_events"

/* AMQP thread. */
static void confirmed(int rc, const struct error *err, void *arg)
{
    (void)arg;
    if (rc < 0)
        log_warn("board event not confirmed: %s", err ? err->msg : "");
}

void wag_event_board(struct wag *w, const char *event, const char *board_uuid, const char *agent,
                     const char *session, const char *lr_version)
{
    char at[TIME_ISO_LEN];
    struct error err;
    cJSON *ev = cJSON_CreateObject();

    cJSON_AddStringToObject(ev, "event", event);
    cJSON_AddStringToObject(ev, "board_uuid", board_uuid);
    json_add_str_or_null(ev, "agent", agent);
    json_add_str_or_null(ev, "session", session);
    json_add_str_or_null(ev, "lr_version", lr_version);
    cJSON_AddStringToObject(ev, "at", time_format(time_now_us(), TIME_Z_US, at));
    if (mq_publish_async(w->mq, BOARD_EVENTS_EXCHANGE, event, event, ev, MQ_PERSISTENT | MQ_CONFIRM,
                         confirmed, NULL, &err) < 0)
        log_warn("%s %s not published: %s", event, board_uuid, err.msg);
    cJSON_Delete(ev);
}
