/* wagent/login.c: HELLO, WAMP-CRA and WELCOME (board-protocol.md 3.2, 4.2, 4.3).
 *
 * A HELLO names the realm and how the board proves itself:
 *   - wampcra with an authid: the board's secret is looked up on a worker
 *     (AUTHWAIT), a CHALLENGE is sent, AUTHENTICATE must carry its HMAC
 *     within 10 s. An unknown authid gets a challenge under a random key, so
 *     that the answer never tells which boards exist;
 *   - no method, or anonymous: an anonymous session, when this wagent admits
 *     them (allow_anonymous_boards, or a registration wagent, where the
 *     registration code is the credential);
 *   - anything else: refused.
 * Failed proofs are counted per source address (limits.h); an address past
 * the limit has its HELLOs refused for a minute. */
#include "wagent/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/uuid.h"
#include "common/xalloc.h"
#include "wamp/cra.h"

#define SECRET_MAX 64 /* board_credentials.secret is varchar(64) */

struct secret_job {
    struct wag *w;
    uint64_t session;
    char authid[WAG_AUTHID_MAX];
    char secret[SECRET_MAX + 1];
    int found;
    int rc;
    struct error err;
};

static const struct db_stmt get_secret = {
    "wag_cra_secret",
    "SELECT secret FROM board_credentials WHERE board_uuid = $1::uuid "
    "AND registered_code IS NOT NULL",
    1,
};

static void welcome(struct wag_session *s, enum wag_authmethod method)
{
    cJSON *d = cJSON_CreateObject(), *roles = cJSON_AddObjectToObject(d, "roles");
    struct wamp_msg m = {.type = WAMP_WELCOME};

    cJSON_AddObjectToObject(cJSON_AddObjectToObject(roles, "dealer"), "features");
    cJSON_AddObjectToObject(cJSON_AddObjectToObject(roles, "broker"), "features");
    cJSON_AddStringToObject(d, "realm", s->w->cfg->realm);
    cJSON_AddStringToObject(d, "authid", s->authid);
    cJSON_AddStringToObject(d, "authrole", method == WAG_AUTH_WAMPCRA ? "board" : "anonymous");
    cJSON_AddStringToObject(d, "authmethod", method == WAG_AUTH_WAMPCRA ? "wampcra" : "anonymous");
    cJSON_AddStringToObject(d, "authprovider", "iotronic");
    m.session = s->id;
    m.details = WAMP_PART_TREE(d);
    s->authmethod = (uint8_t)method;
    if (wag_session_send(s, &m) == 0) {
        wag_session_set_state(s, WAG_S_UNBOUND);
        s->welcomed = wag_now(s->w);
        wag_session_rearm(s);
        log_info("session %llu welcomed peer=%s authid=%s authmethod=%s", (unsigned long long)s->id,
                 s->peer, s->authid, method == WAG_AUTH_WAMPCRA ? "wampcra" : "anonymous");
    }
    cJSON_Delete(d);
}

/* A session id unique among the live sessions, from the kernel's CSPRNG. */
static int assign_id(struct wag_session *s)
{
    for (int i = 0; i < 16; i++) {
        uint64_t id = rand_id53();

        if (wag_keytab_put(&s->w->sessions, wag_key_id(id), s) == 0) {
            s->id = id;
            return 0;
        }
    }
    return -EEXIST;
}

/* ------------------------------------------------------------ WAMP-CRA */

static void secret_work(void *arg, void *thread_ctx)
{
    struct secret_job *j = arg;
    char uuid[UUID_STR_LEN];
    const char *p[1] = {uuid};
    PGresult *res = NULL;

    if (uuid_normalize(j->authid, uuid) < 0)
        return; /* not a board UUID: not found */
    if (thread_ctx == NULL) {
        j->rc = error_set(&j->err, -ENOTCONN, "no database connection");
        return;
    }
    j->rc = db_exec_stmt(thread_ctx, &get_secret, p, &res, &j->err);
    if (j->rc == 0 && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) &&
        strlen(PQgetvalue(res, 0, 0)) <= SECRET_MAX) {
        snprintf(j->secret, sizeof(j->secret), "%s", PQgetvalue(res, 0, 0));
        j->found = 1;
    }
    PQclear(res);
}

static void challenge(struct wag_session *s, const char *key)
{
    struct wamp_msg m = {.type = WAMP_CHALLENGE, .authmethod = "wampcra"};
    struct error err;
    cJSON *extra;
    size_t len;

    if (wamp_cra_challenge_new(s->authid, s->id, &s->challenge, &len, &err) < 0) {
        wag_session_abort(s, "wamp.error.authentication_failed", "Authentication failed.", 1000);
        return;
    }
    s->secret = xstrdup(key);
    extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "challenge", s->challenge);
    m.extra = WAMP_PART_TREE(extra);
    if (wag_session_send(s, &m) == 0) {
        wag_session_set_state(s, WAG_S_CHALLENGED);
        s->deadline = wag_now(s->w) + WAG_AUTH_TIMEOUT;
        wag_session_rearm(s);
    }
    cJSON_Delete(extra);
}

