/* auth/policy_expr.h: the expression trees of policy.h (internal to
 * libiotauth: policy.c builds rule sets of them).
 *
 * A tree is built once by policy_expr_parse() and never changes, except
 * that policy.c resolves each `rule:` leaf to an index in its rule set
 * (policy_expr_resolve) before the set is published. Evaluation reads only,
 * so any number of threads may evaluate one tree at once. */
#ifndef IOT_AUTH_POLICY_EXPR_H
#define IOT_AUTH_POLICY_EXPR_H

#include <stddef.h>

#include "auth/policy.h"
#include "common/error.h"

struct policy_expr;

/* Parses text (at most POLICY_MAX_EXPR characters). Returns 0 and a new
 * tree (policy_expr_free), or -EINVAL with the reason in err. */
int policy_expr_parse(const char *text, struct policy_expr **out, struct error *err) IOT_WUR;
void policy_expr_free(struct policy_expr *e);

/* Calls fn for every `rule:` leaf; fn returns the index of the named rule,
 * or -1 when none has that name (the leaf is then false). */
void policy_expr_resolve(struct policy_expr *e, int (*fn)(const char *name, void *arg), void *arg);

/* Calls fn(index, arg) for every resolved `rule:` leaf (cycle detection);
 * stops and returns the first non-zero result of fn. */
int policy_expr_each_ref(const struct policy_expr *e, int (*fn)(int index, void *arg), void *arg);

/* What evaluation needs from the rule set: the tree of rule index i. */
struct policy_eval {
    const struct policy_expr *const *rules; /* by index */
    size_t nrules;
    const struct auth_cred *cred;
    const struct policy_target *target;
    size_t ntarget;
};

/* 1 when e holds for ev. depth counts nested rule: hops (cycles were refused
 * when the set was built; POLICY_MAX_DEPTH is a second guard). */
int policy_expr_eval(const struct policy_expr *e, const struct policy_eval *ev, int depth);

#endif
