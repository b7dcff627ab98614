/* common/cfg.c: see cfg.h.
 *
 * The store is a flat array of entries in load order; lookups scan it from
 * the end so that later files win. Configuration is small (tens of keys) and
 * read once at start, so a linear scan is the simplest correct structure. */
#include "common/cfg.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xalloc.h"

#define CFG_LINE_MAX 8192
#define CFG_FILE_MAX (4 << 20)

struct cfg_entry {
    char *section;
    char *key;
    char *value;
    char *file;
    int line;
    int file_no; /* which cfg_load() call */
};

struct cfg_known {
    const struct cfg_opt *opts;
    size_t n;
};

#define CFG_KNOWN_MAX 16

struct cfg {
    struct cfg_entry *e;
    size_t n, cap;
    int files;
    struct cfg_known known[CFG_KNOWN_MAX]; /* other programs' options (cfg_add_known) */
    size_t nknown;
};

struct cfg *cfg_new(void)
{
    return xcalloc(1, sizeof(struct cfg));
}

void cfg_free(struct cfg *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].section);
        free(c->e[i].key);
        free(c->e[i].value);
        free(c->e[i].file);
    }
    free(c->e);
    free(c);
}

static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static void unquote(char *v)
{
    size_t len = strlen(v);

    if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0]) {
        memmove(v, v + 1, len - 2);
        v[len - 2] = '\0';
    }
}

static struct cfg_entry *find_in_file(struct cfg *c, int file_no, const char *section,
                                      const char *key)
{
    for (size_t i = 0; i < c->n; i++) {
        struct cfg_entry *e = &c->e[i];

        if (e->file_no == file_no && strcmp(e->section, section) == 0 && strcmp(e->key, key) == 0)
            return e;
    }
    return NULL;
}

static int add_entry(struct cfg *c, const char *file, int line, const char *section,
                     const char *key, const char *value, struct error *err)
{
    struct cfg_entry *dup = find_in_file(c, c->files, section, key);

    if (dup != NULL)
        return error_set(err, -EINVAL, "%s:%d: duplicate option [%s] %s (first at line %d)",
                         file, line, section, key, dup->line);
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 32;
        c->e = xrealloc(c->e, c->cap * sizeof(*c->e));
    }
    c->e[c->n++] = (struct cfg_entry){ xstrdup(section), xstrdup(key), xstrdup(value),
                                       xstrdup(file), line, c->files };
    return 0;
}

static int valid_key(const char *k)
{
    if (*k == '\0')
        return 0;
    for (; *k; k++)
        if (!(isalnum((unsigned char)*k) || *k == '_' || *k == '-' || *k == '.'))
            return 0;
    return 1;
}

/* Appends an indented continuation line to the last entry of this file. */
static int continue_value(struct cfg *c, const char *name, int lineno, const char *text,
                          struct error *err)
{
    struct cfg_entry *last = c->n > 0 ? &c->e[c->n - 1] : NULL;
    char *joined;

    if (last == NULL || last->file_no != c->files)
        return error_set(err, -EINVAL, "%s:%d: continuation line without an option", name,
                         lineno);
    joined = xasprintf("%s\n%s", last->value, text);
    free(last->value);
    last->value = joined;
    return 0;
}

static int parse_line(struct cfg *c, const char *name, int lineno, char *raw, char *section,
                      size_t seclen, struct error *err)
{
    int indented = raw[0] == ' ' || raw[0] == '\t';
    char *s = trim(raw), *eq;

    if (*s == '\0' || *s == '#' || *s == ';')
        return 0;
    if (indented && section[0] != '\0' && strchr(s, '=') == NULL)
        return continue_value(c, name, lineno, s, err);
    if (*s == '[') {
        char *close = strchr(s, ']');

        if (close == NULL || *trim(close + 1) != '\0' || close == s + 1)
            return error_set(err, -EINVAL, "%s:%d: malformed section header", name, lineno);
        *close = '\0';
        snprintf(section, seclen, "%s", trim(s + 1));
        return 0;
    }
    eq = strchr(s, '=');
    if (eq == NULL)
        return error_set(err, -EINVAL, "%s:%d: expected 'key = value'", name, lineno);
    *eq = '\0';
    if (section[0] == '\0')
        return error_set(err, -EINVAL, "%s:%d: option %s outside any section", name, lineno,
                         trim(s));
    if (!valid_key(trim(s)))
        return error_set(err, -EINVAL, "%s:%d: invalid option name '%s'", name, lineno, trim(s));
    {
        char *value = trim(eq + 1);

        unquote(value);
        return add_entry(c, name, lineno, section, trim(s), value, err);
    }
}

