/* common/xalloc.h: allocation wrappers that abort on out-of-memory.
 *
 * Out-of-memory is not an error a daemon can recover from meaningfully, so
 * every allocation goes through these and never returns NULL. Input limits
 * (named constants near each parser) keep outside data from driving
 * allocation. xalloc_init() installs the same hooks into cJSON. */
#ifndef IOT_COMMON_XALLOC_H
#define IOT_COMMON_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

#include "common/error.h"

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);                 /* s must not be NULL */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) IOT_PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list ap);

/* Installs xmalloc/free as cJSON's allocator. Call once from main(). */
void xalloc_init(void);

#endif
