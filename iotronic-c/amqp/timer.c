/* amqp/timer.c: the I/O thread's deadlines, a binary min-heap of timers.
 *
 * Calls, publications and the connection each embed a struct timer; the heap
 * holds pointers and every timer knows its index, so moving or cancelling
 * one is O(log n). Only the I/O thread touches a heap. */
#include <stdlib.h>

#include "amqp/internal.h"
#include "common/xalloc.h"

static void place(struct timers *ts, size_t i, struct timer *t)
{
    ts->v[i] = t;
    t->idx = i;
}

static void sift_up(struct timers *ts, size_t i)
{
    struct timer *t = ts->v[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;

        if (ts->v[parent]->at <= t->at)
            break;
        place(ts, i, ts->v[parent]);
        i = parent;
    }
    place(ts, i, t);
}

static void sift_down(struct timers *ts, size_t i)
{
    struct timer *t = ts->v[i];

    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= ts->n)
            break;
        if (c + 1 < ts->n && ts->v[c + 1]->at < ts->v[c]->at)
            c++;
        if (t->at <= ts->v[c]->at)
            break;
        place(ts, i, ts->v[c]);
        i = c;
    }
    place(ts, i, t);
}

void mq_timer_cancel(struct timers *ts, struct timer *t)
{
    size_t i = t->idx;
    struct timer *last;

    if (t->at == 0)
        return;
    t->at = 0;
    ts->n--;
    if (i == ts->n)
        return;
    /* The last element fills the hole; it may belong above or below it. */
    last = ts->v[ts->n];
    place(ts, i, last);
    sift_down(ts, i);
    sift_up(ts, last->idx);
}

void mq_timer_set(struct timers *ts, struct timer *t, int64_t at)
{
    if (at <= 0)
        at = 1; /* 0 means unarmed */
    if (t->at != 0) {
        int64_t old = t->at;

        t->at = at;
        if (at < old)
            sift_up(ts, t->idx);
        else
            sift_down(ts, t->idx);
        return;
    }
    if (ts->n == ts->cap) {
        ts->cap = ts->cap ? ts->cap * 2 : 64;
        ts->v = xrealloc(ts->v, ts->cap * sizeof(*ts->v));
    }
    t->at = at;
    place(ts, ts->n++, t);
    sift_up(ts, t->idx);
}

int64_t mq_timer_next(const struct timers *ts)
{
    return ts->n ? ts->v[0]->at : 0;
}

void mq_timers_run(struct mq *mq, struct timers *ts, int64_t now)
{
    while (ts->n && ts->v[0]->at <= now) {
        struct timer *t = ts->v[0];

        /* Disarm before firing: the callback may re-arm it or free it. */
        mq_timer_cancel(ts, t);
        t->fire(mq, t, now);
    }
}

void mq_timers_free(struct timers *ts)
{
    free(ts->v);
    ts->v = NULL;
    ts->n = ts->cap = 0;
}
