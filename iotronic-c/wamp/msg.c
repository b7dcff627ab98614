/* wamp/msg.c: parsing of WAMP frames (msg.h), and the layout table.
 *
 * A frame is checked in two steps. split() walks the whole text once with
 * the strict scanner and records where each top-level element starts and
 * ends; check_elements() then holds each element to its layout. Both work on
 * the caller's bytes without allocating, so garbage costs no malloc. Only a
 * frame that passed is copied (one allocation holding the message and the
 * text), its strings decoded in place, and for the four session messages
 * whose Details matter to everyone, the Details tree built and checked. */
#include "wamp/msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "wamp/json_strict.h"
#include "wamp/msg_layout.h"

#define L(code, nm, nel, ...) [code] = {.name = nm, .n = nel, __VA_ARGS__}
#define E(...) .el = {__VA_ARGS__}
#define N(...) .label = {__VA_ARGS__}

static const struct wamp_layout layouts[WAMP_YIELD + 1] = {
    L(WAMP_HELLO, "HELLO", 2, E(WAMP_EL_STRING, WAMP_EL_DICT), N("Realm", "Details")),
    L(WAMP_WELCOME, "WELCOME", 2, E(WAMP_EL_SESSION, WAMP_EL_DICT), N("Session", "Details")),
    L(WAMP_ABORT, "ABORT", 2, E(WAMP_EL_DICT, WAMP_EL_STRING), N("Details", "Reason")),
    L(WAMP_CHALLENGE, "CHALLENGE", 2, E(WAMP_EL_STRING, WAMP_EL_DICT), N("AuthMethod", "Extra")),
    L(WAMP_AUTHENTICATE, "AUTHENTICATE", 2, E(WAMP_EL_STRING, WAMP_EL_DICT),
      N("Signature", "Extra")),
    L(WAMP_GOODBYE, "GOODBYE", 2, E(WAMP_EL_DICT, WAMP_EL_STRING), N("Details", "Reason")),
    L(WAMP_ERROR, "ERROR", 6,
      E(WAMP_EL_REQTYPE, WAMP_EL_REQUEST, WAMP_EL_DICT, WAMP_EL_STRING, WAMP_EL_ARGS,
        WAMP_EL_KWARGS),
      N("ReqType", "Request", "Details", "Error", "Arguments", "ArgumentsKw")),
    L(WAMP_PUBLISH, "PUBLISH", 5,
      E(WAMP_EL_REQUEST, WAMP_EL_DICT, WAMP_EL_STRING, WAMP_EL_ARGS, WAMP_EL_KWARGS),
      N("Request", "Options", "Topic", "Arguments", "ArgumentsKw")),
    L(WAMP_PUBLISHED, "PUBLISHED", 2, E(WAMP_EL_REQUEST, WAMP_EL_PUBLICATION),
      N("Request", "Publication")),
    L(WAMP_SUBSCRIBE, "SUBSCRIBE", 3, E(WAMP_EL_REQUEST, WAMP_EL_DICT, WAMP_EL_STRING),
      N("Request", "Options", "Topic")),
    L(WAMP_SUBSCRIBED, "SUBSCRIBED", 2, E(WAMP_EL_REQUEST, WAMP_EL_SUBSCRIPTION),
      N("Request", "Subscription")),
    L(WAMP_UNSUBSCRIBE, "UNSUBSCRIBE", 2, E(WAMP_EL_REQUEST, WAMP_EL_SUBSCRIPTION),
      N("Request", "Subscription")),
    L(WAMP_UNSUBSCRIBED, "UNSUBSCRIBED", 1, E(WAMP_EL_REQUEST), N("Request")),
    L(WAMP_EVENT, "EVENT", 5,
      E(WAMP_EL_SUBSCRIPTION, WAMP_EL_PUBLICATION, WAMP_EL_DICT, WAMP_EL_ARGS, WAMP_EL_KWARGS),
      N("Subscription", "Publication", "Details", "Arguments", "ArgumentsKw")),
    L(WAMP_CALL, "CALL", 5,
      E(WAMP_EL_REQUEST, WAMP_EL_DICT, WAMP_EL_STRING, WAMP_EL_ARGS, WAMP_EL_KWARGS),
      N("Request", "Options", "Procedure", "Arguments", "ArgumentsKw")),
    L(WAMP_CANCEL, "CANCEL", 2, .refused = 1, E(WAMP_EL_REQUEST, WAMP_EL_DICT),
      N("Request", "Options")),
    L(WAMP_RESULT, "RESULT", 4, E(WAMP_EL_REQUEST, WAMP_EL_DICT, WAMP_EL_ARGS, WAMP_EL_KWARGS),
      N("Request", "Details", "Arguments", "ArgumentsKw")),
    L(WAMP_REGISTER, "REGISTER", 3, E(WAMP_EL_REQUEST, WAMP_EL_DICT, WAMP_EL_STRING),
      N("Request", "Options", "Procedure")),
    L(WAMP_REGISTERED, "REGISTERED", 2, E(WAMP_EL_REQUEST, WAMP_EL_REGISTRATION),
      N("Request", "Registration")),
    L(WAMP_UNREGISTER, "UNREGISTER", 2, E(WAMP_EL_REQUEST, WAMP_EL_REGISTRATION),
      N("Request", "Registration")),
    L(WAMP_UNREGISTERED, "UNREGISTERED", 1, E(WAMP_EL_REQUEST), N("Request")),
    L(WAMP_INVOCATION, "INVOCATION", 5,
      E(WAMP_EL_REQUEST, WAMP_EL_REGISTRATION, WAMP_EL_DICT, WAMP_EL_ARGS, WAMP_EL_KWARGS),
      N("Request", "Registration", "Details", "Arguments", "ArgumentsKw")),
    L(WAMP_INTERRUPT, "INTERRUPT", 2, .refused = 1, E(WAMP_EL_REQUEST, WAMP_EL_DICT),
      N("Request", "Options")),
    L(WAMP_YIELD, "YIELD", 4, E(WAMP_EL_REQUEST, WAMP_EL_DICT, WAMP_EL_ARGS, WAMP_EL_KWARGS),
      N("Request", "Options", "Arguments", "ArgumentsKw")),
};

