/* libFuzzer target for the small parsers of qmodel that take tenant input:
 * the first byte selects cron patterns (2.8), device specs (3.4.2), board
 * tokens (1.2), list filters (1.6), input kinds (2.6.2) or log clipping
 * (2.6.4); the rest is the text. Invariants besides "no crash, no leak": a
 * parsed pattern finds its next time after the one it found before; a
 * device spec prints back to a spec that parses to the same device; a token
 * minted for a board checks; a filter's SQL only ever grows by fixed text
 * and placeholders; clipped logs are valid UTF-8 within the budget. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonw.h"
#include "qmodel/cron.h"
#include "qmodel/devices.h"
#include "qmodel/filter.h"
#include "qmodel/input.h"
#include "qmodel/logtext.h"
#include "qmodel/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void cron(const char *s)
{
    struct qm_cron c;
    struct error err;
    int64_t a, b;

    if (qm_cron_parse(s, &c, &err) < 0)
        return;
    if (qm_cron_next(&c, 1795456931000000LL, 0, &a) == 0 &&
        (qm_cron_next(&c, a, 0, &b) == 0 && b <= a))
        abort();
}

static void device(const char *s)
{
    struct qm_device d, e;
    struct error err;
    char text[64];

    if (qm_device_parse(s, &d, &err) < 0)
        return;
    qm_device_format(&d, text, sizeof(text));
    if (qm_device_parse(text, &e, &err) < 0 || memcmp(&d, &e, sizeof(d)) != 0)
        abort();
}

static void token(const char *s)
{
    char board[UUID_STR_LEN], tok[QM_TOKEN_MAX];
    const char *secret = "0123456789abcdef0123456789abcdef";
    const char *sha = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    (void)qm_token_check(secret, s, sha, 1, board);
    qm_token_mint(secret, "8a1e55a4-5e4b-4f4e-9d2a-6c7b1f0e2d3c", sha, 2, tok);
    if (qm_token_check(secret, tok, sha, 1, board) < 0)
        abort();
}

static void filter(const char *s)
{
    static const struct qm_filter_field f[] = {
        {"s", "t.s", QM_F_STR},  {"u", "t.u", QM_F_UUID}, {"i", "t.i", QM_F_INT},
        {"t", "t.t", QM_F_TIME}, {"b", "t.b", QM_F_BOOL},
    };
    struct qm_where w;
    struct error err;
    const char *names = "suitb";

    qm_where_init(&w, 1);
    for (size_t i = 0; i < 5; i++)
        if (qm_filter_add(&w, f, 5, (char[]){names[i], 0}, s, &err) == 0 &&
            strstr(w.sql.data, s) != NULL && strlen(s) > 8)
            abort(); /* a value must never become SQL text */
    qm_where_free(&w);
}

static void logs(const char *s, size_t n)
{
    char *out = qm_log_clip(s, n, 64);

    if (!jw_utf8_valid(out, strlen(out)) || strlen(out) > 64 * 3 + 64)
        abort();
    free(out);
    free(qm_input_stdin(s, qm_input_classify(s)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;

    if (size < 1)
        return 0;
    s = malloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0] % 5) {
    case 0:
        cron(s);
        break;
    case 1:
        device(s);
        break;
    case 2:
        token(s);
        break;
    case 3:
        filter(s);
        break;
    default:
        logs(s, strlen(s));
        break;
    }
    free(s);
    return 0;
}
