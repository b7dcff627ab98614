/* qmodel/value.h: the field value rules of deviceless-api.md 1.4.
 *
 * Integers come as JSON integers or as decimal text (form fields are always
 * text); booleans as JSON booleans or oslo's words; names, descriptions,
 * alias names and entries have their own lengths and alphabets. Lengths are
 * counted in characters (UTF-8 code points), and text that is not valid
 * UTF-8 is refused. Pure functions, any thread. */
#ifndef QM_VALUE_H
#define QM_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define QM_NAME_MAX 255
#define QM_DESCRIPTION_MAX 255
#define QM_ENTRY_MAX 80

/* Decimal text with an optional sign, no blanks, within int64. 0 or -EINVAL. */
int qm_parse_int(const char *s, int64_t *out) IOT_WUR;

/* true t yes y on 1 / false f no n off 0, any case. 0 or -EINVAL. */
int qm_parse_bool(const char *s, int *out) IOT_WUR;

/* The number of UTF-8 characters in s, or -1 when s is not valid UTF-8. */
long qm_utf8_chars(const char *s, size_t n);

/* 1 when s is valid UTF-8 of at most max characters. */
int qm_text_ok(const char *s, size_t max);

/* 1 for an alias name: 1..255 of A-Z a-z 0-9 - . _ ~, not UUID-like. */
int qm_alias_name_ok(const char *s);

/* 1 for an entry: 1..80 of A-Z a-z 0-9 _ . / -, not starting with '/', no
 * ".." path component. */
int qm_entry_ok(const char *s);

/* 1 when s is 64 (or, md5, 32) hex digits; writes it lower-cased into out
 * (size len + 1). */
int qm_hex_digest(const char *s, size_t len, char *out);

#endif