static void secret_done(void *arg)
{
    struct secret_job *j = arg;
    struct wag_session *s = wag_session_get(j->w, j->session);
    char random_key[48];

    if (s == NULL || s->state != WAG_S_AUTHWAIT)
        goto out;
    if (j->rc < 0) {
        log_warn("session %llu: cannot look up the secret of %s: %s", (unsigned long long)s->id,
                 j->authid, j->err.msg);
        wag_session_abort(s, "wamp.error.authentication_failed",
                          "Authentication is unavailable; retry later.", 1000);
        goto out;
    }
    if (!j->found)
        rand_base64url(32, random_key);
    challenge(s, j->found ? j->secret : random_key);
out:
    explicit_bzero(j->secret, sizeof(j->secret));
    free(j);
}

static void start_cra(struct wag_session *s, const char *authid)
{
    struct secret_job *j = xcalloc(1, sizeof(*j));
    char norm[UUID_STR_LEN];

    /* A UUID authid is compared and echoed in its canonical form. */
    snprintf(s->authid, sizeof(s->authid), "%s", uuid_normalize(authid, norm) == 0 ? norm : authid);
    j->w = s->w;
    j->session = s->id;
    snprintf(j->authid, sizeof(j->authid), "%s", s->authid);
    wag_session_set_state(s, WAG_S_AUTHWAIT);
    if (wag_db_submit(s->w, secret_work, secret_done, j) < 0) {
        free(j);
        wag_session_abort(s, "wamp.error.authentication_failed",
                          "Authentication is unavailable; retry later.", 1000);
    }
}

void wag_login_authenticate(struct wag_session *s, struct wamp_msg *m)
{
    const char *sig = m->signature;

    if (s->secret != NULL && s->challenge != NULL &&
        wamp_cra_verify(s->secret, strlen(s->secret), s->challenge, strlen(s->challenge), sig,
                        strlen(sig))) {
        free(s->challenge);
        free(s->secret);
        s->challenge = s->secret = NULL;
        welcome(s, WAG_AUTH_WAMPCRA);
        return;
    }
    log_info("session %llu: WAMP-CRA failed peer=%s authid=%s", (unsigned long long)s->id, s->peer,
             s->authid);
    if (s->w->m.auth_failures != NULL)
        metrics_inc(s->w->m.auth_failures);
    wag_authfail_record(&s->w->authfail, s->addr, wag_now(s->w));
    wag_session_abort(s, "wamp.error.authentication_failed", "Authentication failed.", 1000);
}

/* ------------------------------------------------------------ HELLO */

static int anonymous_allowed(const struct wag *w)
{
    /* A registration wagent admits anonymous sessions even when anonymous
     * boards are not: registering is all they can do (4.2, 4.4). */
    return w->cfg->allow_anonymous_boards || w->cfg->register_agent;
}

void wag_login_hello(struct wag_session *s, struct wamp_msg *m)
{
    struct wag *w = s->w;
    unsigned am = m->authmethods;
    char msg[300];

    if (strcmp(m->realm, w->cfg->realm) != 0) {
        snprintf(msg, sizeof(msg), "Realm %.255s does not exist.", m->realm);
        wag_session_abort(s, "wamp.error.no_such_realm", msg, 1000);
        return;
    }
    if (wag_authfail_blocked(&w->authfail, s->addr, wag_now(w))) {
        wag_session_abort(s, "wamp.error.not_authorized",
                          "Too many failed logins from this address; retry later.", 1000);
        return;
    }
    if (assign_id(s) < 0) {
        wag_session_abort(s, "wamp.error.not_authorized", "No session id available.", 1000);
        return;
    }
    if ((am & WAMP_AUTH_WAMPCRA) && m->authid != NULL && m->authid[0] != '\0' &&
        strlen(m->authid) < WAG_AUTHID_MAX) {
        start_cra(s, m->authid);
    } else if (am == 0 || (am & WAMP_AUTH_ANONYMOUS)) {
        if (!anonymous_allowed(w)) {
            wag_session_abort(s, "wamp.error.not_authorized", "Anonymous boards are not allowed.",
                              1000);
            return;
        }
        memcpy(s->authid, "anon-", 5);
        rand_base64url(9, s->authid + 5);
        welcome(s, WAG_AUTH_ANONYMOUS);
    } else if ((am & WAMP_AUTH_WAMPCRA) && m->authid != NULL && m->authid[0] != '\0') {
        /* An authid too long to be a board: fail as an unknown one would. */
        wag_authfail_record(&w->authfail, s->addr, wag_now(w));
        wag_session_abort(s, "wamp.error.authentication_failed", "Authentication failed.", 1000);
    } else {
        wag_session_abort(s, "wamp.error.not_authorized", "No supported authentication method.",
                          1000);
    }
}
