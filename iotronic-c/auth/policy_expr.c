/* auth/policy_expr.c: tokenizer, recursive-descent parser and evaluator of
 * the oslo.policy expression language (policy.h).
 *
 * Tokens are split on blanks the way oslo.policy splits them, so files
 * written for it read the same here: leading '(' and trailing ')' are cut
 * off a word as separate tokens, which keeps "%(owner)s" intact. */
#include "auth/policy_expr.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xalloc.h"

enum kind { K_TRUE, K_FALSE, K_AND, K_OR, K_NOT, K_RULE, K_ROLE, K_CHECK };

enum cred_key {
    CK_UNKNOWN,
    CK_USER_ID,
    CK_USER_NAME,
    CK_USER_DOMAIN_ID,
    CK_PROJECT_ID,
    CK_PROJECT_NAME,
    CK_PROJECT_DOMAIN_ID,
    CK_DOMAIN_ID,
    CK_ROLES,
    CK_IS_ADMIN,
    CK_IS_PUBLIC_API,
    CK_LITERAL,
};

static const struct {
    const char *name;
    enum cred_key key;
} cred_names[] = {
    {"user_id", CK_USER_ID},
    {"user", CK_USER_ID},
    {"user_name", CK_USER_NAME},
    {"user_domain_id", CK_USER_DOMAIN_ID},
    {"project_id", CK_PROJECT_ID},
    {"tenant", CK_PROJECT_ID},
    {"tenant_id", CK_PROJECT_ID},
    {"project_name", CK_PROJECT_NAME},
    {"project_domain_id", CK_PROJECT_DOMAIN_ID},
    {"domain_id", CK_DOMAIN_ID},
    {"roles", CK_ROLES},
    {"is_admin", CK_IS_ADMIN},
    {"is_public_api", CK_IS_PUBLIC_API},
};

/* A piece of a match template: literal text, or a %(key)s substitution. */
struct piece {
    char *text;
    int subst;
};

struct policy_expr {
    enum kind kind;
    struct policy_expr **kids; /* K_AND, K_OR (n-ary), K_NOT (one) */
    size_t nkids;
    char *name;           /* K_RULE */
    int index;            /* K_RULE, resolved; -1: unknown rule */
    enum cred_key key;    /* K_CHECK */
    char *literal;        /* K_CHECK with CK_LITERAL */
    struct piece *pieces; /* K_ROLE, K_CHECK */
    size_t npieces;
};

/* ------------------------------------------------------------- the tree */

static struct policy_expr *node(enum kind k)
{
    struct policy_expr *e = xcalloc(1, sizeof(*e));

    e->kind = k;
    e->index = -1;
    return e;
}

void policy_expr_free(struct policy_expr *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->nkids; i++)
        policy_expr_free(e->kids[i]);
    for (size_t i = 0; i < e->npieces; i++)
        free(e->pieces[i].text);
    free(e->kids);
    free(e->pieces);
    free(e->name);
    free(e->literal);
    free(e);
}

static void add_kid(struct policy_expr *e, struct policy_expr *k)
{
    e->kids = xrealloc(e->kids, (e->nkids + 1) * sizeof(*e->kids));
    e->kids[e->nkids++] = k;
}

static void add_piece(struct policy_expr *e, const char *s, size_t n, int subst)
{
    e->pieces = xrealloc(e->pieces, (e->npieces + 1) * sizeof(*e->pieces));
    e->pieces[e->npieces].text = xstrndup(s, n);
    e->pieces[e->npieces].subst = subst;
    e->npieces++;
}

/* Splits a match into pieces: "%(key)s" substitutions, "%%" for '%', and
 * literal text. Any other '%' is an error, as Python's formatting makes it. */
static int parse_template(struct policy_expr *e, const char *m, struct error *err)
{
    const char *lit = m, *p = m;

    while (*p) {
        const char *close;

        if (*p != '%') {
            p++;
            continue;
        }
        if (p > lit)
            add_piece(e, lit, (size_t)(p - lit), 0);
        if (p[1] == '%') {
            add_piece(e, "%", 1, 0);
            lit = p += 2;
            continue;
        }
        close = p[1] == '(' ? strstr(p + 2, ")s") : NULL;
        if (close == NULL || close == p + 2)
            return error_set(err, -EINVAL, "bad substitution in '%s'", m);
        add_piece(e, p + 2, (size_t)(close - p - 2), 1);
        lit = p = close + 2;
    }
    if (p > lit || e->npieces == 0)
        add_piece(e, lit, (size_t)(p - lit), 0);
    return 0;
}

