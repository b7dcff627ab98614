/* wamp/cra.c: see cra.h.
 *
 * The challenge is written by hand rather than through cJSON: the contract
 * fixes its key order and compactness, and the session id must print
 * exactly. Strings go through the JSON string writer, so an authid taken
 * from a HELLO cannot break out of its quotes. */
#include "wamp/cra.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/crypto.h"
#include "common/encode.h"
#include "common/timeutil.h"
#include "common/uuid.h"
#include "wamp/json_out.h"

static int write_member(struct buf *b, const char *key, const char *value, struct error *err)
{
    int rc;

    if (value == NULL)
        return error_set(err, -EINVAL, "challenge: %s is missing", key);
    rc = buf_printf(b, "%s\"%s\":", b->len > 1 ? "," : "", key);
    if (rc == 0)
        rc = wamp_json_write_string(b, value, strlen(value), err);
    if (rc == -EINVAL)
        error_prefix(err, "challenge: %s", key);
    return rc;
}

int wamp_cra_challenge(const struct wamp_cra_fields *f, char **out, size_t *len, struct error *err)
{
    const char *keys[] = {"authid", "authrole", "authmethod", "authprovider", "nonce", "timestamp"};
    const char *values[] = {f->authid,       f->authrole, f->authmethod,
                            f->authprovider, f->nonce,    f->timestamp};
    struct buf b;
    int rc;

    buf_init(&b, 64 * 1024);
    rc = buf_append(&b, "{", 1);
    for (size_t i = 0; rc == 0 && i < sizeof(keys) / sizeof(keys[0]); i++)
        rc = write_member(&b, keys[i], values[i], err);
    if (rc == 0)
        rc = buf_printf(&b, ",\"session\":%llu}", (unsigned long long)f->session);
    if (rc < 0) {
        buf_free(&b);
        return rc == -E2BIG ? error_set(err, -EINVAL, "challenge: fields too long") : rc;
    }
    *out = buf_take(&b, len);
    return 0;
}

int wamp_cra_challenge_new(const char *authid, uint64_t session, char **out, size_t *len,
                           struct error *err)
{
    char nonce[BASE64_ENC_LEN(WAMP_CRA_NONCE_BYTES)];
    char ts[TIME_ISO_LEN];
    struct wamp_cra_fields f = {
        .authid = authid,
        .authrole = "board",
        .authmethod = "wampcra",
        .authprovider = "iotronic",
        .nonce = nonce,
        .timestamp = time_format(time_now_us(), TIME_Z_MS, ts),
        .session = session,
    };

    rand_base64url(WAMP_CRA_NONCE_BYTES, nonce);
    return wamp_cra_challenge(&f, out, len, err);
}

void wamp_cra_sign(const char *secret, size_t secret_len, const char *challenge, size_t len,
                   char sig[WAMP_CRA_SIG_LEN])
{
    unsigned char mac[SHA256_LEN];

    crypto_hmac_sha256(secret, secret_len, challenge, len, mac);
    base64_encode(mac, sizeof(mac), sig, BASE64_STD);
}

int wamp_cra_verify(const char *secret, size_t secret_len, const char *challenge, size_t len,
                    const char *sig, size_t sig_len)
{
    char want[WAMP_CRA_SIG_LEN];
    char got[WAMP_CRA_SIG_LEN] = {0};
    int same;

    wamp_cra_sign(secret, secret_len, challenge, len, want);
    /* The length is public (44); compare a fixed-size copy either way. */
    memcpy(got, sig, sig_len < sizeof(got) - 1 ? sig_len : sizeof(got) - 1);
    same = crypto_equal(want, got, WAMP_CRA_SIG_LEN - 1);
    return same && sig_len == WAMP_CRA_SIG_LEN - 1;
}

void wamp_wstun_sign(const char *secret, size_t secret_len, const char *uuid, unsigned port,
                     int64_t ts, char sig[WAMP_WSTUN_SIG_LEN])
{
    char msg[256];
    unsigned char mac[SHA256_LEN];
    int n = snprintf(msg, sizeof(msg), "wstun|%.200s|%u|%lld", uuid, port, (long long)ts);

    crypto_hmac_sha256(secret, secret_len, msg, (size_t)n, mac);
    base64_encode(mac, sizeof(mac), sig, BASE64_URL_NOPAD);
}

int wamp_wstun_auth(const char *secret, size_t secret_len, const char *uuid, unsigned port,
                    int64_t ts, char out[WAMP_WSTUN_AUTH_MAX])
{
    char sig[WAMP_WSTUN_SIG_LEN];

    wamp_wstun_sign(secret, secret_len, uuid, port, ts, sig);
    return snprintf(out, WAMP_WSTUN_AUTH_MAX, "%lld.%s", (long long)ts, sig);
}

/* Reads the "<ts>." part: decimal seconds, no sign, at most 12 digits. */
static int read_ts(const char *auth, int64_t *ts, const char **sig)
{
    int64_t v = 0;
    size_t i = 0;

    for (; auth[i] >= '0' && auth[i] <= '9'; i++) {
        if (i >= 12)
            return -EINVAL;
        v = v * 10 + (auth[i] - '0');
    }
    if (i == 0 || auth[i] != '.')
        return -EINVAL;
    *ts = v;
    *sig = auth + i + 1;
    return 0;
}

int wamp_wstun_verify(const char *secret, size_t secret_len, const char *uuid, unsigned port,
                      const char *auth, int64_t now, struct error *err)
{
    char want[WAMP_WSTUN_SIG_LEN];
    char got[WAMP_WSTUN_SIG_LEN] = {0};
    const char *sig;
    size_t sig_len;
    int64_t ts;

    if (read_ts(auth, &ts, &sig) < 0)
        return error_set(err, -EINVAL, "tunnel auth must be <unix seconds>.<signature>");
    if (ts < now - WAMP_WSTUN_WINDOW || ts > now + WAMP_WSTUN_WINDOW)
        return error_set(err, -ETIMEDOUT, "tunnel auth timestamp is more than %d s away",
                         WAMP_WSTUN_WINDOW);
    sig_len = strlen(sig);
    wamp_wstun_sign(secret, secret_len, uuid, port, ts, want);
    memcpy(got, sig, sig_len < sizeof(got) - 1 ? sig_len : sizeof(got) - 1);
    if (!crypto_equal(want, got, WAMP_WSTUN_SIG_LEN - 1) || sig_len != WAMP_WSTUN_SIG_LEN - 1)
        return error_set(err, -EACCES, "tunnel auth signature does not match");
    return 0;
}
