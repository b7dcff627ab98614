/* http/arena.h: the per-request bump allocator.
 *
 * Everything a request parses (header table, decoded path segments, query
 * parameters) and whatever a handler wants to keep until the response is
 * sent is carved out of one arena and released at once when the request
 * ends (nginx's pools). The first block lives inside the arena itself, so a
 * small request allocates nothing beyond its own struct. One owner: the
 * request; not thread-safe (a request is on one thread at a time). */
#ifndef IOT_HTTP_ARENA_H
#define IOT_HTTP_ARENA_H

#include <stddef.h>

#define HTTP_ARENA_INLINE 3072

struct http_arena_block;

struct http_arena {
    char *cur;                       /* next free byte of the current block */
    size_t left;                     /* bytes free in the current block */
    struct http_arena_block *blocks; /* malloc'd blocks, newest first */
    size_t total;                    /* bytes handed out (statistics) */
    _Alignas(16) char first[HTTP_ARENA_INLINE];
};

void http_arena_init(struct http_arena *a);
void http_arena_free(struct http_arena *a); /* releases every block; a can be re-initialised */

/* n bytes aligned to 16; never NULL (aborts on OOM like xmalloc). */
void *http_arena_alloc(struct http_arena *a, size_t n);
/* A NUL-terminated copy of s[0..n). */
char *http_arena_strndup(struct http_arena *a, const char *s, size_t n);
char *http_arena_strdup(struct http_arena *a, const char *s);

#endif
