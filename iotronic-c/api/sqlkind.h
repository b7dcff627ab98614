/* api/sqlkind.h: how each collection is read from PostgreSQL.
 *
 * For every collection this is constant SQL text: the SELECT list (one column
 * per field of the kind, in representation order, already formatted: uuids
 * and datetimes as text in the contract's form, dictionaries as JSON text),
 * hidden columns after it (the owner and project that policy targets use),
 * the FROM clause, the visibility predicate, and the SQL column of each sort
 * key. api/sqlgen.c combines these fragments into statements once at start;
 * no SQL text is ever built from input (sort keys are indices into the
 * constant tables, values are $n parameters).
 *
 * Parameters of list statements: $1 all (boolean), $2 who (the caller's
 * project, or user for plugins; NULL matches NULL), then nextra
 * collection-specific ones, then the marker and the limit. Parameters of
 * find statements: $1 the uuid or name, $2 is_admin, $3 who.
 *
 * Scoping by project comes in three statement variants (enum api_scope_mode)
 * so that PostgreSQL can use the (project, ...) indexes: "every project",
 * "project = $2" and "project IS NULL" (IS NOT DISTINCT FROM would be one
 * statement but is not indexable). */
#ifndef IOT_API_SQLKIND_H
#define IOT_API_SQLKIND_H

#include "api/resource.h"

/* TS(col): a timestamptz as the API prints it (1.6). */
#define API_SQL_TS(col)                                                                            \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"

enum api_coll_id {
    AC_BOARDS,
    AC_PLUGINS,
    AC_SERVICES,
    AC_FLEETS,
    AC_WEBSERVICES,
    AC_ENABLEDWS,
    AC_PORTS,
    AC_REQUESTS,
    AC_N
};

enum api_scope_mode { API_SCOPE_ALL, API_SCOPE_EQ, API_SCOPE_NULL, API_SCOPE_N };

struct api_sqlkind {
    const char *tag; /* statement names: "api_<tag>_..." */
    const struct api_kind *kind;
    const char *alias;            /* of the main table in FROM */
    const char *select;           /* representation columns, then _owner, _project */
    const char *from;             /* "boards b LEFT JOIN ..." */
    const char *scope_col;        /* the project column of 4.6; NULL: list_where scopes */
    const char *list_where;       /* the filters on the extras ($3..); with scope_col NULL
                                     also the scope itself ($1, $2) */
    int nextra;                   /* list parameters after $2 */
    const char *find_vis;         /* visibility of one row for a non-admin: uses $3 */
    const char *find_pref;        /* preferred match of a name (own first): uses $3 */
    const char *uuid_col;         /* the marker / uuid column ("b.uuid") */
    const char *name_col;         /* NULL: no lookup by name */
    const char *const *sort_cols; /* SQL column per kind->sort_keys entry */
};

extern const struct api_sqlkind api_sqlkinds[AC_N];

#endif
