/* auth/cred.c: see cred.h. An identity and all its strings live in one
 * block: the struct, the roles array, then the characters. */
#include "auth/cred.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xalloc.h"

static const struct auth_identity anonymous = {.refs = -1};

const struct auth_identity *auth_identity_anonymous(void)
{
    return &anonymous;
}

static size_t slen(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/* Copies s to *cursor and advances it; NULL stays NULL. */
static const char *put(char **cursor, const char *s)
{
    char *d;
    size_t n;

    if (s == NULL)
        return NULL;
    n = strlen(s) + 1;
    d = *cursor;
    memcpy(d, s, n);
    *cursor += n;
    return d;
}

struct auth_identity *auth_identity_new(const struct auth_identity *t)
{
    size_t chars = slen(t->user_id) + slen(t->user_name) + slen(t->user_domain_id) +
                   slen(t->project_id) + slen(t->project_name) + slen(t->project_domain_id) +
                   slen(t->domain_id);
    struct auth_identity *id;
    const char **roles;
    char *cursor;

    for (size_t i = 0; i < t->nroles; i++)
        chars += slen(t->roles[i]);
    id = xmalloc(sizeof(*id) + t->nroles * sizeof(char *) + chars);
    roles = (const char **)(id + 1);
    cursor = (char *)(roles + t->nroles);
    id->user_id = put(&cursor, t->user_id);
    id->user_name = put(&cursor, t->user_name);
    id->user_domain_id = put(&cursor, t->user_domain_id);
    id->project_id = put(&cursor, t->project_id);
    id->project_name = put(&cursor, t->project_name);
    id->project_domain_id = put(&cursor, t->project_domain_id);
    id->domain_id = put(&cursor, t->domain_id);
    for (size_t i = 0; i < t->nroles; i++)
        roles[i] = put(&cursor, t->roles[i] ? t->roles[i] : "");
    id->roles = roles;
    id->nroles = t->nroles;
    id->expires_us = t->expires_us;
    id->refs = 1;
    return id;
}

const struct auth_identity *auth_identity_ref(const struct auth_identity *id)
{
    struct auth_identity *m = (struct auth_identity *)id;

    if (id != NULL && id->refs >= 0)
        __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
    return id;
}

void auth_identity_unref(const struct auth_identity *id)
{
    struct auth_identity *m = (struct auth_identity *)id;

    if (id == NULL || id->refs < 0)
        return;
    if (__atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(m);
}

int auth_identity_has_role(const struct auth_identity *id, const char *role)
{
    for (size_t i = 0; i < id->nroles; i++)
        if (strcasecmp(id->roles[i], role) == 0)
            return 1;
    return 0;
}

void auth_cred_release(struct auth_cred *c)
{
    auth_identity_unref(c->id);
    c->id = &anonymous;
    c->is_admin = 0;
    c->is_public_api = 0;
}
