/* conf/iotconf.h: the options of the shared iotronic.conf.
 *
 * iotronic-api, iotronic-conductor, iotronic-wagent and iotronic-dbsync read
 * one iotronic.conf, each binding only its own options. For the warning about
 * unknown keys to mean "typo" rather than "a sibling's option", each daemon
 * declares every sibling's options as known before it binds its own. */
#ifndef IOT_CONF_IOTCONF_H
#define IOT_CONF_IOTCONF_H

#include "common/cfg.h"

/* Declares the options of every IoTronic daemon as known to c. */
void iotconf_add_known(struct cfg *c);

#endif
