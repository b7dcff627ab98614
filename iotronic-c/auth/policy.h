/* auth/policy.h: oslo.policy rules, parsed once, checked on every request.
 *
 * The service supplies its default rules as a table (policy in code,
 * iotronic-api-v1.md 4.4, deviceless-api.md 2.11); a JSON (or flat YAML)
 * policy file overrides rules by name (4.5). Every expression is parsed
 * into a tree when the rules are loaded; `rule:` references are resolved to
 * indexes then, and a set whose references form a cycle is refused, so a
 * check is a walk over a small tree with no allocation and no parsing.
 *
 * The language (4.5):
 *   role:<name>                 the caller has the role (case-insensitive)
 *   rule:<name>                 another rule; an unknown name is false
 *   <credential>:<value>        user_id (user), project_id (tenant),
 *                               project_name, domain_id, user_domain_id,
 *                               project_domain_id, user_name, roles (any
 *                               role equals), is_admin, is_public_api
 *   <credential>:%(key)s        the value taken from the target; a missing
 *                               or null target value makes the check false;
 *                               literal text may surround substitutions
 *   '<text>':%(key)s, True:...  a literal (quoted string, True, False or an
 *                               integer) compared with the substituted match
 *   @, "" / !                   always true / always false
 *   True / False                always true / always false
 *   not X, X and Y, X or Y, ( ) precedence not > and > or; keywords in any case
 * Tokens are separated by blanks; parentheses may stick to a check as in
 * oslo ("(role:a" or "rule:b)"). A null credential never equals anything.
 * Boolean credentials compare by truth value: is_admin:True, is_admin:true
 * and is_admin:1 all hold for an admin (oslo compares Python's str(), under
 * which "is_admin:1" never holds; Qinling's default rule relies on the
 * sensible reading).
 *
 * The file is re-read when its mtime or size changes, checked at most every
 * reload_check_ms during checks. A file that cannot be read or parsed keeps
 * the rules in force and logs an error; at policy_new() it is an error.
 *
 * Threads: policy_check(), policy_authorize() and policy_reload() may run on
 * any thread concurrently; a reload swaps in a new rule set while checks in
 * progress finish on the old one. Checks may stat(2) the policy file, so
 * call them from workers, not from the event loop. */
#ifndef IOT_AUTH_POLICY_H
#define IOT_AUTH_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "auth/cred.h"
#include "common/error.h"

#define POLICY_MAX_RULES 1024
#define POLICY_MAX_EXPR 4096 /* characters in one expression */
#define POLICY_MAX_FILE (1 << 20)
#define POLICY_MAX_DEPTH 64 /* nesting of parentheses and rule: chains */

struct policy_rule_default {
    const char *name;
    const char *expr;
};

struct policy_opts {
    const struct policy_rule_default *defaults;
    size_t ndefaults;
    const char *file;         /* NULL or "": defaults only */
    const char *config_dir;   /* a relative file is looked up here; NULL: the cwd */
    const char *default_rule; /* applied to a checked name that no rule defines
                               * (Qinling: "default"); NULL: such names deny */
    int enforce;              /* 0: policy_authorize() allows everything (noauth) */
    int64_t reload_check_ms;  /* 0: 1000 */
};

/* One key of a resource-level target (iotronic-api-v1.md 4.3). value NULL is
 * a null value. */
struct policy_target {
    const char *key;
    const char *value;
};

struct policy;

/* Parses the defaults and the file. Returns 0 or -EINVAL with the rule name
 * (and file) in err; a missing file is not an error (defaults only), an
 * unreadable or broken one is. *out is freed with policy_free(). */
int policy_new(const struct policy_opts *opts, struct policy **out, struct error *err) IOT_WUR;
void policy_free(struct policy *p); /* accepts NULL */

/* Evaluates rule for the caller c and the target (nt pairs; NULL/0 for a
 * collection-level check, whose target is the caller's own user_id and
 * project_id as 4.3 says: pass them). Returns 1 when allowed, 0 when denied
 * (also for a name no rule defines and no default_rule covers). */
int policy_check(struct policy *p, const char *rule, const struct auth_cred *c,
                 const struct policy_target *t, size_t nt);

/* policy_check() when enforcing, else always allowed. Returns 0 or -EACCES;
 * the service answers 403 naming rule. */
int policy_authorize(struct policy *p, const char *rule, const struct auth_cred *c,
                     const struct policy_target *t, size_t nt) IOT_WUR;

int policy_enforcing(const struct policy *p);

/* Re-reads the file now. Returns 0 (also when unchanged) or the error, in
 * which case the previous rules stay in force. */
int policy_reload(struct policy *p, struct error *err) IOT_WUR;

/* The absolute path of the policy file in use, or NULL. */
const char *policy_file(const struct policy *p);

/* Syntax check of one expression (tests, fuzzing, config validation).
 * Returns 0 or -EINVAL with the reason in err. */
int policy_expr_validate(const char *expr, struct error *err) IOT_WUR;

#endif
