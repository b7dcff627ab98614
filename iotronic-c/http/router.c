/* http/router.c: see router.h.
 *
 * Each trie node has its literal children (a short list: route tables fan
 * out little), at most one parameter child, and the routes that end there,
 * indexed by method. Matching is a depth-first search, literal children
 * first, that stops at the first node holding a route for the method; the
 * methods of every other complete match are collected for the Allow header. */
#include "http/router.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "http/server.h"

struct rnode {
    char *lit;           /* literal child: its segment; NULL for the root/param */
    char *pname;         /* parameter child: the name */
    struct rnode **kids; /* literal children */
    size_t nkids;
    struct rnode *param;
    const struct http_route *by_method[HTTP_METHOD_COUNT];
    unsigned methods;
};

struct http_router {
    struct rnode root;
};

static void node_free(struct rnode *n)
{
    for (size_t i = 0; i < n->nkids; i++) {
        node_free(n->kids[i]);
        free(n->kids[i]);
    }
    if (n->param) {
        node_free(n->param);
        free(n->param);
    }
    free(n->kids);
    free(n->lit);
    free(n->pname);
}

void http_router_free(struct http_router *rt)
{
    if (rt == NULL)
        return;
    node_free(&rt->root);
    free(rt);
}

static int valid_param_name(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

static struct rnode *literal_child(struct rnode *n, const char *seg, size_t len)
{
    struct rnode *k;

    for (size_t i = 0; i < n->nkids; i++)
        if (strlen(n->kids[i]->lit) == len && memcmp(n->kids[i]->lit, seg, len) == 0)
            return n->kids[i];
    k = xcalloc(1, sizeof(*k));
    k->lit = xstrndup(seg, len);
    n->kids = xrealloc(n->kids, (n->nkids + 1) * sizeof(*n->kids));
    n->kids[n->nkids++] = k;
    return k;
}

static struct rnode *param_child(struct rnode *n, const char *name, size_t len)
{
    if (n->param == NULL) {
        n->param = xcalloc(1, sizeof(*n->param));
        n->param->pname = xstrndup(name, len);
    } else if (strlen(n->param->pname) != len || memcmp(n->param->pname, name, len) != 0) {
        return NULL;
    }
    return n->param;
}

/* Walks (creating) the nodes of one pattern; NULL with err set on a bad
 * pattern. */
static struct rnode *insert(struct rnode *root, const char *pattern, struct error *err)
{
    struct rnode *n = root;
    const char *p = pattern + 1, *end;
    size_t nparams = 0;

    if (pattern[0] != '/')
        return error_set(err, -EINVAL, "route %s: must start with '/'", pattern), NULL;
    if (strcmp(pattern, "/") == 0)
        return root;
    for (; p != NULL; p = *end ? end + 1 : NULL) {
        size_t len;

        end = strchr(p, '/');
        if (end == NULL)
            end = p + strlen(p);
        len = (size_t)(end - p);
        if (len == 0)
            return error_set(err, -EINVAL, "route %s: empty segment", pattern), NULL;
        if (p[0] == '{') {
            if (p[len - 1] != '}' || !valid_param_name(p + 1, len - 2) ||
                ++nparams > HTTP_MAX_PARAMS)
                return error_set(err, -EINVAL, "route %s: bad parameter", pattern), NULL;
            n = param_child(n, p + 1, len - 2);
            if (n == NULL)
                return error_set(err, -EINVAL,
                                 "route %s: parameter name differs from another route's", pattern),
                       NULL;
        } else {
            if (memchr(p, '{', len) || memchr(p, '}', len))
                return error_set(err, -EINVAL, "route %s: braces in a literal", pattern), NULL;
            n = literal_child(n, p, len);
        }
    }
    return n;
}

int http_router_new(const struct http_route *routes, size_t n, struct http_router **out,
                    struct error *err)
{
    struct http_router *rt = xcalloc(1, sizeof(*rt));

    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct http_route *r = &routes[i];
        struct rnode *node;

        if (r->pattern == NULL || r->handler == NULL || r->method <= HTTP_METHOD_OTHER ||
            r->method >= HTTP_METHOD_COUNT) {
            http_router_free(rt);
            return error_set(err, -EINVAL, "route %zu: method, pattern and handler are required",
                             i);
        }
        node = insert(&rt->root, r->pattern, err);
        if (node == NULL) {
            http_router_free(rt);
            return -EINVAL;
        }
        if (node->by_method[r->method] != NULL) {
            http_router_free(rt);
            return error_set(err, -EINVAL, "route %s %s: defined twice",
                             http_method_name(r->method), r->pattern);
        }
        node->by_method[r->method] = r;
        node->methods |= HTTP_METHOD_BIT(r->method);
    }
    *out = rt;
    return 0;
}

struct match {
    enum http_method m;
    char *const *segs;
    size_t nsegs;
    struct http_kv *params;
    size_t nparams;
    unsigned allow;
};

static const struct http_route *at_end(const struct rnode *n, struct match *mt)
{
    unsigned methods = n->methods;
    const struct http_route *r;

    if (methods & HTTP_METHOD_BIT(HTTP_GET))
        methods |= HTTP_METHOD_BIT(HTTP_HEAD);
    mt->allow |= methods;
    r = n->by_method[mt->m];
    if (r == NULL && mt->m == HTTP_HEAD)
        r = n->by_method[HTTP_GET];
    return r;
}

static const struct http_route *search(const struct rnode *n, size_t i, struct match *mt)
{
    const struct http_route *r;
    const char *seg;

    if (i == mt->nsegs)
        return at_end(n, mt);
    seg = mt->segs[i];
    for (size_t k = 0; k < n->nkids; k++) {
        if (strcmp(n->kids[k]->lit, seg) == 0) {
            r = search(n->kids[k], i + 1, mt);
            if (r != NULL)
                return r;
            break;
        }
    }
    if (n->param != NULL && seg[0] != '\0') {
        size_t saved = mt->nparams;

        mt->params[mt->nparams].name = n->param->pname;
        mt->params[mt->nparams].value = seg;
        mt->nparams++;
        r = search(n->param, i + 1, mt);
        if (r != NULL)
            return r;
        mt->nparams = saved;
    }
    return NULL;
}

const struct http_route *http_router_match(const struct http_router *rt, enum http_method m,
                                           char *const *segs, size_t nsegs, struct http_kv *params,
                                           size_t *nparams, unsigned *allow)
{
    struct match mt = {m, segs, nsegs, params, 0, 0};
    const struct http_route *r;

    r = search(&rt->root, 0, &mt);
    *nparams = r ? mt.nparams : 0;
    *allow = mt.allow;
    return r;
}

void http_allow_string(unsigned mask, char *out, size_t outsz)
{
    size_t n = 0;

    out[0] = '\0';
    for (int m = HTTP_GET; m < HTTP_METHOD_COUNT; m++) {
        if (!(mask & HTTP_METHOD_BIT(m)))
            continue;
        n += (size_t)snprintf(out + n, n < outsz ? outsz - n : 0, "%s%s", n ? ", " : "",
                              http_method_name((enum http_method)m));
        if (n >= outsz)
            break;
    }
}
