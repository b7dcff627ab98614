/* src/fn_map.c: see fn_map.h. FNV-1a hashing; the table doubles at 70 %
 * occupancy (tombstones included) and is rebuilt without tombstones. */
#include "src/fn_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

static char tombstone;
#define FN_MAP_TOMBSTONE (&tombstone)

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void fn_map_init(struct fn_map *m)
{
    memset(m, 0, sizeof(*m));
}

void fn_map_free(struct fn_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key != NULL && m->slots[i].key != FN_MAP_TOMBSTONE)
            free(m->slots[i].key);
    free(m->slots);
    fn_map_init(m);
}

static struct fn_map_slot *find(const struct fn_map *m, const char *key)
{
    if (m->cap == 0)
        return NULL;
    for (size_t i = hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct fn_map_slot *s = &m->slots[i];

        if (s->key == NULL)
            return NULL;
        if (s->key != FN_MAP_TOMBSTONE && strcmp(s->key, key) == 0)
            return s;
    }
}

static void grow(struct fn_map *m)
{
    struct fn_map_slot *old = m->slots;
    size_t oldcap = m->cap;

    m->cap = m->len * 2 >= 16 ? m->len * 4 : 16;
    /* keep a power of two */
    size_t p = 16;

    while (p < m->cap)
        p <<= 1;
    m->cap = p;
    m->slots = xcalloc(m->cap, sizeof(*m->slots));
    m->used = m->len;
    for (size_t i = 0; i < oldcap; i++) {
        char *k = old[i].key;

        if (k == NULL || k == FN_MAP_TOMBSTONE)
            continue;
        for (size_t j = hash(k) & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
            if (m->slots[j].key == NULL) {
                m->slots[j] = old[i];
                break;
            }
        }
    }
    free(old);
}

void *fn_map_get(const struct fn_map *m, const char *key)
{
    struct fn_map_slot *s = find(m, key);

    return s != NULL ? s->value : NULL;
}

void *fn_map_put(struct fn_map *m, const char *key, void *value)
{
    struct fn_map_slot *s = find(m, key);
    void *prev;

    if (s != NULL) {
        prev = s->value;
        s->value = value;
        return prev;
    }
    if ((m->used + 1) * 10 >= m->cap * 7)
        grow(m);
    for (size_t i = hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        s = &m->slots[i];
        if (s->key == NULL || s->key == FN_MAP_TOMBSTONE) {
            if (s->key == NULL)
                m->used++;
            s->key = xstrdup(key);
            s->value = value;
            m->len++;
            return NULL;
        }
    }
}

void *fn_map_del(struct fn_map *m, const char *key)
{
    struct fn_map_slot *s = find(m, key);
    void *v;

    if (s == NULL)
        return NULL;
    v = s->value;
    free(s->key);
    s->key = FN_MAP_TOMBSTONE;
    s->value = NULL;
    m->len--;
    return v;
}

int fn_map_next(const struct fn_map *m, size_t *i, const char **key, void **value)
{
    for (; *i < m->cap; (*i)++) {
        struct fn_map_slot *s = &m->slots[*i];

        if (s->key != NULL && s->key != FN_MAP_TOMBSTONE) {
            *key = s->key;
            *value = s->value;
            (*i)++;
            return 1;
        }
    }
    return 0;
}
