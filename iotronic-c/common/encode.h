/* common/encode.h: base64 (standard and url-safe) and hex.
 *
 * Pure functions, no allocation: the caller sizes the output with the
 * *_LEN macros. Used by WAMP-CRA signatures, board secrets, tunnel proofs and
 * board tokens. */
#ifndef IOT_COMMON_ENCODE_H
#define IOT_COMMON_ENCODE_H

#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

enum base64_alphabet {
    BASE64_STD,        /* '+' '/' with '=' padding */
    BASE64_URL_NOPAD,  /* '-' '_' without padding */
};

/* Output size including the NUL, for n input bytes. */
#define BASE64_ENC_LEN(n) ((((n) + 2) / 3) * 4 + 1)
#define HEX_ENC_LEN(n) ((n) * 2 + 1)

/* Encodes n bytes into out (NUL-terminated); returns the text length. */
size_t base64_encode(const void *in, size_t n, char *out, enum base64_alphabet a);

/* Decodes text of length len into out (capacity cap). Accepts either alphabet,
 * with or without padding. Returns the number of bytes, or -EINVAL. */
ssize_t base64_decode(const char *text, size_t len, void *out, size_t cap) IOT_WUR;

/* Lower-case hex of n bytes, NUL-terminated. */
void hex_encode(const void *in, size_t n, char *out);

#endif
