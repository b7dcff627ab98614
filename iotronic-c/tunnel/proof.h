/* tunnel/proof.h: the board's proof on a tunnel control channel (board-protocol.md 9.5).
 *
 *   auth = <ts>.<sig>,  sig = base64url-nopad(HMAC-SHA256(key = the board secret,
 *                                      message = "wstun|<uuid>|<public_port>|<ts>"))
 *
 * The board agent signs (tun_client does it when it has the secret); the
 * wagent's authorisation callback verifies. Pure; any thread. */
#ifndef IOT_TUNNEL_PROOF_H
#define IOT_TUNNEL_PROOF_H

#include <stdint.h>

#include "common/error.h"

#define TUN_PROOF_MAX 64        /* "<ts>.<sig>" with its NUL: 10 + 1 + 43 + 1 */
#define TUN_PROOF_WINDOW 300    /* seconds either side of the server's clock */

/* Writes "<ts>.<sig>" for (uuid, public_port) at Unix time ts. uuid is the
 * normalised lower-case text; secret is the 43-character board secret. */
void tun_proof_sign(const char *secret, const char *uuid, int public_port, int64_t ts,
                    char out[TUN_PROOF_MAX]);

/* Checks auth against the secret at Unix time now: the signature in constant
 * time, and ts within TUN_PROOF_WINDOW. Returns 0, -EINVAL for a malformed
 * proof, -ETIMEDOUT for a ts out of the window, -EACCES for a wrong
 * signature; err says which. */
int tun_proof_verify(const char *secret, const char *uuid, int public_port, const char *auth,
                     int64_t now, struct error *err) IOT_WUR;

#endif
