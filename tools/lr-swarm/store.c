/* tools/lr-swarm/store.c: where the swarm's boards come from and what it keeps.
 *
 *   --codes FILE   registration codes, one per line (# comments, blank lines
 *                  ignored): each becomes a board that registers first
 *   --state FILE   registered boards, one JSON object per line:
 *                  {"uuid", "secret", "agent", "url", "reg_url", "name", "code"}
 *                  read at start (those boards connect at once, with
 *                  WAMP-CRA) and appended to whenever a board registers, so a
 *                  second run reuses the identities a first run obtained
 *                  (codes are single-use, board-protocol.md 5.1)
 *
 * Codes already present in the state file are skipped. Every line is
 * validated; a bad one stops the start with file:line and the reason. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "swarm.h"

#define LINE_MAX_LEN 4096

struct entry {
    char *line; /* the state JSON or the code */
    int state;
};

struct list {
    struct entry *v;
    size_t n, cap;
};

static void add(struct list *l, char *line, int state)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 1024;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = (struct entry){line, state};
}

static char *trim(char *s)
{
    size_t n;

    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

static int read_lines(const char *path, int state, struct list *l, int missing_ok,
                      struct error *err)
{
    FILE *f = fopen(path, "re");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0;

    if (f == NULL) {
        if (errno == ENOENT && missing_ok)
            return 0;
        return error_set(err, -errno, "%s: %s", path, strerror(errno));
    }
    while ((n = getline(&line, &cap, f)) >= 0) {
        char *t;

        lineno++;
        if (n > LINE_MAX_LEN) {
            fclose(f);
            free(line);
            return error_set(err, -EINVAL, "%s:%d: line too long", path, lineno);
        }
        t = trim(line);
        if (*t != '\0' && *t != '#')
            add(l, xstrdup(t), state ? lineno : -lineno);
    }
    free(line);
    fclose(f);
    return 0;
}

static int code_valid(const char *c)
{
    size_t n = strlen(c);

    if (n < 1 || n > SW_CODE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)c[i] < 0x21 || (unsigned char)c[i] > 0x7e)
            return 0;
    return 1;
}

static int url_of(struct swarm *sw, const cJSON *o, const char *key, int required, int *out,
                  struct error *err)
{
    const char *url = NULL;
    int rc = json_get_str(o, key, required ? JSON_REQUIRED : JSON_OPTIONAL, 512, &url, err);

    *out = -1;
    if (rc < 0)
        return rc == -ENOENT && !required ? 0 : rc;
    rc = sw_url_intern(sw, url, err);
    if (rc < 0)
        return rc;
    *out = rc;
    return 0;
}

/* One state line into b. */
static int state_board(struct swarm *sw, struct sw_board *b, const char *line, struct error *err)
{
    const char *uuid, *secret = NULL, *agent = NULL, *name = NULL, *code = NULL;
    cJSON *o = NULL;
    int rc, main_url, reg_url, ai;

    rc = json_parse(line, strlen(line), &o, err);
    if (rc == 0 && !cJSON_IsObject(o))
        rc = error_set(err, -EINVAL, "not a JSON object");
    if (rc < 0 || (rc = json_get_str(o, "uuid", JSON_REQUIRED, 64, &uuid, err)) < 0 ||
        (rc = json_get_str(o, "secret", JSON_OPTIONAL, SW_SECRET_MAX - 1, &secret, err)) ==
            -EINVAL ||
        (rc = json_get_str(o, "agent", JSON_OPTIONAL, 255, &agent, err)) == -EINVAL ||
        (rc = json_get_str(o, "name", JSON_OPTIONAL, SW_NAME_MAX, &name, err)) == -EINVAL ||
        (rc = json_get_str(o, "code", JSON_OPTIONAL, SW_CODE_MAX, &code, err)) == -EINVAL ||
        (rc = url_of(sw, o, "url", 1, &main_url, err)) < 0 ||
        (rc = url_of(sw, o, "reg_url", 0, &reg_url, err)) < 0)
        goto out;
    if (uuid_normalize(uuid, b->uuid) < 0) {
        rc = error_set(err, -EINVAL, "uuid is not a UUID");
        goto out;
    }
    if ((ai = sw_str_intern(sw, agent ? agent : "")) < 0) {
        rc = error_set(err, ai, "too many agent names");
        goto out;
    }
    snprintf(b->secret, sizeof(b->secret), "%s", secret ? secret : "");
    b->name = name ? xstrdup(name) : NULL;
    b->agent = (uint16_t)ai;
    b->main_url = (uint16_t)main_url;
    b->reg_url = reg_url >= 0 ? (uint16_t)reg_url : UINT16_MAX;
    b->phase = SW_PH_CONNECT;
    rc = 0;
out:
    cJSON_Delete(o);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The codes the state file records (registered boards), sorted: a new
 * array of new strings (free_codes()). */
static char **state_codes(const struct list *l, size_t nstate, size_t *n)
{
    char **v = xcalloc(nstate ? nstate : 1, sizeof(*v));

    *n = 0;
    for (size_t i = 0; i < nstate; i++) {
        cJSON *o = cJSON_Parse(l->v[i].line);
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "code");

        if (cJSON_IsString(c))
            v[(*n)++] = xstrdup(c->valuestring);
        cJSON_Delete(o);
    }
    qsort(v, *n, sizeof(*v), cmp_str);
    return v;
}

