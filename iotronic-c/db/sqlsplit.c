/* db/sqlsplit.c: see sqlsplit.h. A hand-written scanner over bytes; every
 * step advances, so any input terminates. Line numbers count '\n'. */
#include "db/sqlsplit.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

struct scan {
    const char *s;
    size_t len, i;
    int line;
    int paren, begin_depth, nident;
    char idents[4]; /* first letters of the leading CREATE [OR REPLACE] FUNCTION words */
};

static void step(struct scan *sc)
{
    if (sc->s[sc->i] == '\n')
        sc->line++;
    sc->i++;
}

static int at(const struct scan *sc, size_t k, char c)
{
    return sc->i + k < sc->len && sc->s[sc->i + k] == c;
}

static int ident_start(unsigned char c)
{
    return isalpha(c) || c == '_' || c >= 0x80;
}

static int ident_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

static int unterminated(const struct scan *sc, int line, const char *what, struct error *err)
{
    (void)sc;
    return error_set(err, -EINVAL, "line %d: unterminated %s", line, what);
}

/* At "/" "*": skips a (nested) block comment. */
static int skip_block_comment(struct scan *sc, struct error *err)
{
    int line = sc->line, depth = 0;

    while (sc->i < sc->len) {
        if (at(sc, 0, '/') && at(sc, 1, '*')) {
            depth++;
            sc->i += 2;
        } else if (at(sc, 0, '*') && at(sc, 1, '/')) {
            sc->i += 2;
            if (--depth == 0)
                return 0;
        } else {
            step(sc);
        }
    }
    return unterminated(sc, line, "comment", err);
}

static void skip_line_comment(struct scan *sc)
{
    while (sc->i < sc->len && sc->s[sc->i] != '\n')
        sc->i++;
}

/* At the opening quote q: skips to after the closing one. A doubled quote is
 * one character; with backslashes (E'...') a backslash escapes the next. */
static int skip_quoted(struct scan *sc, char q, int backslashes, struct error *err)
{
    int line = sc->line;

    sc->i++;
    while (sc->i < sc->len) {
        char c = sc->s[sc->i];

        if (backslashes && c == '\\' && sc->i + 1 < sc->len) {
            sc->i++;
            step(sc);
        } else if (c == q && at(sc, 1, q)) {
            sc->i += 2;
        } else if (c == q) {
            sc->i++;
            return 0;
        } else {
            step(sc);
        }
    }
    return unterminated(sc, line, q == '"' ? "quoted identifier" : "string", err);
}

/* Length of a dollar-quote delimiter ($$ or $tag$) at i, or 0 when the
 * dollar is something else ($1, a parameter). */
static size_t dollar_tag(const struct scan *sc)
{
    size_t k = sc->i + 1;

    if (k < sc->len && sc->s[k] == '$')
        return 2;
    if (k >= sc->len || !ident_start((unsigned char)sc->s[k]))
        return 0;
    while (k < sc->len && sc->s[k] != '$' && ident_char((unsigned char)sc->s[k]))
        k++;
    return k < sc->len && sc->s[k] == '$' ? k - sc->i + 1 : 0;
}

static int skip_dollar(struct scan *sc, size_t taglen, struct error *err)
{
    const char *tag = sc->s + sc->i;
    int line = sc->line;

    sc->i += taglen;
    while (sc->i < sc->len) {
        if (sc->s[sc->i] == '$' && sc->len - sc->i >= taglen &&
            memcmp(sc->s + sc->i, tag, taglen) == 0) {
            sc->i += taglen;
            return 0;
        }
        step(sc);
    }
    return unterminated(sc, line, "dollar-quoted string", err);
}

/* psql's heuristic: in CREATE [OR REPLACE] FUNCTION|PROCEDURE, BEGIN (and a
 * CASE inside it) opens a block that END closes; semicolons inside do not end
 * the statement. */
