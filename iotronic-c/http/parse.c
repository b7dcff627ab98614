/* http/parse.c: see parse.h.
 *
 * Grammar (RFC 9112), with the leniencies most servers have: a line may end
 * in LF alone, and empty lines before the request line are skipped by the
 * caller. Everything else that RFC 9112 calls a request smuggling risk is
 * refused: obsolete line folding, whitespace before a header's colon, both
 * Content-Length and Transfer-Encoding, differing Content-Lengths, and
 * control characters in values. */
#include "http/parse.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static const char *const method_names[HTTP_METHOD_COUNT] = {
    NULL, "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
};

const char *http_method_name(enum http_method m)
{
    return (m > HTTP_METHOD_OTHER && m < HTTP_METHOD_COUNT) ? method_names[m] : NULL;
}

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

size_t http_head_end(const char *buf, size_t len, size_t *scan)
{
    size_t i = *scan;

    for (; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        /* A line ends here; the head ends if the next line is empty. */
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
        if (i + 2 >= len) {
            /* Not enough bytes yet to tell: resume at this LF. */
            *scan = i;
            return 0;
        }
    }
    *scan = len > 0 ? len - 1 : 0;
    return 0;
}

/* Cuts the line starting at *p (ending in LF or CRLF) and advances *p past
 * it. Returns the line, NUL-terminated, or NULL at the end of the buffer or
 * for a CR that is not followed by LF. */
static char *next_line(char **p, char *end)
{
    char *line = *p, *lf;

    if (line >= end)
        return NULL;
    lf = memchr(line, '\n', (size_t)(end - line));
    if (lf == NULL)
        return NULL;
    *p = lf + 1;
    if (lf > line && lf[-1] == '\r')
        lf--;
    *lf = '\0';
    if (memchr(line, '\r', (size_t)(lf - line)) != NULL)
        return NULL;
    return line;
}

static enum http_method method_of(const char *s)
{
    for (int m = HTTP_GET; m < HTTP_METHOD_COUNT; m++)
        if (strcmp(s, method_names[m]) == 0)
            return (enum http_method)m;
    return HTTP_METHOD_OTHER;
}

/* Accepts origin-form ("/p?q") and absolute-form ("http://h/p?q"). */
static int split_target(char *target, struct http_head *h, struct http_arena *a)
{
    char *path = target, *q;

    if (strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0) {
        path = strchr(strstr(target, "://") + 3, '/');
        if (path == NULL)
            path = "/";
        path = http_arena_strdup(a, path); /* target itself stays intact */
    }
    if (path[0] != '/')
        return -1;
    for (const unsigned char *c = (const unsigned char *)path; *c; c++)
        if (*c <= 0x20 || *c == 0x7f || *c == '#')
            return -1;
    q = strchr(path, '?');
    if (q != NULL) {
        if (path == target)
            path = http_arena_strndup(a, target, (size_t)(q - target));
        else
            *q = '\0';
        h->query = q + 1;
    }
    h->path = path;
    return 0;
}

static int parse_request_line(char *line, struct http_head *h, struct http_arena *a,
                              const char **why)
{
    char *sp1 = strchr(line, ' '), *sp2, *ver;

    if (sp1 == NULL || sp1 == line)
        return *why = "malformed request line", 400;
    *sp1 = '\0';
    if (sp1 - line > HTTP_MAX_METHOD_LEN)
        return *why = "method too long", 400;
    for (const char *c = line; *c; c++)
        if (!is_tchar((unsigned char)*c))
            return *why = "malformed method", 400;
    sp2 = strchr(sp1 + 1, ' ');
    if (sp2 == NULL || sp2 == sp1 + 1)
        return *why = "malformed request line", 400;
    *sp2 = '\0';
    ver = sp2 + 1;
    if (strncmp(ver, "HTTP/", 5) != 0 || strlen(ver) != 8 || ver[6] != '.' || ver[5] < '0' ||
        ver[5] > '9' || ver[7] < '0' || ver[7] > '9')
        return *why = "malformed HTTP version", 400;
    if (ver[5] != '1')
        return *why = "HTTP version not supported", 505;
    h->minor = ver[7] == '0' ? 0 : 1;
    h->method_name = line;
    h->method = method_of(line);
    h->target = sp1 + 1;
    if (split_target(sp1 + 1, h, a) < 0)
        return *why = "malformed request target", 400;
    return 0;
}

