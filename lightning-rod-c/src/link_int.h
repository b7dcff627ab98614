/* src/link_int.h: the link's objects, shared by link.c and link_steps.c only.
 *
 * Ownership: the link owns the current conn and the dying ones (each freed
 * by its reap timer), the outcalls (each freed once its callback ran or it
 * was cancelled) and the strings below. */
#ifndef LRC_SRC_LINK_INT_H
#define LRC_SRC_LINK_INT_H

#include <ev.h>

#include "common/json.h"
#include "src/link.h"
#include "wamp/session.h"

struct conn {
    struct lrc_link *l;
    struct conn *next; /* in l->dying */
    uint64_t gen;
    struct lrc_ws *ws; /* NULL once closed or detached */
    struct wamp_session *sess;
    ev_timer reap;
};

struct lrc_outcall {
    struct lrc_link *l;
    struct lrc_outcall *prev, *next; /* in l->calls */
    struct conn *conn;               /* whose session holds the request */
    uint64_t request;
    ev_timer timer;
    lrc_outcall_fn fn;
    void *arg;
};

struct link_watcher {
    lrc_online_fn fn;
    void *arg;
};

struct lrc_link {
    struct lrc_agent *a;
    struct ev_loop *ev;
    enum lrc_state state;
    struct conn *conn;  /* the current attempt, or NULL */
    struct conn *dying; /* detached, waiting for their reap */
    uint64_t gen;
    uint64_t session_id;
    unsigned failures; /* consecutive */
    int refused;       /* the cloud refused the last registration */
    int stopping;
    char *url;         /* dialled by the current (or last) attempt */
    const char *realm; /* borrowed from the settings */
    char *uuid;        /* the board the current session is bound to */
    char *agent_name;  /* from the connection reply */
    char *wstun_url;
    unsigned nregs_pending;
    ev_timer retry, handshake, alive, stop_timer;
    struct lrc_outcall *step_call, *alive_call;
    struct lrc_outcall *calls;
    struct link_watcher *watchers;
    size_t nwatchers;
    void (*stop_done)(void *arg);
    void *stop_arg;
};

/* link.c */
void link_fail(struct lrc_link *l, const char *why);
void link_notify(struct lrc_link *l, int online);
/* Closes the current session (GOODBYE when established) and dials again at
 * once with the failure count reset: after a registration. */
void link_restart(struct lrc_link *l);
/* The stop is complete (GOODBYE answered, or its time is up). */
void link_stopped(struct lrc_link *l);

/* link_steps.c */
void link_step_welcome(struct lrc_link *l, uint64_t session);
void link_step_challenge(struct lrc_link *l, const struct wamp_event *ev);
void link_step_registered(struct lrc_link *l);
void link_step_error(struct lrc_link *l, const struct wamp_event *ev);
void link_outcall_done(void *cookie, const struct wamp_event *ev);
void link_outcalls_cancel_all(struct lrc_link *l);
void link_on_alive(struct ev_loop *ev, ev_timer *t, int revents);
/* Starts a call on the current session (any state after WELCOME). */
int link_call_raw(struct lrc_link *l, const char *name, int prefixed, const cJSON *kwargs,
                  int64_t timeout_ms, lrc_outcall_fn fn, void *arg, struct lrc_outcall **out);

#endif
