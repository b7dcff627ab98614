/* Unit tests for src/ctr_cgroup: reading a container's cgroup files (the
 * OOM counter of deviceless-api.md 3.5.3 step 6, limits read back by the
 * probe) from fixture trees laid out like v1 and v2 hierarchies. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/xalloc.h"
#include "src/ctr_cgroup.h"
#include "src/fn_fs.h"

#define CG "/lightning-rod/lr-0123456789abcdef"

static void put(const char *root, const char *rel, const char *text)
{
    char *path = xasprintf("%s/%s", root, rel), *dir = xstrdup(path);

    *strrchr(dir, '/') = '\0';
    assert_int_equal(fn_fs_mkdirs(dir, 0755, NULL), 0);
    assert_int_equal(fn_fs_write_file(path, text, strlen(text), 0644, NULL), 0);
    free(dir);
    free(path);
}

static char *fixture(void)
{
    char tmpl[] = "/tmp/test_ctr_cgroup.XXXXXX";

    assert_non_null(mkdtemp(tmpl));
    return xstrdup(tmpl);
}

static struct ctr_cgroup cg_at(const char *root, enum ctr_cg_layout layout)
{
    struct ctr_cgroup cg = {0};

    cg.layout = layout;
    snprintf(cg.root, sizeof(cg.root), "%s", root);
    return cg;
}

static void test_v1_files(void **state)
{
    char *root = fixture();
    struct ctr_cgroup cg = cg_at(root, CTR_CG_V1);
    int64_t v;

    (void)state;
    put(root, "memory" CG "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    put(root, "memory" CG "/memory.limit_in_bytes", "67108864\n");
    put(root, "pids" CG "/pids.max", "64\n");
    put(root, "cpu" CG "/cpu.cfs_quota_us", "-1\n");
    assert_int_equal(ctr_cgroup_oom_kills(&cg, CG, &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(ctr_cgroup_read_limit(&cg, CG, CTR_CG_MEMORY, &v), 0);
    assert_int_equal(v, 67108864);
    assert_int_equal(ctr_cgroup_read_limit(&cg, CG, CTR_CG_PIDS, &v), 0);
    assert_int_equal(v, 64);
    assert_int_equal(ctr_cgroup_read_limit(&cg, CG, CTR_CG_CPU_QUOTA, &v), 0);
    assert_int_equal(v, -1);
    assert_int_equal(ctr_cgroup_oom_kills(&cg, "/lightning-rod/other", &v), -ENOENT);
    assert_string_equal(ctr_cgroup_mode(&cg), "v1");
    cg.private_ns = 1;
    assert_string_equal(ctr_cgroup_mode(&cg), "hybrid-private-ns");
    assert_int_equal(fn_fs_rmtree(root, NULL), 0);
    free(root);
}

static void test_v2_files(void **state)
{
    char *root = fixture();
    struct ctr_cgroup cg = cg_at(root, CTR_CG_V2);
    int64_t v;

    (void)state;
    put(root, CG "/memory.events", "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\noom_group_kill 0\n");
    put(root, CG "/memory.max", "max\n");
    put(root, CG "/pids.max", "16\n");
    put(root, CG "/cpu.max", "10000 100000\n");
    assert_int_equal(ctr_cgroup_oom_kills(&cg, CG, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(ctr_cgroup_read_limit(&cg, CG, CTR_CG_MEMORY, &v), 0);
    assert_int_equal(v, -1);
    assert_int_equal(ctr_cgroup_read_limit(&cg, CG, CTR_CG_CPU_QUOTA, &v), 0);
    assert_int_equal(v, 10000);
    /* Only the "oom_kill" key counts, not "oom" or "oom_group_kill". */
    put(root, CG "/memory.events", "oom 3\noom_group_kill 4\n");
    assert_int_equal(ctr_cgroup_oom_kills(&cg, CG, &v), -ENOENT);
    put(root, CG "/memory.events", "oom_kill x\n");
    assert_int_equal(ctr_cgroup_oom_kills(&cg, CG, &v), -EIO);
    assert_string_equal(ctr_cgroup_mode(&cg), "v2");
    /* A leftover cgroup directory is removed once empty. */
    {
        char *keep = xasprintf("%s/lightning-rod/lr-left/.keep", root);
        char *dir = xasprintf("%s/lightning-rod/lr-left", root);
        struct stat st;

        put(root, "lightning-rod/lr-left/.keep", "");
        unlink(keep);
        ctr_cgroup_remove(&cg, "/lightning-rod/lr-left");
        assert_int_equal(stat(dir, &st), -1);
        free(keep);
        free(dir);
    }
    assert_int_equal(fn_fs_rmtree(root, NULL), 0);
    free(root);
}

static void test_detect_on_a_plain_directory(void **state)
{
    char *root = fixture();
    struct ctr_cgroup cg;

    (void)state;
    ctr_cgroup_detect(root, &cg);
    assert_int_equal(cg.layout, CTR_CG_NONE);
    assert_string_equal(ctr_cgroup_mode(&cg), "none");
    assert_int_equal(ctr_cgroup_oom_kills(&cg, CG, &(int64_t){0}), -ENOENT);
    assert_int_equal(fn_fs_rmtree(root, NULL), 0);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v1_files),
        cmocka_unit_test(test_v2_files),
        cmocka_unit_test(test_detect_on_a_plain_directory),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
