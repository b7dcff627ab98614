/* auth/keystone.c: see keystone.h.
 *
 * Requests carry "?nocatalog": we never need the service catalog, and it
 * is most of a token response. TLS peers are verified unless the operator
 * set insecure; redirects are not followed; only http and https are
 * allowed. Tokens travel in headers only and are never logged. */
#include "auth/keystone.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/xalloc.h"

#define SERVICE_TOKEN_MARGIN_US (60 * 1000000LL) /* refresh a minute before expiry */
#define MAX_ROLES 256

struct keystone {
    char *tokens_url; /* <auth_url>/v3/auth/tokens?nocatalog */
    char *login_body; /* the password-auth JSON */
    char *cafile;
    int insecure;
    long connect_ms, total_ms;
    pthread_key_t curl_key; /* each worker's CURL handle */
    pthread_mutex_t lock;   /* guards the service token */
    char *svc_token;
    int64_t svc_expires_us;
    _Atomic uint64_t validations, logins, errors;
};

struct answer {
    long status;
    struct buf body;
    char subject_token[8192];
};

static void curl_cleanup_cb(void *h)
{
    curl_easy_cleanup(h);
}

static char *build_login_body(const struct auth_config *c)
{
    cJSON *root = cJSON_CreateObject(), *auth, *id, *pw, *user, *dom, *scope, *proj, *pdom;
    char *s;

    auth = cJSON_AddObjectToObject(root, "auth");
    id = cJSON_AddObjectToObject(auth, "identity");
    cJSON_AddItemToObject(id, "methods", cJSON_CreateStringArray((const char *[]){"password"}, 1));
    pw = cJSON_AddObjectToObject(id, "password");
    user = cJSON_AddObjectToObject(pw, "user");
    cJSON_AddStringToObject(user, "name", c->username);
    dom = cJSON_AddObjectToObject(user, "domain");
    if (c->user_domain_id != NULL)
        cJSON_AddStringToObject(dom, "id", c->user_domain_id);
    else
        cJSON_AddStringToObject(dom, "name", c->user_domain_name ? c->user_domain_name : "Default");
    cJSON_AddStringToObject(user, "password", c->password);
    scope = cJSON_AddObjectToObject(auth, "scope");
    proj = cJSON_AddObjectToObject(scope, "project");
    cJSON_AddStringToObject(proj, "name", c->project_name);
    pdom = cJSON_AddObjectToObject(proj, "domain");
    if (c->project_domain_id != NULL)
        cJSON_AddStringToObject(pdom, "id", c->project_domain_id);
    else
        cJSON_AddStringToObject(pdom, "name",
                                c->project_domain_name ? c->project_domain_name : "Default");
    s = json_print(root);
    cJSON_Delete(root);
    return s;
}

int keystone_new(const struct auth_config *c, struct keystone **out, struct error *err)
{
    struct keystone *k;
    size_t n;
    char *base;

    *out = NULL;
    if (c->auth_url == NULL || c->username == NULL || c->password == NULL ||
        c->project_name == NULL)
        return error_set(err, -EINVAL,
                         "[keystone_authtoken] auth_url, username, password and "
                         "project_name are required with auth_strategy = keystone");
    if (c->auth_type != NULL && strcmp(c->auth_type, "password") != 0)
        return error_set(err, -EINVAL,
                         "[keystone_authtoken] auth_type %s is not supported "
                         "(only password)",
                         c->auth_type);
    if (strncmp(c->auth_url, "http://", 7) != 0 && strncmp(c->auth_url, "https://", 8) != 0)
        return error_set(err, -EINVAL, "[keystone_authtoken] auth_url must be an http(s) URL");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return error_set(err, -EIO, "libcurl initialisation failed");
    k = xcalloc(1, sizeof(*k));
    base = xstrdup(c->auth_url);
    n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        base[--n] = '\0';
    k->tokens_url = xasprintf("%s%s/auth/tokens?nocatalog", base,
                              n >= 3 && strcmp(base + n - 3, "/v3") == 0 ? "" : "/v3");
    free(base);
    k->login_body = build_login_body(c);
    k->cafile = c->cafile ? xstrdup(c->cafile) : NULL;
    k->insecure = c->insecure;
    k->connect_ms = (long)c->http_connect_timeout * 1000;
    k->total_ms = (long)c->http_request_timeout * 1000;
    pthread_key_create(&k->curl_key, curl_cleanup_cb);
    pthread_mutex_init(&k->lock, NULL);
    if (k->insecure)
        log_warn("keystone: TLS certificate verification is off ([keystone_authtoken] insecure)");
    *out = k;
    return 0;
}

