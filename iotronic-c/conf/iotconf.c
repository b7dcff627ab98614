/* conf/iotconf.c: see iotconf.h. The tables live in code-free objects
 * (api/config.c, auth/conf.c, conductor/conf.c, wagent/conf_opts.c), so
 * linking them pulls in nothing else. */
#include "conf/iotconf.h"

#include "api/api.h"
#include "auth/auth.h"
#include "conductor/cond.h"
#include "wagent/conf.h"

/* [wstun] is the wagent's; its table lives with the tunnel code. */
static const struct cfg_opt wstun_section[] = {
    { "wstun", NULL, CFG_IGNORED, NULL, 0, 0, 0, NULL, 0 },
};

void iotconf_add_known(struct cfg *c)
{
    cfg_add_known(c, api_cfg_opts, api_cfg_nopts);
    cfg_add_known(c, auth_cfg_opts, auth_cfg_nopts);
    cfg_add_known(c, cond_cfg_opts, cond_cfg_nopts);
    cfg_add_known(c, wag_cfg_opts, wag_cfg_nopts);
    cfg_add_known(c, wstun_section, 1);
}