static int is_literal_kind(const char *k, size_t n)
{
    size_t i = 0;

    if (n >= 2 && (k[0] == '\'' || k[0] == '"') && k[n - 1] == k[0])
        return 1;
    if ((n == 4 && strncmp(k, "True", 4) == 0) || (n == 5 && strncmp(k, "False", 5) == 0))
        return 1;
    if (n > 0 && k[0] == '-')
        i = 1;
    if (i == n)
        return 0;
    for (; i < n; i++)
        if (!isdigit((unsigned char)k[i]))
            return 0;
    return 1;
}

static int kind_is(const char *text, size_t klen, const char *kind)
{
    return strlen(kind) == klen && strncmp(text, kind, klen) == 0;
}

/* What the left side of a generic check names: a credential, a literal
 * ('text', True, 42) or nothing we know (the check is then false). */
static void set_generic_key(struct policy_expr *e, const char *text, size_t klen)
{
    if (is_literal_kind(text, klen)) {
        e->key = CK_LITERAL;
        e->literal =
            text[0] == '\'' || text[0] == '"' ? xstrndup(text + 1, klen - 2) : xstrndup(text, klen);
        return;
    }
    for (size_t i = 0; i < sizeof(cred_names) / sizeof(*cred_names); i++) {
        if (kind_is(text, klen, cred_names[i].name)) {
            e->key = cred_names[i].key;
            return;
        }
    }
}

static struct policy_expr *make_check(const char *text, struct error *err)
{
    const char *colon = strchr(text, ':');
    struct policy_expr *e;
    size_t klen;

    if (strcmp(text, "@") == 0 || strcmp(text, "True") == 0 || strcmp(text, "true") == 0)
        return node(K_TRUE);
    if (strcmp(text, "!") == 0 || strcmp(text, "False") == 0 || strcmp(text, "false") == 0)
        return node(K_FALSE);
    if (colon == NULL || colon == text)
        return error_set(err, -EINVAL, "cannot understand the check '%s'", text), NULL;
    klen = (size_t)(colon - text);
    if (kind_is(text, klen, "rule")) {
        if (colon[1] == '\0')
            return error_set(err, -EINVAL, "rule: needs a name"), NULL;
        e = node(K_RULE);
        e->name = xstrdup(colon + 1);
        return e;
    }
    if (kind_is(text, klen, "http") || kind_is(text, klen, "https"))
        return error_set(err, -EINVAL, "http checks are not supported: '%s'", text), NULL;
    e = node(kind_is(text, klen, "role") ? K_ROLE : K_CHECK);
    if (e->kind == K_CHECK)
        set_generic_key(e, text, klen);
    if (parse_template(e, colon + 1, err) < 0) {
        policy_expr_free(e);
        return NULL;
    }
    return e;
}

/* ------------------------------------------------------------ tokenizer */

enum tok { T_LP, T_RP, T_AND, T_OR, T_NOT, T_CHECK, T_END };

struct token {
    enum tok t;
    char *text; /* T_CHECK: points into the parser's copy */
};

struct parser {
    char *copy;
    struct token *toks;
    size_t ntoks, cap, pos;
    int depth;
    struct error *err;
};

static void push(struct parser *ps, enum tok t, char *text)
{
    if (ps->ntoks == ps->cap) {
        ps->cap = ps->cap ? 2 * ps->cap : 16;
        ps->toks = xrealloc(ps->toks, ps->cap * sizeof(*ps->toks));
    }
    ps->toks[ps->ntoks].t = t;
    ps->toks[ps->ntoks].text = text;
    ps->ntoks++;
}

static void word(struct parser *ps, char *w)
{
    size_t n, trail = 0;

    while (*w == '(') {
        push(ps, T_LP, NULL);
        w++;
    }
    n = strlen(w);
    while (n > 0 && w[n - 1] == ')') {
        w[--n] = '\0';
        trail++;
    }
    if (n > 0) {
        if (strcasecmp(w, "and") == 0)
            push(ps, T_AND, NULL);
        else if (strcasecmp(w, "or") == 0)
            push(ps, T_OR, NULL);
        else if (strcasecmp(w, "not") == 0)
            push(ps, T_NOT, NULL);
        else
            push(ps, T_CHECK, w);
    }
    while (trail-- > 0)
        push(ps, T_RP, NULL);
}