void keystone_free(struct keystone *k)
{
    CURL *h;

    if (k == NULL)
        return;
    /* The calling thread's handle; workers' handles went with their threads. */
    h = pthread_getspecific(k->curl_key);
    if (h != NULL)
        curl_easy_cleanup(h);
    pthread_key_delete(k->curl_key);
    pthread_mutex_destroy(&k->lock);
    free(k->tokens_url);
    free(k->login_body);
    free(k->cafile);
    free(k->svc_token);
    free(k);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;

    if (buf_append(&a->body, p, size * n) < 0)
        return 0; /* too large: curl fails the transfer */
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t len = size * n;
    static const char name[] = "x-subject-token:";

    if (len > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        const char *v = p + sizeof(name) - 1;
        size_t vl = len - (sizeof(name) - 1);

        while (vl > 0 && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        if (vl < sizeof(a->subject_token)) {
            memcpy(a->subject_token, v, vl);
            a->subject_token[vl] = '\0';
        }
    }
    return len;
}

static CURL *thread_handle(struct keystone *k)
{
    CURL *h = pthread_getspecific(k->curl_key);

    if (h == NULL) {
        h = curl_easy_init();
        if (h == NULL)
            abort(); /* out of memory */
        pthread_setspecific(k->curl_key, h);
    }
    curl_easy_reset(h);
    return h;
}

/* One HTTP exchange with Keystone. Returns 0 when an answer arrived
 * (whatever its status), -EIO otherwise. */
static int call(struct keystone *k, const char *auth_token, const char *subject, const char *post,
                struct answer *a, struct error *err)
{
    CURL *h = thread_handle(k);
    struct curl_slist *hdrs = NULL;
    char line[AUTH_TOKEN_MAX + 32];
    CURLcode cc;

    buf_init(&a->body, KEYSTONE_BODY_MAX);
    a->subject_token[0] = '\0';
    a->status = 0;
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (post != NULL)
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    if (auth_token != NULL) {
        snprintf(line, sizeof(line), "X-Auth-Token: %s", auth_token);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (subject != NULL) {
        snprintf(line, sizeof(line), "X-Subject-Token: %s", subject);
        hdrs = curl_slist_append(hdrs, line);
    }
    curl_easy_setopt(h, CURLOPT_URL, k->tokens_url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, k->connect_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, k->total_ms);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, k->insecure ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, k->insecure ? 0L : 2L);
    if (k->cafile != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, k->cafile);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
    if (post != NULL)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post);
    cc = curl_easy_perform(h);
    curl_slist_free_all(hdrs);
    explicit_bzero(line, sizeof(line));
    if (cc != CURLE_OK) {
        atomic_fetch_add(&k->errors, 1);
        buf_free(&a->body);
        return error_set(err, -EIO, "Keystone %s: %s", k->tokens_url, curl_easy_strerror(cc));
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
    return 0;
}

static int64_t token_expiry(const char *body, size_t len)
{
    cJSON *root = NULL;
    const cJSON *tok;
    const char *exp;
    int64_t t = 0;

    if (json_parse(body, len, &root, NULL) == 0 &&
        json_get_object(root, "token", JSON_REQUIRED, &tok, NULL) == 0 &&
        json_get_str(tok, "expires_at", JSON_REQUIRED, 64, &exp, NULL) == 0 &&
        time_parse(exp, &t) < 0)
        t = 0;
    cJSON_Delete(root);
    return t;
}

/* Password login for the service's own token; caller holds k->lock. */
static int login(struct keystone *k, struct error *err)
{
    struct answer a;
    int rc;

    atomic_fetch_add(&k->logins, 1);
    rc = call(k, NULL, NULL, k->login_body, &a, err);
    if (rc < 0)
        return rc;
    if (a.status != 201 || a.subject_token[0] == '\0') {
        atomic_fetch_add(&k->errors, 1);
        rc = error_set(err, -EIO, "Keystone refused the service credentials (HTTP %ld)", a.status);
    } else {
        free(k->svc_token);
        k->svc_token = xstrdup(a.subject_token);
        k->svc_expires_us = token_expiry(a.body.data ? a.body.data : "", a.body.len);
        if (k->svc_expires_us == 0)
            k->svc_expires_us = time_now_us() + 3600 * 1000000LL;
        log_info("keystone: service token obtained");
    }
    explicit_bzero(a.subject_token, sizeof(a.subject_token));
    buf_free(&a.body);
    return rc;
}

/* Copies the service token into out, logging in first when it is missing,
 * about to expire, or refused (force). */
static int service_token(struct keystone *k, int force, char *out, size_t outsz, struct error *err)
{
    int rc = 0;

    pthread_mutex_lock(&k->lock);
    if (force || k->svc_token == NULL ||
        k->svc_expires_us - time_now_us() < SERVICE_TOKEN_MARGIN_US)
        rc = login(k, err);
    if (rc == 0)
        snprintf(out, outsz, "%s", k->svc_token);
    pthread_mutex_unlock(&k->lock);
    return rc;
}

int keystone_validate(struct keystone *k, const char *token, struct auth_identity **out,
                      struct error *err)
{
    char svc[sizeof(((struct answer *)0)->subject_token)];
    struct answer a;
    int rc = 0;

    *out = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        rc = service_token(k, attempt > 0, svc, sizeof(svc), err);
        if (rc < 0)
            break;
        atomic_fetch_add(&k->validations, 1);
        rc = call(k, svc, token, NULL, &a, err);
        if (rc < 0)
            break;
        if (a.status == 401 && attempt == 0) {
            buf_free(&a.body); /* our token was refused: log in again, once */
            continue;
        }
        if (a.status == 200)
            rc = keystone_parse_token(a.body.data ? a.body.data : "", a.body.len, out, err);
        else if (a.status == 404 || a.status == 401 || a.status == 400)
            rc = error_set(err, -ENOENT, "Keystone rejected the token (HTTP %ld)", a.status);
        else
            rc = error_set(err, -EIO, "Keystone answered HTTP %ld", a.status);
        if (rc == -EINVAL || rc == -EIO)
            atomic_fetch_add(&k->errors, 1);
        buf_free(&a.body);
        break;
    }
    explicit_bzero(svc, sizeof(svc));
    if (rc == -EINVAL)
        rc = -EIO; /* an answer we cannot read is Keystone's failure, not the caller's */
    if (rc == 0 && (*out)->expires_us != 0 && (*out)->expires_us <= time_now_us()) {
        auth_identity_unref(*out);
        *out = NULL;
        rc = error_set(err, -ENOENT, "the token has expired");
    }
    return rc;
}