static char *trim_ows(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    return s;
}

static int parse_header_line(char *line, struct http_kv *kv, const char **why)
{
    char *colon = strchr(line, ':');

    if (line[0] == ' ' || line[0] == '\t')
        return *why = "obsolete header folding", 400;
    if (colon == NULL || colon == line)
        return *why = "malformed header line", 400;
    *colon = '\0';
    for (const char *c = line; *c; c++)
        if (!is_tchar((unsigned char)*c))
            return *why = "malformed header name", 400;
    kv->name = line;
    kv->value = trim_ows(colon + 1);
    for (const unsigned char *c = (const unsigned char *)kv->value; *c; c++)
        if ((*c < 0x20 && *c != '\t') || *c == 0x7f)
            return *why = "control character in a header value", 400;
    return 0;
}

/* Strict Content-Length: digits only, at most 2^62. */
static int parse_length(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > ((uint64_t)1 << 62) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

int http_list_has(const char *list, const char *tok)
{
    size_t tl = strlen(tok);

    while (list != NULL && *list) {
        const char *end;
        size_t n;

        while (*list == ' ' || *list == '\t' || *list == ',')
            list++;
        end = strchr(list, ',');
        n = end ? (size_t)(end - list) : strlen(list);
        while (n > 0 && (list[n - 1] == ' ' || list[n - 1] == '\t'))
            n--;
        if (n == tl && strncasecmp(list, tok, tl) == 0)
            return 1;
        list = end;
    }
    return 0;
}

static int framing_header(struct http_head *h, const struct http_kv *kv, const char **why)
{
    uint64_t len;

    if (strcasecmp(kv->name, "Content-Length") == 0) {
        if (parse_length(kv->value, &len) < 0)
            return *why = "malformed Content-Length", 400;
        if (h->has_length && len != h->content_length)
            return *why = "conflicting Content-Length headers", 400;
        h->has_length = 1;
        h->content_length = len;
    } else if (strcasecmp(kv->name, "Transfer-Encoding") == 0) {
        if (h->chunked || strcasecmp(kv->value, "chunked") != 0)
            return *why = "unsupported Transfer-Encoding", 501;
        h->chunked = 1;
    } else if (strcasecmp(kv->name, "Host") == 0) {
        if (h->host != NULL)
            return *why = "more than one Host header", 400;
        h->host = kv->value;
    } else if (strcasecmp(kv->name, "Expect") == 0) {
        if (strcasecmp(kv->value, "100-continue") != 0)
            return *why = "unsupported Expect", 417;
        h->expect_continue = 1;
    }
    return 0;
}

static void set_keep_alive(struct http_head *h)
{
    const char *conn = NULL;

    for (size_t i = 0; i < h->nheaders; i++)
        if (strcasecmp(h->headers[i].name, "Connection") == 0)
            conn = h->headers[i].value;
    if (h->minor == 0)
        h->keep_alive = http_list_has(conn, "keep-alive");
    else
        h->keep_alive = !http_list_has(conn, "close");
}

/* Host is echoed into links (<base>): allow only what a host[:port] or an
 * IPv6 literal can contain. */
static int valid_host(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr(".-_:[]", *s) != NULL))
            return 0;
    return 1;
}

static int parse_headers(char **p, char *end, struct http_head *h, struct http_arena *a,
                         const char **why)
{
    struct http_kv kv[HTTP_MAX_HEADERS];
    char *line;
    int rc;

    while ((line = next_line(p, end)) != NULL && *line != '\0') {
        if (h->nheaders == HTTP_MAX_HEADERS)
            return *why = "too many header lines", 431;
        rc = parse_header_line(line, &kv[h->nheaders], why);
        if (rc == 0)
            rc = framing_header(h, &kv[h->nheaders], why);
        if (rc != 0)
            return rc;
        h->nheaders++;
    }
    if (line == NULL)
        return *why = "malformed header section", 400;
    h->headers = http_arena_alloc(a, (h->nheaders ? h->nheaders : 1) * sizeof(*h->headers));
    memcpy(h->headers, kv, h->nheaders * sizeof(*h->headers));
    return 0;
}

