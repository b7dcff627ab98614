/* api/ident.h: identifiers and names of iotronic-api-v1.md 1.9 and 2.6.
 *
 * UUID-like values are normalised by common/uuid.h; this module adds the
 * logical-name rules (RFC 3986 unreserved characters, 1..255), the reserved
 * route words, and the DNS label / DNS name / e-mail checks of webservices.
 * Pure; any thread. */
#ifndef IOT_API_IDENT_H
#define IOT_API_IDENT_H

#include <stddef.h>

#include "common/error.h"
#include "common/uuid.h"

#define API_NAME_MAX 255

/* 1 when s is a logical name: 1..maxlen characters of A-Z a-z 0-9 - . _ ~ */
int api_is_logical_name(const char *s, size_t maxlen);

/* 1 when name may be given to a new or renamed resource of kind ("board",
 * "plugin", "service", "fleet", "webservice"): a logical name that is not
 * UUID-like and not a reserved route word (`detail` everywhere, `public` for
 * plugins and services). */
int api_name_allowed(const char *kind, const char *name);

/* A path or body reference: UUID-like (normalised into uuid, returns 1) or a
 * logical name (returns 0). Anything else: -EINVAL with 400
 * "Expected a logical name or uuid but received <s>." */
int api_parse_ref(const char *s, char uuid[UUID_STR_LEN], struct error *err) IOT_WUR;

/* A UUID-only value: 0 with uuid normalised, or -EINVAL with 400
 * "Expected a uuid but received <s>." */
int api_parse_uuid(const char *s, char uuid[UUID_STR_LEN], struct error *err) IOT_WUR;

/* Webservice names and enablement data (2.6). 1 when valid. */
int api_is_dns_label(const char *s, size_t maxlen);
int api_is_dns_name(const char *s, size_t maxlen);
int api_is_email(const char *s, size_t maxlen);

/* Number of Unicode characters of the UTF-8 text s (invalid bytes count one
 * each): lengths in the contract are characters, as in Python. */
size_t api_utf8_chars(const char *s);

#endif
