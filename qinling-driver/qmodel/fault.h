/* qmodel/fault.h: HTTP statuses as errnos, for the deviceless service.
 *
 * Code shared by the API and the engine (execution creation, targets)
 * fails with qm_fail(err, status, "<exact contract message>"): err carries
 * the faultstring (Appendix D) and an errno from the one table below, so
 * that the API answers the status the code meant. Pure; any thread. */
#ifndef QM_FAULT_H
#define QM_FAULT_H

#include "common/error.h"

/* The errno (negative) that stands for status, and back. Unknown statuses
 * map to -EIO (500); unknown errnos to 500, except the database's
 * connection errors, which are 503. */
int qm_status_errno(int status);
int qm_errno_status(int neg_errno);

/* Sets err to the errno of status and the message; returns the errno. */
int qm_fail(struct error *err, int status, const char *fmt, ...) IOT_PRINTF(3, 4);

/* A database failure (db.h codes) as the service reports it: connection
 * and availability problems become 503 "Service temporarily unavailable,
 * please retry.", anything else 500 with a generic message (the details are
 * logged, never shown). Returns the errno. */
int qm_db_fail(int rc, struct error *err);

#define QM_MSG_UNAVAILABLE "Service temporarily unavailable, please retry."

#endif
