/* wagent/handshake.c: see handshake.h. Header names are matched without
 * regard to case and list values token by token (RFC 7230 3.2, 7.), so that
 * "Connection: keep-alive, Upgrade" and autobahn's
 * "Sec-WebSocket-Protocol: wamp.2.cbor,wamp.2.json" are understood. */
#include "wagent/handshake.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/encode.h"
#include "tunnel/wsproto.h"

struct seen {
    int upgrade_ws, connection_upgrade, version_any, version13, protocol_json, key_ok;
};

size_t wag_hs_head_len(const char *buf, size_t len)
{
    for (size_t i = 3; i < len; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return i + 1;
    return 0;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* 1 when the comma-separated list v[0..n) holds tok (any case). */
static int list_has(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok), i = 0;

    while (i < n) {
        size_t s, e;

        while (i < n && (is_ows(v[i]) || v[i] == ','))
            i++;
        s = i;
        while (i < n && v[i] != ',')
            i++;
        e = i;
        while (e > s && is_ows(v[e - 1]))
            e--;
        if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
            return 1;
    }
    return 0;
}

static int name_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

static int tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static void key_check(const char *v, size_t n, struct wag_hs *out, struct seen *s)
{
    unsigned char raw[18];

    s->key_ok = 0;
    if (n != WAG_HS_KEY_LEN || base64_decode(v, n, raw, sizeof(raw)) != 16)
        return;
    memcpy(out->key, v, n);
    out->key[n] = '\0';
    s->key_ok = 1;
}

static int header(const char *line, size_t n, struct wag_hs *out, struct seen *s, struct error *err)
{
    const char *colon = memchr(line, ':', n), *v;
    size_t nl, vl;

    if (colon == NULL || colon == line)
        return error_set(err, 400, "malformed header line");
    nl = (size_t)(colon - line);
    for (size_t i = 0; i < nl; i++)
        if (!tchar((unsigned char)line[i]))
            return error_set(err, 400, "malformed header name");
    v = colon + 1;
    vl = n - nl - 1;
    for (size_t i = 0; i < vl; i++)
        if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
            return error_set(err, 400, "control character in a header value");
    while (vl > 0 && is_ows(*v))
        v++, vl--;
    while (vl > 0 && is_ows(v[vl - 1]))
        vl--;
    if (name_is(line, nl, "upgrade"))
        s->upgrade_ws |= list_has(v, vl, "websocket");
    else if (name_is(line, nl, "connection"))
        s->connection_upgrade |= list_has(v, vl, "upgrade");
    else if (name_is(line, nl, "sec-websocket-protocol"))
        s->protocol_json |= list_has(v, vl, WAG_HS_SUBPROTOCOL);
    else if (name_is(line, nl, "sec-websocket-version")) {
        s->version_any = 1;
        s->version13 = vl == 2 && memcmp(v, "13", 2) == 0;
    } else if (name_is(line, nl, "sec-websocket-key"))
        key_check(v, vl, out, s);
    return 0;
}

/* "GET <target> HTTP/1.1": 0, or 400. *is_get and *http11 say what it was. */
static int request_line(const char *l, size_t n, int *is_get, int *http11, struct error *err)
{
    const char *sp1 = memchr(l, ' ', n), *sp2;

    if (sp1 == NULL || sp1 == l)
        return error_set(err, 400, "malformed request line");
    sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - l));
    if (sp2 == NULL || sp2 == sp1 + 1 || (size_t)(l + n - (sp2 + 1)) < 8 ||
        memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
        return error_set(err, 400, "malformed request line");
    for (const char *p = sp1 + 1; p < sp2; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return error_set(err, 400, "malformed request target");
    *is_get = sp1 - l == 3 && memcmp(l, "GET", 3) == 0;
    *http11 = (size_t)(l + n - (sp2 + 1)) == 8 && sp2[8] == '1';
    return 0;
}

static int verdict(const struct seen *s, int is_get, int http11, struct error *err)
{
    if (!s->upgrade_ws)
        return error_set(err, 426, "This port speaks WAMP over WebSocket only.");
    if (!is_get)
        return error_set(err, 405, "A WebSocket upgrade must be a GET.");
    if (!http11 || !s->connection_upgrade)
        return error_set(err, 400, "Not a valid WebSocket upgrade request.");
    if (!s->version_any)
        return error_set(err, 400, "Sec-WebSocket-Version is missing.");
    if (!s->version13)
        return error_set(err, 426, "Only WebSocket version 13 is supported.");
    if (!s->key_ok)
        return error_set(err, 400, "Sec-WebSocket-Key is missing or invalid.");
    if (!s->protocol_json)
        return error_set(err, 400, "The client must offer the " WAG_HS_SUBPROTOCOL " subprotocol.");
    return 0;
}

int wag_hs_parse(const char *head, size_t len, struct wag_hs *out, struct error *err)
{
    struct seen s = {0};
    int is_get = 0, http11 = 0, rc;
    size_t i = 0, first = 1;

    memset(out, 0, sizeof(*out));
    while (i < len) {
        const char *line = head + i, *eol = memchr(line, '\n', len - i);
        size_t n;

        if (eol == NULL || eol == line || eol[-1] != '\r')
            return error_set(err, 400, "lines must end with CRLF");
        n = (size_t)(eol - line) - 1;
        i += n + 2;
        if (n == 0)
            break; /* the blank line */
        if (memchr(line, '\0', n) != NULL)
            return error_set(err, 400, "NUL byte in the request head");
        if (first) {
            rc = request_line(line, n, &is_get, &http11, err);
            first = 0;
        } else if (is_ows(line[0])) {
            rc = error_set(err, 400, "folded header lines are not accepted");
        } else {
            rc = header(line, n, out, &s, err);
        }
        if (rc != 0)
            return rc;
    }
    if (first)
        return error_set(err, 400, "empty request");
    return verdict(&s, is_get, http11, err);
}

size_t wag_hs_accept(const struct wag_hs *hs, char *out, size_t cap)
{
    char accept[TUN_WS_ACCEPT_LEN];
    int n;

    tun_ws_accept(hs->key, accept);
    n = snprintf(out, cap,
                 "HTTP/1.1 101 Switching Protocols\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n"
                 "Sec-WebSocket-Protocol: " WAG_HS_SUBPROTOCOL "\r\n\r\n",
                 accept);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 405:
        return "Method Not Allowed";
    case 426:
        return "Upgrade Required";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

size_t wag_hs_error(int status, const char *message, int retry_after, char *out, size_t cap)
{
    char extra[96] = "";
    size_t ml = strnlen(message, 512);
    int n;

    if (status == 426)
        snprintf(extra, sizeof(extra), "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
    else if (status == 405)
        snprintf(extra, sizeof(extra), "Allow: GET\r\n");
    else if (retry_after > 0)
        snprintf(extra, sizeof(extra), "Retry-After: %d\r\n", retry_after);
    n = snprintf(out, cap,
                 "HTTP/1.1 %d %s\r\n"
                 "Content-Type: text/plain; charset=utf-8\r\n"
                 "Content-Length: %zu\r\n"
                 "Connection: close\r\n"
                 "%s\r\n"
                 "%.*s\n",
                 status, reason_phrase(status), ml + 1, extra, (int)ml, message);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}
