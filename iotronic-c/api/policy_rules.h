/* api/policy_rules.h: the default policy rules of iotronic-api-v1.md 4.4
 * ("policy in code"), overridable by name from [oslo_policy] policy_file
 * (auth/policy.h). Constant data; any thread. */
#ifndef IOT_API_POLICY_RULES_H
#define IOT_API_POLICY_RULES_H

#include <stddef.h>

#include "auth/policy.h"

extern const struct policy_rule_default api_policy_defaults[];
extern const size_t api_policy_ndefaults;

#endif
