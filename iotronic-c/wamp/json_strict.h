/* wamp/json_strict.h: the strict JSON grammar used for everything a peer sends.
 *
 * WAMP frames (board-protocol.md 2) must be UTF-8 JSON; cJSON checks neither
 * UTF-8 nor limits, so every frame is validated here, in one pass that does
 * not allocate: RFC 8259 grammar, RFC 3629 UTF-8 (no overlongs, surrogates
 * or code points past U+10FFFF), \u escapes that form valid code points,
 * bounded nesting and bounded numbers. Text that passed the scanner can be
 * turned into a cJSON tree by wamp_json_tree(), which cannot fail on it.
 *
 * Deliberate refusals, each with a clear error: U+0000 in a string (C
 * strings, and so cJSON, cannot hold it), numbers longer than
 * WAMP_JSON_NUMBER_MAX characters (cJSON silently misreads them) and
 * numbers whose magnitude overflows a double. Pure functions, no globals;
 * any thread. */
#ifndef IOT_WAMP_JSON_STRICT_H
#define IOT_WAMP_JSON_STRICT_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define WAMP_JSON_DEPTH_MAX 64  /* arrays/objects open at once, a frame's own array included */
#define WAMP_JSON_NUMBER_MAX 63 /* characters in one number */

enum wamp_json_kind {
    WAMP_JSON_INVALID = 0,
    WAMP_JSON_OBJECT,
    WAMP_JSON_ARRAY,
    WAMP_JSON_STRING,
    WAMP_JSON_NUMBER,
    WAMP_JSON_TRUE,
    WAMP_JSON_FALSE,
    WAMP_JSON_NULL,
};

/* A scan over one buffer. base is where byte offsets in error messages
 * count from; p moves forward as values are consumed. */
struct wamp_json_scan {
    const char *base;
    const char *p;
    const char *end;
};

/* The kind of value that starts with byte c (WAMP_JSON_INVALID if none). */
enum wamp_json_kind wamp_json_kind_of(char c);

/* A phrase naming a kind for error messages: "an object", "a string"... */
const char *wamp_json_kind_name(enum wamp_json_kind k);

/* Advances s->p past whitespace. */
void wamp_json_skip_ws(struct wamp_json_scan *s);

/* Validates the one value at s->p (no leading whitespace) and moves s->p
 * past it. depth_left is how many more arrays/objects may open (the value
 * itself counts when it is one). Returns 0, or -EPROTO with "invalid JSON at
 * byte N: <what>" in err. */
int wamp_json_skip_value(struct wamp_json_scan *s, int depth_left, struct error *err) IOT_WUR;

/* Validates that text is exactly one JSON value, surrounded by optional
 * whitespace, nesting at most depth_max. 0 or -EPROTO with err set. */
int wamp_json_check(const char *text, size_t len, int depth_max, struct error *err) IOT_WUR;

/* Builds a cJSON tree from text that wamp_json_check() (or the frame
 * scanner) accepted: one value with optional surrounding whitespace. Never
 * returns NULL (allocation failure aborts). The caller owns the tree
 * (cJSON_Delete). Calling it on unchecked text is a programming error. */
cJSON *wamp_json_tree(const char *text, size_t len);

/* Decodes the validated string token at tok (which starts at its opening
 * quote) into dst, NUL-terminates it and returns its length. dst may be
 * tok + 1 (decoding in place never writes past the closing quote); otherwise
 * it must hold as many bytes as the token. *next, if not NULL, gets the
 * first byte after the closing quote. */
size_t wamp_json_unescape(const char *tok, char *dst, const char **next);

/* Reads a validated number token of len bytes as a non-negative integer of
 * at most max. Returns 0, -EDOM when it has a fraction or an exponent, or
 * -ERANGE when it is negative (other than -0) or above max. */
int wamp_json_uint(const char *tok, size_t len, uint64_t max, uint64_t *out) IOT_WUR;

/* 1 when the n bytes at s are valid UTF-8 (RFC 3629). */
int wamp_utf8_valid(const char *s, size_t n);

/* Replaces, in place, every byte of the n at s that does not start a valid
 * UTF-8 sequence with '?': for texts that were cut at a byte limit (error
 * messages) and must still go into a JSON string. */
void wamp_utf8_sanitize(char *s, size_t n);

#endif
