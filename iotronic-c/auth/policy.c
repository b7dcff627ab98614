/* auth/policy.c: rule sets, the policy file and its reloading (policy.h).
 *
 * A rule set is immutable once published: the rules sorted by name (looked
 * up with bsearch), each with its parsed tree, `rule:` references resolved
 * to indexes, and no reference cycles. The policy holds the current set
 * behind a mutex; a check takes a reference to it, evaluates without any
 * lock, and drops the reference, so a reload never waits for checks nor
 * frees a set under one. */
#include "auth/policy.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "auth/policy_expr.h"
#include "auth/policy_yaml.h"
#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

struct rule {
    char *name;
    struct policy_expr *expr;
};

struct ruleset {
    struct rule *rules;               /* sorted by name */
    const struct policy_expr **trees; /* by index, for evaluation */
    size_t n;
    _Atomic int refs;
};

/* One override read from the file. */
struct override {
    char *name, *expr;
};

struct policy {
    pthread_mutex_t lock;   /* guards cur and the file fingerprint */
    pthread_mutex_t reload; /* one reload at a time */
    struct ruleset *cur;
    const struct policy_rule_default *defaults;
    size_t ndefaults;
    char *file; /* absolute or as given; NULL: none */
    char *default_rule;
    int enforce;
    int64_t check_ms;
    _Atomic int64_t next_check; /* monotonic ms */
    int file_seen;              /* the file existed at the last load */
    struct timespec mtime;
    off_t size;
    ino_t ino;
};

/* ------------------------------------------------------------ rule sets */

static void ruleset_free(struct ruleset *rs)
{
    if (rs == NULL)
        return;
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->rules[i].name);
        policy_expr_free(rs->rules[i].expr);
    }
    free(rs->rules);
    free(rs->trees);
    free(rs);
}

static void ruleset_unref(struct ruleset *rs)
{
    if (rs != NULL && atomic_fetch_sub(&rs->refs, 1) == 1)
        ruleset_free(rs);
}

static int cmp_rule(const void *a, const void *b)
{
    return strcmp(((const struct rule *)a)->name, ((const struct rule *)b)->name);
}

static int find_rule(const struct ruleset *rs, const char *name)
{
    struct rule key = {.name = (char *)name};
    const struct rule *r = bsearch(&key, rs->rules, rs->n, sizeof(*rs->rules), cmp_rule);

    return r ? (int)(r - rs->rules) : -1;
}

static int resolve_cb(const char *name, void *arg)
{
    int i = find_rule(arg, name);

    if (i < 0)
        log_warn("policy: rule:%s refers to no rule (it is false)", name);
    return i;
}

/* Depth-first search for cycles: 0 unvisited, 1 on the stack, 2 done. */
struct cycle_walk {
    const struct ruleset *rs;
    unsigned char *color;
};

static int visit(int i, void *arg)
{
    struct cycle_walk *w = arg;
    int rc;

    if (w->color[i] == 1)
        return i + 1; /* back edge: rule i is on a cycle */
    if (w->color[i] == 2)
        return 0;
    w->color[i] = 1;
    rc = policy_expr_each_ref(w->rs->rules[i].expr, visit, w);
    w->color[i] = 2;
    return rc;
}

static int check_cycles(const struct ruleset *rs, struct error *err)
{
    struct cycle_walk w = {rs, xcalloc(rs->n ? rs->n : 1, 1)};
    int rc = 0;

    for (size_t i = 0; i < rs->n && rc == 0; i++)
        rc = visit((int)i, &w);
    free(w.color);
    if (rc != 0)
        return error_set(err, -EINVAL, "rule %s refers to itself through rule: references",
                         rs->rules[rc - 1].name);
    return 0;
}

static const char *override_for(const struct override *ov, size_t nov, const char *name)
{
    for (size_t i = nov; i > 0; i--)
        if (strcmp(ov[i - 1].name, name) == 0)
            return ov[i - 1].expr;
    return NULL;
}

static int add_rule(struct ruleset *rs, const char *name, const char *text, const char *where,
                    struct error *err)
{
    struct policy_expr *e;

    if (policy_expr_parse(text, &e, err) < 0) {
        error_prefix(err, "%s: rule %s", where, name);
        return -EINVAL;
    }
    rs->rules[rs->n].name = xstrdup(name);
    rs->rules[rs->n].expr = e;
    rs->n++;
    return 0;
}

/* Builds a set from the defaults and the overrides. */
static int ruleset_build(const struct policy *p, const struct override *ov, size_t nov,
                         struct ruleset **out, struct error *err)
{
    struct ruleset *rs = xcalloc(1, sizeof(*rs));
    int rc = 0;

