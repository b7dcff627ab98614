/* Unit tests for db/sqlsplit: what hides a semicolon, where statements start,
 * and PostgreSQL's character positions turned into file lines. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db/sqlsplit.h"

#define MAX_STMTS 8

/* Splits text; returns the count, and each statement's text and line. */
static int split(const char *text, char out[MAX_STMTS][256], int lines[MAX_STMTS])
{
    struct db_sql_cursor c;
    struct db_sql_span span;
    struct error err;
    int n = 0, rc;

    db_sql_init(&c, text, strlen(text));
    while ((rc = db_sql_next(&c, &span, &err)) == 1) {
        assert_true(n < MAX_STMTS);
        assert_true(span.end > span.start && span.end - span.start < 256);
        memcpy(out[n], text + span.start, span.end - span.start);
        out[n][span.end - span.start] = '\0';
        lines[n++] = span.line;
    }
    assert_int_equal(rc, 0);
    return n;
}

static const struct {
    const char *text;
    int n;
    const char *first, *last;
    int first_line, last_line;
} cases[] = {
    {"", 0, NULL, NULL, 0, 0},
    {"  \n-- only a comment\n/* and /* nested */ another */\n", 0, NULL, NULL, 0, 0},
    {"SELECT 1;SELECT 2;", 2, "SELECT 1;", "SELECT 2;", 1, 1},
    {"SELECT 1", 1, "SELECT 1", "SELECT 1", 1, 1},
    {"-- head\n\nCREATE TABLE t (a int);\n\n  INSERT INTO t VALUES (1);\n", 2,
     "CREATE TABLE t (a int);", "INSERT INTO t VALUES (1);", 3, 5},
    {"SELECT 'a;b''c;';SELECT 2;", 2, "SELECT 'a;b''c;';", "SELECT 2;", 1, 1},
    {"SELECT E'it\\'s;';SELECT 3;", 2, "SELECT E'it\\'s;';", "SELECT 3;", 1, 1},
    {"SELECT \"we;ird\"\"x\" FROM t;SELECT 4;", 2, "SELECT \"we;ird\"\"x\" FROM t;", "SELECT 4;", 1,
     1},
    {"SELECT 1 -- no ; here\n;SELECT 5;", 2, "SELECT 1 -- no ; here\n;", "SELECT 5;", 1, 2},
    {"SELECT /* ; /* ; */ ; */ 1;", 1, "SELECT /* ; /* ; */ ; */ 1;", NULL, 1, 1},
    {"CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;\n"
     "SELECT 6;",
     2, "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql;",
     "SELECT 6;", 1, 2},
    {"DO $body$ BEGIN PERFORM 1; END $body$;SELECT $1;", 2,
     "DO $body$ BEGIN PERFORM 1; END $body$;", "SELECT $1;", 1, 1},
    {"CREATE OR REPLACE FUNCTION g() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n"
     "  SELECT CASE WHEN true THEN 1 END;\n  SELECT 2;\nEND;\nSELECT 7;",
     2,
     "CREATE OR REPLACE FUNCTION g() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n"
     "  SELECT CASE WHEN true THEN 1 END;\n  SELECT 2;\nEND;",
     "SELECT 7;", 1, 6},
    {"BEGIN;\nSELECT 8;\nEND;", 3, "BEGIN;", "END;", 1, 3},
    {"CREATE RULE r AS ON INSERT TO t DO (INSERT INTO u VALUES (1); INSERT INTO v VALUES (2));"
     "SELECT 9;",
     2, "CREATE RULE r AS ON INSERT TO t DO (INSERT INTO u VALUES (1); INSERT INTO v VALUES (2));",
     "SELECT 9;", 1, 1},
};

static void test_split_table(void **state)
{
    char out[MAX_STMTS][256];
    int lines[MAX_STMTS];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int n = split(cases[i].text, out, lines);

        print_message("# case %zu\n", i);
        assert_int_equal(n, cases[i].n);
        if (n == 0)
            continue;
        assert_string_equal(out[0], cases[i].first);
        assert_int_equal(lines[0], cases[i].first_line);
        if (cases[i].last != NULL)
            assert_string_equal(out[n - 1], cases[i].last);
        assert_int_equal(lines[n - 1], cases[i].last_line);
    }
}

static void test_unterminated_names_line(void **state)
{
    static const struct {
        const char *text;
        const char *msg;
    } bad[] = {
        {"SELECT 1;\nSELECT 'abc;\n", "line 2: unterminated string"},
        {"SELECT 1;\n\n/* open", "line 3: unterminated comment"},
        {"SELECT $x$ never closed", "line 1: unterminated dollar-quoted string"},
        {"SELECT \"id", "line 1: unterminated quoted identifier"},
        {"SELECT E'\\'", "line 1: unterminated string"},
    };
    struct db_sql_cursor c;
    struct db_sql_span span;
    struct error err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc;

        db_sql_init(&c, bad[i].text, strlen(bad[i].text));
        while ((rc = db_sql_next(&c, &span, &err)) == 1)
            ;
        assert_int_equal(rc, -EINVAL);
        assert_string_equal(err.msg, bad[i].msg);
    }
}

/* PostgreSQL counts positions in characters: multi-byte UTF-8 counts once. */
static void test_line_at_counts_characters(void **state)
{
    const char *text = "-- x\nINSERT INTO t\n  VALUES (1);\nSELECT '\xc3\xa9\xe2\x82\xac'\n"
                       "  FROM nope;";
    struct db_sql_cursor c;
    struct db_sql_span span;
    struct error err;

    (void)state;
    db_sql_init(&c, text, strlen(text));
    assert_int_equal(db_sql_next(&c, &span, &err), 1);
    assert_int_equal(span.line, 2);
    assert_int_equal(db_sql_line_at(text, &span, 1), 2);
    assert_int_equal(db_sql_line_at(text, &span, 14), 2); /* the newline itself */
    assert_int_equal(db_sql_line_at(text, &span, 15), 3);
    assert_int_equal(db_sql_line_at(text, &span, 9999), 3);
    assert_int_equal(db_sql_next(&c, &span, &err), 1);
    assert_int_equal(span.line, 4);
    /* "SELECT 'é€'" is 11 characters but 14 bytes: "nope" is character 20. */
    assert_int_equal(db_sql_line_at(text, &span, 11), 4);
    assert_int_equal(db_sql_line_at(text, &span, 12), 4);
    assert_int_equal(db_sql_line_at(text, &span, 13), 5);
    assert_int_equal(db_sql_line_at(text, &span, 20), 5);
    assert_int_equal(db_sql_next(&c, &span, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_table),
        cmocka_unit_test(test_unterminated_names_line),
        cmocka_unit_test(test_line_at_counts_characters),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
