/* auth/tokencache.c: see tokencache.h. Chained hash buckets plus one
 * doubly-linked recency list; both are intrusive in the entry. */
#include "auth/tokencache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

struct entry {
    char key[TCACHE_KEY_LEN];
    const struct auth_identity *id; /* NULL: a rejection */
    int64_t expires_us;
    struct entry *chain;       /* next in the bucket */
    struct entry *prev, *next; /* recency: head is the most recent */
};

struct tcache {
    pthread_mutex_t lock;
    struct entry **buckets;
    size_t nbuckets; /* power of two */
    size_t n, max;
    struct entry *head, *tail;
};

struct tcache *tcache_new(size_t max_entries)
{
    struct tcache *c = xcalloc(1, sizeof(*c));

    c->max = max_entries ? max_entries : 1;
    c->nbuckets = 16;
    while (c->nbuckets < c->max)
        c->nbuckets *= 2;
    c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void tcache_free(struct tcache *c)
{
    struct entry *e, *next;

    if (c == NULL)
        return;
    for (e = c->head; e != NULL; e = next) {
        next = e->next;
        auth_identity_unref(e->id);
        free(e);
    }
    free(c->buckets);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static size_t bucket_of(const struct tcache *c, const char *key)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 1099511628211ULL;
    return (size_t)(h & (c->nbuckets - 1));
}

static void list_unlink(struct tcache *c, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void list_push_front(struct tcache *c, struct entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (c->tail == NULL)
        c->tail = e;
}

static struct entry **find(struct tcache *c, const char *key)
{
    struct entry **pp = &c->buckets[bucket_of(c, key)];

    while (*pp != NULL && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->chain;
    return pp;
}

static void drop(struct tcache *c, struct entry *e)
{
    struct entry **pp = find(c, e->key);

    *pp = e->chain;
    list_unlink(c, e);
    auth_identity_unref(e->id);
    free(e);
    c->n--;
}

enum tcache_result tcache_get(struct tcache *c, const char *key, int64_t now_us,
                              const struct auth_identity **id)
{
    enum tcache_result res = TCACHE_MISS;
    struct entry *e;

    pthread_mutex_lock(&c->lock);
    e = *find(c, key);
    if (e != NULL && e->expires_us <= now_us) {
        drop(c, e);
        e = NULL;
    }
    if (e != NULL) {
        list_unlink(c, e);
        list_push_front(c, e);
        res = e->id ? TCACHE_VALID : TCACHE_REJECTED;
        if (e->id)
            *id = auth_identity_ref(e->id);
    }
    pthread_mutex_unlock(&c->lock);
    return res;
}

void tcache_put(struct tcache *c, const char *key, const struct auth_identity *id,
                int64_t expires_us)
{
    struct entry **pp, *e;

    pthread_mutex_lock(&c->lock);
    pp = find(c, key);
    if (*pp != NULL)
        drop(c, *pp);
    if (c->n >= c->max && c->tail != NULL)
        drop(c, c->tail);
    e = xcalloc(1, sizeof(*e));
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->id = id ? auth_identity_ref(id) : NULL;
    e->expires_us = expires_us;
    pp = find(c, key);
    e->chain = *pp;
    *pp = e;
    list_push_front(c, e);
    c->n++;
    pthread_mutex_unlock(&c->lock);
}

size_t tcache_size(struct tcache *c)
{
    size_t n;

    pthread_mutex_lock(&c->lock);
    n = c->n;
    pthread_mutex_unlock(&c->lock);
    return n;
}
