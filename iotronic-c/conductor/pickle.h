/* conductor/pickle.h: plugin code on the wire (iotronic-api-v1.md 2.14.3).
 *
 * The original Python Lightning-Rod unpickles the `code` it receives, so for
 * it the conductor sends the text of a protocol-0 pickle of the source
 * string: "V" + escaped + "\np0\n.", escaping backslash, NUL, LF, CR, U+001A
 * and every non-ASCII character as \uXXXX / \UXXXXXXXX, which is pure ASCII
 * and decodes to the same string. Every other agent gets the plain text.
 * Pure; any thread. */
#ifndef IOT_CONDUCTOR_PICKLE_H
#define IOT_CONDUCTOR_PICKLE_H

#include "common/buf.h"
#include "common/error.h"

/* 1 when lr_version names the original Python agent: non-NULL and starting
 * with an ASCII digit, or containing "freedom". */
int cond_lr_is_python(const char *lr_version);

/* Appends the protocol-0 pickle text of the UTF-8 string src to out.
 * Invalid UTF-8 bytes are written as U+FFFD. 0, or -E2BIG when out is full. */
int cond_pickle_p0(const char *src, struct buf *out) IOT_WUR;

/* The inverse, for imports from the original's database: drops the leading
 * V, cuts at the first newline, undoes the escapes. -EINVAL if text is not
 * such a pickle. */
int cond_unpickle_p0(const char *text, struct buf *out) IOT_WUR;

#endif