    rs->rules = xcalloc(p->ndefaults + nov + 1, sizeof(*rs->rules));
    for (size_t i = 0; rc == 0 && i < p->ndefaults; i++) {
        const char *o = override_for(ov, nov, p->defaults[i].name);

        rc = add_rule(rs, p->defaults[i].name, o ? o : p->defaults[i].expr,
                      o ? p->file : "policy defaults", err);
    }
    for (size_t i = 0; rc == 0 && i < nov; i++) {
        int known = 0;

        for (size_t k = 0; k < rs->n && !known; k++)
            known = strcmp(rs->rules[k].name, ov[i].name) == 0;
        if (!known && override_for(ov + i + 1, nov - i - 1, ov[i].name) == NULL)
            rc = add_rule(rs, ov[i].name, ov[i].expr, p->file, err);
    }
    if (rc == 0) {
        qsort(rs->rules, rs->n, sizeof(*rs->rules), cmp_rule);
        for (size_t i = 0; i < rs->n; i++)
            policy_expr_resolve(rs->rules[i].expr, resolve_cb, rs);
        rc = check_cycles(rs, err);
    }
    if (rc < 0) {
        ruleset_free(rs);
        return rc;
    }
    rs->trees = xcalloc(rs->n ? rs->n : 1, sizeof(*rs->trees));
    for (size_t i = 0; i < rs->n; i++)
        rs->trees[i] = rs->rules[i].expr;
    atomic_init(&rs->refs, 1);
    *out = rs;
    return 0;
}

/* ------------------------------------------------------------ the file */

static void overrides_free(struct override *ov, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(ov[i].name);
        free(ov[i].expr);
    }
    free(ov);
}

static void push_override(struct override **ov, size_t *n, const char *name, size_t nlen,
                          const char *expr, size_t elen)
{
    *ov = xrealloc(*ov, (*n + 1) * sizeof(**ov));
    (*ov)[*n].name = xstrndup(name, nlen);
    (*ov)[*n].expr = xstrndup(expr, elen);
    (*n)++;
}

static int parse_json_file(const char *path, const char *text, size_t len, struct override **ov,
                           size_t *nov, struct error *err)
{
    cJSON *root = NULL, *item;
    int rc = json_parse(text, len, &root, err);

    if (rc < 0) {
        error_prefix(err, "%s", path);
        return -EINVAL;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return error_set(err, -EINVAL, "%s: not a JSON object of rules", path);
    }
    cJSON_ArrayForEach(item, root)
    {
        if (!cJSON_IsString(item)) {
            rc = error_set(err, -EINVAL, "%s: rule %s: the value must be a string", path,
                           item->string);
            break;
        }
        if (*nov >= POLICY_MAX_RULES) {
            rc = error_set(err, -EINVAL, "%s: more than %d rules", path, POLICY_MAX_RULES);
            break;
        }
        push_override(ov, nov, item->string, strlen(item->string), item->valuestring,
                      strlen(item->valuestring));
    }
    cJSON_Delete(root);
    return rc;
}

static int add_yaml_rule(void *arg, const char *name, const char *expr, struct error *err)
{
    struct override **ov = ((void **)arg)[0];
    size_t *nov = ((void **)arg)[1];

    if (*nov >= POLICY_MAX_RULES)
        return error_set(err, -EINVAL, "more than %d rules", POLICY_MAX_RULES);
    push_override(ov, nov, name, strlen(name), expr, strlen(expr));
    return 0;
}

static int parse_yaml_file(const char *path, const char *text, struct override **ov, size_t *nov,
                           struct error *err)
{
    void *ctx[2] = {ov, nov};

    return policy_yaml_parse(path, text, add_yaml_rule, ctx, err);
}

static int read_file(const char *path, char **text, size_t *len, struct error *err)
{
    FILE *f = fopen(path, "re");
    char *buf;
    size_t n;

    if (f == NULL)
        return error_set(err, -errno, "%s: %s", path, strerror(errno));
    buf = xmalloc(POLICY_MAX_FILE + 1);
    n = fread(buf, 1, POLICY_MAX_FILE + 1, f);
    if (ferror(f) || n > POLICY_MAX_FILE) {
        int e = ferror(f) ? EIO : EFBIG;

        fclose(f);
        free(buf);
        return error_set(err, -e, "%s: %s", path, e == EFBIG ? "larger than 1 MiB" : "read error");
    }
    fclose(f);
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
}

static int looks_like_json(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    return *s == '{';
}

/* Reads the overrides from the file. A missing file gives none. */
static int load_overrides(const char *path, struct override **ov, size_t *nov, int *seen,
                          struct error *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc;

    *ov = NULL;
    *nov = 0;
    *seen = 0;
    if (path == NULL)
        return 0;
    rc = read_file(path, &text, &len, err);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    *seen = 1;
    if (strlen(text) != len)
        rc = error_set(err, -EINVAL, "%s: NUL byte in the file", path);
    else if (looks_like_json(text))
        rc = parse_json_file(path, text, len, ov, nov, err);
    else
        rc = parse_yaml_file(path, text, ov, nov, err);
    free(text);
    if (rc < 0) {
        overrides_free(*ov, *nov);
        *ov = NULL;
        *nov = 0;
    }
    return rc;
}

/* ----------------------------------------------------------- the policy */

