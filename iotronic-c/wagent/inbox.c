/* wagent/inbox.c: see inbox.h. */
#include "wagent/inbox.h"

#include <errno.h>
#include <stddef.h>

static void on_async(struct ev_loop *ev, ev_async *w, int revents)
{
    (void)ev;
    (void)revents;
    wag_inbox_drain(w->data);
}

void wag_inbox_init(struct wag_inbox *in, struct ev_loop *ev)
{
    in->ev = ev;
    in->head = in->tail = NULL;
    in->stopped = 0;
    pthread_mutex_init(&in->lock, NULL);
    ev_async_init(&in->async, on_async);
    in->async.data = in;
    ev_async_start(ev, &in->async);
}

int wag_inbox_post(struct wag_inbox *in, struct wag_post *p, wag_post_fn fn)
{
    p->next = NULL;
    p->fn = fn;
    pthread_mutex_lock(&in->lock);
    if (in->stopped) {
        pthread_mutex_unlock(&in->lock);
        return -ESHUTDOWN;
    }
    if (in->tail != NULL)
        in->tail->next = p;
    else
        in->head = p;
    in->tail = p;
    pthread_mutex_unlock(&in->lock);
    ev_async_send(in->ev, &in->async);
    return 0;
}

void wag_inbox_drain(struct wag_inbox *in)
{
    struct wag_post *list;

    pthread_mutex_lock(&in->lock);
    list = in->head;
    in->head = in->tail = NULL;
    pthread_mutex_unlock(&in->lock);
    while (list != NULL) {
        struct wag_post *p = list;

        list = p->next;
        p->fn(p); /* may free p */
    }
}

void wag_inbox_stop(struct wag_inbox *in)
{
    pthread_mutex_lock(&in->lock);
    in->stopped = 1;
    pthread_mutex_unlock(&in->lock);
    wag_inbox_drain(in);
}

void wag_inbox_free(struct wag_inbox *in)
{
    if (in->ev == NULL)
        return;
    ev_async_stop(in->ev, &in->async);
    pthread_mutex_destroy(&in->lock);
    in->ev = NULL;
}
