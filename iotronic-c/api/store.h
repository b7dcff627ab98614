/* api/store.h: the API's reads from PostgreSQL (iotronic-api-v1.md 1.10, 4.6).
 *
 * One struct api_store per process holds the statements of every collection
 * (built once at start from the constant fragments of api/sqlkind.h, then
 * immutable and shared by all workers) and the board rows of api/bcache.h
 * (internally locked); each worker thread runs them on its
 * own struct db. A list page is ONE statement (plus one for a marker): the
 * rows come out already formatted and are written straight into the response
 * buffer by api_render_item().
 *
 * Visibility: a caller sees what 4.6 says, and "null matches null" (noauth
 * without headers sees exactly the rows whose project or owner is null).
 * Everything here runs on worker threads (it blocks on the database). */
#ifndef IOT_API_STORE_H
#define IOT_API_STORE_H

#include <libpq-fe.h>

#include "api/query.h"
#include "api/sqlkind.h"
#include "common/buf.h"
#include "common/error.h"
#include "db/db.h"

/* The caller as the API established it (auth). Borrowed strings. */
struct api_ident {
    const char *user_id;    /* NULL: none */
    const char *project_id; /* NULL: none */
    int is_admin;
};

/* The scope of one list request. */
struct api_scope {
    int all;            /* every project (admin: all_projects, all_plugins, ...) */
    const char *who;    /* project (user for plugins) to list; NULL matches NULL */
    const char *status; /* boards: status filter, NULL: none */
    const char *fleet;  /* boards: fleet uuid filter, NULL: none */
    const char *board;  /* board-children collections: one board's rows, NULL: all */
    int with_public;    /* plugins */
    int public_only;    /* plugins: /v1/plugins/public */
};

struct api_store;

int api_store_new(struct api_store **out, struct error *err) IOT_WUR;
void api_store_free(struct api_store *st);

/* Writes {"<list key>": [...], "next"?: "<url>"} for collection c into out.
 * path is the requested collection path (no trailing slash) for `next`.
 * 404 "<Kind> <marker> could not be found." for an invisible marker (for
 * enabled webservices: "Webservice module not enabled for <marker>
 * device."). Other failures: -EIO/-ECONNRESET (503 for the caller). */
int api_store_list(const struct api_store *st, struct db *db, enum api_coll_id c,
                   const struct api_scope *sc, const struct api_listq *q, const char *base,
                   const char *path, struct buf *out, struct error *err) IOT_WUR;

/* One row of a collection, found by uuid or name within the caller's
 * visibility. Fields 0..nfields-1 are the representation; the two hidden
 * columns after them are the policy target's owner and project. */
struct api_row {
    PGresult *res;
    int row;
    const struct api_sqlkind *sk;
};

/* Looks ref up: is_uuid 1 when ref is a normalised uuid, else a logical
 * name. 0 and *out (api_row_clear()), or 404 "<Kind> <ref> could not be
 * found.", or 400 "Multiple <kind>s are named <ref>; use the UUID.". */
int api_store_find(const struct api_store *st, struct db *db, enum api_coll_id c,
                   const struct api_ident *id, const char *ref, int is_uuid, struct api_row *out,
                   struct error *err) IOT_WUR;
void api_row_clear(struct api_row *r);

/* Field i of the row (NULL for SQL NULL); the hidden owner and project. */
const char *api_row_get(const struct api_row *r, int i);
const char *api_row_owner(const struct api_row *r);
const char *api_row_project(const struct api_row *r);
/* By field name (NULL when the kind has no such field or it is null). */
const char *api_row_field(const struct api_row *r, const char *name);

/* Renders the row with the fields of mask. */
void api_row_render(const struct api_row *r, struct jw *w, uint32_t mask, const char *base);

/* Writes {"<list key>": [...]} of a board's injections, exposed services or
 * ports (kinds api_kind_injection, api_kind_exposed, api_kind_boardport),
 * oldest first. */
int api_store_sublist(const struct api_store *st, struct db *db, const struct api_kind *k,
                      const char *board_uuid, const char *base, struct buf *out,
                      struct error *err) IOT_WUR;

/* Writes one port of a board in its board form; 404 "Port <uuid> could not
 * be found." when the board has no such port. */
int api_store_boardport(const struct api_store *st, struct db *db, const char *board_uuid,
                        const char *port_uuid, const char *base, struct buf *out,
                        struct error *err) IOT_WUR;

/* Writes {"results": [...]}: the results of request req_uuid and of its
 * children, in q's order, at most q->limit (2.13). */
int api_store_results(const struct api_store *st, struct db *db, const char *req_uuid,
                      const struct api_listq *q, const char *base, struct buf *out,
                      struct error *err) IOT_WUR;

/* Maps a database failure to the API's status: connection problems 503, the
 * rest 500 (a bug). Logs it once. */
int api_store_fail(struct db *db, int rc, struct error *err);

#endif
