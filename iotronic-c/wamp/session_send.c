/* wamp/session_send.c: the sending half of the client session (session.h).
 *
 * Each request helper checks the state and its arguments, picks a request
 * id, serialises the frame, records the pending request and only then hands
 * the frame to the owner: a reply that an owner loops straight back (lr-swarm
 * against an in-process router, the tests) finds its request already
 * pending. Nothing is recorded when serialising fails. */
#include "wamp/session.h"

#include <errno.h>
#include <string.h>

#include "common/buf.h"
#include "wamp/cra.h"
#include "wamp/json_out.h"
#include "wamp/session_int.h"
#include "wamp/uri.h"

/* The roles autobahn announces, with the features this client honours: it
 * passes caller and publisher details through, and never asks for progress
 * or cancellation, which the router does not offer. */
#define HELLO_ROLES                                                                                \
    "{\"caller\":{\"features\":{\"caller_identification\":true}},"                                 \
    "\"callee\":{\"features\":{\"caller_identification\":true}},"                                  \
    "\"publisher\":{\"features\":{\"publisher_exclusion\":true}},"                                 \
    "\"subscriber\":{\"features\":{\"publisher_identification\":true}}}"

int wamp_session_send_msg_(struct wamp_session *s, const struct wamp_msg *m, struct error *err)
{
    char *text;
    size_t len;
    int rc = wamp_msg_serialize(m, &text, &len, err);

    if (rc < 0)
        return rc;
    s->ops->send(s->owner, text, len);
    return 0;
}

static int need_established(const struct wamp_session *s, struct error *err)
{
    if (s->state != WAMP_SESSION_ESTABLISHED)
        return error_set(err, -ENOTCONN, "the WAMP session is not established");
    return 0;
}

/* A request id in [1, 2^53] not pending now. */
static uint64_t next_request(struct wamp_session *s)
{
    uint64_t id;

    do {
        id = s->next_request;
        s->next_request = id >= WAMP_ID_MAX ? 1 : id + 1;
    } while (wamp_idtab_find(&s->pending, sizeof(struct pending), id) != NULL);
    return id;
}

/* Sends m (whose request is set here) and, when kind is not 0, records it
 * as pending with cookie and target. */
static int send_request(struct wamp_session *s, struct wamp_msg *m, unsigned char kind,
                        void *cookie, uint64_t target, uint64_t *request, struct error *err)
{
    struct pending *p;
    char *text;
    size_t len;
    int rc;

    if (kind != 0 && s->pending.n >= WAMP_SESSION_PENDING_MAX)
        return error_set(err, -ENOBUFS, "%d requests are already pending",
                         WAMP_SESSION_PENDING_MAX);
    m->request = next_request(s);
    rc = wamp_msg_serialize(m, &text, &len, err);
    if (rc < 0)
        return rc;
    if (kind != 0) {
        p = wamp_idtab_insert(&s->pending, sizeof(*p), m->request);
        p->cookie = cookie;
        p->target = target;
        p->kind = kind;
    }
    if (request != NULL)
        *request = m->request;
    s->ops->send(s->owner, text, len);
    return 0;
}

int wamp_session_hello(struct wamp_session *s, const char *realm, const char *authid,
                       struct error *err)
{
    struct wamp_msg m = {.type = WAMP_HELLO, .realm = realm};
    struct buf details;
    int rc;

