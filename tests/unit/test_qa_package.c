/* Unit tests for qapi/package: the package rules of deviceless-api.md 3.1,
 * on archives written here with libarchive's writer. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "qapi/package.h"
#include "qmodel/fault.h"

struct ent {
    const char *name;
    mode_t type;
    mode_t perm;
    const char *data; /* file content, or link target */
    int hardlink;
};

static size_t make(int zip, const struct ent *e, size_t n, unsigned char *buf, size_t cap)
{
    struct archive *a = archive_write_new();
    size_t used = 0;

    if (zip) {
        archive_write_set_format_zip(a);
    } else {
        archive_write_set_format_pax_restricted(a);
        archive_write_add_filter_gzip(a);
    }
    assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *en = archive_entry_new();

        archive_entry_set_pathname(en, e[i].name);
        archive_entry_set_filetype(en, e[i].type);
        archive_entry_set_perm(en, e[i].perm);
        if (e[i].hardlink)
            archive_entry_set_hardlink(en, e[i].data);
        else if (e[i].type == AE_IFLNK)
            archive_entry_set_symlink(en, e[i].data);
        else if (e[i].type == AE_IFREG)
            archive_entry_set_size(en, (la_int64_t)strlen(e[i].data));
        if (e[i].type == AE_IFCHR)
            archive_entry_set_rdev(en, 0x0103);
        assert_int_equal(archive_write_header(a, en), ARCHIVE_OK);
        if (e[i].type == AE_IFREG && !e[i].hardlink)
            archive_write_data(a, e[i].data, strlen(e[i].data));
        archive_entry_free(en);
    }
    archive_write_close(a);
    archive_write_free(a);
    return used;
}

static const struct qa_pkg_limits LIM = {1 << 20, 100};

static void test_good_packages(void **state)
{
    static const struct ent good[] = {
        {"main.sh", AE_IFREG, 0755, "echo hi\n", 0},   {"lib/", AE_IFDIR, 0755, NULL, 0},
        {"lib/util.py", AE_IFREG, 0644, "x = 1\n", 0}, {"lib/link", AE_IFLNK, 0777, "util.py", 0},
        {"up", AE_IFLNK, 0777, "lib/../main.sh", 0},
    };
    static unsigned char buf[65536];
    struct qa_pkg pkg;
    struct error err;
    size_t n;

    (void)state;
    for (int zip = 0; zip < 2; zip++) {
        n = make(zip, good, 5, buf, sizeof(buf));
        if (qa_package_check(buf, n, &LIM, &pkg, &err) != 0)
            fail_msg("%s: %s", zip ? "zip" : "tar.gz", err.msg);
        assert_string_equal(pkg.format, zip ? "zip" : "tar.gz");
        assert_int_equal(pkg.size, (int64_t)n);
        assert_int_equal(strlen(pkg.md5), 32);
        assert_int_equal(strlen(pkg.sha256), 64);
    }
    /* An empty ZIP is its end-of-directory record alone. */
    n = make(1, NULL, 0, buf, sizeof(buf));
    assert_int_equal(buf[2], 5);
    assert_int_equal(qa_package_check(buf, n, &LIM, &pkg, &err), 0);
}

