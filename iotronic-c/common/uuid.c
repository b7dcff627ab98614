/* common/uuid.c: see uuid.h. */
#include "common/uuid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "common/encode.h"

void rand_bytes(void *p, size_t n)
{
    unsigned char *c = p;

    while (n > 0) {
        ssize_t got = getrandom(c, n, 0);

        if (got < 0) {
            if (errno == EINTR)
                continue;
            abort();
        }
        c += got;
        n -= (size_t)got;
    }
}

uint64_t rand_below(uint64_t bound)
{
    uint64_t x, limit = UINT64_MAX - UINT64_MAX % bound;

    do {
        rand_bytes(&x, sizeof(x));
    } while (x >= limit);
    return x % bound;
}

uint64_t rand_id53(void)
{
    return rand_below((uint64_t)1 << 53) + 1;
}

static const char hexdigits[] = "0123456789abcdef";

static void format_uuid(const unsigned char b[16], char out[UUID_STR_LEN])
{
    size_t o = 0;

    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hexdigits[b[i] >> 4];
        out[o++] = hexdigits[b[i] & 15];
    }
    out[o] = '\0';
}

void uuid_v4(char out[UUID_STR_LEN])
{
    unsigned char b[16];

    rand_bytes(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    format_uuid(b, out);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses exactly len characters of 32 hex digits, hyphenated 8-4-4-4-12 or not. */
static int parse_core(const char *s, size_t len, unsigned char b[16])
{
    int hyphenated = (len == 36);
    size_t i = 0;

    if (len != 32 && len != 36)
        return -EINVAL;
    for (int byte = 0; byte < 16; byte++) {
        int hi, lo;

        if (hyphenated && (i == 8 || i == 13 || i == 18 || i == 23)) {
            if (s[i] != '-')
                return -EINVAL;
            i++;
        }
        hi = hexval(s[i]);
        lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        b[byte] = (unsigned char)(hi << 4 | lo);
        i += 2;
    }
    return 0;
}

int uuid_normalize(const char *s, char out[UUID_STR_LEN])
{
    unsigned char b[16];
    size_t len;
    int rc;

    if (s == NULL)
        return -EINVAL;
    if (strncasecmp(s, "urn:uuid:", 9) == 0)
        s += 9;
    len = strlen(s);
    if (len >= 2 && s[0] == '{' && s[len - 1] == '}') {
        s++;
        len -= 2;
    }
    rc = parse_core(s, len, b);
    if (rc < 0)
        return rc;
    format_uuid(b, out);
    return 0;
}

int uuid_is_like(const char *s)
{
    char tmp[UUID_STR_LEN];

    return uuid_normalize(s, tmp) == 0;
}

void rand_base64url(size_t n, char *out)
{
    unsigned char raw[256];

    if (n > sizeof(raw))
        abort();
    rand_bytes(raw, n);
    base64_encode(raw, n, out, BASE64_URL_NOPAD);
}
