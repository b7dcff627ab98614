/* libFuzzer target for the AMQP module's parsers of outside input: request
 * envelopes (what any publisher on a server's queue sends), reply envelopes
 * (what a server sends back) and transport URLs (configuration). The first
 * byte picks the parser. Invariants besides "no crash, no leak, no
 * out-of-bounds access": a failure is -EINVAL with a message; a decoded
 * envelope encodes again into text that decodes to the same fields. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "amqp/envelope.h"
#include "amqp/url.h"
#include "common/json.h"
#include "common/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_failure(int rc, const struct error *err)
{
    if (rc != -EINVAL || err->msg[0] == '\0')
        abort();
}

/* Equal as printed (cJSON_Compare() finds only the first of duplicate keys,
 * which JSON allows). */
static int same_json(const cJSON *a, const cJSON *b)
{
    char *x = json_print(a), *y = json_print(b);
    int same = strcmp(x, y) == 0;

    free(x);
    free(y);
    return same;
}

static void fuzz_request(const char *text, size_t len)
{
    struct mq_request_env e, again;
    struct error err = {0};
    size_t n;
    char *out;
    int rc = mq_env_request_decode(text, len, &e, &err);

    if (rc < 0) {
        check_failure(rc, &err);
        return;
    }
    if (!mq_env_method_ok(e.method) || !cJSON_IsObject(e.args) || e.deadline_ms < 0)
        abort();
    out = mq_env_request_encode(e.method, e.args, e.request_id, e.deadline_ms, &n);
    if (mq_env_request_decode(out, n, &again, &err) < 0)
        abort();
    if (strcmp(again.method, e.method) != 0 || again.deadline_ms != e.deadline_ms ||
        !same_json(again.args, e.args) ||
        (e.request_id[0] && strcmp(again.request_id, e.request_id) != 0))
        abort();
    mq_env_request_clear(&again);
    mq_env_request_clear(&e);
    free(out);
}

static void fuzz_reply(const char *text, size_t len)
{
    struct mq_reply_env r, again;
    struct error err = {0};
    size_t n;
    char *out;
    int rc = mq_env_reply_decode(text, len, &r, &err);

    if (rc < 0) {
        check_failure(rc, &err);
        return;
    }
    out = r.ok ? mq_env_reply_ok(r.result, &n)
               : mq_env_reply_error(r.errnum, r.status, r.message, r.data, &n);
    if (mq_env_reply_decode(out, n, &again, &err) < 0 || again.ok != r.ok)
        abort();
    if (r.ok ? !same_json(again.result, r.result)
             : (again.errnum != r.errnum || again.status != r.status ||
                strcmp(again.message, r.message) != 0))
        abort();
    mq_env_reply_clear(&again);
    mq_env_reply_clear(&r);
    free(out);
}

static void fuzz_url(const char *text, size_t len)
{
    char *s = xstrndup(text, len);
    struct mq_url *u = NULL;
    struct error err = {0};
    char red[600];
    int rc = mq_url_parse(s, &u, &err);

    if (rc < 0) {
        check_failure(rc, &err);
    } else {
        if (u->nhosts < 1 || u->nhosts > MQ_URL_MAX_HOSTS)
            abort();
        for (size_t i = 0; i < u->nhosts; i++)
            mq_url_redacted(u, i, red, sizeof(red));
        mq_url_free(u);
    }
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    const char *text = (const char *)data + 1;

    if (!ready) {
        xalloc_init();
        ready = 1;
    }
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0:
        fuzz_request(text, size - 1);
        break;
    case 1:
        fuzz_reply(text, size - 1);
        break;
    default:
        fuzz_url(text, size - 1);
        break;
    }
    return 0;
}