static void expect_refused(int zip, const struct ent *e, const char *msg)
{
    static unsigned char buf[65536];
    struct qa_pkg pkg;
    struct error err;
    size_t n = make(zip, e, 1, buf, sizeof(buf));

    assert_int_equal(qa_package_check(buf, n, &LIM, &pkg, &err), -EINVAL);
    assert_int_equal(qm_errno_status(err.code), 400);
    if (strcmp(err.msg, msg) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", zip ? "zip" : "tar.gz", err.msg, msg);
}

static void test_refused_entries(void **state)
{
    static const struct {
        struct ent e;
        const char *msg;
        int tar_only;
    } cases[] = {
        {{"/etc/passwd", AE_IFREG, 0644, "x", 0},
         "Package entry /etc/passwd is not allowed: absolute paths are not allowed.",
         0},
        {{"a/../../x", AE_IFREG, 0644, "x", 0},
         "Package entry a/../../x is not allowed: \"..\" components are not allowed.",
         0},
        {{"esc", AE_IFLNK, 0777, "../outside", 0},
         "Package entry esc is not allowed: links leading outside the package are not allowed.",
         0},
        {{"abs", AE_IFLNK, 0777, "/etc/shadow", 0},
         "Package entry abs is not allowed: links leading outside the package are not allowed.",
         0},
        {{"suid", AE_IFREG, 04755, "x", 0},
         "Package entry suid is not allowed: set-uid or set-gid bits are not allowed.",
         0},
        {{"hard", AE_IFREG, 0644, "main.sh", 1},
         "Package entry hard is not allowed: hard links are not allowed.",
         1},
        {{"dev", AE_IFCHR, 0644, NULL, 0},
         "Package entry dev is not allowed: device nodes are not allowed.",
         1},
        {{"fifo", AE_IFIFO, 0644, NULL, 0},
         "Package entry fifo is not allowed: FIFOs are not allowed.",
         1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect_refused(0, &cases[i].e, cases[i].msg);
        if (!cases[i].tar_only)
            expect_refused(1, &cases[i].e, cases[i].msg);
    }
}

static void test_formats_and_limits(void **state)
{
    static unsigned char buf[1 << 21];
    static const char junk[] = "this is not an archive at all";
    static const unsigned char fake_gz[] = {0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4, 5, 6, 7};
    static struct ent big = {"big", AE_IFREG, 0644, NULL, 0};
    struct qa_pkg_limits tiny = {10, 1};
    struct ent two[2] = {{"a", AE_IFREG, 0644, "1", 0}, {"b", AE_IFREG, 0644, "2", 0}};
    char *data = malloc(4096);
    struct qa_pkg pkg;
    struct error err;
    size_t n;

    (void)state;
    assert_int_equal(qa_package_check(junk, sizeof(junk), &LIM, &pkg, &err), -EINVAL);
    assert_string_equal(err.msg, "Package is not a valid ZIP or tar.gz package.");
    assert_int_equal(qa_package_check(fake_gz, sizeof(fake_gz), &LIM, &pkg, &err), -EINVAL);
    assert_string_equal(err.msg, "Package is not a valid ZIP or tar.gz package.");
    /* Over 50 MiB: 413 before anything is read. */
    assert_int_equal(qm_errno_status(qa_package_check(buf, 52428801, &LIM, &pkg, &err)), 413);
    assert_string_equal(err.msg, "Package size exceeds 52428800 bytes.");
    memset(data, 'a', 4095);
    data[4095] = '\0';
    big.data = data;
    n = make(1, &big, 1, buf, sizeof(buf));
    assert_int_equal(qa_package_check(buf, n, &tiny, &pkg, &err), -EINVAL);
    assert_string_equal(err.msg,
                        "Package entry big is not allowed: the package exceeds 10 bytes unpacked.");
    n = make(0, two, 2, buf, sizeof(buf));
    assert_int_equal(qa_package_check(buf, n, &tiny, &pkg, &err), -EINVAL);
    assert_string_equal(err.msg,
                        "Package entry b is not allowed: the package has more than 1 entries.");
    free(data);
}

static void test_link_rules(void **state)
{
    (void)state;
    assert_null(qa_link_problem("a/b/l", "../c", 0));
    assert_null(qa_link_problem("./l", "./x", 0));
    assert_non_null(qa_link_problem("l", "..", 0));
    assert_non_null(qa_link_problem("a/l", "../../x", 0));
    assert_null(qa_link_problem("a/l", "/usr/bin/x", 1));
    assert_non_null(qa_link_problem("a/l", "", 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_packages),
        cmocka_unit_test(test_refused_entries),
        cmocka_unit_test(test_formats_and_limits),
        cmocka_unit_test(test_link_rules),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
