/* amqp/dedup.c: see dedup.h.
 *
 * A chained hash table on the id (FNV-1a, power-of-two buckets, doubled when
 * the load passes 1) and a FIFO of finished entries in completion order, so
 * that the oldest finished entry, the first to drop, is always its head.
 * Running entries live only in the hash. */
#include "amqp/dedup.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

#define INITIAL_BUCKETS 64

struct mq_dedup {
    struct mq_dedup_entry **buckets;
    size_t nbuckets;                    /* a power of two */
    size_t count;                       /* entries in the hash */
    struct mq_dedup_entry *head, *tail; /* finished, oldest first */
    size_t ndone;
    size_t bytes;
    size_t max_entries, max_bytes;
    int64_t ttl_us;
};

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

struct mq_dedup *mq_dedup_new(size_t max_entries, size_t max_bytes, int64_t ttl_us)
{
    struct mq_dedup *d = xcalloc(1, sizeof(*d));

    d->nbuckets = INITIAL_BUCKETS;
    d->buckets = xcalloc(d->nbuckets, sizeof(*d->buckets));
    d->max_entries = max_entries;
    d->max_bytes = max_bytes;
    d->ttl_us = ttl_us;
    return d;
}

void mq_dedup_free(struct mq_dedup *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->nbuckets; i++) {
        struct mq_dedup_entry *e = d->buckets[i], *next;

        for (; e != NULL; e = next) {
            next = e->hnext;
            free(e->reply);
            free(e);
        }
    }
    free(d->buckets);
    free(d);
}

static void grow(struct mq_dedup *d)
{
    size_t n = d->nbuckets * 2;
    struct mq_dedup_entry **b = xcalloc(n, sizeof(*b));

    for (size_t i = 0; i < d->nbuckets; i++) {
        struct mq_dedup_entry *e = d->buckets[i], *next;

        for (; e != NULL; e = next) {
            size_t k = hash_id(e->id) & (n - 1);

            next = e->hnext;
            e->hnext = b[k];
            b[k] = e;
        }
    }
    free(d->buckets);
    d->buckets = b;
    d->nbuckets = n;
}

static void unlink_hash(struct mq_dedup *d, struct mq_dedup_entry *e)
{
    struct mq_dedup_entry **pp = &d->buckets[hash_id(e->id) & (d->nbuckets - 1)];

    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    d->count--;
}

static void unlink_fifo(struct mq_dedup *d, struct mq_dedup_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        d->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        d->tail = e->prev;
    d->ndone--;
    d->bytes -= e->reply_len;
}

void mq_dedup_remove(struct mq_dedup *d, struct mq_dedup_entry *e)
{
    unlink_hash(d, e);
    if (e->state == MQ_DEDUP_DONE)
        unlink_fifo(d, e);
    free(e->reply);
    free(e);
}

void mq_dedup_expire(struct mq_dedup *d, int64_t now)
{
    while (d->head && now - d->head->done_at > d->ttl_us)
        mq_dedup_remove(d, d->head);
}

struct mq_dedup_entry *mq_dedup_find(struct mq_dedup *d, const char *id, int64_t now)
{
    struct mq_dedup_entry *e;

    mq_dedup_expire(d, now);
    for (e = d->buckets[hash_id(id) & (d->nbuckets - 1)]; e != NULL; e = e->hnext)
        if (strcmp(e->id, id) == 0)
            return e;
    return NULL;
}

struct mq_dedup_entry *mq_dedup_add(struct mq_dedup *d, const char *id)
{
    size_t n = strlen(id);
    struct mq_dedup_entry *e = xcalloc(1, sizeof(*e) + n + 1);
    size_t k;

    memcpy(e->id, id, n + 1);
    e->state = MQ_DEDUP_RUNNING;
    if (d->count >= d->nbuckets)
        grow(d);
    k = hash_id(id) & (d->nbuckets - 1);
    e->hnext = d->buckets[k];
    d->buckets[k] = e;
    d->count++;
    return e;
}

void mq_dedup_complete(struct mq_dedup *d, struct mq_dedup_entry *e, char *reply, size_t len,
                       int64_t now)
{
    e->state = MQ_DEDUP_DONE;
    e->reply = reply;
    e->reply_len = reply ? len : 0;
    e->waiters = NULL;
    e->done_at = now;
    e->next = NULL;
    e->prev = d->tail;
    if (d->tail)
        d->tail->next = e;
    else
        d->head = e;
    d->tail = e;
    d->ndone++;
    d->bytes += e->reply_len;
    mq_dedup_expire(d, now);
    while (d->head && (d->ndone > d->max_entries || d->bytes > d->max_bytes))
        mq_dedup_remove(d, d->head);
}

void mq_dedup_each(struct mq_dedup *d, void (*fn)(struct mq_dedup_entry *e, void *arg), void *arg)
{
    for (size_t i = 0; i < d->nbuckets; i++)
        for (struct mq_dedup_entry *e = d->buckets[i]; e != NULL; e = e->hnext)
            fn(e, arg);
}

size_t mq_dedup_count(const struct mq_dedup *d)
{
    return d->count;
}

size_t mq_dedup_bytes(const struct mq_dedup *d)
{
    return d->bytes;
}