static void tokenize(struct parser *ps, const char *text)
{
    char *p, *save = NULL;

    ps->copy = xstrdup(text);
    for (p = strtok_r(ps->copy, " \t\r\n\f\v", &save); p != NULL;
         p = strtok_r(NULL, " \t\r\n\f\v", &save))
        word(ps, p);
    push(ps, T_END, NULL);
}

/* --------------------------------------------------------------- parser */

static struct policy_expr *parse_or(struct parser *ps);

static struct policy_expr *parse_primary(struct parser *ps)
{
    struct token *t = &ps->toks[ps->pos];
    struct policy_expr *e;

    if (t->t == T_CHECK) {
        ps->pos++;
        return make_check(t->text, ps->err);
    }
    if (t->t != T_LP)
        return error_set(ps->err, -EINVAL, "%s",
                         t->t == T_END  ? "unexpected end of rule"
                         : t->t == T_RP ? "unexpected ')'"
                                        : "a check is missing"),
               NULL;
    if (++ps->depth > POLICY_MAX_DEPTH)
        return error_set(ps->err, -EINVAL, "rule nested too deeply"), NULL;
    ps->pos++;
    e = parse_or(ps);
    if (e != NULL && ps->toks[ps->pos].t != T_RP) {
        policy_expr_free(e);
        return error_set(ps->err, -EINVAL, "missing ')'"), NULL;
    }
    ps->pos++;
    ps->depth--;
    return e;
}

static struct policy_expr *parse_not(struct parser *ps)
{
    struct policy_expr *e, *k;

    if (ps->toks[ps->pos].t != T_NOT)
        return parse_primary(ps);
    if (++ps->depth > POLICY_MAX_DEPTH)
        return error_set(ps->err, -EINVAL, "rule nested too deeply"), NULL;
    ps->pos++;
    k = parse_not(ps);
    ps->depth--;
    if (k == NULL)
        return NULL;
    e = node(K_NOT);
    add_kid(e, k);
    return e;
}

/* One level of binary operator: and (over not) or or (over and). */
static struct policy_expr *parse_level(struct parser *ps, enum tok op, enum kind kind,
                                       struct policy_expr *(*sub)(struct parser *))
{
    struct policy_expr *first = sub(ps), *e, *k;

    if (first == NULL || ps->toks[ps->pos].t != op)
        return first;
    e = node(kind);
    add_kid(e, first);
    while (ps->toks[ps->pos].t == op) {
        ps->pos++;
        k = sub(ps);
        if (k == NULL) {
            policy_expr_free(e);
            return NULL;
        }
        add_kid(e, k);
    }
    return e;
}

static struct policy_expr *parse_and(struct parser *ps)
{
    return parse_level(ps, T_AND, K_AND, parse_not);
}

static struct policy_expr *parse_or(struct parser *ps)
{
    return parse_level(ps, T_OR, K_OR, parse_and);
}

int policy_expr_parse(const char *text, struct policy_expr **out, struct error *err)
{
    struct parser ps = {.err = err};
    struct policy_expr *e = NULL;
    int rc = 0;

    *out = NULL;
    if (strlen(text) > POLICY_MAX_EXPR)
        return error_set(err, -EINVAL, "rule longer than %d characters", POLICY_MAX_EXPR);
    tokenize(&ps, text);
    if (ps.toks[0].t == T_END) {
        e = node(K_TRUE); /* "" is always true */
    } else {
        e = parse_or(&ps);
        if (e != NULL && ps.toks[ps.pos].t != T_END) {
            policy_expr_free(e);
            e = NULL;
            error_set(err, -EINVAL, "%s",
                      ps.toks[ps.pos].t == T_RP ? "unbalanced ')'" : "an operator is missing");
        }
    }
    if (e == NULL)
        rc = -EINVAL;
    free(ps.copy);
    free(ps.toks);
    *out = e;
    return rc;
}

int policy_expr_validate(const char *expr, struct error *err)
{
    struct policy_expr *e;
    int rc = policy_expr_parse(expr, &e, err);

    policy_expr_free(e);
    return rc;
}

void policy_expr_resolve(struct policy_expr *e, int (*fn)(const char *name, void *arg), void *arg)
{
    if (e->kind == K_RULE)
        e->index = fn(e->name, arg);
    for (size_t i = 0; i < e->nkids; i++)
        policy_expr_resolve(e->kids[i], fn, arg);
}

