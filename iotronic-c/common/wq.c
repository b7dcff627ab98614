/* common/wq.c: see wq.h.
 *
 * Two intrusive FIFO lists under one mutex: jobs waiting for a worker, and
 * finished jobs waiting for the loop. Jobs are small and the lock is held
 * only to link or unlink, so one lock is enough at our rates. */
#include "common/wq.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "common/xalloc.h"

struct job {
    wq_work_fn work;
    wq_done_fn done;
    void *arg;
    struct job *next;
};

struct fifo {
    struct job *head, *tail;
    size_t n;
};

struct wq {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct fifo todo, done;
    size_t max_queued;
    int stopping;
    int nthreads;
    pthread_t *threads;
    struct wq_hooks hooks;
};

static void fifo_push(struct fifo *f, struct job *j)
{
    j->next = NULL;
    if (f->tail)
        f->tail->next = j;
    else
        f->head = j;
    f->tail = j;
    f->n++;
}

static struct job *fifo_pop(struct fifo *f)
{
    struct job *j = f->head;

    if (j == NULL)
        return NULL;
    f->head = j->next;
    if (f->head == NULL)
        f->tail = NULL;
    f->n--;
    return j;
}

static void *worker_main(void *p)
{
    struct wq *wq = p;
    void *ctx = wq->hooks.thread_init ? wq->hooks.thread_init(wq->hooks.hook_arg) : NULL;

    for (;;) {
        struct job *j;

        pthread_mutex_lock(&wq->lock);
        while (wq->todo.head == NULL && !wq->stopping)
            pthread_cond_wait(&wq->cond, &wq->lock);
        j = fifo_pop(&wq->todo);
        pthread_mutex_unlock(&wq->lock);
        if (j == NULL)
            break; /* stopping and nothing left */
        j->work(j->arg, ctx);
        if (j->done == NULL) {
            free(j);
            continue;
        }
        pthread_mutex_lock(&wq->lock);
        fifo_push(&wq->done, j);
        pthread_mutex_unlock(&wq->lock);
        if (wq->hooks.wake)
            wq->hooks.wake(wq->hooks.hook_arg);
    }
    if (wq->hooks.thread_fini)
        wq->hooks.thread_fini(ctx, wq->hooks.hook_arg);
    return NULL;
}

struct wq *wq_new(int nthreads, size_t max_queued, const struct wq_hooks *hooks)
{
    struct wq *wq = xcalloc(1, sizeof(*wq));

    pthread_mutex_init(&wq->lock, NULL);
    pthread_cond_init(&wq->cond, NULL);
    wq->max_queued = max_queued;
    if (hooks)
        wq->hooks = *hooks;
    wq->nthreads = nthreads > 0 ? nthreads : 1;
    wq->threads = xcalloc((size_t)wq->nthreads, sizeof(pthread_t));
    for (int i = 0; i < wq->nthreads; i++)
        if (pthread_create(&wq->threads[i], NULL, worker_main, wq) != 0)
            abort();
    return wq;
}

int wq_submit(struct wq *wq, wq_work_fn work, wq_done_fn done, void *arg)
{
    struct job *j;

    pthread_mutex_lock(&wq->lock);
    if (wq->stopping) {
        pthread_mutex_unlock(&wq->lock);
        return -ESHUTDOWN;
    }
    if (wq->max_queued && wq->todo.n >= wq->max_queued) {
        pthread_mutex_unlock(&wq->lock);
        return -EAGAIN;
    }
    j = xmalloc(sizeof(*j));
    j->work = work;
    j->done = done;
    j->arg = arg;
    fifo_push(&wq->todo, j);
    pthread_cond_signal(&wq->cond);
    pthread_mutex_unlock(&wq->lock);
    return 0;
}

size_t wq_drain(struct wq *wq)
{
    struct fifo ready;
    struct job *j;
    size_t n = 0;

    pthread_mutex_lock(&wq->lock);
    ready = wq->done;
    wq->done = (struct fifo){ 0 };
    pthread_mutex_unlock(&wq->lock);
    while ((j = fifo_pop(&ready)) != NULL) {
        j->done(j->arg);
        free(j);
        n++;
    }
    return n;
}

size_t wq_pending(struct wq *wq)
{
    size_t n;

    pthread_mutex_lock(&wq->lock);
    n = wq->todo.n;
    pthread_mutex_unlock(&wq->lock);
    return n;
}

void wq_shutdown(struct wq *wq)
{
    if (wq == NULL || wq->threads == NULL)
        return;
    pthread_mutex_lock(&wq->lock);
    wq->stopping = 1;
    pthread_cond_broadcast(&wq->cond);
    pthread_mutex_unlock(&wq->lock);
    for (int i = 0; i < wq->nthreads; i++)
        pthread_join(wq->threads[i], NULL);
    free(wq->threads);
    wq->threads = NULL;
    wq_drain(wq);
}

void wq_free(struct wq *wq)
{
    if (wq == NULL)
        return;
    wq_shutdown(wq);
    pthread_cond_destroy(&wq->cond);
    pthread_mutex_destroy(&wq->lock);
    free(wq);
}
