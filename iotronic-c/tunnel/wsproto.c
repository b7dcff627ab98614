/* tunnel/wsproto.c: see wsproto.h. */
#include "tunnel/wsproto.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/sha.h>

#include "common/encode.h"
#include "tunnel/wire.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

size_t tun_http_head_len(const char *buf, size_t len)
{
    for (size_t i = 3; i < len; i++)
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return i + 1;
    return 0;
}

/* 1 when the comma-separated list v[0..n) has token tok (any case). */
static int list_has(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok), i = 0;

    while (i < n) {
        size_t s, e;

        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        s = i;
        while (i < n && v[i] != ',')
            i++;
        e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
            return 1;
    }
    return 0;
}

struct hdr_seen {
    int upgrade, connection, version13, version_any, protocol, key;
};

static int is_name(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

static int header_line(const char *line, size_t n, struct hdr_seen *h, struct tun_http_req *req,
                       struct error *err)
{
    const char *colon = memchr(line, ':', n);
    const char *v;
    size_t nl, vl;

    if (colon == NULL || colon == line || line[0] == ' ' || line[0] == '\t')
        return error_set(err, 400, "malformed header line");
    nl = (size_t)(colon - line);
    v = colon + 1;
    vl = n - nl - 1;
    while (vl > 0 && (*v == ' ' || *v == '\t'))
        v++, vl--;
    while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        vl--;
    if (is_name(line, nl, "upgrade"))
        h->upgrade |= list_has(v, vl, "websocket");
    else if (is_name(line, nl, "connection"))
        h->connection |= list_has(v, vl, "upgrade");
    else if (is_name(line, nl, "sec-websocket-protocol"))
        h->protocol |= list_has(v, vl, TUN_SUBPROTOCOL);
    else if (is_name(line, nl, "sec-websocket-version")) {
        h->version_any = 1;
        h->version13 = vl == 2 && memcmp(v, "13", 2) == 0;
    } else if (is_name(line, nl, "sec-websocket-key")) {
        unsigned char raw[20];

        if (vl != TUN_WS_KEY_LEN || base64_decode(v, vl, raw, sizeof(raw)) != 16)
            return error_set(err, 400, "invalid Sec-WebSocket-Key");
        memcpy(req->key, v, vl);
        req->key[vl] = '\0';
        h->key = 1;
    }
    return 0;
}

static int request_line(const char *line, size_t n, struct tun_http_req *req, struct error *err)
{
    const char *sp1 = memchr(line, ' ', n), *sp2, *q;
    size_t tl;

    if (sp1 == NULL)
        return error_set(err, 400, "malformed request line");
    sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - line));
    if (sp2 == NULL || (size_t)(line + n - (sp2 + 1)) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
        return error_set(err, 400, "malformed request line");
    if (sp1 - line != 3 || memcmp(line, "GET", 3) != 0)
        return error_set(err, 405, "only GET is allowed");
    tl = (size_t)(sp2 - sp1 - 1);
    if (tl == 0 || sp1[1] != '/')
        return error_set(err, 400, "the request target must be a path");
    q = memchr(sp1 + 1, '?', tl);
    if (q != NULL) {
        req->query = q + 1;
        req->query_len = (size_t)(sp2 - q - 1);
    }
    return 0;
}

static int check_line_chars(const char *p, size_t n, struct error *err)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];

        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return error_set(err, 400, "control character in the request head");
    }
    return 0;
}

static int check_seen(const struct hdr_seen *h, struct error *err)
{
    if (!h->upgrade || !h->connection)
        return error_set(err, 426, "a WebSocket upgrade is required");
    if (!h->version13)
        return error_set(err, 426, "WebSocket version 13 is required");
    if (!h->key)
        return error_set(err, 400, "missing Sec-WebSocket-Key");
    if (!h->protocol)
        return error_set(err, 400, "subprotocol " TUN_SUBPROTOCOL " is required");
    return 0;
}

