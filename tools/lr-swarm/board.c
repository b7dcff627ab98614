/* tools/lr-swarm/board.c: one simulated board's life, as lightning-rod-c
 * lives it (board-protocol.md 10.2, 10.4).
 *
 *   registering  anonymous session to the registration URL, CALL
 *                stack4things.register(code, session), store the settings
 *                document (5.1), GOODBYE
 *   connecting   session to the main URL (failover URLs after
 *                failover_after consecutive failures, 7.5), WAMP-CRA with the
 *                board secret (4.3), CALL <agent>.stack4things.connection
 *                (5.2), REGISTER every procedure (6.1)
 *   online       answer invocations (procs.c), ping, wamp_alive (10.4)
 *
 * A failed connection comes back after a random wait in [0, min(backoff_max,
 * backoff_initial * 2^n)] (full jitter); reaching online resets n.
 *
 * The WAMP session calls back synchronously from sw_board_text(); nothing
 * here frees it then: errors mark the board (SW_F_KILL) and
 * sw_board_reap() closes it when the transport's callback ends. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "swarm.h"
#include "wamp/session.h"
#include "wamp/uri.h"
#include "wamp/wampmsg.h"

#define SW_F_FAIL 0x10 /* registration refused for good */

/* Cookies of our own CALLs: the addresses of these tell them apart. */
static const char ck_register, ck_connection, ck_alive;

static void on_send(void *owner, char *frame, size_t len)
{
    sw_conn_send_text(owner, frame, len);
}

const char *sw_board_name(const struct sw_board *b, char *tmp, size_t cap)
{
    if (b->name != NULL)
        return b->name;
    snprintf(tmp, cap, "swarm-%u", b->idx);
    return tmp;
}

void sw_board_kill(struct sw_board *b, const char *why, int now)
{
    if (!(b->flags & SW_F_KILL))
        log_debug("board %u: closing: %s", b->idx, why);
    b->flags |= SW_F_KILL;
    if (now)
        b->flags |= SW_F_NOW;
}

/* ---------------------------------------------------------------- calls */

static int call(struct sw_board *b, const char *proc, cJSON *kwargs, const void *cookie,
                uint64_t *req)
{
    struct error err;
    int rc = wamp_session_call(b->ws, proc, WAMP_PART_JSON("[]", 2), WAMP_PART_TREE(kwargs),
                               (void *)cookie, req, &err);

    cJSON_Delete(kwargs);
    if (rc < 0) {
        sw_note(b->sw, SW_N_CONNECTION, "board %u: CALL %s: %s", b->idx, proc, err.msg);
        sw_board_kill(b, "call failed", 0);
    }
    return rc;
}

/* <agent>.stack4things.<name>, or without prefix when the agent is unknown
 * (the wagent answers both, 5). */
static void callee(const struct sw_board *b, const char *name, char out[WAMP_URI_MAX + 1])
{
    const char *agent = b->sw->strs[b->agent];

    if (agent[0] != '\0' && strlen(agent) + strlen(name) + 14 <= WAMP_URI_MAX)
        snprintf(out, WAMP_URI_MAX + 1, "%s.stack4things.%s", agent, name);
    else
        snprintf(out, WAMP_URI_MAX + 1, "stack4things.%s", name);
}

static void call_register(struct sw_board *b)
{
    cJSON *kw = cJSON_CreateObject();

    cJSON_AddStringToObject(kw, "code", b->code);
    json_add_int(kw, "session", (int64_t)wamp_session_id(b->ws));
    (void)call(b, "stack4things.register", kw, &ck_register, NULL);
}

