/* api/fault.c: see fault.h. */
#include "api/fault.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One row per status: the errno that carries it and its reason phrase. The
 * first row with a given errno wins when mapping errno -> status. */
static const struct {
    int status;
    int err;
    const char *reason;
} statuses[] = {
    {400, -EINVAL, "Bad Request"},
    {401, -EACCES, "Unauthorized"},
    {403, -EPERM, "Forbidden"},
    {404, -ENOENT, "Not Found"},
    {405, -EBADRQC, "Method Not Allowed"},
    {406, -ENOTSUP, "Not Acceptable"},
    {409, -EEXIST, "Conflict"},
    {409, -EBUSY, "Conflict"},
    {413, -E2BIG, "Request Entity Too Large"},
    {415, -EMEDIUMTYPE, "Unsupported Media Type"},
    {431, -EMSGSIZE, "Request Header Fields Too Large"},
    {500, -EIO, "Internal Server Error"},
    {502, -EREMOTEIO, "Bad Gateway"},
    {503, -EAGAIN, "Service Unavailable"},
    {503, -ENOTCONN, "Service Unavailable"},
    {503, -ECONNREFUSED, "Service Unavailable"},
    {504, -ETIMEDOUT, "Gateway Timeout"},
};
#define NSTATUSES (sizeof(statuses) / sizeof(statuses[0]))

int api_status_errno(int status)
{
    for (size_t i = 0; i < NSTATUSES; i++)
        if (statuses[i].status == status)
            return statuses[i].err;
    return -EIO;
}

int api_errno_status(int neg_errno)
{
    for (size_t i = 0; i < NSTATUSES; i++)
        if (statuses[i].err == neg_errno)
            return statuses[i].status;
    return 500;
}

const char *api_status_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    default:
        break;
    }
    for (size_t i = 0; i < NSTATUSES; i++)
        if (statuses[i].status == status)
            return statuses[i].reason;
    return "Error";
}

int api_fail(struct error *err, int status, const char *fmt, ...)
{
    int code = api_status_errno(status);
    va_list ap;

    if (err == NULL)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

int api_err_status(const struct error *err)
{
    return api_errno_status(err->code);
}
