/* tunnel/backoff.c: see backoff.h. */
#include "tunnel/backoff.h"

#include "common/uuid.h"

uint64_t tun_backoff_cap_ms(unsigned n, uint64_t initial_ms, uint64_t max_ms)
{
    uint64_t cap = initial_ms;

    for (unsigned i = 0; i < n && cap < max_ms; i++)
        cap = cap > UINT64_MAX / 2 ? UINT64_MAX : cap * 2;
    return cap < max_ms ? cap : max_ms;
}

uint64_t tun_backoff_ms(unsigned n, uint64_t initial_ms, uint64_t max_ms)
{
    return rand_below(tun_backoff_cap_ms(n, initial_ms, max_ms) + 1);
}