    if (s->state != WAMP_SESSION_INIT)
        return error_set(err, -EALREADY, "HELLO was already sent");
    rc = wamp_uri_check(realm, err);
    if (rc < 0)
        return rc;
    buf_init(&details, 4096);
    rc = buf_append_str(&details, "{\"roles\":" HELLO_ROLES);
    if (rc == 0 && authid != NULL) {
        rc = buf_append_str(&details, ",\"authmethods\":[\"wampcra\"],\"authid\":");
        if (rc == 0)
            rc = wamp_json_write_string(&details, authid, strlen(authid), err);
    }
    if (rc == 0)
        rc = buf_append(&details, "}", 1);
    if (rc == 0) {
        m.details = WAMP_PART_JSON(details.data, details.len);
        rc = wamp_session_send_msg_(s, &m, err);
    }
    buf_free(&details);
    if (rc == -E2BIG)
        return error_set(err, -EINVAL, "HELLO: authid too long");
    if (rc < 0) {
        error_prefix(err, "HELLO");
        if (err != NULL)
            err->code = -EINVAL;
        return -EINVAL;
    }
    s->cra = authid != NULL;
    s->state = WAMP_SESSION_HELLO_SENT;
    return 0;
}

int wamp_session_authenticate(struct wamp_session *s, const char *challenge, size_t len,
                              const char *secret, size_t secret_len, struct error *err)
{
    char sig[WAMP_CRA_SIG_LEN];
    struct wamp_msg m = {.type = WAMP_AUTHENTICATE, .signature = sig};
    int rc;

    if (s->state != WAMP_SESSION_CHALLENGED)
        return error_set(err, -EPROTO, "no CHALLENGE to answer");
    wamp_cra_sign(secret, secret_len, challenge, len, sig);
    rc = wamp_session_send_msg_(s, &m, err);
    if (rc == 0)
        s->state = WAMP_SESSION_AUTH_SENT;
    return rc;
}

static int check_uri(const char *what, const char *uri, struct error *err)
{
    if (uri == NULL)
        return error_set(err, -EINVAL, "%s is missing", what);
    if (wamp_uri_check(uri, err) < 0)
        return error_prefix(err, "%s", what);
    return 0;
}

int wamp_session_call(struct wamp_session *s, const char *procedure, struct wamp_part args,
                      struct wamp_part kwargs, void *cookie, uint64_t *request, struct error *err)
{
    struct wamp_msg m = {.type = WAMP_CALL, .procedure = procedure, .args = args, .kwargs = kwargs};
    int rc = need_established(s, err);

    if (rc == 0)
        rc = check_uri("CALL procedure", procedure, err);
    return rc < 0 ? rc : send_request(s, &m, WAMP_CALL, cookie, 0, request, err);
}

int wamp_session_register(struct wamp_session *s, const char *procedure, void *handler,
                          uint64_t *request, struct error *err)
{
    struct wamp_msg m = {.type = WAMP_REGISTER, .procedure = procedure};
    int rc = need_established(s, err);

    if (rc == 0)
        rc = check_uri("REGISTER procedure", procedure, err);
    return rc < 0 ? rc : send_request(s, &m, WAMP_REGISTER, handler, 0, request, err);
}

int wamp_session_subscribe(struct wamp_session *s, const char *topic, void *handler,
                           uint64_t *request, struct error *err)
{
    struct wamp_msg m = {.type = WAMP_SUBSCRIBE, .topic = topic};
    int rc = need_established(s, err);

    if (rc == 0)
        rc = check_uri("SUBSCRIBE topic", topic, err);
    return rc < 0 ? rc : send_request(s, &m, WAMP_SUBSCRIBE, handler, 0, request, err);
}

/* UNREGISTER and UNSUBSCRIBE of an id held in t. */
static int send_removal(struct wamp_session *s, struct wamp_idtab *t, enum wamp_type type,
                        uint64_t id, uint64_t *request, struct error *err)
{
    struct wamp_msg m = {.type = type, .registration = id, .subscription = id};
    int rc = need_established(s, err);

    if (rc < 0)
        return rc;
    if (wamp_idtab_find(t, sizeof(struct handler), id) == NULL)
        return error_set(err, -ENOENT, "%s: %llu is not held by this session", wamp_type_name(type),
                         (unsigned long long)id);
    return send_request(s, &m, (unsigned char)type, NULL, id, request, err);
}

int wamp_session_unregister(struct wamp_session *s, uint64_t registration, uint64_t *request,
                            struct error *err)
{
    return send_removal(s, &s->regs, WAMP_UNREGISTER, registration, request, err);
}

