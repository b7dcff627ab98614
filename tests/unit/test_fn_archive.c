/* Unit tests for src/fn_archive: the entry rules of deviceless-api.md 3.1
 * (packages) and 3.2 (runtimes), checked while unpacking real ZIP, tar and
 * tar.gz archives written here with libarchive. */
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/xalloc.h"
#include "src/fn_archive.h"
#include "src/fn_fs.h"

enum kind { F, D, L, H, CHR, FIFO };

struct ent {
    const char *name;
    enum kind kind;
    const char *data; /* file content or link target */
    int mode;         /* 0: 0644 / 0755 */
};

struct fixture {
    char *dir, *archive, *dest;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    char tmpl[] = "/tmp/test_fn_archive.XXXXXX";

    assert_non_null(mkdtemp(tmpl));
    f->dir = xstrdup(tmpl);
    f->archive = xasprintf("%s/a", f->dir);
    f->dest = xasprintf("%s/out", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(fn_fs_rmtree(f->dir, NULL), 0);
    free(f->dir);
    free(f->archive);
    free(f->dest);
    free(f);
    return 0;
}

static void write_archive(const char *path, const char *format, const struct ent *e, size_t n)
{
    struct archive *a = archive_write_new();
    struct archive_entry *ae;

    if (strcmp(format, "zip") == 0) {
        archive_write_set_format_zip(a);
    } else {
        archive_write_set_format_pax_restricted(a);
        if (strcmp(format, "tar.gz") == 0)
            archive_write_add_filter_gzip(a);
    }
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        static const mode_t types[] = {AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFREG, AE_IFCHR, AE_IFIFO};

        ae = archive_entry_new();
        archive_entry_set_pathname(ae, e[i].name);
        archive_entry_set_filetype(ae, types[e[i].kind]);
        archive_entry_set_perm(ae, e[i].mode ? e[i].mode : (e[i].kind == D ? 0755 : 0644));
        if (e[i].kind == L)
            archive_entry_set_symlink(ae, e[i].data);
        if (e[i].kind == H)
            archive_entry_set_hardlink(ae, e[i].data);
        if (e[i].kind == CHR)
            archive_entry_set_rdev(ae, makedev(1, 3));
        if (e[i].kind == F)
            archive_entry_set_size(ae, (la_int64_t)strlen(e[i].data));
        assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
        if (e[i].kind == F)
            archive_write_data(a, e[i].data, strlen(e[i].data));
        archive_entry_free(ae);
    }
    archive_write_close(a);
    archive_write_free(a);
}

static const struct fn_archive_limits lim = {1 << 20, 100};

static int unpack(struct fixture *f, enum fn_archive_kind k, struct fn_unpacked *u,
                  struct error *err)
{
    assert_int_equal(fn_fs_rmtree(f->dest, NULL), 0);
    error_clear(err);
    return fn_archive_unpack(f->archive, f->dest, k, &lim, u, err);
}

static char *slurp(const char *dir, const char *rel)
{
    char *p = xasprintf("%s/%s", dir, rel), *text = NULL;
    size_t len;

    if (fn_fs_read_file(p, 65536, &text, &len, NULL) < 0)
        text = NULL;
    free(p);
    return text;
}

static mode_t mode_of(const char *dir, const char *rel)
{
    char *p = xasprintf("%s/%s", dir, rel);
    struct stat st;

    assert_int_equal(lstat(p, &st), 0);
    free(p);
    return st.st_mode;
}

static void test_zip_package_unpacks_read_only(void **state)
{
    struct fixture *f = *state;
    const struct ent e[] = {{"main.sh", F, "echo hi\n", 0755},
                            {"lib/", D, NULL, 0},
                            {"lib/util.py", F, "x = 1\n", 0600},
                            {"lib/link", L, "util.py", 0}};
    struct fn_unpacked u;
    struct error err;
    char *text;

    write_archive(f->archive, "zip", e, 4);
    assert_int_equal(unpack(f, FN_ARCHIVE_PACKAGE, &u, &err), 0);
    assert_string_equal(u.format, "zip");
    assert_int_equal(u.entries, 4);
    assert_null(u.runtime_json);
    text = slurp(f->dest, "lib/util.py");
    assert_string_equal(text, "x = 1\n");
    free(text);
    assert_true(S_ISLNK(mode_of(f->dest, "lib/link")));
    assert_int_equal(mode_of(f->dest, "main.sh") & 07777, 0555);
    assert_int_equal(mode_of(f->dest, "lib/util.py") & 07777, 0444); /* readable by all */
    assert_int_equal(mode_of(f->dest, "lib") & 07777, 0555);
    assert_int_equal(mode_of(f->dest, ".") & 07777, 0555);
}

static void check_refused(struct fixture *f, const char *format, const struct ent *e, size_t n,
                          enum fn_archive_kind k, int code, const char *msg)
{
    struct fn_unpacked u;
    struct error err;

