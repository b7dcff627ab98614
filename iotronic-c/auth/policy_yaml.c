/* auth/policy_yaml.c: see policy_yaml.h. One pass over each line; scalars
 * are unescaped into a line-sized buffer. */
#include "auth/policy_yaml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

/* Reads a quoted scalar starting at *p (on the quote) into out; advances *p
 * past the closing quote. -1 when it is not closed on this line. */
static int quoted(const char **p, char *out)
{
    char q = **p;
    const char *s = *p + 1;
    size_t n = 0;

    for (; *s; s++) {
        if (*s == q) {
            if (q == '\'' && s[1] == '\'') {
                out[n++] = '\'';
                s++;
                continue;
            }
            out[n] = '\0';
            *p = s + 1;
            return 0;
        }
        if (q == '"' && *s == '\\' && s[1] != '\0') {
            s++;
            out[n++] = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
            continue;
        }
        out[n++] = *s;
    }
    return -1;
}

static const char *skip_blank(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Nothing but blanks and an optional comment may follow a scalar. */
static int rest_is_empty(const char *p)
{
    p = skip_blank(p);
    return *p == '\0' || *p == '#';
}

static int parse_key(const char **p, char *out)
{
    const char *s = *p, *colon;

    if (*s == '\'' || *s == '"') {
        if (quoted(p, out) < 0)
            return -1;
        s = skip_blank(*p);
        if (*s != ':')
            return -1;
        *p = s + 1;
        return 0;
    }
    /* A plain key ends at the first ':' followed by a blank or the end. */
    for (colon = strchr(s, ':'); colon != NULL; colon = strchr(colon + 1, ':'))
        if (colon[1] == '\0' || colon[1] == ' ' || colon[1] == '\t')
            break;
    if (colon == NULL || colon == s)
        return -1;
    memcpy(out, s, (size_t)(colon - s));
    out[colon - s] = '\0';
    *p = colon + 1;
    return 0;
}

static int parse_value(const char *p, char *out)
{
    const char *hash;
    size_t n;

    p = skip_blank(p);
    if (*p == '\'' || *p == '"')
        return quoted(&p, out) == 0 && rest_is_empty(p) ? 0 : -1;
    if (*p == '[' || *p == '{' || *p == '|' || *p == '>' || *p == '&' || *p == '*')
        return -1; /* collections, block scalars, anchors: not a flat policy */
    for (hash = strchr(p, '#'); hash != NULL && hash > p && hash[-1] != ' ' && hash[-1] != '\t';
         hash = strchr(hash + 1, '#'))
        ;
    n = hash ? (size_t)(hash - p) : strlen(p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static int parse_line(const char *line, char *key, char *value)
{
    const char *p = line;

    if (*p == ' ' || *p == '\t')
        return -1; /* indentation means nesting or a continuation */
    if (parse_key(&p, key) < 0)
        return -1;
    if (*p != '\0' && *p != ' ' && *p != '\t')
        return -1;
    return parse_value(p, value);
}

int policy_yaml_parse(const char *path, const char *text,
                      int (*add)(void *arg, const char *name, const char *expr, struct error *err),
                      void *arg, struct error *err)
{
    char *copy = xstrdup(text), *save = NULL, *line, *key = NULL, *value = NULL;
    int lineno = 0, rc = 0;

    for (line = copy; rc == 0 && line != NULL; line = save) {
        const char *s;
        size_t n;

        save = strchr(line, '\n');
        if (save != NULL)
            *save++ = '\0';
        lineno++;
        n = strlen(line);
        if (n > 0 && line[n - 1] == '\r')
            line[--n] = '\0';
        s = skip_blank(line);
        if (*s == '\0' || *s == '#' || (lineno == 1 && strcmp(line, "---") == 0) ||
            strcmp(s, "{}") == 0)
            continue;
        free(key);
        free(value);
        key = xmalloc(n + 1);
        value = xmalloc(n + 1);
        if (parse_line(line, key, value) < 0)
            rc = error_set(err, -EINVAL, "%s:%d: not a flat 'rule: expression' line", path, lineno);
        else if (add(arg, key, value, err) < 0)
            rc = -EINVAL, error_prefix(err, "%s:%d", path, lineno);
    }
    free(key);
    free(value);
    free(copy);
    return rc;
}