int cfg_load_text(struct cfg *c, const char *name, const char *text, struct error *err)
{
    char section[128] = "";
    const char *p = text;
    int lineno = 0;

    c->files++;
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char line[CFG_LINE_MAX];
        int rc;

        lineno++;
        if (len >= sizeof(line))
            return error_set(err, -EINVAL, "%s:%d: line too long", name, lineno);
        memcpy(line, p, len);
        line[len] = '\0';
        if (memchr(line, '\0', len) != NULL || strlen(line) != len)
            return error_set(err, -EINVAL, "%s:%d: NUL byte in line", name, lineno);
        rc = parse_line(c, name, lineno, line, section, sizeof(section), err);
        if (rc < 0)
            return rc;
        p += len + (nl ? 1 : 0);
    }
    return 0;
}

int cfg_load(struct cfg *c, const char *path, struct error *err)
{
    FILE *f = fopen(path, "re");
    struct buf b;
    char chunk[4096];
    size_t got;
    int rc = 0;

    if (f == NULL)
        return error_set(err, -errno, "%s: cannot open: %s", path, strerror(errno));
    buf_init(&b, CFG_FILE_MAX);
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (memchr(chunk, '\0', got) != NULL) {
            rc = error_set(err, -EINVAL, "%s: binary data (NUL byte) in configuration", path);
            goto out;
        }
        if (buf_append(&b, chunk, got) < 0) {
            rc = error_set(err, -EFBIG, "%s: file larger than %d bytes", path, CFG_FILE_MAX);
            goto out;
        }
    }
    if (ferror(f)) {
        rc = error_set(err, -EIO, "%s: read error", path);
        goto out;
    }
    rc = cfg_load_text(c, path, b.data ? b.data : "", err);
out:
    buf_free(&b);
    fclose(f);
    return rc;
}

static const struct cfg_entry *lookup(const struct cfg *c, const char *section, const char *key)
{
    for (size_t i = c->n; i-- > 0;) {
        const struct cfg_entry *e = &c->e[i];

        if (strcmp(e->section, section) == 0 && strcmp(e->key, key) == 0)
            return e;
    }
    return NULL;
}

const char *cfg_get(const struct cfg *c, const char *section, const char *key)
{
    const struct cfg_entry *e = lookup(c, section, key);

    return e ? e->value : NULL;
}

void cfg_each(const struct cfg *c, const char *section,
              void (*fn)(const char *key, const char *value, void *arg), void *arg)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->e[i].section, section) == 0)
            fn(c->e[i].key, c->e[i].value, arg);
}

int cfg_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1", "t", "y" };
    static const char *const no[] = { "false", "no", "off", "0", "f", "n" };

    for (size_t i = 0; i < 6; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -EINVAL;
}

static int parse_int(const char *s, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *trim(end) != '\0')
        return -EINVAL;
    *out = v;
    return 0;
}

static int choice_index(const char *choices, const char *v)
{
    size_t vlen = strlen(v);
    int idx = 0;

    for (const char *p = choices; *p != '\0'; idx++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);

        if (len == vlen && strncasecmp(p, v, len) == 0)
            return idx;
        if (bar == NULL)
            break;
        p = bar + 1;
    }
    return -1;
}

/* Stores text into the field of opt. where is "file:line" or "default". */
static int store(const struct cfg_opt *o, void *dst, const char *text, const char *where,
                 struct error *err)
{
    char *field = (char *)dst + o->offset;
    int64_t iv;
    double dv;
    int bv;
    char *end;

    switch (o->type) {
    case CFG_STR:
        free(*(char **)field);
        *(char **)field = xstrdup(text);
        return 0;
    case CFG_INT:
        if (parse_int(text, &iv) < 0)
            return error_set(err, -EINVAL, "%s: [%s] %s: '%s' is not an integer", where,
                             o->section, o->key, text);
        if ((o->min || o->max) && (iv < o->min || iv > o->max))
            return error_set(err, -EINVAL, "%s: [%s] %s: %lld is outside %lld..%lld", where,
                             o->section, o->key, (long long)iv, (long long)o->min,
                             (long long)o->max);
        *(int64_t *)field = iv;
        return 0;
    case CFG_DOUBLE:
        errno = 0;
        dv = strtod(text, &end);
        if (errno != 0 || end == text || *trim(end) != '\0' || !isfinite(dv))
            return error_set(err, -EINVAL, "%s: [%s] %s: '%s' is not a number", where,
                             o->section, o->key, text);
        if ((o->min || o->max) && (dv < (double)o->min || dv > (double)o->max))
            return error_set(err, -EINVAL, "%s: [%s] %s: %g is outside %lld..%lld", where,
                             o->section, o->key, dv, (long long)o->min, (long long)o->max);
        *(double *)field = dv;
        return 0;
    case CFG_BOOL:
        if (cfg_parse_bool(text, &bv) < 0)
            return error_set(err, -EINVAL, "%s: [%s] %s: '%s' is not a boolean", where,
                             o->section, o->key, text);
        *(int *)field = bv;
        return 0;
    case CFG_ENUM:
        bv = choice_index(o->choices, text);
        if (bv < 0)
            return error_set(err, -EINVAL, "%s: [%s] %s: '%s' is not one of %s", where,
                             o->section, o->key, text, o->choices);
        *(int *)field = bv;
        return 0;
    case CFG_IGNORED:
        return 0;
    }
    return -EINVAL;
}

