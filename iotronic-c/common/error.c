/* common/error.c: see error.h. */
#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void error_clear(struct error *err)
{
    if (err == NULL)
        return;
    err->code = 0;
    err->msg[0] = '\0';
}

int error_set(struct error *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

int error_prefix(struct error *err, const char *fmt, ...)
{
    char head[ERROR_MSG_MAX];
    char old[ERROR_MSG_MAX];
    va_list ap;

    if (err == NULL)
        return 0;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    /* Truncation is fine here: the message is bounded by design. */
    if (snprintf(err->msg, sizeof(err->msg), "%.255s: %.255s", head, old) < 0)
        err->msg[0] = '\0';
    return err->code;
}

int error_copy(struct error *dst, const struct error *src)
{
    if (dst != NULL && dst != src)
        memcpy(dst, src, sizeof(*dst));
    return src->code;
}

const char *error_str(const struct error *err)
{
    if (err->msg[0] != '\0')
        return err->msg;
    return strerror(err->code < 0 ? -err->code : err->code);
}
