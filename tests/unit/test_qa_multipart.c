/* Unit tests for qapi/multipart: form-data bodies as python-qinlingclient
 * sends them, and malformed ones. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "qapi/multipart.h"

struct seen {
    int n;
    struct qa_part parts[8];
};

static int collect(void *arg, const struct qa_part *p)
{
    struct seen *s = arg;

    if (s->n < 8)
        s->parts[s->n] = *p;
    s->n++;
    return 0;
}

static void test_boundary(void **state)
{
    char b[QA_MP_BOUNDARY_MAX + 1];

    (void)state;
    assert_int_equal(qa_multipart_boundary("multipart/form-data; boundary=abc123", b), 0);
    assert_string_equal(b, "abc123");
    assert_int_equal(qa_multipart_boundary("multipart/form-data; charset=x; boundary=\"a b\"", b),
                     0);
    assert_string_equal(b, "a b");
    assert_int_equal(qa_multipart_boundary("multipart/form-data", b), -EINVAL);
    assert_int_equal(qa_multipart_boundary("multipart/form-data; boundary=", b), -EINVAL);
    assert_int_equal(qa_multipart_boundary(NULL, b), -EINVAL);
}

static void test_parts_with_binary_file(void **state)
{
    static const char body[] = "--XyZ\r\n"
                               "Content-Disposition: form-data; name=\"code\"\r\n\r\n"
                               "{\"source\": \"package\"}\r\n"
                               "--XyZ\r\n"
                               "Content-Disposition: form-data; name=\"package\"; "
                               "filename=\"f.zip\"\r\n"
                               "Content-Type: application/octet-stream\r\n\r\n"
                               "PK\x03\x04\0\r\n--X\0\xff\r\n"
                               "--XyZ--\r\n";
    struct seen s = {0};
    struct error err;

    (void)state;
    assert_int_equal(qa_multipart_parse(body, sizeof(body) - 1, "XyZ", collect, &s, &err), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.parts[0].name, "code");
    assert_false(s.parts[0].has_filename);
    assert_int_equal(s.parts[0].len, strlen("{\"source\": \"package\"}"));
    assert_memory_equal(s.parts[0].data, "{\"source\": \"package\"}", s.parts[0].len);
    assert_string_equal(s.parts[1].name, "package");
    assert_true(s.parts[1].has_filename);
    assert_int_equal(s.parts[1].len, 12);
    assert_memory_equal(s.parts[1].data, "PK\x03\x04\0\r\n--X\0\xff", 12);
}

static void test_malformed(void **state)
{
    static const char *const bad[] = {
        "no boundary here",
        "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue", /* never closed */
        "--B\r\nContent-Type: text/plain\r\n\r\nv\r\n--B--\r\n",          /* no disposition */
        "--B\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nv\r\n--B--\r\n",
        "--B\r\nContent-Disposition: form-data\r\n\r\nv\r\n--B--\r\n", /* no name */
        "--Bjunk\r\n",
    };
    struct seen s;
    struct error err;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&s, 0, sizeof(s));
        if (qa_multipart_parse(bad[i], strlen(bad[i]), "B", collect, &s, &err) != -EINVAL)
            fail_msg("accepted case %zu", i);
    }
}

static void test_part_limit(void **state)
{
    char body[65536];
    size_t n = 0;
    struct seen s = {0};
    struct error err;

    (void)state;
    for (int i = 0; i <= QA_MP_MAX_PARTS; i++)
        n +=
            (size_t)snprintf(body + n, sizeof(body) - n,
                             "--B\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv\r\n", i);
    n += (size_t)snprintf(body + n, sizeof(body) - n, "--B--\r\n");
    assert_int_equal(qa_multipart_parse(body, n, "B", collect, &s, &err), -EINVAL);
    assert_int_equal(s.n, QA_MP_MAX_PARTS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundary),
        cmocka_unit_test(test_parts_with_binary_file),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_part_limit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
