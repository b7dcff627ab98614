/* qapi/waiters.c: see waiters.h. */
#include "qapi/waiters.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/uuid.h"
#include "common/xalloc.h"
#include "db/db.h"
#include "qmodel/sql.h"

struct qa_wait {
    char id[UUID_STR_LEN];
    int notified;
    pthread_cond_t cv;
    struct qa_wait *prev, *next;
};

struct qa_waiters {
    struct db *db;
    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t mu;
    struct qa_wait *head;
};

static void on_notify(const char *channel, const char *payload, int pid, void *arg)
{
    struct qa_waiters *w = arg;

    (void)channel;
    (void)pid;
    if (payload == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    for (struct qa_wait *t = w->head; t != NULL; t = t->next) {
        if (strcmp(t->id, payload) == 0) {
            t->notified = 1;
            pthread_cond_signal(&t->cv);
        }
    }
    pthread_mutex_unlock(&w->mu);
}

/* Wakes everyone after a lost connection: notifications may have been
 * missed, and a waiter re-reads its row when woken. */
static void wake_all(struct qa_waiters *w)
{
    pthread_mutex_lock(&w->mu);
    for (struct qa_wait *t = w->head; t != NULL; t = t->next) {
        t->notified = 1;
        pthread_cond_signal(&t->cv);
    }
    pthread_mutex_unlock(&w->mu);
}

static void *listener(void *arg)
{
    struct qa_waiters *w = arg;
    struct error err;
    int listening = 0;

    while (!atomic_load(&w->stop)) {
        if (!listening) {
            if (db_listen(w->db, QM_NOTIFY_CHANNEL, &err) < 0) {
                log_warn("listen %s: %s", QM_NOTIFY_CHANNEL, err.msg);
                struct timespec ts = {0, 500000000};
                nanosleep(&ts, NULL);
                continue;
            }
            listening = 1;
        }
        if (db_notifies(w->db, on_notify, w, &err) < 0) {
            log_warn("notifications lost: %s", err.msg);
            wake_all(w);
            continue;
        }
        (void)db_wait(w->db, 500);
    }
    return NULL;
}

int qa_waiters_new(const char *conninfo, struct qa_waiters **out, struct error *err)
{
    struct qa_waiters *w = xcalloc(1, sizeof(*w));
    int rc = db_new(conninfo, &w->db, err);

    if (rc < 0) {
        free(w);
        return rc;
    }
    pthread_mutex_init(&w->mu, NULL);
    rc = pthread_create(&w->thread, NULL, listener, w);
    if (rc != 0) {
        db_close(w->db);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return error_set(err, -rc, "pthread_create: %s", strerror(rc));
    }
    *out = w;
    return 0;
}

void qa_waiters_free(struct qa_waiters *w)
{
    if (w == NULL)
        return;
    atomic_store(&w->stop, 1);
    pthread_join(w->thread, NULL);
    db_close(w->db);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

struct qa_wait *qa_wait_begin(struct qa_waiters *w, const char *id)
{
    struct qa_wait *t = xcalloc(1, sizeof(*t));
    pthread_condattr_t ca;

    snprintf(t->id, sizeof(t->id), "%s", id);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_lock(&w->mu);
    t->next = w->head;
    if (w->head != NULL)
        w->head->prev = t;
    w->head = t;
    pthread_mutex_unlock(&w->mu);
    return t;
}

int qa_wait_for(struct qa_waiters *w, struct qa_wait *t, int timeout_ms)
{
    struct timespec ts;
    int got;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    while (!t->notified && pthread_cond_timedwait(&t->cv, &w->mu, &ts) != ETIMEDOUT)
        ;
    got = t->notified;
    t->notified = 0;
    pthread_mutex_unlock(&w->mu);
    return got;
}

void qa_wait_end(struct qa_waiters *w, struct qa_wait *t)
{
    pthread_mutex_lock(&w->mu);
    if (t->prev != NULL)
        t->prev->next = t->next;
    else
        w->head = t->next;
    if (t->next != NULL)
        t->next->prev = t->prev;
    pthread_mutex_unlock(&w->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
}