static void call_connection(struct sw_board *b)
{
    char ip[INET_ADDRSTRLEN], mac[18], uri[WAMP_URI_MAX + 1];
    cJSON *kw = cJSON_CreateObject(), *info, *conn;

    inet_ntop(AF_INET, &b->sw->o.sources[b->src], ip, sizeof(ip));
    snprintf(mac, sizeof(mac), "02:53:%02x:%02x:%02x:%02x", (b->idx >> 24) & 0xff,
             (b->idx >> 16) & 0xff, (b->idx >> 8) & 0xff, b->idx & 0xff);
    cJSON_AddStringToObject(kw, "uuid", b->uuid);
    json_add_int(kw, "session", (int64_t)wamp_session_id(b->ws));
    info = cJSON_AddObjectToObject(kw, "info");
    cJSON_AddStringToObject(info, "lr_version", b->sw->o.lr_version);
    conn = cJSON_AddObjectToObject(info, "connectivity");
    cJSON_AddStringToObject(conn, "iface", "lo");
    cJSON_AddStringToObject(conn, "local_ip", ip);
    cJSON_AddStringToObject(conn, "mac", mac);
    callee(b, "connection", uri);
    (void)call(b, uri, kw, &ck_connection, NULL);
}

static void call_alive(struct sw_board *b, uint32_t now)
{
    char uri[WAMP_URI_MAX + 1], tmp[32];
    cJSON *kw = cJSON_CreateObject();

    cJSON_AddStringToObject(kw, "board_uuid", b->uuid);
    cJSON_AddStringToObject(kw, "board_name", sw_board_name(b, tmp, sizeof(tmp)));
    callee(b, "wamp_alive", uri);
    if (call(b, uri, kw, &ck_alive, &b->alive_req) == 0) {
        b->alive_sent = now;
        b->sw->st.alive_calls++;
    }
}

/* ---------------------------------------------------------------- results */

/* Copies the settings document's facts (5.1) into the board. */
static int take_settings(struct sw_board *b, const cJSON *msg, struct error *err)
{
    const cJSON *io = NULL, *board = NULL, *auth = NULL, *wamp = NULL, *main_agent = NULL;
    const char *uuid = NULL, *name = NULL, *agent = NULL, *secret = NULL, *url = NULL;
    int rc, ui, ai;

    if ((rc = json_get_object(msg, "iotronic", JSON_REQUIRED, &io, err)) < 0 ||
        (rc = json_get_object(io, "board", JSON_REQUIRED, &board, err)) < 0 ||
        (rc = json_get_object(io, "wamp", JSON_REQUIRED, &wamp, err)) < 0 ||
        (rc = json_get_object(wamp, "main-agent", JSON_REQUIRED, &main_agent, err)) < 0 ||
        (rc = json_get_str(main_agent, "url", JSON_REQUIRED, 512, &url, err)) < 0 ||
        (rc = json_get_str(board, "uuid", JSON_REQUIRED, 64, &uuid, err)) < 0 ||
        (rc = json_get_str(board, "name", JSON_OPTIONAL, SW_NAME_MAX, &name, err)) < 0 ||
        (rc = json_get_str(board, "agent", JSON_OPTIONAL | JSON_NULLABLE, WAMP_URI_MAX, &agent,
                           err)) < 0 ||
        (rc = json_get_object(board, "auth", JSON_OPTIONAL, &auth, err)) < 0)
        return rc;
    if (auth != NULL &&
        (rc = json_get_str(auth, "secret", JSON_REQUIRED, SW_SECRET_MAX - 1, &secret, err)) < 0)
        return rc;
    if (uuid_normalize(uuid, b->uuid) < 0)
        return error_set(err, -EINVAL, "board.uuid is not a UUID");
    if ((ui = sw_url_intern(b->sw, url, err)) < 0)
        return ui;
    if ((ai = sw_str_intern(b->sw, agent != NULL ? agent : "")) < 0)
        return error_set(err, ai, "too many agent names");
    b->main_url = (uint16_t)ui;
    b->agent = (uint16_t)ai;
    snprintf(b->secret, sizeof(b->secret), "%s", secret != NULL ? secret : "");
    free(b->name);
    b->name = name != NULL ? xstrdup(name) : NULL;
    return 0;
}

