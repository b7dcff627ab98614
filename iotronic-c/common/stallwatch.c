/* common/stallwatch.c: see stallwatch.h for why a stalled checker waits. */
#include "common/stallwatch.h"

#define US 1000000

void stall_watch_init(struct stall_watch *sw, int64_t period_s, int64_t window_s, int64_t now_us)
{
    sw->period_us = period_s * US;
    sw->window_us = window_s * US;
    sw->last_done_us = now_us;
    sw->stall_end_us = 0;
}

void stall_watch_done(struct stall_watch *sw, int64_t now_us)
{
    if (now_us - sw->last_done_us > 2 * sw->period_us)
        sw->stall_end_us = now_us;
    sw->last_done_us = now_us;
}

int stall_watch_may_judge(const struct stall_watch *sw, int64_t now_us)
{
    return sw->stall_end_us == 0 || now_us - sw->stall_end_us >= sw->window_us;
}