int policy_expr_each_ref(const struct policy_expr *e, int (*fn)(int index, void *arg), void *arg)
{
    int rc;

    if (e->kind == K_RULE && e->index >= 0 && (rc = fn(e->index, arg)) != 0)
        return rc;
    for (size_t i = 0; i < e->nkids; i++)
        if ((rc = policy_expr_each_ref(e->kids[i], fn, arg)) != 0)
            return rc;
    return 0;
}

/* ----------------------------------------------------------- evaluation */

static const char *target_value(const struct policy_eval *ev, const char *key, int *found)
{
    for (size_t i = 0; i < ev->ntarget; i++) {
        if (strcmp(ev->target[i].key, key) == 0) {
            *found = 1;
            return ev->target[i].value;
        }
    }
    *found = 0;
    return NULL;
}

/* Renders the match template with the target; -1 when a substituted key is
 * missing or null (the check is then false) or the result does not fit. */
static int render(const struct policy_expr *e, const struct policy_eval *ev, char *out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < e->npieces; i++) {
        const char *s = e->pieces[i].text;
        size_t len;
        int found;

        if (e->pieces[i].subst) {
            s = target_value(ev, s, &found);
            if (s == NULL)
                return -1;
        }
        len = strlen(s);
        if (n + len >= cap)
            return -1;
        memcpy(out + n, s, len);
        n += len;
    }
    out[n] = '\0';
    return 0;
}

static const char *cred_string(const struct auth_identity *id, enum cred_key k)
{
    switch (k) {
    case CK_USER_ID:
        return id->user_id;
    case CK_USER_NAME:
        return id->user_name;
    case CK_USER_DOMAIN_ID:
        return id->user_domain_id;
    case CK_PROJECT_ID:
        return id->project_id;
    case CK_PROJECT_NAME:
        return id->project_name;
    case CK_PROJECT_DOMAIN_ID:
        return id->project_domain_id;
    case CK_DOMAIN_ID:
        return id->domain_id;
    default:
        return NULL;
    }
}

/* Python-ish truth of a literal: True/true/1/yes/on/t/y and their
 * opposites; -1 for anything else. */
static int truth(const char *s)
{
    static const char *const yes[] = {"true", "1", "yes", "on", "t", "y"};
    static const char *const no[] = {"false", "0", "no", "off", "f", "n"};

    for (size_t i = 0; i < 6; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
        if (strcasecmp(s, no[i]) == 0)
            return 0;
    }
    return -1;
}

static int eval_check(const struct policy_expr *e, const struct policy_eval *ev)
{
    const struct auth_identity *id = ev->cred->id;
    char m[1024];
    const char *v;

    if (e->key == CK_UNKNOWN || render(e, ev, m, sizeof(m)) < 0)
        return 0;
    switch (e->key) {
    case CK_LITERAL:
        return strcmp(m, e->literal) == 0;
    case CK_ROLES:
        for (size_t i = 0; i < id->nroles; i++)
            if (strcmp(id->roles[i], m) == 0)
                return 1;
        return 0;
    case CK_IS_ADMIN:
        return truth(m) == (ev->cred->is_admin ? 1 : 0);
    case CK_IS_PUBLIC_API:
        return truth(m) == (ev->cred->is_public_api ? 1 : 0);
    default:
        v = cred_string(id, e->key);
        return v != NULL && strcmp(v, m) == 0;
    }
}

int policy_expr_eval(const struct policy_expr *e, const struct policy_eval *ev, int depth)
{
    char m[1024];

    switch (e->kind) {
    case K_TRUE:
        return 1;
    case K_FALSE:
        return 0;
    case K_AND:
        for (size_t i = 0; i < e->nkids; i++)
            if (!policy_expr_eval(e->kids[i], ev, depth))
                return 0;
        return 1;
    case K_OR:
        for (size_t i = 0; i < e->nkids; i++)
            if (policy_expr_eval(e->kids[i], ev, depth))
                return 1;
        return 0;
    case K_NOT:
        return !policy_expr_eval(e->kids[0], ev, depth);
    case K_RULE:
        if (e->index < 0 || (size_t)e->index >= ev->nrules || depth >= POLICY_MAX_DEPTH)
            return 0;
        return policy_expr_eval(ev->rules[e->index], ev, depth + 1);
    case K_ROLE:
        return render(e, ev, m, sizeof(m)) == 0 && auth_identity_has_role(ev->cred->id, m);
    case K_CHECK:
        return eval_check(e, ev);
    }
    return 0;
}
