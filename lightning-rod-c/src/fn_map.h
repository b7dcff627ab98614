/* src/fn_map.h: a string-keyed hash map (open addressing, linear probing).
 *
 * Holds the board's execution records and warm-pool groups, which can reach
 * tens of thousands of entries (a day of executions kept for
 * de-duplication). Keys are copied; values are borrowed pointers that the
 * caller owns. One owner, one thread. */
#ifndef LRC_FN_MAP_H
#define LRC_FN_MAP_H

#include <stddef.h>

struct fn_map_slot {
    char *key; /* NULL: empty; FN_MAP_TOMBSTONE: deleted */
    void *value;
};

struct fn_map {
    struct fn_map_slot *slots;
    size_t cap;  /* a power of two, or 0 */
    size_t len;  /* live entries */
    size_t used; /* live entries and tombstones */
};

void fn_map_init(struct fn_map *m);
/* Frees the keys and the table, not the values. */
void fn_map_free(struct fn_map *m);

void *fn_map_get(const struct fn_map *m, const char *key);
/* Inserts or replaces; returns the previous value (or NULL). */
void *fn_map_put(struct fn_map *m, const char *key, void *value);
/* Removes key; returns its value (or NULL). */
void *fn_map_del(struct fn_map *m, const char *key);

/* Iteration: for (i = 0; fn_map_next(m, &i, &k, &v);) ... Removing the
 * current key during iteration is allowed; inserting is not. */
int fn_map_next(const struct fn_map *m, size_t *i, const char **key, void **value);

#endif
