/* loop/loop.c: see loop.h.
 *
 * lws is told to use libev through its evlib plugin (Debian's
 * libwebsockets-evlib-ev) with our ev_loop as the foreign loop; lws then
 * registers its own watchers there. Shutdown order matters: lws_context_destroy
 * must run while the ev_loop still exists, and lws needs the loop to run a few
 * more iterations to close its handles (lws's foreign-loop contract).
 *
 * lws's libev plugin re-arms its one high-resolution timer only after it
 * handled descriptor activity (its idle watcher) or when that timer fires. A
 * shorter lws timer (lws_sul_schedule, lws_set_timeout) scheduled from one of
 * our own libev callbacks is therefore not seen until then. loop_kick_lws()
 * makes lws look again (its event pipe), and a once-a-second kick bounds the
 * delay for anyone who forgets. Our own modules use libev timers. */
#include "loop/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"

struct loop {
    struct ev_loop *ev;
    struct lws_context *lws;
    ev_async wake;
    ev_signal sigterm, sigint;
    ev_timer kick;
    struct wq *wq;
    struct {                      /* the caller's wq thread hooks (loop_wq_hooks) */
        void *(*init)(void *);
        void (*fini)(void *, void *);
        void *arg;
    } wqh;
    int stop_signal;
    int stopping;
};

static void on_wake(struct ev_loop *ev, ev_async *w, int revents)
{
    struct loop *l = w->data;

    (void)ev;
    (void)revents;
    if (l->wq != NULL)
        wq_drain(l->wq);
}

static void on_kick(struct ev_loop *ev, ev_timer *w, int revents)
{
    struct loop *l = w->data;

    (void)ev;
    (void)revents;
    loop_kick_lws(l);
}

static void on_stop_signal(struct ev_loop *ev, ev_signal *w, int revents)
{
    struct loop *l = w->data;

    (void)revents;
    log_info("signal %d: stopping", w->signum);
    l->stop_signal = w->signum;
    l->stopping = 1;
    ev_break(ev, EVBREAK_ALL);
}

static void lws_log_emit(int level, const char *line)
{
    size_t len = strlen(line);

    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (level & LLL_ERR)
        log_warn("lws: %.*s", (int)len, line);
    else
        log_debug("lws: %.*s", (int)len, line);
}

int loop_new(const struct loop_opts *opts, struct loop **out, struct error *err)
{
    struct lws_context_creation_info info;
    struct loop *l = xcalloc(1, sizeof(*l));
    void *foreign[1];

    *out = NULL;
    lws_set_log_level(opts->lws_log_level ? opts->lws_log_level : LLL_ERR, lws_log_emit);
    l->ev = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
    if (l->ev == NULL) {
        free(l);
        return error_set(err, -ENOMEM, "cannot create the event loop");
    }
    ev_async_init(&l->wake, on_wake);
    l->wake.data = l;
    ev_async_start(l->ev, &l->wake);
    if (opts->stop_on_signals) {
        ev_signal_init(&l->sigterm, on_stop_signal, SIGTERM);
        ev_signal_init(&l->sigint, on_stop_signal, SIGINT);
        l->sigterm.data = l->sigint.data = l;
        ev_signal_start(l->ev, &l->sigterm);
        ev_signal_start(l->ev, &l->sigint);
    }
    memset(&info, 0, sizeof(info));
    foreign[0] = l->ev;
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_LIBEV |
                   LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.foreign_loops = foreign;
    info.fd_limit_per_thread = opts->max_fds;
    info.user = l;
    l->lws = lws_create_context(&info);
    if (l->lws == NULL) {
        loop_free(l);
        return error_set(err, -EIO, "cannot create the libwebsockets context on libev "
                                    "(is libwebsockets-evlib-ev installed?)");
    }
    ev_timer_init(&l->kick, on_kick, 1.0, 1.0);
    l->kick.data = l;
    ev_timer_start(l->ev, &l->kick);
    ev_unref(l->ev); /* the kick alone must not keep ev_run() alive */
    *out = l;
    return 0;
}

void loop_kick_lws(struct loop *l)
{
    if (l->lws != NULL)
        lws_cancel_service(l->lws);
}

struct lws_context *loop_lws(struct loop *l)
{
    return l->lws;
}

struct ev_loop *loop_ev(struct loop *l)
{
    return l->ev;
}

int loop_run(struct loop *l)
{
    while (!l->stopping)
        ev_run(l->ev, 0);
    return l->stop_signal;
}

void loop_stop(struct loop *l)
{
    l->stopping = 1;
    ev_break(l->ev, EVBREAK_ALL);
}

int loop_stop_signal(const struct loop *l)
{
    return l->stop_signal;
}

/* The wq has one hook argument for all its hooks: it is the loop, and these
 * trampolines hand the caller's own argument to the caller's hooks. */
static void wq_wake_hook(void *arg)
{
    loop_wake(arg);
}

static void *wq_init_hook(void *arg)
{
    struct loop *l = arg;

    return l->wqh.init ? l->wqh.init(l->wqh.arg) : NULL;
}

static void wq_fini_hook(void *thread_ctx, void *arg)
{
    struct loop *l = arg;

    if (l->wqh.fini)
        l->wqh.fini(thread_ctx, l->wqh.arg);
}

struct wq_hooks loop_wq_hooks(struct loop *l, void *(*thread_init)(void *),
                              void (*thread_fini)(void *, void *), void *hook_arg)
{
    l->wqh.init = thread_init;
    l->wqh.fini = thread_fini;
    l->wqh.arg = hook_arg;
    return (struct wq_hooks){ wq_init_hook, wq_fini_hook, wq_wake_hook, l };
}

void loop_set_wq(struct loop *l, struct wq *wq)
{
    l->wq = wq;
}

void loop_wake(struct loop *l)
{
    ev_async_send(l->ev, &l->wake);
}

void loop_free(struct loop *l)
{
    if (l == NULL)
        return;
    /* The wq was freed before us (loop.h): a wake it sent while finishing
     * may still be pending, and must not drain it. */
    l->wq = NULL;
    if (l->lws != NULL) {
        lws_context_destroy(l->lws);
        /* lws closes its libev handles asynchronously: let them finish. */
        ev_run(l->ev, EVRUN_NOWAIT);
    }
    if (ev_is_active(&l->kick)) {
        ev_ref(l->ev);
        ev_timer_stop(l->ev, &l->kick);
    }
    ev_async_stop(l->ev, &l->wake);
    if (ev_is_active(&l->sigterm))
        ev_signal_stop(l->ev, &l->sigterm);
    if (ev_is_active(&l->sigint))
        ev_signal_stop(l->ev, &l->sigint);
    ev_loop_destroy(l->ev);
    free(l);
}