int tun_http_parse(const char *head, size_t len, struct tun_http_req *req, struct error *err)
{
    struct hdr_seen h = { 0 };
    size_t i = 0;
    int first = 1, rc;

    memset(req, 0, sizeof(*req));
    if (len > TUN_HTTP_HEAD_MAX)
        return error_set(err, 431, "request head too large");
    while (i < len) {
        const char *line = head + i, *eol = memchr(line, '\n', len - i);
        size_t n;

        if (eol == NULL || eol == line || eol[-1] != '\r')
            return error_set(err, 400, "lines must end with CRLF");
        n = (size_t)(eol - line) - 1;
        i += n + 2;
        if (n == 0)
            break;
        if ((rc = check_line_chars(line, n, err)) != 0)
            return rc;
        rc = first ? request_line(line, n, req, err) : header_line(line, n, &h, req, err);
        if (rc != 0)
            return rc;
        first = 0;
    }
    if (first)
        return error_set(err, 400, "empty request");
    return check_seen(&h, err);
}

void tun_ws_accept(const char key[TUN_WS_KEY_LEN + 1], char out[TUN_WS_ACCEPT_LEN])
{
    unsigned char md[SHA_DIGEST_LENGTH];
    char buf[TUN_WS_KEY_LEN + sizeof(WS_GUID)];
    size_t kl = strnlen(key, TUN_WS_KEY_LEN);

    memcpy(buf, key, kl);
    memcpy(buf + kl, WS_GUID, sizeof(WS_GUID) - 1);
    SHA1((const unsigned char *)buf, kl + sizeof(WS_GUID) - 1, md);
    base64_encode(md, sizeof(md), out, BASE64_STD);
}

size_t tun_http_upgrade_response(const char *key, char *out, size_t cap)
{
    char accept[TUN_WS_ACCEPT_LEN];
    int n;

    tun_ws_accept(key, accept);
    n = snprintf(out, cap,
                 "HTTP/1.1 101 Switching Protocols\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n"
                 "Sec-WebSocket-Protocol: " TUN_SUBPROTOCOL "\r\n\r\n",
                 accept);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

static const char *reason_phrase(int status)
{
    static const struct {
        int status;
        const char *text;
    } table[] = {
        { 400, "Bad Request" },      { 401, "Unauthorized" },
        { 403, "Forbidden" },        { 404, "Not Found" },
        { 405, "Method Not Allowed" }, { 426, "Upgrade Required" },
        { 429, "Too Many Requests" }, { 431, "Request Header Fields Too Large" },
        { 503, "Service Unavailable" },
    };

    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i].status == status)
            return table[i].text;
    return "Error";
}

