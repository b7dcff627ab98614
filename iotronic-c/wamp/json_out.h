/* wamp/json_out.h: exact JSON printing of cJSON trees into a struct buf.
 *
 * cJSON's own printer rounds numbers past int32 to 15 significant digits
 * when that reads back "close enough", which corrupts 53-bit WAMP ids. This
 * printer writes every integral number below 2^63 digit for digit and other
 * numbers with the fewest digits (15 to 17) that read back as the same
 * double; NaN and infinities print as null, as in cJSON. It refuses to write
 * what the strict scanner (json_strict.h) would refuse to read: strings that
 * are not UTF-8 or hold NUL bytes, raw items that are not one valid JSON
 * value, and nesting deeper than the depth it is given, so anything written
 * here parses back. cJSON_Raw items (common/json.h json_create_int) are
 * copied after that check. Pure; any thread. */
#ifndef IOT_WAMP_JSON_OUT_H
#define IOT_WAMP_JSON_OUT_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"

/* ", " and ": " separators, as Python's json.dumps() writes them: the form
 * in which the original agents exchange WampMessage texts. Default: none. */
#define WAMP_JSON_SPACED 0x1u

/* Appends item to b. depth_max bounds the nesting of arrays and objects
 * (item itself counts). Returns 0; -E2BIG when b's limit is reached (b then
 * holds a partial value: reset or discard it); -EINVAL, with err naming
 * the problem, for a value that cannot be written. */
int wamp_json_write(struct buf *b, const cJSON *item, int depth_max, unsigned flags,
                    struct error *err) IOT_WUR;

/* Appends the n bytes at s as a quoted, escaped JSON string. 0, -E2BIG, or
 * -EINVAL when s is not UTF-8 or contains a NUL byte. */
int wamp_json_write_string(struct buf *b, const char *s, size_t n, struct error *err) IOT_WUR;

/* Appends v exactly as described above. 0 or -E2BIG. */
int wamp_json_write_number(struct buf *b, double v) IOT_WUR;

/* Prints item into a new NUL-terminated text (free() it), compact or
 * spaced, nested at most depth_max. 0, or -EINVAL with err set. */
int wamp_json_print(const cJSON *item, int depth_max, unsigned flags, char **out, size_t *len,
                    struct error *err) IOT_WUR;

#endif
