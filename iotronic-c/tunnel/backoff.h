/* tunnel/backoff.h: reconnect delays, exponential with full jitter (board-protocol.md 10.4).
 *
 * The n-th consecutive failure (n = 0 for the first) waits a uniformly random
 * time in [0, min(max, initial * 2^n)]: boards that lost the same wagent do
 * not come back in lockstep. Pure apart from the kernel's random source. */
#ifndef IOT_TUNNEL_BACKOFF_H
#define IOT_TUNNEL_BACKOFF_H

#include <stdint.h>

/* The ceiling of the n-th wait: min(max_ms, initial_ms * 2^n), without
 * overflow for any n. */
uint64_t tun_backoff_cap_ms(unsigned n, uint64_t initial_ms, uint64_t max_ms);

/* A random wait in [0, tun_backoff_cap_ms(n, ...)], in milliseconds. */
uint64_t tun_backoff_ms(unsigned n, uint64_t initial_ms, uint64_t max_ms);

#endif
