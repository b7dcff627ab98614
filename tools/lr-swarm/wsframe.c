/* tools/lr-swarm/wsframe.c: see wsframe.h. */
#include "wsframe.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "tunnel/wsproto.h"

size_t sw_ws_head_len(const char *buf, size_t n, size_t max)
{
    if (n > max)
        n = max;
    for (size_t i = 3; i < n; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return i + 1;
    return 0;
}

/* The value of header name (case-insensitive) in head, without surrounding
 * blanks, or NULL. The status line is skipped. */
static const char *header(const char *head, size_t len, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *end = head + len, *p = memchr(head, '\n', len);

    while (p != NULL && p + 1 < end) {
        const char *line = p + 1, *eol = memchr(line, '\n', (size_t)(end - line));

        if (eol == NULL)
            break;
        if ((size_t)(eol - line) > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1, *ve = eol;

            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        p = eol;
    }
    return NULL;
}

static int header_is(const char *head, size_t len, const char *name, const char *want)
{
    size_t vl = 0;
    const char *v = header(head, len, name, &vl);

    return v != NULL && vl == strlen(want) && strncasecmp(v, want, vl) == 0;
}

/* Retry-After in whole seconds (1 to 999); 1 when absent or not a number. */
static unsigned retry_after_of(const char *head, size_t len)
{
    size_t vl = 0;
    const char *v = header(head, len, "retry-after", &vl);
    unsigned secs = 0;

    if (v == NULL || vl == 0 || vl > 3)
        return 1;
    for (size_t i = 0; i < vl; i++) {
        if (v[i] < '0' || v[i] > '9')
            return 1;
        secs = secs * 10 + (unsigned)(v[i] - '0');
    }
    return secs ? secs : 1;
}

int sw_ws_head_check(const char *head, size_t len, const char key[SW_WS_KEY_LEN + 1],
                     unsigned *retry_after, struct error *err)
{
    char accept[TUN_WS_ACCEPT_LEN];
    int status = 0;

    *retry_after = 0;
    if (len < 12 || memcmp(head, "HTTP/1.1 ", 9) != 0)
        return error_set(err, -EPROTO, "not an HTTP/1.1 answer");
    for (int i = 9; i < 12; i++) {
        if (head[i] < '0' || head[i] > '9')
            return error_set(err, -EPROTO, "bad status line");
        status = status * 10 + head[i] - '0';
    }
    if (status == 503) {
        *retry_after = retry_after_of(head, len);
        return error_set(err, -EAGAIN, "the wagent is busy (503), retry after %u s", *retry_after);
    }
    if (status != 101)
        return error_set(err, -EPROTO, "the wagent answered HTTP %d", status);
    tun_ws_accept(key, accept);
    if (!header_is(head, len, "sec-websocket-accept", accept))
        return error_set(err, -EPROTO, "wrong or missing Sec-WebSocket-Accept");
    if (!header_is(head, len, "sec-websocket-protocol", SW_WS_SUBPROTOCOL))
        return error_set(err, -EPROTO, "the wagent did not accept " SW_WS_SUBPROTOCOL);
    return 0;
}

static int refuse(uint16_t *close_code, uint16_t code, struct error *err, const char *why)
{
    *close_code = code;
    return error_set(err, -EPROTO, "%s", why);
}

int sw_ws_frame_parse(const uint8_t *p, size_t n, uint64_t max_payload, struct sw_ws_frame *f,
                      uint16_t *close_code, struct error *err)
{
    uint64_t len;
    size_t hl = 2;

    if (n < 2)
        return 0;
    if (p[0] & 0x70)
        return refuse(close_code, 1002, err, "RSV bits set");
    if (p[1] & 0x80)
        return refuse(close_code, 1002, err, "masked frame from the server");
    f->opcode = p[0] & 0x0f;
    f->fin = p[0] >> 7;
    len = p[1] & 0x7f;
    if ((f->opcode > 0x2 && f->opcode < 0x8) || f->opcode > 0xa)
        return refuse(close_code, 1002, err, "unknown opcode");
    if (f->opcode >= 0x8 && (len > 125 || !f->fin))
        return refuse(close_code, 1002, err, "bad control frame");
    if (len == 126) {
        if (n < 4)
            return 0;
        len = (uint64_t)p[2] << 8 | p[3];
        hl = 4;
    } else if (len == 127) {
        if (n < 10)
            return 0;
        if (p[2] & 0x80)
            return refuse(close_code, 1002, err, "64-bit length with the top bit set");
        len = 0;
        for (int i = 2; i < 10; i++)
            len = len << 8 | p[i];
        hl = 10;
    }
    if (len > max_payload)
        return refuse(close_code, 1009, err, "message too big");
    f->header_len = hl;
    f->payload_len = len;
    return n - hl >= len ? 1 : 0;
}
