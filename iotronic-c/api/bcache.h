/* api/bcache.h: one board, found by uuid or name, for a cheap statement.
 *
 * The board row of GET /v1/boards/{board} (and of every route that names a
 * board) is a statement with three subqueries and JSON building: most of a
 * request's cost. Here each API process keeps the rows it read, each with
 * the board tuple's xmin, and every lookup still asks PostgreSQL, but only
 * for the board's uuid under the caller's visibility and its xmin: one
 * index probe. A row is served from memory only when its xmin equals the
 * one just read, so a read never returns a row that a write committed
 * before it changed, whichever process, daemon or psql made the write (no
 * invalidation message that could arrive late), and several API processes
 * share nothing.
 *
 * Every UPDATE of a board makes a new tuple version with the writer's
 * transaction id as xmin, and db/migrations/0007 makes one whenever the
 * representation changes from another table (its session, locations,
 * wagent url, registration wagent). A cached row and its xmin come from one
 * statement, one snapshot. Rows older than 10 minutes are read again, long
 * before transaction ids wrap. A miss costs one more statement: the full
 * row, kept for the next reads.
 *
 * Thread safety: one struct api_bcache per process, shared by the worker
 * threads; each call runs its statements on the caller's connection and
 * holds the internal lock only to copy a row in or out. */
#ifndef IOT_API_BCACHE_H
#define IOT_API_BCACHE_H

#include "api/store.h"

struct api_bcache;

/* nslots: the rows kept (a fixed table, a new row replaces the one in its
 * slot). 0 is refused (-EINVAL). */
int api_bcache_new(struct api_bcache **out, unsigned nslots, struct error *err) IOT_WUR;
void api_bcache_free(struct api_bcache *bc);

/* As api_store_find() for AC_BOARDS, same answers and messages. */
int api_bcache_find(struct api_bcache *bc, struct db *db, const struct api_ident *id,
                    const char *ref, int is_uuid, struct api_row *out, struct error *err) IOT_WUR;

#endif
