/* api/fault.h: HTTP statuses, errnos and the IoTronic error body.
 *
 * Handlers fail with api_fail(err, status, "<exact contract message>"): the
 * struct error carries the faultstring (iotronic-api-v1.md appendix B) and an
 * errno from the one table that maps statuses to errnos both ways, so that a
 * status survives the trip API -> conductor -> API as an errno. The error
 * body itself (1.7) is libiothttp's http_error_body_nested(). Pure; any
 * thread. */
#ifndef IOT_API_FAULT_H
#define IOT_API_FAULT_H

#include "common/buf.h"
#include "common/error.h"

/* The errno (negative) that stands for status, and back. Unknown statuses
 * map to -EIO, unknown errnos to 500. */
int api_status_errno(int status);
int api_errno_status(int neg_errno);

/* Sets err to the errno of status and the formatted message; returns that
 * (negative) errno, so handlers can `return api_fail(...)`. */
int api_fail(struct error *err, int status, const char *fmt, ...) IOT_PRINTF(3, 4);

/* The status a failed call stands for (from err->code). */
int api_err_status(const struct error *err);

/* The reason phrase of a status ("Not Found"), for the status line. */
const char *api_status_reason(int status);

#endif