/* ------------------------------------------------------ token responses */

static const char *opt_str(const cJSON *obj, const char *key, struct error *err, int *rc)
{
    const char *s = NULL;
    int r = json_get_str(obj, key, JSON_OPTIONAL | JSON_NULLABLE, 255, &s, err);

    if (r < 0 && r != -ENOENT)
        *rc = r;
    return r == 0 ? s : NULL;
}

static const char *domain_id(const cJSON *obj, struct error *err, int *rc)
{
    const cJSON *d = NULL;

    if (obj == NULL || json_get_object(obj, "domain", JSON_OPTIONAL, &d, err) != 0)
        return NULL;
    return opt_str(d, "id", err, rc);
}

static int parse_roles(const cJSON *tok, const char **roles, size_t *n, struct error *err)
{
    const cJSON *arr = NULL, *it;

    *n = 0;
    if (json_get_array(tok, "roles", JSON_OPTIONAL, &arr, err) == -EINVAL)
        return -EINVAL;
    cJSON_ArrayForEach(it, arr)
    {
        const char *name;

        if (*n == MAX_ROLES)
            return error_set(err, -EINVAL, "too many roles");
        if (json_get_str(it, "name", JSON_REQUIRED, 255, &name, err) < 0)
            return -EINVAL;
        roles[(*n)++] = name;
    }
    return 0;
}

int keystone_parse_token(const char *body, size_t len, struct auth_identity **out,
                         struct error *err)
{
    const char *roles[MAX_ROLES], *exp = NULL;
    const cJSON *tok, *user, *proj = NULL, *dom = NULL;
    struct auth_identity t = {0};
    cJSON *root = NULL;
    int rc;

    *out = NULL;
    rc = json_parse(body, len, &root, err);
    if (rc == 0)
        rc = json_get_object(root, "token", JSON_REQUIRED, &tok, err);
    if (rc == 0)
        rc = json_get_object(tok, "user", JSON_REQUIRED, &user, err);
    if (rc == 0 && json_get_object(tok, "project", JSON_OPTIONAL, &proj, err) == -EINVAL)
        rc = -EINVAL;
    if (rc == 0 && json_get_object(tok, "domain", JSON_OPTIONAL, &dom, err) == -EINVAL)
        rc = -EINVAL;
    if (rc == 0)
        rc = json_get_str(user, "id", JSON_REQUIRED, 255, &t.user_id, err);
    if (rc == 0 && json_get_str(tok, "expires_at", JSON_OPTIONAL, 64, &exp, err) == 0 &&
        time_parse(exp, &t.expires_us) < 0)
        rc = error_set(err, -EINVAL, "bad expires_at %s", exp);
    if (rc == 0)
        rc = parse_roles(tok, roles, &t.nroles, err);
    if (rc == 0) {
        t.user_name = opt_str(user, "name", err, &rc);
        t.user_domain_id = domain_id(user, err, &rc);
        t.project_id = proj ? opt_str(proj, "id", err, &rc) : NULL;
        t.project_name = proj ? opt_str(proj, "name", err, &rc) : NULL;
        t.project_domain_id = domain_id(proj, err, &rc);
        t.domain_id = dom ? opt_str(dom, "id", err, &rc) : NULL;
        t.roles = roles;
    }
    if (rc == 0)
        *out = auth_identity_new(&t);
    cJSON_Delete(root);
    if (rc < 0) {
        error_prefix(err, "Keystone token");
        return -EINVAL;
    }
    return 0;
}

void keystone_counts(const struct keystone *k, uint64_t *validations, uint64_t *logins,
                     uint64_t *errors)
{
    *validations = atomic_load(&((struct keystone *)k)->validations);
    *logins = atomic_load(&((struct keystone *)k)->logins);
    *errors = atomic_load(&((struct keystone *)k)->errors);
}
