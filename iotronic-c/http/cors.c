/* http/cors.c: see cors.h. The simple headers are oslo.middleware's list. */
#include "http/cors.h"

#include <string.h>
#include <strings.h>

#include "http/parse.h"

#define DEFAULT_METHODS "GET, PUT, POST, DELETE, PATCH"

static const char *const simple_headers[] = {
    "Accept",           "Accept-Language", "Content-Type",  "Cache-Control",
    "Content-Language", "Expires",         "Last-Modified", "Pragma",
};

int http_cors_enabled(const struct http_cors *c)
{
    return c != NULL && c->allowed_origin != NULL && c->allowed_origin[0] != '\0';
}

static int origin_allowed(const struct http_cors *c, const char *origin)
{
    if (!http_cors_enabled(c) || origin == NULL || origin[0] == '\0')
        return 0;
    return http_list_has(c->allowed_origin, "*") || http_list_has(c->allowed_origin, origin);
}

static int header_allowed(const struct http_cors *c, const char *name, size_t n)
{
    char tok[256];

    if (n == 0)
        return 1;
    if (n >= sizeof(tok))
        return 0;
    memcpy(tok, name, n);
    tok[n] = '\0';
    for (size_t i = 0; i < sizeof(simple_headers) / sizeof(simple_headers[0]); i++)
        if (strcasecmp(simple_headers[i], tok) == 0)
            return 1;
    return http_list_has(c->allow_headers, tok);
}

/* Every comma-separated item of list is an allowed request header. */
static int headers_allowed(const struct http_cors *c, const char *list)
{
    const char *p = list;

    while (p != NULL && *p) {
        const char *end;
        size_t n;

        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        end = strchr(p, ',');
        n = end ? (size_t)(end - p) : strlen(p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (!header_allowed(c, p, n))
            return 0;
        p = end;
    }
    return 1;
}

static int common_lines(const struct http_cors *c, const char *origin, struct buf *out)
{
    int rc = buf_printf(out, "Vary: Origin\r\nAccess-Control-Allow-Origin: %s\r\n", origin);

    if (rc == 0 && c->allow_credentials)
        rc = buf_append_str(out, "Access-Control-Allow-Credentials: true\r\n");
    return rc;
}

int http_cors_preflight(const struct http_cors *c, const char *origin, const char *acr_method,
                        const char *acr_headers, struct buf *out)
{
    const char *methods;
    int rc;

    if (!origin_allowed(c, origin) || acr_method == NULL)
        return 0;
    methods = c->allow_methods ? c->allow_methods : DEFAULT_METHODS;
    if (!http_list_has(methods, acr_method) || !headers_allowed(c, acr_headers))
        return 0;
    rc = common_lines(c, origin, out);
    if (rc == 0 && c->max_age > 0)
        rc = buf_printf(out, "Access-Control-Max-Age: %lld\r\n", (long long)c->max_age);
    if (rc == 0)
        rc = buf_printf(out, "Access-Control-Allow-Methods: %s\r\n", acr_method);
    if (rc == 0 && acr_headers != NULL && acr_headers[0] != '\0')
        rc = buf_printf(out, "Access-Control-Allow-Headers: %s\r\n", acr_headers);
    return rc;
}

int http_cors_actual(const struct http_cors *c, const char *origin, struct buf *out)
{
    int rc;

    if (!origin_allowed(c, origin))
        return 0;
    rc = common_lines(c, origin, out);
    if (rc == 0 && c->expose_headers != NULL && c->expose_headers[0] != '\0')
        rc = buf_printf(out, "Access-Control-Expose-Headers: %s\r\n", c->expose_headers);
    return rc;
}