static void registered_ok(struct sw_board *b, const cJSON *message)
{
    struct error err;
    struct error gerr;

    if (take_settings(b, message, &err) < 0) {
        sw_note(b->sw, SW_N_REGISTER, "board %u: bad settings document: %s", b->idx, err.msg);
        sw_board_kill(b, "bad settings", 0);
        return;
    }
    b->sw->st.registered++;
    sw_store_append(b->sw, b);
    free(b->code);
    b->code = NULL;
    b->phase = SW_PH_CONNECT;
    b->failures = 0;
    /* The registration session ends here; the connection follows at once. */
    b->flags |= SW_F_NOW;
    if (wamp_session_goodbye(b->ws, NULL, &gerr) < 0)
        sw_board_kill(b, "goodbye", 1);
}

static void register_result(struct sw_board *b, const struct wamp_event *ev)
{
    struct wamp_wampmsg wm = {0};
    struct error err;

    if (wamp_wampmsg_from_yield(ev->msg, &wm, &err) < 0) {
        sw_note(b->sw, SW_N_REGISTER, "board %u: register answered badly: %s", b->idx, err.msg);
        sw_board_kill(b, "bad register answer", 0);
        return;
    }
    if (wm.result == WAMP_RESULT_SUCCESS) {
        registered_ok(b, wm.message);
    } else {
        char *text = json_print(wm.message);

        /* "Invalid or already used registration code.": no retry helps. */
        sw_note(b->sw, SW_N_REGISTER, "board %u: registration refused: %s", b->idx, text);
        free(text);
        b->sw->st.reg_failed++;
        b->flags |= SW_F_FAIL;
        sw_board_kill(b, "registration refused", 0);
    }
    wamp_wampmsg_clear(&wm);
}

/* The [ext] reply of connection for lrc- agents (5.2): the wagent's name,
 * its wstun_url and the intervals it wants. */
static void connection_facts(struct sw_board *b, const cJSON *m)
{
    const char *agent = NULL, *wstun = NULL;
    int64_t ping = 0, alive = 0;
    struct error err;
    int i;

    if (!cJSON_IsObject(m))
        return;
    if (json_get_str(m, "agent", JSON_OPTIONAL, WAMP_URI_MAX, &agent, &err) == 0 &&
        (i = sw_str_intern(b->sw, agent)) > 0)
        b->agent = (uint16_t)i;
    if (json_get_str(m, "wstun_url", JSON_OPTIONAL, 512, &wstun, &err) == 0 &&
        (i = sw_str_intern(b->sw, wstun)) > 0)
        b->wstun = (uint16_t)i;
    if (json_get_int(m, "ping_interval", JSON_OPTIONAL, 1, 3600, &ping, &err) == 0)
        b->ping_s = (uint16_t)ping;
    if (json_get_int(m, "alive_interval", JSON_OPTIONAL, 1, 36000, &alive, &err) == 0)
        b->alive_s = (uint16_t)alive;
}

static void connection_result(struct sw_board *b, const struct wamp_event *ev)
{
    struct wamp_wampmsg wm = {0};
    struct error err;
    int n;

    if (wamp_wampmsg_from_yield(ev->msg, &wm, &err) < 0 || wm.result != WAMP_RESULT_SUCCESS) {
        char *text = wm.message != NULL ? json_print(wm.message) : xstrdup(err.msg);

        sw_note(b->sw, SW_N_CONNECTION, "board %u: connection refused: %s", b->idx, text);
        free(text);
        wamp_wampmsg_clear(&wm);
        sw_board_kill(b, "connection refused", 0);
        return;
    }
    connection_facts(b, wm.message);
    wamp_wampmsg_clear(&wm);
    n = sw_procs_register(b, &err);
    if (n < 0) {
        sw_note(b->sw, SW_N_CONNECTION, "board %u: REGISTER: %s", b->idx, err.msg);
        sw_board_kill(b, "register failed", 0);
        return;
    }
    b->regs_left = (uint8_t)n;
}

