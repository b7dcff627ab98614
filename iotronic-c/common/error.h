/* common/error.h: the error object used across every module.
 *
 * A function that can fail returns int: 0 on success or a negated errno. When
 * the caller needs words it passes a struct error, which holds the code and a
 * fixed-size message, so that reporting a failure never allocates. Context is
 * added on the way up with error_prefix(); the error is logged once, where it
 * is handled. */
#ifndef IOT_COMMON_ERROR_H
#define IOT_COMMON_ERROR_H

#include <stddef.h>

#define ERROR_MSG_MAX 512

#define IOT_WUR __attribute__((warn_unused_result))
#define IOT_PRINTF(a, b) __attribute__((format(printf, a, b)))

struct error {
    int code;                 /* 0 or a negated errno */
    char msg[ERROR_MSG_MAX];  /* NUL-terminated, possibly truncated */
};

/* Empties err. Accepts NULL. */
void error_clear(struct error *err);

/* Sets err (which may be NULL) to code and the formatted message, and returns
 * code, so that callers can write `return error_set(err, -EINVAL, ...)`. */
int error_set(struct error *err, int code, const char *fmt, ...) IOT_PRINTF(3, 4);

/* Prepends "<formatted>: " to err's message, keeping its code. Returns the
 * code. Accepts NULL. */
int error_prefix(struct error *err, const char *fmt, ...) IOT_PRINTF(2, 3);

/* Copies src into dst (dst may be NULL); returns src's code. */
int error_copy(struct error *dst, const struct error *src);

/* The message of err, or strerror of its code when it has none. */
const char *error_str(const struct error *err);

#endif
