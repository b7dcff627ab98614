/* qmodel/fault.c: see fault.h. */
#include "qmodel/fault.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "common/log.h"

/* The first row with a given errno wins when mapping errno -> status. */
static const struct {
    int status;
    int err;
} statuses[] = {
    {400, -EINVAL},      {401, -EACCES},   {403, -EPERM},        {404, -ENOENT},
    {405, -EBADRQC},     {409, -EEXIST},   {409, -EBUSY},        {413, -E2BIG},
    {415, -EMEDIUMTYPE}, {429, -EUSERS},   {500, -EIO},          {503, -EAGAIN},
    {503, -ECONNRESET},  {503, -ENOTCONN}, {503, -ECONNREFUSED}, {503, -ETIMEDOUT},
    {503, -EROFS},       {503, -ENOSPC},
};
#define N (sizeof(statuses) / sizeof(statuses[0]))

int qm_status_errno(int status)
{
    for (size_t i = 0; i < N; i++)
        if (statuses[i].status == status)
            return statuses[i].err;
    return -EIO;
}

int qm_errno_status(int neg_errno)
{
    for (size_t i = 0; i < N; i++)
        if (statuses[i].err == neg_errno)
            return statuses[i].status;
    return 500;
}

int qm_fail(struct error *err, int status, const char *fmt, ...)
{
    int code = qm_status_errno(status);
    va_list ap;

    if (err == NULL)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

int qm_db_fail(int rc, struct error *err)
{
    switch (rc) {
    case -ECONNRESET:
    case -ECONNREFUSED:
    case -EAGAIN:
    case -ETIMEDOUT:
    case -EROFS:
    case -ENOSPC:
    case -EACCES:
    case -ENOENT:
        log_warn("database unavailable: %s", err != NULL ? err->msg : "");
        return qm_fail(err, 503, QM_MSG_UNAVAILABLE);
    default:
        log_error("database error: %s", err != NULL ? err->msg : "");
        return qm_fail(err, 500, "An unknown exception occurred.");
    }
}
