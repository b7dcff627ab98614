/* common/crypto.c: see crypto.h. */
#include "common/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>

#include "common/encode.h"

void crypto_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                        unsigned char out[SHA256_LEN])
{
    unsigned int len = SHA256_LEN;

    if (HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, out, &len) == NULL)
        abort();
}

int crypto_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

struct crypto_digest {
    EVP_MD_CTX *ctx;
};

struct crypto_digest *crypto_digest_new(int md5)
{
    struct crypto_digest *d = malloc(sizeof(*d));

    if (d == NULL)
        abort();
    d->ctx = EVP_MD_CTX_new();
    if (d->ctx == NULL || EVP_DigestInit_ex(d->ctx, md5 ? EVP_md5() : EVP_sha256(), NULL) != 1)
        abort();
    return d;
}

void crypto_digest_update(struct crypto_digest *d, const void *p, size_t n)
{
    if (EVP_DigestUpdate(d->ctx, p, n) != 1)
        abort();
}

void crypto_digest_final(struct crypto_digest *d, char *hex_out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (EVP_DigestFinal_ex(d->ctx, md, &len) != 1)
        abort();
    hex_encode(md, len, hex_out);
    crypto_digest_free(d);
}

void crypto_digest_free(struct crypto_digest *d)
{
    if (d == NULL)
        return;
    EVP_MD_CTX_free(d->ctx);
    free(d);
}