static void free_codes(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int make_boards(struct swarm *sw, struct list *l, size_t nstate, int reg_url,
                       struct error *err)
{
    size_t n = l->n;
    int rc = 0;

    if (sw->o.count > 0 && (size_t)sw->o.count < n)
        n = (size_t)sw->o.count;
    sw->boards = xcalloc(n ? n : 1, sizeof(*sw->boards));
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct sw_board *b = &sw->boards[sw->nboards];
        const struct entry *e = &l->v[i];
        const char *path = i < nstate ? sw->o.state_file : sw->o.codes_file;

        b->sw = sw;
        b->idx = (uint32_t)sw->nboards;
        b->src = (uint8_t)(b->idx % sw->o.nsources);
        ev_io_init(&b->io, NULL, -1, EV_READ);
        b->io.data = b;
        if (i < nstate) {
            rc = state_board(sw, b, e->line, err);
        } else if (!code_valid(e->line)) {
            rc = error_set(err, -EINVAL, "not a registration code (1-36 printable characters)");
        } else if (reg_url < 0) {
            rc = error_set(err, -EINVAL, "codes need --register-url");
        } else {
            b->code = xstrdup(e->line);
            b->phase = SW_PH_REGISTER;
            b->reg_url = b->main_url = (uint16_t)reg_url;
        }
        if (rc < 0)
            error_prefix(err, "%s:%d", path, e->state < 0 ? -e->state : e->state);
        else
            sw->nboards++;
    }
    return rc;
}

int sw_store_load(struct swarm *sw, struct error *err)
{
    struct list l = {0};
    size_t nstate;
    int rc = 0, reg_url = -1;

    if (sw->o.register_url != NULL && (reg_url = sw_url_intern(sw, sw->o.register_url, err)) < 0)
        return error_prefix(err, "--register-url");
    if (sw->o.state_file != NULL)
        rc = read_lines(sw->o.state_file, 1, &l, 1, err);
    nstate = l.n;
    if (rc == 0 && sw->o.codes_file != NULL) {
        struct list codes = {0};
        size_t ndone;
        char **done = state_codes(&l, nstate, &ndone);

        rc = read_lines(sw->o.codes_file, 0, &codes, 0, err);
        for (size_t i = 0; i < codes.n; i++) {
            if (rc == 0 && bsearch(&codes.v[i].line, done, ndone, sizeof(*done), cmp_str) == NULL)
                add(&l, codes.v[i].line, codes.v[i].state);
            else
                free(codes.v[i].line);
        }
        free(codes.v);
        free_codes(done, ndone);
    }
    if (rc == 0)
        rc = make_boards(sw, &l, nstate, reg_url, err);
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i].line);
    free(l.v);
    if (rc == 0 && sw->o.state_file != NULL) {
        sw->state_out = fopen(sw->o.state_file, "ae");
        if (sw->state_out == NULL)
            rc = error_set(err, -errno, "%s: %s", sw->o.state_file, strerror(errno));
    }
    return rc;
}

void sw_store_append(struct swarm *sw, const struct sw_board *b)
{
    cJSON *o;
    char *text;

    if (sw->state_out == NULL)
        return;
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "uuid", b->uuid);
    cJSON_AddStringToObject(o, "secret", b->secret);
    cJSON_AddStringToObject(o, "agent", sw->strs[b->agent]);
    cJSON_AddStringToObject(o, "url", sw->urls[b->main_url].text);
    if (b->reg_url != UINT16_MAX)
        cJSON_AddStringToObject(o, "reg_url", sw->urls[b->reg_url].text);
    if (b->name != NULL)
        cJSON_AddStringToObject(o, "name", b->name);
    if (b->code != NULL)
        cJSON_AddStringToObject(o, "code", b->code);
    text = cJSON_PrintUnformatted(o);
    fprintf(sw->state_out, "%s\n", text);
    fflush(sw->state_out);
    free(text);
    cJSON_Delete(o);
}

void sw_store_close(struct swarm *sw)
{
    if (sw->state_out != NULL)
        fclose(sw->state_out);
    sw->state_out = NULL;
}
