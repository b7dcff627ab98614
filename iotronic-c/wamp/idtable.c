/* wamp/idtable.c: see idtable.h. */
#include "wamp/idtable.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

static uint64_t key_at(const struct wamp_idtab *t, size_t size, size_t i)
{
    uint64_t k;

    memcpy(&k, (const char *)t->v + i * size, sizeof(k));
    return k;
}

/* The first index whose key is >= key. */
static size_t lower_bound(const struct wamp_idtab *t, size_t size, uint64_t key)
{
    size_t lo = 0, hi = t->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (key_at(t, size, mid) < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void *wamp_idtab_at(const struct wamp_idtab *t, size_t size, size_t i)
{
    return (char *)t->v + i * size;
}

void *wamp_idtab_find(const struct wamp_idtab *t, size_t size, uint64_t key)
{
    size_t i = lower_bound(t, size, key);

    if (i < t->n && key_at(t, size, i) == key)
        return wamp_idtab_at(t, size, i);
    return NULL;
}

void *wamp_idtab_insert(struct wamp_idtab *t, size_t size, uint64_t key)
{
    size_t i = lower_bound(t, size, key);
    char *e;

    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 4;
        t->v = xrealloc(t->v, (size_t)t->cap * size);
    }
    e = wamp_idtab_at(t, size, i);
    memmove(e + size, e, (t->n - i) * size);
    memset(e, 0, size);
    memcpy(e, &key, sizeof(key));
    t->n++;
    return e;
}

void wamp_idtab_remove(struct wamp_idtab *t, size_t size, void *e)
{
    size_t i = (size_t)((char *)e - (char *)t->v) / size;

    memmove(e, (char *)e + size, (t->n - i - 1) * size);
    if (--t->n == 0)
        wamp_idtab_clear(t);
}

void wamp_idtab_clear(struct wamp_idtab *t)
{
    free(t->v);
    t->v = NULL;
    t->n = 0;
    t->cap = 0;
}