int wamp_session_unsubscribe(struct wamp_session *s, uint64_t subscription, uint64_t *request,
                             struct error *err)
{
    return send_removal(s, &s->subs, WAMP_UNSUBSCRIBE, subscription, request, err);
}

int wamp_session_publish(struct wamp_session *s, const char *topic, struct wamp_part args,
                         struct wamp_part kwargs, int acknowledge, void *cookie, uint64_t *request,
                         struct error *err)
{
    static const char ack[] = "{\"acknowledge\":true}";
    struct wamp_msg m = {.type = WAMP_PUBLISH, .topic = topic, .args = args, .kwargs = kwargs};
    int rc = need_established(s, err);

    if (rc == 0)
        rc = check_uri("PUBLISH topic", topic, err);
    if (rc < 0)
        return rc;
    if (acknowledge)
        m.options = WAMP_PART_JSON(ack, sizeof(ack) - 1);
    return send_request(s, &m, acknowledge ? WAMP_PUBLISH : 0, cookie, 0, request, err);
}

int wamp_session_yield(struct wamp_session *s, uint64_t request, struct wamp_part args,
                       struct wamp_part kwargs, struct error *err)
{
    struct wamp_msg m = {.type = WAMP_YIELD, .request = request, .args = args, .kwargs = kwargs};
    int rc = need_established(s, err);

    return rc < 0 ? rc : wamp_session_send_msg_(s, &m, err);
}

int wamp_session_yield_text(struct wamp_session *s, uint64_t request, const char *text, size_t len,
                            struct error *err)
{
    struct buf args;
    int rc = need_established(s, err);

    if (rc < 0)
        return rc;
    buf_init(&args, WAMP_MSG_MAX);
    rc = buf_append(&args, "[", 1);
    if (rc == 0)
        rc = wamp_json_write_string(&args, text, len, err);
    if (rc == 0)
        rc = buf_append(&args, "]", 1);
    if (rc == 0)
        rc = wamp_session_yield(s, request, WAMP_PART_JSON(args.data, args.len), WAMP_PART_NONE,
                                err);
    else if (rc == -E2BIG)
        rc = error_set(err, -EMSGSIZE, "YIELD text longer than %u bytes", WAMP_MSG_MAX);
    buf_free(&args);
    return rc;
}

int wamp_session_invocation_error(struct wamp_session *s, uint64_t request, const char *uri,
                                  const char *text, struct error *err)
{
    struct wamp_msg m = {
        .type = WAMP_ERROR, .req_type = WAMP_INVOCATION, .request = request, .error = uri};
    struct buf args;
    int rc = need_established(s, err);

    if (rc == 0)
        rc = check_uri("ERROR uri", uri, err);
    if (rc < 0)
        return rc;
    buf_init(&args, WAMP_MSG_MAX);
    if (text != NULL) {
        rc = buf_append(&args, "[", 1);
        if (rc == 0)
            rc = wamp_json_write_string(&args, text, strlen(text), err);
        if (rc == 0)
            rc = buf_append(&args, "]", 1);
        m.args = WAMP_PART_JSON(args.data, args.len);
    }
    if (rc == 0)
        rc = wamp_session_send_msg_(s, &m, err);
    buf_free(&args);
    return rc == -E2BIG ? error_set(err, -EMSGSIZE, "ERROR text too long") : rc;
}

int wamp_session_goodbye(struct wamp_session *s, const char *reason, struct error *err)
{
    struct wamp_msg m = {.type = WAMP_GOODBYE,
                         .reason = reason != NULL ? reason : "wamp.close.close_realm"};
    int rc = need_established(s, err);

    if (rc == 0)
        rc = check_uri("GOODBYE reason", m.reason, err);
    if (rc == 0)
        rc = wamp_session_send_msg_(s, &m, err);
    if (rc == 0)
        s->state = WAMP_SESSION_CLOSING;
    return rc;
}
