/* tunnel/proof.c: see proof.h. */
#include "tunnel/proof.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/encode.h"

static void sign_raw(const char *secret, const char *uuid, int port, int64_t ts,
                     unsigned char mac[SHA256_LEN])
{
    char msg[160];
    int n = snprintf(msg, sizeof(msg), "wstun|%s|%d|%" PRId64, uuid, port, ts);

    if (n < 0 || (size_t)n >= sizeof(msg))
        n = (int)sizeof(msg) - 1; /* uuid is 36 characters: cannot happen */
    crypto_hmac_sha256(secret, strlen(secret), msg, (size_t)n, mac);
}

void tun_proof_sign(const char *secret, const char *uuid, int public_port, int64_t ts,
                    char out[TUN_PROOF_MAX])
{
    unsigned char mac[SHA256_LEN];
    char sig[BASE64_ENC_LEN(SHA256_LEN)];

    sign_raw(secret, uuid, public_port, ts, mac);
    base64_encode(mac, sizeof(mac), sig, BASE64_URL_NOPAD);
    snprintf(out, TUN_PROOF_MAX, "%" PRId64 ".%s", ts, sig);
}

static int parse_ts(const char *auth, const char **dot, int64_t *ts)
{
    char *end;
    long long v;

    *dot = strchr(auth, '.');
    if (*dot == NULL || *dot == auth || *dot - auth > 12 || auth[0] < '0' || auth[0] > '9')
        return -EINVAL;
    errno = 0;
    v = strtoll(auth, &end, 10);
    if (errno != 0 || end != *dot || v < 0)
        return -EINVAL;
    *ts = v;
    return 0;
}

int tun_proof_verify(const char *secret, const char *uuid, int public_port, const char *auth,
                     int64_t now, struct error *err)
{
    unsigned char mac[SHA256_LEN], given[SHA256_LEN + 4];
    const char *dot;
    int64_t ts;
    ssize_t n;

    if (parse_ts(auth, &dot, &ts) < 0)
        return error_set(err, -EINVAL, "malformed proof: expected <ts>.<sig>");
    n = base64_decode(dot + 1, strlen(dot + 1), given, sizeof(given));
    if (n != SHA256_LEN || strlen(dot + 1) != 43)
        return error_set(err, -EINVAL, "malformed proof signature");
    if (ts < now - TUN_PROOF_WINDOW || ts > now + TUN_PROOF_WINDOW)
        return error_set(err, -ETIMEDOUT, "proof timestamp outside +-%d s", TUN_PROOF_WINDOW);
    sign_raw(secret, uuid, public_port, ts, mac);
    if (!crypto_equal(mac, given, SHA256_LEN))
        return error_set(err, -EACCES, "wrong proof signature");
    return 0;
}
