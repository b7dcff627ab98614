/* libFuzzer target for what the wagent reads before its router acts: the
 * WAMP listener's upgrade request, the frame stream of a board's WebSocket
 * cut into messages as the transport does (wag_ws_message_complete) and
 * parsed by the codec with the message limit, a board's YIELD turned into a
 * WampMessage, and the AMQP `invoke` arguments. The first byte picks the
 * input; the rest is it. Invariants: no crash, no leak, no out-of-bounds,
 * and results within their documented ranges. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "wagent/handshake.h"
#include "wagent/invoke.h"
#include "wamp/msg.h"
#include "wamp/wampmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MSG_LIMIT 4096

struct stream {
    struct tun_ws_dec dec;
    char buf[MSG_LIMIT];
    size_t len;
    int over;
};

static void message(const char *p, size_t n)
{
    struct wamp_msg *m = NULL;
    struct wamp_wampmsg wm = {0};
    struct error err;

    if (wamp_msg_parse_max(p, n, MSG_LIMIT, &m, &err) < 0)
        return;
    if (m->type == WAMP_YIELD && wamp_wampmsg_from_yield(m, &wm, &err) == 0) {
        if (wm.message == NULL || wamp_result_str(wm.result) == NULL)
            abort();
        wamp_wampmsg_clear(&wm);
    }
    wamp_msg_free(m);
}

static int piece(void *arg, enum tun_ws_event ev, enum tun_ws_opcode op, uint8_t *p, size_t n)
{
    struct stream *s = arg;

    (void)op;
    if (ev != TUN_WSE_DATA)
        return ev == TUN_WSE_CLOSE;
    if (s->len + n > MSG_LIMIT)
        s->over = 1;
    else if (n > 0)
        memcpy(s->buf + s->len, p, n);
    s->len += n;
    if (wag_ws_message_complete(&s->dec)) {
        if (!s->over)
            message(s->buf, s->len);
        s->len = 0;
        s->over = 0;
    }
    return 0;
}

static void fuzz_frames(const uint8_t *data, size_t size)
{
    struct stream *s = calloc(1, sizeof(*s));
    uint8_t *copy = malloc(size + 1);
    struct error err;
    size_t i = 0;
    int code;

    memcpy(copy, data, size);
    tun_ws_dec_init(&s->dec);
    /* Feed in uneven pieces, as reads split the stream. */
    while (i < size) {
        size_t k = 1 + copy[i] % 61;

        if (k > size - i)
            k = size - i;
        if (tun_ws_decode(&s->dec, copy + i, k, piece, s, &code, &err) != 0)
            break;
        i += k;
    }
    free(copy);
    free(s);
}

static void fuzz_head(const char *p, size_t n)
{
    struct wag_hs hs;
    struct error err;
    char out[256];
    size_t hl = wag_hs_head_len(p, n);
    int st;

    if (hl > n)
        abort();
    st = wag_hs_parse(p, hl ? hl : n, &hs, &err);
    if (st == 0) {
        if (strlen(hs.key) != WAG_HS_KEY_LEN || wag_hs_accept(&hs, out, sizeof(out)) == 0)
            abort();
    } else if (st != 400 && st != 405 && st != 426) {
        abort();
    }
}

static void fuzz_invoke(const char *p, size_t n)
{
    struct wag_call *c = NULL;
    struct error err;
    cJSON *args = NULL;

    if (json_parse(p, n, &args, &err) < 0)
        return;
    if (wag_call_parse(args, &c, &err) == 0) {
        cJSON *req = wag_call_req(c, 0, 0);

        if (strlen(c->board_uuid) != 36 || c->timeout_ms < 1 || !cJSON_IsArray(c->args) ||
            req == NULL)
            abort();
        cJSON_Delete(req);
        wag_call_free(c);
    } else if (c != NULL) {
        abort();
    }
    cJSON_Delete(args);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0:
        fuzz_head((const char *)data + 1, size - 1);
        break;
    case 1:
        fuzz_frames(data + 1, size - 1);
        break;
    default:
        fuzz_invoke((const char *)data + 1, size - 1);
        break;
    }
    return 0;
}