static void went_online(struct sw_board *b)
{
    struct swarm *sw = b->sw;
    uint32_t now = sw_now(sw), setup = now - b->started;
    unsigned alive = sw->o.alive_s ? sw->o.alive_s : (b->alive_s ? b->alive_s : 60);

    sw_set_state(b, SW_ONLINE);
    b->failures = 0;
    b->last_ping = now;
    /* Spread the first wamp_alive over one interval: boards that came up
     * together must not all call at the same second forever after. */
    b->next_alive = now + (uint32_t)(sw_rand(sw) % (alive * 1000u));
    sw->st.online_events++;
    sw->st.last_online_t = ev_time();
    sw->st.setup_ms_sum += setup;
    sw->st.setup_n++;
    if (setup > sw->st.setup_ms_max)
        sw->st.setup_ms_max = setup;
}

/* ---------------------------------------------------------------- events */

static void ev_welcome(struct sw_board *b, const struct wamp_event *ev)
{
    (void)ev;
    if (b->phase == SW_PH_REGISTER)
        call_register(b);
    else
        call_connection(b);
}

static void ev_challenge(struct sw_board *b, const struct wamp_event *ev)
{
    struct error err;

    if (wamp_session_authenticate(b->ws, ev->text, ev->text_len, b->secret, strlen(b->secret),
                                  &err) < 0) {
        sw_note(b->sw, SW_N_PROTO, "board %u: AUTHENTICATE: %s", b->idx, err.msg);
        sw_board_kill(b, "authenticate", 0);
    }
}

static void ev_end(struct sw_board *b, const struct wamp_event *ev)
{
    if (ev->type == WAMP_EV_ABORT) {
        b->sw->st.aborts++;
        sw_note(b->sw, SW_N_ABORT, "board %u: ABORT%s %s: %s", b->idx, ev->local ? " (ours)" : "",
                ev->uri ? ev->uri : "", ev->text ? ev->text : "");
    } else {
        log_debug("board %u: GOODBYE %s", b->idx, ev->uri ? ev->uri : "");
    }
    sw_conn_send_close(b, ev->local && ev->type == WAMP_EV_ABORT ? 1002 : 1000);
    sw_board_kill(b, "session ended", 0);
}

static void ev_result(struct sw_board *b, const struct wamp_event *ev)
{
    if (ev->cookie == &ck_register)
        register_result(b, ev);
    else if (ev->cookie == &ck_connection)
        connection_result(b, ev);
    else if (ev->cookie == &ck_alive)
        b->alive_req = 0;
}

static void ev_error(struct sw_board *b, const struct wamp_event *ev)
{
    if (ev->local)
        return; /* the session is closing: its own end event follows */
    if (ev->cookie == &ck_alive) {
        b->alive_req = 0; /* an answer all the same: the wagent lives */
        return;
    }
    sw_note(b->sw, ev->cookie == &ck_register ? SW_N_REGISTER : SW_N_CONNECTION,
            "board %u: %s refused: %s", b->idx, wamp_type_name(ev->req_type),
            ev->uri ? ev->uri : "");
    sw_board_kill(b, "request refused", 0);
}

static void ev_registered(struct sw_board *b, const struct wamp_event *ev)
{
    (void)ev;
    if (b->regs_left > 0 && --b->regs_left == 0)
        went_online(b);
}

static void ev_invocation(struct sw_board *b, const struct wamp_event *ev)
{
    sw_procs_invoke(b, ev);
}

typedef void (*ev_fn)(struct sw_board *b, const struct wamp_event *ev);

