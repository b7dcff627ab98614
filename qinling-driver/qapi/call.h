/* qapi/call.h: what every handler starts with, and how it fails.
 *
 * A struct qa_call gathers one request's context: the worker's database
 * connection, the caller (project, admin), whether policy is enforced, and
 * the <base> of generated URLs (1.1). Failures are answered in one place
 * with the flat error body (1.7); a struct error made with qm_fail() carries
 * its status. Worker threads (handlers). */
#ifndef QA_CALL_H
#define QA_CALL_H

#include <stdint.h>

#include "auth/cred.h"
#include "common/uuid.h"
#include "common/error.h"
#include "db/db.h"
#include "http/request.h"
#include "qapi/qapi.h"

struct qa_call {
    struct http_req *r;
    struct qa *a;
    struct db *db;
    const struct auth_cred *cred;
    const char *project; /* the caller's project ("" when none) */
    int is_admin;
    const char *base; /* <base> without a trailing slash */
};

/* Fills c. Returns 0, or answers 503 (no database connection on this worker)
 * and returns -1. */
int qa_call_init(struct http_req *r, struct qa_call *c);

/* Answers err (its status from the errno, qm_fault.h) and returns -1. */
int qa_respond_error(struct qa_call *c, const struct error *err);

/* Answers status with the formatted message and returns -1. */
int qa_fail(struct qa_call *c, int status, const char *fmt, ...) IOT_PRINTF(3, 4);

/* Checks rule against a target project (NULL: the caller's own, for
 * collection and create rules). 0, or answers 403 "Operation not allowed"
 * and returns -1. */
int qa_authorize(struct qa_call *c, const char *rule, const char *target_project);

/* The project scope of single-resource lookups: NULL (every project) for
 * admins, else the caller's project (1.6 "Single resources"). */
const char *qa_scope(const struct qa_call *c);

/* The project scope of board and fleet lookups (3.3 step 4): NULL for admins
 * and while policy is not enforced, else the caller's project. */
const char *qa_board_scope(const struct qa_call *c);

/* A path parameter that must be a UUID, normalised into out. 0, or answers
 * 400 "Expected a uuid but received <value>." and returns -1. */
int qa_path_uuid(struct qa_call *c, const char *name, char out[UUID_STR_LEN]);

/* Announces work to the engine: a persistent message on its durable queue,
 * confirmed by the broker. A failure is logged, not answered: the rows are
 * committed and the engine's sweeper finds them (3.6). */
void qa_tell_engine(struct qa_call *c, const char *method, const char *key, const char *value);

/* Runs one fixed statement and answers database failures (503/500). 0 and
 * *res (PQclear), or -1 with the response set. */
int qa_exec(struct qa_call *c, const struct db_stmt *st, const char *const *params, PGresult **res);

/* The DELETE route of a resource a project owns: after rule, st deletes the
 * row whose id is the path's {id} ($1) within qa_scope() ($2). Answers 204,
 * or 404 "<what> not found [id=<id>]", or the failure. */
void qa_delete_scoped(struct http_req *r, const struct db_stmt *st, const char *rule,
                      const char *what);

#endif
