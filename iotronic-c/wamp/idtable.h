/* wamp/idtable.h: a small sorted table of fixed-size entries keyed by a 64-bit id.
 *
 * The session keeps its pending requests, registrations and subscriptions
 * in these: a few to a few dozen entries each, for thousands of sessions in
 * one lr-swarm process, so a sorted array (binary search, memmove on
 * insert) beats a hash table in both memory and speed. Each entry starts
 * with its uint64_t key. The table grows by doubling from 4 entries and
 * gives memory back when it empties. One owner; not thread-safe. */
#ifndef IOT_WAMP_IDTABLE_H
#define IOT_WAMP_IDTABLE_H

#include <stddef.h>
#include <stdint.h>

struct wamp_idtab {
    void *v; /* cap entries of the table's entry size, n used, sorted by key */
    uint32_t n;
    uint32_t cap;
};

/* The entry with key, or NULL. size is the entry size. */
void *wamp_idtab_find(const struct wamp_idtab *t, size_t size, uint64_t key);

/* Inserts a zeroed entry with key (which must not be present) and returns
 * it; the pointer is valid until the next insert or remove. */
void *wamp_idtab_insert(struct wamp_idtab *t, size_t size, uint64_t key);

/* Removes the entry e (a pointer into the table). */
void wamp_idtab_remove(struct wamp_idtab *t, size_t size, void *e);

/* Frees the memory and empties the table. */
void wamp_idtab_clear(struct wamp_idtab *t);

/* The i-th entry in key order (i < t->n). */
void *wamp_idtab_at(const struct wamp_idtab *t, size_t size, size_t i);

#endif