const struct wamp_layout *wamp_layout_of(unsigned long long code)
{
    if (code >= sizeof(layouts) / sizeof(layouts[0]) || layouts[code].name == NULL)
        return NULL;
    return &layouts[code];
}

unsigned wamp_layout_min(const struct wamp_layout *l)
{
    unsigned n = l->n;

    while (n > 0 && (l->el[n - 1] == WAMP_EL_ARGS || l->el[n - 1] == WAMP_EL_KWARGS))
        n--;
    return n;
}

const char *wamp_type_name(enum wamp_type type)
{
    const struct wamp_layout *l = wamp_layout_of((unsigned long long)type);

    return l != NULL ? l->name : "UNKNOWN";
}

int wamp_type_errorable(enum wamp_type t)
{
    switch (t) {
    case WAMP_SUBSCRIBE:
    case WAMP_UNSUBSCRIBE:
    case WAMP_PUBLISH:
    case WAMP_REGISTER:
    case WAMP_UNREGISTER:
    case WAMP_CALL:
    case WAMP_INVOCATION:
        return 1;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------ splitting */

/* One top-level element, as an offset into the frame. */
struct frame_el {
    size_t off, len;
    enum wamp_json_kind kind;
};

struct frame {
    struct frame_el el[1 + WAMP_LAYOUT_MAX]; /* the code and what follows */
    size_t count;                            /* all elements, also those not stored */
};

static int not_array(const char *text, size_t len, struct error *err)
{
    struct wamp_json_scan s = {text, text, text + len};
    enum wamp_json_kind k;
    unsigned char c;
    int rc;

    wamp_json_skip_ws(&s);
    if (s.p == s.end)
        return error_set(err, -EPROTO, "message is empty");
    c = (unsigned char)*s.p;
    k = wamp_json_kind_of(*s.p);
    if (k == WAMP_JSON_INVALID && c >= 0x21 && c < 0x7f)
        return error_set(err, -EPROTO, "message is not JSON: unexpected character '%c' at byte %zu",
                         c, (size_t)(s.p - text));
    if (k == WAMP_JSON_INVALID)
        return error_set(err, -EPROTO, "message is not JSON: unexpected byte 0x%02x at byte %zu", c,
                         (size_t)(s.p - text));
    /* Say whether it is JSON at all: both are violations, but one is clearer. */
    rc = wamp_json_check(text, len, WAMP_JSON_DEPTH_MAX, err);
    if (rc < 0)
        return error_prefix(err, "message is not JSON");
    return error_set(err, -EPROTO, "message must be a JSON array, not %s", wamp_json_kind_name(k));
}

static int split_elements(struct wamp_json_scan *s, struct frame *f, struct error *err)
{
    for (;;) {
        const char *start = s->p;
        int rc = wamp_json_skip_value(s, WAMP_JSON_DEPTH_MAX - 1, err);

        if (rc < 0)
            return rc;
        if (f->count < sizeof(f->el) / sizeof(f->el[0])) {
            f->el[f->count].off = (size_t)(start - s->base);
            f->el[f->count].len = (size_t)(s->p - start);
            f->el[f->count].kind = wamp_json_kind_of(*start);
        }
        f->count++;
        wamp_json_skip_ws(s);
        if (s->p < s->end && *s->p == ']')
            return 0;
        if (s->p >= s->end || *s->p != ',')
            return error_set(err, -EPROTO, "invalid JSON at byte %zu: %s", (size_t)(s->p - s->base),
                             s->p >= s->end ? "unterminated array" : "expected ',' or ']'");
        s->p++;
        wamp_json_skip_ws(s);
    }
}

static int split(const char *text, size_t len, struct frame *f, struct error *err)
{
    struct wamp_json_scan s = {text, text, text + len};
    int rc;

    f->count = 0;
    wamp_json_skip_ws(&s);
    if (s.p == s.end || *s.p != '[')
        return not_array(text, len, err);
    s.p++;
    wamp_json_skip_ws(&s);
    if (s.p < s.end && *s.p == ']')
        return error_set(err, -EPROTO, "message array is empty");
    rc = split_elements(&s, f, err);
    if (rc < 0)
        return rc;
    s.p++;
    wamp_json_skip_ws(&s);
    if (s.p != s.end)
        return error_set(err, -EPROTO, "invalid JSON at byte %zu: trailing data after the message",
                         (size_t)(s.p - text));
    return 0;
}

/* ------------------------------------------------------------ checking */

static int read_code(const char *text, const struct frame *f, const struct wamp_layout **out,
                     struct error *err)
{
    const struct frame_el *e = &f->el[0];
    const char *tok = text + e->off;
    uint64_t code;
    int rc;

    if (e->kind != WAMP_JSON_NUMBER)
        return error_set(err, -EPROTO, "message code must be an integer, not %s",
                         wamp_json_kind_name(e->kind));
    rc = wamp_json_uint(tok, e->len, 255, &code);
    if (rc == -EDOM)
        return error_set(err, -EPROTO, "message code must be an integer, not %.*s", (int)e->len,
                         tok);
    if (rc < 0 || (*out = wamp_layout_of(code)) == NULL)
        return error_set(err, -EPROTO, "unknown message code %.*s", (int)e->len, tok);
    return 0;
}

static int count_error(const struct wamp_layout *l, size_t count, struct error *err)
{
    unsigned min = wamp_layout_min(l) + 1, max = l->n + 1u;

    if (min == max)
        return error_set(err, -EPROTO, "%s must have %u elements, not %zu", l->name, min, count);
    return error_set(err, -EPROTO, "%s must have %u to %u elements, not %zu", l->name, min, max,
                     count);
}

static const enum wamp_json_kind el_kind[] = {
    [WAMP_EL_REQUEST] = WAMP_JSON_NUMBER,      [WAMP_EL_SESSION] = WAMP_JSON_NUMBER,
    [WAMP_EL_REGISTRATION] = WAMP_JSON_NUMBER, [WAMP_EL_SUBSCRIPTION] = WAMP_JSON_NUMBER,
    [WAMP_EL_PUBLICATION] = WAMP_JSON_NUMBER,  [WAMP_EL_REQTYPE] = WAMP_JSON_NUMBER,
    [WAMP_EL_DICT] = WAMP_JSON_OBJECT,         [WAMP_EL_STRING] = WAMP_JSON_STRING,
    [WAMP_EL_ARGS] = WAMP_JSON_ARRAY,          [WAMP_EL_KWARGS] = WAMP_JSON_OBJECT,
};

/* Checks one numeric element and stores it in *v. */
static int check_id(const struct wamp_layout *l, unsigned i, const char *tok, size_t len,
                    uint64_t *v, struct error *err)
{
    int rc = wamp_json_uint(tok, len, WAMP_ID_MAX, v);

    if (rc == -EDOM)
        return error_set(err, -EPROTO, "%s: %s must be an integer, not %.*s", l->name, l->label[i],
                         (int)len, tok);
    if (rc < 0)
        return error_set(err, -EPROTO, "%s: %s must be in [0, 2^53], not %.*s", l->name,
                         l->label[i], (int)len, tok);
    if (l->el[i] == WAMP_EL_REQTYPE && !wamp_type_errorable((enum wamp_type) * v))
        return error_set(err, -EPROTO, "%s: %s %.*s is not a request that can fail", l->name,
                         l->label[i], (int)len, tok);
    return 0;
}

/* Checks every element against the layout and fills the numeric fields of
 * m. Strings and parts are filled after the copy, by fill_text(). */
static int check_elements(const char *text, const struct frame *f, const struct wamp_layout *l,
                          struct wamp_msg *m, struct error *err)
{
    uint64_t *ids[] = {
        [WAMP_EL_REQUEST] = &m->request,           [WAMP_EL_SESSION] = &m->session,
        [WAMP_EL_REGISTRATION] = &m->registration, [WAMP_EL_SUBSCRIPTION] = &m->subscription,
        [WAMP_EL_PUBLICATION] = &m->publication,
    };

    if (f->count - 1 < wamp_layout_min(l) || f->count - 1 > l->n)
        return count_error(l, f->count, err);
    for (unsigned i = 0; i + 1 < f->count; i++) {
        const struct frame_el *e = &f->el[i + 1];
        uint64_t v;
        int rc;

        /* autobahn writes a null Args before Kwargs and reads null as
         * absent; so do we. */
        if (e->kind == WAMP_JSON_NULL && (l->el[i] == WAMP_EL_ARGS || l->el[i] == WAMP_EL_KWARGS))
            continue;
        if (e->kind != el_kind[l->el[i]])
            return error_set(err, -EPROTO, "%s: %s must be %s, not %s", l->name, l->label[i],
                             el_kind[l->el[i]] == WAMP_JSON_NUMBER
                                 ? "an integer"
                                 : wamp_json_kind_name(el_kind[l->el[i]]),
                             wamp_json_kind_name(e->kind));
        if (e->kind != WAMP_JSON_NUMBER)
            continue;
        rc = check_id(l, i, text + e->off, e->len, &v, err);
        if (rc < 0)
            return rc;
        if (l->el[i] == WAMP_EL_REQTYPE)
            m->req_type = (enum wamp_type)v;
        else
            *ids[l->el[i]] = v;
    }
    return 0;
}

/* Points the string and the parts of m into its own text. */
static void fill_text(struct wamp_msg *m, const struct frame *f, const struct wamp_layout *l)
{
    struct wamp_part *parts[] = {
        [WAMP_EL_DICT] = &m->details, [WAMP_EL_ARGS] = &m->args, [WAMP_EL_KWARGS] = &m->kwargs};

    for (unsigned i = 0; i + 1 < f->count; i++) {
        const struct frame_el *e = &f->el[i + 1];
        char *tok = m->text_ + e->off;

        if (l->el[i] == WAMP_EL_STRING) {
            /* Decoding in place only overwrites this token's own bytes. */
            wamp_json_unescape(tok, tok + 1, NULL);
            m->uri = tok + 1;
        } else if ((l->el[i] == WAMP_EL_DICT || l->el[i] == WAMP_EL_ARGS ||
                    l->el[i] == WAMP_EL_KWARGS) &&
                   e->kind != WAMP_JSON_NULL) {
            parts[l->el[i]]->json = tok;
            parts[l->el[i]]->len = e->len;
        }
    }
}

/* ------------------------------------------------------------ Details */

static int check_roles(const char *name, const cJSON *details, struct error *err)
{
    const cJSON *roles = cJSON_GetObjectItemCaseSensitive(details, "roles");

    if (roles == NULL)
        return error_set(err, -EPROTO, "%s: Details.roles is missing", name);
    if (!cJSON_IsObject(roles) || roles->child == NULL)
        return error_set(err, -EPROTO, "%s: Details.roles must be a non-empty object", name);
    for (const cJSON *r = roles->child; r != NULL; r = r->next) {
        const cJSON *features = cJSON_GetObjectItemCaseSensitive(r, "features");

        if (!cJSON_IsObject(r) || (features != NULL && !cJSON_IsObject(features)))
            return error_set(err, -EPROTO, "%s: Details.roles.%.64s must be an object%s", name,
                             r->string, cJSON_IsObject(r) ? " with object features" : "");
    }
    return 0;
}

static int check_hello(struct wamp_msg *m, const cJSON *details, struct error *err)
{
    const cJSON *methods = cJSON_GetObjectItemCaseSensitive(details, "authmethods");
    const cJSON *authid = cJSON_GetObjectItemCaseSensitive(details, "authid");
    int rc = check_roles("HELLO", details, err);

    if (rc < 0)
        return rc;
    if (methods != NULL && !cJSON_IsArray(methods))
        return error_set(err, -EPROTO, "HELLO: Details.authmethods must be an array");
    for (const cJSON *a = methods != NULL ? methods->child : NULL; a != NULL; a = a->next) {
        if (!cJSON_IsString(a))
            return error_set(err, -EPROTO, "HELLO: Details.authmethods must hold strings");
        if (strcmp(a->valuestring, "anonymous") == 0)
            m->authmethods |= WAMP_AUTH_ANONYMOUS;
        else if (strcmp(a->valuestring, "wampcra") == 0)
            m->authmethods |= WAMP_AUTH_WAMPCRA;
        else
            m->authmethods |= WAMP_AUTH_OTHER;
    }
    if (authid != NULL && !cJSON_IsString(authid))
        return error_set(err, -EPROTO, "HELLO: Details.authid must be a string");
    m->authid = authid != NULL ? authid->valuestring : NULL;
    return 0;
}

static int check_details(struct wamp_msg *m, struct error *err)
{
    const cJSON *details, *message;

    switch (m->type) {
    case WAMP_HELLO:
        return check_hello(m, wamp_msg_details(m), err);
    case WAMP_WELCOME:
        return check_roles("WELCOME", wamp_msg_details(m), err);
    case WAMP_ABORT:
    case WAMP_GOODBYE:
        details = wamp_msg_details(m);
        message = cJSON_GetObjectItemCaseSensitive(details, "message");
        m->message = cJSON_IsString(message) ? message->valuestring : NULL;
        return 0;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------ entry points */

static int validate(const char *text, size_t len, size_t max, struct frame *f,
                    const struct wamp_layout **l, struct wamp_msg *m, struct error *err)
{
    int rc;

    if (len > max)
        return error_set(err, -EMSGSIZE, "message of %zu bytes exceeds the limit of %zu bytes", len,
                         max);
    rc = split(text, len, f, err);
    if (rc == 0)
        rc = read_code(text, f, l, err);
    if (rc == 0)
        rc = check_elements(text, f, *l, m, err);
    if (rc == 0 && (*l)->refused)
        rc =
            error_set(err, -EOPNOTSUPP, "%s is not supported by this router's profile", (*l)->name);
    return rc;
}

static int finish(struct wamp_msg *m, const struct frame *f, const struct wamp_layout *l,
                  struct wamp_msg **out, struct error *err)
{
    int rc;

    fill_text(m, f, l);
    m->parsed_ = 1;
    rc = check_details(m, err);
    if (rc < 0) {
        wamp_msg_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int wamp_msg_parse_max(const char *buf, size_t len, size_t max, struct wamp_msg **out,
                       struct error *err)
{
    struct wamp_msg tmp = {0}, *m;
    const struct wamp_layout *l = NULL;
    struct frame f;
    int rc;

    *out = NULL;
    rc = validate(buf, len, max, &f, &l, &tmp, err);
    if (rc < 0)
        return rc;
    tmp.type = (enum wamp_type)(l - layouts);
    /* The message and its text in one allocation. */
    m = xmalloc(sizeof(*m) + len + 1);
    *m = tmp;
    m->text_ = (char *)(m + 1);
    memcpy(m->text_, buf, len);
    m->text_[len] = '\0';
    return finish(m, &f, l, out, err);
}

int wamp_msg_parse(const char *buf, size_t len, struct wamp_msg **out, struct error *err)
{
    return wamp_msg_parse_max(buf, len, WAMP_MSG_MAX, out, err);
}

int wamp_msg_parse_take(char *buf, size_t len, size_t max, struct wamp_msg **out, struct error *err)
{
    struct wamp_msg tmp = {0}, *m;
    const struct wamp_layout *l = NULL;
    struct frame f;
    int rc;

    *out = NULL;
    rc = validate(buf, len, max, &f, &l, &tmp, err);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    tmp.type = (enum wamp_type)(l - layouts);
    m = xmalloc(sizeof(*m));
    *m = tmp;
    m->text_ = buf;
    m->owns_text_ = 1;
    return finish(m, &f, l, out, err);
}

void wamp_msg_free(struct wamp_msg *msg)
{
    if (msg == NULL)
        return;
    for (int i = 0; i < 3; i++)
        cJSON_Delete(msg->trees_[i]);
    if (msg->owns_text_)
        free(msg->text_);
    free(msg);
}

static const cJSON *part_tree(struct wamp_msg *m, int i, const struct wamp_part *p)
{
    if (!m->parsed_)
        return p->tree;
    if (p->json == NULL)
        return NULL;
    if (m->trees_[i] == NULL)
        m->trees_[i] = wamp_json_tree(p->json, p->len);
    return m->trees_[i];
}

const cJSON *wamp_msg_details(struct wamp_msg *msg)
{
    return part_tree(msg, 0, &msg->details);
}

const cJSON *wamp_msg_args(struct wamp_msg *msg)
{
    return part_tree(msg, 1, &msg->args);
}

const cJSON *wamp_msg_kwargs(struct wamp_msg *msg)
{
    return part_tree(msg, 2, &msg->kwargs);
}
