/* wagent/callee_alive.c: the link-testing callees (board-protocol.md 5.3, 5.5).
 *
 * wamp_alive is the original agent's periodic check, answered with the same
 * plain string as the original; it also records sessions.last_seen_at, at
 * most once a minute per board, off the loop and without waiting for it.
 * alive and echo answer at once and touch nothing. */
#include "wagent/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

#define LAST_SEEN_EVERY 60.0

void wag_alive_text(char out[64])
{
    char ts[TIME_ISO_LEN];
    size_t n;

    time_format(time_now_us(), TIME_Z_US, ts);
    n = strlen(ts);
    if (n > 0 && ts[n - 1] == 'Z')
        ts[n - 1] = '\0'; /* the original prints a naive UTC isoformat() */
    snprintf(out, 64, "Iotronic alive @ %s", ts);
}

struct seen_job {
    char uuid[UUID_STR_LEN];
    char session[24];
};

static const struct db_stmt last_seen = {
    "wag_last_seen",
    "UPDATE sessions SET last_seen_at = now() WHERE board_uuid = $1::uuid AND session_id = $2 "
    "AND valid",
    2,
};

static void seen_work(void *arg, void *thread_ctx)
{
    struct seen_job *j = arg;
    const char *p[2] = {j->uuid, j->session};
    struct error err;

    if (thread_ctx != NULL && db_exec_stmt(thread_ctx, &last_seen, p, NULL, &err) < 0)
        log_warn("board %s: last_seen_at not written: %s", j->uuid, err.msg);
}

static void seen_done(void *arg)
{
    free(arg);
}

static void record_seen(struct wag_session *s)
{
    struct wag_board *b = s->board;
    struct seen_job *j;

    if (wag_now(s->w) - b->last_seen_written < LAST_SEEN_EVERY && b->last_seen_written > 0)
        return;
    b->last_seen_written = wag_now(s->w);
    j = xcalloc(1, sizeof(*j));
    memcpy(j->uuid, b->uuid, sizeof(j->uuid));
    snprintf(j->session, sizeof(j->session), "%" PRIu64, s->id);
    if (wag_db_submit(s->w, seen_work, seen_done, j) < 0)
        free(j);
}

void wag_callee_wamp_alive(struct wag_session *s, struct wamp_msg *m)
{
    const cJSON *name = wag_arg(m, "board_name", 1);
    char text[64];

    if (wag_check_board_arg(s, m, "board_uuid", 0) < 0)
        return;
    if (name != NULL && !cJSON_IsString(name) && !cJSON_IsNull(name)) {
        wag_reply_error(s, WAMP_CALL, m->request, "wamp.error.invalid_argument",
                        "board_name must be a string.");
        return;
    }
    record_seen(s);
    wag_alive_text(text);
    wag_count_callee(s->w, "wamp_alive", "ok");
    wag_reply_value(s, m->request, &(cJSON){.type = cJSON_String, .valuestring = text});
}

void wag_callee_alive(struct wag_session *s, struct wamp_msg *m)
{
    char text[64];

    wag_alive_text(text);
    wag_count_callee(s->w, "alive", "ok");
    wag_reply_value(s, m->request, &(cJSON){.type = cJSON_String, .valuestring = text});
}

void wag_callee_echo(struct wag_session *s, struct wamp_msg *m)
{
    const cJSON *data = wag_arg(m, "data", 0);

    if (data == NULL) {
        wag_reply_error(s, WAMP_CALL, m->request, "wamp.error.invalid_argument",
                        "data is required.");
        return;
    }
    wag_count_callee(s->w, "echo", "ok");
    wag_reply_value(s, m->request, data);
}
