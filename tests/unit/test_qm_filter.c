/* Unit tests for qmodel/filter: list filters with operators (1.6). The SQL
 * holds only fixed text and placeholders; values are parameters. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "qmodel/filter.h"

static const struct qm_filter_field F[] = {
    {"status", "e.status", QM_F_STR},
    {"function_id", "e.function_id", QM_F_UUID},
    {"function_version", "e.function_version", QM_F_INT},
    {"created_at", "e.created_at", QM_F_TIME},
    {"sync", "e.sync", QM_F_BOOL},
};
#define NF (sizeof(F) / sizeof(F[0]))

static void expect(const char *name, const char *value, const char *sql, const char *param)
{
    struct qm_where w;
    struct error err;

    qm_where_init(&w, 3);
    if (qm_filter_add(&w, F, NF, name, value, &err) != 0)
        fail_msg("%s=%s: %s", name, value, err.msg);
    assert_string_equal(w.sql.data, sql);
    assert_int_equal(w.nparams, 1);
    assert_string_equal(w.params[0], param);
    qm_where_free(&w);
}

static void test_operators(void **state)
{
    (void)state;
    expect("status", "success", " AND e.status COLLATE \"C\" = $3", "success");
    expect("status", "eq:success", " AND e.status COLLATE \"C\" = $3", "success");
    expect("status", "neq:failed", " AND e.status COLLATE \"C\" <> $3", "failed");
    expect("status", "in:success,failed", " AND e.status = ANY(string_to_array($3, ','))",
           "success,failed");
    expect("status", "nin:error", " AND NOT e.status = ANY(string_to_array($3, ','))", "error");
    expect("status", "has:%_x", " AND strpos(e.status, $3) > 0", "%_x");
    expect("status", "gt:a", " AND e.status COLLATE \"C\" > $3", "a");
    expect("function_id", "4C1A5E0E5E4B4F4E9D2A6C7B1F0E2D3C", " AND e.function_id = $3::uuid",
           "4c1a5e0e-5e4b-4f4e-9d2a-6c7b1f0e2d3c");
    expect("function_id",
           "in:4c1a5e0e-5e4b-4f4e-9d2a-6c7b1f0e2d3c,00000000000000000000000000000000",
           " AND e.function_id = ANY(string_to_array($3, ',')::uuid[])",
           "4c1a5e0e-5e4b-4f4e-9d2a-6c7b1f0e2d3c,00000000-0000-0000-0000-000000000000");
    expect("function_version", "gte:2", " AND e.function_version >= $3::bigint", "2");
    expect("created_at", "lt:2026-11-25 10:00", " AND e.created_at < $3::timestamptz",
           "2026-11-25T10:00:00.000000Z");
    /* a colon inside a time is not an operator */
    expect("created_at", "2026-11-25T10:00:00Z", " AND e.created_at = $3::timestamptz",
           "2026-11-25T10:00:00.000000Z");
    expect("sync", "yes", " AND e.sync = $3::boolean", "true");
}

static void test_refusals(void **state)
{
    static const struct {
        const char *name, *value, *msg;
    } bad[] = {
        {"color", "red", "Unknown argument: \"color\""},
        {"function_id", "nope", "Invalid value nope for filter function_id."},
        {"function_id", "has:4c1a", "Invalid value has:4c1a for filter function_id."},
        {"function_version", "in:1,x", "Invalid value in:1,x for filter function_version."},
        {"created_at", "gt:yesterday", "Invalid value gt:yesterday for filter created_at."},
        {"sync", "gt:true", "Invalid value gt:true for filter sync."},
    };
    struct qm_where w;
    struct error err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        qm_where_init(&w, 1);
        assert_true(qm_filter_add(&w, F, NF, bad[i].name, bad[i].value, &err) < 0);
        assert_string_equal(err.msg, bad[i].msg);
        assert_int_equal(w.nparams, 0);
        qm_where_free(&w);
    }
}

static void test_parameters_number_on(void **state)
{
    struct qm_where w;
    struct error err;

    (void)state;
    qm_where_init(&w, 1);
    assert_int_equal(qm_where_addp(&w, "e.project_id = $?", "p"), 0);
    assert_int_equal(qm_filter_add(&w, F, NF, "status", "x", &err), 0);
    assert_string_equal(w.sql.data, " AND e.project_id = $1 AND e.status COLLATE \"C\" = $2");
    qm_where_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_parameters_number_on),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
