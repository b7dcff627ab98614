/* http/errbody.h: the error bodies of the two REST services, and the JSON
 * string quoting they need.
 *
 * Error messages often carry client input (a board name from the path, a
 * query value), which may be any bytes after percent-decoding; the quoting
 * here always yields valid JSON: control characters become escapes and
 * bytes that are not UTF-8 become U+FFFD. Pure functions, any thread. */
#ifndef IOT_HTTP_ERRBODY_H
#define IOT_HTTP_ERRBODY_H

#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"

/* A service's error body: returns a new NUL-terminated JSON text (free())
 * and its length in *len. Called on worker and loop threads alike. */
typedef char *(*http_error_fmt)(int status, const char *message, size_t *len);

/* iotronic-api-v1.md 1.7: {"error_message": "<inner JSON as a string>"},
 * inner = {"faultcode": "Client"|"Server", "faultstring": msg,
 * "debuginfo": null} with Python's ", " / ": " separators. */
char *http_error_body_nested(int status, const char *message, size_t *len);

/* deviceless-api.md 1.7: {"faultcode": ..., "faultstring": msg,
 * "debuginfo": null}. */
char *http_error_body_flat(int status, const char *message, size_t *len);

/* Appends s as a JSON string literal, quotes included. Non-ASCII UTF-8 is
 * kept raw; with ascii set it is written as \uXXXX escapes (surrogate pairs
 * above U+FFFF), as Python's json.dumps does by default. Returns 0 or
 * -E2BIG. */
int http_json_quote(struct buf *b, const char *s, int ascii) IOT_WUR;

#endif
