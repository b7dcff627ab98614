/* amqp/url.c: see url.h.
 *
 * The text is split with the same precedence as oslo.messaging: scheme, then
 * the host list up to the first '/' or '?', then the path, then the query.
 * Within one host the userinfo ends at the LAST '@' (an unencoded '@' in a
 * password still parses), and the user ends at the first ':'. Every field is
 * checked before anything is kept, and a failure frees what was built. */
#include "amqp/url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xalloc.h"

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

/* Percent-decodes s[0..n) into a new string. NUL bytes and control
 * characters are refused: these fields end up in logs and AMQP shortstrs. */
static int pct_decode(const char *s, size_t n, const char *what, char **out, struct error *err)
{
    char *d = xmalloc(n + 1);
    size_t j = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;

            if (hi < 0 || lo < 0) {
                free(d);
                return error_set(err, -EINVAL, "bad percent-encoding in %s", what);
            }
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f) {
            free(d);
            return error_set(err, -EINVAL, "control character in %s", what);
        }
        d[j++] = (char)c;
    }
    d[j] = '\0';
    if (j > MQ_URL_FIELD_MAX) {
        free(d);
        return error_set(err, -EINVAL, "%s is longer than %d bytes", what, MQ_URL_FIELD_MAX);
    }
    *out = d;
    return 0;
}

static int parse_port(const char *s, size_t n, int *out, struct error *err)
{
    long v = 0;

    if (n == 0 || n > 5)
        return error_set(err, -EINVAL, "bad port");
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return error_set(err, -EINVAL, "bad port");
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return error_set(err, -EINVAL, "port out of range");
    *out = (int)v;
    return 0;
}

static int host_char_ok(char c, int v6)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    if (v6)
        return c == ':' || c == '.' || c == '%';
    return c == '-' || c == '.' || c == '_';
}

/* host, "host:port", "[v6]" or "[v6]:port". */
static int parse_hostport(const char *s, size_t n, struct mq_url_host *h, struct error *err)
{
    const char *name = s, *colon;
    size_t namelen;
    int v6 = 0;

    h->port = MQ_DEFAULT_PORT;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);

        if (close == NULL)
            return error_set(err, -EINVAL, "unterminated '[' in host");
        name = s + 1;
        namelen = (size_t)(close - name);
        colon = close + 1 < s + n ? close + 1 : NULL;
        if (colon && *colon != ':')
            return error_set(err, -EINVAL, "junk after ']' in host");
        v6 = 1;
    } else {
        colon = memchr(s, ':', n);
        namelen = colon ? (size_t)(colon - s) : n;
    }
    if (namelen == 0)
        return error_set(err, -EINVAL, "empty host");
    if (namelen > MQ_URL_FIELD_MAX)
        return error_set(err, -EINVAL, "host is longer than %d bytes", MQ_URL_FIELD_MAX);
    for (size_t i = 0; i < namelen; i++)
        if (!host_char_ok(name[i], v6))
            return error_set(err, -EINVAL, "bad character in host");
    if (colon && parse_port(colon + 1, (size_t)(s + n - colon - 1), &h->port, err) < 0)
        return err ? err->code : -EINVAL;
    h->host = xstrndup(name, namelen);
    return 0;
}

static void host_clear(struct mq_url_host *h)
{
    free(h->host);
    free(h->user);
    if (h->password) {
        explicit_bzero(h->password, strlen(h->password));
        free(h->password);
    }
    memset(h, 0, sizeof(*h));
}

/* One comma-separated element of the host list. prev: the host before it,
 * whose credentials are inherited when this one has none. */
static int parse_host(const char *s, size_t n, const struct mq_url_host *prev,
                      struct mq_url_host *h, struct error *err)
{
    const char *at = NULL;
    int rc;

    for (size_t i = n; i > 0; i--)
        if (s[i - 1] == '@') {
            at = s + i - 1;
            break;
        }
    if (at != NULL) {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        size_t ulen = colon ? (size_t)(colon - s) : (size_t)(at - s);

        rc = pct_decode(s, ulen, "user", &h->user, err);
        if (rc == 0 && colon)
            rc = pct_decode(colon + 1, (size_t)(at - colon - 1), "password", &h->password, err);
        if (rc == 0 && h->user[0] == '\0')
            rc = error_set(err, -EINVAL, "empty user");
        if (rc < 0)
            return rc;
        if (h->password == NULL)
            h->password = xstrdup("");
        n -= (size_t)(at + 1 - s);
        s = at + 1;
    } else {
        h->user = xstrdup(prev ? prev->user : "guest");
        h->password = xstrdup(prev ? prev->password : "guest");
    }
    return parse_hostport(s, n, h, err);
}

static int parse_hosts(const char *s, size_t n, struct mq_url *u, struct error *err)
{
    size_t count = 1;

    for (size_t i = 0; i < n; i++)
        count += s[i] == ',';
    if (count > MQ_URL_MAX_HOSTS)
        return error_set(err, -EINVAL, "more than %d hosts", MQ_URL_MAX_HOSTS);
    u->hosts = xcalloc(count, sizeof(*u->hosts));
    while (u->nhosts < count) {
        const char *comma = memchr(s, ',', n);
        size_t len = comma ? (size_t)(comma - s) : n;
        struct mq_url_host *h = &u->hosts[u->nhosts];
        int rc = parse_host(s, len, u->nhosts ? h - 1 : NULL, h, err);

        u->nhosts++; /* counted even on failure, so that mq_url_free() frees it */
        if (rc < 0)
            return error_prefix(err, "host %zu", u->nhosts);
        if (comma == NULL)
            break;
        n -= len + 1;
        s = comma + 1;
    }
    return 0;
}