static void fingerprint(struct policy *p)
{
    struct stat st;

    if (p->file != NULL && stat(p->file, &st) == 0) {
        p->mtime = st.st_mtim;
        p->size = st.st_size;
        p->ino = st.st_ino;
    } else {
        memset(&p->mtime, 0, sizeof(p->mtime));
        p->size = -1;
        p->ino = 0;
    }
}

static int changed(const struct policy *p)
{
    struct stat st;

    if (stat(p->file, &st) != 0)
        return p->size != -1;
    return st.st_mtim.tv_sec != p->mtime.tv_sec || st.st_mtim.tv_nsec != p->mtime.tv_nsec ||
           st.st_size != p->size || st.st_ino != p->ino;
}

/* Loads the file and swaps in a new set; the old one stays on failure. */
static int load(struct policy *p, struct error *err)
{
    struct override *ov;
    struct ruleset *rs = NULL, *old;
    size_t nov;
    int seen, rc;

    pthread_mutex_lock(&p->lock);
    fingerprint(p); /* before reading: a write racing with us is seen next time */
    pthread_mutex_unlock(&p->lock);
    rc = load_overrides(p->file, &ov, &nov, &seen, err);
    if (rc == 0)
        rc = ruleset_build(p, ov, nov, &rs, err);
    overrides_free(ov, nov);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&p->lock);
    old = p->cur;
    p->cur = rs;
    if (seen != p->file_seen && p->file != NULL)
        log_info("policy: %s %s", p->file, seen ? "loaded" : "absent: defaults only");
    p->file_seen = seen;
    pthread_mutex_unlock(&p->lock);
    ruleset_unref(old);
    return 0;
}

static char *resolve_path(const char *file, const char *dir)
{
    if (file == NULL || *file == '\0')
        return NULL;
    if (file[0] == '/' || dir == NULL || *dir == '\0')
        return xstrdup(file);
    return xasprintf("%s/%s", dir, file);
}

int policy_new(const struct policy_opts *o, struct policy **out, struct error *err)
{
    struct policy *p = xcalloc(1, sizeof(*p));
    int rc;

    *out = NULL;
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->reload, NULL);
    p->defaults = o->defaults;
    p->ndefaults = o->ndefaults;
    p->file = resolve_path(o->file, o->config_dir);
    p->default_rule = o->default_rule ? xstrdup(o->default_rule) : NULL;
    p->enforce = o->enforce;
    p->check_ms = o->reload_check_ms > 0 ? o->reload_check_ms : 1000;
    p->size = -1;
    rc = load(p, err);
    if (rc < 0) {
        policy_free(p);
        return rc;
    }
    atomic_init(&p->next_check, time_mono_ms() + p->check_ms);
    *out = p;
    return 0;
}

void policy_free(struct policy *p)
{
    if (p == NULL)
        return;
    ruleset_unref(p->cur);
    free(p->file);
    free(p->default_rule);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->reload);
    free(p);
}

int policy_reload(struct policy *p, struct error *err)
{
    int rc;

    pthread_mutex_lock(&p->reload);
    rc = load(p, err);
    pthread_mutex_unlock(&p->reload);
    return rc;
}

/* At most every check_ms, one caller looks at the file. */
static void maybe_reload(struct policy *p)
{
    int64_t now = time_mono_ms(), due = atomic_load(&p->next_check);
    struct error err;

    if (p->file == NULL || now < due ||
        !atomic_compare_exchange_strong(&p->next_check, &due, now + p->check_ms))
        return;
    if (pthread_mutex_trylock(&p->reload) != 0)
        return;
    pthread_mutex_lock(&p->lock);
    int dirty = changed(p);
    pthread_mutex_unlock(&p->lock);
    if (dirty && load(p, &err) < 0)
        log_error("policy: keeping the previous rules: %s", error_str(&err));
    pthread_mutex_unlock(&p->reload);
}

static struct ruleset *acquire(struct policy *p)
{
    struct ruleset *rs;

    pthread_mutex_lock(&p->lock);
    rs = p->cur;
    atomic_fetch_add(&rs->refs, 1);
    pthread_mutex_unlock(&p->lock);
    return rs;
}

int policy_check(struct policy *p, const char *rule, const struct auth_cred *c,
                 const struct policy_target *t, size_t nt)
{
    struct policy_eval ev = {NULL, 0, c, t, nt};
    struct ruleset *rs;
    int i, ok = 0;

    maybe_reload(p);
    rs = acquire(p);
    i = find_rule(rs, rule);
    if (i < 0 && p->default_rule != NULL)
        i = find_rule(rs, p->default_rule);
    if (i >= 0) {
        ev.rules = rs->trees;
        ev.nrules = rs->n;
        ok = policy_expr_eval(rs->trees[i], &ev, 0);
    }
    ruleset_unref(rs);
    return ok;
}

int policy_authorize(struct policy *p, const char *rule, const struct auth_cred *c,
                     const struct policy_target *t, size_t nt)
{
    if (!p->enforce)
        return 0;
    return policy_check(p, rule, c, t, nt) ? 0 : -EACCES;
}

int policy_enforcing(const struct policy *p)
{
    return p->enforce;
}

const char *policy_file(const struct policy *p)
{
    return p->file;
}