int http_parse_head(char *buf, size_t len, struct http_head *h, struct http_arena *a,
                    const char **why)
{
    char *p = buf, *end = buf + len, *line;
    int rc;

    memset(h, 0, sizeof(*h));
    *why = "";
    if (memchr(buf, '\0', len) != NULL)
        return *why = "NUL byte in the head", 400;
    line = next_line(&p, end);
    if (line == NULL)
        return *why = "malformed request line", 400;
    rc = parse_request_line(line, h, a, why);
    if (rc == 0)
        rc = parse_headers(&p, end, h, a, why);
    if (rc != 0)
        return rc;
    if (h->chunked && h->has_length)
        return *why = "both Content-Length and Transfer-Encoding", 400;
    if (h->chunked && h->minor == 0)
        return *why = "chunked body in HTTP/1.0", 400;
    if (h->host != NULL && !valid_host(h->host))
        return *why = "malformed Host", 400;
    set_keep_alive(h);
    return 0;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

ssize_t http_pct_decode(const char *in, size_t len, char *out, int plus)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];

        if (c == '%') {
            int hi, lo;

            if (i + 2 >= len)
                return -1;
            hi = hexval((unsigned char)in[i + 1]);
            lo = hexval((unsigned char)in[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        } else if (c == '\0') {
            return -1;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return (ssize_t)o;
}

int http_split_path(const char *path, struct http_arena *a, char ***segs, size_t *nsegs)
{
    size_t len = strlen(path), n = 0, cap = 1;
    const char *p, *end;
    char **v;

    *segs = NULL;
    *nsegs = 0;
    if (len == 0 || path[0] != '/')
        return -EINVAL;
    if (len > 1 && path[len - 1] == '/')
        len--; /* one trailing slash is ignored */
    for (size_t i = 1; i < len; i++)
        cap += path[i] == '/';
    if (len == 1)
        return 0;
    v = http_arena_alloc(a, cap * sizeof(*v));
    for (p = path + 1; p <= path + len; p = end + 1) {
        ssize_t dl;

        end = memchr(p, '/', (size_t)(path + len - p));
        if (end == NULL)
            end = path + len;
        v[n] = http_arena_alloc(a, (size_t)(end - p) + 1);
        dl = http_pct_decode(p, (size_t)(end - p), v[n], 0);
        if (dl < 0)
            return -EINVAL;
        n++;
    }
    *segs = v;
    *nsegs = n;
    return 0;
}

int http_parse_query(const char *query, struct http_arena *a, struct http_kv **out, size_t *n)
{
    size_t cap = 1, k = 0;
    struct http_kv *v;
    const char *p, *end;

    *out = NULL;
    *n = 0;
    if (query == NULL || *query == '\0')
        return 0;
    for (p = query; *p; p++)
        cap += *p == '&';
    v = http_arena_alloc(a, cap * sizeof(*v));
    for (p = query; p != NULL; p = *end ? end + 1 : NULL) {
        const char *eq;
        char *name, *value;

        end = strchr(p, '&');
        if (end == NULL)
            end = p + strlen(p);
        if (end == p)
            continue;
        eq = memchr(p, '=', (size_t)(end - p));
        if (eq == NULL)
            eq = end;
        name = http_arena_alloc(a, (size_t)(eq - p) + 1);
        value = http_arena_alloc(a, eq < end ? (size_t)(end - eq) : 1);
        if (http_pct_decode(p, (size_t)(eq - p), name, 1) < 0)
            return -EINVAL;
        if (eq < end ? http_pct_decode(eq + 1, (size_t)(end - eq - 1), value, 1) < 0
                     : (value[0] = '\0', 0))
            return -EINVAL;
        v[k].name = name;
        v[k].value = value;
        k++;
    }
    *out = v;
    *n = k;
    return 0;
}
