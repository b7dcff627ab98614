/* common/buf.h: a growable byte buffer with a hard ceiling.
 *
 * Every buffer that outside input can grow has a limit, fixed at buf_init();
 * an append that would pass it fails with -E2BIG and leaves the buffer as it
 * was. The content is always NUL-terminated (the NUL is not counted in len),
 * so text can be used as a C string. One owner: whoever called buf_init()
 * calls buf_free() or takes the memory with buf_take(). */
#ifndef IOT_COMMON_BUF_H
#define IOT_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "common/error.h"

struct buf {
    char *data;   /* NULL until the first append */
    size_t len;   /* bytes used, excluding the trailing NUL */
    size_t cap;   /* bytes allocated */
    size_t limit; /* maximum len */
};

void buf_init(struct buf *b, size_t limit);
void buf_free(struct buf *b); /* releases memory; b can be reused after buf_init */
void buf_reset(struct buf *b); /* len = 0, keeps the memory */

int buf_append(struct buf *b, const void *p, size_t n) IOT_WUR;
int buf_append_str(struct buf *b, const char *s) IOT_WUR;
int buf_printf(struct buf *b, const char *fmt, ...) IOT_PRINTF(2, 3) IOT_WUR;
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) IOT_WUR;

/* Removes the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);

/* Returns the content (never NULL; "" when empty) and leaves b empty. The
 * caller frees it with free(). */
char *buf_take(struct buf *b, size_t *len);

#endif
