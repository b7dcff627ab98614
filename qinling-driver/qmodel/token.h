/* qmodel/token.h: board tokens for blob downloads (deviceless-api.md 1.2).
 *
 *   v1.<board uuid>.<sha256 hex>.<expiry, unix seconds>.<mac>
 *   mac = lower-case hex HMAC-SHA256("v1|<board>|<sha256>|<expiry>",
 *                                    [engine] board_token_secret)
 *
 * The engine mints one for every blob a FunctionExecute or FunctionDeploy
 * names; the API checks it on GET /v1/blobs/{sha256}. Both hold the same
 * secret. Pure functions, any thread. */
#ifndef QM_TOKEN_H
#define QM_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/uuid.h"

/* "v1." + 36 + "." + 64 + "." + up to 20 digits + "." + 64 + NUL */
#define QM_TOKEN_MAX 200

/* Writes the token for board (a normalised UUID) and sha256 (64 lower-case
 * hex digits), valid until expiry (unix seconds). */
void qm_token_mint(const char *secret, const char *board, const char *sha256, int64_t expiry,
                   char out[QM_TOKEN_MAX]);

/* Checks token against the requested sha256 at time now (unix seconds):
 * well-formed, MAC valid (constant-time), not expired, and naming sha256.
 * Returns 0 and the board's UUID in board, or -EACCES. The caller still
 * checks that the board exists. */
int qm_token_check(const char *secret, const char *token, const char *sha256, int64_t now,
                   char board[UUID_STR_LEN]) IOT_WUR;

#endif