    write_archive(f->archive, format, e, n);
    assert_int_equal(unpack(f, k, &u, &err), code);
    if (strcmp(err.msg, msg) != 0)
        fail_msg("\"%s\" != \"%s\"", err.msg, msg);
}

static void test_package_entry_rules(void **state)
{
    struct fixture *f = *state;
    struct {
        struct ent e[3];
        size_t n;
        const char *msg;
    } cases[] = {
        {{{"../x", F, "x", 0}}, 1, "Package entry ../x is not allowed: '..' component."},
        {{{"a/../../x", F, "x", 0}}, 1, "Package entry a/../../x is not allowed: '..' component."},
        {{{"/etc/x", F, "x", 0}}, 1, "Package entry /etc/x is not allowed: absolute path."},
        {{{"l", L, "/etc/passwd", 0}},
         1,
         "Package entry l is not allowed: link leads outside the package."},
        {{{"l", L, "../x", 0}},
         1,
         "Package entry l is not allowed: link leads outside the package."},
        {{{"a/l", L, "b/../../..", 0}},
         1,
         "Package entry a/l is not allowed: link leads outside the package."},
        {{{"a", F, "x", 0}, {"b", H, "a", 0}}, 2, "Package entry b is not allowed: hard link."},
        {{{"dev", CHR, NULL, 0}}, 1, "Package entry dev is not allowed: device node."},
        {{{"p", FIFO, NULL, 0}}, 1, "Package entry p is not allowed: FIFO."},
        {{{"s", F, "x", 04755}}, 1, "Package entry s is not allowed: set-uid or set-gid bit."},
        {{{"g", F, "x", 02755}}, 1, "Package entry g is not allowed: set-uid or set-gid bit."},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_refused(f, "tar.gz", cases[i].e, cases[i].n, FN_ARCHIVE_PACKAGE, -EINVAL,
                      cases[i].msg);
}

static void test_links_inside_are_fine(void **state)
{
    struct fixture *f = *state;
    const struct ent e[] = {
        {"data", F, "d", 0}, {"a/b/l", L, "../../data", 0}, {"a/self", L, ".", 0}};
    struct fn_unpacked u;
    struct error err;
    char *text;

    write_archive(f->archive, "tar.gz", e, 3);
    assert_int_equal(unpack(f, FN_ARCHIVE_PACKAGE, &u, &err), 0);
    /* Resolved by the kernel, as a container would. */
    text = xasprintf("%s/a/b/l", f->dest);
    {
        char real[4096];

        assert_non_null(realpath(text, real));
        free(text);
        text = xasprintf("%s/data", f->dest);
        assert_string_equal(real, text);
    }
    free(text);
}

static void test_nothing_is_written_through_a_link(void **state)
{
    struct fixture *f = *state;
    const struct ent e[] = {{"sub/", D, NULL, 0}, {"d", L, "sub", 0}, {"d/f", F, "through", 0}};
    char *p;
    struct stat st;

    check_refused(f, "tar", e, 3, FN_ARCHIVE_RUNTIME, -EINVAL,
                  "Runtime image entry d/f is not allowed: its directory is not a directory.");
    p = xasprintf("%s/tree/sub/f", f->dest);
    assert_int_equal(stat(p, &st), -1);
    free(p);
}

static void test_limits(void **state)
{
    struct fixture *f = *state;
    struct ent many[101];
    char names[101][16];
    char *big = xmalloc((1 << 20) + 2);

    for (int i = 0; i < 101; i++) {
        snprintf(names[i], sizeof(names[i]), "f%d", i);
        many[i] = (struct ent){names[i], F, "", 0};
    }
    check_refused(f, "tar.gz", many, 101, FN_ARCHIVE_PACKAGE, -EFBIG,
                  "Package has more than 100 entries.");
    check_refused(f, "tar.gz", many, 100, FN_ARCHIVE_PACKAGE, 0, "");
    memset(big, 'a', (1 << 20) + 1);
    big[(1 << 20) + 1] = '\0';
    {
        const struct ent e[] = {{"big", F, big, 0}};

        check_refused(f, "zip", e, 1, FN_ARCHIVE_PACKAGE, -EFBIG,
                      "Package unpacks to more than 1048576 bytes.");
    }
    big[1 << 20] = '\0';
    {
        const struct ent e[] = {{"big", F, big, 0}};

        check_refused(f, "zip", e, 1, FN_ARCHIVE_PACKAGE, 0, "");
    }
    free(big);
}

static void test_format_detection(void **state)
{
    struct fixture *f = *state;
    char fmt[FN_ARCHIVE_FORMAT_MAX];
    struct error err;
    const struct ent e[] = {{"x", F, "x", 0}};

    assert_int_equal(fn_fs_write_file(f->archive, "hello world", 11, 0600, NULL), 0);
    assert_int_equal(fn_archive_detect(f->archive, FN_ARCHIVE_PACKAGE, fmt, &err), -EINVAL);
    assert_string_equal(err.msg, "Package is not a valid ZIP or tar.gz package.");
    assert_int_equal(fn_archive_detect(f->archive, FN_ARCHIVE_RUNTIME, fmt, &err), -EINVAL);
    assert_string_equal(err.msg, "Runtime image is not a tar or tar.gz archive.");
    write_archive(f->archive, "tar", e, 1);
    assert_int_equal(fn_archive_detect(f->archive, FN_ARCHIVE_PACKAGE, fmt, &err), -EINVAL);
    assert_int_equal(fn_archive_detect(f->archive, FN_ARCHIVE_RUNTIME, fmt, &err), 0);
    assert_string_equal(fmt, "tar");
    /* gzip around something that is not tar */
    assert_int_equal(fn_fs_write_file(f->archive, "\x1f\x8b garbage", 10, 0600, NULL), 0);
    assert_int_equal(fn_archive_detect(f->archive, FN_ARCHIVE_PACKAGE, fmt, &err), 0);
    assert_string_equal(fmt, "tar.gz");
}

static void test_runtime_bundle(void **state)
{
    struct fixture *f = *state;
    const struct ent e[] = {
        {"runtime.json", F, "{\"entrypoint\": [\"/bin/sh\"], \"cwd\": \"/code\"}", 0},
        {"rootfs/bin/busybox", F, "ELF", 0755},
        {"rootfs/bin/sh", L, "busybox", 0},
        {"rootfs/bin/su", F, "x", 04755},
        {"rootfs/bin/ln", H, "rootfs/bin/busybox", 0},
        {"rootfs/etc/localtime", L, "/usr/share/zoneinfo/UTC", 0},
        {"rootfs/dev/null", CHR, NULL, 0},
        {"rootfs/fifo", FIFO, NULL, 0},
        {"junk", F, "not part of the rootfs", 0},
    };
    struct fn_unpacked u;
    struct error err;
    char *root = xasprintf("%s/rootfs", f->dest), *json;
    struct stat st;

    write_archive(f->archive, "tar.gz", e, sizeof(e) / sizeof(e[0]));
    assert_int_equal(unpack(f, FN_ARCHIVE_RUNTIME, &u, &err), 0);
    assert_string_equal(u.format, "tar.gz");
    assert_non_null(u.runtime_json);
    assert_string_equal(cJSON_GetObjectItem(u.runtime_json, "cwd")->valuestring, "/code");
    cJSON_Delete(u.runtime_json);
    json = slurp(f->dest, "runtime.json");
    assert_non_null(json); /* kept beside rootfs/ for a restart */
    free(json);
    assert_int_equal(mode_of(root, "bin/su") & 07777, 0555); /* set-uid cleared */
    assert_true(S_ISLNK(mode_of(root, "etc/localtime")));    /* absolute: kept */
    assert_int_equal(mode_of(root, "bin/ln") & 07777, 0555);
    {
        char *p = xasprintf("%s/dev/null", root), *q = xasprintf("%s/fifo", root);

        assert_int_equal(lstat(p, &st), -1); /* device nodes are skipped */
        assert_int_equal(lstat(q, &st), -1);
        free(p);
        free(q);
    }
    for (const char *mp = "proc\0sys\0dev\0tmp\0code\0run/function\0run/iotronic\0"; *mp;
         mp += strlen(mp) + 1)
        assert_true(S_ISDIR(mode_of(root, mp)));
    json = xasprintf("%s/junk", f->dest);
    assert_int_equal(access(json, F_OK), -1);
    free(json);
    free(root);
}

static void test_plain_runtime_and_bad_config(void **state)
{
    struct fixture *f = *state;
    const struct ent plain[] = {{"bin/true", F, "ELF", 0755}};
    const struct ent bad[] = {{"runtime.json", F, "[1]", 0}, {"rootfs/", D, NULL, 0}};
    const struct ent blocked[] = {{"tmp", F, "a file where /tmp should be", 0}};
    const struct ent escape[] = {{"bin/l", L, "../../etc", 0}};
    struct fn_unpacked u;
    struct error err;
    char *root = xasprintf("%s/rootfs", f->dest);

    write_archive(f->archive, "tar", plain, 1);
    assert_int_equal(unpack(f, FN_ARCHIVE_RUNTIME, &u, &err), 0);
    assert_null(u.runtime_json);
    assert_int_equal(mode_of(root, "bin/true") & 07777, 0555);
    check_refused(f, "tar", bad, 2, FN_ARCHIVE_RUNTIME, -EINVAL,
                  "Invalid runtime image: runtime.json is not a JSON object");
    check_refused(f, "tar", blocked, 1, FN_ARCHIVE_RUNTIME, -EINVAL,
                  "Invalid runtime image: /tmp is not a directory.");
    check_refused(f, "tar", escape, 1, FN_ARCHIVE_RUNTIME, -EINVAL,
                  "Runtime image entry bin/l is not allowed: link leads outside the root.");
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_zip_package_unpacks_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_package_entry_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_links_inside_are_fine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_is_written_through_a_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format_detection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runtime_bundle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_runtime_and_bad_config, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
