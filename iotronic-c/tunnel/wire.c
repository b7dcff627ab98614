/* tunnel/wire.c: see wire.h. Every parser works on (pointer, length) and
 * copies into fixed-size fields, so no input can drive an allocation. */
#include "tunnel/wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define VALUE_MAX 256 /* a decoded value longer than this is refused */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes p[0..n) into out (NUL-terminated). Control characters,
 * encoded or not, are refused: none of our values can contain them. */
static int pct_decode(const char *p, size_t n, char out[VALUE_MAX + 1])
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)p[i];

        if (c == '%') {
            int h, l;

            if (i + 2 >= n)
                return -EINVAL;
            h = hexval((unsigned char)p[i + 1]);
            l = hexval((unsigned char)p[i + 2]);
            if (h < 0 || l < 0)
                return -EINVAL;
            c = h * 16 + l;
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c < 0x20 || c == 0x7f || o >= VALUE_MAX)
            return -EINVAL;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

static int parse_port(const char *s, int min, int *port)
{
    char *end;
    long v;

    if (*s < '0' || *s > '9' || strlen(s) > 5)
        return -EINVAL;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > 65535)
        return -EINVAL;
    *port = (int)v;
    return 0;
}

/* dst is "<host>:<port>"; only the port is used (9.2). */
static int parse_dst(const char *v, int *port, struct error *err)
{
    const char *colon = strrchr(v, ':');

    if (colon == NULL || parse_port(colon + 1, 1, port) < 0)
        return error_set(err, -EINVAL, "dst must be <host>:<port> with a port in 1..65535");
    return 0;
}

static int parse_auth(const char *v, struct tun_request *r, struct error *err)
{
    size_t n = strlen(v);

    if (n == 0 || n > TUN_AUTH_MAX)
        return error_set(err, -EINVAL, "auth must be 1..%d characters", TUN_AUTH_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = v[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '.' || c == '-' || c == '_' || c == '=' || c == '+' || c == '/'))
            return error_set(err, -EINVAL, "auth has an invalid character");
    }
    memcpy(r->auth, v, n + 1);
    return 0;
}

enum { K_DST, K_UUID, K_AUTH, K_ID, K_COUNT };
static const char *const keys[K_COUNT] = { "dst", "uuid", "auth", "id" };

static int apply_param(struct tun_request *r, int k, const char *v, struct error *err)
{
    switch (k) {
    case K_DST:
        return parse_dst(v, &r->public_port, err);
    case K_UUID:
        if (uuid_normalize(v, r->uuid) < 0)
            return error_set(err, -EINVAL, "uuid is not a UUID");
        return 0;
    case K_AUTH:
        return parse_auth(v, r, err);
    default:
        if (uuid_normalize(v, r->id) < 0)
            return error_set(err, -EINVAL, "id is not a connection id");
        return 0;
    }
}

static int key_index(const char *p, size_t n)
{
    for (int k = 0; k < K_COUNT; k++)
        if (strlen(keys[k]) == n && memcmp(keys[k], p, n) == 0)
            return k;
    return -1;
}

/* Handles one "key=value" pair; seen[] refuses repeated keys. */
static int parse_pair(struct tun_request *r, const char *p, size_t n, int seen[K_COUNT],
                      struct error *err)
{
    const char *eq = memchr(p, '=', n);
    char value[VALUE_MAX + 1];
    int k;

    k = key_index(p, eq ? (size_t)(eq - p) : n);
    if (k < 0)
        return 0;
    if (seen[k])
        return error_set(err, -EINVAL, "%s is given twice", keys[k]);
    seen[k] = 1;
    if (eq == NULL || pct_decode(eq + 1, n - (size_t)(eq + 1 - p), value) < 0)
        return error_set(err, -EINVAL, "%s has an invalid value", keys[k]);
    return apply_param(r, k, value, err);
}

int tun_request_parse(const char *query, size_t len, struct tun_request *out, struct error *err)
{
    int seen[K_COUNT] = { 0 };
    size_t i = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if (len > TUN_QUERY_MAX)
        return error_set(err, -EINVAL, "query longer than %d bytes", TUN_QUERY_MAX);
    while (i < len) {
        const char *amp = memchr(query + i, '&', len - i);
        size_t n = amp ? (size_t)(amp - (query + i)) : len - i;

        if (n > 0 && (rc = parse_pair(out, query + i, n, seen, err)) < 0)
            return rc;
        i += n + 1;
    }
    if (seen[K_DST] == seen[K_ID])
        return error_set(err, -EINVAL, seen[K_DST] ? "dst and id exclude each other"
                                                   : "dst or id is required");
    if (seen[K_ID] && (seen[K_UUID] || seen[K_AUTH]))
        return error_set(err, -EINVAL, "a data channel takes only id");
    out->kind = seen[K_DST] ? TUN_REQ_CONTROL : TUN_REQ_DATA;
    return 0;
}

int tun_nc_parse(const char *msg, size_t len, char id[UUID_STR_LEN])
{
    char tmp[UUID_STR_LEN];

    /* wstun ids are hyphenated UUIDs: exactly 36 characters after "NC:". */
    if (len != 3 + UUID_STR_LEN - 1 || strncasecmp(msg, "NC:", 3) != 0)
        return -EINVAL;
    memcpy(tmp, msg + 3, UUID_STR_LEN - 1);
    tmp[UUID_STR_LEN - 1] = '\0';
    return uuid_normalize(tmp, id) < 0 ? -EINVAL : 0;
}

