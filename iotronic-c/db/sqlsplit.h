/* db/sqlsplit.h: cuts an SQL script into statements, the way psql does.
 *
 * The migration runner executes a file one statement at a time so that a
 * failure can be reported as file:line even when PostgreSQL gives no error
 * position (a failing constraint, a division by zero). The scanner knows
 * what can hide a semicolon: 'strings' (with '' and, in E'...', backslash
 * escapes), "identifiers", $tag$ dollar quotes $tag$, -- and nested block
 * comments, parentheses, and the BEGIN ... END body of a CREATE FUNCTION or
 * PROCEDURE written in SQL-standard form (the heuristic psql uses). Pure: no
 * allocation, any thread. */
#ifndef IOT_DB_SQLSPLIT_H
#define IOT_DB_SQLSPLIT_H

#include <stddef.h>

#include "common/error.h"

struct db_sql_cursor {
    const char *text;
    size_t len;
    size_t pos; /* where the next statement search starts */
    int line;   /* 1-based line at pos */
};

struct db_sql_span {
    size_t start; /* byte offset of the statement's first token */
    size_t end;   /* one past its ';', or the end of the text */
    int line;     /* 1-based line of start */
};

void db_sql_init(struct db_sql_cursor *c, const char *text, size_t len);

/* Finds the next statement. Returns 1 with *out set, 0 when only blanks and
 * comments remain, or -EINVAL ("line N: unterminated ...") when a quote or
 * comment never ends. */
int db_sql_next(struct db_sql_cursor *c, struct db_sql_span *out, struct error *err) IOT_WUR;

/* The 1-based line in text of the character at 1-based position pos within
 * the statement (PostgreSQL counts error positions in characters, not
 * bytes). A position past the statement gives its last line. */
int db_sql_line_at(const char *text, const struct db_sql_span *span, int pos);

#endif
