/* wamp/cra.h: WAMP-CRA (board-protocol.md 4.3) and the wstun tunnel proof (9.5).
 *
 * WAMP-CRA: the wagent sends a challenge, a compact JSON text with the keys
 * authid, authrole, authmethod, authprovider, nonce, timestamp, session in
 * that order; the board answers base64(HMAC-SHA256(key = its secret's ASCII,
 * message = the challenge's bytes)), standard alphabet with padding, as
 * autobahn's compute_wcs() does. No salt: the secret is 256 random bits.
 *
 * Tunnel proof: auth=<ts>.<sig> with sig = base64url-nopad(HMAC-SHA256(key =
 * the secret, message = "wstun|<uuid>|<port>|<ts>")), accepted within
 * WAMP_WSTUN_WINDOW seconds of the server's clock.
 *
 * Verification compares in constant time. Pure functions (the challenge
 * helper reads the clock and the kernel's random source); any thread. */
#ifndef IOT_WAMP_CRA_H
#define IOT_WAMP_CRA_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define WAMP_CRA_SIG_LEN 45     /* 44 base64 characters and the NUL */
#define WAMP_CRA_NONCE_BYTES 16 /* 22 base64url characters (4.3: 22 or more) */
#define WAMP_WSTUN_SIG_LEN 44   /* 43 base64url characters and the NUL */
#define WAMP_WSTUN_AUTH_MAX 64  /* "<ts>.<sig>" and the NUL */
#define WAMP_WSTUN_WINDOW 300   /* seconds either side of the server's clock */

/* The fields of a challenge; every string must be UTF-8 (authid comes from a
 * HELLO, which the codec has checked). */
struct wamp_cra_fields {
    const char *authid;
    const char *authrole;     /* "board" */
    const char *authmethod;   /* "wampcra" */
    const char *authprovider; /* "iotronic" */
    const char *nonce;
    const char *timestamp; /* ISO 8601 UTC with ms (common/timeutil.h TIME_Z_MS) */
    uint64_t session;      /* the id WELCOME will carry */
};

/* Writes the challenge text of f into a new string (free() it); *len gets
 * its length. 0, or -EINVAL when a field is NULL or not UTF-8. */
int wamp_cra_challenge(const struct wamp_cra_fields *f, char **out, size_t *len,
                       struct error *err) IOT_WUR;

/* The same with role "board", method "wampcra", provider "iotronic", a new
 * random nonce and the current time: what the wagent sends. */
int wamp_cra_challenge_new(const char *authid, uint64_t session, char **out, size_t *len,
                           struct error *err) IOT_WUR;

/* Signs len bytes of challenge with the secret's secret_len bytes. */
void wamp_cra_sign(const char *secret, size_t secret_len, const char *challenge, size_t len,
                   char sig[WAMP_CRA_SIG_LEN]);

/* 1 when sig (sig_len bytes) is the signature of challenge; 0 otherwise.
 * The comparison takes the same time whatever the bytes. */
int wamp_cra_verify(const char *secret, size_t secret_len, const char *challenge, size_t len,
                    const char *sig, size_t sig_len);

/* The tunnel proof's sig for (uuid, port, ts). */
void wamp_wstun_sign(const char *secret, size_t secret_len, const char *uuid, unsigned port,
                     int64_t ts, char sig[WAMP_WSTUN_SIG_LEN]);

/* Writes the auth parameter "<ts>.<sig>" into out; returns its length. */
int wamp_wstun_auth(const char *secret, size_t secret_len, const char *uuid, unsigned port,
                    int64_t ts, char out[WAMP_WSTUN_AUTH_MAX]);

/* Checks an auth parameter against the secret at time now (Unix seconds).
 * 0 when valid; -EINVAL malformed; -ETIMEDOUT outside the window; -EACCES
 * wrong signature. err says which. */
int wamp_wstun_verify(const char *secret, size_t secret_len, const char *uuid, unsigned port,
                      const char *auth, int64_t now, struct error *err) IOT_WUR;

#endif