static int bind_one(const struct cfg *c, const struct cfg_opt *o, void *dst, struct error *err)
{
    const struct cfg_entry *e = lookup(c, o->section, o->key);
    char where[512];
    int rc;

    if (o->def != NULL) {
        rc = store(o, dst, o->def, "default", err);
        if (rc < 0)
            return rc;
    }
    if (e == NULL) {
        if (o->flags & CFG_REQUIRED)
            return error_set(err, -EINVAL, "missing required option [%s] %s", o->section,
                             o->key);
        return 0;
    }
    snprintf(where, sizeof(where), "%s:%d", e->file, e->line);
    if (o->type == CFG_IGNORED) {
        log_warn("%s: option [%s] %s is no longer used and is ignored", where, o->section,
                 o->key);
        return 0;
    }
    return store(o, dst, e->value, where, err);
}

static int table_has(const struct cfg_table *t, size_t nt, const char *section, const char *key)
{
    for (size_t i = 0; i < nt; i++)
        for (size_t j = 0; j < t[i].n; j++)
            if (strcmp(t[i].opts[j].section, section) == 0 &&
                (key == NULL || strcmp(t[i].opts[j].key, key) == 0))
                return 1;
    return 0;
}

void cfg_add_known(struct cfg *c, const struct cfg_opt *opts, size_t n)
{
    if (c->nknown == CFG_KNOWN_MAX)
        abort(); /* a fixed, small set of programs share a file */
    c->known[c->nknown++] = (struct cfg_known){ opts, n };
}

static int known_elsewhere(const struct cfg *c, const char *section, const char *key)
{
    for (size_t i = 0; i < c->nknown; i++)
        for (size_t j = 0; j < c->known[i].n; j++)
            if (strcmp(c->known[i].opts[j].section, section) == 0 &&
                (c->known[i].opts[j].key == NULL || strcmp(c->known[i].opts[j].key, key) == 0))
                return 1;
    return 0;
}

int cfg_bind(const struct cfg *c, const struct cfg_table *tables, size_t ntables,
             struct error *err)
{
    for (size_t i = 0; i < ntables; i++) {
        for (size_t j = 0; j < tables[i].n; j++) {
            int rc = bind_one(c, &tables[i].opts[j], tables[i].dst, err);

            if (rc < 0)
                return rc;
        }
    }
    for (size_t i = 0; i < c->n; i++) {
        const struct cfg_entry *e = &c->e[i];

        if (table_has(tables, ntables, e->section, NULL) &&
            !table_has(tables, ntables, e->section, e->key) &&
            !known_elsewhere(c, e->section, e->key))
            log_warn("%s:%d: unknown option [%s] %s", e->file, e->line, e->section, e->key);
    }
    return 0;
}

void cfg_unbind(const struct cfg_table *tables, size_t ntables)
{
    for (size_t i = 0; i < ntables; i++) {
        for (size_t j = 0; j < tables[i].n; j++) {
            const struct cfg_opt *o = &tables[i].opts[j];

            if (o->type == CFG_STR) {
                char **field = (char **)((char *)tables[i].dst + o->offset);

                free(*field);
                *field = NULL;
            }
        }
    }
}

int cfg_load_args(struct cfg *c, int *argc, char **argv, const char *default_path,
                  struct error *err)
{
    int out = 1, loaded = 0;

    for (int i = 1; i < *argc; i++) {
        const char *path = NULL;

        if (strcmp(argv[i], "--config-file") == 0) {
            if (i + 1 >= *argc)
                return error_set(err, -EINVAL, "--config-file needs a path");
            path = argv[++i];
        } else if (strncmp(argv[i], "--config-file=", 14) == 0) {
            path = argv[i] + 14;
        }
        if (path == NULL) {
            argv[out++] = argv[i];
            continue;
        }
        if (cfg_load(c, path, err) < 0)
            return err ? err->code : -EINVAL;
        loaded++;
    }
    argv[out] = NULL;
    *argc = out;
    if (loaded == 0 && default_path != NULL) {
        int rc = cfg_load(c, default_path, err);

        if (rc < 0 && rc != -ENOENT)
            return rc;
        error_clear(err);
    }
    return 0;
}
