/* api/version.h: the X-OpenStack-Iotronic-API-Version negotiation (1.4).
 *
 * The API has one microversion, 1.0. The python-iotronicclient first asks for
 * 1.9 and relies on the 406 (with the min/max headers) to fall back to 1.0,
 * so the exact answers here matter. Pure; any thread. */
#ifndef IOT_API_VERSION_H
#define IOT_API_VERSION_H

#include <stddef.h>

#include "common/error.h"

#define API_VERSION_HEADER "X-OpenStack-Iotronic-API-Version"
#define API_MIN_VERSION_HEADER "X-OpenStack-Iotronic-API-Minimum-Version"
#define API_MAX_VERSION_HEADER "X-OpenStack-Iotronic-API-Maximum-Version"
#define API_VERSION "1.0"

/* Checks the request header value (NULL when absent). Returns 0 when the
 * request is served as 1.0, else -ENOTSUP with the 406 message in err. */
int api_version_check(const char *value, struct error *err) IOT_WUR;

#endif
