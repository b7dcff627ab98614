/* common/jsonw.h: a streaming JSON writer into a struct buf.
 *
 * Hot responses (list pages, single resources) are written straight into the
 * response buffer instead of building a cJSON tree and printing it, which
 * would allocate once per value. The writer tracks nesting and commas itself;
 * callers only say begin/key/value/end. Strings are escaped as RFC 8259
 * requires; bytes that are not valid UTF-8 become U+FFFD, so the output is
 * always valid JSON whatever the input (the python-iotronicclient decodes
 * every body as UTF-8 and dies on anything else).
 *
 * Errors are sticky: the first failed append (the buffer's ceiling) is kept in
 * w->err and later calls do nothing, so a writer is checked once at the end
 * with jw_error(). One writer per buffer, used by one thread. */
#ifndef IOT_COMMON_JSONW_H
#define IOT_COMMON_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

#define JW_MAX_DEPTH 32

struct jw {
    struct buf *b;
    int err; /* 0 or the first negated errno */
    unsigned depth;
    unsigned char need_comma[JW_MAX_DEPTH];
    unsigned char after_key; /* a key was written: the value needs no comma */
    unsigned char spaced;    /* ", " and ": " separators (Python's json.dumps) */
};

/* Starts writing at the end of b (which the caller owns). spaced selects
 * Python-style separators. */
void jw_init(struct jw *w, struct buf *b, int spaced);

void jw_obj_begin(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w);
void jw_arr_end(struct jw *w);

/* Writes an object key (escaped). */
void jw_key(struct jw *w, const char *k);

/* Values. jw_str(NULL) writes null. */
void jw_str(struct jw *w, const char *s);
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, int64_t v);
void jw_bool(struct jw *w, int v);
void jw_null(struct jw *w);

/* Writes text that is already valid JSON (e.g. a jsonb column as PostgreSQL
 * prints it). NULL writes null. The caller vouches for its validity. */
void jw_raw(struct jw *w, const char *json);

/* Writes the separator a value needs here, for a caller that then appends
 * one JSON value to w->b itself (built in pieces without a temporary). */
void jw_value_sep(struct jw *w);

/* Appends the escaped content of s (no quotes) to b: for building JSON text
 * inside a string, or a JSON text that is itself a string value. */
int jw_escape(struct buf *b, const char *s, size_t n) IOT_WUR;

/* 0, or the first error (-E2BIG when the buffer's ceiling was reached,
 * -EOVERFLOW for nesting deeper than JW_MAX_DEPTH). */
int jw_error(const struct jw *w);

/* 1 when the n bytes at s are valid UTF-8 (no overlongs, no surrogates). */
int jw_utf8_valid(const char *s, size_t n);

#endif
