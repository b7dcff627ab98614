/* auth/policy_yaml.h: the flat YAML form of a policy file (internal to
 * libiotauth).
 *
 * oslo.policy's newer default is policy.yaml, and such files are a flat
 * mapping of rule names to expressions:
 *     "iot:board:create": "rule:is_admin_iot_project"
 *     admin_api: role:admin or role:administrator   # a comment
 * Accepted: one `key: value` per line, keys and values plain or quoted
 * ('...' with '' for a quote, "..." with backslash escapes), blank lines,
 * whole-line and trailing comments, a leading "---", and an empty "{}".
 * Anything else (nesting, lists, multi-line scalars) is refused with the
 * line number: a policy file that is only half understood must not be
 * applied. Pure. */
#ifndef IOT_AUTH_POLICY_YAML_H
#define IOT_AUTH_POLICY_YAML_H

#include "common/error.h"

/* Calls add(arg, name, expr, err) for each rule, in file order; stops at
 * its first error. Returns 0 or -EINVAL with "path:line: reason" in err. */
int policy_yaml_parse(const char *path, const char *text,
                      int (*add)(void *arg, const char *name, const char *expr, struct error *err),
                      void *arg, struct error *err) IOT_WUR;

#endif
