/* wamp/json_decode.c: decoding of text the strict scanner accepted (see
 * json_strict.h): strings, integers and whole cJSON trees.
 *
 * Everything here trusts its input to have passed wamp_json_check() or the
 * frame scanner, so there are no error paths: a string token is known to be
 * closed, escapes to be well formed, numbers to be short. Only a number can
 * end the text, so it is the one token whose scan is bounded by an end
 * pointer. Strings are allocated once, at their token's size, and decoded
 * straight into place. */
#include "wamp/json_strict.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static unsigned hex4(const char *p)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        char c = p[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else
            v |= (unsigned)(c - 'A' + 10);
    }
    return v;
}

static size_t utf8_put(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static char simple_escape(char c)
{
    switch (c) {
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    default:
        return c; /* '"', '\\' and '/' stand for themselves */
    }
}

/* Decodes the escape at p into o; returns the bytes of input consumed and
 * adds the bytes written to *o. The escape was validated. */
static size_t decode_escape(const char *p, char **o)
{
    unsigned cp;

    if (p[1] != 'u') {
        *(*o)++ = simple_escape(p[1]);
        return 2;
    }
    cp = hex4(p + 2);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4(p + 8) - 0xDC00);
        *o += utf8_put(*o, cp);
        return 12;
    }
    *o += utf8_put(*o, cp);
    return 6;
}

size_t wamp_json_unescape(const char *tok, char *dst, const char **next)
{
    const char *p = tok + 1;
    char *o = dst;

    for (;;) {
        const char *q = p;

        while (*q != '"' && *q != '\\')
            q++;
        if (o != p)
            memmove(o, p, (size_t)(q - p));
        o += q - p;
        p = q;
        if (*p == '"')
            break;
        p += decode_escape(p, &o);
    }
    *o = '\0';
    if (next != NULL)
        *next = p + 1;
    return (size_t)(o - dst);
}

int wamp_json_uint(const char *tok, size_t len, uint64_t max, uint64_t *out)
{
    size_t i = 0;
    uint64_t v = 0;
    int neg = 0;

    for (size_t k = 0; k < len; k++)
        if (tok[k] == '.' || tok[k] == 'e' || tok[k] == 'E')
            return -EDOM;
    if (len > 0 && tok[0] == '-') {
        neg = 1;
        i = 1;
    }
    for (; i < len; i++) {
        unsigned d = (unsigned)(tok[i] - '0');

        if (v > (max - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    if (neg && v != 0)
        return -ERANGE;
    *out = v;
    return 0;
}

/* ------------------------------------------------------------ trees */

static void tree_ws(const char **pp)
{
    while (is_ws(**pp))
        (*pp)++;
}

static cJSON *new_item(int type)
{
    cJSON *item = cJSON_CreateNull();

    if (item == NULL)
        abort(); /* cJSON's allocator failed; xmalloc would have aborted too */
    item->type = type;
    return item;
}

/* The closing quote of the validated string token at tok: the first '"'
 * after an even run of backslashes. memchr keeps long strings fast. */
static const char *closing_quote(const char *tok, const char *end)
{
    const char *q = tok + 1;

    for (;;) {
        size_t bs = 0;

        q = memchr(q, '"', (size_t)(end - q));
        while (q - bs - 1 > tok && q[-1 - (ptrdiff_t)bs] == '\\')
            bs++;
        if (bs % 2 == 0)
            return q;
        q++;
    }
}

static char *decode_string(const char **pp, const char *end)
{
    const char *start = *pp + 1, *close = closing_quote(*pp, end);
    size_t n = (size_t)(close - start);
    char *s = xmalloc(n + 1);

    /* Decoding never grows a string, so the token's size is enough. */
    if (memchr(start, '\\', n) == NULL) {
        memcpy(s, start, n);
        s[n] = '\0';
    } else {
        wamp_json_unescape(*pp, s, NULL);
    }
    *pp = close + 1;
    return s;
}

static cJSON *build_number(const char **pp, const char *end)
{
    char tmp[WAMP_JSON_NUMBER_MAX + 1];
    const char *p = *pp;
    size_t n = 0;
    cJSON *item;

    /* A number can end the text, so it is the one token bounded by end. */
    while (p + n < end && (is_digit(p[n]) || p[n] == '-' || p[n] == '+' || p[n] == '.' ||
                           p[n] == 'e' || p[n] == 'E'))
        n++;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    item = cJSON_CreateNumber(strtod(tmp, NULL));
    if (item == NULL)
        abort();
    *pp = p + n;
    return item;
}

static cJSON *build_value(const char **pp, const char *end);

static cJSON *build_container(const char **pp, const char *end, int object)
{
    cJSON *c = new_item(object ? cJSON_Object : cJSON_Array);
    char close = object ? '}' : ']';

    (*pp)++;
    tree_ws(pp);
    while (**pp != close) {
        char *key = NULL;
        cJSON *child;

        if (object) {
            key = decode_string(pp, end);
            tree_ws(pp);
            (*pp)++; /* ':' */
            tree_ws(pp);
        }
        child = build_value(pp, end);
        child->string = key;
        /* Objects are chains like arrays; the key is already set. */
        cJSON_AddItemToArray(c, child);
        tree_ws(pp);
        if (**pp == ',') {
            (*pp)++;
            tree_ws(pp);
        }
    }
    (*pp)++;
    return c;
}

static cJSON *build_value(const char **pp, const char *end)
{
    cJSON *item;

    switch (**pp) {
    case '{':
    case '[':
        return build_container(pp, end, **pp == '{');
    case '"':
        item = new_item(cJSON_String);
        item->valuestring = decode_string(pp, end);
        return item;
    case 't':
        *pp += 4;
        return new_item(cJSON_True);
    case 'f':
        *pp += 5;
        return new_item(cJSON_False);
    case 'n':
        *pp += 4;
        return new_item(cJSON_NULL);
    default:
        return build_number(pp, end);
    }
}

cJSON *wamp_json_tree(const char *text, size_t len)
{
    const char *p = text;

    tree_ws(&p);
    return build_value(&p, text + len);
}
