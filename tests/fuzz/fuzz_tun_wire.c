/* libFuzzer target for everything the tunnel parses from the network: the
 * upgrade request head and its query (server), the WebSocket frame stream
 * (both directions), the upgrade answer, NC: messages and URLs (client). The first byte picks the parser;
 * the rest is its input. Invariants checked: no crash, no out-of-bounds, and
 * parsed values within their documented ranges. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunnel/wire.h"
#include "tunnel/wsproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink(void *arg, enum tun_ws_event ev, enum tun_ws_opcode op, uint8_t *p, size_t n)
{
    size_t *total = arg;

    (void)op;
    if (ev != TUN_WSE_DATA && n > 125)
        abort();
    if (n > 0 && p == NULL)
        abort();
    *total += n;
    return 0;
}

static void fuzz_request(const char *s, size_t n)
{
    struct tun_request r;
    struct error err;

    if (tun_request_parse(s, n, &r, &err) == 0) {
        if (r.kind == TUN_REQ_CONTROL && (r.public_port < 1 || r.public_port > 65535))
            abort();
        if (strlen(r.auth) > TUN_AUTH_MAX)
            abort();
    }
}

static void fuzz_head(const char *s, size_t n)
{
    struct tun_http_req r;
    struct error err;
    size_t hl = tun_http_head_len(s, n);
    int st;

    if (hl > n)
        abort();
    /* the same bytes as a server's answer to a board */
    st = tun_ws_client_check(s, hl ? hl : n, "dGhlIHNhbXBsZSBub25jZQ==", &err);
    if (st != 0 && st != -EPROTO && (st < 100 || st > 599))
        abort();
    if (tun_http_parse(s, hl ? hl : n, &r, &err) == 0) {
        char out[512];

        if (r.query != NULL)
            fuzz_request(r.query, r.query_len);
        if (tun_http_upgrade_response(r.key, out, sizeof(out)) == 0)
            abort();
    }
}

/* client = 1: a board decoding what a server sends (unmasked frames). */
static void fuzz_frames(const uint8_t *data, size_t n, int client)
{
    uint8_t *copy = malloc(n ? n : 1);
    struct tun_ws_dec d;
    struct error err;
    size_t total = 0, off = 0, step;
    int cc = 0;

    memcpy(copy, data, n);
    if (client)
        tun_ws_dec_init_client(&d);
    else
        tun_ws_dec_init(&d);
    /* Feed in uneven pieces so that splits land everywhere. */
    for (step = 1; off < n; step = step * 3 % 17 + 1) {
        size_t k = n - off < step ? n - off : step;

        if (tun_ws_decode(&d, copy + off, k, sink, &total, &cc, &err) != 0) {
            if (cc != 1002 && cc != 1009)
                abort();
            break;
        }
        off += k;
    }
    free(copy);
}

static void fuzz_text(uint8_t which, const char *s, size_t n)
{
    char *z = malloc(n + 1);
    char id[UUID_STR_LEN], host[TUN_HOST_MAX], path[1024];
    struct tun_url u;
    struct error err;
    int port;

    memcpy(z, s, n);
    z[n] = '\0';
    if (which == 1 && tun_nc_parse(s, n, id) == 0 && strlen(id) != 36)
        abort();
    if (which == 2 && tun_url_parse(z, &u, &err) == 0) {
        if (u.port < 1 || u.port > 65535 || u.path[0] != '/')
            abort();
        (void)tun_url_control_path(&u, 1, "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52", "1.x", path,
                                   sizeof(path));
        (void)tun_url_data_path(&u, "6b1f0c1e-6f0e-4c43-9d8e-0c3f7d1b9a52", path, sizeof(path));
    }
    if (which == 5 && tun_hostport_parse(z, 1, host, &port, &err) == 0 && (port < 0 || port > 65535))
        abort();
    free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data + 1;
    size_t n = size - 1;

    if (size < 1)
        return 0;
    switch (data[0] % 6) {
    case 0:
        fuzz_request(s, n);
        break;
    case 3:
        fuzz_head(s, n);
        break;
    case 4:
        fuzz_frames(data + 1, n, 0);
        fuzz_frames(data + 1, n, 1);
        break;
    default:
        fuzz_text(data[0] % 6, s, n);
        break;
    }
    return 0;
}
