/* common/crypto.h: the few primitives the protocols need, on OpenSSL 3.
 *
 * HMAC-SHA256 signs WAMP-CRA challenges, tunnel proofs and board tokens;
 * SHA-256 and MD5 identify blobs. Comparisons of secrets are constant-time. */
#ifndef IOT_COMMON_CRYPTO_H
#define IOT_COMMON_CRYPTO_H

#include <stddef.h>

#define SHA256_LEN 32
#define MD5_LEN 16

void crypto_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                        unsigned char out[SHA256_LEN]);

/* 1 when the n bytes at a and b are equal; time depends only on n. */
int crypto_equal(const void *a, const void *b, size_t n);

/* Incremental SHA-256 and MD5 (for streaming uploads and downloads). */
struct crypto_digest;
struct crypto_digest *crypto_digest_new(int md5); /* md5 = 0: SHA-256 */
void crypto_digest_update(struct crypto_digest *d, const void *p, size_t n);
/* Writes the lower-case hex digest (65 or 33 bytes with the NUL) and frees d. */
void crypto_digest_final(struct crypto_digest *d, char *hex_out);
void crypto_digest_free(struct crypto_digest *d); /* accepts NULL */

#endif