static void keyword(struct scan *sc, const char *w, size_t n)
{
    static const char *const tracked[] = {"create", "function", "procedure", "or", "replace"};
    int func;

    if (sc->nident < 4) {
        sc->idents[sc->nident] = 0;
        for (size_t k = 0; k < sizeof(tracked) / sizeof(tracked[0]); k++)
            if (strlen(tracked[k]) == n && strncasecmp(w, tracked[k], n) == 0)
                sc->idents[sc->nident] = tracked[k][0];
    }
    sc->nident++;
    func = sc->idents[0] == 'c' && (sc->idents[1] == 'f' || sc->idents[1] == 'p' ||
                                    (sc->idents[1] == 'o' && sc->idents[2] == 'r' &&
                                     (sc->idents[3] == 'f' || sc->idents[3] == 'p')));
    if (!func || sc->paren != 0)
        return;
    if (n == 5 && strncasecmp(w, "begin", 5) == 0)
        sc->begin_depth++;
    else if (n == 4 && strncasecmp(w, "case", 4) == 0 && sc->begin_depth > 0)
        sc->begin_depth++;
    else if (n == 3 && strncasecmp(w, "end", 3) == 0 && sc->begin_depth > 0)
        sc->begin_depth--;
}

static int word(struct scan *sc, struct error *err)
{
    size_t from = sc->i;

    while (sc->i < sc->len && ident_char((unsigned char)sc->s[sc->i]))
        sc->i++;
    /* E'...' is a string with backslash escapes. */
    if (sc->i - from == 1 && (sc->s[from] == 'E' || sc->s[from] == 'e') && at(sc, 0, '\''))
        return skip_quoted(sc, '\'', 1, err);
    keyword(sc, sc->s + from, sc->i - from);
    return 0;
}

/* One token or character of a statement body. 1 at the terminating ';'. */
static int token(struct scan *sc, struct error *err)
{
    unsigned char c = (unsigned char)sc->s[sc->i];
    size_t tag;

    if (c == '-' && at(sc, 1, '-')) {
        skip_line_comment(sc);
    } else if (c == '/' && at(sc, 1, '*')) {
        return skip_block_comment(sc, err);
    } else if (c == '\'' || c == '"') {
        return skip_quoted(sc, (char)c, 0, err);
    } else if (c == '$' && (tag = dollar_tag(sc)) > 0) {
        return skip_dollar(sc, tag, err);
    } else if (ident_start(c)) {
        return word(sc, err);
    } else if (c == ';' && sc->paren == 0 && sc->begin_depth == 0) {
        sc->i++;
        return 1;
    } else {
        if (c == '(')
            sc->paren++;
        else if (c == ')' && sc->paren > 0)
            sc->paren--;
        step(sc);
    }
    return 0;
}

/* Skips blanks and comments before a statement. */
static int skip_gap(struct scan *sc, struct error *err)
{
    while (sc->i < sc->len) {
        unsigned char c = (unsigned char)sc->s[sc->i];

        if (isspace(c))
            step(sc);
        else if (c == '-' && at(sc, 1, '-'))
            skip_line_comment(sc);
        else if (c == '/' && at(sc, 1, '*')) {
            if (skip_block_comment(sc, err) < 0)
                return -EINVAL;
        } else
            break;
    }
    return 0;
}

void db_sql_init(struct db_sql_cursor *c, const char *text, size_t len)
{
    c->text = text;
    c->len = len;
    c->pos = 0;
    c->line = 1;
}

int db_sql_next(struct db_sql_cursor *c, struct db_sql_span *out, struct error *err)
{
    struct scan sc = {.s = c->text, .len = c->len, .i = c->pos, .line = c->line};
    int rc = skip_gap(&sc, err);

    if (rc < 0)
        return rc;
    if (sc.i >= sc.len) {
        c->pos = sc.i;
        c->line = sc.line;
        return 0;
    }
    out->start = sc.i;
    out->line = sc.line;
    while (sc.i < sc.len && (rc = token(&sc, err)) == 0)
        ;
    if (rc < 0)
        return rc;
    out->end = sc.i;
    c->pos = sc.i;
    c->line = sc.line;
    return 1;
}

int db_sql_line_at(const char *text, const struct db_sql_span *span, int pos)
{
    int line = span->line, chars = 0;

    for (size_t i = span->start; i < span->end; i++) {
        unsigned char b = (unsigned char)text[i];

        if ((b & 0xC0) != 0x80 && ++chars == pos)
            return line;
        if (b == '\n')
            line++;
    }
    return line;
}