static int parse_param(const char *s, size_t n, struct mq_url *u, struct error *err)
{
    const char *eq = memchr(s, '=', n);
    size_t klen = eq ? (size_t)(eq - s) : n;
    const char *v = eq ? eq + 1 : s + n;
    size_t vlen = (size_t)(s + n - v);

    if (klen == 9 && memcmp(s, "heartbeat", 9) == 0) {
        long h = 0;

        if (vlen == 0 || vlen > 3)
            return error_set(err, -EINVAL, "heartbeat must be 0..600 seconds");
        for (size_t i = 0; i < vlen; i++) {
            if (v[i] < '0' || v[i] > '9')
                return error_set(err, -EINVAL, "heartbeat must be 0..600 seconds");
            h = h * 10 + (v[i] - '0');
        }
        if (h > 600)
            return error_set(err, -EINVAL, "heartbeat must be 0..600 seconds");
        u->heartbeat = (int)h;
        return 0;
    }
    if (klen == 15 && memcmp(s, "connection_name", 15) == 0) {
        free(u->connection_name);
        u->connection_name = NULL;
        return pct_decode(v, vlen, "connection_name", &u->connection_name, err);
    }
    if ((klen == 3 && memcmp(s, "ssl", 3) == 0) || (klen > 4 && memcmp(s, "ssl_", 4) == 0))
        return error_set(err, -EINVAL, "TLS is not supported by this build");
    return error_set(err, -EINVAL, "unknown parameter '%.*s'", (int)(klen > 40 ? 40 : klen), s);
}

static int parse_query(const char *s, size_t n, struct mq_url *u, struct error *err)
{
    while (n > 0) {
        const char *amp = memchr(s, '&', n);
        size_t len = amp ? (size_t)(amp - s) : n;

        if (len > 0 && parse_param(s, len, u, err) < 0)
            return err ? err->code : -EINVAL;
        if (amp == NULL)
            break;
        n -= len + 1;
        s = amp + 1;
    }
    return 0;
}

static int parse_scheme(const char *text, const char **rest, struct error *err)
{
    const char *sep = strstr(text, "://");
    size_t len = sep ? (size_t)(sep - text) : 0;

    if (sep == NULL)
        return error_set(err, -EINVAL, "transport_url must start with rabbit:// or amqp://");
    if ((len == 6 && strncasecmp(text, "rabbit", 6) == 0) ||
        (len == 4 && strncasecmp(text, "amqp", 4) == 0)) {
        *rest = sep + 3;
        return 0;
    }
    if (len == 5 && strncasecmp(text, "amqps", 5) == 0)
        return error_set(err, -EINVAL, "TLS (amqps://) is not supported by this build");
    return error_set(err, -EINVAL, "unsupported scheme '%.*s' (rabbit:// or amqp://)",
                     (int)(len > 16 ? 16 : len), text);
}

static int parse_all(const char *text, struct mq_url *u, struct error *err)
{
    const char *p = NULL, *end, *path, *query;
    size_t tlen = strlen(text);

    if (tlen > MQ_URL_MAX)
        return error_set(err, -EINVAL, "transport_url is longer than %d bytes", MQ_URL_MAX);
    if (parse_scheme(text, &p, err) < 0)
        return err ? err->code : -EINVAL;
    end = text + tlen;
    if (memchr(p, '#', (size_t)(end - p)))
        return error_set(err, -EINVAL, "fragment not allowed in transport_url");
    query = memchr(p, '?', (size_t)(end - p));
    path = memchr(p, '/', (size_t)((query ? query : end) - p));
    if (parse_hosts(p, (size_t)((path ? path : query ? query : end) - p), u, err) < 0)
        return err ? err->code : -EINVAL;
    if (path && path + 1 < (query ? query : end)) {
        if (pct_decode(path + 1, (size_t)((query ? query : end) - path - 1), "vhost", &u->vhost,
                       err) < 0)
            return err ? err->code : -EINVAL;
    } else {
        u->vhost = xstrdup("/");
    }
    if (query && parse_query(query + 1, (size_t)(end - query - 1), u, err) < 0)
        return err ? err->code : -EINVAL;
    return 0;
}

int mq_url_parse(const char *text, struct mq_url **out, struct error *err)
{
    struct mq_url *u = xcalloc(1, sizeof(*u));
    struct error local;
    int rc;

    *out = NULL;
    if (err == NULL)
        err = &local;
    u->heartbeat = -1;
    rc = parse_all(text, u, err);
    if (rc < 0) {
        mq_url_free(u);
        return error_prefix(err, "bad transport_url");
    }
    *out = u;
    return 0;
}

void mq_url_free(struct mq_url *url)
{
    if (url == NULL)
        return;
    for (size_t i = 0; i < url->nhosts; i++)
        host_clear(&url->hosts[i]);
    free(url->hosts);
    free(url->vhost);
    free(url->connection_name);
    free(url);
}

char *mq_url_redacted(const struct mq_url *url, size_t i, char *out, size_t cap)
{
    const struct mq_url_host *h = &url->hosts[i];
    int v6 = strchr(h->host, ':') != NULL;

    snprintf(out, cap, "amqp://%s@%s%s%s:%d/%s", h->user, v6 ? "[" : "", h->host, v6 ? "]" : "",
             h->port, strcmp(url->vhost, "/") == 0 ? "" : url->vhost);
    return out;
}