size_t tun_http_error_response(int status, const char *message, char *out, size_t cap)
{
    int n = snprintf(out, cap,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\n"
                     "%s%s"
                     "Connection: close\r\n\r\n%s\n",
                     status, reason_phrase(status), strlen(message) + 1,
                     status == 426 ? "Upgrade: websocket\r\n" : "",
                     status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "", message);

    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

size_t tun_ws_frame_header(uint8_t out[10], enum tun_ws_opcode op, uint64_t len)
{
    out[0] = (uint8_t)(0x80 | op);
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

enum { DEC_HDR = 0, DEC_PAYLOAD = 1 };

void tun_ws_dec_init(struct tun_ws_dec *d)
{
    memset(d, 0, sizeof(*d));
}

void tun_ws_dec_init_client(struct tun_ws_dec *d)
{
    memset(d, 0, sizeof(*d));
    d->client = 1;
}

void tun_ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint8_t *mpos)
{
    size_t i = 0;
    uint8_t m = *mpos & 3;

    /* Byte-wise until the mask is in phase, then eight bytes at a time: the
     * data channels carry every tunnelled byte through here. */
    while (i < n && m != 0) {
        p[i++] ^= mask[m];
        m = (m + 1) & 3;
    }
    if (n - i >= 8) {
        uint64_t w8;
        uint8_t mb[8];

        for (int k = 0; k < 8; k++)
            mb[k] = mask[k & 3];
        memcpy(&w8, mb, 8);
        for (; n - i >= 8; i += 8) {
            uint64_t v;

            memcpy(&v, p + i, 8);
            v ^= w8;
            memcpy(p + i, &v, 8);
        }
    }
    while (i < n) {
        p[i++] ^= mask[m];
        m = (m + 1) & 3;
    }
    *mpos = m;
}

/* Bytes the header needs once its first two are known. */
static unsigned hdr_need(const struct tun_ws_dec *d)
{
    unsigned l7 = d->hdr[1] & 0x7f;

    return 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((d->hdr[1] & 0x80) ? 4 : 0);
}

static int proto_error(int *close_code, int code, struct error *err, const char *why)
{
    *close_code = code;
    return error_set(err, -EPROTO, "%s", why);
}

/* Validates a complete header and loads the frame's state. */
static int hdr_done(struct tun_ws_dec *d, int *cc, struct error *err)
{
    unsigned op = d->hdr[0] & 0x0f, l7 = d->hdr[1] & 0x7f, off = 2;
    uint64_t len = l7;

    if (d->hdr[0] & 0x70)
        return proto_error(cc, 1002, err, "reserved bits set without an extension");
    if (((d->hdr[1] & 0x80) != 0) == (d->client != 0))
        return proto_error(cc, 1002, err, d->client ? "server frames must not be masked"
                                                    : "client frames must be masked");
    if (l7 >= 126) {
        len = 0;
        for (unsigned i = 0; i < (l7 == 126 ? 2u : 8u); i++)
            len = (len << 8) | d->hdr[off++];
        if (len >> 63)
            return proto_error(cc, 1002, err, "frame length out of range");
    }
    d->fin = (d->hdr[0] & 0x80) != 0;
    if (op >= TUN_WS_CLOSE) {
        if (op > TUN_WS_PONG)
            return proto_error(cc, 1002, err, "unknown opcode");
        if (!d->fin || len > 125)
            return proto_error(cc, 1002, err, "fragmented or long control frame");
    } else if (op == TUN_WS_CONT) {
        if (d->msg_op == 0)
            return proto_error(cc, 1002, err, "continuation without a message");
    } else if (op > TUN_WS_BINARY) {
        return proto_error(cc, 1002, err, "unknown opcode");
    } else if (d->msg_op != 0) {
        return proto_error(cc, 1002, err, "new message inside a fragmented one");
    } else {
        d->msg_op = (uint8_t)op;
    }
    d->opcode = (uint8_t)op;
    if (d->client)
        memset(d->mask, 0, 4);
    else
        memcpy(d->mask, d->hdr + off, 4);
    d->mpos = 0;
    d->remain = len;
    d->empty = len == 0;
    d->ctl_len = 0;
    d->state = DEC_PAYLOAD;
    return 0;
}

/* The frame's payload is complete. */
static int frame_done(struct tun_ws_dec *d, tun_ws_event_fn fn, void *arg, int *cc,
                      struct error *err)
{
    static const enum tun_ws_event ctl_ev[] = { TUN_WSE_CLOSE, TUN_WSE_PING, TUN_WSE_PONG };
    uint8_t op = d->opcode;

    d->state = DEC_HDR;
    d->hlen = 0;
    if (op < TUN_WS_CLOSE) {
        uint8_t mop = d->msg_op;

        if (d->fin)
            d->msg_op = 0;
        /* An empty frame still tells its type (a text frame closes a data
         * channel even when it is empty). */
        return d->empty ? fn(arg, TUN_WSE_DATA, mop, NULL, 0) : 0;
    }
    if (op == TUN_WS_CLOSE) {
        if (d->ctl_len == 1)
            return proto_error(cc, 1002, err, "close frame with a one-byte payload");
        d->closed = 1;
    }
    return fn(arg, ctl_ev[op - TUN_WS_CLOSE], op, d->ctl, d->ctl_len);
}

/* Feeds header bytes; returns how many of in[0..n) it took. */
static size_t take_header(struct tun_ws_dec *d, const uint8_t *in, size_t n)
{
    size_t used = 0;

    while (used < n) {
        unsigned need = d->hlen < 2 ? 2 : hdr_need(d);

        if (d->hlen >= need)
            break;
        d->hdr[d->hlen++] = in[used++];
    }
    return used;
}

static int take_payload(struct tun_ws_dec *d, uint8_t *p, size_t k, tun_ws_event_fn fn,
                        void *arg)
{
    if (!d->client)
        tun_ws_unmask(p, k, d->mask, &d->mpos);
    d->remain -= k;
    if (d->opcode >= TUN_WS_CLOSE) {
        memcpy(d->ctl + d->ctl_len, p, k);
        d->ctl_len = (uint8_t)(d->ctl_len + k);
        return 0;
    }
    return fn(arg, TUN_WSE_DATA, d->msg_op, p, k);
}

int tun_ws_decode(struct tun_ws_dec *d, uint8_t *in, size_t n, tun_ws_event_fn fn, void *arg,
                  int *close_code, struct error *err)
{
    size_t i = 0;
    int rc;

    while (i < n && !d->closed) {
        if (d->state == DEC_HDR) {
            i += take_header(d, in + i, n - i);
            if (d->hlen < 2 || d->hlen < hdr_need(d))
                break;
            if ((rc = hdr_done(d, close_code, err)) != 0)
                return rc;
        } else {
            size_t k = d->remain < n - i ? (size_t)d->remain : n - i;

            if ((rc = take_payload(d, in + i, k, fn, arg)) != 0)
                return rc;
            i += k;
        }
        if (d->state == DEC_PAYLOAD && d->remain == 0 &&
            (rc = frame_done(d, fn, arg, close_code, err)) != 0)
            return rc;
    }
    return 0;
}

size_t tun_ws_client_request(const char *path, const char *host, const char *key, char *out,
                             size_t cap)
{
    int n = snprintf(out, cap,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Protocol: " TUN_SUBPROTOCOL "\r\n\r\n",
                     path, host, key);

    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* The status of "HTTP/1.1 <3 digits> ...", 100..599. */
static int status_code(const char *head, size_t len)
{
    if (len < 12 || memcmp(head, "HTTP/1.1 ", 9) != 0 || head[9] < '1' || head[9] > '5')
        return -1;
    for (int i = 9; i < 12; i++)
        if (head[i] < '0' || head[i] > '9')
            return -1;
    return (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
}

/* 1 when a line of head is "<name>: <value>" (name in any case). */
static int has_header(const char *head, size_t len, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value), i = 0;

    while (i < len) {
        const char *line = head + i, *eol = memchr(line, '\n', len - i);
        size_t n = eol ? (size_t)(eol - line) : len - i;
        const char *v = line + nl + 1;

        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            while (v < line + n && *v == ' ')
                v++;
            if ((size_t)(line + n - v) == vl && strncasecmp(v, value, vl) == 0)
                return 1;
        }
        i += n + 2;
    }
    return 0;
}

int tun_ws_client_check(const char *head, size_t len, const char *key, struct error *err)
{
    char accept[TUN_WS_ACCEPT_LEN];
    int status = status_code(head, len);

    if (status < 0)
        return error_set(err, -EPROTO, "not an HTTP/1.1 answer");
    if (status != 101)
        return error_set(err, status, "the server answered %d", status);
    tun_ws_accept(key, accept);
    if (!has_header(head, len, "sec-websocket-accept", accept))
        return error_set(err, -EPROTO, "wrong or missing Sec-WebSocket-Accept");
    if (!has_header(head, len, "sec-websocket-protocol", TUN_SUBPROTOCOL))
        return error_set(err, -EPROTO, "the server did not accept " TUN_SUBPROTOCOL);
    return 0;
}

size_t tun_ws_frame_header_masked(uint8_t out[14], enum tun_ws_opcode op, uint64_t len,
                                  const uint8_t mask[4])
{
    size_t n = tun_ws_frame_header(out, op, len);

    out[1] |= 0x80;
    memcpy(out + n, mask, 4);
    return n + 4;
}
