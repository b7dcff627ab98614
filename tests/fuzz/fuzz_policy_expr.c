/* libFuzzer target for the oslo.policy language (auth/policy_expr.h) and
 * the flat YAML policy files (auth/policy_yaml.h): what operators write.
 *
 * Promises checked (abort() marks a broken one):
 *   - a refused expression or file comes with a message;
 *   - an accepted expression evaluates, for a few callers and targets,
 *     without looking past POLICY_MAX_DEPTH, to 0 or 1, and the same twice;
 *   - "not (X)" is always the opposite of X, and "X or @" always true. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/policy_expr.h"
#include "auth/policy_yaml.h"
#include "common/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_policy_expr: broken promise: %s\n", what);
        abort();
    }
}

static int eval_text(const char *text, const struct auth_cred *c, const struct policy_target *t,
                     size_t nt)
{
    struct policy_expr *e = NULL;
    struct policy_eval ev = {NULL, 0, c, t, nt};
    int v;

    if (policy_expr_parse(text, &e, NULL) < 0)
        return -1;
    v = policy_expr_eval(e, &ev, 0);
    policy_expr_free(e);
    return v;
}

static int count(void *arg, const char *name, const char *expr, struct error *err)
{
    (void)name;
    (void)expr;
    (void)err;
    (*(int *)arg)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *roles[] = {"admin", "member", "user_iot"};
    struct auth_identity t = {.user_id = "u1", .project_id = "p1", .roles = roles, .nroles = 3};
    struct policy_target target[] = {{"owner", "u1"}, {"project_id", NULL}, {"x", "%"}};
    struct auth_cred creds[2] = {{0}};
    struct policy_expr *e = NULL;
    struct error err = {0};
    char *text, *wrapped;
    int rc, n = 0;

    if (size > POLICY_MAX_EXPR)
        return 0;
    text = xstrndup((const char *)data, size);
    creds[0].id = auth_identity_new(&t);
    creds[1].id = auth_identity_anonymous();
    creds[1].is_admin = 1;
    rc = policy_expr_parse(text, &e, &err);
    if (rc < 0) {
        check(err.msg[0] != '\0', "refused without a message");
    } else {
        for (int i = 0; i < 2; i++) {
            int v = eval_text(text, &creds[i], target, 3);

            check(v == 0 || v == 1, "not a truth value");
            check(v == eval_text(text, &creds[i], target, 3), "not deterministic");
            wrapped = xasprintf("not (%s)", text);
            rc = eval_text(wrapped, &creds[i], target, 3);
            check(rc < 0 || rc == !v, "not (X) is not the opposite of X");
            free(wrapped);
            wrapped = xasprintf("(%s) or @", text);
            rc = eval_text(wrapped, &creds[i], target, 3);
            check(rc < 0 || rc == 1, "X or @ is not true");
            free(wrapped);
        }
    }
    policy_expr_free(e);
    error_clear(&err);
    if (memchr(data, '\0', size) == NULL &&
        policy_yaml_parse("fuzz.yaml", text, count, &n, &err) < 0)
        check(err.msg[0] != '\0', "YAML refused without a message");
    auth_identity_unref(creds[0].id);
    free(text);
    return 0;
}
