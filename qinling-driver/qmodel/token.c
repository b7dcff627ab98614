/* qmodel/token.c: see token.h. */
#include "qmodel/token.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/encode.h"

static void mac_hex(const char *secret, const char *board, const char *sha256, const char *expiry,
                    char out[HEX_ENC_LEN(SHA256_LEN)])
{
    unsigned char mac[SHA256_LEN];
    char msg[256];
    int n = snprintf(msg, sizeof(msg), "v1|%s|%s|%s", board, sha256, expiry);

    crypto_hmac_sha256(secret, strlen(secret), msg, (size_t)n, mac);
    hex_encode(mac, sizeof(mac), out);
}

void qm_token_mint(const char *secret, const char *board, const char *sha256, int64_t expiry,
                   char out[QM_TOKEN_MAX])
{
    char exp[24], mac[HEX_ENC_LEN(SHA256_LEN)];

    snprintf(exp, sizeof(exp), "%lld", (long long)expiry);
    mac_hex(secret, board, sha256, exp, mac);
    snprintf(out, QM_TOKEN_MAX, "v1.%s.%s.%s.%s", board, sha256, exp, mac);
}

static int all_digits(const char *s, size_t n)
{
    if (n == 0 || n > 19)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Splits "v1.a.b.c.d" into its four parts after the version. */
static int split(const char *token, char parts[4][80])
{
    const char *p;
    size_t i = 0;

    if (strncmp(token, "v1.", 3) != 0 || strlen(token) >= QM_TOKEN_MAX)
        return -EACCES;
    p = token + 3;
    for (i = 0; i < 4; i++) {
        const char *dot = i < 3 ? strchr(p, '.') : p + strlen(p);
        size_t n;

        if (dot == NULL)
            return -EACCES;
        n = (size_t)(dot - p);
        if (n == 0 || n >= 80)
            return -EACCES;
        memcpy(parts[i], p, n);
        parts[i][n] = '\0';
        p = dot + 1;
    }
    return 0;
}

int qm_token_check(const char *secret, const char *token, const char *sha256, int64_t now,
                   char board[UUID_STR_LEN])
{
    char parts[4][80], mac[HEX_ENC_LEN(SHA256_LEN)];
    long long exp;

    if (token == NULL || split(token, parts) < 0)
        return -EACCES;
    if (strlen(parts[0]) != 36 || uuid_normalize(parts[0], board) < 0 ||
        strcmp(board, parts[0]) != 0)
        return -EACCES;
    if (!all_digits(parts[2], strlen(parts[2])) || strlen(parts[3]) != 64)
        return -EACCES;
    mac_hex(secret, parts[0], parts[1], parts[2], mac);
    if (!crypto_equal(mac, parts[3], 64))
        return -EACCES;
    exp = strtoll(parts[2], NULL, 10);
    if (exp <= now || strcmp(parts[1], sha256) != 0)
        return -EACCES;
    return 0;
}