size_t tun_nc_format(char out[TUN_NC_MAX], const char *id)
{
    return (size_t)snprintf(out, TUN_NC_MAX, "NC:%s", id);
}

int tun_hostport_parse(const char *s, int allow_zero, char host[TUN_HOST_MAX], int *port,
                       struct error *err)
{
    const char *colon;
    size_t hlen;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (close == NULL || close[1] != ':')
            return error_set(err, -EINVAL, "'%s': expected [address]:port", s);
        colon = close + 1;
        s++;
        hlen = (size_t)(close - s);
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return error_set(err, -EINVAL, "'%s': expected host:port", s);
        hlen = (size_t)(colon - s);
        if (memchr(s, ':', hlen) != NULL)
            return error_set(err, -EINVAL, "'%s': an IPv6 address needs brackets", s);
    }
    if (hlen >= TUN_HOST_MAX)
        return error_set(err, -EINVAL, "host name too long");
    if (parse_port(colon + 1, allow_zero ? 0 : 1, port) < 0)
        return error_set(err, -EINVAL, "'%s': the port must be %d..65535", colon + 1,
                         allow_zero ? 0 : 1);
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    return 0;
}

static int url_authority(const char *p, size_t n, struct tun_url *u, struct error *err)
{
    char tmp[TUN_HOST_MAX + 8];

    if (n == 0 || n >= sizeof(tmp) - 6)
        return error_set(err, -EINVAL, "URL has no valid host");
    if (memchr(p, '@', n) != NULL)
        return error_set(err, -EINVAL, "URL user information is not supported");
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    /* Without a port, append the scheme's default and parse uniformly. */
    if ((tmp[0] == '[' && tmp[n - 1] == ']') || (tmp[0] != '[' && !strchr(tmp, ':')))
        snprintf(tmp + n, sizeof(tmp) - n, ":%d", u->tls ? 443 : 80);
    if (tun_hostport_parse(tmp, 0, u->host, &u->port, err) < 0)
        return -EINVAL;
    if (u->host[0] == '\0')
        return error_set(err, -EINVAL, "URL has an empty host");
    return 0;
}

int tun_url_parse(const char *url, struct tun_url *out, struct error *err)
{
    const char *p, *slash;
    size_t n;

    memset(out, 0, sizeof(*out));
    if (strncasecmp(url, "ws://", 5) == 0) {
        p = url + 5;
    } else if (strncasecmp(url, "wss://", 6) == 0) {
        out->tls = 1;
        p = url + 6;
    } else {
        return error_set(err, -EINVAL, "URL must start with ws:// or wss://");
    }
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f)
            return error_set(err, -EINVAL, "URL contains a space or control character");
    if (strpbrk(p, "?#") != NULL)
        return error_set(err, -EINVAL, "URL must not have a query or fragment");
    slash = strchr(p, '/');
    n = slash ? (size_t)(slash - p) : strlen(p);
    if (url_authority(p, n, out, err) < 0)
        return -EINVAL;
    if (slash == NULL)
        slash = "/";
    if (strlen(slash) >= TUN_PATH_MAX)
        return error_set(err, -EINVAL, "URL path too long");
    memcpy(out->path, slash, strlen(slash) + 1);
    return 0;
}

/* "<path without its trailing '/'>/?<query>". */
static int build_path(const struct tun_url *u, const char *query, char *out, size_t cap)
{
    size_t plen = strlen(u->path);
    int n;

    while (plen > 0 && u->path[plen - 1] == '/')
        plen--;
    n = snprintf(out, cap, "%.*s/?%s", (int)plen, u->path, query);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int tun_url_control_path(const struct tun_url *u, int public_port, const char *uuid,
                         const char *auth, char *out, size_t cap)
{
    char q[TUN_HOST_MAX + TUN_AUTH_MAX + UUID_STR_LEN + 40];
    int v6 = strchr(u->host, ':') != NULL;
    int n;

    if ((uuid != NULL && strlen(uuid) >= UUID_STR_LEN) ||
        (auth != NULL && strlen(auth) > TUN_AUTH_MAX))
        return -ENAMETOOLONG;
    /* dst names the server's host, as wstun sends it; an IPv6 literal keeps
     * its brackets so that the last ':' is the port's. */
    n = snprintf(q, sizeof(q), "dst=%s%s%s:%d", v6 ? "[" : "", u->host, v6 ? "]" : "",
                 public_port);
    if (uuid != NULL && uuid[0] != '\0')
        n += snprintf(q + n, sizeof(q) - (size_t)n, "&uuid=%s", uuid);
    if (auth != NULL && auth[0] != '\0')
        n += snprintf(q + n, sizeof(q) - (size_t)n, "&auth=%s", auth);
    if ((size_t)n >= sizeof(q))
        return -ENAMETOOLONG;
    return build_path(u, q, out, cap);
}

int tun_url_data_path(const struct tun_url *u, const char *id, char *out, size_t cap)
{
    char q[UUID_STR_LEN + 8];

    snprintf(q, sizeof(q), "id=%s", id);
    return build_path(u, q, out, cap);
}