static const ev_fn ev_table[] = {
    [WAMP_EV_WELCOME] = ev_welcome,
    [WAMP_EV_CHALLENGE] = ev_challenge,
    [WAMP_EV_ABORT] = ev_end,
    [WAMP_EV_GOODBYE] = ev_end,
    [WAMP_EV_RESULT] = ev_result,
    [WAMP_EV_ERROR] = ev_error,
    [WAMP_EV_REGISTERED] = ev_registered,
    [WAMP_EV_INVOCATION] = ev_invocation,
};

static void on_event(void *owner, const struct wamp_event *ev)
{
    struct sw_board *b = owner;

    if ((size_t)ev->type < sizeof(ev_table) / sizeof(ev_table[0]) && ev_table[ev->type] != NULL)
        ev_table[ev->type](b, ev);
}

static const struct wamp_session_ops session_ops = {on_send, on_event};

/* ---------------------------------------------------------------- transport */

void sw_board_opened(struct sw_board *b)
{
    struct swarm *sw = b->sw;
    int cra = b->phase == SW_PH_CONNECT && b->secret[0] != '\0' && !sw->o.anonymous;
    struct error err;

    sw_set_state(b, SW_WAMP);
    b->ws = wamp_session_new(&session_ops, b, sw->o.max_message);
    if (wamp_session_hello(b->ws, "s4t", cra ? b->uuid : NULL, &err) < 0) {
        sw_note(sw, SW_N_PROTO, "board %u: HELLO: %s", b->idx, err.msg);
        sw_board_kill(b, "hello", 0);
    }
}

void sw_board_text(struct sw_board *b, const char *p, size_t len)
{
    int rc;

    if (b->ws == NULL)
        return;
    rc = wamp_session_feed(b->ws, p, len);
    if (rc == -EMSGSIZE || rc == -EPROTO || rc == -EOPNOTSUPP) {
        sw_conn_send_close(b, rc == -EMSGSIZE ? 1009 : 1002);
        sw_board_kill(b, "protocol violation", 0);
    }
}

/* Which URL the next connection uses: registration, or the main URL, the
 * registration URL and the failover URLs in turn, failover_after
 * consecutive failures each (7.5). */
static uint16_t next_url(const struct sw_board *b)
{
    const struct swarm *sw = b->sw;
    uint16_t cand[2 + SW_URLS_MAX];
    size_t n = 0;

    if (b->phase == SW_PH_REGISTER)
        return b->reg_url;
    cand[n++] = b->main_url;
    if (b->reg_url != b->main_url && b->reg_url != UINT16_MAX)
        cand[n++] = b->reg_url;
    for (size_t i = 0; i < sw->o.nfailover; i++) {
        int u = -1;

        for (size_t k = 0; k < sw->nurls && u < 0; k++)
            if (strcmp(sw->urls[k].text, sw->o.failover[i]) == 0)
                u = (int)k;
        if (u >= 0 && (uint16_t)u != b->main_url && (uint16_t)u != b->reg_url)
            cand[n++] = (uint16_t)u;
    }
    return cand[(b->failures / (sw->o.failover_after ? sw->o.failover_after : 1)) % n];
}

static void retry_later(struct sw_board *b, uint32_t now)
{
    const struct sw_opts *o = &b->sw->o;
    uint64_t cap = o->backoff_initial_ms;
    unsigned n = b->failures;

    if (b->failures < 255)
        b->failures++;
    while (n-- > 0 && cap < o->backoff_max_ms)
        cap <<= 1;
    if (cap > o->backoff_max_ms)
        cap = o->backoff_max_ms;
    b->due = now + (uint32_t)(sw_rand(b->sw) % (cap + 1));
}

