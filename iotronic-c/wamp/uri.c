/* wamp/uri.c: see uri.h.
 *
 * Whitespace is what Python's str.isspace() calls whitespace, so that a URI
 * the original (autobahn) agent would refuse is refused here too. */
#include "wamp/uri.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "wamp/json_strict.h"

#define BOARD_PROC_PREFIX "iotronic."
#define BOARD_TOPIC_PREFIX "iotronic.board."
#define CALLEE_COMPONENT "stack4things"

/* Decodes the UTF-8 sequence at p (validated) and returns its length. */
static size_t utf8_decode(const unsigned char *p, unsigned *cp)
{
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if (p[0] < 0xE0) {
        *cp = ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu);
        return 2;
    }
    if (p[0] < 0xF0) {
        *cp = ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
        return 3;
    }
    *cp = ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
    return 4;
}

static int is_space(unsigned cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

int wamp_uri_check(const char *uri, struct error *err)
{
    size_t n = strlen(uri), i = 0;
    size_t comp = 0; /* bytes in the current component */

    if (n == 0 || n > WAMP_URI_MAX)
        return error_set(err, -EINVAL, "URI must be 1 to %d bytes, not %zu", WAMP_URI_MAX, n);
    if (!wamp_utf8_valid(uri, n))
        return error_set(err, -EINVAL, "URI is not valid UTF-8");
    while (i < n) {
        unsigned cp;
        size_t k = utf8_decode((const unsigned char *)uri + i, &cp);

        if (cp == '.') {
            if (comp == 0)
                return error_set(err, -EINVAL, "URI has an empty component at byte %zu", i);
            comp = 0;
        } else if (cp == '#' || is_space(cp) || cp < 0x20 || cp == 0x7F) {
            return error_set(err, -EINVAL, "URI has a forbidden character at byte %zu", i);
        } else {
            comp += k;
        }
        i += k;
    }
    if (comp == 0)
        return error_set(err, -EINVAL, "URI ends with an empty component");
    return 0;
}

static int is_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int wamp_method_valid(const char *name, size_t n)
{
    if (n == 0 || n > WAMP_METHOD_MAX || !is_alpha(name[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!is_alpha(name[i]) && !is_digit(name[i]) && name[i] != '_')
            return 0;
    return 1;
}

/* 1 when the n bytes at s are a lower-case hyphenated UUID. */
static int uuid_canonical(const char *s, size_t n)
{
    if (n != UUID_STR_LEN - 1)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;

        if (dash ? s[i] != '-' : !(is_digit(s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

/* Reads a session id: decimal, no sign, no leading zero, in [1, 2^53]. */
static int session_id(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0 || n > 16 || s[0] == '0')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > ((uint64_t)1 << 53))
        return 0;
    *out = v;
    return 1;
}

int wamp_board_proc_parse(const char *uri, struct wamp_board_proc *out, struct error *err)
{
    const char *sess, *uuid, *method;
    size_t sess_len, method_len;

    if (strncmp(uri, BOARD_PROC_PREFIX, strlen(BOARD_PROC_PREFIX)) != 0)
        return error_set(err, -EINVAL, "not a board procedure: no iotronic. prefix");
    sess = uri + strlen(BOARD_PROC_PREFIX);
    uuid = strchr(sess, '.');
    if (uuid == NULL)
        return error_set(err, -EINVAL, "not a board procedure: too few components");
    sess_len = (size_t)(uuid - sess);
    uuid++;
    method = strchr(uuid, '.');
    if (method == NULL)
        return error_set(err, -EINVAL, "not a board procedure: too few components");
    method++;
    method_len = strlen(method);
    if (!session_id(sess, sess_len, &out->session))
        return error_set(err, -EINVAL, "board procedure: invalid session id");
    if (!uuid_canonical(uuid, (size_t)(method - 1 - uuid)))
        return error_set(err, -EINVAL, "board procedure: invalid board UUID");
    if (!wamp_method_valid(method, method_len))
        return error_set(err, -EINVAL, "board procedure: invalid method name");
    memcpy(out->uuid, uuid, UUID_STR_LEN - 1);
    out->uuid[UUID_STR_LEN - 1] = '\0';
    memcpy(out->method, method, method_len + 1);
    return 0;
}

int wamp_board_proc_build(uint64_t session, const char *uuid, const char *method,
                          char out[WAMP_URI_MAX + 1], struct error *err)
{
    if (session == 0 || session > ((uint64_t)1 << 53))
        return error_set(err, -EINVAL, "board procedure: session id out of range");
    if (!uuid_canonical(uuid, strlen(uuid)))
        return error_set(err, -EINVAL, "board procedure: invalid board UUID");
    if (!wamp_method_valid(method, strlen(method)))
        return error_set(err, -EINVAL, "board procedure: invalid method name");
    /* At most 9 + 16 + 1 + 36 + 1 + 64 bytes: always fits. */
    return snprintf(out, WAMP_URI_MAX + 1, BOARD_PROC_PREFIX "%llu.%s.%s",
                    (unsigned long long)session, uuid, method);
}

static const char *const callee_names[] = {
    [WAMP_CALLEE_REGISTER] = "register",
    [WAMP_CALLEE_CONNECTION] = "connection",
    [WAMP_CALLEE_WAMP_ALIVE] = "wamp_alive",
    [WAMP_CALLEE_NOTIFY_RESULT] = "notify_result",
    [WAMP_CALLEE_ECHO] = "echo",
    [WAMP_CALLEE_ALIVE] = "alive",
    [WAMP_CALLEE_FUNCTION_RESULT] = "function_result",
    [WAMP_CALLEE_EVENT] = "event",
};

const char *wamp_callee_str(enum wamp_callee id)
{
    if ((unsigned)id >= sizeof(callee_names) / sizeof(callee_names[0]))
        return NULL;
    return callee_names[id];
}

int wamp_callee_parse(const char *uri, struct wamp_callee_name *out)
{
    const char *name = strrchr(uri, '.'), *comp;
    size_t clen = strlen(CALLEE_COMPONENT);

    if (name == NULL)
        return -ENOENT;
    name++;
    /* The component before the name must be exactly "stack4things". */
    if ((size_t)(name - 1 - uri) < clen)
        return -ENOENT;
    comp = name - 1 - clen;
    if (memcmp(comp, CALLEE_COMPONENT, clen) != 0 || (comp != uri && comp[-1] != '.'))
        return -ENOENT;
    for (unsigned id = 1; id < sizeof(callee_names) / sizeof(callee_names[0]); id++) {
        if (strcmp(name, callee_names[id]) != 0)
            continue;
        out->id = (enum wamp_callee)id;
        out->name = name;
        out->agent = comp == uri ? NULL : uri;
        out->agent_len = comp == uri ? 0 : (size_t)(comp - 1 - uri);
        return 0;
    }
    return -ENOENT;
}

int wamp_board_topic_parse(const char *topic, char out[UUID_STR_LEN])
{
    size_t plen = strlen(BOARD_TOPIC_PREFIX);
    const char *uuid = topic + plen;

    if (strncmp(topic, BOARD_TOPIC_PREFIX, plen) != 0 || strlen(uuid) < UUID_STR_LEN + 1 ||
        !uuid_canonical(uuid, UUID_STR_LEN - 1) || uuid[UUID_STR_LEN - 1] != '.')
        return -ENOENT;
    memcpy(out, uuid, UUID_STR_LEN - 1);
    out[UUID_STR_LEN - 1] = '\0';
    return 0;
}
