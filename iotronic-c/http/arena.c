/* http/arena.c: see arena.h. Blocks double in size up to 64 KiB; a request
 * for more than that gets a block of its own. */
#include "http/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

#define ALIGN 16
#define BLOCK_MAX (64 * 1024)

struct http_arena_block {
    struct http_arena_block *next;
    size_t size;
    _Alignas(16) char data[];
};

void http_arena_init(struct http_arena *a)
{
    a->cur = a->first;
    a->left = sizeof(a->first);
    a->blocks = NULL;
    a->total = 0;
}

void http_arena_free(struct http_arena *a)
{
    struct http_arena_block *b = a->blocks, *next;

    for (; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    http_arena_init(a);
}

void *http_arena_alloc(struct http_arena *a, size_t n)
{
    size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    struct http_arena_block *b;
    size_t size;
    void *p;

    if (need < n)
        abort(); /* overflow: a caller bug */
    if (need > a->left) {
        size = a->blocks ? a->blocks->size * 2 : 2 * HTTP_ARENA_INLINE;
        if (size > BLOCK_MAX)
            size = BLOCK_MAX;
        if (size < need)
            size = need;
        b = xmalloc(sizeof(*b) + size);
        b->size = size;
        b->next = a->blocks;
        a->blocks = b;
        a->cur = b->data;
        a->left = size;
    }
    p = a->cur;
    a->cur += need;
    a->left -= need;
    a->total += need;
    return p;
}

char *http_arena_strndup(struct http_arena *a, const char *s, size_t n)
{
    char *p = http_arena_alloc(a, n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *http_arena_strdup(struct http_arena *a, const char *s)
{
    return http_arena_strndup(a, s, strlen(s));
}