void sw_board_reap(struct sw_board *b)
{
    struct swarm *sw = b->sw;
    uint32_t now = sw_now(sw);

    if (!(b->flags & SW_F_KILL))
        return;
    b->flags &= ~SW_F_KILL;
    if (b->state == SW_ONLINE)
        sw->st.drops++;
    wamp_session_free(b->ws); /* no callbacks: nothing of ours is pending */
    b->ws = NULL;
    b->alive_req = 0;
    b->regs_left = 0;
    sw_conn_close(b);
    if (sw->stopping) {
        sw_set_state(b, SW_STOPPED);
    } else if (b->flags & SW_F_FAIL) {
        sw_set_state(b, SW_FAILED);
    } else {
        if (b->flags & SW_F_NOW)
            b->due = now;
        else if (!(b->flags & SW_F_DUE))
            retry_later(b, now);
        b->flags &= ~(SW_F_NOW | SW_F_DUE);
        sw_set_state(b, SW_IDLE);
    }
}

/* Starts the next connection of an IDLE board (swarm.c admits it). */
static void connect_now(struct sw_board *b, uint32_t now)
{
    uint16_t url = next_url(b);
    int rc;

    b->started = now;
    b->due = now + b->sw->o.setup_timeout_s * 1000u;
    rc = sw_conn_open(b, url);
    if (rc < 0) {
        b->sw->st.connect_fail++;
        sw_note(b->sw, SW_N_CONNECT, "board %u: connect to %s: %s", b->idx, b->sw->urls[url].text,
                strerror(-rc));
        retry_later(b, now);
        return;
    }
    b->sw->st.connects++;
}

static void online_checks(struct sw_board *b, uint32_t now)
{
    const struct sw_opts *o = &b->sw->o;
    uint32_t ping = 1000u * (o->ping_s ? o->ping_s : (b->ping_s ? b->ping_s : 20));
    uint32_t alive = 1000u * (o->alive_s ? o->alive_s : (b->alive_s ? b->alive_s : 60));

    if (b->sw->stopping || wamp_session_state(b->ws) != WAMP_SESSION_ESTABLISHED)
        return; /* GOODBYE is out: nothing more to start */
    if (now - b->last_rx >= 2 * ping) {
        b->sw->st.ping_timeouts++;
        sw_note(b->sw, SW_N_TIMEOUT, "board %u: nothing from the wagent for %u s", b->idx,
                2 * ping / 1000);
        sw_board_kill(b, "ping timeout", 0);
        return;
    }
    if (now - b->last_ping >= ping) {
        b->last_ping = now;
        sw_conn_ping(b);
    }
    if (b->alive_req != 0 && now - b->alive_sent >= o->call_timeout_s * 1000u) {
        b->sw->st.alive_timeouts++;
        sw_note(b->sw, SW_N_TIMEOUT, "board %u: wamp_alive unanswered", b->idx);
        sw_board_kill(b, "alive timeout", 0);
        return;
    }
    if (!o->alive_off && b->alive_req == 0 && (int32_t)(now - b->next_alive) >= 0) {
        b->next_alive = now + alive;
        call_alive(b, now);
    }
}

void sw_board_tick(struct sw_board *b, uint32_t now, int full)
{
    switch (b->state) {
    case SW_IDLE:
        if ((int32_t)(now - b->due) >= 0)
            connect_now(b, now);
        break;
    case SW_CONNECTING:
    case SW_HANDSHAKE:
    case SW_WAMP:
        if ((int32_t)(now - b->due) >= 0) {
            sw_note(b->sw, SW_N_TIMEOUT, "board %u: not online after %u s (state %d)", b->idx,
                    b->sw->o.setup_timeout_s, b->state);
            sw_board_kill(b, "set-up timeout", 0);
        }
        break;
    case SW_ONLINE:
        if (full)
            online_checks(b, now);
        break;
    default:
        break;
    }
    sw_board_reap(b);
}

void sw_board_goodbye(struct sw_board *b)
{
    struct error err;

    if (b->state == SW_ONLINE && wamp_session_goodbye(b->ws, NULL, &err) == 0)
        return;
    if (b->state != SW_IDLE && b->state != SW_FAILED && b->state != SW_STOPPED) {
        sw_board_kill(b, "stopping", 0);
        sw_board_reap(b);
    } else {
        sw_set_state(b, SW_STOPPED);
    }
}
